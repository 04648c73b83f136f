//! Transcript tests for `pgproto::server::Connection`: a client made of the message layer's
//! encoders talks to the connection in memory, a small application ([`Db`]) answers its events,
//! and the expected value is the transcript: the events the application saw (`> ...`), what it
//! noted (`! ...`), and the messages the client decoded from `poll_transmit`.
//!
//! A scenario is a function of a [`Run`]. [`check`] runs it once to record the client's bytes
//! (each [`Run::send`] is one segment), then again with each segment split in two at every byte
//! boundary, and once with every segment fed one byte at a time; every run must give the same
//! transcript and the same output bytes. Client closures are only called in the recording run,
//! so expensive client work (SCRAM's key derivation) happens once.
//!
//! Within each step (a client segment, an application action, a clock advance) the transcript
//! lists the events and notes first, then the messages the client decoded during the step;
//! `Run::mark` puts a `-- label` line between steps to show when output became available.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pgproto::SqlState;
use pgproto::auth::{AuthError, RandomSource};
use pgproto::message::{
    Authentication, BackendDecoder, BackendMessage, BackendPhase, Bind, CancelRequest, Close,
    CopyData, CopyFail, Describe, Execute, Format, FrontendMessage, FunctionCall, Parse,
    PasswordMessage, ProtocolVersion, Query, SaslInitialResponse, SaslResponse, StartupMessage,
    Target, TransactionStatus,
};
use pgproto::server::{Auth, Column, Config, Connection, Event, PgError, Termination};
use pgproto::types::oid;

/// The connection type under test: statements carry their parsed [`Stmt`], portals the number
/// of rows already returned.
pub type Conn = Connection<Stmt, u64>;

// ----- randomness ------------------------------------------------------------------------------

/// A deterministic random source (xorshift64*), so that every run of a scenario draws the same
/// salts, nonces and cancel keys.
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

/// A certificate-shaped DER (SEQUENCE { SEQUENCE {}, SEQUENCE { sha256WithRSAEncryption },
/// BIT STRING }) that `tls_server_end_point` accepts.
pub fn fake_cert() -> Vec<u8> {
    let oid = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
    let mut alg = vec![0x06, oid.len() as u8];
    alg.extend_from_slice(&oid);
    let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
    body.extend_from_slice(&alg);
    body.extend_from_slice(&[0x03, 0x01, 0x00]);
    let mut cert = vec![0x30, body.len() as u8];
    cert.extend_from_slice(&body);
    cert
}

// ----- the client's messages ---------------------------------------------------------------------

/// The bytes a client sends in one segment, built with the message layer's encoders.
#[derive(Debug, Default)]
pub struct Wire {
    pub buf: BytesMut,
    /// The answer the client reads next is a one-byte SSL or GSSENC response.
    pub expect: Option<BackendPhase>,
}

impl Wire {
    pub fn startup(&mut self, params: &[(&str, &str)]) -> &mut Wire {
        self.startup_v(ProtocolVersion::V3_0, params)
    }

    pub fn startup_v(&mut self, v: ProtocolVersion, params: &[(&str, &str)]) -> &mut Wire {
        StartupMessage::write(&mut self.buf, v, params.iter().copied()).unwrap();
        self
    }

    pub fn ssl_request(&mut self) -> &mut Wire {
        FrontendMessage::SslRequest.encode(&mut self.buf).unwrap();
        self.expect = Some(BackendPhase::SslResponse);
        self
    }

    pub fn gss_request(&mut self) -> &mut Wire {
        FrontendMessage::GssEncRequest
            .encode(&mut self.buf)
            .unwrap();
        self.expect = Some(BackendPhase::GssEncResponse);
        self
    }

    pub fn cancel(&mut self, pid: i32, key: &[u8]) -> &mut Wire {
        CancelRequest::write(&mut self.buf, pid, key).unwrap();
        self
    }

    pub fn query(&mut self, sql: &str) -> &mut Wire {
        Query::write(&mut self.buf, sql).unwrap();
        self
    }

    pub fn parse(&mut self, name: &str, sql: &str, types: &[u32]) -> &mut Wire {
        Parse::write(&mut self.buf, name, sql, types).unwrap();
        self
    }

    /// Bind with text parameters and text results.
    pub fn bind(&mut self, portal: &str, stmt: &str, params: &[Option<&str>]) -> &mut Wire {
        self.bind_full(portal, stmt, &[], params, &[])
    }

    pub fn bind_full(
        &mut self,
        portal: &str,
        stmt: &str,
        param_formats: &[i16],
        params: &[Option<&str>],
        result_formats: &[i16],
    ) -> &mut Wire {
        Bind::write(
            &mut self.buf,
            portal,
            stmt,
            param_formats,
            params.iter().map(|p| p.map(str::as_bytes)),
            result_formats,
        )
        .unwrap();
        self
    }

    pub fn describe_statement(&mut self, name: &str) -> &mut Wire {
        Describe::write(&mut self.buf, Target::Statement, name).unwrap();
        self
    }

    pub fn describe_portal(&mut self, name: &str) -> &mut Wire {
        Describe::write(&mut self.buf, Target::Portal, name).unwrap();
        self
    }

    pub fn execute(&mut self, portal: &str, max_rows: i32) -> &mut Wire {
        Execute::write(&mut self.buf, portal, max_rows).unwrap();
        self
    }

