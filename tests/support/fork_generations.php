<?php

/**
 * Forks `$argv[1]` generations of one process: each makes a call against the mock, counts
 * its open file descriptors, forks the next and waits for it. The last prints the counts,
 * one per generation, as JSON. The client config comes as JSON on standard input.
 *
 *   php -d extension=… fork_generations.php 4 < config.json
 */

declare(strict_types=1);

$config = json_decode((string) stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$generations = (int) ($argv[1] ?? 4);
$client = new WxPay\Client($config);
$counts = [];
for ($generation = 0;; $generation++) {
    $client->unifiedOrder([
        'body' => 'fork', 'out_trade_no' => 'FORK' . getmypid() . 'G' . $generation, 'total_fee' => 1,
        'trade_type' => 'NATIVE', 'product_id' => 'sku-1',
    ]);
    // Not /proc/self: ZTS PHP's realpath cache would resolve it to the parent's pid.
    $counts[] = count(scandir('/proc/' . getmypid() . '/fd')) - 2;
    if ($generation + 1 >= $generations) {
        break;
    }
    $child = pcntl_fork();
    if ($child === -1) {
        fwrite(STDERR, "pcntl_fork failed\n");
        exit(2);
    }
    if ($child > 0) {
        pcntl_waitpid($child, $status);
        exit(pcntl_wifexited($status) ? pcntl_wexitstatus($status) : 3);
    }
}
echo json_encode($counts), "\n";
