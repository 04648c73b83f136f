//! The client connection state machine fed hand-built hostile server bytes (made with the
//! message layer's encoders, or by hand where the encoders refuse): each case ends the
//! connection with an exact `ClientError` in `Event::Closed(Some(..))`, after which the
//! connection is closed, ignores input and refuses every call with `ClientError::Closed`. A
//! property test feeds arbitrary bytes after each kind of request and checks that nothing
//! panics and the events stay consistent.
//!
//! Tests marked `` assert what PostgreSQL's protocol and libpq do where
//! the client differs.

use std::time::Instant;

use bytes::{BufMut, BytesMut};
use pgproto::auth::{AuthError, RandomSource, ScramSecret, ScramServer, ScramStep};
use pgproto::client::{ClientError, Config, Connection, Event, RequestId, Response, SslMode};
use pgproto::message::{
    Authentication, BackendKeyData, BackendLimits, BackendMessage, CommandComplete, CopyResponse,
    CopyResponseKind, DataRow, DecodeError, Direction, ErrorFields, Frame, FrontendDecoder,
    FrontendMessage, FrontendPhase, NegotiateProtocolVersion, NotificationResponse,
    ParameterStatus, ProtocolVersion, RowDescription, SaslMechanisms, TransactionStatus,
};
use proptest::prelude::*;

// ----- building server bytes --------------------------------------------------------------------

#[derive(Debug, Clone)]
struct TestRng(u64);

impl RandomSource for TestRng {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError> {
        for b in dest {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

fn msg(m: BackendMessage) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    b.to_vec()
}

fn auth(a: Authentication) -> Vec<u8> {
    msg(BackendMessage::Authentication(a))
}

fn ready(s: TransactionStatus) -> Vec<u8> {
    msg(BackendMessage::ReadyForQuery(s))
}

fn key(pid: i32, key: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    BackendKeyData::write(&mut b, pid, key).unwrap();
    b.to_vec()
}

fn param(name: &str, value: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    ParameterStatus::write(&mut b, name, value).unwrap();
    b.to_vec()
}

fn error(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    let fields = [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ];
    ErrorFields::write(&mut b, b'E', fields).unwrap();
    b.to_vec()
}

fn error_fields(severity: &str, code: &str, message: &str) -> ErrorFields {
    ErrorFields::new([
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ])
    .unwrap()
}

fn data_row(values: &[Option<&[u8]>]) -> Vec<u8> {
    let mut b = BytesMut::new();
    DataRow::write(&mut b, values.iter().copied()).unwrap();
    b.to_vec()
}

fn command_complete(tag: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    CommandComplete::write(&mut b, tag).unwrap();
    b.to_vec()
}

fn npv(version: ProtocolVersion, options: &[&str]) -> Vec<u8> {
    msg(BackendMessage::NegotiateProtocolVersion(
        NegotiateProtocolVersion::new(version, options).unwrap(),
    ))
}

/// A frame with any type byte and body, the length word computed.
fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![tag];
    b.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    b.extend_from_slice(body);
    b
}

/// Just a type byte and a length word (the body never comes).
fn header(tag: u8, length: u32) -> Vec<u8> {
    let mut b = vec![tag];
    b.extend_from_slice(&length.to_be_bytes());
    b
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ----- driving the client -----------------------------------------------------------------------

fn config() -> Config {
    let mut c = Config::new("alice");
    c.ssl_mode = SslMode::Disable;
    c.password = Some(b"pencil".to_vec());
    c
}

fn start(config: Config) -> Connection {
    Connection::with_random(config, Instant::now(), Box::new(TestRng(7)))
}

/// Every event so far.
fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn feed(c: &mut Connection, bytes: &[u8]) -> Vec<Event> {
    c.handle_input(Instant::now(), bytes);
    events(c)
}

/// The events so far, then those `bytes` cause.
fn cat_events(c: &mut Connection, bytes: &[u8]) -> Vec<Event> {
    let mut ev = events(c);
    ev.extend(feed(c, bytes));
    ev
}

/// AuthenticationOk, a parameter, a 4-byte key, ReadyForQuery.
fn login_bytes() -> Vec<u8> {
    cat(&[
        &auth(Authentication::Ok),
        &param("server_version", "18.0"),
        &key(4242, &[1, 2, 3, 4]),
        &ready(TransactionStatus::Idle),
    ])
}

/// A client logged in with trust, its startup packet taken.
fn connected() -> Connection {
    let mut c = start(config());
    assert!(c.poll_transmit().is_some());
    let ev = feed(&mut c, &login_bytes());
    assert_eq!(
        ev.last(),
        Some(&Event::Connected {
            version: ProtocolVersion::V3_0
        })
    );
    assert!(c.is_ready());
    c
}

/// The ways to leave a request (or none) waiting for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Idle,
    Query,
    Parse,
    Bind,
    DescribeStatement,
    DescribePortal,
    Execute,
    Close,
    Sync,
    FunctionCall,
    /// A simple COPY FROM STDIN, the CopyInResponse received.
    CopyIn,
    /// A simple COPY TO STDOUT, CopyOutResponse and one row received.
    CopyOut,
}

const REQUESTS: [Req; 12] = [
    Req::Idle,
    Req::Query,
    Req::Parse,
    Req::Bind,
    Req::DescribeStatement,
    Req::DescribePortal,
    Req::Execute,
    Req::Close,
    Req::Sync,
    Req::FunctionCall,
    Req::CopyIn,
    Req::CopyOut,
];

/// A connected client with `req` sent (its bytes taken) and nothing answered yet.
fn after(req: Req) -> Connection {
    let mut c = connected();
    match req {
        Req::Idle => {}
        Req::Query => drop(c.query("SELECT 1").unwrap()),
        Req::Parse => drop(c.parse("s", "SELECT 1", &[]).unwrap()),
        Req::Bind => drop(c.bind("", "s", &[], [], &[]).unwrap()),
        Req::DescribeStatement => drop(c.describe_statement("s").unwrap()),
        Req::DescribePortal => drop(c.describe_portal("").unwrap()),
        Req::Execute => drop(c.execute("", 0).unwrap()),
        Req::Close => drop(c.close_statement("s").unwrap()),
        Req::Sync => drop(c.sync().unwrap()),
        Req::FunctionCall => drop(c.function_call(177, &[], [Some(&b"1"[..])], 0).unwrap()),
        Req::CopyIn | Req::CopyOut => {
            let id = c.query("COPY t FROM STDIN").unwrap();
            let kind = if req == Req::CopyIn {
                CopyResponseKind::In
            } else {
                CopyResponseKind::Out
            };
            let mut b = BytesMut::new();
            CopyResponse::write(&mut b, kind, 0, &[0]).unwrap();
            if req == Req::CopyOut {
                b.put_slice(&msg(BackendMessage::CopyData(pgproto::message::CopyData {
                    data: bytes::Bytes::from_static(b"1\n"),
                })));
            }
            let ev = feed(&mut c, &b);
            assert_eq!(ev.len(), 1 + usize::from(req == Req::CopyOut));
            assert!(matches!(ev[0], Event::Response { request, .. } if request == id));
        }
    }
    while c.poll_transmit().is_some() {}
    c
}

/// The connection ended with exactly `expected`, and stays closed.
fn assert_closed_with(c: &mut Connection, events: &[Event], expected: ClientError) {
    assert_eq!(
        events.last(),
        Some(&Event::Closed(Some(expected.clone()))),
        "events: {events:?}"
    );
    let closings = events
        .iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .count();
    assert_eq!(closings, 1, "{events:?}");
    assert_stays_closed(c);
}

fn assert_stays_closed(c: &mut Connection) {
    assert!(c.is_closed());
    assert!(!c.is_ready());
    // More input is ignored.
    assert_eq!(feed(c, &ready(TransactionStatus::Idle)), []);
    assert_eq!(feed(c, b"garbage"), []);
    c.handle_eof(Instant::now());
    assert_eq!(c.poll_event(), None);
    // Every request is refused.
    assert_eq!(c.query("SELECT 1"), Err(ClientError::Closed));
    assert_eq!(c.parse("", "SELECT 1", &[]), Err(ClientError::Closed));
    assert_eq!(c.bind("", "", &[], [], &[]), Err(ClientError::Closed));
    assert_eq!(c.describe_statement(""), Err(ClientError::Closed));
    assert_eq!(c.describe_portal(""), Err(ClientError::Closed));
    assert_eq!(c.execute("", 0), Err(ClientError::Closed));
    assert_eq!(c.close_statement(""), Err(ClientError::Closed));
    assert_eq!(c.close_portal(""), Err(ClientError::Closed));
    assert_eq!(c.sync(), Err(ClientError::Closed));
    assert_eq!(c.flush(), Err(ClientError::Closed));
    assert_eq!(
        c.function_call(177, &[], [None], 0),
        Err(ClientError::Closed)
    );
    c.terminate();
    assert_eq!(c.poll_event(), None, "no second Closed after terminate()");
}

/// Feeds `bytes` after each kind of request (and while idle) and expects `expected` each time.
fn after_each_request(bytes: &[u8], expected: &ClientError) {
    for req in REQUESTS {
        let mut c = after(req);
        let ev = feed(&mut c, bytes);
        assert_closed_with(&mut c, &ev, expected.clone());
    }
}

fn protocol(what: &str) -> ClientError {
    ClientError::Protocol(what.to_string())
}

// ===== oversized and malformed frames ===========================================================

#[test]
fn a_small_message_type_over_30000_bytes() {
    // The length word alone condemns it: nothing is buffered for the body.
    for tag in [b'C', b'Z', b'1', b'S', b'K', b'R', b'G', b'H', b't', b'n'] {
        let expected = ClientError::Decode(DecodeError::LengthTooLarge {
            frame: Frame::Typed(tag),
            length: 30_001,
            limit: 30_000,
        });
        after_each_request(&header(tag, 30_001), &expected);
    }
    // During authentication the limit is libpq's 2000 bytes.
    let mut c = start(config());
    let ev = feed(&mut c, &header(b'R', 30_001));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::LengthTooLarge {
            frame: Frame::Typed(b'R'),
            length: 30_001,
            limit: 2000,
        }),
    );
}

