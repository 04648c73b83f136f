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
