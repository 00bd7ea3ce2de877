//! `Signer`, `Xml` and `Notify`: the primitives for code that is not ready to move to
//! `Client` (README.md, "API").
// Rust parameter names are PHP's parameter names (named arguments), which are camelCase.
#![allow(non_snake_case)]

use crate::convert::{self, Bytes, PhpStr};
use crate::exceptions::{PhpResult, invalid, to_php};
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;
use std::cell::RefCell;
use wxpay_core::sign::{self, SignType};
use wxpay_core::{Error, notify, xml};

pub fn sign_type(name: &[u8]) -> PhpResult<SignType> {
    let name = convert::text("signType", name)?;
    SignType::parse(name).ok_or_else(|| {
        invalid(format!(
            "signType must be one of {}, \"{name}\" given",
            SignType::NAMES
        ))
    })
}

/// Signs a parameter array (read in place) with `key`; a `sign_type` among the parameters
/// must be `sign_type`.
pub fn sign_params(params: &ZendHashTable, key: &str, sign_type: SignType) -> PhpResult<PhpStr> {
    convert::with_pairs(params, |pairs| {
        sign::sign_declared_pairs(pairs, key.as_bytes(), sign_type)
            .map(|signature| PhpStr::new(signature.as_bytes()))
    })?
    .map_err(to_php)
}

/// Verifies a parameter array that includes `sign`; `false` for any mismatch.
pub fn verify_params(params: &ZendHashTable, key: &str, sign_type: SignType) -> PhpResult<bool> {
    convert::with_pairs(params, |pairs| {
        sign::verify_pairs(pairs, key.as_bytes(), sign_type).is_ok()
    })
}

/// Signs a parameter array and encodes it as a request body in one pass
/// (`sign::encode_signed`): the fields in signing order, then `sign`.
pub fn encode_signed_params(
    params: &ZendHashTable,
    key: &str,
    sign_type: SignType,
) -> PhpResult<PhpStr> {
    with_output(|out| {
        convert::with_pairs(params, |pairs| {
            sign::encode_signed(pairs, key.as_bytes(), sign_type, out).map_err(to_php)
        })?
    })
}

/// Runs `write` on a cleared buffer reused across calls, so that encoding allocates only
/// the PHP string it returns.
fn with_output(write: impl FnOnce(&mut Vec<u8>) -> PhpResult<()>) -> PhpResult<PhpStr> {
    thread_local! {
        static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    OUT.with_borrow_mut(|out| {
        out.clear();
        write(out)?;
        Ok(PhpStr::new(out))
    })
}

/// Encodes a parameter array as `<xml>` with CDATA values, in one pass over the array.
pub fn encode_params(params: &ZendHashTable) -> PhpResult<PhpStr> {
    with_output(|out| {
        out.extend_from_slice(b"<xml>");
        convert::for_each_param(params, |name, value| {
            xml::append_field(out, name, value).map_err(|e| invalid(e.to_string()))
        })?;
        out.extend_from_slice(b"</xml>");
        Ok(())
    })
}

/// Signs parameters with the API key (static helpers; no configuration).
#[php_class]
#[php(name = "WxPay\\Signer")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct Signer;

#[php_impl]
impl Signer {
    /// Sign per the v2 rule: byte-order sort, skip `sign` and empty values, append
    /// `&key=KEY`, MD5 or HMAC-SHA256, uppercase hex.
    // The key is taken as bytes, so that one that is not UTF-8 gets a precise refusal
    // rather than ext-php-rs's generic TypeError.
    #[php(defaults(signType = "\"MD5\""))]
    pub fn sign(
        params: &ZendHashTable,
        key: BinarySlice<u8>,
        signType: Bytes,
    ) -> PhpResult<PhpStr> {
        let key = sign::api_key(&key).map_err(to_php)?;
        sign_params(params, key, sign_type(signType.0)?)
    }

    /// Verify `params['sign']` with the given (pinned) type, in constant time.
    #[php(defaults(signType = "\"MD5\""))]
    pub fn verify(
        params: &ZendHashTable,
        key: BinarySlice<u8>,
        signType: Bytes,
    ) -> PhpResult<bool> {
        let key = sign::api_key(&key).map_err(to_php)?;
        verify_params(params, key, sign_type(signType.0)?)
    }
}

/// The v2 wire format.
#[php_class]
#[php(name = "WxPay\\Xml")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct Xml;

#[php_impl]
impl Xml {
    /// `<xml><name><![CDATA[value]]></name>…</xml>`, in the array's order.
    pub fn encode(fields: &ZendHashTable) -> PhpResult<PhpStr> {
        encode_params(fields)
    }

    /// Signs and encodes a request body in one pass: `<xml>`, the fields in the order they
    /// are signed in (byte order of names), then `sign`. The same body as `Signer::sign` +
    /// `Xml::encode` of the sorted fields. A `sign` among the parameters is refused, as is
    /// a `sign_type` naming another type, or none with HMAC-SHA256.
    #[php(defaults(signType = "\"MD5\""))]
    pub fn encodeSigned(
        params: &ZendHashTable,
        key: BinarySlice<u8>,
        signType: Bytes,
    ) -> PhpResult<PhpStr> {
        let key = sign::api_key(&key).map_err(to_php)?;
        encode_signed_params(params, key, sign_type(signType.0)?)
    }

    /// Decodes a flat document; refuses DOCTYPE, entities, nesting, duplicates, non-UTF-8.
    pub fn decode(xml: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        let fields = xml::decode(&xml).map_err(|e| to_php(Error::Xml(e)))?;
        Ok(convert::decoded_to_array(&fields))
    }
}

/// Replies to WeChat's notifications.
#[php_class]
#[php(name = "WxPay\\Notify")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct Notify;

#[php_impl]
impl Notify {
    /// The acknowledgement that stops WeChat's retries.
    pub fn success() -> &'static str {
        notify::SUCCESS_REPLY
    }

    /// A refusal: WeChat will deliver the notification again later.
    pub fn fail(message: BinarySlice<u8>) -> PhpResult<String> {
        Ok(notify::fail_reply(convert::text("message", &message)?))
    }
}
