//! What every pgproto server example serves, and the command line they share.
//!
//! The examples differ only in how they move bytes (threads, tokio, smol); the application, a
//! tiny fake database, lives here, written against `pgproto::server::Connection` alone:
//!
//! | SQL | result |
//! |---|---|
//! | `SELECT 1`, `SELECT $1::int + 1`, `SELECT 1/0`, ... | one int4 column `?column?`: integer arithmetic (`+ - * / %`, parentheses, `$n` parameters, `::int` casts) |
//! | `SELECT id, name FROM items ORDER BY id`, `SELECT * FROM items [ORDER BY id] [LIMIT n]` | the table `items (id int4, name text)`, shared by all connections |
//! | `SELECT count(*) FROM items` | int8 |
//! | `SELECT * FROM bench_rows(n)` | `n` generated rows (any `n` up to 2^31 - 1, streamed as the client takes them) of `id int4, big int8, label text, ratio float8, even bool, ts timestamptz`: for row `g` = 1..n, `g`, `g * 7`, `'row ' \|\| g`, `g + 0.5`, `g % 2 = 0`, `2024-01-01 00:00:00.123457+00` plus `g` seconds (scripts/bench-e2e.sh has the PostgreSQL query giving the same rows) |
//! | `COPY items TO STDOUT`, `COPY items FROM STDIN` | text format, or binary with `(FORMAT binary)` |
//! | `LISTEN ch`, `UNLISTEN ch`, `UNLISTEN *`, `NOTIFY ch [, 'payload']` | notifications between connections (at COMMIT inside a transaction) |
//! | `SELECT pg_sleep(N)` | sleeps; a CancelRequest from another connection ends it with 57014 |
//! | `BEGIN`, `COMMIT`, `ROLLBACK` (and `START TRANSACTION`, `END`, `ABORT`) | the transaction status; after an error in a block only COMMIT/ROLLBACK are accepted (25P02) |
//! | `SET name = value`, `SET name TO value`, `SHOW name` | session settings; reported ones (application_name, DateStyle, ...) go out as ParameterStatus |
//!
//! Anything else is `42601 syntax error at or near ...`. A simple query may hold several
//! statements separated by semicolons; an error skips the rest. In the extended protocol, Parse
//! plans the statement (unknown SQL fails there, as in PostgreSQL), Execute runs it with the
//! portal's parameters and honours row limits (PortalSuspended) and result formats. The table is
//! not transactional: COPY FROM appends at once.
//!
//! A [`Session`] is the application side of one connection: the driver gives it every event of
//! its `Connection` except the transport's own (TLS negotiation and `Terminated`), and the
//! session answers on the connection. `pg_sleep` is the one statement that takes time: the
//! session then returns [`Next::Resume`] and the driver waits as it likes (a thread sleep, a
//! timer) before calling [`Session::resume`]. A large result pauses the same way whenever the
//! connection's output is full (`Connection::output_full`), resuming at once: the driver writes
//! what is buffered first, so a slow client holds the rows back instead of the server's memory
//! filling up with them.
//!
//! The command line is `options.rs`'s; the driving loop around the connection is `driver.rs`'s.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::auth::{OsRandom, RandomSource};

use crate::driver::{App, Next};
use crate::options::Options;
use crate::settings::Settings;
use pgproto::message::{Bind, Format, PgStr, TransactionStatus};
use pgproto::server::{
    ApiError, Column, Config, Connection, Event, PgError, Replication, Severity, Startup,
};
use pgproto::types::{
    self, BinaryCopyReader, BinaryCopyWriter, Encode, RowWriter, TimestampTz, ValueError, oid,
};

/// The connection type every example drives: statements carry their [`Plan`], portals the rows
/// an Execute has not sent yet.
pub type Conn = Connection<Plan, Rows>;

// ----- what the connections share -------------------------------------------------------------

/// The server: its options and everything the sessions share.
pub struct Server {
    /// The command line.
    pub options: Options,
    /// The table `items (id int4, name text)`.
    items: Mutex<Vec<(i32, Option<String>)>>,
    /// The authenticated sessions by process id, for cancels and notifications.
    peers: Mutex<HashMap<i32, Peer>>,
    next_pid: AtomicI32,
    /// Salts the mock SCRAM exchanges of unknown users the same way on every connection.
    mock_secret: [u8; 32],
}

struct Peer {
    cancel_key: Vec<u8>,
    cancel: Arc<AtomicBool>,
    channels: HashSet<String>,
    inbox: mpsc::Sender<Notification>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// A NOTIFY on its way to a listening session.
pub struct Notification {
    process_id: i32,
    channel: String,
    payload: String,
}

impl Server {
    /// A server for the command line's options, with the table's initial rows.
    pub fn from_args() -> Server {
        Server::new(Options::from_args())
    }

