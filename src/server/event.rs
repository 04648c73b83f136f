//! What a server connection reports to the application, in wire order.

use bytes::Bytes;

use crate::message::{FunctionCall, PgStr, ProtocolVersion, StartupMessage};

/// Something the application must know about or answer. Events come out of
/// [`Connection::poll_event`](super::Connection::poll_event) in the order their messages
/// arrived; the ones that need an answer say which methods answer them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The client sent SSLRequest: answer with [`accept_tls`](super::Connection::accept_tls)
    /// (the driver then runs the TLS handshake and calls
    /// [`handle_tls_established`](super::Connection::handle_tls_established)) or
    /// [`decline_tls`](super::Connection::decline_tls).
    TlsRequested,
    /// The client opened with a TLS ClientHello (direct TLS, PostgreSQL 17+). These are the bytes
    /// received so far: give them to the TLS engine, which must require ALPN `postgresql`, and
    /// call [`handle_tls_established`](super::Connection::handle_tls_established) when done.
    DirectTls {
        /// The start of the ClientHello.
        client_hello: Bytes,
    },
    /// A CancelRequest. The connection is over; find the session with this process id, compare
    /// the key (in constant time), and cancel its running query.
    CancelRequested {
        /// Process id from BackendKeyData.
        process_id: i32,
        /// Secret key from BackendKeyData.
        secret_key: Bytes,
    },
    /// The client's StartupMessage: answer with
    /// [`authenticate`](super::Connection::authenticate) or
    /// [`reject`](super::Connection::reject).
    Startup(Startup),
    /// Authentication succeeded and the session is ready: AuthenticationOk, the parameters,
    /// BackendKeyData and ReadyForQuery have been queued. With
    /// [`Config::hold_after_auth`](super::Config::hold_after_auth), only AuthenticationOk has:
    /// answer with [`start_session`](super::Connection::start_session) or a FATAL
    /// [`error`](super::Connection::error).
    Authenticated {
        /// The user name from the startup packet.
        user: PgStr,
    },
    /// A simple query (one or more statements). Answer with the result methods, then
    /// [`query_done`](super::Connection::query_done).
    Query {
        /// The query string (bytes; invalid UTF-8 is the application's to report, as 22021).
        sql: PgStr,
    },
    /// Parse: answer with [`parse_complete`](super::Connection::parse_complete) or
    /// [`error`](super::Connection::error).
    Parse {
        /// The statement name ("" for the unnamed statement).
        name: PgStr,
        /// The query text.
        query: PgStr,
        /// Parameter types the client specified (0 for unspecified), possibly fewer than the
        /// query has parameters.
        param_types: Vec<u32>,
    },
    /// Execute a portal the state machine has bound (read its statement and parameters with
    /// [`portal`](super::Connection::portal)). Answer with rows, then
    /// [`command_complete`](super::Connection::command_complete),
    /// [`portal_suspended`](super::Connection::portal_suspended) (row limit reached),
    /// [`empty_query`](super::Connection::empty_query) or
    /// [`error`](super::Connection::error).
    Execute {
        /// The portal name.
        portal: PgStr,
        /// The most rows to return (0 for all).
        max_rows: u32,
    },
    /// Sync, reported only with [`Config::report_sync`](super::Config::report_sync): answer
    /// with [`sync_done`](super::Connection::sync_done) and the transaction status.
    Sync {
        /// An error since the previous Sync made the connection discard messages: an implicit
        /// transaction must be rolled back.
        failed: bool,
    },
    /// A FunctionCall: answer with [`function_result`](super::Connection::function_result) or
    /// [`error`](super::Connection::error).
    FunctionCall(FunctionCall),
    /// A chunk of COPY FROM STDIN data (after
    /// [`start_copy_in`](super::Connection::start_copy_in)).
    CopyData(Bytes),
    /// The end of COPY FROM STDIN data: answer with
    /// [`command_complete`](super::Connection::command_complete) or
    /// [`error`](super::Connection::error).
    CopyDone,
    /// The client aborted COPY FROM STDIN. The state machine has sent the 57014 error already;
    /// discard what was received.
    CopyFail {
        /// The client's reason.
        message: PgStr,
    },
    /// The connection is over: close the socket after writing any remaining output.
    Terminated(Termination),
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The client sent Terminate.
    ClientTerminated,
    /// The client closed the connection.
    ClientClosed,
    /// A protocol violation or a FATAL error (sent to the client when possible).
    Fatal {
        /// The SQLSTATE sent.
        code: crate::SqlState,
        /// The message sent.
        message: String,
    },
    /// A CancelRequest (its own connection ends there).
    CancelRequest,
}

/// A client's StartupMessage, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Startup {
    /// The user name (required by the protocol; checked before this event).
    pub user: PgStr,
    /// The database, defaulting to the user name as PostgreSQL does.
    pub database: PgStr,
    /// The protocol version the session will use (at most what this server speaks).
    pub version: ProtocolVersion,
    /// Whether this is a replication connection, and which kind.
    pub replication: Replication,
    /// Settings from the `options` parameter (`-c name=value`, `--name=value`) and from other
    /// startup parameters that are not special (`application_name`, `TimeZone`, ...), in order.
    pub settings: Vec<(String, String)>,
    /// Whether the connection is encrypted with TLS.
    pub tls: bool,
    /// The message as received.
    pub message: StartupMessage,
}

/// The `replication` startup parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// A normal connection.
    None,
    /// `replication=true`: physical replication (replication commands only).
    Physical,
    /// `replication=database`: logical replication, connected to a database.
    Logical,
}
