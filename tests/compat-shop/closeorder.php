<?php

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/WxPay.Config.php';

try {
    $input = new WxPayCloseOrder();
    $input->SetOut_trade_no($_REQUEST['out_trade_no']);
    $config = new WxPayConfig();
    echo json_encode(WxPayApi::closeOrder($config, $input));
} catch (Exception $e) {
    http_response_code(500);
    echo json_encode(array('error' => get_class($e), 'message' => $e->getMessage()));
}
