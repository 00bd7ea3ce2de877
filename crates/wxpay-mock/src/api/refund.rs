//! secapi/pay/refund and pay/refundquery. A refund is accepted as `PROCESSING`, succeeds
//! after [`REFUND_DELAY`] (time-scaled), then the refund notify is sent.

use super::{check_no, check_notify_url, fee, refund_coupon_part};
use crate::app::{App, digits};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Answer, Fields, Req, kv};
use crate::state::{Order, Refund, RefundStatus, State, TradeState};
use std::sync::Arc;
use std::time::Duration;

const REFUND_DELAY: Duration = Duration::from_secs(3);
/// WeChat allows at most 50 partial refunds per order (docs/protocol.md §3.5).
const MAX_REFUNDS: usize = 50;
/// refundquery pages refunds by 10 (its `offset` parameter).
const PAGE: usize = 10;

fn refund_answer(order: &Order, refund: &Refund) -> Answer {
    let coupon = refund_coupon_part(order, refund.refund_fee);
    let mut f = vec![
        kv("transaction_id", &order.transaction_id),
        kv("out_trade_no", &order.out_trade_no),
        kv("out_refund_no", &refund.out_refund_no),
        kv("refund_id", &refund.refund_id),
        kv("refund_fee", refund.refund_fee),
        kv("total_fee", order.total_fee),
        kv("fee_type", &order.fee_type),
        kv("cash_fee", order.cash_fee()),
        kv("cash_refund_fee", refund.refund_fee - coupon),
    ];
    if coupon > 0 {
        f.extend([
            kv("coupon_refund_fee", coupon),
            kv("coupon_refund_count", 1),
        ]);
    }
    Answer::ok(f)
}

pub fn refund(app: &Arc<App>, req: &Req) -> Answer {
    let (total_fee, refund_fee) = match (fee(req, "total_fee"), fee(req, "refund_fee")) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(a), _) | (_, Err(a)) => return a,
    };
    if let Err(a) = check_no(req, "out_refund_no", 64, b"_-|*@") {
        return a;
    }
    let notify_url = req.get("notify_url").unwrap_or_default();
    if !notify_url.is_empty() && !check_notify_url(notify_url) {
        return Answer::param_error("notify_url");
    }
    let refund_account = req
        .get("refund_account")
        .unwrap_or("REFUND_SOURCE_UNSETTLED_FUNDS");
    if !matches!(
        refund_account,
        "REFUND_SOURCE_UNSETTLED_FUNDS" | "REFUND_SOURCE_RECHARGE_FUNDS"
    ) {
        return Answer::param_error("refund_account");
    }

    let mut state = app.state();
    let Some(order) = state
        .find_order(req.get("out_trade_no"), req.get("transaction_id"))
        .filter(|o| o.state.is_paid())
        .cloned()
    else {
        return Answer::err("ORDERNOTEXIST", "订单不存在或未支付");
    };
    let out_refund_no = req.must("out_refund_no");
    if let Some(existing) = state.refunds.get(out_refund_no) {
        // The same refund number is refunded only once; a retry gets the same answer.
        return if existing.params == req.params() {
            refund_answer(&order, existing)
        } else {
            Answer::err("INVALID_REQUEST", "退款单号已使用，请求参数与原请求不一致")
        };
    }
    if total_fee != order.total_fee {
        return Answer::err("PARAM_ERROR", "订单金额与实际支付金额不一致");
    }
    if order.refunds.len() >= MAX_REFUNDS {
        return Answer::err("ERROR", "订单已经超过可退款的最大次数");
    }
    if refund_fee > order.total_fee - state.refunded(&order) {
        return Answer::err("ERROR", "累计退款金额大于支付金额");
    }
    let now = now_ms();
    let refund = Refund {
        out_refund_no: out_refund_no.to_owned(),
        refund_id: format!("50000{}{}", Beijing::at(now).date(), digits(16)),
        out_trade_no: order.out_trade_no.clone(),
        refund_fee,
        refund_account: refund_account.to_owned(),
        notify_url: notify_url.to_owned(),
        params: req.params(),
        status: RefundStatus::Processing,
        created_ms: now,
        success_ms: None,
    };
    let answer = refund_answer(&order, &refund);
    if let Some(o) = state.orders.get_mut(&order.out_trade_no) {
        o.state = TradeState::Refund;
        o.refunds.push(refund.out_refund_no.clone());
    }
    schedule(app, &refund, app.scaled(REFUND_DELAY));
    state.refunds.insert(refund.out_refund_no.clone(), refund);
    answer
}

