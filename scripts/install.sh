#!/usr/bin/env bash
# `make install` / `make uninstall` for the PHP that php-config names (PHP_CONFIG=php-config8.4
# picks another one). With Debian's layout (/etc/php/X.Y/mods-available + phpenmod) the
# extension is enabled for every SAPI; elsewhere the exact ini line to add is printed.
#   install.sh install PATH/TO/libwxpay.so | install.sh uninstall
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PHP_CONFIG=${PHP_CONFIG:-php-config}
command -v "$PHP_CONFIG" >/dev/null || { echo "$PHP_CONFIG not found (apt-get install php-dev)" >&2; exit 1; }
ext_dir=$("$PHP_CONFIG" --extension-dir)
version=$("$PHP_CONFIG" --version | cut -d. -f1,2)
php_bin=$("$PHP_CONFIG" --php-binary)
mods=/etc/php/$version/mods-available
debian_layout() { [[ -d $mods ]] && command -v phpenmod >/dev/null; }

case "${1:-}" in
  install)
    so=${2:?usage: install.sh install PATH/TO/libwxpay.so}
    install -D -m 0644 "$so" "$ext_dir/wxpay.so"
    echo "installed $ext_dir/wxpay.so (PHP $version)"
    if debian_layout; then
      install -m 0644 "$ROOT/php/wxpay.ini" "$mods/wxpay.ini"
      phpenmod -v "$version" -s ALL wxpay
      echo "enabled for every PHP $version SAPI (phpenmod); restart php$version-fpm to load it there"
    else
      echo "add this line to $("$php_bin" -r 'echo php_ini_loaded_file() ?: "your php.ini";'):"
      echo "  extension=wxpay.so"
    fi
    "$php_bin" --ri wxpay | sed -n '1,4p'
    ;;
  uninstall)
    if debian_layout && [[ -f $mods/wxpay.ini ]]; then
      phpdismod -v "$version" -s ALL wxpay
      rm -f "$mods/wxpay.ini"
      echo "disabled for every PHP $version SAPI and removed $mods/wxpay.ini"
    else
      echo "remove the line 'extension=wxpay.so' from your php.ini if you added one"
    fi
    rm -f "$ext_dir/wxpay.so"
    echo "removed $ext_dir/wxpay.so"
    ;;
  *)
    echo "usage: install.sh install PATH/TO/libwxpay.so | install.sh uninstall" >&2
    exit 2
    ;;
esac
