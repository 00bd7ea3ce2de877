#!/usr/bin/env bash
# Runs the PHPUnit suite on a thread-safe (ZTS) PHP: builds that PHP once from Debian's
# source package for the host's PHP (same version and Debian patches, only --enable-zts and
# the extensions the tests need), builds wxpay against it and runs the suite.
# Root-run and idempotent; everything lives under the cache directory.
# Last line: "ZTS: PHP <version>, PHPUnit <version>, <summary>".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WXPAY_MATRIX_CACHE:-/var/cache/wxpay-matrix}/zts
HOST_PHP=${HOST_PHP:-php}
PHPUNIT=${PHPUNIT:-/usr/bin/phpunit}
JOBS=${JOBS:-2}

log() { echo "zts: $*" >&2; }
die() { echo "zts: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs build packages, writes $CACHE)"
minor=$("$HOST_PHP" -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')
src_pkg=php$minor
deb_version=$(dpkg-query -W -f='${source:Version}' "php$minor-cli") \
    || die "php$minor-cli is not installed"
prefix=$CACHE/php-$minor
php=$prefix/bin/php

# Headers for the extensions below; the PHP tarball ships its generated parsers, so
# no bison/re2c. Oniguruma is avoided with --disable-mbregex.
build_packages=(build-essential autoconf pkg-config libxml2-dev libsqlite3-dev libssl-dev
    zlib1g-dev libcurl4-openssl-dev dpkg-dev)

install_build_packages() {
    local missing=() p
    for p in "${build_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# A private apt tree with deb-src lines: the host's sources and lists are left untouched.
apt_opts=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache")

# Prints the source tree of the host's PHP package version, or, when the mirror does not
# serve that source (Debian's security mirrors publish the index but not always the pool),
# of the newest older one for the same PHP minor.
source_tree() {
    local codename version upstream
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/src"
    cat >"$CACHE/apt/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
SOURCES
    apt-get "${apt_opts[@]}" update -qq >&2
    for version in $(apt-cache "${apt_opts[@]}" showsrc "$src_pkg" | awk '/^Version:/{print $2}' \
        | sort -Vru | awk -v host="$deb_version" 'host == $0 || found; host == $0 {found = 1}'); do
        upstream=${version#*:}
        upstream=${upstream%-*}
        if [ ! -d "$CACHE/src/$src_pkg-$upstream" ]; then
            (cd "$CACHE/src" && apt-get "${apt_opts[@]}" source -qq "$src_pkg=$version" >/dev/null 2>&1) \
                || { log "source $src_pkg $version is not downloadable"; continue; }
        fi
        echo "$CACHE/src/$src_pkg-$upstream"
        return
    done
    die "no source package of $src_pkg at or below $deb_version could be downloaded"
}

build_php() {
    local tree
    tree=$(source_tree)
    log "building ZTS PHP from $tree into $prefix (many CPU-minutes)"
    cd "$tree"
    make distclean >/dev/null 2>&1 || true
    # Debian's patches change configure.ac (header and extension paths): regenerate, as
    # Debian's build does.
    ./buildconf --force >"$CACHE/buildconf.log" 2>&1 || die "buildconf failed, see $CACHE/buildconf.log"
    rm -rf "$prefix"
    ./configure --prefix="$prefix" --with-config-file-path="$prefix/etc" \
        --with-config-file-scan-dir= --enable-zts --disable-all --disable-cgi \
        --disable-phpdbg --enable-cli --with-libxml --enable-dom --enable-xml \
        --enable-xmlwriter --enable-simplexml --enable-tokenizer --enable-mbstring \
        --disable-mbregex --enable-ctype --enable-filter --enable-pcntl --enable-posix \
        --with-openssl --with-curl --with-zlib --enable-pdo --with-pdo-sqlite \
        --with-sqlite3 --with-iconv >"$CACHE/configure.log" 2>&1 \
        || die "configure failed, see $CACHE/configure.log"
    nice -n 10 make -j"$JOBS" >"$CACHE/make.log" 2>&1 || die "make failed, see $CACHE/make.log"
    make install >"$CACHE/install.log" 2>&1 || die "make install failed, see $CACHE/install.log"
    "$php" -r 'exit(PHP_ZTS ? 0 : 1);' || die "$php is not thread-safe"
    touch "$prefix/.complete"
}

install_build_packages
if [ ! -f "$prefix/.complete" ]; then
    build_php
fi

log "building wxpay against $php"
export CARGO_TARGET_DIR=$CACHE/target
(cd "$ROOT" && PHP=$php PHP_CONFIG=$prefix/bin/php-config nice -n 5 cargo build --workspace -q)

# Debian's phpunit loads PHPUnit from /usr/share/php, which Debian's php.ini puts on the
# include path; this PHP reads no php.ini.
include_path=.:/usr/share/php
out=$CACHE/phpunit.out
set +e
(cd "$ROOT" && WXPAY_MOCK_BIN=$CARGO_TARGET_DIR/debug/wxpay-mock \
    "$php" -d include_path=$include_path -d extension="$CARGO_TARGET_DIR/debug/libwxpay.so" \
    "$PHPUNIT" --configuration phpunit.xml.dist) 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^(OK|Tests:|FAILURES|ERRORS|No tests)' "$out" | tail -1)
phpunit_version=$("$php" -d include_path=$include_path "$PHPUNIT" --version \
    | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
echo "ZTS: PHP $("$php" -r 'echo PHP_VERSION;'), PHPUnit $phpunit_version, ${summary:-no summary (exit $rc)}"
exit "$rc"
