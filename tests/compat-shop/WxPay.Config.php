<?php

/**
 * The test shop's configuration, written the SDK 3.0.x way (a copy of example/WxPay.Config.php
 * with the merchant's values). The values come from the environment so that the tests can
 * point it at wxpay-mock; GetBaseUrl()/GetCaPath() are the two optional methods the compat
 * layer honours.
 */

require_once __DIR__ . '/wxpay-compat/WxPay.Config.Interface.php';

class WxPayConfig extends WxPayConfigInterface
{
    public function GetAppId()
    {
        return getenv('SHOP_APPID');
    }

    public function GetMerchantId()
    {
        return getenv('SHOP_MCH_ID');
    }

    public function GetNotifyUrl()
    {
        return (string) getenv('SHOP_NOTIFY_URL');
    }

    public function GetSignType()
    {
        return getenv('SHOP_SIGN_TYPE') ?: 'HMAC-SHA256';
    }

    public function GetProxy(&$proxyHost, &$proxyPort)
    {
        $proxyHost = '0.0.0.0';
        $proxyPort = 0;
    }

    public function GetReportLevenl()
    {
        return 1;
    }

    public function GetKey()
    {
        return getenv('SHOP_KEY');
    }

    public function GetAppSecret()
    {
        return 'not-used-in-tests';
    }

    public function GetSSLCertPath(&$sslCertPath, &$sslKeyPath)
    {
        $sslCertPath = getenv('SHOP_CERT');
        $sslKeyPath = getenv('SHOP_CERT_KEY');
    }

    public function GetBaseUrl()
    {
        return getenv('SHOP_BASE_URL');
    }

    public function GetCaPath()
    {
        return getenv('SHOP_CA');
    }
}
