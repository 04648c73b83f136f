//! The robustness catalogue (docs/robustness.md): hostile input for both sides of the protocol,
//! one row per input, each with its exact outcome and the state it leaves; every row is a test
//! of its own (`cargo test --test robustness R17`).
//!
//! Server rows drive `pgproto::server::Connection` through the transcript harness
//! (`support/transcript.rs`): a small fake database answers the events, and every scenario is
//! run with the client's bytes whole, split in two at every byte boundary and one byte at a
//! time; all runs must agree. A row's reply is every backend message its hostile input caused
//! (ParameterStatus omitted), ErrorResponses with their severity, SQLSTATE and message; its
//! events are what the application saw; its state is checked by what a follow-up does (a
//! Query answered, a Parse/Bind/Execute ignored until Sync, nothing at all once closed, ...).
//!
//! Client rows feed hand-built server bytes to `pgproto::client::Connection` (whole, split at
//! every byte boundary, byte by byte) and expect `Event::Closed(Some(error))` with the exact
//! `ClientError`, after which the connection ignores input and refuses every call with
//! `ClientError::Closed`.
//!
//! Rows with a `bug` note assert PostgreSQL's (or libpq's) behaviour where the state machine
//! differs; their tests are `#[ignore]`d. `catalogue_matches_the_doc` checks that the tables of
//! docs/robustness.md are exactly what this file says (`ROBUSTNESS_BLESS=1` rewrites them).

#[path = "support/transcript.rs"]
#[allow(dead_code)]
mod transcript;

#[path = "support/robustness_client.rs"]
#[allow(dead_code)]
mod robustness_client;

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::auth::{AuthError, ScramSecret, StoredSecret, md5_response};
use pgproto::client::{self, ClientError, Event as CEvent, SslMode};
use pgproto::message::{
    Authentication, BackendLimits, BackendMessage, CopyResponseKind, DecodeError, Direction, Frame,
    FrontendLimits, ProtocolVersion, TransactionStatus,
};
use pgproto::server::{Auth, Event, PgError};
use pgproto::types::oid;
use robustness_client as rc;
use transcript::{Run, TlsAnswer, Wire, check, fake_cert, fmt_msg};

// ===== the row types ============================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Startup,
    Auth,
    Simple,
    Extended,
    Copy,
    FunctionCall,
    Cancel,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Startup => "startup",
            Phase::Auth => "auth",
            Phase::Simple => "simple",
            Phase::Extended => "extended",
            Phase::Copy => "copy",
            Phase::FunctionCall => "function call",
            Phase::Cancel => "cancel",
        }
    }
}

/// What a follow-up shows about the server after the hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A Query is answered.
    Continues,
    /// Parse/Bind/Execute are ignored and Sync gets ReadyForQuery; then a Query is answered.
    Discarding,
    /// Nothing happens any more.
    Closed,
    /// A StartupMessage logs in.
    AwaitingStartup,
    /// CopyDone completes the COPY FROM STDIN.
    CopyIn,
    /// The driver's TLS engine owns the stream; after the handshake a StartupMessage logs in.
    TlsHandshake,
}

impl State {
    fn text(self) -> &'static str {
        match self {
            State::Continues => "session continues (a following Query is answered)",
            State::Discarding => {
                "discarding until Sync (a following Parse/Bind/Execute is ignored, Sync gets \
                 ReadyForQuery)"
            }
            State::Closed => "closed (later input is ignored)",
            State::AwaitingStartup => "startup continues (a StartupMessage logs in)",
            State::CopyIn => "COPY FROM STDIN continues (CopyDone completes it)",
            State::TlsHandshake => {
                "TLS handshake (the bytes belong to the TLS engine; after it a StartupMessage \
                 logs in)"
            }
        }
    }
}

type Step = fn(&mut Run<'_>);

/// How the hostile input reaches the server.
enum Hostile {
    /// Steps of the transcript harness (client segments, clock, EOF), split every way.
    Steps(Step),
    /// One read holding all the bytes, answered by the fake database (`tls` for SSLRequest):
    /// for properties of bytes that arrive together, which splitting would change.
    OneRead {
        tls: TlsAnswer,
        bytes: fn(&mut Wire),
    },
}

struct Srv {
    setup: Step,
    hostile: Hostile,
    /// The backend messages the hostile input caused (ParameterStatus omitted).
    replies: &'static [&'static str],
    /// What the application saw (events, and `!` notes for anything it was refused).
    events: &'static [&'static str],
    state: State,
}

struct Cli {
    /// Whether the input must arrive in one read (a property of bytes that arrive together,
    /// which cutting them would change); otherwise it is also cut every way.
    one_read: bool,
    /// A client in the state the hostile server finds it in (its output taken).
    start: fn() -> client::Connection,
    /// The server's bytes (may read the client's pending output, e.g. its SCRAM nonce).
    input: fn(&mut client::Connection) -> Vec<u8>,
    error: ClientError,
}

enum Case {
    Server(Srv),
    Client(Cli),
}

struct Row {
    id: &'static str,
    phase: Phase,
    desc: &'static str,
    bug: Option<&'static str>,
    case: Case,
}

impl Row {
    fn side(&self) -> Side {
        match self.case {
            Case::Server(_) => Side::Server,
            Case::Client(_) => Side::Client,
        }
    }
}

fn server(
    setup: Step,
    hostile: Step,
    replies: &'static [&'static str],
    events: &'static [&'static str],
    state: State,
) -> Case {
    Case::Server(Srv {
        setup,
        hostile: Hostile::Steps(hostile),
        replies,
        events,
        state,
    })
}

fn one_read(
    tls: TlsAnswer,
    bytes: fn(&mut Wire),
    replies: &'static [&'static str],
    events: &'static [&'static str],
) -> Case {
    Case::Server(Srv {
        setup: nothing,
        hostile: Hostile::OneRead { tls, bytes },
        replies,
        events,
        state: State::Closed,
    })
}

fn client_case(
    start: fn() -> client::Connection,
    input: fn(&mut client::Connection) -> Vec<u8>,
    error: ClientError,
) -> Case {
    Case::Client(Cli {
        one_read: false,
        start,
        input,
        error,
    })
}

fn client_one_read(
    start: fn() -> client::Connection,
    input: fn(&mut client::Connection) -> Vec<u8>,
    error: ClientError,
) -> Case {
    Case::Client(Cli {
        one_read: true,
        start,
        input,
        error,
    })
}

/// Declares the rows: the table and one test per row (ignored, with its note, for a bug).
macro_rules! catalogue {
    (@bug) => { None };
    (@bug $bug:literal) => { Some($bug) };
    ($( $id:ident $([bug = $bug:literal])? : $phase:ident, $desc:literal => $case:expr; )*) => {
        fn table() -> Vec<Row> {
            vec![$(Row {
                id: stringify!($id),
                phase: Phase::$phase,
                desc: $desc,
                bug: catalogue!(@bug $($bug)?),
                case: $case,
            }),*]
        }

        /// Every row id with whether its test is ignored.
        const TESTS: &[(&str, bool)] = &[$((stringify!($id), catalogue!(@ignored $($bug)?))),*];

        $(
            #[test]
            $(#[ignore = $bug])?
            #[allow(non_snake_case)]
            fn $id() {
                run_row(stringify!($id));
            }
        )*
    };
    (@ignored) => { false };
    (@ignored $bug:literal) => { true };
}

// ===== running server rows ======================================================================

const ANSWERED: &[&str] = &[
    "> Query SELECT 1",
    "T ?column?:int4",
    "D [1]",
    "C SELECT 1",
    "Z I",
];

/// A backend message as one line; ErrorResponse and NoticeResponse with every field.
fn full(m: &BackendMessage) -> String {
    let (tag, f) = match m {
        BackendMessage::ErrorResponse(f) => ("E", f),
        BackendMessage::NoticeResponse(f) => ("N", f),
        other => return fmt_msg(other),
    };
    let get = |c: u8| String::from_utf8_lossy(f.get(c).unwrap_or(b"?")).into_owned();
    let mut line = format!("{tag} {} {} {}", get(b'S'), get(b'C'), get(b'M'));
    if f.get(b'V') != f.get(b'S') {
        line.push_str(&format!(" | V={}", get(b'V')));
    }
    for (c, v) in f.iter() {
        if !matches!(c, b'S' | b'V' | b'C' | b'M') {
            line.push_str(&format!(" | {}={}", c as char, String::from_utf8_lossy(v)));
        }
    }
    line
}

/// The follow-up that shows the state.
fn probe(h: &mut Run<'_>, state: State) {
    match state {
        State::Continues => h.send(|w| {
            w.query("SELECT 1");
        }),
        State::Discarding => {
            h.send(|w| {
                w.parse("", "SELECT 1", &[])
                    .bind("", "", &[])
                    .execute("", 0)
                    .sync();
            });
            h.send(|w| {
                w.query("SELECT 1");
            });
        }
        State::Closed => {
            h.send(|w| {
                w.query("SELECT 1");
            });
            h.app(|conn, db| db.log.push(format!("! closed={}", conn.is_closed())));
        }
        State::AwaitingStartup => h.send(|w| {
            w.startup(&[("user", "alice")]);
        }),
        State::CopyIn => h.send(|w| {
            w.copy_done();
        }),
        State::TlsHandshake => {
            h.tls_established(None);
            h.send(|w| {
                w.startup(&[("user", "alice")]);
            });
        }
    }
}

fn check_probe(state: State, got: &[String]) -> Result<(), String> {
    let ok = match state {
        State::Continues => got == ANSWERED,
        State::Discarding => {
            got.first().map(String::as_str) == Some("Z I") && got[1..] == *ANSWERED
        }
        State::Closed => got == ["! closed=true"],
        State::AwaitingStartup => {
            got.first().map(String::as_str) == Some("> Startup alice db=alice 3.0")
                && got.contains(&"> Authenticated alice".to_string())
                && got.last().map(String::as_str) == Some("Z I")
        }
        State::CopyIn => got == ["> CopyDone", "C COPY 0", "Z I"],
        State::TlsHandshake => {
            got.first()
                .is_some_and(|l| l.starts_with("! TLS engine took"))
                && got.get(1).map(String::as_str) == Some("> Startup alice db=alice 3.0 tls")
                && got.last().map(String::as_str) == Some("Z I")
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("the follow-up does not show {state:?}: {got:#?}"))
    }
}

/// Runs a server row; returns (replies, events, follow-up lines).
fn run_server(s: &Srv) -> (Vec<String>, Vec<String>, Vec<String>) {
    if let Hostile::OneRead { tls, bytes } = &s.hostile {
        return run_one_read(*tls, *bytes);
    }
    let Hostile::Steps(hostile) = &s.hostile else {
        unreachable!()
    };
    let out = check(|h| {
        (s.setup)(h);
        h.mark("hostile");
        let before = h.seen().len();
        hostile(h);
        let replies: Vec<String> = h.seen()[before..]
            .iter()
            .filter(|m| !matches!(m, BackendMessage::ParameterStatus(_)))
            .map(full)
            .collect();
        for r in replies {
            h.note(format!("= {r}"));
        }
        h.mark("probe");
        probe(h, s.state);
    });
    let t = out.transcript;
    let at = |label: &str| t.iter().position(|l| l == label).unwrap();
    let (hostile, probe) = (at("-- hostile"), at("-- probe"));
    let section = &t[hostile + 1..probe];
    let replies = section
        .iter()
        .filter_map(|l| l.strip_prefix("= ").map(str::to_string))
        .collect();
    let events = section
        .iter()
        .filter(|l| l.starts_with("> ") || l.starts_with("! "))
        .map(|l| l.strip_prefix("> ").unwrap_or(l).to_string())
        .collect();
    let follow = t[probe + 1..]
        .iter()
        .filter(|l| !l.starts_with("-- "))
        .cloned()
        .collect();
    (replies, events, follow)
}

/// One read with every byte, on a fresh connection.
fn run_one_read(tls: TlsAnswer, bytes: fn(&mut Wire)) -> (Vec<String>, Vec<String>, Vec<String>) {
    let now = std::time::Instant::now();
    let mut conn: transcript::Conn = transcript::Conn::with_random(
        Default::default(),
        now,
        Box::new(transcript::TestRng::new(1)),
    );
    let mut w = Wire::default();
    bytes(&mut w);
    conn.handle_input(now, &w.buf);
    let mut db = transcript::Db::default();
    db.tls = tls;
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        let line = transcript::fmt_event(&e);
        events.push(line.strip_prefix("> ").unwrap_or(&line).to_string());
        db.on_event(&mut conn, e);
        events.append(&mut db.log);
    }
    let mut dec = pgproto::message::BackendDecoder::new();
    if let Some(phase) = w.expect {
        dec.set_phase(phase);
    }
    let mut out = BytesMut::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut replies = Vec::new();
    while let Some(m) = dec.decode(&mut out).unwrap() {
        if !matches!(m, BackendMessage::ParameterStatus(_)) {
            replies.push(full(&m));
        }
    }
    assert!(out.is_empty(), "a partial message: {out:?}");
    // The follow-up: more bytes change nothing.
    let mut more = Wire::default();
    more.query("SELECT 1");
    conn.handle_input(now, &more.buf);
    let mut follow = Vec::new();
    while let Some(e) = conn.poll_event() {
        follow.push(transcript::fmt_event(&e));
    }
    if conn.poll_transmit().is_some() {
        follow.push("output".into());
    }
    follow.push(format!("! closed={}", conn.is_closed()));
    (replies, events, follow)
}

