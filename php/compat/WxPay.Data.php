<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: the data objects
 * (WxPayDataBase and its family), with the SDK's class names, methods and conventions.
 *
 * Where the SDK was unsafe, these are not:
 * - signing and verifying go through the wxpay extension (WxPay\Signer): byte-order sort,
 *   no loose `!= ""` filter and no trim of the last value;
 * - the sign type is pinned to the config's GetSignType() — the SDK's WxPayResults guessed
 *   MD5 or HMAC-SHA256 from the length of the received sign, which lets a sender choose;
 * - signatures are compared in constant time (the SDK used `==`);
 * - XML is read by WxPay\Xml::decode: a DOCTYPE, entities, nesting or a duplicate field are
 *   refused (the SDK relied on libxml_disable_entity_loader(), deprecated on PHP 8).
 *
 * The request objects keep every SDK accessor as an explicit method; those of a field that
 * several of them carry (appid, mch_id, out_trade_no …) come from one trait per field in
 * WxPay.Data.Fields.php, the rest are written in their class.
 */

require_once __DIR__ . '/WxPay.Config.Interface.php';
require_once __DIR__ . '/WxPay.Exception.php';
require_once __DIR__ . '/WxPay.Bridge.php';
require_once __DIR__ . '/WxPay.Data.Fields.php';

use WxPay\Compat\Bridge;
use WxPay\Compat\Field;

/**
 * 数据对象基础类: sign, XML in and out, the values array.
 */
class WxPayDataBase
{
    protected $values = [];

    /** 设置签名类型 (sign_type). */
    public function SetSignType($sign_type)
    {
        $this->values['sign_type'] = $sign_type;
        return $sign_type;
    }

    /** 计算并设置签名 (sign), with the config's key and sign type. */
    public function SetSign($config)
    {
        $sign = $this->MakeSign($config);
        $this->values['sign'] = $sign;
        return $sign;
    }

    /** 获取签名. */
    public function GetSign()
    {
        return $this->values['sign'] ?? null;
    }

    /** 判断签名是否存在. */
    public function IsSignSet()
    {
        return array_key_exists('sign', $this->values);
    }

    /**
     * 输出xml字符: every value in CDATA (`]]>` split safely), through WxPay\Xml::encode.
     *
     * @throws WxPayException
     */
    public function ToXml()
    {
        if (!is_array($this->values) || count($this->values) <= 0) {
            throw new WxPayException('数组数据异常！');
        }
        try {
            return \WxPay\Xml::encode(Bridge::params($this->values));
        } catch (\WxPay\ExceptionInterface $e) {
            throw Bridge::exception($e);
        }
    }

    /**
     * 将xml转为array: strict (no DOCTYPE/entities, flat, no duplicate fields, UTF-8).
     *
     * @throws WxPayException
     */
    public function FromXml($xml)
    {
        if (!$xml || !is_string($xml)) {
            throw new WxPayException('xml数据异常！');
        }
        try {
            $this->values = \WxPay\Xml::decode($xml);
        } catch (\WxPay\ExceptionInterface $e) {
            throw Bridge::exception($e);
        }
        return $this->values;
    }

    /**
     * 格式化参数格式化成url参数: `k=v&…` without `sign` and empty values, in the current
     * order (MakeSign sorts first). For display and logs; signing never goes through it.
     */
    public function ToUrlParams()
    {
        $pairs = [];
        foreach ($this->values as $k => $v) {
            if ($k !== 'sign' && $v !== null && $v !== '' && $v !== false && !is_array($v)) {
                $pairs[] = $k . '=' . ($v === true ? '1' : $v);
            }
        }
        return implode('&', $pairs);
    }

    /**
     * 生成签名 with the config's sign type (sign_type is set first and signed, as in the
     * SDK). Does not set `sign`: SetSign() does.
     *
     * @param WxPayConfigInterface $config
     * @param bool $needSignType 是否需要补signtype
     * @throws WxPayException 签名类型不支持！
     */
    public function MakeSign($config, $needSignType = true)
    {
        $signType = Bridge::signType($config);
        if ($needSignType) {
            $this->SetSignType($signType);
        }
        ksort($this->values, SORT_STRING);
        return Bridge::sign($this->values, $config, $signType);
    }

    /** 获取设置的值. */
    public function GetValues()
    {
        return $this->values;
    }
}

/**
 * 只使用md5算法进行签名 (native mode-1 bizpayurl and the scan-callback reply), as the SDK.
 */
