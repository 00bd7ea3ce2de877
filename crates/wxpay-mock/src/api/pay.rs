//! Orders: unifiedorder, orderquery, closeorder, micropay, reverse, and the simulated payer.

use super::{check_no, check_notify_url, fee, mock_openid, valid_auth_code};
use crate::app::{App, alnum, digits};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Answer, Fields, Req, kv};
use crate::state::{MicropayPlan, Order, State, TradeState};
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a `USERPAYING` micropay waits for the "password" (before `--time-scale`).
const USERPAYING_FOR: Duration = Duration::from_secs(10);
/// Reverse only works on orders younger than this (docs/protocol.md §3.6); not time-scaled.
const REVERSE_WINDOW_MS: u64 = 7 * 24 * 3600 * 1000;
/// out_trade_no charset (docs/protocol.md §8).
const OUT_TRADE_NO_EXTRA: &[u8] = b"_-|*";

fn transaction_id(now: u64) -> String {
    format!("4200{}{}", Beijing::at(now).date(), digits(16))
}

/// The fields of a paid order, as in orderquery, micropay and the payment notify
/// (docs/protocol.md §5).
pub fn paid_fields(order: &Order) -> Fields {
    let mut f = vec![
        kv("openid", &order.openid),
        kv("is_subscribe", "N"),
        kv("trade_type", &order.trade_type),
        kv("bank_type", "OTHERS"),
        kv("total_fee", order.total_fee),
        kv("fee_type", &order.fee_type),
        kv("cash_fee", order.cash_fee()),
    ];
    if order.coupon_fee > 0 {
        f.extend([
            kv("coupon_fee", order.coupon_fee),
            kv("coupon_count", 1),
            kv(
                "coupon_id_0",
                format!("2000000{}", order.transaction_id.get(18..).unwrap_or("0")),
            ),
            kv("coupon_fee_0", order.coupon_fee),
        ]);
    }
    f.extend([
        kv("transaction_id", &order.transaction_id),
        kv("out_trade_no", &order.out_trade_no),
        kv("attach", &order.attach),
        kv(
            "time_end",
            Beijing::at(order.paid_ms.unwrap_or(order.created_ms)).compact(),
        ),
    ]);
    f.retain(|(_, v)| !v.is_empty());
    f
}

fn device_info(order: &Order) -> Fields {
    if order.device_info.is_empty() {
        Vec::new()
    } else {
        vec![kv("device_info", &order.device_info)]
    }
}

fn check_order_fields(req: &Req) -> Result<u64, Answer> {
    let total = fee(req, "total_fee")?;
    check_no(req, "out_trade_no", 32, OUT_TRADE_NO_EXTRA)?;
    if req.must("spbill_create_ip").parse::<IpAddr>().is_err() {
        return Err(Answer::param_error("spbill_create_ip"));
    }
    if req.get("fee_type").is_some_and(|t| t != "CNY") {
        return Err(Answer::param_error("fee_type"));
    }
    if req
        .get("profit_sharing")
        .is_some_and(|v| !matches!(v, "Y" | "N"))
    {
        return Err(Answer::param_error("profit_sharing"));
    }
    Ok(total)
}

/// What a repeated out_trade_no with different parameters gets (docs/protocol.md §4.3).
fn reused(order: &Order) -> Answer {
    match order.state {
        TradeState::Success | TradeState::Refund => Answer::err("ORDERPAID", "该订单已支付"),
        TradeState::Closed => Answer::err("ORDERCLOSED", "该订单已关"),
        TradeState::Revoked => Answer::err("ORDERREVERSED", "该订单已撤销"),
        _ => Answer::err("OUT_TRADE_NO_USED", "201 商户订单号重复"),
    }
}

