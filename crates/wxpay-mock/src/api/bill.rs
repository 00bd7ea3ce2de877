//! pay/downloadbill and pay/downloadfundflow (docs/protocol.md §3.7). Every value is prefixed with
//! a backquote and lines end with CRLF, as in WeChat's files; amounts are yuan.
//!
//! Relaxed on purpose: WeChat serves a day's bill from 10:00 the next day, the mock serves
//! any day at once (today included), so tests need not wait.

use super::refund_coupon_part;
use crate::app::{App, digits};
use crate::clock::Beijing;
use crate::proto::{Answer, Req};
use crate::state::{Order, Refund, State};
use std::io::Write;
use std::sync::Arc;

const TRADE_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const TRADE_SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
const FUND_HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号";
const FUND_SUMMARY_HEADER: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";

/// The mock's fee rate: 0.6 %, charged per trade and rounded half up to the fen.
const RATE_PERMILLE: u64 = 6;

/// A payment or a refund that happened on the bill date.
enum Event<'a> {
    Payment(&'a Order, u64),
    Refund(&'a Order, &'a Refund, u64),
}

impl Event<'_> {
    fn time(&self) -> u64 {
        match self {
            Event::Payment(_, t) | Event::Refund(_, _, t) => *t,
        }
    }
}

fn events<'a>(state: &'a State, date: &str) -> Vec<Event<'a>> {
    let on_date = |ms: u64| Beijing::at(ms).date() == date;
    let mut out: Vec<Event<'a>> = Vec::new();
    for order in state.orders.values() {
        if let Some(paid) = order.paid_ms.filter(|&t| on_date(t))
            && !order.transaction_id.is_empty()
        {
            out.push(Event::Payment(order, paid));
        }
    }
    for refund in state.refunds.values() {
        if let (Some(done), Some(order)) = (
            refund.success_ms.filter(|&t| on_date(t)),
            state.orders.get(&refund.out_trade_no),
        ) {
            out.push(Event::Refund(order, refund, done));
        }
    }
    out.sort_by_key(Event::time);
    out
}

fn fee_of(fen: u64) -> u64 {
    (fen * RATE_PERMILLE + 500) / 1000
}

/// Fen as yuan with `decimals` (2, or 5 for fees), signed.
fn yuan(fen: i64, decimals: usize) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!(
        "{sign}{}.{:02}{}",
        abs / 100,
        abs % 100,
        "0".repeat(decimals - 2)
    )
}

fn line(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn trade_row(app: &App, event: &Event<'_>) -> (Vec<String>, [i64; 6]) {
    let (order, refund) = match event {
        Event::Payment(o, _) => (*o, None),
        Event::Refund(o, r, _) => (*o, Some(*r)),
    };
    let s = |v: &str| v.to_owned();
    let time = Beijing::at(event.time()).dashed();
    let total = order.total_fee as i64;
    // [settled, refund, coupon refund, fee, order amount, requested refund]
    let (status, sums, refund_cols) = match refund {
        None => (
            order.state.as_str().replace("REFUND", "SUCCESS"),
            [total, 0, 0, fee_of(order.total_fee) as i64, total, 0],
            [s("0"), s("0"), yuan(0, 2), yuan(0, 2), s(""), s("")],
        ),
        Some(r) => {
            let amount = r.refund_fee as i64;
            let coupon = refund_coupon_part(order, r.refund_fee) as i64;
            (
                s("REFUND"),
                [0, amount, coupon, -(fee_of(r.refund_fee) as i64), 0, amount],
                [
                    r.refund_id.clone(),
                    r.out_refund_no.clone(),
                    yuan(amount, 2),
                    yuan(coupon, 2),
                    s("ORIGINAL"),
                    r.status.as_str().to_owned(),
                ],
            )
        }
    };
    let mut row = vec![
        time,
        app.merchant.appid.clone(),
        app.merchant.mch_id.clone(),
        s("0"),
        order.device_info.clone(),
        order.transaction_id.clone(),
        order.out_trade_no.clone(),
        order.openid.clone(),
        order.trade_type.clone(),
        status,
        s("OTHERS"),
        s("CNY"),
        yuan(sums[0], 2),
        yuan(
            if refund.is_none() {
                order.coupon_fee as i64
            } else {
                0
            },
            2,
        ),
    ];
    row.extend(refund_cols);
    row.extend([
        order.body.clone(),
        order.attach.clone(),
        yuan(sums[3], 5),
        s("0.60%"),
        yuan(sums[4], 2),
        yuan(sums[5], 2),
        s(""),
    ]);
    (row, sums)
}

/// The bill text: header, data rows, summary header and row. With `pad_to`, the data rows
/// are repeated until the text is at least that long.
fn finish(lines: Vec<String>, req: &Req, digest: bool, pad_to: Option<u64>) -> Answer {
    let (header, rest) = lines.split_at(1);
    let (data, summary) = rest.split_at(rest.len() - 2);
    let data = data.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    let fixed = header[0].len() + summary.iter().map(|l| l.len() + 2).sum::<usize>() + 2;
    let wanted = pad_to.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let copies = if data.is_empty() {
        1
    } else {
        wanted.saturating_sub(fixed).div_ceil(data.len()).max(1)
    };
    let mut text = String::with_capacity(fixed + copies * data.len());
    text.push_str(&header[0]);
    text.push_str("\r\n");
    for _ in 0..copies {
        text.push_str(&data);
    }
    for line in summary {
        text.push_str(line);
        text.push_str("\r\n");
    }
    let gzip = req.get("tar_type") == Some("GZIP");
    let body = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        match enc.write_all(text.as_bytes()).and_then(|()| enc.finish()) {
            Ok(bytes) => bytes,
            Err(_) => {
                return Answer::BillFail {
                    msg: "CompressGZip Error".into(),
                    code: 20001,
                };
            }
        }
    } else {
        text.into_bytes()
    };
    Answer::File { body, gzip, digest }
}

