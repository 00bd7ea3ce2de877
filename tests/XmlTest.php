<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\InvalidArgumentException;
use WxPay\Xml;
use WxPay\XmlException;

final class XmlTest extends TestCase
{
    public function testEncodeWritesCdataInOrderAndRoundTrips(): void
    {
        $fields = [
            'b' => 'x]]>y',
            'a' => 12,
            'c' => "line\r\nnext",
            'd' => '',
            'e' => ' 1e3',
            'f' => '<&>"\'',
            'g' => '中文',
        ];
        $xml = Xml::encode($fields);
        $this->assertStringStartsWith('<xml><b><![CDATA[x]]]]><![CDATA[>y]]></b><a><![CDATA[12]]></a>', $xml);
        $this->assertSame(array_map('strval', $fields), Xml::decode($xml));
        $this->assertSame([], Xml::decode(Xml::encode([])));
    }

    public function testEncodeSkipsNullAndJsonEncodesSceneInfo(): void
    {
        $xml = Xml::encode(['a' => null, 'scene_info' => ['h5_info' => ['type' => 'Wap']]]);
        $this->assertSame('<xml><scene_info><![CDATA[{"h5_info":{"type":"Wap"}}]]></scene_info></xml>', $xml);
    }

    public function testEncodeRefusals(): void
    {
        foreach ([['a' => "bell\x07"], ['bad name' => 'x'], ['a' => 1.5], ['a' => "\xff"]] as $fields) {
            try {
                Xml::encode($fields);
                $this->fail('must throw for ' . json_encode(array_keys($fields)));
            } catch (InvalidArgumentException $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
    }

    public function testDecodeReadsCdataEntitiesAndCharRefs(): void
    {
        $xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n <a><![CDATA[x<y]]></a>\n"
            . " <b>1 &amp; 2 &#20013;</b><c/><d>  </d>\n</xml>";
        $this->assertSame(['a' => 'x<y', 'b' => '1 & 2 中', 'c' => '', 'd' => '  '], Xml::decode($xml));
    }

    /** @return iterable<string, array{string, string}> */
    public static function refusals(): iterable
    {
        yield 'empty' => ['', 'XML body is empty'];
        yield 'xxe' => [
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
            'DOCTYPE',
        ];
        yield 'billion laughs' => [
            '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]><xml><a>&b;</a></xml>',
            'DOCTYPE',
        ];
        yield 'processing instruction' => ['<?php echo 1; ?><xml/>', 'processing instruction'];
        yield 'attribute' => ['<xml><a x="1">v</a></xml>', 'attributes are refused'];
        yield 'nested' => ['<xml><a><b>1</b></a></xml>', 'field <a> contains element <b>'];
        yield 'duplicate' => ['<xml><sign>A</sign><sign>B</sign></xml>', '<sign> appears more than once'];
        yield 'unknown entity' => ['<xml><a>&nbsp;</a></xml>', 'entity &nbsp; is not defined'];
        yield 'not utf-8' => ["<xml><a>\xff</a></xml>", 'not valid UTF-8'];
        yield 'utf-16 bom' => ["\xff\xfe<\x00x\x00", 'not valid UTF-8'];
        yield 'gbk declared' => ['<?xml version="1.0" encoding="GBK"?><xml/>', 'only UTF-8'];
        yield 'control char' => ['<xml><a>&#1;</a></xml>', 'control character U+0001'];
        yield 'text outside' => ['<xml>junk<a>1</a></xml>', 'text outside any field'];
        yield 'no root' => ['<!-- c -->', 'no root element'];
        yield 'two roots' => ['<xml/><xml/>', 'second root element'];
        yield 'unclosed' => ['<xml><a>1</a>', 'malformed XML'];
        yield 'mismatched' => ['<xml><a>1</b></xml>', 'malformed XML'];
        yield 'too large' => ['<xml><a>' . str_repeat('x', 1 << 20) . '</a></xml>', 'larger than the 1048576-byte limit'];
    }

    /** @dataProvider refusals */
    #[DataProvider('refusals')]
    public function testDecodeRefusesWithAPreciseMessage(string $xml, string $expected): void
    {
        try {
            Xml::decode($xml);
            $this->fail('must throw');
        } catch (XmlException $e) {
            $this->assertStringContainsString($expected, $e->getMessage());
            $this->assertSame(__FILE__, $e->getFile());
        }
    }
}
