//! PostgreSQL's `pgoutput` logical decoding format: the change messages that a logical
//! replication slot using the `pgoutput` plugin puts inside each XLogData, protocol versions 1
//! (PostgreSQL 10) to 4 (PostgreSQL 16).
//!
//! [`Decoder`] reads one message per XLogData payload without copying anything: strings are
//! `&str` into the payload, and the lists ([`TupleData`], [`RelationColumns`], [`OidList`]) are
//! views over it that were validated when the message was decoded, so decoding allocates
//! nothing. The decoder knows whether it is inside a streamed block (between StreamStart and
//! StreamStop, protocol 2 and later), where change messages start with a transaction id.
//!
//! [`Message::encode`] writes the bytes [`Decoder::decode`] reads, for servers that produce a
//! stream; [`write_tuple`] and [`write_relation_columns`] build the lists, which
//! [`TupleData::parse`] and [`RelationColumns::parse`] turn into views a message can hold.
//! [`RelationCache`] keeps owned copies of the Relation and Type messages that later changes
//! refer to by OID, and checks changes against them.
//!
//! ```
//! use pgproto::replication::pgoutput::{Decoder, Message, TupleValue};
//!
//! let mut decoder = Decoder::new(1)?;
//! // Insert into relation 16384 a row with one text column, "hi".
//! let payload = b"I\0\0\x40\0N\0\x01t\0\0\0\x02hi";
//! let Message::Insert(insert) = decoder.decode(payload)? else {
//!     panic!("not an Insert");
//! };
//! assert_eq!(insert.relation, 16384);
//! assert_eq!(insert.new.get(0), Some(TupleValue::Text(b"hi")));
//! # Ok::<(), pgproto::replication::DecodeError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::iter::FusedIterator;

use bytes::{BufMut, BytesMut};

use super::cursor::Cursor;
use super::{DecodeError, Lsn, PgTimestamp};

const LAYER: &str = "pgoutput";

/// The oldest pgoutput protocol version (PostgreSQL 10).
pub const MIN_PROTO_VERSION: u32 = 1;

/// The newest pgoutput protocol version this module knows (PostgreSQL 16: parallel streaming).
pub const MAX_PROTO_VERSION: u32 = 4;

/// The most columns an Int16 column count can announce.
const MAX_COLUMNS: usize = i16::MAX as usize;

/// The longest value, content or list an Int32 length or count can announce.
const MAX_LENGTH: usize = i32::MAX as usize;

// ---------------------------------------------------------------------------------------------
// Decoder

/// Reads pgoutput messages, one XLogData payload at a time, for the protocol version that
/// START_REPLICATION negotiated (its `proto_version` option).
///
/// Its only state is whether the stream is inside a streamed block: StreamStart enters one,
/// StreamStop leaves it. Inside, Relation, Type, Insert, Update, Delete, Truncate and Message
/// start with the streamed transaction's id, and only those, Origin and StreamStop may appear.
/// A message that fails to decode leaves that state as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    version: u32,
    in_stream: bool,
}

impl Decoder {
    /// A decoder for `proto_version` 1 to 4, outside any streamed block.
    pub fn new(proto_version: u32) -> Result<Decoder, DecodeError> {
        if !(MIN_PROTO_VERSION..=MAX_PROTO_VERSION).contains(&proto_version) {
            return Err(DecodeError::Invalid {
                message: LAYER,
                field: "proto_version",
                detail: format!(
                    "{proto_version} is not between {MIN_PROTO_VERSION} and {MAX_PROTO_VERSION}"
                ),
            });
        }
        Ok(Decoder {
            version: proto_version,
            in_stream: false,
        })
    }

    /// The protocol version this decoder reads.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the last StreamStart has not been followed by its StreamStop yet.
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Reads one message: the whole of one XLogData's data, type byte first. Every byte must
    /// belong to the message.
    pub fn decode<'a>(&mut self, data: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        let (&tag, body) = data
            .split_first()
            .ok_or(DecodeError::Empty { layer: LAYER })?;
        let since = since_version(tag).ok_or(DecodeError::UnknownType { layer: LAYER, tag })?;
        if self.version < since {
            return Err(DecodeError::OutOfVersion {
                tag,
                detail: format!("in protocol version {}", self.version),
            });
        }
        let streamed_change = carries_stream_xid(tag);
        if self.in_stream && !(streamed_change || tag == b'O' || tag == b'E') {
            return Err(DecodeError::OutOfVersion {
                tag,
                detail: "inside a streamed block".to_owned(),
            });
        }
        if !self.in_stream && tag == b'E' {
            return Err(DecodeError::OutOfVersion {
                tag,
                detail: "outside a streamed block".to_owned(),
            });
        }
        let message = parse(tag, body, self.in_stream && streamed_change, self.version)?;
        match tag {
            b'S' => self.in_stream = true,
            b'E' => self.in_stream = false,
            _ => {}
        }
        Ok(message)
    }
}

/// The protocol version that introduced a message type, `None` for bytes no version defines.
fn since_version(tag: u8) -> Option<u32> {
    match tag {
        b'B' | b'C' | b'O' | b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M' => Some(1),
        b'S' | b'E' | b'c' | b'A' => Some(2),
        b'b' | b'P' | b'K' | b'r' | b'p' => Some(3),
        _ => None,
    }
}

/// The messages that start with the transaction id inside a streamed block.
fn carries_stream_xid(tag: u8) -> bool {
    matches!(tag, b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M')
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
        _ => "pgoutput",
    }
}

/// A byte as it appears in error details: `'x'` or `'\u{0}'`.
fn show(byte: u8) -> String {
    format!("'{}'", char::from(byte).escape_default())
}

