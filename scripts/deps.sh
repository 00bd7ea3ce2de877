#!/usr/bin/env bash
# `make deps`: everything the build, the tests and the demo need on Debian 12, 13 or unstable.
# As root it installs what is missing with apt-get; otherwise it prints the exact command
# and fails. Rust: when cargo is missing or older than Cargo.toml's rust-version, Debian's own
# toolchain if the release's is new enough (unstable), else rustc-web/cargo-web, which Debian
# 12 and 13 carry in their security suites for software that tracks upstream Rust (13's own
# cargo is 1.85, 12's 1.63).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's default PHP, or the one PHP_CONFIG names (PHP_CONFIG=php-config8.5 → php8.5-*).
php=php
if [[ -n "${PHP_CONFIG:-}" ]] && command -v "$PHP_CONFIG" >/dev/null; then
  php=php$("$PHP_CONFIG" --version | cut -d. -f1,2)
fi
# php-mysql: the example shop's mysql: DSN (tests/ShopDbTest.php needs no server); openssl:
# a Rust test decrypts with the openssl command.
PACKAGES=("$php-cli" "$php-dev" "$php-xml" "$php-mbstring" "$php-curl" "$php-sqlite3" "$php-mysql" phpunit
  build-essential clang libclang-dev ca-certificates curl openssl)
RUST_WEB=(rustc-web cargo-web rust-web-clippy rustfmt-web)
need_rust=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# version_ge A B: A >= B in version order.
version_ge() { printf '%s\n%s\n' "$2" "$1" | sort -V -C; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done

cargo_version=$(cargo --version 2>/dev/null | awk '{print $2}' || true)
rust_note=""
if [[ -z "$cargo_version" ]] || ! version_ge "$cargo_version" "$need_rust"; then
  rust_note="cargo ${cargo_version:-not found}, need >= $need_rust"
  if [[ -n "$cargo_version" ]] && ! dpkg -S "$(command -v cargo)" >/dev/null 2>&1; then
    # A rustup (or hand-installed) toolchain ahead on PATH would shadow Debian's.
    echo "Rust: $rust_note. Update your toolchain:  rustup update stable" >&2
    exit 1
  fi
  rust_packages=("${RUST_WEB[@]}")
  [[ $(id -u) == 0 ]] && apt-get update -qq
  candidate=$(apt-cache policy rustc 2>/dev/null | sed -n 's/^ *Candidate: \([0-9.]*\).*/\1/p')
  if [[ -n "$candidate" ]] && version_ge "$candidate" "$need_rust"; then
    rust_packages=(rustc cargo rust-clippy rustfmt)
  fi
  missing+=("${rust_packages[@]}")
elif ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  if installed cargo-web; then
    missing+=(rust-web-clippy rustfmt-web)
  elif installed cargo; then
    missing+=(rust-clippy rustfmt)
  else
    echo "Rust: clippy or rustfmt is missing. Run:  rustup component add clippy rustfmt" >&2
    exit 1
  fi
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi
command="apt-get update && apt-get install -y ${missing[*]}"
if [[ $(id -u) != 0 ]]; then
  [[ -n "$rust_note" ]] && echo "Rust: $rust_note." >&2
  echo "Missing packages. Run as root:  $command" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
if [[ -n "$rust_note" ]]; then
  cargo_version=$(cargo --version 2>/dev/null | awk '{print $2}' || true)
  if [[ -z "$cargo_version" ]] || ! version_ge "$cargo_version" "$need_rust"; then
    echo "Debian gave cargo ${cargo_version:-nothing}, still older than $need_rust: enable your" \
      "release's security suite (deb http://deb.debian.org/debian-security <codename>-security main)" >&2
    exit 1
  fi
  echo "Rust: cargo $cargo_version (${rust_packages[*]})"
fi
