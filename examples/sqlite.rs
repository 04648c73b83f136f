//! A PostgreSQL-compatible server over embedded SQLite: psql, pgbench, psycopg, asyncpg,
//! node-postgres and JDBC talk to it as to PostgreSQL.
//!
//! ```text
//! cargo run --release --example sqlite -- [--db FILE] [--listen ADDR] [--auth ...] [--tls-cert F --tls-key F]
//! psql -h 127.0.0.1 -p 5433 -U postgres
//! ```
//!
//! The database is in memory unless `--db FILE` is given, and all connections share it (each
//! has its own SQLite connection, so each has its own transaction). What it serves:
//!
//! - SQL in PostgreSQL's dialect as far as SQLite speaks it: `$n` parameters and `::type`
//!   casts are rewritten (`sqlite/sql.rs`), the rest goes to SQLite as is;
//! - simple and extended queries; Describe gives the parameter types from the column each
//!   parameter is compared with, assigned to or inserted into (or from a cast, or from the
//!   client), and result types from the columns' declared types (`integer` is int4, `bigint`
//!   int8, `timestamp`, `numeric`, `bytea`, `bool`, ...), text for expressions
//!   (`sqlite/values.rs`); values go out in text or binary as each client asks;
//! - BEGIN / COMMIT / ROLLBACK with PostgreSQL's transaction status, including the failed
//!   state (25P02 until ROLLBACK);
//! - `COPY t [(cols)] FROM STDIN` and `COPY t|(query) TO STDOUT`, text and CSV;
//! - LISTEN / UNLISTEN / NOTIFY between connections (delivered at COMMIT in a transaction);
//! - CancelRequest: interrupts the running SQLite statement (`sqlite3_interrupt`) or
//!   `pg_sleep`; SET / RESET / SHOW, with ParameterStatus for the reported settings;
//! - functions: version(), current_database(), current_user, current_schema(),
//!   pg_backend_pid(), pg_sleep(s);
//! - psql's `\dt`, `\d` and `\d TABLE` from SQLite's schema (`sqlite/pgcatalog.rs`); other
//!   catalog queries fail with 0A000;
//! - SQLite's errors as SQLSTATEs: syntax 42601, missing table 42P01, missing column 42703,
//!   duplicate table 42P07, unique 23505, not null 23502, foreign key 23503, check 23514,
//!   interrupted 57014, busy 55P03.
//!
//! Results are collected before they are sent (at most 256 MB each) and COPY FROM data before
//! it is inserted (at most 64 MB); beyond that the statement fails with 54000.
//!
//! One thread per connection (SQLite calls block), driven by `common/driver.rs`'s
//! `run_blocking`, with the options of every example (`common/options.rs`).

#[path = "common/driver.rs"]
mod driver;
#[path = "common/options.rs"]
mod options;
#[path = "sqlite/pgcatalog.rs"]
mod pgcatalog;
#[path = "common/settings.rs"]
mod settings;
#[path = "sqlite/sql.rs"]
mod sql;
#[path = "sqlite/values.rs"]
mod values;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use driver::{App, Link, Next};
use options::Options;
use pgproto::SqlState;
use pgproto::auth::{OsRandom, RandomSource};
use pgproto::message::{Format, PgStr, TransactionStatus};
use pgproto::server::{
    ApiError, Column, Config, Connection, Event, PgError, Replication, Severity, Startup,
};
use pgproto::types::{self, ValueError, oid};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{InterruptHandle, OpenFlags};
use settings::Settings;

/// Statements carry their [`Plan`]; portals the rows an Execute has not sent yet.
type Conn = Connection<Plan, Pending>;

/// The most COPY FROM data one statement may send (it is collected, then inserted at once).
const MAX_COPY_BYTES: usize = 64 << 20;

/// The most a result set may hold in memory (results are collected before they are sent, so
/// that a statement's rows and its errors come from one SQLite run); beyond it, 54000.
const MAX_RESULT_BYTES: usize = 256 << 20;

/// Value text forms: ISO dates, UTC.
const SESSION: types::Session = types::Session::UTC;

fn main() -> io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let db = options::take_flag(&mut args, "--db");
    let server = Server::new(Options::from_list(args), db).map_err(io::Error::other)?;
    let server = Arc::new(server);
    let listen = server.options.listen.clone();
    driver::serve_threads(&listen, move |socket| serve(socket, server.clone()))
}

/// Runs one connection to its end.
fn serve(socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    let session = Session::new(server.clone()).map_err(io::Error::other)?;
    let conn = Connection::new(session.config(), Instant::now());
    driver::run_blocking(socket, Link::new(conn, server.options.tls.clone(), session))
}

// ----- what the connections share -------------------------------------------------------------

/// The server: the database every session opens, and the sessions by process id.
struct Server {
    options: Options,
    path: String,
    flags: OpenFlags,
    /// Keeps an in-memory database alive while no session is connected.
    _keeper: Mutex<rusqlite::Connection>,
    peers: Mutex<HashMap<i32, Peer>>,
    next_pid: AtomicI32,
    mock_secret: [u8; 32],
}

/// What other sessions need of a session: how to cancel it and where its notifications go.
struct Peer {
    cancel_key: Vec<u8>,
    cancel: Arc<AtomicBool>,
    interrupt: Arc<InterruptHandle>,
    channels: HashSet<String>,
    inbox: mpsc::Sender<(i32, String, String)>,
}

impl Server {
    fn new(options: Options, db: Option<String>) -> rusqlite::Result<Server> {
        let (path, flags) = match db {
            Some(file) => (file, OpenFlags::default()),
            None => (
                // memdb: an in-memory database that every connection of this process shares.
                format!("file:/pgproto-sqlite-{}?vfs=memdb", std::process::id()),
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ),
        };
        let keeper = open(&path, flags)?;
        if !path.starts_with("file:") {
            keeper.pragma_update(None, "journal_mode", "wal")?;
        }
        let mut mock_secret = [0; 32];
        let _ = OsRandom.fill(&mut mock_secret);
        Ok(Server {
            options,
            path,
            flags,
            _keeper: Mutex::new(keeper),
            peers: Mutex::new(HashMap::new()),
            next_pid: AtomicI32::new(2000),
            mock_secret,
        })
    }

    fn peers(&self) -> MutexGuard<'_, HashMap<i32, Peer>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A CancelRequest: interrupts the session's statement if the key matches.
    fn cancel(&self, process_id: i32, key: &[u8]) {
        if let Some(peer) = self.peers().get(&process_id)
            && peer.cancel_key.len() == key.len()
            && peer
                .cancel_key
                .iter()
                .zip(key)
                .fold(0, |acc, (a, b)| acc | (a ^ b))
                == 0
        {
            peer.cancel.store(true, Ordering::SeqCst);
            peer.interrupt.interrupt();
        }
    }

    fn notify(&self, process_id: i32, channel: &str, payload: &str) {
        for peer in self.peers().values() {
            if peer.channels.contains(channel) {
                let _ = peer
                    .inbox
                    .send((process_id, channel.into(), payload.into()));
            }
        }
    }
}

