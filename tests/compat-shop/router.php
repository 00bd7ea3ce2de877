<?php

/** `php -S` router for the test shop: serve the requested page as is. */

return false;
