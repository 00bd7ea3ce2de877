<?php

/**
 * The local WeChat Pay simulator (crates/wxpay-mock) for the PHPUnit integration tests and
 * bench/network.php. Standalone: needs PHP's curl, not PHPUnit.
 *
 * One mock per process: Mock::shared() starts it on first use (HTTPS with a backup listener,
 * time scale 1000) and a shutdown function stops it (its whole process group).
 */

declare(strict_types=1);

namespace WxPay\Tests\Support;

final class Mock
{
    private const READY_TIMEOUT = 20.0;

    private static ?self $shared = null;

    public readonly string $url;
    public readonly string $backupUrl;
    public readonly string $ca;
    public readonly string $cert;
    public readonly string $key;
    public readonly string $appid;
    public readonly string $mchId;
    public readonly string $apiKey;
    public readonly string $stateDir;

    /** @var resource|null */
    private $process;
    private int $pid;
    /** @var array<int, resource> */
    private array $pipes;
    private string $logFile;
    private ?\CurlHandle $curl = null;

    /** The process-wide mock, started on first use. */
    public static function shared(): self
    {
        return self::$shared ??= self::start();
    }

    /** The mock binary: $WXPAY_MOCK_BIN, else the debug build of this checkout. */
    public static function binary(): string
    {
        $bin = getenv('WXPAY_MOCK_BIN');
        return is_string($bin) && $bin !== '' ? $bin : dirname(__DIR__, 2) . '/target/debug/wxpay-mock';
    }

    public static function start(?string $binary = null): self
    {
        return new self($binary ?? self::binary());
    }

