//! bool, int2, int4, int8, oid, float4, float8 and "char".
//!
//! Text input follows PostgreSQL 16 and later (the current majors): integers may have a `0x`,
//! `0o` or `0b` prefix and `_` between digits, and `oid` reads C-style literals (`0x1f`, `010`
//! is octal). PostgreSQL 15 and older accept only plain decimal digits for these; every form they
//! accept is read the same way here, except an `oid` written with a leading zero.
//!
//! Reading widens without loss: `i32` reads int2 and int4, `i64` reads int2, int4 and int8, and
//! `f64` reads float4 and float8 (a float4 value, in either format, reads as the same `f32`
//! value widened). Writing in binary as a narrower type than the Rust type's own checks the range
//! the way PostgreSQL's casts do (`i64` as int4, `f64` as float4) and fails with
//! [`ValueError::OutOfRange`] rather than change the value's meaning; writing as a wider type
//! widens. Text output is the same whatever the type.

use core::cmp::Ordering;

use bytes::{BufMut, BytesMut};

use super::oid::{self, sql_name};
use super::{Decode, Encode, Session, ValueError};

/// A `"char"` value: one byte.
///
/// Its text form is PostgreSQL's `charout`: a byte below 0x80 is itself (byte 0 is the empty
/// string), a byte from 0x80 up is a backslash and three octal digits (`\303`). Text input is
/// `charin`: exactly four bytes `\ooo` are an octal escape (the value is taken modulo 256, so
/// `\777` is 0xFF), anything else is its first byte (the empty string is byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PgChar(pub u8);

// ----------------------------------------------------------------------------------------------
// Shared helpers (also used by the other scalar modules).

/// C `isspace` in the C locale: what PostgreSQL's input functions skip.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `raw` without leading and trailing [`is_space`] bytes.
pub(crate) fn trim_space(raw: &[u8]) -> &[u8] {
    let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    &raw[start..end]
}

/// The fixed-size binary form of a value: exactly `N` bytes, or [`ValueError::BinaryLength`].
pub(crate) fn fixed<const N: usize>(raw: &[u8], ty: u32) -> Result<[u8; N], ValueError> {
    raw.try_into().map_err(|_| ValueError::BinaryLength {
        type_name: sql_name(ty),
        len: raw.len(),
    })
}

/// The type a value is written as: `ty`, or `own` when `ty` is 0 (unspecified).
fn target(ty: u32, own: u32) -> u32 {
    if ty == 0 { own } else { ty }
}

/// Appends the decimal digits of `v` (with a `-` when negative) without allocating.
pub(crate) fn put_i64(out: &mut BytesMut, v: i64) {
    if v < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, v.unsigned_abs());
}

/// Appends a DataRow column holding `v` in text: the length word and the digits in one copy.
#[inline]
pub(crate) fn put_i64_column(out: &mut BytesMut, v: i64) {
    let mut buf = [0u8; 25];
    let (_, digits) = buf.split_at_mut(5);
    let mut start = match <&mut [u8; 20]>::try_from(digits) {
        Ok(digits) => decimal(digits, v.unsigned_abs()) + 5,
        Err(_) => 25,
    };
    if v < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    let len = (25 - start) as i32;
    buf[start - 4..start].copy_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&buf[start - 4..]);
}

/// Appends a DataRow column holding `v` in PostgreSQL's float8 text (see [`put_f64`]).
#[inline]
pub(crate) fn put_f64_column(out: &mut BytesMut, v: f64) {
    let text = f64_text(v);
    let text = text.as_bytes();
    let mut buf = [0u8; 4 + FLOAT_BUF];
    let end = 4 + text.len().min(FLOAT_BUF);
    buf[..4].copy_from_slice(&(text.len() as i32).to_be_bytes());
    buf[4..end].copy_from_slice(&text[..end - 4]);
    out.extend_from_slice(&buf[..end]);
}

/// Appends the decimal digits of `v` without allocating.
pub(crate) fn put_u64(out: &mut BytesMut, v: u64) {
    let mut buf = [0u8; 20];
    let start = decimal(&mut buf, v);
    out.extend_from_slice(buf.get(start..).unwrap_or_default());
}

/// "00" to "99": two digits per table lookup halve the divisions of decimal formatting.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// The two digits of `v` (below 100).
#[inline]
pub(crate) fn digit_pair(v: u64) -> [u8; 2] {
    let i = (v % 100) as usize * 2;
    [DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]
}

