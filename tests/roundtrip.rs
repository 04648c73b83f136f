//! Property tests of the message layer: every frontend and backend message survives
//! encode -> decode -> encode unchanged, its wire form matches an independent reference encoding
//! built here from plain data, and its accessors give back that plain data. Also: the borrowed
//! `write` functions agree with `encode`, arbitrary input never panics a decoder, and encoding
//! errors leave the output buffer as it was.

use bytes::{Bytes, BytesMut};
use pgproto::message::{
    Authentication, BackendDecoder, BackendKeyData, BackendMessage, BackendPhase, BackendView,
    Bind, CancelRequest, Close, CommandComplete, CopyData, CopyFail, CopyResponse,
    CopyResponseKind, DataRow, DataRowRef, DecodeError, Describe, EncodeError, ErrorFields,
    Execute, FieldDescription, Formats, FrontendDecoder, FrontendMessage, FrontendPhase,
    FrontendView, FunctionCall, FunctionCallResponse, GssResponse, NegotiateProtocolVersion,
    NotificationResponse, Oids, ParameterDescription, ParameterStatus, Parse, PasswordMessage,
    PgStr, ProtocolVersion, Query, RowDescription, SaslInitialResponse, SaslMechanisms,
    SaslResponse, StartupMessage, Target, TransactionStatus,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Reference encoding, written from PROTOCOL.md independently of the crate's encoders.
// ---------------------------------------------------------------------------------------------

#[path = "support/wire.rs"]
mod wire;
use wire::W;

/// `tag`, Int32 length (counting itself), body.
fn typed(tag: u8, body: impl FnOnce(&mut W)) -> Vec<u8> {
    let mut w = W::default();
    body(&mut w);
    let mut out = vec![tag];
    out.extend_from_slice(&u32::try_from(w.0.len() + 4).unwrap().to_be_bytes());
    out.extend_from_slice(&w.0);
    out
}

/// Int32 length (counting itself), body: a startup-phase packet.
fn untyped(body: impl FnOnce(&mut W)) -> Vec<u8> {
    let mut w = W::default();
    body(&mut w);
    let mut out = u32::try_from(w.0.len() + 4).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(&w.0);
    out
}

// ---------------------------------------------------------------------------------------------
// Round-trip drivers.
// ---------------------------------------------------------------------------------------------

/// Bytes already in the output buffer before encoding: encoders must append, never overwrite.
const PREFIX: &[u8] = b"\x00prefix\xff";

fn encode_fe(msg: &FrontendMessage) -> BytesMut {
    let mut out = BytesMut::from(PREFIX);
    msg.encode(&mut out).expect("encode");
    assert_eq!(&out[..PREFIX.len()], PREFIX, "encode touched earlier bytes");
    out.split_off(PREFIX.len())
}

fn encode_be(msg: &BackendMessage) -> BytesMut {
    let mut out = BytesMut::from(PREFIX);
    msg.encode(&mut out).expect("encode");
    assert_eq!(&out[..PREFIX.len()], PREFIX, "encode touched earlier bytes");
    out.split_off(PREFIX.len())
}

fn fe_decoder(phase: FrontendPhase) -> FrontendDecoder {
    let mut dec = FrontendDecoder::new();
    assert_eq!(dec.phase(), FrontendPhase::Startup);
    if phase != FrontendPhase::Startup {
        dec.set_phase(phase);
    }
    dec
}

fn be_decoder(phase: BackendPhase) -> BackendDecoder {
    let mut dec = BackendDecoder::new();
    assert_eq!(dec.phase(), BackendPhase::Normal);
    dec.set_phase(phase);
    dec
}

/// Encodes `msg`, checks the bytes against `expected`, decodes them in `phase` (also checking
/// that every proper prefix is "incomplete" and left untouched), and checks the decoded value
/// equals `msg` and re-encodes to the same bytes. Returns the decoded value.
fn fe_roundtrip(msg: &FrontendMessage, phase: FrontendPhase, expected: &[u8]) -> FrontendMessage {
    let wire = encode_fe(msg);
    assert_eq!(&wire[..], expected, "encoded bytes of {msg:?}");
    match msg.tag() {
        None => assert_eq!(phase, FrontendPhase::Startup),
        Some(t) => assert_eq!(t, wire[0]),
    }

    for k in 0..wire.len() {
        let mut dec = fe_decoder(phase);
        let mut part = BytesMut::from(&wire[..k]);
        assert_eq!(dec.decode(&mut part), Ok(None), "prefix of {k} bytes");
        assert_eq!(&part[..], &wire[..k], "an incomplete decode consumed bytes");
        assert!(dec.bytes_needed() > k && dec.bytes_needed() <= wire.len());
    }

    let mut dec = fe_decoder(phase);
    let mut input = wire.clone();
    let got = dec
        .decode(&mut input)
        .expect("decode")
        .expect("a complete message");
    assert_eq!(&got, msg);
    assert!(input.is_empty(), "{} bytes left over", input.len());
    assert_eq!(dec.decode(&mut input), Ok(None));
    let expected_phase = match msg {
        FrontendMessage::Startup(_) => FrontendPhase::Normal,
        _ => phase,
    };
    assert_eq!(dec.phase(), expected_phase);

    assert_eq!(encode_fe(&got), wire, "re-encoding the decoded value");
    got
}

fn be_roundtrip(msg: &BackendMessage, phase: BackendPhase, expected: &[u8]) -> BackendMessage {
    let wire = encode_be(msg);
    assert_eq!(&wire[..], expected, "encoded bytes of {msg:?}");

    for k in 0..wire.len() {
        let mut dec = be_decoder(phase);
        let mut part = BytesMut::from(&wire[..k]);
        assert_eq!(dec.decode(&mut part), Ok(None), "prefix of {k} bytes");
        assert_eq!(&part[..], &wire[..k], "an incomplete decode consumed bytes");
        assert!(dec.bytes_needed() > k && dec.bytes_needed() <= wire.len());
    }

    let mut dec = be_decoder(phase);
    let mut input = wire.clone();
    let got = dec
        .decode(&mut input)
        .expect("decode")
        .expect("a complete message");
    assert_eq!(&got, msg);
    assert!(input.is_empty(), "{} bytes left over", input.len());
    assert_eq!(dec.phase(), BackendPhase::Normal);
    assert_eq!(dec.decode(&mut input), Ok(None));

    assert_eq!(encode_be(&got), wire, "re-encoding the decoded value");
    got
}

/// Runs a borrowed `write` into a prefilled buffer and returns what it appended.
fn written(write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> BytesMut {
    let mut out = BytesMut::from(PREFIX);
    write(&mut out).expect("write");
    assert_eq!(&out[..PREFIX.len()], PREFIX, "write touched earlier bytes");
    out.split_off(PREFIX.len())
}

// ---------------------------------------------------------------------------------------------
// Strategies: plain Rust data.
// ---------------------------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Bytes without a zero byte, otherwise arbitrary (so mostly invalid UTF-8), or readable text.
fn nz_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(1u8..=255, 0..=max),
        vec(prop_oneof![b'a'..=b'z', Just(b' '), 0xC0u8..=0xFF], 0..=max),
    ]
}

fn nz_nonempty(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 1..=max)
}

/// UTF-8 text without a zero byte (for the `&str` parts of the `write` functions).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00]{{0,{max}}}")).unwrap()
}

fn any_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// A value list with NULLs; values may hold any byte, zero included.
fn values(max_count: usize) -> impl Strategy<Value = Vec<Option<Vec<u8>>>> {
    vec(option::weighted(0.8, any_bytes(24)), 0..=max_count)
}

fn format_code() -> impl Strategy<Value = i16> {
    prop_oneof![3 => 0i16..=1, 1 => any::<i16>()]
}

/// A value list and a format code list that obeys the 0 / 1 / one-per-value rule.
fn formats_and_values(max_count: usize) -> impl Strategy<Value = (Vec<i16>, Vec<Option<Vec<u8>>>)> {
    values(max_count).prop_flat_map(|vals| {
        let n = vals.len();
        let codes = prop_oneof![Just(0usize), Just(1usize), Just(n)]
            .prop_flat_map(|k| vec(format_code(), k));
        (codes, Just(vals))
    })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::Statement), Just(Target::Portal)]
}

fn startup_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"user".to_vec()),
        Just(b"database".to_vec()),
        Just(b"options".to_vec()),
        Just(b"replication".to_vec()),
        Just(b"_pq_.test_option".to_vec()),
        nz_nonempty(16),
    ]
}

/// Field codes: the documented ones, some unknown ones, anything non-zero.
fn error_code() -> impl Strategy<Value = u8> {
    prop_oneof![
        proptest::sample::select(b"SVCMDHPpqWstcdnFLR".to_vec()),
        proptest::sample::select(b"XZaz\x01\x7f\x80\xff".to_vec()),
        1u8..=255,
    ]
}

fn pg(b: &[u8]) -> PgStr {
    PgStr::try_from(b).expect("test data has no zero byte")
}

fn refs(vals: &[Option<Vec<u8>>]) -> Vec<Option<&[u8]>> {
    vals.iter().map(|v| v.as_deref()).collect()
}

fn values_of<'a>(it: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<Option<Vec<u8>>> {
    it.map(|v| v.map(<[u8]>::to_vec)).collect()
}

/// The code that applies to value `i` under the 0 / 1 / N rule, computed from plain data.
fn code_for(codes: &[i16], i: usize) -> i16 {
    match codes.len() {
        0 => 0,
        1 => codes[0],
        _ => codes[i],
    }
}

fn formats_expected(w: &mut W, codes: &[i16]) {
    w.u16(codes.len());
    for &c in codes {
        w.i16(c);
    }
}

fn values_expected(w: &mut W, vals: &[Option<Vec<u8>>]) {
    w.u16(vals.len());
    for v in vals {
        w.value(v.as_deref());
    }
}

// ---------------------------------------------------------------------------------------------
// Frontend messages.
// ---------------------------------------------------------------------------------------------

#[test]
fn frontend_fixed_messages() {
    let ssl = untyped(|w| {
        w.u32(80877103);
    });
    assert_eq!(ssl, b"\0\0\0\x08\x04\xd2\x16\x2f");
    fe_roundtrip(&FrontendMessage::SslRequest, FrontendPhase::Startup, &ssl);
    let gss = untyped(|w| {
        w.u32(80877104);
    });
    assert_eq!(gss, b"\0\0\0\x08\x04\xd2\x16\x30");
    fe_roundtrip(
        &FrontendMessage::GssEncRequest,
        FrontendPhase::Startup,
        &gss,
    );

    for (msg, tag) in [
        (FrontendMessage::Flush, b'H'),
        (FrontendMessage::Sync, b'S'),
        (FrontendMessage::Terminate, b'X'),
        (FrontendMessage::CopyDone, b'c'),
    ] {
        let expected = [tag, 0, 0, 0, 4];
        for phase in [
            FrontendPhase::Normal,
            FrontendPhase::Password,
            FrontendPhase::SaslInitialResponse,
            FrontendPhase::SaslResponse,
            FrontendPhase::GssResponse,
        ] {
            fe_roundtrip(&msg, phase, &expected);
        }
    }
}

