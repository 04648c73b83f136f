//! uuid.

use core::fmt;
use core::str::FromStr;

use bytes::BytesMut;

use super::oid;
use super::primitive::fixed;
use super::{Decode, Encode, Session, ValueError};

/// A `uuid` value: 16 bytes.
///
/// Text output is lowercase and hyphenated (`a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`). Text input
/// is PostgreSQL's `uuid_in`: 32 hex digits in either case, optionally inside `{}`, with at most
/// one hyphen after any group of four digits (not after the last); no whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// The UUID with these bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Uuid {
        Uuid(bytes)
    }

    /// Its bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The text form, without allocating.
    fn text(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut j = 0;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                j += 1;
            }
            out[j] = HEX[usize::from(b >> 4)];
            out[j + 1] = HEX[usize::from(b & 15)];
            j += 2;
        }
        out
    }

    /// `uuid_in`; see [`Uuid`].
    fn parse(raw: &[u8]) -> Result<Uuid, ValueError> {
        let invalid = || ValueError::text("uuid", raw);
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let (body, braces) = match raw.first() {
            Some(b'{') => (&raw[1..], true),
            _ => (raw, false),
        };
        let mut bytes = [0u8; 16];
        let mut i = 0;
        for (n, byte) in bytes.iter_mut().enumerate() {
            let hi = body.get(i).and_then(|&b| hex(b)).ok_or_else(invalid)?;
            let lo = body.get(i + 1).and_then(|&b| hex(b)).ok_or_else(invalid)?;
            *byte = (hi << 4) | lo;
            i += 2;
            if n % 2 == 1 && n < 15 && body.get(i) == Some(&b'-') {
                i += 1;
            }
        }
        let rest = &body[i..];
        let ok = if braces {
            rest == b"}"
        } else {
            rest.is_empty()
        };
        if ok { Ok(Uuid(bytes)) } else { Err(invalid()) }
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        // The text is ASCII hex and hyphens.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Uuid {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Uuid, ValueError> {
        Uuid::parse(s.as_bytes())
    }
}

impl From<[u8; 16]> for Uuid {
    fn from(bytes: [u8; 16]) -> Self {
        Uuid(bytes)
    }
}

impl From<Uuid> for [u8; 16] {
    fn from(u: Uuid) -> Self {
        u.0
    }
}

impl Encode for Uuid {
    const TYPE: u32 = oid::UUID;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(&self.text());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match ty {
            0 | oid::UUID => {
                out.extend_from_slice(&self.0);
                Ok(())
            }
            ty => Err(ValueError::WrongType { ty, rust: "Uuid" }),
        }
    }
}

impl Decode<'_> for Uuid {
    fn accepts(ty: u32) -> bool {
        ty == oid::UUID
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        if ty != oid::UUID {
            return Err(ValueError::WrongType { ty, rust: "Uuid" });
        }
        Uuid::parse(raw)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        if ty != oid::UUID {
            return Err(ValueError::WrongType { ty, rust: "Uuid" });
        }
        fixed(raw, ty).map(Uuid)
    }
}

#[cfg(feature = "uuid")]
mod uuid_crate {
    //! Conversions to and from `uuid::Uuid` (feature `uuid`).

    use bytes::BytesMut;

    use super::Uuid;
    use crate::types::{Decode, Encode, Session, ValueError};

    impl From<uuid::Uuid> for Uuid {
        fn from(u: uuid::Uuid) -> Self {
            Uuid(u.into_bytes())
        }
    }

    impl From<Uuid> for uuid::Uuid {
        fn from(u: Uuid) -> Self {
            uuid::Uuid::from_bytes(u.0)
        }
    }

    /// As [`Uuid`].
    impl Encode for uuid::Uuid {
        const TYPE: u32 = crate::types::oid::UUID;

        fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
            Uuid(self.into_bytes()).encode_text(session, out)
        }

        fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
            Uuid(self.into_bytes()).encode_binary(ty, out)
        }
    }

    /// As [`Uuid`].
    impl Decode<'_> for uuid::Uuid {
        fn accepts(ty: u32) -> bool {
            <Uuid as Decode>::accepts(ty)
        }

        fn decode_text(session: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            <Uuid as Decode>::decode_text(session, ty, raw).map(Into::into)
        }

        fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            <Uuid as Decode>::decode_binary(ty, raw).map(Into::into)
        }
    }
}
