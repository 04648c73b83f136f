//! numeric.
//!
//! [`Numeric`] holds a value the way PostgreSQL stores it: a sign, base-10000 digits, the weight
//! of the first digit (the power of 10000 it stands for), and a display scale, the number of
//! decimal digits after the point that text output shows. Every value is kept normalized as
//! PostgreSQL's `make_result` leaves it: no leading or trailing zero digits, zero with weight 0
//! and a positive sign, and no digit beyond the display scale. Conversions are exact: no
//! floating point is involved anywhere.

use core::fmt;
use core::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::oid;
use super::primitive::is_space;
use super::{Decode, Encode, Session, ValueError};

/// Base of a numeric digit.
const NBASE: u32 = 10000;
/// Decimal digits in a numeric digit.
const DEC_DIGITS: i64 = 4;
/// The largest display scale the storage format holds (`NUMERIC_DSCALE_MASK`).
const DSCALE_MAX: i64 = 0x3FFF;
/// The sign words of the binary form.
const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;
/// The display scale `numeric_send` writes for the infinities: it reads the special header as a
/// short-format one, whose scale bits (0x1F80) hold 0x20 for 0xD000 and 0xF000.
const INF_SEND_DSCALE: u16 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Pos,
    Neg,
    NaN,
    PosInf,
    NegInf,
}

/// A `numeric` value: arbitrary precision decimal, NaN, or ±Infinity (PostgreSQL 14+).
///
/// Text output is PostgreSQL's `numeric_out`: plain notation with exactly the display scale's
/// digits after the point (`1.50`, `0.000`, `-0.5`, `1500` for `1.5e3`), `NaN`, `Infinity`,
/// `-Infinity`. Text input is PostgreSQL 16+'s `numeric_in`: whitespace; an optional sign;
/// digits with an optional point (`.5`, `5.`), single `_` between digits, and an optional
/// exponent (`1.5e3`, `1E-2`); or an integer with a `0x`, `0o` or `0b` prefix; or `NaN`
/// (unsigned), `Infinity` or `inf` (signed), in any case; then whitespace. A value whose weight
/// or display scale do not fit the storage format (beyond about 10^131071, or more than 16383
/// digits after the point) is [`ValueError::OutOfRange`], as PostgreSQL's "value overflows
/// numeric format".
///
/// Equality compares the stored form: `1.5` and `1.50` differ (their display scales do), as do
/// their text forms.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Numeric {
    kind: Kind,
    weight: i16,
    dscale: u16,
    digits: Vec<i16>,
}

impl Numeric {
    /// Zero, with display scale 0.
    pub const ZERO: Numeric = Numeric::special(Kind::Pos);
    /// NaN.
    pub const NAN: Numeric = Numeric::special(Kind::NaN);
    /// Infinity.
    pub const INFINITY: Numeric = Numeric::special(Kind::PosInf);
    /// -Infinity.
    pub const NEG_INFINITY: Numeric = Numeric::special(Kind::NegInf);

    const fn special(kind: Kind) -> Numeric {
        Numeric {
            kind,
            weight: 0,
            dscale: 0,
            digits: Vec::new(),
        }
    }

    /// Whether this is NaN.
    pub fn is_nan(&self) -> bool {
        self.kind == Kind::NaN
    }

    /// Whether this is Infinity or -Infinity.
    pub fn is_infinite(&self) -> bool {
        matches!(self.kind, Kind::PosInf | Kind::NegInf)
    }

    /// Whether this is neither NaN nor infinite.
    pub fn is_finite(&self) -> bool {
        matches!(self.kind, Kind::Pos | Kind::Neg)
    }

    /// Whether this is less than zero (including -Infinity).
    pub fn is_negative(&self) -> bool {
        matches!(self.kind, Kind::Neg | Kind::NegInf)
    }

    /// Whether this is zero (at any display scale).
    pub fn is_zero(&self) -> bool {
        self.kind == Kind::Pos && self.digits.is_empty()
    }

    /// The display scale: how many digits text output shows after the point (0 for NaN and
    /// the infinities).
    pub fn scale(&self) -> u16 {
        self.dscale
    }

