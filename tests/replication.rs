//! Replication through the connection state machines, without a real server: both sides offer
//! COPY BOTH data at once, and the server refuses the extended protocol on a replication
//! connection as PostgreSQL's walsender does.

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{
    Bind, Describe, Execute, FrontendMessage, Parse, Target, TransactionStatus,
};
use pgproto::replication::{Lsn, PgTimestamp, PrimaryKeepalive, StandbyStatusUpdate};

#[path = "support/replication.rs"]
mod replication;

use replication::{client_streaming, frame, replies, server_session, server_streaming};

#[test]
fn client_offers_copy_both_data_at_once() {
    let mut c = client_streaming();
    let mut payload = BytesMut::new();
    StandbyStatusUpdate::confirmed(Lsn(0x10), PgTimestamp(1)).encode(&mut payload);
    c.copy_data(&payload).unwrap();
    // Not held back for batching as COPY FROM STDIN data is: the server waits for it.
    let sent = c
        .poll_transmit()
        .expect("the status update is offered at once");
    assert_eq!(&sent[..], &frame(b'd', &payload)[..]);
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
            replies(&mut s, &mut dec),
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
    let (mut s, _dec) = server_streaming();
    let response = s.poll_transmit().expect("CopyBothResponse is offered");
    assert_eq!(response[0], b'W');
    let mut keepalive = BytesMut::new();
    PrimaryKeepalive {
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
