//! Rows answered through a server connection allocate nothing per row: `write_row` writes each
//! DataRow straight into the connection's output buffer. Counted with a global allocator that
//! counts allocations on this thread.

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{Format, ProtocolVersion, Query, StartupMessage, TransactionStatus};
use pgproto::server::{Auth, Column, Config, Connection, Event};
use pgproto::types::{Session, oid};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

fn allocations() -> u64 {
    counting_alloc::allocations() as u64
}

/// Answers one query with `rows` rows of 10 columns; returns the allocations made while
/// writing the rows (the row loop only).
fn answer(conn: &mut Connection, now: Instant, rows: i64) -> u64 {
    let mut q = BytesMut::new();
    Query::write(&mut q, "SELECT ...").unwrap();
    conn.handle_input(now, &q);
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    let cols: Vec<Column> = (0..10)
        .map(|i| Column::new(format!("c{i}"), oid::INT8))
        .collect();
    conn.row_description(&cols).unwrap();
    let s = Session::UTC;
    let before = allocations();
    for r in 0..rows {
        conn.write_row(|w| {
            w.int(r)?;
            w.float(r as f64 / 3.0)?;
            w.value(&"some text", oid::TEXT, Format::Text, &s)?;
            w.null()?;
            w.value(&(r as i32), oid::INT4, Format::Binary, &s)?;
            w.int(-r)?;
            w.raw(b"raw bytes")?;
            w.value(&true, oid::BOOL, Format::Text, &s)?;
            w.value(&(r * 1000), oid::INT8, Format::Binary, &s)?;
            w.int(42)
        })
        .unwrap();
        // The driver drains the output as it goes (the buffer is then reused in place).
        if conn.output_full() {
            while conn.poll_transmit().is_some() {}
        }
    }
    let during = allocations() - before;
    conn.command_complete("SELECT 1000").unwrap();
    conn.query_done(TransactionStatus::Idle).unwrap();
    while conn.poll_transmit().is_some() {}
    during
}

#[test]
fn rows_allocate_nothing_once_the_buffer_is_warm() {
    let now = Instant::now();
    let mut conn: Connection = Connection::new(Config::default(), now);
    let mut wire = BytesMut::new();
    StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "u")]).unwrap();
    conn.handle_input(now, &wire);
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    while conn.poll_event().is_some() {}
    while conn.poll_transmit().is_some() {}
    // Warm-up: the output buffer grows to its working size.
    answer(&mut conn, now, 1000);
    for _ in 0..3 {
        let n = answer(&mut conn, now, 1000);
        eprintln!("allocations while writing 1,000 rows: {n}");
        assert_eq!(n, 0, "allocations while writing 1,000 rows");
    }
}
