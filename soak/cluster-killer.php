<?php

/**
 * make soak-cluster's worker killer: SIGKILLs a php-fpm worker in the middle of its notify
 * transaction, from outside, as the OOM killer or a crashing node would.
 *
 *   php soak/cluster-killer.php <config.json>
 *
 * The window (soak/cluster-faults.sql): when a payment is being applied, after its
 * `UPDATE orders … 'PAID'` and before COMMIT, a soak-only trigger on the notify_log INSERT
 * records the connection and the order in soak_window (Aria: not rolled back; its row shows
 * only once that INSERT statement ends) and sleeps 2 s, at the rate the driver's phases set.
 * Every 100 ms this script looks for such sleeping connections
 * (information_schema.PROCESSLIST: the trigger's `DO SLEEP`), finds the worker that owns the
 * client end of that TCP connection (/proc/net/tcp, then the sockets in /proc/PID/fd), checks
 * that it is a child of one of our fpm masters, and kills it with SIGKILL. Each kill is a JSON
 * line in `out` (time, connection id, pid); soak/report.php finds its order in soak_window.
 * It runs until SIGTERM.
 *
 * config: socket, user, password (a MariaDB account with PROCESS), db_port, masters (pids of
 * the fpm masters), out.
 */

declare(strict_types=1);

error_reporting(-1);
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    if ((error_reporting() & $severity) === 0) {
        return false; // silenced with @: a worker or socket that went away meanwhile
    }
    throw new ErrorException($message, 0, $severity, $file, $line);
});

$cfg = json_decode((string) file_get_contents($argv[1] ?? ''), true, 8, JSON_THROW_ON_ERROR);
$masters = array_map('intval', $cfg['masters']);
$dbPort = (int) $cfg['db_port'];
$out = fopen($cfg['out'], 'a');

/** Inode of the loopback TCP socket with local port $port connected to $remotePort. */
function socketInode(int $port, int $remotePort): ?string
{
    foreach (['/proc/net/tcp', '/proc/net/tcp6'] as $table) {
        foreach (@file($table) ?: [] as $i => $line) {
            $f = preg_split('/\s+/', trim($line));
            if ($i === 0 || count($f) < 10) {
                continue;
            }
            $local = hexdec(substr($f[1], strrpos($f[1], ':') + 1));
            $remote = hexdec(substr($f[2], strrpos($f[2], ':') + 1));
            if ($local === $port && $remote === $remotePort) {
                return $f[9];
            }
        }
    }
    return null;
}

/** The worker (a child of one of $masters) holding socket $inode, with its master. */
function owner(string $inode, array $masters): ?array
{
    foreach ($masters as $master) {
        $children = @file_get_contents("/proc/$master/task/$master/children");
        foreach (preg_split('/\s+/', trim((string) $children), -1, PREG_SPLIT_NO_EMPTY) as $pid) {
            foreach (@scandir("/proc/$pid/fd") ?: [] as $fd) {
                if (@readlink("/proc/$pid/fd/$fd") === "socket:[$inode]") {
                    return [(int) $pid, $master];
                }
            }
        }
    }
    return null;
}

$db = null;
$down = false;
/** @var array<int, true> $seen connections in the window at the last look (killed then) */
$seen = [];
while (true) {
    usleep(100_000);
    try {
        $db ??= new PDO("mysql:unix_socket={$cfg['socket']}", $cfg['user'], $cfg['password'], [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
            PDO::ATTR_TIMEOUT => 2,
        ]);
        $sleeping = $db->query(
            "SELECT ID AS id, HOST AS host FROM information_schema.PROCESSLIST
             WHERE STATE = 'User sleep' AND INFO LIKE 'DO SLEEP%'"
        )->fetchAll();
    } catch (PDOException $e) {
        if (!$down) {
            fwrite(STDERR, 'killer: ' . $e->getMessage() . ", looking again every 100 ms\n");
        }
        [$db, $down] = [null, true]; // MariaDB restarting
        continue;
    }
    $down = false;
    $now = [];
    foreach ($sleeping as $row) {
        $id = (int) $row['id'];
        $now[$id] = true;
        // The server thread sleeps on after its client is dead: one kill per window.
        if (isset($seen[$id]) || !preg_match('/:(\d+)$/', (string) $row['host'], $m)) {
            continue;
        }
        $inode = socketInode((int) $m[1], $dbPort);
        $worker = $inode === null ? null : owner($inode, $masters);
        $record = ['time' => microtime(true), 'connection_id' => $id];
        if ($worker === null) {
            $record['result'] = 'no worker found';
        } else {
            [$pid, $master] = $worker;
            $record += ['pid' => $pid, 'master' => $master];
            $record['result'] = posix_kill($pid, SIGKILL) ? 'SIGKILL'
                : 'kill failed: ' . posix_strerror(posix_get_last_error());
        }
        fwrite($out, json_encode($record) . "\n");
        fflush($out);
    }
    $seen = $now;
}
