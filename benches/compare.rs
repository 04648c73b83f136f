//! pgproto against other Rust implementations of the protocol, on the same bytes, in the same
//! process: `cargo bench --bench compare` runs every workload (about 20 s);
//! `cargo bench --bench compare -- WORKLOAD...` runs some of them.
//!
//! Workloads:
//!
//! - `datarow-decode`: a result set as PostgreSQL sends it (RowDescription, 10,000 DataRows of
//!   10 mixed text columns, CommandComplete, ReadyForQuery; the values are those of
//!   benches/codec.rs, timestamps written as PostgreSQL writes them), decoded by our
//!   `BackendDecoder`, pgwire's `PgWireBackendMessage::decode` and postgres-protocol's
//!   `backend::Message::parse`. `frame` decodes every message; `frame+columns` also visits
//!   every value of every DataRow and sums the lengths (postgres-protocol:
//!   `DataRowBody::ranges`; pgwire has no accessor, so a minimal length-prefix walk over
//!   `DataRow::data`, written here, stands in for one). Ours, `frame`: `split_frames` takes
//!   every complete message at once and each is read in place (`BackendFrame::view`, DataRows
//!   borrowed, every other message decoded to its owned type); value lengths are checked as
//!   `DataRowRef::values` visits them, in `frame+columns`. Ours, `decode`: the
//!   message-at-a-time `BackendDecoder::decode`, which also checks every value length of a
//!   DataRow while decoding it (neither of the others looks inside the row in `frame`).
//! - `fe-extended`, `fe-prepared`: what `pgbench -M extended` sends (Parse/Bind/Describe
//!   portal/Execute/Sync) and what `pgbench -M prepared` sends (Bind/Execute/Sync), 10,000
//!   groups each, decoded by our `FrontendDecoder` (`decode`: `split_frames` and
//!   `FrontendFrame::view`, every message checked and read in place; `decode owned`: the
//!   message-at-a-time `decode` into owned messages) and pgwire's
//!   `PgWireFrontendMessage::decode`.
//! - `datarow-encode`: the same 10,000 rows written as DataRows into an output buffer.
//!   `text`: values already in text form (ours `DataRow::write` from borrowed slices; pgwire's
//!   `DataRowEncoder` fed `Option<&str>`, then the row encoded into the buffer as its server
//!   does); `typed`: Rust values (ours `types::RowWriter`, and the same through
//!   `server::Connection::write_row`; pgwire's `DataRowEncoder` with i32, i64, String, f64,
//!   bool, chrono's `DateTime<Utc>` and rust_decimal's `Decimal`).
//! - `loop`: our `client::Connection` and `server::Connection` wired back to back in memory (one
//!   thread, bytes handed over as the drivers would): sequential simple queries `SELECT 1` (one
//!   row), the same as a prepared statement (Bind/Execute/Sync), and simple queries returning
//!   1,000 rows of 6 columns; the client visits every value.
//!
//! Measurement: each contender's call does its set-up (refilling the input buffer with the
//! stream, clearing the output buffer) outside the timed region, then times only the decode or
//! the encode. Every contender is warmed up and calibrated to about 40 ms per sample; then 15
//! rounds run each contender of a workload once in turn (interleaved, so drift hits all of them
//! alike); the figure is the median sample. `x copy` is the time over that of `copy`, a plain
//! `extend_from_slice` of the same bytes into a reused buffer, timed the same way;
//! `ours/theirs` is their time over ours for the same variant (above 1: we are faster).
//! Allocations are counted by this binary's global allocator around the timed region of a
//! warm call (allocations and reallocations, on this thread).
//!
//! Options: `--only NAME` runs only the contenders whose library, variant or `library variant`
//! is NAME (`--only pgproto`, `--only "pgwire 0.42 frame"`; the `copy` baseline only if it
//! matches). Without `--bench` (as under `cargo test --all-targets`) every contender runs once,
//! untimed, after every output has been checked; `--calls N` makes that N calls, for
//! profiling one contender:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='compare::ours_backend' \
//!     target/release/deps/compare-HASH datarow-decode --only "pgproto frame" --calls 50
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use pgproto::message::{
    BackendDecoder, BackendMessage, BackendView, Bind, CommandComplete, DataRow, Describe, Execute,
    FieldDescription, FrontendDecoder, FrontendMessage, FrontendPhase, Parse, Query,
    RowDescription, Target, TransactionStatus,
};
use pgproto::types::{
    Date, Numeric, RowWriter, Session, Time, Timestamp, TimestampTz, ValueError, oid,
};
use pgproto::{client, message::Format, server};

// ----- allocation counting -------------------------------------------------------------------

/// The system allocator, counting allocations and reallocations made on each thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    ALLOCATIONS.with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

// ----- the harness ---------------------------------------------------------------------------

const SAMPLES: usize = 15;
const SAMPLE_TIME: Duration = Duration::from_millis(40);
const WARMUP: Duration = Duration::from_millis(200);

/// What one call measured: the time of its timed region and the allocations made in it.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    time: Duration,
    allocs: u64,
}

/// Runs `f` as a timed region: its time and allocations. Its result is kept alive.
fn measured(f: impl FnOnce() -> usize) -> Sample {
    let before = allocations();
    let start = Instant::now();
    black_box(f());
    let time = start.elapsed();
    Sample {
        time,
        allocs: allocations() - before,
    }
}

/// One implementation doing one variant of a workload.
struct Contender<'a> {
    lib: &'static str,
    variant: &'static str,
    /// One call: set-up, then a timed region.
    call: Box<dyn FnMut() -> Sample + 'a>,
}

impl<'a> Contender<'a> {
    fn new(
        lib: &'static str,
        variant: &'static str,
        call: impl FnMut() -> Sample + 'a,
    ) -> Contender<'a> {
        Contender {
            lib,
            variant,
            call: Box::new(call),
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.lib, self.variant)
    }
}

