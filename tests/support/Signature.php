<?php

declare(strict_types=1);

namespace WxPay\Tests\Support;

/** Renders a method's declaration as it must appear in php/wxpay.stub.php. */
final class Signature
{
    public static function of(\ReflectionMethod $m): string
    {
        $params = array_map(static function (\ReflectionParameter $p): string {
            $s = ($p->hasType() ? $p->getType() . ' ' : '') . '$' . $p->getName();
            if ($p->isDefaultValueAvailable()) {
                $s .= ' = ' . var_export($p->getDefaultValue(), true);
            }
            return $s;
        }, $m->getParameters());
        if ($m->getName() === '__construct' && $m->getDeclaringClass()->getName() === 'WxPay\Client') {
            $params[0] = '#[\SensitiveParameter] ' . $params[0];
        }
        $return = $m->hasReturnType() ? ': ' . $m->getReturnType() : '';
        return sprintf(
            '%s%sfunction %s(%s)%s',
            $m->isPublic() ? 'public ' : 'protected ',
            $m->isStatic() ? 'static ' : '',
            $m->getName(),
            implode(', ', $params),
            $return
        );
    }
}
