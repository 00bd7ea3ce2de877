<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\UsesMock;

/**
 * php/compat/README.md's migration example: the "before" (SDK) and "after" (wxpay) listings
 * differ only in their require lines, the "after" one is tests/compat-shop/native.php, and it
 * runs against wxpay-mock.
 */
final class CompatReadmeTest extends TestCase
{
    use UsesMock;

    private const README = __DIR__ . '/../php/compat/README.md';

    /** The ```php block after the marker comment. */
    private static function listing(string $readme, string $marker): string
    {
        $at = strpos($readme, "<!-- $marker");
        self::assertNotFalse($at, "marker $marker");
        self::assertSame(1, preg_match('/```php\n(.*?)```/s', $readme, $m, 0, $at));
        return $m[1];
    }

    /** @return list<string> */
    private static function requireLines(string $code): array
    {
        preg_match_all('/^require_once .*$/m', $code, $m);
        return $m[0];
    }

    public function testBeforeAndAfterDifferOnlyInTheirRequireLines(): void
    {
        $readme = (string) file_get_contents(self::README);
        $before = self::listing($readme, 'before');
        $after = self::listing($readme, 'after: tests/compat-shop/native.php');
        $this->assertSame((string) file_get_contents(__DIR__ . '/compat-shop/native.php'), $after);
        $strip = static fn (string $code) => preg_replace('/^require_once .*\n/m', '', $code);
        $this->assertSame($strip($before), $strip($after));
        $this->assertSame([
            "require_once __DIR__ . '/lib/WxPay.Api.php';",
            "require_once __DIR__ . '/example/WxPay.NativePay.php';",
            "require_once __DIR__ . '/WxPay.Config.php';",
        ], self::requireLines($before));
        $this->assertSame([
            "require_once __DIR__ . '/wxpay-compat/WxPay.Api.php';",
            "require_once __DIR__ . '/wxpay-compat/WxPay.NativePay.php';",
            "require_once __DIR__ . '/WxPay.Config.php';",
        ], self::requireLines($after));
    }

    public function testTheAfterListingRunsAgainstTheMock(): void
    {
        $so = Mock::extensionFile();
        if ($so === null) {
            $this->markTestSkipped('cannot tell where the wxpay extension was loaded from');
        }
        $env = [
            'SHOP_APPID' => $this->mock->appid,
            'SHOP_MCH_ID' => $this->mock->mchId,
            'SHOP_KEY' => $this->mock->apiKey,
            'SHOP_SIGN_TYPE' => 'MD5',
            'SHOP_BASE_URL' => $this->mock->url,
            'SHOP_CA' => $this->mock->ca,
            'SHOP_NOTIFY_URL' => 'http://127.0.0.1:9/notify.php',
        ] + getenv();
        $process = proc_open(
            [PHP_BINARY, '-d', "extension=$so", '-d', 'display_errors=stderr', __DIR__ . '/compat-shop/native.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env
        );
        $this->assertIsResource($process);
        $out = (string) stream_get_contents($pipes[1]);
        $err = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $this->assertSame(0, proc_close($process), $err);
        $this->assertSame('', $err);
        $page = json_decode($out, true);
        $this->assertIsArray($page, $out);
        $this->assertStringStartsWith('weixin://wxpay/bizpayurl?pr=', $page['mode2']);
        $this->assertSame('SUCCESS', $page['order']['result_code']);
        $this->assertTrue(Signer::verify($page['order'], $this->mock->apiKey, 'MD5'));
        parse_str((string) parse_url($page['mode1'], PHP_URL_QUERY), $mode1);
        $this->assertTrue(Signer::verify($mode1, $this->mock->apiKey, 'MD5'));
    }
}
