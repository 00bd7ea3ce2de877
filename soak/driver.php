<?php

/**
 * Soak driver: shoppers over HTTP through nginx (→ php-fpm → wxpay → wxpay-mock), the payer
 * through the mock's control API, fault phases toggled on the mock, concurrent replays of
 * spooled notifies, then reconciliation of the mock's paid orders against the shop's order book.
 *
 *   php soak/driver.php <config.json>
 *
 * config: shop (http://127.0.0.1:PORT), control (mock URL for /mock/ calls: the backup
 * listener, which stays up while the primary is "down"), ca, dsn (+ db_user, db_password:
 * the order book), spool, out (JSON report), requests (target count of shop requests),
 * concurrency, max_seconds, phases. A phase sets the mock's `faults`, and may run `sql`
 * statements on the order book (retried until they succeed: the database may be restarting)
 * and `kill` a process ({"pid_file": …, "signal": "TERM"|"KILL"}) when it starts.
 * Needs ext-curl, PDO for the order book and ext-posix (the driver never loads wxpay).
 */

declare(strict_types=1);

error_reporting(-1);
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    if ((error_reporting() & $severity) === 0) {
        return false; // silenced with @
    }
    throw new ErrorException($message, 0, $severity, $file, $line);
});

$cfg = json_decode((string) file_get_contents($argv[1] ?? ''), true, 16, JSON_THROW_ON_ERROR);
$shopUrl = rtrim($cfg['shop'], '/');
$controlUrl = rtrim($cfg['control'], '/');
$target = (int) $cfg['requests'];
$concurrency = (int) ($cfg['concurrency'] ?? 12);
$maxSeconds = (float) ($cfg['max_seconds'] ?? 1200);
$payRate = (float) ($cfg['pay_rate'] ?? 0.9);
$replayCopies = (int) ($cfg['replay_copies'] ?? 3);
/** @var list<array{from: float, faults: array<string, mixed>, name: string}> $phases */
$phases = $cfg['phases'];

const PRODUCTS = ['flat-white' => 1800, 'croissant' => 1250, 'beans-250g' => 6800];

final class Stats
{
    public int $requests = 0;          // shop requests through nginx, completed (any outcome)
    public int $replays = 0;           // notify replays through nginx
    public int $control = 0;           // /mock/ control requests
    public int $controlConnects = 0;   // TLS connections the driver opened to the mock
    /** @var array<string, int> */
    public array $byRoute = [];
    /** @var array<string, int> */
    public array $failures = [];
    /** @var array<string, int> */
    public array $failuresByPhase = [];
    /** @var array<string, int> */
    public array $replayOutcomes = [];
    public int $ordersCreated = 0;
    public int $ordersFailed = 0;
    public int $paidByDriver = 0;
    public int $payRefused = 0;
    /** @var list<float> */
    public array $latencies = [];

    public function fail(string $category, string $phase): void
    {
        $this->failures[$category] = ($this->failures[$category] ?? 0) + 1;
        $key = "$phase: $category";
        $this->failuresByPhase[$key] = ($this->failuresByPhase[$key] ?? 0) + 1;
    }
}

/** The order book, as the shop sees it (a new connection: the database may have restarted). */
function orderBook(): PDO
{
    global $cfg;
    $db = new PDO($cfg['dsn'], $cfg['db_user'] ?? null, $cfg['db_password'] ?? null, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_TIMEOUT => 5,
    ]);
    if (str_starts_with($cfg['dsn'], 'sqlite:')) {
        $db->exec('PRAGMA busy_timeout = 10000');
    }
    return $db;
}

$stats = new Stats();
/** @var list<array{phase: string, action: string, at_s: float, result: string}> */
$phaseActions = [];
/** @var list<string> $pendingSql statements of the current phase not yet applied */
$pendingSql = [];
/** @var array{pid_file: string, signal: string}|null $pendingKill the phase's signal, not yet sent */
$pendingKill = null;
$retryActionsAt = 0.0;
$multi = curl_multi_init();
curl_multi_setopt($multi, CURLMOPT_MAX_HOST_CONNECTIONS, $concurrency * 2 + 8);
/** @var array<int, array{kind: string, session: ?int, route: string, t0: float}> */
$inflight = [];
/** @var array<int, array{steps: list<array>, o: ?string, mode: string, wait_until: float, polls: int}> */
$sessions = [];
$nextSession = 0;
$phaseName = 'start';
$phaseIndex = -1;
$start = microtime(true);
$pendingReplays = 0;

