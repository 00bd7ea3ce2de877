<?php

/** make bench-fpm: prints the table of the runs' JSON lines (bench/fpm/run.sh). */

declare(strict_types=1);

[, $file, $php, $workers, $connections, $cap] = $argv;
$rounds = [];
foreach (file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    $run = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
    $run['rate'] = $run['requests'] / $run['seconds'];
    $rounds[$run['name']][] = $run;
}
// Each variant's median round by requests/s (the rounds ran in turn).
$runs = [];
foreach ($rounds as $name => $list) {
    usort($list, static fn (array $a, array $b): int => $a['rate'] <=> $b['rate']);
    $runs[] = $list[intdiv(count($list), 2)] + ['rounds' => count($list),
        'errors_all' => array_sum(array_map(static fn (array $r): int => $r['errors'] + $r['bad'], $list))];
}
printf(
    "\nbench-fpm: nginx + php-fpm %s (%d workers, OPcache on), wrk %d connections, loopback;"
        . " median of %d rounds\n",
    $php,
    $workers,
    $connections,
    $runs[0]['rounds'] ?? 0
);
printf("%-28s %9s %8s  %8s %8s %7s %6s %5s\n", 'endpoint', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'load', 'vs');
$first = [];
foreach ($runs as $r) {
    $kind = strtok($r['name'], ' ');
    $rate = $r['rate'];
    $first[$kind] ??= $rate;
    printf(
        "%-28s %9d %8.0f%s %8.2f %8.2f %7d %6s %4.2fx\n",
        $r['name'],
        $r['requests'],
        $rate,
        $r['requests'] >= (int) $cap ? '+' : ' ',
        $r['p50_ms'],
        $r['p99_ms'],
        $r['errors_all'],
        $r['load'],
        $first[$kind] / $rate
    );
}
echo "(vs: the first row of its endpoint's req/s over this row's; errors: socket errors, non-200 or"
    . " unexpected replies, all rounds; load: the 1-minute load average after that round;"
    . " +: the run reached BENCH_REQUESTS before its time was up, so its req/s is a lower bound)\n";
foreach ($runs as $r) {
    if ($r['errors_all'] > 0) {
        fwrite(STDERR, "bench-fpm: {$r['name']} had errors\n");
        exit(1);
    }
}
