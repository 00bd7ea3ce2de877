<?php

/** bench-fpm notify endpoint, wxpay: handleNotify verifies, the callback updates the order. */

declare(strict_types=1);

require __DIR__ . '/common.php';

$client = new WxPay\Client([
    'appid' => bench_env('WXPAY_APPID'),
    'mch_id' => bench_env('WXPAY_MCH_ID'),
    'key' => bench_env('WXPAY_KEY'),
]);
echo $client->handleNotify(
    (string) file_get_contents('php://input'),
    static fn (array $n, bool $paid): bool => !$paid || bench_mark_paid($n['out_trade_no'], $n['total_fee'], $n['transaction_id'])
);