    /// The weight of the first base-10000 digit: the value is
    /// `digits[0] * 10000^weight + digits[1] * 10000^(weight-1) + ...` (0 when there are none).
    pub fn weight(&self) -> i16 {
        self.weight
    }

    /// The base-10000 digits (each 0..=9999), without leading or trailing zeros; empty for zero,
    /// NaN and the infinities.
    pub fn digits(&self) -> &[i16] {
        &self.digits
    }

    /// A finite value from the fields of the binary form, checked and normalized as
    /// PostgreSQL's `numeric_recv` does: digits must be 0..=9999 and the scale at most 16383
    /// ([`ValueError::InvalidBinary`]); digits the display scale would hide are dropped
    /// (truncated, not rounded), and leading and trailing zero digits removed.
    pub fn from_parts(
        negative: bool,
        weight: i16,
        scale: u16,
        digits: &[i16],
    ) -> Result<Numeric, ValueError> {
        if i64::from(scale) > DSCALE_MAX {
            return Err(invalid_binary(
                "invalid scale in external \"numeric\" value",
            ));
        }
        if digits.iter().any(|&d| !(0..NBASE as i16).contains(&d)) {
            return Err(invalid_binary(
                "invalid digit in external \"numeric\" value",
            ));
        }
        Ok(Self::truncated(
            negative,
            i64::from(weight),
            scale,
            digits.to_vec(),
        ))
    }

    /// `trunc_var` to `dscale`, then `strip_var`. The weight can only decrease, and a value
    /// with a digit left has weight >= -4096 (scale <= 16383), so the result fits.
    fn truncated(negative: bool, weight: i64, dscale: u16, mut digits: Vec<i16>) -> Numeric {
        // Decimal digits wanted.
        let di = (weight + 1) * DEC_DIGITS + i64::from(dscale);
        if di <= 0 {
            digits.clear();
        } else {
            let wanted = ((di + DEC_DIGITS - 1) / DEC_DIGITS) as usize;
            if wanted <= digits.len() {
                digits.truncate(wanted);
                let keep = di % DEC_DIGITS;
                if keep > 0
                    && let Some(last) = digits.last_mut()
                {
                    let pow10 = 10i16.pow((DEC_DIGITS - keep) as u32);
                    *last -= *last % pow10;
                }
            }
        }
        Self::stripped(negative, weight, dscale, digits)
    }

    /// `strip_var`: removes leading and trailing zero digits; zero gets weight 0 and a positive
    /// sign. The caller guarantees the resulting weight fits in an i16.
    fn stripped(negative: bool, mut weight: i64, dscale: u16, mut digits: Vec<i16>) -> Numeric {
        let lead = digits.iter().take_while(|&&d| d == 0).count();
        if lead == digits.len() {
            return Numeric {
                kind: Kind::Pos,
                weight: 0,
                dscale,
                digits: Vec::new(),
            };
        }
        digits.drain(..lead);
        weight -= lead as i64;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Numeric {
            kind: if negative { Kind::Neg } else { Kind::Pos },
            weight: weight as i16,
            dscale,
            digits,
        }
    }

    /// A finite value from decimal digits (each 0..=9) whose first digit stands for
    /// `10^dweight`, with display scale `dscale`: `set_var_from_str`'s conversion to base 10000,
    /// then `make_result`'s range checks. The caller guarantees no nonzero digit lies beyond
    /// the display scale.
    fn from_decimal(
        negative: bool,
        dec: &[u8],
        dweight: i64,
        dscale: i64,
    ) -> Result<Numeric, ValueError> {
        let overflow = ValueError::OutOfRange {
            type_name: "numeric",
        };
        if dscale > DSCALE_MAX {
            return Err(overflow);
        }
        // Skip leading zeros first, so a huge weight made only of zeros costs nothing.
        let lead = dec.iter().take_while(|&&d| d == 0).count();
        let dec = &dec[lead..];
        let dweight = dweight - lead as i64;
        let dec = &dec[..dec.len() - dec.iter().rev().take_while(|&&d| d == 0).count()];
        if dec.is_empty() {
            return Ok(Numeric {
                kind: Kind::Pos,
                weight: 0,
                dscale: dscale as u16,
                digits: Vec::new(),
            });
        }
        let weight = if dweight >= 0 {
            (dweight + DEC_DIGITS) / DEC_DIGITS - 1
        } else {
            -((-dweight - 1) / DEC_DIGITS + 1)
        };
        if weight > i64::from(i16::MAX) || weight < i64::from(i16::MIN) {
            return Err(overflow);
        }
        // Zeros to put before the first digit to align it within its base-10000 digit.
        let offset = (weight + 1) * DEC_DIGITS - (dweight + 1);
        let ndigits = (dec.len() as i64 + offset + DEC_DIGITS - 1) / DEC_DIGITS;
        let mut digits = Vec::with_capacity(ndigits as usize);
        for k in 0..ndigits {
            let mut d: i16 = 0;
            for j in 0..DEC_DIGITS {
                let pos = k * DEC_DIGITS + j - offset;
                let v = if pos >= 0 {
                    dec.get(pos as usize).copied().unwrap_or(0)
                } else {
                    0
                };
                d = d * 10 + i16::from(v);
            }
            digits.push(d);
        }
        Ok(Self::stripped(negative, weight, dscale as u16, digits))
    }