fn parse(tag: u8, body: &[u8], streamed: bool, version: u32) -> Result<Message<'_>, DecodeError> {
    let mut c = Cursor::new(body, message_name(tag));
    let message = match tag {
        b'B' => Message::Begin(Begin {
            final_lsn: c.lsn("final LSN")?,
            commit_time: c.time("commit time")?,
            xid: c.u32("xid")?,
        }),
        b'C' => {
            c.zero_flags()?;
            Message::Commit(Commit {
                commit_lsn: c.lsn("commit LSN")?,
                end_lsn: c.lsn("end LSN")?,
                commit_time: c.time("commit time")?,
            })
        }
        b'O' => Message::Origin(Origin {
            commit_lsn: c.lsn("commit LSN")?,
            name: c.string("origin name")?,
        }),
        b'R' => Message::Relation(Relation {
            xid: c.stream_xid(streamed)?,
            id: c.u32("relation OID")?,
            namespace: c.string("namespace")?,
            name: c.string("relation name")?,
            replica_identity: c.u8("replica identity")?,
            columns: c.relation_columns()?,
        }),
        b'Y' => Message::Type(Type {
            xid: c.stream_xid(streamed)?,
            id: c.u32("type OID")?,
            namespace: c.string("namespace")?,
            name: c.string("type name")?,
        }),
        b'I' => {
            let xid = c.stream_xid(streamed)?;
            let relation = c.u32("relation OID")?;
            match c.u8("tuple marker")? {
                b'N' => {}
                other => {
                    return Err(c.invalid("tuple marker", format!("{} is not 'N'", show(other))));
                }
            }
            Message::Insert(Insert {
                xid,
                relation,
                new: c.tuple()?,
            })
        }
        b'U' => {
            let xid = c.stream_xid(streamed)?;
            let relation = c.u32("relation OID")?;
            let old = match c.u8("tuple marker")? {
                b'K' => Some(OldTuple::Key(c.tuple()?)),
                b'O' => Some(OldTuple::Full(c.tuple()?)),
                b'N' => None,
                other => {
                    let detail = format!("{} is not 'K', 'O' or 'N'", show(other));
                    return Err(c.invalid("tuple marker", detail));
                }
            };
            if old.is_some() {
                match c.u8("new tuple marker")? {
                    b'N' => {}
                    other => {
                        let detail = format!("{} is not 'N'", show(other));
                        return Err(c.invalid("new tuple marker", detail));
                    }
                }
            }
            Message::Update(Update {
                xid,
                relation,
                old,
                new: c.tuple()?,
            })
        }
        b'D' => {
            let xid = c.stream_xid(streamed)?;
            let relation = c.u32("relation OID")?;
            let old = match c.u8("tuple marker")? {
                b'K' => OldTuple::Key(c.tuple()?),
                b'O' => OldTuple::Full(c.tuple()?),
                other => {
                    let detail = format!("{} is not 'K' or 'O'", show(other));
                    return Err(c.invalid("tuple marker", detail));
                }
            };
            Message::Delete(Delete { xid, relation, old })
        }
        b'T' => {
            let xid = c.stream_xid(streamed)?;
            let count = c.length("relation count")?;
            let options = c.u8("options")?;
            if options & !(TRUNCATE_CASCADE | TRUNCATE_RESTART_IDENTITY) != 0 {
                return Err(c.invalid("options", format!("unrecognized options {options}")));
            }
            // At most 4 * i32::MAX: no overflow on 64-bit targets; elsewhere the message
            // cannot hold that many bytes anyway.
            let size = count.saturating_mul(4);
            let relations = OidList {
                raw: c.take(size, "relation OIDs")?,
            };
            Message::Truncate(Truncate {
                xid,
                cascade: options & TRUNCATE_CASCADE != 0,
                restart_identity: options & TRUNCATE_RESTART_IDENTITY != 0,
                relations,
            })
        }
        b'M' => {
            let xid = c.stream_xid(streamed)?;
            let flags = c.u8("flags")?;
            if flags & !MESSAGE_TRANSACTIONAL != 0 {
                return Err(c.invalid("flags", format!("unrecognized flags {flags}")));
            }
            let lsn = c.lsn("LSN")?;
            let prefix = c.string("prefix")?;
            let length = c.length("content length")?;
            Message::LogicalMessage(LogicalMessage {
                xid,
                transactional: flags & MESSAGE_TRANSACTIONAL != 0,
                lsn,
                prefix,
                content: c.take(length, "content")?,
            })
        }
        b'S' => {
            let xid = c.u32("xid")?;
            let first_segment = match c.u8("first segment flag")? {
                0 => false,
                1 => true,
                other => {
                    let detail = format!("{other} is neither 0 nor 1");
                    return Err(c.invalid("first segment flag", detail));
                }
            };
            Message::StreamStart(StreamStart { xid, first_segment })
        }
        b'E' => Message::StreamStop,
        b'c' => {
            let xid = c.u32("xid")?;
            c.zero_flags()?;
            Message::StreamCommit(StreamCommit {
                xid,
                commit_lsn: c.lsn("commit LSN")?,
                end_lsn: c.lsn("end LSN")?,
                commit_time: c.time("commit time")?,
            })
        }
        b'A' => {
            let xid = c.u32("xid")?;
            let subxid = c.u32("subtransaction xid")?;
            let abort = match c.remaining() {
                0 => None,
                ABORT_INFO_LEN if version < 4 => {
                    return Err(DecodeError::OutOfVersion {
                        tag,
                        detail: format!("with an abort LSN and time in protocol version {version}"),
                    });
                }
                _ if version < 4 => {
                    return Err(DecodeError::TrailingBytes {
                        message: c.message,
                        extra: c.remaining(),
                    });
                }
                _ => Some(AbortInfo {
                    lsn: c.lsn("abort LSN")?,
                    time: c.time("abort time")?,
                }),
            };
            Message::StreamAbort(StreamAbort { xid, subxid, abort })
        }
        b'b' => Message::BeginPrepare(BeginPrepare {
            prepare_lsn: c.lsn("prepare LSN")?,
            end_lsn: c.lsn("end LSN")?,
            prepare_time: c.time("prepare time")?,
            xid: c.u32("xid")?,
            gid: c.string("gid")?,
        }),
        b'P' | b'p' => {
            c.zero_flags()?;
            let prepare = Prepare {
                prepare_lsn: c.lsn("prepare LSN")?,
                end_lsn: c.lsn("end LSN")?,
                prepare_time: c.time("prepare time")?,
                xid: c.u32("xid")?,
                gid: c.string("gid")?,
            };
            if tag == b'P' {
                Message::Prepare(prepare)
            } else {
                Message::StreamPrepare(prepare)
            }
        }
        b'K' => {
            c.zero_flags()?;
            Message::CommitPrepared(CommitPrepared {
                commit_lsn: c.lsn("commit LSN")?,
                end_lsn: c.lsn("end LSN")?,
                commit_time: c.time("commit time")?,
                xid: c.u32("xid")?,
                gid: c.string("gid")?,
            })
        }
        b'r' => {
            c.zero_flags()?;
            Message::RollbackPrepared(RollbackPrepared {
                prepare_end_lsn: c.lsn("prepare end LSN")?,
                rollback_end_lsn: c.lsn("rollback end LSN")?,
                prepare_time: c.time("prepare time")?,
                rollback_time: c.time("rollback time")?,
                xid: c.u32("xid")?,
                gid: c.string("gid")?,
            })
        }
        _ => return Err(DecodeError::UnknownType { layer: LAYER, tag }),
    };
    c.finish()?;
    Ok(message)
}