const OURS: &str = "pgproto";
const COPY: &str = "copy";
const PGWIRE: &str = "pgwire 0.42";
const PP: &str = "postgres-protocol";

struct Opts {
    timed: bool,
    workloads: Vec<String>,
    only: Option<String>,
    calls: usize,
}

impl Opts {
    fn parse() -> Opts {
        let mut opts = Opts {
            timed: false,
            workloads: Vec::new(),
            only: None,
            calls: 1,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--bench" => opts.timed = true,
                "--only" => opts.only = args.next(),
                "--calls" => {
                    opts.calls = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .expect("--calls takes a number");
                }
                flag if flag.starts_with("--") => {} // cargo's own, such as --nocapture
                name => opts.workloads.push(name.to_string()),
            }
        }
        opts
    }

    fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }

    fn selects(&self, c: &Contender<'_>) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| *o == c.label() || o == c.lib || o == c.variant)
    }
}

/// Runs the contenders of one workload; the median sample of each selected one.
fn run(opts: &Opts, contenders: &mut [Contender<'_>]) -> Vec<Option<Sample>> {
    let selected: Vec<bool> = contenders.iter().map(|c| opts.selects(c)).collect();
    if !opts.timed {
        return contenders
            .iter_mut()
            .zip(&selected)
            .map(|(c, &on)| {
                on.then(|| {
                    let mut last = Sample::default();
                    for _ in 0..opts.calls {
                        last = (c.call)();
                    }
                    last
                })
            })
            .collect();
    }
    let mut per_sample = vec![0u32; contenders.len()];
    for ((c, &on), n) in contenders.iter_mut().zip(&selected).zip(&mut per_sample) {
        if !on {
            continue;
        }
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < WARMUP || calls < 3 {
            (c.call)();
            calls += 1;
        }
        let wall = start.elapsed() / calls;
        *n = (SAMPLE_TIME.as_nanos() / wall.as_nanos().max(1)).clamp(1, 1 << 16) as u32;
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(SAMPLES); contenders.len()];
    let mut allocs = vec![0u64; contenders.len()];
    for _ in 0..SAMPLES {
        for (i, c) in contenders.iter_mut().enumerate() {
            if !selected[i] {
                continue;
            }
            let mut total = Duration::ZERO;
            for _ in 0..per_sample[i] {
                let s = (c.call)();
                total += s.time;
                allocs[i] = s.allocs;
            }
            samples[i].push(total / per_sample[i]);
        }
    }
    samples
        .iter_mut()
        .zip(allocs)
        .zip(&selected)
        .map(|((s, allocs), &on)| {
            on.then(|| {
                s.sort();
                Sample {
                    time: s[SAMPLES / 2],
                    allocs,
                }
            })
        })
        .collect()
}

/// Prints one workload's table: rates per `unit` (messages or rows), `x copy` against the
/// `copy` contender, `ours/theirs` against our contender of the same variant.
fn table(
    opts: &Opts,
    contenders: &[Contender<'_>],
    results: &[Option<Sample>],
    bytes: usize,
    items: usize,
    unit: &str,
) {
    if !opts.timed {
        return;
    }
    let find = |lib: &str, variant: Option<&str>| {
        contenders
            .iter()
            .zip(results)
            .find(|(c, _)| c.lib == lib && variant.is_none_or(|v| c.variant == v))
            .and_then(|(_, r)| *r)
    };
    let copy = find(COPY, None);
    println!(
        "  {:<18} {:<16} {:>9} {:>9} {:>8} {:>7} {:>11} {:>10}",
        "library",
        "variant",
        "ms",
        format!("M {unit}/s"),
        "MB/s",
        "x copy",
        "ours/theirs",
        format!("allocs/{unit}")
    );
    for (c, r) in contenders.iter().zip(results) {
        let Some(r) = r else { continue };
        let secs = r.time.as_secs_f64().max(1e-12);
        let x_copy = copy.map_or("-".into(), |b| {
            format!("{:.2}", secs / b.time.as_secs_f64().max(1e-12))
        });
        let versus = match find(OURS, Some(c.variant)) {
            Some(ours) if c.lib != OURS && c.lib != COPY => {
                format!("{:.2}", secs / ours.time.as_secs_f64().max(1e-12))
            }
            _ => "-".into(),
        };
        println!(
            "  {:<18} {:<16} {:>9.3} {:>9.2} {:>8.0} {:>7} {:>11} {:>10.3}",
            c.lib,
            c.variant,
            secs * 1e3,
            items as f64 / secs / 1e6,
            bytes as f64 / secs / 1e6,
            x_copy,
            versus,
            r.allocs as f64 / items as f64
        );
    }
}

fn header(opts: &Opts, name: &str, what: &str) {
    if opts.timed {
        println!();
        println!("{name}: {what}");
    }
}

fn main() {
    let opts = Opts::parse();
    if opts.timed {
        println!(
            "median of {SAMPLES} interleaved samples of ~{} ms; MB = 10^6 bytes; \
             x copy = time / copy's time; ours/theirs = their time / ours (>1: we are faster)",
            SAMPLE_TIME.as_millis()
        );
    }
    let rows = (opts.wants("datarow-decode") || opts.wants("datarow-encode")).then(RowData::new);
    if let Some(data) = &rows
        && opts.wants("datarow-decode")
    {
        datarow_decode(&opts, data);
    }
    if opts.wants("fe-extended") {
        frontend(&opts, "fe-extended", Workload::Extended);
    }
    if opts.wants("fe-prepared") {
        frontend(&opts, "fe-prepared", Workload::Prepared);
    }
    if let Some(data) = &rows
        && opts.wants("datarow-encode")
    {
        datarow_encode(&opts, data);
    }
    if opts.wants("loop") {
        client_server_loop(&opts);
    }
    if !opts.timed {
        println!("compare bench: smoke run passed (use `cargo bench --bench compare` for timings)");
    }
}

/// The copy baseline: `stream` appended to a reused buffer.
fn copy_contender(stream: &[u8]) -> Contender<'_> {
    let mut dst = BytesMut::with_capacity(stream.len());
    Contender::new(COPY, "memcpy", move || {
        dst.clear();
        measured(|| {
            dst.extend_from_slice(stream);
            black_box(&dst);
            dst.len()
        })
    })
}

/// A decoding function: drains the buffer of complete messages and says what it saw.
type DecodeFn = fn(&mut BytesMut) -> Decoded;

/// One library decoding one variant of a stream, and what it must see.
struct Case {
    lib: &'static str,
    variant: &'static str,
    decode: DecodeFn,
    expected: Decoded,
}

/// A decoding contender: refills its own input buffer with `stream` (untimed), then times
/// `decode` draining it.
fn decoder<'a>(case: &Case, stream: &'a [u8]) -> Contender<'a> {
    let decode = case.decode;
    let mut input = BytesMut::with_capacity(stream.len());
    Contender::new(case.lib, case.variant, move || {
        input.clear();
        input.extend_from_slice(stream);
        let s = measured(|| {
            let d = decode(&mut input);
            d.messages + d.value_bytes
        });
        assert!(input.is_empty());
        s
    })
}

