//! PHP arrays in and out. Parameter arrays are read in place, bucket by bucket, without
//! copying keys or string values: a `HashMap<String,String>` binding made signing slower
//! than plain PHP (measured with perf).

use crate::engine;
use crate::exceptions::{PhpResult, invalid};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};
use std::borrow::Cow;
use wxpay_core::sign::{Pair, PairList};

/// Parameters whose value may be given as an array; they are sent as JSON text
/// (profit sharing's receivers: docs/protocol.md §15.1).
const JSON_FIELDS: [&[u8]; 4] = [b"detail", b"scene_info", b"receiver", b"receivers"];

/// Decimal digits of `n`, written at the end of `buf`.
fn format_int(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// One parameter value after the value rules.
enum Checked<'a> {
    Bytes(&'a [u8]),
    Int(i64),
    Json(String),
}

pub fn type_name(zv: &Zval) -> &'static str {
    match zv.get_type() {
        DataType::String => "string",
        DataType::Long => "int",
        DataType::Null => "null",
        DataType::Double => "float",
        DataType::Bool | DataType::True | DataType::False => "bool",
        DataType::Array => "array",
        DataType::Object(_) => "object",
        DataType::Resource => "resource",
        _ => "unsupported value",
    }
}

/// A name as message text: invalid UTF-8 replaced, control characters escaped (`\0`), so
/// that any key a PHP array can hold gets a readable message.
fn show(name: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(name);
    if !text.chars().any(char::is_control) {
        return text;
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Applies the value rules (docs/protocol.md §11.1) to one entry; `None` means absent (null).
#[inline]
fn check_value<'a>(name: &[u8], zv: &'a Zval) -> PhpResult<Option<Checked<'a>>> {
    // Strings and ints are nearly every value: test the type byte before anything else.
    const IS_NULL: u32 = 1;
    const IS_LONG: u32 = 4;
    const IS_STRING: u32 = 6;
    let zv = zv.dereference();
    // SAFETY: every zval has an initialised type; the union is read per that type.
    unsafe {
        match zv.u1.type_info & 0xff {
            IS_STRING => {
                let s = &*zv.value.str_;
                let bytes = std::slice::from_raw_parts(s.val.as_ptr().cast::<u8>(), s.len);
                return Ok(Some(Checked::Bytes(bytes)));
            }
            IS_LONG => return Ok(Some(Checked::Int(zv.value.lval))),
            IS_NULL => return Ok(None),
            _ => {}
        }
    }
    check_other_value(name, zv)
}

/// [`check_value`] for the rare values that are neither strings, ints nor null.
#[cold]
fn check_other_value<'a>(name: &[u8], zv: &'a Zval) -> PhpResult<Option<Checked<'a>>> {
    if zv.is_array() && JSON_FIELDS.contains(&name) {
        let json = to_json(zv, 0).map_err(|rule| {
            invalid(format!(
                "parameter \"{}\" cannot be JSON-encoded: {rule}",
                show(name)
            ))
        })?;
        return Ok(Some(Checked::Json(json.to_string())));
    }
    let hint = if zv.is_double() {
        " (amounts are integer fen)"
    } else {
        ""
    };
    Err(invalid(format!(
        "parameter \"{}\" must be a string or int, {} given{hint}",
        show(name),
        type_name(zv)
    )))
}

#[inline]
fn check_name(name: &[u8]) -> PhpResult<()> {
    if wxpay_core::xml::is_field_name(name) {
        Ok(())
    } else {
        Err(bad_name(name))
    }
}

#[cold]
fn bad_name(name: &[u8]) -> ext_php_rs::exception::PhpException {
    invalid(format!(
        "parameter name \"{}\" is not allowed: {}",
        show(name),
        wxpay_core::xml::FIELD_NAME_RULE
    ))
}

