<?php

/**
 * WeChat Pay notify endpoint, as a `php -S` router script:
 *   POST /notify/pay     payment result (signed XML)   → handleNotify, callback: assertNotifyMatches, apply once
 *   POST /notify/refund  refund result (req_info)      → handleRefundNotify, callback: check, apply once
 * Every notify is answered with HTTP 200 and the reply the handler returns: SUCCESS (applied
 * now or before) or FAIL (forged, for another order or amount, or a temporary failure:
 * WeChat then retries; the handler writes why to the error log). The catch below is only
 * for what fails before a handler runs (the configuration).
 * Configuration comes from the environment (see lib/Shop.php).
 */

declare(strict_types=1);

require __DIR__ . '/lib/Shop.php';

use WxPay\Notify;
use WxPayExample\Shop;

ini_set('display_errors', '0');
ini_set('log_errors', '1');
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    throw new ErrorException($message, 0, $severity, $file, $line);
});

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
$kind = match ($path) {
    '/notify/pay' => 'pay',
    '/notify/refund' => 'refund',
    default => null,
};
if ($kind === null) {
    http_response_code(404);
    echo "not found\n";
    return true;
}
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    http_response_code(405);
    header('Allow: POST');
    echo "POST only\n";
    return true;
}

try {
    $body = (string) file_get_contents('php://input');
    $shop = Shop::fromEnv();
    $reply = $kind === 'pay' ? $shop->handlePaymentNotify($body) : $shop->handleRefundNotify($body);
} catch (Throwable $e) {
    error_log("notify $kind: " . $e::class . ': ' . $e->getMessage());
    $reply = Notify::fail('temporary failure');
}
http_response_code(200);
header('Content-Type: text/xml; charset=utf-8');
echo $reply;
return true;
