//! Faults, each with a bounded outcome (docs/robustness.md, "Faults"): a peer that disconnects
//! in the middle of a message, a COPY, an authentication exchange or a pipeline (both sides); a
//! client that never reads its results; a startup packet that drips in one byte per second; a
//! flood of 10,000 pipelined messages; a peer that announces a 1 GiB message.
//!
//! Memory is measured with a global allocator that tracks the bytes live on the test's own
//! thread (and their peak), so "bounded" is a number each test asserts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pgproto::SqlState;
use pgproto::auth::{AuthError, RandomSource, ScramSecret, StoredSecret};
use pgproto::client::{self, ClientError, Event as CEvent, Response, SslMode};
use pgproto::message::{
    Authentication, BackendDecoder, BackendKeyData, BackendLimits, BackendMessage, Bind,
    CommandComplete, CopyData, CopyResponse, CopyResponseKind, DataRow, Execute, Format,
    FrontendMessage, ParameterStatus, Parse, ProtocolVersion, Query, RowDescription,
    StartupMessage, TransactionStatus,
};
use pgproto::server::{ApiError, Auth, Column, Config, Connection, Event, PgError, Termination};
use pgproto::types::oid;

// ----- memory accounting -------------------------------------------------------------------------

struct Tracking;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// const-initialised thread-locals without destructors, so touching them never allocates.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `f`; returns its result and how far the bytes live on this thread rose above where
/// they started.
fn peak_growth<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

// ----- helpers -----------------------------------------------------------------------------------

/// A deterministic random source (xorshift64*).
#[derive(Debug, Clone)]
struct Rng(u64);

impl RandomSource for Rng {
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

fn startup_bytes(params: &[(&str, &str)]) -> BytesMut {
    let mut w = BytesMut::new();
    StartupMessage::write(&mut w, ProtocolVersion::V3_0, params.iter().copied()).unwrap();
    w
}

/// A server connection logged in with trust, its output drained.
fn logged_in<S, P>(config: Config, now: Instant) -> Connection<S, P> {
    let mut conn = Connection::with_random(config, now, Box::new(Rng(1)));
    conn.handle_input(now, &startup_bytes(&[("user", "alice")]));
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Trust).unwrap();
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Authenticated { .. })
    ));
    assert_eq!(conn.poll_event(), None);
    while conn.poll_transmit().is_some() {}
    conn
}

/// Every event the connection has now.
fn server_events<S, P>(conn: &mut Connection<S, P>) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Everything the connection offers now, decoded.
fn drain<S, P>(conn: &mut Connection<S, P>, dec: &mut BackendDecoder) -> Vec<BackendMessage> {
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut msgs = Vec::new();
    while let Some(m) = dec.decode(&mut out).unwrap() {
        msgs.push(m);
    }
    assert!(out.is_empty(), "a partial message was offered");
    msgs
}

/// After a disconnection: the session is over for good, whatever the driver or the
/// application does next.
fn assert_server_over<S, P>(conn: &mut Connection<S, P>, now: Instant) {
    assert!(conn.is_closed());
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_input(now, b"Q\0\0\0\x0dSELECT 1\0");
    conn.handle_eof(now);
    conn.handle_timeout(now + Duration::from_secs(3600));
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.poll_transmit(), None);
    assert_eq!(
        conn.error(PgError::new(SqlState::INTERNAL_ERROR, "late")),
        Err(ApiError::Closed)
    );
    assert_eq!(conn.notice(&PgError::notice("late")), Err(ApiError::Closed));
}

fn client_config() -> client::Config {
    let mut c = client::Config::new("alice");
    c.ssl_mode = SslMode::Disable;
    c.password = Some(b"pencil".to_vec());
    c
}

fn client_events(c: &mut client::Connection) -> Vec<CEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn backend(m: BackendMessage) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    b.to_vec()
}

