<?php

/**
 * What every bench-fpm endpoint shares: the merchant (from the environment php-fpm passes:
 * the mock's), the orders table, and the shop's step once a notify is verified. Only the
 * parse/verify/reply part differs between the wxpay, tutorial and SDK endpoints.
 */

declare(strict_types=1);

function bench_env(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        throw new RuntimeException("$name is not set");
    }
    return $value;
}

/** The merchant's client; `$extra` config on top of the mock's merchant. */
function bench_client(array $extra = []): WxPay\Client
{
    return new WxPay\Client([
        'appid' => bench_env('WXPAY_APPID'),
        'mch_id' => bench_env('WXPAY_MCH_ID'),
        'key' => bench_env('WXPAY_KEY'),
    ] + $extra);
}

function bench_db(): SQLite3
{
    static $db = null;
    if ($db === null) {
        $db = new SQLite3(bench_env('BENCH_DB'));
        $db->busyTimeout(5000);
        $db->exec('PRAGMA journal_mode = WAL');
        $db->exec('PRAGMA synchronous = NORMAL');
    }
    return $db;
}

/**
 * The shop's step: the order must exist with this amount; it is marked paid once (WeChat
 * delivers a notify more than once). False when the notify is not for a known order.
 */
function bench_mark_paid(string $outTradeNo, string $totalFee, string $transactionId): bool
{
    $db = bench_db();
    $find = $db->prepare('SELECT total_fee FROM orders WHERE out_trade_no = :no');
    $find->bindValue(':no', $outTradeNo);
    $row = $find->execute()->fetchArray(SQLITE3_ASSOC);
    if ($row === false || (string) $row['total_fee'] !== $totalFee) {
        return false;
    }
    $pay = $db->prepare(
        "UPDATE orders SET status = 'PAID', transaction_id = :txn, paid_at = :at
         WHERE out_trade_no = :no AND status <> 'PAID'"
    );
    $pay->bindValue(':txn', $transactionId);
    $pay->bindValue(':at', time());
    $pay->bindValue(':no', $outTradeNo);
    return $pay->execute() !== false;
}
