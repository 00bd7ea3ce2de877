<?php

/** The SDK's download.php: the day's bill as text ("" when there is none). */

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/WxPay.Config.php';

try {
    $input = new WxPayDownloadBill();
    $input->SetBill_date($_REQUEST['bill_date']);
    $input->SetBill_type($_REQUEST['bill_type']);
    $config = new WxPayConfig();
    header('Content-Type: text/plain; charset=utf-8');
    echo WxPayApi::downloadBill($config, $input);
} catch (Exception $e) {
    http_response_code(500);
    echo json_encode(array('error' => get_class($e), 'message' => $e->getMessage()));
}
