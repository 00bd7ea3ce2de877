//! The table of v2 calls (docs/protocol.md §3) and the two ends of every call that need no network:
//! preparing a request (fill, validate, sign, encode) and classifying its response
//! (docs/protocol.md §4.1), including bill bodies (docs/protocol.md §3.7).

use crate::config::{Config, Secret};
use crate::error::{ApiError, Error, HttpError, Result};
use crate::marketing;
use crate::nonce::nonce;
use crate::notify::{self, get};
use crate::params;
use crate::profitsharing;
use crate::sign::{self, SignType};
use crate::xml;
use std::io::Read;

pub type Fields = Vec<(String, String)>;

/// Every v2 call this core knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    UnifiedOrder,
    OrderQuery,
    CloseOrder,
    Refund,
    RefundQuery,
    DownloadBill,
    DownloadFundFlow,
    Micropay,
    Reverse,
    ShortUrl,
    AuthCodeToOpenid,
    Report,
    // Marketing: red packets, transfers, bank cards (docs/protocol.md §12; specs in marketing.rs).
    SendRedpack,
    SendGroupRedpack,
    RedpackInfo,
    Transfer,
    TransferInfo,
    PayBank,
    QueryBank,
    RiskPublicKey,
    // Profit sharing (docs/protocol.md §15).
    ProfitSharingAddReceiver,
    ProfitSharingRemoveReceiver,
    ProfitSharing,
    MultiProfitSharing,
    ProfitSharingQuery,
    ProfitSharingFinish,
    ProfitSharingReturn,
    ProfitSharingReturnQuery,
    ProfitSharingOrderAmountQuery,
    // Coupons (docs/protocol.md §16).
    SendCoupon,
    QueryCouponStock,
    QueryCouponsInfo,
}

/// How a call signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// The configured type, declared in `sign_type`.
    Configured,
    /// HMAC-SHA256 whatever the configuration (fund flow, docs/protocol.md §3.7).
    Hmac,
    /// HMAC-SHA256, the only type WeChat takes: a client configured for MD5 is refused
    /// before anything is sent (profit sharing, docs/protocol.md §15.2).
    HmacOnly,
    /// MD5 whatever the configuration, and no `sign_type` field: the call has none
    /// (coupons, docs/protocol.md §16.2).
    Md5Undeclared,
}

/// How a response body is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// XML, signed whenever `return_code` is SUCCESS.
    Signed,
    /// XML, unsigned by design (report, the marketing calls): identity fields that are
    /// present must still be ours.
    Unsigned,
    /// XML whose `sign`, when present, must verify (pay_bank: docs/protocol.md §12.1).
    SignedWhenPresent,
    /// A bill: text or gzip on success, unsigned XML on failure.
    Bill,
}

/// What one call needs and how it behaves.
#[derive(Debug)]
pub struct Spec {
    /// The last path segment, used in messages (`unifiedorder`).
    pub name: &'static str,
    /// Path below the host, with a leading slash.
    pub path: &'static str,
    /// Needs the merchant's client certificate (mutual TLS).
    pub cert: bool,
    pub reply: Reply,
    /// Fields that must be present and non-empty (after the defaults are filled).
    pub required: &'static [&'static str],
    /// At least one of these must be present, when not empty.
    pub one_of: &'static [&'static str],
    /// Whether re-sending identical fields after an unknown outcome is harmless. Micropay is
    /// not: a second debit attempt may be made; its outcome is settled by query and reverse.
    pub retry_safe: bool,
    pub signing: Signing,
    /// Which merchant fields the call carries.
    pub identity: Identity,
    /// The host the call goes to.
    pub host: Host,
}

/// The merchant fields a call carries (`mch_id`, and `sub_mch_id` when configured, always
/// for the payment calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// `appid`, and `sub_appid` when configured (docs/protocol.md §3.2).
    Full,
    /// `appid` but no `sub_appid`.
    NoSubAppid,
    /// Neither; the answer's `appid` is then checked only when present
    /// (docs/protocol.md §15.2).
    NoAppid,
    /// The marketing calls (docs/protocol.md §12.1): their own names for the merchant
    /// fields, no sub-merchant fields, MD5 only, a closed field list; `sign_type` is sent
    /// (as MD5) only where the call documents it.
    Marketing {
        appid: Option<&'static str>,
        mch_id: &'static str,
        sign_type: bool,
    },
}

impl Identity {
    /// The names of the appid and mch_id fields (none for appid when it is not sent).
    pub fn names(self) -> (Option<&'static str>, &'static str) {
        match self {
            Identity::Full | Identity::NoSubAppid => (Some("appid"), "mch_id"),
            Identity::NoAppid => (None, "mch_id"),
            Identity::Marketing { appid, mch_id, .. } => (appid, mch_id),
        }
    }

    pub fn is_marketing(self) -> bool {
        matches!(self, Identity::Marketing { .. })
    }
}

/// Where a call is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// `base_url` (failing over to `backup_url`).
    Api,
    /// `risk_url`: `risk/getpublickey` has a host of its own (docs/protocol.md §12.5).
    Risk,
}

const BY_TRADE: &[&str] = &["transaction_id", "out_trade_no"];

impl Api {
    pub const ALL: [Api; 32] = [
        Api::UnifiedOrder,
        Api::OrderQuery,
        Api::CloseOrder,
        Api::Refund,
        Api::RefundQuery,
        Api::DownloadBill,
        Api::DownloadFundFlow,
        Api::Micropay,
        Api::Reverse,
        Api::ShortUrl,
        Api::AuthCodeToOpenid,
        Api::Report,
        Api::SendRedpack,
        Api::SendGroupRedpack,
        Api::RedpackInfo,
        Api::Transfer,
        Api::TransferInfo,
        Api::PayBank,
        Api::QueryBank,
        Api::RiskPublicKey,
        Api::ProfitSharingAddReceiver,
        Api::ProfitSharingRemoveReceiver,
        Api::ProfitSharing,
        Api::MultiProfitSharing,
        Api::ProfitSharingQuery,
        Api::ProfitSharingFinish,
        Api::ProfitSharingReturn,
        Api::ProfitSharingReturnQuery,
        Api::ProfitSharingOrderAmountQuery,
        Api::SendCoupon,
        Api::QueryCouponStock,
        Api::QueryCouponsInfo,
    ];

