<?php

declare(strict_types=1);

namespace WxPay\Tests\Support;

/** Loads the checked vectors in tests/vectors/ (a copy of the team's shared vectors). */
final class Vectors
{
    /** @return list<array<string, mixed>> */
    public static function load(string $file): array
    {
        $path = __DIR__ . '/../vectors/' . $file;
        $doc = json_decode((string) file_get_contents($path), true, 16, JSON_THROW_ON_ERROR);
        return $doc['vectors'];
    }

    /** @return array<string, array<string, mixed>> vectors keyed by id */
    public static function byId(string $file): array
    {
        $out = [];
        foreach (self::load($file) as $vector) {
            $out[$vector['id']] = $vector;
        }
        return $out;
    }
}
