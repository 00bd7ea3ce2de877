<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;
use WxPay\Client;
use WxPay\InvalidArgumentException;

/**
 * wxpay's methods take arguments as PHP's internal functions do: coercive scalar conversion
 * unless the calling file declares strict_types=1, PHP's TypeError and deprecation texts,
 * PHP's ArgumentCountError. Each case runs one of our methods and an internal function with
 * a parameter of the same type at the same position, in both typing modes, and compares
 * what happens: accepted or not, the message, the deprecations raised.
 */
final class ArgumentsTest extends TestCase
{
    private const KEY = '192006250b4c09247ec02edce69f6a2d';

    private static ?Client $client = null;

    /** Never sends: every call here is refused or answered before any request. */
    public static function client(): Client
    {
        return self::$client ??= new Client([
            'appid' => 'wx2421b1c4370ec43b',
            'mch_id' => '10000100',
            'key' => self::KEY,
            'base_url' => 'http://127.0.0.1:9',
        ]);
    }

    /** A verified-looking notify whose order is "A1" for 5 fen. */
    public static function notify(): array
    {
        return ['result_code' => 'SUCCESS', 'out_trade_no' => 'A1', 'total_fee' => '5'];
    }

    /**
     * Per declared type: our call and an internal function's, as PHP source over `$v`
     * (compiled in either typing mode), and the names that differ in their messages.
     *
     * @return array<string, array{string, string, array<string, string>}>
     */
    private static function signatures(): array
    {
        $t = self::class;
        return [
            'string #1' => [
                '\WxPay\Notify::fail($v)',
                '\strlen($v)',
                ['strlen()' => 'WxPay\Notify::fail()', '($string)' => '($message)'],
            ],
            'int #3' => [
                "\\$t::client()->assertNotifyMatches(\\$t::notify(), 'A1', \$v)",
                "\\substr_count('a', 'a', \$v)",
                ['substr_count()' => 'WxPay\Client::assertNotifyMatches()', '($offset)' => '($totalFee)'],
            ],
            'bool #3' => [
                "\\$t::client()->request('/pay/orderquery', [], \$v)",
                "\\in_array(1, [], \$v)",
                ['in_array()' => 'WxPay\Client::request()', '($strict)' => '($cert)'],
            ],
            'float #2' => [
                "\\$t::client()->micropaySettle([], \$v)",
                "\\fdiv(1.0, \$v)",
                ['fdiv()' => 'WxPay\Client::micropaySettle()', '($num2)' => '($waitSeconds)'],
            ],
            'array #1' => [
                '\WxPay\Xml::encode($v)',
                '\array_keys($v)',
                ['array_keys()' => 'WxPay\Xml::encode()', '($array)' => '($fields)'],
            ],
            'callable #2' => [
                "\\$t::client()->handleNotify('<xml/>', \$v)",
                '\usort(\WxPay\Tests\ArgumentsTest::$one, $v)',
                ['usort()' => 'WxPay\Client::handleNotify()', '($callback)' => '($onPaid)'],
            ],
        ];
    }

    /** usort()'s array: one element, so the callback is never called. */
    public static array $one = [1];

    /** @return array<string, list<mixed>> the values tried per type */
    private static function values(): array
    {
        $stringable = new class {
            public function __toString(): string
            {
                return '5';
            }
        };
        $scalars = [
            '5', '5.0', '5.5', ' 5', '5 ', '1e1', 'abc', '', 5, 0, 5.0, 5.5, NAN, true, false,
            null, [], [5], new \stdClass(), $stringable,
        ];
        return [
            'string #1' => $scalars,
            'int #3' => $scalars,
            'bool #3' => $scalars,
            'float #2' => $scalars,
            'array #1' => ['x', 5, null, true, [], ['a' => 'b'], new \ArrayObject([])],
            'callable #2' => ['nope', 'strlen', null, 5, [], ['NoSuchClass', 'f'], new \stdClass(), fn () => true],
        ];
    }

