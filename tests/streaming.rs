//! Split feeding: realistic frontend and backend streams decode to the same messages whether
//! they arrive whole, one byte at a time, split at any single boundary, in random chunks, or
//! read exactly as far as `bytes_needed()` asks; and the one-byte answers to SSLRequest and
//! GSSENCRequest consume exactly one byte.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use pgproto::message::{
    Authentication, BackendDecoder, BackendKeyData, BackendMessage, BackendPhase, Bind,
    CancelRequest, Close, CommandComplete, CopyData, CopyFail, CopyResponse, DataRow, DecodeError,
    Describe, ErrorFields, Execute, FieldDescription, FrontendDecoder, FrontendMessage,
    FrontendPhase, FunctionCall, FunctionCallResponse, GssResponse, NegotiateProtocolVersion,
    NotificationResponse, Oids, ParameterDescription, ParameterStatus, Parse, PasswordMessage,
    PgStr, ProtocolVersion, Query, RowDescription, SaslInitialResponse, SaslMechanisms,
    SaslResponse, StartupMessage, Target, TransactionStatus,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// A decoder of either direction, and a stream with the phase changes a state machine makes.
// ---------------------------------------------------------------------------------------------

trait Decoder: Clone {
    type Msg: PartialEq + Debug + Clone;
    type Phase: Copy + Debug;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Msg>, DecodeError>;
    fn needed(&self) -> usize;
    fn switch(&mut self, phase: Self::Phase);
}

impl Decoder for FrontendDecoder {
    type Msg = FrontendMessage;
    type Phase = FrontendPhase;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<FrontendMessage>, DecodeError> {
        FrontendDecoder::decode(self, src)
    }
    fn needed(&self) -> usize {
        self.bytes_needed()
    }
    fn switch(&mut self, phase: FrontendPhase) {
        self.set_phase(phase);
    }
}

impl Decoder for BackendDecoder {
    type Msg = BackendMessage;
    type Phase = BackendPhase;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BackendMessage>, DecodeError> {
        BackendDecoder::decode(self, src)
    }
    fn needed(&self) -> usize {
        self.bytes_needed()
    }
    fn switch(&mut self, phase: BackendPhase) {
        self.set_phase(phase);
    }
}

struct Stream<D: Decoder> {
    name: &'static str,
    /// The decoder as the stream starts.
    decoder: D,
    bytes: Vec<u8>,
    /// The messages that went into `bytes`, in order.
    expected: Vec<D::Msg>,
    /// `(n, phase)`: once `n` messages have been decoded, the state machine sets `phase`.
    schedule: Vec<(usize, D::Phase)>,
}

impl<D: Decoder> Stream<D> {
    fn phase_after(&mut self, phase: D::Phase) -> &mut Self {
        self.schedule.push((self.expected.len(), phase));
        self
    }
}

impl Stream<FrontendDecoder> {
    fn frontend(name: &'static str, phase: FrontendPhase) -> Self {
        let mut decoder = FrontendDecoder::new();
        if phase != FrontendPhase::Startup {
            decoder.set_phase(phase);
        }
        Stream {
            name,
            decoder,
            bytes: Vec::new(),
            expected: Vec::new(),
            schedule: Vec::new(),
        }
    }

    fn msg(&mut self, m: FrontendMessage) -> &mut Self {
        let mut buf = BytesMut::new();
        m.encode(&mut buf).expect("encode");
        self.bytes.extend_from_slice(&buf);
        self.expected.push(m);
        self
    }
}

impl Stream<BackendDecoder> {
    fn backend(name: &'static str, phase: BackendPhase) -> Self {
        let mut decoder = BackendDecoder::new();
        decoder.set_phase(phase);
        Stream {
            name,
            decoder,
            bytes: Vec::new(),
            expected: Vec::new(),
            schedule: Vec::new(),
        }
    }

    fn msg(&mut self, m: BackendMessage) -> &mut Self {
        let mut buf = BytesMut::new();
        m.encode(&mut buf).expect("encode");
        self.bytes.extend_from_slice(&buf);
        self.expected.push(m);
        self
    }
}

