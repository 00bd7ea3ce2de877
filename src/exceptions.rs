//! The exception hierarchy, registered with `ClassBuilder` so the classes are ordinary PHP
//! exceptions: the engine's `create_object` fills file, line and trace, and PHP code can
//! construct and extend them. (`#[php_class]` exceptions get neither.) As in PHP's own
//! extensions and stripe-php, one marker interface catches everything, and argument errors
//! are `\InvalidArgumentException`s while runtime failures are `\RuntimeException`s:
//!
//! ```text
//! interface ExceptionInterface extends \Throwable
//! InvalidArgumentException, ConfigException extends \InvalidArgumentException
//! Exception extends \RuntimeException: XmlException, SignatureException, HttpException,
//!     ApiException, OutcomeUnknownException
//! ```

use crate::engine;
use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::ffi;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::flags::{DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData, ExecutorGlobals};
use ext_php_rs::zend::{ce, run_handler};
use std::ffi::CStr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicPtr, Ordering};
use wxpay_core::Error;

/// The registered classes and the interface, in registration order (parents first).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Interface,
    Base,
    Config,
    InvalidArgument,
    Xml,
    Signature,
    Http,
    Api,
    OutcomeUnknown,
}

const CLASSES: [(Class, &str); 9] = [
    (Class::Interface, "WxPay\\ExceptionInterface"),
    (Class::Base, "WxPay\\Exception"),
    (Class::Config, "WxPay\\ConfigException"),
    (Class::InvalidArgument, "WxPay\\InvalidArgumentException"),
    (Class::Xml, "WxPay\\XmlException"),
    (Class::Signature, "WxPay\\SignatureException"),
    (Class::Http, "WxPay\\HttpException"),
    (Class::Api, "WxPay\\ApiException"),
    (Class::OutcomeUnknown, "WxPay\\OutcomeUnknownException"),
];

static ENTRIES: [AtomicPtr<ClassEntry>; 9] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 9];

impl Class {
    pub fn entry(self) -> &'static ClassEntry {
        let p = ENTRIES[self as usize].load(Ordering::Acquire);
        // SAFETY: set at module start to a class entry the engine keeps until shutdown;
        // methods that throw cannot run before module start.
        unsafe { p.as_ref() }.unwrap_or_else(|| unreachable!("exception classes registered"))
    }
}

/// What a getter returns when its property is unset.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    NullableInt,
    Array,
    /// No property: always `false`, whatever a subclass sets.
    False,
}

/// `method → protected property`; one native handler serves them all.
const GETTERS: &[(Class, &str, &CStr, Kind)] = &[
    (Class::Http, "isTimeout", c"timeout", Kind::Bool),
    (Class::Http, "getStatus", c"status", Kind::NullableInt),
    (Class::Api, "getCall", c"call", Kind::Str),
    (Class::Api, "getReturnCode", c"returnCode", Kind::Str),
    (Class::Api, "getReturnMsg", c"returnMsg", Kind::Str),
    (Class::Api, "getResultCode", c"resultCode", Kind::Str),
    (Class::Api, "getErrCode", c"errCode", Kind::Str),
    (Class::Api, "getErrCodeDes", c"errCodeDes", Kind::Str),
    (Class::Api, "isRetryable", c"retryable", Kind::Bool),
    (Class::Api, "getResponse", c"response", Kind::Array),
    (Class::OutcomeUnknown, "getCall", c"call", Kind::Str),
    (
        Class::OutcomeUnknown,
        "getOutTradeNo",
        c"outTradeNo",
        Kind::Str,
    ),
    (
        Class::OutcomeUnknown,
        "getResponses",
        c"responses",
        Kind::Array,
    ),
    // Retrying what left the outcome unknown (micropay with a new number) is the mistake.
    (Class::OutcomeUnknown, "isRetryable", c"", Kind::False),
];

fn default_of(kind: Kind) -> Box<dyn FnOnce() -> ext_php_rs::error::Result<Zval>> {
    Box::new(move || {
        let mut zv = Zval::new();
        match kind {
            Kind::Str => "".set_zval(&mut zv, true)?,
            Kind::Bool | Kind::False => zv.set_bool(false),
            Kind::NullableInt | Kind::Array => zv.set_null(),
        }
        Ok(zv)
    })
}

fn returns(kind: Kind) -> (DataType, bool) {
    match kind {
        Kind::Str => (DataType::String, false),
        Kind::Bool | Kind::False => (DataType::Bool, false),
        Kind::NullableInt => (DataType::Long, true),
        Kind::Array => (DataType::Array, false),
    }
}

/// The one native getter. A panic must not unwind into the engine (that aborts PHP):
/// `run_handler` turns it into `\Error("Rust panic: …")`, as for generated handlers.
pub extern "C" fn read_getter(ex: &mut ExecuteData, retval: &mut Zval) {
    run_handler(AssertUnwindSafe(|| read_getter_inner(ex, retval)));
}