// ===== running client rows ======================================================================

/// Feeds `pieces` to a fresh client; returns its events.
fn client_run(c: &Cli, cut: impl Fn(&[u8]) -> Vec<Vec<u8>>) -> (client::Connection, Vec<CEvent>) {
    let mut conn = (c.start)();
    let bytes = (c.input)(&mut conn);
    let mut events = Vec::new();
    for piece in cut(&bytes) {
        events.extend(rc::feed(&mut conn, &piece));
    }
    events.extend(rc::events(&mut conn));
    (conn, events)
}

fn run_client(c: &Cli) -> Result<(), String> {
    let (mut conn, reference) = client_run(c, |b| vec![b.to_vec()]);
    let want = CEvent::Closed(Some(c.error.clone()));
    if reference.last() != Some(&want) {
        return Err(format!(
            "expected the last event to be\n  {want:?}\ngot\n  {reference:#?}"
        ));
    }
    let closings = reference
        .iter()
        .filter(|e| matches!(e, CEvent::Closed(_)))
        .count();
    if closings != 1 {
        return Err(format!("{closings} Closed events: {reference:#?}"));
    }
    // Closed for good: input ignored, every call refused.
    assert!(conn.is_closed() && !conn.is_ready());
    assert_eq!(rc::feed(&mut conn, &rc::ready(TransactionStatus::Idle)), []);
    conn.handle_eof(std::time::Instant::now());
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.query("SELECT 1"), Err(ClientError::Closed));
    assert_eq!(conn.parse("", "SELECT 1", &[]), Err(ClientError::Closed));
    assert_eq!(conn.sync(), Err(ClientError::Closed));
    assert_eq!(
        conn.function_call(177, &[], [None], 0),
        Err(ClientError::Closed)
    );
    if c.one_read {
        return Ok(());
    }
    // The same events however the bytes are cut.
    let len = {
        let mut conn = (c.start)();
        (c.input)(&mut conn).len()
    };
    for cut in std::iter::once(None).chain((1..len).map(Some)) {
        let (_, got) = client_run(c, |b| match cut {
            None => b.iter().map(|&x| vec![x]).collect(),
            Some(k) => vec![b[..k].to_vec(), b[k..].to_vec()],
        });
        if got != reference {
            let how = match cut {
                None => "byte by byte".to_string(),
                Some(k) => format!("cut at {k}"),
            };
            return Err(format!(
                "fed {how}, the events differ:\n{got:#?}\nwhole:\n{reference:#?}"
            ));
        }
    }
    Ok(())
}

// ===== running a row ============================================================================

fn run_row(id: &str) {
    let table = table();
    let row = table.iter().find(|r| r.id == id).expect("a row");
    match &row.case {
        Case::Server(s) => {
            let (replies, events, follow) = run_server(s);
            assert_eq!(
                replies, s.replies,
                "{id} ({}): the replies differ",
                row.desc
            );
            assert_eq!(events, s.events, "{id} ({}): the events differ", row.desc);
            if let Err(e) = check_probe(s.state, &follow) {
                panic!("{id} ({}): {e}", row.desc);
            }
        }
        Case::Client(c) => {
            if let Err(e) = run_client(c) {
                panic!("{id} ({}): {e}", row.desc);
            }
        }
    }
}

// ===== setups ===================================================================================

