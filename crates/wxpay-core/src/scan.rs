//! Native pay mode 1 (docs/protocol.md §13): the callback WeChat posts to the merchant's
//! scan URL when a payer scans a `bizpayurl` QR code, and the signed reply that hands WeChat
//! the `prepay_id` of the order the shop placed for it.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::invoke::check_prepay_id;
use crate::nonce::nonce;
use crate::notify::{fail_reply, get};
use crate::sign::{self, SignType};
use crate::xml;

pub type Fields = Vec<(String, String)>;

/// The callback and the reply carry no `sign_type`; both are MD5, as the `bizpayurl` is
/// (docs/protocol.md §13.2), whatever the client's configured type.
pub const SIGN_TYPE: SignType = SignType::Md5;

/// `err_code_des` of the reply is String(128) (docs/protocol.md §13.1).
pub const MAX_ERR_CODE_DES: usize = 128;

/// What the payer reads when the order could not be placed for a reason the shop did not
/// choose to show (its exception text never goes to WeChat).
pub const GENERIC_DECLINE: &str = "商户系统暂时无法下单，请稍后再试";

/// Verifies a scan callback body: MD5-signed with our key, for our `appid` and `mch_id`,
/// naming the payer (`openid`) and the product (`product_id`).
pub fn verify(body: &[u8], config: &Config) -> Result<Fields> {
    let fields = xml::into_owned(xml::decode(body)?);
    sign::verify(&fields, config.key.expose(), SIGN_TYPE)
        .map_err(|e| Error::Signature(format!("scan callback: {e}")))?;
    for (name, ours) in [("appid", &config.appid), ("mch_id", &config.mch_id)] {
        match get(&fields, name) {
            Some(v) if v == ours => {}
            Some(v) => {
                return Err(Error::Signature(format!(
                    "scan callback is for {name} \"{v}\", this client is configured for \"{ours}\""
                )));
            }
            None => return Err(Error::Signature(format!("scan callback has no {name}"))),
        }
    }
    for name in ["openid", "product_id"] {
        if get(&fields, name).is_none_or(str::is_empty) {
            return Err(Error::Signature(format!("scan callback has no {name}")));
        }
    }
    Ok(fields)
}

/// What the shop's callback decided, read from the array it returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// A unifiedorder answer (it has `prepay_id`): the shop placed the order itself.
    Prepared(String),
    /// `result_code` FAIL: the shop declines; the text (its `err_code_des`, else a generic
    /// one) is shown to the payer.
    Declined(String),
    /// unifiedorder parameters: the handler places the order, with `trade_type` NATIVE and
    /// the callback's `product_id` and `openid` filled in.
    Place(Fields),
}

fn invalid(message: String) -> Error {
    Error::InvalidArgument(format!("the createOrder callback's answer: {message}"))
}

/// Reads the array the shop's callback returned for a verified `callback`.
pub fn decide(callback: &[(String, String)], returned: Fields) -> Result<Decision> {
    let result_code = get(&returned, "result_code").filter(|v| !v.is_empty());
    if let Some(prepay_id) = get(&returned, "prepay_id").filter(|v| !v.is_empty()) {
        if result_code.is_some_and(|c| c != "SUCCESS") {
            return Err(invalid(format!(
                "result_code is \"{}\" but prepay_id is given",
                result_code.unwrap_or_default()
            )));
        }
        if let Some(t) = get(&returned, "trade_type").filter(|t| *t != "NATIVE") {
            return Err(invalid(format!(
                "prepay_id must be of a NATIVE order, trade_type \"{t}\" given"
            )));
        }
        let prepay_id = check_prepay_id(prepay_id).map_err(|e| invalid(e.to_string()))?;
        return Ok(Decision::Prepared(prepay_id.to_owned()));
    }
    match result_code {
        Some("FAIL") => {
            let shown = get(&returned, "err_code_des").unwrap_or_default();
            if shown.len() > MAX_ERR_CODE_DES {
                return Err(invalid(format!(
                    "err_code_des must be at most {MAX_ERR_CODE_DES} bytes, {} given",
                    shown.len()
                )));
            }
            let shown = if shown.is_empty() {
                GENERIC_DECLINE
            } else {
                shown
            };
            return Ok(Decision::Declined(shown.to_owned()));
        }
        Some(other) => {
            return Err(invalid(format!(
                "result_code must be FAIL (to decline) or absent (unifiedOrder parameters), \
                 \"{other}\" given without prepay_id"
            )));
        }
        None => {}
    }
    let mut params = returned;
    for (name, value) in [
        ("trade_type", "NATIVE"),
        (
            "product_id",
            get(callback, "product_id").unwrap_or_default(),
        ),
        ("openid", get(callback, "openid").unwrap_or_default()),
    ] {
        match get(&params, name).filter(|v| !v.is_empty()) {
            None => {
                params.retain(|(k, _)| k != name);
                params.push((name.to_owned(), value.to_owned()));
            }
            Some(v) if v == value => {}
            Some(v) => {
                return Err(invalid(format!(
                    "{name} must be \"{value}\" (the scanned QR code's), \"{v}\" given"
                )));
            }
        }
    }
    Ok(Decision::Place(params))
}

