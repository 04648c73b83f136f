//! Allocations on the hot paths of both connections, counted with a global allocator. Once
//! warmed up, a server answering a query of 2,000 rows by 10 columns makes exactly as many
//! allocations as one answering 1,000 rows (none per row, a few per query), in the simple and
//! in the extended protocol; a client reading those results likewise; and the message layer's
//! run API (`split_frames`) reads both directions without allocating at all.
//!
//! The driver here behaves like an event loop: after every answer (each row included) it
//! drains `poll_transmit` and drops the bytes, as if written. The server offers output at
//! ReadyForQuery and whenever 64 KiB are buffered (`Config::flush_threshold`), so a result is
//! one flush per 64 KiB plus one at its end; a flushed buffer is reused in place once the bytes
//! are dropped, so flushes allocate nothing either. The client is fed the server's bytes in
//! 16 KiB chunks and its events are taken (and dropped) after each chunk, which lets it reuse
//! its input buffer in place too. (An application that keeps an event, a row or a
//! RowDescription, across `handle_input` pins the buffer it was cut from: the next chunk then
//! goes into a new buffer, three allocations, once per pinned buffer rather than per row.)

use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

use bytes::BytesMut;
use pgproto::client::{self, Response};
use pgproto::message::{
    BackendDecoder, BackendView, Bind, DataRow, Describe, Execute, Format, FrontendDecoder,
    FrontendMessage, FrontendPhase, Parse, ProtocolVersion, Query, StartupMessage, Target,
    TransactionStatus,
};
use pgproto::server::{self, Auth, Column, Config, Event};
use pgproto::types::{
    self, Bytea, Numeric, RowWriter, Session, TimestampTz, Uuid, ValueError, oid,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::count;

/// The most allocations one query may take, whatever its size: a handful of per-query
/// objects (the portal's format list, the request's bookkeeping), with room to spare.
const PER_QUERY_LIMIT: usize = 8;

/// How many bytes the client is given at a time.
const CHUNK: usize = 16 * 1024;

type Srv = server::Connection;

// ----- the rows --------------------------------------------------------------------------

/// The result columns.
const COLUMNS: [(&str, u32); 10] = [
    ("id", oid::INT4),
    ("big", oid::INT8),
    ("name", oid::TEXT),
    ("score", oid::FLOAT8),
    ("flag", oid::BOOL),
    ("amount", oid::NUMERIC),
    ("at", oid::TIMESTAMPTZ),
    ("blob", oid::BYTEA),
    ("uid", oid::UUID),
    ("label", oid::VARCHAR),
];

/// The result formats the extended-protocol client asks for: binary where drivers use it,
/// numeric and the strings as text.
const EXTENDED_FORMATS: [i16; 10] = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0];

const NAMES: [&str; 4] = ["alice", "bob", "carol", "a somewhat longer name"];
const LABELS: [&str; 3] = ["red", "green", "blue"];
const BLOB: &[u8] = b"\x00\x01\x02\x7f\x80\xfe\xffbinary bytes";

/// What the server application needs to answer: the columns and a few numeric values, made
/// before anything is counted.
struct App {
    columns: Vec<Column>,
    amounts: Vec<Numeric>,
    session: Session,
    now: Instant,
}

