//! Retries, timeouts, failover, connection reuse and concurrency of
//! `wxpay_core::client::Client`, with faults injected into the HTTPS mock.

mod client_support;

use client_support::*;
use std::time::{Duration, Instant};
use wxpay_core::Error;
use wxpay_core::api::Api;
use wxpay_core::config::Value;

fn query(no: &str) -> wxpay_core::api::Fields {
    fields(&[("out_trade_no", no)])
}

#[test]
fn systemerror_is_retried_with_identical_fields() {
    let mock = mock(false);
    let c = client(&mock, &[("retries", Value::Int(2))]);
    order(&c, "E1", 1);
    faults(
        &mock,
        r#"{"system_error_rate": 1, "count": 2, "path": "pay/orderquery"}"#,
    );
    let q = c.call(Api::OrderQuery, query("E1")).unwrap();
    assert_eq!(get(&q, "trade_state"), "NOTPAY");

    // More failures than retries: the SYSTEMERROR comes back, marked retryable.
    let once = client(&mock, &[("retries", Value::Int(1))]);
    faults(
        &mock,
        r#"{"system_error_rate": 1, "count": 2, "path": "pay/orderquery"}"#,
    );
    match once.call(Api::OrderQuery, query("E1")) {
        Err(Error::Api(e)) => assert!(e.err_code == "SYSTEMERROR" && e.is_retryable()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn micropay_is_never_resent() {
    let mock = mock(false);
    let c = client(&mock, &[("retries", Value::Int(3))]);
    let micropay = |no: &str| {
        fields(&[
            ("body", "pos"),
            ("out_trade_no", no),
            ("total_fee", "5"),
            ("auth_code", "134567890123459999"),
        ])
    };
    // A SYSTEMERROR answer and a dropped connection both leave the outcome unknown: each
    // costs exactly one micropay request (the other request counted is the stats call).
    for (fault, no) in [("system_error_rate", "P1"), ("drop_rate", "P2")] {
        faults(
            &mock,
            &format!(r#"{{"{fault}": 1, "count": 1, "path": "pay/micropay"}}"#),
        );
        let before = stats(&mock)["requests"].as_u64().unwrap();
        match c.call(Api::Micropay, micropay(no)) {
            Err(Error::Api(e)) => assert_eq!(e.err_code, "SYSTEMERROR"),
            Err(Error::Http(e)) => assert!(e.message.contains("/pay/micropay"), "{}", e.message),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            stats(&mock)["requests"].as_u64().unwrap() - before,
            2,
            "{fault}"
        );
    }
}

#[test]
fn timeouts_are_reported_and_bounded() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[("timeout", Value::Float(0.3)), ("retries", Value::Int(0))],
    );
    order(&c, "W1", 1);
    faults(&mock, r#"{"latency_ms": 1500, "count": 1}"#);
    let started = Instant::now();
    match c.call(Api::OrderQuery, query("W1")) {
        Err(Error::Http(e)) => {
            assert!(e.timeout, "{e:?}");
            assert!(e.message.contains("/pay/orderquery"), "{}", e.message);
            assert!(!e.message.contains(mock.key()));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );

    // With a retry, the second attempt (no latency left) succeeds.
    let retrying = client(
        &mock,
        &[("timeout", Value::Float(0.3)), ("retries", Value::Int(1))],
    );
    faults(&mock, r#"{"latency_ms": 1500, "count": 1}"#);
    retrying.call(Api::OrderQuery, query("W1")).unwrap();
}

#[test]
fn dropped_connections_are_retried() {
    let mock = mock(false);
    let c = client(&mock, &[("retries", Value::Int(1))]);
    order(&c, "D1", 1);
    faults(
        &mock,
        r#"{"drop_rate": 1, "count": 2, "path": "pay/orderquery"}"#,
    );
    // Two drops: the free retry for a closed connection, then the configured one.
    c.call(Api::OrderQuery, query("D1")).unwrap();
    let none = client(&mock, &[("retries", Value::Int(0))]);
    faults(
        &mock,
        r#"{"drop_rate": 1, "count": 2, "path": "pay/orderquery"}"#,
    );
    match none.call(Api::OrderQuery, query("D1")) {
        Err(Error::Http(e)) => assert!(e.message.contains("/pay/orderquery"), "{}", e.message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failover_to_the_backup_and_cool_down() {
    let mock = mock(true);
    let c = client(&mock, &[("retries", Value::Int(1))]);
    order(&c, "F1", 1);
    faults(&mock, r#"{"primary_down": true}"#);
    // The primary refuses: the retry goes to the backup, which shares the state.
    let q = c.call(Api::OrderQuery, query("F1")).unwrap();
    assert_eq!(get(&q, "out_trade_no"), "F1");
    // During the cool-down even a client without retries goes straight to the backup.
    let no_retry = client(&mock, &[("retries", Value::Int(0))]);
    no_retry.call(Api::OrderQuery, query("F1")).unwrap();
}

#[test]
fn without_failover_a_dead_primary_is_an_http_error() {
    let mock = mock(true);
    let c = client(
        &mock,
        &[("retries", Value::Int(1)), ("failover", Value::Bool(false))],
    );
    faults(&mock, r#"{"primary_down": true}"#);
    match c.call(Api::OrderQuery, query("F2")) {
        Err(Error::Http(e)) => assert!(e.message.contains("/pay/orderquery"), "{}", e.message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn connections_are_reused() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    order(&c, "K1", 1);
    control(&mock, "POST", "/mock/reset", "");
    for _ in 0..200 {
        // The order is gone after the reset; ORDERNOTEXIST is a signed answer all the same.
        match c.call(Api::OrderQuery, query("K1")) {
            Err(Error::Api(e)) => assert_eq!(e.err_code, "ORDERNOTEXIST"),
            other => panic!("{other:?}"),
        }
    }
    let s = stats(&mock);
    // The stats request opens one connection of its own.
    let tls = s["tls_connections"].as_u64().unwrap() - 1;
    assert!(tls <= 2, "{s}");
    assert!(s["requests"].as_u64().unwrap() >= 200, "{s}");
}

#[test]
fn query_orders_runs_concurrently_and_keeps_order() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    let mut nos: Vec<String> = (0..50).map(|i| format!("Q{i:03}")).collect();
    for no in &nos[..49] {
        order(&c, no, 1);
    }
    // The last one does not exist: it still gets its entry, with its error.
    nos.reverse();
    faults(&mock, r#"{"latency_ms": 200, "path": "pay/orderquery"}"#);
    let started = Instant::now();
    let results = c.query_orders(&nos, 25).unwrap();
    let elapsed = started.elapsed();
    faults(&mock, "{}");
    // Sequentially this is 50 × 200 ms = 10 s.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(results.len(), 50);
    for (i, (no, result)) in results.iter().enumerate() {
        assert_eq!(no, &nos[i]);
        match (i, result) {
            (0, Err(Error::Api(e))) => assert_eq!(e.err_code, "ORDERNOTEXIST"),
            (_, Ok(f)) => assert_eq!(get(f, "out_trade_no"), no),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn deadline_bounds_attempts_and_retries_and_says_so() {
    let mock = mock(false);
    // Each attempt would take its whole 1 s timeout, six times; the 1.5 s deadline ends it.
    let c = client(
        &mock,
        &[
            ("timeout", Value::Float(1.0)),
            ("retries", Value::Int(5)),
            ("deadline", Value::Float(1.5)),
        ],
    );
    faults(&mock, r#"{"latency_ms": 3000, "path": "pay/orderquery"}"#);
    let started = Instant::now();
    let result = c.call(Api::OrderQuery, query("DL1"));
    let elapsed = started.elapsed();
    faults(&mock, "{}");
    match result {
        Err(Error::Http(e)) => {
            assert!(e.timeout, "{e:?}");
            assert!(
                e.message
                    .starts_with("orderquery: the call's deadline of 1.500 s ended it"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_millis(1900),
        "{elapsed:?}"
    );
}

#[test]
fn unknown_endpoint_is_sent_once_unless_the_caller_opts_in() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[("timeout", Value::Float(0.3)), ("retries", Value::Int(1))],
    );
    faults(&mock, r#"{"latency_ms": 1000, "path": "deposit/micropay"}"#);
    for (retry, sent) in [(false, 1), (true, 2)] {
        let before = stats(&mock)["requests"].as_u64().unwrap();
        match c.request("/deposit/micropay", query("U1"), false, retry) {
            Err(Error::Http(e)) => assert!(e.timeout, "{e:?}"),
            other => panic!("{other:?}"),
        }
        let after = stats(&mock)["requests"].as_u64().unwrap();
        // The second stats request is counted too.
        assert_eq!(after - before - 1, sent, "retry: {retry}");
    }
}

#[test]
fn api_errors_name_their_call() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    match c.call(Api::OrderQuery, query("NOPE1")) {
        Err(Error::Api(e)) => {
            assert_eq!(e.call, "orderquery");
            assert!(
                e.to_string()
                    .starts_with("orderquery: WeChat Pay business failure: err_code=ORDERNOTEXIST"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn misconfiguration_failures_say_what_to_fix() {
    let mock = mock(false);
    // A key the merchant platform does not have: WeChat answers 签名错误.
    let wrong_key = client(
        &mock,
        &[("key", Value::Str("ffffffffffffffffffffffffffffffff".into()))],
    );
    match wrong_key.call(Api::OrderQuery, query("A1")) {
        Err(Error::Api(e)) => assert!(
            e.to_string().ends_with(
                "return_msg=签名错误; check that the API key and sign_type match the merchant platform"
            ),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    // The simulator's certificate without its CA.
    let untrusted = client(
        &mock,
        &[("ca_path", Value::Null), ("retries", Value::Int(0))],
    );
    match untrusted.call(Api::OrderQuery, query("A1")) {
        Err(Error::Http(e)) => assert!(
            e.message.contains("UnknownIssuer")
                && e.message
                    .contains("set config \"ca_path\" to its CA certificate"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn query_orders_concurrency_is_capped() {
    let mock = mock(false);
    let c = client(&mock, &[]);
    for bad in [0, wxpay_core::client::MAX_CONCURRENCY + 1, 256] {
        match c.query_orders(&["A1".to_owned()], bad) {
            Err(Error::InvalidArgument(m)) => {
                assert_eq!(m, format!("concurrency must be from 1 to 32, {bad} given"))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_failed_reverse_leaves_the_outcome_unknown() {
    let mock = mock(false);
    let c = client(&mock, &[("retries", Value::Int(1))]);
    // 0002: USERPAYING until reversed; every reverse answers SYSTEMERROR (no recall).
    faults(
        &mock,
        r#"{"system_error_rate": 1, "path": "secapi/pay/reverse"}"#,
    );
    let pay = fields(&[
        ("body", "pos"),
        ("out_trade_no", "OU1"),
        ("total_fee", "5"),
        ("auth_code", "134567890123450002"),
    ]);
    let result = c.micropay_settle(pay, Duration::from_millis(1), 2);
    faults(&mock, "{}");
    match result {
        Err(Error::OutcomeUnknown(u)) => {
            assert_eq!(u.call, "reverse");
            assert_eq!(u.out_trade_no, "OU1");
            let calls: Vec<&str> = u.responses.iter().map(|(c, _)| c.as_str()).collect();
            assert_eq!(calls, ["micropay", "orderquery", "reverse"]);
            assert_eq!(get(&u.responses[0].1, "err_code"), "USERPAYING");
            assert_eq!(get(&u.responses[1].1, "trade_state"), "USERPAYING");
            assert_eq!(get(&u.responses[2].1, "err_code"), "SYSTEMERROR");
            let message = u.to_string();
            assert!(message.starts_with("micropay OU1: outcome unknown after reverse: reverse: WeChat Pay business failure: err_code=SYSTEMERROR"), "{message}");
            assert!(message.contains("never re-send micropay"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The order is indeed still open at WeChat.
    let q = c.call(Api::OrderQuery, query("OU1")).unwrap();
    assert_eq!(get(&q, "trade_state"), "USERPAYING");
}

#[test]
fn deadline_ends_a_settle_as_outcome_unknown() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[
            ("timeout", Value::Float(0.5)),
            ("deadline", Value::Float(1.0)),
        ],
    );
    // The order stays USERPAYING and every reverse is slower than the time left.
    faults(
        &mock,
        r#"{"latency_ms": 2000, "path": "secapi/pay/reverse"}"#,
    );
    let pay = fields(&[
        ("body", "pos"),
        ("out_trade_no", "OU2"),
        ("total_fee", "5"),
        ("auth_code", "134567890123450002"),
    ]);
    let started = Instant::now();
    let result = c.micropay_settle(pay, Duration::from_millis(50), 30);
    let elapsed = started.elapsed();
    faults(&mock, "{}");
    match result {
        Err(Error::OutcomeUnknown(u)) => {
            assert_eq!(u.call, "reverse");
            assert!(u.reason.contains("deadline of 1.000 s"), "{}", u.reason);
        }
        other => panic!("{other:?}"),
    }
    assert!(elapsed < Duration::from_millis(1400), "{elapsed:?}");
}

#[test]
fn settle_stops_polling_while_a_reverse_still_fits_the_deadline() {
    let mock = mock(false);
    let c = client(
        &mock,
        &[
            ("timeout", Value::Float(0.5)),
            ("deadline", Value::Float(1.0)),
        ],
    );
    let pay = fields(&[
        ("body", "pos"),
        ("out_trade_no", "OU3"),
        ("total_fee", "5"),
        ("auth_code", "134567890123450002"),
    ]);
    // 30 polls 50 ms apart would take 1.5 s; the reverse gets the last third instead.
    let started = Instant::now();
    let result = c.micropay_settle(pay, Duration::from_millis(50), 30);
    let elapsed = started.elapsed();
    assert!(
        matches!(&result, Ok(wxpay_core::client::Settlement::Reversed(f)) if get(f, "recall") == "N"),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}
