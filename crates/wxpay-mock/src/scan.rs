//! Native pay mode 1 (docs/protocol.md §13): the payer scans a `bizpayurl` QR code
//! (`POST /mock/scan`), WeChat checks the URL, posts the MD5-signed callback to the merchant's
//! scan URL (`POST /mock/merchant`), checks the signed reply, and shows the payer the order
//! its `prepay_id` names, which the payer may then pay.

use crate::api::{PayOutcome, PayRequest, mark_paid};
use crate::app::{App, alnum};
use crate::proto::{Fields, get, kv};
use crate::state::TradeState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use wxpay_core::{SignType, sign, xml};

/// The QR text's prefix; its query holds the five signed fields and `sign`.
const BIZPAYURL: &str = "weixin://wxpay/bizpayurl?";
/// The callback and the reply carry no `sign_type`: MD5, like the URL itself.
const SIGN_TYPE: SignType = SignType::Md5;

/// `POST /mock/scan` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The scanned text, `weixin://wxpay/bizpayurl?sign=…&appid=…`.
    pub url: String,
    /// The payer; a stable mock openid by default.
    pub openid: Option<String>,
    /// `Y` or `N` (default).
    pub is_subscribe: Option<String>,
    /// Pay the order at once when the merchant's reply is good.
    #[serde(default)]
    pub pay: bool,
}

/// Why a scan went nowhere: WeChat would show the payer an error page.
pub enum Refused {
    /// The scanned text is not a valid `bizpayurl` of this merchant (HTTP 400).
    BadQr(String),
    /// The merchant has configured no scan URL (HTTP 409).
    NoScanUrl,
}

/// The fields of a `bizpayurl`, decoded; the QR's signature checked.
fn parse_bizpayurl(app: &App, url: &str) -> Result<Fields, Refused> {
    let bad = |why: &str| Refused::BadQr(format!("{why}: {url}"));
    let query = url
        .strip_prefix(BIZPAYURL)
        .ok_or_else(|| bad("not a weixin://wxpay/bizpayurl? code"))?;
    let mut fields = Fields::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').ok_or_else(|| bad("malformed query"))?;
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| bad("a value is not UTF-8"))?;
        if get(&fields, name).is_some() {
            return Err(bad(&format!("{name} repeats")));
        }
        fields.push((name.to_owned(), value.into_owned()));
    }
    const SIGNED: [&str; 5] = ["appid", "mch_id", "product_id", "time_stamp", "nonce_str"];
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| k != "sign" && !SIGNED.contains(&k.as_str()))
    {
        return Err(bad(&format!("unknown field {name}")));
    }
    if let Some(missing) = SIGNED
        .iter()
        .chain(&["sign"])
        .find(|n| get(&fields, n).is_none())
    {
        return Err(bad(&format!("no {missing}")));
    }
    if sign::verify(&fields, &app.merchant.key, SIGN_TYPE).is_err() {
        return Err(bad("sign does not match"));
    }
    if get(&fields, "appid") != Some(&app.merchant.appid)
        || get(&fields, "mch_id") != Some(&app.merchant.mch_id)
    {
        return Err(bad("not this merchant's code"));
    }
    Ok(fields)
}

/// The MD5-signed callback WeChat posts for a scan.
fn callback(app: &App, qr: &Fields, openid: &str, is_subscribe: &str) -> Fields {
    let mut fields = vec![
        kv("appid", &app.merchant.appid),
        kv("openid", openid),
        kv("mch_id", &app.merchant.mch_id),
        kv("is_subscribe", is_subscribe),
        kv("nonce_str", alnum(32)),
        kv("product_id", get(qr, "product_id").unwrap_or_default()),
    ];
    let signature = sign::sign(&fields, &app.merchant.key, SIGN_TYPE);
    fields.push(kv("sign", signature.as_str()));
    fields
}

