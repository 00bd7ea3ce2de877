<?php

/**
 * A WxPayConfigInterface for the in-process compat tests: values given to the constructor.
 * base_url defaults to a loopback port nobody listens on, so that no test can reach WeChat.
 */

require_once __DIR__ . '/wxpay-compat/WxPay.Config.Interface.php';

class WxPayTestConfig extends WxPayConfigInterface
{
    /** @var array<string, mixed> */
    public array $values;

    /** @param array<string, mixed> $values */
    public function __construct(array $values = [])
    {
        $this->values = $values + [
            'appid' => 'wxd930ea5d5a258f4f',
            'mch_id' => '10000100',
            'key' => '192006250b4c09247ec02edce69f6a2d',
            'sign_type' => 'MD5',
            'notify_url' => '',
            'cert' => '',
            'cert_key' => '',
            'base_url' => 'https://127.0.0.1:9',
            'ca' => '',
            'proxy_host' => '0.0.0.0',
            'proxy_port' => 0,
        ];
    }

    public function GetAppId()
    {
        return $this->values['appid'];
    }

    public function GetMerchantId()
    {
        return $this->values['mch_id'];
    }

    public function GetNotifyUrl()
    {
        return $this->values['notify_url'];
    }

    public function GetSignType()
    {
        return $this->values['sign_type'];
    }

    public function GetProxy(&$proxyHost, &$proxyPort)
    {
        $proxyHost = $this->values['proxy_host'];
        $proxyPort = $this->values['proxy_port'];
    }

    public function GetKey()
    {
        return $this->values['key'];
    }

    public function GetAppSecret()
    {
        return '';
    }

    public function GetSSLCertPath(&$sslCertPath, &$sslKeyPath)
    {
        $sslCertPath = $this->values['cert'];
        $sslKeyPath = $this->values['cert_key'];
    }

    public function GetBaseUrl()
    {
        return $this->values['base_url'];
    }

    public function GetCaPath()
    {
        return $this->values['ca'];
    }
}
