<?php

/**
 * Router for the example shop: php -S 127.0.0.1:8080 examples/shop/index.php
 * (with the extension loaded and the WXPAY_* environment of lib/Shop.php; examples/shop.sh
 * sets it all up). WXPAY_MOCK_CONTROL=1 adds a "simulate the payer" button for wxpay-mock.
 */

declare(strict_types=1);

require __DIR__ . '/../lib/Shop.php';
require __DIR__ . '/../lib/Mock.php';
require __DIR__ . '/NotFound.php';
require __DIR__ . '/ShopApp.php';

use WxPayExample\Mock;
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
    $app = new ShopApp(Shop::fromEnv(), getenv('WXPAY_MOCK_CONTROL') === '1' ? Mock::fromEnv() : null);
    $app->run($_SERVER['REQUEST_METHOD'] ?? 'GET', $path, $_GET, $_POST);
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
return true;
