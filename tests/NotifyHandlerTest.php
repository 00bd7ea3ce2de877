<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\Notify;
use WxPay\SignatureException;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;

/**
 * Client::handleNotify / handleRefundNotify: verified notifies reach the callback, the reply
 * is SUCCESS or a generic FAIL, and the reason for every FAIL is in PHP's error log.
 */
final class NotifyHandlerTest extends TestCase
{
    private const FORGER_KEY = 'forger-key-0123456789abcdef01234';

    private string $log = '';
    private string|false $previousLog = false;

    protected function setUp(): void
    {
        $this->log = (string) tempnam(sys_get_temp_dir(), 'wxpay-error-log-');
        $this->previousLog = ini_set('error_log', $this->log);
    }

    protected function tearDown(): void
    {
        ini_set('error_log', (string) $this->previousLog);
        @unlink($this->log);
    }

    private static function client(): Client
    {
        // Nothing is sent: the handlers work on the body alone.
        return new Client(Notifies::config(['base_url' => 'http://127.0.0.1:9']));
    }

    private function logged(): string
    {
        return (string) file_get_contents($this->log);
    }

    public function testPaidNotifyReachesTheCallbackAndIsAcknowledged(): void
    {
        $calls = [];
        $reply = self::client()->handleNotify(Notifies::payment(), function (array $notify, bool $paid) use (&$calls) {
            $calls[] = [$notify, $paid];
        });
        $this->assertSame(Notify::success(), $reply);
        $this->assertCount(1, $calls);
        [$notify, $paid] = $calls[0];
        $this->assertTrue($paid);
        $this->assertSame(Notifies::paymentFields(), $notify);
        self::client()->assertNotifyMatches($notify, 'A1001', 88);
        $this->assertSame('', $this->logged(), 'nothing to log after SUCCESS');
    }

    public function testFailedPaymentIsShownAsUnpaidThenAcknowledged(): void
    {
        $body = Notifies::payment('MD5', ['result_code' => 'FAIL', 'err_code' => 'PAYERROR', 'err_code_des' => 'bank refused']);
        $seen = null;
        $reply = self::client()->handleNotify($body, function (array $notify, bool $paid) use (&$seen) {
            $seen = [$notify['result_code'], $notify['err_code'], $paid];
            // A callback that forgets $paid still cannot record it as this order's payment.
            try {
                self::client()->assertNotifyMatches($notify, 'A1001', 88);
                $this->fail('a failed payment must not match an order');
            } catch (SignatureException $e) {
                $this->assertStringContainsString('result_code is "FAIL", not SUCCESS', $e->getMessage());
            }
        });
        $this->assertSame(['FAIL', 'PAYERROR', false], $seen);
        $this->assertSame(Notify::success(), $reply, 'WeChat stops re-sending once the shop has seen it');
    }

    /** @return iterable<string, array{string, string, string}> handler, body, the reason logged */
    public static function refusedNotifies(): iterable
    {
        $fields = Notifies::paymentFields();
        yield 'signed with another key' => [
            'handleNotify',
            Xml::encode(['sign' => \WxPay\Signer::sign($fields, self::FORGER_KEY)] + $fields),
            'payment notify: sign does not match',
        ];
        yield 'amount changed after signing' => [
            'handleNotify',
            Xml::encode(['total_fee' => '1'] + $fields),
            'payment notify: sign does not match',
        ];
        yield 'malformed' => ['handleNotify', '<xml><return_code>SUCCESS', 'malformed XML'];
        yield 'payment for another merchant' => [
            'handleNotify',
            Notifies::payment('MD5', ['mch_id' => '999']),
            'payment notify is for mch_id "999"',
        ];
        yield 'HMAC-SHA256 for an MD5 merchant' => [
            'handleNotify',
            Notifies::payment('HMAC-SHA256'),
            'payment notify: sign_type "HMAC-SHA256" in the message differs from the configured MD5',
        ];
        yield 'return_code FAIL' => [
            'handleNotify',
            Xml::encode(['return_code' => 'FAIL', 'return_msg' => 'x']),
            'payment notify: return_code is not SUCCESS, and such a notify is unsigned: none of its fields is verified',
        ];
        yield 'a refund notify at the payment handler' => [
            'handleNotify',
            Notifies::refund(),
            'payment notify: this is a refund notify (req_info, no sign): handle it with handleRefundNotify() or parseRefundNotify()',
        ];
        yield 'refund encrypted with another key' => [
            'handleRefundNotify',
            Notifies::refund(self::FORGER_KEY),
            'refund notify: req_info does not decrypt',
        ];
        yield 'refund for another merchant' => [
            'handleRefundNotify',
            Notifies::refund(Notifies::KEY, [], ['mch_id' => '999']),
            'refund notify is for mch_id "999"',
        ];
        yield 'a payment notify at the refund handler' => [
            'handleRefundNotify',
            Notifies::payment(),
            'refund notify has no req_info: this is a payment notify (signed, no req_info): handle it with handleNotify() or parseNotify()',
        ];
    }

    /** @dataProvider refusedNotifies */
    #[DataProvider('refusedNotifies')]
    public function testUnverifiedNotifyIsFailAndNeverReachesTheCallback(string $handler, string $body, string $reason): void
    {
        $reply = self::client()->$handler($body, function () {
            $this->fail('the callback must not see an unverified notify');
        });
        $this->assertSame(Notify::fail('invalid notify'), $reply);
        $this->assertStringContainsString("wxpay: $handler refused the notify and replied FAIL: $reason", $this->logged());
        $this->assertStringNotContainsString(Notifies::KEY, $this->logged());
    }