fn read_getter_inner(ex: &mut ExecuteData, retval: &mut Zval) {
    if ex.parser().parse().is_err() {
        return;
    }
    // SAFETY: the engine sets `func` for every call; `function_name` is an interned string
    // and `scope` the class that declared the method.
    let (name, scope) = unsafe {
        let func = &*ex.func;
        let name = func.common.function_name.as_ref().map(|s| s.as_bytes());
        (name.unwrap_or_default(), func.common.scope)
    };
    let Some(&(_, _, property, kind)) = GETTERS
        .iter()
        .find(|g| g.1.as_bytes() == name && std::ptr::eq(g.0.entry(), scope.cast_const().cast()))
    else {
        // Only registered as the getters above; the debug build's test hook lands here.
        panic!("no wxpay getter named {}", String::from_utf8_lossy(name));
    };
    if let Kind::False = kind {
        retval.set_bool(false);
        return;
    }
    let Some(this) = ex.get_self() else { return };
    let mut rv = Zval::new();
    // SAFETY: reading a declared property of `this` in the declaring class's scope.
    let value = unsafe {
        ffi::zend_read_property(
            scope,
            std::ptr::from_mut(this),
            property.as_ptr(),
            property.count_bytes(),
            true,
            &raw mut rv,
        )
        .as_ref()
    };
    let value = value.map(Zval::dereference);
    match value {
        // Unset or null (a subclass that never called the parent constructor): the getter's
        // default, which has the declared type.
        None => set_default(retval, kind),
        Some(v) if v.is_null() => set_default(retval, kind),
        Some(v) if has_type(v, kind) => *retval = v.shallow_clone(),
        // A subclass stored another type. Returning it would break the declared return
        // type, and silently coercing would hide the subclass's bug: throw what PHP throws
        // for a user method declared with that return type under strict_types.
        Some(v) => {
            let class = CLASSES
                .iter()
                .find(|c| std::ptr::eq(c.0.entry(), scope.cast_const().cast()))
                .map_or("WxPay\\Exception", |c| c.1);
            let (declared, _) = returns(kind);
            let declared = match kind {
                Kind::NullableInt => "?int",
                _ => php_type_name(declared),
            };
            let message = format!(
                "{class}::{}(): Return value must be of type {declared}, {} returned",
                String::from_utf8_lossy(name),
                value_type(v)
            );
            let _ = ext_php_rs::exception::throw(ce::type_error(), &message);
        }
    }
}

fn set_default(retval: &mut Zval, kind: Kind) {
    match kind {
        Kind::Str => retval.set_string("", false).unwrap_or_default(),
        Kind::Bool | Kind::False => retval.set_bool(false),
        Kind::NullableInt => retval.set_null(),
        Kind::Array => retval.set_hashtable(ZendHashTable::new()),
    }
}

fn has_type(v: &Zval, kind: Kind) -> bool {
    match kind {
        Kind::Str => v.is_string(),
        Kind::Bool | Kind::False => v.is_bool(),
        Kind::NullableInt => v.is_long(),
        Kind::Array => v.is_array(),
    }
}

fn php_type_name(ty: DataType) -> &'static str {
    match ty {
        DataType::String => "string",
        DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Array => "array",
        _ => "mixed",
    }
}

/// The type name PHP's own return-type errors use (`zend_zval_value_name`).
fn value_type(v: &Zval) -> String {
    if let Some(obj) = v.object() {
        // An anonymous class's name continues after a NUL with its file: PHP stops there too.
        let name = obj.get_class_name().unwrap_or_default();
        return name.split('\0').next().unwrap_or_default().to_owned();
    }
    let name = if v.is_string() {
        "string"
    } else if v.is_long() {
        "int"
    } else if v.is_double() {
        "float"
    } else if v.is_bool() {
        "bool"
    } else if v.is_array() {
        "array"
    } else {
        "resource"
    };
    name.to_owned()
}

fn register_one(class: Class, name: &str) -> ext_php_rs::error::Result<()> {
    let interface: ext_php_rs::class::ClassEntryInfo =
        (|| Class::Interface.entry(), "\\WxPay\\ExceptionInterface");
    let builder = ClassBuilder::new(name);
    let mut builder = match class {
        Class::Interface => builder
            .flags(ClassFlags::Interface)
            .implements((ce::throwable, "\\Throwable")),
        Class::Base => builder
            .extends((engine::runtime_exception, "\\RuntimeException"))
            .implements(interface),
        Class::Config | Class::InvalidArgument => builder
            .extends((
                engine::invalid_argument_exception,
                "\\InvalidArgumentException",
            ))
            .implements(interface),
        _ => builder.extends((|| Class::Base.entry(), "\\WxPay\\Exception")),
    };
    for &(owner, method, property, kind) in GETTERS {
        if owner != class {
            continue;
        }
        let (ty, nullable) = returns(kind);
        if !matches!(kind, Kind::False) {
            builder = builder.property(ClassProperty {
                name: property.to_string_lossy().into_owned(),
                flags: PropertyFlags::Protected,
                default: Some(default_of(kind)),
                docs: &[],
                ty: None,
                nullable: false,
                readonly: false,
                default_stub: None,
            });
        }
        builder = builder.method(
            FunctionBuilder::new(method, read_getter).returns(ty, false, nullable),
            MethodFlags::Public,
        );
    }
    // The callback is a plain fn with no way to know its class, so it parks the entry and
    // this (single-threaded, module start) code files it.
    static REGISTERED: AtomicPtr<ClassEntry> = AtomicPtr::new(std::ptr::null_mut());
    builder
        .registration(|ce, _| REGISTERED.store(ce, Ordering::Release))
        .register()?;
    ENTRIES[class as usize].store(REGISTERED.load(Ordering::Acquire), Ordering::Release);
    Ok(())
}

