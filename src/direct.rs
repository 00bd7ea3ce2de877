//! Hand-written handlers for the calls a site makes on every request: signing, request
//! bodies and notifies (docs/performance.md). ext-php-rs's generated handler parses its
//! arguments into a list on every call, and the argument-rules wrapper ([`crate::args`])
//! looks the generated handler up; together that was about 240 instructions of
//! `Signer::sign`'s 9,160 (callgrind). These handlers read the arguments in
//! the engine's frame and call the same method bodies. Whenever an argument is not exactly
//! of its declared type, or the count is off, the call goes the general way
//! ([`args::checked`]), so coercion and every argument error stay decided in one place.

use crate::args::{self, Handler};
use crate::client::Client;
use crate::convert::{Bytes, PhpStr};
use crate::exceptions::PhpResult;
use crate::primitives::{Notify, Signer, Xml};
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::ffi::{zend_execute_data, zval};
use ext_php_rs::types::{ZendCallable, ZendClassObject, ZendHashTable, Zval};
use ext_php_rs::zend::{ExecuteData, run_handler};
use std::panic::AssertUnwindSafe;

/// (class, method, handler). Only methods of these classes with these names are replaced.
pub const HANDLERS: [(&str, &str, Handler); 7] = [
    ("WxPay\\Signer", "sign", signer_sign),
    ("WxPay\\Xml", "encodeSigned", xml_encode_signed),
    ("WxPay\\Xml", "decode", xml_decode),
    ("WxPay\\Client", "buildRequest", client_build_request),
    ("WxPay\\Client", "parseNotify", client_parse_notify),
    ("WxPay\\Client", "handleNotify", client_handle_notify),
    ("WxPay\\Notify", "success", notify_success),
];

/// A call's frame, read without copying.
struct Call<'a>(&'a mut ExecuteData);

impl Call<'_> {
    fn passed(&self) -> u32 {
        // SAFETY: every member of the `u2` union of `This` is the argument count in a frame.
        unsafe { self.0.This.u2.num_args }
    }

    fn arg(&self, n: u32) -> Option<&Zval> {
        if n >= self.passed() {
            return None;
        }
        // SAFETY: `n` is below the number of arguments the frame holds.
        unsafe {
            self.0
                .zend_call_arg(n as usize)
                .map(|zv| &*std::ptr::from_mut(zv))
        }
    }

    fn array(&self, n: u32) -> Option<&ZendHashTable> {
        self.arg(n).and_then(Zval::array)
    }

    fn bytes(&self, n: u32) -> Option<&[u8]> {
        self.arg(n).and_then(Zval::zend_str).map(|s| s.as_bytes())
    }

    /// The string passed as optional argument `n`, or `default` when it was not passed.
    fn bytes_or<'d>(&'d self, n: u32, default: &'d [u8]) -> Option<&'d [u8]> {
        if n < self.passed() {
            self.bytes(n)
        } else {
            Some(default)
        }
    }

    fn client(&self) -> Option<&Client> {
        let this = &self.0.This;
        this.object()
            .and_then(ZendClassObject::<Client>::from_zend_obj)
            .map(|object| &**object)
    }
}

/// Runs `body` on the frame; `None` from it means "not the declared types": the general
/// handler takes the call.
///
/// # Safety
/// `ex` and `rv` are a frame and return slot the engine passed to a handler.
unsafe fn handle<T: IntoZval>(
    ex: *mut zend_execute_data,
    rv: *mut zval,
    arguments: (u32, u32),
    body: impl FnOnce(&Call<'_>) -> Option<PhpResult<T>>,
) {
    run_handler(AssertUnwindSafe(|| {
        // SAFETY: the caller's contract; the frame outlives this call.
        let (call, retval) = unsafe {
            (
                Call(&mut *ex.cast::<ExecuteData>()),
                &mut *rv.cast::<Zval>(),
            )
        };
        let (required, declared) = arguments;
        let counted = (required..=declared).contains(&call.passed());
        match counted.then(|| body(&call)).flatten() {
            Some(Ok(value)) => {
                if let Err(e) = value.set_zval(retval, false) {
                    PhpException::from(e).throw();
                }
            }
            Some(Err(exception)) => {
                exception.throw();
            }
            // SAFETY: passed on unchanged.
            None => unsafe { args::checked(ex, rv) },
        }
    }));
}

/// `Signer::sign` and `Xml::encodeSigned` default to MD5, as their declarations say.
const MD5: &[u8] = b"MD5";

/// `Signer::sign` and `Xml::encodeSigned`: (array $params, string $key, string $signType = 'MD5').
type Signing = fn(&ZendHashTable, BinarySlice<'_, u8>, Bytes<'_>) -> PhpResult<PhpStr>;

/// # Safety
/// Called by the engine as a handler, for a method that takes [`Signing`]'s arguments.
unsafe fn signing(ex: *mut zend_execute_data, rv: *mut zval, method: Signing) {
    // SAFETY: the caller's contract.
    unsafe {
        handle(ex, rv, (2, 3), |c| {
            Some(method(
                c.array(0)?,
                BinarySlice::new(c.bytes(1)?),
                Bytes(c.bytes_or(2, MD5)?),
            ))
        });
    }
}

unsafe extern "C" fn signer_sign(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe { signing(ex, rv, Signer::sign) }
}

unsafe extern "C" fn xml_encode_signed(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe { signing(ex, rv, Xml::encodeSigned) }
}

unsafe extern "C" fn xml_decode(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe {
        handle(ex, rv, (1, 1), |c| {
            Some(Xml::decode(BinarySlice::new(c.bytes(0)?)))
        });
    }
}

unsafe extern "C" fn client_build_request(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe {
        handle(ex, rv, (1, 1), |c| {
            Some(c.client()?.buildRequest(c.array(0)?))
        });
    }
}

unsafe extern "C" fn client_parse_notify(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe {
        handle(ex, rv, (1, 1), |c| {
            Some(c.client()?.parseNotify(BinarySlice::new(c.bytes(0)?)))
        });
    }
}

unsafe extern "C" fn client_handle_notify(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe {
        handle(ex, rv, (2, 2), |c| {
            let on_paid = ZendCallable::new(c.arg(1)?).ok()?;
            Some(Ok(c
                .client()?
                .handleNotify(BinarySlice::new(c.bytes(0)?), on_paid)))
        });
    }
}

unsafe extern "C" fn notify_success(ex: *mut zend_execute_data, rv: *mut zval) {
    // SAFETY: called by the engine as a handler.
    unsafe {
        handle(ex, rv, (0, 0), |_| Some(Ok(Notify::success())));
    }
}
