//! Arrays: PostgreSQL's text form (`array_in`/`array_out`) and binary form
//! (`array_recv`/`array_send`), for [`Array`], `Vec<T>`, `Vec<Option<T>>` and `&[T]`.
//!
//! The element type of an array type comes from the type table ([`oid::element_of`]); arrays of
//! arrays do not exist in PostgreSQL (a multi-dimensional array is one array with several
//! [`Dimension`]s), so an element type that is itself an array is refused.

use core::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use super::{Decode, Encode, Session, ValueError, oid};

/// PostgreSQL's limit on the number of dimensions (`MAXDIM`).
const MAX_DIMS: usize = 6;

/// One dimension of an [`Array`]: how many elements it has along that axis and the subscript
/// of the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dimension {
    /// The number of elements along this dimension.
    pub len: i32,
    /// The subscript of the first element (1 unless the array says otherwise).
    pub lower_bound: i32,
}

impl Dimension {
    /// The subscript of the last element (`lower_bound + len - 1`; one below the lower bound
    /// for an empty dimension).
    pub fn upper_bound(&self) -> i64 {
        i64::from(self.lower_bound) + i64::from(self.len) - 1
    }
}

/// A PostgreSQL array: its dimensions and its elements in row-major order, `None` being NULL.
///
/// One-dimensional arrays are the common case ([`Array::new`]); an empty array has no
/// dimensions at all, as in PostgreSQL. A multi-dimensional array keeps its dimensions with its
/// elements flattened, and is written back with nested braces. Writing checks that the
/// dimensions describe exactly the elements there are.
///
/// Reading needs an element type that owns its data (`String` rather than `&str`): the text
/// form unescapes quoted elements into a scratch buffer that the element cannot borrow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Array<T> {
    /// The dimensions, outermost first; empty for an empty array.
    pub dims: Vec<Dimension>,
    /// The elements in row-major order; `None` is NULL.
    pub elements: Vec<Option<T>>,
}

impl<T> Default for Array<T> {
    fn default() -> Self {
        Array {
            dims: Vec::new(),
            elements: Vec::new(),
        }
    }
}

impl<T> Array<T> {
    /// A one-dimensional array with lower bound 1 (no dimensions if `elements` is empty).
    pub fn new(elements: Vec<Option<T>>) -> Array<T> {
        Array::with_lower_bound(elements, 1)
    }

    /// A one-dimensional array whose first subscript is `lower_bound` (written as
    /// `[0:2]={...}` in text when it is not 1).
    ///
    /// More than `i32::MAX` elements cannot be described; such an array fails to encode.
    pub fn with_lower_bound(elements: Vec<Option<T>>, lower_bound: i32) -> Array<T> {
        let dims = if elements.is_empty() {
            Vec::new()
        } else {
            vec![Dimension {
                len: i32::try_from(elements.len()).unwrap_or(i32::MAX),
                lower_bound,
            }]
        };
        Array { dims, elements }
    }

