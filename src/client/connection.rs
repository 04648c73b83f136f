//! The client connection state machine.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::config::Config;
use super::conninfo::{SslMode, SslNegotiation};
use super::error::ClientError;
use super::event::{Event, RequestId, Response};
use crate::auth::{
    AuthError, ChannelBindingPolicy, OsRandom, RandomSource, ScramClient, md5_response,
};
use crate::message::{
    Authentication, BackendDecoder, BackendMessage, BackendPhase, Bind, CancelRequest, Close,
    CopyData, CopyFail, Describe, Execute, FrontendMessage, FunctionCall, Parse, PasswordMessage,
    ProtocolVersion, Query, SaslInitialResponse, SaslResponse, StartupMessage, Target,
};

/// What the client must send to cancel this session's running query: a CancelRequest on a new
/// connection to the same server (with TLS if the session used it, as libpq 17+ does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelToken {
    /// The backend's process id.
    pub process_id: i32,
    /// The secret key (4 bytes under protocol 3.0, up to 256 under 3.2).
    pub secret_key: Bytes,
}

impl CancelToken {
    /// Appends the CancelRequest packet.
    pub fn write(&self, out: &mut BytesMut) -> Result<(), crate::message::EncodeError> {
        CancelRequest::write(out, self.process_id, &self.secret_key)
    }
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the one-byte answer to SSLRequest.
    SslAnswer,
    /// The driver runs the TLS handshake.
    TlsHandshake,
    /// Startup sent; authentication in progress.
    Auth,
    /// AuthenticationOk received; parameters and the cancel key arrive until ReadyForQuery.
    Startup,
    /// Connected.
    Ready,
    /// Over.
    Closed,
}

/// What a request expects from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    Parse,
    Bind,
    DescribeStatement { got_params: bool },
    DescribePortal,
    Execute,
    Close,
    Sync,
    FunctionCall { got_result: bool },
}

#[derive(Debug)]
struct Pending {
    id: RequestId,
    kind: Kind,
}

/// A sans-IO PostgreSQL client connection (the frontend side of one session).
///
/// Create it with a [`Config`]; write what [`poll_transmit`](Self::poll_transmit) gives to the
/// socket (the startup packets first), feed what the socket delivers to
/// [`handle_input`](Self::handle_input), and take [`poll_event`](Self::poll_event)s. When an
/// [`Event::StartTls`] comes, run the TLS handshake and call
/// [`handle_tls_established`](Self::handle_tls_established) with the server's certificate.
/// After [`Event::Connected`], send requests ([`query`](Self::query), [`parse`](Self::parse),
/// [`bind`](Self::bind), [`execute`](Self::execute), [`sync`](Self::sync), ...) any number at a
/// time: each returns a [`RequestId`] and every response names the request it answers.
///
/// ```
/// use pgproto::client::{Config, Connection, Event, Response};
///
/// let mut config = Config::new("alice");
/// config.ssl_mode = pgproto::client::SslMode::Disable;
/// let mut conn = Connection::new(config, std::time::Instant::now());
/// let startup = conn.poll_transmit().expect("the StartupMessage");
/// assert!(!startup.is_empty());
/// // ... write it, then feed the server's answers to conn.handle_input(now, bytes) ...
/// assert!(conn.query("SELECT 1").is_err(), "requests wait for Event::Connected");
/// ```
pub struct Connection {
    config: Config,
    rng: Box<dyn RandomSource + Send>,
    decoder: BackendDecoder,
    input: BytesMut,
    out: BytesMut,
    ready: usize,
    events: VecDeque<Event>,
    phase: Phase,
    version: ProtocolVersion,
    tls: bool,
    channel_binding_data: Option<Vec<u8>>,
    scram: Option<ScramClient>,
    /// Whether SCRAM-SHA-256-PLUS was used (for channel_binding=require).
    bound: bool,
    cancel: Option<CancelToken>,
    pending: VecDeque<Pending>,
    next_id: u64,
    /// A COPY FROM STDIN is waiting for data from the application.
    copy_in: bool,
    /// COPY BOTH is open in the client's direction.
    copy_both: bool,
    /// The server is discarding extended-query messages until Sync (after an error, with no
    /// Sync sent yet): requests made now are skipped.
    discarding: bool,
    /// A RowDescription came for the current statement of a simple query.
    described: bool,
    /// COPY data from the server is allowed (after CopyOutResponse or CopyBothResponse).
    copying_out: bool,
    /// NegotiateProtocolVersion was received (a second one is a violation).
    negotiated: bool,
    /// The status of the last ReadyForQuery.
    txn: crate::message::TransactionStatus,
    /// The server's run-time parameters, as last reported.
    parameters: Vec<(crate::message::PgStr, crate::message::PgStr)>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("phase", &self.phase)
            .field("version", &self.version)
            .field("tls", &self.tls)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection about to start, with the operating system's random source.
    pub fn new(config: Config, now: Instant) -> Connection {
        Connection::with_random(config, now, Box::new(OsRandom))
    }

