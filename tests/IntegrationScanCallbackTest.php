<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\PhpServer;
use WxPay\Tests\Support\UsesMock;
use WxPay\Xml;

/**
 * Native pay mode 1: the mock plays the payer scanning a nativeUrl() QR code and posts the
 * callback to a shop's scan URL (`php -S` with tests/support/scan_receiver.php, which answers
 * with Client::handleScanCallback()); the mock checks the signed reply and the order it names.
 */
final class IntegrationScanCallbackTest extends TestCase
{
    use UsesMock;

    private const GENERIC = '商户系统暂时无法下单，请稍后再试';

    private static ?PhpServer $shop = null;
    private static string $dir = '';

    protected function setUp(): void
    {
        $this->setUpMock();
        if (self::$shop === null) {
            $so = Extension::file() ?? $this->markTestSkipped('cannot tell where the wxpay extension was loaded from');
            self::$dir = Mock::tempDir('wxpay-scan-');
            // The shop signs with HMAC-SHA256: the callback and its reply are MD5 all the same.
            $config = $this->mock->config(['sign_type' => 'HMAC-SHA256']);
            self::$shop = new PhpServer(
                __DIR__ . '/support/scan_receiver.php',
                ['WXPAY_SCAN_DIR' => self::$dir, 'WXPAY_SCAN_CONFIG' => json_encode($config, JSON_THROW_ON_ERROR)],
                ['-d', "extension=$so", '-d', 'display_errors=stderr', '-d', 'log_errors=1', '-d', 'error_log=' . self::$dir . '/error.log']
            );
        }
    }

    public static function tearDownAfterClass(): void
    {
        self::$shop?->stop();
        self::$shop = null;
        Mock::removeDir(self::$dir);
    }

    /** Scans the QR code of a fresh product with the shop's scan URL in `$mode`. @return array{string, array<string, mixed>} */
    private function scan(string $mode, array $extra = [], ?string $no = null): array
    {
        $no ??= self::newNo('Q');
        $this->mock->setScanUrl(self::$shop->url . "/$mode/$no");
        $qr = $this->mock->client()->nativeUrl('sku-' . $no);
        return [$no, $this->mock->scan($qr, $extra)];
    }

    private function errorLog(): string
    {
        return (string) @file_get_contents(self::$dir . '/error.log');
    }

    /** @param array<string, mixed> $report */
    private function assertMd5SignedReply(array $report): void
    {
        $this->assertSame(32, strlen($report['reply']['sign']), 'MD5, whatever the client signs with');
        $this->assertTrue(Signer::verify($report['reply'], $this->mock->apiKey, 'MD5'));
        $this->assertSame($this->mock->appid, $report['reply']['appid']);
        $this->assertSame($this->mock->mchId, $report['reply']['mch_id']);
    }