    pub fn close_statement(&mut self, name: &str) -> &mut Wire {
        Close::write(&mut self.buf, Target::Statement, name).unwrap();
        self
    }

    pub fn close_portal(&mut self, name: &str) -> &mut Wire {
        Close::write(&mut self.buf, Target::Portal, name).unwrap();
        self
    }

    pub fn sync(&mut self) -> &mut Wire {
        FrontendMessage::Sync.encode(&mut self.buf).unwrap();
        self
    }

    pub fn flush(&mut self) -> &mut Wire {
        FrontendMessage::Flush.encode(&mut self.buf).unwrap();
        self
    }

    pub fn terminate(&mut self) -> &mut Wire {
        FrontendMessage::Terminate.encode(&mut self.buf).unwrap();
        self
    }

    pub fn copy_data(&mut self, data: &[u8]) -> &mut Wire {
        CopyData::write(&mut self.buf, data).unwrap();
        self
    }

    pub fn copy_done(&mut self) -> &mut Wire {
        FrontendMessage::CopyDone.encode(&mut self.buf).unwrap();
        self
    }

    pub fn copy_fail(&mut self, message: &str) -> &mut Wire {
        CopyFail::write(&mut self.buf, message).unwrap();
        self
    }

    pub fn function_call(&mut self, oid: u32, args: &[&str]) -> &mut Wire {
        FunctionCall::write(
            &mut self.buf,
            oid,
            &[],
            args.iter().map(|a| Some(a.as_bytes())),
            0,
        )
        .unwrap();
        self
    }

    pub fn password(&mut self, password: &[u8]) -> &mut Wire {
        PasswordMessage::write(&mut self.buf, password).unwrap();
        self
    }

    pub fn sasl_initial(&mut self, mechanism: &str, data: &[u8]) -> &mut Wire {
        SaslInitialResponse::write(&mut self.buf, mechanism, Some(data)).unwrap();
        self
    }

    pub fn sasl_response(&mut self, data: &[u8]) -> &mut Wire {
        SaslResponse::write(&mut self.buf, data).unwrap();
        self
    }

    pub fn raw(&mut self, bytes: &[u8]) -> &mut Wire {
        self.buf.extend_from_slice(bytes);
        self
    }
}

// ----- transcript lines --------------------------------------------------------------------------

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A backend message as one compact line.
pub fn fmt_msg(m: &BackendMessage) -> String {
    match m {
        BackendMessage::SslResponse { accepted } => if *accepted { "S" } else { "N" }.into(),
        BackendMessage::GssEncResponse { accepted } => if *accepted { "G" } else { "N" }.into(),
        BackendMessage::Authentication(a) => match a {
            Authentication::Ok => "R Ok".into(),
            Authentication::CleartextPassword => "R Cleartext".into(),
            Authentication::Md5Password { .. } => "R MD5".into(),
            Authentication::Sasl(m) => {
                let names: Vec<String> = m.iter().map(lossy).collect();
                format!("R SASL {}", names.join(","))
            }
            Authentication::SaslContinue(_) => "R SASLContinue".into(),
            Authentication::SaslFinal(_) => "R SASLFinal".into(),
            other => format!("R {}", other.code()),
        },
        BackendMessage::BackendKeyData(k) => {
            format!("K pid={} key={}B", k.process_id, k.secret_key.len())
        }
        BackendMessage::NegotiateProtocolVersion(n) => {
            let opts: Vec<String> = n.unrecognized_options().map(lossy).collect();
            format!("v {} [{}]", n.version, opts.join(","))
        }
        BackendMessage::ParameterStatus(p) => format!("S {}={}", p.name, p.value),
        BackendMessage::ReadyForQuery(s) => format!("Z {}", s.byte() as char),
        BackendMessage::ParseComplete => "1".into(),
        BackendMessage::BindComplete => "2".into(),
        BackendMessage::CloseComplete => "3".into(),
        BackendMessage::NoData => "n".into(),
        BackendMessage::PortalSuspended => "s".into(),
        BackendMessage::EmptyQueryResponse => "I".into(),
        BackendMessage::ParameterDescription(p) => {
            format!("t {:?}", p.types.iter().collect::<Vec<_>>())
        }
        BackendMessage::RowDescription(t) => {
            let cols: Vec<String> = t
                .fields()
                .map(|f| {
                    let ty = oid::lookup(f.type_oid)
                        .map_or_else(|| f.type_oid.to_string(), |t| t.name.to_string());
                    let fmt = match f.format {
                        0 => String::new(),
                        1 => "/bin".into(),
                        n => format!("/fmt{n}"),
                    };
                    format!("{}:{ty}{fmt}", lossy(f.name))
                })
                .collect();
            format!("T {}", cols.join(" "))
        }
        BackendMessage::DataRow(d) => {
            let vals: Vec<String> = d
                .values()
                .map(|v| match v {
                    None => "NULL".into(),
                    Some(v) if v.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => lossy(v),
                    Some(v) => format!(
                        "0x{}",
                        v.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    ),
                })
                .collect();
            format!("D [{}]", vals.join(","))
        }
        BackendMessage::CommandComplete(c) => format!("C {}", c.tag),
        BackendMessage::FunctionCallResponse(v) => match &v.value {
            None => "V NULL".into(),
            Some(v) => format!("V {}", lossy(v)),
        },
        BackendMessage::ErrorResponse(e) => {
            let code = e.sqlstate().map_or("?????".into(), |c| c.to_string());
            let msg = lossy(e.message().unwrap_or_default());
            match e.severity() {
                Some(b"ERROR") => format!("E {code} {msg}"),
                Some(s) => format!("E {} {code} {msg}", lossy(s)),
                None => format!("E ? {code} {msg}"),
            }
        }
        BackendMessage::NoticeResponse(e) => {
            let code = e.sqlstate().map_or("?????".into(), |c| c.to_string());
            format!("N {code} {}", lossy(e.message().unwrap_or_default()))
        }
        BackendMessage::NotificationResponse(n) => format!("A {} {}", n.channel, n.payload),
        BackendMessage::CopyInResponse(_) => "G".into(),
        BackendMessage::CopyOutResponse(_) => "H".into(),
        BackendMessage::CopyBothResponse(_) => "W".into(),
        BackendMessage::CopyData(d) => format!("d {:?}", lossy(&d.data)),
        BackendMessage::CopyDone => "c".into(),
        other => format!("{other:?}"),
    }
}