/// Writes `v` in decimal at the end of `buf` (20 bytes hold any u64); returns where the
/// digits start.
#[inline]
pub(crate) fn decimal(buf: &mut [u8; 20], mut v: u64) -> usize {
    let mut i = buf.len();
    while v >= 100 && i >= 2 {
        i -= 2;
        let [a, b] = digit_pair(v);
        buf[i] = a;
        buf[i + 1] = b;
        v /= 100;
    }
    if v >= 10 && i >= 2 {
        i -= 2;
        let [a, b] = digit_pair(v);
        buf[i] = a;
        buf[i + 1] = b;
    } else if i >= 1 {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    i
}

/// A small stack buffer that `core::fmt` can write into.
pub(crate) struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub(crate) fn new() -> Self {
        StackBuf {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(crate) fn push(&mut self, b: u8) {
        // Callers size the buffer for their longest output; a push past the end is dropped
        // rather than panicking.
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// bool

/// `boolin`'s rules (PostgreSQL's `parse_bool_with_len`): surrounding whitespace is ignored; any
/// case-insensitive prefix of `true`, `false`, `yes`, `no`, a prefix of at least two letters of
/// `on`/`off`, and exactly `1` or `0`.
fn parse_bool(raw: &[u8]) -> Option<bool> {
    let s = trim_space(raw);
    let prefix_of = |word: &str, min: usize| {
        s.len() >= min
            && s.len() <= word.len()
            && s.eq_ignore_ascii_case(&word.as_bytes()[..s.len()])
    };
    match s.first()?.to_ascii_lowercase() {
        b't' if prefix_of("true", 1) => Some(true),
        b'f' if prefix_of("false", 1) => Some(false),
        b'y' if prefix_of("yes", 1) => Some(true),
        b'n' if prefix_of("no", 1) => Some(false),
        b'o' if prefix_of("on", 2) => Some(true),
        b'o' if prefix_of("off", 2) => Some(false),
        b'1' if s.len() == 1 => Some(true),
        b'0' if s.len() == 1 => Some(false),
        _ => None,
    }
}

impl Encode for bool {
    const TYPE: u32 = oid::BOOL;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_u8(if *self { b't' } else { b'f' });
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match target(ty, oid::BOOL) {
            oid::BOOL => {
                out.put_u8(u8::from(*self));
                Ok(())
            }
            ty => Err(ValueError::WrongType { ty, rust: "bool" }),
        }
    }
}

impl Decode<'_> for bool {
    fn accepts(ty: u32) -> bool {
        ty == oid::BOOL
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "bool")?;
        parse_bool(raw).ok_or_else(|| ValueError::text("boolean", raw))
    }

    /// Any nonzero byte is true, as `boolrecv` reads it.
    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "bool")?;
        let [b] = fixed::<1>(raw, ty)?;
        Ok(b != 0)
    }
}

fn expect(accepted: bool, ty: u32, rust: &'static str) -> Result<(), ValueError> {
    if accepted {
        Ok(())
    } else {
        Err(ValueError::WrongType { ty, rust })
    }
}

// ----------------------------------------------------------------------------------------------
// int2, int4, int8

/// PostgreSQL 16+'s `pg_strtoint16/32/64`: whitespace, an optional sign, then decimal digits or
/// `0x`/`0o`/`0b` and digits of that base, with single `_` between digits (for the prefixed
/// forms also right after the prefix), then whitespace. The magnitude is accumulated as an
/// unsigned number that fails with `OutOfRange` as soon as another digit could overflow it, so
/// `99999999999x` is out of range while `32769x` is a syntax error, as in PostgreSQL.
fn parse_int(raw: &[u8], bits: u32, type_name: &'static str) -> Result<i64, ValueError> {
    let invalid = || ValueError::text(type_name, raw);
    let out_of_range = || ValueError::OutOfRange { type_name };
    let neg_limit = 1u64 << (bits - 1);

    let mut i = 0;
    while i < raw.len() && is_space(raw[i]) {
        i += 1;
    }
    let mut neg = false;
    match raw.get(i) {
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let base: u64 = match (raw.get(i), raw.get(i + 1).map(u8::to_ascii_lowercase)) {
        (Some(b'0'), Some(b'x')) => 16,
        (Some(b'0'), Some(b'o')) => 8,
        (Some(b'0'), Some(b'b')) => 2,
        _ => 10,
    };
    if base != 10 {
        i += 2;
    }
    let digit = |b: u8| -> Option<u64> {
        let d = (b as char).to_digit(16)? as u64;
        (d < base).then_some(d)
    };
    let first = i;
    let mut tmp: u64 = 0;
    while i < raw.len() {
        if let Some(d) = digit(raw[i]) {
            if tmp > neg_limit / base {
                return Err(out_of_range());
            }
            tmp = tmp * base + d;
            i += 1;
        } else if raw[i] == b'_' {
            // In decimal an underscore may not come first; in every base it must be followed by
            // a digit.
            if base == 10 && i == first {
                return Err(invalid());
            }
            i += 1;
            if raw.get(i).and_then(|&b| digit(b)).is_none() {
                return Err(invalid());
            }
        } else {
            break;
        }
    }
    if i == first {
        return Err(invalid());
    }
    while i < raw.len() && is_space(raw[i]) {
        i += 1;
    }
    if i != raw.len() {
        return Err(invalid());
    }
    if neg {
        if tmp > neg_limit {
            return Err(out_of_range());
        }
        // tmp <= 2^63, so this is exact (2^63 wraps to i64::MIN, which is what it means).
        Ok((tmp as i64).wrapping_neg())
    } else if tmp >= neg_limit {
        Err(out_of_range())
    } else {
        Ok(tmp as i64)
    }
}

/// The width in bits of integer type `ty`.
fn int_bits(ty: u32) -> Option<u32> {
    match ty {
        oid::INT2 => Some(16),
        oid::INT4 => Some(32),
        oid::INT8 => Some(64),
        _ => None,
    }
}

/// Writes `v` in the binary form of integer type `ty`, checking its range.
fn put_int_binary(
    v: i64,
    ty: u32,
    rust: &'static str,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    let out_of_range = || ValueError::OutOfRange {
        type_name: sql_name(ty),
    };
    match ty {
        oid::INT2 => out.put_i16(i16::try_from(v).map_err(|_| out_of_range())?),
        oid::INT4 => out.put_i32(i32::try_from(v).map_err(|_| out_of_range())?),
        oid::INT8 => out.put_i64(v),
        _ => return Err(ValueError::WrongType { ty, rust }),
    }
    Ok(())
}

/// Reads the binary form of integer type `ty`.
fn get_int_binary(ty: u32, raw: &[u8]) -> Result<i64, ValueError> {
    Ok(match ty {
        oid::INT2 => i16::from_be_bytes(fixed(raw, ty)?).into(),
        oid::INT4 => i32::from_be_bytes(fixed(raw, ty)?).into(),
        _ => i64::from_be_bytes(fixed(raw, ty)?),
    })
}

