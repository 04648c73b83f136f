//! A bounds-checked reader over one replication-layer message, shared by the stream messages
//! and pgoutput: every failure is a [`DecodeError`] naming the message and the field.

use super::{DecodeError, Lsn, PgTimestamp};

/// A bounds-checked reader over one message body; every failure names the message and field.
pub(super) struct Cursor<'a> {
    pub(super) rest: &'a [u8],
    pub(super) message: &'static str,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(rest: &'a [u8], message: &'static str) -> Cursor<'a> {
        Cursor { rest, message }
    }

    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(super) fn truncated(&self, field: &'static str) -> DecodeError {
        DecodeError::Truncated {
            message: self.message,
            field,
        }
    }

    pub(super) fn invalid(&self, field: &'static str, detail: String) -> DecodeError {
        DecodeError::Invalid {
            message: self.message,
            field,
            detail,
        }
    }

    pub(super) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or_else(|| self.truncated(field))?;
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.truncated(field))?;
        self.rest = tail;
        Ok(*head)
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub(super) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub(super) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn lsn(&mut self, field: &'static str) -> Result<Lsn, DecodeError> {
        Ok(Lsn(u64::from_be_bytes(self.array(field)?)))
    }

    pub(super) fn time(&mut self, field: &'static str) -> Result<PgTimestamp, DecodeError> {
        Ok(PgTimestamp(i64::from_be_bytes(self.array(field)?)))
    }

    /// An Int32 length or count, which may not be negative.
    pub(super) fn length(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let n = self.i32(field)?;
        usize::try_from(n).map_err(|_| self.invalid(field, format!("{n} is negative")))
    }

    /// An Int16 column count, which may not be negative.
    pub(super) fn count(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let n = self.i16(field)?;
        u16::try_from(n).map_err(|_| self.invalid(field, format!("{n} is negative")))
    }

    /// A NUL-terminated UTF-8 string, without its terminator.
    pub(super) fn string(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let end = memchr::memchr(0, self.rest)
            .ok_or_else(|| self.invalid(field, "has no NUL terminator".to_owned()))?;
        let (text, tail) = self
            .rest
            .split_at_checked(end)
            .ok_or_else(|| self.truncated(field))?;
        let text = std::str::from_utf8(text)
            .map_err(|e| self.invalid(field, format!("is not valid UTF-8: {e}")))?;
        self.rest = tail.get(1..).unwrap_or_default();
        Ok(text)
    }

    /// Fails unless every byte was read.
    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes {
                message: self.message,
                extra,
            }),
        }
    }
}
