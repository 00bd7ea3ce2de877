# wxpay — build, test, demo and benchmark on Debian 12 (bookworm).
# `make demo` and `make test` install what is missing when run as root; otherwise they print
# the exact command to run.

SHELL := /bin/bash
PHP ?= php
APT_PACKAGES := php-cli php-dev php-xml php-mbstring php-curl php-sqlite3 libclang-dev clang phpunit ca-certificates
DEBUG_EXT := $(CURDIR)/target/debug/libwxpay.so
RELEASE_EXT := $(CURDIR)/target/release/libwxpay.so
PHP_WITH_EXT = $(PHP) -d extension=$(1)
export WXPAY_MOCK_BIN_DEBUG := $(CURDIR)/target/debug/wxpay-mock
export WXPAY_MOCK_BIN_RELEASE := $(CURDIR)/target/release/wxpay-mock

.PHONY: deps build release test test-rust test-php lint demo shop bench install stubs-check clean

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing packages. Run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi; \
	command -v cargo >/dev/null || { echo "Rust is missing. Run:  curl https://sh.rustup.rs -sSf | sh -s -- -y   (Rust >= 1.85)"; exit 1; }

build: deps
	cargo build --workspace

release: deps
	cargo build --workspace --release

test: build
	cargo test --workspace
	$(MAKE) --no-print-directory lint test-php

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	@find php bench examples tests soak -name '*.php' -print0 | xargs -0 -n1 $(PHP) -l >/dev/null && echo "php -l: ok"

test-php:
	WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) $(call PHP_WITH_EXT,$(DEBUG_EXT)) /usr/bin/phpunit --configuration phpunit.xml.dist

demo: build
	WXPAY_EXT=$(DEBUG_EXT) WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) bash examples/demo.sh

shop: build
	WXPAY_EXT=$(DEBUG_EXT) WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_DEBUG) bash examples/shop.sh

bench: release
	WXPAY_MOCK_BIN=$(WXPAY_MOCK_BIN_RELEASE) $(call PHP_WITH_EXT,$(RELEASE_EXT)) bench/bench.php

install: release
	install -m 0644 $(RELEASE_EXT) "$$($(PHP)-config --extension-dir 2>/dev/null || php-config --extension-dir)/wxpay.so"
	@if [ -d /etc/php/8.2/mods-available ]; then \
	  install -m 0644 php/wxpay.ini /etc/php/8.2/mods-available/wxpay.ini && phpenmod wxpay && echo "enabled with phpenmod"; \
	else \
	  echo "add 'extension=wxpay.so' to your php.ini"; \
	fi

clean:
	cargo clean

# Short fuzzing pass (fuzz/README.md), not part of `make test`. cargo-fuzz needs nightly
# flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. One target at a time, niced.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := xml_decode xml_fast_path payment_notify refund_notify bill_parse classify
.PHONY: fuzz
fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run -O $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=5 || exit 1; \
	done

# Hardening checks, not part of `make test` (minutes each); figures in soak/RESULTS.md.
# soak: php8.2-fpm (4 static workers) + nginx + wxpay-mock with faults, ≥ 100,000 requests.
# leaks: 10^6 calls per primitive (RSS growth), PHPUnit under valgrind memcheck.
.PHONY: soak leaks
soak:
	bash soak/run.sh

leaks:
	bash soak/leaks.sh
