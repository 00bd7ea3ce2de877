//! `WxPay\Client`: one merchant configuration, with the offline builders and the
//! notification handlers.
// Rust parameter names are PHP's parameter names (named arguments), which are camelCase.
#![allow(non_snake_case)]

use crate::convert;
use crate::exceptions::{PhpResult, exception_object, to_php};
use crate::handlers;
use crate::logger::Logger;
use crate::primitives::{sign_params, verify_params};
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
use wxpay_core::{Api, Client as CoreClient, Config, Error, invoke, nonce, notify};

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
        array(&shown)
    }

    /// Signs `params` with this merchant's key and sign type.
    pub fn sign(&self, params: &ZendHashTable) -> PhpResult<convert::PhpStr> {
        sign_params(params, self.config().key.expose(), self.config().sign_type)
    }

    /// Verifies `params['sign']` with this merchant's key and pinned sign type.
    pub fn verify(&self, params: &ZendHashTable) -> PhpResult<bool> {
        verify_params(params, self.config().key.expose(), self.config().sign_type)
    }

    /// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment` parameters.
    pub fn jsapiParams(&self, prepayId: &Zval) -> PhpResult<ZBox<ZendHashTable>> {
        let prepay = convert::prepay_id(prepayId)?;
        Ok(array(&invoke::jsapi(
            self.config(),
            prepay,
            now(),
            &fresh_nonce()?,
        )))
    }

    /// The APP SDK's `PayReq` parameters.
    pub fn appParams(&self, prepayId: &Zval) -> PhpResult<ZBox<ZendHashTable>> {
        let prepay = convert::prepay_id(prepayId)?;
        Ok(array(&invoke::app(
            self.config(),
            prepay,
            now(),
            &fresh_nonce()?,
        )))
    }

    /// Native mode 1 `weixin://wxpay/bizpayurl?…` for a product.
    pub fn nativeUrl(&self, productId: &str) -> PhpResult<String> {
        let product = check_nonempty("productId", productId)?;
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
        Ok(convert::fields_to_array(
            fields.iter().map(|(k, v)| (*k, v.as_ref())),
        ))
    }

    /// Parses a refund notification: decrypts `req_info` with the key; the envelope fields
    /// sent, then the decrypted ones (`notify::parse_refund`).
    pub fn parseRefundNotify(&self, body: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = notify::parse_refund(&body, self.config()).map_err(to_php)?;
        Ok(array(&fields))
    }

    /// Verifies a payment notify (as `parseNotify`), calls `onPaid(array $notify, bool
    /// $paid)` with it, and returns the reply to echo: SUCCESS once the callback returns
    /// (`$paid` is false for a verified `result_code=FAIL`, which is acknowledged too); FAIL
    /// with a generic message, the reason written to the error log, when the notify is not
    /// verified or the callback throws or returns false (the exception is caught).
    pub fn handleNotify(&self, body: BinarySlice<u8>, onPaid: ZendCallable) -> String {
        let handled = notify::handle_payment(&body, self.config(), |n| {
            let mut fields = Zval::new();
            fields.set_hashtable(convert::fields_to_array(
                n.fields.iter().map(|(k, v)| (*k, v.as_ref())),
            ));
            handlers::call(&onPaid, vec![&fields, &n.paid])
        });
        handlers::reply(&handled, "handleNotify")
    }

    /// Verifies and decrypts a refund notify (as `parseRefundNotify`), calls
    /// `onRefund(array $refund)` with it, and returns the reply to echo, as `handleNotify`.
    pub fn handleRefundNotify(&self, body: BinarySlice<u8>, onRefund: ZendCallable) -> String {
        let handled = notify::handle_refund(&body, self.config(), |f| {
            let mut fields = Zval::new();
            fields.set_hashtable(array(f));
            handlers::call(&onRefund, vec![&fields])
        });
        handlers::reply(&handled, "handleRefundNotify")
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

    /// Any other v2 endpoint, e.g. `/pay/somecall`: common fields filled, and the answer
    /// must be signed for this merchant. A known path follows its call's rules; any other
    /// is sent once, retried only when `retry` says re-sending it is harmless.
    #[php(defaults(cert = false, retry = false))]
    pub fn request(
        &self,
        path: &str,
        params: &ZendHashTable,
        cert: bool,
        retry: bool,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = convert::owned_params(params)?;
        let answer = self.logged(self.core.request(path, fields, cert, retry))?;
        Ok(array(&answer))
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
                    zv.set_hashtable(array(&fields));
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
        outTradeNo: &str,
        totalFee: i64,
    ) -> PhpResult<()> {
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
        Ok(array(&answer))
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
        if let Some(logger) = &self.logger {
            logger.emit(self.core.take_attempts());
        }
        result.map_err(to_php)
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