    pub fn spec(self) -> &'static Spec {
        const fn spec(
            name: &'static str,
            path: &'static str,
            cert: bool,
            reply: Reply,
            required: &'static [&'static str],
            one_of: &'static [&'static str],
        ) -> Spec {
            Spec {
                name,
                path,
                cert,
                reply,
                required,
                one_of,
                retry_safe: true,
                signing: Signing::Configured,
                identity: Identity::Full,
                host: Host::Api,
            }
        }
        static UNIFIED_ORDER: Spec = spec(
            "unifiedorder",
            "/pay/unifiedorder",
            false,
            Reply::Signed,
            &[
                "body",
                "out_trade_no",
                "total_fee",
                "spbill_create_ip",
                "notify_url",
                "trade_type",
            ],
            &[],
        );
        static ORDER_QUERY: Spec = spec(
            "orderquery",
            "/pay/orderquery",
            false,
            Reply::Signed,
            &[],
            BY_TRADE,
        );
        static CLOSE_ORDER: Spec = spec(
            "closeorder",
            "/pay/closeorder",
            false,
            Reply::Signed,
            &["out_trade_no"],
            &[],
        );
        static REFUND: Spec = spec(
            "refund",
            "/secapi/pay/refund",
            true,
            Reply::Signed,
            &["out_refund_no", "total_fee", "refund_fee"],
            BY_TRADE,
        );
        static REFUND_QUERY: Spec = spec(
            "refundquery",
            "/pay/refundquery",
            false,
            Reply::Signed,
            &[],
            &[
                "refund_id",
                "out_refund_no",
                "transaction_id",
                "out_trade_no",
            ],
        );
        static DOWNLOAD_BILL: Spec = spec(
            "downloadbill",
            "/pay/downloadbill",
            false,
            Reply::Bill,
            &["bill_date"],
            &[],
        );
        static DOWNLOAD_FUND_FLOW: Spec = Spec {
            signing: Signing::Hmac,
            ..spec(
                "downloadfundflow",
                "/pay/downloadfundflow",
                true,
                Reply::Bill,
                &["bill_date", "account_type"],
                &[],
            )
        };
        static MICROPAY: Spec = Spec {
            retry_safe: false,
            ..spec(
                "micropay",
                "/pay/micropay",
                false,
                Reply::Signed,
                &[
                    "body",
                    "out_trade_no",
                    "total_fee",
                    "spbill_create_ip",
                    "auth_code",
                ],
                &[],
            )
        };
        static REVERSE: Spec = spec(
            "reverse",
            "/secapi/pay/reverse",
            true,
            Reply::Signed,
            &[],
            BY_TRADE,
        );
        static SHORT_URL: Spec = spec(
            "shorturl",
            "/tools/shorturl",
            false,
            Reply::Signed,
            &["long_url"],
            &[],
        );
        static AUTH_CODE_TO_OPENID: Spec = spec(
            "authcodetoopenid",
            "/tools/authcodetoopenid",
            false,
            Reply::Signed,
            &["auth_code"],
            &[],
        );
        static REPORT: Spec = spec(
            "report",
            "/payitil/report",
            false,
            Reply::Unsigned,
            &[
                "interface_url",
                "execute_time_",
                "return_code",
                "result_code",
                "user_ip",
            ],
            &[],
        );
        // Profit sharing: HMAC-SHA256 only; the calls under /secapi/ need the certificate.
        // Re-sending is harmless: out_order_no and out_return_no make a repeat the same
        // request (docs/protocol.md §15.3).
        const fn sharing(
            name: &'static str,
            path: &'static str,
            cert: bool,
            required: &'static [&'static str],
            one_of: &'static [&'static str],
            identity: Identity,
        ) -> Spec {
            Spec {
                signing: Signing::HmacOnly,
                identity,
                ..spec(name, path, cert, Reply::Signed, required, one_of)
            }
        }
        const BY_SHARING: &[&str] = &["order_id", "out_order_no"];
        static PS_ADD_RECEIVER: Spec = sharing(
            "profitsharingaddreceiver",
            "/pay/profitsharingaddreceiver",
            false,
            &["receiver"],
            &[],
            Identity::Full,
        );
        static PS_REMOVE_RECEIVER: Spec = sharing(
            "profitsharingremovereceiver",
            "/pay/profitsharingremovereceiver",
            false,
            &["receiver"],
            &[],
            Identity::Full,
        );
        static PS_SINGLE: Spec = sharing(
            "profitsharing",
            "/secapi/pay/profitsharing",
            true,
            &["transaction_id", "out_order_no", "receivers"],
            &[],
            Identity::Full,
        );
        static PS_MULTI: Spec = sharing(
            "multiprofitsharing",
            "/secapi/pay/multiprofitsharing",
            true,
            &["transaction_id", "out_order_no", "receivers"],
            &[],
            Identity::Full,
        );
        static PS_QUERY: Spec = sharing(
            "profitsharingquery",
            "/pay/profitsharingquery",
            false,
            &["transaction_id", "out_order_no"],
            &[],
            Identity::NoAppid,
        );
        static PS_FINISH: Spec = sharing(
            "profitsharingfinish",
            "/secapi/pay/profitsharingfinish",
            true,
            &["transaction_id", "out_order_no", "description"],
            &[],
            Identity::NoSubAppid,
        );
        static PS_RETURN: Spec = sharing(
            "profitsharingreturn",
            "/secapi/pay/profitsharingreturn",
            true,
            &[
                "out_return_no",
                "return_account_type",
                "return_account",
                "return_amount",
                "description",
            ],
            BY_SHARING,
            Identity::Full,
        );
        static PS_RETURN_QUERY: Spec = sharing(
            "profitsharingreturnquery",
            "/pay/profitsharingreturnquery",
            false,
            &["out_return_no"],
            BY_SHARING,
            Identity::NoSubAppid,
        );
        static PS_ORDER_AMOUNT_QUERY: Spec = sharing(
            "profitsharingorderamountquery",
            "/pay/profitsharingorderamountquery",
            false,
            &["transaction_id"],
            &[],
            Identity::NoAppid,
        );
        // Coupons: MD5 without sign_type; no sub_appid in their tables. Sending a coupon is
        // never re-sent blindly: nothing says WeChat treats a repeated partner_trade_no as
        // the same request, so a repeat may issue a second coupon (docs/protocol.md §16.3).
        const fn coupon(
            name: &'static str,
            path: &'static str,
            cert: bool,
            required: &'static [&'static str],
            retry_safe: bool,
        ) -> Spec {
            Spec {
                signing: Signing::Md5Undeclared,
                identity: Identity::NoSubAppid,
                retry_safe,
                ..spec(name, path, cert, Reply::Signed, required, &[])
            }
        }
        static SEND_COUPON: Spec = coupon(
            "send_coupon",
            "/mmpaymkttransfers/send_coupon",
            true,
            &[
                "coupon_stock_id",
                "openid_count",
                "partner_trade_no",
                "openid",
            ],
            false,
        );
        static QUERY_COUPON_STOCK: Spec = coupon(
            "query_coupon_stock",
            "/mmpaymkttransfers/query_coupon_stock",
            false,
            &["coupon_stock_id"],
            true,
        );
        static QUERY_COUPONS_INFO: Spec = coupon(
            "querycouponsinfo",
            "/mmpaymkttransfers/querycouponsinfo",
            false,
            &["coupon_id", "openid", "stock_id"],
            true,
        );
        match self {
            Api::SendCoupon => &SEND_COUPON,
            Api::QueryCouponStock => &QUERY_COUPON_STOCK,
            Api::QueryCouponsInfo => &QUERY_COUPONS_INFO,
            Api::ProfitSharingAddReceiver => &PS_ADD_RECEIVER,
            Api::ProfitSharingRemoveReceiver => &PS_REMOVE_RECEIVER,
            Api::ProfitSharing => &PS_SINGLE,
            Api::MultiProfitSharing => &PS_MULTI,
            Api::ProfitSharingQuery => &PS_QUERY,
            Api::ProfitSharingFinish => &PS_FINISH,
            Api::ProfitSharingReturn => &PS_RETURN,
            Api::ProfitSharingReturnQuery => &PS_RETURN_QUERY,
            Api::ProfitSharingOrderAmountQuery => &PS_ORDER_AMOUNT_QUERY,
            Api::UnifiedOrder => &UNIFIED_ORDER,
            Api::OrderQuery => &ORDER_QUERY,
            Api::CloseOrder => &CLOSE_ORDER,
            Api::Refund => &REFUND,
            Api::RefundQuery => &REFUND_QUERY,
            Api::DownloadBill => &DOWNLOAD_BILL,
            Api::DownloadFundFlow => &DOWNLOAD_FUND_FLOW,
            Api::Micropay => &MICROPAY,
            Api::Reverse => &REVERSE,
            Api::ShortUrl => &SHORT_URL,
            Api::AuthCodeToOpenid => &AUTH_CODE_TO_OPENID,
            Api::Report => &REPORT,
            other => marketing::spec(other),
        }
    }

    /// The call served at `path` (with or without the leading slash), if it is a known one.
    pub fn from_path(path: &str) -> Option<Api> {
        let path = path.strip_prefix('/').unwrap_or(path);
        Api::ALL
            .into_iter()
            .find(|api| &api.spec().path[1..] == path)
    }
}

