<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\Notify;
use WxPay\SignatureException;
use WxPay\Tests\Support\Notifies;

/** The opt-in of docs/migration.md §4: the previous sign type, for payment notifies, for a while. */
final class SignTypeSwitchTest extends TestCase
{
    private static function client(array $extra = []): Client
    {
        return new Client(Notifies::config(['sign_type' => 'HMAC-SHA256', 'base_url' => 'http://127.0.0.1:9'] + $extra));
    }

    private static function switching(int $until): Client
    {
        return self::client(['notify_previous_sign_type' => 'MD5', 'notify_previous_sign_type_until' => $until]);
    }

    public function testPinnedByDefault(): void
    {
        $this->expectException(SignatureException::class);
        self::client()->parseNotify(Notifies::payment('MD5'));
    }

    public function testThePreviousTypeIsAcceptedInsideTheWindow(): void
    {
        $client = self::switching(time() + 3600);
        $this->assertSame('A1001', $client->parseNotify(Notifies::payment('MD5'))['out_trade_no']);
        $this->assertSame('A1001', $client->parseNotify(Notifies::payment('HMAC-SHA256'))['out_trade_no']);
        $seen = [];
        $reply = $client->handleNotify(Notifies::payment('MD5'), function (array $n, bool $paid) use (&$seen): void {
            $seen[] = [$n['out_trade_no'], $paid];
        });
        $this->assertSame(Notify::success(), $reply);
        $this->assertSame([['A1001', true]], $seen);
        $this->assertStringContainsString('MD5 until', print_r($client, true));
    }

    public function testNotAfterTheWindow(): void
    {
        $client = self::switching(time() - 1);
        $this->assertSame('A1001', $client->parseNotify(Notifies::payment('HMAC-SHA256'))['out_trade_no']);
        $called = false;
        $reply = $client->handleNotify(Notifies::payment('MD5'), function () use (&$called): void {
            $called = true;
        });
        $this->assertStringContainsString('<return_code><![CDATA[FAIL]]></return_code>', $reply);
        $this->assertFalse($called);
    }

    public function testAForgeryIsRefusedUnderEitherType(): void
    {
        $forged = Notifies::payment('MD5');
        $forged = str_replace('<total_fee><![CDATA[88]]></total_fee>', '<total_fee><![CDATA[1]]></total_fee>', $forged);
        $this->expectException(SignatureException::class);
        self::switching(time() + 3600)->parseNotify($forged);
    }

    /** @return iterable<string, array{array<string, mixed>, string}> */
    public static function badWindows(): iterable
    {
        $soon = time() + 3600;
        yield 'no end' => [['notify_previous_sign_type' => 'MD5'], 'config "notify_previous_sign_type" needs "notify_previous_sign_type_until"'];
        yield 'no type' => [['notify_previous_sign_type_until' => $soon], 'config "notify_previous_sign_type_until" needs "notify_previous_sign_type"'];
        yield 'same type' => [['notify_previous_sign_type' => 'HMAC-SHA256', 'notify_previous_sign_type_until' => $soon], 'must differ from "sign_type" (HMAC-SHA256)'];
        yield 'for good' => [['notify_previous_sign_type' => 'MD5', 'notify_previous_sign_type_until' => time() + 8 * 86400], 'must be at most 7 days from now'];
        yield 'a date string' => [['notify_previous_sign_type' => 'MD5', 'notify_previous_sign_type_until' => '2026-12-08'], 'must be a Unix time (int seconds), string given'];
    }

    /** @dataProvider badWindows */
    #[\PHPUnit\Framework\Attributes\DataProvider('badWindows')]
    public function testBadWindowsAreRefused(array $extra, string $message): void
    {
        $this->expectException(ConfigException::class);
        $this->expectExceptionMessage($message);
        self::client($extra);
    }
}