macro_rules! int_impl {
    ($t:ty, $own:expr, $rust:literal, [$($accepted:path),*]) => {
        impl Encode for $t {
            const TYPE: u32 = $own;

            fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
                put_i64(out, i64::from(*self));
                Ok(())
            }

            /// As int2, int4 or int8 (`ty`), failing with `OutOfRange` if the value does not fit.
            fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
                put_int_binary(i64::from(*self), target(ty, $own), $rust, out)
            }
        }

        impl Decode<'_> for $t {
            fn accepts(ty: u32) -> bool {
                matches!(ty, $($accepted)|*)
            }

            fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
                expect(Self::accepts(ty), ty, $rust)?;
                let bits = int_bits(ty).unwrap_or(64);
                let v = parse_int(raw, bits, sql_name(ty))?;
                <$t>::try_from(v).map_err(|_| ValueError::OutOfRange { type_name: sql_name(ty) })
            }

            fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
                expect(Self::accepts(ty), ty, $rust)?;
                let v = get_int_binary(ty, raw)?;
                <$t>::try_from(v).map_err(|_| ValueError::OutOfRange { type_name: sql_name(ty) })
            }
        }
    };
}

int_impl!(i16, oid::INT2, "i16", [oid::INT2]);
int_impl!(i32, oid::INT4, "i32", [oid::INT2, oid::INT4]);
int_impl!(i64, oid::INT8, "i64", [oid::INT2, oid::INT4, oid::INT8]);

// ----------------------------------------------------------------------------------------------
// oid

/// PostgreSQL 16+'s `uint32in_subr`, which is C's `strtoul(s, &end, 0)` plus checks: leading
/// whitespace, an optional sign, a C literal (`0x` hex, a leading `0` octal, else decimal), then
/// whitespace. A negative value is accepted if it fits in an `int4` and is read as its two's
/// complement (`-1` is 4294967295). A magnitude past 64 bits is out of range even when junk
/// follows it, as strtoul reports that first.
fn parse_oid(raw: &[u8]) -> Result<u32, ValueError> {
    let invalid = || ValueError::text("oid", raw);
    let out_of_range = || ValueError::OutOfRange { type_name: "oid" };
    let mut i = 0;
    while i < raw.len() && is_space(raw[i]) {
        i += 1;
    }
    let mut neg = false;
    match raw.get(i) {
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let is_hex_digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_hexdigit);
    let (base, start) = if raw.get(i) == Some(&b'0')
        && matches!(raw.get(i + 1), Some(b'x' | b'X'))
        && is_hex_digit(raw.get(i + 2))
    {
        (16u64, i + 2)
    } else if raw.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = start;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = raw
        .get(j)
        .and_then(|&b| (b as char).to_digit(16))
        .filter(|&d| u64::from(d) < base)
    {
        match value
            .checked_mul(base)
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        j += 1;
    }
    if j == start {
        return Err(invalid());
    }
    if overflow {
        return Err(out_of_range());
    }
    while j < raw.len() && is_space(raw[j]) {
        j += 1;
    }
    if j != raw.len() {
        return Err(invalid());
    }
    if neg {
        // strtoul negates in unsigned arithmetic; PostgreSQL keeps the result if it is the sign
        // extension of a 32-bit value.
        if value > 1 << 31 {
            return Err(out_of_range());
        }
        Ok((value as u32).wrapping_neg())
    } else {
        u32::try_from(value).map_err(|_| out_of_range())
    }
}

impl Encode for u32 {
    const TYPE: u32 = oid::OID;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        put_u64(out, u64::from(*self));
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match target(ty, oid::OID) {
            oid::OID => {
                out.put_u32(*self);
                Ok(())
            }
            ty => Err(ValueError::WrongType { ty, rust: "u32" }),
        }
    }
}

impl Decode<'_> for u32 {
    fn accepts(ty: u32) -> bool {
        ty == oid::OID
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "u32")?;
        parse_oid(raw)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "u32")?;
        Ok(u32::from_be_bytes(fixed(raw, ty)?))
    }
}

// ----------------------------------------------------------------------------------------------
// float4, float8: output

/// The longest float text: `-2.2250738585072014e-308` is 24 bytes.
const FLOAT_BUF: usize = 32;

/// Unsigned integer arithmetic for [`shortest_digits`]: `u128` for the common magnitudes,
/// [`Big`] for the rest. Each operation reports overflow as `None`, which sends the caller to
/// the wider type.
trait Nat: Copy {
    fn of(v: u64) -> Self;
    fn shl(&mut self, k: u32) -> Option<()>;
    fn mul_small(&mut self, m: u32) -> Option<()>;
    /// `self -= other`, for `self >= other`.
    fn sub_assign(&mut self, other: &Self);
    /// Compares `self + plus` with `other`.
    fn cmp_sum(&self, plus: &Self, other: &Self) -> Option<Ordering>;
    fn cmp_to(&self, other: &Self) -> Ordering;

    fn mul_pow10(&mut self, mut k: u32) -> Option<()> {
        while k >= 9 {
            self.mul_small(1_000_000_000)?;
            k -= 9;
        }
        self.mul_small(10u32.pow(k))
    }
}

