//! A logical replication server: it serves a synthetic change feed on a table
//! `public.items (id int4 primary key, name text)` to logical replication clients, as a
//! PostgreSQL walsender would, through the `test_decoding` or `pgoutput` output plugin. One
//! thread per connection, on `pgproto::server::Connection` and `pgproto::replication`.
//!
//! ```text
//! cargo run --example replication_server -- --listen 127.0.0.1:5433 --interval-ms 1000
//! pg_recvlogical -h 127.0.0.1 -p 5433 -U me -d postgres --slot s --create-slot -P test_decoding
//! pg_recvlogical -h 127.0.0.1 -p 5433 -U me -d postgres --slot s --start -f -
//!     BEGIN 1001
//!     table public.items: INSERT: id[integer]:1 name[text]:'one'
//!     COMMIT 1001
//!     BEGIN 1002
//!     table public.items: INSERT: id[integer]:2 name[text]:'two'
//!     table public.items: UPDATE: id[integer]:1 name[text]:'one''s twin'
//!     COMMIT 1002
//!     ...
//! pg_recvlogical -h 127.0.0.1 -p 5433 -U me -d postgres --slot s --drop-slot
//! cargo run --example logical_replication -- "postgres://me@127.0.0.1:5433/postgres" \
//!     --slot p --publication any --create-slot --proto-version 4
//! ```
//!
//! Options: the shared server options (`--listen`, `--auth`, `--user`/`--password`,
//! `--tls-cert`/`--tls-key`, `--auth-timeout`), `--transactions N` (how many transactions
//! the feed has; no end by default) and `--interval-ms MS` (one every MS milliseconds, 200 by
//! default; the first is there at once). What each transaction does, its xid and its WAL
//! positions are fixed (see `replication_server/feed.rs`); every new slot starts at the
//! beginning of the feed, so every consumer sees the same changes at the same positions.
//!
//! Served on `replication=database` connections: IDENTIFY_SYSTEM, SHOW, CREATE_, ALTER_,
//! READ_ and DROP_REPLICATION_SLOT (slots shared by every connection; temporary ones dropped
//! when their session ends or one of its commands fails), START_REPLICATION SLOT s LOGICAL
//! with the plugin's options (test_decoding's `include-xids`, `include-timestamp`, ...;
//! pgoutput's `proto_version` 1 to 4, `publication_names` (any name publishes the table),
//! `binary`, `streaming`, ...), standby status updates that move the slot's confirmed
//! position (`slot NAME confirmed up to LSN` on stderr), keepalives, and CopyDone from the
//! client ending the stream as PostgreSQL ends it. Refusals are PostgreSQL 18's errors, with
//! its SQLSTATEs. `replication=true` (physical) connections get everything but
//! START_REPLICATION, which is refused with 0A000. SQL, on normal or `replication=database`
//! connections, is only what clients send before replicating: `SELECT 1` and
//! `SELECT pg_catalog.set_config('search_path', '', false)`; the rest is refused with 0A000.

#[path = "common/driver.rs"]
mod driver;
#[path = "replication_server/feed.rs"]
mod feed;
#[path = "common/options.rs"]
mod options;
#[path = "replication_server/plugins.rs"]
mod plugins;
#[allow(dead_code)] // which settings are reported: nothing here changes one
#[path = "common/settings.rs"]
mod settings;
#[path = "replication_server/slots.rs"]
mod slots;
#[path = "replication_server/stream.rs"]
mod stream;

use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pgproto::SqlState;
use pgproto::auth::{OsRandom, RandomSource};
use pgproto::message::{Format, PgStr, TransactionStatus};
use pgproto::replication::{
    CreateReplicationSlot, CreatedSlot, IdentifySystem, Lsn, ReadReplicationSlot,
    ReplicationCommand, SlotKind, SnapshotAction, StandbyMessage, StartKind, StartReplication,
};
use pgproto::server::{
    ApiError, Column, Config, Connection, Event, PgError, Replication, Severity, Startup,
};
use pgproto::types::oid;

use driver::{App, Link, Next};
use feed::{FEED_START, Feed};
use options::{Options, take_flag};
use plugins::Plugin;
use settings::Settings;
use slots::{Kind, MAX_NAME, Slot, Slots, code};
use stream::Stream;

