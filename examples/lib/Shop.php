<?php

declare(strict_types=1);

namespace WxPayExample;

use PDO;
use Throwable;
use WxPay\Client;

/**
 * The merchant side shared by the checkout walk-through, the notify endpoint and the shop:
 * configuration from the environment, an order book (SQLite, or MySQL/MariaDB through PDO),
 * and idempotent handling of WeChat's payment and refund notifications.
 *
 * Environment: WXPAY_APPID WXPAY_MCH_ID WXPAY_KEY WXPAY_BASE_URL WXPAY_CA_PATH
 * WXPAY_CLIENT_CERT_PATH WXPAY_CLIENT_KEY_PATH WXPAY_NOTIFY_BASE (http://host:port of the
 * notify endpoint), and the order book: WXPAY_DB (an SQLite file) or WXPAY_SHOP_DSN (a PDO
 * DSN, `sqlite:` or `mysql:`) with WXPAY_SHOP_DB_USER and WXPAY_SHOP_DB_PASSWORD.
 */
final class Shop
{
    /** PDO drivers whose SQL this class speaks (see SCHEMA). */
    public const DRIVERS = ['sqlite', 'mysql'];

    /**
     * The tables per driver. MySQL/MariaDB: InnoDB (row locks, transactions) and binary
     * collation, so that out_trade_no compares exactly as WeChat's does (SQLite's default).
     */
    private const SCHEMA = [
        'sqlite' => [
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS orders (
                out_trade_no   TEXT PRIMARY KEY,
                body           TEXT NOT NULL,
                total_fee      INTEGER NOT NULL CHECK (total_fee > 0),
                trade_type     TEXT NOT NULL,
                product_id     TEXT,
                state          TEXT NOT NULL DEFAULT 'NOTPAY',
                code_url       TEXT,
                prepay_id      TEXT,
                transaction_id TEXT UNIQUE,
                paid_via       TEXT,
                time_end       TEXT,
                created_at     TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
            )
            SQL,
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS refunds (
                out_refund_no TEXT PRIMARY KEY,
                out_trade_no  TEXT NOT NULL REFERENCES orders(out_trade_no),
                refund_fee    INTEGER NOT NULL CHECK (refund_fee > 0),
                state         TEXT NOT NULL DEFAULT 'REQUESTED',
                refund_id     TEXT,
                success_time  TEXT,
                notify_fields TEXT
            )
            SQL,
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS notify_log (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                kind         TEXT NOT NULL,
                out_trade_no TEXT,
                ref          TEXT,
                outcome      TEXT NOT NULL,
                detail       TEXT NOT NULL DEFAULT '',
                body         TEXT NOT NULL,
                at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
            )
            SQL,
            'CREATE INDEX IF NOT EXISTS notify_log_order ON notify_log (out_trade_no)',
        ],
        'mysql' => [
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS orders (
                out_trade_no   VARCHAR(32) NOT NULL PRIMARY KEY,
                body           VARCHAR(128) NOT NULL,
                total_fee      INT NOT NULL CHECK (total_fee > 0),
                trade_type     VARCHAR(16) NOT NULL,
                product_id     VARCHAR(32),
                state          VARCHAR(16) NOT NULL DEFAULT 'NOTPAY',
                code_url       VARCHAR(255),
                prepay_id      VARCHAR(64),
                transaction_id VARCHAR(32) UNIQUE,
                paid_via       VARCHAR(16),
                time_end       VARCHAR(14),
                created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
            SQL,
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS refunds (
                out_refund_no VARCHAR(64) NOT NULL PRIMARY KEY,
                out_trade_no  VARCHAR(32) NOT NULL,
                refund_fee    INT NOT NULL CHECK (refund_fee > 0),
                state         VARCHAR(16) NOT NULL DEFAULT 'REQUESTED',
                refund_id     VARCHAR(32),
                success_time  VARCHAR(19),
                notify_fields TEXT,
                FOREIGN KEY (out_trade_no) REFERENCES orders (out_trade_no)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
            SQL,
            <<<'SQL'
            CREATE TABLE IF NOT EXISTS notify_log (
                id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                kind         VARCHAR(16) NOT NULL,
                out_trade_no VARCHAR(32),
                ref          VARCHAR(64),
                outcome      VARCHAR(16) NOT NULL,
                detail       TEXT NOT NULL,
                body         MEDIUMTEXT NOT NULL,
                at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
                KEY notify_log_order (out_trade_no)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
            SQL,
        ],
    ];

    /** MySQL/MariaDB error 1213: InnoDB rolled this transaction back to break a deadlock. */
    private const MYSQL_DEADLOCK = 1213;
    /** Runs of one transaction when InnoDB picks it as a deadlock victim. */
    private const DEADLOCK_ATTEMPTS = 3;

    private readonly string $driver;
    private bool $inTransaction = false;

    public function __construct(
        public readonly Client $pay,
        public readonly PDO $db,
        private readonly string $notifyBase,
    ) {
        $this->driver = self::driverOf($db);
    }

    public static function fromEnv(): self
    {
        $notifyBase = rtrim(self::env('WXPAY_NOTIFY_BASE'), '/');
        return new self(new Client(self::clientConfig($notifyBase)), self::dbFromEnv(), $notifyBase);
    }

    /** @return array<string, string|int|float|bool|null> */
    public static function clientConfig(string $notifyBase): array
    {
        return [
            'appid' => self::env('WXPAY_APPID'),
            'mch_id' => self::env('WXPAY_MCH_ID'),
            'key' => self::env('WXPAY_KEY'),
            'sign_type' => 'MD5',
            'notify_url' => $notifyBase . '/notify/pay',
            'cert_path' => self::env('WXPAY_CLIENT_CERT_PATH'),
            'key_path' => self::env('WXPAY_CLIENT_KEY_PATH'),
            'ca_path' => self::env('WXPAY_CA_PATH'),
            'base_url' => self::env('WXPAY_BASE_URL'),
            // In production the backup is https://api2.mch.weixin.qq.com; against the mock
            // there is no second domain, so failing over would leave loopback.
            'failover' => false,
            'timeout' => 5.0,
            'connect_timeout' => 2.0,
            'retries' => 1,
        ];
    }

    public static function env(string $name): string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            throw new \RuntimeException("environment variable $name is not set");
        }
        return $value;
    }

    /** An environment variable that may be unset (null); set but empty counts as unset. */
    private static function optionalEnv(string $name): ?string
    {
        $value = getenv($name);
        return is_string($value) && $value !== '' ? $value : null;
    }

    /**
     * The order book the environment names: WXPAY_SHOP_DSN (with WXPAY_SHOP_DB_USER and
     * WXPAY_SHOP_DB_PASSWORD), else the SQLite file WXPAY_DB. Naming both is refused: one of
     * them would be ignored without a word.
     */
    public static function dbFromEnv(): PDO
    {
        $dsn = self::optionalEnv('WXPAY_SHOP_DSN');
        $user = self::optionalEnv('WXPAY_SHOP_DB_USER');
        $password = self::optionalEnv('WXPAY_SHOP_DB_PASSWORD');
        if ($dsn === null) {
            if ($user !== null || $password !== null) {
                throw new \InvalidArgumentException(
                    'WXPAY_SHOP_DB_USER and WXPAY_SHOP_DB_PASSWORD are for WXPAY_SHOP_DSN, which is not set'
                );
            }
            return self::openDb('sqlite:' . self::env('WXPAY_DB'));
        }
        if (self::optionalEnv('WXPAY_DB') !== null) {
            throw new \InvalidArgumentException(
                'WXPAY_SHOP_DSN and WXPAY_DB are both set: set one (WXPAY_DB names an SQLite file, '
                . 'WXPAY_SHOP_DSN a PDO DSN)'
            );
        }
        return self::openDb($dsn, $user, $password);
    }

    /**
     * Connects to the order book (a PDO DSN, `sqlite:` or `mysql:`); the tables are made by
     * createSchema(), once, not on every request.
     */
    public static function openDb(
        string $dsn,
        ?string $user = null,
        #[\SensitiveParameter] ?string $password = null,
    ): PDO {
        $driver = strtolower((string) strstr($dsn, ':', true));
        if (!in_array($driver, self::DRIVERS, true)) {
            throw new \InvalidArgumentException(sprintf(
                'WXPAY_SHOP_DSN must start with %s, got %s',
                implode(' or ', array_map(fn (string $d): string => "$d:", self::DRIVERS)),
                $driver === '' ? 'no driver prefix' : "$driver:",
            ));
        }
        if (!in_array($driver, PDO::getAvailableDrivers(), true)) {
            throw new \InvalidArgumentException(
                "WXPAY_SHOP_DSN: PHP's PDO driver $driver is not loaded (Debian: php8.x-"
                . ($driver === 'mysql' ? 'mysql' : 'sqlite3') . ')'
            );
        }
        if ($driver === 'sqlite' && ($user !== null || $password !== null)) {
            throw new \InvalidArgumentException(
                'WXPAY_SHOP_DB_USER and WXPAY_SHOP_DB_PASSWORD: an sqlite: DSN takes no user or password'
            );
        }
        $db = new PDO($dsn, $user, $password, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
            // SQLite: how long to wait for the write lock; MySQL: for the connection.
            PDO::ATTR_TIMEOUT => $driver === 'sqlite' ? 10 : 5,
        ]);
        if ($driver === 'sqlite') {
            $db->exec('PRAGMA busy_timeout = 10000');
            $db->exec('PRAGMA journal_mode = WAL');
        } else {
            // Server-side prepares: values never pass through client-side quoting.
            $db->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
            $db->exec('SET NAMES utf8mb4');
            // A notify waits at most this long for a row another delivery holds: WeChat
            // waits about 5 s for the reply, and a FAIL in time beats a timeout.
            $db->exec('SET SESSION innodb_lock_wait_timeout = 4');
        }
        return $db;
    }

