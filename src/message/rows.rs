//! Result and parameter descriptions and rows: RowDescription (`T`), DataRow (`D`) and
//! ParameterDescription (`t`). All are kept in wire form and iterated without allocating.

use core::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError, Frame};
use super::frontend::decode_built;
use super::lists::{Oids, Values, ValuesIter, ValuesRef};
use super::reader::Reader;
use super::writer;

/// One column of a RowDescription, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldDescription<'a> {
    /// The column name (bytes; usually UTF-8).
    pub name: &'a [u8],
    /// The table's OID if the column is a plain table column, else 0.
    pub table_oid: u32,
    /// The column's attribute number if it is a table column, else 0.
    pub column_id: i16,
    /// The data type's OID.
    pub type_oid: u32,
    /// The type's size (`pg_type.typlen`); negative for variable width.
    pub type_size: i16,
    /// The type modifier (`pg_attribute.atttypmod`), -1 when none.
    pub type_modifier: i32,
    /// The format code the values will use (0 text, 1 binary; 0 in a statement Describe).
    pub format: i16,
}

impl FieldDescription<'_> {
    /// The column name as UTF-8 text.
    pub fn name_str(&self) -> Result<&str, core::str::Utf8Error> {
        core::str::from_utf8(self.name)
    }
}

/// `T`: the columns of the rows that follow.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RowDescription {
    raw: bytes::Bytes,
    count: u16,
}

impl RowDescription {
    /// Builds a RowDescription.
    pub fn new(fields: &[FieldDescription<'_>]) -> Result<RowDescription, EncodeError> {
        let mut buf = BytesMut::new();
        RowDescription::write(&mut buf, fields.iter().copied())?;
        decode_built(buf, RowDescription::decode)
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<RowDescription, DecodeError> {
        let count = r.u16("field count")?;
        let start = r.pos();
        for _ in 0..count {
            r.cstr_range("field name")?;
            r.skip(18, "field description")?;
        }
        r.finish()?;
        Ok(RowDescription {
            raw: r.slice(start..r.pos()),
            count,
        })
    }

    /// Writes a RowDescription from borrowed fields.
    pub fn write<'f, I>(buf: &mut BytesMut, fields: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = FieldDescription<'f>>,
        I::IntoIter: ExactSizeIterator,
    {
        let fields = fields.into_iter();
        writer::frame(buf, Some(b'T'), |buf| {
            writer::count(buf, fields.len(), "fields")?;
            for f in fields {
                writer::cstr(buf, f.name, "field name")?;
                buf.put_u32(f.table_oid);
                buf.put_i16(f.column_id);
                buf.put_u32(f.type_oid);
                buf.put_i16(f.type_size);
                buf.put_i32(f.type_modifier);
                buf.put_i16(f.format);
            }
            Ok(())
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b'T'), |buf| {
            buf.put_u16(self.count);
            buf.put_slice(&self.raw);
            Ok(())
        })
    }

    /// How many columns.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The columns in order.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            rest: &self.raw,
            left: self.count,
        }
    }
}

impl fmt::Debug for RowDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.fields()).finish()
    }
}

/// Iterator over a RowDescription's columns.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for Fields<'a> {
    type Item = FieldDescription<'a>;

    fn next(&mut self) -> Option<FieldDescription<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = memchr::memchr(0, self.rest)?;
        let name = &self.rest[..n];
        let (f, rest) = self.rest[n + 1..].split_first_chunk::<18>()?;
        self.rest = rest;
        Some(FieldDescription {
            name,
            table_oid: u32::from_be_bytes([f[0], f[1], f[2], f[3]]),
            column_id: i16::from_be_bytes([f[4], f[5]]),
            type_oid: u32::from_be_bytes([f[6], f[7], f[8], f[9]]),
            type_size: i16::from_be_bytes([f[10], f[11]]),
            type_modifier: i32::from_be_bytes([f[12], f[13], f[14], f[15]]),
            format: i16::from_be_bytes([f[16], f[17]]),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// `D`: one row of values; `None` is NULL. Values are slices of the received frame.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DataRow {
    values: Values,
}

impl DataRow {
    /// Builds a DataRow.
    pub fn new(values: &[Option<&[u8]>]) -> Result<DataRow, EncodeError> {
        let mut buf = BytesMut::new();
        DataRow::write(&mut buf, values.iter().copied())?;
        decode_built(buf, DataRow::decode)
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<DataRow, DecodeError> {
        DataRow::decode_owned(r.rest())
    }

    /// Decodes a body it may keep whole: the values are the frame itself past the count, so
    /// no reference count is taken and dropped per row.
    pub(crate) fn decode_owned(mut body: Bytes) -> Result<DataRow, DecodeError> {
        let frame = Frame::Typed(b'D');
        let Some(&[hi, lo]) = body.first_chunk::<2>() else {
            return Err(DecodeError::UnexpectedEnd {
                frame,
                field: "column count",
            });
        };
        body.advance(2);
        let count = u16::from_be_bytes([hi, lo]);
        let values = Values::from_exact(body, count, frame, "column value")?;
        Ok(DataRow { values })
    }

    /// The row, borrowed.
    pub fn view(&self) -> DataRowRef<'_> {
        DataRowRef {
            raw: self.values.view().raw(),
            count: self.values.len() as u16,
        }
    }

    /// Writes a DataRow from borrowed values, straight into `buf`.
    pub fn write<'v, I>(buf: &mut BytesMut, values: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        writer::frame(buf, Some(b'D'), |buf| {
            Values::write(buf, values, "column values")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b'D'), |buf| {
            self.values.put_raw(buf);
            Ok(())
        })
    }

    /// How many columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values in column order, as slices of the frame.
    pub fn values(&self) -> ValuesIter<'_> {
        self.values.iter()
    }

    /// The values as a list (for [`Values::raw`], to keep them as shared bytes).
    pub fn as_values(&self) -> &Values {
        &self.values
    }
}

