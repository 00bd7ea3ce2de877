<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\InvalidArgumentException;
use WxPay\Tests\Support\Mock;
use WxPay\Tests\Support\UsesMock;

/** Pooled connections and concurrent queries, against wxpay-mock. */
final class IntegrationPoolTest extends TestCase
{
    use UsesMock;

    public function testSequentialCallsReuseOneConnection(): void
    {
        $client = $this->mock->client();
        $no = self::newNo('K');
        $this->nativeOrder($client, $no, 7);
        $this->mock->reset(); // zero the stats (and forget the order: ORDERNOTEXIST is fine)
        $other = $this->mock->client(); // another Client object shares the process pool
        for ($i = 0; $i < 200; $i++) {
            try {
                ($i % 2 ? $client : $other)->orderQuery(['out_trade_no' => $no]);
                $this->fail('the order was forgotten by reset');
            } catch (ApiException $e) {
                $this->assertSame('ORDERNOTEXIST', $e->getErrCode());
            }
        }
        $stats = $this->mock->stats();
        $this->assertGreaterThanOrEqual(201, $stats['requests']);
        $this->assertLessThanOrEqual(2, $stats['tls_connections'], json_encode($stats));
    }

    public function testQueryOrdersKeyedByNumberWithFailuresAsObjects(): void
    {
        $client = $this->mock->client();
        $paid = self::newNo('Q');
        $unpaid = self::newNo('Q');
        $missing = self::newNo('Q');
        $this->paidOrder($client, $paid, 11);
        $this->nativeOrder($client, $unpaid, 12);

        $results = $client->queryOrders([$paid, $missing, $unpaid, $paid, 'bad no!', $unpaid]);
        $this->assertSame([$paid, $missing, $unpaid, 'bad no!'], array_keys($results), 'distinct, in the order given');
        $this->assertSame('SUCCESS', $results[$paid]['trade_state']);
        $this->assertSame('11', $results[$paid]['total_fee']);
        $this->assertSame('NOTPAY', $results[$unpaid]['trade_state']);
        $this->assertSame('12', $results[$unpaid]['total_fee']);
        $this->assertInstanceOf(ApiException::class, $results[$missing]);
        $this->assertSame('ORDERNOTEXIST', $results[$missing]->getErrCode());
        $this->assertInstanceOf(InvalidArgumentException::class, $results['bad no!']);
        $this->assertInstanceOf(\WxPay\ExceptionInterface::class, $results['bad no!']);

        $this->assertSame([], $client->queryOrders([]));
        // Integer numbers are keyed by their text.
        $int = (string) random_int(100000000, 999999999);
        $this->nativeOrder($client, $int, 3);
        $this->assertSame('3', $client->queryOrders([(int) $int])[$int]['total_fee']);
    }

    public function testQueryOrdersRunsConcurrently(): void
    {
        $client = $this->mock->client();
        $numbers = [];
        for ($i = 0; $i < 50; $i++) {
            $numbers[] = $no = self::newNo('P') . $i;
            $this->nativeOrder($client, $no, $i + 1);
        }
        $this->mock->faults(['latency_ms' => 100, 'path' => 'pay/orderquery']);
        $start = microtime(true);
        $results = $client->queryOrders($numbers);
        $elapsed = microtime(true) - $start;
        $this->assertCount(50, $results);
        foreach ($numbers as $i => $no) {
            $this->assertIsArray($results[$no], "result for $no");
            $this->assertSame((string) ($i + 1), $results[$no]['total_fee']);
        }
        // Sequentially 50 × 0.1 s = 5 s; 16 at a time ≈ 4 waves ≈ 0.4 s.
        $this->assertLessThan(1.5, $elapsed, sprintf('took %.2f s', $elapsed));
        // A concurrency of 1 is sequential: 5 orders ≈ 0.5 s.
        $start = microtime(true);
        $client->queryOrders(array_slice($numbers, 0, 5), 1);
        $this->assertGreaterThan(0.45, microtime(true) - $start);
    }

    public function testQueryOrdersConcurrencyIsChecked(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->mock->client()->queryOrders(['A1'], 0);
    }

    public function testConcurrencyAboveThirtyTwoIsRefused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('concurrency must be from 1 to 32, 33 given');
        $this->mock->client()->queryOrders(['A1'], 33);
    }

    public function testABurstLeavesAtMostEightIdleConnections(): void
    {
        // A timeout no other test uses: a pool of its own, empty at the start.
        $client = $this->mock->client(['timeout' => 2.9]);
        $numbers = [];
        for ($i = 0; $i < 64; $i++) {
            $numbers[] = self::newNo('I') . $i;
        }
        // The mock's gauge counts every connection of this process (other pools, the control
        // API's own), so the burst is measured as a difference.
        $before = $this->mock->stats()['open_connections'];
        // Slow answers keep 32 queries in flight, each on a connection of its own.
        $this->mock->faults(['latency_ms' => 100, 'path' => 'pay/orderquery']);
        $client->queryOrders($numbers, 32);
        $this->mock->clearFaults();
        $added = Mock::waitFor(function () use ($before) {
            $added = $this->mock->stats()['open_connections'] - $before;
            return $added <= 8 ? $added : null;
        }, 'at most 8 pooled connections left open', 3.0);
        $this->assertLessThanOrEqual(8, $added);
    }
}
