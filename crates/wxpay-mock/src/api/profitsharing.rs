//! Profit sharing (分账, docs/protocol.md §15): receivers, single and multi sharing, finish,
//! returns, and the order's amount still to share. Only orders placed with
//! `profit_sharing=Y` can be shared, from a minute (time-scaled) after payment; a sharing is
//! `PROCESSING` for a second (time-scaled), then `FINISHED`.

use crate::app::{App, digits};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Answer, Fields, Req, kv};
use crate::state::{Order, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// WeChat asks to share no sooner than a minute after payment (docs/protocol.md §15.3).
const READY_AFTER: Duration = Duration::from_secs(60);
/// How long a sharing stays PROCESSING.
const PROCESSING_FOR: Duration = Duration::from_secs(1);
/// The default maximum share of an order's amount that may go to others (30 %).
const MAX_RATIO_PERCENT: u64 = 30;
/// At most this many sharing requests per order, and receivers per request.
const MAX_REQUESTS: usize = 50;
const MAX_RECEIVERS: usize = 50;

// The mock's own lists, apart from wxpay-core's on purpose (see `proto::Api`).
const RECEIVER_TYPES: &[&str] = &["MERCHANT_ID", "PERSONAL_OPENID", "PERSONAL_SUB_OPENID"];
const RELATION_TYPES: &[&str] = &[
    "SERVICE_PROVIDER",
    "STORE",
    "STAFF",
    "STORE_OWNER",
    "PARTNER",
    "HEADQUARTER",
    "BRAND",
    "DISTRIBUTOR",
    "USER",
    "SUPPLIER",
    "CUSTOM",
    "PLATFORM",
    "OTHERS",
];

/// Everything profit sharing remembers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SharingState {
    /// Added receivers, by `type/account`.
    pub receivers: BTreeMap<String, Receiver>,
    /// Sharing requests (single, multi, finish), by out_order_no.
    pub orders: BTreeMap<String, Sharing>,
    /// Returns, by out_return_no.
    pub returns: BTreeMap<String, SharingReturn>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Receiver {
    #[serde(rename = "type")]
    pub kind: String,
    pub account: String,
    pub name: String,
    pub relation_type: String,
    pub custom_relation: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SharingKind {
    /// Shares once and unfreezes the rest.
    Single,
    /// Shares, leaving the rest to share later.
    Multi,
    /// Unfreezes what is left.
    Finish,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Share {
    #[serde(rename = "type")]
    pub kind: String,
    pub account: String,
    pub amount: u64,
    pub description: String,
    pub detail_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sharing {
    pub order_id: String,
    pub out_order_no: String,
    pub transaction_id: String,
    pub kind: SharingKind,
    pub shares: Vec<Share>,
    /// Finish: the amount unfrozen, and its description.
    pub amount: u64,
    pub description: String,
    /// The request's business fields, to judge a repeat.
    pub params: Fields,
    pub created_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SharingReturn {
    pub return_no: String,
    pub order_id: String,
    pub out_order_no: String,
    pub out_return_no: String,
    pub return_account: String,
    pub return_amount: u64,
    pub description: String,
    pub params: Fields,
    pub finish_ms: u64,
}

fn receiver_key(kind: &str, account: &str) -> String {
    format!("{kind}/{account}")
}

fn invalid_request(des: &str) -> Answer {
    Answer::err("INVALID_REQUEST", des)
}

fn json_field(req: &Req, name: &str) -> Result<Value, Answer> {
    serde_json::from_str(req.must(name)).map_err(|_| Answer::param_error(name))
}

fn text<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `receiver` of add/remove: WeChat answers a malformed one with PARAM_ERROR.
fn parse_receiver(req: &Req, for_add: bool) -> Result<Receiver, Answer> {
    let entry = json_field(req, "receiver")?;
    let bad = || Answer::param_error("receiver");
    let kind = text(&entry, "type").filter(|t| RECEIVER_TYPES.contains(t));
    let (Some(kind), Some(account)) = (kind, text(&entry, "account")) else {
        return Err(bad());
    };
    let field = |name| text(&entry, name).unwrap_or_default().to_owned();
    let receiver = Receiver {
        kind: kind.to_owned(),
        account: account.to_owned(),
        name: field("name"),
        relation_type: field("relation_type"),
        custom_relation: field("custom_relation"),
    };
    if for_add
        && (!RELATION_TYPES.contains(&receiver.relation_type.as_str())
            || (receiver.relation_type == "CUSTOM") == receiver.custom_relation.is_empty()
            || (kind == "MERCHANT_ID" && receiver.name.is_empty()))
    {
        return Err(bad());
    }
    Ok(receiver)
}

fn receiver_answer(receiver: &Receiver) -> Answer {
    Answer::ok(vec![kv(
        "receiver",
        json!({"type": receiver.kind, "account": receiver.account}),
    )])
}

pub fn add_receiver(app: &App, req: &Req) -> Answer {
    let receiver = match parse_receiver(req, true) {
        Ok(r) => r,
        Err(a) => return a,
    };
    if receiver.kind == "MERCHANT_ID" && receiver.account == app.merchant.mch_id {
        return invalid_request("不能添加分账方自己为分账接收方");
    }
    let answer = receiver_answer(&receiver);
    app.state()
        .sharing
        .receivers
        .insert(receiver_key(&receiver.kind, &receiver.account), receiver);
    answer
}

/// Removing one that is not there is no failure: a repeat after a lost answer must work.
pub fn remove_receiver(app: &App, req: &Req) -> Answer {
    let receiver = match parse_receiver(req, false) {
        Ok(r) => r,
        Err(a) => return a,
    };
    app.state()
        .sharing
        .receivers
        .remove(&receiver_key(&receiver.kind, &receiver.account));
    receiver_answer(&receiver)
}

/// The profit-sharing order a transaction_id names, paid long enough ago.
fn shareable<'a>(app: &App, state: &'a State, req: &Req) -> Result<&'a Order, Answer> {
    let order = state
        .find_order(None, req.get("transaction_id"))
        .filter(|o| o.state.is_paid())
        .ok_or_else(|| Answer::err("ORDERNOTEXIST", "订单不存在"))?;
    if !order.profit_sharing {
        return Err(Answer::err("NOT_SHARE_ORDER", "非分账订单不支持分账"));
    }
    let paid = order.paid_ms.unwrap_or(order.created_ms);
    if now_ms() < paid + app.scaled(READY_AFTER).as_millis() as u64 {
        return Err(Answer::err(
            "ORDER_NOT_READY",
            "订单处理中，暂时无法分账，请稍后再试",
        ));
    }
    Ok(order)
}

/// What of an order is still frozen for sharing: nothing after a single sharing or a
/// finish, else the amount less multi shares and refunds.
pub fn unsplit(state: &State, order: &Order) -> u64 {
    let sharings = state
        .sharing
        .orders
        .values()
        .filter(|s| s.transaction_id == order.transaction_id);
    let mut shared = 0;
    for sharing in sharings {
        if sharing.kind != SharingKind::Multi {
            return 0;
        }
        shared += sharing.shares.iter().map(|s| s.amount).sum::<u64>();
    }
    order
        .total_fee
        .saturating_sub(shared)
        .saturating_sub(state.refunded(order))
}

fn sharing_id(now: u64) -> String {
    format!("3008450740{}{}", Beijing::at(now).date(), digits(10))
}

fn finished(app: &App, sharing: &Sharing) -> bool {
    sharing.kind == SharingKind::Finish
        || now_ms() >= sharing.created_ms + app.scaled(PROCESSING_FOR).as_millis() as u64
}

fn receivers_json(app: &App, sharing: &Sharing) -> String {
    let done = finished(app, sharing);
    let finish_time =
        Beijing::at(sharing.created_ms + app.scaled(PROCESSING_FOR).as_millis() as u64).compact();
    let list: Vec<Value> = sharing
        .shares
        .iter()
        .map(|s| {
            let mut v = json!({
                "type": s.kind,
                "account": s.account,
                "amount": s.amount,
                "description": s.description,
                "result": if done { "SUCCESS" } else { "PENDING" },
                "detail_id": s.detail_id,
            });
            if done {
                v["finish_time"] = Value::String(finish_time.clone());
            }
            v
        })
        .collect();
    Value::Array(list).to_string()
}

fn sharing_answer(app: &App, sharing: &Sharing) -> Answer {
    let mut f = vec![
        kv("transaction_id", &sharing.transaction_id),
        kv("out_order_no", &sharing.out_order_no),
        kv("order_id", &sharing.order_id),
        kv(
            "status",
            if finished(app, sharing) {
                "FINISHED"
            } else {
                "PROCESSING"
            },
        ),
    ];
    if sharing.kind == SharingKind::Finish {
        f.extend([
            kv("amount", sharing.amount),
            kv("description", &sharing.description),
        ]);
    } else {
        f.push(kv("receivers", receivers_json(app, sharing)));
    }
    Answer::ok(f)
}

/// `receivers` of a sharing: WeChat's "分账接收方列表格式错误" is a PARAM_ERROR.
fn parse_shares(req: &Req) -> Result<Vec<Share>, Answer> {
    let list = json_field(req, "receivers")?;
    let bad = || Answer::param_error("receivers");
    let list = list.as_array().ok_or_else(bad)?;
    if list.is_empty() || list.len() > MAX_RECEIVERS {
        return Err(bad());
    }
    list.iter()
        .map(|entry| {
            let kind = text(entry, "type").filter(|t| RECEIVER_TYPES.contains(t));
            let amount = entry
                .get("amount")
                .and_then(Value::as_u64)
                .filter(|a| *a > 0);
            match (
                kind,
                text(entry, "account"),
                amount,
                text(entry, "description"),
            ) {
                (Some(kind), Some(account), Some(amount), Some(description)) => Ok(Share {
                    kind: kind.to_owned(),
                    account: account.to_owned(),
                    amount,
                    description: description.to_owned(),
                    detail_id: format!("3008450740{}", digits(18)),
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The order a new sharing or finish is for. `Err` is the answer to give instead: for a
/// repeated out_order_no the first answer (the same request) or a refusal (another one),
/// else why the order cannot be shared.
fn target(app: &App, state: &State, req: &Req) -> Result<Order, Answer> {
    if let Some(existing) = state.sharing.orders.get(req.must("out_order_no")) {
        return Err(if existing.params == req.params() {
            sharing_answer(app, existing)
        } else {
            invalid_request("商户分账单号已使用，请求参数与原请求不一致")
        });
    }
    shareable(app, state, req).cloned()
}

/// Records a new sharing of `order`; returns what it was recorded as.
fn record(
    state: &mut State,
    req: &Req,
    order: &Order,
    kind: SharingKind,
    shares: Vec<Share>,
) -> Sharing {
    let now = now_ms();
    let amount = match kind {
        SharingKind::Finish => unsplit(state, order),
        _ => 0,
    };
    let sharing = Sharing {
        order_id: sharing_id(now),
        out_order_no: req.must("out_order_no").to_owned(),
        transaction_id: order.transaction_id.clone(),
        kind,
        shares,
        amount,
        description: req.get("description").unwrap_or_default().to_owned(),
        params: req.params(),
        created_ms: now,
    };
    state
        .sharing
        .orders
        .insert(sharing.out_order_no.clone(), sharing.clone());
    sharing
}

/// secapi/pay/profitsharing (`single`) and multiprofitsharing.
pub fn share(app: &App, req: &Req, single: bool) -> Answer {
    let shares = match parse_shares(req) {
        Ok(s) => s,
        Err(a) => return a,
    };
    let mut state = app.state();
    let order = match target(app, &state, req) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let own = |s: &Share| s.kind == "MERCHANT_ID" && s.account == app.merchant.mch_id;
    for s in &shares {
        // Single sharing unfreezes the rest to the merchant; only multi names it.
        if own(s) && single {
            return Answer::param_error("receivers");
        }
        if !own(s)
            && !state
                .sharing
                .receivers
                .contains_key(&receiver_key(&s.kind, &s.account))
        {
            return invalid_request("分账接收方关系不存在，请检查参数中每个接收方的关系");
        }
    }
    let previous: Vec<&Sharing> = state
        .sharing
        .orders
        .values()
        .filter(|s| s.transaction_id == order.transaction_id)
        .collect();
    if previous.iter().any(|s| s.kind != SharingKind::Multi) {
        return invalid_request("订单已分账完结，不能再分账");
    }
    if previous.len() >= MAX_REQUESTS {
        return invalid_request("订单分账次数超过限制");
    }
    let total: u64 = shares.iter().map(|s| s.amount).sum();
    if total > unsplit(&state, &order) {
        return Answer::err("NOT_ENOUGH", "分账金额不足");
    }
    let to_others: u64 = previous
        .iter()
        .flat_map(|s| &s.shares)
        .chain(&shares)
        .filter(|s| !own(s))
        .map(|s| s.amount)
        .sum();
    if to_others * 100 > order.total_fee * MAX_RATIO_PERCENT {
        return invalid_request("分账金额超出最大分账比例");
    }
    let kind = if single {
        SharingKind::Single
    } else {
        SharingKind::Multi
    };
    sharing_answer(app, &record(&mut state, req, &order, kind, shares))
}

/// secapi/pay/profitsharingfinish: unfreezes what is left.
pub fn finish(app: &App, req: &Req) -> Answer {
    let mut state = app.state();
    let order = match target(app, &state, req) {
        Ok(o) => o,
        Err(a) => return a,
    };
    if unsplit(&state, &order) == 0 {
        return invalid_request("订单剩余待分账金额为0，无需完结分账");
    }
    let sharing = record(&mut state, req, &order, SharingKind::Finish, Vec::new());
    Answer::ok(vec![
        kv("transaction_id", &sharing.transaction_id),
        kv("out_order_no", &sharing.out_order_no),
        kv("order_id", &sharing.order_id),
    ])
}

/// pay/profitsharingquery, by transaction_id and out_order_no.
pub fn query(app: &App, req: &Req) -> Answer {
    let state = app.state();
    match state
        .sharing
        .orders
        .get(req.must("out_order_no"))
        .filter(|s| s.transaction_id == req.must("transaction_id"))
    {
        Some(sharing) => sharing_answer(app, sharing),
        None => Answer::err("ORDERNOTEXIST", "分账单不存在"),
    }
}

/// pay/profitsharingorderamountquery.
pub fn order_amount(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let Some(order) = state
        .find_order(None, req.get("transaction_id"))
        .filter(|o| o.state.is_paid())
    else {
        return Answer::err("ORDERNOTEXIST", "订单不存在");
    };
    if !order.profit_sharing {
        return Answer::err("NOT_SHARE_ORDER", "非分账订单不支持此查询");
    }
    Answer::ok(vec![
        kv("transaction_id", &order.transaction_id),
        kv("unsplit_amount", unsplit(&state, order)),
    ])
}

fn return_answer(r: &SharingReturn) -> Answer {
    Answer::ok(vec![
        kv("order_id", &r.order_id),
        kv("out_order_no", &r.out_order_no),
        kv("out_return_no", &r.out_return_no),
        kv("return_no", &r.return_no),
        kv("return_account_type", "MERCHANT_ID"),
        kv("return_account", &r.return_account),
        kv("return_amount", r.return_amount),
        kv("description", &r.description),
        kv("result", "SUCCESS"),
        kv("finish_time", Beijing::at(r.finish_ms).compact()),
    ])
}

/// The sharing a return names: by order_id, else out_order_no.
fn find_sharing<'a>(state: &'a State, req: &Req) -> Option<&'a Sharing> {
    match req.get("order_id") {
        Some(id) => state.sharing.orders.values().find(|s| s.order_id == id),
        None => state.sharing.orders.get(req.must("out_order_no")),
    }
}

/// secapi/pay/profitsharingreturn: synchronous; a merchant receiver gives back part of
/// what it got.
pub fn give_back(app: &App, req: &Req) -> Answer {
    let amount = match super::fee(req, "return_amount") {
        Ok(a) => a,
        Err(a) => return a,
    };
    if req.must("return_account_type") != "MERCHANT_ID" {
        return Answer::param_error("return_account_type");
    }
    let mut state = app.state();
    let out_return_no = req.must("out_return_no");
    if let Some(existing) = state.sharing.returns.get(out_return_no) {
        return if existing.params == req.params() {
            return_answer(existing)
        } else {
            invalid_request("商户回退单号已使用，请求参数与原请求不一致")
        };
    }
    let Some(sharing) = find_sharing(&state, req).cloned() else {
        return Answer::err("ORDERNOTEXIST", "分账单不存在");
    };
    let account = req.must("return_account");
    let received: u64 = sharing
        .shares
        .iter()
        .filter(|s| s.kind == "MERCHANT_ID" && s.account == account)
        .map(|s| s.amount)
        .sum();
    if received == 0 {
        return invalid_request("回退方不是该分账单的分账接收方");
    }
    let returned: u64 = state
        .sharing
        .returns
        .values()
        .filter(|r| r.order_id == sharing.order_id && r.return_account == account)
        .map(|r| r.return_amount)
        .sum();
    if returned + amount > received {
        return Answer::err("NOT_ENOUGH", "回退金额大于分账金额");
    }
    let now = now_ms();
    let r = SharingReturn {
        return_no: format!("3008450740{}{}", Beijing::at(now).date(), digits(12)),
        order_id: sharing.order_id.clone(),
        out_order_no: sharing.out_order_no.clone(),
        out_return_no: out_return_no.to_owned(),
        return_account: account.to_owned(),
        return_amount: amount,
        description: req.must("description").to_owned(),
        params: req.params(),
        finish_ms: now,
    };
    let answer = return_answer(&r);
    state.sharing.returns.insert(r.out_return_no.clone(), r);
    answer
}

/// pay/profitsharingreturnquery.
pub fn return_query(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let sharing = find_sharing(&state, req);
    match state
        .sharing
        .returns
        .get(req.must("out_return_no"))
        .filter(|r| sharing.is_some_and(|s| s.order_id == r.order_id))
    {
        Some(r) => return_answer(r),
        None => Answer::err("ORDERNOTEXIST", "回退单不存在"),
    }
}
