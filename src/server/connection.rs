//! The server connection state machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::config::Config;
use super::error::{ApiError, PgError, Severity};
use super::event::{Event, Replication, Startup, Termination};
use super::registry::{Column, Portal, Registry, Statement};
use crate::SqlState;
use crate::auth::{
    OsRandom, RandomSource, ScramSecret, ScramServer, ScramStep, StoredSecret, md5_salt,
    mechanisms, tls_server_end_point,
};
use crate::message::{
    Authentication, BackendKeyData, BackendMessage, CommandComplete, CopyData, CopyResponse,
    CopyResponseKind, DataRow, DecodeError, EncodeError, ErrorFields, Format, FrontendDecoder,
    FrontendMessage, FrontendPhase, FunctionCallResponse, NegotiateProtocolVersion,
    NotificationResponse, ParameterDescription, ParameterStatus, PgStr, ProtocolVersion,
    RowDescription, SaslMechanisms, StartupMessage, TLS_HANDSHAKE_BYTE, Target, TransactionStatus,
    backend_tag as tag,
};
use crate::types::RowWriter;

/// How the application authenticates a user, answering [`Event::Startup`].
///
/// `None` as the secret means the user does not exist (or has no usable secret): the exchange
/// still runs to its end and then fails like a wrong password, as PostgreSQL does, so that the
/// user's existence is not revealed.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Accept without a password.
    Trust,
    /// AuthenticationCleartextPassword (any stored secret can check it).
    Cleartext(Option<StoredSecret>),
    /// AuthenticationMD5Password. A user whose secret is a SCRAM verifier is switched to SCRAM,
    /// as PostgreSQL does.
    Md5(Option<StoredSecret>),
    /// SCRAM-SHA-256, and SCRAM-SHA-256-PLUS when the connection is TLS and the driver gave the
    /// certificate to [`Connection::handle_tls_established`].
    Scram(Option<StoredSecret>),
}

#[derive(Debug)]
enum State {
    /// Reading startup-phase packets.
    Startup,
    /// SSLRequest received; waiting for accept_tls/decline_tls.
    TlsDecision,
    /// The driver runs the TLS handshake; input waits.
    TlsHandshake,
    /// StartupMessage received; waiting for authenticate/reject.
    StartupDecision,
    /// Waiting for a PasswordMessage.
    Password {
        md5_salt: Option<[u8; 4]>,
        secret: Option<StoredSecret>,
    },
    /// Waiting for a SASLInitialResponse.
    SaslInitial { secret: Option<ScramSecret> },
    /// Waiting for a SASLResponse.
    Sasl { exchange: Box<ScramServer> },
    /// Authenticated.
    Ready(Busy),
    /// Over.
    Closed,
}

/// What the application is answering while authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Idle,
    /// Authenticated, held until `start_session` (`Config::hold_after_auth`).
    Starting,
    /// A Sync waits for `sync_done` (`Config::report_sync`).
    Sync,
    /// A simple query; `columns` of the current statement's rows, `failed` after an error.
    Query {
        columns: Option<usize>,
        failed: bool,
    },
    Parse,
    Execute {
        max_rows: u32,
        rows: u32,
        columns: Option<usize>,
    },
    FunctionCall,
    /// COPY FROM STDIN data is arriving (`simple`: started by a Query).
    CopyIn {
        simple: bool,
    },
    /// CopyDone received; waiting for the command's completion.
    CopyInDone {
        simple: bool,
    },
    /// COPY TO STDOUT in progress.
    CopyOut {
        simple: bool,
    },
    /// COPY TO STDOUT finished; waiting for the command's completion.
    CopyOutDone {
        simple: bool,
    },
    /// COPY BOTH (replication): data flows both ways until each side has sent CopyDone.
    CopyBoth {
        simple: bool,
        client_done: bool,
        server_done: bool,
    },
}

/// A sans-IO PostgreSQL server connection (the backend side of one session).
///
/// Feed it what the socket delivers with [`handle_input`](Self::handle_input) (and
/// [`handle_eof`](Self::handle_eof), [`handle_timeout`](Self::handle_timeout)), take
/// [`poll_event`](Self::poll_event)s and answer them with the methods each event names, and write
/// what [`poll_transmit`](Self::poll_transmit) returns to the socket. Arm a timer for
/// [`poll_timeout`](Self::poll_timeout). The connection owns no socket, reads no clock (time comes
/// in as `now`) and draws randomness only from its [`RandomSource`].
///
/// Requests are answered in order: the connection emits the next event that needs an answer
/// only after the previous one was answered, and an answer is only accepted once its event has
/// been polled. Answers take effect at the next poll: set the transaction status with
/// [`set_transaction_status`](Self::set_transaction_status) any time before polling again.
/// Every answer is checked against the protocol (a data row without a description, a second
/// completion, an answer when nothing was asked are [`ApiError`]s and leave the output
/// untouched).
///
/// `S` is the application's data for each prepared statement, `P` for each portal; they are
/// dropped when PostgreSQL would drop the statement or portal.
///
/// ```
/// use std::time::Instant;
/// use pgproto::server::{Auth, Column, Config, Connection, Event};
/// use pgproto::message::{ProtocolVersion, Query, StartupMessage, TransactionStatus};
/// use pgproto::types::oid;
///
/// let now = Instant::now();
/// let mut conn: Connection = Connection::new(Config::default(), now);
/// // Bytes from a client (a socket read):
/// let mut wire = bytes::BytesMut::new();
/// StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "alice")]).unwrap();
/// Query::write(&mut wire, "SELECT 1").unwrap();
/// conn.handle_input(now, &wire);
/// while let Some(event) = conn.poll_event() {
///     match event {
///         Event::Startup(_) => conn.authenticate(Auth::Trust).unwrap(),
///         Event::Query { sql } => {
///             assert_eq!(sql, "SELECT 1");
///             conn.row_description(&[Column::new("?column?", oid::INT4)]).unwrap();
///             conn.data_row([Some(&b"1"[..])]).unwrap();
///             conn.command_complete("SELECT 1").unwrap();
///             conn.query_done(TransactionStatus::Idle).unwrap();
///         }
///         _ => {}
///     }
/// }
/// while let Some(bytes) = conn.poll_transmit() {
///     // write `bytes` to the socket
///     assert!(!bytes.is_empty());
/// }
/// ```
pub struct Connection<S = (), P = ()> {
    config: Config,
    rng: Box<dyn RandomSource + Send>,
    decoder: FrontendDecoder,
    input: BytesMut,
    out: BytesMut,
    /// Bytes at the front of `out` offered to the driver.
    ready: usize,
    /// ParameterStatus messages held back until the next ReadyForQuery.
    deferred_params: BytesMut,
    /// Notifications held back until the session is idle outside a transaction.
    deferred_notifies: BytesMut,
    events: VecDeque<Event>,
    /// An event that needs an answer has not been polled yet.
    undelivered: bool,
    state: State,
    version: ProtocolVersion,
    tls: bool,
    direct_tls: bool,
    ssl_done: bool,
    gss_done: bool,
    /// A startup packet was received (the auth timeout then ends with a FATAL, not silently).
    started: bool,
    channel_binding: Option<Vec<u8>>,
    user: PgStr,
    secret_key: Vec<u8>,
    parameters: Vec<(String, String)>,
    /// An error PostgreSQL reports only after authentication (a bad `options` value).
    after_auth_error: Option<PgError>,
    registry: Registry<S, P>,
    txn: TransactionStatus,
    /// Discarding extended-query messages until Sync, after an error.
    discarding: bool,
    /// The `replication` startup parameter.
    replication: Replication,
    /// The statement a Parse event is creating (name, query).
    parsing: Option<(PgStr, PgStr)>,
    /// `process` is running.
    processing: bool,
    /// Nothing has arrived since the last ReadyForQuery: the session is idle in PostgreSQL's
    /// sense (a half-sent batch is not).
    at_ready: bool,
    auth_deadline: Option<Instant>,
    idle_timeout: Option<Duration>,
    idle_in_transaction_timeout: Option<Duration>,
    idle_deadline: Option<Instant>,
    /// An idle timer waits for the driver's next notion of the time to start.
    idle_pending: bool,
    now: Instant,
}

impl<S, P> core::fmt::Debug for Connection<S, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state)
            .field("version", &self.version)
            .field("tls", &self.tls)
            .field("txn", &self.txn)
            .finish_non_exhaustive()
    }
}

impl<S, P> Connection<S, P> {
    /// A connection that has just been accepted, with the operating system's random source.
    pub fn new(config: Config, now: Instant) -> Connection<S, P> {
        Connection::with_random(config, now, Box::new(OsRandom))
    }

    /// A connection drawing nonces, salts and cancel keys from `rng`.
    pub fn with_random(
        config: Config,
        now: Instant,
        rng: Box<dyn RandomSource + Send>,
    ) -> Connection<S, P> {
        let auth_deadline = now.checked_add(config.authentication_timeout);
        Connection {
            decoder: FrontendDecoder::with_limits(config.limits),
            parameters: config.parameters.clone(),
            config,
            rng,
            input: BytesMut::new(),
            out: BytesMut::new(),
            ready: 0,
            deferred_params: BytesMut::new(),
            deferred_notifies: BytesMut::new(),
            events: VecDeque::new(),
            undelivered: false,
            state: State::Startup,
            version: ProtocolVersion::V3_0,
            tls: false,
            direct_tls: false,
            ssl_done: false,
            gss_done: false,
            started: false,
            channel_binding: None,
            user: PgStr::EMPTY,
            secret_key: Vec::new(),
            after_auth_error: None,
            registry: Registry::default(),
            txn: TransactionStatus::Idle,
            discarding: false,
            replication: Replication::None,
            parsing: None,
            processing: false,
            at_ready: false,
            auth_deadline,
            idle_timeout: None,
            idle_in_transaction_timeout: None,
            idle_deadline: None,
            idle_pending: false,
            now,
        }
    }

