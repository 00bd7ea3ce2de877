<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\ApiException;
use WxPay\ConfigException;
use WxPay\Exception;
use WxPay\ExceptionInterface;
use WxPay\HttpException;
use WxPay\InvalidArgumentException;
use WxPay\OutcomeUnknownException;
use WxPay\SignatureException;
use WxPay\Signer;
use WxPay\XmlException;

final class ExceptionsTest extends TestCase
{
    /** @return iterable<string, array{class-string, class-string}> class and its family's SPL parent */
    public static function classes(): iterable
    {
        foreach ([InvalidArgumentException::class, ConfigException::class] as $class) {
            yield $class => [$class, \InvalidArgumentException::class];
        }
        foreach (
            [Exception::class, XmlException::class, SignatureException::class, HttpException::class,
            ApiException::class, OutcomeUnknownException::class] as $class
        ) {
            yield $class => [$class, \RuntimeException::class];
        }
    }

    /** @dataProvider classes */
    #[DataProvider('classes')]
    public function testHierarchyAndConstruction(string $class, string $family): void
    {
        $line = __LINE__ + 1;
        $e = new $class('message', 7);
        $this->assertInstanceOf(ExceptionInterface::class, $e);
        $this->assertTrue(is_subclass_of($class, $family), "$class is a $family");
        $this->assertSame(
            $family === \RuntimeException::class,
            $e instanceof Exception,
            'WxPay\Exception is the runtime family only'
        );
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

    public function testShapeOfTheHierarchy(): void
    {
        $interface = new \ReflectionClass(ExceptionInterface::class);
        $this->assertTrue($interface->isInterface());
        $this->assertSame([\Throwable::class, \Stringable::class], $interface->getInterfaceNames());
        $this->assertSame(\RuntimeException::class, get_parent_class(Exception::class));
        $this->assertFalse((new \ReflectionClass(Exception::class))->isFinal());
        $this->assertSame(\InvalidArgumentException::class, get_parent_class(InvalidArgumentException::class));
        $this->assertSame(\InvalidArgumentException::class, get_parent_class(ConfigException::class));
        $this->assertSame(Exception::class, get_parent_class(OutcomeUnknownException::class));
        $this->assertFalse(is_subclass_of(OutcomeUnknownException::class, ApiException::class));
    }

    public function testSplCatchBlocksWork(): void
    {
        try {
            Signer::sign(['a' => 1.5], 'k');
            $this->fail('must throw');
        } catch (\InvalidArgumentException $e) {
            $this->assertInstanceOf(InvalidArgumentException::class, $e);
            $this->assertStringContainsString('a', $e->getMessage());
        }
        try {
            new \WxPay\Client(['appid' => 'wx1']);
            $this->fail('must throw');
        } catch (\InvalidArgumentException $e) {
            $this->assertInstanceOf(ConfigException::class, $e);
        }
        try {
            \WxPay\Xml::decode('<!DOCTYPE x><xml/>');
            $this->fail('must throw');
        } catch (\RuntimeException $e) {
            $this->assertInstanceOf(XmlException::class, $e);
        }
    }

    public function testExceptionInterfaceCatchesEverythingWxPayThrows(): void
    {
        $throws = [
            fn () => Signer::sign(['a' => 1.5], 'k'),
            fn () => new \WxPay\Client([]),
            fn () => \WxPay\Xml::decode('not xml'),
        ];
        foreach ($throws as $i => $throw) {
            try {
                $throw();
                $this->fail("case $i must throw");
            } catch (ExceptionInterface $e) {
                $this->assertStringStartsWith('WxPay\\', get_class($e));
            }
        }
    }

    public function testOutcomeUnknownGettersAndNeverRetryable(): void
    {
        $e = new class ('x') extends OutcomeUnknownException {
            /** A subclass saying "retry" changes nothing: isRetryable() reads no property. */
            public bool $retryable = true;

            public function __construct(string $m)
            {
                parent::__construct($m);
                $this->call = 'reverse';
                $this->outTradeNo = 'A1';
                $this->responses = ['reverse' => ['err_code' => 'SYSTEMERROR']];
            }
        };
        $this->assertSame('reverse', $e->getCall());
        $this->assertSame('A1', $e->getOutTradeNo());
        $this->assertSame(['reverse' => ['err_code' => 'SYSTEMERROR']], $e->getResponses());
        $this->assertFalse($e->isRetryable());
        $plain = new OutcomeUnknownException('y');
        $this->assertSame('', $plain->getCall());
        $this->assertSame('', $plain->getOutTradeNo());
        $this->assertSame([], $plain->getResponses());
        $this->assertFalse($plain->isRetryable());
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
        $this->assertSame('', $api->getCall());
        $this->assertSame('', $api->getErrCodeDes());
        $this->assertSame('', $api->getReturnMsg());
        $this->assertSame([], $api->getResponse());
        $http = new HttpException('down');
        $this->assertFalse($http->isTimeout());
        $this->assertNull($http->getStatus());
    }

    /**
     * Every property-backed getter: its class, the protected property it reads, a value of
     * the wrong type, that value's PHP type name, the declared return type and the default.
     *
     * @return iterable<string, array{class-string, string, string, mixed, string, string, mixed}>
     */
    public static function getters(): iterable
    {
        foreach (['getCall' => 'call', 'getReturnCode' => 'returnCode', 'getReturnMsg' => 'returnMsg',
            'getResultCode' => 'resultCode', 'getErrCode' => 'errCode', 'getErrCodeDes' => 'errCodeDes'] as $getter => $property) {
            yield "ApiException::$getter" => [ApiException::class, $getter, $property, 10003, 'int', 'string', ''];
        }
        yield 'ApiException::isRetryable' => [ApiException::class, 'isRetryable', 'retryable', 'yes', 'string', 'bool', false];
        yield 'ApiException::getResponse' => [ApiException::class, 'getResponse', 'response', 'x', 'string', 'array', []];
        yield 'HttpException::isTimeout' => [HttpException::class, 'isTimeout', 'timeout', 1, 'int', 'bool', false];
        yield 'HttpException::getStatus' => [HttpException::class, 'getStatus', 'status', '502', 'string', '?int', null];
        yield 'OutcomeUnknownException::getCall' => [OutcomeUnknownException::class, 'getCall', 'call', 1.5, 'float', 'string', ''];
        yield 'OutcomeUnknownException::getOutTradeNo' => [
            OutcomeUnknownException::class, 'getOutTradeNo', 'outTradeNo', ['A1'], 'array', 'string', '',
        ];
        yield 'OutcomeUnknownException::getResponses' => [
            OutcomeUnknownException::class, 'getResponses', 'responses', new \stdClass(), 'stdClass', 'array', [],
        ];
    }

    /**
     * A subclass may store anything in the protected properties; the getters still keep
     * their declared return types: null (or unset) gives the default, any other wrong type
     * is the \TypeError PHP throws for a user method's wrong return value.
     *
     * @dataProvider getters
     */
    #[DataProvider('getters')]
    public function testGettersHonourTheirDeclaredTypes(
        string $class,
        string $getter,
        string $property,
        mixed $wrong,
        string $wrongType,
        string $declared,
        mixed $default,
    ): void {
        $e = self::subclassOf($class);
        // Bound to the subclass: its own code writes the inherited protected property.
        $set = \Closure::bind(function (mixed $value) use ($property): void {
            $this->$property = $value;
        }, $e, get_class($e));
        $set($wrong);
        try {
            $e->$getter();
            $this->fail("$getter() returned a $wrongType");
        } catch (\TypeError $t) {
            $this->assertSame("$class::$getter(): Return value must be of type $declared, $wrongType returned", $t->getMessage());
        }
        $set(null);
        $this->assertSame($default, $e->$getter());
        \Closure::bind(function () use ($property) {
            unset($this->$property);
        }, $e, get_class($e))();
        $this->assertSame($default, $e->$getter());
    }

    private static function subclassOf(string $class): \Throwable
    {
        return match ($class) {
            ApiException::class => new class ('x') extends ApiException {
            },
            HttpException::class => new class ('x') extends HttpException {
            },
            OutcomeUnknownException::class => new class ('x') extends OutcomeUnknownException {
            },
        };
    }

    private int $signLine = 0;

    private function callSign(): void
    {
        $this->signLine = __LINE__ + 1;
        Signer::sign(['a' => 1.5], 'k');
    }
}
