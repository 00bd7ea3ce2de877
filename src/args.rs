//! PHP's own argument rules for every wxpay method and function.
//!
//! ext-php-rs converts arguments strictly whatever the caller declares, and its TypeError
//! ("Invalid value given for argument `x`") names neither the method nor the types. So each
//! handler it registers is wrapped once the classes exist: the wrapper applies the engine's
//! rules to the types declared in the arginfo (coercive, or strict when the calling file
//! declares `strict_types=1`; PHP's TypeError texts) and then calls the generated handler,
//! which from then on only sees values of the declared types. Argument counts are already
//! checked by ext-php-rs with the engine's own `ArgumentCountError`.

use crate::engine;
use ext_php_rs::error::php_error;
use ext_php_rs::ffi::{
    self, IS_ARRAY, IS_CALLABLE, IS_DOUBLE, IS_LONG, IS_STRING, MAY_BE_ANY, MAY_BE_BOOL,
    ZEND_ACC_STRICT_TYPES, zend_execute_data, zend_function, zval,
};
use ext_php_rs::flags::ErrorType;
use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};
use ext_php_rs::zend::{ExecuteData, ExecutorGlobals};
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicPtr, Ordering};

pub type Handler = unsafe extern "C" fn(*mut zend_execute_data, *mut zval);

/// A wrapped function and the handler ext-php-rs generated for it.
struct Wrapped {
    function: usize,
    generated: Handler,
}

/// Sorted by function address. Replaced (and the old table leaked, a few hundred bytes) when
/// a SAPI restarts modules: a request still running on the old classes must find its entry.
static WRAPPED: AtomicPtr<Vec<Wrapped>> = AtomicPtr::new(std::ptr::null_mut());

const MAY_BE_CALLABLE: u32 = 1 << IS_CALLABLE;
const SCALARS: u32 = MAY_BE_BOOL | 1 << IS_LONG | 1 << IS_DOUBLE | 1 << IS_STRING;

/// Fixes for mistakes that PHP's message alone leaves puzzling: (method, argument number,
/// type given, what to append).
const HINTS: [(&str, u32, u32, &str); 2] = [
    ("jsapiParams", 1, IS_ARRAY, WHOLE_ANSWER),
    ("appParams", 1, IS_ARRAY, WHOLE_ANSWER),
];
const WHOLE_ANSWER: &str = "; pass $result['prepay_id'], not the whole unifiedOrder() answer";

/// Wraps every function and method that `module` registered and that takes arguments.
/// Called once per module start, after ext-php-rs has registered the classes.
pub fn wrap_module(module: &str) {
    let mut wrapped = Vec::new();
    let globals = ExecutorGlobals::get();
    if let Some(functions) = globals.function_table() {
        wrap_table(functions, module, &mut wrapped);
    }
    if let Some(classes) = globals.class_table() {
        for class in classes.values() {
            // SAFETY: the class table holds class entries; an internal class's methods live
            // in its function table until module shutdown.
            unsafe {
                let ce = class.value.ptr.cast::<ffi::zend_class_entry>();
                if let Some(methods) = ce.as_ref().map(|ce| &ce.function_table) {
                    wrap_table(
                        &*std::ptr::from_ref(methods).cast::<ZendHashTable>(),
                        module,
                        &mut wrapped,
                    );
                }
            }
        }
    }
    wrapped.sort_by_key(|w| w.function);
    let old = WRAPPED.swap(Box::into_raw(Box::new(wrapped)), Ordering::AcqRel);
    // Leaked on purpose, see WRAPPED.
    let _ = old;
}

fn wrap_table(table: &ZendHashTable, module: &str, wrapped: &mut Vec<Wrapped>) {
    for entry in table.values() {
        // SAFETY: function tables hold zend_function pointers; internal ones carry the module
        // that registered them. Only our own functions with parameters are touched.
        unsafe {
            let function = entry.value.ptr.cast::<zend_function>();
            let Some(f) = function.as_mut() else { continue };
            if u32::from(f.type_) != ffi::ZEND_INTERNAL_FUNCTION
                || f.internal_function.module.is_null()
                || CStr::from_ptr((*f.internal_function.module).name).to_bytes()
                    != module.as_bytes()
            {
                continue;
            }
            let direct = direct_handler(f);
            if f.common.num_args == 0 && direct.is_none() {
                continue;
            }
            // Inherited methods share the entry of the class that declared them.
            if wrapped.iter().any(|w| w.function == function as usize) {
                continue;
            }
            if let Some(generated) = f.internal_function.handler {
                wrapped.push(Wrapped {
                    function: function as usize,
                    generated,
                });
                f.internal_function.handler = Some(direct.unwrap_or(checked));
            }
        }
    }
}

