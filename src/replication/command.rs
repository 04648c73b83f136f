//! Replication commands (sent as a simple Query on a replication connection) and their
//! results, typed, for both sides: a client formats a command with `Display` and reads the
//! result rows; a server parses the query text and writes the result.

use std::fmt;

use super::Lsn;
use crate::SqlState;
use crate::message::DataRow;
use crate::server::{ApiError, Column, Connection};
use crate::types::oid;

/// A replication command.
///
/// `Display` writes it in the syntax PostgreSQL 15 and later accept (identifiers always
/// quoted, options in parentheses); [`parse`](ReplicationCommand::parse) reads that syntax and
/// the older keyword forms that PostgreSQL still accepts (`NOEXPORT_SNAPSHOT`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicationCommand {
    /// `IDENTIFY_SYSTEM`: answered with an [`IdentifySystem`] row.
    IdentifySystem,
    /// `SHOW name`: one setting's value, as a one-column text row named after it.
    Show {
        /// The setting (lower case unless it was quoted; `a.b` for a qualified name).
        name: String,
    },
    /// `TIMELINE_HISTORY tli`: answered with a [`TimelineHistory`] row.
    TimelineHistory {
        /// The timeline.
        timeline: u32,
    },
    /// `CREATE_REPLICATION_SLOT`: answered with a [`CreatedSlot`] row.
    CreateReplicationSlot(CreateReplicationSlot),
    /// `ALTER_REPLICATION_SLOT slot (option [value], ...)` (PostgreSQL 17+).
    AlterReplicationSlot {
        /// The slot.
        slot: String,
        /// Options as written: lower-cased names, values as text.
        options: Vec<(String, Option<String>)>,
    },
    /// `READ_REPLICATION_SLOT slot`: answered with a [`ReadReplicationSlot`] row.
    ReadReplicationSlot {
        /// The slot.
        slot: String,
    },
    /// `DROP_REPLICATION_SLOT slot [WAIT]`: answered with the tag alone.
    DropReplicationSlot {
        /// The slot.
        slot: String,
        /// Wait for the slot to become inactive instead of failing.
        wait: bool,
    },
    /// `START_REPLICATION`: answered with CopyBothResponse and the stream.
    StartReplication(StartReplication),
    /// `BASE_BACKUP [(option [value], ...)]`.
    BaseBackup {
        /// Options as written: lower-cased names, values as text.
        options: Vec<(String, Option<String>)>,
    },
}

/// `CREATE_REPLICATION_SLOT slot [TEMPORARY] {PHYSICAL | LOGICAL plugin} [(options)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateReplicationSlot {
    /// The slot's name.
    pub slot: String,
    /// Dropped when the session ends or fails.
    pub temporary: bool,
    /// Physical, or logical with its output plugin.
    pub kind: SlotKind,
    /// What to do with the snapshot made at the slot's consistent point (logical only).
    pub snapshot: Option<SnapshotAction>,
    /// Decode prepared transactions at PREPARE TRANSACTION (logical only).
    pub two_phase: bool,
    /// Reserve WAL at once rather than on first connection (physical only).
    pub reserve_wal: bool,
    /// Synchronize the slot to standbys (logical only, PostgreSQL 17+).
    pub failover: bool,
}

/// A replication slot's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotKind {
    /// Streams WAL.
    Physical,
    /// Streams the changes an output plugin decodes from WAL.
    Logical {
        /// The output plugin, e.g. `pgoutput` or `test_decoding`.
        plugin: String,
    },
}

/// `SNAPSHOT 'export' | 'use' | 'nothing'` of CREATE_REPLICATION_SLOT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotAction {
    /// Export the snapshot for other sessions (the default); its name is in the result.
    Export,
    /// Use it in this session's current transaction.
    Use,
    /// Do not keep it.
    Nothing,
}

impl CreateReplicationSlot {
    /// A permanent logical slot with `plugin`, no snapshot, no two-phase decoding.
    pub fn logical(slot: impl Into<String>, plugin: impl Into<String>) -> CreateReplicationSlot {
        CreateReplicationSlot {
            slot: slot.into(),
            temporary: false,
            kind: SlotKind::Logical {
                plugin: plugin.into(),
            },
            snapshot: Some(SnapshotAction::Nothing),
            two_phase: false,
            reserve_wal: false,
            failover: false,
        }
    }

    /// A permanent physical slot.
    pub fn physical(slot: impl Into<String>) -> CreateReplicationSlot {
        CreateReplicationSlot {
            slot: slot.into(),
            temporary: false,
            kind: SlotKind::Physical,
            snapshot: None,
            two_phase: false,
            reserve_wal: false,
            failover: false,
        }
    }
}

/// `START_REPLICATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartReplication {
    /// The slot (required for logical replication).
    pub slot: Option<String>,
    /// Where to start (`0/0` for a logical slot: where it was confirmed up to).
    pub start: Lsn,
    /// Physical with an optional timeline, or logical with the plugin's options.
    pub kind: StartKind,
}

/// What START_REPLICATION streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartKind {
    /// WAL, from `timeline` (the current one when `None`).
    Physical {
        /// The timeline.
        timeline: Option<u32>,
    },
    /// Decoded changes; `options` are passed to the output plugin as written (names keep
    /// their case when quoted, values are the string literals' contents).
    Logical {
        /// `("name" 'value', ...)`.
        options: Vec<(String, Option<String>)>,
    },
}