/// What a decoding function saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Decoded {
    messages: usize,
    /// The summed lengths of the DataRow values visited (0 when they are not visited).
    value_bytes: usize,
}

/// Checks each decoder once, on a fresh buffer, and that a refilled buffer keeps its
/// allocation (so that no decoder leaves the input in a state that costs the next refill).
fn check_decoders(stream: &[u8], cases: &[Case]) {
    for case in cases {
        let name = format!("{} {}", case.lib, case.variant);
        let mut input = BytesMut::with_capacity(stream.len());
        let mut ptr = None;
        for _ in 0..3 {
            input.clear();
            input.extend_from_slice(stream);
            let p = input.as_ptr();
            assert!(
                ptr.is_none_or(|q| q == p),
                "{name}: the input was reallocated"
            );
            ptr = Some(p);
            assert_eq!((case.decode)(&mut input), case.expected, "{name}");
            assert!(input.is_empty(), "{name}: input left over");
        }
    }
}

// ----- the rows ------------------------------------------------------------------------------

const ROWS: usize = 10_000;

const COLUMNS: [(&str, u32, i16); 10] = [
    ("id", oid::INT4, 4),
    ("account", oid::INT8, 8),
    ("customer", oid::TEXT, -1),
    ("parent_id", oid::INT4, 4),
    ("created_at", oid::TIMESTAMPTZ, 8),
    ("score", oid::FLOAT8, 8),
    ("active", oid::BOOL, 1),
    ("balance", oid::NUMERIC, -1),
    ("status", oid::VARCHAR, -1),
    ("priority", oid::INT2, 2),
];

/// One row as Rust values, in each library's types where they differ.
struct Typed {
    id: i32,
    account: i64,
    customer: String,
    parent_id: Option<i32>,
    created: TimestampTz,
    created_chrono: chrono::DateTime<chrono::Utc>,
    score: f64,
    active: bool,
    balance: Numeric,
    balance_decimal: rust_decimal::Decimal,
    status: &'static str,
    priority: i16,
}

/// The 10,000 rows, typed and as text, and the result set PostgreSQL would send for them.
struct RowData {
    typed: Vec<Typed>,
    text: Vec<Vec<Option<String>>>,
    /// RowDescription, the DataRows, CommandComplete, ReadyForQuery.
    stream: Vec<u8>,
    /// The DataRows alone.
    rows: Vec<u8>,
}

impl RowData {
    fn new() -> RowData {
        const STATUS: [&str; 4] = ["pending", "shipped", "delivered", "cancelled"];
        const FILLER: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut typed = Vec::with_capacity(ROWS);
        let mut text = Vec::with_capacity(ROWS);
        for i in 1..=ROWS {
            let n = i as i64;
            let (month, day, hour, minute, second) = (
                (i % 12 + 1) as u32,
                (i % 28 + 1) as u32,
                (i % 24) as u32,
                (i % 60) as u32,
                (i * 7 % 60) as u32,
            );
            let micros = (i * 7_919 % 1_000_000) as u32;
            let created = TimestampTz::from_utc(
                Timestamp::new(
                    Date::from_ymd(2024, month, day).unwrap(),
                    Time::from_hms_micro(hour, minute, second, micros).unwrap(),
                )
                .unwrap(),
            );
            let created_chrono = chrono::NaiveDate::from_ymd_opt(2024, month, day)
                .unwrap()
                .and_hms_micro_opt(hour, minute, second, micros)
                .unwrap()
                .and_utc();
            // PostgreSQL's timestamptz text: trailing zeros of the fraction are dropped.
            let mut fraction = format!(".{micros:06}");
            while fraction.ends_with('0') {
                fraction.pop();
            }
            if fraction == "." {
                fraction.clear();
            }
            let created_text =
                format!("2024-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{fraction}+00");
            let balance_text = format!("{}.{:04}", n * 13, n * 7 % 10_000);
            let row = Typed {
                id: i as i32,
                account: n * 7_919 * 104_729,
                customer: format!("customer {i} {}", &FILLER[..i * 37 % FILLER.len()]),
                parent_id: None,
                created,
                created_chrono,
                score: n as f64 * 1.618_033_988_749_895,
                active: i % 3 != 0,
                balance: balance_text.parse().unwrap(),
                balance_decimal: rust_decimal::Decimal::new(n * 13 * 10_000 + n * 7 % 10_000, 4),
                status: STATUS[i % 4],
                priority: (i % 100) as i16,
            };
            text.push(vec![
                Some(row.id.to_string()),
                Some(row.account.to_string()),
                Some(row.customer.clone()),
                None,
                Some(created_text),
                Some(row.score.to_string()),
                Some(if row.active { "t" } else { "f" }.to_string()),
                Some(balance_text),
                Some(row.status.to_string()),
                Some(row.priority.to_string()),
            ]);
            typed.push(row);
        }
        let mut rows = BytesMut::new();
        write_text_rows(&mut rows, &text);
        let mut stream = BytesMut::new();
        RowDescription::write(&mut stream, fields()).unwrap();
        stream.extend_from_slice(&rows);
        CommandComplete::write(&mut stream, "SELECT 10000").unwrap();
        BackendMessage::ReadyForQuery(TransactionStatus::Idle)
            .encode(&mut stream)
            .unwrap();
        RowData {
            typed,
            text,
            stream: stream.to_vec(),
            rows: rows.to_vec(),
        }
    }
}

