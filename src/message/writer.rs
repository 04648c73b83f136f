//! Encoding helpers: frames are written straight into the caller's buffer with a placeholder
//! length that is back-patched, and any error rolls the buffer back to where it was.

use bytes::{BufMut, BytesMut};

use super::error::EncodeError;

/// Writes one frame: the type byte (if any), a length word, then whatever `body` writes. On
/// error the buffer is truncated back to its length before the call.
#[inline]
pub(crate) fn frame<F>(buf: &mut BytesMut, tag: Option<u8>, body: F) -> Result<(), EncodeError>
where
    F: FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
{
    let start = buf.len();
    if let Some(tag) = tag {
        buf.put_u8(tag);
    }
    let len_at = buf.len();
    buf.put_u32(0);
    if let Err(e) = body(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - len_at;
    if len > i32::MAX as usize {
        buf.truncate(start);
        return Err(EncodeError::TooLong {
            field: "message",
            length: len,
        });
    }
    buf[len_at..len_at + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// A typed frame whose body is already in wire form.
pub(crate) fn raw_frame(buf: &mut BytesMut, tag: u8, body: &[u8]) -> Result<(), EncodeError> {
    let len = body
        .len()
        .checked_add(4)
        .filter(|&l| l <= i32::MAX as usize)
        .ok_or(EncodeError::TooLong {
            field: "message",
            length: body.len(),
        })?;
    buf.reserve(1 + len);
    buf.put_u8(tag);
    buf.put_u32(len as u32);
    buf.put_slice(body);
    Ok(())
}

/// A typed frame with no body.
pub(crate) fn empty_frame(buf: &mut BytesMut, tag: u8) {
    buf.put_u8(tag);
    buf.put_u32(4);
}

/// A string that must not contain a zero byte, NUL-terminated.
pub(crate) fn cstr(buf: &mut BytesMut, s: &[u8], field: &'static str) -> Result<(), EncodeError> {
    if memchr::memchr(0, s).is_some() {
        return Err(EncodeError::NulInString { field });
    }
    buf.put_slice(s);
    buf.put_u8(0);
    Ok(())
}

/// A 16-bit count.
pub(crate) fn count(buf: &mut BytesMut, n: usize, field: &'static str) -> Result<(), EncodeError> {
    let n = u16::try_from(n).map_err(|_| EncodeError::TooManyItems { field, count: n })?;
    buf.put_u16(n);
    Ok(())
}

/// A value with an Int32 length prefix; `None` is written as length -1.
#[inline]
pub(crate) fn value(
    buf: &mut BytesMut,
    v: Option<&[u8]>,
    field: &'static str,
) -> Result<(), EncodeError> {
    match v {
        None => buf.put_i32(-1),
        Some(v) => {
            let len = i32::try_from(v.len()).map_err(|_| EncodeError::TooLong {
                field,
                length: v.len(),
            })?;
            buf.put_i32(len);
            buf.put_slice(v);
        }
    }
    Ok(())
}
