//! Fault injection: SYSTEMERROR, dropped connections, latency, bad signatures, a dead
//! primary with a live backup.

mod common;

use common::*;
use reqwest::Method;
use std::time::{Duration, Instant};
use wxpay_core::{SignType, sign};
use wxpay_mock::{MockOptions, MockServer};

async fn set_faults(api: &Api<'_>, json: &str) {
    api.control(Method::POST, "faults", json).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn system_error_and_bad_sign_are_counted_and_scoped() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    set_faults(
        &api,
        r#"{"system_error_rate":1,"path":"pay/orderquery","count":2}"#,
    )
    .await;
    let shown = api.control(Method::GET, "faults", "").await;
    assert_eq!(shown["count"], 2);

    // Another path is untouched and does not use up the count.
    api.unified_order("F1", "https://shop.example/n").await;
    for _ in 0..2 {
        // `call` verifies the signature: SYSTEMERROR answers are properly signed.
        let r = api.call("pay/orderquery", &[("out_trade_no", "F1")]).await;
        assert_eq!(field(&r, "result_code"), "FAIL");
        assert_eq!(field(&r, "err_code"), "SYSTEMERROR");
    }
    let r = api.call("pay/orderquery", &[("out_trade_no", "F1")]).await;
    assert_eq!(field(&r, "trade_state"), "NOTPAY");
    assert_eq!(
        api.control(Method::GET, "faults", "").await,
        serde_json::json!({})
    );

    set_faults(&api, r#"{"bad_sign":true,"count":1}"#).await;
    let body = signed_body(&mock, &[("out_trade_no", "F1")], None, mock.key());
    let resp = api.raw("pay/orderquery", body).await;
    let fields = decode(&resp.bytes().await.expect("body"));
    assert_eq!(field(&fields, "return_code"), "SUCCESS");
    assert!(sign::verify(&fields, mock.key(), SignType::Md5).is_err());
    let r = api.call("pay/orderquery", &[("out_trade_no", "F1")]).await;
    assert_eq!(field(&r, "result_code"), "SUCCESS");

    let bad = api
        .client
        .post(format!("{}/mock/faults", mock.url()))
        .body(r#"{"drop_rate":2}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_and_latency() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    set_faults(&api, r#"{"drop_rate":1,"count":1}"#).await;
    let body = signed_body(&mock, &[("out_trade_no", "x")], None, mock.key());
    let dropped = api
        .client
        .post(format!("{}/pay/orderquery", mock.url()))
        .body(body)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection closes without an answer");
    let r = api.call("pay/orderquery", &[("out_trade_no", "x")]).await;
    assert_eq!(field(&r, "err_code"), "ORDERNOTEXIST");

    set_faults(&api, r#"{"latency_ms":300,"count":1}"#).await;
    let started = Instant::now();
    api.call("pay/orderquery", &[("out_trade_no", "x")]).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    api.call("pay/orderquery", &[("out_trade_no", "x")]).await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_down_backup_serves_the_same_state() {
    let mock = MockServer::start(MockOptions {
        tls: true,
        backup_listen: Some("127.0.0.1:0".parse().expect("addr")),
        time_scale: 1000.0,
        ..MockOptions::default()
    })
    .expect("mock");
    let primary = Api::new(&mock, false);
    let backup = Api {
        mock: &mock,
        client: http(&mock, false),
        base: mock.backup_url().expect("backup").to_owned(),
    };
    primary.unified_order("P1", "https://shop.example/n").await;

    // Fault control goes through the backup: the primary refuses everything now.
    backup
        .control(Method::POST, "faults", r#"{"primary_down":true}"#)
        .await;
    let body = signed_body(&mock, &[("out_trade_no", "P1")], None, mock.key());
    let fresh = http(&mock, false);
    let refused = fresh
        .post(format!("{}/pay/orderquery", mock.url()))
        .body(body.clone())
        .send()
        .await;
    assert!(refused.is_err(), "new connections to the primary fail");
    // Pooled connections to the primary fail as well.
    let pooled = primary
        .client
        .post(format!("{}/pay/orderquery", mock.url()))
        .body(body)
        .send()
        .await;
    assert!(
        pooled.is_err(),
        "requests on a kept-alive primary connection fail"
    );

    let q = backup
        .call("pay/orderquery", &[("out_trade_no", "P1")])
        .await;
    assert_eq!(field(&q, "trade_state"), "NOTPAY");

    backup.control(Method::POST, "faults", "{}").await;
    let q = primary
        .call("pay/orderquery", &[("out_trade_no", "P1")])
        .await;
    assert_eq!(field(&q, "trade_state"), "NOTPAY");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_file_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("wxpay-mock-state-{}", std::process::id()));
    let file = dir.join("state.json");
    let _ = std::fs::remove_dir_all(&dir);
    let opts = MockOptions {
        state_dir: Some(dir.clone()),
        state_file: Some(file.clone()),
        time_scale: 1000.0,
        ..MockOptions::default()
    };
    {
        let mock = MockServer::start(opts.clone()).expect("mock");
        let api = Api::new(&mock, false);
        api.unified_order("K1", "https://shop.example/n").await;
        api.pay("K1", "").await;
    }
    assert!(file.exists());
    let mock = MockServer::start(opts).expect("mock again");
    let api = Api::new(&mock, false);
    let q = api.call("pay/orderquery", &[("out_trade_no", "K1")]).await;
    assert_eq!(field(&q, "trade_state"), "SUCCESS");
    drop(mock);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn control_page_lists_orders_with_qr() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    api.unified_order("H1", "https://shop.example/n").await;
    let html = api
        .client
        .get(format!("{}/mock/", mock.url()))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("H1"));
    assert!(html.contains("<svg"));
    assert!(html.contains("pay('H1')"));
}
