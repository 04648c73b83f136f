//! Fuzzes `server::Connection` with a structured sequence of API calls in any order,
//! interleaved with client messages (well-formed ones and raw bytes).
//!
//! Properties checked, beyond "no panic":
//! - a call the connection refuses returns an `ApiError` and leaves the output as it was
//!   (`output_len` before and after), and on a closed connection every call is refused with
//!   `ApiError::Closed`;
//! - everything `poll_transmit` returns, concatenated, decodes as backend messages;
//! - at most one `Terminated` event, no event after it, and the connection stays closed;
//!   once closed and drained, nothing more is transmitted.

#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pgproto::SqlState;
use pgproto::auth::{FixedRandom, StoredSecret, md5_response};
use pgproto::message::{Format, TransactionStatus};
use pgproto::server::{ApiError, Auth, Column, Config, Connection, Event, PgError};
use pgproto::types::oid;

use common::BackendStream;

#[derive(Arbitrary, Debug)]
enum ClientMsg {
    Startup { minor: u8, known_user: bool, options: u8 },
    SslRequest,
    GssEncRequest,
    CancelRequest,
    DirectTls,
    Password { correct: bool },
    SaslInitial(Vec<u8>),
    Query(u8),
    Parse { name: u8, sel: u8, nparams: u8 },
    Bind { portal: u8, stmt: u8, nparams: u8, nresults: u8 },
    DescribeStatement(u8),
    DescribePortal(u8),
    Execute { portal: u8, max_rows: i8 },
    CloseStatement(u8),
    ClosePortal(u8),
    Sync,
    Flush,
    CopyData(Vec<u8>),
    CopyDone,
    CopyFail,
    FunctionCall(u8),
    Terminate,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Input(Vec<u8>),
    Msg(ClientMsg),
    Msgs(Vec<ClientMsg>),
    Eof,
    Timeout(u16),
    AcceptTls,
    DeclineTls,
    TlsEstablished(bool),
    Authenticate(u8),
    Reject,
    RowDescription(u8),
    DataRow(Vec<Option<Vec<u8>>>),
    WriteRow(u8),
    CommandComplete,
    EmptyQuery,
    PortalSuspended,
    Error(bool),
    QueryDone(u8),
    ParseComplete { nparams: u8, ncols: Option<u8> },
    FunctionResult(Option<Vec<u8>>),
    StartCopyIn(bool),
    StartCopyOut(bool),
    StartCopyBoth(bool),
    CopyData(Vec<u8>),
    CopyDone,
    Notice,
    Notify(u8),
    SetParameter(u8),
    SetTransactionStatus(u8),
    Terminate,
    SetIdleTimeout(Option<u16>),
    SetIdleInTransactionTimeout(Option<u16>),
    PollEvent,
    PollTransmit,
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_output: u8,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| run(input));

struct State {
    out: BackendStream,
    terminated: bool,
    closed_drained: bool,
    now: Instant,
}

fn status(n: u8) -> TransactionStatus {
    match n % 3 {
        0 => TransactionStatus::Idle,
        1 => TransactionStatus::InTransaction,
        _ => TransactionStatus::Failed,
    }
}

fn name(n: u8) -> Vec<u8> {
    if n % 4 == 0 { Vec::new() } else { format!("s{}", n % 8).into_bytes() }
}

fn run(input: Input) {
    let start = Instant::now();
    let mut config = Config::default();
    config.authentication_timeout = Duration::from_secs(2);
    config.max_output = 64 << (input.max_output % 12);
    config.flush_threshold = 64 << ((input.max_output / 12) % 12);
    config.mock_secret = Some([1; 32]);
    let rng = Box::new(FixedRandom::new(vec![0x3C; 4096]));
    let mut conn: Connection = Connection::with_random(config, start, rng);
    let mut st = State { out: BackendStream::new(), terminated: false, closed_drained: false, now: start };
    for op in input.ops.iter().take(256) {
        step(&mut conn, &mut st, op);
        if st.terminated {
            assert!(conn.is_closed(), "open after Terminated");
        }
    }
    // Drain at the end.
    while let Some(e) = conn.poll_event() {
        on_event(&conn, &mut st, e);
    }
    transmit(&mut conn, &mut st);
}

