<?php

/**
 * Leak check, part (a): N calls of each wxpay primitive in one PHP process; RSS (VmRSS of
 * /proc/self/status) and memory_get_usage() before and after, once every operation is warm.
 *
 *   php -d extension=target/release/libwxpay.so soak/leak-loop.php [N=1000000] [out.json] [limit_kb=2048]
 *
 * Exit 1 when the RSS of the process grows by limit_kb or more over all the measured calls,
 * or memory_get_usage() does not come back (> 64 KiB).
 */

declare(strict_types=1);

use WxPay\Client;
use WxPay\Signer;
use WxPay\Xml;

$n = (int) ($argv[1] ?? 1000000);
$out = $argv[2] ?? null;
$limitKb = (int) ($argv[3] ?? 2048);
$warm = max(2000, intdiv($n, 20));

const KEY = '192006250b4c09247ec02edce69f6a2d';
const APPID = 'wxd930ea5d5a258f4f';
const MCH_ID = '10000100';

function rss_kb(): int
{
    preg_match('/^VmRSS:\s+(\d+) kB/m', (string) file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
}

$payment = [
    'appid' => APPID, 'attach' => 'shop-7', 'bank_type' => 'CFT', 'cash_fee' => '78',
    'coupon_count' => '1', 'coupon_fee' => '10', 'coupon_fee_0' => '10', 'coupon_id_0' => '10000',
    'device_info' => 'WEB', 'fee_type' => 'CNY', 'is_subscribe' => 'Y', 'mch_id' => MCH_ID,
    'nonce_str' => '5d2b6c2a8db53831f7eda20af46e531c', 'openid' => 'oUpF8uMEb4qRXf22hE3X68TekukE',
    'out_trade_no' => 'A1001', 'result_code' => 'SUCCESS', 'return_code' => 'SUCCESS',
    'sign_type' => 'MD5', 'time_end' => '20261127101010', 'total_fee' => '88', 'trade_type' => 'NATIVE',
    'transaction_id' => '4200000001202611270000000001', 'body' => 'Shop – 咖啡 <&> ]]> x',
];
$signed = $payment + ['sign' => Signer::sign($payment, KEY, 'MD5')];
$xml = Xml::encode($signed);
$forged = str_replace('<total_fee>88</total_fee>', '<total_fee>1</total_fee>', $xml);
if ($forged === $xml) {
    $forged = preg_replace('#<total_fee>(?:<!\[CDATA\[)?88(?:\]\]>)?</total_fee>#', '<total_fee>1</total_fee>', $xml);
}
$inner = '<root><out_refund_no>R1001</out_refund_no><out_trade_no>A1001</out_trade_no><refund_fee>88</refund_fee>'
    . '<refund_id>50000000001</refund_id><refund_status>SUCCESS</refund_status><settlement_refund_fee>88</settlement_refund_fee>'
    . '<success_time>2026-11-27 10:20:00</success_time><total_fee>88</total_fee>'
    . '<transaction_id>4200000001202611270000000001</transaction_id></root>';
$reqInfo = base64_encode((string) openssl_encrypt($inner, 'aes-256-ecb', md5(KEY), OPENSSL_RAW_DATA));
$refundXml = Xml::encode(['return_code' => 'SUCCESS', 'appid' => APPID, 'mch_id' => MCH_ID,
    'nonce_str' => 'abc', 'req_info' => $reqInfo]);
$client = new Client(['appid' => APPID, 'mch_id' => MCH_ID, 'key' => KEY, 'sign_type' => 'MD5']);

$ops = [
    'Signer::sign (MD5)' => static fn () => Signer::sign($payment, KEY, 'MD5'),
    'Signer::sign (HMAC-SHA256)' => static fn () => Signer::sign(['sign_type' => 'HMAC-SHA256'] + $payment, KEY, 'HMAC-SHA256'),
    'Signer::verify' => static fn () => Signer::verify($signed, KEY, 'MD5') || throw new RuntimeException('verify'),
    'Xml::encode' => static fn () => Xml::encode($signed),
    'Xml::decode' => static fn () => Xml::decode($xml),
    'Client::parseNotify' => static fn () => $client->parseNotify($xml),
    'Client::parseRefundNotify' => static fn () => $client->parseRefundNotify($refundXml),
    'exceptions thrown and caught' => static function () use ($client, $forged, $payment): void {
        static $i = 0;
        try {
            match ($i++ % 4) {
                0 => Xml::decode('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>'),
                1 => $client->parseNotify($forged),                       // SignatureException
                2 => Signer::sign(['total_fee' => 1.5] + $payment, KEY),   // InvalidArgumentException
                3 => $client->unifiedOrder(['body' => 'x']),              // InvalidArgumentException (missing fields, no I/O)
            };
        } catch (\WxPay\ExceptionInterface $e) {
            $e->getMessage();
            $e->getTraceAsString();
            return;
        }
        throw new RuntimeException('no exception at step ' . ($i - 1));
    },
];

// Sanity: the answers are right before they are counted.
Signer::verify($signed, KEY, 'MD5') || exit("verify failed\n");
Xml::decode($xml) === array_map('strval', $signed) || Xml::decode($xml) == $signed || exit("decode mismatch\n");
$client->parseNotify($xml)['out_trade_no'] === 'A1001' || exit("parseNotify\n");
$client->parseRefundNotify($refundXml)['out_refund_no'] === 'R1001' || exit("parseRefundNotify\n");

// Warm-up: every operation, so that allocator arenas and lazy statics exist before measuring.
foreach ($ops as $op) {
    for ($i = 0; $i < $warm; $i++) {
        $op();
    }
}
gc_collect_cycles();
$rss0 = rss_kb();
$mem0 = memory_get_usage();
$results = [];
$t0 = microtime(true);
foreach ($ops as $name => $op) {
    $r0 = rss_kb();
    $m0 = memory_get_usage();
    $s = microtime(true);
    for ($i = 0; $i < $n; $i++) {
        $op();
    }
    $secs = microtime(true) - $s;
    gc_collect_cycles();
    $results[$name] = [
        'calls' => $n,
        'seconds' => round($secs, 2),
        'ns_per_call' => (int) round(1e9 * $secs / $n),
        'rss_kb_before' => $r0,
        'rss_kb_after' => rss_kb(),
        'rss_growth_kb' => rss_kb() - $r0,
        'memory_get_usage_delta' => memory_get_usage() - $m0,
    ];
    fprintf(STDERR, "%-30s %8d calls %6.2f s  RSS %+6d kB  memory_get_usage %+d B\n", $name, $n, $secs,
        $results[$name]['rss_growth_kb'], $results[$name]['memory_get_usage_delta']);
}
$summary = [
    'php' => PHP_VERSION,
    'extension' => (string) (new ReflectionExtension('wxpay'))->getVersion(),
    'calls_per_operation' => $n,
    'warmup_calls_per_operation' => $warm,
    'seconds' => round(microtime(true) - $t0, 1),
    'rss_kb_after_warmup' => $rss0,
    'rss_kb_end' => rss_kb(),
    'rss_growth_kb' => rss_kb() - $rss0,
    'memory_get_usage_after_warmup' => $mem0,
    'memory_get_usage_delta' => memory_get_usage() - $mem0,
    'limit_kb' => $limitKb,
    'operations' => $results,
];
$summary['pass'] = $summary['rss_growth_kb'] < $limitKb && abs($summary['memory_get_usage_delta']) <= 65536;
fprintf(STDERR, "total: RSS %d kB after warm-up → %d kB (%+d kB, limit < %d kB); memory_get_usage %+d B: %s\n",
    $rss0, $summary['rss_kb_end'], $summary['rss_growth_kb'], $limitKb, $summary['memory_get_usage_delta'],
    $summary['pass'] ? 'PASS' : 'FAIL');
if ($out !== null) {
    file_put_contents($out, json_encode($summary, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE) . "\n");
}
exit($summary['pass'] ? 0 : 1);
