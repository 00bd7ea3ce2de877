//! The marketing APIs as a third-party client sees them (docs/protocol.md §12): raw signed
//! XML over HTTPS, without wxpay-core's client.

mod common;

use common::*;
use reqwest::Method;
use wxpay_core::marketing::RiskKey;
use wxpay_core::nonce::nonce;
use wxpay_mock::{MockOptions, MockServer};

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `pairs` plus a nonce, signed MD5 over exactly the fields given.
fn body(pairs: &[(&str, &str)], key: &str) -> String {
    let mut f = fields(pairs);
    f.push(("nonce_str".into(), nonce().unwrap()));
    sign_exactly(f, key)
}

async fn post(api: &Api<'_>, path: &str, body: String) -> Fields {
    let resp = api.raw(path, body).await;
    assert_eq!(resp.status(), 200, "{path}");
    decode(&resp.bytes().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signature_covers_the_documented_fields_only() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let key = mock.key();
    // An appid on query_bank: signed, it breaks the signature (EasyWeChat #1123) ...
    let with_appid = [
        ("mch_id", mock.mch_id()),
        ("partner_trade_no", "B12345678"),
        ("appid", mock.appid()),
    ];
    let answer = post(&api, "mmpaysptrans/query_bank", body(&with_appid, key)).await;
    assert_eq!(field(&answer, "return_code"), "SUCCESS");
    assert_eq!(field(&answer, "result_code"), "FAIL");
    assert_eq!(field(&answer, "err_code"), "SIGNERROR");
    assert_eq!(
        field(&answer, "return_msg"),
        "签名出错，请根据签名算法进行签名"
    );
    // ... sent but not signed, it is ignored: the query itself answers.
    let mut signed = fields(&[("mch_id", mock.mch_id()), ("partner_trade_no", "B12345678")]);
    signed.push(("nonce_str".into(), nonce().unwrap()));
    let sent = sign_exactly(signed, key).replace("</xml>", "<appid>wx1</appid></xml>");
    let answer = post(&api, "mmpaysptrans/query_bank", sent).await;
    assert_eq!(field(&answer, "err_code"), "NOT_FOUND");
    assert!(
        get(&answer, "sign").is_none(),
        "query_bank answers unsigned"
    );

    // sign_type on a transfer is neither read nor signed (WxJava #584): signed in, 签名错误.
    let transfer = [
        ("mch_appid", mock.appid()),
        ("mchid", mock.mch_id()),
        ("partner_trade_no", "T1"),
        ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("check_name", "NO_CHECK"),
        ("amount", "100"),
        ("desc", "d"),
        ("spbill_create_ip", "127.0.0.1"),
    ];
    let mut typed = transfer.to_vec();
    typed.push(("sign_type", "MD5"));
    let answer = post(
        &api,
        "mmpaymkttransfers/promotion/transfers",
        body(&typed, key),
    )
    .await;
    assert_eq!(field(&answer, "err_code"), "SIGN_ERROR");
    let answer = post(
        &api,
        "mmpaymkttransfers/promotion/transfers",
        body(&transfer, key),
    )
    .await;
    assert_eq!(field(&answer, "result_code"), "SUCCESS", "{answer:?}");
    assert_eq!(field(&answer, "mch_appid"), mock.appid());
    assert_eq!(field(&answer, "mchid"), mock.mch_id());
    // Missing merchant field under its own name.
    let answer = post(
        &api,
        "mmpaymkttransfers/promotion/transfers",
        body(&transfer[1..], key),
    )
    .await;
    assert_eq!(field(&answer, "err_code"), "PARAM_ERROR");
    assert_eq!(field(&answer, "err_code_des"), "缺少参数mch_appid");
}

#[tokio::test(flavor = "multi_thread")]
async fn red_packets_draw_on_the_balance_and_need_the_certificate() {
    let mock = start(true);
    let api = Api::new(&mock, true);
    let redpack = |no: &'static str| {
        [
            ("mch_billno", no),
            ("mch_id", mock.mch_id()),
            ("wxappid", mock.appid()),
            ("send_name", "Shop"),
            ("re_openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
            ("total_amount", "500"),
            ("total_num", "1"),
            ("wishing", "w"),
            ("client_ip", "127.0.0.1"),
            ("act_name", "a"),
            ("remark", "r"),
        ]
    };
    api.control(Method::POST, "balance", r#"{"balance":700}"#)
        .await;
    let sent = post(
        &api,
        "mmpaymkttransfers/sendredpack",
        body(&redpack("RP1"), mock.key()),
    )
    .await;
    assert_eq!(field(&sent, "result_code"), "SUCCESS", "{sent:?}");
    assert_eq!(field(&sent, "return_msg"), "OK");
    assert_eq!(
        api.control(Method::GET, "balance", "").await["balance"],
        200
    );
    let poor = post(
        &api,
        "mmpaymkttransfers/sendredpack",
        body(&redpack("RP2"), mock.key()),
    )
    .await;
    assert_eq!(field(&poor, "err_code"), "NOTENOUGH");
    assert_eq!(field(&poor, "return_code"), "SUCCESS");
    assert_eq!(field(&poor, "return_msg"), field(&poor, "err_code_des"));

    let no_cert = Api::new(&mock, false);
    let refused = post(
        &no_cert,
        "mmpaymkttransfers/sendredpack",
        body(&redpack("RP3"), mock.key()),
    )
    .await;
    assert_eq!(field(&refused, "err_code"), "CA_ERROR");
    // The sandbox has no marketing APIs.
    let resp = api
        .raw(
            "sandboxnew/mmpaymkttransfers/sendredpack",
            body(&redpack("RP4"), mock.key()),
        )
        .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bank_transfer_is_processing_then_succeeds() {
    // Real seconds: BANK_DELAY is 5 s.
    let mock = MockServer::start(MockOptions {
        tls: true,
        ..MockOptions::default()
    })
    .unwrap();
    let api = Api::new(&mock, true);
    let got = post(
        &api,
        "risk/getpublickey",
        body(
            &[("mch_id", mock.mch_id()), ("sign_type", "MD5")],
            mock.key(),
        ),
    )
    .await;
    assert!(get(&got, "appid").is_none() && get(&got, "sign").is_none());
    let pem = field(&got, "pub_key");
    assert!(
        pem.starts_with("-----BEGIN RSA PUBLIC KEY-----"),
        "PKCS#1, like WeChat's"
    );
    let key = RiskKey::from_pem(pem).unwrap();
    let card = key.encrypt("6225880012345678").unwrap();
    let name = key.encrypt("张三").unwrap();
    let pay = [
        ("mch_id", mock.mch_id()),
        ("partner_trade_no", "B12345678"),
        ("enc_bank_no", card.as_str()),
        ("enc_true_name", name.as_str()),
        ("bank_code", "1002"),
        ("amount", "200000"),
    ];
    let paid = post(&api, "mmpaysptrans/pay_bank", body(&pay, mock.key())).await;
    assert_eq!(field(&paid, "result_code"), "SUCCESS", "{paid:?}");
    assert_eq!(field(&paid, "cmms_amt"), "200", "0.1 %");
    wxpay_core::sign::verify(&paid, mock.key(), wxpay_core::SignType::Md5).unwrap();
    let query = [("mch_id", mock.mch_id()), ("partner_trade_no", "B12345678")];
    let q = post(&api, "mmpaysptrans/query_bank", body(&query, mock.key())).await;
    assert_eq!(field(&q, "status"), "PROCESSING");
    assert!(get(&q, "pay_succ_time").is_none());
    // Undecryptable card data.
    let mut broken = pay.to_vec();
    broken[1] = ("partner_trade_no", "B87654321");
    broken[2] = ("enc_bank_no", "AAAA");
    let bad = post(&api, "mmpaysptrans/pay_bank", body(&broken, mock.key())).await;
    assert_eq!(field(&bad, "err_code"), "PARAM_ERROR");
    assert_eq!(field(&bad, "err_code_des"), "enc_bank_no解密失败");
}