const TRUNCATE_CASCADE: u8 = 1;
const TRUNCATE_RESTART_IDENTITY: u8 = 2;
const MESSAGE_TRANSACTIONAL: u8 = 1;
const COLUMN_KEY: u8 = 1;
/// The abort LSN and time that protocol 4 appends to StreamAbort under parallel streaming.
const ABORT_INFO_LEN: usize = 16;

impl<'a> Cursor<'a> {
    /// The transaction id that starts change messages inside a streamed block.
    fn stream_xid(&mut self, streamed: bool) -> Result<Option<u32>, DecodeError> {
        if streamed {
            self.u32("streamed transaction xid").map(Some)
        } else {
            Ok(None)
        }
    }

    /// The flags byte that commit-like messages carry and that must be 0.
    fn zero_flags(&mut self) -> Result<(), DecodeError> {
        match self.u8("flags")? {
            0 => Ok(()),
            other => Err(self.invalid("flags", format!("unrecognized flags {other}"))),
        }
    }

    /// A TupleData: an Int16 count, then that many columns.
    fn tuple(&mut self) -> Result<TupleData<'a>, DecodeError> {
        let len = self.count("tuple column count")?;
        let start = self.rest;
        for _ in 0..len {
            read_value(self)?;
        }
        Ok(TupleData {
            len,
            columns: consumed(start, self.rest),
        })
    }

    /// A Relation's column list: an Int16 count, then that many columns.
    fn relation_columns(&mut self) -> Result<RelationColumns<'a>, DecodeError> {
        let len = self.count("column count")?;
        let start = self.rest;
        for _ in 0..len {
            read_column(self)?;
        }
        Ok(RelationColumns {
            len,
            columns: consumed(start, self.rest),
        })
    }
}

/// The part of `start` before `rest`, where `rest` is a tail of `start`.
fn consumed<'a>(start: &'a [u8], rest: &[u8]) -> &'a [u8] {
    let used = start.len().saturating_sub(rest.len());
    start.get(..used).unwrap_or_default()
}

fn read_value<'a>(c: &mut Cursor<'a>) -> Result<TupleValue<'a>, DecodeError> {
    match c.u8("tuple column kind")? {
        b'n' => Ok(TupleValue::Null),
        b'u' => Ok(TupleValue::Unchanged),
        b't' => {
            let len = c.length("tuple value length")?;
            c.take(len, "tuple value").map(TupleValue::Text)
        }
        b'b' => {
            let len = c.length("tuple value length")?;
            c.take(len, "tuple value").map(TupleValue::Binary)
        }
        other => {
            let detail = format!("{} is not 'n', 'u', 't' or 'b'", show(other));
            Err(c.invalid("tuple column kind", detail))
        }
    }
}