    /// A server with these options.
    pub fn new(options: Options) -> Server {
        let mut mock_secret = [0; 32];
        let _ = OsRandom.fill(&mut mock_secret);
        let items = [(1, "one"), (2, "two"), (3, "three")];
        Server {
            options,
            items: Mutex::new(items.map(|(id, n)| (id, Some(n.to_string()))).to_vec()),
            peers: Mutex::new(HashMap::new()),
            next_pid: AtomicI32::new(1000),
            mock_secret,
        }
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Peer>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn items(&self) -> std::sync::MutexGuard<'_, Vec<(i32, Option<String>)>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A CancelRequest: flags the session's running statement if the key matches.
    fn cancel(&self, process_id: i32, key: &[u8]) {
        if let Some(peer) = self.peers().get(&process_id)
            && constant_time_eq(&peer.cancel_key, key)
        {
            peer.cancel.store(true, Ordering::SeqCst);
        }
    }

    fn notify(&self, process_id: i32, channel: &str, payload: &str) {
        for peer in self.peers().values() {
            if peer.channels.contains(channel) {
                let n = Notification {
                    process_id,
                    channel: channel.to_string(),
                    payload: payload.to_string(),
                };
                if peer.inbox.send(n).is_ok()
                    && let Some(wake) = &peer.wake
                {
                    wake();
                }
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ----- one session -----------------------------------------------------------------------------

/// How a statement's results go out.
#[derive(Clone)]
enum Mode {
    /// Part of a simple query: text rows with a RowDescription, the rest of the query after it.
    Simple,
    /// An Execute of this portal.
    Extended { portal: PgStr, max_rows: u32 },
}

/// The application side of one connection.
pub struct Session {
    server: Arc<Server>,
    process_id: i32,
    cancel: Arc<AtomicBool>,
    inbox: mpsc::Receiver<Notification>,
    inbox_tx: mpsc::Sender<Notification>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    settings: Settings,
    /// The statements of a simple query still to run.
    queue: VecDeque<Plan>,
    /// The pg_sleep in progress: when it ends, and where its result goes.
    sleeping: Option<(Instant, Mode)>,
    /// The result paused because the output was full.
    streaming: Option<Streaming>,
    /// The COPY FROM STDIN in progress.
    copy_in: Option<(CopyIn, Mode)>,
    /// NOTIFYs of the open transaction, sent at COMMIT.
    pending_notifies: Vec<(String, String)>,
}

/// A COPY FROM STDIN collecting its data.
pub struct CopyIn {
    binary: bool,
    data: Vec<u8>,
    /// More than [`MAX_COPY_BYTES`] arrived.
    too_big: bool,
}

/// The most COPY FROM data one statement may send (it is collected, then parsed).
const MAX_COPY_BYTES: usize = 64 << 20;

impl Session {
    /// A session for a new connection, with its own process id.
    pub fn new(server: Arc<Server>) -> Session {
        let (inbox_tx, inbox) = mpsc::channel();
        let process_id = server.next_pid.fetch_add(1, Ordering::Relaxed);
        let settings = Settings::new();
        Session {
            server,
            process_id,
            cancel: Arc::new(AtomicBool::new(false)),
            inbox,
            inbox_tx,
            wake: None,
            settings,
            queue: VecDeque::new(),
            sleeping: None,
            streaming: None,
            copy_in: None,
            pending_notifies: Vec::new(),
        }
    }

    /// The configuration for this session's `Connection`.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.process_id = self.process_id;
        config.authentication_timeout = self.server.options.auth_timeout;
        config.mock_secret = Some(self.server.mock_secret);
        config
    }

    /// Asks for `wake` to be called when a notification for this session arrives (an async
    /// driver wakes its task with it; a blocking one polls instead). Call it before the
    /// session is authenticated.
    #[allow(dead_code)]
    pub fn on_notification(&mut self, wake: impl Fn() + Send + Sync + 'static) {
        self.wake = Some(Arc::new(wake));
    }

    /// Hands notifications from other sessions to the connection, which sends them at once
    /// when the session is idle outside a transaction and otherwise just before the
    /// ReadyForQuery that ends the statement or transaction. The driver calls it whenever it
    /// wakes up; the session also calls it before each ReadyForQuery it causes.
    pub fn deliver_notifications(&mut self, conn: &mut Conn) -> Result<(), ApiError> {
        while !conn.is_closed()
            && let Ok(n) = self.inbox.try_recv()
        {
            conn.notify(n.process_id, &n.channel, &n.payload)?;
        }
        Ok(())
    }

    /// Answers an event (any but TlsRequested, DirectTls and Terminated, which are the
    /// driver's).
    pub fn handle(&mut self, conn: &mut Conn, event: Event) -> Result<Next, ApiError> {
        self.deliver_notifications(conn)?;
        let next = match event {
            Event::Startup(startup) => {
                self.startup(conn, startup)?;
                Next::Continue
            }
            Event::Authenticated { .. } => {
                self.register(conn);
                Next::Continue
            }
            Event::CancelRequested {
                process_id,
                secret_key,
            } => {
                self.server.cancel(process_id, &secret_key);
                Next::Continue
            }
            Event::Query { sql } => self.query(conn, &sql)?,
            Event::Parse {
                query, param_types, ..
            } => {
                self.parse(conn, &query, &param_types)?;
                Next::Continue
            }
            Event::Execute { portal, max_rows } => self.execute(conn, portal, max_rows)?,
            Event::CopyData(data) => {
                if let Some((copy, _)) = &mut self.copy_in {
                    if copy.data.len() + data.len() > MAX_COPY_BYTES {
                        copy.too_big = true; // reported at CopyDone; the rest is dropped
                        copy.data = Vec::new();
                    } else if !copy.too_big {
                        copy.data.extend_from_slice(&data);
                    }
                }
                Next::Continue
            }
            Event::CopyDone => match self.copy_in.take() {
                Some((copy, mode)) => {
                    let outcome = self.copy_rows_in(&copy);
                    self.finish(conn, mode, outcome)?
                }
                None => Next::Continue,
            },
            Event::CopyFail { .. } => {
                // The connection has sent the error (and ReadyForQuery, in a simple query).
                self.copy_in = None;
                self.queue.clear();
                Next::Continue
            }
            Event::FunctionCall(_) => {
                let e = PgError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    "function calls are not supported",
                );
                self.fail(conn, e)?;
                Next::Continue
            }
            _ => Next::Continue,
        };
        Ok(next)
    }

    /// Goes on with a paused result (once the driver has written the output) or a sleeping
    /// statement (ending it if it was cancelled or its time has come).
    pub fn resume(&mut self, conn: &mut Conn, now: Instant) -> Result<Next, ApiError> {
        self.deliver_notifications(conn)?;
        if let Some(streaming) = self.streaming.take() {
            if self.cancel.load(Ordering::SeqCst) {
                return self.finish(conn, streaming.mode, Err(canceled()));
            }
            let simple = matches!(streaming.mode, Mode::Simple);
            let paused = self.stream(conn, streaming)?;
            return self.go_on(conn, simple, paused);
        }
        let Some((until, mode)) = self.sleeping.take() else {
            return Ok(Next::Continue);
        };
        let outcome = if self.cancel.load(Ordering::SeqCst) {
            Err(canceled())
        } else if now < until {
            self.sleeping = Some((until, mode));
            return Ok(Next::Resume(until));
        } else {
            let column = Column {
                type_size: 4,
                ..Column::new("pg_sleep", VOID)
            };
            Ok(Outcome::Rows(Rows::new(
                vec![column],
                vec![vec![Value::Void]],
            )))
        };
        self.finish(conn, mode, outcome)
    }

    fn startup(&mut self, conn: &mut Conn, startup: Startup) -> Result<(), ApiError> {
        if startup.replication != Replication::None {
            let e = PgError::fatal(
                SqlState::FEATURE_NOT_SUPPORTED,
                "replication is not supported",
            );
            return conn.reject(e);
        }
        for (name, value) in startup.settings {
            self.settings.set(&name, &value);
        }
        conn.authenticate(
            self.server
                .options
                .auth_for(&startup.user.to_string_lossy()),
        )
    }

    /// Makes the session findable by CancelRequests and NOTIFYs.
    fn register(&mut self, conn: &Conn) {
        let peer = Peer {
            cancel_key: conn.cancel_key().1.to_vec(),
            cancel: self.cancel.clone(),
            channels: HashSet::new(),
            inbox: self.inbox_tx.clone(),
            wake: self.wake.clone(),
        };
        self.server.peers().insert(self.process_id, peer);
    }

    fn query(&mut self, conn: &mut Conn, sql: &PgStr) -> Result<Next, ApiError> {
        self.cancel.store(false, Ordering::SeqCst);
        let plans = match sql.to_str() {
            Ok(sql) => plan_statements(sql),
            Err(_) => Err(invalid_utf8()),
        };
        match plans {
            Ok(plans) if plans.is_empty() => conn.empty_query()?,
            Ok(plans) => self.queue = plans.into(),
            Err(e) => self.fail(conn, e)?,
        }
        self.run_queue(conn)
    }

    /// Runs the simple query's statements until one waits (pg_sleep, COPY FROM STDIN) or all
    /// are done.
    fn run_queue(&mut self, conn: &mut Conn) -> Result<Next, ApiError> {
        while let Some(plan) = self.queue.pop_front() {
            let outcome = self.run(conn, &plan, &[]);
            if let Some(wait) = self.complete(conn, Mode::Simple, outcome)? {
                return Ok(wait);
            }
        }
        self.deliver_notifications(conn)?;
        conn.query_done(conn.transaction_status())?;
        Ok(Next::Continue)
    }

    fn parse(
        &mut self,
        conn: &mut Conn,
        query: &PgStr,
        client_types: &[u32],
    ) -> Result<(), ApiError> {
        let plan = match query.to_str() {
            Ok(sql) => plan_statement(sql),
            Err(_) => Err(invalid_utf8()),
        };
        let plan = match plan.and_then(|plan| check_transaction(conn, &plan).map(|()| plan)) {
            Ok(plan) => plan,
            Err(e) => return self.fail(conn, e),
        };
        // Parameters the client typed keep their type; the others are int4 (`$1::int`).
        let count = plan.param_count().max(client_types.len());
        let param_types = (0..count)
            .map(|i| match client_types.get(i) {
                Some(&ty) if ty != 0 => ty,
                _ => oid::INT4,
            })
            .collect();
        let columns = plan.columns();
        conn.parse_complete(param_types, columns, plan)
    }

    fn execute(&mut self, conn: &mut Conn, portal: PgStr, max_rows: u32) -> Result<Next, ApiError> {
        self.cancel.store(false, Ordering::SeqCst);
        if let Some(rows) = conn
            .portal_mut(portal.as_bytes())
            .and_then(|p| p.data.take())
        {
            // An earlier Execute stopped at its row limit: go on from there.
            let mode = Mode::Extended { portal, max_rows };
            let paused = self.start_stream(conn, mode, rows)?;
            return self.go_on(conn, false, paused);
        }
        let outcome = match bound_statement(conn, &portal) {
            Ok((plan, params)) => self.run(conn, &plan, &params),
            Err(e) => Err(e),
        };
        self.finish(conn, Mode::Extended { portal, max_rows }, outcome)
    }

    /// Sends a statement's outcome, then goes on with the rest of a simple query.
    fn finish(
        &mut self,
        conn: &mut Conn,
        mode: Mode,
        outcome: Result<Outcome, PgError>,
    ) -> Result<Next, ApiError> {
        let simple = matches!(mode, Mode::Simple);
        let paused = self.complete(conn, mode, outcome)?;
        self.go_on(conn, simple, paused)
    }

    /// After a statement's outcome: waits if it is not over (`paused`), else goes on with the
    /// rest of a simple query.
    fn go_on(
        &mut self,
        conn: &mut Conn,
        simple: bool,
        paused: Option<Next>,
    ) -> Result<Next, ApiError> {
        match paused {
            Some(wait) => Ok(wait),
            None if simple => self.run_queue(conn),
            None => Ok(Next::Continue),
        }
    }

    /// Sends a statement's outcome; `Some` when the statement is not over yet.
    fn complete(
        &mut self,
        conn: &mut Conn,
        mode: Mode,
        outcome: Result<Outcome, PgError>,
    ) -> Result<Option<Next>, ApiError> {
        match outcome {
            Err(e) => self.fail(conn, e)?,
            Ok(Outcome::Sleep(until)) => {
                self.sleeping = Some((until, mode));
                return Ok(Some(Next::Resume(until)));
            }
            Ok(Outcome::CopyIn(copy)) => {
                let format = if copy.binary {
                    Format::Binary
                } else {
                    Format::Text
                };
                conn.start_copy_in(format, &[format.code(); 2])?;
                self.copy_in = Some((copy, mode));
                return Ok(Some(Next::Continue));
            }
            Ok(Outcome::CopyOut {
                format,
                chunks,
                rows,
            }) => {
                conn.start_copy_out(format, &[format.code(); 2])?;
                for chunk in &chunks {
                    conn.copy_data(chunk)?;
                }
                conn.copy_done()?;
                conn.command_complete(&format!("COPY {rows}"))?;
            }
            Ok(Outcome::Command { tag, warning }) => {
                if let Some(w) = warning {
                    conn.notice(&w)?;
                }
                conn.command_complete(&tag)?;
            }
            Ok(Outcome::Empty) => conn.empty_query()?,
            Ok(Outcome::Rows(rows)) => {
                if let Mode::Simple = mode {
                    conn.row_description(&rows.columns)?;
                }
                return self.start_stream(conn, mode, rows);
            }
        }
        Ok(None)
    }

    /// Starts sending a result: all of it in a simple query, up to the Execute's row limit in
    /// the portal's result formats otherwise. `Some` when the output filled up first.
    fn start_stream(
        &mut self,
        conn: &mut Conn,
        mode: Mode,
        rows: Rows,
    ) -> Result<Option<Next>, ApiError> {
        let formats = match &mode {
            Mode::Simple => Vec::new(),
            Mode::Extended { portal, .. } => match conn.portal(portal.as_bytes()) {
                Some(p) => (0..rows.columns.len())
                    .map(|i| p.column_format(i))
                    .collect(),
                None => Vec::new(),
            },
        };
        let streaming = Streaming {
            mode,
            rows,
            formats,
            sent: 0,
        };
        self.stream(conn, streaming)
    }

    /// Sends rows until the result or the Execute's row limit ends, then completes the
    /// statement (or suspends the portal). Stops early, keeping its place, when the output is
    /// full: `Some` is then what the driver should do before [`Session::resume`] goes on.
    fn stream(&mut self, conn: &mut Conn, mut s: Streaming) -> Result<Option<Next>, ApiError> {
        let max_rows = match s.mode {
            Mode::Simple => 0,
            Mode::Extended { max_rows, .. } => max_rows,
        };
        while max_rows == 0 || s.sent < max_rows {
            if conn.output_full() {
                self.streaming = Some(s);
                return Ok(Some(Next::Resume(Instant::now())));
            }
            if !s.rows.write_next(conn, &s.formats)? {
                break;
            }
            s.sent += 1;
        }
        let tag = s.rows.tag(s.sent as usize);
        if let Mode::Extended { portal, .. } = &s.mode {
            // The portal keeps the rest for the next Execute.
            if let Some(p) = conn.portal_mut(portal.as_bytes()) {
                p.data = Some(s.rows);
            }
            // Like PostgreSQL, a portal that delivered exactly the limit is suspended even if
            // it has no more rows; the next Execute then completes with 0 rows.
            if max_rows > 0 && s.sent == max_rows {
                conn.portal_suspended()?;
                return Ok(None);
            }
        }
        conn.command_complete(&tag)?;
        Ok(None)
    }

    /// Sends an error for the current statement and skips the rest of a simple query (the
    /// connection fails an open transaction block itself).
    fn fail(&mut self, conn: &mut Conn, error: PgError) -> Result<(), ApiError> {
        self.queue.clear();
        conn.error(error)
    }

    /// Runs one statement.
    fn run(
        &mut self,
        conn: &mut Conn,
        plan: &Plan,
        params: &[Option<i64>],
    ) -> Result<Outcome, PgError> {
        use TransactionStatus::{Failed, Idle, InTransaction};
        let status = conn.transaction_status();
        check_transaction(conn, plan)?;
        let command = |tag: &str| Outcome::Command {
            tag: tag.to_string(),
            warning: None,
        };
        Ok(match plan {
            Plan::Empty => Outcome::Empty,
            Plan::Select(expr) => {
                let value = expr
                    .eval(params)?
                    .map_or(Value::Null, |v| Value::Int4(v as i32));
                Outcome::Rows(Rows::new(
                    plan.columns().unwrap_or_default(),
                    vec![vec![value]],
                ))
            }
            Plan::Items {
                count,
                sorted,
                limit,
            } => {
                let mut items = self.server.items().clone();
                let rows = if *count {
                    vec![vec![Value::Int8(items.len() as i64)]]
                } else {
                    if *sorted {
                        items.sort_by_key(|(id, _)| *id);
                    }
                    items.truncate(limit.unwrap_or(usize::MAX));
                    let text = |name: Option<String>| name.map_or(Value::Null, Value::Text);
                    items
                        .into_iter()
                        .map(|(id, name)| vec![Value::Int4(id), text(name)])
                        .collect()
                };
                Outcome::Rows(Rows::new(plan.columns().unwrap_or_default(), rows))
            }
            Plan::Sleep(secs) => Outcome::Sleep(Instant::now() + Duration::from_secs_f64(*secs)),
            Plan::BenchRows(n) => Outcome::Rows(Rows {
                columns: bench_columns(),
                rows: RowSource::Bench(1..=*n),
                command: "SELECT",
            }),
            Plan::CopyOut { binary } => self.copy_rows_out(*binary)?,
            Plan::CopyIn { binary } => Outcome::CopyIn(CopyIn {
                binary: *binary,
                data: Vec::new(),
                too_big: false,
            }),
            Plan::Listen(channel) => {
                if let Some(peer) = self.server.peers().get_mut(&self.process_id) {
                    peer.channels.insert(channel.clone());
                }
                command("LISTEN")
            }
            Plan::Unlisten(channel) => {
                if let Some(peer) = self.server.peers().get_mut(&self.process_id) {
                    match channel {
                        Some(c) => drop(peer.channels.remove(c)),
                        None => peer.channels.clear(),
                    }
                }
                command("UNLISTEN")
            }
            Plan::Notify(channel, payload) => {
                if status == Idle {
                    self.server.notify(self.process_id, channel, payload);
                } else {
                    self.pending_notifies
                        .push((channel.clone(), payload.clone()));
                }
                command("NOTIFY")
            }
            Plan::Begin => {
                conn.set_transaction_status(InTransaction);
                let warning = (status != Idle).then(|| {
                    warning(
                        Some(SqlState::ACTIVE_SQL_TRANSACTION),
                        "there is already a transaction in progress",
                    )
                });
                Outcome::Command {
                    tag: "BEGIN".into(),
                    warning,
                }
            }
            Plan::Commit | Plan::Rollback => {
                conn.set_transaction_status(Idle);
                let notifies = std::mem::take(&mut self.pending_notifies);
                if status == InTransaction && *plan == Plan::Commit {
                    for (channel, payload) in notifies {
                        self.server.notify(self.process_id, &channel, &payload);
                    }
                }
                // COMMIT of a failed transaction rolls it back, and says so.
                let tag = if *plan == Plan::Commit && status != Failed {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                let warning = (status == Idle).then(|| {
                    warning(
                        Some(SqlState::NO_ACTIVE_SQL_TRANSACTION),
                        "there is no transaction in progress",
                    )
                });
                Outcome::Command {
                    tag: tag.into(),
                    warning,
                }
            }
            Plan::Set(name, value) => {
                let name = self.settings.set(name, value);
                if Settings::is_reported(&name) {
                    conn.set_parameter(&name, value)
                        .map_err(|e| PgError::new(SqlState::INTERNAL_ERROR, e.to_string()))?;
                }
                command("SET")
            }
            Plan::Show(name) => {
                let Some((name, value)) = self.settings.get(name) else {
                    let msg = format!("unrecognized configuration parameter \"{name}\"");
                    return Err(PgError::new(SqlState::UNDEFINED_OBJECT, msg));
                };
                let column = Column::new(name, oid::TEXT);
                let mut rows = Rows::new(vec![column], vec![vec![Value::Text(value.into())]]);
                rows.command = "SHOW";
                Outcome::Rows(rows)
            }
        })
    }

    fn copy_rows_out(&self, binary: bool) -> Result<Outcome, PgError> {
        let items = self.server.items().clone();
        let mut chunks = Vec::with_capacity(items.len() + 1);
        if binary {
            // One CopyData per row, the header with the first and the trailer alone.
            let mut w = BinaryCopyWriter::new();
            let mut out = BytesMut::new();
            w.header(&mut out).map_err(copy_error)?;
            for (id, name) in &items {
                w.begin_row(&mut out, 2).map_err(copy_error)?;
                w.field(&mut out, id, oid::INT4).map_err(copy_error)?;
                w.field(&mut out, name, oid::TEXT).map_err(copy_error)?;
                chunks.push(out.split().to_vec());
            }
            w.finish(&mut out).map_err(copy_error)?;
            chunks.push(out.to_vec());
        } else {
            for (id, name) in &items {
                let name = name
                    .as_deref()
                    .map_or_else(|| "\\N".to_string(), copy_escape);
                chunks.push(format!("{id}\t{name}\n").into_bytes());
            }
        }
        let format = if binary { Format::Binary } else { Format::Text };
        Ok(Outcome::CopyOut {
            format,
            chunks,
            rows: items.len(),
        })
    }

    /// Parses COPY FROM STDIN data and appends the rows.
    fn copy_rows_in(&self, copy: &CopyIn) -> Result<Outcome, PgError> {
        if copy.too_big {
            let msg = format!("COPY data larger than {} MB", MAX_COPY_BYTES >> 20);
            return Err(PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg));
        }
        let mut rows = Vec::new();
        if copy.binary {
            let mut reader = BinaryCopyReader::with_fields(2);
            reader.feed_slice(&copy.data);
            while let Some(row) = reader.next_row().map_err(copy_error)? {
                let mut fields = row.iter();
                let mut next = || fields.next().flatten();
                let id: i32 =
                    types::decode(next(), oid::INT4, Format::Binary, &types::Session::UTC)?;
                let name: Option<String> =
                    types::decode(next(), oid::TEXT, Format::Binary, &types::Session::UTC)?;
                rows.push((id, name));
            }
            reader.finish().map_err(copy_error)?;
        } else {
            let text = std::str::from_utf8(&copy.data).map_err(|_| invalid_utf8())?;
            for line in text.lines() {
                if line == "\\." {
                    break;
                }
                let mut fields = line.split('\t');
                let (Some(id), Some(name)) = (fields.next(), fields.next()) else {
                    return Err(bad_copy("missing data for column \"name\""));
                };
                if fields.next().is_some() {
                    return Err(bad_copy("extra data after last expected column"));
                }
                let id = id.parse().map_err(|_| {
                    PgError::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type integer: \"{id}\""),
                    )
                })?;
                rows.push((id, (name != "\\N").then(|| copy_unescape(name))));
            }
        }
        let n = rows.len();
        self.server.items().extend(rows);
        Ok(Outcome::Command {
            tag: format!("COPY {n}"),
            warning: None,
        })
    }
}

impl App<Plan, Rows> for Session {
    fn handle(&mut self, conn: &mut Conn, event: Event) -> Result<Next, ApiError> {
        Session::handle(self, conn, event)
    }

