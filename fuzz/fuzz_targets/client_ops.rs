//! Fuzzes `client::Connection` with a structured sequence of API calls in any order,
//! interleaved with server messages (well-formed ones and raw bytes).
//!
//! Properties checked, beyond "no panic":
//! - everything the client transmits decodes as frontend messages (startup packets first, a
//!   `p` message in the phase of the authentication request it answers), whatever calls were
//!   refused on the way;
//! - on a closed connection every call is refused with `ClientError::Closed` and transmits
//!   nothing; a refused request gets no RequestId and no response;
//! - at most one `Event::Closed`, no event after it;
//! - RequestIds are handed out consecutively; responses never go backwards and only name
//!   requests that were made.

#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pgproto::auth::{ChannelBindingPolicy, FixedRandom};
use pgproto::client::{ClientError, Config, Connection, Event, RequestId, SslMode};

use common::{FrontendStream, ServerShadow};

#[derive(Arbitrary, Debug)]
enum ServerMsg {
    SslYes,
    SslNo,
    AuthOk,
    AuthCleartext,
    AuthMd5([u8; 4]),
    AuthSasl(bool),
    SaslContinue(Vec<u8>),
    SaslFinal(Vec<u8>),
    AuthGss,
    Negotiate(u8),
    ParameterStatus(u8),
    KeyData(u8),
    Login,
    Ready(u8),
    ParseComplete,
    BindComplete,
    CloseComplete,
    NoData,
    ParameterDescription(u8),
    RowDescription(u8),
    DataRow(Vec<Option<Vec<u8>>>),
    CommandComplete(u8),
    EmptyQuery,
    PortalSuspended,
    Error { fatal: bool },
    Notice,
    Notification,
    CopyIn(u8),
    CopyOut(u8),
    CopyBoth(u8),
    CopyData(Vec<u8>),
    CopyDone,
    FunctionResult(Option<Vec<u8>>),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Input(Vec<u8>),
    Msg(ServerMsg),
    Msgs(Vec<ServerMsg>),
    Eof,
    Timeout,
    TlsEstablished(bool),
    Query(u8),
    Parse { name: u8, nparams: u8 },
    Bind { portal: u8, stmt: u8, nparams: u8, formats: u8 },
    DescribeStatement(u8),
    DescribePortal(u8),
    Execute { portal: u8, max_rows: i8 },
    CloseStatement(u8),
    ClosePortal(u8),
    Sync,
    Flush,
    FunctionCall(u8),
    CopyData(Vec<u8>),
    CopyDone,
    CopyFail,
    Terminate,
    PollEvent,
    PollTransmit,
}

#[derive(Arbitrary, Debug)]
struct Input {
    ssl: u8,
    password: bool,
    channel_binding: u8,
    max_protocol_32: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| run(input));

struct State {
    out: FrontendStream,
    shadow: ServerShadow,
    closed: bool,
    closed_drained: bool,
    next_id: u64,
    last_response: Option<RequestId>,
    now: Instant,
}

fn name(n: u8) -> String {
    if n % 4 == 0 { String::new() } else { format!("n{}", n % 8) }
}

