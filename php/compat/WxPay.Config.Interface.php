<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: the configuration base
 * class a shop extends (usually in its own WxPay.Config.php as `class WxPayConfig`).
 *
 * Methods and signatures are the SDK's (no type declarations, so the shop's overrides stay
 * compatible). Optional methods the SDK does not have are honoured when the shop's class
 * defines them:
 *
 * - GetBaseUrl(): string  — another API host, e.g. the wxpay-mock simulator's URL;
 * - GetCaPath(): string   — an extra trusted CA (PEM) for that host.
 *
 * GetReportLevenl() (sic, the SDK's spelling) is not abstract here: some SDK copies spell it
 * GetReportLevel(), and the compat layer sends no automatic reports anyway (see README.md).
 */

abstract class WxPayConfigInterface
{
    /** The appid bound to the merchant. */
    abstract public function GetAppId();

    /** The merchant id (mch_id). */
    abstract public function GetMerchantId();

    /** Default notify_url for unified orders; "" for none. */
    abstract public function GetNotifyUrl();

    /**
     * "MD5" or "HMAC-SHA256": used to sign requests AND, pinned, to verify every
     * response and notify (the SDK guessed the type from the received sign's length).
     */
    abstract public function GetSignType();

    /**
     * An HTTP proxy; "0.0.0.0" and 0 mean none. wxpay does not support proxies yet: a
     * configured proxy makes every network call throw instead of silently bypassing it.
     */
    abstract public function GetProxy(&$proxyHost, &$proxyPort);

    /**
     * 0 none, 1 failures only, 2 all. Kept for compatibility: the compat layer sends no
     * automatic payitil/report (the SDK's own automatic report never passed its
     * user_ip check, so it never reached WeChat either).
     */
    public function GetReportLevenl()
    {
        return method_exists($this, 'GetReportLevel') ? $this->GetReportLevel() : 0;
    }

    /** The API key (32 characters). */
    abstract public function GetKey();

    /** The Official Account's AppSecret (JSAPI openid through OAuth only). */
    abstract public function GetAppSecret();

    /** PEM paths of the merchant API certificate and key (refund, reverse). */
    abstract public function GetSSLCertPath(&$sslCertPath, &$sslKeyPath);
}
