//! The merchant every notify and response target checks against: the public test merchant
//! of docs/protocol.md §2 (V1), once per sign type, so both verifiers are exercised.

use std::sync::LazyLock;
use wxpay_core::config::Value;
use wxpay_core::{Config, SignType};

pub const APPID: &str = "wxd930ea5d5a258f4f";
pub const MCH_ID: &str = "10000100";

/// `[MD5, HMAC-SHA256]`, built through the same validation as a PHP caller's config.
pub static CONFIGS: LazyLock<[Config; 2]> =
    LazyLock::new(|| [config(SignType::Md5), config(SignType::HmacSha256)]);

fn config(sign_type: SignType) -> Config {
    let entry = |k: &str, v: &str| (k.to_owned(), Value::Str(v.to_owned()));
    Config::from_entries([
        entry("appid", APPID),
        entry("mch_id", MCH_ID),
        entry("key", "192006250b4c09247ec02edce69f6a2d"),
        entry("sign_type", sign_type.as_str()),
    ])
    .expect("the fuzz config is valid")
}

/// Fields as the core returns them.
pub type Fields = Vec<(String, String)>;

/// Works on owned and on borrowed (`xml::Fields`) results alike.
pub fn get<'a, K: AsRef<str>, V: AsRef<str>>(fields: &'a [(K, V)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.as_ref() == name)
        .map(|(_, v)| v.as_ref())
}

/// Same names and values in the same order, whatever the string types.
pub fn same<K: AsRef<str>, V: AsRef<str>>(got: &[(K, V)], expected: &[(String, String)]) -> bool {
    got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|((k, v), (ek, ev))| k.as_ref() == ek && v.as_ref() == ev)
}

/// Replaces `sign` with a correct one for `config` (appended last, as WeChat does).
pub fn resign(fields: &mut Fields, config: &Config) {
    fields.retain(|(k, _)| k != "sign");
    let sign = wxpay_core::sign::sign(fields, config.key.expose(), config.sign_type);
    fields.push(("sign".into(), sign.as_str().into()));
}
