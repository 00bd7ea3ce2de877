<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\Client;
use WxPay\Notify;
use WxPay\SignatureException;
use WxPay\Signer;
use WxPay\Tests\Support\Notifies;
use WxPay\Tests\Support\Vectors;
use WxPay\Xml;
use WxPay\XmlException;

final class NotifyTest extends TestCase
{
    public function testReplies(): void
    {
        $this->assertSame(
            '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
            Notify::success()
        );
        $fail = Notify::fail("bad ]]> amount\x01");
        $this->assertSame(['return_code' => 'FAIL', 'return_msg' => 'bad ]]> amount '], Xml::decode($fail));
    }

    public function testParseNotifyReturnsVerifiedFieldsForBothSignTypes(): void
    {
        foreach (['MD5', 'HMAC-SHA256'] as $type) {
            $client = new Client(Notifies::config(['sign_type' => $type]));
            $fields = $client->parseNotify(Notifies::payment($type));
            $this->assertSame(Notifies::paymentFields($type), $fields);
            $this->assertSame('88', $fields['total_fee']);
            $this->assertSame('10', $fields['coupon_fee_0']);
        }
    }

    public function testNotifyWithoutSignTypeUsesThePinnedType(): void
    {
        $client = new Client(Notifies::config(['sign_type' => 'HMAC-SHA256']));
        $fields = $client->parseNotify(Notifies::payment('HMAC-SHA256', ['sign_type' => null]));
        $this->assertArrayNotHasKey('sign_type', $fields);
    }

    /** @return iterable<string, array{string, string, string}> configured type, body, message */
    public static function forged(): iterable
    {
        $good = Notifies::paymentFields();
        yield 'wrong sign' => ['MD5', Xml::encode(['sign' => str_repeat('A', 32)] + $good), 'sign does not match'];
        $noSign = $good;
        unset($noSign['sign']);
        yield 'missing sign' => ['MD5', Xml::encode($noSign), 'has no sign field'];
        yield 'lowercase sign' => ['MD5', Xml::encode(['sign' => strtolower($good['sign'])] + $good), 'does not match'];
        yield 'amount tampered' => ['MD5', Xml::encode(['total_fee' => '1'] + $good), 'does not match'];
        yield 'downgrade' => ['HMAC-SHA256', Notifies::payment('MD5'), 'differs from the configured HMAC-SHA256'];
        yield 'other appid' => ['HMAC-SHA256', Notifies::payment('HMAC-SHA256', ['appid' => 'wxOTHER']), 'appid "wxOTHER"'];
        yield 'other mch_id' => ['HMAC-SHA256', Notifies::payment('HMAC-SHA256', ['mch_id' => '999']), 'mch_id "999"'];
        yield 'zero amount' => ['HMAC-SHA256', Notifies::payment('HMAC-SHA256', ['total_fee' => '0']), 'positive whole number'];
        yield 'no transaction_id' => [
            'HMAC-SHA256',
            Notifies::payment('HMAC-SHA256', ['transaction_id' => null]),
            'has no transaction_id',
        ];
    }

    /** @dataProvider forged */
    #[DataProvider('forged')]
    public function testForgedNotifiesAreRefused(string $signType, string $body, string $expected): void
    {
        $client = new Client(Notifies::config(['sign_type' => $signType]));
        try {
            $client->parseNotify($body);
            $this->fail('must throw');
        } catch (SignatureException $e) {
            $this->assertStringContainsString($expected, $e->getMessage());
        }
    }

