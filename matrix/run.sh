#!/usr/bin/env bash
# make matrix: the README's two commands on Debian releases other than the host's, each in a
# fresh debootstrap chroot holding only git, make and ca-certificates, on a fresh clone of
# this checkout's HEAD (commit first: uncommitted changes are not tested). Then, for Debian
# 12 and 13, the packages from `make deb` are installed into another fresh chroot with no
# Rust, no compiler and no checkout: `php --ri wxpay`, the checkout walk-through from the
# package's examples, `apt-get remove`, nothing left enabled.
#
#   bash matrix/run.sh                          # every release but the host's, then ZTS
#   MATRIX_RELEASES="bookworm trixie" bash matrix/run.sh
#
# Releases: bookworm (PHP 8.2), trixie (8.4), sid (its PHP, plus the newer minors that
# experimental carries, built one after the other in the same clone). MATRIX_ZTS=0 skips
# matrix/zts.sh, MATRIX_PACKAGES=0 the package check (a release build, the longest step).
# Base chroots are cached in $WXPAY_MATRIX_CACHE (/var/cache/wxpay-matrix)
# and copied for every run; logs of the last run are in $WXPAY_MATRIX_CACHE/logs. The table
# is printed and written into docs/compatibility.md. Needs root (debootstrap, chroot, mount).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WXPAY_MATRIX_CACHE:-/var/cache/wxpay-matrix}
MIRROR=${WXPAY_MATRIX_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${WXPAY_MATRIX_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
LOGS=$CACHE/logs
HOST=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
RELEASES=${MATRIX_RELEASES:-$(for r in bookworm trixie sid; do [[ $r == "$HOST" ]] || echo "$r"; done)}
ROWS=()
MOUNTED=()

log() { printf '[matrix %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root: debootstrap, chroot and mount need it"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
mkdir -p "$CACHE" "$LOGS"

# mounts_under DIR: every mount point below DIR, deepest first (DIR need not be a mount).
mounts_under() {
  awk -v dir="$1/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r
}

unmount_all() {
  local dir target proc
  for dir in "${MOUNTED[@]}"; do
    # Whatever still runs inside (an interrupted build, a server) goes first.
    for proc in /proc/[0-9]*; do
      [[ $(readlink "$proc/root" 2>/dev/null) == "$dir"* ]] && kill -9 "${proc#/proc/}" 2>/dev/null
    done
    for target in $(mounts_under "$dir"); do
      umount -l "$target" || true
    done
  done
  MOUNTED=()
}
trap unmount_all EXIT
trap "exit 130" INT
trap "exit 143" TERM

# base RELEASE: the cached minimal chroot, made once (a marker says it is complete).
base() {
  local release=$1 dir=$CACHE/base-$1
  if [[ ! -f $dir/.wxpay-base-ok ]]; then
    log "debootstrap $release (cached in $dir)"
    rm -rf "$dir"
    debootstrap --variant=minbase --include=git,make,ca-certificates "$release" "$dir" "$MIRROR" \
      >"$LOGS/debootstrap-$release.log" 2>&1 || die "debootstrap $release (see $LOGS/debootstrap-$release.log)"
    if [[ $release == sid ]]; then
      echo "deb $MIRROR sid main" >"$dir/etc/apt/sources.list"
      echo "deb $MIRROR experimental main" >"$dir/etc/apt/sources.list.d/experimental.list"
      # A mirror snapshot's unstable Release files expire within days.
      echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99wxpay-matrix"
    else
      # As a Debian installer writes it: the release, its updates and its security suite.
      printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
        "$MIRROR" "$release" "$MIRROR" "$release" "$SECURITY_MIRROR" "$release" >"$dir/etc/apt/sources.list"
    fi
    # No services start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod +x "$dir/usr/sbin/policy-rc.d"
    touch "$dir/.wxpay-base-ok"
  fi
  echo "$dir"
}

# fresh RELEASE NAME: sets FRESH to a new copy of the base with /proc, /dev/pts and /dev/shm mounted, the
# host's extra CA certificates (the registries are only reachable with them) and resolv.conf.
fresh() {
  local release=$1 dir=$CACHE/run/$1-$2 src
  src=$(base "$release")
  FRESH=$dir
  if [[ -d $dir ]]; then
    # Never delete a tree with /proc or anything else still mounted inside it.
    [[ -z $(mounts_under "$dir") ]] || die "$dir still has mounts: $(mounts_under "$dir" | tr '\n' ' ')"
    rm -rf --one-file-system "$dir"
  fi
  mkdir -p "$CACHE/run"
  cp -a "$src" "$dir"
  cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
  mkdir -p "$dir/dev/shm" && mount -t tmpfs tmpfs "$dir/dev/shm"
  MOUNTED+=("$dir")
  in_chroot "$dir" 'update-ca-certificates >/dev/null 2>&1'
}

# in_chroot DIR COMMAND: as root in a clean environment, like a fresh login (and like CI).
in_chroot() {
  chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "$2"
}

# The figures a row shows, read from the logs.
phpunit_summary() { grep -E '^(OK \(|Tests: |OK, but)' "$1" | tail -n 1 || echo "no PHPUnit summary"; }
cargo_passed() { awk '/^test result:/ {p += $4; f += $6} END {printf "%d passed, %d failed", p, f}' "$1"; }

# test_release RELEASE [PHP minors…]: make test + make demo (+ make deb) in a fresh chroot.
test_release() {
  local release=$1 dir tag versions=() v php_env rc_test rc_demo row commit
  fresh "$release" test
  dir=$FRESH
  git clone -q "$ROOT" "$dir/root/wxpay"
  commit=$(git -C "$dir/root/wxpay" rev-parse --short HEAD)
  if [[ $release == sid ]]; then
    # The default PHP of sid first, then every newer minor in experimental.
    versions=("")
    for v in $(in_chroot "$dir" 'apt-get update -qq 2>/dev/null; apt-cache search --names-only "^php8\.[0-9]+-cli$" | cut -d- -f1 | sed s/php//' | sort -V); do
      [[ $(in_chroot "$dir" 'apt-cache policy php | sed -n "s/ *Candidate: 2:\([0-9.]*\)+.*/\1/p"') == "$v" ]] || versions+=("$v")
    done
  else
    versions=("")
  fi
  for v in "${versions[@]}"; do
    tag=$release${v:+-php$v}
    php_env=""
    if [[ -n $v ]]; then
      log "$tag: installing php$v from experimental"
      in_chroot "$dir" "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t experimental php$v-cli php$v-dev php$v-xml php$v-mbstring php$v-curl php$v-sqlite3 >/dev/null" \
        >"$LOGS/$tag-php.log" 2>&1 || { ROWS+=("| $tag | $commit | php$v | | | install failed | | |"); continue; }
      php_env="PHP=/usr/bin/php$v PHP_CONFIG=/usr/bin/php-config$v"
    fi
    log "$tag: make test (log: $LOGS/$tag-test.log)"
    rc_test=0
    in_chroot "$dir" "cd /root/wxpay && $php_env make test" >"$LOGS/$tag-test.log" 2>&1 || rc_test=$?
    log "$tag: make demo"
    rc_demo=0
    in_chroot "$dir" "cd /root/wxpay && $php_env make demo" >"$LOGS/$tag-demo.log" 2>&1 || rc_demo=$?
    local php_version phpunit_version rust_version
    php_version=$(in_chroot "$dir" "php$v -r 'echo PHP_VERSION;'" 2>/dev/null || echo "?")
    # Whatever failed before, the row still gets written (pipefail would end the script here).
    phpunit_version=$(in_chroot "$dir" "phpunit --version" 2>/dev/null | sed -n 's/^PHPUnit \([^ ]*\).*/\1/p' || true)
    rust_version=$(in_chroot "$dir" "rustc --version" 2>/dev/null | awk '{print $2}' || true)
    row="| $(debian_name "$release") | $commit | $php_version NTS | ${phpunit_version:-?} | ${rust_version:-?}"
    row+=" | $( ((rc_test == 0)) && echo pass || echo "FAIL ($rc_test)"): Rust $(cargo_passed "$LOGS/$tag-test.log"); PHPUnit $(phpunit_summary "$LOGS/$tag-test.log")"
    row+=" | $( ((rc_demo == 0)) && echo pass || echo "FAIL ($rc_demo)")"
    if [[ $release != sid && $rc_test == 0 && ${MATRIX_PACKAGES:-1} != 0 ]]; then
      package_check "$release" "$dir"
      row+=" | $PACKAGES_RESULT"
    else
      row+=" | —"
    fi
    ROWS+=("$row |")
    log "$tag: ${ROWS[-1]}"
  done
}

debian_name() {
  case $1 in
    bookworm) echo "12 bookworm" ;;
    trixie) echo "13 trixie" ;;
    sid) echo "unstable + experimental" ;;
    *) echo "$1" ;;
  esac
}