/// Decodes everything `buf` holds, applying the phase schedule after each message. `remaining`
/// is how many bytes of the stream have not been fed yet. Checks `bytes_needed()` whenever the
/// decoder asks for more.
fn drain<D: Decoder>(
    s: &Stream<D>,
    dec: &mut D,
    buf: &mut BytesMut,
    out: &mut Vec<D::Msg>,
    remaining: usize,
) {
    loop {
        let before = buf.len();
        match dec.decode(buf) {
            Ok(Some(m)) => {
                assert!(buf.len() < before, "{}: a message consumed nothing", s.name);
                out.push(m);
                for &(n, phase) in &s.schedule {
                    if n == out.len() {
                        dec.switch(phase);
                    }
                }
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "{}: Ok(None) consumed bytes", s.name);
                let need = dec.needed();
                if !buf.is_empty() {
                    assert!(
                        need > buf.len(),
                        "{}: Ok(None) with {} bytes buffered but bytes_needed() = {need}",
                        s.name,
                        buf.len()
                    );
                }
                if remaining > 0 || !buf.is_empty() {
                    assert!(
                        need <= buf.len() + remaining,
                        "{}: bytes_needed() = {need} but only {} + {remaining} bytes will come",
                        s.name,
                        buf.len()
                    );
                }
                return;
            }
            Err(e) => panic!(
                "{}: error {e:?} after {} messages, {} bytes buffered",
                s.name,
                out.len(),
                buf.len()
            ),
        }
    }
}

fn finish<D: Decoder>(s: &Stream<D>, how: &str, buf: &BytesMut, out: &[D::Msg]) {
    assert!(
        buf.is_empty(),
        "{} ({how}): {} bytes left over",
        s.name,
        buf.len()
    );
    assert_eq!(out, &s.expected[..], "{} ({how})", s.name);
}

fn whole<D: Decoder>(s: &Stream<D>) {
    let mut dec = s.decoder.clone();
    let mut buf = BytesMut::from(&s.bytes[..]);
    let mut out = Vec::new();
    drain(s, &mut dec, &mut buf, &mut out, 0);
    finish(s, "whole", &buf, &out);
}

fn byte_by_byte<D: Decoder>(s: &Stream<D>) {
    let mut dec = s.decoder.clone();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for (i, &b) in s.bytes.iter().enumerate() {
        buf.extend_from_slice(&[b]);
        drain(s, &mut dec, &mut buf, &mut out, s.bytes.len() - i - 1);
    }
    finish(s, "byte by byte", &buf, &out);
}

fn split_everywhere<D: Decoder>(s: &Stream<D>) {
    for k in 0..=s.bytes.len() {
        let mut dec = s.decoder.clone();
        let mut buf = BytesMut::from(&s.bytes[..k]);
        let mut out = Vec::new();
        drain(s, &mut dec, &mut buf, &mut out, s.bytes.len() - k);
        buf.extend_from_slice(&s.bytes[k..]);
        drain(s, &mut dec, &mut buf, &mut out, 0);
        finish(s, &format!("split at {k}"), &buf, &out);
    }
}

fn chunked<D: Decoder>(s: &Stream<D>, sizes: &[usize]) {
    let mut dec = s.decoder.clone();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    for &n in sizes.iter().cycle() {
        if pos == s.bytes.len() {
            break;
        }
        let end = (pos + n).min(s.bytes.len());
        buf.extend_from_slice(&s.bytes[pos..end]);
        pos = end;
        drain(s, &mut dec, &mut buf, &mut out, s.bytes.len() - pos);
    }
    finish(s, &format!("chunks {sizes:?}"), &buf, &out);
}

/// A reader that reads exactly as many bytes as `bytes_needed()` asks for (as a driver that
/// trusts it would) and only calls `decode` once they are there. It must never be asked for
/// bytes past the end of the stream, and must never stall.
fn exact_reads<D: Decoder>(s: &Stream<D>) {
    let mut dec = s.decoder.clone();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut reads = 0;
    loop {
        drain(s, &mut dec, &mut buf, &mut out, s.bytes.len() - pos);
        if pos == s.bytes.len() {
            break;
        }
        let want = dec.needed().saturating_sub(buf.len()).max(1);
        assert!(
            pos + want <= s.bytes.len(),
            "{}: asked for {want} bytes at {pos}, only {} remain",
            s.name,
            s.bytes.len() - pos
        );
        buf.extend_from_slice(&s.bytes[pos..pos + want]);
        pos += want;
        reads += 1;
    }
    finish(s, "exact reads", &buf, &out);
    // Two reads per message at most (header, then the rest), plus one per message for startup
    // packets and the one-byte answers; many more would mean bytes_needed() is unhelpful.
    assert!(
        reads <= 3 * s.expected.len(),
        "{}: {reads} reads for {} messages",
        s.name,
        s.expected.len()
    );
}