fn on_event(conn: &Connection, st: &mut State, e: Event) {
    assert!(!st.terminated, "{e:?} after Terminated");
    if let Event::Terminated(_) = e {
        assert!(conn.is_closed());
        st.terminated = true;
    }
}

fn transmit(conn: &mut Connection, st: &mut State) {
    while let Some(b) = conn.poll_transmit() {
        assert!(!st.closed_drained, "transmitted {} bytes after closing and draining", b.len());
        st.out.push(&b);
    }
    if conn.is_closed() {
        st.closed_drained = true;
    }
}

fn client_bytes(msg: &ClientMsg, st: &State, w: &mut Vec<u8>) {
    use common as c;
    match msg {
        ClientMsg::Startup { minor, known_user, options } => {
            let user: &[u8] = if *known_user { c::USER.as_bytes() } else { b"mallory" };
            let mut params: Vec<(&[u8], &[u8])> = vec![(b"user", user)];
            match options % 6 {
                1 => params.push((b"database", b"db")),
                2 => params.push((b"options", b"-c search_path=x --work-mem=4MB")),
                3 => params.push((b"options", b"bogus")),
                4 => params.push((b"replication", b"database")),
                5 => params.push((b"_pq_.unknown", b"1")),
                _ => params.push((b"application_name", b"app")),
            }
            c::startup(w, u16::from(minor % 4), &params);
        }
        ClientMsg::SslRequest => c::ssl_request(w),
        ClientMsg::GssEncRequest => c::gssenc_request(w),
        ClientMsg::CancelRequest => {
            let mut b = 80877102u32.to_be_bytes().to_vec();
            b.extend_from_slice(&7i32.to_be_bytes());
            b.extend_from_slice(&[1, 2, 3, 4]);
            c::untyped(w, &b);
        }
        ClientMsg::DirectTls => w.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
        ClientMsg::Password { correct } => {
            let pw: Vec<u8> = match (correct, st.out.md5_salt) {
                (false, _) => b"wrong".to_vec(),
                (true, Some(salt)) => md5_response(c::USER.as_bytes(), c::PASSWORD, salt).into_bytes(),
                (true, None) => c::PASSWORD.to_vec(),
            };
            c::password(w, &pw);
        }
        ClientMsg::SaslInitial(data) => {
            let mut b = Vec::new();
            c::cstr(&mut b, b"SCRAM-SHA-256");
            b.extend_from_slice(&(data.len() as i32).to_be_bytes());
            b.extend_from_slice(data);
            c::typed(w, b'p', &b);
        }
        ClientMsg::Query(sel) => c::query(w, &[b'a' + sel % 26, b' ', *sel]),
        ClientMsg::Parse { name: n, sel, nparams } => {
            let types: Vec<u32> = (0..nparams % 5).map(|i| if i % 2 == 0 { 0 } else { oid::INT4 }).collect();
            c::parse(w, &name(*n), &[*sel, b'x'], &types);
        }
        ClientMsg::Bind { portal, stmt, nparams, nresults } => {
            let params: Vec<Option<&[u8]>> = (0..nparams % 5).map(|i| (i % 2 == 0).then_some(&b"1"[..])).collect();
            let results: Vec<i16> = (0..nresults % 4).map(|i| (i % 2) as i16).collect();
            c::bind(w, &name(*portal), &name(*stmt), &params, &results);
        }
        ClientMsg::DescribeStatement(n) => c::describe(w, b'S', &name(*n)),
        ClientMsg::DescribePortal(n) => c::describe(w, b'P', &name(*n)),
        ClientMsg::Execute { portal, max_rows } => c::execute(w, &name(*portal), i32::from(*max_rows)),
        ClientMsg::CloseStatement(n) => c::close(w, b'S', &name(*n)),
        ClientMsg::ClosePortal(n) => c::close(w, b'P', &name(*n)),
        ClientMsg::Sync => c::typed(w, b'S', &[]),
        ClientMsg::Flush => c::typed(w, b'H', &[]),
        ClientMsg::CopyData(d) => c::typed(w, b'd', d),
        ClientMsg::CopyDone => c::typed(w, b'c', &[]),
        ClientMsg::CopyFail => c::typed(w, b'f', b"stop\0"),
        ClientMsg::FunctionCall(f) => c::function_call(w, u32::from(*f), &[Some(b"1"), None]),
        ClientMsg::Terminate => c::typed(w, b'X', &[]),
    }
}

