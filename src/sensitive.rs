//! `#[\SensitiveParameter]` on every secret parameter, so that traces (with
//! `zend.exception_ignore_args=0`) and `debug_backtrace()` show
//! `Object(SensitiveParameterValue)` instead of the key. ext-php-rs cannot declare
//! attributes, so they are added to the registered methods at run time.

use crate::client::Client;
use crate::engine;
use crate::primitives::{Signer, Xml};
use ext_php_rs::class::RegisteredClass;
use ext_php_rs::ffi;
use ext_php_rs::types::ZendStr;
use ext_php_rs::zend::ClassEntry;

/// Every parameter that carries the API key: (class, method, parameter index). A new
/// method taking a secret is added here and nowhere else.
fn secret_parameters() -> [(&'static ClassEntry, &'static str, u32); 4] {
    let client = <Client as RegisteredClass>::get_metadata().ce();
    let signer = <Signer as RegisteredClass>::get_metadata().ce();
    let xml = <Xml as RegisteredClass>::get_metadata().ce();
    [
        (client, "__construct", 0), // $config
        (signer, "sign", 1),        // $key
        (signer, "verify", 1),      // $key
        (xml, "encodeSigned", 1),   // $key
    ]
}

/// Marks the secret parameters; see [`crate::amend`] for when.
pub fn mark_all() {
    for (class, method, index) in secret_parameters() {
        mark(class, method, index);
    }
}

fn mark(class: &ClassEntry, method: &str, index: u32) {
    // SAFETY: classes are registered; the function table and its entries live until
    // shutdown. The attribute name is persistent, as the engine requires for internal
    // functions; `zend_add_attribute` takes its own reference.
    unsafe {
        let function = ffi::zend_hash_str_find_ptr_lc(
            &raw const class.function_table,
            method.as_ptr().cast(),
            method.len(),
        )
        .cast::<ffi::zend_function>();
        if function.is_null() {
            return;
        }
        let mut name = ZendStr::new("SensitiveParameter", true);
        // offset = parameter index + 1; flags 1 = ZEND_ATTRIBUTE_PERSISTENT.
        (engine::get().zend_add_attribute)(
            &raw mut (*function).common.attributes,
            name.as_mut_ptr().cast(),
            0,
            1,
            index + 1,
            0,
        );
    }
}
