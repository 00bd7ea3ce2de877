<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Signer;
use WxPay\Xml;

require_once __DIR__ . '/../php/compat/WxPay.Api.php';
require_once __DIR__ . '/../php/compat/WxPay.Notify.php';
require_once __DIR__ . '/../php/compat/WxPay.JsApiPay.php';
require_once __DIR__ . '/../php/compat/WxPay.NativePay.php';
require_once __DIR__ . '/../php/compat/WxPay.MicroPay.php';
require_once __DIR__ . '/compat-shop/TestConfig.php';

/**
 * The SDK 3.0.x compat layer offline: the data objects, signatures against the vectors of
 * docs/protocol.md §2, the SDK's unsafe spots made safe, and the SDK's required-field
 * messages.
 */
final class CompatDataTest extends TestCase
{
    private const KEY = '192006250b4c09247ec02edce69f6a2d';

    /** The V1 parameters of docs/protocol.md §2 on a data object. */
    private static function v1(): \WxPayResults
    {
        $data = new \WxPayResults();
        foreach (
            ['appid' => 'wxd930ea5d5a258f4f', 'mch_id' => '10000100', 'device_info' => '1000',
             'body' => 'test', 'nonce_str' => 'ibuaiVcKdpRxkhJA'] as $k => $v
        ) {
            $data->SetData($k, $v);
        }
        return $data;
    }

    public function testEveryCompatFileLintsAndDeclaresTheSdkClasses(): void
    {
        foreach (glob(__DIR__ . '/../php/compat/*.php') ?: [] as $file) {
            exec(escapeshellarg(PHP_BINARY) . ' -n -l ' . escapeshellarg($file) . ' 2>&1', $out, $code);
            $this->assertSame(0, $code, implode("\n", $out));
        }
        foreach (
            ['WxPayApi', 'WxPayException', 'WxPayConfigInterface', 'WxPayDataBase', 'WxPayDataBaseSignMd5',
             'WxPayResults', 'WxPayNotifyResults', 'WxPayNotifyReply', 'WxPayUnifiedOrder', 'WxPayOrderQuery',
             'WxPayCloseOrder', 'WxPayRefund', 'WxPayRefundQuery', 'WxPayDownloadBill', 'WxPayReport',
             'WxPayShortUrl', 'WxPayMicroPay', 'WxPayReverse', 'WxPayJsApiPay', 'WxPayBizPayUrl', 'WxPayNotify',
             'JsApiPay', 'NativePay', 'MicroPay'] as $class
        ) {
            $this->assertTrue(class_exists($class, false), $class);
        }
        $this->assertTrue((new \ReflectionClass('WxPayConfigInterface'))->isAbstract());
        $this->assertTrue(is_subclass_of('WxPayException', 'Exception'));
        $this->assertTrue((new \ReflectionMethod('WxPayNotify', 'Handle'))->isFinal());
        $this->assertTrue((new \ReflectionMethod('WxPayNotify', 'NotifyCallBack'))->isFinal());
        foreach (['unifiedOrder' => 6, 'orderQuery' => 6, 'micropay' => 10, 'report' => 1] as $method => $timeout) {
            $params = (new \ReflectionMethod('WxPayApi', $method))->getParameters();
            $this->assertSame('timeOut', $params[2]->getName());
            $this->assertSame($timeout, $params[2]->getDefaultValue(), "$method default timeout");
        }
    }

    public function testSettersGettersAndIsSetFollowTheSdk(): void
    {
        $order = new \WxPayUnifiedOrder();
        $this->assertFalse($order->IsOut_trade_noSet());
        $this->assertNull($order->GetOut_trade_no());
        $order->SetOut_trade_no('A1001');
        $order->SetTotal_fee(88);
        $this->assertTrue($order->IsOut_trade_noSet());
        $this->assertSame('A1001', $order->GetOut_trade_no());
        $this->assertSame(['out_trade_no' => 'A1001', 'total_fee' => 88], $order->GetValues());

        $report = new \WxPayReport();
        $report->SetExecute_time_(12);
        $this->assertTrue($report->IsExecute_time_Set());
        $this->assertSame(12, $report->GetExecute_time_());

        // The SDK's JSAPI object keeps its camelCase names and its misnamed nonce getter.
        $js = new \WxPayJsApiPay();
        $js->SetAppid('wx1');
        $js->SetNonceStr('n');
        $this->assertSame(['appId' => 'wx1', 'nonceStr' => 'n'], $js->GetValues());
        $this->assertSame('n', $js->GetReturn_code());
        $this->assertTrue($js->IsReturn_codeSet());
    }

