//! The marketing APIs (docs/protocol.md §12): cash red packets, transfers to balance and to
//! bank cards, and the RSA key bank-card fields are encrypted with. Red packets and
//! transfers draw on the merchant's available balance ([`Ledger::balance`]); a request that
//! repeats a bill number with the same fields gets the first answer again (WeChat's
//! re-entry), with other fields FATAL_ERROR.

use super::fee;
use crate::app::{App, digits};
use crate::clock::{Beijing, now_ms};
use crate::proto::{Answer, Api, Fields, Req, kv};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// What a fresh mock merchant holds: 1,000,000.00 yuan (`/mock/balance` changes it).
pub const INITIAL_BALANCE: u64 = 100_000_000;
/// A bank-card transfer stays PROCESSING this long (before `--time-scale`), then succeeds.
const BANK_DELAY: Duration = Duration::from_secs(5);
/// Red packets average 1–200 yuan each unless a scene_id lifts the limit (§12.2).
const REDPACK_RANGE: std::ops::RangeInclusive<u64> = 100..=20_000;
/// Transfers to balance of less than 1 yuan: AMOUNT_LIMIT (the mock's choice, §12.3).
const TRANSFER_MIN: u64 = 100;
const SCENES: &[&str] = &[
    "PRODUCT_1",
    "PRODUCT_2",
    "PRODUCT_3",
    "PRODUCT_4",
    "PRODUCT_5",
    "PRODUCT_6",
    "PRODUCT_7",
    "PRODUCT_8",
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Opened {
    pub openid: String,
    pub amount: u64,
    pub rcv_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Redpack {
    pub mch_billno: String,
    pub send_listid: String,
    /// The request's business fields, to judge a re-entry.
    pub params: Fields,
    pub re_openid: String,
    pub total_amount: u64,
    pub total_num: u64,
    /// `NORMAL` or `GROUP`.
    pub hb_type: String,
    /// `SENT` until opened (`/mock/redpacks/{no}/receive`), then `RECEIVED`.
    pub status: String,
    pub send_ms: u64,
    pub wishing: String,
    pub remark: String,
    pub act_name: String,
    pub opened: Vec<Opened>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Transfer {
    pub partner_trade_no: String,
    pub params: Fields,
    pub payment_no: String,
    pub openid: String,
    pub re_user_name: String,
    pub amount: u64,
    pub desc: String,
    pub device_info: String,
    pub time_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BankTransfer {
    pub partner_trade_no: String,
    /// The business fields with the card number and name decrypted and hashed, to judge a
    /// re-entry (their ciphertext differs on every request).
    pub params: Fields,
    pub payment_no: String,
    pub amount: u64,
    pub cmms_amt: u64,
    pub bank_code: String,
    pub bank_no_md5: String,
    pub true_name_md5: String,
    /// The ciphertext as received, so that a test can decrypt it independently.
    pub enc_bank_no: String,
    pub enc_true_name: String,
    pub created_ms: u64,
}

/// The merchant's money and what it paid out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ledger {
    /// Available balance (可用余额) in fen.
    pub balance: u64,
    pub redpacks: BTreeMap<String, Redpack>,
    pub transfers: BTreeMap<String, Transfer>,
    pub bank: BTreeMap<String, BankTransfer>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            balance: INITIAL_BALANCE,
            redpacks: BTreeMap::new(),
            transfers: BTreeMap::new(),
            bank: BTreeMap::new(),
        }
    }
}

/// The simulated risk key pair, made on first use (RSA key generation takes a moment, and
/// most runs never need it).
pub struct RiskKey {
    private: rsa::PrivateKey,
    pub public_pem: String,
    pub private_pem: String,
}

/// getrandom as the RNG the rsa crate wants.
struct OsRng;

impl rsa::rand_core::TryRng for OsRng {
    type Error = getrandom::Error;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        getrandom::u32()
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        getrandom::u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst)
    }
}

impl rsa::rand_core::TryCryptoRng for OsRng {}

impl RiskKey {
    /// An RSA-2048 pair like WeChat's; the public half goes out as PKCS#1 PEM.
    pub fn generate() -> Result<Self, String> {
        use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
        let private = rsa::PrivateKey::new(&mut OsRng, 2048).map_err(|e| e.to_string())?;
        let line = rsa::pkcs1::LineEnding::LF;
        let public_pem = private
            .to_public_key()
            .to_pkcs1_pem(line)
            .map_err(|e| e.to_string())?;
        let private_pem = private
            .to_pkcs1_pem(line)
            .map_err(|e| e.to_string())?
            .to_string();
        Ok(Self {
            private,
            public_pem,
            private_pem,
        })
    }