#[test]
fn a_small_message_type_of_exactly_30000_bytes_is_accepted() {
    let mut c = after(Req::Idle);
    let value = "x".repeat(30_000 - 4 - 2 - 1);
    let bytes = param("n", &value);
    assert_eq!(bytes.len(), 30_001);
    let ev = feed(&mut c, &bytes);
    assert!(matches!(&ev[..], [Event::ParameterStatus { value: v, .. }] if v.len() == value.len()));
    assert!(c.is_ready());
}

#[test]
fn a_huge_data_row_length() {
    let expected = ClientError::Decode(DecodeError::LengthTooLarge {
        frame: Frame::Typed(b'D'),
        length: 0x4000_0000,
        limit: 0x3FFF_FFFF,
    });
    after_each_request(&header(b'D', 0x4000_0000), &expected);
    // A negative length word is "too small".
    let mut c = after(Req::Query);
    let ev = feed(&mut c, &header(b'D', u32::MAX));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::LengthTooSmall {
            frame: Frame::Typed(b'D'),
            length: -1,
        }),
    );
}

#[test]
fn limits_from_the_configuration() {
    let mut config = config();
    config.limits = BackendLimits {
        small: 100,
        large: 1000,
    };
    let mut c = start(config);
    feed(&mut c, &login_bytes());
    c.query("SELECT 1").unwrap();
    let mut desc = BytesMut::new();
    pgproto::message::RowDescription::write(
        &mut desc,
        [pgproto::types::column(
            "x",
            25,
            pgproto::message::Format::Text,
        )],
    )
    .unwrap();
    feed(&mut c, &desc);
    let ev = feed(&mut c, &data_row(&[Some(&[b'x'; 990][..])]));
    assert!(matches!(
        &ev[..],
        [Event::Response {
            response: Response::DataRow(_),
            ..
        }]
    ));
    let ev = feed(&mut c, &header(b'D', 1001));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::LengthTooLarge {
            frame: Frame::Typed(b'D'),
            length: 1001,
            limit: 1000,
        }),
    );
}

#[test]
fn a_length_word_below_4() {
    for length in [0, 3] {
        let expected = ClientError::Decode(DecodeError::LengthTooSmall {
            frame: Frame::Typed(b'Z'),
            length,
        });
        after_each_request(&header(b'Z', length as u32), &expected);
    }
}