#[test]
fn sasl_initial_response_with_and_without_data() {
    for data in [
        None,
        Some(&b""[..]),
        Some(&b"n,,n=,r=rOprNGfwEbeRWgbNEkqO"[..]),
    ] {
        let msg = SaslInitialResponse {
            mechanism: PgStr::from_static("SCRAM-SHA-256"),
            data: data.map(Bytes::copy_from_slice),
        };
        let expected = typed(b'p', |w| {
            w.cstr(b"SCRAM-SHA-256").value(data);
        });
        let got = fe_roundtrip(
            &FrontendMessage::SaslInitialResponse(msg),
            FrontendPhase::SaslInitialResponse,
            &expected,
        );
        let FrontendMessage::SaslInitialResponse(got) = got else {
            panic!("{got:?}")
        };
        assert_eq!(got.data.as_deref(), data);
        let w = written(|b| SaslInitialResponse::write(b, "SCRAM-SHA-256", data));
        assert_eq!(&w[..], &expected[..]);
    }
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn startup_message(
        minor in prop_oneof![Just(0u16), Just(2u16), any::<u16>()],
        params in vec((startup_name(), nz_bytes(24)), 0..12),
    ) {
        let version = ProtocolVersion { major: 3, minor };
        let msg = StartupMessage::new(version, params.iter().map(|(k, v)| (k, v))).unwrap();
        let expected = untyped(|w| {
            w.u32(0x0003_0000 | u32::from(minor));
            for (k, v) in &params {
                w.cstr(k).cstr(v);
            }
            w.u8(0);
        });
        let got = fe_roundtrip(&FrontendMessage::Startup(msg), FrontendPhase::Startup, &expected);
        let FrontendMessage::Startup(m) = got else { panic!("{got:?}") };
        prop_assert_eq!(m.version(), version);
        let decoded: Vec<(Vec<u8>, Vec<u8>)> =
            m.params().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&decoded, &params);
        for name in ["user", "database", "options", "replication"] {
            let last = params.iter().rev().find(|(k, _)| k == name.as_bytes());
            prop_assert_eq!(m.get(name), last.map(|(_, v)| v.as_slice()));
        }
        let last_user = params.iter().rev().find(|(k, _)| k == b"user");
        prop_assert_eq!(m.user(), last_user.map(|(_, v)| v.as_slice()));
        let last_db = params.iter().rev().find(|(k, _)| k == b"database");
        prop_assert_eq!(m.database(), last_db.map(|(_, v)| v.as_slice()));
        let pq: Vec<(Vec<u8>, Vec<u8>)> =
            m.protocol_options().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        let pq_expected: Vec<(Vec<u8>, Vec<u8>)> =
            params.iter().filter(|(k, _)| k.starts_with(b"_pq_.")).cloned().collect();
        prop_assert_eq!(pq, pq_expected);
    }

    #[test]
    fn startup_message_write(
        minor in any::<u16>(),
        params in vec(("[a-z_.]{1,12}", text(16)), 0..10),
    ) {
        let version = ProtocolVersion { major: 3, minor };
        let w = written(|b| {
            StartupMessage::write(b, version, params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        });
        let owned = StartupMessage::new(version, params.iter().map(|(k, v)| (k, v))).unwrap();
        prop_assert_eq!(&w, &encode_fe(&FrontendMessage::Startup(owned.clone())));
        let mut input = w.clone();
        let got = FrontendDecoder::new().decode(&mut input).unwrap();
        prop_assert_eq!(got, Some(FrontendMessage::Startup(owned)));
        prop_assert!(input.is_empty());
    }

    #[test]
    fn cancel_request(process_id in any::<i32>(), key in vec(any::<u8>(), 4..=256)) {
        let msg = CancelRequest { process_id, secret_key: Bytes::from(key.clone()) };
        let expected = untyped(|w| {
            w.u32(80877102).i32(process_id).raw(&key);
        });
        let got = fe_roundtrip(&FrontendMessage::CancelRequest(msg), FrontendPhase::Startup, &expected);
        let FrontendMessage::CancelRequest(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(c.process_id, process_id);
        prop_assert_eq!(&c.secret_key[..], &key[..]);
        let w = written(|b| CancelRequest::write(b, process_id, &key));
        prop_assert_eq!(&w[..], &expected[..]);
    }

    #[test]
    fn query(sql in nz_bytes(200)) {
        let msg = FrontendMessage::Query(Query { sql: pg(&sql) });
        let expected = typed(b'Q', |w| { w.cstr(&sql); });
        let got = fe_roundtrip(&msg, FrontendPhase::Normal, &expected);
        let FrontendMessage::Query(q) = got else { panic!("{got:?}") };
        prop_assert_eq!(q.sql.as_bytes(), &sql[..]);
    }

    #[test]
    fn query_write(sql in text(64)) {
        let w = written(|b| Query::write(b, &sql));
        let expected = typed(b'Q', |w| { w.cstr(sql.as_bytes()); });
        prop_assert_eq!(&w[..], &expected[..]);
        let owned = FrontendMessage::Query(Query { sql: PgStr::try_from(sql.as_str()).unwrap() });
        prop_assert_eq!(&w, &encode_fe(&owned));
    }

    #[test]
    fn parse(name in nz_bytes(24), query in nz_bytes(120), oids in vec(any::<u32>(), 0..40)) {
        let msg = Parse { name: pg(&name), query: pg(&query), param_types: Oids::new(&oids).unwrap() };
        let expected = typed(b'P', |w| {
            w.cstr(&name).cstr(&query).u16(oids.len());
            for &o in &oids {
                w.u32(o);
            }
        });
        let got = fe_roundtrip(&FrontendMessage::Parse(msg), FrontendPhase::Normal, &expected);
        let FrontendMessage::Parse(p) = got else { panic!("{got:?}") };
        prop_assert_eq!(p.name.as_bytes(), &name[..]);
        prop_assert_eq!(p.query.as_bytes(), &query[..]);
        prop_assert_eq!(p.param_types.len(), oids.len());
        prop_assert_eq!(p.param_types.is_empty(), oids.is_empty());
        prop_assert_eq!(p.param_types.iter().collect::<Vec<_>>(), oids.clone());
        for (i, &o) in oids.iter().enumerate() {
            prop_assert_eq!(p.param_types.get(i), Some(o));
        }
        prop_assert_eq!(p.param_types.get(oids.len()), None);
    }

    #[test]
    fn parse_write(name in text(16), query in text(64), oids in vec(any::<u32>(), 0..20)) {
        let w = written(|b| Parse::write(b, &name, &query, &oids));
        let owned = Parse::new(&name, &query, &oids).unwrap();
        prop_assert_eq!(&w, &encode_fe(&FrontendMessage::Parse(owned.clone())));
        prop_assert_eq!(owned.name.as_bytes(), name.as_bytes());
        prop_assert_eq!(owned.query.as_bytes(), query.as_bytes());
        prop_assert_eq!(owned.param_types.iter().collect::<Vec<_>>(), oids);
    }

    #[test]
    fn bind(
        portal in nz_bytes(16),
        statement in nz_bytes(16),
        (param_formats, params) in formats_and_values(40),
        result_formats in vec(format_code(), 0..8),
    ) {
        let mut msg = Bind::new("", "", &param_formats, &refs(&params), &result_formats).unwrap();
        msg.portal = pg(&portal);
        msg.statement = pg(&statement);
        let expected = typed(b'B', |w| {
            w.cstr(&portal).cstr(&statement);
            formats_expected(w, &param_formats);
            values_expected(w, &params);
            formats_expected(w, &result_formats);
        });
        let got = fe_roundtrip(&FrontendMessage::Bind(msg), FrontendPhase::Normal, &expected);
        let FrontendMessage::Bind(b) = got else { panic!("{got:?}") };
        prop_assert_eq!(b.portal.as_bytes(), &portal[..]);
        prop_assert_eq!(b.statement.as_bytes(), &statement[..]);
        prop_assert_eq!(b.param_formats.iter().collect::<Vec<_>>(), param_formats.clone());
        prop_assert_eq!(b.params.len(), params.len());
        prop_assert_eq!(b.params.is_empty(), params.is_empty());
        prop_assert_eq!(b.params.iter().len(), params.len());
        prop_assert_eq!(values_of(b.params.iter()), params.clone());
        prop_assert_eq!(b.result_formats.iter().collect::<Vec<_>>(), result_formats.clone());
        prop_assert_eq!(b.result_formats.len(), result_formats.len());
        for i in 0..params.len() {
            prop_assert_eq!(b.param_formats.code_for(i), code_for(&param_formats, i));
        }
        // `raw` is the values' wire form, length words included.
        let mut raw = W::default();
        for v in &params {
            raw.value(v.as_deref());
        }
        prop_assert_eq!(&b.params.raw()[..], &raw.0[..]);
    }

    #[test]
    fn bind_write(
        portal in text(12),
        statement in text(12),
        (param_formats, params) in formats_and_values(20),
        result_formats in vec(format_code(), 0..6),
    ) {
        let r = refs(&params);
        let w = written(|b| {
            Bind::write(b, &portal, &statement, &param_formats, r.iter().copied(), &result_formats)
        });
        let expected = typed(b'B', |w| {
            w.cstr(portal.as_bytes()).cstr(statement.as_bytes());
            formats_expected(w, &param_formats);
            values_expected(w, &params);
            formats_expected(w, &result_formats);
        });
        prop_assert_eq!(&w[..], &expected[..]);
        let owned = Bind::new(&portal, &statement, &param_formats, &r, &result_formats).unwrap();
        prop_assert_eq!(&w, &encode_fe(&FrontendMessage::Bind(owned)));
    }

    #[test]
    fn execute(portal in nz_bytes(32), max_rows in any::<i32>()) {
        let msg = Execute { portal: pg(&portal), max_rows };
        let expected = typed(b'E', |w| { w.cstr(&portal).i32(max_rows); });
        let got = fe_roundtrip(&FrontendMessage::Execute(msg), FrontendPhase::Normal, &expected);
        let FrontendMessage::Execute(e) = got else { panic!("{got:?}") };
        prop_assert_eq!(e.portal.as_bytes(), &portal[..]);
        prop_assert_eq!(e.max_rows, max_rows);
    }

    #[test]
    fn describe_close_execute_write(t in target(), name in text(24), max_rows in any::<i32>()) {
        let tb = match t { Target::Statement => b'S', Target::Portal => b'P' };
        prop_assert_eq!(t.byte(), tb);
        let expected = typed(b'D', |w| { w.u8(tb).cstr(name.as_bytes()); });
        prop_assert_eq!(&written(|b| Describe::write(b, t, &name))[..], &expected[..]);
        let expected = typed(b'C', |w| { w.u8(tb).cstr(name.as_bytes()); });
        prop_assert_eq!(&written(|b| Close::write(b, t, &name))[..], &expected[..]);
        let expected = typed(b'E', |w| { w.cstr(name.as_bytes()).i32(max_rows); });
        prop_assert_eq!(&written(|b| Execute::write(b, &name, max_rows))[..], &expected[..]);
    }

    #[test]
    fn describe_and_close(t in target(), name in nz_bytes(32)) {
        let tb = match t { Target::Statement => b'S', Target::Portal => b'P' };
        let expected = typed(b'D', |w| { w.u8(tb).cstr(&name); });
        let msg = FrontendMessage::Describe(Describe { target: t, name: pg(&name) });
        let got = fe_roundtrip(&msg, FrontendPhase::Normal, &expected);
        let FrontendMessage::Describe(d) = got else { panic!("{got:?}") };
        prop_assert_eq!(d.target, t);
        prop_assert_eq!(d.name.as_bytes(), &name[..]);

        let expected = typed(b'C', |w| { w.u8(tb).cstr(&name); });
        let msg = FrontendMessage::Close(Close { target: t, name: pg(&name) });
        let got = fe_roundtrip(&msg, FrontendPhase::Normal, &expected);
        let FrontendMessage::Close(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(c.target, t);
        prop_assert_eq!(c.name.as_bytes(), &name[..]);
    }

    #[test]
    fn function_call(
        function in any::<u32>(),
        (arg_formats, args) in formats_and_values(30),
        result_format in format_code(),
    ) {
        let msg = FunctionCall::new(function, &arg_formats, &refs(&args), result_format).unwrap();
        let expected = typed(b'F', |w| {
            w.u32(function);
            formats_expected(w, &arg_formats);
            values_expected(w, &args);
            w.i16(result_format);
        });
        let got = fe_roundtrip(&FrontendMessage::FunctionCall(msg), FrontendPhase::Normal, &expected);
        let FrontendMessage::FunctionCall(f) = got else { panic!("{got:?}") };
        prop_assert_eq!(f.function, function);
        prop_assert_eq!(f.arg_formats.iter().collect::<Vec<_>>(), arg_formats.clone());
        prop_assert_eq!(values_of(f.args.iter()), args.clone());
        prop_assert_eq!(f.result_format, result_format);
        let r = refs(&args);
        let w = written(|b| FunctionCall::write(b, function, &arg_formats, r.iter().copied(), result_format));
        prop_assert_eq!(&w[..], &expected[..]);
    }

    #[test]
    fn copy_data_frontend(data in any_bytes(600)) {
        let msg = FrontendMessage::CopyData(CopyData { data: Bytes::from(data.clone()) });
        let expected = typed(b'd', |w| { w.raw(&data); });
        let got = fe_roundtrip(&msg, FrontendPhase::Normal, &expected);
        let FrontendMessage::CopyData(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(&c.data[..], &data[..]);
        prop_assert_eq!(&written(|b| CopyData::write(b, &data))[..], &expected[..]);
    }

    #[test]
    fn copy_fail(message in nz_bytes(64), text_message in text(32)) {
        let msg = FrontendMessage::CopyFail(CopyFail { message: pg(&message) });
        let expected = typed(b'f', |w| { w.cstr(&message); });
        let got = fe_roundtrip(&msg, FrontendPhase::Normal, &expected);
        let FrontendMessage::CopyFail(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(c.message.as_bytes(), &message[..]);
        let expected = typed(b'f', |w| { w.cstr(text_message.as_bytes()); });
        prop_assert_eq!(&written(|b| CopyFail::write(b, &text_message))[..], &expected[..]);
    }

    #[test]
    fn password(password in nz_bytes(64)) {
        let msg = FrontendMessage::Password(PasswordMessage { password: pg(&password) });
        let expected = typed(b'p', |w| { w.cstr(&password); });
        let got = fe_roundtrip(&msg, FrontendPhase::Password, &expected);
        let FrontendMessage::Password(p) = got else { panic!("{got:?}") };
        prop_assert_eq!(p.password.as_bytes(), &password[..]);
        prop_assert_eq!(&written(|b| PasswordMessage::write(b, &password))[..], &expected[..]);
        // Debug must not reveal the password.
        let dbg = format!("{p:?}");
        if password.len() >= 12 {
            prop_assert!(!dbg.contains(&*String::from_utf8_lossy(&password)), "{}", dbg);
        }
    }

    #[test]
    fn sasl_initial_response(mechanism in nz_bytes(24), data in option::of(any_bytes(100))) {
        let msg = FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: pg(&mechanism),
            data: data.clone().map(Bytes::from),
        });
        let expected = typed(b'p', |w| { w.cstr(&mechanism).value(data.as_deref()); });
        let got = fe_roundtrip(&msg, FrontendPhase::SaslInitialResponse, &expected);
        let FrontendMessage::SaslInitialResponse(s) = got else { panic!("{got:?}") };
        prop_assert_eq!(s.mechanism.as_bytes(), &mechanism[..]);
        prop_assert_eq!(s.data.as_deref(), data.as_deref());
    }

    #[test]
    fn sasl_initial_response_write(mechanism in text(20), data in option::of(any_bytes(60))) {
        let w = written(|b| SaslInitialResponse::write(b, &mechanism, data.as_deref()));
        let owned = FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: PgStr::try_from(mechanism.as_str()).unwrap(),
            data: data.clone().map(Bytes::from),
        });
        prop_assert_eq!(&w, &encode_fe(&owned));
    }

    #[test]
    fn sasl_and_gss_response(data in any_bytes(300)) {
        let expected = typed(b'p', |w| { w.raw(&data); });

        let msg = FrontendMessage::SaslResponse(SaslResponse { data: Bytes::from(data.clone()) });
        let got = fe_roundtrip(&msg, FrontendPhase::SaslResponse, &expected);
        let FrontendMessage::SaslResponse(s) = got else { panic!("{got:?}") };
        prop_assert_eq!(&s.data[..], &data[..]);
        prop_assert_eq!(&written(|b| SaslResponse::write(b, &data))[..], &expected[..]);

        let msg = FrontendMessage::GssResponse(GssResponse { data: Bytes::from(data.clone()) });
        let got = fe_roundtrip(&msg, FrontendPhase::GssResponse, &expected);
        let FrontendMessage::GssResponse(g) = got else { panic!("{got:?}") };
        prop_assert_eq!(&g.data[..], &data[..]);
        prop_assert_eq!(&written(|b| GssResponse::write(b, &data))[..], &expected[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// Backend messages.
// ---------------------------------------------------------------------------------------------

#[test]
fn backend_fixed_messages() {
    for (accepted, byte) in [(true, b'S'), (false, b'N')] {
        let msg = BackendMessage::SslResponse { accepted };
        be_roundtrip(&msg, BackendPhase::SslResponse, &[byte]);
    }
    for (accepted, byte) in [(true, b'G'), (false, b'N')] {
        let msg = BackendMessage::GssEncResponse { accepted };
        be_roundtrip(&msg, BackendPhase::GssEncResponse, &[byte]);
    }
    for (status, byte) in [
        (TransactionStatus::Idle, b'I'),
        (TransactionStatus::InTransaction, b'T'),
        (TransactionStatus::Failed, b'E'),
    ] {
        assert_eq!(status.byte(), byte);
        let expected = typed(b'Z', |w| {
            w.u8(byte);
        });
        be_roundtrip(
            &BackendMessage::ReadyForQuery(status),
            BackendPhase::Normal,
            &expected,
        );
    }
    for (msg, tag) in [
        (BackendMessage::ParseComplete, b'1'),
        (BackendMessage::BindComplete, b'2'),
        (BackendMessage::CloseComplete, b'3'),
        (BackendMessage::NoData, b'n'),
        (BackendMessage::PortalSuspended, b's'),
        (BackendMessage::EmptyQueryResponse, b'I'),
        (BackendMessage::CopyDone, b'c'),
    ] {
        be_roundtrip(&msg, BackendPhase::Normal, &[tag, 0, 0, 0, 4]);
    }
    for (auth, code) in [
        (Authentication::Ok, 0),
        (Authentication::KerberosV5, 2),
        (Authentication::CleartextPassword, 3),
        (Authentication::Gss, 7),
        (Authentication::Sspi, 9),
    ] {
        assert_eq!(auth.code(), code);
        let expected = typed(b'R', |w| {
            w.i32(code);
        });
        be_roundtrip(
            &BackendMessage::Authentication(auth),
            BackendPhase::Normal,
            &expected,
        );
    }
    // A server offering no mechanism at all still frames correctly.
    let empty = SaslMechanisms::new(Vec::<&[u8]>::new()).unwrap();
    assert_eq!(empty.iter().count(), 0);
    let expected = typed(b'R', |w| {
        w.i32(10).u8(0);
    });
    be_roundtrip(
        &BackendMessage::Authentication(Authentication::Sasl(empty)),
        BackendPhase::Normal,
        &expected,
    );
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn authentication_md5(salt in any::<[u8; 4]>()) {
        let auth = Authentication::Md5Password { salt };
        prop_assert_eq!(auth.code(), 5);
        let expected = typed(b'R', |w| { w.i32(5).raw(&salt); });
        let got = be_roundtrip(&BackendMessage::Authentication(auth), BackendPhase::Normal, &expected);
        prop_assert_eq!(got, BackendMessage::Authentication(Authentication::Md5Password { salt }));
    }

    #[test]
    fn authentication_with_data(data in any_bytes(200), which in 0usize..3) {
        let bytes = Bytes::from(data.clone());
        let (auth, code) = match which {
            0 => (Authentication::GssContinue(bytes), 8),
            1 => (Authentication::SaslContinue(bytes), 11),
            _ => (Authentication::SaslFinal(bytes), 12),
        };
        prop_assert_eq!(auth.code(), code);
        let expected = typed(b'R', |w| { w.i32(code).raw(&data); });
        let got = be_roundtrip(&BackendMessage::Authentication(auth), BackendPhase::Normal, &expected);
        let BackendMessage::Authentication(
            Authentication::GssContinue(d) | Authentication::SaslContinue(d) | Authentication::SaslFinal(d),
        ) = got else { panic!("{got:?}") };
        prop_assert_eq!(&d[..], &data[..]);
    }

    #[test]
    fn authentication_sasl(mechs in vec(nz_nonempty(24), 0..6)) {
        let list = SaslMechanisms::new(&mechs).unwrap();
        let expected = typed(b'R', |w| {
            w.i32(10);
            for m in &mechs {
                w.cstr(m);
            }
            w.u8(0);
        });
        let got = be_roundtrip(
            &BackendMessage::Authentication(Authentication::Sasl(list)),
            BackendPhase::Normal,
            &expected,
        );
        let BackendMessage::Authentication(Authentication::Sasl(m)) = got else { panic!("{got:?}") };
        prop_assert_eq!(m.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), mechs.clone());
        for name in &mechs {
            if let Ok(s) = std::str::from_utf8(name) {
                prop_assert!(m.contains(s));
            }
        }
        let has_scram = mechs.iter().any(|n| n == b"SCRAM-SHA-256");
        prop_assert_eq!(m.contains("SCRAM-SHA-256"), has_scram);
    }

    #[test]
    fn backend_key_data(process_id in any::<i32>(), key in vec(any::<u8>(), 4..=256)) {
        let msg = BackendKeyData { process_id, secret_key: Bytes::from(key.clone()) };
        let expected = typed(b'K', |w| { w.i32(process_id).raw(&key); });
        let got = be_roundtrip(&BackendMessage::BackendKeyData(msg), BackendPhase::Normal, &expected);
        let BackendMessage::BackendKeyData(k) = got else { panic!("{got:?}") };
        prop_assert_eq!(k.process_id, process_id);
        prop_assert_eq!(&k.secret_key[..], &key[..]);
        prop_assert_eq!(&written(|b| BackendKeyData::write(b, process_id, &key))[..], &expected[..]);
    }

    #[test]
    fn negotiate_protocol_version(code in any::<u32>(), options in vec(nz_bytes(24), 0..12)) {
        let version = ProtocolVersion::from_code(code);
        prop_assert_eq!(version.code(), code);
        let msg = NegotiateProtocolVersion::new(version, &options).unwrap();
        let expected = typed(b'v', |w| {
            w.u32(code).u32(u32::try_from(options.len()).unwrap());
            for o in &options {
                w.cstr(o);
            }
        });
        let got = be_roundtrip(&BackendMessage::NegotiateProtocolVersion(msg), BackendPhase::Normal, &expected);
        let BackendMessage::NegotiateProtocolVersion(n) = got else { panic!("{got:?}") };
        prop_assert_eq!(n.version, version);
        prop_assert_eq!(n.unrecognized_options().map(<[u8]>::to_vec).collect::<Vec<_>>(), options.clone());
    }

    #[test]
    fn parameter_status(name in nz_bytes(32), value in nz_bytes(64), tname in text(16), tvalue in text(24)) {
        let msg = ParameterStatus { name: pg(&name), value: pg(&value) };
        let expected = typed(b'S', |w| { w.cstr(&name).cstr(&value); });
        let got = be_roundtrip(&BackendMessage::ParameterStatus(msg), BackendPhase::Normal, &expected);
        let BackendMessage::ParameterStatus(p) = got else { panic!("{got:?}") };
        prop_assert_eq!(p.name.as_bytes(), &name[..]);
        prop_assert_eq!(p.value.as_bytes(), &value[..]);
        let expected = typed(b'S', |w| { w.cstr(tname.as_bytes()).cstr(tvalue.as_bytes()); });
        prop_assert_eq!(&written(|b| ParameterStatus::write(b, &tname, &tvalue))[..], &expected[..]);
    }

    #[test]
    fn parameter_description(oids in vec(any::<u32>(), 0..40)) {
        let msg = ParameterDescription { types: Oids::new(&oids).unwrap() };
        let expected = typed(b't', |w| {
            w.u16(oids.len());
            for &o in &oids {
                w.u32(o);
            }
        });
        let got = be_roundtrip(&BackendMessage::ParameterDescription(msg), BackendPhase::Normal, &expected);
        let BackendMessage::ParameterDescription(p) = got else { panic!("{got:?}") };
        prop_assert_eq!(p.types.iter().collect::<Vec<_>>(), oids.clone());
        prop_assert_eq!(&written(|b| ParameterDescription::write(b, &oids))[..], &expected[..]);
    }

    #[test]
    fn row_description(
        fields in vec(
            (nz_bytes(24), any::<u32>(), any::<i16>(), any::<u32>(), any::<i16>(), any::<i32>(), format_code()),
            0..30,
        ),
    ) {
        let fds: Vec<FieldDescription<'_>> = fields
            .iter()
            .map(|(name, table_oid, column_id, type_oid, type_size, type_modifier, format)| {
                FieldDescription {
                    name,
                    table_oid: *table_oid,
                    column_id: *column_id,
                    type_oid: *type_oid,
                    type_size: *type_size,
                    type_modifier: *type_modifier,
                    format: *format,
                }
            })
            .collect();
        let expected = typed(b'T', |w| {
            w.u16(fields.len());
            for (name, table_oid, column_id, type_oid, type_size, type_modifier, format) in &fields {
                w.cstr(name)
                    .u32(*table_oid)
                    .i16(*column_id)
                    .u32(*type_oid)
                    .i16(*type_size)
                    .i32(*type_modifier)
                    .i16(*format);
            }
        });
        let msg = RowDescription::new(&fds).unwrap();
        let got = be_roundtrip(&BackendMessage::RowDescription(msg), BackendPhase::Normal, &expected);
        let BackendMessage::RowDescription(r) = got else { panic!("{got:?}") };
        prop_assert_eq!(r.len(), fields.len());
        prop_assert_eq!(r.is_empty(), fields.is_empty());
        prop_assert_eq!(r.fields().len(), fields.len());
        let decoded: Vec<FieldDescription<'_>> = r.fields().collect();
        prop_assert_eq!(&decoded, &fds);
        for (d, (name, ..)) in decoded.iter().zip(&fields) {
            prop_assert_eq!(d.name_str().ok(), std::str::from_utf8(name).ok());
        }
        prop_assert_eq!(&written(|b| RowDescription::write(b, fds.iter().copied()))[..], &expected[..]);
    }

    #[test]
    fn data_row(vals in values(40)) {
        let r = refs(&vals);
        let msg = DataRow::new(&r).unwrap();
        let expected = typed(b'D', |w| { values_expected(w, &vals); });
        let got = be_roundtrip(&BackendMessage::DataRow(msg), BackendPhase::Normal, &expected);
        let BackendMessage::DataRow(row) = got else { panic!("{got:?}") };
        prop_assert_eq!(row.len(), vals.len());
        prop_assert_eq!(row.is_empty(), vals.is_empty());
        prop_assert_eq!(row.values().len(), vals.len());
        prop_assert_eq!(values_of(row.values()), vals.clone());
        prop_assert_eq!(&row.as_values().raw()[..], &expected[7..]);
        prop_assert_eq!(&written(|b| DataRow::write(b, r.iter().copied()))[..], &expected[..]);
    }

    #[test]
    fn command_complete(tag in nz_bytes(40), ttag in text(24)) {
        let msg = CommandComplete { tag: pg(&tag) };
        let expected = typed(b'C', |w| { w.cstr(&tag); });
        let got = be_roundtrip(&BackendMessage::CommandComplete(msg), BackendPhase::Normal, &expected);
        let BackendMessage::CommandComplete(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(c.tag.as_bytes(), &tag[..]);
        let expected = typed(b'C', |w| { w.cstr(ttag.as_bytes()); });
        prop_assert_eq!(&written(|b| CommandComplete::write(b, &ttag))[..], &expected[..]);
    }

    #[test]
    fn command_complete_row_counts(
        cmd in proptest::sample::select(vec!["SELECT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"]),
        rows in any::<u64>(),
    ) {
        let c = CommandComplete { tag: PgStr::try_from(format!("{cmd} {rows}")).unwrap() };
        prop_assert_eq!(c.command(), cmd.as_bytes());
        prop_assert_eq!(c.rows(), Some(rows));
        let c = CommandComplete { tag: PgStr::try_from(format!("INSERT 0 {rows}")).unwrap() };
        prop_assert_eq!(c.command(), &b"INSERT"[..]);
        prop_assert_eq!(c.rows(), Some(rows));
    }

    #[test]
    fn function_call_response(value in option::of(any_bytes(100))) {
        let msg = FunctionCallResponse { value: value.clone().map(Bytes::from) };
        let expected = typed(b'V', |w| { w.value(value.as_deref()); });
        let got = be_roundtrip(&BackendMessage::FunctionCallResponse(msg), BackendPhase::Normal, &expected);
        let BackendMessage::FunctionCallResponse(f) = got else { panic!("{got:?}") };
        prop_assert_eq!(f.value.as_deref(), value.as_deref());
        prop_assert_eq!(&written(|b| FunctionCallResponse::write(b, value.as_deref()))[..], &expected[..]);
    }

    #[test]
    fn error_and_notice_response(
        fields in vec((error_code(), nz_bytes(32)), 0..20),
        notice in any::<bool>(),
    ) {
        let tag = if notice { b'N' } else { b'E' };
        let ef = ErrorFields::new(fields.iter().map(|(c, v)| (*c, v))).unwrap();
        let msg = if notice {
            BackendMessage::NoticeResponse(ef)
        } else {
            BackendMessage::ErrorResponse(ef)
        };
        let expected = typed(tag, |w| {
            for (c, v) in &fields {
                w.u8(*c).cstr(v);
            }
            w.u8(0);
        });
        let got = be_roundtrip(&msg, BackendPhase::Normal, &expected);
        let (BackendMessage::NoticeResponse(f) | BackendMessage::ErrorResponse(f)) = got else {
            panic!("{got:?}")
        };
        let decoded: Vec<(u8, Vec<u8>)> = f.iter().map(|(c, v)| (c, v.to_vec())).collect();
        prop_assert_eq!(&decoded, &fields);
        let first = |code: u8| fields.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice());
        for code in 1..=255u8 {
            prop_assert_eq!(f.get(code), first(code));
        }
        prop_assert_eq!(f.severity(), first(b'V').or_else(|| first(b'S')));
        prop_assert_eq!(f.message(), first(b'M'));
        prop_assert_eq!(f.detail(), first(b'D'));
        prop_assert_eq!(f.hint(), first(b'H'));
        let w = written(|b| ErrorFields::write(b, tag, fields.iter().map(|(c, v)| (*c, v))));
        prop_assert_eq!(&w[..], &expected[..]);
    }

    #[test]
    fn notification_response(
        process_id in any::<i32>(),
        channel in nz_bytes(32),
        payload in nz_bytes(120),
        tchannel in text(16),
        tpayload in text(32),
    ) {
        let msg = NotificationResponse { process_id, channel: pg(&channel), payload: pg(&payload) };
        let expected = typed(b'A', |w| { w.i32(process_id).cstr(&channel).cstr(&payload); });
        let got = be_roundtrip(&BackendMessage::NotificationResponse(msg), BackendPhase::Normal, &expected);
        let BackendMessage::NotificationResponse(n) = got else { panic!("{got:?}") };
        prop_assert_eq!(n.process_id, process_id);
        prop_assert_eq!(n.channel.as_bytes(), &channel[..]);
        prop_assert_eq!(n.payload.as_bytes(), &payload[..]);
        let expected = typed(b'A', |w| {
            w.i32(process_id).cstr(tchannel.as_bytes()).cstr(tpayload.as_bytes());
        });
        let w = written(|b| NotificationResponse::write(b, process_id, &tchannel, &tpayload));
        prop_assert_eq!(&w[..], &expected[..]);
    }

    #[test]
    fn copy_responses(
        kind in prop_oneof![Just(CopyResponseKind::In), Just(CopyResponseKind::Out), Just(CopyResponseKind::Both)],
        format in any::<i8>(),
        columns in vec(format_code(), 0..40),
    ) {
        let (tag, wrap): (u8, fn(CopyResponse) -> BackendMessage) = match kind {
            CopyResponseKind::In => (b'G', BackendMessage::CopyInResponse),
            CopyResponseKind::Out => (b'H', BackendMessage::CopyOutResponse),
            CopyResponseKind::Both => (b'W', BackendMessage::CopyBothResponse),
        };
        prop_assert_eq!(kind.byte(), tag);
        let expected = typed(tag, |w| {
            w.raw(&format.to_be_bytes());
            formats_expected(w, &columns);
        });
        let got = be_roundtrip(&wrap(CopyResponse::new(format, &columns).unwrap()), BackendPhase::Normal, &expected);
        let (BackendMessage::CopyInResponse(c) | BackendMessage::CopyOutResponse(c) | BackendMessage::CopyBothResponse(c)) = got else {
            panic!("{got:?}")
        };
        prop_assert_eq!(c.format, format);
        prop_assert_eq!(c.column_formats.iter().collect::<Vec<_>>(), columns.clone());
        let w = written(|b| CopyResponse::write(b, kind, format, &columns));
        prop_assert_eq!(&w[..], &expected[..]);
    }

    #[test]
    fn copy_data_backend(data in any_bytes(600)) {
        let msg = BackendMessage::CopyData(CopyData { data: Bytes::from(data.clone()) });
        let expected = typed(b'd', |w| { w.raw(&data); });
        let got = be_roundtrip(&msg, BackendPhase::Normal, &expected);
        let BackendMessage::CopyData(c) = got else { panic!("{got:?}") };
        prop_assert_eq!(&c.data[..], &data[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input never panics a decoder.
// ---------------------------------------------------------------------------------------------

const FRONTEND_PHASES: [FrontendPhase; 6] = [
    FrontendPhase::Startup,
    FrontendPhase::Password,
    FrontendPhase::SaslInitialResponse,
    FrontendPhase::SaslResponse,
    FrontendPhase::GssResponse,
    FrontendPhase::Normal,
];

const BACKEND_PHASES: [BackendPhase; 3] = [
    BackendPhase::SslResponse,
    BackendPhase::GssEncResponse,
    BackendPhase::Normal,
];

const FRONTEND_TAGS: &[u8] = b"QPBEDCHSFXdcfp";
const BACKEND_TAGS: &[u8] = b"RKvSZ123nsItTDCVENAGHWdc";

/// Decodes until the input runs dry or a fatal error, checking the decoder's contract on
/// every step. Returns how many messages and recoverable errors were seen.
fn drain_frontend(dec: &mut FrontendDecoder, buf: &mut BytesMut) -> (usize, usize) {
    let (mut messages, mut errors) = (0, 0);
    for _ in 0..100_000 {
        let before = buf.clone();
        let phase = dec.phase();
        match dec.decode(buf) {
            Ok(Some(msg)) => {
                messages += 1;
                assert!(buf.len() < before.len(), "a message consumed nothing");
                let consumed = &before[..before.len() - buf.len()];
                assert!(before.ends_with(buf), "decode changed unconsumed bytes");
                match msg {
                    // PostgreSQL (like this decoder) ignores anything after the request code.
                    FrontendMessage::SslRequest | FrontendMessage::GssEncRequest => {}
                    _ => assert_eq!(&encode_fe(&msg)[..], consumed, "not canonical: {msg:?}"),
                }
                if matches!(msg, FrontendMessage::Startup(_)) {
                    assert_eq!(dec.phase(), FrontendPhase::Normal);
                } else {
                    assert_eq!(dec.phase(), phase);
                }
            }
            Ok(None) => {
                assert_eq!(buf, &before, "an incomplete decode consumed bytes");
                assert!(dec.bytes_needed() > buf.len(), "Ok(None) but enough bytes");
                return (messages, errors);
            }
            Err(e) if e.is_recoverable() => {
                errors += 1;
                assert!(
                    buf.len() < before.len(),
                    "recoverable {e:?} consumed nothing"
                );
                assert!(before.ends_with(buf));
                let _ = e.sqlstate();
                let _ = e.to_string();
            }
            Err(e) => {
                let _ = e.to_string();
                assert_eq!(dec.decode(buf), Err(e.clone()), "a fatal error must stick");
                return (messages, errors);
            }
        }
    }
    panic!("decoder did not finish")
}

fn drain_backend(dec: &mut BackendDecoder, buf: &mut BytesMut) -> (usize, usize) {
    let (mut messages, mut errors) = (0, 0);
    for _ in 0..100_000 {
        let before = buf.clone();
        match dec.decode(buf) {
            Ok(Some(msg)) => {
                messages += 1;
                assert!(buf.len() < before.len(), "a message consumed nothing");
                assert!(before.ends_with(buf), "decode changed unconsumed bytes");
                let consumed = &before[..before.len() - buf.len()];
                assert_eq!(&encode_be(&msg)[..], consumed, "not canonical: {msg:?}");
                assert_eq!(dec.phase(), BackendPhase::Normal);
            }
            Ok(None) => {
                assert_eq!(buf, &before, "an incomplete decode consumed bytes");
                assert!(dec.bytes_needed() > buf.len(), "Ok(None) but enough bytes");
                return (messages, errors);
            }
            Err(e) if e.is_recoverable() => {
                errors += 1;
                assert!(
                    buf.len() < before.len(),
                    "recoverable {e:?} consumed nothing"
                );
                assert!(before.ends_with(buf));
                let _ = e.sqlstate();
                let _ = e.to_string();
            }
            Err(e) => {
                let _ = e.to_string();
                assert_eq!(dec.decode(buf), Err(e.clone()), "a fatal error must stick");
                return (messages, errors);
            }
        }
    }
    panic!("decoder did not finish")
}

/// A corpus of valid frames of every kind, to mutate.
fn sample_backend_frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |m: BackendMessage| out.push(encode_be(&m).to_vec());
    push(BackendMessage::Authentication(
        Authentication::Md5Password { salt: *b"salt" },
    ));
    push(BackendMessage::Authentication(Authentication::Sasl(
        SaslMechanisms::new(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]).unwrap(),
    )));
    push(BackendMessage::Authentication(Authentication::SaslFinal(
        Bytes::from_static(b"v=abc"),
    )));
    push(BackendMessage::BackendKeyData(BackendKeyData {
        process_id: 42,
        secret_key: Bytes::from_static(&[7; 32]),
    }));
    push(BackendMessage::NegotiateProtocolVersion(
        NegotiateProtocolVersion::new(ProtocolVersion::V3_0, ["_pq_.a", "_pq_.b"]).unwrap(),
    ));
    push(BackendMessage::ParameterStatus(ParameterStatus {
        name: PgStr::from_static("TimeZone"),
        value: PgStr::from_static("UTC"),
    }));
    push(BackendMessage::ReadyForQuery(TransactionStatus::Idle));
    push(BackendMessage::ParameterDescription(ParameterDescription {
        types: Oids::new(&[23, 25]).unwrap(),
    }));
    let col = |name: &'static [u8]| FieldDescription {
        name,
        table_oid: 16384,
        column_id: 1,
        type_oid: 23,
        type_size: 4,
        type_modifier: -1,
        format: 0,
    };
    push(BackendMessage::RowDescription(
        RowDescription::new(&[col(b"id"), col(b"name")]).unwrap(),
    ));
    push(BackendMessage::DataRow(
        DataRow::new(&[Some(b"1"), None, Some(b"")]).unwrap(),
    ));
    push(BackendMessage::CommandComplete(CommandComplete {
        tag: PgStr::from_static("INSERT 0 5"),
    }));
    push(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: Some(Bytes::from_static(b"\x00\x01")),
    }));
    push(BackendMessage::ErrorResponse(
        ErrorFields::new([(b'S', "ERROR"), (b'C', "42P01"), (b'M', "no such table")]).unwrap(),
    ));
    push(BackendMessage::NotificationResponse(NotificationResponse {
        process_id: 9,
        channel: PgStr::from_static("chan"),
        payload: PgStr::from_static("hi"),
    }));
    push(BackendMessage::CopyOutResponse(
        CopyResponse::new(0, &[0, 0]).unwrap(),
    ));
    out
}

fn sample_frontend_frames() -> Vec<(FrontendPhase, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |p: FrontendPhase, m: FrontendMessage| out.push((p, encode_fe(&m).to_vec()));
    use FrontendPhase as Ph;
    push(
        Ph::Startup,
        FrontendMessage::Startup(
            StartupMessage::new(ProtocolVersion::V3_2, [("user", "u"), ("database", "d")]).unwrap(),
        ),
    );
    push(
        Ph::Startup,
        FrontendMessage::CancelRequest(CancelRequest {
            process_id: 1,
            secret_key: Bytes::from_static(&[1; 32]),
        }),
    );
    push(
        Ph::Normal,
        FrontendMessage::Query(Query {
            sql: PgStr::from_static("SELECT 1"),
        }),
    );
    push(
        Ph::Normal,
        FrontendMessage::Parse(Parse::new("s", "SELECT $1", &[23]).unwrap()),
    );
    push(
        Ph::Normal,
        FrontendMessage::Bind(Bind::new("p", "s", &[0, 1], &[Some(b"1"), None], &[1]).unwrap()),
    );
    push(
        Ph::Normal,
        FrontendMessage::Describe(Describe {
            target: Target::Portal,
            name: PgStr::from_static("p"),
        }),
    );
    push(
        Ph::Normal,
        FrontendMessage::Execute(Execute {
            portal: PgStr::EMPTY,
            max_rows: 10,
        }),
    );
    push(
        Ph::Normal,
        FrontendMessage::FunctionCall(FunctionCall::new(1, &[1], &[Some(b"x")], 1).unwrap()),
    );
    push(
        Ph::Normal,
        FrontendMessage::CopyFail(CopyFail {
            message: PgStr::from_static("no"),
        }),
    );
    push(
        Ph::Password,
        FrontendMessage::Password(PasswordMessage {
            password: PgStr::from_static("secret"),
        }),
    );
    push(
        Ph::SaslInitialResponse,
        FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: PgStr::from_static("SCRAM-SHA-256"),
            data: Some(Bytes::from_static(b"n,,n=,r=abc")),
        }),
    );
    out
}