fn check_all_ways<D: Decoder>(s: &Stream<D>) {
    assert!(!s.expected.is_empty());
    whole(s);
    byte_by_byte(s);
    split_everywhere(s);
    exact_reads(s);
    chunked(s, &[2, 3, 5, 7, 11, 13]);
    chunked(s, &[4096]);
}

// ---------------------------------------------------------------------------------------------
// The streams.
// ---------------------------------------------------------------------------------------------

fn s(v: &'static str) -> PgStr {
    PgStr::from_static(v)
}

fn startup(version: ProtocolVersion, params: &[(&str, &[u8])]) -> FrontendMessage {
    FrontendMessage::Startup(StartupMessage::new(version, params.iter().copied()).unwrap())
}

/// The extended-query and COPY part of a session, in the Normal phase.
fn normal_messages() -> Vec<FrontendMessage> {
    vec![
        FrontendMessage::Query(Query {
            sql: s("SELECT 1; SELECT 'caf\u{e9}'"),
        }),
        FrontendMessage::Query(Query { sql: PgStr::EMPTY }),
        FrontendMessage::Query(Query {
            sql: PgStr::try_from(&b"SELECT '\xff\xfe'"[..]).unwrap(),
        }),
        FrontendMessage::Parse(
            Parse::new("stmt1", "SELECT $1::int, $2, $3", &[23, 0, 25]).unwrap(),
        ),
        FrontendMessage::Parse(Parse::new("", "SELECT now()", &[]).unwrap()),
        FrontendMessage::Bind(
            Bind::new(
                "portal1",
                "stmt1",
                &[1, 0, 0],
                &[Some(&[0, 0, 0, 42][..]), None, Some(b"text")],
                &[1],
            )
            .unwrap(),
        ),
        FrontendMessage::Describe(Describe {
            target: Target::Portal,
            name: s("portal1"),
        }),
        FrontendMessage::Describe(Describe {
            target: Target::Statement,
            name: s("stmt1"),
        }),
        FrontendMessage::Execute(Execute {
            portal: s("portal1"),
            max_rows: 100,
        }),
        FrontendMessage::Sync,
        FrontendMessage::Close(Close {
            target: Target::Statement,
            name: s("stmt1"),
        }),
        FrontendMessage::Close(Close {
            target: Target::Portal,
            name: PgStr::EMPTY,
        }),
        FrontendMessage::Flush,
        FrontendMessage::FunctionCall(
            FunctionCall::new(1598, &[1], &[Some(&[0, 0, 0, 7][..]), None], 1).unwrap(),
        ),
        FrontendMessage::CopyData(CopyData {
            data: Bytes::from_static(b"1\talice\n2\tbob\n"),
        }),
        FrontendMessage::CopyData(CopyData {
            data: Bytes::from((0..=255u8).cycle().take(700).collect::<Vec<_>>()),
        }),
        FrontendMessage::CopyDone,
        FrontendMessage::CopyFail(CopyFail {
            message: s("client gave up"),
        }),
        FrontendMessage::Sync,
        FrontendMessage::Terminate,
    ]
}