fn read_column<'a>(c: &mut Cursor<'a>) -> Result<RelationColumn<'a>, DecodeError> {
    Ok(RelationColumn {
        flags: c.u8("column flags")?,
        name: c.string("column name")?,
        type_oid: c.u32("column type OID")?,
        type_modifier: c.i32("column type modifier")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Messages

/// One pgoutput message. [`Decoder::decode`] reads them; [`Message::encode`] writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// `B`: a transaction starts.
    Begin(Begin),
    /// `C`: the transaction commits.
    Commit(Commit),
    /// `O`: the transaction came from another node through replication origin `name`.
    Origin(Origin<'a>),
    /// `R`: describes a relation that later changes refer to by OID.
    Relation(Relation<'a>),
    /// `Y`: names a non-built-in data type a Relation column uses.
    Type(Type<'a>),
    /// `I`: a row was inserted.
    Insert(Insert<'a>),
    /// `U`: a row was updated.
    Update(Update<'a>),
    /// `D`: a row was deleted.
    Delete(Delete<'a>),
    /// `T`: relations were truncated.
    Truncate(Truncate<'a>),
    /// `M`: a message from `pg_logical_emit_message` (sent when the `messages` option is on).
    LogicalMessage(LogicalMessage<'a>),
    /// `S` (protocol 2): a block of an in-progress transaction's changes starts.
    StreamStart(StreamStart),
    /// `E` (protocol 2): the streamed block ends.
    StreamStop,
    /// `c` (protocol 2): a streamed transaction commits.
    StreamCommit(StreamCommit),
    /// `A` (protocol 2): a streamed transaction or one of its subtransactions aborts.
    StreamAbort(StreamAbort),
    /// `b` (protocol 3): a transaction prepared for two-phase commit starts.
    BeginPrepare(BeginPrepare<'a>),
    /// `P` (protocol 3): the transaction is prepared.
    Prepare(Prepare<'a>),
    /// `K` (protocol 3): a prepared transaction commits.
    CommitPrepared(CommitPrepared<'a>),
    /// `r` (protocol 3): a prepared transaction rolls back.
    RollbackPrepared(RollbackPrepared<'a>),
    /// `p` (protocol 3): a streamed transaction is prepared.
    StreamPrepare(StreamPrepare<'a>),
}

/// `B` Begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// Where the transaction's commit record ends.
    pub final_lsn: Lsn,
    /// When it committed.
    pub commit_time: PgTimestamp,
    /// Its transaction id.
    pub xid: u32,
}

/// `C` Commit (its flags byte is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// The commit record's position.
    pub commit_lsn: Lsn,
    /// Where the transaction ends.
    pub end_lsn: Lsn,
    /// When it committed.
    pub commit_time: PgTimestamp,
}

/// `O` Origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The commit's position on the origin server (0/0 after a StreamStart).
    pub commit_lsn: Lsn,
    /// The origin's name.
    pub name: &'a str,
}

/// `R` Relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// The relation's OID, by which changes refer to it.
    pub id: u32,
    /// Its schema; empty for `pg_catalog`.
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
    /// `relreplident` as sent: `d`, `n`, `f` or `i` (see [`Relation::replica_identity_kind`]).
    pub replica_identity: u8,
    /// The published columns.
    pub columns: RelationColumns<'a>,
}

impl<'a> Relation<'a> {
    /// The replica identity, or `None` for a byte PostgreSQL does not define.
    pub fn replica_identity_kind(&self) -> Option<ReplicaIdentity> {
        ReplicaIdentity::from_byte(self.replica_identity)
    }

    /// How many columns the relation publishes.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }
}

/// Which old values Update and Delete carry for a relation (`pg_class.relreplident`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaIdentity {
    /// `d`: the primary key's columns.
    Default,
    /// `n`: nothing.
    Nothing,
    /// `f`: the whole old row.
    Full,
    /// `i`: the columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The identity a `relreplident` byte stands for.
    pub fn from_byte(byte: u8) -> Option<ReplicaIdentity> {
        match byte {
            b'd' => Some(ReplicaIdentity::Default),
            b'n' => Some(ReplicaIdentity::Nothing),
            b'f' => Some(ReplicaIdentity::Full),
            b'i' => Some(ReplicaIdentity::Index),
            _ => None,
        }
    }

    /// Its `relreplident` byte.
    pub fn as_byte(self) -> u8 {
        match self {
            ReplicaIdentity::Default => b'd',
            ReplicaIdentity::Nothing => b'n',
            ReplicaIdentity::Full => b'f',
            ReplicaIdentity::Index => b'i',
        }
    }
}

/// One column of a Relation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// Flags as sent: 1 means the column is part of the replica identity key.
    pub flags: u8,
    /// The column's name.
    pub name: &'a str,
    /// Its data type's OID.
    pub type_oid: u32,
    /// Its type modifier (`atttypmod`, -1 for none).
    pub type_modifier: i32,
}

impl RelationColumn<'_> {
    /// Whether the column is part of the replica identity key.
    pub fn is_key(&self) -> bool {
        self.flags & COLUMN_KEY != 0
    }
}

/// `Y` Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// The type's OID.
    pub id: u32,
    /// Its schema; empty for `pg_catalog`.
    pub namespace: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// `I` Insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insert<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub relation: u32,
    /// The new row.
    pub new: TupleData<'a>,
}

/// `U` Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub relation: u32,
    /// The old key or row, when the replica identity asks for it and it changed.
    pub old: Option<OldTuple<'a>>,
    /// The new row; TOASTed values that did not change are [`TupleValue::Unchanged`].
    pub new: TupleData<'a>,
}

/// `D` Delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delete<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub relation: u32,
    /// The deleted row's key or whole row.
    pub old: OldTuple<'a>,
}

/// The old values in an Update or a Delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldTuple<'a> {
    /// `K`: the replica identity key's columns (the other columns are null).
    Key(TupleData<'a>),
    /// `O`: the whole old row (replica identity full).
    Full(TupleData<'a>),
}

impl<'a> OldTuple<'a> {
    /// The values, whichever kind they are.
    pub fn tuple(&self) -> &TupleData<'a> {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }

    /// `K` or `O`.
    fn marker(&self) -> u8 {
        match self {
            OldTuple::Key(_) => b'K',
            OldTuple::Full(_) => b'O',
        }
    }
}

/// `T` Truncate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncate<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// `TRUNCATE ... CASCADE` (option bit 1).
    pub cascade: bool,
    /// `TRUNCATE ... RESTART IDENTITY` (option bit 2).
    pub restart_identity: bool,
    /// The truncated relations' OIDs.
    pub relations: OidList<'a>,
}

/// `M` Message: what `pg_logical_emit_message` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogicalMessage<'a> {
    /// The streamed transaction's id, present inside a streamed block.
    pub xid: Option<u32>,
    /// Whether the message belongs to a transaction (flag bit 1).
    pub transactional: bool,
    /// The message's position in the WAL.
    pub lsn: Lsn,
    /// The prefix the application chose.
    pub prefix: &'a str,
    /// The content, as bytes.
    pub content: &'a [u8],
}

/// `S` StreamStart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    /// The streamed transaction's id.
    pub xid: u32,
    /// Whether this is the transaction's first block.
    pub first_segment: bool,
}

/// `c` StreamCommit (its flags byte is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    /// The streamed transaction's id.
    pub xid: u32,
    /// The commit record's position.
    pub commit_lsn: Lsn,
    /// Where the transaction ends.
    pub end_lsn: Lsn,
    /// When it committed.
    pub commit_time: PgTimestamp,
}

/// `A` StreamAbort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    /// The streamed transaction's id.
    pub xid: u32,
    /// The aborted subtransaction's id; equal to `xid` when the whole transaction aborts.
    pub subxid: u32,
    /// Protocol 4 under parallel streaming (`streaming = parallel`) only.
    pub abort: Option<AbortInfo>,
}

/// Where and when a streamed transaction aborted (protocol 4, parallel streaming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortInfo {
    /// The abort record's position.
    pub lsn: Lsn,
    /// When it aborted.
    pub time: PgTimestamp,
}

/// `b` BeginPrepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginPrepare<'a> {
    /// The prepare record's position.
    pub prepare_lsn: Lsn,
    /// Where the prepared transaction ends.
    pub end_lsn: Lsn,
    /// When it was prepared.
    pub prepare_time: PgTimestamp,
    /// Its transaction id.
    pub xid: u32,
    /// Its global identifier (the `PREPARE TRANSACTION` name).
    pub gid: &'a str,
}

/// `P` Prepare and `p` StreamPrepare (their flags byte is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepare<'a> {
    /// The prepare record's position.
    pub prepare_lsn: Lsn,
    /// Where the prepared transaction ends.
    pub end_lsn: Lsn,
    /// When it was prepared.
    pub prepare_time: PgTimestamp,
    /// Its transaction id.
    pub xid: u32,
    /// Its global identifier.
    pub gid: &'a str,
}

/// `p` StreamPrepare has the fields of `P` Prepare.
pub type StreamPrepare<'a> = Prepare<'a>;

/// `K` CommitPrepared (its flags byte is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitPrepared<'a> {
    /// The commit record's position.
    pub commit_lsn: Lsn,
    /// Where the transaction ends.
    pub end_lsn: Lsn,
    /// When it committed.
    pub commit_time: PgTimestamp,
    /// Its transaction id.
    pub xid: u32,
    /// Its global identifier.
    pub gid: &'a str,
}