impl StartReplication {
    /// `START_REPLICATION SLOT slot LOGICAL start (options)`.
    pub fn logical<'o>(
        slot: impl Into<String>,
        start: Lsn,
        options: impl IntoIterator<Item = (&'o str, &'o str)>,
    ) -> StartReplication {
        StartReplication {
            slot: Some(slot.into()),
            start,
            kind: StartKind::Logical {
                options: options
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
                    .collect(),
            },
        }
    }

    /// The value of a logical plugin option, if given.
    pub fn option(&self, name: &str) -> Option<&str> {
        match &self.kind {
            StartKind::Logical { options } => options
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.as_deref()),
            StartKind::Physical { .. } => None,
        }
    }
}

/// Writes `"name"`, doubling quotes.
fn ident(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    f.write_str("\"")?;
    f.write_str(&name.replace('"', "\"\""))?;
    f.write_str("\"")
}

/// Writes `'value'`, doubling quotes.
fn literal(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("'")?;
    f.write_str(&value.replace('\'', "''"))?;
    f.write_str("'")
}

fn options(
    f: &mut fmt::Formatter<'_>,
    list: &[(String, Option<String>)],
    quote_names: bool,
) -> fmt::Result {
    f.write_str(" (")?;
    for (i, (name, value)) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if quote_names {
            ident(f, name)?;
        } else {
            f.write_str(name)?;
        }
        if let Some(v) = value {
            f.write_str(" ")?;
            literal(f, v)?;
        }
    }
    f.write_str(")")
}

impl fmt::Display for ReplicationCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicationCommand::IdentifySystem => f.write_str("IDENTIFY_SYSTEM"),
            ReplicationCommand::Show { name } => {
                f.write_str("SHOW ")?;
                for (i, part) in name.split('.').enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    ident(f, part)?;
                }
                Ok(())
            }
            ReplicationCommand::TimelineHistory { timeline } => {
                write!(f, "TIMELINE_HISTORY {timeline}")
            }
            ReplicationCommand::CreateReplicationSlot(c) => {
                f.write_str("CREATE_REPLICATION_SLOT ")?;
                ident(f, &c.slot)?;
                if c.temporary {
                    f.write_str(" TEMPORARY")?;
                }
                let mut opts: Vec<(String, Option<String>)> = Vec::new();
                match &c.kind {
                    SlotKind::Physical => f.write_str(" PHYSICAL")?,
                    SlotKind::Logical { plugin } => {
                        f.write_str(" LOGICAL ")?;
                        ident(f, plugin)?;
                    }
                }
                if let Some(s) = c.snapshot {
                    let v = match s {
                        SnapshotAction::Export => "export",
                        SnapshotAction::Use => "use",
                        SnapshotAction::Nothing => "nothing",
                    };
                    opts.push(("SNAPSHOT".into(), Some(v.into())));
                }
                for (on, name) in [
                    (c.two_phase, "TWO_PHASE"),
                    (c.reserve_wal, "RESERVE_WAL"),
                    (c.failover, "FAILOVER"),
                ] {
                    if on {
                        opts.push((name.into(), None));
                    }
                }
                if !opts.is_empty() {
                    options(f, &opts, false)?;
                }
                Ok(())
            }
            ReplicationCommand::AlterReplicationSlot { slot, options: o } => {
                f.write_str("ALTER_REPLICATION_SLOT ")?;
                ident(f, slot)?;
                options(f, o, true)
            }
            ReplicationCommand::ReadReplicationSlot { slot } => {
                f.write_str("READ_REPLICATION_SLOT ")?;
                ident(f, slot)
            }
            ReplicationCommand::DropReplicationSlot { slot, wait } => {
                f.write_str("DROP_REPLICATION_SLOT ")?;
                ident(f, slot)?;
                if *wait {
                    f.write_str(" WAIT")?;
                }
                Ok(())
            }
            ReplicationCommand::StartReplication(s) => {
                f.write_str("START_REPLICATION")?;
                if let Some(slot) = &s.slot {
                    f.write_str(" SLOT ")?;
                    ident(f, slot)?;
                }
                match &s.kind {
                    StartKind::Physical { timeline } => {
                        write!(f, " PHYSICAL {}", s.start)?;
                        if let Some(t) = timeline {
                            write!(f, " TIMELINE {t}")?;
                        }
                        Ok(())
                    }
                    StartKind::Logical { options: o } => {
                        write!(f, " LOGICAL {}", s.start)?;
                        if o.is_empty() {
                            Ok(())
                        } else {
                            options(f, o, true)
                        }
                    }
                }
            }
            ReplicationCommand::BaseBackup { options: o } => {
                f.write_str("BASE_BACKUP")?;
                if o.is_empty() {
                    Ok(())
                } else {
                    options(f, o, true)
                }
            }
        }
    }
}

/// A replication command that cannot be read, with the SQLSTATE PostgreSQL's walsender
/// answers it with: 42601 syntax_error, or 22023 invalid_parameter_value for an option value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandParseError {
    /// What is wrong, in PostgreSQL's words where it has them.
    pub message: String,
    code: SqlState,
}

impl CommandParseError {
    /// 42601 syntax_error, or 22023 invalid_parameter_value.
    pub fn sql_state(&self) -> SqlState {
        self.code
    }

