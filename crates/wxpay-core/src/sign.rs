//! The v2 signature (docs/protocol.md §1): byte-order sort, skip `sign` and empty values,
//! `k=v&…&key=KEY`, MD5 or HMAC-SHA256, uppercase hex. Verification is pinned to one type and
//! constant-time.

use crate::error::Error;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::cell::RefCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The two v2 algorithms. The wire names are `MD5` and `HMAC-SHA256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    #[default]
    Md5,
    HmacSha256,
}

impl SignType {
    pub const NAMES: &'static str = "MD5, HMAC-SHA256";

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "MD5" => Some(Self::Md5),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Length of the uppercase hex signature.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::HmacSha256 => 64,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An uppercase hex signature held inline, so signing allocates nothing for the result.
#[derive(Clone, Copy)]
pub struct Signature {
    hex: [u8; 64],
    len: u8,
}

impl Signature {
    fn from_digest(digest: &[u8]) -> Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut hex = [0u8; 64];
        for (i, b) in digest.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        Self {
            hex,
            len: (digest.len() * 2) as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.hex[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Constant-time comparison with a received signature (exact, uppercase).
    pub fn matches(&self, received: &[u8]) -> bool {
        received.len() == self.as_bytes().len() && bool::from(self.as_bytes().ct_eq(received))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Signature {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// A field as signed: raw name and value bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// A list of pairs on the stack while it is short (a request has 10–30 fields), moved to
/// the heap beyond [`PairList::STACK`]: gathering allocates nothing in the common case.
pub struct PairList<'a> {
    stack: [MaybeUninit<Pair<'a>>; PairList::STACK],
    len: usize,
    heap: Vec<Pair<'a>>,
}

impl Default for PairList<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> PairList<'a> {
    const STACK: usize = 64;

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn new() -> Self {
        Self {
            stack: [const { MaybeUninit::uninit() }; Self::STACK],
            len: 0,
            heap: Vec::new(),
        }
    }

    // Inlined so that the pair stays in registers: passed through memory, it was stored as
    // words and loaded back whole, which stalled on store forwarding (perf).
    #[inline(always)]
    pub fn push(&mut self, pair: Pair<'a>) {
        if self.len < Self::STACK {
            self.stack[self.len].write(pair);
            self.len += 1;
        } else {
            self.push_on_heap(pair);
        }
    }

    #[cold]
    fn push_on_heap(&mut self, pair: Pair<'a>) {
        if self.heap.is_empty() {
            let filled = self.stack_slice().to_vec();
            self.heap = filled;
        }
        self.heap.push(pair);
        self.len += 1;
    }

    fn stack_slice(&mut self) -> &mut [Pair<'a>] {
        let filled = self.len.min(Self::STACK);
        // SAFETY: the first `filled` slots were written by `push`.
        unsafe { &mut *(std::ptr::from_mut(&mut self.stack[..filled]) as *mut [Pair<'a>]) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [Pair<'a>] {
        if self.len <= Self::STACK {
            self.stack_slice()
        } else {
            &mut self.heap
        }
    }
}

/// Whether a field takes part in the signature (docs/protocol.md §1.1 steps 2–3).
#[inline]
pub fn is_signed(name: &[u8], value: &[u8]) -> bool {
    !value.is_empty() && name != b"sign"
}

/// Sorts `pairs` by name bytes, case-sensitively (docs/protocol.md §1.1 step 5). Names are compared
/// by their first eight bytes as one big-endian integer first, which settles almost every
/// comparison of real field names without a `memcmp` call.
///
/// Up to [`SMALL_SORT`] pairs (every real request and notify) are insertion-sorted with
/// their prefixes alongside: WeChat sends its notifies and answers in name order, where this
/// makes one comparison per field, and a shop's dozen request fields need a few dozen.
pub fn sort_pairs(pairs: &mut [Pair<'_>]) {
    fn prefix(name: &[u8]) -> u64 {
        let n = name.len();
        if let Some(head) = name.first_chunk::<8>() {
            u64::from_be_bytes(*head)
        } else if let (Some(head), Some(tail)) = (name.first_chunk::<4>(), name.last_chunk::<4>()) {
            // 4 to 7 bytes (`appid`, `sign`): two overlapping words, as for the long names.
            u64::from(u32::from_be_bytes(*head)) << 32
                | u64::from(u32::from_be_bytes(*tail)) << (64 - 8 * n)
        } else {
            name.iter()
                .enumerate()
                .fold(0, |acc, (i, &b)| acc | u64::from(b) << (56 - 8 * i))
        }
    }
    if pairs.len() > SMALL_SORT {
        pairs.sort_unstable_by(|a, b| prefix(a.0).cmp(&prefix(b.0)).then_with(|| a.0.cmp(b.0)));
        return;
    }
    let mut prefixes = [0u64; SMALL_SORT];
    for i in 0..pairs.len() {
        let pair = pairs[i];
        let key = prefix(pair.0);
        let mut at = i;
        while at > 0
            && (key < prefixes[at - 1] || key == prefixes[at - 1] && pair.0 < pairs[at - 1].0)
        {
            prefixes[at] = prefixes[at - 1];
            pairs[at] = pairs[at - 1];
            at -= 1;
        }
        prefixes[at] = key;
        pairs[at] = pair;
    }
}

/// The most pairs [`sort_pairs`] insertion-sorts.
const SMALL_SORT: usize = 48;

/// Writes the canonical string `k=v&…&key=KEY` of sorted pairs into `out`, which must hold
/// at least [`canonical_len`] bytes, and returns it. Pairs that are not signed are skipped;
/// with nothing signable the string is `key=KEY`.
fn write_canonical<'o>(pairs: &[Pair<'_>], key: &[u8], out: &'o mut [MaybeUninit<u8>]) -> &'o [u8] {
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        // Checked once per piece: a short `out` panics instead of writing past it.
        let end = at + bytes.len();
        let slot = &mut out[at..end];
        // SAFETY: `slot` is exactly `bytes.len()` writable bytes; the two cannot overlap.
        unsafe { copy_short(bytes, slot.as_mut_ptr().cast()) };
        at = end;
    };
    for (name, value) in pairs.iter().filter(|(n, v)| is_signed(n, v)) {
        put(name);
        put(b"=");
        put(value);
        put(b"&");
    }
    put(b"key=");
    put(key);
    // SAFETY: the first `at` bytes were written above.
    unsafe { std::slice::from_raw_parts(out.as_ptr().cast(), at) }
}

/// Copies `src` to `dst`. Names and values are mostly under 16 bytes, where a call to
/// `memcpy` per piece cost more than the copy itself (measured with perf): those are copied
/// inline as two overlapping words.
///
/// # Safety
/// `dst` is valid for `src.len()` bytes of writes and does not overlap `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let (n, s) = (src.len(), src.as_ptr());
    // SAFETY: every read is within `src` and every write within the first `n` bytes of
    // `dst` (the caller's contract); unaligned accesses are used throughout.
    unsafe {
        if n >= 16 {
            std::ptr::copy_nonoverlapping(s, dst, n);
        } else if n >= 8 {
            let head = s.cast::<u64>().read_unaligned();
            let tail = s.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(head);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else if n >= 4 {
            let head = s.cast::<u32>().read_unaligned();
            let tail = s.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(head);
            dst.add(n - 4).cast::<u32>().write_unaligned(tail);
        } else {
            for i in 0..n {
                *dst.add(i) = *s.add(i);
            }
        }
    }
}

