<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Xml;

require_once __DIR__ . '/../php/compat/WxPay.Notify.php';
require_once __DIR__ . '/compat-shop/TestConfig.php';

/**
 * WxPayNotify::Handle() the SDK way (a NotifyProcess subclass), in process: verified notifies
 * reach NotifyProcess(); forged, downgraded and XXE ones are answered FAIL without it.
 */
final class CompatNotifyTest extends TestCase
{
    private const KEY = '192006250b4c09247ec02edce69f6a2d';

    /** @return array<string, string> a payment notify as WeChat sends it */
    private static function paid(string $signType, array $override = [], ?string $signWith = null): array
    {
        $fields = array_merge([
            'appid' => 'wxd930ea5d5a258f4f', 'bank_type' => 'CFT', 'cash_fee' => '88', 'fee_type' => 'CNY',
            'is_subscribe' => 'N', 'mch_id' => '10000100', 'nonce_str' => 'n0nce', 'openid' => 'oUser',
            'out_trade_no' => 'A1001', 'result_code' => 'SUCCESS', 'return_code' => 'SUCCESS',
            'time_end' => '20261130101010', 'total_fee' => '88', 'trade_type' => 'NATIVE',
            'transaction_id' => '4200000001202611300000000001',
        ], $override);
        $fields = array_filter($fields, static fn ($v) => $v !== null);
        $algorithm = $signWith ?? $signType;
        // Signer refuses to sign under a sign_type it does not follow; a forger is not so polite.
        $fields['sign'] = ($fields['sign_type'] ?? $algorithm) === $algorithm
            ? Signer::sign($fields, self::KEY, $algorithm)
            : self::md5ByHand($fields);
        return $fields;
    }

    /** The MD5 signature of $fields whatever their sign_type says (docs/protocol.md §2). */
    private static function md5ByHand(array $fields): string
    {
        ksort($fields, SORT_STRING);
        $pairs = [];
        foreach ($fields as $name => $value) {
            if ($value !== '') {
                $pairs[] = "$name=$value";
            }
        }
        return strtoupper(md5(implode('&', $pairs) . '&key=' . self::KEY));
    }

    /** Runs Handle() on $body; returns [the reply fields, what NotifyProcess saw or null]. */
    private static function handle(\WxPayConfigInterface $config, string $body, bool $needSign = false, bool $ok = true): array
    {
        $notify = new CompatShopNotify($ok);
        ob_start();
        try {
            $notify->Handle($config, $needSign, $body);
        } finally {
            $reply = (string) ob_get_clean();
        }
        return [Xml::decode($reply), $notify->seen, $notify->logged];
    }

    /** @return iterable<string, array{string}> */
    public static function signTypes(): iterable
    {
        yield 'MD5' => ['MD5'];
        yield 'HMAC-SHA256' => ['HMAC-SHA256'];
    }

    /** @dataProvider signTypes */
    #[DataProvider('signTypes')]
    public function testAVerifiedNotifyReachesNotifyProcessAndIsAcknowledged(string $signType): void
    {
        $config = new \WxPayTestConfig(['sign_type' => $signType]);
        $fields = self::paid($signType, $signType === 'HMAC-SHA256' ? ['sign_type' => 'HMAC-SHA256'] : []);
        [$reply, $seen, $logged] = self::handle($config, Xml::encode($fields));
        $this->assertSame(['return_code' => 'SUCCESS', 'return_msg' => 'OK'], $reply);
        $this->assertSame($fields, $seen);
        $this->assertSame(Xml::encode($reply), $logged, 'LogAfterProcess gets the reply XML');
    }

    public function testNotifyProcessFailureIsRepliedWithItsMessage(): void
    {
        [$reply, $seen] = self::handle(new \WxPayTestConfig(), Xml::encode(self::paid('MD5')), false, false);
        $this->assertSame(['return_code' => 'FAIL', 'return_msg' => '订单不存在'], $reply);
        $this->assertNotNull($seen);
    }

    /** @return iterable<string, array{string, string, string}> config sign type, body, reply message */
    public static function refusedNotifies(): iterable
    {
        $md5Fields = self::paid('MD5');
        yield 'MD5-signed notify to an HMAC merchant (downgrade)' => ['HMAC-SHA256', Xml::encode($md5Fields), '签名错误！'];
        yield 'MD5 declared and signed, HMAC merchant' => [
            'HMAC-SHA256', Xml::encode(self::paid('MD5', ['sign_type' => 'MD5'])), '签名错误！',
        ];
        yield 'HMAC-signed notify to an MD5 merchant' => ['MD5', Xml::encode(self::paid('HMAC-SHA256')), '签名错误！'];
        yield 'HMAC declared, signed MD5' => [
            'MD5', Xml::encode(self::paid('MD5', ['sign_type' => 'HMAC-SHA256'])), '签名错误！',
        ];
        $forged = $md5Fields;
        $forged['total_fee'] = '1';
        yield 'amount changed after signing' => ['MD5', Xml::encode($forged), '签名错误！'];
        $forged = $md5Fields;
        $forged['sign'] = str_repeat('0', 32);
        yield 'forged sign' => ['MD5', Xml::encode($forged), '签名错误！'];
        $forged['sign'] = '0E1';
        yield 'loose-compare bait' => ['MD5', Xml::encode($forged), '签名错误！'];
        unset($forged['sign']);
        yield 'no sign' => ['MD5', Xml::encode($forged), '签名错误！'];
        yield 'another merchant, signed with our key' => [
            'MD5', Xml::encode(self::paid('MD5', ['mch_id' => '10000999'])), 'mch_id与商户配置不符！',
        ];
        yield 'XXE' => [
            'MD5',
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            . '<xml><return_code>&xxe;</return_code></xml>',
            'xml数据异常！',
        ];
        yield 'billion laughs' => [
            'MD5',
            '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><a>&b;</a></xml>',
            'xml数据异常！',
        ];
        yield 'duplicate field' => [
            'MD5',
            str_replace('<total_fee>', '<total_fee><![CDATA[1]]></total_fee><total_fee>', Xml::encode($md5Fields)),
            'xml数据异常！',
        ];
        yield 'not XML' => ['MD5', 'total_fee=1', 'xml数据异常！'];
        yield 'empty body' => ['MD5', '', '通知数据为空'];
    }

