//! `WxPay\Client`: one merchant configuration, with the offline builders and the
//! notification handlers.
// Rust parameter names are PHP's parameter names (named arguments), which are camelCase.
#![allow(non_snake_case)]

use crate::convert;
use crate::exceptions::{PhpResult, exception_object, to_php};
use crate::handlers;
use crate::logger::Logger;
use crate::primitives::{encode_signed_params, sign_params, verify_params};
use ext_php_rs::binary::Binary;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use ext_php_rs::types::{ZendCallable, Zval};
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};
use wxpay_core::client::Settlement;
use wxpay_core::{Api, Client as CoreClient, Config, Error, invoke, nonce, notify, scan};

/// A merchant's client. The key is a plain Rust field, invisible to PHP: not a property,
/// so `var_dump`, `var_export`, `json_encode` and `(array)` cannot show it; the class is
/// final, refuses dynamic properties, and (having Rust data) cannot be serialized.
#[php_class]
#[php(name = "WxPay\\Client")]
#[php(flags = ClassFlags::Final.union(ClassFlags::NoDynamicProperties))]
pub struct Client {
    core: CoreClient,
    /// Config `logger`, called after each network call with its attempts' records.
    logger: Option<Logger>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn fresh_nonce() -> PhpResult<String> {
    nonce::nonce().map_err(|e| to_php(Error::Config(format!("no randomness available: {e}"))))
}

use convert::owned_fields_to_array as array;

#[php_impl]
impl Client {
    /// Validates the configuration; unknown keys are refused with the list of valid ones.
    pub fn __construct(config: &ZendHashTable) -> PhpResult<Self> {
        let mut entries = convert::config_entries(config)?;
        // A logger is a PHP value the core cannot hold: it is told only that there is one.
        let logger = config.get("logger").and_then(Logger::recognise);
        if logger.is_some()
            && let Some((_, value)) = entries.iter_mut().find(|(k, _)| k == "logger")
        {
            *value = wxpay_core::config::Value::Logger;
        }
        let config = Config::from_entries(entries).map_err(to_php)?;
        let core = CoreClient::new(config).map_err(to_php)?;
        Ok(Self { core, logger })
    }

    /// What `var_dump`/`print_r` show: identity, never the key.
    pub fn __debug_info(&self) -> ZBox<ZendHashTable> {
        let c = self.config();
        let mut shown = vec![
            ("appid".to_owned(), c.appid.clone()),
            ("mch_id".to_owned(), c.mch_id.clone()),
            ("sign_type".to_owned(), c.sign_type.as_str().to_owned()),
            ("key".to_owned(), "***".to_owned()),
            ("base_url".to_owned(), c.base_url.clone()),
        ];
        for (name, value) in [
            ("sub_appid", &c.sub_appid),
            ("sub_mch_id", &c.sub_mch_id),
            // Never with a password: the config refuses one.
            ("proxy", &c.proxy),
        ] {
            if let Some(v) = value {
                shown.push((name.to_owned(), v.clone()));
            }
        }
        if let Some(logger) = &self.logger {
            shown.push(("logger".to_owned(), logger.describe()));
        }
        if let Some(previous) = c.notify_previous_sign_type {
            shown.push((
                "notify_previous_sign_type".to_owned(),
                format!("{} until {}", previous.sign_type.as_str(), previous.until),
            ));
        }
        array(&shown)
    }

    /// Signs `params` with this merchant's key and sign type.
    pub fn sign(&self, params: &ZendHashTable) -> PhpResult<convert::PhpStr> {
        sign_params(params, self.config().key.expose(), self.config().sign_type)
    }

    /// Signs and encodes a request body with this merchant's key and sign type, as
    /// `Xml::encodeSigned` does.
    pub fn buildRequest(&self, params: &ZendHashTable) -> PhpResult<convert::PhpStr> {
        encode_signed_params(params, self.config().key.expose(), self.config().sign_type)
    }

    /// Verifies `params['sign']` with this merchant's key and pinned sign type.
    pub fn verify(&self, params: &ZendHashTable) -> PhpResult<bool> {
        verify_params(params, self.config().key.expose(), self.config().sign_type)
    }