fn new_order(req: &Req, total_fee: u64, trade_type: &str, now: u64) -> Order {
    Order {
        out_trade_no: req.must("out_trade_no").to_owned(),
        env: req.env,
        sign_type: req.sign_type,
        sign_type_sent: req.sign_type_sent,
        trade_type: trade_type.to_owned(),
        body: req.must("body").to_owned(),
        total_fee,
        fee_type: "CNY".to_owned(),
        attach: req.get("attach").unwrap_or_default().to_owned(),
        device_info: req.get("device_info").unwrap_or_default().to_owned(),
        notify_url: req.get("notify_url").unwrap_or_default().to_owned(),
        openid: req.get("openid").unwrap_or_default().to_owned(),
        prepay_id: String::new(),
        code_url: String::new(),
        mweb_url: String::new(),
        transaction_id: String::new(),
        params: req.params(),
        state: TradeState::Notpay,
        created_ms: now,
        paid_ms: None,
        coupon_fee: 0,
        micropay: None,
        auth_code: String::new(),
        reverse_calls: 0,
        refunds: Vec::new(),
        profit_sharing: req.get("profit_sharing") == Some("Y"),
    }
}

fn prepay_answer(order: &Order) -> Answer {
    let mut f = device_info(order);
    f.push(kv("trade_type", &order.trade_type));
    f.push(kv("prepay_id", &order.prepay_id));
    if !order.code_url.is_empty() {
        f.push(kv("code_url", &order.code_url));
    }
    if !order.mweb_url.is_empty() {
        f.push(kv("mweb_url", &order.mweb_url));
    }
    Answer::ok(f)
}

pub fn unified_order(app: &Arc<App>, req: &Req) -> Answer {
    let total = match check_order_fields(req) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let trade_type = req.must("trade_type");
    if !matches!(trade_type, "JSAPI" | "NATIVE" | "APP" | "MWEB") {
        return Answer::param_error("trade_type");
    }
    if !check_notify_url(req.must("notify_url")) {
        return Answer::param_error("notify_url");
    }
    if trade_type == "MWEB" {
        let h5 = serde_json::from_str::<serde_json::Value>(req.must("scene_info"))
            .ok()
            .is_some_and(|v| v.get("h5_info").is_some_and(|h| h.is_object()));
        if !h5 {
            return Answer::param_error("scene_info");
        }
    }

    let mut state = app.state();
    let no = req.must("out_trade_no");
    if let Some(order) = state.orders.get(no) {
        return match order.state {
            // Re-entry with identical parameters refreshes nothing but is allowed
            // (docs/protocol.md §3.3).
            TradeState::Notpay if order.params == req.params() => prepay_answer(order),
            TradeState::Notpay if order.micropay.is_none() => Answer::err(
                "INVALID_REQUEST",
                "201 商户订单号重复：订单重入时，要求参数值与原请求一致",
            ),
            _ => reused(order),
        };
    }
    let now = now_ms();
    let mut order = new_order(req, total, trade_type, now);
    order.prepay_id = format!(
        "wx{}{}",
        Beijing::at(now).compact(),
        alnum(20).to_ascii_lowercase()
    );
    match trade_type {
        "NATIVE" => order.code_url = format!("weixin://wxpay/bizpayurl?pr={}", alnum(7)),
        "MWEB" => {
            order.mweb_url = format!(
                "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package={}",
                order.prepay_id,
                digits(10)
            )
        }
        _ => {}
    }
    let answer = prepay_answer(&order);
    state.orders.insert(no.to_owned(), order);
    answer
}

/// Finds the order named by `transaction_id`/`out_trade_no`, settling a due micropay.
fn lookup<'a>(state: &'a mut State, req: &Req) -> Option<&'a mut Order> {
    let no = state
        .find_order(req.get("out_trade_no"), req.get("transaction_id"))?
        .out_trade_no
        .clone();
    let order = state.orders.get_mut(&no)?;
    let now = now_ms();
    order.settle(now, || transaction_id(now));
    Some(order)
}

