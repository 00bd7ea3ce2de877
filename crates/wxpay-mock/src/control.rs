//! The control API under `/mock/` (JSON): inspect state, play the payer, reset, faults.

use crate::api::{PayOutcome, PayRequest, mark_paid};
use crate::app::App;
use crate::faults::Faults;
use crate::state::Order;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

type AppState = State<Arc<App>>;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// An optional JSON body: empty means the type's default.
fn body_or_default<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("bad JSON body: {e}"),
        ))
    })
}

/// An order with its refunds spelled out.
fn order_view(app: &App, order: &Order) -> Value {
    let state = app.state();
    let refunds: Vec<Value> = order
        .refunds
        .iter()
        .filter_map(|no| state.refunds.get(no))
        .map(|r| json!(r))
        .collect();
    let mut v = json!(order);
    v["refund_details"] = Value::Array(refunds);
    v
}

pub async fn orders(State(app): AppState) -> Response {
    let orders: Vec<Order> = app.state().orders.values().cloned().collect();
    let views: Vec<Value> = orders.iter().map(|o| order_view(&app, o)).collect();
    Json(views).into_response()
}

pub async fn order(State(app): AppState, Path(no): Path<String>) -> Response {
    let order = app.state().orders.get(&no).cloned();
    match order {
        Some(o) => Json(order_view(&app, &o)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no order {no}")),
    }
}

pub async fn pay(State(app): AppState, Path(no): Path<String>, body: Bytes) -> Response {
    let request: PayRequest = match body_or_default(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match mark_paid(&app, &no, request) {
        PayOutcome::Paid(order) => Json(order_view(&app, &order)).into_response(),
        PayOutcome::NotFound => error(StatusCode::NOT_FOUND, format!("no order {no}")),
        PayOutcome::Refused(why) => error(StatusCode::CONFLICT, why),
    }
}

pub async fn notifies(State(app): AppState) -> Response {
    Json(json!(app.state().notifies)).into_response()
}

/// Forgets every order, refund and notify, stops pending retries, clears faults and
/// restarts the connection counters.
pub async fn reset(State(app): AppState) -> Response {
    {
        let mut state = app.state();
        let generation = state.generation + 1;
        *state = Default::default();
        state.generation = generation;
    }
    *app.faults() = Faults::default();
    app.stats.reset();
    Json(json!({ "ok": true })).into_response()
}

pub async fn stats(State(app): AppState) -> Response {
    Json(app.stats.json()).into_response()
}

pub async fn get_faults(State(app): AppState) -> Response {
    Json(json!(*app.faults())).into_response()
}

pub async fn set_faults(State(app): AppState, body: Bytes) -> Response {
    let faults: Faults = match body_or_default(&body) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    if let Err(why) = faults.validate() {
        return error(StatusCode::BAD_REQUEST, why);
    }
    eprintln!("wxpay-mock: faults set to {}", json!(faults));
    *app.faults() = faults.clone();
    Json(json!(faults)).into_response()
}

/// The merchant's available balance, which red packets and transfers draw on.
pub async fn balance(State(app): AppState) -> Response {
    Json(json!({ "balance": app.state().ledger.balance })).into_response()
}

#[derive(serde::Deserialize)]
pub struct SetBalance {
    balance: u64,
}

/// Sets the available balance (fen): `{"balance": 100}` makes the next large payout NOTENOUGH.
pub async fn set_balance(State(app): AppState, body: Bytes) -> Response {
    let set: SetBalance = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    app.state().ledger.balance = set.balance;
    Json(json!({ "balance": set.balance })).into_response()
}

pub async fn redpack(State(app): AppState, Path(no): Path<String>) -> Response {
    match app.state().ledger.redpacks.get(&no) {
        Some(r) => Json(json!(r)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no red packet {no}")),
    }
}

/// The payers open a red packet (status RECEIVED, gethbinfo lists them).
pub async fn open_redpack(State(app): AppState, Path(no): Path<String>) -> Response {
    match crate::api::open_redpack(&app, &no) {
        Ok(r) => Json(json!(r)).into_response(),
        Err(why) => error(StatusCode::CONFLICT, why),
    }
}

pub async fn transfer(State(app): AppState, Path(no): Path<String>) -> Response {
    match app.state().ledger.transfers.get(&no) {
        Some(t) => Json(json!(t)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no transfer {no}")),
    }
}

/// A bank-card transfer, with the ciphertext of the card number and name as received.
pub async fn bank_transfer(State(app): AppState, Path(no): Path<String>) -> Response {
    match app.state().ledger.bank.get(&no) {
        Some(b) => Json(json!(b)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no bank transfer {no}")),
    }
}

/// The simulated risk key pair (PKCS#1 PEM), private half included: it is a simulator's,
/// published so that a test can decrypt what a client sent with a tool of its own.
pub async fn risk_key(State(app): AppState) -> Response {
    match app.risk_key() {
        Ok(key) => Json(json!({
            "public_key_pem": key.public_pem,
            "private_key_pem": key.private_pem,
        }))
        .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// The merchant's identity and platform settings (never the key).
pub async fn merchant(State(app): AppState) -> Response {
    Json(json!({
        "appid": app.merchant.appid,
        "mch_id": app.merchant.mch_id,
        "scan_callback_url": app.scan_url(),
    }))
    .into_response()
}

/// `POST /mock/merchant` body: the settings a merchant makes on the platform.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantSettings {
    scan_callback_url: Option<String>,
}

pub async fn set_merchant(State(app): AppState, body: Bytes) -> Response {
    let settings: MerchantSettings = match body_or_default(&body) {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    if let Some(url) = &settings.scan_callback_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("scan_callback_url must be an http:// or https:// URL, \"{url}\" given"),
        );
    }
    *app.scan_url.lock().unwrap_or_else(|e| e.into_inner()) = settings.scan_callback_url;
    merchant(State(app)).await
}

/// The payer scans a native pay mode 1 QR code (docs/protocol.md §13).
pub async fn scan(State(app): AppState, body: Bytes) -> Response {
    let request: crate::scan::ScanRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    match crate::scan::scan(&app, request).await {
        Ok(report) => Json(report).into_response(),
        Err(crate::scan::Refused::BadQr(why)) => error(StatusCode::BAD_REQUEST, why),
        Err(crate::scan::Refused::NoScanUrl) => error(
            StatusCode::CONFLICT,
            "the merchant has no scan URL: set scan_callback_url with POST /mock/merchant",
        ),
    }
}

/// Every coupon stock.
pub async fn coupon_stocks(State(app): AppState) -> Response {
    let stocks: Vec<Value> = app
        .state()
        .coupons
        .stocks
        .values()
        .map(|s| json!(s))
        .collect();
    Json(stocks).into_response()
}

/// Creates a coupon stock, as a merchant does on the platform (docs/protocol.md §16.5).
pub async fn new_coupon_stock(State(app): AppState, body: Bytes) -> Response {
    let new: crate::api::NewStock = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    match crate::api::create_stock(&app, new) {
        Ok(stock) => Json(json!(stock)).into_response(),
        Err(why) => error(StatusCode::BAD_REQUEST, why),
    }
}
