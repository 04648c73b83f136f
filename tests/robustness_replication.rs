//! The replication rows of docs/robustness.md: hostile input for the replication layers (the
//! COPY BOTH stream messages, the pgoutput decoder and its relation cache, replication commands,
//! a replication connection), each with its exact outcome and the state it leaves. Every row
//! is a test of its own (`cargo test --test robustness_replication L7`), and
//! `replication_rows_match_the_doc` checks the document's table against this file
//! (`ROBUSTNESS_BLESS=1` rewrites it).

use std::time::Instant;

use bytes::BytesMut;
use pgproto::message::{FrontendMessage, Parse};
use pgproto::replication::pgoutput::{Decoder, RelationCache};
use pgproto::replication::{PrimaryMessage, ReplicationCommand, StandbyMessage};
use pgproto::{client, server};

#[path = "support/replication.rs"]
mod replication;

use replication::{client_streaming, frame, replies, server_session, server_streaming};

/// What a row's input does: its outcome (the error and its SQLSTATE, or the messages sent),
/// checked along with the state the test then proves.
struct Row {
    id: &'static str,
    layer: &'static str,
    input: &'static str,
    outcome: &'static str,
    state: &'static str,
    run: fn() -> String,
}

fn err<E: std::fmt::Display>(e: E, code: pgproto::SqlState) -> String {
    format!("{code} {e}")
}

// ----- input builders ---------------------------------------------------------------------------

fn xlog_header(out: &mut Vec<u8>) {
    out.push(b'w');
    out.extend_from_slice(&1u64.to_be_bytes());
    out.extend_from_slice(&2u64.to_be_bytes());
    out.extend_from_slice(&3i64.to_be_bytes());
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// `R`: relation 16384 public.t with columns (id int4 key, v text).
fn relation() -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend_from_slice(&16384u32.to_be_bytes());
    cstr(&mut m, "public");
    cstr(&mut m, "t");
    m.push(b'd');
    m.extend_from_slice(&2i16.to_be_bytes());
    for (flags, name, ty) in [(1u8, "id", 23u32), (0, "v", 25)] {
        m.push(flags);
        cstr(&mut m, name);
        m.extend_from_slice(&ty.to_be_bytes());
        m.extend_from_slice(&(-1i32).to_be_bytes());
    }
    m
}

/// `I` into `relation` with the given TupleData bytes.
fn insert(relation: u32, tuple: &[u8]) -> Vec<u8> {
    let mut m = vec![b'I'];
    m.extend_from_slice(&relation.to_be_bytes());
    m.push(b'N');
    m.extend_from_slice(tuple);
    m
}

/// A good two-column tuple: (1, 'a').
fn tuple2() -> Vec<u8> {
    let mut t = 2i16.to_be_bytes().to_vec();
    t.push(b't');
    t.extend_from_slice(&1i32.to_be_bytes());
    t.push(b'1');
    t.push(b't');
    t.extend_from_slice(&1i32.to_be_bytes());
    t.push(b'a');
    t
}

/// Decodes `bad` with a decoder of `version` (after `before`), requires that it fails, and that
/// the decoder is unchanged: the same stream state, and `after` still decodes.
fn pgoutput_fails(version: u32, before: &[&[u8]], bad: &[u8], after: &[u8]) -> String {
    let mut d = Decoder::new(version).unwrap();
    for m in before {
        d.decode(m).unwrap();
    }
    let was = d.clone();
    let e = d.decode(bad).expect_err("hostile message decoded");
    assert_eq!(d, was, "a failed decode changed the decoder");
    d.decode(after).expect("the decoder goes on");
    err(&e, e.sql_state())
}

const STREAM_START: &[u8] = &[b'S', 0, 0, 0, 9, 1];
const STREAM_STOP: &[u8] = b"E";

fn begin() -> Vec<u8> {
    let mut m = vec![b'B'];
    m.extend_from_slice(&5u64.to_be_bytes());
    m.extend_from_slice(&6i64.to_be_bytes());
    m.extend_from_slice(&7u32.to_be_bytes());
    m
}

