<?php

/**
 * Soak figures: php soak/report.php <tmp dir> <out.json>
 * Merges the driver's report with $tmp/run.json (kind, worker pids at start and end),
 * php-fpm's logs (worker deaths), nginx's access log (every request through nginx, the mock's
 * notify deliveries included, per node), the RSS samples and PHP's error log; for make
 * soak-cluster also $tmp/cluster.json (the order book on MariaDB, the killer's and the
 * MariaDB supervisor's logs). Prints a summary and writes the JSON with a PASS/FAIL verdict.
 */

declare(strict_types=1);

[$_, $tmp, $out] = $argv;
$json = fn (string $file): array => json_decode((string) file_get_contents($file), true, 64, JSON_THROW_ON_ERROR);
$d = $json("$tmp/driver-report.json");
$run = $json("$tmp/run.json");
$cluster = is_file("$tmp/cluster.json") ? $json("$tmp/cluster.json") : null;
$lines = fn (string $file): array => is_file($file) ? (file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: []) : [];

// php-fpm: worker deaths, of every node.
$deaths = $warnings = [];
foreach (glob("$tmp/php-fpm-*.log") ?: [] as $log) {
    foreach ($lines($log) as $line) {
        if (preg_match('/exited on signal|exited with code/', $line)) {
            $deaths[] = $line;
        } elseif (preg_match('/WARNING|ERROR/', $line)) {
            $warnings[] = $line;
        }
    }
}
$sigkilled = count(preg_grep('/exited on signal 9\b/', $deaths));

// nginx: everything that went through it, by location and status, and by node.
$nginx = ['total' => 0, 'by_location_status' => [], 'by_node' => []];
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
    if (preg_match('/php-fpm-(\w+)\.sock/', $f[6] ?? '', $m)) {
        $nginx['by_node'][$m[1]] = ($nginx['by_node'][$m[1]] ?? 0) + 1;
    }
}
ksort($nginx['by_location_status']);
ksort($nginx['by_node']);
$nginx['seconds'] = $first === null ? 0 : round($last - $first, 1);
$notifyDeliveries = array_sum(array_filter($nginx['by_location_status'], fn ($k) => str_starts_with($k, '/notify/'), ARRAY_FILTER_USE_KEY))
    - $d['notify_replays'];

