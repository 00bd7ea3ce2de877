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
use WxPay\Tests\Support\HostileBodies;
use WxPay\Tests\Support\Notifies;
use WxPay\Xml;
use WxPay\XmlException;

/**
 * The catalogue of hostile or broken inputs: each one must give the documented exception
 * class and a message naming the problem — never a warning, a fatal error or a crash
 * (phpunit.xml.dist turns warnings and notices into failures).
 */
final class BadInputTest extends TestCase
{
    private static function client(array $extra = []): Client
    {
        // Nothing listens on port 9: any call that got past validation would be an HttpException.
        return new Client(Notifies::config([
            'base_url' => 'https://127.0.0.1:9',
            'timeout' => 0.5,
            'notify_url' => 'https://shop.example/notify',
        ] + $extra));
    }

    private static function notify(string $body, array $extra = []): \Closure
    {
        return fn () => self::client($extra)->parseNotify($body);
    }

    /** @return iterable<string, array{\Closure, class-string, string}> */
    public static function catalogue(): iterable
    {
        $good = Notifies::paymentFields();
        $body = Xml::encode($good);
        $xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>';
        $laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            . '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><a>&lol3;</a></xml>';

        // XML attacks and broken documents, through the notify parser.
        yield 'XXE external entity' => [self::notify($xxe), XmlException::class, 'DOCTYPE'];
        yield 'billion laughs' => [self::notify($laughs), XmlException::class, 'DOCTYPE'];
        yield 'DOCTYPE alone' => [self::notify('<!DOCTYPE xml><xml></xml>'), XmlException::class, 'DOCTYPE'];
        yield 'external DTD' => [
            self::notify('<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml/>'),
            XmlException::class,
            'DOCTYPE',
        ];
        yield 'processing instruction' => [
            self::notify('<?xml-stylesheet href="x"?>' . $body),
            XmlException::class,
            'processing instruction',
        ];
        yield 'duplicate sign' => [
            self::notify(str_replace('</xml>', '<sign>' . $good['sign'] . '</sign></xml>', $body)),
            XmlException::class,
            '<sign> appears more than once',
        ];
        yield 'duplicate total_fee' => [
            self::notify(str_replace('</xml>', '<total_fee>1</total_fee></xml>', $body)),
            XmlException::class,
            '<total_fee> appears more than once',
        ];
        yield 'nested element' => [
            self::notify(str_replace('<total_fee>', '<total_fee><fen>88</fen>', $body)),
            XmlException::class,
            'contains element <fen>',
        ];
        yield 'huge body' => [
            self::notify('<xml><a>' . str_repeat('A', 2 << 20) . '</a></xml>'),
            XmlException::class,
            'larger than the 1048576-byte limit',
        ];
        yield 'deep nesting' => [
            self::notify('<xml>' . str_repeat('<a>', 50000) . str_repeat('</a>', 50000) . '</xml>'),
            XmlException::class,
            'fields must be flat',
        ];
        yield 'invalid UTF-8' => [self::notify("<xml><a>\xc3\x28</a></xml>"), XmlException::class, 'not valid UTF-8'];
        yield 'UTF-16 BOM' => [
            self::notify("\xff\xfe" . mb_convert_encoding($body, 'UTF-16LE', 'UTF-8')),
            XmlException::class,
            'not valid UTF-8',
        ];
        yield 'GBK declared' => [
            self::notify('<?xml version="1.0" encoding="GBK"?>' . $body),
            XmlException::class,
            'only UTF-8',
        ];
        yield 'empty body' => [self::notify(''), XmlException::class, 'XML body is empty'];
        yield 'truncated body' => [self::notify(substr($body, 0, -10)), XmlException::class, 'malformed XML'];
        yield 'attribute on a field' => [
            self::notify(str_replace('<appid>', '<appid id="1">', $body)),
            XmlException::class,
            'attributes are refused',
        ];
        yield 'undefined entity' => [
            self::notify(str_replace('<attach><![CDATA[shop-7]]>', '<attach>&ent;', $body)),
            XmlException::class,
            'entity &ent; is not defined',
        ];
        yield 'NUL character' => [self::notify("<xml><a>x&#0;</a></xml>"), XmlException::class, 'malformed XML'];
        yield ']]> in text' => [
            fn () => Xml::decode('<xml><a>x]]>y</a></xml>'),
            XmlException::class,
            'XML field <a> contains "]]>" outside CDATA, which XML 1.0 (§2.4) forbids in text',
        ];
        yield ']]> in a notify field' => [
            self::notify(str_replace('<attach><![CDATA[shop-7]]>', '<attach>shop]]>7', $body)),
            XmlException::class,
            'XML field <attach> contains "]]>"',
        ];
        // The decoder takes the names the encoder writes, and no others.
        foreach (['a=b', 'a&b', '123', '-x', 'é', 'a:b'] as $name) {
            yield "field name $name" => [
                fn () => Xml::decode("<xml><$name>1</$name></xml>"),
                XmlException::class,
                "XML field name <$name> is not allowed: use letters, digits, '_', '-' or '.', starting with a letter or '_'",
            ];
        }

        // Signatures.
        yield 'lowercase sign' => [
            self::notify(Xml::encode(['sign' => strtolower($good['sign'])] + $good)),
            SignatureException::class,
            'sign does not match',
        ];
        yield 'wrong-length sign' => [
            self::notify(Xml::encode(['sign' => $good['sign'] . '00'] + $good)),
            SignatureException::class,
            'sign has 34 characters, MD5 signatures have 32',
        ];
        yield 'missing sign' => [
            self::notify(Xml::encode(array_diff_key($good, ['sign' => 1]))),
            SignatureException::class,
            'has no sign field',
        ];
        yield 'empty sign' => [
            self::notify(Xml::encode(['sign' => ''] + $good)),
            SignatureException::class,
            'has no sign field',
        ];
        yield 'magic-hash sign' => [
            self::notify(Xml::encode(['sign' => '0E' . str_repeat('1', 30)] + $good)),
            SignatureException::class,
            'sign does not match',
        ];
        yield 'sign_type downgrade (MD5 to an HMAC client)' => [
            self::notify($body, ['sign_type' => 'HMAC-SHA256']),
            SignatureException::class,
            'sign_type "MD5" in the message differs from the configured HMAC-SHA256',
        ];
        yield 'MD5 sign without sign_type to an HMAC client' => [
            self::notify(Notifies::payment('MD5', ['sign_type' => null]), ['sign_type' => 'HMAC-SHA256']),
            SignatureException::class,
            'HMAC-SHA256 signatures have 64',
        ];
        yield 'notify for another appid' => [
            self::notify(Notifies::payment('MD5', ['appid' => 'wxATTACKER'])),
            SignatureException::class,
            'appid "wxATTACKER"',
        ];
        yield 'notify for another mch_id' => [
            self::notify(Notifies::payment('MD5', ['mch_id' => '666'])),
            SignatureException::class,
            'mch_id "666"',
        ];
        yield 'notify without appid' => [
            self::notify(Notifies::payment('MD5', ['appid' => null])),
            SignatureException::class,
            'has no appid',
        ];
        yield 'notify with total_fee 0' => [
            self::notify(Notifies::payment('MD5', ['total_fee' => '0'])),
            SignatureException::class,
            'positive whole number',
        ];
        yield 'notify with fractional total_fee' => [
            self::notify(Notifies::payment('MD5', ['total_fee' => '0.88'])),
            SignatureException::class,
            'positive whole number',
        ];
        yield 'amount mismatch' => [
            fn () => self::client()->assertNotifyMatches($good, 'A1001', 8800),
            SignatureException::class,
            'total_fee 88 does not match the order\'s 8800',
        ];
        yield 'order mismatch' => [
            fn () => self::client()->assertNotifyMatches($good, 'B2002', 88),
            SignatureException::class,
            'out_trade_no "A1001"',
        ];
        yield 'return_code FAIL' => [
            self::notify(Xml::encode(['return_code' => 'FAIL', 'return_msg' => 'x'])),
            ApiException::class,
            'payment notify: return_code is not SUCCESS, and such a notify is unsigned',
        ];

        // Refund notifies.
        $refund = fn (array $outer = [], string $key = Notifies::KEY) => fn () => self::client()
            ->parseRefundNotify(Notifies::refund($key, [], $outer));
        yield 'req_info bad padding (wrong key)' => [$refund([], 'not-the-key'), SignatureException::class, 'bad PKCS#7'];
        yield 'req_info bad base64' => [$refund(['req_info' => '***']), SignatureException::class, 'not valid base64'];
        yield 'req_info bad length' => [
            $refund(['req_info' => base64_encode(str_repeat('x', 17))]),
            SignatureException::class,
            'not a positive multiple of 16',
        ];
        yield 'req_info truncated block' => [
            fn () => self::client()->parseRefundNotify(Xml::encode([
                'return_code' => 'SUCCESS', 'appid' => Notifies::APPID, 'mch_id' => Notifies::MCH_ID,
                'req_info' => base64_encode(substr(base64_decode(Xml::decode(Notifies::refund())['req_info']), 16)),
            ])),
            SignatureException::class,
            'req_info decrypted to malformed XML',
        ];
        yield 'refund notify at the payment endpoint' => [
            self::notify(Notifies::refund()),
            SignatureException::class,
            'this is a refund notify (req_info, no sign): handle it with handleRefundNotify() or parseRefundNotify()',
        ];
        yield 'payment notify at the refund endpoint' => [
            fn () => self::client()->parseRefundNotify(Notifies::payment()),
            SignatureException::class,
            'this is a payment notify (signed, no req_info): handle it with handleNotify() or parseNotify()',
        ];

        // Configuration.
        $config = fn (array $c) => fn () => new Client($c);
        yield 'config missing key' => [
            $config(['appid' => 'wx1', 'mch_id' => '1']),
            ConfigException::class,
            'config "key" is required',
        ];
        yield 'config bad sign_type' => [
            $config(Notifies::config(['sign_type' => 'SHA256'])),
            ConfigException::class,
            'must be one of MD5, HMAC-SHA256',
        ];
        yield 'config unreadable cert' => [
            $config(Notifies::config(['cert_path' => '/root/nope/cert.pem', 'key_path' => '/root/nope/key.pem'])),
            ConfigException::class,
            'cannot read "/root/nope/cert.pem"',
        ];
        yield 'config cert that is not PEM' => [
            $config(Notifies::config(['cert_path' => __FILE__, 'key_path' => __FILE__])),
            ConfigException::class,
            'cert_path',
        ];

        // Parameter values and names.
        $sign = fn (array $p) => fn () => Signer::sign($p, 'k');
        yield 'float value' => [$sign(['total_fee' => 0.01]), InvalidArgumentException::class, '"total_fee" must be a string or int, float given'];
        yield 'bool value' => [$sign(['receipt' => true]), InvalidArgumentException::class, '"receipt" must be a string or int, bool given'];
        yield 'array value' => [$sign(['attach' => ['a']]), InvalidArgumentException::class, '"attach" must be a string or int, array given'];
        yield 'object value' => [
            $sign(['body' => new \ArrayObject()]),
            InvalidArgumentException::class,
            '"body" must be a string or int, object given',
        ];
        yield 'key with =' => [$sign(['a=b' => '1']), InvalidArgumentException::class, 'parameter name "a=b" is not allowed'];
        yield 'key with &' => [$sign(['a&b' => '1']), InvalidArgumentException::class, 'parameter name "a&b" is not allowed'];
        yield 'key with NUL' => [$sign(["a\0b" => '1']), InvalidArgumentException::class, 'parameter name "a\0b" is not allowed'];
        yield 'key with NUL to encode' => [
            fn () => Xml::encode(["a\0b" => '1']),
            InvalidArgumentException::class,
            'parameter name "a\0b" is not allowed',
        ];
        yield 'non-UTF-8 key inside detail' => [
            $sign(['detail' => ['goods_detail' => [["name\xff" => 'x']]]]),
            InvalidArgumentException::class,
            "parameter \"detail\" cannot be JSON-encoded: key \"name\u{FFFD}\" is not UTF-8",
        ];
        yield 'control character in a value' => [
            fn () => Xml::encode(['body' => "a\x1bb"]),
            InvalidArgumentException::class,
            'control character U+001B',
        ];

        // Calls refused before anything is sent.
        $order = ['body' => 'x', 'out_trade_no' => 'A1', 'total_fee' => 1, 'trade_type' => 'NATIVE', 'product_id' => 'p'];
        $unified = fn (array $p) => fn () => self::client()->unifiedOrder($p);
        yield 'total_fee 0' => [$unified(['total_fee' => 0] + $order), InvalidArgumentException::class, 'total_fee'];
        yield 'negative total_fee' => [$unified(['total_fee' => -5] + $order), InvalidArgumentException::class, 'total_fee'];
        yield 'bad out_trade_no' => [
            $unified(['out_trade_no' => 'A 1; DROP'] + $order),
            InvalidArgumentException::class,
            'out_trade_no',
        ];
        yield 'JSAPI without openid' => [
            $unified(['trade_type' => 'JSAPI'] + $order),
            InvalidArgumentException::class,
            'openid',
        ];
        yield 'missing body' => [
            $unified(array_diff_key($order, ['body' => 1])),
            InvalidArgumentException::class,
            'body',
        ];
    }

