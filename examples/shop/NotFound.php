<?php

declare(strict_types=1);

namespace WxPayExample;

/** An unknown order or page: answered with HTTP 404. */
final class NotFound extends \RuntimeException
{
}