/// A client logged in with trust, its output drained.
fn connected_client(config: client::Config, now: Instant) -> client::Connection {
    let mut c = client::Connection::with_random(config, now, Box::new(Rng(7)));
    while c.poll_transmit().is_some() {}
    let mut b = backend(BackendMessage::Authentication(Authentication::Ok));
    let mut k = BytesMut::new();
    BackendKeyData::write(&mut k, 1, &[1, 2, 3, 4]).unwrap();
    ParameterStatus::write(&mut k, "server_version", "18.0").unwrap();
    b.extend_from_slice(&k);
    b.extend(backend(BackendMessage::ReadyForQuery(
        TransactionStatus::Idle,
    )));
    c.handle_input(now, &b);
    let ev = client_events(&mut c);
    assert!(
        matches!(ev.last(), Some(CEvent::Connected { .. })),
        "{ev:?}"
    );
    c
}

/// After a disconnection: nothing more comes out of the client and every call is refused.
fn assert_client_over(c: &mut client::Connection, now: Instant) {
    assert!(c.is_closed());
    c.handle_input(
        now,
        &backend(BackendMessage::ReadyForQuery(TransactionStatus::Idle)),
    );
    c.handle_eof(now);
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.query("SELECT 1"), Err(ClientError::Closed));
    assert_eq!(c.sync(), Err(ClientError::Closed));
    assert_eq!(c.copy_data(b"x"), Err(ClientError::Closed));
    assert_eq!(c.copy_done(), Err(ClientError::Closed));
}

// ===== disconnection in the middle of a message =================================================

/// F01: the client disappears with part of a message buffered, cut at every byte of it.
#[test]
fn server_disconnect_mid_message() {
    let now = Instant::now();
    let mut msg = BytesMut::new();
    Parse::write(&mut msg, "s", "SELECT $1", &[oid::INT4]).unwrap();
    for cut in 1..msg.len() {
        let mut conn: Connection = logged_in(Config::default(), now);
        conn.handle_input(now, &msg[..cut]);
        assert_eq!(conn.poll_event(), None, "an event for part of a message");
        conn.handle_eof(now);
        assert_eq!(
            server_events(&mut conn),
            [Event::Terminated(Termination::ClientClosed)]
        );
        // The rest of the message arriving late changes nothing.
        conn.handle_input(now, &msg[cut..]);
        assert_server_over(&mut conn, now);
    }
}

/// F02: the server disappears in the middle of a DataRow, cut at every byte of it.
#[test]
fn client_disconnect_mid_message() {
    let now = Instant::now();
    let mut row = BytesMut::new();
    DataRow::write(&mut row, [Some(&b"1"[..]), None, Some(b"three")]).unwrap();
    for cut in 1..row.len() {
        let mut c = connected_client(client_config(), now);
        let id = c.query("SELECT 1, NULL, 'three'").unwrap();
        let mut desc = BytesMut::new();
        RowDescription::write(
            &mut desc,
            ["a", "b", "c"].map(|n| pgproto::types::column(n, oid::TEXT, Format::Text)),
        )
        .unwrap();
        c.handle_input(now, &desc);
        c.handle_input(now, &row[..cut]);
        let ev = client_events(&mut c);
        assert!(
            matches!(&ev[..], [CEvent::Response { request, response: Response::RowDescription(_) }] if *request == id),
            "{ev:?}"
        );
        c.handle_eof(now);
        assert_eq!(
            client_events(&mut c),
            [CEvent::Closed(Some(ClientError::Closed))]
        );
        assert_client_over(&mut c, now);
    }
}

// ===== disconnection in the middle of a COPY ====================================================

/// F03: the client disappears after some COPY FROM STDIN data and half a CopyData.
#[test]
fn server_disconnect_mid_copy() {
    let now = Instant::now();
    let mut conn: Connection = logged_in(Config::default(), now);
    let mut q = BytesMut::new();
    Query::write(&mut q, "COPY t FROM STDIN").unwrap();
    conn.handle_input(now, &q);
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    conn.start_copy_in(Format::Text, &[0]).unwrap();
    while conn.poll_transmit().is_some() {}
    let mut data = BytesMut::new();
    CopyData::write(&mut data, b"1\tone\n").unwrap();
    CopyData::write(&mut data, b"2\ttwo\n").unwrap();
    let mut half = BytesMut::new();
    CopyData::write(&mut half, b"3\tthree\n").unwrap();
    data.extend_from_slice(&half[..7]);
    conn.handle_input(now, &data);
    conn.handle_eof(now);
    assert_eq!(
        server_events(&mut conn),
        [
            Event::CopyData(Bytes::from_static(b"1\tone\n")),
            Event::CopyData(Bytes::from_static(b"2\ttwo\n")),
            Event::Terminated(Termination::ClientClosed),
        ]
    );
    // The application's completion of the COPY is refused; nothing is sent.
    assert_eq!(conn.command_complete("COPY 2"), Err(ApiError::Closed));
    assert_server_over(&mut conn, now);
}

