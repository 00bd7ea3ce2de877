<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Client;
use WxPay\ConfigException;
use WxPay\InvalidArgumentException;
use WxPay\SignatureException;
use WxPay\Signer;
use WxPay\Xml;
use WxPay\Tests\Support\UsesMock;

/**
 * Red packets, transfers to balance and to bank cards (docs/protocol.md §12), over HTTPS
 * against wxpay-mock, whose balance they draw on.
 */
final class IntegrationMarketingTest extends TestCase
{
    use UsesMock;

    private const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
    private const CARD = '6225880012345678';
    private const NAME = '张三';

    private Client $client;

    protected function setUp(): void
    {
        $this->setUpMock();
        $this->client = $this->mock->client();
    }

    private static function billNo(string $prefix): string
    {
        return $prefix . date('His') . bin2hex(random_bytes(5));
    }

    private function balance(): int
    {
        return (int) $this->mock->control('GET', '/mock/balance')['balance'];
    }

    /** @return array<string, mixed> */
    private function redpack(string $no, array $extra = []): array
    {
        return $extra + [
            'mch_billno' => $no,
            'send_name' => 'wxpay shop',
            're_openid' => self::OPENID,
            'total_amount' => 300,
            'wishing' => 'Thank you',
            'act_name' => 'Spring',
            'remark' => 'Enjoy',
        ];
    }

    /** @return array<string, mixed> */
    private function bankTransfer(string $no, array $extra = []): array
    {
        return $extra + [
            'partner_trade_no' => $no,
            'enc_bank_no' => self::CARD,
            'enc_true_name' => self::NAME,
            'bank_code' => '1002',
            'amount' => 10000,
        ];
    }

    /** Unsigned by WeChat's design (pay_bank excepted), all strings, ours. */
    private function assertUnsignedSuccess(array $answer, string $mchIdField = 'mch_id'): void
    {
        $this->assertSame('SUCCESS', $answer['return_code']);
        $this->assertSame('SUCCESS', $answer['result_code']);
        $this->assertSame($this->mock->mchId, $answer[$mchIdField]);
        $this->assertArrayNotHasKey('sign', $answer);
        foreach ($answer as $name => $value) {
            $this->assertIsString($name);
            $this->assertIsString($value);
        }
    }

    public function testSendRedpackDrawsOnTheBalanceThenTheOpenerIsListed(): void
    {
        $no = self::billNo('RP');
        $before = $this->balance();
        $sent = $this->client->sendRedpack($this->redpack($no));
        $this->assertUnsignedSuccess($sent);
        $this->assertSame($this->mock->appid, $sent['wxappid']);
        $this->assertSame($no, $sent['mch_billno']);
        $this->assertSame('300', $sent['total_amount']);
        $this->assertMatchesRegularExpression('/^\d{30}$/', $sent['send_listid']);
        $this->assertSame($before - 300, $this->balance());

        // What the client filled in, as the mock stored it.
        $stored = $this->mock->control('GET', "/mock/redpacks/$no");
        $params = array_column($stored['params'], 1, 0);
        $this->assertSame('1', $params['total_num']);
        $this->assertSame('127.0.0.1', $params['client_ip']);
        $this->assertArrayNotHasKey('sign_type', $params, 'red packets are MD5 without sign_type');
        $this->assertArrayNotHasKey('appid', $params);

        $info = $this->client->redpackInfo(['mch_billno' => $no]);
        $this->assertUnsignedSuccess($info);
        $this->assertSame('SENT', $info['status']);
        $this->assertSame('NORMAL', $info['hb_type']);
        $this->assertSame($sent['send_listid'], $info['detail_id']);
        $this->assertArrayNotHasKey('hbinfo_0_openid', $info);

        $this->mock->control('POST', "/mock/redpacks/$no/open");
        $opened = $this->client->redpackInfo(['mch_billno' => $no]);
        $this->assertSame('RECEIVED', $opened['status']);
        $this->assertSame(self::OPENID, $opened['hbinfo_0_openid']);
        $this->assertSame('300', $opened['hbinfo_0_amount']);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $opened['hbinfo_0_rcv_time']);