function handle(string $method, string $url, ?string $body = null, array $headers = [], bool $tls = false): CurlHandle
{
    global $cfg;
    $h = curl_init($url);
    $opts = [
        CURLOPT_CUSTOMREQUEST => $method,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HEADER => true,
        CURLOPT_TIMEOUT => 30,
        CURLOPT_CONNECTTIMEOUT => 5,
        CURLOPT_FOLLOWLOCATION => false,
        CURLOPT_HTTPHEADER => $headers,
    ];
    if ($body !== null) {
        $opts[CURLOPT_POSTFIELDS] = $body;
    }
    if ($tls) {
        $opts[CURLOPT_CAINFO] = $cfg['ca'];
    }
    curl_setopt_array($h, $opts);
    return $h;
}

/** Blocking control call (rare: phases, stats, reconciliation), on its own reused handle. */
function control(string $method, string $path, ?array $json = null): array
{
    global $controlUrl, $stats, $cfg;
    static $h = null;
    $h ??= curl_init();
    curl_setopt_array($h, [
        CURLOPT_URL => $controlUrl . $path,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HEADER => false,
        CURLOPT_TIMEOUT => 60,
        CURLOPT_CAINFO => $cfg['ca'],
        CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
    ]);
    if ($method === 'POST') {
        curl_setopt($h, CURLOPT_POSTFIELDS, json_encode((object) ($json ?? []), JSON_THROW_ON_ERROR));
    } else {
        curl_setopt($h, CURLOPT_HTTPGET, true);
    }
    $text = curl_exec($h);
    $stats->control++;
    $stats->controlConnects += (int) curl_getinfo($h, CURLINFO_NUM_CONNECTS);
    $code = curl_getinfo($h, CURLINFO_RESPONSE_CODE);
    if (!is_string($text) || $code !== 200) {
        throw new RuntimeException("control $method $path: HTTP $code " . curl_error($h) . ' ' . (is_string($text) ? $text : ''));
    }
    $data = json_decode($text, true, 64, JSON_THROW_ON_ERROR);
    return is_array($data) ? $data : [];
}

function newSession(): array
{
    global $payRate;
    $steps = [];
    if (mt_rand(1, 5) === 1) {
        $steps[] = ['GET', '/'];
    }
    $sku = array_rand(PRODUCTS);
    $mode = mt_rand(1, 10) === 1 ? 'jsapi' : 'native';
    $steps[] = ['ORDER', $sku, $mode];
    $steps[] = ['GET', $mode === 'jsapi' ? '/jsapi?o={o}' : '/pay?o={o}'];
    $steps[] = ['GET', '/status?o={o}'];   // NOTPAY → orderQuery through wxpay
    $steps[] = ['GET', '/status?o={o}'];
    if (mt_rand() / mt_getrandmax() < $payRate) {
        $steps[] = ['PAY'];
        $steps[] = ['PAIDPOLL'];            // /paid: our DB only (no orderQuery race with the notify)
    }
    return ['steps' => $steps, 'o' => null, 'mode' => $mode, 'wait_until' => 0.0, 'polls' => 0];
}

function launch(int $sid): void
{
    global $sessions, $multi, $inflight, $shopUrl, $controlUrl;
    $s = &$sessions[$sid];
    $step = $s['steps'][0] ?? null;
    if ($step === null) {
        unset($sessions[$sid]);
        return;
    }
    $o = rawurlencode((string) $s['o']);
    switch ($step[0]) {
        case 'GET':
            $route = strtok($step[1], '?');
            $h = handle('GET', $shopUrl . str_replace('{o}', $o, $step[1]));
            $kind = 'shop';
            break;
        case 'ORDER':
            $route = '/order';
            $h = handle('POST', $shopUrl . '/order', http_build_query(['sku' => $step[1], 'mode' => $step[2]]));
            $kind = 'shop';
            break;
        case 'PAY':
            $route = 'mock-pay';
            $h = handle('POST', $controlUrl . '/mock/orders/' . $o . '/pay', '{}', ['Content-Type: application/json'], true);
            $kind = 'control';
            break;
        case 'PAIDPOLL':
            $route = '/paid';
            $h = handle('GET', $shopUrl . '/paid?o=' . $o);
            $kind = 'shop';
            break;
        default:
            throw new LogicException('step ' . $step[0]);
    }
    curl_multi_add_handle($multi, $h);
    $inflight[spl_object_id($h)] = ['h' => $h, 'kind' => $kind, 'session' => $sid, 'route' => $route, 't0' => microtime(true)];
}

