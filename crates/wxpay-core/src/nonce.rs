//! `nonce_str`: 32 characters of `[0-9A-Za-z]` from the operating system's CSPRNG.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh 32-character nonce. Fails only if the OS cannot supply randomness.
pub fn nonce() -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(32);
    let mut buf = [0u8; 64];
    while out.len() < 32 {
        getrandom::fill(&mut buf)?;
        // Rejection sampling keeps the 62 symbols equally likely.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == 32 {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn nonce_is_32_alnum_and_fresh() {
        let a = super::nonce().unwrap();
        let b = super::nonce().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
