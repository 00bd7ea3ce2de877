<?php

/** The SDK's refund.php (client certificate from GetSSLCertPath). */

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/WxPay.Config.php';

try {
    $input = new WxPayRefund();
    $input->SetOut_trade_no($_REQUEST['out_trade_no']);
    $input->SetTotal_fee($_REQUEST['total_fee']);
    $input->SetRefund_fee($_REQUEST['refund_fee']);
    $config = new WxPayConfig();
    $input->SetOut_refund_no($_REQUEST['out_refund_no']);
    $input->SetOp_user_id($config->GetMerchantId());
    echo json_encode(WxPayApi::refund($config, $input));
} catch (Exception $e) {
    http_response_code(500);
    echo json_encode(array('error' => get_class($e), 'message' => $e->getMessage()));
}
