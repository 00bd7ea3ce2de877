//! Request field rules (docs/protocol.md §8, §3), checked before anything is signed or sent, so
//! that a bad parameter fails here with a message naming the field instead of as a PARAM_ERROR
//! round trip. Every failure is `Error::InvalidArgument("<field> <rule>, \"<value>\" given")`.
//!
//! Lengths are counted in UTF-8 bytes: the docs say String(n) without saying chars or bytes,
//! and bytes is the limit that can never be too generous.

use crate::error::{Error, Result};

/// Maximum byte lengths of request fields (docs/protocol.md §3.3–3.8, §8).
const MAX_LEN: &[(&str, usize)] = &[
    ("nonce_str", 32),
    ("device_info", 32),
    ("body", 127),
    ("attach", 127),
    ("detail", 6144),
    ("fee_type", 16),
    ("refund_fee_type", 16),
    ("spbill_create_ip", 64),
    ("goods_tag", 32),
    ("notify_url", 256),
    ("trade_type", 16),
    ("product_id", 32),
    ("limit_pay", 32),
    ("openid", 128),
    ("sub_openid", 128),
    ("receipt", 8),
    ("profit_sharing", 16),
    ("scene_info", 256),
    ("transaction_id", 32),
    ("refund_id", 32),
    ("refund_desc", 80),
    ("long_url", 512),
    // Profit sharing (docs/protocol.md §15.1).
    ("description", 80),
];

/// Fields whose value is a positive whole number of fen.
const FEE_FIELDS: &[&str] = &["total_fee", "refund_fee", "return_amount"];

/// Closed value sets. Only request fields where a typo would otherwise reach WeChat.
const ENUMS: &[(&str, &[&str])] = &[
    ("trade_type", &["JSAPI", "NATIVE", "APP", "MWEB"]),
    (
        "bill_type",
        &["ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND"],
    ),
    ("account_type", &["Basic", "Operation", "Fees"]),
    ("tar_type", &["GZIP"]),
    ("profit_sharing", &["Y", "N"]),
    ("return_account_type", &["MERCHANT_ID"]),
    // Coupons (docs/protocol.md §16.1): "目前支持num=1".
    ("openid_count", &["1"]),
];

/// `"value"` for an error message, shortened so a huge value cannot flood a log.
fn given(value: &str) -> String {
    const MAX_CHARS: usize = 40;
    match value.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("\"{}…\" ({} bytes)", &value[..end], value.len()),
        None => format!("\"{value}\""),
    }
}

fn invalid(field: &str, rule: &str, value: &str) -> Error {
    Error::InvalidArgument(format!("{field} {rule}, {} given", given(value)))
}

/// Checks `value` has 1 to `max` characters, all in `allowed` or ASCII alphanumerics.
fn charset(field: &str, value: &str, max: usize, allowed: &[u8], rule: &str) -> Result<()> {
    let ok = (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || allowed.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(field, rule, value))
    }
}

/// `out_trade_no`: 1–32 characters of `[0-9A-Za-z_-|*]` (docs/protocol.md §8; `@` is not allowed).
pub fn out_trade_no(value: &str) -> Result<()> {
    charset(
        "out_trade_no",
        value,
        32,
        b"_-|*",
        "must be 1 to 32 characters of 0-9 A-Z a-z _ - | *",
    )
}

/// `out_refund_no`: 1–64 characters of `[0-9A-Za-z_-|*@]`.
pub fn out_refund_no(value: &str) -> Result<()> {
    charset(
        "out_refund_no",
        value,
        64,
        b"_-|*@",
        "must be 1 to 64 characters of 0-9 A-Z a-z _ - | * @",
    )
}

/// `out_order_no` (a sharing) and `out_return_no` (its return): 1–64 characters of
/// `[0-9A-Za-z_-|*@]` (docs/protocol.md §15.1).
pub fn sharing_no(field: &str, value: &str) -> Result<()> {
    charset(
        field,
        value,
        64,
        b"_-|*@",
        "must be 1 to 64 characters of 0-9 A-Z a-z _ - | * @",
    )
}

/// A fee in fen: a positive whole number without sign, decimals or leading zero.
pub fn fee(field: &str, value: &str) -> Result<u64> {
    let digits = !value.is_empty()
        && value.len() <= 18
        && !value.starts_with('0')
        && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(n) if digits => Ok(n),
        _ => Err(invalid(
            field,
            "must be a positive whole number of fen (no decimals, no leading zero)",
            value,
        )),
    }
}

fn number(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Whether `digits` starts with a real calendar date `yyyyMMdd` (years 1900–9999).
fn is_date(digits: &[u8]) -> bool {
    let (year, month, day) = (
        number(&digits[0..4]),
        number(&digits[4..6]),
        number(&digits[6..8]),
    );
    year >= 1900 && day >= 1 && day <= days_in_month(year, month)
}

fn all_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

/// `time_start`/`time_expire`: `yyyyMMddHHmmss`, a real date and time (Beijing time).
pub fn timestamp(field: &str, value: &str) -> Result<()> {
    let ok = all_digits(value, 14) && {
        let d = value.as_bytes();
        is_date(d) && number(&d[8..10]) < 24 && number(&d[10..12]) < 60 && number(&d[12..14]) < 60
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a real date and time written yyyyMMddHHmmss",
            value,
        ))
    }
}

