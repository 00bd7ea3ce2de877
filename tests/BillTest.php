<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Bill;
use WxPay\InvalidArgumentException;

final class BillTest extends TestCase
{
    public function testNumericColumnNamesAreIntKeysAsInPhp(): void
    {
        $bill = Bill::parse("1,name,-0,07\n`10,`cup,`a,`b\n3,total\n`1,`0.88\n");
        $row = $bill['rows'][0];
        // What the literal ['1' => …] gives: an int key for "1", string keys for "-0", "07".
        $this->assertSame([1 => '10', 'name' => 'cup', '-0' => 'a', '07' => 'b'], $row);
        $this->assertSame(['1', 'name', '-0', '07'], $bill['header']);
        $this->assertTrue(isset($row[1], $row['1']));
        $this->assertTrue(array_key_exists(1, $row) && array_key_exists('1', $row));
        $this->assertSame('10', $row['1']);
        $this->assertSame('1', $bill['summary']['3']);
        $this->assertSame('1', $bill['summary'][3]);
    }

    public function testDuplicateColumnNamesAreRefused(): void
    {
        foreach (
            [
                "a,b,a\n`1,`2,`3\ns\n`1" => 'bill line 1: header names column "a" twice',
                "a\n`1\ns,t,s\n`1,`2,`3" => 'bill line 3: header names column "s" twice',
            ] as $text => $message
        ) {
            try {
                Bill::parse($text);
                $this->fail('must throw');
            } catch (InvalidArgumentException $e) {
                $this->assertSame($message, $e->getMessage());
            }
        }
    }
}
