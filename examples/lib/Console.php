<?php

declare(strict_types=1);

namespace WxPayExample;

/** Narration for the terminal walk-through. */
final class Console
{
    private int $step = 0;
    private string $title = '';
    private bool $color;

    public function __construct()
    {
        $this->color = stream_isatty(STDOUT) && getenv('NO_COLOR') === false;
    }

    /** Every PHP warning or notice becomes an exception: a walk-through must run clean. */
    public static function failOnDiagnostics(): void
    {
        set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
            throw new \ErrorException($message, 0, $severity, $file, $line);
        });
    }

    /** Fails the walk-through with `$failure` unless `$condition` holds. */
    public function check(bool $condition, string $failure): void
    {
        if (!$condition) {
            throw new \RuntimeException($failure);
        }
    }

    public function step(string $title): void
    {
        $this->step++;
        $this->title = $title;
        echo "\n", $this->paint('1;36', sprintf('── Step %d: %s ', $this->step, $title)), "\n";
    }

    public function say(string $text): void
    {
        echo '   ', $text, "\n";
    }

    /** @param array<string, mixed> $fields */
    public function fields(array $fields, ?array $only = null): void
    {
        $keys = $only ?? array_keys($fields);
        $width = max(array_map(self::width(...), $keys) ?: [0]);
        foreach ($keys as $key) {
            if (!array_key_exists($key, $fields)) {
                continue;
            }
            $value = $fields[$key];
            $text = is_scalar($value) || $value === null ? var_export($value, true) : json_encode($value);
            $pad = str_repeat(' ', $width - self::width((string) $key));
            printf("     %s%s  %s\n", $key, $pad, is_string($value) ? $value : $text);
        }
    }

    public function ok(string $text): void
    {
        echo '   ', $this->paint('32', '✔ ' . $text), "\n";
    }

    public function error(string $text): void
    {
        $where = $this->step > 0 ? sprintf('step %d (%s) failed: ', $this->step, $this->title) : '';
        fwrite(STDERR, "\n" . $this->paint('1;31', '✘ ' . $where . $text) . "\n");
    }

    public function block(string $text): void
    {
        foreach (explode("\n", rtrim($text, "\n")) as $line) {
            echo '     ', $line, "\n";
        }
    }

    /** Terminal columns: CJK characters take two. */
    private static function width(string $text): int
    {
        return function_exists('mb_strwidth') ? mb_strwidth($text, 'UTF-8') : strlen($text);
    }

    private function paint(string $code, string $text): string
    {
        return $this->color ? "\033[{$code}m{$text}\033[0m" : $text;
    }
}