/// The machine widths: every step checked, an overflow reported as `None`. u64 covers most
/// doubles of everyday magnitude (roughly 1e-3 to 1e17 with full significands, and many more),
/// where each step is one instruction; u128 most of the rest.
macro_rules! machine_nat {
    ($t:ty) => {
        impl Nat for $t {
            fn of(v: u64) -> Self {
                <$t>::from(v)
            }

            fn shl(&mut self, k: u32) -> Option<()> {
                if k >= self.leading_zeros() && *self != 0 {
                    return None;
                }
                *self = self.checked_shl(k)?;
                Some(())
            }

            fn mul_small(&mut self, m: u32) -> Option<()> {
                *self = self.checked_mul(<$t>::from(m))?;
                Some(())
            }

            fn sub_assign(&mut self, other: &Self) {
                *self = self.wrapping_sub(*other);
            }

            fn cmp_sum(&self, plus: &Self, other: &Self) -> Option<Ordering> {
                Some(self.checked_add(*plus)?.cmp(other))
            }

            fn cmp_to(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
        }
    };
}

machine_nat!(u64);
machine_nat!(u128);

/// A nonnegative integer of up to 40 × 32 bits on the stack, enough for every scaled value of
/// the shortest-digits search on f64 (at most about 1140 bits).
#[derive(Clone, Copy)]
struct Big {
    limbs: [u32; 40],
    len: usize,
}

impl Big {
    fn trim(&mut self) {
        while self.len > 0 && self.limbs[self.len - 1] == 0 {
            self.len -= 1;
        }
    }
}

impl Nat for Big {
    fn of(v: u64) -> Big {
        let mut b = Big {
            limbs: [0; 40],
            len: 2,
        };
        b.limbs[0] = v as u32;
        b.limbs[1] = (v >> 32) as u32;
        b.trim();
        b
    }

    /// A carry past the capacity is dropped: it cannot occur for the values used here, and
    /// dropping it keeps the code free of panics.
    fn mul_small(&mut self, m: u32) -> Option<()> {
        let mut carry: u64 = 0;
        for limb in &mut self.limbs[..self.len] {
            let x = u64::from(*limb) * u64::from(m) + carry;
            *limb = x as u32;
            carry = x >> 32;
        }
        if carry > 0 && self.len < self.limbs.len() {
            self.limbs[self.len] = carry as u32;
            self.len += 1;
        }
        Some(())
    }

    fn shl(&mut self, k: u32) -> Option<()> {
        let (words, bits) = ((k / 32) as usize, k % 32);
        if self.len == 0 {
            return Some(());
        }
        let mut out = [0u32; 40];
        for i in 0..self.len {
            let x = u64::from(self.limbs[i]) << bits;
            if let Some(slot) = out.get_mut(i + words) {
                *slot |= x as u32;
            }
            if let Some(slot) = out.get_mut(i + words + 1) {
                *slot |= (x >> 32) as u32;
            }
        }
        self.limbs = out;
        self.len = (self.len + words + 1).min(self.limbs.len());
        self.trim();
        Some(())
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.len {
            let x = i64::from(self.limbs[i]) - i64::from(other.limbs[i]) - borrow;
            self.limbs[i] = x as u32;
            borrow = i64::from(x < 0);
        }
        self.trim();
    }

    fn cmp_sum(&self, plus: &Big, other: &Big) -> Option<Ordering> {
        let mut sum = Big {
            limbs: [0; 40],
            len: self.len.max(plus.len),
        };
        let mut carry = 0u64;
        for i in 0..sum.len {
            let x = u64::from(self.limbs[i]) + u64::from(plus.limbs[i]) + carry;
            sum.limbs[i] = x as u32;
            carry = x >> 32;
        }
        if carry > 0 && sum.len < sum.limbs.len() {
            sum.limbs[sum.len] = carry as u32;
            sum.len += 1;
        }
        Some(sum.cmp_to(other))
    }

    fn cmp_to(&self, other: &Big) -> Ordering {
        self.len.cmp(&other.len).then_with(|| {
            for i in (0..self.len).rev() {
                match self.limbs[i].cmp(&other.limbs[i]) {
                    Ordering::Equal => continue,
                    o => return o,
                }
            }
            Ordering::Equal
        })
    }
}

/// The decimal digits PostgreSQL (12+, `extra_float_digits` > 0) prints for the finite, positive
/// value `f × 2^e`, where `f` has at most `prec` bits and `e >= min_e`: its Ryu build without
/// `STRICTLY_SHORTEST`, which looks for the fewest digits strictly inside the rounding interval
/// (the interval's ends excluded even when the significand is even, unlike most shortest
/// printers), takes the candidate closest to the value, and breaks an exact tie towards the
/// even digit.
///
/// Computed exactly with the free-format algorithm of Steele & White and Burger & Dybvig, in
/// `u64` or `u128` when the scaled values fit (every operation is checked; an overflow moves
/// the search to the next width) and in a stack bignum otherwise. Returns the digits (at
/// most 17) and the decimal exponent of the first one.
fn shortest_digits(f: u64, e: i32, prec: u32, min_e: i32) -> ([u8; 17], usize, i32) {
    shortest_in::<u64>(f, e, prec, min_e)
        .or_else(|| shortest_in::<u128>(f, e, prec, min_e))
        .or_else(|| shortest_in::<Big>(f, e, prec, min_e))
        .unwrap_or(([0; 17], 1, 0))
}

fn shortest_in<N: Nat>(f: u64, e: i32, prec: u32, min_e: i32) -> Option<([u8; 17], usize, i32)> {
    use Ordering::{Equal, Greater, Less};
    // Scaled so that v = r/s, high half-gap = m_plus/s, low half-gap = m_minus/s. At a power of
    // two (except the smallest exponent) the gap below is half the gap above.
    let shift = u32::from(f == 1u64 << (prec - 1) && e > min_e);
    let (mut r, mut s, mut m_plus, mut m_minus);
    if e >= 0 {
        let e = e as u32;
        r = N::of(f);
        r.shl(e + 1 + shift)?;
        s = N::of(2 << shift);
        m_plus = N::of(1);
        m_plus.shl(e + shift)?;
        m_minus = N::of(1);
        m_minus.shl(e)?;
    } else {
        r = N::of(f << (1 + shift));
        s = N::of(1);
        s.shl(e.unsigned_abs() + 1 + shift)?;
        m_plus = N::of(1 << shift);
        m_minus = N::of(1);
    }
    // Estimate k, the power of ten just above the high end of the interval: the value has bit
    // length bits(f) + e, so log10 is within about one of (bits - 1) * log10(2).
    let bits = 64 - f.leading_zeros() as i32 + e;
    let mut k = (f64::from(bits - 1) * core::f64::consts::LOG10_2).ceil() as i32;
    if k >= 0 {
        s.mul_pow10(k as u32)?;
    } else {
        let p = k.unsigned_abs();
        r.mul_pow10(p)?;
        m_plus.mul_pow10(p)?;
        m_minus.mul_pow10(p)?;
    }
    // Fix the estimate: we need high = (r + m_plus)/s <= 1 and high > 1/10.
    while r.cmp_sum(&m_plus, &s)? == Greater {
        s.mul_small(10)?;
        k += 1;
    }
    loop {
        let mut r10 = r;
        let mut m10 = m_plus;
        r10.mul_small(10)?;
        m10.mul_small(10)?;
        if r10.cmp_sum(&m10, &s)? == Greater {
            break;
        }
        r = r10;
        m_plus = m10;
        m_minus.mul_small(10)?;
        k -= 1;
    }
    let mut digits = [0u8; 17];
    let mut n = 0;
    loop {
        r.mul_small(10)?;
        m_plus.mul_small(10)?;
        m_minus.mul_small(10)?;
        let mut d = 0u8;
        while r.cmp_to(&s) != Less && d < 9 {
            r.sub_assign(&s);
            d += 1;
        }
        let low_ok = r.cmp_to(&m_minus) == Less;
        let high_ok = r.cmp_sum(&m_plus, &s)? == Greater;
        let last = match (low_ok, high_ok) {
            (false, false) if n + 1 < digits.len() => {
                digits[n] = d;
                n += 1;
                continue;
            }
            (false, false) | (true, false) => d,
            (false, true) => d + 1,
            (true, true) => match r.cmp_sum(&r, &s)? {
                Less => d,
                Greater => d + 1,
                Equal => d + (d & 1),
            },
        };
        digits[n] = last;
        n += 1;
        break;
    }
    // A round-up cannot make a 10 (the interval would have held a shorter number); carry anyway
    // rather than print a bad digit.
    let mut i = n;
    while i > 0 && digits[i - 1] == 10 {
        digits[i - 1] = 0;
        if i == 1 {
            digits[0] = 1;
            k += 1;
        } else {
            digits[i - 2] += 1;
        }
        i -= 1;
    }
    while n > 1 && digits[n - 1] == 0 {
        n -= 1;
    }
    Some((digits, n, k - 1))
}

/// Lays out PostgreSQL's float text from the shortest digits (values 0..=9) and the decimal
/// exponent `exp` of the first, as its Ryu `to_chars` does:
///
/// * `-4 <= exp <= max_fixed_exp` (14 for float8, 5 for float4): plain notation, `0.0001`,
///   `100000000000000`, `123.45`;
/// * otherwise `d.ddde+XX`, the exponent signed and at least two digits (`1e+15`, `1e-05`,
///   `1.5e+300`).
fn layout_float(neg: bool, digits: &[u8], exp: i32, max_fixed_exp: i32) -> StackBuf<FLOAT_BUF> {
    let mut b = StackBuf::<FLOAT_BUF>::new();
    let put_digits = |b: &mut StackBuf<FLOAT_BUF>, ds: &[u8]| {
        for &d in ds {
            b.push(b'0' + d);
        }
    };
    if neg {
        b.push(b'-');
    }
    if (-4..=max_fixed_exp).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                put_digits(&mut b, digits);
                for _ in digits.len()..int_len {
                    b.push(b'0');
                }
            } else {
                put_digits(&mut b, &digits[..int_len]);
                b.push(b'.');
                put_digits(&mut b, &digits[int_len..]);
            }
        } else {
            b.extend(b"0.");
            for _ in 0..(-exp - 1) {
                b.push(b'0');
            }
            put_digits(&mut b, digits);
        }
    } else {
        put_digits(&mut b, &digits[..1]);
        if digits.len() > 1 {
            b.push(b'.');
            put_digits(&mut b, &digits[1..]);
        }
        b.push(b'e');
        b.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e >= 100 {
            b.push(b'0' + (e / 100) as u8);
        }
        b.push(b'0' + (e / 10 % 10) as u8);
        b.push(b'0' + (e % 10) as u8);
    }
    b
}

