//! Differential: `xml::decode` answers from a fast reader for the common shape and falls
//! back to the full quick-xml decoder otherwise. Whatever the fast reader accepts must be
//! exactly what the full decoder gives, and every refusal must be the full decoder's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wxpay_core::xml;

fuzz_target!(|data: &[u8]| {
    assert_eq!(
        xml::decode(data),
        xml::decode_full_with_limit(data, xml::DEFAULT_MAX_BYTES)
    );
});
