<?php

declare(strict_types=1);

namespace WxPayExample;

use Throwable;
use WxPay\Qr;

/**
 * A tiny web shop on `php -S`: products → order → QR page (polls /status) → paid page, and a
 * JSAPI page with the WeixinJSBridge call. WeChat's notifications arrive at /notify/pay and
 * /notify/refund and are handled by the same Shop class as examples/notify.php.
 */
final class ShopApp
{
    /** Demo JSAPI payer: in a real shop this comes from the OAuth (snsapi_base) redirect. */
    private const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

    private const PRODUCTS = [
        'flat-white' => ['name' => 'Flat white', 'fee' => 1800],
        'croissant' => ['name' => 'Croissant', 'fee' => 1250],
        'beans-250g' => ['name' => 'Coffee beans 250 g', 'fee' => 6800],
    ];

    public function __construct(private readonly Shop $shop, private readonly ?Mock $mock)
    {
    }

    /** Handles one request and sends the answer. */
    public function run(string $method, string $path, array $query, array $post): void
    {
        try {
            [$status, $type, $body, $headers] = $this->route($method, $path, $query, $post);
        } catch (NotFound $e) {
            [$status, $type, $body, $headers] = [404, 'text/plain', $e->getMessage() . "\n", []];
        } catch (\WxPay\ExceptionInterface $e) {
            [$status, $type, $body, $headers] = [502, 'text/html', $this->page(
                'WeChat Pay error',
                '<p class="err">' . self::h($e::class . ': ' . $e->getMessage()) . '</p><p><a href="/">Back</a></p>',
            ), []];
        } catch (Throwable $e) {
            error_log('shop: ' . $e::class . ': ' . $e->getMessage());
            [$status, $type, $body, $headers] = [500, 'text/plain', "internal error\n", []];
        }
        http_response_code($status);
        header("Content-Type: $type; charset=utf-8");
        foreach ($headers as $header) {
            header($header);
        }
        echo $body;
    }

    /** @return array{int, string, string, list<string>} */
    private function route(string $method, string $path, array $query, array $post): array
    {
        $o = is_string($query['o'] ?? null) ? $query['o'] : '';
        return match ([$method, $path]) {
            ['GET', '/'] => [200, 'text/html', $this->home(), []],
            ['POST', '/order'] => $this->order($post),
            ['GET', '/pay'] => [200, 'text/html', $this->qrPage($this->mustOrder($o)), []],
            ['GET', '/status'] => [
                200,
                'application/json',
                $this->status($this->mustOrder($o)),
                ['Cache-Control: no-store'],
            ],
            ['GET', '/paid'] => [200, 'text/html', $this->paidPage($this->mustOrder($o)), []],
            ['GET', '/jsapi'] => [200, 'text/html', $this->jsapiPage($this->mustOrder($o)), []],
            ['POST', '/dev/pay'] => $this->devPay($this->mustOrder($o)),
            ['POST', '/notify/pay'] => [200, 'text/xml', $this->shop->handlePaymentNotify($this->input()), []],
            ['POST', '/notify/refund'] => [200, 'text/xml', $this->shop->handleRefundNotify($this->input()), []],
            default => [404, 'text/plain', "not found\n", []],
        };
    }

    private function input(): string
    {
        return (string) file_get_contents('php://input');
    }

    private function mustOrder(string $outTradeNo): array
    {
        return $this->shop->order($outTradeNo) ?? throw new NotFound("no order \"$outTradeNo\"");
    }

    private function home(): string
    {
        $items = '';
        foreach (self::PRODUCTS as $sku => $p) {
            $items .= sprintf(
                '<li><b>%s</b> — ¥%s <form method="post" action="/order"><input type="hidden" name="sku" value="%s">'
                . '<button name="mode" value="native">Pay by QR code</button> '
                . '<button name="mode" value="jsapi">Pay inside WeChat (JSAPI)</button></form></li>',
                self::h($p['name']),
                self::yuan($p['fee']),
                self::h($sku),
            );
        }
        return $this->page('wxpay shop', "<ul class=\"products\">$items</ul>");
    }

    /** @return array{int, string, string, list<string>} */
    private function order(array $post): array
    {
        $sku = is_string($post['sku'] ?? null) ? $post['sku'] : '';
        $product = self::PRODUCTS[$sku] ?? null;
        if ($product === null) {
            return [400, 'text/plain', "unknown product\n", []];
        }
        $jsapi = ($post['mode'] ?? '') === 'jsapi';
        $outTradeNo = Shop::newOutTradeNo('SHOP');
        $this->shop->placeOrder(
            $outTradeNo,
            'wxpay shop - ' . $product['name'],
            $product['fee'],
            $jsapi ? 'JSAPI' : 'NATIVE',
            $jsapi ? ['openid' => self::OPENID] : ['product_id' => $sku],
        );
        $to = ($jsapi ? '/jsapi?o=' : '/pay?o=') . rawurlencode($outTradeNo);
        return [303, 'text/plain', "see $to\n", ["Location: $to"]];
    }

