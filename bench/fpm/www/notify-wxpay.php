<?php

/** bench-fpm notify endpoint, wxpay: handleNotify verifies, the callback updates the order. */

declare(strict_types=1);

require __DIR__ . '/common.php';

echo bench_client()->handleNotify(
    (string) file_get_contents('php://input'),
    static fn (array $n, bool $paid): bool => !$paid || bench_mark_paid($n['out_trade_no'], $n['total_fee'], $n['transaction_id'])
);
