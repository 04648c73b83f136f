//! A bounds-checked cursor over one frame's body. Every read either yields a field or a
//! `DecodeError` naming the frame and field; nothing here can panic or allocate.

use bytes::Bytes;

use super::error::{DecodeError, Frame};
use super::pgstr::PgStr;

pub(crate) struct Reader<'a> {
    body: &'a Bytes,
    pos: usize,
    frame: Frame,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(body: &'a Bytes, frame: Frame) -> Reader<'a> {
        Reader {
            body,
            pos: 0,
            frame,
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
        &self.body[self.pos..]
    }

    pub(crate) fn remaining(&self) -> usize {
        self.body.len() - self.pos
    }

    fn end(&self, field: &'static str) -> DecodeError {
        DecodeError::UnexpectedEnd {
            frame: self.frame,
            field,
        }
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self
            .body
            .get(self.pos..self.pos + N)
            .ok_or_else(|| self.end(field))?;
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
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
        let rest = &self.body[self.pos..];
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

    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<PgStr, DecodeError> {
        let range = self.cstr_range(field)?;
        Ok(PgStr::from_bytes_unchecked(self.body.slice(range)))
    }

    pub(crate) fn skip(&mut self, n: usize, field: &'static str) -> Result<(), DecodeError> {
        if self.remaining() < n {
            return Err(self.end(field));
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
        let out = self.body.slice(self.pos..);
        self.pos = self.body.len();
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