function launchReplays(): void
{
    global $cfg, $multi, $inflight, $shopUrl, $replayCopies, $pendingReplays;
    if ($pendingReplays > 0) {
        return;
    }
    $files = glob($cfg['spool'] . '/*.xml') ?: [];
    foreach (array_slice($files, 0, 4) as $file) {
        $body = (string) file_get_contents($file);
        unlink($file);
        $path = str_contains(basename($file), 'refund') ? '/notify/refund' : '/notify/pay';
        for ($i = 0; $i < $replayCopies; $i++) {
            $h = handle('POST', $shopUrl . $path, $body, ['Content-Type: text/xml', 'X-Soak-Replay: 1']);
            curl_multi_add_handle($multi, $h);
            $inflight[spl_object_id($h)] = ['h' => $h, 'kind' => 'replay', 'session' => null, 'route' => $path, 't0' => microtime(true)];
            $pendingReplays++;
        }
    }
}

/** Classifies one finished shop request; returns the session's next move. */
function classify(array $job, CurlHandle $h, int $errno): void
{
    global $stats, $sessions, $phaseName;
    $sid = $job['session'];
    $route = $job['route'];
    $status = (int) curl_getinfo($h, CURLINFO_RESPONSE_CODE);
    $raw = (string) curl_multi_getcontent($h);
    $hs = (int) curl_getinfo($h, CURLINFO_HEADER_SIZE);
    $head = substr($raw, 0, $hs);
    $body = substr($raw, $hs);
    $elapsed = microtime(true) - $job['t0'];

    if ($job['kind'] === 'control') {
        $stats->control++;
        $stats->controlConnects += (int) curl_getinfo($h, CURLINFO_NUM_CONNECTS);
        $s = &$sessions[$sid];
        array_shift($s['steps']);
        if ($errno === 0 && $status === 200) {
            $stats->paidByDriver++;
            $s['wait_until'] = microtime(true) + 0.05;
        } else {
            $stats->payRefused++;
            $stats->fail("mock pay refused: HTTP $status errno $errno " . substr($body, 0, 80), $phaseName);
            $s['steps'] = [];
        }
        return;
    }

    if ($job['kind'] === 'replay') {
        $stats->replays++;
        $outcome = $errno !== 0 ? "transport errno $errno" : "HTTP $status";
        if ($errno === 0 && $status === 200) {
            $outcome = preg_match('#<return_code><!\[CDATA\[(\w+)\]\]></return_code>#', $body, $m) ? $m[1] : 'unparsed';
            if ($outcome !== 'SUCCESS' && preg_match('#<return_msg><!\[CDATA\[(.*?)\]\]>#', $body, $mm)) {
                $outcome .= ': ' . $mm[1];
            }
        }
        $stats->replayOutcomes[$outcome] = ($stats->replayOutcomes[$outcome] ?? 0) + 1;
        if ($outcome !== 'SUCCESS') {
            $stats->fail("notify replay: $outcome", $phaseName);
        }
        return;
    }

    $stats->requests++;
    $stats->byRoute[$route] = ($stats->byRoute[$route] ?? 0) + 1;
    if (count($stats->latencies) < 400000) {
        $stats->latencies[] = $elapsed;
    }
    $s = &$sessions[$sid];
    $step = array_shift($s['steps']);
    $ok = false;
    if ($errno !== 0) {
        $stats->fail("transport: " . curl_strerror($errno), $phaseName);
    } elseif ($status >= 500) {
        $category = "HTTP $status";
        if (preg_match('#class="err">(WxPay\\\\\w+): (.*?)</p>#s', $body, $m)) {
            $msg = html_entity_decode($m[2], ENT_QUOTES);
            $code = preg_match('#(?:err_code|error_code)=(\w+)#', $msg, $c) ? $c[1]
                : (preg_match('#return_msg=([^,]+)#', $msg, $c) ? 'return_msg=' . $c[1] : preg_replace('#\d+#', 'N', substr($msg, 0, 70)));
            $category .= ' ' . $m[1] . ' ' . $code;
        } else {
            $category .= ' ' . trim(substr($body, 0, 60));
        }
        $stats->fail("$route: $category", $phaseName);
    } elseif ($route === '/order') {
        if ($status === 303 && preg_match('#^Location: /(?:pay|jsapi)\?o=(\S+)#mi', $head, $m)) {
            $s['o'] = rawurldecode($m[1]);
            $stats->ordersCreated++;
            $ok = true;
        } else {
            $stats->fail("/order: HTTP $status without redirect", $phaseName);
        }
    } elseif ($status !== 200) {
        $stats->fail("$route: HTTP $status", $phaseName);
    } elseif ($route === '/paid') {
        if (str_contains($body, 'Paid ✓')) {
            $ok = true;
        } elseif ($s['polls']++ < 20) {
            array_unshift($s['steps'], $step);  // not yet: the notify is on its way
            $s['wait_until'] = microtime(true) + 0.1;
            return;
        } else {
            $ok = true;   // reconciliation decides; the notify may still be retrying
        }
    } else {
        $ok = true;
    }
    if (!$ok) {
        if ($route === '/order') {
            $stats->ordersFailed++;
        }
        if ($s['o'] === null) {
            // A shopper who got an error comes back a little later, not at once in a loop.
            $s['steps'] = [];
            $s['wait_until'] = microtime(true) + 0.5;
        }
    }
}