class WxPayDataBaseSignMd5 extends WxPayDataBase
{
    public function MakeSign($config, $needSignType = false)
    {
        if ($needSignType) {
            $this->SetSignType(Bridge::signType($config));
        }
        ksort($this->values, SORT_STRING);
        return Bridge::sign($this->values, $config, 'MD5');
    }
}

/**
 * 接口调用结果类. Verification is pinned to the config's sign type and constant-time.
 */
class WxPayResults extends WxPayDataBase
{
    /**
     * The sign these values should carry, with the config's (pinned) sign type — the SDK
     * picked the type from the received sign's length instead.
     */
    public function MakeSign($config, $needSignType = false)
    {
        ksort($this->values, SORT_STRING);
        return Bridge::sign($this->values, $config, Bridge::signType($config));
    }

    /**
     * 检测签名: true, or WxPayException("签名错误！"). A `sign_type` field other than the
     * config's, a sign of the wrong length or a forged sign all fail; the comparison is done
     * by the extension in constant time.
     *
     * @param WxPayConfigInterface $config
     * @throws WxPayException
     */
    public function CheckSign($config)
    {
        if (!$this->IsSignSet() || !is_string($this->values['sign'])) {
            throw new WxPayException('签名错误！');
        }
        $signType = Bridge::signType($config);
        try {
            $ok = \WxPay\Signer::verify(Bridge::params($this->values), (string) $config->GetKey(), $signType);
        } catch (\WxPay\ExceptionInterface $e) {
            throw Bridge::exception($e);
        }
        if (!$ok) {
            throw new WxPayException('签名错误！');
        }
        return true;
    }

    /** 使用数组初始化. */
    public function FromArray($array)
    {
        $this->values = $array;
    }

    /**
     * 使用数组初始化对象.
     *
     * @param bool $noCheckSign 是否不检测签名
     */
    public static function InitFromArray($config, $array, $noCheckSign = false)
    {
        $obj = new static();
        $obj->FromArray($array);
        if ($noCheckSign == false) {
            $obj->CheckSign($config);
        }
        return $obj;
    }

    /** 设置参数. */
    public function SetData($key, $value)
    {
        $this->values[$key] = $value;
    }

    /**
     * 将xml转为array: a FAIL answer holding only return_code/return_msg is returned as is
     * (anything more throws 输入数据存在异常！), a SUCCESS one must be signed right.
     *
     * @return array<string, string>
     * @throws WxPayException
     */
    public static function Init($config, $xml)
    {
        $obj = new self();
        $obj->FromXml($xml);
        if (($obj->values['return_code'] ?? '') != 'SUCCESS') {
            foreach ($obj->values as $key => $value) {
                if ($key != 'return_code' && $key != 'return_msg') {
                    throw new WxPayException('输入数据存在异常！');
                }
            }
            return $obj->GetValues();
        }
        $obj->CheckSign($config);
        return $obj->GetValues();
    }
}

/**
 * 回调数据: payment notifies and native mode-1 scan callbacks.
 */
class WxPayNotifyResults extends WxPayResults
{
    /**
     * Parses and verifies an inbound message: strict XML, pinned constant-time signature
     * check, and — which the SDK did not do — appid and mch_id, when present, must be the
     * config's.
     *
     * @return WxPayNotifyResults
     * @throws WxPayException
     */
    public static function Init($config, $xml)
    {
        $obj = new self();
        $obj->FromXml($xml);
        $obj->CheckSign($config);
        foreach (['appid' => $config->GetAppId(), 'mch_id' => $config->GetMerchantId()] as $name => $own) {
            if (isset($obj->values[$name]) && $obj->values[$name] !== (string) $own) {
                throw new WxPayException($name . '与商户配置不符！');
            }
        }
        return $obj;
    }
}

/**
 * 回调基础类: the reply to a notify (MD5-signed when a signed reply is asked for, as the SDK).
 */
class WxPayNotifyReply extends WxPayDataBaseSignMd5
{
    /** 设置错误码 FAIL 或者 SUCCESS. */
    public function SetReturn_code($return_code)
    {
        $this->values['return_code'] = $return_code;
    }

    /** 获取错误码 FAIL 或者 SUCCESS. */
    public function GetReturn_code()
    {
        return $this->values['return_code'] ?? null;
    }

    /** 设置错误信息. */
    public function SetReturn_msg($return_msg)
    {
        $this->values['return_msg'] = $return_msg;
    }

    /** 获取错误信息. */
    public function GetReturn_msg()
    {
        return $this->values['return_msg'] ?? null;
    }

