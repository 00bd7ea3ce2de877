<?php

/**
 * A notify receiver for the integration tests, served by `php -S` (router script).
 * POST /<mode>/<tag>: stores the body as $WXPAY_NOTIFY_DIR/<tag>.<attempt>.xml and answers
 * SUCCESS (mode "ok"), FAIL on the first attempt then SUCCESS ("fail1"), or always FAIL ("fail").
 * Mode "relay1" forwards every body to $WXPAY_NOTIFY_RELAY (a real notify endpoint) and passes
 * its reply back, except the first one, which is "lost" (FAIL): as when a shop's SUCCESS never
 * reaches WeChat, the same notify is then delivered again.
 * Deliberately plain PHP: it checks nothing, the tests verify what it stored.
 */

declare(strict_types=1);

$dir = (string) getenv('WXPAY_NOTIFY_DIR');
$parts = explode('/', trim((string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH), '/'));
if ($dir === '' || count($parts) !== 2 || !preg_match('/^[A-Za-z0-9_-]+$/', $parts[1])) {
    http_response_code(404);
    return;
}
[$mode, $tag] = $parts;
$attempt = count(glob("$dir/$tag.*.xml") ?: []) + 1;
// Written aside and renamed: a test polling for the file never reads it half-written.
file_put_contents("$dir/$tag.$attempt.part", file_get_contents('php://input'));
rename("$dir/$tag.$attempt.part", "$dir/$tag.$attempt.xml");
$fail = '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';
header('Content-Type: text/xml');
if ($mode === 'relay1') {
    $ch = curl_init((string) getenv('WXPAY_NOTIFY_RELAY'));
    curl_setopt_array($ch, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => (string) file_get_contents("$dir/$tag.$attempt.xml"),
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 10,
        CURLOPT_HTTPHEADER => ['Content-Type: text/xml'],
    ]);
    $reply = curl_exec($ch);
    file_put_contents("$dir/$tag.$attempt.part", is_string($reply) ? $reply : 'curl: ' . curl_error($ch));
    rename("$dir/$tag.$attempt.part", "$dir/$tag.$attempt.reply");
    echo $attempt === 1 || !is_string($reply) ? $fail : $reply;
    return;
}
$ok = $mode === 'ok' || ($mode === 'fail1' && $attempt > 1);
echo $ok
    ? '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>'
    : $fail;