    /**
     * Finding 10 (issue 10): WeChat signs no return_code=FAIL notify, so anyone can send one.
     * It is an ApiException whose getResponse() holds what the sender wrote: kept for the
     * shop's log, never verified, never repeated in the message, never retryable.
     */
    public function testReturnCodeFailIsAnApiExceptionWithUnverifiedFields(): void
    {
        $client = new Client(Notifies::config());
        $forged = [
            'return_code' => 'FAIL',
            'return_msg' => "boom\nwxpay: a line of the sender's",
            'err_code' => 'SYSTEMERROR',
            'out_trade_no' => 'A1001',
            'appid' => 'wx-not-ours',
        ];
        $calls = [
            'payment notify' => fn () => $client->parseNotify(Xml::encode($forged)),
            'refund notify' => fn () => $client->parseRefundNotify(Xml::encode($forged + ['req_info' => 'x'])),
        ];
        foreach ($calls as $what => $call) {
            try {
                $call();
                $this->fail("$what: must throw");
            } catch (ApiException $e) {
                $this->assertSame(
                    "$what: return_code is not SUCCESS, and such a notify is unsigned: none of its fields "
                    . 'is verified (anyone can send one), so none is repeated here',
                    $e->getMessage()
                );
                $this->assertSame($what, $e->getCall());
                $this->assertSame('FAIL', $e->getReturnCode(), 'not SUCCESS: the fields are unverified');
                $this->assertSame('A1001', $e->getResponse()['out_trade_no']);
                $this->assertFalse($e->isRetryable(), "$what: SYSTEMERROR from anyone");
            }
        }
    }

    public function testResultCodeFailIsVerifiedThenAnApiException(): void
    {
        $client = new Client(Notifies::config());
        $body = Notifies::payment('MD5', ['result_code' => 'FAIL', 'err_code' => 'PAYERROR', 'err_code_des' => 'x']);
        try {
            $client->parseNotify($body);
            $this->fail('must throw');
        } catch (ApiException $e) {
            $this->assertSame('PAYERROR', $e->getErrCode());
            $this->assertSame('x', $e->getErrCodeDes());
            $this->assertFalse($e->isRetryable());
            $this->assertSame('A1001', $e->getResponse()['out_trade_no']);
        }
    }

    public function testHostileXmlInANotifyIsAnXmlException(): void
    {
        $client = new Client(Notifies::config());
        $this->expectException(XmlException::class);
        $client->parseNotify('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>');
    }

    public function testDuplicateSignedFieldIsRefused(): void
    {
        $client = new Client(Notifies::config());
        $body = str_replace('</xml>', '<total_fee>1</total_fee></xml>', Notifies::payment());
        $this->expectException(XmlException::class);
        $this->expectExceptionMessage('<total_fee> appears more than once');
        $client->parseNotify($body);
    }

    public function testAssertNotifyMatches(): void
    {
        $client = new Client(Notifies::config());
        $fields = $client->parseNotify(Notifies::payment());
        $client->assertNotifyMatches($fields, 'A1001', 88);
        $this->addToAssertionCount(1);
        foreach ([['A1002', 88, 'out_trade_no "A1001"'], ['A1001', 8800, 'total_fee 88 does not match']] as $case) {
            try {
                $client->assertNotifyMatches($fields, $case[0], $case[1]);
                $this->fail('must throw');
            } catch (SignatureException $e) {
                $this->assertStringContainsString($case[2], $e->getMessage());
            }
        }
    }

    public function testRefundNotifyIsDecryptedAndMerged(): void
    {
        $client = new Client(Notifies::config());
        $fields = $client->parseRefundNotify(Notifies::refund());
        $this->assertSame('SUCCESS', $fields['return_code']);
        $this->assertSame(Notifies::APPID, $fields['appid']);
        $this->assertSame('R1001', $fields['out_refund_no']);
        $this->assertSame('SUCCESS', $fields['refund_status']);
        $this->assertArrayNotHasKey('req_info', $fields);
    }

    public function testRefundResultHoldsOnlyTheEnvelopeAndTheDecryptedFields(): void
    {
        // success_time outside req_info is unsigned: it must not pass for the decrypted one.
        $body = Notifies::refund(
            inner: ['success_time' => null],
            outer: ['success_time' => '2000-01-01 00:00:00', 'refund_recv_accout' => 'forged', 'return_msg' => 'OK'],
        );
        $client = new Client(Notifies::config());
        $fields = $client->parseRefundNotify($body);
        $this->assertArrayNotHasKey('success_time', $fields);
        $this->assertArrayNotHasKey('refund_recv_accout', $fields);
        $this->assertSame(
            ['return_msg', 'return_code', 'appid', 'mch_id', 'nonce_str'],
            array_slice(array_keys($fields), 0, 5),
            'the envelope first, in the order sent'
        );
        $this->assertSame('R1001', $fields['out_refund_no']);
        $seen = null;
        $client->handleRefundNotify($body, function (array $refund) use (&$seen) {
            $seen = $refund;
        });
        $this->assertSame($fields, $seen, 'handleRefundNotify passes what parseRefundNotify returns');
    }

