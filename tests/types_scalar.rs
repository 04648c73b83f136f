//! The scalar types: bool, int2/4/8, oid, float4/8, "char", text-like strings, bytea, numeric,
//! uuid, json and jsonb, in both formats.
//!
//! Every expected text and binary form in the tables below was produced by a real PostgreSQL
//! server (18.4, and 15.18 where the forms agree): text with `SELECT 'input'::type::text`, binary
//! with the type's send function (`float8send`, `numeric_send`, `uuid_send`, `charsend`,
//! `byteasend`, `jsonb_send`, ...), and `numeric_recv` behaviour through binary COPY. Input
//! rules follow PostgreSQL 16+ (15 rejects the `0x`/`_` integer forms accepted here).

use std::borrow::Cow;

use bytes::BytesMut;
use pgproto::message::Format;
use pgproto::types::{
    Bytea, Decode, Encode, Json, Jsonb, Numeric, PgChar, Session, Uuid, ValueError, decode, encode,
    oid,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn text<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = BytesMut::new();
    assert!(encode(v, T::TYPE, Format::Text, &Session::UTC, &mut out).unwrap());
    out.to_vec()
}

fn text_str<T: Encode + ?Sized>(v: &T) -> String {
    String::from_utf8(text(v)).unwrap()
}

fn binary<T: Encode + ?Sized>(v: &T, ty: u32) -> Result<Vec<u8>, ValueError> {
    let mut out = BytesMut::new();
    encode(v, ty, Format::Binary, &Session::UTC, &mut out)?;
    Ok(out.to_vec())
}

fn from_text<'a, T: Decode<'a>>(ty: u32, raw: &'a [u8]) -> Result<T, ValueError> {
    decode(Some(raw), ty, Format::Text, &Session::UTC)
}