    /** Creates the tables that are missing (CREATE TABLE IF NOT EXISTS). */
    public static function createSchema(PDO $db): void
    {
        foreach (self::SCHEMA[self::driverOf($db)] as $sql) {
            $db->exec($sql);
        }
    }

    private static function driverOf(PDO $db): string
    {
        $driver = (string) $db->getAttribute(PDO::ATTR_DRIVER_NAME);
        if (!in_array($driver, self::DRIVERS, true)) {
            throw new \InvalidArgumentException(
                "the order book's PDO driver must be one of " . implode(', ', self::DRIVERS) . ", got $driver"
            );
        }
        return $driver;
    }

    public function notifyUrl(string $kind): string
    {
        return $this->notifyBase . '/notify/' . $kind;
    }

    /** A fresh out_trade_no: ≤ 32 characters of [0-9A-Za-z_-|*]. */
    public static function newOutTradeNo(string $prefix): string
    {
        $now = new \DateTimeImmutable('now', new \DateTimeZone('Asia/Shanghai'));
        return $prefix . $now->format('YmdHis') . bin2hex(random_bytes(3));
    }

    /** Records the order before WeChat hears of it: the notify is checked against this. */
    public function createOrder(
        string $outTradeNo,
        string $body,
        int $totalFee,
        string $tradeType,
        ?string $productId = null,
    ): void {
        $this->db->prepare(
            'INSERT INTO orders (out_trade_no, body, total_fee, trade_type, product_id) VALUES (?, ?, ?, ?, ?)'
        )->execute([$outTradeNo, $body, $totalFee, $tradeType, $productId]);
    }

