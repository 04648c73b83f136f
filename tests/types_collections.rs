//! Arrays, binary COPY, the row writer and Bind parameters.
//!
//! The scalar codecs live elsewhere, so these tests bring their own element types (`I32` as
//! int4, `Txt` as text, `Raw` borrowing bytes). Expected text and binary forms marked "from
//! PostgreSQL" were produced by a real PostgreSQL 15.18 (`array_out`, `array_send`,
//! `float8out`, `COPY ... TO ... (FORMAT binary)`) and are embedded here, so the tests need no
//! server.

use bytes::{BufMut, Bytes, BytesMut};
use pgproto::message::{BackendDecoder, BackendMessage, Bind, Format, RowDescription};
use pgproto::types::{
    Array, BinaryCopyReader, BinaryCopyWriter, Decode, Dimension, Encode, RowWriter, Session,
    ValueError, column, decode, decode_param, encode, oid, param_type,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Test-only element types.

/// int4.
#[derive(Debug, Clone, PartialEq)]
struct I32(i32);

impl Encode for I32 {
    const TYPE: u32 = oid::INT4;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        use core::fmt::Write;
        write!(out, "{}", self.0).map_err(|_| ValueError::OutOfRange {
            type_name: "integer",
        })
    }

    fn encode_binary(&self, _: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_i32(self.0);
        Ok(())
    }
}

impl<'a> Decode<'a> for I32 {
    fn accepts(ty: u32) -> bool {
        ty == oid::INT4
    }

    fn decode_text(_: &Session, _: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        core::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(I32)
            .ok_or_else(|| ValueError::InvalidText {
                type_name: "integer",
                input: String::from_utf8_lossy(raw).into_owned(),
            })
    }

    fn decode_binary(_: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        let b: [u8; 4] = raw.try_into().map_err(|_| ValueError::BinaryLength {
            type_name: "integer",
            len: raw.len(),
        })?;
        Ok(I32(i32::from_be_bytes(b)))
    }
}

/// text (and varchar, bpchar, name).
#[derive(Debug, Clone, PartialEq)]
struct Txt(String);

fn txt(s: &str) -> Txt {
    Txt(s.to_owned())
}

impl Encode for Txt {
    const TYPE: u32 = oid::TEXT;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(self.0.as_bytes());
        Ok(())
    }

    fn encode_binary(&self, _: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(self.0.as_bytes());
        Ok(())
    }
}

impl<'a> Decode<'a> for Txt {
    fn accepts(ty: u32) -> bool {
        matches!(ty, oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME)
    }

    fn decode_text(_: &Session, _: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        Ok(Txt(
            String::from_utf8(raw.to_vec()).map_err(|_| ValueError::InvalidUtf8)?
        ))
    }

    fn decode_binary(ty: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        Self::decode_text(&Session::UTC, ty, raw)
    }
}

/// Any type, read as the bytes themselves, borrowed.
#[derive(Debug, PartialEq)]
struct Raw<'a>(&'a [u8]);

impl<'a> Decode<'a> for Raw<'a> {
    fn accepts(_: u32) -> bool {
        true
    }

    fn decode_text(_: &Session, _: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        Ok(Raw(raw))
    }

    fn decode_binary(_: u32, raw: &'a [u8]) -> Result<Self, ValueError> {
        Ok(Raw(raw))
    }
}

/// A value whose encoding always fails (after writing something).
struct Broken;