pub fn order_query(app: &Arc<App>, req: &Req) -> Answer {
    let mut state = app.state();
    let Some(order) = lookup(&mut state, req) else {
        return Answer::err("ORDERNOTEXIST", "订单不存在");
    };
    let mut f = device_info(order);
    if order.state.is_paid()
        || order.state == TradeState::Revoked && !order.transaction_id.is_empty()
    {
        f.extend(paid_fields(order));
    } else {
        f.extend([
            kv("out_trade_no", &order.out_trade_no),
            kv("trade_type", &order.trade_type),
            kv("total_fee", order.total_fee),
            kv("attach", &order.attach),
        ]);
        f.retain(|(_, v)| !v.is_empty());
    }
    f.extend([
        kv("trade_state", order.state.as_str()),
        kv("trade_state_desc", order.state.desc()),
    ]);
    Answer::ok(f)
}

/// Closing is allowed at once: WeChat asks for 5 minutes after creation, which the mock
/// does not enforce so that tests need not wait.
pub fn close_order(app: &Arc<App>, req: &Req) -> Answer {
    let mut state = app.state();
    let Some(order) = lookup(&mut state, req) else {
        return Answer::err("ORDERNOTEXIST", "订单不存在");
    };
    match order.state {
        TradeState::Notpay | TradeState::Payerror if order.micropay.is_none() => {
            order.state = TradeState::Closed;
            Answer::ok(vec![kv("result_msg", "OK")])
        }
        TradeState::Success | TradeState::Refund => {
            Answer::err("ORDERPAID", "订单已支付，不能发起关单")
        }
        TradeState::Closed | TradeState::Revoked => {
            Answer::err("ORDERCLOSED", "订单已关闭，无法重复关闭")
        }
        _ => Answer::err("TRADE_STATE_ERROR", "付款码支付订单请调用撤销订单接口"),
    }
}

/// Answers a micropay order in its current state.
fn micropay_state_answer(order: &Order) -> Answer {
    match order.state {
        TradeState::Success => {
            let mut f = device_info(order);
            f.extend(paid_fields(order));
            Answer::ok(f)
        }
        TradeState::Userpaying => Answer::err("USERPAYING", "需要用户输入支付密码"),
        TradeState::Payerror => Answer::err("NOTENOUGH", "余额不足"),
        _ => reused(order),
    }
}

/// micropay. The payment code's last four digits pick the outcome (documented in the
/// README): `0001` USERPAYING then paid after 10 s, `0002` USERPAYING until reversed,
/// `0003` NOTENOUGH, `0004` SYSTEMERROR although the payment went through; anything else
/// pays at once.
pub fn micropay(app: &Arc<App>, req: &Req) -> Answer {
    let total = match check_order_fields(req) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let code = req.must("auth_code");
    if !valid_auth_code(code) {
        return Answer::err(
            "AUTH_CODE_INVALID",
            "请扫描微信支付授权码(18位数字，10~15开头)",
        );
    }
    let mut state = app.state();
    let no = req.must("out_trade_no");
    let now = now_ms();
    if let Some(order) = state.orders.get_mut(no) {
        order.settle(now, || transaction_id(now));
        return if order.micropay.is_some() && order.params == req.params() {
            micropay_state_answer(order)
        } else {
            reused(order)
        };
    }
    if state.used_auth_codes.contains_key(code) {
        return Answer::err("AUTH_CODE_ERROR", "101 每个二维码仅限使用一次，请刷新再试");
    }
    state.used_auth_codes.insert(code.to_owned(), no.to_owned());

    let mut order = new_order(req, total, "MICROPAY", now);
    order.openid = mock_openid(code);
    order.auth_code = code.to_owned();
    let (plan, answer_state) = match &code[14..] {
        "0001" => (
            Some(MicropayPlan::PayAt {
                pay_after_ms: now + app.scaled(USERPAYING_FOR).as_millis() as u64,
            }),
            TradeState::Userpaying,
        ),
        "0002" => (Some(MicropayPlan::Forever), TradeState::Userpaying),
        "0003" => (Some(MicropayPlan::Forever), TradeState::Payerror),
        _ => (Some(MicropayPlan::Forever), TradeState::Success),
    };
    order.micropay = plan;
    order.state = answer_state;
    if answer_state == TradeState::Success {
        order.paid_ms = Some(now);
        order.transaction_id = transaction_id(now);
    }
    let answer = if &code[14..] == "0004" {
        Answer::err("SYSTEMERROR", "系统超时，请查询订单确认支付结果")
    } else {
        micropay_state_answer(&order)
    };
    state.orders.insert(no.to_owned(), order);
    answer
}

