<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\Notify;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\Notifies;
use WxPayExample\Shop;

/**
 * The example shop's order book setting (examples/lib/Shop.php): WXPAY_SHOP_DSN with its user
 * and password, or the SQLite file WXPAY_DB. Runs without a database server: the DSN path is
 * exercised with an sqlite: DSN, and a mysql: DSN only as far as its connection failure.
 * `make soak-cluster` runs the same code on MariaDB.
 */
final class ShopDbTest extends TestCase
{
    private const VARS = ['WXPAY_SHOP_DSN', 'WXPAY_SHOP_DB_USER', 'WXPAY_SHOP_DB_PASSWORD', 'WXPAY_DB'];

    private string $dir = '';
    /** @var array<string, string|false> */
    private array $saved = [];

    protected function setUp(): void
    {
        require_once __DIR__ . '/../examples/lib/Shop.php';
        foreach (self::VARS as $name) {
            $this->saved[$name] = getenv($name);
            putenv($name);
        }
        $this->dir = Mock::tempDir('wxpay-shop-db-');
    }

    protected function tearDown(): void
    {
        foreach ($this->saved as $name => $value) {
            putenv($value === false ? $name : "$name=$value");
        }
        Mock::removeDir($this->dir);
    }

    /** @param array<string, string> $vars */
    private static function setEnv(array $vars): void
    {
        foreach ($vars as $name => $value) {
            putenv("$name=$value");
        }
    }

    public function testDsnOpensTheOrderBookAndANotifyIsAppliedOnce(): void
    {
        self::setEnv(['WXPAY_SHOP_DSN' => "sqlite:{$this->dir}/shop.sqlite"]);
        $db = Shop::dbFromEnv();
        $this->assertSame('sqlite', $db->getAttribute(\PDO::ATTR_DRIVER_NAME));
        Shop::createSchema($db);
        Shop::createSchema($db); // only what is missing: a second run changes nothing
        $shop = new Shop(new Client(Notifies::config(['base_url' => 'http://127.0.0.1:9'])), $db, 'http://127.0.0.1:9');
        $shop->createOrder('A1001', 'coffee', 88, 'NATIVE', 'sku-1');

        $body = Notifies::payment();
        $this->assertSame(Notify::success(), $shop->handlePaymentNotify($body));
        $this->assertSame(Notify::success(), $shop->handlePaymentNotify($body), 'a duplicate is acknowledged');
        $order = $shop->order('A1001');
        $this->assertSame('PAID', $order['state']);
        $this->assertSame(Notifies::paymentFields()['transaction_id'], $order['transaction_id']);
        $this->assertSame(['processed', 'duplicate'], array_column($shop->notifyLog('A1001', 'payment'), 'outcome'));

        // Another amount for the same order is refused, and the refusal is committed to the log.
        $shop->createOrder('A1002', 'tea', 99, 'NATIVE', 'sku-2');
        $this->assertSame('processed', $shop->recordPayment(Notifies::paymentFields('MD5', ['out_trade_no' => 'A1002', 'total_fee' => '99', 'transaction_id' => '4200000001202611270000000002']), 'notify'));
        try {
            $shop->recordPayment(Notifies::paymentFields('MD5', ['out_trade_no' => 'A1002', 'total_fee' => '98']), 'notify');
            $this->fail('a notify for another amount must be refused');
        } catch (\WxPay\SignatureException $e) {
            $this->assertStringContainsString('total_fee', $e->getMessage());
        }
        $this->assertSame(['processed', 'rejected'], array_column($shop->notifyLog('A1002', 'payment'), 'outcome'));

        // The refund row is kept once, whatever the retries (ON CONFLICT … DO NOTHING).
        $db->exec("INSERT INTO refunds (out_refund_no, out_trade_no, refund_fee) VALUES ('RA1001', 'A1001', 88)");
        try {
            $shop->refund('A1001', 88, 'test'); // stored first, then sent: refused, no certificate
            $this->fail('a refund without the client certificate must fail');
        } catch (\WxPay\ConfigException $e) {
            $this->assertStringContainsString('cert_path', $e->getMessage());
        }
        $this->assertSame('1', (string) $db->query("SELECT COUNT(*) FROM refunds WHERE out_refund_no = 'RA1001'")->fetchColumn());
    }

