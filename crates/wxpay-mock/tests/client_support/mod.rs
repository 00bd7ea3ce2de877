//! Shared setup for the `client_*` tests: a TLS mock, a wxpay-core client configured for
//! it, and a small caller for the mock's JSON control API.

#![allow(dead_code)] // Each test file uses its own subset of these helpers.

use std::time::Duration;
use wxpay_core::api::Fields;
use wxpay_core::client::Client;
use wxpay_core::config::{Config, Value};
use wxpay_core::http::{ClientKey, tls_config};
use wxpay_mock::{MockOptions, MockServer};

pub const NOTIFY_URL: &str = "http://127.0.0.1:9/wxpay/notify";

/// An HTTPS mock; `time_scale` 1000 turns WeChat's seconds into milliseconds.
pub fn mock(backup: bool) -> MockServer {
    MockServer::start(MockOptions {
        tls: true,
        time_scale: 1000.0,
        backup_listen: backup.then(|| "127.0.0.1:0".parse().unwrap()),
        ..MockOptions::default()
    })
    .expect("mock starts")
}

fn path(p: &std::path::Path) -> Value {
    Value::Str(p.to_str().unwrap().to_owned())
}

/// The client config for `mock`, with its CA and client certificate, then `extra`.
pub fn config(mock: &MockServer, extra: &[(&str, Value)]) -> Config {
    let mut entries = vec![
        ("appid".to_owned(), Value::Str(mock.appid().into())),
        ("mch_id".to_owned(), Value::Str(mock.mch_id().into())),
        ("key".to_owned(), Value::Str(mock.key().into())),
        ("base_url".to_owned(), Value::Str(mock.url().into())),
        ("ca_path".to_owned(), path(mock.ca_path())),
        ("cert_path".to_owned(), path(mock.cert_path())),
        ("key_path".to_owned(), path(mock.key_path())),
        ("notify_url".to_owned(), Value::Str(NOTIFY_URL.into())),
    ];
    // Without a backup listener, failover goes back to the mock itself, never to WeChat.
    let backup = mock.backup_url().unwrap_or(mock.url());
    entries.push(("backup_url".to_owned(), Value::Str(backup.into())));
    for (k, v) in extra {
        entries.retain(|(name, _)| name != k);
        entries.push((k.to_string(), v.clone()));
    }
    Config::from_entries(entries).expect("valid config")
}

pub fn client(mock: &MockServer, extra: &[(&str, Value)]) -> Client {
    Client::new(config(mock, extra)).expect("client")
}

pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn get<'a>(fields: &'a Fields, name: &str) -> &'a str {
    wxpay_core::notify::get(fields, name).unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

/// A NATIVE order through the client.
pub fn order(client: &Client, out_trade_no: &str, total_fee: u32) -> Fields {
    client
        .call(
            wxpay_core::api::Api::UnifiedOrder,
            fields(&[
                ("body", "wxpay-test"),
                ("out_trade_no", out_trade_no),
                ("total_fee", &total_fee.to_string()),
                ("trade_type", "NATIVE"),
                ("product_id", "sku-1"),
            ]),
        )
        .expect("unifiedorder")
}

/// Calls the mock's control API (`/mock/...`) and returns the JSON answer. (Faults need
/// no clearing at the end of a test: each test has its own mock.)
pub fn control(mock: &MockServer, method: &str, path: &str, body: &str) -> serde_json::Value {
    let key = ClientKey {
        ca_path: Some(mock.ca_path().to_str().unwrap().to_owned()),
        identity: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        proxy: None,
    };
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(&key).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("{}{path}", mock.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let request = match method {
            "GET" => http.get(url),
            _ => http.post(url).body(body.to_owned()),
        };
        let response = request.send().await.expect("control API answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    })
}

pub fn faults(mock: &MockServer, json: &str) {
    control(mock, "POST", "/mock/faults", json);
}

pub fn pay(mock: &MockServer, out_trade_no: &str) {
    control(
        mock,
        "POST",
        &format!("/mock/orders/{out_trade_no}/pay"),
        "",
    );
}

/// The mock's connection counters (`connections`, `tls_connections`, `requests`).
pub fn stats(mock: &MockServer) -> serde_json::Value {
    control(mock, "GET", "/mock/stats", "")
}
