<?php

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/wxpay-compat/WxPay.NativePay.php';
require_once __DIR__ . '/WxPay.Config.php';

$notify = new NativePay();

// Mode 1: a QR code per product; WeChat calls the scan-callback URL when it is scanned.
$url1 = $notify->GetPrePayUrl('123456789');

// Mode 2: a unified order; its code_url lives 2 hours.
$input = new WxPayUnifiedOrder();
$input->SetBody('test');
$input->SetAttach('test');
$input->SetOut_trade_no(isset($_GET['out_trade_no']) ? $_GET['out_trade_no'] : 'sdkphp' . date('YmdHis'));
$input->SetTotal_fee(isset($_GET['total_fee']) ? $_GET['total_fee'] : '1');
$input->SetGoods_tag('test');
$input->SetTrade_type('NATIVE');
$input->SetProduct_id('123456789');
$result = $notify->GetPayUrl($input);
$url2 = $result['code_url'];

header('Content-Type: application/json');
echo json_encode(array('mode1' => $url1, 'mode2' => $url2, 'order' => $result));