/// F04: the server disappears during COPY TO STDOUT (half a CopyData buffered) and during COPY
/// FROM STDIN (while the client sends data).
#[test]
fn client_disconnect_mid_copy() {
    let now = Instant::now();
    for kind in [CopyResponseKind::Out, CopyResponseKind::In] {
        let mut c = connected_client(client_config(), now);
        c.query("COPY t TO STDOUT").unwrap();
        let mut b = BytesMut::new();
        CopyResponse::write(&mut b, kind, 0, &[0]).unwrap();
        if kind == CopyResponseKind::Out {
            CopyData::write(&mut b, b"1\tone\n").unwrap();
            let mut half = BytesMut::new();
            CopyData::write(&mut half, b"2\ttwo\n").unwrap();
            b.extend_from_slice(&half[..8]);
        }
        c.handle_input(now, &b);
        let responses = client_events(&mut c).len();
        assert_eq!(responses, if kind == CopyResponseKind::Out { 2 } else { 1 });
        if kind == CopyResponseKind::In {
            c.copy_data(b"1\tone\n").unwrap();
        }
        c.handle_eof(now);
        assert_eq!(
            client_events(&mut c),
            [CEvent::Closed(Some(ClientError::Closed))]
        );
        assert_client_over(&mut c, now);
    }
}

// ===== disconnection in the middle of authentication ============================================

fn scram_secret() -> StoredSecret {
    StoredSecret::Scram(ScramSecret::new(b"pencil", b"0123456789abcdef", 4096))
}

/// A client and a server connection paired in memory, run until the client has answered the
/// server-first message of SCRAM (its client-final is not delivered).
fn scram_until_client_final(now: Instant) -> (client::Connection, Connection, Vec<BackendMessage>) {
    let mut cli = client::Connection::with_random(client_config(), now, Box::new(Rng(7)));
    let mut srv: Connection = Connection::with_random(Config::default(), now, Box::new(Rng(1)));
    let secret = scram_secret();
    let mut seen = Vec::new();
    let mut dec = BackendDecoder::new();
    for _ in 0..10 {
        let Some(bytes) = cli.poll_transmit() else {
            break;
        };
        let is_client_final = bytes.first() == Some(&b'p')
            && seen.iter().any(|m| {
                matches!(
                    m,
                    BackendMessage::Authentication(Authentication::SaslContinue(_))
                )
            });
        if is_client_final {
            break;
        }
        srv.handle_input(now, &bytes);
        while let Some(e) = srv.poll_event() {
            if let Event::Startup(_) = e {
                srv.authenticate(Auth::Scram(Some(secret.clone()))).unwrap();
            }
        }
        let msgs = drain(&mut srv, &mut dec);
        let mut out = BytesMut::new();
        for m in &msgs {
            m.encode(&mut out).unwrap();
        }
        seen.extend(msgs);
        cli.handle_input(now, &out);
        assert_eq!(client_events(&mut cli), []);
    }
    (cli, srv, seen)
}

/// F05: the client disappears after the server's SCRAM server-first message.
#[test]
fn server_disconnect_mid_authentication() {
    let now = Instant::now();
    let (_, mut srv, seen) = scram_until_client_final(now);
    assert!(matches!(
        seen.last(),
        Some(BackendMessage::Authentication(
            Authentication::SaslContinue(_)
        ))
    ));
    assert!(
        srv.poll_timeout().is_some(),
        "the authentication timer runs"
    );
    srv.handle_eof(now);
    assert_eq!(
        server_events(&mut srv),
        [Event::Terminated(Termination::ClientClosed)]
    );
    // No FATAL is written to a client that is gone, and the timer is disarmed.
    assert_eq!(srv.poll_transmit(), None);
    assert_server_over(&mut srv, now);
}

