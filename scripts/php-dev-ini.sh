#!/usr/bin/env bash
# php-dev-ini.sh DIR: writes DIR/php.ini and DIR/conf.d/ — the running PHP's own
# configuration with every line that loads wxpay left out — so that the development targets
# (PHPRC=DIR PHP_INI_SCAN_DIR=DIR/conf.d php -d extension=target/…/libwxpay.so) load the
# freshly built extension, and only it, whether or not wxpay is installed system-wide.
set -euo pipefail

dir=${1:?usage: php-dev-ini.sh DIR}
PHP=${PHP:-php}
# Matches `extension=wxpay`, `extension = "/path/libwxpay.so"`, `zend_extension=…wxpay.so`.
loads_wxpay='^[[:space:]]*(zend_)?extension[[:space:]]*=[[:space:]]*"?([^"]*/)?(lib)?wxpay(\.so)?"?[[:space:]]*(;.*)?$'

rm -rf "$dir"
mkdir -p "$dir/conf.d"
main=$(env -u PHPRC -u PHP_INI_SCAN_DIR "$PHP" -r 'echo (string) php_ini_loaded_file();')
scanned=$(env -u PHPRC -u PHP_INI_SCAN_DIR "$PHP" -r 'echo (string) php_ini_scanned_files();')
if [[ -n "$main" ]]; then
  sed -E "s|$loads_wxpay|; (left out by php-dev-ini.sh) &|" "$main" >"$dir/php.ini"
else
  : >"$dir/php.ini"
fi
skipped=0
while IFS= read -r file; do
  file=${file%,}
  [[ -n "$file" ]] || continue
  if grep -Eq "$loads_wxpay" "$file"; then
    skipped=$((skipped + 1))
  else
    ln -s "$file" "$dir/conf.d/$(basename "$file")"
  fi
done < <(tr ',' '\n' <<<"$scanned")
if ((skipped > 0)); then
  echo "php-dev-ini: left out the system-wide wxpay (${skipped} ini file(s)); the fresh build is used"
fi
