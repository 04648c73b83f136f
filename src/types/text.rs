//! text, varchar, bpchar, name and bytea.
//!
//! `&str` and `String` read every string-like type (text, varchar, bpchar, name, unknown, json
//! and jsonb) in both formats; the text and binary forms of these are the same bytes, except
//! that binary jsonb starts with a version byte (1). They are written as text. Values must be
//! UTF-8 without NUL bytes (PostgreSQL rejects both with 22021): reading or writing anything else
//! fails with [`ValueError::InvalidUtf8`].
//!
//! Writing as `name` in binary cuts the string to 63 bytes at a character boundary, the value
//! PostgreSQL's `namein` makes of the same text (its binary `namerecv` would reject a longer
//! value instead). Text output cannot know the target type and is written whole; the server cuts
//! it on input.
//!
//! bytea is [`Bytea`], a wrapper that keeps byte strings apart from arrays (`Vec<T>`).

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use super::oid;
use super::{Decode, Encode, Session, ValueError};

/// PostgreSQL's NAMEDATALEN - 1: the longest `name`, in bytes.
const NAME_MAX: usize = 63;

/// Whether `ty` is a type whose binary form is its text (or unknown to this crate, such as an
/// extension's type, where text is the best guess); used to refuse writing a string as, say,
/// an int4.
fn is_textual(ty: u32) -> bool {
    matches!(
        ty,
        0 | oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::NAME
            | oid::UNKNOWN
            | oid::JSON
            | oid::JSONB
    ) || oid::lookup(ty).is_none()
}

/// Appends the binary form of string `s` as type `ty`.
pub(crate) fn put_str_binary(
    s: &str,
    ty: u32,
    rust: &'static str,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    check_str(s.as_bytes())?;
    match ty {
        oid::JSONB => {
            out.put_u8(1);
            out.extend_from_slice(s.as_bytes());
        }
        oid::NAME => {
            let mut end = s.len().min(NAME_MAX);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            out.extend_from_slice(&s.as_bytes()[..end]);
        }
        ty if is_textual(ty) => out.extend_from_slice(s.as_bytes()),
        ty => return Err(ValueError::WrongType { ty, rust }),
    }
    Ok(())
}

/// Refuses NUL bytes, which PostgreSQL text cannot hold.
fn check_str(raw: &[u8]) -> Result<(), ValueError> {
    if memchr::memchr(0, raw).is_some() {
        Err(ValueError::InvalidUtf8)
    } else {
        Ok(())
    }
}

/// Validates string bytes: UTF-8 without NUL.
pub(crate) fn to_str(raw: &[u8]) -> Result<&str, ValueError> {
    check_str(raw)?;
    core::str::from_utf8(raw).map_err(|_| ValueError::InvalidUtf8)
}

/// The text inside a binary value of type `ty`: after the version byte for jsonb.
pub(crate) fn binary_text(ty: u32, raw: &[u8]) -> Result<&[u8], ValueError> {
    if ty != oid::JSONB {
        return Ok(raw);
    }
    match raw.split_first() {
        Some((1, rest)) => Ok(rest),
        Some(_) => Err(ValueError::InvalidBinary {
            type_name: "jsonb",
            reason: "unsupported jsonb version number",
        }),
        None => Err(ValueError::BinaryLength {
            type_name: "jsonb",
            len: 0,
        }),
    }
}

fn string_type(ty: u32) -> bool {
    matches!(
        ty,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN | oid::JSON | oid::JSONB
    )
}

fn expect_string(ty: u32, rust: &'static str) -> Result<(), ValueError> {
    if string_type(ty) {
        Ok(())
    } else {
        Err(ValueError::WrongType { ty, rust })
    }
}

impl Encode for str {
    const TYPE: u32 = oid::TEXT;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        check_str(self.as_bytes())?;
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        put_str_binary(self, ty, "&str", out)
    }
}

impl Encode for String {
    const TYPE: u32 = oid::TEXT;

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        self.as_str().encode_text(session, out)
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        put_str_binary(self, ty, "String", out)
    }
}

impl<'a> Decode<'a> for &'a str {
    fn accepts(ty: u32) -> bool {
        string_type(ty)
    }

    fn decode_text(_: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        expect_string(ty, "&str")?;
        to_str(raw)
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        expect_string(ty, "&str")?;
        to_str(binary_text(ty, raw)?)
    }
}

impl Decode<'_> for String {
    fn accepts(ty: u32) -> bool {
        string_type(ty)
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect_string(ty, "String")?;
        to_str(raw).map(str::to_owned)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect_string(ty, "String")?;
        to_str(binary_text(ty, raw)?).map(str::to_owned)
    }
}

