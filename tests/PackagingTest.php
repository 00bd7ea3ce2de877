<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;

/**
 * The install paths agree with each other and with the built extension: one version (the
 * Cargo workspace), the PIE/PECL metadata pointing at a real config.m4, stubs that load
 * nothing at run time, and a Debian ini that enables exactly this module.
 */
final class PackagingTest extends TestCase
{
    private const ROOT = __DIR__ . '/..';

    /** @return array<string, mixed> */
    private static function json(string $path): array
    {
        return json_decode((string) file_get_contents(self::ROOT . '/' . $path), true, 16, JSON_THROW_ON_ERROR);
    }

    public function testTheExtensionReportsTheWorkspaceVersion(): void
    {
        $cargo = (string) file_get_contents(self::ROOT . '/Cargo.toml');
        $this->assertSame(1, preg_match('/\[workspace\.package\]\s*\nversion = "([^"]+)"/', $cargo, $m));
        $this->assertSame($m[1], phpversion('wxpay'));
    }

    public function testComposerPackageIsAPieExtensionWithAConfigM4(): void
    {
        $composer = self::json('composer.json');
        $this->assertSame('php-ext', $composer['type']);
        $this->assertSame('wxpay', $composer['php-ext']['extension-name']);
        $configM4 = self::ROOT . '/' . $composer['php-ext']['build-path'] . '/config.m4';
        $this->assertFileExists($configM4);
        $this->assertStringContainsString('PHP_ARG_ENABLE([wxpay]', (string) file_get_contents($configM4));
        $this->assertStringStartsWith('>=8.2', $composer['require']['php']);
    }

    public function testStubPackageAutoloadsNothing(): void
    {
        $stubs = self::json('php/composer.json');
        $this->assertSame('library', $stubs['type']);
        $this->assertArrayNotHasKey('autoload', $stubs);
        $this->assertArrayNotHasKey('autoload-dev', $stubs);
    }

    public function testDebianIniLoadsTheModuleByName(): void
    {
        $ini = (string) file_get_contents(self::ROOT . '/php/wxpay.ini');
        $this->assertMatchesRegularExpression('/^extension=wxpay\.so$/m', $ini);
        $this->assertMatchesRegularExpression('/^; priority=\d+$/m', $ini, 'phpenmod reads the priority');
    }
}