    fn new(message: impl Into<String>) -> CommandParseError {
        CommandParseError {
            message: message.into(),
            code: SqlState::SYNTAX_ERROR,
        }
    }

    fn value(message: impl Into<String>) -> CommandParseError {
        CommandParseError {
            message: message.into(),
            code: SqlState::INVALID_PARAMETER_VALUE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An identifier: `quoted` ones keep their case and are never keywords.
    Ident {
        text: String,
        quoted: bool,
    },
    Str(String),
    Number(String),
    Lsn(Lsn),
    Punct(u8),
}

/// Splits a command into tokens, as PostgreSQL's replication scanner does.
fn tokenize(text: &str) -> Result<Vec<Token>, CommandParseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // An LSN wins over a number or identifier made of hex digits (longest match).
        let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex > 0 && b.get(i + hex) == Some(&b'/') {
            let hex2 = b[i + hex + 1..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if hex2 > 0 {
                let end = i + hex + 1 + hex2;
                let lsn = Lsn::parse(&b[i..end]).ok_or_else(|| {
                    CommandParseError::new(format!(
                        "invalid streaming start location \"{}\"",
                        &text[i..end]
                    ))
                })?;
                out.push(Token::Lsn(lsn));
                i = end;
                continue;
            }
        }
        match c {
            b'(' | b')' | b',' | b';' | b'.' => {
                out.push(Token::Punct(c));
                i += 1;
            }
            b'0'..=b'9' => {
                let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                out.push(Token::Number(text[i..i + n].to_owned()));
                i += n;
            }
            b'\'' | b'"' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None if c == b'\'' => {
                            return Err(CommandParseError::new("unterminated quoted string"));
                        }
                        None => {
                            return Err(CommandParseError::new("unterminated quoted identifier"));
                        }
                        Some(&q) if q == c => {
                            if b.get(i + 1) == Some(&c) {
                                s.push(c);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&o) => {
                            s.push(o);
                            i += 1;
                        }
                    }
                }
                // Quotes split only at ASCII bytes, so the content stays UTF-8.
                let s = String::from_utf8(s)
                    .map_err(|_| CommandParseError::new("invalid byte sequence"))?;
                if c == b'"' {
                    out.push(Token::Ident {
                        text: s,
                        quoted: true,
                    });
                } else {
                    out.push(Token::Str(s));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let n = b[i..]
                    .iter()
                    .take_while(|&&c| {
                        c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
                    })
                    .count();
                out.push(Token::Ident {
                    text: text[i..i + n].to_ascii_lowercase(),
                    quoted: false,
                });
                i += n;
            }
            _ => {
                return Err(CommandParseError::new(format!(
                    "syntax error at or near \"{}\"",
                    char::from(c)
                )));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn error(&self) -> CommandParseError {
        match self.peek() {
            None => CommandParseError::new("syntax error at end of input"),
            Some(t) => CommandParseError::new(format!("syntax error at or near {}", describe(t))),
        }
    }

    /// Consumes an unquoted keyword.
    fn keyword(&mut self, kw: &str) -> bool {
        match self.peek() {
            Some(Token::Ident {
                text,
                quoted: false,
            }) if text == kw => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn punct(&mut self, p: u8) -> bool {
        if self.peek() == Some(&Token::Punct(p)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// An identifier (PostgreSQL 16+ accept keywords as names: `CREATE_REPLICATION_SLOT slot`).
    fn ident(&mut self) -> Result<String, CommandParseError> {
        match self.peek() {
            Some(Token::Ident { text, .. }) => {
                let t = text.clone();
                self.at += 1;
                Ok(t)
            }
            _ => Err(self.error()),
        }
    }

    fn number(&mut self) -> Result<u32, CommandParseError> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let v = n.parse::<u32>().map_err(|_| {
                    CommandParseError::new(format!("number \"{n}\" is out of range"))
                })?;
                self.at += 1;
                Ok(v)
            }
            _ => Err(self.error()),
        }
    }

    fn lsn(&mut self) -> Result<Lsn, CommandParseError> {
        match self.peek() {
            Some(Token::Lsn(l)) => {
                let l = *l;
                self.at += 1;
                Ok(l)
            }
            _ => Err(self.error()),
        }
    }

    /// `( name [value], ... )` where a name may be a keyword and a value an identifier, a
    /// string or a number.
    fn generic_options(&mut self) -> Result<Vec<(String, Option<String>)>, CommandParseError> {
        if !self.punct(b'(') {
            return Err(self.error());
        }
        let mut list = Vec::new();
        loop {
            let name = match self.peek() {
                Some(Token::Ident { text, .. }) => text.clone(),
                _ => return Err(self.error()),
            };
            self.at += 1;
            let value = match self.peek() {
                Some(Token::Ident { text, .. }) | Some(Token::Str(text)) => Some(text.clone()),
                Some(Token::Number(n)) => Some(n.clone()),
                _ => None,
            };
            if value.is_some() {
                self.at += 1;
            }
            list.push((name, value));
            if self.punct(b')') {
                return Ok(list);
            }
            if !self.punct(b',') {
                return Err(self.error());
            }
        }
    }

    /// `( "name" ['value'], ... )` of START_REPLICATION ... LOGICAL.
    fn plugin_options(&mut self) -> Result<Vec<(String, Option<String>)>, CommandParseError> {
        if !self.punct(b'(') {
            return Err(self.error());
        }
        let mut list = Vec::new();
        loop {
            let name = self.ident()?;
            let value = match self.peek() {
                Some(Token::Str(s)) => {
                    let s = s.clone();
                    self.at += 1;
                    Some(s)
                }
                _ => None,
            };
            list.push((name, value));
            if self.punct(b')') {
                return Ok(list);
            }
            if !self.punct(b',') {
                return Err(self.error());
            }
        }
    }

    fn end(&mut self) -> Result<(), CommandParseError> {
        self.punct(b';');
        if self.peek().is_some() {
            Err(self.error())
        } else {
            Ok(())
        }
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident { text, .. } => format!("\"{text}\""),
        Token::Str(s) => format!("\"'{s}'\""),
        Token::Number(n) => format!("\"{n}\""),
        Token::Lsn(l) => format!("\"{l}\""),
        Token::Punct(p) => format!("\"{}\"", char::from(*p)),
    }
}

const COMMANDS: [&str; 10] = [
    "identify_system",
    "show",
    "timeline_history",
    "create_replication_slot",
    "alter_replication_slot",
    "read_replication_slot",
    "drop_replication_slot",
    "start_replication",
    "base_backup",
    "upload_manifest",
];

fn boolean(name: &str, value: Option<&str>) -> Result<bool, CommandParseError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "on" | "1" | "yes" | "t" | "y") => Ok(true),
        Some("false" | "off" | "0" | "no" | "f" | "n") => Ok(false),
        Some(_) => Err(CommandParseError::value(format!(
            "{name} requires a Boolean value"
        ))),
    }
}

impl ReplicationCommand {
    /// Reads a query sent on a replication connection. `Ok(None)` when it is not a
    /// replication command (its first word is none of them): on a `replication=database`
    /// connection that is SQL, to be run as usual; on a physical one PostgreSQL refuses it.
    pub fn parse(text: &str) -> Result<Option<ReplicationCommand>, CommandParseError> {
        let first = text
            .trim_start()
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if !COMMANDS.contains(&first.as_str()) {
            return Ok(None);
        }
        let mut p = Parser {
            tokens: tokenize(text)?,
            at: 0,
        };
        let cmd = if p.keyword("identify_system") {
            ReplicationCommand::IdentifySystem
        } else if p.keyword("show") {
            let mut name = match p.peek() {
                Some(Token::Ident { text, .. }) => text.clone(),
                _ => return Err(p.error()),
            };
            p.at += 1;
            while p.punct(b'.') {
                match p.peek() {
                    Some(Token::Ident { text, .. }) => {
                        name.push('.');
                        name.push_str(text);
                    }
                    _ => return Err(p.error()),
                }
                p.at += 1;
            }
            ReplicationCommand::Show { name }
        } else if p.keyword("timeline_history") {
            let timeline = p.number()?;
            if timeline == 0 {
                return Err(CommandParseError::new(format!(
                    "invalid timeline {timeline}"
                )));
            }
            ReplicationCommand::TimelineHistory { timeline }
        } else if p.keyword("create_replication_slot") {
            ReplicationCommand::CreateReplicationSlot(create_slot(&mut p)?)
        } else if p.keyword("alter_replication_slot") {
            let slot = p.ident()?;
            let options = p.generic_options()?;
            ReplicationCommand::AlterReplicationSlot { slot, options }
        } else if p.keyword("read_replication_slot") {
            ReplicationCommand::ReadReplicationSlot { slot: p.ident()? }
        } else if p.keyword("drop_replication_slot") {
            let slot = p.ident()?;
            let wait = p.keyword("wait");
            ReplicationCommand::DropReplicationSlot { slot, wait }
        } else if p.keyword("start_replication") {
            ReplicationCommand::StartReplication(start(&mut p)?)
        } else if p.keyword("base_backup") {
            let options = if p.peek() == Some(&Token::Punct(b'(')) {
                p.generic_options()?
            } else {
                Vec::new()
            };
            ReplicationCommand::BaseBackup { options }
        } else {
            return Err(CommandParseError::new(format!(
                "replication command \"{}\" is not supported",
                first.to_ascii_uppercase()
            )));
        };
        p.end()?;
        Ok(Some(cmd))
    }
}

fn create_slot(p: &mut Parser) -> Result<CreateReplicationSlot, CommandParseError> {
    let slot = p.ident()?;
    let temporary = p.keyword("temporary");
    let kind = if p.keyword("physical") {
        SlotKind::Physical
    } else if p.keyword("logical") {
        SlotKind::Logical { plugin: p.ident()? }
    } else {
        return Err(p.error());
    };
    let mut c = CreateReplicationSlot {
        slot,
        temporary,
        kind,
        snapshot: None,
        two_phase: false,
        reserve_wal: false,
        failover: false,
    };
    let mut given: Vec<(String, Option<String>)> = Vec::new();
    if p.peek() == Some(&Token::Punct(b'(')) {
        given = p.generic_options()?;
    } else {
        // The keyword forms of PostgreSQL 14 and earlier.
        loop {
            let (name, value) = if p.keyword("export_snapshot") {
                ("snapshot", Some("export"))
            } else if p.keyword("noexport_snapshot") {
                ("snapshot", Some("nothing"))
            } else if p.keyword("use_snapshot") {
                ("snapshot", Some("use"))
            } else if p.keyword("reserve_wal") {
                ("reserve_wal", None)
            } else if p.keyword("two_phase") {
                ("two_phase", None)
            } else {
                break;
            };
            given.push((name.to_owned(), value.map(str::to_owned)));
        }
    }
    let logical = matches!(c.kind, SlotKind::Logical { .. });
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &given {
        if seen.contains(&name.as_str()) {
            return Err(CommandParseError::new("conflicting or redundant options"));
        }
        seen.push(name);
        let value = value.as_deref();
        match name.as_str() {
            "snapshot" if logical => {
                c.snapshot = Some(match value {
                    Some("export") => SnapshotAction::Export,
                    Some("use") => SnapshotAction::Use,
                    Some("nothing") => SnapshotAction::Nothing,
                    _ => {
                        return Err(CommandParseError::value(format!(
                            "unrecognized value for CREATE_REPLICATION_SLOT option \"snapshot\": \"{}\"",
                            value.unwrap_or("")
                        )));
                    }
                });
            }
            "two_phase" if logical => c.two_phase = boolean(name, value)?,
            "failover" if logical => c.failover = boolean(name, value)?,
            "reserve_wal" if !logical => c.reserve_wal = boolean(name, value)?,
            _ => {
                return Err(CommandParseError::new(format!(
                    "unrecognized option: {name}"
                )));
            }
        }
    }
    Ok(c)
}

fn start(p: &mut Parser) -> Result<StartReplication, CommandParseError> {
    let slot = if p.keyword("slot") {
        Some(p.ident()?)
    } else {
        None
    };
    if p.keyword("logical") {
        if slot.is_none() {
            return Err(CommandParseError::new(
                "logical replication requires a slot",
            ));
        }
        let start = p.lsn()?;
        let options = if p.peek() == Some(&Token::Punct(b'(')) {
            p.plugin_options()?
        } else {
            Vec::new()
        };
        return Ok(StartReplication {
            slot,
            start,
            kind: StartKind::Logical { options },
        });
    }
    p.keyword("physical");
    let start = p.lsn()?;
    let timeline = if p.keyword("timeline") {
        let t = p.number()?;
        if t == 0 {
            return Err(CommandParseError::new(format!("invalid timeline {t}")));
        }
        Some(t)
    } else {
        None
    };
    Ok(StartReplication {
        slot,
        start,
        kind: StartKind::Physical { timeline },
    })
}

// ----- results -----------------------------------------------------------------------------

/// A result row that does not have the shape of its command's result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {command} result: {detail}")]
pub struct ResultError {
    /// The command.
    pub command: &'static str,
    /// What was wrong.
    pub detail: String,
}

impl ResultError {
    /// 08P01 protocol_violation.
    pub fn sql_state(&self) -> SqlState {
        SqlState::PROTOCOL_VIOLATION
    }
}

/// The text values of a result row, checked for count and UTF-8.
fn texts<'r, const N: usize>(
    row: &'r DataRow,
    command: &'static str,
) -> Result<[Option<&'r str>; N], ResultError> {
    let err = |detail: String| ResultError { command, detail };
    if row.len() != N {
        return Err(err(format!("{} columns, expected {N}", row.len())));
    }
    let mut out = [None; N];
    for (slot, v) in out.iter_mut().zip(row.values()) {
        *slot = match v {
            None => None,
            Some(b) => {
                Some(std::str::from_utf8(b).map_err(|_| err("a value is not UTF-8".to_owned()))?)
            }
        };
    }
    Ok(out)
}

