//! The PHP face of wxpay: classes, argument conversion and exception mapping only. Every
//! protocol decision is made in `wxpay-core`.

#![cfg_attr(windows, feature(abi_vectorcall))]

mod amend;
mod args;
mod client;
mod convert;
mod direct;
mod engine;
mod exceptions;
mod handlers;
mod logger;
mod primitives;
mod sensitive;
mod tools;

use ext_php_rs::prelude::*;
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

/// The name PHP knows the extension by (`php -m`, `extension_loaded`).
pub const MODULE_NAME: &str = "wxpay";

const FEATURES: &str = "sign MD5 HMAC-SHA256, strict XML, payment and refund notify, \
JSAPI/APP/Native params, HTTPS (rustls) with pooling, retries and failover, QR, bills";

/// Module start: engine symbols and exception classes.
fn startup(_ty: i32, _module_number: i32) -> i32 {
    // ext-php-rs turns a panic in a PHP-callable function into `\Error("Rust panic: …")`;
    // the default hook would also print a backtrace to stderr (the FPM log). One line is
    // enough there.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("wxpay: Rust panic (reported to PHP as \\Error): {info}");
    }));
    let result = engine::load()
        .map_err(|e| e.to_string())
        .and_then(|_| exceptions::register().map_err(|e| e.to_string()))
        .map(|()| amend::forget());
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("wxpay: module start failed: {e}");
            1
        }
    }
}

/// Request start: see [`amend::once`].
extern "C" fn request_startup(_ty: i32, _module_number: i32) -> i32 {
    // A panic must not unwind into the engine (that aborts PHP): the request fails instead.
    std::panic::catch_unwind(amend::once).map_or(1, |()| 0)
}

/// Request end: the keyed signing state kept for the request is dropped (zeroed).
extern "C" fn request_shutdown(_ty: i32, _module_number: i32) -> i32 {
    std::panic::catch_unwind(wxpay_core::sign::forget_keys).map_or(1, |()| 0)
}

extern "C" fn php_info(_module: *mut ModuleEntry) {
    // A panic must not unwind into the engine (that aborts PHP); the table is only lost.
    let _ = std::panic::catch_unwind(|| {
        info_table_start!();
        info_table_row!("wxpay support", "enabled");
        info_table_row!("version", env!("CARGO_PKG_VERSION"));
        info_table_row!("features", FEATURES);
        info_table_end!();
    });
}

/// Debug builds only: panics on purpose, so tests can prove a panic reaches PHP as an
/// exception instead of aborting the process.
#[cfg(debug_assertions)]
#[php_function]
#[php(name = "WxPay\\Debug\\panic")]
pub fn debug_panic(message: &str) {
    panic!("{message}");
}

#[php_module]
#[php(startup = "startup")]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    let module = module
        .name(MODULE_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .class::<primitives::Signer>()
        .class::<primitives::Xml>()
        .class::<primitives::Notify>()
        .class::<client::Client>()
        .class::<tools::Qr>()
        .class::<tools::Bill>()
        .request_startup_function(request_startup)
        .request_shutdown_function(request_shutdown)
        .info_function(php_info);
    // The exception getters' own handler, called as a function: its lookup panics, which
    // proves a panic in a hand-written handler reaches PHP as an exception.
    #[cfg(debug_assertions)]
    let module = module.function(wrap_function!(debug_panic)).function(
        ext_php_rs::builders::FunctionBuilder::new(
            "WxPay\\Debug\\getterPanic",
            exceptions::read_getter,
        ),
    );
    module
}