fn fields() -> impl ExactSizeIterator<Item = FieldDescription<'static>> {
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, &(name, type_oid, type_size))| FieldDescription {
            name: name.as_bytes(),
            table_oid: 16_384,
            column_id: i as i16 + 1,
            type_oid,
            type_size,
            type_modifier: -1,
            format: 0,
        })
}

// ----- datarow-decode ------------------------------------------------------------------------

fn datarow_decode(opts: &Opts, data: &RowData) {
    let stream = &data.stream[..];
    let messages = ROWS + 3;
    header(
        opts,
        "datarow-decode",
        &format!(
            "{:.2} MB, {messages} messages (RowDescription, {ROWS} DataRows x 10 columns, \
             CommandComplete, ReadyForQuery)",
            stream.len() as f64 / 1e6
        ),
    );
    let value_bytes = data
        .text
        .iter()
        .flatten()
        .map(|v| v.as_ref().map_or(0, String::len))
        .sum();
    let frame = Decoded {
        messages,
        value_bytes: 0,
    };
    let columns = Decoded {
        messages,
        value_bytes,
    };
    let case = |lib, variant, decode, expected| Case {
        lib,
        variant,
        decode,
        expected,
    };
    let cases = [
        case(OURS, "frame", |b| ours_frames(b, false), frame),
        case(OURS, "frame+columns", |b| ours_frames(b, true), columns),
        case(OURS, "decode", |b| ours_backend(b, false), frame),
        case(OURS, "decode+columns", |b| ours_backend(b, true), columns),
        case(PGWIRE, "frame", |b| pgwire_backend(b, false), frame),
        case(
            PGWIRE,
            "frame+columns",
            |b| pgwire_backend(b, true),
            columns,
        ),
        case(PP, "frame", |b| pp_backend(b, false), frame),
        case(PP, "frame+columns", |b| pp_backend(b, true), columns),
    ];
    check_decoders(stream, &cases);
    let mut contenders = vec![copy_contender(stream)];
    contenders.extend(cases.iter().map(|c| decoder(c, stream)));
    let results = run(opts, &mut contenders);
    table(opts, &contenders, &results, stream.len(), messages, "msg");
}

fn ours_backend(input: &mut BytesMut, columns: bool) -> Decoded {
    let mut dec = BackendDecoder::new();
    let mut d = Decoded::default();
    while !input.is_empty() {
        let m = dec.decode(input).unwrap().expect("a complete message");
        if columns && let BackendMessage::DataRow(row) = &m {
            for v in row.values() {
                d.value_bytes += v.map_or(0, <[u8]>::len);
            }
        }
        black_box(&m);
        d.messages += 1;
    }
    d
}

/// The run API: every complete message split off at once, DataRows read in place.
fn ours_frames(input: &mut BytesMut, columns: bool) -> Decoded {
    let mut dec = BackendDecoder::new();
    let mut d = Decoded::default();
    while !input.is_empty() {
        let frames = dec.split_frames(input).unwrap();
        assert!(!frames.is_empty(), "a complete message");
        for frame in &frames {
            let m = frame.view().unwrap();
            if columns && let BackendView::DataRow(row) = &m {
                for v in row.values() {
                    d.value_bytes += v.unwrap().map_or(0, <[u8]>::len);
                }
            }
            black_box(&m);
            d.messages += 1;
        }
    }
    d
}

fn pgwire_backend(input: &mut BytesMut, columns: bool) -> Decoded {
    use pgwire::messages::{DecodeContext, PgWireBackendMessage, ProtocolVersion};
    let ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    let mut d = Decoded::default();
    while !input.is_empty() {
        let m = PgWireBackendMessage::decode(input, &ctx)
            .unwrap()
            .expect("a complete message");
        if columns && let PgWireBackendMessage::DataRow(row) = &m {
            d.value_bytes += walk_values(&row.data, row.field_count);
        }
        black_box(&m);
        d.messages += 1;
    }
    d
}

/// Visits the values of a DataRow body after its column count (pgwire gives the body only):
/// the least any reader of its rows has to do. Panics on a malformed body.
fn walk_values(mut body: &[u8], count: i16) -> usize {
    let mut sum = 0;
    for _ in 0..count {
        let (len, rest) = body.split_first_chunk::<4>().expect("a value length");
        let len = i32::from_be_bytes(*len);
        body = rest;
        if len >= 0 {
            let (value, rest) = body.split_at(len as usize);
            sum += black_box(value).len();
            body = rest;
        }
    }
    sum
}

fn pp_backend(input: &mut BytesMut, columns: bool) -> Decoded {
    use postgres_protocol::message::backend::Message;
    let mut d = Decoded::default();
    // `Message::parse` reserves room for the next header when the input is empty, which would
    // reallocate the input buffer for the next refill: stop before, as a reader that has seen
    // ReadyForQuery does.
    while !input.is_empty() {
        let m = Message::parse(input).unwrap().expect("a complete message");
        if columns && let Message::DataRow(row) = &m {
            let buf = row.buffer();
            let mut ranges = row.ranges();
            while let Some(range) = ranges.next().unwrap() {
                if let Some(r) = range {
                    d.value_bytes += black_box(&buf[r]).len();
                }
            }
        }
        black_box(&m);
        d.messages += 1;
    }
    d
}

// ----- fe-extended, fe-prepared --------------------------------------------------------------