fn need<'a>(v: Option<&'a str>, command: &'static str, what: &str) -> Result<&'a str, ResultError> {
    v.ok_or_else(|| ResultError {
        command,
        detail: format!("{what} is NULL"),
    })
}

fn lsn_of(v: &str, command: &'static str) -> Result<Lsn, ResultError> {
    v.parse().map_err(|_| ResultError {
        command,
        detail: format!("\"{v}\" is not an LSN"),
    })
}

fn u32_of(v: &str, command: &'static str) -> Result<u32, ResultError> {
    v.parse().map_err(|_| ResultError {
        command,
        detail: format!("\"{v}\" is not a timeline"),
    })
}

fn text_col(name: &str) -> Column {
    Column::new(name, oid::TEXT)
}

/// Writes one result row and its tag, for a command answered by a simple Query.
fn send_row<S, P>(
    conn: &mut Connection<S, P>,
    columns: &[Column],
    values: &[Option<&[u8]>],
    tag: &str,
) -> Result<(), ApiError> {
    conn.row_description(columns)?;
    conn.data_row(values.iter().copied())?;
    conn.command_complete(tag)
}

/// The row IDENTIFY_SYSTEM answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifySystem {
    /// The cluster's unique system identifier (a 64-bit number, as text).
    pub system_id: String,
    /// The current timeline.
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlog_pos: Lsn,
    /// The database of a `replication=database` connection, else `None`.
    pub dbname: Option<String>,
}