    fn resume(&mut self, conn: &mut Conn, now: Instant) -> Result<Next, ApiError> {
        Session::resume(self, conn, now)
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

/// In a failed transaction block only COMMIT and ROLLBACK run.
fn check_transaction(conn: &Conn, plan: &Plan) -> Result<(), PgError> {
    let exits = matches!(plan, Plan::Commit | Plan::Rollback);
    if conn.transaction_status() == TransactionStatus::Failed && !exits {
        let msg = "current transaction is aborted, commands ignored until end of transaction block";
        return Err(PgError::new(SqlState::IN_FAILED_SQL_TRANSACTION, msg));
    }
    Ok(())
}

/// The plan of the portal Execute names, and its parameters as integers.
fn bound_statement(conn: &Conn, portal: &PgStr) -> Result<(Plan, Vec<Option<i64>>), PgError> {
    let name = portal.as_bytes();
    let (Some(portal), Some(statement)) = (conn.portal(name), conn.portal_statement(name)) else {
        return Err(internal("Execute of a portal that does not exist"));
    };
    let types = &statement.param_types;
    let params = (0..portal.bind.params.len())
        .map(|i| int_param(&portal.bind, i, types))
        .collect::<Result<_, _>>()?;
    Ok((statement.data.clone(), params))
}

/// Reads parameter `i` as an integer: int2/int4/int8 in either format, or the text of another
/// type (PostgreSQL's cast from text).
fn int_param(bind: &Bind, i: usize, types: &[u32]) -> Result<Option<i64>, PgError> {
    let session = &types::Session::UTC;
    match types::param_type(types, i) {
        oid::INT2 | oid::INT4 | oid::INT8 => Ok(types::decode_param(bind, i, types, session)?),
        _ => {
            let text: Option<&str> = types::decode_param(bind, i, types, session)?;
            text.map(|t| {
                t.trim().parse().map_err(|_| {
                    PgError::new(
                        SqlState::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type integer: \"{t}\""),
                    )
                })
            })
            .transpose()
        }
    }
}

// ----- results ---------------------------------------------------------------------------------

/// What running a statement produced.
enum Outcome {
    Rows(Rows),
    Command {
        tag: String,
        warning: Option<PgError>,
    },
    Empty,
    Sleep(Instant),
    CopyOut {
        format: Format,
        chunks: Vec<Vec<u8>>,
        rows: usize,
    },
    CopyIn(CopyIn),
}

/// A result set: what a portal keeps between Executes.
#[derive(Debug, Default)]
pub struct Rows {
    columns: Vec<Column>,
    /// The rows not sent yet.
    rows: RowSource,
    /// The command tag's word (`SELECT n`, `SHOW`).
    command: &'static str,
}

/// Where a result's rows come from.
#[derive(Debug)]
enum RowSource {
    /// Values computed when the statement ran.
    Values(VecDeque<Vec<Value>>),
    /// `bench_rows(n)`: the rows of these `g`, made as they are sent.
    Bench(RangeInclusive<i32>),
}

impl Default for RowSource {
    fn default() -> RowSource {
        RowSource::Values(VecDeque::new())
    }
}

/// A result being sent: what a paused statement keeps.
struct Streaming {
    mode: Mode,
    rows: Rows,
    /// The result formats by column (none in a simple query: all text).
    formats: Vec<Format>,
    /// Rows sent by this statement or Execute.
    sent: u32,
}

impl Rows {
    fn new(columns: Vec<Column>, rows: Vec<Vec<Value>>) -> Rows {
        Rows {
            columns,
            rows: RowSource::Values(rows.into()),
            command: "SELECT",
        }
    }

