//! Config `logger`: hands the core's log records to a PSR-3 logger or a callable. What a
//! record says, and when there is one, is decided in `wxpay_core::log`.
//!
//! When: only after the core call has returned to PHP, never from inside the HTTP runtime.
//! The runtime runs on the PHP thread inside `block_on`, so calling PHP from a future would
//! work mechanically, but PHP code could then re-enter the extension (another call on this
//! or another client: a nested `block_on`, refused) or throw, exit or time out with the
//! runtime's state half-way through an exchange. Collecting the attempts and emitting them
//! once the call is back in PHP has none of these problems; the price is that records
//! arrive when the call returns (at most its `deadline` later), not as each attempt ends.
//!
//! A logger that throws does not change the call: the exception is caught, the rest of that
//! call's records are dropped, one line goes to PHP's error log (as for a notify callback),
//! and the call returns or throws as it would have without a logger.

use crate::convert;
use ext_php_rs::convert::IntoZvalDyn;
use ext_php_rs::types::{ZendCallable, ZendHashTable, Zval};
use wxpay_core::log::{Attempt, Record, Value};

/// How the configured logger is called.
pub enum Logger {
    /// An object with public `debug()`, `info()` and `warning()` (PSR-3): `$logger->info($message, $context)`.
    Methods(Zval),
    /// An object with a public `log()`: `$logger->log($level, $message, $context)`.
    Log(Zval),
    /// Any other callable: `$logger($level, $message, $context)`.
    Callable(Zval),
}

/// `[$object, $method]`, a callable array.
fn method(object: &Zval, name: &str) -> Zval {
    let mut pair = ZendHashTable::with_capacity(2);
    let _ = pair.push(object.shallow_clone());
    let _ = pair.push(name);
    let mut zv = Zval::new();
    zv.set_hashtable(pair);
    zv
}

impl Logger {
    /// The logger `value` is, if it is one; otherwise the core refuses it, naming its type.
    pub fn recognise(value: &Zval) -> Option<Self> {
        let value = value.dereference();
        if value.is_object() {
            if ["debug", "info", "warning"]
                .iter()
                .all(|m| method(value, m).is_callable())
            {
                return Some(Self::Methods(value.shallow_clone()));
            }
            if method(value, "log").is_callable() {
                return Some(Self::Log(value.shallow_clone()));
            }
        }
        value
            .is_callable()
            .then(|| Self::Callable(value.shallow_clone()))
    }

    /// What `var_dump` shows: the logger's class, or "callable".
    pub fn describe(&self) -> String {
        match self {
            Self::Methods(o) | Self::Log(o) => o
                .object()
                .and_then(|o| o.get_class_name().ok())
                .unwrap_or_else(|| "object".into()),
            Self::Callable(c) => match c.object() {
                Some(o) => o.get_class_name().unwrap_or_else(|_| "callable".into()),
                None => "callable".into(),
            },
        }
    }

    /// Logs every record of `attempts`, in order. Stops at the first record the logger
    /// does not take (it threw, exited, or is no longer callable).
    pub fn emit(&self, attempts: Vec<Attempt>) {
        let records: Vec<Record> = attempts.iter().flat_map(Attempt::records).collect();
        let total = records.len();
        for (i, record) in records.iter().enumerate() {
            if let Err(why) = self.log(record) {
                let call = record
                    .context
                    .iter()
                    .find_map(|(k, v)| match (k, v) {
                        (&"call", Value::Str(c)) => Some(c.as_str()),
                        _ => None,
                    })
                    .unwrap_or("a call");
                let line = format!(
                    "wxpay: config \"logger\" failed while logging {call} ({} of {total} \
                     record(s) not logged; the call went on): {why}",
                    total - i
                );
                if let Ok(error_log) = ZendCallable::try_from_name("error_log") {
                    let _ = error_log.try_call(vec![&line]);
                }
                return;
            }
        }
    }

    fn log(&self, record: &Record) -> Result<(), String> {
        let level = record.level.as_str();
        let mut context = Zval::new();
        context.set_hashtable(context_array(&record.context));
        let message = record.message.as_str();
        let (callable, args): (Zval, Vec<&dyn IntoZvalDyn>) = match self {
            Self::Methods(o) => (method(o, level), vec![&message, &context]),
            Self::Log(o) => (method(o, "log"), vec![&level, &message, &context]),
            Self::Callable(c) => (c.shallow_clone(), vec![&level, &message, &context]),
        };
        let callable = ZendCallable::new_owned(callable)
            .map_err(|_| "the logger is no longer callable".to_owned())?;
        match callable.try_call(args) {
            Ok(_) => Ok(()),
            Err(_) => Err(crate::handlers::describe_thrown("the logger")),
        }
    }
}

fn context_array(context: &[(&'static str, Value)]) -> ext_php_rs::boxed::ZBox<ZendHashTable> {
    let mut ht = ZendHashTable::with_capacity(u32::try_from(context.len()).unwrap_or(u32::MAX));
    for (key, value) in context {
        let mut zv = Zval::new();
        match value {
            Value::Null => zv.set_null(),
            Value::Bool(b) => zv.set_bool(*b),
            Value::Int(i) => zv.set_long(*i),
            Value::Float(f) => zv.set_double(*f),
            Value::Str(s) => {
                let _ = zv.set_string(s, false);
            }
            Value::Fields(fields) => zv.set_hashtable(convert::owned_fields_to_array(fields)),
        }
        let _ = ht.insert(*key, zv);
    }
    ht
}
