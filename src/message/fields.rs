//! The field list of ErrorResponse (`E`) and NoticeResponse (`N`).

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::reader::Reader;
use super::writer;
use crate::sqlstate::SqlState;

/// Field type codes of ErrorResponse and NoticeResponse.
pub mod code {
    /// Severity, possibly localized (`ERROR`, `FATAL`, `WARNING`, ...).
    pub const SEVERITY: u8 = b'S';
    /// Severity, never localized (9.6+).
    pub const SEVERITY_NONLOCALIZED: u8 = b'V';
    /// SQLSTATE code.
    pub const CODE: u8 = b'C';
    /// Primary message.
    pub const MESSAGE: u8 = b'M';
    /// Detail.
    pub const DETAIL: u8 = b'D';
    /// Hint.
    pub const HINT: u8 = b'H';
    /// Cursor position in the query string (1-based, in characters).
    pub const POSITION: u8 = b'P';
    /// Position in an internally generated query.
    pub const INTERNAL_POSITION: u8 = b'p';
    /// The internally generated query.
    pub const INTERNAL_QUERY: u8 = b'q';
    /// Context (call stack).
    pub const WHERE: u8 = b'W';
    /// Schema name.
    pub const SCHEMA: u8 = b's';
    /// Table name.
    pub const TABLE: u8 = b't';
    /// Column name.
    pub const COLUMN: u8 = b'c';
    /// Data type name.
    pub const DATA_TYPE: u8 = b'd';
    /// Constraint name.
    pub const CONSTRAINT: u8 = b'n';
    /// Source file.
    pub const FILE: u8 = b'F';
    /// Source line.
    pub const LINE: u8 = b'L';
    /// Source routine.
    pub const ROUTINE: u8 = b'R';
}

/// The fields of an ErrorResponse or NoticeResponse, in wire form. Every field is kept,
/// including codes this crate does not know, so a proxy passes them through unchanged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ErrorFields(Bytes);

impl ErrorFields {
    /// Builds a field list; codes must be non-zero and values free of zero bytes.
    pub fn new<I, V>(fields: I) -> Result<ErrorFields, EncodeError>
    where
        I: IntoIterator<Item = (u8, V)>,
        V: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        put_fields(&mut buf, fields)?;
        Ok(ErrorFields(buf.freeze()))
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<ErrorFields, DecodeError> {
        let start = r.start();
        loop {
            if r.u8("field type")? == 0 {
                break;
            }
            r.cstr_range("field value")?;
        }
        r.finish()?;
        Ok(ErrorFields(r.slice(start..r.pos())))
    }

    /// Writes an ErrorResponse (`tag` `E`) or NoticeResponse (`N`) from borrowed fields.
    pub fn write<I, V>(buf: &mut BytesMut, tag: u8, fields: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = (u8, V)>,
        V: AsRef<[u8]>,
    {
        writer::frame(buf, Some(tag), |buf| put_fields(buf, fields))
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut, tag: u8) -> Result<(), EncodeError> {
        writer::raw_frame(buf, tag, &self.0)
    }

    /// All fields in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        let mut rest: &[u8] = &self.0;
        core::iter::from_fn(move || {
            let (&c, tail) = rest.split_first()?;
            if c == 0 {
                return None;
            }
            let n = memchr::memchr(0, tail)?;
            rest = &tail[n + 1..];
            Some((c, &tail[..n]))
        })
    }

    /// The first field with this code.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.iter().find(|(c, _)| *c == code).map(|(_, v)| v)
    }

    /// The SQLSTATE (`C`), if present and well-formed.
    pub fn sqlstate(&self) -> Option<SqlState> {
        SqlState::from_bytes(self.get(code::CODE)?)
    }

    /// The severity, preferring the non-localized field (`V`) over `S`.
    pub fn severity(&self) -> Option<&[u8]> {
        self.get(code::SEVERITY_NONLOCALIZED)
            .or_else(|| self.get(code::SEVERITY))
    }

    /// The primary message (`M`).
    pub fn message(&self) -> Option<&[u8]> {
        self.get(code::MESSAGE)
    }

    /// The detail (`D`).
    pub fn detail(&self) -> Option<&[u8]> {
        self.get(code::DETAIL)
    }

    /// The hint (`H`).
    pub fn hint(&self) -> Option<&[u8]> {
        self.get(code::HINT)
    }

    /// The cursor position (`P`), 1-based, if present and numeric.
    pub fn position(&self) -> Option<u32> {
        core::str::from_utf8(self.get(code::POSITION)?)
            .ok()?
            .parse()
            .ok()
    }
}

fn put_fields<I, V>(buf: &mut BytesMut, fields: I) -> Result<(), EncodeError>
where
    I: IntoIterator<Item = (u8, V)>,
    V: AsRef<[u8]>,
{
    for (c, v) in fields {
        if c == 0 {
            return Err(EncodeError::Empty {
                field: "error field code",
            });
        }
        buf.put_u8(c);
        writer::cstr(buf, v.as_ref(), "error field value")?;
    }
    buf.put_u8(0);
    Ok(())
}

impl fmt::Debug for ErrorFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (c, v) in self.iter() {
            m.entry(&(c as char), &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}
