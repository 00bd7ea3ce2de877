<?php

/**
 * A shop's native pay mode 1 scan URL for the integration tests, served by `php -S` with the
 * extension: POST /<mode>/<out_trade_no> answers with Client::handleScanCallback(), whose
 * createOrder callback does what <mode> says. The client's config is the JSON in
 * $WXPAY_SCAN_CONFIG; each callback array is stored as $WXPAY_SCAN_DIR/<out_trade_no>.json
 * and PHP's error log goes to $WXPAY_SCAN_DIR/error.log (the test's -d error_log).
 */

declare(strict_types=1);

$dir = (string) getenv('WXPAY_SCAN_DIR');
$parts = explode('/', trim((string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH), '/'));
if ($dir === '' || count($parts) !== 2 || !preg_match('/^[A-Za-z0-9_-]+$/', $parts[1])) {
    http_response_code(404);
    return;
}
[$mode, $no] = $parts;
$pay = new WxPay\Client(json_decode((string) getenv('WXPAY_SCAN_CONFIG'), true, 8, JSON_THROW_ON_ERROR));
$params = ['body' => 'scan-to-pay', 'out_trade_no' => $no, 'total_fee' => 66];

$reply = $pay->handleScanCallback(
    (string) file_get_contents('php://input'),
    static function (array $callback) use ($mode, $no, $dir, $pay, $params): mixed {
        file_put_contents("$dir/$no.json", json_encode($callback, JSON_THROW_ON_ERROR));
        return match ($mode) {
            'params' => $params,
            'result' => $pay->unifiedOrder(
                $params + ['trade_type' => 'NATIVE', 'product_id' => $callback['product_id']]
            ),
            'decline' => ['result_code' => 'FAIL', 'err_code_des' => '该商品已售罄'],
            'throw' => throw new RuntimeException("stock database down for $no"),
            'float' => ['total_fee' => 0.66] + $params,
            'string' => 'wx' . $no,
            'false' => false,
            'mismatch' => $params + ['product_id' => 'another-product'],
            default => throw new LogicException("unknown mode $mode"),
        };
    }
);
header('Content-Type: text/xml; charset=utf-8');
echo $reply;