/// reverse. A `USERPAYING` order answers `recall=Y` once (as when WeChat is still talking
/// to the payer's bank), then is revoked on the next call.
pub fn reverse(app: &Arc<App>, req: &Req) -> Answer {
    let mut state = app.state();
    let Some(order) = lookup(&mut state, req) else {
        return Answer::err_with("ORDERNOTEXIST", "订单不存在", vec![kv("recall", "N")]);
    };
    if now_ms().saturating_sub(order.created_ms) > REVERSE_WINDOW_MS {
        return Answer::err_with(
            "REVERSE_EXPIRE",
            "订单已超过7天，请使用退款接口",
            vec![kv("recall", "N")],
        );
    }
    match order.state {
        TradeState::Userpaying if order.reverse_calls == 0 => {
            order.reverse_calls += 1;
            Answer::err_with(
                "SYSTEMERROR",
                "撤销处理中，请重新调用",
                vec![kv("recall", "Y")],
            )
        }
        TradeState::Refund => Answer::err_with(
            "TRADE_ERROR",
            "订单已发生退款，不能撤销",
            vec![kv("recall", "N")],
        ),
        _ => {
            order.state = TradeState::Revoked;
            Answer::ok(vec![kv("recall", "N")])
        }
    }
}

/// `POST /mock/orders/{no}/pay` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    #[serde(default)]
    pub coupon_fee: u64,
    #[serde(default)]
    pub fail: bool,
    pub openid: Option<String>,
}

pub enum PayOutcome {
    Paid(Box<Order>),
    NotFound,
    Refused(String),
}

/// The simulated payer pays (or fails to pay) an order; a success triggers the notify.
pub fn mark_paid(app: &Arc<App>, out_trade_no: &str, pay: PayRequest) -> PayOutcome {
    let order = {
        let mut state = app.state();
        let Some(order) = state.orders.get_mut(out_trade_no) else {
            return PayOutcome::NotFound;
        };
        if !matches!(order.state, TradeState::Notpay | TradeState::Userpaying) {
            return PayOutcome::Refused(format!(
                "order {out_trade_no} is {}, only NOTPAY or USERPAYING orders can be paid",
                order.state.as_str()
            ));
        }
        if pay.coupon_fee >= order.total_fee {
            return PayOutcome::Refused(format!(
                "coupon_fee {} must be below total_fee {}",
                pay.coupon_fee, order.total_fee
            ));
        }
        if pay.fail {
            order.state = TradeState::Payerror;
            return PayOutcome::Paid(Box::new(order.clone()));
        }
        let now = now_ms();
        order.state = TradeState::Success;
        order.paid_ms = Some(now);
        order.transaction_id = transaction_id(now);
        order.coupon_fee = pay.coupon_fee;
        if let Some(openid) = pay.openid {
            order.openid = openid;
        } else if order.openid.is_empty() {
            order.openid = mock_openid(&order.out_trade_no);
        }
        order.clone()
    };
    // Micropay never notifies (docs/protocol.md §5).
    if order.micropay.is_none() {
        crate::notify::payment(app, &order);
    }
    PayOutcome::Paid(Box::new(order))
}