/// Gathers the signable pairs of a parameter array straight into a list (no intermediate
/// copy of the array) and hands them to `f`. Ints are formatted into a small stack arena;
/// JSON texts, and ints beyond the arena, are owned on the side.
pub fn with_pairs<R>(ht: &ZendHashTable, f: impl FnOnce(&mut [Pair<'_>]) -> R) -> PhpResult<R> {
    // Ints are few (total_fee, a time stamp): the rest go to `owned`.
    let mut arena = [0u8; 64];
    let mut free: &mut [u8] = &mut arena;
    let mut owned: Vec<(usize, String)> = Vec::new();
    let mut list = PairList::new();
    for_each_checked(ht, |name, value| {
        match value {
            Checked::Bytes(b) => list.push((name, b)),
            Checked::Int(n) => {
                let mut buf = [0; 20];
                let digits = format_int(n, &mut buf);
                if digits.len() <= free.len() {
                    let (slot, rest) = std::mem::take(&mut free).split_at_mut(digits.len());
                    slot.copy_from_slice(digits);
                    free = rest;
                    list.push((name, slot));
                } else {
                    owned.push((list.len(), n.to_string()));
                    list.push((name, b""));
                }
            }
            Checked::Json(text) => {
                owned.push((list.len(), text));
                list.push((name, b""));
            }
        }
        Ok(())
    })?;
    let pairs = list.as_mut_slice();
    for (at, text) in &owned {
        pairs[*at].1 = text.as_bytes();
    }
    Ok(f(pairs))
}

/// Visits a parameter array in order with each (name, value bytes), applying the value
/// rules, without collecting it: for callers that only stream it (`Xml::encode`).
pub fn for_each_param(
    ht: &ZendHashTable,
    mut visit: impl FnMut(&[u8], &[u8]) -> PhpResult<()>,
) -> PhpResult<()> {
    for_each_checked(ht, |name, value| match value {
        Checked::Bytes(b) => visit(name, b),
        Checked::Int(n) => visit(name, format_int(n, &mut [0; 20])),
        Checked::Json(s) => visit(name, s.as_bytes()),
    })
}

fn for_each_checked<'a>(
    ht: &'a ZendHashTable,
    mut visit: impl FnMut(&'a [u8], Checked<'a>) -> PhpResult<()>,
) -> PhpResult<()> {
    for_each_entry(ht, |key, zv| {
        let name = match key {
            Key::Str(name) => name,
            Key::Int(i) => {
                return Err(invalid(format!(
                    "parameter names must be strings, int key {i} given"
                )));
            }
        };
        check_name(name)?;
        match check_value(name, zv)? {
            Some(value) => visit(name, value),
            None => Ok(()),
        }
    })
}

pub enum Key<'a> {
    Str(&'a [u8]),
    Int(i64),
}

/// Visits live entries in order by walking the engine's storage directly. Keys are bytes:
/// ext-php-rs's iterator panics on a key that is not UTF-8.
fn for_each_entry<'a, E>(
    ht: &'a ZendHashTable,
    mut visit: impl FnMut(Key<'a>, &'a Zval) -> Result<(), E>,
) -> Result<(), E> {
    const HASH_FLAG_PACKED: u32 = 1 << 2;
    let used = ht.nNumUsed as usize;
    // SAFETY: `u.flags` is always initialised; the union view is plain integers.
    let packed = unsafe { ht.u.flags } & HASH_FLAG_PACKED != 0;
    if packed && cfg!(php82) {
        // SAFETY: packed tables of PHP ≥ 8.2 store `nNumUsed` bare zvals in `arPacked`.
        let slots = unsafe { std::slice::from_raw_parts(ht.__bindgen_anon_1.arPacked, used) };
        for (i, zv) in slots.iter().enumerate() {
            let zv: &Zval = zv;
            if zv.get_type() != DataType::Undef {
                visit(Key::Int(i as i64), zv)?;
            }
        }
        return Ok(());
    }
    if used == 0 {
        return Ok(());
    }
    // SAFETY: hash tables store `nNumUsed` buckets in `arData`; deleted ones are UNDEF.
    let buckets = unsafe { std::slice::from_raw_parts(ht.__bindgen_anon_1.arData, used) };
    for bucket in buckets {
        let zv: &Zval = &bucket.val;
        if zv.get_type() == DataType::Undef {
            continue;
        }
        // SAFETY: a non-null key is a live zend_string owned by the table.
        let key = match unsafe { bucket.key.as_ref() } {
            Some(k) => Key::Str(k.as_bytes()),
            // An int key is stored in `h` as the bits of a zend_long.
            None => Key::Int(bucket.h as i64),
        };
        visit(key, zv)?;
    }
    Ok(())
}

const MAX_JSON_DEPTH: usize = 32;

