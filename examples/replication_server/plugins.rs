//! The two output plugins a logical slot may use, as START_REPLICATION sees them: their
//! options (checked as PostgreSQL 18 checks them, with its error messages) and what they make
//! of a transaction of the feed, one XLogData message at a time.
//!
//! - `test_decoding`: one line of text per message, exactly as PostgreSQL's contrib module
//!   prints it (`BEGIN 1001`, `table public.items: INSERT: id[integer]:1 name[text]:'one'`,
//!   `COMMIT 1001`).
//! - `pgoutput`: the binary messages of the logical replication protocol, written with
//!   `pgproto::replication::pgoutput`'s encoder: Begin, a Relation before the first change of
//!   the stream, Insert/Update/Delete, Commit. Any publication name publishes `public.items`.

use std::error::Error;
use std::ops::Range;

use bytes::{BufMut, BytesMut};
use pgproto::SqlState;
use pgproto::replication::Lsn;
use pgproto::replication::pgoutput::{
    self, Begin, Commit, Delete, Insert, Message, OldTuple, Relation, RelationColumn,
    RelationColumns, TupleData, TupleValue, Update,
};
use pgproto::server::PgError;
use pgproto::types::oid;

use crate::feed::{Change, NAMESPACE, RELATION_OID, Row, TABLE, Transaction};
use crate::slots::code;

/// Encoding a message failed: a bug, since the feed's values always fit.
pub type Fallible = Result<(), Box<dyn Error>>;

/// The messages of one transaction: their data back to back, and each one's WAL position
/// and byte range.
#[derive(Default)]
pub struct Output {
    /// The messages' bytes.
    pub data: BytesMut,
    /// Each message's position (its XLogData's WAL start) and range in `data`.
    pub messages: Vec<(Lsn, Range<usize>)>,
}

impl Output {
    fn clear(&mut self) {
        self.data.clear();
        self.messages.clear();
    }

    fn push(&mut self, lsn: Lsn, write: impl FnOnce(&mut BytesMut) -> Fallible) -> Fallible {
        let start = self.data.len();
        write(&mut self.data)?;
        self.messages.push((lsn, start..self.data.len()));
        Ok(())
    }
}

/// An output plugin, set up by START_REPLICATION's options.
pub enum Plugin {
    /// contrib/test_decoding.
    TestDecoding(TestDecoding),
    /// pgoutput.
    PgOutput(PgOutput),
}

/// test_decoding's options that change its output.
pub struct TestDecoding {
    include_xids: bool,
    include_timestamp: bool,
}

/// pgoutput's options that change its output, and what it has sent in this stream.
pub struct PgOutput {
    /// The protocol version (1 to 4).
    proto_version: u32,
    binary: bool,
    /// The Relation message has gone out in this stream.
    relation_sent: bool,
}

/// The plugins a slot can be created with.
pub fn is_known(plugin: &str) -> bool {
    matches!(plugin, "test_decoding" | "pgoutput")
}

/// The error PostgreSQL gives when a slot's plugin cannot be loaded.
pub fn unknown(plugin: &str) -> PgError {
    PgError::new(
        code("58P01"),
        format!("could not access file \"{plugin}\": No such file or directory"),
    )
}

/// PostgreSQL's `parse_bool` for test_decoding: `true`/`false`, `yes`/`no` and their
/// prefixes, `on`/`off`, `1`/`0`, in any case.
fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let prefix_of = |word: &str| !v.is_empty() && word.starts_with(v.as_str());
    match v.as_str() {
        "on" | "1" => Some(true),
        "of" | "off" | "0" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

/// PostgreSQL's `defGetBoolean` for pgoutput: no value, `true`/`false`, `on`/`off`, `1`/`0`.
fn def_bool(name: &str, value: Option<&str>) -> Result<bool, PgError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "on" | "1") => Ok(true),
        Some("false" | "off" | "0") => Ok(false),
        Some(_) => Err(PgError::new(
            SqlState::SYNTAX_ERROR,
            format!("{name} requires a Boolean value"),
        )),
    }
}