    /** 设置返回参数. */
    public function SetData($key, $value)
    {
        $this->values[$key] = $value;
    }
}

/** 统一下单输入对象. */
class WxPayUnifiedOrder extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;
    use Field\Body;
    use Field\Detail;
    use Field\Attach;
    use Field\OutTradeNo;
    use Field\FeeType;
    use Field\TotalFee;
    use Field\SpbillCreateIp;
    use Field\TimeStart;
    use Field\TimeExpire;
    use Field\GoodsTag;
    use Field\NotifyUrl;
    use Field\ProductId;

    /** 设置交易类型。 */
    public function SetTrade_type($value)
    {
        $this->values['trade_type'] = $value;
    }

    /** 获取交易类型的值。 */
    public function GetTrade_type()
    {
        return $this->values['trade_type'] ?? null;
    }

    /** 判断交易类型是否存在。 */
    public function IsTrade_typeSet()
    {
        return array_key_exists('trade_type', $this->values);
    }

    /** 设置用户标识。 */
    public function SetOpenid($value)
    {
        $this->values['openid'] = $value;
    }

    /** 获取用户标识的值。 */
    public function GetOpenid()
    {
        return $this->values['openid'] ?? null;
    }

    /** 判断用户标识是否存在。 */
    public function IsOpenidSet()
    {
        return array_key_exists('openid', $this->values);
    }

    /** 设置指定支付方式（wxpay 补充，SDK 无此方法）。 */
    public function SetLimit_pay($value)
    {
        $this->values['limit_pay'] = $value;
    }

    /** 获取指定支付方式的值。 */
    public function GetLimit_pay()
    {
        return $this->values['limit_pay'] ?? null;
    }

    /** 判断指定支付方式是否存在。 */
    public function IsLimit_paySet()
    {
        return array_key_exists('limit_pay', $this->values);
    }

    /** 设置场景信息（MWEB必填）（wxpay 补充，SDK 无此方法）。 */
    public function SetScene_info($value)
    {
        $this->values['scene_info'] = $value;
    }

    /** 获取场景信息（MWEB必填）的值。 */
    public function GetScene_info()
    {
        return $this->values['scene_info'] ?? null;
    }

    /** 判断场景信息（MWEB必填）是否存在。 */
    public function IsScene_infoSet()
    {
        return array_key_exists('scene_info', $this->values);
    }

    /** 设置电子发票入口（wxpay 补充，SDK 无此方法）。 */
    public function SetReceipt($value)
    {
        $this->values['receipt'] = $value;
    }

    /** 获取电子发票入口的值。 */
    public function GetReceipt()
    {
        return $this->values['receipt'] ?? null;
    }

    /** 判断电子发票入口是否存在。 */
    public function IsReceiptSet()
    {
        return array_key_exists('receipt', $this->values);
    }

    /** 设置是否需要分账（wxpay 补充，SDK 无此方法）。 */
    public function SetProfit_sharing($value)
    {
        $this->values['profit_sharing'] = $value;
    }

    /** 获取是否需要分账的值。 */
    public function GetProfit_sharing()
    {
        return $this->values['profit_sharing'] ?? null;
    }

    /** 判断是否需要分账是否存在。 */
    public function IsProfit_sharingSet()
    {
        return array_key_exists('profit_sharing', $this->values);
    }
}

/** 订单查询输入对象. */
class WxPayOrderQuery extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\TransactionId;
    use Field\OutTradeNo;
    use Field\NonceStr;
}

/** 关闭订单输入对象. */
class WxPayCloseOrder extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\OutTradeNo;
    use Field\NonceStr;
}

