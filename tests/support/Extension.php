<?php

/**
 * The wxpay extension this PHP runs with, for tests that start another PHP with it.
 */

declare(strict_types=1);

namespace WxPay\Tests\Support;

final class Extension
{
    /** The file this PHP loaded the wxpay extension from. */
    public static function file(): ?string
    {
        foreach (file('/proc/self/maps', FILE_IGNORE_NEW_LINES) ?: [] as $line) {
            if (preg_match('#\s(/\S*wxpay\S*\.so)$#', $line, $m)) {
                return $m[1];
            }
        }
        return null;
    }

    /**
     * Runs this PHP binary with `$args` and `$stdin` on its standard input, in `$env` (this
     * process's environment when null).
     *
     * @param list<string> $args
     * @param array<string, string>|null $env
     * @return array{int, string, string} exit code, output, error output
     */
    public static function runPhp(array $args, string $stdin = '', ?array $env = null): array
    {
        $process = proc_open(
            [PHP_BINARY, ...$args],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start ' . PHP_BINARY);
        }
        fwrite($pipes[0], $stdin);
        fclose($pipes[0]);
        $out = (string) stream_get_contents($pipes[1]);
        $err = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $out, $err];
    }
}