    /** Creates the order locally, then at WeChat; keeps code_url / prepay_id. */
    public function placeOrder(
        string $outTradeNo,
        string $body,
        int $totalFee,
        string $tradeType,
        array $extra = [],
    ): array {
        $this->createOrder($outTradeNo, $body, $totalFee, $tradeType, $extra['product_id'] ?? null);
        $result = $this->pay->unifiedOrder([
            'body' => $body,
            'out_trade_no' => $outTradeNo,
            'total_fee' => $totalFee,
            'trade_type' => $tradeType,
        ] + $extra);
        $this->db->prepare('UPDATE orders SET code_url = ?, prepay_id = ? WHERE out_trade_no = ?')
            ->execute([$result['code_url'] ?? null, $result['prepay_id'] ?? null, $outTradeNo]);
        return $result;
    }

    /** @return array<string, mixed>|null */
    public function order(string $outTradeNo): ?array
    {
        return $this->row('SELECT * FROM orders WHERE out_trade_no = ?', $outTradeNo);
    }

    /** @return array<string, mixed>|null */
    public function refundRecord(string $outRefundNo): ?array
    {
        return $this->row('SELECT * FROM refunds WHERE out_refund_no = ?', $outRefundNo);
    }

    /**
     * Inside transaction(): the row, locked until commit. MySQL/MariaDB: FOR UPDATE, a
     * locking read of the latest committed row (whatever the isolation level), which a
     * concurrent delivery of the same notify waits for on any node. SQLite: BEGIN IMMEDIATE
     * already holds the database's write lock.
     *
     * @return array<string, mixed>|null
     */
    private function lockedRow(string $select, string $key): ?array
    {
        return $this->row($select . ($this->driver === 'mysql' ? ' FOR UPDATE' : ''), $key);
    }