#[test]
fn unknown_message_types() {
    // Frontend-only types, unused letters, control bytes: the type byte alone is enough.
    for tag in [
        b'Q', b'P', b'p', b'X', b'x', b'F', b'0', b'4', 0x00, 0xFF, b'Y',
    ] {
        let expected = ClientError::Decode(DecodeError::UnknownMessageType {
            direction: Direction::Backend,
            tag,
        });
        after_each_request(&[tag], &expected);
        let mut c = start(config());
        let ev = feed(&mut c, &[tag]);
        assert_closed_with(&mut c, &ev, expected);
    }
}

#[test]
fn malformed_bodies() {
    // A ReadyForQuery with an impossible status.
    after_each_request(
        &frame(b'Z', b"X"),
        &ClientError::Decode(DecodeError::InvalidTransactionStatus { status: b'X' }),
    );
    // An authentication request code nobody knows.
    let mut c = start(config());
    let ev = feed(&mut c, &frame(b'R', &99i32.to_be_bytes()));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::UnknownAuthenticationType { code: 99 }),
    );
    // A CommandComplete whose tag has no terminator.
    let mut c = after(Req::Query);
    let ev = feed(&mut c, &frame(b'C', b"SELECT 1"));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::MissingTerminator {
            frame: Frame::Typed(b'C'),
            field: "command tag",
        }),
    );
}

// ===== messages out of place ====================================================================

#[test]
fn a_data_row_with_no_request_pending() {
    let mut c = after(Req::Idle);
    let ev = feed(&mut c, &data_row(&[Some(b"1")]));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected DataRow with no request pending"),
    );
}

#[test]
fn parse_complete_answering_a_query() {
    let mut c = after(Req::Query);
    let ev = feed(&mut c, &msg(BackendMessage::ParseComplete));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected ParseComplete in answer to Query"),
    );
}

#[test]
fn bind_complete_when_a_parse_is_expected() {
    let mut c = connected();
    c.parse("", "SELECT 1", &[]).unwrap();
    c.bind("", "", &[], [], &[]).unwrap();
    let ev = feed(&mut c, &msg(BackendMessage::BindComplete));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected BindComplete in answer to Parse"),
    );
}

#[test]
fn answers_to_the_wrong_request() {
    let cases: [(Req, Vec<u8>, &str); 8] = [
        (
            Req::Parse,
            ready(TransactionStatus::Idle),
            "unexpected ReadyForQuery in answer to Parse",
        ),
        (
            Req::Execute,
            msg(BackendMessage::NoData),
            "unexpected NoData in answer to Execute",
        ),
        (
            Req::Execute,
            msg(BackendMessage::RowDescription(
                RowDescription::new(&[]).unwrap(),
            )),
            "unexpected RowDescription in answer to Execute",
        ),
        (
            Req::Sync,
            msg(BackendMessage::CloseComplete),
            "unexpected CloseComplete in answer to Sync",
        ),
        (
            Req::Query,
            msg(BackendMessage::PortalSuspended),
            "unexpected PortalSuspended in answer to Query",
        ),
        (
            Req::DescribeStatement,
            msg(BackendMessage::NoData),
            "unexpected NoData in answer to DescribeStatement { got_params: false }",
        ),
        (
            Req::FunctionCall,
            command_complete("SELECT 1"),
            "unexpected CommandComplete in answer to FunctionCall { got_result: false }",
        ),
        (
            Req::Close,
            msg(BackendMessage::BindComplete),
            "unexpected BindComplete in answer to Close",
        ),
    ];
    for (req, bytes, what) in cases {
        let mut c = after(req);
        let ev = feed(&mut c, &bytes);
        assert_closed_with(&mut c, &ev, protocol(what));
    }
}

#[test]
fn ready_for_query_during_authentication() {
    let mut c = start(config());
    let ev = feed(&mut c, &ready(TransactionStatus::Idle));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected ReadyForQuery during authentication"),
    );
    // Session messages before AuthenticationOk are out of place too.
    for (bytes, name) in [
        (param("a", "b"), "ParameterStatus"),
        (key(1, &[1, 2, 3, 4]), "BackendKeyData"),
        (data_row(&[]), "DataRow"),
    ] {
        let mut c = start(config());
        let ev = feed(&mut c, &bytes);
        assert_closed_with(
            &mut c,
            &ev,
            protocol(&format!("unexpected {name} during authentication")),
        );
    }
}

#[test]
fn backend_key_data_after_ready_for_query() {
    let bytes = key(4242, &[9, 9, 9, 9]);
    let mut c = after(Req::Idle);
    let ev = feed(&mut c, &bytes);
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected BackendKeyData with no request pending"),
    );
    let mut c = after(Req::Query);
    let ev = feed(&mut c, &bytes);
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected BackendKeyData in answer to Query"),
    );
}

#[test]
fn an_authentication_request_after_login() {
    for a in [
        Authentication::Ok,
        Authentication::CleartextPassword,
        Authentication::Md5Password { salt: [1, 2, 3, 4] },
        Authentication::Sasl(SaslMechanisms::new(["SCRAM-SHA-256"]).unwrap()),
        Authentication::SaslFinal(bytes::Bytes::from_static(b"v=AAAA")),
    ] {
        after_each_request(
            &auth(a.clone()),
            &protocol("an authentication request after login"),
        );
    }
}

#[test]
fn a_notification_during_startup() {
    let mut c = start(config());
    let mut b = BytesMut::new();
    NotificationResponse::write(&mut b, 1, "chan", "x").unwrap();
    let ev = feed(&mut c, &cat(&[&auth(Authentication::Ok), &b]));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected NotificationResponse during startup"),
    );
}

// ===== cancel keys ==============================================================================

#[test]
fn backend_key_data_with_a_zero_length_key() {
    for version in [ProtocolVersion::V3_0, ProtocolVersion::V3_2] {
        let mut config = config();
        config.max_protocol = version;
        let mut c = start(config);
        let ev = feed(
            &mut c,
            &cat(&[&auth(Authentication::Ok), &frame(b'K', &7i32.to_be_bytes())]),
        );
        assert_closed_with(
            &mut c,
            &ev,
            ClientError::Decode(DecodeError::InvalidCancelKeyLength {
                frame: Frame::Typed(b'K'),
                length: 0,
            }),
        );
    }
}

