<?php

/**
 * wxpay benchmark: the extension against hand-written PHP doing the same job, in one
 * process (`make bench`: release build, run by bench/run.sh once per OPcache/JIT mode).
 * Prints the median µs per operation over interleaved rounds and the ratio ext/PHP (lower
 * is better), with the targets of docs/performance.md.
 */

declare(strict_types=1);

use WxPay\Notify;
use WxPay\Signer;
use WxPay\Xml;

require __DIR__ . '/php_reference.php';
require __DIR__ . '/report.php';

const ROUNDS = 11;
const OPS = 20000;

/** @param array<string, callable(): mixed> $cases @return array<string, float> median µs/op */
function measure(array $cases, int $ops = OPS): array
{
    $samples = array_fill_keys(array_keys($cases), []);
    for ($round = 0; $round < ROUNDS; $round++) {
        foreach ($cases as $name => $fn) {
            $start = hrtime(true);
            for ($i = 0; $i < $ops; $i++) {
                $fn();
            }
            $samples[$name][] = (hrtime(true) - $start) / $ops / 1000;
        }
    }
    return array_map(static function (array $s): float {
        sort($s);
        return $s[intdiv(count($s), 2)];
    }, $samples);
}

$key = '192006250b4c09247ec02edce69f6a2d';
$order = [
    'appid' => 'wx2421b1c4370ec43b',
    'mch_id' => '10000100',
    'nonce_str' => '1add1a30ac87aa2db72f57a2375d8fec',
    'body' => 'JSAPI支付测试',
    'attach' => '支付测试',
    'out_trade_no' => '1415659990',
    'total_fee' => 88,
    'spbill_create_ip' => '14.23.150.211',
    'notify_url' => 'https://wxpay.example.com/pay/notify',
    'trade_type' => 'NATIVE',
    'product_id' => '12235413214070356458058',
    'device_info' => 'WEB',
];
$hmacOrder = $order + ['sign_type' => 'HMAC-SHA256'];
$client = new WxPay\Client(['appid' => 'wx2421b1c4370ec43b', 'mch_id' => '10000100', 'key' => $key]);

// The canonical string php_sign hashes: md5() of it is the floor of MD5 signing.
$sorted = $order;
ksort($sorted, SORT_STRING);
$canonical = '';
foreach ($sorted as $k => $v) {
    $canonical .= "$k=$v&";
}
$canonical .= "key=$key";
check(strtoupper(md5($canonical)) === php_sign($order, $key, 'MD5'), 'P1 canonical string');

check(Signer::sign($order, $key) === php_sign($order, $key, 'MD5'), 'P1 MD5');
check(Signer::sign($hmacOrder, $key, 'HMAC-SHA256') === php_sign($hmacOrder, $key, 'HMAC-SHA256'), 'P1 HMAC');
$signed = $order + ['sign' => Signer::sign($order, $key)];
check(Xml::decode(Xml::encode($signed)) === array_map('strval', $signed), 'P2 round trip');
check(php_xml_decode(php_xml_encode($signed)) === array_map('strval', $signed), 'P2 PHP round trip');
$sortedSigned = $sorted + ['sign' => php_sign($order, $key, 'MD5')];
check(Xml::encodeSigned($order, $key) === php_xml_encode($sortedSigned), 'P2 encodeSigned');
check($client->buildRequest($order) === php_xml_encode($sortedSigned), 'P2 buildRequest');

$notifyFields = [
    'appid' => 'wx2421b1c4370ec43b', 'attach' => '支付测试', 'bank_type' => 'CFT', 'cash_fee' => '78',
    'coupon_count' => '2', 'coupon_fee' => '10', 'coupon_fee_0' => '6', 'coupon_fee_1' => '4',
    'coupon_id_0' => '10000', 'coupon_id_1' => '10001', 'fee_type' => 'CNY', 'is_subscribe' => 'Y',
    'mch_id' => '10000100', 'nonce_str' => '5d2b6c2a8db53831f7eda20af46e531c',
    'openid' => 'oUpF8uMEb4qRXf22hE3X68TekukE', 'out_trade_no' => '1409811653',
    'result_code' => 'SUCCESS', 'return_code' => 'SUCCESS', 'time_end' => '20140903131540',
    'total_fee' => '88', 'trade_type' => 'JSAPI', 'transaction_id' => '1004400740201409030005092168',
];
$notifyFields['sign'] = php_sign($notifyFields, $key, 'MD5');
$notifyBody = php_xml_encode($notifyFields);
// The shop's own step, the same on both sides: it sees the verified fields.
$seen = 0;
$onPaid = static function (array $notify, bool $paid) use (&$seen): bool {
    $seen += $paid ? 1 : 0;
    return true;
};
check($client->parseNotify($notifyBody) === $notifyFields, 'P3 ext');
check(Xml::decode($notifyBody) === php_xml_decode($notifyBody), 'P3 decode');
check(php_handle_notify($notifyBody, $key, 'wx2421b1c4370ec43b', '10000100', $onPaid) === Notify::success(), 'P3 php');
check($client->handleNotify($notifyBody, $onPaid) === Notify::success() && $seen === 2, 'P3 handleNotify');

