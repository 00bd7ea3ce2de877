//! Inbound notifications (docs/protocol.md §5–6) and the replies to them. Every check fails closed:
//! a notify is accepted only when it is signed with the pinned type, is for this merchant,
//! and carries the fields a real payment has.

use crate::config::{self, Config};
use crate::crypto;
use crate::error::{ApiError, Error, Result, Source};
use crate::sign::{self, SignType};
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
    check_merchant_ids(fields, config, what, true)
}

/// [`check_merchant`]; with `all` false only `mch_id` must be present, `appid` and
/// `sub_mch_id` are checked when they are (answers of calls that send no appid,
/// docs/protocol.md §15.2).
pub fn check_merchant_ids<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    config: &Config,
    what: &str,
    all: bool,
) -> Result<()> {
    let expected = [
        ("appid", Some(config.appid.as_str()), all),
        ("mch_id", Some(config.mch_id.as_str()), true),
        ("sub_mch_id", config.sub_mch_id.as_deref(), all),
    ];
    for (name, ours, required) in expected
        .into_iter()
        .filter_map(|(n, o, r)| Some((n, o?, r)))
    {
        match get(fields, name) {
            Some(v) if v == ours => {}
            Some(v) => {
                return Err(Error::Signature(format!(
                    "{what} is for {name} \"{v}\", this client is configured for \"{ours}\""
                )));
            }
            None if required => {
                return Err(Error::Signature(format!("{what} has no {name}")));
            }
            None => {}
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
    check_sign_as(fields, config, config.sign_type, what)
}

/// [`check_sign`] with the type a call pins instead of the configured one (coupons: MD5,
/// docs/protocol.md §16.2).
pub fn check_sign_as<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    config: &Config,
    sign_type: SignType,
    what: &str,
) -> Result<()> {
    sign::verify(fields, config.key.expose(), sign_type)
        .map_err(|e| Error::Signature(format!("{what}: {e}")))
}

/// Verifies a payment notify's `sign`: with the pinned type, or, while the config's switch
/// window is open (`now` before its end), with the previous type (docs/migration.md §4).
pub fn check_notify_sign<K: AsRef<str>, V: AsRef<str>>(
    fields: &[(K, V)],
    config: &Config,
    what: &str,
    now: u64,
) -> Result<()> {
    let pinned = check_sign(fields, config, what);
    match config.notify_previous_sign_type {
        Some(previous)
            if pinned.is_err()
                && now < previous.until
                && sign::verify(fields, config.key.expose(), previous.sign_type).is_ok() =>
        {
            Ok(())
        }
        _ => pinned,
    }
}

fn api_error<K: AsRef<str>, V: AsRef<str>>(what: &str, fields: &[(K, V)], source: Source) -> Error {
    ApiError {
        call: what.to_owned(),
        source,
        ..ApiError::from_fields(owned(fields))
    }
    .into()
}

/// `return_code` FAIL: WeChat signs no such notify, so it is an [`Error::Api`] whose fields
/// are unverified ([`Source::UnsignedNotify`]): never data, and never a callback's.
fn check_return_code<K: AsRef<str>, V: AsRef<str>>(what: &str, fields: &[(K, V)]) -> Result<()> {
    if get(fields, "return_code") == Some("SUCCESS") {
        Ok(())
    } else {
        Err(api_error(what, fields, Source::UnsignedNotify))
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

/// A verified payment notify: its fields (borrowed from the body) and whether it reports a
/// payment (`result_code` SUCCESS) or a failed one (`result_code` FAIL, still signed).
#[derive(Debug)]
pub struct PaymentNotify<'a> {
    pub fields: xml::Fields<'a>,
    pub paid: bool,
}

/// Verifies a payment notify body: signed with the pinned type, for this merchant, with the
/// fields a real payment has. A verified `result_code=FAIL` is returned with `paid == false`
/// (it needs only `out_trade_no`); `return_code` FAIL (unsigned) is an [`Error::Api`].
pub fn verify_payment<'a>(body: &'a [u8], config: &Config) -> Result<PaymentNotify<'a>> {
    let fields = xml::decode(body)?;
    check_return_code("payment notify", &fields)?;
    // A refund notify has no sign, so it would fail below with a message that hides the
    // real mistake: the endpoint is wired to the wrong handler.
    if get(&fields, "req_info").is_some() && get(&fields, "sign").is_none() {
        return Err(Error::Signature(
            "payment notify: this is a refund notify (req_info, no sign): handle it with \
             handleRefundNotify() or parseRefundNotify()"
                .into(),
        ));
    }
    check_notify_sign(&fields, config, "payment notify", config::now_seconds())?;
    check_merchant(&fields, config, "payment notify")?;
    let (paid, needed): (bool, &[&str]) = match get(&fields, "result_code") {
        Some("SUCCESS") => (true, &["out_trade_no", "transaction_id", "total_fee"]),
        Some("FAIL") => (false, &["out_trade_no"]),
        other => {
            return Err(Error::Signature(format!(
                "payment notify result_code {:?} is neither SUCCESS nor FAIL",
                other.unwrap_or_default()
            )));
        }
    };
    for name in needed {
        if get(&fields, name).is_none_or(str::is_empty) {
            return Err(Error::Signature(format!("payment notify has no {name}")));
        }
    }
    if paid {
        parse_fee("total_fee", get(&fields, "total_fee").unwrap_or_default())?;
    }
    Ok(PaymentNotify { fields, paid })
}