fn nothing(_: &mut Run<'_>) {}

fn login(h: &mut Run<'_>) {
    h.login();
}

/// Logged in, with statement `s` (`SELECT $1 AS a, $2 AS b`, parameters int4 and text).
fn login_stmt(h: &mut Run<'_>) {
    h.login();
    h.send(|w| {
        w.parse("s", "SELECT $1 AS a, $2 AS b", &[oid::INT4, oid::TEXT])
            .sync();
    });
}

/// Logged in, discarding until Sync after an error (a Bind to a statement that does not exist).
fn login_discarding(h: &mut Run<'_>) {
    h.login();
    h.send(|w| {
        w.bind("", "nope", &[]).flush();
    });
}

/// Logged in, in a simple `COPY t FROM STDIN`.
fn copy_in(h: &mut Run<'_>) {
    h.login();
    h.send(|w| {
        w.query("COPY t FROM STDIN");
    });
}

/// Logged in, in `COPY t FROM STDIN` started by Execute (the batch's Sync swallowed by COPY).
fn copy_in_extended(h: &mut Run<'_>) {
    h.login();
    h.send(|w| {
        w.parse("", "COPY t FROM STDIN", &[])
            .bind("", "", &[])
            .execute("", 0)
            .sync();
    });
}

fn scram_secret() -> StoredSecret {
    static S: OnceLock<ScramSecret> = OnceLock::new();
    StoredSecret::Scram(
        S.get_or_init(|| ScramSecret::new(b"pencil", b"0123456789abcdef", 4096))
            .clone(),
    )
}

fn startup_alice(h: &mut Run<'_>) {
    h.send(|w| {
        w.startup(&[("user", "alice")]);
    });
}

fn cleartext(h: &mut Run<'_>) {
    h.db.auth = Auth::Cleartext(Some(StoredSecret::Plain(b"secret".to_vec())));
    startup_alice(h);
}

fn md5(h: &mut Run<'_>) {
    h.db.auth = Auth::Md5(Some(StoredSecret::md5(b"alice", b"secret")));
    startup_alice(h);
}

fn scram(h: &mut Run<'_>) {
    h.db.auth = Auth::Scram(Some(scram_secret()));
    startup_alice(h);
}

/// SCRAM over TLS with the certificate given to the state machine (SCRAM-SHA-256-PLUS offered).
fn scram_tls(h: &mut Run<'_>) {
    h.db.auth = Auth::Scram(Some(scram_secret()));
    h.send(|w| {
        w.ssl_request();
    });
    h.tls_established(Some(&fake_cert()));
    startup_alice(h);
}

/// The nonce attribute (`r=...`) of the server-first message the client received last.
fn server_nonce(h: &Run<'_>) -> Option<String> {
    match h.seen().last() {
        Some(BackendMessage::Authentication(Authentication::SaslContinue(d))) => {
            let s = String::from_utf8(d.to_vec()).ok()?;
            Some(s.split(',').next()?.to_string())
        }
        _ => None,
    }
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// client-first `n,,n=,r=clientnonce`, then a client-final with an all-zero proof.
fn scram_zero_proof(h: &mut Run<'_>) {
    h.send(|w| {
        w.sasl_initial("SCRAM-SHA-256", b"n,,n=,r=clientnonce");
    });
    let Some(nonce) = server_nonce(h) else { return };
    h.send(|w| {
        let fin = format!("c=biws,{nonce},p={}", b64(&[0; 32]));
        w.sasl_response(fin.as_bytes());
    });
}

fn not_utf8_is_22021(h: &mut Run<'_>) {
    h.login();
    h.hook(|conn, ev, db| {
        let Event::Query { sql } = ev else {
            return false;
        };
        let Err(e) = sql.to_str() else {
            return false;
        };
        let byte = sql.as_bytes()[e.valid_up_to()];
        let r = conn.error(PgError::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            format!("invalid byte sequence for encoding \"UTF8\": 0x{byte:02x}"),
        ));
        db.ok(r);
        let r = conn.query_done(TransactionStatus::Idle);
        db.ok(r);
        true
    });
}

/// Logged in; function 177 takes exactly two arguments (the application checks the count).
fn function_with_two_args(h: &mut Run<'_>) {
    h.login();
    h.hook(|conn, ev, db| {
        let Event::FunctionCall(f) = ev else {
            return false;
        };
        if f.function != 177 || f.args.len() == 2 {
            return false;
        }
        let r = conn.error(PgError::new(
            SqlState::PROTOCOL_VIOLATION,
            format!(
                "function call message contains {} arguments but function requires 2",
                f.args.len()
            ),
        ));
        db.ok(r);
        true
    });
}

/// A typed frame with a computed length word.
fn typed(tag: u8, body: &[u8]) -> Vec<u8> {
    rc::frame(tag, body)
}

/// A startup-phase packet with a computed length word.
fn packet(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32 + 4).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

const CANCEL_CODE: &[u8] = b"\x04\xd2\x16\x2e";

fn cancel_packet(key: &[u8]) -> Vec<u8> {
    packet(&[CANCEL_CODE, &7i32.to_be_bytes(), key].concat())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn decode_error(e: DecodeError) -> ClientError {
    ClientError::Decode(e)
}

fn protocol(what: &str) -> ClientError {
    ClientError::Protocol(what.to_string())
}

fn too_large(tag: u8, length: u32, limit: u32) -> ClientError {
    decode_error(DecodeError::LengthTooLarge {
        frame: Frame::Typed(tag),
        length,
        limit,
    })
}

// ===== the catalogue ============================================================================

catalogue! {
    // ----- server: startup -----------------------------------------------------------------------
    R01: Startup, "startup packet length word 4 (below the minimum of 8)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&[0, 0, 0, 4]); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R02: Startup, "startup packet length word 10,005 (payload over the 10,000-byte limit); only the length word is sent" => server(
        nothing,
        |h| h.send(|w| { w.raw(&10_005u32.to_be_bytes()); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R03: Startup, "startup packet length word -1" => server(
        nothing,
        |h| h.send(|w| { w.raw(&[0xFF; 4]); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R04: Startup, "a typed message (Query) instead of a startup packet: its type byte makes a 1.3 GB length word" => server(
        nothing,
        |h| h.send(|w| { w.query("SELECT 1"); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R05: Startup, "StartupMessage for protocol 2.0" => server(
        nothing,
        |h| h.send(|w| { w.startup_v(ProtocolVersion { major: 2, minor: 0 }, &[("user", "alice")]); }),
        &["E FATAL 0A000 unsupported frontend protocol 2.0: server supports 3.0 to 3.2"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R06: Startup, "startup packet with the unknown request code 1234.5677" => server(
        nothing,
        |h| h.send(|w| { w.raw(&packet(&[0x04, 0xd2, 0x16, 0x2d])); }),
        &["E FATAL 0A000 unsupported frontend protocol 1234.5677: server supports 3.0 to 3.2"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R07:
    Startup, "StartupMessage for protocol 2.0 to a server configured with `max_protocol_minor = 0`" => server(
        |h| h.config().max_protocol_minor = 0,
        |h| h.send(|w| { w.startup_v(ProtocolVersion { major: 2, minor: 0 }, &[("user", "alice")]); }),
        &["E FATAL 0A000 unsupported frontend protocol 2.0: server supports 3.0 to 3.0"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R08: Startup, "StartupMessage asking for protocol 3.9" => server(
        nothing,
        |h| h.send(|w| { w.startup_v(ProtocolVersion { major: 3, minor: 9 }, &[("user", "alice")]); }),
        &["v 3.2 []", "R Ok", "K pid=1 key=32B", "Z I"],
        &["Startup alice db=alice 3.2", "Authenticated alice"],
        State::Continues,
    );
    R09: Startup, "StartupMessage with an unknown protocol option `_pq_.bogus`" => server(
        nothing,
        |h| h.send(|w| { w.startup(&[("user", "alice"), ("_pq_.bogus", "on")]); }),
        &["v 3.0 [_pq_.bogus]", "R Ok", "K pid=1 key=4B", "Z I"],
        &["Startup alice db=alice 3.0", "Authenticated alice"],
        State::Continues,
    );
    R10: Startup, "StartupMessage without a `user` parameter" => server(
        nothing,
        |h| h.send(|w| { w.startup(&[("database", "shop")]); }),
        &["E FATAL 28000 no PostgreSQL user name specified in startup packet"],
        &["Terminated: FATAL 28000"],
        State::Closed,
    );
    R11: Startup, "StartupMessage with an empty `user`" => server(
        nothing,
        |h| h.send(|w| { w.startup(&[("user", "")]); }),
        &["E FATAL 28000 no PostgreSQL user name specified in startup packet"],
        &["Terminated: FATAL 28000"],
        State::Closed,
    );
    R12: Startup, "StartupMessage whose parameter list lacks its final terminator" => server(
        nothing,
        |h| h.send(|w| { w.raw(&packet(b"\0\x03\0\0user\0alice\0")); }),
        &["E FATAL 08P01 parameter name in startup packet has no terminating zero byte"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R13: Startup, "StartupMessage with `replication=bogus`" => server(
        nothing,
        |h| h.send(|w| { w.startup(&[("user", "alice"), ("replication", "bogus")]); }),
        &["E FATAL 22023 invalid value for parameter \"replication\": \"bogus\""],
        &["Terminated: FATAL 22023"],
        State::Closed,
    );
    R14: Startup, "StartupMessage with `options=-B 100` (refused after authentication, as PostgreSQL applies options)" => server(
        nothing,
        |h| h.send(|w| { w.startup(&[("user", "alice"), ("options", "-B 100")]); }),
        &["R Ok", "E FATAL 42601 invalid command-line argument for server process: -B"],
        &["Startup alice db=alice 3.0", "Terminated: FATAL 42601"],
        State::Closed,
    );
    R15: Startup, "SSLRequest with a StartupMessage pipelined behind it, TLS accepted (CVE-2021-23214)" => server(
        nothing,
        |h| {
            h.db.tls = TlsAnswer::Defer;
            h.send(|w| { w.ssl_request(); });
            h.send(|w| { w.startup(&[("user", "mallory")]); });
            h.app(|conn, db| {
                let r = conn.accept_tls();
                db.ok(r);
            });
        },
        &["E FATAL 08P01 received unencrypted data after SSL request"],
        &["TlsRequested", "Terminated: FATAL 08P01"],
        State::Closed,
    );
    R16: Startup, "SSLRequest and StartupMessage in one read, TLS declined" => one_read(
        TlsAnswer::Decline,
        |w| { w.ssl_request().startup(&[("user", "mallory")]); },
        &["N", "E FATAL 08P01 received unencrypted data after SSL request"],
        &["TlsRequested", "Terminated: FATAL 08P01"],
    );
    R17: Startup, "GSSENCRequest and StartupMessage in one read (GSSAPI encryption is declined)" => one_read(
        TlsAnswer::Decline,
        |w| { w.gss_request().startup(&[("user", "mallory")]); },
        &["N", "E FATAL 08P01 received unencrypted data after GSSAPI encryption request"],
        &["Terminated: FATAL 08P01"],
    );
    R18: Startup, "a second SSLRequest after TLS was declined" => server(
        |h| {
            h.db.tls = TlsAnswer::Decline;
            h.send(|w| { w.ssl_request(); });
        },
        |h| h.send(|w| { w.ssl_request(); }),
        &["E FATAL 0A000 unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R19: Startup, "a second GSSENCRequest" => server(
        |h| h.send(|w| { w.gss_request(); }),
        |h| h.send(|w| { w.gss_request(); }),
        &["E FATAL 0A000 unsupported frontend protocol 1234.5680: server supports 3.0 to 3.2"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R20: Startup, "GSSENCRequest alone (declined; the client may go on in plaintext)" => server(
        nothing,
        |h| h.send(|w| { w.gss_request(); }),
        &["N"],
        &[],
        State::AwaitingStartup,
    );
    R21: Startup, "direct TLS: the first byte is 0x16 (a TLS ClientHello)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]); }),
        &[],
        &["DirectTls"],
        State::TlsHandshake,
    );
    R22:
    Startup, "a TLS ClientHello (0x16...) after TLS was declined" => server(
        |h| {
            h.db.tls = TlsAnswer::Decline;
            h.send(|w| { w.ssl_request(); });
        },
        |h| h.send(|w| { w.raw(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R23: Startup, "a second StartupMessage after login (its first byte is type 0x00)" => server(
        login,
        |h| h.send(|w| { w.startup(&[("user", "bob")]); }),
        &["E FATAL 08P01 invalid frontend message type 0"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R24: Startup, "no startup packet within the authentication timeout (60 s)" => server(
        nothing,
        |h| h.advance(secs(60)),
        &[],
        &["Terminated: FATAL 57014"],
        State::Closed,
    );

    // ----- server: authentication ------------------------------------------------------------------
    R25: Auth, "cleartext: wrong password" => server(
        cleartext,
        |h| h.send(|w| { w.password(b"wrong"); }),
        &["E FATAL 28P01 password authentication failed for user \"alice\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R26: Auth, "cleartext: unknown user (no secret)" => server(
        |h| {
            h.db.auth = Auth::Cleartext(None);
            h.send(|w| { w.startup(&[("user", "ghost")]); });
        },
        |h| h.send(|w| { w.password(b"anything"); }),
        &["E FATAL 28P01 password authentication failed for user \"ghost\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R27: Auth, "MD5: wrong password" => server(
        md5,
        |h| {
            let salt = match h.seen().last() {
                Some(BackendMessage::Authentication(Authentication::Md5Password { salt })) => *salt,
                _ => [0; 4],
            };
            h.send(|w| { w.password(md5_response(b"alice", b"wrong", salt).as_bytes()); });
        },
        &["E FATAL 28P01 password authentication failed for user \"alice\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R28: Auth, "MD5: unknown user" => server(
        |h| {
            h.db.auth = Auth::Md5(None);
            h.send(|w| { w.startup(&[("user", "ghost")]); });
        },
        |h| h.send(|w| { w.password(b"md5d41d8cd98f00b204e9800998ecf8427e"); }),
        &["E FATAL 28P01 password authentication failed for user \"ghost\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R29: Auth, "SCRAM: a proof that does not match the password" => server(
        scram,
        scram_zero_proof,
        &["R SASLContinue", "E FATAL 28P01 password authentication failed for user \"alice\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R30: Auth, "SCRAM: unknown user (the exchange runs on a mock salt, then fails like a wrong password)" => server(
        |h| {
            h.db.auth = Auth::Scram(None);
            h.send(|w| { w.startup(&[("user", "ghost")]); });
        },
        scram_zero_proof,
        &["R SASLContinue", "E FATAL 28P01 password authentication failed for user \"ghost\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R31: Auth, "a Query instead of the password" => server(
        cleartext,
        |h| h.send(|w| { w.query("SELECT 1"); }),
        &["E FATAL 08P01 expected password response, got message type 81"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R32:
    Auth, "Terminate instead of the SASLInitialResponse" => server(
        scram,
        |h| h.send(|w| { w.terminate(); }),
        &["E FATAL 08P01 expected SASL response, got message type 88"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R33:
    Auth, "an SSLRequest instead of the password (type byte 0x00)" => server(
        cleartext,
        |h| h.send(|w| { w.ssl_request(); }),
        &["E FATAL 08P01 expected password response, got message type 0"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R34: Auth, "a password message over the 65,535-byte `p` limit (length word only)" => server(
        cleartext,
        |h| h.send(|w| { w.raw(&rc::header(b'p', 65_536)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R35 [bug = "bug: SASL messages may be as long as a password (65,535 bytes) and the exchange goes on; PostgreSQL refuses a SASLInitialResponse or SASLResponse over PG_MAX_SASL_MESSAGE_LENGTH (1024) and fails the authentication"]:
    Auth, "a SASLInitialResponse of 2,000 bytes (over PostgreSQL's 1,024-byte SASL message limit)" => server(
        scram,
        |h| h.send(|w| {
            let first = format!("n,,n=,r={}", "a".repeat(1970));
            w.sasl_initial("SCRAM-SHA-256", first.as_bytes());
        }),
        &["E FATAL 28P01 password authentication failed for user \"alice\""],
        &["Terminated: FATAL 28P01"],
        State::Closed,
    );
    R36: Auth, "a password message with bytes after its terminator" => server(
        cleartext,
        |h| h.send(|w| { w.raw(&typed(b'p', b"secret\0xy")); }),
        &["E FATAL 08P01 invalid message format: 2 unexpected bytes at the end of message 'p'"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R37: Auth, "SASLInitialResponse naming an unknown mechanism (DIGEST-MD5)" => server(
        scram,
        |h| h.send(|w| { w.sasl_initial("DIGEST-MD5", b"n,,n=,r=abc"); }),
        &["E FATAL 08P01 client selected an invalid SASL authentication mechanism"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R38: Auth, "SCRAM-SHA-256-PLUS chosen on a connection without TLS" => server(
        scram,
        |h| h.send(|w| { w.sasl_initial("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=abc"); }),
        &["E FATAL 08P01 client selected an invalid SASL authentication mechanism"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R39: Auth, "SCRAM client-first with an authorization identity (`n,a=bob,`)" => server(
        scram,
        |h| h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"n,a=bob,n=,r=abc"); }),
        &["E FATAL 0A000 client uses authorization identity, but it is not supported"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R40: Auth, "SCRAM client-first with a mandatory extension (`m=`)" => server(
        scram,
        |h| h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"n,,m=ext,n=,r=abc"); }),
        &["E FATAL 0A000 client requires an unsupported SCRAM extension"],
        &["Terminated: FATAL 0A000"],
        State::Closed,
    );
    R41: Auth, "SCRAM client-first with an unknown channel-binding flag (`x,,`)" => server(
        scram,
        |h| h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"x,,n=,r=abc"); }),
        &["E FATAL 08P01 malformed SCRAM message: unexpected channel-binding flag"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R42: Auth, "SCRAM flag `y` (client thinks the server cannot bind) over TLS where the server offers SCRAM-SHA-256-PLUS" => server(
        scram_tls,
        |h| h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"y,,n=,r=abc"); }),
        &["E FATAL 28000 SCRAM channel binding negotiation error: the client supports channel binding but thinks the server does not"],
        &["Terminated: FATAL 28000"],
        State::Closed,
    );
    R43: Auth, "SCRAM client-final whose nonce is not the server's" => server(
        scram,
        |h| {
            h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"n,,n=,r=clientnonce"); });
            h.send(|w| {
                let fin = format!("c=biws,r=clientnonceFORGED,p={}", b64(&[0; 32]));
                w.sasl_response(fin.as_bytes());
            });
        },
        &["R SASLContinue", "E FATAL 08P01 invalid SCRAM response: nonce does not match"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R44: Auth, "SCRAM-SHA-256-PLUS with channel-binding data of another certificate" => server(
        scram_tls,
        |h| {
            h.send(|w| { w.sasl_initial("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=clientnonce"); });
            let Some(nonce) = server_nonce(h) else { return };
            h.send(|w| {
                let mut cbind = b"p=tls-server-end-point,,".to_vec();
                cbind.extend_from_slice(&[0xAB; 32]);
                let fin = format!("c={},{nonce},p={}", b64(&cbind), b64(&[0; 32]));
                w.sasl_response(fin.as_bytes());
            });
        },
        &["R SASLContinue", "E FATAL 28000 SCRAM channel binding check failed"],
        &["Terminated: FATAL 28000"],
        State::Closed,
    );
    R45: Auth, "SCRAM client-final with `c=biws` after flag `y` (channel-binding attribute does not match the flag)" => server(
        scram,
        |h| {
            h.send(|w| { w.sasl_initial("SCRAM-SHA-256", b"y,,n=,r=clientnonce"); });
            let Some(nonce) = server_nonce(h) else { return };
            h.send(|w| {
                let fin = format!("c=biws,{nonce},p={}", b64(&[0; 32]));
                w.sasl_response(fin.as_bytes());
            });
        },
        &["R SASLContinue", "E FATAL 08P01 malformed SCRAM message: unexpected SCRAM channel-binding attribute in client-final-message"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R46: Auth, "no password within the authentication timeout (60 s after connecting)" => server(
        cleartext,
        |h| h.advance(secs(60)),
        &["E FATAL 57014 canceling authentication due to timeout"],
        &["Terminated: FATAL 57014"],
        State::Closed,
    );

    // ----- server: simple query --------------------------------------------------------------------
    R47: Simple, "Query whose text is not UTF-8 (0xFF): passed to the application, which answers 22021" => server(
        not_utf8_is_22021,
        |h| h.send(|w| { w.raw(&typed(b'Q', b"SELECT \xff\0")); }),
        &["E ERROR 22021 invalid byte sequence for encoding \"UTF8\": 0xff", "Z I"],
        &["Query SELECT \u{FFFD}"],
        State::Continues,
    );
    R48: Simple, "empty query string" => server(
        login,
        |h| h.send(|w| { w.query(""); }),
        &["I", "Z I"],
        &["Query "],
        State::Continues,
    );
    R49: Simple, "Query whose string has no terminating zero byte" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'Q', b"SELECT 1")); }),
        &["E ERROR 08P01 invalid string in message", "Z I"],
        &[],
        State::Continues,
    );
    R50: Simple, "Query with bytes after the string's terminator" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'Q', b"SELECT 1\0garbage")); }),
        &["E ERROR 08P01 invalid message format", "Z I"],
        &[],
        State::Continues,
    );
    R51: Simple, "Query length word 0x3FFFFFFF (over the 0x3FFFFFFE large-message limit)" => server(
        login,
        |h| h.send(|w| { w.raw(&rc::header(b'Q', 0x3FFF_FFFF)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R52: Simple, "typed message length word 3 (below 4)" => server(
        login,
        |h| h.send(|w| { w.raw(&rc::header(b'Q', 3)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R53: Simple, "unknown message type `z`" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'z', b"")); }),
        &["E FATAL 08P01 invalid frontend message type 122"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R54: Simple, "a password message (`p`) after login" => server(
        login,
        |h| h.send(|w| { w.password(b"secret"); }),
        &["E FATAL 08P01 invalid frontend message type 112"],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R55: Simple, "Terminate with a body (PostgreSQL ignores the body)" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'X', b"bye")); }),
        &[],
        &["Terminated: client sent Terminate"],
        State::Closed,
    );
    R56: Simple, "EOF with half a Query buffered" => server(
        login,
        |h| {
            h.send(|w| { w.raw(&typed(b'Q', b"SELECT 1\0")[..7]); });
            h.eof();
        },
        &[],
        &["Terminated: client closed"],
        State::Closed,
    );

    // ----- server: extended query ------------------------------------------------------------------
    R57: Extended, "Bind to a statement that does not exist" => server(
        login_stmt,
        |h| h.send(|w| { w.bind("", "nope", &[]).flush(); }),
        &["E ERROR 26000 prepared statement \"nope\" does not exist"],
        &[],
        State::Discarding,
    );
    R58: Extended, "Bind to the unnamed statement after a Query destroyed it" => server(
        |h| {
            h.login();
            h.send(|w| { w.parse("", "SELECT 1", &[]).sync(); });
            h.send(|w| { w.query("SELECT 1"); });
        },
        |h| h.send(|w| { w.bind("", "", &[]).flush(); }),
        &["E ERROR 26000 unnamed prepared statement does not exist"],
        &[],
        State::Discarding,
    );
    R59: Extended, "Describe of a statement that does not exist" => server(
        login,
        |h| h.send(|w| { w.describe_statement("nope").flush(); }),
        &["E ERROR 26000 prepared statement \"nope\" does not exist"],
        &[],
        State::Discarding,
    );
    R60: Extended, "Describe of a portal that does not exist" => server(
        login,
        |h| h.send(|w| { w.describe_portal("nope").flush(); }),
        &["E ERROR 34000 portal \"nope\" does not exist"],
        &[],
        State::Discarding,
    );
    R61: Extended, "Execute of a portal that does not exist" => server(
        login,
        |h| h.send(|w| { w.execute("nope", 0).flush(); }),
        &["E ERROR 34000 portal \"nope\" does not exist"],
        &[],
        State::Discarding,
    );
    R62: Extended, "Parse of a statement name already in use" => server(
        login_stmt,
        |h| h.send(|w| { w.parse("s", "SELECT 2", &[]).flush(); }),
        &["E ERROR 42P05 prepared statement \"s\" already exists"],
        &[],
        State::Discarding,
    );
    R63: Extended, "Bind of a portal name already in use in the same transaction" => server(
        login_stmt,
        |h| h.send(|w| {
            w.bind("p", "s", &[Some("1"), Some("x")])
                .bind("p", "s", &[Some("1"), Some("x")])
                .flush();
        }),
        &["2", "E ERROR 42P03 cursor \"p\" already exists"],
        &[],
        State::Discarding,
    );
    R64: Extended, "Bind with 1 parameter for a statement of 2" => server(
        login_stmt,
        |h| h.send(|w| { w.bind("", "s", &[Some("1")]).flush(); }),
        &["E ERROR 08P01 bind message supplies 1 parameters, but prepared statement \"s\" requires 2"],
        &[],
        State::Discarding,
    );
    R65: Extended, "Bind with 2 parameter format codes for 3 parameters" => server(
        login_stmt,
        |h| h.send(|w| {
            w.raw(&typed(b'B', b"\0s\0\0\x02\0\0\0\0\0\x03\0\0\0\x011\0\0\0\x011\0\0\0\x011\0\0"))
                .flush();
        }),
        &["E ERROR 08P01 bind message has 2 parameter formats but 3 parameters"],
        &[],
        State::Discarding,
    );
    R66: Extended, "Bind with parameter format code 2" => server(
        login_stmt,
        |h| h.send(|w| { w.bind_full("", "s", &[2], &[Some("1"), Some("x")], &[]).flush(); }),
        &["E ERROR 22023 unsupported format code: 2"],
        &[],
        State::Discarding,
    );
    R67: Extended, "Bind with 3 result format codes for a statement of 2 columns" => server(
        login_stmt,
        |h| h.send(|w| { w.bind_full("", "s", &[], &[Some("1"), Some("x")], &[0, 0, 0]).flush(); }),
        &["E ERROR 08P01 bind message has 3 result formats but query has 2 columns"],
        &[],
        State::Discarding,
    );
    R68: Extended, "result format code 7: Bind succeeds, Execute fails (as in PostgreSQL)" => server(
        login_stmt,
        |h| h.send(|w| { w.bind_full("", "s", &[], &[Some("1"), Some("x")], &[7]).execute("", 0).flush(); }),
        &["2", "E ERROR 22023 unsupported format code: 7"],
        &[],
        State::Discarding,
    );
    R69: Extended, "Execute with a negative row limit (-1 means no limit)" => server(
        login_stmt,
        |h| h.send(|w| { w.bind("", "s", &[Some("1"), Some("x")]).execute("", -1).sync(); }),
        &["2", "D [1,x]", "C SELECT 1", "Z I"],
        &["Execute \"\" 0"],
        State::Continues,
    );
    R70: Extended, "Execute of a suspended portal after Sync ended its transaction" => server(
        login,
        |h| {
            h.send(|w| {
                w.parse("", "SELECT generate_series(1, 3)", &[])
                    .bind("", "", &[])
                    .execute("", 1)
                    .sync();
            });
            h.send(|w| { w.execute("", 1).sync(); });
        },
        &["1", "2", "D [1]", "s", "Z I", "E ERROR 34000 portal \"\" does not exist", "Z I"],
        &["Parse \"\" SELECT generate_series(1, 3) []", "Execute \"\" 1"],
        State::Continues,
    );
    R71: Extended, "Describe with target byte `X`" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'D', b"Xs\0")).flush(); }),
        &["E ERROR 08P01 invalid DESCRIBE message subtype 88"],
        &[],
        State::Discarding,
    );
    R72: Extended, "Close with target byte `X`" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'C', b"Xs\0")).flush(); }),
        &["E ERROR 08P01 invalid CLOSE message subtype 88"],
        &[],
        State::Discarding,
    );
    R73: Extended, "Parse whose query string has no terminator" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'P', b"s\0SELECT 1")).flush(); }),
        &["E ERROR 08P01 invalid string in message"],
        &[],
        State::Discarding,
    );
    R74: Extended, "Bind with a parameter length of -2" => server(
        login_stmt,
        |h| h.send(|w| { w.raw(&typed(b'B', b"\0s\0\0\0\0\x01\xff\xff\xff\xfe\0\0")).flush(); }),
        &["E ERROR 08P01 insufficient data left in message"],
        &[],
        State::Discarding,
    );
    R75: Extended, "Execute with bytes after the row limit" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'E', b"\0\0\0\0\0xy")).flush(); }),
        &["E ERROR 08P01 invalid message format"],
        &[],
        State::Discarding,
    );
    R76: Extended, "Flush with a body" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'H', b"x")).flush(); }),
        &["E ERROR 08P01 invalid message format"],
        &[],
        State::Discarding,
    );
    R77: Extended, "Sync with a body (an error of its own, then ReadyForQuery)" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'S', b"x")); }),
        &["E ERROR 08P01 invalid message format", "Z I"],
        &[],
        State::Continues,
    );
    R78: Extended, "after an error, Parse/Bind/Describe/Execute/Close/Query/FunctionCall/CopyData before Sync" => server(
        login_discarding,
        |h| h.send(|w| {
            w.parse("t", "SELECT 1", &[])
                .bind("", "t", &[])
                .describe_statement("t")
                .execute("", 0)
                .close_statement("t")
                .query("SELECT 1")
                .function_call(177, &["1"])
                .copy_data(b"x")
                .sync();
        }),
        &["Z I"],
        &[],
        State::Continues,
    );
    R79: Extended, "Terminate while discarding until Sync" => server(
        login_discarding,
        |h| h.send(|w| { w.terminate(); }),
        &[],
        &["Terminated: client sent Terminate"],
        State::Closed,
    );
    R80:
    Extended, "a malformed Bind while discarding until Sync" => server(
        login_discarding,
        |h| h.send(|w| { w.raw(&typed(b'B', b"\0s\0\0\0\0\x01\xff\xff\xff\xfe\0\0")).sync(); }),
        &["Z I"],
        &[],
        State::Continues,
    );
    R81:
    Extended, "a Sync with a body while discarding until Sync" => server(
        login_discarding,
        |h| h.send(|w| { w.raw(&typed(b'S', b"x")); }),
        &["E ERROR 08P01 invalid message format", "Z I"],
        &[],
        State::Continues,
    );
    R82: Extended, "Close of a statement that does not exist (not an error)" => server(
        login,
        |h| h.send(|w| { w.close_statement("nope").sync(); }),
        &["3", "Z I"],
        &[],
        State::Continues,
    );
    R83: Extended, "a third named statement with `max_statements = 2`" => server(
        |h| {
            h.config().max_statements = 2;
            h.login();
        },
        |h| h.send(|w| {
            w.parse("s1", "SELECT 1", &[])
                .parse("s2", "SELECT 1", &[])
                .parse("s3", "SELECT 1", &[])
                .sync();
        }),
        &["1", "1", "E ERROR 54000 too many prepared statements (the limit is 2)", "Z I"],
        &["Parse \"s1\" SELECT 1 []", "Parse \"s2\" SELECT 1 []"],
        State::Continues,
    );
    R84: Extended, "a second named portal with `max_portals = 1`" => server(
        |h| {
            h.config().max_portals = 1;
            login_stmt(h);
        },
        |h| h.send(|w| {
            w.bind("p1", "s", &[Some("1"), Some("x")])
                .bind("p2", "s", &[Some("1"), Some("x")])
                .sync();
        }),
        &["2", "E ERROR 54000 too many portals (the limit is 1)", "Z I"],
        &[],
        State::Continues,
    );
    R85: Extended, "Bind length word 0x3FFFFFFF (over the large-message limit)" => server(
        login,
        |h| h.send(|w| { w.raw(&rc::header(b'B', 0x3FFF_FFFF)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R86: Extended, "Execute length word 10,001 (over the 10,000-byte small-message limit)" => server(
        login,
        |h| h.send(|w| { w.raw(&rc::header(b'E', 10_001)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );

    // ----- server: COPY ----------------------------------------------------------------------------
    R87: Copy, "CopyFail during a simple COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.copy_data(b"1\n").copy_fail("client gave up"); }),
        &["E ERROR 57014 COPY from stdin failed: client gave up", "Z I"],
        &["CopyData \"1\\n\"", "CopyFail client gave up"],
        State::Continues,
    );
    R88: Copy, "CopyFail during COPY FROM STDIN started by Execute" => server(
        copy_in_extended,
        |h| h.send(|w| { w.copy_fail("client gave up"); }),
        &["E ERROR 57014 COPY from stdin failed: client gave up"],
        &["CopyFail client gave up"],
        State::Discarding,
    );
    R89: Copy, "a Query during COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.query("SELECT 1"); }),
        &[
            "E ERROR 08P01 unexpected message type 0x51 during COPY from stdin",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R90: Copy, "a Parse during COPY FROM STDIN started by Execute" => server(
        copy_in_extended,
        |h| h.send(|w| { w.parse("", "SELECT 1", &[]); }),
        &[
            "E ERROR 08P01 unexpected message type 0x50 during COPY from stdin",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R91: Copy, "Terminate during COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.terminate(); }),
        &[
            "E ERROR 08P01 unexpected message type 0x58 during COPY from stdin",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R92: Copy, "Sync and Flush during COPY FROM STDIN (ignored, as PostgreSQL does for libpq)" => server(
        copy_in,
        |h| h.send(|w| { w.sync().flush(); }),
        &[],
        &[],
        State::CopyIn,
    );
    R93: Copy, "CopyData, CopyDone and CopyFail outside COPY (ignored)" => server(
        login,
        |h| h.send(|w| { w.copy_data(b"1\n").copy_done().copy_fail("late"); }),
        &[],
        &[],
        State::Continues,
    );
    R94: Copy, "CopyData from the client during COPY TO STDOUT (ignored once the COPY is over)" => server(
        login,
        |h| h.send(|w| { w.query("COPY t TO STDOUT").copy_data(b"x"); }),
        &["H", "d \"1\\n\"", "d \"2\\n\"", "c", "C COPY 2", "Z I"],
        &["Query COPY t TO STDOUT"],
        State::Continues,
    );
    R95: Copy, "CopyFail without a terminator during COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.raw(&typed(b'f', b"reason")); }),
        &["E ERROR 08P01 invalid string in message", "Z I"],
        &[],
        State::Continues,
    );
    R96: Copy, "CopyData length word 1 GiB outside COPY (over the limit)" => server(
        login,
        |h| h.send(|w| { w.raw(&rc::header(b'd', 0x4000_0000)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R97:
    Copy, "CopyData length word 1 GiB during COPY FROM STDIN (over the limit)" => server(
        copy_in,
        |h| h.send(|w| { w.raw(&rc::header(b'd', 0x4000_0000)); }),
        &[
            "E ERROR 08006 unexpected EOF on client connection with an open transaction",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R98:
    Copy, "unknown message type `z` during COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.raw(&typed(b'z', b"")); }),
        &[
            "E ERROR 08P01 unexpected message type 0x7A during COPY from stdin",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );

    // ----- server: function call -------------------------------------------------------------------
    R99: FunctionCall, "FunctionCall with 2 argument format codes for 1 argument" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'F', b"\0\0\0\xb1\0\x02\0\0\0\0\0\x01\0\0\0\x011\0\0")); }),
        &["E ERROR 08P01 function call message contains 2 argument formats but 1 arguments", "Z I"],
        &[],
        State::Continues,
    );
    R100:
    FunctionCall, "FunctionCall with an argument length of -2" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'F', b"\0\0\0\xb1\0\0\0\x01\xff\xff\xff\xfe\0\0")); }),
        &["E ERROR 08P01 invalid argument size -2 in function call message", "Z I"],
        &[],
        State::Continues,
    );
    R101: FunctionCall, "FunctionCall whose argument runs past the end of the message" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'F', b"\0\0\0\xb1\0\0\0\x01\0\0\0\x0a12")); }),
        &["E ERROR 08P01 insufficient data left in message", "Z I"],
        &[],
        State::Continues,
    );
    R102: FunctionCall, "FunctionCall with bytes after the result format" => server(
        login,
        |h| h.send(|w| { w.raw(&typed(b'F', b"\0\0\0\xb1\0\0\0\x01\0\0\0\x011\0\0xy")); }),
        &["E ERROR 08P01 invalid message format", "Z I"],
        &[],
        State::Continues,
    );
    R103: FunctionCall, "FunctionCall of a function that does not exist (the application answers 42883)" => server(
        login,
        |h| h.send(|w| { w.function_call(999, &["1"]); }),
        &["E ERROR 42883 function with OID 999 does not exist", "Z I"],
        &["FunctionCall 999"],
        State::Continues,
    );
    R104: FunctionCall, "FunctionCall with 1 argument for a function of 2 (the application checks the count)" => server(
        function_with_two_args,
        |h| h.send(|w| { w.function_call(177, &["1"]); }),
        &["E ERROR 08P01 function call message contains 1 arguments but function requires 2", "Z I"],
        &["FunctionCall 177"],
        State::Continues,
    );
    R105: FunctionCall, "FunctionCall during COPY FROM STDIN" => server(
        copy_in,
        |h| h.send(|w| { w.function_call(177, &["1", "2"]); }),
        &[
            "E ERROR 08P01 unexpected message type 0x46 during COPY from stdin",
            "E FATAL 08P01 terminating connection because protocol synchronization was lost",
        ],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );

    // ----- server: cancel --------------------------------------------------------------------------
    R106: Cancel, "CancelRequest with a 4-byte key (protocol 3.0)" => server(
        nothing,
        |h| h.send(|w| { w.cancel(7, &[1, 2, 3, 4]); }),
        &[],
        &["Cancel pid=7 key=[1, 2, 3, 4]", "Terminated: cancel request"],
        State::Closed,
    );
    R107: Cancel, "CancelRequest with a 32-byte key (protocol 3.2)" => server(
        nothing,
        |h| h.send(|w| { w.cancel(7, &[9; 32]); }),
        &[],
        &["Cancel pid=7 key=[9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]", "Terminated: cancel request"],
        State::Closed,
    );
    R108: Cancel, "CancelRequest with 2 trailing bytes after a 4-byte key (read as a 6-byte key, which matches no session)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&cancel_packet(&[1, 2, 3, 4, 0xEE, 0xEE])); }),
        &[],
        &["Cancel pid=7 key=[1, 2, 3, 4, 238, 238]", "Terminated: cancel request"],
        State::Closed,
    );
    R109: Cancel, "CancelRequest followed by a Query in the same read (ignored)" => server(
        nothing,
        |h| h.send(|w| { w.cancel(7, &[1, 2, 3, 4]).query("SELECT 1"); }),
        &[],
        &["Cancel pid=7 key=[1, 2, 3, 4]", "Terminated: cancel request"],
        State::Closed,
    );
    R110: Cancel, "CancelRequest cut short by EOF" => server(
        nothing,
        |h| {
            h.send(|w| { w.raw(&cancel_packet(&[1, 2, 3, 4])[..10]); });
            h.eof();
        },
        &[],
        &["Terminated: client closed"],
        State::Closed,
    );
    R111: Cancel, "CancelRequest after a declined SSLRequest" => server(
        |h| {
            h.db.tls = TlsAnswer::Decline;
            h.send(|w| { w.ssl_request(); });
        },
        |h| h.send(|w| { w.cancel(7, &[1, 2, 3, 4]); }),
        &[],
        &["Cancel pid=7 key=[1, 2, 3, 4]", "Terminated: cancel request"],
        State::Closed,
    );
    R112:
    Cancel, "CancelRequest with a 2-byte key (closed without a word; PostgreSQL 18 forwards keys this short, which match no real key)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&cancel_packet(&[1, 2])); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R113:
    Cancel, "CancelRequest with no key (process id only)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&cancel_packet(&[])); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R114:
    Cancel, "CancelRequest with a 257-byte key" => server(
        nothing,
        |h| h.send(|w| { w.raw(&cancel_packet(&[1; 257])); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );
    R115:
    Cancel, "CancelRequest too short for a process id (request code only)" => server(
        nothing,
        |h| h.send(|w| { w.raw(&packet(CANCEL_CODE)); }),
        &[],
        &["Terminated: FATAL 08P01"],
        State::Closed,
    );

    // ----- client: startup -------------------------------------------------------------------------
    R116: Startup, "the server answers SSLRequest with an ErrorResponse" => client_case(
        || rc::ssl(SslMode::Prefer),
        |_| rc::error("FATAL", "0A000", "unsupported frontend protocol 1234.5679"),
        ClientError::Tls("the server answered SSLRequest with an error"),
    );
    R117: Startup, "`S` with more bytes in the same read (CVE-2021-23222)" => client_one_read(
        || rc::ssl(SslMode::Prefer),
        |_| rc::cat(&[b"S", &rc::auth(Authentication::Ok)]),
        ClientError::Tls("received unencrypted data after the SSL response"),
    );
    R118: Startup, "an answer to SSLRequest that is neither `S`, `N` nor `E`" => client_case(
        || rc::ssl(SslMode::Prefer),
        |_| b"X".to_vec(),
        decode_error(DecodeError::InvalidEncryptionResponse { byte: b'X' }),
    );
    R119: Startup, "`N` to SSLRequest with `sslmode=require`" => client_case(
        || rc::ssl(SslMode::Require),
        |_| b"N".to_vec(),
        ClientError::Tls("the server does not support TLS, but TLS was required"),
    );
    R120: Startup, "NegotiateProtocolVersion to 3.5 when 3.0 was asked for" => client_case(
        rc::fresh,
        |_| rc::npv(ProtocolVersion { major: 3, minor: 5 }, &[]),
        protocol("NegotiateProtocolVersion to 3.5, above the 3.0 asked for"),
    );
    R121: Startup, "NegotiateProtocolVersion naming an option the client did not send" => client_case(
        rc::fresh,
        |_| rc::npv(ProtocolVersion::V3_0, &["_pq_.surprise"]),
        protocol("NegotiateProtocolVersion names option _pq_.surprise, which was not sent"),
    );
    R122: Startup, "NegotiateProtocolVersion below `min_protocol` 3.2" => client_case(
        || {
            let mut c = rc::config();
            c.min_protocol = ProtocolVersion::V3_2;
            c.max_protocol = ProtocolVersion::V3_2;
            rc::start(c)
        },
        |_| rc::npv(ProtocolVersion::V3_0, &[]),
        ClientError::ProtocolVersion { server: ProtocolVersion::V3_0, min: ProtocolVersion::V3_2 },
    );
    R123: Startup, "a second NegotiateProtocolVersion" => client_case(
        || {
            let mut c = rc::config();
            c.max_protocol = ProtocolVersion::V3_2;
            rc::start(c)
        },
        |_| rc::cat(&[
            &rc::npv(ProtocolVersion::V3_0, &[]),
            &rc::npv(ProtocolVersion::V3_0, &[]),
        ]),
        protocol("a second NegotiateProtocolVersion"),
    );
    R124: Startup, "a backend message type that does not exist (`Q`)" => client_case(
        rc::fresh,
        |_| rc::frame(b'Q', b"SELECT 1\0"),
        decode_error(DecodeError::UnknownMessageType { direction: Direction::Backend, tag: b'Q' }),
    );
    R125: Startup, "a DataRow between AuthenticationOk and ReadyForQuery" => client_case(
        rc::fresh,
        |_| rc::cat(&[&rc::auth(Authentication::Ok), &rc::data_row(&[Some(b"1")])]),
        protocol("unexpected DataRow during startup"),
    );
    R126: Startup, "FATAL 53300 after AuthenticationOk (too many connections)" => client_case(
        rc::fresh,
        |_| rc::cat(&[
            &rc::auth(Authentication::Ok),
            &rc::error("FATAL", "53300", "sorry, too many clients already"),
        ]),
        rc::server_error("FATAL", "53300", "sorry, too many clients already"),
    );

    // ----- client: authentication ------------------------------------------------------------------
    R127: Auth, "an authentication request over libpq's 2000-byte pre-authentication limit" => client_case(
        rc::fresh,
        |_| rc::header(b'R', 2001),
        too_large(b'R', 2001, 2000),
    );
    R128: Auth, "an unknown authentication request code (99)" => client_case(
        rc::fresh,
        |_| rc::frame(b'R', &99i32.to_be_bytes()),
        decode_error(DecodeError::UnknownAuthenticationType { code: 99 }),
    );
    R129: Auth, "FATAL 28P01 answering the password" => client_case(
        rc::fresh,
        |_| rc::error("FATAL", "28P01", "password authentication failed for user \"alice\""),
        rc::server_error("FATAL", "28P01", "password authentication failed for user \"alice\""),
    );
    R130: Auth, "ParameterStatus before AuthenticationOk" => client_case(
        rc::fresh,
        |_| rc::param("server_version", "18.0"),
        protocol("unexpected ParameterStatus during authentication"),
    );
    R131: Auth, "ReadyForQuery before AuthenticationOk" => client_case(
        rc::fresh,
        |_| rc::ready(TransactionStatus::Idle),
        protocol("unexpected ReadyForQuery during authentication"),
    );
    R132: Auth, "a password request when no password is configured" => client_case(
        || {
            let mut c = rc::config();
            c.password = None;
            rc::start(c)
        },
        |_| rc::auth(Authentication::CleartextPassword),
        ClientError::PasswordRequired,
    );
    R133: Auth, "cleartext password requested with `channel_binding=require`" => client_case(
        || {
            let mut c = rc::config();
            c.channel_binding = pgproto::auth::ChannelBindingPolicy::Require;
            rc::start(c)
        },
        |_| rc::auth(Authentication::CleartextPassword),
        ClientError::Auth(AuthError::ChannelBindingRequired(
            "the server asked for an authentication method without channel binding",
        )),
    );
    R134: Auth, "AuthenticationOk without any exchange with `channel_binding=require`" => client_case(
        || {
            let mut c = rc::config();
            c.channel_binding = pgproto::auth::ChannelBindingPolicy::Require;
            rc::start(c)
        },
        |_| rc::auth(Authentication::Ok),
        ClientError::Auth(AuthError::ChannelBindingRequired(
            "the server authenticated the client without channel binding",
        )),
    );
    R135: Auth, "GSSAPI authentication requested" => client_case(
        rc::fresh,
        |_| rc::auth(Authentication::Gss),
        ClientError::UnsupportedAuthentication("GSSAPI"),
    );
    R136: Auth, "SASL offering only mechanisms the client does not speak" => client_case(
        rc::fresh,
        |_| rc::sasl(&["SCRAM-SHA-1", "OAUTHBEARER"]),
        ClientError::Auth(AuthError::NoSupportedMechanism),
    );
    R137: Auth, "AuthenticationSASLContinue without AuthenticationSASL" => client_case(
        rc::fresh,
        |_| rc::sasl_continue(b"r=abc,s=c2FsdA==,i=4096"),
        protocol("AuthenticationSASLContinue without SASL"),
    );
    R138: Auth, "a second AuthenticationSASL" => client_case(
        rc::sasl_started,
        |_| rc::sasl(&["SCRAM-SHA-256"]),
        protocol("a second AuthenticationSASL"),
    );
    R139: Auth, "SCRAM server-first whose nonce does not extend the client's" => client_case(
        rc::sasl_started,
        |_| rc::sasl_continue(b"r=someoneelse,s=MDEyMzQ1Njc4OWFiY2RlZg==,i=4096"),
        ClientError::Auth(AuthError::Malformed("the server nonce does not extend the client nonce")),
    );
    R140: Auth, "SCRAM server-first with iteration count 0" => client_case(
        rc::sasl_started,
        |c| rc::sasl_continue(&rc::server_first(c, 0)),
        ClientError::Auth(AuthError::IterationCount { count: 0, min: 1000, max: 10_000_000 }),
    );
    R141: Auth, "SCRAM server-first with iteration count 2^31 (minutes of work)" => client_case(
        rc::sasl_started,
        |c| rc::sasl_continue(&rc::server_first(c, 1 << 31)),
        ClientError::Auth(AuthError::IterationCount { count: 1 << 31, min: 1000, max: 10_000_000 }),
    );
    R142: Auth, "SCRAM server-final with a wrong server signature" => client_case(
        rc::sasl_started,
        |c| {
            let first = rc::server_first(c, 1000);
            let fin = format!("v={}", b64(&[0; 32]));
            rc::cat(&[&rc::sasl_continue(&first), &rc::sasl_final(fin.as_bytes())])
        },
        ClientError::Auth(AuthError::ServerSignatureMismatch),
    );
    R143: Auth, "SCRAM: AuthenticationOk without AuthenticationSASLFinal" => client_case(
        rc::sasl_started,
        |c| {
            let first = rc::server_first(c, 1000);
            rc::cat(&[&rc::sasl_continue(&first), &rc::auth(Authentication::Ok)])
        },
        ClientError::Auth(AuthError::MissingServerFinal),
    );
    R144: Auth, "SCRAM server-final reporting an error (`e=invalid-proof`)" => client_case(
        rc::sasl_started,
        |c| {
            let first = rc::server_first(c, 1000);
            rc::cat(&[&rc::sasl_continue(&first), &rc::sasl_final(b"e=invalid-proof")])
        },
        ClientError::Auth(AuthError::ServerError("invalid-proof".into())),
    );

    // ----- client: simple query --------------------------------------------------------------------
    R145: Simple, "a CommandComplete length word of 30,001 (over libpq's 30,000 for small types)" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::header(b'C', 30_001),
        too_large(b'C', 30_001, 30_000),
    );
    R146: Simple, "a DataRow length word of 1 GiB (over the 0x3FFFFFFF large-type limit)" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::cat(&[&rc::row_description(&["a"]), &rc::header(b'D', 0x4000_0000)]),
        too_large(b'D', 0x4000_0000, 0x3FFF_FFFF),
    );
    R147: Simple, "a DataRow over a configured `limits.large` of 1000" => client_case(
        || {
            let mut config = rc::config();
            config.limits = BackendLimits { small: 100, large: 1000 };
            let mut c = rc::start(config);
            rc::feed(&mut c, &rc::login_bytes());
            c.query("SELECT 1").unwrap();
            while c.poll_transmit().is_some() {}
            c
        },
        |_| rc::cat(&[&rc::row_description(&["a"]), &rc::header(b'D', 1001)]),
        too_large(b'D', 1001, 1000),
    );
    R148: Simple, "a length word of 3 (below 4)" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::header(b'Z', 3),
        decode_error(DecodeError::LengthTooSmall { frame: Frame::Typed(b'Z'), length: 3 }),
    );
    R149: Simple, "ReadyForQuery with status `X`" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::frame(b'Z', b"X"),
        decode_error(DecodeError::InvalidTransactionStatus { status: b'X' }),
    );
    R150: Simple, "a CommandComplete whose tag has no terminator" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::frame(b'C', b"SELECT 1"),
        decode_error(DecodeError::MissingTerminator { frame: Frame::Typed(b'C'), field: "command tag" }),
    );
    R151: Simple, "a DataRow before any RowDescription" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::data_row(&[Some(b"1")]),
        protocol("server sent data (\"D\" message) without prior row description"),
    );
    R152: Simple, "ParseComplete answering a Query" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::msg(BackendMessage::ParseComplete),
        protocol("unexpected ParseComplete in answer to Query"),
    );
    R153: Simple, "a DataRow with no request pending" => client_case(
        rc::connected,
        |_| rc::data_row(&[Some(b"1")]),
        protocol("unexpected DataRow with no request pending"),
    );
    R154: Simple, "an authentication request after login" => client_case(
        rc::connected,
        |_| rc::auth(Authentication::CleartextPassword),
        protocol("an authentication request after login"),
    );
    R155: Simple, "FATAL 57P01 while idle (administrator shutdown)" => client_case(
        rc::connected,
        |_| rc::error("FATAL", "57P01", "terminating connection due to administrator command"),
        rc::server_error("FATAL", "57P01", "terminating connection due to administrator command"),
    );
    R156: Simple, "FATAL answering a Query (the query gets the error, then the connection closes)" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::error("FATAL", "57P01", "terminating connection due to administrator command"),
        rc::server_error("FATAL", "57P01", "terminating connection due to administrator command"),
    );
    R157: Simple, "EOF while a Query waits for its answer" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |c| {
            c.handle_eof(std::time::Instant::now());
            Vec::new()
        },
        ClientError::Closed,
    );

    // ----- client: extended query ------------------------------------------------------------------
    R158: Extended, "BindComplete answering a Parse" => client_case(
        || rc::after(|c| { c.parse("s", "SELECT 1", &[]).unwrap(); }),
        |_| rc::msg(BackendMessage::BindComplete),
        protocol("unexpected BindComplete in answer to Parse"),
    );
    R159: Extended, "ReadyForQuery answering a Parse (no Sync was sent)" => client_case(
        || rc::after(|c| { c.parse("s", "SELECT 1", &[]).unwrap(); }),
        |_| rc::ready(TransactionStatus::Idle),
        protocol("unexpected ReadyForQuery in answer to Parse"),
    );
    R160: Extended, "RowDescription before ParameterDescription answering Describe statement" => client_case(
        || rc::after(|c| { c.describe_statement("s").unwrap(); }),
        |_| rc::row_description(&["a"]),
        protocol("unexpected RowDescription in answer to DescribeStatement { got_params: false }"),
    );
    R161: Extended, "NoData answering an Execute" => client_case(
        || rc::after(|c| { c.execute("", 0).unwrap(); }),
        |_| rc::msg(BackendMessage::NoData),
        protocol("unexpected NoData in answer to Execute"),
    );
    R162: Extended, "PortalSuspended answering a Query" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::msg(BackendMessage::PortalSuspended),
        protocol("unexpected PortalSuspended in answer to Query"),
    );
    R163: Extended, "FATAL answering a Bind" => client_case(
        || rc::after(|c| { c.bind("", "s", &[], [], &[]).unwrap(); }),
        |_| rc::error("FATAL", "57P01", "terminating connection due to administrator command"),
        rc::server_error("FATAL", "57P01", "terminating connection due to administrator command"),
    );

    // ----- client: COPY ----------------------------------------------------------------------------
    R164: Copy, "CopyData without a CopyOutResponse" => client_case(
        || rc::after(|c| { c.query("COPY t TO STDOUT").unwrap(); }),
        |_| rc::copy_data(b"1\n"),
        protocol("server sent COPY data without a COPY response"),
    );
    R165: Copy, "ReadyForQuery while the client sends COPY FROM STDIN data" => client_case(
        || rc::copying(CopyResponseKind::In),
        |_| rc::ready(TransactionStatus::Idle),
        protocol("ReadyForQuery while COPY FROM STDIN data is being sent"),
    );
    R166: Copy, "CopyInResponse answering a Parse" => client_case(
        || rc::after(|c| { c.parse("s", "COPY t FROM STDIN", &[]).unwrap(); }),
        |_| rc::copy_response(CopyResponseKind::In),
        protocol("unexpected CopyInResponse in answer to Parse"),
    );
    R167: Copy, "EOF in the middle of a CopyData during COPY TO STDOUT" => client_case(
        || rc::copying(CopyResponseKind::Out),
        |c| {
            let half = rc::copy_data(b"1\tone\n");
            c.handle_input(std::time::Instant::now(), &half[..6]);
            c.handle_eof(std::time::Instant::now());
            Vec::new()
        },
        ClientError::Closed,
    );

    // ----- client: function call -------------------------------------------------------------------
    R168: FunctionCall, "a DataRow answering a FunctionCall" => client_case(
        || rc::after(|c| { c.function_call(177, &[], [Some(&b"1"[..])], 0).unwrap(); }),
        |_| rc::data_row(&[Some(b"1")]),
        protocol("unexpected DataRow in answer to FunctionCall { got_result: false }"),
    );
    R169: FunctionCall, "two FunctionCallResponses for one FunctionCall" => client_case(
        || rc::after(|c| { c.function_call(177, &[], [Some(&b"1"[..])], 0).unwrap(); }),
        |_| {
            let mut b = BytesMut::new();
            pgproto::message::FunctionCallResponse::write(&mut b, Some(b"1")).unwrap();
            let one = b.to_vec();
            rc::cat(&[&one, &one])
        },
        protocol("unexpected FunctionCallResponse in answer to FunctionCall { got_result: true }"),
    );
    R170: FunctionCall, "a FunctionCallResponse answering a Query" => client_case(
        || rc::after(|c| { c.query("SELECT 1").unwrap(); }),
        |_| rc::frame(b'V', b"\0\0\0\x011"),
        protocol("unexpected FunctionCallResponse in answer to Query"),
    );
    R171: FunctionCall, "a FunctionCallResponse with a value length of -2" => client_case(
        || rc::after(|c| { c.function_call(177, &[], [Some(&b"1"[..])], 0).unwrap(); }),
        |_| rc::frame(b'V', b"\xff\xff\xff\xfe"),
        decode_error(DecodeError::InvalidLength { frame: Frame::Typed(b'V'), field: "result value", length: -2 }),
    );

    // ----- client: cancel keys -----------------------------------------------------------------------
    R172: Cancel, "BackendKeyData with a 5-byte key under protocol 3.0" => client_case(
        rc::fresh,
        |_| rc::cat(&[&rc::auth(Authentication::Ok), &rc::key(1, &[1, 2, 3, 4, 5])]),
        ClientError::InvalidCancelKey(5),
    );
    R173: Cancel, "BackendKeyData with an empty key" => client_case(
        rc::fresh,
        |_| rc::cat(&[&rc::auth(Authentication::Ok), &rc::frame(b'K', &1i32.to_be_bytes())]),
        decode_error(DecodeError::InvalidCancelKeyLength { frame: Frame::Typed(b'K'), length: 0 }),
    );
    R174: Cancel, "BackendKeyData with a 257-byte key under protocol 3.2" => client_case(
        || {
            let mut c = rc::config();
            c.max_protocol = ProtocolVersion::V3_2;
            rc::start(c)
        },
        |_| rc::cat(&[
            &rc::auth(Authentication::Ok),
            &rc::frame(b'K', &[&1i32.to_be_bytes()[..], &[7; 257]].concat()),
        ]),
        decode_error(DecodeError::InvalidCancelKeyLength { frame: Frame::Typed(b'K'), length: 257 }),
    );
    R175: Cancel, "BackendKeyData after ReadyForQuery" => client_case(
        rc::connected,
        |_| rc::key(1, &[1, 2, 3, 4]),
        protocol("unexpected BackendKeyData with no request pending"),
    );
}

