<?php

/**
 * The checkout walk-through (`make demo`): a NATIVE order paid by scanning a QR code, the
 * signed payment notify, an order query, a refund and its encrypted notify, the day's bill,
 * and the JSAPI invoke parameters — against wxpay-mock, with the notify endpoint
 * (notify.php) running under `php -S`. Configuration comes from the environment; see
 * examples/demo.sh and lib/Shop.php.
 */

declare(strict_types=1);

require __DIR__ . '/lib/Shop.php';
require __DIR__ . '/lib/Mock.php';
require __DIR__ . '/lib/Console.php';

use WxPay\ApiException;
use WxPay\Bill;
use WxPay\Qr;
use WxPay\Signer;
use WxPay\Xml;
use WxPayExample\Console;
use WxPayExample\Mock;
use WxPayExample\Shop;

Console::failOnDiagnostics();
$out = new Console();
$check = $out->check(...);

/** Polls $probe until it returns a non-null value. */
$waitFor = static function (callable $probe, string $what, float $seconds = 15.0): mixed {
    $deadline = microtime(true) + $seconds;
    do {
        $value = $probe();
        if ($value !== null) {
            return $value;
        }
        usleep(50_000);
    } while (microtime(true) < $deadline);
    throw new RuntimeException("timed out after {$seconds}s waiting for $what");
};

/** POSTs every body to $url at once (as WeChat's servers may); returns the replies. */
$postAll = static function (string $url, array $bodies): array {
    $multi = curl_multi_init();
    $handles = [];
    foreach ($bodies as $i => $body) {
        $ch = curl_init($url);
        curl_setopt_array($ch, [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => 10,
            CURLOPT_HTTPHEADER => ['Content-Type: text/xml'],
        ]);
        curl_multi_add_handle($multi, $ch);
        $handles[$i] = $ch;
    }
    do {
        $status = curl_multi_exec($multi, $running);
        if ($running > 0) {
            curl_multi_select($multi, 0.1);
        }
    } while ($running > 0 && $status === CURLM_OK);
    $replies = [];
    foreach ($handles as $i => $ch) {
        $code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $body = (string) curl_multi_getcontent($ch);
        $replies[$i] = ['http' => $code] + ($body !== '' && $code === 200 ? Xml::decode($body) : []);
        curl_multi_remove_handle($multi, $ch);
        unset($ch); // curl_close() is a deprecated no-op since PHP 8.5
    }
    curl_multi_close($multi);
    return $replies;
};


