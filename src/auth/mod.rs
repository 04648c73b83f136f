//! Authentication exchanges, for both sides: SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802,
//! RFC 7677, channel binding `tls-server-end-point` from RFC 5929), MD5 and cleartext.
//!
//! These are sans-IO exchanges, not state machines: they turn the bytes of one `p` message
//! into the bytes of the next `R` message (or the reverse, on the client) and say when the
//! exchange has succeeded or failed. The server and client connections drive them.
//!
//! Randomness (nonces, salts) comes from a [`RandomSource`]; the default, [`OsRandom`], is the
//! operating system's generator, and tests inject fixed bytes with [`FixedRandom`].

mod channel_binding;
mod error;
mod password;
mod random;
mod scram;
mod scram_client;
mod scram_server;
mod secret;

pub use channel_binding::tls_server_end_point;
pub use error::AuthError;
pub use password::{md5_response, md5_salt};
pub use random::{FixedRandom, OsRandom, RandomSource};
pub use scram::{SCRAM_SHA_256, SCRAM_SHA_256_PLUS, mechanisms};
pub use scram_client::{ChannelBindingPolicy, ScramClient, ScramClientConfig};
pub use scram_server::{ScramServer, ScramStep};
pub use secret::{ScramSecret, StoredSecret};

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_compares() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
        assert!(super::constant_time_eq(b"", b""));
    }
}