    /// A connection drawing SCRAM nonces from `rng`.
    pub fn with_random(
        config: Config,
        _now: Instant,
        rng: Box<dyn RandomSource + Send>,
    ) -> Connection {
        let mut c = Connection {
            decoder: BackendDecoder::with_limits(config.limits),
            config,
            rng,
            input: BytesMut::new(),
            out: BytesMut::new(),
            ready: 0,
            events: VecDeque::new(),
            phase: Phase::Auth,
            version: ProtocolVersion::V3_0,
            tls: false,
            channel_binding_data: None,
            scram: None,
            bound: false,
            cancel: None,
            pending: VecDeque::new(),
            next_id: 0,
            copy_in: false,
            copy_both: false,
            discarding: false,
            described: false,
            copying_out: false,
            negotiated: false,
            txn: crate::message::TransactionStatus::Idle,
            parameters: Vec::new(),
        };
        c.start();
        c
    }

    fn start(&mut self) {
        // Until the server has authenticated, libpq refuses authentication requests (and other
        // small messages) over 2000 bytes.
        let limits = self.config.limits;
        self.decoder.set_limits(crate::message::BackendLimits {
            small: limits.small.min(2000),
            ..limits
        });
        if self.config.min_protocol > self.config.max_protocol {
            self.fail(ClientError::Api("min_protocol is above max_protocol"));
            return;
        }
        let mode = self.config.ssl_mode;
        if mode == SslMode::Disable {
            self.send_startup();
            return;
        }
        if self.config.ssl_negotiation == SslNegotiation::Direct {
            if matches!(mode, SslMode::Allow | SslMode::Prefer) {
                // As libpq: direct TLS has no plaintext fallback.
                self.fail(ClientError::Tls(
                    "sslnegotiation=direct needs sslmode=require or stronger",
                ));
                return;
            }
            self.phase = Phase::TlsHandshake;
            self.events.push_back(Event::StartTls);
            return;
        }
        let _ = FrontendMessage::SslRequest.encode(&mut self.out);
        self.mark_ready();
        self.decoder.set_phase(BackendPhase::SslResponse);
        self.phase = Phase::SslAnswer;
    }

    fn send_startup(&mut self) {
        let c = &self.config;
        let mut params: Vec<(&str, &str)> = vec![("user", c.user.as_str())];
        if let Some(d) = &c.database {
            params.push(("database", d));
        }
        if let Some(a) = &c.application_name {
            params.push(("application_name", a));
        }
        if let Some(o) = &c.options {
            params.push(("options", o));
        }
        if let Some(r) = &c.replication {
            params.push(("replication", r));
        }
        for (k, v) in &c.params {
            params.push((k, v));
        }
        let version = c.max_protocol;
        if let Err(e) = StartupMessage::write(&mut self.out, version, params) {
            self.fail(ClientError::Protocol(format!(
                "cannot encode the startup packet: {e}"
            )));
            return;
        }
        self.version = version;
        self.mark_ready();
        self.phase = Phase::Auth;
    }

    // ----- inputs ------------------------------------------------------------------------

    /// Bytes received from the server (after TLS decryption when TLS is on).
    pub fn handle_input(&mut self, _now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        if matches!(self.phase, Phase::TlsHandshake) && !data.is_empty() {
            // Plaintext before the handshake finished: injected (CVE-2021-23222).
            self.fail(ClientError::Tls(
                "received unencrypted data after the SSL response",
            ));
            return;
        }
        self.input.extend_from_slice(data);
        self.process();
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        if !matches!(self.phase, Phase::Closed) {
            self.fail(ClientError::Closed);
        }
    }

    /// No timers yet; an early call does nothing.
    pub fn handle_timeout(&mut self, _now: Instant) {}

    /// The TLS handshake after [`Event::StartTls`] finished; `server_certificate` is the DER
    /// certificate the server presented (for SCRAM-SHA-256-PLUS channel binding).
    pub fn handle_tls_established(
        &mut self,
        server_certificate: Option<&[u8]>,
    ) -> Result<(), ClientError> {
        if !matches!(self.phase, Phase::TlsHandshake) {
            return Err(ClientError::Api("no TLS handshake is in progress"));
        }
        self.tls = true;
        self.channel_binding_data =
            server_certificate.and_then(|c| crate::auth::tls_server_end_point(c).ok());
        self.send_startup();
        Ok(())
    }