/// Parses and verifies a payment notify body: [`verify_payment`], and a verified
/// `result_code=FAIL` becomes [`Error::Api`]. The fields borrow from `body`.
pub fn parse_payment<'a>(body: &'a [u8], config: &Config) -> Result<xml::Fields<'a>> {
    let notify = verify_payment(body, config)?;
    if !notify.paid {
        return Err(api_error(
            "payment notify",
            &notify.fields,
            Source::VerifiedNotify,
        ));
    }
    Ok(notify.fields)
}

/// The outer fields of a refund notify besides `req_info` (docs/protocol.md §6). None is
/// signed: `return_code` and the merchant fields are checked, the others are kept as sent.
pub const REFUND_ENVELOPE: &[&str] = &[
    "return_code",
    "return_msg",
    "appid",
    "mch_id",
    "sub_appid",
    "sub_mch_id",
    "nonce_str",
];

/// Parses a refund notify: the outer fields must be ours, `req_info` must decrypt with our
/// key and parse. The result is the envelope fields of [`REFUND_ENVELOPE`] that were sent,
/// then the decrypted ones. Any other outer field is dropped: nothing authenticates it, and
/// next to the decrypted fields it would pass for one of them (an outer `success_time`).
pub fn parse_refund(body: &[u8], config: &Config) -> Result<Fields> {
    let outer = xml::decode(body)?;
    check_return_code("refund notify", &outer)?;
    check_merchant(&outer, config, "refund notify")?;
    let Some(req_info) = get(&outer, "req_info") else {
        // The usual cause: a payment notify (signed, no req_info) at the refund endpoint.
        let hint = if get(&outer, "sign").is_some() {
            ": this is a payment notify (signed, no req_info): handle it with handleNotify() \
             or parseNotify()"
        } else {
            ""
        };
        return Err(Error::Signature(format!(
            "refund notify has no req_info{hint}"
        )));
    };
    let plain = crypto::decrypt_req_info(req_info, config.key.expose())
        .map_err(|e| Error::Signature(format!("refund notify: {e}")))?;
    // ECB has no integrity check: a plaintext that is not our XML means a forged or damaged
    // req_info, the same verdict as bad padding (docs/protocol.md §6). Only the kind of
    // error is named: a forger can splice any captured block in, and a message quoting the
    // plaintext (which handlers may send back in Notify::fail()) would decrypt it for them.
    let inner = xml::decode(plain.as_bytes()).map_err(|e| {
        Error::Signature(format!(
            "refund notify: req_info decrypted to malformed XML ({}): forged or damaged",
            e.kind()
        ))
    })?;
    let mut fields: Fields = outer
        .iter()
        .filter(|(k, _)| REFUND_ENVELOPE.contains(k))
        .map(|(k, v)| ((*k).to_owned(), v.as_ref().to_owned()))
        .collect();
    for (name, value) in xml::into_owned(inner) {
        // Only envelope names can collide, so naming the field reveals nothing decrypted.
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
    // handleNotify's callback also sees verified result_code=FAIL notifies: one of those
    // must never pass as the order's payment.
    let result = get(fields, "result_code").unwrap_or_default();
    if result != "SUCCESS" {
        return Err(Error::Signature(format!(
            "notify result_code is \"{result}\", not SUCCESS: it does not report a payment"
        )));
    }
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

/// How a notify handler ended. The reply tells WeChat whether to deliver the notify again
/// (it does after FAIL, for about 24 hours); the log line says why it was FAIL, for the
/// shop's error log, since WeChat is told nothing more specific than the generic message.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// The callback took the notify: SUCCESS.
    Acknowledged,
    /// Not verified (forged, malformed, for another merchant, sent to the wrong handler):
    /// the callback never saw it.
    Refused(Error),
    /// The callback threw or returned false (its description): FAIL, so WeChat retries.
    CallbackFailed(String),
}

/// The two reply messages: generic, so that neither a forger nor a log at WeChat learns
/// anything (no exception text, no field values).
const REFUSED_MSG: &str = "invalid notify";
const NOT_PROCESSED_MSG: &str = "notify not processed, please retry";

impl Handled {
    /// The XML body to answer WeChat with (HTTP 200).
    pub fn reply(&self) -> String {
        match self {
            Self::Acknowledged => SUCCESS_REPLY.to_owned(),
            Self::Refused(_) => fail_reply(REFUSED_MSG),
            Self::CallbackFailed(_) => fail_reply(NOT_PROCESSED_MSG),
        }
    }

    /// What to write to the shop's error log, naming the `handler`: `None` after SUCCESS.
    pub fn log_line(&self, handler: &str) -> Option<String> {
        match self {
            Self::Acknowledged => None,
            // The reason may quote the sender's text (an appid, a piece of the body): one
            // line, so that a forger cannot write lines of their own into the shop's log.
            Self::Refused(e) => Some(format!(
                "wxpay: {handler} refused the notify and replied FAIL: {}",
                one_line(&e.to_string())
            )),
            Self::CallbackFailed(why) => Some(format!(
                "wxpay: {handler} replied FAIL, so that WeChat delivers the notify again: {why}"
            )),
        }
    }
}

/// `text` with control characters and line separators escaped as Rust writes them (`\n`,
/// `\u{2028}`), everything else as it is.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `handleNotify`: a verified payment notify (paid or `result_code=FAIL`) goes to
/// `on_notify`; its `Err` (a thrown exception, described) makes the reply FAIL.
pub fn handle_payment(
    body: &[u8],
    config: &Config,
    on_notify: impl FnOnce(&PaymentNotify<'_>) -> std::result::Result<(), String>,
) -> Handled {
    match verify_payment(body, config) {
        Ok(notify) => callback_outcome(on_notify(&notify)),
        Err(e) => Handled::Refused(e),
    }
}

/// `handleRefundNotify`: a decrypted, checked refund notify goes to `on_refund`.
pub fn handle_refund(
    body: &[u8],
    config: &Config,
    on_refund: impl FnOnce(&Fields) -> std::result::Result<(), String>,
) -> Handled {
    match parse_refund(body, config) {
        Ok(fields) => callback_outcome(on_refund(&fields)),
        Err(e) => Handled::Refused(e),
    }
}

fn callback_outcome(result: std::result::Result<(), String>) -> Handled {
    match result {
        Ok(()) => Handled::Acknowledged,
        Err(why) => Handled::CallbackFailed(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Value;
    use crate::sign::SignType;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn config() -> Config {
        Config::from_entries([
            ("appid".to_owned(), Value::Str("wx1".into())),
            ("mch_id".to_owned(), Value::Str("1000".into())),
            ("key".to_owned(), Value::Str(KEY.into())),
        ])
        .unwrap()
    }

    /// A signed payment notify; `result` is its result_code.
    fn payment(result: &str, key: &str) -> String {
        payment_signed(result, key, SignType::Md5)
    }

    fn payment_signed(result: &str, key: &str, sign_type: SignType) -> String {
        let mut fields: Fields = [
            ("appid", "wx1"),
            ("mch_id", "1000"),
            ("nonce_str", "n1"),
            ("out_trade_no", "A1001"),
            ("result_code", result),
            ("return_code", "SUCCESS"),
            ("total_fee", "88"),
            ("transaction_id", "42000001"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sign = sign::sign(&fields, key, sign_type);
        fields.push(("sign".into(), sign.as_str().to_owned()));
        xml::encode(&fields).unwrap()
    }

    const REFUND_INNER: &str = "<root><out_refund_no>R1</out_refund_no>\
        <out_trade_no>A1001</out_trade_no><refund_fee>88</refund_fee>\
        <refund_status>SUCCESS</refund_status></root>";

    fn refund(key: &str) -> String {
        refund_with(&crypto::encrypt_req_info(REFUND_INNER, key), &[])
    }

    /// A refund notify carrying `req_info` as given, with `extra` outer fields.
    fn refund_with(req_info: &str, extra: &[(&str, &str)]) -> String {
        let mut outer = vec![
            ("return_code", "SUCCESS"),
            ("appid", "wx1"),
            ("mch_id", "1000"),
            ("nonce_str", "n1"),
            ("req_info", req_info),
        ];
        outer.extend_from_slice(extra);
        xml::encode(&outer).unwrap()
    }

    fn failed(reply: &str, msg: &str) -> bool {
        reply.contains("<return_code><![CDATA[FAIL]]></return_code>") && reply.contains(msg)
    }

    #[test]
    fn paid_notify_reaches_the_callback_and_is_acknowledged() {
        let mut seen = None;
        let handled = handle_payment(payment("SUCCESS", KEY).as_bytes(), &config(), |n| {
            seen = Some((get(&n.fields, "out_trade_no").map(str::to_owned), n.paid));
            Ok(())
        });
        assert_eq!(handled, Handled::Acknowledged);
        assert_eq!(handled.reply(), SUCCESS_REPLY);
        assert_eq!(handled.log_line("handleNotify"), None);
        assert_eq!(seen, Some((Some("A1001".to_owned()), true)));
    }

    #[test]
    fn failed_payment_is_shown_as_unpaid_then_acknowledged() {
        let body = payment("FAIL", KEY);
        let mut paid = None;
        let handled = handle_payment(body.as_bytes(), &config(), |n| {
            paid = Some(n.paid);
            // The order check refuses it, whatever the callback forgets to look at.
            assert!(check_order(&n.fields, "A1001", 88).is_err());
            Ok(())
        });
        assert_eq!((handled, paid), (Handled::Acknowledged, Some(false)));
        // parseNotify keeps throwing for it.
        assert!(matches!(
            parse_payment(body.as_bytes(), &config()),
            Err(Error::Api(_))
        ));
    }

    #[test]
    fn forged_or_misrouted_notifies_never_reach_the_callback() {
        let cases = [
            (
                payment("SUCCESS", "forger-key-0123456789abcdef01234"),
                "payment notify: sign does not match",
            ),
            (payment("MAYBE", KEY), "neither SUCCESS nor FAIL"),
            ("<xml><a>".to_owned(), ""),
            (
                refund(KEY),
                "this is a refund notify (req_info, no sign): handle it with handleRefundNotify() or parseRefundNotify()",
            ),
        ];
        for (body, why) in cases {
            let handled = handle_payment(body.as_bytes(), &config(), |_| panic!("callback called"));
            assert!(failed(&handled.reply(), REFUSED_MSG), "{body}");
            let line = handled.log_line("handleNotify").unwrap();
            assert!(
                line.starts_with("wxpay: handleNotify refused the notify and replied FAIL: ")
                    && line.contains(why),
                "{line}"
            );
            assert!(!line.contains(KEY));
        }
    }

    /// Finding 10 (issue 10): `return_code` FAIL is unsigned, so its fields are the sender's.
    #[test]
    fn unsigned_return_code_fail_is_never_data_nor_quoted() {
        let body = xml::encode(&[
            ("return_code", "FAIL"),
            ("return_msg", "FORGED\nwxpay: a line of the forger's"),
            ("err_code", "SYSTEMERROR"),
            ("out_trade_no", "A1001"),
            ("appid", "wx1"),
            ("mch_id", "1000"),
        ])
        .unwrap();
        let refund_body = body.replace("</xml>", "<req_info>x</req_info></xml>");
        let expected = "return_code is not SUCCESS, and such a notify is unsigned: none of its \
                        fields is verified (anyone can send one), so none is repeated here";
        for (what, result) in [
            (
                "payment notify",
                parse_payment(body.as_bytes(), &config()).map(|_| ()),
            ),
            (
                "refund notify",
                parse_refund(refund_body.as_bytes(), &config()).map(|_| ()),
            ),
        ] {
            let Err(Error::Api(e)) = result else {
                panic!("{what}: {result:?}");
            };
            assert_eq!(e.source, Source::UnsignedNotify);
            assert_eq!(e.to_string(), format!("{what}: {expected}"));
            // The fields are kept as sent, for the shop to log, never to act on.
            assert_eq!(get(&e.response, "out_trade_no"), Some("A1001"));
            assert!(
                !e.is_retryable(),
                "{what}: SYSTEMERROR from anyone is no reason to retry"
            );
        }
        let handled = handle_payment(body.as_bytes(), &config(), |_| panic!("callback called"));
        let line = handled.log_line("handleNotify").unwrap();
        assert!(!line.contains("FORGED") && !line.contains('\n'), "{line}");
        assert!(failed(&handled.reply(), REFUSED_MSG));
        // A verified result_code=FAIL is the signed kind, and not retryable either.
        let Err(Error::Api(e)) = parse_payment(payment("FAIL", KEY).as_bytes(), &config()) else {
            panic!("verified FAIL accepted");
        };
        assert_eq!(e.source, Source::VerifiedNotify);
        assert!(!e.is_retryable());
    }

    #[test]
    fn refusals_are_logged_on_one_line() {
        // Refund notifies are unsigned: their appid reaches the message as sent.
        let body = xml::encode(&[
            ("return_code", "SUCCESS"),
            ("appid", "wx1\nwxpay: handleRefundNotify took\r\u{2028}it"),
            ("mch_id", "1000"),
            ("req_info", "x"),
        ])
        .unwrap();
        let handled = handle_refund(body.as_bytes(), &config(), |_| panic!("callback called"));
        let line = handled.log_line("handleRefundNotify").unwrap();
        assert_eq!(
            line,
            "wxpay: handleRefundNotify refused the notify and replied FAIL: refund notify is for \
             appid \"wx1\\nwxpay: handleRefundNotify took\\r\\u{2028}it\", this client is \
             configured for \"wx1\""
        );
    }

    #[test]
    fn callback_failure_is_fail_with_a_generic_message_and_logged() {
        let handled = handle_payment(payment("SUCCESS", KEY).as_bytes(), &config(), |_| {
            Err("the callback threw RuntimeException: db password xyz".into())
        });
        let reply = handled.reply();
        assert!(
            failed(&reply, NOT_PROCESSED_MSG) && !reply.contains("xyz"),
            "{reply}"
        );
        assert!(handled.log_line("handleNotify").unwrap().ends_with(
            "delivers the notify again: the callback threw RuntimeException: db password xyz"
        ));
    }

    #[test]
    fn refund_result_is_the_envelope_and_the_decrypted_fields_only() {
        let body = refund_with(
            &crypto::encrypt_req_info(REFUND_INNER, KEY),
            &[
                ("success_time", "2020-01-01 00:00:00"),
                ("return_msg", "OK"),
            ],
        );
        let fields = parse_refund(body.as_bytes(), &config()).unwrap();
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "return_code",
                "appid",
                "mch_id",
                "nonce_str",
                "return_msg",
                "out_refund_no",
                "out_trade_no",
                "refund_fee",
                "refund_status"
            ]
        );
    }

    #[test]
    fn malformed_decrypted_req_info_is_never_quoted() {
        // What a splice of captured ECB blocks decrypts to: text of the forger's choosing
        // that is not our XML. The error must not hand it back.
        for plain in [
            "PLAINTEXT-OF-A-CAPTURED-BLOCK",
            "<root>PLAINTEXT-OF-A-CAPTURED-BLOCK</root>",
            "<root><PLAINTEXT-BLOCK>x</PLAINTEXT-BLOCK><a>1</b></root>",
            "<root><a PLAINTEXT=\"1\"/></root>",
            "<root>&PLAINTEXT;</root>",
        ] {
            let body = refund_with(&crypto::encrypt_req_info(plain, KEY), &[]);
            let Err(Error::Signature(m)) = parse_refund(body.as_bytes(), &config()) else {
                panic!("{plain} accepted");
            };
            assert!(
                m.starts_with("refund notify: req_info decrypted to malformed XML ("),
                "{m}"
            );
            assert!(!m.contains("PLAINTEXT"), "{m}");
        }
    }

    #[test]
    fn refund_notify_handling() {
        let mut seen = None;
        let ok = handle_refund(refund(KEY).as_bytes(), &config(), |f| {
            seen = get(f, "refund_status").map(str::to_owned);
            Ok(())
        });
        assert_eq!(
            (ok, seen.as_deref()),
            (Handled::Acknowledged, Some("SUCCESS"))
        );
        let forged = handle_refund(
            refund("forger-key-0123456789abcdef01234").as_bytes(),
            &config(),
            |_| panic!("called"),
        );
        assert!(matches!(forged, Handled::Refused(Error::Signature(_))));
        let misrouted = handle_refund(payment("SUCCESS", KEY).as_bytes(), &config(), |_| {
            panic!("called")
        });
        assert!(misrouted.log_line("handleRefundNotify").unwrap().contains("this is a payment notify (signed, no req_info): handle it with handleNotify() or parseNotify()"));
        let threw = handle_refund(refund(KEY).as_bytes(), &config(), |_| Err("x".into()));
        assert!(failed(&threw.reply(), NOT_PROCESSED_MSG));
    }

    #[test]
    fn previous_sign_type_is_accepted_only_inside_its_window() {
        let until = config::now_seconds() + 3600;
        let switched = |previous: bool| {
            let mut e = vec![
                ("appid".to_owned(), Value::Str("wx1".into())),
                ("mch_id".to_owned(), Value::Str("1000".into())),
                ("key".to_owned(), Value::Str(KEY.into())),
                ("sign_type".to_owned(), Value::Str("HMAC-SHA256".into())),
            ];
            if previous {
                e.push((
                    "notify_previous_sign_type".to_owned(),
                    Value::Str("MD5".into()),
                ));
                e.push((
                    "notify_previous_sign_type_until".to_owned(),
                    Value::Int(until as i64),
                ));
            }
            Config::from_entries(e).unwrap()
        };
        let md5 = payment_signed("SUCCESS", KEY, SignType::Md5);
        let hmac = payment_signed("SUCCESS", KEY, SignType::HmacSha256);
        let check = |body: &str, c: &Config, now| {
            check_notify_sign(&xml::decode(body.as_bytes()).unwrap(), c, "n", now)
        };
        // Pinned by default: the old type is refused.
        assert!(check(&md5, &switched(false), until - 1).is_err());
        assert!(check(&hmac, &switched(false), until - 1).is_ok());
        // Opted in: both inside the window, only the new one after it.
        let opted = switched(true);
        assert!(check(&md5, &opted, until - 1).is_ok());
        assert!(check(&hmac, &opted, until - 1).is_ok());
        assert!(matches!(
            check(&md5, &opted, until),
            Err(Error::Signature(_))
        ));
        assert!(check(&hmac, &opted, until).is_ok());
        // A forgery is refused under either type.
        let forged = payment_signed("SUCCESS", "0123456789abcdef0123456789abcdef", SignType::Md5);
        assert!(check(&forged, &opted, until - 1).is_err());
        // Through verify_payment, as parseNotify/handleNotify use it (the window is open now).
        assert!(verify_payment(md5.as_bytes(), &opted).is_ok());
        assert!(verify_payment(md5.as_bytes(), &switched(false)).is_err());
    }
}