/// An event as one compact line.
pub fn fmt_event(e: &Event) -> String {
    match e {
        Event::TlsRequested => "> TlsRequested".into(),
        Event::DirectTls { .. } => "> DirectTls".into(),
        Event::CancelRequested {
            process_id,
            secret_key,
        } => format!("> Cancel pid={process_id} key={:?}", &secret_key[..]),
        Event::Startup(s) => {
            let mut line = format!("> Startup {} db={} {}", s.user, s.database, s.version);
            if !s.settings.is_empty() {
                let kv: Vec<String> = s.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                line.push_str(&format!(" [{}]", kv.join(", ")));
            }
            if s.replication != pgproto::server::Replication::None {
                line.push_str(&format!(" replication={:?}", s.replication));
            }
            if s.tls {
                line.push_str(" tls");
            }
            line
        }
        Event::Authenticated { user } => format!("> Authenticated {user}"),
        Event::Query { sql } => format!("> Query {sql}"),
        Event::Parse {
            name,
            query,
            param_types,
        } => format!("> Parse \"{name}\" {query} {param_types:?}"),
        Event::Execute { portal, max_rows } => format!("> Execute \"{portal}\" {max_rows}"),
        Event::FunctionCall(f) => format!("> FunctionCall {}", f.function),
        Event::CopyData(b) => format!("> CopyData {:?}", lossy(b)),
        Event::CopyDone => "> CopyDone".into(),
        Event::CopyFail { message } => format!("> CopyFail {message}"),
        Event::Terminated(t) => match t {
            Termination::ClientTerminated => "> Terminated: client sent Terminate".into(),
            Termination::ClientClosed => "> Terminated: client closed".into(),
            Termination::Fatal { code, .. } => format!("> Terminated: FATAL {code}"),
            Termination::CancelRequest => "> Terminated: cancel request".into(),
            other => format!("> Terminated: {other:?}"),
        },
        other => format!("> {other:?}"),
    }
}

// ----- the test application ----------------------------------------------------------------------

/// An expression of the fake SQL dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Int(i64),
    Text(String),
    Null,
    /// `$n` (1-based).
    Param(usize),
}

/// A statement of the fake SQL dialect the test application understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    Empty,
    /// `SELECT e [AS name], ...`: one row.
    Select(Vec<(String, Expr)>),
    /// `SELECT generate_series(1, n)`.
    Series(u64),
    Begin,
    Commit,
    Rollback,
    /// `SET name = value` (reported with ParameterStatus).
    Set(String, String),
    /// `COPY t FROM STDIN`.
    CopyIn,
    /// `COPY t TO STDOUT`: two rows.
    CopyOut,
    /// `DO 'text'`: a NOTICE with the text.
    Notice(String),
    /// `SELECT 1/0`: an ERROR at execution.
    Fail(SqlState, String),
    /// `SELECT pg_terminate_backend(pg_backend_pid())`: FATAL 57P01.
    Terminate,
    /// Any other known command: completes with this tag.
    Command(String),
}

fn syntax_error(near: &str) -> PgError {
    PgError::new(
        SqlState::SYNTAX_ERROR,
        format!("syntax error at or near \"{near}\""),
    )
}

fn parse_expr(e: &str) -> Result<Expr, PgError> {
    let e = e.trim();
    if let Ok(n) = e.parse::<i64>() {
        return Ok(Expr::Int(n));
    }
    if e.eq_ignore_ascii_case("null") {
        return Ok(Expr::Null);
    }
    if let Some(t) = e.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Expr::Text(t.to_string()));
    }
    if let Some(n) = e.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
        return Ok(Expr::Param(n));
    }
    Err(syntax_error(e))
}

