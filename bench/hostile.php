<?php

/**
 * Issue 10: a 1 MiB body of any shape must be refused or read in under 50 ms. Times every
 * shape of tests/support/HostileBodies.php through Xml::decode, Client::parseNotify and
 * Client::parseRefundNotify, and as a request to wxpay-mock (whose XML reader is the same
 * decoder; the time is the whole round trip on loopback TLS). Checks each answer as
 * tests/BadInputTest.php does, prints the median and the slowest of ROUNDS runs, and exits 1
 * if any median is over the budget. `make hostile` (also run by `make bench`): release build.
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

/** @return array{float, float} median and slowest ms */
function time_ms(callable $call): array
{
    $samples = [];
    $call(); // warm-up
    for ($i = 0; $i < ROUNDS; $i++) {
        $start = hrtime(true);
        $call();
        $samples[] = (hrtime(true) - $start) / 1e6;
    }
    sort($samples);
    return [$samples[intdiv(ROUNDS, 2)], $samples[ROUNDS - 1]];
}

$mock = Mock::start();
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
    "wxpay hostile bodies: PHP %s, %s, median and slowest of %d runs, ms (budget %.0f ms)\n",
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
        [$median, $max] = time_ms(fn () => answer($call));
        $cells[] = sprintf('%6.2f / %6.2f', $median, $max);
        if ($median > BUDGET_MS) {
            $over[] = "$shape ($what): $median ms";
        }
    }
    // The mock answers every one of them with a FAIL body (XML格式错误 or a refusal).
    $reply = Xml::decode($post($body));
    if (($reply['return_code'] ?? '') !== 'FAIL') {
        fwrite(STDERR, "hostile: $shape: wxpay-mock answered " . json_encode($reply) . "\n");
        exit(1);
    }
    [$median, $max] = time_ms(fn () => $post($body));
    $cells[] = sprintf('%6.2f / %6.2f', $median, $max);
    if ($median > BUDGET_MS) {
        $over[] = "$shape (wxpay-mock): $median ms";
    }
    printf("%-34s %8d %15s %15s %15s %15s\n", $shape, strlen($body), ...$cells);
}
$mock->stop();
if ($over !== []) {
    fwrite(STDERR, "hostile: over the " . BUDGET_MS . " ms budget: " . implode('; ', $over) . "\n");
    exit(1);
}
echo "every shape answered within the budget\n";
