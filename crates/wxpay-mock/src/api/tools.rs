//! tools/shorturl, tools/authcodetoopenid, payitil/report and the sandbox key.

use super::{mock_openid, valid_auth_code};
use crate::app::{App, alnum};
use crate::proto::{Answer, Req, kv};

/// The mock keeps no table: the short URL only has to look like WeChat's.
pub fn short_url() -> Answer {
    Answer::ok(vec![kv(
        "short_url",
        format!("weixin://wxpay/s/{}", alnum(7)),
    )])
}

pub fn auth_code_to_openid(req: &Req) -> Answer {
    let code = req.must("auth_code");
    if !valid_auth_code(code) {
        return Answer::err("AUTH_CODE_INVALID", "授权码检验错误");
    }
    Answer::ok(vec![kv("openid", mock_openid(code))])
}

/// The report is accepted and forgotten; its answer is unsigned (docs/protocol.md §3.1, §3.8).
pub fn report() -> Answer {
    Answer::Unsigned(vec![
        kv("return_code", "SUCCESS"),
        kv("result_code", "SUCCESS"),
    ])
}

/// Unsigned, like WeChat's (docs/protocol.md §3.1).
pub fn get_sign_key(app: &App) -> Answer {
    Answer::Unsigned(vec![
        kv("return_code", "SUCCESS"),
        kv("return_msg", "ok"),
        kv("mch_id", &app.merchant.mch_id),
        kv("sandbox_signkey", &app.merchant.sandbox_key),
    ])
}
