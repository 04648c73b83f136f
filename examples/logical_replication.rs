//! A logical replication consumer on `std::net`: it streams the changes of a publication from
//! PostgreSQL (or any server speaking the replication protocol) through the `pgoutput` plugin,
//! prints one line per change, and acknowledges what it has printed with standby status
//! updates, so that the slot's confirmed position advances.
//!
//! ```text
//! cargo run --example logical_replication -- "postgres://repl@localhost:5432/db" \
//!     --slot my_slot --publication my_pub --create-slot --proto-version 4
//! ```
//!
//! Options: `--create-slot` creates the slot first (`--temporary` makes it a temporary one,
//! dropped when the connection ends); `--proto-version N` (1 to 4, default 1) picks pgoutput's
//! protocol; `--streaming on|off|parallel` (protocol 2+; default `on` from protocol 2) streams
//! large transactions before they commit; `--two-phase` (protocol 3+) decodes prepared
//! transactions at PREPARE (the slot is created with TWO_PHASE); `--messages` includes
//! `pg_logical_emit_message` messages; `--binary` asks for values in binary; `--start LSN`
//! starts elsewhere than the slot's confirmed position; `--status-interval SECS` (default 10)
//! is the longest time between status updates.
//!
//! Output, one line per message: `BEGIN`, `COMMIT`, `INSERT schema.table: col='value' ...`,
//! `UPDATE schema.table (old key: ...): ...`, `DELETE schema.table (key: ...)`,
//! `TRUNCATE schema.table, ...`, `MESSAGE ...`, the `STREAM ...` and `... PREPARE ...` lines of
//! streamed and two-phase transactions. Details that change from run to run (transaction ids,
//! LSNs) come last, in brackets. NULL prints as `NULL`, an unchanged TOASTed value as
//! `(unchanged)`, a binary value as `\x` and hex. Progress goes to stderr.

use std::error::Error;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use pgproto::client::{ClientError, Connection, Event, Response};
use pgproto::replication::pgoutput::{
    Decoder, Message, OldTuple, RelationCache, TupleData, TupleValue,
};
use pgproto::replication::{
    CreateReplicationSlot, CreatedSlot, IdentifySystem, Lsn, PgTimestamp, PrimaryMessage,
    ReplicationCommand, StandbyStatusUpdate, StartReplication,
};

#[path = "common/client_io.rs"]
mod client_io;

use client_io::{Stream, closed, connect, describe, login, next};

struct Args {
    conninfo: String,
    slot: String,
    publication: String,
    create_slot: bool,
    temporary: bool,
    proto_version: u32,
    streaming: Option<String>,
    two_phase: bool,
    messages: bool,
    binary: bool,
    start: Lsn,
    status_interval: Duration,
}