impl Encode for Broken {
    const TYPE: u32 = oid::INT4;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(b"partial");
        Err(ValueError::OutOfRange {
            type_name: "integer",
        })
    }

    fn encode_binary(&self, _: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(b"partial");
        Err(ValueError::OutOfRange {
            type_name: "integer",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("\\x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn text_of<T: Encode + ?Sized>(v: &T) -> String {
    let mut out = BytesMut::new();
    assert!(encode(v, T::TYPE, Format::Text, &Session::UTC, &mut out).unwrap());
    String::from_utf8(out.to_vec()).unwrap()
}

fn binary_of<T: Encode + ?Sized>(v: &T, ty: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    assert!(encode(v, ty, Format::Binary, &Session::UTC, &mut out).unwrap());
    out.to_vec()
}

fn from_text<'a, T: Decode<'a>>(ty: u32, s: &'a str) -> Result<T, ValueError> {
    decode(Some(s.as_bytes()), ty, Format::Text, &Session::UTC)
}

fn from_binary<'a, T: Decode<'a>>(ty: u32, b: &'a [u8]) -> Result<T, ValueError> {
    decode(Some(b), ty, Format::Binary, &Session::UTC)
}

fn ints(v: &[Option<i32>]) -> Vec<Option<I32>> {
    v.iter().map(|x| x.map(I32)).collect()
}

fn state(e: &ValueError) -> String {
    e.sqlstate().as_str().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Arrays: text form.

#[test]
fn array_text_basic_forms() {
    assert_eq!(text_of(&vec![I32(1), I32(2), I32(3)]), "{1,2,3}");
    assert_eq!(text_of(&ints(&[Some(1), None, Some(-3)])), "{1,NULL,-3}");
    assert_eq!(text_of(&Vec::<I32>::new()), "{}");
    assert_eq!(text_of(&[I32(7)][..]), "{7}");
    assert_eq!(text_of(&Array::<I32>::default()), "{}");
    assert_eq!(text_of(&Array::from_values(vec![I32(4), I32(5)])), "{4,5}");
    // A NULL array is not written at all.
    let mut out = BytesMut::new();
    let none: Option<Vec<I32>> = None;
    assert!(
        !encode(
            &none,
            oid::INT4_ARRAY,
            Format::Text,
            &Session::UTC,
            &mut out
        )
        .unwrap()
    );
    assert!(out.is_empty());
}

#[test]
fn array_types_follow_their_elements() {
    assert_eq!(<Vec<I32> as Encode>::TYPE, oid::INT4_ARRAY);
    assert_eq!(<Vec<Option<Txt>> as Encode>::TYPE, oid::TEXT_ARRAY);
    assert_eq!(<Array<Txt> as Encode>::TYPE, oid::TEXT_ARRAY);
    assert_eq!(<[I32] as Encode>::TYPE, oid::INT4_ARRAY);
    // No array of arrays: the type is left unspecified, and writing one fails.
    assert_eq!(<Vec<Vec<I32>> as Encode>::TYPE, 0);
    let nested = vec![vec![I32(1)]];
    let mut out = BytesMut::new();
    let e = encode(&nested, 0, Format::Text, &Session::UTC, &mut out).unwrap_err();
    assert_eq!(state(&e), "42804");
    let e = encode(&nested, 0, Format::Binary, &Session::UTC, &mut out).unwrap_err();
    assert_eq!(state(&e), "42804");
    assert!(out.is_empty());
}

/// Every quoting rule of `array_out`, against the text PostgreSQL wrote for the same array.
#[test]
fn array_text_quoting_matches_postgres() {
    let elements = [
        Some("a"),
        Some("b c"),
        None,
        Some(""),
        Some("null"),
        Some("NULL"),
        Some("NuLl"),
        Some("a\\b"),
        Some("q\"x"),
        Some("{"),
        Some("}"),
        Some(","),
        Some(" lead"),
        Some("trail "),
        Some("tab\there"),
        Some("nl\nx"),
        Some("vt\x0bx"),
        Some("ff\x0cx"),
        Some("cr\rx"),
        Some("é"),
        Some("x y"),
        Some("a=b"),
        Some("[1]"),
        Some(":"),
        Some("'"),
        Some("NULLx"),
        Some("\\N"),
    ];
    let value: Vec<Option<Txt>> = elements.iter().map(|e| e.map(txt)).collect();
    // From PostgreSQL: encode(convert_to(ARRAY[...]::text[]::text, 'UTF8'), 'hex').
    let expected = hex(
        "7b612c22622063222c4e554c4c2c22222c226e756c6c222c224e554c4c222c224e754c6c222c22615c5c62\
         222c22715c2278222c227b222c227d222c222c222c22206c656164222c22747261696c20222c2274616209\
         68657265222c226e6c0a78222c2276740b78222c2266660c78222c2263720d78222cc3a92c22782079222c\
         613d622c5b315d2c3a2c272c4e554c4c782c225c5c4e227d",
    );
    assert_eq!(text_of(&value).as_bytes(), &expected[..]);
    // And it reads back as the same elements.
    let back: Vec<Option<Txt>> = from_text(oid::TEXT_ARRAY, &text_of(&value)).unwrap();
    assert_eq!(back, value);
}

/// Input PostgreSQL accepts, with the elements it read (checked with `unnest`).
#[test]
fn array_text_input_matches_postgres() {
    let input = r#"{a,"b c",NULL,"", null , "NULL", " x " ,  y z  , \"q, a\\b, \ , "\\"}"#;
    let got: Vec<Option<Txt>> = from_text(oid::TEXT_ARRAY, input).unwrap();
    let expected = [
        Some("a"),
        Some("b c"),
        None,
        Some(""),
        None,
        Some("NULL"),
        Some(" x "),
        Some("y z"),
        Some("\"q"),
        Some("a\\b"),
        Some(" "),
        Some("\\"),
    ];
    assert_eq!(got, expected.iter().map(|e| e.map(txt)).collect::<Vec<_>>());

    let cases: &[(&str, &[Option<&str>])] = &[
        ("{a b}", &[Some("a b")]),
        (r#"{"a" }"#, &[Some("a")]),
        (r#"{ "a"}"#, &[Some("a")]),
        (r#"{a\"b}"#, &[Some("a\"b")]),
        (r"{a\ }", &[Some("a ")]),
        (r"{ab\\}", &[Some("ab\\")]),
        (r"{NULL\\}", &[Some("NULL\\")]),
        (r#"{"NULL"}"#, &[Some("NULL")]),
        (r"{\NULL}", &[Some("NULL")]),
        ("{NULLx}", &[Some("NULLx")]),
        ("{ NULL }", &[None]),
        ("{a} ", &[Some("a")]),
        (" {1}", &[Some("1")]),
        ("{}", &[]),
        ("{ }", &[]),
        (" {\t}\n", &[]),
        ("[1:+2]={1,2}", &[Some("1"), Some("2")]),
        ("[1:2] ={1,2}", &[Some("1"), Some("2")]),
        ("[1:2]=  {1,2}", &[Some("1"), Some("2")]),
        ("[2]={1,2}", &[Some("1"), Some("2")]),
        ("{é,\"ü ö\"}", &[Some("é"), Some("ü ö")]),
    ];
    for (input, expected) in cases {
        let got: Vec<Option<Txt>> = from_text(oid::TEXT_ARRAY, input)
            .unwrap_or_else(|e| panic!("{input:?} should be accepted: {e}"));
        let expected: Vec<Option<Txt>> = expected.iter().map(|e| e.map(txt)).collect();
        assert_eq!(got, expected, "{input:?}");
    }
}

/// Literals PostgreSQL rejects as malformed (22P02).
#[test]
fn array_text_malformed_input_is_rejected_like_postgres() {
    let bad = [
        "{{}}",
        "{{},{}}",
        "{{1},{}}",
        "{1,{2}}",
        "{{1},2}",
        "{{1,2},{3}}",
        r#"{a"b"}"#,
        r#"{"a"b}"#,
        r#"{"a" "b"}"#,
        "{a,,b}",
        "{a,}",
        "{,}",
        "{,a}",
        r#"{"a}"#,
        "{a}x",
        "[1:2]={1}",
        "[1:0]={}",
        "[1:1]={}",
        r"{\}",
        "{{1,2}",
        "1",
        "",
        "   ",
        "{",
        "}",
        "{a{b}",
        "{a}b}",
        "[1:2]{1,2}",
        "[ 1:2]={1,2}",
        "[1:2 ]={1,2}",
        "[a]={1}",
        "[1:2]",
        "[1:2]=",
        "[]={}",
        "[1:]={1}",
        "{{{{{{{1}}}}}}}",
        "[1:1][1:1][1:1][1:1][1:1][1:1][1:1]={{{{{{{1}}}}}}}",
        "[2147483647:2147483647]={1}",
        "[2147483647:2147483648]={1,2}",
        "[0:2147483647]={1}",
        "[99999999999999999999]={1}",
        "{a}}",
        "{a},{b}",
        "{\"a\\",
        "{a\\",
    ];
    for input in bad {
        let e = from_text::<Vec<Option<Txt>>>(oid::TEXT_ARRAY, input)
            .expect_err(&format!("{input:?} should be rejected"));
        assert_eq!(state(&e), "22P02", "{input:?}: {e}");
    }
    // Element errors are the element type's.
    let e = from_text::<Vec<I32>>(oid::INT4_ARRAY, "{1,x}").unwrap_err();
    assert_eq!(state(&e), "22P02");
    let e = from_text::<Vec<I32>>(oid::INT4_ARRAY, "{1,NULL}").unwrap_err();
    assert_eq!(state(&e), "22004");
    let e =
        <Vec<Txt> as Decode>::decode_text(&Session::UTC, oid::TEXT_ARRAY, b"{a,\xff}").unwrap_err();
    assert_eq!(state(&e), "22021");
}

#[test]
fn array_lower_bounds_and_dimensions() {
    // From PostgreSQL: '[0:2]={1,2,3}'::int4[], '[-5:-4]={1,2}'::int4[].
    let zero = Array::with_lower_bound(ints(&[Some(1), Some(2), Some(3)]), 0);
    assert_eq!(text_of(&zero), "[0:2]={1,2,3}");
    assert_eq!(
        binary_of(&zero, oid::INT4_ARRAY),
        hex(
            "0000000100000000000000170000000300000000000000040000000100000004000000020000000400000003"
        )
    );
    let back: Array<I32> = from_text(oid::INT4_ARRAY, "[0:2]={1,2,3}").unwrap();
    assert_eq!(back, zero);
    let neg: Array<I32> = from_text(oid::INT4_ARRAY, "[-5:-4]={1,2}").unwrap();
    assert_eq!(
        neg.dims,
        [Dimension {
            len: 2,
            lower_bound: -5
        }]
    );
    assert_eq!(neg.dims[0].upper_bound(), -4);
    assert_eq!(text_of(&neg), "[-5:-4]={1,2}");
    let bin = hex("00000001000000000000001700000002fffffffb00000004000000010000000400000002");
    assert_eq!(binary_of(&neg, oid::INT4_ARRAY), bin);
    assert_eq!(
        from_binary::<Array<I32>>(oid::INT4_ARRAY, &bin).unwrap(),
        neg
    );
    // A Vec takes the elements whatever the lower bound.
    assert_eq!(
        from_binary::<Vec<I32>>(oid::INT4_ARRAY, &bin).unwrap(),
        [I32(1), I32(2)]
    );
    // The lowest lower bound PostgreSQL accepts.
    let min: Array<I32> = from_text(oid::INT4_ARRAY, "[-2147483648:-2147483648]={1}").unwrap();
    assert_eq!(text_of(&min), "[-2147483648:-2147483648]={1}");
    // Empty arrays have no dimensions, in both forms; a zero-length dimension is the same.
    let empty: Array<I32> = from_text(oid::INT4_ARRAY, "{}").unwrap();
    assert!(empty.dims.is_empty() && empty.is_empty());
    let zero_len = Array::<I32> {
        dims: vec![Dimension {
            len: 0,
            lower_bound: 1,
        }],
        elements: vec![],
    };
    assert_eq!(text_of(&zero_len), "{}");
    assert_eq!(
        binary_of(&zero_len, oid::INT4_ARRAY),
        hex("000000000000000000000017")
    );
}

#[test]
fn multidimensional_arrays() {
    // From PostgreSQL: '{{1,2},{3,4}}'::int4[] and '[-5:-4][3:3]={{1},{2}}'::int4[].
    let square: Array<I32> = from_text(oid::INT4_ARRAY, "{{1,2},{3,4}}").unwrap();
    assert_eq!(
        square.dims,
        [
            Dimension {
                len: 2,
                lower_bound: 1
            },
            Dimension {
                len: 2,
                lower_bound: 1
            }
        ]
    );
    assert_eq!(square.elements, ints(&[Some(1), Some(2), Some(3), Some(4)]));
    assert_eq!(text_of(&square), "{{1,2},{3,4}}");
    let bin = hex(
        "000000020000000000000017000000020000000100000002000000010000000400000001000000040000000200000004000000030000000400000004",
    );
    assert_eq!(binary_of(&square, oid::INT4_ARRAY), bin);
    assert_eq!(
        from_binary::<Array<I32>>(oid::INT4_ARRAY, &bin).unwrap(),
        square
    );

    let tall: Array<I32> = from_text(oid::INT4_ARRAY, "[-5:-4][3:3]={{1},{2}}").unwrap();
    assert_eq!(text_of(&tall), "[-5:-4][3:3]={{1},{2}}");
    let bin = hex(
        "00000002000000000000001700000002fffffffb000000010000000300000004000000010000000400000002",
    );
    assert_eq!(binary_of(&tall, oid::INT4_ARRAY), bin);

    let cube: Array<Txt> =
        from_text(oid::TEXT_ARRAY, "{{{a,b,c},{d,e,f}},{{g,h,i},{j,k,NULL}}}").unwrap();
    assert_eq!(
        cube.dims.iter().map(|d| d.len).collect::<Vec<_>>(),
        [2, 2, 3]
    );
    assert_eq!(text_of(&cube), "{{{a,b,c},{d,e,f}},{{g,h,i},{j,k,NULL}}}");
    let six: Array<I32> = from_text(oid::INT4_ARRAY, "{{{{{{1}}}}}}").unwrap();
    assert_eq!(six.dims.len(), 6);
    assert_eq!(text_of(&six), "{{{{{{1}}}}}}");

    // A Vec cannot hold more than one dimension.
    let e = from_text::<Vec<I32>>(oid::INT4_ARRAY, "{{1,2},{3,4}}").unwrap_err();
    assert_eq!(state(&e), "42804");
    let e = from_binary::<Vec<I32>>(oid::INT4_ARRAY, &bin).unwrap_err();
    assert_eq!(state(&e), "42804");
}

#[test]
fn inconsistent_dimensions_are_not_written() {
    let cases = [
        Array {
            dims: vec![Dimension {
                len: 3,
                lower_bound: 1,
            }],
            elements: ints(&[Some(1), Some(2)]),
        },
        Array {
            dims: vec![],
            elements: ints(&[Some(1)]),
        },
        Array {
            dims: vec![Dimension {
                len: -1,
                lower_bound: 1,
            }],
            elements: vec![],
        },
        Array {
            dims: vec![Dimension {
                len: 1,
                lower_bound: i32::MAX,
            }],
            elements: ints(&[Some(1)]),
        },
        Array {
            dims: vec![
                Dimension {
                    len: 1,
                    lower_bound: 1
                };
                7
            ],
            elements: ints(&[Some(1)]),
        },
    ];
    for a in &cases {
        let mut out = BytesMut::from(&b"keep"[..]);
        assert!(encode(a, oid::INT4_ARRAY, Format::Text, &Session::UTC, &mut out).is_err());
        assert!(encode(a, oid::INT4_ARRAY, Format::Binary, &Session::UTC, &mut out).is_err());
        assert_eq!(&out[..], b"keep");
    }
    // A failing element leaves nothing behind either.
    let mut out = BytesMut::from(&b"keep"[..]);
    assert!(encode(&vec![Broken], 0, Format::Text, &Session::UTC, &mut out).is_err());
    assert!(encode(&vec![Broken], 0, Format::Binary, &Session::UTC, &mut out).is_err());
    assert_eq!(&out[..], b"keep");
    // A scalar type is not an array type.
    let e = encode(
        &vec![I32(1)],
        oid::INT4,
        Format::Binary,
        &Session::UTC,
        &mut out,
    )
    .unwrap_err();
    assert_eq!(state(&e), "42804");
}

// ---------------------------------------------------------------------------------------------
// Arrays: binary form.

#[test]
fn array_binary_matches_postgres() {
    // From PostgreSQL: array_send(ARRAY[1,NULL]::int4[]).
    let v = ints(&[Some(1), None]);
    let bin = hex("00000001000000010000001700000002000000010000000400000001ffffffff");
    assert_eq!(binary_of(&v, oid::INT4_ARRAY), bin);
    assert_eq!(
        from_binary::<Vec<Option<I32>>>(oid::INT4_ARRAY, &bin).unwrap(),
        v
    );
    assert_eq!(
        from_binary::<Array<I32>>(oid::INT4_ARRAY, &bin).unwrap(),
        Array::new(v)
    );
    // array_send('{}'::int4[]).
    let empty = hex("000000000000000000000017");
    assert_eq!(binary_of(&Vec::<I32>::new(), oid::INT4_ARRAY), empty);
    assert_eq!(binary_of(&Vec::<I32>::new(), 0), empty);
    assert!(
        from_binary::<Vec<I32>>(oid::INT4_ARRAY, &empty)
            .unwrap()
            .is_empty()
    );
    // array_send(ARRAY['a',NULL,'']::text[]) and array_send(ARRAY['é',NULL,'a b']::text[]).
    let t = vec![Some(txt("a")), None, Some(txt(""))];
    let bin = hex("00000001000000010000001900000003000000010000000161ffffffff00000000");
    assert_eq!(binary_of(&t, oid::TEXT_ARRAY), bin);
    assert_eq!(
        from_binary::<Vec<Option<Txt>>>(oid::TEXT_ARRAY, &bin).unwrap(),
        t
    );
    let t = vec![Some(txt("é")), None, Some(txt("a b"))];
    let bin = hex("000000010000000100000019000000030000000100000002c3a9ffffffff00000003612062");
    assert_eq!(binary_of(&t, oid::TEXT_ARRAY), bin);
    // array_send(ARRAY['x']::varchar[]): the element OID follows the array type asked for.
    let bin = hex("00000001000000000000041300000001000000010000000178");
    assert_eq!(binary_of(&vec![txt("x")], oid::VARCHAR_ARRAY), bin);
    assert_eq!(
        from_binary::<Vec<Txt>>(oid::VARCHAR_ARRAY, &bin).unwrap(),
        [txt("x")]
    );
}

#[test]
fn array_element_type_mismatch_is_refused() {
    let int4s = hex("00000001000000010000001700000002000000010000000400000001ffffffff");
    // The data says int4; the column says text[].
    let e = from_binary::<Vec<Option<Txt>>>(oid::TEXT_ARRAY, &int4s).unwrap_err();
    assert!(
        matches!(e, ValueError::WrongType { ty: oid::INT4, .. }),
        "{e}"
    );
    assert_eq!(state(&e), "42804");
    // Varchar data is not text data either, as array_recv checks the exact OID.
    let varchars = hex("00000001000000000000041300000001000000010000000178");
    let e = from_binary::<Vec<Txt>>(oid::TEXT_ARRAY, &varchars).unwrap_err();
    assert_eq!(state(&e), "42804");
    // The Rust element type must accept the array's element type.
    let e = from_binary::<Vec<Option<Txt>>>(oid::INT4_ARRAY, &int4s).unwrap_err();
    assert_eq!(state(&e), "42804");
    let e = from_text::<Vec<I32>>(oid::TEXT_ARRAY, "{1}").unwrap_err();
    assert_eq!(state(&e), "42804");
    // Not an array type at all.
    let e = from_text::<Vec<I32>>(oid::INT4, "{1}").unwrap_err();
    assert_eq!(state(&e), "42804");
    assert!(!<Vec<I32> as Decode>::accepts(oid::INT4));
    assert!(<Vec<I32> as Decode>::accepts(oid::INT4_ARRAY));
    assert!(<Array<Txt> as Decode>::accepts(oid::VARCHAR_ARRAY));
    assert!(!<Array<Txt> as Decode>::accepts(0));
    // Decoding directly (without the `accepts` check of `decode`) checks too.
    let e = <Vec<I32> as Decode>::decode_binary(oid::INT4, &int4s).unwrap_err();
    assert_eq!(state(&e), "42804");
}

#[test]
fn malformed_binary_arrays_are_errors() {
    let header = |ndim: i32, flags: i32, elem: u32| {
        let mut b = Vec::new();
        b.extend(ndim.to_be_bytes());
        b.extend(flags.to_be_bytes());
        b.extend(elem.to_be_bytes());
        b
    };
    let with = |mut b: Vec<u8>, words: &[i32]| {
        for w in words {
            b.extend(w.to_be_bytes());
        }
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty input", vec![], "08P01"),
        ("short header", vec![0, 0, 0, 1, 0, 0], "08P01"),
        ("missing dimensions", header(1, 0, 23), "08P01"),
        ("half a dimension", with(header(1, 0, 23), &[1]), "08P01"),
        ("negative ndim", header(-1, 0, 23), "22P03"),
        ("seven dimensions", header(7, 0, 23), "22P03"),
        ("bad flags", header(0, 2, 23), "22P03"),
        ("negative length", with(header(1, 0, 23), &[-1, 1]), "22P03"),
        (
            "upper bound overflow",
            with(header(1, 0, 23), &[1, i32::MAX, 4, 1]),
            "22P03",
        ),
        // A huge element count with no data behind it: refused before any allocation.
        (
            "huge count",
            with(header(1, 0, 23), &[i32::MAX, 1]),
            "22P03",
        ),
        (
            "huge product",
            with(header(3, 0, 23), &[65536, 1, 65536, 1, 65536, 1]),
            "22P03",
        ),
        (
            "missing element",
            with(header(1, 0, 23), &[2, 1, 4, 7]),
            "22P03",
        ),
        (
            "element too long",
            with(header(1, 0, 23), &[1, 1, 8, 7]),
            "22P03",
        ),
        (
            "element length -2",
            with(header(1, 0, 23), &[1, 1, -2]),
            "22P03",
        ),
        (
            "trailing bytes",
            with(header(1, 0, 23), &[1, 1, 4, 7, 0]),
            "22P03",
        ),
        (
            "trailing after empty",
            with(header(0, 0, 23), &[0]),
            "22P03",
        ),
        (
            "short element",
            with(header(1, 0, 23), &[1, 1, 2, 0]),
            "08P01",
        ),
    ];
    for (what, bytes, code) in cases {
        let e = from_binary::<Vec<Option<I32>>>(oid::INT4_ARRAY, &bytes).expect_err(what);
        assert_eq!(state(&e), code, "{what}: {e}");
        let e = from_binary::<Array<I32>>(oid::INT4_ARRAY, &bytes).expect_err(what);
        assert_eq!(state(&e), code, "{what}: {e}");
    }
    // A dimension of length zero is the empty array.
    let zero = with(header(1, 0, 23), &[0, 1]);
    let a = from_binary::<Array<I32>>(oid::INT4_ARRAY, &zero).unwrap();
    assert!(a.dims.is_empty() && a.elements.is_empty());
    // The has-nulls flag is not checked against the elements (array_recv does not either).
    let flagged = with(header(1, 1, 23), &[1, 1, 4, 7]);
    assert_eq!(
        from_binary::<Vec<I32>>(oid::INT4_ARRAY, &flagged).unwrap(),
        [I32(7)]
    );
}

fn element_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => prop::sample::select(vec!["", "NULL", "null", " ", "\\", "\"", "{}", ",", "a b"])
            .prop_map(|s| Some(s.to_owned())),
        6 => "[a-c{}\", \\\\\t\nNUL\u{e9}\u{1F600}]{0,8}".prop_map(Some),
    ]
}

proptest! {
    #[test]
    fn text_arrays_round_trip(
        elements in prop::collection::vec(element_text(), 0..12),
        lower in -3i32..3,
    ) {
        let value = Array::with_lower_bound(
            elements.iter().map(|e| e.as_deref().map(txt)).collect(),
            lower,
        );
        let text = text_of(&value);
        let back: Array<Txt> = from_text(oid::TEXT_ARRAY, &text).unwrap();
        prop_assert_eq!(&back, &value);
        let bin = binary_of(&value, oid::TEXT_ARRAY);
        let back: Array<Txt> = from_binary(oid::TEXT_ARRAY, &bin).unwrap();
        prop_assert_eq!(&back, &value);
        // Vec reads the same elements, whatever the lower bound.
        let flat: Vec<Option<Txt>> = from_text(oid::TEXT_ARRAY, &text).unwrap();
        prop_assert_eq!(&flat, &value.elements);
    }

    #[test]
    fn int_arrays_round_trip(elements in prop::collection::vec(any::<Option<i32>>(), 0..20)) {
        let value = ints(&elements);
        let text = text_of(&value);
        prop_assert_eq!(from_text::<Vec<Option<I32>>>(oid::INT4_ARRAY, &text).unwrap(), value.clone());
        let bin = binary_of(&value, oid::INT4_ARRAY);
        prop_assert_eq!(from_binary::<Vec<Option<I32>>>(oid::INT4_ARRAY, &bin).unwrap(), value);
    }

    #[test]
    fn array_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = from_binary::<Array<I32>>(oid::INT4_ARRAY, &bytes);
        let _ = from_binary::<Vec<Option<Txt>>>(oid::TEXT_ARRAY, &bytes);
        let _ = <Array<Txt> as Decode>::decode_text(&Session::UTC, oid::TEXT_ARRAY, &bytes);
    }

    #[test]
    fn array_text_decoding_never_panics(s in "[\\[\\]{}\",\\\\ :=0-9aN-]{0,24}") {
        let _ = from_text::<Array<Txt>>(oid::TEXT_ARRAY, &s);
    }
}

// ---------------------------------------------------------------------------------------------
// Binary COPY.

/// What PostgreSQL 15 wrote for
/// `COPY (SELECT i AS n, CASE WHEN i=2 THEN NULL ELSE 'row ' || i END AS t,
///   ARRAY[i, NULL, -i]::int4[] AS a,
///   ARRAY['x', CASE WHEN i = 3 THEN NULL ELSE 'y z' END]::text[] AS ta,
///   (i * 10000000000)::int8 AS big, i % 2 = 0 AS b FROM generate_series(1,3) i ORDER BY i)
///   TO '...' WITH (FORMAT binary)` (through psql's `\copy`).
const POSTGRES_COPY: &str = "\
5047434f50590aff0d0a0000000000000000000006000000040000000100000005726f77203100000028000000010000\
00010000001700000003000000010000000400000001ffffffff00000004ffffffff0000002000000001000000000000\
0019000000020000000100000001780000000379207a0000000800000002540be4000000000100000600000004000000\
02ffffffff0000002800000001000000010000001700000003000000010000000400000002ffffffff00000004ffffff\
fe00000020000000010000000000000019000000020000000100000001780000000379207a0000000800000004a817c8\
0000000001010006000000040000000300000005726f7720330000002800000001000000010000001700000003000000\
010000000400000003ffffffff00000004fffffffd0000001d0000000100000001000000190000000200000001000000\
0178ffffffff0000000800000006fc23ac000000000100ffff";

/// The rows of [`POSTGRES_COPY`], decoded.
type CopyRow = (
    i32,
    Option<Txt>,
    Vec<Option<I32>>,
    Vec<Option<Txt>>,
    i64,
    bool,
);

fn expected_copy_rows() -> Vec<CopyRow> {
    (1..=3)
        .map(|i| {
            (
                i,
                (i != 2).then(|| Txt(format!("row {i}"))),
                ints(&[Some(i), None, Some(-i)]),
                vec![Some(txt("x")), (i != 3).then(|| txt("y z"))],
                i64::from(i) * 10_000_000_000,
                i % 2 == 0,
            )
        })
        .collect()
}

/// Writes the rows of [`POSTGRES_COPY`] with the writer.
fn write_copy_rows(rows: &[CopyRow]) -> BytesMut {
    let mut w = BinaryCopyWriter::new();
    let mut out = BytesMut::new();
    w.header(&mut out).unwrap();
    for (n, t, a, ta, big, b) in rows {
        w.begin_row(&mut out, 6).unwrap();
        w.field(&mut out, &I32(*n), oid::INT4).unwrap();
        w.field(&mut out, t, oid::TEXT).unwrap();
        w.field(&mut out, a, oid::INT4_ARRAY).unwrap();
        w.field(&mut out, ta, oid::TEXT_ARRAY).unwrap();
        w.raw(&mut out, &big.to_be_bytes()).unwrap();
        w.raw(&mut out, &[u8::from(*b)]).unwrap();
        assert_eq!(w.fields_left(), 0);
    }
    w.finish(&mut out).unwrap();
    out
}

/// Reads all rows from `chunks`, fed one at a time, decoding them as [`CopyRow`]s.
fn read_copy_rows(chunks: impl IntoIterator<Item = Bytes>) -> Vec<CopyRow> {
    let mut r = BinaryCopyReader::with_fields(6);
    let mut rows = Vec::new();
    for chunk in chunks {
        r.feed(chunk);
        while let Some(row) = r.next_row().unwrap() {
            rows.push(decode_copy_row(&row));
        }
    }
    assert!(r.is_done());
    r.finish().unwrap();
    rows
}

fn decode_copy_row(row: &pgproto::message::Values) -> CopyRow {
    let f: Vec<Option<&[u8]>> = row.iter().collect();
    assert_eq!(f.len(), 6);
    let s = Session::UTC;
    let bin = Format::Binary;
    let big: Raw = decode(f[4], oid::INT8, bin, &s).unwrap();
    let b: Raw = decode(f[5], oid::BOOL, bin, &s).unwrap();
    (
        decode::<I32>(f[0], oid::INT4, bin, &s).unwrap().0,
        decode(f[1], oid::TEXT, bin, &s).unwrap(),
        decode(f[2], oid::INT4_ARRAY, bin, &s).unwrap(),
        decode(f[3], oid::TEXT_ARRAY, bin, &s).unwrap(),
        i64::from_be_bytes(big.0.try_into().unwrap()),
        b.0 == [1],
    )
}

#[test]
fn copy_file_from_postgres_is_read() {
    let file = Bytes::from(hex(POSTGRES_COPY));
    assert_eq!(read_copy_rows([file.clone()]), expected_copy_rows());
    // The writer produces the very same bytes.
    assert_eq!(&write_copy_rows(&expected_copy_rows())[..], &file[..]);
}

#[test]
fn copy_rows_borrow_the_chunk() {
    let file = Bytes::from(hex(POSTGRES_COPY));
    let mut r = BinaryCopyReader::new();
    r.feed(file.clone());
    let row = r.next_row().unwrap().unwrap();
    let first = row.iter().next().unwrap().unwrap();
    // The field is a slice of the fed chunk, not a copy.
    let range = file.as_ptr() as usize..file.as_ptr() as usize + file.len();
    assert!(range.contains(&(first.as_ptr() as usize)));
    assert_eq!(first, [0, 0, 0, 1]);
}

#[test]
fn copy_is_read_one_byte_at_a_time() {
    let file = hex(POSTGRES_COPY);
    let chunks = file.iter().map(|&b| Bytes::copy_from_slice(&[b]));
    assert_eq!(read_copy_rows(chunks), expected_copy_rows());
    // And through the copying entry point.
    let mut r = BinaryCopyReader::new();
    let mut rows = Vec::new();
    for b in &file {
        r.feed_slice(&[*b]);
        while let Some(row) = r.next_row().unwrap() {
            rows.push(decode_copy_row(&row));
        }
    }
    assert_eq!(rows, expected_copy_rows());
    assert!(r.is_done());
    assert_eq!(r.buffered(), 0);
}

#[test]
fn copy_is_read_at_every_split_point() {
    let file = Bytes::from(hex(POSTGRES_COPY));
    let expected = expected_copy_rows();
    for i in 0..=file.len() {
        let chunks = [file.slice(..i), file.slice(i..)];
        assert_eq!(read_copy_rows(chunks), expected, "split at {i}");
    }
    // Three pieces, at every pair of points (a row may span all three).
    for i in (0..=file.len()).step_by(3) {
        for j in (i..=file.len()).step_by(5) {
            let chunks = [file.slice(..i), file.slice(i..j), file.slice(j..)];
            assert_eq!(read_copy_rows(chunks), expected, "split at {i} and {j}");
        }
    }
}

#[test]
fn copy_chunks_fed_before_draining_keep_their_order() {
    let file = Bytes::from(hex(POSTGRES_COPY));
    let mut r = BinaryCopyReader::new();
    for piece in file.chunks(7) {
        r.feed(Bytes::copy_from_slice(piece));
    }
    let mut rows = Vec::new();
    while let Some(row) = r.next_row().unwrap() {
        rows.push(decode_copy_row(&row));
    }
    assert_eq!(rows, expected_copy_rows());
    assert!(r.is_done());
}

#[test]
fn copy_round_trip_with_odd_rows() {
    let mut w = BinaryCopyWriter::new();
    let mut out = BytesMut::new();
    w.header(&mut out).unwrap();
    w.begin_row(&mut out, 0).unwrap();
    w.begin_row(&mut out, 3).unwrap();
    w.null(&mut out).unwrap();
    w.field(&mut out, &None::<I32>, oid::INT4).unwrap();
    w.raw(&mut out, b"").unwrap();
    w.finish(&mut out).unwrap();
    let mut r = BinaryCopyReader::new();
    r.feed(out.freeze());
    assert_eq!(r.next_row().unwrap().unwrap().len(), 0);
    let row = r.next_row().unwrap().unwrap();
    assert_eq!(row.iter().collect::<Vec<_>>(), [None, None, Some(&b""[..])]);
    assert!(r.next_row().unwrap().is_none());
    assert!(r.is_done());
    r.finish().unwrap();
}

fn copy_header(flags: u32, ext: &[u8]) -> Vec<u8> {
    let mut b = BinaryCopyWriter::SIGNATURE.to_vec();
    b.extend(flags.to_be_bytes());
    b.extend((ext.len() as i32).to_be_bytes());
    b.extend(ext);
    b
}

/// Feeds `bytes` and reads until an error or the end; returns the error's SQLSTATE and text.
fn copy_error(reader: &mut BinaryCopyReader, bytes: &[u8]) -> Option<(String, String)> {
    reader.feed(Bytes::copy_from_slice(bytes));
    loop {
        match reader.next_row() {
            Ok(Some(_)) => continue,
            Ok(None) => {
                return reader
                    .finish()
                    .err()
                    .map(|e| (e.sqlstate().as_str().to_owned(), e.to_string()));
            }
            Err(e) => return Some((e.sqlstate().as_str().to_owned(), e.to_string())),
        }
    }
}

#[test]
fn copy_stream_errors() {
    let ok_row = |b: &mut Vec<u8>| b.extend([0, 1, 0, 0, 0, 1, b'x']);
    let trailer = [0xff, 0xff];
    let cases: Vec<(&str, Vec<u8>, Option<u16>, &str)> = vec![
        (
            "bad signature",
            b"PGCOPY\n\xff\r\n\x01".to_vec(),
            None,
            "COPY file signature not recognized",
        ),
        (
            "text COPY data",
            b"1\tfoo\n".to_vec(),
            None,
            "COPY file signature not recognized",
        ),
        (
            "empty stream",
            vec![],
            None,
            "COPY file signature not recognized",
        ),
        (
            "short signature",
            b"PGCOPY".to_vec(),
            None,
            "COPY file signature not recognized",
        ),
        (
            "missing flags",
            BinaryCopyWriter::SIGNATURE.to_vec(),
            None,
            "invalid COPY file header (missing flags)",
        ),
        (
            "missing length",
            copy_header(0, &[])[..15].to_vec(),
            None,
            "invalid COPY file header (missing length)",
        ),
        (
            "short extension",
            copy_header(0, b"abc")[..20].to_vec(),
            None,
            "invalid COPY file header (wrong length)",
        ),
        (
            "OIDs",
            copy_header(1 << 16, &[]),
            None,
            "invalid COPY file header (WITH OIDS)",
        ),
        (
            "critical flag",
            copy_header(1 << 17, &[]),
            None,
            "unrecognized critical flags in COPY file header",
        ),
        (
            "negative extension",
            {
                let mut b = copy_header(0, &[]);
                b[15..19].copy_from_slice(&(-1i32).to_be_bytes());
                b
            },
            None,
            "invalid COPY file header (missing length)",
        ),
        (
            "field count",
            {
                let mut b = copy_header(0, &[]);
                ok_row(&mut b);
                b
            },
            Some(2),
            "row field count is 1, expected 2",
        ),
        (
            "negative field count",
            {
                let mut b = copy_header(0, &[]);
                b.extend([0xff, 0xfe]);
                b
            },
            None,
            "invalid row field count -2",
        ),
        (
            "field size",
            {
                let mut b = copy_header(0, &[]);
                b.extend([0, 1, 0xff, 0xff, 0xff, 0xfe]);
                b
            },
            None,
            "invalid field size",
        ),
        (
            "truncated row",
            {
                let mut b = copy_header(0, &[]);
                b.extend([0, 2, 0, 0, 0, 1, b'x', 0, 0]);
                b
            },
            None,
            "unexpected EOF in COPY data",
        ),
        (
            "truncated count",
            {
                let mut b = copy_header(0, &[]);
                b.push(0);
                b
            },
            None,
            "unexpected EOF in COPY data",
        ),
        (
            "data after trailer",
            {
                let mut b = copy_header(0, &[]);
                b.extend(trailer);
                ok_row(&mut b);
                b
            },
            None,
            "received copy data after EOF marker",
        ),
    ];
    for (what, bytes, fields, message) in cases {
        let mut r = match fields {
            Some(n) => BinaryCopyReader::with_fields(n),
            None => BinaryCopyReader::new(),
        };
        let (code, text) = copy_error(&mut r, &bytes).unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!(code, "22P04", "{what}");
        assert_eq!(text, message, "{what}");
        // Errors are sticky (or, found at the end, stay the same).
        let again = r.next_row().err().or(r.finish().err()).expect(what);
        assert_eq!(again.to_string(), message, "{what}");
    }

    // A wrong first byte is reported at once, without waiting for the whole signature.
    let mut r = BinaryCopyReader::new();
    r.feed(Bytes::from_static(b"C"));
    assert_eq!(
        r.next_row().unwrap_err().to_string(),
        "COPY file signature not recognized"
    );

    // What is accepted: an extension is skipped, low flag bits are ignored, and like
    // PostgreSQL a stream may end between rows without the trailer.
    let mut b = copy_header(0x0000_ffff, b"extension data");
    ok_row(&mut b);
    let mut r = BinaryCopyReader::with_fields(1);
    assert_eq!(copy_error(&mut r, &b), None);
    assert!(!r.is_done());
    let mut b = copy_header(0, &[]);
    ok_row(&mut b);
    b.extend(trailer);
    let mut r = BinaryCopyReader::new();
    assert_eq!(copy_error(&mut r, &b), None);
    assert!(r.is_done());
}

#[test]
fn copy_declared_lengths_allocate_nothing() {
    // A field that claims 2 GB, and an extension that claims 2 GB: the reader holds only what
    // arrived.
    let mut b = copy_header(0, &[]);
    b.extend([0, 1, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    let mut r = BinaryCopyReader::new();
    r.feed(Bytes::from(b));
    assert!(r.next_row().unwrap().is_none());
    assert_eq!(r.buffered(), 9);
    r.feed(Bytes::from_static(&[4; 100]));
    assert!(r.next_row().unwrap().is_none());
    assert_eq!(r.buffered(), 109);
    assert_eq!(
        r.finish().unwrap_err().to_string(),
        "unexpected EOF in COPY data"
    );

    let mut b = copy_header(0, &[]);
    b[15..19].copy_from_slice(&i32::MAX.to_be_bytes());
    b.extend([9; 1000]);
    let mut r = BinaryCopyReader::new();
    r.feed(Bytes::from(b));
    assert!(r.next_row().unwrap().is_none());
    assert_eq!(r.buffered(), 0);
    assert_eq!(
        r.finish().unwrap_err().to_string(),
        "invalid COPY file header (wrong length)"
    );
}

#[test]
fn copy_writer_misuse_is_an_error() {
    let mut out = BytesMut::new();
    let mut w = BinaryCopyWriter::new();
    assert!(w.begin_row(&mut out, 1).is_err());
    assert!(w.finish(&mut out).is_err());
    assert!(out.is_empty());
    w.header(&mut out).unwrap();
    assert!(w.header(&mut out).is_err());
    assert!(w.null(&mut out).is_err());
    let e = w.begin_row(&mut out, 40_000).unwrap_err();
    assert_eq!(e.sqlstate().as_str(), "54000");
    w.begin_row(&mut out, 2).unwrap();
    w.null(&mut out).unwrap();
    let e = w.finish(&mut out).unwrap_err();
    assert_eq!(e.sqlstate().as_str(), "XX000");
    assert!(w.begin_row(&mut out, 1).is_err());
    // A failing value writes nothing and keeps the row open.
    let len = out.len();
    let e = w.field(&mut out, &Broken, oid::INT4).unwrap_err();
    assert_eq!(e.sqlstate().as_str(), "22003");
    assert_eq!(out.len(), len);
    assert_eq!(w.fields_left(), 1);
    w.field(&mut out, &I32(5), oid::INT4).unwrap();
    assert!(w.field(&mut out, &I32(6), oid::INT4).is_err());
    w.finish(&mut out).unwrap();
    assert!(w.begin_row(&mut out, 0).is_err());

    let mut r = BinaryCopyReader::new();
    r.feed(out.freeze());
    let row = r.next_row().unwrap().unwrap();
    assert_eq!(
        row.iter().collect::<Vec<_>>(),
        [None, Some(&[0, 0, 0, 5][..])]
    );
    assert!(r.next_row().unwrap().is_none());
    assert!(r.is_done());
}

proptest! {
    #[test]
    fn copy_reader_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..64),
        split in 0usize..80,
    ) {
        let mut bytes = copy_header(0, &[]);
        bytes.extend(body);
        let split = split.min(bytes.len());
        let mut r = BinaryCopyReader::new();
        for chunk in [&bytes[..split], &bytes[split..]] {
            r.feed(Bytes::copy_from_slice(chunk));
            while let Ok(Some(_)) = r.next_row() {}
        }
        let _ = r.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Row writer.

fn decode_backend(out: &mut BytesMut) -> Vec<BackendMessage> {
    let mut d = BackendDecoder::new();
    let mut msgs = Vec::new();
    while let Some(m) = d.decode(out).unwrap() {
        msgs.push(m);
    }
    assert!(out.is_empty(), "left over: {out:?}");
    msgs
}

fn row_values(m: &BackendMessage) -> Vec<Option<Vec<u8>>> {
    match m {
        BackendMessage::DataRow(row) => row.values().map(|v| v.map(<[u8]>::to_vec)).collect(),
        other => panic!("not a DataRow: {other:?}"),
    }
}

#[test]
fn row_writer_rows_decode() {
    let mut out = BytesMut::new();
    let s = Session::UTC;
    let mut row = RowWriter::begin(&mut out);
    row.int(42).unwrap();
    row.int(i64::MIN).unwrap();
    row.int(i64::MAX).unwrap();
    row.int(0).unwrap();
    row.int(-7).unwrap();
    row.null().unwrap();
    row.raw(b"hello").unwrap();
    row.float(1.5).unwrap();
    row.value(&I32(-12), oid::INT4, Format::Text, &s).unwrap();
    row.value(&I32(258), oid::INT4, Format::Binary, &s).unwrap();
    row.value(&None::<I32>, oid::INT4, Format::Text, &s)
        .unwrap();
    row.value(&ints(&[Some(1), None]), oid::INT4_ARRAY, Format::Text, &s)
        .unwrap();
    row.value(&vec![txt("a b")], oid::TEXT_ARRAY, Format::Binary, &s)
        .unwrap();
    assert_eq!(row.columns(), 13);
    row.finish().unwrap();
    // An empty row, and a second row after it.
    RowWriter::begin(&mut out).finish().unwrap();
    let mut row = RowWriter::begin(&mut out);
    row.raw(b"").unwrap();
    row.finish().unwrap();

    let msgs = decode_backend(&mut out);
    assert_eq!(msgs.len(), 3);
    let v = |s: &[u8]| Some(s.to_vec());
    assert_eq!(
        row_values(&msgs[0]),
        [
            v(b"42"),
            v(b"-9223372036854775808"),
            v(b"9223372036854775807"),
            v(b"0"),
            v(b"-7"),
            None,
            v(b"hello"),
            v(b"1.5"),
            v(b"-12"),
            v(&[0, 0, 1, 2]),
            None,
            v(b"{1,NULL}"),
            Some(hex(
                "000000010000000000000019000000010000000100000003612062"
            )),
        ]
    );
    assert!(row_values(&msgs[1]).is_empty());
    assert_eq!(row_values(&msgs[2]), [v(b"")]);
}

#[test]
fn row_writer_float_text_matches_postgres() {
    // From PostgreSQL: SELECT v::text FROM unnest(ARRAY[...]::float8[]) v.
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.1, "0.1"),
        (1.5, "1.5"),
        (100.0, "100"),
        (1e14, "100000000000000"),
        (123456789012345.0, "123456789012345"),
        (1e15, "1e+15"),
        (1e16, "1e+16"),
        (1.5e15, "1.5e+15"),
        (0.0001, "0.0001"),
        (0.00012345, "0.00012345"),
        (0.00001, "1e-05"),
        (1.5e-5, "1.5e-05"),
        (1e-300, "1e-300"),
        (1e300, "1e+300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
        (core::f64::consts::PI, "3.141592653589793"),
        (core::f64::consts::E, "2.718281828459045"),
        (1e21, "1e+21"),
        (1e22, "1e+22"),
        (1e100, "1e+100"),
        (123.456, "123.456"),
        (-0.000123, "-0.000123"),
        (9007199254740993.0, "9.007199254740992e+15"),
        (0.3, "0.3"),
        (2e-7, "2e-07"),
        (99999999999999.9, "99999999999999.9"),
        (999999999999999.9, "999999999999999.9"),
        (4.35, "4.35"),
        (12345678.9, "12345678.9"),
        // Exact ties between two candidates go to the even one.
        (1.6254518384547163e14, "162545183845471.62"),
        // A decimal exactly on the edge of the rounding interval is not used: PostgreSQL's
        // Ryu takes the shortest one strictly inside.
        (6.897510458476602e16, "6.8975104584766016e+16"),
        (-1.990792989142192e18, "-1.9907929891421921e+18"),
        (6.383289713488128e19, "6.3832897134881276e+19"),
        (1e23, "9.999999999999999e+22"),
        (1152921504606846976.0, "1.152921504606847e+18"),
        (8.98846567431158e307, "8.98846567431158e+307"),
        (9007199254740994.0, "9.007199254740994e+15"),
        (123456789012345678.0, "1.2345678901234568e+17"),
    ];
    for &(value, text) in cases {
        let mut out = BytesMut::new();
        let mut row = RowWriter::begin(&mut out);
        row.float(value).unwrap();
        row.finish().unwrap();
        let msgs = decode_backend(&mut out);
        assert_eq!(
            row_values(&msgs[0]),
            [Some(text.as_bytes().to_vec())],
            "{value:e}"
        );
    }
}

#[test]
fn row_writer_rolls_back_on_error() {
    let mut out = BytesMut::new();
    let mut row = RowWriter::begin(&mut out);
    row.int(1).unwrap();
    row.finish().unwrap();
    let done = out.len();

    let mut row = RowWriter::begin(&mut out);
    row.int(2).unwrap();
    let e = row
        .value(&Broken, oid::INT4, Format::Text, &Session::UTC)
        .unwrap_err();
    assert_eq!(state(&e), "22003");
    // Every later call returns the error and writes nothing.
    assert_eq!(row.int(3).unwrap_err(), e);
    assert_eq!(row.null().unwrap_err(), e);
    assert_eq!(row.raw(b"x").unwrap_err(), e);
    assert_eq!(row.float(1.0).unwrap_err(), e);
    assert_eq!(row.finish().unwrap_err(), e);
    assert_eq!(out.len(), done);

    // A row dropped unfinished is taken back too.
    {
        let mut row = RowWriter::begin(&mut out);
        row.int(4).unwrap();
    }
    assert_eq!(out.len(), done);
    let msgs = decode_backend(&mut out);
    assert_eq!(row_values(&msgs[0]), [Some(b"1".to_vec())]);
}

#[test]
fn row_writer_refuses_a_65536th_column() {
    let mut out = BytesMut::new();
    let mut row = RowWriter::begin(&mut out);
    for _ in 0..u16::MAX {
        row.null().unwrap();
    }
    assert!(row.null().is_err());
    assert!(row.finish().is_err());
    assert!(out.is_empty());
}

#[test]
fn columns_describe_rows() {
    let cols = [
        column("id", oid::INT4, Format::Binary),
        column("name", oid::TEXT, Format::Text),
        column("tags", oid::TEXT_ARRAY, Format::Text),
        column("at", oid::TIMESTAMPTZ, Format::Binary),
        column("custom", 99999, Format::Text),
    ];
    assert_eq!(
        cols.iter().map(|c| c.type_size).collect::<Vec<_>>(),
        [4, -1, -1, 8, -1]
    );
    assert!(
        cols.iter()
            .all(|c| c.type_modifier == -1 && c.table_oid == 0 && c.column_id == 0)
    );
    let mut out = BytesMut::new();
    RowDescription::write(&mut out, cols).unwrap();
    let msgs = decode_backend(&mut out);
    let BackendMessage::RowDescription(desc) = &msgs[0] else {
        panic!("{:?}", msgs[0]);
    };
    assert_eq!(desc.fields().collect::<Vec<_>>(), cols);
    assert_eq!(desc.fields().next().unwrap().name, b"id");
    assert_eq!(desc.fields().next().unwrap().format, 1);
}

// ---------------------------------------------------------------------------------------------
// Bind parameters.

fn bind(formats: &[i16], params: &[Option<&[u8]>]) -> Bind {
    Bind::new("", "", formats, params, &[]).unwrap()
}

#[test]
fn decode_param_format_codes() {
    let s = Session::UTC;
    let types = [oid::INT4, oid::INT4];
    let text: &[u8] = b"17";
    let binary: &[u8] = &[0, 0, 0, 17];

    // No codes: all text.
    let b = bind(&[], &[Some(text), Some(b"-3")]);
    assert_eq!(decode_param::<I32>(&b, 0, &types, &s).unwrap(), I32(17));
    assert_eq!(decode_param::<I32>(&b, 1, &types, &s).unwrap(), I32(-3));
    // One code: for every parameter.
    let b = bind(&[1], &[Some(binary), Some(binary)]);
    assert_eq!(decode_param::<I32>(&b, 1, &types, &s).unwrap(), I32(17));
    let b = bind(&[0], &[Some(text), Some(text)]);
    assert_eq!(decode_param::<I32>(&b, 1, &types, &s).unwrap(), I32(17));
    // One code per parameter.
    let b = bind(&[1, 0], &[Some(binary), Some(text)]);
    assert_eq!(decode_param::<I32>(&b, 0, &types, &s).unwrap(), I32(17));
    assert_eq!(decode_param::<I32>(&b, 1, &types, &s).unwrap(), I32(17));
    // Text sent as binary (or the reverse) is the type's error.
    let b = bind(&[0, 1], &[Some(binary), Some(text)]);
    assert_eq!(
        state(&decode_param::<I32>(&b, 0, &types, &s).unwrap_err()),
        "22P02"
    );
    assert_eq!(
        state(&decode_param::<I32>(&b, 1, &types, &s).unwrap_err()),
        "08P01"
    );
    // Other codes: 22023, as PostgreSQL reports them, even for NULL.
    for code in [2, -1, i16::MAX] {
        let b = bind(&[code, 0], &[Some(text), None]);
        let e = decode_param::<I32>(&b, 0, &types, &s).unwrap_err();
        assert_eq!(e, ValueError::UnsupportedFormat { code });
        assert_eq!(state(&e), "22023");
        assert_eq!(e.to_string(), format!("unsupported format code: {code}"));
        assert_eq!(
            decode_param::<Option<I32>>(&b, 1, &types, &s).unwrap(),
            None
        );
        let b = bind(&[code], &[None]);
        assert!(matches!(
            decode_param::<Option<I32>>(&b, 0, &types, &s),
            Err(ValueError::UnsupportedFormat { .. })
        ));
    }
}

#[test]
fn decode_param_nulls_indexes_and_types() {
    let s = Session::UTC;
    let b = bind(&[], &[None, Some(b"abc")]);
    // NULL.
    assert_eq!(
        decode_param::<Option<I32>>(&b, 0, &[oid::INT4], &s).unwrap(),
        None
    );
    let e = decode_param::<I32>(&b, 0, &[oid::INT4], &s).unwrap_err();
    assert_eq!(state(&e), "22004");
    // Past the end.
    let e = decode_param::<Option<I32>>(&b, 2, &[oid::INT4], &s).unwrap_err();
    assert_eq!(e, ValueError::NoSuchValue { index: 2 });
    assert_eq!(state(&e), "08P01");
    // The declared type decides; none or 0 means text.
    assert_eq!(
        decode_param::<Txt>(&b, 1, &[oid::INT4], &s).unwrap(),
        txt("abc")
    );
    assert_eq!(decode_param::<Txt>(&b, 1, &[0, 0], &s).unwrap(), txt("abc"));
    assert_eq!(
        decode_param::<Txt>(&b, 1, &[0, oid::VARCHAR], &s).unwrap(),
        txt("abc")
    );
    let e = decode_param::<Txt>(&b, 1, &[0, oid::INT4], &s).unwrap_err();
    assert_eq!(state(&e), "42804");
    let e = decode_param::<I32>(&b, 1, &[], &s).unwrap_err();
    assert_eq!(
        e,
        ValueError::WrongType {
            ty: oid::TEXT,
            rust: core::any::type_name::<I32>()
        }
    );
    assert_eq!(param_type(&[oid::INT8], 0), oid::INT8);
    assert_eq!(param_type(&[oid::INT8], 1), oid::TEXT);
    assert_eq!(param_type(&[0], 0), oid::TEXT);
    // Values borrow from the Bind.
    let raw: Raw = decode_param(&b, 1, &[], &s).unwrap();
    let Some(Some(inside)) = b.params.iter().nth(1) else {
        unreachable!()
    };
    assert_eq!(raw.0.as_ptr(), inside.as_ptr());
    // Arrays as parameters, text and binary.
    let arr: &[u8] = b"{1,NULL,3}";
    let bin = hex("00000001000000010000001700000002000000010000000400000001ffffffff");
    let b = bind(&[0, 1], &[Some(arr), Some(&bin)]);
    let types = [oid::INT4_ARRAY, oid::INT4_ARRAY];
    assert_eq!(
        decode_param::<Vec<Option<I32>>>(&b, 0, &types, &s).unwrap(),
        ints(&[Some(1), None, Some(3)])
    );
    assert_eq!(
        decode_param::<Array<I32>>(&b, 1, &types, &s).unwrap(),
        Array::new(ints(&[Some(1), None]))
    );
}

/// `RowWriter::int` and `RowWriter::float` (which write the length word and the text in one
/// copy) give exactly the columns `RowWriter::value` gives for the same values.
#[test]
fn row_writer_int_and_float_match_value() {
    let s = Session::UTC;
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut ints = vec![
        0i64,
        1,
        -1,
        9,
        10,
        -10,
        99,
        100,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
    ];
    let mut floats = vec![
        0.0f64,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::MAX,
        -f64::MAX,
        5e-324,
        1e15,
        1e-5,
        0.1,
        1.5,
    ];
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ints.push((x as i64) >> (x % 63));
        floats.push(f64::from_bits(x));
        floats.push((x % 1_000_000) as f64 * 1.618_033_988_749_895);
    }
    let mut fast = BytesMut::new();
    let mut general = BytesMut::new();
    for &i in &ints {
        let mut row = RowWriter::begin(&mut fast);
        row.int(i).unwrap();
        row.finish().unwrap();
        let mut row = RowWriter::begin(&mut general);
        row.value(&i, oid::INT8, Format::Text, &s).unwrap();
        row.finish().unwrap();
    }
    for &f in &floats {
        let mut row = RowWriter::begin(&mut fast);
        row.float(f).unwrap();
        row.finish().unwrap();
        let mut row = RowWriter::begin(&mut general);
        row.value(&f, oid::FLOAT8, Format::Text, &s).unwrap();
        row.finish().unwrap();
    }
    assert_eq!(fast, general);
    assert_eq!(decode_backend(&mut fast).len(), ints.len() + floats.len());
}
