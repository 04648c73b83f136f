//! SCRAM-SHA-256 building blocks shared by both sides: the key derivation of RFC 5802, SASLprep
//! as PostgreSQL applies it, and a reader for `attr=value,...` messages.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::AuthError;

/// The SASL mechanism name of SCRAM-SHA-256.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// The SASL mechanism name of SCRAM-SHA-256 with channel binding.
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// The mechanisms a server offers, in PostgreSQL's order: the `-PLUS` variant first, and only
/// when channel binding is possible (a TLS connection whose certificate the driver handed over).
pub fn mechanisms(channel_binding: bool) -> &'static [&'static str] {
    if channel_binding {
        &[SCRAM_SHA_256_PLUS, SCRAM_SHA_256]
    } else {
        &[SCRAM_SHA_256]
    }
}

/// Length of SHA-256 keys and signatures.
pub(crate) const KEY_LEN: usize = 32;
/// Raw bytes behind a nonce (PostgreSQL and libpq: 18, base64-encoded to 24 characters).
pub(crate) const NONCE_LEN: usize = 18;
/// The `tls-server-end-point` GS2 header.
pub(crate) const CBIND_HEADER: &[u8] = b"p=tls-server-end-point,,";

pub(crate) type Key = [u8; KEY_LEN];

pub(crate) fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

pub(crate) fn unb64(data: &[u8]) -> Option<Vec<u8>> {
    B64.decode(data).ok()
}

pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Key {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256(data: &[u8]) -> Key {
    Sha256::digest(data).into()
}

/// SASLprep as PostgreSQL applies it: the prepared form when the password is valid UTF-8 and
/// preparation succeeds, the raw bytes otherwise.
pub(crate) fn prepare_password(password: &[u8]) -> Cow<'_, [u8]> {
    match core::str::from_utf8(password)
        .ok()
        .map(stringprep::saslprep)
    {
        Some(Ok(Cow::Owned(s))) => Cow::Owned(s.into_bytes()),
        _ => Cow::Borrowed(password),
    }
}

/// `Hi(password, salt, i)` of RFC 5802: PBKDF2 with HMAC-SHA-256, on a prepared password.
pub(crate) fn salted_password(prepared: &[u8], salt: &[u8], iterations: u32) -> Key {
    let mut out = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(prepared, salt, iterations, &mut out);
    out
}

/// `ClientKey`, `StoredKey` and `ServerKey` from a salted password.
pub(crate) fn keys(salted: &Key) -> (Key, Key, Key) {
    let client_key = hmac(salted, &[b"Client Key"]);
    let stored_key = sha256(&client_key);
    let server_key = hmac(salted, &[b"Server Key"]);
    (client_key, stored_key, server_key)
}

/// Printable as RFC 5802 defines it: 0x21..=0x7E except the comma.
pub(crate) fn is_printable(s: &[u8]) -> bool {
    s.iter().all(|&c| (0x21..=0x7E).contains(&c) && c != b',')
}

/// Reads `attr=value` pairs separated by commas.
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
    /// Offset of `rest` in the whole message.
    pub(crate) pos: usize,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(msg: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: msg, pos: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next attribute, whatever its name; `Malformed` at the end of the message or on a
    /// name that is not a letter.
    pub(crate) fn any(&mut self) -> Result<(u8, &'a [u8]), AuthError> {
        let (&attr, tail) = self.rest.split_first().ok_or(AuthError::Malformed(
            "attribute expected, but found end of string",
        ))?;
        if !attr.is_ascii_alphabetic() {
            return Err(AuthError::Malformed(
                "attribute expected, but found an invalid character",
            ));
        }
        let tail = tail.strip_prefix(b"=").ok_or(AuthError::Malformed(
            "expected \"=\" after the attribute name",
        ))?;
        let end = memchr::memchr(b',', tail).unwrap_or(tail.len());
        let value = &tail[..end];
        let consumed = 2 + end + usize::from(end < tail.len());
        self.rest = &self.rest[consumed..];
        self.pos += consumed;
        Ok((attr, value))
    }

    /// The next attribute, which must be `attr`.
    pub(crate) fn expect(&mut self, attr: u8, what: &'static str) -> Result<&'a [u8], AuthError> {
        match self.rest.first() {
            Some(&a) if a == attr => Ok(self.any()?.1),
            _ => Err(AuthError::Malformed(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslprep_as_postgres_applies_it() {
        // Mapped to nothing (soft hyphen), NFKC (Roman numeral nine), and left alone.
        assert_eq!(&*prepare_password("I\u{AD}X".as_bytes()), b"IX");
        assert_eq!(&*prepare_password("\u{2168}".as_bytes()), b"IX");
        assert_eq!(&*prepare_password(b"pencil"), b"pencil");
        // Invalid UTF-8 and prohibited characters: the raw bytes.
        assert_eq!(&*prepare_password(b"caf\xE9"), b"caf\xE9");
        assert_eq!(&*prepare_password(b"a\x07b"), b"a\x07b");
    }

    #[test]
    fn attrs_reads_pairs() {
        let mut a = Attrs::new(b"r=abc,s=,i=4096");
        assert_eq!(a.any().unwrap(), (b'r', &b"abc"[..]));
        assert_eq!(a.expect(b's', "salt").unwrap(), b"");
        assert_eq!(a.any().unwrap(), (b'i', &b"4096"[..]));
        assert!(a.at_end());
        assert!(a.any().is_err());
        assert!(Attrs::new(b"1=x").any().is_err());
        assert!(Attrs::new(b"rx").any().is_err());
    }
}