    /// `numeric_in`; see [`Numeric`].
    fn parse(raw: &[u8]) -> Result<Numeric, ValueError> {
        let invalid = || ValueError::text("numeric", raw);
        let overflow = || ValueError::OutOfRange {
            type_name: "numeric",
        };
        let starts_with_ci = |at: usize, word: &[u8]| {
            raw.len() >= at + word.len() && raw[at..at + word.len()].eq_ignore_ascii_case(word)
        };
        let only_space_from = |at: usize| raw[at.min(raw.len())..].iter().all(|&b| is_space(b));

        let mut i = raw.iter().position(|&b| !is_space(b)).unwrap_or(raw.len());
        let numstart = i;
        let mut negative = false;
        match raw.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                negative = true;
                i += 1;
            }
            _ => {}
        }
        if !raw.get(i).is_some_and(|&b| b.is_ascii_digit() || b == b'.') {
            // NaN (which takes no sign) or an infinity.
            let (value, end) = if starts_with_ci(numstart, b"nan") {
                (Numeric::NAN, numstart + 3)
            } else if starts_with_ci(i, b"infinity") {
                (Self::infinity(negative), i + 8)
            } else if starts_with_ci(i, b"inf") {
                (Self::infinity(negative), i + 3)
            } else {
                return Err(invalid());
            };
            return if only_space_from(end) {
                Ok(value)
            } else {
                Err(invalid())
            };
        }

        let base = match (raw.get(i), raw.get(i + 1).map(u8::to_ascii_lowercase)) {
            (Some(b'0'), Some(b'x')) => 16,
            (Some(b'0'), Some(b'o')) => 8,
            (Some(b'0'), Some(b'b')) => 2,
            _ => 10,
        };
        if base != 10 {
            let (value, end) = Self::parse_non_decimal(raw, i + 2, base, negative)?;
            return if only_space_from(end) {
                Ok(value)
            } else {
                Err(invalid())
            };
        }

        // set_var_from_str
        let mut have_dp = false;
        if raw[i] == b'.' {
            have_dp = true;
            i += 1;
        }
        if !raw.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(invalid());
        }
        let mut dec: Vec<u8> = Vec::with_capacity(raw.len() - i);
        let mut dweight: i64 = -1;
        let mut dscale: i64 = 0;
        while let Some(&c) = raw.get(i) {
            if c.is_ascii_digit() {
                dec.push(c - b'0');
                if have_dp {
                    dscale += 1;
                } else {
                    dweight += 1;
                }
                i += 1;
            } else if c == b'.' {
                if have_dp {
                    return Err(invalid());
                }
                have_dp = true;
                i += 1;
                if raw.get(i) == Some(&b'_') {
                    return Err(invalid());
                }
            } else if c == b'_' {
                i += 1;
                if !raw.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(invalid());
                }
            } else {
                break;
            }
        }
        if matches!(raw.get(i), Some(b'e' | b'E')) {
            i += 1;
            let mut exp_neg = false;
            match raw.get(i) {
                Some(b'+') => i += 1,
                Some(b'-') => {
                    exp_neg = true;
                    i += 1;
                }
                _ => {}
            }
            if !raw.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(invalid());
            }
            let mut exponent: i64 = 0;
            while let Some(&c) = raw.get(i) {
                if c.is_ascii_digit() {
                    exponent = exponent * 10 + i64::from(c - b'0');
                    // PG_INT32_MAX / 2, checked as each digit arrives.
                    if exponent > i64::from(i32::MAX / 2) {
                        return Err(overflow());
                    }
                    i += 1;
                } else if c == b'_' {
                    i += 1;
                    if !raw.get(i).is_some_and(u8::is_ascii_digit) {
                        return Err(invalid());
                    }
                } else {
                    break;
                }
            }
            if exp_neg {
                exponent = -exponent;
            }
            dweight += exponent;
            dscale = (dscale - exponent).max(0);
        }
        if !only_space_from(i) {
            return Err(invalid());
        }
        Self::from_decimal(negative, &dec, dweight, dscale)
    }

    fn infinity(negative: bool) -> Numeric {
        if negative {
            Numeric::NEG_INFINITY
        } else {
            Numeric::INFINITY
        }
    }

    /// `set_var_from_non_decimal_integer_str` from the first digit after the prefix: digits of
    /// `base` with single `_` before any digit. Returns the value and where parsing stopped.
    fn parse_non_decimal(
        raw: &[u8],
        mut i: usize,
        base: u32,
        negative: bool,
    ) -> Result<(Numeric, usize), ValueError> {
        let invalid = || ValueError::text("numeric", raw);
        let digit = |b: u8| (b as char).to_digit(16).filter(|&d| d < base);
        // Little-endian base-10000 limbs. Digits are gathered in groups that fit in a u64, as
        // PostgreSQL does, and the value is checked after each group: it only grows, so it
        // fails as soon as it passes the largest weight.
        let mut limbs: Vec<u32> = Vec::new();
        let mut tmp: u64 = 0;
        let mut mul: u64 = 1;
        let first = i;
        let flush = |limbs: &mut Vec<u32>, tmp: u64, mul: u64| -> Result<(), ValueError> {
            let mut carry = u128::from(tmp);
            for limb in limbs.iter_mut() {
                let x = u128::from(*limb) * u128::from(mul) + carry;
                *limb = (x % u128::from(NBASE)) as u32;
                carry = x / u128::from(NBASE);
            }
            while carry > 0 {
                limbs.push((carry % u128::from(NBASE)) as u32);
                carry /= u128::from(NBASE);
            }
            if limbs.len() > i16::MAX as usize + 1 {
                return Err(ValueError::OutOfRange {
                    type_name: "numeric",
                });
            }
            Ok(())
        };
        while let Some(&c) = raw.get(i) {
            if let Some(d) = digit(c) {
                if mul > (i64::MAX as u64) / u64::from(base) {
                    flush(&mut limbs, tmp, mul)?;
                    tmp = 0;
                    mul = 1;
                }
                tmp = tmp * u64::from(base) + u64::from(d);
                mul *= u64::from(base);
                i += 1;
            } else if c == b'_' {
                i += 1;
                if raw.get(i).is_none_or(|&b| digit(b).is_none()) {
                    return Err(invalid());
                }
            } else {
                break;
            }
        }
        if i == first {
            return Err(invalid());
        }
        flush(&mut limbs, tmp, mul)?;
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        let weight = limbs.len() as i64 - 1;
        let digits: Vec<i16> = limbs.iter().rev().map(|&l| l as i16).collect();
        Ok((Self::stripped(negative, weight, 0, digits), i))
    }

    /// `get_str_from_var` (or the special names), handed out in pieces.
    fn write_text(&self, emit: &mut dyn FnMut(&[u8])) {
        match self.kind {
            Kind::NaN => return emit(b"NaN"),
            Kind::PosInf => return emit(b"Infinity"),
            Kind::NegInf => return emit(b"-Infinity"),
            Kind::Neg => emit(b"-"),
            Kind::Pos => {}
        }
        let digit_at = |d: i64| -> u32 {
            if d >= 0 {
                self.digits.get(d as usize).map_or(0, |&v| v as u32)
            } else {
                0
            }
        };
        let group = |v: u32| -> [u8; 4] {
            [
                b'0' + (v / 1000 % 10) as u8,
                b'0' + (v / 100 % 10) as u8,
                b'0' + (v / 10 % 10) as u8,
                b'0' + (v % 10) as u8,
            ]
        };
        let weight = i64::from(self.weight);
        let mut d: i64;
        if weight < 0 {
            emit(b"0");
            d = weight + 1;
        } else {
            // The first digit without its leading zeros, the rest in full.
            let g = group(digit_at(0));
            let skip = g.iter().take(3).take_while(|&&c| c == b'0').count();
            emit(&g[skip..]);
            d = 1;
            while d <= weight {
                emit(&group(digit_at(d)));
                d += 1;
            }
        }
        let mut remaining = usize::from(self.dscale);
        if remaining > 0 {
            emit(b".");
            while remaining > 0 {
                let g = group(digit_at(d));
                let n = remaining.min(4);
                emit(&g[..n]);
                remaining -= n;
                d += 1;
            }
        }
    }

    /// The magnitude of the value's integer part, rounded half away from zero as PostgreSQL's
    /// casts to integer types round, if it fits in a u64.
    fn rounded_magnitude(&self) -> Option<u64> {
        if !self.is_finite() {
            return None;
        }
        let weight = i64::from(self.weight);
        let mut acc: u64 = 0;
        for d in 0..=weight {
            let v = self.digits.get(d as usize).map_or(0, |&v| v as u64);
            acc = acc.checked_mul(u64::from(NBASE))?.checked_add(v)?;
        }
        let first_frac = weight + 1;
        if first_frac >= 0
            && let Some(&v) = self.digits.get(first_frac as usize)
            && v >= 5000
        {
            acc = acc.checked_add(1)?;
        }
        Some(acc)
    }

    fn from_u64(negative: bool, mut v: u64) -> Numeric {
        let mut limbs = [0i16; 5];
        let mut n = 0;
        while v > 0 {
            limbs[n] = (v % u64::from(NBASE)) as i16;
            v /= u64::from(NBASE);
            n += 1;
        }
        let digits: Vec<i16> = limbs[..n].iter().rev().copied().collect();
        Self::stripped(negative, n as i64 - 1, 0, digits)
    }
}

