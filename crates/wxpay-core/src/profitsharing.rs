//! Profit sharing (分账, docs/protocol.md §15): the JSON the `receiver` and `receivers` fields
//! carry, checked before anything is signed or sent, so that a typo fails here naming the
//! entry and the rule instead of as WeChat's "分账接收方列表格式错误".

use crate::api::Api;
use crate::error::{Error, Result};
use crate::notify::get;
use serde_json::{Map, Value};

/// `type` of a receiver.
pub const RECEIVER_TYPES: &[&str] = &["MERCHANT_ID", "PERSONAL_OPENID", "PERSONAL_SUB_OPENID"];

/// `relation_type` of an added receiver: the union of the values the sources list
/// (docs/protocol.md §15.1).
pub const RELATION_TYPES: &[&str] = &[
    "SERVICE_PROVIDER",
    "STORE",
    "STAFF",
    "STORE_OWNER",
    "PARTNER",
    "HEADQUARTER",
    "BRAND",
    "DISTRIBUTOR",
    "USER",
    "SUPPLIER",
    "CUSTOM",
    "PLATFORM",
    "OTHERS",
];

/// At most this many receivers per sharing request.
pub const MAX_RECEIVERS: usize = 50;
/// `receivers` is String(10240).
pub const MAX_RECEIVERS_BYTES: usize = 10240;
/// A receiver's `description` is String(80); `custom_relation` at most 10 characters.
const MAX_DESCRIPTION_BYTES: usize = 80;
const MAX_CUSTOM_RELATION_CHARS: usize = 10;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// The rules of `api`'s JSON fields; other calls have none.
pub fn check(api: Api, fields: &[(String, String)]) -> Result<()> {
    let json = |name: &str| get(fields, name).unwrap_or_default();
    match api {
        Api::ProfitSharingAddReceiver => receiver(json("receiver"), true),
        Api::ProfitSharingRemoveReceiver => receiver(json("receiver"), false),
        Api::ProfitSharing | Api::MultiProfitSharing => receivers(json("receivers")),
        _ => Ok(()),
    }
}

fn object<'a>(field: &str, value: &'a Value) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| {
        invalid(format!(
            "{field} must be a JSON object (an array with string keys)"
        ))
    })
}

/// A member that must be a non-empty string.
fn text<'a>(at: &str, entry: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match entry.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None => Err(invalid(format!("{at}.{name} is required"))),
        Some(other) => Err(invalid(format!(
            "{at}.{name} must be a string, {other} given"
        ))),
    }
}

fn one_of(at: &str, name: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{at}.{name} must be one of {}, \"{value}\" given",
            allowed.join(", ")
        )))
    }
}

fn parse(field: &str, value: &str) -> Result<Value> {
    serde_json::from_str(value).map_err(|e| invalid(format!("{field} is not valid JSON: {e}")))
}

/// `receiver` of add (`for_add`) and remove: `type` and `account`; adding also needs
/// `relation_type` (+ `custom_relation` for CUSTOM) and, for a merchant, its full `name`.
fn receiver(value: &str, for_add: bool) -> Result<()> {
    let parsed = parse("receiver", value)?;
    let entry = object("receiver", &parsed)?;
    let at = "receiver";
    let kind = text(at, entry, "type")?;
    one_of(at, "type", kind, RECEIVER_TYPES)?;
    text(at, entry, "account")?;
    if !for_add {
        return Ok(());
    }
    if kind == "MERCHANT_ID" {
        text(at, entry, "name").map_err(|_| {
            invalid("receiver.name is required for a MERCHANT_ID receiver: the merchant's full registered name".into())
        })?;
    }
    let relation = text(at, entry, "relation_type")?;
    one_of(at, "relation_type", relation, RELATION_TYPES)?;
    match entry.get("custom_relation") {
        _ if relation == "CUSTOM" => {
            let custom = text(at, entry, "custom_relation")?;
            if custom.chars().count() > MAX_CUSTOM_RELATION_CHARS {
                return Err(invalid(format!(
                    "receiver.custom_relation must be at most {MAX_CUSTOM_RELATION_CHARS} characters, \"{custom}\" given"
                )));
            }
            Ok(())
        }
        Some(_) => Err(invalid(
            "receiver.custom_relation is only for relation_type CUSTOM".into(),
        )),
        None => Ok(()),
    }
}