/// Parses one statement of the fake dialect.
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
    } else if word("COPY") && up.ends_with("FROM STDIN") {
        Stmt::CopyIn
    } else if word("COPY") && up.ends_with("TO STDOUT") {
        Stmt::CopyOut
    } else if word("DO") {
        Stmt::Notice(s[3..].trim().trim_matches('\'').to_string())
    } else if up == "SELECT 1/0" {
        Stmt::Fail(
            SqlState::from_bytes(b"22012").unwrap(),
            "division by zero".into(),
        )
    } else if up == "SELECT PG_TERMINATE_BACKEND(PG_BACKEND_PID())" {
        Stmt::Terminate
    } else if let Some(n) = up
        .strip_prefix("SELECT GENERATE_SERIES(1, ")
        .and_then(|r| r.strip_suffix(')'))
    {
        Stmt::Series(n.trim().parse().map_err(|_| syntax_error(n))?)
    } else if word("SELECT") {
        let mut items = Vec::new();
        for item in s[7..].split(',') {
            let (e, name) = match item.to_ascii_uppercase().find(" AS ") {
                Some(i) => (&item[..i], item[i + 4..].trim().to_string()),
                None => (item, "?column?".to_string()),
            };
            items.push((name, parse_expr(e)?));
        }
        Stmt::Select(items)
    } else if word("INSERT") {
        Stmt::Command("INSERT 0 1".into())
    } else if word("LISTEN") {
        Stmt::Command("LISTEN".into())
    } else if word("CREATE TABLE") {
        Stmt::Command("CREATE TABLE".into())
    } else {
        return Err(syntax_error(s.split(' ').next().unwrap_or(s)));
    })
}

/// The statements of a query string (PostgreSQL parses the whole string first: a syntax error
/// anywhere runs nothing).
pub fn parse_script(sql: &str) -> Result<Vec<Stmt>, PgError> {
    sql.split(';').map(parse_stmt).collect()
}

