//! Coupons at the mock, as a third-party client sees them: MD5 whatever `sign_type` says,
//! the certificate on send_coupon, and stocks made with the control API
//! (docs/protocol.md §16).

mod common;

use common::*;
use reqwest::Method;
use wxpay_core::SignType;

#[tokio::test(flavor = "multi_thread")]
async fn coupons_are_md5_and_sending_needs_the_certificate() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let stock = api
        .control(
            Method::POST,
            "coupon-stocks",
            r#"{"coupon_stock_id":"1757","coupon_value":5,"coupon_total":2}"#,
        )
        .await;
    assert_eq!(stock["coupon_stock_id"], "1757");
    let query = [("coupon_stock_id", "1757")];

    // MD5, with or without a sign_type saying so (it is then one more signed field).
    for declared in [None, Some(SignType::Md5)] {
        let answer = api
            .call_with(
                "mmpaymkttransfers/query_coupon_stock",
                &query,
                declared,
                mock.key(),
            )
            .await;
        assert_eq!(field(&answer, "result_code"), "SUCCESS", "{answer:?}");
        assert_eq!(field(&answer, "coupon_value"), "5");
    }
    // An HMAC-signed request does not verify: WeChat's coupons know only MD5.
    let hmac = api
        .call_with(
            "mmpaymkttransfers/query_coupon_stock",
            &query,
            Some(SignType::HmacSha256),
            mock.key(),
        )
        .await;
    assert_eq!(field(&hmac, "return_msg"), "签名错误");

    let send = [
        ("coupon_stock_id", "1757"),
        ("openid_count", "1"),
        ("partner_trade_no", "1000010020260101000001"),
        ("openid", "o1"),
    ];
    let refused = Api::new(&mock, false)
        .call("mmpaymkttransfers/send_coupon", &send)
        .await;
    assert!(
        field(&refused, "return_msg").starts_with("证书错误"),
        "{refused:?}"
    );
    let sent = api.call("mmpaymkttransfers/send_coupon", &send).await;
    assert_eq!(field(&sent, "ret_code"), "SUCCESS", "{sent:?}");
    let two = api
        .call(
            "mmpaymkttransfers/send_coupon",
            &[
                ("coupon_stock_id", "1757"),
                ("openid_count", "2"),
                ("partner_trade_no", "1000010020260101000002"),
                ("openid", "o2"),
            ],
        )
        .await;
    assert_eq!(field(&two, "err_code"), "PARAM_ERROR");

    // The control API refuses a stock it cannot make.
    let resp = api
        .client
        .post(format!("{}/mock/coupon-stocks", mock.url()))
        .body(r#"{"coupon_stock_id":"1757","coupon_value":5,"coupon_total":2}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400, "the stock exists");
}