impl fmt::Debug for DataRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DataRow").field(&self.values).finish()
    }
}

/// A DataRow borrowed from its frame (see [`BackendView`](super::BackendView)).
///
/// Reading it checks only the column count; the value lengths are checked as the values are
/// visited ([`values`](DataRowRef::values)), in the one pass a reader makes anyway, or all at
/// once by [`check`](DataRowRef::check).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataRowRef<'a> {
    raw: &'a [u8],
    count: u16,
}

impl<'a> DataRowRef<'a> {
    /// Reads a DataRow body (the bytes after the length word).
    #[inline]
    pub(crate) fn read(body: &'a [u8]) -> Result<DataRowRef<'a>, DecodeError> {
        let Some((count, raw)) = body.split_first_chunk::<2>() else {
            return Err(DecodeError::UnexpectedEnd {
                frame: Frame::Typed(b'D'),
                field: "column count",
            });
        };
        Ok(DataRowRef {
            raw,
            count: u16::from_be_bytes(*count),
        })
    }

    /// How many columns the row declares.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the row declares no columns.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values in column order (`None` is NULL), each checked as it is reached. A
    /// malformed row yields one error (a length past the end, a negative length other than
    /// -1, or bytes after the last value) and then ends.
    pub fn values(&self) -> RowValues<'a> {
        RowValues {
            rest: self.raw,
            left: self.count,
            done: false,
        }
    }

    /// Checks every value length at once, as [`DataRow`] does on decode; the list it returns
    /// iterates without failing.
    pub fn check(&self) -> Result<ValuesRef<'a>, DecodeError> {
        ValuesRef::exact(self.raw, self.count, Frame::Typed(b'D'), "column value")
    }
}

impl fmt::Debug for DataRowRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check() {
            Ok(values) => f.debug_tuple("DataRowRef").field(&values).finish(),
            Err(e) => f.debug_tuple("DataRowRef").field(&e).finish(),
        }
    }
}

/// The values of a [`DataRowRef`], checked one by one.
#[derive(Clone, Debug)]
pub struct RowValues<'a> {
    rest: &'a [u8],
    left: u16,
    done: bool,
}

impl RowValues<'_> {
    fn fail(&mut self, e: DecodeError) -> Option<Result<Option<&'static [u8]>, DecodeError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for RowValues<'a> {
    type Item = Result<Option<&'a [u8]>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        const FRAME: Frame = Frame::Typed(b'D');
        const FIELD: &str = "column value";
        if self.left == 0 {
            if self.done || self.rest.is_empty() {
                return None;
            }
            let count = self.rest.len();
            return self.fail(DecodeError::TrailingBytes {
                frame: FRAME,
                count,
            });
        }
        let Some((word, rest)) = self.rest.split_first_chunk::<4>() else {
            self.left = 0;
            return self.fail(DecodeError::UnexpectedEnd {
                frame: FRAME,
                field: FIELD,
            });
        };
        let len = i32::from_be_bytes(*word);
        self.left -= 1;
        if len >= 0 {
            if let Some((value, rest)) = rest.split_at_checked(len as usize) {
                self.rest = rest;
                return Some(Ok(Some(value)));
            }
            self.left = 0;
            return self.fail(DecodeError::UnexpectedEnd {
                frame: FRAME,
                field: FIELD,
            });
        }
        if len == -1 {
            self.rest = rest;
            return Some(Ok(None));
        }
        self.left = 0;
        self.fail(DecodeError::InvalidLength {
            frame: FRAME,
            field: FIELD,
            length: len,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize + 1))
    }
}

impl core::iter::FusedIterator for RowValues<'_> {}

/// `t`: the parameter types of a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParameterDescription {
    /// Parameter type OIDs.
    pub types: Oids,
}

impl ParameterDescription {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<ParameterDescription, DecodeError> {
        let n = r.u16("parameter count")?;
        let types = Oids::read(&mut r, n as usize, "parameter types")?;
        r.finish()?;
        Ok(ParameterDescription { types })
    }

    /// Writes a ParameterDescription from borrowed OIDs.
    pub fn write(buf: &mut BytesMut, types: &[u32]) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b't'), |buf| {
            Oids::write(buf, types, "parameter types")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b't'), |buf| {
            self.types.put_raw(buf);
            Ok(())
        })
    }
}