/// `receivers` of a sharing request: 1 to 50 entries, each with `type`, `account`, a
/// positive whole `amount` in fen (a JSON integer) and a `description`.
fn receivers(value: &str) -> Result<()> {
    if value.len() > MAX_RECEIVERS_BYTES {
        return Err(invalid(format!(
            "receivers must be at most {MAX_RECEIVERS_BYTES} bytes of JSON, {} given",
            value.len()
        )));
    }
    let parsed = parse("receivers", value)?;
    let Some(list) = parsed.as_array() else {
        return Err(invalid(
            "receivers must be a JSON array of receivers (a PHP list)".into(),
        ));
    };
    if list.is_empty() || list.len() > MAX_RECEIVERS {
        return Err(invalid(format!(
            "receivers must hold 1 to {MAX_RECEIVERS} receivers, {} given",
            list.len()
        )));
    }
    for (i, item) in list.iter().enumerate() {
        let at = format!("receivers[{i}]");
        let entry = object(&at, item)?;
        one_of(&at, "type", text(&at, entry, "type")?, RECEIVER_TYPES)?;
        text(&at, entry, "account")?;
        match entry.get("amount") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|a| a > 0) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "{at}.amount must be a positive whole number of fen (a JSON integer), {other} given"
                )));
            }
            None => return Err(invalid(format!("{at}.amount is required"))),
        }
        let description = text(&at, entry, "description")?;
        if description.len() > MAX_DESCRIPTION_BYTES {
            return Err(invalid(format!(
                "{at}.description must be at most {MAX_DESCRIPTION_BYTES} bytes, {} given",
                description.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn receiver_rules() {
        receiver(
            r#"{"type":"MERCHANT_ID","account":"190001001","name":"示例商户全称","relation_type":"STORE"}"#,
            true,
        )
        .unwrap();
        receiver(
            r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"CUSTOM","custom_relation":"加盟商"}"#,
            true,
        )
        .unwrap();
        receiver(r#"{"type":"PERSONAL_OPENID","account":"o1"}"#, false).unwrap();
        for (json, for_add, expected) in [
            ("{", true, "receiver is not valid JSON"),
            ("[1]", true, "receiver must be a JSON object"),
            (r#"{"account":"a"}"#, false, "receiver.type is required"),
            (
                r#"{"type":"PERSONAL_WECHATID","account":"a"}"#,
                false,
                "receiver.type must be one of MERCHANT_ID, PERSONAL_OPENID, PERSONAL_SUB_OPENID, \"PERSONAL_WECHATID\" given",
            ),
            (
                r#"{"type":"MERCHANT_ID","account":""}"#,
                false,
                "receiver.account is required",
            ),
            (
                r#"{"type":"MERCHANT_ID","account":1}"#,
                false,
                "receiver.account must be a string, 1 given",
            ),
            (
                r#"{"type":"MERCHANT_ID","account":"1","relation_type":"STORE"}"#,
                true,
                "receiver.name is required for a MERCHANT_ID receiver",
            ),
            (
                r#"{"type":"PERSONAL_OPENID","account":"o1"}"#,
                true,
                "receiver.relation_type is required",
            ),
            (
                r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"FRIEND"}"#,
                true,
                "receiver.relation_type must be one of SERVICE_PROVIDER",
            ),
            (
                r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"CUSTOM"}"#,
                true,
                "receiver.custom_relation is required",
            ),
            (
                r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"CUSTOM","custom_relation":"一二三四五六七八九十一"}"#,
                true,
                "receiver.custom_relation must be at most 10 characters",
            ),
            (
                r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"STORE","custom_relation":"x"}"#,
                true,
                "receiver.custom_relation is only for relation_type CUSTOM",
            ),
        ] {
            let m = msg(receiver(json, for_add));
            assert!(m.starts_with(expected), "{json}: {m}");
        }
    }

    #[test]
    fn receivers_rules() {
        receivers(r#"[{"type":"MERCHANT_ID","account":"190001001","amount":100,"description":"分到商户"}]"#)
            .unwrap();
        let one = |amount: &str| {
            format!(
                r#"[{{"type":"PERSONAL_OPENID","account":"o1","amount":{amount},"description":"d"}}]"#
            )
        };
        let many = format!(
            "[{}]",
            vec![r#"{"type":"PERSONAL_OPENID","account":"o1","amount":1,"description":"d"}"#; 51]
                .join(",")
        );
        for (json, expected) in [
            ("{}".to_owned(), "receivers must be a JSON array"),
            (
                "[]".to_owned(),
                "receivers must hold 1 to 50 receivers, 0 given",
            ),
            (many, "receivers must hold 1 to 50 receivers, 51 given"),
            (
                one("1.5"),
                "receivers[0].amount must be a positive whole number of fen (a JSON integer), 1.5 given",
            ),
            (
                one("0"),
                "receivers[0].amount must be a positive whole number",
            ),
            (
                one("-3"),
                "receivers[0].amount must be a positive whole number",
            ),
            (
                one("\"100\""),
                "receivers[0].amount must be a positive whole number",
            ),
            (
                r#"[{"type":"PERSONAL_OPENID","account":"o1","amount":1}]"#.to_owned(),
                "receivers[0].description is required",
            ),
            (
                format!(
                    r#"[{{"type":"PERSONAL_OPENID","account":"o1","amount":1,"description":"{}"}}]"#,
                    "分".repeat(27)
                ),
                "receivers[0].description must be at most 80 bytes, 81 given",
            ),
            (
                format!("[{}]", " ".repeat(10240)),
                "receivers must be at most 10240 bytes of JSON, 10242 given",
            ),
        ] {
            let m = msg(receivers(&json));
            assert!(m.starts_with(expected), "{json}: {m}");
        }
    }
}
