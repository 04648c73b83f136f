//! Floods: a server connection handles 10,000 pipelined messages in one read without
//! recursion or unbounded work per message.

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{
    BackendDecoder, BackendMessage, FrontendMessage, ProtocolVersion, StartupMessage,
};
use pgproto::server::{Auth, Config, Connection, Event};

fn ready_connection(now: Instant) -> Connection {
    let mut conn: Connection = Connection::new(Config::default(), now);
    let mut wire = BytesMut::new();
    StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "u")]).unwrap();
    conn.handle_input(now, &wire);
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}
    conn
}

#[test]
fn ten_thousand_pipelined_syncs_get_ten_thousand_ready_for_query() {
    let now = Instant::now();
    let mut conn = ready_connection(now);
    let mut wire = BytesMut::new();
    for _ in 0..10_000 {
        FrontendMessage::Sync.encode(&mut wire).unwrap();
    }
    conn.handle_input(now, &wire);
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut dec = BackendDecoder::new();
    let mut n = 0;
    while let Some(m) = dec.decode(&mut out).unwrap() {
        assert!(matches!(m, BackendMessage::ReadyForQuery(_)), "{m:?}");
        n += 1;
    }
    assert_eq!(n, 10_000);
    assert!(conn.poll_event().is_none());
}

/// A client that keeps creating named statements or portals meets the configured limits:
/// ERROR 54000, discarding until Sync, and the session goes on.
#[test]
fn statement_and_portal_limits() {
    use pgproto::message::{Bind, Parse};
    let now = Instant::now();
    let mut config = Config::default();
    config.max_statements = 3;
    config.max_portals = 2;
    let mut conn: Connection = Connection::new(config, now);
    let mut wire = BytesMut::new();
    StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "u")]).unwrap();
    conn.handle_input(now, &wire);
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}

    // Sends `msgs` (then Sync), answering every Parse; returns the SQLSTATEs of the errors.
    let run = |conn: &mut Connection, write: &dyn Fn(&mut BytesMut)| -> Vec<String> {
        let mut w = BytesMut::new();
        write(&mut w);
        FrontendMessage::Sync.encode(&mut w).unwrap();
        conn.handle_input(now, &w);
        while let Some(e) = conn.poll_event() {
            if let Event::Parse { .. } = e {
                conn.parse_complete(vec![], None, ()).unwrap();
            }
        }
        let mut out = BytesMut::new();
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
        let mut dec = BackendDecoder::new();
        let mut errors = Vec::new();
        while let Some(m) = dec.decode(&mut out).unwrap() {
            if let BackendMessage::ErrorResponse(e) = m {
                errors.push(e.sqlstate().unwrap().to_string());
            }
        }
        errors
    };
    let parse = |names: &'static [&'static str]| {
        move |w: &mut BytesMut| {
            for n in names {
                Parse::write(w, n, "SELECT 1", &[]).unwrap();
            }
        }
    };
    assert!(run(&mut conn, &parse(&["s1", "s2", "s3"])).is_empty());
    assert_eq!(run(&mut conn, &parse(&["s4"])), ["54000"]);
    // Closing one makes room.
    let close_s1 = |w: &mut BytesMut| {
        pgproto::message::Close::write(w, pgproto::message::Target::Statement, "s1").unwrap()
    };
    assert!(run(&mut conn, &close_s1).is_empty());
    assert!(run(&mut conn, &parse(&["s4"])).is_empty());
    // Portals: named ones live until the end of the transaction, so bind three in one batch.
    let bind3 = |w: &mut BytesMut| {
        for p in ["p1", "p2", "p3"] {
            Bind::write(w, p, "s2", &[], [], &[]).unwrap();
        }
    };
    assert_eq!(run(&mut conn, &bind3), ["54000"]);
}

/// Replies the state machine writes on its own (Describe of a statement) do not let buffered
/// output outgrow `max_output`: input waits while output is full (found by the fuzzer:
/// one read of many Describes amplified into megabytes of buffered output).
#[test]
fn describe_flood_is_bounded_by_max_output() {
    use pgproto::message::{Describe, Parse, Target};
    let now = Instant::now();
    let mut config = Config::default();
    config.max_output = 4096;
    config.flush_threshold = 1024;
    let mut conn: Connection = Connection::new(config, now);
    let mut wire = BytesMut::new();
    StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "u")]).unwrap();
    conn.handle_input(now, &wire);
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}

    // A statement with 1,000 parameters: each ParameterDescription is about 4 KB.
    let types = vec![23u32; 1000];
    let mut w = BytesMut::new();
    Parse::new("s", "select", &types)
        .unwrap()
        .encode(&mut w)
        .unwrap();
    FrontendMessage::Sync.encode(&mut w).unwrap();
    conn.handle_input(now, &w);
    while let Some(e) = conn.poll_event() {
        if let Event::Parse { .. } = e {
            conn.parse_complete(types.clone(), None, ()).unwrap();
        }
    }
    while conn.poll_transmit().is_some() {}

    let mut w = BytesMut::new();
    for _ in 0..1000 {
        Describe::write(&mut w, Target::Statement, "s").unwrap();
    }
    FrontendMessage::Sync.encode(&mut w).unwrap();
    conn.handle_input(now, &w);
    let mut out = BytesMut::new();
    let mut largest = 0;
    loop {
        while conn.poll_event().is_some() {}
        match conn.poll_transmit() {
            Some(b) => {
                largest = largest.max(b.len());
                out.extend_from_slice(&b);
            }
            None => break,
        }
    }
    // At most max_output plus one Describe's reply (ParameterDescription + NoData).
    assert!(
        largest <= 4096 + 4100,
        "a single transmit held {largest} bytes"
    );
    let mut dec = BackendDecoder::new();
    let (mut descriptions, mut ready) = (0, 0);
    while let Some(m) = dec.decode(&mut out).unwrap() {
        match m {
            BackendMessage::ParameterDescription(_) => descriptions += 1,
            BackendMessage::ReadyForQuery(_) => ready += 1,
            _ => {}
        }
    }
    assert_eq!((descriptions, ready), (1000, 1));
}