/// Opens the database with the settings every connection uses.
fn open(path: &str, flags: OpenFlags) -> rusqlite::Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open_with_flags(path, flags)?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.pragma_update(None, "foreign_keys", "on")?;
    db.set_prepared_statement_cache_capacity(64);
    Ok(db)
}

// ----- statements ---------------------------------------------------------------------------------

/// What a statement does, decided at Parse (or for each statement of a simple query).
#[derive(Clone, Debug)]
pub enum Plan {
    Empty,
    /// SQL for SQLite (rewritten), the original text (for the command tag), and the result
    /// columns as Describe reported them.
    Sql {
        sql: String,
        original: String,
        columns: Vec<Column>,
    },
    Begin,
    Commit,
    Rollback,
    /// SET or RESET (`value` is `None` for RESET and `SET ... TO DEFAULT`).
    Set {
        name: String,
        value: Option<String>,
        reset: bool,
    },
    Show(String),
    Listen(String),
    Unlisten(Option<String>),
    Notify {
        channel: String,
        payload: String,
    },
    CopyFrom {
        table: String,
        columns: Vec<String>,
        options: CopyOptions,
    },
    CopyTo {
        query: String,
        options: CopyOptions,
    },
    /// A catalog query, answered when planned.
    Catalog(Arc<pgcatalog::Answer>),
    /// A statement with nothing to do here (DISCARD, DEALLOCATE): its tag.
    Noop(String),
}

/// A planned statement: its plan, parameter types and result columns (for Describe).
type Planned = (Plan, Vec<u32>, Option<Vec<Column>>);

/// COPY's text and CSV options.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// PostgreSQL's binary COPY format (FROM STDIN only).
    binary: bool,
    csv: bool,
    header: bool,
    delimiter: u8,
    null: String,
}

/// Rows an Execute has not sent yet (a suspended portal).
#[derive(Debug)]
pub struct Pending {
    types: Vec<u32>,
    rows: VecDeque<Vec<Value>>,
    original: String,
}

/// What running a statement produced.
enum Outcome {
    Rows {
        columns: Vec<Column>,
        rows: VecDeque<Vec<Value>>,
        original: String,
    },
    Command(String),
    Empty,
    CopyIn(CopyIn),
    CopyOut {
        lines: Vec<Vec<u8>>,
        columns: usize,
    },
}

/// A COPY FROM STDIN collecting its data.
struct CopyIn {
    table: String,
    columns: Vec<(String, u32)>,
    options: CopyOptions,
    data: Vec<u8>,
    /// More than [`MAX_COPY_BYTES`] arrived.
    too_big: bool,
    /// Part of a simple query (the rest of it runs after).
    simple: bool,
}

/// A failure while answering: the client's error, or the application misusing the connection.
enum Fail {
    Pg(PgError),
    Api(ApiError),
}

impl From<PgError> for Fail {
    fn from(e: PgError) -> Fail {
        Fail::Pg(e)
    }
}

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Fail {
        match e {
            ApiError::Value(v) => Fail::Pg(v.into()),
            other => Fail::Api(other),
        }
    }
}

impl From<ValueError> for Fail {
    fn from(e: ValueError) -> Fail {
        Fail::Pg(e.into())
    }
}

fn state(code: &str) -> SqlState {
    SqlState::from_bytes(code.as_bytes()).unwrap_or(SqlState::INTERNAL_ERROR)
}

/// An SQLite error as PostgreSQL would report it.
fn sqlite_error(db: &rusqlite::Connection, e: rusqlite::Error) -> PgError {
    use rusqlite::ErrorCode as C;
    let (code, extended, msg) = match &e {
        rusqlite::Error::SqliteFailure(f, m) => (
            Some(f.code),
            f.extended_code,
            m.clone().unwrap_or_else(|| f.to_string()),
        ),
        other => (None, 0, other.to_string()),
    };
    // Newer SQLite messages end with ` in SQL at offset N`: keep the message, note the offset.
    let (msg, offset) = match msg.rsplit_once(" at offset ") {
        Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) && head.contains(" in ") => {
            let cut = head.find(" in ").unwrap_or(head.len());
            (head[..cut].to_string(), n.parse::<u32>().ok())
        }
        _ => (msg, None),
    };
    let after = |prefix: &str| msg.strip_prefix(prefix).map(str::trim);
    let new = |c: &str, m: String| PgError::new(state(c), m);
    match code {
        Some(C::OperationInterrupted) => {
            return PgError::new(
                SqlState::QUERY_CANCELED,
                "canceling statement due to user request",
            );
        }
        Some(C::DatabaseBusy | C::DatabaseLocked) => {
            return new("55P03", format!("could not obtain lock: {msg}"));
        }
        Some(C::ConstraintViolation) => {
            let target = msg.rsplit(": ").next().unwrap_or("").to_string();
            let (table, column) = target
                .split_once('.')
                .map_or(("", target.as_str()), |(t, c)| (t, c));
            let column = column.split(", ").next().unwrap_or(column);
            return match extended {
                1555 | 2067 => {
                    let pk = pgcatalog::table_info(db, table)
                        .map(|cols| cols.iter().any(|c| c.pk && c.name == column))
                        .unwrap_or(false);
                    let name = if pk {
                        format!("{table}_pkey")
                    } else {
                        format!("{table}_{column}_key")
                    };
                    new(
                        "23505",
                        format!("duplicate key value violates unique constraint \"{name}\""),
                    )
                    .detail(msg.clone())
                }
                1299 => new(
                    "23502",
                    format!(
                        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
                    ),
                ),
                787 => new(
                    "23503",
                    "insert or update violates a foreign key constraint".into(),
                )
                .detail(msg.clone()),
                275 => new(
                    "23514",
                    format!("new row violates check constraint \"{target}\""),
                ),
                _ => new("23000", msg.clone()),
            };
        }
        _ => {}
    }
    if let Some(rest) = after("near") {
        let token = rest.strip_suffix(": syntax error").unwrap_or(rest);
        let error = new("42601", format!("syntax error at or near {token}"));
        return match offset {
            Some(o) => error.position(o + 1),
            None => error,
        };
    }
    if msg.contains("incomplete input") {
        return new("42601", "syntax error at end of input".into());
    }
    if let Some(t) = after("no such table:") {
        return new("42P01", format!("relation \"{t}\" does not exist"));
    }
    if let Some(c) = after("no such column:") {
        return new("42703", format!("column \"{c}\" does not exist"));
    }
    if let Some(f) = after("no such function:") {
        return new("42883", format!("function {f} does not exist"));
    }
    if let Some(t) = after("table").and_then(|r| r.strip_suffix("already exists")) {
        return new(
            "42P07",
            format!("relation \"{}\" already exists", t.trim().trim_matches('"')),
        );
    }
    if msg == "division by zero" {
        return new("22012", msg);
    }
    if msg == "bigint out of range" {
        return new("22003", msg);
    }
    if msg.contains("canceling statement due to user request") {
        return PgError::new(
            SqlState::QUERY_CANCELED,
            "canceling statement due to user request",
        );
    }
    if msg.contains("datatype mismatch") {
        return new("42804", msg);
    }
    new("42000", msg)
}

