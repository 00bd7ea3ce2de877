//! Every v2 call through `wxpay_core::client::Client` against the HTTPS mock.

mod client_support;

use client_support::*;
use std::time::Duration;
use wxpay_core::Error;
use wxpay_core::api::Api;
use wxpay_core::bill;
use wxpay_core::client::Settlement;
use wxpay_core::config::Value;

#[test]
fn order_lifecycle_query_close_refund() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    let created = order(&c, "L1001", 88);
    assert!(get(&created, "code_url").starts_with("weixin://"));
    assert!(!get(&created, "prepay_id").is_empty());

    let by_no = || fields(&[("out_trade_no", "L1001")]);
    let q = c.call(Api::OrderQuery, by_no()).unwrap();
    assert_eq!(get(&q, "trade_state"), "NOTPAY");
    pay(&mock, "L1001");
    let q = c.call(Api::OrderQuery, by_no()).unwrap();
    assert_eq!(get(&q, "trade_state"), "SUCCESS");
    assert_eq!(get(&q, "total_fee"), "88");

    let refund = c
        .call(
            Api::Refund,
            fields(&[
                ("out_trade_no", "L1001"),
                ("out_refund_no", "R1001"),
                ("total_fee", "88"),
                ("refund_fee", "8"),
            ]),
        )
        .unwrap();
    assert_eq!(get(&refund, "refund_fee"), "8");
    let rq = c
        .call(Api::RefundQuery, fields(&[("out_refund_no", "R1001")]))
        .unwrap();
    assert_eq!(get(&rq, "out_refund_no_0"), "R1001");

    order(&c, "L1002", 1);
    let closed = c
        .call(Api::CloseOrder, fields(&[("out_trade_no", "L1002")]))
        .unwrap();
    assert_eq!(get(&closed, "result_code"), "SUCCESS");
    match c.call(Api::CloseOrder, fields(&[("out_trade_no", "L1002")])) {
        Err(Error::Api(e)) => assert_eq!(e.err_code, "ORDERCLOSED"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bills_download_and_parse() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    order(&c, "B1001", 100);
    pay(&mock, "B1001");
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "B1001")]))
        .unwrap();
    let bill_date = &get(&q, "time_end")[..8];

    for tar in ["", "GZIP"] {
        let text = c
            .download(
                Api::DownloadBill,
                fields(&[("bill_date", bill_date), ("tar_type", tar)]),
            )
            .unwrap();
        let bill = bill::parse(&text).unwrap();
        let row: Vec<_> = bill.records().next().unwrap().collect();
        assert!(row.contains(&("商户订单号", "B1001")), "{row:?}");
        assert_eq!(bill.summary_record()[0], ("总交易单数", "1"));
    }
    let flow = c
        .download(
            Api::DownloadFundFlow,
            fields(&[("bill_date", bill_date), ("account_type", "Basic")]),
        )
        .unwrap();
    let flow = bill::parse(&flow).unwrap();
    assert_eq!(flow.summary_header[0], "资金流水总笔数");
    // No trade on that day: WeChat's unsigned FAIL body with error_code.
    match c.download(Api::DownloadBill, fields(&[("bill_date", "20200101")])) {
        Err(Error::Api(e)) => assert_eq!(e.return_code, "FAIL"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.call(Api::DownloadBill, fields(&[("bill_date", bill_date)])),
        Err(Error::InvalidArgument(_))
    ));
}