    private function __construct(string $binary)
    {
        if (!is_file($binary) || !is_executable($binary)) {
            throw new \RuntimeException(
                "wxpay-mock binary not found at \"$binary\": run `cargo build --workspace` or set WXPAY_MOCK_BIN"
            );
        }
        $this->stateDir = self::tempDir('wxpay-mock-php-');
        $this->logFile = $this->stateDir . '/mock.log';
        $command = [
            $binary,
            '--tls',
            '--listen', '127.0.0.1:0',
            '--backup-listen', '127.0.0.1:0',
            '--state-dir', $this->stateDir,
            '--time-scale', '1000',
        ];
        if (is_executable('/usr/bin/setsid')) {
            // Its own process group, so that stop() can end it and anything it started.
            array_unshift($command, '/usr/bin/setsid');
        }
        $process = proc_open(
            $command,
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $this->logFile, 'a']],
            $pipes
        );
        if (!is_resource($process)) {
            throw new \RuntimeException("cannot start $binary");
        }
        $this->process = $process;
        $this->pipes = $pipes;
        $this->pid = (int) proc_get_status($process)['pid'];
        register_shutdown_function([$this, 'stop']);

        $ready = $this->readReadyLine();
        $this->url = $ready['url'];
        $this->backupUrl = (string) $ready['backup_url'];
        $this->ca = $ready['ca_path'];
        $this->cert = $ready['cert_path'];
        $this->key = $ready['key_path'];
        $this->appid = $ready['appid'];
        $this->mchId = $ready['mch_id'];
        $this->apiKey = $ready['key'];
    }

    /** @return array<string, mixed> */
    private function readReadyLine(): array
    {
        $out = $this->pipes[1];
        stream_set_blocking($out, false);
        $deadline = microtime(true) + self::READY_TIMEOUT;
        $line = '';
        while (!str_contains($line, "\n")) {
            $left = $deadline - microtime(true);
            $status = proc_get_status($this->process);
            if ($left <= 0 || !$status['running']) {
                $this->stop();
                $why = $status['running']
                    ? sprintf('no ready line within %.0f s', self::READY_TIMEOUT)
                    : 'it exited with code ' . $status['exitcode'];
                throw new \RuntimeException(sprintf(
                    "wxpay-mock did not start: %s. Its stderr:\n%s",
                    $why,
                    substr((string) @file_get_contents($this->logFile), -2000)
                ));
            }
            $read = [$out];
            $write = $except = null;
            if (@stream_select($read, $write, $except, 0, (int) min(200000, $left * 1e6)) > 0) {
                $chunk = fread($out, 8192);
                $line .= is_string($chunk) ? $chunk : '';
            }
        }
        $ready = json_decode(strstr($line, "\n", true), true);
        if (!is_array($ready) || ($ready['event'] ?? '') !== 'ready') {
            $this->stop();
            throw new \RuntimeException("wxpay-mock printed no ready line but: $line");
        }
        return $ready;
    }

    /** Stops the mock and its process group; safe to call twice. */
    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
        $this->curl = null;
        $group = function_exists('posix_getpgid') ? @posix_getpgid($this->pid) : false;
        if ($group === $this->pid && function_exists('posix_kill')) {
            posix_kill(-$this->pid, 15);
        } else {
            proc_terminate($this->process, 15);
        }
        $deadline = microtime(true) + 5;
        while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
            usleep(10000);
        }
        if (proc_get_status($this->process)['running']) {
            $group === $this->pid && function_exists('posix_kill')
                ? posix_kill(-$this->pid, 9)
                : proc_terminate($this->process, 9);
        }
        foreach ($this->pipes as $pipe) {
            if (is_resource($pipe)) {
                fclose($pipe);
            }
        }
        proc_close($this->process);
        $this->process = null;
        self::removeDir($this->stateDir);
        if (self::$shared === $this) {
            self::$shared = null;
        }
    }

    /**
     * A client for this mock: its merchant, CA, client certificate, backup listener and short
     * timeouts; `$extra` entries replace them (null removes one, e.g. 'cert_path' => null).
     *
     * @param array<string, mixed> $extra
     */
    public function client(array $extra = []): \WxPay\Client
    {
        return new \WxPay\Client($this->config($extra));
    }

    /** @param array<string, mixed> $extra @return array<string, mixed> */
    public function config(array $extra = []): array
    {
        $config = array_merge([
            'appid' => $this->appid,
            'mch_id' => $this->mchId,
            'key' => $this->apiKey,
            'base_url' => $this->url,
            'backup_url' => $this->backupUrl,
            'ca_path' => $this->ca,
            'cert_path' => $this->cert,
            'key_path' => $this->key,
            // Port 9 (discard): nobody listens, so notifies no test asked for go nowhere.
            'notify_url' => 'http://127.0.0.1:9/wxpay/notify',
            'timeout' => 3.0,
            'connect_timeout' => 1.0,
        ], $extra);
        return array_filter($config, static fn ($v) => $v !== null);
    }

    /**
     * The environment tests/compat-shop/WxPay.Config.php reads its merchant from: this mock's
     * merchant, URL, CA and client certificate.
     *
     * @return array<string, string>
     */
    public function compatShopEnv(string $signType, string $notifyUrl): array
    {
        return [
            'SHOP_APPID' => $this->appid,
            'SHOP_MCH_ID' => $this->mchId,
            'SHOP_KEY' => $this->apiKey,
            'SHOP_SIGN_TYPE' => $signType,
            'SHOP_BASE_URL' => $this->url,
            'SHOP_CA' => $this->ca,
            'SHOP_CERT' => $this->cert,
            'SHOP_CERT_KEY' => $this->key,
            'SHOP_NOTIFY_URL' => $notifyUrl,
        ];
    }

    /**
     * The environment the examples (examples/lib/Shop.php) read their merchant from: this
     * mock's merchant, URL, CA and client certificate.
     *
     * @return array<string, string>
     */
    public function exampleEnv(): array
    {
        return [
            'WXPAY_APPID' => $this->appid,
            'WXPAY_MCH_ID' => $this->mchId,
            'WXPAY_KEY' => $this->apiKey,
            'WXPAY_BASE_URL' => $this->url,
            'WXPAY_CA_PATH' => $this->ca,
            'WXPAY_CLIENT_CERT_PATH' => $this->cert,
            'WXPAY_CLIENT_KEY_PATH' => $this->key,
        ];
    }

    /** The payer pays the order (POST /mock/orders/{no}/pay). @return array<string, mixed> */
    public function pay(string $outTradeNo, array $body = []): array
    {
        return $this->control('POST', '/mock/orders/' . rawurlencode($outTradeNo) . '/pay', $body ?: new \stdClass());
    }

    /** The payer scans a native pay mode 1 QR code (POST /mock/scan). @return array<string, mixed> */
    public function scan(string $url, array $extra = []): array
    {
        return $this->control('POST', '/mock/scan', ['url' => $url] + $extra);
    }

    /** Sets (null: removes) the merchant's native pay mode 1 scan URL (POST /mock/merchant). */
    public function setScanUrl(?string $url): void
    {
        $this->control('POST', '/mock/merchant', ['scan_callback_url' => $url]);
    }

    /** Creates a coupon stock (POST /mock/coupon-stocks). @return array<string, mixed> */
    public function couponStock(array $stock): array
    {
        return $this->control('POST', '/mock/coupon-stocks', $stock);
    }

    /** @return array<string, mixed> the mock's view of one order */
    public function order(string $outTradeNo): array
    {
        return $this->control('GET', '/mock/orders/' . rawurlencode($outTradeNo));
    }

    /** Replaces the fault set: latency_ms, system_error_rate, drop_rate, bad_sign, primary_down, path, count. */
    public function faults(array $faults): void
    {
        $this->control('POST', '/mock/faults', $faults ?: new \stdClass());
    }

    public function clearFaults(): void
    {
        $this->faults([]);
    }

    /** @return array{connections: int, tls_connections: int, requests: int} */
    public function stats(): array
    {
        return $this->control('GET', '/mock/stats');
    }

    /** @return list<array<string, mixed>> every notify attempt */
    public function notifies(): array
    {
        return $this->control('GET', '/mock/notifies');
    }

    /** Forgets all state, stops pending notify retries, clears faults, zeroes the stats. */
    public function reset(): void
    {
        $this->control('POST', '/mock/reset', new \stdClass());
    }

    /** Calls the JSON control API (HTTPS, trusting the mock's CA). @return array<mixed> */
    public function control(string $method, string $path, mixed $body = null): array
    {
        $curl = $this->curl ??= curl_init();
        curl_reset($curl);
        $options = [
            CURLOPT_URL => $this->url . $path,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CAINFO => $this->ca,
            CURLOPT_TIMEOUT => 10,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        ];
        if ($body !== null) {
            $options[CURLOPT_POSTFIELDS] = json_encode($body, JSON_THROW_ON_ERROR);
        }
        curl_setopt_array($curl, $options);
        $answer = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        if (!is_string($answer) || $status < 200 || $status >= 300) {
            throw new \RuntimeException(sprintf(
                'mock control %s %s failed: HTTP %d %s %s',
                $method,
                $path,
                $status,
                curl_error($curl),
                is_string($answer) ? $answer : ''
            ));
        }
        if ($answer === '') {
            return [];
        }
        $decoded = json_decode($answer, true, 64, JSON_THROW_ON_ERROR);
        return is_array($decoded) ? $decoded : [];
    }

    /**
     * Polls `$probe` until it returns something other than null/false, or fails after `$seconds`.
     *
     * @template T
     * @param callable(): (T|null|false) $probe
     * @return T
     */
    public static function waitFor(callable $probe, string $what, float $seconds = 5.0): mixed
    {
        $deadline = microtime(true) + $seconds;
        do {
            $value = $probe();
            if ($value !== null && $value !== false) {
                return $value;
            }
            usleep(10000);
        } while (microtime(true) < $deadline);
        throw new \RuntimeException(sprintf('timed out after %.1f s waiting for %s', $seconds, $what));
    }

    public static function tempDir(string $prefix): string
    {
        $dir = sys_get_temp_dir() . '/' . $prefix . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!mkdir($dir, 0700, true)) {
            throw new \RuntimeException("cannot create $dir");
        }
        return $dir;
    }

    public static function removeDir(string $dir): void
    {
        if (!is_dir($dir)) {
            return;
        }
        $items = new \RecursiveIteratorIterator(
            new \RecursiveDirectoryIterator($dir, \FilesystemIterator::SKIP_DOTS),
            \RecursiveIteratorIterator::CHILD_FIRST
        );
        foreach ($items as $item) {
            $item->isDir() ? @rmdir($item->getPathname()) : @unlink($item->getPathname());
        }
        @rmdir($dir);
    }

    /** A TCP port nobody listens on right now. */
    public static function freePort(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        if ($server === false) {
            throw new \RuntimeException("no free port: $error");
        }
        $name = (string) stream_socket_get_name($server, false);
        fclose($server);
        return (int) substr($name, strrpos($name, ':') + 1);
    }
}