    // ----- inputs ------------------------------------------------------------------------

    /// Bytes received from the client (after TLS decryption, when TLS is on).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.anchor_idle(now);
        if matches!(self.state, State::Closed) {
            return;
        }
        if matches!(self.state, State::TlsHandshake) && !data.is_empty() {
            // Plaintext before the handshake finished: CVE-2021-23214.
            self.fatal(PgError::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "received unencrypted data after SSL request",
            ));
            return;
        }
        // Bytes that arrive while TLS is being decided are kept: accept_tls refuses them.
        self.input.extend_from_slice(data);
        self.process();
    }

    /// The client closed its side of the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if !matches!(self.state, State::Closed) {
            self.state = State::Closed;
            self.events
                .push_back(Event::Terminated(Termination::ClientClosed));
        }
    }

    /// The timer from [`poll_timeout`](Self::poll_timeout) fired (an early call does nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.anchor_idle(now);
        if matches!(self.state, State::Closed) {
            return;
        }
        if let Some(deadline) = self.auth_deadline
            && now >= deadline
        {
            let (code, message) = (
                SqlState::QUERY_CANCELED,
                "canceling authentication due to timeout",
            );
            if self.started {
                self.fatal(PgError::fatal(code, message));
            } else {
                // Before a startup packet PostgreSQL closes without a word (the client may not
                // even be speaking the protocol, or be mid-handshake).
                self.close_silently(code, message);
            }
            return;
        }
        if let Some(deadline) = self.idle_deadline
            && now >= deadline
            && matches!(self.state, State::Ready(Busy::Idle))
        {
            let err = if self.txn == TransactionStatus::Idle {
                PgError::fatal(
                    SqlState::IDLE_SESSION_TIMEOUT,
                    "terminating connection due to idle-session timeout",
                )
            } else {
                PgError::fatal(
                    SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                    "terminating connection due to idle-in-transaction timeout",
                )
            };
            self.fatal(err);
        }
    }

    /// The TLS handshake the driver ran (after [`accept_tls`](Self::accept_tls) or
    /// [`Event::DirectTls`]) finished. `server_certificate` is the DER certificate the server
    /// presented; with it, SCRAM-SHA-256-PLUS (channel binding) is offered.
    pub fn handle_tls_established(
        &mut self,
        server_certificate: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        if !matches!(self.state, State::TlsHandshake) {
            return Err(self.unexpected("handle_tls_established"));
        }
        self.tls = true;
        self.channel_binding = server_certificate.and_then(|c| tls_server_end_point(c).ok());
        self.state = State::Startup;
        Ok(())
    }

    // ----- outputs -----------------------------------------------------------------------

    /// The next event, in wire order. Polling also carries out the answers given so far and
    /// reads on in the input.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.process();
        }
        let e = self.events.pop_front()?;
        if needs_answer(&e) {
            self.undelivered = false;
        }
        Some(e)
    }

    /// Bytes to write to the client, if any are ready. They are offered at Sync/ReadyForQuery,
    /// Flush, each authentication step, errors and notices (as PostgreSQL flushes them),
    /// notifications while idle, and when the buffer passes [`Config::flush_threshold`].
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.ready == 0 && self.events.is_empty() {
            self.process();
        }
        if self.ready == 0 {
            return None;
        }
        let n = self.ready;
        self.ready = 0;
        Some(self.out.split_to(n).freeze())
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.idle_pending {
            // An idle timer starts at the driver's next notion of the time.
            return Some(self.now);
        }
        match self.state {
            State::Closed => None,
            State::Ready(_) => self.idle_deadline,
            _ => self.auth_deadline,
        }
    }

    /// Bytes buffered for the client, ready or not.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Whether buffered output exceeds [`Config::max_output`]: stop producing rows until the
    /// driver has written what [`poll_transmit`](Self::poll_transmit) gives (it always has it).
    pub fn output_full(&self) -> bool {
        self.out.len() > self.config.max_output
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    // ----- session facts -----------------------------------------------------------------

    /// The protocol version in use.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// The `replication` startup parameter of this connection. On a replication connection
    /// only simple queries are accepted: Parse, Bind, Describe, Execute and Close are answered
    /// with 08P01 (and discarded until Sync), a FunctionCall with 08P01, as PostgreSQL's
    /// walsender does. Read the queries with
    /// [`ReplicationCommand::parse`](crate::replication::ReplicationCommand::parse).
    pub fn replication(&self) -> Replication {
        self.replication
    }

    /// The authenticated user (empty before authentication).
    pub fn user(&self) -> &PgStr {
        &self.user
    }

    /// The process id and secret key sent in BackendKeyData (empty key before authentication),
    /// for matching CancelRequests from other connections.
    pub fn cancel_key(&self) -> (i32, &[u8]) {
        (self.config.process_id, &self.secret_key)
    }

    /// The transaction status: as last set, and `Failed` after an error inside a transaction
    /// block (the application should refuse statements other than ROLLBACK with 25P02 then).
    pub fn transaction_status(&self) -> TransactionStatus {
        self.txn
    }

    /// A prepared statement, by name.
    pub fn statement(&self, name: &[u8]) -> Option<&Statement<S>> {
        self.registry.statement(name)
    }

    /// A portal (in particular the one an [`Event::Execute`] names: its parameters and result
    /// formats).
    pub fn portal(&self, name: &[u8]) -> Option<&Portal<P>> {
        self.registry.portals.get(name)
    }

    /// A portal, mutably (to attach data to it).
    pub fn portal_mut(&mut self, name: &[u8]) -> Option<&mut Portal<P>> {
        self.registry.portals.get_mut(name)
    }

    /// The statement a portal was bound to, even if it has since been closed or replaced.
    pub fn portal_statement(&self, portal: &[u8]) -> Option<&Statement<S>> {
        let id = self.registry.portals.get(portal)?.statement_id;
        self.registry.by_id(id)
    }

    // ----- answers: startup --------------------------------------------------------------

    /// Answers [`Event::TlsRequested`]: `S`, then the driver runs the TLS handshake.
    pub fn accept_tls(&mut self) -> Result<(), ApiError> {
        if !matches!(self.state, State::TlsDecision) || self.undelivered {
            return Err(self.unexpected("accept_tls"));
        }
        if !self.input.is_empty() {
            self.fatal(PgError::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "received unencrypted data after SSL request",
            ));
            return Ok(());
        }
        BackendMessage::SslResponse { accepted: true }.encode(&mut self.out)?;
        self.mark_ready();
        self.state = State::TlsHandshake;
        Ok(())
    }

    /// Answers [`Event::TlsRequested`]: `N`; the client goes on in plaintext (or gives up).
    pub fn decline_tls(&mut self) -> Result<(), ApiError> {
        if !matches!(self.state, State::TlsDecision) || self.undelivered {
            return Err(self.unexpected("decline_tls"));
        }
        BackendMessage::SslResponse { accepted: false }.encode(&mut self.out)?;
        self.mark_ready();
        self.state = State::Startup;
        self.refuse_pipelined_after_encryption_request(false);
        Ok(())
    }

    /// Answers [`Event::Startup`] with how to authenticate the user.
    pub fn authenticate(&mut self, auth: Auth) -> Result<(), ApiError> {
        if !matches!(self.state, State::StartupDecision) || self.undelivered {
            return Err(self.unexpected("authenticate"));
        }
        match auth {
            Auth::Trust => return self.authenticated(),
            Auth::Cleartext(secret) => {
                Authentication::CleartextPassword.encode(&mut self.out)?;
                self.decoder.set_phase(FrontendPhase::Password);
                self.state = State::Password {
                    md5_salt: None,
                    secret,
                };
            }
            Auth::Md5(Some(StoredSecret::Scram(v))) => return self.start_sasl(Some(v)),
            Auth::Md5(secret) => {
                let salt = match md5_salt(self.rng.as_mut()) {
                    Ok(s) => s,
                    Err(e) => {
                        self.fatal(PgError::fatal(e.sqlstate(), e.to_string()));
                        return Ok(());
                    }
                };
                Authentication::Md5Password { salt }.encode(&mut self.out)?;
                self.decoder.set_phase(FrontendPhase::Password);
                self.state = State::Password {
                    md5_salt: Some(salt),
                    secret,
                };
            }
            Auth::Scram(secret) => {
                let mock = self.mock_secret();
                let secret = secret.and_then(|s| s.to_scram(self.user.as_bytes(), &mock));
                return self.start_sasl(secret);
            }
        }
        self.mark_ready();
        Ok(())
    }

    /// Answers [`Event::Startup`] by refusing the session with `error` (sent as FATAL).
    pub fn reject(&mut self, error: PgError) -> Result<(), ApiError> {
        if !matches!(self.state, State::StartupDecision) || self.undelivered {
            return Err(self.unexpected("reject"));
        }
        self.fatal(PgError {
            severity: Severity::Fatal,
            ..error
        });
        Ok(())
    }

    /// Sets a run-time parameter and reports it with ParameterStatus (before the next
    /// ReadyForQuery, as PostgreSQL reports changed settings; during startup, with the others).
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        if matches!(self.state, State::Closed) {
            return Err(ApiError::Closed);
        }
        if let Some(p) = self
            .parameters
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            p.1 = value.to_string();
        } else {
            self.parameters.push((name.to_string(), value.to_string()));
        }
        // While a held session starts, the value goes out with the others.
        if matches!(self.state, State::Ready(b) if b != Busy::Starting) {
            ParameterStatus::write(&mut self.deferred_params, name, value)?;
            if self.at_ready {
                self.out.extend_from_slice(&self.deferred_params);
                self.deferred_params.clear();
                self.mark_ready();
            }
        }
        Ok(())
    }

    // ----- answers: results --------------------------------------------------------------

    /// Starts a result set of a simple query (RowDescription, all columns in text).
    pub fn row_description(&mut self, columns: &[Column]) -> Result<(), ApiError> {
        match self.answering() {
            Some(Busy::Query {
                columns: None,
                failed: false,
            }) => {}
            _ => return Err(self.unexpected("row_description")),
        }
        RowDescription::write(&mut self.out, columns.iter().map(|c| c.field(0)))?;
        self.state = State::Ready(Busy::Query {
            columns: Some(columns.len()),
            failed: false,
        });
        Ok(())
    }

    /// Writes one data row from borrowed values (`None` is NULL).
    pub fn data_row<'v, I>(&mut self, values: I) -> Result<(), ApiError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        let values = values.into_iter();
        self.check_row(Some(values.len()))?;
        DataRow::write(&mut self.out, values)?;
        self.row_written();
        Ok(())
    }

    /// Writes one data row with a [`RowWriter`] straight into the output buffer (no allocation
    /// per row): `conn.write_row(|row| { row.int(1)?; row.null() })`.
    pub fn write_row<F>(&mut self, fill: F) -> Result<(), ApiError>
    where
        F: FnOnce(&mut RowWriter<'_>) -> Result<(), crate::types::ValueError>,
    {
        let expected = self.check_row(None)?;
        let start = self.out.len();
        let mut w = RowWriter::begin(&mut self.out);
        fill(&mut w)?;
        let n = w.columns();
        w.finish()?;
        if n != expected {
            self.out.truncate(start);
            return Err(ApiError::ColumnCount { expected, got: n });
        }
        self.row_written();
        Ok(())
    }

    /// Ends the current statement (simple query) or Execute with a command tag such as
    /// `SELECT 3`, `INSERT 0 1`, `CREATE TABLE`; also completes a COPY.
    pub fn command_complete(&mut self, tag: &str) -> Result<(), ApiError> {
        let next = match self.answering() {
            Some(
                Busy::Query { failed: false, .. }
                | Busy::CopyInDone { simple: true }
                | Busy::CopyOutDone { simple: true },
            ) => Busy::Query {
                columns: None,
                failed: false,
            },
            Some(
                Busy::Execute { .. }
                | Busy::CopyInDone { simple: false }
                | Busy::CopyOutDone { simple: false },
            ) => Busy::Idle,
            Some(Busy::CopyBoth {
                simple,
                client_done: true,
                server_done: true,
            }) => {
                if simple {
                    Busy::Query {
                        columns: None,
                        failed: false,
                    }
                } else {
                    Busy::Idle
                }
            }
            _ => return Err(self.unexpected("command_complete")),
        };
        CommandComplete::write(&mut self.out, tag)?;
        self.state = State::Ready(next);
        self.flush_if_large();
        Ok(())
    }

    /// Answers an empty query string (EmptyQueryResponse), in a simple query or Execute.
    pub fn empty_query(&mut self) -> Result<(), ApiError> {
        let next = match self.answering() {
            Some(Busy::Query {
                columns: None,
                failed: false,
            }) => Busy::Query {
                columns: None,
                failed: false,
            },
            Some(Busy::Execute { rows: 0, .. }) => Busy::Idle,
            _ => return Err(self.unexpected("empty_query")),
        };
        BackendMessage::EmptyQueryResponse.encode(&mut self.out)?;
        self.state = State::Ready(next);
        Ok(())
    }

    /// Answers Execute when its row limit is reached (PortalSuspended); the client may Execute
    /// the portal again for more.
    pub fn portal_suspended(&mut self) -> Result<(), ApiError> {
        match self.answering() {
            Some(Busy::Execute { max_rows, rows, .. }) if max_rows > 0 && rows == max_rows => {}
            Some(Busy::Execute { max_rows, rows, .. }) => {
                return Err(ApiError::NotSuspended {
                    limit: max_rows,
                    sent: rows,
                });
            }
            _ => return Err(self.unexpected("portal_suspended")),
        }
        BackendMessage::PortalSuspended.encode(&mut self.out)?;
        self.state = State::Ready(Busy::Idle);
        Ok(())
    }

    /// Sends an ERROR (or FATAL, which ends the session) answering the current request: in a
    /// simple query the rest of it is skipped (call [`query_done`](Self::query_done) next); in
    /// the extended protocol everything up to Sync is discarded. Inside a transaction block the
    /// transaction is marked failed.
    pub fn error(&mut self, error: PgError) -> Result<(), ApiError> {
        let fatal = error.severity == Severity::Fatal;
        self.answer_error(fatal, error.code, &error.message, |out| {
            error.write(out, tag::ERROR_RESPONSE)
        })
    }

    /// Sends an ErrorResponse with these fields exactly as given (a proxy forwarding the
    /// server's error with every field it has); otherwise as [`error`](Self::error). A
    /// severity of FATAL or PANIC ends the session.
    pub fn error_fields(&mut self, fields: &ErrorFields) -> Result<(), ApiError> {
        let fatal = matches!(fields.severity(), Some(b"FATAL" | b"PANIC"));
        let code = fields.sqlstate().unwrap_or(SqlState::INTERNAL_ERROR);
        let message = String::from_utf8_lossy(fields.message().unwrap_or_default()).into_owned();
        self.answer_error(fatal, code, &message, |out| {
            fields.encode(out, tag::ERROR_RESPONSE)
        })
    }

    fn answer_error(
        &mut self,
        fatal: bool,
        code: SqlState,
        message: &str,
        write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), ApiError> {
        let Some(busy) = self.answering() else {
            return Err(self.unexpected("error"));
        };
        if fatal {
            let _ = write(&mut self.out);
            self.mark_ready();
            self.end(code, message.to_string());
            return Ok(());
        }
        let next = match busy {
            Busy::Query { failed: false, .. }
            | Busy::CopyIn { simple: true }
            | Busy::CopyInDone { simple: true }
            | Busy::CopyOut { simple: true }
            | Busy::CopyOutDone { simple: true }
            | Busy::CopyBoth { simple: true, .. } => Some(Busy::Query {
                columns: None,
                failed: true,
            }),
            Busy::FunctionCall => None,
            Busy::Parse
            | Busy::Execute { .. }
            | Busy::CopyIn { simple: false }
            | Busy::CopyInDone { simple: false }
            | Busy::CopyOut { simple: false }
            | Busy::CopyOutDone { simple: false }
            | Busy::CopyBoth { simple: false, .. } => Some(Busy::Idle),
            // An error at Sync (committing the implicit transaction failed): ReadyForQuery
            // still comes from sync_done.
            Busy::Sync => Some(Busy::Sync),
            Busy::Query { failed: true, .. } | Busy::Idle | Busy::Starting => {
                return Err(self.unexpected("error"));
            }
        };
        write(&mut self.out)?;
        self.mark_ready();
        self.txn = self.after_error_status();
        if matches!(
            busy,
            Busy::CopyIn { .. } | Busy::CopyInDone { .. } | Busy::CopyBoth { .. }
        ) {
            // The rest of the COPY data is ignored.
            self.events
                .retain(|e| !matches!(e, Event::CopyData(_) | Event::CopyDone));
        }
        match next {
            None => self.ready_for_query(self.txn),
            Some(Busy::Idle) => {
                self.discarding = true;
                self.state = State::Ready(Busy::Idle);
            }
            Some(b) => self.state = State::Ready(b),
        }
        Ok(())
    }

    /// Ends a simple query with ReadyForQuery and the transaction status after it.
    pub fn query_done(&mut self, status: TransactionStatus) -> Result<(), ApiError> {
        match self.answering() {
            Some(Busy::Query { columns: None, .. }) => {}
            _ => return Err(self.unexpected("query_done")),
        }
        self.ready_for_query(status);
        Ok(())
    }

    /// Answers Parse: the statement's parameter types (one per parameter, resolved) and result
    /// columns (`None` if it returns no rows), and the application's data for it.
    pub fn parse_complete(
        &mut self,
        param_types: Vec<u32>,
        columns: Option<Vec<Column>>,
        data: S,
    ) -> Result<(), ApiError> {
        if self.answering() != Some(Busy::Parse) {
            return Err(self.unexpected("parse_complete"));
        }
        let Some((name, query)) = self.parsing.take() else {
            return Err(self.unexpected("parse_complete"));
        };
        BackendMessage::ParseComplete.encode(&mut self.out)?;
        self.registry.insert_statement(
            name,
            Statement {
                query,
                param_types,
                columns,
                data,
            },
        );
        self.state = State::Ready(Busy::Idle);
        Ok(())
    }

    /// Answers a FunctionCall with its result (`None` is NULL), then ReadyForQuery.
    pub fn function_result(&mut self, value: Option<&[u8]>) -> Result<(), ApiError> {
        if self.answering() != Some(Busy::FunctionCall) {
            return Err(self.unexpected("function_result"));
        }
        FunctionCallResponse::write(&mut self.out, value)?;
        self.ready_for_query(self.txn);
        Ok(())
    }

    /// Sets the transaction status the next ReadyForQuery after Sync reports (after BEGIN:
    /// `InTransaction`; after an error inside it: `Failed`; after COMMIT/ROLLBACK: `Idle`).
    /// Answers take effect at the next poll, so calling this right after answering works.
    pub fn set_transaction_status(&mut self, status: TransactionStatus) {
        self.txn = status;
    }

    /// Answers [`Event::Sync`] (with [`Config::report_sync`]): ReadyForQuery with `status`.
    /// An [`error`](Self::error) may come first (committing the implicit transaction failed).
    pub fn sync_done(&mut self, status: TransactionStatus) -> Result<(), ApiError> {
        if self.answering() != Some(Busy::Sync) {
            return Err(self.unexpected("sync_done"));
        }
        self.ready_for_query(status);
        Ok(())
    }

    /// Answers [`Event::Authenticated`] held by [`Config::hold_after_auth`]: sends the
    /// parameters (with any [`set_parameter`](Self::set_parameter) made meanwhile),
    /// BackendKeyData and ReadyForQuery.
    pub fn start_session(&mut self) -> Result<(), ApiError> {
        if self.busy() != Some(Busy::Starting) {
            return Err(self.unexpected("start_session"));
        }
        self.start_session_now()
    }

    // ----- answers: COPY -----------------------------------------------------------------

    /// Starts COPY FROM STDIN for the current statement (CopyInResponse): CopyData events follow,
    /// then [`Event::CopyDone`] (answer with [`command_complete`](Self::command_complete)) or
    /// [`Event::CopyFail`].
    pub fn start_copy_in(
        &mut self,
        format: Format,
        column_formats: &[i16],
    ) -> Result<(), ApiError> {
        let simple = self.begin_copy(
            CopyResponseKind::In,
            format,
            column_formats,
            "start_copy_in",
        )?;
        self.mark_ready();
        self.state = State::Ready(Busy::CopyIn { simple });
        Ok(())
    }

    /// Starts COPY TO STDOUT for the current statement (CopyOutResponse); send
    /// [`copy_data`](Self::copy_data), then [`copy_done`](Self::copy_done) and
    /// [`command_complete`](Self::command_complete).
    pub fn start_copy_out(
        &mut self,
        format: Format,
        column_formats: &[i16],
    ) -> Result<(), ApiError> {
        let simple = self.begin_copy(
            CopyResponseKind::Out,
            format,
            column_formats,
            "start_copy_out",
        )?;
        self.state = State::Ready(Busy::CopyOut { simple });
        Ok(())
    }

    /// Sends a chunk of COPY TO STDOUT data (offered by `poll_transmit` in batches, past
    /// [`Config::flush_threshold`]), or one message of a COPY BOTH stream (offered at once:
    /// the client waits for each).
    pub fn copy_data(&mut self, data: &[u8]) -> Result<(), ApiError> {
        if !matches!(
            self.answering(),
            Some(
                Busy::CopyOut { .. }
                    | Busy::CopyBoth {
                        server_done: false,
                        ..
                    }
            )
        ) {
            return Err(self.unexpected("copy_data"));
        }
        CopyData::write(&mut self.out, data)?;
        if matches!(self.answering(), Some(Busy::CopyBoth { .. })) {
            // A replication stream: each message (WAL, a keepalive) is waited for.
            self.mark_ready();
        } else {
            self.flush_if_large();
        }
        Ok(())
    }

    /// Ends COPY TO STDOUT data (CopyDone); complete it with
    /// [`command_complete`](Self::command_complete).
    pub fn copy_done(&mut self) -> Result<(), ApiError> {
        let next = match self.answering() {
            Some(Busy::CopyOut { simple }) => Busy::CopyOutDone { simple },
            Some(Busy::CopyBoth {
                simple,
                client_done,
                server_done: false,
            }) => Busy::CopyBoth {
                simple,
                client_done,
                server_done: true,
            },
            _ => return Err(self.unexpected("copy_done")),
        };
        BackendMessage::CopyDone.encode(&mut self.out)?;
        self.mark_ready();
        self.state = State::Ready(next);
        Ok(())
    }

    /// Starts COPY BOTH for the current statement (CopyBothResponse; replication streams): the
    /// client's CopyData arrive as events while [`copy_data`](Self::copy_data) sends the
    /// server's; each side ends its half with CopyDone ([`Event::CopyDone`],
    /// [`copy_done`](Self::copy_done)), then [`command_complete`](Self::command_complete).
    pub fn start_copy_both(
        &mut self,
        format: Format,
        column_formats: &[i16],
    ) -> Result<(), ApiError> {
        let simple = self.begin_copy(
            CopyResponseKind::Both,
            format,
            column_formats,
            "start_copy_both",
        )?;
        self.mark_ready();
        self.state = State::Ready(Busy::CopyBoth {
            simple,
            client_done: false,
            server_done: false,
        });
        Ok(())
    }

    /// Checks that a COPY may start now and writes its response; returns whether a simple
    /// query (rather than Execute) started it.
    fn begin_copy(
        &mut self,
        kind: CopyResponseKind,
        format: Format,
        column_formats: &[i16],
        answer: &'static str,
    ) -> Result<bool, ApiError> {
        let simple = match self.answering() {
            Some(Busy::Query {
                columns: None,
                failed: false,
            }) => true,
            Some(Busy::Execute { rows: 0, .. }) => false,
            _ => return Err(self.unexpected(answer)),
        };
        CopyResponse::write(&mut self.out, kind, format.code() as i8, column_formats)?;
        Ok(simple)
    }

    // ----- any time ----------------------------------------------------------------------

    /// Sends a NoticeResponse (WARNING, NOTICE, ...) now, in the middle of a result or not, and
    /// offers it at once as PostgreSQL does. Not before the startup packet is answered (it would
    /// be mistaken for the answer to SSLRequest).
    pub fn notice(&mut self, notice: &PgError) -> Result<(), ApiError> {
        match self.state {
            State::Closed => return Err(ApiError::Closed),
            State::Startup | State::TlsDecision | State::TlsHandshake | State::StartupDecision => {
                return Err(self.unexpected("notice"));
            }
            _ => {}
        }
        notice.write(&mut self.out, tag::NOTICE_RESPONSE)?;
        self.mark_ready();
        Ok(())
    }

    /// Sends a NoticeResponse with these fields exactly as given (a proxy forwarding the
    /// server's notice); otherwise as [`notice`](Self::notice).
    pub fn notice_fields(&mut self, fields: &ErrorFields) -> Result<(), ApiError> {
        match self.state {
            State::Closed => return Err(ApiError::Closed),
            State::Startup | State::TlsDecision | State::TlsHandshake | State::StartupDecision => {
                return Err(self.unexpected("notice"));
            }
            _ => {}
        }
        fields.encode(&mut self.out, tag::NOTICE_RESPONSE)?;
        self.mark_ready();
        Ok(())
    }

    /// Delivers a NOTIFY to this session: at once when it is idle outside a transaction (a
    /// LISTENing client gets it without sending anything), otherwise just before the
    /// ReadyForQuery that ends the transaction, as PostgreSQL delivers them.
    pub fn notify(
        &mut self,
        process_id: i32,
        channel: &str,
        payload: &str,
    ) -> Result<(), ApiError> {
        if matches!(self.state, State::Closed) {
            return Err(ApiError::Closed);
        }
        NotificationResponse::write(&mut self.deferred_notifies, process_id, channel, payload)?;
        if self.at_ready && self.txn == TransactionStatus::Idle {
            self.out.extend_from_slice(&self.deferred_notifies);
            self.deferred_notifies.clear();
            self.mark_ready();
        }
        Ok(())
    }

    /// Ends the session with a FATAL error (57P01 admin shutdown, 25P03, ...).
    pub fn terminate(&mut self, error: PgError) {
        if !matches!(self.state, State::Closed) {
            self.fatal(PgError {
                severity: Severity::Fatal,
                ..error
            });
        }
    }

    /// Ends idle sessions after `timeout` (PostgreSQL's `idle_session_timeout`, 57P05); `None`
    /// turns it off.
    pub fn set_idle_timeout(&mut self, timeout: Option<Duration>) {
        self.idle_timeout = timeout;
        self.arm_idle();
    }

    /// Ends sessions idle inside a transaction after `timeout`
    /// (`idle_in_transaction_session_timeout`, 25P03); `None` turns it off.
    pub fn set_idle_in_transaction_timeout(&mut self, timeout: Option<Duration>) {
        self.idle_in_transaction_timeout = timeout;
        self.arm_idle();
    }
}