fn canonical_len(pairs: &[Pair<'_>], key: &[u8]) -> usize {
    pairs
        .iter()
        .filter(|(n, v)| is_signed(n, v))
        .map(|(n, v)| n.len() + v.len() + 2)
        .sum::<usize>()
        + 4
        + key.len()
}

/// Sorts `pairs` and appends their canonical string to `out`.
pub fn canonical_into(pairs: &mut [Pair<'_>], key: &[u8], out: &mut Vec<u8>) {
    sort_pairs(pairs);
    let len = canonical_len(pairs, key);
    out.reserve(len);
    let written = write_canonical(pairs, key, out.spare_capacity_mut()).len();
    // SAFETY: `write_canonical` initialised `written` bytes of the spare capacity.
    unsafe { out.set_len(out.len() + written) };
}

/// An MD5 implementation: the host (the PHP engine) may bring its own, faster one.
pub type Md5Fn = fn(&[u8]) -> [u8; 16];

static HOST_MD5: OnceLock<Md5Fn> = OnceLock::new();

/// Makes every MD5 signature and verification of this process use `md5` (the PHP engine's
/// own, a little faster than the portable one here). Set once, at start; later calls are
/// ignored.
pub fn use_host_md5(md5: Md5Fn) {
    let _ = HOST_MD5.set(md5);
}

/// The portable MD5.
pub fn md5(message: &[u8]) -> [u8; 16] {
    Md5::digest(message).into()
}

/// Signs pairs that the caller has gathered (they are sorted in place).
pub fn sign_pairs(pairs: &mut [Pair<'_>], key: &[u8], sign_type: SignType) -> Signature {
    sort_pairs(pairs);
    sign_sorted(pairs, key, sign_type)
}

/// Canonical strings up to this long are built on the stack; longer ones on the heap.
const STACK_CANONICAL: usize = 2048;

fn sign_sorted(pairs: &[Pair<'_>], key: &[u8], sign_type: SignType) -> Signature {
    let len = canonical_len(pairs, key);
    let mut stack = [const { MaybeUninit::<u8>::uninit() }; STACK_CANONICAL];
    let mut heap = Vec::new();
    let buf: &mut [MaybeUninit<u8>] = if len <= STACK_CANONICAL {
        &mut stack
    } else {
        heap.reserve_exact(len);
        heap.spare_capacity_mut()
    };
    let message = write_canonical(pairs, key, buf);
    let sig = digest(message, key, sign_type);
    // The canonical string holds the key: wipe it before the memory is reused.
    wipe(&mut buf[..len]);
    sig
}

/// [`sign_pairs`] for parameters that may carry their own `sign_type`: it must name
/// `sign_type` ([`check_declared_type`]), so that nothing is signed that verification with
/// the same type would refuse.
pub fn sign_declared_pairs(
    pairs: &mut [Pair<'_>],
    key: &[u8],
    sign_type: SignType,
) -> Result<Signature, Error> {
    check_declared(pairs, sign_type)?;
    Ok(sign_pairs(pairs, key, sign_type))
}

/// [`check_declared_type`] for parameters about to be signed.
fn check_declared(pairs: &[Pair<'_>], sign_type: SignType) -> Result<(), Error> {
    check_declared_type(pairs, sign_type).map_err(|e| match e {
        VerifyError::SignTypeMismatch { declared, .. } => Error::InvalidArgument(format!(
            "sign_type \"{declared}\" in the parameters differs from {sign_type}, the type they are signed with"
        )),
        other => Error::InvalidArgument(other.to_string()),
    })
}

/// The refusal of a `sign` among parameters to be signed: it is computed and appended.
pub const SIGN_GIVEN: &str = "sign is computed when the request is signed and must not be given";

/// Signs `pairs` and writes them as a request body in one pass over the sorted fields:
/// `<xml>`, every field in the order it is signed in (byte order of names; empty values
/// are written but not signed, as `Signer::sign` + `Xml::encode` do), then `sign`. Names
/// must have passed [`crate::xml::is_field_name`]; values are checked as
/// [`crate::xml::append_field`] checks them. `sign` among the pairs is refused (it would go
/// out twice), as is a `sign_type` naming another type, or none with HMAC-SHA256 (WeChat
/// reads a request without it as MD5).
pub fn encode_signed(
    pairs: &mut [Pair<'_>],
    key: &[u8],
    sign_type: SignType,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    if pairs.iter().any(|(name, _)| *name == b"sign") {
        return Err(Error::InvalidArgument(SIGN_GIVEN.into()));
    }
    check_declared(pairs, sign_type)?;
    let declared = pairs
        .iter()
        .any(|(name, value)| *name == b"sign_type" && !value.is_empty());
    if sign_type == SignType::HmacSha256 && !declared {
        return Err(Error::InvalidArgument(
            "sign_type is not among the parameters: WeChat reads a request without it as MD5; \
             add sign_type HMAC-SHA256"
                .into(),
        ));
    }
    sort_pairs(pairs);
    out.extend_from_slice(b"<xml>");
    for (name, value) in pairs.iter() {
        crate::xml::append_field(out, name, value)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    }
    let signature = sign_sorted(pairs, key, sign_type);
    crate::xml::append_field(out, b"sign", signature.as_bytes())
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    out.extend_from_slice(b"</xml>");
    Ok(())
}

fn digest(message: &[u8], key: &[u8], sign_type: SignType) -> Signature {
    match sign_type {
        SignType::Md5 => {
            Signature::from_digest(&HOST_MD5.get().map_or(md5 as Md5Fn, |f| *f)(message))
        }
        SignType::HmacSha256 => KEYED.with_borrow_mut(|last| {
            let keyed = match last {
                Some((k, mac)) if bool::from(k.as_slice().ct_eq(key)) => mac,
                _ => {
                    // HMAC accepts keys of any length, so this cannot fail.
                    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
                    &last.insert((Zeroizing::new(key.to_vec()), mac)).1
                }
            };
            let mut mac = keyed.clone();
            mac.update(message);
            Signature::from_digest(&mac.finalize().into_bytes())
        }),
    }
}

thread_local! {
    /// The HMAC-SHA256 state keyed with the last key this thread signed or verified with:
    /// keying costs two of the ten SHA-256 blocks of a request's signature, and a site uses
    /// one key. Key and state are zeroed when replaced or dropped, and dropped by
    /// [`forget_keys`] (the extension calls it at the end of every PHP request).
    static KEYED: RefCell<Option<Keyed>> = const { RefCell::new(None) };
}

/// A key and the HMAC-SHA256 state that has absorbed it.
type Keyed = (Zeroizing<Vec<u8>>, Hmac<Sha256>);

/// Drops (and zeroes) the keyed HMAC state this thread keeps between signatures.
pub fn forget_keys() {
    KEYED.set(None);
}

fn wipe(buf: &mut [MaybeUninit<u8>]) {
    // SAFETY: zero bytes written over the slice's own memory (one memset).
    unsafe { std::ptr::write_bytes(buf.as_mut_ptr(), 0, buf.len()) };
    // The buffer is about to die: make the zeroes observable so they are not optimised away.
    std::hint::black_box(buf);
}

/// The API key as given to a signing call: non-empty UTF-8 text, as the merchant console
/// issues it (32 ASCII characters). Bytes that are not UTF-8 are refused rather than
/// converted, which would sign with another key than PHP's `md5()` of the same string.
pub fn api_key(key: &[u8]) -> Result<&str, Error> {
    if key.is_empty() {
        return Err(Error::InvalidArgument("key must not be empty".into()));
    }
    // Nothing about the bytes is said: they are a secret.
    std::str::from_utf8(key).map_err(|_| Error::InvalidArgument("key must be UTF-8 text".into()))
}

fn pair_list<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> PairList<'_> {
    let mut list = PairList::new();
    for (k, v) in fields {
        list.push((k.as_ref().as_bytes(), v.as_ref().as_bytes()));
    }
    list
}

/// Signs any sequence of string-like name/value pairs.
pub fn sign<K, V>(fields: &[(K, V)], key: &str, sign_type: SignType) -> Signature
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    sign_pairs(pair_list(fields).as_mut_slice(), key.as_bytes(), sign_type)
}

/// Why a signature was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// No `sign` field, or an empty one.
    Missing,
    /// `sign_type` names another algorithm than the pinned one (a downgrade attempt).
    SignTypeMismatch { declared: String, pinned: SignType },
    /// `sign` does not have the length of the pinned algorithm's hex digest.
    WrongLength { len: usize, pinned: SignType },
    /// The signature does not match the fields and key.
    Mismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("the message has no sign field"),
            Self::SignTypeMismatch { declared, pinned } => write!(
                f,
                "sign_type \"{declared}\" in the message differs from the configured {pinned}"
            ),
            Self::WrongLength { len, pinned } => write!(
                f,
                "sign has {len} characters, {pinned} signatures have {}",
                pinned.hex_len()
            ),
            Self::Mismatch => f.write_str("sign does not match the message"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// `sign_type`, when present and non-empty, must name `sign_type`: it is signed too, so a
/// message that declares one algorithm and is signed with another never verifies.
pub fn check_declared_type(pairs: &[Pair<'_>], sign_type: SignType) -> Result<(), VerifyError> {
    match pairs.iter().find(|(name, _)| *name == b"sign_type") {
        Some((_, declared))
            if !declared.is_empty() && *declared != sign_type.as_str().as_bytes() =>
        {
            Err(VerifyError::SignTypeMismatch {
                declared: String::from_utf8_lossy(declared).into_owned(),
                pinned: sign_type,
            })
        }
        _ => Ok(()),
    }
}

/// Verifies gathered pairs that include `sign`, with the algorithm pinned by the caller.
/// `sign_type`, when present and non-empty, must name the pinned algorithm.
pub fn verify_pairs(
    pairs: &mut [Pair<'_>],
    key: &[u8],
    pinned: SignType,
) -> Result<(), VerifyError> {
    check_declared_type(pairs, pinned)?;
    let received = match pairs.iter().find(|(name, _)| *name == b"sign") {
        Some((_, s)) if !s.is_empty() => *s,
        _ => return Err(VerifyError::Missing),
    };
    if received.len() != pinned.hex_len() {
        return Err(VerifyError::WrongLength {
            len: received.len(),
            pinned,
        });
    }
    if sign_pairs(pairs, key, pinned).matches(received) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// Verifies string-like fields that include `sign`.
pub fn verify<K, V>(fields: &[(K, V)], key: &str, pinned: SignType) -> Result<(), VerifyError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    verify_pairs(pair_list(fields).as_mut_slice(), key.as_bytes(), pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_sorts_by_bytes_and_skips_sign_and_empty() {
        let mut pairs: Vec<Pair<'_>> = vec![
            (b"b", b"2"),
            (b"B", b"1"),
            (b"a", b""),
            (b"sign", b"X"),
            (b"sign_type", b"MD5"),
            (b"10", b"ten"),
            (b"9", b"nine"),
            (b"z", b" "),
            (b"zero", b"0"),
        ];
        let mut out = Vec::new();
        canonical_into(&mut pairs, b"K", &mut out);
        assert_eq!(
            out,
            b"10=ten&9=nine&B=1&b=2&sign_type=MD5&z= &zero=0&key=K".to_vec()
        );
    }

    #[test]
    fn the_kept_hmac_state_follows_the_key() {
        let plain = |key: &[u8], message: &[u8]| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
            mac.update(message);
            Signature::from_digest(&mac.finalize().into_bytes())
        };
        let keys: [&[u8]; 5] = [b"key one", b"key two", b"key one", b"", b"key one!"];
        for (i, key) in keys.into_iter().enumerate() {
            for message in [&b"a=1&key=k"[..], b"b=2&key=k"] {
                let kept = digest(message, key, SignType::HmacSha256);
                assert_eq!(kept.as_str(), plain(key, message).as_str(), "key #{i}");
            }
            if i == 2 {
                forget_keys();
            }
        }
    }

    #[test]
    fn sort_matches_a_plain_byte_sort_for_any_size() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for (round, n) in [0, 1, 2, 12, 47, 48, 49, 100]
            .repeat(30)
            .into_iter()
            .enumerate()
        {
            let names: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    // Long names sharing long prefixes, and short ones, \0 included.
                    let len = next() % 24;
                    (0..len)
                        .map(|_| b"aB_0z\x00coupon"[next() % if len > 12 { 3 } else { 12 }])
                        .collect()
                })
                .collect();
            let mut pairs: Vec<Pair<'_>> =
                names.iter().map(|n| (n.as_slice(), &b"v"[..])).collect();
            let mut expected = pairs.clone();
            expected.sort_by(|a, b| a.0.cmp(b.0));
            // Some rounds start sorted or reversed: the insertion sort's best and worst case.
            match round % 3 {
                1 => pairs.clone_from(&expected),
                2 => pairs
                    .iter_mut()
                    .rev()
                    .zip(&expected)
                    .for_each(|(p, e)| *p = *e),
                _ => {}
            }
            sort_pairs(&mut pairs);
            assert_eq!(pairs, expected, "{n} pairs");
        }
    }

    /// `encode_signed`'s plain equivalent: sign, then encode the sorted fields and `sign`.
    fn sign_then_encode(fields: &[(&str, &str)], key: &str, t: SignType) -> String {
        let mut sorted = fields.to_vec();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let signature = sign(&sorted, key, t);
        sorted.push(("sign", signature.as_str()));
        crate::xml::encode(&sorted).unwrap_or_default()
    }

    fn encoded(fields: &[(&str, &str)], key: &str, t: SignType) -> Result<String, Error> {
        let mut pairs: Vec<Pair<'_>> = fields
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        let mut out = Vec::new();
        encode_signed(&mut pairs, key.as_bytes(), t, &mut out)?;
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    #[test]
    fn encode_signed_is_sign_then_encode_in_signing_order() {
        let fields = [
            ("out_trade_no", "A1"),
            ("body", "咖啡 ]]> & <tag>\r\n"),
            ("attach", ""),
            ("appid", "wx1"),
            ("sign_type", "HMAC-SHA256"),
        ];
        let body = encoded(&fields, "K", SignType::HmacSha256).unwrap_or_default();
        assert_eq!(body, sign_then_encode(&fields, "K", SignType::HmacSha256));
        assert!(
            body.starts_with("<xml><appid><![CDATA[wx1]]></appid><attach><![CDATA[]]></attach>")
        );
        // What it wrote decodes to the fields it was given, and verifies.
        let decoded =
            crate::xml::into_owned(crate::xml::decode(body.as_bytes()).unwrap_or_default());
        assert_eq!(decoded.len(), fields.len() + 1);
        assert_eq!(verify(&decoded, "K", SignType::HmacSha256), Ok(()));
        let md5_fields = [("b", "2"), ("a", "1")];
        assert_eq!(
            encoded(&md5_fields, "K", SignType::Md5),
            Ok(sign_then_encode(&md5_fields, "K", SignType::Md5))
        );
    }

    #[test]
    fn encode_signed_refusals() {
        let refused = |fields: &[(&str, &str)], t| match encoded(fields, "K", t) {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(&[("a", "1"), ("sign", "X")], SignType::Md5),
            SIGN_GIVEN
        );
        assert_eq!(
            refused(&[("a", "1")], SignType::HmacSha256),
            "sign_type is not among the parameters: WeChat reads a request without it as MD5; \
             add sign_type HMAC-SHA256"
        );
        assert_eq!(
            refused(&[("sign_type", "")], SignType::HmacSha256),
            refused(&[("a", "1")], SignType::HmacSha256)
        );
        assert_eq!(
            refused(&[("sign_type", "MD5")], SignType::HmacSha256),
            "sign_type \"MD5\" in the parameters differs from HMAC-SHA256, the type they are signed with"
        );
        assert_eq!(
            refused(&[("a", "x\u{1}y")], SignType::Md5),
            "field \"a\" contains the control character U+0001, which XML cannot carry"
        );
    }

    #[test]
    fn pair_list_keeps_order_past_the_stack() {
        let names: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
        for n in [0, 1, 63, 64, 65, 150] {
            let mut list = PairList::new();
            for name in &names[..n] {
                list.push((name.as_bytes(), b"v"));
            }
            assert_eq!(list.len(), n);
            let got: Vec<&[u8]> = list.as_mut_slice().iter().map(|p| p.0).collect();
            let expected: Vec<&[u8]> = names[..n].iter().map(|s| s.as_bytes()).collect();
            assert_eq!(got, expected, "{n} pairs");
        }
    }

    #[test]
    fn long_canonical_strings_sign_as_short_ones_do() {
        // Past the stack buffer the canonical string is built on the heap: same signature.
        let long = "x".repeat(3 * STACK_CANONICAL);
        let fields = [("a", long.as_str()), ("b", "1")];
        let expected = format!("a={long}&b=1&key=K");
        assert_eq!(
            sign(&fields, "K", SignType::Md5).as_str(),
            Signature::from_digest(&md5(expected.as_bytes())).as_str()
        );
    }

    #[test]
    fn nothing_signable_gives_key_only() {
        let mut out = Vec::new();
        canonical_into(&mut [(b"sign".as_slice(), b"x".as_slice())], b"K", &mut out);
        assert_eq!(out, b"key=K");
        let expected = Signature::from_digest(&Md5::digest(b"key=K"));
        assert_eq!(
            sign::<&str, &str>(&[], "K", SignType::Md5).as_str(),
            expected.as_str()
        );
    }

    #[test]
    fn value_with_trailing_ampersand_is_not_trimmed() {
        let mut out = Vec::new();
        canonical_into(&mut [(b"a".as_slice(), b"x&".as_slice())], b"K", &mut out);
        assert_eq!(out, b"a=x&&key=K");
    }

    #[test]
    fn sign_type_names_round_trip() {
        for t in [SignType::Md5, SignType::HmacSha256] {
            assert_eq!(SignType::parse(t.as_str()), Some(t));
        }
        assert_eq!(SignType::parse("md5"), None);
        assert_eq!(SignType::parse("HMAC_SHA256"), None);
        assert_eq!(SignType::parse(""), None);
    }

    fn signed(fields: &[(&str, &str)], key: &str, t: SignType) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = sign(&v, key, t);
        v.push(("sign".into(), s.as_str().into()));
        v
    }

    #[test]
    fn verify_accepts_own_signature_both_types() {
        for t in [SignType::Md5, SignType::HmacSha256] {
            let v = signed(&[("a", "1"), ("b", "2")], "key", t);
            assert_eq!(verify(&v, "key", t), Ok(()));
        }
    }

    #[test]
    fn verify_refusals() {
        let v = signed(&[("a", "1")], "key", SignType::Md5);
        assert_eq!(
            verify(&v, "other", SignType::Md5),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&v, "key", SignType::HmacSha256),
            Err(VerifyError::WrongLength {
                len: 32,
                pinned: SignType::HmacSha256
            })
        );
        assert_eq!(
            verify(&[("a", "1")], "key", SignType::Md5),
            Err(VerifyError::Missing)
        );
        assert_eq!(
            verify(&[("a", "1"), ("sign", "")], "key", SignType::Md5),
            Err(VerifyError::Missing)
        );
        let mut lower = v.clone();
        lower[1].1 = lower[1].1.to_lowercase();
        assert_ne!(
            lower[1].1, v[1].1,
            "a signature with letters is needed here"
        );
        assert_eq!(
            verify(&lower, "key", SignType::Md5),
            Err(VerifyError::Mismatch)
        );
        let mut tampered = v.clone();
        tampered[0].1 = "2".into();
        assert_eq!(
            verify(&tampered, "key", SignType::Md5),
            Err(VerifyError::Mismatch)
        );
        let mut extra = v.clone();
        extra.push(("new_field".into(), "x".into()));
        assert_eq!(
            verify(&extra, "key", SignType::Md5),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn api_key_must_be_nonempty_utf8() {
        assert_eq!(api_key(b"K"), Ok("K"));
        assert_eq!(
            api_key(b""),
            Err(Error::InvalidArgument("key must not be empty".into()))
        );
        assert_eq!(
            api_key(b"ab\xff"),
            Err(Error::InvalidArgument("key must be UTF-8 text".into()))
        );
    }

    #[test]
    fn verify_refuses_downgrade_by_sign_type() {
        // A message signed with MD5 that says so is refused by an HMAC-pinned verifier.
        let v = signed(&[("a", "1"), ("sign_type", "MD5")], "key", SignType::Md5);
        assert_eq!(
            verify(&v, "key", SignType::HmacSha256),
            Err(VerifyError::SignTypeMismatch {
                declared: "MD5".into(),
                pinned: SignType::HmacSha256
            })
        );
        // Signing such a message with the other type is refused, naming sign_type.
        let mut pairs = [(&b"a"[..], &b"1"[..]), (b"sign_type", b"MD5")];
        match sign_declared_pairs(&mut pairs, b"key", SignType::HmacSha256) {
            Err(Error::InvalidArgument(m)) => assert_eq!(
                m,
                "sign_type \"MD5\" in the parameters differs from HMAC-SHA256, the type they are signed with"
            ),
            other => panic!("{:?}", other.map(|s| s.as_str().to_owned())),
        }
        let matching =
            sign_declared_pairs(&mut pairs, b"key", SignType::Md5).map(|s| s.as_str().to_owned());
        assert_eq!(
            matching,
            Ok(sign_pairs(&mut pairs, b"key", SignType::Md5)
                .as_str()
                .to_owned())
        );
        // Without sign_type the pinned type is used and the length gives it away.
        let v = signed(&[("a", "1")], "key", SignType::Md5);
        assert!(matches!(
            verify(&v, "key", SignType::HmacSha256),
            Err(VerifyError::WrongLength { .. })
        ));
    }
}
