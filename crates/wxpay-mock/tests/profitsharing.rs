//! Profit sharing at the mock, as a third-party client sees it: HMAC-SHA256 only (a missing
//! sign_type means it), the certificate on secapi/, the calls without appid, and the minute
//! WeChat wants between payment and sharing (docs/protocol.md §15).

mod common;

use common::*;
use wxpay_core::{SignType, sign, xml};
use wxpay_mock::{MockOptions, MockServer};

/// `fields` + mch_id + nonce_str, HMAC-signed, without appid or sign_type.
fn hmac_without_appid(mock: &MockServer, fields: &[(&str, &str)]) -> String {
    let mut all: Fields = vec![
        ("mch_id".into(), mock.mch_id().into()),
        ("nonce_str".into(), "n0nce".into()),
    ];
    all.extend(fields.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let signature = sign::sign(&all, mock.key(), SignType::HmacSha256);
    all.push(("sign".into(), signature.as_str().into()));
    xml::encode(&all).expect("encodes")
}

#[tokio::test(flavor = "multi_thread")]
async fn sharing_rules_a_client_meets() {
    // Real time: the minute after payment is a real minute.
    let mock = MockServer::start(MockOptions {
        tls: true,
        ..MockOptions::default()
    })
    .expect("mock starts");
    let api = Api::new(&mock, true);
    let hmac = Some(SignType::HmacSha256);
    let order = api
        .call(
            "pay/unifiedorder",
            &[
                ("body", "b"),
                ("out_trade_no", "PS1"),
                ("total_fee", "500"),
                ("spbill_create_ip", "127.0.0.1"),
                ("notify_url", "http://127.0.0.1:9/n"),
                ("trade_type", "NATIVE"),
                ("product_id", "p1"),
                ("profit_sharing", "Y"),
            ],
        )
        .await;
    assert_eq!(field(&order, "result_code"), "SUCCESS", "{order:?}");
    api.pay("PS1", "").await;
    let paid = api.call("pay/orderquery", &[("out_trade_no", "PS1")]).await;
    let transaction_id = field(&paid, "transaction_id").to_owned();

    // The amount query: no appid either way, HMAC without sign_type.
    let resp = api
        .raw(
            "pay/profitsharingorderamountquery",
            hmac_without_appid(&mock, &[("transaction_id", &transaction_id)]),
        )
        .await;
    let answer = decode(&resp.bytes().await.expect("body"));
    sign::verify(&answer, mock.key(), SignType::HmacSha256).expect("HMAC-signed");
    assert_eq!(field(&answer, "unsplit_amount"), "500", "{answer:?}");
    assert_eq!(get(&answer, "appid"), None);

    // A declared MD5 is refused, with WeChat-style return_msg only; an undeclared one is
    // taken for HMAC-SHA256, so an MD5 signature does not verify.
    let receiver = [(
        "receiver",
        r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"USER"}"#,
    )];
    let md5 = api
        .call_with(
            "pay/profitsharingaddreceiver",
            &receiver,
            Some(SignType::Md5),
            mock.key(),
        )
        .await;
    assert_eq!(
        (field(&md5, "return_code"), field(&md5, "return_msg")),
        ("FAIL", "sign_type必须为HMAC-SHA256")
    );
    let undeclared = api.call("pay/profitsharingaddreceiver", &receiver).await;
    assert_eq!(field(&undeclared, "return_msg"), "签名错误");
    let added = api
        .call_with("pay/profitsharingaddreceiver", &receiver, hmac, mock.key())
        .await;
    assert_eq!(field(&added, "result_code"), "SUCCESS", "{added:?}");

    let share = [
        ("transaction_id", transaction_id.as_str()),
        ("out_order_no", "P1"),
        (
            "receivers",
            r#"[{"type":"PERSONAL_OPENID","account":"o1","amount":10,"description":"d"}]"#,
        ),
    ];
    // secapi/ needs the merchant certificate.
    let no_cert = Api::new(&mock, false);
    let refused = no_cert
        .call_with("secapi/pay/profitsharing", &share, hmac, mock.key())
        .await;
    assert_eq!(field(&refused, "return_code"), "FAIL");
    assert!(field(&refused, "return_msg").starts_with("证书错误"));
    // Right after payment: ORDER_NOT_READY.
    let early = api
        .call_with("secapi/pay/profitsharing", &share, hmac, mock.key())
        .await;
    assert_eq!(field(&early, "err_code"), "ORDER_NOT_READY", "{early:?}");
    assert_eq!(
        field(&early, "err_code_des"),
        "订单处理中，暂时无法分账，请稍后再试"
    );
}
