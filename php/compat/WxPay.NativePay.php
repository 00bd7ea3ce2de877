<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: the NativePay example
 * helper (example/WxPay.NativePay.php): QR code links for native (scan) payment.
 *
 * As the SDK's, it uses the shop's `WxPayConfig` class unless a config object is given to
 * the constructor (wxpay addition). QR images: WxPay\Qr::svg()/png() of the link.
 */

require_once __DIR__ . '/WxPay.Api.php';

/**
 * 扫码支付实现类.
 */
class NativePay
{
    /** The WxPayException GetPayUrl() swallowed, as the SDK returned false (wxpay addition). */
    public $lastError = null;

    /** @var WxPayConfigInterface|null */
    private $config;

    /** @param WxPayConfigInterface|null $config default: new WxPayConfig() (wxpay addition) */
    public function __construct($config = null)
    {
        $this->config = $config;
    }

    /**
     * 生成扫描支付URL，模式一: weixin://wxpay/bizpayurl?… for a product, MD5-signed, no
     * network. Errors throw (the SDK logged them and returned a broken link).
     *
     * @param string $productId
     * @return string
     * @throws WxPayException
     */
    public function GetPrePayUrl($productId)
    {
        $biz = new WxPayBizPayUrl();
        $biz->SetProduct_id($productId);
        $values = WxPayApi::bizpayurl($this->config(), $biz);
        return 'weixin://wxpay/bizpayurl?' . $this->ToUrlParams($values);
    }

    /**
     * 生成直接支付url，模式二: the unified order's answer (code_url, valid 2 h) for a NATIVE
     * WxPayUnifiedOrder; false for another trade_type or when the call threw (the exception
     * is kept in $lastError).
     *
     * @param WxPayUnifiedOrder $input
     * @return array<string, string>|false
     */
    public function GetPayUrl($input)
    {
        $this->lastError = null;
        if ($input->GetTrade_type() == 'NATIVE') {
            try {
                return WxPayApi::unifiedOrder($this->config(), $input);
            } catch (Exception $e) {
                $this->lastError = $e;
            }
        }
        return false;
    }

    /** k=v&… of every entry, raw. */
    private function ToUrlParams($urlObj)
    {
        $pairs = [];
        foreach ($urlObj as $k => $v) {
            $pairs[] = $k . '=' . $v;
        }
        return implode('&', $pairs);
    }

    /** @return WxPayConfigInterface */
    private function config()
    {
        return $this->config ??= \WxPay\Compat\Bridge::shopConfig();
    }
}