#[test]
fn backend_key_data_with_a_5_byte_key_under_3_0() {
    let mut c = start(config());
    let ev = feed(
        &mut c,
        &cat(&[&auth(Authentication::Ok), &key(7, &[1, 2, 3, 4, 5])]),
    );
    assert_closed_with(&mut c, &ev, ClientError::InvalidCancelKey(5));
    assert_eq!(c.cancel_token(), None);

    // After falling back to 3.0 through NegotiateProtocolVersion, the same.
    let mut config = config();
    config.max_protocol = ProtocolVersion::V3_2;
    let mut c = start(config);
    let ev = feed(
        &mut c,
        &cat(&[
            &npv(ProtocolVersion::V3_0, &[]),
            &auth(Authentication::Ok),
            &key(7, &[1, 2, 3, 4, 5]),
        ]),
    );
    assert_closed_with(&mut c, &ev, ClientError::InvalidCancelKey(5));
}

#[test]
fn cancel_keys_under_3_2() {
    // 4..=256 bytes are fine; 257 does not even decode.
    for len in [4, 5, 32, 256] {
        let mut config = config();
        config.max_protocol = ProtocolVersion::V3_2;
        let mut c = start(config);
        let k = vec![0xAB; len];
        feed(
            &mut c,
            &cat(&[
                &auth(Authentication::Ok),
                &key(7, &k),
                &ready(TransactionStatus::Idle),
            ]),
        );
        assert!(c.is_ready(), "{len}");
        assert_eq!(&c.cancel_token().unwrap().secret_key[..], &k[..]);
    }
    let mut config = config();
    config.max_protocol = ProtocolVersion::V3_2;
    let mut c = start(config);
    let mut body = 7i32.to_be_bytes().to_vec();
    body.extend_from_slice(&[1; 257]);
    let ev = feed(
        &mut c,
        &cat(&[&auth(Authentication::Ok), &frame(b'K', &body)]),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::InvalidCancelKeyLength {
            frame: Frame::Typed(b'K'),
            length: 257,
        }),
    );
}

// ===== protocol negotiation =====================================================================

#[test]
fn negotiate_protocol_version_asking_for_a_higher_version() {
    let cases = [
        (ProtocolVersion::V3_0, ProtocolVersion::V3_2, "3.2", "3.0"),
        (
            ProtocolVersion::V3_0,
            ProtocolVersion { major: 3, minor: 1 },
            "3.1",
            "3.0",
        ),
        (
            ProtocolVersion::V3_2,
            ProtocolVersion { major: 3, minor: 3 },
            "3.3",
            "3.2",
        ),
        (
            ProtocolVersion::V3_2,
            ProtocolVersion { major: 4, minor: 0 },
            "4.0",
            "3.2",
        ),
    ];
    for (asked, offered, o, a) in cases {
        let mut config = config();
        config.max_protocol = asked;
        let mut c = start(config);
        let ev = feed(&mut c, &npv(offered, &[]));
        assert_closed_with(
            &mut c,
            &ev,
            protocol(&format!(
                "NegotiateProtocolVersion to {o}, above the {a} asked for"
            )),
        );
    }
    // A different major version below ours is no better.
    let mut c = start(config());
    let ev = feed(&mut c, &npv(ProtocolVersion { major: 2, minor: 0 }, &[]));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("NegotiateProtocolVersion to 2.0, above the 3.0 asked for"),
    );
}

#[test]
fn negotiate_protocol_version_right_after_authentication_ok() {
    let mut config = config();
    config.max_protocol = ProtocolVersion::V3_2;
    let mut c = start(config);
    let ev = feed(
        &mut c,
        &cat(&[
            &auth(Authentication::Ok),
            &npv(ProtocolVersion::V3_0, &[]),
            &key(7, &[1, 2, 3, 4]),
            &ready(TransactionStatus::Idle),
        ]),
    );
    assert_eq!(
        ev,
        [Event::Connected {
            version: ProtocolVersion::V3_0
        }]
    );
    // But not once the session runs.
    let ev = feed(&mut c, &npv(ProtocolVersion::V3_0, &[]));
    assert_closed_with(
        &mut c,
        &ev,
        protocol("unexpected NegotiateProtocolVersion with no request pending"),
    );
}

#[test]
fn negotiate_protocol_version_is_checked_as_libpq_does() {
    let cases: [Vec<u8>; 3] = [
        npv(ProtocolVersion::V3_0, &[]),
        cat(&[
            &npv(ProtocolVersion::V3_0, &["_pq_.a"]),
            &npv(ProtocolVersion::V3_0, &["_pq_.a"]),
        ]),
        npv(ProtocolVersion::V3_0, &["_pq_.never_sent"]),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let mut config = config();
        if i == 1 {
            config.params = vec![("_pq_.a".into(), "1".into())];
        }
        let mut c = start(config);
        let ev = feed(&mut c, bytes);
        assert!(
            matches!(
                ev.last(),
                Some(Event::Closed(Some(ClientError::Protocol(_))))
            ),
            "case {i}: {ev:?}"
        );
    }
}

#[test]
fn a_minimum_protocol_above_the_maximum_never_connects_below_it() {
    let mut config = config();
    config.min_protocol = ProtocolVersion::V3_2;
    let mut c = start(config);
    let ev = cat_events(&mut c, &login_bytes());
    assert!(
        !ev.iter().any(|e| matches!(e, Event::Connected { .. })),
        "connected at 3.0 with min_protocol 3.2: {ev:?}"
    );
    assert!(c.is_closed());
}

// ===== TLS negotiation ==========================================================================

fn tls_client() -> Connection {
    let mut config = config();
    config.ssl_mode = SslMode::Require;
    let mut c = start(config);
    assert_eq!(
        c.poll_transmit().as_deref(),
        Some(&b"\0\0\0\x08\x04\xd2\x16\x2f"[..])
    );
    c
}

#[test]
fn an_error_response_to_ssl_request_does_not_show_the_servers_text() {
    for mode in [SslMode::Prefer, SslMode::Require] {
        let mut config = config();
        config.ssl_mode = mode;
        let mut c = start(config);
        let ev = feed(
            &mut c,
            &error("FATAL", "XX000", "click http://evil.example to log in"),
        );
        assert_closed_with(
            &mut c,
            &ev,
            ClientError::Tls("the server answered SSLRequest with an error"),
        );
        let Some(Event::Closed(Some(e))) = ev.last() else {
            unreachable!()
        };
        let shown = format!("{e} {e:?} {ev:?}");
        assert!(!shown.contains("evil"), "{shown}");
    }
}