// ----- one session --------------------------------------------------------------------------------

/// The application side of one connection, with its own SQLite connection.
struct Session {
    server: Arc<Server>,
    process_id: i32,
    db: rusqlite::Connection,
    cancel: Arc<AtomicBool>,
    inbox: mpsc::Receiver<(i32, String, String)>,
    inbox_tx: mpsc::Sender<(i32, String, String)>,
    settings: Settings,
    user: String,
    /// The statements of a simple query still to run.
    queue: VecDeque<String>,
    copy_in: Option<CopyIn>,
    /// NOTIFYs of the open transaction, sent at COMMIT.
    pending_notifies: Vec<(String, String)>,
}

impl Session {
    fn new(server: Arc<Server>) -> rusqlite::Result<Session> {
        let db = open(&server.path, server.flags)?;
        let (inbox_tx, inbox) = mpsc::channel();
        let process_id = server.next_pid.fetch_add(1, Ordering::Relaxed);
        let mut settings = Settings::new();
        settings.set("transaction_isolation", "serializable"); // SQLite's only level
        settings.set("search_path", "\"$user\", public");
        let cancel = Arc::new(AtomicBool::new(false));
        let sleep_cancel = cancel.clone();
        db.create_scalar_function("pg_sleep", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
            let secs: f64 = ctx.get(0)?;
            let until = Instant::now() + Duration::from_secs_f64(secs.clamp(0.0, 1e6));
            loop {
                if sleep_cancel.load(Ordering::SeqCst) {
                    let e = "canceling statement due to user request";
                    return Err(rusqlite::Error::UserFunctionError(e.into()));
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(String::new());
                }
                std::thread::sleep(left.min(Duration::from_millis(5)));
            }
        })?;
        let server_version = settings.get("server_version").map_or("", |(_, v)| v);
        let version = format!(
            "PostgreSQL {server_version} (pgproto SQLite example, SQLite {})",
            rusqlite::version()
        );
        db.create_scalar_function(
            "version",
            0,
            FunctionFlags::SQLITE_DETERMINISTIC,
            move |_| Ok(version.clone()),
        )?;
        db.create_scalar_function(
            "pg_backend_pid",
            0,
            FunctionFlags::SQLITE_DETERMINISTIC,
            move |_| Ok(process_id),
        )?;
        db.create_scalar_function("pg_div", 2, FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
            divide(ctx.get(0)?, ctx.get(1)?)
        })?;
        db.create_scalar_function(
            "current_schema",
            0,
            FunctionFlags::SQLITE_DETERMINISTIC,
            |_| Ok("public"),
        )?;
        Ok(Session {
            server,
            process_id,
            db,
            cancel,
            inbox,
            inbox_tx,
            settings,
            user: String::new(),
            queue: VecDeque::new(),
            copy_in: None,
            pending_notifies: Vec::new(),
        })
    }

    fn config(&self) -> Config {
        let mut config = Config::default();
        config.process_id = self.process_id;
        config.authentication_timeout = self.server.options.auth_timeout;
        config.mock_secret = Some(self.server.mock_secret);
        config
    }

    fn startup(&mut self, conn: &mut Conn, startup: Startup) -> Result<(), ApiError> {
        if startup.replication != Replication::None {
            let e = PgError::fatal(
                SqlState::FEATURE_NOT_SUPPORTED,
                "replication is not supported",
            );
            return conn.reject(e);
        }
        for (name, value) in &startup.settings {
            self.settings.set(name, value);
        }
        self.user = startup.user.to_string_lossy().into_owned();
        let database = startup.database.to_string_lossy().into_owned();
        let user = self.user.clone();
        let flags = FunctionFlags::SQLITE_DETERMINISTIC;
        let registered = self
            .db
            .create_scalar_function("current_database", 0, flags, move |_| Ok(database.clone()))
            .and_then(|_| {
                self.db
                    .create_scalar_function("current_user", 0, flags, move |_| Ok(user.clone()))
            });
        if let Err(e) = registered {
            return conn.reject(PgError::fatal(SqlState::INTERNAL_ERROR, e.to_string()));
        }
        conn.authenticate(self.server.options.auth_for(&self.user))
    }

    fn register(&mut self, conn: &Conn) {
        let peer = Peer {
            cancel_key: conn.cancel_key().1.to_vec(),
            cancel: self.cancel.clone(),
            interrupt: self.db.get_interrupt_handle().into(),
            channels: HashSet::new(),
            inbox: self.inbox_tx.clone(),
        };
        self.server.peers().insert(self.process_id, peer);
    }

    /// The transaction status after a statement: failed stays failed until the block ends.
    fn sync_status(&self, conn: &mut Conn) {
        let status = if conn.transaction_status() == TransactionStatus::Failed {
            TransactionStatus::Failed
        } else if self.db.is_autocommit() {
            TransactionStatus::Idle
        } else {
            TransactionStatus::InTransaction
        };
        conn.set_transaction_status(status);
    }

    // ----- simple queries ------------------------------------------------------------------------

    fn query(&mut self, conn: &mut Conn, sql: &PgStr) -> Result<(), ApiError> {
        let Ok(text) = sql.to_str() else {
            let e = PgError::new(
                SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            );
            conn.error(e)?;
            return self.query_done(conn);
        };
        let statements = sql::split_statements(text);
        if statements.is_empty() {
            conn.empty_query()?;
            return self.query_done(conn);
        }
        self.queue = statements.into_iter().map(str::to_string).collect();
        self.run_queue(conn)
    }

    /// Runs the simple query's statements until the end, an error, or a COPY FROM STDIN.
    fn run_queue(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        while let Some(text) = self.queue.pop_front() {
            match self.simple_statement(conn, &text) {
                Ok(true) => {}
                Ok(false) => return Ok(()), // COPY FROM STDIN: the data comes next
                Err(Fail::Pg(e)) => {
                    self.queue.clear();
                    conn.error(e)?;
                }
                Err(Fail::Api(e)) => return Err(e),
            }
            self.sync_status(conn);
        }
        self.query_done(conn)
    }

    fn query_done(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        self.sync_status(conn);
        self.deliver_notifications(conn)?;
        conn.query_done(conn.transaction_status())
    }

    /// One statement of a simple query; `false` when it started COPY FROM STDIN.
    fn simple_statement(&mut self, conn: &mut Conn, text: &str) -> Result<bool, Fail> {
        self.cancel.store(false, Ordering::SeqCst);
        let plan = self.plan(text, &[])?;
        match self.run(conn, &plan.0, Vec::new(), true)? {
            Outcome::Rows {
                columns,
                mut rows,
                original,
            } => {
                conn.row_description(&columns)?;
                let types: Vec<u32> = columns.iter().map(|c| c.type_oid).collect();
                let formats = vec![Format::Text; types.len()];
                let n = send_rows(conn, &types, &formats, &mut rows, 0)?;
                conn.command_complete(&sql::command_tag(&original, n))?;
            }
            Outcome::Command(tag) => conn.command_complete(&tag)?,
            Outcome::Empty => conn.empty_query()?,
            Outcome::CopyIn(copy) => {
                start_copy_in(conn, &copy)?;
                self.copy_in = Some(copy);
                return Ok(false);
            }
            Outcome::CopyOut { lines, columns } => send_copy_out(conn, &lines, columns)?,
        }
        Ok(true)
    }

    // ----- the extended protocol ---------------------------------------------------------------

    fn parse(
        &mut self,
        conn: &mut Conn,
        query: &PgStr,
        client_types: &[u32],
    ) -> Result<(), ApiError> {
        let Ok(text) = query.to_str() else {
            let e = PgError::new(
                SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            );
            return conn.error(e);
        };
        let statements = sql::split_statements(text);
        if statements.len() > 1 {
            let e = PgError::new(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            );
            return conn.error(e);
        }
        match self.plan(statements.first().copied().unwrap_or(""), client_types) {
            Ok((plan, types, columns)) => conn.parse_complete(types, columns, plan),
            Err(e) => {
                conn.error(e)?;
                self.sync_status(conn);
                Ok(())
            }
        }
    }

    fn execute(&mut self, conn: &mut Conn, portal: &PgStr, max_rows: u32) -> Result<(), ApiError> {
        self.cancel.store(false, Ordering::SeqCst);
        let name = portal.as_bytes();
        let resumed = conn.portal_mut(name).and_then(|p| p.data.take());
        let result = match resumed {
            Some(pending) => self.send_portal(conn, name, pending, max_rows),
            None => self.execute_new(conn, name, max_rows),
        };
        match result {
            Ok(()) => {}
            Err(Fail::Pg(e)) => conn.error(e)?,
            Err(Fail::Api(e)) => return Err(e),
        }
        self.sync_status(conn);
        Ok(())
    }

    fn execute_new(&mut self, conn: &mut Conn, name: &[u8], max_rows: u32) -> Result<(), Fail> {
        let (plan, params) = {
            let (Some(portal), Some(statement)) = (conn.portal(name), conn.portal_statement(name))
            else {
                return Err(
                    PgError::new(SqlState::INVALID_CURSOR_NAME, "portal does not exist").into(),
                );
            };
            let types = &statement.param_types;
            types::check_param_count(&portal.bind, types.len())
                .map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
            let params = (0..types.len())
                .map(|i| values::param(&portal.bind, i, types, &SESSION))
                .collect::<Result<Vec<_>, _>>()?;
            (statement.data.clone(), params)
        };
        match self.run(conn, &plan, params, false)? {
            Outcome::Rows {
                columns,
                rows,
                original,
            } => {
                let types = columns.iter().map(|c| c.type_oid).collect();
                let pending = Pending {
                    types,
                    rows,
                    original,
                };
                self.send_portal(conn, name, pending, max_rows)
            }
            Outcome::Command(tag) => Ok(conn.command_complete(&tag)?),
            Outcome::Empty => Ok(conn.empty_query()?),
            Outcome::CopyIn(copy) => {
                start_copy_in(conn, &copy)?;
                self.copy_in = Some(copy);
                Ok(())
            }
            Outcome::CopyOut { lines, columns } => Ok(send_copy_out(conn, &lines, columns)?),
        }
    }

    /// Sends up to `max_rows` of a portal's rows; keeps the rest for the next Execute.
    fn send_portal(
        &mut self,
        conn: &mut Conn,
        name: &[u8],
        mut pending: Pending,
        max_rows: u32,
    ) -> Result<(), Fail> {
        let formats: Vec<Format> = {
            let portal = conn.portal(name);
            (0..pending.types.len())
                .map(|i| portal.map_or(Format::Text, |p| p.column_format(i)))
                .collect()
        };
        let n = send_rows(
            conn,
            &pending.types,
            &formats,
            &mut pending.rows,
            max_rows as usize,
        )?;
        if max_rows > 0 && n == max_rows as usize {
            if let Some(p) = conn.portal_mut(name) {
                p.data = Some(pending);
            }
            Ok(conn.portal_suspended()?)
        } else {
            Ok(conn.command_complete(&sql::command_tag(&pending.original, n))?)
        }
    }

    // ----- planning and running -----------------------------------------------------------------

    /// Decides what a statement does: its plan, parameter types and result columns.
    fn plan(&mut self, text: &str, client_types: &[u32]) -> Result<Planned, PgError> {
        let tokens = sql::tokenize(text);
        let word = |i: usize| tokens.get(i).and_then(sql::Token::word).unwrap_or_default();
        let ident = |i: usize| {
            tokens
                .get(i)
                .and_then(sql::Token::ident)
                .unwrap_or_default()
        };
        let none = |plan| Ok((plan, Vec::new(), None));
        if tokens.is_empty() {
            return none(Plan::Empty);
        }
        if pgcatalog::is_catalog(text) {
            let answer = pgcatalog::answer(&self.db, text, &self.user)?;
            let columns = answer
                .columns
                .iter()
                .map(|(n, t)| Column::new(*n, *t))
                .collect();
            return Ok((Plan::Catalog(Arc::new(answer)), Vec::new(), Some(columns)));
        }
        match word(0).as_str() {
            "begin" | "start" => none(Plan::Begin),
            "commit" | "end" => none(Plan::Commit),
            "rollback" | "abort" if !tokens.iter().any(|t| t.is_word("to")) => none(Plan::Rollback),
            "set" => {
                let mut i = 1;
                if matches!(word(1).as_str(), "session" | "local") {
                    i = 2;
                }
                let (name, value_at) = if word(i) == "time" && word(i + 1) == "zone" {
                    ("timezone".to_string(), i + 2)
                } else {
                    (ident(i), i + 2)
                };
                let assigns =
                    tokens.get(i + 1).is_some_and(|t| t.is_op("=")) || word(i + 1) == "to";
                if name.is_empty() || (name != "timezone" && !assigns) {
                    let e = format!("syntax error at or near \"{}\"", text.trim());
                    return Err(PgError::new(SqlState::SYNTAX_ERROR, e));
                }
                let value = tokens[value_at.min(tokens.len())..]
                    .iter()
                    .filter(|t| !t.is_op(","))
                    .map(|t| unquote(&text[t.start..t.end]))
                    .collect::<Vec<_>>()
                    .join(", ");
                let value =
                    (!value.eq_ignore_ascii_case("default") && !value.is_empty()).then_some(value);
                none(Plan::Set {
                    name,
                    value,
                    reset: false,
                })
            }
            "reset" => none(Plan::Set {
                name: ident(1),
                value: None,
                reset: true,
            }),
            "show" => {
                let name = if word(1) == "time" && word(2) == "zone" {
                    "timezone".into()
                } else {
                    ident(1)
                };
                let shown = self.settings.get(&name).map_or(name.as_str(), |(k, _)| k);
                let column = Column::new(shown, oid::TEXT);
                Ok((Plan::Show(name.clone()), Vec::new(), Some(vec![column])))
            }
            "listen" => none(Plan::Listen(ident(1))),
            "unlisten" => none(Plan::Unlisten(
                (!tokens.get(1).is_some_and(|t| t.is_op("*"))).then(|| ident(1)),
            )),
            "notify" => {
                let payload = tokens
                    .get(3)
                    .map(|t| unquote(&text[t.start..t.end]))
                    .unwrap_or_default();
                none(Plan::Notify {
                    channel: ident(1),
                    payload,
                })
            }
            "copy" => self.plan_copy(text, &tokens).map(|p| (p, Vec::new(), None)),
            "discard" | "deallocate" => {
                let tag = if word(0) == "discard" {
                    format!("DISCARD {}", word(1).to_uppercase())
                } else {
                    "DEALLOCATE".into()
                };
                let tag = if word(0) == "deallocate" && word(1) == "all" {
                    "DEALLOCATE ALL".into()
                } else {
                    tag
                };
                none(Plan::Noop(tag))
            }
            _ => {
                let rewritten = sql::rewrite(text);
                let stmt = self
                    .db
                    .prepare_cached(&rewritten.sql)
                    .map_err(|e| sqlite_error(&self.db, e))?;
                let count = stmt.parameter_count();
                let declared: Vec<(String, Option<String>)> = stmt
                    .columns()
                    .map(|c| (c.name().to_string(), c.decl_type().map(str::to_string)))
                    .collect();
                drop(stmt);
                let db = &self.db;
                let mut lookup = |table: &str| {
                    let cols = pgcatalog::table_info(db, table).ok()?;
                    (!cols.is_empty()).then(|| cols.into_iter().map(|c| (c.name, c.decl)).collect())
                };
                let mut types =
                    sql::infer_param_types(text, count, &rewritten.cast_types, &mut lookup);
                for (slot, &ty) in types.iter_mut().zip(client_types) {
                    if ty != 0 {
                        *slot = ty;
                    }
                }
                for t in &mut types {
                    if *t == 0 {
                        *t = oid::TEXT;
                    }
                }
                // Only expression columns need typing (and its table lookups).
                let typed = if declared.iter().any(|(_, decl)| decl.is_none()) {
                    sql::result_types(text, &types, &mut lookup)
                } else {
                    Vec::new()
                };
                let columns: Vec<Column> = declared
                    .iter()
                    .enumerate()
                    .map(|(i, (name, decl))| {
                        let ty = match decl {
                            Some(_) => values::type_from_decl(decl.as_deref()),
                            None => typed.get(i).copied().flatten().unwrap_or(oid::TEXT),
                        };
                        Column::new(column_name(name, decl.as_deref()), ty)
                    })
                    .collect();
                let described = (!columns.is_empty()).then(|| columns.clone());
                let plan = Plan::Sql {
                    sql: rewritten.sql,
                    original: text.to_string(),
                    columns,
                };
                Ok((plan, types, described))
            }
        }
    }

    fn plan_copy(&self, text: &str, tokens: &[sql::Token]) -> Result<Plan, PgError> {
        let syntax = || {
            PgError::new(
                SqlState::SYNTAX_ERROR,
                format!("syntax error in COPY: {text}"),
            )
        };
        let mut i = 1;
        let mut query = None;
        let mut table = String::new();
        let mut columns = Vec::new();
        if tokens.get(1).is_some_and(|t| t.is_op("(")) {
            // COPY (query) TO STDOUT
            let mut depth = 0;
            let start = tokens[1].end;
            while let Some(t) = tokens.get(i) {
                if t.is_op("(") {
                    depth += 1;
                } else if t.is_op(")") {
                    depth -= 1;
                    if depth == 0 {
                        query = Some(text[start..t.start].to_string());
                        break;
                    }
                }
                i += 1;
            }
            i += 1;
        } else {
            table = tokens
                .get(i)
                .and_then(sql::Token::ident)
                .ok_or_else(syntax)?;
            while tokens.get(i + 1).is_some_and(|t| t.is_op(".")) {
                table = tokens
                    .get(i + 2)
                    .and_then(sql::Token::ident)
                    .ok_or_else(syntax)?;
                i += 2;
            }
            i += 1;
            if tokens.get(i).is_some_and(|t| t.is_op("(")) {
                i += 1;
                while let Some(t) = tokens.get(i) {
                    i += 1;
                    if t.is_op(")") {
                        break;
                    }
                    if let Some(c) = t.ident() {
                        columns.push(c);
                    }
                }
            }
        }
        let direction = tokens
            .get(i)
            .and_then(sql::Token::word)
            .ok_or_else(syntax)?;
        let target = tokens
            .get(i + 1)
            .and_then(sql::Token::word)
            .unwrap_or_default();
        let mut options = CopyOptions {
            binary: false,
            csv: false,
            header: false,
            delimiter: b'\t',
            null: "\\N".into(),
        };
        let mut delimiter_set = false;
        let mut null_set = false;
        let mut j = i + 2;
        while let Some(t) = tokens.get(j) {
            match t.word().as_deref() {
                Some("csv") => options.csv = true,
                Some("binary") => options.binary = true,
                Some("format") => {
                    match tokens.get(j + 1).and_then(sql::Token::word).as_deref() {
                        Some("csv") => options.csv = true,
                        Some("text") => {}
                        Some("binary") => options.binary = true,
                        _ => {
                            return Err(PgError::new(
                                SqlState::FEATURE_NOT_SUPPORTED,
                                "only text and CSV COPY are supported",
                            ));
                        }
                    }
                    j += 1;
                }
                Some("header") => {
                    options.header = !matches!(
                        tokens.get(j + 1).and_then(sql::Token::word).as_deref(),
                        Some("false" | "off")
                    );
                }
                Some("delimiter") => {
                    let d = tokens
                        .get(j + 1)
                        .map(|t| unquote(&text[t.start..t.end]))
                        .unwrap_or_default();
                    options.delimiter = *d.as_bytes().first().ok_or_else(syntax)?;
                    delimiter_set = true;
                    j += 1;
                }
                Some("null") => {
                    options.null = tokens
                        .get(j + 1)
                        .map(|t| unquote(&text[t.start..t.end]))
                        .unwrap_or_default();
                    null_set = true;
                    j += 1;
                }
                _ => {}
            }
            j += 1;
        }
        if options.csv {
            if !delimiter_set {
                options.delimiter = b',';
            }
            if !null_set {
                options.null = String::new();
            }
        }
        match (direction.as_str(), target.as_str(), query) {
            ("from", "stdin", None) => Ok(Plan::CopyFrom {
                table,
                columns,
                options,
            }),
            ("to", _, _) if options.binary => Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY TO in binary format is not supported by the SQLite server",
            )),
            ("to", "stdout", Some(query)) => Ok(Plan::CopyTo { query, options }),
            ("to", "stdout", None) => {
                let list = if columns.is_empty() {
                    "*".to_string()
                } else {
                    columns
                        .iter()
                        .map(|c| quote_ident(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Ok(Plan::CopyTo {
                    query: format!("SELECT {list} FROM {}", quote_ident(&table)),
                    options,
                })
            }
            ("from" | "to", _, _) => Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY to or from a file is not supported: use STDIN / STDOUT (psql's \\copy)",
            )),
            _ => Err(syntax()),
        }
    }

    /// Runs a planned statement with its parameters.
    fn run(
        &mut self,
        conn: &mut Conn,
        plan: &Plan,
        params: Vec<Value>,
        simple: bool,
    ) -> Result<Outcome, Fail> {
        let failed = conn.transaction_status() == TransactionStatus::Failed;
        if failed && !matches!(plan, Plan::Commit | Plan::Rollback) {
            let msg =
                "current transaction is aborted, commands ignored until end of transaction block";
            return Err(PgError::new(SqlState::IN_FAILED_SQL_TRANSACTION, msg).into());
        }
        let command = |tag: &str| Ok(Outcome::Command(tag.to_string()));
        match plan {
            Plan::Empty => Ok(Outcome::Empty),
            Plan::Sql {
                sql,
                original,
                columns,
            } => self.run_sql(sql, original, &params, columns),
            Plan::Begin => {
                if !self.db.is_autocommit() {
                    warn(conn, "25001", "there is already a transaction in progress")?;
                } else {
                    self.db
                        .execute_batch("BEGIN")
                        .map_err(|e| sqlite_error(&self.db, e))?;
                }
                conn.set_transaction_status(TransactionStatus::InTransaction);
                command("BEGIN")
            }
            Plan::Commit | Plan::Rollback => {
                let commit = matches!(plan, Plan::Commit) && !failed;
                if self.db.is_autocommit() && !failed {
                    warn(conn, "25P01", "there is no transaction in progress")?;
                } else if commit {
                    self.db
                        .execute_batch("COMMIT")
                        .map_err(|e| sqlite_error(&self.db, e))?;
                    for (channel, payload) in std::mem::take(&mut self.pending_notifies) {
                        self.server.notify(self.process_id, &channel, &payload);
                    }
                } else if !self.db.is_autocommit() {
                    let _ = self.db.execute_batch("ROLLBACK");
                }
                if !commit {
                    self.pending_notifies.clear();
                }
                conn.set_transaction_status(TransactionStatus::Idle);
                command(if commit || matches!(plan, Plan::Commit) && !failed {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                })
            }
            Plan::Set { name, value, reset } => {
                let value = match value {
                    Some(v) => v.clone(),
                    None => Config::default()
                        .parameters
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                };
                let name = self.settings.set(name, &value);
                if Settings::is_reported(&name) {
                    conn.set_parameter(&name, &value)?;
                }
                command(if *reset { "RESET" } else { "SET" })
            }
            Plan::Show(name) => {
                let (name, value) = self.settings.get(name).ok_or_else(|| {
                    PgError::new(
                        SqlState::UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })?;
                Ok(Outcome::Rows {
                    columns: vec![Column::new(name, oid::TEXT)],
                    rows: VecDeque::from([vec![Value::Text(value.into())]]),
                    original: "SHOW".into(),
                })
            }
            Plan::Listen(channel) => {
                if let Some(peer) = self.server.peers().get_mut(&self.process_id) {
                    peer.channels.insert(channel.clone());
                }
                command("LISTEN")
            }
            Plan::Unlisten(channel) => {
                if let Some(peer) = self.server.peers().get_mut(&self.process_id) {
                    match channel {
                        Some(c) => {
                            peer.channels.remove(c);
                        }
                        None => peer.channels.clear(),
                    }
                }
                command("UNLISTEN")
            }
            Plan::Notify { channel, payload } => {
                if self.db.is_autocommit() {
                    self.server.notify(self.process_id, channel, payload);
                } else {
                    self.pending_notifies
                        .push((channel.clone(), payload.clone()));
                }
                command("NOTIFY")
            }
            Plan::CopyFrom {
                table,
                columns,
                options,
            } => {
                let info = pgcatalog::table_info(&self.db, table)?;
                if info.is_empty() {
                    return Err(PgError::new(
                        SqlState::UNDEFINED_TABLE,
                        format!("relation \"{table}\" does not exist"),
                    )
                    .into());
                }
                let mut chosen = Vec::new();
                if columns.is_empty() {
                    chosen = info
                        .iter()
                        .map(|c| (c.name.clone(), values::type_from_decl(c.decl.as_deref())))
                        .collect();
                } else {
                    for c in columns {
                        let col = info
                            .iter()
                            .find(|i| i.name.eq_ignore_ascii_case(c))
                            .ok_or_else(|| {
                                PgError::new(
                                    state("42703"),
                                    format!(
                                        "column \"{c}\" of relation \"{table}\" does not exist"
                                    ),
                                )
                            })?;
                        chosen.push((
                            col.name.clone(),
                            values::type_from_decl(col.decl.as_deref()),
                        ));
                    }
                }
                Ok(Outcome::CopyIn(CopyIn {
                    table: table.clone(),
                    columns: chosen,
                    options: options.clone(),
                    data: Vec::new(),
                    too_big: false,
                    simple,
                }))
            }
            Plan::CopyTo { query, options } => self.copy_out(query, options),
            Plan::Catalog(answer) => Ok(Outcome::Rows {
                columns: answer
                    .columns
                    .iter()
                    .map(|(n, t)| Column::new(*n, *t))
                    .collect(),
                rows: answer
                    .rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|v| v.clone().map_or(Value::Null, Value::Text))
                            .collect()
                    })
                    .collect(),
                original: "SELECT".into(),
            }),
            Plan::Noop(tag) => command(tag),
        }
    }

    fn run_sql(
        &mut self,
        sql: &str,
        original: &str,
        params: &[Value],
        columns: &[Column],
    ) -> Result<Outcome, Fail> {
        let db = &self.db;
        let err = |e| Fail::Pg(sqlite_error(db, e));
        let mut stmt = db.prepare_cached(sql).map_err(err)?;
        let count = stmt.parameter_count();
        if count > params.len() {
            let e = PgError::new(
                SqlState::UNDEFINED_PARAMETER,
                format!("there is no parameter ${}", params.len() + 1),
            );
            return Err(e.into());
        }
        for (i, value) in params.iter().enumerate().take(count) {
            stmt.raw_bind_parameter(i + 1, value).map_err(err)?;
        }
        let n = stmt.column_count();
        if n != columns.len() {
            // The schema changed since Parse.
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cached plan must not change result type",
            )
            .into());
        }
        if n == 0 {
            let changed = stmt.raw_execute().map_err(err)?;
            return Ok(Outcome::Command(sql::command_tag(original, changed)));
        }
        let columns = columns.to_vec();
        let mut rows = VecDeque::new();
        let mut size = 0;
        let mut query = stmt.raw_query();
        while let Some(row) = query.next().map_err(err)? {
            let values = (0..n)
                .map(|i| row.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            size += values.iter().map(value_size).sum::<usize>();
            if size > MAX_RESULT_BYTES {
                let msg = format!("result set larger than {} MB", MAX_RESULT_BYTES >> 20);
                return Err(PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg).into());
            }
            rows.push_back(values);
        }
        Ok(Outcome::Rows {
            columns,
            rows,
            original: original.to_string(),
        })
    }

    // ----- COPY ----------------------------------------------------------------------------------

    fn copy_out(&mut self, query: &str, options: &CopyOptions) -> Result<Outcome, Fail> {
        let (plan, _, _) = self.plan(query, &[])?;
        let Plan::Sql {
            sql,
            original,
            columns,
        } = plan
        else {
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY query must be a query",
            )
            .into());
        };
        let Outcome::Rows { columns, rows, .. } = self.run_sql(&sql, &original, &[], &columns)?
        else {
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY query must return rows",
            )
            .into());
        };
        let mut lines = Vec::with_capacity(rows.len() + 1);
        if options.header {
            let names: Vec<Option<Vec<u8>>> = columns
                .iter()
                .map(|c| Some(c.name.clone().into_bytes()))
                .collect();
            lines.push(copy_line(&names, options));
        }
        for row in rows {
            let fields = row
                .iter()
                .zip(&columns)
                .map(|(v, c)| values::text(v, c.type_oid, &SESSION))
                .collect::<Result<Vec<_>, _>>()?;
            lines.push(copy_line(&fields, options));
        }
        Ok(Outcome::CopyOut {
            lines,
            columns: columns.len(),
        })
    }

    fn copy_done(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        let Some(copy) = self.copy_in.take() else {
            return Ok(());
        };
        match self.copy_rows_in(&copy) {
            Ok(n) => conn.command_complete(&format!("COPY {n}"))?,
            Err(e) => {
                self.queue.clear();
                conn.error(e)?;
            }
        }
        self.sync_status(conn);
        if copy.simple {
            self.run_queue(conn)
        } else {
            Ok(())
        }
    }

    /// Inserts COPY FROM data, all or nothing.
    fn copy_rows_in(&mut self, copy: &CopyIn) -> Result<usize, PgError> {
        if copy.too_big {
            let msg = format!("COPY data larger than {} MB", MAX_COPY_BYTES >> 20);
            return Err(PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg));
        }
        let (rows, format) = if copy.options.binary {
            (parse_binary_copy(&copy.data)?, Format::Binary)
        } else {
            (parse_copy(&copy.data, &copy.options)?, Format::Text)
        };
        let columns = copy
            .columns
            .iter()
            .map(|(c, _)| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = (1..=copy.columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO {} ({columns}) VALUES ({marks})",
            quote_ident(&copy.table)
        );
        let db = &self.db;
        db.execute_batch("SAVEPOINT pgproto_copy")
            .map_err(|e| sqlite_error(db, e))?;
        let result = (|| {
            let mut stmt = db
                .prepare_cached(&insert)
                .map_err(|e| sqlite_error(db, e))?;
            let skip = usize::from(copy.options.header);
            for (line, fields) in rows.iter().enumerate().skip(skip) {
                let context = || format!("COPY {}, line {}", copy.table, line + 1);
                if fields.len() != copy.columns.len() {
                    let what = if fields.len() < copy.columns.len() {
                        "missing data for a column"
                    } else {
                        "extra data after last expected column"
                    };
                    return Err(
                        PgError::new(SqlState::BAD_COPY_FILE_FORMAT, what).detail(context())
                    );
                }
                for (i, (field, (_, ty))) in fields.iter().zip(&copy.columns).enumerate() {
                    let value = values::from_wire(field.as_deref(), *ty, format, &SESSION)
                        .map_err(|e| PgError::from(e).detail(context()))?;
                    stmt.raw_bind_parameter(i + 1, value)
                        .map_err(|e| sqlite_error(db, e))?;
                }
                stmt.raw_execute()
                    .map_err(|e| sqlite_error(db, e).detail(context()))?;
            }
            Ok(rows.len() - skip.min(rows.len()))
        })();
        match result {
            Ok(n) => {
                db.execute_batch("RELEASE pgproto_copy")
                    .map_err(|e| sqlite_error(db, e))?;
                Ok(n)
            }
            Err(e) => {
                let _ = db.execute_batch("ROLLBACK TO pgproto_copy; RELEASE pgproto_copy");
                Err(e)
            }
        }
    }

    fn deliver_notifications(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        while !conn.is_closed()
            && let Ok((pid, channel, payload)) = self.inbox.try_recv()
        {
            conn.notify(pid, &channel, &payload)?;
        }
        Ok(())
    }
}