/**
 * The current phase's SQL and signal, retried every 0.5 s until they succeed: the database
 * may be down (restarting) when the phase starts.
 */
function applyPhaseActions(): void
{
    global $pendingSql, $pendingKill, $retryActionsAt, $phaseActions, $phaseName, $start;
    if (($pendingSql === [] && $pendingKill === null) || microtime(true) < $retryActionsAt) {
        return;
    }
    $retryActionsAt = microtime(true) + 0.5;
    $done = function (string $action, string $result) use (&$phaseActions, $phaseName, $start): void {
        $phaseActions[] = ['phase' => $phaseName, 'action' => $action,
            'at_s' => round(microtime(true) - $start, 1), 'result' => $result];
    };
    if ($pendingSql !== []) {
        try {
            $db = orderBook();
            foreach ($pendingSql as $sql) {
                $db->exec($sql);
            }
            $done('sql', implode('; ', $pendingSql));
            $pendingSql = [];
        } catch (PDOException) {
            // down: again in 0.5 s
        }
    }
    if ($pendingKill !== null) {
        // The pid file comes and goes while the database restarts.
        $pid = (int) trim((string) @file_get_contents($pendingKill['pid_file']));
        if ($pid > 1 && posix_kill($pid, 0)) {
            $signal = ['TERM' => SIGTERM, 'KILL' => SIGKILL][$pendingKill['signal']];
            $sent = posix_kill($pid, $signal);
            $done('kill', $sent ? "SIG{$pendingKill['signal']} to $pid" : "kill $pid failed: " . posix_strerror(posix_get_last_error()));
            fprintf(STDERR, "[%6.1fs] phase %s: SIG%s to %d\n", microtime(true) - $start, $phaseName, $pendingKill['signal'], $pid);
            $pendingKill = null;
        }
    }
}

function setPhase(): void
{
    global $phases, $phaseIndex, $phaseName, $stats, $target, $start, $maxSeconds, $pendingSql, $pendingKill, $retryActionsAt;
    $progress = max($stats->requests / max(1, $target), (microtime(true) - $start) / $maxSeconds);
    $i = $phaseIndex;
    while (isset($phases[$i + 1]) && $progress >= $phases[$i + 1]['from']) {
        $i++;
    }
    if ($i !== $phaseIndex) {
        $phaseIndex = $i;
        $phaseName = $phases[$i]['name'];
        control('POST', '/mock/faults', $phases[$i]['faults']);
        $pendingSql = $phases[$i]['sql'] ?? [];
        $pendingKill = $phases[$i]['kill'] ?? null;
        $retryActionsAt = 0.0;
        fprintf(STDERR, "[%6.1fs] %6d requests: phase %s %s%s\n", microtime(true) - $start, $stats->requests,
            $phaseName, json_encode($phases[$i]['faults']), $pendingSql === [] ? '' : ' sql: ' . implode('; ', $pendingSql));
    }
}

