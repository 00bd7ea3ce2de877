<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\InvalidArgumentException;
use WxPay\Notify;
use WxPay\Signer;
use WxPay\Xml;
use WxPay\XmlException;

/**
 * The hot calls (src/direct.rs) read their arguments straight from the engine's frame when
 * they have the declared types and hand every other call to the general path. Both ways
 * must answer alike: same results for values PHP coerces, same errors for counts, names
 * and types, exceptions that point at the caller's line.
 */
final class DirectHandlersTest extends TestCase
{
    private const KEY = '192006250b4c09247ec02edce69f6a2d';

    private const ORDER = [
        'appid' => 'wx2421b1c4370ec43b',
        'mch_id' => '10000100',
        'nonce_str' => '1add1a30ac87aa2db72f57a2375d8fec',
        'body' => 'JSAPI支付测试',
        'out_trade_no' => '1415659990',
        'total_fee' => 88,
        'trade_type' => 'NATIVE',
        'product_id' => '12235413214070356458058',
    ];

    private static function client(): Client
    {
        return new Client([
            'appid' => 'wx2421b1c4370ec43b',
            'mch_id' => '10000100',
            'key' => self::KEY,
            'base_url' => 'http://127.0.0.1:9',
        ]);
    }

    private static function stringable(string $text): \Stringable
    {
        return new class ($text) implements \Stringable {
            public function __construct(private readonly string $text)
            {
            }

            public function __toString(): string
            {
                return $this->text;
            }
        };
    }

    /** A notify of the bench's shape, signed with KEY, as XML. */
    private static function notifyBody(): string
    {
        $fields = self::ORDER + [
            'result_code' => 'SUCCESS',
            'return_code' => 'SUCCESS',
            'transaction_id' => '1004400740201409030005092168',
            'openid' => 'oUpF8uMEb4qRXf22hE3X68TekukE',
        ];
        $fields['total_fee'] = '88';
        $fields['sign'] = Signer::sign($fields, self::KEY);
        return Xml::encode($fields);
    }

    /** Calls `$f` from code without strict_types, where PHP coerces scalar arguments. */
    private static function coercively(callable $f, mixed ...$args): mixed
    {
        static $call = null;
        $call ??= eval('return static fn (callable $f, array $args) => $f(...$args);');
        return $call($f, $args);
    }

    public function testCoercedArgumentsGiveWhatExactOnesGive(): void
    {
        $key = self::stringable(self::KEY);
        $md5 = self::stringable('MD5');
        $this->assertSame(Signer::sign(self::ORDER, self::KEY), self::coercively([Signer::class, 'sign'], self::ORDER, $key));
        $this->assertSame(Signer::sign(self::ORDER, self::KEY), self::coercively([Signer::class, 'sign'], self::ORDER, self::KEY, $md5));
        $this->assertSame(
            Xml::encodeSigned(self::ORDER, self::KEY),
            self::coercively([Xml::class, 'encodeSigned'], self::ORDER, $key, $md5)
        );
        $body = self::notifyBody();
        $this->assertSame(Xml::decode($body), self::coercively([Xml::class, 'decode'], self::stringable($body)));
        $client = self::client();
        $this->assertSame($client->parseNotify($body), self::coercively([$client, 'parseNotify'], self::stringable($body)));
        $this->assertSame(['n' => '5'], self::coercively([Xml::class, 'decode'], '<xml><n>5</n></xml>'));
        // An int where a string is declared: PHP's decimal text.
        $this->assertSame(Signer::sign(self::ORDER, '12345'), self::coercively([Signer::class, 'sign'], self::ORDER, 12345));
    }

    public function testNamedAndReferencedArgumentsGiveWhatPositionalOnesGive(): void
    {
        $expected = Signer::sign(self::ORDER, self::KEY, 'MD5');
        $this->assertSame($expected, Signer::sign(key: self::KEY, params: self::ORDER));
        $this->assertSame($expected, Signer::sign(signType: 'MD5', key: self::KEY, params: self::ORDER));
        $params = self::ORDER;
        $alias = &$params;
        $this->assertSame($expected, \call_user_func_array([Signer::class, 'sign'], [&$params, self::KEY]));
        $this->assertSame(self::client()->buildRequest(self::ORDER), Xml::encodeSigned(key: self::KEY, params: self::ORDER));
        unset($alias);
    }