/// The hand-written handler for `f` ([`crate::direct`]), if it has one.
///
/// # Safety
/// `f` is a registered internal function.
unsafe fn direct_handler(f: &zend_function) -> Option<Handler> {
    // SAFETY: a method's scope is its class entry, whose name is a live string.
    let (class, name) = unsafe {
        (
            f.common.scope.as_ref()?.name.as_ref()?.as_bytes(),
            f.common.function_name.as_ref()?.as_bytes(),
        )
    };
    crate::direct::HANDLERS
        .iter()
        .find(|(c, m, _)| c.as_bytes() == class && m.as_bytes() == name)
        .map(|&(_, _, handler)| handler)
}

/// The handler of every wrapped function, and the general path of the hand-written ones.
///
/// # Safety
/// Called as a handler by the engine, with its frame and return slot.
pub unsafe extern "C" fn checked(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: the engine calls handlers with its frame and return slot; the table was
    // published before any wrapped handler could be called.
    unsafe {
        let function = (*ex).func as usize;
        let table = &*WRAPPED.load(Ordering::Acquire);
        let Ok(i) = table.binary_search_by_key(&function, |w| w.function) else {
            unreachable_handler();
            return;
        };
        if conform(&mut *ex.cast::<ExecuteData>()) {
            (table[i].generated)(ex, rv);
        }
    }
}

#[cold]
fn unreachable_handler() {
    // Not reachable: only functions recorded in the table get this handler. Said to PHP
    // rather than panicking, which must not cross into the engine.
    ext_php_rs::exception::PhpException::new(
        "wxpay: a wrapped handler is missing from its table".into(),
        0,
        ext_php_rs::zend::ce::error(),
    )
    .throw();
}

/// Brings every passed argument to its declared type, as the engine does for an internal
/// function; false (with the TypeError thrown) when one cannot be.
///
/// # Safety
/// `ex` is the frame of a call to a wrapped function.
unsafe fn conform(ex: &mut ExecuteData) -> bool {
    // SAFETY: see above: `func` and its arginfo are the called function's.
    unsafe {
        let f = &*ex.func;
        let passed = ex.This.u2.num_args.min(f.common.num_args);
        let strict = caller_is_strict(ex);
        for n in 0..passed {
            let info = &*f.internal_function.arg_info.add(n as usize);
            let Some(arg) = ex.zend_call_arg(n as usize) else {
                continue;
            };
            if !conform_one(f, n + 1, info, arg, strict) {
                return false;
            }
        }
        true
    }
}

/// `ZEND_ARG_USES_STRICT_TYPES()`: the file that made the call declares `strict_types=1`.
fn caller_is_strict(ex: &ExecuteData) -> bool {
    // SAFETY: frames and their functions live for the duration of the call.
    unsafe {
        ex.prev_execute_data
            .as_ref()
            .and_then(|caller| caller.func.as_ref())
            .is_some_and(|func| func.common.fn_flags & ZEND_ACC_STRICT_TYPES != 0)
    }
}

/// # Safety
/// `info` is the arginfo of parameter `num` of `f`, `arg` the value passed for it.
unsafe fn conform_one(
    f: &zend_function,
    num: u32,
    info: &ArgInfo,
    arg: &mut Zval,
    strict: bool,
) -> bool {
    let rules = &engine::get().arguments;
    let declared = info.type_.type_mask & (MAY_BE_ANY | MAY_BE_CALLABLE);
    // A class type (none is declared today) or `mixed`: the generated handler decides.
    if !info.type_.ptr.is_null() || declared & MAY_BE_ANY == MAY_BE_ANY {
        return true;
    }
    let arg = deref(arg);
    // SAFETY: every zval has its type byte set.
    let given = u32::from(unsafe { arg.u1.v.type_ });
    if declared & (1 << given) != 0 {
        return true;
    }
    // SAFETY: engine functions on the live argument and the called function's arginfo.
    unsafe {
        if declared & MAY_BE_CALLABLE != 0 {
            return callable(num, arg);
        }
        if declared & SCALARS != 0 {
            let arg_ptr = std::ptr::from_mut(arg).cast::<zval>();
            if (rules.verify_scalar)(declared, arg_ptr, strict, true) {
                // In coercive mode null reaches a scalar parameter of an internal function
                // with a deprecation (PHP 8.1+, raised by ZPP, not by the check above) and
                // means the type's zero value.
                if arg.is_null() {
                    let name = arg_name(info);
                    php_error(
                        &ErrorType::Deprecated,
                        &format!(
                            "Passing null to parameter #{num} (${name}) of type {} is deprecated",
                            declared_type(info)
                        ),
                    );
                    if ExecutorGlobals::has_exception() {
                        return false; // the error handler threw
                    }
                    set_zero(arg, declared);
                }
                return true;
            }
            if ExecutorGlobals::has_exception() {
                return false; // a deprecation the error handler turned into an exception
            }
        }
        type_error(f, num, info, arg, given);
    }
    false
}