/// Appends PostgreSQL's text form of a float8: `NaN` (whatever its sign), `Infinity`,
/// `-Infinity`, `0`, `-0`, or the shortest digits ([`shortest_digits`]) laid out by
/// [`layout_float`] with plain notation for decimal exponents -4 to 14.
pub(crate) fn put_f64(out: &mut BytesMut, v: f64) {
    out.extend_from_slice(f64_text(v).as_bytes());
}

/// PostgreSQL's float8 text for `v`.
fn f64_text(v: f64) -> StackBuf<FLOAT_BUF> {
    if let Some(s) = special_name(v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative()) {
        let mut b = StackBuf::new();
        b.extend(s);
        return b;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7FF) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (f, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, biased - 1075)
    };
    let (digits, n, exp) = shortest_digits(f, e, 53, -1074);
    layout_float(v.is_sign_negative(), &digits[..n], exp, 14)
}

/// Appends PostgreSQL's text form of a float4: as [`put_f64`], with float4's shortest digits
/// and plain notation for decimal exponents -4 to 5.
pub(crate) fn put_f32(out: &mut BytesMut, v: f32) {
    if let Some(s) = special_name(v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative()) {
        out.extend_from_slice(s);
        return;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 23) & 0xFF) as i32;
    let frac = u64::from(bits & ((1 << 23) - 1));
    let (f, e) = if biased == 0 {
        (frac, -149)
    } else {
        (frac | 1 << 23, biased - 150)
    };
    let (digits, n, exp) = shortest_digits(f, e, 24, -149);
    out.extend_from_slice(layout_float(v.is_sign_negative(), &digits[..n], exp, 5).as_bytes());
}

