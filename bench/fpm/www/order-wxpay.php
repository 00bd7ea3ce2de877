<?php

/** bench-fpm order endpoint, wxpay: unifiedOrder over the worker's pooled HTTPS connection. */

declare(strict_types=1);

require __DIR__ . '/common.php';

$order = bench_client([
    'base_url' => bench_env('WXPAY_BASE_URL'),
    'ca_path' => bench_env('WXPAY_CA_PATH'),
    'notify_url' => 'https://shop.example/notify',
])->unifiedOrder([
    'body' => 'bench', 'out_trade_no' => 'W' . bin2hex(random_bytes(12)), 'total_fee' => 88,
    'trade_type' => 'NATIVE', 'product_id' => 'sku-1',
]);
echo $order['code_url'];