impl App {
    fn new() -> App {
        App {
            columns: COLUMNS.iter().map(|&(n, t)| Column::new(n, t)).collect(),
            amounts: ["0", "12345.678", "-0.0001", "98765432109876543210.5"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect(),
            session: Session::UTC,
            now: Instant::now(),
        }
    }
}

/// Writes row `r`, every value typed, in the formats given.
fn fill(
    w: &mut RowWriter<'_>,
    r: i64,
    formats: &[Format; 10],
    amounts: &[Numeric],
    s: &Session,
) -> Result<(), ValueError> {
    let i = r as usize;
    w.value(&(r as i32), oid::INT4, formats[0], s)?;
    w.value(&(r * 1_000_003), oid::INT8, formats[1], s)?;
    w.value(NAMES[i % NAMES.len()], oid::TEXT, formats[2], s)?;
    w.value(&(r as f64 / 7.0), oid::FLOAT8, formats[3], s)?;
    w.value(&(r % 3 == 0), oid::BOOL, formats[4], s)?;
    w.value(&amounts[i % amounts.len()], oid::NUMERIC, formats[5], s)?;
    let at = TimestampTz::from_unix_micros(1_700_000_000_000_000 + r * 1_000_003);
    w.value(&at, oid::TIMESTAMPTZ, formats[6], s)?;
    w.value(&Bytea(&BLOB[..=i % BLOB.len()]), oid::BYTEA, formats[7], s)?;
    let mut uid = [0x5a; 16];
    uid[..8].copy_from_slice(&r.to_be_bytes());
    w.value(&Uuid::from_bytes(uid), oid::UUID, formats[8], s)?;
    // Every tenth label is NULL.
    let label = (i % 10 != 9).then_some(LABELS[i % LABELS.len()]);
    w.value(&label, oid::VARCHAR, formats[9], s)
}

// ----- the server application and its driver ---------------------------------------------

/// The driver's part after each answer: takes every chunk of output on offer and writes it
/// (appends it to `sent` when the bytes are wanted, else drops it). Returns the chunks taken.
fn drain(conn: &mut Srv, sent: &mut Option<Vec<u8>>) -> usize {
    let mut flushes = 0;
    while let Some(bytes) = conn.poll_transmit() {
        if let Some(sent) = sent {
            sent.extend_from_slice(&bytes);
        }
        flushes += 1;
    }
    flushes
}

/// `SELECT n` in a stack buffer.
fn select_tag(rows: i64, buf: &mut [u8; 32]) -> &str {
    let mut rest = &mut buf[..];
    write!(rest, "SELECT {rows}").unwrap();
    let len = 32 - rest.len();
    std::str::from_utf8(&buf[..len]).unwrap()
}

/// Writes `rows` rows, draining as the driver goes; then CommandComplete.
fn answer_rows(
    conn: &mut Srv,
    app: &App,
    rows: i64,
    formats: &[Format; 10],
    sent: &mut Option<Vec<u8>>,
) -> usize {
    let mut flushes = 0;
    for r in 0..rows {
        conn.write_row(|w| fill(w, r, formats, &app.amounts, &app.session))
            .unwrap();
        flushes += drain(conn, sent);
    }
    let mut tag = [0; 32];
    conn.command_complete(select_tag(rows, &mut tag)).unwrap();
    flushes
}

/// Hands `input` (client bytes) to the server and answers every event as the application
/// would, draining after each answer; returns how many chunks of output were taken. A simple
/// query's row count is the last word of its text; an Execute's is the statement's parameter.
fn serve(conn: &mut Srv, app: &App, input: &[u8], sent: &mut Option<Vec<u8>>) -> usize {
    conn.handle_input(app.now, input);
    let mut flushes = 0;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Startup(_) => conn.authenticate(Auth::Trust).unwrap(),
            Event::Authenticated { .. } => {}
            Event::Query { sql } => {
                let sql = std::str::from_utf8(sql.as_bytes()).unwrap();
                let rows: i64 = sql.rsplit(' ').next().unwrap().parse().unwrap();
                conn.row_description(&app.columns).unwrap();
                flushes += drain(conn, sent);
                flushes += answer_rows(conn, app, rows, &[Format::Text; 10], sent);
                conn.query_done(TransactionStatus::Idle).unwrap();
            }
            Event::Parse { param_types, .. } => {
                assert_eq!(param_types, [oid::INT8]);
                conn.parse_complete(param_types, Some(app.columns.clone()), ())
                    .unwrap();
            }
            Event::Execute { portal, .. } => {
                let (formats, rows) = {
                    let p = conn.portal(portal.as_bytes()).unwrap();
                    let stmt = conn.portal_statement(portal.as_bytes()).unwrap();
                    let formats: [Format; 10] = std::array::from_fn(|i| p.column_format(i));
                    let rows: i64 =
                        types::decode_param(&p.bind, 0, &stmt.param_types, &app.session).unwrap();
                    (formats, rows)
                };
                flushes += answer_rows(conn, app, rows, &formats, sent);
            }
            other => panic!("unexpected {other:?}"),
        }
        flushes += drain(conn, sent);
    }
    flushes + drain(conn, sent)
}

/// A server connection that has logged a client in (trust).
fn login(app: &App) -> Srv {
    let mut conn = Srv::new(Config::default(), app.now);
    let mut wire = BytesMut::new();
    StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "u")]).unwrap();
    serve(&mut conn, app, &wire, &mut None);
    conn
}

/// A simple query for `rows` rows, as the client sends it.
fn simple_request(rows: i64) -> BytesMut {
    let mut wire = BytesMut::new();
    Query::write(&mut wire, &format!("SELECT * FROM t LIMIT {rows}")).unwrap();
    wire
}