/// An internal function's parameter as the engine keeps it: PHP 8.6 turns the registered
/// `zend_internal_arg_info` into `zend_arg_info` (names as strings) at registration.
#[cfg(php86)]
type ArgInfo = ffi::zend_arg_info;
#[cfg(not(php86))]
type ArgInfo = ffi::zend_internal_arg_info;

/// The parameter's name.
///
/// # Safety
/// `info` is the engine's arginfo of a registered function.
#[cfg(php86)]
unsafe fn arg_name(info: &ArgInfo) -> std::borrow::Cow<'_, str> {
    // SAFETY: the caller's contract: the name is a live string.
    String::from_utf8_lossy(unsafe { (*info.name.cast::<ZendStr>()).as_bytes() })
}

#[cfg(not(php86))]
unsafe fn arg_name(info: &ArgInfo) -> std::borrow::Cow<'_, str> {
    // SAFETY: the caller's contract: the name is a NUL-terminated string.
    unsafe { CStr::from_ptr(info.name) }.to_string_lossy()
}

/// The parameter's type as PHP spells it (`string`, `?int`, …).
fn declared_type(info: &ArgInfo) -> String {
    // SAFETY: the engine builds a new string from the arginfo type; released after use.
    unsafe {
        let declared = (engine::get().arguments.type_to_string)(info.type_);
        let text = String::from_utf8_lossy((*declared.cast::<ZendStr>()).as_bytes()).into_owned();
        ffi::ext_php_rs_zend_string_release(declared);
        text
    }
}

fn deref(arg: &mut Zval) -> &mut Zval {
    if arg.is_reference() {
        // SAFETY: a reference zval points at a live zend_reference.
        unsafe { &mut *std::ptr::from_mut(&mut (*arg.value.ref_).val).cast::<Zval>() }
    } else {
        arg
    }
}

/// The value ZPP gives a scalar parameter for null: "", 0, 0.0 or false.
fn set_zero(arg: &mut Zval, declared: u32) {
    if declared & (1 << IS_STRING) != 0 {
        arg.set_string("", false).ok();
    } else if declared & (1 << IS_LONG) != 0 {
        arg.set_long(0);
    } else if declared & (1 << IS_DOUBLE) != 0 {
        arg.set_double(0.0);
    } else {
        arg.set_bool(false);
    }
}

/// # Safety
/// Called from a wrapped handler, with its argument `num`.
unsafe fn callable(num: u32, arg: &mut Zval) -> bool {
    let mut error: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: `error` is set to an emalloc'd text on failure, which the engine's
    // zend_wrong_callback_error frees.
    unsafe {
        let ok = ffi::zend_is_callable_ex(
            std::ptr::from_mut(arg).cast(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &raw mut error,
        );
        if ok {
            if !error.is_null() {
                ext_php_rs::alloc::efree(error.cast());
            }
            return true;
        }
        if error.is_null() {
            return false;
        }
        (engine::get().arguments.wrong_callback_error)(num, error);
    }
    false
}

/// PHP's "must be of type T, U given", with the fix for a known slip appended.
///
/// # Safety
/// Called from a wrapped handler, with its argument `num` and that parameter's arginfo.
unsafe fn type_error(f: &zend_function, num: u32, info: &ArgInfo, arg: &Zval, given: u32) {
    let rules = &engine::get().arguments;
    // SAFETY: an engine function returning a static name.
    unsafe {
        let need = declared_type(info);
        let value = CStr::from_ptr((rules.value_name)(std::ptr::from_ref(arg).cast()));
        let method = f
            .common
            .function_name
            .as_ref()
            .map(|n| n.as_bytes())
            .unwrap_or_default();
        let hint = HINTS
            .iter()
            .find(|h| h.0.as_bytes() == method && h.1 == num && h.2 == given)
            .map_or("", |h| h.3);
        let message = format!(
            "must be of type {need}, {} given{hint}",
            value.to_string_lossy()
        );
        let message = CString::new(message).unwrap_or_default();
        (rules.argument_type_error)(num, c"%s".as_ptr(), message.as_ptr());
    }
}
