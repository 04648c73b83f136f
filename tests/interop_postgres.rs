//! The message layer against a real PostgreSQL 15 server (started by scripts/pg.sh): our
//! frontend encoders must be accepted byte for byte, and everything the server sends must
//! decode. Enabled by `--features interop`; it fails, never skips, when the server is missing.
#![cfg(feature = "interop")]

use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::message::{
    Authentication, BackendMessage, Bind, CancelRequest, Close, CopyData, CopyFail, Describe,
    Execute, FrontendMessage, FunctionCall, Parse, PasswordMessage, ProtocolVersion, Query, Target,
    TransactionStatus,
};

mod support;
use support::{PgConn, names, pg15_tcp};

type Conn = PgConn<TcpStream>;

impl PgConn<TcpStream> {
    fn open() -> Conn {
        PgConn::new(pg15_tcp())
    }

    /// Connects as `user` and sends a StartupMessage with `extra` parameters.
    fn start(user: &str, version: ProtocolVersion, extra: &[(&str, &str)]) -> Conn {
        let mut c = Conn::open();
        c.startup(user, version, extra);
        c
    }

    /// A trusted session, past ReadyForQuery; returns it with its BackendKeyData.
    fn ready() -> (Conn, i32, Vec<u8>) {
        let mut c = Conn::start("pgproto_trust", ProtocolVersion::V3_0, &[]);
        let mut key = None;
        loop {
            match c.recv() {
                BackendMessage::BackendKeyData(k) => {
                    key = Some((k.process_id, k.secret_key.to_vec()))
                }
                BackendMessage::ReadyForQuery(TransactionStatus::Idle) => break,
                BackendMessage::Authentication(Authentication::Ok)
                | BackendMessage::ParameterStatus(_) => {}
                other => panic!("unexpected during startup: {other:?}"),
            }
        }
        let (pid, key) = key.expect("BackendKeyData");
        (c, pid, key)
    }

    /// Sends a query and reads up to its CopyInResponse.
    fn query_until_copy(&mut self, sql: &str) -> Vec<BackendMessage> {
        Query::write(&mut self.out, sql).unwrap();
        self.flush();
        self.until(|m| {
            matches!(
                m,
                BackendMessage::CopyInResponse(_) | BackendMessage::ReadyForQuery(_)
            )
        })
    }
}

