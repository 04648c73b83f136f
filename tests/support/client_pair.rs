//! An in-memory pairing of `pgproto::client::Connection` with `pgproto::server::Connection`,
//! for the client transcript tests.
//!
//! A small application ([`App`]) answers the server's events from a fixed catalog (SELECT
//! literals, a table `t`, `generate_series`, errors, COPY in and out, a function, NOTIFY,
//! notices, SET). [`Pair::pump`] moves bytes both ways until nothing moves; the client's events
//! become compact lines (`#3 D [1,NULL]`: request 3 got a DataRow) and the application's
//! events become lines of their own (`> Execute "" 0`).
//!
//! [`check`] runs a scenario once with every chunk delivered whole, then with every chunk in
//! both directions cut in two at offset `k` for every `k` up to the longest chunk seen (so each
//! byte boundary of each chunk is a cut in some run), and once one byte at a time; every run
//! must give the same client transcript, the same application transcript and the same bytes
//! in each direction. Scenarios whose runs are costly (SCRAM with PostgreSQL's 4096 iterations)
//! use [`Setup::coarse`]: every chunk cut at all offsets `p` with `p % 7 == k`, for each `k`,
//! which still makes every byte boundary a cut in some run.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Instant;

use pgproto::SqlState;
use pgproto::auth::{AuthError, RandomSource};
use pgproto::client::{self, ClientError, Event, Response};
use pgproto::message::{ErrorFields, Format, TransactionStatus};
use pgproto::server::{self, Auth, Column, PgError, Termination};
use pgproto::types::oid;

/// The server connection type: statements carry their parsed [`Stmt`], portals the number of
/// rows already returned.
pub type Srv = server::Connection<Stmt, usize>;

// ----- randomness ----------------------------------------------------------------------------

/// A deterministic random source (xorshift64*), so that every run draws the same nonces,
/// salts and cancel keys.
#[derive(Debug, Clone)]
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> TestRng {
        TestRng(seed | 1)
    }
}

