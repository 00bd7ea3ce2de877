//! What a configured logger is told: one [`Attempt`] per HTTP attempt, turned into PSR-3
//! records by [`Attempt::records`]. Everything a record contains is decided here; the PHP
//! face only hands the records to the logger after the call has returned to PHP.
//!
//! Secrets never appear: the API key (and a sandbox key) and every `sign` are not in the
//! summary record at all; the bodies, only in the debug record, have the value of every
//! field named `sign`, `paySign` or `…key` replaced by `***`, and any occurrence of the key
//! or of the request's signature anywhere else replaced too.

use crate::api::Fields;
use crate::http::Connection;
use std::time::Duration;

/// What replaces a secret.
pub const MASK: &str = "***";
/// A body that is not flat XML is shown as text, cut to this many bytes.
pub const TEXT_PREVIEW_BYTES: usize = 2048;

/// PSR-3 levels used here (`Psr\Log\LogLevel` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
        }
    }
}

/// A context value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A body's fields, in order, secrets masked.
    Fields(Fields),
}

impl Value {
    fn opt(value: &Option<String>) -> Self {
        value.clone().map_or(Self::Null, Self::Str)
    }
}

/// One PSR-3 record: level, message (no `{placeholders}`), context.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub level: Level,
    pub message: String,
    pub context: Vec<(&'static str, Value)>,
}

/// How an attempt ended for its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its answer is the call's result (for a bill download: the bill).
    Success,
    /// Another attempt follows.
    Retry,
    /// The call ends with this attempt's error (a transport failure, a refused answer, or
    /// WeChat's FAIL: an ApiException).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }
}

/// One HTTP attempt of a call, as it is logged.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The call: `orderquery`, `micropay`, a `request()` path, `/pay/getsignkey`.
    pub call: String,
    /// The path posted to (with the sandbox prefix in sandbox mode).
    pub path: String,
    /// The base URL it went to (the backup while failed over).
    pub url: String,
    /// 1 for the first attempt of the call.
    pub attempt: u32,
    pub duration: Duration,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub return_code: Option<String>,
    pub result_code: Option<String>,
    pub err_code: Option<String>,
    pub outcome: Outcome,
    /// This attempt's transport failure moved the thread to the backup URL (the next
    /// attempt, and calls for the next 60 s, go there).
    pub failover: bool,
    /// See [`crate::http::Connection`]; `None` when no answer came (nothing to tell by).
    pub connection: Option<Connection>,
    /// Why the attempt failed (the exception message it would give), when it did.
    pub error: Option<String>,
    /// The fields sent, secrets masked.
    pub request: Value,
    /// The answer's body, secrets masked: its fields when it is flat XML, else a text
    /// preview; `Null` without an answer.
    pub response: Value,
}