#[test]
fn bytes_after_the_ssl_answer_in_the_same_read() {
    // CVE-2021-23222: read exactly one byte; anything already behind it was not encrypted.
    for extra in [auth(Authentication::Ok), vec![0x16, 0x03, 0x03], vec![b'x']] {
        let mut c = tls_client();
        let ev = feed(&mut c, &cat(&[b"S", &extra]));
        assert_closed_with(
            &mut c,
            &ev,
            ClientError::Tls("received unencrypted data after the SSL response"),
        );
    }
}

#[test]
fn bytes_after_the_ssl_answer_in_a_later_read() {
    let mut c = tls_client();
    assert_eq!(feed(&mut c, b"S"), [Event::StartTls]);
    let injected = cat(&[&auth(Authentication::Ok), &ready(TransactionStatus::Idle)]);
    let ev = feed(&mut c, &injected);
    if ev.is_empty() {
        // What happens instead: the handshake "completes", the startup goes out through TLS,
        // and the next read (of anything) connects on the injected bytes.
        c.handle_tls_established(None).unwrap();
        let ev = feed(&mut c, &[]);
        assert!(
            !ev.iter().any(|e| matches!(e, Event::Connected { .. })),
            "connected on plaintext injected before the TLS handshake: {ev:?}"
        );
    }
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Tls("received unencrypted data after the SSL response"),
    );
}

#[test]
fn an_unknown_byte_in_answer_to_ssl_request() {
    let mut c = tls_client();
    let ev = feed(&mut c, b"X");
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Decode(DecodeError::InvalidEncryptionResponse { byte: b'X' }),
    );
}

#[test]
fn tls_refused_when_required() {
    let mut c = tls_client();
    let ev = feed(&mut c, b"N");
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Tls("the server does not support TLS, but TLS was required"),
    );
}

#[test]
fn direct_tls() {
    // No plaintext fallback: sslnegotiation=direct needs sslmode=require or stronger.
    for mode in [SslMode::Allow, SslMode::Prefer] {
        let mut config = config();
        config.ssl_mode = mode;
        config.ssl_negotiation = pgproto::client::SslNegotiation::Direct;
        let mut c = start(config);
        assert_eq!(c.poll_transmit(), None);
        let ev = events(&mut c);
        assert_closed_with(
            &mut c,
            &ev,
            ClientError::Tls("sslnegotiation=direct needs sslmode=require or stronger"),
        );
    }
    // The handshake comes first; the startup packet only after it.
    let mut config = config();
    config.ssl_mode = SslMode::Require;
    config.ssl_negotiation = pgproto::client::SslNegotiation::Direct;
    let mut c = start(config);
    assert_eq!(events(&mut c), [Event::StartTls]);
    assert_eq!(c.poll_transmit(), None);
    c.handle_tls_established(None).unwrap();
    assert_eq!(c.poll_transmit(), Some(c_startup()));
    let ev = feed(&mut c, &login_bytes());
    assert_eq!(
        ev.last(),
        Some(&Event::Connected {
            version: ProtocolVersion::V3_0
        })
    );
}

#[test]
fn handle_tls_established_out_of_turn() {
    let mut c = tls_client();
    assert_eq!(
        c.handle_tls_established(None),
        Err(ClientError::Api("no TLS handshake is in progress"))
    );
    let mut c = connected();
    assert_eq!(
        c.handle_tls_established(None),
        Err(ClientError::Api("no TLS handshake is in progress"))
    );
    assert!(c.is_ready());
}

// ===== authentication ===========================================================================

#[test]
fn gss_sspi_and_kerberos_are_unsupported() {
    for (a, name) in [
        (Authentication::KerberosV5, "Kerberos V5"),
        (Authentication::Gss, "GSSAPI"),
        (
            Authentication::GssContinue(bytes::Bytes::from_static(b"token")),
            "GSSAPI",
        ),
        (Authentication::Sspi, "SSPI"),
    ] {
        let mut c = start(config());
        let ev = feed(&mut c, &auth(a));
        assert_closed_with(&mut c, &ev, ClientError::UnsupportedAuthentication(name));
        assert_eq!(
            c.poll_transmit(),
            Some(c_startup()),
            "nothing but the startup"
        );
    }
}

/// The startup packet of [`config`].
fn c_startup() -> bytes::Bytes {
    start(config()).poll_transmit().unwrap()
}

#[test]
fn a_fatal_error_during_authentication() {
    let mut c = start(config());
    let ev = feed(
        &mut c,
        &error("FATAL", "28000", "no pg_hba.conf entry for host"),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Server(error_fields(
            "FATAL",
            "28000",
            "no pg_hba.conf entry for host",
        )),
    );
}

/// A client that has answered AuthenticationSASL; returns it with the client-first message.
fn sasl_started(config: Config) -> (Connection, FrontendDecoder, Vec<u8>) {
    let mut c = start(config);
    let mut dec = FrontendDecoder::new();
    let mut out = BytesMut::from(&c.poll_transmit().unwrap()[..]);
    assert!(matches!(
        dec.decode(&mut out),
        Ok(Some(FrontendMessage::Startup(_)))
    ));
    let offer = SaslMechanisms::new(["SCRAM-SHA-256"]).unwrap();
    assert_eq!(feed(&mut c, &auth(Authentication::Sasl(offer))), []);
    dec.set_phase(FrontendPhase::SaslInitialResponse);
    let mut out = BytesMut::from(&c.poll_transmit().unwrap()[..]);
    let Ok(Some(FrontendMessage::SaslInitialResponse(init))) = dec.decode(&mut out) else {
        panic!("expected SASLInitialResponse");
    };
    assert_eq!(init.mechanism, "SCRAM-SHA-256");
    let first = init.data.unwrap().to_vec();
    dec.set_phase(FrontendPhase::SaslResponse);
    (c, dec, first)
}

/// The client nonce of a client-first message `n,,n=,r=<nonce>`.
fn client_nonce(first: &[u8]) -> String {
    let s = std::str::from_utf8(first).unwrap();
    s.split_once(",r=").unwrap().1.to_string()
}

