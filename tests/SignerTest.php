<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\InvalidArgumentException;
use WxPay\Signer;
use WxPay\Tests\Support\Vectors;

final class SignerTest extends TestCase
{
    /** @return iterable<string, array{array<string, mixed>}> */
    public static function vectors(): iterable
    {
        foreach (Vectors::load('sign.json') as $vector) {
            yield $vector['id'] => [$vector];
        }
    }

    /** @dataProvider vectors */
    #[DataProvider('vectors')]
    public function testVectorSignsAndVerifies(array $v): void
    {
        $this->assertSame($v['sign'], Signer::sign($v['params'], $v['key'], $v['sign_type']));
        $signed = $v['params'] + ['sign' => $v['sign']];
        $this->assertTrue(Signer::verify($signed, $v['key'], $v['sign_type']));
        $other = $v['sign_type'] === 'MD5' ? 'HMAC-SHA256' : 'MD5';
        $this->assertFalse(Signer::verify($signed, $v['key'], $other), 'verification is pinned');
        $this->assertFalse(Signer::verify($signed, $v['key'] . 'x', $v['sign_type']));
    }

    public function testDefaultTypeIsMd5AndSortIsByBytes(): void
    {
        $v = Vectors::byId('sign.json')['V1'];
        $shuffled = array_reverse($v['params'], true);
        $this->assertSame($v['sign'], Signer::sign($shuffled, $v['key']));
        // Case-sensitive byte order: "B" < "a", "a1" < "a_1".
        $expected = strtoupper(md5('A=0&B=1&a=2&a1=3&a_1=4&key=k'));
        $this->assertSame($expected, Signer::sign(['a_1' => 4, 'a' => '2', 'a1' => 3, 'B' => '1', 'A' => 0], 'k'));
    }

    public function testIntsAreValuesNullIsAbsentZeroIsKept(): void
    {
        $this->assertSame(strtoupper(md5('a=0&b=5&c=0&key=k')), Signer::sign(
            ['a' => 0, 'b' => 5, 'c' => '0', 'd' => null, 'e' => ''],
            'k'
        ));
        $this->assertSame(strtoupper(md5('key=k')), Signer::sign([], 'k'));
        $this->assertSame(strtoupper(md5('n=-42&key=k')), Signer::sign(['n' => -42], 'k'));
    }

    public function testDetailArrayIsSignedAsJson(): void
    {
        $detail = ['goods_detail' => [['goods_id' => 'g1', 'quantity' => 2, 'price' => 44]]];
        $json = '{"goods_detail":[{"goods_id":"g1","price":44,"quantity":2}]}';
        $fromArray = Signer::sign(['detail' => $detail], 'k');
        $this->assertSame(strtoupper(md5('detail=' . $json . '&key=k')), $fromArray);
    }

    /** @return iterable<string, array{mixed, string}> */
    public static function badValues(): iterable
    {
        yield 'float' => [0.88, 'float given (amounts are integer fen)'];
        yield 'true' => [true, 'bool given'];
        yield 'false' => [false, 'bool given'];
        yield 'array' => [[1], 'array given'];
        yield 'object' => [new \stdClass(), 'object given'];
    }

    /** @dataProvider badValues */
    #[DataProvider('badValues')]
    public function testBadValuesAreRefusedNamingTheKey(mixed $value, string $why): void
    {
        try {
            Signer::sign(['body' => 'x', 'total_fee' => $value], 'k');
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('"total_fee"', $e->getMessage());
            $this->assertStringContainsString($why, $e->getMessage());
        }
    }

    /** @return iterable<string, array{array<int|string, mixed>}> */
    public static function badNames(): iterable
    {
        yield 'equals' => [['a=b' => '1']];
        yield 'ampersand' => [['a&b' => '1']];
        yield 'space' => [['a b' => '1']];
        yield 'int key' => [['x']];
        yield 'empty' => [['' => '1']];
    }

    /** @dataProvider badNames */
    #[DataProvider('badNames')]
    public function testBadParameterNamesAreRefused(array $params): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessageMatches('/parameter name|names must be strings/');
        Signer::sign($params, 'k');
    }

    public function testBadSignTypeAndEmptyKey(): void
    {
        try {
            Signer::sign(['a' => '1'], 'k', 'md5');
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertSame('signType must be one of MD5, HMAC-SHA256, "md5" given', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('key must not be empty');
        Signer::sign(['a' => '1'], '');
    }

    public function testVerifyFailsClosed(): void
    {
        $params = ['appid' => 'wx1', 'total_fee' => '88'];
        $sign = Signer::sign($params, 'k');
        $this->assertTrue(Signer::verify($params + ['sign' => $sign], 'k'));
        $this->assertFalse(Signer::verify($params, 'k'), 'missing sign');
        $this->assertFalse(Signer::verify($params + ['sign' => ''], 'k'), 'empty sign');
        $this->assertFalse(Signer::verify($params + ['sign' => strtolower($sign)], 'k'), 'lowercase');
        $this->assertFalse(Signer::verify($params + ['sign' => $sign . 'A'], 'k'), 'wrong length');
        $this->assertFalse(Signer::verify(['total_fee' => '1'] + $params + ['sign' => $sign], 'k'), 'tampered');
        $this->assertFalse(Signer::verify($params + ['extra' => 'x', 'sign' => $sign], 'k'), 'added field');
        // "0E…" magic-hash strings never compare equal by number, as PHP's == would.
        $this->assertFalse(Signer::verify($params + ['sign' => '0E' . str_repeat('0', 30)], 'k'));
    }

    public function testKeyThatIsNotUtf8IsRefused(): void
    {
        foreach ([fn () => Signer::sign(['a' => '1'], "k\xff"), fn () => Signer::verify(['a' => '1', 'sign' => 'X'], "k\xff")] as $call) {
            try {
                $call();
                $this->fail('must throw');
            } catch (InvalidArgumentException $e) {
                $this->assertSame('key must be UTF-8 text', $e->getMessage());
            }
        }
    }

    public function testSignRefusesADeclaredSignTypeOfAnotherAlgorithm(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('sign_type "MD5" in the parameters differs from HMAC-SHA256');
        Signer::sign(['a' => '1', 'sign_type' => 'MD5'], 'k', 'HMAC-SHA256');
    }

    public function testSignTypeDowngradeIsRefused(): void
    {
        $params = ['a' => '1', 'sign_type' => 'MD5'];
        $params['sign'] = Signer::sign($params, 'k', 'MD5');
        $this->assertTrue(Signer::verify($params, 'k', 'MD5'));
        $this->assertFalse(Signer::verify($params, 'k', 'HMAC-SHA256'));
    }
}