impl Stmt {
    /// The number of parameters (`$n`) it uses.
    pub fn param_count(&self) -> usize {
        match self {
            Stmt::Select(items) => items
                .iter()
                .map(|(_, e)| if let Expr::Param(n) = e { *n } else { 0 })
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// The result columns, given the parameter types.
    pub fn columns(&self, param_types: &[u32]) -> Option<Vec<Column>> {
        match self {
            Stmt::Select(items) => Some(
                items
                    .iter()
                    .map(|(name, e)| {
                        let ty = match e {
                            Expr::Int(_) => oid::INT4,
                            Expr::Text(_) | Expr::Null => oid::TEXT,
                            Expr::Param(n) => param_types.get(n - 1).copied().unwrap_or(oid::TEXT),
                        };
                        Column::new(name.clone(), ty)
                    })
                    .collect(),
            ),
            Stmt::Series(_) => Some(vec![Column::new("generate_series", oid::INT4)]),
            _ => None,
        }
    }

    /// Every row, as text values.
    pub fn rows(&self, params: &[Option<Vec<u8>>]) -> Vec<Vec<Option<Vec<u8>>>> {
        match self {
            Stmt::Select(items) => vec![
                items
                    .iter()
                    .map(|(_, e)| match e {
                        Expr::Int(n) => Some(n.to_string().into_bytes()),
                        Expr::Text(t) => Some(t.clone().into_bytes()),
                        Expr::Null => None,
                        Expr::Param(n) => params.get(n - 1).cloned().flatten(),
                    })
                    .collect(),
            ],
            Stmt::Series(n) => (1..=*n)
                .map(|i| vec![Some(i.to_string().into_bytes())])
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How the application answers SSLRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAnswer {
    Accept,
    Decline,
    /// Keep the event; a later [`Run::app`] step answers it.
    Defer,
}

/// A simple query in progress.
#[derive(Debug)]
struct SimpleQuery {
    rest: VecDeque<Stmt>,
    status: TransactionStatus,
}

/// The test application: a tiny fake database that answers every event.
pub struct Db {
    /// What the application noted (API errors it got, things it observed).
    pub log: Vec<String>,
    /// How every user authenticates.
    pub auth: Auth,
    /// Refuse every startup with this error instead.
    pub reject: Option<PgError>,
    pub tls: TlsAnswer,
    /// Keep events that need an answer in `pending` instead of answering them.
    pub defer: bool,
    pub pending: VecDeque<Event>,
    /// Bytes a hook took from `poll_transmit` itself (the harness gives them to the client).
    pub stolen: Vec<Bytes>,
    query: Option<SimpleQuery>,
    copy_rows: Option<(u64, bool)>,
}

impl Default for Db {
    fn default() -> Db {
        Db {
            log: Vec::new(),
            auth: Auth::Trust,
            reject: None,
            tls: TlsAnswer::Accept,
            defer: false,
            pending: VecDeque::new(),
            stolen: Vec::new(),
            query: None,
            copy_rows: None,
        }
    }
}

impl Db {
    /// Notes an API error, if any.
    pub fn ok<T>(&mut self, r: Result<T, pgproto::server::ApiError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.log.push(format!("! {e:?}"));
                None
            }
        }
    }

    /// Takes what the connection offers now (as a driver would in the middle of a result).
    pub fn transmit(&mut self, conn: &mut Conn) -> usize {
        let mut n = 0;
        while let Some(b) = conn.poll_transmit() {
            n += b.len();
            self.stolen.push(b);
        }
        n
    }

    /// Answers the deferred events.
    pub fn answer_pending(&mut self, conn: &mut Conn) {
        let defer = std::mem::replace(&mut self.defer, false);
        while let Some(e) = self.pending.pop_front() {
            self.on_event(conn, e);
        }
        self.defer = defer;
    }

    pub fn on_event(&mut self, conn: &mut Conn, event: Event) {
        let needs_answer = matches!(
            event,
            Event::TlsRequested
                | Event::Startup(_)
                | Event::Query { .. }
                | Event::Parse { .. }
                | Event::Execute { .. }
                | Event::FunctionCall(_)
                | Event::CopyDone
        );
        if self.defer && needs_answer {
            self.pending.push_back(event);
            return;
        }
        match event {
            Event::TlsRequested => match self.tls {
                TlsAnswer::Accept => {
                    let r = conn.accept_tls();
                    self.ok(r);
                }
                TlsAnswer::Decline => {
                    let r = conn.decline_tls();
                    self.ok(r);
                }
                TlsAnswer::Defer => self.pending.push_back(Event::TlsRequested),
            },
            Event::Startup(_) => {
                let r = match self.reject.clone() {
                    Some(e) => conn.reject(e),
                    None => conn.authenticate(self.auth.clone()),
                };
                self.ok(r);
            }
            Event::Query { sql } => self.on_query(conn, &sql.to_string_lossy()),
            Event::Parse {
                query, param_types, ..
            } => self.on_parse(conn, &query.to_string_lossy(), &param_types),
            Event::Execute { portal, max_rows } => {
                self.on_execute(conn, portal.as_bytes(), max_rows)
            }
            Event::FunctionCall(f) => {
                let r = if f.function == 177 {
                    let sum: i64 = f
                        .args
                        .iter()
                        .map(|a| lossy(a.unwrap_or_default()).parse::<i64>().unwrap_or(0))
                        .sum();
                    conn.function_result(Some(sum.to_string().as_bytes()))
                } else {
                    conn.error(PgError::new(
                        SqlState::from_bytes(b"42883").unwrap(),
                        format!("function with OID {} does not exist", f.function),
                    ))
                };
                self.ok(r);
            }
            Event::CopyData(d) => {
                if let Some((rows, _)) = &mut self.copy_rows {
                    *rows += d.iter().filter(|&&b| b == b'\n').count() as u64;
                }
            }
            Event::CopyDone => {
                let (rows, simple) = self.copy_rows.take().unwrap_or((0, false));
                let r = conn.command_complete(&format!("COPY {rows}"));
                self.ok(r);
                if simple {
                    self.run_simple(conn);
                }
            }
            Event::CopyFail { .. } => {
                // The connection has answered already (and ended a simple query).
                if let Some((_, true)) = self.copy_rows.take() {
                    self.query = None;
                }
            }
            _ => {}
        }
    }

    fn on_query(&mut self, conn: &mut Conn, sql: &str) {
        let stmts = match parse_script(sql) {
            Ok(s) => s,
            Err(e) => {
                let status = conn.transaction_status();
                let r = conn.error(e);
                self.ok(r);
                let r = conn.query_done(failed(status));
                self.ok(r);
                return;
            }
        };
        if stmts.iter().all(|s| *s == Stmt::Empty) {
            let r = conn.empty_query();
            self.ok(r);
            let r = conn.query_done(conn.transaction_status());
            self.ok(r);
            return;
        }
        self.query = Some(SimpleQuery {
            rest: stmts.into_iter().filter(|s| *s != Stmt::Empty).collect(),
            status: conn.transaction_status(),
        });
        self.run_simple(conn);
    }

    /// Runs the statements of the current simple query until one waits for COPY data.
    fn run_simple(&mut self, conn: &mut Conn) {
        loop {
            if conn.is_closed() {
                self.query = None;
                return;
            }
            let Some(q) = self.query.as_mut() else { return };
            let status = q.status;
            let Some(stmt) = q.rest.pop_front() else {
                self.query = None;
                let r = conn.query_done(status);
                self.ok(r);
                return;
            };
            if status == TransactionStatus::Failed && !matches!(stmt, Stmt::Commit | Stmt::Rollback)
            {
                self.fail_simple(conn, aborted());
                continue;
            }
            match stmt {
                Stmt::Empty => {}
                Stmt::Select(_) | Stmt::Series(_) => {
                    let cols = stmt.columns(&[]).unwrap();
                    let r = conn.row_description(&cols);
                    self.ok(r);
                    let rows = stmt.rows(&[]);
                    for row in &rows {
                        let r = conn.data_row(row.iter().map(|v| v.as_deref()));
                        self.ok(r);
                    }
                    let r = conn.command_complete(&format!("SELECT {}", rows.len()));
                    self.ok(r);
                }
                Stmt::Begin => {
                    self.complete_simple(conn, "BEGIN", TransactionStatus::InTransaction)
                }
                Stmt::Commit => {
                    let tag = if status == TransactionStatus::Failed {
                        "ROLLBACK"
                    } else {
                        "COMMIT"
                    };
                    self.complete_simple(conn, tag, TransactionStatus::Idle)
                }
                Stmt::Rollback => self.complete_simple(conn, "ROLLBACK", TransactionStatus::Idle),
                Stmt::Set(k, v) => {
                    let r = conn.set_parameter(&k, &v);
                    self.ok(r);
                    self.complete_simple(conn, "SET", status);
                }
                Stmt::CopyIn => {
                    let r = conn.start_copy_in(Format::Text, &[0]);
                    if self.ok(r).is_some() {
                        self.copy_rows = Some((0, true));
                    }
                    return;
                }
                Stmt::CopyOut => self.copy_out(conn),
                Stmt::Notice(m) => {
                    let r = conn.notice(&PgError::notice(m));
                    self.ok(r);
                    self.complete_simple(conn, "DO", status);
                }
                Stmt::Fail(code, msg) => self.fail_simple(conn, PgError::new(code, msg)),
                Stmt::Terminate => {
                    let r = conn.error(terminated_by_admin());
                    self.ok(r);
                }
                Stmt::Command(tag) => self.complete_simple(conn, &tag, status),
            }
        }
    }

    fn complete_simple(&mut self, conn: &mut Conn, tag: &str, status: TransactionStatus) {
        let r = conn.command_complete(tag);
        self.ok(r);
        if let Some(q) = &mut self.query {
            q.status = status;
        }
    }

    /// An error ends the rest of the query string.
    fn fail_simple(&mut self, conn: &mut Conn, e: PgError) {
        let r = conn.error(e);
        self.ok(r);
        if let Some(q) = &mut self.query {
            q.rest.clear();
            q.status = failed(q.status);
        }
    }

    fn copy_out(&mut self, conn: &mut Conn) {
        let r = conn.start_copy_out(Format::Text, &[0]);
        self.ok(r);
        for line in [&b"1\n"[..], b"2\n"] {
            let r = conn.copy_data(line);
            self.ok(r);
        }
        let r = conn.copy_done();
        self.ok(r);
        let r = conn.command_complete("COPY 2");
        self.ok(r);
    }

    fn on_parse(&mut self, conn: &mut Conn, query: &str, given: &[u32]) {
        let stmt = match parse_script(query) {
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
                let r = conn.parse_complete(types, cols, stmt);
                self.ok(r);
            }
            Err(e) => self.fail_extended(conn, e),
        }
    }

    /// An error in the extended protocol: the transaction block fails (set before answering:
    /// the answer may run a pipelined Sync at once).
    fn fail_extended(&mut self, conn: &mut Conn, e: PgError) {
        let status = failed(conn.transaction_status());
        conn.set_transaction_status(status);
        let r = conn.error(e);
        self.ok(r);
    }

    fn on_execute(&mut self, conn: &mut Conn, portal: &[u8], max_rows: u32) {
        let Some(p) = conn.portal(portal) else {
            self.log
                .push("! Execute of a portal the connection does not know".into());
            return;
        };
        let offset = p.data.unwrap_or(0);
        let params: Vec<Option<Vec<u8>>> = p
            .bind
            .params
            .iter()
            .map(|v| v.map(<[u8]>::to_vec))
            .collect();
        let formats: Vec<Format> = (0..p.formats.len()).map(|i| p.column_format(i)).collect();
        let Some(stmt) = conn.portal_statement(portal).map(|s| s.data.clone()) else {
            let msg = format!("the statement of portal \"{}\" is gone", lossy(portal));
            self.log.push(format!("! {msg}"));
            self.fail_extended(conn, PgError::new(SqlState::INTERNAL_ERROR, msg));
            return;
        };
        let status = conn.transaction_status();
        if status == TransactionStatus::Failed && !matches!(stmt, Stmt::Commit | Stmt::Rollback) {
            self.fail_extended(conn, aborted());
            return;
        }
        let complete = |db: &mut Db, conn: &mut Conn, tag: &str, status: TransactionStatus| {
            conn.set_transaction_status(status);
            let r = conn.command_complete(tag);
            db.ok(r);
        };
        match stmt {
            Stmt::Empty => {
                let r = conn.empty_query();
                self.ok(r);
            }
            Stmt::Select(_) | Stmt::Series(_) => {
                let rows = stmt.rows(&params);
                let rest = &rows[(offset as usize).min(rows.len())..];
                let n = if max_rows == 0 {
                    rest.len()
                } else {
                    rest.len().min(max_rows as usize)
                };
                for row in &rest[..n] {
                    let row: Vec<Option<Vec<u8>>> = row
                        .iter()
                        .zip(&formats)
                        .map(|(v, f)| match (v, f) {
                            (Some(v), Format::Binary) => {
                                let n: i32 = lossy(v).parse().unwrap_or(0);
                                Some(n.to_be_bytes().to_vec())
                            }
                            (v, _) => v.clone(),
                        })
                        .collect();
                    let r = conn.data_row(row.iter().map(|v| v.as_deref()));
                    self.ok(r);
                }
                if let Some(p) = conn.portal_mut(portal) {
                    p.data = Some(offset + n as u64);
                }
                if max_rows > 0 && n == max_rows as usize {
                    let r = conn.portal_suspended();
                    self.ok(r);
                } else {
                    let r = conn.command_complete(&format!("SELECT {n}"));
                    self.ok(r);
                }
            }
            Stmt::Begin => complete(self, conn, "BEGIN", TransactionStatus::InTransaction),
            Stmt::Commit => {
                let tag = if status == TransactionStatus::Failed {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                };
                complete(self, conn, tag, TransactionStatus::Idle)
            }
            Stmt::Rollback => complete(self, conn, "ROLLBACK", TransactionStatus::Idle),
            Stmt::Set(k, v) => {
                let r = conn.set_parameter(&k, &v);
                self.ok(r);
                complete(self, conn, "SET", status)
            }
            Stmt::CopyIn => {
                let r = conn.start_copy_in(Format::Text, &[0]);
                if self.ok(r).is_some() {
                    self.copy_rows = Some((0, false));
                }
            }
            Stmt::CopyOut => self.copy_out(conn),
            Stmt::Notice(m) => {
                let r = conn.notice(&PgError::notice(m));
                self.ok(r);
                complete(self, conn, "DO", status)
            }
            Stmt::Fail(code, msg) => self.fail_extended(conn, PgError::new(code, msg)),
            Stmt::Terminate => {
                let r = conn.error(terminated_by_admin());
                self.ok(r);
            }
            Stmt::Command(tag) => complete(self, conn, &tag, status),
        }
    }
}

/// The status after an error: a transaction block fails, an implicit transaction just ends.
pub fn failed(status: TransactionStatus) -> TransactionStatus {
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

pub fn terminated_by_admin() -> PgError {
    PgError::fatal(
        SqlState::ADMIN_SHUTDOWN,
        "terminating connection due to administrator command",
    )
}

// ----- the harness -------------------------------------------------------------------------------

/// How a run feeds the client's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Records the segments, feeding each whole.
    Record,
    /// Feeds segment `segment` in two pieces split at `at`, the others whole.
    Split { segment: usize, at: usize },
    /// Feeds every segment one byte at a time.
    Bytewise,
}

#[derive(Debug, Clone)]
struct Segment {
    bytes: Vec<u8>,
    expect: Option<BackendPhase>,
}

type Hook = Box<dyn FnMut(&mut Conn, &Event, &mut Db) -> bool>;

/// One run of a scenario: the connection, the application, the client and the virtual clock.
pub struct Run<'r> {
    mode: Mode,
    segments: &'r mut Vec<Segment>,
    next_segment: usize,
    config: Config,
    seed: u64,
    conn: Option<Conn>,
    pub db: Db,
    hook: Option<Hook>,
    now: Instant,
    client: BackendDecoder,
    client_in: BytesMut,
    seen: Vec<BackendMessage>,
    transcript: Vec<String>,
    step_msgs: Vec<String>,
    raw: Vec<u8>,
    /// The bytes a TLS engine took over (after direct TLS), while it owns the stream.
    tls_engine: Option<Vec<u8>>,
    collapse: bool,
    client_broken: bool,
}

/// What a scenario produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub transcript: Vec<String>,
    /// Every byte the connection offered, in order.
    pub raw: Vec<u8>,
}