/**
 * `php -S` on a free loopback port serving one router script; stopped at shutdown.
 * Used for notify receivers the mock delivers to.
 */
final class PhpServer
{
    public readonly string $url;
    public readonly int $port;
    /** @var resource|null */
    private $process;
    private int $pid;
    private string $logFile;

    /**
     * @param list<string> $phpArgs extra php options, e.g. ['-d', 'extension=…']
     * @param array<string, string> $env added to the environment
     */
    public function __construct(
        string $router,
        array $env = [],
        array $phpArgs = [],
        ?string $docRoot = null,
        ?int $port = null
    ) {
        $this->port = $port ?? Mock::freePort();
        $this->url = 'http://127.0.0.1:' . $this->port;
        $this->logFile = sys_get_temp_dir() . '/wxpay-php-server-' . $this->port . '.log';
        $command = array_merge(
            is_executable('/usr/bin/setsid') ? ['/usr/bin/setsid'] : [],
            [PHP_BINARY],
            $phpArgs,
            ['-S', '127.0.0.1:' . $this->port, '-t', $docRoot ?? dirname($router), $router]
        );
        $process = proc_open(
            $command,
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->logFile, 'a'], 2 => ['file', $this->logFile, 'a']],
            $pipes,
            null,
            $env + getenv()
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start php -S');
        }
        $this->process = $process;
        $this->pid = (int) proc_get_status($process)['pid'];
        register_shutdown_function([$this, 'stop']);
        try {
            Mock::waitFor(function () {
                if (!proc_get_status($this->process)['running']) {
                    throw new \RuntimeException('php -S exited: ' . file_get_contents($this->logFile));
                }
                $socket = @stream_socket_client('tcp://127.0.0.1:' . $this->port, $errno, $error, 0.2);
                if ($socket === false) {
                    return null;
                }
                fclose($socket);
                return true;
            }, "php -S on port {$this->port}", 10.0);
        } catch (\RuntimeException $e) {
            $this->stop();
            throw $e;
        }
    }

    public function log(): string
    {
        return (string) @file_get_contents($this->logFile);
    }

    public function stop(): void
    {
        if ($this->process === null) {
            return;
        }
        $group = function_exists('posix_getpgid') ? @posix_getpgid($this->pid) : false;
        if ($group === $this->pid && function_exists('posix_kill')) {
            posix_kill(-$this->pid, 15);
        } else {
            proc_terminate($this->process, 15);
        }
        $deadline = microtime(true) + 5;
        while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
            usleep(10000);
        }
        proc_close($this->process);
        $this->process = null;
        @unlink($this->logFile);
    }
}

