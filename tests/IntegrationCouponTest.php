<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\Signer;
use WxPay\Tests\Support\UsesMock;

/** Coupons (代金券): MD5 without sign_type whatever the client's type (docs/protocol.md §16). */
final class IntegrationCouponTest extends TestCase
{
    use UsesMock;

    private Client $client;

    protected function setUp(): void
    {
        $this->setUpMock();
        // An HMAC-SHA256 client: coupons are MD5 all the same.
        $this->client = $this->mock->client(['sign_type' => 'HMAC-SHA256']);
    }

    /** A fresh stock at the mock. @return string its coupon_stock_id */
    private function stock(int $total = 10, int $quota = 1, bool $active = true): string
    {
        return $this->mock->couponStock([
            'coupon_name' => '满10减5', 'coupon_value' => 500, 'coupon_mininumn' => 1000,
            'coupon_total' => $total, 'max_quota' => $quota, 'active' => $active,
        ])['coupon_stock_id'];
    }

    /** @return array<string, string> */
    private function send(string $stockId, string $openid, ?string $partnerTradeNo = null): array
    {
        return $this->client->sendCoupon([
            'coupon_stock_id' => $stockId, 'openid' => $openid,
            'partner_trade_no' => $partnerTradeNo ?? $this->mock->mchId . date('Ymd') . random_int(100000, 999999),
        ]);
    }

    /** @param array<string, string> $answer */
    private function assertMd5Signed(array $answer): void
    {
        $this->assertSame(32, strlen($answer['sign']));
        $this->assertTrue(Signer::verify($answer, $this->mock->apiKey, 'MD5'));
        $this->assertSame($this->mock->appid, $answer['appid']);
    }


    public function testSendThenQueryTheStockAndTheCoupon(): void
    {
        $stockId = $this->stock();
        $openid = 'oCoupon' . bin2hex(random_bytes(4));
        $sent = $this->send($stockId, $openid, $tradeNo = 'C' . bin2hex(random_bytes(6)));
        $this->assertMd5Signed($sent);
        $this->assertSame('SUCCESS', $sent['result_code']);
        $this->assertSame('SUCCESS', $sent['ret_code']);
        $this->assertSame(['1', '1', '0'], [$sent['resp_count'], $sent['success_count'], $sent['failed_count']]);
        $this->assertSame($openid, $sent['openid']);
        $this->assertMatchesRegularExpression('/^\d+$/', $sent['coupon_id']);
        // The same partner_trade_no and fields again: the same coupon, not a second one.
        $this->assertSame($sent['coupon_id'], $this->send($stockId, $openid, $tradeNo)['coupon_id']);

        $stock = $this->client->couponStock(['coupon_stock_id' => $stockId]);
        $this->assertMd5Signed($stock);
        $this->assertSame(['500', '1000', '10', '1', '4'], [
            $stock['coupon_value'], $stock['coupon_mininumn'], $stock['coupon_total'],
            $stock['is_send_num'], $stock['coupon_stock_status'],
        ]);

        $info = $this->client->couponInfo(['coupon_id' => $sent['coupon_id'], 'openid' => $openid, 'stock_id' => $stockId]);
        $this->assertMd5Signed($info);
        $this->assertSame('SENDED', $info['coupon_state']);
        $this->assertSame('500', $info['coupon_value']);
        $this->assertSame($stockId, $info['coupon_stock_id']);
    }

    public function testWeChatsRefusals(): void
    {
        $stockId = $this->stock(2, 1);
        $openid = 'oCoupon' . bin2hex(random_bytes(4));
        $this->send($stockId, $openid);
        $again = $this->apiFailure(fn () => $this->send($stockId, $openid));
        $this->assertSame('USER_AL_GET_COUPON', $again->getErrCode());
        $this->assertSame('你已领取过该代金券', $again->getErrCodeDes());
        $this->assertSame('FAILED', $again->getResponse()['ret_code'], 'the signed answer says so too');
        $this->assertSame('1', $again->getResponse()['failed_count']);
        $this->assertStringStartsWith('send_coupon: WeChat Pay business failure', $again->getMessage());
        $this->send($stockId, 'oOther' . bin2hex(random_bytes(4)));
        $this->assertSame('AL_STOCK_OVER', $this->apiFailure(fn () => $this->send($stockId, 'oThird'))->getErrCode());
        $this->assertSame('STOCK_IS_NOT_VALID', $this->apiFailure(fn () => $this->send($this->stock(10, 1, false), $openid))->getErrCode());
        $this->assertSame('COUPON_STOCK_NOT_FOUND', $this->apiFailure(fn () => $this->client->couponStock(['coupon_stock_id' => '1']))->getErrCode());
        $this->assertSame('COUPON_NOT_FOUND', $this->apiFailure(fn () => $this->client->couponInfo(['coupon_id' => '1', 'openid' => $openid, 'stock_id' => $stockId]))->getErrCode());
    }


