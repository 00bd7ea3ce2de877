<?php

/**
 * The SDK's notify.php: a WxPayNotify subclass that checks the notify, confirms it with an
 * order query and records the payment (here: one JSON line per processed notify in
 * $SHOP_LOG, for the tests).
 */

require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';
require_once __DIR__ . '/wxpay-compat/WxPay.Notify.php';
require_once __DIR__ . '/WxPay.Config.php';

class PayNotifyCallBack extends WxPayNotify
{
    public function Queryorder($transaction_id)
    {
        $input = new WxPayOrderQuery();
        $input->SetTransaction_id($transaction_id);
        $config = new WxPayConfig();
        $result = WxPayApi::orderQuery($config, $input);
        if (
            array_key_exists('return_code', $result)
            && array_key_exists('result_code', $result)
            && $result['return_code'] == 'SUCCESS'
            && $result['result_code'] == 'SUCCESS'
        ) {
            return $result;
        }
        return false;
    }

    public function NotifyProcess($objData, $config, &$msg)
    {
        $data = $objData->GetValues();
        if (!array_key_exists('return_code', $data) || $data['return_code'] != 'SUCCESS') {
            $msg = '异常异常';
            return false;
        }
        if (!array_key_exists('transaction_id', $data)) {
            $msg = '输入参数不正确';
            return false;
        }
        try {
            $objData->CheckSign($config);
        } catch (Exception $e) {
            $msg = '签名错误';
            return false;
        }
        $order = $this->Queryorder($data['transaction_id']);
        if ($order === false || $order['trade_state'] != 'SUCCESS') {
            $msg = '订单查询失败';
            return false;
        }
        file_put_contents(getenv('SHOP_LOG'), json_encode(array(
            'out_trade_no' => $data['out_trade_no'],
            'total_fee' => $data['total_fee'],
            'transaction_id' => $data['transaction_id'],
        )) . "\n", FILE_APPEND | LOCK_EX);
        return true;
    }
}

$config = new WxPayConfig();
$notify = new PayNotifyCallBack();
$notify->Handle($config, false);