/// A real SCRAM server answering the client's first message (1000 iterations, the client's
/// minimum).
fn scram_server(first: &[u8]) -> (ScramServer, Vec<u8>) {
    let secret = ScramSecret::new(b"pencil", b"0123456789abcdef", 1000);
    let mut server = ScramServer::new(b"SCRAM-SHA-256", secret, None, &mut TestRng(11)).unwrap();
    let Ok(ScramStep::Continue(server_first)) = server.step(Some(first)) else {
        panic!("server-first");
    };
    (server, server_first)
}

/// The client's SASLResponse data.
fn client_final(c: &mut Connection, dec: &mut FrontendDecoder) -> Vec<u8> {
    let mut out = BytesMut::from(&c.poll_transmit().unwrap()[..]);
    let Ok(Some(FrontendMessage::SaslResponse(r))) = dec.decode(&mut out) else {
        panic!("expected SASLResponse");
    };
    r.data.to_vec()
}

#[test]
fn scram_the_whole_exchange_against_a_real_scram_server() {
    let (mut c, mut dec, first) = sasl_started(config());
    let (mut server, server_first) = scram_server(&first);
    assert_eq!(
        feed(
            &mut c,
            &auth(Authentication::SaslContinue(server_first.into()))
        ),
        []
    );
    let fin = client_final(&mut c, &mut dec);
    let Ok(ScramStep::Success(server_final)) = server.step(Some(&fin)) else {
        panic!("the server accepts the proof");
    };
    let ev = feed(
        &mut c,
        &cat(&[
            &auth(Authentication::SaslFinal(server_final.into())),
            &login_bytes()[..],
        ]),
    );
    assert_eq!(
        ev.last(),
        Some(&Event::Connected {
            version: ProtocolVersion::V3_0
        })
    );
}

#[test]
fn scram_authentication_ok_without_sasl_final() {
    let (mut c, mut dec, first) = sasl_started(config());
    let (_, server_first) = scram_server(&first);
    feed(
        &mut c,
        &auth(Authentication::SaslContinue(server_first.into())),
    );
    let _ = client_final(&mut c, &mut dec);
    let ev = feed(&mut c, &login_bytes());
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::MissingServerFinal),
    );
    // Right after the client-first message, too.
    let (mut c, _, _) = sasl_started(config());
    let ev = feed(&mut c, &auth(Authentication::Ok));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::MissingServerFinal),
    );
}

#[test]
fn scram_a_bad_server_signature() {
    let (mut c, mut dec, first) = sasl_started(config());
    let (_, server_first) = scram_server(&first);
    feed(
        &mut c,
        &auth(Authentication::SaslContinue(server_first.into())),
    );
    let _ = client_final(&mut c, &mut dec);
    let wrong = format!("v={}", "A".repeat(43) + "=");
    let ev = feed(
        &mut c,
        &cat(&[
            &auth(Authentication::SaslFinal(wrong.into_bytes().into())),
            &login_bytes()[..],
        ]),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::ServerSignatureMismatch),
    );
    // An `e=` error instead of a signature.
    let (mut c, mut dec, first) = sasl_started(config());
    let (_, server_first) = scram_server(&first);
    feed(
        &mut c,
        &auth(Authentication::SaslContinue(server_first.into())),
    );
    let _ = client_final(&mut c, &mut dec);
    let ev = feed(
        &mut c,
        &auth(Authentication::SaslFinal(bytes::Bytes::from_static(
            b"e=invalid-proof",
        ))),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::ServerError("invalid-proof".into())),
    );
}

#[test]
fn scram_iteration_counts_of_0_and_2_pow_31() {
    for (count, text) in [(0u64, "0"), (1 << 31, "2147483648"), (999, "999")] {
        let (mut c, _, first) = sasl_started(config());
        let nonce = client_nonce(&first);
        let server_first = format!("r={nonce}SERVERNONCE,s=MDEyMzQ1Njc4OWFiY2RlZg==,i={text}");
        let ev = feed(
            &mut c,
            &auth(Authentication::SaslContinue(
                server_first.into_bytes().into(),
            )),
        );
        assert_closed_with(
            &mut c,
            &ev,
            ClientError::Auth(AuthError::IterationCount {
                count,
                min: 1000,
                max: 10_000_000,
            }),
        );
        // Nothing was sent: no work was done for the hostile count.
        assert_eq!(c.poll_transmit(), None);
    }
}

#[test]
fn scram_hostile_server_first_messages() {
    let cases: [(&str, AuthError); 4] = [
        (
            "r=someone-elses-nonce,s=MDEy,i=4096",
            AuthError::Malformed("the server nonce does not extend the client nonce"),
        ),
        ("m=ext,r=x", AuthError::ExtensionNotSupported),
        (
            "r={n}X,i=4096",
            AuthError::Malformed("salt attribute expected in server-first-message"),
        ),
        (
            "r={n}X,s=MDEy,i=-1",
            AuthError::Malformed("invalid iteration count"),
        ),
    ];
    for (template, expected) in cases {
        let (mut c, _, first) = sasl_started(config());
        let server_first = template.replace("{n}", &client_nonce(&first));
        let ev = feed(
            &mut c,
            &auth(Authentication::SaslContinue(
                server_first.into_bytes().into(),
            )),
        );
        assert_closed_with(&mut c, &ev, ClientError::Auth(expected));
    }
}

#[test]
fn scram_messages_out_of_order() {
    // SASLFinal before SASLContinue.
    let (mut c, _, _) = sasl_started(config());
    let ev = feed(
        &mut c,
        &auth(Authentication::SaslFinal(bytes::Bytes::from_static(
            b"v=AAAA",
        ))),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::UnexpectedMessage("SASLFinal out of order")),
    );
    // A second AuthenticationSASL.
    let (mut c, _, _) = sasl_started(config());
    let offer = SaslMechanisms::new(["SCRAM-SHA-256"]).unwrap();
    let ev = feed(&mut c, &auth(Authentication::Sasl(offer)));
    assert_closed_with(&mut c, &ev, protocol("a second AuthenticationSASL"));
    // SASL messages without SASL.
    for (a, what) in [
        (
            Authentication::SaslContinue(bytes::Bytes::from_static(b"r=x")),
            "AuthenticationSASLContinue without SASL",
        ),
        (
            Authentication::SaslFinal(bytes::Bytes::from_static(b"v=x")),
            "AuthenticationSASLFinal without SASL",
        ),
    ] {
        let mut c = start(config());
        let ev = feed(&mut c, &auth(a));
        assert_closed_with(&mut c, &ev, protocol(what));
    }
}

