<?php

/**
 * 1 MiB notify bodies of every hostile shape (issue 10), with the answer each must get.
 * tests/BadInputTest.php checks the answers (`make test`); bench/hostile.php times them in a
 * release build against the 50 ms budget (`make hostile`, `make bench`).
 */

declare(strict_types=1);

namespace WxPay\Tests\Support;

use WxPay\ApiException;
use WxPay\SignatureException;
use WxPay\XmlException;

final class HostileBodies
{
    /** The decoder's size cap: every body is at most this and within 2 KiB of it. */
    public const MAX = 1 << 20;

    /** A decodable body without return_code=SUCCESS: unsigned, refused before anything else. */
    private const UNSIGNED = [ApiException::class, 'return_code is not SUCCESS, and such a notify is unsigned'];

    /** `$unit` repeated to fill the cap between `$head` and `$tail`. */
    private static function fill(string $unit, string $head, string $tail): string
    {
        $room = self::MAX - strlen($head) - strlen($tail);
        return $head . str_repeat($unit, intdiv($room, strlen($unit))) . $tail;
    }

    /** `<f0/>` … `<f{n-1}/>`. */
    private static function distinct(int $n): string
    {
        $out = '';
        for ($i = 0; $i < $n; $i++) {
            $out .= "<f$i/>";
        }
        return $out;
    }

    /**
     * Each shape's body, then what Xml::decode gives (a field count, or [exception class,
     * message]) and what Client::parseNotify and Client::parseRefundNotify throw for it
     * (with Notifies::config()).
     *
     * @return array<string, array{body: string, decode: int|array{class-string, string},
     *     notify: array{class-string, string}, refund: array{class-string, string}}>
     */
    public static function shapes(): array
    {
        $xml = static fn (string $message): array => [XmlException::class, $message];
        $refused = static fn (string $message): array => [
            'decode' => $xml($message),
            'notify' => $xml($message),
            'refund' => $xml($message),
        ];
        $read = static fn (int $fields): array => [
            'decode' => $fields,
            'notify' => self::UNSIGNED,
            'refund' => self::UNSIGNED,
        ];
        $distinctEmpty = '<xml>';
        for ($i = 0; strlen($distinctEmpty) < self::MAX - 20; $i++) {
            $distinctEmpty .= '<a' . dechex($i) . '/>';
        }
        $distinctEmpty .= '</xml>';
        $head = '<xml>' . self::distinct(1000);
        $longNames = '';
        for ($i = 0; $i < 1024; $i++) {
            $longNames .= '<' . str_repeat('n', 1016) . sprintf('%04d', $i) . '/>';
        }
        // Decodes, then the signature is checked over 1 MiB of 1000 sorted fields.
        $signedLooking = '<xml><return_code>SUCCESS</return_code><sign>' . str_repeat('0', 32) . '</sign>';
        for ($i = 0; $i < 1000; $i++) {
            $signedLooking .= sprintf('<v%04d>%s</v%04d>', $i, str_repeat('x', 1032), $i);
        }
        $signedLooking .= '</xml>';
        return [
            '174k empty fields <abc/>' => ['body' => self::fill('<abc/>', '<xml>', '</xml>')]
                + $refused('XML field <abc> appears more than once'),
            'distinct empty fields' => ['body' => $distinctEmpty] + $refused('XML has more than 1024 fields'),
            'repeats past the scanned fields' => ['body' => self::fill('<f999/>', $head, '</xml>')]
                + $refused('XML field <f999> appears more than once'),
            'deep nesting' => ['body' => '<xml>' . str_repeat('<a>', 149790) . str_repeat('</a>', 149790) . '</xml>']
                + $refused('XML field <a> contains element <a>: fields must be flat'),
            'many attributes' => ['body' => self::fill(' a="1"', '<xml><f', '/></xml>')]
                + $refused('XML attributes are refused (on <f>)'),
            'one huge field' => ['body' => self::fill('x', '<xml><a>', '</a></xml>')] + $read(1),
            'one huge CDATA section' => ['body' => self::fill('x', '<xml><a><![CDATA[', ']]></a></xml>')] + $read(1),
            'CDATA sections' => ['body' => self::fill('<![CDATA[x]]>', '<xml><a>', '</a></xml>')] + $read(1),
            'references &amp;' => ['body' => self::fill('&amp;', '<xml><a>', '</a></xml>')] + $read(1),
            'character references' => ['body' => self::fill('&#x4e2d;', '<xml><a>', '</a></xml>')] + $read(1),
            'comments' => ['body' => self::fill('<!---->', '<xml>', '</xml>')] + $read(0),
            'brackets' => ['body' => self::fill(']', '<xml><a>', '</a></xml>')] + $read(1),
            'one long name' => ['body' => self::fill('n', '<xml><', '/></xml>')] + $read(1),
            '1024 names of 1020 bytes' => ['body' => "<xml>$longNames</xml>"] + $read(1024),
            '1000 fields, signed-looking' => [
                'body' => $signedLooking,
                'decode' => 1002,
                'notify' => [SignatureException::class, 'payment notify: sign does not match'],
                'refund' => [SignatureException::class, 'refund notify has no appid'],
            ],
        ];
    }

    /**
     * Refund notifies for our merchant whose req_info (encrypted with our key, about 1 MiB
     * once base64-encoded) decrypts to a hostile document, and what parseRefundNotify throws.
     *
     * @return array<string, array{body: string, refund: array{class-string, string}}>
     */
    public static function refundShapes(): array
    {
        // Base64 and the envelope: the plaintext may take about 3/4 of the cap.
        $room = intdiv(self::MAX * 3, 4) - 4096;
        $inner = static function (string $unit) use ($room): string {
            return '<root>' . str_repeat($unit, intdiv($room - 13, strlen($unit))) . '</root>';
        };
        $body = static fn (string $plain): string => Notifies::refund(Notifies::KEY, [], [
            'req_info' => Notifies::reqInfo($plain),
        ]);
        $distinct = '<root>';
        for ($i = 0; strlen($distinct) < $room - 20; $i++) {
            $distinct .= '<a' . dechex($i) . '/>';
        }
        $damaged = static fn (string $kind): array => [
            SignatureException::class,
            "refund notify: req_info decrypted to malformed XML ($kind): forged or damaged",
        ];
        return [
            'req_info: empty fields <abc/>' => [
                'body' => $body($inner('<abc/>')),
                'refund' => $damaged('duplicate field'),
            ],
            'req_info: distinct empty fields' => [
                'body' => $body($distinct . '</root>'),
                'refund' => $damaged('too many fields'),
            ],
            'req_info: one huge field' => [
                'body' => $body('<root><out_refund_no>' . str_repeat('x', $room - 50) . '</out_refund_no></root>'),
                'refund' => [SignatureException::class, 'refund notify: req_info has no out_trade_no'],
            ],
        ];
    }
}
