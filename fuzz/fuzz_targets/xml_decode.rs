//! Arbitrary bytes into the strict flat-XML decoder (docs/protocol.md §7.1). Beyond "no panic", an
//! accepted document must obey the decoder's own contract: no duplicate field, at most
//! `MAX_FIELDS` fields, no control character or name the encoder refuses, and encode →
//! decode gives the same fields.

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
    assert!(
        fields.len() <= xml::MAX_FIELDS,
        "{} fields accepted",
        fields.len()
    );
    // One name rule both ways: whatever the decoder reads, the encoder writes.
    for (name, value) in &fields {
        if let Err(e) = xml::check_field(name, value) {
            panic!("decoded field <{name}> cannot be encoded: {e}");
        }
    }
    let text = xml::encode(&fields).expect("checked fields encode");
    match xml::decode(text.as_bytes()) {
        Ok(again) => assert_eq!(again, fields, "re-encoded as {text:?}"),
        Err(e) => panic!("re-encoded document {text:?} is refused: {e}"),
    }
});