fn server_bytes(m: &ServerMsg, w: &mut Vec<u8>) {
    use common as c;
    match m {
        ServerMsg::SslYes => w.push(b'S'),
        ServerMsg::SslNo => w.push(b'N'),
        ServerMsg::AuthOk => c::auth(w, 0, &[]),
        ServerMsg::AuthCleartext => c::auth(w, 3, &[]),
        ServerMsg::AuthMd5(salt) => c::auth(w, 5, salt),
        ServerMsg::AuthSasl(plus) => c::sasl_mechanisms(w, *plus),
        ServerMsg::SaslContinue(d) => c::auth(w, 11, d),
        ServerMsg::SaslFinal(d) => c::auth(w, 12, d),
        ServerMsg::AuthGss => c::auth(w, 7, &[]),
        ServerMsg::Negotiate(n) => {
            let mut b = u32::from(3u32 << 16 | u32::from(n % 3)).to_be_bytes().to_vec();
            let opts = n / 3 % 2;
            b.extend_from_slice(&u32::from(opts).to_be_bytes());
            if opts == 1 {
                c::cstr(&mut b, b"_pq_.x");
            }
            c::typed(w, b'v', &b);
        }
        ServerMsg::ParameterStatus(n) => c::param_status(w, format!("p{}", n % 4).as_bytes(), b"v"),
        ServerMsg::KeyData(n) => c::key_data(w, 1, &vec![7; usize::from(*n % 40)]),
        ServerMsg::Login => c::server_login(w),
        ServerMsg::Ready(s) => c::ready(w, [b'I', b'T', b'E'][usize::from(*s % 3)]),
        ServerMsg::ParseComplete => c::typed(w, b'1', &[]),
        ServerMsg::BindComplete => c::typed(w, b'2', &[]),
        ServerMsg::CloseComplete => c::typed(w, b'3', &[]),
        ServerMsg::NoData => c::typed(w, b'n', &[]),
        ServerMsg::ParameterDescription(n) => c::parameter_description(w, &vec![23; usize::from(n % 5)]),
        ServerMsg::RowDescription(n) => c::row_description(w, u16::from(n % 5)),
        ServerMsg::DataRow(v) => {
            let vals: Vec<Option<&[u8]>> = v.iter().take(8).map(|x| x.as_deref()).collect();
            c::data_row(w, &vals)
        }
        ServerMsg::CommandComplete(n) => c::command_complete(w, format!("SELECT {n}").as_bytes()),
        ServerMsg::EmptyQuery => c::typed(w, b'I', &[]),
        ServerMsg::PortalSuspended => c::typed(w, b's', &[]),
        ServerMsg::Error { fatal } => {
            let sev: &[u8] = if *fatal { b"FATAL" } else { b"ERROR" };
            c::error_response(w, b'E', sev, b"42601", b"boom")
        }
        ServerMsg::Notice => c::error_response(w, b'N', b"NOTICE", b"00000", b"hi"),
        ServerMsg::Notification => c::notification(w, 5, b"ch", b"x"),
        ServerMsg::CopyIn(n) => c::copy_response(w, b'G', n % 2, u16::from(n % 3)),
        ServerMsg::CopyOut(n) => c::copy_response(w, b'H', n % 2, u16::from(n % 3)),
        ServerMsg::CopyBoth(n) => c::copy_response(w, b'W', n % 2, u16::from(n % 3)),
        ServerMsg::CopyData(d) => c::typed(w, b'd', d),
        ServerMsg::CopyDone => c::typed(w, b'c', &[]),
        ServerMsg::FunctionResult(v) => c::function_result(w, v.as_deref()),
    }
}

fn run(input: Input) {
    let mut config = Config::new(common::USER);
    if input.password {
        config.password = Some(common::PASSWORD.to_vec());
    }
    config.ssl_mode = [SslMode::Disable, SslMode::Prefer, SslMode::Require, SslMode::Allow][usize::from(input.ssl % 4)];
    config.channel_binding =
        [ChannelBindingPolicy::Prefer, ChannelBindingPolicy::Disable, ChannelBindingPolicy::Require]
            [usize::from(input.channel_binding % 3)];
    if input.max_protocol_32 {
        config.max_protocol = pgproto::message::ProtocolVersion::V3_2;
        config.params.push(("_pq_.x".into(), "1".into()));
    }
    config.scram.min_iterations = 1;
    config.scram.max_iterations = 64;
    config.flush_threshold = 256;
    let ssl = config.ssl_mode != SslMode::Disable;
    let now = Instant::now();
    let conn = Connection::with_random(config, now, Box::new(FixedRandom::new(vec![9; 1024])));
    let mut st = State {
        out: FrontendStream::new(),
        shadow: ServerShadow::new(ssl),
        closed: false,
        closed_drained: false,
        next_id: 0,
        last_response: None,
        now,
    };
    let mut conn = conn;
    for op in input.ops.iter().take(256) {
        step(&mut conn, &mut st, op);
    }
    while let Some(e) = conn.poll_event() {
        on_event(&conn, &mut st, e);
    }
    transmit(&mut conn, &mut st);
    if conn.is_closed() {
        // Whatever was transmitted is whole messages.
        st.out.finish();
    }
}

