//! micropay and reverse, the tools, report, and the sandbox prefix.

mod common;

use common::*;
use std::time::Duration;
use wxpay_core::SignType;

fn micropay<'a>(no: &'a str, auth_code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("body", "Store-Drink"),
        ("out_trade_no", no),
        ("total_fee", "300"),
        ("spbill_create_ip", "10.0.0.8"),
        ("auth_code", auth_code),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn micropay_outcomes() {
    // USERPAYING lasts 10 s / 20 = 500 ms: long enough to be seen under load.
    let mock = start_scaled(false, 20.0);
    let api = Api::new(&mock, false);

    let paid = api
        .call("pay/micropay", &micropay("M1", "134567890123456789"))
        .await;
    assert_eq!(field(&paid, "result_code"), "SUCCESS", "{paid:?}");
    assert_eq!(field(&paid, "trade_type"), "MICROPAY");
    assert_eq!(field(&paid, "total_fee"), "300");
    let openid = field(&paid, "openid").to_owned();
    let same = api
        .call(
            "tools/authcodetoopenid",
            &[("auth_code", "134567890123456789")],
        )
        .await;
    assert_eq!(field(&same, "openid"), openid);
    // Re-sending the same micropay reports the same payment.
    let again = api
        .call("pay/micropay", &micropay("M1", "134567890123456789"))
        .await;
    assert_eq!(
        field(&again, "transaction_id"),
        field(&paid, "transaction_id")
    );
    // The code is spent.
    let reused = api
        .call("pay/micropay", &micropay("M2", "134567890123456789"))
        .await;
    assert_eq!(field(&reused, "err_code"), "AUTH_CODE_ERROR");

    for bad in [
        "164567890123456789",
        "13456789012345678",
        "1345678901234567x9",
    ] {
        let r = api.call("pay/micropay", &micropay("M3", bad)).await;
        assert_eq!(field(&r, "err_code"), "AUTH_CODE_INVALID", "{bad}");
    }

    // ...0001: USERPAYING, then paid after 10 s / 20.
    let waiting = api
        .call("pay/micropay", &micropay("M4", "100000000000000001"))
        .await;
    assert_eq!(field(&waiting, "result_code"), "FAIL");
    assert_eq!(field(&waiting, "err_code"), "USERPAYING");
    assert!(
        get(&waiting, "sign").is_some(),
        "USERPAYING answers are signed"
    );
    let q = api.call("pay/orderquery", &[("out_trade_no", "M4")]).await;
    assert_eq!(field(&q, "trade_state"), "USERPAYING");
    let paid_later = eventually(Duration::from_secs(3), || async {
        let q = api.call("pay/orderquery", &[("out_trade_no", "M4")]).await;
        get(&q, "trade_state") == Some("SUCCESS")
    })
    .await;
    assert!(paid_later);

    // ...0003: a definite failure; ...0004: SYSTEMERROR although the money moved.
    let poor = api
        .call("pay/micropay", &micropay("M5", "110000000000000003"))
        .await;
    assert_eq!(field(&poor, "err_code"), "NOTENOUGH");
    let q = api.call("pay/orderquery", &[("out_trade_no", "M5")]).await;
    assert_eq!(field(&q, "trade_state"), "PAYERROR");
    let unknown = api
        .call("pay/micropay", &micropay("M6", "120000000000000004"))
        .await;
    assert_eq!(field(&unknown, "err_code"), "SYSTEMERROR");
    let q = api.call("pay/orderquery", &[("out_trade_no", "M6")]).await;
    assert_eq!(field(&q, "trade_state"), "SUCCESS");

    // Micropay never notifies.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(api.notifies().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn reverse_loops_on_recall() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let waiting = api
        .call("pay/micropay", &micropay("V1", "150000000000000002"))
        .await;
    assert_eq!(field(&waiting, "err_code"), "USERPAYING");

    let first = api
        .call("secapi/pay/reverse", &[("out_trade_no", "V1")])
        .await;
    assert_eq!(field(&first, "result_code"), "FAIL");
    assert_eq!(field(&first, "recall"), "Y");
    let second = api
        .call("secapi/pay/reverse", &[("out_trade_no", "V1")])
        .await;
    assert_eq!(field(&second, "result_code"), "SUCCESS");
    assert_eq!(field(&second, "recall"), "N");
    let q = api.call("pay/orderquery", &[("out_trade_no", "V1")]).await;
    assert_eq!(field(&q, "trade_state"), "REVOKED");
    let reused = api
        .call("pay/micropay", &micropay("V1", "150000000000000012"))
        .await;
    assert_eq!(field(&reused, "err_code"), "ORDERREVERSED");

    let missing = api
        .call("secapi/pay/reverse", &[("out_trade_no", "nope")])
        .await;
    assert_eq!(field(&missing, "err_code"), "ORDERNOTEXIST");

    let no_cert = Api::new(&mock, false);
    let refused = no_cert
        .call("secapi/pay/reverse", &[("out_trade_no", "V1")])
        .await;
    assert_eq!(field(&refused, "return_code"), "FAIL");
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_and_report() {
    let mock = start(false);
    let api = Api::new(&mock, false);

    // shorturl: signed over the raw URL, sent URL-encoded (docs/protocol.md §1.5).
    let long_url = "weixin://wxpay/bizpayurl?pr=abc&x=1";
    let encoded = "weixin%3A%2F%2Fwxpay%2Fbizpayurl%3Fpr%3Dabc%26x%3D1";
    let fields: Fields = vec![
        ("appid".into(), mock.appid().into()),
        ("mch_id".into(), mock.mch_id().into()),
        ("nonce_str".into(), "n1".into()),
        ("long_url".into(), long_url.into()),
    ];
    let body = sign_exactly(fields, mock.key()).replace(long_url, encoded);
    let resp = api.raw("tools/shorturl", body).await;
    let short = decode(&resp.bytes().await.expect("body"));
    assert_eq!(field(&short, "result_code"), "SUCCESS", "{short:?}");
    assert!(field(&short, "short_url").starts_with("weixin://wxpay/s/"));
    // Plain (XML-escaped only) also works.
    let plain = api.call("tools/shorturl", &[("long_url", long_url)]).await;
    assert_eq!(field(&plain, "result_code"), "SUCCESS");

    let bad = api
        .call("tools/authcodetoopenid", &[("auth_code", "99")])
        .await;
    assert_eq!(field(&bad, "err_code"), "AUTH_CODE_INVALID");

    let report = api
        .call(
            "payitil/report",
            &[
                (
                    "interface_url",
                    "https://api.mch.weixin.qq.com/pay/unifiedorder",
                ),
                ("execute_time_", "1000"),
                ("return_code", "SUCCESS"),
                ("result_code", "SUCCESS"),
                ("user_ip", "10.0.0.1"),
            ],
        )
        .await;
    assert_eq!(field(&report, "return_code"), "SUCCESS");
    assert!(
        get(&report, "sign").is_none(),
        "report answers are unsigned"
    );
    let lacking = api
        .call(
            "payitil/report",
            &[("interface_url", "x"), ("user_ip", "1.1.1.1")],
        )
        .await;
    assert!(field(&lacking, "return_msg").contains("execute_time_"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_prefix_uses_the_sandbox_key() {
    let mock = start(false);
    let api = Api::new(&mock, false);

    // getsignkey is signed with the production key and answers unsigned.
    let key_request: Fields = vec![
        ("mch_id".into(), mock.mch_id().into()),
        ("nonce_str".into(), "abc".into()),
    ];
    let resp = api
        .raw(
            "sandboxnew/pay/getsignkey",
            sign_exactly(key_request, mock.key()),
        )
        .await;
    let got = decode(&resp.bytes().await.expect("body"));
    assert_eq!(field(&got, "return_code"), "SUCCESS");
    let sandbox_key = field(&got, "sandbox_signkey").to_owned();
    assert_eq!(sandbox_key.len(), 32);
    assert_ne!(sandbox_key, mock.key());

    let order = [
        ("body", "Test"),
        ("out_trade_no", "S1"),
        ("total_fee", "101"),
        ("spbill_create_ip", "127.0.0.1"),
        ("notify_url", "https://shop.example/n"),
        ("trade_type", "NATIVE"),
        ("product_id", "p"),
    ];
    let ok = api
        .call_with("sandboxnew/pay/unifiedorder", &order, None, &sandbox_key)
        .await;
    assert_eq!(field(&ok, "result_code"), "SUCCESS");
    let prod_key = api
        .call_with("sandboxnew/pay/unifiedorder", &order, None, mock.key())
        .await;
    assert_eq!(field(&prod_key, "return_msg"), "签名错误");
    let hmac = api
        .call_with(
            "sandboxnew/pay/unifiedorder",
            &order,
            Some(SignType::HmacSha256),
            &sandbox_key,
        )
        .await;
    assert_eq!(field(&hmac, "return_msg"), "沙箱环境只支持MD5签名");
    let q = api
        .call_with(
            "sandboxnew/pay/orderquery",
            &[("out_trade_no", "S1")],
            None,
            &sandbox_key,
        )
        .await;
    assert_eq!(field(&q, "trade_state"), "NOTPAY");
    // Sandbox refund works without secapi/ too.
    api.pay("S1", "").await;
    let refund = api
        .call_with(
            "sandboxnew/pay/refund",
            &[
                ("out_trade_no", "S1"),
                ("out_refund_no", "SR1"),
                ("total_fee", "101"),
                ("refund_fee", "101"),
            ],
            None,
            &sandbox_key,
        )
        .await;
    assert_eq!(field(&refund, "result_code"), "SUCCESS");

    let unknown = api.raw("pay/nothing", "<xml/>").await;
    assert_eq!(unknown.status(), 404);
}