    /// A one-dimensional array without NULLs.
    pub fn from_values(values: Vec<T>) -> Array<T> {
        Array::new(values.into_iter().map(Some).collect())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

impl<T> From<Vec<Option<T>>> for Array<T> {
    fn from(elements: Vec<Option<T>>) -> Array<T> {
        Array::new(elements)
    }
}

/// The array type of `element`, or 0 (unspecified: the server infers it, as for a Parse
/// parameter of type 0) when the type table has none.
const fn array_type(element: u32) -> u32 {
    match oid::array_of(element) {
        Some(a) => a,
        None => 0,
    }
}

fn shape_error() -> ValueError {
    ValueError::InvalidBinary {
        type_name: "array",
        reason: "the dimensions do not describe the elements",
    }
}

fn nested_error<E>(ty: u32) -> ValueError {
    ValueError::WrongType {
        ty,
        rust: core::any::type_name::<E>(),
    }
}

/// Checks that `dims` describe exactly `count` elements, within PostgreSQL's limits.
fn check_shape(dims: &[Dimension], count: usize) -> Result<(), ValueError> {
    if dims.len() > MAX_DIMS {
        return Err(shape_error());
    }
    let mut product: u64 = 1;
    for d in dims {
        if d.len < 0 || d.lower_bound.checked_add(d.len).is_none() {
            return Err(shape_error());
        }
        product = product.saturating_mul(d.len as u64);
    }
    let ok = match count {
        // PostgreSQL has no empty array with dimensions, but a zero-length one means the same.
        0 => dims.is_empty() || product == 0,
        n => !dims.is_empty() && product == n as u64,
    };
    if ok { Ok(()) } else { Err(shape_error()) }
}

/// PostgreSQL's `array_isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Quotes the element text written at `out[start..]` in place if `array_out` would: when it is
/// empty, NULL in any case, or holds a brace, comma, quote, backslash or white space. Quotes
/// and backslashes are backslash-escaped. Does not allocate beyond growing `out`.
fn quote_in_place(out: &mut BytesMut, start: usize) {
    let text = &out[start..];
    let mut needs = text.is_empty() || text.eq_ignore_ascii_case(b"NULL");
    let mut escapes = 0;
    for &c in text {
        match c {
            b'"' | b'\\' => {
                needs = true;
                escapes += 1;
            }
            b'{' | b'}' | b',' => needs = true,
            c if is_space(c) => needs = true,
            _ => {}
        }
    }
    if !needs {
        return;
    }
    let end = out.len();
    out.resize(end + escapes + 2, 0);
    // Move the text right from its end, escaping as we go; the opening quote lands at `start`.
    let mut w = out.len() - 1;
    out[w] = b'"';
    for r in (start..end).rev() {
        let c = out[r];
        w -= 1;
        out[w] = c;
        if c == b'"' || c == b'\\' {
            w -= 1;
            out[w] = b'\\';
        }
    }
    out[start] = b'"';
}

/// Writes the text form of an array with dimensions `dims` and elements `elems`.
fn encode_text<E: Encode>(
    dims: &[Dimension],
    elems: &[E],
    session: &Session,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    if oid::element_of(E::TYPE).is_some() {
        return Err(nested_error::<E>(E::TYPE));
    }
    check_shape(dims, elems.len())?;
    if elems.is_empty() {
        out.put_slice(b"{}");
        return Ok(());
    }
    let start = out.len();
    let result = write_text(dims, elems, session, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_text<E: Encode>(
    dims: &[Dimension],
    elems: &[E],
    session: &Session,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    if dims.iter().any(|d| d.lower_bound != 1) {
        for d in dims {
            // Writing to a BytesMut cannot fail.
            let _ = write!(out, "[{}:{}]", d.lower_bound, d.upper_bound());
        }
        out.put_u8(b'=');
    }
    // inner[k]: how many elements one brace group at depth k holds.
    let mut inner = [1usize; MAX_DIMS];
    let mut size = 1usize;
    for (k, d) in dims.iter().enumerate().rev() {
        size = size.saturating_mul(d.len as usize);
        inner[k] = size;
    }
    let inner = &inner[..dims.len()];
    let last = elems.len() - 1;
    for (i, e) in elems.iter().enumerate() {
        for &n in inner {
            if i % n == 0 {
                out.put_u8(b'{');
            }
        }
        if e.is_null() {
            out.put_slice(b"NULL");
        } else {
            let at = out.len();
            e.encode_text(session, out)?;
            quote_in_place(out, at);
        }
        for &n in inner {
            if (i + 1) % n == 0 {
                out.put_u8(b'}');
            }
        }
        if i != last {
            out.put_u8(b',');
        }
    }
    Ok(())
}

/// The element type to write for an array of `E` sent as type `ty`: the element type of `ty`
/// when it is a known array type, else `E::TYPE`.
fn element_type<E: Encode>(ty: u32) -> Result<u32, ValueError> {
    let element = match oid::lookup(ty) {
        Some(info) if info.is_array => info.related,
        Some(_) => return Err(nested_error::<E>(ty)),
        None => E::TYPE,
    };
    if element == 0 || oid::element_of(element).is_some() {
        return Err(nested_error::<E>(element));
    }
    Ok(element)
}

/// Writes the binary form (`array_send`).
fn encode_binary<E: Encode>(
    dims: &[Dimension],
    elems: &[E],
    ty: u32,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    let element = element_type::<E>(ty)?;
    check_shape(dims, elems.len())?;
    let start = out.len();
    if elems.is_empty() {
        out.put_i32(0);
        out.put_i32(0);
        out.put_u32(element);
        return Ok(());
    }
    out.put_i32(dims.len() as i32);
    out.put_i32(i32::from(elems.iter().any(|e| e.is_null())));
    out.put_u32(element);
    for d in dims {
        out.put_i32(d.len);
        out.put_i32(d.lower_bound);
    }
    for e in elems {
        if e.is_null() {
            out.put_i32(-1);
            continue;
        }
        let at = out.len();
        out.put_i32(0);
        if let Err(err) = e.encode_binary(element, out) {
            out.truncate(start);
            return Err(err);
        }
        let Ok(len) = i32::try_from(out.len() - at - 4) else {
            out.truncate(start);
            return Err(ValueError::OutOfRange { type_name: "array" });
        };
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// The dimensions of a one-dimensional array of `n` elements with lower bound 1.
fn one_dim(n: usize) -> Result<Option<Dimension>, ValueError> {
    if n == 0 {
        return Ok(None);
    }
    let len = i32::try_from(n).map_err(|_| ValueError::OutOfRange { type_name: "array" })?;
    Ok(Some(Dimension {
        len,
        lower_bound: 1,
    }))
}

impl<T: Encode> Encode for Array<T> {
    const TYPE: u32 = array_type(T::TYPE);

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        encode_text(&self.dims, &self.elements, session, out)
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        encode_binary(&self.dims, &self.elements, ty, out)
    }
}

/// A one-dimensional array with lower bound 1; `Vec<Option<T>>` has NULL elements.
impl<T: Encode> Encode for [T] {
    const TYPE: u32 = array_type(T::TYPE);

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        let dim = one_dim(self.len())?;
        encode_text(dim.as_slice(), self, session, out)
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        let dim = one_dim(self.len())?;
        encode_binary(dim.as_slice(), self, ty, out)
    }
}

/// A one-dimensional array with lower bound 1; `Vec<Option<T>>` has NULL elements.
impl<T: Encode> Encode for Vec<T> {
    const TYPE: u32 = array_type(T::TYPE);

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        self.as_slice().encode_text(session, out)
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        self.as_slice().encode_binary(ty, out)
    }
}

/// The element type of the array type `ty`, for reading as `R`.
fn element_of<R>(ty: u32) -> Result<u32, ValueError> {
    oid::element_of(ty).ok_or(ValueError::WrongType {
        ty,
        rust: core::any::type_name::<R>(),
    })
}

/// Parses an integer of a dimension decoration: an optional sign and digits.
fn parse_bound(raw: &[u8], p: &mut usize) -> Option<i32> {
    let start = *p;
    if matches!(raw.get(*p), Some(b'+' | b'-')) {
        *p += 1;
    }
    let digits = *p;
    let mut value: i64 = 0;
    while let Some(&c) = raw.get(*p).filter(|c| c.is_ascii_digit()) {
        value = value * 10 + i64::from(c - b'0');
        if value > 1 << 32 {
            return None;
        }
        *p += 1;
    }
    if *p == digits {
        return None;
    }
    if raw[start] == b'-' {
        value = -value;
    }
    i32::try_from(value).ok()
}

/// The state of the brace scanner: what may come next at the current level.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Just after `{`: an item or `}`.
    First,
    /// Just after `,`: an item.
    Item,
    /// Just after an item: `,` or `}`.
    Delimiter,
}

/// Parses the text form as `array_in` does, calling `each` with every element in order
/// (`None` for NULL, unescaped bytes otherwise). Returns the dimensions.
fn parse_text(
    raw: &[u8],
    type_name: &'static str,
    mut each: impl FnMut(Option<&[u8]>) -> Result<(), ValueError>,
) -> Result<Vec<Dimension>, ValueError> {
    let bad = || ValueError::text(type_name, raw);
    let skip_space = |p: &mut usize| {
        while raw.get(*p).is_some_and(|&c| is_space(c)) {
            *p += 1;
        }
    };
    let mut p = 0;

    // Optional dimension decoration: `[lb:ub]` or `[ub]` per dimension, then `=`. White space
    // may separate the items but not appear inside them.
    let mut declared = [Dimension {
        len: 0,
        lower_bound: 1,
    }; MAX_DIMS];
    let mut ndeclared = 0;
    loop {
        skip_space(&mut p);
        if raw.get(p) != Some(&b'[') {
            break;
        }
        p += 1;
        if ndeclared == MAX_DIMS {
            return Err(bad());
        }
        let first = parse_bound(raw, &mut p).ok_or_else(bad)?;
        let (lower, upper) = if raw.get(p) == Some(&b':') {
            p += 1;
            (first, parse_bound(raw, &mut p).ok_or_else(bad)?)
        } else {
            (1, first)
        };
        if raw.get(p) != Some(&b']') || upper < lower {
            return Err(bad());
        }
        p += 1;
        let len = i32::try_from(i64::from(upper) - i64::from(lower) + 1).map_err(|_| bad())?;
        if lower.checked_add(len).is_none() {
            return Err(bad());
        }
        declared[ndeclared] = Dimension {
            len,
            lower_bound: lower,
        };
        ndeclared += 1;
    }
    if ndeclared > 0 {
        if raw.get(p) != Some(&b'=') {
            return Err(bad());
        }
        p += 1;
        skip_space(&mut p);
    }
    if raw.get(p) != Some(&b'{') {
        return Err(bad());
    }
    p += 1;

    // Braces: elements all sit at the same depth (`ndim`), and every group at one depth has
    // the same number of items.
    let mut depth = 1usize;
    let mut ndim = 0usize;
    let mut counts = [0usize; MAX_DIMS];
    let mut lens = [0usize; MAX_DIMS];
    let mut next = Next::First;
    let mut scratch = Vec::new();
    loop {
        skip_space(&mut p);
        let Some(&c) = raw.get(p) else {
            return Err(bad());
        };
        match (c, next) {
            (b'{', Next::First | Next::Item) => {
                if depth == MAX_DIMS || (ndim != 0 && depth >= ndim) {
                    return Err(bad());
                }
                counts[depth] = 0;
                depth += 1;
                p += 1;
                next = Next::First;
            }
            (b'}', Next::First | Next::Delimiter) => {
                p += 1;
                let level = depth - 1;
                let n = counts[level];
                if n == 0 {
                    // `{}` is the empty array; empty braces inside an array are not allowed.
                    if depth != 1 {
                        return Err(bad());
                    }
                } else if lens[level] == 0 {
                    lens[level] = n;
                } else if lens[level] != n {
                    return Err(bad());
                }
                depth -= 1;
                if depth == 0 {
                    break;
                }
                counts[depth - 1] += 1;
                next = Next::Delimiter;
            }
            (b',', Next::Delimiter) => {
                p += 1;
                next = Next::Item;
            }
            (b'}' | b',', _) | (_, Next::Delimiter) => return Err(bad()),
            _ => {
                if ndim == 0 {
                    ndim = depth;
                } else if depth != ndim {
                    return Err(bad());
                }
                let (text, escaped, quoted) = scan_element(raw, &mut p).ok_or_else(bad)?;
                if !quoted && !escaped && text.eq_ignore_ascii_case(b"NULL") {
                    each(None)?;
                } else if escaped {
                    scratch.clear();
                    let mut bytes = text.iter();
                    while let Some(&b) = bytes.next() {
                        match b {
                            b'\\' => scratch.extend(bytes.next()),
                            b => scratch.push(b),
                        }
                    }
                    each(Some(&scratch))?;
                } else {
                    each(Some(text))?;
                }
                counts[depth - 1] += 1;
                next = Next::Delimiter;
            }
        }
    }
    skip_space(&mut p);
    if p != raw.len() {
        return Err(bad());
    }

    if ndim == 0 {
        // The empty array: it has no dimensions, so a decoration cannot match it.
        return if ndeclared == 0 {
            Ok(Vec::new())
        } else {
            Err(bad())
        };
    }
    let mut dims = Vec::with_capacity(ndim);
    for &n in &lens[..ndim] {
        let len = i32::try_from(n).map_err(|_| bad())?;
        dims.push(Dimension {
            len,
            lower_bound: 1,
        });
    }
    if ndeclared > 0 {
        if ndeclared != ndim || dims.iter().zip(&declared).any(|(b, d)| b.len != d.len) {
            return Err(bad());
        }
        dims.copy_from_slice(&declared[..ndim]);
    }
    Ok(dims)
}

/// Scans one element at `raw[*p]` (not white space, `{`, `}` or `,`): a quoted string, or an
/// unquoted one up to the next unescaped `,` or `}` without its trailing white space. Returns
/// the raw text (escapes kept), whether it holds escapes and whether it was quoted; `None` if
/// it is malformed.
fn scan_element<'r>(raw: &'r [u8], p: &mut usize) -> Option<(&'r [u8], bool, bool)> {
    let mut escaped = false;
    if raw.get(*p) == Some(&b'"') {
        *p += 1;
        let start = *p;
        loop {
            match *raw.get(*p)? {
                b'\\' => {
                    raw.get(*p + 1)?;
                    escaped = true;
                    *p += 2;
                }
                b'"' => break,
                _ => *p += 1,
            }
        }
        let text = &raw[start..*p];
        *p += 1;
        return Some((text, escaped, true));
    }
    let start = *p;
    let mut end = *p;
    loop {
        match *raw.get(*p)? {
            b'\\' => {
                raw.get(*p + 1)?;
                escaped = true;
                *p += 2;
                end = *p;
            }
            b',' | b'}' => break,
            b'{' | b'"' => return None,
            c if is_space(c) => *p += 1,
            _ => {
                *p += 1;
                end = *p;
            }
        }
    }
    Some((&raw[start..end], escaped, false))
}

/// The header of a binary array, checked, with the element bytes still to read.
struct BinaryArray<'r> {
    dims: [Dimension; MAX_DIMS],
    ndim: usize,
    count: usize,
    rest: &'r [u8],
    type_name: &'static str,
}