/// PostgreSQL's `SplitIdentifierString` on a comma-separated list: quoted names keep their
/// case (`""` is a quote), others are lower-cased; `None` for bad syntax.
fn split_identifiers(list: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = list.trim_start();
    if rest.is_empty() {
        return Some(names);
    }
    loop {
        let name;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') if quoted[i + 1..].starts_with('"') => {
                        out.push('"');
                        chars.next();
                    }
                    (i, '"') => break i + 1,
                    (_, c) => out.push(c),
                }
            };
            if out.is_empty() {
                return None;
            }
            name = out;
            rest = &quoted[end..];
        } else {
            let end = rest
                .find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            name = rest[..end].to_lowercase();
            rest = &rest[end..];
        }
        names.push(name);
        rest = rest.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => return Some(names),
            None => return None,
        }
    }
}

impl Plugin {
    /// Sets up `plugin` with START_REPLICATION's `options`, or the error PostgreSQL gives.
    pub fn start(plugin: &str, options: &[(String, Option<String>)]) -> Result<Plugin, PgError> {
        match plugin {
            "test_decoding" => TestDecoding::start(options).map(Plugin::TestDecoding),
            "pgoutput" => PgOutput::start(options).map(Plugin::PgOutput),
            other => Err(unknown(other)),
        }
    }

    /// `test_decoding`, or `pgoutput protocol N`.
    pub fn describe(&self) -> String {
        match self {
            Plugin::TestDecoding(_) => "test_decoding".into(),
            Plugin::PgOutput(p) => format!("pgoutput protocol {}", p.proto_version),
        }
    }

    /// Writes the messages of `txn` into `out` (emptied first).
    pub fn transaction(&mut self, txn: &Transaction, out: &mut Output) -> Fallible {
        out.clear();
        match self {
            Plugin::TestDecoding(t) => t.transaction(txn, out),
            Plugin::PgOutput(p) => p.transaction(txn, out),
        }
    }
}

impl TestDecoding {
    fn start(options: &[(String, Option<String>)]) -> Result<TestDecoding, PgError> {
        let mut t = TestDecoding {
            include_xids: true,
            include_timestamp: false,
        };
        let mut ignored = false;
        for (name, value) in options {
            let flag = match name.as_str() {
                "include-xids" => &mut t.include_xids,
                "include-timestamp" => &mut t.include_timestamp,
                // Accepted; they change nothing for this feed (no empty, remote, rewrite or
                // large transactions; the output is text either way).
                "skip-empty-xacts" | "only-local" | "include-rewrites" | "force-binary"
                | "stream-changes" => &mut ignored,
                _ => {
                    return Err(PgError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!(
                            "option \"{name}\" = \"{}\" is unknown",
                            value.as_deref().unwrap_or("(null)")
                        ),
                    ));
                }
            };
            *flag = match value {
                None => true,
                Some(v) => parse_bool(v).ok_or_else(|| {
                    PgError::new(
                        SqlState::INVALID_PARAMETER_VALUE,
                        format!("could not parse value \"{v}\" for parameter \"{name}\""),
                    )
                })?,
            };
        }
        Ok(t)
    }

    fn transaction(&self, txn: &Transaction, out: &mut Output) -> Fallible {
        out.push(txn.first_lsn(), |b| {
            b.put_slice(b"BEGIN");
            if self.include_xids {
                b.put_slice(format!(" {}", txn.xid).as_bytes());
            }
            Ok(())
        })?;
        for (lsn, change) in &txn.changes {
            out.push(*lsn, |b| {
                b.put_slice(change_text(change).as_bytes());
                Ok(())
            })?;
        }
        out.push(txn.end_lsn, |b| {
            b.put_slice(b"COMMIT");
            if self.include_xids {
                b.put_slice(format!(" {}", txn.xid).as_bytes());
            }
            if self.include_timestamp {
                b.put_slice(format!(" (at {})", txn.commit_time).as_bytes());
            }
            Ok(())
        })
    }
}

/// A change as test_decoding prints it.
fn change_text(change: &Change) -> String {
    let mut s = format!("table {NAMESPACE}.{TABLE}:");
    match change {
        Change::Insert(row) => {
            s.push_str(" INSERT:");
            row_text(&mut s, row);
        }
        Change::Update { old_key, new } => {
            s.push_str(" UPDATE:");
            if let Some(key) = old_key {
                // The old tuple holds the replica identity only; its NULLs are skipped.
                s.push_str(&format!(" old-key: id[integer]:{key}"));
                s.push_str(" new-tuple:");
            }
            row_text(&mut s, new);
        }
        Change::Delete { key } => s.push_str(&format!(" DELETE: id[integer]:{key}")),
    }
    s
}

