//! Binary COPY: the `PGCOPY` format of `COPY ... (FORMAT binary)`.
//!
//! The stream is an 11-byte signature, an Int32 flags word, an Int32 header extension length
//! and that many bytes, then one tuple per row (an Int16 field count, then per field an Int32
//! length, -1 for NULL, and the value's binary form), then the trailer, an Int16 -1. The
//! stream travels in CopyData messages whose boundaries mean nothing: a row may span several.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{Encode, Session, ValueError};
use crate::message::{Format, Frame, Values};
use crate::sqlstate::SqlState;

/// The signature every binary COPY stream starts with.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The header flag bit saying each row starts with an OID (refused, as PostgreSQL 12+ does).
const OIDS_FLAG: u32 = 1 << 16;

/// Signature, flags and extension length.
const HEADER_LEN: usize = 19;

/// What is wrong with a binary COPY stream, or with how a [`BinaryCopyWriter`] was driven.
///
/// [`CopyError::sqlstate`] gives the SQLSTATE PostgreSQL uses: 22P04 (bad_copy_file_format)
/// for a malformed stream, as `COPY FROM` reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The stream does not start with `PGCOPY\n\377\r\n\0`.
    #[error("COPY file signature not recognized")]
    BadSignature,
    /// The header's flags say rows carry OIDs (`WITH OIDS`), which PostgreSQL no longer has.
    #[error("invalid COPY file header (WITH OIDS)")]
    Oids,
    /// The header sets flag bits above 16, which a reader must understand and this one does
    /// not.
    #[error("unrecognized critical flags in COPY file header")]
    CriticalFlags {
        /// The flags word.
        flags: u32,
    },
    /// A malformed header: a negative extension length, or a stream that ends inside the
    /// header.
    #[error("invalid COPY file header ({reason})")]
    InvalidHeader {
        /// What is wrong (`missing flags`, `missing length`, `wrong length`).
        reason: &'static str,
    },
    /// A row whose field count is not the one expected ([`BinaryCopyReader::with_fields`]).
    #[error("row field count is {count}, expected {expected}")]
    FieldCount {
        /// The count in the row.
        count: i16,
        /// The count expected.
        expected: u16,
    },
    /// A row with a negative field count other than the trailer's -1.
    #[error("invalid row field count {count}")]
    InvalidFieldCount {
        /// The count in the row.
        count: i16,
    },
    /// A field length below -1.
    #[error("invalid field size")]
    FieldSize {
        /// The length read.
        size: i32,
    },
    /// The stream ended inside a row (or in a way a stream cannot end).
    #[error("unexpected EOF in COPY data")]
    Truncated,
    /// Data after the trailer.
    #[error("received copy data after EOF marker")]
    DataAfterTrailer,
    /// A value could not be written.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A field longer than its Int32 length can say, or a row with more fields than its
    /// Int16 count can say (54000).
    #[error("{what} exceeds the binary COPY format's limit")]
    TooLarge {
        /// What is too large.
        what: &'static str,
    },
    /// The writer was driven out of order: a row without the header, more or fewer fields
    /// than [`BinaryCopyWriter::begin_row`] announced, anything after the trailer (XX000).
    #[error("binary COPY writer misuse: {what}")]
    Misuse {
        /// What was done wrong.
        what: &'static str,
    },
}

impl CopyError {
    /// The SQLSTATE PostgreSQL uses for this condition.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            CopyError::Value(e) => e.sqlstate(),
            CopyError::TooLarge { .. } => SqlState::PROGRAM_LIMIT_EXCEEDED,
            CopyError::Misuse { .. } => SqlState::INTERNAL_ERROR,
            // bad_copy_file_format
            _ => SqlState::BAD_COPY_FILE_FORMAT,
        }
    }
}

/// Writes a binary COPY stream into a caller's buffer: [`header`](Self::header), then for
/// each row [`begin_row`](Self::begin_row) and one [`field`](Self::field),
/// [`null`](Self::null) or [`raw`](Self::raw) per field, then [`finish`](Self::finish) for
/// the trailer.
///
/// The writer only counts; the bytes go wherever the caller says, so they can be sent as
/// CopyData in pieces of any size. A call that fails writes nothing, and a row stays open
/// after a failed field (write the field again, or a NULL).
#[derive(Debug, Clone, Default)]
pub struct BinaryCopyWriter {
    started: bool,
    finished: bool,
    /// Fields still to write in the current row.
    left: usize,
    /// Fields announced for the current row.
    declared: usize,
}

impl BinaryCopyWriter {
    /// The 11-byte signature a binary COPY stream starts with.
    pub const SIGNATURE: &'static [u8; 11] = SIGNATURE;

    /// A writer that has written nothing.
    pub fn new() -> BinaryCopyWriter {
        BinaryCopyWriter::default()
    }

