<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: WxPayException.
 *
 * As in the SDK, the one exception every compat call throws. When the wxpay extension refused
 * something, the original wxpay exception (a WxPay\ExceptionInterface, with its own class and details) is getPrevious().
 */

class WxPayException extends Exception
{
    /** The SDK's accessor for the message. */
    public function errorMessage()
    {
        return $this->getMessage();
    }
}
