//! Arbitrary bytes into the strict flat-XML decoder (docs/protocol.md §7.1). Beyond "no panic", an
//! accepted document must obey the decoder's own contract: no duplicate field, no control
//! character a later re-encode could not carry, and encode → decode gives the same fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wxpay_core::xml;

fuzz_target!(|data: &[u8]| {
    let Ok(fields) = xml::decode(data) else {
        return;
    };
    for (i, (name, value)) in fields.iter().enumerate() {
        assert!(
            fields[..i].iter().all(|(n, _)| n != name),
            "duplicate field <{name}> accepted"
        );
        assert!(
            !value
                .chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
            "field <{name}> kept a control character: {value:?}"
        );
    }
    // Names the decoder takes but the encoder refuses (`a:b`, non-ASCII) cannot round-trip.
    if fields.iter().any(|(n, v)| xml::check_field(n, v).is_err()) {
        return;
    }
    let text = xml::encode(&fields).expect("checked fields encode");
    match xml::decode(text.as_bytes()) {
        Ok(again) => assert_eq!(again, fields, "re-encoded as {text:?}"),
        Err(e) => panic!("re-encoded document {text:?} is refused: {e}"),
    }
});
