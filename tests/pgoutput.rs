//! The pgoutput decoder and encoder: every message of every protocol version from bytes
//! written out by hand, every strict prefix of them, property round trips against a reference
//! encoding written here, hostile input, and the relation cache.

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::replication::pgoutput::{
    AbortInfo, Begin, BeginPrepare, Commit, CommitPrepared, Decoder, Delete, EncodeError, Insert,
    LogicalMessage, Message, OidList, OldTuple, Origin, Prepare, Relation, RelationCache,
    RelationColumn, RelationColumns, ReplicaIdentity, RollbackPrepared, StreamAbort, StreamCommit,
    StreamStart, Truncate, TupleData, TupleValue, Type, Update, write_oids, write_relation_columns,
    write_tuple,
};
use pgproto::replication::{DecodeError, Lsn, PgTimestamp};
use proptest::collection::vec;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Hand-written wire pieces
// ---------------------------------------------------------------------------------------------

/// 1/23456789.
const LSN1: &[u8] = &[0, 0, 0, 1, 0x23, 0x45, 0x67, 0x89];
/// 1/23457000.
const LSN2: &[u8] = &[0, 0, 0, 1, 0x23, 0x45, 0x70, 0x00];
const T1: &[u8] = &[0, 2, 0xD1, 0xA9, 0x4A, 0x20, 0, 0];
const T2: &[u8] = &[0, 2, 0xD1, 0xA9, 0x4A, 0x21, 0, 0];
/// Transaction 753.
const XID: &[u8] = &[0, 0, 0x02, 0xF1];
/// Subtransaction 756.
const SUBXID: &[u8] = &[0, 0, 0x02, 0xF4];
/// Relation 16384.
const REL: &[u8] = &[0, 0, 0x40, 0x00];
/// The StreamStart that puts a decoder inside a streamed block of transaction 753.
const STREAM_START: &[u8] = b"S\0\0\x02\xF1\x01";

/// Three columns: text "7", NULL, binary be ef.
const ROW: &[u8] = b"\0\x03t\0\0\0\x017nb\0\0\0\x02\xBE\xEF";
/// The key of that row: "7", then the non-key columns as NULL.
const KEY: &[u8] = b"\0\x03t\0\0\0\x017nn";
/// An updated row whose TOASTed last column did not change.
const NEW_ROW: &[u8] = b"\0\x03t\0\0\0\x018nu";
/// id int4 (key), name text, note varchar(64).
const COLUMNS: &[u8] = b"\0\x03\x01id\0\0\0\0\x17\xFF\xFF\xFF\xFF\
\0name\0\0\0\0\x19\xFF\xFF\xFF\xFF\
\0note\0\0\0\x04\x13\0\0\0\x44";
/// Relations 16384 and 16385.
const OIDS: &[u8] = b"\0\0\x40\0\0\0\x40\x01";

