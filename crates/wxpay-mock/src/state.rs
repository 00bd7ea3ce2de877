//! What the simulated WeChat Pay remembers: orders, refunds and notify attempts.
//! Everything is plain data (serde) so that `--state-file` can keep it across restarts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wxpay_core::SignType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Notpay,
    Userpaying,
    Success,
    Refund,
    Closed,
    Revoked,
    Payerror,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notpay => "NOTPAY",
            Self::Userpaying => "USERPAYING",
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
            Self::Closed => "CLOSED",
            Self::Revoked => "REVOKED",
            Self::Payerror => "PAYERROR",
        }
    }

    /// `trade_state_desc` as WeChat words it.
    pub fn desc(self) -> &'static str {
        match self {
            Self::Notpay => "订单未支付",
            Self::Userpaying => "需要用户输入支付密码",
            Self::Success => "支付成功",
            Self::Refund => "订单发生过退款，退款详情请查询退款单",
            Self::Closed => "订单已关闭",
            Self::Revoked => "订单已撤销",
            Self::Payerror => "支付失败",
        }
    }

    pub fn is_paid(self) -> bool {
        matches!(self, Self::Success | Self::Refund)
    }
}

/// Which key signs: the merchant key, or the sandbox key under `/sandboxnew/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    #[default]
    Prod,
    Sandbox,
}

/// How a micropay order reaches its final state (chosen by the auth code, see micropay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MicropayPlan {
    /// `USERPAYING` until `pay_after_ms`, then `SUCCESS` when queried.
    PayAt { pay_after_ms: u64 },
    /// `USERPAYING` until reversed.
    Forever,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Order {
    pub out_trade_no: String,
    pub env: Env,
    #[serde(with = "sign_type_name")]
    pub sign_type: SignType,
    /// Whether the request carried `sign_type` (the notify then carries it too).
    pub sign_type_sent: bool,
    pub trade_type: String,
    pub body: String,
    pub total_fee: u64,
    pub fee_type: String,
    pub attach: String,
    pub device_info: String,
    pub notify_url: String,
    pub openid: String,
    pub prepay_id: String,
    pub code_url: String,
    pub mweb_url: String,
    pub transaction_id: String,
    /// The request's business fields (no `nonce_str`/`sign`), to judge a re-entry.
    pub params: Vec<(String, String)>,
    pub state: TradeState,
    pub created_ms: u64,
    pub paid_ms: Option<u64>,
    pub coupon_fee: u64,
    pub micropay: Option<MicropayPlan>,
    pub auth_code: String,
    /// Reverse calls so far on a `USERPAYING` order (the first one answers `recall=Y`).
    pub reverse_calls: u32,
    pub refunds: Vec<String>,
    /// Placed with `profit_sharing=Y`: its funds stay frozen for sharing.
    #[serde(default)]
    pub profit_sharing: bool,
}

impl Order {
    pub fn cash_fee(&self) -> u64 {
        self.total_fee - self.coupon_fee
    }

    /// Applies a micropay outcome that has come due.
    pub fn settle(&mut self, now: u64, transaction_id: impl FnOnce() -> String) {
        if let (TradeState::Userpaying, Some(MicropayPlan::PayAt { pay_after_ms })) =
            (self.state, self.micropay)
            && now >= pay_after_ms
        {
            self.state = TradeState::Success;
            self.paid_ms = Some(pay_after_ms);
            self.transaction_id = transaction_id();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Processing,
    Success,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refund {
    pub out_refund_no: String,
    pub refund_id: String,
    pub out_trade_no: String,
    pub refund_fee: u64,
    pub refund_account: String,
    pub notify_url: String,
    pub params: Vec<(String, String)>,
    pub status: RefundStatus,
    pub created_ms: u64,
    pub success_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    Payment,
    Refund,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotifyAttempt {
    pub kind: NotifyKind,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub url: String,
    /// 1 for the first delivery.
    pub attempt: u32,
    /// Which of the attempt's simultaneous copies (fault `notify_copies`); 1 normally.
    #[serde(default = "first_copy")]
    pub copy: u32,
    /// Beijing time, `yyyy-MM-dd HH:mm:ss`.
    pub time: String,
    pub time_ms: u64,
    pub http_status: Option<u16>,
    pub reply: String,
    pub error: Option<String>,
    pub ok: bool,
}

fn first_copy() -> u32 {
    1
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub orders: BTreeMap<String, Order>,
    pub refunds: BTreeMap<String, Refund>,
    pub notifies: Vec<NotifyAttempt>,
    /// Auth codes already spent on a micropay (each code is single-use).
    pub used_auth_codes: BTreeMap<String, String>,
    /// The balance red packets and transfers draw on, and what they paid out.
    #[serde(default)]
    pub ledger: crate::api::Ledger,
    /// Profit sharing: receivers, sharings, returns.
    #[serde(default)]
    pub sharing: crate::api::SharingState,
    /// Coupon stocks, coupons, sends.
    #[serde(default)]
    pub coupons: crate::api::CouponState,
    /// Bumped by `/mock/reset`, so that retry loops started before it stop.
    #[serde(skip)]
    pub generation: u64,
}

impl State {
    pub fn find_order(
        &self,
        out_trade_no: Option<&str>,
        transaction_id: Option<&str>,
    ) -> Option<&Order> {
        // `transaction_id` wins when both are given (docs/protocol.md §3.4).
        match transaction_id {
            Some(t) => self.orders.values().find(|o| o.transaction_id == t),
            None => out_trade_no.and_then(|n| self.orders.get(n)),
        }
    }

    pub fn refunded(&self, order: &Order) -> u64 {
        order
            .refunds
            .iter()
            .filter_map(|r| self.refunds.get(r))
            .map(|r| r.refund_fee)
            .sum()
    }
}

mod sign_type_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use wxpay_core::SignType;

    pub fn serialize<S: Serializer>(t: &SignType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignType, D::Error> {
        let name = String::deserialize(d)?;
        SignType::parse(&name).ok_or_else(|| serde::de::Error::custom("unknown sign_type"))
    }
}
