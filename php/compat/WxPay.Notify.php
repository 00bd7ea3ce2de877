<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: WxPayNotify, the base
 * class of a shop's notify endpoint (payment notifies, native mode-1 scan callbacks).
 *
 * A shop subclasses it, overrides NotifyProcess(), and calls Handle($config, $needSign). The
 * notify reaching NotifyProcess() has been verified — strict XML (no DOCTYPE/entities), the
 * config's sign type pinned (a notify signed with the other type, or declaring it, is
 * refused), constant-time comparison, appid/mch_id of the config — so a forged or downgraded
 * notify is answered FAIL without the shop's code seeing it.
 */

require_once __DIR__ . '/WxPay.Api.php';

/**
 * 回调基础类.
 */
class WxPayNotify extends WxPayNotifyReply
{
    private $config = null;

    /** Whether NotifyCallBack() ran for the current Handle(). */
    private $processed = false;

    /**
     * 回调入口: reads and verifies the notify, runs NotifyProcess() through NotifyCallBack(),
     * and echoes the reply XML (MD5-signed when $needSign and SUCCESS, as the SDK).
     *
     * @param WxPayConfigInterface $config
     * @param bool $needSign 是否需要签名返回 (true for the mode-1 scan callback)
     * @param string|null $body the raw body instead of php://input (wxpay addition)
     */
    final public function Handle($config, $needSign = true, $body = null)
    {
        $this->config = $config;
        $this->processed = false;
        $msg = 'OK';
        $result = WxPayApi::notify($config, [$this, 'NotifyCallBack'], $msg, $body);
        if ($result == false) {
            $this->SetReturn_code('FAIL');
            // The SDK replaced NotifyProcess()'s $msg with "OK" here; it is kept.
            $this->SetReturn_msg($this->processed ? $this->GetReturn_msg() : $msg);
            $this->ReplyNotify(false);
            return;
        }
        $this->SetReturn_code('SUCCESS');
        $this->SetReturn_msg('OK');
        $this->ReplyNotify($needSign);
    }

    /**
     * 回调方法入口，子类重写该方法: check the data, process the business, return true (done)
     * or false with $msg (WeChat retries). Reply within 2 s; be idempotent (retries, and
     * concurrent deliveries of one notify, happen). Check total_fee against your own order.
     *
     * @param WxPayNotifyResults $objData the verified notify
     * @param WxPayConfigInterface $config
     * @param string $msg the failure reason to reply with
     * @return bool
     */
    public function NotifyProcess($objData, $config, &$msg)
    {
        return false;
    }

    /**
     * Called with the reply XML before it is sent; override it to log.
     *
     * @param string $xmlData
     */
    public function LogAfterProcess($xmlData)
    {
        return;
    }

    /**
     * notify回调方法: calls NotifyProcess() and sets the reply's return_code/return_msg.
     *
     * @param WxPayNotifyResults $data
     * @return bool
     */
    final public function NotifyCallBack($data)
    {
        $msg = 'OK';
        $this->processed = true;
        $result = $this->NotifyProcess($data, $this->config, $msg);
        if ($result == true) {
            $this->SetReturn_code('SUCCESS');
            $this->SetReturn_msg('OK');
        } else {
            $this->SetReturn_code('FAIL');
            $this->SetReturn_msg($msg);
        }
        return $result;
    }

    /**
     * 回复通知 (the SDK's is `final private`, which PHP 8 warns about; protected here).
     *
     * @param bool $needSign 是否需要签名输出
     */
    final protected function ReplyNotify($needSign = true)
    {
        if ($needSign == true && $this->GetReturn_code() == 'SUCCESS') {
            $this->SetSign($this->config);
        }
        $xml = $this->ToXml();
        $this->LogAfterProcess($xml);
        WxPayApi::replyNotify($xml);
    }
}