impl RandomSource for TestRng {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError> {
        for b in dest {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

/// A certificate-shaped DER (SEQUENCE { SEQUENCE {}, SEQUENCE { OID }, BIT STRING }) that
/// `tls_server_end_point` accepts; `variant` changes the signature bits (another certificate).
pub fn fake_cert(variant: u8) -> Vec<u8> {
    let oid = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]; // sha256WithRSAEncryption
    let mut alg = vec![0x06, oid.len() as u8];
    alg.extend_from_slice(&oid);
    let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
    body.extend_from_slice(&alg);
    body.extend_from_slice(&[0x03, 0x02, 0x00, variant]);
    let mut cert = vec![0x30, body.len() as u8];
    cert.extend_from_slice(&body);
    cert
}

// ----- transcript lines ----------------------------------------------------------------------

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn value(v: Option<&[u8]>) -> String {
    match v {
        None => "NULL".into(),
        Some(v) if v.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => lossy(v),
        Some(v) => format!(
            "0x{}",
            v.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

/// An ErrorResponse or NoticeResponse as `CODE message` (with the severity unless ERROR).
pub fn fmt_fields(f: &ErrorFields) -> String {
    let code = f.sqlstate().map_or("?????".into(), |c| c.to_string());
    let msg = lossy(f.message().unwrap_or_default());
    match f.severity() {
        Some(b"ERROR") | None => format!("{code} {msg}"),
        Some(s) => format!("{} {code} {msg}", lossy(s)),
    }
}

fn type_name(t: u32) -> String {
    oid::lookup(t).map_or_else(|| t.to_string(), |t| t.name.to_string())
}

/// A response as one compact token list.
pub fn fmt_response(r: &Response) -> String {
    match r {
        Response::ParseComplete => "1".into(),
        Response::BindComplete => "2".into(),
        Response::CloseComplete => "3".into(),
        Response::ParameterDescription(p) => {
            let types: Vec<String> = p.types.iter().map(type_name).collect();
            format!("t [{}]", types.join(","))
        }
        Response::RowDescription(d) => {
            let cols: Vec<String> = d
                .fields()
                .map(|f| {
                    let fmt = match f.format {
                        0 => String::new(),
                        1 => "/bin".into(),
                        n => format!("/fmt{n}"),
                    };
                    format!("{}:{}{fmt}", lossy(f.name), type_name(f.type_oid))
                })
                .collect();
            format!("T {}", cols.join(" "))
        }
        Response::NoData => "n".into(),
        Response::DataRow(d) => {
            let vals: Vec<String> = d.values().map(value).collect();
            format!("D [{}]", vals.join(","))
        }
        Response::CommandComplete(c) => format!("C {}", c.tag),
        Response::EmptyQuery => "I".into(),
        Response::PortalSuspended => "s".into(),
        Response::CopyIn(c) => format!("G {} {:?}", c.format, c.column_formats),
        Response::CopyOut(c) => format!("H {} {:?}", c.format, c.column_formats),
        Response::CopyBoth(c) => format!("W {} {:?}", c.format, c.column_formats),
        Response::CopyData(d) => format!("d {:?}", lossy(d)),
        Response::CopyDone => "c".into(),
        Response::FunctionResult(v) => format!("V {}", value(v.as_deref())),
        Response::Error(e) => format!("E {}", fmt_fields(e)),
        Response::Skipped => "skipped".into(),
        Response::Ready(s) => format!("Z {}", s.byte() as char),
        other => format!("{other:?}"),
    }
}

/// A client error, compactly (a server's error by its fields).
pub fn fmt_error(e: &ClientError) -> String {
    match e {
        ClientError::Server(f) => format!("Server {}", fmt_fields(f)),
        other => format!("{other:?}"),
    }
}

/// A client event as one line.
pub fn fmt_event(e: &Event) -> String {
    match e {
        Event::StartTls => "StartTls".into(),
        Event::Connected { version } => format!("Connected {version}"),
        Event::ParameterStatus { name, value } => format!("S {name}={value}"),
        Event::Notice(n) => format!("N {}", fmt_fields(n)),
        Event::Notification(n) => format!("A pid={} {} {:?}", n.process_id, n.channel, n.payload),
        Event::Response { request, response } => {
            format!("#{} {}", request.0, fmt_response(response))
        }
        Event::Closed(None) => "Closed".into(),
        Event::Closed(Some(e)) => format!("Closed: {}", fmt_error(e)),
        other => format!("{other:?}"),
    }
}

/// A server event as one line of the application's transcript.
pub fn fmt_server_event(e: &server::Event) -> String {
    use server::Event as E;
    match e {
        E::TlsRequested => "> TlsRequested".into(),
        E::DirectTls { .. } => "> DirectTls".into(),
        E::CancelRequested {
            process_id,
            secret_key,
        } => format!("> Cancel pid={process_id} key={}B", secret_key.len()),
        E::Startup(s) => {
            let mut line = format!("> Startup {} db={} {}", s.user, s.database, s.version);
            if !s.settings.is_empty() {
                let kv: Vec<String> = s.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                line.push_str(&format!(" [{}]", kv.join(", ")));
            }
            if s.tls {
                line.push_str(" tls");
            }
            line
        }
        E::Authenticated { user } => format!("> Authenticated {user}"),
        E::Query { sql } => format!("> Query {sql}"),
        E::Parse {
            name,
            query,
            param_types,
        } => format!("> Parse {name:?} {query} {param_types:?}"),
        E::Execute { portal, max_rows } => format!("> Execute {portal:?} {max_rows}"),
        E::FunctionCall(f) => {
            let args: Vec<String> = f.args.iter().map(value).collect();
            format!("> FunctionCall {} [{}]", f.function, args.join(","))
        }
        E::CopyData(b) => format!("> CopyData {:?}", lossy(b)),
        E::CopyDone => "> CopyDone".into(),
        E::CopyFail { message } => format!("> CopyFail {message}"),
        E::Terminated(t) => match t {
            Termination::ClientTerminated => "> Terminated: client sent Terminate".into(),
            Termination::ClientClosed => "> Terminated: client closed".into(),
            Termination::Fatal { code, message } => format!("> Terminated: FATAL {code} {message}"),
            Termination::CancelRequest => "> Terminated: cancel request".into(),
            other => format!("> Terminated: {other:?}"),
        },
        other => format!("> {other:?}"),
    }
}

// ----- the application's catalog -------------------------------------------------------------

/// A statement of the tiny SQL dialect the application understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    Empty,
    /// Rows known in advance (literals, table `t`, `generate_series`).
    Rows {
        cols: Vec<Column>,
        rows: Vec<Vec<Option<String>>>,
    },
    /// `SELECT $1, ..., $n`: one row echoing the parameters.
    Echo(usize),
    Begin,
    Commit,
    Rollback,
    /// `SET name = value` (reported with ParameterStatus).
    Set(String, String),
    /// `COPY t FROM STDIN`.
    CopyIn,
    /// `COPY t TO STDOUT`: the rows of `t`.
    CopyOut,
    /// `DO 'text'`: a NOTICE.
    Notice(String),
    /// `NOTIFY channel, 'payload'` (this session listens to every channel).
    Notify(String, String),
    /// An error when executed.
    Fail(SqlState, String),
    /// `SELECT pg_terminate_backend(pg_backend_pid())`: FATAL 57P01.
    Fatal,
    /// Completes with this tag.
    Command(String),
}

fn syntax_error(near: &str) -> PgError {
    PgError::new(
        SqlState::SYNTAX_ERROR,
        format!("syntax error at or near \"{near}\""),
    )
}

/// The table `t (id int4, name text)`.
pub fn table_t() -> (Vec<Column>, Vec<Vec<Option<String>>>) {
    let mut id = Column::new("id", oid::INT4);
    id.table_oid = 16384;
    id.column_id = 1;
    let mut name = Column::new("name", oid::TEXT);
    name.table_oid = 16384;
    name.column_id = 2;
    let row = |i: &str, n: Option<&str>| vec![Some(i.to_string()), n.map(str::to_string)];
    (
        vec![id, name],
        vec![row("1", Some("one")), row("2", Some("two")), row("3", None)],
    )
}

fn literal(e: &str) -> Result<(u32, Option<String>), PgError> {
    let e = e.trim();
    if e.parse::<i64>().is_ok() {
        return Ok((oid::INT4, Some(e.to_string())));
    }
    if e.eq_ignore_ascii_case("null") {
        return Ok((oid::TEXT, None));
    }
    if let Some(t) = e.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok((oid::TEXT, Some(t.to_string())));
    }
    Err(syntax_error(e))
}

/// Parses one statement.
pub fn parse_stmt(sql: &str) -> Result<Stmt, PgError> {
    let s = sql.trim();
    let up = s.to_ascii_uppercase();
    let word = |w: &str| up == w || up.starts_with(&format!("{w} "));
    Ok(if s.is_empty() {
        Stmt::Empty
    } else if up == "BEGIN" {
        Stmt::Begin
    } else if up == "COMMIT" {
        Stmt::Commit
    } else if up == "ROLLBACK" {
        Stmt::Rollback
    } else if word("SET") {
        let rest = &s[4..];
        let (k, v) = rest
            .split_once(" = ")
            .or_else(|| rest.split_once(" TO "))
            .ok_or_else(|| syntax_error(rest))?;
        Stmt::Set(
            k.trim().to_string(),
            v.trim().trim_matches('\'').to_string(),
        )
    } else if up == "COPY T FROM STDIN" {
        Stmt::CopyIn
    } else if up == "COPY T TO STDOUT" {
        Stmt::CopyOut
    } else if word("DO") {
        Stmt::Notice(s[3..].trim().trim_matches('\'').to_string())
    } else if word("NOTIFY") {
        let (ch, payload) = s[7..].split_once(',').unwrap_or((&s[7..], ""));
        Stmt::Notify(
            ch.trim().to_string(),
            payload.trim().trim_matches('\'').to_string(),
        )
    } else if up == "SELECT 1/0" {
        Stmt::Fail(SqlState::DIVISION_BY_ZERO, "division by zero".into())
    } else if up == "SELECT PG_TERMINATE_BACKEND(PG_BACKEND_PID())" {
        Stmt::Fatal
    } else if up == "SELECT * FROM T" {
        let (cols, rows) = table_t();
        Stmt::Rows { cols, rows }
    } else if let Some(n) = up
        .strip_prefix("SELECT GENERATE_SERIES(1, ")
        .and_then(|r| r.strip_suffix(')'))
    {
        let n: u32 = n.trim().parse().map_err(|_| syntax_error(n))?;
        Stmt::Rows {
            cols: vec![Column::new("generate_series", oid::INT4)],
            rows: (1..=n).map(|i| vec![Some(i.to_string())]).collect(),
        }
    } else if word("SELECT") && s[7..].trim_start().starts_with('$') {
        let n = s[7..].split(',').count();
        for (i, p) in s[7..].split(',').enumerate() {
            if p.trim() != format!("${}", i + 1) {
                return Err(syntax_error(p.trim()));
            }
        }
        Stmt::Echo(n)
    } else if word("SELECT") {
        let mut cols = Vec::new();
        let mut row = Vec::new();
        for item in s[7..].split(',') {
            let (e, name) = match item.to_ascii_uppercase().find(" AS ") {
                Some(i) => (&item[..i], item[i + 4..].trim().to_string()),
                None => (item, "?column?".to_string()),
            };
            let (ty, v) = literal(e)?;
            cols.push(Column::new(name, ty));
            row.push(v);
        }
        Stmt::Rows {
            cols,
            rows: vec![row],
        }
    } else if word("INSERT") {
        Stmt::Command("INSERT 0 1".into())
    } else if word("LISTEN") {
        Stmt::Command("LISTEN".into())
    } else if word("CREATE") {
        Stmt::Command("CREATE TABLE".into())
    } else {
        return Err(syntax_error(s.split(' ').next().unwrap_or(s)));
    })
}

impl Stmt {
    fn param_count(&self) -> usize {
        match self {
            Stmt::Echo(n) => *n,
            _ => 0,
        }
    }

    fn columns(&self, param_types: &[u32]) -> Option<Vec<Column>> {
        match self {
            Stmt::Rows { cols, .. } => Some(cols.clone()),
            Stmt::Echo(_) => Some(
                param_types
                    .iter()
                    .map(|&t| Column::new("?column?", t))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// The status after an error: a transaction block fails, an implicit transaction just ends.
fn failed(status: TransactionStatus) -> TransactionStatus {
    match status {
        TransactionStatus::Idle => TransactionStatus::Idle,
        _ => TransactionStatus::Failed,
    }
}

fn aborted() -> PgError {
    PgError::new(
        SqlState::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

fn admin_shutdown() -> PgError {
    PgError::fatal(
        SqlState::ADMIN_SHUTDOWN,
        "terminating connection due to administrator command",
    )
}

/// The OID of `int4pl`, the function the application knows.
pub const INT4PL: u32 = 177;

/// The test application: answers every server event from the catalog.
pub struct App {
    pub log: Vec<String>,
    pub auth: Auth,
    /// Accept SSLRequest (else decline).
    pub accept_tls: bool,
    /// Simple query statements still to run, and the status to report.
    query: Option<(VecDeque<Stmt>, TransactionStatus)>,
    /// COPY FROM STDIN in progress: lines received, and whether a simple query started it.
    copy_in: Option<(u64, bool)>,
}

impl App {
    pub fn new(auth: Auth, accept_tls: bool) -> App {
        App {
            log: Vec::new(),
            auth,
            accept_tls,
            query: None,
            copy_in: None,
        }
    }

    /// Notes an API error, if any.
    pub fn ok<T>(&mut self, r: Result<T, server::ApiError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.log.push(format!("! {e:?}"));
                None
            }
        }
    }

    pub fn on_event(&mut self, srv: &mut Srv, event: server::Event) {
        use server::Event as E;
        self.log.push(fmt_server_event(&event));
        match event {
            E::TlsRequested => {
                let r = if self.accept_tls {
                    srv.accept_tls()
                } else {
                    srv.decline_tls()
                };
                self.ok(r);
            }
            E::Startup(_) => {
                let r = srv.authenticate(self.auth.clone());
                self.ok(r);
            }
            E::Query { sql } => self.on_query(srv, &sql.to_string_lossy()),
            E::Parse {
                query, param_types, ..
            } => self.on_parse(srv, &query.to_string_lossy(), &param_types),
            E::Execute { portal, max_rows } => self.on_execute(srv, portal.as_bytes(), max_rows),
            E::FunctionCall(f) => {
                let r = if f.function == INT4PL {
                    let sum: i64 = f
                        .args
                        .iter()
                        .map(|a| lossy(a.unwrap_or_default()).parse::<i64>().unwrap_or(0))
                        .sum();
                    srv.function_result(Some(sum.to_string().as_bytes()))
                } else {
                    srv.error(PgError::new(
                        SqlState::from_bytes(b"42883").unwrap(),
                        format!("function with OID {} does not exist", f.function),
                    ))
                };
                self.ok(r);
            }
            E::CopyData(d) => {
                if let Some((rows, _)) = &mut self.copy_in {
                    *rows += d.iter().filter(|&&b| b == b'\n').count() as u64;
                }
            }
            E::CopyDone => {
                let (rows, simple) = self.copy_in.take().unwrap_or((0, false));
                let r = srv.command_complete(&format!("COPY {rows}"));
                self.ok(r);
                if simple {
                    self.run_simple(srv);
                }
            }
            E::CopyFail { .. } => {
                // The connection has sent the 57014 error (and ended a simple query).
                if let Some((_, true)) = self.copy_in.take() {
                    self.query = None;
                }
            }
            _ => {}
        }
    }

    fn on_query(&mut self, srv: &mut Srv, sql: &str) {
        let stmts: Result<Vec<Stmt>, PgError> = sql.split(';').map(parse_stmt).collect();
        let status = srv.transaction_status();
        let stmts = match stmts {
            Ok(s) => s,
            Err(e) => {
                let r = srv.error(e);
                self.ok(r);
                let r = srv.query_done(failed(status));
                self.ok(r);
                return;
            }
        };
        if stmts.iter().all(|s| *s == Stmt::Empty) {
            let r = srv.empty_query();
            self.ok(r);
            let r = srv.query_done(status);
            self.ok(r);
            return;
        }
        self.query = Some((
            stmts.into_iter().filter(|s| *s != Stmt::Empty).collect(),
            status,
        ));
        self.run_simple(srv);
    }

    fn run_simple(&mut self, srv: &mut Srv) {
        loop {
            if srv.is_closed() {
                self.query = None;
                return;
            }
            let Some((rest, status)) = self.query.as_mut() else {
                return;
            };
            let status = *status;
            let Some(stmt) = rest.pop_front() else {
                self.query = None;
                let r = srv.query_done(status);
                self.ok(r);
                return;
            };
            if status == TransactionStatus::Failed && !matches!(stmt, Stmt::Commit | Stmt::Rollback)
            {
                self.fail_simple(srv, aborted());
                continue;
            }
            let next = match stmt {
                Stmt::Empty => status,
                Stmt::Rows { cols, rows } => {
                    let r = srv.row_description(&cols);
                    self.ok(r);
                    for row in &rows {
                        let r = srv.data_row(row.iter().map(|v| v.as_deref().map(str::as_bytes)));
                        self.ok(r);
                    }
                    let r = srv.command_complete(&format!("SELECT {}", rows.len()));
                    self.ok(r);
                    status
                }
                Stmt::Echo(_) => {
                    self.fail_simple(
                        srv,
                        PgError::new(SqlState::UNDEFINED_PARAMETER, "there is no parameter $1"),
                    );
                    continue;
                }
                Stmt::CopyIn => {
                    let r = srv.start_copy_in(Format::Text, &[0, 0]);
                    if self.ok(r).is_some() {
                        self.copy_in = Some((0, true));
                    }
                    return;
                }
                Stmt::Fail(code, msg) => {
                    self.fail_simple(srv, PgError::new(code, msg));
                    continue;
                }
                Stmt::Fatal => {
                    let r = srv.error(admin_shutdown());
                    self.ok(r);
                    continue;
                }
                other => self.run_command(srv, other, status),
            };
            if let Some((_, s)) = self.query.as_mut() {
                *s = next;
            }
        }
    }

    /// Statements that run the same in both protocols; returns the status after them.
    fn run_command(
        &mut self,
        srv: &mut Srv,
        stmt: Stmt,
        status: TransactionStatus,
    ) -> TransactionStatus {
        let (tag, next) = match stmt {
            Stmt::Begin => ("BEGIN".to_string(), TransactionStatus::InTransaction),
            Stmt::Commit if status == TransactionStatus::Failed => {
                ("ROLLBACK".to_string(), TransactionStatus::Idle)
            }
            Stmt::Commit => ("COMMIT".to_string(), TransactionStatus::Idle),
            Stmt::Rollback => ("ROLLBACK".to_string(), TransactionStatus::Idle),
            Stmt::Set(k, v) => {
                let r = srv.set_parameter(&k, &v);
                self.ok(r);
                ("SET".to_string(), status)
            }
            Stmt::CopyOut => {
                let r = srv.start_copy_out(Format::Text, &[0, 0]);
                self.ok(r);
                for row in table_t().1 {
                    let line = format!(
                        "{}\t{}\n",
                        row[0].as_deref().unwrap_or("\\N"),
                        row[1].as_deref().unwrap_or("\\N")
                    );
                    let r = srv.copy_data(line.as_bytes());
                    self.ok(r);
                }
                let r = srv.copy_done();
                self.ok(r);
                ("COPY 3".to_string(), status)
            }
            Stmt::Notice(m) => {
                let r = srv.notice(&PgError::notice(m));
                self.ok(r);
                ("DO".to_string(), status)
            }
            Stmt::Notify(ch, payload) => {
                let pid = srv.cancel_key().0;
                let r = srv.notify(pid, &ch, &payload);
                self.ok(r);
                ("NOTIFY".to_string(), status)
            }
            Stmt::Command(tag) => (tag, status),
            other => unreachable!("not a command: {other:?}"),
        };
        srv.set_transaction_status(next);
        let r = srv.command_complete(&tag);
        self.ok(r);
        next
    }

    fn fail_simple(&mut self, srv: &mut Srv, e: PgError) {
        let r = srv.error(e);
        self.ok(r);
        if let Some((rest, status)) = &mut self.query {
            rest.clear();
            *status = failed(*status);
        }
    }

    fn fail_extended(&mut self, srv: &mut Srv, e: PgError) {
        let status = failed(srv.transaction_status());
        srv.set_transaction_status(status);
        let r = srv.error(e);
        self.ok(r);
    }

    fn on_parse(&mut self, srv: &mut Srv, query: &str, given: &[u32]) {
        let stmts: Result<Vec<Stmt>, PgError> = query.split(';').map(parse_stmt).collect();
        let stmt = match stmts {
            Ok(s) if s.iter().filter(|s| **s != Stmt::Empty).count() > 1 => Err(PgError::new(
                SqlState::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            )),
            Ok(s) => Ok(s
                .into_iter()
                .find(|s| *s != Stmt::Empty)
                .unwrap_or(Stmt::Empty)),
            Err(e) => Err(e),
        };
        match stmt {
            Ok(stmt) => {
                let types: Vec<u32> = (0..stmt.param_count())
                    .map(|i| {
                        given
                            .get(i)
                            .copied()
                            .filter(|&t| t != 0)
                            .unwrap_or(oid::TEXT)
                    })
                    .collect();
                let cols = stmt.columns(&types);
                let r = srv.parse_complete(types, cols, stmt);
                self.ok(r);
            }
            Err(e) => self.fail_extended(srv, e),
        }
    }

    fn on_execute(&mut self, srv: &mut Srv, portal: &[u8], max_rows: u32) {
        let Some(p) = srv.portal(portal) else {
            self.log.push("! Execute of an unknown portal".into());
            return;
        };
        let offset = p.data.unwrap_or(0);
        let params: Vec<Option<String>> = p.bind.params.iter().map(|v| v.map(lossy)).collect();
        let formats: Vec<Format> = (0..p.formats.len().max(2))
            .map(|i| p.column_format(i))
            .collect();
        let Some(stmt) = srv.portal_statement(portal).map(|s| s.data.clone()) else {
            self.log.push("! the portal's statement is gone".into());
            return;
        };
        let status = srv.transaction_status();
        if status == TransactionStatus::Failed && !matches!(stmt, Stmt::Commit | Stmt::Rollback) {
            self.fail_extended(srv, aborted());
            return;
        }
        let (cols, rows) = match stmt {
            Stmt::Empty => {
                let r = srv.empty_query();
                self.ok(r);
                return;
            }
            Stmt::Rows { cols, rows } => (cols, rows),
            Stmt::Echo(n) => {
                let types = srv
                    .portal_statement(portal)
                    .map(|s| s.param_types.clone())
                    .unwrap_or_default();
                let cols = types.iter().map(|&t| Column::new("?column?", t)).collect();
                (cols, vec![params[..n.min(params.len())].to_vec()])
            }
            Stmt::CopyIn => {
                let r = srv.start_copy_in(Format::Text, &[0, 0]);
                if self.ok(r).is_some() {
                    self.copy_in = Some((0, false));
                }
                return;
            }
            Stmt::Fail(code, msg) => {
                self.fail_extended(srv, PgError::new(code, msg));
                return;
            }
            Stmt::Fatal => {
                let r = srv.error(admin_shutdown());
                self.ok(r);
                return;
            }
            other => {
                self.run_command(srv, other, status);
                return;
            }
        };
        let rest = &rows[offset.min(rows.len())..];
        let n = if max_rows == 0 {
            rest.len()
        } else {
            rest.len().min(max_rows as usize)
        };
        for row in &rest[..n] {
            let row: Vec<Option<Vec<u8>>> = row
                .iter()
                .enumerate()
                .map(|(i, v)| match (v, formats.get(i), cols.get(i)) {
                    (Some(v), Some(Format::Binary), Some(c)) if c.type_oid == oid::INT4 => {
                        Some(v.parse::<i32>().unwrap_or(0).to_be_bytes().to_vec())
                    }
                    (v, _, _) => v.clone().map(String::into_bytes),
                })
                .collect();
            let r = srv.data_row(row.iter().map(|v| v.as_deref()));
            self.ok(r);
        }
        if let Some(p) = srv.portal_mut(portal) {
            p.data = Some(offset + n);
        }
        if max_rows > 0 && n == max_rows as usize && offset + n < rows.len() {
            let r = srv.portal_suspended();
            self.ok(r);
        } else {
            let r = srv.command_complete(&format!("SELECT {n}"));
            self.ok(r);
        }
    }
}

// ----- the pair and its pump ---------------------------------------------------------------

/// How chunks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Each chunk whole.
    Whole,
    /// Each chunk in two pieces, cut at this offset (whole when shorter).
    At(usize),
    /// Each chunk cut at every offset `p` with `p % m == k`.
    Every { m: usize, k: usize },
}

impl Cut {
    fn pieces(self, b: &[u8]) -> Vec<&[u8]> {
        let cuts: Vec<usize> = match self {
            Cut::Whole => vec![],
            Cut::At(k) => (k > 0 && k < b.len()).then_some(k).into_iter().collect(),
            Cut::Every { m, k } => (1..b.len()).filter(|p| p % m == k % m).collect(),
        };
        let mut out = Vec::new();
        let mut start = 0;
        for c in cuts {
            out.push(&b[start..c]);
            start = c;
        }
        out.push(&b[start..]);
        out
    }
}

/// How a scenario starts.
#[derive(Debug, Clone)]
pub struct Setup {
    pub client: client::Config,
    pub server: server::Config,
    pub auth: Auth,
    /// The server accepts SSLRequest (it declines otherwise).
    pub accept_tls: bool,
    /// The certificate the server presents (given to the server's `handle_tls_established`).
    pub server_cert: Option<Vec<u8>>,
    /// The certificate the client sees (a man in the middle shows another).
    pub client_cert: Option<Vec<u8>>,
    /// The runs are costly: cut modulo 7 instead of at every offset separately.
    pub coarse: bool,
}

impl Setup {
    /// `alice` without TLS, trust authentication, a short parameter list.
    pub fn trust() -> Setup {
        let mut client = client::Config::new("alice");
        client.ssl_mode = client::SslMode::Disable;
        let mut server = server::Config::default();
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        server.parameters = vec![
            p("server_version", "18.0"),
            p("client_encoding", "UTF8"),
            p("DateStyle", "ISO, MDY"),
        ];
        server.process_id = 4242;
        Setup {
            client,
            server,
            auth: Auth::Trust,
            accept_tls: false,
            server_cert: None,
            client_cert: None,
            coarse: false,
        }
    }

    /// The server accepts TLS and presents `cert`, which the client sees too.
    pub fn with_tls(mut self, cert: Vec<u8>) -> Setup {
        self.accept_tls = true;
        self.server_cert = Some(cert.clone());
        self.client_cert = Some(cert);
        self.client.ssl_mode = client::SslMode::Require;
        self
    }
}

/// The two connections, the application, and what they said.
pub struct Pair {
    pub client: client::Connection,
    pub server: Srv,
    pub app: App,
    pub now: Instant,
    cut: Cut,
    server_cert: Option<Vec<u8>>,
    client_cert: Option<Vec<u8>>,
    /// The client's events, one line each.
    pub log: Vec<String>,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    longest: usize,
    client_eof: bool,
    server_eof: bool,
}

impl Pair {
    pub fn new(setup: &Setup, cut: Cut) -> Pair {
        let now = Instant::now();
        Pair {
            client: client::Connection::with_random(
                setup.client.clone(),
                now,
                Box::new(TestRng::new(1)),
            ),
            server: server::Connection::with_random(
                setup.server.clone(),
                now,
                Box::new(TestRng::new(2)),
            ),
            app: App::new(setup.auth.clone(), setup.accept_tls),
            now,
            cut,
            server_cert: setup.server_cert.clone(),
            client_cert: setup.client_cert.clone(),
            log: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            longest: 0,
            client_eof: false,
            server_eof: false,
        }
    }

    /// A line in the client transcript.
    pub fn mark(&mut self, label: &str) {
        self.log.push(format!("-- {label}"));
    }

    /// Notes a client call's result in the transcript when it is an error.
    pub fn note<T: std::fmt::Debug>(&mut self, what: &str, r: Result<T, ClientError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.log.push(format!("{what}: Err({})", fmt_error(&e)));
                None
            }
        }
    }

    /// The application acts outside any event (a NOTIFY from another session, a notice, a
    /// shutdown); then the pump runs.
    pub fn server_does(&mut self, f: impl FnOnce(&mut Srv, &mut App)) {
        f(&mut self.server, &mut self.app);
        self.pump();
    }

    fn send_to_server(&mut self, b: &[u8]) {
        self.longest = self.longest.max(b.len());
        self.to_server.extend_from_slice(b);
        for piece in self.cut.pieces(b) {
            self.server.handle_input(self.now, piece);
        }
    }

    fn send_to_client(&mut self, b: &[u8]) {
        self.longest = self.longest.max(b.len());
        self.to_client.extend_from_slice(b);
        for piece in self.cut.pieces(b) {
            self.client.handle_input(self.now, piece);
        }
    }

    fn on_client_event(&mut self, e: Event) {
        self.log.push(fmt_event(&e));
        if e == Event::StartTls {
            // The drivers' TLS handshake, faked: each side learns the certificate.
            let r = self
                .server
                .handle_tls_established(self.server_cert.as_deref());
            self.app.ok(r);
            let r = self
                .client
                .handle_tls_established(self.client_cert.as_deref());
            if let Err(e) = r {
                self.log.push(format!("handle_tls_established: Err({e:?})"));
            }
        }
    }

    /// Moves bytes and events until nothing moves; a closed side's peer then sees EOF.
    pub fn pump(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit() {
                moved = true;
                self.send_to_server(&b);
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                self.app.on_event(&mut self.server, e);
            }
            while let Some(b) = self.server.poll_transmit() {
                moved = true;
                self.send_to_client(&b);
            }
            while let Some(e) = self.client.poll_event() {
                moved = true;
                self.on_client_event(e);
            }
            if !moved {
                if self.server.is_closed() && !self.client_eof {
                    self.client_eof = true;
                    self.client.handle_eof(self.now);
                    continue;
                }
                if self.client.is_closed() && !self.server_eof {
                    self.server_eof = true;
                    self.server.handle_eof(self.now);
                    continue;
                }
                return;
            }
        }
        panic!("the pair does not settle");
    }

    fn finish(self) -> Outcome {
        Outcome {
            client: self.log,
            server: self.app.log,
            to_server: self.to_server,
            to_client: self.to_client,
            longest: self.longest,
        }
    }
}

/// What a scenario produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The client's events.
    pub client: Vec<String>,
    /// The application's events and notes.
    pub server: Vec<String>,
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    longest: usize,
}

impl Outcome {
    fn same(&self, other: &Outcome) -> bool {
        self.client == other.client
            && self.server == other.server
            && self.to_server == other.to_server
            && self.to_client == other.to_client
    }