fn frontend_streams() -> Vec<Stream<FrontendDecoder>> {
    let mut out = Vec::new();

    // Encryption requests, then a StartupMessage, then (trust authentication) straight to a
    // query: the decoder must leave the startup phase on its own.
    let mut st = Stream::frontend("startup then query", FrontendPhase::Startup);
    st.msg(FrontendMessage::SslRequest)
        .msg(FrontendMessage::GssEncRequest)
        .msg(startup(
            ProtocolVersion::V3_2,
            &[
                ("user", b"alice"),
                ("database", b"app"),
                ("application_name", b"psql \xe9"),
                ("options", b"-c search_path=public --work_mem=64MB"),
                ("client_encoding", b"UTF8"),
                ("_pq_.test_extension", b"on"),
                ("replication", b""),
            ],
        ))
        .msg(FrontendMessage::Query(Query { sql: s("SELECT 1") }))
        .msg(FrontendMessage::Terminate);
    out.push(st);

    let mut st = Stream::frontend("cancel request", FrontendPhase::Startup);
    st.msg(FrontendMessage::CancelRequest(CancelRequest {
        process_id: 31337,
        secret_key: Bytes::from((1..=32u8).collect::<Vec<_>>()),
    }))
    .msg(FrontendMessage::CancelRequest(CancelRequest {
        process_id: -1,
        secret_key: Bytes::from_static(b"\0\0\0\0"),
    }));
    out.push(st);

    let mut st = Stream::frontend("normal phase", FrontendPhase::Normal);
    for m in normal_messages() {
        st.msg(m);
    }
    out.push(st);

    // A SCRAM login: the server sets the `p` meaning as the exchange proceeds.
    let mut st = Stream::frontend("SCRAM session", FrontendPhase::Startup);
    st.msg(FrontendMessage::SslRequest)
        .msg(startup(
            ProtocolVersion::V3_0,
            &[("user", b"bob"), ("database", b"bob")],
        ))
        .phase_after(FrontendPhase::SaslInitialResponse)
        .msg(FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: s("SCRAM-SHA-256"),
            data: Some(Bytes::from_static(b"n,,n=,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF")),
        }))
        .phase_after(FrontendPhase::SaslResponse)
        .msg(FrontendMessage::SaslResponse(SaslResponse {
            data: Bytes::from_static(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            ),
        }))
        .phase_after(FrontendPhase::Normal);
    for m in normal_messages() {
        st.msg(m);
    }
    out.push(st);

    let mut st = Stream::frontend("password session", FrontendPhase::Startup);
    st.msg(startup(ProtocolVersion::V3_0, &[("user", b"carol")]))
        .phase_after(FrontendPhase::Password)
        .msg(FrontendMessage::Password(PasswordMessage {
            password: s("md5a3556571e93b0d20722ba62be61e8c2d"),
        }))
        .phase_after(FrontendPhase::Normal)
        .msg(FrontendMessage::Query(Query { sql: s("BEGIN") }))
        .msg(FrontendMessage::Terminate);
    out.push(st);

    // SASLInitialResponse without data (length -1), then the rest of the exchange.
    let mut st = Stream::frontend("SASL without initial data", FrontendPhase::Startup);
    st.msg(startup(ProtocolVersion::V3_2, &[("user", b"dave")]))
        .phase_after(FrontendPhase::SaslInitialResponse)
        .msg(FrontendMessage::SaslInitialResponse(SaslInitialResponse {
            mechanism: s("SCRAM-SHA-256-PLUS"),
            data: None,
        }))
        .phase_after(FrontendPhase::SaslResponse)
        .msg(FrontendMessage::SaslResponse(SaslResponse {
            data: Bytes::new(),
        }))
        .msg(FrontendMessage::SaslResponse(SaslResponse {
            data: Bytes::from_static(b"p=proof"),
        }))
        .msg(FrontendMessage::Terminate);
    out.push(st);

    let mut st = Stream::frontend("GSS session", FrontendPhase::Startup);
    st.msg(FrontendMessage::GssEncRequest)
        .msg(startup(ProtocolVersion::V3_0, &[("user", b"erin@REALM")]))
        .phase_after(FrontendPhase::GssResponse)
        .msg(FrontendMessage::GssResponse(GssResponse {
            data: Bytes::from((0..200u8).collect::<Vec<_>>()),
        }))
        .msg(FrontendMessage::GssResponse(GssResponse {
            data: Bytes::from_static(b"\x60\x82"),
        }))
        .phase_after(FrontendPhase::Normal)
        .msg(FrontendMessage::Sync)
        .msg(FrontendMessage::Terminate);
    out.push(st);

    // One `p` stream per phase, on its own.
    for (name, phase, msg) in [
        (
            "p as password",
            FrontendPhase::Password,
            FrontendMessage::Password(PasswordMessage {
                password: s("hunter2"),
            }),
        ),
        (
            "p as SASLInitialResponse",
            FrontendPhase::SaslInitialResponse,
            FrontendMessage::SaslInitialResponse(SaslInitialResponse {
                mechanism: s("SCRAM-SHA-256"),
                data: Some(Bytes::from_static(b"n,,n=,r=abc")),
            }),
        ),
        (
            "p as SASLResponse",
            FrontendPhase::SaslResponse,
            FrontendMessage::SaslResponse(SaslResponse {
                data: Bytes::from_static(b"c=biws,r=abcdef,p=xyz"),
            }),
        ),
        (
            "p as GSSResponse",
            FrontendPhase::GssResponse,
            FrontendMessage::GssResponse(GssResponse {
                data: Bytes::from_static(b"\0\x01\x02\0"),
            }),
        ),
    ] {
        let mut st = Stream::frontend(name, phase);
        st.msg(msg.clone()).msg(msg).msg(FrontendMessage::Sync);
        out.push(st);
    }
    out
}

