//! One error type for the whole core. Its variants are the PHP exception classes
//! (php/wxpay.stub.php), so the extension maps them one to one.

use crate::xml::XmlError;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Bad or missing configuration, unreadable certificate.
    Config(String),
    /// Bad call parameters: the message names the field and the rule.
    InvalidArgument(String),
    /// Malformed or refused XML.
    Xml(XmlError),
    /// Missing or wrong signature, or a message for another merchant.
    Signature(String),
    /// Connect, TLS, timeout or HTTP status failure: the outcome of the call is unknown.
    Http(HttpError),
    /// `return_code` or `result_code` is FAIL.
    Api(Box<ApiError>),
    /// A payment may or may not have happened and this client could not find out: the
    /// shop must settle it later with the same `out_trade_no` (never re-send micropay).
    OutcomeUnknown(Box<OutcomeUnknown>),
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HttpError {
    pub message: String,
    pub timeout: bool,
    pub status: Option<u16>,
}

/// A FAIL answer from WeChat, with the fields that explain it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiError {
    /// The call that got this answer (`orderquery`, `reverse`, a `request()` path, `payment
    /// notify`), so that a message read in a log says where it came from.
    pub call: String,
    pub return_code: String,
    pub return_msg: String,
    pub result_code: String,
    pub err_code: String,
    pub err_code_des: String,
    /// Every field of the answer, as received (verified when it was signed).
    pub response: Vec<(String, String)>,
    /// Where the answer came from, which decides what its fields are worth.
    pub source: Source,
}

/// Where a FAIL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Source {
    /// WeChat's answer to a request, over a verified TLS connection.
    #[default]
    Answer,
    /// An inbound notify that passed every check (signed, ours) and reports a failure.
    VerifiedNotify,
    /// An inbound notify with `return_code` FAIL. Such a notify is unsigned and anyone can
    /// POST one: its fields are whatever the sender wrote, so none is repeated in the
    /// message (nor, through it, in a log) and `err_code` makes nothing retryable.
    UnsignedNotify,
}

/// The state [`crate::client::Client::micropay_settle`] gave up in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OutcomeUnknown {
    /// The call whose failure left the outcome unknown (`reverse`, `orderquery`, …).
    pub call: String,
    pub out_trade_no: String,
    /// Why: the last failure, or the deadline.
    pub reason: String,
    /// The last answer of each call made, by call name, in the order first made.
    pub responses: Vec<(String, Vec<(String, String)>)>,
}

impl fmt::Display for OutcomeUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "micropay {}: outcome unknown after {}: {}; the order may still be paid or \
             USERPAYING at WeChat: settle it later with orderquery/reverse and the same \
             out_trade_no, never re-send micropay",
            self.out_trade_no, self.call, self.reason
        )
    }
}

/// `err_code`s after which the same request, with identical business fields, may succeed
/// (docs/protocol.md §4.2–4.3). Codes that need a long back-off are included: the caller
/// decides when.
pub const RETRYABLE_ERR_CODES: &[&str] = &[
    "SYSTEMERROR",
    "BIZERR_NEED_RETRY",
    "BANKERROR",
    "FREQUENCY_LIMITED",
    "INVALID_REQ_TOO_MUCH",
    // send_coupon's "网络环境不佳，请重试" and "超过发放频率限制，请稍后再试" (docs/protocol.md §16.4).
    "NETWORK ERROR",
    "FREQ_OVER_LIMIT",
];

impl ApiError {
    pub fn from_fields(fields: Vec<(String, String)>) -> Self {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // downloadbill's FAIL body says error_code instead of err_code (docs/protocol.md §3.7).
        let err_code = match get("err_code") {
            c if c.is_empty() => get("error_code"),
            c => c,
        };
        Self {
            call: String::new(),
            return_code: get("return_code"),
            return_msg: get("return_msg"),
            result_code: get("result_code"),
            err_code,
            err_code_des: get("err_code_des"),
            response: fields,
            source: Source::Answer,
        }
    }

    /// Whether the same request may succeed later: only WeChat's answer to a request says so.
    pub fn is_retryable(&self) -> bool {
        self.source == Source::Answer && RETRYABLE_ERR_CODES.contains(&self.err_code.as_str())
    }

    /// WeChat could not verify the request's sign (spec §4.1: `return_msg` 签名错误 or
    /// `err_code` SIGNERROR; SIGN_ERROR on the marketing calls, §12.6): never a transient
    /// failure, nearly always the wrong key.
    fn is_sign_error(&self) -> bool {
        matches!(self.err_code.as_str(), "SIGNERROR" | "SIGN_ERROR")
            || self.return_msg.contains("签名错误")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_answer(f)?;
        if self.is_sign_error() {
            f.write_str("; check that the API key and sign_type match the merchant platform")?;
        }
        Ok(())
    }
}

impl ApiError {
    fn fmt_answer(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.call.is_empty() {
            write!(f, "{}: ", self.call)?;
        }
        if self.source == Source::UnsignedNotify {
            return f.write_str(
                "return_code is not SUCCESS, and such a notify is unsigned: none of its \
                 fields is verified (anyone can send one), so none is repeated here",
            );
        }
        if self.return_code != "SUCCESS" {
            write!(
                f,
                "WeChat Pay refused the request: return_code={}",
                self.return_code
            )?;
            if !self.return_msg.is_empty() {
                write!(f, ", return_msg={}", self.return_msg)?;
            }
            if !self.err_code.is_empty() {
                write!(f, ", error_code={}", self.err_code)?;
            }
            Ok(())
        } else {
            write!(f, "WeChat Pay business failure: err_code={}", self.err_code)?;
            if !self.err_code_des.is_empty() {
                write!(f, ", err_code_des={}", self.err_code_des)?;
            }
            Ok(())
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) | Self::InvalidArgument(m) | Self::Signature(m) => f.write_str(m),
            Self::Xml(e) => e.fmt(f),
            Self::Http(e) => e.fmt(f),
            Self::Api(e) => e.fmt(f),
            Self::OutcomeUnknown(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<XmlError> for Error {
    fn from(e: XmlError) -> Self {
        Self::Xml(e)
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self::Api(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(fields: &[(&str, &str)]) -> String {
        ApiError {
            call: "orderquery".into(),
            ..ApiError::from_fields(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        }
        .to_string()
    }

    #[test]
    fn sign_errors_point_at_the_key_and_sign_type() {
        const HINT: &str = "; check that the API key and sign_type match the merchant platform";
        let refused = answer(&[("return_code", "FAIL"), ("return_msg", "签名错误")]);
        assert_eq!(
            refused,
            format!(
                "orderquery: WeChat Pay refused the request: return_code=FAIL, return_msg=签名错误{HINT}"
            )
        );
        let business = answer(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "SIGNERROR"),
        ]);
        assert!(business.ends_with(HINT), "{business}");
        let other = answer(&[
            ("return_code", "FAIL"),
            ("return_msg", "mch_id参数格式错误"),
        ]);
        assert!(!other.contains("API key"), "{other}");
    }
}