    /**
     * The reason may quote the sender's text (a refund notify's appid is unsigned): it is
     * logged on one line, so that nobody can write lines of their own into the shop's log.
     */
    public function testRefusalsAreLoggedOnOneLine(): void
    {
        $body = Notifies::refund(Notifies::KEY, [], ['appid' => "wx\nwxpay: handleRefundNotify took it\r"]);
        self::client()->handleRefundNotify($body, function () {
            $this->fail('the callback must not see an unverified notify');
        });
        $lines = array_values(array_filter(explode("\n", $this->logged()), fn (string $l) => $l !== ''));
        $this->assertCount(1, $lines, $this->logged());
        $this->assertStringEndsWith(
            'wxpay: handleRefundNotify refused the notify and replied FAIL: refund notify is for appid '
            . '"wx\\nwxpay: handleRefundNotify took it\\r", this client is configured for "' . Notifies::config()['appid'] . '"',
            $lines[0]
        );
    }

    public function testCallbackExceptionIsCaughtLoggedAndFail(): void
    {
        $line = __LINE__ + 2;
        $reply = self::client()->handleNotify(Notifies::payment(), function () {
            throw new \RuntimeException('db password hunter2 rejected', 0, new \LogicException('the cause'));
        });
        // The handler still returns its reply; WeChat learns nothing about the failure.
        $this->assertSame(Notify::fail('notify not processed, please retry'), $reply);
        $this->assertStringNotContainsString('hunter2', $reply);
        $log = $this->logged();
        $this->assertStringContainsString(
            'wxpay: handleNotify replied FAIL, so that WeChat delivers the notify again: '
            . 'the callback threw LogicException: the cause',
            $log
        );
        $this->assertStringContainsString('RuntimeException: db password hunter2 rejected in ' . __FILE__ . ":$line", $log);
        $this->assertStringContainsString('Stack trace:', $log);
    }

    /** @return iterable<string, array{\Closure, string}> */
    public static function failingCallbacks(): iterable
    {
        yield 'returns false' => [fn () => false, 'the callback returned false'];
        yield 'throws an Error' => [fn () => intdiv(1, 0), 'the callback threw DivisionByZeroError: Division by zero'];
        yield 'declares the wrong parameter type' => [
            fn (string $notify) => null,
            'the callback threw TypeError',
        ];
    }

    /** @dataProvider failingCallbacks */
    #[DataProvider('failingCallbacks')]
    public function testEveryCallbackFailureIsFailAndLogged(\Closure $callback, string $reason): void
    {
        $reply = self::client()->handleNotify(Notifies::payment(), $callback);
        $this->assertSame(Notify::fail('notify not processed, please retry'), $reply);
        $this->assertStringContainsString($reason, $this->logged());
    }

    public function testAnyOtherReturnValueIsSuccess(): void
    {
        foreach ([null, true, 0, '', 'done'] as $value) {
            $this->assertSame(Notify::success(), self::client()->handleNotify(Notifies::payment(), fn () => $value));
        }
    }

    public function testRefundNotifyReachesTheCallbackAndIsAcknowledged(): void
    {
        $seen = null;
        $reply = self::client()->handleRefundNotify(Notifies::refund(), function (array $refund) use (&$seen) {
            $seen = $refund;
        });
        $this->assertSame(Notify::success(), $reply);
        $this->assertSame(
            ['R1001', 'A1001', '88', 'SUCCESS'],
            [$seen['out_refund_no'], $seen['out_trade_no'], $seen['refund_fee'], $seen['refund_status']]
        );
        $this->assertArrayNotHasKey('req_info', $seen);
        $this->assertSame('', $this->logged());
    }

    public function testRefundCallbackExceptionIsCaughtLoggedAndFail(): void
    {
        $reply = self::client()->handleRefundNotify(Notifies::refund(), function (array $refund) {
            throw new \DomainException("no refund {$refund['out_refund_no']} here");
        });
        $this->assertSame(Notify::fail('notify not processed, please retry'), $reply);
        $this->assertStringContainsString(
            'wxpay: handleRefundNotify replied FAIL, so that WeChat delivers the notify again: '
            . 'the callback threw DomainException: no refund R1001 here',
            $this->logged()
        );
    }

    public function testExitInTheCallbackStillEndsTheRequest(): void
    {
        // exit() is not an exception the handler may catch: the script must end there.
        $script = sprintf(
            '$c = new WxPay\Client(%s); echo $c->handleNotify(%s, function () { exit("exited\n"); }), "returned\n";',
            var_export(Notifies::config(['base_url' => 'http://127.0.0.1:9']), true),
            var_export(Notifies::payment(), true)
        );
        $so = Extension::file() ?? $this->markTestSkipped('cannot tell where the wxpay extension was loaded from');
        $out = shell_exec(sprintf(
            '%s -n -d extension=%s -r %s 2>&1',
            escapeshellarg(PHP_BINARY),
            escapeshellarg($so),
            escapeshellarg($script)
        ));
        $this->assertSame("exited\n", $out);
    }
}