/// A client in START_REPLICATION's COPY BOTH receives `payload` as CopyData: the application
/// gets it whole, its decode fails, and the connection is still in COPY BOTH (it can send).
fn client_gets(payload: &[u8]) -> String {
    let mut c = client_streaming();
    c.handle_input(Instant::now(), &frame(b'd', payload));
    let mut got = None;
    while let Some(e) = c.poll_event() {
        if let client::Event::Response {
            response: client::Response::CopyData(d),
            ..
        } = e
        {
            got = Some(d);
        }
    }
    let data = got.expect("the CopyData reaches the application");
    assert_eq!(&data[..], payload);
    let e = PrimaryMessage::decode(data).expect_err("hostile payload decoded");
    c.copy_data(b"r").expect("still in COPY BOTH");
    err(&e, e.sql_state())
}

/// A server in COPY BOTH receives `payload` from the client: the application gets it, its
/// decode fails, and the connection is still in COPY BOTH (it can send).
fn server_gets(payload: &[u8]) -> String {
    let (mut s, _) = server_streaming();
    let mut d = BytesMut::new();
    pgproto::message::CopyData::write(&mut d, payload).unwrap();
    s.handle_input(Instant::now(), &d);
    let Some(server::Event::CopyData(data)) = s.poll_event() else {
        panic!("no CopyData event")
    };
    let e = StandbyMessage::decode(&data).expect_err("hostile payload decoded");
    s.copy_data(b"k").expect("still in COPY BOTH");
    err(&e, e.sql_state())
}

// ----- the rows ---------------------------------------------------------------------------------

