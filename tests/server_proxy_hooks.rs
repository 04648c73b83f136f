//! The server connection's hooks for a proxy (examples/proxy.rs): a session held after
//! authentication until the application starts it (`Config::hold_after_auth`), Sync reported
//! as an event answered with the upstream's transaction status (`Config::report_sync`), and
//! errors and notices forwarded with every field as received (`error_fields`,
//! `notice_fields`). In memory, with the message layer's encoders as the client.

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{
    BackendDecoder, BackendMessage, Bind, ErrorFields, FrontendMessage, Parse, ProtocolVersion,
    Query, StartupMessage, TransactionStatus, error_field,
};
use pgproto::server::{ApiError, Auth, Config, Connection, Event};

fn proxy_config() -> Config {
    let mut c = Config::default();
    c.hold_after_auth = true;
    c.report_sync = true;
    c
}

/// Everything the connection has for the client, decoded.
fn output(conn: &mut Connection, dec: &mut BackendDecoder) -> Vec<BackendMessage> {
    let mut buf = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        buf.extend_from_slice(&b);
    }
    let mut msgs = Vec::new();
    while let Some(m) = dec.decode(&mut buf).unwrap() {
        msgs.push(m);
    }
    assert!(buf.is_empty(), "a partial message in the output");
    msgs
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn send(conn: &mut Connection, fill: impl FnOnce(&mut BytesMut)) {
    let mut wire = BytesMut::new();
    fill(&mut wire);
    conn.handle_input(Instant::now(), &wire);
}

/// A connection after the (held) trust login of `alice`, and the started session's output.
fn started(config: Config) -> (Connection, BackendDecoder) {
    let held = config.hold_after_auth;
    let mut conn: Connection = Connection::new(config, Instant::now());
    let mut dec = BackendDecoder::new();
    send(&mut conn, |w| {
        StartupMessage::write(w, ProtocolVersion::V3_0, [("user", "alice")]).unwrap()
    });
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Authenticated { .. })
    ));
    if held {
        conn.start_session().unwrap();
    }
    output(&mut conn, &mut dec);
    (conn, dec)
}

fn fields(severity: &str) -> ErrorFields {
    ErrorFields::new([
        (error_field::SEVERITY, severity),
        (error_field::SEVERITY_NONLOCALIZED, severity),
        (error_field::CODE, "23505"),
        (error_field::MESSAGE, "duplicate key"),
        (error_field::WHERE, "SQL function \"f\""),
        (error_field::CONSTRAINT, "items_pkey"),
        (error_field::ROUTINE, "_bt_check_unique"),
        (b'Z', "a field this crate does not know"),
    ])
    .unwrap()
}