# package_check RELEASE TESTDIR: sets PACKAGES_RESULT. make deb in the test chroot, then install, run and remove
# the packages in a fresh chroot of the same release that never saw Rust or the checkout.
package_check() {
  local release=$1 built=$2 dir rc=0
  log "$release: make deb"
  PACKAGES_RESULT="make deb FAILED"
  in_chroot "$built" "cd /root/wxpay && make deb" >"$LOGS/$release-deb.log" 2>&1 || return 0
  fresh "$release" packages
  dir=$FRESH
  cp "$built"/root/wxpay/dist/*.deb "$dir/root/"
  log "$release: install the packages into a chroot without Rust"
  in_chroot "$dir" '
    set -e
    cd /root
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      php-cli php-sqlite3 php-curl ./php*-wxpay_*.deb ./wxpay-mock_*.deb >/dev/null
    for tool in cargo rustc cc gcc clang; do
      if command -v $tool >/dev/null; then echo "unexpected: $tool is installed"; exit 1; fi
    done
    [ ! -e /root/wxpay ] || { echo "unexpected: a checkout"; exit 1; }
    dpkg -l "php*-wxpay" wxpay-mock | tail -n 2
    php --ri wxpay
    ls -l /etc/php/*/*/conf.d/*wxpay*
    bash /usr/share/doc/php*-wxpay/examples/demo.sh
    php -r "require \"wxpay/compat/WxPay.Api.php\"; echo class_exists(\"WxPayApi\") ? \"compat layer on include_path: ok\n\" : exit(1);"
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "php*-wxpay" wxpay-mock >/dev/null
    if php -m | grep -qx wxpay; then echo "still loaded after remove"; exit 1; fi
    if ls /etc/php/*/*/conf.d/ | grep -q wxpay; then echo "still enabled after remove"; exit 1; fi
    echo "removed: php -m has no wxpay, no conf.d entry left"
  ' >"$LOGS/$release-packages.log" 2>&1 || rc=$?
  if ((rc == 0)); then
    PACKAGES_RESULT="pass: $(cd "$built/root/wxpay/dist" && ls -- *.deb | tr '\n' ' ')"
  else
    PACKAGES_RESULT="FAIL ($rc), see $release-packages.log"
  fi
}