impl App<Plan, Pending> for Session {
    fn handle(&mut self, conn: &mut Conn, event: Event) -> Result<Next, ApiError> {
        match event {
            Event::Startup(startup) => self.startup(conn, startup)?,
            Event::Authenticated { .. } => self.register(conn),
            Event::CancelRequested {
                process_id,
                secret_key,
            } => self.server.cancel(process_id, &secret_key),
            Event::Query { sql } => self.query(conn, &sql)?,
            Event::Parse {
                query, param_types, ..
            } => self.parse(conn, &query, &param_types)?,
            Event::Execute { portal, max_rows } => self.execute(conn, &portal, max_rows)?,
            Event::CopyData(data) => {
                if let Some(copy) = &mut self.copy_in {
                    if copy.data.len() + data.len() > MAX_COPY_BYTES {
                        copy.too_big = true; // reported at CopyDone; the rest is dropped
                        copy.data = Vec::new();
                    } else if !copy.too_big {
                        copy.data.extend_from_slice(&data);
                    }
                }
            }
            Event::CopyDone => self.copy_done(conn)?,
            Event::CopyFail { .. } => {
                self.copy_in = None;
                self.queue.clear();
            }
            Event::FunctionCall(_) => {
                conn.error(PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "function calls are not supported",
                ))?;
            }
            _ => {}
        }
        Ok(Next::Continue)
    }

    fn deliver_notifications(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        Session::deliver_notifications(self, conn)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.server.peers().remove(&self.process_id);
    }
}