// ----------------------------------------------------------------------------------------------
// bytea

/// A `bytea` value: wraps anything that is bytes (`Bytea(&b"..."[..])`, `Bytea(vec)`,
/// `Bytea([1, 2, 3])`) for writing, and reads as `Bytea<Vec<u8>>`, or as `Bytea<Cow<[u8]>>`,
/// which borrows a binary value and owns a decoded text one.
///
/// A wrapper rather than `Vec<u8>` and `&[u8]` themselves: those are arrays of `T` elsewhere,
/// and Rust's coherence rules cannot tell `Vec<u8>` apart from `Vec<T: Encode>`.
///
/// Text output is the hex format (`\x0a1b`). Text input is PostgreSQL's `byteain`: `\x` and hex
/// digit pairs (either case), with spaces, tabs, newlines and carriage returns allowed between
/// pairs; or the escape format, where `\\` is a backslash, `\ooo` (first digit 0-3) an octal
/// byte, and every other byte itself. PostgreSQL reports bad hex with SQLSTATE 22023; here every
/// malformed input is [`ValueError::InvalidText`] (22P02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Bytea<T>(pub T);

impl<T> Bytea<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Bytea<T> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl From<Vec<u8>> for Bytea<Vec<u8>> {
    fn from(v: Vec<u8>) -> Self {
        Bytea(v)
    }
}

impl<'a> From<&'a [u8]> for Bytea<&'a [u8]> {
    fn from(v: &'a [u8]) -> Self {
        Bytea(v)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the hex text form of `bytes`.
pub(crate) fn put_bytea_text(bytes: &[u8], out: &mut BytesMut) {
    out.reserve(2 + 2 * bytes.len());
    out.extend_from_slice(b"\\x");
    for &b in bytes {
        out.put_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
}

/// Reads either text form of bytea.
pub(crate) fn parse_bytea(raw: &[u8]) -> Result<Vec<u8>, ValueError> {
    let invalid = || ValueError::text("bytea", raw);
    if let Some(hex) = raw.strip_prefix(b"\\x") {
        let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut i = 0;
        while i < hex.len() {
            let c = hex[i];
            if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                i += 1;
                continue;
            }
            let hi = digit(c).ok_or_else(invalid)?;
            let lo = hex.get(i + 1).and_then(|&c| digit(c)).ok_or_else(invalid)?;
            out.push((hi << 4) | lo);
            i += 2;
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
        } else if raw.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if let (Some(a @ b'0'..=b'3'), Some(b @ b'0'..=b'7'), Some(c @ b'0'..=b'7')) = (
            raw.get(i + 1).copied(),
            raw.get(i + 2).copied(),
            raw.get(i + 3).copied(),
        ) {
            out.push(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0'));
            i += 4;
        } else {
            return Err(invalid());
        }
    }
    Ok(out)
}

fn expect_bytea(ty: u32, rust: &'static str) -> Result<(), ValueError> {
    if ty == oid::BYTEA {
        Ok(())
    } else {
        Err(ValueError::WrongType { ty, rust })
    }
}

impl<T: AsRef<[u8]>> Encode for Bytea<T> {
    const TYPE: u32 = oid::BYTEA;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        put_bytea_text(self.0.as_ref(), out);
        Ok(())
    }

    /// The bytes, as bytea or a type unknown to this crate.
    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        if ty == 0 || ty == oid::BYTEA || oid::lookup(ty).is_none() {
            out.extend_from_slice(self.0.as_ref());
            Ok(())
        } else {
            Err(ValueError::WrongType { ty, rust: "Bytea" })
        }
    }
}

impl Decode<'_> for Bytea<Vec<u8>> {
    fn accepts(ty: u32) -> bool {
        ty == oid::BYTEA
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect_bytea(ty, "Bytea<Vec<u8>>")?;
        parse_bytea(raw).map(Bytea)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect_bytea(ty, "Bytea<Vec<u8>>")?;
        Ok(Bytea(raw.to_vec()))
    }
}

impl<'a> Decode<'a> for Bytea<Cow<'a, [u8]>> {
    fn accepts(ty: u32) -> bool {
        ty == oid::BYTEA
    }

    fn decode_text(_: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        expect_bytea(ty, "Bytea<Cow<[u8]>>")?;
        parse_bytea(raw).map(|v| Bytea(Cow::Owned(v)))
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        expect_bytea(ty, "Bytea<Cow<[u8]>>")?;
        Ok(Bytea(Cow::Borrowed(raw)))
    }
}
