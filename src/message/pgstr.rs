//! `PgStr`: a protocol string, kept as the bytes that came off the wire.

use core::fmt;
use core::str::Utf8Error;
use std::borrow::Cow;

use bytes::Bytes;

use super::error::EncodeError;

/// A string field of a message (a query, a statement name, a parameter value ...), kept as bytes.
///
/// It never contains a zero byte, so it can always be written NUL-terminated. It is not required
/// to be UTF-8: PostgreSQL frames a query with invalid UTF-8 correctly and answers it with 22021,
/// so invalid text is the application's decision, not a framing error. Cloning is cheap (it
/// shares the frame it was decoded from).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgStr(Bytes);

impl PgStr {
    /// The empty string (the unnamed statement or portal).
    pub const EMPTY: PgStr = PgStr(Bytes::from_static(b""));

    /// Wraps bytes, refusing a zero byte.
    pub fn new(bytes: impl Into<Bytes>) -> Result<PgStr, EncodeError> {
        let bytes = bytes.into();
        if memchr::memchr(0, &bytes).is_some() {
            return Err(EncodeError::NulInString { field: "string" });
        }
        Ok(PgStr(bytes))
    }

    /// Wraps a static string; a zero byte in it is a programming error and panics (in a
    /// `const` context, at compile time).
    pub const fn from_static(s: &'static str) -> PgStr {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            assert!(b[i] != 0, "PgStr::from_static: zero byte in string");
            i += 1;
        }
        PgStr(Bytes::from_static(b))
    }

    /// Wraps bytes already known to hold no zero byte (they were split at one).
    pub(crate) fn from_bytes_unchecked(bytes: Bytes) -> PgStr {
        debug_assert!(memchr::memchr(0, &bytes).is_none());
        PgStr(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as UTF-8 text, or why they are not.
    pub fn to_str(&self) -> Result<&str, Utf8Error> {
        core::str::from_utf8(&self.0)
    }

    /// The bytes as text, with invalid sequences replaced.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The underlying shared bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes, without the terminator.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Lets maps keyed by `PgStr` be searched with a byte slice (hash and equality are those of
/// the bytes).
impl core::borrow::Borrow<[u8]> for PgStr {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for PgStr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PgStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.to_string_lossy(), f)
    }
}

impl fmt::Display for PgStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl PartialEq<str> for PgStr {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for PgStr {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for PgStr {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl TryFrom<&str> for PgStr {
    type Error = EncodeError;
    fn try_from(s: &str) -> Result<PgStr, EncodeError> {
        PgStr::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<String> for PgStr {
    type Error = EncodeError;
    fn try_from(s: String) -> Result<PgStr, EncodeError> {
        PgStr::new(s)
    }
}

impl TryFrom<&[u8]> for PgStr {
    type Error = EncodeError;
    fn try_from(s: &[u8]) -> Result<PgStr, EncodeError> {
        PgStr::new(Bytes::copy_from_slice(s))
    }
}

impl TryFrom<Vec<u8>> for PgStr {
    type Error = EncodeError;
    fn try_from(s: Vec<u8>) -> Result<PgStr, EncodeError> {
        PgStr::new(s)
    }
}

impl TryFrom<Bytes> for PgStr {
    type Error = EncodeError;
    fn try_from(s: Bytes) -> Result<PgStr, EncodeError> {
        PgStr::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_zero_bytes_and_keeps_invalid_utf8() {
        assert!(PgStr::try_from("a\0b").is_err());
        let s = PgStr::try_from(&b"caf\xE9"[..]).unwrap();
        assert!(s.to_str().is_err());
        assert_eq!(s.to_string_lossy(), "caf\u{FFFD}");
        assert_eq!(PgStr::from_static("x"), "x");
        assert!(PgStr::EMPTY.is_empty());
    }
}