/// Replaces bytes of `frame` after its header and/or truncates its body, fixing the length word
/// so that the frame stays well-framed and the body decoder is what gets exercised.
fn mutate(frame: &[u8], header: usize, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut body = frame[header..].to_vec();
    if !body.is_empty() {
        for &(i, b) in edits {
            let i = i % body.len();
            body[i] = b;
        }
    }
    if let Some(c) = cut {
        body.truncate(c % (body.len() + 1));
    }
    let mut out = frame[..header].to_vec();
    let len = u32::try_from(body.len() + 4).unwrap();
    let at = header - 4;
    out[at..header].copy_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec(
        (
            any::<usize>(),
            prop_oneof![Just(0u8), Just(0xFF), Just(0x7F), Just(b'S'), any::<u8>()],
        ),
        0..4,
    )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop_oneof![any_bytes(64), any_bytes(3000)]) {
        for phase in FRONTEND_PHASES {
            let mut dec = fe_decoder(phase);
            drain_frontend(&mut dec, &mut BytesMut::from(&data[..]));
        }
        for phase in BACKEND_PHASES {
            let mut dec = be_decoder(phase);
            drain_backend(&mut dec, &mut BytesMut::from(&data[..]));
        }
    }

    #[test]
    fn typed_frames_with_arbitrary_bodies(
        body in prop_oneof![any_bytes(16), any_bytes(600), vec(prop_oneof![Just(0u8), Just(0xFF), 1u8..=4], 0..64)],
        tag_index in any::<usize>(),
        phase_index in 1usize..FRONTEND_PHASES.len(),
    ) {
        let sync = [b'S', 0, 0, 0, 4];
        let ready = [b'Z', 0, 0, 0, 5, b'I'];
        let header = |tag: u8| {
            let mut f = vec![tag];
            f.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
            f.extend_from_slice(&body);
            f
        };

        // Frontend: every known type byte, in a typed phase.
        let phase = FRONTEND_PHASES[phase_index];
        let tag = FRONTEND_TAGS[tag_index % FRONTEND_TAGS.len()];
        let mut input = BytesMut::from(&header(tag)[..]);
        input.extend_from_slice(&sync);
        let mut dec = fe_decoder(phase);
        let first = dec.decode(&mut input);
        if tag == b'p' && phase == FrontendPhase::Normal {
            prop_assert_eq!(
                first,
                Err(DecodeError::UnknownMessageType { direction: pgproto::message::Direction::Frontend, tag })
            );
        } else {
            match &first {
                Ok(Some(_)) => {}
                Ok(None) => prop_assert!(false, "a complete frame is incomplete"),
                Err(e) => prop_assert!(e.is_recoverable(), "{:?} in a well-framed message is fatal", e),
            }
            // The bad frame was consumed whole; the stream goes on.
            prop_assert_eq!(dec.decode(&mut input), Ok(Some(FrontendMessage::Sync)));
            prop_assert!(input.is_empty());
        }

        // Backend: every known type byte.
        let tag = BACKEND_TAGS[tag_index % BACKEND_TAGS.len()];
        let mut input = BytesMut::from(&header(tag)[..]);
        input.extend_from_slice(&ready);
        let mut dec = BackendDecoder::new();
        match dec.decode(&mut input) {
            Ok(Some(_)) => {}
            Ok(None) => prop_assert!(false, "a complete frame is incomplete"),
            Err(e) => prop_assert!(e.is_recoverable(), "{:?} in a well-framed message is fatal", e),
        }
        prop_assert_eq!(
            dec.decode(&mut input),
            Ok(Some(BackendMessage::ReadyForQuery(TransactionStatus::Idle)))
        );
        prop_assert!(input.is_empty());
    }

    #[test]
    fn startup_packets_with_arbitrary_bodies(
        body in prop_oneof![any_bytes(16), any_bytes(300)],
        code in prop_oneof![
            Just(80877103u32), Just(80877104), Just(80877102), Just(0x0003_0000), Just(0x0003_0002),
            any::<u32>(),
        ],
    ) {
        let mut frame = u32::try_from(body.len() + 8).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(&body);
        let mut input = BytesMut::from(&frame[..]);
        let mut dec = FrontendDecoder::new();
        let result = dec.decode(&mut input);
        prop_assert!(input.is_empty(), "a complete startup packet was not consumed: {:?}", result);
        match result {
            Ok(Some(FrontendMessage::Startup(m))) => {
                prop_assert_eq!(code >> 16, 3);
                prop_assert_eq!(m.version().code(), code);
                prop_assert_eq!(dec.phase(), FrontendPhase::Normal);
            }
            Ok(Some(FrontendMessage::SslRequest)) => prop_assert_eq!(code, 80877103),
            Ok(Some(FrontendMessage::GssEncRequest)) => prop_assert_eq!(code, 80877104),
            Ok(Some(FrontendMessage::CancelRequest(c))) => {
                prop_assert_eq!(code, 80877102);
                prop_assert!(body.len() >= 8 && body.len() <= 260);
                prop_assert_eq!(&c.secret_key[..], &body[4..]);
            }
            Ok(other) => prop_assert!(false, "unexpected {:?}", other),
            Err(e) => {
                prop_assert!(!e.is_recoverable());
                prop_assert_eq!(dec.decode(&mut input), Err(e));
            }
        }
    }

    #[test]
    fn mutated_valid_frames(
        index in any::<usize>(),
        edits in edits(),
        cut in option::weighted(0.3, any::<usize>()),
        trailing in any_bytes(8),
    ) {
        let backend = sample_backend_frames();
        let frame = mutate(&backend[index % backend.len()], 5, &edits, cut);
        let mut input = BytesMut::from(&frame[..]);
        let mut dec = BackendDecoder::new();
        let result = dec.decode(&mut input);
        prop_assert!(input.is_empty(), "{:?}", result);
        if let Err(e) = &result {
            prop_assert!(e.is_recoverable(), "{:?}", e);
        }
        input.extend_from_slice(&trailing);
        drain_backend(&mut dec, &mut input);

        let frontend = sample_frontend_frames();
        let (phase, frame) = &frontend[index % frontend.len()];
        let header = if *phase == FrontendPhase::Startup { 4 } else { 5 };
        let frame = mutate(frame, header, &edits, cut);
        let mut input = BytesMut::from(&frame[..]);
        let mut dec = fe_decoder(*phase);
        let result = dec.decode(&mut input);
        if frame.len() >= 8 || header == 5 {
            prop_assert!(input.is_empty(), "{:?}", result);
        }
        if let (Err(e), 5) = (&result, header) {
            prop_assert!(e.is_recoverable(), "{:?}", e);
        }
        input.extend_from_slice(&trailing);
        drain_frontend(&mut dec, &mut input);
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding errors leave the buffer as it was.
// ---------------------------------------------------------------------------------------------

/// Runs `write` on a prefilled buffer, expects an error, and checks the buffer is unchanged.
fn fails(write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> EncodeError {
    let mut buf = BytesMut::from(&b"earlier output \x00\xff"[..]);
    buf.reserve(64);
    let before = buf.clone();
    let err = write(&mut buf).expect_err("encoding must fail");
    assert_eq!(buf, before, "a failed encode changed the buffer ({err:?})");
    err
}

#[test]
fn encode_errors_leave_buffer_unchanged() {
    use EncodeError as E;

    let e = fails(|b| Query::write(b, "SELECT '\0'"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Parse::write(b, "na\0me", "SELECT 1", &[]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Parse::write(b, "name", "SELECT 1\0", &[]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Parse::write(b, "s", "SELECT 1", &vec![23; 65536]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let e = fails(|b| ErrorFields::write(b, b'E', [(b'M', &b"bad\0value"[..])]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| ErrorFields::write(b, b'N', [(b'S', &b"ERROR"[..]), (0, &b"x"[..])]));
    assert!(matches!(e, E::Empty { .. }), "{e:?}");

    let many = vec![Some(&b"x"[..]); 65536];
    let e = fails(|b| Bind::write(b, "", "", &[], many.iter().copied(), &[]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let e = fails(|b| Bind::write(b, "", "", &[0; 65536], many.iter().copied(), &[]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let e = fails(|b| Bind::write(b, "", "", &[], [None::<&[u8]>], &[1; 65536]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let three = [Some(&b"1"[..]), None, Some(&b"3"[..])];
    let e = fails(|b| Bind::write(b, "p", "s", &[0, 1], three.iter().copied(), &[]));
    assert_eq!(
        e,
        E::CountMismatch {
            field: "parameter formats",
            count: 2,
            expected: 3
        }
    );
    let e = fails(|b| Bind::write(b, "p\0", "s", &[], three.iter().copied(), &[]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| FunctionCall::write(b, 1, &[0, 1], three.iter().copied(), 0));
    assert!(
        matches!(
            e,
            E::CountMismatch {
                count: 2,
                expected: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let e = fails(|b| DataRow::write(b, many.iter().copied()));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let e = fails(|b| ParameterDescription::write(b, &vec![25; 65536]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let e = fails(|b| CopyResponse::write(b, CopyResponseKind::Out, 0, &[0; 65536]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let col = FieldDescription {
        name: b"c",
        table_oid: 0,
        column_id: 0,
        type_oid: 25,
        type_size: -1,
        type_modifier: -1,
        format: 0,
    };
    let e = fails(|b| RowDescription::write(b, vec![col; 65536]));
    assert!(matches!(e, E::TooManyItems { count: 65536, .. }), "{e:?}");
    let bad = FieldDescription {
        name: b"c\0",
        ..col
    };
    let e = fails(|b| RowDescription::write(b, [col, bad]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");

    for len in [0, 3, 257] {
        let key = vec![1; len];
        let e = fails(|b| CancelRequest::write(b, 1, &key));
        assert_eq!(e, E::InvalidCancelKeyLength { length: len });
        let e = fails(|b| BackendKeyData::write(b, 1, &key));
        assert_eq!(e, E::InvalidCancelKeyLength { length: len });
        let msg = FrontendMessage::CancelRequest(CancelRequest {
            process_id: 1,
            secret_key: Bytes::from(key.clone()),
        });
        let e = fails(|b| msg.encode(b));
        assert_eq!(e, E::InvalidCancelKeyLength { length: len });
        let msg = BackendMessage::BackendKeyData(BackendKeyData {
            process_id: 1,
            secret_key: Bytes::from(key),
        });
        let e = fails(|b| msg.encode(b));
        assert_eq!(e, E::InvalidCancelKeyLength { length: len });
    }

    let e = fails(|b| StartupMessage::write(b, ProtocolVersion::V3_0, [("user", "a"), ("", "x")]));
    assert!(matches!(e, E::Empty { .. }), "{e:?}");
    let e = fails(|b| StartupMessage::write(b, ProtocolVersion::V3_0, [("user", "a\0b")]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| StartupMessage::write(b, ProtocolVersion::V3_0, [("us\0er", "a")]));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| PasswordMessage::write(b, b"pass\0word"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| SaslInitialResponse::write(b, "SCRAM\0", Some(b"data")));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Describe::write(b, Target::Portal, "a\0"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Close::write(b, Target::Statement, "\0"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| Execute::write(b, "\0", 0));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| CopyFail::write(b, "why\0"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| ParameterStatus::write(b, "a", "b\0"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| CommandComplete::write(b, "SELECT\0 1"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");
    let e = fails(|b| NotificationResponse::write(b, 1, "c", "pay\0load"));
    assert!(matches!(e, E::NulInString { .. }), "{e:?}");

    // Owned values whose parts disagree (public fields can be set independently).
    let mut bind = Bind::new("", "", &[0, 1], &[None, None], &[]).unwrap();
    bind.params = Bind::new("", "", &[], &[None, None, None], &[])
        .unwrap()
        .params;
    let msg = FrontendMessage::Bind(bind);
    let e = fails(|b| msg.encode(b));
    assert!(
        matches!(
            e,
            E::CountMismatch {
                count: 2,
                expected: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let mut call = FunctionCall::new(1, &[0, 1], &[None, None], 0).unwrap();
    call.args = FunctionCall::new(1, &[], &[None, None, None], 0)
        .unwrap()
        .args;
    let msg = FrontendMessage::FunctionCall(call);
    let e = fails(|b| msg.encode(b));
    assert!(
        matches!(
            e,
            E::CountMismatch {
                count: 2,
                expected: 3,
                ..
            }
        ),
        "{e:?}"
    );

    // Builders refuse what cannot be encoded.
    assert!(matches!(PgStr::try_from("a\0"), Err(E::NulInString { .. })));
    assert!(matches!(
        Oids::new(&vec![0; 65536]),
        Err(E::TooManyItems { count: 65536, .. })
    ));
    assert!(matches!(
        Formats::new(&[0; 65536]),
        Err(E::TooManyItems { count: 65536, .. })
    ));
    assert!(matches!(SaslMechanisms::new([""]), Err(E::Empty { .. })));
    assert!(matches!(
        SaslMechanisms::new(["a\0"]),
        Err(E::NulInString { .. })
    ));
    assert!(matches!(
        NegotiateProtocolVersion::new(ProtocolVersion::V3_0, ["_pq_.\0"]),
        Err(E::NulInString { .. })
    ));
    assert!(matches!(
        StartupMessage::new(ProtocolVersion::V3_0, [("", "x")]),
        Err(E::Empty { .. })
    ));
    assert!(matches!(
        ErrorFields::new([(0u8, "x")]),
        Err(E::Empty { .. })
    ));
    assert!(matches!(
        Parse::new("a\0", "", &[]),
        Err(E::NulInString { .. })
    ));
    assert!(matches!(
        Bind::new("", "", &[0, 0], &[None], &[]),
        Err(E::CountMismatch { .. })
    ));
    assert!(matches!(DataRow::new(&many), Err(E::TooManyItems { .. })));
    assert!(matches!(
        CopyResponse::new(0, &[0; 65536]),
        Err(E::TooManyItems { .. })
    ));

    // 65535 items is the most a count can say, and is accepted.
    let mut buf = BytesMut::new();
    Parse::write(&mut buf, "", "", &vec![23; 65535]).unwrap();
    let mut dec = fe_decoder(FrontendPhase::Normal);
    let Some(FrontendMessage::Parse(p)) = dec.decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(p.param_types.len(), 65535);
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_zero_byte_anywhere_fails_cleanly(
        prefix in any_bytes(40),
        s in text(20),
        at in any::<usize>(),
        which in 0usize..6,
    ) {
        let mut chars: Vec<char> = s.chars().collect();
        let at = at % (chars.len() + 1);
        chars.insert(at, '\0');
        let bad: String = chars.into_iter().collect();
        let mut buf = BytesMut::from(&prefix[..]);
        let result = match which {
            0 => Query::write(&mut buf, &bad),
            1 => Parse::write(&mut buf, "", &bad, &[1, 2, 3]),
            2 => Bind::write(&mut buf, "", &bad, &[], [Some(&b"v"[..])], &[]),
            3 => ErrorFields::write(&mut buf, b'E', [(b'S', "ERROR"), (b'M', bad.as_str())]),
            4 => StartupMessage::write(&mut buf, ProtocolVersion::V3_2, [("user", "u"), ("application_name", bad.as_str())]),
            _ => CopyFail::write(&mut buf, &bad),
        };
        prop_assert!(matches!(result, Err(EncodeError::NulInString { .. })), "{:?}", result);
        prop_assert_eq!(&buf[..], &prefix[..]);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Bind and FunctionCall frames assembled by hand with independent format and value
    /// counts: the decoder accepts exactly the 0 / 1 / one-per-value rule, and whatever it
    /// accepts encodes back to the same bytes.
    #[test]
    fn format_count_rule_on_decode(
        codes in vec(format_code(), 0..5),
        vals in values(4),
        function in any::<u32>(),
    ) {
        let valid = codes.len() <= 1 || codes.len() == vals.len();
        let bind = typed(b'B', |w| {
            w.cstr(b"portal").cstr(b"stmt");
            formats_expected(w, &codes);
            values_expected(w, &vals);
            formats_expected(w, &[1]);
        });
        let call = typed(b'F', |w| {
            w.u32(function);
            formats_expected(w, &codes);
            values_expected(w, &vals);
            w.i16(1);
        });
        for frame in [bind, call] {
            let mut input = BytesMut::from(&frame[..]);
            input.extend_from_slice(b"S\0\0\0\x04");
            let mut dec = fe_decoder(FrontendPhase::Normal);
            match dec.decode(&mut input) {
                Ok(Some(msg)) => {
                    prop_assert!(valid, "accepted {} codes for {} values", codes.len(), vals.len());
                    prop_assert_eq!(&encode_fe(&msg)[..], &frame[..]);
                    let (formats, decoded) = match &msg {
                        FrontendMessage::Bind(b) => (&b.param_formats, values_of(b.params.iter())),
                        FrontendMessage::FunctionCall(f) => (&f.arg_formats, values_of(f.args.iter())),
                        other => panic!("{other:?}"),
                    };
                    prop_assert_eq!(formats.iter().collect::<Vec<_>>(), codes.clone());
                    prop_assert_eq!(&decoded, &vals);
                }
                Err(DecodeError::CountMismatch { count, expected, .. }) => {
                    prop_assert!(!valid);
                    prop_assert_eq!((count, expected), (codes.len(), vals.len()));
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            prop_assert_eq!(dec.decode(&mut input), Ok(Some(FrontendMessage::Sync)));
        }
    }
}

#[test]
fn error_fields_keep_unknown_codes() {
    let fields: [(u8, &[u8]); 5] = [
        (b'X', b"unknown"),
        (b'S', b"ERROR"),
        (0xFF, b"\xff\xfe"),
        (b'M', b"message"),
        (b'X', b"second X"),
    ];
    let mut wire = BytesMut::new();
    ErrorFields::write(&mut wire, b'E', fields).unwrap();
    let Some(BackendMessage::ErrorResponse(f)) = BackendDecoder::new().decode(&mut wire).unwrap()
    else {
        panic!()
    };
    assert_eq!(f.iter().collect::<Vec<_>>(), fields.to_vec());
    assert_eq!(f.get(b'X'), Some(&b"unknown"[..]));
    assert_eq!(f.get(0xFF), Some(&b"\xff\xfe"[..]));
    assert_eq!(f.message(), Some(&b"message"[..]));
    assert_eq!(f.severity(), Some(&b"ERROR"[..]));
    assert_eq!(f.get(b'C'), None);
}

#[test]
fn data_row_values_iterate_exactly() {
    let vals = vec![Some(b"a".to_vec()), None, Some(Vec::new())];
    let row = DataRow::new(&refs(&vals)).unwrap();
    assert_eq!(values_of(row.values()), vals);
    assert_eq!(row.values().nth(1), Some(None));
    assert_eq!(row.values().nth(3), None);
}

// ---------------------------------------------------------------------------------------------
// Runs of frames (`split_frames`) against message-by-message decoding.
// ---------------------------------------------------------------------------------------------

/// What one message decoded to, in a form both paths can produce.
#[derive(Debug, PartialEq)]
enum Step<M> {
    Message(M),
    Error(DecodeError),
}

/// Decodes `input` message by message until the decoder wants more bytes or fails for good.
fn by_message<M>(
    input: &mut BytesMut,
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<M>, DecodeError>,
) -> Vec<Step<M>> {
    let mut out = Vec::new();
    loop {
        match decode(input) {
            Ok(Some(m)) => out.push(Step::Message(m)),
            Ok(None) => return out,
            Err(e) => {
                let fatal = !e.is_recoverable();
                out.push(Step::Error(e));
                if fatal {
                    return out;
                }
            }
        }
    }
}

/// Checks a borrowed DataRow against the owned decode of the same frame: the same values, or
/// the same error (from reading the count or from visiting the values).
fn row_view_agrees(row: DataRowRef<'_>, owned: &Result<BackendMessage, DecodeError>) {
    let visited: Result<Vec<Option<&[u8]>>, DecodeError> = row.values().collect();
    match owned {
        Ok(BackendMessage::DataRow(d)) => {
            assert_eq!(visited.as_deref(), Ok(&d.values().collect::<Vec<_>>()[..]));
            assert_eq!(row.len(), d.len());
            assert!(row.check().is_ok());
        }
        Ok(m) => panic!("a DataRow view of {m:?}"),
        Err(e) => {
            assert_eq!(visited.as_ref().err(), Some(e));
            assert_eq!(row.check().err().as_ref(), Some(e));
            // After its error the iterator ends.
            let mut it = row.values();
            assert!(it.by_ref().any(|v| v.is_err()));
            assert_eq!(it.next(), None);
        }
    }
}

fn backend_runs(data: &[u8], first_read: usize) {
    let mut a = BytesMut::from(&data[..first_read.min(data.len())]);
    let mut b = a.clone();
    let mut dec_a = BackendDecoder::new();
    let mut dec_b = BackendDecoder::new();
    let mut expected = by_message(&mut a, |i| dec_a.decode(i));
    a.extend_from_slice(&data[first_read.min(data.len())..]);
    let fatal = matches!(expected.last(), Some(Step::Error(e)) if !e.is_recoverable());
    if !fatal {
        expected.extend(by_message(&mut a, |i| dec_a.decode(i)));
    }

    let mut got = Vec::new();
    let mut read_all = false;
    loop {
        match dec_b.split_frames(&mut b) {
            Ok(frames) if frames.is_empty() => {
                assert!(
                    dec_b.bytes_needed() > b.len(),
                    "an empty run with enough bytes"
                );
                if read_all {
                    break;
                }
                b.extend_from_slice(&data[first_read.min(data.len())..]);
                read_all = true;
            }
            Ok(frames) => {
                for frame in &frames {
                    let owned = frame.decode();
                    match frame.view() {
                        Ok(BackendView::DataRow(row)) => row_view_agrees(row, &owned),
                        Ok(BackendView::CopyData(data)) => {
                            assert!(
                                matches!(&owned, Ok(BackendMessage::CopyData(c)) if c.data == data)
                            );
                        }
                        Ok(BackendView::Other(m)) => assert_eq!(Ok(&m), owned.as_ref()),
                        Ok(v) => panic!("unexpected view {v:?}"),
                        Err(e) => assert_eq!(Some(&e), owned.as_ref().err()),
                    }
                    got.push(match owned {
                        Ok(m) => Step::Message(m),
                        Err(e) => Step::Error(e),
                    });
                }
            }
            Err(e) => {
                assert!(!e.is_recoverable(), "a header error is fatal: {e:?}");
                assert_eq!(
                    dec_b.split_frames(&mut b),
                    Err(e.clone()),
                    "a fatal error must stick"
                );
                got.push(Step::Error(e));
                break;
            }
        }
    }
    assert_eq!(got, expected);
    if !fatal && !matches!(got.last(), Some(Step::Error(e)) if !e.is_recoverable()) {
        assert_eq!(a, b, "both paths leave the same incomplete tail");
    }
}

fn frontend_view_agrees(view: &FrontendView<'_>, owned: &FrontendMessage) {
    let same = match (view, owned) {
        (FrontendView::Query(sql), FrontendMessage::Query(q)) => *sql == q.sql.as_bytes(),
        (FrontendView::Parse(p), FrontendMessage::Parse(o)) => {
            p.name == o.name.as_bytes()
                && p.query == o.query.as_bytes()
                && p.param_types.iter().eq(o.param_types.iter())
                && p.param_types.len() == o.param_types.len()
        }
        (FrontendView::Bind(b), FrontendMessage::Bind(o)) => {
            b.portal == o.portal.as_bytes()
                && b.statement == o.statement.as_bytes()
                && b.param_formats.iter().eq(o.param_formats.iter())
                && b.params.iter().eq(o.params.iter())
                && b.result_formats.iter().eq(o.result_formats.iter())
                && (0..b.params.len() + 1)
                    .all(|i| b.param_formats.code_for(i) == o.param_formats.code_for(i))
        }
        (FrontendView::Execute(e), FrontendMessage::Execute(o)) => {
            e.portal == o.portal.as_bytes() && e.max_rows == o.max_rows
        }
        (FrontendView::Describe(d), FrontendMessage::Describe(o)) => {
            d.target == o.target && d.name == o.name.as_bytes()
        }
        (FrontendView::Close(c), FrontendMessage::Close(o)) => {
            c.target == o.target && c.name == o.name.as_bytes()
        }
        (FrontendView::CopyData(d), FrontendMessage::CopyData(o)) => *d == o.data,
        (FrontendView::Sync, FrontendMessage::Sync)
        | (FrontendView::Flush, FrontendMessage::Flush)
        | (FrontendView::CopyDone, FrontendMessage::CopyDone)
        | (FrontendView::Terminate, FrontendMessage::Terminate) => true,
        (FrontendView::Other(m), o) => m == o,
        _ => false,
    };
    assert!(same, "view {view:?} disagrees with {owned:?}");
}

fn frontend_runs(data: &[u8]) {
    let mut a = BytesMut::from(data);
    let mut b = a.clone();
    let mut dec_a = fe_decoder(FrontendPhase::Normal);
    let mut dec_b = fe_decoder(FrontendPhase::Normal);
    let expected = by_message(&mut a, |i| dec_a.decode(i));
    let mut got = Vec::new();
    loop {
        match dec_b.split_frames(&mut b) {
            Ok(frames) if frames.is_empty() => {
                assert!(
                    dec_b.bytes_needed() > b.len(),
                    "an empty run with enough bytes"
                );
                break;
            }
            Ok(frames) => {
                for frame in &frames {
                    let owned = frame.decode();
                    match (frame.view(), &owned) {
                        (Ok(view), Ok(m)) => frontend_view_agrees(&view, m),
                        (Err(e), Err(o)) => assert_eq!(&e, o),
                        (view, owned) => panic!("view {view:?} but decode {owned:?}"),
                    }
                    got.push(match owned {
                        Ok(m) => Step::Message(m),
                        Err(e) => Step::Error(e),
                    });
                }
            }
            Err(e) => {
                assert!(!e.is_recoverable(), "a header error is fatal: {e:?}");
                assert_eq!(dec_b.split_frames(&mut b), Err(e.clone()));
                got.push(Step::Error(e));
                break;
            }
        }
    }
    assert_eq!(got, expected);
    if !matches!(got.last(), Some(Step::Error(e)) if !e.is_recoverable()) {
        assert_eq!(a, b, "both paths leave the same incomplete tail");
    }
}

#[test]
fn split_frames_only_in_the_normal_phases() {
    // An earlier `decode` asked for a byte; it has come: the empty run must not say "read more".
    let mut input = BytesMut::new();
    let mut dec = be_decoder(BackendPhase::SslResponse);
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(dec.bytes_needed(), 1);
    input.extend_from_slice(b"S");
    assert!(dec.split_frames(&mut input).unwrap().is_empty());
    assert_eq!(dec.bytes_needed(), 0);
    assert_eq!(input.len(), 1, "the encryption answer is left for decode");
    assert_eq!(
        dec.decode(&mut input),
        Ok(Some(BackendMessage::SslResponse { accepted: true }))
    );

    let mut input = BytesMut::from(&b"\0\0"[..]);
    let mut dec = FrontendDecoder::new();
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(dec.bytes_needed(), 4);
    input.extend_from_slice(b"\0\x08\x04\xd2\x16\x2f");
    assert!(dec.split_frames(&mut input).unwrap().is_empty());
    assert_eq!(dec.bytes_needed(), 0);
    assert_eq!(
        dec.decode(&mut input),
        Ok(Some(FrontendMessage::SslRequest))
    );
}

#[test]
fn list_views_answer_none_past_the_end() {
    let bind = Bind::new("", "", &[1, 0], &[Some(b"1"), None], &[1]).unwrap();
    assert_eq!(bind.param_formats.get(1), Some(0));
    assert_eq!(bind.param_formats.get(usize::MAX / 2 + 1), None);
    assert_eq!(bind.param_formats.view().get(usize::MAX), None);
    let oids = Oids::new(&[23, 25]).unwrap();
    assert_eq!(oids.get(1), Some(25));
    assert_eq!(oids.get(usize::MAX / 4 + 1), None);
    assert_eq!(oids.view().get(usize::MAX), None);
}

#[test]
fn a_run_stops_before_a_bad_header_and_the_next_call_reports_it() {
    let mut input = BytesMut::new();
    FrontendMessage::Sync.encode(&mut input).unwrap();
    input.extend_from_slice(b"p\0\0\0\x05x");
    let mut dec = fe_decoder(FrontendPhase::Normal);
    let frames = dec.split_frames(&mut input).unwrap();
    let views: Vec<_> = frames.iter().map(|f| f.view().unwrap()).collect();
    assert_eq!(views, [FrontendView::Sync]);
    assert_eq!(frames.as_bytes().as_ref(), b"S\0\0\0\x04");
    let unknown = DecodeError::UnknownMessageType {
        direction: pgproto::message::Direction::Frontend,
        tag: b'p',
    };
    assert_eq!(dec.split_frames(&mut input), Err(unknown.clone()));
    assert_eq!(dec.decode(&mut input), Err(unknown));
}

/// Which sample, the edits and cut for `mutate`, and whether to mutate it.
type Pick = (usize, Vec<(usize, u8)>, Option<usize>, bool);

/// A stream of sample frames, some mutated, then some garbage.
fn stream_of(samples: &[Vec<u8>], picks: &[Pick], garbage: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for (i, e, cut, mutated) in picks {
        let frame = &samples[i % samples.len()];
        if *mutated {
            data.extend(mutate(frame, 5, e, *cut));
        } else {
            data.extend_from_slice(frame);
        }
    }
    data.extend_from_slice(garbage);
    data
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn backend_runs_agree_with_decode(
        picks in vec((any::<usize>(), edits(), option::of(any::<usize>()), any::<bool>()), 0..12),
        garbage in prop_oneof![Just(Vec::new()), any_bytes(12)],
        first_read in any::<usize>(),
    ) {
        let samples = sample_backend_frames();
        let data = stream_of(&samples, &picks, &garbage);
        backend_runs(&data, first_read % (data.len() + 1));
    }

    #[test]
    fn frontend_runs_agree_with_decode(
        picks in vec((any::<usize>(), edits(), option::of(any::<usize>()), any::<bool>()), 0..12),
        garbage in prop_oneof![Just(Vec::new()), any_bytes(12)],
    ) {
        let samples: Vec<Vec<u8>> = sample_frontend_frames()
            .into_iter()
            .filter(|(phase, _)| *phase == FrontendPhase::Normal)
            .map(|(_, f)| f)
            .collect();
        let data = stream_of(&samples, &picks, &garbage);
        frontend_runs(&data);
    }

    #[test]
    fn arbitrary_bytes_as_runs(data in prop_oneof![any_bytes(64), any_bytes(3000)], first_read in any::<usize>()) {
        backend_runs(&data, first_read % (data.len() + 1));
        frontend_runs(&data);
    }

    #[test]
    fn data_rows_with_arbitrary_bodies(
        body in prop_oneof![
            any_bytes(40),
            vec(prop_oneof![Just(0u8), Just(0xFF), 1u8..=4], 0..64),
        ],
    ) {
        let mut data = vec![b'D'];
        data.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
        data.extend_from_slice(&body);
        backend_runs(&data, data.len());
    }
}