fn take_i32(raw: &mut &[u8]) -> Option<i32> {
    let (word, rest) = raw.split_first_chunk::<4>()?;
    *raw = rest;
    Some(i32::from_be_bytes(*word))
}

fn insufficient(type_name: &'static str) -> ValueError {
    ValueError::InvalidBinary {
        type_name,
        reason: "insufficient data left in message",
    }
}

impl<'r> BinaryArray<'r> {
    /// Reads the header as `array_recv` does; the element type must be `element`.
    fn read<R>(raw: &'r [u8], ty: u32, element: u32) -> Result<BinaryArray<'r>, ValueError> {
        let type_name = oid::sql_name(ty);
        let invalid = |reason| ValueError::InvalidBinary { type_name, reason };
        let mut rest = raw;
        let short = || ValueError::BinaryLength {
            type_name,
            len: raw.len(),
        };
        let ndim = take_i32(&mut rest).ok_or_else(short)?;
        let flags = take_i32(&mut rest).ok_or_else(short)?;
        let found = take_i32(&mut rest).ok_or_else(short)? as u32;
        if !(0..=MAX_DIMS as i32).contains(&ndim) {
            return Err(invalid("invalid number of dimensions"));
        }
        if flags != 0 && flags != 1 {
            return Err(invalid("invalid array flags"));
        }
        if found != element {
            return Err(ValueError::WrongType {
                ty: found,
                rust: core::any::type_name::<R>(),
            });
        }
        let ndim = ndim as usize;
        let mut dims = [Dimension {
            len: 0,
            lower_bound: 1,
        }; MAX_DIMS];
        let mut count: u64 = 1;
        for d in &mut dims[..ndim] {
            let len = take_i32(&mut rest).ok_or_else(short)?;
            let lower_bound = take_i32(&mut rest).ok_or_else(short)?;
            if len < 0 {
                return Err(invalid("array size exceeds the maximum allowed"));
            }
            if lower_bound.checked_add(len).is_none() {
                return Err(invalid("array upper bound is too large"));
            }
            count = count.saturating_mul(len as u64);
            *d = Dimension { len, lower_bound };
        }
        if ndim == 0 {
            count = 0;
        }
        // Every element takes at least its four-byte length word: a count the data cannot
        // hold is refused before anything is reserved for it.
        if count > (rest.len() / 4) as u64 {
            return Err(insufficient(type_name));
        }
        Ok(BinaryArray {
            dims,
            // An array with a zero-length dimension is the empty array, which has none.
            ndim: if count == 0 { 0 } else { ndim },
            count: count as usize,
            rest,
            type_name,
        })
    }

    fn dims(&self) -> &[Dimension] {
        &self.dims[..self.ndim]
    }

    /// The next element: `None` for NULL.
    fn next(&mut self) -> Result<Option<&'r [u8]>, ValueError> {
        let len = take_i32(&mut self.rest).ok_or(insufficient(self.type_name))?;
        if len == -1 {
            return Ok(None);
        }
        let (value, rest) = usize::try_from(len)
            .ok()
            .and_then(|len| self.rest.split_at_checked(len))
            .ok_or(insufficient(self.type_name))?;
        self.rest = rest;
        Ok(Some(value))
    }