fn col(name: &'static [u8], type_oid: u32, type_size: i16) -> FieldDescription<'static> {
    FieldDescription {
        name,
        table_oid: 16384,
        column_id: 1,
        type_oid,
        type_size,
        type_modifier: -1,
        format: 0,
    }
}

fn ready(status: TransactionStatus) -> BackendMessage {
    BackendMessage::ReadyForQuery(status)
}

fn backend_streams() -> Vec<Stream<BackendDecoder>> {
    use TransactionStatus::{Failed, Idle, InTransaction};
    let mut out = Vec::new();

    // A whole session from the client's side: both encryption requests refused, SCRAM, the
    // parameter reports, then simple and extended queries, errors, notices, COPY.
    let mut st = Stream::backend("session", BackendPhase::SslResponse);
    st.msg(BackendMessage::SslResponse { accepted: false })
        .phase_after(BackendPhase::GssEncResponse)
        .msg(BackendMessage::GssEncResponse { accepted: false })
        .msg(BackendMessage::NegotiateProtocolVersion(
            NegotiateProtocolVersion::new(ProtocolVersion::V3_0, ["_pq_.test_extension"]).unwrap(),
        ))
        .msg(BackendMessage::Authentication(Authentication::Sasl(
            SaslMechanisms::new(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]).unwrap(),
        )))
        .msg(BackendMessage::Authentication(Authentication::SaslContinue(
            Bytes::from_static(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            ),
        )))
        .msg(BackendMessage::Authentication(Authentication::SaslFinal(
            Bytes::from_static(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        )))
        .msg(BackendMessage::Authentication(Authentication::Ok));
    for (name, value) in [
        ("application_name", "psql"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
        ("IntervalStyle", "postgres"),
        ("is_superuser", "off"),
        ("scram_iterations", "4096"),
        ("server_encoding", "UTF8"),
        ("server_version", "18.1"),
        ("session_authorization", "bob"),
        ("standard_conforming_strings", "on"),
        ("TimeZone", "Europe/Berlin"),
    ] {
        st.msg(BackendMessage::ParameterStatus(ParameterStatus {
            name: s(name),
            value: s(value),
        }));
    }
    st.msg(BackendMessage::BackendKeyData(BackendKeyData {
        process_id: 4242,
        secret_key: Bytes::from((100..132u8).collect::<Vec<_>>()),
    }))
    .msg(ready(Idle))
    // Simple query with rows.
    .msg(BackendMessage::RowDescription(
        RowDescription::new(&[
            col(b"id", 23, 4),
            col(b"name", 25, -1),
            col(b"n\xe9", 1700, -1),
        ])
        .unwrap(),
    ))
    .msg(BackendMessage::DataRow(
        DataRow::new(&[Some(b"1"), Some(b"alice"), None]).unwrap(),
    ))
    .msg(BackendMessage::DataRow(
        DataRow::new(&[None, None, None]).unwrap(),
    ))
    .msg(BackendMessage::DataRow(
        DataRow::new(&[Some(b"3"), Some(&[0xff; 300][..]), Some(b"")]).unwrap(),
    ))
    .msg(BackendMessage::CommandComplete(CommandComplete {
        tag: s("SELECT 3"),
    }))
    .msg(ready(Idle))
    .msg(BackendMessage::EmptyQueryResponse)
    .msg(ready(Idle))
    // Extended query.
    .msg(BackendMessage::ParseComplete)
    .msg(BackendMessage::ParameterDescription(ParameterDescription {
        types: Oids::new(&[23, 25, 0]).unwrap(),
    }))
    .msg(BackendMessage::NoData)
    .msg(BackendMessage::BindComplete)
    .msg(BackendMessage::DataRow(
        DataRow::new(&[Some(&[0, 0, 0, 1][..])]).unwrap(),
    ))
    .msg(BackendMessage::PortalSuspended)
    .msg(BackendMessage::CommandComplete(CommandComplete {
        tag: s("INSERT 0 5"),
    }))
    .msg(BackendMessage::CloseComplete)
    .msg(ready(InTransaction))
    // Errors and asynchronous messages.
    .msg(BackendMessage::NoticeResponse(
        ErrorFields::new([
            (b'S', &b"WARNING"[..]),
            (b'V', b"WARNING"),
            (b'C', b"01000"),
            (b'M', b"something odd"),
            (b'X', b"an unknown field code"),
            (0xE9, b"another \xff one"),
        ])
        .unwrap(),
    ))
    .msg(BackendMessage::ErrorResponse(
        ErrorFields::new([
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "42P01"),
            (b'M', "relation \"nope\" does not exist"),
            (b'P', "15"),
            (b'F', "parse_relation.c"),
            (b'L', "1449"),
            (b'R', "parserOpenTable"),
        ])
        .unwrap(),
    ))
    .msg(ready(Failed))
    .msg(BackendMessage::NotificationResponse(NotificationResponse {
        process_id: 777,
        channel: s("events"),
        payload: s("{\"id\": 1}"),
    }))
    .msg(BackendMessage::ParameterStatus(ParameterStatus {
        name: s("TimeZone"),
        value: s("UTC"),
    }))
    // COPY in, out and both.
    .msg(BackendMessage::CopyInResponse(
        CopyResponse::new(0, &[0, 0]).unwrap(),
    ))
    .msg(BackendMessage::CommandComplete(CommandComplete {
        tag: s("COPY 2"),
    }))
    .msg(BackendMessage::CopyOutResponse(
        CopyResponse::new(1, &[1, 1, 1]).unwrap(),
    ))
    .msg(BackendMessage::CopyData(CopyData {
        data: Bytes::from_static(b"PGCOPY\n\xff\r\n\0"),
    }))
    .msg(BackendMessage::CopyData(CopyData {
        data: Bytes::from((0..=255u8).cycle().take(600).collect::<Vec<_>>()),
    }))
    .msg(BackendMessage::CopyData(CopyData { data: Bytes::new() }))
    .msg(BackendMessage::CopyDone)
    .msg(BackendMessage::CommandComplete(CommandComplete {
        tag: s("COPY 3"),
    }))
    .msg(BackendMessage::CopyBothResponse(
        CopyResponse::new(0, &[]).unwrap(),
    ))
    .msg(BackendMessage::CopyData(CopyData {
        data: Bytes::from_static(b"k\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x02\0"),
    }))
    .msg(BackendMessage::CopyDone)
    // Fast-path function calls.
    .msg(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: None,
    }))
    .msg(BackendMessage::FunctionCallResponse(FunctionCallResponse {
        value: Some(Bytes::from_static(b"\0\0\0\x2a")),
    }))
    .msg(ready(Idle));
    out.push(st);

    // Every other authentication request, and a 3.0 (4-byte) cancel key.
    let mut st = Stream::backend("other authentication", BackendPhase::Normal);
    st.msg(BackendMessage::Authentication(Authentication::KerberosV5))
        .msg(BackendMessage::Authentication(
            Authentication::CleartextPassword,
        ))
        .msg(BackendMessage::Authentication(
            Authentication::Md5Password {
                salt: [0, 0xff, b'E', 0],
            },
        ))
        .msg(BackendMessage::Authentication(Authentication::Gss))
        .msg(BackendMessage::Authentication(Authentication::GssContinue(
            Bytes::from_static(b"\x60\x82\x02\0"),
        )))
        .msg(BackendMessage::Authentication(Authentication::Sspi))
        .msg(BackendMessage::Authentication(Authentication::Ok))
        .msg(BackendMessage::BackendKeyData(BackendKeyData {
            process_id: 1,
            secret_key: Bytes::from_static(b"\0\0\0\x01"),
        }))
        .msg(ready(Idle));
    out.push(st);

    // TLS accepted: the client reads exactly one byte and then starts the handshake; the rest
    // of this stream is what a second, post-handshake decoder would see.
    let mut st = Stream::backend("SSL accepted", BackendPhase::SslResponse);
    st.msg(BackendMessage::SslResponse { accepted: true })
        .msg(BackendMessage::Authentication(Authentication::Ok))
        .msg(ready(Idle));
    out.push(st);

    let mut st = Stream::backend("GSS accepted", BackendPhase::GssEncResponse);
    st.msg(BackendMessage::GssEncResponse { accepted: true })
        .msg(ready(Idle));
    out.push(st);

    // A server too old to understand SSLRequest answers with an ErrorResponse.
    let mut st = Stream::backend("SSLRequest refused by error", BackendPhase::SslResponse);
    st.msg(BackendMessage::ErrorResponse(
        ErrorFields::new([
            (b'S', "FATAL"),
            (b'C', "08P01"),
            (b'M', "unsupported frontend protocol 1234.5679"),
        ])
        .unwrap(),
    ));
    out.push(st);

    let mut st = Stream::backend(
        "GSSENCRequest refused by error",
        BackendPhase::GssEncResponse,
    );
    st.msg(BackendMessage::ErrorResponse(
        ErrorFields::new([(b'S', "FATAL"), (b'M', "no")]).unwrap(),
    ))
    .msg(ready(Idle));
    out.push(st);
    out
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn frontend_streams_decode_the_same_however_split() {
    for st in frontend_streams() {
        check_all_ways(&st);
    }
}