    /** @return iterable<string, array{string}> plaintexts a splice of captured ECB blocks could give */
    public static function malformedPlaintexts(): iterable
    {
        yield 'no XML at all' => ['PLAINTEXT-OF-A-CAPTURED-BLOCK'];
        yield 'text outside a field' => ['<root>PLAINTEXT-OF-A-CAPTURED-BLOCK</root>'];
        yield 'mismatched end tag' => ['<root><PLAINTEXT>x</PLAINTEXT><a>1</b></root>'];
        yield 'attribute' => ['<root><a PLAINTEXT="1"/></root>'];
        yield 'unknown entity' => ['<root><a>&PLAINTEXT;</a></root>'];
        yield 'nested' => ['<root><a><PLAINTEXT/></a></root>'];
    }

    /** @dataProvider malformedPlaintexts */
    #[DataProvider('malformedPlaintexts')]
    public function testDecryptedReqInfoIsNeverQuoted(string $plain): void
    {
        $body = Notifies::refund(outer: ['req_info' => Notifies::reqInfo($plain)]);
        try {
            (new Client(Notifies::config()))->parseRefundNotify($body);
            $this->fail('must throw');
        } catch (SignatureException $e) {
            $this->assertStringStartsWith('refund notify: req_info decrypted to malformed XML (', $e->getMessage());
            $this->assertStringNotContainsString('PLAINTEXT', $e->getMessage());
        }
    }

    public function testRefundNotifyRefusals(): void
    {
        $client = new Client(Notifies::config());
        $cases = [
            [Notifies::refund('another-key'), 'does not decrypt with this key'],
            [Notifies::refund(outer: ['req_info' => '%%%']), 'not valid base64'],
            [Notifies::refund(outer: ['req_info' => base64_encode('short')]), 'not a positive multiple of 16'],
            [Notifies::refund(outer: ['req_info' => null]), 'has no req_info'],
            [Notifies::refund(outer: ['mch_id' => '1']), 'mch_id "1"'],
            [Notifies::refund(inner: ['appid' => 'wxX']), 'repeats an outer field'],
        ];
        foreach ($cases as [$body, $expected]) {
            try {
                $client->parseRefundNotify($body);
                $this->fail('must throw: ' . $expected);
            } catch (SignatureException $e) {
                $this->assertStringContainsString($expected, $e->getMessage());
            }
        }
    }

    public function testRefundReqInfoVectorFollowsTheDocumentedRule(): void
    {
        // The vector's key is 16 characters, which a Client refuses (every API key is 32), so
        // the extension's decryption of it is checked in wxpay-core (tests/vectors.rs); here
        // the rule itself, and that a Client with another key refuses the vector.
        foreach (Vectors::load('refund_req_info.json') as $v) {
            $this->assertSame(
                $v['plaintext'],
                openssl_decrypt(base64_decode($v['req_info']), 'aes-256-ecb', md5($v['key']), OPENSSL_RAW_DATA)
            );
            $body = Xml::encode([
                'return_code' => 'SUCCESS',
                'appid' => 'wx1',
                'mch_id' => '1',
                'req_info' => $v['req_info'],
            ]);
            $wrong = new Client(['appid' => 'wx1', 'mch_id' => '1', 'key' => str_repeat('w', 32)]);
            try {
                $wrong->parseRefundNotify($body);
                $this->fail('must throw');
            } catch (SignatureException $e) {
                $this->assertStringContainsString('does not decrypt', $e->getMessage());
            }
        }
    }
}
