<?php

declare(strict_types=1);

namespace WxPayExample;

/** The wxpay-mock control API (`/mock/…`): plays the payer and shows what was delivered. */
final class Mock
{
    public function __construct(private readonly string $url, private readonly string $caPath)
    {
    }

    public static function fromEnv(): self
    {
        return new self(Shop::env('WXPAY_BASE_URL'), Shop::env('WXPAY_CA_PATH'));
    }

    /** The payer scans and pays (optional body: coupon_fee, fail, openid). */
    public function pay(string $outTradeNo, array $body = []): array
    {
        return $this->call('POST', '/mock/orders/' . rawurlencode($outTradeNo) . '/pay', $body);
    }

    public function order(string $outTradeNo): array
    {
        return $this->call('GET', '/mock/orders/' . rawurlencode($outTradeNo));
    }

    /** @return list<array<string, mixed>> every notify attempt (payment and refund) */
    public function notifies(): array
    {
        return $this->call('GET', '/mock/notifies');
    }

    /** The merchant's available balance in fen, which red packets and transfers draw on. */
    public function balance(): int
    {
        return (int) $this->call('GET', '/mock/balance')['balance'];
    }

    /** The payer opens a red packet. */
    public function openRedpack(string $mchBillno): array
    {
        return $this->call('POST', '/mock/redpacks/' . rawurlencode($mchBillno) . '/open');
    }

    public function pageUrl(): string
    {
        return rtrim($this->url, '/') . '/mock/';
    }

    private function call(string $method, string $path, ?array $body = null): array
    {
        $ch = curl_init(rtrim($this->url, '/') . $path);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CAINFO => $this->caPath,
            CURLOPT_TIMEOUT => 10,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        ]);
        if ($method === 'POST') {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode((object) ($body ?? []), JSON_THROW_ON_ERROR));
        }
        $text = curl_exec($ch);
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $error = curl_error($ch);
        unset($ch); // curl_close() is a deprecated no-op since PHP 8.5
        if (!is_string($text)) {
            throw new \RuntimeException("mock $method $path: $error");
        }
        if ($status !== 200) {
            throw new \RuntimeException("mock $method $path: HTTP $status: $text");
        }
        $data = json_decode($text, true, 512, JSON_THROW_ON_ERROR);
        return is_array($data) ? $data : [];
    }
}
