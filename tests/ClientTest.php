<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\InvalidArgumentException;
use WxPay\Signer;
use WxPay\Tests\Support\Notifies;

final class ClientTest extends TestCase
{
    private const SECRET = 'SECRET-KEY-must-never-show-up-00';

    private function client(array $extra = []): Client
    {
        return new Client(['appid' => 'wx1', 'mch_id' => '1000', 'key' => self::SECRET] + $extra);
    }

    /** @return iterable<string, array{array<string, mixed>, string}> */
    public static function badConfigs(): iterable
    {
        $ok = ['appid' => 'wx1', 'mch_id' => '1000', 'key' => self::SECRET];
        yield 'missing appid' => [['appid' => null] + $ok, 'config "appid" is required'];
        yield 'missing key' => [array_diff_key($ok, ['key' => 1]), 'config "key" is required'];
        yield 'empty mch_id' => [['mch_id' => ''] + $ok, 'config "mch_id" is required'];
        yield 'bad sign_type' => [$ok + ['sign_type' => 'SHA1'], 'must be one of MD5, HMAC-SHA256, "SHA1" given'];
        yield 'unknown key' => [$ok + ['apikey' => 'x'], 'unknown config key "apikey"; valid keys: appid, mch_id, key'];
        yield 'int key' => [$ok + [5 => 'x'], 'config keys must be strings'];
        yield 'key as int' => [['key' => 123] + $ok, 'config "key" must be a string, int given'];
        // Converted, it would sign with other bytes than md5() of the same string.
        yield 'key not UTF-8' => [
            ['key' => "\xff" . self::SECRET] + $ok,
            'config "key" must be UTF-8 text, non-UTF-8 string given',
        ];
        yield 'key from an unset variable' => [
            ['key' => false] + $ok,
            'config "key" is required: missing or empty (did getenv() return false?)',
        ];
        yield 'empty key' => [['key' => ''] + $ok, 'config "key" is required: missing or empty'];
        yield 'short key' => [
            ['key' => 'SECRET-KEY-must-never'] + $ok,
            'config "key" must be the 32-character API key set in the merchant platform, 21 characters given',
        ];
        yield 'long key' => [['key' => self::SECRET . '0'] + $ok, '33 characters given'];
        yield 'timeout as string' => [$ok + ['timeout' => '5'], '"timeout" must be a number of seconds'];
        yield 'negative timeout' => [$ok + ['timeout' => -1], '"timeout" must be more than 0'];
        yield 'retries' => [$ok + ['retries' => 6], '"retries" must be an int from 0 to 5, int given'];
        yield 'timeout over a minute' => [$ok + ['timeout' => 61], '"timeout" must be more than 0 and at most 60 seconds, 61 given'];
        yield 'connect_timeout' => [$ok + ['connect_timeout' => 31], '"connect_timeout" must be more than 0 and at most 30 seconds'];
        yield 'deadline too long' => [$ok + ['deadline' => 121], '"deadline" must be more than 0 and at most 120 seconds, 121 given'];
        yield 'deadline zero' => [$ok + ['deadline' => 0.0], '"deadline" must be more than 0'];
        yield 'deadline as string' => [$ok + ['deadline' => '15'], '"deadline" must be a number of seconds, string given'];
        yield 'failover' => [$ok + ['failover' => 'yes'], '"failover" must be a bool'];
        $billRule = 'config "bill_max_bytes" must be an int from 1048576 (1 MiB) to 1073741824 (1 GiB) bytes, ';
        yield 'bill_max_bytes too small' => [$ok + ['bill_max_bytes' => 1000], $billRule . '1000 given'];
        yield 'bill_max_bytes too large' => [$ok + ['bill_max_bytes' => 2 << 30], $billRule . '2147483648 given'];
        yield 'bill_max_bytes as string' => [$ok + ['bill_max_bytes' => '64M'], $billRule . 'string given'];
        yield 'bill_max_bytes as float' => [$ok + ['bill_max_bytes' => 1e7], $billRule . 'float given'];
        yield 'base_url' => [$ok + ['base_url' => 'ftp://x'], '"base_url" must be an https:// URL'];
        yield 'plain http to a remote host' => [
            $ok + ['base_url' => 'http://api.mch.weixin.qq.com'],
            '"base_url" must be an https:// URL (http:// only for a loopback simulator)',
        ];
        yield 'failover to nowhere' => [
            $ok + ['base_url' => 'https://127.0.0.1:1', 'failover' => true],
            'config "failover" needs "backup_url" when "base_url" is set',
        ];
        yield 'cert alone' => [$ok + ['cert_path' => __FILE__], '"cert_path" and "key_path" must be given together'];
        yield 'unreadable cert' => [
            $ok + ['cert_path' => '/nonexistent/apiclient_cert.pem', 'key_path' => __FILE__],
            'cannot read "/nonexistent/apiclient_cert.pem"',
        ];
    }