/// Events the application must answer before the next one comes.
fn needs_answer(e: &Event) -> bool {
    matches!(
        e,
        Event::TlsRequested
            | Event::Startup(_)
            | Event::Query { .. }
            | Event::Parse { .. }
            | Event::Execute { .. }
            | Event::Sync { .. }
            | Event::FunctionCall(_)
    )
}

// ----- the machinery ---------------------------------------------------------------------

impl<S, P> Connection<S, P> {
    fn busy(&self) -> Option<Busy> {
        match self.state {
            State::Ready(b) => Some(b),
            _ => None,
        }
    }

    /// What the application may answer now: nothing while the event asking for it is unpolled.
    fn answering(&self) -> Option<Busy> {
        if self.undelivered { None } else { self.busy() }
    }

    fn push_request(&mut self, e: Event) {
        self.undelivered = true;
        self.events.push_back(e);
    }

    fn waiting(&self) -> &'static str {
        if self.undelivered {
            return "the application to poll the pending event";
        }
        match self.state {
            State::Startup => "startup packets",
            State::TlsDecision => "an answer to SSLRequest",
            State::TlsHandshake => "the TLS handshake",
            State::StartupDecision => "an answer to the StartupMessage",
            State::Password { .. } | State::SaslInitial { .. } | State::Sasl { .. } => {
                "the client's password"
            }
            State::Ready(Busy::Idle) => "client messages",
            State::Ready(Busy::Starting) => "start_session",
            State::Ready(Busy::Sync) => "an answer to Sync",
            State::Ready(Busy::Query { .. }) => "results of a simple query",
            State::Ready(Busy::Parse) => "an answer to Parse",
            State::Ready(Busy::Execute { .. }) => "results of Execute",
            State::Ready(Busy::FunctionCall) => "an answer to FunctionCall",
            State::Ready(Busy::CopyIn { .. }) => "COPY FROM STDIN data",
            State::Ready(Busy::CopyInDone { .. }) => "completion of COPY FROM STDIN",
            State::Ready(Busy::CopyOut { .. }) => "COPY TO STDOUT data",
            State::Ready(Busy::CopyOutDone { .. }) => "completion of COPY TO STDOUT",
            State::Ready(Busy::CopyBoth { .. }) => "COPY BOTH data",
            State::Closed => "nothing (closed)",
        }
    }

    fn unexpected(&self, answer: &'static str) -> ApiError {
        if matches!(self.state, State::Closed) {
            return ApiError::Closed;
        }
        ApiError::Unexpected {
            answer,
            waiting: self.waiting(),
        }
    }

    fn mark_ready(&mut self) {
        self.ready = self.out.len();
    }

    /// Offers the output once it is large (rows, COPY data): the lower of the flush threshold
    /// and the backpressure limit, so `output_full` always has something to drain.
    fn flush_if_large(&mut self) {
        if self.out.len() >= self.config.flush_threshold.min(self.config.max_output) {
            self.mark_ready();
        }
    }

    fn mock_secret(&mut self) -> [u8; 32] {
        if let Some(s) = self.config.mock_secret {
            return s;
        }
        let mut s = [0u8; 32];
        // Without randomness the mock salt is still per-user; it just is not secret.
        let _ = self.rng.fill(&mut s);
        self.config.mock_secret = Some(s);
        s
    }

    /// Sends a FATAL error and ends the session.
    fn fatal(&mut self, error: PgError) {
        let _ = error.write(&mut self.out, tag::ERROR_RESPONSE);
        self.mark_ready();
        self.end(error.code, error.message);
    }

    /// Ends the session without a message (as PostgreSQL does for an impossible length).
    fn close_silently(&mut self, code: SqlState, message: &str) {
        self.mark_ready();
        self.end(code, message.to_string());
    }

    fn end(&mut self, code: SqlState, message: String) {
        self.state = State::Closed;
        self.input.clear();
        self.events
            .push_back(Event::Terminated(Termination::Fatal { code, message }));
    }

    fn password_failed(&mut self) {
        let msg = format!("password authentication failed for user \"{}\"", self.user);
        self.fatal(PgError::fatal(SqlState::INVALID_PASSWORD, msg));
    }

    fn start_sasl(&mut self, secret: Option<ScramSecret>) -> Result<(), ApiError> {
        let names = mechanisms(self.channel_binding.is_some());
        let list = SaslMechanisms::new(names.iter()).map_err(ApiError::Encode)?;
        Authentication::Sasl(list).encode(&mut self.out)?;
        self.mark_ready();
        self.decoder.set_phase(FrontendPhase::SaslInitialResponse);
        self.state = State::SaslInitial { secret };
        Ok(())
    }

    /// Authentication succeeded: AuthenticationOk, parameters, BackendKeyData, ReadyForQuery.
    fn authenticated(&mut self) -> Result<(), ApiError> {
        Authentication::Ok.encode(&mut self.out)?;
        if let Some(e) = self.after_auth_error.take() {
            self.fatal(e);
            return Ok(());
        }
        self.auth_deadline = None;
        if self.config.hold_after_auth {
            self.mark_ready();
            self.decoder.set_phase(FrontendPhase::Normal);
            self.state = State::Ready(Busy::Starting);
            self.events.push_back(Event::Authenticated {
                user: self.user.clone(),
            });
            return Ok(());
        }
        self.start_session_now()
    }

    /// The parameters, BackendKeyData and ReadyForQuery that start an authenticated session.
    fn start_session_now(&mut self) -> Result<(), ApiError> {
        // PostgreSQL 18 always reports these two.
        if !self.parameters.iter().any(|(k, _)| k == "application_name") {
            self.parameters
                .push(("application_name".into(), String::new()));
        }
        let user = self.user.to_string();
        match self
            .parameters
            .iter_mut()
            .find(|(k, _)| k == "session_authorization")
        {
            Some(p) => p.1 = user,
            None => self.parameters.push(("session_authorization".into(), user)),
        }
        for (k, v) in &self.parameters {
            ParameterStatus::write(&mut self.out, k, v)?;
        }
        let len = if self.version >= ProtocolVersion::V3_2 {
            32
        } else {
            4
        };
        let mut key = vec![0u8; len];
        if let Err(e) = self.rng.fill(&mut key) {
            self.fatal(PgError::fatal(
                e.sqlstate(),
                "could not generate a cancel key",
            ));
            return Ok(());
        }
        BackendKeyData::write(&mut self.out, self.config.process_id, &key)?;
        self.secret_key = key;
        self.decoder.set_phase(FrontendPhase::Normal);
        if !self.config.hold_after_auth {
            self.events.push_back(Event::Authenticated {
                user: self.user.clone(),
            });
        }
        self.ready_for_query(TransactionStatus::Idle);
        Ok(())
    }

    /// Writes held-back messages and ReadyForQuery, and offers the output.
    fn ready_for_query(&mut self, status: TransactionStatus) {
        self.txn = status;
        if status == TransactionStatus::Idle {
            // Portals live until the end of their transaction.
            self.registry.clear_portals();
        }
        // As PostgreSQL: notifications at the end of the transaction, then changed settings.
        if status == TransactionStatus::Idle {
            self.out.extend_from_slice(&self.deferred_notifies);
            self.deferred_notifies.clear();
        }
        self.out.extend_from_slice(&self.deferred_params);
        self.deferred_params.clear();
        let _ = BackendMessage::ReadyForQuery(status).encode(&mut self.out);
        self.mark_ready();
        self.state = State::Ready(Busy::Idle);
        self.at_ready = true;
        self.arm_idle();
    }

    /// The status after an error that ended a statement: a transaction block fails.
    fn after_error_status(&self) -> TransactionStatus {
        match self.txn {
            TransactionStatus::Idle => TransactionStatus::Idle,
            _ => TransactionStatus::Failed,
        }
    }

    fn arm_idle(&mut self) {
        let timeout = match self.txn {
            TransactionStatus::Idle => self.idle_timeout,
            _ => self.idle_in_transaction_timeout,
        };
        self.idle_deadline = None;
        self.idle_pending = timeout.is_some() && self.busy() == Some(Busy::Idle);
    }

    fn anchor_idle(&mut self, now: Instant) {
        if self.idle_pending {
            self.idle_pending = false;
            let timeout = match self.txn {
                TransactionStatus::Idle => self.idle_timeout,
                _ => self.idle_in_transaction_timeout,
            };
            self.idle_deadline = timeout.and_then(|t| now.checked_add(t));
        }
    }

    /// Checks that a row may be written now; returns the expected column count.
    fn check_row(&mut self, got: Option<usize>) -> Result<usize, ApiError> {
        let expected = match self.answering() {
            Some(Busy::Query {
                columns: Some(n),
                failed: false,
            }) => n,
            Some(Busy::Execute {
                max_rows,
                rows,
                columns,
            }) => {
                if max_rows > 0 && rows >= max_rows {
                    return Err(ApiError::RowLimit(max_rows));
                }
                columns.ok_or(ApiError::RowWithoutDescription)?
            }
            Some(Busy::Query {
                columns: None,
                failed: false,
            }) => return Err(ApiError::RowWithoutDescription),
            _ => return Err(self.unexpected("data_row")),
        };
        if let Some(got) = got
            && got != expected
        {
            return Err(ApiError::ColumnCount { expected, got });
        }
        Ok(expected)
    }

    fn row_written(&mut self) {
        if let State::Ready(Busy::Execute { rows, .. }) = &mut self.state {
            *rows += 1;
        }
        self.flush_if_large();
    }

    /// Handles input until a request needs the application or the input runs out.
    fn process(&mut self) {
        if self.processing {
            return;
        }
        self.processing = true;
        while self.step() {}
        self.processing = false;
    }

    /// Handles one message; false when nothing more can be done now.
    fn step(&mut self) -> bool {
        let can = matches!(
            self.state,
            State::Startup
                | State::Password { .. }
                | State::SaslInitial { .. }
                | State::Sasl { .. }
                | State::Ready(Busy::Idle)
                | State::Ready(Busy::CopyIn { .. })
                | State::Ready(Busy::CopyBoth {
                    client_done: false,
                    ..
                })
        );
        if !can || self.undelivered {
            return false;
        }
        if self.out.len() > self.config.max_output {
            // Backpressure on input: what the client sent waits until the driver has written
            // what is buffered (replies the state machine writes itself, such as Describe's,
            // could otherwise grow without bound).
            self.mark_ready();
            return false;
        }
        if matches!(self.state, State::Startup)
            && self.input.first() == Some(&TLS_HANDSHAKE_BYTE)
            && !self.tls
            && !self.ssl_done
            && !self.gss_done
        {
            let hello = self.input.split().freeze();
            self.state = State::TlsHandshake;
            self.direct_tls = true;
            self.ssl_done = true;
            self.events.push_back(Event::DirectTls {
                client_hello: hello,
            });
            return false;
        }
        let msg = match self.decoder.decode(&mut self.input) {
            Ok(Some(m)) => m,
            Ok(None) => return false,
            Err(e) => {
                self.decode_error(e);
                return true;
            }
        };
        if matches!(self.state, State::Ready(_)) {
            // A message arrived: the session is not idle (PostgreSQL disables the idle timers).
            self.idle_deadline = None;
            self.idle_pending = false;
            self.at_ready = false;
        }
        self.dispatch(msg);
        true
    }

    fn decode_error(&mut self, e: DecodeError) {
        use crate::message::Frame;
        let copy_in = matches!(
            self.state,
            State::Ready(Busy::CopyIn { .. } | Busy::CopyBoth { .. })
        );
        let in_auth = matches!(
            self.state,
            State::Password { .. } | State::SaslInitial { .. } | State::Sasl { .. }
        );
        // A malformed CancelRequest: PostgreSQL closes without a word.
        if matches!(
            e,
            DecodeError::InvalidCancelKeyLength {
                frame: Frame::Startup,
                ..
            } | DecodeError::UnexpectedEnd {
                frame: Frame::Startup,
                field: "process id"
            }
        ) {
            self.close_silently(SqlState::PROTOCOL_VIOLATION, &e.to_string());
            return;
        }
        if matches!(
            e,
            DecodeError::LengthTooSmall { .. } | DecodeError::LengthTooLarge { .. }
        ) {
            if copy_in {
                // PostgreSQL's COPY reader gives up on the message, then on the connection.
                self.write_error(PgError::new(
                    SqlState::CONNECTION_FAILURE,
                    "unexpected EOF on client connection with an open transaction",
                ));
                self.lost_sync();
                return;
            }
            // PostgreSQL logs "invalid message length" and closes without an ErrorResponse.
            self.close_silently(SqlState::PROTOCOL_VIOLATION, &e.to_string());
            return;
        }
        if let DecodeError::UnknownMessageType { tag: t, .. } = e {
            if copy_in {
                self.write_error(PgError::new(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("unexpected message type 0x{t:02X} during COPY from stdin"),
                ));
                self.lost_sync();
                return;
            }
            if in_auth {
                let what = if matches!(self.state, State::Password { .. }) {
                    "password"
                } else {
                    "SASL"
                };
                let text = format!("expected {what} response, got message type {t}");
                self.fatal(PgError::fatal(SqlState::PROTOCOL_VIOLATION, text));
                return;
            }
            let text = format!("invalid frontend message type {t}");
            self.fatal(PgError::fatal(SqlState::PROTOCOL_VIOLATION, text));
            return;
        }
        if let DecodeError::UnsupportedProtocolVersion { major, minor } = e {
            let max = self.config.max_protocol_minor;
            let text = format!(
                "unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.{max}"
            );
            self.fatal(PgError::fatal(SqlState::FEATURE_NOT_SUPPORTED, text));
            return;
        }
        let authenticated = matches!(self.state, State::Ready(_));
        if !e.is_recoverable() || !authenticated {
            self.fatal(PgError::fatal(e.sqlstate(), e.to_string()));
            return;
        }
        let frame = match e {
            DecodeError::UnexpectedEnd { frame, .. }
            | DecodeError::MissingTerminator { frame, .. }
            | DecodeError::TrailingBytes { frame, .. }
            | DecodeError::InvalidLength { frame, .. }
            | DecodeError::CountMismatch { frame, .. }
            | DecodeError::InvalidTarget { frame, .. } => Some(frame),
            _ => None,
        };
        let is_sync = frame == Some(Frame::Typed(b'S'));
        if self.discarding && !is_sync {
            // PostgreSQL skips messages unread until Sync.
            return;
        }
        self.write_error(PgError::new(e.sqlstate(), postgres_wording(&e)));
        self.txn = self.after_error_status();
        let extended = matches!(
            frame,
            Some(Frame::Typed(b'P' | b'B' | b'D' | b'E' | b'C' | b'H'))
        );
        if let State::Ready(Busy::CopyIn { simple }) = self.state {
            self.copy_in_failed(simple);
        } else if extended {
            self.discarding = true;
        } else {
            // A Query, FunctionCall or Sync: ReadyForQuery follows, and a Sync ends discarding
            // even when its body is bad.
            self.discarding = false;
            if is_sync {
                self.sync(true);
            } else {
                self.ready_for_query(self.txn);
            }
        }
    }

    /// A Sync: ReadyForQuery, or [`Event::Sync`] for the application to answer.
    fn sync(&mut self, failed: bool) {
        if self.config.report_sync {
            self.state = State::Ready(Busy::Sync);
            self.push_request(Event::Sync { failed });
        } else {
            self.ready_for_query(self.txn);
        }
    }

    fn write_error(&mut self, e: PgError) {
        let _ = e.write(&mut self.out, tag::ERROR_RESPONSE);
        self.mark_ready();
    }

    /// The client and server no longer agree on message boundaries.
    fn lost_sync(&mut self) {
        self.fatal(PgError::fatal(
            SqlState::PROTOCOL_VIOLATION,
            "terminating connection because protocol synchronization was lost",
        ));
    }

    fn dispatch(&mut self, msg: FrontendMessage) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Startup => {
                self.state = State::Startup;
                self.on_startup_packet(msg);
            }
            State::Password { md5_salt, secret } => self.on_password(msg, md5_salt, secret),
            State::SaslInitial { secret } => self.on_sasl_initial(msg, secret),
            State::Sasl { exchange } => self.on_sasl(msg, exchange),
            State::Ready(Busy::CopyIn { simple }) => {
                self.state = State::Ready(Busy::CopyIn { simple });
                self.on_copy_in(msg, simple);
            }
            State::Ready(Busy::CopyBoth {
                simple,
                client_done: false,
                server_done,
            }) => {
                self.state = State::Ready(Busy::CopyBoth {
                    simple,
                    client_done: false,
                    server_done,
                });
                self.on_copy_both(msg, simple, server_done);
            }
            State::Ready(busy) => {
                self.state = State::Ready(busy);
                self.on_message(msg);
            }
            other => self.state = other,
        }
    }

    /// PostgreSQL's answer to a second SSLRequest or GSSENCRequest.
    fn repeated_request(&mut self, code: u32) {
        let max = self.config.max_protocol_minor;
        let text = format!(
            "unsupported frontend protocol {}.{}: server supports 3.0 to 3.{max}",
            code >> 16,
            code & 0xFFFF
        );
        self.fatal(PgError::fatal(SqlState::FEATURE_NOT_SUPPORTED, text));
    }

    /// Bytes that came with an encryption request that was refused: PostgreSQL's answer to
    /// CVE-2021-23214 covers them too.
    fn refuse_pipelined_after_encryption_request(&mut self, gss: bool) {
        if !self.input.is_empty() {
            let what = if gss {
                "GSSAPI encryption request"
            } else {
                "SSL request"
            };
            let text = format!("received unencrypted data after {what}");
            self.fatal(PgError::fatal(SqlState::PROTOCOL_VIOLATION, text));
        }
    }

    fn on_startup_packet(&mut self, msg: FrontendMessage) {
        match msg {
            FrontendMessage::SslRequest if self.direct_tls => {
                // An SSLRequest inside direct TLS: decline, go on.
                let _ = BackendMessage::SslResponse { accepted: false }.encode(&mut self.out);
                self.mark_ready();
            }
            FrontendMessage::SslRequest if self.ssl_done => {
                self.repeated_request(crate::message::SSL_REQUEST_CODE)
            }
            FrontendMessage::SslRequest => {
                self.ssl_done = true;
                self.state = State::TlsDecision;
                self.push_request(Event::TlsRequested);
            }
            FrontendMessage::GssEncRequest if self.gss_done => {
                self.repeated_request(crate::message::GSSENC_REQUEST_CODE)
            }
            FrontendMessage::GssEncRequest => {
                self.gss_done = true;
                let _ = BackendMessage::GssEncResponse { accepted: false }.encode(&mut self.out);
                self.mark_ready();
                self.refuse_pipelined_after_encryption_request(true);
            }
            FrontendMessage::CancelRequest(c) => {
                self.state = State::Closed;
                self.events.push_back(Event::CancelRequested {
                    process_id: c.process_id,
                    secret_key: c.secret_key,
                });
                self.events
                    .push_back(Event::Terminated(Termination::CancelRequest));
            }
            FrontendMessage::Startup(m) => self.on_startup_message(m),
            _ => self.fatal(PgError::fatal(
                SqlState::PROTOCOL_VIOLATION,
                "expected a startup packet",
            )),
        }
    }

    fn on_startup_message(&mut self, m: StartupMessage) {
        self.started = true;
        let requested = m.version();
        let max = ProtocolVersion {
            major: 3,
            minor: self.config.max_protocol_minor,
        };
        self.version = requested.min(max);
        let unrecognized: Vec<&[u8]> = m.protocol_options().map(|(k, _)| k).collect();
        if (requested > max || !unrecognized.is_empty())
            && let Ok(n) = NegotiateProtocolVersion::new(self.version, unrecognized)
        {
            let _ = n.encode(&mut self.out);
        }
        let Some(user) = m.user().filter(|u| !u.is_empty()) else {
            self.fatal(PgError::fatal(
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "no PostgreSQL user name specified in startup packet",
            ));
            return;
        };
        let user = PgStr::try_from(user).unwrap_or_default();
        let database = m
            .database()
            .filter(|d| !d.is_empty())
            .and_then(|d| PgStr::try_from(d).ok())
            .unwrap_or_else(|| user.clone());
        let replication = match m.get("replication").map(|v| v.to_ascii_lowercase()) {
            None => Replication::None,
            Some(v) if v == b"database" => Replication::Logical,
            Some(v) => match parse_bool(&v) {
                Some(true) => Replication::Physical,
                Some(false) => Replication::None,
                None => {
                    let msg = format!(
                        "invalid value for parameter \"replication\": \"{}\"",
                        String::from_utf8_lossy(&v)
                    );
                    self.fatal(PgError::fatal(SqlState::INVALID_PARAMETER_VALUE, msg));
                    return;
                }
            },
        };
        let mut settings = Vec::new();
        for (k, v) in m.params() {
            let (k, v) = (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            );
            match k.as_str() {
                "user" | "database" | "replication" => {}
                "options" => match parse_options(&v) {
                    Ok(opts) => settings.extend(opts),
                    Err(bad) => {
                        // PostgreSQL applies `options` after authentication, and fails there.
                        let msg =
                            format!("invalid command-line argument for server process: {bad}");
                        self.after_auth_error = Some(PgError::fatal(SqlState::SYNTAX_ERROR, msg));
                    }
                },
                k if k.starts_with("_pq_.") => {}
                _ => settings.push((k, v)),
            }
        }
        // Reported settings the client chose (application_name, DateStyle, ...).
        for (k, v) in &settings {
            let v = if k.eq_ignore_ascii_case("client_encoding") && is_utf8_name(v) {
                "UTF8"
            } else {
                v
            };
            if k == "application_name"
                || self
                    .parameters
                    .iter()
                    .any(|(p, _)| p.eq_ignore_ascii_case(k))
            {
                if let Some(p) = self
                    .parameters
                    .iter_mut()
                    .find(|(p, _)| p.eq_ignore_ascii_case(k))
                {
                    p.1 = v.to_string();
                } else {
                    self.parameters.push((k.clone(), v.to_string()));
                }
            }
        }
        self.user = user.clone();
        self.replication = replication;
        self.state = State::StartupDecision;
        self.push_request(Event::Startup(Startup {
            user,
            database,
            version: self.version,
            replication,
            settings,
            tls: self.tls,
            message: m,
        }));
    }

    fn on_password(
        &mut self,
        msg: FrontendMessage,
        md5_salt: Option<[u8; 4]>,
        secret: Option<StoredSecret>,
    ) {
        let FrontendMessage::Password(p) = msg else {
            self.expected_password(&msg, "password");
            return;
        };
        let user = self.user.as_bytes().to_vec();
        let ok = match (secret, md5_salt) {
            (None, _) => false,
            (Some(s), Some(salt)) => s.verify_md5(&user, salt, p.password.as_bytes()).is_ok(),
            (Some(s), None) => s.verify_cleartext(&user, p.password.as_bytes()).is_ok(),
        };
        if ok {
            let _ = self.authenticated();
        } else {
            self.password_failed();
        }
    }

    fn expected_password(&mut self, msg: &FrontendMessage, what: &str) {
        let t = msg.tag().unwrap_or(0);
        let text = format!("expected {what} response, got message type {t}");
        self.fatal(PgError::fatal(SqlState::PROTOCOL_VIOLATION, text));
    }

    fn on_sasl_initial(&mut self, msg: FrontendMessage, secret: Option<ScramSecret>) {
        let FrontendMessage::SaslInitialResponse(init) = msg else {
            self.expected_password(&msg, "SASL");
            return;
        };
        let cb = self.channel_binding.clone();
        let user = self.user.as_bytes().to_vec();
        let mock = self.mock_secret();
        let exchange = match secret {
            Some(s) => ScramServer::new(init.mechanism.as_bytes(), s, cb, self.rng.as_mut()),
            None => ScramServer::doomed(
                init.mechanism.as_bytes(),
                &user,
                &mock,
                cb,
                self.rng.as_mut(),
            ),
        };
        match exchange {
            Ok(mut ex) => {
                let step = ex.step(init.data.as_deref());
                self.sasl_step(step, ex);
            }
            Err(e) => self.sasl_error(e),
        }
    }

    fn on_sasl(&mut self, msg: FrontendMessage, mut exchange: Box<ScramServer>) {
        let FrontendMessage::SaslResponse(r) = msg else {
            self.expected_password(&msg, "SASL");
            return;
        };
        let step = exchange.step(Some(&r.data));
        self.sasl_step(step, *exchange);
    }

    fn sasl_step(
        &mut self,
        step: Result<ScramStep, crate::auth::AuthError>,
        exchange: ScramServer,
    ) {
        match step {
            Ok(ScramStep::Continue(data)) => {
                let _ = Authentication::SaslContinue(data.into()).encode(&mut self.out);
                self.mark_ready();
                self.decoder.set_phase(FrontendPhase::SaslResponse);
                self.state = State::Sasl {
                    exchange: Box::new(exchange),
                };
            }
            Ok(ScramStep::Success(data)) => {
                let _ = Authentication::SaslFinal(data.into()).encode(&mut self.out);
                let _ = self.authenticated();
            }
            Err(e) => self.sasl_error(e),
        }
    }

    fn sasl_error(&mut self, e: crate::auth::AuthError) {
        if e == crate::auth::AuthError::InvalidPassword {
            self.password_failed();
        } else {
            self.fatal(PgError::fatal(e.sqlstate(), e.to_string()));
        }
    }

    /// A message while authenticated and idle.
    fn on_message(&mut self, msg: FrontendMessage) {
        if self.discarding && !matches!(msg, FrontendMessage::Sync | FrontendMessage::Terminate) {
            return;
        }
        if self.replication != Replication::None {
            // A walsender speaks the simple protocol only.
            match msg {
                FrontendMessage::Parse(_)
                | FrontendMessage::Bind(_)
                | FrontendMessage::Describe(_)
                | FrontendMessage::Execute(_)
                | FrontendMessage::Close(_) => {
                    self.extended_error(PgError::new(
                        SqlState::PROTOCOL_VIOLATION,
                        "extended query protocol not supported in a replication connection",
                    ));
                    return;
                }
                FrontendMessage::FunctionCall(_) => {
                    self.write_error(PgError::new(
                        SqlState::PROTOCOL_VIOLATION,
                        "fastpath function calls not supported in a replication connection",
                    ));
                    self.txn = self.after_error_status();
                    self.ready_for_query(self.txn);
                    return;
                }
                _ => {}
            }
        }
        match msg {
            FrontendMessage::Query(q) => {
                self.registry.remove_statement(b"");
                self.registry.remove_portal(b"");
                self.state = State::Ready(Busy::Query {
                    columns: None,
                    failed: false,
                });
                self.push_request(Event::Query { sql: q.sql });
            }
            FrontendMessage::Parse(p) => {
                if !p.name.is_empty() && self.registry.has_statement(p.name.as_bytes()) {
                    let msg = format!("prepared statement \"{}\" already exists", p.name);
                    self.extended_error(PgError::new(SqlState::DUPLICATE_PREPARED_STATEMENT, msg));
                    return;
                }
                if p.name.is_empty() {
                    self.registry.remove_statement(b"");
                }
                if !self.registry.has_statement(p.name.as_bytes())
                    && self.registry.statement_count() >= self.config.max_statements
                {
                    let msg = format!(
                        "too many prepared statements (the limit is {})",
                        self.config.max_statements
                    );
                    self.extended_error(PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg));
                    return;
                }
                self.parsing = Some((p.name.clone(), p.query.clone()));
                self.state = State::Ready(Busy::Parse);
                self.push_request(Event::Parse {
                    name: p.name,
                    query: p.query,
                    param_types: p.param_types.iter().collect(),
                });
            }
            FrontendMessage::Bind(b) => self.on_bind(b),
            FrontendMessage::Describe(d) => self.on_describe(d.target, &d.name),
            FrontendMessage::Execute(e) => self.on_execute(e),
            FrontendMessage::Close(c) => {
                // Closing a name that does not exist is not an error. Closing a statement leaves
                // its portals alone (PostgreSQL's behaviour).
                match c.target {
                    Target::Statement => self.registry.remove_statement(c.name.as_bytes()),
                    Target::Portal => self.registry.remove_portal(c.name.as_bytes()),
                }
                let _ = BackendMessage::CloseComplete.encode(&mut self.out);
            }
            FrontendMessage::Sync => {
                let failed = std::mem::take(&mut self.discarding);
                self.sync(failed);
            }
            FrontendMessage::Flush => self.mark_ready(),
            FrontendMessage::FunctionCall(f) => {
                self.state = State::Ready(Busy::FunctionCall);
                self.push_request(Event::FunctionCall(f));
            }
            FrontendMessage::Terminate => {
                self.mark_ready();
                self.state = State::Closed;
                self.events
                    .push_back(Event::Terminated(Termination::ClientTerminated));
            }
            // COPY messages outside COPY: PostgreSQL ignores them (a client still sending after
            // a failed COPY).
            FrontendMessage::CopyData(_)
            | FrontendMessage::CopyDone
            | FrontendMessage::CopyFail(_) => {}
            other => {
                let t = other.tag().unwrap_or(0);
                let text = format!("invalid frontend message type {t}");
                self.fatal(PgError::fatal(SqlState::PROTOCOL_VIOLATION, text));
            }
        }
    }

    /// An error in the extended protocol found by the state machine: discard until Sync.
    fn extended_error(&mut self, e: PgError) {
        let _ = e.write(&mut self.out, tag::ERROR_RESPONSE);
        self.mark_ready();
        self.txn = self.after_error_status();
        self.discarding = true;
    }

    fn on_bind(&mut self, b: crate::message::Bind) {
        if !b.portal.is_empty() && self.registry.portals.contains_key(&b.portal) {
            let msg = format!("cursor \"{}\" already exists", b.portal);
            self.extended_error(PgError::new(SqlState::DUPLICATE_CURSOR, msg));
            return;
        }
        if b.portal.is_empty() {
            self.registry.remove_portal(b"");
        }
        if self.registry.portals.len() >= self.config.max_portals {
            let msg = format!(
                "too many portals (the limit is {})",
                self.config.max_portals
            );
            self.extended_error(PgError::new(SqlState::PROGRAM_LIMIT_EXCEEDED, msg));
            return;
        }
        let (Some(id), Some(stmt)) = (
            self.registry.statement_id(b.statement.as_bytes()),
            self.registry.statement(b.statement.as_bytes()),
        ) else {
            let msg = if b.statement.is_empty() {
                "unnamed prepared statement does not exist".to_string()
            } else {
                format!("prepared statement \"{}\" does not exist", b.statement)
            };
            self.extended_error(PgError::new(SqlState::INVALID_SQL_STATEMENT_NAME, msg));
            return;
        };
        if b.params.len() != stmt.param_types.len() {
            let msg = format!(
                "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                b.params.len(),
                b.statement,
                stmt.param_types.len()
            );
            self.extended_error(PgError::new(SqlState::PROTOCOL_VIOLATION, msg));
            return;
        }
        if let Some(code) = (0..b.params.len())
            .map(|i| b.param_formats.code_for(i))
            .find(|c| !matches!(c, 0 | 1))
        {
            self.extended_error(PgError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {code}"),
            ));
            return;
        }
        let ncols = stmt.columns.as_ref().map_or(0, Vec::len);
        let nres = b.result_formats.len();
        if nres > 1 && nres != ncols {
            let msg =
                format!("bind message has {nres} result formats but query has {ncols} columns");
            self.extended_error(PgError::new(SqlState::PROTOCOL_VIOLATION, msg));
            return;
        }
        // Result format codes other than 0 and 1 fail at Execute, as in PostgreSQL.
        // A dropped portal's list is reused: a Bind/Execute/Sync loop allocates nothing.
        let mut formats = self.registry.formats_vec();
        formats.extend((0..ncols).map(|i| b.result_formats.code_for(i)));
        let name = b.portal.clone();
        let portal = Portal {
            statement: b.statement.clone(),
            bind: b,
            formats,
            data: None,
            statement_id: id,
        };
        self.registry.insert_portal(name, portal);
        let _ = BackendMessage::BindComplete.encode(&mut self.out);
    }

    fn on_describe(&mut self, target: Target, name: &PgStr) {
        match target {
            Target::Statement => {
                let Some(stmt) = self.registry.statement(name.as_bytes()) else {
                    let msg = if name.is_empty() {
                        "unnamed prepared statement does not exist".to_string()
                    } else {
                        format!("prepared statement \"{name}\" does not exist")
                    };
                    self.extended_error(PgError::new(SqlState::INVALID_SQL_STATEMENT_NAME, msg));
                    return;
                };
                let _ = ParameterDescription::write(&mut self.out, &stmt.param_types);
                match &stmt.columns {
                    Some(cols) => {
                        let _ =
                            RowDescription::write(&mut self.out, cols.iter().map(|c| c.field(0)));
                    }
                    None => {
                        let _ = BackendMessage::NoData.encode(&mut self.out);
                    }
                }
            }
            Target::Portal => {
                let Some(portal) = self.registry.portals.get(name) else {
                    let msg = format!("portal \"{name}\" does not exist");
                    self.extended_error(PgError::new(SqlState::INVALID_CURSOR_NAME, msg));
                    return;
                };
                let stmt = self.registry.by_id(portal.statement_id);
                match stmt.and_then(|s| s.columns.as_ref()) {
                    Some(cols) => {
                        let fields = cols.iter().zip(&portal.formats).map(|(c, &f)| c.field(f));
                        let _ = RowDescription::write(&mut self.out, fields);
                    }
                    None => {
                        let _ = BackendMessage::NoData.encode(&mut self.out);
                    }
                }
            }
        }
    }

    fn on_execute(&mut self, e: crate::message::Execute) {
        let Some(portal) = self.registry.portals.get(&e.portal) else {
            let msg = format!("portal \"{}\" does not exist", e.portal);
            self.extended_error(PgError::new(SqlState::INVALID_CURSOR_NAME, msg));
            return;
        };
        if let Some(&code) = portal.formats.iter().find(|c| !matches!(c, 0 | 1)) {
            self.extended_error(PgError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {code}"),
            ));
            return;
        }
        let columns = self
            .registry
            .by_id(portal.statement_id)
            .and_then(|s| s.columns.as_ref())
            .map(Vec::len);
        let max_rows = e.max_rows.max(0) as u32;
        self.state = State::Ready(Busy::Execute {
            max_rows,
            rows: 0,
            columns,
        });
        self.push_request(Event::Execute {
            portal: e.portal,
            max_rows,
        });
    }

    fn on_copy_both(&mut self, msg: FrontendMessage, simple: bool, server_done: bool) {
        match msg {
            FrontendMessage::CopyDone => {
                self.state = State::Ready(Busy::CopyBoth {
                    simple,
                    client_done: true,
                    server_done,
                });
                self.events.push_back(Event::CopyDone);
            }
            // Data, CopyFail, and anything else are handled as during COPY FROM STDIN.
            other => self.on_copy_in(other, simple),
        }
    }

    fn on_copy_in(&mut self, msg: FrontendMessage, simple: bool) {
        match msg {
            FrontendMessage::CopyData(d) => self.events.push_back(Event::CopyData(d.data)),
            FrontendMessage::CopyDone => {
                self.state = State::Ready(Busy::CopyInDone { simple });
                // Not a request of its own: the application may end the COPY (with an error)
                // before polling it.
                self.events.push_back(Event::CopyDone);
            }
            FrontendMessage::CopyFail(f) => {
                let text = format!("COPY from stdin failed: {}", f.message);
                let _ = PgError::new(SqlState::QUERY_CANCELED, text)
                    .write(&mut self.out, tag::ERROR_RESPONSE);
                self.events
                    .push_back(Event::CopyFail { message: f.message });
                self.txn = self.after_error_status();
                self.copy_in_failed(simple);
            }
            // What a client may send during COPY without noticing it.
            FrontendMessage::Flush | FrontendMessage::Sync => {}
            other => {
                // PostgreSQL reports the message, then gives up on the connection: the client
                // and server no longer agree on where messages start.
                let t = other.tag().unwrap_or(0);
                let text = format!("unexpected message type 0x{t:02X} during COPY from stdin");
                let _ = PgError::new(SqlState::PROTOCOL_VIOLATION, text)
                    .write(&mut self.out, tag::ERROR_RESPONSE);
                self.fatal(PgError::fatal(
                    SqlState::PROTOCOL_VIOLATION,
                    "terminating connection because protocol synchronization was lost",
                ));
            }
        }
    }

    /// COPY FROM STDIN ended in an error (already written).
    fn copy_in_failed(&mut self, simple: bool) {
        self.mark_ready();
        if simple {
            self.ready_for_query(self.txn);
        } else {
            self.discarding = true;
            self.state = State::Ready(Busy::Idle);
        }
    }
}