    /// Writes the header: the signature, flags 0 and an empty extension.
    pub fn header(&mut self, out: &mut BytesMut) -> Result<(), CopyError> {
        if self.started {
            return Err(CopyError::Misuse {
                what: "the header is written once",
            });
        }
        out.reserve(HEADER_LEN);
        out.put_slice(SIGNATURE);
        out.put_u32(0);
        out.put_u32(0);
        self.started = true;
        Ok(())
    }

    fn check_open(&self) -> Result<(), CopyError> {
        if !self.started {
            Err(CopyError::Misuse {
                what: "the header must come first",
            })
        } else if self.finished {
            Err(CopyError::Misuse {
                what: "nothing may follow the trailer",
            })
        } else if self.left > 0 {
            Err(CopyError::Misuse {
                what: "the previous row has fewer fields than announced",
            })
        } else {
            Ok(())
        }
    }

    /// Starts a row of `fields` fields (at most 32767).
    pub fn begin_row(&mut self, out: &mut BytesMut, fields: usize) -> Result<(), CopyError> {
        self.check_open()?;
        let count = i16::try_from(fields).map_err(|_| CopyError::TooLarge {
            what: "the field count",
        })?;
        out.put_i16(count);
        self.left = fields;
        self.declared = fields;
        Ok(())
    }

    fn take_field(&self) -> Result<(), CopyError> {
        if self.left == 0 {
            return Err(CopyError::Misuse {
                what: "more fields than the row announced",
            });
        }
        Ok(())
    }

    /// Writes the next field as the binary form of `value` as type `ty` (NULL if
    /// `value.is_null()`).
    pub fn field<T: Encode + ?Sized>(
        &mut self,
        out: &mut BytesMut,
        value: &T,
        ty: u32,
    ) -> Result<(), CopyError> {
        self.take_field()?;
        let at = out.len();
        out.put_i32(0);
        let len = match super::encode(value, ty, Format::Binary, &Session::UTC, out) {
            Ok(true) => match i32::try_from(out.len() - at - 4) {
                Ok(len) => len,
                Err(_) => {
                    out.truncate(at);
                    return Err(CopyError::TooLarge { what: "a field" });
                }
            },
            Ok(false) => -1,
            Err(e) => {
                out.truncate(at);
                return Err(CopyError::Value(e));
            }
        };
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        self.left -= 1;
        Ok(())
    }

    /// Writes the next field as NULL.
    pub fn null(&mut self, out: &mut BytesMut) -> Result<(), CopyError> {
        self.take_field()?;
        out.put_i32(-1);
        self.left -= 1;
        Ok(())
    }

    /// Writes the next field from bytes already in binary form.
    pub fn raw(&mut self, out: &mut BytesMut, value: &[u8]) -> Result<(), CopyError> {
        self.take_field()?;
        let len =
            i32::try_from(value.len()).map_err(|_| CopyError::TooLarge { what: "a field" })?;
        out.reserve(4 + value.len());
        out.put_i32(len);
        out.put_slice(value);
        self.left -= 1;
        Ok(())
    }

    /// How many fields the current row still needs.
    pub fn fields_left(&self) -> usize {
        self.left
    }

    /// Writes the trailer that ends the stream.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), CopyError> {
        self.check_open()?;
        out.put_i16(-1);
        self.finished = true;
        Ok(())
    }
}

/// Where the reader is in the stream.
#[derive(Debug, Clone)]
enum State {
    /// Reading the fixed part of the header; `have` bytes of it are in `buf`.
    Header { buf: [u8; HEADER_LEN], have: usize },
    /// Skipping the header extension.
    Extension { left: u32 },
    /// Reading rows.
    Rows,
    /// The trailer was read.
    Done,
    /// An error was found; it is returned again on every call.
    Failed(CopyError),
}

/// Progress through one row, kept when the row is incomplete so that scanning resumes where
/// it stopped once more bytes arrive.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Bytes of the row checked so far (past the count and the complete fields).
    off: usize,
    /// The field count, once read.
    count: Option<u16>,
    /// Fields not yet checked.
    left: u16,
}

enum Step {
    /// A whole row of this many bytes (count included).
    Row(usize),
    /// The trailer.
    Trailer,
    /// At least this many more bytes are needed.
    Need(usize),
}

