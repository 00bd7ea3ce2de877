//! Refunds (client certificate, refundquery, refund notify) and bills.

mod common;

use common::*;
use std::io::Read;
use std::time::Duration;
use wxpay_core::{SignType, crypto, xml};

async fn paid_order(api: &Api<'_>, no: &str, notify_url: &str) {
    api.unified_order(no, notify_url).await;
    api.pay(no, "").await;
}

fn refund_params<'a>(
    no: &'a str,
    refund_no: &'a str,
    fee: &'a str,
    notify: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("out_trade_no", no),
        ("out_refund_no", refund_no),
        ("total_fee", "88"),
        ("refund_fee", fee),
        ("notify_url", notify),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn refund_needs_client_cert_over_tls() {
    let mock = start(true);
    let without = Api::new(&mock, false);
    paid_order(&without, "C1", "https://shop.example/n").await;
    let params = refund_params("C1", "RC1", "10", "https://shop.example/r");

    let refused = without.call("secapi/pay/refund", &params).await;
    assert_eq!(field(&refused, "return_code"), "FAIL");
    assert!(field(&refused, "return_msg").contains("client certificate required"));
    let refused = without
        .call_with(
            "pay/downloadfundflow",
            &[("bill_date", "20260101"), ("account_type", "Basic")],
            Some(SignType::HmacSha256),
            mock.key(),
        )
        .await;
    assert_eq!(field(&refused, "return_code"), "FAIL");
    assert_eq!(field(&refused, "error_code"), "20001");

    let with = Api::new(&mock, true);
    let accepted = with.call("secapi/pay/refund", &params).await;
    assert_eq!(field(&accepted, "result_code"), "SUCCESS", "{accepted:?}");

    // A certificate from another CA does not even get through the handshake.
    let other = rcgen::generate_simple_self_signed(vec!["merchant".to_owned()]).expect("cert");
    let mut pem = other.cert.pem().into_bytes();
    pem.extend(other.signing_key.serialize_pem().into_bytes());
    install_provider();
    let ca = std::fs::read(mock.ca_path()).expect("ca");
    let stranger = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("ca")])
        .identity(reqwest::Identity::from_pem(&pem).expect("identity"))
        .build()
        .expect("client");
    let body = signed_body(&mock, &params, None, mock.key());
    let sent = stranger
        .post(format!("{}/secapi/pay/refund", mock.url()))
        .body(body)
        .send()
        .await;
    assert!(
        sent.is_err(),
        "a foreign client certificate must be refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refund_query_and_notify() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let receiver = Receiver::start(0).await;
    paid_order(&api, "F1", &receiver.url).await;

    let missing = api
        .call(
            "secapi/pay/refund",
            &refund_params("nope", "RN0", "10", &receiver.url),
        )
        .await;
    assert_eq!(field(&missing, "err_code"), "ORDERNOTEXIST");

    let params = refund_params("F1", "RF1", "30", &receiver.url);
    let first = api.call("secapi/pay/refund", &params).await;
    assert_eq!(field(&first, "result_code"), "SUCCESS");
    assert_eq!(field(&first, "refund_fee"), "30");
    assert_eq!(field(&first, "out_refund_no"), "RF1");
    let refund_id = field(&first, "refund_id").to_owned();
    // A retry with the same out_refund_no is the same refund.
    let retry = api.call("secapi/pay/refund", &params).await;
    assert_eq!(field(&retry, "refund_id"), refund_id);
    let changed = api
        .call(
            "secapi/pay/refund",
            &refund_params("F1", "RF1", "31", &receiver.url),
        )
        .await;
    assert_eq!(field(&changed, "err_code"), "INVALID_REQUEST");
    let too_much = api
        .call(
            "secapi/pay/refund",
            &refund_params("F1", "RF2", "59", &receiver.url),
        )
        .await;
    assert_eq!(field(&too_much, "err_code"), "ERROR");
    let zero = api
        .call(
            "secapi/pay/refund",
            &refund_params("F1", "RF2", "0", &receiver.url),
        )
        .await;
    assert_eq!(field(&zero, "err_code"), "PARAM_ERROR");
    let second = api
        .call(
            "secapi/pay/refund",
            &refund_params("F1", "RF2", "58", &receiver.url),
        )
        .await;
    assert_eq!(field(&second, "result_code"), "SUCCESS");

    // Both refunds succeed after the scaled delay and are notified.
    let notified = eventually(Duration::from_secs(5), || async {
        api.notifies()
            .await
            .iter()
            .filter(|n| n["ok"] == true)
            .count()
            >= 3
    })
    .await;
    assert!(notified, "{:?}", api.notifies().await);

    let q = api.call("pay/refundquery", &[("out_trade_no", "F1")]).await;
    assert_eq!(field(&q, "result_code"), "SUCCESS");
    assert_eq!(field(&q, "refund_count"), "2");
    assert_eq!(field(&q, "total_refund_count"), "2");
    assert_eq!(field(&q, "out_refund_no_0"), "RF1");
    assert_eq!(field(&q, "refund_id_0"), refund_id);
    assert_eq!(field(&q, "refund_fee_1"), "58");
    assert_eq!(field(&q, "refund_status_0"), "SUCCESS");
    assert_eq!(field(&q, "refund_recv_accout_0"), "支付用户零钱");
    assert!(get(&q, "refund_success_time_1").is_some());
    let by_id = api
        .call("pay/refundquery", &[("refund_id", &refund_id)])
        .await;
    assert_eq!(field(&by_id, "refund_count"), "1");
    assert_eq!(field(&by_id, "out_refund_no_0"), "RF1");
    let none = api
        .call("pay/refundquery", &[("out_refund_no", "nope")])
        .await;
    assert_eq!(field(&none, "err_code"), "REFUNDNOTEXIST");
    let order = api.call("pay/orderquery", &[("out_trade_no", "F1")]).await;
    assert_eq!(field(&order, "trade_state"), "REFUND");

    // The refund notify: unsigned, req_info decrypts with the key into a <root> document.
    let bodies = receiver.bodies();
    let refund_bodies: Vec<Fields> = bodies
        .iter()
        .map(|b| decode(b))
        .filter(|f| get(f, "req_info").is_some())
        .collect();
    assert_eq!(refund_bodies.len(), 2);
    let outer = &refund_bodies[0];
    assert!(get(outer, "sign").is_none());
    assert_eq!(field(outer, "mch_id"), mock.mch_id());
    let plain = crypto::decrypt_req_info(field(outer, "req_info"), mock.key()).expect("decrypts");
    assert!(plain.starts_with("<root>"), "{plain}");
    let inner = xml::into_owned(xml::decode(plain.as_bytes()).expect("inner XML"));
    assert_eq!(field(&inner, "out_trade_no"), "F1");
    assert_eq!(field(&inner, "refund_status"), "SUCCESS");
    assert_eq!(field(&inner, "total_fee"), "88");
    assert!(matches!(field(&inner, "refund_fee"), "30" | "58"));
    assert_eq!(field(&inner, "success_time").len(), 19);
    assert!(crypto::decrypt_req_info(field(outer, "req_info"), "wrong").is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn download_bill_formats() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let none = api
        .raw(
            "pay/downloadbill",
            signed_body(&mock, &[("bill_date", "20260101")], None, mock.key()),
        )
        .await;
    let none = decode(&none.bytes().await.expect("body"));
    assert_eq!(field(&none, "return_code"), "FAIL");
    assert_eq!(field(&none, "return_msg"), "No Bill Exist");
    assert_eq!(field(&none, "error_code"), "20002");
    assert!(get(&none, "sign").is_none());

    paid_order(&api, "B1", "https://shop.example/n").await;
    // Today in Beijing time, as the mock sees it: the day of the payment.
    let q = api.call("pay/orderquery", &[("out_trade_no", "B1")]).await;
    let date = field(&q, "time_end")[..8].to_owned();
    paid_order(&api, "B2", "https://shop.example/n").await;
    let refund = api
        .call(
            "secapi/pay/refund",
            &refund_params("B2", "RB2", "8", "https://shop.example/r"),
        )
        .await;
    assert_eq!(field(&refund, "result_code"), "SUCCESS");
    let settled = eventually(Duration::from_secs(5), || async {
        let q = api
            .call("pay/refundquery", &[("out_refund_no", "RB2")])
            .await;
        get(&q, "refund_status_0") == Some("SUCCESS")
    })
    .await;
    assert!(settled);

    let bill = |bill_type: &'static str, gzip: bool| {
        let mut params = vec![("bill_date", date.as_str()), ("bill_type", bill_type)];
        if gzip {
            params.push(("tar_type", "GZIP"));
        }
        signed_body(&mock, &params, None, mock.key())
    };
    let resp = api.raw("pay/downloadbill", bill("ALL", false)).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines.last(), Some(&""), "ends with CRLF");
    assert!(!text.replace("\r\n", "").contains('\n'));
    assert_eq!(
        lines[0],
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    );
    // Two payments and one refund, then the summary.
    assert_eq!(lines.len(), 1 + 3 + 2 + 1);
    let b1 = lines.iter().find(|l| l.contains("`B1,")).expect("B1 row");
    let cols: Vec<&str> = b1.split(',').collect();
    assert_eq!(cols.len(), 27);
    assert!(cols.iter().all(|c| c.starts_with('`')));
    assert_eq!(cols[1], format!("`{}", mock.appid()));
    assert_eq!(cols[2], format!("`{}", mock.mch_id()));
    assert_eq!(cols[8], "`NATIVE");
    assert_eq!(cols[9], "`SUCCESS");
    assert_eq!(cols[12], "`0.88");
    assert_eq!(cols[20], "`Test");
    assert_eq!(cols[22], "`0.01000");
    assert_eq!(cols[23], "`0.60%");
    assert_eq!(cols[24], "`0.88");
    assert!(cols[0].len() == 20 && cols[0].starts_with(&format!("`{}-", &date[..4])));
    let refund_row: Vec<&str> = lines
        .iter()
        .find(|l| l.contains("`RB2,"))
        .expect("refund row")
        .split(',')
        .collect();
    assert_eq!(refund_row[9], "`REFUND");
    assert_eq!(refund_row[16], "`0.08");
    assert_eq!(refund_row[19], "`SUCCESS");
    assert_eq!(
        lines[4],
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    );
    assert_eq!(lines[5], "`3,`1.76,`0.08,`0.00,`0.02000,`1.76,`0.08");

    let success_only = api.raw("pay/downloadbill", bill("SUCCESS", false)).await;
    assert_eq!(
        success_only
            .text()
            .await
            .expect("text")
            .split("\r\n")
            .count(),
        1 + 2 + 2 + 1
    );
    let refunds_only = api.raw("pay/downloadbill", bill("REFUND", false)).await;
    assert_eq!(
        refunds_only
            .text()
            .await
            .expect("text")
            .split("\r\n")
            .count(),
        1 + 1 + 2 + 1
    );

    let gz = api.raw("pay/downloadbill", bill("ALL", true)).await;
    let bytes = gz.bytes().await.expect("gzip body");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut unzipped)
        .expect("gunzip");
    assert_eq!(unzipped.lines().count(), 6);

    let bad_type = api.raw("pay/downloadbill", bill("EVERYTHING", false)).await;
    let bad_type = decode(&bad_type.bytes().await.expect("body"));
    assert_eq!(field(&bad_type, "return_msg"), "invalid bill_type");

    let other_day = api
        .raw(
            "pay/downloadbill",
            signed_body(&mock, &[("bill_date", "20200101")], None, mock.key()),
        )
        .await;
    assert_eq!(
        field(
            &decode(&other_day.bytes().await.expect("body")),
            "error_code"
        ),
        "20002"
    );

    let bad_sign = api
        .raw(
            "pay/downloadbill",
            signed_body(&mock, &[("bill_date", &date)], None, "wrong"),
        )
        .await;
    assert_eq!(
        field(
            &decode(&bad_sign.bytes().await.expect("body")),
            "return_msg"
        ),
        "SIGN ERROR"
    );

    // Fund flow: HMAC-SHA256 only, a Digest header over the body.
    let flow_params = [("bill_date", date.as_str()), ("account_type", "Basic")];
    let md5 = api
        .raw(
            "pay/downloadfundflow",
            signed_body(&mock, &flow_params, None, mock.key()),
        )
        .await;
    assert_eq!(
        field(&decode(&md5.bytes().await.expect("body")), "return_code"),
        "FAIL"
    );
    let flow = api
        .raw(
            "pay/downloadfundflow",
            signed_body(&mock, &flow_params, Some(SignType::HmacSha256), mock.key()),
        )
        .await;
    let digest = flow
        .headers()
        .get("Digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("Digest header");
    let body = flow.bytes().await.expect("body");
    use sha1::Digest;
    let sha: String = sha1::Sha1::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, format!("SHA={sha}"));
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(text.starts_with("记账时间,"));
    assert_eq!(text.split("\r\n").count(), 1 + 3 + 2 + 1);
    assert!(text.contains(
        "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n`3,`2,`1.76,`1,`0.08\r\n"
    ));
}
