<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\SignatureException;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\PhpServer;
use WxPay\Tests\Support\UsesMock;

/**
 * Notifications the mock really delivers over HTTP to a receiver (`php -S` with
 * tests/support/notify_receiver.php, which stores each body), verified with the extension.
 */
final class IntegrationNotifyTest extends TestCase
{
    use UsesMock;

    private static ?PhpServer $receiver = null;
    private static string $dir = '';

    protected function setUp(): void
    {
        $this->setUpMock();
        if (self::$receiver === null) {
            self::$dir = Mock::tempDir('wxpay-notify-');
            self::$receiver = new PhpServer(__DIR__ . '/support/notify_receiver.php', ['WXPAY_NOTIFY_DIR' => self::$dir]);
        }
    }

    public static function tearDownAfterClass(): void
    {
        self::$receiver?->stop();
        self::$receiver = null;
        Mock::removeDir(self::$dir);
    }

    /** A client whose notify_url is the receiver: `$mode` ok | fail1 | fail, `$tag` names the files. */
    private function clientFor(string $mode, string $tag, array $extra = []): Client
    {
        return $this->mock->client(['notify_url' => self::$receiver->url . "/$mode/$tag"] + $extra);
    }

    /** The body of delivery `$attempt` to `$tag`, once it arrived. */
    private function body(string $tag, int $attempt = 1): string
    {
        return Mock::waitFor(
            fn () => is_file($f = self::$dir . "/$tag.$attempt.xml") ? (string) file_get_contents($f) : null,
            "notify attempt $attempt for $tag (receiver log: " . self::$receiver->log() . ')'
        );
    }

    /** @return list<array<string, mixed>> the mock's delivery attempts for one order and kind */
    private function attempts(string $outTradeNo, string $kind): array
    {
        return array_values(array_filter(
            $this->mock->notifies(),
            fn (array $n) => $n['out_trade_no'] === $outTradeNo && $n['kind'] === $kind
        ));
    }

    public function testPaymentNotifyIsDeliveredAndVerifies(): void
    {
        $no = self::newNo('N');
        $client = $this->clientFor('ok', $no);
        $paid = $this->paidOrder($client, $no, 188);

        $notify = $client->parseNotify($this->body($no));
        $this->assertSame('SUCCESS', $notify['return_code']);
        $this->assertSame('SUCCESS', $notify['result_code']);
        $this->assertSame($no, $notify['out_trade_no']);
        $this->assertSame('188', $notify['total_fee']);
        $this->assertSame($paid['transaction_id'], $notify['transaction_id']);
        $this->assertSame($this->mock->appid, $notify['appid']);
        $client->assertNotifyMatches($notify, $no, 188);

        // Exactly one attempt, acknowledged.
        $attempts = Mock::waitFor(fn () => $this->attempts($no, 'payment') ?: null, 'attempt record');
        $this->assertCount(1, $attempts);
        $this->assertTrue($attempts[0]['ok']);
        $this->assertSame(200, $attempts[0]['http_status']);
        $this->assertFalse(is_file(self::$dir . "/$no.2.xml"));
    }

