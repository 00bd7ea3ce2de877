<?php

declare(strict_types=1);

namespace WxPay\Tests\Support;

/** Renders a method's declaration as it must appear in php/wxpay.stub.php. */
final class Signature
{
    public static function of(\ReflectionMethod $m): string
    {
        $params = array_map(static function (\ReflectionParameter $p): string {
            $s = ($p->getAttributes(\SensitiveParameter::class) ? '#[\SensitiveParameter] ' : '')
                . ($p->hasType() ? $p->getType() . ' ' : '') . '$' . $p->getName();
            if ($p->isDefaultValueAvailable()) {
                $s .= ' = ' . var_export($p->getDefaultValue(), true);
            }
            return $s;
        }, $m->getParameters());
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
