//! The marketing calls (docs/protocol.md §12): cash red packets, transfers to balance and to
//! bank cards, and the RSA key bank-card transfers encrypt with. They break the rules of the
//! payment calls in ways the table below records: their own names for the merchant fields
//! (`wxappid`, `mch_appid`/`mchid`, none), MD5 only, no `sign_type` on the wire, unsigned
//! answers, and a signature WeChat computes over the documented fields only (§12.1), which
//! is why each call's field list is closed here.

use crate::api::{self, Api, Fields, Host, Identity, Reply, Signing, Spec};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::notify::get;
use crate::params;
use crate::xml;
use base64::Engine;
use rsa::traits::PublicKeyParts;

const REDPACK: Identity = Identity::Marketing {
    appid: Some("wxappid"),
    mch_id: "mch_id",
    sign_type: false,
};
const QUERY: Identity = Identity::Marketing {
    appid: Some("appid"),
    mch_id: "mch_id",
    sign_type: false,
};
const TRANSFER: Identity = Identity::Marketing {
    appid: Some("mch_appid"),
    mch_id: "mchid",
    sign_type: false,
};
const BANK: Identity = Identity::Marketing {
    appid: None,
    mch_id: "mch_id",
    sign_type: false,
};

const fn marketing_spec(
    name: &'static str,
    path: &'static str,
    reply: Reply,
    required: &'static [&'static str],
    identity: Identity,
) -> Spec {
    // Every marketing call needs the client certificate and may be re-sent with identical
    // fields: WeChat re-enters by mch_billno / partner_trade_no (§12.2–12.4).
    Spec {
        name,
        path,
        cert: true,
        reply,
        required,
        one_of: &[],
        retry_safe: true,
        // MD5 whatever the configuration; marketing::fill_and_check adds `sign_type` where
        // the call documents it.
        signing: Signing::Md5Undeclared,
        identity,
        host: Host::Api,
    }
}

const REDPACK_REQUIRED: &[&str] = &[
    "mch_billno",
    "send_name",
    "re_openid",
    "total_amount",
    "total_num",
    "wishing",
    "act_name",
    "remark",
];

static SEND_REDPACK: Spec = marketing_spec(
    "sendredpack",
    "/mmpaymkttransfers/sendredpack",
    Reply::Unsigned,
    // client_ip too, which is always filled (fill_and_check).
    REDPACK_REQUIRED,
    REDPACK,
);
static SEND_GROUP_REDPACK: Spec = marketing_spec(
    "sendgroupredpack",
    "/mmpaymkttransfers/sendgroupredpack",
    Reply::Unsigned,
    REDPACK_REQUIRED,
    REDPACK,
);
static REDPACK_INFO: Spec = marketing_spec(
    "gethbinfo",
    "/mmpaymkttransfers/gethbinfo",
    Reply::Unsigned,
    &["mch_billno", "bill_type"],
    QUERY,
);
static TRANSFER_SPEC: Spec = marketing_spec(
    "transfers",
    "/mmpaymkttransfers/promotion/transfers",
    Reply::Unsigned,
    &[
        "partner_trade_no",
        "openid",
        "check_name",
        "amount",
        "desc",
        "spbill_create_ip",
    ],
    TRANSFER,
);
static TRANSFER_INFO: Spec = marketing_spec(
    "gettransferinfo",
    "/mmpaymkttransfers/gettransferinfo",
    Reply::Unsigned,
    &["partner_trade_no"],
    QUERY,
);
static PAY_BANK: Spec = marketing_spec(
    "pay_bank",
    "/mmpaysptrans/pay_bank",
    Reply::SignedWhenPresent,
    &[
        "partner_trade_no",
        "enc_bank_no",
        "enc_true_name",
        "bank_code",
        "amount",
    ],
    BANK,
);
static QUERY_BANK: Spec = marketing_spec(
    "query_bank",
    "/mmpaysptrans/query_bank",
    Reply::Unsigned,
    &["partner_trade_no"],
    BANK,
);
static RISK_PUBLIC_KEY: Spec = Spec {
    host: Host::Risk,
    ..marketing_spec(
        "getpublickey",
        "/risk/getpublickey",
        Reply::Unsigned,
        &[],
        Identity::Marketing {
            appid: None,
            mch_id: "mch_id",
            sign_type: true,
        },
    )
};

/// The spec of a marketing call. The payment calls' specs are in [`Api::spec`].
pub(crate) fn spec(api: Api) -> &'static Spec {
    match api {
        Api::SendRedpack => &SEND_REDPACK,
        Api::SendGroupRedpack => &SEND_GROUP_REDPACK,
        Api::RedpackInfo => &REDPACK_INFO,
        Api::Transfer => &TRANSFER_SPEC,
        Api::TransferInfo => &TRANSFER_INFO,
        Api::PayBank => &PAY_BANK,
        Api::QueryBank => &QUERY_BANK,
        Api::RiskPublicKey => &RISK_PUBLIC_KEY,
        _ => unreachable!("{api:?} is a payment call: its spec is in api.rs"),
    }
}

