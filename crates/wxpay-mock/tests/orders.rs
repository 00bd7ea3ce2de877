//! unifiedorder, orderquery, closeorder, the validation order, the payer and payment notifies.

mod common;

use common::*;
use std::time::Duration;
use wxpay_core::{SignType, sign};

const NOTIFY: &str = "https://shop.example/notify";

#[tokio::test(flavor = "multi_thread")]
async fn unified_order_trade_types_and_reentry() {
    let mock = start(false);
    let api = Api::new(&mock, false);

    let first = api.unified_order("A1001", NOTIFY).await;
    assert_eq!(field(&first, "trade_type"), "NATIVE");
    assert!(field(&first, "code_url").starts_with("weixin://wxpay/bizpayurl?pr="));
    let prepay_id = field(&first, "prepay_id");
    assert!(
        prepay_id.starts_with("wx") && prepay_id.len() == 36,
        "{prepay_id}"
    );
    assert_eq!(field(&first, "appid"), mock.appid());
    assert_eq!(field(&first, "mch_id"), mock.mch_id());

    // Same out_trade_no, same parameters: the same prepay_id.
    let again = api.unified_order("A1001", NOTIFY).await;
    assert_eq!(field(&again, "prepay_id"), prepay_id);

    // Same out_trade_no, another amount.
    let changed = api
        .call(
            "pay/unifiedorder",
            &[
                ("body", "Test"),
                ("out_trade_no", "A1001"),
                ("total_fee", "99"),
                ("spbill_create_ip", "127.0.0.1"),
                ("notify_url", NOTIFY),
                ("trade_type", "NATIVE"),
                ("product_id", "sku-1"),
            ],
        )
        .await;
    assert_eq!(field(&changed, "result_code"), "FAIL");
    assert_eq!(field(&changed, "err_code"), "INVALID_REQUEST");

    // JSAPI with HMAC-SHA256: the answer is signed with HMAC (verified by call_with).
    let jsapi = api
        .call_with(
            "pay/unifiedorder",
            &[
                ("body", "Test"),
                ("out_trade_no", "A1002"),
                ("total_fee", "1"),
                ("spbill_create_ip", "::1"),
                ("notify_url", NOTIFY),
                ("trade_type", "JSAPI"),
                ("openid", "oUser"),
            ],
            Some(SignType::HmacSha256),
            mock.key(),
        )
        .await;
    assert_eq!(field(&jsapi, "result_code"), "SUCCESS");
    assert_eq!(field(&jsapi, "sign").len(), 64);
    assert!(get(&jsapi, "code_url").is_none());

    let mweb = api
        .call(
            "pay/unifiedorder",
            &[
                ("body", "Test"),
                ("out_trade_no", "A1003"),
                ("total_fee", "1"),
                ("spbill_create_ip", "10.0.0.1"),
                ("notify_url", NOTIFY),
                ("trade_type", "MWEB"),
                (
                    "scene_info",
                    r#"{"h5_info":{"type":"Wap","wap_url":"https://m.example","wap_name":"shop"}}"#,
                ),
            ],
        )
        .await;
    assert!(field(&mweb, "mweb_url").starts_with("https://"));

    let app = api
        .call(
            "pay/unifiedorder",
            &[
                ("body", "Test"),
                ("out_trade_no", "A1004"),
                ("total_fee", "1"),
                ("spbill_create_ip", "10.0.0.1"),
                ("notify_url", NOTIFY),
                ("trade_type", "APP"),
            ],
        )
        .await;
    assert_eq!(field(&app, "trade_type"), "APP");
}