impl Scan {
    fn run(&mut self, buf: &[u8], expected: Option<u16>) -> Result<Step, CopyError> {
        if self.count.is_none() {
            let Some(&[hi, lo]) = buf.first_chunk::<2>() else {
                return Ok(Step::Need(2 - buf.len()));
            };
            let count = i16::from_be_bytes([hi, lo]);
            if count == -1 {
                return Ok(Step::Trailer);
            }
            if count < 0 {
                return Err(CopyError::InvalidFieldCount { count });
            }
            if let Some(expected) = expected.filter(|&e| e != count as u16) {
                return Err(CopyError::FieldCount { count, expected });
            }
            self.count = Some(count as u16);
            self.left = count as u16;
            self.off = 2;
        }
        while self.left > 0 {
            let Some(word) = buf.get(self.off..).and_then(|b| b.first_chunk::<4>()) else {
                return Ok(Step::Need(self.off + 4 - buf.len()));
            };
            let size = i32::from_be_bytes(*word);
            let end = match size {
                -1 => self.off + 4,
                0.. => (self.off + 4)
                    .checked_add(size as usize)
                    .ok_or(CopyError::FieldSize { size })?,
                _ => return Err(CopyError::FieldSize { size }),
            };
            if end > buf.len() {
                return Ok(Step::Need(end - buf.len()));
            }
            self.off = end;
            self.left -= 1;
        }
        Ok(Step::Row(self.off))
    }
}

/// Reads a binary COPY stream as it arrives: [`feed`](Self::feed) it each CopyData payload and
/// pull complete rows with [`next_row`](Self::next_row).
///
/// A row is a [`Values`] list: its fields as `Option<&[u8]>` (`None` for NULL), read with
/// [`decode`](super::decode) in [`Format::Binary`]. A row that lies within one fed chunk is a
/// slice of that chunk, not a copy; only a row split across chunks is gathered into a buffer,
/// which grows with the bytes that actually arrive, never with a declared length (the header
/// extension is skipped as it streams past). Errors are sticky: once one is returned, every
/// later call returns it again.
#[derive(Debug, Clone)]
pub struct BinaryCopyReader {
    state: State,
    /// Bytes carried over from earlier chunks: the start of a row split across chunks (and
    /// anything fed before the previous chunk was drained).
    pending: BytesMut,
    /// The unread rest of the latest chunk.
    current: Bytes,
    /// The progress through the row at the start of `pending`.
    scan: Scan,
    expected: Option<u16>,
}

impl Default for BinaryCopyReader {
    fn default() -> Self {
        BinaryCopyReader::new()
    }
}

enum Item {
    Row(Values),
    Trailer,
}

impl BinaryCopyReader {
    /// A reader that accepts rows of any field count.
    pub fn new() -> BinaryCopyReader {
        BinaryCopyReader {
            state: State::Header {
                buf: [0; HEADER_LEN],
                have: 0,
            },
            pending: BytesMut::new(),
            current: Bytes::new(),
            scan: Scan::default(),
            expected: None,
        }
    }

    /// A reader that requires every row to have `fields` fields, as `COPY FROM` requires the
    /// table's column count (`CopyError::FieldCount` otherwise).
    pub fn with_fields(fields: u16) -> BinaryCopyReader {
        BinaryCopyReader {
            expected: Some(fields),
            ..BinaryCopyReader::new()
        }
    }

    /// Adds the next chunk of the stream (a CopyData payload), without copying it.
    pub fn feed(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if !self.current.is_empty() {
            // The previous chunk was not drained: keep its rest ahead of the new one.
            self.pending.extend_from_slice(&self.current);
        }
        self.current = chunk;
    }

    /// Adds the next chunk of the stream by copying it.
    pub fn feed_slice(&mut self, chunk: &[u8]) {
        if !self.current.is_empty() {
            self.pending.extend_from_slice(&self.current);
            self.current = Bytes::new();
        }
        self.pending.extend_from_slice(chunk);
    }