printf(
    "wxpay bench: PHP %s, %s (opcache %s, jit %s), %d rounds x %d ops, median µs/op, load %s\n",
    PHP_VERSION,
    bench_mode(),
    ini_get('opcache.enable_cli') ? 'on' : 'off',
    function_exists('opcache_get_status') && (opcache_get_status(false)['jit']['on'] ?? false) ? 'on' : 'off',
    ROUNDS,
    OPS,
    load_average()
);
printf("%-48s %9s %9s %7s\n", 'operation', 'PHP', 'ext', 'ext/PHP');

$r = measure([
    'php' => fn () => php_sign($order, $key, 'MD5'),
    'ext' => fn () => Signer::sign($order, $key),
    'md5' => fn () => md5($canonical),
    'php_h' => fn () => php_sign($hmacOrder, $key, 'HMAC-SHA256'),
    'ext_h' => fn () => Signer::sign($hmacOrder, $key, 'HMAC-SHA256'),
]);
row('P1 sign MD5 (12-field unifiedorder)', $r['php'], $r['ext'], 0.40);
row_value(
    '   … above md5() of the canonical string',
    sprintf('md5() %.2f, +%.2f µs', $r['md5'], $r['ext'] - $r['md5']),
    '<= +0.25 µs',
    $r['ext'] - $r['md5'] <= 0.25
);
row('P1 sign HMAC-SHA256 (12 fields + sign_type)', $r['php_h'], $r['ext_h'], 0.18);

$r = measure([
    'php' => function () use ($order, $key) {
        $o = $order;
        $o['sign'] = php_sign($o, $key, 'MD5');
        return php_xml_encode($o);
    },
    'ext' => function () use ($order, $key) {
        $o = $order;
        $o['sign'] = Signer::sign($o, $key);
        return Xml::encode($o);
    },
    'fused' => fn () => Xml::encodeSigned($order, $key),
    'client' => fn () => $client->buildRequest($order),
]);
row('P2 request XML: Signer::sign + Xml::encode', $r['php'], $r['ext'], 0.25);
row('P2 request XML: Xml::encodeSigned', $r['php'], $r['fused'], 0.25);
row('P2 request XML: Client::buildRequest', $r['php'], $r['client'], 0.25);

$r = measure([
    'php' => fn () => php_handle_notify($notifyBody, $key, 'wx2421b1c4370ec43b', '10000100'),
    'ext' => function () use ($client, $notifyBody) {
        $client->parseNotify($notifyBody);
        return Notify::success();
    },
    'php_cb' => fn () => php_handle_notify($notifyBody, $key, 'wx2421b1c4370ec43b', '10000100', $onPaid),
    'handle' => fn () => $client->handleNotify($notifyBody, $onPaid),
    'prim' => function () use ($notifyBody, $key) {
        Signer::verify(Xml::decode($notifyBody), $key);
        return Notify::success();
    },
    'php_dec' => fn () => php_xml_decode($notifyBody),
    'ext_dec' => fn () => Xml::decode($notifyBody),
]);
row('P3 notify: Client::parseNotify + Notify::success', $r['php'], $r['ext'], 0.12);
row('P3 notify: Client::handleNotify (callback)', $r['php_cb'], $r['handle'], 0.12);
row('P3 notify: Xml::decode + Signer::verify + reply', $r['php'], $r['prim'], 0);
row('P3 parse notify only: Xml::decode', $r['php_dec'], $r['ext_dec'], 0);

if (getenv('WXPAY_BENCH_NETWORK') !== '0' && is_file(__DIR__ . '/network.php')) {
    require __DIR__ . '/network.php';
}
printf("load at the end: %s\n", load_average());
