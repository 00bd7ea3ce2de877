//! `GET /mock/`: a small page that lists the orders, shows each `code_url` as a QR code and
//! has a Pay button per unpaid order (it calls `POST /mock/orders/{no}/pay`).

use crate::app::App;
use crate::state::TradeState;
use axum::extract::State;
use axum::response::Html;
use qrcode::QrCode;
use qrcode::render::svg;
use std::fmt::Write;
use std::sync::Arc;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn qr_svg(data: &str) -> String {
    QrCode::new(data.as_bytes()).map_or_else(
        |e| format!("<em>no QR code: {}</em>", escape(&e.to_string())),
        |code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(160, 160)
                .build()
        },
    )
}

pub async fn page(State(app): State<Arc<App>>) -> Html<String> {
    let orders: Vec<_> = app.state().orders.values().rev().cloned().collect();
    let mut rows = String::new();
    for o in &orders {
        let qr = if o.code_url.is_empty() {
            String::new()
        } else {
            qr_svg(&o.code_url)
        };
        let button = if matches!(o.state, TradeState::Notpay | TradeState::Userpaying) {
            format!(
                "<button onclick=\"pay('{}')\">Pay</button>",
                escape(&o.out_trade_no)
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}.{:02}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&o.out_trade_no),
            escape(&o.body),
            o.total_fee / 100,
            o.total_fee % 100,
            escape(&o.trade_type),
            o.state.as_str(),
            qr,
            button,
        );
    }
    if orders.is_empty() {
        rows.push_str("<tr><td colspan=7>No orders yet.</td></tr>");
    }
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>wxpay-mock</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:middle}}</style>
</head><body>
<h1>wxpay-mock</h1>
<p>Merchant {appid} / {mch_id}. <a href="/mock/orders">orders (JSON)</a> · <a href="/mock/notifies">notifies (JSON)</a></p>
<table><tr><th>out_trade_no</th><th>body</th><th>amount (yuan)</th><th>type</th><th>state</th><th>code_url</th><th></th></tr>
{rows}</table>
<script>
async function pay(no) {{
  const r = await fetch('/mock/orders/' + encodeURIComponent(no) + '/pay', {{method: 'POST'}});
  if (!r.ok) alert(await r.text());
  location.reload();
}}
</script>
</body></html>"#,
        appid = escape(&app.merchant.appid),
        mch_id = escape(&app.merchant.mch_id),
    ))
}
