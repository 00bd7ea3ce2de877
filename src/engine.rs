//! Engine symbols that ext-php-rs does not bind. They are looked up with `dlsym` at module
//! start: a direct `extern` reference would be resolved when the library is loaded, and
//! `cargo php stubs` loads it without PHP (see ext-php-rs-verified.md, "Correction").

use ext_php_rs::ffi::{zend_class_entry, zend_string};
use ext_php_rs::zend::ClassEntry;
use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;

type AddAttributeFn = unsafe extern "C" fn(
    attributes: *mut *mut ext_php_rs::ffi::HashTable,
    name: *mut zend_string,
    argc: u32,
    flags: u32,
    offset: u32,
    lineno: u32,
) -> *mut c_void;

pub type StartupCallback = unsafe extern "C" fn() -> c_int;

pub struct Engine {
    pub zend_add_attribute: AddAttributeFn,
    /// `zend_class_entry **spl_ce_RuntimeException`.
    runtime_exception: *mut *mut zend_class_entry,
    /// `int (*zend_post_startup_cb)(void)`.
    pub post_startup_cb: *mut Option<StartupCallback>,
}

// SAFETY: the pointers are addresses of engine globals, fixed for the process.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

static ENGINE: OnceLock<Engine> = OnceLock::new();

fn sym(name: &CStr) -> Result<*mut c_void, String> {
    // SAFETY: dlsym with a NUL-terminated name has no other precondition.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        Err(format!("engine symbol {name:?} not found"))
    } else {
        Ok(p)
    }
}

/// Resolves the symbols; called from the module startup function.
pub fn load() -> Result<&'static Engine, String> {
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let add = sym(c"zend_add_attribute")?;
    let engine = Engine {
        // SAFETY: the symbol is the engine's zend_add_attribute, whose C signature this is.
        zend_add_attribute: unsafe { std::mem::transmute::<*mut c_void, AddAttributeFn>(add) },
        runtime_exception: sym(c"spl_ce_RuntimeException")?.cast(),
        post_startup_cb: sym(c"zend_post_startup_cb")?.cast(),
    };
    Ok(ENGINE.get_or_init(|| engine))
}

pub fn get() -> &'static Engine {
    ENGINE
        .get()
        .unwrap_or_else(|| unreachable!("engine symbols are loaded at module start"))
}

/// `\RuntimeException`, registered by SPL before any extension starts.
pub fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: SPL is a required part of PHP and starts before extensions, so the slot holds
    // a class entry that lives as long as the engine.
    unsafe { &*(*get().runtime_exception).cast::<ClassEntry>() }
}