    /// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment` parameters.
    pub fn jsapiParams(&self, prepayId: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let prepay = convert::prepay_id(&prepayId)?;
        Ok(array(&invoke::jsapi(
            self.config(),
            prepay,
            now(),
            &fresh_nonce()?,
        )))
    }

    /// The APP SDK's `PayReq` parameters.
    pub fn appParams(&self, prepayId: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let prepay = convert::prepay_id(&prepayId)?;
        Ok(array(&invoke::app(
            self.config(),
            prepay,
            now(),
            &fresh_nonce()?,
        )))
    }

    /// Native mode 1 `weixin://wxpay/bizpayurl?…` for a product.
    pub fn nativeUrl(&self, productId: BinarySlice<u8>) -> PhpResult<String> {
        let product = check_nonempty("productId", convert::text("productId", &productId)?)?;
        Ok(invoke::native_url(
            self.config(),
            product,
            now(),
            &fresh_nonce()?,
        ))
    }

    /// Parses and verifies a payment notification body: signed with the pinned type, for
    /// this appid and mch_id, with a real payment's fields. Throws otherwise.
    pub fn parseNotify(&self, body: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = notify::parse_payment(&body, self.config()).map_err(to_php)?;
        Ok(convert::decoded_to_array(&fields))
    }

    /// Parses a refund notification: decrypts `req_info` with the key; the envelope fields
    /// sent, then the decrypted ones (`notify::parse_refund`).
    pub fn parseRefundNotify(&self, body: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = notify::parse_refund(&body, self.config()).map_err(to_php)?;
        Ok(convert::decoded_to_array(&fields))
    }

    /// Verifies a payment notify (as `parseNotify`), calls `onPaid(array $notify, bool
    /// $paid)` with it, and returns the reply to echo: SUCCESS once the callback returns
    /// (`$paid` is false for a verified `result_code=FAIL`, which is acknowledged too); FAIL
    /// with a generic message, the reason written to the error log, when the notify is not
    /// verified or the callback throws or returns false (the exception is caught).
    pub fn handleNotify(&self, body: BinarySlice<u8>, onPaid: ZendCallable) -> String {
        let handled = notify::handle_payment(&body, self.config(), |n| {
            let mut fields = Zval::new();
            fields.set_hashtable(convert::decoded_to_array(&n.fields));
            handlers::call(&onPaid, vec![&fields, &n.paid])
        });
        handlers::reply(&handled, "handleNotify")
    }

    /// Verifies and decrypts a refund notify (as `parseRefundNotify`), calls
    /// `onRefund(array $refund)` with it, and returns the reply to echo, as `handleNotify`.
    pub fn handleRefundNotify(&self, body: BinarySlice<u8>, onRefund: ZendCallable) -> String {
        let handled = notify::handle_refund(&body, self.config(), |f| {
            let mut fields = Zval::new();
            fields.set_hashtable(convert::decoded_to_array(f));
            handlers::call(&onRefund, vec![&fields])
        });
        handlers::reply(&handled, "handleRefundNotify")
    }

    /// Native pay mode 1: verifies the callback WeChat posts when a payer scans a
    /// `nativeUrl()` QR code (MD5, this merchant, openid and product_id present), calls
    /// `createOrder(array $callback)`, and returns the signed reply to echo. The callback
    /// returns unifiedOrder parameters (the order is placed for it, trade_type NATIVE with
    /// the callback's product_id and openid), a unifiedOrder answer (its prepay_id is used),
    /// or `['result_code' => 'FAIL', 'err_code_des' => '…']` to decline with a text for the
    /// payer. A throw, `false`, any other answer or a failed unifiedOrder is a FAIL reply with
    /// a generic text (WeChat's own err_code_des for a refused order), the reason in PHP's
    /// error log; an unverified callback is a `return_code=FAIL` reply.
    pub fn handleScanCallback(&self, body: BinarySlice<u8>, createOrder: ZendCallable) -> String {
        let handled = scan::handle(
            &body,
            self.config(),
            |callback| {
                let mut fields = Zval::new();
                fields.set_hashtable(array(callback));
                let returned = handlers::call_for_value(&createOrder, vec![&fields])?;
                match returned.array() {
                    Some(answer) => convert::owned_params(answer).map_err(handlers::message_of),
                    None if returned.is_false() => Err("the callback returned false".into()),
                    None => Err(format!(
                        "the callback must return an array (unifiedOrder parameters, its \
                         answer, or ['result_code' => 'FAIL', 'err_code_des' => …]), {} given",
                        convert::type_name(&returned)
                    )),
                }
            },
            |params| self.emit_log(self.core.call(Api::UnifiedOrder, params)),
        );
        if let Some(line) = handled.log_line("handleScanCallback") {
            handlers::log(&line);
        }
        handled.reply(self.config())
    }

