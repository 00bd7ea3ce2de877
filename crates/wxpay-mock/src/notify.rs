//! Payment and refund notifications with WeChat's retry schedule (docs/protocol.md §5–6).

use crate::api::paid_fields;
use crate::app::{App, alnum};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Fields, kv, signed_message};
use crate::state::{NotifyAttempt, NotifyKind, Order, Refund};
use std::sync::Arc;
use std::time::Duration;
use wxpay_core::{crypto, xml};

/// Waits before each retry: 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h
/// (docs/protocol.md §5).
pub const RETRY_SCHEDULE_SECS: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// WeChat gives the merchant a few seconds to answer; not time-scaled.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the signed payment notify for a paid order.
pub fn payment(app: &Arc<App>, order: &Order) {
    let mut fields: Fields = Vec::new();
    if !order.device_info.is_empty() {
        fields.push(kv("device_info", &order.device_info));
    }
    fields.push(kv("result_code", "SUCCESS"));
    if order.sign_type_sent {
        fields.push(kv("sign_type", order.sign_type.as_str()));
    }
    fields.extend(paid_fields(order));
    let key = app.merchant.key(order.env).to_owned();
    let message = signed_message(app, &key, order.sign_type, fields, false, true);
    match xml::encode(&message) {
        Ok(body) => spawn(
            app,
            NotifyKind::Payment,
            order,
            None,
            &order.notify_url,
            body,
        ),
        Err(e) => eprintln!("wxpay-mock: cannot encode the payment notify: {e}"),
    }
}

/// Sends the refund notify: unsigned, the details AES-encrypted in `req_info`
/// (docs/protocol.md §6).
pub fn refund(app: &Arc<App>, order: &Order, refund: &Refund) {
    let success = Beijing::at(refund.success_ms.unwrap_or(refund.created_ms)).dashed();
    let inner = [
        kv("transaction_id", &order.transaction_id),
        kv("out_trade_no", &order.out_trade_no),
        kv("refund_id", &refund.refund_id),
        kv("out_refund_no", &refund.out_refund_no),
        kv("total_fee", order.total_fee),
        kv("settlement_total_fee", order.total_fee),
        kv("refund_fee", refund.refund_fee),
        kv("settlement_refund_fee", refund.refund_fee),
        kv("refund_status", refund.status.as_str()),
        kv("success_time", success),
        kv("refund_recv_accout", "支付用户零钱"),
        kv("refund_account", &refund.refund_account),
        kv("refund_request_source", "API"),
    ];
    let mut plain = String::from("<root>");
    for (k, v) in &inner {
        xml::write_field(&mut plain, k, v);
    }
    plain.push_str("</root>");
    let key = app.merchant.key(order.env);
    let outer = [
        kv("return_code", "SUCCESS"),
        kv("return_msg", "OK"),
        kv("appid", &app.merchant.appid),
        kv("mch_id", &app.merchant.mch_id),
        kv("nonce_str", alnum(32)),
        kv("req_info", crypto::encrypt_req_info(&plain, key)),
    ];
    match xml::encode(&outer) {
        Ok(body) => spawn(
            app,
            NotifyKind::Refund,
            order,
            Some(refund.out_refund_no.clone()),
            &refund.notify_url,
            body,
        ),
        Err(e) => eprintln!("wxpay-mock: cannot encode the refund notify: {e}"),
    }
}

fn spawn(
    app: &Arc<App>,
    kind: NotifyKind,
    order: &Order,
    out_refund_no: Option<String>,
    url: &str,
    body: String,
) {
    let app = app.clone();
    let out_trade_no = order.out_trade_no.clone();
    let url = url.to_owned();
    tokio::spawn(async move {
        let generation = app.state().generation;
        let waits = std::iter::once(0).chain(RETRY_SCHEDULE_SECS);
        for (attempt, wait) in (1u32..).zip(waits) {
            tokio::time::sleep(app.scaled(Duration::from_secs(wait))).await;
            // A reset forgets the orders, and with them their pending notifies.
            if app.state().generation != generation {
                return;
            }
            // Every copy is sent at once; one acknowledgement ends the schedule.
            let copies = app.faults().notify_copies();
            let mut sends = tokio::task::JoinSet::new();
            for copy in 1..=copies {
                let (app, url, body) = (app.clone(), url.clone(), body.clone());
                sends.spawn(async move { (copy, post(&app, &url, &body).await) });
            }
            let mut acknowledged_once = false;
            while let Some(sent) = sends.join_next().await {
                let Ok((copy, (http_status, reply, error))) = sent else {
                    continue;
                };
                let ok = http_status == Some(200) && acknowledged(&reply);
                acknowledged_once |= ok;
                let time_ms = now_ms();
                let record = NotifyAttempt {
                    kind,
                    out_trade_no: out_trade_no.clone(),
                    out_refund_no: out_refund_no.clone(),
                    url: url.clone(),
                    attempt,
                    copy,
                    time: Beijing::at(time_ms).dashed(),
                    time_ms,
                    http_status,
                    reply,
                    error,
                    ok,
                };
                let mut state = app.state();
                if state.generation != generation {
                    return;
                }
                state.notifies.push(record);
            }
            if acknowledged_once {
                return;
            }
        }
    });
}

pub async fn post(app: &App, url: &str, body: &str) -> (Option<u16>, String, Option<String>) {
    let sent = app
        .http
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .timeout(REPLY_TIMEOUT)
        .body(body.to_owned())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(text) => (Some(status), text, None),
                Err(e) => (Some(status), String::new(), Some(e.to_string())),
            }
        }
        Err(e) => (None, String::new(), Some(format!("{e:#}"))),
    }
}

/// Only `return_code=SUCCESS` acknowledges; anything else means "send again".
fn acknowledged(reply: &str) -> bool {
    xml::decode(reply.as_bytes()).is_ok_and(|fields| {
        fields
            .iter()
            .any(|(k, v)| *k == "return_code" && v == "SUCCESS")
    })
}
