//! Inbound notifications (docs/protocol.md §5–6) and the replies to them. Every check fails closed:
//! a notify is accepted only when it is signed with the pinned type, is for this merchant,
//! and carries the fields a real payment has.

use crate::config::Config;
use crate::crypto;
use crate::error::{ApiError, Error, Result};
use crate::sign;
use crate::xml;

pub type Fields = Vec<(String, String)>;

pub const SUCCESS_REPLY: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// `<xml><return_code>FAIL</return_code><return_msg>…</return_msg></xml>`, with the message
/// made safe for XML (control characters are replaced).
pub fn fail_reply(message: &str) -> String {
    let clean: String = message
        .chars()
        .map(|c| {
            if c < ' ' && c != '\t' && c != '\n' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut out = String::with_capacity(clean.len() + 96);
    out.push_str("<xml>");
    xml::write_field(&mut out, "return_code", "FAIL");
    xml::write_field(&mut out, "return_msg", &clean);
    out.push_str("</xml>");
    out
}

/// The value of field `name`, if present.
pub fn get<'a, K: AsRef<str>, V: AsRef<str>>(fields: &'a [(K, V)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.as_ref() == name)
        .map(|(_, v)| v.as_ref())
}

fn owned<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> Fields {
    fields
        .iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect()
}

/// `appid`, `mch_id` (and `sub_mch_id` when configured) must be ours
/// (docs/protocol.md §5, anti-forgery).
pub fn check_merchant<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    config: &Config,
    what: &str,
) -> Result<()> {
    let expected = [
        ("appid", Some(config.appid.as_str())),
        ("mch_id", Some(config.mch_id.as_str())),
        ("sub_mch_id", config.sub_mch_id.as_deref()),
    ];
    for (name, ours) in expected.into_iter().filter_map(|(n, o)| Some((n, o?))) {
        match get(fields, name) {
            Some(v) if v == ours => {}
            Some(v) => {
                return Err(Error::Signature(format!(
                    "{what} is for {name} \"{v}\", this client is configured for \"{ours}\""
                )));
            }
            None => {
                return Err(Error::Signature(format!("{what} has no {name}")));
            }
        }
    }
    Ok(())
}

/// Verifies `sign` with the pinned type (a missing sign is a refusal, never a skip).
pub fn check_sign<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    config: &Config,
    what: &str,
) -> Result<()> {
    sign::verify(fields, config.key.expose(), config.sign_type)
        .map_err(|e| Error::Signature(format!("{what}: {e}")))
}

fn api_error<K: AsRef<str>, V: AsRef<str>>(what: &str, fields: &[(K, V)]) -> Error {
    ApiError {
        call: what.to_owned(),
        ..ApiError::from_fields(owned(fields))
    }
    .into()
}

fn check_return_code<K: AsRef<str>, V: AsRef<str>>(what: &str, fields: &[(K, V)]) -> Result<()> {
    if get(fields, "return_code") == Some("SUCCESS") {
        Ok(())
    } else {
        Err(api_error(what, fields))
    }
}

/// A positive whole number of fen (docs/protocol.md §8).
pub fn parse_fee(name: &str, value: &str) -> Result<u64> {
    let ok = !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(n) if ok && n > 0 && !value.starts_with('0') => Ok(n),
        _ => Err(Error::Signature(format!(
            "{name} \"{value}\" is not a positive whole number of fen"
        ))),
    }
}

/// Parses and verifies a payment notify body. `return_code` or `result_code` FAIL become
/// [`Error::Api`] (after verification, for `result_code`).
/// The fields borrow from `body`.
pub fn parse_payment<'a>(body: &'a [u8], config: &Config) -> Result<xml::Fields<'a>> {
    let fields = xml::decode(body)?;
    check_return_code("payment notify", &fields)?;
    check_sign(&fields, config, "payment notify")?;
    check_merchant(&fields, config, "payment notify")?;
    if get(&fields, "result_code") != Some("SUCCESS") {
        return Err(api_error("payment notify", &fields));
    }
    for name in ["out_trade_no", "transaction_id", "total_fee"] {
        if get(&fields, name).is_none_or(str::is_empty) {
            return Err(Error::Signature(format!("payment notify has no {name}")));
        }
    }
    parse_fee("total_fee", get(&fields, "total_fee").unwrap_or_default())?;
    Ok(fields)
}

/// Parses a refund notify: the outer fields must be ours, `req_info` must decrypt with our
/// key and parse; the result is the outer fields (without `req_info`) then the decrypted ones.
pub fn parse_refund(body: &[u8], config: &Config) -> Result<Fields> {
    let mut fields = xml::into_owned(xml::decode(body)?);
    check_return_code("refund notify", &fields)?;
    check_merchant(&fields, config, "refund notify")?;
    let at = fields
        .iter()
        .position(|(k, _)| k == "req_info")
        .ok_or_else(|| Error::Signature("refund notify has no req_info".into()))?;
    let (_, req_info) = fields.remove(at);
    let plain = crypto::decrypt_req_info(&req_info, config.key.expose())
        .map_err(|e| Error::Signature(format!("refund notify: {e}")))?;
    // ECB has no integrity check: a plaintext that is not our XML means a forged or damaged
    // req_info, the same verdict as bad padding (docs/protocol.md §6).
    let inner = xml::decode(plain.as_bytes()).map_err(|e| {
        Error::Signature(format!(
            "refund notify: decrypted req_info is not valid XML ({e})"
        ))
    })?;
    let inner = xml::into_owned(inner);
    for (name, value) in inner {
        if get(&fields, &name).is_some() {
            return Err(Error::Signature(format!(
                "refund notify: req_info field {name} repeats an outer field"
            )));
        }
        fields.push((name, value));
    }
    for name in [
        "out_refund_no",
        "out_trade_no",
        "refund_fee",
        "refund_status",
    ] {
        if get(&fields, name).is_none_or(str::is_empty) {
            return Err(Error::Signature(format!(
                "refund notify: req_info has no {name}"
            )));
        }
    }
    Ok(fields)
}

/// Checks a verified payment notify against the shop's own order: same `out_trade_no`,
/// same `total_fee` (not `cash_fee`, which coupons lower).
pub fn check_order<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    out_trade_no: &str,
    total_fee: i64,
) -> Result<()> {
    let theirs = get(fields, "out_trade_no").unwrap_or_default();
    if theirs != out_trade_no {
        return Err(Error::Signature(format!(
            "notify is for out_trade_no \"{theirs}\", the order is \"{out_trade_no}\""
        )));
    }
    let fee = parse_fee("total_fee", get(fields, "total_fee").unwrap_or_default())?;
    if i64::try_from(fee).ok() != Some(total_fee) {
        return Err(Error::Signature(format!(
            "notify total_fee {fee} does not match the order's {total_fee}"
        )));
    }
    Ok(())
}
