//! The v2 request pipeline shared by every API: routing, validation in WeChat's order,
//! and the encoding (and signing) of answers.
//!
//! Validation order, first failure wins:
//! 1. client certificate (TLS, cert APIs only) · 2. POST · 3. non-empty body · 4. UTF-8 ·
//! 5. strict flat XML · 6. required fields · 7. `sign_type` value · 8. signature ·
//! 9. `appid`/`mch_id` · 10. injected `SYSTEMERROR` · 11. the API's own checks.
//!
//! Steps 1–8 answer `return_code=FAIL` with only `return_msg` (WeChat's wording), because the
//! request cannot be trusted yet; later failures are signed `result_code=FAIL` answers.
//!
//! The marketing APIs (red packets, transfers, bank cards, the RSA key: docs/protocol.md §12)
//! differ: their merchant fields have other names, `sign_type` is neither required nor signed
//! (except on getpublickey), the signature covers only their documented fields, every
//! failure is a `result_code=FAIL` answer with an err_code, and answers are unsigned (pay_bank's
//! carries an MD5 sign).

use crate::app::App;
use crate::faults::FaultAction;
use crate::state::Env;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use wxpay_core::{SignType, sign, xml};

pub type Fields = Vec<(String, String)>;

/// One field, for building answers.
pub fn kv(name: &str, value: impl ToString) -> (String, String) {
    (name.to_owned(), value.to_string())
}

/// The mock's own table of APIs, kept apart from the client's in wxpay-core on purpose: a
/// simulator that shared the client's idea of required fields could not catch its mistakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    GetSignKey,
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

impl Api {
    /// Maps a path (without the leading `/` and `sandboxnew/`) to an API. The sandbox also
    /// answers refund and reverse without `secapi/`, as SDKs disagree on those paths.
    pub fn route(env: Env, path: &str) -> Option<Self> {
        use Api::*;
        Some(match (env, path) {
            (_, "pay/unifiedorder") => UnifiedOrder,
            (_, "pay/orderquery") => OrderQuery,
            (_, "pay/closeorder") => CloseOrder,
            (_, "secapi/pay/refund") | (Env::Sandbox, "pay/refund") => Refund,
            (_, "pay/refundquery") => RefundQuery,
            (_, "pay/downloadbill") => DownloadBill,
            (_, "pay/downloadfundflow") => DownloadFundFlow,
            (_, "pay/micropay") => Micropay,
            (_, "secapi/pay/reverse") | (Env::Sandbox, "pay/reverse") => Reverse,
            (_, "tools/shorturl") => ShortUrl,
            (_, "tools/authcodetoopenid") => AuthCodeToOpenid,
            (_, "payitil/report") => Report,
            (Env::Sandbox, "pay/getsignkey") => GetSignKey,
            // The sandbox has no marketing APIs.
            (Env::Prod, "mmpaymkttransfers/sendredpack") => SendRedpack,
            (Env::Prod, "mmpaymkttransfers/sendgroupredpack") => SendGroupRedpack,
            (Env::Prod, "mmpaymkttransfers/gethbinfo") => RedpackInfo,
            (Env::Prod, "mmpaymkttransfers/promotion/transfers") => Transfer,
            (Env::Prod, "mmpaymkttransfers/gettransferinfo") => TransferInfo,
            (Env::Prod, "mmpaysptrans/pay_bank") => PayBank,
            (Env::Prod, "mmpaysptrans/query_bank") => QueryBank,
            (Env::Prod, "risk/getpublickey") => RiskPublicKey,
            (Env::Prod, "pay/profitsharingaddreceiver") => ProfitSharingAddReceiver,
            (Env::Prod, "pay/profitsharingremovereceiver") => ProfitSharingRemoveReceiver,
            (Env::Prod, "secapi/pay/profitsharing") => ProfitSharing,
            (Env::Prod, "secapi/pay/multiprofitsharing") => MultiProfitSharing,
            (Env::Prod, "pay/profitsharingquery") => ProfitSharingQuery,
            (Env::Prod, "secapi/pay/profitsharingfinish") => ProfitSharingFinish,
            (Env::Prod, "secapi/pay/profitsharingreturn") => ProfitSharingReturn,
            (Env::Prod, "pay/profitsharingreturnquery") => ProfitSharingReturnQuery,
            (Env::Prod, "pay/profitsharingorderamountquery") => ProfitSharingOrderAmountQuery,
            (Env::Prod, "mmpaymkttransfers/send_coupon") => SendCoupon,
            (Env::Prod, "mmpaymkttransfers/query_coupon_stock") => QueryCouponStock,
            (Env::Prod, "mmpaymkttransfers/querycouponsinfo") => QueryCouponsInfo,
            _ => return None,
        })
    }