impl IdentifySystem {
    const COMMAND: &'static str = "IDENTIFY_SYSTEM";

    /// Reads the result row (PostgreSQL 15 sends the timeline as int4, 16+ as int8; both are
    /// text here).
    pub fn from_row(row: &DataRow) -> Result<IdentifySystem, ResultError> {
        let c = Self::COMMAND;
        let [id, tli, pos, db] = texts::<4>(row, c)?;
        Ok(IdentifySystem {
            system_id: need(id, c, "systemid")?.to_owned(),
            timeline: u32_of(need(tli, c, "timeline")?, c)?,
            xlog_pos: lsn_of(need(pos, c, "xlogpos")?, c)?,
            dbname: db.map(str::to_owned),
        })
    }

    /// Writes the answer (RowDescription, the row, CommandComplete) as PostgreSQL 16+ does;
    /// then end the query with `query_done`.
    pub fn send<S, P>(&self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        let tli = self.timeline.to_string();
        let pos = self.xlog_pos.to_string();
        send_row(
            conn,
            &[
                text_col("systemid"),
                Column::new("timeline", oid::INT8),
                text_col("xlogpos"),
                text_col("dbname"),
            ],
            &[
                Some(self.system_id.as_bytes()),
                Some(tli.as_bytes()),
                Some(pos.as_bytes()),
                self.dbname.as_deref().map(str::as_bytes),
            ],
            Self::COMMAND,
        )
    }
}