    /** @dataProvider badConfigs */
    #[DataProvider('badConfigs')]
    public function testBadConfigIsAConfigException(array $config, string $expected): void
    {
        try {
            new Client($config);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringContainsString($expected, $e->getMessage());
            $this->assertStringNotContainsString(self::SECRET, $e->getMessage());
        }
    }

    /** @return iterable<string, array{string, string}> URLs whose text before `@` once passed for the host */
    public static function userinfoUrls(): iterable
    {
        foreach (['base_url', 'backup_url'] as $key) {
            yield "$key localhost:x@" => [$key, 'http://localhost:x@evil.example'];
            yield "$key 127.0.0.1:80@" => [$key, 'http://127.0.0.1:80@evil.example'];
            yield "$key [::1]@" => [$key, 'http://[::1]@evil.example'];
            yield "$key localhost:1@10.0.0.1" => [$key, 'http://localhost:1@10.0.0.1'];
            // A real host and a password: refused too, the password would show in var_dump().
            yield "$key password" => [$key, 'https://user:' . self::SECRET . '@127.0.0.1:9'];
        }
    }

    /** @dataProvider userinfoUrls */
    #[DataProvider('userinfoUrls')]
    public function testUrlWithUserInfoIsRefusedWithoutEcho(string $key, string $url): void
    {
        try {
            $this->client([$key => $url] + ['base_url' => 'https://127.0.0.1:9']);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringStartsWith("config \"$key\" must not contain a user name or password", $e->getMessage());
            $this->assertStringNotContainsString('@', $e->getMessage());
            $userinfo = strstr(substr($url, strpos($url, '//') + 2), '@', true);
            $this->assertStringNotContainsString($userinfo, $e->getMessage());
            $this->assertStringNotContainsString(self::SECRET, (string) $e);
        }
    }

    public function testMisplacedSecretIsNotEchoed(): void
    {
        try {
            new Client(['appid' => 'wx1', 'mch_id' => '1', 'key' => str_repeat('k', 32), 'failover' => self::SECRET]);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringNotContainsString(self::SECRET, (string) $e);
        }
    }

    public function testKeyNeverShows(): void
    {
        $client = $this->client(['sign_type' => 'HMAC-SHA256']);
        ob_start();
        var_dump($client);
        print_r($client);
        var_export($client);
        debug_zval_dump($client);
        echo json_encode($client);
        var_dump((array) $client, get_object_vars($client));
        $out = (string) ob_get_clean();
        $this->assertStringNotContainsString(self::SECRET, $out);
        $this->assertStringContainsString('["key"]=>', $out, 'var_dump shows a redacted key');
        $this->assertStringContainsString('"***"', $out);
        $this->assertSame([], (array) $client);
        $this->assertSame('{}', json_encode($client));
    }

    public function testSerializeAndCloneAreRefused(): void
    {
        $client = $this->client();
        try {
            serialize($client);
            $this->fail('must throw');
        } catch (\Exception $e) {
            $this->assertSame("Serialization of 'WxPay\\Client' is not allowed", $e->getMessage());
        }
        $this->expectException(\Error::class);
        $copy = clone $client;
        unset($copy);
    }

    public function testClassIsFinalWithoutDynamicProperties(): void
    {
        $this->assertTrue((new \ReflectionClass(Client::class))->isFinal());
        $client = $this->client();
        $this->expectException(\Error::class);
        $this->expectExceptionMessage('Cannot create dynamic property');
        $client->{'x'} = 1;
    }

    public function testConstructorConfigIsRedactedInTraces(): void
    {
        $param = (new \ReflectionMethod(Client::class, '__construct'))->getParameters()[0];
        $this->assertSame(['SensitiveParameter'], array_map(fn ($a) => $a->getName(), $param->getAttributes()));
        try {
            new Client(['key' => self::SECRET, 'appid' => 'wx1']);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $arg = $e->getTrace()[0]['args'][0] ?? null;
            $this->assertInstanceOf(\SensitiveParameterValue::class, $arg);
            $this->assertStringNotContainsString(self::SECRET, $e->getTraceAsString());
            $this->assertStringNotContainsString(self::SECRET, print_r($e->getTrace()[0], true));
            $this->assertStringNotContainsString(self::SECRET, (string) $e);
        }
    }

