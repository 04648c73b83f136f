//! Codec throughput: `cargo bench --bench codec`.
//!
//! Three streams, built once with the crate's own `write` functions:
//!
//! - `fe-extended`: what `pgbench -M extended` sends, groups of Parse (unnamed, the pgbench
//!   SELECT, one int4 parameter) / Bind / Describe portal / Execute / Sync;
//! - `fe-prepared`: what `pgbench -M prepared` sends once its statement is prepared, groups
//!   of Bind (named statement) / Execute / Sync;
//! - `be-rows`: a result set as a server sends it, one RowDescription, 10,000 DataRows of 10
//!   mixed text-format columns (ints, texts of varying length, a NULL, a timestamp, a float, a
//!   bool, a numeric), CommandComplete and ReadyForQuery.
//!
//! For each stream:
//!
//! - `copy` (the baseline): `dst.clear(); dst.extend_from_slice(&stream)` into a reused
//!   `BytesMut`: one memcpy of the stream, what any decoder has to beat.
//! - `copy+decode`: the decoders split frames off the input `BytesMut`, consuming it, so every
//!   iteration first refills one with the stream, with exactly the baseline's code and buffer
//!   (the buffer is reused: once every decoded message has been dropped, `BytesMut` reclaims
//!   its allocation, which `check_reuse` asserts), then decodes every message. DataRows also
//!   have all their values iterated and their lengths summed; every message goes through
//!   `black_box`.
//! - `decode (net)`: `copy+decode` minus `copy`, the decoder's own cost. Both are medians of
//!   separate runs, so this is an estimate; it is the figure to compare with other decoders.
//! - `encode`: the stream written again, message by message, with the borrowed `write`
//!   functions (`Parse::write`, `Bind::write`, `DataRow::write` from value slices ...), into
//!   a reused `BytesMut` cleared between iterations. Its output is checked to equal the stream.
//!
//! Each measurement is warmed up, calibrated to about 40 ms per sample, and run for 15
//! samples; the figure is the median time per iteration. MB/s and messages/s are for the
//! whole stream; `x copy` is the measurement's time over the baseline's from the same run.
//!
//! Without `--bench` (as under `cargo test --all-targets`) every measurement runs once and its
//! result is checked, so the benchmark is tested without taking time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::message::{
    BackendDecoder, BackendMessage, Bind, CommandComplete, DataRow, Describe, Execute,
    FieldDescription, FrontendDecoder, FrontendMessage, FrontendPhase, Parse, RowDescription,
    Target, TransactionStatus,
};

const SAMPLES: usize = 15;
const SAMPLE_TIME: Duration = Duration::from_millis(40);
const WARMUP: Duration = Duration::from_millis(300);

const PGBENCH_SELECT: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
const PREPARED_NAME: &str = "P0_1";
const AID: &[u8] = b"12345";
const ROWS: usize = 10_000;

fn main() {
    let timed = std::env::args().any(|a| a == "--bench");
    let mut report = Report::new(timed);

    let extended = FrontendStream::new("fe-extended", Workload::Extended, 4_000_000);
    extended.run(&mut report);
    let prepared = FrontendStream::new("fe-prepared", Workload::Prepared, 3_000_000);
    prepared.run(&mut report);
    let rows = RowStream::new("be-rows");
    rows.run(&mut report);

    if !timed {
        println!("codec bench: smoke run passed (use `cargo bench --bench codec` for timings)");
    }
}

/// The timing harness: runs measurements, keeps the baseline, prints one line each.
struct Report {
    timed: bool,
    baseline: Duration,
}

impl Report {
    fn new(timed: bool) -> Report {
        if timed {
            println!(
                "median of {SAMPLES} samples of ~{} ms; MB = 10^6 bytes; x copy = time / copy's time",
                SAMPLE_TIME.as_millis()
            );
        }
        Report {
            timed,
            baseline: Duration::ZERO,
        }
    }

    fn header(&self, name: &str, bytes: usize, messages: usize, what: &str) {
        if self.timed {
            println!();
            println!(
                "{name}: {:.2} MB, {messages} messages ({what})",
                bytes as f64 / 1e6
            );
        }
    }

