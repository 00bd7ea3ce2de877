<?php

declare(strict_types=1);

namespace WxPayExample;

use PDO;
use Throwable;
use WxPay\Client;

/**
 * The merchant side shared by the checkout walk-through, the notify endpoint and the shop:
 * configuration from the environment, an SQLite order book, and idempotent handling of
 * WeChat's payment and refund notifications.
 *
 * Environment: WXPAY_APPID WXPAY_MCH_ID WXPAY_KEY WXPAY_BASE_URL WXPAY_CA_PATH
 * WXPAY_CLIENT_CERT_PATH WXPAY_CLIENT_KEY_PATH WXPAY_NOTIFY_BASE (http://host:port of the
 * notify endpoint) WXPAY_DB (SQLite file).
 */
final class Shop
{
    private bool $inTransaction = false;

    public function __construct(
        public readonly Client $pay,
        public readonly PDO $db,
        private readonly string $notifyBase,
    ) {
    }

    public static function fromEnv(): self
    {
        $notifyBase = rtrim(self::env('WXPAY_NOTIFY_BASE'), '/');
        return new self(
            new Client(self::clientConfig($notifyBase)),
            self::openDb(self::env('WXPAY_DB')),
            $notifyBase,
        );
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

    public static function openDb(string $path): PDO
    {
        $db = new PDO('sqlite:' . $path, null, null, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
            PDO::ATTR_TIMEOUT => 10,
        ]);
        $db->exec('PRAGMA busy_timeout = 10000');
        $db->exec('PRAGMA journal_mode = WAL');
        $db->exec(<<<'SQL'
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
            );
            CREATE TABLE IF NOT EXISTS refunds (
                out_refund_no TEXT PRIMARY KEY,
                out_trade_no  TEXT NOT NULL REFERENCES orders(out_trade_no),
                refund_fee    INTEGER NOT NULL CHECK (refund_fee > 0),
                state         TEXT NOT NULL DEFAULT 'REQUESTED',
                refund_id     TEXT,
                success_time  TEXT,
                notify_fields TEXT
            );
            CREATE TABLE IF NOT EXISTS notify_log (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                kind         TEXT NOT NULL,
                out_trade_no TEXT,
                ref          TEXT,
                outcome      TEXT NOT NULL,
                detail       TEXT NOT NULL DEFAULT '',
                body         TEXT NOT NULL,
                at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
            );
            SQL);
        return $db;
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
        $stmt = $this->db->prepare('SELECT * FROM orders WHERE out_trade_no = ?');
        $stmt->execute([$outTradeNo]);
        $row = $stmt->fetch();
        return $row === false ? null : $row;
    }

    /** @return array<string, mixed>|null */
    public function refundRecord(string $outRefundNo): ?array
    {
        $stmt = $this->db->prepare('SELECT * FROM refunds WHERE out_refund_no = ?');
        $stmt->execute([$outRefundNo]);
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
        // BEGIN IMMEDIATE takes the write lock first: concurrent deliveries of the same
        // notify queue here and the second one sees the first one's result.
        $this->begin();
        try {
            $order = $this->order($outTradeNo);
            if ($order === null) {
                $this->logIn($kind, $outTradeNo, $ref, 'rejected', 'unknown out_trade_no', $rawBody);
                $this->commit();
                return 'unknown-order';
            }
            try {
                $this->pay->assertNotifyMatches($paid, $order['out_trade_no'], (int) $order['total_fee']);
            } catch (\WxPay\SignatureException $e) {
                $this->logIn($kind, $outTradeNo, $ref, 'rejected', $e->getMessage(), $rawBody);
                $this->commit();
                throw $e;
            }
            if ($order['state'] !== 'NOTPAY') {
                // Already paid (or since refunded: never move a refunded order back to paid).
                $detail = $order['transaction_id'] === $ref ? 'already ' . $order['state']
                    : 'already ' . $order['state'] . ' by ' . $order['transaction_id'] . ' (check manually)';
                $this->logIn($kind, $outTradeNo, $ref, 'duplicate', $detail, $rawBody);
                $this->commit();
                return 'duplicate';
            }
            $this->db->prepare(
                "UPDATE orders SET state = 'PAID', transaction_id = ?, paid_via = ?, time_end = ?
                 WHERE out_trade_no = ? AND state = 'NOTPAY'"
            )->execute([$ref, $via, $paid['time_end'] ?? '', $outTradeNo]);
            $this->logIn($kind, $outTradeNo, $ref, 'processed', 'order paid', $rawBody);
            $this->commit();
            return 'processed';
        } catch (Throwable $e) {
            $this->rollbackIfOpen();
            throw $e;
        }
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
        $this->db->prepare('INSERT OR IGNORE INTO refunds (out_refund_no, out_trade_no, refund_fee) VALUES (?, ?, ?)')
            ->execute([$outRefundNo, $outTradeNo, $refundFee]);
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
        $this->begin();
        try {
            $refund = $this->refundRecord($outRefundNo);
            $reason = match (true) {
                $refund === null => 'unknown out_refund_no',
                $refund['out_trade_no'] !== $outTradeNo => 'out_trade_no does not match our refund',
                (string) $refund['refund_fee'] !== $notify['refund_fee'] => 'refund_fee '
                    . $notify['refund_fee'] . ' does not match our ' . $refund['refund_fee'],
                default => null,
            };
            if ($reason !== null) {
                $this->logIn('refund', $outTradeNo, $outRefundNo, 'rejected', $reason, $body);
                $this->commit();
                throw new \UnexpectedValueException("refund notify $outRefundNo: $reason");
            }
            if (in_array($refund['state'], ['SUCCESS', 'REFUNDCLOSE', 'CHANGE'], true)) {
                $detail = 'already ' . $refund['state'];
                $this->logIn('refund', $outTradeNo, $outRefundNo, 'duplicate', $detail, $body);
                $this->commit();
                return;
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
            $this->commit();
        } catch (Throwable $e) {
            $this->rollbackIfOpen();
            throw $e;
        }
    }

    /** BEGIN IMMEDIATE takes SQLite's write lock at once, so check-then-update is atomic. */
    private function begin(): void
    {
        $this->db->exec('BEGIN IMMEDIATE');
        $this->inTransaction = true;
    }

    private function commit(): void
    {
        $this->db->exec('COMMIT');
        $this->inTransaction = false;
    }

    private function rollbackIfOpen(): void
    {
        if ($this->inTransaction) {
            $this->inTransaction = false;
            $this->db->exec('ROLLBACK');
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