const GROUPS: usize = 10_000;
const PGBENCH_SELECT: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
const PREPARED_NAME: &str = "P0_1";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Extended,
    Prepared,
}

impl Workload {
    fn tags(self) -> &'static [u8] {
        match self {
            Workload::Extended => b"PBDES",
            Workload::Prepared => b"BES",
        }
    }
}

fn write_groups(out: &mut BytesMut, workload: Workload) {
    for g in 0..GROUPS {
        let aid = (g * 7_919 % 100_000 + 1).to_string();
        let aid = Some(aid.as_bytes());
        if workload == Workload::Extended {
            Parse::write(out, "", PGBENCH_SELECT, &[oid::INT4]).unwrap();
            Bind::write(out, "", "", &[0], [aid], &[]).unwrap();
            Describe::write(out, Target::Portal, "").unwrap();
        } else {
            Bind::write(out, "", PREPARED_NAME, &[0], [aid], &[]).unwrap();
        }
        Execute::write(out, "", 0).unwrap();
        FrontendMessage::Sync.encode(out).unwrap();
    }
}

fn frontend(opts: &Opts, name: &str, workload: Workload) {
    let mut buf = BytesMut::new();
    write_groups(&mut buf, workload);
    let stream = buf.to_vec();
    let tags = workload.tags();
    let messages = GROUPS * tags.len();
    header(
        opts,
        name,
        &format!(
            "{:.2} MB, {messages} messages ({GROUPS} x {})",
            stream.len() as f64 / 1e6,
            tags.iter()
                .map(|&t| tag_name(t))
                .collect::<Vec<_>>()
                .join("/")
        ),
    );
    let expected = Decoded {
        messages,
        value_bytes: 0,
    };
    let cases = [
        Case {
            lib: OURS,
            variant: "decode",
            decode: ours_frontend_frames,
            expected,
        },
        Case {
            lib: OURS,
            variant: "decode owned",
            decode: ours_frontend,
            expected,
        },
        Case {
            lib: PGWIRE,
            variant: "decode",
            decode: pgwire_frontend,
            expected,
        },
    ];
    check_decoders(&stream, &cases);
    let mut contenders = vec![copy_contender(&stream)];
    contenders.extend(cases.iter().map(|c| decoder(c, &stream)));
    let results = run(opts, &mut contenders);
    table(opts, &contenders, &results, stream.len(), messages, "msg");
    if opts.timed {
        for (lib, decode) in [
            (OURS, ours_frontend_one as DecodeOne),
            (PGWIRE, pgwire_frontend_one),
        ] {
            let per_tag = allocations_per_tag(&stream, decode);
            let shown: Vec<String> = tags
                .iter()
                .map(|&t| format!("{} {:.2}", tag_name(t), per_tag[t as usize]))
                .collect();
            println!("  {lib} allocations per message: {}", shown.join(", "));
        }
    }
}

fn tag_name(tag: u8) -> &'static str {
    match tag {
        b'P' => "Parse",
        b'B' => "Bind",
        b'D' => "Describe",
        b'E' => "Execute",
        b'S' => "Sync",
        _ => "?",
    }
}

fn ours_frontend(input: &mut BytesMut) -> Decoded {
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::Normal);
    let mut d = Decoded::default();
    while !input.is_empty() {
        let m = dec.decode(input).unwrap().expect("a complete message");
        black_box(&m);
        d.messages += 1;
    }
    d
}

/// The run API: every complete message split off at once and read in place.
fn ours_frontend_frames(input: &mut BytesMut) -> Decoded {
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::Normal);
    let mut d = Decoded::default();
    while !input.is_empty() {
        let frames = dec.split_frames(input).unwrap();
        assert!(!frames.is_empty(), "a complete message");
        for frame in &frames {
            black_box(&frame.view().unwrap());
            d.messages += 1;
        }
    }
    d
}

fn pgwire_context() -> pgwire::messages::DecodeContext {
    use pgwire::messages::{DecodeContext, ProtocolVersion};
    let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    ctx.awaiting_frontend_ssl = false;
    ctx.awaiting_frontend_startup = false;
    ctx
}

fn pgwire_frontend(input: &mut BytesMut) -> Decoded {
    use pgwire::messages::PgWireFrontendMessage;
    let ctx = pgwire_context();
    let mut d = Decoded::default();
    while !input.is_empty() {
        let m = PgWireFrontendMessage::decode(input, &ctx)
            .unwrap()
            .expect("a complete message");
        black_box(&m);
        d.messages += 1;
    }
    d
}

/// Decodes one message and drops it (for counting allocations message by message).
type DecodeOne = fn(&mut BytesMut, &mut FrontendDecoder);

fn ours_frontend_one(input: &mut BytesMut, dec: &mut FrontendDecoder) {
    black_box(dec.decode(input).unwrap().expect("a complete message"));
}

fn pgwire_frontend_one(input: &mut BytesMut, _: &mut FrontendDecoder) {
    let m = pgwire::messages::PgWireFrontendMessage::decode(input, &pgwire_context());
    black_box(m.unwrap().expect("a complete message"));
}

/// Allocations per message of each type, decoding `stream` one message at a time (each
/// message dropped before the next is decoded).
fn allocations_per_tag(stream: &[u8], decode: DecodeOne) -> [f64; 256] {
    let mut input = BytesMut::with_capacity(stream.len());
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::Normal);
    // A first pass warms up; the second is counted.
    let mut counts = [(0u64, 0u64); 256];
    for pass in 0..2 {
        input.clear();
        input.extend_from_slice(stream);
        while let Some(&tag) = input.first() {
            let before = allocations();
            decode(&mut input, &mut dec);
            let n = allocations() - before;
            if pass == 1 {
                counts[tag as usize].0 += n;
                counts[tag as usize].1 += 1;
            }
        }
    }
    counts.map(|(allocs, messages)| allocs as f64 / messages.max(1) as f64)
}

// ----- datarow-encode ------------------------------------------------------------------------