    /// How many bytes are held and not yet returned as rows.
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.current.len()
    }

    /// Whether the trailer has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The next complete row, or `None` when more bytes are needed or the trailer was read
    /// ([`is_done`](Self::is_done) tells which).
    pub fn next_row(&mut self) -> Result<Option<Values>, CopyError> {
        loop {
            match &self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Header { .. } | State::Extension { .. } => {
                    if !self.read_header().map_err(|e| self.fail(e))? {
                        return Ok(None);
                    }
                }
                State::Rows => match self.read_row().map_err(|e| self.fail(e))? {
                    Some(Item::Row(row)) => return Ok(Some(row)),
                    Some(Item::Trailer) => self.state = State::Done,
                    None => return Ok(None),
                },
                State::Done => {
                    if self.buffered() > 0 {
                        return Err(self.fail(CopyError::DataAfterTrailer));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Checks the end of the stream (at CopyDone), after [`next_row`](Self::next_row) has
    /// returned `None`: fails if the stream stopped inside the header or a row. Like
    /// PostgreSQL, a stream that stops between rows without the trailer is accepted;
    /// [`is_done`](Self::is_done) tells whether the trailer came.
    pub fn finish(&self) -> Result<(), CopyError> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::Header { have, .. } => Err(match *have {
                0..11 => CopyError::BadSignature,
                11..15 => CopyError::InvalidHeader {
                    reason: "missing flags",
                },
                _ => CopyError::InvalidHeader {
                    reason: "missing length",
                },
            }),
            State::Extension { .. } => Err(CopyError::InvalidHeader {
                reason: "wrong length",
            }),
            State::Rows if self.buffered() > 0 => Err(CopyError::Truncated),
            State::Rows => Ok(()),
            State::Done if self.buffered() > 0 => Err(CopyError::DataAfterTrailer),
            State::Done => Ok(()),
        }
    }

    fn fail(&mut self, e: CopyError) -> CopyError {
        self.state = State::Failed(e.clone());
        e
    }

    /// Moves up to `dst.len()` bytes of input into `dst`, oldest first; returns how many.
    fn take_into(&mut self, dst: &mut [u8]) -> usize {
        let mut n = 0;
        for src in [&mut self.pending as &mut dyn Buf, &mut self.current] {
            let k = src.remaining().min(dst.len() - n);
            src.copy_to_slice(&mut dst[n..n + k]);
            n += k;
        }
        n
    }

    /// Drops up to `max` bytes of input; returns how many.
    fn discard(&mut self, max: usize) -> usize {
        let from_pending = self.pending.len().min(max);
        self.pending.advance(from_pending);
        let from_current = self.current.len().min(max - from_pending);
        self.current.advance(from_current);
        from_pending + from_current
    }

    /// Reads as much of the header as there is; true once it is complete.
    fn read_header(&mut self) -> Result<bool, CopyError> {
        if let State::Header { mut buf, have } = self.state {
            let have = have + self.take_into(&mut buf[have..]);
            let sig = have.min(SIGNATURE.len());
            if buf[..sig] != SIGNATURE[..sig] {
                return Err(CopyError::BadSignature);
            }
            if have < HEADER_LEN {
                self.state = State::Header { buf, have };
                return Ok(false);
            }
            let flags = u32::from_be_bytes([buf[11], buf[12], buf[13], buf[14]]);
            if flags & OIDS_FLAG != 0 {
                return Err(CopyError::Oids);
            }
            if (flags & !OIDS_FLAG) >> 16 != 0 {
                return Err(CopyError::CriticalFlags { flags });
            }
            let ext = i32::from_be_bytes([buf[15], buf[16], buf[17], buf[18]]);
            let left = u32::try_from(ext).map_err(|_| CopyError::InvalidHeader {
                reason: "missing length",
            })?;
            self.state = State::Extension { left };
        }
        if let State::Extension { left } = self.state {
            let left = left - self.discard(left as usize) as u32;
            if left > 0 {
                self.state = State::Extension { left };
                return Ok(false);
            }
            self.state = State::Rows;
        }
        Ok(true)
    }

    /// The next row or the trailer, if complete.
    fn read_row(&mut self) -> Result<Option<Item>, CopyError> {
        if self.pending.is_empty() {
            // The common case: rows are read in place from the latest chunk.
            let mut scan = Scan::default();
            match scan.run(&self.current, self.expected)? {
                Step::Row(len) => {
                    let row = self.current.split_to(len);
                    return row_values(row, scan.count).map(Some);
                }
                Step::Trailer => {
                    self.current.advance(2);
                    return Ok(Some(Item::Trailer));
                }
                Step::Need(_) => {
                    // Keep the start of the row and where its scan stopped.
                    self.pending.extend_from_slice(&self.current);
                    self.current = Bytes::new();
                    self.scan = scan;
                    return Ok(None);
                }
            }
        }
        loop {
            match self.scan.run(&self.pending, self.expected)? {
                Step::Row(len) => {
                    let count = self.scan.count;
                    self.scan = Scan::default();
                    let row = self.pending.split_to(len).freeze();
                    return row_values(row, count).map(Some);
                }
                Step::Trailer => {
                    self.scan = Scan::default();
                    self.pending.advance(2);
                    return Ok(Some(Item::Trailer));
                }
                Step::Need(n) => {
                    if self.current.is_empty() {
                        return Ok(None);
                    }
                    // Move over only what the row still needs; the rest stays in place.
                    let k = n.min(self.current.len());
                    self.pending.extend_from_slice(&self.current[..k]);
                    self.current.advance(k);
                }
            }
        }
    }
}

/// A checked row (count included) as a list of values.
fn row_values(mut row: Bytes, count: Option<u16>) -> Result<Item, CopyError> {
    row.advance(2);
    Values::from_exact(row, count.unwrap_or(0), Frame::Typed(b'd'), "COPY field")
        .map(Item::Row)
        .map_err(|_| CopyError::Truncated)
}