/// The message PostgreSQL sends for a malformed message (the decoder's own text says more,
/// but clients and their users know these).
fn postgres_wording(e: &DecodeError) -> String {
    use crate::message::Frame;
    match e {
        DecodeError::InvalidLength {
            frame: Frame::Typed(b'F'),
            length,
            ..
        } => {
            format!("invalid argument size {length} in function call message")
        }
        DecodeError::UnexpectedEnd { .. } | DecodeError::InvalidLength { .. } => {
            "insufficient data left in message".into()
        }
        DecodeError::MissingTerminator { .. } => "invalid string in message".into(),
        DecodeError::TrailingBytes { .. } => "invalid message format".into(),
        DecodeError::InvalidTarget {
            frame: Frame::Typed(b'C'),
            target,
        } => {
            format!("invalid CLOSE message subtype {target}")
        }
        DecodeError::InvalidTarget { target, .. } => {
            format!("invalid DESCRIBE message subtype {target}")
        }
        DecodeError::CountMismatch {
            frame: Frame::Typed(b'F'),
            count,
            expected,
            ..
        } => {
            format!(
                "function call message contains {count} argument formats but {expected} arguments"
            )
        }
        DecodeError::CountMismatch {
            count, expected, ..
        } => {
            format!("bind message has {count} parameter formats but {expected} parameters")
        }
        other => other.to_string(),
    }
}

