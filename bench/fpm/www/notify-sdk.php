<?php

/**
 * bench-fpm notify endpoint, the official SDK 3.0.x's WxPayNotify flow (Handle →
 * WxPayNotifyResults::Init → NotifyProcess → ReplyNotify), loaded from BENCH_SDK_LIB (the
 * SDK's lib/ directory, given to `make bench-fpm SDK=…`; it is not part of this repository),
 * then the same order update.
 */

declare(strict_types=1);

require __DIR__ . '/common.php';
require bench_env('BENCH_SDK_LIB') . '/WxPay.Api.php';
require bench_env('BENCH_SDK_LIB') . '/WxPay.Notify.php';

final class BenchSdkConfig extends WxPayConfigInterface
{
    public function GetAppId()
    {
        return bench_env('WXPAY_APPID');
    }

    public function GetMerchantId()
    {
        return bench_env('WXPAY_MCH_ID');
    }

    public function GetNotifyUrl()
    {
        return '';
    }

    public function GetSignType()
    {
        return 'MD5';
    }

    public function GetProxy(&$proxyHost, &$proxyPort)
    {
        $proxyHost = '0.0.0.0';
        $proxyPort = 0;
    }

    public function GetReportLevenl()
    {
        return 0;
    }

    public function GetReportLevel()
    {
        return 0;
    }

    public function GetKey()
    {
        return bench_env('WXPAY_KEY');
    }

    public function GetAppSecret()
    {
        return '';
    }

    public function GetSSLCertPath(&$sslCertPath, &$sslKeyPath)
    {
        $sslCertPath = '';
        $sslKeyPath = '';
    }
}

final class BenchSdkNotify extends WxPayNotify
{
    public function NotifyProcess($objData, $config, &$msg)
    {
        $n = $objData->GetValues();
        if (($n['appid'] ?? '') !== $config->GetAppId() || ($n['mch_id'] ?? '') !== $config->GetMerchantId()) {
            $msg = 'not ours';
            return false;
        }
        if (($n['result_code'] ?? '') !== 'SUCCESS') {
            return true;
        }
        return bench_mark_paid($n['out_trade_no'] ?? '', $n['total_fee'] ?? '', $n['transaction_id'] ?? '');
    }
}

$GLOBALS['HTTP_RAW_POST_DATA'] = (string) file_get_contents('php://input');
(new BenchSdkNotify())->Handle(new BenchSdkConfig(), false);