    public function testTheShopsParametersBecomeAnOrderThePayerPays(): void
    {
        $payer = 'oScanPayer' . bin2hex(random_bytes(4));
        [$no, $report] = $this->scan('params', ['openid' => $payer, 'is_subscribe' => 'Y', 'pay' => true]);
        $this->assertTrue($report['ok'], json_encode($report, JSON_UNESCAPED_UNICODE));
        $this->assertSame($no, $report['out_trade_no']);
        $this->assertTrue($report['paid']);
        $this->assertMd5SignedReply($report);
        $this->assertSame('SUCCESS', $report['reply']['result_code']);

        // The callback reached createOrder verified, with WeChat's fields.
        $callback = json_decode((string) file_get_contents(self::$dir . "/$no.json"), true);
        $this->assertSame(['appid', 'openid', 'mch_id', 'is_subscribe', 'nonce_str', 'product_id', 'sign'], array_keys($callback));
        $this->assertSame('sku-' . $no, $callback['product_id']);
        $this->assertSame($payer, $callback['openid']);
        $this->assertSame('Y', $callback['is_subscribe']);

        // The handler placed a NATIVE order for the scanned product and the payer, and it is paid.
        $order = $this->mock->order($no);
        $this->assertSame('NATIVE', $order['trade_type']);
        $this->assertSame($report['reply']['prepay_id'], $order['prepay_id']);
        $this->assertSame($payer, $order['openid']);
        $this->assertSame('SUCCESS', $order['state']);
        $this->assertSame(66, (int) $order['total_fee']);
        $params = array_column($order['params'], 1, 0);
        $this->assertSame('sku-' . $no, $params['product_id']);
        $this->assertSame('HMAC-SHA256', $params['sign_type'], 'the order itself is the client\'s type');
        $this->assertSame('SUCCESS', $this->mock->client()->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testTheShopMayPlaceTheOrderItself(): void
    {
        [$no, $report] = $this->scan('result');
        $this->assertTrue($report['ok'], json_encode($report, JSON_UNESCAPED_UNICODE));
        $this->assertSame($no, $report['out_trade_no']);
        $this->assertMd5SignedReply($report);
        $this->assertSame('NOTPAY', $this->mock->order($no)['state'], 'not paid until the payer pays');
        $this->mock->pay($no);
        $this->assertSame('SUCCESS', $this->mock->order($no)['state']);
    }

    public function testTheShopDeclinesWithATextForThePayer(): void
    {
        $before = $this->errorLog();
        [$no, $report] = $this->scan('decline');
        $this->assertFalse($report['ok']);
        $this->assertSame('the merchant declined: 该商品已售罄', $report['error']);
        $this->assertMd5SignedReply($report);
        $this->assertSame('FAIL', $report['reply']['result_code']);
        $this->assertArrayNotHasKey('prepay_id', $report['reply']);
        $this->assertSame($before, $this->errorLog(), 'a decline is no failure: nothing logged');
        $this->expectException(\RuntimeException::class);
        $this->mock->order($no);
    }

    /** @return iterable<string, array{string, string}> */
    public static function failures(): iterable
    {
        yield 'throws' => ['throw', 'the callback threw RuntimeException: stock database down for '];
        yield 'float amount' => ['float', 'parameter "total_fee" must be a string or int, float given (amounts are integer fen)'];
        yield 'a string' => ['string', 'the callback must return an array (unifiedOrder parameters, its answer, or [\'result_code\' => \'FAIL\', \'err_code_des\' => …]), string given'];
        yield 'false' => ['false', 'the callback returned false'];
        yield 'another product' => ['mismatch', 'the createOrder callback\'s answer: product_id must be "sku-'];
    }

    /** @dataProvider failures */
    #[DataProvider('failures')]
    public function testFailuresReplyAGenericTextAndLogWhy(string $mode, string $logged): void
    {
        [$no, $report] = $this->scan($mode);
        $this->assertFalse($report['ok']);
        $this->assertMd5SignedReply($report);
        $this->assertSame('FAIL', $report['reply']['result_code']);
        $this->assertSame(self::GENERIC, $report['reply']['err_code_des'], 'nothing of the failure reaches the payer');
        $log = Mock::waitFor(fn () => str_contains($this->errorLog(), $no) || str_contains($this->errorLog(), $logged) ? $this->errorLog() : null, 'the log line');
        $this->assertStringContainsString('wxpay: handleScanCallback could not place the order and replied result_code=FAIL: ', $log);
        $this->assertStringContainsString($logged, $log);
        $this->assertStringNotContainsString($this->mock->apiKey, $log);
    }

    public function testAnOrderWeChatRefusesShowsWeChatsText(): void
    {
        [$no, $first] = $this->scan('params', ['pay' => true]);
        $this->assertTrue($first['paid']);
        // The same order number again: unifiedorder answers ORDERPAID.
        [, $again] = $this->scan('params', [], $no);
        $this->assertFalse($again['ok']);
        $this->assertSame('FAIL', $again['reply']['result_code']);
        $this->assertSame('该订单已支付', $again['reply']['err_code_des']);
        $this->assertStringContainsString('unifiedorder: WeChat Pay business failure: err_code=ORDERPAID', $this->errorLog());
    }

    public function testTheMockRefusesABadCodeAndNeedsAScanUrl(): void
    {
        $qr = $this->mock->client()->nativeUrl('sku-1');
        $this->mock->setScanUrl(self::$shop->url . '/params/X' . bin2hex(random_bytes(4)));
        foreach (
            [
                str_replace('product_id=sku-1', 'product_id=sku-2', $qr) => 'sign does not match',
                $this->mock->client(['key' => str_repeat('k', 32)])->nativeUrl('sku-1') => 'sign does not match',
                'weixin://wxpay/bizpayurl?pr=abc' => 'unknown field pr',
                'https://example.com/' => 'not a weixin://wxpay/bizpayurl? code',
            ] as $bad => $why
        ) {
            try {
                $this->mock->scan($bad);
                $this->fail("$bad must be refused");
            } catch (\RuntimeException $e) {
                $this->assertStringContainsString('HTTP 400', $e->getMessage());
                $this->assertStringContainsString($why, $e->getMessage());
            }
        }
        $this->mock->setScanUrl(null);
        try {
            $this->mock->scan($qr);
            $this->fail('no scan URL configured');
        } catch (\RuntimeException $e) {
            $this->assertStringContainsString('HTTP 409', $e->getMessage());
        }
    }

    /** A callback body as WeChat signs it (MD5), with `$key`. */
    private function callbackBody(string $key, array $override = []): string
    {
        $fields = $override + [
            'appid' => $this->mock->appid, 'openid' => 'oPayer', 'mch_id' => $this->mock->mchId,
            'is_subscribe' => 'N', 'nonce_str' => bin2hex(random_bytes(8)), 'product_id' => 'sku-7',
        ];
        $fields['sign'] = Signer::sign($fields, $key, 'MD5');
        return Xml::encode($fields);
    }

    public function testUnverifiedCallbacksNeverReachTheShop(): void
    {
        $client = $this->mock->client();
        $log = self::$dir . '/inproc.log';
        $previous = ini_set('error_log', $log);
        try {
            foreach (
                [
                    $this->callbackBody(str_repeat('k', 32)) => 'scan callback: sign does not match',
                    $this->callbackBody($this->mock->apiKey, ['mch_id' => '999']) => 'scan callback is for mch_id "999"',
                    '<xml><appid>x</appid>' => 'XML',
                ] as $body => $why
            ) {
                $reply = Xml::decode($client->handleScanCallback($body, fn () => $this->fail('called')));
                $this->assertSame(['return_code' => 'FAIL', 'return_msg' => 'invalid callback'], $reply);
                $this->assertStringContainsString("wxpay: handleScanCallback refused the callback and replied FAIL: ", (string) file_get_contents($log));
                $this->assertStringContainsString($why, (string) file_get_contents($log));
            }
        } finally {
            ini_set('error_log', (string) $previous);
        }
        // A genuine one, without any network: the shop's own unifiedOrder answer.
        $reply = Xml::decode($client->handleScanCallback(
            $this->callbackBody($this->mock->apiKey),
            fn (array $callback) => ['return_code' => 'SUCCESS', 'result_code' => 'SUCCESS', 'trade_type' => 'NATIVE', 'prepay_id' => 'wx' . $callback['product_id']]
        ));
        $this->assertSame('wxsku-7', $reply['prepay_id']);
        $this->assertTrue(Signer::verify($reply, $this->mock->apiKey, 'MD5'));
    }
}
