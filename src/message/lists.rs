//! The lists that appear inside messages, kept in wire form and iterated without allocating:
//! type OIDs (Parse, ParameterDescription), format codes (Bind, FunctionCall, Copy responses)
//! and length-prefixed values (Bind, FunctionCall, DataRow).

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError, Frame};
use super::reader::Reader;
use super::writer;

/// A value format code: 0 is text, 1 is binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Text format (code 0).
    #[default]
    Text,
    /// Binary format (code 1).
    Binary,
}

impl Format {
    /// The format for a wire code; `None` for codes other than 0 and 1, which PostgreSQL
    /// rejects (22023) when it comes to use them.
    pub fn from_code(code: i16) -> Option<Format> {
        match code {
            0 => Some(Format::Text),
            1 => Some(Format::Binary),
            _ => None,
        }
    }

    /// The wire code.
    pub fn code(self) -> i16 {
        match self {
            Format::Text => 0,
            Format::Binary => 1,
        }
    }
}

/// A list of type OIDs, in wire form.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Oids(Bytes);

impl Oids {
    /// Builds a list.
    pub fn new(oids: &[u32]) -> Result<Oids, EncodeError> {
        if oids.len() > u16::MAX as usize {
            return Err(EncodeError::TooManyItems {
                field: "OIDs",
                count: oids.len(),
            });
        }
        let mut buf = BytesMut::with_capacity(oids.len() * 4);
        oids.iter().for_each(|&o| buf.put_u32(o));
        Ok(Oids(buf.freeze()))
    }

    pub(crate) fn read(
        r: &mut Reader<'_>,
        count: usize,
        field: &'static str,
    ) -> Result<Oids, DecodeError> {
        let list = OidsRef::read(r, count, field)?;
        Ok(Oids(r.share(list.raw)))
    }

    pub(crate) fn from_bytes(raw: Bytes) -> Oids {
        Oids(raw)
    }

    /// The list, borrowed.
    pub fn view(&self) -> OidsRef<'_> {
        OidsRef { raw: &self.0 }
    }

    pub(crate) fn write(
        buf: &mut BytesMut,
        oids: &[u32],
        field: &'static str,
    ) -> Result<(), EncodeError> {
        writer::count(buf, oids.len(), field)?;
        for &oid in oids {
            buf.put_u32(oid);
        }
        Ok(())
    }

    pub(crate) fn put_raw(&self, buf: &mut BytesMut) {
        buf.put_u16((self.0.len() / 4) as u16);
        buf.put_slice(&self.0);
    }

    /// How many OIDs.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The OID at `i`.
    pub fn get(&self, i: usize) -> Option<u32> {
        self.view().get(i)
    }

    /// The OIDs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.0
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl fmt::Debug for Oids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A list of format codes, in wire form. Codes are kept as sent; see [`Format::from_code`].
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Formats(Bytes);

impl Formats {
    /// Builds a list.
    pub fn new(codes: &[i16]) -> Result<Formats, EncodeError> {
        if codes.len() > u16::MAX as usize {
            return Err(EncodeError::TooManyItems {
                field: "format codes",
                count: codes.len(),
            });
        }
        let mut buf = BytesMut::with_capacity(codes.len() * 2);
        codes.iter().for_each(|&c| buf.put_i16(c));
        Ok(Formats(buf.freeze()))
    }

    pub(crate) fn read(
        r: &mut Reader<'_>,
        count: usize,
        field: &'static str,
    ) -> Result<Formats, DecodeError> {
        let list = FormatsRef::read(r, count, field)?;
        Ok(Formats(r.share(list.raw)))
    }

    pub(crate) fn from_bytes(raw: Bytes) -> Formats {
        Formats(raw)
    }

    /// The list, borrowed.
    pub fn view(&self) -> FormatsRef<'_> {
        FormatsRef { raw: &self.0 }
    }

    pub(crate) fn write(
        buf: &mut BytesMut,
        codes: &[i16],
        field: &'static str,
    ) -> Result<(), EncodeError> {
        writer::count(buf, codes.len(), field)?;
        for &c in codes {
            buf.put_i16(c);
        }
        Ok(())
    }

    pub(crate) fn put_raw(&self, buf: &mut BytesMut) {
        buf.put_u16((self.0.len() / 2) as u16);
        buf.put_slice(&self.0);
    }

    /// How many codes.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The code at `i`.
    pub fn get(&self, i: usize) -> Option<i16> {
        self.view().get(i)
    }

    /// The codes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i16> + '_ {
        self.view().iter()
    }

    /// The code that applies to value `i` under the protocol's rule: no codes means all text,
    /// one code applies to every value, otherwise one code per value.
    pub fn code_for(&self, i: usize) -> i16 {
        self.view().code_for(i)
    }
}

