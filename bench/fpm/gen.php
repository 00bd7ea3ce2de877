<?php

/**
 * make bench-fpm: creates the orders table with COUNT unpaid orders per notify variant and
 * writes, per variant, a file of their payment notifies (one signed body a line), as WeChat
 * sends them: php bench/fpm/gen.php DB DIR COUNT VARIANT…
 */

declare(strict_types=1);

require dirname(__DIR__) . '/php_reference.php';

[, $dbPath, $dir, $count] = $argv;
$variants = array_slice($argv, 4);
$appid = (string) getenv('WXPAY_APPID');
$mchId = (string) getenv('WXPAY_MCH_ID');
$key = (string) getenv('WXPAY_KEY');

$db = new SQLite3($dbPath);
$db->exec('PRAGMA journal_mode = WAL');
$db->exec('CREATE TABLE orders (out_trade_no TEXT PRIMARY KEY, total_fee INTEGER NOT NULL,
    status TEXT NOT NULL, transaction_id TEXT, paid_at INTEGER)');
$insert = $db->prepare("INSERT INTO orders (out_trade_no, total_fee, status) VALUES (:no, :fee, 'NOTPAY')");
$db->exec('BEGIN');
foreach ($variants as $variant) {
    $bodies = [];
    for ($i = 0; $i < (int) $count; $i++) {
        $no = sprintf('%s%06d', strtoupper($variant), $i);
        $fee = 100 + $i;
        $insert->bindValue(':no', $no);
        $insert->bindValue(':fee', $fee);
        $insert->execute();
        $fields = [
            'appid' => $appid, 'attach' => '支付测试', 'bank_type' => 'CFT', 'cash_fee' => (string) $fee,
            'fee_type' => 'CNY', 'is_subscribe' => 'Y', 'mch_id' => $mchId,
            'nonce_str' => bin2hex(random_bytes(16)), 'openid' => 'oUpF8uMEb4qRXf22hE3X68TekukE',
            'out_trade_no' => $no, 'result_code' => 'SUCCESS', 'return_code' => 'SUCCESS',
            'time_end' => '20140903131540', 'total_fee' => (string) $fee, 'trade_type' => 'JSAPI',
            'transaction_id' => sprintf('4200%024d', $i),
        ];
        $fields['sign'] = php_sign($fields, $key, 'MD5');
        $bodies[] = php_xml_encode($fields);
    }
    file_put_contents("$dir/bodies-$variant.txt", implode("\n", $bodies) . "\n");
}
$db->exec('COMMIT');