    /// Writes the next row, if there is one left (`false`: there was none).
    fn write_next(&mut self, conn: &mut Conn, formats: &[Format]) -> Result<bool, ApiError> {
        match &mut self.rows {
            RowSource::Values(rows) => match rows.pop_front() {
                Some(row) => conn.write_row(|w| write_values(w, &row, formats))?,
                None => return Ok(false),
            },
            RowSource::Bench(range) => match range.next() {
                Some(g) => conn.write_row(|w| write_bench_row(w, g, formats))?,
                None => return Ok(false),
            },
        }
        Ok(true)
    }

    fn tag(&self, rows: usize) -> String {
        match self.command {
            "SELECT" => format!("SELECT {rows}"),
            other => other.to_string(),
        }
    }
}

/// A value in a result row.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Int4(i32),
    Int8(i64),
    Text(String),
    /// pg_sleep's result: an empty value in both formats.
    Void,
}

const VOID: u32 = 2278;

/// Writes a row, each column in its format (text when `formats` has none for it).
fn write_values(
    w: &mut RowWriter<'_>,
    row: &[Value],
    formats: &[Format],
) -> Result<(), ValueError> {
    let session = &types::Session::UTC;
    for (i, value) in row.iter().enumerate() {
        let format = formats.get(i).copied().unwrap_or(Format::Text);
        match value {
            Value::Null => w.null()?,
            Value::Int4(v) => w.value(v, oid::INT4, format, session)?,
            Value::Int8(v) => w.value(v, oid::INT8, format, session)?,
            Value::Text(v) => w.value(v.as_str(), oid::TEXT, format, session)?,
            Value::Void => w.raw(b"")?,
        }
    }
    Ok(())
}

/// The columns of `bench_rows(n)`.
fn bench_columns() -> Vec<Column> {
    [
        ("id", oid::INT4),
        ("big", oid::INT8),
        ("label", oid::TEXT),
        ("ratio", oid::FLOAT8),
        ("even", oid::BOOL),
        ("ts", oid::TIMESTAMPTZ),
    ]
    .into_iter()
    .map(|(name, ty)| Column::new(name, ty))
    .collect()
}

/// `bench_rows`' first timestamp, 2024-01-01 00:00:00.123457+00, in microseconds since
/// 2000-01-01 (8,766 days earlier). The fraction keeps the text form the same in servers that
/// always print six digits of it.
const BENCH_EPOCH: i64 = 8_766 * 86_400_000_000 + 123_457;

/// Writes row `g` of `bench_rows(n)`, each value typed, in its column's format.
fn write_bench_row(w: &mut RowWriter<'_>, g: i32, formats: &[Format]) -> Result<(), ValueError> {
    let session = &types::Session::UTC;
    let format = |i: usize| formats.get(i).copied().unwrap_or(Format::Text);
    let micros = BENCH_EPOCH + i64::from(g) * 1_000_000;
    let out_of_range = ValueError::OutOfRange {
        type_name: "timestamptz",
    };
    let ts = TimestampTz::from_pg_micros(micros).ok_or(out_of_range)?;
    w.value(&g, oid::INT4, format(0), session)?;
    w.value(&(i64::from(g) * 7), oid::INT8, format(1), session)?;
    w.value(&BenchLabel(g), oid::TEXT, format(2), session)?;
    w.value(&(f64::from(g) + 0.5), oid::FLOAT8, format(3), session)?;
    w.value(&(g % 2 == 0), oid::BOOL, format(4), session)?;
    w.value(&ts, oid::TIMESTAMPTZ, format(5), session)
}

/// `'row ' || g`, written straight into the row without a string of its own.
struct BenchLabel(i32);

impl Encode for BenchLabel {
    const TYPE: u32 = oid::TEXT;