/// The statement the extended-protocol tests prepare.
const STATEMENT_SQL: &str = "SELECT * FROM t LIMIT $1";

/// Parse of statement `s`, Describe of it, and Sync: what a driver sends once.
fn prepare_request() -> BytesMut {
    let mut wire = BytesMut::new();
    Parse::write(&mut wire, "s", STATEMENT_SQL, &[oid::INT8]).unwrap();
    Describe::write(&mut wire, Target::Statement, "s").unwrap();
    FrontendMessage::Sync.encode(&mut wire).unwrap();
    wire
}

/// Bind of `s` for `rows` rows (a binary int8), Describe of the portal, Execute, Sync: what
/// libpq's `PQexecPrepared` sends for each query.
fn execute_request(rows: i64) -> BytesMut {
    let mut wire = BytesMut::new();
    let param = rows.to_be_bytes();
    Bind::write(
        &mut wire,
        "",
        "s",
        &[1],
        [Some(&param[..])],
        &EXTENDED_FORMATS,
    )
    .unwrap();
    Describe::write(&mut wire, Target::Portal, "").unwrap();
    Execute::write(&mut wire, "", 0).unwrap();
    FrontendMessage::Sync.encode(&mut wire).unwrap();
    wire
}

/// Counts the allocations of one query answered by `conn`, and the flushes; prints them.
fn measure_server(conn: &mut Srv, app: &App, request: &[u8], what: &str) -> (usize, usize) {
    let (n, flushes) = count(|| serve(conn, app, request, &mut None));
    assert!(!conn.is_closed());
    eprintln!("server, {what}: {n} allocations, {flushes} flushes");
    (n, flushes)
}

/// Warm-up, then 1,000, 2,000 and 1,000 rows again: the same count each time.
fn check_server(conn: &mut Srv, app: &App, requests: &[BytesMut; 2], protocol: &str) {
    for _ in 0..2 {
        for r in requests {
            serve(conn, app, r, &mut None);
        }
    }
    let thousand = format!("{protocol}, 1,000 rows");
    let (a, fa) = measure_server(conn, app, &requests[0], &thousand);
    let (b, fb) = measure_server(conn, app, &requests[1], &format!("{protocol}, 2,000 rows"));
    let (c, _) = measure_server(conn, app, &requests[0], &thousand);
    assert_eq!((a, b), (c, c), "{protocol}: allocations grow with rows");
    // The results were flushed in the middle too, and those flushes allocated nothing.
    assert!(fb > fa && fa > 1, "{protocol}: {fa} and {fb} flushes");
    assert!(
        a <= PER_QUERY_LIMIT,
        "{protocol}: {a} allocations per query"
    );
    // In fact none: the unnamed portal's result-format list is reused from Bind to Bind.
    assert_eq!(a, 0, "{protocol}: allocations per query");
}

#[test]
fn server_simple_query_allocates_nothing_per_row() {
    let app = App::new();
    let mut conn = login(&app);
    check_server(
        &mut conn,
        &app,
        &[simple_request(1000), simple_request(2000)],
        "simple query",
    );
}

#[test]
fn server_extended_query_allocates_nothing_per_row() {
    let app = App::new();
    let mut conn = login(&app);
    serve(&mut conn, &app, &prepare_request(), &mut None);
    check_server(
        &mut conn,
        &app,
        &[execute_request(1000), execute_request(2000)],
        "extended query",
    );
}

// ----- the client ------------------------------------------------------------------------

/// A client connection logged in to a server connection (over memory); returns both.
fn connect(app: &App) -> (client::Connection, Srv) {
    let mut config = client::Config::new("u");
    config.ssl_mode = client::SslMode::Disable;
    let mut client = client::Connection::new(config, app.now);
    let mut server = Srv::new(Config::default(), app.now);
    let startup = client.poll_transmit().unwrap();
    let mut reply = Some(Vec::new());
    serve(&mut server, app, &startup, &mut reply);
    client.handle_input(app.now, &reply.unwrap());
    while let Some(e) = client.poll_event() {
        if let client::Event::Closed(e) = e {
            panic!("login failed: {e:?}");
        }
    }
    assert!(client.is_ready());
    (client, server)
}

/// What the server answers to `request`, as bytes.
fn response(server: &mut Srv, app: &App, request: &[u8]) -> Vec<u8> {
    let mut sent = Some(Vec::new());
    serve(server, app, request, &mut sent);
    sent.unwrap()
}

