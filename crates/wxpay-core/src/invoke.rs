//! Client-side ("second") signatures (docs/protocol.md §1.5): the parameters a browser, a Mini
//! Program or an app needs to start a payment, and the mode-1 Native QR URL.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::sign::{self, SignType};

pub type Fields = Vec<(String, String)>;

fn signed(mut fields: Fields, key: &str, sign_type: SignType, sign_name: &str) -> Fields {
    let sig = sign::sign(&fields, key, sign_type);
    fields.push((sign_name.to_owned(), sig.as_str().to_owned()));
    fields
}

/// The app the payer uses: in service-provider mode the sub-merchant's app when configured.
fn payer_appid(config: &Config) -> &str {
    config.sub_appid.as_deref().unwrap_or(&config.appid)
}

/// The `prepay_id` the builders take: unifiedorder's field as it came, not empty and without
/// the `prepay_id=` of JSAPI's `package` (passing `package` back is the usual slip, and would
/// sign `prepay_id=prepay_id=…`, which the payer's WeChat refuses with no reason given).
pub fn check_prepay_id(prepay_id: &str) -> Result<&str> {
    if prepay_id.is_empty() {
        return Err(Error::InvalidArgument("prepayId must not be empty".into()));
    }
    if prepay_id.starts_with("prepay_id=") {
        return Err(Error::InvalidArgument(
            "prepayId must be unifiedorder's prepay_id as it came (\"wx…\"), without \
             \"prepay_id=\": pass $result['prepay_id']; package=prepay_id=… is written for you"
                .into(),
        ));
    }
    Ok(prepay_id)
}

/// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment` parameters:
/// appId, timeStamp, nonceStr, package, signType and paySign. `signType` must equal the
/// unifiedorder sign type, so it follows the configuration.
pub fn jsapi(config: &Config, prepay_id: &str, timestamp: u64, nonce: &str) -> Fields {
    let fields = vec![
        ("appId".to_owned(), payer_appid(config).to_owned()),
        ("timeStamp".to_owned(), timestamp.to_string()),
        ("nonceStr".to_owned(), nonce.to_owned()),
        ("package".to_owned(), format!("prepay_id={prepay_id}")),
        ("signType".to_owned(), config.sign_type.as_str().to_owned()),
    ];
    signed(fields, config.key.expose(), config.sign_type, "paySign")
}

/// The APP SDK's `PayReq`: appid, partnerid, prepayid, package=`Sign=WXPay`, noncestr,
/// timestamp and sign (no sign_type field; signed with the configured type).
pub fn app(config: &Config, prepay_id: &str, timestamp: u64, nonce: &str) -> Fields {
    let partner = config.sub_mch_id.as_deref().unwrap_or(&config.mch_id);
    let fields = vec![
        ("appid".to_owned(), payer_appid(config).to_owned()),
        ("partnerid".to_owned(), partner.to_owned()),
        ("prepayid".to_owned(), prepay_id.to_owned()),
        ("package".to_owned(), "Sign=WXPay".to_owned()),
        ("noncestr".to_owned(), nonce.to_owned()),
        ("timestamp".to_owned(), timestamp.to_string()),
    ];
    signed(fields, config.key.expose(), config.sign_type, "sign")
}

/// Native mode 1: `weixin://wxpay/bizpayurl?sign=…&appid=…&mch_id=…&product_id=…&time_stamp=…&nonce_str=…`.
/// The URL carries no sign_type, so it is always MD5 (as WeChat and the official SDK do).
pub fn native_url(config: &Config, product_id: &str, timestamp: u64, nonce: &str) -> String {
    let fields = vec![
        ("appid".to_owned(), config.appid.clone()),
        ("mch_id".to_owned(), config.mch_id.clone()),
        ("time_stamp".to_owned(), timestamp.to_string()),
        ("nonce_str".to_owned(), nonce.to_owned()),
        ("product_id".to_owned(), product_id.to_owned()),
    ];
    let sig = sign::sign(&fields, config.key.expose(), SignType::Md5);
    let mut url = format!("weixin://wxpay/bizpayurl?sign={}", sig.as_str());
    for name in ["appid", "mch_id", "product_id", "time_stamp", "nonce_str"] {
        if let Some((k, v)) = fields.iter().find(|(k, _)| k == name) {
            url.push('&');
            url.push_str(k);
            url.push('=');
            url.push_str(&percent_encode(v));
        }
    }
    url
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepay_id_is_taken_bare() {
        assert_eq!(check_prepay_id("wx2017"), Ok("wx2017"));
        for (bad, says) in [
            ("", "must not be empty"),
            (
                "prepay_id=wx2017",
                "without \"prepay_id=\": pass $result['prepay_id']",
            ),
        ] {
            match check_prepay_id(bad) {
                Err(Error::InvalidArgument(m)) => assert!(m.contains(says), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
