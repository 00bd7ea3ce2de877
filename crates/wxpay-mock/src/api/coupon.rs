//! Coupons (代金券, docs/protocol.md §16): stocks made with the control API
//! (`POST /mock/coupon-stocks`, as a merchant does on the platform), send_coupon,
//! query_coupon_stock and querycouponsinfo. Signed with MD5 only, without `sign_type`.

use crate::app::{App, digits};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Answer, Fields, Req, kv};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stock's lifetime when the control API gives none: 30 days.
const DEFAULT_DAYS: u64 = 30;
const DAY_MS: u64 = 24 * 3600 * 1000;
/// `coupon_stock_status`: 4 is 已激活, 8 已作废 (docs/protocol.md §16.1).
const ACTIVE: u8 = 4;
const CANCELLED: u8 = 8;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CouponState {
    pub stocks: BTreeMap<String, Stock>,
    /// Coupons sent, by coupon_id.
    pub coupons: BTreeMap<String, Coupon>,
    /// send_coupon answers by partner_trade_no: a repeat gets the first one.
    pub sends: BTreeMap<String, Send>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stock {
    pub coupon_stock_id: String,
    pub coupon_name: String,
    /// Face value and threshold, fen.
    pub coupon_value: u64,
    pub coupon_mininumn: u64,
    pub coupon_total: u64,
    /// Per payer; 0 is no limit.
    pub max_quota: u64,
    pub coupon_stock_status: u8,
    pub begin_ms: u64,
    pub end_ms: u64,
    pub create_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Coupon {
    pub coupon_id: String,
    pub coupon_stock_id: String,
    pub openid: String,
    pub send_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Send {
    pub params: Fields,
    pub fields: Fields,
    pub err: Option<(String, String)>,
}

/// `POST /mock/coupon-stocks` body: the stock a merchant creates on the platform.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStock {
    pub coupon_stock_id: Option<String>,
    pub coupon_name: Option<String>,
    pub coupon_value: u64,
    #[serde(default)]
    pub coupon_mininumn: u64,
    pub coupon_total: u64,
    #[serde(default)]
    pub max_quota: u64,
    /// False makes a cancelled stock (作废), which sends nothing.
    pub active: Option<bool>,
}

/// Creates a stock; `Err` says which value is unusable.
pub fn create_stock(app: &App, new: NewStock) -> Result<Stock, String> {
    if new.coupon_value == 0 || new.coupon_total == 0 {
        return Err("coupon_value and coupon_total must be positive".into());
    }
    let id = new.coupon_stock_id.unwrap_or_else(|| digits(8));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("coupon_stock_id must be digits, \"{id}\" given"));
    }
    let now = now_ms();
    let stock = Stock {
        coupon_stock_id: id.clone(),
        coupon_name: new.coupon_name.unwrap_or_else(|| "测试代金券".into()),
        coupon_value: new.coupon_value,
        coupon_mininumn: new.coupon_mininumn,
        coupon_total: new.coupon_total,
        max_quota: new.max_quota,
        coupon_stock_status: if new.active.unwrap_or(true) {
            ACTIVE
        } else {
            CANCELLED
        },
        begin_ms: now,
        end_ms: now + DEFAULT_DAYS * DAY_MS,
        create_ms: now,
    };
    let mut state = app.state();
    if state.coupons.stocks.contains_key(&id) {
        return Err(format!("coupon stock {id} exists"));
    }
    state.coupons.stocks.insert(id, stock.clone());
    Ok(stock)
}

fn time(ms: u64) -> String {
    Beijing::at(ms).compact()
}