fn write_text_rows(out: &mut BytesMut, rows: &[Vec<Option<String>>]) {
    for row in rows {
        DataRow::write(out, row.iter().map(|v| v.as_deref().map(str::as_bytes))).unwrap();
    }
}

fn write_typed(w: &mut RowWriter<'_>, r: &Typed) -> Result<(), ValueError> {
    let s = Session::UTC;
    w.int(r.id.into())?;
    w.int(r.account)?;
    w.value(r.customer.as_str(), oid::TEXT, Format::Text, &s)?;
    w.value(&r.parent_id, oid::INT4, Format::Text, &s)?;
    w.value(&r.created, oid::TIMESTAMPTZ, Format::Text, &s)?;
    w.float(r.score)?;
    w.value(&r.active, oid::BOOL, Format::Text, &s)?;
    w.value(&r.balance, oid::NUMERIC, Format::Text, &s)?;
    w.value(r.status, oid::VARCHAR, Format::Text, &s)?;
    w.int(r.priority.into())
}

fn ours_typed_rows(out: &mut BytesMut, rows: &[Typed]) {
    for r in rows {
        let mut w = RowWriter::begin(out);
        write_typed(&mut w, r).unwrap();
        w.finish().unwrap();
    }
}

fn pgwire_schema() -> Arc<Vec<pgwire::api::results::FieldInfo>> {
    use pgwire::api::Type;
    use pgwire::api::results::{FieldFormat, FieldInfo};
    let types = [
        Type::INT4,
        Type::INT8,
        Type::TEXT,
        Type::INT4,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::BOOL,
        Type::NUMERIC,
        Type::VARCHAR,
        Type::INT2,
    ];
    let fields = COLUMNS
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (&(name, _, size), ty))| {
            FieldInfo::new(
                name.to_string(),
                Some(16_384),
                Some(i as i16 + 1),
                ty,
                FieldFormat::Text,
            )
            .with_type_size(size)
        })
        .collect();
    Arc::new(fields)
}

fn pgwire_text_rows(
    out: &mut BytesMut,
    schema: &Arc<Vec<pgwire::api::results::FieldInfo>>,
    rows: &[Vec<Option<String>>],
) {
    use pgwire::messages::Message;
    let mut enc = pgwire::api::results::DataRowEncoder::new(schema.clone());
    for row in rows {
        for v in row {
            enc.encode_field(&v.as_deref()).unwrap();
        }
        enc.take_row().encode(out).unwrap();
    }
}

fn pgwire_typed_rows(
    out: &mut BytesMut,
    schema: &Arc<Vec<pgwire::api::results::FieldInfo>>,
    rows: &[Typed],
) {
    use pgwire::messages::Message;
    let mut enc = pgwire::api::results::DataRowEncoder::new(schema.clone());
    for r in rows {
        enc.encode_field(&r.id).unwrap();
        enc.encode_field(&r.account).unwrap();
        enc.encode_field(&r.customer).unwrap();
        enc.encode_field(&r.parent_id).unwrap();
        enc.encode_field(&r.created_chrono).unwrap();
        enc.encode_field(&r.score).unwrap();
        enc.encode_field(&r.active).unwrap();
        enc.encode_field(&r.balance_decimal).unwrap();
        enc.encode_field(&r.status).unwrap();
        enc.encode_field(&r.priority).unwrap();
        enc.take_row().encode(out).unwrap();
    }
}

/// A server connection after login, with a prepared Query to answer with rows.
struct RowServer {
    conn: server::Connection,
    now: Instant,
    query: Vec<u8>,
    columns: Vec<server::Column>,
}

impl RowServer {
    fn new() -> RowServer {
        let now = Instant::now();
        let mut conn: server::Connection = server::Connection::new(server::Config::default(), now);
        let mut wire = BytesMut::new();
        pgproto::message::StartupMessage::write(
            &mut wire,
            pgproto::message::ProtocolVersion::V3_0,
            [("user", "bench")],
        )
        .unwrap();
        conn.handle_input(now, &wire);
        assert!(matches!(conn.poll_event(), Some(server::Event::Startup(_))));
        conn.authenticate(server::Auth::Trust).unwrap();
        while conn.poll_event().is_some() {}
        while conn.poll_transmit().is_some() {}
        let mut query = BytesMut::new();
        Query::write(&mut query, "SELECT * FROM accounts").unwrap();
        let columns = COLUMNS
            .iter()
            .map(|&(name, ty, _)| server::Column::new(name, ty))
            .collect();
        RowServer {
            conn,
            now,
            query: query.to_vec(),
            columns,
        }
    }

    /// Answers one query with `rows`, written by `write_row`, timing only the rows; what the
    /// driver would send goes to `sink`.
    fn answer(&mut self, rows: &[Typed], mut sink: impl FnMut(&[u8])) -> Sample {
        let conn = &mut self.conn;
        conn.handle_input(self.now, &self.query);
        assert!(matches!(
            conn.poll_event(),
            Some(server::Event::Query { .. })
        ));
        conn.row_description(&self.columns).unwrap();
        let sample = measured(|| {
            for r in rows {
                conn.write_row(|w| write_typed(w, r)).unwrap();
                if conn.output_full() {
                    while let Some(b) = conn.poll_transmit() {
                        sink(&b);
                    }
                }
            }
            rows.len()
        });
        conn.command_complete("SELECT 10000").unwrap();
        conn.query_done(TransactionStatus::Idle).unwrap();
        while let Some(b) = conn.poll_transmit() {
            sink(&b);
        }
        sample
    }
}