/// Registers every class; called from the module startup function.
pub fn register() -> ext_php_rs::error::Result<()> {
    for (class, name) in CLASSES {
        register_one(class, name)?;
    }
    Ok(())
}

/// Builds an exception object of `class` with `message` and extra protected properties.
fn object(class: Class, message: &str, props: &[(&str, Zval)]) -> ext_php_rs::error::Result<Zval> {
    let ce = class.entry();
    let mut obj = ZendObject::new(ce);
    // Protected members are written in the class's own scope, as zend_update_property does.
    let previous = std::mem::replace(
        &mut ExecutorGlobals::get_mut().fake_scope,
        std::ptr::from_ref(ce).cast_mut().cast(),
    );
    let mut result = obj.set_property("message", message);
    for (name, value) in props {
        if result.is_ok() {
            result = obj.set_property(name, value.shallow_clone());
        }
    }
    ExecutorGlobals::get_mut().fake_scope = previous;
    result?;
    obj.into_zval(false)
}

fn string_zval(s: &str) -> Zval {
    let mut zv = Zval::new();
    let _ = s.set_zval(&mut zv, false);
    zv
}

/// Builds the PHP exception object that reports a core error (thrown, or handed back as a
/// value by `queryOrders`).
pub fn exception_object(error: &Error) -> ext_php_rs::error::Result<Zval> {
    let message = error.to_string();
    match error {
        Error::Config(_) => object(Class::Config, &message, &[]),
        Error::InvalidArgument(_) => object(Class::InvalidArgument, &message, &[]),
        Error::Xml(_) => object(Class::Xml, &message, &[]),
        Error::Signature(_) => object(Class::Signature, &message, &[]),
        Error::Http(e) => {
            let mut timeout = Zval::new();
            timeout.set_bool(e.timeout);
            let mut status = Zval::new();
            match e.status {
                Some(s) => status.set_long(i64::from(s)),
                None => status.set_null(),
            }
            object(
                Class::Http,
                &message,
                &[("timeout", timeout), ("status", status)],
            )
        }
        Error::Api(e) => {
            let mut retryable = Zval::new();
            retryable.set_bool(e.is_retryable());
            let mut response = Zval::new();
            response.set_hashtable(crate::convert::owned_fields_to_array(&e.response));
            object(
                Class::Api,
                &message,
                &[
                    ("call", string_zval(&e.call)),
                    ("returnCode", string_zval(&e.return_code)),
                    ("returnMsg", string_zval(&e.return_msg)),
                    ("resultCode", string_zval(&e.result_code)),
                    ("errCode", string_zval(&e.err_code)),
                    ("errCodeDes", string_zval(&e.err_code_des)),
                    ("retryable", retryable),
                    ("response", response),
                ],
            )
        }
        Error::OutcomeUnknown(e) => {
            let mut responses = ZendHashTable::with_capacity(e.responses.len() as u32);
            for (call, fields) in &e.responses {
                let mut answer = Zval::new();
                answer.set_hashtable(crate::convert::owned_fields_to_array(fields));
                responses.insert(call.as_str(), answer)?;
            }
            let mut responses_zv = Zval::new();
            responses_zv.set_hashtable(responses);
            object(
                Class::OutcomeUnknown,
                &message,
                &[
                    ("call", string_zval(&e.call)),
                    ("outTradeNo", string_zval(&e.out_trade_no)),
                    ("responses", responses_zv),
                ],
            )
        }
    }
}

/// Maps a core error to the PHP exception that reports it.
pub fn to_php(error: Error) -> PhpException {
    match exception_object(&error) {
        Ok(obj) => PhpException::new(String::new(), 0, Class::Base.entry()).with_object(obj),
        Err(e) => simple(
            Class::Base,
            format!("{error} (exception details lost: {e})"),
        ),
    }
}

pub fn simple(class: Class, message: String) -> PhpException {
    // Built as an object like every other exception: ext-php-rs's own path copies the
    // message into a C string, and a NUL byte in it (from a caller's array key) would turn
    // the exception into `\Error: cannot throw …`.
    match object(class, &message, &[]) {
        Ok(obj) => PhpException::new(String::new(), 0, class.entry()).with_object(obj),
        Err(_) => PhpException::new(message.replace('\0', "\\0"), 0, class.entry()),
    }
}

/// Shorthand for `InvalidArgumentException`.
pub fn invalid(message: String) -> PhpException {
    simple(Class::InvalidArgument, message)
}

pub type PhpResult<T> = Result<T, PhpException>;