/** 提交退款输入对象. */
class WxPayRefund extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;
    use Field\TransactionId;
    use Field\OutTradeNo;
    use Field\OutRefundNo;
    use Field\TotalFee;
    use Field\NotifyUrl;

    /** 设置退款金额（分）。 */
    public function SetRefund_fee($value)
    {
        $this->values['refund_fee'] = $value;
    }

    /** 获取退款金额（分）的值。 */
    public function GetRefund_fee()
    {
        return $this->values['refund_fee'] ?? null;
    }

    /** 判断退款金额（分）是否存在。 */
    public function IsRefund_feeSet()
    {
        return array_key_exists('refund_fee', $this->values);
    }

    /** 设置退款货币种类。 */
    public function SetRefund_fee_type($value)
    {
        $this->values['refund_fee_type'] = $value;
    }

    /** 获取退款货币种类的值。 */
    public function GetRefund_fee_type()
    {
        return $this->values['refund_fee_type'] ?? null;
    }

    /** 判断退款货币种类是否存在。 */
    public function IsRefund_fee_typeSet()
    {
        return array_key_exists('refund_fee_type', $this->values);
    }

    /** 设置操作员（已废弃，SDK要求）。 */
    public function SetOp_user_id($value)
    {
        $this->values['op_user_id'] = $value;
    }

    /** 获取操作员（已废弃，SDK要求）的值。 */
    public function GetOp_user_id()
    {
        return $this->values['op_user_id'] ?? null;
    }

    /** 判断操作员（已废弃，SDK要求）是否存在。 */
    public function IsOp_user_idSet()
    {
        return array_key_exists('op_user_id', $this->values);
    }

    /** 设置退款原因（wxpay 补充，SDK 无此方法）。 */
    public function SetRefund_desc($value)
    {
        $this->values['refund_desc'] = $value;
    }

    /** 获取退款原因的值。 */
    public function GetRefund_desc()
    {
        return $this->values['refund_desc'] ?? null;
    }

    /** 判断退款原因是否存在。 */
    public function IsRefund_descSet()
    {
        return array_key_exists('refund_desc', $this->values);
    }

    /** 设置退款资金来源（wxpay 补充，SDK 无此方法）。 */
    public function SetRefund_account($value)
    {
        $this->values['refund_account'] = $value;
    }

    /** 获取退款资金来源的值。 */
    public function GetRefund_account()
    {
        return $this->values['refund_account'] ?? null;
    }

    /** 判断退款资金来源是否存在。 */
    public function IsRefund_accountSet()
    {
        return array_key_exists('refund_account', $this->values);
    }
}

/** 退款查询输入对象. */
class WxPayRefundQuery extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;
    use Field\TransactionId;
    use Field\OutTradeNo;
    use Field\OutRefundNo;

    /** 设置微信退款单号。 */
    public function SetRefund_id($value)
    {
        $this->values['refund_id'] = $value;
    }

    /** 获取微信退款单号的值。 */
    public function GetRefund_id()
    {
        return $this->values['refund_id'] ?? null;
    }

    /** 判断微信退款单号是否存在。 */
    public function IsRefund_idSet()
    {
        return array_key_exists('refund_id', $this->values);
    }

    /** 设置偏移量（wxpay 补充，SDK 无此方法）。 */
    public function SetOffset($value)
    {
        $this->values['offset'] = $value;
    }

    /** 获取偏移量的值。 */
    public function GetOffset()
    {
        return $this->values['offset'] ?? null;
    }

    /** 判断偏移量是否存在。 */
    public function IsOffsetSet()
    {
        return array_key_exists('offset', $this->values);
    }
}

/** 下载对账单输入对象. */
class WxPayDownloadBill extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;

    /** 设置对账单日期。 */
    public function SetBill_date($value)
    {
        $this->values['bill_date'] = $value;
    }

    /** 获取对账单日期的值。 */
    public function GetBill_date()
    {
        return $this->values['bill_date'] ?? null;
    }

    /** 判断对账单日期是否存在。 */
    public function IsBill_dateSet()
    {
        return array_key_exists('bill_date', $this->values);
    }

    /** 设置账单类型。 */
    public function SetBill_type($value)
    {
        $this->values['bill_type'] = $value;
    }

    /** 获取账单类型的值。 */
    public function GetBill_type()
    {
        return $this->values['bill_type'] ?? null;
    }

    /** 判断账单类型是否存在。 */
    public function IsBill_typeSet()
    {
        return array_key_exists('bill_type', $this->values);
    }
}

