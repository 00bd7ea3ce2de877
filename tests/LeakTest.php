<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\Signer;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;

/**
 * A cheap version of `make leaks` (soak/leak-loop.php, 10^6 calls per operation): each
 * primitive runs for a bounded time (≤ 20,000 calls or 0.3 s) after a warm-up, and the
 * process RSS must not grow by 4 MB, nor memory_get_usage() by 64 KiB. A per-call leak of
 * 200 bytes or more in a fast primitive shows here; `make leaks` has the tight bound.
 */
final class LeakTest extends TestCase
{
    private static function rssKb(): int
    {
        $status = @file_get_contents('/proc/self/status');
        if (!is_string($status) || !preg_match('/^VmRSS:\s+(\d+) kB/m', $status, $m)) {
            self::markTestSkipped('no /proc/self/status');
        }
        return (int) $m[1];
    }

    public function testRepeatedCallsDoNotGrowMemory(): void
    {
        $client = new Client(Notifies::config());
        $fields = Notifies::paymentFields();
        $hmacFields = ['sign_type' => 'HMAC-SHA256'] + $fields;
        $xml = Notifies::payment();
        $forged = str_replace($fields['sign'], str_repeat('0', 32), $xml);
        $refund = Notifies::refund();
        $ops = [
            'Signer::sign' => static fn () => Signer::sign($hmacFields, Notifies::KEY, 'HMAC-SHA256'),
            'Signer::verify' => static fn () => Signer::verify($fields, Notifies::KEY),
            'Xml::encode' => static fn () => Xml::encode($fields),
            'Xml::decode' => static fn () => Xml::decode($xml),
            'parseNotify' => static fn () => $client->parseNotify($xml),
            'parseRefundNotify' => static fn () => $client->parseRefundNotify($refund),
            'handleNotify' => static fn () => $client->handleNotify($xml, static fn (array $n, bool $paid) => null),
            // The caught exception, its text for the log, and the log call itself.
            'handleRefundNotify, callback throws' => static fn () => $client->handleRefundNotify(
                $refund,
                static fn () => throw new \RuntimeException('not now')
            ),
            'exceptions' => static function () use ($client, $forged): void {
                try {
                    $client->parseNotify($forged);
                } catch (\WxPay\SignatureException) {
                    return;
                }
                throw new \LogicException('a forged notify was accepted');
            },
        ];
        $previousLog = ini_set('error_log', '/dev/null');
        foreach ($ops as $op) {
            for ($i = 0; $i < 2000; $i++) {
                $op();
            }
        }
        gc_collect_cycles();
        $rss0 = self::rssKb();
        $mem0 = memory_get_usage();
        $calls = [];
        foreach ($ops as $name => $op) {
            $until = microtime(true) + 0.3;
            for ($i = 0; $i < 20000 && ($i % 256 !== 0 || microtime(true) < $until); $i++) {
                $op();
            }
            $calls[$name] = $i;
        }
        ini_set('error_log', (string) $previousLog);
        gc_collect_cycles();
        $grew = self::rssKb() - $rss0;
        $report = json_encode($calls) . " → RSS +{$grew} kB";
        $this->assertLessThan(4096, $grew, $report);
        $this->assertLessThan(65536, memory_get_usage() - $mem0, $report);
    }
}