// ===== the document =============================================================================

/// The faults of tests/faults.rs: (id, side, test, scenario, bounded outcome).
const FAULTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "F01",
        "server",
        "server_disconnect_mid_message",
        "The client closes with part of a Parse buffered (cut at every byte of it).",
        "No event for the partial message; `handle_eof` gives `Terminated(ClientClosed)`; no \
         output; the rest of the message, more EOFs and timers change nothing; answers get \
         `ApiError::Closed`.",
    ),
    (
        "F02",
        "client",
        "client_disconnect_mid_message",
        "The server closes in the middle of a DataRow (cut at every byte of it).",
        "The RowDescription was reported, nothing for the partial row; \
         `Event::Closed(Some(ClientError::Closed))`; later input ignored, every call refused \
         with `ClientError::Closed`.",
    ),
    (
        "F03",
        "server",
        "server_disconnect_mid_copy",
        "The client closes during COPY FROM STDIN after two CopyData and half of a third.",
        "`CopyData`, `CopyData`, `Terminated(ClientClosed)`; the application's \
         `command_complete` gets `ApiError::Closed`; nothing is sent.",
    ),
    (
        "F04",
        "client",
        "client_disconnect_mid_copy",
        "The server closes during COPY TO STDOUT (half a CopyData buffered), and during COPY \
         FROM STDIN while the client sends data.",
        "`Event::Closed(Some(ClientError::Closed))`; `copy_data` and `copy_done` refused with \
         `ClientError::Closed`.",
    ),
    (
        "F05",
        "server",
        "server_disconnect_mid_authentication",
        "The client closes after the server's SCRAM server-first message (a client and a server \
         connection paired in memory).",
        "`Terminated(ClientClosed)`; no FATAL is written; the authentication timer is disarmed.",
    ),
    (
        "F06",
        "client",
        "client_disconnect_mid_authentication",
        "The server closes after the client's SCRAM client-final message.",
        "`Event::Closed(Some(ClientError::Closed))`; never `Connected`, no cancel token.",
    ),
    (
        "F07",
        "server",
        "server_disconnect_mid_pipeline",
        "The client closes while the application answers the second of three pipelined \
         Parse/Bind/Execute/Sync batches.",
        "`Terminated(ClientClosed)`; the third batch never becomes events; further rows get \
         `ApiError::Closed`; the two statements and the portal then held (application data \
         included) are dropped with the connection.",
    ),
    (
        "F08",
        "client",
        "client_disconnect_mid_pipeline",
        "The server closes after answering one batch and part of the second of three pipelined \
         batches (12 requests).",
        "Responses for what arrived, then `Event::Closed(Some(ClientError::Closed))` and \
         nothing for the 7 requests still pending; every call refused. (`pending_requests()` \
         still counts them: the ignored test `client_pending_requests_end_when_closed`.)",
    ),
    (
        "F09",
        "server",
        "server_client_never_reads",
        "The application writes 1,011-byte rows while `output_full()` is false; the driver \
         never writes anything (default `max_output`, 1 MiB).",
        "`output_full()` turns true after 1,038 rows, with 1,049,451 bytes buffered \
         (≤ `max_output` + one row); the application stays paused until the driver drains the \
         buffer, then completes the query.",
    ),
    (
        "F10",
        "server",
        "server_slow_drip_startup",
        "A 138-byte startup packet sent one byte per virtual second (`handle_timeout` whenever \
         `poll_timeout` is due).",
        "The deadline stays at connect + 60 s; at 60 s the connection closes silently: \
         `Terminated(Fatal { 57014, \"canceling authentication due to timeout\" })`, no bytes, \
         later bytes ignored. A password dripping after a complete startup packet gets \
         `E FATAL 57014` instead.",
    ),
    (
        "F11",
        "server",
        "server_flood_of_10000_pipelined_messages",
        "10,000 messages (2,500 × Parse, Bind, Execute, Sync; 143,890 bytes) in one read.",
        "Every batch answered in order (`1`, `2`, `D` with the batch's own parameter, `C`, \
         `Z I`); under 256 bytes buffered between drains; peak heap growth under the input \
         size + 256 KiB (about 250 KB).",
    ),
    (
        "F12",
        "client",
        "client_unbounded_row",
        "A DataRow header declaring 1 GiB.",
        "With libpq's limit: `Closed(Some(Decode(LengthTooLarge { length: 1073741824, limit: \
         1073741823 })))` after the 5-byte header, under 64 KiB allocated. With \
         `limits.large` raised: 1 MiB of the body fed, no event, peak heap growth within 64 KiB \
         of the bytes fed.",
    ),
    (
        "F13",
        "server",
        "server_unbounded_message",
        "A Query header declaring 0x3FFFFFFE bytes (the largest allowed), then 1 MiB of it.",
        "No event, no output; peak heap growth within 64 KiB of the bytes fed; EOF ends it with \
         `Terminated(ClientClosed)`.",
    ),
];