// ----- helpers --------------------------------------------------------------------------------------

/// Sends rows (at most `limit`, 0 for all) in the given formats; returns how many were sent.
fn send_rows(
    conn: &mut Conn,
    types: &[u32],
    formats: &[Format],
    rows: &mut VecDeque<Vec<Value>>,
    limit: usize,
) -> Result<usize, Fail> {
    let mut sent = 0;
    while limit == 0 || sent < limit {
        let Some(row) = rows.pop_front() else { break };
        conn.write_row(|w| {
            for ((value, ty), format) in row.iter().zip(types).zip(formats) {
                values::write(w, value, *ty, *format, &SESSION)?;
            }
            Ok(())
        })?;
        sent += 1;
    }
    Ok(sent)
}

fn start_copy_in(conn: &mut Conn, copy: &CopyIn) -> Result<(), ApiError> {
    let (format, code) = if copy.options.binary {
        (Format::Binary, 1)
    } else {
        (Format::Text, 0)
    };
    conn.start_copy_in(format, &vec![code; copy.columns.len()])
}

fn send_copy_out(conn: &mut Conn, lines: &[Vec<u8>], columns: usize) -> Result<(), ApiError> {
    conn.start_copy_out(Format::Text, &vec![0; columns])?;
    for line in lines {
        conn.copy_data(line)?;
    }
    conn.copy_done()?;
    conn.command_complete(&format!("COPY {}", lines.len()))
}