// RSS samples: "<unix> pid:kB pid:kB …"
$samples = [];
foreach ($lines("$tmp/rss.log") as $line) {
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
foreach ($lines("$tmp/php-errors.log") as $line) {
    $k = preg_replace(['/^\[[^\]]*\]\s*/', '/\d+/', '/[A-Z0-9]{10,}/'], ['', 'N', 'X'], $line);
    $k = substr((string) $k, 0, 140);
    $phpErrors[$k] = ($phpErrors[$k] ?? 0) + 1;
}
arsort($phpErrors);
$deadlockRetries = count(preg_grep('/shop: deadlock, transaction run again/', $lines("$tmp/php-errors.log")));
// The third deadlock in a row is not run again: the notify is answered FAIL (and delivered again).
$deadlockFails = count(preg_grep('/handleNotify replied FAIL.*Deadlock|handleNotify replied FAIL.*Serialization failure/', $lines("$tmp/php-errors.log")));

$api = (int) $d['api_requests_by_workers'];
$tls = (int) $d['tls_connections_by_workers'];
$a = $d['mock_payment_notify_attempts'];
$checks = [
    '≥ 100,000 requests through nginx' => $nginx['total'] >= 100000,
    '0 paid orders lost' => $d['lost'] === 0,
    '0 payments processed twice' => $d['processed_twice'] === 0,
    'transaction ids match' => $d['wrong_transaction_id'] === 0 && $d['paid_in_db_not_in_mock'] === 0,
    'amounts match' => $d['wrong_amount'] === 0 && $d['paid_amount_fen']['mock'] === $d['paid_amount_fen']['db'],
    'TLS connections ≪ API requests (< 5 %)' => $api > 0 && $tls < 0.05 * $api,
];
$result = [
    'kind' => $run['kind'],
    'when' => date('c'),
    'nginx' => $nginx,
    'mock_notify_deliveries' => $notifyDeliveries,
    'fpm_worker_deaths' => count($deaths),
    'fpm_worker_deaths_by_sigkill' => $sigkilled,
    'fpm_death_lines' => array_slice($deaths, 0, 10),
    'fpm_warnings' => array_slice($warnings, 0, 10),
    'workers_start' => $run['workers_start'],
    'workers_end' => $run['workers_end'],
    'worker_rss' => $rss,
    'deadlock_retries_logged' => $deadlockRetries,
    'php_error_log' => array_slice($phpErrors, 0, 20, true),
];

if ($cluster === null) {
    $checks['no worker crashes'] = $deaths === [];
    $checks["same {$run['workers']} workers at start and end"] = $run['workers_start'] === $run['workers_end'];
} else {
    $kills = array_map(fn (string $l): array => json_decode($l, true, 4, JSON_THROW_ON_ERROR), $lines($cluster['killer_log']));
    $killed = array_values(array_filter($kills, fn (array $k): bool => $k['result'] === 'SIGKILL'));
    $dbExits = $lines($cluster['db_exits_log']);
    $restartsAsked = array_values(array_filter($d['phase_actions'], fn (array $x): bool => $x['action'] === 'kill'));
    $db = new PDO($cluster['dsn'], $cluster['db_user'], $cluster['db_password'], [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $count = fn (string $sql): int => (int) $db->query($sql)->fetchColumn();
    // The order of each kill: its connection's window opened in the 3 s before (connection
    // ids start again at 1 after a MariaDB restart).
    $window = $db->prepare('SELECT out_trade_no FROM soak_window WHERE connection_id = ?
        AND UNIX_TIMESTAMP(at) BETWEEN ? AND ? ORDER BY id DESC LIMIT 1');
    foreach ($killed as &$kill) {
        $window->execute([$kill['connection_id'], $kill['time'] - 3, $kill['time'] + 0.5]);
        $kill['out_trade_no'] = $window->fetchColumn() ?: null;
    }
    unset($kill);
    // Every order whose worker was killed mid-transaction: paid once, by a later delivery.
    $killedOrders = array_values(array_unique(array_filter(array_column($killed, 'out_trade_no'))));
    $killedOk = 0;
    $check = $db->prepare("SELECT o.state, (SELECT COUNT(*) FROM notify_log l WHERE l.out_trade_no = o.out_trade_no
        AND l.outcome = 'processed') AS processed FROM orders o WHERE o.out_trade_no = ?");
    foreach ($killedOrders as $no) {
        $check->execute([$no]);
        $row = $check->fetch(PDO::FETCH_ASSOC);
        $killedOk += $row !== false && $row['state'] === 'PAID' && (int) $row['processed'] === 1 ? 1 : 0;
    }
    $injectedDeadlocks = $count('SELECT COUNT(*) FROM soak_deadlock');
    $result['cluster'] = [
        'nodes' => $cluster['nodes'],
        'kill_windows_opened' => $count('SELECT COUNT(*) FROM soak_window'),
        'workers_sigkilled_mid_transaction' => count($killed),
        'killer_misses' => count($kills) - count($killed),
        'kills_without_their_order' => count($killed) - count(array_filter(array_column($killed, 'out_trade_no'))),
        'killed_orders' => count($killedOrders),
        'killed_orders_paid_exactly_once' => $killedOk,
        'killed_examples' => array_slice($killed, 0, 5),
        'deadlocks_injected' => $injectedDeadlocks,
        'deadlock_retries_logged' => $deadlockRetries,
        'deadlocks_answered_fail' => $deadlockFails,
        'mariadb_restarts_asked' => $restartsAsked,
        'mariadb_exits' => $dbExits,
        'mariadb_crash_recovery_lines' => count(preg_grep('/InnoDB: (Starting crash recovery|crash recovery)/i', $lines($cluster['mariadb_error_log']))),
    ];
    $checks += [
        'workers SIGKILLed mid-transaction (≥ 1)' => count($killed) >= 1,
        'every worker death is one of those kills' => count($deaths) === $sigkilled && $sigkilled === count($killed),
        'every kill found its order, each paid exactly once' => $result['cluster']['kills_without_their_order'] === 0
            && $killedOk === count($killedOrders),
        'deadlocks injected (≥ 1), each run again or answered FAIL' => $injectedDeadlocks >= 1
            && $injectedDeadlocks === $deadlockRetries + $deadlockFails,
        'MariaDB restarted and crashed as asked, nothing else' => count($restartsAsked) === 2 && count($dbExits) === 2,
        'the mock retried after FAIL answers (≥ 1)' => $a['fail_replies'] >= 1,
        'simultaneous notify copies delivered (≥ 1)' => $a['extra_copies'] >= 1,
        'both nodes served' => count(array_filter($nginx['by_node'], fn (int $n): bool => $n > 1000)) === count($cluster['nodes']),
    ];
}
$result = ['verdict' => in_array(false, $checks, true) ? 'FAIL' : 'PASS', 'checks' => $checks] + $result + $d;
file_put_contents($out, json_encode($result, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");

$p = fn (string $s) => print($s . "\n");
$p('');
$p("=== wxpay {$run['kind']} ===");
$p(sprintf('requests through nginx: %d in %.1f s (driver: %d shop + %d notify replays in %.1f s, %.0f req/s; mock notify deliveries: %d)%s',
    $nginx['total'], $nginx['seconds'], $d['shop_requests'], $d['notify_replays'], $d['load_seconds'], $d['requests_per_second'],
    $notifyDeliveries, $nginx['by_node'] === [] ? '' : '; by node: ' . json_encode($nginx['by_node'])));
$p(sprintf('latency (shop requests): p50 %s ms, p90 %s ms, p99 %s ms, max %s ms', ...array_values($d['latency_ms'])));
$p(sprintf('fpm worker deaths (fpm log "exited on signal|with code"): %d, of which SIGKILL: %d', count($deaths), $sigkilled));
$p('workers start: ' . $run['workers_start'] . ' | end: ' . $run['workers_end']
    . ($run['workers_start'] === $run['workers_end'] ? ' (same)' : ' (CHANGED)'));
$p('failed driver requests by category: ' . (array_sum($d['failures']) === 0 ? 'none' : ''));
arsort($d['failures']);
foreach ($d['failures'] as $k => $n) {
    $p(sprintf('  %6d  %s', $n, $k));
}
$p(sprintf('orders: %d created, %d paid by the mock\'s payer; mock says SUCCESS: %d; order book PAID: %d',
    $d['orders_created'], $d['orders_paid_by_driver'], $d['mock_paid'], $d['db_paid_orders']));
$p(sprintf('payments applied exactly once: %d of %d (%d via notify + %d via orderquery); lost %d, processed twice %d, wrong transaction_id %d, wrong amount %d',
    $d['applied_exactly_once'], $d['mock_paid'], $d['processed_via_notify'], $d['processed_via_orderquery'], $d['lost'],
    $d['processed_twice'], $d['wrong_transaction_id'], $d['wrong_amount']));
$p(sprintf('paid amounts: mock %d fen, order book %d fen', $d['paid_amount_fen']['mock'], $d['paid_amount_fen']['db']));
$p(sprintf('mock payment notify attempts: %d (%d acknowledged, %d not, of which %d FAIL answers; %d extra simultaneous copies: %s), %d orders needed retries, max attempt #%d',
    $a['total'], $a['ok'], $a['failed'], $a['fail_replies'], $a['extra_copies'], json_encode($a['by_status'], JSON_UNESCAPED_UNICODE),
    $a['retried_orders'], $a['max_attempt']));
$p('notify_log outcomes: ' . json_encode($d['notify_log_outcomes']) . '; replays: ' . json_encode($d['replay_outcomes']));
if (isset($result['cluster'])) {
    $c = $result['cluster'];
    $p(sprintf('worker kills: %d kill windows opened, %d workers SIGKILLed mid-transaction (%d missed, %d without their order); %d orders killed, %d of them paid exactly once later',
        $c['kill_windows_opened'], $c['workers_sigkilled_mid_transaction'], $c['killer_misses'], $c['kills_without_their_order'],
        $c['killed_orders'], $c['killed_orders_paid_exactly_once']));
    $p(sprintf('deadlocks: %d injected; %d transactions run again, %d notifies answered FAIL after the third (logged)',
        $c['deadlocks_injected'], $c['deadlock_retries_logged'], $c['deadlocks_answered_fail']));
    $p('MariaDB: ' . implode('; ', array_map(fn (array $x): string => "{$x['phase']} at {$x['at_s']} s: {$x['result']}", $c['mariadb_restarts_asked']))
        . sprintf('; supervisor saw %d exits and restarted it each time', count($c['mariadb_exits'])));
}
$p(sprintf('pooling: %d API requests by the workers over %d TLS connections (%.2f %%; %d TCP incl. refused)',
    $api, $tls, $api ? 100 * $tls / $api : 0, $d['connections_by_workers_incl_refused']));
if (count($rss) > $run['workers']) {
    // Workers were killed and respawned: the ones alive at the end, then the maximum of all.
    $alive = array_intersect_key($rss, array_flip(explode(' ', $run['workers_end'])));
    $p(sprintf('RSS: %d worker processes sampled (every 15 s; respawned ones included), max %s kB; the %d alive at the end: %s kB',
        count($rss), max(array_filter(array_column($rss, 'max_kb'))) ?: 0, count($alive),
        implode(', ', array_map(fn (array $r): string => (string) $r['end_kb'], $alive))));
} else {
    foreach ($rss as $pid => $r) {
        $p(sprintf('RSS worker %s: start %s kB, after 15 s %s kB, end %s kB, max %s kB',
            $pid, $r['start_kb'], $r['after_15s_kb'], $r['end_kb'], $r['max_kb']));
    }
}
foreach ($checks as $name => $ok) {
    $p(($ok ? '  ok    ' : '  FAIL  ') . $name);
}
$p('verdict: ' . $result['verdict']);