fn from_binary<'a, T: Decode<'a>>(ty: u32, raw: &'a [u8]) -> Result<T, ValueError> {
    decode(Some(raw), ty, Format::Binary, &Session::UTC)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn invalid_text(type_name: &'static str, input: &str) -> ValueError {
    ValueError::InvalidText {
        type_name,
        input: input.to_owned(),
    }
}

fn out_of_range(type_name: &'static str) -> ValueError {
    ValueError::OutOfRange { type_name }
}

/// Text and binary round trips through `encode`/`decode`, as type `T::TYPE`.
fn round_trip<T>(v: T)
where
    T: Encode + for<'a> Decode<'a> + PartialEq + core::fmt::Debug,
{
    let t = text(&v);
    let back: T = from_text(T::TYPE, &t).unwrap();
    assert_eq!(back, v, "text {:?}", String::from_utf8_lossy(&t));
    let b = binary(&v, T::TYPE).unwrap();
    let back: T = from_binary(T::TYPE, &b).unwrap();
    assert_eq!(back, v, "binary {b:?}");
}

// ---------------------------------------------------------------------------------------------
// bool
// ---------------------------------------------------------------------------------------------

#[test]
fn bool_forms() {
    assert_eq!(text(&true), b"t");
    assert_eq!(text(&false), b"f");
    assert_eq!(binary(&true, oid::BOOL).unwrap(), [1]);
    assert_eq!(binary(&false, oid::BOOL).unwrap(), [0]);
    round_trip(true);
    round_trip(false);
    // boolrecv: any nonzero byte is true.
    assert!(from_binary::<bool>(oid::BOOL, &[2]).unwrap());
}

#[test]
fn bool_input() {
    // Checked against PostgreSQL's boolin.
    let accepted = [
        ("t", true),
        ("TRUE", true),
        (" yes ", true),
        ("y", true),
        ("ye", true),
        ("on", true),
        ("On", true),
        ("of", false),
        ("off", false),
        ("OFF", false),
        ("n", false),
        ("no", false),
        ("f", false),
        ("fa", false),
        ("fals", false),
        ("false", false),
        ("1", true),
        ("0", false),
        ("\u{b}1\u{c}", true),
        ("\tT", true),
    ];
    for (input, expected) in accepted {
        assert_eq!(
            from_text::<bool>(oid::BOOL, input.as_bytes()),
            Ok(expected),
            "{input:?}"
        );
    }
    for input in [
        "o", "falsee", "01", "tr ue", "", " ", "yess", "10", "x", "truex",
    ] {
        assert_eq!(
            from_text::<bool>(oid::BOOL, input.as_bytes()),
            Err(invalid_text("boolean", input)),
            "{input:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Integers and oid
// ---------------------------------------------------------------------------------------------

#[test]
fn int_forms() {
    assert_eq!(text(&0i16), b"0");
    assert_eq!(text(&i16::MIN), b"-32768");
    assert_eq!(text(&i32::MIN), b"-2147483648");
    assert_eq!(text(&i64::MIN), b"-9223372036854775808");
    assert_eq!(text(&i64::MAX), b"9223372036854775807");
    assert_eq!(text(&u32::MAX), b"4294967295");
    // int2send, int4send, int8send, oidsend.
    assert_eq!(binary(&-1i16, oid::INT2).unwrap(), hex("ffff"));
    assert_eq!(binary(&2147483647i32, oid::INT4).unwrap(), hex("7fffffff"));
    assert_eq!(
        binary(&-9223372036854775808i64, oid::INT8).unwrap(),
        hex("8000000000000000")
    );
    assert_eq!(binary(&4294967295u32, oid::OID).unwrap(), hex("ffffffff"));
    for v in [i16::MIN, -1, 0, 1, i16::MAX] {
        round_trip(v);
    }
    for v in [i32::MIN, -1, 0, 1, i32::MAX] {
        round_trip(v);
    }
    for v in [i64::MIN, -1, 0, 1, i64::MAX] {
        round_trip(v);
    }
    for v in [0u32, 1, u32::MAX] {
        round_trip(v);
    }
}

#[test]
fn int_input() {
    // Checked against PostgreSQL 18's int2in/int4in/int8in.
    let ok16: &[(&str, i16)] = &[
        (" 12 ", 12),
        ("+12", 12),
        ("-0", 0),
        ("00012", 12),
        ("-32768", -32768),
        ("32767", 32767),
        ("0x1F", 31),
        ("0X1f", 31),
        ("-0x8000", -32768),
        ("0x_1F", 31),
        ("0x1_F", 31),
        ("1_0", 10),
        ("0o17", 15),
        ("0b101", 5),
        ("0b_1", 1),
        ("\t+7\u{b}", 7),
    ];
    for &(input, expected) in ok16 {
        assert_eq!(
            from_text::<i16>(oid::INT2, input.as_bytes()),
            Ok(expected),
            "{input:?}"
        );
    }
    let bad16 = [
        "1__0", "_1", "1_", "0b", "0x", "", " ", "1 2", "1e2", "+-1", "- 1", "3277x", "32769x",
        "0x_",
    ];
    for input in bad16 {
        assert_eq!(
            from_text::<i16>(oid::INT2, input.as_bytes()),
            Err(invalid_text("smallint", input)),
            "{input:?}"
        );
    }
    // Overflow is reported as soon as a digit overflows, before any junk that follows.
    for input in ["32768", "-32769", "0x8000", "99999999999x", "327680x"] {
        assert_eq!(
            from_text::<i16>(oid::INT2, input.as_bytes()),
            Err(out_of_range("smallint")),
            "{input:?}"
        );
    }
    assert_eq!(from_text::<i32>(oid::INT4, b"-2147483648"), Ok(i32::MIN));
    assert_eq!(from_text::<i32>(oid::INT4, b"0x7FFFFFFF"), Ok(i32::MAX));
    assert_eq!(
        from_text::<i32>(oid::INT4, b"2147483648"),
        Err(out_of_range("integer"))
    );
    assert_eq!(
        from_text::<i32>(oid::INT4, b"0x80000000"),
        Err(out_of_range("integer"))
    );
    assert_eq!(from_text::<i32>(oid::INT4, b"1_000_000"), Ok(1_000_000));
    assert_eq!(
        from_text::<i64>(oid::INT8, b"-9223372036854775808"),
        Ok(i64::MIN)
    );
    assert_eq!(
        from_text::<i64>(oid::INT8, b"-0x8000000000000000"),
        Ok(i64::MIN)
    );
    assert_eq!(
        from_text::<i64>(oid::INT8, b"0o777777777777777777777"),
        Ok(i64::MAX)
    );
    assert_eq!(
        from_text::<i64>(oid::INT8, b"9223372036854775808"),
        Err(out_of_range("bigint"))
    );
    assert_eq!(
        from_text::<i64>(oid::INT8, b"0o1000000000000000000000"),
        Err(out_of_range("bigint"))
    );
}

#[test]
fn int_widening_and_narrowing() {
    // Reading widens: i64 reads int2 and int4 (text is read as the column's type).
    assert_eq!(from_binary::<i64>(oid::INT2, &hex("ffff")), Ok(-1));
    assert_eq!(
        from_binary::<i64>(oid::INT4, &hex("80000000")),
        Ok(i32::MIN.into())
    );
    assert_eq!(from_binary::<i32>(oid::INT2, &hex("7fff")), Ok(32767));
    assert_eq!(
        from_text::<i64>(oid::INT4, b"2147483648"),
        Err(out_of_range("integer"))
    );
    assert!(!<i16 as Decode>::accepts(oid::INT4));
    assert!(!<i32 as Decode>::accepts(oid::INT8));
    assert_eq!(
        from_binary::<i16>(oid::INT4, &hex("00000001")),
        Err(ValueError::WrongType {
            ty: oid::INT4,
            rust: "i16"
        })
    );
    // Writing as a narrower type checks the range; as a wider one widens.
    assert_eq!(binary(&5i64, oid::INT4).unwrap(), hex("00000005"));
    assert_eq!(binary(&70000i64, oid::INT2), Err(out_of_range("smallint")));
    assert_eq!(binary(&-1i16, oid::INT8).unwrap(), hex("ffffffffffffffff"));
    assert_eq!(
        binary(&1i32, oid::TEXT),
        Err(ValueError::WrongType {
            ty: oid::TEXT,
            rust: "i32"
        })
    );
}

#[test]
fn oid_input() {
    // PostgreSQL 16+'s oidin: C literals through strtoul(.., 0); negatives wrap.
    let ok: &[(&str, u32)] = &[
        ("0", 0),
        ("4294967295", 4294967295),
        (" -1 ", 4294967295),
        ("-2147483648", 2147483648),
        ("0x10", 16),
        ("+0x10", 16),
        ("-0x1", 4294967295),
        ("0xFFFFFFFF", 4294967295),
        ("010", 8),
        ("-0", 0),
    ];
    for &(input, expected) in ok {
        assert_eq!(
            from_text::<u32>(oid::OID, input.as_bytes()),
            Ok(expected),
            "{input:?}"
        );
    }
    for input in ["", " ", "09", "0x", "1_0", "0b1", "- 1", "1 2"] {
        assert_eq!(
            from_text::<u32>(oid::OID, input.as_bytes()),
            Err(invalid_text("oid", input)),
            "{input:?}"
        );
    }
    for input in [
        "4294967296",
        "-2147483649",
        "0x100000000",
        "99999999999999999999x",
    ] {
        assert_eq!(
            from_text::<u32>(oid::OID, input.as_bytes()),
            Err(out_of_range("oid")),
            "{input:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Floats
// ---------------------------------------------------------------------------------------------

/// (input, `input::float8::text`, `float8send(input)`), from PostgreSQL. Covers the switch
/// between plain and exponent notation (decimal exponents -4 and 14 are plain, -5 and 15 not),
/// shortest digits with the rounding interval's ends excluded (24072431845649528), ties to
/// even (181705388398854.62), subnormals and the extremes.
const FLOAT8: &[(&str, &str, &str)] = &[
    ("0", "0", "0000000000000000"),
    ("-0", "-0", "8000000000000000"),
    ("1", "1", "3ff0000000000000"),
    ("-1", "-1", "bff0000000000000"),
    ("0.1", "0.1", "3fb999999999999a"),
    ("0.3", "0.3", "3fd3333333333333"),
    ("100", "100", "4059000000000000"),
    ("1e14", "100000000000000", "42d6bcc41e900000"),
    ("99999999999999.98", "99999999999999.98", "42d6bcc41e8fffff"),
    ("999999999999999.9", "999999999999999.9", "430c6bf52633ffff"),
    ("1e15", "1e+15", "430c6bf526340000"),
    (
        "123456789012345678",
        "1.2345678901234568e+17",
        "437b69b4ba630f35",
    ),
    (
        "123456789012345.67",
        "123456789012345.67",
        "42dc12218377de6b",
    ),
    ("1e16", "1e+16", "4341c37937e08000"),
    (
        "9007199254740992",
        "9.007199254740992e+15",
        "4340000000000000",
    ),
    (
        "9007199254740993",
        "9.007199254740992e+15",
        "4340000000000000",
    ),
    (
        "9007199254740994",
        "9.007199254740994e+15",
        "4340000000000001",
    ),
    (
        "24072431845649528",
        "2.4072431845649528e+16",
        "4355616ff3428b1e",
    ),
    (
        "181705388398854.62",
        "181705388398854.62",
        "42e4a852a42320d4",
    ),
    ("1e20", "1e+20", "4415af1d78b58c40"),
    ("1e21", "1e+21", "444b1ae4d6e2ef50"),
    ("1e22", "1e+22", "4480f0cf064dd592"),
    ("1e23", "9.999999999999999e+22", "44b52d02c7e14af6"),
    ("1.5e300", "1.5e+300", "7e41eb2d66005835"),
    (
        "1.7976931348623157e308",
        "1.7976931348623157e+308",
        "7fefffffffffffff",
    ),
    (
        "-1.7976931348623157e308",
        "-1.7976931348623157e+308",
        "ffefffffffffffff",
    ),
    (
        "2.2250738585072014e-308",
        "2.2250738585072014e-308",
        "0010000000000000",
    ),
    (
        "2.225073858507201e-308",
        "2.225073858507201e-308",
        "000fffffffffffff",
    ),
    ("5e-324", "5e-324", "0000000000000001"),
    ("1e-310", "1e-310", "000012688b70e62b"),
    ("0.0001", "0.0001", "3f1a36e2eb1c432d"),
    (
        "0.00009999999999999999",
        "9.999999999999999e-05",
        "3f1a36e2eb1c432c",
    ),
    ("0.00001", "1e-05", "3ee4f8b588e368f1"),
    ("0.00012345", "0.00012345", "3f202e4b6ce5dc68"),
    ("-1.5e-7", "-1.5e-07", "be8421f5f40d8376"),
    ("3.141592653589793", "3.141592653589793", "400921fb54442d18"),
    (
        "0.3333333333333333",
        "0.3333333333333333",
        "3fd5555555555555",
    ),
    (
        "2.718281828459045e-5",
        "2.718281828459045e-05",
        "3efc80d50c795c88",
    ),
    ("1e-100", "1e-100", "2b2bff2ee48e0530"),
    ("123e-20", "1.23e-18", "3c36b082c2148b8e"),
    ("6.02214076e23", "6.02214076e+23", "44dfe185ca57c517"),
    (
        "-6.8659681752636816e+16",
        "-6.8659681752636816e+16",
        "c36e7db3bca83bb2",
    ),
    ("NaN", "NaN", "7ff8000000000000"),
    ("Infinity", "Infinity", "7ff0000000000000"),
    ("-Infinity", "-Infinity", "fff0000000000000"),
];

/// As [`FLOAT8`] for float4: decimal exponents -4 to 5 are plain.
const FLOAT4: &[(&str, &str, &str)] = &[
    ("0", "0", "00000000"),
    ("-0", "-0", "80000000"),
    ("1", "1", "3f800000"),
    ("0.1", "0.1", "3dcccccd"),
    ("100000", "100000", "47c35000"),
    ("999999", "999999", "497423f0"),
    ("123456.7", "123456.7", "47f1205a"),
    ("1e6", "1e+06", "49742400"),
    ("9999999", "9.999999e+06", "4b18967f"),
    ("1234567", "1.234567e+06", "4996b438"),
    ("16777216", "1.6777216e+07", "4b800000"),
    ("16777217", "1.6777216e+07", "4b800000"),
    ("1.21636864e+08", "1.21636864e+08", "4ce80100"),
    ("1.824e11", "1.8239999e+11", "5229df8c"),
    ("142136.125", "142136.12", "480ace08"),
    ("0.0001", "0.0001", "38d1b717"),
    ("0.00001", "1e-05", "3727c5ac"),
    ("3.4028235e38", "3.4028235e+38", "7f7fffff"),
    ("-3.4028235e38", "-3.4028235e+38", "ff7fffff"),
    ("1.17549435e-38", "1.1754944e-38", "00800000"),
    ("1e-45", "1e-45", "00000001"),
    ("1e-40", "1e-40", "000116c2"),
    ("3.1415927", "3.1415927", "40490fdb"),
    ("1e20", "1e+20", "60ad78ec"),
    ("-1.5e-07", "-1.5e-07", "b4210fb0"),
    ("NaN", "NaN", "7fc00000"),
    ("Infinity", "Infinity", "7f800000"),
    ("-Infinity", "-Infinity", "ff800000"),
];

#[test]
fn float8_table() {
    for &(input, out, bin) in FLOAT8 {
        let v: f64 = from_text(oid::FLOAT8, input.as_bytes()).unwrap();
        let bits = u64::from_be_bytes(hex(bin).try_into().unwrap());
        if v.is_nan() {
            assert!(f64::from_bits(bits).is_nan());
        } else {
            assert_eq!(v.to_bits(), bits, "{input}");
        }
        assert_eq!(binary(&v, oid::FLOAT8).unwrap(), hex(bin), "{input}");
        assert_eq!(text_str(&v), out, "{input}");
        let back: f64 = from_binary(oid::FLOAT8, &hex(bin)).unwrap();
        assert_eq!(text_str(&back), out, "{input}");
    }
}

#[test]
fn float4_table() {
    for &(input, out, bin) in FLOAT4 {
        let v: f32 = from_text(oid::FLOAT4, input.as_bytes()).unwrap();
        let bits = u32::from_be_bytes(hex(bin).try_into().unwrap());
        if v.is_nan() {
            assert!(f32::from_bits(bits).is_nan());
        } else {
            assert_eq!(v.to_bits(), bits, "{input}");
        }
        assert_eq!(binary(&v, oid::FLOAT4).unwrap(), hex(bin), "{input}");
        assert_eq!(text_str(&v), out, "{input}");
        // f64 reads float4 as the same value widened, in both formats.
        let wide: f64 = from_text(oid::FLOAT4, input.as_bytes()).unwrap();
        let wide_bin: f64 = from_binary(oid::FLOAT4, &hex(bin)).unwrap();
        assert!(wide.to_bits() == f64::from(v).to_bits() || (wide.is_nan() && v.is_nan()));
        assert!(wide_bin.to_bits() == f64::from(v).to_bits() || (wide_bin.is_nan() && v.is_nan()));
    }
}

#[test]
fn float_input_forms() {
    // Checked against PostgreSQL's float8in (glibc strtod).
    let ok: &[(&str, f64)] = &[
        (" 1.5 ", 1.5),
        ("+Infinity", f64::INFINITY),
        ("INF", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("infinity", f64::INFINITY),
        ("-infinity", f64::NEG_INFINITY),
        (".5", 0.5),
        ("5.", 5.0),
        ("+.5", 0.5),
        ("1.e1", 10.0),
        ("1E+5", 100000.0),
        ("00001.5", 1.5),
        ("0x10", 16.0),
        ("0x1p-2", 0.25),
        ("0x.8", 0.5),
        ("0x1.8p1", 3.0),
        ("2.5e-324", 5e-324),
        ("1e-320", 1e-320),
        ("\u{b}1\u{c}", 1.0),
    ];
    for &(input, expected) in ok {
        let v: f64 = from_text(oid::FLOAT8, input.as_bytes()).unwrap();
        assert_eq!(v.to_bits(), expected.to_bits(), "{input:?}");
    }
    for input in ["nan", "-nan", "+nan", "NaN ", "nan(123)"] {
        assert!(
            from_text::<f64>(oid::FLOAT8, input.as_bytes())
                .unwrap()
                .is_nan(),
            "{input:?}"
        );
    }
    let negative_zero: f64 = from_text(oid::FLOAT8, b"-0").unwrap();
    assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
    for input in [
        "1e",
        ".",
        "",
        " ",
        "1_000",
        "1.5x",
        "infinityx",
        "inf inity",
        "1e+",
        "--1",
        "+-1",
        "in",
        "-.e1",
        "0x",
        "0x1p",
        "nan(",
        "e5",
    ] {
        assert_eq!(
            from_text::<f64>(oid::FLOAT8, input.as_bytes()),
            Err(invalid_text("double precision", input)),
            "{input:?}"
        );
    }
    // Overflow, and underflow of a nonzero input to zero; checked before trailing junk.
    for input in [
        "1e400",
        "-1e400",
        "1e-400",
        "2.4e-324",
        "0x1p1024",
        "0x1p-1075",
        "1e400x",
    ] {
        assert_eq!(
            from_text::<f64>(oid::FLOAT8, input.as_bytes()),
            Err(out_of_range("double precision")),
            "{input:?}"
        );
    }
    assert_eq!(
        from_text::<f64>(oid::FLOAT8, b"0e-999").map(f64::to_bits),
        Ok(0)
    );
    for input in ["3.5e38", "1e-46", "0x1p128", "8e076\t1"] {
        assert_eq!(
            from_text::<f32>(oid::FLOAT4, input.as_bytes()),
            Err(out_of_range("real")),
            "{input:?}"
        );
    }
    assert_eq!(
        from_text::<f32>(oid::FLOAT4, b"0x1p-149"),
        Ok(f32::from_bits(1))
    );
}

#[test]
fn float_widening_and_narrowing() {
    assert_eq!(
        binary(&0.1f32, oid::FLOAT8).unwrap(),
        f64::from(0.1f32).to_be_bytes()
    );
    assert_eq!(binary(&0.1f64, oid::FLOAT4).unwrap(), 0.1f32.to_be_bytes());
    // As PostgreSQL's float8 -> float4 cast: overflow and underflow to zero fail.
    assert_eq!(binary(&1e300f64, oid::FLOAT4), Err(out_of_range("real")));
    assert_eq!(binary(&1e-300f64, oid::FLOAT4), Err(out_of_range("real")));
    assert_eq!(
        binary(&f64::INFINITY, oid::FLOAT4).unwrap(),
        f32::INFINITY.to_be_bytes()
    );
    assert!(!<f32 as Decode>::accepts(oid::FLOAT8));
    assert!(<f64 as Decode>::accepts(oid::FLOAT4));
}

/// Every bit pattern in a stride over the whole f32 space prints as text that reads back as
/// the same value.
#[test]
fn float4_sweep_round_trips() {
    let mut bits: u32 = 0;
    loop {
        let v = f32::from_bits(bits);
        let t = text(&v);
        let back: f32 = from_text(oid::FLOAT4, &t).unwrap();
        assert!(
            back.to_bits() == bits || (v.is_nan() && back.is_nan()),
            "{bits:#x} {t:?}"
        );
        match bits.checked_add(65_537) {
            Some(b) => bits = b,
            None => break,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// "char"
// ---------------------------------------------------------------------------------------------

#[test]
fn char_forms() {
    // charout: bytes below 0x80 are themselves (0 is the empty string), others \ooo.
    for b in 0..=255u8 {
        let expected: Vec<u8> = match b {
            0 => vec![],
            1..=0x7f => vec![b],
            _ => format!("\\{:03o}", b).into_bytes(),
        };
        assert_eq!(text(&PgChar(b)), expected, "{b}");
        assert_eq!(binary(&PgChar(b), oid::CHAR).unwrap(), [b]);
        round_trip(PgChar(b));
        // And \ooo input reads every byte.
        let escaped = format!("\\{:03o}", b);
        assert_eq!(
            from_text::<PgChar>(oid::CHAR, escaped.as_bytes()),
            Ok(PgChar(b))
        );
    }
    // charin: other input is its first byte; \ooo is taken modulo 256.
    let cases: &[(&[u8], u8)] = &[
        (b"abc", b'a'),
        (b"", 0),
        (b"\\1", b'\\'),
        (b"\\129", b'\\'),
        (b"\\777", 0xff),
        (b"\\400", 0),
        ("é".as_bytes(), 0xc3),
    ];
    for &(input, expected) in cases {
        assert_eq!(
            from_text::<PgChar>(oid::CHAR, input),
            Ok(PgChar(expected)),
            "{input:?}"
        );
    }
    assert_eq!(
        from_binary::<PgChar>(oid::CHAR, b"ab"),
        Err(ValueError::BinaryLength {
            type_name: "\"char\"",
            len: 2
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

#[test]
fn string_forms() {
    assert_eq!(text("hé"), "hé".as_bytes());
    assert_eq!(binary("hé", oid::TEXT).unwrap(), hex("68c3a9"));
    assert_eq!(<&str as Encode>::TYPE, oid::TEXT);
    assert_eq!(<String as Encode>::TYPE, oid::TEXT);
    round_trip(String::from("hello, world"));
    round_trip(String::new());
    for ty in [
        oid::TEXT,
        oid::VARCHAR,
        oid::BPCHAR,
        oid::NAME,
        oid::UNKNOWN,
        oid::JSON,
        oid::JSONB,
    ] {
        assert!(<&str as Decode>::accepts(ty));
        assert!(<String as Decode>::accepts(ty));
        let s: &str = from_text(ty, b"abc").unwrap();
        assert_eq!(s, "abc");
    }
    assert!(!<&str as Decode>::accepts(oid::BYTEA));
    assert!(!<&str as Decode>::accepts(oid::INT4));
    // bpchar keeps its padding (bpcharsend of 'ab'::char(4)).
    let raw = hex("61622020");
    let s: &str = from_binary(oid::BPCHAR, &raw).unwrap();
    assert_eq!(s, "ab  ");
    // Binary jsonb: jsonb_send of '{"a": 1}' starts with the version byte.
    let raw = hex("017b2261223a20317d");
    let s: &str = from_binary(oid::JSONB, &raw).unwrap();
    assert_eq!(s, "{\"a\": 1}");
    assert_eq!(binary("{}", oid::JSONB).unwrap(), b"\x01{}");
    let s: String = from_binary(oid::JSON, &hex("7b2261223a317d")).unwrap();
    assert_eq!(s, "{\"a\":1}");
}

#[test]
fn string_errors() {
    assert_eq!(
        from_text::<&str>(oid::TEXT, b"\xff"),
        Err(ValueError::InvalidUtf8)
    );
    assert_eq!(
        from_binary::<String>(oid::VARCHAR, b"a\xc3"),
        Err(ValueError::InvalidUtf8)
    );
    assert_eq!(
        from_text::<&str>(oid::TEXT, b"a\0b"),
        Err(ValueError::InvalidUtf8)
    );
    let mut out = BytesMut::new();
    assert_eq!(
        encode("a\0b", oid::TEXT, Format::Text, &Session::UTC, &mut out),
        Err(ValueError::InvalidUtf8)
    );
    assert!(out.is_empty());
    assert_eq!(
        from_binary::<&str>(oid::JSONB, b"\x02{}"),
        Err(ValueError::InvalidBinary {
            type_name: "jsonb",
            reason: "unsupported jsonb version number"
        })
    );
    assert_eq!(
        from_binary::<&str>(oid::JSONB, b""),
        Err(ValueError::BinaryLength {
            type_name: "jsonb",
            len: 0
        })
    );
    assert_eq!(
        binary("x", oid::INT4),
        Err(ValueError::WrongType {
            ty: oid::INT4,
            rust: "&str"
        })
    );
    // An OID this crate does not know (an extension's type) takes the text bytes.
    assert_eq!(binary("x", 16_000).unwrap(), b"x");
}

#[test]
fn name_is_cut_to_63_bytes() {
    // What namein makes of the text: 63 bytes, or fewer at a character boundary.
    let ascii = "a".repeat(70);
    assert_eq!(
        binary(ascii.as_str(), oid::NAME).unwrap(),
        "a".repeat(63).as_bytes()
    );
    let wide = "é".repeat(40); // 80 bytes
    assert_eq!(
        binary(wide.as_str(), oid::NAME).unwrap(),
        "é".repeat(31).as_bytes()
    );
    // namesend of repeat('é', 40)::name.
    assert_eq!(
        binary(wide.as_str(), oid::NAME).unwrap(),
        hex(&"c3a9".repeat(31))
    );
    // Text is written whole (the server cuts it).
    assert_eq!(text(wide.as_str()).len(), 80);
}

// ---------------------------------------------------------------------------------------------
// bytea
// ---------------------------------------------------------------------------------------------

#[test]
fn bytea_all_bytes() {
    let all: Vec<u8> = (0..=255).collect();
    let expected: String =
        String::from("\\x") + &all.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(text(&Bytea(&all[..])), expected.as_bytes());
    assert_eq!(binary(&Bytea(&all[..]), oid::BYTEA).unwrap(), all);
    round_trip(Bytea(all.clone()));
    round_trip(Bytea(Vec::new()));
    // The escape format of every byte: \\ for backslash, \ooo for unprintables (checked equal
    // to decode(..., 'hex') of all 256 bytes on the server).
    let escaped: String = all
        .iter()
        .map(|&b| match b {
            b'\\' => "\\\\".to_owned(),
            0..=31 | 127..=255 => format!("\\{b:03o}"),
            _ => (b as char).to_string(),
        })
        .collect();
    let v: Bytea<Vec<u8>> = from_text(oid::BYTEA, escaped.as_bytes()).unwrap();
    assert_eq!(v.0, all);
    // Upper case hex reads too.
    let upper = expected.to_uppercase().replacen("\\X", "\\x", 1);
    let v: Bytea<Vec<u8>> = from_text(oid::BYTEA, upper.as_bytes()).unwrap();
    assert_eq!(v.0, all);
}

#[test]
fn bytea_input() {
    // Checked against PostgreSQL's byteain.
    let ok: &[(&[u8], &[u8])] = &[
        (b"\\x0a1b", b"\x0a\x1b"),
        (b"\\x0A 1b", b"\x0a\x1b"),
        (b"\\x 0a\t1b\n\r", b"\x0a\x1b"),
        (b"\\x", b""),
        (b"abc", b"abc"),
        (b"a\\\\b", b"a\\b"),
        (b"\\001\\377", b"\x01\xff"),
        (b"\\377\\000x", b"\xff\x00x"),
        (b"\\\\x41", b"\\x41"),
        (b"", b""),
        ("é".as_bytes(), b"\xc3\xa9"),
    ];
    for &(input, expected) in ok {
        let v: Bytea<Vec<u8>> = from_text(oid::BYTEA, input).unwrap();
        assert_eq!(v.0, expected, "{input:?}");
        let c: Bytea<Cow<[u8]>> = from_text(oid::BYTEA, input).unwrap();
        assert_eq!(&*c.0, expected);
    }
    // PostgreSQL reports the bad-hex ones with 22023; all are InvalidText here.
    for input in [
        "\\x0 a",
        "\\x0",
        "\\xzz",
        "\\X0a",
        "\\400",
        "\\",
        "a\\b",
        " \\x0a",
        "\\x\u{b}0a",
        "\\x4",
        "\\38",
    ] {
        assert_eq!(
            from_text::<Bytea<Vec<u8>>>(oid::BYTEA, input.as_bytes()),
            Err(invalid_text("bytea", input)),
            "{input:?}"
        );
    }
    // Binary borrows.
    let raw = b"\x00\x01";
    let c: Bytea<Cow<[u8]>> = from_binary(oid::BYTEA, raw).unwrap();
    assert!(matches!(c.0, Cow::Borrowed(_)));
    assert_eq!(binary(&Bytea([1u8, 2, 3]), oid::BYTEA).unwrap(), [1, 2, 3]);
    assert_eq!(
        binary(&Bytea(b"x"), oid::INT4),
        Err(ValueError::WrongType {
            ty: oid::INT4,
            rust: "Bytea"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// numeric
// ---------------------------------------------------------------------------------------------

/// (input, `input::numeric::text`, `numeric_send(input)`), from PostgreSQL 18.
const NUMERIC: &[(&str, &str, &str)] = &[
    ("0", "0", "0000000000000000"),
    ("0.000", "0.000", "0000000000000003"),
    ("1.50", "1.50", "000200000000000200011388"),
    ("-0.5", "-0.5", "0001ffff400000011388"),
    ("NaN", "NaN", "00000000c0000000"),
    ("nan", "NaN", "00000000c0000000"),
    ("Infinity", "Infinity", "00000000d0000020"),
    ("-inf", "-Infinity", "00000000f0000020"),
    ("1.5e3", "1500", "000100000000000005dc"),
    (".5", "0.5", "0001ffff000000011388"),
    ("5.", "5", "00010000000000000005"),
    ("+1", "1", "00010000000000000001"),
    (" 1.50 ", "1.50", "000200000000000200011388"),
    ("-0", "0", "0000000000000000"),
    ("-0.00", "0.00", "0000000000000002"),
    ("1e-3", "0.001", "0001ffff00000003000a"),
    ("1.5e-3", "0.0015", "0001ffff00000004000f"),
    ("00123.4500", "123.4500", "0002000000000004007b1194"),
    (
        "123456789012345678901234567890.123456789",
        "123456789012345678901234567890.123456789",
        "000b000700000009000c0d801ed204d2162e23340d801ed204d2162e2328",
    ),
    (
        "-123456789012345678901234567890.123456789",
        "-123456789012345678901234567890.123456789",
        "000b000740000009000c0d801ed204d2162e23340d801ed204d2162e2328",
    ),
    ("9999.9999", "9999.9999", "0002000000000004270f270f"),
    ("10000", "10000", "00010001000000000001"),
    ("0.0001", "0.0001", "0001ffff000000040001"),
    ("0.00001", "0.00001", "0001fffe0000000503e8"),
    ("1e-20", "0.00000000000000000001", "0001fffb000000140001"),
    ("1e20", "100000000000000000000", "00010005000000000001"),
    ("12345.6789", "12345.6789", "0003000100000004000109291a85"),
    (
        "1.000000000000000000000000000000",
        "1.000000000000000000000000000000",
        "000100000000001e0001",
    ),
    (
        "100000000.000000000000",
        "100000000.000000000000",
        "000100020000000c0001",
    ),
    (
        "0.00000000000000000000",
        "0.00000000000000000000",
        "0000000000000014",
    ),
    (
        "-0.000000000000000000001",
        "-0.000000000000000000001",
        "0001fffa4000001503e8",
    ),
    ("9999e-4", "0.9999", "0001ffff00000004270f"),
    ("5.e3", "5000", "00010000000000001388"),
    ("1_000.000_1", "1000.0001", "000200000000000403e80001"),
    ("0x1F", "31", "0001000000000000001f"),
    ("-0x_ff", "-255", "000100004000000000ff"),
    ("0o777", "511", "000100000000000001ff"),
    ("0b1010", "10", "0001000000000000000a"),
    (
        "0xffffffffffffffffffffffff",
        "79228162514264337593543950335",
        "00080007000000000007240c0659059210f1172f112b014f",
    ),
    ("99999999", "99999999", "0002000100000000270f270f"),
    ("100000000", "100000000", "00010002000000000001"),
    ("-1", "-1", "00010000400000000001"),
    ("32767", "32767", "000200010000000000030acf"),
];

#[test]
fn numeric_table() {
    for &(input, out, bin) in NUMERIC {
        let n: Numeric = from_text(oid::NUMERIC, input.as_bytes()).unwrap();
        assert_eq!(text_str(&n), out, "{input:?}");
        assert_eq!(n.to_string(), out);
        assert_eq!(binary(&n, oid::NUMERIC).unwrap(), hex(bin), "{input:?}");
        let back: Numeric = from_binary(oid::NUMERIC, &hex(bin)).unwrap();
        assert_eq!(back, n, "{input:?}");
        let parsed: Numeric = input.parse().unwrap();
        assert_eq!(parsed, n);
        round_trip(n);
    }
}

#[test]
fn numeric_extremes() {
    // The largest weight and the largest display scale (lengths and sends from PostgreSQL).
    let big: Numeric = "1e131071".parse().unwrap();
    let t = text_str(&big);
    assert_eq!(t.len(), 131072);
    assert!(t.starts_with("10000") && t.bytes().skip(1).all(|b| b == b'0'));
    assert_eq!(
        binary(&big, oid::NUMERIC).unwrap(),
        hex("00017fff0000000003e8")
    );
    let big: Numeric = "9.999e131071".parse().unwrap();
    assert_eq!(
        binary(&big, oid::NUMERIC).unwrap(),
        hex("00017fff00000000270f")
    );
    let tiny: Numeric = "-1e-16383".parse().unwrap();
    let t = text_str(&tiny);
    assert_eq!(t.len(), 16386);
    assert!(t.starts_with("-0.000") && t.ends_with("00001"));
    assert_eq!(
        binary(&tiny, oid::NUMERIC).unwrap(),
        hex("0001f00040003fff000a")
    );
    round_trip(tiny);
    // One past either limit overflows the format.
    for input in [
        "1e131072",
        "1e-16384",
        "0e-20000",
        "1e1073741824",
        "1e9999999999x",
    ] {
        assert_eq!(
            input.parse::<Numeric>(),
            Err(out_of_range("numeric")),
            "{input}"
        );
    }
    let huge_hex = format!("0x{}", "f".repeat(109_000));
    assert_eq!(huge_hex.parse::<Numeric>(), Err(out_of_range("numeric")));
}

#[test]
fn numeric_text_errors() {
    // Checked against PostgreSQL 18's numeric_in.
    for input in [
        "-nan",
        "+NaN",
        "1._5",
        "1_.5",
        "0b",
        "0x1.5",
        "1e",
        "1e+",
        "1 e5",
        "1e 5",
        ".",
        ".e1",
        "1e5_",
        "infinit",
        "Infinityx",
        "1.5e-3_",
        "",
        " ",
        "abc",
        "1e131072x",
        "--1",
        "0x_",
        "nanx",
    ] {
        assert_eq!(
            input.parse::<Numeric>(),
            Err(invalid_text("numeric", input)),
            "{input:?}"
        );
    }
}

#[test]
fn numeric_recv_rules() {
    // numeric_recv through binary COPY on PostgreSQL: digits the display scale hides are
    // truncated, leading and trailing zero digits dropped, NaN ignores the other fields.
    let cases: &[(&str, &str, &str)] = &[
        // 1.2345 6789 with scale 1
        (
            "000300000000000100010929", /* + */
            "1a85",
            "0002000000000001000107d0",
        ),
        // -0.00000005 with scale 2 is zero
        ("0002ffff400000020000", "0005", "0000000000000002"),
        // leading zeros
        ("00030002000000000000", "00000007", "00010000000000000007"),
        // trailing zeros
        ("00030000000000080007", "00000000", "00010000000000080007"),
        // NaN with digits
        ("00020005c00000030001", "0002", "00000000c0000000"),
        // -Infinity with fields set
        ("00000007f0000064", "", "00000000f0000020"),
        // leading zero at the top weight
        ("00027fff000000000000", "0005", "00017ffe000000000005"),
        // weight -32768 with scale 16383: nothing left
        ("0001800000003fff", "0005", "0000000000003fff"),
        // weight -4096, scale 16383: the last kept decimal digit is the third of the digit
        ("0001f00000003fff", "1389", "0001f00000003fff1388"),
    ];
    for &(head, digits, expected) in cases {
        let raw = hex(&format!("{head}{digits}"));
        let n: Numeric = from_binary(oid::NUMERIC, &raw).unwrap();
        assert_eq!(
            binary(&n, oid::NUMERIC).unwrap(),
            hex(expected),
            "{head}{digits}"
        );
    }
    let bad = |h: &str| from_binary::<Numeric>(oid::NUMERIC, &hex(h));
    assert_eq!(
        bad("0001000080000000" /* sign 0x8000 */),
        Err(ValueError::BinaryLength {
            type_name: "numeric",
            len: 8
        })
    );
    assert_eq!(
        bad("00010000800000000001"),
        Err(ValueError::InvalidBinary {
            type_name: "numeric",
            reason: "invalid sign in external \"numeric\" value"
        })
    );
    assert_eq!(
        bad("00010000000040000001"),
        Err(ValueError::InvalidBinary {
            type_name: "numeric",
            reason: "invalid scale in external \"numeric\" value"
        })
    );
    assert_eq!(
        bad("00010000000000002710"),
        Err(ValueError::InvalidBinary {
            type_name: "numeric",
            reason: "invalid digit in external \"numeric\" value"
        })
    );
    assert_eq!(
        bad("0001000000000000ffff"),
        Err(ValueError::InvalidBinary {
            type_name: "numeric",
            reason: "invalid digit in external \"numeric\" value"
        })
    );
    assert_eq!(
        bad("000000000000"),
        Err(ValueError::BinaryLength {
            type_name: "numeric",
            len: 6
        })
    );
    assert_eq!(
        bad("0000000000000000ff"),
        Err(ValueError::BinaryLength {
            type_name: "numeric",
            len: 9
        })
    );
}

#[test]
fn numeric_api() {
    assert_eq!(Numeric::from(0i64).to_string(), "0");
    assert_eq!(Numeric::from(i64::MIN).to_string(), "-9223372036854775808");
    assert_eq!(Numeric::from(u64::MAX).to_string(), "18446744073709551615");
    assert_eq!(Numeric::from(-7i32).to_string(), "-7");
    assert_eq!(Numeric::from(10000u32).digits(), [1]);
    assert_eq!(Numeric::from(10000u32).weight(), 1);
    let n: Numeric = "1.50".parse().unwrap();
    assert_eq!(
        (n.weight(), n.scale(), n.digits()),
        (0, 2, &[1i16, 5000][..])
    );
    assert_eq!(format!("{n:?}"), "Numeric(1.50)");
    assert_ne!(n, "1.5".parse().unwrap());
    assert!(Numeric::NAN.is_nan() && !Numeric::NAN.is_finite());
    assert!(Numeric::NEG_INFINITY.is_infinite() && Numeric::NEG_INFINITY.is_negative());
    assert!(Numeric::ZERO.is_zero());
    assert!("0.000".parse::<Numeric>().unwrap().is_zero());
    // TryFrom rounds half away from zero, as PostgreSQL's numeric::int8 cast does.
    let i = |s: &str| i64::try_from(s.parse::<Numeric>().unwrap());
    assert_eq!(i("2.5"), Ok(3));
    assert_eq!(i("-2.5"), Ok(-3));
    assert_eq!(i("2.4999"), Ok(2));
    assert_eq!(i("0.5"), Ok(1));
    assert_eq!(i("0.00005"), Ok(0));
    assert_eq!(i("-9223372036854775808"), Ok(i64::MIN));
    assert_eq!(i("9223372036854775807.4"), Ok(i64::MAX));
    assert_eq!(i("9223372036854775807.5"), Err(out_of_range("bigint")));
    assert_eq!(i("-9223372036854775808.5"), Err(out_of_range("bigint")));
    assert_eq!(i("1e30"), Err(out_of_range("bigint")));
    assert_eq!(i("NaN"), Err(out_of_range("bigint")));
    assert_eq!(
        i64::try_from(&Numeric::INFINITY),
        Err(out_of_range("bigint"))
    );
    // from_parts validates and normalizes as numeric_recv does.
    let p = Numeric::from_parts(true, 0, 1, &[1, 2345, 6789]).unwrap();
    assert_eq!(p.to_string(), "-1.2");
    assert!(Numeric::from_parts(false, 0, 0, &[10000]).is_err());
    assert!(Numeric::from_parts(false, 0, 0x4000, &[1]).is_err());
    assert_eq!(
        binary(&Numeric::ZERO, oid::INT4),
        Err(ValueError::WrongType {
            ty: oid::INT4,
            rust: "Numeric"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// uuid
// ---------------------------------------------------------------------------------------------

#[test]
fn uuid_forms() {
    let u = Uuid(hex("a0eebc999c0b4ef8bb6d6bb9bd380a11").try_into().unwrap());
    assert_eq!(text(&u), b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(u.to_string(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    // uuid_send
    assert_eq!(
        binary(&u, oid::UUID).unwrap(),
        hex("a0eebc999c0b4ef8bb6d6bb9bd380a11")
    );
    round_trip(u);
    round_trip(Uuid::NIL);
    round_trip(Uuid([0xff; 16]));
    // Checked against PostgreSQL's uuid_in.
    for input in [
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
    ] {
        assert_eq!(input.parse::<Uuid>(), Ok(u), "{input}");
    }
    for input in [
        "a0eebc999c0b4ef8bb6d6bb9bd380a11-",
        " a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11 ",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11}",
        "a0e-ebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc99--9c0b4ef8bb6d6bb9bd380a11",
        "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11-}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a1",
        "",
    ] {
        assert_eq!(
            input.parse::<Uuid>(),
            Err(invalid_text("uuid", input)),
            "{input}"
        );
    }
    assert_eq!(
        from_binary::<Uuid>(oid::UUID, &[0; 15]),
        Err(ValueError::BinaryLength {
            type_name: "uuid",
            len: 15
        })
    );
}

// ---------------------------------------------------------------------------------------------
// json, jsonb
// ---------------------------------------------------------------------------------------------

#[test]
fn json_forms() {
    let j = Json(String::from("{\"a\":1}"));
    assert_eq!(text(&j), b"{\"a\":1}");
    // json_send is the text; jsonb_send adds the version byte.
    assert_eq!(binary(&j, oid::JSON).unwrap(), hex("7b2261223a317d"));
    assert_eq!(binary(&j, oid::JSONB).unwrap(), hex("017b2261223a317d"));
    let jb = Jsonb(String::from("{\"a\": 1}"));
    assert_eq!(binary(&jb, oid::JSONB).unwrap(), hex("017b2261223a20317d"));
    assert_eq!(binary(&jb, oid::JSON).unwrap(), hex("7b2261223a20317d"));
    round_trip(j.clone());
    round_trip(jb.clone());
    let read: Jsonb = from_binary(oid::JSONB, &hex("017b2261223a20317d")).unwrap();
    assert_eq!(read, jb);
    let read: Json = from_binary(oid::JSONB, &hex("017b2261223a20317d")).unwrap();
    assert_eq!(read.as_str(), "{\"a\": 1}");
    assert!(<Json as Decode>::accepts(oid::JSONB) && <Jsonb as Decode>::accepts(oid::JSON));
    assert!(!<Json as Decode>::accepts(oid::TEXT));
    assert_eq!(
        from_binary::<Jsonb>(oid::JSONB, b"\x02{}"),
        Err(ValueError::InvalidBinary {
            type_name: "jsonb",
            reason: "unsupported jsonb version number"
        })
    );
    assert_eq!(
        from_text::<Json>(oid::JSON, b"\"\xff\""),
        Err(ValueError::InvalidUtf8)
    );
}

// ---------------------------------------------------------------------------------------------
// Errors common to all types
// ---------------------------------------------------------------------------------------------

#[test]
fn null_wrong_type_and_lengths() {
    assert_eq!(
        decode::<i32>(None, oid::INT4, Format::Text, &Session::UTC),
        Err(ValueError::UnexpectedNull { ty: oid::INT4 })
    );
    assert_eq!(
        decode::<Option<i32>>(None, oid::INT4, Format::Binary, &Session::UTC),
        Ok(None)
    );
    assert!(matches!(
        decode::<Numeric>(Some(b"1"), oid::INT4, Format::Text, &Session::UTC),
        Err(ValueError::WrongType { ty: oid::INT4, .. })
    ));
    let lengths: &[(u32, usize)] = &[
        (oid::BOOL, 2),
        (oid::INT2, 1),
        (oid::INT4, 3),
        (oid::INT8, 9),
        (oid::OID, 0),
        (oid::FLOAT4, 8),
        (oid::FLOAT8, 4),
    ];
    for &(ty, len) in lengths {
        let raw = vec![0u8; len];
        let err = match ty {
            oid::BOOL => from_binary::<bool>(ty, &raw).err(),
            oid::INT2 | oid::INT4 | oid::INT8 => from_binary::<i64>(ty, &raw).err(),
            oid::OID => from_binary::<u32>(ty, &raw).err(),
            _ => from_binary::<f64>(ty, &raw).err(),
        };
        assert_eq!(
            err,
            Some(ValueError::BinaryLength {
                type_name: oid::sql_name(ty),
                len
            }),
            "{ty}"
        );
    }
    // An error leaves the output as it was.
    let mut out = BytesMut::from(&b"keep"[..]);
    assert!(
        encode(
            &100_000i64,
            oid::INT2,
            Format::Binary,
            &Session::UTC,
            &mut out
        )
        .is_err()
    );
    assert_eq!(&out[..], b"keep");
    // SQLSTATEs.
    assert_eq!(out_of_range("integer").sqlstate().as_str(), "22003");
    assert_eq!(invalid_text("integer", "x").sqlstate().as_str(), "22P02");
}

// ---------------------------------------------------------------------------------------------
// Feature-gated conversions
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "uuid")]
#[test]
fn uuid_crate() {
    let u = uuid::Uuid::from_bytes([7; 16]);
    assert_eq!(text(&u), text(&Uuid([7; 16])));
    round_trip(u);
    assert_eq!(uuid::Uuid::from(Uuid([7; 16])), u);
    assert_eq!(Uuid::from(u), Uuid([7; 16]));
}

#[cfg(feature = "serde_json")]
#[test]
fn serde_json_value() {
    let v = serde_json::json!({"a": [1, 2.5, "x"], "b": null});
    assert_eq!(<serde_json::Value as Encode>::TYPE, oid::JSONB);
    let b = binary(&v, oid::JSONB).unwrap();
    assert_eq!(b[0], 1);
    let back: serde_json::Value = from_binary(oid::JSONB, &b).unwrap();
    assert_eq!(back, v);
    let back: serde_json::Value = from_binary(oid::JSON, &binary(&v, oid::JSON).unwrap()).unwrap();
    assert_eq!(back, v);
    round_trip(v.clone());
    assert_eq!(
        from_text::<serde_json::Value>(oid::JSON, b"{"),
        Err(invalid_text("json", "{"))
    );
    let j = Jsonb::from(&v);
    assert_eq!(serde_json::Value::try_from(&j).unwrap(), v);
}

#[cfg(feature = "rust_decimal")]
#[test]
fn rust_decimal_conversions() {
    use rust_decimal::Decimal;
    let d: Decimal = "-123.4500".parse().unwrap();
    let n = Numeric::from(d);
    assert_eq!(n.to_string(), "-123.4500");
    assert_eq!(Decimal::try_from(&n).unwrap().to_string(), "-123.4500");
    round_trip(d);
    for s in [
        "0",
        "0.000",
        "79228162514264337593543950335",
        "-0.0000000000000000000000000001",
        "1.5",
    ] {
        let d: Decimal = s.parse().unwrap();
        let n = Numeric::from(d);
        assert_eq!(n.to_string(), d.to_string(), "{s}");
        assert_eq!(Decimal::try_from(&n).unwrap(), d);
    }
    // Exact or an error.
    let n = |s: &str| s.parse::<Numeric>().unwrap();
    assert_eq!(
        Decimal::try_from(&n("79228162514264337593543950336")),
        Err(out_of_range("numeric"))
    );
    assert_eq!(Decimal::try_from(&n("1e-29")), Err(out_of_range("numeric")));
    assert_eq!(Decimal::try_from(&n("NaN")), Err(out_of_range("numeric")));
    // Trailing zeros beyond what fits are dropped, not the value.
    let d = Decimal::try_from(&n("1.000000000000000000000000000000")).unwrap();
    assert_eq!(d, Decimal::ONE);
    let d = Decimal::try_from(&n("7922816251426433759354395033.5000")).unwrap();
    assert_eq!(d.to_string(), "7922816251426433759354395033.5");
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// The text PostgreSQL shows for the decimal `[-]int.frac × 10^exp` as numeric_in reads it,
/// computed on decimal strings: digits shifted by the exponent, the scale `len(frac) - exp`
/// (at least 0), leading zeros dropped and a negative zero made positive.
fn reference_text(negative: bool, int: &str, frac: &str, exp: i32) -> String {
    let digits: String = format!("{int}{frac}");
    let point = int.len() as i64 + i64::from(exp); // position of the point in `digits`
    let scale = (frac.len() as i64 - i64::from(exp)).max(0) as usize;
    let (mut ip, fp): (String, String) = if point <= 0 {
        (String::new(), "0".repeat((-point) as usize) + &digits)
    } else if point as usize >= digits.len() {
        (
            digits.clone() + &"0".repeat(point as usize - digits.len()),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_owned(),
            digits[point as usize..].to_owned(),
        )
    };
    ip = ip.trim_start_matches('0').to_owned();
    if ip.is_empty() {
        ip = "0".to_owned();
    }
    let mut fp: String = fp.chars().take(scale).collect();
    while fp.len() < scale {
        fp.push('0');
    }
    let zero = ip == "0" && fp.bytes().all(|b| b == b'0');
    let mut s = String::new();
    if negative && !zero {
        s.push('-');
    }
    s.push_str(&ip);
    if scale > 0 {
        s.push('.');
        s.push_str(&fp);
    }
    s
}

/// The binary form of a numeric given as its canonical text, computed on the text: base-10000
/// groups aligned on the point, zero groups trimmed from both ends.
fn reference_binary(text: &str) -> Vec<u8> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (ip, fp) = body.split_once('.').unwrap_or((body, ""));
    let scale = fp.len() as u16;
    let ip = format!("{}{}", "0".repeat((4 - ip.len() % 4) % 4), ip);
    let fp = format!("{}{}", fp, "0".repeat((4 - fp.len() % 4) % 4));
    let mut groups: Vec<i16> = ip
        .as_bytes()
        .chunks(4)
        .chain(fp.as_bytes().chunks(4))
        .map(|c| std::str::from_utf8(c).unwrap().parse().unwrap())
        .collect();
    let mut weight = (ip.len() / 4) as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(groups.len() as u16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    let sign: u16 = if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&scale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn numeric_text_and_binary(
        negative in any::<bool>(),
        int in "[0-9]{0,40}",
        frac in "[0-9]{0,40}",
        exp in -60i32..60,
        with_exp in any::<bool>(),
    ) {
        let int = if int.is_empty() && frac.is_empty() { "0".to_owned() } else { int };
        let exp = if with_exp { exp } else { 0 };
        let mut input = String::new();
        if negative { input.push('-'); }
        input.push_str(&int);
        if !frac.is_empty() { input.push('.'); input.push_str(&frac); }
        if with_exp { input.push_str(&format!("e{exp}")); }
        let n: Numeric = input.parse().unwrap();
        let expected = reference_text(negative, &int, &frac, exp);
        prop_assert_eq!(n.to_string(), expected.clone());
        let b = binary(&n, oid::NUMERIC).unwrap();
        prop_assert_eq!(&b, &reference_binary(&expected));
        let back: Numeric = from_binary(oid::NUMERIC, &b).unwrap();
        prop_assert_eq!(&back, &n);
        let again: Numeric = expected.parse().unwrap();
        prop_assert_eq!(&again, &n);
    }

    #[test]
    fn numeric_from_integers(v in any::<i64>(), u in any::<u64>()) {
        prop_assert_eq!(Numeric::from(v).to_string(), v.to_string());
        prop_assert_eq!(i64::try_from(Numeric::from(v)), Ok(v));
        prop_assert_eq!(Numeric::from(u).to_string(), u.to_string());
    }

    #[test]
    fn numeric_binary_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(n) = from_binary::<Numeric>(oid::NUMERIC, &raw) {
            let again: Numeric = from_text(oid::NUMERIC, n.to_string().as_bytes()).unwrap();
            prop_assert_eq!(again, n);
        }
    }

    #[test]
    fn numeric_text_never_panics(s in "[-+0-9.eExXoObB_ a-fnNiI]{0,24}") {
        let _ = s.parse::<Numeric>();
    }

    #[test]
    fn f64_round_trips(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        let t = text(&v);
        let back: f64 = from_text(oid::FLOAT8, &t).unwrap();
        prop_assert!(back.to_bits() == bits || (v.is_nan() && back.is_nan()), "{:?}", String::from_utf8_lossy(&t));
        let b: f64 = from_binary(oid::FLOAT8, &binary(&v, oid::FLOAT8).unwrap()).unwrap();
        prop_assert!(b.to_bits() == bits);
    }

    #[test]
    fn f32_round_trips(bits in any::<u32>()) {
        let v = f32::from_bits(bits);
        let t = text(&v);
        let back: f32 = from_text(oid::FLOAT4, &t).unwrap();
        prop_assert!(back.to_bits() == bits || (v.is_nan() && back.is_nan()), "{:?}", String::from_utf8_lossy(&t));
        let b: f32 = from_binary(oid::FLOAT4, &binary(&v, oid::FLOAT4).unwrap()).unwrap();
        prop_assert!(b.to_bits() == bits);
    }

    #[test]
    fn float_text_never_panics(s in "[-+0-9.eExXpP a-fnNiI()]{0,24}") {
        let _ = from_text::<f64>(oid::FLOAT8, s.as_bytes());
        let _ = from_text::<f32>(oid::FLOAT4, s.as_bytes());
    }

    #[test]
    fn ints_round_trip(a in any::<i16>(), b in any::<i32>(), c in any::<i64>(), d in any::<u32>()) {
        round_trip(a);
        round_trip(b);
        round_trip(c);
        round_trip(d);
        prop_assert_eq!(text_str(&c), c.to_string());
    }

    #[test]
    fn int_input_forms(v in any::<i64>(), lead in "[ \t]{0,2}", trail in "[ \n]{0,2}") {
        let parse = |s: String| from_text::<i64>(oid::INT8, s.as_bytes());
        prop_assert_eq!(parse(format!("{lead}{v}{trail}")), Ok(v));
        let sign = if v < 0 { "-" } else { "+" };
        let m = v.unsigned_abs();
        prop_assert_eq!(parse(format!("{lead}{sign}0x{m:x}{trail}")), Ok(v));
        prop_assert_eq!(parse(format!("{sign}0o{m:o}")), Ok(v));
        prop_assert_eq!(parse(format!("{sign}0b{m:b}")), Ok(v));
        let grouped: String = m.to_string().chars().flat_map(|c| [c, '_']).collect::<String>();
        prop_assert_eq!(parse(format!("{sign}{}", grouped.trim_end_matches('_'))), Ok(v));
    }

    #[test]
    fn int_text_never_panics(s in "[-+0-9 _xXoObBa-f]{0,24}") {
        let _ = from_text::<i16>(oid::INT2, s.as_bytes());
        let _ = from_text::<i64>(oid::INT8, s.as_bytes());
        let _ = from_text::<u32>(oid::OID, s.as_bytes());
    }

    #[test]
    fn bytea_round_trips(v in proptest::collection::vec(any::<u8>(), 0..64)) {
        round_trip(Bytea(v));
    }
}
