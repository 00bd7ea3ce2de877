<?php

/**
 * wxpay network benchmark, included at the end of bench/bench.php (`make bench`: release
 * extension, WXPAY_MOCK_BIN = the release wxpay-mock). Runs against a local HTTPS wxpay-mock
 * started the way the tests start it (tests/support/Mock.php).
 *
 * P4  500 sequential orderquery calls over HTTPS: the extension (pooled keep-alive
 *     connections) vs the official SDK's way (PHP builds the XML, MD5-signs, new curl handle
 *     per call, parses and verifies the answer; target >= 3x) and vs the same PHP with one
 *     reused handle (target >= 1.5x).
 * P5  queryOrders() of 200 orders with 20 ms mock latency vs a sequential orderQuery loop.
 *
 * Every answer is checked (signature, fields) and the mock's request counter must grow by
 * exactly the number of calls, so no side can win by doing nothing.
 */

declare(strict_types=1);

use WxPay\Tests\Support\Mock;

require_once __DIR__ . '/php_reference.php';
require_once __DIR__ . '/report.php';
require_once __DIR__ . '/../tests/support/Mock.php';

const NET_ROUNDS = 5;
const NET_CALLS = 100;           // per round and variant: 500 calls each in all
const NET_QUERY_ORDERS = 200;
const NET_LATENCY_MS = 20;

/** The official SDK's orderquery: build, sign, post with a curl handle, parse, verify. */
function net_php_order_query(?CurlHandle $reuse, Mock $mock, string $outTradeNo): array
{
    $params = [
        'appid' => $mock->appid,
        'mch_id' => $mock->mchId,
        'out_trade_no' => $outTradeNo,
        'nonce_str' => bin2hex(random_bytes(16)),
        'sign_type' => 'MD5',
    ];
    $params['sign'] = php_sign($params, $mock->apiKey, 'MD5');
    $xml = php_xml_encode($params);

    $ch = $reuse ?? curl_init();
    curl_setopt_array($ch, [
        CURLOPT_URL => $mock->url . '/pay/orderquery',
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $xml,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HEADER => false,
        CURLOPT_SSL_VERIFYPEER => true,
        CURLOPT_SSL_VERIFYHOST => 2,
        CURLOPT_CAINFO => $mock->ca,
        CURLOPT_CONNECTTIMEOUT => 2,
        CURLOPT_TIMEOUT => 6,
    ]);
    $body = curl_exec($ch);
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    if ($reuse === null) {
        unset($ch); // curl_close() is a deprecated no-op since PHP 8.5
    }
    if (!is_string($body) || $status !== 200) {
        throw new RuntimeException("orderquery: HTTP $status");
    }
    $answer = php_xml_decode($body);
    if (($answer['return_code'] ?? '') !== 'SUCCESS') {
        throw new RuntimeException('orderquery: ' . ($answer['return_msg'] ?? 'FAIL'));
    }
    if (!isset($answer['sign']) || !hash_equals(php_sign($answer, $mock->apiKey, 'MD5'), $answer['sign'])) {
        throw new RuntimeException('orderquery: bad sign');
    }
    if ($answer['appid'] !== $mock->appid || $answer['mch_id'] !== $mock->mchId) {
        throw new RuntimeException('orderquery: not ours');
    }
    if (($answer['result_code'] ?? '') !== 'SUCCESS') {
        throw new RuntimeException('orderquery: ' . ($answer['err_code'] ?? 'FAIL'));
    }
    return $answer;
}

/** @param array<string, string> $a */
function net_same_order(array $a, string $no, string $fee, string $txn): bool
{
    return $a['out_trade_no'] === $no && $a['total_fee'] === $fee && $a['trade_state'] === 'SUCCESS'
        && $a['transaction_id'] === $txn;
}