    // ----- outputs -----------------------------------------------------------------------

    /// The next event, in wire order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to write to the server. Requests are offered at Sync, Flush, a simple query, a
    /// function call, COPY data, each startup and authentication step, and past
    /// [`Config::flush_threshold`].
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.ready == 0 {
            return None;
        }
        let n = self.ready;
        self.ready = 0;
        Some(self.out.split_to(n).freeze())
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called (never, for now).
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Whether the session is connected and idle enough to take requests.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// The transaction status of the last ReadyForQuery.
    pub fn transaction_status(&self) -> crate::message::TransactionStatus {
        self.txn
    }

    /// A run-time parameter's value as the server last reported it (`server_version`,
    /// `client_encoding`, `TimeZone`, ...), like libpq's `PQparameterStatus`.
    pub fn parameter(&self, name: &str) -> Option<&crate::message::PgStr> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether SCRAM-SHA-256-PLUS (channel binding) authenticated this session.
    pub fn channel_binding_used(&self) -> bool {
        self.bound && matches!(self.phase, Phase::Startup | Phase::Ready)
    }

    /// Requests sent whose responses have not all arrived.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// The protocol version in use.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.version
    }

    /// What cancels this session's queries (after [`Event::Connected`], if the server sent
    /// BackendKeyData; some proxies do not).
    pub fn cancel_token(&self) -> Option<&CancelToken> {
        self.cancel.as_ref()
    }

    // ----- requests ----------------------------------------------------------------------

    fn request(&mut self, kind: Kind) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        if self.discarding && kind != Kind::Sync {
            // The server will discard it: say so now.
            self.respond(id, Response::Skipped);
            return id;
        }
        if kind == Kind::Sync {
            self.discarding = false;
        }
        self.pending.push_back(Pending { id, kind });
        id
    }

    fn can_send(&self) -> Result<(), ClientError> {
        match self.phase {
            Phase::Ready if self.copy_in || self.copy_both => {
                Err(ClientError::Api("COPY in progress"))
            }
            Phase::Ready => Ok(()),
            Phase::Closed => Err(ClientError::Closed),
            _ => Err(ClientError::Api("not connected yet")),
        }
    }

    fn flush_if_large(&mut self) {
        if self.out.len() >= self.config.flush_threshold {
            self.mark_ready();
        }
    }

    /// Sends a simple query (one or more statements). Responses: per statement a
    /// RowDescription, DataRows and CommandComplete (or EmptyQuery, or an Error that ends the
    /// string), then Ready.
    pub fn query(&mut self, sql: &str) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Query::write(&mut self.out, sql)
            .map_err(|_| ClientError::Api("the query contains a zero byte"))?;
        self.mark_ready();
        Ok(self.request(Kind::Query))
    }

    /// Sends Parse (prepare `sql` as statement `name`, "" for the unnamed one).
    pub fn parse(
        &mut self,
        name: &str,
        sql: &str,
        param_types: &[u32],
    ) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Parse::write(&mut self.out, name, sql, param_types)
            .map_err(|_| ClientError::Api("Parse cannot be encoded"))?;
        self.flush_if_large();
        Ok(self.request(Kind::Parse))
    }

    /// Sends Bind (parameter values, `None` is NULL; format codes as the protocol's 0/1/N rule).
    pub fn bind<'v, I>(
        &mut self,
        portal: &str,
        statement: &str,
        param_formats: &[i16],
        params: I,
        result_formats: &[i16],
    ) -> Result<RequestId, ClientError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        self.can_send()?;
        Bind::write(
            &mut self.out,
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        )
        .map_err(|_| ClientError::Api("Bind cannot be encoded"))?;
        self.flush_if_large();
        Ok(self.request(Kind::Bind))
    }

    /// Sends Describe of a statement: responses ParameterDescription, then RowDescription or
    /// NoData.
    pub fn describe_statement(&mut self, name: &str) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Describe::write(&mut self.out, Target::Statement, name)
            .map_err(|_| ClientError::Api("bad name"))?;
        Ok(self.request(Kind::DescribeStatement { got_params: false }))
    }

    /// Sends Describe of a portal: response RowDescription or NoData.
    pub fn describe_portal(&mut self, name: &str) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Describe::write(&mut self.out, Target::Portal, name)
            .map_err(|_| ClientError::Api("bad name"))?;
        Ok(self.request(Kind::DescribePortal))
    }

    /// Sends Execute (at most `max_rows` rows, 0 for all): responses DataRows, then
    /// CommandComplete, EmptyQuery or PortalSuspended (or COPY).
    pub fn execute(&mut self, portal: &str, max_rows: i32) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Execute::write(&mut self.out, portal, max_rows)
            .map_err(|_| ClientError::Api("bad name"))?;
        self.flush_if_large();
        Ok(self.request(Kind::Execute))
    }

    /// Sends Close of a statement.
    pub fn close_statement(&mut self, name: &str) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Close::write(&mut self.out, Target::Statement, name)
            .map_err(|_| ClientError::Api("bad name"))?;
        Ok(self.request(Kind::Close))
    }

    /// Sends Close of a portal.
    pub fn close_portal(&mut self, name: &str) -> Result<RequestId, ClientError> {
        self.can_send()?;
        Close::write(&mut self.out, Target::Portal, name)
            .map_err(|_| ClientError::Api("bad name"))?;
        Ok(self.request(Kind::Close))
    }

    /// Sends Sync: the end of a batch; response Ready.
    pub fn sync(&mut self) -> Result<RequestId, ClientError> {
        self.can_send()?;
        let _ = FrontendMessage::Sync.encode(&mut self.out);
        self.mark_ready();
        Ok(self.request(Kind::Sync))
    }

    /// Sends Flush: asks the server to send what it has, without ending the batch.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        self.can_send()?;
        let _ = FrontendMessage::Flush.encode(&mut self.out);
        self.mark_ready();
        Ok(())
    }

    /// Calls a function by OID: responses FunctionResult (or Error), then Ready.
    pub fn function_call<'v, I>(
        &mut self,
        function: u32,
        arg_formats: &[i16],
        args: I,
        result_format: i16,
    ) -> Result<RequestId, ClientError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        self.can_send()?;
        FunctionCall::write(&mut self.out, function, arg_formats, args, result_format)
            .map_err(|_| ClientError::Api("FunctionCall cannot be encoded"))?;
        self.mark_ready();
        Ok(self.request(Kind::FunctionCall { got_result: false }))
    }

    /// Sends COPY data (after [`Response::CopyIn`] or [`Response::CopyBoth`]). COPY FROM
    /// STDIN data is offered by [`poll_transmit`](Self::poll_transmit) in batches (past
    /// [`Config::flush_threshold`], and at CopyDone); in COPY BOTH (replication), where each
    /// message is a status update the server waits for, at once.
    pub fn copy_data(&mut self, data: &[u8]) -> Result<(), ClientError> {
        if self.is_closed() {
            return Err(ClientError::Closed);
        }
        if !(self.copy_in || self.copy_both) {
            return Err(ClientError::Api("no COPY is waiting for data"));
        }
        CopyData::write(&mut self.out, data)
            .map_err(|_| ClientError::Api("COPY data too large"))?;
        if self.copy_both {
            self.mark_ready();
        } else {
            self.flush_if_large();
        }
        Ok(())
    }

    /// Ends COPY FROM STDIN (or the client's half of COPY BOTH) successfully.
    pub fn copy_done(&mut self) -> Result<(), ClientError> {
        if self.is_closed() {
            return Err(ClientError::Closed);
        }
        if !(self.copy_in || self.copy_both) {
            return Err(ClientError::Api("no COPY is waiting for data"));
        }
        let _ = FrontendMessage::CopyDone.encode(&mut self.out);
        self.resync_after_extended_copy();
        self.mark_ready();
        self.copy_in = false;
        self.copy_both = false;
        Ok(())
    }

    /// Aborts COPY FROM STDIN with a reason (the server answers 57014).
    pub fn copy_fail(&mut self, reason: &str) -> Result<(), ClientError> {
        if self.is_closed() {
            return Err(ClientError::Closed);
        }
        if !self.copy_in {
            return Err(ClientError::Api("no COPY FROM STDIN is in progress"));
        }
        CopyFail::write(&mut self.out, reason)
            .map_err(|_| ClientError::Api("the reason contains a zero byte"))?;
        self.resync_after_extended_copy();
        self.mark_ready();
        self.copy_in = false;
        Ok(())
    }

    /// A COPY FROM STDIN started by Execute, with a Sync already sent behind it: the server
    /// swallowed that Sync during the COPY, so send another, as libpq does.
    fn resync_after_extended_copy(&mut self) {
        let extended = self
            .pending
            .front()
            .is_some_and(|p| p.kind == Kind::Execute);
        if extended && self.pending.iter().any(|p| p.kind == Kind::Sync) {
            let _ = FrontendMessage::Sync.encode(&mut self.out);
        }
    }

    /// Sends Terminate (once connected; before that, as libpq, nothing) and closes the
    /// connection (then close the socket).
    pub fn terminate(&mut self) {
        if !matches!(self.phase, Phase::Closed) {
            // As libpq, Terminate only once connected: before that the server expects a
            // startup packet or an authentication answer, so just close.
            if matches!(self.phase, Phase::Ready) {
                let _ = FrontendMessage::Terminate.encode(&mut self.out);
            }
            self.mark_ready();
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed(None));
        }
    }

    // ----- the machinery -----------------------------------------------------------------

    fn mark_ready(&mut self) {
        self.ready = self.out.len();
    }

    fn fail(&mut self, e: ClientError) {
        // Requests still pending will never be answered.
        self.pending.clear();
        self.phase = Phase::Closed;
        self.input.clear();
        self.copy_in = false;
        self.copy_both = false;
        self.events.push_back(Event::Closed(Some(e)));
    }

    fn protocol(&mut self, what: String) {
        self.fail(ClientError::Protocol(what));
    }

    fn process(&mut self) {
        while !matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            if matches!(self.phase, Phase::Ready) {
                // Once logged in, every complete message is split off as one run (one
                // reference count for the run, not one per message) and decoded from it.
                match self.decoder.split_frames(&mut self.input) {
                    Ok(frames) if frames.is_empty() => {
                        if self.decoder.bytes_needed() > self.input.len() {
                            return;
                        }
                    }
                    Ok(frames) => {
                        for frame in &frames {
                            if !matches!(self.phase, Phase::Ready) {
                                return;
                            }
                            match frame.decode() {
                                Ok(msg) => self.on_ready(msg),
                                Err(e) => {
                                    self.fail(ClientError::Decode(e));
                                    return;
                                }
                            }
                        }
                        continue;
                    }
                    Err(e) => {
                        self.fail(ClientError::Decode(e));
                        return;
                    }
                }
            }
            let msg = match self.decoder.decode(&mut self.input) {
                Ok(Some(m)) => m,
                Ok(None) => return,
                Err(e) => {
                    self.fail(ClientError::Decode(e));
                    return;
                }
            };
            match self.phase {
                Phase::SslAnswer => self.on_ssl_answer(msg),
                Phase::Auth => self.on_auth(msg),
                Phase::Startup => self.on_startup(msg),
                Phase::Ready => self.on_ready(msg),
                Phase::TlsHandshake | Phase::Closed => return,
            }
        }
    }

    fn on_ssl_answer(&mut self, msg: BackendMessage) {
        match msg {
            BackendMessage::SslResponse { accepted: true } => {
                if !self.input.is_empty() {
                    // Bytes after 'S' and before the handshake: an attack (CVE-2021-23222).
                    self.fail(ClientError::Tls(
                        "received unencrypted data after the SSL response",
                    ));
                    return;
                }
                self.phase = Phase::TlsHandshake;
                self.events.push_back(Event::StartTls);
            }
            BackendMessage::SslResponse { accepted: false } => {
                if matches!(
                    self.config.ssl_mode,
                    SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
                ) {
                    self.fail(ClientError::Tls(
                        "the server does not support TLS, but TLS was required",
                    ));
                } else {
                    self.send_startup();
                }
            }
            // An error before TLS comes from an unauthenticated party: do not show its text
            // (CVE-2024-10977).
            _ => self.fail(ClientError::Tls(
                "the server answered SSLRequest with an error",
            )),
        }
    }

    fn password(&mut self) -> Option<Vec<u8>> {
        let p = self.config.password.clone();
        if p.is_none() {
            self.fail(ClientError::PasswordRequired);
        }
        p
    }

    fn refuse_unbound(&mut self) -> bool {
        if self.config.channel_binding == ChannelBindingPolicy::Require {
            self.fail(ClientError::Auth(AuthError::ChannelBindingRequired(
                "the server asked for an authentication method without channel binding",
            )));
            return true;
        }
        false
    }

    fn on_auth(&mut self, msg: BackendMessage) {
        match msg {
            BackendMessage::Authentication(a) => self.on_authentication(a),
            BackendMessage::NegotiateProtocolVersion(n) => self.on_negotiate(n),
            BackendMessage::ErrorResponse(e) => self.fail(ClientError::Server(e)),
            BackendMessage::NoticeResponse(n) => self.events.push_back(Event::Notice(n)),
            other => self.protocol(format!("unexpected {} during authentication", name(&other))),
        }
    }

    fn on_negotiate(&mut self, n: crate::message::NegotiateProtocolVersion) {
        let server = n.version;
        if self.negotiated {
            return self.protocol("a second NegotiateProtocolVersion".into());
        }
        self.negotiated = true;
        let sent = |o: &[u8]| self.config.params.iter().any(|(k, _)| k.as_bytes() == o);
        if let Some(o) = n.unrecognized_options().find(|o| !sent(o)) {
            let o = String::from_utf8_lossy(o).into_owned();
            return self.protocol(format!(
                "NegotiateProtocolVersion names option {o}, which was not sent"
            ));
        }
        if server == self.version && n.unrecognized_options().next().is_none() {
            return self.protocol("NegotiateProtocolVersion that changes nothing".into());
        }
        if server > self.version || server.major != 3 {
            self.protocol(format!(
                "NegotiateProtocolVersion to {server}, above the {} asked for",
                self.version
            ));
        } else if server < self.config.min_protocol {
            self.fail(ClientError::ProtocolVersion {
                server,
                min: self.config.min_protocol,
            });
        } else {
            self.version = server;
        }
    }

    fn on_authentication(&mut self, a: Authentication) {
        match a {
            Authentication::Ok => {
                if let Some(s) = &self.scram
                    && let Err(e) = s.finish()
                {
                    self.fail(ClientError::Auth(e));
                    return;
                }
                if self.config.channel_binding == ChannelBindingPolicy::Require && !self.bound {
                    self.fail(ClientError::Auth(AuthError::ChannelBindingRequired(
                        "the server authenticated the client without channel binding",
                    )));
                    return;
                }
                self.scram = None;
                self.decoder.set_limits(self.config.limits);
                self.phase = Phase::Startup;
            }
            Authentication::CleartextPassword => {
                if self.refuse_unbound() {
                    return;
                }
                let Some(p) = self.password() else { return };
                let _ = PasswordMessage::write(&mut self.out, &p);
                self.mark_ready();
            }
            Authentication::Md5Password { salt } => {
                if self.refuse_unbound() {
                    return;
                }
                let Some(p) = self.password() else { return };
                let resp = md5_response(self.config.user.as_bytes(), &p, salt);
                let _ = PasswordMessage::write(&mut self.out, resp.as_bytes());
                self.mark_ready();
            }
            Authentication::Sasl(mechs) => {
                if self.scram.is_some() {
                    self.protocol("a second AuthenticationSASL".into());
                    return;
                }
                let Some(p) = self.password() else { return };
                let cb = if self.tls {
                    self.channel_binding_data.clone()
                } else {
                    None
                };
                let started = ScramClient::start(
                    &p,
                    mechs.iter(),
                    self.config.channel_binding,
                    cb,
                    self.config.scram.clone(),
                    self.rng.as_mut(),
                );
                match started {
                    Ok((client, mech, first)) => {
                        self.bound = client.channel_binding();
                        let _ = SaslInitialResponse::write(&mut self.out, mech, Some(&first));
                        self.mark_ready();
                        self.scram = Some(client);
                    }
                    Err(e) => self.fail(ClientError::Auth(e)),
                }
            }
            Authentication::SaslContinue(data) => {
                let Some(s) = self.scram.as_mut() else {
                    self.protocol("AuthenticationSASLContinue without SASL".into());
                    return;
                };
                match s.handle_server_first(&data) {
                    Ok(fin) => {
                        let _ = SaslResponse::write(&mut self.out, &fin);
                        self.mark_ready();
                    }
                    Err(e) => self.fail(ClientError::Auth(e)),
                }
            }
            Authentication::SaslFinal(data) => {
                let Some(s) = self.scram.as_mut() else {
                    self.protocol("AuthenticationSASLFinal without SASL".into());
                    return;
                };
                if let Err(e) = s.handle_server_final(&data) {
                    self.fail(ClientError::Auth(e));
                }
            }
            Authentication::KerberosV5 => {
                self.fail(ClientError::UnsupportedAuthentication("Kerberos V5"))
            }
            Authentication::Gss | Authentication::GssContinue(_) => {
                self.fail(ClientError::UnsupportedAuthentication("GSSAPI"))
            }
            Authentication::Sspi => self.fail(ClientError::UnsupportedAuthentication("SSPI")),
        }
    }

    fn on_startup(&mut self, msg: BackendMessage) {
        match msg {
            BackendMessage::ParameterStatus(p) => self.param_event(p),
            BackendMessage::BackendKeyData(k) => {
                let len = k.secret_key.len();
                let ok = if self.version >= ProtocolVersion::V3_2 {
                    (4..=256).contains(&len)
                } else {
                    len == 4
                };
                if !ok {
                    self.fail(ClientError::InvalidCancelKey(len));
                    return;
                }
                self.cancel = Some(CancelToken {
                    process_id: k.process_id,
                    secret_key: k.secret_key,
                });
            }
            BackendMessage::NegotiateProtocolVersion(n) => self.on_negotiate(n),
            BackendMessage::NoticeResponse(n) => self.events.push_back(Event::Notice(n)),
            BackendMessage::ErrorResponse(e) => self.fail(ClientError::Server(e)),
            BackendMessage::ReadyForQuery(_) => {
                self.phase = Phase::Ready;
                self.events.push_back(Event::Connected {
                    version: self.version,
                });
            }
            other => self.protocol(format!("unexpected {} during startup", name(&other))),
        }
    }

    /// Records a parameter and reports it.
    fn param_event(&mut self, p: crate::message::ParameterStatus) {
        match self.parameters.iter_mut().find(|(k, _)| *k == p.name) {
            Some(e) => e.1 = p.value.clone(),
            None => self.parameters.push((p.name.clone(), p.value.clone())),
        }
        self.events.push_back(Event::ParameterStatus {
            name: p.name,
            value: p.value,
        });
    }

    fn respond(&mut self, id: RequestId, response: Response) {
        self.events.push_back(Event::Response {
            request: id,
            response,
        });
    }

    /// The head request is done.
    fn pop(&mut self) {
        self.pending.pop_front();
    }

    /// An error in the extended protocol: the server skips everything up to Sync.
    fn skip_to_sync(&mut self) {
        while let Some(p) = self.pending.front() {
            if p.kind == Kind::Sync {
                return;
            }
            let id = p.id;
            self.pending.pop_front();
            self.respond(id, Response::Skipped);
        }
        // No Sync sent yet: what comes before it will be discarded too.
        self.discarding = true;
    }

    fn on_ready(&mut self, msg: BackendMessage) {
        // Messages that may come at any time.
        let msg = match msg {
            BackendMessage::NoticeResponse(n) => return self.events.push_back(Event::Notice(n)),
            BackendMessage::NotificationResponse(n) => {
                return self.events.push_back(Event::Notification(n));
            }
            BackendMessage::ParameterStatus(p) => return self.param_event(p),
            BackendMessage::Authentication(_) => {
                return self.protocol("an authentication request after login".into());
            }
            other => other,
        };
        let Some(head) = self.pending.front() else {
            if let BackendMessage::ErrorResponse(e) = msg {
                // A FATAL error while idle (admin shutdown, idle timeout).
                return self.fail(ClientError::Server(e));
            }
            return self.protocol(format!("unexpected {} with no request pending", name(&msg)));
        };
        let (id, kind) = (head.id, head.kind);
        match (kind, msg) {
            (_, BackendMessage::ErrorResponse(e)) => {
                let fatal = matches!(e.severity(), Some(b"FATAL" | b"PANIC"));
                self.copy_in = false;
                self.copy_both = false;
                self.respond(id, Response::Error(e.clone()));
                if fatal {
                    return self.fail(ClientError::Server(e));
                }
                match kind {
                    // ReadyForQuery follows and ends the request.
                    Kind::Query | Kind::FunctionCall { .. } | Kind::Sync => {}
                    _ => {
                        self.pop();
                        self.skip_to_sync();
                    }
                }
            }
            (
                Kind::Query | Kind::Sync | Kind::FunctionCall { got_result: true },
                BackendMessage::ReadyForQuery(_),
            ) if self.copy_in => {
                self.protocol("ReadyForQuery while COPY FROM STDIN data is being sent".into())
            }
            (
                Kind::Query | Kind::Sync | Kind::FunctionCall { got_result: true },
                BackendMessage::ReadyForQuery(s),
            ) => {
                self.copy_both = false;
                self.described = false;
                self.copying_out = false;
                self.pop();
                self.txn = s;
                self.respond(id, Response::Ready(s));
            }
            (Kind::FunctionCall { got_result: false }, BackendMessage::ReadyForQuery(s)) => {
                // After an error.
                self.pop();
                self.txn = s;
                self.respond(id, Response::Ready(s));
            }
            (Kind::Parse, BackendMessage::ParseComplete) => {
                self.pop();
                self.respond(id, Response::ParseComplete);
            }
            (Kind::Bind, BackendMessage::BindComplete) => {
                self.pop();
                self.respond(id, Response::BindComplete);
            }
            (Kind::Close, BackendMessage::CloseComplete) => {
                self.pop();
                self.respond(id, Response::CloseComplete);
            }
            (
                Kind::DescribeStatement { got_params: false },
                BackendMessage::ParameterDescription(p),
            ) => {
                if let Some(h) = self.pending.front_mut() {
                    h.kind = Kind::DescribeStatement { got_params: true };
                }
                self.respond(id, Response::ParameterDescription(p));
            }
            (
                Kind::DescribeStatement { got_params: true } | Kind::DescribePortal,
                BackendMessage::RowDescription(d),
            ) => {
                self.pop();
                self.respond(id, Response::RowDescription(d));
            }
            (
                Kind::DescribeStatement { got_params: true } | Kind::DescribePortal,
                BackendMessage::NoData,
            ) => {
                self.pop();
                self.respond(id, Response::NoData);
            }
            (Kind::FunctionCall { got_result: false }, BackendMessage::FunctionCallResponse(r)) => {
                if let Some(h) = self.pending.front_mut() {
                    h.kind = Kind::FunctionCall { got_result: true };
                }
                self.respond(id, Response::FunctionResult(r.value));
            }
            (Kind::Query, BackendMessage::RowDescription(d)) => {
                self.described = true;
                self.respond(id, Response::RowDescription(d))
            }
            (Kind::Query, BackendMessage::DataRow(_)) if !self.described => self
                .protocol("server sent data (\"D\" message) without prior row description".into()),
            (Kind::Query | Kind::Execute, BackendMessage::DataRow(r)) => {
                self.respond(id, Response::DataRow(r))
            }
            (Kind::Query, BackendMessage::CommandComplete(c)) => {
                self.described = false;
                self.copying_out = false;
                self.respond(id, Response::CommandComplete(c))
            }
            (Kind::Query, BackendMessage::EmptyQueryResponse) => {
                self.respond(id, Response::EmptyQuery)
            }
            (Kind::Execute, BackendMessage::CommandComplete(c)) => {
                self.pop();
                self.respond(id, Response::CommandComplete(c));
            }
            (Kind::Execute, BackendMessage::EmptyQueryResponse) => {
                self.pop();
                self.respond(id, Response::EmptyQuery);
            }
            (Kind::Execute, BackendMessage::PortalSuspended) => {
                self.pop();
                self.respond(id, Response::PortalSuspended);
            }
            (Kind::Query | Kind::Execute, BackendMessage::CopyInResponse(c)) => {
                self.copy_in = true;
                self.mark_ready();
                self.respond(id, Response::CopyIn(c));
            }
            (Kind::Query | Kind::Execute, BackendMessage::CopyOutResponse(c)) => {
                self.copying_out = true;
                self.respond(id, Response::CopyOut(c))
            }
            (Kind::Query | Kind::Execute, BackendMessage::CopyBothResponse(c)) => {
                self.copy_both = true;
                self.copying_out = true;
                self.respond(id, Response::CopyBoth(c));
            }
            (
                Kind::Query | Kind::Execute,
                BackendMessage::CopyData(_) | BackendMessage::CopyDone,
            ) if !self.copying_out => {
                self.protocol("server sent COPY data without a COPY response".into())
            }
            (Kind::Query | Kind::Execute, BackendMessage::CopyData(d)) => {
                self.respond(id, Response::CopyData(d.data))
            }
            (Kind::Query | Kind::Execute, BackendMessage::CopyDone) => {
                self.respond(id, Response::CopyDone)
            }
            (_, other) => {
                self.protocol(format!("unexpected {} in answer to {kind:?}", name(&other)))
            }
        }
    }
}

