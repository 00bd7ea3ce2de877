<?php

/**
 * A notify receiver for the integration tests, served by `php -S` (router script).
 * POST /<mode>/<tag>: stores the body as $WXPAY_NOTIFY_DIR/<tag>.<attempt>.xml and answers
 * SUCCESS (mode "ok"), FAIL on the first attempt then SUCCESS ("fail1"), or always FAIL ("fail").
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
file_put_contents("$dir/$tag.$attempt.xml", file_get_contents('php://input'));
$ok = $mode === 'ok' || ($mode === 'fail1' && $attempt > 1);
header('Content-Type: text/xml');
echo $ok
    ? '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>'
    : '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';