    /** @return array<string, mixed>|null */
    private function row(string $select, string $key): ?array
    {
        $stmt = $this->db->prepare($select);
        $stmt->execute([$key]);
        $row = $stmt->fetch();
        return $row === false ? null : $row;
    }

    /** @return list<array<string, mixed>> */
    public function notifyLog(string $outTradeNo, ?string $kind = null): array
    {
        $sql = 'SELECT * FROM notify_log WHERE out_trade_no = ?' . ($kind !== null ? ' AND kind = ?' : '')
            . ' ORDER BY id';
        $stmt = $this->db->prepare($sql);
        $stmt->execute($kind !== null ? [$outTradeNo, $kind] : [$outTradeNo]);
        return $stmt->fetchAll();
    }

    /**
     * The payment notify endpoint: handleNotify verifies it and calls us with the verified
     * fields; we check them against our order and apply them once. Returns the reply body;
     * the caller sends it with HTTP 200. Throwing here makes the reply FAIL (WeChat retries)
     * and puts the exception in PHP's error log.
     */
    public function handlePaymentNotify(string $body): string
    {
        return $this->pay->handleNotify($body, function (array $notify, bool $paid) use ($body): void {
            if (!$paid) {
                // A verified result_code=FAIL: the payer did not pay. Note it; the order stays NOTPAY.
                $detail = 'payment failed: ' . ($notify['err_code'] ?? '') . ' ' . ($notify['err_code_des'] ?? '');
                $this->log('payment', $notify['out_trade_no'], $notify['transaction_id'] ?? null, 'failed', $detail, $body);
                return;
            }
            if ($this->recordPayment($notify, 'notify', $body) === 'unknown-order') {
                throw new \UnexpectedValueException("payment notify for an order we do not have: {$notify['out_trade_no']}");
            }
        });
    }

    /**
     * Applies a verified payment (a notify, or an orderquery answer with trade_state SUCCESS)
     * exactly once. Returns processed | duplicate | unknown-order; throws SignatureException
     * when the amount or order does not match ours.
     *
     * @param array<string, string> $paid
     */
    public function recordPayment(array $paid, string $via, string $rawBody = ''): string
    {
        $outTradeNo = $paid['out_trade_no'] ?? '';
        $kind = $via === 'notify' ? 'payment' : $via;
        $ref = $paid['transaction_id'] ?? '';
        // The order's row lock (lockedRow) makes check-then-update atomic: concurrent
        // deliveries of the same notify, on any node, queue there and the second one sees
        // the first one's result. A refusal is logged and committed, then thrown.
        $apply = function () use ($paid, $via, $kind, $outTradeNo, $ref, $rawBody): array {
            $order = $this->lockedRow('SELECT * FROM orders WHERE out_trade_no = ?', $outTradeNo);
            if ($order === null) {
                $this->logIn($kind, $outTradeNo, $ref, 'rejected', 'unknown out_trade_no', $rawBody);
                return ['unknown-order', null];
            }
            try {
                $this->pay->assertNotifyMatches($paid, $order['out_trade_no'], (int) $order['total_fee']);
            } catch (\WxPay\SignatureException $e) {
                $this->logIn($kind, $outTradeNo, $ref, 'rejected', $e->getMessage(), $rawBody);
                return ['rejected', $e];
            }
            if ($order['state'] !== 'NOTPAY') {
                // Already paid (or since refunded: never move a refunded order back to paid).
                $detail = $order['transaction_id'] === $ref ? 'already ' . $order['state']
                    : 'already ' . $order['state'] . ' by ' . $order['transaction_id'] . ' (check manually)';
                $this->logIn($kind, $outTradeNo, $ref, 'duplicate', $detail, $rawBody);
                return ['duplicate', null];
            }
            $update = $this->db->prepare(
                "UPDATE orders SET state = 'PAID', transaction_id = ?, paid_via = ?, time_end = ?
                 WHERE out_trade_no = ? AND state = 'NOTPAY'"
            );
            $update->execute([$ref, $via, $paid['time_end'] ?? '', $outTradeNo]);
            // The row is locked and was NOTPAY: anything but one changed row means the lock
            // did not hold, and then nothing may be recorded as processed.
            if ($update->rowCount() !== 1) {
                throw new \RuntimeException("order $outTradeNo changed under its row lock");
            }
            $this->logIn($kind, $outTradeNo, $ref, 'processed', 'order paid', $rawBody);
            return ['processed', null];
        };
        [$outcome, $refusal] = $this->transaction($apply);
        if ($refusal !== null) {
            throw $refusal;
        }
        return $outcome;
    }