/// How `handleScanCallback` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ScanHandled {
    /// The order is placed: a signed SUCCESS reply with its `prepay_id`.
    Prepared(String),
    /// A signed `result_code=FAIL` reply showing `shown` to the payer; `why` (for the
    /// error log) is set when it is a failure rather than the shop's own decline.
    Declined { shown: String, why: Option<String> },
    /// The callback did not verify: an unsigned `return_code=FAIL` reply.
    Refused(Error),
}

const REFUSED_MSG: &str = "invalid callback";

impl ScanHandled {
    /// The XML body to answer WeChat with (HTTP 200).
    pub fn reply(&self, config: &Config) -> String {
        let (prepay_id, result, shown) = match self {
            Self::Refused(_) => return fail_reply(REFUSED_MSG),
            Self::Prepared(id) => (id.as_str(), "SUCCESS", ""),
            Self::Declined { shown, .. } => ("", "FAIL", shown.as_str()),
        };
        let Ok(nonce_str) = nonce() else {
            return fail_reply("system error");
        };
        let mut fields = vec![
            ("return_code", "SUCCESS"),
            ("appid", config.appid.as_str()),
            ("mch_id", config.mch_id.as_str()),
            ("nonce_str", nonce_str.as_str()),
            ("prepay_id", prepay_id),
            ("result_code", result),
            ("err_code_des", shown),
        ];
        fields.retain(|(_, v)| !v.is_empty());
        let signature = sign::sign(&fields, config.key.expose(), SIGN_TYPE);
        fields.push(("sign", signature.as_str()));
        // Every value is ours or checked text: encoding cannot fail; if it did, FAIL.
        xml::encode(&fields).unwrap_or_else(|_| fail_reply("system error"))
    }

    /// What to write to the shop's error log: `None` after SUCCESS or the shop's decline.
    pub fn log_line(&self, handler: &str) -> Option<String> {
        match self {
            Self::Prepared(_) | Self::Declined { why: None, .. } => None,
            Self::Refused(e) => Some(format!(
                "wxpay: {handler} refused the callback and replied FAIL: {e}"
            )),
            Self::Declined { why: Some(why), .. } => Some(format!(
                "wxpay: {handler} could not place the order and replied result_code=FAIL: {why}"
            )),
        }
    }
}

