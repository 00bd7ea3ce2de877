<?php

/** Output and sanity helpers shared by bench/bench.php and bench/network.php. */

declare(strict_types=1);

/**
 * The mode this run measures (bench/run.sh sets it): the targets are judged with OPcache on
 * (no JIT); the runs without OPcache and with the tracing JIT are reported against the same
 * targets but do not decide.
 */
function bench_mode(): string
{
    return getenv('WXPAY_BENCH_MODE') ?: 'as configured';
}

function bench_mode_decides(): bool
{
    return bench_mode() === 'opcache' || getenv('WXPAY_BENCH_MODE') === false;
}

/** One line of the table; `$target` is the largest ext/PHP ratio allowed (0: none). */
function row(string $label, float $php, float $ext, float $target): void
{
    $ratio = $ext / $php;
    printf(
        "%-48s %9.2f %9.2f %7.3f  %s\n",
        $label,
        $php,
        $ext,
        $ratio,
        $target > 0 ? verdict(sprintf('<= %.2f', $target), $ratio <= $target) : ''
    );
}

/** A target line other than a ratio: `$what` measured against `$target`. */
function row_value(string $label, string $shown, string $target, bool $met): void
{
    printf("%-48s %27s  %s\n", $label, $shown, verdict($target, $met));
}

function verdict(string $target, bool $met): string
{
    $word = $met ? 'met' : 'MISSED';
    return bench_mode_decides()
        ? "(target $target: $word)"
        : "(target $target: $word; decided with opcache)";
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "bench: results differ: $what\n");
        exit(1);
    }
}

/** The 1-minute load average, to print beside the figures (the machine may be shared). */
function load_average(): string
{
    $load = sys_getloadavg();
    return $load === false ? 'unknown' : sprintf('%.2f', $load[0]);
}
