//! Replication through the connection state machines, without a real server: the client
//! offers COPY BOTH data at once, and the server refuses the extended protocol on a
//! replication connection as PostgreSQL's walsender does.

use std::time::Instant;

use bytes::{BufMut, BytesMut};
use pgproto::client;
use pgproto::message::{
    BackendDecoder, BackendMessage, Bind, Describe, Execute, FrontendMessage, Parse,
    ProtocolVersion, StartupMessage, Target, TransactionStatus,
};
use pgproto::replication::{Lsn, PgTimestamp, StandbyStatusUpdate};
use pgproto::server::{self, Auth, Replication};

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[test]
fn client_offers_copy_both_data_at_once() {
    let mut config = client::Config::new("repl");
    config.ssl_mode = client::SslMode::Disable;
    config.replication = Some("database".into());
    let now = Instant::now();
    let mut c = client::Connection::new(config, now);
    let startup = c.poll_transmit().expect("startup packet");
    assert!(
        startup
            .windows(b"replication\0database\0".len())
            .any(|w| w == b"replication\0database\0")
    );
    let mut input = frame(b'R', &0i32.to_be_bytes());
    input.extend(frame(b'Z', b"I"));
    c.handle_input(now, &input);
    while c.poll_event().is_some() {}
    c.query("START_REPLICATION SLOT \"s\" LOGICAL 0/0").unwrap();
    assert!(c.poll_transmit().is_some());
    c.handle_input(now, &frame(b'W', &[0, 0, 0]));
    let mut saw_copy_both = false;
    while let Some(e) = c.poll_event() {
        saw_copy_both |= matches!(
            e,
            client::Event::Response {
                response: client::Response::CopyBoth(_),
                ..
            }
        );
    }
    assert!(saw_copy_both);
    let mut payload = BytesMut::new();
    StandbyStatusUpdate::confirmed(Lsn(0x10), PgTimestamp(1)).encode(&mut payload);
    c.copy_data(&payload).unwrap();
    // Not held back for batching as COPY FROM STDIN data is: the server waits for it.
    let sent = c
        .poll_transmit()
        .expect("the status update is offered at once");
    assert_eq!(&sent[..], &frame(b'd', &payload)[..]);
}

/// A server connection logged in with `replication`, and its output decoded.
fn server_session(replication: &str) -> (server::Connection, BackendDecoder) {
    let now = Instant::now();
    let mut s: server::Connection = server::Connection::new(server::Config::default(), now);
    let mut out = BytesMut::new();
    StartupMessage::write(
        &mut out,
        ProtocolVersion::V3_0,
        [
            ("user", "u"),
            ("database", "d"),
            ("replication", replication),
        ],
    )
    .unwrap();
    s.handle_input(now, &out);
    while let Some(e) = s.poll_event() {
        if let server::Event::Startup(st) = e {
            assert_ne!(st.replication, Replication::None);
            s.authenticate(Auth::Trust).unwrap();
        }
    }
    assert_ne!(s.replication(), Replication::None);
    let mut dec = BackendDecoder::new();
    drain(&mut s, &mut dec);
    (s, dec)
}

/// The names of the backend messages written so far (ParameterStatus left out).
fn drain(s: &mut server::Connection, dec: &mut BackendDecoder) -> Vec<String> {
    let mut buf = BytesMut::new();
    while let Some(b) = s.poll_transmit() {
        buf.put_slice(&b);
    }
    let mut names = Vec::new();
    while let Ok(Some(m)) = dec.decode(&mut buf) {
        match m {
            BackendMessage::ParameterStatus(_) | BackendMessage::BackendKeyData(_) => {}
            BackendMessage::ErrorResponse(e) => names.push(format!(
                "E {} {}",
                e.sqlstate().unwrap(),
                String::from_utf8_lossy(e.message().unwrap())
            )),
            BackendMessage::ReadyForQuery(r) => names.push(format!("Z {r:?}")),
            other => names.push(format!("{other:?}").chars().take(20).collect()),
        }
    }
    names
}

#[test]
fn server_refuses_the_extended_protocol_on_replication_connections() {
    for mode in ["database", "true"] {
        let (mut s, mut dec) = server_session(mode);
        let mut out = BytesMut::new();
        Parse::write(&mut out, "", "IDENTIFY_SYSTEM", &[]).unwrap();
        Bind::write(
            &mut out,
            "",
            "",
            &[],
            std::iter::empty::<Option<&[u8]>>(),
            &[],
        )
        .unwrap();
        Describe::write(&mut out, Target::Portal, "").unwrap();
        Execute::write(&mut out, "", 0).unwrap();
        FrontendMessage::Sync.encode(&mut out).unwrap();
        s.handle_input(Instant::now(), &out);
        // No event reaches the application; one error, the rest discarded until Sync.
        assert!(s.poll_event().is_none());
        assert_eq!(
            drain(&mut s, &mut dec),
            [
                "E 08P01 extended query protocol not supported in a replication connection",
                &format!("Z {:?}", TransactionStatus::Idle),
            ],
            "replication={mode}"
        );
    }
}

#[test]
fn server_offers_copy_both_data_at_once() {
    let (mut s, _dec) = server_session("database");
    let mut q = BytesMut::new();
    pgproto::message::Query::write(&mut q, "START_REPLICATION SLOT s LOGICAL 0/0").unwrap();
    s.handle_input(Instant::now(), &q);
    assert!(matches!(s.poll_event(), Some(server::Event::Query { .. })));
    s.start_copy_both(pgproto::message::Format::Text, &[])
        .unwrap();
    let response = s.poll_transmit().expect("CopyBothResponse is offered");
    assert_eq!(response[0], b'W');
    let mut keepalive = BytesMut::new();
    pgproto::replication::PrimaryKeepalive {
        wal_end: Lsn(7),
        send_time: PgTimestamp(0),
        reply_requested: true,
    }
    .encode(&mut keepalive);
    s.copy_data(&keepalive).unwrap();
    // Not held back until 64 KiB have gathered, as COPY TO STDOUT data is.
    let sent = s.poll_transmit().expect("the keepalive is offered at once");
    assert_eq!(&sent[..], &frame(b'd', &keepalive)[..]);
}
