//! COPY BOTH on the server connection (the mode replication streams use): both directions
//! interleave, each side closes its own half with CopyDone, and then the command completes.

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{
    BackendDecoder, BackendMessage, CopyData, Format, FrontendMessage, ProtocolVersion, Query,
    StartupMessage, TransactionStatus,
};
use pgproto::server::{ApiError, Auth, Config, Connection, Event};

fn ready(now: Instant) -> Connection {
    let mut conn: Connection = Connection::new(Config::default(), now);
    let mut wire = BytesMut::new();
    StartupMessage::write(
        &mut wire,
        ProtocolVersion::V3_0,
        [("user", "r"), ("replication", "database")],
    )
    .unwrap();
    conn.handle_input(now, &wire);
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}
    conn
}

/// Every backend message the connection has made ready, as short strings.
fn drain(conn: &mut Connection) -> Vec<String> {
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut dec = BackendDecoder::new();
    let mut v = Vec::new();
    while let Some(m) = dec.decode(&mut out).unwrap() {
        v.push(match m {
            BackendMessage::CopyBothResponse(_) => "W".to_string(),
            BackendMessage::CopyData(d) => format!("d {}", String::from_utf8_lossy(&d.data)),
            BackendMessage::CopyDone => "c".into(),
            BackendMessage::CommandComplete(c) => format!("C {}", c.tag),
            BackendMessage::ReadyForQuery(_) => "Z".into(),
            other => format!("{other:?}"),
        });
    }
    v
}

/// Client bytes fed whole, then one byte at a time, must give the same story.
fn feed(conn: &mut Connection, now: Instant, bytes: &[u8], bytewise: bool) {
    if bytewise {
        for b in bytes {
            conn.handle_input(now, std::slice::from_ref(b));
        }
    } else {
        conn.handle_input(now, bytes);
    }
}

fn client(parts: &[&[u8]], done: bool) -> BytesMut {
    let mut w = BytesMut::new();
    for p in parts {
        CopyData::write(&mut w, p).unwrap();
    }
    if done {
        FrontendMessage::CopyDone.encode(&mut w).unwrap();
    }
    w
}

#[test]
fn both_directions_interleave_and_each_side_closes_its_half() {
    for bytewise in [false, true] {
        let now = Instant::now();
        let mut conn = ready(now);
        let mut q = BytesMut::new();
        Query::write(&mut q, "START_REPLICATION SLOT s LOGICAL 0/0").unwrap();
        feed(&mut conn, now, &q, bytewise);
        assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
        conn.start_copy_both(Format::Binary, &[]).unwrap();
        conn.copy_data(b"w1").unwrap();
        assert_eq!(
            drain(&mut conn),
            ["W", "d w1"],
            "CopyBothResponse and each stream message are offered at once"
        );
        // The client's standby status updates arrive while the server streams.
        feed(&mut conn, now, &client(&[b"r1"], false), bytewise);
        assert_eq!(
            conn.poll_event(),
            Some(Event::CopyData(bytes::Bytes::from_static(b"r1")))
        );
        conn.copy_data(b"w2").unwrap();
        // The server ends its half first; the client may still send.
        conn.copy_done().unwrap();
        assert_eq!(
            conn.copy_data(b"late").unwrap_err(),
            ApiError::Unexpected {
                answer: "copy_data",
                waiting: "COPY BOTH data"
            }
        );
        assert!(
            conn.command_complete("START_REPLICATION").is_err(),
            "the client's half is still open"
        );
        feed(&mut conn, now, &client(&[b"r2"], true), bytewise);
        assert_eq!(
            conn.poll_event(),
            Some(Event::CopyData(bytes::Bytes::from_static(b"r2")))
        );
        assert_eq!(conn.poll_event(), Some(Event::CopyDone));
        conn.command_complete("START_REPLICATION").unwrap();
        conn.query_done(TransactionStatus::Idle).unwrap();
        assert_eq!(drain(&mut conn), ["d w2", "c", "C START_REPLICATION", "Z"]);
    }
}

#[test]
fn the_client_may_close_first_and_copy_fail_ends_it_with_57014() {
    let now = Instant::now();
    let mut conn = ready(now);
    let mut q = BytesMut::new();
    Query::write(&mut q, "START_REPLICATION 0/0").unwrap();
    conn.handle_input(now, &q);
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    conn.start_copy_both(Format::Binary, &[]).unwrap();
    conn.handle_input(now, &client(&[], true));
    assert_eq!(conn.poll_event(), Some(Event::CopyDone));
    conn.copy_data(b"last").unwrap();
    conn.copy_done().unwrap();
    conn.command_complete("COPY 0").unwrap();
    conn.query_done(TransactionStatus::Idle).unwrap();
    assert_eq!(drain(&mut conn), ["W", "d last", "c", "C COPY 0", "Z"]);

    // CopyFail from the client: the state machine answers 57014 and ReadyForQuery.
    q.clear();
    Query::write(&mut q, "START_REPLICATION 0/0").unwrap();
    conn.handle_input(now, &q);
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    conn.start_copy_both(Format::Binary, &[]).unwrap();
    let mut fail = BytesMut::new();
    pgproto::message::CopyFail::write(&mut fail, "bye").unwrap();
    conn.handle_input(now, &fail);
    assert!(matches!(conn.poll_event(), Some(Event::CopyFail { .. })));
    let got = drain(&mut conn);
    assert_eq!(got[0], "W");
    assert!(got[1].contains("57014"), "{got:?}");
    assert_eq!(got[2], "Z");
}