/// The type a call signs with and its answer is verified with: see [`Signing`]. (Sandbox's
/// MD5 is in [`sandbox_config`].)
pub fn sign_type_for(api: Option<Api>, config: &Config) -> SignType {
    match api.map(|a| a.spec().signing) {
        Some(Signing::Hmac | Signing::HmacOnly) => SignType::HmacSha256,
        Some(Signing::Md5Undeclared) => SignType::Md5,
        Some(Signing::Configured) | None => config.sign_type,
    }
}

/// Refuses, before anything is sent, a call the configured type cannot make
/// (docs/protocol.md §15.2).
fn check_signing(api: Api, config: &Config) -> Result<()> {
    if api.spec().signing == Signing::HmacOnly && config.sign_type != SignType::HmacSha256 {
        return Err(Error::Config(format!(
            "{} accepts only sign_type HMAC-SHA256 and this client is configured for {}: \
             use a Client configured with 'sign_type' => 'HMAC-SHA256' (the same API key)",
            api.spec().name,
            config.sign_type
        )));
    }
    Ok(())
}

/// The configuration sandbox calls are signed and verified with: the sandbox key and MD5,
/// the only type the sandbox accepts (docs/protocol.md §3.1).
pub fn sandbox_config(config: &Config, sandbox_key: &str) -> Config {
    Config {
        key: Secret::new(sandbox_key.to_owned()),
        sign_type: SignType::Md5,
        ..config.clone()
    }
}

/// A request ready to send.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Every field sent, `sign` last.
    pub fields: Fields,
    /// The XML body.
    pub body: String,
}

fn describe(api: Option<Api>) -> &'static str {
    api.map_or("request", |a| a.spec().name)
}

/// Fills the fields the merchant never chooses per call, from `config`; a caller-given value
/// must agree with the configured one.
fn fill_identity(fields: &mut Fields, config: &Config, api: Option<Api>) -> Result<()> {
    let sent = api.map_or(Identity::Full, |a| a.spec().identity);
    let identity = [
        ("appid", Some(&config.appid), sent != Identity::NoAppid),
        ("mch_id", Some(&config.mch_id), true),
        (
            "sub_appid",
            config.sub_appid.as_ref(),
            sent == Identity::Full,
        ),
        ("sub_mch_id", config.sub_mch_id.as_ref(), true),
    ];
    for (name, ours, sent) in identity {
        if !sent {
            if present(fields, name) {
                return Err(Error::InvalidArgument(format!(
                    "{name} is not a field of {}: WeChat's table has none",
                    describe(api)
                )));
            }
            continue;
        }
        let Some(ours) = ours else { continue };
        match fields.iter().find(|(k, _)| k == name) {
            None => fields.push((name.to_owned(), ours.clone())),
            Some((_, v)) if v.is_empty() || v == ours => {}
            Some((_, v)) => {
                return Err(Error::InvalidArgument(format!(
                    "{name} comes from the client config (\"{ours}\") and cannot be changed per call, \"{v}\" given"
                )));
            }
        }
    }
    let sign_type = sign_type_for(api, config);
    let declared = api.is_none_or(|a| a.spec().signing != Signing::Md5Undeclared);
    match get(fields, "sign_type") {
        None if !declared => {}
        Some(v) if !declared => {
            return Err(Error::InvalidArgument(format!(
                "sign_type is not a field of {}: it is always signed with MD5, \"{v}\" given",
                describe(api)
            )));
        }
        None => fields.push(("sign_type".into(), sign_type.as_str().into())),
        Some(v) if v == sign_type.as_str() => {}
        Some(v) => {
            return Err(Error::InvalidArgument(format!(
                "sign_type for {} must be {sign_type} (pinned by the config), \"{v}\" given",
                describe(api)
            )));
        }
    }
    if get(fields, "nonce_str").is_none_or(str::is_empty) {
        fields.retain(|(k, _)| k != "nonce_str");
        fields.push(("nonce_str".into(), fresh_nonce()?));
    }
    Ok(())
}

pub(crate) fn fresh_nonce() -> Result<String> {
    nonce().map_err(|e| Error::Config(format!("nonce_str: the OS random source failed: {e}")))
}

/// `notify_url` and `spbill_create_ip`: required by WeChat but the same on most calls.
fn fill_defaults(fields: &mut Fields, config: &Config, api: Api) {
    let payer_ip_needed = api == Api::UnifiedOrder && get(fields, "trade_type") == Some("MWEB");
    let mut default = |name: &str, value: Option<&str>| {
        if let Some(value) = value
            && get(fields, name).is_none_or(str::is_empty)
        {
            fields.retain(|(k, _)| k != name);
            fields.push((name.to_owned(), value.to_owned()));
        }
    };
    if api == Api::UnifiedOrder {
        default("notify_url", config.notify_url.as_deref());
    }
    // "目前支持num=1" (docs/protocol.md §16.1).
    if api == Api::SendCoupon {
        default("openid_count", Some("1"));
    }
    // The server's own address is the documented value for NATIVE (docs/protocol.md §3.3); a loopback
    // address is what a server that does not know its public one can say. JSAPI and APP
    // should carry the payer's address (docs/protocol.md §8), but the spec is silent on WeChat refusing
    // the server's there, and on which address micropay wants; so those keep the default.
    // MWEB is checked against the payer's real address: no default (see check_required).
    if matches!(api, Api::UnifiedOrder | Api::Micropay) && !payer_ip_needed {
        default(
            "spbill_create_ip",
            Some(config.spbill_create_ip.as_deref().unwrap_or("127.0.0.1")),
        );
    }
}

pub(crate) fn present(fields: &[(String, String)], name: &str) -> bool {
    get(fields, name).is_some_and(|v| !v.is_empty())
}