/// `r` RollbackPrepared (its flags byte is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackPrepared<'a> {
    /// Where the prepared transaction ended.
    pub prepare_end_lsn: Lsn,
    /// Where the rollback ends.
    pub rollback_end_lsn: Lsn,
    /// When it was prepared.
    pub prepare_time: PgTimestamp,
    /// When it rolled back.
    pub rollback_time: PgTimestamp,
    /// Its transaction id.
    pub xid: u32,
    /// Its global identifier.
    pub gid: &'a str,
}

impl Message<'_> {
    /// The message's type byte.
    pub fn tag(&self) -> u8 {
        match self {
            Message::Begin(_) => b'B',
            Message::Commit(_) => b'C',
            Message::Origin(_) => b'O',
            Message::Relation(_) => b'R',
            Message::Type(_) => b'Y',
            Message::Insert(_) => b'I',
            Message::Update(_) => b'U',
            Message::Delete(_) => b'D',
            Message::Truncate(_) => b'T',
            Message::LogicalMessage(_) => b'M',
            Message::StreamStart(_) => b'S',
            Message::StreamStop => b'E',
            Message::StreamCommit(_) => b'c',
            Message::StreamAbort(_) => b'A',
            Message::BeginPrepare(_) => b'b',
            Message::Prepare(_) => b'P',
            Message::CommitPrepared(_) => b'K',
            Message::RollbackPrepared(_) => b'r',
            Message::StreamPrepare(_) => b'p',
        }
    }

    /// The oldest protocol version that can carry this message as it is (StreamAbort with
    /// abort information needs 4).
    pub fn min_version(&self) -> u32 {
        match self {
            Message::StreamAbort(StreamAbort { abort: Some(_), .. }) => 4,
            other => since_version(other.tag()).unwrap_or(MAX_PROTO_VERSION),
        }
    }

    /// The streamed transaction's id that starts the message, for the change messages that
    /// carry one inside a streamed block.
    pub fn stream_xid(&self) -> Option<u32> {
        match self {
            Message::Relation(m) => m.xid,
            Message::Type(m) => m.xid,
            Message::Insert(m) => m.xid,
            Message::Update(m) => m.xid,
            Message::Delete(m) => m.xid,
            Message::Truncate(m) => m.xid,
            Message::LogicalMessage(m) => m.xid,
            _ => None,
        }
    }

    /// Appends the message, type byte first, exactly as [`Decoder::decode`] reads it: the
    /// streamed transaction id is written when the message's `xid` is `Some`. Nothing checks
    /// that the message suits a protocol version or a position in the stream.
    ///
    /// On error `out` is left as it was.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_body(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u8(self.tag());
        match self {
            Message::Begin(m) => {
                out.put_u64(m.final_lsn.0);
                out.put_i64(m.commit_time.0);
                out.put_u32(m.xid);
            }
            Message::Commit(m) => {
                out.put_u8(0);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time.0);
            }
            Message::Origin(m) => {
                out.put_u64(m.commit_lsn.0);
                put_str(out, m.name, "origin name")?;
            }
            Message::Relation(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.id);
                put_str(out, m.namespace, "namespace")?;
                put_str(out, m.name, "relation name")?;
                out.put_u8(m.replica_identity);
                m.columns.put(out);
            }
            Message::Type(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.id);
                put_str(out, m.namespace, "namespace")?;
                put_str(out, m.name, "type name")?;
            }
            Message::Insert(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation);
                out.put_u8(b'N');
                m.new.put(out);
            }
            Message::Update(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation);
                if let Some(old) = &m.old {
                    out.put_u8(old.marker());
                    old.tuple().put(out);
                }
                out.put_u8(b'N');
                m.new.put(out);
            }
            Message::Delete(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation);
                out.put_u8(m.old.marker());
                m.old.tuple().put(out);
            }
            Message::Truncate(m) => {
                put_xid(out, m.xid);
                put_len(out, m.relations.len(), "truncated relation count")?;
                let mut options = 0;
                if m.cascade {
                    options |= TRUNCATE_CASCADE;
                }
                if m.restart_identity {
                    options |= TRUNCATE_RESTART_IDENTITY;
                }
                out.put_u8(options);
                out.put_slice(m.relations.raw);
            }
            Message::LogicalMessage(m) => {
                put_xid(out, m.xid);
                out.put_u8(if m.transactional {
                    MESSAGE_TRANSACTIONAL
                } else {
                    0
                });
                out.put_u64(m.lsn.0);
                put_str(out, m.prefix, "message prefix")?;
                put_len(out, m.content.len(), "message content")?;
                out.put_slice(m.content);
            }
            Message::StreamStart(m) => {
                out.put_u32(m.xid);
                out.put_u8(u8::from(m.first_segment));
            }
            Message::StreamStop => {}
            Message::StreamCommit(m) => {
                out.put_u32(m.xid);
                out.put_u8(0);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time.0);
            }
            Message::StreamAbort(m) => {
                out.put_u32(m.xid);
                out.put_u32(m.subxid);
                if let Some(abort) = &m.abort {
                    out.put_u64(abort.lsn.0);
                    out.put_i64(abort.time.0);
                }
            }
            Message::BeginPrepare(m) => {
                out.put_u64(m.prepare_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.prepare_time.0);
                out.put_u32(m.xid);
                put_str(out, m.gid, "gid")?;
            }
            Message::Prepare(m) | Message::StreamPrepare(m) => {
                out.put_u8(0);
                out.put_u64(m.prepare_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.prepare_time.0);
                out.put_u32(m.xid);
                put_str(out, m.gid, "gid")?;
            }
            Message::CommitPrepared(m) => {
                out.put_u8(0);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time.0);
                out.put_u32(m.xid);
                put_str(out, m.gid, "gid")?;
            }
            Message::RollbackPrepared(m) => {
                out.put_u8(0);
                out.put_u64(m.prepare_end_lsn.0);
                out.put_u64(m.rollback_end_lsn.0);
                out.put_i64(m.prepare_time.0);
                out.put_i64(m.rollback_time.0);
                out.put_u32(m.xid);
                put_str(out, m.gid, "gid")?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// A value the application asked to encode that has no pgoutput wire form. The output buffer
/// is left as it was before the call. Never caused by a message [`Decoder::decode`] returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A count or length larger than its field can hold: more than 32767 columns, or a value,
    /// content or list longer than 2147483647.
    #[error("{what} is larger than the {max} pgoutput can carry")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The largest allowed.
        max: usize,
    },
    /// A string that goes on the wire NUL-terminated contains a zero byte.
    #[error("{field} contains a zero byte")]
    NulInString {
        /// The field.
        field: &'static str,
    },
}