    /// Fails if bytes are left after the last element.
    fn finish(&self) -> Result<(), ValueError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ValueError::InvalidBinary {
                type_name: self.type_name,
                reason: "incorrect binary data format",
            })
        }
    }
}

/// Fails unless the array has at most one dimension (what a `Vec` can hold).
fn check_flat<R>(ty: u32, ndim: usize) -> Result<(), ValueError> {
    if ndim > 1 {
        return Err(ValueError::WrongType {
            ty,
            rust: core::any::type_name::<R>(),
        });
    }
    Ok(())
}

impl<'a, T> Decode<'a> for Array<T>
where
    T: for<'b> Decode<'b>,
{
    fn accepts(ty: u32) -> bool {
        oid::element_of(ty).is_some_and(T::accepts)
    }

    fn decode_text(session: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        let element = element_of::<Self>(ty)?;
        let mut elements = Vec::new();
        let dims = parse_text(raw, oid::sql_name(ty), |v| {
            elements.push(match v {
                None => None,
                Some(v) => Some(T::decode_text(session, element, v)?),
            });
            Ok(())
        })?;
        Ok(Array { dims, elements })
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        let element = element_of::<Self>(ty)?;
        let mut array = BinaryArray::read::<T>(raw, ty, element)?;
        let mut elements = Vec::with_capacity(array.count);
        for _ in 0..array.count {
            elements.push(match array.next()? {
                None => None,
                Some(v) => Some(T::decode_binary(element, v)?),
            });
        }
        array.finish()?;
        Ok(Array {
            dims: array.dims().to_vec(),
            elements,
        })
    }
}