/// Required fields, one-of rules and the trade_type rules of unifiedorder (docs/protocol.md §3.3).
fn check_required(fields: &[(String, String)], api: Api, config: &Config) -> Result<()> {
    let spec = api.spec();
    // Before the generic rule, which would not say why this one has no default.
    if api == Api::UnifiedOrder
        && get(fields, "trade_type") == Some("MWEB")
        && !present(fields, "spbill_create_ip")
    {
        return Err(Error::InvalidArgument(
            "spbill_create_ip is required when trade_type is MWEB: WeChat checks it against the payer's real IP; pass the browser's address".into(),
        ));
    }
    if let Some(missing) = spec.required.iter().find(|n| !present(fields, n)) {
        return Err(Error::InvalidArgument(format!(
            "{missing} is required by {}",
            spec.name
        )));
    }
    if !spec.one_of.is_empty() && !spec.one_of.iter().any(|n| present(fields, n)) {
        return Err(Error::InvalidArgument(format!(
            "{} requires one of {}",
            spec.name,
            spec.one_of.join(", ")
        )));
    }
    if api == Api::UnifiedOrder {
        let needs: &[&str] = match get(fields, "trade_type").unwrap_or_default() {
            "JSAPI" => &["openid", "sub_openid"],
            "NATIVE" => &["product_id"],
            "MWEB" => &["scene_info"],
            _ => &[],
        };
        if !needs.is_empty() && !needs.iter().any(|n| present(fields, n)) {
            return Err(Error::InvalidArgument(format!(
                "{} is required when trade_type is {}",
                needs.join(" or "),
                get(fields, "trade_type").unwrap_or_default()
            )));
        }
    }
    // A sub_openid belongs to the sub-merchant's appid, so WeChat needs that appid too.
    if present(fields, "sub_openid") && !present(fields, "sub_appid") && config.sub_appid.is_none()
    {
        return Err(Error::InvalidArgument(
            "sub_openid needs sub_appid (in the config or the call)".into(),
        ));
    }
    Ok(())
}

fn refuse_duplicates_and_sign(params: &[(String, String)]) -> Result<()> {
    for (i, (name, _)) in params.iter().enumerate() {
        if name == "sign" {
            return Err(Error::InvalidArgument(sign::SIGN_GIVEN.into()));
        }
        if params[..i].iter().any(|(k, _)| k == name) {
            return Err(Error::InvalidArgument(format!(
                "{name} is given more than once"
            )));
        }
    }
    Ok(())
}

/// Signs `fields` with `key` and `sign_type`, appends `sign` and encodes the XML body.
fn seal(mut fields: Fields, key: &str, sign_type: SignType) -> Result<Prepared> {
    // Encode first: it refuses names and values that XML cannot carry unchanged.
    xml::encode(&fields).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let signature = sign::sign(&fields, key, sign_type);
    fields.push(("sign".into(), signature.as_str().to_owned()));
    let body = xml::encode(&fields).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(Prepared { fields, body })
}

/// Prepares a call: the caller's fields, then the identity fields, `sign_type`, `nonce_str`
/// and the call's defaults; validates everything; signs. `api` is `None` for an endpoint
/// this table does not know (only the common fields are filled and checked).
pub fn prepare(api: Option<Api>, config: &Config, params: Fields) -> Result<Prepared> {
    refuse_duplicates_and_sign(&params)?;
    if let Some(api) = api {
        check_signing(api, config)?;
        if api.spec().identity.is_marketing() {
            if api == Api::PayBank {
                return Err(Error::InvalidArgument(
                    "pay_bank carries the card number and name encrypted with WeChat's RSA key: \
                     prepare it with prepare_pay_bank"
                        .into(),
                ));
            }
            let fields = marketing::fill_and_check(api, config, params)?;
            return seal(fields, config.key.expose(), SignType::Md5);
        }
    }
    let mut fields = params;
    fill_identity(&mut fields, config, api)?;
    if let Some(api) = api {
        fill_defaults(&mut fields, config, api);
        check_required(&fields, api, config)?;
        profitsharing::check(api, &fields)?;
    }
    params::check_all(&fields)?;
    seal(fields, config.key.expose(), sign_type_for(api, config))
}

/// Checks every pay_bank field as [`prepare_pay_bank`] does, without the key: so that a bad
/// field is refused before the key is fetched.
pub fn check_pay_bank(config: &Config, params: &Fields) -> Result<()> {
    refuse_duplicates_and_sign(params)?;
    marketing::fill_and_check(Api::PayBank, config, params.clone()).map(drop)
}

/// Prepares pay_bank (docs/protocol.md §12.4): checks every field with the card number and
/// name in the clear, then encrypts those two with `key` and signs.
pub fn prepare_pay_bank(
    config: &Config,
    params: Fields,
    key: &marketing::RiskKey,
) -> Result<Prepared> {
    refuse_duplicates_and_sign(&params)?;
    let fields = marketing::fill_and_check(Api::PayBank, config, params)?;
    seal(
        marketing::encrypt_bank_card(fields, key)?,
        config.key.expose(),
        SignType::Md5,
    )
}

/// The sandbox key request (docs/protocol.md §3.8): `mch_id` and `nonce_str`, MD5-signed with the
/// production key, whatever the configured type.
pub fn prepare_sandbox_key(config: &Config) -> Result<Prepared> {
    let fields = vec![
        ("mch_id".to_owned(), config.mch_id.clone()),
        ("nonce_str".to_owned(), fresh_nonce()?),
    ];
    seal(fields, config.key.expose(), SignType::Md5)
}

