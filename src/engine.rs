//! Engine symbols that ext-php-rs does not bind. They are looked up with `dlsym` at module
//! start: a direct `extern` reference would be resolved when the library is loaded, and
//! `cargo php stubs` loads it without PHP (Rust calls external functions through the GOT,
//! so they do not bind lazily).

use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi::{zend_class_entry, zend_string, zend_type, zval};
use ext_php_rs::types::ZendStr;
use ext_php_rs::zend::ClassEntry;
use std::ffi::{CStr, c_char, c_void};
use std::sync::OnceLock;

type AddAttributeFn = unsafe extern "C" fn(
    attributes: *mut *mut ext_php_rs::ffi::HashTable,
    name: *mut zend_string,
    argc: u32,
    flags: u32,
    offset: u32,
    lineno: u32,
) -> *mut c_void;

type VerifyScalarFn = unsafe extern "C" fn(
    type_mask: u32,
    arg: *mut zval,
    strict: bool,
    is_internal_arg: bool,
) -> bool;
/// Variadic: the message is always passed as one `%s` argument.
type ArgumentTypeErrorFn = unsafe extern "C" fn(arg_num: u32, format: *const c_char, ...);
type WrongCallbackErrorFn = unsafe extern "C" fn(arg_num: u32, error: *mut c_char);
type ValueNameFn = unsafe extern "C" fn(arg: *const zval) -> *const c_char;
type TypeToStringFn = unsafe extern "C" fn(type_: zend_type) -> *mut zend_string;

/// The engine's own argument rules (Zend/zend_execute.c, Zend/zend_API.c), so that wxpay's
/// methods coerce, refuse and word their errors exactly as PHP's internal functions do.
pub struct ArgumentRules {
    /// `zend_verify_scalar_type_hint`: coerces in place in coercive mode.
    pub verify_scalar: VerifyScalarFn,
    /// `zend_argument_type_error`: prefixes "Class::method(): Argument #N ($name) ".
    pub argument_type_error: ArgumentTypeErrorFn,
    /// `zend_wrong_callback_error`: "must be a valid callback, …"; frees the error text.
    pub wrong_callback_error: WrongCallbackErrorFn,
    /// `zend_zval_value_name` (PHP 8.3+), else `zend_zval_type_name`: the "given" word that
    /// PHP's own type errors use in this version.
    pub value_name: ValueNameFn,
    /// `zend_type_to_string`: the declared type as PHP spells it.
    pub type_to_string: TypeToStringFn,
}

/// `PHP_MD5_CTX` (ext/standard/md5.h): 152 bytes, 4-byte aligned; over-allocated here.
#[repr(C, align(8))]
struct Md5Ctx([u8; 256]);

type MemoryUsageFn = unsafe extern "C" fn(real_usage: bool) -> usize;

type Md5InitFn = unsafe extern "C" fn(ctx: *mut Md5Ctx, args: *mut c_void);
type Md5UpdateFn = unsafe extern "C" fn(ctx: *mut Md5Ctx, data: *const c_void, len: usize);
type Md5FinalFn = unsafe extern "C" fn(digest: *mut u8, ctx: *mut Md5Ctx);

/// PHP's own MD5, the one `md5()` uses: a little faster than the portable Rust one here.
struct EngineMd5 {
    init: Md5InitFn,
    update: Md5UpdateFn,
    finish: Md5FinalFn,
}

/// `zend_string_init_existing_interned_func_t`: the interned string for these bytes if the
/// engine has one, else a new, ordinary string; it never adds to the interned table.
type InitExistingInternedFn =
    unsafe extern "C" fn(str: *const c_char, size: usize, permanent: bool) -> *mut zend_string;