    /** @dataProvider catalogue */
    #[DataProvider('catalogue')]
    public function testHostileInputIsRefusedCleanly(\Closure $call, string $class, string $message): void
    {
        try {
            $call();
            $this->fail("no exception; expected $class");
        } catch (\Throwable $e) {
            $this->assertInstanceOf($class, $e, get_class($e) . ': ' . $e->getMessage());
            $this->assertStringContainsString($message, $e->getMessage());
            $this->assertStringNotContainsString(Notifies::KEY, (string) $e);
        }
    }

    /** @return iterable<string, array{string, array<string, mixed>}> */
    public static function hostileBodies(): iterable
    {
        foreach (HostileBodies::shapes() + HostileBodies::refundShapes() as $shape => $case) {
            yield $shape => [$shape, $case];
        }
    }

    /**
     * Issue 10: 1 MiB of distinct empty fields took 41 s in parseNotify. Every hostile shape
     * of a 1 MiB body gets its answer from Xml::decode, parseNotify and parseRefundNotify.
     * How fast, in a release build, is `make hostile` (bench/hostile.php): under 50 ms each.
     *
     * @dataProvider hostileBodies
     */
    #[DataProvider('hostileBodies')]
    public function testOneMibBodiesOfEveryHostileShapeGetTheirAnswer(string $shape, array $case): void
    {
        $body = $case['body'];
        $this->assertLessThanOrEqual(HostileBodies::MAX, strlen($body), $shape);
        $this->assertGreaterThan(HostileBodies::MAX - 8192, strlen($body), $shape);
        $client = self::client();
        $calls = [
            'decode' => fn () => count(Xml::decode($body)),
            'notify' => fn () => $client->parseNotify($body),
            'refund' => fn () => $client->parseRefundNotify($body),
        ];
        foreach (array_intersect_key($calls, $case) as $what => $call) {
            $expected = $case[$what];
            try {
                $got = $call();
                $this->assertSame($expected, $got, "$shape: $what");
            } catch (\Throwable $e) {
                $this->assertIsArray($expected, "$shape: $what threw " . get_class($e) . ': ' . $e->getMessage());
                [$class, $message] = $expected;
                $this->assertInstanceOf($class, $e, "$shape: $what: " . get_class($e) . ': ' . $e->getMessage());
                $this->assertStringContainsString($message, $e->getMessage(), "$shape: $what");
            }
        }
    }

    public function testCatalogueIsAtLeastForty(): void
    {
        $this->assertGreaterThanOrEqual(40, iterator_count($this->catalogue()));
    }
}
