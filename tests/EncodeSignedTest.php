<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\InvalidArgumentException;
use WxPay\Signer;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;

/** Xml::encodeSigned and Client::buildRequest: one call for what Signer::sign + Xml::encode do. */
final class EncodeSignedTest extends TestCase
{
    private const KEY = '192006250b4c09247ec02edce69f6a2d';

    /** @return array<string, mixed> a unifiedorder request with every kind of value */
    private static function order(string $signType = 'MD5'): array
    {
        return [
            'out_trade_no' => 'A1001',
            'body' => '咖啡 ]]> & <b>' . "\r\n",
            'total_fee' => 88,
            'attach' => '',
            'device_info' => null,
            'detail' => ['goods_detail' => [['goods_id' => 'sku-1', 'quantity' => 1]]],
            'appid' => 'wx2421b1c4370ec43b',
            'mch_id' => '10000100',
            'nonce_str' => '1add1a30ac87aa2db72f57a2375d8fec',
            'trade_type' => 'NATIVE',
            'sign_type' => $signType,
        ];
    }

    /** The plain way: sort, sign, encode. */
    private static function signThenEncode(array $params, string $key, string $signType): string
    {
        ksort($params, SORT_STRING);
        $params['sign'] = Signer::sign($params, $key, $signType);
        return Xml::encode($params);
    }

    /** @return iterable<string, array{string}> */
    public static function signTypes(): iterable
    {
        yield 'MD5' => ['MD5'];
        yield 'HMAC-SHA256' => ['HMAC-SHA256'];
    }

    /** @dataProvider signTypes */
    #[DataProvider('signTypes')]
    public function testSameBodyAsSignThenEncodeOfTheSortedFields(string $signType): void
    {
        $params = self::order($signType);
        $body = Xml::encodeSigned($params, self::KEY, $signType);
        $this->assertSame(self::signThenEncode($params, self::KEY, $signType), $body);
        $this->assertStringStartsWith('<xml><appid><![CDATA[wx2421b1c4370ec43b]]></appid><attach><![CDATA[]]></attach>', $body);
        $decoded = Xml::decode($body);
        $this->assertSame(array_key_last($decoded), 'sign');
        $this->assertArrayNotHasKey('device_info', $decoded, 'null is absent');
        $this->assertSame('咖啡 ]]> & <b>' . "\r\n", $decoded['body']);
        $this->assertTrue(Signer::verify($decoded, self::KEY, $signType));
        // The array's order does not matter: the body is in signing order.
        $this->assertSame($body, Xml::encodeSigned(array_reverse($params, true), self::KEY, $signType));
    }

    public function testMd5IsTheDefaultAndNeedsNoSignType(): void
    {
        $params = ['b' => '2', 'a' => 1];
        $this->assertSame(self::signThenEncode($params, self::KEY, 'MD5'), Xml::encodeSigned($params, self::KEY));
        $this->assertSame('<xml><sign><![CDATA[' . Signer::sign([], self::KEY) . ']]></sign></xml>', Xml::encodeSigned([], self::KEY));
    }

    /** @dataProvider signTypes */
    #[DataProvider('signTypes')]
    public function testBuildRequestUsesTheClientsKeyAndType(string $signType): void
    {
        $client = new Client(Notifies::config(['sign_type' => $signType]));
        $params = self::order($signType);
        $this->assertSame(Xml::encodeSigned($params, Notifies::KEY, $signType), $client->buildRequest($params));
        $this->assertTrue($client->verify(Xml::decode($client->buildRequest($params))));
    }

    /** @return iterable<string, array{array<mixed>, string, string}> params, sign type, message */
    public static function refusals(): iterable
    {
        yield 'sign given' => [['a' => '1', 'sign' => 'X'], 'MD5',
            'sign is computed when the request is signed and must not be given'];
        yield 'HMAC without sign_type' => [['a' => '1'], 'HMAC-SHA256',
            'sign_type is not among the parameters: WeChat reads a request without it as MD5; add sign_type HMAC-SHA256'];
        yield 'HMAC with an empty sign_type' => [['sign_type' => ''], 'HMAC-SHA256',
            'sign_type is not among the parameters: WeChat reads a request without it as MD5; add sign_type HMAC-SHA256'];
        yield 'sign_type of another type' => [['sign_type' => 'MD5'], 'HMAC-SHA256',
            'sign_type "MD5" in the parameters differs from HMAC-SHA256, the type they are signed with'];
        yield 'float' => [['total_fee' => 0.01], 'MD5',
            'parameter "total_fee" must be a string or int, float given (amounts are integer fen)'];
        yield 'bad name' => [['bad name' => 'x'], 'MD5',
            'parameter name "bad name" is not allowed: use letters, digits, \'_\', \'-\' or \'.\', starting with a letter or \'_\''];
        yield 'int key' => [['x'], 'MD5', 'parameter names must be strings, int key 0 given'];
        yield 'control character' => [['a' => "bell\x07"], 'MD5',
            'field "a" contains the control character U+0007, which XML cannot carry'];
        yield 'not UTF-8' => [['a' => "\xff"], 'MD5', 'field "a" is not valid UTF-8'];
        yield 'unknown sign type' => [['a' => '1'], 'SHA1', 'signType must be one of MD5, HMAC-SHA256, "SHA1" given'];
    }

    /** @dataProvider refusals */
    #[DataProvider('refusals')]
    public function testRefusalsNameTheRuleAndNeverTheKey(array $params, string $signType, string $message): void
    {
        try {
            Xml::encodeSigned($params, self::KEY, $signType);
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertSame($message, $e->getMessage());
            $this->assertStringNotContainsString(self::KEY, (string) $e);
        }
    }

    public function testBadKeysAreRefused(): void
    {
        foreach (['' => 'key must not be empty', "\xff\xfe" => 'key must be UTF-8 text'] as $key => $message) {
            try {
                Xml::encodeSigned(['a' => '1'], (string) $key);
                $this->fail('must throw');
            } catch (InvalidArgumentException $e) {
                $this->assertSame($message, $e->getMessage());
            }
        }
    }
}
