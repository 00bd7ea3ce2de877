#!/usr/bin/env bash
# `make deb`: binary Debian packages from the release build, into dist/:
#   php<X.Y>-wxpay_<version>-1_<arch>.deb  the extension for the PHP that PHP_CONFIG names, its
#                                         mods-available ini (enabled with phpenmod for every
#                                         SAPI on install, disabled on removal), the examples
#                                         and the official-SDK compatibility layer (php/compat)
#   wxpay-mock_<version>-1_<arch>.deb      the simulator
# Built with dpkg-deb from the tree laid out here (no debhelper); dependencies come from
# dpkg-shlibdeps plus the PHP API version (phpapi-YYYYMMDD, provided by php<X.Y>-cli/-fpm).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PHP_CONFIG=${PHP_CONFIG:-php-config}
DIST=$ROOT/dist
EXT=$ROOT/target/release/libwxpay.so
MOCK=$ROOT/target/release/wxpay-mock
[[ -f $EXT && -x $MOCK ]] || { echo "release build missing: run make deb (it builds first)" >&2; exit 1; }
command -v dpkg-shlibdeps >/dev/null || { echo "dpkg-dev is missing: apt-get install dpkg-dev" >&2; exit 1; }

version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")-1
arch=$(dpkg --print-architecture)
php_version=$("$PHP_CONFIG" --version | cut -d. -f1,2)
phpapi=$("$PHP_CONFIG" --phpapi)
ext_dir=$("$PHP_CONFIG" --extension-dir)
php_pkg=php$php_version-wxpay
maintainer="wxpay developers <wxpay@localhost>"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shlibs FILE: the library dependencies of one binary, as dpkg-shlibdeps works them out.
shlibs() {
  mkdir -p "$WORK/shlibs/debian"
  printf 'Source: wxpay\n\nPackage: wxpay\nArchitecture: any\n' >"$WORK/shlibs/debian/control"
  (cd "$WORK/shlibs" && dpkg-shlibdeps -O "$1" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

copyright() {
  cat <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: wxpay

Files: *
Copyright: the wxpay developers
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this
 software and associated documentation files (the "Software"), to deal in the Software
 without restriction, including without limitation the rights to use, copy, modify, merge,
 publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
 to whom the Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
 INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
 PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
 FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
 OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.
EOF
}

# package NAME TREE DEPENDS DESCRIPTION…: control file, md5sums, dpkg-deb.
package() {
  local name=$1 tree=$2 depends=$3 summary=$4 body=$5
  mkdir -p "$tree/DEBIAN" "$tree/usr/share/doc/$name"
  copyright >"$tree/usr/share/doc/$name/copyright"
  (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$tree/DEBIAN/md5sums"
  cat >"$tree/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$tree" | cut -f1)
Depends: $depends
Section: php
Priority: optional
Description: $summary
$body
EOF
  mkdir -p "$DIST"
  dpkg-deb --root-owner-group --build "$tree" "$DIST/${name}_${version}_${arch}.deb" >/dev/null
  echo "dist/${name}_${version}_${arch}.deb"
  dpkg-deb --info "$DIST/${name}_${version}_${arch}.deb" | sed -n 's/^ \(Depends\|Installed-Size\):/   \1:/p'
}

rm -f "$DIST"/*.deb

# The extension.
tree=$WORK/$php_pkg
install -D -m 0644 "$EXT" "$tree$ext_dir/wxpay.so"
install -D -m 0644 "$ROOT/php/wxpay.ini" "$tree/etc/php/$php_version/mods-available/wxpay.ini"
install -D -m 0644 "$ROOT/README.md" "$tree/usr/share/doc/$php_pkg/README.md"
install -D -m 0644 "$ROOT/php/wxpay.stub.php" "$tree/usr/share/doc/$php_pkg/wxpay.stub.php"
mkdir -p "$tree/usr/share/doc/$php_pkg"
cp -r "$ROOT/examples" "$tree/usr/share/doc/$php_pkg/examples"
# The official-SDK compatibility layer on Debian's include_path (/usr/share/php):
# require_once 'wxpay/compat/WxPay.Api.php';
mkdir -p "$tree/usr/share/php/wxpay"
cp -r "$ROOT/php/compat" "$tree/usr/share/php/wxpay/compat"
find "$tree/usr/share/php" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
find "$tree/usr/share/doc" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
mkdir -p "$tree/DEBIAN"
echo "/etc/php/$php_version/mods-available/wxpay.ini" >"$tree/DEBIAN/conffiles"
# Maintainer scripts as dh_php writes them: php-maintscript-helper enables the module for
# every SAPI of this PHP on configure and disables it on remove (and forgets it on purge).
for script in postinst prerm postrm; do
  case $script in
    postinst) when='[ "$1" = configure ]' action=enmod ;;
    prerm) when='[ "$1" = remove ]' action=dismod ;;
    postrm) when='[ "$1" = purge ]' action=dismod ;;
  esac
  cat >"$tree/DEBIAN/$script" <<EOF
#!/bin/sh
set -e
if $when && [ -e /usr/lib/php/php-maintscript-helper ]; then
    . /usr/lib/php/php-maintscript-helper
    php_invoke $action $php_version ALL wxpay
fi
exit 0
EOF
  chmod 0755 "$tree/DEBIAN/$script"
done
package "$php_pkg" "$tree" "$(shlibs "$EXT"), phpapi-$phpapi, php-common" \
  "WeChat Pay API v2 for PHP $php_version (wxpay extension)" \
  " Signing (MD5, HMAC-SHA256), strict XML, every v2 call over pooled HTTPS with retries
 and failover, JSAPI/APP invoke parameters, QR codes and verified payment and refund
 notifications, in one extension with a Rust core. Examples, including the checkout
 walk-through against wxpay-mock, are in /usr/share/doc/$php_pkg/examples; the
 official SDK 3.0.x compatibility layer is in /usr/share/php/wxpay/compat."

# The simulator.
tree=$WORK/wxpay-mock
install -D -m 0755 "$MOCK" "$tree/usr/bin/wxpay-mock"
install -D -m 0644 "$ROOT/crates/wxpay-mock/README.md" "$tree/usr/share/doc/wxpay-mock/README.md"
package wxpay-mock "$tree" "$(shlibs "$MOCK")" \
  "local WeChat Pay API v2 simulator" \
  " Speaks the WeChat Pay v2 protocol on loopback (HTTP and HTTPS with a generated CA):
 validates and signs like WeChat, keeps order, refund and bill state, simulates the payer,
 delivers notifications with WeChat's retry schedule and injects faults, so that shops
 and their test suites run without a WeChat account."