fn put_xid(out: &mut BytesMut, xid: Option<u32>) {
    if let Some(xid) = xid {
        out.put_u32(xid);
    }
}

fn put_str(out: &mut BytesMut, s: &str, field: &'static str) -> Result<(), EncodeError> {
    if memchr::memchr(0, s.as_bytes()).is_some() {
        return Err(EncodeError::NulInString { field });
    }
    out.put_slice(s.as_bytes());
    out.put_u8(0);
    Ok(())
}

/// An Int32 length or count.
fn put_len(out: &mut BytesMut, len: usize, what: &'static str) -> Result<(), EncodeError> {
    let len = i32::try_from(len).map_err(|_| EncodeError::TooLarge {
        what,
        max: MAX_LENGTH,
    })?;
    out.put_i32(len);
    Ok(())
}

/// A text or binary tuple value: its kind, Int32 length and bytes.
fn put_value(out: &mut BytesMut, kind: u8, value: &[u8]) -> Result<(), EncodeError> {
    out.put_u8(kind);
    put_len(out, value.len(), "tuple value")?;
    out.put_slice(value);
    Ok(())
}

/// Writes `count` into the two bytes at `at`, reserved earlier.
fn patch_count(out: &mut BytesMut, at: usize, count: u16) {
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&count.to_be_bytes());
    }
}

/// Runs `write`, and on error truncates `out` to where it was.
fn atomically(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = write(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Appends a TupleData (an Int16 column count, then each value) built from `values`, which
/// [`TupleData::parse`] turns into the view an Insert, Update or Delete holds.
///
/// ```
/// use bytes::BytesMut;
/// use pgproto::replication::pgoutput::{Insert, Message, TupleData, TupleValue, write_tuple};
///
/// let mut row = BytesMut::new();
/// write_tuple(&mut row, [TupleValue::Text(b"42"), TupleValue::Null])?;
/// let insert = Message::Insert(Insert { xid: None, relation: 16384, new: TupleData::parse(&row)? });
/// let mut out = BytesMut::new();
/// insert.encode(&mut out)?;
/// assert_eq!(&out[..], b"I\0\0\x40\0N\0\x02t\0\0\0\x0242n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_tuple<'v>(
    out: &mut BytesMut,
    values: impl IntoIterator<Item = TupleValue<'v>>,
) -> Result<(), EncodeError> {
    atomically(out, |out| {
        let at = out.len();
        out.put_u16(0);
        let mut count: u16 = 0;
        for value in values {
            if usize::from(count) == MAX_COLUMNS {
                return Err(EncodeError::TooLarge {
                    what: "tuple column count",
                    max: MAX_COLUMNS,
                });
            }
            count += 1;
            match value {
                TupleValue::Null => out.put_u8(b'n'),
                TupleValue::Unchanged => out.put_u8(b'u'),
                TupleValue::Text(v) => put_value(out, b't', v)?,
                TupleValue::Binary(v) => put_value(out, b'b', v)?,
            }
        }
        patch_count(out, at, count);
        Ok(())
    })
}

/// Appends a Relation's column list (an Int16 count, then each column) built from `columns`,
/// which [`RelationColumns::parse`] turns into the view a [`Relation`] holds.
pub fn write_relation_columns<'c>(
    out: &mut BytesMut,
    columns: impl IntoIterator<Item = RelationColumn<'c>>,
) -> Result<(), EncodeError> {
    atomically(out, |out| {
        let at = out.len();
        out.put_u16(0);
        let mut count: u16 = 0;
        for column in columns {
            if usize::from(count) == MAX_COLUMNS {
                return Err(EncodeError::TooLarge {
                    what: "relation column count",
                    max: MAX_COLUMNS,
                });
            }
            count += 1;
            out.put_u8(column.flags);
            put_str(out, column.name, "column name")?;
            out.put_u32(column.type_oid);
            out.put_i32(column.type_modifier);
        }
        patch_count(out, at, count);
        Ok(())
    })
}

/// Appends OIDs as a Truncate carries them (4 bytes each, big-endian, no count), which
/// [`OidList::parse`] turns into the view a [`Truncate`] holds.
pub fn write_oids(
    out: &mut BytesMut,
    oids: impl IntoIterator<Item = u32>,
) -> Result<(), EncodeError> {
    atomically(out, |out| {
        for (i, oid) in oids.into_iter().enumerate() {
            if i == MAX_LENGTH {
                return Err(EncodeError::TooLarge {
                    what: "truncated relation count",
                    max: MAX_LENGTH,
                });
            }
            out.put_u32(oid);
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Views

/// One column value of a TupleData.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum TupleValue<'a> {
    /// `n`: NULL.
    Null,
    /// `u`: a TOASTed value that the update did not change, so it is not sent.
    Unchanged,
    /// `t`: the value in text format.
    Text(&'a [u8]),
    /// `b`: the value in binary format (the subscription's `binary` option).
    Binary(&'a [u8]),
}

impl<'a> TupleValue<'a> {
    /// The value's bytes, for text and binary values.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            TupleValue::Text(v) | TupleValue::Binary(v) => Some(v),
            TupleValue::Null | TupleValue::Unchanged => None,
        }
    }

    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, TupleValue::Null)
    }
}

impl fmt::Debug for TupleValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TupleValue::Null => f.write_str("Null"),
            TupleValue::Unchanged => f.write_str("Unchanged"),
            TupleValue::Text(v) => write!(f, "Text(b\"{}\")", v.escape_ascii()),
            TupleValue::Binary(v) => write!(f, "Binary(b\"{}\")", v.escape_ascii()),
        }
    }
}

/// The column values of a row (pgoutput's TupleData), as a validated view over the message.
/// Values are found by walking the columns, so [`TupleData::get`] takes time in proportion to
/// the index; iterate to visit them all.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TupleData<'a> {
    len: u16,
    /// The columns, after the count.
    columns: &'a [u8],
}

