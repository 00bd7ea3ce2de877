//! What ext-php-rs cannot declare, added to the registered functions at run time:
//! `#[\SensitiveParameter]` ([`crate::sensitive`]) and PHP's argument rules ([`crate::args`]).

use std::sync::{Mutex, PoisonError};

/// Whether the classes registered by the last module start are amended. Reset at every
/// module start: a SAPI that restarts modules registers new classes.
static AMENDED: Mutex<bool> = Mutex::new(false);

pub fn forget() {
    *AMENDED.lock().unwrap_or_else(PoisonError::into_inner) = false;
}

/// Amends the registered functions, once per module start.
///
/// Called at request start, the first point after module start at which the classes are
/// registered (the module's startup fn runs before ext-php-rs registers classes) that is
/// reached however the module was loaded: `dl()` runs module start and request start and
/// nothing else. The lock makes concurrent first requests of ZTS threads wait until the
/// amending is done; a request never starts before it.
pub fn once() {
    let mut amended = AMENDED.lock().unwrap_or_else(PoisonError::into_inner);
    if !*amended {
        crate::sensitive::mark_all();
        crate::args::wrap_module(crate::MODULE_NAME);
        *amended = true;
    }
}