#[test]
fn startup_reports_parameters_and_a_four_byte_key() {
    let mut c = Conn::start(
        "pgproto_trust",
        ProtocolVersion::V3_0,
        &[("application_name", "pgproto-test")],
    );
    assert_eq!(c.recv(), BackendMessage::Authentication(Authentication::Ok));
    let mut params = std::collections::HashMap::new();
    loop {
        match c.recv() {
            BackendMessage::ParameterStatus(p) => {
                params.insert(p.name.to_string(), p.value.to_string());
            }
            BackendMessage::BackendKeyData(k) => assert_eq!(k.secret_key.len(), 4),
            BackendMessage::ReadyForQuery(s) => {
                assert_eq!(s, TransactionStatus::Idle);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(params["server_version"].starts_with("15."), "{params:?}");
    assert_eq!(params["application_name"], "pgproto-test");
    assert_eq!(params["server_encoding"], "UTF8");
    assert_eq!(params["integer_datetimes"], "on");
}

#[test]
fn newer_minor_version_and_pq_options_get_negotiate_protocol_version() {
    let mut c = Conn::start(
        "pgproto_trust",
        ProtocolVersion::V3_2,
        &[("_pq_.pgproto_test", "1")],
    );
    match c.recv() {
        BackendMessage::NegotiateProtocolVersion(n) => {
            assert_eq!(n.version, ProtocolVersion::V3_0);
            let opts: Vec<&[u8]> = n.unrecognized_options().collect();
            assert_eq!(opts, [&b"_pq_.pgproto_test"[..]]);
        }
        other => panic!("expected NegotiateProtocolVersion, got {other:?}"),
    }
    assert_eq!(c.recv(), BackendMessage::Authentication(Authentication::Ok));
}

#[test]
fn authentication_requests_of_each_method_decode() {
    let mut scram = Conn::start("pgproto_scram", ProtocolVersion::V3_0, &[]);
    match scram.recv() {
        BackendMessage::Authentication(Authentication::Sasl(m)) => {
            let names: Vec<&[u8]> = m.iter().collect();
            assert_eq!(names, [&b"SCRAM-SHA-256"[..]], "no -PLUS without TLS");
        }
        other => panic!("expected SASL, got {other:?}"),
    }
    let mut md5 = Conn::start("pgproto_md5", ProtocolVersion::V3_0, &[]);
    assert!(matches!(
        md5.recv(),
        BackendMessage::Authentication(Authentication::Md5Password { .. })
    ));

    // A wrong cleartext password: PostgreSQL's FATAL 28P01 decodes with all its fields.
    let mut clear = Conn::start("pgproto_password", ProtocolVersion::V3_0, &[]);
    assert_eq!(
        clear.recv(),
        BackendMessage::Authentication(Authentication::CleartextPassword)
    );
    PasswordMessage::write(&mut clear.out, b"wrong").unwrap();
    clear.flush();
    match clear.recv() {
        BackendMessage::ErrorResponse(e) => {
            assert_eq!(e.sqlstate(), Some(SqlState::INVALID_PASSWORD));
            assert_eq!(e.severity(), Some(&b"FATAL"[..]));
            assert!(
                e.message()
                    .unwrap()
                    .starts_with(b"password authentication failed")
            );
            assert!(e.get(b'R').is_some(), "routine field kept");
        }
        other => panic!("expected ErrorResponse, got {other:?}"),
    }
    // And the right one logs in.
    let mut ok = Conn::start("pgproto_password", ProtocolVersion::V3_0, &[]);
    ok.recv();
    PasswordMessage::write(&mut ok.out, b"cleartext-secret").unwrap();
    ok.flush();
    assert_eq!(
        ok.recv(),
        BackendMessage::Authentication(Authentication::Ok)
    );
}

#[test]
fn simple_query_with_several_statements_and_an_error() {
    let (mut c, _, _) = Conn::ready();
    let t = c
        .query("SELECT 1 AS a, NULL::text AS b; SELECT generate_series(1,3); SELECT 1/0; SELECT 2");
    assert_eq!(
        names(&t),
        [
            "T2",
            "D[1,NULL]",
            "C SELECT 1",
            "T1",
            "D[1]",
            "D[2]",
            "D[3]",
            "C SELECT 3",
            "E 22012",
            "ZI"
        ]
    );
    assert_eq!(names(&c.query("")), ["I", "ZI"]);
    assert_eq!(
        names(&c.query("BEGIN; SELECT 1/0")),
        ["C BEGIN", "E 22012", "ZE"]
    );
    assert_eq!(names(&c.query("SELECT 1")), ["E 25P02", "ZE"]);
    assert_eq!(names(&c.query("ROLLBACK")), ["C ROLLBACK", "ZI"]);
}

#[test]
fn invalid_utf8_in_a_query_is_an_error_not_a_framing_failure() {
    let (mut c, _, _) = Conn::ready();
    c.send(FrontendMessage::Query(Query {
        sql: pgproto::message::PgStr::try_from(&b"SELECT '\xff'"[..]).unwrap(),
    }));
    c.flush();
    assert_eq!(names(&c.until_ready()), ["E 22021", "ZI"]);
    assert_eq!(
        names(&c.query("SELECT 7")),
        ["T1", "D[7]", "C SELECT 1", "ZI"]
    );
}

#[test]
fn extended_query_binary_parameters_describe_and_row_limits() {
    let (mut c, _, _) = Conn::ready();
    Parse::write(&mut c.out, "s1", "SELECT $1::int4 + 1 AS n", &[23]).unwrap();
    Bind::write(
        &mut c.out,
        "",
        "s1",
        &[1],
        [Some(&41i32.to_be_bytes()[..])],
        &[1],
    )
    .unwrap();
    Describe::write(&mut c.out, Target::Portal, "").unwrap();
    Execute::write(&mut c.out, "", 0).unwrap();
    Describe::write(&mut c.out, Target::Statement, "s1").unwrap();
    Close::write(&mut c.out, Target::Statement, "s1").unwrap();
    c.send(FrontendMessage::Sync);
    c.flush();
    let t = c.until_ready();
    assert_eq!(names(&t)[..2], ["1", "2"]);
    let BackendMessage::RowDescription(desc) = &t[2] else {
        panic!("{t:?}")
    };
    let f = desc.fields().next().unwrap();
    assert_eq!((f.name, f.type_oid, f.format), (&b"n"[..], 23, 1));
    let BackendMessage::DataRow(row) = &t[3] else {
        panic!("{t:?}")
    };
    assert_eq!(row.values().next().unwrap(), Some(&42i32.to_be_bytes()[..]));
    assert_eq!(names(&t)[4..], ["C SELECT 1", "t[23]", "T1", "3", "ZI"]);

    // Row limits: PortalSuspended, then resume.
    Parse::write(&mut c.out, "", "SELECT generate_series(1,5)", &[]).unwrap();
    Bind::write(&mut c.out, "", "", &[], [], &[]).unwrap();
    Execute::write(&mut c.out, "", 2).unwrap();
    Execute::write(&mut c.out, "", 2).unwrap();
    Execute::write(&mut c.out, "", 0).unwrap();
    c.send(FrontendMessage::Sync);
    c.flush();
    assert_eq!(
        names(&c.until_ready()),
        [
            "1",
            "2",
            "D[1]",
            "D[2]",
            "s",
            "D[3]",
            "D[4]",
            "s",
            "D[5]",
            "C SELECT 1",
            "ZI"
        ]
    );

    // An error discards everything up to Sync.
    Parse::write(&mut c.out, "", "SELECT nosuchcolumn", &[]).unwrap();
    Bind::write(&mut c.out, "", "", &[], [], &[]).unwrap();
    Execute::write(&mut c.out, "", 0).unwrap();
    c.send(FrontendMessage::Sync);
    c.flush();
    assert_eq!(names(&c.until_ready()), ["E 42703", "ZI"]);
}

#[test]
fn copy_out_and_in_and_fail() {
    let (mut c, _, _) = Conn::ready();
    assert_eq!(
        names(&c.query("COPY (SELECT generate_series(1,3)) TO STDOUT")),
        [
            "H",
            "d\"1\\n\"",
            "d\"2\\n\"",
            "d\"3\\n\"",
            "c",
            "C COPY 3",
            "ZI"
        ]
    );
    let t = c.query_until_copy("CREATE TEMP TABLE t(a int); COPY t FROM STDIN");
    assert_eq!(names(&t), ["C CREATE TABLE", "G"]);
    CopyData::write(&mut c.out, b"1\n2\n").unwrap();
    c.send(FrontendMessage::CopyDone);
    c.flush();
    assert_eq!(names(&c.until_ready()), ["C COPY 2", "ZI"]);
    assert_eq!(names(&c.query_until_copy("COPY t FROM STDIN")), ["G"]);
    CopyFail::write(&mut c.out, "client gave up").unwrap();
    c.flush();
    assert_eq!(names(&c.until_ready()), ["E 57014", "ZI"]);
}

#[test]
fn notices_and_notifications() {
    let (mut c, pid, _) = Conn::ready();
    let t = c.query("DO $$BEGIN RAISE NOTICE 'hello'; END$$");
    assert_eq!(names(&t), ["N 00000", "C DO", "ZI"]);
    let BackendMessage::NoticeResponse(n) = &t[0] else {
        unreachable!()
    };
    assert_eq!(n.message(), Some(&b"hello"[..]));
    let t = c.query("LISTEN ch; NOTIFY ch, 'payload'");
    assert_eq!(names(&t), ["C LISTEN", "C NOTIFY", "A ch payload", "ZI"]);
    let BackendMessage::NotificationResponse(a) = &t[2] else {
        unreachable!()
    };
    assert_eq!(a.process_id, pid);
}

#[test]
fn function_call() {
    let (mut c, _, _) = Conn::ready();
    // int4pl(int4, int4), OID 177, binary arguments and result.
    FunctionCall::write(
        &mut c.out,
        177,
        &[1],
        [Some(&2i32.to_be_bytes()[..]), Some(&3i32.to_be_bytes()[..])],
        1,
    )
    .unwrap();
    c.flush();
    let t = c.until_ready();
    match &t[..] {
        [
            BackendMessage::FunctionCallResponse(r),
            BackendMessage::ReadyForQuery(_),
        ] => {
            assert_eq!(r.value.as_deref(), Some(&5i32.to_be_bytes()[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_request_stops_a_running_query() {
    let (mut c, pid, key) = Conn::ready();
    Query::write(&mut c.out, "SELECT pg_sleep(30)").unwrap();
    c.flush();
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let mut canceller = Conn::open();
    CancelRequest::write(&mut canceller.out, pid, &key).unwrap();
    canceller.flush();
    let t = c.until_ready();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        names(&t).contains(&"E 57014".to_string()),
        "{:?}",
        names(&t)
    );
}

#[test]
fn unknown_frontend_type_is_fatal_08p01_as_our_decoder_says() {
    let (mut c, _, _) = Conn::ready();
    c.out.extend_from_slice(b"Z\0\0\0\x04");
    c.flush();
    match c.recv() {
        BackendMessage::ErrorResponse(e) => {
            assert_eq!(e.sqlstate(), Some(SqlState::PROTOCOL_VIOLATION));
            assert_eq!(e.severity(), Some(&b"FATAL"[..]));
        }
        other => panic!("{other:?}"),
    }
    // Our own decoder classifies the same bytes the same way.
    let mut dec = pgproto::message::FrontendDecoder::new();
    dec.set_phase(pgproto::message::FrontendPhase::Normal);
    let err = dec
        .decode(&mut BytesMut::from(&b"Z\0\0\0\x04"[..]))
        .unwrap_err();
    assert_eq!(err.sqlstate(), SqlState::PROTOCOL_VIOLATION);
    assert!(!err.is_recoverable());
}
