<?php

/** make bench-fpm: prints the table of the runs' JSON lines (bench/fpm/run.sh). */

declare(strict_types=1);

[, $file, $php, $workers, $connections] = $argv;
$runs = [];
foreach (file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    $runs[] = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
}
printf(
    "\nbench-fpm: nginx + php-fpm %s (%d workers, OPcache on), wrk %d connections, loopback\n",
    $php,
    $workers,
    $connections
);
printf("%-28s %9s %8s %8s %8s %7s %6s %5s\n", 'endpoint', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'load', 'vs');
$first = [];
foreach ($runs as $r) {
    $kind = strtok($r['name'], ' ');
    $rate = $r['requests'] / $r['seconds'];
    $first[$kind] ??= $rate;
    printf(
        "%-28s %9d %8.0f %8.2f %8.2f %7d %6s %4.2fx\n",
        $r['name'],
        $r['requests'],
        $rate,
        $r['p50_ms'],
        $r['p99_ms'],
        $r['errors'] + $r['bad'],
        $r['load'],
        $first[$kind] / $rate
    );
}
echo "(vs: the first row of its endpoint's req/s over this row's; errors: socket errors, non-200 or unexpected replies)\n";
foreach ($runs as $r) {
    if ($r['errors'] + $r['bad'] > 0) {
        fwrite(STDERR, "bench-fpm: {$r['name']} had errors\n");
        exit(1);
    }
}