fn special_name(nan: bool, inf: bool, zero: bool, neg: bool) -> Option<&'static [u8]> {
    match (nan, inf, zero, neg) {
        (true, ..) => Some(b"NaN"),
        (_, true, _, false) => Some(b"Infinity"),
        (_, true, _, true) => Some(b"-Infinity"),
        (_, _, true, false) => Some(b"0"),
        (_, _, true, true) => Some(b"-0"),
        _ => None,
    }
}

// ----------------------------------------------------------------------------------------------
// float4, float8: input

/// The two float widths, for the shared parser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    F32,
    F64,
}

impl Width {
    /// (significand bits, minimum normal exponent, maximum exponent)
    fn params(self) -> (i64, i64, i64) {
        match self {
            Width::F32 => (24, -126, 127),
            Width::F64 => (53, -1022, 1023),
        }
    }
}

/// What the float parser found.
enum Parsed {
    Value(f64),
    /// A finite input whose value is too large, or nonzero and too small, for the type.
    OutOfRange,
    Invalid,
}

/// PostgreSQL's `float4in`/`float8in` on glibc: leading whitespace, then the longest prefix
/// that `strtof`/`strtod` convert (decimal with an optional exponent, `inf`, `infinity`, `nan`,
/// `nan(chars)`, C99 hex floats `0x1.8p3`; each with an optional sign and in any case), then
/// only whitespace. If that prefix overflows, or underflows to zero although it is not zero,
/// the input is out of range even when junk follows (PostgreSQL checks the range first); a
/// value that rounds to a subnormal is accepted. Values are correctly rounded (half to even).
fn parse_float(raw: &[u8], width: Width) -> Parsed {
    let start = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
    let s = &raw[start..];
    let Some((parsed, len)) = strtod_prefix(s, width) else {
        return Parsed::Invalid;
    };
    match parsed {
        Parsed::Value(_) if !s[len..].iter().all(|&b| is_space(b)) => Parsed::Invalid,
        p => p,
    }
}

/// What `strtod` (or `strtof`) converts at the start of `s`, and how many bytes it reads; `None`
/// when it reads nothing.
fn strtod_prefix(s: &[u8], width: Width) -> Option<(Parsed, usize)> {
    let starts_ci = |at: usize, word: &[u8]| {
        s.len() >= at + word.len() && s[at..at + word.len()].eq_ignore_ascii_case(word)
    };
    let digits_from = |mut i: usize, hex: bool| {
        while i < s.len()
            && (if hex {
                s[i].is_ascii_hexdigit()
            } else {
                s[i].is_ascii_digit()
            })
        {
            i += 1;
        }
        i
    };
    let (neg, body) = match s.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let signed = |v: f64| if neg { -v } else { v };
    if starts_ci(body, b"infinity") {
        return Some((Parsed::Value(signed(f64::INFINITY)), body + 8));
    }
    if starts_ci(body, b"inf") {
        return Some((Parsed::Value(signed(f64::INFINITY)), body + 3));
    }
    if starts_ci(body, b"nan") {
        let mut end = body + 3;
        if s.get(end) == Some(&b'(') {
            let mut j = end + 1;
            while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                j += 1;
            }
            if s.get(j) == Some(&b')') {
                end = j + 1;
            }
        }
        return Some((Parsed::Value(f64::NAN), end));
    }
    // A hex float needs a hex digit after `0x`, possibly after the point; otherwise strtod
    // reads just the `0`.
    if s.get(body) == Some(&b'0') && matches!(s.get(body + 1), Some(b'x' | b'X')) {
        let m = body + 2;
        let int_end = digits_from(m, true);
        let (frac_start, frac_end) = if s.get(int_end) == Some(&b'.') {
            (int_end + 1, digits_from(int_end + 1, true))
        } else {
            (int_end, int_end)
        };
        if int_end > m || frac_end > frac_start {
            let mut end = frac_end;
            let mut exp = None;
            if matches!(s.get(end), Some(b'p' | b'P')) {
                let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
                let exp_end = digits_from(end + 1 + sign, false);
                if exp_end > end + 1 + sign {
                    exp = Some((s.get(end + 1) == Some(&b'-'), &s[end + 1 + sign..exp_end]));
                    end = exp_end;
                }
            }
            let parsed = hex_float(&s[m..int_end], &s[frac_start..frac_end], exp, width, neg);
            return Some((parsed, end));
        }
    }
    let int_end = digits_from(body, false);
    let (frac_start, frac_end) = if s.get(int_end) == Some(&b'.') {
        (int_end + 1, digits_from(int_end + 1, false))
    } else {
        (int_end, int_end)
    };
    if int_end == body && frac_end == frac_start {
        return None;
    }
    let mut end = frac_end;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits_from(end + 1 + sign, false);
        if exp_end > end + 1 + sign {
            end = exp_end;
        }
    }
    let nonzero = s[body..int_end]
        .iter()
        .chain(&s[frac_start..frac_end])
        .any(|&b| b != b'0');
    // The prefix is ASCII by construction; Rust's parser is correctly rounded, like glibc's.
    let text = core::str::from_utf8(&s[body..end]).ok()?;
    let value = match width {
        Width::F64 => text.parse::<f64>().ok()?,
        Width::F32 => f64::from(text.parse::<f32>().ok()?),
    };
    let parsed = if value.is_infinite() || (value == 0.0 && nonzero) {
        Parsed::OutOfRange
    } else {
        Parsed::Value(signed(value))
    };
    Some((parsed, end))
}

