<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Bill;
use WxPay\Client;
use WxPay\InvalidArgumentException;
use WxPay\Signer;
use WxPay\Tests\Support\UsesMock;

/** Every Client network method's success path, over HTTPS against wxpay-mock. */
final class IntegrationCallsTest extends TestCase
{
    use UsesMock;

    private const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

    private Client $client;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->client = $this->mock->client();
    }

    /** @param array<string, string> $answer */
    private function assertSignedSuccess(array $answer): void
    {
        $this->assertSame('SUCCESS', $answer['return_code']);
        $this->assertSame('SUCCESS', $answer['result_code']);
        $this->assertSame($this->mock->appid, $answer['appid']);
        $this->assertSame($this->mock->mchId, $answer['mch_id']);
        $this->assertTrue(Signer::verify($answer, $this->mock->apiKey), 'the answer is signed by the mock');
        foreach ($answer as $name => $value) {
            $this->assertIsString($name);
            $this->assertIsString($value);
        }
    }

    /** @return iterable<string, array{string, array<string, mixed>, string}> */
    public static function tradeTypes(): iterable
    {
        yield 'NATIVE' => ['NATIVE', ['product_id' => 'sku-1'], 'code_url'];
        yield 'JSAPI' => ['JSAPI', ['openid' => self::OPENID], 'prepay_id'];
        yield 'APP' => ['APP', [], 'prepay_id'];
        yield 'MWEB' => [
            'MWEB',
            [
                'scene_info' => ['h5_info' => ['type' => 'Wap', 'wap_url' => 'https://shop.example', 'wap_name' => 'shop']],
                'spbill_create_ip' => '203.0.113.7',
            ],
            'mweb_url',
        ];
    }

    public function testMwebNeedsThePayersIpAndNothingIsSentWithout(): void
    {
        // A configured address is the server's, never the payer's.
        $client = $this->mock->client(['spbill_create_ip' => '198.51.100.1']);
        $before = $this->mock->stats()['requests'];
        try {
            $client->unifiedOrder([
                'body' => 'h5', 'out_trade_no' => self::newNo('H'), 'total_fee' => 1, 'trade_type' => 'MWEB',
                'scene_info' => ['h5_info' => ['type' => 'Wap', 'wap_url' => 'https://shop.example', 'wap_name' => 'shop']],
            ]);
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertStringStartsWith('spbill_create_ip is required when trade_type is MWEB', $e->getMessage());
        }
        $this->assertSame($before + 1, $this->mock->stats()['requests'], 'only the stats call itself');
    }

    /** @dataProvider tradeTypes */
    #[DataProvider('tradeTypes')]
    public function testUnifiedOrder(string $tradeType, array $extra, string $field): void
    {
        $no = self::newNo('U');
        $answer = $this->client->unifiedOrder(
            ['body' => '测试商品', 'out_trade_no' => $no, 'total_fee' => 88, 'trade_type' => $tradeType] + $extra
        );
        $this->assertSignedSuccess($answer);
        $this->assertSame($tradeType, $answer['trade_type']);
        $this->assertMatchesRegularExpression('/^wx\w+$/', $answer['prepay_id']);
        $this->assertNotSame('', $answer[$field]);
        if ($tradeType === 'NATIVE') {
            $this->assertStringStartsWith('weixin://wxpay/bizpayurl?pr=', $answer['code_url']);
        }
        if ($tradeType === 'MWEB') {
            $this->assertStringStartsWith('https://', $answer['mweb_url']);
        }
        // The mock stored what the client filled in.
        $order = $this->mock->order($no);
        $this->assertSame('NOTPAY', $order['state']);
        $this->assertSame(88, (int) $order['total_fee']);
        $this->assertSame('http://127.0.0.1:9/wxpay/notify', $order['notify_url']);
        // The same order again (identical parameters) gives the same prepay_id.
        $again = $this->client->unifiedOrder(
            ['body' => '测试商品', 'out_trade_no' => $no, 'total_fee' => 88, 'trade_type' => $tradeType] + $extra
        );
        $this->assertSame($answer['prepay_id'], $again['prepay_id']);
    }

    public function testJsapiParamsForARealPrepayId(): void
    {
        $answer = $this->client->unifiedOrder([
            'body' => 'b', 'out_trade_no' => self::newNo('J'), 'total_fee' => 1,
            'trade_type' => 'JSAPI', 'openid' => self::OPENID,
        ]);
        $js = $this->client->jsapiParams($answer['prepay_id']);
        $this->assertSame('prepay_id=' . $answer['prepay_id'], $js['package']);
        $this->assertTrue(Signer::verify(
            ['appId' => $js['appId'], 'timeStamp' => $js['timeStamp'], 'nonceStr' => $js['nonceStr'],
             'package' => $js['package'], 'signType' => $js['signType'], 'sign' => $js['paySign']],
            $this->mock->apiKey
        ));
    }

    public function testOrderQueryBeforeAndAfterPaying(): void
    {
        $no = self::newNo('Q');
        $this->nativeOrder($this->client, $no, 120);
        $before = $this->client->orderQuery(['out_trade_no' => $no]);
        $this->assertSignedSuccess($before);
        $this->assertSame('NOTPAY', $before['trade_state']);

        $this->mock->pay($no);
        $after = $this->client->orderQuery(['out_trade_no' => $no]);
        $this->assertSignedSuccess($after);
        $this->assertSame('SUCCESS', $after['trade_state']);
        $this->assertSame('120', $after['total_fee']);
        $this->assertSame($no, $after['out_trade_no']);
        $this->assertMatchesRegularExpression('/^\d{28}$/', $after['transaction_id']);
        // By transaction_id too.
        $byId = $this->client->orderQuery(['transaction_id' => $after['transaction_id']]);
        $this->assertSame($no, $byId['out_trade_no']);
    }

    public function testCloseOrder(): void
    {
        $no = self::newNo('C');
        $this->nativeOrder($this->client, $no);
        $this->assertSignedSuccess($this->client->closeOrder(['out_trade_no' => $no]));
        $this->assertSame('CLOSED', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
        try {
            $this->client->closeOrder(['out_trade_no' => $no]);
            $this->fail('closing twice must fail');
        } catch (ApiException $e) {
            $this->assertSame('ORDERCLOSED', $e->getErrCode());
        }
    }

    public function testRefundAndRefundQuery(): void
    {
        $no = self::newNo('R');
        $this->paidOrder($this->client, $no, 100);
        $refundNo = 'RF' . substr($no, 1);
        $refund = $this->client->refund(
            ['out_trade_no' => $no, 'out_refund_no' => $refundNo, 'total_fee' => 100, 'refund_fee' => 30]
        );
        $this->assertSignedSuccess($refund);
        $this->assertSame('30', $refund['refund_fee']);
        $this->assertSame($refundNo, $refund['out_refund_no']);
        $this->assertNotSame('', $refund['refund_id']);

        // Accepted as PROCESSING, SUCCESS 3 s (÷ 1000) later.
        $query = Support\Mock::waitFor(function () use ($refundNo) {
            $q = $this->client->refundQuery(['out_refund_no' => $refundNo]);
            return $q['refund_status_0'] === 'SUCCESS' ? $q : null;
        }, 'refund SUCCESS');
        $this->assertSignedSuccess($query);
        $this->assertSame('1', $query['refund_count']);
        $this->assertSame($refundNo, $query['out_refund_no_0']);
        $this->assertSame('30', $query['refund_fee_0']);
        $this->assertSame($refund['refund_id'], $query['refund_id_0']);
        $this->assertSame('REFUND', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testDownloadBillPlainAndGzipShowsThePaidTrade(): void
    {
        $no = self::newNo('B');
        $paid = $this->paidOrder($this->client, $no, 250);
        $billDate = substr($paid['time_end'], 0, 8);
        $plain = $this->client->downloadBill(['bill_date' => $billDate]);
        $gzip = $this->client->downloadBill(['bill_date' => $billDate, 'tar_type' => 'GZIP']);
        $this->assertStringStartsWith('交易时间,', $plain);
        // GZIP is gunzipped for the caller; the bill may have grown in between (other tests).
        $this->assertStringStartsWith('交易时间,', $gzip);
        foreach ([$plain, $gzip] as $text) {
            $bill = Bill::parse($text);
            $rows = array_values(array_filter($bill['rows'], fn (array $r) => $r['商户订单号'] === $no));
            $this->assertCount(1, $rows, 'one row for the paid trade');
            $this->assertSame('SUCCESS', $rows[0]['交易状态']);
            $this->assertSame('2.50', $rows[0]['订单金额']);
            $this->assertSame($paid['transaction_id'], $rows[0]['微信订单号']);
            $this->assertGreaterThanOrEqual(1, (int) $bill['summary']['总交易单数']);
        }
        // Only successful payments.
        $success = Bill::parse($this->client->downloadBill(['bill_date' => $billDate, 'bill_type' => 'SUCCESS']));
        $this->assertContains($no, array_column($success['rows'], '商户订单号'));
        // No trade that day: WeChat's unsigned FAIL body, as an ApiException.
        try {
            $this->client->downloadBill(['bill_date' => '20200101']);
            $this->fail('no bill');
        } catch (ApiException $e) {
            $this->assertSame('FAIL', $e->getReturnCode());
            $this->assertStringContainsString('No Bill Exist', $e->getReturnMsg());
        }
    }

    public function testDownloadFundFlow(): void
    {
        $no = self::newNo('F');
        $paid = $this->paidOrder($this->client, $no, 77);
        $text = $this->client->downloadFundFlow(
            ['bill_date' => substr($paid['time_end'], 0, 8), 'account_type' => 'Basic']
        );
        $flow = Bill::parse($text);
        $this->assertArrayHasKey('资金流水总笔数', $flow['summary']);
        $this->assertContains($paid['transaction_id'], array_column($flow['rows'], '微信支付业务单号'));
    }

    public function testMicropayAndReverse(): void
    {
        $no = self::newNo('M');
        $paid = $this->client->micropay(
            ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('1000')]
        );
        $this->assertSignedSuccess($paid);
        $this->assertSame('MICROPAY', $paid['trade_type']);
        $this->assertSame('5', $paid['total_fee']);
        $reversed = $this->client->reverse(['out_trade_no' => $no]);
        $this->assertSignedSuccess($reversed);
        $this->assertSame('N', $reversed['recall']);
        $this->assertSame('REVOKED', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testShortUrlAuthCodeToOpenidAndReport(): void
    {
        $short = $this->client->shortUrl(['long_url' => 'weixin://wxpay/bizpayurl?pr=abc&x=1']);
        $this->assertSignedSuccess($short);
        $this->assertStringStartsWith('weixin://wxpay/s/', $short['short_url']);

        $code = self::authCode('2000');
        $openid = $this->client->authCodeToOpenid(['auth_code' => $code]);
        $this->assertSignedSuccess($openid);
        $this->assertSame($openid['openid'], $this->client->authCodeToOpenid(['auth_code' => $code])['openid']);

        $report = $this->client->report([
            'interface_url' => 'https://api.mch.weixin.qq.com/pay/unifiedorder',
            'execute_time_' => 120,
            'return_code' => 'SUCCESS',
            'result_code' => 'SUCCESS',
            'user_ip' => '127.0.0.1',
        ]);
        $this->assertSame('SUCCESS', $report['return_code']);
    }

    public function testRequestForAnyEndpoint(): void
    {
        $no = self::newNo('G');
        $this->nativeOrder($this->client, $no, 9);
        $answer = $this->client->request('/pay/orderquery', ['out_trade_no' => $no]);
        $this->assertSignedSuccess($answer);
        $this->assertSame('NOTPAY', $answer['trade_state']);
        $this->assertSame('9', $answer['total_fee']);
    }

    public function testMicropaySettlePaidAfterUserpaying(): void
    {
        $no = self::newNo('S');
        // 0001: USERPAYING, paid 10 s (÷ 1000) later, as orderquery sees it.
        $settled = $this->client->micropaySettle(
            ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('0001')],
            0.02,
            20
        );
        $this->assertSame('PAID', $settled['outcome']);
        $this->assertSame('SUCCESS', $settled['response']['trade_state']);
        $this->assertSame($no, $settled['response']['out_trade_no']);
    }

    public function testMicropaySettlePaidAtOnce(): void
    {
        $no = self::newNo('S');
        $settled = $this->client->micropaySettle(
            ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('1000')]
        );
        $this->assertSame('PAID', $settled['outcome']);
        $this->assertSame($no, $settled['response']['out_trade_no']);
    }

    public function testMicropaySettleReversed(): void
    {
        $no = self::newNo('S');
        // 0002: USERPAYING until reversed.
        $settled = $this->client->micropaySettle(
            ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('0002')],
            0.001,
            3
        );
        $this->assertSame('REVERSED', $settled['outcome']);
        $this->assertSame('N', $settled['response']['recall']);
        $this->assertSame('REVOKED', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testMicropaySettleDefiniteRefusal(): void
    {
        // 0003: NOTENOUGH is definite: no poll, no reverse.
        try {
            $this->client->micropaySettle([
                'body' => 'pos', 'out_trade_no' => self::newNo('S'), 'total_fee' => 5,
                'auth_code' => self::authCode('0003'),
            ]);
            $this->fail('NOTENOUGH must throw');
        } catch (ApiException $e) {
            $this->assertSame('NOTENOUGH', $e->getErrCode());
            $this->assertFalse($e->isRetryable());
        }
    }
}