    public function testWithoutDsnTheSqliteFileIsUsed(): void
    {
        self::setEnv(['WXPAY_DB' => "{$this->dir}/file.sqlite"]);
        Shop::createSchema(Shop::dbFromEnv());
        $this->assertFileExists("{$this->dir}/file.sqlite");
        $tables = Shop::dbFromEnv()->query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")->fetchAll(\PDO::FETCH_COLUMN);
        $this->assertSame(['notify_log', 'orders', 'refunds'], array_values(array_diff($tables, ['sqlite_sequence'])));
    }

    /** @return array<string, array{array<string, string>, string}> */
    public static function badSettings(): array
    {
        return [
            'both' => [['WXPAY_SHOP_DSN' => 'sqlite::memory:', 'WXPAY_DB' => '/tmp/x.sqlite'], 'WXPAY_SHOP_DSN and WXPAY_DB are both set: set one'],
            'other driver' => [['WXPAY_SHOP_DSN' => 'pgsql:host=127.0.0.1;dbname=shop'], 'WXPAY_SHOP_DSN must start with sqlite: or mysql:, got pgsql:'],
            'no prefix' => [['WXPAY_SHOP_DSN' => '/var/lib/shop.sqlite'], 'WXPAY_SHOP_DSN must start with sqlite: or mysql:, got no driver prefix'],
            'sqlite with a user' => [['WXPAY_SHOP_DSN' => 'sqlite::memory:', 'WXPAY_SHOP_DB_USER' => 'shop'], 'an sqlite: DSN takes no user or password'],
            'password without DSN' => [['WXPAY_DB' => '/tmp/x.sqlite', 'WXPAY_SHOP_DB_PASSWORD' => 'pw'], 'WXPAY_SHOP_DB_USER and WXPAY_SHOP_DB_PASSWORD are for WXPAY_SHOP_DSN, which is not set'],
            'nothing' => [[], 'environment variable WXPAY_DB is not set'],
        ];
    }

    /**
     * @dataProvider badSettings
     * @param array<string, string> $vars
     */
    #[DataProvider('badSettings')]
    public function testBadSettingsAreRefusedNamingTheVariable(array $vars, string $message): void
    {
        self::setEnv($vars);
        try {
            Shop::dbFromEnv();
            $this->fail('accepted: ' . json_encode($vars));
        } catch (\InvalidArgumentException | \RuntimeException $e) {
            $this->assertStringContainsString($message, $e->getMessage());
        }
    }

    public function testMysqlPasswordStaysOutOfErrorsAndTraces(): void
    {
        $password = 'pw-' . bin2hex(random_bytes(8));
        self::setEnv([
            'WXPAY_SHOP_DSN' => "mysql:unix_socket={$this->dir}/no-server.sock;dbname=shop",
            'WXPAY_SHOP_DB_USER' => 'shop',
            'WXPAY_SHOP_DB_PASSWORD' => $password,
        ]);
        try {
            Shop::dbFromEnv();
            $this->fail('connected to a server that is not there');
        } catch (\PDOException $e) {
            // pdo_mysql is loaded (scripts/deps.sh installs php-mysql): the socket is missing.
            $this->assertStringContainsString('[2002]', $e->getMessage());
            $this->assertStringNotContainsString($password, $e->getMessage() . $e->getTraceAsString());
            // The frames of the connection (PDO::__construct, Shop::openDb) hold the password
            // only as a SensitiveParameterValue. (Not print_r of the whole trace: PHPUnit's frames
            // carry its object graph.)
            $hidden = 0;
            foreach ($e->getTrace() as $frame) {
                if (!in_array($frame['class'] ?? '', [\PDO::class, Shop::class], true)) {
                    continue;
                }
                foreach ($frame['args'] ?? [] as $arg) {
                    $this->assertNotSame($password, $arg);
                    $hidden += $arg instanceof \SensitiveParameterValue ? 1 : 0;
                }
            }
            $this->assertSame(2, $hidden, 'PDO::__construct and Shop::openDb');
        } catch (\InvalidArgumentException $e) {
            $this->assertFalse(extension_loaded('pdo_mysql'));
            $this->assertStringContainsString("WXPAY_SHOP_DSN: PHP's PDO driver mysql is not loaded", $e->getMessage());
            $this->assertStringNotContainsString($password, $e->getMessage() . $e->getTraceAsString());
        }
    }
}