    /// Median time per call of `f`, or a single checked call when not timing.
    fn time(&self, mut f: impl FnMut() -> usize) -> Duration {
        if !self.timed {
            black_box(f());
            return Duration::ZERO;
        }
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < WARMUP || calls < 3 {
            black_box(f());
            calls += 1;
        }
        let per_call = start.elapsed() / calls;
        let n = (SAMPLE_TIME.as_nanos() / per_call.as_nanos().max(1)).clamp(1, 1 << 20) as u32;
        let mut samples: Vec<Duration> = (0..SAMPLES)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    black_box(f());
                }
                t.elapsed() / n
            })
            .collect();
        samples.sort();
        samples[SAMPLES / 2]
    }

    fn line(&self, stream: &str, what: &str, t: Duration, bytes: usize, messages: usize) {
        if !self.timed {
            return;
        }
        let secs = t.as_secs_f64().max(1e-12);
        println!(
            "{stream:<12} {what:<14} {:>9.3} ms {:>9.0} MB/s {:>8.2} M msg/s {:>6.2}x copy",
            secs * 1e3,
            bytes as f64 / secs / 1e6,
            messages as f64 / secs / 1e6,
            secs / self.baseline.as_secs_f64().max(1e-12),
        );
    }

    /// Times the copy baseline, copy+decode, and encode of one stream, printing four lines.
    fn stream(
        &mut self,
        name: &str,
        stream: &[u8],
        messages: usize,
        copy_decode: impl FnMut() -> usize,
        encode: impl FnMut() -> usize,
    ) {
        let mut dst = BytesMut::with_capacity(stream.len());
        let copy = self.time(|| {
            dst.clear();
            dst.extend_from_slice(stream);
            black_box(&dst);
            dst.len()
        });
        self.baseline = copy;
        let decode = self.time(copy_decode);
        let net = decode.saturating_sub(copy);
        let encode = self.time(encode);
        let n = stream.len();
        self.line(name, "copy", copy, n, messages);
        self.line(name, "copy+decode", decode, n, messages);
        self.line(name, "decode (net)", net, n, messages);
        self.line(name, "encode", encode, n, messages);
    }
}

