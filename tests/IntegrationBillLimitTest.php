<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Bill;
use WxPay\HttpException;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\UsesMock;

/**
 * Finding 10 (issue 10): bills download outside PHP's memory_limit. `bill_max_bytes` bounds
 * them, and a bill that would not fit in memory_limit is an exception, not a fatal error
 * that leaves the downloaded copy allocated in the worker.
 */
final class IntegrationBillLimitTest extends TestCase
{
    use UsesMock;

    private const MIB = 1 << 20;

    /** The date of a bill that holds a fresh paid order. */
    private function billDate(): string
    {
        $paid = $this->paidOrder($this->mock->client(), self::newNo('L'), 100);
        return substr($paid['time_end'], 0, 8);
    }

    public function testBillsOverBillMaxBytesAreRefusedNamingTheSetting(): void
    {
        $billDate = $this->billDate();
        $this->mock->faults(['bill_bytes' => self::MIB + 1, 'path' => 'pay/downloadbill']);
        $client = $this->mock->client(['bill_max_bytes' => self::MIB]);
        $refusals = [
            // Text: stopped while it downloads.
            '' => '/pay/downloadbill on ' . $this->mock->url . ': the answer is larger than bill_max_bytes (1048576 bytes)',
            // Gzip (a few KiB): stopped while it inflates.
            'GZIP' => 'bill download: the bill inflates to more than bill_max_bytes (1048576 bytes)',
        ];
        foreach ($refusals as $tar => $message) {
            try {
                $client->downloadBill(['bill_date' => $billDate, 'tar_type' => $tar ?: null]);
                $this->fail("tar_type '$tar': must throw");
            } catch (HttpException $e) {
                $this->assertStringEndsWith($message, $e->getMessage(), "tar_type '$tar'");
            }
        }
        // With the default limit (64 MiB) the same bill downloads and every row parses.
        $text = $this->mock->client()->downloadBill(['bill_date' => $billDate, 'tar_type' => 'GZIP']);
        $this->assertGreaterThan(self::MIB, strlen($text));
        $bill = Bill::parse($text);
        $this->assertSame(substr_count($text, "\n") - 3, count($bill['rows']));
    }

    /**
     * A bill larger than what memory_limit leaves used to end the request with "Allowed
     * memory size exhausted" while the downloaded copy (outside memory_limit) stayed
     * allocated for the rest of the worker's life: 210 MB per such request, measured. Now it
     * is an exception, the copy is freed, and the script carries on.
     */
    public function testABillBeyondMemoryLimitIsAnExceptionAndItsBufferIsFreed(): void
    {
        $so = Extension::file() ?? self::markTestSkipped('cannot tell where the wxpay extension was loaded from');
        $billDate = $this->billDate();
        $this->mock->faults(['bill_bytes' => 40 * self::MIB, 'path' => 'pay/downloadbill']);
        $script = sprintf(
            '$rss = fn () => preg_match("/VmRSS:\\s+(\\d+)/", file_get_contents("/proc/self/status"), $m) ? (int) $m[1] : 0;
            $client = new WxPay\Client(%s);
            $before = $rss();
            try {
                $client->downloadBill(["bill_date" => %s]);
                echo "downloaded\n";
            } catch (WxPay\Exception $e) {
                echo get_class($e), ": ", $e->getMessage(), "\n";
            }
            echo "growth_kb=", $rss() - $before, "\n";',
            var_export($this->mock->config(), true),
            var_export($billDate, true)
        );
        [$code, $out, $err] = Extension::runPhp([
            '-n', '-d', 'extension=' . $so, '-d', 'memory_limit=32M', '-d', 'display_errors=stderr', '-r', $script,
        ]);
        $this->assertSame(0, $code, $out . $err);
        $this->assertSame('', $err);
        $this->assertMatchesRegularExpression(
            '/^WxPay\\\\Exception: downloadbill: the bill of 4194\d{4} bytes does not fit in PHP\'s memory_limit '
            . '\(33554432 bytes, \d+ in use\): raise memory_limit, or lower bill_max_bytes to refuse such bills '
            . 'before they download\n/',
            $out
        );
        preg_match('/growth_kb=(-?\d+)/', $out, $m);
        // The 40 MiB copy is gone; what stays is the pool, TLS state and allocator slack.
        $this->assertLessThan(8 << 10, (int) $m[1], $out);
    }
}