fn to_json(zv: &Zval, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    let zv = zv.dereference();
    if depth > MAX_JSON_DEPTH {
        return Err(format!("nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    if let Some(s) = zv.zend_str() {
        return std::str::from_utf8(s.as_bytes())
            .map(|s| J::String(s.to_owned()))
            .map_err(|_| "a string is not UTF-8".to_owned());
    }
    if let Some(n) = zv.long() {
        return Ok(J::from(n));
    }
    if let Some(f) = zv.double() {
        return serde_json::Number::from_f64(f)
            .map(J::Number)
            .ok_or_else(|| "a float is not finite".to_owned());
    }
    if let Some(b) = zv.bool() {
        return Ok(J::Bool(b));
    }
    if zv.is_null() {
        return Ok(J::Null);
    }
    let Some(ht) = zv.array() else {
        return Err(format!("{} values have no JSON form", type_name(zv)));
    };
    let mut entries = Vec::with_capacity(ht.len());
    for_each_entry(ht, |k, v| {
        entries.push((k, v));
        Ok::<_, String>(())
    })?;
    let is_list = entries
        .iter()
        .enumerate()
        .all(|(i, (k, _))| matches!(k, Key::Int(n) if *n == i as i64));
    if is_list {
        let items: Result<Vec<_>, _> = entries.iter().map(|(_, v)| to_json(v, depth + 1)).collect();
        return Ok(J::Array(items?));
    }
    let mut map = serde_json::Map::new();
    for (k, v) in entries {
        let key = match k {
            Key::Str(name) => std::str::from_utf8(name)
                .map_err(|_| format!("key \"{}\" is not UTF-8", show(name)))?
                .to_owned(),
            Key::Int(n) => n.to_string(),
        };
        map.insert(key, to_json(v, depth + 1)?);
    }
    Ok(J::Object(map))
}

/// Reads a config array: string keys, scalar values.
pub fn config_entries(ht: &ZendHashTable) -> PhpResult<Vec<(String, wxpay_core::config::Value)>> {
    use wxpay_core::config::Value as V;
    let mut out = Vec::with_capacity(ht.nNumOfElements as usize);
    for_each_entry(ht, |key, zv| {
        let Key::Str(name) = key else {
            return Err(crate::exceptions::simple(
                crate::exceptions::Class::Config,
                "config keys must be strings".into(),
            ));
        };
        let zv = zv.dereference();
        let value = if let Some(s) = zv.zend_str() {
            String::from_utf8(s.as_bytes().to_vec()).map_or(V::NotUtf8, V::Str)
        } else if let Some(n) = zv.long() {
            V::Int(n)
        } else if let Some(f) = zv.double() {
            V::Float(f)
        } else if let Some(b) = zv.bool() {
            V::Bool(b)
        } else if zv.is_null() {
            V::Null
        } else {
            V::Other(type_name(zv))
        };
        out.push((String::from_utf8_lossy(name).into_owned(), value));
        Ok(())
    })?;
    Ok(out)
}

/// Builds a PHP array from fields in order. Keys go in as PHP's symbol table puts them
/// (`zend_symtable_update`): a decimal one like "3" becomes the int key 3, as `['3' => …]`
/// would in PHP, so `$a[3]`, `$a['3']` and `isset` find it. ext-php-rs's `insert` with a
/// `&str` key does this; every array the extension builds with string keys goes through it.
pub fn fields_to_array<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> ZBox<ZendHashTable> {
    let (lower, _) = fields.size_hint();
    let mut ht = ZendHashTable::with_capacity(lower.try_into().unwrap_or(u32::MAX));
    for (k, v) in fields {
        // Only the value's conversion can fail, and a string's cannot.
        let _ = ht.insert(k, v);
    }
    ht
}

/// Builds a PHP array from fields as the XML decoder gives them: names unique (the decoder
/// refuses a repeated field) and field names (`xml::is_field_name`: never numeric, so PHP's
/// symbol-table conversion never applies). Entries are added without a lookup, keys come
/// from the engine's interned strings where it has them ([`engine::key_string`]).
pub fn decoded_to_array<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> ZBox<ZendHashTable> {
    let mut ht = ZendHashTable::with_capacity(u32::try_from(fields.len()).unwrap_or(u32::MAX));
    for (name, value) in fields {
        let (name, value) = (name.as_ref().as_bytes(), value.as_ref().as_bytes());
        debug_assert!(wxpay_core::xml::is_field_name(name));
        let mut zv = Zval::new();
        zv.set_zend_string(ZendStr::new(value, false));
        let key = engine::key_string(name);
        // SAFETY: a live table and key; the table takes the value and its own reference to
        // a key that is not interned (ours is released when `key` drops).
        unsafe { ffi::zend_hash_add_new(&raw mut *ht, key.as_ptr().cast_mut(), &raw mut zv) };
        // The table owns the value now.
        std::mem::forget(zv);
    }
    ht
}

/// Builds a PHP array from owned fields in order.
pub fn owned_fields_to_array(fields: &[(String, String)]) -> ZBox<ZendHashTable> {
    fields_to_array(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Reads a parameter array into owned fields, for calls that leave PHP's thread of control
/// (the HTTP client). Values must be UTF-8 text, as the XML body requires.
pub fn owned_params(ht: &ZendHashTable) -> PhpResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ht.nNumOfElements as usize);
    for_each_param(ht, |name, value| {
        let name = String::from_utf8_lossy(name).into_owned();
        match std::str::from_utf8(value) {
            Ok(v) => {
                out.push((name, v.to_owned()));
                Ok(())
            }
            Err(_) => Err(invalid(format!("parameter \"{name}\" is not valid UTF-8"))),
        }
    })?;
    Ok(out)
}

/// Reads a list of string-or-int values (e.g. order numbers) as text; keys are ignored.
pub fn list_values(ht: &ZendHashTable) -> PhpResult<Vec<String>> {
    let mut out = Vec::with_capacity(ht.nNumOfElements as usize);
    for_each_entry(ht, |_, zv| {
        let zv = zv.dereference();
        let index = out.len();
        let text = match (zv.zend_str(), zv.long()) {
            (Some(s), _) => String::from_utf8(s.as_bytes().to_vec())
                .map_err(|_| invalid(format!("list element {index} is not valid UTF-8")))?,
            (None, Some(n)) => n.to_string(),
            _ => {
                return Err(invalid(format!(
                    "list element {index} must be a string or int, {} given",
                    type_name(zv)
                )));
            }
        };
        out.push(text);
        Ok(())
    })?;
    Ok(out)
}

/// A PHP string built once: returning it hands the engine this string, where returning a
/// Rust `String` would allocate and copy again.
pub struct PhpStr(ZBox<ext_php_rs::types::ZendStr>);

impl PhpStr {
    pub fn new(bytes: &[u8]) -> Self {
        Self(ext_php_rs::types::ZendStr::new(bytes, false))
    }
}

impl ext_php_rs::convert::IntoZval for PhpStr {
    const TYPE: DataType = DataType::String;
    const NULLABLE: bool = false;

    fn set_zval(self, zv: &mut Zval, _persistent: bool) -> ext_php_rs::error::Result<()> {
        zv.set_zend_string(self.0);
        Ok(())
    }
}

/// A string parameter read as bytes, like `BinarySlice<u8>`, that can also have a default
/// value: a parameter that must be text is checked by [`text`], with a precise refusal instead
/// of ext-php-rs's TypeError for a `&str` that is not UTF-8.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> ext_php_rs::convert::FromZval<'a> for Bytes<'a> {
    const TYPE: DataType = DataType::String;

    fn from_zval(zval: &'a Zval) -> Option<Self> {
        zval.zend_str().map(|s| Bytes(s.as_bytes()))
    }
}

impl<'a> From<&'a str> for Bytes<'a> {
    fn from(default: &'a str) -> Self {
        Bytes(default.as_bytes())
    }
}

impl ext_php_rs::convert::StubLiteral for Bytes<'_> {
    fn stub_literal(&self) -> String {
        String::from_utf8_lossy(self.0).stub_literal()
    }
}

/// A string argument that must be text: PHP strings are bytes, and these feed XML, URLs
/// or QR codes.
pub fn text<'a>(param: &str, bytes: &'a [u8]) -> PhpResult<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| invalid(format!("{param} must be valid UTF-8")))
}

/// A `prepayId` argument: `prepay_id` itself, not `prepay_id=…` (see `check_prepay_id`). A
/// whole unifiedOrder() answer is refused with its fix by the argument check ([`crate::args`]).
pub fn prepay_id(bytes: &[u8]) -> PhpResult<&str> {
    wxpay_core::invoke::check_prepay_id(text("prepayId", bytes)?).map_err(crate::exceptions::to_php)
}