fn invalid_binary(reason: &'static str) -> ValueError {
    ValueError::InvalidBinary {
        type_name: "numeric",
        reason,
    }
}

impl Default for Numeric {
    fn default() -> Self {
        Numeric::ZERO
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut result = Ok(());
        self.write_text(&mut |bytes| {
            if result.is_ok() {
                // Every piece is ASCII.
                result = match core::str::from_utf8(bytes) {
                    Ok(s) => f.write_str(s),
                    Err(_) => Err(fmt::Error),
                };
            }
        });
        result
    }
}

impl fmt::Debug for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numeric({self})")
    }
}

impl FromStr for Numeric {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Numeric, ValueError> {
        Numeric::parse(s.as_bytes())
    }
}

impl From<i64> for Numeric {
    fn from(v: i64) -> Self {
        Numeric::from_u64(v < 0, v.unsigned_abs())
    }
}

impl From<u64> for Numeric {
    fn from(v: u64) -> Self {
        Numeric::from_u64(false, v)
    }
}

impl From<i32> for Numeric {
    fn from(v: i32) -> Self {
        Numeric::from(i64::from(v))
    }
}

impl From<u32> for Numeric {
    fn from(v: u32) -> Self {
        Numeric::from(u64::from(v))
    }
}

/// As PostgreSQL's `numeric::int8` cast: rounds half away from zero (`2.5` is 3, `-2.5` is -3);
/// NaN, the infinities and values outside `i64` are [`ValueError::OutOfRange`].
impl TryFrom<&Numeric> for i64 {
    type Error = ValueError;