/// `bill_date`: `yyyyMMdd`, a real date.
pub fn bill_date(value: &str) -> Result<()> {
    if all_digits(value, 8) && is_date(value.as_bytes()) {
        Ok(())
    } else {
        Err(invalid(
            "bill_date",
            "must be a real date written yyyyMMdd",
            value,
        ))
    }
}

/// `auth_code` (the payer's payment code): 18 digits starting 10 to 15.
pub fn auth_code(value: &str) -> Result<()> {
    if all_digits(value, 18)
        && (b'0'..=b'5').contains(&value.as_bytes()[1])
        && value.starts_with('1')
    {
        Ok(())
    } else {
        Err(invalid(
            "auth_code",
            "must be 18 digits starting with 10 to 15",
            value,
        ))
    }
}

/// `field` may hold at most `max` bytes of UTF-8.
pub fn max_bytes(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() <= max {
        Ok(())
    } else {
        Err(invalid(
            field,
            &format!("must be at most {max} bytes"),
            value,
        ))
    }
}

/// `notify_url`: an absolute http(s) URL with a host and no query string or fragment
/// (WeChat appends nothing and refuses `?`). https is what production needs; http is
/// accepted for private lines and local simulators.
pub fn notify_url(value: &str) -> Result<()> {
    max_bytes("notify_url", value, 256)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let ok = rest.is_some_and(|rest| {
        let host = rest.split('/').next().unwrap_or_default();
        !host.is_empty()
            && !host.contains('@')
            && !rest.contains(['?', '#'])
            && !rest.bytes().any(|b| b <= b' ' || b == 0x7f)
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "notify_url",
            "must be an absolute http:// or https:// URL with a host and no query string",
            value,
        ))
    }
}

/// `spbill_create_ip`: an IPv4 or IPv6 address.
pub fn ip(field: &str, value: &str) -> Result<()> {
    match value.parse::<std::net::IpAddr>() {
        Ok(_) => Ok(()),
        Err(_) => Err(invalid(field, "must be an IPv4 or IPv6 address", value)),
    }
}

/// Checks one field by name. Empty values mean "absent" (they are not signed or required
/// here); unknown names pass, because WeChat adds fields and `request()` sends any.
pub fn check(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    if let Some((_, max)) = MAX_LEN.iter().find(|(name, _)| *name == field) {
        max_bytes(field, value, *max)?;
    }
    if let Some((_, values)) = ENUMS.iter().find(|(name, _)| *name == field)
        && !values.contains(&value)
    {
        return Err(invalid(
            field,
            &format!("must be one of {}", values.join(", ")),
            value,
        ));
    }
    if FEE_FIELDS.contains(&field) {
        fee(field, value)?;
    }
    match field {
        "out_trade_no" => out_trade_no(value),
        "out_refund_no" => out_refund_no(value),
        "out_order_no" | "out_return_no" => sharing_no(field, value),
        "time_start" | "time_expire" => timestamp(field, value),
        "bill_date" => bill_date(value),
        "auth_code" => auth_code(value),
        "notify_url" => notify_url(value),
        "spbill_create_ip" => ip(field, value),
        _ => Ok(()),
    }
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    crate::notify::get(fields, name).filter(|v| !v.is_empty())
}