    public function testNotifyForAnotherOrderOrAmountIsRefused(): void
    {
        $no = self::newNo('N');
        $client = $this->clientFor('ok', $no);
        $this->paidOrder($client, $no, 50);
        $notify = $client->parseNotify($this->body($no));
        foreach ([[$no, 51], ['OTHER' . $no, 50]] as [$orderNo, $fee]) {
            try {
                $client->assertNotifyMatches($notify, $orderNo, $fee);
                $this->fail("must not match $orderNo / $fee");
            } catch (SignatureException $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
        // A tampered body, and another merchant key, do not verify.
        $tampered = str_replace('<total_fee><![CDATA[50]]>', '<total_fee><![CDATA[1]]>', $this->body($no), $count);
        $this->assertSame(1, $count, 'the body carries total_fee as CDATA');
        try {
            $client->parseNotify($tampered);
            $this->fail('tampered notify must not verify');
        } catch (SignatureException) {
        }
        $this->expectException(SignatureException::class);
        $this->mock->client(['key' => str_repeat('k', 32)])->parseNotify($this->body($no));
    }

    public function testReceiverAnsweringFailIsRetried(): void
    {
        $no = self::newNo('N');
        $client = $this->clientFor('fail1', $no);
        $this->paidOrder($client, $no, 66);
        $first = $client->parseNotify($this->body($no, 1));
        $second = $client->parseNotify($this->body($no, 2)); // 15 s ÷ 1000 later
        $this->assertSame($first['transaction_id'], $second['transaction_id']);
        $client->assertNotifyMatches($second, $no, 66);

        $attempts = Mock::waitFor(
            fn () => count($a = $this->attempts($no, 'payment')) >= 2 ? $a : null,
            'two attempt records'
        );
        $this->assertCount(2, $attempts);
        $this->assertSame([1, 2], array_column($attempts, 'attempt'));
        $this->assertSame([false, true], array_column($attempts, 'ok'));
        $this->assertStringContainsString('FAIL', (string) $attempts[0]['reply']);
        $this->assertGreaterThanOrEqual(14, $attempts[1]['time_ms'] - $attempts[0]['time_ms'], 'WeChat waits 15 s (scaled)');
        usleep(100000);
        $this->assertCount(2, $this->attempts($no, 'payment'), 'no attempt after the acknowledgement');
    }

    public function testHmacNotifyVerifiesOnlyWithThePinnedType(): void
    {
        $no = self::newNo('H');
        $client = $this->clientFor('ok', $no, ['sign_type' => 'HMAC-SHA256']);
        $this->paidOrder($client, $no, 20);
        $body = $this->body($no);
        $notify = $client->parseNotify($body);
        $this->assertSame('HMAC-SHA256', $notify['sign_type']);
        $client->assertNotifyMatches($notify, $no, 20);
        // An MD5 client never switches to the type the message claims.
        $this->expectException(SignatureException::class);
        $this->mock->client()->parseNotify($body);
    }

    public function testHandlersTakeDeliveredNotifies(): void
    {
        $no = self::newNo('K');
        $refundNo = 'RF' . substr($no, 1);
        $client = $this->clientFor('ok', $no);
        $this->paidOrder($client, $no, 230);
        $seen = [];
        $reply = $client->handleNotify($this->body($no), function (array $notify, bool $paid) use ($client, $no, &$seen) {
            $client->assertNotifyMatches($notify, $no, 230);
            $seen[] = [$notify['out_trade_no'], $paid];
        });
        $this->assertSame(\WxPay\Notify::success(), $reply);
        $client->refund([
            'out_trade_no' => $no,
            'out_refund_no' => $refundNo,
            'total_fee' => 230,
            'refund_fee' => 30,
            'notify_url' => self::$receiver->url . "/ok/$refundNo",
        ]);
        $reply = $client->handleRefundNotify($this->body($refundNo), function (array $refund) use (&$seen) {
            $seen[] = [$refund['out_refund_no'], $refund['refund_fee'], $refund['refund_status']];
        });
        $this->assertSame(\WxPay\Notify::success(), $reply);
        $this->assertSame([[$no, true], [$refundNo, '30', 'SUCCESS']], $seen);
    }

    public function testRefundNotifyIsDecrypted(): void
    {
        $no = self::newNo('R');
        $refundNo = 'RF' . substr($no, 1);
        $client = $this->mock->client();
        $paid = $this->paidOrder($client, $no, 300);
        $refund = $client->refund([
            'out_trade_no' => $no,
            'out_refund_no' => $refundNo,
            'total_fee' => 300,
            'refund_fee' => 120,
            'notify_url' => self::$receiver->url . "/ok/$refundNo",
        ]);
        $body = $this->body($refundNo);
        $this->assertStringContainsString('<req_info>', $body);
        $this->assertStringNotContainsString($refundNo, $body, 'the details are encrypted');

        $notify = $client->parseRefundNotify($body);
        $this->assertSame($no, $notify['out_trade_no']);
        $this->assertSame($refundNo, $notify['out_refund_no']);
        $this->assertSame($refund['refund_id'], $notify['refund_id']);
        $this->assertSame($paid['transaction_id'], $notify['transaction_id']);
        $this->assertSame('120', $notify['refund_fee']);
        $this->assertSame('300', $notify['total_fee']);
        $this->assertSame('SUCCESS', $notify['refund_status']);
        $this->assertSame($this->mock->mchId, $notify['mch_id']);

        $attempts = Mock::waitFor(fn () => $this->attempts($no, 'refund') ?: null, 'refund attempt record');
        $this->assertSame($refundNo, $attempts[0]['out_refund_no']);
        $this->assertTrue($attempts[0]['ok']);
        // Another key cannot decrypt it.
        $this->expectException(\WxPay\Exception::class);
        $this->mock->client(['key' => str_repeat('k', 32)])->parseRefundNotify($body);
    }
}
