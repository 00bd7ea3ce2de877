//! Payment notifies (docs/protocol.md §5, §7.2). Two halves per input:
//! - the raw bytes as a notify body, for both pinned sign types: refused or, if ever
//!   accepted, verifiably ours (signed, our merchant; parse_payment only when SUCCESS);
//! - a notify built from fuzzer-chosen values and signed correctly must be accepted with
//!   exactly its fields, and flipping one byte of any value must get it refused.

#![no_main]

mod common;

use common::{APPID, CONFIGS, Fields, MCH_ID, get, resign, same};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wxpay_core::{notify, sign, xml};

fuzz_target!(|data: &[u8]| {
    for config in CONFIGS.iter() {
        // verify_payment (what handleNotify's callback gets) accepts only what is signed and
        // ours, paid or a FAIL; parse_payment accepts exactly the paid ones.
        let verified = notify::verify_payment(data, config);
        if let Ok(n) = &verified {
            assert_eq!(
                sign::verify(&n.fields, config.key.expose(), config.sign_type),
                Ok(())
            );
            assert_eq!(get(&n.fields, "appid"), Some(APPID));
            assert_eq!(get(&n.fields, "mch_id"), Some(MCH_ID));
            assert_eq!(n.paid, get(&n.fields, "result_code") == Some("SUCCESS"));
        }
        let paid = verified.is_ok_and(|n| n.paid);
        assert_eq!(notify::parse_payment(data, config).is_ok(), paid);
    }
    // Running out of bytes just ends the structured half early.
    let _ = signed_notify(&mut Unstructured::new(data));
});

/// A value XML can carry: forbidden control characters dropped, never empty.
fn value(u: &mut Unstructured<'_>) -> Result<String> {
    let mut s: String = u.arbitrary()?;
    s.retain(|c| c >= ' ' || matches!(c, '\t' | '\n' | '\r'));
    if s.is_empty() {
        s.push('x');
    }
    Ok(s)
}

fn signed_notify(u: &mut Unstructured<'_>) -> Result<()> {
    let config = &CONFIGS[usize::from(u.arbitrary::<bool>()?)];
    let mut fields: Fields = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", APPID),
        ("mch_id", MCH_ID),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    fields.push(("out_trade_no".into(), value(u)?));
    fields.push(("transaction_id".into(), value(u)?));
    // parse_fee's range: 1 to 18 digits, no leading zero.
    let fee = u.int_in_range(1..=999_999_999_999_999_999u64)?;
    fields.push(("total_fee".into(), fee.to_string()));
    if u.arbitrary()? {
        fields.push(("sign_type".into(), config.sign_type.as_str().into()));
    }
    // Unknown fields must be signed too (docs/protocol.md §1.1 step 1); the "x_" prefix keeps their
    // names valid and away from the fields above. Empty values are allowed: they are not signed.
    for _ in 0..u.int_in_range(0..=4)? {
        let raw: String = u.arbitrary()?;
        let name: String = "x_"
            .chars()
            .chain(
                raw.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
            )
            .collect();
        let value = if u.arbitrary()? {
            value(u)?
        } else {
            String::new()
        };
        if get(&fields, &name).is_none() {
            let at = u.choose_index(fields.len() + 1)?;
            fields.insert(at, (name, value));
        }
    }
    resign(&mut fields, config);

    let body = xml::encode(&fields).expect("values were made encodable");
    match notify::parse_payment(body.as_bytes(), config) {
        Ok(accepted) => assert!(
            same(&accepted, &fields),
            "{body:?} accepted as {accepted:?}"
        ),
        Err(e) => panic!("correctly signed notify {body:?} refused: {e}"),
    }

    let (i, at, mask) = (
        u.choose_index(fields.len())?,
        u.arbitrary::<usize>()?,
        u.int_in_range(1..=255u8)?,
    );
    let mut bytes = fields[i].1.clone().into_bytes();
    if bytes.is_empty() {
        return Ok(());
    }
    let at = at % bytes.len();
    bytes[at] ^= mask;
    // Flips that break UTF-8 or add a control character never reach the verifier.
    let Ok(flipped) = String::from_utf8(bytes) else {
        return Ok(());
    };
    let mut tampered = fields.clone();
    tampered[i].1 = flipped;
    if let Ok(body) = xml::encode(&tampered) {
        assert!(
            notify::parse_payment(body.as_bytes(), config).is_err(),
            "notify with field {} changed to {:?} still accepted",
            tampered[i].0,
            tampered[i].1
        );
    }
    Ok(())
}
