//! `Qr` and `Bill`: rendering `code_url`s and reading downloaded bills.

use crate::convert::{self, fields_to_array};
use crate::exceptions::{PhpResult, to_php};
use ext_php_rs::binary::Binary;
use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};
use wxpay_core::{bill, qr};

/// QR codes for `code_url` (Native) and `bizpayurl` links.
#[php_class]
#[php(name = "WxPay\\Qr")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct Qr;

#[php_impl]
impl Qr {
    /// An SVG document.
    pub fn svg(text: BinarySlice<u8>) -> PhpResult<String> {
        qr::svg(convert::text("text", &text)?).map_err(to_php)
    }

    /// PNG bytes.
    pub fn png(text: BinarySlice<u8>) -> PhpResult<Binary<u8>> {
        qr::png(convert::text("text", &text)?)
            .map(Binary::from)
            .map_err(to_php)
    }

    /// Unicode half blocks for a terminal.
    pub fn text(text: BinarySlice<u8>) -> PhpResult<String> {
        qr::text(convert::text("text", &text)?).map_err(to_php)
    }
}

/// WeChat's bill text (downloadBill / downloadFundFlow).
#[php_class]
#[php(name = "WxPay\\Bill")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct Bill;

fn with_array(ht: ZBox<ZendHashTable>) -> Zval {
    let mut zv = Zval::new();
    zv.set_hashtable(ht);
    zv
}

#[php_impl]
impl Bill {
    /// `['header' => list, 'rows' => list<array<column, value>>, 'summary' => array<column, value>]`,
    /// backquotes removed.
    pub fn parse(text: BinarySlice<u8>) -> PhpResult<ZBox<ZendHashTable>> {
        // The rows are read from `text` as the arrays are built: nothing of the bill's size
        // is held outside memory_limit.
        let parsed = bill::parse(&text).map_err(to_php)?;
        let mut header = ZendHashTable::with_capacity(parsed.header.len() as u32);
        let mut rows = ZendHashTable::with_capacity(parsed.row_count() as u32);
        let mut out = ZendHashTable::with_capacity(3);
        let failed = |e: ext_php_rs::error::Error| {
            crate::exceptions::simple(crate::exceptions::Class::Base, e.to_string())
        };
        for name in &parsed.header {
            header.push(*name).map_err(failed)?;
        }
        // Each column's key as fields_to_array would make it (a decimal name is an int key),
        // but one zend_string per column, shared by every row (the hash table takes a
        // reference each), instead of one per row and column: a third of the memory.
        let names: Vec<ZBox<ZendStr>> = parsed
            .header
            .iter()
            .map(|name| ZendStr::new(name, false))
            .collect();
        let keys: Vec<ArrayKey<'_>> = parsed
            .header
            .iter()
            .zip(&names)
            .map(|(name, shared)| match ArrayKey::from(*name) {
                ArrayKey::Long(index) => ArrayKey::Long(index),
                _ => ArrayKey::ZendString(shared),
            })
            .collect();
        for values in parsed.rows() {
            let mut row = ZendHashTable::with_capacity(keys.len() as u32);
            for (key, value) in keys.iter().zip(values) {
                row.insert(key.clone(), value).map_err(failed)?;
            }
            rows.push(with_array(row)).map_err(failed)?;
        }
        out.insert("header", with_array(header)).map_err(failed)?;
        out.insert("rows", with_array(rows)).map_err(failed)?;
        out.insert(
            "summary",
            with_array(fields_to_array(parsed.summary_record().into_iter())),
        )
        .map_err(failed)?;
        Ok(out)
    }
}