fn rows() -> Vec<Row> {
    vec![
        Row {
            id: "L1",
            layer: "stream (client)",
            input: "an empty CopyData payload",
            outcome: "08P01 empty replication stream message",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || client_gets(b""),
        },
        Row {
            id: "L2",
            layer: "stream (client)",
            input: "XLogData cut inside its header (10 bytes)",
            outcome: "08P01 XLogData message ends before its WAL end",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || {
                let mut m = Vec::new();
                xlog_header(&mut m);
                client_gets(&m[..10])
            },
        },
        Row {
            id: "L3",
            layer: "stream (client)",
            input: "a stream message of unknown type `x`",
            outcome: "08P01 invalid replication stream message type \"x\" (120)",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || client_gets(b"x123"),
        },
        Row {
            id: "L4",
            layer: "stream (client)",
            input: "a primary keepalive with a byte after its last field",
            outcome: "08P01 primary keepalive message has 1 bytes after its last field",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || {
                let mut m = vec![b'k'];
                m.extend_from_slice(&[0; 17]);
                m.push(0);
                client_gets(&m)
            },
        },
        Row {
            id: "L5",
            layer: "stream (server)",
            input: "a standby status update cut before its reply flag",
            outcome: "08P01 standby status update message ends before its reply flag",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || {
                let mut m = vec![b'r'];
                m.extend_from_slice(&[0; 32]);
                server_gets(&m)
            },
        },
        Row {
            id: "L6",
            layer: "stream (server)",
            input: "XLogData sent by a client (`w` is the server's)",
            outcome: "08P01 invalid replication stream message type \"w\" (119)",
            state: "the application gets the payload; the connection stays in COPY BOTH",
            run: || {
                let mut m = Vec::new();
                xlog_header(&mut m);
                server_gets(&m)
            },
        },
        Row {
            id: "L7",
            layer: "pgoutput",
            input: "Insert whose tuple has a column of kind `x`",
            outcome: "08P01 Insert message has an invalid tuple column kind: 'x' is not 'n', 'u', 't' or 'b'",
            state: "decoder unchanged (the next message decodes)",
            run: || {
                let mut t = 1i16.to_be_bytes().to_vec();
                t.push(b'x');
                pgoutput_fails(1, &[], &insert(16384, &t), &begin())
            },
        },
        Row {
            id: "L8",
            layer: "pgoutput",
            input: "Insert whose tuple declares 2 columns and holds 1",
            outcome: "08P01 Insert message ends before its tuple column kind",
            state: "decoder unchanged (the next message decodes)",
            run: || {
                let mut t = 2i16.to_be_bytes().to_vec();
                t.push(b'n');
                pgoutput_fails(1, &[], &insert(16384, &t), &begin())
            },
        },
        Row {
            id: "L9",
            layer: "pgoutput",
            input: "Insert with a text value declaring 2147483647 bytes",
            outcome: "08P01 Insert message ends before its tuple value",
            state: "decoder unchanged (the next message decodes); nothing reserved",
            run: || {
                let mut t = 1i16.to_be_bytes().to_vec();
                t.push(b't');
                t.extend_from_slice(&i32::MAX.to_be_bytes());
                pgoutput_fails(1, &[], &insert(16384, &t), &begin())
            },
        },
        Row {
            id: "L10",
            layer: "pgoutput",
            input: "Insert into a relation no Relation message described",
            outcome: "08P01 logical replication target relation with OID 99 is unknown",
            state: "the relation cache is unchanged",
            run: || {
                let mut d = Decoder::new(1).unwrap();
                let mut cache = RelationCache::new();
                cache.handle(&d.decode(&relation()).unwrap()).unwrap();
                let m = insert(99, &tuple2());
                let e = cache.handle(&d.decode(&m).unwrap()).unwrap_err();
                assert_eq!(cache.len(), 1);
                let good = insert(16384, &tuple2());
                cache.handle(&d.decode(&good).unwrap()).unwrap();
                err(&e, e.sql_state())
            },
        },
        Row {
            id: "L11",
            layer: "pgoutput",
            input: "Insert with 1 column into a relation of 2",
            outcome: "08P01 Insert message has an invalid tuple: it has 1 columns but relation \"public\".\"t\" (OID 16384) has 2",
            state: "the relation cache is unchanged",
            run: || {
                let mut d = Decoder::new(1).unwrap();
                let mut cache = RelationCache::new();
                cache.handle(&d.decode(&relation()).unwrap()).unwrap();
                let mut t = 1i16.to_be_bytes().to_vec();
                t.push(b'n');
                let e = cache
                    .handle(&d.decode(&insert(16384, &t)).unwrap())
                    .unwrap_err();
                let good = insert(16384, &tuple2());
                cache.handle(&d.decode(&good).unwrap()).unwrap();
                err(&e, e.sql_state())
            },
        },
        Row {
            id: "L12",
            layer: "pgoutput",
            input: "StreamStart under protocol version 1",
            outcome: "08P01 pgoutput message \"S\" is not valid in protocol version 1",
            state: "decoder unchanged (the next message decodes)",
            run: || pgoutput_fails(1, &[], STREAM_START, &begin()),
        },
        Row {
            id: "L13",
            layer: "pgoutput",
            input: "BeginPrepare under protocol version 2",
            outcome: "08P01 pgoutput message \"b\" is not valid in protocol version 2",
            state: "decoder unchanged (the next message decodes)",
            run: || {
                let mut m = vec![b'b'];
                m.extend_from_slice(&[0; 28]);
                cstr(&mut m, "g");
                pgoutput_fails(2, &[], &m, &begin())
            },
        },
        Row {
            id: "L14",
            layer: "pgoutput",
            input: "StreamAbort with an abort LSN and time under protocol version 3",
            outcome: "08P01 pgoutput message \"A\" is not valid with an abort LSN and time in protocol version 3",
            state: "decoder unchanged (the next message decodes)",
            run: || {
                let mut m = vec![b'A'];
                m.extend_from_slice(&[0; 8 + 16]);
                pgoutput_fails(3, &[], &m, &begin())
            },
        },
        Row {
            id: "L15",
            layer: "pgoutput",
            input: "StreamStop outside a streamed block",
            outcome: "08P01 pgoutput message \"E\" is not valid outside a streamed block",
            state: "decoder unchanged (the next message decodes)",
            run: || pgoutput_fails(2, &[], STREAM_STOP, &begin()),
        },
        Row {
            id: "L16",
            layer: "pgoutput",
            input: "StreamStart inside a streamed block",
            outcome: "08P01 pgoutput message \"S\" is not valid inside a streamed block",
            state: "decoder unchanged (still in the block: StreamStop decodes)",
            run: || pgoutput_fails(2, &[STREAM_START], STREAM_START, STREAM_STOP),
        },
        Row {
            id: "L17",
            layer: "pgoutput",
            input: "Relation whose name has no terminating NUL",
            outcome: "08P01 Relation message has an invalid relation name: has no NUL terminator",
            state: "decoder unchanged (the next message decodes)",
            run: || {
                let mut m = vec![b'R'];
                m.extend_from_slice(&1u32.to_be_bytes());
                cstr(&mut m, "public");
                m.extend_from_slice(b"unterminated");
                pgoutput_fails(1, &[], &m, &begin())
            },
        },
        Row {
            id: "L18",
            layer: "pgoutput",
            input: "a message of a type no version defines (`Z`)",
            outcome: "08P01 invalid pgoutput message type \"Z\" (90)",
            state: "decoder unchanged (the next message decodes)",
            run: || pgoutput_fails(4, &[], b"Z", &begin()),
        },
        Row {
            id: "L19",
            layer: "command",
            input: "START_REPLICATION with an LSN of 9 hex digits",
            outcome: "42601 invalid streaming start location \"123456789/0\"",
            state: "an ERROR; the session continues",
            run: || {
                let e = ReplicationCommand::parse("START_REPLICATION SLOT s LOGICAL 123456789/0")
                    .unwrap_err();
                err(&e, e.sql_state())
            },
        },
        Row {
            id: "L20",
            layer: "command",
            input: "CREATE_REPLICATION_SLOT with an unknown option",
            outcome: "42601 unrecognized option: colour",
            state: "an ERROR; the session continues",
            run: || {
                let e = ReplicationCommand::parse(
                    "CREATE_REPLICATION_SLOT s LOGICAL pgoutput (COLOUR 'red')",
                )
                .unwrap_err();
                err(&e, e.sql_state())
            },
        },
        Row {
            id: "L21",
            layer: "command",
            input: "a slot name with an unterminated quote",
            outcome: "42601 unterminated quoted identifier",
            state: "an ERROR; the session continues",
            run: || {
                let e = ReplicationCommand::parse("DROP_REPLICATION_SLOT \"s").unwrap_err();
                err(&e, e.sql_state())
            },
        },
        Row {
            id: "L22",
            layer: "connection (server)",
            input: "Parse on a replication connection",
            outcome: "E 08P01 extended query protocol not supported in a replication connection; Z Idle at Sync",
            state: "discarding until Sync, then a Query is an event",
            run: || {
                let (mut s, mut dec) = server_session("database");
                let mut out = BytesMut::new();
                Parse::write(&mut out, "", "IDENTIFY_SYSTEM", &[]).unwrap();
                FrontendMessage::Sync.encode(&mut out).unwrap();
                s.handle_input(Instant::now(), &out);
                assert!(s.poll_event().is_none(), "the application sees nothing");
                let got = replies(&mut s, &mut dec).join("; ");
                let mut q = BytesMut::new();
                pgproto::message::Query::write(&mut q, "IDENTIFY_SYSTEM").unwrap();
                s.handle_input(Instant::now(), &q);
                assert!(matches!(s.poll_event(), Some(server::Event::Query { .. })));
                got.replace("Z Idle", "Z Idle at Sync")
            },
        },
    ]
}