    /**
     * When no notify has arrived yet: ask WeChat (orderquery answers are verified by the
     * extension) and apply a SUCCESS the same way as a notify.
     *
     * @return array<string, string> the orderquery answer
     */
    public function syncFromQuery(string $outTradeNo): array
    {
        $result = $this->pay->orderQuery(['out_trade_no' => $outTradeNo]);
        if (($result['trade_state'] ?? '') === 'SUCCESS') {
            $this->recordPayment($result, 'orderquery');
        }
        return $result;
    }

    /**
     * Asks for a refund. The out_refund_no is stored first, so a retry reuses it and
     * WeChat refunds it at most once.
     *
     * @return array<string, string>
     */
    public function refund(string $outTradeNo, int $refundFee, string $reason): array
    {
        $order = $this->order($outTradeNo) ?? throw new \RuntimeException("no order $outTradeNo");
        $outRefundNo = 'R' . $outTradeNo;
        $keepExisting = $this->driver === 'mysql' ? 'ON DUPLICATE KEY UPDATE out_refund_no = out_refund_no'
            : 'ON CONFLICT (out_refund_no) DO NOTHING';
        $this->db->prepare(
            "INSERT INTO refunds (out_refund_no, out_trade_no, refund_fee) VALUES (?, ?, ?) $keepExisting"
        )->execute([$outRefundNo, $outTradeNo, $refundFee]);
        return $this->pay->refund([
            'out_trade_no' => $outTradeNo,
            'out_refund_no' => $outRefundNo,
            'total_fee' => (int) $order['total_fee'],
            'refund_fee' => $refundFee,
            'refund_desc' => $reason,
            'notify_url' => $this->notifyUrl('refund'),
        ]);
    }

    /**
     * The refund notify endpoint: handleRefundNotify decrypts req_info and calls us with the
     * fields; we check them against our refund and apply them once (a throw means FAIL).
     */
    public function handleRefundNotify(string $body): string
    {
        return $this->pay->handleRefundNotify($body, function (array $notify) use ($body): void {
            $this->applyRefund($notify, $body);
        });
    }

