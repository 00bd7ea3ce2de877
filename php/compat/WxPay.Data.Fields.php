<?php

/**
 * wxpay compatibility layer: the request fields that several WxPay.Data.php classes carry,
 * one trait per field with the SDK's Set…/Get…/Is…Set accessors. Explicit methods (no
 * __call), so that method_exists() and reflection see each class's accessors as the SDK's.
 * For WxPayDataBase subclasses only (they use $this->values); not part of the SDK's surface,
 * shops use the classes. A field only one class carries stays in that class.
 */

namespace WxPay\Compat\Field;

/** 公众账号ID (appid). */
trait Appid
{
    /** 设置公众账号ID。 */
    public function SetAppid($value)
    {
        $this->values['appid'] = $value;
    }

    /** 获取公众账号ID的值。 */
    public function GetAppid()
    {
        return $this->values['appid'] ?? null;
    }

    /** 判断公众账号ID是否存在。 */
    public function IsAppidSet()
    {
        return array_key_exists('appid', $this->values);
    }
}

/** 商户号 (mch_id). */
trait MchId
{
    /** 设置商户号。 */
    public function SetMch_id($value)
    {
        $this->values['mch_id'] = $value;
    }

    /** 获取商户号的值。 */
    public function GetMch_id()
    {
        return $this->values['mch_id'] ?? null;
    }

    /** 判断商户号是否存在。 */
    public function IsMch_idSet()
    {
        return array_key_exists('mch_id', $this->values);
    }
}

/** 设备号 (device_info). */
trait DeviceInfo
{
    /** 设置设备号。 */
    public function SetDevice_info($value)
    {
        $this->values['device_info'] = $value;
    }

    /** 获取设备号的值。 */
    public function GetDevice_info()
    {
        return $this->values['device_info'] ?? null;
    }

    /** 判断设备号是否存在。 */
    public function IsDevice_infoSet()
    {
        return array_key_exists('device_info', $this->values);
    }
}

/** 随机字符串 (nonce_str). */
trait NonceStr
{
    /** 设置随机字符串。 */
    public function SetNonce_str($value)
    {
        $this->values['nonce_str'] = $value;
    }

    /** 获取随机字符串的值。 */
    public function GetNonce_str()
    {
        return $this->values['nonce_str'] ?? null;
    }

    /** 判断随机字符串是否存在。 */
    public function IsNonce_strSet()
    {
        return array_key_exists('nonce_str', $this->values);
    }
}

/** 商品描述 (body). */
trait Body
{
    /** 设置商品描述。 */
    public function SetBody($value)
    {
        $this->values['body'] = $value;
    }

    /** 获取商品描述的值。 */
    public function GetBody()
    {
        return $this->values['body'] ?? null;
    }

    /** 判断商品描述是否存在。 */
    public function IsBodySet()
    {
        return array_key_exists('body', $this->values);
    }
}

/** 商品详情 (detail). */
trait Detail
{
    /** 设置商品详情。 */
    public function SetDetail($value)
    {
        $this->values['detail'] = $value;
    }

    /** 获取商品详情的值。 */
    public function GetDetail()
    {
        return $this->values['detail'] ?? null;
    }

    /** 判断商品详情是否存在。 */
    public function IsDetailSet()
    {
        return array_key_exists('detail', $this->values);
    }
}

/** 附加数据 (attach). */
trait Attach
{
    /** 设置附加数据。 */
    public function SetAttach($value)
    {
        $this->values['attach'] = $value;
    }

    /** 获取附加数据的值。 */
    public function GetAttach()
    {
        return $this->values['attach'] ?? null;
    }

    /** 判断附加数据是否存在。 */
    public function IsAttachSet()
    {
        return array_key_exists('attach', $this->values);
    }
}

/** 商户订单号 (out_trade_no). */
trait OutTradeNo
{
    /** 设置商户订单号。 */
    public function SetOut_trade_no($value)
    {
        $this->values['out_trade_no'] = $value;
    }

    /** 获取商户订单号的值。 */
    public function GetOut_trade_no()
    {
        return $this->values['out_trade_no'] ?? null;
    }

    /** 判断商户订单号是否存在。 */
    public function IsOut_trade_noSet()
    {
        return array_key_exists('out_trade_no', $this->values);
    }
}

/** 货币类型 (fee_type). */
trait FeeType
{
    /** 设置货币类型。 */
    public function SetFee_type($value)
    {
        $this->values['fee_type'] = $value;
    }

    /** 获取货币类型的值。 */
    public function GetFee_type()
    {
        return $this->values['fee_type'] ?? null;
    }

    /** 判断货币类型是否存在。 */
    public function IsFee_typeSet()
    {
        return array_key_exists('fee_type', $this->values);
    }
}

