<?php

/**
 * The marketing walk-through (`make demo`, after the checkout; skip it with
 * WXPAY_DEMO_MARKETING=0): a cash red packet opened by the payer, a transfer to a payer's
 * balance, a transfer to a bank card whose card number and name travel RSA-encrypted —
 * against wxpay-mock, whose merchant balance they draw on (docs/protocol.md §12) — and a
 * profit-sharing round trip (§15).
 */

declare(strict_types=1);

require __DIR__ . '/lib/Shop.php';
require __DIR__ . '/lib/Mock.php';
require __DIR__ . '/lib/Console.php';

use WxPay\ApiException;
use WxPay\InvalidArgumentException;
use WxPayExample\Console;
use WxPayExample\Mock;
use WxPayExample\Shop;

Console::failOnDiagnostics();
$out = new Console();
$check = $out->check(...);
$yuan = static fn (int $fen): string => sprintf('%.2f yuan', $fen / 100);

try {
    $mock = Mock::fromEnv();
    // Which calls went where: one log record per HTTP attempt (config "logger").
    $calls = [];
    $pay = new WxPay\Client(Shop::clientConfig('http://127.0.0.1:9') + [
        'logger' => static function (string $level, string $message, array $context) use (&$calls): void {
            if ($level !== 'debug') {
                $calls[] = $context['path'];
            }
        },
    ]);
    $openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
    $start = $mock->balance();

    echo "\nwxpay marketing walk-through — red packets, transfers and profit sharing against wxpay-mock\n";
    $out->step('The merchant\'s available balance (what payouts draw on)');
    $out->say('GET /mock/balance → ' . $yuan($start));

    // ---------------------------------------------------------------------------------------
    $out->step('Send a cash red packet (sendRedpack)');
    $billNo = 'RP' . date('YmdHis') . random_int(1000, 9999);
    $sent = $pay->sendRedpack([
        'mch_billno' => $billNo, 'send_name' => 'wxpay demo', 're_openid' => $openid,
        'total_amount' => 520, 'wishing' => 'Thank you!', 'act_name' => 'Demo day', 'remark' => 'Enjoy',
    ]);
    $out->say('wxappid, mch_id, client_ip and total_num=1 filled; signed MD5, no sign_type (WeChat signs only its documented fields)');
    $out->fields($sent, ['return_code', 'result_code', 'wxappid', 'mch_billno', 'total_amount', 'send_listid']);
    $out->say('the answer is unsigned by WeChat\'s design: its wxappid and mch_id were checked against the config');
    $mock->openRedpack($billNo);
    $info = $pay->redpackInfo(['mch_billno' => $billNo]);
    $out->say("the payer opens it (POST /mock/redpacks/$billNo/open); redpackInfo:");
    $out->fields($info, ['status', 'hb_type', 'total_amount', 'hbinfo_0_openid', 'hbinfo_0_amount', 'hbinfo_0_rcv_time']);
    $check($info['status'] === 'RECEIVED' && $info['hbinfo_0_amount'] === '520', 'the red packet was not received');

    // ---------------------------------------------------------------------------------------
    $out->step('Transfer to a payer\'s balance (transfer, transferInfo)');
    $transferNo = 'T' . date('YmdHis') . random_int(1000, 9999);
    $paid = $pay->transfer([
        'partner_trade_no' => $transferNo, 'openid' => $openid, 'check_name' => 'FORCE_CHECK',
        're_user_name' => '张三', 'amount' => 1000, 'desc' => 'Deposit returned',
    ]);
    $out->say('mch_appid and mchid (WeChat\'s names for this call) and spbill_create_ip filled');
    $out->fields($paid, ['result_code', 'mch_appid', 'mchid', 'partner_trade_no', 'payment_no', 'payment_time']);
    $query = $pay->transferInfo(['partner_trade_no' => $transferNo]);
    $out->fields($query, ['status', 'transfer_name', 'payment_amount']);
    $check($query['status'] === 'SUCCESS', 'the transfer is not SUCCESS');

    // ---------------------------------------------------------------------------------------
    $out->step('Transfer to a bank card (payBank, queryBank)');
    $bankNo = 'B' . date('YmdHis') . random_int(1000, 9999);
    $card = '6225880012345678';
    $calls = [];
    $bank = $pay->payBank([
        'partner_trade_no' => $bankNo, 'enc_bank_no' => $card, 'enc_true_name' => '张三',
        'bank_code' => '1001', 'amount' => 20000, 'desc' => 'Salary',
    ]);
    $out->say('requests made: ' . implode(' → ', $calls));
    $out->say('the card number and name were sent RSA-OAEP encrypted with the key of risk/getpublickey');
    $out->say('(config risk_url; here the mock, as base_url is set); the key is kept for this process');
    $out->fields($bank, ['result_code', 'partner_trade_no', 'amount', 'cmms_amt', 'payment_no', 'sign']);
    $out->say('pay_bank\'s answer carries a sign: verified (MD5)');
    $status = $pay->queryBank(['partner_trade_no' => $bankNo]);
    $out->fields($status, ['status', 'bank_no_md5', 'true_name_md5', 'amount', 'cmms_amt']);
    $check($status['bank_no_md5'] === md5($card), 'WeChat decrypted another card number');
    $out->say('bank_no_md5 = md5 of the card number: the mock decrypted what the client encrypted');

    // ---------------------------------------------------------------------------------------
    $out->step('Refused before sending');
    try {
        $pay->queryBank(['partner_trade_no' => $bankNo, 'appid' => 'wx1']);
        throw new RuntimeException('an undocumented field was sent');
    } catch (InvalidArgumentException $e) {
        $out->say('InvalidArgumentException: ' . $e->getMessage());
    }

    // ---------------------------------------------------------------------------------------
    $out->step('Profit sharing (HMAC-SHA256 only): add a receiver, share a paid order, finish');
    try {
        $pay->profitSharingAddReceiver(['receiver' => ['type' => 'MERCHANT_ID', 'account' => '190001001', 'relation_type' => 'STORE']]);
        throw new RuntimeException('an MD5 client was allowed to share');
    } catch (WxPay\ConfigException $e) {
        $out->say('this MD5 client is refused before sending: ' . $e->getMessage());
    }
    $ps = new WxPay\Client(['sign_type' => 'HMAC-SHA256'] + Shop::clientConfig('http://127.0.0.1:9'));
    $ps->profitSharingAddReceiver([
        'receiver' => ['type' => 'MERCHANT_ID', 'account' => '190001001', 'name' => '示例门店', 'relation_type' => 'STORE'],
    ]);
    $out->say('profitSharingAddReceiver: merchant 190001001 (STORE); the receiver array is sent as JSON');
    $tradeNo = 'PS' . date('YmdHis') . random_int(1000, 9999);
    $ps->unifiedOrder([
        'body' => 'Shared order', 'out_trade_no' => $tradeNo, 'total_fee' => 1000,
        'trade_type' => 'NATIVE', 'product_id' => 'sku-1', 'profit_sharing' => 'Y',
    ]);
    $mock->pay($tradeNo);
    $tx = $ps->orderQuery(['out_trade_no' => $tradeNo])['transaction_id'];
    $out->say("order $tradeNo placed with profit_sharing=Y and paid: transaction_id $tx");
    $shareNo = 'P' . $tradeNo;
    $share = ['transaction_id' => $tx, 'out_order_no' => $shareNo, 'receivers' => [
        ['type' => 'MERCHANT_ID', 'account' => '190001001', 'amount' => 100, 'description' => '门店分成'],
    ]];
    // WeChat shares no sooner than a minute after payment (÷ the mock's time scale).
    for ($try = 1; ; $try++) {
        try {
            $shared = $ps->multiProfitSharing($share);
            break;
        } catch (ApiException $e) {
            if ($e->getErrCode() !== 'ORDER_NOT_READY' || $try === 50) {
                throw $e;
            }
            usleep(20000);
        }
    }
    $out->fields($shared, ['result_code', 'out_order_no', 'order_id', 'status']);
    for ($try = 1; ($query = $ps->profitSharingQuery(['transaction_id' => $tx, 'out_order_no' => $shareNo]))['status'] !== 'FINISHED'; $try++) {
        $check($try < 50, 'the sharing did not finish');
        usleep(20000);
    }
    $out->say('profitSharingQuery: ' . $query['status']);
    $amount = $ps->profitSharingOrderAmountQuery(['transaction_id' => $tx]);
    $out->say('profitSharingOrderAmountQuery: unsplit_amount ' . $amount['unsplit_amount'] . ' fen (1000 − 100)');
    $check($amount['unsplit_amount'] === '900', 'the shared amount was not taken off');
    $finished = $ps->profitSharingFinish(['transaction_id' => $tx, 'out_order_no' => 'F' . $tradeNo, 'description' => '分账完结']);
    $out->fields($finished, ['result_code', 'out_order_no', 'status']);
    $out->say('answers signed HMAC-SHA256 and verified; the rest of the order is unfrozen');

    $end = $mock->balance();
    $out->step('The balance afterwards');
    $out->say(sprintf('%s − 5.20 − 10.00 − 200.00 − fee %s = %s', $yuan($start), $yuan((int) $bank['cmms_amt']), $yuan($end)));
    $check($start - $end === 520 + 1000 + 20000 + (int) $bank['cmms_amt'], 'the balance does not add up');

    echo "\n";
    $out->ok('marketing walk-through complete: every step passed');
    exit(0);
} catch (ApiException $e) {
    $out->error(sprintf('WeChat said no: %s (err_code %s)', $e->getMessage(), $e->getErrCode()));
} catch (Throwable $e) {
    $out->error($e::class . ': ' . $e->getMessage() . ' (' . basename($e->getFile()) . ':' . $e->getLine() . ')');
}
exit(1);