impl<'a> TupleData<'a> {
    /// Reads a whole TupleData (an Int16 count, then its columns, nothing after), as
    /// [`write_tuple`] writes it.
    pub fn parse(bytes: &'a [u8]) -> Result<TupleData<'a>, DecodeError> {
        let mut c = Cursor::new(bytes, "TupleData");
        let tuple = c.tuple()?;
        c.finish()?;
        Ok(tuple)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of column `index` (from 0).
    pub fn get(&self, index: usize) -> Option<TupleValue<'a>> {
        self.iter().nth(index)
    }

    /// The values in column order.
    pub fn iter(&self) -> TupleIter<'a> {
        TupleIter {
            rest: self.columns,
            left: self.len,
        }
    }

    fn put(&self, out: &mut BytesMut) {
        out.put_u16(self.len);
        out.put_slice(self.columns);
    }
}

impl fmt::Debug for TupleData<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for TupleData<'a> {
    type Item = TupleValue<'a>;
    type IntoIter = TupleIter<'a>;

    fn into_iter(self) -> TupleIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &TupleData<'a> {
    type Item = TupleValue<'a>;
    type IntoIter = TupleIter<'a>;

    fn into_iter(self) -> TupleIter<'a> {
        self.iter()
    }
}

/// The values of a [`TupleData`], in column order.
#[derive(Debug, Clone)]
pub struct TupleIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for TupleIter<'a> {
    type Item = TupleValue<'a>;

    fn next(&mut self) -> Option<TupleValue<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut c = Cursor::new(self.rest, "TupleData");
        // The bytes were validated when the view was made; a failure cannot happen, and
        // would only end the iteration.
        match read_value(&mut c) {
            Ok(value) => {
                self.rest = c.rest;
                self.left -= 1;
                Some(value)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for TupleIter<'_> {}

impl FusedIterator for TupleIter<'_> {}

/// The columns of a Relation message, as a validated view over the message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RelationColumns<'a> {
    len: u16,
    /// The columns, after the count.
    columns: &'a [u8],
}

impl<'a> RelationColumns<'a> {
    /// Reads a whole column list (an Int16 count, then its columns, nothing after), as
    /// [`write_relation_columns`] writes it.
    pub fn parse(bytes: &'a [u8]) -> Result<RelationColumns<'a>, DecodeError> {
        let mut c = Cursor::new(bytes, "RelationColumns");
        let columns = c.relation_columns()?;
        c.finish()?;
        Ok(columns)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The columns in order.
    pub fn iter(&self) -> RelationColumnsIter<'a> {
        RelationColumnsIter {
            rest: self.columns,
            left: self.len,
        }
    }

    fn put(&self, out: &mut BytesMut) {
        out.put_u16(self.len);
        out.put_slice(self.columns);
    }
}

impl fmt::Debug for RelationColumns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for RelationColumns<'a> {
    type Item = RelationColumn<'a>;
    type IntoIter = RelationColumnsIter<'a>;

    fn into_iter(self) -> RelationColumnsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &RelationColumns<'a> {
    type Item = RelationColumn<'a>;
    type IntoIter = RelationColumnsIter<'a>;

    fn into_iter(self) -> RelationColumnsIter<'a> {
        self.iter()
    }
}

/// The columns of a [`RelationColumns`], in order.
#[derive(Debug, Clone)]
pub struct RelationColumnsIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for RelationColumnsIter<'a> {
    type Item = RelationColumn<'a>;

    fn next(&mut self) -> Option<RelationColumn<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut c = Cursor::new(self.rest, "RelationColumns");
        // Validated when the view was made, as in `TupleIter`.
        match read_column(&mut c) {
            Ok(column) => {
                self.rest = c.rest;
                self.left -= 1;
                Some(column)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for RelationColumnsIter<'_> {}

impl FusedIterator for RelationColumnsIter<'_> {}

/// The relation OIDs of a Truncate message, as a view over the message (4 bytes each,
/// big-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OidList<'a> {
    raw: &'a [u8],
}

impl<'a> OidList<'a> {
    /// Reads OIDs as [`write_oids`] writes them: a multiple of 4 bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<OidList<'a>, DecodeError> {
        let invalid = |detail: String| DecodeError::Invalid {
            message: "OidList",
            field: "OIDs",
            detail,
        };
        if !bytes.len().is_multiple_of(4) {
            let detail = format!("{} bytes is not a multiple of 4", bytes.len());
            return Err(invalid(detail));
        }
        if bytes.len() / 4 > MAX_LENGTH {
            return Err(invalid(format!("more than {MAX_LENGTH} OIDs")));
        }
        Ok(OidList { raw: bytes })
    }

    /// The number of OIDs.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// OID number `index` (from 0).
    pub fn get(&self, index: usize) -> Option<u32> {
        let start = index.checked_mul(4)?;
        let (word, _) = self.raw.get(start..)?.split_first_chunk::<4>()?;
        Some(u32::from_be_bytes(*word))
    }

    /// The OIDs in order.
    pub fn iter(&self) -> OidIter<'a> {
        OidIter {
            chunks: self.raw.chunks_exact(4),
        }
    }
}

impl fmt::Debug for OidList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for OidList<'a> {
    type Item = u32;
    type IntoIter = OidIter<'a>;

    fn into_iter(self) -> OidIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &OidList<'a> {
    type Item = u32;
    type IntoIter = OidIter<'a>;

    fn into_iter(self) -> OidIter<'a> {
        self.iter()
    }
}

/// The OIDs of an [`OidList`], in order.
#[derive(Debug, Clone)]
pub struct OidIter<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for OidIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (word, _) = self.chunks.next()?.split_first_chunk::<4>()?;
        Some(u32::from_be_bytes(*word))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for OidIter<'_> {}

impl FusedIterator for OidIter<'_> {}

// ---------------------------------------------------------------------------------------------
// Relation cache

/// What a Relation message said about a relation, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationInfo {
    /// The relation's OID.
    pub id: u32,
    /// Its schema; empty for `pg_catalog`.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `relreplident`: `d`, `n`, `f` or `i`.
    pub replica_identity: u8,
    /// The published columns, in the order tuples carry them.
    pub columns: Vec<ColumnInfo>,
}

impl RelationInfo {
    /// The replica identity, or `None` for a byte PostgreSQL does not define.
    pub fn replica_identity_kind(&self) -> Option<ReplicaIdentity> {
        ReplicaIdentity::from_byte(self.replica_identity)
    }
}