/// ` id[integer]:1 name[text]:'one'`: integers bare, text quoted with quotes doubled.
fn row_text(s: &mut String, row: &Row) {
    s.push_str(&format!(" id[integer]:{}", row.id));
    match &row.name {
        Some(name) => s.push_str(&format!(" name[text]:'{}'", name.replace('\'', "''"))),
        None => s.push_str(" name[text]:null"),
    }
}

impl PgOutput {
    fn start(options: &[(String, Option<String>)]) -> Result<PgOutput, PgError> {
        let mut seen: Vec<&str> = Vec::new();
        let (mut version, mut publications) = (None, None);
        let (mut binary, mut streaming, mut parallel, mut two_phase) = (false, false, false, false);
        for (name, value) in options {
            if seen.contains(&name.as_str()) {
                return Err(PgError::new(
                    SqlState::SYNTAX_ERROR,
                    "conflicting or redundant options",
                ));
            }
            seen.push(name);
            let text = value.as_deref().unwrap_or("");
            match name.as_str() {
                "proto_version" => {
                    let v: u64 = text.parse().map_err(|_| {
                        PgError::new(SqlState::INVALID_PARAMETER_VALUE, "invalid proto_version")
                    })?;
                    let v = u32::try_from(v).map_err(|_| {
                        PgError::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("proto_version \"{text}\" out of range"),
                        )
                    })?;
                    version = Some(v);
                }
                "publication_names" => {
                    let names = split_identifiers(text).ok_or_else(|| {
                        PgError::new(code("42602"), "invalid publication_names syntax")
                    })?;
                    publications = Some(names);
                }
                "binary" => binary = def_bool(name, value.as_deref())?,
                "messages" => {
                    def_bool(name, value.as_deref())?;
                }
                "two_phase" => two_phase = def_bool(name, value.as_deref())?,
                "streaming" => {
                    if value
                        .as_deref()
                        .is_some_and(|v| v.eq_ignore_ascii_case("parallel"))
                    {
                        (streaming, parallel) = (true, true);
                    } else {
                        streaming = def_bool(name, value.as_deref()).map_err(|_| {
                            PgError::new(
                                SqlState::SYNTAX_ERROR,
                                format!("{name} requires a Boolean value or \"parallel\""),
                            )
                        })?;
                    }
                }
                "origin" => {
                    if !text.eq_ignore_ascii_case("none") && !text.eq_ignore_ascii_case("any") {
                        return Err(PgError::new(
                            SqlState::INVALID_PARAMETER_VALUE,
                            format!("unrecognized origin value: \"{text}\""),
                        ));
                    }
                }
                other => {
                    return Err(PgError::new(
                        SqlState::INTERNAL_ERROR,
                        format!("unrecognized pgoutput option: {other}"),
                    ));
                }
            }
        }
        let missing = |option: &str| {
            PgError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("option \"{option}\" missing"),
            )
        };
        let version = version.ok_or_else(|| missing("proto_version"))?;
        if publications.is_none_or(|p| p.is_empty()) {
            return Err(missing("publication_names"));
        }
        let (min, max) = (pgoutput::MIN_PROTO_VERSION, pgoutput::MAX_PROTO_VERSION);
        if version > max || version < min {
            let (bound, side) = if version > max {
                (max, "lower")
            } else {
                (min, "higher")
            };
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!(
                    "client sent proto_version={version} but server only supports protocol \
                     {bound} or {side}"
                ),
            ));
        }
        let needs = |what: &str, need: u32| {
            PgError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!(
                    "requested proto_version={version} does not support {what}, need {need} or \
                     higher"
                ),
            )
        };
        if streaming && version < 2 {
            return Err(needs("streaming", 2));
        }
        if parallel && version < 4 {
            return Err(needs("parallel streaming", 4));
        }
        if two_phase && version < 3 {
            return Err(needs("two-phase commit", 3));
        }
        Ok(PgOutput {
            proto_version: version,
            binary,
            relation_sent: false,
        })
    }

    fn transaction(&mut self, txn: &Transaction, out: &mut Output) -> Fallible {
        // Since PostgreSQL 15 pgoutput sends Begin with the first change, at its position.
        out.push(txn.first_lsn(), |b| {
            Message::Begin(Begin {
                final_lsn: txn.commit_lsn,
                commit_time: txn.commit_time,
                xid: txn.xid,
            })
            .encode(b)?;
            Ok(())
        })?;
        let mut tuples = BytesMut::new();
        for (lsn, change) in &txn.changes {
            if !self.relation_sent {
                // PostgreSQL sends the Relation message's XLogData at position 0/0.
                out.push(Lsn(0), relation)?;
                self.relation_sent = true;
            }
            out.push(*lsn, |b| self.change(change, &mut tuples, b))?;
        }
        out.push(txn.end_lsn, |b| {
            Message::Commit(Commit {
                commit_lsn: txn.commit_lsn,
                end_lsn: txn.end_lsn,
                commit_time: txn.commit_time,
            })
            .encode(b)?;
            Ok(())
        })
    }

    /// Writes an Insert, Update or Delete; `tuples` is scratch space for the row values.
    fn change(&self, change: &Change, tuples: &mut BytesMut, out: &mut BytesMut) -> Fallible {
        tuples.clear();
        let relation = RELATION_OID;
        match change {
            Change::Insert(row) => {
                self.write_row(tuples, row)?;
                let new = TupleData::parse(tuples)?;
                Message::Insert(Insert {
                    xid: None,
                    relation,
                    new,
                })
                .encode(out)?;
                Ok(())
            }
            Change::Update { old_key, new } => {
                // Only a key change sends the old key (`K`): the other columns are NULL.
                if let Some(key) = old_key {
                    self.write_key(tuples, *key)?;
                }
                let split = tuples.len();
                self.write_row(tuples, new)?;
                let (old, new) = tuples.split_at(split);
                let old = match old_key {
                    Some(_) => Some(OldTuple::Key(TupleData::parse(old)?)),
                    None => None,
                };
                Message::Update(Update {
                    xid: None,
                    relation,
                    old,
                    new: TupleData::parse(new)?,
                })
                .encode(out)?;
                Ok(())
            }
            Change::Delete { key } => {
                self.write_key(tuples, *key)?;
                Message::Delete(Delete {
                    xid: None,
                    relation,
                    old: OldTuple::Key(TupleData::parse(tuples)?),
                })
                .encode(out)?;
                Ok(())
            }
        }
    }

    fn write_row(&self, out: &mut BytesMut, row: &Row) -> Fallible {
        let (text, binary) = (row.id.to_string(), row.id.to_be_bytes());
        let id = self.value(text.as_bytes(), &binary);
        let name = match &row.name {
            Some(n) => self.value(n.as_bytes(), n.as_bytes()),
            None => TupleValue::Null,
        };
        pgoutput::write_tuple(out, [id, name])?;
        Ok(())
    }

    fn write_key(&self, out: &mut BytesMut, key: i32) -> Fallible {
        let (text, binary) = (key.to_string(), key.to_be_bytes());
        pgoutput::write_tuple(
            out,
            [self.value(text.as_bytes(), &binary), TupleValue::Null],
        )?;
        Ok(())
    }

    /// A value in the format the `binary` option asked for.
    fn value<'v>(&self, text: &'v [u8], binary: &'v [u8]) -> TupleValue<'v> {
        if self.binary {
            TupleValue::Binary(binary)
        } else {
            TupleValue::Text(text)
        }
    }
}

/// The Relation message for `public.items`: `id` int4 (the key), `name` text; replica
/// identity default.
fn relation(out: &mut BytesMut) -> Fallible {
    let column = |flags, name, type_oid| RelationColumn {
        flags,
        name,
        type_oid,
        type_modifier: -1,
    };
    let mut columns = BytesMut::new();
    pgoutput::write_relation_columns(
        &mut columns,
        [column(1, "id", oid::INT4), column(0, "name", oid::TEXT)],
    )?;
    let columns = RelationColumns::parse(&columns)?;
    Message::Relation(Relation {
        xid: None,
        id: RELATION_OID,
        namespace: NAMESPACE,
        name: TABLE,
        replica_identity: b'd',
        columns,
    })
    .encode(out)?;
    Ok(())
}
