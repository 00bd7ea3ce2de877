<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\UsesMock;

/** How the extension is loaded and how it lives through forks, each in a PHP of its own. */
final class ProcessTest extends TestCase
{
    use UsesMock;

    private const SECRET = 'SECRET-loaded-with-dl-0000000000';

    private static function extension(): string
    {
        return Extension::file() ?? self::markTestSkipped('cannot tell where the wxpay extension was loaded from');
    }

    /** dl() runs module start but not the engine's post-startup hook: the secret parameters are marked anyway. */
    public function testConfigIsSensitiveWhenLoadedWithDl(): void
    {
        $so = self::extension();
        $script = sprintf(
            'dl(%1$s);
            $param = (new ReflectionMethod(WxPay\Client::class, "__construct"))->getParameters()[0];
            echo json_encode(array_map(fn ($a) => $a->getName(), $param->getAttributes())), "\n";
            try {
                WxPay\Signer::sign(["a=b" => 1], %2$s);
            } catch (WxPay\InvalidArgumentException $e) {
                echo get_class($e->getTrace()[0]["args"][1]), "\n";
            }
            try {
                new WxPay\Client(["appid" => "wx1", "key" => %2$s]);
            } catch (WxPay\ConfigException $e) {
                echo get_class($e->getTrace()[0]["args"][0]), "\n", $e, "\n";
            }',
            var_export(basename($so), true),
            var_export(self::SECRET, true)
        );
        [$code, $out, $err] = Extension::runPhp([
            '-n', '-d', 'enable_dl=1', '-d', 'extension_dir=' . dirname($so),
            '-d', 'zend.exception_ignore_args=0', '-d', 'display_errors=stderr', '-r', $script,
        ]);
        $this->assertSame(0, $code, $out . $err);
        $this->assertSame('', $err);
        [$attributes, $signerArg, $arg] = explode("\n", $out);
        $this->assertSame('["SensitiveParameter"]', $attributes);
        $this->assertSame('SensitiveParameterValue', $signerArg);
        $this->assertSame('SensitiveParameterValue', $arg);
        $this->assertStringNotContainsString(self::SECRET, $out);
    }

    /** A child that ends without a call leaves the parent's pooled connection working. */
    public function testChildThatExitsWithoutACallLeavesTheParentsPoolAlone(): void
    {
        $so = self::extension();
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is needed');
        }
        $script = '$client = new WxPay\Client(json_decode(stream_get_contents(STDIN), true));
            $order = fn ($no) => $client->unifiedOrder(
                ["body" => "b", "out_trade_no" => $no, "total_fee" => 1, "trade_type" => "NATIVE", "product_id" => "p"]
            );
            $order("EXIT" . getmypid() . "A");
            $child = pcntl_fork();
            if ($child === 0) {
                exit(0);
            }
            pcntl_waitpid($child, $status);
            $started = microtime(true);
            $order("EXIT" . getmypid() . "B");
            printf("%.3f", microtime(true) - $started);';
        [$code, $out, $err] = Extension::runPhp(
            ['-d', 'extension=' . $so, '-r', $script],
            json_encode($this->mock->config(['retries' => 0]), JSON_THROW_ON_ERROR)
        );
        $this->assertSame(0, $code, $out . $err);
        $this->assertLessThan(1.0, (float) $out, 'seconds for the parent\'s call after the child ended');
    }

    /**
     * A CLI worker that forks, generation after generation, each making calls: a child closes
     * the descriptors of the HTTP runtime it inherited, so the count stays flat.
     */
    public function testDescriptorsDoNotPileUpOverForkGenerations(): void
    {
        $so = self::extension();
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is needed');
        }
        [$code, $out, $err] = Extension::runPhp(
            ['-d', 'extension=' . $so, __DIR__ . '/support/fork_generations.php', '5'],
            json_encode($this->mock->config(), JSON_THROW_ON_ERROR)
        );
        $this->assertSame(0, $code, $out . $err);
        $counts = json_decode($out, true, 512, JSON_THROW_ON_ERROR);
        $this->assertCount(5, $counts);
        $this->assertSame(array_fill(0, 5, $counts[0]), $counts, 'descriptors per generation: ' . $out);
    }
}
