//! Bill bodies (docs/protocol.md §3.7): `bill::parse` on arbitrary bytes, whose accepted bills must
//! have every row as wide as its header; `api::bill_body` on the raw bytes (a plain text
//! body comes back unchanged) and on the bytes gzipped (must inflate back to them).

#![no_main]

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use wxpay_core::{api, bill};

fuzz_target!(|data: &[u8]| {
    if let Ok(bill) = bill::parse(data) {
        assert!(!bill.header.is_empty() && !bill.summary_header.is_empty());
        for row in &bill.rows {
            assert_eq!(row.len(), bill.header.len());
        }
        assert_eq!(bill.summary.len(), bill.summary_header.len());
    }

    if let Ok(body) = api::bill_body(data.to_vec())
        && !data.starts_with(&[0x1f, 0x8b])
    {
        assert_eq!(body, data, "a text bill must be passed through untouched");
    }

    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).expect("writing to a Vec");
    let gz = gz.finish().expect("writing to a Vec");
    match api::bill_body(gz) {
        Ok(inflated) => assert_eq!(inflated, data),
        Err(e) => panic!("valid gzip of {} bytes refused: {e}", data.len()),
    }
});