/// Asserts that refilling the input buffer after a full decode reuses its allocation, so the
/// copy in `copy+decode` costs what the baseline's does.
fn check_reuse(mut copy_decode: impl FnMut(&mut BytesMut) -> usize, stream: &[u8]) {
    let mut input = BytesMut::with_capacity(stream.len());
    let mut ptr = None;
    for _ in 0..3 {
        input.clear();
        input.extend_from_slice(stream);
        let p = input.as_ptr();
        assert!(
            ptr.is_none_or(|q| q == p),
            "the input buffer was reallocated"
        );
        ptr = Some(p);
        copy_decode(&mut input);
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Extended,
    Prepared,
}

struct FrontendStream {
    name: &'static str,
    workload: Workload,
    groups: usize,
    bytes: Vec<u8>,
}

impl FrontendStream {
    fn new(name: &'static str, workload: Workload, approx_bytes: usize) -> FrontendStream {
        let mut one = BytesMut::new();
        write_groups(&mut one, workload, 1);
        let groups = approx_bytes / one.len();
        let mut buf = BytesMut::new();
        write_groups(&mut buf, workload, groups);
        FrontendStream {
            name,
            workload,
            groups,
            bytes: buf.to_vec(),
        }
    }

    fn messages(&self) -> usize {
        self.groups
            * match self.workload {
                Workload::Extended => 5,
                Workload::Prepared => 3,
            }
    }

    fn run(&self, report: &mut Report) {
        let what = match self.workload {
            Workload::Extended => "Parse/Bind/Describe/Execute/Sync",
            Workload::Prepared => "Bind/Execute/Sync, named statement",
        };
        let stream = &self.bytes[..];
        let messages = self.messages();
        report.header(self.name, stream.len(), messages, what);

        let decode_all = |input: &mut BytesMut| {
            let mut dec = FrontendDecoder::new();
            dec.set_phase(FrontendPhase::Normal);
            let mut n = 0;
            while let Some(m) = dec.decode(input).expect("valid stream") {
                black_box(&m);
                n += 1;
            }
            assert!(input.is_empty());
            n
        };
        assert_eq!(decode_all(&mut BytesMut::from(stream)), messages);
        check_reuse(decode_all, stream);

        let mut input = BytesMut::with_capacity(stream.len());
        let copy_decode = || {
            input.clear();
            input.extend_from_slice(stream);
            decode_all(&mut input)
        };

        let mut out = BytesMut::with_capacity(stream.len());
        write_groups(&mut out, self.workload, self.groups);
        assert_eq!(&out[..], stream, "encode does not reproduce the stream");
        let encode = || {
            out.clear();
            write_groups(&mut out, self.workload, self.groups);
            black_box(&out);
            out.len()
        };
        report.stream(self.name, stream, messages, copy_decode, encode);
    }
}

fn write_groups(out: &mut BytesMut, workload: Workload, groups: usize) {
    let (sql, aid) = black_box((PGBENCH_SELECT, AID));
    for _ in 0..groups {
        match workload {
            Workload::Extended => {
                Parse::write(out, "", sql, &[23]).unwrap();
                Bind::write(out, "", "", &[0], [Some(aid)], &[]).unwrap();
                Describe::write(out, Target::Portal, "").unwrap();
                Execute::write(out, "", 0).unwrap();
                FrontendMessage::Sync.encode(out).unwrap();
            }
            Workload::Prepared => {
                Bind::write(out, "", PREPARED_NAME, &[0], [Some(aid)], &[]).unwrap();
                Execute::write(out, "", 0).unwrap();
                FrontendMessage::Sync.encode(out).unwrap();
            }
        }
    }
}

struct RowStream {
    name: &'static str,
    rows: Vec<Vec<Option<Vec<u8>>>>,
    bytes: Vec<u8>,
}

const COLUMNS: [(&[u8], u32, i16); 10] = [
    (b"id", 23, 4),
    (b"account", 20, 8),
    (b"customer", 25, -1),
    (b"parent_id", 23, 4),
    (b"created_at", 1184, 8),
    (b"score", 701, 8),
    (b"active", 16, 1),
    (b"balance", 1700, -1),
    (b"status", 1043, -1),
    (b"priority", 21, 2),
];

impl RowStream {
    fn new(name: &'static str) -> RowStream {
        const STATUS: [&str; 4] = ["pending", "shipped", "delivered", "cancelled"];
        const FILLER: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let rows: Vec<Vec<Option<Vec<u8>>>> = (1..=ROWS)
            .map(|i| {
                let name_len = i * 37 % FILLER.len();
                let cells = [
                    Some(i.to_string()),
                    Some((i as u64 * 7_919 * 104_729).to_string()),
                    Some(format!("customer {i} {}", &FILLER[..name_len])),
                    None,
                    Some(format!(
                        "2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
                        i % 12 + 1,
                        i % 28 + 1,
                        i % 24,
                        i % 60,
                        i * 7 % 60,
                        i * 7_919 % 1_000_000
                    )),
                    Some((i as f64 * 1.618_033_988_749_895).to_string()),
                    Some(if i % 3 == 0 { "f" } else { "t" }.to_string()),
                    Some(format!("{}.{:04}", i * 13, i * 7 % 10_000)),
                    Some(STATUS[i % 4].to_string()),
                    Some((i % 100).to_string()),
                ];
                cells
                    .into_iter()
                    .map(|c| c.map(String::into_bytes))
                    .collect()
            })
            .collect();
        let mut buf = BytesMut::new();
        write_rows(&mut buf, &rows);
        RowStream {
            name,
            rows,
            bytes: buf.to_vec(),
        }
    }

    fn run(&self, report: &mut Report) {
        let stream = &self.bytes[..];
        let messages = ROWS + 3;
        report.header(
            self.name,
            stream.len(),
            messages,
            "RowDescription, 10,000 DataRows of 10 columns, CommandComplete, ReadyForQuery",
        );

        let expected_sum: usize = self
            .rows
            .iter()
            .flatten()
            .map(|v| v.as_ref().map_or(0, Vec::len))
            .sum();
        let decode_all = |input: &mut BytesMut| {
            let mut dec = BackendDecoder::new();
            let (mut n, mut sum) = (0, 0);
            while let Some(m) = dec.decode(input).expect("valid stream") {
                if let BackendMessage::DataRow(row) = &m {
                    for v in row.values() {
                        sum += v.map_or(0, <[u8]>::len);
                    }
                }
                black_box(&m);
                n += 1;
            }
            assert!(input.is_empty());
            assert_eq!(black_box(sum), expected_sum);
            n
        };
        assert_eq!(decode_all(&mut BytesMut::from(stream)), messages);
        check_reuse(decode_all, stream);

        let mut input = BytesMut::with_capacity(stream.len());
        let copy_decode = || {
            input.clear();
            input.extend_from_slice(stream);
            decode_all(&mut input)
        };

        let mut out = BytesMut::with_capacity(stream.len());
        write_rows(&mut out, &self.rows);
        assert_eq!(&out[..], stream, "encode does not reproduce the stream");
        let encode = || {
            out.clear();
            write_rows(&mut out, &self.rows);
            black_box(&out);
            out.len()
        };
        report.stream(self.name, stream, messages, copy_decode, encode);
    }
}

fn write_rows(out: &mut BytesMut, rows: &[Vec<Option<Vec<u8>>>]) {
    let fields = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, &(name, type_oid, type_size))| FieldDescription {
            name,
            table_oid: 16_384,
            column_id: i as i16 + 1,
            type_oid,
            type_size,
            type_modifier: -1,
            format: 0,
        });
    RowDescription::write(out, fields).unwrap();
    for row in rows {
        DataRow::write(out, row.iter().map(Option::as_deref)).unwrap();
    }
    CommandComplete::write(out, "SELECT 10000").unwrap();
    BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        .encode(out)
        .unwrap();
}