control('POST', '/mock/faults', []);
$statsBefore = control('GET', '/mock/stats');
[$c0, $cc0] = [$stats->control, $stats->controlConnects];
$lastReport = $start;
$stopLaunching = false;
while (true) {
    $now = microtime(true);
    if (!$stopLaunching) {
        setPhase();
        if ($stats->requests >= $target || $now - $start >= $maxSeconds) {
            $stopLaunching = true;
            fprintf(STDERR, "[%6.1fs] stop launching (%d requests)\n", $now - $start, $stats->requests);
        }
    }
    applyPhaseActions();
    // Keep `concurrency` sessions alive; finished ones are replaced until the target.
    while (!$stopLaunching && count($sessions) < $concurrency) {
        $sessions[$nextSession] = newSession();
        $sessions[$nextSession]['wait_until'] = 0.0;
        $nextSession++;
    }
    $busy = [];
    foreach ($inflight as $job) {
        if ($job['session'] !== null) {
            $busy[$job['session']] = true;
        }
    }
    foreach (array_keys($sessions) as $sid) {
        if (!isset($busy[$sid]) && $sessions[$sid]['wait_until'] <= $now) {
            if ($stopLaunching && ($sessions[$sid]['steps'][0][0] ?? '') !== 'PAIDPOLL' && ($sessions[$sid]['steps'][0][0] ?? '') !== 'PAY') {
                // Finish a started purchase (pay + poll), drop the rest.
                if ($sessions[$sid]['o'] === null || !in_array('PAY', array_column($sessions[$sid]['steps'], 0), true)) {
                    unset($sessions[$sid]);
                    continue;
                }
            }
            launch($sid);
        }
    }
    launchReplays();
    if ($inflight === [] && $sessions === []) {
        break;
    }
    curl_multi_exec($multi, $running);
    curl_multi_select($multi, 0.01);
    curl_multi_exec($multi, $running);
    while ($info = curl_multi_info_read($multi)) {
        $h = $info['handle'];
        $job = $inflight[spl_object_id($h)];
        unset($inflight[spl_object_id($h)]);
        if ($job['kind'] === 'replay') {
            $pendingReplays--;
        }
        classify($job, $h, $info['result']);
        curl_multi_remove_handle($multi, $h);
        unset($h); // curl_close() is a deprecated no-op since PHP 8.5
    }
    if ($now - $lastReport >= 10) {
        $lastReport = $now;
        fprintf(STDERR, "[%6.1fs] %6d requests, %d replays, %d orders, %d paid, %d failures, phase %s\n",
            $now - $start, $stats->requests, $stats->replays, $stats->ordersCreated, $stats->paidByDriver,
            array_sum($stats->failures), $phaseName);
    }
}
$loadSeconds = microtime(true) - $start;
control('POST', '/mock/faults', []);
fprintf(STDERR, "[%6.1fs] load done; waiting for notify deliveries and retries to settle\n", $loadSeconds);

// Settle: every paid order acknowledged (ok attempt), or no new attempt for a while.
$settleStart = microtime(true);
$lastAttempts = -1;
$quietSince = microtime(true);
do {
    launchReplays();
    while ($pendingReplays > 0) {
        curl_multi_exec($multi, $running);
        curl_multi_select($multi, 0.05);
        while ($info = curl_multi_info_read($multi)) {
            $h = $info['handle'];
            $job = $inflight[spl_object_id($h)];
            unset($inflight[spl_object_id($h)]);
            $pendingReplays--;
            classify($job, $h, $info['result']);
            curl_multi_remove_handle($multi, $h);
        }
    }
    $orders = control('GET', '/mock/orders');
    $notifies = control('GET', '/mock/notifies');
    $acked = [];
    foreach ($notifies as $n) {
        if (($n['kind'] ?? '') === 'payment' && ($n['ok'] ?? false)) {
            $acked[$n['out_trade_no']] = true;
        }
    }
    $paid = array_filter($orders, fn ($o) => ($o['state'] ?? '') === 'SUCCESS');
    $unacked = array_diff(array_column($paid, 'out_trade_no'), array_keys($acked));
    if (count($notifies) !== $lastAttempts) {
        $lastAttempts = count($notifies);
        $quietSince = microtime(true);
    }
    $spoolLeft = count(glob($cfg['spool'] . '/*.xml') ?: []);
    if ($unacked === [] && $spoolLeft === 0) {
        break;
    }
    fprintf(STDERR, "  settling: %d paid orders not yet acknowledged, %d spooled replays\n", count($unacked), $spoolLeft);
    sleep(2);
} while (microtime(true) - $settleStart < 240 && microtime(true) - $quietSince < 60);
$statsAfter = control('GET', '/mock/stats');
[$c1, $cc1] = [$stats->control, $stats->controlConnects];
$settleSeconds = microtime(true) - $settleStart;