/// The cluster's system identifier, as IDENTIFY_SYSTEM reports it.
const SYSTEM_ID: &str = "7391580000000000001";

/// The only timeline.
const TIMELINE: u32 = 1;

/// How often DROP_REPLICATION_SLOT ... WAIT looks whether the slot is free.
const DROP_POLL: Duration = Duration::from_millis(20);

/// What every connection shares.
struct Server {
    options: Options,
    feed: Feed,
    slots: Mutex<Slots>,
    next_pid: AtomicI32,
    /// Salts the mock SCRAM exchanges of unknown users the same way on every connection.
    mock_secret: [u8; 32],
}

impl Server {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn main() -> io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, value: String| {
        value.parse::<u64>().unwrap_or_else(|_| {
            eprintln!("{flag} takes a number, not {value:?}");
            std::process::exit(2);
        })
    };
    let limit = take_flag(&mut args, "--transactions").map(|v| number("--transactions", v));
    let interval =
        take_flag(&mut args, "--interval-ms").map_or(200, |v| number("--interval-ms", v));
    let options = Options::from_list(args);
    let mut mock_secret = [0; 32];
    let _ = OsRandom.fill(&mut mock_secret);
    let server = Arc::new(Server {
        feed: Feed::new(Duration::from_millis(interval), limit),
        options,
        slots: Mutex::new(Slots::default()),
        next_pid: AtomicI32::new(1000),
        mock_secret,
    });
    let listen = server.options.listen.clone();
    driver::serve_threads(&listen, move |socket| serve(socket, server.clone()))
}

/// Runs one connection to its end.
fn serve(socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    let session = Session::new(server.clone());
    let conn = Connection::new(session.config(), Instant::now());
    driver::run_blocking(socket, Link::new(conn, server.options.tls.clone(), session))
}

/// The application side of one connection.
struct Session {
    server: Arc<Server>,
    /// This session's process id (BackendKeyData; slots record it while in use).
    pid: i32,
    replication: Replication,
    database: String,
    settings: Settings,
    /// START_REPLICATION in progress.
    stream: Option<Stream>,
    /// DROP_REPLICATION_SLOT ... WAIT waiting for this slot to become free.
    dropping: Option<String>,
}

/// A command's outcome: its answer is written (`Ok`), or the error to send.
type Answer = Result<(), PgError>;

impl Session {
    fn new(server: Arc<Server>) -> Session {
        let pid = server.next_pid.fetch_add(1, Ordering::Relaxed);
        Session {
            server,
            pid,
            replication: Replication::None,
            database: String::new(),
            settings: Settings::new(),
            stream: None,
            dropping: None,
        }
    }

    fn config(&self) -> Config {
        let mut config = Config::default();
        config.process_id = self.pid;
        config.authentication_timeout = self.server.options.auth_timeout;
        config.mock_secret = Some(self.server.mock_secret);
        config
    }

    fn startup(&mut self, conn: &mut Connection, startup: Startup) -> Result<(), ApiError> {
        self.replication = startup.replication;
        self.database = startup.database.to_string_lossy().into_owned();
        for (name, value) in &startup.settings {
            self.settings.set(name, value);
        }
        let user = startup.user.to_string_lossy();
        conn.authenticate(self.server.options.auth_for(&user))
    }