/// The row CREATE_REPLICATION_SLOT answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSlot {
    /// The slot's name.
    pub slot_name: String,
    /// Where the slot became consistent: streaming from here misses nothing after it
    /// (`0/0` for a physical slot without RESERVE_WAL).
    pub consistent_point: Lsn,
    /// The exported snapshot's name, with `SNAPSHOT 'export'`.
    pub snapshot_name: Option<String>,
    /// The output plugin of a logical slot.
    pub output_plugin: Option<String>,
}

impl CreatedSlot {
    const COMMAND: &'static str = "CREATE_REPLICATION_SLOT";

    /// Reads the result row.
    pub fn from_row(row: &DataRow) -> Result<CreatedSlot, ResultError> {
        let c = Self::COMMAND;
        let [name, point, snap, plugin] = texts::<4>(row, c)?;
        Ok(CreatedSlot {
            slot_name: need(name, c, "slot_name")?.to_owned(),
            consistent_point: lsn_of(need(point, c, "consistent_point")?, c)?,
            snapshot_name: snap.map(str::to_owned),
            output_plugin: plugin.map(str::to_owned),
        })
    }

    /// Writes the answer (RowDescription, the row, CommandComplete); then end the query with
    /// `query_done`.
    pub fn send<S, P>(&self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        let point = self.consistent_point.to_string();
        send_row(
            conn,
            &[
                text_col("slot_name"),
                text_col("consistent_point"),
                text_col("snapshot_name"),
                text_col("output_plugin"),
            ],
            &[
                Some(self.slot_name.as_bytes()),
                Some(point.as_bytes()),
                self.snapshot_name.as_deref().map(str::as_bytes),
                self.output_plugin.as_deref().map(str::as_bytes),
            ],
            Self::COMMAND,
        )
    }
}

/// The row READ_REPLICATION_SLOT answers (every field NULL when the slot does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReplicationSlot {
    /// `physical` (logical slots are refused with 0A000), or `None` for no such slot.
    pub slot_type: Option<String>,
    /// The slot's restart position.
    pub restart_lsn: Option<Lsn>,
    /// The timeline of `restart_lsn`.
    pub restart_tli: Option<u32>,
}

impl ReadReplicationSlot {
    const COMMAND: &'static str = "READ_REPLICATION_SLOT";

    /// Reads the result row.
    pub fn from_row(row: &DataRow) -> Result<ReadReplicationSlot, ResultError> {
        let c = Self::COMMAND;
        let [kind, lsn, tli] = texts::<3>(row, c)?;
        Ok(ReadReplicationSlot {
            slot_type: kind.map(str::to_owned),
            restart_lsn: lsn.map(|v| lsn_of(v, c)).transpose()?,
            restart_tli: tli.map(|v| u32_of(v, c)).transpose()?,
        })
    }

    /// Writes the answer (RowDescription, the row, CommandComplete); then end the query with
    /// `query_done`.
    pub fn send<S, P>(&self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        let lsn = self.restart_lsn.map(|l| l.to_string());
        let tli = self.restart_tli.map(|t| t.to_string());
        send_row(
            conn,
            &[
                text_col("slot_type"),
                text_col("restart_lsn"),
                Column::new("restart_tli", oid::INT8),
            ],
            &[
                self.slot_type.as_deref().map(str::as_bytes),
                lsn.as_deref().map(str::as_bytes),
                tli.as_deref().map(str::as_bytes),
            ],
            Self::COMMAND,
        )
    }
}

/// The row TIMELINE_HISTORY answers: a timeline history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineHistory {
    /// The file's name, e.g. `00000002.history`.
    pub filename: String,
    /// The file's content.
    pub content: Vec<u8>,
}

impl TimelineHistory {
    const COMMAND: &'static str = "TIMELINE_HISTORY";

    /// The column types PostgreSQL 15 and 18 announce, and [`send`](Self::send) writes:
    /// `filename` and `content` both text (the documentation says bytea; the servers send the
    /// file's bytes as a text column).
    pub const COLUMN_TYPES: [u32; 2] = [oid::TEXT, oid::TEXT];