    /// The client lines after `Connected ...`.
    pub fn client_after_login(&self) -> Vec<String> {
        let i = self
            .client
            .iter()
            .position(|l| l.starts_with("Connected "))
            .unwrap_or_else(|| panic!("no login in {:#?}", self.client));
        self.client[i + 1..].to_vec()
    }

    /// The application lines after `> Authenticated ...`.
    pub fn server_after_login(&self) -> Vec<String> {
        let i = self
            .server
            .iter()
            .position(|l| l.starts_with("> Authenticated "))
            .unwrap_or_else(|| panic!("no login in {:#?}", self.server));
        self.server[i + 1..].to_vec()
    }
}

fn run(setup: &Setup, cut: Cut, scenario: &dyn Fn(&mut Pair)) -> Outcome {
    let mut p = Pair::new(setup, cut);
    scenario(&mut p);
    p.pump();
    p.finish()
}

/// Runs `scenario` with whole chunks, then cut at every byte boundary and byte by byte; all
/// runs must agree. Returns the whole-chunk outcome.
pub fn check(setup: &Setup, scenario: impl Fn(&mut Pair)) -> Outcome {
    let reference = run(setup, Cut::Whole, &scenario);
    let mut cuts = vec![Cut::Every { m: 1, k: 0 }];
    if setup.coarse {
        cuts.extend((0..7).map(|k| Cut::Every { m: 7, k }));
    } else {
        cuts.extend((1..reference.longest).map(Cut::At));
    }
    for cut in cuts {
        let got = run(setup, cut, &scenario);
        if !got.same(&reference) {
            let first = reference
                .client
                .iter()
                .zip(&got.client)
                .position(|(a, b)| a != b);
            panic!(
                "{cut:?} differs from the whole-chunk run (first client difference at line \
                 {first:?})\nwhole client: {:#?}\n{cut:?} client: {:#?}\nwhole server: {:#?}\n\
                 {cut:?} server: {:#?}\nsame bytes: {} {}",
                reference.client,
                got.client,
                reference.server,
                got.server,
                reference.to_server == got.to_server,
                reference.to_client == got.to_client,
            );
        }
    }
    reference
}

/// [`check`] with the trust setup, returning the client lines after login and the
/// application lines after login.
pub fn trusted(scenario: impl Fn(&mut Pair)) -> (Vec<String>, Vec<String>) {
    let out = check(&Setup::trust(), |p| {
        p.pump();
        p.mark("connected");
        scenario(p);
    });
    let c = out.client_after_login();
    assert_eq!(c.first().map(String::as_str), Some("-- connected"));
    (c[1..].to_vec(), out.server_after_login())
}