    /// Base64 RSA-OAEP (SHA-1) ciphertext to UTF-8 text.
    fn decrypt(&self, sealed: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        let plain = self.private.oaep_decrypt::<sha1::Sha1>(&raw).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// The envelope of a marketing answer (docs/protocol.md §12): `return_code`, `return_msg`
/// (the error text on a failure), the handler's `result_code`/`err_code` fields, the
/// merchant fields under the API's own names, then the rest; `nonce_str` where WeChat sends
/// one; an MD5 `sign` on pay_bank only (`bad_sign` corrupts it). gethbinfo's `hblist` comes
/// back apart as raw XML, to go inside the root.
pub fn marketing_message(
    app: &App,
    api: Api,
    fields: Fields,
    bad_sign: bool,
) -> (Fields, Option<String>) {
    let failed = fields.iter().find(|(k, _)| k == "err_code_des");
    let return_msg = failed.map_or("OK".to_owned(), |(_, v)| v.clone());
    let mut all = vec![kv("return_code", "SUCCESS"), kv("return_msg", return_msg)];
    let (head, rest): (Fields, Fields) = fields
        .into_iter()
        .partition(|(k, _)| matches!(k.as_str(), "result_code" | "err_code" | "err_code_des"));
    all.extend(head);
    let (appid, mch_id) = api.merchant_fields();
    if let Some(appid) = appid {
        all.push(kv(appid, &app.merchant.appid));
    }
    all.push(kv(mch_id, &app.merchant.mch_id));
    if matches!(api, Api::Transfer | Api::PayBank) {
        all.push(kv("nonce_str", crate::app::alnum(32)));
    }
    let mut nested = None;
    for (k, v) in rest {
        if k == "hblist" {
            nested = Some(v);
        } else {
            all.push((k, v));
        }
    }
    if api == Api::PayBank {
        let mut signature =
            wxpay_core::sign::sign(&all, &app.merchant.key, wxpay_core::SignType::Md5)
                .as_str()
                .to_owned();
        if bad_sign {
            let flipped = if signature.starts_with('0') { "1" } else { "0" };
            signature.replace_range(..1, flipped);
        }
        all.push(kv("sign", signature));
    }
    (all, nested)
}

fn param_error(field: &str) -> Answer {
    Answer::param_error(field)
}

/// 1–`max` letters and digits (bill numbers), at least `min`.
fn alnum_no(req: &Req, name: &str, min: usize, max: usize) -> Result<(), Answer> {
    let v = req.must(name);
    if (min..=max).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(param_error(name))
    }
}

fn max_len(req: &Req, limits: &[(&str, usize)]) -> Result<(), Answer> {
    match limits
        .iter()
        .find(|(name, max)| req.get(name).is_some_and(|v| v.len() > *max))
    {
        Some((name, _)) => Err(param_error(name)),
        None => Ok(()),
    }
}

fn is_ip(value: &str) -> bool {
    value.parse::<IpAddr>().is_ok()
}

fn redpack_answer(r: &Redpack) -> Answer {
    Answer::ok(vec![
        kv("mch_billno", &r.mch_billno),
        kv("re_openid", &r.re_openid),
        kv("total_amount", r.total_amount),
        kv("send_listid", &r.send_listid),
    ])
}

/// sendredpack and sendgroupredpack (docs/protocol.md §12.2).
pub fn send_redpack(app: &App, req: &Req) -> Answer {
    match check_redpack(req) {
        Ok(()) => {}
        Err(a) => return a,
    }
    let group = req.api == Api::SendGroupRedpack;
    let (total_amount, total_num) = match (fee(req, "total_amount"), fee(req, "total_num")) {
        (Ok(a), Ok(n)) => (a, n),
        (Err(a), _) | (_, Err(a)) => return a,
    };
    if group != (total_num >= 3) || (!group && total_num != 1) {
        return param_error("total_num");
    }
    if !REDPACK_RANGE.contains(&(total_amount / total_num)) && req.get("scene_id").is_none() {
        return Answer::err(
            "MONEY_LIMIT",
            "每个红包的平均金额必须在1.00元到200.00元之间",
        );
    }
    let no = req.must("mch_billno");
    let mut state = app.state();
    let ledger = &mut state.ledger;
    if let Some(existing) = ledger.redpacks.get(no) {
        return if existing.params == req.params() {
            redpack_answer(existing)
        } else {
            Answer::err("FATAL_ERROR", "参数与原单不一致，请更换单号再发放")
        };
    }
    if ledger.balance < total_amount {
        return Answer::err("NOTENOUGH", "帐号余额不足，请到商户平台充值后再重试");
    }
    let now = now_ms();
    let redpack = Redpack {
        mch_billno: no.to_owned(),
        send_listid: format!("1000041701{}{}", Beijing::at(now).date(), digits(12)),
        params: req.params(),
        re_openid: req.must("re_openid").to_owned(),
        total_amount,
        total_num,
        hb_type: if group { "GROUP" } else { "NORMAL" }.to_owned(),
        status: "SENT".to_owned(),
        send_ms: now,
        wishing: req.must("wishing").to_owned(),
        remark: req.must("remark").to_owned(),
        act_name: req.must("act_name").to_owned(),
        opened: Vec::new(),
    };
    ledger.balance -= total_amount;
    let answer = redpack_answer(&redpack);
    ledger.redpacks.insert(redpack.mch_billno.clone(), redpack);
    answer
}

fn check_redpack(req: &Req) -> Result<(), Answer> {
    alnum_no(req, "mch_billno", 1, 28)?;
    max_len(
        req,
        &[
            ("send_name", 32),
            ("act_name", 32),
            ("wishing", 128),
            ("remark", 256),
            ("risk_info", 128),
        ],
    )?;
    if req.api == Api::SendRedpack && !is_ip(req.must("client_ip")) {
        return Err(param_error("client_ip"));
    }
    if req.api == Api::SendGroupRedpack && req.must("amt_type") != "ALL_RAND" {
        return Err(param_error("amt_type"));
    }
    if req.get("scene_id").is_some_and(|s| !SCENES.contains(&s)) {
        return Err(param_error("scene_id"));
    }
    Ok(())
}

/// gethbinfo (docs/protocol.md §12.2).
pub fn redpack_info(app: &App, req: &Req) -> Answer {
    if req.must("bill_type") != "MCHT" {
        return param_error("bill_type");
    }
    let state = app.state();
    let Some(r) = state.ledger.redpacks.get(req.must("mch_billno")) else {
        return Answer::err("NOT_FOUND", "指定单号数据不存在");
    };
    let mut f = vec![
        kv("mch_billno", &r.mch_billno),
        kv("detail_id", &r.send_listid),
        kv("status", &r.status),
        kv("send_type", "API"),
        kv("hb_type", &r.hb_type),
        kv("total_num", r.total_num),
        kv("total_amount", r.total_amount),
        kv("send_time", Beijing::at(r.send_ms).dashed()),
        kv("wishing", &r.wishing),
        kv("remark", &r.remark),
        kv("act_name", &r.act_name),
    ];
    if !r.opened.is_empty() {
        let mut list = String::from("<hblist>");
        for o in &r.opened {
            list.push_str("<hbinfo>");
            wxpay_core::xml::write_field(&mut list, "openid", &o.openid);
            wxpay_core::xml::write_field(&mut list, "amount", &o.amount.to_string());
            wxpay_core::xml::write_field(&mut list, "rcv_time", &Beijing::at(o.rcv_ms).dashed());
            list.push_str("</hbinfo>");
        }
        list.push_str("</hblist>");
        f.push(kv("hblist", list));
    }
    Answer::ok(f)
}

/// The payers open a red packet: the first is `re_openid`; a group packet is shared out in
/// equal parts (the remainder to the first).
pub fn open_redpack(app: &App, mch_billno: &str) -> Result<Redpack, String> {
    let mut state = app.state();
    let Some(r) = state.ledger.redpacks.get_mut(mch_billno) else {
        return Err(format!("no red packet {mch_billno}"));
    };
    if r.status != "SENT" {
        return Err(format!("red packet {mch_billno} is {}", r.status));
    }
    let now = now_ms();
    let share = r.total_amount / r.total_num;
    let first = r.total_amount - share * (r.total_num - 1);
    r.opened = (0..r.total_num)
        .map(|i| Opened {
            openid: if i == 0 {
                r.re_openid.clone()
            } else {
                super::mock_openid(&format!("{}-{i}", r.send_listid))
            },
            amount: if i == 0 { first } else { share },
            rcv_ms: now,
        })
        .collect();
    r.status = "RECEIVED".to_owned();
    Ok(r.clone())
}

fn transfer_answer(t: &Transfer) -> Answer {
    let mut f = vec![
        kv("partner_trade_no", &t.partner_trade_no),
        kv("payment_no", &t.payment_no),
        kv("payment_time", Beijing::at(t.time_ms).dashed()),
    ];
    if !t.device_info.is_empty() {
        f.insert(0, kv("device_info", &t.device_info));
    }
    Answer::ok(f)
}

/// promotion/transfers (docs/protocol.md §12.3).
pub fn transfer(app: &App, req: &Req) -> Answer {
    if let Err(a) = alnum_no(req, "partner_trade_no", 1, 32) {
        return a;
    }
    let check = req.must("check_name");
    // OPTION_CHECK is what older SDKs send (wechatpy, WxJava's example): accepted.
    if !matches!(check, "NO_CHECK" | "FORCE_CHECK" | "OPTION_CHECK") {
        return param_error("check_name");
    }
    if check == "FORCE_CHECK" && req.get("re_user_name").is_none() {
        return param_error("re_user_name");
    }
    if !is_ip(req.must("spbill_create_ip")) {
        return param_error("spbill_create_ip");
    }
    if let Err(a) = max_len(req, &[("desc", 100), ("device_info", 32)]) {
        return a;
    }
    let amount = match fee(req, "amount") {
        Ok(a) => a,
        Err(a) => return a,
    };
    if amount < TRANSFER_MIN {
        return Answer::err("AMOUNT_LIMIT", "付款金额不能小于最低限额");
    }
    let no = req.must("partner_trade_no");
    let mut state = app.state();
    let ledger = &mut state.ledger;
    if let Some(existing) = ledger.transfers.get(no) {
        return if existing.params == req.params() {
            transfer_answer(existing)
        } else {
            Answer::err("FATAL_ERROR", "两次请求参数不一致")
        };
    }
    if ledger.balance < amount {
        return Answer::err("NOTENOUGH", "余额不足");
    }
    let now = now_ms();
    let t = Transfer {
        partner_trade_no: no.to_owned(),
        params: req.params(),
        payment_no: format!("1000018301{}{}", Beijing::at(now).date(), digits(14)),
        openid: req.must("openid").to_owned(),
        re_user_name: req.must("re_user_name").to_owned(),
        amount,
        desc: req.must("desc").to_owned(),
        device_info: req.must("device_info").to_owned(),
        time_ms: now,
    };
    ledger.balance -= amount;
    let answer = transfer_answer(&t);
    ledger.transfers.insert(t.partner_trade_no.clone(), t);
    answer
}

/// gettransferinfo (docs/protocol.md §12.3).
pub fn transfer_info(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let Some(t) = state.ledger.transfers.get(req.must("partner_trade_no")) else {
        return Answer::err("NOT_FOUND", "指定单号数据不存在");
    };
    let when = Beijing::at(t.time_ms).dashed();
    let mut f = vec![
        kv("partner_trade_no", &t.partner_trade_no),
        kv("detail_id", &t.payment_no),
        kv("status", "SUCCESS"),
        kv("openid", &t.openid),
        kv("payment_amount", t.amount),
        kv("transfer_time", &when),
        kv("payment_time", &when),
        kv("desc", &t.desc),
    ];
    if !t.re_user_name.is_empty() {
        f.insert(4, kv("transfer_name", &t.re_user_name));
    }
    Answer::ok(f)
}

/// risk/getpublickey (docs/protocol.md §12.5): the public key as PKCS#1 PEM, like WeChat's.
pub fn public_key(app: &App) -> Answer {
    match app.risk_key() {
        Ok(key) => Answer::ok(vec![kv("pub_key", &key.public_pem)]),
        Err(e) => Answer::err("SYSTEMERROR", &format!("密钥生成失败: {e}")),
    }
}

fn md5_hex(text: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fee for a bank-card transfer: 0.1 %, at least 1 and at most 25 yuan (the mock's
/// choice, §12.4).
fn bank_fee(amount: u64) -> u64 {
    (amount / 1000).clamp(100, 2500)
}

fn bank_answer(b: &BankTransfer) -> Answer {
    Answer::ok(vec![
        kv("partner_trade_no", &b.partner_trade_no),
        kv("amount", b.amount),
        kv("payment_no", &b.payment_no),
        kv("cmms_amt", b.cmms_amt),
    ])
}

/// mmpaysptrans/pay_bank (docs/protocol.md §12.4): the card number and name arrive
/// RSA-OAEP encrypted with the key of getpublickey.
pub fn pay_bank(app: &App, req: &Req) -> Answer {
    if let Err(a) = alnum_no(req, "partner_trade_no", 8, 32) {
        return a;
    }
    let code = req.must("bank_code");
    if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return param_error("bank_code");
    }
    if let Err(a) = max_len(req, &[("desc", 100)]) {
        return a;
    }
    let key = match app.risk_key() {
        Ok(key) => key,
        Err(e) => return Answer::err("SYSTEMERROR", &format!("密钥生成失败: {e}")),
    };
    let mut plain = Vec::new();
    for name in ["enc_bank_no", "enc_true_name"] {
        match key.decrypt(req.must(name)) {
            Some(text) if !text.trim().is_empty() => plain.push(text),
            _ => return Answer::err("PARAM_ERROR", &format!("{name}解密失败")),
        }
    }
    let bank_no = &plain[0];
    if !(8..=32).contains(&bank_no.len()) || !bank_no.bytes().all(|b| b.is_ascii_digit()) {
        return param_error("enc_bank_no");
    }
    let amount = match fee(req, "amount") {
        Ok(a) => a,
        Err(a) => return a,
    };
    let (bank_no_md5, true_name_md5) = (md5_hex(bank_no), md5_hex(&plain[1]));
    let params: Fields = req
        .params()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "enc_bank_no" => (k, bank_no_md5.clone()),
            "enc_true_name" => (k, true_name_md5.clone()),
            _ => (k, v),
        })
        .collect();
    let no = req.must("partner_trade_no");
    let mut state = app.state();
    let ledger = &mut state.ledger;
    if let Some(existing) = ledger.bank.get(no) {
        return if existing.params == params {
            bank_answer(existing)
        } else {
            Answer::err("FATAL_ERROR", "两次请求参数不一致")
        };
    }
    let cmms_amt = bank_fee(amount);
    if ledger.balance < amount + cmms_amt {
        return Answer::err("NOTENOUGH", "余额不足");
    }
    let now = now_ms();
    let b = BankTransfer {
        partner_trade_no: no.to_owned(),
        params,
        payment_no: format!("1000600500{}{}", Beijing::at(now).date(), digits(16)),
        amount,
        cmms_amt,
        bank_code: code.to_owned(),
        bank_no_md5,
        true_name_md5,
        enc_bank_no: req.must("enc_bank_no").to_owned(),
        enc_true_name: req.must("enc_true_name").to_owned(),
        created_ms: now,
    };
    ledger.balance -= amount + cmms_amt;
    let answer = bank_answer(&b);
    ledger.bank.insert(b.partner_trade_no.clone(), b);
    answer
}

/// mmpaysptrans/query_bank (docs/protocol.md §12.4): PROCESSING, then SUCCESS once
/// [`BANK_DELAY`] (time-scaled) has passed.
pub fn query_bank(app: &App, req: &Req) -> Answer {
    let state = app.state();
    let Some(b) = state.ledger.bank.get(req.must("partner_trade_no")) else {
        return Answer::err("NOT_FOUND", "指定单号数据不存在");
    };
    let done_ms = b.created_ms + app.scaled(BANK_DELAY).as_millis() as u64;
    let done = now_ms() >= done_ms;
    let mut f = vec![
        kv("partner_trade_no", &b.partner_trade_no),
        kv("payment_no", &b.payment_no),
        kv("bank_no_md5", &b.bank_no_md5),
        kv("true_name_md5", &b.true_name_md5),
        kv("amount", b.amount),
        kv("status", if done { "SUCCESS" } else { "PROCESSING" }),
        kv("cmms_amt", b.cmms_amt),
        kv("create_time", Beijing::at(b.created_ms).dashed()),
    ];
    if done {
        f.push(kv("pay_succ_time", Beijing::at(done_ms).dashed()));
    }
    Answer::ok(f)
}
