<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\PhpServer;
use WxPay\Tests\Support\UsesMock;

/**
 * A shop written the official SDK 3.0.x way (tests/compat-shop: WxPayConfig, jsapi.php,
 * native.php, notify.php with a WxPayNotify subclass, orderquery, closeorder, refund with
 * the certificate, micropay with MicroPay, download), running on php/compat under `php -S`
 * with the extension, end to end against wxpay-mock — the mock's notify included.
 */
final class CompatShopTest extends TestCase
{
    use UsesMock;

    private const SHOP = __DIR__ . '/compat-shop';

    private static ?PhpServer $server = null;
    private static string $log = '';

    protected function setUp(): void
    {
        $this->setUpMock();
        if (!extension_loaded('curl')) {
            $this->markTestSkipped('curl is needed');
        }
        if (self::$server === null) {
            $so = Extension::file() ?? $this->markTestSkipped('cannot tell where the wxpay extension was loaded from');
            $port = Mock::freePort();
            self::$log = sys_get_temp_dir() . '/wxpay-compat-shop-' . getmypid() . '.log';
            @unlink(self::$log);
            self::$server = new PhpServer(
                realpath(self::SHOP . '/router.php'),
                $this->mock->compatShopEnv('HMAC-SHA256', "http://127.0.0.1:$port/notify.php")
                    + ['SHOP_LOG' => self::$log],
                ['-d', "extension=$so", '-d', 'display_errors=stderr'],
                realpath(self::SHOP),
                $port
            );
        }
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        @unlink(self::$log);
    }