    /// `pay/unifiedorder`: NATIVE (`code_url`), JSAPI (needs `openid`), APP, MWEB.
    pub fn unifiedOrder(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::UnifiedOrder, params)
    }

    /// `pay/orderquery` by `transaction_id` or `out_trade_no`.
    pub fn orderQuery(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::OrderQuery, params)
    }

    /// `pay/closeorder`.
    pub fn closeOrder(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::CloseOrder, params)
    }

    /// `secapi/pay/refund` (client certificate). Retried with the same `out_refund_no`.
    pub fn refund(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::Refund, params)
    }

    /// `pay/refundquery`.
    pub fn refundQuery(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::RefundQuery, params)
    }

    /// `pay/downloadbill`: the bill text (gunzipped when `tar_type=GZIP`).
    pub fn downloadBill(&self, params: &ZendHashTable) -> PhpResult<Binary<u8>> {
        self.download(Api::DownloadBill, params)
    }

    /// `pay/downloadfundflow` (client certificate, HMAC-SHA256): the bill text.
    pub fn downloadFundFlow(&self, params: &ZendHashTable) -> PhpResult<Binary<u8>> {
        self.download(Api::DownloadFundFlow, params)
    }

    /// `pay/micropay`: sent once, never retried blindly (see `micropaySettle`).
    pub fn micropay(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::Micropay, params)
    }

    /// `secapi/pay/reverse` (client certificate).
    pub fn reverse(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::Reverse, params)
    }

    /// `tools/shorturl`.
    pub fn shortUrl(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ShortUrl, params)
    }

    /// `tools/authcodetoopenid`.
    pub fn authCodeToOpenid(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::AuthCodeToOpenid, params)
    }

    /// `payitil/report` (交易保障).
    pub fn report(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::Report, params)
    }

    /// `mmpaymkttransfers/sendredpack` (client certificate, MD5): a cash red packet to one
    /// payer. Re-sent with the same `mch_billno` after an unknown outcome (WeChat re-enters).
    pub fn sendRedpack(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::SendRedpack, params)
    }

    /// `mmpaymkttransfers/sendgroupredpack`: a group (fission) red packet for 3 or more payers.
    pub fn sendGroupRedpack(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::SendGroupRedpack, params)
    }

    /// `mmpaymkttransfers/gethbinfo`: a red packet's state; who opened it comes as
    /// `hbinfo_{n}_openid`, `hbinfo_{n}_amount`, `hbinfo_{n}_rcv_time`.
    pub fn redpackInfo(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::RedpackInfo, params)
    }

    /// `mmpaymkttransfers/promotion/transfers`: a transfer to a payer's balance (零钱).
    pub fn transfer(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::Transfer, params)
    }

    /// `mmpaymkttransfers/gettransferinfo`.
    pub fn transferInfo(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::TransferInfo, params)
    }

    /// `mmpaysptrans/pay_bank`: a transfer to a bank card. `enc_bank_no` and `enc_true_name`
    /// are given in the clear and sent RSA-OAEP encrypted with WeChat's key (fetched from
    /// `risk/getpublickey` once per process).
    pub fn payBank(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::PayBank, params)
    }

    /// `mmpaysptrans/query_bank`.
    pub fn queryBank(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::QueryBank, params)
    }

    /// `pay/profitsharingaddreceiver` (HMAC-SHA256 only): `receiver` as an array or JSON.
    pub fn profitSharingAddReceiver(
        &self,
        params: &ZendHashTable,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingAddReceiver, params)
    }

    /// `pay/profitsharingremovereceiver` (HMAC-SHA256 only).
    pub fn profitSharingRemoveReceiver(
        &self,
        params: &ZendHashTable,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingRemoveReceiver, params)
    }

    /// `secapi/pay/profitsharing` (client certificate, HMAC-SHA256 only): shares once and
    /// unfreezes the rest.
    pub fn profitSharing(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharing, params)
    }

    /// `secapi/pay/multiprofitsharing` (client certificate, HMAC-SHA256 only).
    pub fn multiProfitSharing(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::MultiProfitSharing, params)
    }

    /// `pay/profitsharingquery` (HMAC-SHA256 only; sends no appid).
    pub fn profitSharingQuery(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingQuery, params)
    }

    /// `secapi/pay/profitsharingfinish` (client certificate, HMAC-SHA256 only).
    pub fn profitSharingFinish(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingFinish, params)
    }

    /// `secapi/pay/profitsharingreturn` (client certificate, HMAC-SHA256 only).
    pub fn profitSharingReturn(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingReturn, params)
    }

    /// `pay/profitsharingreturnquery` (HMAC-SHA256 only).
    pub fn profitSharingReturnQuery(
        &self,
        params: &ZendHashTable,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingReturnQuery, params)
    }

    /// `pay/profitsharingorderamountquery` (HMAC-SHA256 only; sends no appid).
    pub fn profitSharingOrderAmountQuery(
        &self,
        params: &ZendHashTable,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::ProfitSharingOrderAmountQuery, params)
    }

    /// `mmpaymkttransfers/send_coupon` (client certificate; MD5 without `sign_type`): one
    /// coupon of a stock to one openid. Sent once, never re-sent blindly.
    pub fn sendCoupon(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::SendCoupon, params)
    }

    /// `mmpaymkttransfers/query_coupon_stock` (MD5 without `sign_type`).
    pub fn couponStock(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::QueryCouponStock, params)
    }

    /// `mmpaymkttransfers/querycouponsinfo` (MD5 without `sign_type`).
    pub fn couponInfo(&self, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        self.call(Api::QueryCouponsInfo, params)
    }

    /// Any other v2 endpoint, e.g. `/pay/somecall`: common fields filled, and the answer
    /// must be signed for this merchant. A known path follows its call's rules; any other
    /// is sent once, retried only when `retry` says re-sending it is harmless.
    #[php(defaults(cert = false, retry = false))]
    pub fn request(
        &self,
        path: BinarySlice<u8>,
        params: &ZendHashTable,
        cert: bool,
        retry: bool,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        let path = convert::text("path", &path)?;
        let fields = convert::owned_params(params)?;
        let answer = self.logged(self.core.request(path, fields, cert, retry))?;
        Ok(convert::decoded_to_array(&answer))
    }

    /// Queries many orders concurrently. Every distinct number gets an entry, in the order
    /// given: the verified answer, or the `WxPay\Exception` object that explains the failure.
    #[php(defaults(concurrency = 16))]
    pub fn queryOrders(
        &self,
        outTradeNos: &ZendHashTable,
        concurrency: i64,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        let mut numbers: Vec<String> = Vec::new();
        for number in convert::list_values(outTradeNos)? {
            if !numbers.contains(&number) {
                numbers.push(number);
            }
        }
        // Out of range (negative too) is refused by the core, naming the limit.
        let concurrency = usize::try_from(concurrency).unwrap_or(usize::MAX);
        let results = self.logged(self.core.query_orders(&numbers, concurrency))?;
        let mut out =
            ZendHashTable::with_capacity(u32::try_from(results.len()).unwrap_or(u32::MAX));
        for (number, result) in results {
            let value: Zval = match result {
                Ok(fields) => {
                    let mut zv = Zval::new();
                    zv.set_hashtable(convert::decoded_to_array(&fields));
                    zv
                }
                Err(e) => exception_object(&e).map_err(|e| {
                    crate::exceptions::simple(crate::exceptions::Class::Base, e.to_string())
                })?,
            };
            out.insert(number.as_str(), value).map_err(|e| {
                crate::exceptions::simple(crate::exceptions::Class::Base, e.to_string())
            })?;
        }
        Ok(out)
    }

    /// Takes a payment-code payment to a definite end within the config's `deadline`:
    /// micropay once, then on an unknown outcome poll orderquery every `waitSeconds` up to
    /// `maxPolls` times, then reverse. Returns `['outcome' => 'PAID'|'REVERSED', 'response'
    /// => array]`; throws `OutcomeUnknownException` when it could not find out.
    #[php(defaults(waitSeconds = 2.0, maxPolls = 10))]
    pub fn micropaySettle(
        &self,
        params: &ZendHashTable,
        waitSeconds: f64,
        maxPolls: i64,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        // The deadline bounds the whole settle; these only keep the arguments sane.
        if !(0.0..=30.0).contains(&waitSeconds) || !(0..=30).contains(&maxPolls) {
            return Err(crate::exceptions::invalid(format!(
                "waitSeconds must be 0 to 30 and maxPolls 0 to 30, {waitSeconds} and {maxPolls} given"
            )));
        }
        let fields = convert::owned_params(params)?;
        let settled = self.logged(self.core.micropay_settle(
            fields,
            Duration::from_secs_f64(waitSeconds),
            maxPolls as u32,
        ))?;
        let (outcome, response) = match &settled {
            Settlement::Paid(f) => ("PAID", f),
            Settlement::Reversed(f) => ("REVERSED", f),
        };
        let mut out = ZendHashTable::with_capacity(2);
        let mut response_zv = Zval::new();
        response_zv.set_hashtable(array(response));
        let wrap = |e: ext_php_rs::error::Error| {
            crate::exceptions::simple(crate::exceptions::Class::Base, e.to_string())
        };
        out.insert("outcome", outcome).map_err(wrap)?;
        out.insert("response", response_zv).map_err(wrap)?;
        Ok(out)
    }

    /// Throws `SignatureException` unless a verified notify is for this order and amount.
    pub fn assertNotifyMatches(
        &self,
        notify: &ZendHashTable,
        outTradeNo: BinarySlice<u8>,
        totalFee: i64,
    ) -> PhpResult<()> {
        let outTradeNo = convert::text("outTradeNo", &outTradeNo)?;
        let fields = convert::owned_params(notify)?;
        notify::check_order(&fields, outTradeNo, totalFee).map_err(to_php)
    }
}