/// Runs a call that returns `Result<_, ApiError>` and checks what a refusal must leave as is.
fn call<T>(conn: &mut Connection, what: &str, f: impl FnOnce(&mut Connection) -> Result<T, ApiError>) {
    let closed = conn.is_closed();
    let before = conn.output_len();
    let r = f(conn);
    match r {
        Ok(_) => assert!(!closed, "{what} accepted on a closed connection"),
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(conn.output_len(), before, "{what} refused ({e:?}) but the output changed");
            if closed {
                assert_eq!(e, ApiError::Closed, "{what} on a closed connection");
            }
        }
    }
    if closed {
        assert!(conn.is_closed(), "{what} reopened the connection");
    }
}

fn step(conn: &mut Connection, st: &mut State, op: &Op) {
    match op {
        Op::Input(b) => conn.handle_input(st.now, b),
        Op::Msg(m) => {
            let mut w = Vec::new();
            client_bytes(m, st, &mut w);
            conn.handle_input(st.now, &w);
        }
        Op::Msgs(ms) => {
            let mut w = Vec::new();
            for m in ms.iter().take(64) {
                client_bytes(m, st, &mut w);
            }
            conn.handle_input(st.now, &w);
        }
        Op::Eof => conn.handle_eof(st.now),
        Op::Timeout(ms) => {
            st.now += Duration::from_millis(u64::from(*ms));
            conn.handle_timeout(st.now);
        }
        Op::AcceptTls => call(conn, "accept_tls", |c| c.accept_tls()),
        Op::DeclineTls => call(conn, "decline_tls", |c| c.decline_tls()),
        Op::TlsEstablished(cert) => {
            let cert: Option<&[u8]> = if *cert { Some(&[0x30, 0x00]) } else { None };
            call(conn, "handle_tls_established", |c| c.handle_tls_established(cert))
        }
        Op::Authenticate(kind) => {
            let auth = match kind % 8 {
                0 => Auth::Trust,
                1 => Auth::Cleartext(Some(StoredSecret::Plain(common::PASSWORD.to_vec()))),
                2 => Auth::Md5(Some(StoredSecret::md5(common::USER.as_bytes(), common::PASSWORD))),
                3 => Auth::Scram(Some(common::scram_secret())),
                4 => Auth::Md5(Some(common::scram_secret())),
                5 => Auth::Cleartext(Some(common::scram_secret())),
                6 => Auth::Md5(None),
                _ => Auth::Scram(None),
            };
            call(conn, "authenticate", |c| c.authenticate(auth))
        }
        Op::Reject => call(conn, "reject", |c| c.reject(PgError::new(SqlState::INVALID_PASSWORD, "no"))),
        Op::RowDescription(n) => {
            let cols: Vec<Column> = (0..n % 8).map(|i| Column::new(format!("c{i}"), oid::TEXT)).collect();
            call(conn, "row_description", |c| c.row_description(&cols))
        }
        Op::DataRow(values) => {
            let vals: Vec<Option<&[u8]>> = values.iter().take(16).map(|v| v.as_deref()).collect();
            call(conn, "data_row", |c| c.data_row(vals))
        }
        Op::WriteRow(n) => call(conn, "write_row", |c| {
            c.write_row(|row| {
                for i in 0..n % 8 {
                    if i == 5 {
                        row.null()?;
                    } else {
                        row.int(i64::from(i))?;
                    }
                }
                Ok(())
            })
        }),
        Op::CommandComplete => call(conn, "command_complete", |c| c.command_complete("SELECT 1")),
        Op::EmptyQuery => call(conn, "empty_query", |c| c.empty_query()),
        Op::PortalSuspended => call(conn, "portal_suspended", |c| c.portal_suspended()),
        Op::Error(fatal) => {
            let e = if *fatal {
                PgError::fatal(SqlState::ADMIN_SHUTDOWN, "shutdown")
            } else {
                PgError::new(SqlState::SYNTAX_ERROR, "syntax error").position(3)
            };
            call(conn, "error", |c| c.error(e))
        }
        Op::QueryDone(s) => call(conn, "query_done", |c| c.query_done(status(*s))),
        Op::ParseComplete { nparams, ncols } => {
            let params: Vec<u32> = (0..nparams % 5).map(|_| oid::INT4).collect();
            let cols = ncols.map(|n| (0..n % 8).map(|i| Column::new(format!("c{i}"), oid::INT4)).collect());
            call(conn, "parse_complete", |c| c.parse_complete(params, cols, ()))
        }
        Op::FunctionResult(v) => call(conn, "function_result", |c| c.function_result(v.as_deref())),
        Op::StartCopyIn(b) => call(conn, "start_copy_in", |c| c.start_copy_in(if *b { Format::Binary } else { Format::Text }, &[0])),
        Op::StartCopyOut(b) => call(conn, "start_copy_out", |c| c.start_copy_out(if *b { Format::Binary } else { Format::Text }, &[])),
        Op::StartCopyBoth(b) => call(conn, "start_copy_both", |c| c.start_copy_both(if *b { Format::Binary } else { Format::Text }, &[1, 1])),
        Op::CopyData(d) => call(conn, "copy_data", |c| c.copy_data(d)),
        Op::CopyDone => call(conn, "copy_done", |c| c.copy_done()),
        Op::Notice => call(conn, "notice", |c| c.notice(&PgError::notice("hello").hint("h"))),
        Op::Notify(n) => call(conn, "notify", |c| c.notify(i32::from(*n), "ch", "payload")),
        Op::SetParameter(n) => {
            let name = ["TimeZone", "application_name", "new_param", "DateStyle"][*n as usize % 4];
            call(conn, "set_parameter", |c| c.set_parameter(name, "v"))
        }
        Op::SetTransactionStatus(s) => conn.set_transaction_status(status(*s)),
        Op::Terminate => {
            let before_closed = conn.is_closed();
            let len = conn.output_len();
            conn.terminate(PgError::new(SqlState::ADMIN_SHUTDOWN, "bye"));
            assert!(conn.is_closed());
            if before_closed {
                assert_eq!(conn.output_len(), len, "terminate wrote to a closed connection");
            }
        }
        Op::SetIdleTimeout(t) => conn.set_idle_timeout(t.map(|ms| Duration::from_millis(u64::from(ms)))),
        Op::SetIdleInTransactionTimeout(t) => {
            conn.set_idle_in_transaction_timeout(t.map(|ms| Duration::from_millis(u64::from(ms))))
        }
        Op::PollEvent => {
            if let Some(e) = conn.poll_event() {
                on_event(conn, st, e);
            }
        }
        Op::PollTransmit => transmit(conn, st),
    }
    let _ = (conn.poll_timeout(), conn.transaction_status(), conn.user(), conn.cancel_key(), conn.output_full());
}