    public function testMakeSignMatchesTheSpecVectors(): void
    {
        $md5 = new \WxPayTestConfig(['sign_type' => 'MD5']);
        $hmac = new \WxPayTestConfig(['sign_type' => 'HMAC-SHA256']);
        // V1: no sign_type in the string (WxPayResults::MakeSign does not add it).
        $this->assertSame('9A0A8659F005D6984697E2CA0A9CF3B7', self::v1()->MakeSign($md5));
        // D2/D1: request objects add and sign sign_type, as the SDK.
        $this->assertSame('6B4978B16793D0C2604CD59C47425A27', $this->signAsRequest($md5));
        $this->assertSame(
            '2C9DF1156522C0B2B03B4DBF3BCA5CACB602CBD5CA0F9E112458CF3E9855303B',
            $this->signAsRequest($hmac)
        );
    }

    private function signAsRequest(\WxPayConfigInterface $config): string
    {
        $data = new \WxPayUnifiedOrder();
        $data->SetAppid('wxd930ea5d5a258f4f');
        $data->SetMch_id('10000100');
        $data->SetDevice_info('1000');
        $data->SetBody('test');
        $data->SetNonce_str('ibuaiVcKdpRxkhJA');
        $sign = $data->SetSign($config);
        $values = $data->GetValues();
        $this->assertSame($config->GetSignType(), $values['sign_type']);
        $this->assertSame($sign, $values['sign']);
        return $sign;
    }

    public function testJsapiPaySignMatchesTheOfficialExample(): void
    {
        foreach (
            ['MD5' => '1F2E9533D7D483FBCDBD0B9BCA76F97D',
             'HMAC-SHA256' => '4A04CF5B979A4920409A9DEF2322C33C96DE8E9A96830E648719C60EF991700E'] as $type => $want
        ) {
            $config = new \WxPayTestConfig(['sign_type' => $type, 'key' => 'qazwsxedcrfvtgbyhnujmikolp111111']);
            $js = new \WxPayJsApiPay();
            $js->SetAppid('wx619a931576afe069');
            $js->SetTimeStamp('1774495197');
            $js->SetNonceStr('RIPb5Upk3ku7knU6');
            $js->SetPackage('prepay_id=wx2611334392677180ea59742b3744840000');
            $js->SetPaySign($js->MakeSign($config));
            $this->assertSame($want, $js->GetPaySign());
            $this->assertSame($type, $js->GetSignType());
            // paySign itself is never signed: signing again gives the same value.
            $this->assertSame($want, $js->MakeSign($config));
        }
    }

    public function testGetJsApiParametersIsSignedJsonForTheConfigSignType(): void
    {
        $config = new \WxPayTestConfig(['sign_type' => 'HMAC-SHA256']);
        $json = (new \JsApiPay($config))->GetJsApiParameters(['appid' => 'wxd930ea5d5a258f4f', 'prepay_id' => 'wx26abc']);
        $params = json_decode($json, true);
        $this->assertSame(['appId', 'nonceStr', 'package', 'signType', 'timeStamp', 'paySign'], array_keys($params));
        $this->assertSame('prepay_id=wx26abc', $params['package']);
        $this->assertSame('HMAC-SHA256', $params['signType']);
        $this->assertMatchesRegularExpression('/^\d{10}$/', $params['timeStamp']);
        $signed = $params;
        $signed['sign'] = $signed['paySign'];
        unset($signed['paySign']);
        $this->assertTrue(Signer::verify($signed, self::KEY, 'HMAC-SHA256'));

        $this->expectException(\WxPayException::class);
        $this->expectExceptionMessage('参数错误');
        (new \JsApiPay($config))->GetJsApiParameters(['appid' => 'wx1', 'prepay_id' => '']);
    }