/// Finding 10 (issue 10): a bill over `bill_max_bytes` is refused, naming the setting, whether
/// it comes as text (stopped while it downloads) or as gzip (stopped while it inflates).
#[test]
fn bills_over_bill_max_bytes_are_refused() {
    let mock = mock(false);
    const MIB: i64 = 1 << 20;
    let c = client(&mock, &[("bill_max_bytes", Value::Int(MIB))]);
    order(&c, "G1001", 100);
    pay(&mock, "G1001");
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "G1001")]))
        .unwrap();
    let bill_date = get(&q, "time_end")[..8].to_owned();
    let download = |c: &wxpay_core::Client, tar: &str| {
        c.download(
            Api::DownloadBill,
            fields(&[("bill_date", &bill_date), ("tar_type", tar)]),
        )
    };
    faults(&mock, &format!(r#"{{"bill_bytes":{}}}"#, MIB + 1));
    let base = mock.url();
    for (tar, expected) in [
        (
            "",
            format!(
                "POST /pay/downloadbill on {base}: the answer is larger than bill_max_bytes \
                 (1048576 bytes)"
            ),
        ),
        (
            "GZIP",
            "bill download: the bill inflates to more than bill_max_bytes (1048576 bytes)"
                .to_owned(),
        ),
    ] {
        match download(&c, tar) {
            Err(Error::Http(e)) => assert_eq!(e.message, expected, "tar_type {tar:?}"),
            other => panic!("tar_type {tar:?}: {:?}", other.map(|b| b.len())),
        }
    }
    // With room for it, the padded bill is a bill: every row parses.
    let roomy = client(&mock, &[("bill_max_bytes", Value::Int(2 * MIB))]);
    for tar in ["", "GZIP"] {
        let text = download(&roomy, tar).unwrap();
        assert!(text.len() as i64 > MIB, "{}", text.len());
        let bill = bill::parse(&text).unwrap();
        assert!(bill.row_count() > 1000, "{}", bill.row_count());
        assert_eq!(bill.summary_record()[0], ("总交易单数", "1"));
    }
}

#[test]
fn tools_and_report() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    let short = c
        .call(
            Api::ShortUrl,
            fields(&[("long_url", "weixin://wxpay/bizpayurl?pr=a&b=c")]),
        )
        .unwrap();
    assert!(get(&short, "short_url").starts_with("weixin://"));
    let openid = c
        .call(
            Api::AuthCodeToOpenid,
            fields(&[("auth_code", "134567890123456789")]),
        )
        .unwrap();
    assert!(!get(&openid, "openid").is_empty());
    c.call(
        Api::Report,
        fields(&[
            (
                "interface_url",
                "https://api.mch.weixin.qq.com/pay/unifiedorder",
            ),
            ("execute_time_", "120"),
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("user_ip", "127.0.0.1"),
        ]),
    )
    .unwrap();
    // An endpoint outside the table goes through request(): the mock has none, so 404.
    match c.request("/pay/nosuchcall", fields(&[("a", "1")]), false, false) {
        Err(Error::Http(e)) => assert_eq!(e.status, Some(404)),
        other => panic!("{other:?}"),
    }
    // A known path through request() is the same as call().
    order(&c, "T1001", 1);
    let q = c
        .request(
            "pay/orderquery",
            fields(&[("out_trade_no", "T1001")]),
            false,
            false,
        )
        .unwrap();
    assert_eq!(get(&q, "trade_state"), "NOTPAY");
}

#[test]
fn micropay_and_reverse() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    let pay = |no: &str, code: &str| {
        fields(&[
            ("body", "pos"),
            ("out_trade_no", no),
            ("total_fee", "5"),
            ("auth_code", code),
        ])
    };
    let paid = c
        .call(Api::Micropay, pay("M1", "134567890123450000"))
        .unwrap();
    assert_eq!(get(&paid, "trade_type"), "MICROPAY");
    let reversed = c
        .call(Api::Reverse, fields(&[("out_trade_no", "M1")]))
        .unwrap();
    assert_eq!(get(&reversed, "recall"), "N");

    // Polls every 20 ms; USERPAYING turns into paid after 10 s / 1000 = 10 ms.
    let settle =
        |no: &str, code: &str| c.micropay_settle(pay(no, code), Duration::from_millis(20), 20);
    let paid = |r: &Result<Settlement, Error>, state: &str| matches!(r, Ok(Settlement::Paid(f)) if get(f, "trade_state") == state);
    // Paid at once (the micropay answer has no trade_state).
    let r = settle("S1", "134567890123451000");
    assert!(
        matches!(&r, Ok(Settlement::Paid(f)) if get(f, "out_trade_no") == "S1"),
        "{r:?}"
    );
    // USERPAYING, then paid: the query finds it.
    let r = settle("S2", "134567890123450001");
    assert!(paid(&r, "SUCCESS"), "{r:?}");
    // SYSTEMERROR although the payment went through: the query finds it.
    let r = settle("S5", "134567890123450004");
    assert!(paid(&r, "SUCCESS"), "{r:?}");
    // USERPAYING forever: reversed, through one recall=Y.
    let r = c.micropay_settle(pay("S3", "134567890123450002"), Duration::from_millis(1), 3);
    assert!(
        matches!(&r, Ok(Settlement::Reversed(f)) if get(f, "recall") == "N"),
        "{r:?}"
    );
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "S3")]))
        .unwrap();
    assert_eq!(get(&q, "trade_state"), "REVOKED");
    // A definite refusal is returned as is, with no query or reverse.
    let r = settle("S4", "134567890123450003");
    assert!(
        matches!(&r, Err(Error::Api(e)) if e.err_code == "NOTENOUGH"),
        "{r:?}"
    );
}