/// Reads one row as an application would: every value's bytes, and the scalar columns as
/// typed values. (Numeric and text-format bytea are read as bytes only: a `Numeric` owns its
/// digits, and text bytea is decoded into a new buffer.)
fn read_row(row: &DataRow, columns: &[(u32, Format); 10], s: &Session) -> usize {
    let mut total = 0;
    for (v, &(ty, format)) in row.values().zip(columns) {
        total += v.map_or(0, <[u8]>::len);
        match ty {
            oid::INT4 => _ = black_box(types::decode::<i32>(v, ty, format, s).unwrap()),
            oid::INT8 => _ = black_box(types::decode::<i64>(v, ty, format, s).unwrap()),
            oid::FLOAT8 => _ = black_box(types::decode::<f64>(v, ty, format, s).unwrap()),
            oid::BOOL => _ = black_box(types::decode::<bool>(v, ty, format, s).unwrap()),
            oid::TEXT | oid::VARCHAR => {
                _ = black_box(types::decode::<Option<&str>>(v, ty, format, s).unwrap())
            }
            oid::TIMESTAMPTZ => {
                _ = black_box(types::decode::<TimestampTz>(v, ty, format, s).unwrap())
            }
            oid::UUID => _ = black_box(types::decode::<Uuid>(v, ty, format, s).unwrap()),
            _ => {}
        }
    }
    total
}

