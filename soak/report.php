<?php

/**
 * Soak figures: php soak/report.php <tmp dir> "<start worker pids>" "<end worker pids>" <out.json>
 * Merges the driver's report with php-fpm's log (crashes), nginx's access log (every request
 * through nginx, the mock's notify deliveries included), the RSS samples and PHP's error log;
 * prints a summary and writes the JSON (with a PASS/FAIL verdict).
 */

declare(strict_types=1);

[$_, $tmp, $startPids, $endPids, $out] = $argv;
$d = json_decode((string) file_get_contents("$tmp/driver-report.json"), true, 64, JSON_THROW_ON_ERROR);

// php-fpm: worker deaths.
$fpmLog = is_file("$tmp/php-fpm.log") ? (string) file_get_contents("$tmp/php-fpm.log") : '';
preg_match_all('/^.*(exited on signal|exited with code).*$/m', $fpmLog, $m);
$crashLines = $m[0];
preg_match_all('/^.*(WARNING|ERROR).*$/m', $fpmLog, $w);

// nginx: everything that went through it.
$nginx = ['total' => 0, 'by_location_status' => []];
$first = $last = null;
$fh = fopen("$tmp/nginx-access.log", 'r');
while ($fh !== false && ($line = fgets($fh)) !== false) {
    $f = explode(' ', trim($line));
    if (count($f) < 5) {
        continue;
    }
    $nginx['total']++;
    $t = (float) $f[0];
    $first ??= $t;
    $last = $t;
    $loc = str_starts_with($f[3], '/notify/') ? $f[3] : 'shop ' . $f[3];
    $key = "$loc {$f[1]}";
    $nginx['by_location_status'][$key] = ($nginx['by_location_status'][$key] ?? 0) + 1;
}
ksort($nginx['by_location_status']);
$nginx['seconds'] = $first === null ? 0 : round($last - $first, 1);