/// Reads a one-dimensional array (of any lower bound); a NULL element is an error unless `T`
/// is an `Option`, and a multi-dimensional array is [`ValueError::WrongType`] (read it as an
/// [`Array`]).
impl<'a, T> Decode<'a> for Vec<T>
where
    T: for<'b> Decode<'b>,
{
    fn accepts(ty: u32) -> bool {
        oid::element_of(ty).is_some_and(T::accepts)
    }

    fn decode_text(session: &Session, ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        let element = element_of::<Self>(ty)?;
        let mut elements = Vec::new();
        let dims = parse_text(raw, oid::sql_name(ty), |v| {
            elements.push(match v {
                None => T::decode_null(element)?,
                Some(v) => T::decode_text(session, element, v)?,
            });
            Ok(())
        })?;
        check_flat::<Self>(ty, dims.len())?;
        Ok(elements)
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        let element = element_of::<Self>(ty)?;
        let mut array = BinaryArray::read::<T>(raw, ty, element)?;
        check_flat::<Self>(ty, array.ndim)?;
        let mut elements = Vec::with_capacity(array.count);
        for _ in 0..array.count {
            elements.push(match array.next()? {
                None => T::decode_null(element)?,
                Some(v) => T::decode_binary(element, v)?,
            });
        }
        array.finish()?;
        Ok(elements)
    }
}