for release in $RELEASES; do
  test_release "$release"
done
unmount_all

if [[ ${MATRIX_ZTS:-1} != 0 && -f $ROOT/matrix/zts.sh ]]; then
  log "ZTS (matrix/zts.sh, log: $LOGS/zts.log)"
  zts_rc=0
  bash "$ROOT/matrix/zts.sh" >"$LOGS/zts.log" 2>&1 || zts_rc=$?
  ROWS+=("| $(debian_name "$HOST") (host) | $(git -C "$ROOT" rev-parse --short HEAD) | ZTS build | | | $( ((zts_rc == 0)) && echo pass || echo "FAIL ($zts_rc)"): $(tail -n 1 "$LOGS/zts.log") | — | — |")
fi

table=$(
  echo "| Debian | commit | PHP | PHPUnit | Rust | \`make test\` | \`make demo\` | packages (\`make deb\`, installed without Rust) |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
)
stamp="Last \`make matrix\` run: finished $(date -u '+%Y-%m-%d %H:%M UTC'), host Debian $HOST; each row names the commit it cloned."
echo
echo "$stamp"
echo "$table"
doc=$ROOT/docs/compatibility.md
if [[ -f $doc ]] && grep -q '<!-- matrix:begin -->' "$doc"; then
  TABLE="$stamp"$'\n\n'"$table" perl -0pi -e 's/(<!-- matrix:begin -->\n).*?(<!-- matrix:end -->)/$1$ENV{TABLE}\n$2/s' "$doc"
  log "table written into docs/compatibility.md"
fi
! printf '%s\n' "${ROWS[@]}" | grep -q FAIL