const USAGE: &str = "usage: logical_replication postgres://USER@HOST:PORT/DB --slot NAME \
    --publication NAME [--create-slot] [--temporary] [--proto-version N] \
    [--streaming on|off|parallel] [--two-phase] [--messages] [--binary] [--start LSN] \
    [--status-interval SECS]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        conninfo: String::new(),
        slot: String::new(),
        publication: String::new(),
        create_slot: false,
        temporary: false,
        proto_version: 1,
        streaming: None,
        two_phase: false,
        messages: false,
        binary: false,
        start: Lsn::INVALID,
        status_interval: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--slot" => args.slot = value("--slot")?,
            "--publication" => args.publication = value("--publication")?,
            "--create-slot" => args.create_slot = true,
            "--temporary" => args.temporary = true,
            "--proto-version" => {
                args.proto_version = value("--proto-version")?
                    .parse()
                    .map_err(|_| "--proto-version takes a number")?
            }
            "--streaming" => args.streaming = Some(value("--streaming")?),
            "--two-phase" => args.two_phase = true,
            "--messages" => args.messages = true,
            "--binary" => args.binary = true,
            "--start" => {
                args.start = value("--start")?
                    .parse()
                    .map_err(|e| format!("--start: {e}"))?
            }
            "--status-interval" => {
                let secs: f64 = value("--status-interval")?
                    .parse()
                    .map_err(|_| "--status-interval takes seconds")?;
                args.status_interval = Duration::try_from_secs_f64(secs)
                    .map_err(|_| "--status-interval takes seconds")?;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other if args.conninfo.is_empty() => args.conninfo = other.to_string(),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    if args.conninfo.is_empty() || args.slot.is_empty() || args.publication.is_empty() {
        return Err(USAGE.into());
    }
    if args.streaming.is_none() && args.proto_version >= 2 {
        args.streaming = Some("on".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logical_replication: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The session: log in, create the slot if asked, start streaming and print until the server
/// ends the stream.
fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let (socket, host, mut config) = connect(&args.conninfo)?;
    config.replication = Some("database".into());
    let stream = Stream::Plain(socket);
    let mut conn = Connection::new(config, Instant::now());
    let mut stream = login(&mut conn, stream, &host)?;

    let system = command(&mut conn, &mut stream, &ReplicationCommand::IdentifySystem)?;
    let system = IdentifySystem::from_row(system.as_ref().ok_or("IDENTIFY_SYSTEM: no row")?)?;
    eprintln!(
        "system {} timeline {} at {} database {}",
        system.system_id,
        system.timeline,
        system.xlog_pos,
        system.dbname.as_deref().unwrap_or("(none)")
    );

    if args.create_slot {
        let mut create = CreateReplicationSlot::logical(&args.slot, "pgoutput");
        create.temporary = args.temporary;
        create.two_phase = args.two_phase;
        let row = command(
            &mut conn,
            &mut stream,
            &ReplicationCommand::CreateReplicationSlot(create),
        )?;
        let created =
            CreatedSlot::from_row(row.as_ref().ok_or("CREATE_REPLICATION_SLOT: no row")?)?;
        eprintln!(
            "created slot {} at {}",
            created.slot_name, created.consistent_point
        );
    }

    let version = args.proto_version.to_string();
    let publications = format!("\"{}\"", args.publication.replace('"', "\"\""));
    let mut plugin_options = vec![
        ("proto_version", version.as_str()),
        ("publication_names", publications.as_str()),
    ];
    if let Some(s) = &args.streaming {
        plugin_options.push(("streaming", s.as_str()));
    }
    if args.two_phase {
        plugin_options.push(("two_phase", "on"));
    }
    if args.messages {
        plugin_options.push(("messages", "on"));
    }
    if args.binary {
        plugin_options.push(("binary", "on"));
    }
    let start = StartReplication::logical(&args.slot, args.start, plugin_options);
    conn.query(&ReplicationCommand::StartReplication(start).to_string())?;
    loop {
        match next(&mut conn, &mut stream)? {
            Event::Response {
                response: Response::CopyBoth(_),
                ..
            } => break,
            Event::Response {
                response: Response::Error(e),
                ..
            } => return Err(describe(&e).into()),
            Event::Closed(e) => return Err(closed(e)),
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            _ => {}
        }
    }
    eprintln!(
        "streaming from slot {} (pgoutput protocol {})",
        args.slot, args.proto_version
    );
    Consumer::new(args)?.stream(&mut conn, &mut stream)
}

/// Runs one replication command and returns its row, if it had one.
fn command(
    conn: &mut Connection,
    stream: &mut Stream,
    cmd: &ReplicationCommand,
) -> Result<Option<pgproto::message::DataRow>, Box<dyn Error>> {
    conn.query(&cmd.to_string())?;
    let mut row = None;
    let mut error = None;
    loop {
        match next(conn, stream)? {
            Event::Response { response, .. } => match response {
                Response::DataRow(r) => row = Some(r),
                Response::Error(e) => error = Some(describe(&e)),
                Response::Ready(_) => break,
                _ => {}
            },
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            Event::Closed(e) => return Err(closed(e)),
            _ => {}
        }
    }
    match error {
        Some(e) => Err(format!("{cmd}: {e}").into()),
        None => Ok(row),
    }
}

/// The streaming half: decodes, prints, acknowledges.
struct Consumer {
    decoder: Decoder,
    relations: RelationCache,
    out: io::LineWriter<io::Stdout>,
    /// Everything up to here is printed and may be forgotten by the server.
    confirmed: Lsn,
    /// The confirmed position last reported.
    reported: Lsn,
    /// Inside a transaction (Begin or BeginPrepare seen, its end not yet).
    in_transaction: bool,
    status_interval: Duration,
    last_status: Instant,
    line: String,
    scratch: BytesMut,
}

impl Consumer {
    fn new(args: &Args) -> Result<Consumer, Box<dyn Error>> {
        Ok(Consumer {
            decoder: Decoder::new(args.proto_version)?,
            relations: RelationCache::new(),
            out: io::LineWriter::new(io::stdout()),
            confirmed: args.start,
            reported: Lsn::INVALID,
            in_transaction: false,
            status_interval: args.status_interval,
            last_status: Instant::now(),
            line: String::new(),
            scratch: BytesMut::new(),
        })
    }

    fn stream(mut self, conn: &mut Connection, stream: &mut Stream) -> Result<(), Box<dyn Error>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // Due a status update?
            if self.last_status.elapsed() >= self.status_interval || self.confirmed > self.reported
            {
                self.send_status(conn, false)?;
            }
            while let Some(bytes) = conn.poll_transmit() {
                stream.write_all(&bytes)?;
            }
            stream.flush()?;
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::Response { response, .. } => match response {
                        Response::CopyData(data) => self.on_copy_data(conn, data)?,
                        // The server ended the stream: end ours too.
                        Response::CopyDone => conn.copy_done()?,
                        Response::Error(e) => return Err(describe(&e).into()),
                        Response::Ready(_) => return Ok(()),
                        _ => {}
                    },
                    Event::Notice(n) => eprintln!("{}", describe(&n)),
                    Event::Closed(None) => return Ok(()),
                    Event::Closed(Some(ClientError::Server(e))) => {
                        return Err(describe(&e).into());
                    }
                    Event::Closed(e) => return Err(closed(e)),
                    _ => {}
                }
            }
            if conn.poll_event().is_none() && conn.is_closed() {
                return Ok(());
            }
            while let Some(bytes) = conn.poll_transmit() {
                stream.write_all(&bytes)?;
            }
            stream.flush()?;
            // Wake at least once per status interval (and once a second, to report promptly).
            let wait = self
                .status_interval
                .saturating_sub(self.last_status.elapsed())
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            stream.set_read_timeout(Some(wait))?;
            match std::io::Read::read(stream, &mut buf) {
                Ok(0) => conn.handle_eof(Instant::now()),
                Ok(n) => conn.handle_input(Instant::now(), &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    conn.handle_eof(Instant::now())
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn send_status(&mut self, conn: &mut Connection, reply: bool) -> Result<(), Box<dyn Error>> {
        let now = PgTimestamp::from_system_time(SystemTime::now()).unwrap_or_default();
        let mut status = StandbyStatusUpdate::confirmed(self.confirmed, now);
        status.reply_requested = reply;
        self.scratch.clear();
        status.encode(&mut self.scratch);
        conn.copy_data(&self.scratch)?;
        if self.confirmed > self.reported {
            eprintln!("confirmed {}", self.confirmed);
        }
        self.reported = self.confirmed;
        self.last_status = Instant::now();
        Ok(())
    }

    fn on_copy_data(
        &mut self,
        conn: &mut Connection,
        data: bytes::Bytes,
    ) -> Result<(), Box<dyn Error>> {
        match PrimaryMessage::decode(data)? {
            PrimaryMessage::XLogData(x) => {
                let message = self.decoder.decode(&x.data)?;
                self.relations.handle(&message)?;
                self.print(&message)?;
            }
            PrimaryMessage::Keepalive(k) => {
                // Nothing is pending outside a transaction: everything up to the server's
                // WAL end is processed.
                if !self.in_transaction && !self.decoder.in_stream() && k.wal_end > self.confirmed {
                    self.confirmed = k.wal_end;
                }
                if k.reply_requested {
                    self.send_status(conn, false)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn print(&mut self, message: &Message<'_>) -> Result<(), Box<dyn Error>> {
        use std::fmt::Write as _;
        let line = &mut self.line;
        line.clear();
        let mut done_at = None;
        match message {
            Message::Begin(b) => {
                self.in_transaction = true;
                write!(line, "BEGIN [xid {}, final LSN {}]", b.xid, b.final_lsn)?;
            }
            Message::Commit(c) => {
                self.in_transaction = false;
                done_at = Some(c.end_lsn);
                write!(line, "COMMIT [end LSN {}]", c.end_lsn)?;
            }
            Message::Origin(o) => write!(line, "ORIGIN {} [LSN {}]", o.name, o.commit_lsn)?,
            Message::Relation(_) | Message::Type(_) => return Ok(()),
            Message::Insert(i) => {
                line.push_str("INSERT ");
                name(line, &self.relations, i.relation)?;
                line.push_str(": ");
                values(line, &self.relations, i.relation, &i.new)?;
                xid(line, i.xid);
            }
            Message::Update(u) => {
                line.push_str("UPDATE ");
                name(line, &self.relations, u.relation)?;
                if let Some(old) = &u.old {
                    line.push_str(match old {
                        OldTuple::Key(_) => " (old key: ",
                        OldTuple::Full(_) => " (old row: ",
                    });
                    values(line, &self.relations, u.relation, old.tuple())?;
                    line.push(')');
                }
                line.push_str(": ");
                values(line, &self.relations, u.relation, &u.new)?;
                xid(line, u.xid);
            }
            Message::Delete(d) => {
                line.push_str("DELETE ");
                name(line, &self.relations, d.relation)?;
                line.push_str(match d.old {
                    OldTuple::Key(_) => " (key: ",
                    OldTuple::Full(_) => " (old row: ",
                });
                values(line, &self.relations, d.relation, d.old.tuple())?;
                line.push(')');
                xid(line, d.xid);
            }
            Message::Truncate(t) => {
                line.push_str("TRUNCATE ");
                for (i, id) in t.relations.iter().enumerate() {
                    if i > 0 {
                        line.push_str(", ");
                    }
                    name(line, &self.relations, id)?;
                }
                if t.cascade {
                    line.push_str(" CASCADE");
                }
                if t.restart_identity {
                    line.push_str(" RESTART IDENTITY");
                }
                xid(line, t.xid);
            }
            Message::LogicalMessage(m) => {
                write!(
                    line,
                    "MESSAGE {} prefix '{}': ",
                    if m.transactional {
                        "transactional"
                    } else {
                        "non-transactional"
                    },
                    m.prefix,
                )?;
                push_quoted(line, m.content);
                write!(line, " [LSN {}", m.lsn)?;
                if let Some(x) = m.xid {
                    write!(line, ", xid {x}")?;
                }
                line.push(']');
            }
            Message::StreamStart(s) => write!(
                line,
                "STREAM START [xid {}{}]",
                s.xid,
                if s.first_segment { ", first" } else { "" }
            )?,
            Message::StreamStop => line.push_str("STREAM STOP"),
            Message::StreamCommit(c) => {
                done_at = Some(c.end_lsn);
                write!(line, "STREAM COMMIT [xid {}, end LSN {}]", c.xid, c.end_lsn)?;
            }
            Message::StreamAbort(a) => {
                if a.xid == a.subxid {
                    write!(line, "STREAM ABORT [xid {}", a.xid)?;
                } else {
                    write!(
                        line,
                        "STREAM ABORT SUBTRANSACTION [xid {}, subxid {}",
                        a.xid, a.subxid
                    )?;
                }
                if let Some(info) = a.abort {
                    write!(line, ", abort LSN {}", info.lsn)?;
                }
                line.push(']');
            }
            Message::BeginPrepare(b) => {
                self.in_transaction = true;
                write!(line, "BEGIN PREPARE '{}' [xid {}]", b.gid, b.xid)?;
            }
            Message::Prepare(p) => {
                self.in_transaction = false;
                done_at = Some(p.end_lsn);
                write!(
                    line,
                    "PREPARE '{}' [xid {}, end LSN {}]",
                    p.gid, p.xid, p.end_lsn
                )?;
            }
            Message::CommitPrepared(c) => {
                done_at = Some(c.end_lsn);
                write!(line, "COMMIT PREPARED '{}' [end LSN {}]", c.gid, c.end_lsn)?;
            }
            Message::RollbackPrepared(r) => {
                done_at = Some(r.rollback_end_lsn);
                write!(
                    line,
                    "ROLLBACK PREPARED '{}' [end LSN {}]",
                    r.gid, r.rollback_end_lsn
                )?;
            }
            Message::StreamPrepare(p) => {
                done_at = Some(p.end_lsn);
                write!(
                    line,
                    "STREAM PREPARE '{}' [xid {}, end LSN {}]",
                    p.gid, p.xid, p.end_lsn
                )?;
            }
            _ => write!(line, "message {:?}", char::from(message.tag()))?,
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        // Printed (the line writer flushed it): the server may forget it.
        if let Some(lsn) = done_at {
            self.confirmed = self.confirmed.max(lsn);
        }
        Ok(())
    }
}

/// Appends `schema.table` (`pg_catalog` for the empty schema pgoutput sends for it).
fn name(
    line: &mut String,
    relations: &RelationCache,
    id: u32,
) -> Result<(), pgproto::replication::DecodeError> {
    let r = relations.get(id)?;
    line.push_str(if r.namespace.is_empty() {
        "pg_catalog"
    } else {
        &r.namespace
    });
    line.push('.');
    line.push_str(&r.name);
    Ok(())
}

fn xid(line: &mut String, xid: Option<u32>) {
    use std::fmt::Write as _;
    if let Some(x) = xid {
        let _ = write!(line, " [xid {x}]");
    }
}

/// `col='value' col=NULL ...`, with the relation's column names.
fn values(
    line: &mut String,
    relations: &RelationCache,
    id: u32,
    tuple: &TupleData<'_>,
) -> Result<(), pgproto::replication::DecodeError> {
    use std::fmt::Write as _;
    let relation = relations.get(id)?;
    for (i, (column, value)) in relation.columns.iter().zip(tuple.iter()).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&column.name);
        line.push('=');
        match value {
            TupleValue::Null => line.push_str("NULL"),
            TupleValue::Unchanged => line.push_str("(unchanged)"),
            TupleValue::Text(t) => push_quoted(line, t),
            TupleValue::Binary(b) => {
                line.push_str("\\x");
                for byte in b {
                    let _ = write!(line, "{byte:02x}");
                }
            }
        }
    }
    Ok(())
}

/// Appends `'text'` with quotes doubled (invalid UTF-8 replaced).
fn push_quoted(line: &mut String, bytes: &[u8]) {
    line.push('\'');
    for part in bytes.utf8_chunks() {
        for (i, piece) in part.valid().split('\'').enumerate() {
            if i > 0 {
                line.push_str("''");
            }
            line.push_str(piece);
        }
        if !part.invalid().is_empty() {
            line.push(char::REPLACEMENT_CHARACTER);
        }
    }
    line.push('\'');
}