/// What a value costs in memory, roughly.
fn value_size(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Text(t) => t.len(),
            Value::Blob(b) => b.len(),
            _ => 0,
        }
}

/// `a / b` as PostgreSQL computes it: integer division truncates, a zero divisor fails.
fn divide(a: Value, b: Value) -> rusqlite::Result<Value> {
    let zero = || rusqlite::Error::UserFunctionError("division by zero".into());
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(Value::Integer(*i)),
        Value::Real(f) => Some(Value::Real(*f)),
        Value::Text(t) => t
            .trim()
            .parse()
            .map(Value::Integer)
            .or_else(|_| t.trim().parse().map(Value::Real))
            .ok(),
        Value::Null | Value::Blob(_) => None,
    };
    let (Some(a), Some(b)) = (number(&a), number(&b)) else {
        return Ok(Value::Null);
    };
    Ok(match (a, b) {
        (_, Value::Integer(0)) => return Err(zero()),
        (_, Value::Real(0.0)) => return Err(zero()),
        (Value::Integer(x), Value::Integer(y)) => match x.checked_div(y) {
            Some(q) => Value::Integer(q),
            None => {
                return Err(rusqlite::Error::UserFunctionError(
                    "bigint out of range".into(),
                ));
            }
        },
        (x, y) => {
            let f = |v: Value| {
                if let Value::Integer(i) = v {
                    i as f64
                } else if let Value::Real(r) = v {
                    r
                } else {
                    0.0
                }
            };
            Value::Real(f(x) / f(y))
        }
    })
}