    public function testWrongCountsAreArgumentCountErrors(): void
    {
        $client = self::client();
        $calls = [
            'WxPay\Signer::sign() expects at most 3 arguments, 4 given' => fn () => Signer::sign(self::ORDER, self::KEY, 'MD5', 4),
            'WxPay\Signer::sign() expects at least 2 arguments, 1 given' => fn () => Signer::sign(self::ORDER),
            'WxPay\Xml::encodeSigned() expects at most 3 arguments, 4 given' => fn () => Xml::encodeSigned(self::ORDER, self::KEY, 'MD5', 4),
            'WxPay\Xml::decode() expects exactly 1 argument, 2 given' => fn () => Xml::decode('<xml/>', 2),
            'WxPay\Client::buildRequest() expects exactly 1 argument, 0 given' => fn () => $client->buildRequest(),
            'WxPay\Client::parseNotify() expects exactly 1 argument, 2 given' => fn () => $client->parseNotify('', 2),
            'WxPay\Client::handleNotify() expects exactly 2 arguments, 1 given' => fn () => $client->handleNotify(''),
            'WxPay\Notify::success() expects exactly 0 arguments, 1 given' => fn () => Notify::success(1),
        ];
        $this->assertEachThrows(\ArgumentCountError::class, $calls);
    }

    public function testWrongTypesAreTypeErrorsNamingTheParameter(): void
    {
        $client = self::client();
        $calls = [
            'WxPay\Signer::sign(): Argument #1 ($params) must be of type array, string given' => fn () => Signer::sign('x', self::KEY),
            'WxPay\Signer::sign(): Argument #2 ($key) must be of type string, array given' => fn () => Signer::sign([], []),
            'WxPay\Xml::encodeSigned(): Argument #3 ($signType) must be of type string, null given' => fn () => Xml::encodeSigned([], self::KEY, null),
            'WxPay\Client::buildRequest(): Argument #1 ($params) must be of type array, int given' => fn () => $client->buildRequest(1),
            'WxPay\Client::handleNotify(): Argument #2 ($onPaid) must be a valid callback, function "nope" not found or invalid function name'
                => fn () => $client->handleNotify('<xml/>', 'nope'),
        ];
        $this->assertEachThrows(\TypeError::class, $calls);
    }

    /** @param array<string, \Closure> $calls expected message => call */
    private function assertEachThrows(string $class, array $calls): void
    {
        foreach ($calls as $message => $call) {
            try {
                $call();
                $this->fail("no error for: $message");
            } catch (\Throwable $e) {
                $this->assertInstanceOf($class, $e, $message);
                $this->assertSame($message, $e->getMessage());
            }
        }
    }

    public function testRefusalsPointAtTheCallersLine(): void
    {
        $cases = [
            [InvalidArgumentException::class, fn () => Signer::sign(self::ORDER, self::KEY, 'SHA1'), __LINE__],
            [InvalidArgumentException::class, fn () => self::client()->buildRequest(['sign' => 'x']), __LINE__],
            [XmlException::class, fn () => Xml::decode('<xml><a>1</a><a>2</a></xml>'), __LINE__],
        ];
        foreach ($cases as [$class, $call, $line]) {
            try {
                $call();
                $this->fail("no $class");
            } catch (\Exception $e) {
                $this->assertInstanceOf($class, $e);
                $this->assertSame(__FILE__, $e->getFile());
                $this->assertSame($line, $e->getLine());
            }
        }
    }

    public function testHandleNotifyCallsTheCallbackWithTheVerifiedFields(): void
    {
        $seen = [];
        $reply = self::client()->handleNotify(self::notifyBody(), function (array $notify, bool $paid) use (&$seen): bool {
            $seen[] = [$notify['out_trade_no'], $paid];
            return true;
        });
        $this->assertSame(Notify::success(), $reply);
        $this->assertSame([['1415659990', true]], $seen);
    }
}
