<?php

/** The SDK's jsapi.php: unified order for the payer's openid, then the JSAPI parameters. */

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/wxpay-compat/WxPay.JsApiPay.php';
require_once __DIR__ . '/WxPay.Config.php';

try {
    $tools = new JsApiPay();
    // In production: $openId = $tools->GetOpenid(); (an OAuth redirect through WeChat).
    $openId = $_GET['openid'];

    $input = new WxPayUnifiedOrder();
    $input->SetBody('test');
    $input->SetAttach('test');
    $input->SetOut_trade_no($_GET['out_trade_no']);
    $input->SetTotal_fee('1');
    $input->SetGoods_tag('test');
    $input->SetTrade_type('JSAPI');
    $input->SetOpenid($openId);
    $config = new WxPayConfig();
    $order = WxPayApi::unifiedOrder($config, $input);
    $jsApiParameters = $tools->GetJsApiParameters($order);
    header('Content-Type: application/json');
    echo json_encode(array('order' => $order, 'jsApiParameters' => $jsApiParameters));
} catch (Exception $e) {
    http_response_code(500);
    echo json_encode(array('error' => get_class($e), 'message' => $e->getMessage()));
}