/// A result column's name as PostgreSQL gives it: SQLite names an expression column by its
/// text (`1`, `count(*)`); PostgreSQL by the function it calls (`count`) or `?column?`.
fn column_name(name: &str, decl: Option<&str>) -> String {
    let ident = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit()
    };
    if decl.is_some() || ident(name) {
        return name.to_string();
    }
    match name.split_once('(') {
        Some((f, _)) if ident(f.trim()) => f.trim().to_ascii_lowercase(),
        _ => "?column?".to_string(),
    }
}

/// Sends a WARNING notice.
fn warn(conn: &mut Conn, code: &str, message: &str) -> Result<(), ApiError> {
    let mut notice = PgError::new(state(code), message);
    notice.severity = Severity::Warning;
    conn.notice(&notice)
}

/// The value of a literal: quotes removed and doubled quotes undone.
fn unquote(s: &str) -> String {
    let s = s.strip_prefix('E').unwrap_or(s);
    match s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => s.to_string(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One COPY line in text or CSV format, with its newline.
fn copy_line(fields: &[Option<Vec<u8>>], options: &CopyOptions) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(options.delimiter);
        }
        match field {
            None => line.extend_from_slice(options.null.as_bytes()),
            Some(v) if options.csv => {
                let quote = v.is_empty()
                    || v.iter()
                        .any(|&b| b == options.delimiter || b == b'"' || b == b'\n' || b == b'\r')
                    || v == options.null.as_bytes();
                if quote {
                    line.push(b'"');
                    for &b in v {
                        if b == b'"' {
                            line.push(b'"');
                        }
                        line.push(b);
                    }
                    line.push(b'"');
                } else {
                    line.extend_from_slice(v);
                }
            }
            Some(v) => {
                for &b in v {
                    match b {
                        b'\\' => line.extend_from_slice(b"\\\\"),
                        b'\n' => line.extend_from_slice(b"\\n"),
                        b'\r' => line.extend_from_slice(b"\\r"),
                        b'\t' => line.extend_from_slice(b"\\t"),
                        _ if b == options.delimiter => {
                            line.push(b'\\');
                            line.push(b);
                        }
                        _ => line.push(b),
                    }
                }
            }
        }
    }
    line.push(b'\n');
    line
}