/// The value of a C99 hex float with these integer and fraction hex digits and optional binary
/// exponent (negative?, decimal digits), correctly rounded to `width`.
fn hex_float(
    int: &[u8],
    frac: &[u8],
    exp: Option<(bool, &[u8])>,
    width: Width,
    neg: bool,
) -> Parsed {
    let hex = |b: u8| (b as char).to_digit(16).map_or(0, u64::from);
    let mut mant: u64 = 0;
    // value = (mant + sticky fraction) * 2^exp2
    let mut exp2: i64 = 0;
    let mut sticky = false;
    for (k, &c) in int.iter().chain(frac).enumerate() {
        let d = hex(c);
        let fractional = k >= int.len();
        if mant >> 60 == 0 {
            mant = mant * 16 + d;
            if fractional {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !fractional {
                exp2 += 4;
            }
        }
    }
    if let Some((exp_neg, digits)) = exp {
        let mut e: i64 = 0;
        for &c in digits {
            // Saturate: anything this large overflows or underflows every float type.
            e = (e * 10 + i64::from(c - b'0')).min(1 << 40);
        }
        exp2 += if exp_neg { -e } else { e };
    }
    let signed = |v: f64| if neg { -v } else { v };
    if mant == 0 {
        return Parsed::Value(signed(0.0));
    }
    let (prec, emin, emax) = width.params();
    // Exponent of the leading bit.
    let top = 63 - i64::from(mant.leading_zeros());
    let lead = top + exp2;
    if lead > emax {
        return Parsed::OutOfRange;
    }
    // Bits to keep: the full precision for a normal result, fewer for a subnormal.
    let keep = if lead >= emin {
        prec
    } else {
        prec - (emin - lead)
    };
    if keep < 0 {
        return Parsed::OutOfRange;
    }
    let drop = top + 1 - keep;
    let (mut m, mut e) = if drop <= 0 {
        (mant << (-drop) as u32, exp2 + drop)
    } else {
        let d = drop as u32;
        let kept = if d >= 64 { 0 } else { mant >> d };
        let rem = if d >= 64 {
            mant
        } else {
            mant & ((1u64 << d) - 1)
        };
        let round_up = if d >= 65 {
            false
        } else {
            let half = 1u64 << (d - 1);
            rem > half || (rem == half && (sticky || kept & 1 == 1))
        };
        (kept + u64::from(round_up), exp2 + drop)
    };
    if m == 0 {
        return Parsed::OutOfRange;
    }
    // Rounding may carry into a new leading bit.
    if m >> prec != 0 {
        m >>= 1;
        e += 1;
    }
    if 63 - i64::from(m.leading_zeros()) + e > emax {
        return Parsed::OutOfRange;
    }
    // m < 2^53 and m * 2^e is representable, so both steps are exact.
    Parsed::Value(signed(m as f64 * pow2(e)))
}

/// 2^e as an f64, for -1074 <= e <= 1023.
fn pow2(e: i64) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074).clamp(0, 51))
    }
}

/// Reads float text of type `ty` (float4 or float8).
fn decode_float_text(ty: u32, raw: &[u8]) -> Result<f64, ValueError> {
    let width = if ty == oid::FLOAT4 {
        Width::F32
    } else {
        Width::F64
    };
    let type_name = sql_name(ty);
    match parse_float(raw, width) {
        Parsed::Value(v) => Ok(match width {
            Width::F32 => f64::from(v as f32),
            Width::F64 => v,
        }),
        Parsed::OutOfRange => Err(ValueError::OutOfRange { type_name }),
        Parsed::Invalid => Err(ValueError::text(type_name, raw)),
    }
}

/// `float8 -> float4` as PostgreSQL casts it: overflow to infinity and underflow of a nonzero
/// value to zero are errors.
fn narrow_f64(v: f64) -> Result<f32, ValueError> {
    let r = v as f32;
    if (r.is_infinite() && !v.is_infinite()) || (r == 0.0 && v != 0.0) {
        return Err(ValueError::OutOfRange { type_name: "real" });
    }
    Ok(r)
}

impl Encode for f64 {
    const TYPE: u32 = oid::FLOAT8;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        put_f64(out, *self);
        Ok(())
    }

    /// As float8, or as float4 (rounded, failing where PostgreSQL's cast would).
    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match target(ty, oid::FLOAT8) {
            oid::FLOAT8 => out.put_f64(*self),
            oid::FLOAT4 => out.put_f32(narrow_f64(*self)?),
            ty => return Err(ValueError::WrongType { ty, rust: "f64" }),
        }
        Ok(())
    }
}

impl Decode<'_> for f64 {
    fn accepts(ty: u32) -> bool {
        matches!(ty, oid::FLOAT4 | oid::FLOAT8)
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "f64")?;
        decode_float_text(ty, raw)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "f64")?;
        Ok(if ty == oid::FLOAT4 {
            f64::from(f32::from_be_bytes(fixed(raw, ty)?))
        } else {
            f64::from_be_bytes(fixed(raw, ty)?)
        })
    }
}