/// `handleScanCallback`: verifies the callback, asks the shop (`create_order`, given the
/// verified fields; its `Err` describes a throw or an unusable answer), places the order
/// with `place_order` when the shop returned parameters, and says how to reply.
pub fn handle(
    body: &[u8],
    config: &Config,
    create_order: impl FnOnce(&Fields) -> std::result::Result<Fields, String>,
    place_order: impl FnOnce(Fields) -> Result<Fields>,
) -> ScanHandled {
    let callback = match verify(body, config) {
        Ok(fields) => fields,
        Err(e) => return ScanHandled::Refused(e),
    };
    let failed = |shown: &str, why: String| ScanHandled::Declined {
        shown: shown.to_owned(),
        why: Some(why),
    };
    let returned = match create_order(&callback) {
        Ok(fields) => fields,
        Err(why) => return failed(GENERIC_DECLINE, why),
    };
    let params = match decide(&callback, returned) {
        Ok(Decision::Prepared(id)) => return ScanHandled::Prepared(id),
        Ok(Decision::Declined(shown)) => return ScanHandled::Declined { shown, why: None },
        Ok(Decision::Place(params)) => params,
        Err(e) => return failed(GENERIC_DECLINE, e.to_string()),
    };
    match place_order(params) {
        Ok(answer) => match get(&answer, "prepay_id").map(check_prepay_id) {
            Some(Ok(id)) => ScanHandled::Prepared(id.to_owned()),
            _ => failed(
                GENERIC_DECLINE,
                "unifiedorder answered SUCCESS without a usable prepay_id".into(),
            ),
        },
        // WeChat's own words (该订单已支付 …) are meant to be shown; anything else is not.
        Err(Error::Api(e))
            if !e.err_code_des.is_empty() && e.err_code_des.len() <= MAX_ERR_CODE_DES =>
        {
            let shown = e.err_code_des.clone();
            failed(&shown, Error::Api(e).to_string())
        }
        Err(e) => failed(GENERIC_DECLINE, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Value;
    use crate::error::ApiError;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn config(sign_type: &str) -> Config {
        Config::from_entries([
            ("appid".to_owned(), Value::Str("wxd930ea5d5a258f4f".into())),
            ("mch_id".to_owned(), Value::Str("10000100".into())),
            ("key".to_owned(), Value::Str(KEY.into())),
            ("sign_type".to_owned(), Value::Str(sign_type.into())),
        ])
        .unwrap()
    }

    fn f(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const CALLBACK: &[(&str, &str)] = &[
        ("appid", "wxd930ea5d5a258f4f"),
        ("openid", "o8GeHuLAsgefS_80exEr1cTqekUs"),
        ("mch_id", "10000100"),
        ("is_subscribe", "N"),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("product_id", "88888"),
    ];

    fn signed(fields: &[(&str, &str)], key: &str, sign_type: SignType) -> Vec<u8> {
        let mut fields = f(fields);
        let s = sign::sign(&fields, key, sign_type);
        fields.push(("sign".into(), s.as_str().into()));
        xml::encode(&fields).unwrap().into_bytes()
    }

    fn reply_fields(reply: &str) -> Fields {
        xml::into_owned(xml::decode(reply.as_bytes()).unwrap())
    }

    #[test]
    fn callback_is_md5_even_for_an_hmac_client() {
        let body = signed(CALLBACK, KEY, SignType::Md5);
        for sign_type in ["MD5", "HMAC-SHA256"] {
            let fields = verify(&body, &config(sign_type)).unwrap();
            assert_eq!(get(&fields, "product_id"), Some("88888"));
        }
        // An HMAC-signed callback is not WeChat's: refused, whatever the client's type.
        let hmac = signed(CALLBACK, KEY, SignType::HmacSha256);
        assert!(matches!(
            verify(&hmac, &config("HMAC-SHA256")),
            Err(Error::Signature(m)) if m.contains("64 characters")
        ));
    }

    #[test]
    fn forged_foreign_or_incomplete_callbacks_are_refused() {
        let c = config("MD5");
        let mut foreign = CALLBACK.to_vec();
        foreign[2] = ("mch_id", "999");
        let no_openid: Vec<_> = CALLBACK
            .iter()
            .filter(|(k, _)| *k != "openid")
            .copied()
            .collect();
        let cases = [
            (
                signed(CALLBACK, "forger-key-0123456789abcdef01234", SignType::Md5),
                "scan callback: sign does not match",
            ),
            (
                xml::encode(&f(CALLBACK)).unwrap().into_bytes(),
                "scan callback: the message has no sign field",
            ),
            (
                signed(&foreign, KEY, SignType::Md5),
                "scan callback is for mch_id \"999\"",
            ),
            (
                signed(&no_openid, KEY, SignType::Md5),
                "scan callback has no openid",
            ),
        ];
        for (body, expected) in cases {
            match verify(&body, &c) {
                Err(Error::Signature(m)) => assert!(m.starts_with(expected), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(verify(b"<xml><a>", &c), Err(Error::Xml(_))));
    }

    #[test]
    fn decide_reads_params_results_and_declines() {
        let callback = f(CALLBACK);
        // Parameters: trade_type, product_id and openid are the callback's.
        let Decision::Place(params) = decide(
            &callback,
            f(&[("body", "b"), ("out_trade_no", "A1"), ("total_fee", "1")]),
        )
        .unwrap() else {
            panic!("not Place")
        };
        for (k, v) in [
            ("trade_type", "NATIVE"),
            ("product_id", "88888"),
            ("openid", "o8GeHuLAsgefS_80exEr1cTqekUs"),
        ] {
            assert_eq!(get(&params, k), Some(v), "{k}");
        }
        // A unifiedorder answer.
        assert_eq!(
            decide(
                &callback,
                f(&[
                    ("result_code", "SUCCESS"),
                    ("trade_type", "NATIVE"),
                    ("prepay_id", "wx1")
                ])
            )
            .unwrap(),
            Decision::Prepared("wx1".into())
        );
        // A decline, with and without a text for the payer.
        assert_eq!(
            decide(
                &callback,
                f(&[("result_code", "FAIL"), ("err_code_des", "已售罄")])
            )
            .unwrap(),
            Decision::Declined("已售罄".into())
        );
        assert_eq!(
            decide(&callback, f(&[("result_code", "FAIL")])).unwrap(),
            Decision::Declined(GENERIC_DECLINE.into())
        );
        let refused = [
            (
                f(&[("product_id", "other")]),
                "product_id must be \"88888\"",
            ),
            (
                f(&[("trade_type", "JSAPI")]),
                "trade_type must be \"NATIVE\"",
            ),
            (f(&[("openid", "o2")]), "openid must be"),
            (
                f(&[("prepay_id", "wx1"), ("trade_type", "JSAPI")]),
                "prepay_id must be of a NATIVE order",
            ),
            (
                f(&[("prepay_id", "wx1"), ("result_code", "FAIL")]),
                "result_code is \"FAIL\" but prepay_id",
            ),
            (f(&[("prepay_id", "prepay_id=wx1")]), "prepayId must be"),
            (f(&[("result_code", "MAYBE")]), "result_code must be FAIL"),
            (
                f(&[("result_code", "FAIL"), ("err_code_des", &"长".repeat(43))]),
                "err_code_des must be at most 128 bytes, 129 given",
            ),
        ];
        for (returned, expected) in refused {
            match decide(&callback, returned) {
                Err(Error::InvalidArgument(m)) => assert!(
                    m.starts_with("the createOrder callback's answer: ") && m.contains(expected),
                    "{m}"
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn replies_are_md5_signed_with_the_prepay_id_or_the_decline() {
        let c = config("HMAC-SHA256");
        let body = signed(CALLBACK, KEY, SignType::Md5);
        let placed = handle(
            &body,
            &c,
            |cb| {
                assert_eq!(get(cb, "openid"), Some("o8GeHuLAsgefS_80exEr1cTqekUs"));
                Ok(f(&[
                    ("body", "b"),
                    ("out_trade_no", "A1"),
                    ("total_fee", "1"),
                ]))
            },
            |params| {
                assert_eq!(get(&params, "trade_type"), Some("NATIVE"));
                Ok(f(&[("result_code", "SUCCESS"), ("prepay_id", "wx2017")]))
            },
        );
        assert_eq!(placed, ScanHandled::Prepared("wx2017".into()));
        assert_eq!(placed.log_line("handleScanCallback"), None);
        let reply = reply_fields(&placed.reply(&c));
        sign::verify(&reply, KEY, SignType::Md5).unwrap();
        let names: Vec<&str> = reply.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "return_code",
                "appid",
                "mch_id",
                "nonce_str",
                "prepay_id",
                "result_code",
                "sign"
            ]
        );
        assert_eq!(get(&reply, "prepay_id"), Some("wx2017"));

        let declined = handle(
            &body,
            &c,
            |_| Ok(f(&[("result_code", "FAIL"), ("err_code_des", "已售罄")])),
            |_| panic!("no order to place"),
        );
        assert_eq!(declined.log_line("handleScanCallback"), None);
        let reply = reply_fields(&declined.reply(&c));
        sign::verify(&reply, KEY, SignType::Md5).unwrap();
        assert_eq!(get(&reply, "result_code"), Some("FAIL"));
        assert_eq!(get(&reply, "err_code_des"), Some("已售罄"));
        assert_eq!(get(&reply, "prepay_id"), None);
    }

    #[test]
    fn failures_reply_fail_and_say_why_in_the_log_only() {
        let c = config("MD5");
        let body = signed(CALLBACK, KEY, SignType::Md5);
        let threw = handle(
            &body,
            &c,
            |_| Err("the callback threw RuntimeException: db password xyz".into()),
            |_| panic!("not placed"),
        );
        let reply = threw.reply(&c);
        assert!(
            reply.contains(GENERIC_DECLINE) && !reply.contains("xyz"),
            "{reply}"
        );
        assert!(
            threw
                .log_line("handleScanCallback")
                .unwrap()
                .ends_with("db password xyz")
        );

        // WeChat's own refusal text is shown to the payer.
        let paid = handle(
            &body,
            &c,
            |_| {
                Ok(f(&[
                    ("body", "b"),
                    ("out_trade_no", "A1"),
                    ("total_fee", "1"),
                ]))
            },
            |_| {
                Err(Error::Api(Box::new(ApiError {
                    call: "unifiedorder".into(),
                    return_code: "SUCCESS".into(),
                    result_code: "FAIL".into(),
                    err_code: "ORDERPAID".into(),
                    err_code_des: "该订单已支付".into(),
                    ..ApiError::default()
                })))
            },
        );
        assert_eq!(
            get(&reply_fields(&paid.reply(&c)), "err_code_des"),
            Some("该订单已支付")
        );
        assert!(paid.log_line("h").unwrap().contains("ORDERPAID"));

        let unverified = handle(
            &signed(CALLBACK, "forger-key-0123456789abcdef01234", SignType::Md5),
            &c,
            |_| panic!("callback called"),
            |_| panic!("not placed"),
        );
        let reply = reply_fields(&unverified.reply(&c));
        assert_eq!(
            reply,
            f(&[("return_code", "FAIL"), ("return_msg", "invalid callback")])
        );
        assert!(
            unverified
                .log_line("handleScanCallback")
                .unwrap()
                .starts_with("wxpay: handleScanCallback refused the callback and replied FAIL: ")
        );
    }
}