    fn try_from(n: &Numeric) -> Result<i64, ValueError> {
        let out_of_range = ValueError::OutOfRange {
            type_name: "bigint",
        };
        let m = n.rounded_magnitude().ok_or(out_of_range.clone())?;
        if n.is_negative() {
            if m > 1 << 63 {
                return Err(out_of_range);
            }
            Ok((m as i64).wrapping_neg())
        } else {
            i64::try_from(m).map_err(|_| out_of_range)
        }
    }
}

/// See `TryFrom<&Numeric>`.
impl TryFrom<Numeric> for i64 {
    type Error = ValueError;

    fn try_from(n: Numeric) -> Result<i64, ValueError> {
        i64::try_from(&n)
    }
}

impl Encode for Numeric {
    const TYPE: u32 = oid::NUMERIC;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        self.write_text(&mut |bytes| out.extend_from_slice(bytes));
        Ok(())
    }

    /// `numeric_send`, byte for byte (the infinities carry display scale 32, as PostgreSQL
    /// sends them).
    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        if ty != 0 && ty != oid::NUMERIC {
            return Err(ValueError::WrongType {
                ty,
                rust: "Numeric",
            });
        }
        let (sign, dscale) = match self.kind {
            Kind::Pos => (SIGN_POS, self.dscale),
            Kind::Neg => (SIGN_NEG, self.dscale),
            Kind::NaN => (SIGN_NAN, 0),
            Kind::PosInf => (SIGN_PINF, INF_SEND_DSCALE),
            Kind::NegInf => (SIGN_NINF, INF_SEND_DSCALE),
        };
        out.reserve(8 + 2 * self.digits.len());
        // At most 32768 + 4096 digits (weight <= 32767, scale <= 16383): fits the u16 count.
        out.put_u16(self.digits.len() as u16);
        out.put_i16(self.weight);
        out.put_u16(sign);
        out.put_u16(dscale);
        for &d in &self.digits {
            out.put_i16(d);
        }
        Ok(())
    }
}

