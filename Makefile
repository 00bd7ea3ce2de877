# wxpay — build, test, demo, benchmark and package on Debian 12 (bookworm) or 13 (trixie).
# `make demo` and `make test` install what is missing when run as root (scripts/deps.sh);
# otherwise they print the exact command to run. PHP=php8.4 PHP_CONFIG=php-config8.4 picks
# another installed PHP.

SHELL := /bin/bash
PHP ?= php
PHP_CONFIG ?= php-config
PHPUNIT ?= /usr/bin/phpunit
# Set on the command line or in the environment, PHP and PHP_CONFIG also reach ext-php-rs's
# build script (as full paths, which it needs), so the extension is built for that PHP.
ifneq ($(filter environment command line,$(origin PHP)),)
  override PHP := $(shell command -v $(PHP))
  export PHP
endif
ifneq ($(filter environment command line,$(origin PHP_CONFIG)),)
  override PHP_CONFIG := $(shell command -v $(PHP_CONFIG))
  export PHP_CONFIG
endif
# bindgen (in ext-php-rs's build script) takes its C headers from `clang` but loads the newest
# libclang it finds; with two LLVMs installed (Debian unstable has 21 and 22) they disagree and
# the PHP headers fail to parse. So it gets the libclang of that same clang, unless
# LIBCLANG_PATH is set. Expanded when a recipe runs, after `deps` has installed clang.
LIBCLANG_DIR = $(shell c=$$(command -v clang) && cd "$$(dirname "$$(readlink -f "$$c")")/../lib" 2>/dev/null && ls libclang*.so* >/dev/null 2>&1 && pwd)
CARGO = $(if $(LIBCLANG_PATH),,$(if $(LIBCLANG_DIR),LIBCLANG_PATH=$(LIBCLANG_DIR) ))cargo
DEBUG_EXT := $(CURDIR)/target/debug/libwxpay.so
RELEASE_EXT := $(CURDIR)/target/release/libwxpay.so
export WXPAY_MOCK_BIN_DEBUG := $(CURDIR)/target/debug/wxpay-mock
export WXPAY_MOCK_BIN_RELEASE := $(CURDIR)/target/release/wxpay-mock
# The development targets run PHP with its own configuration minus any system-wide wxpay
# (scripts/php-dev-ini.sh), so they load the fresh build whether or not wxpay is installed.
DEV_INI := $(CURDIR)/target/php-dev-ini
PHP_DEV = PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d $(PHP) -d extension=$(1)

.PHONY: deps build release test test-rust test-php lint demo shop bench hostile install uninstall dev-ini deb matrix clean

deps:
	@bash scripts/deps.sh

build: deps
	$(CARGO) build --workspace

release: deps
	$(CARGO) build --workspace --release

dev-ini:
	@bash scripts/php-dev-ini.sh $(DEV_INI)

test: build
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory lint test-php

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	@find php bench examples tests soak -name '*.php' -print0 | xargs -0 -n1 $(PHP) -l >/dev/null && echo "php -l: ok"

# PHPUnit 9.6 (Debian 12) reads phpunit.xml.dist; 10 and later (Debian 13 has 11) read
# phpunit.10.xml, the same suite in the newer schema.
test-php: dev-ini
	@major=$$($(PHPUNIT) --version | sed -n 's/^PHPUnit \([0-9]*\)\..*/\1/p'); \
	config=phpunit.xml.dist; [ "$${major:-9}" -ge 10 ] && config=phpunit.10.xml; \
	echo "PHPUnit $$major, $$config"; \
	WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) $(call PHP_DEV,$(DEBUG_EXT)) $(PHPUNIT) --configuration $$config

demo: build dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d WXPAY_EXT=$(DEBUG_EXT) WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) bash examples/demo.sh

shop: build dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d WXPAY_EXT=$(DEBUG_EXT) WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) bash examples/shop.sh

# P1-P5 without OPcache, with OPcache (the targets are judged there) and with the tracing
# JIT (bench/run.sh); figures and targets in docs/performance.md.
bench: release dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_RELEASE) \
	  bash bench/run.sh $(PHP) -d extension=$(RELEASE_EXT)
	$(MAKE) --no-print-directory hostile

# nginx + php-fpm + wrk on loopback (bench/fpm/run.sh; as root it installs what it needs):
# notify and order endpoints, wxpay vs hand-written PHP vs the official SDK, whose lib/
# directory is given as SDK=/path/to/sdk/lib (not part of this repository).
.PHONY: bench-fpm
bench-fpm: release
	bash bench/fpm/run.sh $(SDK)

# Every hostile shape of a 1 MiB body (tests/support/HostileBodies.php) through Xml::decode,
# parseNotify, parseRefundNotify and wxpay-mock: fails if a median is over 50 ms (release).
hostile: release dev-ini
	WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_RELEASE) $(call PHP_DEV,$(RELEASE_EXT)) bench/hostile.php

# For the PHP that $(PHP_CONFIG) names: the .so into its extension dir, enabled for every
# SAPI with phpenmod where Debian's layout exists, otherwise the ini line to add is printed.
install: release
	bash scripts/install.sh install $(RELEASE_EXT)

uninstall:
	bash scripts/install.sh uninstall

# Debian packages of the extension (php8.x-wxpay, for the PHP $(PHP_CONFIG) names) and of
# wxpay-mock into dist/; they need no Rust on the machine that installs them.
deb: release
	bash scripts/deb.sh

# make test + make demo + the packages, in fresh debootstrap chroots of the other Debian
# releases (docs/compatibility.md). Not part of `make test`: it takes long.
matrix:
	bash matrix/run.sh

clean:
	cargo clean

# Short fuzzing pass (fuzz/README.md), not part of `make test`. cargo-fuzz needs nightly
# flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. One target at a time, niced;
# the XML targets get fuzz/dict/xml.dict, bill_parse fuzz/dict/bill.dict. FUZZ_TARGETS=x runs one.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= xml_decode xml_fast_path xml_fields encode_signed payment_notify refund_notify bill_parse classify
.PHONY: fuzz
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  case $$t in bill_parse) dict=-dict=dict/bill.dict;; xml_fields) dict=;; *) dict=-dict=dict/xml.dict;; esac; \
	  mkdir -p corpus/$$t seeds/$$t && \
	  RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run -O $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=5 $$dict -print_final_stats=1 || exit 1; \
	done

# Hardening checks, not part of `make test` (minutes each); figures in soak/RESULTS.md.
# soak: the running PHP's php-fpm (4 static workers) + nginx + wxpay-mock with faults,
# ≥ 100,000 requests. soak-cluster: the same shop on MariaDB with two php-fpm nodes behind one
# nginx upstream; workers SIGKILLed mid-transaction, MariaDB restarted and crashed, deadlocks;
# every paid order applied exactly once. leaks: 10^6 calls per primitive (RSS growth),
# PHPUnit under valgrind.
.PHONY: soak soak-cluster leaks
soak: deps dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d bash soak/run.sh

soak-cluster: deps dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d bash soak/cluster.sh

leaks: dev-ini
	PHPRC=$(DEV_INI) PHP_INI_SCAN_DIR=$(DEV_INI)/conf.d bash soak/leaks.sh