    /** @return iterable<string, array{string, bool, mixed}> */
    public static function cases(): iterable
    {
        foreach (self::values() as $signature => $values) {
            foreach ([false, true] as $strict) {
                foreach ($values as $i => $value) {
                    $label = sprintf('%s, %s, %s', $signature, $strict ? 'strict' : 'coercive', self::show($value, $i));
                    yield $label => [$signature, $strict, $value];
                }
            }
        }
    }

    /** @dataProvider cases */
    #[DataProvider('cases')]
    public function testArgumentsBehaveAsForAnInternalFunction(string $signature, bool $strict, mixed $value): void
    {
        [$ours, $theirs, $names] = self::signatures()[$signature];
        $expected = self::outcome(self::compile($theirs, $strict), $value);
        $actual = self::outcome(self::compile($ours, $strict), $value);
        $this->assertSame(self::rename($expected, $names), $actual);
    }

    public function testCoercedValuesReachTheMethod(): void
    {
        // assertNotifyMatches() passes only if it received exactly 5.
        foreach (['5', '5.0', ' 5', 5.0] as $value) {
            $call = self::compile("\\WxPay\\Tests\\ArgumentsTest::client()->assertNotifyMatches(\\WxPay\\Tests\\ArgumentsTest::notify(), 'A1', \$v)", false);
            $this->assertNull($call($value));
        }
        $call = self::compile('\WxPay\Qr::text($v)', false);
        $this->assertSame(\WxPay\Qr::text('12345'), $call(12345));
        $this->assertSame(\WxPay\Qr::text('12345'), $call($this->stringable('12345')));
    }

    public function testArgumentCountErrorsAreWordedAsPhpWordsThem(): void
    {
        foreach ([[], ['x', 'y']] as $args) {
            $this->assertSame(
                str_replace('strlen()', 'WxPay\Notify::fail()', self::thrown(fn () => \strlen(...$args))),
                self::thrown(fn () => \WxPay\Notify::fail(...$args)),
            );
        }
        $this->assertSame(
            'WxPay\Client::jsapiParams() expects exactly 1 argument, 0 given',
            self::thrown(fn () => self::client()->jsapiParams()),
        );
        $this->assertSame('Unknown named parameter $prepay', self::thrown(fn () => self::client()->jsapiParams(prepay: 'wx1')));
        $this->assertSame('Unknown named parameter $str', self::thrown(fn () => \strlen(str: 'x')));
    }

    public function testNamedArgumentsWork(): void
    {
        $params = self::client()->jsapiParams(prepayId: 'wx201410272009395522657a690389285100');
        $this->assertSame('prepay_id=wx201410272009395522657a690389285100', $params['package']);
    }

    public function testTheWholeUnifiedOrderAnswerGetsTheFix(): void
    {
        foreach (['jsapiParams', 'appParams'] as $method) {
            $this->assertSame(
                "WxPay\\Client::$method(): Argument #1 (\$prepayId) must be of type string, array given; "
                . "pass \$result['prepay_id'], not the whole unifiedOrder() answer",
                self::thrown(fn () => self::client()->$method(['return_code' => 'SUCCESS', 'prepay_id' => 'wx1'])),
            );
        }
    }