    /// Required fields beyond the common ones; `a|b` means at least one of them.
    fn required(self) -> &'static [&'static str] {
        use Api::*;
        match self {
            UnifiedOrder => &[
                "body",
                "out_trade_no",
                "total_fee",
                "spbill_create_ip",
                "notify_url",
                "trade_type",
            ],
            OrderQuery | Reverse => &["out_trade_no|transaction_id"],
            CloseOrder => &["out_trade_no"],
            Refund => &[
                "out_trade_no|transaction_id",
                "out_refund_no",
                "total_fee",
                "refund_fee",
            ],
            RefundQuery => &["refund_id|out_refund_no|transaction_id|out_trade_no"],
            DownloadBill => &["bill_date"],
            DownloadFundFlow => &["bill_date", "account_type"],
            Micropay => &[
                "body",
                "out_trade_no",
                "total_fee",
                "spbill_create_ip",
                "auth_code",
            ],
            ShortUrl => &["long_url"],
            AuthCodeToOpenid => &["auth_code"],
            Report => &[
                "interface_url",
                "execute_time_|execute_time",
                "return_code",
                "result_code",
                "user_ip",
            ],
            GetSignKey => &[],
            SendRedpack => &[
                "mch_billno",
                "send_name",
                "re_openid",
                "total_amount",
                "total_num",
                "wishing",
                "client_ip",
                "act_name",
                "remark",
            ],
            SendGroupRedpack => &[
                "mch_billno",
                "send_name",
                "re_openid",
                "total_amount",
                "total_num",
                "amt_type",
                "wishing",
                "act_name",
                "remark",
            ],
            RedpackInfo => &["mch_billno", "bill_type"],
            Transfer => &[
                "partner_trade_no",
                "openid",
                "check_name",
                "amount",
                "desc",
                "spbill_create_ip",
            ],
            TransferInfo | QueryBank => &["partner_trade_no"],
            PayBank => &[
                "partner_trade_no",
                "enc_bank_no",
                "enc_true_name",
                "bank_code",
                "amount",
            ],
            RiskPublicKey => &["sign_type"],
            ProfitSharingAddReceiver | ProfitSharingRemoveReceiver => &["receiver"],
            ProfitSharing | MultiProfitSharing => &["transaction_id", "out_order_no", "receivers"],
            ProfitSharingQuery => &["transaction_id", "out_order_no"],
            ProfitSharingFinish => &["transaction_id", "out_order_no", "description"],
            ProfitSharingReturn => &[
                "order_id|out_order_no",
                "out_return_no",
                "return_account_type",
                "return_account",
                "return_amount",
                "description",
            ],
            ProfitSharingReturnQuery => &["order_id|out_order_no", "out_return_no"],
            ProfitSharingOrderAmountQuery => &["transaction_id"],
            SendCoupon => &[
                "coupon_stock_id",
                "openid_count",
                "partner_trade_no",
                "openid",
            ],
            QueryCouponStock => &["coupon_stock_id"],
            QueryCouponsInfo => &["coupon_id", "openid", "stock_id"],
        }
    }

    /// The names of the appid and merchant-number fields (docs/protocol.md §3.2, §12.1).
    pub fn merchant_fields(self) -> (Option<&'static str>, &'static str) {
        use Api::*;
        match self {
            SendRedpack | SendGroupRedpack => (Some("wxappid"), "mch_id"),
            Transfer => (Some("mch_appid"), "mchid"),
            _ if self.without_appid() => (None, "mch_id"),
            PayBank | QueryBank | RiskPublicKey => (None, "mch_id"),
            _ => (Some("appid"), "mch_id"),
        }
    }

    /// Red packets, transfers, bank cards and their RSA key (docs/protocol.md §12).
    pub fn is_marketing(self) -> bool {
        use Api::*;
        matches!(
            self,
            SendRedpack
                | SendGroupRedpack
                | RedpackInfo
                | Transfer
                | TransferInfo
                | PayBank
                | QueryBank
                | RiskPublicKey
        )
    }

    /// Whether WeChat signs `name` on a marketing API: the merchant fields, `nonce_str`, the
    /// required and the optional documented fields. A client that signs another field (an
    /// `appid` on query_bank, `sign_type` on pay_bank) gets 签名错误, as from WeChat
    /// (docs/protocol.md §12.1).
    fn signs(self, name: &str) -> bool {
        use Api::*;
        let optional: &[&str] = match self {
            SendRedpack => &[
                "scene_id",
                "risk_info",
                "consume_mch_id",
                "sub_mch_id",
                "msgappid",
            ],
            // Some SDKs send client_ip here too (wechatpy): accepted.
            SendGroupRedpack => &[
                "client_ip",
                "scene_id",
                "risk_info",
                "consume_mch_id",
                "sub_mch_id",
                "msgappid",
            ],
            Transfer => &[
                "device_info",
                "re_user_name",
                "scene",
                "brand_id",
                "finder_template_id",
            ],
            PayBank => &["desc"],
            _ => &[],
        };
        let (appid, mch_id) = self.merchant_fields();
        name == "nonce_str"
            || name == mch_id
            || appid == Some(name)
            || self.required().contains(&name)
            || optional.contains(&name)
    }

    /// Coupons are MD5 and have no `sign_type` field: one sent is just another signed field
    /// (docs/protocol.md §16.2).
    fn md5_undeclared(self) -> bool {
        matches!(
            self,
            Api::SendCoupon | Api::QueryCouponStock | Api::QueryCouponsInfo
        )
    }

    /// Needs the merchant's client certificate: everything under secapi/, the marketing
    /// calls, and these.
    fn needs_cert(self, path: &str) -> bool {
        path.starts_with("secapi/")
            || self.is_marketing()
            || matches!(self, Api::DownloadFundFlow | Api::SendCoupon)
    }

    /// Profit sharing accepts HMAC-SHA256 only; a request without `sign_type` is taken as
    /// HMAC-SHA256, the only type these calls know (docs/protocol.md §15.2).
    fn hmac_only(self) -> bool {
        use Api::*;
        matches!(
            self,
            DownloadFundFlow
                | ProfitSharingAddReceiver
                | ProfitSharingRemoveReceiver
                | ProfitSharing
                | MultiProfitSharing
                | ProfitSharingQuery
                | ProfitSharingFinish
                | ProfitSharingReturn
                | ProfitSharingReturnQuery
                | ProfitSharingOrderAmountQuery
        )
    }

    /// Calls whose request and answer have no `appid` (docs/protocol.md §15.2; the
    /// profitsharingquery answer has one all the same).
    pub fn without_appid(self) -> bool {
        matches!(
            self,
            Api::GetSignKey | Api::ProfitSharingQuery | Api::ProfitSharingOrderAmountQuery
        )
    }

    /// Fields needed only for some values of others (docs/protocol.md §3.3).
    fn required_when(self, req: &Fields) -> &'static [&'static str] {
        if self != Api::UnifiedOrder {
            return &[];
        }
        match get(req, "trade_type") {
            Some("NATIVE") => &["product_id"],
            Some("JSAPI") => &["openid"],
            Some("MWEB") => &["scene_info"],
            _ => &[],
        }
    }

    /// Bills answer failures with `error_code` and are never signed.
    fn is_bill(self) -> bool {
        matches!(self, Api::DownloadBill | Api::DownloadFundFlow)
    }
}