fn datarow_encode(opts: &Opts, data: &RowData) {
    let expected = &data.rows[..];
    header(
        opts,
        "datarow-encode",
        &format!(
            "{ROWS} DataRows x 10 columns into a reused buffer ({:.2} MB as PostgreSQL writes them)",
            expected.len() as f64 / 1e6
        ),
    );
    let schema = pgwire_schema();

    // The outputs, checked once.
    let mut out = BytesMut::new();
    write_text_rows(&mut out, &data.text);
    assert_eq!(&out[..], expected, "pgproto text");
    out.clear();
    pgwire_text_rows(&mut out, &schema, &data.text);
    assert_eq!(&out[..], expected, "pgwire text");
    out.clear();
    ours_typed_rows(&mut out, &data.typed);
    assert_eq!(&out[..], expected, "pgproto typed");
    let mut server = RowServer::new();
    let mut sent = Vec::new();
    server.answer(&data.typed, |b| sent.extend_from_slice(b));
    // What the connection sent: its RowDescription, then the rows.
    let head = 1 + u32::from_be_bytes(sent[1..5].try_into().unwrap()) as usize;
    assert_eq!(&sent[head..head + expected.len()], expected, "write_row");
    out.clear();
    pgwire_typed_rows(&mut out, &schema, &data.typed);
    report_difference(opts, "pgwire typed", &out, expected);

    let cap = expected.len() + expected.len() / 2;
    let mut o1 = BytesMut::with_capacity(cap);
    let mut o2 = BytesMut::with_capacity(cap);
    let mut o3 = BytesMut::with_capacity(cap);
    let mut o4 = BytesMut::with_capacity(cap);
    let mut contenders = vec![
        copy_contender(expected),
        Contender::new(OURS, "text", || {
            o1.clear();
            measured(|| {
                write_text_rows(&mut o1, &data.text);
                o1.len()
            })
        }),
        Contender::new(PGWIRE, "text", || {
            o2.clear();
            measured(|| {
                pgwire_text_rows(&mut o2, &schema, &data.text);
                o2.len()
            })
        }),
        Contender::new(OURS, "typed", || {
            o3.clear();
            measured(|| {
                ours_typed_rows(&mut o3, &data.typed);
                o3.len()
            })
        }),
        Contender::new(OURS, "typed write_row", || {
            server.answer(&data.typed, |b| {
                black_box(b);
            })
        }),
        Contender::new(PGWIRE, "typed", || {
            o4.clear();
            measured(|| {
                pgwire_typed_rows(&mut o4, &schema, &data.typed);
                o4.len()
            })
        }),
    ];
    let results = run(opts, &mut contenders);
    table(opts, &contenders, &results, expected.len(), ROWS, "row");
}

/// Says how `got` differs from `expected`, both sequences of DataRows: how many rows differ,
/// and the first differing value.
fn report_difference(opts: &Opts, what: &str, got: &[u8], expected: &[u8]) {
    if got == expected {
        return;
    }
    let rows = |mut b: &[u8]| {
        let mut rows = Vec::new();
        while let Some(header) = b.get(..7) {
            let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
            let count = i16::from_be_bytes([header[5], header[6]]);
            let mut values = Vec::new();
            let mut body = &b[7..1 + len];
            for _ in 0..count {
                let n = i32::from_be_bytes(body[..4].try_into().unwrap());
                body = &body[4..];
                values.push((n >= 0).then(|| {
                    let (v, rest) = body.split_at(n as usize);
                    body = rest;
                    String::from_utf8_lossy(v).into_owned()
                }));
            }
            rows.push(values);
            b = &b[1 + len..];
        }
        rows
    };
    let (g, e) = (rows(got), rows(expected));
    let differing = g.iter().zip(&e).filter(|(a, b)| a != b).count();
    let first = g.iter().zip(&e).enumerate().find_map(|(i, (a, b))| {
        let c = a.iter().zip(b).position(|(x, y)| x != y)?;
        Some((i, c, a[c].clone(), b[c].clone()))
    });
    if opts.timed
        && let Some((row, column, theirs, ours)) = first
    {
        println!(
            "  note: {what} differs from PostgreSQL's text in {differing} of {} rows ({} vs {} \
             bytes); first: row {}, {}: {theirs:?} where PostgreSQL writes {ours:?}",
            e.len(),
            got.len(),
            expected.len(),
            row + 1,
            COLUMNS[column].0,
        );
    }
}

// ----- loop ----------------------------------------------------------------------------------

const LOOP_ROWS: usize = 1_000;

/// A client and a server connection wired back to back in memory, with the application's
/// answers inline.
struct Pair {
    client: client::Connection,
    server: server::Connection,
    now: Instant,
    /// The result of the 1,000-row query, as the application has it.
    items: Vec<(i64, String, f64, bool, TimestampTz, i64)>,
    columns: Vec<server::Column>,
    one: Vec<server::Column>,
}

impl Pair {
    fn connect() -> Pair {
        let now = Instant::now();
        let mut config = client::Config::new("bench");
        config.ssl_mode = client::SslMode::Disable;
        let client = client::Connection::new(config, now);
        let server = server::Connection::new(server::Config::default(), now);
        let base = TimestampTz::from_unix_micros(1_700_000_000_000_000).unwrap();
        let items = (0..LOOP_ROWS as i64)
            .map(|i| {
                (
                    i + 1,
                    format!("item number {i}"),
                    i as f64 * 0.25 + 1.0,
                    i % 2 == 0,
                    TimestampTz::from_unix_micros(base.unix_micros().unwrap() + i * 1_000_003)
                        .unwrap(),
                    i * 1_000,
                )
            })
            .collect();
        let columns = [
            ("id", oid::INT8),
            ("name", oid::TEXT),
            ("price", oid::FLOAT8),
            ("active", oid::BOOL),
            ("updated_at", oid::TIMESTAMPTZ),
            ("stock", oid::INT8),
        ]
        .into_iter()
        .map(|(n, t)| server::Column::new(n, t))
        .collect();
        let mut p = Pair {
            client,
            server,
            now,
            items,
            columns,
            one: vec![server::Column::new("?column?", oid::INT4)],
        };
        while !p.client.is_ready() {
            p.pump();
        }
        p
    }