/// Checks the merchant's reply as WeChat does: signed (MD5), ours, SUCCESS, and naming a
/// NATIVE order that can still be paid. Returns its out_trade_no.
fn check_reply(app: &App, reply: &Fields, openid: &str) -> Result<String, String> {
    if get(reply, "return_code") != Some("SUCCESS") {
        return Err(format!(
            "the reply is return_code={} return_msg={}",
            get(reply, "return_code").unwrap_or("(none)"),
            get(reply, "return_msg").unwrap_or_default()
        ));
    }
    sign::verify(reply, &app.merchant.key, SIGN_TYPE)
        .map_err(|e| format!("the reply's signature: {e}"))?;
    if get(reply, "appid") != Some(&app.merchant.appid)
        || get(reply, "mch_id") != Some(&app.merchant.mch_id)
    {
        return Err("the reply is for another appid or mch_id".into());
    }
    if get(reply, "result_code") != Some("SUCCESS") {
        return Err(format!(
            "the merchant declined: {}",
            get(reply, "err_code_des").unwrap_or("(no err_code_des)")
        ));
    }
    let prepay_id = get(reply, "prepay_id").ok_or("the reply has no prepay_id")?;
    let mut state = app.state();
    let order = state
        .orders
        .values_mut()
        .find(|o| o.prepay_id == prepay_id)
        .ok_or_else(|| format!("no order has prepay_id {prepay_id}"))?;
    if order.trade_type != "NATIVE" || order.state != TradeState::Notpay {
        return Err(format!(
            "order {} is {} {}, not a NATIVE order awaiting payment",
            order.out_trade_no,
            order.trade_type,
            order.state.as_str()
        ));
    }
    if order.openid.is_empty() {
        order.openid = openid.to_owned();
    }
    Ok(order.out_trade_no.clone())
}

fn as_json(fields: &Fields) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Plays one scan; `Err` when it never reached the merchant. The JSON says what WeChat sent,
/// what the merchant answered, and whether it led to a payable (or paid) order.
pub async fn scan(app: &Arc<App>, request: ScanRequest) -> Result<Value, Refused> {
    let qr = parse_bizpayurl(app, &request.url)?;
    let url = app.scan_url().ok_or(Refused::NoScanUrl)?;
    let product_id = get(&qr, "product_id").unwrap_or_default().to_owned();
    let openid = request
        .openid
        .unwrap_or_else(|| crate::api::mock_openid(&format!("scan {product_id}")));
    let sent = callback(
        app,
        &qr,
        &openid,
        request.is_subscribe.as_deref().unwrap_or("N"),
    );
    let body = xml::encode(&sent).map_err(|e| Refused::BadQr(e.to_string()))?;
    let (http_status, text, error) = crate::notify::post(app, &url, &body).await;
    let mut report = json!({
        "ok": false,
        "url": url,
        "callback": as_json(&sent),
        "http_status": http_status,
        "reply_body": text,
    });
    let outcome = match (http_status, error) {
        (_, Some(e)) => Err(format!("the scan URL could not be reached: {e}")),
        (Some(200), None) => match xml::decode(text.as_bytes()) {
            Ok(reply) => {
                let reply = xml::into_owned(reply);
                report["reply"] = as_json(&reply);
                check_reply(app, &reply, &openid)
            }
            Err(e) => Err(format!("the reply is not valid XML: {e}")),
        },
        (status, None) => Err(format!(
            "the scan URL answered HTTP {}",
            status.unwrap_or_default()
        )),
    };
    match outcome {
        Err(why) => report["error"] = Value::String(why),
        Ok(out_trade_no) => {
            report["ok"] = Value::Bool(true);
            report["out_trade_no"] = Value::String(out_trade_no.clone());
            if request.pay {
                let paid = mark_paid(
                    app,
                    &out_trade_no,
                    PayRequest {
                        openid: Some(openid),
                        ..PayRequest::default()
                    },
                );
                report["paid"] = Value::Bool(matches!(paid, PayOutcome::Paid(_)));
            }
        }
    }
    Ok(report)
}