/// Reads binary COPY data into rows of fields (`None`: NULL).
fn parse_binary_copy(data: &[u8]) -> Result<Vec<Vec<Option<Vec<u8>>>>, PgError> {
    let copy_error = |e: types::CopyError| PgError::new(e.sqlstate(), e.to_string());
    let mut reader = types::BinaryCopyReader::new();
    reader.feed_slice(data);
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row().map_err(copy_error)? {
        rows.push(row.iter().map(|v| v.map(<[u8]>::to_vec)).collect());
    }
    reader.finish().map_err(copy_error)?;
    Ok(rows)
}

/// Splits COPY FROM data into rows of fields (`None`: NULL).
fn parse_copy(data: &[u8], options: &CopyOptions) -> Result<Vec<Vec<Option<Vec<u8>>>>, PgError> {
    let mut rows = Vec::new();
    let mut i = 0;
    let bad = |m: &str| PgError::new(SqlState::BAD_COPY_FILE_FORMAT, m.to_string());
    while i < data.len() {
        if data[i..].starts_with(b"\\.\n")
            || &data[i..] == b"\\."
            || data[i..].starts_with(b"\\.\r\n")
        {
            break;
        }
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut null = false;
        while let Some(&b) = data.get(i) {
            i += 1;
            if options.csv {
                if quoted {
                    if b == b'"' {
                        if data.get(i) == Some(&b'"') {
                            field.push(b'"');
                            i += 1;
                        } else {
                            quoted = false;
                        }
                    } else {
                        field.push(b);
                    }
                    continue;
                }
                if b == b'"' {
                    quoted = true;
                    was_quoted = true;
                    continue;
                }
            } else if b == b'\\' {
                let Some(&e) = data.get(i) else {
                    return Err(bad("end-of-copy marker corrupt"));
                };
                i += 1;
                match e {
                    b'N' => null = true,
                    b'n' => field.push(b'\n'),
                    b'r' => field.push(b'\r'),
                    b't' => field.push(b'\t'),
                    b'b' => field.push(8),
                    b'f' => field.push(12),
                    b'v' => field.push(11),
                    other => field.push(other),
                }
                continue;
            }
            if b == options.delimiter || b == b'\n' {
                fields.push(finish_field(
                    std::mem::take(&mut field),
                    was_quoted,
                    null,
                    options,
                ));
                (was_quoted, null) = (false, false);
                if b == b'\n' {
                    break;
                }
                continue;
            }
            if b == b'\r' && data.get(i) == Some(&b'\n') {
                continue;
            }
            field.push(b);
        }
        if quoted {
            return Err(bad("unterminated CSV quoted field"));
        }
        if data.get(i.wrapping_sub(1)) != Some(&b'\n') {
            // The last line had no newline.
            fields.push(finish_field(field, was_quoted, null, options));
        }
        rows.push(fields);
    }
    Ok(rows)
}

/// A parsed field: NULL if it was `\N` (text) or is the null marker unquoted (CSV).
fn finish_field(
    field: Vec<u8>,
    quoted: bool,
    null: bool,
    options: &CopyOptions,
) -> Option<Vec<u8>> {
    if options.csv {
        (quoted || field != options.null.as_bytes()).then_some(field)
    } else {
        (!null && field != options.null.as_bytes()).then_some(field)
    }
}
