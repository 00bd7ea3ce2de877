//! Response classification (docs/protocol.md §4.1) for a signed call (orderquery), an unsigned one
//! (report), a bill call and an unknown path. The raw bytes can hardly carry a valid sign,
//! so each decodable input is also re-signed with the merchant key and classified again
//! against an oracle: accepted exactly when return_code and result_code are SUCCESS, the
//! merchant is ours and any sign_type names the pinned type.

#![no_main]

mod common;

use common::{APPID, CONFIGS, MCH_ID, get, resign, same};
use libfuzzer_sys::fuzz_target;
use wxpay_core::{Api, api, xml};

fuzz_target!(|data: &[u8]| {
    for config in CONFIGS.iter() {
        for call in [
            Some(Api::OrderQuery),
            Some(Api::Report),
            Some(Api::DownloadBill),
            None,
        ] {
            if let Ok(fields) = api::classify(call, data, config) {
                assert_eq!(get(&fields, "return_code"), Some("SUCCESS"));
                assert_ne!(call, Some(Api::DownloadBill), "a bill call classified XML");
            }
        }
    }

    let Ok(fields) = xml::decode(data) else {
        return;
    };
    let mut fields = xml::into_owned(fields);
    for config in CONFIGS.iter() {
        resign(&mut fields, config);
        // Fields the encoder refuses (`a:b` names) cannot be sent back re-signed.
        let Ok(body) = xml::encode(&fields) else {
            return;
        };
        let expected = get(&fields, "return_code") == Some("SUCCESS")
            && get(&fields, "result_code") == Some("SUCCESS")
            && get(&fields, "appid") == Some(APPID)
            && get(&fields, "mch_id") == Some(MCH_ID)
            && get(&fields, "sign_type")
                .is_none_or(|t| t.is_empty() || t == config.sign_type.as_str());
        match api::classify(Some(Api::OrderQuery), body.as_bytes(), config) {
            Ok(got) => assert!(
                expected && same(&got, &fields),
                "{body:?} accepted as {got:?}"
            ),
            Err(e) => assert!(!expected, "{body:?} refused: {e}"),
        }
    }
});