impl<'r> Run<'r> {
    fn new(mode: Mode, segments: &'r mut Vec<Segment>) -> Run<'r> {
        let now = Instant::now();
        Run {
            mode,
            segments,
            next_segment: 0,
            config: Config::default(),
            seed: 0x5EED,
            conn: None,
            db: Db::default(),
            hook: None,
            now,
            client: BackendDecoder::new(),
            client_in: BytesMut::new(),
            seen: Vec::new(),
            transcript: Vec::new(),
            step_msgs: Vec::new(),
            raw: Vec::new(),
            tls_engine: None,
            collapse: false,
            client_broken: false,
        }
    }

    /// Whether this is the recording run (the only one that calls client closures).
    pub fn is_recording(&self) -> bool {
        self.mode == Mode::Record
    }

    /// The configuration, before the first step.
    pub fn config(&mut self) -> &mut Config {
        assert!(self.conn.is_none(), "configure before the first step");
        &mut self.config
    }

    /// Handles events before the application does; return true when handled.
    pub fn hook(&mut self, f: impl FnMut(&mut Conn, &Event, &mut Db) -> bool + 'static) {
        self.hook = Some(Box::new(f));
    }

    /// Every message the client has decoded so far.
    pub fn seen(&self) -> &[BackendMessage] {
        &self.seen
    }

    pub fn note(&mut self, line: impl Into<String>) {
        self.transcript.push(line.into());
    }

    /// A marker line in the transcript (to show when output became available).
    pub fn mark(&mut self, label: &str) {
        self.transcript.push(format!("-- {label}"));
    }

    fn ensure_conn(&mut self) {
        if self.conn.is_none() {
            self.conn = Some(Connection::with_random(
                self.config.clone(),
                self.now,
                Box::new(TestRng::new(self.seed)),
            ));
        }
    }

    /// The client sends one segment.
    pub fn send(&mut self, build: impl FnOnce(&mut Wire)) {
        self.ensure_conn();
        let i = self.next_segment;
        self.next_segment += 1;
        if self.mode == Mode::Record {
            let mut w = Wire::default();
            build(&mut w);
            self.segments.push(Segment {
                bytes: w.buf.to_vec(),
                expect: w.expect,
            });
        }
        let seg = self.segments[i].clone();
        if let Some(phase) = seg.expect {
            self.client.set_phase(phase);
        }
        let bytes = &seg.bytes[..];
        match self.mode {
            Mode::Split { segment, at } if segment == i => {
                self.feed(&bytes[..at]);
                self.feed(&bytes[at..]);
            }
            Mode::Bytewise => {
                for b in bytes.chunks(1) {
                    self.feed(b);
                }
            }
            _ => self.feed(bytes),
        }
        self.end_step();
    }

    /// The client logs in as `alice` (trust unless configured otherwise); the step's output is
    /// collapsed to `-- login` after checking that it ends with `Z I`.
    pub fn login(&mut self) {
        self.collapse = true;
        self.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    }

    fn feed(&mut self, piece: &[u8]) {
        if let Some(engine) = &mut self.tls_engine {
            engine.extend_from_slice(piece);
            return;
        }
        let now = self.now;
        self.conn.as_mut().unwrap().handle_input(now, piece);
        self.pump();
    }

    /// An application action outside any event (notify, terminate, a deferred answer...).
    pub fn app(&mut self, f: impl FnOnce(&mut Conn, &mut Db)) {
        self.ensure_conn();
        f(self.conn.as_mut().unwrap(), &mut self.db);
        self.pump();
        self.end_step();
    }

    /// The virtual clock moves on; due timers fire as a driver's would.
    pub fn advance(&mut self, d: Duration) {
        self.ensure_conn();
        self.now += d;
        self.pump();
        self.end_step();
    }

    /// The client closes the connection.
    pub fn eof(&mut self) {
        self.ensure_conn();
        let now = self.now;
        self.conn.as_mut().unwrap().handle_eof(now);
        self.pump();
        self.end_step();
    }

    /// The driver's TLS handshake finished (after `accept_tls` or direct TLS).
    pub fn tls_established(&mut self, cert: Option<&[u8]>) {
        self.ensure_conn();
        if let Some(hello) = self.tls_engine.take() {
            self.transcript.push(format!(
                "! TLS engine took {} bytes starting {:02x?}",
                hello.len(),
                &hello[..hello.len().min(3)]
            ));
        }
        let r = self.conn.as_mut().unwrap().handle_tls_established(cert);
        self.db.ok(r);
        self.pump();
        self.end_step();
    }

    /// Events to the application, output to the client, due timers, until nothing moves.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let conn = self.conn.as_mut().unwrap();
            let mut moved = false;
            while let Some(ev) = conn.poll_event() {
                moved = true;
                self.transcript.push(fmt_event(&ev));
                if let Event::DirectTls { client_hello } = &ev {
                    self.tls_engine = Some(client_hello.to_vec());
                }
                let handled = match &mut self.hook {
                    Some(h) => h(conn, &ev, &mut self.db),
                    None => false,
                };
                if !handled {
                    self.db.on_event(conn, ev);
                }
                self.transcript.append(&mut self.db.log);
            }
            self.transcript.append(&mut self.db.log);
            let mut out: Vec<Bytes> = std::mem::take(&mut self.db.stolen);
            while let Some(b) = conn.poll_transmit() {
                out.push(b);
            }
            for b in out {
                moved = true;
                self.raw.extend_from_slice(&b);
                if self.client_broken {
                    continue;
                }
                self.client_in.extend_from_slice(&b);
                loop {
                    match self.client.decode(&mut self.client_in) {
                        Ok(Some(m)) => {
                            self.step_msgs.push(fmt_msg(&m));
                            self.seen.push(m);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            // The client has lost the stream: note it and read no more.
                            self.step_msgs.push(format!("?? undecodable: {e}"));
                            self.client_in.clear();
                            self.client_broken = true;
                            break;
                        }
                    }
                }
            }
            if let Some(t) = conn.poll_timeout()
                && t <= self.now
            {
                let before = (conn.poll_timeout(), conn.is_closed());
                conn.handle_timeout(self.now);
                moved |= before != (conn.poll_timeout(), conn.is_closed());
            }
            if !moved {
                return;
            }
        }
        panic!("the connection does not settle");
    }

    fn end_step(&mut self) {
        let mut msgs = std::mem::take(&mut self.step_msgs);
        if std::mem::take(&mut self.collapse) {
            assert_eq!(
                msgs.last().map(String::as_str),
                Some("Z I"),
                "login failed: {msgs:?}"
            );
            self.transcript.push("-- login".into());
        } else {
            self.transcript.append(&mut msgs);
        }
    }

    fn finish(self) -> Outcome {
        assert!(
            self.client_in.is_empty(),
            "the client holds a partial message: {:?}",
            self.client_in
        );
        Outcome {
            transcript: self.transcript,
            raw: self.raw,
        }
    }
}