fn on_event(conn: &Connection, st: &mut State, e: Event) {
    assert!(!st.closed, "{e:?} after Event::Closed");
    match e {
        Event::Closed(err) => {
            if let Some(err) = err {
                let _ = (err.sqlstate(), err.to_string());
            }
            assert!(conn.is_closed());
            st.closed = true;
        }
        Event::Response { request, response } => {
            let _ = format!("{response:?}");
            assert!(request.0 < st.next_id, "a response to {request:?}, which was never made");
            if let Some(last) = st.last_response {
                assert!(request >= last, "response to {request:?} after one to {last:?}");
            }
            st.last_response = Some(request);
        }
        _ => {}
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

fn feed(conn: &mut Connection, st: &mut State, bytes: &[u8]) {
    st.shadow.push(bytes, &mut st.out);
    conn.handle_input(st.now, bytes);
}

/// A request: on a closed connection it must be refused with Closed; a refused request gets
/// no id, an accepted one the next id.
fn request(conn: &mut Connection, st: &mut State, what: &str, f: impl FnOnce(&mut Connection) -> Result<RequestId, ClientError>) {
    let closed = conn.is_closed();
    match f(conn) {
        Ok(id) => {
            assert!(!closed, "{what} accepted on a closed connection");
            assert_eq!(id.0, st.next_id, "{what}: request ids are consecutive");
            st.next_id += 1;
        }
        Err(e) => {
            let _ = (e.to_string(), e.sqlstate());
            if closed {
                assert_eq!(e, ClientError::Closed, "{what} on a closed connection");
            } else {
                assert!(matches!(e, ClientError::Api(_)), "{what} refused with {e:?}");
            }
        }
    }
}

fn unit(conn: &mut Connection, what: &str, f: impl FnOnce(&mut Connection) -> Result<(), ClientError>) {
    let closed = conn.is_closed();
    match f(conn) {
        Ok(()) => assert!(!closed, "{what} accepted on a closed connection"),
        Err(e) => {
            if closed {
                assert_eq!(e, ClientError::Closed, "{what} on a closed connection");
            } else {
                assert!(matches!(e, ClientError::Api(_)), "{what} refused with {e:?}");
            }
        }
    }
}

fn step(conn: &mut Connection, st: &mut State, op: &Op) {
    match op {
        Op::Input(b) => feed(conn, st, b),
        Op::Msg(m) => {
            let mut w = Vec::new();
            server_bytes(m, &mut w);
            feed(conn, st, &w);
        }
        Op::Msgs(ms) => {
            let mut w = Vec::new();
            for m in ms.iter().take(64) {
                server_bytes(m, &mut w);
            }
            feed(conn, st, &w);
        }
        Op::Eof => conn.handle_eof(st.now),
        Op::Timeout => conn.handle_timeout(st.now),
        Op::TlsEstablished(cert) => {
            let cert: Option<&[u8]> = if *cert { Some(&[0x30, 0x00]) } else { None };
            let closed = conn.is_closed();
            if let Err(e) = conn.handle_tls_established(cert) {
                assert!(matches!(e, ClientError::Api(_) | ClientError::Closed), "{e:?}");
            } else {
                assert!(!closed, "handle_tls_established accepted on a closed connection");
            }
        }
        Op::Query(n) => {
            let sql = ["SELECT 1", "", "COPY t FROM STDIN", "BEGIN; SELECT 1"][usize::from(n % 4)];
            request(conn, st, "query", |c| c.query(sql))
        }
        Op::Parse { name: n, nparams } => {
            let types: Vec<u32> = (0..nparams % 4).map(|_| 23).collect();
            request(conn, st, "parse", |c| c.parse(&name(*n), "SELECT $1", &types))
        }
        Op::Bind { portal, stmt, nparams, formats } => {
            let params: Vec<Option<&[u8]>> = (0..nparams % 4).map(|i| (i != 1).then_some(&b"7"[..])).collect();
            let pf: Vec<i16> = (0..formats % 3).map(|i| i as i16 % 2).collect();
            let rf: Vec<i16> = (0..formats / 3 % 3).map(|i| i as i16 % 2).collect();
            request(conn, st, "bind", |c| c.bind(&name(*portal), &name(*stmt), &pf, params, &rf))
        }
        Op::DescribeStatement(n) => request(conn, st, "describe_statement", |c| c.describe_statement(&name(*n))),
        Op::DescribePortal(n) => request(conn, st, "describe_portal", |c| c.describe_portal(&name(*n))),
        Op::Execute { portal, max_rows } => {
            request(conn, st, "execute", |c| c.execute(&name(*portal), i32::from(*max_rows)))
        }
        Op::CloseStatement(n) => request(conn, st, "close_statement", |c| c.close_statement(&name(*n))),
        Op::ClosePortal(n) => request(conn, st, "close_portal", |c| c.close_portal(&name(*n))),
        Op::Sync => request(conn, st, "sync", |c| c.sync()),
        Op::Flush => unit(conn, "flush", |c| c.flush()),
        Op::FunctionCall(f) => {
            request(conn, st, "function_call", |c| c.function_call(u32::from(*f), &[], [Some(&b"a"[..])], 0))
        }
        Op::CopyData(d) => unit(conn, "copy_data", |c| c.copy_data(d)),
        Op::CopyDone => unit(conn, "copy_done", |c| c.copy_done()),
        Op::CopyFail => unit(conn, "copy_fail", |c| c.copy_fail("no")),
        Op::Terminate => {
            conn.terminate();
            assert!(conn.is_closed());
        }
        Op::PollEvent => {
            if let Some(e) = conn.poll_event() {
                on_event(conn, st, e);
            }
        }
        Op::PollTransmit => transmit(conn, st),
    }
    let _ = (
        conn.is_ready(),
        conn.transaction_status(),
        conn.pending_requests(),
        conn.protocol_version(),
        conn.cancel_token(),
        conn.channel_binding_used(),
        conn.poll_timeout(),
    );
}
