//! A bounds-checked cursor over one frame's body. Every read either yields a field or a
//! `DecodeError` naming the frame and field; nothing here can panic, and nothing allocates
//! (but `share` of a slice from another buffer, which no caller does, copies it).

use bytes::Bytes;

use super::error::{DecodeError, Frame};
use super::pgstr::PgStr;

pub(crate) struct Reader<'a> {
    body: &'a Bytes,
    start: usize,
    pos: usize,
    end: usize,
    frame: Frame,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(body: &'a Bytes, frame: Frame) -> Reader<'a> {
        Reader {
            body,
            start: 0,
            pos: 0,
            end: body.len(),
            frame,
        }
    }

    /// A reader over the part `range` of `buf` (one frame's body inside a run of frames).
    /// Positions are offsets into `buf`; a range outside it reads as empty.
    pub(crate) fn window(
        buf: &'a Bytes,
        range: core::ops::Range<usize>,
        frame: Frame,
    ) -> Reader<'a> {
        let end = range.end.min(buf.len());
        let start = range.start.min(end);
        Reader {
            body: buf,
            start,
            pos: start,
            end,
            frame,
        }
    }

    /// Where the body starts (0 unless this is a window).
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// A region already read, borrowed for as long as the underlying buffer.
    pub(crate) fn sub(&self, range: core::ops::Range<usize>) -> &'a [u8] {
        let body: &'a Bytes = self.body;
        body.get(range).unwrap_or_default()
    }

    /// Shares a region of the buffer (a slice returned by [`Reader::sub`] or `rest_slice`).
    pub(crate) fn share(&self, part: &[u8]) -> Bytes {
        if part.is_empty() {
            return Bytes::new();
        }
        let (base, start) = (self.body.as_ptr() as usize, part.as_ptr() as usize);
        match start.checked_sub(base) {
            Some(offset) if offset + part.len() <= self.body.len() => {
                self.body.slice(offset..offset + part.len())
            }
            // Not a part of this buffer: never the case for the callers, but copy rather than
            // panic as `slice_ref` would.
            _ => Bytes::copy_from_slice(part),
        }
    }

    pub(crate) fn frame(&self) -> Frame {
        self.frame
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The unread part of the body.
    pub(crate) fn rest_slice(&self) -> &'a [u8] {
        self.sub(self.pos..self.end)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn end_error(&self, field: &'static str) -> DecodeError {
        DecodeError::UnexpectedEnd {
            frame: self.frame,
            field,
        }
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self
            .rest_slice()
            .first_chunk::<N>()
            .ok_or_else(|| self.end_error(field))?;
        self.pos += N;
        Ok(*bytes)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// The range of a NUL-terminated string (without its terminator), which is skipped.
    pub(crate) fn cstr_range(
        &mut self,
        field: &'static str,
    ) -> Result<core::ops::Range<usize>, DecodeError> {
        let rest = self.rest_slice();
        // Empty names (the unnamed statement and portal) are the common case; skip memchr's
        // start-up cost for them.
        if rest.first() == Some(&0) {
            self.pos += 1;
            return Ok(self.pos - 1..self.pos - 1);
        }
        let n = memchr::memchr(0, rest).ok_or(DecodeError::MissingTerminator {
            frame: self.frame,
            field,
        })?;
        let range = self.pos..self.pos + n;
        self.pos += n + 1;
        Ok(range)
    }

    /// A NUL-terminated string (without its terminator), borrowed.
    pub(crate) fn cstr_slice(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let range = self.cstr_range(field)?;
        Ok(self.sub(range))
    }

    /// The next `n` bytes, borrowed.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        self.skip(n, field)?;
        Ok(self.sub(start..self.pos))
    }

    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<PgStr, DecodeError> {
        let range = self.cstr_range(field)?;
        Ok(PgStr::from_bytes_unchecked(self.body.slice(range)))
    }

    pub(crate) fn skip(&mut self, n: usize, field: &'static str) -> Result<(), DecodeError> {
        if self.remaining() < n {
            return Err(self.end_error(field));
        }
        self.pos += n;
        Ok(())
    }

    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        self.skip(n, field)?;
        Ok(self.body.slice(start..self.pos))
    }

    /// A region already read, as shared bytes.
    pub(crate) fn slice(&self, range: core::ops::Range<usize>) -> Bytes {
        self.body.slice(range)
    }

    /// Everything left in the body.
    pub(crate) fn rest(&mut self) -> Bytes {
        let out = self.body.slice(self.pos..self.end);
        self.pos = self.end;
        out
    }

    /// A value with an Int32 length prefix, where -1 is NULL. Returns its range.
    pub(crate) fn value_range(
        &mut self,
        field: &'static str,
    ) -> Result<Option<core::ops::Range<usize>>, DecodeError> {
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(DecodeError::InvalidLength {
                frame: self.frame,
                field,
                length: len,
            });
        }
        let start = self.pos;
        self.skip(len as usize, field)?;
        Ok(Some(start..self.pos))
    }

    /// Fails unless the whole body was read.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                frame: self.frame,
                count,
            }),
        }
    }
}
