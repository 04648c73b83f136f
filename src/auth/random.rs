//! Where nonces and salts come from.

use super::AuthError;

/// A source of random bytes for nonces, salts and cancel keys. The library never draws
/// randomness any other way, so a test (or a fuzzer) can make every exchange reproducible.
pub trait RandomSource {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError>;
}

/// The operating system's cryptographically secure generator: the default source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError> {
        getrandom::fill(dest).map_err(|_| AuthError::RandomUnavailable)
    }
}

/// Hands out fixed bytes in order, for tests that reproduce an exchange byte for byte. Asking
/// for more than it holds fails with [`AuthError::RandomUnavailable`].
#[derive(Debug, Clone, Default)]
pub struct FixedRandom {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRandom {
    /// A source that will hand out exactly these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> FixedRandom {
        FixedRandom {
            bytes: bytes.into(),
            pos: 0,
        }
    }
}

impl RandomSource for FixedRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError> {
        let end = self
            .pos
            .checked_add(dest.len())
            .filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(AuthError::RandomUnavailable)?;
        dest.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
        Ok(())
    }
}
