<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\ConfigException;
use WxPay\Exception;
use WxPay\HttpException;
use WxPay\InvalidArgumentException;
use WxPay\SignatureException;
use WxPay\Signer;
use WxPay\XmlException;

final class ExceptionsTest extends TestCase
{
    /** @return iterable<string, array{class-string}> */
    public static function classes(): iterable
    {
        foreach (
            [ConfigException::class, InvalidArgumentException::class, XmlException::class,
            SignatureException::class, HttpException::class, ApiException::class] as $class
        ) {
            yield $class => [$class];
        }
    }

    /** @dataProvider classes */
    #[DataProvider('classes')]
    public function testHierarchyAndConstruction(string $class): void
    {
        $line = __LINE__ + 1;
        $e = new $class('message', 7);
        $this->assertInstanceOf(Exception::class, $e);
        $this->assertInstanceOf(\RuntimeException::class, $e);
        $this->assertSame('message', $e->getMessage());
        $this->assertSame(7, $e->getCode());
        $this->assertSame(__FILE__, $e->getFile());
        $this->assertSame($line, $e->getLine());
        // Round trip through serialize(); trace arguments are left out, as PHPUnit's own
        // frames carry closures, which cannot be serialized.
        $previous = ini_set('zend.exception_ignore_args', '1');
        $plain = new $class('message', 7);
        ini_set('zend.exception_ignore_args', (string) $previous);
        $this->assertEquals($plain->getMessage(), unserialize(serialize($plain))->getMessage());
        $this->assertInstanceOf($class, unserialize(serialize($plain)));
    }

    public function testBaseExtendsRuntimeException(): void
    {
        $this->assertSame(\RuntimeException::class, get_parent_class(Exception::class));
        $this->assertFalse((new \ReflectionClass(Exception::class))->isFinal());
    }

    public function testThrownFromTheExtensionWithCallerFileLineAndTrace(): void
    {
        try {
            $this->callSign();
            $this->fail('must throw');
        } catch (InvalidArgumentException $e) {
            $this->assertSame(__FILE__, $e->getFile());
            $this->assertSame($this->signLine, $e->getLine());
            $this->assertSame('WxPay\Signer', $e->getTrace()[0]['class']);
            $this->assertSame('callSign', $e->getTrace()[1]['function']);
        }
    }

    public function testGettersHaveDefaultsAndSubclassesWork(): void
    {
        $api = new class ('x') extends ApiException {
            public function __construct(string $m)
            {
                parent::__construct($m);
                $this->errCode = 'SYSTEMERROR';
                $this->retryable = true;
            }
        };
        $this->assertSame('SYSTEMERROR', $api->getErrCode());
        $this->assertTrue($api->isRetryable());
        $this->assertSame('', $api->getErrCodeDes());
        $this->assertSame('', $api->getReturnMsg());
        $this->assertSame([], $api->getResponse());
        $http = new HttpException('down');
        $this->assertFalse($http->isTimeout());
        $this->assertNull($http->getStatus());
    }

    private int $signLine = 0;

    private function callSign(): void
    {
        $this->signLine = __LINE__ + 1;
        Signer::sign(['a' => 1.5], 'k');
    }
}