impl Attempt {
    /// The records for this attempt: the summary (info for a success, warning otherwise),
    /// then the bodies at debug level.
    pub fn records(&self) -> Vec<Record> {
        let level = match self.outcome {
            Outcome::Success => Level::Info,
            Outcome::Retry | Outcome::Failed => Level::Warning,
        };
        let ms = self.duration.as_secs_f64() * 1000.0;
        let what = match (self.outcome, self.failover) {
            (Outcome::Success, _) => "succeeded",
            (Outcome::Retry, false) => "failed, retrying",
            (Outcome::Retry, true) => "failed, retrying on the backup URL",
            (Outcome::Failed, _) => "failed",
        };
        let mut detail = Vec::new();
        if let Some(status) = self.status {
            detail.push(format!("HTTP {status}"));
        }
        for (name, value) in [
            ("return_code", &self.return_code),
            ("result_code", &self.result_code),
            ("err_code", &self.err_code),
        ] {
            if let Some(v) = value {
                detail.push(format!("{name}={v}"));
            }
        }
        if let Some(c) = self.connection {
            detail.push(format!("{} connection", c.as_str()));
        }
        let mut message = format!(
            "wxpay {} attempt {} {what} in {ms:.1} ms",
            self.call, self.attempt
        );
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail.join(", "));
        }
        if let Some(error) = &self.error {
            message.push_str(" - ");
            message.push_str(error);
        }
        let ms_rounded = (ms * 10.0).round() / 10.0;
        let summary = Record {
            level,
            message,
            context: vec![
                ("call", Value::Str(self.call.clone())),
                ("path", Value::Str(self.path.clone())),
                ("url", Value::Str(self.url.clone())),
                ("attempt", Value::Int(i64::from(self.attempt))),
                ("duration_ms", Value::Float(ms_rounded)),
                (
                    "status",
                    self.status.map_or(Value::Null, |s| Value::Int(s.into())),
                ),
                ("return_code", Value::opt(&self.return_code)),
                ("result_code", Value::opt(&self.result_code)),
                ("err_code", Value::opt(&self.err_code)),
                ("outcome", Value::Str(self.outcome.as_str().into())),
                ("retry", Value::Bool(self.outcome == Outcome::Retry)),
                ("failover", Value::Bool(self.failover)),
                (
                    "connection",
                    self.connection
                        .map_or(Value::Null, |c| Value::Str(c.as_str().into())),
                ),
                ("error", Value::opt(&self.error)),
            ],
        };
        let bodies = Record {
            level: Level::Debug,
            message: format!(
                "wxpay {} attempt {}: request and response bodies",
                self.call, self.attempt
            ),
            context: vec![
                ("call", Value::Str(self.call.clone())),
                ("path", Value::Str(self.path.clone())),
                ("attempt", Value::Int(i64::from(self.attempt))),
                ("request", self.request.clone()),
                ("response", self.response.clone()),
            ],
        };
        vec![summary, bodies]
    }
}

/// Whether a field's value is secret: `sign`, `paySign`, and anything named `…key`
/// (`sandbox_signkey`).
pub fn is_secret_name(name: &str) -> bool {
    name == "sign"
        || name.eq_ignore_ascii_case("paysign")
        || name.to_ascii_lowercase().ends_with("key")
}

/// `text` with every occurrence of each non-empty secret replaced by [`MASK`].
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, MASK);
        }
    }
    out
}

/// Fields with secret values masked and the secrets scrubbed from every other value.
pub fn masked_fields<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    secrets: &[&str],
) -> Fields {
    fields
        .into_iter()
        .map(|(name, value)| {
            let value = if is_secret_name(name) {
                MASK.to_owned()
            } else {
                scrub(value, secrets)
            };
            (scrub(name, secrets), value)
        })
        .collect()
}

/// A body as logged: its fields when it is flat XML, else a text preview (at most
/// [`TEXT_PREVIEW_BYTES`]) with the content of every element named like a secret masked,
/// or just its size when it is not text (a gzip bill).
pub fn masked_body(body: &[u8], secrets: &[&str]) -> Value {
    if let Ok(fields) = crate::xml::decode(body) {
        return Value::Fields(masked_fields(
            fields.iter().map(|(k, v)| (*k, v.as_ref())),
            secrets,
        ));
    }
    let cut = &body[..body.len().min(TEXT_PREVIEW_BYTES)];
    let text = match std::str::from_utf8(cut) {
        Ok(text) => text,
        // Cut inside a character: keep the whole ones.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Value::Str(format!("({} bytes, not text)", body.len())),
    };
    let mut shown = scrub(&mask_elements(text), secrets);
    if body.len() > cut.len() {
        shown.push_str(&format!("… ({} bytes in all)", body.len()));
    }
    Value::Str(shown)
}

