<?php

/**
 * bench-fpm order endpoint, the tutorial's way: build and MD5-sign the XML in PHP, POST it
 * with a new curl handle (a new TLS connection per request, as PHP's per-request handles
 * give), parse with SimpleXML, verify the answer's sign and merchant.
 */

declare(strict_types=1);

require __DIR__ . '/common.php';
require dirname(__DIR__, 2) . '/php_reference.php';

$key = bench_env('WXPAY_KEY');
$params = [
    'appid' => bench_env('WXPAY_APPID'), 'mch_id' => bench_env('WXPAY_MCH_ID'),
    'nonce_str' => bin2hex(random_bytes(16)), 'body' => 'bench',
    'out_trade_no' => 'C' . bin2hex(random_bytes(12)), 'total_fee' => 88,
    'spbill_create_ip' => '127.0.0.1', 'notify_url' => 'https://shop.example/notify',
    'trade_type' => 'NATIVE', 'product_id' => 'sku-1', 'sign_type' => 'MD5',
];
$params['sign'] = php_sign($params, $key, 'MD5');
$ch = curl_init();
curl_setopt_array($ch, [
    CURLOPT_URL => bench_env('WXPAY_BASE_URL') . '/pay/unifiedorder',
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => php_xml_encode($params),
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_SSL_VERIFYPEER => true,
    CURLOPT_SSL_VERIFYHOST => 2,
    CURLOPT_CAINFO => bench_env('WXPAY_CA_PATH'),
    CURLOPT_CONNECTTIMEOUT => 2,
    CURLOPT_TIMEOUT => 6,
]);
$body = curl_exec($ch);
$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
if (!is_string($body) || $status !== 200) {
    http_response_code(502);
    exit("unifiedorder: HTTP $status " . curl_error($ch));
}
$answer = php_xml_decode($body);
if (($answer['return_code'] ?? '') !== 'SUCCESS' || ($answer['result_code'] ?? '') !== 'SUCCESS'
    || !hash_equals(php_sign($answer, $key, 'MD5'), $answer['sign'] ?? '')
    || ($answer['appid'] ?? '') !== $params['appid'] || ($answer['mch_id'] ?? '') !== $params['mch_id']) {
    http_response_code(502);
    exit('unifiedorder: refused answer');
}
echo $answer['code_url'];