#[test]
fn backend_streams_decode_the_same_however_split() {
    for st in backend_streams() {
        check_all_ways(&st);
    }
}

#[test]
fn streams_are_realistic_sizes() {
    // Guards against the streams above silently shrinking (which would weaken the tests).
    let fe = frontend_streams();
    let be = backend_streams();
    assert!(fe.iter().map(|s| s.expected.len()).sum::<usize>() >= 60);
    assert!(be[0].expected.len() >= 50 && be[0].bytes.len() >= 1500);
    let normal = fe.iter().find(|s| s.name == "normal phase").unwrap();
    assert!(normal.bytes.len() >= 900);
}

#[test]
fn startup_switches_to_normal_even_byte_by_byte() {
    let mut wire = BytesMut::new();
    StartupMessage::write(
        &mut wire,
        ProtocolVersion::V3_0,
        [("user", "alice"), ("database", "db")],
    )
    .unwrap();
    Query::write(&mut wire, "SELECT 1").unwrap();

    let mut dec = FrontendDecoder::new();
    let mut input = BytesMut::new();
    let mut got = Vec::new();
    for &b in wire.iter() {
        input.extend_from_slice(&[b]);
        while let Some(m) = dec.decode(&mut input).unwrap() {
            if matches!(m, FrontendMessage::Startup(_)) {
                assert_eq!(dec.phase(), FrontendPhase::Normal);
            }
            got.push(m);
        }
    }
    assert!(input.is_empty());
    assert_eq!(dec.phase(), FrontendPhase::Normal);
    assert_eq!(got.len(), 2, "{got:?}");
    let FrontendMessage::Startup(m) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(m.user(), Some(&b"alice"[..]));
    assert_eq!(m.database(), Some(&b"db"[..]));
    assert_eq!(got[1], FrontendMessage::Query(Query { sql: s("SELECT 1") }));
}