/// F06: the server disappears after the client sent its SCRAM client-final message.
#[test]
fn client_disconnect_mid_authentication() {
    let now = Instant::now();
    let (mut cli, _, _) = scram_until_client_final(now);
    assert!(!cli.is_ready());
    cli.handle_eof(now);
    assert_eq!(
        client_events(&mut cli),
        [CEvent::Closed(Some(ClientError::Closed))]
    );
    assert_eq!(cli.cancel_token(), None);
    assert_client_over(&mut cli, now);
}

// ===== disconnection in the middle of a pipeline ================================================

/// Application data that counts its live instances.
#[derive(Debug)]
struct Tracked(Arc<AtomicUsize>);

impl Tracked {
    fn new(live: &Arc<AtomicUsize>) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked(live.clone())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// F07: the client disappears while the application is answering the third request of a
/// pipeline; the rest of the pipeline is never read, and the statements and portals the
/// session held are dropped with the connection.
#[test]
fn server_disconnect_mid_pipeline() {
    let now = Instant::now();
    let live = Arc::new(AtomicUsize::new(0));
    let mut conn: Connection<Tracked, Tracked> = logged_in(Config::default(), now);
    let mut w = BytesMut::new();
    for batch in 0..3 {
        let s = format!("s{batch}");
        Parse::write(&mut w, &s, "SELECT $1", &[oid::INT4]).unwrap();
        Bind::write(&mut w, "", &s, &[], [Some(&b"1"[..])], &[]).unwrap();
        Execute::write(&mut w, "", 0).unwrap();
        FrontendMessage::Sync.encode(&mut w).unwrap();
    }
    conn.handle_input(now, &w);
    let mut dec = BackendDecoder::new();
    let mut answered = 0;
    while let Some(e) = conn.poll_event() {
        match e {
            Event::Parse { .. } => {
                let cols = vec![Column::new("x", oid::INT4)];
                conn.parse_complete(vec![oid::INT4], Some(cols), Tracked::new(&live))
                    .unwrap();
            }
            Event::Execute { portal, .. } => {
                conn.portal_mut(portal.as_bytes()).unwrap().data = Some(Tracked::new(&live));
                conn.data_row([Some(&b"1"[..])]).unwrap();
                if answered == 1 {
                    // The second Execute is half answered when the client goes away.
                    conn.handle_eof(now);
                    break;
                }
                conn.command_complete("SELECT 1").unwrap();
                answered += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
        drain(&mut conn, &mut dec);
    }
    assert_eq!(
        server_events(&mut conn),
        [Event::Terminated(Termination::ClientClosed)]
    );
    assert_eq!(conn.data_row([Some(&b"2"[..])]), Err(ApiError::Closed));
    assert_eq!(conn.command_complete("SELECT 1"), Err(ApiError::Closed));
    assert_server_over(&mut conn, now);
    // Two statements and one portal were alive when the client left (the first batch's portal
    // ended at its Sync); dropping the connection drops them all.
    assert_eq!(live.load(Ordering::SeqCst), 3);
    drop(conn);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// F08: the server disappears in the middle of answering a pipeline of three batches.
#[test]
fn client_disconnect_mid_pipeline() {
    let now = Instant::now();
    let mut c = connected_client(client_config(), now);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(c.parse("", "SELECT 1", &[]).unwrap());
        ids.push(c.bind("", "", &[], [], &[]).unwrap());
        ids.push(c.execute("", 0).unwrap());
        ids.push(c.sync().unwrap());
    }
    assert_eq!(c.pending_requests(), 12);
    let mut b = backend(BackendMessage::ParseComplete);
    b.extend(backend(BackendMessage::BindComplete));
    let mut row = BytesMut::new();
    DataRow::write(&mut row, [Some(&b"1"[..])]).unwrap();
    CommandComplete::write(&mut row, "SELECT 1").unwrap();
    b.extend_from_slice(&row);
    b.extend(backend(BackendMessage::ReadyForQuery(
        TransactionStatus::Idle,
    )));
    b.extend(backend(BackendMessage::ParseComplete));
    b.extend_from_slice(&row[..4]);
    c.handle_input(now, &b);
    let ev = client_events(&mut c);
    let answered: Vec<_> = ev
        .iter()
        .map(|e| match e {
            CEvent::Response { request, .. } => *request,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(answered, [ids[0], ids[1], ids[2], ids[2], ids[3], ids[4]]);
    c.handle_eof(now);
    // The requests still pending get no responses: the Closed event ends them all.
    assert_eq!(
        client_events(&mut c),
        [CEvent::Closed(Some(ClientError::Closed))]
    );
    assert_client_over(&mut c, now);
}

/// After `Event::Closed`, the requests that were pending will never be answered; a driver that
/// waits for `pending_requests()` to reach 0 should not wait on a closed connection.
#[test]
fn client_pending_requests_end_when_closed() {
    let now = Instant::now();
    let mut c = connected_client(client_config(), now);
    c.query("SELECT 1").unwrap();
    c.parse("", "SELECT 1", &[]).unwrap();
    c.sync().unwrap();
    c.handle_eof(now);
    assert_eq!(
        client_events(&mut c),
        [CEvent::Closed(Some(ClientError::Closed))]
    );
    assert_eq!(c.pending_requests(), 0);
}

// ===== a client that never reads ================================================================

/// F09: the application keeps producing rows only while `output_full()` is false, and the
/// driver never writes anything: the buffer stops at `max_output` plus one row.
#[test]
fn server_client_never_reads() {
    let now = Instant::now();
    let config = Config::default();
    let max_output = config.max_output;
    let mut conn: Connection = logged_in(config, now);
    let mut q = BytesMut::new();
    Query::write(&mut q, "SELECT * FROM big").unwrap();
    conn.handle_input(now, &q);
    assert!(matches!(conn.poll_event(), Some(Event::Query { .. })));
    conn.row_description(&[Column::new("payload", oid::TEXT)])
        .unwrap();
    let value = vec![b'x'; 1000];
    let mut row = BytesMut::new();
    DataRow::write(&mut row, [Some(&value[..])]).unwrap();
    let row_len = row.len();
    let mut rows = 0u64;
    let mut paused_ticks = 0;
    // The application's loop, with the driver's writes never completing: each tick it writes
    // rows until it is told to pause.
    for _tick in 0..100 {
        if conn.output_full() {
            paused_ticks += 1;
            continue;
        }
        while !conn.output_full() {
            conn.data_row([Some(&value[..])]).unwrap();
            rows += 1;
        }
        assert!(
            conn.output_len() <= max_output + row_len,
            "{} bytes",
            conn.output_len()
        );
    }
    eprintln!(
        "never reads: {rows} rows of {row_len} bytes, {} bytes buffered",
        conn.output_len()
    );
    assert_eq!(
        paused_ticks, 99,
        "the application was told to pause and stayed paused"
    );
    assert!(conn.output_full());
    assert!(conn.output_len() > max_output);
    assert!(conn.output_len() <= max_output + row_len);
    assert_eq!(rows, (max_output as u64) / row_len as u64 + 1);
    // The driver finally writes: the application may go on.
    let mut written = 0;
    while let Some(b) = conn.poll_transmit() {
        written += b.len();
    }
    assert!(written > max_output);
    assert!(!conn.output_full());
    conn.command_complete(&format!("SELECT {rows}")).unwrap();
    conn.query_done(TransactionStatus::Idle).unwrap();
}

// ===== a slow-drip startup ======================================================================

/// F10: the startup packet arrives one byte per (virtual) second; the authentication timeout
/// (60 s from connecting) closes the connection without a word before the packet is complete.
#[test]
fn server_slow_drip_startup() {
    let t0 = Instant::now();
    let config = Config::default();
    assert_eq!(config.authentication_timeout, Duration::from_secs(60));
    let mut conn: Connection = Connection::with_random(config, t0, Box::new(Rng(1)));
    let packet = startup_bytes(&[("user", "alice"), ("application_name", &"x".repeat(100))]);
    assert!(packet.len() > 60);
    let deadline = t0 + Duration::from_secs(60);
    let mut closed_at = None;
    for (second, byte) in packet.iter().enumerate() {
        let now = t0 + Duration::from_secs(second as u64);
        // The driver's loop: fire a due timer, then hand over what the socket delivered.
        if let Some(t) = conn.poll_timeout() {
            assert_eq!(t, deadline, "the deadline does not move as bytes arrive");
            if t <= now {
                conn.handle_timeout(now);
            }
        }
        if conn.is_closed() {
            closed_at.get_or_insert(second);
        }
        conn.handle_input(now, &[*byte]);
    }
    assert_eq!(closed_at, Some(60));
    assert_eq!(
        server_events(&mut conn),
        [Event::Terminated(Termination::Fatal {
            code: SqlState::QUERY_CANCELED,
            message: "canceling authentication due to timeout".into(),
        })]
    );
    // Closed silently: before a startup packet there is no protocol to speak.
    assert_eq!(conn.poll_transmit(), None);
    assert_server_over(&mut conn, t0 + Duration::from_secs(packet.len() as u64));

    // A password that drips in after a complete startup packet gets PostgreSQL's FATAL.
    let mut conn: Connection = Connection::with_random(Config::default(), t0, Box::new(Rng(1)));
    conn.handle_input(t0, &startup_bytes(&[("user", "alice")]));
    assert!(matches!(conn.poll_event(), Some(Event::Startup(_))));
    conn.authenticate(Auth::Cleartext(Some(StoredSecret::Plain(b"x".to_vec()))))
        .unwrap();
    let mut dec = BackendDecoder::new();
    assert_eq!(drain(&mut conn, &mut dec).len(), 1);
    let mut password = BytesMut::new();
    pgproto::message::PasswordMessage::write(&mut password, &[b'y'; 100]).unwrap();
    for (second, byte) in password.iter().enumerate() {
        let now = t0 + Duration::from_secs(1 + second as u64);
        if conn.poll_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now);
        }
        conn.handle_input(now, &[*byte]);
    }
    let msgs = drain(&mut conn, &mut dec);
    match &msgs[..] {
        [BackendMessage::ErrorResponse(e)] => {
            assert_eq!(e.severity(), Some(&b"FATAL"[..]));
            assert_eq!(e.sqlstate(), Some(SqlState::QUERY_CANCELED));
            assert_eq!(
                e.message(),
                Some(&b"canceling authentication due to timeout"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(conn.is_closed());
}

// ===== a flood of pipelined messages ============================================================

/// F11: 10,000 pipelined messages (2,500 batches of Parse, Bind, Execute, Sync) in one read are
/// answered in order and correctly, with memory bounded by the input plus a little.
#[test]
fn server_flood_of_10000_pipelined_messages() {
    let now = Instant::now();
    let mut conn: Connection = logged_in(Config::default(), now);
    let mut w = BytesMut::new();
    for i in 0..2_500u32 {
        // Alternate the unnamed statement with a named one closed again by the next batch.
        Parse::write(&mut w, "", "SELECT $1", &[oid::INT4]).unwrap();
        Bind::write(&mut w, "", "", &[], [Some(i.to_string().as_bytes())], &[]).unwrap();
        Execute::write(&mut w, "", 0).unwrap();
        FrontendMessage::Sync.encode(&mut w).unwrap();
    }
    let input = w.freeze();
    let mut dec = BackendDecoder::new();
    let mut max_buffered = 0;
    let ((answers, counts), growth) = peak_growth(|| {
        conn.handle_input(now, &input);
        let mut answers = Vec::new();
        let mut counts = [0usize; 5];
        while let Some(e) = conn.poll_event() {
            match e {
                Event::Parse { .. } => conn
                    .parse_complete(vec![oid::INT4], Some(vec![Column::new("x", oid::INT4)]), ())
                    .unwrap(),
                Event::Execute { portal, .. } => {
                    let v = conn
                        .portal(portal.as_bytes())
                        .unwrap()
                        .bind
                        .params
                        .iter()
                        .next();
                    let v = v.unwrap().unwrap().to_vec();
                    conn.data_row([Some(&v[..])]).unwrap();
                    conn.command_complete("SELECT 1").unwrap();
                }
                other => panic!("unexpected {other:?}"),
            }
            max_buffered = max_buffered.max(conn.output_len());
            for m in drain(&mut conn, &mut dec) {
                let k = match &m {
                    BackendMessage::ParseComplete => 0,
                    BackendMessage::BindComplete => 1,
                    BackendMessage::DataRow(d) => {
                        let v = d.values().next().unwrap().unwrap();
                        answers.push(String::from_utf8(v.to_vec()).unwrap());
                        2
                    }
                    BackendMessage::CommandComplete(_) => 3,
                    BackendMessage::ReadyForQuery(TransactionStatus::Idle) => 4,
                    other => panic!("unexpected {other:?}"),
                };
                counts[k] += 1;
            }
        }
        (answers, counts)
    });
    assert_eq!(counts, [2_500; 5]);
    let expected: Vec<String> = (0..2_500).map(|i: u32| i.to_string()).collect();
    assert_eq!(
        answers, expected,
        "every Execute answered with its own parameter, in order"
    );
    assert!(
        max_buffered < 256,
        "output between drains: {max_buffered} bytes"
    );
    // The input was handed over at once and is held until read; beyond it, little.
    assert!(
        growth < input.len() + 256 * 1024,
        "peak heap growth {growth} bytes for {} bytes of input",
        input.len()
    );
    eprintln!(
        "flood: {} input bytes, peak heap growth {growth} bytes",
        input.len()
    );
}

// ===== a peer that announces an unbounded message ===============================================

/// F12: a server announces a 1 GiB DataRow. With libpq's limit the length word alone ends the
/// connection (nothing is reserved for the body); with the limit raised the client buffers
/// only the bytes that actually arrive.
#[test]
fn client_unbounded_row() {
    let now = Instant::now();
    let mut desc = BytesMut::new();
    RowDescription::write(
        &mut desc,
        [pgproto::types::column("big", oid::TEXT, Format::Text)],
    )
    .unwrap();
    let mut header = vec![b'D'];
    header.extend_from_slice(&(1u32 << 30).to_be_bytes());

    let mut c = connected_client(client_config(), now);
    c.query("SELECT big").unwrap();
    c.handle_input(now, &desc);
    assert_eq!(client_events(&mut c).len(), 1);
    let (_, growth) = peak_growth(|| c.handle_input(now, &header));
    assert_eq!(
        client_events(&mut c),
        [CEvent::Closed(Some(ClientError::Decode(
            pgproto::message::DecodeError::LengthTooLarge {
                frame: pgproto::message::Frame::Typed(b'D'),
                length: 1 << 30,
                limit: 0x3FFF_FFFF,
            }
        )))]
    );
    assert!(growth < 64 * 1024, "{growth} bytes for a refused header");

    let mut config = client_config();
    config.limits = BackendLimits {
        large: 0x7FFF_FFFF,
        ..BackendLimits::default()
    };
    let mut c = connected_client(config, now);
    c.query("SELECT big").unwrap();
    c.handle_input(now, &desc);
    assert_eq!(client_events(&mut c).len(), 1);
    let chunk = vec![0u8; 64 * 1024];
    let mut fed = header.len();
    let (_, growth) = peak_growth(|| {
        c.handle_input(now, &header);
        for _ in 0..16 {
            c.handle_input(now, &chunk);
            fed += chunk.len();
        }
    });
    assert_eq!(client_events(&mut c), [], "a partial row is not an event");
    assert!(!c.is_closed());
    assert!(
        growth <= fed + 64 * 1024,
        "peak heap growth {growth} bytes for {fed} bytes fed"
    );
    eprintln!("unbounded row: {fed} bytes fed, peak heap growth {growth} bytes");
    c.handle_eof(now);
    assert_eq!(
        client_events(&mut c),
        [CEvent::Closed(Some(ClientError::Closed))]
    );
}

/// F13: a client announces a Query of almost 1 GiB (just under the large-message limit) and
/// sends 1 MiB of it: the server buffers what arrived and nothing more, and an EOF ends it.
#[test]
fn server_unbounded_message() {
    let now = Instant::now();
    let mut conn: Connection = logged_in(Config::default(), now);
    let mut header = vec![b'Q'];
    header.extend_from_slice(&0x3FFF_FFFEu32.to_be_bytes());
    let chunk = vec![b'x'; 64 * 1024];
    let mut fed = header.len();
    let (_, growth) = peak_growth(|| {
        conn.handle_input(now, &header);
        for _ in 0..16 {
            conn.handle_input(now, &chunk);
            fed += chunk.len();
        }
    });
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.poll_transmit(), None);
    assert!(
        growth <= fed + 64 * 1024,
        "peak heap growth {growth} bytes for {fed} bytes fed"
    );
    eprintln!("unbounded message: {fed} bytes fed, peak heap growth {growth} bytes");
    conn.handle_eof(now);
    assert_eq!(
        server_events(&mut conn),
        [Event::Terminated(Termination::ClientClosed)]
    );
}