    public function testEditAddressParametersAndOauthUrls(): void
    {
        $server = $_SERVER;
        try {
            $_SERVER['HTTP_HOST'] = 'shop.example';
            $_SERVER['REQUEST_URI'] = '/pay/jsapi.php?x=1';
            $_SERVER['HTTPS'] = 'on';
            $tools = new \JsApiPay(new \WxPayTestConfig());
            $tools->data = ['access_token' => 'TOKEN', 'openid' => 'o1'];
            $params = json_decode($tools->GetEditAddressParameters(), true);
            $this->assertSame('sha1', $params['signType']);
            $this->assertSame('jsapi_address', $params['scope']);
            $expected = sha1(
                'accesstoken=TOKEN&appid=wxd930ea5d5a258f4f&noncestr=' . $params['nonceStr']
                . '&timestamp=' . $params['timeStamp'] . '&url=https://shop.example/pay/jsapi.php?x=1'
            );
            $this->assertSame($expected, $params['addrSign']);

            $forCode = new \ReflectionMethod(\JsApiPay::class, '_CreateOauthUrlForCode');
            $this->assertSame(
                'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxd930ea5d5a258f4f&redirect_uri=https%3A%2F%2Fx'
                . '&response_type=code&scope=snsapi_base&state=STATE#wechat_redirect',
                $forCode->invoke($tools, urlencode('https://x'))
            );
            $forOpenid = new \ReflectionMethod(\JsApiPay::class, '__CreateOauthUrlForOpenid');
            $this->assertStringStartsWith(
                'https://api.weixin.qq.com/sns/oauth2/access_token?appid=wxd930ea5d5a258f4f&secret=&code=C%261',
                $forOpenid->invoke($tools, 'C&1')
            );
        } finally {
            $_SERVER = $server;
        }
    }

    public function testBizpayurlAndGetPrePayUrlAreMd5Signed(): void
    {
        // D5, with the values bizpayurl() would fill.
        $biz = new \WxPayBizPayUrl();
        $biz->SetAppid('wxd930ea5d5a258f4f');
        $biz->SetMch_id('10000100');
        $biz->SetTime_stamp('1414488825');
        $biz->SetNonce_str('ibuaiVcKdpRxkhJA');
        $biz->SetProduct_id('88888');
        // MD5 also for an HMAC merchant, as the SDK (WxPayDataBaseSignMd5).
        $this->assertSame('A2B4A3B327D04E789C63730201790750', $biz->SetSign(new \WxPayTestConfig(['sign_type' => 'HMAC-SHA256'])));

        $url = (new \NativePay(new \WxPayTestConfig()))->GetPrePayUrl('sku-9');
        $this->assertStringStartsWith('weixin://wxpay/bizpayurl?', $url);
        parse_str(parse_url($url, PHP_URL_QUERY), $query);
        $this->assertSame('sku-9', $query['product_id']);
        $this->assertTrue(Signer::verify($query, self::KEY, 'MD5'));
        $this->assertSame(
            ['appid', 'mch_id', 'nonce_str', 'product_id', 'sign', 'time_stamp'],
            (static function (array $k) {
                sort($k);
                return $k;
            })(array_keys($query))
        );
    }

    public function testXmlRoundTripIsStrict(): void
    {
        $data = new \WxPayResults();
        $data->SetData('a', 'x]]>y');
        $data->SetData('total_fee', 19.99 * 100);
        $data->SetData('flag', true);
        $data->SetData('gone', null);
        $xml = $data->ToXml();
        $back = new \WxPayResults();
        // As the SDK would put them in its XML: the float as PHP casts it, true as "1".
        $this->assertSame(['a' => 'x]]>y', 'total_fee' => '1999', 'flag' => '1'], $back->FromXml($xml));

        foreach (
            ['' => 'xml数据异常！',
             '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>' => 'xml数据异常！',
             '<xml><a>1</a><a>2</a></xml>' => 'xml数据异常！',
             '<xml><a><b>1</b></a></xml>' => 'xml数据异常！'] as $bad => $message
        ) {
            try {
                (new \WxPayResults())->FromXml($bad);
                $this->fail('refused: ' . $bad);
            } catch (\WxPayException $e) {
                $this->assertSame($message, $e->getMessage());
            }
        }
        $this->expectExceptionObject(new \WxPayException('数组数据异常！'));
        (new \WxPayResults())->ToXml();
    }