/// Reads the sandbox key from a getsignkey answer (unsigned by design).
pub fn sandbox_key(body: &[u8], config: &Config) -> Result<String> {
    let fields = check_return_code(decode(body)?)?;
    if let Some(mch_id) = get(&fields, "mch_id")
        && mch_id != config.mch_id
    {
        return Err(Error::Signature(format!(
            "getsignkey response is for mch_id \"{mch_id}\", this client is configured for \"{}\"",
            config.mch_id
        )));
    }
    match get(&fields, "sandbox_signkey") {
        Some(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => Err(Error::Config(
            "sandbox: getsignkey answered SUCCESS without sandbox_signkey".into(),
        )),
    }
}

pub(crate) fn decode(body: &[u8]) -> Result<Fields> {
    Ok(xml::into_owned(xml::decode(body)?))
}

fn check_return_code(fields: Fields) -> Result<Fields> {
    if get(&fields, "return_code") == Some("SUCCESS") {
        Ok(fields)
    } else {
        Err(ApiError::from_fields(fields).into())
    }
}

fn check_result_code(fields: Fields) -> Result<Fields> {
    match get(&fields, "result_code") {
        Some("SUCCESS") => Ok(fields),
        _ => Err(ApiError::from_fields(fields).into()),
    }
}

/// Classifies an XML response (docs/protocol.md §4.1): `return_code` FAIL is an [`Error::Api`]
/// (unsigned is allowed there); otherwise a signed reply must carry a valid signature (pinned type)
/// and our `appid`/`mch_id`, else [`Error::Signature`]; then `result_code` FAIL is an
/// [`Error::Api`]. Bills are read with [`bill_body`] instead.
pub fn classify(api: Option<Api>, body: &[u8], config: &Config) -> Result<Fields> {
    let reply = api.map_or(Reply::Signed, |a| a.spec().reply);
    let fields = match api {
        Some(Api::RedpackInfo) => marketing::decode_redpack_info(body)?,
        _ => decode(body)?,
    };
    let fields = check_return_code(fields)?;
    let what = format!("{} response", describe(api));
    match reply {
        Reply::Signed => {
            notify::check_sign_as(&fields, config, sign_type_for(api, config), &what)?;
            let all = api.is_none_or(|a| a.spec().identity != Identity::NoAppid);
            notify::check_merchant_ids(&fields, config, &what, all)?;
            check_result_code(fields)
        }
        Reply::Unsigned | Reply::SignedWhenPresent => {
            if reply == Reply::SignedWhenPresent && get(&fields, "sign").is_some() {
                sign::verify(&fields, config.key.expose(), sign_type_for(api, config))
                    .map_err(|e| Error::Signature(format!("{what}: {e}")))?;
            }
            if let Some(api) = api {
                marketing::check_identity_if_present(&fields, api.spec().identity, config, &what)?;
            }
            // report answers result_code; an unsigned answer without one has nothing to refuse.
            if get(&fields, "result_code").is_none() {
                Ok(fields)
            } else {
                check_result_code(fields)
            }
        }
        Reply::Bill => Err(Error::InvalidArgument(format!(
            "{} returns a bill: use download",
            describe(api)
        ))),
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Reads a bill response: gzip is inflated (to at most `max` bytes, the config's
/// `bill_max_bytes`), an `<xml>` body is WeChat's unsigned failure answer and becomes
/// [`Error::Api`] (its `error_code` is the err_code), anything else is the bill text itself.
pub fn bill_body(body: Vec<u8>, max: usize) -> Result<Vec<u8>> {
    if body.starts_with(GZIP_MAGIC) {
        return gunzip(&body, max);
    }
    let start = body.trim_ascii_start();
    if start.starts_with(b"<xml") {
        let fields = decode(start)?;
        return Err(match get(&fields, "return_code") {
            Some("SUCCESS") => Error::Http(HttpError {
                message: "bill download answered SUCCESS XML instead of a bill".into(),
                ..HttpError::default()
            }),
            _ => ApiError::from_fields(fields).into(),
        });
    }
    // An HTML error page from a proxy or gateway is no bill (gopay does the same).
    if start.starts_with(b"<") || start.is_empty() {
        return Err(Error::Http(HttpError {
            message: format!(
                "bill download answered {} instead of a bill",
                if start.is_empty() {
                    "an empty body"
                } else {
                    "markup"
                }
            ),
            ..HttpError::default()
        }));
    }
    Ok(body)
}

fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let limit = max as u64 + 1;
    let read = flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out);
    let fail = |message: String| {
        Error::Http(HttpError {
            message,
            ..HttpError::default()
        })
    };
    match read {
        Err(e) => Err(fail(format!(
            "bill download: the gzip body is corrupt: {e}"
        ))),
        Ok(n) if n as u64 >= limit => Err(fail(format!(
            "bill download: the bill inflates to more than bill_max_bytes ({max} bytes)"
        ))),
        Ok(_) => Ok(out),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Value;

    pub(crate) const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    pub(crate) fn config(extra: &[(&str, &str)]) -> Config {
        let mut entries = vec![
            ("appid".to_owned(), Value::Str("wxd930ea5d5a258f4f".into())),
            ("mch_id".to_owned(), Value::Str("10000100".into())),
            ("key".to_owned(), Value::Str(KEY.into())),
        ];
        entries.extend(
            extra
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Str(v.to_string()))),
        );
        Config::from_entries(entries).unwrap()
    }

    pub(crate) fn f(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn order(extra: &[(&str, &str)]) -> Fields {
        let mut p = f(&[
            ("body", "shop-goods"),
            ("out_trade_no", "A1001"),
            ("total_fee", "88"),
            ("trade_type", "NATIVE"),
            ("product_id", "sku-1"),
        ]);
        p.extend(f(extra));
        p
    }

    fn invalid(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn table_is_complete_and_consistent() {
        for api in Api::ALL {
            let spec = api.spec();
            assert_eq!(Api::from_path(spec.path), Some(api));
            assert!(spec.path.ends_with(spec.name));
            assert_eq!(
                spec.retry_safe,
                !matches!(api, Api::Micropay | Api::SendCoupon)
            );
            // Every /secapi/ and marketing call needs the certificate (docs/protocol.md
            // §12.1), and only these two besides.
            assert_eq!(
                spec.cert,
                spec.path.starts_with("/secapi/")
                    || spec.identity.is_marketing()
                    || matches!(api, Api::DownloadFundFlow | Api::SendCoupon),
                "{api:?}"
            );
        }
        assert_eq!(Api::from_path("secapi/pay/refund"), Some(Api::Refund));
        let certs: Vec<_> = Api::ALL
            .into_iter()
            .filter(|a| a.spec().cert && !a.spec().identity.is_marketing())
            .collect();
        assert_eq!(
            certs,
            [
                Api::Refund,
                Api::DownloadFundFlow,
                Api::Reverse,
                Api::ProfitSharing,
                Api::MultiProfitSharing,
                Api::ProfitSharingFinish,
                Api::ProfitSharingReturn,
                Api::SendCoupon
            ]
        );
    }

    #[test]
    fn prepare_fills_defaults_and_signs() {
        let c = config(&[
            ("notify_url", "https://shop.example/n"),
            ("sign_type", "HMAC-SHA256"),
        ]);
        let p = prepare(Some(Api::UnifiedOrder), &c, order(&[])).unwrap();
        for (k, v) in [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("sign_type", "HMAC-SHA256"),
            ("notify_url", "https://shop.example/n"),
            ("spbill_create_ip", "127.0.0.1"),
        ] {
            assert_eq!(get(&p.fields, k), Some(v), "{k}");
        }
        assert_eq!(get(&p.fields, "nonce_str").unwrap().len(), 32);
        assert_eq!(p.fields.last().unwrap().0, "sign");
        sign::verify(&p.fields, KEY, SignType::HmacSha256).unwrap();
        // The body carries exactly the signed fields.
        let sent = xml::into_owned(xml::decode(p.body.as_bytes()).unwrap());
        assert_eq!(sent, p.fields);
        assert!(get(&p.fields, "sub_mch_id").is_none());
    }

    #[test]
    fn prepare_provider_mode_and_caller_values() {
        let c = config(&[
            ("sub_mch_id", "1900000109"),
            ("sub_appid", "wxsub"),
            ("spbill_create_ip", "10.0.0.1"),
            ("notify_url", "https://shop.example/n"),
        ]);
        let p = prepare(
            Some(Api::UnifiedOrder),
            &c,
            order(&[("nonce_str", "fixed"), ("spbill_create_ip", "203.0.113.9")]),
        )
        .unwrap();
        assert_eq!(get(&p.fields, "sub_mch_id"), Some("1900000109"));
        assert_eq!(get(&p.fields, "sub_appid"), Some("wxsub"));
        assert_eq!(get(&p.fields, "nonce_str"), Some("fixed"));
        assert_eq!(get(&p.fields, "spbill_create_ip"), Some("203.0.113.9"));
        sign::verify(&p.fields, KEY, SignType::Md5).unwrap();
        let q = prepare(
            Some(Api::Micropay),
            &c,
            f(&[
                ("body", "b"),
                ("out_trade_no", "M1"),
                ("total_fee", "1"),
                ("auth_code", "134567890123456789"),
            ]),
        )
        .unwrap();
        assert_eq!(get(&q.fields, "spbill_create_ip"), Some("10.0.0.1"));
        assert!(get(&q.fields, "notify_url").is_none());
    }

    #[test]
    fn prepare_refusals() {
        let no_url = config(&[]);
        assert_eq!(
            invalid(prepare(Some(Api::UnifiedOrder), &no_url, order(&[]))),
            "notify_url is required by unifiedorder"
        );
        let c = config(&[("notify_url", "https://shop.example/n")]);
        let unified = |trade_type: &str, extra: &[(&str, &str)]| {
            let mut p = f(&[("body", "b"), ("out_trade_no", "A1"), ("total_fee", "1")]);
            p.push(("trade_type".into(), trade_type.into()));
            p.extend(f(extra));
            p
        };
        let query = |extra: &[(&str, &str)]| {
            let mut p = f(&[("out_trade_no", "A1")]);
            p.extend(f(extra));
            p
        };
        let cases: Vec<(Api, Fields, &str)> = vec![
            (
                Api::UnifiedOrder,
                unified("JSAPI", &[]),
                "openid or sub_openid is required when trade_type is JSAPI",
            ),
            (
                Api::UnifiedOrder,
                unified("MWEB", &[("spbill_create_ip", "203.0.113.9")]),
                "scene_info is required when trade_type is MWEB",
            ),
            (
                Api::UnifiedOrder,
                unified("MWEB", &[("scene_info", "{}")]),
                "spbill_create_ip is required when trade_type is MWEB: WeChat checks it against the payer's real IP; pass the browser's address",
            ),
            (
                Api::UnifiedOrder,
                unified("NATIVE", &[]),
                "product_id is required when trade_type is NATIVE",
            ),
            (
                Api::UnifiedOrder,
                unified("JSAPI", &[("sub_openid", "o1")]),
                "sub_openid needs sub_appid",
            ),
            (
                Api::UnifiedOrder,
                order(&[("total_fee", "1")]),
                "total_fee is given more than once",
            ),
            (
                Api::OrderQuery,
                vec![],
                "orderquery requires one of transaction_id, out_trade_no",
            ),
            (Api::OrderQuery, query(&[("sign", "X")]), "sign is computed"),
            (
                Api::OrderQuery,
                query(&[("mch_id", "999")]),
                "mch_id comes from the client config",
            ),
            (
                Api::OrderQuery,
                query(&[("sign_type", "HMAC-SHA256")]),
                "sign_type for orderquery must be MD5",
            ),
            (
                Api::OrderQuery,
                f(&[("out_trade_no", "A 1")]),
                "out_trade_no must be",
            ),
            (
                Api::OrderQuery,
                query(&[("bad name", "x")]),
                "field name \"bad name\" is not allowed",
            ),
        ];
        for (api, params, expected) in cases {
            let m = invalid(prepare(Some(api), &c, params));
            assert!(m.starts_with(expected), "{m}");
        }
    }

    #[test]
    fn only_mweb_needs_the_payers_ip() {
        // The configured address is the server's: never the payer's.
        let c = config(&[
            ("notify_url", "https://shop.example/n"),
            ("spbill_create_ip", "10.0.0.1"),
        ]);
        let mweb = |extra: &[(&str, &str)]| {
            let mut p = f(&[
                ("body", "b"),
                ("out_trade_no", "H1"),
                ("total_fee", "1"),
                ("trade_type", "MWEB"),
                ("scene_info", r#"{"h5_info":{"type":"Wap"}}"#),
            ]);
            p.extend(f(extra));
            p
        };
        for refused in [mweb(&[]), mweb(&[("spbill_create_ip", "")])] {
            let m = invalid(prepare(Some(Api::UnifiedOrder), &c, refused));
            assert!(
                m.starts_with("spbill_create_ip is required when trade_type is MWEB"),
                "{m}"
            );
        }
        let payer = [("spbill_create_ip", "203.0.113.9")];
        for (trade_type, given, sent) in [
            ("MWEB", &payer[..], "203.0.113.9"),
            ("NATIVE", &[], "10.0.0.1"),
            ("JSAPI", &[], "10.0.0.1"),
            ("APP", &[], "10.0.0.1"),
        ] {
            let mut params = mweb(given);
            params.retain(|(k, _)| k != "trade_type");
            params.extend(f(&[
                ("trade_type", trade_type),
                ("openid", "o1"),
                ("product_id", "p1"),
            ]));
            let p = prepare(Some(Api::UnifiedOrder), &c, params).unwrap();
            assert_eq!(
                get(&p.fields, "spbill_create_ip"),
                Some(sent),
                "{trade_type}"
            );
        }
    }

    #[test]
    fn fund_flow_forces_hmac_and_sandbox_forces_md5() {
        let c = config(&[]);
        let p = prepare(
            Some(Api::DownloadFundFlow),
            &c,
            f(&[("bill_date", "20240101"), ("account_type", "Basic")]),
        )
        .unwrap();
        assert_eq!(get(&p.fields, "sign_type"), Some("HMAC-SHA256"));
        sign::verify(&p.fields, KEY, SignType::HmacSha256).unwrap();
        let hmac = config(&[("sign_type", "HMAC-SHA256")]);
        let sandbox = sandbox_config(&hmac, "sandbox-key");
        let p = prepare(
            Some(Api::OrderQuery),
            &sandbox,
            f(&[("out_trade_no", "A1")]),
        )
        .unwrap();
        assert_eq!(get(&p.fields, "sign_type"), Some("MD5"));
        sign::verify(&p.fields, "sandbox-key", SignType::Md5).unwrap();
        let k = prepare_sandbox_key(&hmac).unwrap();
        assert_eq!(
            k.fields.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["mch_id", "nonce_str", "sign"]
        );
        sign::verify(&k.fields, KEY, SignType::Md5).unwrap();
    }

    fn signed(fields: &[(&str, &str)], key: &str, t: SignType) -> Vec<u8> {
        let mut fields = f(fields);
        let s = sign::sign(&fields, key, t);
        fields.push(("sign".into(), s.as_str().into()));
        xml::encode(&fields).unwrap().into_bytes()
    }

    const OK: &[(&str, &str)] = &[
        ("return_code", "SUCCESS"),
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("nonce_str", "n"),
        ("result_code", "SUCCESS"),
        ("trade_state", "NOTPAY"),
    ];

    #[test]
    fn classify_success_and_failures() {
        let c = config(&[]);
        let fields = classify(Some(Api::OrderQuery), &signed(OK, KEY, SignType::Md5), &c).unwrap();
        assert_eq!(get(&fields, "trade_state"), Some("NOTPAY"));

        // return_code FAIL: unsigned is fine, becomes Api.
        let fail = b"<xml><return_code>FAIL</return_code><return_msg>bad</return_msg></xml>";
        match classify(Some(Api::OrderQuery), fail, &c) {
            Err(Error::Api(e)) => assert_eq!(e.return_msg, "bad"),
            other => panic!("{other:?}"),
        }
        // Missing sign, bad sign, wrong algorithm, foreign appid: Signature.
        let sig = |body: &[u8]| match classify(Some(Api::OrderQuery), body, &c) {
            Err(Error::Signature(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(sig(&xml::encode(&f(OK)).unwrap().into_bytes()).contains("no sign"));
        assert!(sig(&signed(OK, "wrong-key", SignType::Md5)).contains("does not match"));
        assert!(sig(&signed(OK, KEY, SignType::HmacSha256)).contains("64 characters"));
        let mut foreign = OK.to_vec();
        foreign[1] = ("appid", "wxother");
        assert!(sig(&signed(&foreign, KEY, SignType::Md5)).contains("appid \"wxother\""));
        // result_code FAIL after a valid signature: Api, retryable per err_code.
        let mut busy = OK.to_vec();
        busy[4] = ("result_code", "FAIL");
        busy.push(("err_code", "SYSTEMERROR"));
        match classify(
            Some(Api::OrderQuery),
            &signed(&busy, KEY, SignType::Md5),
            &c,
        ) {
            Err(Error::Api(e)) => assert!(e.is_retryable() && e.err_code == "SYSTEMERROR"),
            other => panic!("{other:?}"),
        }
        // Not XML at all.
        assert!(matches!(
            classify(Some(Api::OrderQuery), b"<html>502</html>", &c),
            Err(Error::Xml(_))
        ));
        // Report is unsigned.
        classify(
            Some(Api::Report),
            b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></xml>",
            &c,
        )
        .unwrap();
    }

    #[test]
    fn sandbox_key_answer() {
        let c = config(&[]);
        let body = b"<xml><return_code>SUCCESS</return_code><mch_id>10000100</mch_id><sandbox_signkey>SBKEY</sandbox_signkey></xml>";
        assert_eq!(sandbox_key(body, &c).unwrap(), "SBKEY");
        assert!(matches!(
            sandbox_key(b"<xml><return_code>FAIL</return_code></xml>", &c),
            Err(Error::Api(_))
        ));
    }

    const SHARING: &[Api] = &[
        Api::ProfitSharingAddReceiver,
        Api::ProfitSharingRemoveReceiver,
        Api::ProfitSharing,
        Api::MultiProfitSharing,
        Api::ProfitSharingQuery,
        Api::ProfitSharingFinish,
        Api::ProfitSharingReturn,
        Api::ProfitSharingReturnQuery,
        Api::ProfitSharingOrderAmountQuery,
    ];

    /// Valid parameters for each profit sharing call.
    fn sharing_params(api: Api) -> Fields {
        let receiver = r#"{"type":"PERSONAL_OPENID","account":"o1","relation_type":"STORE"}"#;
        let receivers =
            r#"[{"type":"PERSONAL_OPENID","account":"o1","amount":10,"description":"d"}]"#;
        let by_order = [("transaction_id", "4200000001"), ("out_order_no", "P1")];
        f(&match api {
            Api::ProfitSharingAddReceiver | Api::ProfitSharingRemoveReceiver => {
                vec![("receiver", receiver)]
            }
            Api::ProfitSharing | Api::MultiProfitSharing => {
                [&by_order[..], &[("receivers", receivers)]].concat()
            }
            Api::ProfitSharingQuery => by_order.to_vec(),
            Api::ProfitSharingFinish => [&by_order[..], &[("description", "done")]].concat(),
            Api::ProfitSharingReturn => vec![
                ("out_order_no", "P1"),
                ("out_return_no", "R1"),
                ("return_account_type", "MERCHANT_ID"),
                ("return_account", "190001001"),
                ("return_amount", "5"),
                ("description", "back"),
            ],
            Api::ProfitSharingReturnQuery => vec![("out_order_no", "P1"), ("out_return_no", "R1")],
            Api::ProfitSharingOrderAmountQuery => vec![("transaction_id", "4200000001")],
            other => panic!("{other:?} is no sharing call"),
        })
    }

    #[test]
    fn profit_sharing_is_hmac_only_and_refused_for_md5_before_sending() {
        let md5 = config(&[]);
        let hmac = config(&[("sign_type", "HMAC-SHA256")]);
        for &api in SHARING {
            match prepare(Some(api), &md5, sharing_params(api)) {
                Err(Error::Config(m)) => assert_eq!(
                    m,
                    format!(
                        "{} accepts only sign_type HMAC-SHA256 and this client is configured for MD5: use a Client configured with 'sign_type' => 'HMAC-SHA256' (the same API key)",
                        api.spec().name
                    )
                ),
                other => panic!("{api:?}: {other:?}"),
            }
            let p = prepare(Some(api), &hmac, sharing_params(api)).unwrap();
            assert_eq!(get(&p.fields, "sign_type"), Some("HMAC-SHA256"));
            sign::verify(&p.fields, KEY, SignType::HmacSha256).unwrap();
            // A per-call MD5 is refused too.
            let mut params = sharing_params(api);
            params.push(("sign_type".into(), "MD5".into()));
            assert!(
                invalid(prepare(Some(api), &hmac, params)).starts_with(&format!(
                    "sign_type for {} must be HMAC-SHA256",
                    api.spec().name
                ))
            );
        }
    }

    #[test]
    fn profit_sharing_identity_fields_follow_each_table() {
        let provider = config(&[
            ("sign_type", "HMAC-SHA256"),
            ("sub_mch_id", "1900000109"),
            ("sub_appid", "wxsub"),
        ]);
        for &api in SHARING {
            let p = prepare(Some(api), &provider, sharing_params(api)).unwrap();
            let has = |name| get(&p.fields, name).is_some();
            let (appid, sub_appid) = match api {
                Api::ProfitSharingQuery | Api::ProfitSharingOrderAmountQuery => (false, false),
                Api::ProfitSharingFinish | Api::ProfitSharingReturnQuery => (true, false),
                _ => (true, true),
            };
            assert_eq!(
                (has("appid"), has("sub_appid")),
                (appid, sub_appid),
                "{api:?}"
            );
            assert!(has("mch_id") && has("sub_mch_id"), "{api:?}");
        }
        let mut query = sharing_params(Api::ProfitSharingQuery);
        query.push(("appid".into(), "wxd930ea5d5a258f4f".into()));
        assert_eq!(
            invalid(prepare(Some(Api::ProfitSharingQuery), &provider, query)),
            "appid is not a field of profitsharingquery: WeChat's table has none"
        );
    }

    #[test]
    fn profit_sharing_parameters_are_checked_before_sending() {
        let c = config(&[("sign_type", "HMAC-SHA256")]);
        let with = |api: Api, name: &str, value: &str| {
            let mut p = sharing_params(api);
            p.retain(|(k, _)| k != name);
            p.push((name.to_owned(), value.to_owned()));
            invalid(prepare(Some(api), &c, p))
        };
        assert_eq!(
            with(
                Api::ProfitSharing,
                "receivers",
                r#"[{"type":"PERSONAL_OPENID","account":"o1","amount":1.5,"description":"d"}]"#
            ),
            "receivers[0].amount must be a positive whole number of fen (a JSON integer), 1.5 given"
        );
        assert!(
            with(
                Api::ProfitSharingAddReceiver,
                "receiver",
                r#"{"type":"MERCHANT_ID","account":"1","relation_type":"STORE"}"#
            )
            .starts_with("receiver.name is required for a MERCHANT_ID receiver")
        );
        assert!(
            with(Api::MultiProfitSharing, "out_order_no", "P 1")
                .starts_with("out_order_no must be 1 to 64")
        );
        assert!(
            with(Api::ProfitSharingReturn, "return_amount", "0")
                .starts_with("return_amount must be a positive whole number of fen")
        );
        assert!(
            with(Api::ProfitSharingFinish, "description", &"d".repeat(81))
                .starts_with("description must be at most 80 bytes")
        );
        let mut no_order = sharing_params(Api::ProfitSharingReturn);
        no_order.retain(|(k, _)| k != "out_order_no");
        assert_eq!(
            invalid(prepare(Some(Api::ProfitSharingReturn), &c, no_order)),
            "profitsharingreturn requires one of order_id, out_order_no"
        );
        let mut no_receivers = sharing_params(Api::ProfitSharing);
        no_receivers.retain(|(k, _)| k != "receivers");
        assert_eq!(
            invalid(prepare(Some(Api::ProfitSharing), &c, no_receivers)),
            "receivers is required by profitsharing"
        );
    }

    #[test]
    fn profit_sharing_answers_are_verified_with_hmac_and_the_merchant_ids_they_carry() {
        let c = config(&[("sign_type", "HMAC-SHA256")]);
        // orderamountquery answers without appid (docs/protocol.md §15.2).
        let amount = [
            ("return_code", "SUCCESS"),
            ("mch_id", "10000100"),
            ("nonce_str", "n"),
            ("transaction_id", "4200000001"),
            ("unsplit_amount", "70"),
            ("result_code", "SUCCESS"),
        ];
        let api = Some(Api::ProfitSharingOrderAmountQuery);
        let fields = classify(api, &signed(&amount, KEY, SignType::HmacSha256), &c).unwrap();
        assert_eq!(get(&fields, "unsplit_amount"), Some("70"));
        let sig = |body: &[u8], api| match classify(api, body, &c) {
            Err(Error::Signature(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            sig(&signed(&amount, KEY, SignType::Md5), api)
                .contains("HMAC-SHA256 signatures have 64")
        );
        let mut foreign = amount.to_vec();
        foreign.push(("appid", "wxother"));
        assert!(
            sig(&signed(&foreign, KEY, SignType::HmacSha256), api).contains("appid \"wxother\"")
        );
        let no_mch: Vec<_> = amount
            .iter()
            .filter(|(k, _)| *k != "mch_id")
            .copied()
            .collect();
        assert!(sig(&signed(&no_mch, KEY, SignType::HmacSha256), api).ends_with("has no mch_id"));
        // A call that sends appid needs it back.
        assert!(
            sig(
                &signed(&amount, KEY, SignType::HmacSha256),
                Some(Api::ProfitSharing)
            )
            .ends_with("profitsharing response has no appid")
        );
    }

    #[test]
    fn coupons_are_md5_without_sign_type_for_any_client() {
        for sign_type in ["MD5", "HMAC-SHA256"] {
            let c = config(&[("sign_type", sign_type), ("sub_appid", "wxsub")]);
            let p = prepare(
                Some(Api::SendCoupon),
                &c,
                f(&[
                    ("coupon_stock_id", "1757"),
                    ("partner_trade_no", "1000009820141203515766"),
                    ("openid", "o1"),
                ]),
            )
            .unwrap();
            assert_eq!(get(&p.fields, "sign_type"), None, "{sign_type}");
            assert_eq!(get(&p.fields, "openid_count"), Some("1"));
            assert_eq!(get(&p.fields, "sub_appid"), None);
            assert_eq!(get(&p.fields, "sign").unwrap().len(), 32);
            sign::verify(&p.fields, KEY, SignType::Md5).unwrap();
            // The answer is verified with MD5 too.
            let answer = [
                ("return_code", "SUCCESS"),
                ("appid", "wxd930ea5d5a258f4f"),
                ("mch_id", "10000100"),
                ("nonce_str", "n"),
                ("result_code", "SUCCESS"),
                ("coupon_stock_id", "1757"),
                ("coupon_value", "5"),
            ];
            let fields = classify(
                Some(Api::QueryCouponStock),
                &signed(&answer, KEY, SignType::Md5),
                &c,
            )
            .unwrap();
            assert_eq!(get(&fields, "coupon_value"), Some("5"));
            assert!(matches!(
                classify(
                    Some(Api::QueryCouponStock),
                    &signed(&answer, KEY, SignType::HmacSha256),
                    &c
                ),
                Err(Error::Signature(_))
            ));
        }
        let c = config(&[("sign_type", "HMAC-SHA256")]);
        let refused = [
            (
                Api::QueryCouponStock,
                f(&[("coupon_stock_id", "1757"), ("sign_type", "MD5")]),
                "sign_type is not a field of query_coupon_stock: it is always signed with MD5, \"MD5\" given",
            ),
            (
                Api::SendCoupon,
                f(&[
                    ("coupon_stock_id", "1757"),
                    ("partner_trade_no", "P1"),
                    ("openid", "o1"),
                    ("openid_count", "2"),
                ]),
                "openid_count must be one of 1, \"2\" given",
            ),
            (
                Api::QueryCouponsInfo,
                f(&[("coupon_id", "1442"), ("openid", "o1")]),
                "stock_id is required by querycouponsinfo",
            ),
        ];
        for (api, params, expected) in refused {
            assert_eq!(invalid(prepare(Some(api), &c, params)), expected);
        }
    }

    #[test]
    fn bill_bodies() {
        const MAX: usize = 1 << 20;
        let text = "交易时间,商户号\r\n`2024-01-01 00:00:00,`10000100\r\n"
            .as_bytes()
            .to_vec();
        assert_eq!(bill_body(text.clone(), MAX).unwrap(), text);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &text).unwrap();
        assert_eq!(bill_body(gz.finish().unwrap(), MAX).unwrap(), text);
        let fail = b"<xml><return_code>FAIL</return_code><return_msg>No Bill Exist</return_msg><error_code>20002</error_code></xml>";
        match bill_body(fail.to_vec(), MAX) {
            Err(Error::Api(e)) => assert_eq!(
                (e.err_code.as_str(), e.return_msg.as_str()),
                ("20002", "No Bill Exist")
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            bill_body(b"<html>x</html>".to_vec(), MAX),
            Err(Error::Http(_))
        ));
        assert!(matches!(
            bill_body(vec![0x1f, 0x8b, 0, 1], MAX),
            Err(Error::Http(_))
        ));
        assert!(matches!(bill_body(Vec::new(), MAX), Err(Error::Http(_))));
    }

    /// A gzip body is inflated up to `max` bytes and no further: a bill of exactly `max`
    /// passes, one byte more (a few KiB compressed) is refused, naming the setting.
    #[test]
    fn inflated_bills_stop_at_the_limit() {
        let gzip = |len: usize| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, &vec![b'`'; len]).unwrap();
            gz.finish().unwrap()
        };
        let max = 1 << 20;
        assert_eq!(bill_body(gzip(max), max).unwrap().len(), max);
        let over = gzip(max + 1);
        assert!(over.len() < 8 << 10, "{}", over.len());
        match bill_body(over, max) {
            Err(Error::Http(e)) => assert_eq!(
                e.message,
                "bill download: the bill inflates to more than bill_max_bytes (1048576 bytes)"
            ),
            other => panic!("{other:?}"),
        }
    }
}