// Reconciliation: the mock's paid orders vs the shop's order book.
applyPhaseActions();
$db = orderBook();
$mockPaid = [];
$mockFee = [];
$mockStates = [];
foreach ($orders as $o) {
    $st = $o['state'] ?? '?';
    $mockStates[$st] = ($mockStates[$st] ?? 0) + 1;
    if ($st === 'SUCCESS') {
        $mockPaid[$o['out_trade_no']] = $o['transaction_id'] ?? '';
        $mockFee[$o['out_trade_no']] = (int) $o['total_fee'];
    }
}
$dbOrders = [];
foreach ($db->query('SELECT out_trade_no, state, transaction_id, paid_via, total_fee FROM orders') as $r) {
    $dbOrders[$r['out_trade_no']] = $r;
}
$processed = [];
foreach ($db->query("SELECT out_trade_no, kind, COUNT(*) AS n FROM notify_log WHERE outcome = 'processed' AND kind IN ('payment', 'orderquery') GROUP BY out_trade_no, kind") as $r) {
    $processed[$r['out_trade_no']][$r['kind']] = (int) $r['n'];
}
$outcomes = [];
foreach ($db->query('SELECT kind, outcome, COUNT(*) AS n FROM notify_log GROUP BY kind, outcome') as $r) {
    $outcomes[$r['kind'] . ' ' . $r['outcome']] = (int) $r['n'];
}
$rejectedDetails = [];
foreach ($db->query("SELECT detail, COUNT(*) AS n FROM notify_log WHERE outcome = 'rejected' GROUP BY detail") as $r) {
    $rejectedDetails[$r['detail']] = (int) $r['n'];
}
$lost = $twice = $wrongTx = $paidNotByMock = $wrongAmount = [];
$amounts = ['mock' => 0, 'db' => 0];
foreach ($mockPaid as $no => $tx) {
    $row = $dbOrders[$no] ?? null;
    $n = array_sum($processed[$no] ?? []);
    if ($row === null || $row['state'] !== 'PAID' || $n === 0) {
        $lost[] = $no;
    }
    if ($n > 1) {
        $twice[] = $no;
    }
    if ($row !== null && $row['transaction_id'] !== null && $row['transaction_id'] !== $tx) {
        $wrongTx[] = $no;
    }
    $amounts['mock'] += $mockFee[$no];
    $amounts['db'] += $row === null ? 0 : (int) $row['total_fee'];
    if ($row === null || (int) $row['total_fee'] !== $mockFee[$no]) {
        $wrongAmount[] = $no;
    }
}
foreach ($dbOrders as $no => $row) {
    if ($row['state'] !== 'NOTPAY' && !isset($mockPaid[$no])) {
        $paidNotByMock[] = $no;
    }
}
$appliedOnce = count(array_filter(
    array_keys($mockPaid),
    fn (string $no): bool => ($dbOrders[$no]['state'] ?? '') === 'PAID' && array_sum($processed[$no] ?? []) === 1,
));
$viaNotify = $viaQuery = 0;
foreach ($processed as $kinds) {
    $viaNotify += $kinds['payment'] ?? 0;
    $viaQuery += $kinds['orderquery'] ?? 0;
}
$attempts = ['total' => count($notifies), 'ok' => 0, 'failed' => 0, 'fail_replies' => 0, 'max_attempt' => 0,
    'extra_copies' => 0, 'by_status' => [], 'retried_orders' => 0];