    public function testToUrlParamsDoesNotEatATrailingAmpersand(): void
    {
        $data = new \WxPayResults();
        $data->FromArray(['b' => '2&', 'a' => '1', 'empty' => '', 'zero' => '0', 'sign' => 'S']);
        // The SDK's trim($buff, "&") would have dropped the value's own "&".
        $this->assertSame('b=2&&a=1&zero=0', $data->ToUrlParams());
    }

    public function testCheckSignIsPinnedAndRefusesForgeries(): void
    {
        $md5 = new \WxPayTestConfig(['sign_type' => 'MD5']);
        $hmac = new \WxPayTestConfig(['sign_type' => 'HMAC-SHA256']);
        $fields = self::v1()->GetValues();
        $md5Signed = $fields + ['sign' => Signer::sign($fields, self::KEY, 'MD5')];
        $hmacSigned = $fields + ['sign' => Signer::sign($fields, self::KEY, 'HMAC-SHA256')];

        $this->assertTrue(\WxPayResults::InitFromArray($md5, $md5Signed)->CheckSign($md5));
        $this->assertTrue(\WxPayResults::InitFromArray($hmac, $hmacSigned)->CheckSign($hmac));
        $refused = [
            'MD5 sign for an HMAC merchant (downgrade)' => [$hmac, $md5Signed],
            'HMAC sign for an MD5 merchant' => [$md5, $hmacSigned],
            'sign_type=MD5 declared to an HMAC merchant' => [$hmac, ($fields + ['sign_type' => 'MD5'])
                + ['sign' => Signer::sign($fields + ['sign_type' => 'MD5'], self::KEY, 'MD5')]],
            'forged sign' => [$md5, $fields + ['sign' => str_repeat('A', 32)]],
            'lowercase sign' => [$md5, $fields + ['sign' => strtolower($md5Signed['sign'])]],
            'loose-compare bait' => [$md5, $fields + ['sign' => '0']],
            'no sign' => [$md5, $fields],
            'wrong key' => [new \WxPayTestConfig(['key' => str_repeat('k', 32)]), $md5Signed],
        ];
        foreach ($refused as $case => [$config, $values]) {
            try {
                \WxPayResults::InitFromArray($config, $values);
                $this->fail($case);
            } catch (\WxPayException $e) {
                $this->assertSame('签名错误！', $e->getMessage(), $case);
            }
        }
    }

    public function testResultsInitFollowsTheSdkForFailAnswers(): void
    {
        $config = new \WxPayTestConfig();
        $this->assertSame(
            ['return_code' => 'FAIL', 'return_msg' => '签名错误'],
            \WxPayResults::Init($config, '<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>')
        );
        try {
            \WxPayResults::Init($config, '<xml><return_code>FAIL</return_code><appid>wx</appid></xml>');
            $this->fail('a FAIL answer with more fields');
        } catch (\WxPayException $e) {
            $this->assertSame('输入数据存在异常！', $e->getMessage());
        }
        $fields = ['return_code' => 'SUCCESS', 'result_code' => 'SUCCESS', 'prepay_id' => 'wx1'];
        $fields['sign'] = Signer::sign($fields, self::KEY, 'MD5');
        $this->assertSame($fields, \WxPayResults::Init($config, Xml::encode($fields)));
        $fields['prepay_id'] = 'wx2';
        $this->expectExceptionObject(new \WxPayException('签名错误！'));
        \WxPayResults::Init($config, Xml::encode($fields));
    }

    public function testUnsupportedSignTypeIsTheSdkError(): void
    {
        $this->expectExceptionObject(new \WxPayException('签名类型不支持！'));
        self::v1()->MakeSign(new \WxPayTestConfig(['sign_type' => 'SHA1']));
    }