/// send_coupon: one coupon of a stock to one payer (`openid_count` must be 1).
pub fn send(app: &App, req: &Req) -> Answer {
    if req.must("openid_count") != "1" {
        return Answer::param_error("openid_count");
    }
    let mut state = app.state();
    let partner_trade_no = req.must("partner_trade_no");
    if let Some(sent) = state.coupons.sends.get(partner_trade_no) {
        return if sent.params == req.params() {
            send_answer(sent)
        } else {
            Answer::err("PARAM_ERROR", "商户单据号重复，请求参数与原请求不一致")
        };
    }
    let stock_id = req.must("coupon_stock_id");
    let openid = req.must("openid");
    let Some(stock) = state.coupons.stocks.get(stock_id).cloned() else {
        return Answer::err("COUPON_STOCK_ID_NOT_VALID", "批次id不正确");
    };
    let issued: Vec<&Coupon> = state
        .coupons
        .coupons
        .values()
        .filter(|c| c.coupon_stock_id == stock_id)
        .collect();
    let now = now_ms();
    let refusal = if stock.coupon_stock_status != ACTIVE || now >= stock.end_ms {
        Some(("STOCK_IS_NOT_VALID", "抱歉，该代金券已失效"))
    } else if issued.len() as u64 >= stock.coupon_total {
        Some(("AL_STOCK_OVER", "活动已结束"))
    } else if stock.max_quota > 0
        && issued.iter().filter(|c| c.openid == openid).count() as u64 >= stock.max_quota
    {
        Some(("USER_AL_GET_COUPON", "你已领取过该代金券"))
    } else {
        None
    };
    let mut fields = vec![
        kv("coupon_stock_id", stock_id),
        kv("resp_count", 1),
        kv("success_count", u8::from(refusal.is_none())),
        kv("failed_count", u8::from(refusal.is_some())),
        kv("openid", openid),
    ];
    match refusal {
        Some((_, des)) => fields.extend([kv("ret_code", "FAILED"), kv("ret_msg", des)]),
        None => {
            let coupon = Coupon {
                coupon_id: digits(10),
                coupon_stock_id: stock_id.to_owned(),
                openid: openid.to_owned(),
                send_ms: now,
            };
            fields.extend([
                kv("ret_code", "SUCCESS"),
                kv("coupon_id", &coupon.coupon_id),
            ]);
            state
                .coupons
                .coupons
                .insert(coupon.coupon_id.clone(), coupon);
        }
    }
    if let Some(device) = req.get("device_info") {
        fields.insert(0, kv("device_info", device));
    }
    let sent = Send {
        params: req.params(),
        fields,
        err: refusal.map(|(code, des)| (code.to_owned(), des.to_owned())),
    };
    let answer = send_answer(&sent);
    state
        .coupons
        .sends
        .insert(partner_trade_no.to_owned(), sent);
    answer
}

fn send_answer(sent: &Send) -> Answer {
    match &sent.err {
        None => Answer::ok(sent.fields.clone()),
        Some((code, des)) => Answer::err_with(code, des, sent.fields.clone()),
    }
}

/// query_coupon_stock.
pub fn stock(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let Some(stock) = state.coupons.stocks.get(req.must("coupon_stock_id")) else {
        return Answer::err("COUPON_STOCK_NOT_FOUND", "批次信息不存在");
    };
    let issued = state
        .coupons
        .coupons
        .values()
        .filter(|c| c.coupon_stock_id == stock.coupon_stock_id)
        .count();
    Answer::ok(vec![
        kv("coupon_stock_id", &stock.coupon_stock_id),
        kv("coupon_name", &stock.coupon_name),
        kv("coupon_value", stock.coupon_value),
        kv("coupon_mininumn", stock.coupon_mininumn),
        kv("coupon_type", if stock.coupon_mininumn > 0 { 2 } else { 1 }),
        kv("coupon_stock_status", stock.coupon_stock_status),
        kv("coupon_total", stock.coupon_total),
        kv("max_quota", stock.max_quota),
        kv("is_send_num", issued),
        kv("begin_time", time(stock.begin_ms)),
        kv("end_time", time(stock.end_ms)),
        kv("create_time", time(stock.create_ms)),
        kv("coupon_budget", stock.coupon_value * stock.coupon_total),
    ])
}

/// querycouponsinfo: a coupon of `stock_id` held by `openid`.
pub fn info(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let found = state
        .coupons
        .coupons
        .get(req.must("coupon_id"))
        .filter(|c| c.openid == req.must("openid") && c.coupon_stock_id == req.must("stock_id"))
        .and_then(|c| Some((c, state.coupons.stocks.get(&c.coupon_stock_id)?)));
    let Some((coupon, stock)) = found else {
        return Answer::err("COUPON_NOT_FOUND", "券没有查找成功");
    };
    let state_name = if now_ms() >= stock.end_ms {
        "EXPIRED"
    } else {
        "SENDED"
    };
    Answer::ok(vec![
        kv("coupon_stock_id", &stock.coupon_stock_id),
        kv("coupon_stock_type", 1),
        kv("coupon_id", &coupon.coupon_id),
        kv("coupon_value", stock.coupon_value),
        kv("coupon_mininumn", stock.coupon_mininumn),
        kv("coupon_name", &stock.coupon_name),
        kv("coupon_state", state_name),
        kv("coupon_type", if stock.coupon_mininumn > 0 { 2 } else { 1 }),
        kv("coupon_desc", "微信支付-代金券"),
        kv("coupon_use_value", 0),
        kv("coupon_remain_value", stock.coupon_value),
        kv("begin_time", time(stock.begin_ms)),
        kv("end_time", time(stock.end_ms)),
        kv("send_time", time(coupon.send_ms)),
        kv("send_source", "NORMAL"),
    ])
}