    fn encode_text(&self, session: &types::Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(b"row ");
        self.0.encode_text(session, out)
    }

    fn encode_binary(&self, _ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        // A text value's binary form is its text.
        self.encode_text(&types::Session::UTC, out)
    }
}

/// The text COPY format's escapes.
fn copy_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn copy_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

// ----- errors ----------------------------------------------------------------------------------

fn warning(code: Option<SqlState>, message: &str) -> PgError {
    PgError {
        severity: Severity::Warning,
        ..PgError::new(code.unwrap_or(SqlState::WARNING), message)
    }
}

fn canceled() -> PgError {
    PgError::new(
        SqlState::QUERY_CANCELED,
        "canceling statement due to user request",
    )
}

fn internal(message: &str) -> PgError {
    PgError::new(SqlState::INTERNAL_ERROR, message)
}

fn invalid_utf8() -> PgError {
    PgError::new(
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        "invalid byte sequence for encoding \"UTF8\"",
    )
}

fn bad_copy(message: &str) -> PgError {
    PgError::new(SqlState::BAD_COPY_FILE_FORMAT, message)
}

fn copy_error(e: types::CopyError) -> PgError {
    PgError::new(e.sqlstate(), e.to_string())
}

// ----- planning: the SQL this catalog understands ----------------------------------------------

/// A planned statement: what a prepared statement keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// An empty statement (only in the extended protocol; a simple query of none is empty).
    Empty,
    /// `SELECT <integer expression>`.
    Select(Expr),
    /// `SELECT ... FROM items`.
    Items {
        count: bool,
        sorted: bool,
        limit: Option<usize>,
    },
    /// `SELECT pg_sleep(secs)`.
    Sleep(f64),
    /// `SELECT * FROM bench_rows(n)`.
    BenchRows(i32),
    CopyOut {
        binary: bool,
    },
    CopyIn {
        binary: bool,
    },
    Listen(String),
    /// `None`: `UNLISTEN *`.
    Unlisten(Option<String>),
    Notify(String, String),
    Begin,
    Commit,
    Rollback,
    Set(String, String),
    Show(String),
}

impl Plan {
    /// The result columns (`None`: the statement returns no rows).
    fn columns(&self) -> Option<Vec<Column>> {
        Some(match self {
            Plan::Select(_) => vec![Column::new("?column?", oid::INT4)],
            Plan::Items { count: true, .. } => vec![Column::new("count", oid::INT8)],
            Plan::Items { .. } => {
                vec![Column::new("id", oid::INT4), Column::new("name", oid::TEXT)]
            }
            Plan::Sleep(_) => vec![Column {
                type_size: 4,
                ..Column::new("pg_sleep", VOID)
            }],
            Plan::Show(name) => vec![Column::new(name.clone(), oid::TEXT)],
            Plan::BenchRows(_) => bench_columns(),
            _ => return None,
        })
    }

