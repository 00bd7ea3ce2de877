<?php

/** Output and sanity helpers shared by bench/bench.php and bench/network.php. */

declare(strict_types=1);

function row(string $label, float $php, float $ext, float $target): void
{
    $ratio = $ext / $php;
    printf(
        "%-44s %9.2f %9.2f %7.3f  %s\n",
        $label,
        $php,
        $ext,
        $ratio,
        $target > 0 ? sprintf('(target <= %.2f: %s)', $target, $ratio <= $target ? 'met' : 'MISSED') : ''
    );
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "bench: results differ: $what\n");
        exit(1);
    }
}