/// Checks every field, then the rules between fields: `time_expire` after `time_start`,
/// `refund_fee` not above `total_fee`.
pub fn check_all(fields: &[(String, String)]) -> Result<()> {
    for (name, value) in fields {
        check(name, value)?;
    }
    if let (Some(start), Some(expire)) = (get(fields, "time_start"), get(fields, "time_expire"))
        && expire <= start
    {
        // Same fixed-width digit format, so string order is time order.
        return Err(invalid(
            "time_expire",
            &format!("must be later than time_start \"{start}\""),
            expire,
        ));
    }
    if let (Some(total), Some(refund)) = (get(fields, "total_fee"), get(fields, "refund_fee"))
        && fee("refund_fee", refund)? > fee("total_fee", total)?
    {
        return Err(invalid(
            "refund_fee",
            &format!("must not exceed total_fee {total}"),
            refund,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn out_trade_no_charset_and_length() {
        out_trade_no("A1001_x-y|z*").unwrap();
        out_trade_no(&"9".repeat(32)).unwrap();
        assert_eq!(
            msg(out_trade_no("a@b")),
            "out_trade_no must be 1 to 32 characters of 0-9 A-Z a-z _ - | *, \"a@b\" given"
        );
        assert!(msg(out_trade_no(&"9".repeat(33))).starts_with("out_trade_no must be 1 to 32"));
        assert!(out_trade_no("").is_err());
        assert!(out_trade_no("订单1").is_err());
        out_refund_no("R@1|2").unwrap();
        check("out_order_no", "P2015@0806|125*346").unwrap();
        assert_eq!(
            msg(check("out_return_no", "R 1")),
            "out_return_no must be 1 to 64 characters of 0-9 A-Z a-z _ - | * @, \"R 1\" given"
        );
        assert!(check("out_order_no", &"p".repeat(65)).is_err());
        assert!(out_refund_no(&"r".repeat(65)).is_err());
        assert!(msg(out_refund_no("a b")).contains("\"a b\" given"));
    }

    #[test]
    fn fees_are_positive_whole_fen() {
        assert_eq!(fee("total_fee", "88").unwrap(), 88);
        for bad in [
            "0",
            "-1",
            "1.5",
            "01",
            "",
            " 1",
            "1e3",
            "9999999999999999999",
        ] {
            let m = msg(fee("total_fee", bad));
            assert!(
                m.starts_with("total_fee must be a positive whole number of fen"),
                "{m}"
            );
        }
        assert!(msg(check("refund_fee", "0.5")).starts_with("refund_fee must be"));
        assert!(msg(check("return_amount", "1.00")).starts_with("return_amount must be"));
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        timestamp("time_start", "20240229235959").unwrap();
        bill_date("20000229").unwrap();
        for bad in [
            "20230229120000",
            "20241301000000",
            "20240100000000",
            "20240101240000",
            "20240101006000",
            "2024010100000",
            "2024-01-01 00:",
        ] {
            assert!(
                msg(timestamp("time_expire", bad))
                    .starts_with("time_expire must be a real date and time")
            );
        }
        for bad in ["19000229", "20240431", "2024011", "202401011"] {
            assert!(
                msg(bill_date(bad)).starts_with("bill_date must be a real date written yyyyMMdd")
            );
        }
    }

    #[test]
    fn auth_code_prefix() {
        auth_code("134567890123456789").unwrap();
        auth_code("104567890123456789").unwrap();
        assert!(auth_code("164567890123456789").is_err());
        assert!(auth_code("094567890123456789").is_err());
        assert!(auth_code("13456789012345678").is_err());
        assert!(msg(auth_code("13456789012345678x")).contains("18 digits starting with 10 to 15"));
    }

    #[test]
    fn body_limit_is_bytes() {
        check("body", &"x".repeat(127)).unwrap();
        // 43 CJK characters are 129 bytes.
        let m = msg(check("body", &"商".repeat(43)));
        assert!(m.starts_with("body must be at most 127 bytes"), "{m}");
        assert!(m.contains("(129 bytes) given"), "{m}");
    }

    #[test]
    fn notify_url_rules() {
        notify_url("https://shop.example/wxpay/notify").unwrap();
        notify_url("http://127.0.0.1:8080/n").unwrap();
        for bad in [
            "/relative",
            "ftp://x/y",
            "https://",
            "https://shop.example/n?a=1",
            "https://shop.example/n#f",
            "https://user@shop.example/n",
            "https://shop example/n",
        ] {
            assert!(
                msg(notify_url(bad)).starts_with("notify_url must be an absolute"),
                "{bad}"
            );
        }
        assert!(notify_url(&format!("https://a/{}", "x".repeat(260))).is_err());
    }

    #[test]
    fn check_dispatches_by_name_and_skips_empty_and_unknown() {
        check("out_trade_no", "").unwrap();
        check("some_new_field", "anything?").unwrap();
        check("spbill_create_ip", "::1").unwrap();
        assert!(msg(check("spbill_create_ip", "1.2.3")).contains("IPv4 or IPv6"));
        assert_eq!(
            msg(check("trade_type", "CASH")),
            "trade_type must be one of JSAPI, NATIVE, APP, MWEB, \"CASH\" given"
        );
        assert!(check("nonce_str", &"n".repeat(33)).is_err());
        assert_eq!(
            msg(check("return_account_type", "PERSONAL_OPENID")),
            "return_account_type must be one of MERCHANT_ID, \"PERSONAL_OPENID\" given"
        );
        assert!(
            msg(check("profit_sharing", "yes")).starts_with("profit_sharing must be one of Y, N")
        );
        assert!(
            msg(check("description", &"d".repeat(81)))
                .starts_with("description must be at most 80 bytes")
        );
    }

    #[test]
    fn cross_field_rules() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        check_all(&f(&[
            ("time_start", "20240101000000"),
            ("time_expire", "20240101001000"),
        ]))
        .unwrap();
        assert!(
            msg(check_all(&f(&[
                ("time_start", "20240101000000"),
                ("time_expire", "20240101000000")
            ])))
            .starts_with("time_expire must be later than time_start")
        );
        check_all(&f(&[("total_fee", "100"), ("refund_fee", "100")])).unwrap();
        assert_eq!(
            msg(check_all(&f(&[
                ("total_fee", "100"),
                ("refund_fee", "101")
            ]))),
            "refund_fee must not exceed total_fee 100, \"101\" given"
        );
    }
}