    /** GETs a shop page; JSON pages are decoded. @return array<mixed>|string */
    private function page(string $path, array $query = [], bool $json = true): array|string
    {
        $url = self::$server->url . '/' . $path . ($query ? '?' . http_build_query($query) : '');
        $curl = curl_init($url);
        curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 30]);
        $body = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        unset($curl); // curl_close() is a deprecated no-op since PHP 8.5
        $this->assertSame(200, $status, "$path: $body\n" . self::$server->log());
        if (!$json) {
            return $body;
        }
        $decoded = json_decode($body, true);
        $this->assertIsArray($decoded, "$path answered: $body\n" . self::$server->log());
        return $decoded;
    }

    /** @param array<string, string> $answer */
    private function assertVerified(array $answer): void
    {
        $this->assertTrue(Signer::verify($answer, $this->mock->apiKey, 'HMAC-SHA256'), 'signed with the pinned type');
    }

    public function testNativePayPaidNotifiedAndConfirmed(): void
    {
        $no = self::newNo('CN');
        $native = $this->page('native.php', ['out_trade_no' => $no, 'total_fee' => '66']);
        // Mode 1: MD5-signed product link (as the SDK), no network.
        parse_str((string) parse_url($native['mode1'], PHP_URL_QUERY), $mode1);
        $this->assertStringStartsWith('weixin://wxpay/bizpayurl?', $native['mode1']);
        $this->assertSame('123456789', $mode1['product_id']);
        $this->assertTrue(Signer::verify($mode1, $this->mock->apiKey, 'MD5'));
        // Mode 2: the unified order's code_url; notify_url came from GetNotifyUrl().
        $this->assertStringStartsWith('weixin://wxpay/bizpayurl?pr=', $native['mode2']);
        $this->assertVerified($native['order']);
        $order = $this->mock->order($no);
        $this->assertSame('NOTPAY', $order['state']);
        $this->assertSame(self::$server->url . '/notify.php', $order['notify_url']);
        $this->assertContains(['sign_type', 'HMAC-SHA256'], $order['params']);

        // The payer pays; the mock delivers the HMAC-signed notify to notify.php.
        $this->mock->pay($no);
        $line = Mock::waitFor(function () use ($no) {
            foreach (@file(self::$log, FILE_IGNORE_NEW_LINES) ?: [] as $l) {
                $entry = json_decode($l, true);
                if (($entry['out_trade_no'] ?? null) === $no) {
                    return $entry;
                }
            }
            return null;
        }, 'notify.php to record the payment (' . self::$server->log() . ')', 10.0);
        $this->assertSame('66', $line['total_fee']);
        $attempts = Mock::waitFor(function () use ($no) {
            $a = array_values(array_filter($this->mock->notifies(), fn ($n) => $n['out_trade_no'] === $no));
            return $a ?: null;
        }, 'the notify attempt record');
        $this->assertTrue($attempts[0]['ok'], 'notify.php acknowledged: ' . json_encode($attempts[0]));
        $this->assertCount(1, $attempts);

        $query = $this->page('orderquery.php', ['out_trade_no' => $no]);
        $this->assertVerified($query);
        $this->assertSame('SUCCESS', $query['trade_state']);
        $this->assertSame($line['transaction_id'], $query['transaction_id']);
    }

    public function testJsapiPageGivesSignedParameters(): void
    {
        $no = self::newNo('CJ');
        $page = $this->page('jsapi.php', ['out_trade_no' => $no, 'openid' => 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o']);
        $this->assertVerified($page['order']);
        $params = json_decode($page['jsApiParameters'], true);
        $this->assertSame('prepay_id=' . $page['order']['prepay_id'], $params['package']);
        $this->assertSame('HMAC-SHA256', $params['signType']);
        $this->assertSame($this->mock->appid, $params['appId']);
        $signed = $params + ['sign' => $params['paySign']];
        unset($signed['paySign']);
        $this->assertTrue(Signer::verify($signed, $this->mock->apiKey, 'HMAC-SHA256'));
    }

    public function testQueryAndCloseFollowTheSdkConventions(): void
    {
        // A business failure is the answer's array, not an exception (the SDK's convention).
        $missing = $this->page('orderquery.php', ['out_trade_no' => self::newNo('CX')]);
        $this->assertSame('FAIL', $missing['result_code']);
        $this->assertSame('ORDERNOTEXIST', $missing['err_code']);
        $this->assertVerified($missing);

        $no = self::newNo('CC');
        $this->page('native.php', ['out_trade_no' => $no]);
        $closed = $this->page('closeorder.php', ['out_trade_no' => $no]);
        $this->assertSame('SUCCESS', $closed['result_code']);
        $this->assertSame('CLOSED', $this->page('orderquery.php', ['out_trade_no' => $no])['trade_state']);
        $again = $this->page('closeorder.php', ['out_trade_no' => $no]);
        $this->assertSame('ORDERCLOSED', $again['err_code']);
    }

    public function testRefundWithTheCertificateAndRefundQuery(): void
    {
        $no = self::newNo('CR');
        $this->page('native.php', ['out_trade_no' => $no, 'total_fee' => '100']);
        $this->mock->pay($no);
        $refundNo = 'RF' . $no;
        $refund = $this->page(
            'refund.php',
            ['out_trade_no' => $no, 'total_fee' => '100', 'refund_fee' => '40', 'out_refund_no' => $refundNo]
        );
        $this->assertVerified($refund);
        $this->assertSame('SUCCESS', $refund['result_code']);
        $this->assertSame('40', $refund['refund_fee']);
        $query = Mock::waitFor(function () use ($refundNo) {
            $q = $this->page('refundquery.php', ['out_refund_no' => $refundNo]);
            return ($q['refund_status_0'] ?? '') === 'SUCCESS' ? $q : null;
        }, 'refund SUCCESS');
        $this->assertSame($refundNo, $query['out_refund_no_0']);
    }

    public function testMicropayPageAndTheBill(): void
    {
        $no = self::newNo('CM');
        $paid = $this->page('micropay.php', ['out_trade_no' => $no, 'auth_code' => self::authCode('1000')]);
        $this->assertSame('SUCCESS', $paid['result']['result_code']);
        $this->assertSame($no, $paid['result']['out_trade_no']);

        $refused = $this->page(
            'micropay.php',
            ['out_trade_no' => self::newNo('CM'), 'auth_code' => self::authCode('0003')]
        );
        $this->assertFalse($refused['result'], 'NOTENOUGH is a definite failure: false, as the SDK');

        $billDate = substr($this->page('orderquery.php', ['out_trade_no' => $no])['time_end'], 0, 8);
        $bill = $this->page('download.php', ['bill_date' => $billDate, 'bill_type' => 'ALL'], false);
        $this->assertStringStartsWith('交易时间,', $bill);
        $this->assertStringContainsString($no, $bill);
        $this->assertSame('', $this->page('download.php', ['bill_date' => '20200101', 'bill_type' => 'ALL'], false));
    }

    public function testConnectionsArePooledAcrossRequests(): void
    {
        $no = self::newNo('CP');
        $this->page('native.php', ['out_trade_no' => $no]);
        $before = $this->mock->stats();
        for ($i = 0; $i < 5; $i++) {
            $this->page('orderquery.php', ['out_trade_no' => $no]);
        }
        $after = $this->mock->stats();
        $this->assertGreaterThanOrEqual(5, $after['requests'] - $before['requests']);
        $this->assertSame(
            0,
            $after['tls_connections'] - $before['tls_connections'],
            'five requests of the shop (each `new WxPayConfig()`) reuse the TLS connection of the first page'
        );
    }
}
