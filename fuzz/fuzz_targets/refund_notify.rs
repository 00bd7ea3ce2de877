//! Refund notifies (docs/protocol.md §6). The raw bytes go in as a notify body; then the same
//! bytes, as text, become a req_info plaintext: encryption must round-trip, and a notify carrying
//! it is judged against an oracle built from the plain decoder (accepted exactly when the plaintext
//! is a flat document with the four refund fields and no field of the kept envelope repeated;
//! the result is the envelope fields of `notify::REFUND_ENVELOPE` that were sent, then the
//! decrypted ones).

#![no_main]

mod common;

use common::{APPID, CONFIGS, Fields, MCH_ID, get, resign, same};
use libfuzzer_sys::fuzz_target;
use wxpay_core::{crypto, notify, xml};

fuzz_target!(|data: &[u8]| {
    let config = &CONFIGS[0];
    let key = config.key.expose();
    if let Ok(fields) = notify::parse_refund(data, config) {
        assert_eq!(get(&fields, "appid"), Some(APPID));
        assert_eq!(get(&fields, "mch_id"), Some(MCH_ID));
    }

    let plain = String::from_utf8_lossy(data);
    let req_info = crypto::encrypt_req_info(&plain, key);
    assert_eq!(
        crypto::decrypt_req_info(&req_info, key).as_deref(),
        Ok(&*plain)
    );

    let mut outer: Fields = [
        ("return_code", "SUCCESS"),
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    // Refund notifies are unsigned (docs/protocol.md §1.4); a sign the parser must simply ignore.
    resign(&mut outer, config);
    let mut body_fields = outer.clone();
    body_fields.push(("req_info".into(), req_info));
    let body = xml::encode(&body_fields).expect("base64 and fixed fields encode");
    let got = notify::parse_refund(body.as_bytes(), config);

    // Outer fields outside the envelope (the sign here) are dropped, unauthenticated.
    let envelope: Fields = outer
        .iter()
        .filter(|(k, _)| notify::REFUND_ENVELOPE.contains(&k.as_str()))
        .cloned()
        .collect();
    let expected = xml::decode(plain.as_bytes())
        .ok()
        .map(xml::into_owned)
        .filter(|inner| {
            inner.iter().all(|(k, _)| get(&envelope, k).is_none())
                && [
                    "out_refund_no",
                    "out_trade_no",
                    "refund_fee",
                    "refund_status",
                ]
                .iter()
                .all(|name| get(inner, name).is_some_and(|v| !v.is_empty()))
        })
        .map(|inner| [envelope, inner].concat());
    match (got, expected) {
        (Ok(got), Some(expected)) => assert!(same(&got, &expected), "{got:?} != {expected:?}"),
        (Err(_), None) => {}
        (got, expected) => {
            panic!("refund notify for {plain:?}: got {got:?}, oracle says {expected:?}")
        }
    }
});
