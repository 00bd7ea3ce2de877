<?php

/**
 * wxpay compatibility layer for the official WeChat Pay PHP SDK 3.0.x: the MicroPay example
 * helper (example/WxPay.MicroPay.php): pay by the user's payment code, then confirm by
 * querying, and reverse when the outcome stays unknown.
 *
 * Differences from the SDK's example, each fixing a bug of it: the query loop stops after
 * 10 queries (the SDK's never counted down, so a payment stuck in USERPAYING looped
 * forever); a reverse counts as done when its result_code is SUCCESS (the SDK had it the wrong
 * way round: a refused reverse counted as done, a successful one threw 撤销单失败！); BANKERROR is an unknown outcome like
 * SYSTEMERROR and USERPAYING (docs/protocol.md §3.6 says to query), not a definite failure; nothing is
 * echoed.
 */

require_once __DIR__ . '/WxPay.Api.php';

/**
 * 刷卡支付实现类.
 */
class MicroPay
{
    /** Seconds between two order queries while the user is paying (wxpay addition; SDK: 2). */
    public $queryInterval = 2;

    /** @var WxPayConfigInterface|null */
    private $config;

    /** @param WxPayConfigInterface|null $config default: new WxPayConfig() (wxpay addition) */
    public function __construct($config = null)
    {
        $this->config = $config;
    }

    /**
     * 提交刷卡支付，并且确认结果: the orderquery answer when paid; false when the payment
     * definitely failed or was reversed.
     *
     * @param WxPayMicroPay $microPayInput
     * @return array<string, string>|false
     * @throws WxPayException 接口调用失败！ / 撤销单失败！
     */
    public function pay($microPayInput)
    {
        $result = WxPayApi::micropay($this->config(), $microPayInput, 5);
        if (!array_key_exists('return_code', $result) || !array_key_exists('result_code', $result)) {
            throw new WxPayException('接口调用失败！');
        }
        $out_trade_no = $microPayInput->GetOut_trade_no();

        if ($result['return_code'] == 'SUCCESS' && $result['result_code'] == 'SUCCESS') {
            return $result;
        }
        $unknown = ['USERPAYING', 'SYSTEMERROR', 'BANKERROR'];
        if (
            $result['return_code'] == 'SUCCESS'
            && $result['result_code'] == 'FAIL'
            && !in_array($result['err_code'] ?? '', $unknown, true)
        ) {
            return false;
        }

        for ($queryTimes = 10; $queryTimes > 0; $queryTimes--) {
            $succResult = 0;
            $queryResult = $this->query($out_trade_no, $succResult);
            if ($succResult == 2) {
                usleep((int) round((float) $this->queryInterval * 1e6));
                continue;
            } elseif ($succResult == 1) {
                return $queryResult;
            }
            break;
        }

        if (!$this->cancel($out_trade_no)) {
            throw new WxPayException('撤销单失败！');
        }
        return false;
    }

    /**
     * 查询订单情况.
     *
     * @param string $out_trade_no
     * @param int $succCode 0 订单不成功，1 订单成功，2 继续等待
     * @return array<string, string>|false the answer when paid
     */
    public function query($out_trade_no, &$succCode)
    {
        $queryOrderInput = new WxPayOrderQuery();
        $queryOrderInput->SetOut_trade_no($out_trade_no);
        try {
            $result = WxPayApi::orderQuery($this->config(), $queryOrderInput);
        } catch (Exception $e) {
            // Unknown (timeout …): keep waiting.
            $succCode = 2;
            return false;
        }
        if (($result['return_code'] ?? '') == 'SUCCESS' && ($result['result_code'] ?? '') == 'SUCCESS') {
            if (($result['trade_state'] ?? '') == 'SUCCESS') {
                $succCode = 1;
                return $result;
            } elseif (($result['trade_state'] ?? '') == 'USERPAYING') {
                $succCode = 2;
                return false;
            }
        }
        if (($result['err_code'] ?? '') == 'ORDERNOTEXIST') {
            $succCode = 0;
        } else {
            $succCode = 2;
        }
        return false;
    }

    /**
     * 撤销订单，如果失败会重复调用10次: true when reversed.
     *
     * @param string $out_trade_no
     * @param int $depth 调用深度
     * @return bool
     */
    public function cancel($out_trade_no, $depth = 0)
    {
        if ($depth > 10) {
            return false;
        }
        $reverse = new WxPayReverse();
        $reverse->SetOut_trade_no($out_trade_no);
        try {
            $result = WxPayApi::reverse($this->config(), $reverse);
        } catch (Exception $e) {
            return false;
        }
        if (($result['return_code'] ?? '') != 'SUCCESS') {
            return false;
        }
        if (($result['recall'] ?? '') == 'Y') {
            return $this->cancel($out_trade_no, ++$depth);
        }
        // The SDK took result_code FAIL with recall N (a definite refusal) for reversed, and
        // SUCCESS (reversed) for a failure: reversed means result_code SUCCESS.
        return ($result['result_code'] ?? '') == 'SUCCESS';
    }

    /** @return WxPayConfigInterface */
    private function config()
    {
        return $this->config ??= \WxPay\Compat\Bridge::shopConfig();
    }
}