impl Client {
    fn config(&self) -> &Config {
        self.core.config()
    }

    fn call(&self, api: Api, params: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = convert::owned_params(params)?;
        let answer = self.logged(self.core.call(api, fields))?;
        Ok(convert::decoded_to_array(&answer))
    }

    fn download(&self, api: Api, params: &ZendHashTable) -> PhpResult<Binary<u8>> {
        let fields = convert::owned_params(params)?;
        let body = self.logged(self.core.download(api, fields))?;
        // Refused here rather than by a fatal error that would leave `body` (outside
        // memory_limit) allocated for the rest of the worker's life.
        if let Err((limit, used)) = crate::engine::fits_memory_limit(body.len()) {
            return Err(crate::exceptions::simple(
                crate::exceptions::Class::Base,
                format!(
                    "{}: the bill of {} bytes does not fit in PHP's memory_limit ({limit} bytes, \
                     {used} in use): raise memory_limit, or lower bill_max_bytes to refuse such \
                     bills before they download",
                    api.spec().name,
                    body.len()
                ),
            ));
        }
        Ok(Binary::from(body))
    }

    /// Hands the finished call's attempts to the logger, back on PHP's side of the call,
    /// then returns its result (see `logger.rs` for why not during the call).
    fn logged<T>(&self, result: wxpay_core::Result<T>) -> PhpResult<T> {
        self.emit_log(result).map_err(to_php)
    }

    /// [`Client::logged`] for a result that stays a core one.
    fn emit_log<T>(&self, result: wxpay_core::Result<T>) -> wxpay_core::Result<T> {
        if let Some(logger) = &self.logger {
            logger.emit(self.core.take_attempts());
        }
        result
    }
}

fn check_nonempty<'a>(name: &str, value: &'a str) -> PhpResult<&'a str> {
    if value.is_empty() {
        Err(crate::exceptions::invalid(format!(
            "{name} must not be empty"
        )))
    } else {
        Ok(value)
    }
}
