//! Bill bodies (docs/protocol.md §3.7): `bill::parse` on arbitrary bytes, whose accepted bills must
//! have every row as wide as its header; `api::bill_body` on the raw bytes (a plain text
//! body comes back unchanged) and on the bytes gzipped, under a `bill_max_bytes` within two
//! bytes of their length: it must inflate back to them exactly when they fit, and otherwise
//! be refused with the message that names the limit.

#![no_main]

use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use wxpay_core::{Error, api, bill};

fuzz_target!(|data: &[u8]| {
    if let Ok(bill) = bill::parse(data) {
        assert!(!bill.header.is_empty() && !bill.summary_header.is_empty());
        let mut rows = 0;
        for row in bill.rows() {
            assert_eq!(row.count(), bill.header.len());
            rows += 1;
        }
        assert_eq!(rows, bill.row_count());
        assert_eq!(bill.summary.len(), bill.summary_header.len());
    }

    // The limit only matters for gzip: a text body was already bounded while it downloaded.
    let roomy = data.len() + 1;
    if let Ok(body) = api::bill_body(data.to_vec(), roomy)
        && !data.starts_with(&[0x1f, 0x8b])
    {
        assert_eq!(body, data, "a text bill must be passed through untouched");
    }

    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).expect("writing to a Vec");
    let gz = gz.finish().expect("writing to a Vec");
    let max = (data.len() + usize::from(data.first().copied().unwrap_or(0) % 4)).saturating_sub(2);
    match api::bill_body(gz, max) {
        Ok(inflated) => {
            assert!(
                data.len() <= max,
                "{} bytes inflated under a {max}-byte limit",
                data.len()
            );
            assert_eq!(inflated, data);
        }
        Err(Error::Http(e)) if data.len() > max => assert_eq!(
            e.message,
            format!("bill download: the bill inflates to more than bill_max_bytes ({max} bytes)")
        ),
        Err(e) => panic!(
            "valid gzip of {} bytes refused under {max}: {e}",
            data.len()
        ),
    }
});
