//! Refund notification `req_info` (docs/protocol.md §6): base64, AES-256-ECB keyed with the 32
//! ASCII characters of lowercase hex MD5(API key), PKCS#7. ECB carries no MAC, so every padding or
//! format problem is reported as a refusal, never repaired.

use aes::Aes256;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use std::fmt;

const BLOCK: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecryptError {
    Base64,
    Length { len: usize },
    Padding,
    NotUtf8,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base64 => f.write_str("req_info is not valid base64"),
            Self::Length { len } => write!(
                f,
                "req_info decodes to {len} bytes, not a positive multiple of {BLOCK}"
            ),
            Self::Padding => f.write_str(
                "req_info does not decrypt with this key (bad PKCS#7 padding): wrong key or forged",
            ),
            Self::NotUtf8 => f.write_str("decrypted req_info is not UTF-8"),
        }
    }
}

impl std::error::Error for DecryptError {}

fn cipher(api_key: &str) -> Aes256 {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(api_key.as_bytes());
    let mut key = [0u8; 32];
    for (i, b) in digest.iter().enumerate() {
        key[2 * i] = HEX[usize::from(b >> 4)];
        key[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    Aes256::new(GenericArray::from_slice(&key))
}

/// Decrypts `req_info` into its XML text.
pub fn decrypt_req_info(req_info: &str, api_key: &str) -> Result<String, DecryptError> {
    let mut data = STANDARD
        .decode(req_info.trim_ascii())
        .map_err(|_| DecryptError::Base64)?;
    if data.is_empty() || data.len() % BLOCK != 0 {
        return Err(DecryptError::Length { len: data.len() });
    }
    let aes = cipher(api_key);
    for block in data.chunks_exact_mut(BLOCK) {
        aes.decrypt_block(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*data.last().unwrap_or(&0));
    let valid = (1..=BLOCK).contains(&pad)
        && data[data.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad);
    if !valid {
        return Err(DecryptError::Padding);
    }
    data.truncate(data.len() - pad);
    String::from_utf8(data).map_err(|_| DecryptError::NotUtf8)
}

/// Encrypts XML text as WeChat does for `req_info` (used by the simulator and tests).
pub fn encrypt_req_info(plaintext: &str, api_key: &str) -> String {
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext.as_bytes());
    data.resize(plaintext.len() + pad, pad as u8);
    let aes = cipher(api_key);
    for block in data.chunks_exact_mut(BLOCK) {
        aes.encrypt_block(GenericArray::from_mut_slice(block));
    }
    STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for text in ["", "a", "<root><x>1</x></root>", &"y".repeat(16), "退款"] {
            let enc = encrypt_req_info(text, "k");
            assert_eq!(decrypt_req_info(&enc, "k").as_deref(), Ok(text));
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(decrypt_req_info("!!!", "k"), Err(DecryptError::Base64));
        assert_eq!(
            decrypt_req_info("", "k"),
            Err(DecryptError::Length { len: 0 })
        );
        assert_eq!(
            decrypt_req_info("AAAA", "k"),
            Err(DecryptError::Length { len: 3 })
        );
        let enc = encrypt_req_info("<root><a>1</a></root>", "right");
        assert_eq!(decrypt_req_info(&enc, "wrong"), Err(DecryptError::Padding));
    }
}