    public function testNonceAndMillisecond(): void
    {
        $this->assertMatchesRegularExpression('/^[a-z0-9]{32}$/', \WxPayApi::getNonceStr());
        $this->assertMatchesRegularExpression('/^[a-z0-9]{16}$/', \WxPayApi::getNonceStr(16));
        $this->assertNotSame(\WxPayApi::getNonceStr(), \WxPayApi::getNonceStr());
        $this->assertEqualsWithDelta(microtime(true) * 1000, \WxPayApi::getMillisecond(), 1000);
    }

    /** @return iterable<string, array{string, string, array<string, string|int>, string}> */
    public static function missingFields(): iterable
    {
        $order = ['out_trade_no' => 'A1', 'body' => 'b', 'total_fee' => 1];
        $refund = ['out_trade_no' => 'A1', 'out_refund_no' => 'R1', 'total_fee' => 1, 'refund_fee' => 1];
        $micro = ['body' => 'b', 'out_trade_no' => 'A1', 'total_fee' => 1];
        $cases = [
            // name => [WxPayApi method, input class, fields set, the SDK's message]
            'unifiedOrder out_trade_no' => ['unifiedOrder', 'WxPayUnifiedOrder', ['body' => 'b'],
                '缺少统一支付接口必填参数out_trade_no！'],
            'unifiedOrder body' => ['unifiedOrder', 'WxPayUnifiedOrder', ['out_trade_no' => 'A1'],
                '缺少统一支付接口必填参数body！'],
            'unifiedOrder total_fee' => ['unifiedOrder', 'WxPayUnifiedOrder', ['out_trade_no' => 'A1', 'body' => 'b'],
                '缺少统一支付接口必填参数total_fee！'],
            'unifiedOrder trade_type' => ['unifiedOrder', 'WxPayUnifiedOrder', $order,
                '缺少统一支付接口必填参数trade_type！'],
            'unifiedOrder JSAPI openid' => ['unifiedOrder', 'WxPayUnifiedOrder', $order + ['trade_type' => 'JSAPI'],
                '统一支付接口中，缺少必填参数openid！trade_type为JSAPI时，openid为必填参数！'],
            'unifiedOrder NATIVE product_id' => ['unifiedOrder', 'WxPayUnifiedOrder', $order + ['trade_type' => 'NATIVE'],
                '统一支付接口中，缺少必填参数product_id！trade_type为JSAPI时，product_id为必填参数！'],
            'orderQuery' => ['orderQuery', 'WxPayOrderQuery', [],
                '订单查询接口中，out_trade_no、transaction_id至少填一个！'],
            'closeOrder' => ['closeOrder', 'WxPayCloseOrder', [], '订单查询接口中，out_trade_no必填！'],
            'refund order' => ['refund', 'WxPayRefund', [],
                '退款申请接口中，out_trade_no、transaction_id至少填一个！'],
            'refund out_refund_no' => ['refund', 'WxPayRefund', ['out_trade_no' => 'A1'],
                '退款申请接口中，缺少必填参数out_refund_no！'],
            'refund total_fee' => ['refund', 'WxPayRefund', ['out_trade_no' => 'A1', 'out_refund_no' => 'R1'],
                '退款申请接口中，缺少必填参数total_fee！'],
            'refund refund_fee' => ['refund', 'WxPayRefund', ['transaction_id' => '42', 'out_refund_no' => 'R1', 'total_fee' => 1],
                '退款申请接口中，缺少必填参数refund_fee！'],
            'refund op_user_id' => ['refund', 'WxPayRefund', $refund, '退款申请接口中，缺少必填参数op_user_id！'],
            'refundQuery' => ['refundQuery', 'WxPayRefundQuery', [],
                '退款查询接口中，out_refund_no、out_trade_no、transaction_id、refund_id四个参数必填一个！'],
            'downloadBill' => ['downloadBill', 'WxPayDownloadBill', [], '对账单接口中，缺少必填参数bill_date！'],
            'micropay body' => ['micropay', 'WxPayMicroPay', [], '提交被扫支付API接口中，缺少必填参数body！'],
            'micropay out_trade_no' => ['micropay', 'WxPayMicroPay', ['body' => 'b'],
                '提交被扫支付API接口中，缺少必填参数out_trade_no！'],
            'micropay total_fee' => ['micropay', 'WxPayMicroPay', ['body' => 'b', 'out_trade_no' => 'A1'],
                '提交被扫支付API接口中，缺少必填参数total_fee！'],
            'micropay auth_code' => ['micropay', 'WxPayMicroPay', $micro, '提交被扫支付API接口中，缺少必填参数auth_code！'],
            'reverse' => ['reverse', 'WxPayReverse', [],
                '撤销订单API接口中，参数out_trade_no和transaction_id必须填写一个！'],
            'report interface_url' => ['report', 'WxPayReport', [], '接口URL，缺少必填参数interface_url！'],
            'report user_ip' => ['report', 'WxPayReport', ['interface_url' => 'u', 'return_code' => 'SUCCESS', 'result_code' => 'SUCCESS'],
                '访问接口IP，缺少必填参数user_ip！'],
            'shorturl' => ['shorturl', 'WxPayShortUrl', [], '需要转换的URL，签名用原串，传输需URL encode！'],
            'bizpayurl' => ['bizpayurl', 'WxPayBizPayUrl', [], '生成二维码，缺少必填参数product_id！'],
        ];
        yield from $cases;
    }