pub struct Engine {
    pub zend_add_attribute: AddAttributeFn,
    /// `zend_class_entry **spl_ce_RuntimeException`.
    runtime_exception: *mut *mut zend_class_entry,
    /// `zend_class_entry **spl_ce_InvalidArgumentException`.
    invalid_argument_exception: *mut *mut zend_class_entry,
    pub arguments: ArgumentRules,
    /// `zend_memory_usage`: what `memory_limit` is checked against.
    memory_usage: MemoryUsageFn,
    md5: Option<EngineMd5>,
    /// `zend_string_init_existing_interned`, a variable the engine (or OPcache) points at
    /// the handler of the moment; read at each use.
    init_existing_interned: *mut Option<InitExistingInternedFn>,
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
        invalid_argument_exception: sym(c"spl_ce_InvalidArgumentException")?.cast(),
        // SAFETY: each symbol is the engine function whose C signature its type states.
        arguments: unsafe {
            ArgumentRules {
                verify_scalar: std::mem::transmute::<*mut c_void, VerifyScalarFn>(sym(
                    c"zend_verify_scalar_type_hint",
                )?),
                argument_type_error: std::mem::transmute::<*mut c_void, ArgumentTypeErrorFn>(sym(
                    c"zend_argument_type_error",
                )?),
                wrong_callback_error: std::mem::transmute::<*mut c_void, WrongCallbackErrorFn>(
                    sym(c"zend_wrong_callback_error")?,
                ),
                value_name: std::mem::transmute::<*mut c_void, ValueNameFn>(
                    sym(c"zend_zval_value_name").or_else(|_| sym(c"zend_zval_type_name"))?,
                ),
                type_to_string: std::mem::transmute::<*mut c_void, TypeToStringFn>(sym(
                    c"zend_type_to_string",
                )?),
            }
        },
        init_existing_interned: sym(c"zend_string_init_existing_interned")?.cast(),
        // SAFETY: the symbol is the engine's zend_memory_usage, whose C signature this is.
        memory_usage: unsafe {
            std::mem::transmute::<*mut c_void, MemoryUsageFn>(sym(c"zend_memory_usage")?)
        },
        // Optional: without it the portable MD5 is used.
        // SAFETY: the symbols are ext/standard's MD5 functions with these C signatures.
        md5: match (
            sym(c"PHP_MD5InitArgs"),
            sym(c"PHP_MD5Update"),
            sym(c"PHP_MD5Final"),
        ) {
            (Ok(init), Ok(update), Ok(finish)) => unsafe {
                Some(EngineMd5 {
                    init: std::mem::transmute::<*mut c_void, Md5InitFn>(init),
                    update: std::mem::transmute::<*mut c_void, Md5UpdateFn>(update),
                    finish: std::mem::transmute::<*mut c_void, Md5FinalFn>(finish),
                })
            },
            _ => None,
        },
    };
    let engine = ENGINE.get_or_init(|| engine);
    if engine.md5.is_some() {
        wxpay_core::sign::use_host_md5(engine_md5);
    }
    Ok(engine)
}

pub fn get() -> &'static Engine {
    ENGINE
        .get()
        .unwrap_or_else(|| unreachable!("engine symbols are loaded at module start"))
}

/// SPL's class in `slot`. SPL is a required part of PHP and starts before extensions, so
/// the slot holds a class entry that lives as long as the engine.
fn spl_class(slot: *mut *mut zend_class_entry) -> &'static ClassEntry {
    // SAFETY: see above; the slot is the address of an SPL global.
    unsafe { &*(*slot).cast::<ClassEntry>() }
}

/// `\RuntimeException`.
pub fn runtime_exception() -> &'static ClassEntry {
    spl_class(get().runtime_exception)
}

/// `\InvalidArgumentException`.
pub fn invalid_argument_exception() -> &'static ClassEntry {
    spl_class(get().invalid_argument_exception)
}

/// Whether a PHP string of `len` bytes can be allocated within `memory_limit` now. The
/// engine's allocator ends the request with a fatal error when it cannot, and that
/// `longjmp` skips the Rust frames in between: whatever they own is never freed, so a call
/// about to hand PHP something large asks first. `Err` holds (limit, bytes in use).
pub fn fits_memory_limit(len: usize) -> Result<(), (usize, usize)> {
    let limit = ext_php_rs::zend::ProcessGlobals::get().memory_limit;
    let Ok(limit) = usize::try_from(limit) else {
        return Ok(()); // -1: no limit
    };
    // SAFETY: called on a PHP thread during a request, where the allocator is set up.
    let used = unsafe { (get().memory_usage)(true) };
    // A large string gets whole pages of its own, plus the zend_string header.
    const OVERHEAD: usize = 4096 + 32;
    match limit.checked_sub(used) {
        Some(room) if len.saturating_add(OVERHEAD) <= room => Ok(()),
        _ => Err((limit, used)),
    }
}

fn engine_md5(message: &[u8]) -> [u8; 16] {
    match &get().md5 {
        Some(m) => {
            let mut ctx = std::mem::MaybeUninit::<Md5Ctx>::uninit();
            let mut digest = [0u8; 16];
            // SAFETY: a context of sufficient size and alignment, initialised by init before use.
            unsafe {
                (m.init)(ctx.as_mut_ptr(), std::ptr::null_mut());
                (m.update)(ctx.as_mut_ptr(), message.as_ptr().cast(), message.len());
                (m.finish)(digest.as_mut_ptr(), ctx.as_mut_ptr());
            }
            digest
        }
        None => wxpay_core::sign::md5(message),
    }
}

/// A key string for `name`: the engine's interned one when it has one (a name used as a
/// literal in a compiled script), otherwise a new string. Never adds to the interned table,
/// which attacker-chosen names could otherwise grow for the life of the request.
pub fn key_string(name: &[u8]) -> ZBox<ZendStr> {
    // SAFETY: the slot is the engine's variable; when set, it holds a handler with this C
    // signature that returns a valid string (interned ones are never freed by a release).
    unsafe {
        match *get().init_existing_interned {
            Some(init) => ZBox::from_raw(init(name.as_ptr().cast(), name.len(), false).cast()),
            None => ZendStr::new(name, false),
        }
    }
}