impl Encode for f32 {
    const TYPE: u32 = oid::FLOAT4;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        put_f32(out, *self);
        Ok(())
    }

    /// As float4, or widened to float8.
    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match target(ty, oid::FLOAT4) {
            oid::FLOAT4 => out.put_f32(*self),
            oid::FLOAT8 => out.put_f64(f64::from(*self)),
            ty => return Err(ValueError::WrongType { ty, rust: "f32" }),
        }
        Ok(())
    }
}

impl Decode<'_> for f32 {
    fn accepts(ty: u32) -> bool {
        ty == oid::FLOAT4
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "f32")?;
        // A float4 parse yields an f32 value exactly, so this narrowing is exact.
        Ok(decode_float_text(ty, raw)? as f32)
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "f32")?;
        Ok(f32::from_be_bytes(fixed(raw, ty)?))
    }
}

// ----------------------------------------------------------------------------------------------
// "char"

impl PgChar {
    /// `charin`: see [`PgChar`].
    fn parse(raw: &[u8]) -> PgChar {
        let octal = |b: u8| (b'0'..=b'7').contains(&b).then(|| u32::from(b - b'0'));
        if let [b'\\', a, b, c] = *raw
            && let (Some(a), Some(b), Some(c)) = (octal(a), octal(b), octal(c))
        {
            return PgChar(((a << 6) + (b << 3) + c) as u8);
        }
        PgChar(raw.first().copied().unwrap_or(0))
    }
}

impl From<u8> for PgChar {
    fn from(b: u8) -> Self {
        PgChar(b)
    }
}

impl From<PgChar> for u8 {
    fn from(c: PgChar) -> Self {
        c.0
    }
}

impl Encode for PgChar {
    const TYPE: u32 = oid::CHAR;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        let b = self.0;
        if b >= 0x80 {
            out.extend_from_slice(&[
                b'\\',
                b'0' + (b >> 6),
                b'0' + ((b >> 3) & 7),
                b'0' + (b & 7),
            ]);
        } else if b != 0 {
            out.put_u8(b);
        }
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        match target(ty, oid::CHAR) {
            oid::CHAR => {
                out.put_u8(self.0);
                Ok(())
            }
            ty => Err(ValueError::WrongType { ty, rust: "PgChar" }),
        }
    }
}

impl Decode<'_> for PgChar {
    fn accepts(ty: u32) -> bool {
        ty == oid::CHAR
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "PgChar")?;
        Ok(PgChar::parse(raw))
    }

    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        expect(Self::accepts(ty), ty, "PgChar")?;
        let [b] = fixed::<1>(raw, ty)?;
        Ok(PgChar(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits_match_the_standard_library() {
        let mut x = 1u64;
        let mut values = vec![
            0,
            1,
            9,
            10,
            11,
            99,
            100,
            101,
            999,
            1000,
            u64::MAX,
            u64::MAX - 1,
        ];
        values.extend((0..20).map(|p| 10u64.pow(p)));
        values.extend((1..20).map(|p| 10u64.pow(p) - 1));
        for _ in 0..10_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            values.push(x >> (x % 64));
        }
        for v in values {
            let mut buf = [0u8; 20];
            let start = decimal(&mut buf, v);
            assert_eq!(&buf[start..], v.to_string().as_bytes());
            if v < 100 {
                assert_eq!(
                    digit_pair(v),
                    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
                );
            }
        }
    }

    /// The narrow widths give the bignum's answer whenever they give one (they are the same
    /// exact algorithm; only overflow, which they report, may stop them).
    #[test]
    fn every_width_agrees_with_the_bignum() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut narrow64, mut narrow128) = (0, 0);
        for i in 0..200_000 {
            let bits = next();
            // Half random bit patterns, half everyday magnitudes.
            let v = if i % 2 == 0 {
                f64::from_bits(bits)
            } else {
                (bits % 10_000_000) as f64 / [1.0, 10.0, 1e3, 1e6][(bits >> 60) as usize % 4]
            };
            if !v.is_finite() || v == 0.0 {
                continue;
            }
            let (f, e) = {
                let b = v.abs().to_bits();
                let exp = (b >> 52) as i32;
                let frac = b & ((1 << 52) - 1);
                if exp == 0 {
                    (frac, -1074)
                } else {
                    (frac | 1 << 52, exp - 1075)
                }
            };
            let big = shortest_in::<Big>(f, e, 53, -1074).unwrap();
            if let Some(d) = shortest_in::<u64>(f, e, 53, -1074) {
                assert_eq!(d, big, "u64 for {v:e}");
                narrow64 += 1;
            }
            if let Some(d) = shortest_in::<u128>(f, e, 53, -1074) {
                assert_eq!(d, big, "u128 for {v:e}");
                narrow128 += 1;
            }
        }
        // The fast widths are actually taken for everyday values.
        assert!(narrow64 > 50_000, "u64 used {narrow64} times");
        assert!(narrow128 > narrow64, "u128 used {narrow128} times");
    }

    #[test]
    fn hex_float_rounding() {
        let v = |s: &str| match parse_float(s.as_bytes(), Width::F64) {
            Parsed::Value(v) => Some(v),
            _ => None,
        };
        assert_eq!(v("0x1p-2"), Some(0.25));
        assert_eq!(v("0x10"), Some(16.0));
        assert_eq!(v("0x.8"), Some(0.5));
        assert_eq!(v("0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(v("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(v("0x1.8p-1075"), Some(f64::from_bits(1)));
        assert!(matches!(
            parse_float(b"0x1p-1075", Width::F64),
            Parsed::OutOfRange
        ));
        assert!(matches!(
            parse_float(b"0x1p1024", Width::F64),
            Parsed::OutOfRange
        ));
        assert_eq!(v("0x1.fffffffffffffp1023"), Some(f64::MAX));
    }
}