impl fmt::Debug for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A list of values, each an Int32 length (-1 for NULL) and that many bytes, in wire form.
/// The layout was checked when the list was decoded, so iterating cannot fail.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Values {
    raw: Bytes,
    count: u16,
}

impl Values {
    /// Wraps bytes already checked to hold `count` values.
    pub(crate) fn from_bytes(raw: Bytes, count: u16) -> Values {
        Values { raw, count }
    }

    /// The list, borrowed.
    pub fn view(&self) -> ValuesRef<'_> {
        ValuesRef {
            raw: &self.raw,
            count: self.count,
        }
    }

    /// Takes a whole buffer that holds exactly `count` values.
    pub(crate) fn from_exact(
        raw: Bytes,
        count: u16,
        frame: Frame,
        field: &'static str,
    ) -> Result<Values, DecodeError> {
        ValuesRef::exact(&raw, count, frame, field)?;
        Ok(Values { raw, count })
    }

    pub(crate) fn write<'v, I>(
        buf: &mut BytesMut,
        values: I,
        field: &'static str,
    ) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        let values = values.into_iter();
        writer::count(buf, values.len(), field)?;
        for v in values {
            writer::value(buf, v, field)?;
        }
        Ok(())
    }

    pub(crate) fn put_raw(&self, buf: &mut BytesMut) {
        buf.put_u16(self.count);
        buf.put_slice(&self.raw);
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values in order; `None` is SQL NULL.
    pub fn iter(&self) -> ValuesIter<'_> {
        self.view().iter()
    }

    /// The wire bytes of all values (length words included), for callers that want to keep
    /// values as shared [`Bytes`] with [`Bytes::slice_ref`].
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|v| v.map(String::from_utf8_lossy)))
            .finish()
    }
}

/// Iterator over [`Values`].
#[derive(Clone, Debug)]
pub struct ValuesIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for ValuesIter<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Option<&'a [u8]>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (len, rest) = self.rest.split_first_chunk::<4>()?;
        let len = i32::from_be_bytes(*len);
        if len < 0 {
            self.rest = rest;
            return Some(None);
        }
        // The list was validated on construction; `get` keeps this panic-free regardless.
        let (value, rest) = rest.split_at_checked(len as usize)?;
        self.rest = rest;
        Some(Some(value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for ValuesIter<'_> {}

/// A borrowed list of type OIDs in wire form (a [`Oids`] without its own buffer).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OidsRef<'a> {
    raw: &'a [u8],
}

impl<'a> OidsRef<'a> {
    pub(crate) fn read(
        r: &mut Reader<'a>,
        count: usize,
        field: &'static str,
    ) -> Result<OidsRef<'a>, DecodeError> {
        Ok(OidsRef {
            raw: r.take(count * 4, field)?,
        })
    }

    /// How many OIDs.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// The wire bytes (four per OID).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The OID at `i`.
    pub fn get(&self, i: usize) -> Option<u32> {
        let b = self.raw.get(i.checked_mul(4)?..)?.first_chunk::<4>()?;
        Some(u32::from_be_bytes(*b))
    }

    /// The OIDs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + use<'a> {
        self.raw
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl fmt::Debug for OidsRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A borrowed list of format codes in wire form (a [`Formats`] without its own buffer).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FormatsRef<'a> {
    raw: &'a [u8],
}

impl<'a> FormatsRef<'a> {
    pub(crate) fn read(
        r: &mut Reader<'a>,
        count: usize,
        field: &'static str,
    ) -> Result<FormatsRef<'a>, DecodeError> {
        Ok(FormatsRef {
            raw: r.take(count * 2, field)?,
        })
    }

    /// How many codes.
    pub fn len(&self) -> usize {
        self.raw.len() / 2
    }

    /// The wire bytes (two per code).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The code at `i`.
    pub fn get(&self, i: usize) -> Option<i16> {
        let b = self.raw.get(i.checked_mul(2)?..)?.first_chunk::<2>()?;
        Some(i16::from_be_bytes(*b))
    }

    /// The codes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i16> + use<'a> {
        self.raw
            .chunks_exact(2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
    }

    /// The code that applies to value `i` under the protocol's rule: no codes means all text,
    /// one code applies to every value, otherwise one code per value.
    pub fn code_for(&self, i: usize) -> i16 {
        match self.len() {
            0 => 0,
            1 => self.get(0).unwrap_or(0),
            _ => self.get(i).unwrap_or(0),
        }
    }
}