// RSS samples: "<unix> pid:kB pid:kB …"
$samples = [];
foreach (file("$tmp/rss.log", FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [] as $line) {
    $parts = explode(' ', $line);
    $t = (int) array_shift($parts);
    foreach ($parts as $p) {
        [$pid, $kb] = explode(':', $p) + [1 => ''];
        $samples[$pid][] = [$t, is_numeric($kb) ? (int) $kb : null];
    }
}
$rss = [];
foreach ($samples as $pid => $list) {
    $vals = array_values(array_filter(array_column($list, 1), fn ($v) => $v !== null));
    $rss[$pid] = [
        'start_kb' => $vals[0] ?? null,
        'after_15s_kb' => $vals[1] ?? null,
        'end_kb' => $vals === [] ? null : end($vals),
        'max_kb' => $vals === [] ? null : max($vals),
        'samples' => count($vals),
    ];
}

$phpErrors = [];
if (is_file("$tmp/php-errors.log")) {
    foreach (file("$tmp/php-errors.log", FILE_IGNORE_NEW_LINES) ?: [] as $line) {
        $k = preg_replace(['/^\[[^\]]*\]\s*/', '/\d+/', '/[A-Z0-9]{10,}/'], ['', 'N', 'X'], $line);
        $k = substr((string) $k, 0, 140);
        $phpErrors[$k] = ($phpErrors[$k] ?? 0) + 1;
    }
    arsort($phpErrors);
}

$sameWorkers = trim($startPids) === trim($endPids);
$api = (int) $d['api_requests_by_workers'];
$tls = (int) $d['tls_connections_by_workers'];
$checks = [
    'no worker crashes' => $crashLines === [],
    'same 4 workers at start and end' => $sameWorkers,
    '≥ 100,000 requests through nginx' => $nginx['total'] >= 100000,
    '0 paid orders lost' => $d['lost'] === 0,
    '0 payments processed twice' => $d['processed_twice'] === 0,
    'transaction ids match' => $d['wrong_transaction_id'] === 0 && $d['paid_in_db_not_in_mock'] === 0,
    'TLS connections ≪ API requests (< 5 %)' => $api > 0 && $tls < 0.05 * $api,
];
$result = [
    'verdict' => in_array(false, $checks, true) ? 'FAIL' : 'PASS',
    'checks' => $checks,
    'when' => date('c'),
    'nginx' => $nginx,
    'fpm_worker_crashes' => count($crashLines),
    'fpm_crash_lines' => array_slice($crashLines, 0, 10),
    'fpm_warnings' => array_slice($w[0], 0, 10),
    'workers_start' => trim($startPids),
    'workers_end' => trim($endPids),
    'worker_rss' => $rss,
    'php_error_log' => array_slice($phpErrors, 0, 15, true),
] + $d;
file_put_contents($out, json_encode($result, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");

$p = fn (string $s) => print($s . "\n");
$p('');
$p('=== wxpay soak ===');
$p(sprintf('requests through nginx: %d in %.1f s (driver: %d shop + %d notify replays in %.1f s, %.0f req/s; mock notify deliveries: %d)',
    $nginx['total'], $nginx['seconds'], $d['shop_requests'], $d['notify_replays'], $d['load_seconds'], $d['requests_per_second'],
    array_sum(array_filter($nginx['by_location_status'], fn ($k) => str_starts_with($k, '/notify/'), ARRAY_FILTER_USE_KEY)) - $d['notify_replays']));
$p(sprintf('latency (shop requests): p50 %s ms, p90 %s ms, p99 %s ms, max %s ms', ...array_values($d['latency_ms'])));
$p('worker crashes (fpm log "exited on signal|with code"): ' . count($crashLines));
$p('workers start: ' . trim($startPids) . ' | end: ' . trim($endPids) . ($sameWorkers ? ' (same)' : ' (CHANGED)'));
$p('failed driver requests by category: ' . (array_sum($d['failures']) === 0 ? 'none' : ''));
arsort($d['failures']);
foreach ($d['failures'] as $k => $n) {
    $p(sprintf('  %6d  %s', $n, $k));
}
$p(sprintf('orders: %d created, %d paid by the mock\'s payer; mock says SUCCESS: %d; SQLite PAID: %d',
    $d['orders_created'], $d['orders_paid_by_driver'], $d['mock_paid'], $d['db_paid_orders']));
$p(sprintf('payments applied: %d via notify + %d via orderquery; lost %d, processed twice %d, wrong transaction_id %d',
    $d['processed_via_notify'], $d['processed_via_orderquery'], $d['lost'], $d['processed_twice'], $d['wrong_transaction_id']));
$a = $d['mock_payment_notify_attempts'];
$p(sprintf('mock payment notify attempts: %d (%d acknowledged, %d not: %s), %d orders needed retries, max attempt #%d',
    $a['total'], $a['ok'], $a['failed'], json_encode($a['by_status'], JSON_UNESCAPED_UNICODE), $a['retried_orders'], $a['max_attempt']));
$p('notify_log outcomes: ' . json_encode($d['notify_log_outcomes']) . '; replays: ' . json_encode($d['replay_outcomes']));
$p(sprintf('pooling: %d API requests by the workers over %d TLS connections (%.2f %%; %d TCP incl. refused)',
    $api, $tls, $api ? 100 * $tls / $api : 0, $d['connections_by_workers_incl_refused']));
foreach ($rss as $pid => $r) {
    $p(sprintf('RSS worker %s: start %s kB (idle, before its first request), after 15 s %s kB, end %s kB, max %s kB',
        $pid, $r['start_kb'], $r['after_15s_kb'], $r['end_kb'], $r['max_kb']));
}
foreach ($checks as $name => $ok) {
    $p(($ok ? '  ok    ' : '  FAIL  ') . $name);
}
$p('verdict: ' . $result['verdict']);