    /// Reads the result row.
    pub fn from_row(row: &DataRow) -> Result<TimelineHistory, ResultError> {
        let c = Self::COMMAND;
        let err = |detail: &str| ResultError {
            command: c,
            detail: detail.to_owned(),
        };
        if row.len() != 2 {
            return Err(err("expected 2 columns"));
        }
        let mut values = row.values();
        let name = values
            .next()
            .flatten()
            .ok_or_else(|| err("filename is NULL"))?;
        let content = values
            .next()
            .flatten()
            .ok_or_else(|| err("content is NULL"))?;
        Ok(TimelineHistory {
            filename: std::str::from_utf8(name)
                .map_err(|_| err("filename is not UTF-8"))?
                .to_owned(),
            content: content.to_vec(),
        })
    }

    /// Writes the answer (RowDescription, the row, CommandComplete); then end the query with
    /// `query_done`.
    pub fn send<S, P>(&self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        send_row(
            conn,
            &[
                Column::new("filename", Self::COLUMN_TYPES[0]),
                Column::new("content", Self::COLUMN_TYPES[1]),
            ],
            &[Some(self.filename.as_bytes()), Some(&self.content)],
            Self::COMMAND,
        )
    }
}

/// The row a physical START_REPLICATION answers after the stream ends because the timeline
/// did: where the next timeline starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineSwitch {
    /// The next timeline.
    pub next_timeline: u32,
    /// Where it starts.
    pub start: Lsn,
}

impl TimelineSwitch {
    const COMMAND: &'static str = "START_REPLICATION";

    /// Reads the result row.
    pub fn from_row(row: &DataRow) -> Result<TimelineSwitch, ResultError> {
        let c = Self::COMMAND;
        let [tli, pos] = texts::<2>(row, c)?;
        Ok(TimelineSwitch {
            next_timeline: u32_of(need(tli, c, "next_tli")?, c)?,
            start: lsn_of(need(pos, c, "next_tli_startpos")?, c)?,
        })
    }