fn run_row(id: &str) {
    let rows = rows();
    let row = rows.iter().find(|r| r.id == id).expect("row");
    assert_eq!((row.run)(), row.outcome, "{id}: {}", row.input);
}

macro_rules! row_tests {
    ($($id:ident)*) => {
        $(
            #[test]
            #[allow(non_snake_case)]
            fn $id() {
                run_row(stringify!($id));
            }
        )*

        #[test]
        fn every_row_has_a_test() {
            let ids: Vec<&str> = vec![$(stringify!($id)),*];
            let rows: Vec<&str> = rows().iter().map(|r| r.id).collect();
            assert_eq!(ids, rows);
        }
    };
}

row_tests!(L1 L2 L3 L4 L5 L6 L7 L8 L9 L10 L11 L12 L13 L14 L15 L16 L17 L18 L19 L20 L21 L22);

fn markdown() -> String {
    let mut s = String::from("| id | layer | hostile input | exact outcome | state after |\n");
    s.push_str("|---|---|---|---|---|\n");
    for r in rows() {
        let cell = |t: &str| t.replace('|', "\\|");
        s.push_str(&format!(
            "| {} | {} | {} | `{}` | {} |\n",
            r.id,
            r.layer,
            cell(r.input),
            cell(r.outcome),
            cell(r.state)
        ));
    }
    s
}

#[test]
fn replication_rows_match_the_doc() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/robustness.md");
    let mut doc = std::fs::read_to_string(&path).expect("docs/robustness.md");
    let begin = "<!-- replication:begin -->\n";
    let end = "<!-- replication:end -->";
    let b = doc.find(begin).expect("no replication:begin marker") + begin.len();
    let e = doc.find(end).expect("no replication:end marker");
    let want = markdown();
    if std::env::var_os("ROBUSTNESS_BLESS").is_some() {
        doc.replace_range(b..e, &want);
        std::fs::write(&path, &doc).unwrap();
        return;
    }
    assert_eq!(
        &doc[b..e],
        want,
        "docs/robustness.md: the replication table differs from the tests (ROBUSTNESS_BLESS=1 \
         rewrites it)"
    );
}
