//! The exception hierarchy of DESIGN.md §2, registered with `ClassBuilder` so the classes
//! are ordinary PHP exceptions: the engine's `create_object` fills file, line and trace,
//! and PHP code can construct and extend them. (`#[php_class]` exceptions get neither.)

use crate::engine;
use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::ffi;
use ext_php_rs::flags::{DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData, ExecutorGlobals};
use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, Ordering};
use wxpay_core::Error;

/// The registered classes, in registration order (parents first).
#[derive(Clone, Copy)]
pub enum Class {
    Base,
    Config,
    InvalidArgument,
    Xml,
    Signature,
    Http,
    Api,
}

const CLASSES: [(Class, &str); 7] = [
    (Class::Base, "WxPay\\Exception"),
    (Class::Config, "WxPay\\ConfigException"),
    (Class::InvalidArgument, "WxPay\\InvalidArgumentException"),
    (Class::Xml, "WxPay\\XmlException"),
    (Class::Signature, "WxPay\\SignatureException"),
    (Class::Http, "WxPay\\HttpException"),
    (Class::Api, "WxPay\\ApiException"),
];

static ENTRIES: [AtomicPtr<ClassEntry>; 7] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 7];

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
}

/// `method → protected property`; one native handler serves them all.
const GETTERS: &[(Class, &str, &CStr, Kind)] = &[
    (Class::Http, "isTimeout", c"timeout", Kind::Bool),
    (Class::Http, "getStatus", c"status", Kind::NullableInt),
    (Class::Api, "getReturnCode", c"returnCode", Kind::Str),
    (Class::Api, "getReturnMsg", c"returnMsg", Kind::Str),
    (Class::Api, "getResultCode", c"resultCode", Kind::Str),
    (Class::Api, "getErrCode", c"errCode", Kind::Str),
    (Class::Api, "getErrCodeDes", c"errCodeDes", Kind::Str),
    (Class::Api, "isRetryable", c"retryable", Kind::Bool),
    (Class::Api, "getResponse", c"response", Kind::Array),
];

fn default_of(kind: Kind) -> Box<dyn FnOnce() -> ext_php_rs::error::Result<Zval>> {
    Box::new(move || {
        let mut zv = Zval::new();
        match kind {
            Kind::Str => "".set_zval(&mut zv, true)?,
            Kind::Bool => zv.set_bool(false),
            Kind::NullableInt | Kind::Array => zv.set_null(),
        }
        Ok(zv)
    })
}

fn returns(kind: Kind) -> (DataType, bool) {
    match kind {
        Kind::Str => (DataType::String, false),
        Kind::Bool => (DataType::Bool, false),
        Kind::NullableInt => (DataType::Long, true),
        Kind::Array => (DataType::Array, false),
    }
}

extern "C" fn read_getter(ex: &mut ExecuteData, retval: &mut Zval) {
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
    let Some(&(_, _, property, kind)) = GETTERS.iter().find(|g| g.1.as_bytes() == name) else {
        return;
    };
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
    match value {
        Some(v) if !v.is_null() => *retval = v.shallow_clone(),
        _ => match kind {
            Kind::Array => retval.set_hashtable(ZendHashTable::new()),
            _ => retval.set_null(),
        },
    }
}

fn register_one(class: Class, name: &str) -> ext_php_rs::error::Result<()> {
    let parent: ext_php_rs::class::ClassEntryInfo = match class {
        Class::Base => (engine::runtime_exception, "\\RuntimeException"),
        _ => (|| Class::Base.entry(), "\\WxPay\\Exception"),
    };
    let mut builder = ClassBuilder::new(name).extends(parent);
    for &(owner, method, property, kind) in GETTERS {
        if owner as usize != class as usize {
            continue;
        }
        let (ty, nullable) = returns(kind);
        builder = builder
            .property(ClassProperty {
                name: property.to_string_lossy().into_owned(),
                flags: PropertyFlags::Protected,
                default: Some(default_of(kind)),
                docs: &[],
                ty: None,
                nullable: false,
                readonly: false,
                default_stub: None,
            })
            .method(
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
            response.set_hashtable(crate::convert::fields_to_array(
                e.response.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ));
            object(
                Class::Api,
                &message,
                &[
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
    PhpException::new(message, 0, class.entry())
}

/// Shorthand for `InvalidArgumentException`.
pub fn invalid(message: String) -> PhpException {
    simple(Class::InvalidArgument, message)
}

pub type PhpResult<T> = Result<T, PhpException>;