    /// Writes the row and `START_STREAMING`'s tag after the stream's CopyDone; then end
    /// the query with `query_done`.
    pub fn send<S, P>(&self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        let tli = self.next_timeline.to_string();
        let pos = self.start.to_string();
        send_row(
            conn,
            &[
                Column::new("next_tli", oid::INT8),
                text_col("next_tli_startpos"),
            ],
            &[Some(tli.as_bytes()), Some(pos.as_bytes())],
            "START_STREAMING",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ReplicationCommand {
        ReplicationCommand::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .unwrap_or_else(|| panic!("{s}: not a command"))
    }

    #[test]
    fn commands_parse_and_print() {
        let cases: Vec<(&str, ReplicationCommand, &str)> = vec![
            (
                "identify_system;",
                ReplicationCommand::IdentifySystem,
                "IDENTIFY_SYSTEM",
            ),
            (
                "SHOW wal_segment_size",
                ReplicationCommand::Show {
                    name: "wal_segment_size".into(),
                },
                "SHOW \"wal_segment_size\"",
            ),
            (
                "TIMELINE_HISTORY 2",
                ReplicationCommand::TimelineHistory { timeline: 2 },
                "TIMELINE_HISTORY 2",
            ),
            (
                "CREATE_REPLICATION_SLOT \"S1\" TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing', TWO_PHASE)",
                ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
                    slot: "S1".into(),
                    temporary: true,
                    kind: SlotKind::Logical {
                        plugin: "pgoutput".into(),
                    },
                    snapshot: Some(SnapshotAction::Nothing),
                    two_phase: true,
                    reserve_wal: false,
                    failover: false,
                }),
                "CREATE_REPLICATION_SLOT \"S1\" TEMPORARY LOGICAL \"pgoutput\" (SNAPSHOT 'nothing', TWO_PHASE)",
            ),
            (
                "CREATE_REPLICATION_SLOT s LOGICAL test_decoding NOEXPORT_SNAPSHOT",
                ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
                    snapshot: Some(SnapshotAction::Nothing),
                    ..CreateReplicationSlot::logical("s", "test_decoding")
                }),
                "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"test_decoding\" (SNAPSHOT 'nothing')",
            ),
            (
                "CREATE_REPLICATION_SLOT p PHYSICAL RESERVE_WAL",
                ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
                    reserve_wal: true,
                    ..CreateReplicationSlot::physical("p")
                }),
                "CREATE_REPLICATION_SLOT \"p\" PHYSICAL (RESERVE_WAL)",
            ),
            (
                "READ_REPLICATION_SLOT p",
                ReplicationCommand::ReadReplicationSlot { slot: "p".into() },
                "READ_REPLICATION_SLOT \"p\"",
            ),
            (
                "DROP_REPLICATION_SLOT \"a\"\"b\" WAIT",
                ReplicationCommand::DropReplicationSlot {
                    slot: "a\"b".into(),
                    wait: true,
                },
                "DROP_REPLICATION_SLOT \"a\"\"b\" WAIT",
            ),
            (
                "START_REPLICATION SLOT \"s\" LOGICAL 16/b374d848 (\"proto_version\" '4', \"publication_names\" '\"p\"', binary)",
                ReplicationCommand::StartReplication(StartReplication {
                    slot: Some("s".into()),
                    start: Lsn(0x16_B374_D848),
                    kind: StartKind::Logical {
                        options: vec![
                            ("proto_version".into(), Some("4".into())),
                            ("publication_names".into(), Some("\"p\"".into())),
                            ("binary".into(), None),
                        ],
                    },
                }),
                "START_REPLICATION SLOT \"s\" LOGICAL 16/B374D848 (\"proto_version\" '4', \"publication_names\" '\"p\"', \"binary\")",
            ),
            (
                "START_REPLICATION 0/1 TIMELINE 3",
                ReplicationCommand::StartReplication(StartReplication {
                    slot: None,
                    start: Lsn(1),
                    kind: StartKind::Physical { timeline: Some(3) },
                }),
                "START_REPLICATION PHYSICAL 0/1 TIMELINE 3",
            ),
            (
                "BASE_BACKUP (LABEL 'x', PROGRESS)",
                ReplicationCommand::BaseBackup {
                    options: vec![
                        ("label".into(), Some("x".into())),
                        ("progress".into(), None),
                    ],
                },
                "BASE_BACKUP (\"label\" 'x', \"progress\")",
            ),
            (
                "ALTER_REPLICATION_SLOT s (FAILOVER false)",
                ReplicationCommand::AlterReplicationSlot {
                    slot: "s".into(),
                    options: vec![("failover".into(), Some("false".into()))],
                },
                "ALTER_REPLICATION_SLOT \"s\" (\"failover\" 'false')",
            ),
        ];
        for (text, cmd, printed) in cases {
            assert_eq!(parse(text), cmd, "{text}");
            assert_eq!(cmd.to_string(), printed);
            assert_eq!(parse(printed), cmd, "{printed}");
        }
    }

    #[test]
    fn sql_is_not_a_command() {
        for sql in [
            "SELECT 1",
            "select pg_catalog.set_config('search_path', '', false);",
            "",
            "  ",
            "showx",
        ] {
            assert_eq!(ReplicationCommand::parse(sql), Ok(None), "{sql}");
        }
    }

    #[test]
    fn bad_commands_are_42601() {
        for bad in [
            "IDENTIFY_SYSTEM x",
            "START_REPLICATION SLOT s LOGICAL",
            "START_REPLICATION LOGICAL 0/0",
            "START_REPLICATION SLOT s LOGICAL 0/0 (\"a\" 'b'",
            "START_REPLICATION 123456789/0",
            "CREATE_REPLICATION_SLOT s LOGICAL",
            "CREATE_REPLICATION_SLOT s PHYSICAL (SNAPSHOT 'export')",
            "CREATE_REPLICATION_SLOT s LOGICAL p (TWO_PHASE, TWO_PHASE)",
            "DROP_REPLICATION_SLOT 's",
            "TIMELINE_HISTORY 0",
            "TIMELINE_HISTORY 99999999999",
            "UPLOAD_MANIFEST",
            "SHOW",
            "READ_REPLICATION_SLOT s ! x",
        ] {
            let e = ReplicationCommand::parse(bad).expect_err(bad);
            assert_eq!(e.sql_state(), SqlState::SYNTAX_ERROR, "{bad}");
        }
        for bad in [
            "CREATE_REPLICATION_SLOT s LOGICAL p (SNAPSHOT 'later')",
            "CREATE_REPLICATION_SLOT s LOGICAL p (TWO_PHASE 'maybe')",
        ] {
            let e = ReplicationCommand::parse(bad).expect_err(bad);
            assert_eq!(e.sql_state(), SqlState::INVALID_PARAMETER_VALUE, "{bad}");
        }
        // Keywords and empty quoted names are names (PostgreSQL 18 accepts both).
        assert!(matches!(
            parse("CREATE_REPLICATION_SLOT slot TEMPORARY LOGICAL pgoutput"),
            ReplicationCommand::CreateReplicationSlot(c) if c.slot == "slot" && c.temporary
        ));
        assert_eq!(
            parse("DROP_REPLICATION_SLOT \"\""),
            ReplicationCommand::DropReplicationSlot {
                slot: String::new(),
                wait: false
            }
        );
    }

    #[test]
    fn result_rows_read() {
        let row = DataRow::new(&[
            Some(b"7710976874390664183"),
            Some(b"1"),
            Some(b"0/15411F0"),
            None,
        ])
        .unwrap();
        assert_eq!(
            IdentifySystem::from_row(&row).unwrap(),
            IdentifySystem {
                system_id: "7710976874390664183".into(),
                timeline: 1,
                xlog_pos: Lsn(0x15411F0),
                dbname: None
            }
        );
        let row = DataRow::new(&[Some(b"s"), Some(b"0/1541228"), None, Some(b"pgoutput")]).unwrap();
        assert_eq!(
            CreatedSlot::from_row(&row).unwrap().consistent_point,
            Lsn(0x1541228)
        );
        let row = DataRow::new(&[None, None, None]).unwrap();
        assert_eq!(
            ReadReplicationSlot::from_row(&row).unwrap(),
            ReadReplicationSlot {
                slot_type: None,
                restart_lsn: None,
                restart_tli: None
            }
        );
        let bad = DataRow::new(&[Some(b"s"), Some(b"nope"), None, None]).unwrap();
        let e = CreatedSlot::from_row(&bad).unwrap_err();
        assert_eq!(e.sql_state(), SqlState::PROTOCOL_VIOLATION);
        let short = DataRow::new(&[Some(b"s")]).unwrap();
        assert!(IdentifySystem::from_row(&short).is_err());
    }
}
