//! Differential: `sign::encode_signed` (sign and encode in one pass over the sorted fields,
//! behind `Xml::encodeSigned` and `Client::buildRequest`) against the plain way, `sign::sign`
//! then `xml::encode` of the sorted fields and `sign`: the same body, or the same refusal.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wxpay_core::sign::{self, Pair, SignType};
use wxpay_core::{Error, xml};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

/// A field name: mostly ones that pass `xml::is_field_name` (the PHP face refuses the rest
/// before this is reached), with `sign` and `sign_type` likely.
fn name(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => b"sign".to_vec(),
        1 => b"sign_type".to_vec(),
        _ => {
            let mut n: Vec<u8> = u.arbitrary()?;
            n.truncate(12);
            n.insert(0, b'a' + u.int_in_range(0..=3u8)?);
            n
        }
    })
}

fn value(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => b"MD5".to_vec(),
        1 => b"HMAC-SHA256".to_vec(),
        2 => Vec::new(),
        _ => u.arbitrary()?,
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let sign_type = if u.arbitrary()? {
        SignType::HmacSha256
    } else {
        SignType::Md5
    };
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for _ in 0..u.int_in_range(0..=20u8)? {
        let n = name(u)?;
        let v = value(u)?;
        // A PHP array has each key once.
        if xml::is_field_name(&n) && !fields.iter().any(|(k, _)| *k == n) {
            fields.push((n, v));
        }
    }
    let mut pairs: Vec<Pair<'_>> = fields.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    let mut out = Vec::new();
    let fast = sign::encode_signed(&mut pairs, KEY.as_bytes(), sign_type, &mut out)
        .map(|()| String::from_utf8(out).expect("the body is UTF-8"));
    assert_eq!(fast, plain(fields, sign_type));
    Ok(())
}

fn plain(mut fields: Vec<(Vec<u8>, Vec<u8>)>, sign_type: SignType) -> Result<String, Error> {
    let invalid = |m: String| Err(Error::InvalidArgument(m));
    if fields.iter().any(|(k, _)| k == b"sign") {
        return invalid(sign::SIGN_GIVEN.into());
    }
    let declared = fields
        .iter()
        .find(|(k, _)| k == b"sign_type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !declared.is_empty() && declared != sign_type.as_str().as_bytes() {
        return invalid(format!(
            "sign_type \"{}\" in the parameters differs from {sign_type}, the type they are signed with",
            String::from_utf8_lossy(&declared)
        ));
    }
    if sign_type == SignType::HmacSha256 && declared.is_empty() {
        return invalid(
            "sign_type is not among the parameters: WeChat reads a request without it as MD5; \
             add sign_type HMAC-SHA256"
                .into(),
        );
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text: Vec<(String, String)> = Vec::new();
    for (k, v) in fields {
        let k = String::from_utf8(k).expect("field names are ASCII");
        let Ok(v) = String::from_utf8(v) else {
            return invalid(format!("field \"{k}\" is not valid UTF-8"));
        };
        if let Err(e) = xml::check_field(&k, &v) {
            return invalid(e.to_string());
        }
        text.push((k, v));
    }
    let signature = sign::sign(&text, KEY, sign_type);
    text.push(("sign".into(), signature.as_str().into()));
    xml::encode(&text).map_err(|e| Error::InvalidArgument(e.to_string()))
}