/// Runs `scenario` once to record the client's bytes, then with each segment split in two at
/// every byte boundary and with every segment fed byte by byte; all runs must agree. Returns
/// the outcome of the recording run.
pub fn check(scenario: impl Fn(&mut Run<'_>)) -> Outcome {
    let mut segments = Vec::new();
    let reference = {
        let mut run = Run::new(Mode::Record, &mut segments);
        scenario(&mut run);
        run.finish()
    };
    let mut modes = vec![Mode::Bytewise];
    for (i, s) in segments.iter().enumerate() {
        for at in 1..s.bytes.len() {
            modes.push(Mode::Split { segment: i, at });
        }
    }
    for mode in modes {
        let mut segs = segments.clone();
        let mut run = Run::new(mode, &mut segs);
        scenario(&mut run);
        let got = run.finish();
        if got != reference {
            let first = reference
                .transcript
                .iter()
                .zip(&got.transcript)
                .position(|(a, b)| a != b);
            panic!(
                "{mode:?} differs from the whole-segment run (first difference at line {first:?})\n\
                 whole: {:#?}\n{mode:?}: {:#?}\nsame bytes: {}",
                reference.transcript,
                got.transcript,
                reference.raw == got.raw
            );
        }
    }
    reference
}

/// [`check`], returning the transcript.
pub fn transcript(scenario: impl Fn(&mut Run<'_>)) -> Vec<String> {
    check(scenario).transcript
}

/// The ParameterStatus lines of the default configuration, in order.
pub fn default_parameter_lines() -> Vec<String> {
    Config::default()
        .parameters
        .iter()
        .map(|(k, v)| format!("S {k}={v}"))
        .collect()
}