/// Feeds `response` to the client in chunks, taking the events after each chunk and reading
/// every row; returns the rows read.
fn read_response(client: &mut client::Connection, app: &App, response: &[u8]) -> usize {
    let mut columns = [(0, Format::Text); 10];
    let (mut rows, mut bytes, mut ready) = (0, 0, false);
    for chunk in response.chunks(CHUNK) {
        client.handle_input(app.now, chunk);
        while let Some(event) = client.poll_event() {
            let client::Event::Response { response, .. } = event else {
                panic!("unexpected {event:?}");
            };
            match response {
                Response::RowDescription(d) => {
                    for (c, f) in columns.iter_mut().zip(d.fields()) {
                        *c = (f.type_oid, Format::from_code(f.format).unwrap());
                    }
                }
                Response::DataRow(row) => {
                    rows += 1;
                    bytes += read_row(&row, &columns, &app.session);
                }
                Response::BindComplete | Response::CommandComplete(_) => {}
                Response::Ready(_) => ready = true,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(ready && bytes > 0);
    rows
}

/// Counts the allocations of sending a query (`send`) and reading its `response`.
fn measure_client(
    client: &mut client::Connection,
    app: &App,
    send: &dyn Fn(&mut client::Connection),
    response: &[u8],
    rows: usize,
    what: &str,
) -> usize {
    let (n, read) = count(|| {
        send(client);
        while client.poll_transmit().is_some() {}
        read_response(client, app, response)
    });
    assert_eq!(read, rows);
    eprintln!("client, {what}: {n} allocations");
    n
}

/// Warm-up, then 1,000, 2,000 and 1,000 rows again: the same count each time.
fn check_client(
    client: &mut client::Connection,
    app: &App,
    send: [&dyn Fn(&mut client::Connection); 2],
    responses: &[Vec<u8>; 2],
    protocol: &str,
) {
    for _ in 0..2 {
        for ((s, r), rows) in send.iter().zip(responses).zip([1000, 2000]) {
            measure_client(client, app, *s, r, rows, "warm-up");
        }
    }
    let thousand = format!("{protocol}, 1,000 rows");
    let a = measure_client(client, app, send[0], &responses[0], 1000, &thousand);
    let two = format!("{protocol}, 2,000 rows");
    let b = measure_client(client, app, send[1], &responses[1], 2000, &two);
    let c = measure_client(client, app, send[0], &responses[0], 1000, &thousand);
    assert_eq!((a, b), (c, c), "{protocol}: allocations grow with rows");
    assert!(
        a <= PER_QUERY_LIMIT,
        "{protocol}: {a} allocations per query"
    );
}

#[test]
fn client_simple_query_allocates_nothing_per_row() {
    let app = App::new();
    let (mut client, mut server) = connect(&app);
    let responses = [
        response(&mut server, &app, &simple_request(1000)),
        response(&mut server, &app, &simple_request(2000)),
    ];
    check_client(
        &mut client,
        &app,
        [
            &|c| _ = c.query("SELECT * FROM t LIMIT 1000").unwrap(),
            &|c| _ = c.query("SELECT * FROM t LIMIT 2000").unwrap(),
        ],
        &responses,
        "simple query",
    );
}

/// Bind, Describe, Execute and Sync for `rows` rows, as [`execute_request`] writes them.
fn send_execute(client: &mut client::Connection, rows: i64) {
    let param = rows.to_be_bytes();
    client
        .bind("", "s", &[1], [Some(&param[..])], &EXTENDED_FORMATS)
        .unwrap();
    client.describe_portal("").unwrap();
    client.execute("", 0).unwrap();
    client.sync().unwrap();
}

#[test]
fn client_extended_query_allocates_nothing_per_row() {
    let app = App::new();
    let (mut client, mut server) = connect(&app);
    // Prepare the statement on both sides.
    client.parse("s", STATEMENT_SQL, &[oid::INT8]).unwrap();
    client.describe_statement("s").unwrap();
    client.sync().unwrap();
    let prepare = client.poll_transmit().unwrap();
    assert_eq!(prepare, prepare_request());
    client.handle_input(app.now, &response(&mut server, &app, &prepare));
    while let Some(e) = client.poll_event() {
        assert!(matches!(e, client::Event::Response { .. }), "{e:?}");
    }
    let responses = [
        response(&mut server, &app, &execute_request(1000)),
        response(&mut server, &app, &execute_request(2000)),
    ];
    check_client(
        &mut client,
        &app,
        [&|c| send_execute(c, 1000), &|c| send_execute(c, 2000)],
        &responses,
        "extended query",
    );
}

/// Reads `response` with the message layer's run API, in 16 KiB reads into one reused input
/// buffer, visiting every value of every row; returns the rows read.
fn read_runs(dec: &mut BackendDecoder, input: &mut BytesMut, response: &[u8]) -> usize {
    let mut rows = 0;
    for chunk in response.chunks(CHUNK) {
        input.extend_from_slice(chunk);
        let frames = dec.split_frames(input).unwrap();
        for frame in &frames {
            if let BackendView::DataRow(row) = frame.view().unwrap() {
                rows += 1;
                for v in row.values() {
                    black_box(v.unwrap());
                }
            }
        }
    }
    assert!(input.is_empty());
    rows
}

#[test]
fn message_layer_runs_allocate_nothing_per_message() {
    let app = App::new();
    let mut server = login(&app);
    let responses = [
        response(&mut server, &app, &simple_request(1000)),
        response(&mut server, &app, &simple_request(2000)),
    ];
    let mut dec = BackendDecoder::new();
    let mut input = BytesMut::with_capacity(2 * CHUNK);
    read_runs(&mut dec, &mut input, &responses[0]);
    let (a, rows_a) = count(|| read_runs(&mut dec, &mut input, &responses[0]));
    let (b, rows_b) = count(|| read_runs(&mut dec, &mut input, &responses[1]));
    assert_eq!((rows_a, rows_b), (1000, 2000));
    eprintln!("backend runs: {a} allocations for 1,000 rows, {b} for 2,000");
    assert_eq!((a, b), (0, 0), "the input buffer is reused in place");

    // A server's side: pgbench's extended-protocol traffic, 1,000 and 2,000 query cycles.
    let cycles = |n: usize| {
        let mut out = BytesMut::new();
        for i in 0..n {
            let aid = i.to_string();
            Parse::write(&mut out, "", "SELECT $1::int4", &[oid::INT4]).unwrap();
            Bind::write(&mut out, "", "", &[0], [Some(aid.as_bytes())], &[]).unwrap();
            Describe::write(&mut out, Target::Portal, "").unwrap();
            Execute::write(&mut out, "", 0).unwrap();
            FrontendMessage::Sync.encode(&mut out).unwrap();
        }
        out.to_vec()
    };
    let streams = [cycles(1000), cycles(2000)];
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::Normal);
    let mut read = |stream: &[u8]| {
        let mut messages = 0;
        for chunk in stream.chunks(CHUNK) {
            input.extend_from_slice(chunk);
            for frame in &dec.split_frames(&mut input).unwrap() {
                black_box(frame.view().unwrap());
                messages += 1;
            }
        }
        messages
    };
    read(&streams[0]);
    let (a, n_a) = count(|| read(&streams[0]));
    let (b, n_b) = count(|| read(&streams[1]));
    assert_eq!((n_a, n_b), (5000, 10_000));
    eprintln!("frontend runs: {a} allocations for 5,000 messages, {b} for 10,000");
    assert_eq!((a, b), (0, 0), "the input buffer is reused in place");
}
