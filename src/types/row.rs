//! Writing result rows: [`RowWriter`] puts one DataRow straight into the outbound buffer, and
//! [`column`] describes a column for a RowDescription.

use bytes::{BufMut, BytesMut};

use super::{Encode, Session, ValueError, oid, primitive};
use crate::message::{FieldDescription, Format};

/// Offset of the column count from the start of the message (type byte, length word).
const COUNT_AT: usize = 5;

/// The error for a row that does not fit the DataRow format: more than 65535 columns, or more
/// than `i32::MAX` bytes.
fn too_large() -> ValueError {
    ValueError::OutOfRange { type_name: "row" }
}

/// Writes one DataRow (`D`) straight into an outbound buffer, value by value, without building
/// the values first.
///
/// [`begin`](Self::begin) writes the type byte and placeholders for the length and the column
/// count; each column is then [`null`](Self::null), [`raw`](Self::raw) bytes, an encoded
/// [`value`](Self::value), or a text-format [`int`](Self::int) or [`float`](Self::float)
/// written digit by digit; [`finish`](Self::finish) fills in the placeholders. Once the buffer
/// has room, writing a row allocates nothing (beyond what a value's own encoder does).
///
/// On any error, and if the writer is dropped without `finish`, the buffer is cut back to where
/// the row started; after an error every further call returns that error again.
///
/// ```
/// use bytes::BytesMut;
/// use pgproto::message::Format;
/// use pgproto::types::{RowWriter, Session};
///
/// let mut out = BytesMut::with_capacity(64);
/// let mut row = RowWriter::begin(&mut out);
/// row.int(42).unwrap();
/// row.null().unwrap();
/// row.raw(b"hello").unwrap();
/// row.float(0.5).unwrap();
/// row.finish().unwrap();
/// assert_eq!(&out[..7], b"D\0\0\0\x20\0\x04"); // type, length 32, 4 columns
/// ```
#[derive(Debug)]
pub struct RowWriter<'b> {
    buf: &'b mut BytesMut,
    start: usize,
    columns: u16,
    failed: Option<ValueError>,
    finished: bool,
}

impl<'b> RowWriter<'b> {
    /// Starts a DataRow at the end of `buf`.
    pub fn begin(buf: &'b mut BytesMut) -> RowWriter<'b> {
        let start = buf.len();
        buf.put_u8(b'D');
        buf.put_u32(0);
        buf.put_u16(0);
        RowWriter {
            buf,
            start,
            columns: 0,
            failed: None,
            finished: false,
        }
    }

    /// How many columns have been written.
    pub fn columns(&self) -> usize {
        self.columns as usize
    }

    /// Rolls the row back and remembers `e`.
    fn fail(&mut self, e: ValueError) -> ValueError {
        self.buf.truncate(self.start);
        self.failed = Some(e.clone());
        e
    }

    /// Checks that another column may be written.
    #[inline]
    fn next_column(&mut self) -> Result<(), ValueError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.columns == u16::MAX {
            return Err(self.fail(too_large()));
        }
        Ok(())
    }

    /// Writes the length word in front of a value that starts at `at + 4`.
    #[inline]
    fn close_value(&mut self, at: usize) -> Result<(), ValueError> {
        let Ok(len) = i32::try_from(self.buf.len() - at - 4) else {
            return Err(self.fail(too_large()));
        };
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        self.columns += 1;
        Ok(())
    }

    /// Writes a NULL column.
    pub fn null(&mut self) -> Result<(), ValueError> {
        self.next_column()?;
        self.buf.put_i32(-1);
        self.columns += 1;
        Ok(())
    }

    /// Writes a column from bytes already in the column's format.
    pub fn raw(&mut self, value: &[u8]) -> Result<(), ValueError> {
        self.next_column()?;
        let Ok(len) = i32::try_from(value.len()) else {
            return Err(self.fail(too_large()));
        };
        self.buf.put_i32(len);
        self.buf.put_slice(value);
        self.columns += 1;
        Ok(())
    }

    /// Writes `value` as type `ty` in `format` (NULL if `value.is_null()`).
    pub fn value<T: Encode + ?Sized>(
        &mut self,
        value: &T,
        ty: u32,
        format: Format,
        session: &Session,
    ) -> Result<(), ValueError> {
        self.next_column()?;
        let at = self.buf.len();
        self.buf.put_i32(-1);
        match super::encode(value, ty, format, session, self.buf) {
            Ok(true) => self.close_value(at),
            Ok(false) => {
                self.columns += 1;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Writes an integer in text format (int2, int4, int8 and oid columns), digit by digit.
    pub fn int(&mut self, value: i64) -> Result<(), ValueError> {
        self.next_column()?;
        primitive::put_i64_column(self.buf, value);
        self.columns += 1;
        Ok(())
    }

    /// Writes a float8 in text format exactly as PostgreSQL does (`extra_float_digits` at its
    /// default of 1): the shortest digits that read back exactly, chosen as PostgreSQL's Ryu
    /// chooses them, in fixed notation for decimal exponents from -4 to 14 and as `1.5e+15`
    /// otherwise; `NaN`, `Infinity`, `-Infinity`, `-0`. A float4 column's value widened to
    /// f64 would print float8 digits: write float4 with [`value`](Self::value).
    pub fn float(&mut self, value: f64) -> Result<(), ValueError> {
        self.next_column()?;
        primitive::put_f64_column(self.buf, value);
        self.columns += 1;
        Ok(())
    }

    /// Fills in the length and column count. Returns the error of an earlier failed call, if
    /// any (the row is then not in the buffer).
    pub fn finish(mut self) -> Result<(), ValueError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let Ok(len) = i32::try_from(self.buf.len() - self.start - 1) else {
            return Err(self.fail(too_large()));
        };
        let s = self.start;
        self.buf[s + 1..s + 5].copy_from_slice(&len.to_be_bytes());
        self.buf[s + COUNT_AT..s + COUNT_AT + 2].copy_from_slice(&self.columns.to_be_bytes());
        self.finished = true;
        Ok(())
    }
}

impl Drop for RowWriter<'_> {
    /// An unfinished row is taken back out of the buffer.
    fn drop(&mut self) {
        if !self.finished {
            self.buf.truncate(self.start);
        }
    }
}

/// Describes a result column for [`RowDescription::write`](crate::message::RowDescription::write):
/// not from a table (table OID and column number 0), with the type's size from the type table
/// (-1 for a type it does not know) and no type modifier (-1).
///
/// ```
/// use bytes::BytesMut;
/// use pgproto::message::{Format, RowDescription};
/// use pgproto::types::{column, oid};
///
/// let mut out = BytesMut::new();
/// let columns = [column("id", oid::INT4, Format::Binary), column("name", oid::TEXT, Format::Text)];
/// RowDescription::write(&mut out, columns).unwrap();
/// assert_eq!(columns[0].type_size, 4);
/// ```
pub fn column(name: &str, type_oid: u32, format: Format) -> FieldDescription<'_> {
    FieldDescription {
        name: name.as_bytes(),
        table_oid: 0,
        column_id: 0,
        type_oid,
        type_size: oid::lookup(type_oid).map_or(-1, |t| t.size),
        type_modifier: -1,
        format: format.code(),
    }
}
