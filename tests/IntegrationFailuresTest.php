<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\HttpException;
use WxPay\InvalidArgumentException;
use WxPay\OutcomeUnknownException;
use WxPay\SignatureException;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\UsesMock;

/** Refusals, transport failures, tampering, retries and failover, against wxpay-mock. */
final class IntegrationFailuresTest extends TestCase
{
    use UsesMock;

    private Client $client;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->client = $this->mock->client();
    }

    /** Requests the mock served while `$call` ran (the stats calls themselves excluded). */
    private function requestsDuring(callable $call): int
    {
        $before = $this->mock->stats()['requests'];
        try {
            $call();
        } finally {
            $after = $this->mock->stats()['requests'];
        }
        return $after - $before - 1;
    }

    private function apiFailure(callable $call): ApiException
    {
        try {
            $call();
        } catch (ApiException $e) {
            return $e;
        }
        $this->fail('expected an ApiException');
    }

    public function testOrderNotExist(): void
    {
        $no = self::newNo('N');
        $e = $this->apiFailure(fn () => $this->client->orderQuery(['out_trade_no' => $no]));
        $this->assertSame('ORDERNOTEXIST', $e->getErrCode());
        $this->assertSame('SUCCESS', $e->getReturnCode());
        $this->assertSame('FAIL', $e->getResultCode());
        $this->assertNotSame('', $e->getErrCodeDes());
        $this->assertFalse($e->isRetryable());
        $response = $e->getResponse();
        $this->assertSame('ORDERNOTEXIST', $response['err_code']);
        $this->assertSame($this->mock->mchId, $response['mch_id']);
        $this->assertArrayHasKey('sign', $response);
        $this->assertStringContainsString('ORDERNOTEXIST', $e->getMessage());
    }

    public function testOrderPaid(): void
    {
        $no = self::newNo('P');
        $this->paidOrder($this->client, $no, 88);
        $e = $this->apiFailure(fn () => $this->nativeOrder($this->client, $no, 88));
        $this->assertSame('ORDERPAID', $e->getErrCode());
        $this->assertFalse($e->isRetryable());
        $e = $this->apiFailure(fn () => $this->client->closeOrder(['out_trade_no' => $no]));
        $this->assertSame('ORDERPAID', $e->getErrCode());
    }

    public function testSameNumberWithOtherParametersIsInvalidRequest(): void
    {
        $no = self::newNo('I');
        $this->nativeOrder($this->client, $no, 88);
        $e = $this->apiFailure(fn () => $this->nativeOrder($this->client, $no, 99));
        $this->assertSame('INVALID_REQUEST', $e->getErrCode());
        $this->assertFalse($e->isRetryable());
    }

    public function testNumberUsedByAMicropayIsOutTradeNoUsed(): void
    {
        $no = self::newNo('O');
        // 0003: NOTENOUGH leaves the micropay order unpaid (PAYERROR); the number stays taken.
        $this->apiFailure(fn () => $this->client->micropay(
            ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('0003')]
        ));
        $e = $this->apiFailure(fn () => $this->nativeOrder($this->client, $no, 5));
        $this->assertSame('OUT_TRADE_NO_USED', $e->getErrCode());
        $this->assertFalse($e->isRetryable());
        $this->assertSame('OUT_TRADE_NO_USED', $e->getResponse()['err_code']);
    }

    /** @return iterable<string, array{string, array<string, mixed>, string}> */
    public static function badCalls(): iterable
    {
        $order = ['body' => 'b', 'out_trade_no' => 'X1001', 'total_fee' => 1, 'trade_type' => 'NATIVE', 'product_id' => 'p'];
        yield 'missing body' => ['unifiedOrder', ['body' => null] + $order, 'body is required'];
        yield 'no order number' => ['orderQuery', [], 'requires one of transaction_id, out_trade_no'];
        yield 'bad out_trade_no' => ['unifiedOrder', ['out_trade_no' => 'bad no!'] + $order, 'out_trade_no must be'];
        yield 'out_trade_no too long' => ['orderQuery', ['out_trade_no' => str_repeat('1', 33)], 'out_trade_no must be'];
        yield 'total_fee 0' => ['unifiedOrder', ['total_fee' => 0] + $order, 'total_fee must be a positive'];
        yield 'total_fee float' => ['unifiedOrder', ['total_fee' => 0.88] + $order, 'total_fee'];
        yield 'JSAPI without openid' => ['unifiedOrder', ['trade_type' => 'JSAPI'] + $order, 'openid'];
        yield 'refund without refund_fee' => [
            'refund', ['out_trade_no' => 'X1001', 'out_refund_no' => 'R1', 'total_fee' => 1], 'refund_fee',
        ];
    }

    /** @dataProvider badCalls */
    #[DataProvider('badCalls')]
    public function testBadArgumentsAreRefusedBeforeSending(string $method, array $params, string $message): void
    {
        $sent = $this->requestsDuring(function () use ($method, $params, $message) {
            try {
                $this->client->{$method}($params);
                $this->fail('must throw');
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString($message, $e->getMessage());
            }
        });
        $this->assertSame(0, $sent, 'nothing reached the mock');
    }

    public function testTimeoutIsAnHttpExceptionWithIsTimeout(): void
    {
        $this->mock->faults(['latency_ms' => 1500, 'path' => 'pay/orderquery']);
        $client = $this->mock->client(['timeout' => 0.3, 'retries' => 0, 'failover' => false]);
        $start = microtime(true);
        try {
            $client->orderQuery(['out_trade_no' => self::newNo()]);
            $this->fail('must time out');
        } catch (HttpException $e) {
            $this->assertTrue($e->isTimeout());
            $this->assertNull($e->getStatus());
            $this->assertStringContainsString('timed out', $e->getMessage());
        }
        $this->assertLessThan(1.2, microtime(true) - $start, 'the timeout was honoured');
    }

    public function testNothingListening(): void
    {
        $port = Mock::freePort();
        $client = $this->mock->client([
            'base_url' => "https://127.0.0.1:$port",
            'backup_url' => "https://127.0.0.1:$port",
        ]);
        try {
            $client->orderQuery(['out_trade_no' => 'X1001']);
            $this->fail('must not connect');
        } catch (HttpException $e) {
            $this->assertFalse($e->isTimeout());
            $this->assertNull($e->getStatus());
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
        }
    }

    public function testUntrustedCertificateNamesCaPath(): void
    {
        // The simulator's certificate without its CA: what a proxy or a missing ca_path gives.
        $client = $this->mock->client(['ca_path' => null, 'retries' => 0]);
        try {
            $client->orderQuery(['out_trade_no' => 'X1001']);
            $this->fail('an untrusted certificate must be refused');
        } catch (HttpException $e) {
            $this->assertStringContainsString('UnknownIssuer', $e->getMessage());
            $this->assertStringContainsString('set config "ca_path" to its CA certificate', $e->getMessage());
        }
    }

    public function testWrongKeyIsASignErrorWithTheFix(): void
    {
        // 32 characters, so the constructor takes it; WeChat (the mock) answers 签名错误.
        $client = $this->mock->client(['key' => str_repeat('f', 32)]);
        try {
            $client->orderQuery(['out_trade_no' => 'X1001']);
            $this->fail('a request signed with another key must be refused');
        } catch (ApiException $e) {
            $this->assertSame('签名错误', $e->getReturnMsg());
            $this->assertStringEndsWith(
                'return_msg=签名错误; check that the API key and sign_type match the merchant platform',
                $e->getMessage()
            );
        }
    }

    public function testUnknownEndpointIsAnHttpStatus(): void
    {
        try {
            $this->client->request('/pay/nosuchcall', ['a' => '1']);
            $this->fail('404 expected');
        } catch (HttpException $e) {
            $this->assertSame(404, $e->getStatus());
            $this->assertFalse($e->isTimeout());
        }
    }

    public function testTamperedResponseSignatureIsRefused(): void
    {
        $no = self::newNo('T');
        $this->nativeOrder($this->client, $no);
        $this->mock->faults(['bad_sign' => true, 'path' => 'pay/orderquery']);
        $this->expectException(SignatureException::class);
        $this->client->orderQuery(['out_trade_no' => $no]);
    }

    public function testTamperedResponseOnAFailureIsRefusedToo(): void
    {
        // Even a business failure must be signed before its err_code is believed.
        $this->mock->faults(['bad_sign' => true, 'path' => 'pay/orderquery']);
        $this->expectException(SignatureException::class);
        $this->client->orderQuery(['out_trade_no' => self::newNo('T')]);
    }

    public function testOneSystemErrorIsRetried(): void
    {
        $no = self::newNo('Y');
        $this->nativeOrder($this->client, $no, 31);
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/orderquery', 'count' => 1]);
        $sent = $this->requestsDuring(function () use ($no) {
            $answer = $this->client->orderQuery(['out_trade_no' => $no]);
            $this->assertSame('NOTPAY', $answer['trade_state']);
        });
        $this->assertSame(2, $sent, 'one SYSTEMERROR, one retry');
    }

    public function testSystemErrorBeyondTheRetriesIsRetryable(): void
    {
        $no = self::newNo('Y');
        $this->nativeOrder($this->client, $no);
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/orderquery', 'count' => 5]);
        $sent = $this->requestsDuring(function () use ($no) {
            $e = $this->apiFailure(fn () => $this->client->orderQuery(['out_trade_no' => $no]));
            $this->assertSame('SYSTEMERROR', $e->getErrCode());
            $this->assertTrue($e->isRetryable());
            $this->assertSame('FAIL', $e->getResponse()['result_code']);
        });
        $this->assertSame(2, $sent, 'retries => 1: two attempts');
        // With more retries configured the same fault budget is outlasted.
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/orderquery', 'count' => 2]);
        $answer = $this->mock->client(['retries' => 3])->orderQuery(['out_trade_no' => $no]);
        $this->assertSame('NOTPAY', $answer['trade_state']);
    }

    public function testDroppedConnectionIsRetried(): void
    {
        $no = self::newNo('D');
        $this->nativeOrder($this->client, $no);
        $this->mock->faults(['drop_rate' => 1, 'path' => 'pay/orderquery', 'count' => 1]);
        $this->assertSame('NOTPAY', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testMicropayIsNeverRetriedBlindly(): void
    {
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/micropay', 'count' => 1]);
        $sent = $this->requestsDuring(function () {
            $e = $this->apiFailure(fn () => $this->client->micropay([
                'body' => 'pos', 'out_trade_no' => self::newNo('M'), 'total_fee' => 5, 'auth_code' => self::authCode(),
            ]));
            $this->assertSame('SYSTEMERROR', $e->getErrCode());
            $this->assertTrue($e->isRetryable());
        });
        $this->assertSame(1, $sent, 'micropay is sent once');
    }

    public function testFailoverToTheBackupDomain(): void
    {
        $no = self::newNo('B');
        $this->nativeOrder($this->client, $no, 42);
        $this->mock->faults(['primary_down' => true]);
        // A fresh client, and the one whose pooled connection to the primary is now refused.
        foreach ([$this->mock->client(), $this->client] as $client) {
            $answer = $client->orderQuery(['out_trade_no' => $no]);
            $this->assertSame('42', $answer['total_fee']);
        }
        $created = $this->nativeOrder($this->client, self::newNo('B'));
        $this->assertNotSame('', $created['code_url']);
    }

    public function testNoFailoverWhenDisabled(): void
    {
        $this->mock->faults(['primary_down' => true]);
        $this->expectException(HttpException::class);
        $this->mock->client(['failover' => false])->orderQuery(['out_trade_no' => self::newNo('B')]);
    }

    /** @return iterable<string, array{string, array<string, mixed>}> */
    public static function certCalls(): iterable
    {
        yield 'refund' => ['refund', ['out_trade_no' => 'X1001', 'out_refund_no' => 'R1001', 'total_fee' => 1, 'refund_fee' => 1]];
        yield 'reverse' => ['reverse', ['out_trade_no' => 'X1001']];
        yield 'downloadFundFlow' => ['downloadFundFlow', ['bill_date' => '20261127', 'account_type' => 'Basic']];
    }

    /** @dataProvider certCalls */
    #[DataProvider('certCalls')]
    public function testClientCertificateIsRequired(string $method, array $params): void
    {
        $client = $this->mock->client(['cert_path' => null, 'key_path' => null]);
        $sent = $this->requestsDuring(function () use ($client, $method, $params) {
            try {
                $client->{$method}($params);
                $this->fail('must refuse without a client certificate');
            } catch (ConfigException $e) {
                $this->assertStringContainsString('cert_path', $e->getMessage());
                $this->assertStringContainsString('key_path', $e->getMessage());
            }
        });
        $this->assertSame(0, $sent, 'refused before sending');
    }

    public function testRequestKnowsCertEndpointsToo(): void
    {
        // request() to a known certificate endpoint needs the certificate even with cert: false.
        $client = $this->mock->client(['cert_path' => null, 'key_path' => null]);
        $this->expectException(ConfigException::class);
        $this->expectExceptionMessage('client certificate');
        $client->request('/secapi/pay/reverse', ['out_trade_no' => self::newNo('X')]);
    }

    public function testCertEndpointThroughRequestUsesTheCertificate(): void
    {
        $no = self::newNo('X');
        $this->client->micropay(['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode()]);
        $answer = $this->client->request('/secapi/pay/reverse', ['out_trade_no' => $no]);
        $this->assertSame('N', $answer['recall']);
    }

    public function testApiExceptionsNameTheirCall(): void
    {
        $no = self::newNo('C');
        $e = $this->apiFailure(fn () => $this->client->orderQuery(['out_trade_no' => $no]));
        $this->assertSame('orderquery', $e->getCall());
        $this->assertStringStartsWith('orderquery: WeChat Pay business failure: err_code=ORDERNOTEXIST', $e->getMessage());
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'secapi/pay/reverse']);
        $e = $this->apiFailure(fn () => $this->client->reverse(['out_trade_no' => $no]));
        $this->assertSame('reverse', $e->getCall());
        $this->assertStringStartsWith('reverse: WeChat Pay business failure: err_code=SYSTEMERROR', $e->getMessage());
    }

    public function testFailedReverseIsAnUnknownOutcomeNotARetryableRefusal(): void
    {
        $no = self::newNo('U');
        // 0002: USERPAYING until reversed; every reverse answers SYSTEMERROR.
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'secapi/pay/reverse']);
        $sent = $this->requestsDuring(function () use ($no) {
            try {
                $this->client->micropaySettle(
                    ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('0002')],
                    0.001,
                    2
                );
                $this->fail('the outcome is unknown');
            } catch (OutcomeUnknownException $e) {
                $this->assertNotInstanceOf(ApiException::class, $e);
                $this->assertFalse($e->isRetryable());
                $this->assertSame('reverse', $e->getCall());
                $this->assertSame($no, $e->getOutTradeNo());
                $responses = $e->getResponses();
                $this->assertSame(['micropay', 'orderquery', 'reverse'], array_keys($responses));
                $this->assertSame('USERPAYING', $responses['micropay']['err_code']);
                $this->assertSame('USERPAYING', $responses['orderquery']['trade_state']);
                $this->assertSame('SYSTEMERROR', $responses['reverse']['err_code']);
                $this->assertStringContainsString("micropay $no: outcome unknown after reverse: reverse: ", $e->getMessage());
                $this->assertStringContainsString('never re-send micropay', $e->getMessage());
            }
        });
        $this->assertSame(1 + 2 + 2, $sent, 'micropay once, two polls, reverse and its one retry');
        $this->mock->clearFaults();
        $this->assertSame('USERPAYING', $this->client->orderQuery(['out_trade_no' => $no])['trade_state']);
    }

    public function testUnknownPathIsSentOnceUnlessRetryIsAskedFor(): void
    {
        $this->mock->faults(['latency_ms' => 1000, 'path' => 'deposit/micropay']);
        $client = $this->mock->client(['timeout' => 0.3, 'retries' => 1]);
        foreach ([false => 1, true => 2] as $retry => $expected) {
            $sent = $this->requestsDuring(function () use ($client, $retry) {
                try {
                    $client->request('/deposit/micropay', ['out_trade_no' => self::newNo('R')], false, (bool) $retry);
                    $this->fail('must time out');
                } catch (HttpException $e) {
                    $this->assertTrue($e->isTimeout());
                }
            });
            $this->assertSame($expected, $sent, $retry ? 'opted in: retried' : 'sent once');
        }
    }

    public function testDeadlineBoundsAttemptsAndRetries(): void
    {
        // Six attempts of 1 s each would take 6 s; max_execution_time would not stop them.
        set_time_limit(1);
        $this->mock->faults(['latency_ms' => 3000, 'path' => 'pay/orderquery']);
        $client = $this->mock->client(['timeout' => 1.0, 'retries' => 5, 'deadline' => 1.5]);
        $start = microtime(true);
        try {
            $client->orderQuery(['out_trade_no' => self::newNo('L')]);
            $this->fail('must time out');
        } catch (HttpException $e) {
            $this->assertTrue($e->isTimeout());
            $this->assertStringStartsWith("orderquery: the call's deadline of 1.500 s ended it", $e->getMessage());
        } finally {
            set_time_limit(0);
        }
        $elapsed = microtime(true) - $start;
        $this->assertGreaterThan(1.4, $elapsed);
        $this->assertLessThan(1.9, $elapsed, sprintf('took %.2f s', $elapsed));
    }

    public function testDeadlineEndsMicropaySettleAsUnknownOutcome(): void
    {
        $no = self::newNo('L');
        $this->mock->faults(['latency_ms' => 3000, 'path' => 'secapi/pay/reverse']);
        $client = $this->mock->client(['timeout' => 0.5, 'deadline' => 1.0]);
        $start = microtime(true);
        try {
            $client->micropaySettle(
                ['body' => 'pos', 'out_trade_no' => $no, 'total_fee' => 5, 'auth_code' => self::authCode('0002')],
                0.05,
                30
            );
            $this->fail('the outcome is unknown');
        } catch (OutcomeUnknownException $e) {
            $this->assertSame('reverse', $e->getCall());
            $this->assertStringContainsString("the call's deadline of 1.000 s ended it", $e->getMessage());
        }
        $elapsed = microtime(true) - $start;
        $this->assertLessThan(1.4, $elapsed, sprintf('took %.2f s', $elapsed));
    }
}