const LSN1_V: Lsn = Lsn(0x1_2345_6789);
const LSN2_V: Lsn = Lsn(0x1_2345_7000);
const T1_V: PgTimestamp = PgTimestamp(0x0002_D1A9_4A20_0000);
const T2_V: PgTimestamp = PgTimestamp(0x0002_D1A9_4A21_0000);

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn tuple(bytes: &'static [u8]) -> TupleData<'static> {
    TupleData::parse(bytes).expect("hand-written tuple")
}

fn columns(bytes: &'static [u8]) -> RelationColumns<'static> {
    RelationColumns::parse(bytes).expect("hand-written columns")
}

fn oids(bytes: &'static [u8]) -> OidList<'static> {
    OidList::parse(bytes).expect("hand-written OIDs")
}

fn protocol_violation(e: &DecodeError) {
    assert_eq!(e.sql_state(), SqlState::PROTOCOL_VIOLATION, "{e:?}");
    assert!(!e.to_string().is_empty());
}

/// A decoder of `version`, inside a streamed block if `in_stream`.
fn decoder(version: u32, in_stream: bool) -> Decoder {
    let mut d = Decoder::new(version).unwrap();
    if in_stream {
        let start = d.decode(STREAM_START).unwrap();
        assert_eq!(
            start,
            Message::StreamStart(StreamStart {
                xid: 753,
                first_segment: true
            })
        );
        assert!(d.in_stream());
    }
    d
}

struct Case {
    name: &'static str,
    /// The first protocol version with this message.
    since: u32,
    in_stream: bool,
    wire: Vec<u8>,
    expected: Message<'static>,
}

fn case(
    name: &'static str,
    since: u32,
    in_stream: bool,
    wire: Vec<u8>,
    expected: Message<'static>,
) -> Case {
    Case {
        name,
        since,
        in_stream,
        wire,
        expected,
    }
}

/// Every message type, in every form (with and without the streamed xid, each old-tuple
/// kind, StreamAbort with and without abort information).
fn cases() -> Vec<Case> {
    let x = Some(753);
    let insert = |xid| {
        Message::Insert(Insert {
            xid,
            relation: 16384,
            new: tuple(ROW),
        })
    };
    let update_key = |xid| {
        Message::Update(Update {
            xid,
            relation: 16384,
            old: Some(OldTuple::Key(tuple(KEY))),
            new: tuple(NEW_ROW),
        })
    };
    let delete_full = |xid| {
        Message::Delete(Delete {
            xid,
            relation: 16384,
            old: OldTuple::Full(tuple(ROW)),
        })
    };
    let truncate = |xid| {
        Message::Truncate(Truncate {
            xid,
            cascade: true,
            restart_identity: true,
            relations: oids(OIDS),
        })
    };
    let relation = |xid| {
        Message::Relation(Relation {
            xid,
            id: 16384,
            namespace: "public",
            name: "users",
            replica_identity: b'd',
            columns: columns(COLUMNS),
        })
    };
    let ty = |xid| {
        Message::Type(Type {
            xid,
            id: 16390,
            namespace: "public",
            name: "mood",
        })
    };
    let message = |xid, transactional| {
        Message::LogicalMessage(LogicalMessage {
            xid,
            transactional,
            lsn: LSN1_V,
            prefix: "app",
            content: b"hello",
        })
    };
    let prepare = Prepare {
        prepare_lsn: LSN1_V,
        end_lsn: LSN2_V,
        prepare_time: T1_V,
        xid: 753,
        gid: "gid-1",
    };
    vec![
        case(
            "Begin",
            1,
            false,
            cat(&[b"B", LSN1, T1, XID]),
            Message::Begin(Begin {
                final_lsn: LSN1_V,
                commit_time: T1_V,
                xid: 753,
            }),
        ),
        case(
            "Commit",
            1,
            false,
            cat(&[b"C\0", LSN1, LSN2, T1]),
            Message::Commit(Commit {
                commit_lsn: LSN1_V,
                end_lsn: LSN2_V,
                commit_time: T1_V,
            }),
        ),
        case(
            "Origin",
            1,
            false,
            cat(&[b"O", LSN1, b"node_a\0"]),
            Message::Origin(Origin {
                commit_lsn: LSN1_V,
                name: "node_a",
            }),
        ),
        case(
            "Origin in a stream",
            2,
            true,
            cat(&[b"O\0\0\0\0\0\0\0\0node_a\0"]),
            Message::Origin(Origin {
                commit_lsn: Lsn(0),
                name: "node_a",
            }),
        ),
        case(
            "Relation",
            1,
            false,
            cat(&[b"R", REL, b"public\0users\0d", COLUMNS]),
            relation(None),
        ),
        case(
            "Relation in pg_catalog without columns",
            1,
            false,
            cat(&[b"R\0\0\x04\xEB\0pg_class\0f\0\0"]),
            Message::Relation(Relation {
                xid: None,
                id: 1259,
                namespace: "",
                name: "pg_class",
                replica_identity: b'f',
                columns: columns(b"\0\0"),
            }),
        ),
        case(
            "Relation in a stream",
            2,
            true,
            cat(&[b"R", XID, REL, b"public\0users\0d", COLUMNS]),
            relation(x),
        ),
        case(
            "Type",
            1,
            false,
            cat(&[b"Y\0\0\x40\x06public\0mood\0"]),
            ty(None),
        ),
        case(
            "Type in a stream",
            2,
            true,
            cat(&[b"Y", XID, b"\0\0\x40\x06public\0mood\0"]),
            ty(x),
        ),
        case(
            "Insert",
            1,
            false,
            cat(&[b"I", REL, b"N", ROW]),
            insert(None),
        ),
        case(
            "Insert in a stream",
            2,
            true,
            cat(&[b"I", XID, REL, b"N", ROW]),
            insert(x),
        ),
        case(
            "Insert of an empty row",
            1,
            false,
            cat(&[b"I", REL, b"N\0\0"]),
            Message::Insert(Insert {
                xid: None,
                relation: 16384,
                new: tuple(b"\0\0"),
            }),
        ),
        case(
            "Update",
            1,
            false,
            cat(&[b"U", REL, b"N", NEW_ROW]),
            Message::Update(Update {
                xid: None,
                relation: 16384,
                old: None,
                new: tuple(NEW_ROW),
            }),
        ),
        case(
            "Update with key",
            1,
            false,
            cat(&[b"U", REL, b"K", KEY, b"N", NEW_ROW]),
            update_key(None),
        ),
        case(
            "Update with key in a stream",
            2,
            true,
            cat(&[b"U", XID, REL, b"K", KEY, b"N", NEW_ROW]),
            update_key(x),
        ),
        case(
            "Update with old row",
            1,
            false,
            cat(&[b"U", REL, b"O", ROW, b"N", NEW_ROW]),
            Message::Update(Update {
                xid: None,
                relation: 16384,
                old: Some(OldTuple::Full(tuple(ROW))),
                new: tuple(NEW_ROW),
            }),
        ),
        case(
            "Delete with key",
            1,
            false,
            cat(&[b"D", REL, b"K", KEY]),
            Message::Delete(Delete {
                xid: None,
                relation: 16384,
                old: OldTuple::Key(tuple(KEY)),
            }),
        ),
        case(
            "Delete with old row",
            1,
            false,
            cat(&[b"D", REL, b"O", ROW]),
            delete_full(None),
        ),
        case(
            "Delete in a stream",
            2,
            true,
            cat(&[b"D", XID, REL, b"O", ROW]),
            delete_full(x),
        ),
        case(
            "Truncate",
            1,
            false,
            cat(&[b"T\0\0\0\x02\x03", OIDS]),
            truncate(None),
        ),
        case(
            "Truncate in a stream",
            2,
            true,
            cat(&[b"T", XID, b"\0\0\0\x02\x03", OIDS]),
            truncate(x),
        ),
        case(
            "Truncate without options",
            1,
            false,
            cat(&[b"T\0\0\0\x01\0", REL]),
            Message::Truncate(Truncate {
                xid: None,
                cascade: false,
                restart_identity: false,
                relations: oids(REL),
            }),
        ),
        case(
            "Message",
            1,
            false,
            cat(&[b"M\0", LSN1, b"app\0\0\0\0\x05hello"]),
            message(None, false),
        ),
        case(
            "Message, transactional",
            1,
            false,
            cat(&[b"M\x01", LSN1, b"app\0\0\0\0\x05hello"]),
            message(None, true),
        ),
        case(
            "Message in a stream",
            2,
            true,
            cat(&[b"M", XID, b"\x01", LSN1, b"app\0\0\0\0\x05hello"]),
            message(x, true),
        ),
        case(
            "StreamStart",
            2,
            false,
            cat(&[b"S", XID, b"\x01"]),
            Message::StreamStart(StreamStart {
                xid: 753,
                first_segment: true,
            }),
        ),
        case(
            "StreamStart, later segment",
            2,
            false,
            cat(&[b"S", XID, b"\0"]),
            Message::StreamStart(StreamStart {
                xid: 753,
                first_segment: false,
            }),
        ),
        case("StreamStop", 2, true, b"E".to_vec(), Message::StreamStop),
        case(
            "StreamCommit",
            2,
            false,
            cat(&[b"c", XID, b"\0", LSN1, LSN2, T1]),
            Message::StreamCommit(StreamCommit {
                xid: 753,
                commit_lsn: LSN1_V,
                end_lsn: LSN2_V,
                commit_time: T1_V,
            }),
        ),
        case(
            "StreamAbort",
            2,
            false,
            cat(&[b"A", XID, SUBXID]),
            Message::StreamAbort(StreamAbort {
                xid: 753,
                subxid: 756,
                abort: None,
            }),
        ),
        case(
            "StreamAbort with abort LSN and time",
            4,
            false,
            cat(&[b"A", XID, SUBXID, LSN2, T2]),
            Message::StreamAbort(StreamAbort {
                xid: 753,
                subxid: 756,
                abort: Some(AbortInfo {
                    lsn: LSN2_V,
                    time: T2_V,
                }),
            }),
        ),
        case(
            "BeginPrepare",
            3,
            false,
            cat(&[b"b", LSN1, LSN2, T1, XID, b"gid-1\0"]),
            Message::BeginPrepare(BeginPrepare {
                prepare_lsn: LSN1_V,
                end_lsn: LSN2_V,
                prepare_time: T1_V,
                xid: 753,
                gid: "gid-1",
            }),
        ),
        case(
            "Prepare",
            3,
            false,
            cat(&[b"P\0", LSN1, LSN2, T1, XID, b"gid-1\0"]),
            Message::Prepare(prepare),
        ),
        case(
            "CommitPrepared",
            3,
            false,
            cat(&[b"K\0", LSN1, LSN2, T1, XID, b"gid-1\0"]),
            Message::CommitPrepared(CommitPrepared {
                commit_lsn: LSN1_V,
                end_lsn: LSN2_V,
                commit_time: T1_V,
                xid: 753,
                gid: "gid-1",
            }),
        ),
        case(
            "RollbackPrepared",
            3,
            false,
            cat(&[b"r\0", LSN1, LSN2, T1, T2, XID, b"gid-1\0"]),
            Message::RollbackPrepared(RollbackPrepared {
                prepare_end_lsn: LSN1_V,
                rollback_end_lsn: LSN2_V,
                prepare_time: T1_V,
                rollback_time: T2_V,
                xid: 753,
                gid: "gid-1",
            }),
        ),
        case(
            "StreamPrepare",
            3,
            false,
            cat(&[b"p\0", LSN1, LSN2, T1, XID, b"gid-\xC3\xA9\0"]),
            Message::StreamPrepare(Prepare {
                gid: "gid-é",
                ..prepare
            }),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Hand-written messages
// ---------------------------------------------------------------------------------------------

#[test]
fn hand_written_messages_decode_and_encode_byte_for_byte() {
    let cases = cases();
    let mut tags: Vec<u8> = cases.iter().map(|c| c.wire[0]).collect();
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags.len(), 19, "every message type has a case");
    for c in &cases {
        assert_eq!(c.expected.tag(), c.wire[0], "{}", c.name);
        if !c.in_stream {
            assert_eq!(c.expected.min_version(), c.since, "{}", c.name);
        }
        for version in c.since..=4 {
            let mut d = decoder(version, c.in_stream);
            let got = d.decode(&c.wire);
            assert_eq!(got.as_ref(), Ok(&c.expected), "{} v{version}", c.name);
            let stays = match c.expected {
                Message::StreamStart(_) => true,
                Message::StreamStop => false,
                _ => c.in_stream,
            };
            assert_eq!(d.in_stream(), stays, "{} v{version}", c.name);
            assert_eq!(d.version(), version);

            let mut out = BytesMut::from(&b"before"[..]);
            c.expected.encode(&mut out).unwrap();
            assert_eq!(&out[6..], &c.wire[..], "{} encodes", c.name);
            assert_eq!(&out[..6], b"before", "encode appends");
        }
    }
}

#[test]
fn messages_of_later_versions_are_out_of_version() {
    for c in cases() {
        // Messages inside a stream need version 2 to get there; version 1 is covered by the
        // forms outside a stream.
        let from = if c.in_stream { 2 } else { 1 };
        for version in from..c.since {
            let mut d = decoder(version, c.in_stream);
            let before = d.clone();
            let err = d.decode(&c.wire).unwrap_err();
            protocol_violation(&err);
            let want_detail = if c.since == 4 && version >= 2 {
                format!("with an abort LSN and time in protocol version {version}")
            } else {
                format!("in protocol version {version}")
            };
            assert_eq!(
                err,
                DecodeError::OutOfVersion {
                    tag: c.wire[0],
                    detail: want_detail
                },
                "{} v{version}",
                c.name
            );
            assert_eq!(d, before, "a failed decode changed the decoder");
        }
    }
}

#[test]
fn every_strict_prefix_fails_and_leaves_the_decoder_alone() {
    for c in cases() {
        for version in c.since..=4 {
            let mut d = decoder(version, c.in_stream);
            let before = d.clone();
            for len in 0..c.wire.len() {
                let prefix = &c.wire[..len];
                let result = d.decode(prefix);
                if c.name == "StreamAbort with abort LSN and time" && len == 9 {
                    // The protocol 2 form of the same message.
                    assert!(matches!(
                        result,
                        Ok(Message::StreamAbort(StreamAbort { abort: None, .. }))
                    ));
                    continue;
                }
                let err = result.expect_err(c.name);
                protocol_violation(&err);
                if len == 0 {
                    assert_eq!(err, DecodeError::Empty { layer: "pgoutput" });
                }
                assert_eq!(
                    d, before,
                    "{} v{version}: prefix {len} changed state",
                    c.name
                );
            }
        }
    }
}

#[test]
fn hand_written_views_hold_what_they_say() {
    let row = tuple(ROW);
    assert_eq!((row.len(), row.is_empty()), (3, false));
    let values = [
        TupleValue::Text(b"7"),
        TupleValue::Null,
        TupleValue::Binary(&[0xBE, 0xEF]),
    ];
    assert_eq!(row.iter().collect::<Vec<_>>(), values);
    assert_eq!(row.iter().len(), 3);
    for (i, v) in values.iter().enumerate() {
        assert_eq!(row.get(i), Some(*v));
    }
    assert_eq!(row.get(3), None);
    assert_eq!(row.get(usize::MAX), None);
    assert_eq!(
        tuple(NEW_ROW).get(2),
        Some(TupleValue::Unchanged),
        "unchanged TOAST"
    );
    assert_eq!(TupleValue::Text(b"7").as_bytes(), Some(&b"7"[..]));
    assert_eq!(TupleValue::Unchanged.as_bytes(), None);
    assert!(TupleValue::Null.is_null());
    assert_eq!(
        format!("{row:?}"),
        r#"[Text(b"7"), Null, Binary(b"\xbe\xef")]"#
    );
    assert!(tuple(b"\0\0").is_empty());

    let cols: Vec<_> = columns(COLUMNS).iter().collect();
    assert_eq!(
        cols,
        [
            RelationColumn {
                flags: 1,
                name: "id",
                type_oid: 23,
                type_modifier: -1
            },
            RelationColumn {
                flags: 0,
                name: "name",
                type_oid: 25,
                type_modifier: -1
            },
            RelationColumn {
                flags: 0,
                name: "note",
                type_oid: 1043,
                type_modifier: 68
            },
        ]
    );
    assert!(cols[0].is_key() && !cols[1].is_key());

    let list = oids(OIDS);
    assert_eq!(
        (list.len(), list.get(1), list.get(2)),
        (2, Some(16385), None)
    );
    assert_eq!(list.iter().collect::<Vec<_>>(), [16384, 16385]);
    assert_eq!(format!("{list:?}"), "[16384, 16385]");

    let Message::Relation(r) = &cases()[4].expected else {
        panic!("case order")
    };
    assert_eq!(r.replica_identity_kind(), Some(ReplicaIdentity::Default));
    assert_eq!(r.column_count(), 3);
    for (byte, identity) in [
        (b'd', ReplicaIdentity::Default),
        (b'n', ReplicaIdentity::Nothing),
        (b'f', ReplicaIdentity::Full),
        (b'i', ReplicaIdentity::Index),
    ] {
        assert_eq!(ReplicaIdentity::from_byte(byte), Some(identity));
        assert_eq!(identity.as_byte(), byte);
    }
    assert_eq!(ReplicaIdentity::from_byte(b'x'), None);
}

#[test]
fn builders_write_the_hand_written_bytes() {
    let mut out = BytesMut::new();
    write_tuple(
        &mut out,
        [
            TupleValue::Text(b"7"),
            TupleValue::Null,
            TupleValue::Binary(&[0xBE, 0xEF]),
        ],
    )
    .unwrap();
    assert_eq!(&out[..], ROW);

    out.clear();
    write_relation_columns(&mut out, columns(COLUMNS)).unwrap();
    assert_eq!(&out[..], COLUMNS);

    out.clear();
    write_oids(&mut out, [16384, 16385]).unwrap();
    assert_eq!(&out[..], OIDS);

    out.clear();
    write_tuple(&mut out, []).unwrap();
    assert_eq!(&out[..], b"\0\0");
}

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

/// Decodes `wire` with a fresh decoder and returns the error, checking that it maps to 08P01
/// and left the decoder as it was.
fn fails(version: u32, in_stream: bool, wire: &[u8]) -> DecodeError {
    let mut d = decoder(version, in_stream);
    let before = d.clone();
    let err = d.decode(wire).expect_err("hostile input decoded");
    protocol_violation(&err);
    assert_eq!(d, before, "a failed decode changed the decoder");
    err
}

fn invalid(err: DecodeError) -> (&'static str, &'static str) {
    match err {
        DecodeError::Invalid { message, field, .. } => (message, field),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn truncated(err: DecodeError) -> (&'static str, &'static str) {
    match err {
        DecodeError::Truncated { message, field } => (message, field),
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn bad_tuple_kinds() {
    for kind in [b'x', b'N', b'K', b'O', 0, b'T', b'B'] {
        let wire = cat(&[b"I", REL, b"N\0\x01", &[kind]]);
        let err = fails(1, false, &wire);
        assert_eq!(invalid(err), ("Insert", "tuple column kind"), "{kind}");
    }
    // The second column is bad.
    let wire = cat(&[b"U", REL, b"K\0\x02nx\0\0\0\0N\0\0"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Update", "tuple column kind")
    );
    assert_eq!(
        invalid(TupleData::parse(b"\0\x01x").unwrap_err()),
        ("TupleData", "tuple column kind")
    );
}

#[test]
fn negative_lengths_and_counts() {
    let wire = cat(&[b"I", REL, b"N\0\x01t\xFF\xFF\xFF\xFF"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Insert", "tuple value length")
    );
    let wire = cat(&[b"I", REL, b"N\0\x01b\x80\0\0\0"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Insert", "tuple value length")
    );
    let wire = cat(&[b"I", REL, b"N\xFF\xFF"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Insert", "tuple column count")
    );
    let wire = cat(&[b"R", REL, b"s\0t\0d\x80\0"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Relation", "column count")
    );
    let wire = cat(&[b"T\xFF\xFF\xFF\xFF\0"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Truncate", "relation count")
    );
    let wire = cat(&[b"M\0", LSN1, b"p\0\xFF\xFF\xFF\xFE"]);
    assert_eq!(
        invalid(fails(1, false, &wire)),
        ("Message", "content length")
    );
}

#[test]
fn counts_and_lengths_larger_than_the_message() {
    // Five columns announced, one present.
    let wire = cat(&[b"I", REL, b"N\0\x05n"]);
    assert_eq!(
        truncated(fails(1, false, &wire)),
        ("Insert", "tuple column kind")
    );
    // The largest counts and lengths each field can announce, with nothing behind them: no
    // allocation is made from them (tests/pgoutput_alloc.rs counts), only a Truncated error.
    let wire = cat(&[b"I", REL, b"N\x7F\xFF"]);
    assert_eq!(
        truncated(fails(1, false, &wire)),
        ("Insert", "tuple column kind")
    );
    let wire = cat(&[b"I", REL, b"N\0\x01t\x7F\xFF\xFF\xFFabc"]);
    assert_eq!(truncated(fails(1, false, &wire)), ("Insert", "tuple value"));
    let wire = cat(&[b"R", REL, b"s\0t\0d\x7F\xFF"]);
    assert_eq!(
        truncated(fails(1, false, &wire)),
        ("Relation", "column flags")
    );
    let wire = cat(&[b"T\x7F\xFF\xFF\xFF\0", REL]);
    assert_eq!(
        truncated(fails(1, false, &wire)),
        ("Truncate", "relation OIDs")
    );
    let wire = cat(&[b"M\0", LSN1, b"p\0\x7F\xFF\xFF\xFFhello"]);
    assert_eq!(truncated(fails(1, false, &wire)), ("Message", "content"));
}

#[test]
fn trailing_bytes_are_refused_everywhere() {
    for c in cases() {
        for version in c.since..=4 {
            let wire = cat(&[&c.wire, b"\0"]);
            let err = fails(version, c.in_stream, &wire);
            let want = match (c.wire[0], version) {
                // One byte after StreamAbort: too short for protocol 4's abort information.
                (b'A', 4) if c.since == 2 => DecodeError::Truncated {
                    message: "StreamAbort",
                    field: "abort LSN",
                },
                _ => DecodeError::TrailingBytes {
                    message: message_name(c.wire[0]),
                    extra: 1,
                },
            };
            assert_eq!(err, want, "{} v{version}", c.name);
        }
    }
    // Fewer bytes than a TupleData says and more than it says.
    assert!(matches!(
        TupleData::parse(b"\0\x01nn"),
        Err(DecodeError::TrailingBytes {
            message: "TupleData",
            extra: 1
        })
    ));
    assert!(matches!(
        RelationColumns::parse(b"\0\0\0"),
        Err(DecodeError::TrailingBytes { extra: 1, .. })
    ));
    assert!(matches!(
        OidList::parse(b"\0\0\0\0\0"),
        Err(DecodeError::Invalid { .. })
    ));
}

fn message_name(tag: u8) -> &'static str {
    match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        b'S' => "StreamStart",
        b'E' => "StreamStop",
        b'c' => "StreamCommit",
        b'A' => "StreamAbort",
        b'b' => "BeginPrepare",
        b'P' => "Prepare",
        b'K' => "CommitPrepared",
        b'r' => "RollbackPrepared",
        b'p' => "StreamPrepare",
        _ => unreachable!(),
    }
}

#[test]
fn version_2_3_4_messages_under_version_1() {
    for (tag, since) in [
        (b'S', 2),
        (b'E', 2),
        (b'c', 2),
        (b'A', 2),
        (b'b', 3),
        (b'P', 3),
        (b'K', 3),
        (b'r', 3),
        (b'p', 3),
    ] {
        for version in 1..since {
            // The tag alone is enough: the version is checked before the body.
            let err = fails(version, false, &[tag]);
            assert_eq!(
                err,
                DecodeError::OutOfVersion {
                    tag,
                    detail: format!("in protocol version {version}")
                }
            );
        }
    }
}

#[test]
fn stream_abort_information_needs_version_4() {
    let wire = cat(&[b"A", XID, SUBXID, LSN2, T2]);
    for version in [2, 3] {
        assert_eq!(
            fails(version, false, &wire),
            DecodeError::OutOfVersion {
                tag: b'A',
                detail: format!("with an abort LSN and time in protocol version {version}")
            }
        );
        let wire = cat(&[b"A", XID, SUBXID, b"abc"]);
        assert_eq!(
            fails(version, false, &wire),
            DecodeError::TrailingBytes {
                message: "StreamAbort",
                extra: 3
            }
        );
    }
    let wire = cat(&[b"A", XID, SUBXID, LSN2, b"abc"]);
    assert_eq!(
        truncated(fails(4, false, &wire)),
        ("StreamAbort", "abort time")
    );
    let wire = cat(&[b"A", XID, SUBXID, LSN2, T2, b"x"]);
    assert_eq!(
        fails(4, false, &wire),
        DecodeError::TrailingBytes {
            message: "StreamAbort",
            extra: 1
        }
    );
}

#[test]
fn stream_blocks_nest_correctly() {
    for version in 2..=4 {
        let inside = DecodeError::OutOfVersion {
            tag: b'S',
            detail: "inside a streamed block".to_owned(),
        };
        assert_eq!(fails(version, true, STREAM_START), inside);
        assert_eq!(
            fails(version, false, b"E"),
            DecodeError::OutOfVersion {
                tag: b'E',
                detail: "outside a streamed block".to_owned()
            }
        );
        // Transaction control belongs outside the block.
        for c in cases() {
            let tag = c.wire[0];
            if c.in_stream || version < c.since || matches!(tag, b'O' | b'E') {
                continue;
            }
            if matches!(tag, b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M') {
                continue;
            }
            assert_eq!(
                fails(version, true, &c.wire),
                DecodeError::OutOfVersion {
                    tag,
                    detail: "inside a streamed block".to_owned()
                },
                "{}",
                c.name
            );
        }
        // A whole block: the xid comes and goes with it.
        let mut d = decoder(version, false);
        let insert = cat(&[b"I", REL, b"N", ROW]);
        let streamed = cat(&[b"I", XID, REL, b"N", ROW]);
        assert!(matches!(
            d.decode(&insert),
            Ok(Message::Insert(Insert { xid: None, .. }))
        ));
        d.decode(STREAM_START).unwrap();
        assert!(matches!(
            d.decode(&streamed),
            Ok(Message::Insert(Insert { xid: Some(753), .. }))
        ));
        // Without its xid, the message is misread and does not fit.
        assert!(d.decode(&insert).is_err());
        assert!(d.in_stream());
        assert_eq!(d.decode(b"E"), Ok(Message::StreamStop));
        assert!(!d.in_stream());
        assert!(d.decode(&streamed).is_err());
        assert!(d.decode(&insert).is_ok());
    }
}

#[test]
fn unknown_types_and_empty_messages() {
    for tag in [b'Z', b'w', b'k', b'a', 0, 0xFF, b'N'] {
        for version in 1..=4 {
            assert_eq!(
                fails(version, false, &[tag, 0, 0, 0]),
                DecodeError::UnknownType {
                    layer: "pgoutput",
                    tag
                }
            );
        }
    }
    assert_eq!(
        fails(2, true, b""),
        DecodeError::Empty { layer: "pgoutput" }
    );
    for version in [0, 5, u32::MAX] {
        let err = Decoder::new(version).unwrap_err();
        protocol_violation(&err);
        assert!(matches!(
            err,
            DecodeError::Invalid {
                field: "proto_version",
                ..
            }
        ));
    }
}

#[test]
fn bad_markers_and_flags() {
    let checks: &[(&[u8], (&str, &str))] = &[
        (b"U\0\0\x40\0X\0\0", ("Update", "tuple marker")),
        (b"U\0\0\x40\0K\0\0K\0\0", ("Update", "new tuple marker")),
        (b"D\0\0\x40\0N\0\0", ("Delete", "tuple marker")),
        (b"I\0\0\x40\0K\0\0", ("Insert", "tuple marker")),
        (b"T\0\0\0\0\x04", ("Truncate", "options")),
        (b"S\0\0\0\x01\x02", ("StreamStart", "first segment flag")),
    ];
    for (wire, want) in checks {
        assert_eq!(invalid(fails(3, false, wire)), *want);
    }
    let flagged: &[(Vec<u8>, &str)] = &[
        (cat(&[b"C\x01", LSN1, LSN2, T1]), "Commit"),
        (cat(&[b"c", XID, b"\x02", LSN1, LSN2, T1]), "StreamCommit"),
        (cat(&[b"P\x01", LSN1, LSN2, T1, XID, b"g\0"]), "Prepare"),
        (
            cat(&[b"K\x01", LSN1, LSN2, T1, XID, b"g\0"]),
            "CommitPrepared",
        ),
        (
            cat(&[b"r\x01", LSN1, LSN2, T1, T2, XID, b"g\0"]),
            "RollbackPrepared",
        ),
        (
            cat(&[b"p\x80", LSN1, LSN2, T1, XID, b"g\0"]),
            "StreamPrepare",
        ),
        (cat(&[b"M\x02", LSN1, b"p\0\0\0\0\0"]), "Message"),
    ];
    for (wire, message) in flagged {
        assert_eq!(invalid(fails(3, false, wire)), (*message, "flags"));
    }
}

#[test]
fn strings_must_be_utf8_and_terminated() {
    let checks: &[(Vec<u8>, (&str, &str))] = &[
        (
            cat(&[b"R", REL, b"public\0us\xFFers\0d\0\0"]),
            ("Relation", "relation name"),
        ),
        (
            cat(&[b"R", REL, b"\xC3\0users\0d\0\0"]),
            ("Relation", "namespace"),
        ),
        (
            cat(&[
                b"R",
                REL,
                b"public\0users\0d\0\x01\0\xED\xA0\x80\0\0\0\0\x17\0\0\0\0",
            ]),
            ("Relation", "column name"),
        ),
        (cat(&[b"Y\0\0\0\x01s\0\x80\0"]), ("Type", "type name")),
        (
            cat(&[b"O", LSN1, b"\xFEorigin\0"]),
            ("Origin", "origin name"),
        ),
        (
            cat(&[b"O", LSN1, b"no terminator"]),
            ("Origin", "origin name"),
        ),
        (
            cat(&[b"M\0", LSN1, b"\xFF\0\0\0\0\0"]),
            ("Message", "prefix"),
        ),
        (
            cat(&[b"b", LSN1, LSN2, T1, XID, b"g\xFF\0"]),
            ("BeginPrepare", "gid"),
        ),
    ];
    for (wire, want) in checks {
        assert_eq!(invalid(fails(3, false, wire)), *want);
    }
    // The content of a logical message is bytes, not text.
    let wire = cat(&[b"M\0", LSN1, b"p\0\0\0\0\x02\xFF\0"]);
    assert!(matches!(
        decoder(1, false).decode(&wire),
        Ok(Message::LogicalMessage(LogicalMessage {
            content: b"\xFF\0",
            ..
        }))
    ));
}

// ---------------------------------------------------------------------------------------------
// Encoding errors
// ---------------------------------------------------------------------------------------------

#[test]
fn encode_errors_leave_the_buffer_alone() {
    let mut out = BytesMut::from(&b"keep"[..]);
    let bad = [
        Message::Origin(Origin {
            commit_lsn: Lsn(1),
            name: "a\0b",
        }),
        Message::Relation(Relation {
            xid: Some(1),
            id: 1,
            namespace: "ok",
            name: "\0",
            replica_identity: b'd',
            columns: RelationColumns::default(),
        }),
        Message::LogicalMessage(LogicalMessage {
            xid: None,
            transactional: false,
            lsn: Lsn(1),
            prefix: "p\0",
            content: b"",
        }),
        Message::CommitPrepared(CommitPrepared {
            commit_lsn: Lsn(1),
            end_lsn: Lsn(2),
            commit_time: PgTimestamp(3),
            xid: 4,
            gid: "g\0",
        }),
    ];
    for m in &bad {
        assert!(
            matches!(m.encode(&mut out), Err(EncodeError::NulInString { .. })),
            "{m:?}"
        );
        assert_eq!(&out[..], b"keep");
    }

    let many = std::iter::repeat_n(TupleValue::Null, 32768);
    let err = write_tuple(&mut out, many).unwrap_err();
    assert_eq!(
        err,
        EncodeError::TooLarge {
            what: "tuple column count",
            max: 32767
        }
    );
    assert_eq!(&out[..], b"keep");
    write_tuple(&mut out, std::iter::repeat_n(TupleValue::Null, 32767)).unwrap();
    assert_eq!(TupleData::parse(&out[4..]).unwrap().len(), 32767);
    out.truncate(4);

    let column = RelationColumn {
        flags: 0,
        name: "c",
        type_oid: 25,
        type_modifier: -1,
    };
    let err = write_relation_columns(&mut out, std::iter::repeat_n(column, 32768)).unwrap_err();
    assert!(matches!(err, EncodeError::TooLarge { max: 32767, .. }));
    assert_eq!(&out[..], b"keep");
    let bad_name = RelationColumn {
        name: "c\0",
        ..column
    };
    let err = write_relation_columns(&mut out, [column, bad_name]).unwrap_err();
    assert_eq!(
        err,
        EncodeError::NulInString {
            field: "column name"
        }
    );
    assert_eq!(&out[..], b"keep");
    assert!(!err.to_string().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Relation cache
// ---------------------------------------------------------------------------------------------

#[test]
fn relation_cache_records_and_checks() {
    let mut cache = RelationCache::new();
    assert!(cache.is_empty());
    let mut d = decoder(1, false);

    let insert_wire = cat(&[b"I", REL, b"N", ROW]);
    let insert = d.decode(&insert_wire).unwrap();
    let err = cache.check(&insert).unwrap_err();
    assert_eq!(err, DecodeError::UnknownRelation(16384));
    protocol_violation(&err);
    assert_eq!(cache.get(16384), Err(DecodeError::UnknownRelation(16384)));

    let rel_wire = cat(&[b"R", REL, b"public\0users\0d", COLUMNS]);
    let rel = d.decode(&rel_wire).unwrap();
    cache.handle(&rel).unwrap();
    let ty = d.decode(b"Y\0\0\x40\x06public\0mood\0").unwrap();
    cache.handle(&ty).unwrap();
    assert_eq!(cache.len(), 1);
    let info = cache.get(16384).unwrap();
    assert_eq!(
        (
            info.id,
            &*info.namespace,
            &*info.name,
            info.replica_identity
        ),
        (16384, "public", "users", b'd')
    );
    assert_eq!(info.replica_identity_kind(), Some(ReplicaIdentity::Default));
    let names: Vec<_> = info.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "note"]);
    assert_eq!(
        info.columns
            .iter()
            .map(|c| (c.key, c.type_oid, c.type_modifier))
            .collect::<Vec<_>>(),
        [(true, 23, -1), (false, 25, -1), (false, 1043, 68)]
    );
    let mood = cache.type_info(16390).unwrap();
    assert_eq!((&*mood.namespace, &*mood.name), ("public", "mood"));
    assert!(cache.type_info(23).is_none());

    for wire in [
        insert_wire.clone(),
        cat(&[b"U", REL, b"K", KEY, b"N", NEW_ROW]),
        cat(&[b"D", REL, b"O", ROW]),
        cat(&[b"T\0\0\0\x01\0", REL]),
        cat(&[b"B", LSN1, T1, XID]),
    ] {
        let m = d.decode(&wire).unwrap();
        cache.handle(&m).unwrap();
    }

    // Column counts that differ from the relation's.
    for (wire, message) in [
        (cat(&[b"I", REL, b"N\0\x02nn"]), "Insert"),
        (cat(&[b"U", REL, b"O\0\x01n", b"N", NEW_ROW]), "Update"),
        (cat(&[b"U", REL, b"N\0\x04nnnn"]), "Update"),
        (cat(&[b"D", REL, b"K\0\0"]), "Delete"),
    ] {
        let m = d.decode(&wire).unwrap();
        let err = cache.check(&m).unwrap_err();
        protocol_violation(&err);
        assert_eq!(invalid(err), (message, "tuple"));
    }

    // A Truncate naming one unknown relation among known ones.
    let truncate = cat(&[b"T\0\0\0\x02\0", OIDS]);
    let m = d.decode(&truncate).unwrap();
    assert_eq!(cache.check(&m), Err(DecodeError::UnknownRelation(16385)));

    // A changed relation replaces the old description.
    let rel2_wire = cat(&[b"R", REL, b"public\0users\0f\0\x01\0x\0\0\0\0\x17\0\0\0\0"]);
    let rel2 = d.decode(&rel2_wire).unwrap();
    cache.handle(&rel2).unwrap();
    assert_eq!(cache.get(16384).unwrap().columns.len(), 1);
    assert!(cache.check(&insert).is_err());
    let removed = cache.remove(16384).unwrap();
    assert_eq!(removed.replica_identity, b'f');
    assert_eq!(cache.remove(16384), None);
    assert_eq!(
        cache.check(&insert),
        Err(DecodeError::UnknownRelation(16384))
    );
    cache.handle(&rel).unwrap();
    cache.clear();
    assert!(cache.is_empty() && cache.type_info(16390).is_none());
}

// ---------------------------------------------------------------------------------------------
// Property tests: a reference encoding written here, independent of the crate's encoder
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Val {
    Null,
    Unchanged,
    Text(Vec<u8>),
    Binary(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Col {
    flags: u8,
    name: String,
    type_oid: u32,
    type_modifier: i32,
}

#[derive(Debug, Clone)]
enum Spec {
    Begin(u64, i64, u32),
    Commit(u64, u64, i64),
    Origin(u64, String),
    Relation(Option<u32>, u32, String, String, u8, Vec<Col>),
    Type(Option<u32>, u32, String, String),
    Insert(Option<u32>, u32, Vec<Val>),
    /// Old tuple: none, or (is key, values).
    Update(Option<u32>, u32, Option<(bool, Vec<Val>)>, Vec<Val>),
    Delete(Option<u32>, u32, bool, Vec<Val>),
    Truncate(Option<u32>, u8, Vec<u32>),
    Message(Option<u32>, bool, u64, String, Vec<u8>),
    StreamStart(u32, bool),
    StreamStop,
    StreamCommit(u32, u64, u64, i64),
    StreamAbort(u32, u32, Option<(u64, i64)>),
    BeginPrepare(u64, u64, i64, u32, String),
    /// `P` or, when streamed, `p`.
    Prepare(bool, u64, u64, i64, u32, String),
    CommitPrepared(u64, u64, i64, u32, String),
    RollbackPrepared(u64, u64, i64, i64, u32, String),
}

#[path = "support/wire.rs"]
mod wire;
use wire::W;

/// pgoutput's own fields, on the shared reference writer.
impl W {
    fn xid(&mut self, xid: Option<u32>) -> &mut W {
        if let Some(x) = xid {
            self.u32(x);
        }
        self
    }
    fn len(&mut self, n: usize) -> &mut W {
        self.i32(i32::try_from(n).unwrap())
    }
}

fn ref_tuple(values: &[Val]) -> Vec<u8> {
    let mut w = W::default();
    w.u16(values.len());
    for v in values {
        match v {
            Val::Null => w.u8(b'n'),
            Val::Unchanged => w.u8(b'u'),
            Val::Text(b) => w.u8(b't').len(b.len()).raw(b),
            Val::Binary(b) => w.u8(b'b').len(b.len()).raw(b),
        };
    }
    w.0
}

fn ref_columns(cols: &[Col]) -> Vec<u8> {
    let mut w = W::default();
    w.u16(cols.len());
    for c in cols {
        w.u8(c.flags)
            .cstr(&c.name)
            .u32(c.type_oid)
            .i32(c.type_modifier);
    }
    w.0
}

/// A spec with the lists it needs in wire form, written by the reference encoder.
struct Owned {
    spec: Spec,
    /// The old tuple, or a Relation's columns, or a Truncate's OIDs.
    first: Vec<u8>,
    /// The new tuple.
    second: Vec<u8>,
}

impl Owned {
    fn new(spec: Spec) -> Owned {
        let (first, second) = match &spec {
            Spec::Relation(.., cols) => (ref_columns(cols), vec![]),
            Spec::Insert(_, _, new) => (vec![], ref_tuple(new)),
            Spec::Update(_, _, old, new) => (
                old.as_ref().map(|(_, v)| ref_tuple(v)).unwrap_or_default(),
                ref_tuple(new),
            ),
            Spec::Delete(_, _, _, old) => (ref_tuple(old), vec![]),
            Spec::Truncate(_, _, rels) => {
                let mut w = W::default();
                rels.iter().for_each(|&r| {
                    w.u32(r);
                });
                (w.0, vec![])
            }
            _ => (vec![], vec![]),
        };
        Owned {
            spec,
            first,
            second,
        }
    }

    /// The message as the reference encoder writes it.
    fn wire(&self) -> Vec<u8> {
        let mut w = W::default();
        match &self.spec {
            Spec::Begin(l, t, x) => w.u8(b'B').u64(*l).i64(*t).u32(*x),
            Spec::Commit(l, e, t) => w.u8(b'C').u8(0).u64(*l).u64(*e).i64(*t),
            Spec::Origin(l, n) => w.u8(b'O').u64(*l).cstr(n),
            Spec::Relation(x, id, ns, n, ri, _) => w
                .u8(b'R')
                .xid(*x)
                .u32(*id)
                .cstr(ns)
                .cstr(n)
                .u8(*ri)
                .raw(&self.first),
            Spec::Type(x, id, ns, n) => w.u8(b'Y').xid(*x).u32(*id).cstr(ns).cstr(n),
            Spec::Insert(x, r, _) => w.u8(b'I').xid(*x).u32(*r).u8(b'N').raw(&self.second),
            Spec::Update(x, r, old, _) => {
                w.u8(b'U').xid(*x).u32(*r);
                if let Some((key, _)) = old {
                    w.u8(if *key { b'K' } else { b'O' }).raw(&self.first);
                }
                w.u8(b'N').raw(&self.second)
            }
            Spec::Delete(x, r, key, _) => w
                .u8(b'D')
                .xid(*x)
                .u32(*r)
                .u8(if *key { b'K' } else { b'O' })
                .raw(&self.first),
            Spec::Truncate(x, o, rels) => {
                w.u8(b'T').xid(*x).len(rels.len()).u8(*o).raw(&self.first)
            }
            Spec::Message(x, tr, l, p, c) => w
                .u8(b'M')
                .xid(*x)
                .u8(u8::from(*tr))
                .u64(*l)
                .cstr(p)
                .len(c.len())
                .raw(c),
            Spec::StreamStart(x, f) => w.u8(b'S').u32(*x).u8(u8::from(*f)),
            Spec::StreamStop => w.u8(b'E'),
            Spec::StreamCommit(x, l, e, t) => w.u8(b'c').u32(*x).u8(0).u64(*l).u64(*e).i64(*t),
            Spec::StreamAbort(x, s, info) => {
                w.u8(b'A').u32(*x).u32(*s);
                if let Some((l, t)) = info {
                    w.u64(*l).i64(*t);
                }
                &mut w
            }
            Spec::BeginPrepare(l, e, t, x, g) => w.u8(b'b').u64(*l).u64(*e).i64(*t).u32(*x).cstr(g),
            Spec::Prepare(streamed, l, e, t, x, g) => w
                .u8(if *streamed { b'p' } else { b'P' })
                .u8(0)
                .u64(*l)
                .u64(*e)
                .i64(*t)
                .u32(*x)
                .cstr(g),
            Spec::CommitPrepared(l, e, t, x, g) => {
                w.u8(b'K').u8(0).u64(*l).u64(*e).i64(*t).u32(*x).cstr(g)
            }
            Spec::RollbackPrepared(pe, re, pt, rt, x, g) => w
                .u8(b'r')
                .u8(0)
                .u64(*pe)
                .u64(*re)
                .i64(*pt)
                .i64(*rt)
                .u32(*x)
                .cstr(g),
        };
        w.0
    }

    /// The message, with its lists as views over the reference bytes.
    fn message(&self) -> Message<'_> {
        let first = || TupleData::parse(&self.first).unwrap();
        let second = || TupleData::parse(&self.second).unwrap();
        let old = |key: bool| {
            if key {
                OldTuple::Key(first())
            } else {
                OldTuple::Full(first())
            }
        };
        match &self.spec {
            Spec::Begin(l, t, x) => Message::Begin(Begin {
                final_lsn: Lsn(*l),
                commit_time: PgTimestamp(*t),
                xid: *x,
            }),
            Spec::Commit(l, e, t) => Message::Commit(Commit {
                commit_lsn: Lsn(*l),
                end_lsn: Lsn(*e),
                commit_time: PgTimestamp(*t),
            }),
            Spec::Origin(l, n) => Message::Origin(Origin {
                commit_lsn: Lsn(*l),
                name: n,
            }),
            Spec::Relation(x, id, ns, n, ri, _) => Message::Relation(Relation {
                xid: *x,
                id: *id,
                namespace: ns,
                name: n,
                replica_identity: *ri,
                columns: RelationColumns::parse(&self.first).unwrap(),
            }),
            Spec::Type(x, id, ns, n) => Message::Type(Type {
                xid: *x,
                id: *id,
                namespace: ns,
                name: n,
            }),
            Spec::Insert(x, r, _) => Message::Insert(Insert {
                xid: *x,
                relation: *r,
                new: second(),
            }),
            Spec::Update(x, r, o, _) => Message::Update(Update {
                xid: *x,
                relation: *r,
                old: o.as_ref().map(|(key, _)| old(*key)),
                new: second(),
            }),
            Spec::Delete(x, r, key, _) => Message::Delete(Delete {
                xid: *x,
                relation: *r,
                old: old(*key),
            }),
            Spec::Truncate(x, o, _) => Message::Truncate(Truncate {
                xid: *x,
                cascade: o & 1 != 0,
                restart_identity: o & 2 != 0,
                relations: OidList::parse(&self.first).unwrap(),
            }),
            Spec::Message(x, tr, l, p, c) => Message::LogicalMessage(LogicalMessage {
                xid: *x,
                transactional: *tr,
                lsn: Lsn(*l),
                prefix: p,
                content: c,
            }),
            Spec::StreamStart(x, f) => Message::StreamStart(StreamStart {
                xid: *x,
                first_segment: *f,
            }),
            Spec::StreamStop => Message::StreamStop,
            Spec::StreamCommit(x, l, e, t) => Message::StreamCommit(StreamCommit {
                xid: *x,
                commit_lsn: Lsn(*l),
                end_lsn: Lsn(*e),
                commit_time: PgTimestamp(*t),
            }),
            Spec::StreamAbort(x, s, info) => Message::StreamAbort(StreamAbort {
                xid: *x,
                subxid: *s,
                abort: info.map(|(l, t)| AbortInfo {
                    lsn: Lsn(l),
                    time: PgTimestamp(t),
                }),
            }),
            Spec::BeginPrepare(l, e, t, x, g) => Message::BeginPrepare(BeginPrepare {
                prepare_lsn: Lsn(*l),
                end_lsn: Lsn(*e),
                prepare_time: PgTimestamp(*t),
                xid: *x,
                gid: g,
            }),
            Spec::Prepare(streamed, l, e, t, x, g) => {
                let p = Prepare {
                    prepare_lsn: Lsn(*l),
                    end_lsn: Lsn(*e),
                    prepare_time: PgTimestamp(*t),
                    xid: *x,
                    gid: g,
                };
                if *streamed {
                    Message::StreamPrepare(p)
                } else {
                    Message::Prepare(p)
                }
            }
            Spec::CommitPrepared(l, e, t, x, g) => Message::CommitPrepared(CommitPrepared {
                commit_lsn: Lsn(*l),
                end_lsn: Lsn(*e),
                commit_time: PgTimestamp(*t),
                xid: *x,
                gid: g,
            }),
            Spec::RollbackPrepared(pe, re, pt, rt, x, g) => {
                Message::RollbackPrepared(RollbackPrepared {
                    prepare_end_lsn: Lsn(*pe),
                    rollback_end_lsn: Lsn(*re),
                    prepare_time: PgTimestamp(*pt),
                    rollback_time: PgTimestamp(*rt),
                    xid: *x,
                    gid: g,
                })
            }
        }
    }

    /// The values of the old and new tuples, for the builder check.
    fn tuples(&self) -> Vec<&[Val]> {
        match &self.spec {
            Spec::Insert(.., new) => vec![new],
            Spec::Update(_, _, old, new) => {
                old.iter().map(|(_, v)| &v[..]).chain([&new[..]]).collect()
            }
            Spec::Delete(.., old) => vec![old],
            _ => vec![],
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,12}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..24)
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        Just(Val::Null),
        Just(Val::Unchanged),
        bytes().prop_map(Val::Text),
        bytes().prop_map(Val::Binary),
    ]
}

fn vals() -> impl Strategy<Value = Vec<Val>> {
    vec(val(), 0..10)
}

fn col() -> impl Strategy<Value = Col> {
    (any::<u8>(), text(), any::<u32>(), any::<i32>()).prop_map(
        |(flags, name, type_oid, type_modifier)| Col {
            flags,
            name,
            type_oid,
            type_modifier,
        },
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    let xid = proptest::option::of(any::<u32>());
    let l = any::<u64>;
    let t = any::<i64>;
    let x = any::<u32>;
    prop_oneof![
        (l(), t(), x()).prop_map(|(a, b, c)| Spec::Begin(a, b, c)),
        (l(), l(), t()).prop_map(|(a, b, c)| Spec::Commit(a, b, c)),
        (l(), text()).prop_map(|(a, b)| Spec::Origin(a, b)),
        (
            xid.clone(),
            x(),
            text(),
            text(),
            any::<u8>(),
            vec(col(), 0..6)
        )
            .prop_map(|(a, b, c, d, e, f)| Spec::Relation(a, b, c, d, e, f)),
        (xid.clone(), x(), text(), text()).prop_map(|(a, b, c, d)| Spec::Type(a, b, c, d)),
        (xid.clone(), x(), vals()).prop_map(|(a, b, c)| Spec::Insert(a, b, c)),
        (
            xid.clone(),
            x(),
            proptest::option::of((any::<bool>(), vals())),
            vals()
        )
            .prop_map(|(a, b, c, d)| Spec::Update(a, b, c, d)),
        (xid.clone(), x(), any::<bool>(), vals()).prop_map(|(a, b, c, d)| Spec::Delete(a, b, c, d)),
        (xid.clone(), 0u8..4, vec(x(), 0..6)).prop_map(|(a, b, c)| Spec::Truncate(a, b, c)),
        (xid, any::<bool>(), l(), text(), bytes())
            .prop_map(|(a, b, c, d, e)| Spec::Message(a, b, c, d, e)),
        (x(), any::<bool>()).prop_map(|(a, b)| Spec::StreamStart(a, b)),
        Just(Spec::StreamStop),
        (x(), l(), l(), t()).prop_map(|(a, b, c, d)| Spec::StreamCommit(a, b, c, d)),
        (x(), x(), proptest::option::of((l(), t())))
            .prop_map(|(a, b, c)| Spec::StreamAbort(a, b, c)),
        (l(), l(), t(), x(), text()).prop_map(|(a, b, c, d, e)| Spec::BeginPrepare(a, b, c, d, e)),
        (any::<bool>(), l(), l(), t(), x(), text())
            .prop_map(|(a, b, c, d, e, f)| Spec::Prepare(a, b, c, d, e, f)),
        (l(), l(), t(), x(), text())
            .prop_map(|(a, b, c, d, e)| Spec::CommitPrepared(a, b, c, d, e)),
        (l(), l(), t(), t(), x(), text())
            .prop_map(|(a, b, c, d, e, f)| Spec::RollbackPrepared(a, b, c, d, e, f)),
    ]
}

fn owned_value(v: &Val) -> TupleValue<'_> {
    match v {
        Val::Null => TupleValue::Null,
        Val::Unchanged => TupleValue::Unchanged,
        Val::Text(b) => TupleValue::Text(b),
        Val::Binary(b) => TupleValue::Binary(b),
    }
}

/// Whether a decoder must be inside a streamed block to read `m` (and, for the others,
/// whether it may be).
fn needs_stream(m: &Message<'_>) -> bool {
    m.stream_xid().is_some() || matches!(m, Message::StreamStop)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_against_the_reference(spec in spec()) {
        let owned = Owned::new(spec);
        let wire = owned.wire();
        let message = owned.message();

        let mut out = BytesMut::new();
        message.encode(&mut out).unwrap();
        prop_assert_eq!(&out[..], &wire[..]);

        let in_stream = needs_stream(&message);
        let first = if in_stream { message.min_version().max(2) } else { message.min_version() };
        for version in first..=4 {
            let mut d = decoder(version, in_stream);
            let decoded = d.decode(&wire);
            prop_assert_eq!(decoded.as_ref(), Ok(&message), "v{}", version);
        }
        if !in_stream {
            for version in 1..first {
                let mut d = decoder(version, false);
                prop_assert!(d.decode(&wire).is_err(), "v{} accepted {:?}", version, message);
            }
        }

        // The builders agree with the reference encoding.
        for values in owned.tuples() {
            let mut built = BytesMut::new();
            write_tuple(&mut built, values.iter().map(owned_value)).unwrap();
            prop_assert_eq!(&built[..], &ref_tuple(values)[..]);
            let view = TupleData::parse(&built).unwrap();
            prop_assert_eq!(view.len(), values.len());
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(view.get(i), Some(owned_value(v)));
            }
        }
        if let Message::Relation(r) = &message {
            let mut built = BytesMut::new();
            write_relation_columns(&mut built, r.columns).unwrap();
            prop_assert_eq!(&built[..], &owned.first[..]);
        }
        if let Message::Truncate(t) = &message {
            let mut built = BytesMut::new();
            write_oids(&mut built, t.relations).unwrap();
            prop_assert_eq!(&built[..], &owned.first[..]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        tag in prop_oneof![
            Just(b'B'), Just(b'C'), Just(b'O'), Just(b'R'), Just(b'Y'), Just(b'I'), Just(b'U'),
            Just(b'D'), Just(b'T'), Just(b'M'), Just(b'S'), Just(b'E'), Just(b'c'), Just(b'A'),
            Just(b'b'), Just(b'P'), Just(b'K'), Just(b'r'), Just(b'p'), any::<u8>(),
        ],
        body in vec(prop_oneof![Just(0u8), Just(b'n'), Just(b't'), Just(b'N'), any::<u8>()], 0..64),
        version in 1u32..=4,
        in_stream in any::<bool>(),
    ) {
        let in_stream = in_stream && version >= 2;
        let wire = cat(&[&[tag], &body]);
        let mut d = decoder(version, in_stream);
        let before = d.clone();
        match d.decode(&wire) {
            Ok(m) => {
                let _ = format!("{m:?}");
                let mut out = BytesMut::new();
                m.encode(&mut out).unwrap();
                prop_assert_eq!(&out[..], &wire[..]);
            }
            Err(e) => {
                prop_assert_eq!(d, before);
                prop_assert_eq!(e.sql_state(), SqlState::PROTOCOL_VIOLATION);
            }
        }
    }
}

/// The fuzz target's seeds (fuzz/corpus_seeds/pgoutput: a version byte, then messages with
/// 2-byte lengths) are whole valid sessions: every message decodes, and the relation cache
/// accepts every change.
#[test]
fn fuzz_seeds_are_valid_sessions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus_seeds/pgoutput");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let (version, mut rest) = data.split_first().unwrap();
        let mut d = Decoder::new(u32::from(*version % 4) + 1).unwrap();
        let mut cache = RelationCache::new();
        while let Some((len, tail)) = rest.split_first_chunk::<2>() {
            let (wire, tail) = tail.split_at(usize::from(u16::from_be_bytes(*len)));
            rest = tail;
            let m = d.decode(wire).unwrap_or_else(|e| panic!("{e}: {wire:?}"));
            cache.handle(&m).unwrap();
            seen += 1;
        }
        assert!(rest.is_empty());
        assert!(!d.in_stream());
    }
    assert!(seen >= 19, "{seen} messages in the seeds");
}