/// The optional fields of each call (§12.2–12.5). With its required ones they are every
/// field it may carry besides the merchant fields, `nonce_str`, `sign_type` (where sent) and
/// `sign`. WeChat signs only these, so any other field would make it answer 签名错误
/// (§12.1): it is refused here instead.
fn optional(api: Api) -> &'static [&'static str] {
    match api {
        Api::SendRedpack => &[
            "client_ip",
            "scene_id",
            "risk_info",
            "consume_mch_id",
            "sub_mch_id",
            "msgappid",
        ],
        // amt_type is always filled (fill_and_check).
        Api::SendGroupRedpack => &[
            "amt_type",
            "scene_id",
            "risk_info",
            "consume_mch_id",
            "sub_mch_id",
            "msgappid",
        ],
        Api::Transfer => &[
            "device_info",
            "re_user_name",
            "scene",
            "brand_id",
            "finder_template_id",
        ],
        Api::PayBank => &["desc"],
        _ => &[],
    }
}

/// Red packets outside 1–200 yuan need a `scene_id` (§12.2).
const REDPACK_PLAIN_RANGE: std::ops::RangeInclusive<u64> = 100..=20_000;
/// The most an RSA-2048 OAEP-SHA1 block carries: 256 − 2·20 − 2 bytes.
const OAEP_SHA1_MAX_PLAINTEXT: usize = 214;
/// WeChat's key is RSA-2048 (§12.5); a shorter one is refused as not WeChat's.
pub const RISK_KEY_MIN_BITS: usize = 2048;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// `value` is 1 to `max` bytes of `[0-9A-Za-z]` (at least `min`).
fn alnum(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} must be {min} to {max} letters or digits, \"{value}\" given"
        )))
    }
}

fn one_of(field: &str, value: &str, values: &[&str]) -> Result<()> {
    if values.contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} must be one of {}, \"{value}\" given",
            values.join(", ")
        )))
    }
}