    public function testTextParametersRefuseBytesThatAreNotUtf8(): void
    {
        $cases = [
            'productId' => fn () => self::client()->nativeUrl("\xff"),
            'text' => fn () => \WxPay\Qr::svg("\xff"),
            'message' => fn () => \WxPay\Notify::fail("\xff"),
            'signType' => fn () => \WxPay\Signer::sign(['a' => '1'], self::KEY, "\xff"),
            'outTradeNo' => fn () => self::client()->assertNotifyMatches(self::notify(), "\xff", 5),
            'path' => fn () => self::client()->request("/pay/\xff", []),
            'prepayId' => fn () => self::client()->jsapiParams("\xff"),
        ];
        foreach ($cases as $param => $call) {
            try {
                $call();
                $this->fail("$param: accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertSame("$param must be valid UTF-8", $e->getMessage());
            }
        }
    }

    /**
     * Every parameter of every method and function of the extension, given a value of a
     * type it does not declare, in strict mode: PHP's TypeError text, never the binding's.
     */
    public function testEveryParameterGetsPhpsTypeError(): void
    {
        $checked = 0;
        foreach (self::everyFunction() as [$function, $callable]) {
            foreach ($function->getParameters() as $i => $parameter) {
                $type = (string) $parameter->getType();
                if ($type === 'mixed') {
                    continue;
                }
                $args = array_map(fn (\ReflectionParameter $p) => self::validFor($p), array_slice($function->getParameters(), 0, $i));
                $name = $function instanceof \ReflectionMethod
                    ? $function->class . '::' . $function->name
                    : $function->name;
                [$args[], $rule] = match ($type) {
                    'array' => ['not an array', 'must be of type array, string given'],
                    'callable' => [5, 'must be a valid callback, no array or string given'],
                    default => [[], "must be of type $type, array given"],
                };
                // A known slip's fix may follow PHP's text.
                $this->assertStringStartsWith(
                    sprintf('%s(): Argument #%d ($%s) %s', $name, $i + 1, $parameter->name, $rule),
                    self::thrown(fn () => $callable(...$args)),
                    "$name #" . ($i + 1),
                );
                $checked++;
            }
        }
        $this->assertGreaterThan(40, $checked);
    }

    /** @return iterable<array{\ReflectionFunctionAbstract, callable}> */
    private static function everyFunction(): iterable
    {
        $extension = new \ReflectionExtension('wxpay');
        foreach ($extension->getClasses() as $class) {
            foreach ($class->getMethods() as $method) {
                if ($method->getDeclaringClass()->getName() !== $class->getName() || $method->getNumberOfParameters() === 0) {
                    continue;
                }
                if ($method->isConstructor()) {
                    yield [$method, fn (...$args) => new ($class->getName())(...$args)];
                } elseif ($method->isStatic()) {
                    yield [$method, [$class->getName(), $method->getName()]];
                } elseif ($class->getName() === Client::class) {
                    yield [$method, [self::client(), $method->getName()]];
                }
            }
        }
        foreach ($extension->getFunctions() as $function) {
            if ($function->getNumberOfParameters() > 0 && $function->getName() !== 'WxPay\Debug\panic') {
                yield [$function, $function->getName()];
            }
        }
    }

    private static function validFor(\ReflectionParameter $parameter): mixed
    {
        return match ((string) $parameter->getType()) {
            'array' => [],
            'int' => 1,
            'float' => 1.0,
            'bool' => false,
            'callable' => fn () => null,
            default => 'x',
        };
    }

    private static function compile(string $expression, bool $strict): \Closure
    {
        return eval(($strict ? 'declare(strict_types=1); ' : '') . "return static fn (\$v) => $expression;");
    }

    /** @return array{string, list<string>} "accepted" or the TypeError text; the deprecations */
    private static function outcome(\Closure $call, mixed $value): array
    {
        $raised = [];
        set_error_handler(function (int $level, string $message) use (&$raised): bool {
            $raised[] = $message;
            return true;
        });
        try {
            $call($value);
            $result = 'accepted';
        } catch (\TypeError $e) {
            $result = get_class($e) . ': ' . $e->getMessage();
        } catch (\WxPay\ExceptionInterface | \ValueError | \DivisionByZeroError) {
            // The argument was taken; what the method then made of it is not the question.
            $result = 'accepted';
        } finally {
            restore_error_handler();
        }
        return [$result, $raised];
    }

    /** @param array{string, list<string>} $outcome */
    private static function rename(array $outcome, array $names): array
    {
        return [strtr($outcome[0], $names), array_map(fn (string $m) => strtr($m, $names), $outcome[1])];
    }

    private static function thrown(callable $call): string
    {
        try {
            $call();
        } catch (\Throwable $e) {
            return $e->getMessage();
        }
        return 'nothing thrown';
    }

    private function stringable(string $text): object
    {
        return new class ($text) {
            public function __construct(private string $text)
            {
            }

            public function __toString(): string
            {
                return $this->text;
            }
        };
    }

    private static function show(mixed $value, int $i): string
    {
        return match (true) {
            is_object($value) => $value instanceof \Closure ? 'Closure' : get_class($value) . " #$i",
            is_float($value) && is_nan($value) => 'NAN',
            default => var_export($value, true),
        };
    }
}