    fn param_count(&self) -> usize {
        match self {
            Plan::Select(e) => e.max_param(),
            _ => 0,
        }
    }
}

/// An int4 expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(i64),
    /// `$n` (1-based).
    Param(usize),
    Neg(Box<Expr>),
    Binary(Box<Expr>, char, Box<Expr>),
}

impl Expr {
    /// Evaluates with int4 semantics: every intermediate result must fit (22003), `/` and
    /// `%` by zero fail (22012), NULL in gives NULL out.
    fn eval(&self, params: &[Option<i64>]) -> Result<Option<i64>, PgError> {
        let value = match self {
            Expr::Number(n) => *n,
            Expr::Param(i) => match params.get(i - 1) {
                Some(Some(v)) => *v,
                Some(None) => return Ok(None),
                None => {
                    return Err(PgError::new(
                        SqlState::UNDEFINED_PARAMETER,
                        format!("there is no parameter ${i}"),
                    ));
                }
            },
            Expr::Neg(e) => match e.eval(params)? {
                Some(v) => -v,
                None => return Ok(None),
            },
            Expr::Binary(a, op, b) => {
                let (Some(a), Some(b)) = (a.eval(params)?, b.eval(params)?) else {
                    return Ok(None);
                };
                match op {
                    '/' | '%' if b == 0 => {
                        return Err(PgError::new(SqlState::DIVISION_BY_ZERO, "division by zero"));
                    }
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a / b,
                    _ => a % b,
                }
            }
        };
        if i32::try_from(value).is_err() {
            return Err(PgError::new(
                SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                "integer out of range",
            ));
        }
        Ok(Some(value))
    }