/** 订单总金额（分） (total_fee). */
trait TotalFee
{
    /** 设置订单总金额（分）。 */
    public function SetTotal_fee($value)
    {
        $this->values['total_fee'] = $value;
    }

    /** 获取订单总金额（分）的值。 */
    public function GetTotal_fee()
    {
        return $this->values['total_fee'] ?? null;
    }

    /** 判断订单总金额（分）是否存在。 */
    public function IsTotal_feeSet()
    {
        return array_key_exists('total_fee', $this->values);
    }
}

/** 终端IP (spbill_create_ip). */
trait SpbillCreateIp
{
    /** 设置终端IP。 */
    public function SetSpbill_create_ip($value)
    {
        $this->values['spbill_create_ip'] = $value;
    }

    /** 获取终端IP的值。 */
    public function GetSpbill_create_ip()
    {
        return $this->values['spbill_create_ip'] ?? null;
    }

    /** 判断终端IP是否存在。 */
    public function IsSpbill_create_ipSet()
    {
        return array_key_exists('spbill_create_ip', $this->values);
    }
}

/** 交易起始时间 (time_start). */
trait TimeStart
{
    /** 设置交易起始时间。 */
    public function SetTime_start($value)
    {
        $this->values['time_start'] = $value;
    }

    /** 获取交易起始时间的值。 */
    public function GetTime_start()
    {
        return $this->values['time_start'] ?? null;
    }

    /** 判断交易起始时间是否存在。 */
    public function IsTime_startSet()
    {
        return array_key_exists('time_start', $this->values);
    }
}

/** 交易结束时间 (time_expire). */
trait TimeExpire
{
    /** 设置交易结束时间。 */
    public function SetTime_expire($value)
    {
        $this->values['time_expire'] = $value;
    }

    /** 获取交易结束时间的值。 */
    public function GetTime_expire()
    {
        return $this->values['time_expire'] ?? null;
    }

    /** 判断交易结束时间是否存在。 */
    public function IsTime_expireSet()
    {
        return array_key_exists('time_expire', $this->values);
    }
}

/** 订单优惠标记 (goods_tag). */
trait GoodsTag
{
    /** 设置订单优惠标记。 */
    public function SetGoods_tag($value)
    {
        $this->values['goods_tag'] = $value;
    }

    /** 获取订单优惠标记的值。 */
    public function GetGoods_tag()
    {
        return $this->values['goods_tag'] ?? null;
    }

    /** 判断订单优惠标记是否存在。 */
    public function IsGoods_tagSet()
    {
        return array_key_exists('goods_tag', $this->values);
    }
}

/** 通知地址 (notify_url): 支付结果 (WxPayUnifiedOrder) 或退款结果 (WxPayRefund) 的通知地址. */
trait NotifyUrl
{
    /**
     * 设置通知地址: WxPayUnifiedOrder 的支付结果通知地址；WxPayRefund 的退款结果通知地址
     * （WxPayRefund 上为 wxpay 补充，SDK 无此方法）。
     */
    public function SetNotify_url($value)
    {
        $this->values['notify_url'] = $value;
    }

    /** 获取通知地址的值。 */
    public function GetNotify_url()
    {
        return $this->values['notify_url'] ?? null;
    }

    /** 判断通知地址是否存在。 */
    public function IsNotify_urlSet()
    {
        return array_key_exists('notify_url', $this->values);
    }
}

/** 商品ID (product_id). */
trait ProductId
{
    /** 设置商品ID。 */
    public function SetProduct_id($value)
    {
        $this->values['product_id'] = $value;
    }

    /** 获取商品ID的值。 */
    public function GetProduct_id()
    {
        return $this->values['product_id'] ?? null;
    }

    /** 判断商品ID是否存在。 */
    public function IsProduct_idSet()
    {
        return array_key_exists('product_id', $this->values);
    }
}

/** 微信订单号 (transaction_id). */
trait TransactionId
{
    /** 设置微信订单号。 */
    public function SetTransaction_id($value)
    {
        $this->values['transaction_id'] = $value;
    }

    /** 获取微信订单号的值。 */
    public function GetTransaction_id()
    {
        return $this->values['transaction_id'] ?? null;
    }

    /** 判断微信订单号是否存在。 */
    public function IsTransaction_idSet()
    {
        return array_key_exists('transaction_id', $this->values);
    }
}

/** 商户退款单号 (out_refund_no). */
trait OutRefundNo
{
    /** 设置商户退款单号。 */
    public function SetOut_refund_no($value)
    {
        $this->values['out_refund_no'] = $value;
    }

    /** 获取商户退款单号的值。 */
    public function GetOut_refund_no()
    {
        return $this->values['out_refund_no'] ?? null;
    }

    /** 判断商户退款单号是否存在。 */
    public function IsOut_refund_noSet()
    {
        return array_key_exists('out_refund_no', $this->values);
    }
}
