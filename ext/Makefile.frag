# Included by the Makefile that phpize's configure writes (see config.m4). PHP and PHP_CONFIG
# make ext-php-rs build for the PHP this build is configured for.
WXPAY_MODULE = $(phplibdir)/wxpay.so

all: $(WXPAY_MODULE)
build-modules: $(WXPAY_MODULE)

$(WXPAY_MODULE): FORCE
	cd "$(WXPAY_ROOT)" && PHP="$(PHP_EXECUTABLE)" PHP_CONFIG="$(WXPAY_PHP_CONFIG)" CARGO_TARGET_DIR="$(WXPAY_TARGET_DIR)" \
		$(if $(WXPAY_LIBCLANG_PATH),LIBCLANG_PATH="$(WXPAY_LIBCLANG_PATH)") "$(CARGO)" build --release --locked -p wxpay
	mkdir -p "$(phplibdir)"
	cp "$(WXPAY_TARGET_DIR)/release/libwxpay.so" "$@"

clean: wxpay-clean
wxpay-clean:
	rm -rf "$(WXPAY_TARGET_DIR)"

FORCE:
.PHONY: FORCE wxpay-clean