    fn max_param(&self) -> usize {
        match self {
            Expr::Number(_) => 0,
            Expr::Param(i) => *i,
            Expr::Neg(e) => e.max_param(),
            Expr::Binary(a, _, b) => a.max_param().max(b.max_param()),
        }
    }
}

/// Plans every statement of a simple query (none for an empty one). Like PostgreSQL, a query
/// with a statement it cannot parse runs none of them.
fn plan_statements(sql: &str) -> Result<Vec<Plan>, PgError> {
    let tokens = tokenize(sql)?;
    tokens
        .split(|t| t.kind == Tok::Op(';'))
        .filter(|statement| !statement.is_empty())
        .map(|statement| {
            let mut p = Parser {
                sql,
                tokens: statement,
                at: 0,
            };
            p.statement()
        })
        .collect()
}

/// Plans the one statement of a Parse.
fn plan_statement(sql: &str) -> Result<Plan, PgError> {
    let mut plans = plan_statements(sql)?;
    match plans.len() {
        0 => Ok(Plan::Empty),
        1 => Ok(plans.remove(0)),
        _ => Err(PgError::new(
            SqlState::SYNTAX_ERROR,
            "cannot insert multiple commands into a prepared statement",
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted identifier or keyword, in lower case.
    Word(String),
    /// A "quoted identifier".
    Quoted(String),
    /// A 'string'.
    Str(String),
    Number(String),
    /// `$n`.
    Param(usize),
    /// `::`.
    Cast,
    Op(char),
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    /// Byte range in the query.
    start: usize,
    end: usize,
}

fn tokenize(sql: &str) -> Result<Vec<Token>, PgError> {
    let b = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let scan =
        |from: usize, ok: fn(u8) -> bool| from + b[from..].iter().take_while(|&&c| ok(c)).count();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let start = i;
        let kind = match b[i] {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = scan(i, |c| c != b'\n');
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map(|n| i + 2 + n + 2)
                    .ok_or_else(|| syntax_error(sql, start, "unterminated /* comment"))?;
                continue;
            }
            quote @ (b'\'' | b'"') => {
                // Doubled quotes stand for one.
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(n) = sql[i..].find(quote as char) else {
                        let what = if quote == b'\'' {
                            "quoted string"
                        } else {
                            "quoted identifier"
                        };
                        let msg = format!("unterminated {what} at or near \"{}\"", &sql[start..]);
                        return Err(syntax_error(sql, start, &msg));
                    };
                    text.push_str(&sql[i..i + n]);
                    i += n + 1;
                    if b.get(i) != Some(&quote) {
                        break;
                    }
                    text.push(quote as char);
                    i += 1;
                }
                if quote == b'\'' {
                    Tok::Str(text)
                } else {
                    Tok::Quoted(text)
                }
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = scan(i + 1, |c| c.is_ascii_digit());
                Tok::Param(sql[start + 1..i].parse().unwrap_or(usize::MAX))
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i = scan(i, |c| c.is_ascii_digit() || c == b'.');
                Tok::Number(sql[start..i].to_string())
            }
            c if is_word(c) => {
                i = scan(i, is_word);
                Tok::Word(sql[start..i].to_ascii_lowercase())
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                Tok::Cast
            }
            c => {
                i += 1;
                Tok::Op(c as char)
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(tokens)
}

/// PostgreSQL's syntax error: `message` with the 1-based character position of `at`.
fn syntax_error(sql: &str, at: usize, message: &str) -> PgError {
    let position = sql[..at].chars().count() + 1;
    PgError::new(SqlState::SYNTAX_ERROR, message).position(position as u32)
}

/// A recursive-descent parser over one statement's tokens.
struct Parser<'a> {
    sql: &'a str,
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn statement(&mut self) -> Result<Plan, PgError> {
        let plan = if self.keyword("select") {
            self.select()?
        } else if self.keyword("copy") {
            self.copy()?
        } else if self.keyword("listen") {
            Plan::Listen(self.name()?)
        } else if self.keyword("unlisten") {
            Plan::Unlisten(if self.op('*') {
                None
            } else {
                Some(self.name()?)
            })
        } else if self.keyword("notify") {
            let channel = self.name()?;
            let payload = if self.op(',') {
                self.string()?
            } else {
                String::new()
            };
            Plan::Notify(channel, payload)
        } else if self.keyword("begin") {
            let _ = self.keyword("work") || self.keyword("transaction");
            Plan::Begin
        } else if self.keyword("start") {
            self.expect_keyword("transaction")?;
            Plan::Begin
        } else if self.keyword("commit") || self.keyword("end") {
            let _ = self.keyword("work") || self.keyword("transaction");
            Plan::Commit
        } else if self.keyword("rollback") || self.keyword("abort") {
            let _ = self.keyword("work") || self.keyword("transaction");
            Plan::Rollback
        } else if self.keyword("set") {
            self.set()?
        } else if self.keyword("show") {
            Plan::Show(self.name()?)
        } else {
            return Err(self.error());
        };
        if self.at < self.tokens.len() {
            return Err(self.error());
        }
        Ok(plan)
    }

    fn select(&mut self) -> Result<Plan, PgError> {
        if self.keyword("pg_sleep") {
            self.expect_op('(')?;
            let secs = match self.next() {
                Some(Tok::Number(n)) => n.parse::<f64>().ok().filter(|s| (0.0..1e6).contains(s)),
                _ => None,
            };
            let secs = secs.ok_or_else(|| self.error_before())?;
            self.expect_op(')')?;
            return Ok(Plan::Sleep(secs));
        }
        if self.keyword("count") {
            self.expect_op('(')?;
            self.expect_op('*')?;
            self.expect_op(')')?;
            self.items_table()?;
            return Ok(Plan::Items {
                count: true,
                sorted: false,
                limit: None,
            });
        }
        let star = self.op('*');
        if star && matches!(self.peek(), Some(Tok::Word(w)) if w == "from") {
            let at = self.at;
            self.at += 1;
            if self.keyword("bench_rows") {
                return self.bench_rows();
            }
            self.at = at;
        }
        if !star && !self.keyword("id") {
            return Ok(Plan::Select(self.expr()?));
        }
        if !star {
            self.expect_op(',')?;
            self.expect_keyword("name")?;
        }
        self.items_table()?;
        let sorted = self.keyword("order");
        if sorted {
            self.expect_keyword("by")?;
            self.expect_keyword("id")?;
            let _ = self.keyword("asc");
        }
        let limit = if self.keyword("limit") {
            match self.next() {
                Some(Tok::Number(n)) => Some(n.parse().map_err(|_| self.error_before())?),
                _ => return Err(self.error_before()),
            }
        } else {
            None
        };
        Ok(Plan::Items {
            count: false,
            sorted,
            limit,
        })
    }

    /// `(n)` after `SELECT * FROM bench_rows`.
    fn bench_rows(&mut self) -> Result<Plan, PgError> {
        self.expect_op('(')?;
        let n = match self.next() {
            Some(Tok::Number(n)) => n.parse::<i32>().ok(),
            _ => None,
        };
        let n = n.ok_or_else(|| self.error_before())?;
        self.expect_op(')')?;
        Ok(Plan::BenchRows(n))
    }

    /// `FROM items` (or `public.items`).
    fn items_table(&mut self) -> Result<(), PgError> {
        self.expect_keyword("from")?;
        let start = self.at;
        let mut table = self.name()?;
        if table == "public" && self.op('.') {
            table = self.name()?;
        }
        if table != "items" {
            let at = self.tokens[start].start;
            let msg = format!("relation \"{table}\" does not exist");
            return Err(PgError::new(SqlState::UNDEFINED_TABLE, msg).position(self.position(at)));
        }
        Ok(())
    }

    /// `COPY items {TO STDOUT | FROM STDIN} [[WITH] (FORMAT text|binary) | [WITH] BINARY]`.
    fn copy(&mut self) -> Result<Plan, PgError> {
        let start = self.at;
        let table = self.name()?;
        if table != "items" {
            self.at = start;
            return Err(self.error());
        }
        let out = if self.keyword("to") {
            self.expect_keyword("stdout")?;
            true
        } else {
            self.expect_keyword("from")?;
            self.expect_keyword("stdin")?;
            false
        };
        let _ = self.keyword("with");
        let binary = if self.keyword("binary") {
            true
        } else if self.op('(') {
            self.expect_keyword("format")?;
            let binary = self.keyword("binary");
            if !binary {
                self.expect_keyword("text")?;
            }
            self.expect_op(')')?;
            binary
        } else {
            false
        };
        Ok(if out {
            Plan::CopyOut { binary }
        } else {
            Plan::CopyIn { binary }
        })
    }

    /// `SET [SESSION | LOCAL] name {= | TO} value [, ...]`.
    fn set(&mut self) -> Result<Plan, PgError> {
        let _ = self.keyword("session") || self.keyword("local");
        let mut name = self.name()?;
        while self.op('.') {
            name = format!("{name}.{}", self.name()?);
        }
        if !self.op('=') {
            self.expect_keyword("to")?;
        }
        let mut values = Vec::new();
        loop {
            let negative = self.op('-');
            let value = match self.next() {
                Some(Tok::Word(v) | Tok::Quoted(v) | Tok::Str(v)) if !negative => v.clone(),
                Some(Tok::Number(n)) => format!("{}{n}", if negative { "-" } else { "" }),
                _ => return Err(self.error_before()),
            };
            values.push(value);
            if !self.op(',') {
                break;
            }
        }
        Ok(Plan::Set(name, values.join(", ")))
    }

    // expr := term {(+|-) term}; term := factor {(*|/|%) factor};
    // factor := -factor | primary {::int}; primary := number | $n | (expr)
    fn expr(&mut self) -> Result<Expr, PgError> {
        let mut e = self.term()?;
        while let Some(op) = ['+', '-'].into_iter().find(|&c| self.op(c)) {
            e = Expr::Binary(Box::new(e), op, Box::new(self.term()?));
        }
        Ok(e)
    }

    fn term(&mut self) -> Result<Expr, PgError> {
        let mut e = self.factor()?;
        while let Some(op) = ['*', '/', '%'].into_iter().find(|&c| self.op(c)) {
            e = Expr::Binary(Box::new(e), op, Box::new(self.factor()?));
        }
        Ok(e)
    }

    fn factor(&mut self) -> Result<Expr, PgError> {
        if self.op('-') {
            return Ok(Expr::Neg(Box::new(self.factor()?)));
        }
        let e = match self.next() {
            Some(Tok::Number(n)) => match n.parse::<i64>() {
                Ok(n) => Expr::Number(n),
                Err(_) => return Err(self.error_before()),
            },
            Some(Tok::Param(i)) if *i > 0 => Expr::Param(*i),
            Some(Tok::Op('(')) => {
                let e = self.expr()?;
                self.expect_op(')')?;
                e
            }
            _ => return Err(self.error_before()),
        };
        while self.peek() == Some(&Tok::Cast) {
            self.at += 1;
            if !(self.keyword("int") || self.keyword("int4") || self.keyword("integer")) {
                return Err(self.error());
            }
        }
        Ok(e)
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.kind)
    }

    fn next(&mut self) -> Option<&Tok> {
        let t = self.tokens.get(self.at).map(|t| &t.kind);
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Word(w)) if w == word);
        self.at += found as usize;
        found
    }

    fn op(&mut self, c: char) -> bool {
        let found = self.peek() == Some(&Tok::Op(c));
        self.at += found as usize;
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), PgError> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn expect_op(&mut self, c: char) -> Result<(), PgError> {
        if self.op(c) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn name(&mut self) -> Result<String, PgError> {
        match self.next() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => Ok(w.clone()),
            _ => Err(self.error_before()),
        }
    }

    fn string(&mut self) -> Result<String, PgError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s.clone()),
            _ => Err(self.error_before()),
        }
    }

    fn position(&self, at: usize) -> u32 {
        (self.sql[..at].chars().count() + 1) as u32
    }

    /// `syntax error at or near "..."` for the current token.
    fn error(&self) -> PgError {
        match self.tokens.get(self.at) {
            Some(t) => {
                let msg = format!("syntax error at or near \"{}\"", &self.sql[t.start..t.end]);
                syntax_error(self.sql, t.start, &msg)
            }
            None => {
                // Past the last token: at the `;` that ends the statement, or the end.
                let end = self.tokens.last().map_or(0, |t| t.end);
                let rest = self.sql[end..].trim_start();
                let at = self.sql.len() - rest.len();
                if rest.starts_with(';') {
                    syntax_error(self.sql, at, "syntax error at or near \";\"")
                } else {
                    syntax_error(self.sql, at, "syntax error at end of input")
                }
            }
        }
    }

    /// The error for the token just consumed.
    fn error_before(&mut self) -> PgError {
        self.at = self.at.saturating_sub(1).min(self.tokens.len());
        self.error()
    }
}
