<?php

/**
 * Front controller for the soak run (php-fpm behind nginx): the examples' shop
 * (examples/shop/ShopApp.php + examples/lib/Shop.php), configured exactly as
 * examples/shop/index.php does it, plus one addition: when WXPAY_BACKUP_URL is set
 * (the mock's --backup-listen), the client gets it as `backup_url` with `failover` on, so
 * that a dead primary (mock fault `primary_down`) is survived instead of failing every call.
 */

declare(strict_types=1);

$examples = dirname(__DIR__, 2) . '/examples';
require $examples . '/lib/Shop.php';
require $examples . '/lib/Mock.php';
require $examples . '/shop/NotFound.php';
require $examples . '/shop/ShopApp.php';

use WxPay\Client;
use WxPayExample\NotFound;
use WxPayExample\Shop;
use WxPayExample\ShopApp;

ini_set('display_errors', '0');
ini_set('log_errors', '1');
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    throw new ErrorException($message, 0, $severity, $file, $line);
});

$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
try {
    $notifyBase = rtrim(Shop::env('WXPAY_NOTIFY_BASE'), '/');
    $config = Shop::clientConfig($notifyBase);
    $backup = getenv('WXPAY_BACKUP_URL');
    if (is_string($backup) && $backup !== '') {
        $config['backup_url'] = $backup;
        $config['failover'] = true;
    }
    $shop = new Shop(new Client($config), Shop::dbFromEnv(), $notifyBase);
    (new ShopApp($shop, null))->run($_SERVER['REQUEST_METHOD'] ?? 'GET', $path, $_GET, $_POST);
} catch (NotFound $e) {
    http_response_code(404);
    header('Content-Type: text/plain; charset=utf-8');
    echo $e->getMessage(), "\n";
} catch (Throwable $e) {
    error_log('shop: ' . $e::class . ': ' . $e->getMessage());
    http_response_code(500);
    header('Content-Type: text/plain; charset=utf-8');
    echo "internal error\n";
}
