<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ConfigException;
use WxPay\HttpException;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\UsesMock;

/** Config "proxy", and proxies from the environment (never used), against wxpay-mock. */
final class IntegrationProxyTest extends TestCase
{
    use UsesMock;

    /** @var resource|null */
    private $proxy = null;
    private int $proxyPid = 0;
    private string $proxyLog = '';

    protected function tearDown(): void
    {
        if ($this->proxy !== null) {
            function_exists('posix_kill') && is_executable('/usr/bin/setsid')
                ? posix_kill(-$this->proxyPid, 15)
                : proc_terminate($this->proxy, 15);
            proc_close($this->proxy);
            $this->proxy = null;
        }
        if ($this->proxyLog !== '') {
            @unlink($this->proxyLog);
        }
    }

    /** Starts tests/support/connect_proxy.php; returns its URL. */
    private function startProxy(): string
    {
        $this->proxyLog = (string) tempnam(sys_get_temp_dir(), 'wxpay-proxy-log-');
        $process = proc_open(
            [
                ...(is_executable('/usr/bin/setsid') ? ['/usr/bin/setsid'] : []),
                PHP_BINARY, '-n', __DIR__ . '/support/connect_proxy.php', $this->proxyLog,
            ],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'a']],
            $pipes
        );
        $this->assertIsResource($process);
        $this->proxy = $process;
        $this->proxyPid = (int) proc_get_status($process)['pid'];
        $port = (int) trim((string) fgets($pipes[1]));
        fclose($pipes[1]);
        $this->assertGreaterThan(0, $port, 'the proxy printed its port');
        return "http://127.0.0.1:$port";
    }

    /** @return list<string> the request lines the proxy got */
    private function proxied(): array
    {
        return array_values(array_filter(explode("\n", (string) file_get_contents($this->proxyLog))));
    }

    public function testTrafficGoesThroughTheConfiguredProxy(): void
    {
        $proxy = $this->startProxy();
        $records = [];
        $client = $this->mock->client([
            'proxy' => $proxy,
            // No failover: another test may have left this thread on the backup URL.
            'failover' => false,
            'logger' => function (string $level, string $message, array $context) use (&$records): void {
                $records[] = [$level, $context];
            },
        ]);
        $no = self::newNo('P');
        $this->nativeOrder($client, $no);
        $this->assertSame('NOTPAY', $client->orderQuery(['out_trade_no' => $no])['trade_state']);

        $mockAuthority = parse_url($this->mock->url, PHP_URL_HOST) . ':' . parse_url($this->mock->url, PHP_URL_PORT);
        $this->assertSame(["CONNECT $mockAuthority HTTP/1.1"], $this->proxied(), 'one tunnel, reused by both calls (TLS inside it)');
        $this->assertSame('reused', $records[2][1]['connection']);

        $dump = print_r($client, true);
        $this->assertStringContainsString("[proxy] => $proxy", $dump);
    }

    public function testADeadProxyIsAnHttpExceptionNamingIt(): void
    {
        $dead = 'http://127.0.0.1:' . Mock::freePort();
        try {
            $this->mock->client(['proxy' => $dead])->orderQuery(['out_trade_no' => self::newNo('P')]);
            $this->fail('must throw');
        } catch (HttpException $e) {
            $this->assertStringContainsString("(through proxy $dead): cannot connect", $e->getMessage());
        }
    }

    public function testEnvironmentProxiesAreNeverUsed(): void
    {
        $dead = 'http://127.0.0.1:' . Mock::freePort();
        $names = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];
        $saved = [];
        foreach ($names as $name) {
            $saved[$name] = getenv($name);
            putenv("$name=$dead");
        }
        try {
            // A timeout no other test uses: a client (and its proxy settings) built now.
            $client = $this->mock->client(['timeout' => 2.75]);
            $no = self::newNo('P');
            $this->nativeOrder($client, $no);
            $this->assertSame('NOTPAY', $client->orderQuery(['out_trade_no' => $no])['trade_state']);
            // The same for a plain-http loopback simulator (an http:// URL goes to HTTP_PROXY).
            $plain = $this->mock->client(['timeout' => 2.76, 'base_url' => $dead, 'backup_url' => null]);
            try {
                $plain->orderQuery(['out_trade_no' => $no]);
                $this->fail('nothing listens there');
            } catch (HttpException $e) {
                $this->assertStringNotContainsString('through proxy', $e->getMessage());
                $this->assertStringContainsString("on $dead: cannot connect", $e->getMessage());
            }
        } finally {
            foreach ($saved as $name => $value) {
                putenv($value === false ? $name : "$name=$value");
            }
        }
    }

    /** @return iterable<string, array{string, string}> */
    public static function badProxies(): iterable
    {
        yield 'password' => ['http://shop:SECRET-PASSWORD@127.0.0.1:3128', 'must not contain a user name or password'];
        yield 'user only' => ['socks5://SECRET-PASSWORD@127.0.0.1:1080', 'must not contain a user name or password'];
        yield 'no port' => ['http://127.0.0.1', 'must name the port'];
        yield 'bad port' => ['http://127.0.0.1:99999', 'port from 1 to 65535'];
        yield 'path' => ['http://127.0.0.1:3128/proxy', 'path, query or fragment'];
        yield 'scheme' => ['ftp://127.0.0.1:21', 'must be scheme://host:port'];
        yield 'no scheme' => ['127.0.0.1:3128', 'must be scheme://host:port'];
        yield 'bad host' => ['http://proxy_host:3128', 'DNS name'];
    }

    /** @dataProvider badProxies */
    #[DataProvider('badProxies')]
    public function testBadProxiesAreRefusedWithoutRepeatingThem(string $proxy, string $rule): void
    {
        try {
            $this->mock->client(['proxy' => $proxy]);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringStartsWith('config "proxy" ', $e->getMessage());
            $this->assertStringContainsString($rule, $e->getMessage());
            $this->assertStringNotContainsString($proxy, $e->getMessage());
            $this->assertStringNotContainsString('SECRET', $e->getMessage());
        }
    }
}
