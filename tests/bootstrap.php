<?php

declare(strict_types=1);

if (!extension_loaded('wxpay')) {
    fwrite(STDERR, "The wxpay extension is not loaded: run the suite with `make test`.\n");
    exit(1);
}

require __DIR__ . '/support/Vectors.php';
require __DIR__ . '/support/Notifies.php';
require __DIR__ . '/support/Signature.php';
require __DIR__ . '/support/Mock.php';
require __DIR__ . '/support/Extension.php';
require __DIR__ . '/support/HostileBodies.php';
