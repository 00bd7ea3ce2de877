<?php

/**
 * Summarises a valgrind memcheck log for soak/leaks.sh:
 *   php soak/valgrind-report.php <valgrind.log> [out.json]
 * Every loss record (and every memcheck error) is attributed to wxpay when one of its frames
 * is in libwxpay*.so or in Rust source (`.rs`): the only Rust code in the process is the
 * extension. Prints a summary; exit 1 when a definite/indirect/possible loss or a memcheck
 * error is attributable to wxpay.
 */

declare(strict_types=1);

$log = (string) file_get_contents($argv[1]);
$out = $argv[2] ?? null;
$lines = preg_replace('/^==\d+== ?/m', '', $log);
$blocks = preg_split("/\n\s*\n/", (string) $lines) ?: [];

$isWxpay = static fn (string $b): bool => (bool) preg_match('/libwxpay[^\s)]*\.so|\.rs:\d+\)|\(in [^)]*wxpay[^)]*\)/', $b);
$kinds = [];
$errors = ['total' => 0, 'wxpay' => 0, 'samples' => []];
$samples = [];
foreach ($blocks as $b) {
    $b = trim($b);
    if (preg_match('/^([\d,]+) (?:\(([\d,]+) direct, ([\d,]+) indirect\) )?bytes in ([\d,]+) blocks are (definitely lost|indirectly lost|possibly lost|still reachable) in loss record/', $b, $m)) {
        $bytes = (int) str_replace(',', '', $m[1]);
        $n = (int) str_replace(',', '', $m[4]);
        $kind = $m[5];
        $who = $isWxpay($b) ? 'wxpay' : 'other';
        $kinds[$kind][$who]['bytes'] = ($kinds[$kind][$who]['bytes'] ?? 0) + $bytes;
        $kinds[$kind][$who]['blocks'] = ($kinds[$kind][$who]['blocks'] ?? 0) + $n;
        $kinds[$kind][$who]['records'] = ($kinds[$kind][$who]['records'] ?? 0) + 1;
        if ($who === 'wxpay' && count($samples[$kind] ?? []) < 6) {
            $frames = array_slice(array_filter(explode("\n", $b), fn ($l) => preg_match('/^\s+(at|by) /', $l)), 0, 14);
            $samples[$kind][] = trim(strtok($b, "\n")) . "\n" . implode("\n", array_map('trim', $frames));
        }
    } elseif (preg_match('/^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap)/', $b)) {
        $errors['total']++;
        if ($isWxpay($b)) {
            $errors['wxpay']++;
            if (count($errors['samples']) < 5) {
                $errors['samples'][] = implode("\n", array_slice(explode("\n", $b), 0, 16));
            }
        }
    }
}
preg_match('/LEAK SUMMARY:\s*\n(.*?)\n\s*\n/s', (string) $lines, $ls);
preg_match('/ERROR SUMMARY: (\d+) errors from (\d+) contexts \(suppressed: (\d+)/', (string) $lines, $es);
$bad = 0;
foreach (['definitely lost', 'indirectly lost'] as $k) {
    $bad += $kinds[$k]['wxpay']['bytes'] ?? 0;
}
$summary = [
    'leak_summary' => isset($ls[1]) ? array_map('trim', explode("\n", trim($ls[1]))) : [],
    'error_summary' => isset($es[1]) ? ['errors' => (int) $es[1], 'contexts' => (int) $es[2], 'suppressed' => (int) $es[3]] : null,
    'by_kind' => $kinds,
    'memcheck_errors' => $errors,
    'wxpay_lost_bytes' => $bad,
    'wxpay_possibly_lost_bytes' => $kinds['possibly lost']['wxpay']['bytes'] ?? 0,
    'wxpay_samples' => $samples,
    'verdict' => $bad === 0 && $errors['wxpay'] === 0 ? 'no leak or memory error attributable to wxpay' : 'wxpay leaks or memory errors found',
];
if ($out !== null) {
    file_put_contents($out, json_encode($summary, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
}
echo implode("\n", $summary['leak_summary']), "\n";
if ($summary['error_summary'] !== null) {
    vprintf("memcheck errors: %d from %d contexts (suppressed %d)\n", $summary['error_summary']);
}
foreach ($kinds as $kind => $who) {
    foreach ($who as $w => $v) {
        printf("  %-16s %-6s %10d bytes in %6d blocks (%d records)\n", $kind, $w, $v['bytes'], $v['blocks'], $v['records']);
    }
}
printf("memcheck errors with a wxpay frame: %d\n", $errors['wxpay']);
echo $summary['verdict'], "\n";
exit($bad === 0 && $errors['wxpay'] === 0 ? 0 : 1);
