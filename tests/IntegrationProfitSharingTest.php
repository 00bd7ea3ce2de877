<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\Signer;
use WxPay\Tests\Support\UsesMock;

/** Profit sharing (分账), HMAC-SHA256 only, against wxpay-mock (docs/protocol.md §15). */
final class IntegrationProfitSharingTest extends TestCase
{
    use UsesMock;

    private const STORE = '190001001';

    private Client $client;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->client = $this->mock->client(['sign_type' => 'HMAC-SHA256']);
    }

    /** @param array<string, string> $answer */
    private function assertSignedSuccess(array $answer): void
    {
        $this->assertSame('SUCCESS', $answer['return_code']);
        $this->assertSame('SUCCESS', $answer['result_code']);
        $this->assertSame($this->mock->mchId, $answer['mch_id']);
        $this->assertSame(64, strlen($answer['sign']), 'HMAC-SHA256');
        $this->assertTrue(Signer::verify($answer, $this->mock->apiKey, 'HMAC-SHA256'));
    }

    /** A paid order placed with profit_sharing=Y, a minute (÷ 1000) old. @return string its transaction_id */
    private function sharableOrder(int $fee = 1000, string $profitSharing = 'Y'): string
    {
        $no = self::newNo('PS');
        $this->client->unifiedOrder([
            'body' => 'sharing', 'out_trade_no' => $no, 'total_fee' => $fee,
            'trade_type' => 'NATIVE', 'product_id' => 'sku-1', 'profit_sharing' => $profitSharing,
        ]);
        $this->mock->pay($no);
        // WeChat shares no sooner than a minute after payment.
        usleep(120000);
        return $this->client->orderQuery(['out_trade_no' => $no])['transaction_id'];
    }

    private function addReceivers(string $openid): void
    {
        $this->assertSignedSuccess($this->client->profitSharingAddReceiver([
            'receiver' => ['type' => 'PERSONAL_OPENID', 'account' => $openid, 'relation_type' => 'USER'],
        ]));
        $added = $this->client->profitSharingAddReceiver([
            'receiver' => ['type' => 'MERCHANT_ID', 'account' => self::STORE, 'name' => '示例门店有限公司', 'relation_type' => 'STORE'],
        ]);
        $this->assertSignedSuccess($added);
        $this->assertEquals(['type' => 'MERCHANT_ID', 'account' => self::STORE], json_decode($added['receiver'], true));
    }


    public function testMultiSharingReturnAndFinishRoundTrip(): void
    {
        $openid = 'oShare' . bin2hex(random_bytes(4));
        $this->addReceivers($openid);
        $transactionId = $this->sharableOrder(1000);
        $this->assertSame('1000', $this->client->profitSharingOrderAmountQuery(['transaction_id' => $transactionId])['unsplit_amount']);

        $outOrderNo = 'P' . bin2hex(random_bytes(6));
        $params = [
            'transaction_id' => $transactionId,
            'out_order_no' => $outOrderNo,
            'receivers' => [
                ['type' => 'PERSONAL_OPENID', 'account' => $openid, 'amount' => 100, 'description' => '分给用户'],
                ['type' => 'MERCHANT_ID', 'account' => self::STORE, 'amount' => 200, 'description' => '分到门店'],
            ],
        ];
        $shared = $this->client->multiProfitSharing($params);
        $this->assertSignedSuccess($shared);
        $this->assertSame($outOrderNo, $shared['out_order_no']);
        $this->assertSame('PROCESSING', $shared['status']);
        $receivers = json_decode($shared['receivers'], true);
        $this->assertSame([100, 200], array_column($receivers, 'amount'));
        $this->assertSame(['PENDING', 'PENDING'], array_column($receivers, 'result'));
        // The same request again is the same sharing (out_order_no is idempotent).
        $this->assertSame($shared['order_id'], $this->client->multiProfitSharing($params)['order_id']);

        // Done a second (÷ 1000) later, as the query shows; it sends no appid.
        $query = \WxPay\Tests\Support\Mock::waitFor(function () use ($transactionId, $outOrderNo) {
            $q = $this->client->profitSharingQuery(['transaction_id' => $transactionId, 'out_order_no' => $outOrderNo]);
            return $q['status'] === 'FINISHED' ? $q : null;
        }, 'the sharing FINISHED');
        $this->assertSignedSuccess($query);
        $this->assertSame(['SUCCESS', 'SUCCESS'], array_column(json_decode($query['receivers'], true), 'result'));
        $amount = $this->client->profitSharingOrderAmountQuery(['transaction_id' => $transactionId]);
        $this->assertSignedSuccess($amount);
        $this->assertArrayNotHasKey('appid', $amount, 'WeChat answers this one without appid');
        $this->assertSame('700', $amount['unsplit_amount']);

        // The store gives 50 back, then asks what became of it.
        $return = $this->client->profitSharingReturn([
            'out_order_no' => $outOrderNo, 'out_return_no' => 'R' . $outOrderNo,
            'return_account_type' => 'MERCHANT_ID', 'return_account' => self::STORE,
            'return_amount' => 50, 'description' => '退货回退',
        ]);
        $this->assertSignedSuccess($return);
        $this->assertSame('SUCCESS', $return['result']);
        $this->assertSame('50', $return['return_amount']);
        $returned = $this->client->profitSharingReturnQuery(['order_id' => $shared['order_id'], 'out_return_no' => 'R' . $outOrderNo]);
        $this->assertSame($return['return_no'], $returned['return_no']);
        $tooMuch = $this->apiFailure(fn () => $this->client->profitSharingReturn([
            'out_order_no' => $outOrderNo, 'out_return_no' => 'R2' . $outOrderNo,
            'return_account_type' => 'MERCHANT_ID', 'return_account' => self::STORE,
            'return_amount' => 151, 'description' => '超额',
        ]));
        $this->assertSame('NOT_ENOUGH', $tooMuch->getErrCode());

        // Finish unfreezes the rest.
        $finished = $this->client->profitSharingFinish([
            'transaction_id' => $transactionId, 'out_order_no' => 'F' . $outOrderNo, 'description' => '分账完结',
        ]);
        $this->assertSignedSuccess($finished);
        $this->assertArrayNotHasKey('sub_appid', $finished);
        $this->assertSame('0', $this->client->profitSharingOrderAmountQuery(['transaction_id' => $transactionId])['unsplit_amount']);
        $finishQuery = $this->client->profitSharingQuery(['transaction_id' => $transactionId, 'out_order_no' => 'F' . $outOrderNo]);
        $this->assertSame('700', $finishQuery['amount']);

        $this->assertSignedSuccess($this->client->profitSharingRemoveReceiver([
            'receiver' => ['type' => 'PERSONAL_OPENID', 'account' => $openid],
        ]));
        $this->assertSame(
            'INVALID_REQUEST',
            $this->apiFailure(fn () => $this->client->multiProfitSharing([
                'transaction_id' => $this->sharableOrder(), 'out_order_no' => 'P' . bin2hex(random_bytes(6)),
                'receivers' => [['type' => 'PERSONAL_OPENID', 'account' => $openid, 'amount' => 1, 'description' => 'd']],
            ]))->getErrCode(),
            'a removed receiver has no relation'
        );
    }

    public function testSingleSharingUnfreezesTheRestAndWeChatsRulesHold(): void
    {
        $openid = 'oShare' . bin2hex(random_bytes(4));
        $this->addReceivers($openid);
        $share = fn (string $transactionId, int $amount, string $method = 'profitSharing') => $this->client->{$method}([
            'transaction_id' => $transactionId, 'out_order_no' => 'P' . bin2hex(random_bytes(6)),
            'receivers' => json_encode([['type' => 'PERSONAL_OPENID', 'account' => $openid, 'amount' => $amount, 'description' => '佣金']]),
        ]);

        $transactionId = $this->sharableOrder(1000);
        $this->assertSignedSuccess($share($transactionId, 300));
        $this->assertSame('0', $this->client->profitSharingOrderAmountQuery(['transaction_id' => $transactionId])['unsplit_amount']);
        $again = $this->apiFailure(fn () => $share($transactionId, 1));
        $this->assertSame('INVALID_REQUEST', $again->getErrCode());
        $this->assertStringStartsWith('profitsharing: WeChat Pay business failure', $again->getMessage());

        $ratio = $this->apiFailure(fn () => $share($this->sharableOrder(1000), 301));
        $this->assertSame('分账金额超出最大分账比例', $ratio->getErrCodeDes());

        $notSharing = $this->apiFailure(fn () => $share($this->sharableOrder(1000, 'N'), 10));
        $this->assertSame('NOT_SHARE_ORDER', $notSharing->getErrCode());
        $this->assertFalse($notSharing->isRetryable());

        $stranger = $this->apiFailure(fn () => $this->client->profitSharing([
            'transaction_id' => $this->sharableOrder(), 'out_order_no' => 'P' . bin2hex(random_bytes(6)),
            'receivers' => [['type' => 'PERSONAL_OPENID', 'account' => 'oNobody', 'amount' => 1, 'description' => 'd']],
        ]));
        $this->assertSame('分账接收方关系不存在，请检查参数中每个接收方的关系', $stranger->getErrCodeDes());
        $this->assertSame('ORDERNOTEXIST', $this->apiFailure(fn () => $share('4200000000000000000000000001', 1))->getErrCode());
    }

    /** @return iterable<string, array{string, array<string, mixed>}> */
    public static function sharingCalls(): iterable
    {
        $receivers = [['type' => 'PERSONAL_OPENID', 'account' => 'o1', 'amount' => 1, 'description' => 'd']];
        yield 'profitSharingAddReceiver' => ['profitSharingAddReceiver', ['receiver' => ['type' => 'PERSONAL_OPENID', 'account' => 'o1', 'relation_type' => 'USER']]];
        yield 'profitSharingRemoveReceiver' => ['profitSharingRemoveReceiver', ['receiver' => ['type' => 'PERSONAL_OPENID', 'account' => 'o1']]];
        yield 'profitSharing' => ['profitSharing', ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'receivers' => $receivers]];
        yield 'multiProfitSharing' => ['multiProfitSharing', ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'receivers' => $receivers]];
        yield 'profitSharingQuery' => ['profitSharingQuery', ['transaction_id' => '4200000001', 'out_order_no' => 'P1']];
        yield 'profitSharingFinish' => ['profitSharingFinish', ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'description' => 'done']];
        yield 'profitSharingReturn' => ['profitSharingReturn', ['out_order_no' => 'P1', 'out_return_no' => 'R1', 'return_account_type' => 'MERCHANT_ID', 'return_account' => '190001001', 'return_amount' => 1, 'description' => 'd']];
        yield 'profitSharingReturnQuery' => ['profitSharingReturnQuery', ['out_order_no' => 'P1', 'out_return_no' => 'R1']];
        yield 'profitSharingOrderAmountQuery' => ['profitSharingOrderAmountQuery', ['transaction_id' => '4200000001']];
    }


    /** @dataProvider sharingCalls */
    #[DataProvider('sharingCalls')]
    public function testAnMd5ClientIsRefusedBeforeSending(string $method, array $params): void
    {
        $md5 = $this->mock->client();
        $sent = $this->requestsDuring(function () use ($md5, $method, $params) {
            try {
                $md5->{$method}($params);
                $this->fail('an MD5 client must be refused');
            } catch (ConfigException $e) {
                $this->assertStringContainsString(
                    'accepts only sign_type HMAC-SHA256 and this client is configured for MD5',
                    $e->getMessage()
                );
            }
        });
        $this->assertSame(0, $sent, 'refused before sending');
    }

    /** @dataProvider sharingCalls */
    #[DataProvider('sharingCalls')]
    public function testSecapiCallsNeedTheClientCertificate(string $method, array $params): void
    {
        $client = $this->mock->client(['sign_type' => 'HMAC-SHA256', 'cert_path' => null, 'key_path' => null]);
        $secapi = in_array($method, ['profitSharing', 'multiProfitSharing', 'profitSharingFinish', 'profitSharingReturn'], true);
        $sent = $this->requestsDuring(function () use ($client, $method, $params, $secapi) {
            try {
                $client->{$method}($params);
                $this->assertFalse($secapi, 'answered without a certificate');
            } catch (ConfigException $e) {
                $this->assertTrue($secapi, $e->getMessage());
                $this->assertStringContainsString('cert_path', $e->getMessage());
            } catch (ApiException $e) {
                // The others go out and get the mock's business answer.
                $this->assertFalse($secapi, $e->getMessage());
                $this->assertSame('SUCCESS', $e->getReturnCode());
            }
        });
        $this->assertSame($secapi ? 0 : 1, $sent);
    }

    /** @return iterable<string, array{string, array<string, mixed>, string}> */
    public static function badParameters(): iterable
    {
        $one = fn (array $r) => ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'receivers' => [$r]];
        yield 'float amount' => ['profitSharing', $one(['type' => 'PERSONAL_OPENID', 'account' => 'o1', 'amount' => 1.5, 'description' => 'd']), 'receivers[0].amount must be a positive whole number of fen (a JSON integer), 1.5 given'];
        yield 'unknown type' => ['multiProfitSharing', $one(['type' => 'PERSONAL_WECHATID', 'account' => 'x', 'amount' => 1, 'description' => 'd']), 'receivers[0].type must be one of MERCHANT_ID, PERSONAL_OPENID, PERSONAL_SUB_OPENID'];
        yield 'no receivers' => ['profitSharing', ['transaction_id' => '4200000001', 'out_order_no' => 'P1'], 'receivers is required by profitsharing'];
        yield 'receivers not a list' => ['profitSharing', ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'receivers' => ['a' => 1]], 'receivers must be a JSON array'];
        yield 'merchant without name' => ['profitSharingAddReceiver', ['receiver' => ['type' => 'MERCHANT_ID', 'account' => '1', 'relation_type' => 'STORE']], 'receiver.name is required for a MERCHANT_ID receiver'];
        yield 'custom without text' => ['profitSharingAddReceiver', ['receiver' => ['type' => 'PERSONAL_OPENID', 'account' => 'o1', 'relation_type' => 'CUSTOM']], 'receiver.custom_relation is required'];
        yield 'bad out_order_no' => ['profitSharingQuery', ['transaction_id' => '4200000001', 'out_order_no' => 'P 1'], 'out_order_no must be 1 to 64 characters'];
        yield 'appid on a call without' => ['profitSharingOrderAmountQuery', ['transaction_id' => '4200000001', 'appid' => 'wx1'], 'appid is not a field of profitsharingorderamountquery'];
        yield 'return needs the sharing' => ['profitSharingReturn', ['out_return_no' => 'R1', 'return_account_type' => 'MERCHANT_ID', 'return_account' => '1', 'return_amount' => 1, 'description' => 'd'], 'profitsharingreturn requires one of order_id, out_order_no'];
        yield 'return to a person' => ['profitSharingReturn', ['out_order_no' => 'P1', 'out_return_no' => 'R1', 'return_account_type' => 'PERSONAL_OPENID', 'return_account' => 'o1', 'return_amount' => 1, 'description' => 'd'], 'return_account_type must be one of MERCHANT_ID'];
        yield 'zero return' => ['profitSharingReturn', ['out_order_no' => 'P1', 'out_return_no' => 'R1', 'return_account_type' => 'MERCHANT_ID', 'return_account' => '1', 'return_amount' => 0, 'description' => 'd'], 'return_amount must be a positive whole number of fen'];
        yield 'md5 per call' => ['profitSharingQuery', ['transaction_id' => '4200000001', 'out_order_no' => 'P1', 'sign_type' => 'MD5'], 'sign_type for profitsharingquery must be HMAC-SHA256'];
    }

    /** @dataProvider badParameters */
    #[DataProvider('badParameters')]
    public function testBadParametersAreRefusedBeforeSending(string $method, array $params, string $message): void
    {
        $this->assertRefusedBeforeSending(fn () => $this->client->{$method}($params), $message);
    }
}