fn parse_bool(v: &[u8]) -> Option<bool> {
    match v {
        b"1" | b"t" | b"true" | b"on" | b"y" | b"yes" => Some(true),
        b"0" | b"f" | b"false" | b"off" | b"n" | b"no" => Some(false),
        _ => None,
    }
}

fn is_utf8_name(v: &str) -> bool {
    let n: String = v
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    n == "utf8" || n == "unicode"
}

/// Splits the `options` startup parameter as PostgreSQL does (whitespace separates arguments,
/// a backslash escapes the next character) and reads `-c name=value`, `-cname=value` and
/// `--name=value`; returns the offending argument otherwise.
fn parse_options(options: &str) -> Result<Vec<(String, String)>, String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut chars = options.chars();
    let mut in_arg = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_arg = true;
            }
            c if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            c => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let setting = if a == "-c" {
            it.next().ok_or_else(|| a.clone())?
        } else if let Some(rest) = a.strip_prefix("-c") {
            rest.to_string()
        } else if let Some(rest) = a.strip_prefix("--") {
            rest.to_string()
        } else {
            return Err(a);
        };
        let (k, v) = setting.split_once('=').ok_or_else(|| setting.clone())?;
        out.push((k.replace('-', "_"), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_options;

    #[test]
    fn options_are_split_as_postgres_splits_them() {
        assert_eq!(
            parse_options("-c search_path=a,b --work-mem=64kB -cgeqo=off -c x=a\\ b").unwrap(),
            [
                ("search_path".to_string(), "a,b".to_string()),
                ("work_mem".into(), "64kB".into()),
                ("geqo".into(), "off".into()),
                ("x".into(), "a b".into())
            ]
        );
        assert_eq!(parse_options("-B 100"), Err("-B".into()));
        assert_eq!(parse_options(""), Ok(vec![]));
    }
}