/// Lets a `PROCESSING` refund succeed after `delay`, then notifies. Also used to resume
/// refunds loaded from a state file.
pub fn schedule(app: &Arc<App>, refund: &Refund, delay: Duration) {
    let app = app.clone();
    let out_refund_no = refund.out_refund_no.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let done = {
            let mut state = app.state();
            let Some(r) = state.refunds.get_mut(&out_refund_no) else {
                return;
            };
            if r.status != RefundStatus::Processing {
                return;
            }
            r.status = RefundStatus::Success;
            r.success_ms = Some(now_ms());
            let r = r.clone();
            state.orders.get(&r.out_trade_no).cloned().map(|o| (o, r))
        };
        if let Some((order, refund)) = done
            && !refund.notify_url.is_empty()
        {
            crate::notify::refund(&app, &order, &refund);
        }
    });
}

/// Which refunds a refundquery names: `refund_id` > `out_refund_no` > `transaction_id` >
/// `out_trade_no` (docs/protocol.md §3.5).
fn select<'a>(state: &'a State, req: &Req) -> Option<(&'a Order, Vec<&'a Refund>)> {
    let by_refund = match (req.get("refund_id"), req.get("out_refund_no")) {
        (Some(id), _) => Some(state.refunds.values().find(|r| r.refund_id == id)),
        (None, Some(no)) => Some(state.refunds.get(no)),
        (None, None) => None,
    };
    match by_refund {
        Some(refund) => {
            let refund = refund?;
            Some((state.orders.get(&refund.out_trade_no)?, vec![refund]))
        }
        None => {
            let order = state.find_order(req.get("out_trade_no"), req.get("transaction_id"))?;
            let refunds: Vec<&Refund> = order
                .refunds
                .iter()
                .filter_map(|no| state.refunds.get(no))
                .collect();
            (!refunds.is_empty()).then_some((order, refunds))
        }
    }
}

fn indexed(n: usize, refund: &Refund, order: &Order) -> Fields {
    let coupon = refund_coupon_part(order, refund.refund_fee);
    let mut f = vec![
        kv(&format!("out_refund_no_{n}"), &refund.out_refund_no),
        kv(&format!("refund_id_{n}"), &refund.refund_id),
        kv(&format!("refund_channel_{n}"), "ORIGINAL"),
        kv(&format!("refund_fee_{n}"), refund.refund_fee),
        kv(&format!("coupon_refund_fee_{n}"), coupon),
        kv(&format!("refund_status_{n}"), refund.status.as_str()),
        kv(&format!("refund_account_{n}"), &refund.refund_account),
        kv(&format!("refund_recv_accout_{n}"), "支付用户零钱"),
    ];
    if let Some(ms) = refund.success_ms {
        f.push(kv(
            &format!("refund_success_time_{n}"),
            Beijing::at(ms).dashed(),
        ));
    }
    f
}

pub fn refund_query(app: &Arc<App>, req: &Req) -> Answer {
    let offset = match req.get("offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Answer::param_error("offset"),
    };
    let state = app.state();
    let Some((order, refunds)) = select(&state, req) else {
        return Answer::err("REFUNDNOTEXIST", "退款订单查询失败");
    };
    let page: Vec<&Refund> = refunds.iter().skip(offset).take(PAGE).copied().collect();
    if page.is_empty() {
        return Answer::err("REFUNDNOTEXIST", "退款订单查询失败");
    }
    let mut f = vec![
        kv("total_refund_count", refunds.len()),
        kv("transaction_id", &order.transaction_id),
        kv("out_trade_no", &order.out_trade_no),
        kv("total_fee", order.total_fee),
        kv("fee_type", &order.fee_type),
        kv("cash_fee", order.cash_fee()),
        kv("refund_count", page.len()),
    ];
    for (n, refund) in page.iter().enumerate() {
        f.extend(indexed(n, refund, order));
    }
    Answer::ok(f)
}