fn bill_fail(msg: &str) -> Answer {
    let code = if msg == "No Bill Exist" { 20002 } else { 20001 };
    Answer::BillFail {
        msg: msg.to_owned(),
        code,
    }
}

/// Checks `bill_date` (yyyyMMdd) and `tar_type`.
fn check_common(req: &Req) -> Result<String, Answer> {
    let date = req.must("bill_date");
    let valid_date = date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && matches!(date[4..6].parse::<u32>(), Ok(1..=12))
        && matches!(date[6..].parse::<u32>(), Ok(1..=31));
    if !valid_date {
        return Err(bill_fail("data format error"));
    }
    if req.get("tar_type").is_some_and(|t| t != "GZIP") {
        return Err(bill_fail("invalid tar_type"));
    }
    Ok(date.to_owned())
}

pub fn download_bill(app: &Arc<App>, req: &Req, pad_to: Option<u64>) -> Answer {
    let date = match check_common(req) {
        Ok(d) => d,
        Err(a) => return a,
    };
    let bill_type = req.get("bill_type").unwrap_or("ALL");
    if !matches!(bill_type, "ALL" | "SUCCESS" | "REFUND" | "RECHARGE_REFUND") {
        return bill_fail("invalid bill_type");
    }
    let state = app.state();
    let rows: Vec<(Vec<String>, [i64; 6])> = events(&state, &date)
        .iter()
        .filter(|e| match (bill_type, e) {
            ("ALL", _) => true,
            ("SUCCESS", Event::Payment(..)) => true,
            // Refunds go back the original way; the mock has no recharge-coupon refunds.
            ("REFUND", Event::Refund(..)) => true,
            _ => false,
        })
        .map(|e| trade_row(app, e))
        .collect();
    if rows.is_empty() {
        return bill_fail("No Bill Exist");
    }
    let mut totals = [0i64; 6];
    let mut lines = vec![TRADE_HEADER.to_owned()];
    for (row, sums) in &rows {
        lines.push(line(row));
        for (t, v) in totals.iter_mut().zip(sums) {
            *t += v;
        }
    }
    lines.push(TRADE_SUMMARY_HEADER.to_owned());
    lines.push(line(&[
        rows.len().to_string(),
        yuan(totals[0], 2),
        yuan(totals[1], 2),
        yuan(totals[2], 2),
        yuan(totals[3], 5),
        yuan(totals[4], 2),
        yuan(totals[5], 2),
    ]));
    finish(lines, req, false, pad_to)
}

/// Fund flow of the basic account: payments in, refunds out. The operation and fees
/// accounts have no movements in the mock.
pub fn download_fund_flow(app: &Arc<App>, req: &Req, pad_to: Option<u64>) -> Answer {
    let date = match check_common(req) {
        Ok(d) => d,
        Err(a) => return a,
    };
    match req.must("account_type") {
        "Basic" => {}
        "Operation" | "Fees" => return bill_fail("No Bill Exist"),
        _ => return bill_fail("invalid account_type"),
    }
    let state = app.state();
    let events = events(&state, &date);
    if events.is_empty() {
        return bill_fail("No Bill Exist");
    }
    let (mut balance, mut income, mut income_n, mut spent, mut spent_n) = (0i64, 0i64, 0, 0i64, 0);
    let mut lines = vec![FUND_HEADER.to_owned()];
    for event in &events {
        let time = Beijing::at(event.time()).dashed();
        let (business_no, name, direction, amount, by, voucher) = match event {
            Event::Payment(o, _) => {
                // Fees are booked on the fees account, which the mock leaves empty.
                let cash = o.cash_fee() as i64;
                income += cash;
                income_n += 1;
                (
                    &o.transaction_id,
                    "交易",
                    "收入",
                    cash,
                    "system".to_owned(),
                    &o.out_trade_no,
                )
            }
            Event::Refund(o, r, _) => {
                let out = (r.refund_fee - refund_coupon_part(o, r.refund_fee)) as i64;
                spent += out;
                spent_n += 1;
                (
                    &r.refund_id,
                    "退款",
                    "支出",
                    -out,
                    app.merchant.mch_id.clone(),
                    &r.out_refund_no,
                )
            }
        };
        balance += amount;
        lines.push(line(&[
            time,
            business_no.clone(),
            format!("{}{}", Beijing::at(event.time()).date(), digits(18)),
            name.to_owned(),
            name.to_owned(),
            direction.to_owned(),
            yuan(amount.abs(), 2),
            yuan(balance, 2),
            by,
            String::new(),
            voucher.clone(),
        ]));
    }
    lines.push(FUND_SUMMARY_HEADER.to_owned());
    lines.push(line(&[
        events.len().to_string(),
        income_n.to_string(),
        yuan(income, 2),
        spent_n.to_string(),
        yuan(spent, 2),
    ]));
    finish(lines, req, true, pad_to)
}
