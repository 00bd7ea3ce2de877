<?php

declare(strict_types=1);

namespace WxPay\Tests\Support;

use WxPay\Signer;
use WxPay\Xml;

/** Builds notification bodies as WeChat sends them, for tests. */
final class Notifies
{
    public const APPID = 'wx2421b1c4370ec43b';
    public const MCH_ID = '10000100';
    public const KEY = 'test-key-0123456789abcdef0123456';

    /** @return array<string, string|int> */
    public static function config(array $extra = []): array
    {
        return ['appid' => self::APPID, 'mch_id' => self::MCH_ID, 'key' => self::KEY] + $extra;
    }

    /** @return array<string, string> a realistic payment notify (22 fields + sign) */
    public static function paymentFields(string $signType = 'MD5', array $override = []): array
    {
        $fields = [
            'appid' => self::APPID,
            'attach' => 'shop-7',
            'bank_type' => 'CFT',
            'cash_fee' => '78',
            'coupon_count' => '1',
            'coupon_fee' => '10',
            'coupon_fee_0' => '10',
            'coupon_id_0' => '10000',
            'fee_type' => 'CNY',
            'is_subscribe' => 'Y',
            'mch_id' => self::MCH_ID,
            'nonce_str' => '5d2b6c2a8db53831f7eda20af46e531c',
            'openid' => 'oUpF8uMEb4qRXf22hE3X68TekukE',
            'out_trade_no' => 'A1001',
            'result_code' => 'SUCCESS',
            'return_code' => 'SUCCESS',
            'sign_type' => $signType,
            'time_end' => '20261127101010',
            'total_fee' => '88',
            'trade_type' => 'NATIVE',
            'transaction_id' => '4200000001202611270000000001',
            'device_info' => 'WEB',
        ];
        $fields = array_filter(array_merge($fields, $override), fn ($v) => $v !== null);
        $fields['sign'] = Signer::sign($fields, self::KEY, $signType);
        return $fields;
    }

    public static function payment(string $signType = 'MD5', array $override = []): string
    {
        return Xml::encode(self::paymentFields($signType, $override));
    }

    /** `$plain` encrypted as WeChat encrypts req_info (docs/protocol.md §6), whatever it holds. */
    public static function reqInfo(string $plain, string $key = self::KEY): string
    {
        return base64_encode((string) openssl_encrypt($plain, 'aes-256-ecb', md5($key), OPENSSL_RAW_DATA));
    }

    /** A refund notify with req_info encrypted as WeChat does; a null value drops that field. */
    public static function refund(string $key = self::KEY, array $inner = [], array $outer = []): string
    {
        $inner += [
            'out_refund_no' => 'R1001',
            'out_trade_no' => 'A1001',
            'refund_fee' => '88',
            'refund_id' => '50000000001',
            'refund_status' => 'SUCCESS',
            'settlement_refund_fee' => '88',
            'success_time' => '2026-11-27 10:20:00',
            'total_fee' => '88',
            'transaction_id' => '4200000001202611270000000001',
        ];
        $present = fn (array $fields) => array_filter($fields, fn ($v) => $v !== null);
        $reqInfo = self::reqInfo('<root>' . substr(Xml::encode($present($inner)), 5, -6) . '</root>', $key);
        $outer += [
            'return_code' => 'SUCCESS',
            'appid' => self::APPID,
            'mch_id' => self::MCH_ID,
            'nonce_str' => 'abc',
            'req_info' => $reqInfo,
        ];
        return Xml::encode($present($outer));
    }
}