/// One column of a [`RelationInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// Its data type's OID.
    pub type_oid: u32,
    /// Its type modifier (-1 for none).
    pub type_modifier: i32,
    /// Whether it is part of the replica identity key.
    pub key: bool,
}

/// What a Type message said about a data type, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type's schema; empty for `pg_catalog`.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// The relations and types a stream has described, by OID, so that changes (which name their
/// relation only by OID) can be interpreted and checked.
///
/// pgoutput sends a relation's description before the first change to it in a session, and
/// again when its definition changes; [`RelationCache::handle`] keeps the latest. Inside a
/// streamed transaction a description may come that the transaction's abort would make stale;
/// pgoutput sends it again before the next change that needs it, so keeping the latest is
/// enough.
#[derive(Debug, Clone, Default)]
pub struct RelationCache {
    relations: HashMap<u32, RelationInfo>,
    types: HashMap<u32, TypeInfo>,
}

impl RelationCache {
    /// An empty cache.
    pub fn new() -> RelationCache {
        RelationCache::default()
    }

    /// Records a Relation message, replacing any earlier description of the same OID.
    pub fn update(&mut self, relation: &Relation<'_>) {
        let columns = relation
            .columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.name.to_owned(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                key: c.is_key(),
            })
            .collect();
        let info = RelationInfo {
            id: relation.id,
            namespace: relation.namespace.to_owned(),
            name: relation.name.to_owned(),
            replica_identity: relation.replica_identity,
            columns,
        };
        self.relations.insert(relation.id, info);
    }

    /// Records a Type message.
    pub fn update_type(&mut self, ty: &Type<'_>) {
        let info = TypeInfo {
            namespace: ty.namespace.to_owned(),
            name: ty.name.to_owned(),
        };
        self.types.insert(ty.id, info);
    }

    /// The description of relation `id`; [`DecodeError::UnknownRelation`] if none came.
    pub fn get(&self, id: u32) -> Result<&RelationInfo, DecodeError> {
        self.relations
            .get(&id)
            .ok_or(DecodeError::UnknownRelation(id))
    }

    /// What a Type message said about type `oid`, if one came (built-in types have none).
    pub fn type_info(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }

    /// Forgets relation `id`, returning its description.
    pub fn remove(&mut self, id: u32) -> Option<RelationInfo> {
        self.relations.remove(&id)
    }

    /// Forgets every relation and type.
    pub fn clear(&mut self) {
        self.relations.clear();
        self.types.clear();
    }

    /// The number of relations described.
    pub fn len(&self) -> usize {
        self.relations.len()
    }

    /// Whether no relation is described.
    pub fn is_empty(&self) -> bool {
        self.relations.is_empty()
    }

    /// Checks a change against the descriptions: Insert, Update, Delete and Truncate must name
    /// described relations ([`DecodeError::UnknownRelation`]), and their tuples must have as
    /// many columns as the relation ([`DecodeError::Invalid`]). Other messages pass.
    pub fn check(&self, message: &Message<'_>) -> Result<(), DecodeError> {
        match message {
            Message::Insert(m) => self.check_tuple("Insert", m.relation, &m.new),
            Message::Update(m) => {
                if let Some(old) = &m.old {
                    self.check_tuple("Update", m.relation, old.tuple())?;
                }
                self.check_tuple("Update", m.relation, &m.new)
            }
            Message::Delete(m) => self.check_tuple("Delete", m.relation, m.old.tuple()),
            Message::Truncate(m) => m.relations.iter().try_for_each(|id| self.get(id).map(drop)),
            _ => Ok(()),
        }
    }

    /// Records Relation and Type messages and [checks](RelationCache::check) the others.
    pub fn handle(&mut self, message: &Message<'_>) -> Result<(), DecodeError> {
        match message {
            Message::Relation(r) => {
                self.update(r);
                Ok(())
            }
            Message::Type(t) => {
                self.update_type(t);
                Ok(())
            }
            other => self.check(other),
        }
    }

    fn check_tuple(
        &self,
        message: &'static str,
        id: u32,
        tuple: &TupleData<'_>,
    ) -> Result<(), DecodeError> {
        let relation = self.get(id)?;
        if tuple.len() != relation.columns.len() {
            return Err(DecodeError::Invalid {
                message,
                field: "tuple",
                detail: format!(
                    "it has {} columns but relation \"{}\".\"{}\" (OID {id}) has {}",
                    tuple.len(),
                    relation.namespace,
                    relation.name,
                    relation.columns.len()
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked() {
        assert!(matches!(Decoder::new(0), Err(DecodeError::Invalid { .. })));
        assert!(matches!(Decoder::new(5), Err(DecodeError::Invalid { .. })));
        for v in 1..=4 {
            let d = Decoder::new(v).unwrap();
            assert_eq!((d.version(), d.in_stream()), (v, false));
        }
    }

    #[test]
    fn every_tag_has_a_name_and_a_version() {
        for tag in 0..=255u8 {
            assert_eq!(
                since_version(tag).is_some(),
                message_name(tag) != "pgoutput"
            );
        }
    }

    #[test]
    fn lengths_over_i32_are_refused() {
        let mut out = BytesMut::new();
        assert_eq!(
            put_len(&mut out, MAX_LENGTH + 1, "tuple value"),
            Err(EncodeError::TooLarge {
                what: "tuple value",
                max: MAX_LENGTH
            })
        );
        assert!(out.is_empty());
        put_len(&mut out, MAX_LENGTH, "tuple value").unwrap();
        assert_eq!(&out[..], b"\x7F\xFF\xFF\xFF");
    }

    #[test]
    fn consumed_is_the_head() {
        let data = [1u8, 2, 3, 4];
        assert_eq!(consumed(&data, &data[3..]), &[1, 2, 3]);
        assert_eq!(consumed(&data, &data[..0]), &data);
    }

    #[test]
    fn broken_views_end_iteration_instead_of_panicking() {
        // Not reachable through the public API: a view whose count overstates its bytes.
        let t = TupleData {
            len: 3,
            columns: b"nx",
        };
        assert_eq!(t.iter().collect::<Vec<_>>(), [TupleValue::Null]);
        let r = RelationColumns {
            len: 2,
            columns: b"\x01a\0",
        };
        assert_eq!(r.iter().count(), 0);
    }
}