/**
 * For PHPUnit test cases that talk to the mock: `$this->mock` is the shared mock, with its
 * faults cleared before each test.
 */
trait UsesMock
{
    protected Mock $mock;

    protected function setUp(): void
    {
        $this->setUpMock();
    }

    protected function setUpMock(): void
    {
        $this->mock = Mock::shared();
        $this->mock->clearFaults();
    }

    /** How many WeChat requests reached the mock during `$call` (its own stats calls not counted). */
    protected function requestsDuring(callable $call): int
    {
        $before = $this->mock->stats()['requests'];
        $call();
        return $this->mock->stats()['requests'] - $before - 1;
    }

    /** The ApiException `$call` throws; the test fails when it throws none. */
    protected function apiFailure(callable $call): \WxPay\ApiException
    {
        try {
            $call();
        } catch (\WxPay\ApiException $e) {
            return $e;
        }
        $this->fail('must throw WxPay\ApiException');
    }

    /** `$call` is refused with an InvalidArgumentException starting `$message`, and nothing is sent. */
    protected function assertRefusedBeforeSending(callable $call, string $message): void
    {
        $sent = $this->requestsDuring(function () use ($call, $message) {
            try {
                $call();
                $this->fail('must be refused');
            } catch (\WxPay\InvalidArgumentException $e) {
                $this->assertStringStartsWith($message, $e->getMessage());
            }
        });
        $this->assertSame(0, $sent, 'refused before sending');
    }

    /** A fresh out_trade_no (the mock's state is shared by every test of the run). */
    protected static function newNo(string $prefix = 'T'): string
    {
        return $prefix . date('His') . bin2hex(random_bytes(6));
    }

    /** A fresh 18-digit payment code; its last 4 digits choose the mock's micropay outcome. */
    protected static function authCode(string $last4 = '1000'): string
    {
        return '13' . sprintf('%012d', random_int(0, 999999999999)) . $last4;
    }

    /** A NATIVE order for `$no`. @return array<string, string> */
    protected function nativeOrder(\WxPay\Client $client, string $no, int $fee = 88): array
    {
        return $client->unifiedOrder([
            'body' => 'wxpay-test',
            'out_trade_no' => $no,
            'total_fee' => $fee,
            'trade_type' => 'NATIVE',
            'product_id' => 'sku-1',
        ]);
    }

    /** A NATIVE order, paid by the payer. @return array<string, string> the orderquery answer */
    protected function paidOrder(\WxPay\Client $client, string $no, int $fee = 88): array
    {
        $this->nativeOrder($client, $no, $fee);
        $this->mock->pay($no);
        return $client->orderQuery(['out_trade_no' => $no]);
    }
}
