<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\HttpException;
use WxPay\Signer;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\UsesMock;

/** A PSR-3 logger without psr/log: the level methods and log(), recording what it is told. */
final class RecordingPsrLogger
{
    /** @var list<array{string, string, array<string, mixed>}> */
    public array $records = [];

    public function emergency(string $m, array $c = []): void { $this->log('emergency', $m, $c); }
    public function alert(string $m, array $c = []): void { $this->log('alert', $m, $c); }
    public function critical(string $m, array $c = []): void { $this->log('critical', $m, $c); }
    public function error(string $m, array $c = []): void { $this->log('error', $m, $c); }
    public function warning(string $m, array $c = []): void { $this->log('warning', $m, $c); }
    public function notice(string $m, array $c = []): void { $this->log('notice', $m, $c); }
    public function info(string $m, array $c = []): void { $this->log('info', $m, $c); }
    public function debug(string $m, array $c = []): void { $this->log('debug', $m, $c); }

    public function log(mixed $level, string $m, array $c = []): void
    {
        $this->records[] = [(string) $level, $m, $c];
    }
}

/** An object with log() only (e.g. a logger built on AbstractLogger's one method). */
final class LogOnlyLogger
{
    /** @var list<array{string, string, array<string, mixed>}> */
    public array $records = [];

    public function log(mixed $level, string $m, array $c = []): void
    {
        $this->records[] = ['log:' . $level, $m, $c];
    }
}

/** Config "logger": one record per HTTP attempt, against wxpay-mock. */
final class IntegrationLoggerTest extends TestCase
{
    use UsesMock;