#[test]
fn a_held_session_starts_when_the_application_says_so() {
    let mut conn: Connection = Connection::new(proxy_config(), Instant::now());
    let mut dec = BackendDecoder::new();
    send(&mut conn, |w| {
        StartupMessage::write(w, ProtocolVersion::V3_0, [("user", "alice")]).unwrap();
        Query::write(w, "SELECT 1").unwrap(); // pipelined: waits for the session
    });
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    let held = events(&mut conn);
    assert!(
        matches!(held[..], [Event::Authenticated { .. }]),
        "{held:?}"
    );
    assert!(matches!(
        output(&mut conn, &mut dec)[..],
        [BackendMessage::Authentication(_)]
    ));
    // Parameters set meanwhile go out with the others, once.
    conn.set_parameter("server_version", "99.1").unwrap();
    assert!(output(&mut conn, &mut dec).is_empty());
    assert!(
        conn.poll_event().is_none(),
        "the query waits for start_session"
    );
    conn.start_session().unwrap();
    let out = output(&mut conn, &mut dec);
    let versions: Vec<String> = out
        .iter()
        .filter_map(|m| match m {
            BackendMessage::ParameterStatus(p) if p.name == "server_version" => {
                Some(p.value.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(versions, ["99.1"]);
    assert!(matches!(
        out[out.len() - 2..],
        [
            BackendMessage::BackendKeyData(_),
            BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        ]
    ));
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    assert!(matches!(
        conn.start_session(),
        Err(ApiError::Unexpected { .. })
    ));
}

#[test]
fn a_held_session_can_be_refused_with_the_upstream_error() {
    let mut conn: Connection = Connection::new(proxy_config(), Instant::now());
    let mut dec = BackendDecoder::new();
    send(&mut conn, |w| {
        StartupMessage::write(w, ProtocolVersion::V3_0, [("user", "alice")]).unwrap()
    });
    conn.poll_event();
    conn.authenticate(Auth::Trust).unwrap();
    conn.poll_event();
    conn.error_fields(&fields("FATAL")).unwrap();
    assert!(conn.is_closed());
    let out = output(&mut conn, &mut dec);
    assert!(matches!(out[0], BackendMessage::Authentication(_)));
    assert_eq!(out[1], BackendMessage::ErrorResponse(fields("FATAL")));
    assert_eq!(out.len(), 2);
}

#[test]
fn sync_is_reported_and_answered_with_the_status_given() {
    let (mut conn, mut dec) = started(proxy_config());
    send(&mut conn, |w| {
        Parse::write(w, "", "BEGIN", &[]).unwrap();
        FrontendMessage::Sync.encode(w).unwrap();
    });
    assert!(matches!(conn.poll_event(), Some(Event::Parse { .. })));
    conn.parse_complete(Vec::new(), None, ()).unwrap();
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Sync { failed: false })
    ));
    assert!(
        output(&mut conn, &mut dec).is_empty(),
        "ReadyForQuery waits for sync_done"
    );
    conn.sync_done(TransactionStatus::InTransaction).unwrap();
    assert!(matches!(
        output(&mut conn, &mut dec)[..],
        [
            BackendMessage::ParseComplete,
            BackendMessage::ReadyForQuery(TransactionStatus::InTransaction),
        ]
    ));
    // A Bind the connection refuses itself: the Sync says the batch failed; an error at Sync
    // (a failed commit upstream) comes before ReadyForQuery.
    send(&mut conn, |w| {
        Bind::write(w, "", "nope", &[], std::iter::empty(), &[]).unwrap();
        FrontendMessage::Sync.encode(w).unwrap();
    });
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Sync { failed: true })
    ));
    conn.error_fields(&fields("ERROR")).unwrap();
    conn.sync_done(TransactionStatus::Failed).unwrap();
    let out = output(&mut conn, &mut dec);
    assert!(
        matches!(out[0], BackendMessage::ErrorResponse(ref e) if e.sqlstate().unwrap().as_str() == "26000")
    );
    assert_eq!(out[1], BackendMessage::ErrorResponse(fields("ERROR")));
    assert!(matches!(
        out[2..],
        [BackendMessage::ReadyForQuery(TransactionStatus::Failed)]
    ));
}

#[test]
fn without_the_hooks_sync_is_answered_at_once() {
    let (mut conn, mut dec) = started(Config::default());
    send(&mut conn, |w| FrontendMessage::Sync.encode(w).unwrap());
    assert!(conn.poll_event().is_none());
    assert!(matches!(
        output(&mut conn, &mut dec)[..],
        [BackendMessage::ReadyForQuery(TransactionStatus::Idle)]
    ));
}

#[test]
fn errors_and_notices_keep_every_field() {
    let (mut conn, mut dec) = started(proxy_config());
    send(&mut conn, |w| Query::write(w, "INSERT").unwrap());
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    conn.notice_fields(&fields("NOTICE")).unwrap();
    conn.error_fields(&fields("ERROR")).unwrap();
    assert!(
        conn.error_fields(&fields("ERROR")).is_err(),
        "one error per statement"
    );
    conn.query_done(TransactionStatus::Idle).unwrap();
    assert_eq!(
        output(&mut conn, &mut dec),
        [
            BackendMessage::NoticeResponse(fields("NOTICE")),
            BackendMessage::ErrorResponse(fields("ERROR")),
            BackendMessage::ReadyForQuery(TransactionStatus::Idle),
        ]
    );
    assert!(!conn.is_closed());
}
