//! PHP arrays in and out. Parameter arrays are read in place, bucket by bucket, without
//! copying keys or string values: a `HashMap<String,String>` binding made signing slower
//! than plain PHP (ext-php-rs-verified.md, Q4).

use crate::exceptions::{PhpResult, invalid};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ArrayKey, ZendHashTable, Zval};
use std::borrow::Cow;

/// Parameters whose value may be given as an array; they are sent as JSON text.
const JSON_FIELDS: [&[u8]; 2] = [b"detail", b"scene_info"];

/// A parameter value as it will be signed and sent.
pub enum Value<'a> {
    Bytes(&'a [u8]),
    Int { digits: [u8; 20], len: u8 },
    Owned(String),
}

impl Value<'_> {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b,
            Self::Int { digits, len } => &digits[20 - usize::from(*len)..],
            Self::Owned(s) => s.as_bytes(),
        }
    }

    fn int(n: i64) -> Self {
        let mut digits = [0u8; 20];
        let mut at = 20;
        let mut rest = n.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            at -= 1;
            digits[at] = b'-';
        }
        Self::Int {
            digits,
            len: (20 - at) as u8,
        }
    }
}

pub type Param<'a> = (&'a [u8], Value<'a>);

fn type_name(zv: &Zval) -> &'static str {
    match zv.get_type() {
        DataType::Double => "float",
        DataType::Bool | DataType::True | DataType::False => "bool",
        DataType::Array => "array",
        DataType::Object(_) => "object",
        DataType::Resource => "resource",
        _ => "unsupported value",
    }
}

fn show(name: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(name)
}

/// Applies the value rules of DESIGN.md §2 to one entry; `None` means absent (null).
fn value<'a>(name: &'a [u8], zv: &'a Zval) -> PhpResult<Option<Value<'a>>> {
    let zv = zv.dereference();
    if let Some(s) = zv.zend_str() {
        return Ok(Some(Value::Bytes(s.as_bytes())));
    }
    if let Some(n) = zv.long() {
        return Ok(Some(Value::int(n)));
    }
    if zv.is_null() {
        return Ok(None);
    }
    if zv.is_array() && JSON_FIELDS.contains(&name) {
        let json = to_json(zv, 0).map_err(|rule| {
            invalid(format!(
                "parameter \"{}\" cannot be JSON-encoded: {rule}",
                show(name)
            ))
        })?;
        return Ok(Some(Value::Owned(json.to_string())));
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

fn check_name(name: &[u8]) -> PhpResult<()> {
    if wxpay_core::xml::is_field_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "parameter name \"{}\" is not allowed: use letters, digits, '_', '-' or '.', starting with a letter or '_'",
            show(name)
        )))
    }
}

/// Reads a parameter array in order, applying the value rules; null entries are skipped.
pub fn params(ht: &ZendHashTable) -> PhpResult<Vec<Param<'_>>> {
    let mut out = Vec::with_capacity(ht.nNumOfElements as usize);
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
        if let Some(v) = value(name, zv)? {
            out.push((name, v));
        }
        Ok(())
    })?;
    Ok(out)
}

pub enum Key<'a> {
    Str(&'a [u8]),
    Int(u64),
}

/// Visits live entries in order by walking the engine's storage directly.
fn for_each_entry<'a>(
    ht: &'a ZendHashTable,
    mut visit: impl FnMut(Key<'a>, &'a Zval) -> PhpResult<()>,
) -> PhpResult<()> {
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
                visit(Key::Int(i as u64), zv)?;
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
            None => Key::Int(bucket.h),
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
    let is_list = ht
        .iter()
        .enumerate()
        .all(|(i, (k, _))| matches!(k, ArrayKey::Long(n) if n == i as i64));
    if is_list {
        let items: Result<Vec<_>, _> = ht.iter().map(|(_, v)| to_json(v, depth + 1)).collect();
        return Ok(J::Array(items?));
    }
    let mut map = serde_json::Map::new();
    for (k, v) in ht.iter() {
        map.insert(k.to_string(), to_json(v, depth + 1)?);
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
            V::Str(String::from_utf8_lossy(s.as_bytes()).into_owned())
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

/// Builds a PHP array from fields in order.
pub fn fields_to_array<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> ZBox<ZendHashTable> {
    let (lower, _) = fields.size_hint();
    let mut ht = ZendHashTable::with_capacity(lower.try_into().unwrap_or(u32::MAX));
    for (k, v) in fields {
        let mut zv = Zval::new();
        // Building a string zval or inserting into a fresh array cannot fail for str data.
        let _ = ext_php_rs::convert::IntoZval::set_zval(v, &mut zv, false);
        let mut zv = zv;
        // SAFETY: `ht` is a valid array; the engine takes ownership of `zv`.
        unsafe {
            ffi::zend_hash_str_update(&raw mut *ht, k.as_ptr().cast(), k.len(), &raw mut zv);
        }
        std::mem::forget(zv);
    }
    ht
}

/// Reads a parameter array into owned fields, for calls that leave PHP's thread of control
/// (the HTTP client). Values must be UTF-8 text, as the XML body requires.
pub fn owned_params(ht: &ZendHashTable) -> PhpResult<Vec<(String, String)>> {
    params(ht)?
        .iter()
        .map(|(name, value)| {
            let name = String::from_utf8_lossy(name).into_owned();
            match std::str::from_utf8(value.as_bytes()) {
                Ok(v) => Ok((name, v.to_owned())),
                Err(_) => Err(invalid(format!("parameter \"{name}\" is not valid UTF-8"))),
            }
        })
        .collect()
}

/// Reads a list of string-or-int values (e.g. order numbers); keys are ignored.
pub fn list_values(ht: &ZendHashTable) -> PhpResult<Vec<Value<'_>>> {
    let mut out = Vec::with_capacity(ht.nNumOfElements as usize);
    let mut index = 0usize;
    for_each_entry(ht, |_, zv| {
        let zv = zv.dereference();
        match (zv.zend_str(), zv.long()) {
            (Some(s), _) => out.push(Value::Bytes(s.as_bytes())),
            (None, Some(n)) => out.push(Value::int(n)),
            _ => {
                return Err(invalid(format!(
                    "list element {index} must be a string or int, {} given",
                    type_name(zv)
                )));
            }
        }
        index += 1;
        Ok(())
    })?;
    Ok(out)
}