try {
    $shop = Shop::fromEnv();
    $pay = $shop->pay;
    $mock = Mock::fromEnv();
    $beijing = new DateTimeZone('Asia/Shanghai');

    echo "wxpay checkout walk-through — WeChat Pay API v2 against wxpay-mock\n";

    $out->step('Configure the merchant');
    $out->say('new WxPay\\Client([...]) — base_url is the mock, TLS trusts its CA; the key stays inside:');
    $out->block(print_r($pay, true));

    // ---------------------------------------------------------------------------------------
    $out->step('Create a NATIVE order (unifiedOrder)');
    $outTradeNo = Shop::newOutTradeNo('DEMO');
    $totalFee = 888;
    $out->say("our order $outTradeNo for $totalFee fen is stored first (the notify is checked against it)");
    $order = $shop->placeOrder($outTradeNo, 'wxpay demo - flat white', $totalFee, 'NATIVE', [
        'product_id' => 'flat-white',
        'attach' => 'table 7',
    ]);
    $out->fields($order, ['return_code', 'result_code', 'trade_type', 'prepay_id', 'code_url']);
    $check(isset($order['code_url']), 'unifiedOrder returned no code_url');
    $out->say('notify_url = ' . $shop->notifyUrl('pay'));

    // ---------------------------------------------------------------------------------------
    $out->step('Show the code_url as a QR code (Qr::text)');
    echo Qr::text($order['code_url']), "\n";
    $out->say('(the shop serves the same code as SVG with Qr::svg, or PNG with Qr::png)');

    // ---------------------------------------------------------------------------------------
    $out->step('The payer scans and pays (mock control API)');
    $out->say("POST /mock/orders/$outTradeNo/pay");
    $paid = $mock->pay($outTradeNo);
    $out->fields($paid, array_values(array_intersect(
        ['out_trade_no', 'trade_state', 'transaction_id', 'total_fee'],
        array_keys($paid),
    )));

    // ---------------------------------------------------------------------------------------
    $out->step('WeChat notifies notify.php; it verifies and records the payment');
    $row = $waitFor(
        static fn (): ?array => ($o = $shop->order($outTradeNo)) !== null && $o['state'] !== 'NOTPAY' ? $o : null,
        'the payment notify to be recorded',
    );
    $check($row['state'] === 'PAID', "order state is {$row['state']}, expected PAID");
    $out->say('handleNotify (signature, appid, mch_id) → our callback: assertNotifyMatches (out_trade_no, total_fee 888)');
    $out->say('→ one transaction in SQLite → the handler replies SUCCESS');
    $out->fields($row, ['out_trade_no', 'state', 'transaction_id', 'paid_via', 'time_end']);
    foreach ($mock->notifies() as $attempt) {
        if (($attempt['kind'] ?? '') === 'payment' && ($attempt['out_trade_no'] ?? '') === $outTradeNo) {
            $out->say(sprintf(
                'mock delivery #%d → HTTP %s, reply %s',
                $attempt['attempt'] ?? 0,
                (string) ($attempt['http_status'] ?? '-'),
                isset($attempt['reply']) ? preg_replace('/\s+/', ' ', (string) $attempt['reply']) : '-',
            ));
        }
    }
    $out->ok('payment verified and recorded');

    // ---------------------------------------------------------------------------------------
    $out->step('Duplicates and forgeries are harmless');
    $log = $shop->notifyLog($outTradeNo, 'payment');
    $genuine = null;
    foreach ($log as $entry) {
        if ($entry['outcome'] === 'processed') {
            $genuine = $entry['body'];
        }
    }
    $check(is_string($genuine), 'no processed payment notify in the log');
    $url = $shop->notifyUrl('pay');
    $replies = $postAll($url, array_fill(0, 5, $genuine));
    $acked = count(array_filter($replies, static fn (array $r): bool => ($r['return_code'] ?? '') === 'SUCCESS'));
    $out->say("the same notify delivered 5 more times at once → $acked × SUCCESS");
    $check($acked === 5, 'duplicate notifies were not all acknowledged');

    $fields = Xml::decode($genuine);
    $tampered = $fields;
    $tampered['total_fee'] = '1';
    $forged = $postAll($url, [Xml::encode($tampered)])[0];
    $out->say('total_fee changed to 1 (signature no longer matches) → '
        . ($forged['return_code'] ?? '?') . ' / ' . ($forged['return_msg'] ?? ''));
    $check(($forged['return_code'] ?? '') === 'FAIL', 'a forged notify was accepted');

    // A correctly signed notify for the wrong amount: what a leaked key would allow.
    $resigned = $tampered;
    unset($resigned['sign']);
    $resigned['sign'] = Signer::sign($resigned, Shop::env('WXPAY_KEY'), $fields['sign_type'] ?? 'MD5');
    $wrongAmount = $postAll($url, [Xml::encode($resigned)])[0];
    $out->say('validly signed, but total_fee 1 ≠ our 888 → '
        . ($wrongAmount['return_code'] ?? '?') . ' / ' . ($wrongAmount['return_msg'] ?? ''));
    $check(($wrongAmount['return_code'] ?? '') === 'FAIL', 'a notify with the wrong amount was accepted');
    $out->say('WeChat only sees the generic message; the reason for each FAIL is in the endpoint\'s error log');

    $outcomes = array_count_values(array_column($shop->notifyLog($outTradeNo, 'payment'), 'outcome'));
    ksort($outcomes);
    $out->say('notify log for the order: ' . json_encode($outcomes));
    $check(($outcomes['processed'] ?? 0) === 1, 'the payment was processed more than once');
    $out->ok('applied exactly once; forgeries answered FAIL (HTTP 200), no warning');

    // ---------------------------------------------------------------------------------------
    $out->step('Ask WeChat: orderQuery');
    $query = $pay->orderQuery(['out_trade_no' => $outTradeNo]);
    $out->fields($query, ['trade_state', 'trade_type', 'total_fee', 'cash_fee', 'bank_type', 'openid',
        'transaction_id', 'attach', 'time_end']);
    $check($query['trade_state'] === 'SUCCESS', "trade_state is {$query['trade_state']}, expected SUCCESS");
    $check($query['transaction_id'] === $row['transaction_id'], 'transaction_id differs from the notify');
    $out->ok('trade_state SUCCESS, same transaction_id as the notify');

    // ---------------------------------------------------------------------------------------
    $out->step('Refund (secapi/pay/refund, with the client certificate)');
    $refund = $shop->refund($outTradeNo, $totalFee, 'demo refund');
    $out->fields($refund, ['result_code', 'out_refund_no', 'refund_id', 'refund_fee', 'total_fee']);
    $out->say('result_code SUCCESS means accepted; the refund notify confirms it');

    // ---------------------------------------------------------------------------------------
    $out->step('The refund notify: req_info decrypted (handleRefundNotify) and recorded');
    $outRefundNo = $refund['out_refund_no'];
    $refundRow = $waitFor(
        static fn (): ?array => ($r = $shop->refundRecord($outRefundNo)) !== null && $r['state'] !== 'REQUESTED'
            ? $r : null,
        'the refund notify to be recorded',
    );
    $check($refundRow['state'] === 'SUCCESS', "refund state is {$refundRow['state']}, expected SUCCESS");
    $decrypted = json_decode((string) $refundRow['notify_fields'], true, 16, JSON_THROW_ON_ERROR);
    $out->fields($decrypted, ['out_refund_no', 'refund_id', 'refund_fee', 'refund_status', 'success_time',
        'refund_recv_accout', 'refund_account', 'refund_request_source']);
    $out->say('order state now: ' . ($shop->order($outTradeNo)['state'] ?? '?'));
    $rq = $pay->refundQuery(['out_refund_no' => $outRefundNo]);
    $out->say('refundQuery: refund_status_0 = ' . ($rq['refund_status_0'] ?? '?'));
    $check(($rq['refund_status_0'] ?? '') === 'SUCCESS', 'refundQuery does not show SUCCESS');
    $out->ok('refund confirmed');

    // ---------------------------------------------------------------------------------------
    $out->step("Today's bill (downloadBill + Bill::parse)");
    // The bill of the day the payment happened (time_end is Beijing time, as bills are).
    $billDate = substr((string) $row['time_end'], 0, 8) ?: (new DateTimeImmutable('now', $beijing))->format('Ymd');
    $text = $pay->downloadBill(['bill_date' => $billDate, 'bill_type' => 'ALL']);
    $bill = Bill::parse($text);
    $out->say(sprintf('bill_date %s: %d rows, %d columns', $billDate, count($bill['rows']), count($bill['header'])));
    $ours = array_values(array_filter(
        $bill['rows'],
        static fn (array $r): bool => ($r['商户订单号'] ?? '') === $outTradeNo,
    ));
    foreach ($ours as $i => $r) {
        $out->say('row ' . ($i + 1) . ':');
        $out->fields($r, ['交易时间', '微信订单号', '商户订单号', '交易类型', '交易状态', '应结订单金额',
            '商户退款单号', '退款金额', '退款状态', '商品名称', '商户数据包', '手续费', '费率']);
    }
    $check($ours !== [], "the bill has no row for $outTradeNo");
    $out->say('summary:');
    $out->fields($bill['summary']);
    $out->ok('the trade is in the bill');

    // ---------------------------------------------------------------------------------------
    $out->step('A JSAPI order (in WeChat) and its invoke parameters (jsapiParams)');
    $jsapiNo = Shop::newOutTradeNo('JSAPI');
    $jsapi = $shop->placeOrder($jsapiNo, 'wxpay demo - croissant', 1200, 'JSAPI', [
        'openid' => 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    ]);
    $out->say("unifiedOrder trade_type JSAPI → prepay_id {$jsapi['prepay_id']}");
    $params = $pay->jsapiParams($jsapi['prepay_id']);
    $out->fields($params);
    $out->say('the page then calls:');
    $out->block("WeixinJSBridge.invoke('getBrandWCPayRequest', "
        . json_encode($params, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . ', function (res) { … });');
    $check($pay->verify(['appId' => $params['appId'], 'timeStamp' => $params['timeStamp'],
        'nonceStr' => $params['nonceStr'], 'package' => $params['package'], 'signType' => $params['signType'],
        'sign' => $params['paySign']]), 'paySign does not verify');
    $out->ok('paySign verifies');

    // ---------------------------------------------------------------------------------------
    $out->step('Many orders at once (queryOrders), then closeOrder');
    $missing = 'DEMO-NOT-A-REAL-ORDER';
    foreach ($pay->queryOrders([$outTradeNo, $jsapiNo, $missing]) as $no => $result) {
        $out->say(str_pad($no, 28) . ' ' . ($result instanceof ApiException
            ? 'ApiException ' . $result->getErrCode() . ' (' . $result->getErrCodeDes() . ')'
            : ($result instanceof Throwable ? $result::class . ': ' . $result->getMessage()
                : 'trade_state ' . $result['trade_state'])));
    }
    $pay->closeOrder(['out_trade_no' => $jsapiNo]);
    $closed = $pay->orderQuery(['out_trade_no' => $jsapiNo]);
    $out->say("closeOrder $jsapiNo → trade_state {$closed['trade_state']}");
    $check($closed['trade_state'] === 'CLOSED', 'the closed order is not CLOSED');

    echo "\n";
    $out->ok('checkout walk-through complete: every step passed');
    exit(0);
} catch (ApiException $e) {
    $out->error(sprintf(
        'WeChat said no: %s (err_code %s: %s; return_msg %s; retryable %s)',
        $e->getMessage(),
        $e->getErrCode(),
        $e->getErrCodeDes(),
        $e->getReturnMsg(),
        $e->isRetryable() ? 'yes' : 'no',
    ));
} catch (Throwable $e) {
    $out->error($e::class . ': ' . $e->getMessage() . ' (' . basename($e->getFile()) . ':' . $e->getLine() . ')');
}
exit(1);