    /** @dataProvider refusedNotifies */
    #[DataProvider('refusedNotifies')]
    public function testRefusedNotifiesNeverReachNotifyProcess(string $signType, string $body, string $message): void
    {
        [$reply, $seen] = self::handle(new \WxPayTestConfig(['sign_type' => $signType]), $body);
        $this->assertNull($seen, 'NotifyProcess must not run');
        $this->assertSame(['return_code' => 'FAIL', 'return_msg' => $message], $reply);
    }

    public function testNativeModeOneCallbackReplyIsSignedMd5(): void
    {
        // WeChat's scan callback: no return_code; the reply carries the prepay_id, signed.
        $callback = ['appid' => 'wxd930ea5d5a258f4f', 'openid' => 'oUser', 'mch_id' => '10000100',
                     'is_subscribe' => 'N', 'nonce_str' => 'abc', 'product_id' => 'sku-1'];
        $callback['sign'] = Signer::sign($callback, self::KEY, 'HMAC-SHA256');
        $config = new \WxPayTestConfig(['sign_type' => 'HMAC-SHA256']);
        $notify = new CompatScanCallback();
        ob_start();
        $notify->Handle($config, true, Xml::encode($callback));
        $reply = Xml::decode((string) ob_get_clean());
        $this->assertSame('SUCCESS', $reply['return_code']);
        $this->assertSame('wx201411101639507cbf6ffd8b0779950874', $reply['prepay_id']);
        $this->assertTrue(Signer::verify($reply, self::KEY, 'MD5'), 'signed as the SDK signs it: MD5');
    }

    public function testNotifyReadsTheSdksRawPostGlobal(): void
    {
        $config = new \WxPayTestConfig();
        $fields = self::paid('MD5');
        $GLOBALS['HTTP_RAW_POST_DATA'] = Xml::encode($fields);
        try {
            $notify = new CompatShopNotify(true);
            ob_start();
            $notify->Handle($config, false);
            $reply = Xml::decode((string) ob_get_clean());
        } finally {
            unset($GLOBALS['HTTP_RAW_POST_DATA']);
        }
        $this->assertSame('SUCCESS', $reply['return_code']);
        $this->assertSame($fields, $notify->seen);

        $msg = '';
        $called = false;
        $result = \WxPayApi::notify($config, function (\WxPayNotifyResults $data) use (&$called) {
            $called = true;
            return $data->GetValues()['out_trade_no'];
        }, $msg, Xml::encode($fields));
        $this->assertTrue($called);
        $this->assertSame('A1001', $result);
        $this->assertFalse(\WxPayApi::notify($config, fn () => true, $msg, Xml::encode(['a' => '1'])));
        $this->assertSame('签名错误！', $msg);
    }
}

/** A shop's notify handler, the SDK way. */
final class CompatShopNotify extends \WxPayNotify
{
    /** @var array<string, string>|null */
    public ?array $seen = null;
    public ?string $logged = null;

    public function __construct(private bool $ok)
    {
    }

    public function NotifyProcess($objData, $config, &$msg)
    {
        $this->seen = $objData->GetValues();
        $objData->CheckSign($config);
        if (!$this->ok) {
            $msg = '订单不存在';
            return false;
        }
        return true;
    }

    public function LogAfterProcess($xmlData)
    {
        $this->logged = $xmlData;
    }
}

/** The SDK's native_notify.php handler: answers a scan with a prepay_id. */
final class CompatScanCallback extends \WxPayNotify
{
    public function NotifyProcess($objData, $config, &$msg)
    {
        $data = $objData->GetValues();
        if (!array_key_exists('openid', $data) || !array_key_exists('product_id', $data)) {
            $msg = '回调数据异常';
            return false;
        }
        $this->SetData('appid', $config->GetAppId());
        $this->SetData('mch_id', $config->GetMerchantId());
        $this->SetData('nonce_str', \WxPayApi::getNonceStr());
        $this->SetData('prepay_id', 'wx201411101639507cbf6ffd8b0779950874');
        $this->SetData('result_code', 'SUCCESS');
        $this->SetData('err_code_des', 'OK');
        return true;
    }
}
