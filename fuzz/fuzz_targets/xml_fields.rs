//! The decoder's field limits (docs/protocol.md §11.2): a document of fuzzer-chosen fields —
//! up to 1100 of them (a quarter of the documents go past `xml::MAX_FIELDS`), names fresh, repeated or made of name and
//! non-name characters, values in text, CDATA, escaped or empty form — must give exactly
//! the answer an independent reading of the rules gives: the first field past the cap is
//! `TooManyFields`, the first name outside the rule `BadFieldName`, the first repeat
//! `DuplicateField`, in document order; otherwise every field as written. The fast reader and
//! the full decoder must agree.
//!
//! Random bytes rarely reach 1025 well-formed fields; built this way, a 3-byte input does.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wxpay_core::xml::{self, XmlError};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    // Running out of bytes gives zeros: fresh names, plain values, to the chosen count.
    let Ok((doc, fields)) = document(&mut u) else {
        return;
    };
    let expected = expectation(&fields);
    let got = xml::decode(doc.as_bytes()).map(xml::into_owned);
    assert_eq!(got, expected, "document {doc:?}");
    let full = xml::decode_full_with_limit(doc.as_bytes(), xml::DEFAULT_MAX_BYTES);
    assert_eq!(
        full.map(xml::into_owned),
        got,
        "full decoder differs on {doc:?}"
    );
});

/// Characters names are made of: the rule's own and some it refuses (`:` and `é` are XML
/// name characters, so the document stays well-formed and only the field rule can refuse).
const NAME_CHARS: &[char] = &['a', 'Z', '_', '0', '9', '-', '.', ':', 'é'];

/// The independent statement of the rule: an ASCII letter or `_`, then also digits, `-`, `.`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn expectation(
    fields: &[(String, String)],
) -> std::result::Result<Vec<(String, String)>, XmlError> {
    let mut seen = std::collections::HashSet::new();
    for (i, (name, _)) in fields.iter().enumerate() {
        if i == xml::MAX_FIELDS {
            return Err(XmlError::TooManyFields {
                max: xml::MAX_FIELDS,
            });
        }
        if !valid_name(name) {
            return Err(XmlError::BadFieldName { name: name.clone() });
        }
        if !seen.insert(name) {
            return Err(XmlError::DuplicateField {
                field: name.clone(),
            });
        }
    }
    Ok(fields.to_vec())
}

fn name(u: &mut Unstructured<'_>, i: usize, earlier: &[(String, String)]) -> Result<String> {
    Ok(match u.int_in_range(0..=7u8)? {
        // Mostly fresh names, so that documents grow long.
        0..=4 => format!("f{i}"),
        5 if !earlier.is_empty() => earlier[u.choose_index(earlier.len())?].0.clone(),
        _ => {
            let len = u.int_in_range(1..=6usize)?;
            let mut s = String::new();
            for _ in 0..len {
                s.push(*u.choose(NAME_CHARS)?);
            }
            s
        }
    })
}

/// Writes one field in a fuzzer-chosen form; returns the value the decoder must read.
fn field(u: &mut Unstructured<'_>, name: &str, doc: &mut String) -> Result<String> {
    let text: String = (0..u.int_in_range(0..=3usize)?)
        .map(|_| u.choose(&['x', '1', ' ', '中']).copied())
        .collect::<Result<_>>()?;
    let value = match u.int_in_range(0..=4u8)? {
        0 => {
            doc.push_str(&format!("<{name}>{text}</{name}>"));
            text
        }
        1 => {
            doc.push_str(&format!("<{name}/>"));
            String::new()
        }
        2 => {
            doc.push_str(&format!("<{name}></{name}>"));
            String::new()
        }
        3 => {
            doc.push_str(&format!("<{name}><![CDATA[<{text}&]]></{name}>"));
            format!("<{text}&")
        }
        _ => {
            doc.push_str(&format!("<{name}>&amp;{text}&#x4e2d;</{name}>"));
            format!("&{text}中")
        }
    };
    if u.arbitrary::<bool>()? {
        doc.push('\n');
    }
    Ok(value)
}

fn document(u: &mut Unstructured<'_>) -> Result<(String, Vec<(String, String)>)> {
    // A quarter of the documents go past the cap; the rest stay short, so that runs are quick.
    let count = if u.ratio(1, 4)? {
        u.int_in_range(1000..=1100usize)?
    } else {
        u.int_in_range(0..=80usize)?
    };
    let mut doc = String::from("<xml>");
    let mut fields: Vec<(String, String)> = Vec::with_capacity(count);
    for i in 0..count {
        let name = name(u, i, &fields)?;
        let value = field(u, &name, &mut doc)?;
        fields.push((name, value));
    }
    doc.push_str("</xml>");
    Ok((doc, fields))
}