    /** @param array<string, string> $notify a decrypted refund notify */
    private function applyRefund(array $notify, string $body): void
    {
        $outRefundNo = $notify['out_refund_no'];
        $outTradeNo = $notify['out_trade_no'];
        $reason = $this->transaction(function () use ($notify, $body, $outRefundNo, $outTradeNo): ?string {
            $refund = $this->lockedRow('SELECT * FROM refunds WHERE out_refund_no = ?', $outRefundNo);
            $reason = match (true) {
                $refund === null => 'unknown out_refund_no',
                $refund['out_trade_no'] !== $outTradeNo => 'out_trade_no does not match our refund',
                (string) $refund['refund_fee'] !== $notify['refund_fee'] => 'refund_fee '
                    . $notify['refund_fee'] . ' does not match our ' . $refund['refund_fee'],
                default => null,
            };
            if ($reason !== null) {
                $this->logIn('refund', $outTradeNo, $outRefundNo, 'rejected', $reason, $body);
                return $reason;
            }
            if (in_array($refund['state'], ['SUCCESS', 'REFUNDCLOSE', 'CHANGE'], true)) {
                $detail = 'already ' . $refund['state'];
                $this->logIn('refund', $outTradeNo, $outRefundNo, 'duplicate', $detail, $body);
                return null;
            }
            $this->db->prepare(
                'UPDATE refunds SET state = ?, refund_id = ?, success_time = ?, notify_fields = ?
                 WHERE out_refund_no = ?'
            )->execute([
                $notify['refund_status'],
                $notify['refund_id'] ?? null,
                $notify['success_time'] ?? null,
                json_encode($notify, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR),
                $outRefundNo,
            ]);
            if ($notify['refund_status'] === 'SUCCESS') {
                $this->db->prepare(
                    "UPDATE orders SET state = 'REFUNDED'
                     WHERE out_trade_no = ? AND state = 'PAID' AND total_fee <= (
                         SELECT COALESCE(SUM(refund_fee), 0) FROM refunds
                         WHERE out_trade_no = ? AND state = 'SUCCESS'
                     )"
                )->execute([$outTradeNo, $outTradeNo]);
            }
            $detail = 'refund ' . $notify['refund_status'];
            $this->logIn('refund', $outTradeNo, $outRefundNo, 'processed', $detail, $body);
            return null;
        });
        if ($reason !== null) {
            throw new \UnexpectedValueException("refund notify $outRefundNo: $reason");
        }
    }

    /**
     * Runs $work in one transaction and returns what it returns. InnoDB may pick it as the
     * victim of a deadlock (error 1213; it has rolled the whole transaction back): then it
     * runs again, up to DEADLOCK_ATTEMPTS times in all, and each retry goes to the error log.
     * Anything else is rolled back and thrown; for a notify that is a FAIL reply, and WeChat
     * delivers it again. A process that dies in the middle never commits: the database
     * rolls back what the closed connection left open.
     *
     * @template T
     * @param callable(): T $work
     * @return T
     */
    private function transaction(callable $work): mixed
    {
        for ($attempt = 1;; $attempt++) {
            // SQLite: BEGIN IMMEDIATE takes the write lock first, so check-then-update is atomic.
            $this->db->exec($this->driver === 'mysql' ? 'START TRANSACTION' : 'BEGIN IMMEDIATE');
            $this->inTransaction = true;
            try {
                $result = $work();
                $this->db->exec('COMMIT');
                $this->inTransaction = false;
                return $result;
            } catch (Throwable $e) {
                $this->rollbackIfOpen();
                $deadlock = $e instanceof \PDOException && ($e->errorInfo[1] ?? null) === self::MYSQL_DEADLOCK;
                if (!$deadlock || $attempt >= self::DEADLOCK_ATTEMPTS) {
                    throw $e;
                }
                error_log(sprintf(
                    'shop: deadlock, transaction run again (%d of %d): %s',
                    $attempt + 1,
                    self::DEADLOCK_ATTEMPTS,
                    $e->getMessage(),
                ));
            }
        }
    }

    private function rollbackIfOpen(): void
    {
        if (!$this->inTransaction) {
            return;
        }
        $this->inTransaction = false;
        try {
            $this->db->exec('ROLLBACK');
        } catch (\PDOException) {
            // The connection is gone (database restarted, network): the server has rolled
            // back what was not committed. The caller rethrows what went wrong first.
        }
    }

    private function log(
        string $kind,
        ?string $outTradeNo,
        ?string $ref,
        string $outcome,
        string $detail,
        string $body,
    ): void
    {
        try {
            $this->logIn($kind, $outTradeNo, $ref, $outcome, $detail, $body);
        } catch (Throwable $e) {
            error_log("notify log: {$e->getMessage()}");
        }
    }

    private function logIn(
        string $kind,
        ?string $outTradeNo,
        ?string $ref,
        string $outcome,
        string $detail,
        string $body,
    ): void
    {
        $this->db->prepare(
            'INSERT INTO notify_log (kind, out_trade_no, ref, outcome, detail, body) VALUES (?, ?, ?, ?, ?, ?)'
        )
            ->execute([$kind, $outTradeNo, $ref, $outcome, $detail, $body]);
    }
}