/** 测速上报输入对象. */
class WxPayReport extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;
    use Field\OutTradeNo;

    /** 设置接口URL。 */
    public function SetInterface_url($value)
    {
        $this->values['interface_url'] = $value;
    }

    /** 获取接口URL的值。 */
    public function GetInterface_url()
    {
        return $this->values['interface_url'] ?? null;
    }

    /** 判断接口URL是否存在。 */
    public function IsInterface_urlSet()
    {
        return array_key_exists('interface_url', $this->values);
    }

    /** 设置接口耗时（毫秒）。 */
    public function SetExecute_time_($value)
    {
        $this->values['execute_time_'] = $value;
    }

    /** 获取接口耗时（毫秒）的值。 */
    public function GetExecute_time_()
    {
        return $this->values['execute_time_'] ?? null;
    }

    /** 判断接口耗时（毫秒）是否存在。 */
    public function IsExecute_time_Set()
    {
        return array_key_exists('execute_time_', $this->values);
    }

    /** 设置返回状态码。 */
    public function SetReturn_code($value)
    {
        $this->values['return_code'] = $value;
    }

    /** 获取返回状态码的值。 */
    public function GetReturn_code()
    {
        return $this->values['return_code'] ?? null;
    }

    /** 判断返回状态码是否存在。 */
    public function IsReturn_codeSet()
    {
        return array_key_exists('return_code', $this->values);
    }

    /** 设置返回信息。 */
    public function SetReturn_msg($value)
    {
        $this->values['return_msg'] = $value;
    }

    /** 获取返回信息的值。 */
    public function GetReturn_msg()
    {
        return $this->values['return_msg'] ?? null;
    }

    /** 判断返回信息是否存在。 */
    public function IsReturn_msgSet()
    {
        return array_key_exists('return_msg', $this->values);
    }

    /** 设置业务结果。 */
    public function SetResult_code($value)
    {
        $this->values['result_code'] = $value;
    }

    /** 获取业务结果的值。 */
    public function GetResult_code()
    {
        return $this->values['result_code'] ?? null;
    }

    /** 判断业务结果是否存在。 */
    public function IsResult_codeSet()
    {
        return array_key_exists('result_code', $this->values);
    }

    /** 设置错误代码。 */
    public function SetErr_code($value)
    {
        $this->values['err_code'] = $value;
    }

    /** 获取错误代码的值。 */
    public function GetErr_code()
    {
        return $this->values['err_code'] ?? null;
    }

    /** 判断错误代码是否存在。 */
    public function IsErr_codeSet()
    {
        return array_key_exists('err_code', $this->values);
    }

    /** 设置错误代码描述。 */
    public function SetErr_code_des($value)
    {
        $this->values['err_code_des'] = $value;
    }

    /** 获取错误代码描述的值。 */
    public function GetErr_code_des()
    {
        return $this->values['err_code_des'] ?? null;
    }

    /** 判断错误代码描述是否存在。 */
    public function IsErr_code_desSet()
    {
        return array_key_exists('err_code_des', $this->values);
    }

    /** 设置访问接口IP。 */
    public function SetUser_ip($value)
    {
        $this->values['user_ip'] = $value;
    }

    /** 获取访问接口IP的值。 */
    public function GetUser_ip()
    {
        return $this->values['user_ip'] ?? null;
    }

    /** 判断访问接口IP是否存在。 */
    public function IsUser_ipSet()
    {
        return array_key_exists('user_ip', $this->values);
    }

    /** 设置商户上报时间。 */
    public function SetTime($value)
    {
        $this->values['time'] = $value;
    }

    /** 获取商户上报时间的值。 */
    public function GetTime()
    {
        return $this->values['time'] ?? null;
    }

    /** 判断商户上报时间是否存在。 */
    public function IsTimeSet()
    {
        return array_key_exists('time', $this->values);
    }
}

/** 短链接转换输入对象. */
class WxPayShortUrl extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\NonceStr;

    /** 设置URL链接。 */
    public function SetLong_url($value)
    {
        $this->values['long_url'] = $value;
    }

    /** 获取URL链接的值。 */
    public function GetLong_url()
    {
        return $this->values['long_url'] ?? null;
    }

    /** 判断URL链接是否存在。 */
    public function IsLong_urlSet()
    {
        return array_key_exists('long_url', $this->values);
    }
}

/** 提交被扫输入对象. */
class WxPayMicroPay extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\DeviceInfo;
    use Field\NonceStr;
    use Field\Body;
    use Field\Detail;
    use Field\Attach;
    use Field\OutTradeNo;
    use Field\TotalFee;
    use Field\FeeType;
    use Field\SpbillCreateIp;
    use Field\TimeStart;
    use Field\TimeExpire;
    use Field\GoodsTag;

    /** 设置授权码（付款码）。 */
    public function SetAuth_code($value)
    {
        $this->values['auth_code'] = $value;
    }

    /** 获取授权码（付款码）的值。 */
    public function GetAuth_code()
    {
        return $this->values['auth_code'] ?? null;
    }

    /** 判断授权码（付款码）是否存在。 */
    public function IsAuth_codeSet()
    {
        return array_key_exists('auth_code', $this->values);
    }
}

