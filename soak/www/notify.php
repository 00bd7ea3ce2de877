<?php

/**
 * Notify endpoint for the soak run: examples/notify.php, unchanged, wrapped in two
 * network faults that WeChat's delivery has to survive:
 *
 *  - SOAK_NOTIFY_LOSE_RATE: the notify is processed (examples/notify.php runs and commits),
 *    then its SUCCESS reply is "lost" (HTTP 502 instead) — the mock delivers it again later,
 *    exactly as WeChat does when an acknowledgement does not arrive: a sequential duplicate.
 *  - SOAK_SPOOL_RATE: a copy of the delivered body is left in SOAK_SPOOL; the driver replays
 *    it several times at once (concurrent duplicate deliveries, "several servers").
 * Replays carry the header X-Soak-Replay and are never spooled or lost again.
 */

declare(strict_types=1);

$body = (string) file_get_contents('php://input');
$replay = isset($_SERVER['HTTP_X_SOAK_REPLAY']);
$rate = static fn (string $name): float => (float) (getenv($name) ?: 0);
$spool = (string) getenv('SOAK_SPOOL');
if (!$replay && $spool !== '' && $body !== '' && mt_rand() / mt_getrandmax() < $rate('SOAK_SPOOL_RATE')) {
    $kind = str_contains((string) ($_SERVER['REQUEST_URI'] ?? ''), '/notify/refund') ? 'refund' : 'pay';
    $name = $spool . '/' . $kind . '-' . bin2hex(random_bytes(8));
    file_put_contents($name . '.tmp', $body);
    rename($name . '.tmp', $name . '.xml');
}
$lose = !$replay && mt_rand() / mt_getrandmax() < $rate('SOAK_NOTIFY_LOSE_RATE');

ob_start();
require dirname(__DIR__, 2) . '/examples/notify.php';
$reply = (string) ob_get_clean();
if ($lose) {
    http_response_code(502);
    header('Content-Type: text/plain');
    header('X-Soak-Ack-Lost: 1');
    echo "acknowledgement lost (soak fault)\n";
} else {
    echo $reply;
}