    fn query(&mut self, conn: &mut Connection, sql: &PgStr) -> Result<Next, ApiError> {
        let Ok(text) = sql.to_str() else {
            let e = PgError::new(
                SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            );
            return self.done(conn, Err(e));
        };
        if self.replication == Replication::None {
            let answer = self.sql(conn, text);
            return self.done(conn, answer);
        }
        match ReplicationCommand::parse(text) {
            Err(e) => self.done(conn, Err(PgError::new(e.sql_state(), e.message))),
            Ok(Some(command)) => self.command(conn, command),
            Ok(None) if self.replication == Replication::Physical => {
                let e = PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot execute SQL commands in WAL sender for physical replication",
                );
                self.done(conn, Err(e))
            }
            Ok(None) => {
                let answer = self.sql(conn, text);
                self.done(conn, answer)
            }
        }
    }

    /// Ends a query: its error if it failed (a walsender then drops the session's temporary
    /// slots, as PostgreSQL's does), and ReadyForQuery.
    fn done(&mut self, conn: &mut Connection, answer: Answer) -> Result<Next, ApiError> {
        if let Err(e) = answer {
            conn.error(e)?;
            if self.replication != Replication::None {
                self.cleanup();
            }
        }
        conn.query_done(TransactionStatus::Idle)?;
        Ok(Next::Continue)
    }

    /// Drops this session's temporary slots and releases the ones it streams from.
    fn cleanup(&mut self) {
        for name in self.server.slots().cleanup(self.pid) {
            eprintln!("temporary slot {name} dropped");
        }
    }

    // ----- SQL ---------------------------------------------------------------------------------

    /// The SQL that replication clients send before replicating; the statements of a query
    /// are answered in turn until one fails.
    fn sql(&mut self, conn: &mut Connection, text: &str) -> Answer {
        let statements = split_statements(text);
        if statements.is_empty() {
            return conn.empty_query().map_err(internal);
        }
        for statement in statements {
            let normal = statement
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_lowercase();
            let (column, type_oid, value) = match normal.as_str() {
                "select 1" => ("?column?", oid::INT4, "1"),
                "select pg_catalog.set_config('search_path', '', false)"
                | "select set_config('search_path', '', false)" => {
                    self.settings.set("search_path", "");
                    ("set_config", oid::TEXT, "")
                }
                _ => {
                    return Err(PgError::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!(
                            "this replication server runs no SQL but SELECT 1 and \
                             set_config('search_path', '', false): \"{statement}\""
                        ),
                    ));
                }
            };
            conn.row_description(&[Column::new(column, type_oid)])
                .and_then(|()| conn.data_row([Some(value.as_bytes())]))
                .and_then(|()| conn.command_complete("SELECT 1"))
                .map_err(internal)?;
        }
        Ok(())
    }

    // ----- replication commands -----------------------------------------------------------------

    fn command(
        &mut self,
        conn: &mut Connection,
        command: ReplicationCommand,
    ) -> Result<Next, ApiError> {
        let answer = match command {
            ReplicationCommand::IdentifySystem => IdentifySystem {
                system_id: SYSTEM_ID.into(),
                timeline: TIMELINE,
                xlog_pos: self.server.feed.end(Instant::now()),
                dbname: (self.replication == Replication::Logical).then(|| self.database.clone()),
            }
            .send(conn)
            .map_err(internal),
            ReplicationCommand::Show { name } => self.show(conn, &name),
            ReplicationCommand::TimelineHistory { timeline } => Err(PgError::new(
                code("58P01"),
                format!(
                    "could not open file \"pg_wal/{timeline:08X}.history\": No such file or \
                     directory"
                ),
            )),
            ReplicationCommand::CreateReplicationSlot(create) => self.create_slot(conn, create),
            ReplicationCommand::AlterReplicationSlot { slot, options } => {
                self.alter_slot(conn, &slot, &options)
            }
            ReplicationCommand::ReadReplicationSlot { slot } => self.read_slot(conn, &slot),
            ReplicationCommand::DropReplicationSlot { slot, wait } => {
                let slot = self.slot_name(conn, &slot)?;
                return self.drop_slot(conn, slot, wait);
            }
            ReplicationCommand::StartReplication(start) => match self.start(conn, start) {
                Ok(()) => return Ok(Next::Continue), // streaming: no ReadyForQuery yet
                Err(e) => Err(e),
            },
            ReplicationCommand::BaseBackup { .. } => Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "this replication server does not take base backups",
            )),
            other => Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("replication command \"{other}\" is not supported by this server"),
            )),
        };
        self.done(conn, answer)
    }

    /// A slot name as PostgreSQL's scanner reads it: truncated to 63 bytes, with a notice.
    fn slot_name(&mut self, conn: &mut Connection, name: &str) -> Result<String, ApiError> {
        if name.len() <= MAX_NAME {
            return Ok(name.to_string());
        }
        let mut end = MAX_NAME;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let short = &name[..end];
        conn.notice(&PgError {
            severity: Severity::Notice,
            ..PgError::new(
                code("42622"),
                format!("identifier \"{name}\" will be truncated to \"{short}\""),
            )
        })?;
        Ok(short.to_string())
    }

    fn show(&mut self, conn: &mut Connection, name: &str) -> Answer {
        let fixed = match name {
            "wal_segment_size" => Some("16MB"),
            "wal_level" => Some("logical"),
            "max_replication_slots" => Some("10"),
            "max_wal_senders" => Some("10"),
            "wal_sender_timeout" => Some("1min"),
            "data_directory_mode" => Some("0700"),
            "block_size" | "wal_block_size" => Some("8192"),
            "timezone" => Some("UTC"),
            _ => None,
        };
        let value = match fixed {
            Some(v) => v.to_string(),
            None => match self.settings.get(name) {
                Some((_, v)) => v.to_string(),
                None => {
                    return Err(PgError::new(
                        SqlState::UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ));
                }
            },
        };
        conn.row_description(&[Column::new(name, oid::TEXT)])
            .and_then(|()| conn.data_row([Some(value.as_bytes())]))
            .and_then(|()| conn.command_complete("SHOW"))
            .map_err(internal)
    }

    fn create_slot(&mut self, conn: &mut Connection, create: CreateReplicationSlot) -> Answer {
        let name = self.slot_name(conn, &create.slot).map_err(internal)?;
        slots::validate_name(&name)?;
        let now = Instant::now();
        let kind = match &create.kind {
            SlotKind::Logical { plugin } => {
                if self.replication != Replication::Logical {
                    return Err(no_database());
                }
                if create.snapshot == Some(SnapshotAction::Use) {
                    return Err(PgError::new(
                        SqlState::INTERNAL_ERROR,
                        "CREATE_REPLICATION_SLOT ... (SNAPSHOT 'use') must be called inside a \
                         transaction",
                    ));
                }
                Kind::Logical {
                    plugin: plugin.clone(),
                    database: self.database.clone(),
                }
            }
            SlotKind::Physical => Kind::Physical {
                restart: create.reserve_wal.then(|| self.server.feed.end(now)),
            },
        };
        let slot = Slot {
            kind: kind.clone(),
            temporary_for: create.temporary.then_some(self.pid),
            active: create.temporary.then_some(self.pid),
            confirmed: FEED_START,
            two_phase: create.two_phase,
            failover: create.failover,
        };
        let mut all = self.server.slots();
        all.create(&name, slot)?;
        let created = match kind {
            Kind::Logical { plugin, .. } => {
                if !plugins::is_known(&plugin) {
                    // PostgreSQL creates the slot, fails to load the plugin, and drops it.
                    let _ = all.drop_slot(&name, self.pid, false);
                    return Err(plugins::unknown(&plugin));
                }
                CreatedSlot {
                    slot_name: name.clone(),
                    consistent_point: FEED_START,
                    // PostgreSQL exports a snapshot unless told not to; nothing can use it
                    // here, but clients expect a name.
                    snapshot_name: matches!(create.snapshot, None | Some(SnapshotAction::Export))
                        .then(|| format!("{:08X}-00000001-1", self.pid)),
                    output_plugin: Some(plugin),
                }
            }
            Kind::Physical { .. } => CreatedSlot {
                slot_name: name.clone(),
                consistent_point: Lsn::INVALID,
                snapshot_name: None,
                output_plugin: None,
            },
        };
        drop(all);
        eprintln!("slot {name} created");
        created.send(conn).map_err(internal)
    }

    fn alter_slot(
        &mut self,
        conn: &mut Connection,
        slot: &str,
        options: &[(String, Option<String>)],
    ) -> Answer {
        let name = self.slot_name(conn, slot).map_err(internal)?;
        let (mut two_phase, mut failover) = (None, None);
        for (option, value) in options {
            let flag = match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("true" | "on" | "1") => true,
                Some("false" | "off" | "0") => false,
                Some(_) => {
                    return Err(PgError::new(
                        SqlState::SYNTAX_ERROR,
                        format!("{option} requires a Boolean value"),
                    ));
                }
            };
            match option.as_str() {
                "two_phase" => two_phase = Some(flag),
                "failover" => failover = Some(flag),
                other => {
                    return Err(PgError::new(
                        SqlState::INTERNAL_ERROR,
                        format!("unrecognized option: {other}"),
                    ));
                }
            }
        }
        self.server
            .slots()
            .alter(&name, self.pid, two_phase, failover)?;
        conn.command_complete("ALTER_REPLICATION_SLOT")
            .map_err(internal)
    }

    fn read_slot(&mut self, conn: &mut Connection, slot: &str) -> Answer {
        let name = self.slot_name(conn, slot).map_err(internal)?;
        let row = match self.server.slots().get(&name).map(|s| s.kind.clone()) {
            None => ReadReplicationSlot {
                slot_type: None,
                restart_lsn: None,
                restart_tli: None,
            },
            Some(Kind::Logical { .. }) => {
                return Err(PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "cannot use READ_REPLICATION_SLOT with a logical replication slot",
                ));
            }
            Some(Kind::Physical { restart }) => ReadReplicationSlot {
                slot_type: Some("physical".into()),
                restart_lsn: restart,
                restart_tli: restart.map(|_| TIMELINE),
            },
        };
        row.send(conn).map_err(internal)
    }

    /// DROP_REPLICATION_SLOT; with WAIT, a slot in use is dropped once it is free (the driver
    /// resumes the statement every [`DROP_POLL`]).
    fn drop_slot(
        &mut self,
        conn: &mut Connection,
        name: String,
        wait: bool,
    ) -> Result<Next, ApiError> {
        let result = self.server.slots().drop_slot(&name, self.pid, wait);
        match result {
            Ok(true) => {
                eprintln!("slot {name} dropped");
                conn.command_complete("DROP_REPLICATION_SLOT")?;
                self.done(conn, Ok(()))
            }
            Ok(false) => {
                self.dropping = Some(name);
                Ok(Next::Resume(Instant::now() + DROP_POLL))
            }
            Err(e) => self.done(conn, Err(e)),
        }
    }

    /// START_REPLICATION: checks the slot and the plugin's options, then CopyBothResponse and
    /// a first keepalive; [`App::tick`] streams from there.
    fn start(&mut self, conn: &mut Connection, start: StartReplication) -> Answer {
        let slot = match &start.slot {
            Some(s) => Some(self.slot_name(conn, s).map_err(internal)?),
            None => None,
        };
        let options = match start.kind {
            StartKind::Logical { options } => options,
            _ => {
                if let Some(name) = &slot {
                    match self.server.slots().get(name).map(|s| s.kind.clone()) {
                        None => return Err(slot_not_found(name)),
                        Some(Kind::Logical { .. }) => {
                            return Err(PgError::new(
                                SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                                "cannot use a logical replication slot for physical replication",
                            ));
                        }
                        Some(Kind::Physical { .. }) => {}
                    }
                }
                return Err(PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "physical replication is not supported by this server",
                ));
            }
        };
        if self.replication != Replication::Logical {
            return Err(no_database());
        }
        // The parser requires a slot for LOGICAL.
        let name = slot.unwrap_or_default();
        let (confirmed, plugin_name) =
            self.server
                .slots()
                .acquire_logical(&name, &self.database, self.pid)?;
        let plugin = match Plugin::start(&plugin_name, &options) {
            Ok(p) => p,
            Err(e) => {
                self.server.slots().release(&name, self.pid);
                return Err(e);
            }
        };
        // PostgreSQL starts from the slot's confirmed position, or later if asked to.
        let from = confirmed.max(start.start);
        let now = Instant::now();
        let mut stream = Stream::new(name.clone(), plugin, from, &self.server.feed, now);
        conn.start_copy_both(Format::Text, &[]).map_err(internal)?;
        eprintln!(
            "slot {name}: streaming from {from} through {} to process {}",
            stream.plugin_name(),
            self.pid
        );
        if let Err(e) = stream
            .keepalive(conn, now, false)
            .and_then(|()| stream.tick(conn, &self.server.feed, now))
        {
            conn.terminate(bug(&*e));
        }
        self.stream = Some(stream);
        Ok(())
    }

    /// A client CopyData inside the stream: a standby status update or hot standby feedback.
    fn copy_data(&mut self, conn: &mut Connection, data: &[u8]) {
        let Some(stream) = &mut self.stream else {
            return;
        };
        let update = match StandbyMessage::decode(data) {
            Ok(StandbyMessage::StatusUpdate(u)) => u,
            Ok(_) => return, // hot standby feedback: nothing to hold back here
            Err(e) => {
                conn.terminate(PgError::fatal(e.sql_state(), e.to_string()));
                return;
            }
        };
        match stream.status_update(conn, &update, Instant::now()) {
            Ok(Some(lsn)) => {
                if self.server.slots().confirm(&stream.slot, lsn) {
                    eprintln!("slot {} confirmed up to {lsn}", stream.slot);
                }
            }
            Ok(None) => {}
            Err(e) => conn.terminate(bug(&*e)),
        }
    }

    /// The client's CopyDone: the stream ends as a walsender ends it (CopyDone, `COPY 0`,
    /// the command's own tag, ReadyForQuery).
    fn copy_done(&mut self, conn: &mut Connection) -> Result<(), ApiError> {
        let Some(stream) = self.stream.take() else {
            return Ok(());
        };
        self.server.slots().release(&stream.slot, self.pid);
        eprintln!("slot {}: stream ended by the client", stream.slot);
        conn.copy_done()?;
        conn.command_complete("COPY 0")?;
        conn.command_complete("START_REPLICATION")?;
        conn.query_done(TransactionStatus::Idle)
    }
}

