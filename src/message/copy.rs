//! COPY messages: CopyData (both directions), CopyFail (frontend) and the three Copy responses
//! (CopyInResponse `G`, CopyOutResponse `H`, CopyBothResponse `W`).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::lists::Formats;
use super::pgstr::PgStr;
use super::reader::Reader;
use super::writer;

/// `d`: a chunk of COPY data, in either direction (and the carrier of replication messages).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyData {
    /// The data; chunk boundaries carry no meaning for text and CSV COPY.
    pub data: Bytes,
}

impl CopyData {
    /// Writes a CopyData from borrowed data (the type byte is `d` in both directions).
    pub fn write(buf: &mut BytesMut, data: &[u8]) -> Result<(), EncodeError> {
        writer::raw_frame(buf, b'd', data)
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut, tag: u8) -> Result<(), EncodeError> {
        writer::raw_frame(buf, tag, &self.data)
    }
}

/// `f`: the client aborts COPY FROM STDIN with this message (the server answers 57014).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyFail {
    /// Why the copy failed.
    pub message: PgStr,
}

impl CopyFail {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<CopyFail, DecodeError> {
        let message = r.cstr("error message")?;
        r.finish()?;
        Ok(CopyFail { message })
    }

    /// Writes a CopyFail from a borrowed message.
    pub fn write(buf: &mut BytesMut, message: &str) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b'f'), |buf| {
            writer::cstr(buf, message.as_bytes(), "error message")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b'f'), |buf| {
            writer::cstr(buf, self.message.as_bytes(), "error message")
        })
    }
}

/// The body of CopyInResponse, CopyOutResponse and CopyBothResponse: the overall format and
/// one format code per column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyResponse {
    /// Overall format: 0 text (and then every column is text), 1 binary.
    pub format: i8,
    /// Per-column format codes.
    pub column_formats: Formats,
}

impl CopyResponse {
    /// Builds a Copy response body.
    pub fn new(format: i8, column_formats: &[i16]) -> Result<CopyResponse, EncodeError> {
        Ok(CopyResponse {
            format,
            column_formats: Formats::new(column_formats)?,
        })
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<CopyResponse, DecodeError> {
        let format = r.u8("copy format")? as i8;
        let n = r.u16("column count")?;
        let column_formats = Formats::read(&mut r, n as usize, "column formats")?;
        r.finish()?;
        Ok(CopyResponse {
            format,
            column_formats,
        })
    }

    /// Writes a Copy response (`G`, `H` or `W`) from borrowed parts.
    pub fn write(
        buf: &mut BytesMut,
        tag: CopyResponseKind,
        format: i8,
        column_formats: &[i16],
    ) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag.byte()), |buf| {
            buf.put_i8(format);
            Formats::write(buf, column_formats, "column formats")
        })
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut, tag: u8) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag), |buf| {
            buf.put_i8(self.format);
            self.column_formats.put_raw(buf);
            Ok(())
        })
    }
}

/// Which Copy response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyResponseKind {
    /// `G`: the server is ready for COPY FROM STDIN.
    In,
    /// `H`: the server starts COPY TO STDOUT.
    Out,
    /// `W`: both directions (replication).
    Both,
}

impl CopyResponseKind {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            CopyResponseKind::In => b'G',
            CopyResponseKind::Out => b'H',
            CopyResponseKind::Both => b'W',
        }
    }
}
