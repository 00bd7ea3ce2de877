dnl wxpay for phpize, PIE and PECL: `phpize && ./configure --enable-wxpay && make && make install`
dnl in this directory. The extension is Rust: configure checks for cargo, and make runs
dnl `cargo build --release` on the workspace one level up (Makefile.frag), against the PHP
dnl that phpize/php-config belong to, then puts the library where `make install` takes it.

PHP_ARG_ENABLE([wxpay],
  [whether to enable wxpay (WeChat Pay API v2)],
  [AS_HELP_STRING([--enable-wxpay], [Build the wxpay extension with cargo (default: yes)])],
  [yes])

if test "$PHP_WXPAY" != "no"; then
  WXPAY_ROOT=`cd "$srcdir/.." && pwd`
  if test ! -f "$WXPAY_ROOT/Cargo.toml"; then
    AC_MSG_ERROR([wxpay's Cargo workspace is not at $WXPAY_ROOT: run phpize in the ext/ directory of a wxpay checkout])
  fi

  AC_PATH_PROG([CARGO], [cargo], [no], [$PATH:$HOME/.cargo/bin])
  if test "$CARGO" = "no"; then
    AC_MSG_ERROR([cargo not found. On Debian 12/13, as root: apt-get install rustc-web cargo-web libclang-dev clang (or use the php8.x-wxpay package, which needs no Rust)])
  fi
  WXPAY_RUST_MIN=`sed -n 's/^rust-version = "\(.*\)"/\1/p' "$WXPAY_ROOT/Cargo.toml"`
  WXPAY_CARGO_VERSION=`"$CARGO" --version | cut -d' ' -f2`
  AC_MSG_CHECKING([for cargo >= $WXPAY_RUST_MIN])
  if test "`printf '%s\n%s\n' "$WXPAY_RUST_MIN" "$WXPAY_CARGO_VERSION" | sort -V | head -n 1`" != "$WXPAY_RUST_MIN"; then
    AC_MSG_ERROR([cargo $WXPAY_CARGO_VERSION is too old; wxpay needs $WXPAY_RUST_MIN (Debian: apt-get install rustc-web cargo-web)])
  fi
  AC_MSG_RESULT([$WXPAY_CARGO_VERSION])

  dnl ext-php-rs's build script wants a full path to php-config.
  case "$PHP_CONFIG" in
    /*) WXPAY_PHP_CONFIG=$PHP_CONFIG ;;
    *) WXPAY_PHP_CONFIG=`command -v "$PHP_CONFIG"` ;;
  esac

  dnl bindgen takes its headers from `clang` but loads the newest libclang it finds; with two
  dnl LLVMs installed they disagree, so it gets the libclang of that same clang.
  WXPAY_LIBCLANG_PATH=$LIBCLANG_PATH
  if test -z "$WXPAY_LIBCLANG_PATH" && command -v clang >/dev/null 2>&1; then
    WXPAY_LIBCLANG_PATH=`cd "$(dirname "$(readlink -f "$(command -v clang)")")/../lib" 2>/dev/null && ls libclang*.so* >/dev/null 2>&1 && pwd`
  fi

  dnl Cargo's target directory stays inside this build directory (configure runs in it).
  WXPAY_TARGET_DIR=`pwd`/target

  dnl No C sources: the Makefile fragment builds the module and hands it to PHP's install rules.
  PHP_SUBST(WXPAY_TARGET_DIR)
  PHP_SUBST(WXPAY_LIBCLANG_PATH)
  PHP_SUBST(CARGO)
  PHP_SUBST(WXPAY_ROOT)
  PHP_SUBST(WXPAY_PHP_CONFIG)
  dnl Named in full: without PHP_NEW_EXTENSION there is no $ext_srcdir to find it by.
  PHP_ADD_MAKEFILE_FRAGMENT([$WXPAY_ROOT/ext/Makefile.frag], [$WXPAY_ROOT/ext], [$WXPAY_ROOT/ext])
  dnl configure makes the build directories it is told of; with no C sources there are none.
  PHP_ADD_BUILD_DIR([modules])
fi