$perOrder = [];
foreach ($notifies as $n) {
    if (($n['kind'] ?? '') !== 'payment') {
        continue;
    }
    $attempts[$n['ok'] ? 'ok' : 'failed']++;
    // HTTP 200 without SUCCESS: the endpoint answered FAIL, and the mock will deliver again.
    $attempts['fail_replies'] += $n['http_status'] === 200 && !$n['ok'] ? 1 : 0;
    $attempts['extra_copies'] += ($n['copy'] ?? 1) > 1 ? 1 : 0;
    $attempts['max_attempt'] = max($attempts['max_attempt'], (int) $n['attempt']);
    $k = $n['http_status'] === null ? 'transport: ' . substr((string) ($n['error'] ?? ''), 0, 60) : 'HTTP ' . $n['http_status'];
    $attempts['by_status'][$k] = ($attempts['by_status'][$k] ?? 0) + 1;
    if (($n['copy'] ?? 1) === 1) {
        $perOrder[$n['out_trade_no']] = ($perOrder[$n['out_trade_no']] ?? 0) + 1;
    }
}
$attempts['retried_orders'] = count(array_filter($perOrder, fn ($c) => $c > 1));

sort($stats->latencies);
$pct = fn (float $p) => $stats->latencies === [] ? 0 : round(1000 * $stats->latencies[(int) min(count($stats->latencies) - 1, floor($p * count($stats->latencies)))], 1);
$apiRequests = $statsAfter['requests'] - $statsBefore['requests'] - ($c1 - $c0);
$report = [
    'shop_requests' => $stats->requests,
    'notify_replays' => $stats->replays,
    'driver_http_requests_through_nginx' => $stats->requests + $stats->replays,
    'load_seconds' => round($loadSeconds, 1),
    'settle_seconds' => round($settleSeconds, 1),
    'requests_per_second' => round(($stats->requests + $stats->replays) / $loadSeconds, 1),
    'latency_ms' => ['p50' => $pct(0.5), 'p90' => $pct(0.9), 'p99' => $pct(0.99), 'max' => $pct(1.0)],
    'by_route' => $stats->byRoute,
    'failures' => $stats->failures,
    'failures_by_phase' => $stats->failuresByPhase,
    'replay_outcomes' => $stats->replayOutcomes,
    'orders_created' => $stats->ordersCreated,
    'orders_failed' => $stats->ordersFailed,
    'orders_paid_by_driver' => $stats->paidByDriver,
    'mock_order_states' => $mockStates,
    'mock_paid' => count($mockPaid),
    'db_paid_orders' => count(array_filter($dbOrders, fn ($r) => $r['state'] === 'PAID')),
    'processed_via_notify' => $viaNotify,
    'processed_via_orderquery' => $viaQuery,
    'applied_exactly_once' => $appliedOnce,
    'lost' => count($lost),
    'processed_twice' => count($twice),
    'wrong_transaction_id' => count($wrongTx),
    'paid_in_db_not_in_mock' => count($paidNotByMock),
    'wrong_amount' => count($wrongAmount),
    'paid_amount_fen' => $amounts,
    'lost_examples' => array_slice($lost, 0, 5),
    'twice_examples' => array_slice($twice, 0, 5),
    'notify_log_outcomes' => $outcomes,
    'notify_log_rejected' => $rejectedDetails,
    'mock_payment_notify_attempts' => $attempts,
    'mock_stats_before' => $statsBefore,
    'mock_stats_after' => $statsAfter,
    'driver_control_requests' => $stats->control,
    'driver_control_tls_connections' => $stats->controlConnects,
    'api_requests_by_workers' => $apiRequests,
    'tls_connections_by_workers' => $statsAfter['tls_connections'] - $statsBefore['tls_connections'] - ($cc1 - $cc0),
    'connections_by_workers_incl_refused' => $statsAfter['connections'] - $statsBefore['connections'] - ($cc1 - $cc0),
    'phases' => $phases,
    'phase_actions' => $phaseActions,
];
file_put_contents($cfg['out'], json_encode($report, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
fprintf(STDERR, "report: %s\n", $cfg['out']);
exit(($report['lost'] === 0 && $report['processed_twice'] === 0 && $report['wrong_transaction_id'] === 0
    && $report['paid_in_db_not_in_mock'] === 0 && $report['wrong_amount'] === 0) ? 0 : 1);