    public function testSignAndVerifyUseTheConfiguredType(): void
    {
        $client = $this->client(['sign_type' => 'HMAC-SHA256']);
        $params = ['body' => 'x', 'total_fee' => 88, 'sign_type' => 'HMAC-SHA256'];
        $sign = $client->sign($params);
        $this->assertSame(Signer::sign($params, self::SECRET, 'HMAC-SHA256'), $sign);
        $this->assertTrue($client->verify($params + ['sign' => $sign]));
        $md5 = ['sign_type' => 'MD5'] + $params;
        $this->assertFalse($client->verify($md5 + ['sign' => Signer::sign($md5, self::SECRET)]));
    }

    public function testSignRefusesAnotherSignTypeThanTheClients(): void
    {
        $client = $this->client(['sign_type' => 'HMAC-SHA256']);
        try {
            $client->sign(['a' => '1', 'sign_type' => 'MD5']);
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertSame(
                'sign_type "MD5" in the parameters differs from HMAC-SHA256, the type they are signed with',
                $e->getMessage()
            );
        }
        // Whatever sign() returns, verify() accepts.
        foreach ([['a' => '1'], ['a' => '1', 'sign_type' => 'HMAC-SHA256'], ['a' => '1', 'sign_type' => '']] as $params) {
            $this->assertTrue($client->verify($params + ['sign' => $client->sign($params)]));
        }
    }

    public function testJsapiParams(): void
    {
        foreach (['MD5', 'HMAC-SHA256'] as $type) {
            $params = $this->client(['sign_type' => $type])->jsapiParams('wx201410272009395522657a690389285100');
            $this->assertSame(['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'], array_keys($params));
            $this->assertSame('wx1', $params['appId']);
            $this->assertSame('prepay_id=wx201410272009395522657a690389285100', $params['package']);
            $this->assertSame($type, $params['signType']);
            $this->assertMatchesRegularExpression('/^\d{10}$/', $params['timeStamp']);
            $this->assertMatchesRegularExpression('/^[0-9A-Za-z]{32}$/', $params['nonceStr']);
            $paySign = $params['paySign'];
            unset($params['paySign']);
            $this->assertSame(Signer::sign($params, self::SECRET, $type), $paySign);
        }
    }

    public function testJsapiAndAppParamsInServiceProviderMode(): void
    {
        $client = $this->client(['sub_appid' => 'wxSUB', 'sub_mch_id' => '2000']);
        $this->assertSame('wxSUB', $client->jsapiParams('p')['appId']);
        $app = $client->appParams('p');
        $this->assertSame('2000', $app['partnerid']);
        $this->assertSame('wxSUB', $app['appid']);
    }

    public function testAppParams(): void
    {
        $params = $this->client()->appParams('WX1217752501201407033233368018');
        $this->assertSame(
            ['appid', 'partnerid', 'prepayid', 'package', 'noncestr', 'timestamp', 'sign'],
            array_keys($params)
        );
        $this->assertSame('Sign=WXPay', $params['package']);
        $this->assertSame('1000', $params['partnerid']);
        $this->assertTrue(Signer::verify($params, self::SECRET));
    }

    public function testNativeUrl(): void
    {
        $url = $this->client(['sign_type' => 'HMAC-SHA256'])->nativeUrl('sku 1');
        $this->assertStringStartsWith('weixin://wxpay/bizpayurl?sign=', $url);
        parse_str((string) parse_url($url, PHP_URL_QUERY), $q);
        $this->assertSame('sku 1', $q['product_id']);
        $this->assertSame(['sign', 'appid', 'mch_id', 'product_id', 'time_stamp', 'nonce_str'], array_keys($q));
        $this->assertTrue(Signer::verify($q, self::SECRET, 'MD5'), 'bizpayurl is always MD5');
    }

    public function testBuildersRefuseEmptyIds(): void
    {
        $client = $this->client();
        foreach (['jsapiParams', 'appParams', 'nativeUrl'] as $method) {
            try {
                $client->$method('');
                $this->fail("$method must throw");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('must not be empty', $e->getMessage());
            }
        }
    }

    /** @return iterable<string, array{string, string}> */
    public static function misusedPrepayIds(): iterable
    {
        yield 'the package value' => [
            'prepay_id=wx201410272009395522657a690389285100',
            'without "prepay_id=": pass $result[\'prepay_id\']',
        ];
    }

    /** @dataProvider misusedPrepayIds */
    #[DataProvider('misusedPrepayIds')]
    public function testBuildersRefuseMisusedPrepayIdsWithTheFix(string $prepayId, string $expected): void
    {
        $client = $this->client();
        foreach (['jsapiParams', 'appParams'] as $method) {
            try {
                $client->$method($prepayId);
                $this->fail("$method must throw");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString($expected, $e->getMessage(), $method);
            }
        }
    }

    public function testNotifyHelpersWorkWithNotifiesFixture(): void
    {
        $client = new Client(Notifies::config());
        $this->assertSame('A1001', $client->parseNotify(Notifies::payment())['out_trade_no']);
    }
}