#[test]
fn encryption_requests_keep_the_startup_phase() {
    let mut wire = BytesMut::new();
    FrontendMessage::SslRequest.encode(&mut wire).unwrap();
    let mut dec = FrontendDecoder::new();
    assert_eq!(
        dec.decode(&mut wire).unwrap(),
        Some(FrontendMessage::SslRequest)
    );
    assert_eq!(dec.phase(), FrontendPhase::Startup);
    // After TLS, the next packet is still a startup packet, not a typed message.
    StartupMessage::write(&mut wire, ProtocolVersion::V3_2, [("user", "u")]).unwrap();
    assert!(matches!(
        dec.decode(&mut wire).unwrap(),
        Some(FrontendMessage::Startup(_))
    ));
    assert_eq!(dec.phase(), FrontendPhase::Normal);
}

#[test]
fn ssl_answer_consumes_exactly_one_byte() {
    // CVE-2021-23222: bytes after `S` arrived before the TLS handshake; the decoder must not
    // take them, so that the client can see they are there and refuse to go on.
    let extra: &[u8] = b"\x16\x03\x01 injected Z\0\0\0\x05I";
    for (phase, yes, msg) in [
        (
            BackendPhase::SslResponse,
            b'S',
            BackendMessage::SslResponse { accepted: true },
        ),
        (
            BackendPhase::GssEncResponse,
            b'G',
            BackendMessage::GssEncResponse { accepted: true },
        ),
    ] {
        let mut dec = BackendDecoder::new();
        dec.set_phase(phase);
        let mut input = BytesMut::from(&[yes][..]);
        input.extend_from_slice(extra);
        assert_eq!(dec.decode(&mut input).unwrap(), Some(msg));
        assert_eq!(&input[..], extra, "the bytes after the answer must stay");
        assert_eq!(dec.phase(), BackendPhase::Normal);

        // `N` also consumes one byte, and the stream goes on in the normal phase.
        let mut dec = BackendDecoder::new();
        dec.set_phase(phase);
        let mut input = BytesMut::from(&b"NZ\0\0\0\x05I"[..]);
        let refused = match phase {
            BackendPhase::SslResponse => BackendMessage::SslResponse { accepted: false },
            _ => BackendMessage::GssEncResponse { accepted: false },
        };
        assert_eq!(dec.decode(&mut input).unwrap(), Some(refused));
        assert_eq!(&input[..], b"Z\0\0\0\x05I");
        assert_eq!(
            dec.decode(&mut input).unwrap(),
            Some(ready(TransactionStatus::Idle))
        );
        assert!(input.is_empty());

        // Nothing there yet: wait for one byte.
        let mut dec = BackendDecoder::new();
        dec.set_phase(phase);
        let mut input = BytesMut::new();
        assert_eq!(dec.decode(&mut input), Ok(None));
        assert_eq!(dec.bytes_needed(), 1);
        assert_eq!(dec.phase(), phase);
        input.extend_from_slice(&[yes, b'x']);
        assert!(dec.decode(&mut input).unwrap().is_some());
        assert_eq!(&input[..], b"x");
    }
}