        // WeChat re-enters by mch_billno: the same fields give the same answer, paid once.
        $again = $this->client->sendRedpack($this->redpack($no));
        $this->assertSame($sent['send_listid'], $again['send_listid']);
        $this->assertSame($before - 300, $this->balance());
        try {
            $this->client->sendRedpack($this->redpack($no, ['total_amount' => 400]));
            $this->fail('other fields under the same mch_billno');
        } catch (ApiException $e) {
            $this->assertSame('FATAL_ERROR', $e->getErrCode());
            $this->assertStringStartsWith('sendredpack: WeChat Pay business failure', $e->getMessage());
        }
    }

    public function testGroupRedpackIsSharedAmongItsPayers(): void
    {
        $no = self::billNo('GP');
        $sent = $this->client->sendGroupRedpack($this->redpack($no, ['total_amount' => 1000, 'total_num' => 3]));
        $this->assertUnsignedSuccess($sent);
        $this->mock->control('POST', "/mock/redpacks/$no/open");
        $info = $this->client->redpackInfo(['mch_billno' => $no]);
        $this->assertSame('GROUP', $info['hb_type']);
        $this->assertSame('3', $info['total_num']);
        $shares = [$info['hbinfo_0_amount'], $info['hbinfo_1_amount'], $info['hbinfo_2_amount']];
        $this->assertSame(1000, array_sum(array_map('intval', $shares)));
        $this->assertSame(self::OPENID, $info['hbinfo_0_openid']);
        $this->assertArrayNotHasKey('hbinfo_3_openid', $info);

        // 200 fen among 3 is under 1 yuan each: MONEY_LIMIT, nothing paid.
        try {
            $this->client->sendGroupRedpack($this->redpack(self::billNo('GP'), ['total_amount' => 200, 'total_num' => 3]));
            $this->fail('under 1 yuan a share');
        } catch (ApiException $e) {
            $this->assertSame('MONEY_LIMIT', $e->getErrCode());
        }
    }

    public function testRedpackFailures(): void
    {
        $before = $this->balance();
        $this->mock->control('POST', '/mock/balance', ['balance' => 299]);
        try {
            $this->client->sendRedpack($this->redpack(self::billNo('RP')));
            $this->fail('299 fen cannot pay 300');
        } catch (ApiException $e) {
            $this->assertSame('NOTENOUGH', $e->getErrCode());
            $this->assertSame('SUCCESS', $e->getReturnCode());
            $this->assertFalse($e->isRetryable());
        } finally {
            $this->mock->control('POST', '/mock/balance', ['balance' => $before]);
        }
        try {
            $this->client->redpackInfo(['mch_billno' => self::billNo('NO')]);
            $this->fail('unknown bill number');
        } catch (ApiException $e) {
            $this->assertSame('NOT_FOUND', $e->getErrCode());
        }
    }

    public function testSystemErrorIsRetriedWithTheSameBillNumberAndPaidOnce(): void
    {
        $no = self::billNo('RP');
        $before = $this->balance();
        $this->mock->faults(['system_error_rate' => 1.0, 'path' => 'mmpaymkttransfers/sendredpack', 'count' => 1]);
        $sent = $this->client->sendRedpack($this->redpack($no));
        $this->assertSame('SUCCESS', $sent['result_code']);
        $this->assertSame($before - 300, $this->balance());
    }

    public function testTransferToBalanceAndItsQuery(): void
    {
        $no = self::billNo('T');
        $before = $this->balance();
        $paid = $this->client->transfer([
            'partner_trade_no' => $no, 'openid' => self::OPENID, 'check_name' => 'FORCE_CHECK',
            're_user_name' => self::NAME, 'amount' => 150, 'desc' => 'Deposit returned',
        ]);
        $this->assertUnsignedSuccess($paid, 'mchid');
        $this->assertSame($this->mock->appid, $paid['mch_appid']);
        $this->assertSame($no, $paid['partner_trade_no']);
        $this->assertNotSame('', $paid['payment_no']);
        $this->assertSame($before - 150, $this->balance());

        $info = $this->client->transferInfo(['partner_trade_no' => $no]);
        $this->assertUnsignedSuccess($info);
        $this->assertSame('SUCCESS', $info['status']);
        $this->assertSame('150', $info['payment_amount']);
        $this->assertSame(self::NAME, $info['transfer_name']);
        $this->assertSame($paid['payment_no'], $info['detail_id']);

        foreach ([
            ['AMOUNT_LIMIT', fn () => $this->client->transfer([
                'partner_trade_no' => self::billNo('T'), 'openid' => self::OPENID,
                'check_name' => 'NO_CHECK', 'amount' => 50, 'desc' => 'too little',
            ])],
            ['FATAL_ERROR', fn () => $this->client->transfer([
                'partner_trade_no' => $no, 'openid' => self::OPENID, 'check_name' => 'NO_CHECK',
                'amount' => 151, 'desc' => 'Deposit returned',
            ])],
            ['NOT_FOUND', fn () => $this->client->transferInfo(['partner_trade_no' => self::billNo('T')])],
        ] as [$code, $call]) {
            try {
                $call();
                $this->fail("$code expected");
            } catch (ApiException $e) {
                $this->assertSame($code, $e->getErrCode());
            }
        }
        $this->assertSame($before - 150, $this->balance());
    }

    public function testBankTransferIsEncryptedSoThatOpenSslDecryptsIt(): void
    {
        $no = self::billNo('B');
        $before = $this->balance();
        $paid = $this->client->payBank($this->bankTransfer($no, ['desc' => 'Salary']));
        $this->assertSame('SUCCESS', $paid['result_code']);
        $this->assertSame('10000', $paid['amount']);
        $this->assertSame('100', $paid['cmms_amt']);
        // pay_bank's answer carries an MD5 sign, and the client verified it.
        $this->assertTrue(Signer::verify($paid, $this->mock->apiKey, 'MD5'));
        $this->assertSame($before - 10100, $this->balance());

        // The independent check: what the client sent, OpenSSL (PHP's openssl extension)
        // decrypts with the mock's private key, OAEP as WeChat does.
        $sent = $this->mock->control('GET', "/mock/bank/$no");
        $private = $this->mock->control('GET', '/mock/risk-key')['private_key_pem'];
        foreach (['enc_bank_no' => self::CARD, 'enc_true_name' => self::NAME] as $field => $plain) {
            $this->assertNotSame($plain, $sent[$field]);
            $this->assertSame(256, strlen((string) base64_decode($sent[$field], true)), "$field is one RSA-2048 block");
            $this->assertTrue(openssl_private_decrypt(
                (string) base64_decode($sent[$field], true),
                $decrypted,
                $private,
                OPENSSL_PKCS1_OAEP_PADDING
            ), (string) openssl_error_string());
            $this->assertSame($plain, $decrypted, $field);
        }

        $query = $this->client->queryBank(['partner_trade_no' => $no]);
        $this->assertUnsignedSuccess($query);
        $this->assertSame(md5(self::CARD), $query['bank_no_md5']);
        $this->assertSame(md5(self::NAME), $query['true_name_md5']);
        $this->assertContains($query['status'], ['PROCESSING', 'SUCCESS']);
        $done = Support\Mock::waitFor(function () use ($no) {
            $q = $this->client->queryBank(['partner_trade_no' => $no]);
            return $q['status'] === 'SUCCESS' ? $q : null;
        }, 'bank transfer SUCCESS');
        $this->assertNotSame('', $done['pay_succ_time']);

        // Re-entry compares the decrypted fields: a new ciphertext of the same card is the
        // same transfer; another card under the same number is not.
        $this->assertSame($paid['payment_no'], $this->client->payBank($this->bankTransfer($no, ['desc' => 'Salary']))['payment_no']);
        try {
            $this->client->payBank($this->bankTransfer($no, ['desc' => 'Salary', 'enc_bank_no' => '6225880012345679']));
            $this->fail('another card under the same partner_trade_no');
        } catch (ApiException $e) {
            $this->assertSame('FATAL_ERROR', $e->getErrCode());
        }
        try {
            $this->client->queryBank(['partner_trade_no' => self::billNo('B')]);
            $this->fail('unknown partner_trade_no');
        } catch (ApiException $e) {
            $this->assertSame('NOT_FOUND', $e->getErrCode());
        }
    }

    public function testTheRsaKeyIsFetchedOncePerProcess(): void
    {
        $paths = [];
        $config = [
            // A risk URL no other test uses: a cache entry of this test's own.
            'risk_url' => $this->mock->backupUrl,
            'logger' => function (string $level, string $message, array $context) use (&$paths): void {
                if ($level !== 'debug') {
                    $paths[] = $context['path'];
                }
            },
        ];
        $first = $this->mock->client($config);
        $first->payBank($this->bankTransfer(self::billNo('B')));
        $this->assertSame(['/risk/getpublickey', '/mmpaysptrans/pay_bank'], $paths);
        $paths = [];
        $first->payBank($this->bankTransfer(self::billNo('B')));
        $this->mock->client($config)->payBank($this->bankTransfer(self::billNo('B')));
        $this->assertSame(['/mmpaysptrans/pay_bank', '/mmpaysptrans/pay_bank'], $paths, 'the cached key, also for a new client');
    }

    public function testAForgedBankAnswerSignatureIsRefused(): void
    {
        $this->client->payBank($this->bankTransfer(self::billNo('B')));
        $this->mock->faults(['bad_sign' => true, 'path' => 'mmpaysptrans/pay_bank']);
        $this->expectException(SignatureException::class);
        $this->expectExceptionMessage('pay_bank response: ');
        $this->client->payBank($this->bankTransfer(self::billNo('B')));
    }

    /** @return iterable<string, array{string, array<string, mixed>, string}> */
    public static function refusals(): iterable
    {
        $redpack = [
            'mch_billno' => 'RP1', 'send_name' => 's', 're_openid' => self::OPENID, 'total_amount' => 300,
            'wishing' => 'w', 'act_name' => 'a', 'remark' => 'r',
        ];
        $bank = ['partner_trade_no' => 'B12345678', 'enc_bank_no' => self::CARD, 'enc_true_name' => self::NAME, 'bank_code' => '1002', 'amount' => 1];
        yield 'undocumented field' => ['queryBank', ['partner_trade_no' => 'B12345678', 'appid' => 'wx1'], 'appid is not a field of query_bank'];
        yield 'sign_type is not sent' => ['sendRedpack', $redpack + ['sign_type' => 'MD5'], 'sign_type is not a field of sendredpack'];
        yield 'mch_billno charset' => ['sendRedpack', ['mch_billno' => 'RP-1'] + $redpack, 'mch_billno must be 1 to 28 letters or digits'];
        yield 'over 200 yuan without scene_id' => ['sendRedpack', ['total_amount' => 20001] + $redpack, 'scene_id is required when total_amount is under 100 or over 20000 fen'];
        yield 'one payer only' => ['sendRedpack', $redpack + ['total_num' => 2], 'total_num must be 1 for sendredpack'];
        yield 'group of two' => ['sendGroupRedpack', $redpack + ['total_num' => 2], 'total_num must be at least 3'];
        yield 'bill_type' => ['redpackInfo', ['mch_billno' => 'RP1', 'bill_type' => 'ALL'], 'bill_type must be one of MCHT'];
        yield 'FORCE_CHECK needs the name' => ['transfer', ['partner_trade_no' => 'T1', 'openid' => self::OPENID, 'check_name' => 'FORCE_CHECK', 'amount' => 100, 'desc' => 'd'], 're_user_name is required when check_name is FORCE_CHECK'];
        yield 'mchid is the config\'s' => ['transfer', ['partner_trade_no' => 'T1', 'openid' => self::OPENID, 'check_name' => 'NO_CHECK', 'amount' => 100, 'desc' => 'd', 'mchid' => '1'], 'mchid comes from the client config'];
        yield 'desc is required' => ['transfer', ['partner_trade_no' => 'T1', 'openid' => self::OPENID, 'check_name' => 'NO_CHECK', 'amount' => 100], 'desc is required by transfers'];
        yield 'card number in the clear' => ['payBank', ['enc_bank_no' => '6225 8800 1234'] + $bank, 'enc_bank_no must be the card number in the clear, 8 to 32 digits'];
        yield 'bank_code' => ['payBank', ['bank_code' => 'ICBC'] + $bank, 'bank_code must be WeChat\'s 4-digit bank number'];
        yield 'amount in fen' => ['payBank', ['amount' => '1.00'] + $bank, 'amount must be a positive whole number of fen'];
        yield 'partner_trade_no of pay_bank' => ['queryBank', ['partner_trade_no' => 'B1'], 'partner_trade_no must be 8 to 32 letters or digits'];
    }

    /** @dataProvider refusals */
    #[DataProvider('refusals')]
    public function testRefusalsNameTheFieldAndSendNothing(string $method, array $params, string $message): void
    {
        $before = $this->mock->stats()['requests'];
        try {
            $this->client->$method($params);
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertStringStartsWith($message, $e->getMessage());
            $this->assertStringNotContainsString('6225', $e->getMessage(), 'a card number is never repeated');
        }
        $this->assertSame($before + 1, $this->mock->stats()['requests'], 'only the stats call itself');
    }

    /** @return iterable<string, array{string, string}> */
    public static function calls(): iterable
    {
        yield ['sendRedpack', 'sendredpack'];
        yield ['sendGroupRedpack', 'sendgroupredpack'];
        yield ['redpackInfo', 'gethbinfo'];
        yield ['transfer', 'transfers'];
        yield ['transferInfo', 'gettransferinfo'];
        yield ['payBank', 'pay_bank'];
        yield ['queryBank', 'query_bank'];
    }

    /** A complete call of each kind. @return array<string, mixed> */
    private function complete(string $method): array
    {
        return match ($method) {
            'sendRedpack' => $this->redpack(self::billNo('RP')),
            'sendGroupRedpack' => $this->redpack(self::billNo('GP'), ['total_num' => 3]),
            'redpackInfo' => ['mch_billno' => self::billNo('RP')],
            'transfer' => [
                'partner_trade_no' => self::billNo('T'), 'openid' => self::OPENID,
                'check_name' => 'NO_CHECK', 'amount' => 100, 'desc' => 'd',
            ],
            'transferInfo', 'queryBank' => ['partner_trade_no' => self::billNo('B')],
            'payBank' => $this->bankTransfer(self::billNo('B')),
        };
    }

    /** @dataProvider calls */
    #[DataProvider('calls')]
    public function testEveryCallNeedsTheClientCertificate(string $method, string $call): void
    {
        $client = $this->mock->client(['cert_path' => null, 'key_path' => null]);
        $before = $this->mock->stats()['requests'];
        try {
            $client->$method($this->complete($method));
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertSame(
                "$call needs the merchant's client certificate: set config \"cert_path\" and \"key_path\"",
                $e->getMessage()
            );
        }
        $this->assertSame($before + 1, $this->mock->stats()['requests'], 'nothing was sent');
    }

    public function testTheMockRefusesARequestWithoutCertificateAsWeChatDoes(): void
    {
        // A third-party client (curl here) without the client certificate: CA_ERROR.
        $fields = [
            'mch_billno' => self::billNo('RP'), 'mch_id' => $this->mock->mchId, 'wxappid' => $this->mock->appid,
            'send_name' => 's', 're_openid' => self::OPENID, 'total_amount' => '300', 'total_num' => '1',
            'wishing' => 'w', 'client_ip' => '127.0.0.1', 'act_name' => 'a', 'remark' => 'r',
            'nonce_str' => bin2hex(random_bytes(8)),
        ];
        $fields['sign'] = Signer::sign($fields, $this->mock->apiKey, 'MD5');
        $curl = curl_init($this->mock->url . '/mmpaymkttransfers/sendredpack');
        curl_setopt_array($curl, [
            CURLOPT_POST => true, CURLOPT_POSTFIELDS => Xml::encode($fields),
            CURLOPT_RETURNTRANSFER => true, CURLOPT_CAINFO => $this->mock->ca, CURLOPT_TIMEOUT => 10,
        ]);
        $answer = Xml::decode((string) curl_exec($curl));
        $this->assertSame('FAIL', $answer['result_code']);
        $this->assertSame('CA_ERROR', $answer['err_code']);
        $this->assertArrayNotHasKey('sign', $answer);
    }

    public function testTheMarketingExampleRunsToTheEnd(): void
    {
        $so = Support\Extension::file();
        $this->assertNotNull($so, 'the wxpay extension file');
        [$code, $out, $err] = Support\Extension::runPhp(
            ['-d', "extension=$so", '-d', 'display_errors=stderr', __DIR__ . '/../examples/marketing.php'],
            '',
            $this->mock->exampleEnv() + ['NO_COLOR' => '1'] + getenv()
        );
        $this->assertSame(0, $code, $out . $err);
        $this->assertStringContainsString('marketing walk-through complete: every step passed', $out);
        $this->assertStringNotContainsString(self::CARD, $out, 'the card number is never printed');
    }

    public function testTheSandboxHasNoMarketingCalls(): void
    {
        $client = $this->mock->client(['sandbox' => true]);
        $before = $this->mock->stats()['requests'];
        try {
            $client->transfer(['partner_trade_no' => 'T1']);
            $this->fail('must throw');
        } catch (ConfigException $e) {
            $this->assertStringStartsWith('transfers is not in WeChat\'s sandbox', $e->getMessage());
        }
        $this->assertSame($before + 1, $this->mock->stats()['requests'], 'not even the sandbox key was fetched');
        $this->expectException(ConfigException::class);
        $this->expectExceptionMessage('sendredpack is not in WeChat\'s sandbox');
        $client->sendRedpack($this->redpack(self::billNo('RP')));
    }
}
