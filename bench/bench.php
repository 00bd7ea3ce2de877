<?php

/**
 * wxpay benchmark: the extension against hand-written PHP doing the same job, in one
 * process (`make bench`, release build). Prints the median µs per operation over
 * interleaved rounds and the ratio ext/PHP (lower is better).
 */

declare(strict_types=1);

use WxPay\Notify;
use WxPay\Signer;
use WxPay\Xml;

require __DIR__ . '/php_reference.php';
require __DIR__ . '/report.php';

const ROUNDS = 9;
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

check(Signer::sign($order, $key) === php_sign($order, $key, 'MD5'), 'P1 MD5');
check(Signer::sign($hmacOrder, $key, 'HMAC-SHA256') === php_sign($hmacOrder, $key, 'HMAC-SHA256'), 'P1 HMAC');
$signed = $order + ['sign' => Signer::sign($order, $key)];
check(Xml::decode(Xml::encode($signed)) === array_map('strval', $signed), 'P2 round trip');
check(php_xml_decode(php_xml_encode($signed)) === array_map('strval', $signed), 'P2 PHP round trip');

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
$client = new WxPay\Client(['appid' => 'wx2421b1c4370ec43b', 'mch_id' => '10000100', 'key' => $key]);
check($client->parseNotify($notifyBody) === $notifyFields, 'P3 ext');
check(php_handle_notify($notifyBody, $key, 'wx2421b1c4370ec43b', '10000100') === Notify::success(), 'P3 php');

printf("wxpay bench: PHP %s, %d rounds x %d ops, median µs/op\n", PHP_VERSION, ROUNDS, OPS);
printf("%-44s %9s %9s %7s\n", 'operation', 'PHP', 'ext', 'ext/PHP');

$r = measure([
    'php' => fn () => php_sign($order, $key, 'MD5'),
    'ext' => fn () => Signer::sign($order, $key),
    'php_h' => fn () => php_sign($hmacOrder, $key, 'HMAC-SHA256'),
    'ext_h' => fn () => Signer::sign($hmacOrder, $key, 'HMAC-SHA256'),
]);
row('P1 sign MD5 (12-field unifiedorder)', $r['php'], $r['ext'], 0.5);
row('P1 sign HMAC-SHA256 (12 fields + sign_type)', $r['php_h'], $r['ext_h'], 0.5);

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
]);
row('P2 sign + encode request XML', $r['php'], $r['ext'], 0.33);

$r = measure([
    'php' => fn () => php_handle_notify($notifyBody, $key, 'wx2421b1c4370ec43b', '10000100'),
    'ext' => function () use ($client, $notifyBody) {
        $client->parseNotify($notifyBody);
        return Notify::success();
    },
]);
row('P3 notify parse + verify + reply (23 fields)', $r['php'], $r['ext'], 0.25);

if (getenv('WXPAY_BENCH_NETWORK') !== '0' && is_file(__DIR__ . '/network.php')) {
    require __DIR__ . '/network.php';
}