#[test]
fn cert_is_required_for_refund_reverse_and_fund_flow() {
    let mock = mock(false);
    let no_cert = client(
        &mock,
        &[("cert_path", Value::Null), ("key_path", Value::Null)],
    );
    for (api, params) in [
        (
            Api::Refund,
            fields(&[
                ("out_trade_no", "C1"),
                ("out_refund_no", "R1"),
                ("total_fee", "1"),
                ("refund_fee", "1"),
            ]),
        ),
        (Api::Reverse, fields(&[("out_trade_no", "C1")])),
    ] {
        match no_cert.call(api, params) {
            Err(Error::Config(m)) => assert!(m.contains("cert_path"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        no_cert.download(
            Api::DownloadFundFlow,
            fields(&[("bill_date", "20240101"), ("account_type", "Basic")])
        ),
        Err(Error::Config(_))
    ));
    // Without the certificate nothing is charged: settle refuses before micropay.
    assert!(matches!(
        no_cert.micropay_settle(fields(&[("out_trade_no", "C2")]), Duration::ZERO, 1),
        Err(Error::Config(_))
    ));
}

#[test]
fn bad_response_signature_is_refused() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    order(&c, "G1", 1);
    faults(&mock, r#"{"bad_sign": true, "count": 1}"#);
    match c.call(Api::OrderQuery, fields(&[("out_trade_no", "G1")])) {
        Err(Error::Signature(m)) => assert!(m.contains("orderquery response"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The fault was used up: the next answer verifies.
    c.call(Api::OrderQuery, fields(&[("out_trade_no", "G1")]))
        .unwrap();
}

#[test]
fn sandbox_uses_the_fetched_key_and_md5() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[
            ("sandbox", Value::Bool(true)),
            ("sign_type", Value::Str("HMAC-SHA256".into())),
        ],
    );
    let created = order(&c, "X1", 101);
    assert!(!get(&created, "prepay_id").is_empty());
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "X1")]))
        .unwrap();
    assert_eq!(get(&q, "out_trade_no"), "X1");
    // The key came from getsignkey (signed with the real key) and is cached per process.
    let sandbox_key = wxpay_core::http::sandbox_key(c.config()).expect("sandbox key cached");
    assert_eq!(sandbox_key.expose().len(), 32);
    assert_ne!(sandbox_key.expose(), mock.key());
}

#[test]
fn hmac_merchant_round_trip() {
    let mock = mock(false);
    let c = client(&mock, &[("sign_type", Value::Str("HMAC-SHA256".into()))]);
    order(&c, "H1", 1);
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "H1")]))
        .unwrap();
    assert_eq!(get(&q, "sign").len(), 64);
}

/// With a logger, the sandbox's getsignkey and the calls signed with the fetched key are
/// logged, and neither key nor any sign appears in any record (the sandbox key arrives in a
/// response field and signs every later request).
#[test]
fn sandbox_attempt_records_hold_no_key_and_no_sign() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[("sandbox", Value::Bool(true)), ("logger", Value::Logger)],
    );
    let created = order(&c, "LOG1", 101);
    let q = c
        .call(Api::OrderQuery, fields(&[("out_trade_no", "LOG1")]))
        .unwrap();
    let attempts = c.take_attempts();
    assert!(c.take_attempts().is_empty(), "taken once");
    let calls: Vec<&str> = attempts.iter().map(|a| a.call.as_str()).collect();
    assert_eq!(calls, ["/pay/getsignkey", "unifiedorder", "orderquery"]);
    assert_eq!(attempts[0].path, "/sandboxnew/pay/getsignkey");
    let records: Vec<_> = attempts
        .iter()
        .flat_map(wxpay_core::log::Attempt::records)
        .collect();
    let text = format!("{records:?}");
    let sandbox_key = wxpay_core::http::sandbox_key(c.config()).expect("sandbox key cached");
    for secret in [
        sandbox_key.expose(),
        mock.key(),
        get(&created, "sign"),
        get(&q, "sign"),
    ] {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret), "a secret is in the records: {text}");
    }
    assert!(text.contains("(\"sandbox_signkey\", \"***\")"), "{text}");
    assert!(text.contains("(\"sign\", \"***\")"), "{text}");
    // Without a logger nothing is kept.
    let quiet = client(&mock, &[("sandbox", Value::Bool(true))]);
    quiet
        .call(Api::OrderQuery, fields(&[("out_trade_no", "LOG1")]))
        .unwrap();
    assert!(quiet.take_attempts().is_empty());
}
