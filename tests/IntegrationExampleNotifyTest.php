<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Tests\Support\Extension;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\PhpServer;
use WxPay\Tests\Support\UsesMock;
use WxPayExample\Shop;

/**
 * examples/notify.php (the shop's notify endpoint, `php -S` with the extension) receives the
 * mock's duplicate deliveries of one payment notify and applies the payment once.
 *
 * The mock delivers again only when its delivery was not acknowledged, so the notify goes
 * through the test receiver in "relay1" mode: it forwards every delivery to notify.php and
 * loses notify.php's first SUCCESS, as a network failure would; the mock then delivers again.
 */
final class IntegrationExampleNotifyTest extends TestCase
{
    use UsesMock;

    private const EXAMPLES = __DIR__ . '/../examples';

    private string $dir = '';
    /** @var list<PhpServer> */
    private array $servers = [];

    protected function setUp(): void
    {
        foreach (['notify.php', 'lib/Shop.php'] as $file) {
            if (!is_file(self::EXAMPLES . '/' . $file)) {
                $this->markTestSkipped("examples/$file is not there");
            }
        }
        if (!extension_loaded('pdo_sqlite') || !extension_loaded('curl')) {
            $this->markTestSkipped('pdo_sqlite and curl are needed');
        }
        $this->setUpMock();
        require_once self::EXAMPLES . '/lib/Shop.php';
        $this->dir = Mock::tempDir('wxpay-example-notify-');
    }

    protected function tearDown(): void
    {
        foreach ($this->servers as $server) {
            $server->stop();
        }
        Mock::removeDir($this->dir);
    }

    public function testDuplicateDeliveriesAreAppliedOnce(): void
    {
        $so = Extension::file() ?? $this->markTestSkipped('cannot tell where the wxpay extension was loaded from');
        $db = $this->dir . '/shop.sqlite';
        $notifyPort = Mock::freePort();
        $notifyBase = "http://127.0.0.1:$notifyPort";
        $env = $this->mock->exampleEnv() + ['WXPAY_NOTIFY_BASE' => $notifyBase, 'WXPAY_DB' => $db];
        // The shop's side: its order book, and its notify endpoint with the extension.
        Shop::createSchema($pdo = Shop::openDb("sqlite:$db"));
        $shop = new Shop($this->mock->client(), $pdo, $notifyBase);
        $this->servers[] = $endpoint = new PhpServer(
            realpath(self::EXAMPLES . '/notify.php'),
            $env + ['PHP_CLI_SERVER_WORKERS' => '4'],
            ['-d', "extension=$so", '-d', 'display_errors=stderr'],
            null,
            $notifyPort
        );
        $this->servers[] = $relay = new PhpServer(
            __DIR__ . '/support/notify_receiver.php',
            ['WXPAY_NOTIFY_DIR' => $this->dir, 'WXPAY_NOTIFY_RELAY' => $endpoint->url . '/notify/pay']
        );

        $no = Shop::newOutTradeNo('EX');
        $shop->createOrder($no, 'example order', 388, 'NATIVE', 'sku-9');
        $this->mock->client(['notify_url' => $relay->url . "/relay1/$no"])->unifiedOrder([
            'body' => 'example order', 'out_trade_no' => $no, 'total_fee' => 388,
            'trade_type' => 'NATIVE', 'product_id' => 'sku-9',
        ]);
        $this->mock->pay($no);

        // Delivery 1 reaches notify.php (its SUCCESS is lost), delivery 2 is the duplicate.
        Mock::waitFor(
            fn () => is_file("{$this->dir}/$no.2.reply") ?: null,
            "the second delivery (endpoint log: {$endpoint->log()})"
        );
        foreach ([1, 2] as $attempt) {
            $reply = \WxPay\Xml::decode((string) file_get_contents("{$this->dir}/$no.$attempt.reply"));
            $this->assertSame('SUCCESS', $reply['return_code'], "notify.php acknowledged delivery $attempt");
        }
        $attempts = Mock::waitFor(function () use ($no) {
            $a = array_values(array_filter($this->mock->notifies(), fn ($n) => $n['out_trade_no'] === $no));
            return count($a) >= 2 ? $a : null;
        }, 'two attempt records');
        $this->assertSame([false, true], array_column($attempts, 'ok'));

        // The same notify, four more times at once (the endpoint has 4 workers).
        $body = (string) file_get_contents("{$this->dir}/$no.1.xml");
        $multi = curl_multi_init();
        $handles = [];
        for ($i = 0; $i < 4; $i++) {
            $handles[] = $h = curl_init($endpoint->url . '/notify/pay');
            curl_setopt_array($h, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 10]);
            curl_multi_add_handle($multi, $h);
        }
        do {
            curl_multi_exec($multi, $running);
            curl_multi_select($multi, 0.1);
        } while ($running > 0);
        foreach ($handles as $h) {
            $this->assertSame(200, curl_getinfo($h, CURLINFO_RESPONSE_CODE));
            $this->assertSame('SUCCESS', \WxPay\Xml::decode((string) curl_multi_getcontent($h))['return_code']);
            curl_multi_remove_handle($multi, $h);
        }
        curl_multi_close($multi);

        // Applied once; every duplicate acknowledged and logged as such.
        $order = $shop->order($no);
        $this->assertSame('PAID', $order['state']);
        $this->assertSame($this->mock->client()->orderQuery(['out_trade_no' => $no])['transaction_id'], $order['transaction_id']);
        $outcomes = array_count_values(array_column($shop->notifyLog($no, 'payment'), 'outcome'));
        ksort($outcomes);
        $this->assertSame(['duplicate' => 5, 'processed' => 1], $outcomes, (string) json_encode($outcomes));
    }
}