    public function testSendingIsNeverResentButQueriesAre(): void
    {
        $stockId = $this->stock();
        $this->mock->faults(['system_error_rate' => 1, 'path' => 'mmpaymkttransfers/send_coupon', 'count' => 1]);
        $sent = $this->requestsDuring(function () use ($stockId) {
            $e = $this->apiFailure(fn () => $this->send($stockId, 'oRetry'));
            $this->assertSame('SYSTEMERROR', $e->getErrCode());
            $this->assertTrue($e->isRetryable(), 'the caller may send it again, knowing the risk');
        });
        $this->assertSame(1, $sent, 'one attempt: a repeat could issue a second coupon');

        $this->mock->faults(['system_error_rate' => 1, 'path' => 'mmpaymkttransfers/query_coupon_stock', 'count' => 1]);
        $sent = $this->requestsDuring(
            fn () => $this->assertSame($stockId, $this->client->couponStock(['coupon_stock_id' => $stockId])['coupon_stock_id'])
        );
        $this->assertSame(2, $sent, 'the query is retried');
    }

    public function testSendingNeedsTheClientCertificate(): void
    {
        $stockId = $this->stock();
        $client = $this->mock->client(['cert_path' => null, 'key_path' => null]);
        $sent = $this->requestsDuring(function () use ($client, $stockId) {
            try {
                $client->sendCoupon(['coupon_stock_id' => $stockId, 'openid' => 'o1', 'partner_trade_no' => 'C1']);
                $this->fail('must refuse without a client certificate');
            } catch (ConfigException $e) {
                $this->assertStringContainsString('cert_path', $e->getMessage());
            }
        });
        $this->assertSame(0, $sent, 'refused before sending');
        $this->assertSame($stockId, $client->couponStock(['coupon_stock_id' => $stockId])['coupon_stock_id']);
    }

    /** @return iterable<string, array{string, array<string, mixed>, string}> */
    public static function badParameters(): iterable
    {
        $send = ['coupon_stock_id' => '1757', 'openid' => 'o1', 'partner_trade_no' => 'C1'];
        yield 'sign_type given' => ['sendCoupon', $send + ['sign_type' => 'HMAC-SHA256'], 'sign_type is not a field of send_coupon: it is always signed with MD5, "HMAC-SHA256" given'];
        yield 'two openids' => ['sendCoupon', $send + ['openid_count' => 2], 'openid_count must be one of 1, "2" given'];
        yield 'no partner_trade_no' => ['sendCoupon', ['coupon_stock_id' => '1757', 'openid' => 'o1'], 'partner_trade_no is required by send_coupon'];
        yield 'no stock' => ['couponStock', [], 'coupon_stock_id is required by query_coupon_stock'];
        yield 'info without stock_id' => ['couponInfo', ['coupon_id' => '1', 'openid' => 'o1'], 'stock_id is required by querycouponsinfo'];
        yield 'sub_appid is no field' => ['couponStock', ['coupon_stock_id' => '1757', 'sub_appid' => 'wx2'], 'sub_appid is not a field of query_coupon_stock'];
        yield 'float' => ['couponStock', ['coupon_stock_id' => 1757.0], 'parameter "coupon_stock_id" must be a string or int, float given'];
    }

    /** @dataProvider badParameters */
    #[DataProvider('badParameters')]
    public function testBadParametersAreRefusedBeforeSending(string $method, array $params, string $message): void
    {
        $this->assertRefusedBeforeSending(fn () => $this->client->{$method}($params), $message);
    }
}
