<?php

/**
 * Issue 10: a 1 MiB body of any shape must be refused or read in under 50 ms. Times every
 * shape of tests/support/HostileBodies.php through Xml::decode, Client::parseNotify and
 * Client::parseRefundNotify, and as a request to wxpay-mock (whose XML reader is the same
 * decoder). Checks each answer as tests/BadInputTest.php does and prints, per call, the
 * median CPU time and the median wall time of ROUNDS runs: CPU time is what the work costs
 * whatever else the machine runs (getrusage() here; for wxpay-mock, the on-CPU time of all
 * its threads from /proc, so the round trip's transfer is not counted), wall time is what a
 * caller waited. Exits 1 if a median CPU time is over the budget. `make hostile` (also run
 * by `make bench`): release build.
 */

declare(strict_types=1);

use WxPay\Tests\Support\HostileBodies;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;

require_once __DIR__ . '/../tests/support/Notifies.php';
require_once __DIR__ . '/../tests/support/Mock.php';
require_once __DIR__ . '/../tests/support/HostileBodies.php';

const ROUNDS = 7;
const BUDGET_MS = 50.0;

/** What a call gave: a field count, or the exception's class and message. */
function answer(callable $call): array|int
{
    try {
        $got = $call();
        return is_array($got) ? count($got) : $got;
    } catch (Throwable $e) {
        return [get_class($e), $e->getMessage()];
    }
}

function answers_match(array|int $expected, array|int $got): bool
{
    if (is_int($expected) || is_int($got)) {
        return $expected === $got;
    }
    return $got[0] === $expected[0] && str_contains($got[1], $expected[1]);
}

/** CPU time this process has used, in ms. */
function own_cpu_ms(): float
{
    $u = getrusage();
    return ($u['ru_utime.tv_sec'] + $u['ru_stime.tv_sec']) * 1e3
        + ($u['ru_utime.tv_usec'] + $u['ru_stime.tv_usec']) / 1e3;
}

/** On-CPU time of every thread of process `$pid` (/proc/PID/task/TID/schedstat, ns), in ms. */
function process_cpu_ms(int $pid): float
{
    $files = glob("/proc/$pid/task/*/schedstat") ?: [];
    if ($files === []) {
        // Without schedstat (a kernel without CONFIG_SCHED_INFO) there is nothing to measure.
        throw new RuntimeException("no /proc/$pid/task/*/schedstat: cannot measure wxpay-mock's CPU time");
    }
    $ns = 0;
    foreach ($files as $file) {
        $ns += (int) explode(' ', (string) @file_get_contents($file))[0];
    }
    return $ns / 1e6;
}

/**
 * Median CPU and wall ms of ROUNDS runs after a warm-up; `$cpu` reads the CPU clock to use.
 *
 * @return array{float, float}
 */
function time_ms(callable $call, callable $cpu): array
{
    $median = static function (array $samples): float {
        sort($samples);
        return $samples[intdiv(count($samples), 2)];
    };
    $call();
    $cpuSamples = $wallSamples = [];
    for ($i = 0; $i < ROUNDS; $i++) {
        $cpuStart = $cpu();
        $start = hrtime(true);
        $call();
        $wallSamples[] = (hrtime(true) - $start) / 1e6;
        $cpuSamples[] = $cpu() - $cpuStart;
    }
    return [$median($cpuSamples), $median($wallSamples)];
}

/** The pid of the wxpay-mock using `$stateDir`. */
function mock_pid(string $stateDir): int
{
    foreach (glob('/proc/[0-9]*/cmdline') ?: [] as $file) {
        $argv = explode("\0", (string) @file_get_contents($file));
        if (str_ends_with($argv[0], 'wxpay-mock') && in_array($stateDir, $argv, true)) {
            return (int) basename(dirname($file));
        }
    }
    throw new RuntimeException("no wxpay-mock process with --state-dir $stateDir");
}

$mock = Mock::start();
$mockPid = mock_pid($mock->stateDir);
$client = new WxPay\Client(Notifies::config(['base_url' => 'http://127.0.0.1:9']));
$curl = curl_init();
curl_setopt_array($curl, [
    CURLOPT_URL => $mock->url . '/pay/orderquery',
    CURLOPT_POST => true,
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_CAINFO => $mock->ca,
    CURLOPT_TIMEOUT => 10,
]);
$post = static function (string $body) use ($curl): string {
    curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
    $reply = curl_exec($curl);
    if (!is_string($reply) || curl_getinfo($curl, CURLINFO_RESPONSE_CODE) !== 200) {
        throw new RuntimeException('wxpay-mock did not answer: ' . curl_error($curl));
    }
    return $reply;
};

printf(
    "wxpay hostile bodies: PHP %s, %s; median of %d runs, CPU ms and wall ms (budget: %.0f ms CPU)\n",
    PHP_VERSION,
    getenv('WXPAY_MOCK_BIN') ?: 'wxpay-mock',
    ROUNDS,
    BUDGET_MS
);
printf("%-34s %8s %15s %15s %15s %15s\n", 'shape', 'bytes', 'Xml::decode', 'parseNotify', 'parseRefund', 'wxpay-mock');
$over = [];
foreach (HostileBodies::shapes() + HostileBodies::refundShapes() as $shape => $case) {
    $body = $case['body'];
    $calls = [
        'decode' => fn () => Xml::decode($body),
        'notify' => fn () => $client->parseNotify($body),
        'refund' => fn () => $client->parseRefundNotify($body),
    ];
    $cells = [];
    foreach ($calls as $what => $call) {
        if (!isset($case[$what])) {
            $cells[] = '-';
            continue;
        }
        $got = answer($call);
        if (!answers_match($case[$what], $got)) {
            fwrite(STDERR, "hostile: $shape, $what: unexpected answer " . json_encode($got) . "\n");
            exit(1);
        }
        [$cpu, $wall] = time_ms(fn () => answer($call), 'own_cpu_ms');
        $cells[] = sprintf('%6.2f %6.2f', $cpu, $wall);
        if ($cpu > BUDGET_MS) {
            $over[] = "$shape ($what): $cpu ms";
        }
    }
    // The mock answers every one of them with a FAIL body (XML格式错误 or a refusal).
    $reply = Xml::decode($post($body));
    if (($reply['return_code'] ?? '') !== 'FAIL') {
        fwrite(STDERR, "hostile: $shape: wxpay-mock answered " . json_encode($reply) . "\n");
        exit(1);
    }
    [$cpu, $wall] = time_ms(fn () => $post($body), fn () => process_cpu_ms($mockPid));
    $cells[] = sprintf('%6.2f %6.2f', $cpu, $wall);
    if ($cpu > BUDGET_MS) {
        $over[] = "$shape (wxpay-mock): $cpu ms";
    }
    printf("%-34s %8d %15s %15s %15s %15s\n", $shape, strlen($body), ...$cells);
}
$mock->stop();
if ($over !== []) {
    fwrite(STDERR, "hostile: over the " . BUDGET_MS . " ms CPU budget: " . implode('; ', $over) . "\n");
    exit(1);
}
echo "every shape answered within the budget\n";