/// A field's value when present and non-empty (WeChat treats empty as absent).
pub fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A request that passed steps 1–9.
pub struct Req {
    pub api: Api,
    pub env: Env,
    pub fields: Fields,
    pub sign_type: SignType,
    /// Whether `sign_type` was on the wire (then notifies for the order carry it too).
    pub sign_type_sent: bool,
    pub key: String,
}

impl Req {
    pub fn get(&self, name: &str) -> Option<&str> {
        get(&self.fields, name)
    }

    /// A field that step 6 guaranteed.
    pub fn must(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The business parameters, to compare a repeated request with the first one.
    pub fn params(&self) -> Fields {
        let mut p: Fields = self
            .fields
            .iter()
            .filter(|(k, v)| !v.is_empty() && k != "sign" && k != "nonce_str")
            .cloned()
            .collect();
        p.sort();
        p
    }
}

/// What an API handler answers.
pub enum Answer {
    /// `return_code=FAIL` with a message, unsigned.
    Fail(String),
    /// A bill failure: unsigned, with `error_code`.
    BillFail { msg: String, code: u32 },
    /// Fields after `return_code`/`appid`/`mch_id`/`nonce_str`; signed.
    Signed(Fields),
    /// Complete unsigned fields (report, getsignkey).
    Unsigned(Fields),
    /// A bill body; `digest` adds the fund flow `Digest` header.
    File {
        body: Vec<u8>,
        gzip: bool,
        digest: bool,
    },
}

impl Answer {
    pub fn ok(fields: Fields) -> Self {
        let mut all = vec![kv("result_code", "SUCCESS")];
        all.extend(fields);
        Self::Signed(all)
    }