#[test]
fn sasl_without_a_mechanism_we_speak() {
    let mut c = start(config());
    let offer = SaslMechanisms::new(["SCRAM-SHA-1", "OAUTHBEARER"]).unwrap();
    let ev = feed(&mut c, &auth(Authentication::Sasl(offer)));
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Auth(AuthError::NoSupportedMechanism),
    );
}

#[test]
fn a_password_request_without_a_password() {
    for a in [
        Authentication::CleartextPassword,
        Authentication::Md5Password { salt: [1, 2, 3, 4] },
        Authentication::Sasl(SaslMechanisms::new(["SCRAM-SHA-256"]).unwrap()),
    ] {
        let mut config = config();
        config.password = None;
        let mut c = start(config);
        let ev = feed(&mut c, &auth(a));
        assert_closed_with(&mut c, &ev, ClientError::PasswordRequired);
    }
}

#[test]
fn an_authentication_request_over_2000_bytes() {
    let mut c = start(config());
    let ev = feed(&mut c, &header(b'R', 2001));
    assert!(
        matches!(
            ev.last(),
            Some(Event::Closed(Some(
                ClientError::Decode(_) | ClientError::Protocol(_)
            )))
        ),
        "{ev:?}"
    );
}

// ===== errors while idle and in requests ========================================================

#[test]
fn a_fatal_error_while_idle() {
    let mut c = after(Req::Idle);
    let ev = feed(
        &mut c,
        &error(
            "FATAL",
            "57P01",
            "terminating connection due to administrator command",
        ),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Server(error_fields(
            "FATAL",
            "57P01",
            "terminating connection due to administrator command",
        )),
    );
}

#[test]
fn a_fatal_error_after_authentication_ok() {
    let mut c = start(config());
    let ev = feed(
        &mut c,
        &cat(&[
            &auth(Authentication::Ok),
            &error("FATAL", "3D000", "database \"alice\" does not exist"),
        ]),
    );
    assert_closed_with(
        &mut c,
        &ev,
        ClientError::Server(error_fields(
            "FATAL",
            "3D000",
            "database \"alice\" does not exist",
        )),
    );
}

#[test]
fn errors_answering_a_sync_and_notices_anywhere_are_legal() {
    // A deferred constraint fails at the implicit COMMIT of Sync: the Sync gets the error,
    // then its ReadyForQuery. Notices and parameters may come in between.
    let mut c = connected();
    let s = c.sync().unwrap();
    let mut notice = BytesMut::new();
    ErrorFields::write(&mut notice, b'N', [(b'S', "WARNING"), (b'M', "careful")]).unwrap();
    let ev = feed(
        &mut c,
        &cat(&[
            &notice,
            &error("ERROR", "23503", "violates foreign key constraint"),
            &param("TimeZone", "UTC"),
            &ready(TransactionStatus::Idle),
        ]),
    );
    assert_eq!(ev.len(), 4, "{ev:?}");
    assert!(matches!(&ev[0], Event::Notice(_)));
    assert_eq!(
        ev[1],
        Event::Response {
            request: s,
            response: Response::Error(error_fields(
                "ERROR",
                "23503",
                "violates foreign key constraint"
            )),
        }
    );
    assert!(matches!(&ev[2], Event::ParameterStatus { .. }));
    assert_eq!(
        ev[3],
        Event::Response {
            request: s,
            response: Response::Ready(TransactionStatus::Idle),
        }
    );
    assert!(c.is_ready());
    assert_eq!(c.pending_requests(), 0);
}

#[test]
fn a_fatal_error_answering_each_request() {
    let fields = error_fields("FATAL", "57P01", "terminating connection");
    for req in REQUESTS {
        let mut c = after(req);
        let ev = feed(&mut c, &error("FATAL", "57P01", "terminating connection"));
        if req == Req::Idle {
            assert_eq!(ev.len(), 1, "{ev:?}");
        } else {
            // The request gets the error, then the connection closes.
            assert_eq!(ev.len(), 2, "{req:?}: {ev:?}");
            assert!(
                matches!(&ev[0], Event::Response { response: Response::Error(e), .. } if *e == fields),
                "{req:?}: {ev:?}"
            );
        }
        assert_closed_with(&mut c, &ev, ClientError::Server(fields.clone()));
    }
}

#[test]
fn the_server_hangs_up() {
    for req in REQUESTS {
        let mut c = after(req);
        c.handle_eof(Instant::now());
        let ev = events(&mut c);
        assert_closed_with(&mut c, &ev, ClientError::Closed);
    }
    let mut c = start(config());
    c.handle_eof(Instant::now());
    let ev = events(&mut c);
    assert_closed_with(&mut c, &ev, ClientError::Closed);
}

// ===== out-of-place results the client accepts ==================================================

#[test]
fn rows_and_copy_data_without_their_header_are_refused() {
    for bytes in [
        data_row(&[Some(b"1")]),
        msg(BackendMessage::CopyData(pgproto::message::CopyData {
            data: bytes::Bytes::from_static(b"1\n"),
        })),
        msg(BackendMessage::CopyDone),
    ] {
        let mut c = after(Req::Query);
        let ev = feed(&mut c, &bytes);
        assert!(
            matches!(
                ev.last(),
                Some(Event::Closed(Some(ClientError::Protocol(_))))
            ),
            "{ev:?}"
        );
    }
}

#[test]
fn ready_for_query_during_copy_in() {
    let mut c = after(Req::CopyIn);
    let ev = feed(&mut c, &ready(TransactionStatus::Idle));
    assert!(
        matches!(
            ev.last(),
            Some(Event::Closed(Some(ClientError::Protocol(_))))
        ),
        "{ev:?}; then query() = {:?}",
        c.query("SELECT 1")
    );
}

#[test]
fn copy_calls_after_the_connection_closed() {
    let mut c = after(Req::CopyIn);
    c.handle_eof(Instant::now());
    assert_eq!(c.copy_data(b"1\n"), Err(ClientError::Closed));
    assert_eq!(c.copy_done(), Err(ClientError::Closed));
    assert_eq!(c.copy_fail("x"), Err(ClientError::Closed));
}