    /** @var list<array{string, string, array<string, mixed>}> */
    private array $records = [];
    private string $log = '';
    private string|false $previousLog = false;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->records = [];
        $this->log = (string) tempnam(sys_get_temp_dir(), 'wxpay-error-log-');
        $this->previousLog = ini_set('error_log', $this->log);
    }

    protected function tearDown(): void
    {
        ini_set('error_log', (string) $this->previousLog);
        @unlink($this->log);
    }

    /** A client whose logger is a closure appending to $this->records. */
    private function loggedClient(array $extra = []): Client
    {
        return $this->mock->client($extra + [
            'logger' => function (string $level, string $message, array $context): void {
                $this->records[] = [$level, $message, $context];
            },
        ]);
    }

    /** @return list<array{string, string, array<string, mixed>}> the records at `$level` */
    private function recordsAt(string $level): array
    {
        return array_values(array_filter($this->records, static fn ($r) => $r[0] === $level));
    }

    public function testOneRecordPerAttemptAndNoSecretAnywhere(): void
    {
        // No failover: another test may have left this thread on the backup URL.
        $client = $this->loggedClient(['failover' => false]);
        $no = self::newNo('L');
        $order = $this->nativeOrder($client, $no);
        $first = $client->orderQuery(['out_trade_no' => $no]);
        $second = $client->orderQuery(['out_trade_no' => $no]);

        $this->assertSame(['info', 'debug', 'info', 'debug', 'info', 'debug'], array_column($this->records, 0));
        [$create, $query1, $query2] = $this->recordsAt('info');
        $this->assertSame('unifiedorder', $create[2]['call']);
        $context = $query1[2];
        $this->assertSame('orderquery', $context['call']);
        $this->assertSame('/pay/orderquery', $context['path']);
        $this->assertSame($this->mock->url, $context['url']);
        $this->assertSame(1, $context['attempt']);
        $this->assertIsFloat($context['duration_ms']);
        $this->assertGreaterThan(0.0, $context['duration_ms']);
        $this->assertSame(200, $context['status']);
        $this->assertSame('SUCCESS', $context['return_code']);
        $this->assertSame('SUCCESS', $context['result_code']);
        $this->assertNull($context['err_code']);
        $this->assertSame('success', $context['outcome']);
        $this->assertFalse($context['retry']);
        $this->assertFalse($context['failover']);
        $this->assertNull($context['error']);
        $this->assertSame('reused', $query2[2]['connection'], 'the second query goes on the pooled connection');
        $this->assertContains($create[2]['connection'], ['new', 'reused']);
        $this->assertStringStartsWith('wxpay orderquery attempt 1 succeeded in ', $query1[1]);
        $this->assertStringContainsString('HTTP 200, return_code=SUCCESS, result_code=SUCCESS', $query1[1]);

        // Bodies only at debug level, signatures masked.
        foreach ($this->recordsAt('info') as [, , $c]) {
            $this->assertArrayNotHasKey('request', $c);
            $this->assertArrayNotHasKey('response', $c);
        }
        $bodies = $this->recordsAt('debug')[1][2];
        $this->assertSame($no, $bodies['request']['out_trade_no']);
        $this->assertSame('***', $bodies['request']['sign']);
        $this->assertSame('***', $bodies['response']['sign']);
        $this->assertSame($first['trade_state'], $bodies['response']['trade_state']);

        // The key, and every sign sent or received, appear nowhere in any record.
        $signs = [$order['sign'], $first['sign'], $second['sign']];
        foreach ($this->recordsAt('debug') as [, , $c]) {
            $request = $c['request'];
            unset($request['sign']);
            $signs[] = Signer::sign($request, $this->mock->apiKey, $request['sign_type'] ?? 'MD5');
        }
        $everything = var_export($this->records, true) . json_encode($this->records);
        $this->assertStringNotContainsString($this->mock->apiKey, $everything);
        $this->assertStringNotContainsString(md5($this->mock->apiKey), $everything);
        foreach ($signs as $sign) {
            $this->assertSame(32, strlen($sign));
            $this->assertStringNotContainsString($sign, $everything);
        }
    }

    /**
     * A logged client with one NATIVE order whose next $count order queries answer SYSTEMERROR;
     * the records so far are dropped.
     *
     * @return array{Client, string} the client and the order's out_trade_no
     */
    private function orderWithQueryFaults(int $count): array
    {
        $client = $this->loggedClient();
        $no = self::newNo('L');
        $this->nativeOrder($client, $no);
        $this->records = [];
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/orderquery', 'count' => $count]);
        return [$client, $no];
    }

    public function testRetriedAttemptIsAWarningAndTheRetryIsInfo(): void
    {
        [$client, $no] = $this->orderWithQueryFaults(1);
        $client->orderQuery(['out_trade_no' => $no]);

        $this->assertSame(['warning', 'debug', 'info', 'debug'], array_column($this->records, 0));
        [$retried, , $done] = $this->records;
        $this->assertSame(1, $retried[2]['attempt']);
        $this->assertSame('retry', $retried[2]['outcome']);
        $this->assertTrue($retried[2]['retry']);
        $this->assertSame('FAIL', $retried[2]['result_code']);
        $this->assertSame('SYSTEMERROR', $retried[2]['err_code']);
        $this->assertStringContainsString('failed, retrying', $retried[1]);
        $this->assertSame(2, $done[2]['attempt']);
        $this->assertSame('success', $done[2]['outcome']);
    }

    public function testAFailedCallIsLoggedBeforeItThrows(): void
    {
        [$client, $no] = $this->orderWithQueryFaults(5);
        try {
            $client->orderQuery(['out_trade_no' => $no]);
            $this->fail('must throw');
        } catch (ApiException $e) {
            $this->assertSame('SYSTEMERROR', $e->getErrCode());
        }
        $warnings = $this->recordsAt('warning');
        $this->assertSame(['retry', 'failed'], array_column(array_column($warnings, 2), 'outcome'));
        $this->assertSame($e->getMessage(), $warnings[1][2]['error']);
    }

    public function testTransportFailuresAndFailover(): void
    {
        $dead = 'http://127.0.0.1:' . Mock::freePort();
        $client = $this->loggedClient(['base_url' => $dead, 'backup_url' => null, 'failover' => false]);
        try {
            $client->orderQuery(['out_trade_no' => self::newNo('L')]);
            $this->fail('must throw');
        } catch (HttpException $e) {
        }
        $warnings = $this->recordsAt('warning');
        $this->assertSame(['retry', 'failed'], array_column(array_column($warnings, 2), 'outcome'));
        foreach ($warnings as [, $message, $c]) {
            $this->assertNull($c['status']);
            $this->assertNull($c['connection']);
            $this->assertFalse($c['failover']);
            $this->assertStringContainsString('cannot connect', $c['error']);
            $this->assertStringContainsString($dead, $message);
        }

        // A primary that refuses connections (a dead port of its own, so that no other
        // test's failover state counts): the first attempt moves to the backup.
        $this->records = [];
        $no = self::newNo('L');
        $this->nativeOrder($this->mock->client(), $no);
        $primary = 'http://127.0.0.1:' . Mock::freePort();
        // A timeout of its own: a fresh pool, so the backup's connection is a new one.
        $this->loggedClient(['base_url' => $primary, 'failover' => true, 'timeout' => 2.85])
            ->orderQuery(['out_trade_no' => $no]);
        $summaries = array_values(array_filter($this->records, static fn ($r) => $r[0] !== 'debug'));
        $this->assertCount(2, $summaries);
        $this->assertSame($primary, $summaries[0][2]['url']);
        $this->assertTrue($summaries[0][2]['failover']);
        $this->assertSame('warning', $summaries[0][0]);
        $this->assertStringContainsString('retrying on the backup URL', $summaries[0][1]);
        $this->assertSame($this->mock->backupUrl, $summaries[1][2]['url']);
        $this->assertSame('success', $summaries[1][2]['outcome']);
        $this->assertSame('new', $summaries[1][2]['connection']);
    }

    public function testConcurrentQueriesAndMicropaySettleLogEveryAttempt(): void
    {
        $client = $this->loggedClient(['failover' => false]);
        $numbers = [self::newNo('L'), self::newNo('L'), self::newNo('L')];
        foreach ($numbers as $no) {
            $this->nativeOrder($client, $no);
        }
        $this->records = [];
        $results = $client->queryOrders($numbers, 3);
        $this->assertCount(3, $results);
        $infos = $this->recordsAt('info');
        $this->assertCount(3, $infos);
        $this->assertSame(['orderquery'], array_values(array_unique(array_column(array_column($infos, 2), 'call'))));
        $queried = array_map(static fn ($r) => $r[2]['request']['out_trade_no'], $this->recordsAt('debug'));
        sort($queried);
        $expected = $numbers;
        sort($expected);
        $this->assertSame($expected, $queried);

        // micropaySettle (payment code 0002: USERPAYING until reversed): micropay, the
        // query and the reverse are each logged under their own name.
        $this->records = [];
        $settled = $client->micropaySettle([
            'body' => 'till', 'out_trade_no' => self::newNo('M'), 'total_fee' => 1,
            'auth_code' => self::authCode('0002'),
        ], 0.0, 1);
        $this->assertSame('REVERSED', $settled['outcome']);
        $summaries = array_values(array_filter($this->records, static fn ($r) => $r[0] !== 'debug'));
        $seen = array_map(static fn ($r) => [$r[2]['call'], $r[0], $r[2]['err_code']], $summaries);
        $this->assertSame(['micropay', 'warning', 'USERPAYING'], $seen[0]);
        $this->assertSame(['orderquery', 'info', null], $seen[1]);
        // The mock may answer a first reverse SYSTEMERROR (a retried warning) before the success.
        $this->assertSame(['reverse', 'info', null], end($seen));
    }

    public function testPsr3LoggerObjects(): void
    {
        $psr = new RecordingPsrLogger();
        $client = $this->mock->client(['logger' => $psr]);
        $this->nativeOrder($client, self::newNo('L'));
        $this->assertSame(['info', 'debug'], array_column($psr->records, 0), 'called through info() and debug()');

        $logOnly = new LogOnlyLogger();
        $client = $this->mock->client(['logger' => $logOnly]);
        $this->nativeOrder($client, self::newNo('L'));
        $this->assertSame(['log:info', 'log:debug'], array_column($logOnly->records, 0));
        $this->assertSame('unifiedorder', $logOnly->records[0][2]['call']);
    }

    public function testAThrowingLoggerDoesNotChangeTheCall(): void
    {
        $calls = 0;
        $client = $this->mock->client(['logger' => function () use (&$calls): void {
            $calls++;
            throw new \RuntimeException('the log server is down');
        }]);
        $no = self::newNo('L');
        $order = $this->nativeOrder($client, $no);
        $this->assertSame('SUCCESS', $order['result_code'], 'the call returns its answer');
        $this->assertSame(1, $calls, 'the rest of that call\'s records are dropped');
        $log = (string) file_get_contents($this->log);
        $this->assertStringContainsString(
            'wxpay: config "logger" failed while logging unifiedorder (2 of 2 record(s) not logged; the call went on): '
            . 'the logger threw RuntimeException: the log server is down',
            $log
        );
        $this->assertStringNotContainsString($this->mock->apiKey, $log);

        // A failing call still throws its own exception, not the logger's.
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'pay/orderquery', 'count' => 5]);
        try {
            $client->orderQuery(['out_trade_no' => $no]);
            $this->fail('must throw');
        } catch (ApiException $e) {
            $this->assertSame('SYSTEMERROR', $e->getErrCode());
        }
        $this->assertSame(2, $calls, 'again once per call');
    }

    /** @return iterable<string, array{mixed, string}> */
    public static function badLoggers(): iterable
    {
        yield 'no such function' => ['no_such_logger_function', 'string given'];
        yield 'an object without log methods' => [new \stdClass(), 'object given'];
        yield 'an array' => [['not', 'callable'], 'array given'];
        yield 'an int' => [1, 'int given'];
    }

    /** @dataProvider badLoggers */
    #[DataProvider('badLoggers')]
    public function testBadLoggersAreConfigExceptions(mixed $logger, string $given): void
    {
        try {
            $this->mock->client(['logger' => $logger]);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringStartsWith('config "logger" must be a PSR-3 logger', $e->getMessage());
            $this->assertStringEndsWith($given, $e->getMessage());
        }
    }

    public function testDumpNamesTheLogger(): void
    {
        $dump = print_r($this->mock->client(['logger' => new RecordingPsrLogger()]), true);
        $this->assertStringContainsString('[logger] => WxPay\Tests\RecordingPsrLogger', $dump);
        $dump = print_r($this->mock->client(['logger' => 'error_log']), true);
        $this->assertStringContainsString('[logger] => callable', $dump);
    }
}
