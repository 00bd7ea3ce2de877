//! Inputs the fuzz targets (fuzz/README.md) stopped on, replayed through the core.

use wxpay_core::config::{Config, Value};
use wxpay_core::{crypto, notify, sign, xml};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fn config() -> Config {
    let entry = |k: &str, v: &str| (k.to_owned(), Value::Str(v.to_owned()));
    Config::from_entries([
        entry("appid", "wxd930ea5d5a258f4f"),
        entry("mch_id", "10000100"),
        entry("key", KEY),
    ])
    .unwrap()
}

/// refund_notify, 2026-11-30, on its own seed `refund_inner_root.xml`: the target still
/// expected every outer field back, `sign` included, after the refund result became the
/// envelope fields plus the decrypted ones (issue 10). The core was right and the oracle was
/// updated; this pins the behaviour: an outer `sign` (refund notifies are unsigned) is
/// dropped like any field outside the envelope, and a decrypted field of that name is then
/// no repeat.
#[test]
fn refund_notify_drops_an_outer_sign_and_keeps_the_decrypted_fields() {
    let inner = include_str!("../../../fuzz/seeds/refund_notify/refund_inner_root.xml");
    let mut outer = vec![
        ("return_code".to_owned(), "SUCCESS".to_owned()),
        ("appid".to_owned(), "wxd930ea5d5a258f4f".to_owned()),
        ("mch_id".to_owned(), "10000100".to_owned()),
        (
            "nonce_str".to_owned(),
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".to_owned(),
        ),
    ];
    let envelope = outer.clone();
    let outer_sign = sign::sign(&outer, KEY, sign::SignType::Md5);
    outer.push(("sign".to_owned(), outer_sign.as_str().to_owned()));
    let decrypted = xml::into_owned(xml::decode(inner.as_bytes()).unwrap());
    for with_inner_sign in [false, true] {
        let plain = if with_inner_sign {
            inner.replace("</root>", "<sign>inside</sign></root>")
        } else {
            inner.to_owned()
        };
        let mut body = outer.clone();
        body.push(("req_info".to_owned(), crypto::encrypt_req_info(&plain, KEY)));
        let got = notify::parse_refund(xml::encode(&body).unwrap().as_bytes(), &config())
            .unwrap_or_else(|e| panic!("inner sign {with_inner_sign}: {e}"));
        let mut expected = [envelope.clone(), decrypted.clone()].concat();
        if with_inner_sign {
            expected.push(("sign".to_owned(), "inside".to_owned()));
        }
        assert_eq!(got, expected, "inner sign {with_inner_sign}");
    }
}