$mock = Mock::start();
try {
    $client = $mock->client(['timeout' => 6.0, 'connect_timeout' => 2.0]);
    $order = fn (string $no, int $fee) => $client->unifiedOrder([
        'body' => 'bench', 'out_trade_no' => $no, 'total_fee' => $fee, 'trade_type' => 'NATIVE', 'product_id' => 'sku',
    ]);

    // ---- P4: sequential orderquery over HTTPS.
    $no = 'BENCH' . bin2hex(random_bytes(4));
    $order($no, 188);
    $mock->pay($no);
    $paid = $client->orderQuery(['out_trade_no' => $no]);
    $txn = $paid['transaction_id'];
    check(net_same_order($paid, $no, '188', $txn), 'P4 ext answer');
    $reused = curl_init();
    check(net_same_order(net_php_order_query(null, $mock, $no), $no, '188', $txn), 'P4 PHP new handle');
    check(net_same_order(net_php_order_query($reused, $mock, $no), $no, '188', $txn), 'P4 PHP reused handle');

    $variants = [
        'ext' => fn () => $client->orderQuery(['out_trade_no' => $no]),
        'new' => fn () => net_php_order_query(null, $mock, $no),
        'reused' => fn () => net_php_order_query($reused, $mock, $no),
    ];
    $samples = array_fill_keys(array_keys($variants), []);
    $connections = array_fill_keys(array_keys($variants), 0);
    for ($round = 0; $round < NET_ROUNDS; $round++) {
        foreach ($variants as $name => $call) {
            $before = $mock->stats();
            $ok = true;
            $start = hrtime(true);
            for ($i = 0; $i < NET_CALLS; $i++) {
                $ok = net_same_order($call(), $no, '188', $txn) && $ok;
            }
            $samples[$name][] = (hrtime(true) - $start) / NET_CALLS / 1000;
            $after = $mock->stats();
            check($ok, "P4 $name answers");
            // +1: the stats call itself is a request.
            check($after['requests'] - $before['requests'] === NET_CALLS + 1, "P4 $name request count");
            $connections[$name] += $after['tls_connections'] - $before['tls_connections'];
        }
    }
    unset($reused); // curl_close() is a deprecated no-op since PHP 8.5
    $p4 = array_map(static function (array $s): float {
        sort($s);
        return $s[intdiv(count($s), 2)];
    }, $samples);

    printf(
        "\nnetwork: HTTPS wxpay-mock on loopback, %d x %d sequential orderquery per variant, median µs/call\n",
        NET_ROUNDS,
        NET_CALLS
    );
    printf(
        "  (new TLS connections over %d calls: ext %d, PHP new handle %d, PHP reused handle %d)\n",
        NET_ROUNDS * NET_CALLS,
        $connections['ext'],
        $connections['new'],
        $connections['reused']
    );
    row('P4 orderquery HTTPS: PHP new curl handle/call', $p4['new'], $p4['ext'], 1 / 3);
    printf("%-48s %.1fx throughput (target >= 3x)\n", '', $p4['new'] / $p4['ext']);
    row('P4 orderquery HTTPS: PHP one reused handle', $p4['reused'], $p4['ext'], 1 / 1.5);
    printf("%-48s %.2fx throughput (target >= 1.5x)\n", '', $p4['reused'] / $p4['ext']);

    // ---- P5: queryOrders vs a sequential loop, with 20 ms latency per orderquery.
    $numbers = [];
    for ($i = 0; $i < NET_QUERY_ORDERS; $i++) {
        $numbers[] = $n = sprintf('BQ%s%03d', bin2hex(random_bytes(3)), $i);
        $order($n, $i + 1);
    }
    $summary = static fn (array $a): string => $a['out_trade_no'] . '/' . $a['total_fee'] . '/' . $a['trade_state'];
    $mock->faults(['latency_ms' => NET_LATENCY_MS, 'path' => 'pay/orderquery']);

    $before = $mock->stats()['requests'];
    $start = hrtime(true);
    $sequential = [];
    foreach ($numbers as $n) {
        $sequential[$n] = $client->orderQuery(['out_trade_no' => $n]);
    }
    $seqUs = (hrtime(true) - $start) / 1000;
    check($mock->stats()['requests'] - $before === NET_QUERY_ORDERS + 1, 'P5 sequential request count');

    $before = $mock->stats()['requests'];
    $start = hrtime(true);
    $concurrent = $client->queryOrders($numbers);
    $conUs = (hrtime(true) - $start) / 1000;
    check($mock->stats()['requests'] - $before === NET_QUERY_ORDERS + 1, 'P5 queryOrders request count');
    $mock->clearFaults();

    check(array_keys($concurrent) === $numbers, 'P5 keys in order');
    foreach ($numbers as $i => $n) {
        check(is_array($concurrent[$n]), "P5 $n is an answer");
        check($summary($concurrent[$n]) === "$n/" . ($i + 1) . '/NOTPAY', "P5 $n fields");
        check($summary($concurrent[$n]) === $summary($sequential[$n]), "P5 $n same as sequential");
    }
    printf(
        "\nP5 %d orderquery with %d ms latency: sequential loop %.0f ms, queryOrders %.0f ms (whole batch)\n",
        NET_QUERY_ORDERS,
        NET_LATENCY_MS,
        $seqUs / 1000,
        $conUs / 1000
    );
    row('P5 queryOrders(200) vs loop, µs/order', $seqUs / NET_QUERY_ORDERS, $conUs / NET_QUERY_ORDERS, 0.1);
    printf("%-48s %.1fx throughput (target >= 10x)\n", '', $seqUs / $conUs);
} finally {
    $mock->stop();
}