#[test]
fn ssl_phase_error_response_decodes_as_error() {
    let fields = ErrorFields::new([
        (b'S', "FATAL"),
        (b'C', "0A000"),
        (
            b'M',
            "unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2",
        ),
    ])
    .unwrap();
    let mut wire = BytesMut::new();
    BackendMessage::ErrorResponse(fields.clone())
        .encode(&mut wire)
        .unwrap();
    assert_eq!(wire[0], b'E');

    let mut dec = BackendDecoder::new();
    dec.set_phase(BackendPhase::SslResponse);
    let mut input = wire.clone();
    assert_eq!(
        dec.decode(&mut input).unwrap(),
        Some(BackendMessage::ErrorResponse(fields.clone()))
    );
    assert!(input.is_empty());
    assert_eq!(dec.phase(), BackendPhase::Normal);

    // Just the `E` so far: not an answer byte, and not consumed.
    let mut dec = BackendDecoder::new();
    dec.set_phase(BackendPhase::SslResponse);
    let mut input = BytesMut::from(&wire[..1]);
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(&input[..], b"E");
    assert!(dec.bytes_needed() > 1 && dec.bytes_needed() <= wire.len());
    input.extend_from_slice(&wire[1..]);
    assert_eq!(
        dec.decode(&mut input).unwrap(),
        Some(BackendMessage::ErrorResponse(fields))
    );
    assert!(input.is_empty());

    // Any other byte is not an answer.
    let mut dec = BackendDecoder::new();
    dec.set_phase(BackendPhase::SslResponse);
    let mut input = BytesMut::from(&b"G"[..]);
    assert_eq!(
        dec.decode(&mut input),
        Err(DecodeError::InvalidEncryptionResponse { byte: b'G' })
    );
    let mut dec = BackendDecoder::new();
    dec.set_phase(BackendPhase::GssEncResponse);
    let mut input = BytesMut::from(&b"S"[..]);
    assert_eq!(
        dec.decode(&mut input),
        Err(DecodeError::InvalidEncryptionResponse { byte: b'S' })
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_chunkings(sizes in proptest::collection::vec(1usize..200, 1..12)) {
        for st in frontend_streams() {
            chunked(&st, &sizes);
        }
        for st in backend_streams() {
            chunked(&st, &sizes);
        }
    }
}