    /// `result_code=FAIL` with `err_code` and its description.
    pub fn err(code: &str, des: &str) -> Self {
        Self::err_with(code, des, Vec::new())
    }

    pub fn err_with(code: &str, des: &str, extra: Fields) -> Self {
        let mut all = vec![
            kv("result_code", "FAIL"),
            kv("err_code", code),
            kv("err_code_des", des),
        ];
        all.extend(extra);
        Self::Signed(all)
    }

    pub fn param_error(field: &str) -> Self {
        Self::err("PARAM_ERROR", &format!("{field}参数格式错误"))
    }
}

/// Why a request was refused before it could be trusted (steps 1–8).
enum Refusal {
    NoCert,
    NotPost,
    Empty,
    NotUtf8,
    BadXml,
    Lack(Vec<String>),
    BadSignType,
    SandboxMd5Only,
    HmacOnly,
    BadSign,
}

impl Refusal {
    fn answer(self, api: Option<Api>) -> Answer {
        let msg = match &self {
            // Chosen wording: WeChat has no public text for a missing client certificate.
            Refusal::NoCert => {
                "证书错误：此接口需要商户API证书 (client certificate required)".to_owned()
            }
            Refusal::NotPost => "请使用post方法".to_owned(),
            Refusal::Empty => "post数据为空".to_owned(),
            Refusal::NotUtf8 => "编码格式错误，请使用UTF-8编码".to_owned(),
            Refusal::BadXml => "XML格式错误".to_owned(),
            Refusal::Lack(names) => format!("缺少参数{}", names.join(",")),
            Refusal::BadSignType => "sign_type参数格式错误".to_owned(),
            Refusal::SandboxMd5Only => "沙箱环境只支持MD5签名".to_owned(),
            Refusal::HmacOnly => "sign_type必须为HMAC-SHA256".to_owned(),
            Refusal::BadSign => "签名错误".to_owned(),
        };
        if let Some(api) = api.filter(|a| a.is_marketing()) {
            return marketing_refusal(api, &self, msg);
        }
        if api.is_some_and(Api::is_bill) {
            let msg = match self {
                Refusal::Lack(_) => "missing parameter".to_owned(),
                Refusal::BadSign => "SIGN ERROR".to_owned(),
                _ => msg,
            };
            return Answer::BillFail { msg, code: 20001 };
        }
        Answer::Fail(msg)
    }
}

/// A marketing API answers a refusal as a business failure with an err_code (docs/protocol.md
/// §12.6): the red packet and transfer tables name CA_ERROR, XML_ERROR, PARAM_ERROR and
/// SIGN_ERROR; the bank-card calls answer SIGNERROR (a real query_bank answer, EasyWeChat #1123).
fn marketing_refusal(api: Api, refusal: &Refusal, msg: String) -> Answer {
    let bank = matches!(api, Api::PayBank | Api::QueryBank | Api::RiskPublicKey);
    let msg = match refusal {
        Refusal::NoCert => "CA证书出错，请登录微信支付商户平台下载证书".to_owned(),
        Refusal::BadSign if bank => "签名出错，请根据签名算法进行签名".to_owned(),
        _ => msg,
    };
    let code = match refusal {
        Refusal::NoCert => "CA_ERROR",
        Refusal::NotPost | Refusal::Empty | Refusal::NotUtf8 | Refusal::BadXml => "XML_ERROR",
        Refusal::BadSign if bank => "SIGNERROR",
        Refusal::BadSign => "SIGN_ERROR",
        _ => "PARAM_ERROR",
    };
    Answer::err(code, &msg)
}

/// Connection facts that some APIs depend on.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    pub tls: bool,
    pub client_cert: bool,
    pub primary: bool,
}