    private function qrPage(array $order): string
    {
        $no = $order['out_trade_no'];
        if ($order['state'] !== 'NOTPAY') {
            return $this->paidPage($order);
        }
        $svg = Qr::svg((string) $order['code_url']);
        $dev = $this->mock === null ? '' : sprintf(
            '<p class="dev">Development: pay as the test payer on <a href="%s">the mock\'s page</a> '
            . '(its certificate is signed by the mock\'s own CA), or <form method="post" action="/dev/pay?o=%s" '
            . 'style="display:inline"><button>simulate the payer here</button></form>.</p>',
            self::h($this->mock->pageUrl()),
            self::h(rawurlencode($no)),
        );
        $statusUrl = json_encode('/status?o=' . rawurlencode($no));
        $paidUrl = json_encode('/paid?o=' . rawurlencode($no));
        $price = self::yuan((int) $order['total_fee']);
        $body = <<<HTML
            <p>Order <code>{$this->hh($no)}</code>: {$this->hh($order['body'])}, <b>¥$price</b></p>
            <p>Scan with WeChat to pay:</p>
            <div class="qr">$svg</div>
            <p id="state">Waiting for payment…</p>
            $dev
            <script>
            (function poll() {
              fetch($statusUrl).then(r => r.json()).then(s => {
                if (s.paid) { location.href = $paidUrl; return; }
                document.getElementById('state').textContent =
                  'Waiting for payment… (WeChat says ' + s.trade_state + ')';
                setTimeout(poll, 1500);
              }).catch(() => setTimeout(poll, 3000));
            })();
            </script>
            HTML;
        return $this->page('Pay with WeChat', $body);
    }

    /** JSON for the QR page: our state, asking WeChat (orderQuery) while we have no notify. */
    private function status(array $order): string
    {
        $no = $order['out_trade_no'];
        $tradeState = null;
        if ($order['state'] === 'NOTPAY') {
            $tradeState = $this->shop->syncFromQuery($no)['trade_state'] ?? null;
            $order = $this->mustOrder($no);
        }
        $notified = false;
        foreach ($this->shop->notifyLog($no, 'payment') as $entry) {
            $notified = $notified || in_array($entry['outcome'], ['processed', 'duplicate'], true);
        }
        return json_encode([
            'out_trade_no' => $no,
            'state' => $order['state'],
            'paid' => $order['state'] !== 'NOTPAY',
            'paid_via' => $order['paid_via'],
            'notified' => $notified,
            'trade_state' => $tradeState ?? ($order['state'] === 'NOTPAY' ? 'NOTPAY' : 'SUCCESS'),
            'transaction_id' => $order['transaction_id'],
        ], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES) . "\n";
    }

    private function paidPage(array $order): string
    {
        if ($order['state'] === 'NOTPAY') {
            $to = '/pay?o=' . rawurlencode($order['out_trade_no']);
            $link = '<a href="' . self::h($to) . '">Pay it</a>';
            return $this->page('Not paid yet', "<p>This order is not paid yet. $link.</p>");
        }
        return $this->page('Paid', sprintf(
            '<p class="ok">Paid ✓ Thank you!</p><p>Order <code>%s</code>: %s, ¥%s</p>'
            . '<p>WeChat transaction <code>%s</code> at %s (confirmed by %s).</p><p><a href="/">Shop again</a></p>',
            self::h($order['out_trade_no']),
            self::h($order['body']),
            self::yuan((int) $order['total_fee']),
            self::h((string) $order['transaction_id']),
            self::h((string) $order['time_end']),
            self::h((string) $order['paid_via']),
        ));
    }

    private function jsapiPage(array $order): string
    {
        $params = $this->shop->pay->jsapiParams((string) $order['prepay_id']);
        $json = json_encode($params, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_HEX_TAG | JSON_THROW_ON_ERROR);
        $paidUrl = json_encode('/paid?o=' . rawurlencode($order['out_trade_no']));
        $call = <<<JS
            WeixinJSBridge.invoke('getBrandWCPayRequest', $json, function (res) {
              if (res.err_msg === 'get_brand_wcpay_request:ok') {
                // Only a hint: the notify (or orderQuery) decides that the order is paid.
                location.href = $paidUrl;
              }
            });
            JS;
        $body = sprintf(
            '<p>Order <code>%s</code>: %s, ¥%s. Open this page inside WeChat to pay; it runs:</p><pre>%s</pre>'
            . '<script>function wxpay() {%s}'
            . "if (typeof WeixinJSBridge !== 'undefined') { wxpay(); }"
            . " else { document.addEventListener('WeixinJSBridgeReady', wxpay, false); }</script>",
            self::h($order['out_trade_no']),
            self::h($order['body']),
            self::yuan((int) $order['total_fee']),
            self::h($call),
            $call,
        );
        return $this->page('Pay inside WeChat', $body);
    }

    /** @return array{int, string, string, list<string>} */
    private function devPay(array $order): array
    {
        if ($this->mock === null) {
            return [404, 'text/plain', "not found\n", []];
        }
        $this->mock->pay($order['out_trade_no']);
        $to = '/pay?o=' . rawurlencode($order['out_trade_no']);
        return [303, 'text/plain', "see $to\n", ["Location: $to"]];
    }

    private function page(string $title, string $body): string
    {
        $t = self::h($title);
        return <<<HTML
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>$t</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
            .qr svg { width: 240px; height: 240px; } .ok { color: #07c160; font-size: 1.5rem; }
            .err { color: #c00; } .dev { font-size: .9rem; color: #666; } li { margin: .5rem 0; }
            pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; }
            </style></head>
            <body><h1>$t</h1>
            $body
            </body></html>

            HTML;
    }

    private static function yuan(int $fen): string
    {
        return sprintf('%d.%02d', intdiv($fen, 100), $fen % 100);
    }

    private static function h(string $text): string
    {
        return htmlspecialchars($text, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    private function hh(string $text): string
    {
        return self::h($text);
    }
}