impl App<(), ()> for Session {
    fn handle(&mut self, conn: &mut Connection, event: Event) -> Result<Next, ApiError> {
        match event {
            Event::Startup(startup) => self.startup(conn, startup)?,
            Event::Query { sql } => return self.query(conn, &sql),
            Event::CopyData(data) => self.copy_data(conn, &data),
            Event::CopyDone => self.copy_done(conn)?,
            Event::CopyFail { .. } => {
                // The connection has answered with 57014 and ReadyForQuery.
                if let Some(stream) = self.stream.take() {
                    self.server.slots().release(&stream.slot, self.pid);
                }
                self.cleanup();
            }
            Event::Parse { .. } | Event::FunctionCall(_) => {
                // Replication connections refuse these in the state machine (08P01).
                conn.error(PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "this replication server runs no SQL but simple queries",
                ))?;
            }
            _ => {}
        }
        Ok(Next::Continue)
    }

    fn resume(&mut self, conn: &mut Connection, _now: Instant) -> Result<Next, ApiError> {
        match self.dropping.take() {
            Some(name) => self.drop_slot(conn, name, true),
            None => Ok(Next::Continue),
        }
    }

    fn tick(&mut self, conn: &mut Connection, now: Instant) -> Result<(), ApiError> {
        if conn.is_closed() {
            return Ok(());
        }
        if let Some(stream) = &mut self.stream
            && let Err(e) = stream.tick(conn, &self.server.feed, now)
        {
            conn.terminate(bug(&*e));
        }
        Ok(())
    }
}

impl Drop for Session {
    /// The session is over: its temporary slots go, and the slot it streamed from is free.
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            eprintln!("slot {}: stream ended with the connection", stream.slot);
        }
        self.cleanup();
    }
}

/// Splits a query into statements at semicolons outside quotes; empty ones are left out.
fn split_statements(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn slot_not_found(name: &str) -> PgError {
    PgError::new(
        SqlState::UNDEFINED_OBJECT,
        format!("replication slot \"{name}\" does not exist"),
    )
}

/// Logical slots and streams need a `replication=database` connection.
fn no_database() -> PgError {
    PgError::new(
        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
        "logical decoding requires a database connection",
    )
}

/// An answer the connection refused: a bug in this program, reported to the client.
fn internal(e: ApiError) -> PgError {
    PgError::new(SqlState::INTERNAL_ERROR, format!("internal error: {e}"))
}

/// A stream that could not be written: a bug in this program; the session ends.
fn bug(e: &dyn std::error::Error) -> PgError {
    PgError::fatal(SqlState::INTERNAL_ERROR, format!("internal error: {e}"))
}