fn doc_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/robustness.md")
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn code_list(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Typed(68)` → `Typed(b'D')` in Debug output.
fn readable(debug: String) -> String {
    let mut out = String::new();
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Typed(") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let end = rest.find(')').unwrap_or(0);
        match rest[..end].parse::<u8>() {
            Ok(b) if b.is_ascii_graphic() => {
                out.push_str(&format!("b'{}'", b as char));
                rest = &rest[end..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

fn client_error_text(e: &ClientError) -> String {
    match e {
        ClientError::Server(f) => {
            let get = |c: u8| String::from_utf8_lossy(f.get(c).unwrap_or_default()).into_owned();
            format!(
                "Server(S={} C={} M=\"{}\")",
                get(b'S'),
                get(b'C'),
                get(b'M')
            )
        }
        other => readable(format!("{other:?}")),
    }
}

fn outcome_text(row: &Row) -> String {
    let text = match &row.case {
        Case::Server(s) => {
            let mut parts = Vec::new();
            if s.replies.is_empty() {
                if s.state == State::Closed {
                    parts.push("closed silently (no bytes)".to_string());
                } else {
                    parts.push("no reply".to_string());
                }
            } else {
                parts.push(code_list(s.replies));
            }
            if !s.events.is_empty() {
                parts.push(format!("app: {}", code_list(s.events)));
            }
            parts.join("; ")
        }
        Case::Client(c) => format!(
            "`Event::Closed(Some(ClientError::{}))`",
            client_error_text(&c.error)
        ),
    };
    match row.bug {
        Some(bug) => format!("{text} **{}**", bug.replacen("bug:", "Bug:", 1)),
        None => text,
    }
}

fn state_text(row: &Row) -> &'static str {
    match &row.case {
        Case::Server(s) => s.state.text(),
        Case::Client(_) => "closed (input ignored, every call refused with `ClientError::Closed`)",
    }
}

fn catalogue_markdown() -> String {
    let mut s = String::from(
        "| ID | Side | Phase | Input | Exact outcome | Resulting state |\n\
         |---|---|---|---|---|---|\n",
    );
    for row in table() {
        let side = match row.side() {
            Side::Server => "server",
            Side::Client => "client",
        };
        s.push_str(&format!(
            "| {} | {side} | {} | {} | {} | {} |\n",
            row.id,
            row.phase.name(),
            cell(row.desc),
            cell(&outcome_text(&row)),
            cell(state_text(&row)),
        ));
    }
    s
}

fn bugs_markdown() -> String {
    let mut s = String::new();
    for row in table() {
        if let Some(bug) = row.bug {
            let side = match row.side() {
                Side::Server => "server",
                Side::Client => "client",
            };
            let note = bug.strip_prefix("bug: ").unwrap_or(bug);
            let mut chars = note.chars();
            let note: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            s.push_str(&format!(
                "- **{}** ({side}, {}, *{}*): {note}.\n",
                row.id,
                row.phase.name(),
                row.desc,
            ));
        }
    }
    s
}

fn faults_markdown() -> String {
    let mut s = String::from(
        "| ID | Side | Fault | Bounded outcome | Test (tests/faults.rs) |\n|---|---|---|---|---|\n",
    );
    for (id, side, test, fault, outcome) in FAULTS {
        s.push_str(&format!(
            "| {id} | {side} | {} | {} | `{test}` |\n",
            cell(fault),
            cell(outcome)
        ));
    }
    s
}

fn limits_markdown() -> String {
    let f = FrontendLimits::default();
    let b = BackendLimits::default();
    let server = pgproto::server::Config::default();
    let client = client::Config::new("u");
    let scram = pgproto::auth::ScramClientConfig::default();
    let rows: Vec<(String, String, String)> = vec![
        (
            "Startup packet payload (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest), \
             without the length word"
                .into(),
            f.startup.to_string(),
            "`server::Config::limits.startup` (`FrontendLimits`)".into(),
        ),
        (
            "Client message length word, small types (`C D E H S X c f`)".into(),
            f.small.to_string(),
            "`server::Config::limits.small`".into(),
        ),
        (
            "Client message length word, large types (`Q F P B d`)".into(),
            format!("{:#X}", f.large),
            "`server::Config::limits.large`".into(),
        ),
        (
            "Client `p` message length word (password, SASL, GSS) during authentication".into(),
            f.auth.to_string(),
            "`server::Config::limits.auth`".into(),
        ),
        (
            "Server message length word, small types (all but `T D d V E N A`)".into(),
            b.small.to_string(),
            "`client::Config::limits.small` (`BackendLimits`)".into(),
        ),
        (
            "Server message length word, large types (`T D d V E N A`)".into(),
            format!("{:#X}", b.large),
            "`client::Config::limits.large`".into(),
        ),
        (
            "Server message length word of small types before AuthenticationOk (libpq's \
             authentication limit)"
                .into(),
            "2000 (or `limits.small` if lower)".into(),
            "fixed; lifted at AuthenticationOk".into(),
        ),
        (
            "Authentication timeout: connect to authenticated (startup packet included)".into(),
            format!("{} s", server.authentication_timeout.as_secs()),
            "`server::Config::authentication_timeout`".into(),
        ),
        (
            "Idle session timeout (57P05) and idle-in-transaction timeout (25P03)".into(),
            "off".into(),
            "`server::Connection::set_idle_timeout`, `set_idle_in_transaction_timeout`".into(),
        ),
        (
            "Outbound buffer: `output_full()` is true above".into(),
            format!("{} bytes", server.max_output),
            "`server::Config::max_output`".into(),
        ),
        (
            "Outbound buffer: output offered to the driver mid-result once this many bytes are \
             buffered (server)"
                .into(),
            format!("{} bytes", server.flush_threshold),
            "`server::Config::flush_threshold`".into(),
        ),
        (
            "Outbound buffer: pipelined requests offered to the driver before Sync/Flush once \
             this many bytes are buffered (client)"
                .into(),
            format!("{} bytes", client.flush_threshold),
            "`client::Config::flush_threshold`".into(),
        ),
        (
            "Prepared statements per session (ERROR 54000 beyond)".into(),
            server.max_statements.to_string(),
            "`server::Config::max_statements`".into(),
        ),
        (
            "Portals per session (ERROR 54000 beyond)".into(),
            server.max_portals.to_string(),
            "`server::Config::max_portals`".into(),
        ),
        (
            "SCRAM iteration count a server may ask of the client".into(),
            format!("{} to {}", scram.min_iterations, scram.max_iterations),
            "`client::Config::scram` (`ScramClientConfig::min_iterations`, `max_iterations`)"
                .into(),
        ),
    ];
    let mut s = String::from("| Limit | Default | Configured in |\n|---|---|---|\n");
    for (what, default, r#where) in rows {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&what),
            cell(&default),
            cell(&r#where)
        ));
    }
    s
}

/// The text between `<!-- name:begin -->` and `<!-- name:end -->`.
fn section<'d>(doc: &'d str, name: &str) -> (usize, usize, &'d str) {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let b = doc.find(&begin).unwrap_or_else(|| panic!("no {begin}")) + begin.len();
    let e = doc.find(&end).unwrap_or_else(|| panic!("no {end}"));
    (b, e, &doc[b..e])
}

/// The doc's catalogue table, parsed: (id, side, phase, input) per row.
fn doc_rows(table: &str) -> Vec<[String; 4]> {
    table
        .lines()
        .skip(2)
        .map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace("\\|", "|"))
                .collect();
            assert!(cells.len() >= 4, "a malformed table line: {line}");
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
            ]
        })
        .collect()
}

#[test]
fn catalogue_matches_the_doc() {
    let path = doc_path();
    let mut doc = std::fs::read_to_string(&path).expect("docs/robustness.md");
    let generated = [
        ("catalogue", catalogue_markdown()),
        ("bugs", bugs_markdown()),
        ("faults", faults_markdown()),
        ("limits", limits_markdown()),
    ];
    if std::env::var_os("ROBUSTNESS_BLESS").is_some() {
        for (name, text) in &generated {
            let (b, e, _) = section(&doc, name);
            doc.replace_range(b..e, text);
        }
        std::fs::write(&path, &doc).unwrap();
    }
    // The rows, by id and description (the first thing to drift).
    let (_, _, listed) = section(&doc, "catalogue");
    let listed = doc_rows(listed);
    let want: Vec<[String; 4]> = table()
        .iter()
        .map(|r| {
            let side = if r.side() == Side::Server {
                "server"
            } else {
                "client"
            };
            [
                r.id.to_string(),
                side.to_string(),
                r.phase.name().to_string(),
                r.desc.to_string(),
            ]
        })
        .collect();
    for (got, want) in listed.iter().zip(&want) {
        assert_eq!(got, want, "docs/robustness.md lists another row");
    }
    assert_eq!(
        listed.len(),
        want.len(),
        "docs/robustness.md lists {} rows, the tests have {}",
        listed.len(),
        want.len()
    );
    // Then every cell (outcomes and states), and the faults and limits tables.
    for (name, text) in &generated {
        let (_, _, found) = section(&doc, name);
        assert_eq!(
            found, text,
            "docs/robustness.md: the {name} table differs from the tests \
             (ROBUSTNESS_BLESS=1 rewrites it)"
        );
    }
}

/// The ids the document's own prose mentions (outside the generated tables) all exist.
#[test]
fn the_doc_mentions_only_rows_that_exist() {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/robustness.md");
    let mut prose = doc.clone();
    for name in ["catalogue", "bugs", "faults", "limits"] {
        let (b, e, _) = section(&prose, name);
        prose.replace_range(b..e, "");
    }
    let ids: Vec<&str> = table().iter().map(|r| r.id).collect();
    let bytes = prose.as_bytes();
    let mut mentioned = 0;
    for (i, _) in prose.match_indices('R') {
        let digits = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let before = i.checked_sub(1).map(|j| bytes[j]);
        if digits == 0 || before.is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let after = bytes.get(i + 1 + digits);
        if after.is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let id = &prose[i..i + 1 + digits];
        assert!(
            ids.contains(&id),
            "docs/robustness.md mentions {id}, which is no row"
        );
        mentioned += 1;
    }
    assert!(mentioned > 0);
}

#[test]
fn every_row_has_a_test_and_bugs_are_ignored() {
    let table = table();
    assert_eq!(table.len(), TESTS.len());
    let mut ids: Vec<&str> = table.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), table.len(), "duplicate row ids");
    for (row, (id, ignored)) in table.iter().zip(TESTS) {
        assert_eq!(row.id, *id);
        assert_eq!(row.bug.is_some(), *ignored, "{id}");
    }
    assert!(table.len() >= 70, "the catalogue has {} rows", table.len());
    for phase in [
        Phase::Startup,
        Phase::Auth,
        Phase::Simple,
        Phase::Extended,
        Phase::Copy,
        Phase::FunctionCall,
        Phase::Cancel,
    ] {
        for side in [Side::Server, Side::Client] {
            assert!(
                table.iter().any(|r| r.phase == phase && r.side() == side),
                "no {side:?} row for {phase:?}"
            );
        }
    }
    // The faults are tests of tests/faults.rs.
    let faults = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults.rs"),
    )
    .expect("tests/faults.rs");
    for (id, _, test, _, _) in FAULTS {
        assert!(
            faults.contains(&format!("fn {test}()")),
            "{id}: no test {test} in tests/faults.rs"
        );
    }
}