    /// Moves bytes and events once in each direction; the number of DataRow values the
    /// client saw, their summed length, and whether it saw ReadyForQuery.
    fn pump(&mut self) -> (usize, usize, bool) {
        let now = self.now;
        while let Some(b) = self.client.poll_transmit() {
            self.server.handle_input(now, &b);
        }
        while let Some(e) = self.server.poll_event() {
            self.on_server_event(e);
        }
        while let Some(b) = self.server.poll_transmit() {
            self.client.handle_input(now, &b);
        }
        let (mut rows, mut bytes, mut ready) = (0, 0, false);
        while let Some(e) = self.client.poll_event() {
            match e {
                client::Event::Response { response, .. } => match response {
                    client::Response::DataRow(row) => {
                        rows += 1;
                        for v in row.values() {
                            bytes += v.map_or(0, <[u8]>::len);
                        }
                    }
                    client::Response::Ready(_) => ready = true,
                    client::Response::Error(e) => panic!("{e:?}"),
                    _ => {}
                },
                client::Event::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
        (rows, bytes, ready)
    }

    /// Pumps until ReadyForQuery; the rows seen (the value bytes are checked by the caller).
    fn until_ready(&mut self) -> (usize, usize) {
        let (mut rows, mut bytes) = (0, 0);
        loop {
            let (r, b, ready) = self.pump();
            rows += r;
            bytes += b;
            if ready {
                return (rows, bytes);
            }
        }
    }

    /// The application: `SELECT 1`, a prepared `SELECT 1`, or the 1,000 items.
    fn on_server_event(&mut self, e: server::Event) {
        let srv = &mut self.server;
        match e {
            server::Event::Startup(_) => srv.authenticate(server::Auth::Trust).unwrap(),
            server::Event::Query { sql } if sql == "SELECT 1" => {
                srv.row_description(&self.one).unwrap();
                srv.data_row([Some(&b"1"[..])]).unwrap();
                srv.command_complete("SELECT 1").unwrap();
                srv.query_done(TransactionStatus::Idle).unwrap();
            }
            server::Event::Query { sql } if sql == "SELECT * FROM items" => {
                srv.row_description(&self.columns).unwrap();
                let s = Session::UTC;
                for (id, name, price, active, updated, stock) in &self.items {
                    srv.write_row(|w| {
                        w.int(*id)?;
                        w.value(name.as_str(), oid::TEXT, Format::Text, &s)?;
                        w.float(*price)?;
                        w.value(active, oid::BOOL, Format::Text, &s)?;
                        w.value(updated, oid::TIMESTAMPTZ, Format::Text, &s)?;
                        w.int(*stock)
                    })
                    .unwrap();
                }
                srv.command_complete("SELECT 1000").unwrap();
                srv.query_done(TransactionStatus::Idle).unwrap();
            }
            server::Event::Parse { .. } => {
                srv.parse_complete(Vec::new(), Some(self.one.clone()), ())
                    .unwrap();
            }
            server::Event::Execute { .. } => {
                srv.data_row([Some(&b"1"[..])]).unwrap();
                srv.command_complete("SELECT 1").unwrap();
            }
            server::Event::Authenticated { .. } => {}
            other => panic!("unexpected server event {other:?}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Round {
    Simple,
    Prepared,
    Items,
}

fn client_server_loop(opts: &Opts) {
    const SELECT1: usize = 1_000;
    const ITEMS: usize = 10;
    header(
        opts,
        "loop",
        "client::Connection <-> server::Connection in memory, one query at a time",
    );
    let mut pairs = [Pair::connect(), Pair::connect(), Pair::connect()];
    let c = &mut pairs[1].client;
    c.parse("s1", "SELECT 1", &[]).unwrap();
    c.sync().unwrap();
    pairs[1].until_ready();
    // The summed length of one 1,000-row result's values, for the check.
    let item_bytes = {
        let p = &mut pairs[2];
        p.client.query("SELECT * FROM items").unwrap();
        let (rows, bytes) = p.until_ready();
        assert_eq!(rows, LOOP_ROWS);
        bytes
    };
    let rounds = [
        (Round::Simple, SELECT1, "SELECT 1 simple"),
        (Round::Prepared, SELECT1, "SELECT 1 prepared"),
        (Round::Items, ITEMS, "1,000 rows x 6"),
    ];
    let mut contenders: Vec<Contender<'_>> = pairs
        .iter_mut()
        .zip(rounds)
        .map(|(p, (round, n, variant))| {
            Contender::new(OURS, variant, move || {
                measured(|| {
                    let mut total = 0;
                    for _ in 0..n {
                        match round {
                            Round::Simple => {
                                p.client.query("SELECT 1").unwrap();
                            }
                            Round::Prepared => {
                                let c = &mut p.client;
                                c.bind("", "s1", &[], [], &[]).unwrap();
                                c.execute("", 0).unwrap();
                                c.sync().unwrap();
                            }
                            Round::Items => {
                                p.client.query("SELECT * FROM items").unwrap();
                            }
                        }
                        let (rows, bytes) = p.until_ready();
                        match round {
                            Round::Items => assert_eq!((rows, bytes), (LOOP_ROWS, item_bytes)),
                            _ => assert_eq!((rows, bytes), (1, 1)),
                        }
                        total += rows;
                    }
                    total
                })
            })
        })
        .collect();
    let results = run(opts, &mut contenders);
    if !opts.timed {
        return;
    }
    println!(
        "  {:<22} {:>10} {:>12} {:>12} {:>14}",
        "query", "us/query", "queries/s", "rows/s", "allocs/query"
    );
    for ((c, r), (round, n, _)) in contenders.iter().zip(&results).zip(rounds) {
        let Some(r) = r else { continue };
        let per_query = r.time.as_secs_f64() / n as f64;
        let rows = match round {
            Round::Items => LOOP_ROWS,
            _ => 1,
        };
        println!(
            "  {:<22} {:>10.2} {:>12.0} {:>12.0} {:>14.2}",
            c.variant,
            per_query * 1e6,
            1.0 / per_query,
            rows as f64 / per_query,
            r.allocs as f64 / n as f64
        );
    }
}
