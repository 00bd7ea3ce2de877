//! The PHP side of `Client::handleNotify`/`handleRefundNotify`/`handleScanCallback`: calling
//! the shop's callback and writing the reason for a FAIL reply to PHP's error log. What is
//! verified, what the reply says and what the log line says are decided in
//! `wxpay_core::notify` and `wxpay_core::scan`.

use ext_php_rs::convert::IntoZvalDyn;
use ext_php_rs::exception::PhpException;
use ext_php_rs::types::{ZendCallable, Zval};
use ext_php_rs::zend::{ExecutorGlobals, ce};
use wxpay_core::notify::Handled;

/// Calls the callback. `Err` describes why it did not take the notify: it threw (the
/// exception is caught here, so that the handler can still return its FAIL reply), or it
/// returned `false`.
pub fn call(callback: &ZendCallable, args: Vec<&dyn IntoZvalDyn>) -> Result<(), String> {
    match call_for_value(callback, args)? {
        returned if returned.is_false() => Err("the callback returned false".into()),
        _ => Ok(()),
    }
}

/// Calls the callback for what it returns; `Err` describes the exception it threw.
pub fn call_for_value(
    callback: &ZendCallable,
    args: Vec<&dyn IntoZvalDyn>,
) -> Result<Zval, String> {
    callback.try_call(args).map_err(|_| take_thrown())
}

/// The message of an exception the extension built but is not going to throw (a log line
/// reports it instead).
pub fn message_of(exception: PhpException) -> String {
    exception.throw();
    let Some(thrown) = ExecutorGlobals::take_exception() else {
        return "an error without a message".into();
    };
    thrown
        .try_call_method("getMessage", vec![])
        .ok()
        .and_then(|m| m.string())
        .unwrap_or_default()
}

/// Takes the pending exception and describes it as PHP's own log of an uncaught one does
/// (`Class: message in file:line` and the trace). `exit()` inside the callback is not a
/// `Throwable` and is left pending, so the request still ends.
fn take_thrown() -> String {
    describe_thrown("the callback")
}

/// [`take_thrown`] for any PHP code the extension called: `who` names it in the text.
pub fn describe_thrown(who: &str) -> String {
    let throwable = ExecutorGlobals::get()
        .exception()
        .map(|e| e.instance_of(ce::throwable()));
    match throwable {
        None => format!("{who} could not be called"),
        Some(false) => format!("{who} ended the request (exit)"),
        Some(true) => {
            let Some(thrown) = ExecutorGlobals::take_exception() else {
                return format!("{who} threw");
            };
            let text = thrown
                .try_call_method("__toString", vec![])
                .ok()
                .and_then(|s| s.string());
            // A __toString that throws leaves its own exception: drop it too.
            drop(ExecutorGlobals::take_exception());
            let class = thrown.get_class_name().unwrap_or_default();
            format!("{who} threw {}", text.unwrap_or(class))
        }
    }
}

/// Logs why the reply is FAIL (PHP's `error_log()`: the shop's configured error log) and
/// returns the reply.
pub fn reply(handled: &Handled, handler: &str) -> String {
    if let Some(line) = handled.log_line(handler) {
        log(&line);
    }
    handled.reply()
}

/// Writes one line to PHP's error log (`error_log()`).
pub fn log(line: &str) {
    if let Ok(error_log) = ZendCallable::try_from_name("error_log") {
        let _ = error_log.try_call(vec![&line]);
    }
}
