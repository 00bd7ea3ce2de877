<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\Signer;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;

/** The API key and the private key never show; a Rust panic never takes PHP down. */
final class SecretsAndPanicsTest extends TestCase
{
    private const API_KEY = 'API-KEY-SECRET-0123456789abcdefX';

    private static string $dir = '';

    public static function setUpBeforeClass(): void
    {
        self::$dir = sys_get_temp_dir() . '/wxpay-secrets-' . getmypid();
        @mkdir(self::$dir);
        $key = openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
        $csr = openssl_csr_new(['commonName' => '10000100'], $key);
        $cert = openssl_csr_sign($csr, null, $key, 1);
        openssl_x509_export($cert, $certPem);
        openssl_pkey_export($key, $keyPem);
        file_put_contents(self::$dir . '/cert.pem', $certPem);
        file_put_contents(self::$dir . '/key.pem', $keyPem);
    }

    public static function tearDownAfterClass(): void
    {
        foreach (glob(self::$dir . '/*') ?: [] as $file) {
            unlink($file);
        }
        rmdir(self::$dir);
    }

    /** @return list<string> pieces of the private key that must never be printed */
    private static function privateKeyPieces(): array
    {
        $lines = explode("\n", trim((string) file_get_contents(self::$dir . '/key.pem')));
        return array_slice($lines, 1, 3);
    }

    private function client(): Client
    {
        return new Client(Notifies::config([
            'key' => self::API_KEY,
            'cert_path' => self::$dir . '/cert.pem',
            'key_path' => self::$dir . '/key.pem',
        ]));
    }

    private function assertNoSecret(string $output): void
    {
        $this->assertStringNotContainsString(self::API_KEY, $output);
        foreach (self::privateKeyPieces() as $piece) {
            $this->assertStringNotContainsString($piece, $output);
        }
    }

    public function testDumpsAndEncodingsOfAClientShowNoSecret(): void
    {
        $client = $this->client();
        ob_start();
        var_dump($client);
        print_r($client);
        var_export($client);
        debug_zval_dump($client);
        echo json_encode($client), serialize([1]);
        var_dump((array) $client, get_object_vars($client), (new \ReflectionObject($client))->getProperties());
        $this->assertNoSecret((string) ob_get_clean());
    }

    public function testPhpinfoShowsNoSecret(): void
    {
        $client = $this->client();
        ob_start();
        phpinfo();
        $info = (string) ob_get_clean();
        $this->assertStringContainsString('wxpay support => enabled', $info);
        $this->assertNoSecret($info);
        unset($client);
    }

    public function testTracesRedactTheConfig(): void
    {
        $this->assertSame('0', ini_get('zend.exception_ignore_args'));
        try {
            new Client([
                'appid' => 'wx1', 'key' => self::API_KEY,
                'cert_path' => self::$dir . '/cert.pem', 'key_path' => self::$dir . '/key.pem',
            ]);
            $this->fail('must throw: mch_id is missing');
        } catch (ConfigException $e) {
            $this->assertInstanceOf(\SensitiveParameterValue::class, $e->getTrace()[0]['args'][0]);
            $this->assertNoSecret((string) $e . print_r($e->getTrace()[0], true) . var_export($e->getTrace()[0], true));
        }
    }

    /** @return iterable<string, array{\Closure, int}> a call that throws, and where its key is */
    public static function callsWithTheKey(): iterable
    {
        $bad = ['total_fee' => 0.01];
        yield 'Signer::sign' => [fn () => Signer::sign($bad, self::API_KEY), 1];
        yield 'Signer::verify' => [fn () => Signer::verify($bad, self::API_KEY, 'HMAC-SHA256'), 1];
        yield 'Client::__construct' => [fn () => new Client(['key' => self::API_KEY]), 0];
        yield 'Xml::encodeSigned' => [fn () => Xml::encodeSigned($bad, self::API_KEY), 1];
        yield 'Xml::encodeSigned HMAC without sign_type' => [
            fn () => Xml::encodeSigned(['a' => '1'], self::API_KEY, 'HMAC-SHA256'), 1,
        ];
    }

