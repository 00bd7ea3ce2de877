<?php

/**
 * bench-fpm notify endpoint, the hand-written tutorial code (bench/php_reference.php:
 * SimpleXML + json round trip, ksort + md5, hash_equals), then the same order update.
 */

declare(strict_types=1);

require __DIR__ . '/common.php';
require dirname(__DIR__, 2) . '/php_reference.php';

echo php_handle_notify(
    (string) file_get_contents('php://input'),
    bench_env('WXPAY_KEY'),
    bench_env('WXPAY_APPID'),
    bench_env('WXPAY_MCH_ID'),
    static function (array $n, bool $paid): bool {
        return !$paid || bench_mark_paid($n['out_trade_no'] ?? '', $n['total_fee'] ?? '', $n['transaction_id'] ?? '');
    }
);
