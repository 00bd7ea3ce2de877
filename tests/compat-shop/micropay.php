<?php

/** The SDK's micropay.php: the cashier scans the payer's code. */

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/wxpay-compat/WxPay.MicroPay.php';
require_once __DIR__ . '/WxPay.Config.php';

try {
    $input = new WxPayMicroPay();
    $input->SetAuth_code($_REQUEST['auth_code']);
    $input->SetBody('刷卡测试样例-支付');
    $input->SetTotal_fee('1');
    $input->SetOut_trade_no($_REQUEST['out_trade_no']);

    $microPay = new MicroPay();
    echo json_encode(array('result' => $microPay->pay($input)));
} catch (Exception $e) {
    http_response_code(500);
    echo json_encode(array('error' => get_class($e), 'message' => $e->getMessage()));
}
