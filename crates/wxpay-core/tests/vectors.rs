//! Every vector in tests/vectors/ (a copy of the team's checked vectors) through the core.

use serde_json::Value;
use wxpay_core::config::{Config, Value as C};
use wxpay_core::sign::{self, SignType, VerifyError};
use wxpay_core::{crypto, invoke, xml};

fn load(name: &str) -> Value {
    let path = format!("{}/../../tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
}

fn params(v: &Value) -> Vec<(String, String)> {
    v["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn sign_vectors() {
    let doc = load("sign.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 14);
    for v in vectors {
        let id = str_of(v, "id");
        let t = SignType::parse(str_of(v, "sign_type")).unwrap();
        let key = str_of(v, "key");
        let mut fields = params(v);
        assert_eq!(
            sign::sign(&fields, key, t).as_str(),
            str_of(v, "sign"),
            "{id}"
        );
        fields.push(("sign".into(), str_of(v, "sign").into()));
        assert_eq!(sign::verify(&fields, key, t), Ok(()), "{id} verifies");
        let other = if t == SignType::Md5 {
            SignType::HmacSha256
        } else {
            SignType::Md5
        };
        assert!(sign::verify(&fields, key, other).is_err(), "{id} pinned");
        let mut wrong_key = key.to_owned();
        wrong_key.push('x');
        assert_eq!(
            sign::verify(&fields, &wrong_key, t),
            Err(VerifyError::Mismatch),
            "{id} wrong key"
        );
        // Through XML and back, the signature still verifies.
        let body = xml::encode(&fields).unwrap();
        let decoded = xml::into_owned(xml::decode(body.as_bytes()).unwrap());
        assert_eq!(decoded, fields, "{id} XML round trip");
    }
}

fn config(appid: &str, key: &str, t: SignType) -> Config {
    Config::from_entries([
        ("appid".to_owned(), C::Str(appid.into())),
        ("mch_id".to_owned(), C::Str("10000100".into())),
        ("key".to_owned(), C::Str(key.into())),
        ("sign_type".to_owned(), C::Str(t.as_str().into())),
    ])
    .unwrap()
}

fn vector<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
}

#[test]
fn invoke_builders_match_vectors() {
    let doc = load("sign.json");
    for id in ["V3", "V4"] {
        let v = vector(&doc, id);
        let p = &v["params"];
        let t = SignType::parse(str_of(v, "sign_type")).unwrap();
        let cfg = config(str_of(p, "appId"), str_of(v, "key"), t);
        let prepay = str_of(p, "package").strip_prefix("prepay_id=").unwrap();
        let ts: u64 = str_of(p, "timeStamp").parse().unwrap();
        let out = invoke::jsapi(&cfg, prepay, ts, str_of(p, "nonceStr"));
        assert_eq!(
            out.last().unwrap(),
            &("paySign".to_owned(), str_of(v, "sign").to_owned()),
            "{id}"
        );
    }
    let v = vector(&doc, "D4");
    let p = &v["params"];
    let cfg = config(str_of(p, "appid"), str_of(v, "key"), SignType::Md5);
    let out = invoke::app(
        &cfg,
        str_of(p, "prepayid"),
        str_of(p, "timestamp").parse().unwrap(),
        str_of(p, "noncestr"),
    );
    assert_eq!(out.last().unwrap().1, str_of(v, "sign"));
    let v = vector(&doc, "D5");
    let p = &v["params"];
    let cfg = config(str_of(p, "appid"), str_of(v, "key"), SignType::HmacSha256);
    let url = invoke::native_url(
        &cfg,
        str_of(p, "product_id"),
        str_of(p, "time_stamp").parse().unwrap(),
        str_of(p, "nonce_str"),
    );
    assert_eq!(
        url,
        format!(
            "weixin://wxpay/bizpayurl?sign={}&appid=wxd930ea5d5a258f4f&mch_id=10000100&product_id=88888&time_stamp=1414488825&nonce_str=ibuaiVcKdpRxkhJA",
            str_of(v, "sign")
        )
    );
}

#[test]
fn refund_req_info_vectors() {
    let doc = load("refund_req_info.json");
    for v in doc["vectors"].as_array().unwrap() {
        let key = str_of(v, "key");
        let plain = crypto::decrypt_req_info(str_of(v, "req_info"), key).unwrap();
        assert_eq!(plain, str_of(v, "plaintext"));
        assert_eq!(crypto::encrypt_req_info(&plain, key), str_of(v, "req_info"));
        assert!(crypto::decrypt_req_info(str_of(v, "req_info"), "wrong-key").is_err());
    }
}