/// One request per validation step, each failing only that step.
#[tokio::test(flavor = "multi_thread")]
async fn validation_order() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    let key = mock.key().to_owned();
    let order = [
        ("body", "Test"),
        ("out_trade_no", "V1"),
        ("total_fee", "1"),
        ("spbill_create_ip", "127.0.0.1"),
        ("notify_url", NOTIFY),
        ("trade_type", "NATIVE"),
        ("product_id", "p"),
    ];
    let fail_msg = |fields: Fields| {
        assert_eq!(field(&fields, "return_code"), "FAIL", "{fields:?}");
        assert_eq!(
            fields.len(),
            2,
            "a FAIL answer has only return_code and return_msg"
        );
        field(&fields, "return_msg").to_owned()
    };

    let resp = api
        .client
        .get(format!("{}/pay/unifiedorder", mock.url()))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        fail_msg(decode(&resp.bytes().await.expect("body"))),
        "请使用post方法"
    );

    let empty = api.raw("pay/unifiedorder", "").await;
    assert_eq!(
        fail_msg(decode(&empty.bytes().await.expect("body"))),
        "post数据为空"
    );

    let gbk = api
        .raw(
            "pay/unifiedorder",
            b"<xml><body>\xb2\xe2</body></xml>".to_vec(),
        )
        .await;
    assert!(fail_msg(decode(&gbk.bytes().await.expect("body"))).starts_with("编码格式错误"));

    for bad in [
        "<xml><a>1</a>",
        "<!DOCTYPE x [<!ENTITY e \"x\">]><xml><a>&e;</a></xml>",
        "<xml><a><b>1</b></a></xml>",
        "<xml><a>1</a><a>2</a></xml>",
    ] {
        let resp = api.raw("pay/unifiedorder", bad).await;
        assert_eq!(
            fail_msg(decode(&resp.bytes().await.expect("body"))),
            "XML格式错误",
            "{bad}"
        );
    }

    // A signed order carrying what the strict reader refuses is an XML error, not 签名错误
    // (nor, for empty fields, which signing skips, an accepted order): `]]>` in text (XML 1.0
    // §2.4), a name the encoder refuses, more fields than the cap.
    let signed = signed_body(&mock, &order, None, &key);
    let body_field = "<body><![CDATA[Test]]></body>";
    assert!(signed.contains(body_field), "{signed}");
    let many: String = (0..wxpay_core::xml::MAX_FIELDS)
        .map(|i| format!("<f{i}/>"))
        .collect();
    for bad in [
        signed.replace(body_field, "<body>Te]]>st</body>"),
        signed.replace(body_field, &format!("{body_field}<a=b>1</a=b>")),
        signed.replace("</xml>", &format!("{many}</xml>")),
    ] {
        let resp = api.raw("pay/unifiedorder", bad.clone()).await;
        assert_eq!(
            fail_msg(decode(&resp.bytes().await.expect("body"))),
            "XML格式错误",
            "{}",
            &bad[..bad.len().min(200)]
        );
    }

    // Missing fields are reported before the (also wrong) signature.
    let lacking = api
        .call_with("pay/unifiedorder", &[("body", "Test")], None, "wrong-key")
        .await;
    let msg = fail_msg(lacking);
    assert!(
        msg.starts_with("缺少参数") && msg.contains("out_trade_no"),
        "{msg}"
    );

    // NATIVE needs product_id.
    let no_product: Vec<_> = order
        .iter()
        .filter(|(k, _)| *k != "product_id")
        .copied()
        .collect();
    let msg = fail_msg(api.call("pay/unifiedorder", &no_product).await);
    assert!(msg.contains("product_id"), "{msg}");

    let mut bad_type: Vec<_> = order.to_vec();
    bad_type.push(("sign_type", "SHA1"));
    let body = signed_body(&mock, &bad_type, None, &key);
    let resp = api.raw("pay/unifiedorder", body).await;
    assert_eq!(
        fail_msg(decode(&resp.bytes().await.expect("body"))),
        "sign_type参数格式错误"
    );

    let wrong_key = api
        .call_with(
            "pay/unifiedorder",
            &order,
            None,
            "00000000000000000000000000000000",
        )
        .await;
    assert_eq!(fail_msg(wrong_key), "签名错误");

    // A request declaring HMAC but signed with MD5.
    let mut declared: Vec<_> = order.to_vec();
    declared.push(("sign_type", "HMAC-SHA256"));
    let body = signed_body(&mock, &declared, None, &key);
    let resp = api.raw("pay/unifiedorder", body).await;
    assert_eq!(
        fail_msg(decode(&resp.bytes().await.expect("body"))),
        "签名错误"
    );

    // From here on the answers are signed business failures.
    let mut other_app: Vec<_> = order.to_vec();
    other_app.push(("appid", "wx0000000000000000"));
    let fields = api.call("pay/unifiedorder", &other_app).await;
    assert_eq!(field(&fields, "err_code"), "APPID_MCHID_NOT_MATCH");

    for (name, value) in [
        ("total_fee", "0"),
        ("total_fee", "1.5"),
        ("total_fee", "-3"),
        ("out_trade_no", "A@1"),
        ("out_trade_no", "123456789012345678901234567890123"),
        ("spbill_create_ip", "not-an-ip"),
        ("trade_type", "FACE"),
        ("notify_url", "https://shop.example/n?x=1"),
    ] {
        let mut params: Vec<_> = order.iter().filter(|(k, _)| *k != name).copied().collect();
        params.push((name, value));
        let fields = api.call("pay/unifiedorder", &params).await;
        assert_eq!(field(&fields, "result_code"), "FAIL", "{name}={value}");
        assert_eq!(field(&fields, "err_code"), "PARAM_ERROR", "{name}={value}");
        assert_eq!(
            field(&fields, "err_code_des"),
            format!("{name}参数格式错误")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn query_close_and_states() {
    let mock = start(false);
    let api = Api::new(&mock, false);

    let missing = api
        .call("pay/orderquery", &[("out_trade_no", "nope")])
        .await;
    assert_eq!(field(&missing, "err_code"), "ORDERNOTEXIST");

    api.unified_order("Q1", NOTIFY).await;
    let q = api.call("pay/orderquery", &[("out_trade_no", "Q1")]).await;
    assert_eq!(field(&q, "trade_state"), "NOTPAY");
    assert_eq!(field(&q, "total_fee"), "88");

    let paid = api.pay("Q1", "").await;
    assert_eq!(paid["state"], "SUCCESS");
    let transaction_id = paid["transaction_id"]
        .as_str()
        .expect("transaction_id")
        .to_owned();
    assert_eq!(transaction_id.len(), 28);

    // transaction_id wins over out_trade_no.
    let q = api
        .call(
            "pay/orderquery",
            &[
                ("out_trade_no", "nope"),
                ("transaction_id", &transaction_id),
            ],
        )
        .await;
    assert_eq!(field(&q, "trade_state"), "SUCCESS");
    assert_eq!(field(&q, "out_trade_no"), "Q1");
    assert_eq!(field(&q, "cash_fee"), "88");
    assert_eq!(field(&q, "time_end").len(), 14);

    let close = api.call("pay/closeorder", &[("out_trade_no", "Q1")]).await;
    assert_eq!(field(&close, "err_code"), "ORDERPAID");
    let again = api.unified_order_expect_err("Q1").await;
    assert_eq!(again, "ORDERPAID");

    api.unified_order("Q2", NOTIFY).await;
    let close = api.call("pay/closeorder", &[("out_trade_no", "Q2")]).await;
    assert_eq!(field(&close, "result_code"), "SUCCESS");
    let close = api.call("pay/closeorder", &[("out_trade_no", "Q2")]).await;
    assert_eq!(field(&close, "err_code"), "ORDERCLOSED");
    let q = api.call("pay/orderquery", &[("out_trade_no", "Q2")]).await;
    assert_eq!(field(&q, "trade_state"), "CLOSED");
    assert_eq!(api.unified_order_expect_err("Q2").await, "ORDERCLOSED");

    // The payer can also fail.
    api.unified_order("Q3", NOTIFY).await;
    let failed = api.pay("Q3", r#"{"fail":true}"#).await;
    assert_eq!(failed["state"], "PAYERROR");

    let orders = api.control(reqwest::Method::GET, "orders", "").await;
    assert_eq!(orders.as_array().map(Vec::len), Some(3));
    let one = api.control(reqwest::Method::GET, "orders/Q2", "").await;
    assert_eq!(one["state"], "CLOSED");
}

impl Api<'_> {
    async fn unified_order_expect_err(&self, no: &str) -> String {
        let fields = self
            .call(
                "pay/unifiedorder",
                &[
                    ("body", "Test"),
                    ("out_trade_no", no),
                    ("total_fee", "88"),
                    ("spbill_create_ip", "127.0.0.1"),
                    ("notify_url", NOTIFY),
                    ("trade_type", "NATIVE"),
                    ("product_id", "sku-1"),
                ],
            )
            .await;
        field(&fields, "err_code").to_owned()
    }
}

/// The receiver fails twice (HTTP 500, then a FAIL reply), then acknowledges: exactly three
/// attempts, spaced by the (scaled) schedule, each a correctly signed notify.
#[tokio::test(flavor = "multi_thread")]
async fn payment_notify_retries_until_success() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    let receiver = Receiver::start(2).await;

    api.call_with(
        "pay/unifiedorder",
        &[
            ("body", "Test"),
            ("out_trade_no", "N1"),
            ("total_fee", "100"),
            ("spbill_create_ip", "127.0.0.1"),
            ("notify_url", &receiver.url),
            ("trade_type", "NATIVE"),
            ("product_id", "p"),
            ("attach", "cart=7"),
        ],
        Some(SignType::HmacSha256),
        mock.key(),
    )
    .await;
    api.pay("N1", r#"{"coupon_fee":10,"openid":"oPayer"}"#)
        .await;

    let done = eventually(Duration::from_secs(5), || async {
        api.notifies().await.iter().any(|n| n["ok"] == true)
    })
    .await;
    assert!(done, "no acknowledged notify: {:?}", api.notifies().await);
    // Give a wrong fourth attempt the time to show up: the next wait would be 30 ms.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let attempts = api.notifies().await;
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(receiver.bodies().len(), 3);
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[0]["ok"], false);
    assert_eq!(attempts[1]["http_status"], 200);
    assert_eq!(attempts[1]["ok"], false);
    assert_eq!(attempts[2]["ok"], true);
    assert_eq!(attempts[2]["attempt"], 3);
    assert_eq!(attempts[2]["kind"], "payment");
    assert_eq!(attempts[2]["url"], receiver.url.as_str());
    // 15 s / 1000 between the first two attempts.
    let t0 = attempts[0]["time_ms"].as_u64().expect("time");
    let t1 = attempts[1]["time_ms"].as_u64().expect("time");
    assert!(t1 >= t0 + 14, "{t0} {t1}");

    let body = &receiver.bodies()[2];
    let notify = decode(body);
    sign::verify(&notify, mock.key(), SignType::HmacSha256).expect("notify signature");
    assert_eq!(field(&notify, "sign_type"), "HMAC-SHA256");
    assert_eq!(field(&notify, "return_code"), "SUCCESS");
    assert_eq!(field(&notify, "result_code"), "SUCCESS");
    assert_eq!(field(&notify, "out_trade_no"), "N1");
    assert_eq!(field(&notify, "total_fee"), "100");
    assert_eq!(field(&notify, "cash_fee"), "90");
    assert_eq!(field(&notify, "coupon_fee"), "10");
    assert_eq!(field(&notify, "coupon_count"), "1");
    assert_eq!(field(&notify, "coupon_fee_0"), "10");
    assert_eq!(field(&notify, "openid"), "oPayer");
    assert_eq!(field(&notify, "attach"), "cart=7");
    assert_eq!(field(&notify, "appid"), mock.appid());
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_schedule_gives_up_after_fifteen_retries() {
    // Scale 10^6: the whole 24 h schedule takes under 0.1 s.
    let mock = wxpay_mock::MockServer::start(wxpay_mock::MockOptions {
        time_scale: 1_000_000.0,
        ..Default::default()
    })
    .expect("mock");
    let api = Api::new(&mock, false);
    let receiver = Receiver::start(usize::MAX).await;
    api.unified_order("N2", &receiver.url).await;
    api.pay("N2", "").await;
    let all = eventually(Duration::from_secs(10), || async {
        api.notifies().await.len() >= 16
    })
    .await;
    assert!(all);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.notifies().await.len(), 16, "1 delivery + 15 retries");
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_count_pooled_connections_and_reset() {
    let mock = start(true);
    let api = Api::new(&mock, false);
    for _ in 0..3 {
        api.call("pay/orderquery", &[("out_trade_no", "x")]).await;
    }
    let stats = api.control(reqwest::Method::GET, "stats", "").await;
    assert_eq!(stats["requests"], 4, "{stats}");
    // Four requests over one pooled connection. On a loaded machine hyper may start a second
    // connection while the first is still on its way back to the pool, and that one can be
    // counted before its TLS handshake is done: at most one such extra connection.
    let (tcp, tls) = (&stats["connections"], &stats["tls_connections"]);
    let (tcp, tls) = (tcp.as_u64().expect("count"), tls.as_u64().expect("count"));
    assert!(tls >= 1 && tls <= tcp && tcp <= 2, "{stats}");

    api.unified_order("R1", NOTIFY).await;
    api.control(reqwest::Method::POST, "reset", "").await;
    let orders = api.control(reqwest::Method::GET, "orders", "").await;
    assert_eq!(orders, serde_json::json!([]));
    let stats = api.control(reqwest::Method::GET, "stats", "").await;
    assert_eq!(stats["requests"], 2, "the reset and this request: {stats}");
}

/// An https notify_url is trusted when its certificate comes from the mock's CA (here the
/// mock's own server.pem, as a test receiver would use it).
#[tokio::test(flavor = "multi_thread")]
async fn payment_notify_over_https() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    install_provider();
    let mock = start(false);
    let api = Api::new(&mock, false);

    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(mock.server_cert_path())
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("certs");
    let key = PrivateKeyDer::from_pem_file(mock.server_key_path()).expect("server-key.pem");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("tls config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}/notify", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(axum::body::Body::from(
                        wxpay_core::notify::SUCCESS_REPLY,
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });

    api.unified_order("TLS1", &url).await;
    api.pay("TLS1", "").await;
    let delivered = eventually(Duration::from_secs(5), || async {
        api.notifies().await.iter().any(|n| n["ok"] == true)
    })
    .await;
    assert!(delivered, "{:?}", api.notifies().await);
    assert_eq!(api.notifies().await.len(), 1);
}

/// Fault `notify_copies`: every attempt goes out as that many simultaneous POSTs, each
/// recorded with its copy number; one acknowledged copy ends the schedule.
#[tokio::test(flavor = "multi_thread")]
async fn notify_copies_are_sent_together_and_recorded() {
    let mock = start(false);
    let api = Api::new(&mock, false);
    // The first three deliveries fail: all three copies of attempt 1.
    let receiver = Receiver::start(3).await;
    api.control(reqwest::Method::POST, "faults", r#"{"notify_copies":3}"#)
        .await;
    api.unified_order("C1", &receiver.url).await;
    api.pay("C1", "").await;

    let done = eventually(Duration::from_secs(5), || async {
        api.notifies()
            .await
            .iter()
            .filter(|n| n["ok"] == true)
            .count()
            == 3
    })
    .await;
    assert!(done, "{:?}", api.notifies().await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let attempts = api.notifies().await;
    let mut seen: Vec<(u64, u64, bool)> = attempts
        .iter()
        .map(|n| {
            let number = |k: &str| n[k].as_u64().expect("number");
            (number("attempt"), number("copy"), n["ok"] == true)
        })
        .collect();
    seen.sort_unstable();
    let expected = [
        (1, 1, false),
        (1, 2, false),
        (1, 3, false),
        (2, 1, true),
        (2, 2, true),
        (2, 3, true),
    ];
    assert_eq!(seen, expected, "{attempts:?}");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 6);
    assert!(bodies.iter().all(|b| b == &bodies[0]), "the same notify");

    let bad = api
        .client
        .post(format!("{}/mock/faults", mock.url()))
        .body(r#"{"notify_copies":9}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
}