fn parse(
    app: &App,
    conn: ConnInfo,
    method: &Method,
    env: Env,
    path: &str,
    api: Api,
    body: &[u8],
) -> Result<Req, Refusal> {
    // Plain HTTP has no client certificate at all, so enforcement needs --tls.
    if api.needs_cert(path) && conn.tls && !conn.client_cert {
        return Err(Refusal::NoCert);
    }
    if method != Method::POST {
        return Err(Refusal::NotPost);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Refusal::Empty);
    }
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::NotUtf8);
    }
    let fields = xml::into_owned(xml::decode(body).map_err(|e| {
        eprintln!("wxpay-mock: /{path}: refused XML: {e}");
        Refusal::BadXml
    })?);

    let (appid, mch_id) = api.merchant_fields();
    let common: Vec<&str> = appid
        .into_iter()
        .chain([mch_id, "nonce_str", "sign"])
        .collect();
    let missing: Vec<String> = common
        .iter()
        .chain(api.required())
        .chain(api.required_when(&fields))
        .filter(|alts| alts.split('|').all(|name| get(&fields, name).is_none()))
        .map(|alts| alts.replace('|', "或"))
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::Lack(missing));
    }

    // Marketing APIs sign MD5 and do not read sign_type (getpublickey excepted).
    let declared =
        get(&fields, "sign_type").filter(|_| !api.is_marketing() || api == Api::RiskPublicKey);
    let sign_type_sent = declared.is_some();
    let sign_type = match declared {
        _ if api.md5_undeclared() => SignType::Md5,
        None if api.hmac_only() && api != Api::DownloadFundFlow => SignType::HmacSha256,
        None => SignType::Md5,
        Some(name) => SignType::parse(name).ok_or(Refusal::BadSignType)?,
    };
    // getsignkey itself is signed with the production key, MD5 (docs/protocol.md §3.8).
    let key_env = if api == Api::GetSignKey {
        Env::Prod
    } else {
        env
    };
    if (env == Env::Sandbox || api == Api::GetSignKey) && sign_type != SignType::Md5 {
        return Err(Refusal::SandboxMd5Only);
    }
    if api.hmac_only() && sign_type != SignType::HmacSha256 {
        return Err(Refusal::HmacOnly);
    }
    let key = app.merchant.key(key_env).to_owned();
    if !signature_ok(api, &fields, &key, sign_type) {
        return Err(Refusal::BadSign);
    }
    Ok(Req {
        api,
        env,
        fields,
        sign_type,
        sign_type_sent,
        key,
    })
}

