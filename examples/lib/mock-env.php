<?php

/**
 * Reads wxpay-mock's JSON ready line and prints shell `export` lines for the examples:
 *   eval "$(php examples/lib/mock-env.php ready.json)"
 */

declare(strict_types=1);

$line = trim((string) file_get_contents($argv[1] ?? 'php://stdin'));
$ready = json_decode(strtok($line, "\n"), true, 16, JSON_THROW_ON_ERROR);
if (!is_array($ready) || ($ready['event'] ?? '') !== 'ready') {
    fwrite(STDERR, "not a wxpay-mock ready line: $line\n");
    exit(1);
}
$map = [
    'WXPAY_BASE_URL' => 'url',
    'WXPAY_CA_PATH' => 'ca_path',
    'WXPAY_CLIENT_CERT_PATH' => 'cert_path',
    'WXPAY_CLIENT_KEY_PATH' => 'key_path',
    'WXPAY_APPID' => 'appid',
    'WXPAY_MCH_ID' => 'mch_id',
    'WXPAY_KEY' => 'key',
];
foreach ($map as $var => $field) {
    if (!isset($ready[$field]) || !is_scalar($ready[$field])) {
        fwrite(STDERR, "ready line has no $field\n");
        exit(1);
    }
    echo 'export ', $var, '=', escapeshellarg((string) $ready[$field]), "\n";
}