/// The card number and the account holder's name are given in the clear and encrypted by
/// the client; their rules never repeat the value.
fn bank_plaintext(field: &str, value: &str) -> Result<()> {
    let ok = match field {
        "enc_bank_no" => {
            (8..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
        }
        _ => !value.trim().is_empty() && value.len() <= OAEP_SHA1_MAX_PLAINTEXT,
    };
    if ok {
        return Ok(());
    }
    let rule = match field {
        "enc_bank_no" => "must be the card number in the clear, 8 to 32 digits".to_owned(),
        _ => format!(
            "must be the account holder's name in the clear, 1 to {OAEP_SHA1_MAX_PLAINTEXT} bytes"
        ),
    };
    Err(invalid(format!(
        "{field} {rule} (the client encrypts it); the value is not repeated here"
    )))
}

/// One field's rule (§12.2–12.5); fields without a rule here pass.
fn check_field(api: Api, field: &str, value: &str) -> Result<()> {
    let len = |max| params::max_bytes(field, value, max);
    match field {
        "nonce_str" | "device_info" | "consume_mch_id" | "sub_mch_id" | "msgappid" => len(32),
        "send_name" | "act_name" => len(32),
        "wishing" | "risk_info" | "openid" | "re_openid" => len(128),
        "remark" => len(256),
        "desc" => len(100),
        "mch_billno" => alnum(field, value, 1, 28),
        "partner_trade_no" if matches!(api, Api::PayBank | Api::QueryBank) => {
            alnum(field, value, 8, 32)
        }
        "partner_trade_no" => alnum(field, value, 1, 32),
        "total_amount" | "amount" => params::fee(field, value).map(drop),
        "total_num" => match value.parse::<u32>() {
            Ok(n) if n > 0 && !value.starts_with(['0', '+']) => Ok(()),
            _ => Err(invalid(format!(
                "total_num must be a positive whole number, \"{value}\" given"
            ))),
        },
        "client_ip" | "spbill_create_ip" => params::ip(field, value),
        "scene_id" => one_of(
            field,
            value,
            &[
                "PRODUCT_1",
                "PRODUCT_2",
                "PRODUCT_3",
                "PRODUCT_4",
                "PRODUCT_5",
                "PRODUCT_6",
                "PRODUCT_7",
                "PRODUCT_8",
            ],
        ),
        "amt_type" => one_of(field, value, &["ALL_RAND"]),
        "bill_type" => one_of(field, value, &["MCHT"]),
        "check_name" => one_of(field, value, &["NO_CHECK", "FORCE_CHECK"]),
        "bank_code" if value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        "bank_code" => Err(invalid(format!(
            "bank_code must be WeChat's 4-digit bank number (such as 1001), \"{value}\" given"
        ))),
        "enc_bank_no" | "enc_true_name" => bank_plaintext(field, value),
        _ => Ok(()),
    }
}

/// The rules between fields (§12.2–12.3).
fn check_together(api: Api, fields: &[(String, String)]) -> Result<()> {
    let value = |name| get(fields, name).unwrap_or_default();
    match api {
        Api::SendRedpack => {
            if value("total_num") != "1" {
                return Err(invalid(format!(
                    "total_num must be 1 for sendredpack (one payer; use sendGroupRedpack for \
                     a group), \"{}\" given",
                    value("total_num")
                )));
            }
            let amount = params::fee("total_amount", value("total_amount"))?;
            if !REDPACK_PLAIN_RANGE.contains(&amount) && !api::present(fields, "scene_id") {
                return Err(invalid(format!(
                    "scene_id is required when total_amount is under 100 or over 20000 fen, \
                     {amount} given"
                )));
            }
        }
        Api::SendGroupRedpack if value("total_num").parse::<u32>().is_ok_and(|n| n < 3) => {
            return Err(invalid(format!(
                "total_num must be at least 3 for sendgroupredpack, \"{}\" given",
                value("total_num")
            )));
        }
        Api::Transfer
            if value("check_name") == "FORCE_CHECK" && !api::present(fields, "re_user_name") =>
        {
            return Err(invalid(
                "re_user_name is required when check_name is FORCE_CHECK".into(),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// The sandbox has only payment calls: a marketing call there is refused before anything is
/// sent (the sandbox key included).
pub(crate) fn refuse_sandbox(api: Api, config: &Config) -> Result<()> {
    if config.sandbox && api.spec().identity.is_marketing() {
        return Err(Error::Config(format!(
            "{} is not in WeChat's sandbox (it has only payment calls): use a client without \
             config \"sandbox\"",
            api.spec().name
        )));
    }
    Ok(())
}

/// Fills a marketing call's merchant fields, `nonce_str`, `sign_type` (where documented) and
/// defaults, and checks every field: the closed field list, the required fields and each
/// field's rule (§12). For pay_bank the bank fields are still in the clear: the client
/// encrypts them next ([`encrypt_bank_card`]).
pub(crate) fn fill_and_check(api: Api, config: &Config, params: Fields) -> Result<Fields> {
    let spec = api.spec();
    let Identity::Marketing {
        appid,
        mch_id,
        sign_type,
    } = spec.identity
    else {
        unreachable!("{api:?} is a payment call");
    };
    refuse_sandbox(api, config)?;
    let documented: Vec<&str> = spec.required.iter().chain(optional(api)).copied().collect();
    let mut fields = params;
    for (name, value) in &fields {
        let ours = [(appid, &config.appid), (Some(mch_id), &config.mch_id)]
            .into_iter()
            .find(|(n, _)| *n == Some(name.as_str()));
        match ours {
            Some((_, ours)) if value.is_empty() || value == ours => {}
            Some((_, ours)) => {
                return Err(invalid(format!(
                    "{name} comes from the client config (\"{ours}\") and cannot be changed per \
                     call, \"{value}\" given"
                )));
            }
            None if documented.contains(&name.as_str()) || name == "nonce_str" => {}
            None if name == "sign_type" && sign_type => {}
            None => {
                return Err(invalid(format!(
                    "{name} is not a field of {}: WeChat signs only its documented fields ({}), \
                     so it would answer 签名错误",
                    spec.name,
                    if documented.is_empty() {
                        "none besides the merchant's".to_owned()
                    } else {
                        documented.join(", ")
                    }
                )));
            }
        }
    }
    let local_ip = config.spbill_create_ip.as_deref().unwrap_or("127.0.0.1");
    let mut defaults: Vec<(&str, &str)> = vec![("nonce_str", "")];
    if let Some(appid) = appid {
        defaults.push((appid, &config.appid));
    }
    defaults.push((mch_id, &config.mch_id));
    if sign_type {
        defaults.push(("sign_type", "MD5"));
    }
    defaults.extend(match api {
        Api::SendRedpack => vec![("client_ip", local_ip), ("total_num", "1")],
        Api::SendGroupRedpack => vec![("amt_type", "ALL_RAND")],
        Api::RedpackInfo => vec![("bill_type", "MCHT")],
        Api::Transfer => vec![("spbill_create_ip", local_ip)],
        _ => Vec::new(),
    });
    for (name, value) in defaults {
        if !api::present(&fields, name) {
            fields.retain(|(k, _)| k != name);
            let value = if name == "nonce_str" {
                api::fresh_nonce()?
            } else {
                value.to_owned()
            };
            fields.push((name.to_owned(), value));
        }
    }
    if let Some(missing) = spec.required.iter().find(|n| !api::present(&fields, n)) {
        return Err(invalid(format!("{missing} is required by {}", spec.name)));
    }
    if sign_type && get(&fields, "sign_type") != Some("MD5") {
        return Err(invalid(format!(
            "sign_type for {} must be MD5 (the only type it accepts), \"{}\" given",
            spec.name,
            get(&fields, "sign_type").unwrap_or_default()
        )));
    }
    for (name, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        check_field(api, name, value)?;
    }
    check_together(api, &fields)?;
    Ok(fields)
}

/// Answers are unsigned, so only the merchant fields they carry can be checked: each must be
/// ours (`what` names the answer in the message).
pub(crate) fn check_identity_if_present(
    fields: &[(String, String)],
    identity: Identity,
    config: &Config,
    what: &str,
) -> Result<()> {
    let (appid, mch_id) = identity.names();
    let expected = [(appid, &config.appid), (Some(mch_id), &config.mch_id)];
    for (name, ours) in expected {
        let Some(name) = name else { continue };
        if let Some(v) = get(fields, name)
            && v != ours
        {
            return Err(Error::Signature(format!(
                "{what} is for {name} \"{v}\", this client is configured for \"{ours}\""
            )));
        }
    }
    Ok(())
}

/// Reads a gethbinfo answer, the one v2 answer that nests: its `hblist` holds one `hbinfo`
/// (`openid`, `amount`, `rcv_time`) per payer who opened the red packet (§12.2). They become
/// flat fields `hbinfo_0_openid`, `hbinfo_0_amount`, …, in order; every part is decoded as
/// strictly as any answer, and the whole stays under [`xml::MAX_FIELDS`].
pub(crate) fn decode_redpack_info(body: &[u8]) -> Result<Fields> {
    let Some((outer, list)) = xml::split_child(body, "hblist")? else {
        return api::decode(body);
    };
    let mut fields = api::decode(&outer)?;
    let mut rest = [b"<xml>".as_slice(), &list, b"</xml>"].concat();
    let mut n = 0;
    while let Some((left, entry)) = xml::split_child(&rest, "hbinfo")? {
        let entry = api::decode(&[b"<xml>".as_slice(), &entry, b"</xml>"].concat())?;
        fields.extend(
            entry
                .into_iter()
                .map(|(k, v)| (format!("hbinfo_{n}_{k}"), v)),
        );
        if fields.len() > xml::MAX_FIELDS {
            return Err(xml::XmlError::TooManyFields {
                max: xml::MAX_FIELDS,
            }
            .into());
        }
        n += 1;
        rest = left;
    }
    if let Some((name, _)) = api::decode(&rest)?.first() {
        return Err(Error::Xml(xml::XmlError::Malformed {
            detail: format!("gethbinfo: hblist holds <{name}>, only <hbinfo> entries"),
        }));
    }
    Ok(fields)
}

/// WeChat's RSA public key for the bank-card fields (§12.5), from `risk/getpublickey`.
#[derive(Clone, Debug)]
pub struct RiskKey(rsa::PublicKey);

impl RiskKey {
    /// Reads a PEM public key: PKCS#1 (`BEGIN RSA PUBLIC KEY`, what WeChat sends) or SPKI
    /// (`BEGIN PUBLIC KEY`). Keys under [`RISK_KEY_MIN_BITS`] are refused.
    pub fn from_pem(pem: &str) -> Result<Self> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::pkcs8::DecodePublicKey;
        let pem = pem.trim();
        let key = rsa::PublicKey::from_pkcs1_pem(pem)
            .or_else(|_| rsa::PublicKey::from_public_key_pem(pem))
            .map_err(|e| {
                Error::Signature(format!(
                    "getpublickey response: pub_key is not an RSA public key in PEM: {e}"
                ))
            })?;
        let bits = key.n().bit_width() as usize;
        if bits < RISK_KEY_MIN_BITS {
            return Err(Error::Signature(format!(
                "getpublickey response: pub_key is a {bits}-bit RSA key; WeChat's has \
                 {RISK_KEY_MIN_BITS} bits, a shorter one is refused"
            )));
        }
        Ok(Self(key))
    }

    /// RSA-OAEP with SHA-1 and MGF1-SHA-1, empty label, base64: what WeChat decrypts
    /// (OpenSSL's `RSA_PKCS1_OAEP_PADDING`, §12.5).
    pub fn encrypt(&self, plaintext: &str) -> Result<String> {
        let sealed = self
            .0
            .oaep_encrypt::<sha1::Sha1>(plaintext.as_bytes())
            .map_err(|e| Error::Config(format!("RSA-OAEP encryption failed: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// The key from a verified getpublickey answer.
    pub(crate) fn from_answer(fields: &[(String, String)]) -> Result<Self> {
        match get(fields, "pub_key") {
            Some(pem) if !pem.is_empty() => Self::from_pem(pem),
            _ => Err(Error::Signature(
                "getpublickey response: SUCCESS without pub_key".into(),
            )),
        }
    }
}

/// Replaces the card number and name, checked in the clear by [`fill_and_check`], with
/// their ciphertext.
pub(crate) fn encrypt_bank_card(mut fields: Fields, key: &RiskKey) -> Result<Fields> {
    for (name, value) in &mut fields {
        if name == "enc_bank_no" || name == "enc_true_name" {
            *value = key.encrypt(value)?;
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Value;
    use crate::sign::{self, SignType};

    use crate::api::tests::{KEY, config, f};

    const APPID: &str = "wxd930ea5d5a258f4f";
    const MCH_ID: &str = "10000100";

    /// A valid call of each kind, without its merchant fields or defaults.
    fn valid(api: Api) -> Fields {
        let redpack = [
            ("mch_billno", "RP20240101001"),
            ("send_name", "Shop"),
            ("re_openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
            ("total_amount", "300"),
            ("total_num", if api == Api::SendRedpack { "1" } else { "3" }),
            ("wishing", "Thanks"),
            ("act_name", "Spring"),
            ("remark", "Enjoy"),
        ];
        f(match api {
            Api::SendRedpack | Api::SendGroupRedpack => &redpack[..],
            Api::RedpackInfo => &[("mch_billno", "RP20240101001")],
            Api::Transfer => &[
                ("partner_trade_no", "T20240101001"),
                ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
                ("check_name", "NO_CHECK"),
                ("amount", "150"),
                ("desc", "Refund of deposit"),
            ],
            Api::TransferInfo | Api::QueryBank => &[("partner_trade_no", "B20240101001")],
            Api::PayBank => &[
                ("partner_trade_no", "B20240101001"),
                ("enc_bank_no", "6225880012345678"),
                ("enc_true_name", "张三"),
                ("bank_code", "1002"),
                ("amount", "10000"),
            ],
            _ => &[],
        })
    }

    fn key(name: &str) -> RiskKey {
        let path = format!("{}/../../tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        RiskKey::from_pem(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn prepared(api: Api, config: &Config, params: Fields) -> Result<api::Prepared> {
        match api {
            Api::PayBank => api::prepare_pay_bank(config, params, &key("risk_test_pub_pkcs1.pem")),
            _ => api::prepare(Some(api), config, params),
        }
    }

    fn invalid(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn each_call_carries_its_own_merchant_fields_signed_md5_without_sign_type() {
        // HMAC-SHA256 and a sub-merchant configured: neither reaches a marketing call.
        let c = config(&[
            ("sign_type", "HMAC-SHA256"),
            ("sub_mch_id", "1900000109"),
            ("sub_appid", "wxsub"),
            ("spbill_create_ip", "10.0.0.1"),
        ]);
        let expected: [(Api, &[(&str, &str)]); 8] = [
            (
                Api::SendRedpack,
                &[
                    ("wxappid", APPID),
                    ("mch_id", MCH_ID),
                    ("client_ip", "10.0.0.1"),
                ],
            ),
            (
                Api::SendGroupRedpack,
                &[
                    ("wxappid", APPID),
                    ("mch_id", MCH_ID),
                    ("amt_type", "ALL_RAND"),
                ],
            ),
            (
                Api::RedpackInfo,
                &[("appid", APPID), ("mch_id", MCH_ID), ("bill_type", "MCHT")],
            ),
            (
                Api::Transfer,
                &[
                    ("mch_appid", APPID),
                    ("mchid", MCH_ID),
                    ("spbill_create_ip", "10.0.0.1"),
                ],
            ),
            (Api::TransferInfo, &[("appid", APPID), ("mch_id", MCH_ID)]),
            (Api::PayBank, &[("mch_id", MCH_ID)]),
            (Api::QueryBank, &[("mch_id", MCH_ID)]),
            (
                Api::RiskPublicKey,
                &[("mch_id", MCH_ID), ("sign_type", "MD5")],
            ),
        ];
        for (api, filled) in expected {
            let p = prepared(api, &c, valid(api)).unwrap();
            for (k, v) in filled {
                assert_eq!(get(&p.fields, k), Some(*v), "{api:?} {k}");
            }
            let names: Vec<&str> = p.fields.iter().map(|(k, _)| k.as_str()).collect();
            for absent in ["appid", "mch_id", "sub_mch_id", "sub_appid", "sign_type"] {
                if !filled.iter().any(|(k, _)| *k == absent) {
                    assert!(!names.contains(&absent), "{api:?} must not send {absent}");
                }
            }
            assert_eq!(get(&p.fields, "nonce_str").unwrap().len(), 32);
            sign::verify(&p.fields, KEY, SignType::Md5).unwrap();
            let spec = api.spec();
            assert!(spec.cert && spec.retry_safe, "{api:?}");
            assert_eq!(Api::from_path(spec.path), Some(api));
        }
        assert_eq!(Api::RiskPublicKey.spec().host, Host::Risk);
        assert_eq!(
            Api::ALL
                .into_iter()
                .filter(|a| a.spec().reply == Reply::SignedWhenPresent)
                .collect::<Vec<_>>(),
            [Api::PayBank]
        );
        assert_eq!(api::sign_type_for(Some(Api::Transfer), &c), SignType::Md5);
    }

    #[test]
    fn pay_bank_sends_the_card_and_name_encrypted_and_nothing_prepares_it_in_the_clear() {
        let c = config(&[]);
        let p = prepared(Api::PayBank, &c, valid(Api::PayBank)).unwrap();
        for name in ["enc_bank_no", "enc_true_name"] {
            let sent = get(&p.fields, name).unwrap();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(sent)
                .unwrap();
            assert_eq!(raw.len(), 256, "{name}: one RSA-2048 block");
            assert!(!p.body.contains("6225880012345678") && !p.body.contains("张三"));
        }
        assert!(
            invalid(api::prepare(Some(Api::PayBank), &c, valid(Api::PayBank)))
                .contains("prepare_pay_bank")
        );
        api::check_pay_bank(&c, &valid(Api::PayBank)).unwrap();
    }

    #[test]
    fn refusals_name_the_field_and_the_rule() {
        let c = config(&[]);
        let with = |api: Api, change: &[(&str, &str)]| {
            let mut p = valid(api);
            for (k, v) in change {
                p.retain(|(name, _)| name != k);
                if !v.is_empty() {
                    p.push((k.to_string(), v.to_string()));
                }
            }
            p
        };
        let cases: Vec<(Api, Fields, &str)> = vec![
            (
                Api::QueryBank,
                with(Api::QueryBank, &[("appid", APPID)]),
                "appid is not a field of query_bank: WeChat signs only its documented fields (partner_trade_no), so it would answer 签名错误",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("sign_type", "MD5")]),
                "sign_type is not a field of sendredpack",
            ),
            (
                Api::RiskPublicKey,
                f(&[("sign_type", "HMAC-SHA256")]),
                "sign_type for getpublickey must be MD5",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("mch_id", "999")]),
                "mch_id comes from the client config (\"10000100\")",
            ),
            (
                Api::Transfer,
                with(Api::Transfer, &[("mchid", "999")]),
                "mchid comes from the client config",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("mch_billno", "RP-1")]),
                "mch_billno must be 1 to 28 letters or digits, \"RP-1\" given",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("total_num", "2")]),
                "total_num must be 1 for sendredpack",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("total_amount", "25000")]),
                "scene_id is required when total_amount is under 100 or over 20000 fen, 25000 given",
            ),
            (
                Api::SendRedpack,
                with(
                    Api::SendRedpack,
                    &[("total_amount", "25000"), ("scene_id", "PRODUCT_9")],
                ),
                "scene_id must be one of PRODUCT_1",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("total_amount", "1.5")]),
                "total_amount must be a positive whole number of fen",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("wishing", "")]),
                "wishing is required by sendredpack",
            ),
            (
                Api::SendRedpack,
                with(Api::SendRedpack, &[("client_ip", "localhost")]),
                "client_ip must be an IPv4 or IPv6 address",
            ),
            (
                Api::SendGroupRedpack,
                with(Api::SendGroupRedpack, &[("total_num", "2")]),
                "total_num must be at least 3 for sendgroupredpack",
            ),
            (
                Api::SendGroupRedpack,
                with(Api::SendGroupRedpack, &[("amt_type", "ALL_SAME")]),
                "amt_type must be one of ALL_RAND",
            ),
            (
                Api::RedpackInfo,
                with(Api::RedpackInfo, &[("bill_type", "ALL")]),
                "bill_type must be one of MCHT",
            ),
            (
                Api::Transfer,
                with(Api::Transfer, &[("check_name", "OPTION_CHECK")]),
                "check_name must be one of NO_CHECK, FORCE_CHECK",
            ),
            (
                Api::Transfer,
                with(Api::Transfer, &[("check_name", "FORCE_CHECK")]),
                "re_user_name is required when check_name is FORCE_CHECK",
            ),
            (
                Api::Transfer,
                with(Api::Transfer, &[("desc", &"x".repeat(101))]),
                "desc must be at most 100 bytes",
            ),
            (
                Api::PayBank,
                with(Api::PayBank, &[("partner_trade_no", "B1")]),
                "partner_trade_no must be 8 to 32 letters or digits",
            ),
            (
                Api::PayBank,
                with(Api::PayBank, &[("enc_bank_no", "6225 8800 1234 5678")]),
                "enc_bank_no must be the card number in the clear, 8 to 32 digits (the client encrypts it); the value is not repeated here",
            ),
            (
                Api::PayBank,
                with(Api::PayBank, &[("enc_true_name", " ")]),
                "enc_true_name must be the account holder's name in the clear, 1 to 214 bytes",
            ),
            (
                Api::PayBank,
                with(Api::PayBank, &[("bank_code", "ICBC")]),
                "bank_code must be WeChat's 4-digit bank number",
            ),
            (
                Api::TransferInfo,
                f(&[]),
                "partner_trade_no is required by gettransferinfo",
            ),
        ];
        for (api, params, expected) in cases {
            let m = invalid(match api {
                Api::PayBank => api::check_pay_bank(&c, &params),
                _ => api::prepare(Some(api), &c, params).map(drop),
            });
            assert!(m.starts_with(expected), "{api:?}: {m}");
            assert!(!m.contains("6225") && !m.contains("8800"), "{m}");
        }
        let sandbox = Config::from_entries([
            ("appid".to_owned(), Value::Str(APPID.into())),
            ("mch_id".to_owned(), Value::Str(MCH_ID.into())),
            ("key".to_owned(), Value::Str(KEY.into())),
            ("sandbox".to_owned(), Value::Bool(true)),
        ])
        .unwrap();
        match api::prepare(Some(Api::Transfer), &sandbox, valid(Api::Transfer)) {
            Err(Error::Config(m)) => assert!(m.starts_with("transfers is not in WeChat's sandbox")),
            other => panic!("{other:?}"),
        }
    }

    fn answer(fields: &[(&str, &str)]) -> Vec<u8> {
        xml::encode(&f(fields)).unwrap().into_bytes()
    }

    #[test]
    fn unsigned_answers_are_read_and_their_merchant_fields_checked() {
        let c = config(&[]);
        let ok = [
            ("return_code", "SUCCESS"),
            ("return_msg", "发放成功"),
            ("result_code", "SUCCESS"),
            ("mch_billno", "RP20240101001"),
            ("mch_id", MCH_ID),
            ("wxappid", APPID),
            ("send_listid", "100000000020150520314766074200"),
        ];
        let fields = api::classify(Some(Api::SendRedpack), &answer(&ok), &c).unwrap();
        assert_eq!(
            get(&fields, "send_listid"),
            Some("100000000020150520314766074200")
        );
        let mut foreign = ok.to_vec();
        foreign[5] = ("wxappid", "wxother");
        match api::classify(Some(Api::SendRedpack), &answer(&foreign), &c) {
            Err(Error::Signature(m)) => assert_eq!(
                m,
                "sendredpack response is for wxappid \"wxother\", this client is configured for \"wxd930ea5d5a258f4f\""
            ),
            other => panic!("{other:?}"),
        }
        let transfer = [
            ("return_code", "SUCCESS"),
            ("mch_appid", APPID),
            ("mchid", "999"),
            ("result_code", "SUCCESS"),
        ];
        assert!(matches!(
            api::classify(Some(Api::Transfer), &answer(&transfer), &c),
            Err(Error::Signature(_))
        ));
        let notenough = [
            ("return_code", "SUCCESS"),
            ("return_msg", "帐号余额不足，请到商户平台充值后再重试"),
            ("result_code", "FAIL"),
            ("err_code", "NOTENOUGH"),
            ("err_code_des", "帐号余额不足，请到商户平台充值后再重试"),
            ("mch_id", MCH_ID),
        ];
        match api::classify(Some(Api::SendRedpack), &answer(&notenough), &c) {
            Err(Error::Api(e)) => assert!(e.err_code == "NOTENOUGH" && !e.is_retryable()),
            other => panic!("{other:?}"),
        }
        let sign_error = [
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "SIGN_ERROR"),
            ("err_code_des", "签名错误"),
        ];
        match api::classify(Some(Api::Transfer), &answer(&sign_error), &c) {
            Err(e @ Error::Api(_)) => {
                assert!(e.to_string().contains("check that the API key"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pay_bank_answers_are_verified_when_signed() {
        let c = config(&[("sign_type", "HMAC-SHA256")]);
        let fields = f(&[
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("mch_id", MCH_ID),
            ("partner_trade_no", "B20240101001"),
            ("amount", "10000"),
            ("payment_no", "10000600500852017030900000020006012"),
            ("cmms_amt", "100"),
            ("nonce_str", "n"),
        ]);
        let signed = |key: &str, t: SignType| {
            let mut all = fields.clone();
            let s = sign::sign(&all, key, t);
            all.push(("sign".into(), s.as_str().into()));
            xml::encode(&all).unwrap().into_bytes()
        };
        api::classify(Some(Api::PayBank), &signed(KEY, SignType::Md5), &c).unwrap();
        api::classify(
            Some(Api::PayBank),
            &xml::encode(&fields).unwrap().into_bytes(),
            &c,
        )
        .unwrap();
        for bad in [
            signed("0123456789abcdef0123456789abcdef", SignType::Md5),
            signed(KEY, SignType::HmacSha256),
        ] {
            assert!(matches!(
                api::classify(Some(Api::PayBank), &bad, &c),
                Err(Error::Signature(m)) if m.starts_with("pay_bank response: ")
            ));
        }
    }

    #[test]
    fn redpack_info_flattens_its_list_of_openers() {
        let c = config(&[]);
        let body = format!(
            "<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code>SUCCESS</result_code>\
             <mch_billno>RP1</mch_billno><mch_id>{MCH_ID}</mch_id><status>RECEIVED</status>\
             <hblist>\n<hbinfo><openid><![CDATA[o1]]></openid><amount>100</amount>\
             <rcv_time>2024-01-01 10:00:00</rcv_time></hbinfo>\n<hbinfo><openid>o2</openid>\
             <amount>200</amount><rcv_time>2024-01-01 10:01:00</rcv_time></hbinfo></hblist>\
             <total_amount>300</total_amount></xml>"
        );
        let fields = api::classify(Some(Api::RedpackInfo), body.as_bytes(), &c).unwrap();
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "return_code",
                "result_code",
                "mch_billno",
                "mch_id",
                "status",
                "total_amount",
                "hbinfo_0_openid",
                "hbinfo_0_amount",
                "hbinfo_0_rcv_time",
                "hbinfo_1_openid",
                "hbinfo_1_amount",
                "hbinfo_1_rcv_time",
            ]
        );
        assert_eq!(get(&fields, "hbinfo_1_amount"), Some("200"));
        let empty = "<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><hblist/></xml>";
        assert_eq!(
            api::classify(Some(Api::RedpackInfo), empty.as_bytes(), &c)
                .unwrap()
                .len(),
            2
        );
        for bad in [
            "<xml><return_code>SUCCESS</return_code><hblist><other>1</other></hblist></xml>",
            "<xml><return_code>SUCCESS</return_code><hblist><hbinfo><a><b/></a></hbinfo></hblist></xml>",
            "<xml><return_code>SUCCESS</return_code><hblist><hbinfo>x</hblist></xml>",
        ] {
            assert!(
                matches!(
                    api::classify(Some(Api::RedpackInfo), bad.as_bytes(), &c),
                    Err(Error::Xml(_))
                ),
                "{bad}"
            );
        }
        let many: String = (0..400)
            .map(|i| {
                format!(
                    "<hbinfo><openid>o{i}</openid><amount>1</amount><rcv_time>t</rcv_time></hbinfo>"
                )
            })
            .collect();
        let flood = format!("<xml><return_code>SUCCESS</return_code><hblist>{many}</hblist></xml>");
        assert!(matches!(
            api::classify(Some(Api::RedpackInfo), flood.as_bytes(), &c),
            Err(Error::Xml(xml::XmlError::TooManyFields { .. }))
        ));
    }

    #[test]
    fn risk_keys_are_read_from_pkcs1_or_spki_and_short_or_broken_ones_refused() {
        assert_eq!(
            key("risk_test_pub_pkcs1.pem").0,
            key("risk_test_pub_spki.pem").0
        );
        let read = |pem: &str| match RiskKey::from_pem(pem) {
            Err(Error::Signature(m)) => m,
            other => panic!("{other:?}"),
        };
        let short = std::fs::read_to_string(format!(
            "{}/../../tests/vectors/risk_test_pub_1024.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(read(&short).contains("1024-bit RSA key"));
        assert!(
            read("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----")
                .contains("not an RSA public key")
        );
        let answer = f(&[("return_code", "SUCCESS"), ("mch_id", MCH_ID)]);
        assert!(
            matches!(RiskKey::from_answer(&answer), Err(Error::Signature(m)) if m.contains("without pub_key"))
        );
    }

    /// The independent check: what the client encrypts, OpenSSL decrypts with the private
    /// key as WeChat does (RSA_PKCS1_OAEP_PADDING: OAEP, SHA-1, MGF1-SHA-1).
    #[test]
    fn encryption_is_oaep_sha1_as_openssl_decrypts_it() {
        let vectors = format!("{}/../../tests/vectors", env!("CARGO_MANIFEST_DIR"));
        let key = key("risk_test_pub_pkcs1.pem");
        let dir = std::env::temp_dir().join(format!("wxpay-oaep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for plaintext in ["6225880012345678", "张三", "Zhang San-Li"] {
            let sealed = key.encrypt(plaintext).unwrap();
            assert_ne!(
                sealed,
                key.encrypt(plaintext).unwrap(),
                "OAEP is randomised"
            );
            let path = dir.join("sealed.bin");
            std::fs::write(
                &path,
                base64::engine::general_purpose::STANDARD
                    .decode(&sealed)
                    .unwrap(),
            )
            .unwrap();
            let out = std::process::Command::new("openssl")
                .args(["pkeyutl", "-decrypt", "-inkey"])
                .arg(format!("{vectors}/risk_test_key.pem"))
                .arg("-in")
                .arg(&path)
                .args([
                    "-pkeyopt",
                    "rsa_padding_mode:oaep",
                    "-pkeyopt",
                    "rsa_oaep_md:sha1",
                    "-pkeyopt",
                    "rsa_mgf1_md:sha1",
                ])
                .output()
                .expect(
                    "the openssl command (Debian package openssl, installed by scripts/deps.sh)",
                );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8(out.stdout).unwrap(), plaintext);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