fn signature_ok(api: Api, fields: &Fields, key: &str, sign_type: SignType) -> bool {
    if api.is_marketing() {
        let covered: Fields = fields
            .iter()
            .filter(|(k, _)| k == "sign" || api.signs(k))
            .cloned()
            .collect();
        return sign::verify(&covered, key, sign_type).is_ok();
    }
    if sign::verify(fields, key, sign_type).is_ok() {
        return true;
    }
    // shorturl: "签名用原串，传输需URLencode" — the client signed the decoded long_url.
    if api != Api::ShortUrl {
        return false;
    }
    let decoded: Fields = fields
        .iter()
        .map(|(k, v)| match k.as_str() {
            "long_url" => (
                k.clone(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            ),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    sign::verify(&decoded, key, sign_type).is_ok()
}

/// Runs the pipeline and the API handler for one WeChat request.
pub fn handle(
    app: &Arc<App>,
    conn: ConnInfo,
    fault: FaultAction,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Response {
    let (env, rest) = match path.trim_start_matches('/').strip_prefix("sandboxnew/") {
        Some(rest) => (Env::Sandbox, rest),
        None => (Env::Prod, path.trim_start_matches('/')),
    };
    let Some(api) = Api::route(env, rest) else {
        return (
            StatusCode::NOT_FOUND,
            format!("wxpay-mock: no API at {path}\n"),
        )
            .into_response();
    };
    let req = match parse(app, conn, method, env, rest, api, body) {
        Ok(req) => req,
        Err(refusal) => return render(app, api, None, refusal.answer(Some(api)), fault),
    };
    let answer = if let Some(refused) = check_merchant(app, &req) {
        refused
    } else if fault.system_error {
        if api.is_bill() {
            Answer::BillFail {
                msg: "SYSTEMERROR".into(),
                code: 20001,
            }
        } else {
            Answer::err("SYSTEMERROR", "系统超时，请用相同参数重新调用")
        }
    } else {
        crate::api::dispatch(app, &req, fault.bill_bytes)
    };
    render(app, api, Some(&req), answer, fault)
}

fn check_merchant(app: &App, req: &Req) -> Option<Answer> {
    let (appid, mch_id) = req.api.merchant_fields();
    if req.must(mch_id) != app.merchant.mch_id {
        return Some(Answer::err("MCHID_NOT_EXIST", "商户号不存在"));
    }
    let appid_ok = match appid {
        Some(name) => req.must(name) == app.merchant.appid,
        // Payment calls without appid check one sent all the same; a marketing call ignores
        // fields it does not sign (docs/protocol.md §12.1).
        None if req.api.without_appid() => req.get("appid").is_none_or(|a| a == app.merchant.appid),
        None => true,
    };
    if !appid_ok {
        return Some(Answer::err("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"));
    }
    None
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn encode_or_500(fields: &Fields) -> Response {
    match xml::encode(fields) {
        Ok(body) => xml_response(body),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("wxpay-mock cannot encode its answer: {e}\n"),
        )
            .into_response(),
    }
}

/// Adds the common fields (`appid` unless `with_appid` is false) and the signature to a
/// signed answer.
pub fn signed_message(
    app: &App,
    key: &str,
    sign_type: SignType,
    fields: Fields,
    bad_sign: bool,
    with_appid: bool,
) -> Fields {
    let mut all = vec![
        kv("return_code", "SUCCESS"),
        kv("return_msg", "OK"),
        kv("appid", &app.merchant.appid),
        kv("mch_id", &app.merchant.mch_id),
        kv("nonce_str", crate::app::alnum(32)),
    ];
    if !with_appid {
        all.retain(|(k, _)| k != "appid");
    }
    all.extend(fields);
    let mut signature = sign::sign(&all, key, sign_type).as_str().to_owned();
    if bad_sign {
        // Flip the first hex digit: still well-formed, never valid.
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        signature.replace_range(..1, flipped);
    }
    all.push(kv("sign", signature));
    all
}

fn render(app: &App, api: Api, req: Option<&Req>, answer: Answer, fault: FaultAction) -> Response {
    match answer {
        Answer::Signed(fields) if api.is_marketing() => {
            let (fields, nested) = crate::api::marketing_message(app, api, fields, fault.bad_sign);
            match xml::encode(&fields) {
                // gethbinfo's hblist is the one nested element (docs/protocol.md §12.2).
                Ok(body) => xml_response(match nested {
                    Some(raw) => body.replacen("</xml>", &format!("{raw}</xml>"), 1),
                    None => body,
                }),
                Err(e) => encode_or_500(&vec![kv("return_msg", e.to_string())]),
            }
        }
        Answer::Fail(msg) => encode_or_500(&vec![kv("return_code", "FAIL"), kv("return_msg", msg)]),
        Answer::BillFail { msg, code } => encode_or_500(&vec![
            kv("return_code", "FAIL"),
            kv("return_msg", msg),
            kv("error_code", code),
        ]),
        Answer::Unsigned(fields) => encode_or_500(&fields),
        Answer::Signed(fields) => match req {
            Some(req) => encode_or_500(&signed_message(
                app,
                &req.key,
                req.sign_type,
                fields,
                fault.bad_sign,
                // Only the order amount query answers without appid (docs/protocol.md §15.2).
                req.api != Api::ProfitSharingOrderAmountQuery,
            )),
            None => encode_or_500(&fields),
        },
        Answer::File { body, gzip, digest } => {
            let digest = digest.then(|| format!("SHA={}", crate::app::hex_sha1(&body)));
            let content_type = if gzip {
                "application/x-gzip"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(v) = digest.and_then(|d| HeaderValue::from_str(&d).ok()) {
                response.headers_mut().insert("Digest", v);
            }
            response
        }
    }
}