impl Decode<'_> for Numeric {
    fn accepts(ty: u32) -> bool {
        ty == oid::NUMERIC
    }

    fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        if ty != oid::NUMERIC {
            return Err(ValueError::WrongType {
                ty,
                rust: "Numeric",
            });
        }
        Numeric::parse(raw)
    }

    /// `numeric_recv`: an invalid sign word, a scale above 16383 or a digit outside 0..=9999 is
    /// [`ValueError::InvalidBinary`]; a length that disagrees with the digit count is
    /// [`ValueError::BinaryLength`]. NaN and the infinities ignore the other fields.
    fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
        if ty != oid::NUMERIC {
            return Err(ValueError::WrongType {
                ty,
                rust: "Numeric",
            });
        }
        let bad_length = ValueError::BinaryLength {
            type_name: "numeric",
            len: raw.len(),
        };
        let word = |i: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*raw.get(2 * i)?, *raw.get(2 * i + 1)?]))
        };
        let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
            (word(0), word(1), word(2), word(3))
        else {
            return Err(bad_length);
        };
        if raw.len() != 8 + 2 * usize::from(ndigits) {
            return Err(bad_length);
        }
        let negative = match sign {
            SIGN_POS => false,
            SIGN_NEG => true,
            SIGN_NAN | SIGN_PINF | SIGN_NINF => false,
            _ => return Err(invalid_binary("invalid sign in external \"numeric\" value")),
        };
        if i64::from(dscale) > DSCALE_MAX {
            return Err(invalid_binary(
                "invalid scale in external \"numeric\" value",
            ));
        }
        let digits: Vec<i16> = raw[8..]
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect();
        if digits.iter().any(|&d| !(0..NBASE as i16).contains(&d)) {
            return Err(invalid_binary(
                "invalid digit in external \"numeric\" value",
            ));
        }
        Ok(match sign {
            SIGN_NAN => Numeric::NAN,
            SIGN_PINF => Numeric::INFINITY,
            SIGN_NINF => Numeric::NEG_INFINITY,
            _ => Numeric::truncated(negative, i64::from(weight as i16), dscale, digits),
        })
    }
}

#[cfg(feature = "rust_decimal")]
mod rust_decimal_impl {
    //! `rust_decimal::Decimal` (feature `rust_decimal`).

    use bytes::BytesMut;
    use rust_decimal::Decimal;

    use super::Numeric;
    use crate::types::{Decode, Encode, Session, ValueError, oid};