// ===== anything at all ==========================================================================

/// Where the client stands when the arbitrary bytes come.
#[derive(Debug, Clone, Copy)]
enum Stage {
    SslAnswer,
    Auth,
    Sasl,
    Startup,
    After(Req),
}

fn stage_client(stage: Stage) -> Connection {
    match stage {
        Stage::SslAnswer => tls_client(),
        Stage::Auth => {
            let mut c = start(config());
            c.poll_transmit();
            c
        }
        Stage::Sasl => sasl_started(config()).0,
        Stage::Startup => {
            let mut c = start(config());
            c.poll_transmit();
            feed(&mut c, &cat(&[&auth(Authentication::Ok), &param("a", "b")]));
            c
        }
        Stage::After(req) => after(req),
    }
}

fn stages() -> Vec<Stage> {
    let mut s = vec![Stage::SslAnswer, Stage::Auth, Stage::Sasl, Stage::Startup];
    s.extend(REQUESTS.iter().map(|&r| Stage::After(r)));
    s
}

/// A message with arbitrary contents, or arbitrary bytes.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let any_bytes = prop::collection::vec(any::<u8>(), 0..40);
    let text = "[a-z]{0,6}";
    prop_oneof![
        any_bytes.clone(),
        (any::<u8>(), any_bytes.clone()).prop_map(|(t, b)| frame(t, &b)),
        (0usize..26, any_bytes, text, any::<i32>()).prop_map(|(which, b, s, n)| {
            let s = s.as_str();
            match which {
                0 => auth(Authentication::Ok),
                1 => auth(Authentication::CleartextPassword),
                2 => auth(Authentication::Md5Password { salt: [1, 2, 3, 4] }),
                3 => auth(Authentication::SaslContinue(b.into())),
                4 => auth(Authentication::SaslFinal(b.into())),
                5 => key(n, &[1, 2, 3, 4]),
                6 => npv(ProtocolVersion::from_code(n as u32), &[s]),
                7 => param(s, s),
                8 => ready(TransactionStatus::Idle),
                9 => msg(BackendMessage::ParseComplete),
                10 => msg(BackendMessage::BindComplete),
                11 => msg(BackendMessage::CloseComplete),
                12 => msg(BackendMessage::NoData),
                13 => msg(BackendMessage::PortalSuspended),
                14 => msg(BackendMessage::EmptyQueryResponse),
                15 => frame(b't', &[0, 1, 0, 0, 0, 23]),
                16 => msg(BackendMessage::RowDescription(
                    RowDescription::new(&[]).unwrap(),
                )),
                17 => data_row(&[Some(&b[..]), None]),
                18 => command_complete(s),
                19 => frame(b'V', &n.to_be_bytes()),
                20 => error(if n % 2 == 0 { "ERROR" } else { "FATAL" }, "42601", s),
                21 => {
                    let mut m = BytesMut::new();
                    ErrorFields::write(&mut m, b'N', [(b'S', "NOTICE"), (b'M', s)]).unwrap();
                    m.to_vec()
                }
                22 => {
                    let mut m = BytesMut::new();
                    NotificationResponse::write(&mut m, n, s, s).unwrap();
                    m.to_vec()
                }
                23 => {
                    let mut m = BytesMut::new();
                    let kind = [
                        CopyResponseKind::In,
                        CopyResponseKind::Out,
                        CopyResponseKind::Both,
                    ][(n as u32 % 3) as usize];
                    CopyResponse::write(&mut m, kind, 0, &[0]).unwrap();
                    m.to_vec()
                }
                24 => frame(b'd', &b),
                _ => msg(BackendMessage::CopyDone),
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_server_bytes_never_panic(
        pieces in prop::collection::vec(piece(), 0..10),
        chunk in 1usize..50,
    ) {
        let bytes = pieces.concat();
        for stage in stages() {
            let mut c = stage_client(stage);
            let mut ev = Vec::new();
            for part in bytes.chunks(chunk) {
                ev.extend(feed(&mut c, part));
                // Requests may be made (or refused) at any point.
                let _ = c.query("SELECT 1");
                let _ = c.copy_data(b"x");
                while c.poll_transmit().is_some() {}
            }
            // At most one Closed, and nothing after it.
            let closed = ev.iter().position(|e| matches!(e, Event::Closed(_)));
            if let Some(i) = closed {
                prop_assert_eq!(i, ev.len() - 1, "{:?}: {:?}", stage, ev);
                prop_assert!(c.is_closed());
                prop_assert_eq!(c.query("SELECT 1"), Err(ClientError::Closed));
            } else {
                prop_assert!(!c.is_closed());
            }
            // Responses name requests that exist, in the order the requests were made.
            let mut last = RequestId(0);
            for e in &ev {
                if let Event::Response { request, .. } = e {
                    prop_assert!(*request >= last, "{:?}: {:?}", stage, ev);
                    last = *request;
                }
            }
        }
    }
}

/// As libpq, `terminate` sends Terminate only once connected: while waiting for the SSL answer
/// or during authentication it just closes, sending nothing (found by the fuzzer: the client
/// wrote `X` where the server expected a startup packet).
#[test]
fn terminate_before_the_startup_packet_sends_nothing() {
    let mut c = config();
    c.ssl_mode = SslMode::Prefer;
    let mut conn = start(c);
    let sent = conn.poll_transmit().expect("SSLRequest");
    assert_eq!(&sent[..], &[0, 0, 0, 8, 4, 210, 22, 47]);
    conn.terminate();
    assert_eq!(conn.poll_transmit(), None);
    assert_eq!(events(&mut conn), vec![Event::Closed(None)]);

    // During authentication the server expects a password message: nothing either.
    let mut conn = start(config());
    assert!(conn.poll_transmit().is_some());
    assert!(feed(&mut conn, &auth(Authentication::CleartextPassword)).is_empty());
    while conn.poll_transmit().is_some() {}
    conn.terminate();
    assert_eq!(conn.poll_transmit(), None);
    assert_eq!(events(&mut conn), vec![Event::Closed(None)]);

    // Once connected, Terminate is sent.
    let mut conn = connected();
    conn.terminate();
    assert_eq!(conn.poll_transmit().as_deref(), Some(&b"X\0\0\0\x04"[..]));
}