impl fmt::Debug for FormatsRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A borrowed list of length-prefixed values (a [`Values`] without its own buffer). The layout
/// was checked when the list was read, so iterating cannot fail.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ValuesRef<'a> {
    raw: &'a [u8],
    count: u16,
}

impl<'a> ValuesRef<'a> {
    pub(crate) fn read(
        r: &mut Reader<'a>,
        count: u16,
        field: &'static str,
    ) -> Result<ValuesRef<'a>, DecodeError> {
        let rest = r.rest_slice();
        let used = validate(rest, count, r.frame(), field)?;
        let raw = r.take(used, field)?;
        Ok(ValuesRef { raw, count })
    }

    /// Checks that `raw` holds exactly `count` well-formed values.
    pub(crate) fn exact(
        raw: &'a [u8],
        count: u16,
        frame: Frame,
        field: &'static str,
    ) -> Result<ValuesRef<'a>, DecodeError> {
        let used = validate(raw, count, frame, field)?;
        if used != raw.len() {
            return Err(DecodeError::TrailingBytes {
                frame,
                count: raw.len() - used,
            });
        }
        Ok(ValuesRef { raw, count })
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values in order; `None` is SQL NULL.
    pub fn iter(&self) -> ValuesIter<'a> {
        ValuesIter {
            rest: self.raw,
            left: self.count,
        }
    }

    /// The wire bytes of all values, length words included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> IntoIterator for ValuesRef<'a> {
    type Item = Option<&'a [u8]>;
    type IntoIter = ValuesIter<'a>;

    fn into_iter(self) -> ValuesIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for ValuesRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|v| v.map(String::from_utf8_lossy)))
            .finish()
    }
}

/// Field names of a format-coded value list (Bind's parameters, FunctionCall's arguments).
pub(crate) struct ValueListFields {
    pub(crate) format_count: &'static str,
    pub(crate) formats: &'static str,
    pub(crate) count: &'static str,
    pub(crate) value: &'static str,
}

/// Reads format codes and then the values they describe, as Bind and FunctionCall carry them:
/// the codes number 0 (all text), 1 (one for all) or one per value, which is checked here as
/// PostgreSQL checks it.
pub(crate) fn read_formatted_values<'a>(
    r: &mut Reader<'a>,
    names: ValueListFields,
) -> Result<(FormatsRef<'a>, ValuesRef<'a>), DecodeError> {
    let nf = r.u16(names.format_count)?;
    let formats = FormatsRef::read(r, nf as usize, names.formats)?;
    let n = r.u16(names.count)?;
    if nf > 1 && nf != n {
        return Err(DecodeError::CountMismatch {
            frame: r.frame(),
            field: names.formats,
            count: nf as usize,
            expected: n as usize,
        });
    }
    let values = ValuesRef::read(r, n, names.value)?;
    Ok((formats, values))
}

/// Checks that `raw` starts with `count` well-formed values; returns how many bytes they take.
/// This is the per-row hot path of a client: one length word and one comparison per value.
#[inline]
fn validate(
    raw: &[u8],
    count: u16,
    frame: Frame,
    field: &'static str,
) -> Result<usize, DecodeError> {
    let mut rest = raw;
    for _ in 0..count {
        let Some((word, tail)) = rest.split_first_chunk::<4>() else {
            return Err(DecodeError::UnexpectedEnd { frame, field });
        };
        let len = i32::from_be_bytes(*word);
        rest = tail;
        if len >= 0 {
            let Some(tail) = rest.get(len as usize..) else {
                return Err(DecodeError::UnexpectedEnd { frame, field });
            };
            rest = tail;
        } else if len != -1 {
            return Err(DecodeError::InvalidLength {
                frame,
                field,
                length: len,
            });
        }
    }
    Ok(raw.len() - rest.len())
}