    /** @dataProvider callsWithTheKey */
    #[DataProvider('callsWithTheKey')]
    public function testKeyParametersAreRedactedInTraces(\Closure $call, int $at): void
    {
        try {
            $call();
            $this->fail('must throw');
        } catch (\InvalidArgumentException $e) {
            $args = $e->getTrace()[0]['args'];
            $this->assertInstanceOf(\SensitiveParameterValue::class, $args[$at]);
            // The frames of the call, the closure and this test; PHPUnit's own frames below
            // carry the whole suite as arguments (tens of MB through print_r).
            $ours = array_slice($e->getTrace(), 0, 3);
            $this->assertNoSecret((string) $e . print_r($ours, true) . var_export($args, true));
        }
    }

    /** Every parameter that can carry a secret is marked, in every class the extension has. */
    public function testEverySecretParameterIsMarked(): void
    {
        $marked = [];
        foreach ((new \ReflectionExtension('wxpay'))->getClasses() as $class) {
            foreach ($class->getMethods() as $method) {
                foreach ($method->getParameters() as $p) {
                    $name = "{$class->getName()}::{$method->getName()}(\${$p->getName()})";
                    $sensitive = $p->getAttributes(\SensitiveParameter::class) !== [];
                    $this->assertSame(in_array($p->getName(), ['key', 'config'], true), $sensitive, $name);
                    if ($sensitive) {
                        $marked[] = $name;
                    }
                }
            }
        }
        sort($marked);
        $this->assertSame([
            'WxPay\\Client::__construct($config)', 'WxPay\\Signer::sign($key)', 'WxPay\\Signer::verify($key)',
            'WxPay\\Xml::encodeSigned($key)',
        ], $marked);
    }

    public function testBadKeyFileErrorDoesNotEchoItsContent(): void
    {
        $bad = self::$dir . '/bad-key.pem';
        file_put_contents($bad, "-----BEGIN PRIVATE KEY-----\nNOT-A-KEY-BUT-SECRET-MATERIAL\n-----END PRIVATE KEY-----\n");
        try {
            new Client(Notifies::config(['cert_path' => self::$dir . '/cert.pem', 'key_path' => $bad]));
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringContainsString('key_path', $e->getMessage());
            $this->assertStringNotContainsString('SECRET-MATERIAL', (string) $e);
        }
    }

    public function testExceptionsFromCallsShowNoSecret(): void
    {
        $client = new Client(Notifies::config([
            'key' => self::API_KEY,
            'base_url' => 'https://127.0.0.1:9',
            'connect_timeout' => 0.5,
            'retries' => 0,
        ]));
        try {
            $client->orderQuery(['out_trade_no' => 'A1']);
            $this->fail('nothing listens on port 9');
        } catch (\WxPay\HttpException $e) {
            $this->assertFalse($e->isTimeout());
            $this->assertNoSecret((string) $e . $e->getTraceAsString() . print_r($e->getTrace()[0], true));
        }
    }

    public function testRustPanicBecomesAnErrorAndPhpCarriesOn(): void
    {
        $this->assertTrue(
            function_exists('WxPay\Debug\panic'),
            'make test runs the debug build, which has the panic hook'
        );
        try {
            \WxPay\Debug\panic('deliberate');
            $this->fail('must throw');
        } catch (\Error $e) {
            $this->assertSame('Rust panic: deliberate', $e->getMessage());
        }
        // The extension still works after a caught panic.
        $this->assertSame(32, strlen(\WxPay\Signer::sign(['a' => 1], 'k')));
    }

    public function testPanicInAHandWrittenHandlerBecomesAnError(): void
    {
        // The exception getters' native handler, registered (debug builds) as a function,
        // where its lookup panics: the panic must not unwind into the engine.
        $this->assertTrue(function_exists('WxPay\Debug\getterPanic'));
        try {
            \WxPay\Debug\getterPanic();
            $this->fail('must throw');
        } catch (\Error $e) {
            $this->assertStringStartsWith('Rust panic: no wxpay getter named', $e->getMessage());
        }
        $this->assertSame('', (new \WxPay\ApiException('x'))->getErrCode());
    }
}
