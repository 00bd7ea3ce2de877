<?php

declare(strict_types=1);

namespace WxPay\Tests;

use PHPUnit\Framework\TestCase;
use WxPay\Tests\Support\Signature;

/** php/wxpay.stub.php declares exactly what the extension registers. */
final class StubsTest extends TestCase
{
    public function testStubMatchesTheExtension(): void
    {
        $stub = (string) file_get_contents(__DIR__ . '/../php/wxpay.stub.php');
        $declared = 0;
        foreach ((new \ReflectionExtension('wxpay'))->getClassNames() as $class) {
            $r = new \ReflectionClass($class);
            $short = $r->getShortName();
            if ($r->isInterface()) {
                // The parents it names itself, not the ones they bring (Throwable's Stringable).
                $names = $r->getInterfaceNames();
                $direct = array_filter($names, static fn ($n) => !array_filter(
                    $names,
                    static fn ($other) => $other !== $n && is_subclass_of($other, $n)
                ));
                $head = 'interface ' . $short . ' extends \\' . implode(', \\', $direct);
            } else {
                $head = ($r->isFinal() ? 'final ' : '') . 'class ' . $short
                    . ($r->getParentClass() ? ' extends ' : "\n");
            }
            $this->assertStringContainsString($head, $stub, "class $class");
            foreach ($r->getMethods() as $m) {
                if ($m->getDeclaringClass()->getName() === $class) {
                    $this->assertStringContainsString(Signature::of($m), $stub, "$class::{$m->getName()}");
                    $declared++;
                }
            }
        }
        $this->assertSame($declared, substr_count($stub, 'function '), 'the stub declares nothing extra');
    }
}