    /// Exact: the value and its scale (as the display scale).
    impl From<Decimal> for Numeric {
        fn from(d: Decimal) -> Self {
            let mut m = d.mantissa().unsigned_abs();
            let mut buf = [0u8; 40];
            let mut n = 0;
            while m > 0 {
                buf[n] = (m % 10) as u8;
                m /= 10;
                n += 1;
            }
            buf[..n].reverse();
            let scale = i64::from(d.scale());
            // A Decimal has at most 29 digits and scale 28: always in range.
            Numeric::from_decimal(d.is_sign_negative(), &buf[..n], n as i64 - 1 - scale, scale)
                .unwrap_or(Numeric::ZERO)
        }
    }

    /// Exact or an error: NaN, the infinities, values with a nonzero digit more than 28 places
    /// after the point, and values whose digits do not fit in 96 bits are
    /// [`ValueError::OutOfRange`]. The scale is the display scale, or less when only that
    /// fits (trailing zeros dropped).
    impl TryFrom<&Numeric> for Decimal {
        type Error = ValueError;

        fn try_from(n: &Numeric) -> Result<Decimal, ValueError> {
            let out_of_range = || ValueError::OutOfRange {
                type_name: "numeric",
            };
            if !n.is_finite() {
                return Err(out_of_range());
            }
            if n.is_zero() {
                return Ok(Decimal::new(0, u32::from(n.scale().min(28))));
            }
            // Decimal digits from 10^(4*(weight+1)-1) down; the fractional digits needed.
            let weight = i64::from(n.weight());
            let last_nonzero = {
                let last = *n.digits().last().ok_or_else(out_of_range)?;
                let mut trailing = 0;
                let mut v = last;
                while v % 10 == 0 && trailing < 3 {
                    v /= 10;
                    trailing += 1;
                }
                // Power of ten of the last nonzero decimal digit.
                (weight - (n.digits().len() as i64 - 1)) * 4 + trailing
            };
            let min_scale = (-last_nonzero).max(0);
            if min_scale > 28 {
                return Err(out_of_range());
            }
            let mantissa_at = |scale: i64| -> Option<u128> {
                let mut acc: u128 = 0;
                let top = weight * 4 + 3;
                let mut p = top;
                while p >= -scale {
                    let group = weight - p.div_euclid(4);
                    let within = p.rem_euclid(4);
                    let digit = if group >= 0 {
                        n.digits().get(group as usize).map_or(0, |&d| d as u32)
                    } else {
                        0
                    };
                    let dec = digit / 10u32.pow(within as u32) % 10;
                    acc = acc.checked_mul(10)?.checked_add(u128::from(dec))?;
                    if acc >= 1 << 96 {
                        return None;
                    }
                    p -= 1;
                }
                Some(acc)
            };
            let preferred = i64::from(n.scale()).min(28).max(min_scale);
            let (m, scale) = match mantissa_at(preferred) {
                Some(m) => (m, preferred),
                None => (mantissa_at(min_scale).ok_or_else(out_of_range)?, min_scale),
            };
            let signed = if n.is_negative() {
                -(m as i128)
            } else {
                m as i128
            };
            Decimal::try_from_i128_with_scale(signed, scale as u32).map_err(|_| out_of_range())
        }
    }

    /// See `TryFrom<&Numeric>`.
    impl TryFrom<Numeric> for Decimal {
        type Error = ValueError;

        fn try_from(n: Numeric) -> Result<Decimal, ValueError> {
            Decimal::try_from(&n)
        }
    }

    /// As [`Numeric`].
    impl Encode for Decimal {
        const TYPE: u32 = oid::NUMERIC;

        fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
            Numeric::from(*self).encode_text(session, out)
        }

        fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
            Numeric::from(*self).encode_binary(ty, out)
        }
    }

    /// As [`Numeric`], then converted exactly (see `TryFrom<&Numeric>`).
    impl Decode<'_> for Decimal {
        fn accepts(ty: u32) -> bool {
            ty == oid::NUMERIC
        }

        fn decode_text(session: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            Decimal::try_from(&<Numeric as Decode>::decode_text(session, ty, raw)?)
        }

        fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            Decimal::try_from(&<Numeric as Decode>::decode_binary(ty, raw)?)
        }
    }
}