/** 撤销订单输入对象. */
class WxPayReverse extends WxPayDataBase
{
    use Field\Appid;
    use Field\MchId;
    use Field\TransactionId;
    use Field\OutTradeNo;
    use Field\NonceStr;
}

/** 扫码支付模式一生成二维码参数. */
class WxPayBizPayUrl extends WxPayDataBaseSignMd5
{
    use Field\Appid;
    use Field\MchId;
    use Field\NonceStr;
    use Field\ProductId;

    /** 设置时间戳。 */
    public function SetTime_stamp($value)
    {
        $this->values['time_stamp'] = $value;
    }

    /** 获取时间戳的值。 */
    public function GetTime_stamp()
    {
        return $this->values['time_stamp'] ?? null;
    }

    /** 判断时间戳是否存在。 */
    public function IsTime_stampSet()
    {
        return array_key_exists('time_stamp', $this->values);
    }
}

/**
 * 提交JSAPI输入对象: the parameters of WeixinJSBridge getBrandWCPayRequest. MakeSign()
 * fills signType (the config's, which must be the unified order's) and signs
 * appId, timeStamp, nonceStr, package, signType.
 */
class WxPayJsApiPay extends WxPayDataBase
{
    /** 设置公众账号ID (appId). */
    public function SetAppid($value)
    {
        $this->values['appId'] = $value;
    }

    /** 获取公众账号ID. */
    public function GetAppid()
    {
        return $this->values['appId'] ?? null;
    }

    /** 判断公众账号ID是否存在. */
    public function IsAppidSet()
    {
        return array_key_exists('appId', $this->values);
    }

    /** 设置支付时间戳 (timeStamp, Unix seconds as a string). */
    public function SetTimeStamp($value)
    {
        $this->values['timeStamp'] = $value;
    }

    /** 获取支付时间戳. */
    public function GetTimeStamp()
    {
        return $this->values['timeStamp'] ?? null;
    }

    /** 判断支付时间戳是否存在. */
    public function IsTimeStampSet()
    {
        return array_key_exists('timeStamp', $this->values);
    }

    /** 设置随机字符串 (nonceStr). */
    public function SetNonceStr($value)
    {
        $this->values['nonceStr'] = $value;
    }

    /** 获取随机字符串 (wxpay addition; the SDK's getter is the misnamed GetReturn_code()). */
    public function GetNonceStr()
    {
        return $this->values['nonceStr'] ?? null;
    }

    /** 判断随机字符串是否存在 (wxpay addition). */
    public function IsNonceStrSet()
    {
        return array_key_exists('nonceStr', $this->values);
    }

    /** 获取随机字符串: the SDK's name for it, kept for compatibility. */
    public function GetReturn_code()
    {
        return $this->GetNonceStr();
    }

    /** 判断随机字符串是否存在: the SDK's name for it, kept for compatibility. */
    public function IsReturn_codeSet()
    {
        return $this->IsNonceStrSet();
    }

    /** 设置订单详情扩展字符串 (package = "prepay_id=…"). */
    public function SetPackage($value)
    {
        $this->values['package'] = $value;
    }

    /** 获取订单详情扩展字符串. */
    public function GetPackage()
    {
        return $this->values['package'] ?? null;
    }

    /** 判断订单详情扩展字符串是否存在. */
    public function IsPackageSet()
    {
        return array_key_exists('package', $this->values);
    }

    /** 设置签名方式 (signType). */
    public function SetSignType($value)
    {
        $this->values['signType'] = $value;
        return $value;
    }

    /** 获取签名方式. */
    public function GetSignType()
    {
        return $this->values['signType'] ?? null;
    }

    /** 判断签名方式是否存在. */
    public function IsSignTypeSet()
    {
        return array_key_exists('signType', $this->values);
    }

    /** 设置签名 (paySign). */
    public function SetPaySign($value)
    {
        $this->values['paySign'] = $value;
    }

    /** 获取签名. */
    public function GetPaySign()
    {
        return $this->values['paySign'] ?? null;
    }

    /** 判断签名是否存在. */
    public function IsPaySignSet()
    {
        return array_key_exists('paySign', $this->values);
    }

    /** paySign is never part of what it signs. */
    public function MakeSign($config, $needSignType = true)
    {
        $signType = Bridge::signType($config);
        if ($needSignType) {
            $this->SetSignType($signType);
        }
        $values = $this->values;
        unset($values['paySign']);
        ksort($this->values, SORT_STRING);
        return Bridge::sign($values, $config, $signType);
    }
}