    /**
     * @dataProvider missingFields
     * @param array<string, string|int> $fields
     */
    #[DataProvider('missingFields')]
    public function testMissingRequiredFieldsThrowTheSdkMessage(string $method, string $class, array $fields, string $message): void
    {
        $input = new $class();
        foreach ($fields as $name => $value) {
            $input->{'Set' . ucfirst($name)}($value);
        }
        try {
            \WxPayApi::$method(new \WxPayTestConfig(), $input);
            $this->fail("$method must refuse");
        } catch (\WxPayException $e) {
            $this->assertSame($message, $e->getMessage());
            $this->assertNull($e->getPrevious(), 'refused by the compat layer, before the extension');
        }
    }

    public function testValuesTheExtensionRefusesBecomeWxPayExceptions(): void
    {
        $order = new \WxPayUnifiedOrder();
        $order->SetOut_trade_no('A1');
        $order->SetBody('b');
        $order->SetTotal_fee(0.5);
        $order->SetTrade_type('NATIVE');
        $order->SetProduct_id('p');
        $order->SetNotify_url('https://shop.example/notify');
        try {
            \WxPayApi::unifiedOrder(new \WxPayTestConfig(), $order);
            $this->fail('a fractional total_fee is refused before sending');
        } catch (\WxPayException $e) {
            $this->assertInstanceOf(\WxPay\InvalidArgumentException::class, $e->getPrevious());
            $this->assertStringContainsString('total_fee', $e->getMessage());
        }
        $order->SetTotal_fee(['x']);
        try {
            \WxPayApi::unifiedOrder(new \WxPayTestConfig(), $order);
            $this->fail('an array total_fee');
        } catch (\WxPayException $e) {
            $this->assertSame('参数total_fee的值不能是array！', $e->getMessage());
        }
        $order->SetTotal_fee(1);
        try {
            \WxPayApi::unifiedOrder(new \WxPayTestConfig(['proxy_host' => '10.0.0.1', 'proxy_port' => 3128]), $order);
            $this->fail('a proxy is not silently bypassed');
        } catch (\WxPayException $e) {
            $this->assertStringContainsString('10.0.0.1:3128', $e->getMessage());
        }
        try {
            \WxPayApi::unifiedOrder(new \WxPayTestConfig(['key' => '']), $order);
            $this->fail('no key');
        } catch (\WxPayException $e) {
            $this->assertInstanceOf(\WxPay\ConfigException::class, $e->getPrevious());
        }
    }

    public function testHelpersNeedTheShopsConfigClassOrAConfig(): void
    {
        if (class_exists('WxPayConfig', false)) {
            $this->markTestSkipped('the shop\'s WxPayConfig is loaded in this process');
        }
        $this->expectExceptionObject(new \WxPayException('缺少配置类WxPayConfig：请先 require 商户自己的 WxPay.Config.php'));
        (new \NativePay())->GetPrePayUrl('p');
    }
}
