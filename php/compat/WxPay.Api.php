<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: WxPayApi.
 *
 * The SDK's static calls with the SDK's calling conventions — the required-field checks and
 * their messages, the input objects, the timeout argument (seconds), answers as arrays (also
 * when result_code or return_code is FAIL), WxPayException for everything else — carried out
 * by the wxpay extension's WxPay\Client (one per config object, reused, so TLS connections are
 * pooled across calls and requests of the PHP process).
 *
 * Differences from the SDK, all deliberate (README.md lists them):
 * - TLS is always verified (the SDK's examples turned CURLOPT_SSL_VERIFYPEER off) and every
 *   answer's signature is verified with the config's sign type, in constant time, with its
 *   appid/mch_id checked; XML is parsed strictly;
 * - parameters are checked before sending (a bad out_trade_no, a fractional total_fee …)
 *   and refused with a WxPayException instead of a PARAM_ERROR answer;
 * - SYSTEMERROR answers and transport failures are retried once with identical fields
 *   (never micropay);
 * - no automatic payitil/report after calls (see WxPayConfigInterface::GetReportLevenl());
 * - transport failures say "curl出错，错误码:28" for a timeout and ":7" otherwise, followed by
 *   the extension's message; wxpay does not use curl.
 */

require_once __DIR__ . '/WxPay.Exception.php';
require_once __DIR__ . '/WxPay.Config.Interface.php';
require_once __DIR__ . '/WxPay.Data.php';
require_once __DIR__ . '/WxPay.Bridge.php';

use WxPay\Compat\Bridge;

/**
 * 接口访问类: every v2 API as a static method. Default timeouts as the SDK: 6 s, micropay
 * 10 s, report 1 s.
 */
class WxPayApi
{
    /**
     * 统一下单: out_trade_no, body, total_fee, trade_type required (openid for JSAPI,
     * product_id for NATIVE); appid, mch_id, spbill_create_ip, nonce_str are filled.
     *
     * @param WxPayConfigInterface $config
     * @param WxPayUnifiedOrder $inputObj
     * @param int $timeOut seconds
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function unifiedOrder($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsOut_trade_noSet()) {
            throw new WxPayException('缺少统一支付接口必填参数out_trade_no！');
        } elseif (!$inputObj->IsBodySet()) {
            throw new WxPayException('缺少统一支付接口必填参数body！');
        } elseif (!$inputObj->IsTotal_feeSet()) {
            throw new WxPayException('缺少统一支付接口必填参数total_fee！');
        } elseif (!$inputObj->IsTrade_typeSet()) {
            throw new WxPayException('缺少统一支付接口必填参数trade_type！');
        }
        if ($inputObj->GetTrade_type() == 'JSAPI' && !$inputObj->IsOpenidSet()) {
            throw new WxPayException('统一支付接口中，缺少必填参数openid！trade_type为JSAPI时，openid为必填参数！');
        }
        if ($inputObj->GetTrade_type() == 'NATIVE' && !$inputObj->IsProduct_idSet()) {
            // The SDK's message, "JSAPI" typo included.
            throw new WxPayException('统一支付接口中，缺少必填参数product_id！trade_type为JSAPI时，product_id为必填参数！');
        }
        if (!$inputObj->IsNotify_urlSet() && $config->GetNotifyUrl() != '') {
            $inputObj->SetNotify_url($config->GetNotifyUrl());
        }
        // The SDK always overwrote it with REMOTE_ADDR; an address the shop set (the real
        // user's, behind a proxy) is kept here. Without either, the extension fills one.
        if (!$inputObj->IsSpbill_create_ipSet() && Bridge::remoteAddr() !== null) {
            $inputObj->SetSpbill_create_ip(Bridge::remoteAddr());
        }
        return self::send($config, $inputObj, $timeOut, 'unifiedOrder');
    }

    /**
     * 查询订单: out_trade_no or transaction_id.
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function orderQuery($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsOut_trade_noSet() && !$inputObj->IsTransaction_idSet()) {
            throw new WxPayException('订单查询接口中，out_trade_no、transaction_id至少填一个！');
        }
        return self::send($config, $inputObj, $timeOut, 'orderQuery');
    }

    /**
     * 关闭订单: out_trade_no.
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function closeOrder($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsOut_trade_noSet()) {
            throw new WxPayException('订单查询接口中，out_trade_no必填！');
        }
        return self::send($config, $inputObj, $timeOut, 'closeOrder');
    }

    /**
     * 申请退款 (client certificate from GetSSLCertPath): out_trade_no or transaction_id,
     * out_refund_no, total_fee, refund_fee, op_user_id (the SDK requires it; WeChat ignores it).
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function refund($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsOut_trade_noSet() && !$inputObj->IsTransaction_idSet()) {
            throw new WxPayException('退款申请接口中，out_trade_no、transaction_id至少填一个！');
        } elseif (!$inputObj->IsOut_refund_noSet()) {
            throw new WxPayException('退款申请接口中，缺少必填参数out_refund_no！');
        } elseif (!$inputObj->IsTotal_feeSet()) {
            throw new WxPayException('退款申请接口中，缺少必填参数total_fee！');
        } elseif (!$inputObj->IsRefund_feeSet()) {
            throw new WxPayException('退款申请接口中，缺少必填参数refund_fee！');
        } elseif (!$inputObj->IsOp_user_idSet()) {
            throw new WxPayException('退款申请接口中，缺少必填参数op_user_id！');
        }
        return self::send($config, $inputObj, $timeOut, 'refund');
    }

    /**
     * 查询退款: one of out_refund_no, out_trade_no, transaction_id, refund_id.
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function refundQuery($config, $inputObj, $timeOut = 6)
    {
        if (
            !$inputObj->IsOut_refund_noSet() &&
            !$inputObj->IsOut_trade_noSet() &&
            !$inputObj->IsTransaction_idSet() &&
            !$inputObj->IsRefund_idSet()
        ) {
            throw new WxPayException('退款查询接口中，out_refund_no、out_trade_no、transaction_id、refund_id四个参数必填一个！');
        }
        return self::send($config, $inputObj, $timeOut, 'refundQuery');
    }

    /**
     * 下载对账单: bill_date required. The bill text; "" when WeChat answered with an XML
     * failure (no bill that day …), as the SDK.
     *
     * @return string
     * @throws WxPayException
     */
    public static function downloadBill($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsBill_dateSet()) {
            throw new WxPayException('对账单接口中，缺少必填参数bill_date！');
        }
        self::own($config, $inputObj);
        $client = Bridge::client($config, $timeOut);
        $params = Bridge::params($inputObj->GetValues(), true);
        try {
            return $client->downloadBill($params);
        } catch (\WxPay\ApiException $e) {
            return '';
        } catch (\WxPay\ExceptionInterface $e) {
            throw Bridge::exception($e);
        }
    }

    /**
     * 提交被扫支付 (付款码): body, out_trade_no, total_fee, auth_code required. Sent once,
     * never retried; USERPAYING/SYSTEMERROR come back as the answer's array (query, then
     * reverse — see MicroPay in WxPay.MicroPay.php).
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function micropay($config, $inputObj, $timeOut = 10)
    {
        if (!$inputObj->IsBodySet()) {
            throw new WxPayException('提交被扫支付API接口中，缺少必填参数body！');
        } elseif (!$inputObj->IsOut_trade_noSet()) {
            throw new WxPayException('提交被扫支付API接口中，缺少必填参数out_trade_no！');
        } elseif (!$inputObj->IsTotal_feeSet()) {
            throw new WxPayException('提交被扫支付API接口中，缺少必填参数total_fee！');
        } elseif (!$inputObj->IsAuth_codeSet()) {
            throw new WxPayException('提交被扫支付API接口中，缺少必填参数auth_code！');
        }
        if (!$inputObj->IsSpbill_create_ipSet() && Bridge::remoteAddr() !== null) {
            $inputObj->SetSpbill_create_ip(Bridge::remoteAddr());
        }
        return self::send($config, $inputObj, $timeOut, 'micropay');
    }

    /**
     * 撤销订单 (client certificate): out_trade_no or transaction_id.
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function reverse($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsOut_trade_noSet() && !$inputObj->IsTransaction_idSet()) {
            throw new WxPayException('撤销订单API接口中，参数out_trade_no和transaction_id必须填写一个！');
        }
        return self::send($config, $inputObj, $timeOut, 'reverse');
    }

    /**
     * 测速上报: interface_url, return_code, result_code, user_ip, execute_time_ required.
     * Returns the answer as XML text, as the SDK (the answer is unsigned by design).
     *
     * @return string
     * @throws WxPayException
     */
    public static function report($config, $inputObj, $timeOut = 1)
    {
        if (!$inputObj->IsInterface_urlSet()) {
            throw new WxPayException('接口URL，缺少必填参数interface_url！');
        }
        if (!$inputObj->IsReturn_codeSet()) {
            throw new WxPayException('返回状态码，缺少必填参数return_code！');
        }
        if (!$inputObj->IsResult_codeSet()) {
            throw new WxPayException('业务结果，缺少必填参数result_code！');
        }
        if (!$inputObj->IsUser_ipSet()) {
            throw new WxPayException('访问接口IP，缺少必填参数user_ip！');
        }
        if (!$inputObj->IsExecute_time_Set()) {
            throw new WxPayException('接口耗时，缺少必填参数execute_time_！');
        }
        if (Bridge::remoteAddr() !== null) {
            $inputObj->SetUser_ip(Bridge::remoteAddr());
        }
        if (!$inputObj->IsTimeSet()) {
            $inputObj->SetTime(date('YmdHis'));
        }
        $answer = self::send($config, $inputObj, $timeOut, 'report');
        try {
            return \WxPay\Xml::encode($answer);
        } catch (\WxPay\ExceptionInterface $e) {
            throw Bridge::exception($e);
        }
    }

    /**
     * 生成二维码规则 (native mode 1): product_id required. No network: fills appid, mch_id,
     * time_stamp, nonce_str and the MD5 sign, and returns the values.
     *
     * @param WxPayBizPayUrl $inputObj
     * @return array<string, string|int>
     * @throws WxPayException
     */
    public static function bizpayurl($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsProduct_idSet()) {
            throw new WxPayException('生成二维码，缺少必填参数product_id！');
        }
        $inputObj->SetAppid($config->GetAppId());
        $inputObj->SetMch_id($config->GetMerchantId());
        $inputObj->SetTime_stamp((string) time());
        $inputObj->SetNonce_str(self::getNonceStr());
        $inputObj->SetSign($config);
        return $inputObj->GetValues();
    }

    /**
     * 转换短链接: long_url required (signed raw; the extension handles the transport).
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function shorturl($config, $inputObj, $timeOut = 6)
    {
        if (!$inputObj->IsLong_urlSet()) {
            throw new WxPayException('需要转换的URL，签名用原串，传输需URL encode！');
        }
        return self::send($config, $inputObj, $timeOut, 'shortUrl');
    }

    /**
     * 支付结果通用通知: reads the notify body, verifies it (WxPayNotifyResults::Init) and
     * calls $callback with the WxPayNotifyResults object; false (and $msg) when there is no
     * body or it does not verify.
     *
     * The body is $GLOBALS['HTTP_RAW_POST_DATA'] when a shop still sets it (the SDK read only
     * that, which PHP 7 removed), else php://input; or the optional $body (wxpay addition,
     * for Swoole/RoadRunner-style runtimes).
     *
     * @param callable $callback function (WxPayNotifyResults $data): bool
     * @param string $msg set to the reason on failure
     * @param string|null $body the raw body (wxpay addition)
     * @return mixed the callback's result, or false
     */
    public static function notify($config, $callback, &$msg, $body = null)
    {
        if ($body === null) {
            $body = $GLOBALS['HTTP_RAW_POST_DATA'] ?? file_get_contents('php://input');
        }
        if (!is_string($body) || $body === '') {
            $msg = '通知数据为空';
            return false;
        }
        try {
            $result = WxPayNotifyResults::Init($config, $body);
        } catch (WxPayException $e) {
            $msg = $e->errorMessage();
            return false;
        }
        return call_user_func($callback, $result);
    }

    /**
     * 产生随机字符串，不长于32位: [a-z0-9], from the CSPRNG (the SDK used mt_rand).
     *
     * @param int $length
     * @return string
     */
    public static function getNonceStr($length = 32)
    {
        $chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
        $str = '';
        for ($i = 0; $i < $length; $i++) {
            $str .= $chars[random_int(0, strlen($chars) - 1)];
        }
        return $str;
    }

    /**
     * 直接输出xml.
     *
     * @param string $xml
     */
    public static function replyNotify($xml)
    {
        echo $xml;
    }

    /**
     * 获取毫秒级别的时间戳 (private in the SDK).
     *
     * @return int
     */
    public static function getMillisecond()
    {
        return (int) floor(microtime(true) * 1000);
    }

    /** Sets appid and mch_id on the input object, as the SDK did before signing. */
    private static function own($config, $inputObj)
    {
        $inputObj->SetAppid($config->GetAppId());
        $inputObj->SetMch_id($config->GetMerchantId());
    }

    /**
     * One call through the config's Client. appid, mch_id, nonce_str, sign_type and sign
     * are the extension's to fill.
     *
     * @return array<string, string>
     */
    private static function send($config, $inputObj, $timeOut, $method)
    {
        self::own($config, $inputObj);
        $client = Bridge::client($config, $timeOut);
        $params = Bridge::params($inputObj->GetValues(), true);
        return Bridge::call(static fn () => $client->$method($params));
    }
}
