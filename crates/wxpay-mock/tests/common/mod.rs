//! Shared helpers: a signing v2 client over reqwest, and a notify receiver.
#![allow(dead_code)] // each test binary uses a different subset

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};
use wxpay_core::{SignType, sign, xml};
use wxpay_mock::{MockOptions, MockServer};

pub type Fields = Vec<(String, String)>;

pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn start(tls: bool) -> MockServer {
    start_scaled(tls, 1000.0)
}

/// A mock whose simulated delays are divided by `time_scale`: a test that must observe a
/// state before a delay ends uses a small scale, so that a loaded machine cannot miss it.
pub fn start_scaled(tls: bool, time_scale: f64) -> MockServer {
    MockServer::start(MockOptions {
        tls,
        time_scale,
        ..MockOptions::default()
    })
    .expect("mock starts")
}

/// An HTTP client for the mock: trusts its CA, optionally presents the merchant cert.
pub fn http(mock: &MockServer, with_cert: bool) -> reqwest::Client {
    install_provider();
    let ca = std::fs::read(mock.ca_path()).expect("ca.pem");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("CA parses")])
        .timeout(Duration::from_secs(10));
    if with_cert {
        let mut pem = std::fs::read(mock.cert_path()).expect("client.pem");
        pem.extend(std::fs::read(mock.key_path()).expect("client-key.pem"));
        builder = builder.identity(reqwest::Identity::from_pem(&pem).expect("identity parses"));
    }
    builder.build().expect("client builds")
}

pub fn get<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    get(fields, name).unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

pub fn decode(body: &[u8]) -> Fields {
    xml::into_owned(
        xml::decode(body)
            .unwrap_or_else(|e| panic!("bad XML answer ({e}): {}", String::from_utf8_lossy(body))),
    )
}

/// Signs exactly `fields` (MD5) and encodes them with the `sign`.
pub fn sign_exactly(mut fields: Fields, key: &str) -> String {
    let signature = sign::sign(&fields, key, SignType::Md5);
    fields.push(("sign".into(), signature.as_str().into()));
    xml::encode(&fields).expect("encodes")
}

/// Signs `params` plus appid/mch_id/nonce_str (and sign_type unless MD5 is implied).
pub fn signed_body(
    mock: &MockServer,
    params: &[(&str, &str)],
    sign_type: Option<SignType>,
    key: &str,
) -> String {
    let mut fields: Fields = vec![
        ("appid".into(), mock.appid().into()),
        ("mch_id".into(), mock.mch_id().into()),
        (
            "nonce_str".into(),
            wxpay_core::nonce::nonce().expect("nonce"),
        ),
    ];
    if let Some(t) = sign_type {
        fields.push(("sign_type".into(), t.as_str().into()));
    }
    for (k, v) in params {
        fields.retain(|(name, _)| name != k);
        fields.push(((*k).into(), (*v).into()));
    }
    let signature = sign::sign(&fields, key, sign_type.unwrap_or_default());
    fields.push(("sign".into(), signature.as_str().into()));
    xml::encode(&fields).expect("encodes")
}

pub struct Api<'a> {
    pub mock: &'a MockServer,
    pub client: reqwest::Client,
    pub base: String,
}

impl<'a> Api<'a> {
    pub fn new(mock: &'a MockServer, with_cert: bool) -> Self {
        Self {
            mock,
            client: http(mock, with_cert),
            base: mock.url().to_owned(),
        }
    }

    pub async fn raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}/{path}", self.base))
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Calls an API with MD5 and the merchant key; verifies signed answers.
    pub async fn call(&self, path: &str, params: &[(&str, &str)]) -> Fields {
        self.call_with(path, params, None, self.mock.key()).await
    }

    pub async fn call_with(
        &self,
        path: &str,
        params: &[(&str, &str)],
        sign_type: Option<SignType>,
        key: &str,
    ) -> Fields {
        let body = signed_body(self.mock, params, sign_type, key);
        let resp = self.raw(path, body).await;
        assert_eq!(resp.status(), 200);
        let fields = decode(&resp.bytes().await.expect("body"));
        if get(&fields, "return_code") == Some("SUCCESS") && get(&fields, "sign").is_some() {
            sign::verify(&fields, key, sign_type.unwrap_or_default())
                .unwrap_or_else(|e| panic!("answer signature: {e}: {fields:?}"));
        }
        fields
    }

    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> serde_json::Value {
        let resp = self
            .client
            .request(method, format!("{}/mock/{path}", self.base))
            .body(body.to_owned())
            .send()
            .await
            .expect("control request");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert!(status.is_success(), "control {path}: {status} {json}");
        json
    }

    pub async fn unified_order(&self, out_trade_no: &str, notify_url: &str) -> Fields {
        let fields = self
            .call(
                "pay/unifiedorder",
                &[
                    ("body", "Test"),
                    ("out_trade_no", out_trade_no),
                    ("total_fee", "88"),
                    ("spbill_create_ip", "127.0.0.1"),
                    ("notify_url", notify_url),
                    ("trade_type", "NATIVE"),
                    ("product_id", "sku-1"),
                ],
            )
            .await;
        assert_eq!(field(&fields, "result_code"), "SUCCESS", "{fields:?}");
        fields
    }

    pub async fn pay(&self, out_trade_no: &str, body: &str) -> serde_json::Value {
        self.control(
            reqwest::Method::POST,
            &format!("orders/{out_trade_no}/pay"),
            body,
        )
        .await
    }

    pub async fn notifies(&self) -> Vec<serde_json::Value> {
        let v = self.control(reqwest::Method::GET, "notifies", "").await;
        v.as_array().cloned().unwrap_or_default()
    }
}

/// A merchant endpoint that answers the first `failures` notifies badly, then SUCCESS.
pub struct Receiver {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<Bytes>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Clone)]
struct ReceiverState {
    bodies: Arc<Mutex<Vec<Bytes>>>,
    failures: usize,
    seen: Arc<AtomicUsize>,
}

async fn receive(State(s): State<ReceiverState>, body: Bytes) -> (StatusCode, String) {
    s.bodies.lock().expect("lock").push(body);
    let n = s.seen.fetch_add(1, Ordering::SeqCst);
    if n < s.failures {
        // Alternate the two kinds of failure: an HTTP error and a FAIL answer.
        if n % 2 == 0 {
            return (StatusCode::INTERNAL_SERVER_ERROR, "oops".into());
        }
        return (StatusCode::OK, wxpay_core::notify::fail_reply("not yet"));
    }
    (StatusCode::OK, wxpay_core::notify::SUCCESS_REPLY.into())
}

impl Receiver {
    pub async fn start(failures: usize) -> Self {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            bodies: bodies.clone(),
            failures,
            seen: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/notify", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            url,
            bodies,
            _stop: stop,
        }
    }

    pub fn bodies(&self) -> Vec<Bytes> {
        self.bodies.lock().expect("lock").clone()
    }
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check().await
}
