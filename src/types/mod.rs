//! Values: the text and binary forms of PostgreSQL's core types, and what a server needs to
//! describe and write result rows and to read parameters (and a client to read rows).
//!
//! [`Encode`] writes a Rust value as a PostgreSQL value, [`Decode`] reads one. Text forms are
//! PostgreSQL's with `DateStyle = ISO` and `IntervalStyle = postgres` (what real drivers expect);
//! a [`Session`] carries what else output depends on (the TimeZone offset, UTC by default).
//!
//! | PostgreSQL | Rust |
//! |---|---|
//! | bool | `bool` |
//! | int2, int4, int8 | `i16`, `i32`, `i64` |
//! | float4, float8 | `f32`, `f64` |
//! | oid | `u32` |
//! | "char" | [`PgChar`] |
//! | numeric | [`Numeric`] |
//! | text, varchar, bpchar, name | `&str`, `String` |
//! | bytea | [`Bytea<&[u8]>`](Bytea), `Bytea<Vec<u8>>` |
//! | date, time, timetz, timestamp, timestamptz, interval | [`Date`], [`Time`], [`TimeTz`], [`Timestamp`], [`TimestampTz`], [`Interval`] |
//! | uuid | [`Uuid`] |
//! | json, jsonb | [`Json`], [`Jsonb`] (and `&str`/`String` for reading) |
//! | one-dimensional arrays of all of these | `Vec<T>`, `Vec<Option<T>>`, [`Array`] |
//!
//! `Option<T>` is NULL when `None`.

mod array;
mod copy;
pub(crate) mod datetime;
mod error;
mod json;
mod numeric;
pub mod oid;
mod params;
mod primitive;
mod row;
mod text;
mod uuid;

use bytes::BytesMut;

pub use array::{Array, Dimension};
pub use copy::{BinaryCopyReader, BinaryCopyWriter, CopyError};
pub use datetime::{Date, Interval, Time, TimeTz, Timestamp, TimestampTz};
pub use error::ValueError;
pub use json::{Json, Jsonb};
pub use numeric::Numeric;
pub use oid::{TypeInfo, lookup};
pub use params::{ParamCountError, check_param_count, decode_param, param_raw, param_type};
pub use primitive::PgChar;
pub use row::{RowWriter, column};
pub use text::Bytea;
pub use uuid::Uuid;

use crate::message::Format;

/// The session settings that value text forms depend on.
///
/// `DateStyle` is always ISO and `IntervalStyle` always postgres: the forms every driver parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Session {
    /// The TimeZone offset from UTC in seconds, east positive (`+02` is 7200). timestamptz and
    /// timetz text is written at this offset, and text input without an offset is read at it.
    pub utc_offset: i32,
}

impl Session {
    /// UTC, PostgreSQL's default TimeZone for a server with `timezone = 'UTC'`.
    pub const UTC: Session = Session { utc_offset: 0 };
}

/// A Rust value that can be written as a PostgreSQL value.
pub trait Encode {
    /// The PostgreSQL type this Rust type is written as by default: what a RowDescription or
    /// ParameterDescription should announce for it.
    const TYPE: u32;

    /// Appends the text form (without a length word).
    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError>;

    /// Appends the binary form (without a length word) as type `ty` (`Self::TYPE` or a type
    /// with the same binary form, such as varchar for a string; arrays use it for their
    /// element OID).
    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError>;

    /// Whether this value is SQL NULL (only `Option::None` is).
    fn is_null(&self) -> bool {
        false
    }
}

/// A Rust value that can be read from a PostgreSQL value. `'a` is the lifetime of the bytes
/// read, so strings and byte strings can borrow them.
pub trait Decode<'a>: Sized {
    /// Whether values of PostgreSQL type `ty` can be read as `Self`.
    fn accepts(ty: u32) -> bool;

    /// Reads the text form of a value of type `ty`.
    fn decode_text(session: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError>;

    /// Reads the binary form of a value of type `ty`.
    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError>;

    /// Reads SQL NULL: an error unless `Self` is an `Option`.
    fn decode_null(ty: u32) -> Result<Self, ValueError> {
        Err(ValueError::UnexpectedNull { ty })
    }
}

/// Appends `value` in `format`, without a length word; returns `false` (and writes nothing)
/// when it is NULL.
pub fn encode<T: Encode + ?Sized>(
    value: &T,
    ty: u32,
    format: Format,
    session: &Session,
    out: &mut BytesMut,
) -> Result<bool, ValueError> {
    if value.is_null() {
        return Ok(false);
    }
    let start = out.len();
    let result = match format {
        Format::Text => value.encode_text(session, out),
        Format::Binary => value.encode_binary(ty, out),
    };
    if let Err(e) = result {
        out.truncate(start);
        return Err(e);
    }
    Ok(true)
}

/// Reads a value of type `ty` in `format`; `None` is SQL NULL.
pub fn decode<'a, T: Decode<'a>>(
    raw: Option<&'a [u8]>,
    ty: u32,
    format: Format,
    session: &Session,
) -> Result<T, ValueError> {
    if !T::accepts(ty) {
        return Err(ValueError::WrongType {
            ty,
            rust: core::any::type_name::<T>(),
        });
    }
    match (raw, format) {
        (None, _) => T::decode_null(ty),
        (Some(raw), Format::Text) => T::decode_text(session, ty, raw),
        (Some(raw), Format::Binary) => T::decode_binary(ty, raw),
    }
}

impl<T: Encode> Encode for Option<T> {
    const TYPE: u32 = T::TYPE;

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        match self {
            Some(v) => v.encode_text(session, out),
            None => Ok(()),
        }
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match self {
            Some(v) => v.encode_binary(ty, out),
            None => Ok(()),
        }
    }

    fn is_null(&self) -> bool {
        self.is_none()
    }
}

impl<'a, T: Decode<'a>> Decode<'a> for Option<T> {
    fn accepts(ty: u32) -> bool {
        T::accepts(ty)
    }

    fn decode_text(session: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        T::decode_text(session, ty, raw).map(Some)
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        T::decode_binary(ty, raw).map(Some)
    }

    fn decode_null(_: u32) -> Result<Self, ValueError> {
        Ok(None)
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    const TYPE: u32 = T::TYPE;

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        (**self).encode_text(session, out)
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        (**self).encode_binary(ty, out)
    }

    fn is_null(&self) -> bool {
        (**self).is_null()
    }
}