/// Text with the content of each `<name…>…</` whose name is secret replaced by [`MASK`],
/// for bodies the XML decoder refused.
fn mask_elements(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if name_len == 0 || !is_secret_name(&rest[..name_len]) {
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // An unterminated tag: whatever follows may be the value.
            out.push_str(&rest[..name_len]);
            out.push_str(MASK);
            return out;
        };
        out.push_str(&rest[..=gt]);
        rest = &rest[gt + 1..];
        out.push_str(MASK);
        match rest.find("</") {
            Some(close) => rest = &rest[close..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            call: "orderquery".into(),
            path: "/pay/orderquery".into(),
            url: "https://api.mch.weixin.qq.com".into(),
            attempt: 2,
            duration: Duration::from_micros(12_345),
            status: Some(200),
            return_code: Some("SUCCESS".into()),
            result_code: Some("FAIL".into()),
            err_code: Some("SYSTEMERROR".into()),
            outcome,
            failover: false,
            connection: Some(Connection::Reused),
            error: None,
            request: Value::Null,
            response: Value::Null,
        }
    }

    #[test]
    fn summary_then_bodies_with_levels_by_outcome() {
        let records = attempt(Outcome::Retry).records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].level, Level::Warning);
        assert_eq!(
            records[0].message,
            "wxpay orderquery attempt 2 failed, retrying in 12.3 ms: HTTP 200, \
             return_code=SUCCESS, result_code=FAIL, err_code=SYSTEMERROR, reused connection"
        );
        let get = |r: &Record, k: &str| r.context.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get(&records[0], "duration_ms"), Value::Float(12.3));
        assert_eq!(get(&records[0], "retry"), Value::Bool(true));
        assert_eq!(get(&records[0], "connection"), Value::Str("reused".into()));
        assert_eq!(records[1].level, Level::Debug);
        assert!(records[0].context.iter().all(|(k, _)| *k != "request"));
        assert_eq!(attempt(Outcome::Success).records()[0].level, Level::Info);
        assert_eq!(attempt(Outcome::Failed).records()[0].level, Level::Warning);
        let over = Attempt {
            failover: true,
            status: None,
            connection: None,
            error: Some("POST /pay/orderquery on https://x: cannot connect".into()),
            ..attempt(Outcome::Retry)
        };
        let m = &over.records()[0].message;
        assert!(
            m.contains("retrying on the backup URL")
                && m.ends_with("- POST /pay/orderquery on https://x: cannot connect"),
            "{m}"
        );
        assert!(!m.contains('{'), "no PSR-3 placeholders: {m}");
    }

    #[test]
    fn bodies_are_masked() {
        let xml = format!(
            "<xml><appid>wx1</appid><sign>ABCDEF0123</sign><sandbox_signkey>{KEY}</sandbox_signkey>\
             <attach>pasted {KEY} by mistake</attach><sign_type>MD5</sign_type></xml>"
        );
        let Value::Fields(fields) = masked_body(xml.as_bytes(), &[KEY, "ABCDEF0123"]) else {
            panic!("fields expected")
        };
        assert_eq!(
            fields,
            [
                ("appid", "wx1"),
                ("sign", "***"),
                ("sandbox_signkey", "***"),
                ("attach", "pasted *** by mistake"),
                ("sign_type", "MD5"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        // Refused by the decoder (an attribute, a duplicate): masked as text.
        let broken = format!(
            "<xml><sign a=\"1\"><![CDATA[ABCDEF0123]]></sign><paySign>X1</paySign><sign>Y2</sign>{KEY}</xml>"
        );
        let Value::Str(text) = masked_body(broken.as_bytes(), &[KEY]) else {
            panic!("text expected")
        };
        assert_eq!(
            text,
            "<xml><sign a=\"1\">***</sign><paySign>***</paySign><sign>***</sign>***</xml>"
        );
        let Value::Str(text) = masked_body(b"<xml><sign>ABC", &[]) else {
            panic!()
        };
        assert_eq!(text, "<xml><sign>***");
        let Value::Str(text) = masked_body(b"<xml><sign", &[]) else {
            panic!()
        };
        assert_eq!(text, "<xml><sign***");
        assert_eq!(
            masked_body(&[0x1f, 0x8b, 0xff, 0x00], &[]),
            Value::Str("(4 bytes, not text)".into())
        );
        let long = "交易时间,公众账号ID\n".repeat(200);
        let Value::Str(text) = masked_body(long.as_bytes(), &[]) else {
            panic!()
        };
        assert!(
            text.len() <= TEXT_PREVIEW_BYTES + 40
                && text.ends_with(&format!("({} bytes in all)", long.len()))
        );
    }
}
