<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Tests\Support\UsesMock;

require_once __DIR__ . '/../php/compat/WxPay.Api.php';
require_once __DIR__ . '/../php/compat/WxPay.MicroPay.php';
require_once __DIR__ . '/../php/compat/WxPay.NativePay.php';
require_once __DIR__ . '/compat-shop/TestConfig.php';

/**
 * WxPayApi and the MicroPay/NativePay helpers in process against wxpay-mock: the SDK's calls
 * and conventions, failures as WxPayException, one reused Client per config object.
 */
final class CompatApiTest extends TestCase
{
    use UsesMock;

    private \WxPayTestConfig $config;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->config = $this->config();
    }

    /** @param array<string, mixed> $extra */
    private function config(array $extra = []): \WxPayTestConfig
    {
        return new \WxPayTestConfig($extra + [
            'appid' => $this->mock->appid,
            'mch_id' => $this->mock->mchId,
            'key' => $this->mock->apiKey,
            'sign_type' => 'MD5',
            'notify_url' => 'http://127.0.0.1:9/notify.php',
            'base_url' => $this->mock->url,
            'ca' => $this->mock->ca,
            'cert' => $this->mock->cert,
            'cert_key' => $this->mock->key,
        ]);
    }

    private function order(string $no, int $fee = 10): \WxPayUnifiedOrder
    {
        $input = new \WxPayUnifiedOrder();
        $input->SetBody('compat');
        $input->SetOut_trade_no($no);
        $input->SetTotal_fee($fee);
        $input->SetTrade_type('NATIVE');
        $input->SetProduct_id('sku-1');
        return $input;
    }

    private function micro(string $no, string $last4): \WxPayMicroPay
    {
        $input = new \WxPayMicroPay();
        $input->SetBody('pos');
        $input->SetOut_trade_no($no);
        $input->SetTotal_fee(5);
        $input->SetAuth_code(self::authCode($last4));
        return $input;
    }

    public function testOneClientPerConfigObjectAndTimeout(): void
    {
        $no = self::newNo('A');
        $input = $this->order($no);
        $answer = \WxPayApi::unifiedOrder($this->config, $input);
        $this->assertSame('SUCCESS', $answer['result_code']);
        $this->assertTrue(Signer::verify($answer, $this->mock->apiKey, 'MD5'));
        // The SDK sets appid and mch_id on the input object.
        $this->assertSame($this->mock->appid, $input->GetAppid());
        $this->assertSame($this->mock->mchId, $input->GetMch_id());

        $clients = (new \ReflectionClass(\WxPay\Compat\Bridge::class))->getProperty('clients');
        $map = $clients->getValue();
        $query = new \WxPayOrderQuery();
        $query->SetOut_trade_no($no);
        \WxPayApi::orderQuery($this->config, $query);
        \WxPayApi::closeOrder($this->config, (static function () use ($no) {
            $c = new \WxPayCloseOrder();
            $c->SetOut_trade_no($no);
            return $c;
        })());
        $this->assertCount(1, $map[$this->config], 'one Client for every 6 s call of this config');
        $first = $map[$this->config]['6.000'];
        \WxPayApi::orderQuery($this->config, $query, 3);
        $this->assertCount(2, $map[$this->config], 'another timeout, another Client');
        $this->assertSame($first, $map[$this->config]['6.000']);
        $before = $this->mock->stats();
        for ($i = 0; $i < 4; $i++) {
            \WxPayApi::orderQuery($this->config, $query);
        }
        $this->assertSame(0, $this->mock->stats()['tls_connections'] - $before['tls_connections'], 'pooled');
    }

    public function testCallsCoverTheSdkSurface(): void
    {
        $no = self::newNo('A');
        \WxPayApi::unifiedOrder($this->config, $this->order($no, 100));
        $this->mock->pay($no);

        $refund = new \WxPayRefund();
        $refund->SetOut_trade_no($no);
        $refund->SetOut_refund_no('R' . $no);
        $refund->SetTotal_fee(100);
        $refund->SetRefund_fee(100);
        $refund->SetOp_user_id($this->mock->mchId);
        $this->assertSame('SUCCESS', \WxPayApi::refund($this->config, $refund)['result_code']);

        $refundQuery = new \WxPayRefundQuery();
        $refundQuery->SetOut_trade_no($no);
        $this->assertSame('R' . $no, \WxPayApi::refundQuery($this->config, $refundQuery)['out_refund_no_0']);

        $short = new \WxPayShortUrl();
        $short->SetLong_url('weixin://wxpay/bizpayurl?pr=abc&x=1');
        $this->assertStringStartsWith('weixin://wxpay/s/', \WxPayApi::shorturl($this->config, $short)['short_url']);

        $report = new \WxPayReport();
        $report->SetInterface_url('https://api.mch.weixin.qq.com/pay/unifiedorder');
        $report->SetExecute_time_(120);
        $report->SetReturn_code('SUCCESS');
        $report->SetResult_code('SUCCESS');
        $report->SetUser_ip('127.0.0.1');
        $xml = \WxPayApi::report($this->config, $report);
        $this->assertSame('SUCCESS', \WxPay\Xml::decode($xml)['return_code']);
        $this->assertMatchesRegularExpression('/^\d{14}$/', $report->GetTime());

        $micro = $this->micro(self::newNo('M'), '1000');
        $answer = \WxPayApi::micropay($this->config, $micro);
        $this->assertSame('MICROPAY', $answer['trade_type']);
        $reverse = new \WxPayReverse();
        $reverse->SetOut_trade_no($micro->GetOut_trade_no());
        $this->assertSame('N', \WxPayApi::reverse($this->config, $reverse)['recall']);
    }

    public function testMicroPayHelperQueriesThenReverses(): void
    {
        $pay = new \MicroPay($this->config);
        $pay->queryInterval = 0.02;
        // 0001: USERPAYING, paid 10 ms later: the helper's queries see SUCCESS.
        $no = self::newNo('M');
        $result = $pay->pay($this->micro($no, '0001'));
        $this->assertIsArray($result);
        $this->assertSame('SUCCESS', $result['trade_state']);
        $this->assertSame($no, $result['out_trade_no']);

        // 0002: USERPAYING until reversed: 10 queries (the SDK's loop never ended), then reverse.
        $pay->queryInterval = 0.001;
        $no = self::newNo('M');
        $this->assertFalse($pay->pay($this->micro($no, '0002')));
        $query = new \WxPayOrderQuery();
        $query->SetOut_trade_no($no);
        $this->assertSame('REVOKED', \WxPayApi::orderQuery($this->config, $query)['trade_state']);

        // 0003: NOTENOUGH, a definite failure.
        $this->assertFalse($pay->pay($this->micro(self::newNo('M'), '0003')));
        // 0004: SYSTEMERROR although paid: the helper's query finds it paid.
        $result = $pay->pay($this->micro(self::newNo('M'), '0004'));
        $this->assertSame('SUCCESS', $result['trade_state']);
    }

    public function testRefundWithoutTheCertificateFiles(): void
    {
        $config = $this->config(['cert' => '/nonexistent/apiclient_cert.pem', 'cert_key' => '/nonexistent/apiclient_key.pem']);
        // Other calls still work without the files, as in the SDK.
        $no = self::newNo('A');
        $this->assertSame('SUCCESS', \WxPayApi::unifiedOrder($config, $this->order($no))['result_code']);
        $refund = new \WxPayRefund();
        $refund->SetOut_trade_no($no);
        $refund->SetOut_refund_no('R' . $no);
        $refund->SetTotal_fee(10);
        $refund->SetRefund_fee(10);
        $refund->SetOp_user_id('op');
        try {
            \WxPayApi::refund($config, $refund);
            $this->fail('no certificate');
        } catch (\WxPayException $e) {
            $this->assertInstanceOf(\WxPay\ConfigException::class, $e->getPrevious());
            $this->assertStringContainsString('cert_path', $e->getMessage());
        }
    }

    public function testTamperedAnswersAndTimeoutsAreWxPayExceptions(): void
    {
        $query = new \WxPayOrderQuery();
        $query->SetOut_trade_no(self::newNo('A'));
        $this->mock->faults(['bad_sign' => true, 'path' => 'pay/orderquery']);
        try {
            \WxPayApi::orderQuery($this->config, $query);
            $this->fail('a corrupted sign is refused');
        } catch (\WxPayException $e) {
            $this->assertSame('签名错误！', $e->getMessage());
            $this->assertInstanceOf(\WxPay\SignatureException::class, $e->getPrevious());
        }
        $this->mock->faults(['latency_ms' => 3000, 'path' => 'pay/orderquery']);
        $started = microtime(true);
        try {
            \WxPayApi::orderQuery($this->config, $query, 1);
            $this->fail('the timeout argument is honoured');
        } catch (\WxPayException $e) {
            $this->assertStringStartsWith('curl出错，错误码:28', $e->getMessage());
            $this->assertTrue($e->getPrevious()->isTimeout());
        } finally {
            $this->mock->clearFaults();
        }
        // 1 s, retried once with identical fields: well under the 3 s latency twice.
        $this->assertLessThan(4.5, microtime(true) - $started);
    }

    public function testGetPayUrlReturnsFalseAsTheSdkAndKeepsTheError(): void
    {
        $native = new \NativePay($this->config);
        $jsapi = $this->order(self::newNo('A'));
        $jsapi->SetTrade_type('JSAPI');
        $this->assertFalse($native->GetPayUrl($jsapi), 'not NATIVE');

        $this->mock->faults(['bad_sign' => true, 'path' => 'pay/unifiedorder']);
        $this->assertFalse($native->GetPayUrl($this->order(self::newNo('A'))));
        $this->assertInstanceOf(\WxPayException::class, $native->lastError);
        $this->mock->clearFaults();
        $this->assertArrayHasKey('code_url', $native->GetPayUrl($this->order(self::newNo('A'))));
        $this->assertNull($native->lastError);
    }
}