/// A message's name for error texts.
fn name(m: &BackendMessage) -> &'static str {
    match m {
        BackendMessage::SslResponse { .. } => "SSL answer",
        BackendMessage::GssEncResponse { .. } => "GSSENC answer",
        BackendMessage::Authentication(_) => "Authentication",
        BackendMessage::BackendKeyData(_) => "BackendKeyData",
        BackendMessage::NegotiateProtocolVersion(_) => "NegotiateProtocolVersion",
        BackendMessage::ParameterStatus(_) => "ParameterStatus",
        BackendMessage::ReadyForQuery(_) => "ReadyForQuery",
        BackendMessage::ParseComplete => "ParseComplete",
        BackendMessage::BindComplete => "BindComplete",
        BackendMessage::CloseComplete => "CloseComplete",
        BackendMessage::NoData => "NoData",
        BackendMessage::PortalSuspended => "PortalSuspended",
        BackendMessage::EmptyQueryResponse => "EmptyQueryResponse",
        BackendMessage::ParameterDescription(_) => "ParameterDescription",
        BackendMessage::RowDescription(_) => "RowDescription",
        BackendMessage::DataRow(_) => "DataRow",
        BackendMessage::CommandComplete(_) => "CommandComplete",
        BackendMessage::FunctionCallResponse(_) => "FunctionCallResponse",
        BackendMessage::ErrorResponse(_) => "ErrorResponse",
        BackendMessage::NoticeResponse(_) => "NoticeResponse",
        BackendMessage::NotificationResponse(_) => "NotificationResponse",
        BackendMessage::CopyInResponse(_) => "CopyInResponse",
        BackendMessage::CopyOutResponse(_) => "CopyOutResponse",
        BackendMessage::CopyBothResponse(_) => "CopyBothResponse",
        BackendMessage::CopyData(_) => "CopyData",
        BackendMessage::CopyDone => "CopyDone",
    }
}
