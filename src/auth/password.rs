//! MD5 password hashing, both sides (cleartext needs nothing but the secret's checks).

use md5::{Digest, Md5};

use super::{AuthError, RandomSource};

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// md5(password ++ user), the hash PostgreSQL stores.
pub(crate) fn md5_of(password: &[u8], user: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(password);
    h.update(user);
    h.finalize().into()
}

/// `md5` + hex(md5(hex(stored) ++ salt)): what the client sends.
pub(crate) fn salted_md5_response(stored: &[u8; 16], salt: [u8; 4]) -> String {
    let mut h = Md5::new();
    h.update(hex(stored).as_bytes());
    h.update(salt);
    format!("md5{}", hex(&h.finalize()))
}

/// The client's answer to AuthenticationMD5Password: `md5` + hex(md5(hex(md5(password ++
/// user)) ++ salt)). `user` is the one sent in the startup packet.
pub fn md5_response(user: &[u8], password: &[u8], salt: [u8; 4]) -> String {
    salted_md5_response(&md5_of(password, user), salt)
}

/// A fresh salt for AuthenticationMD5Password.
pub fn md5_salt(rng: &mut dyn RandomSource) -> Result<[u8; 4], AuthError> {
    let mut salt = [0u8; 4];
    rng.fill(&mut salt)?;
    Ok(salt)
}
