//! The API handlers, called after the shared pipeline (`proto`) has validated a request.

mod bill;
mod coupon;
mod marketing;
mod pay;
mod profitsharing;
mod refund;
mod tools;

pub use coupon::{CouponState, NewStock, create_stock};
pub use marketing::{Ledger, RiskKey, marketing_message, open_redpack};
pub use pay::{PayOutcome, PayRequest, mark_paid, paid_fields};
pub use profitsharing::SharingState;
pub use refund::schedule as schedule_refund;

use crate::app::App;
use crate::proto::{Answer, Api, Req};
use crate::state::Order;
use std::sync::Arc;

/// `bill_bytes`: the fault that pads bills to at least that size.
pub fn dispatch(app: &Arc<App>, req: &Req, bill_bytes: Option<u64>) -> Answer {
    match req.api {
        Api::UnifiedOrder => pay::unified_order(app, req),
        Api::OrderQuery => pay::order_query(app, req),
        Api::CloseOrder => pay::close_order(app, req),
        Api::Micropay => pay::micropay(app, req),
        Api::Reverse => pay::reverse(app, req),
        Api::Refund => refund::refund(app, req),
        Api::RefundQuery => refund::refund_query(app, req),
        Api::DownloadBill => bill::download_bill(app, req, bill_bytes),
        Api::DownloadFundFlow => bill::download_fund_flow(app, req, bill_bytes),
        Api::ShortUrl => tools::short_url(),
        Api::AuthCodeToOpenid => tools::auth_code_to_openid(req),
        Api::Report => tools::report(),
        Api::GetSignKey => tools::get_sign_key(app),
        Api::SendRedpack | Api::SendGroupRedpack => marketing::send_redpack(app, req),
        Api::RedpackInfo => marketing::redpack_info(app, req),
        Api::Transfer => marketing::transfer(app, req),
        Api::TransferInfo => marketing::transfer_info(app, req),
        Api::PayBank => marketing::pay_bank(app, req),
        Api::QueryBank => marketing::query_bank(app, req),
        Api::RiskPublicKey => marketing::public_key(app),
        Api::ProfitSharingAddReceiver => profitsharing::add_receiver(app, req),
        Api::ProfitSharingRemoveReceiver => profitsharing::remove_receiver(app, req),
        Api::ProfitSharing => profitsharing::share(app, req, true),
        Api::MultiProfitSharing => profitsharing::share(app, req, false),
        Api::ProfitSharingQuery => profitsharing::query(app, req),
        Api::ProfitSharingFinish => profitsharing::finish(app, req),
        Api::ProfitSharingReturn => profitsharing::give_back(app, req),
        Api::ProfitSharingReturnQuery => profitsharing::return_query(app, req),
        Api::ProfitSharingOrderAmountQuery => profitsharing::order_amount(app, req),
        Api::SendCoupon => coupon::send(app, req),
        Api::QueryCouponStock => coupon::stock(app, req),
        Api::QueryCouponsInfo => coupon::info(app, req),
    }
}

/// A positive integer amount in fen (docs/protocol.md §8: no decimals, no zero).
fn fee(req: &Req, name: &str) -> Result<u64, Answer> {
    let text = req.must(name);
    match text.parse::<u64>() {
        Ok(v) if v > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err(Answer::param_error(name)),
    }
}

/// `out_trade_no`-style numbers: 1–`max` characters from `[0-9A-Za-z]` and `extra`.
fn check_no(req: &Req, name: &str, max: usize, extra: &[u8]) -> Result<(), Answer> {
    let v = req.must(name);
    if v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        Ok(())
    } else {
        Err(Answer::param_error(name))
    }
}

/// `notify_url`: absolute http(s) URL without a query string (docs/protocol.md §3.3).
fn check_notify_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains('?')
        && url.len() <= 256
}

/// Payment codes: 18 digits starting 10–15 (docs/protocol.md §8).
fn valid_auth_code(code: &str) -> bool {
    code.len() == 18
        && code.bytes().all(|b| b.is_ascii_digit())
        && matches!(&code[..2], "10" | "11" | "12" | "13" | "14" | "15")
}

/// A stable 28-character openid for a simulated payer: derived from the payment code (so
/// authcodetoopenid and micropay agree) or from the order when no payer is named.
pub(crate) fn mock_openid(seed: &str) -> String {
    format!("oMock{}", &crate::app::hex_sha1(seed.as_bytes())[..23])
}

/// The coupon share of a refund, proportional to the coupon share of the payment.
fn refund_coupon_part(order: &Order, refund_fee: u64) -> u64 {
    refund_fee * order.coupon_fee / order.total_fee
}
