//! What a client connection reports, in wire order.

use bytes::Bytes;

use super::error::ClientError;
use crate::message::{
    CommandComplete, CopyResponse, DataRow, ErrorFields, NotificationResponse,
    ParameterDescription, PgStr, ProtocolVersion, RowDescription, TransactionStatus,
};

/// Identifies a request (a query, each extended-protocol message, a Sync, a function call)
/// so that responses can be matched to it under pipelining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Something the server said, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Run the TLS handshake now (after the server accepted SSLRequest, or at once for direct
    /// TLS), then call [`handle_tls_established`](super::Connection::handle_tls_established).
    StartTls,
    /// The session is ready: authentication succeeded, parameters and the cancel key arrived.
    Connected {
        /// The protocol version in use.
        version: ProtocolVersion,
    },
    /// A run-time parameter's value (at startup and whenever it changes).
    ParameterStatus {
        /// Name.
        name: PgStr,
        /// Value.
        value: PgStr,
    },
    /// A NoticeResponse (WARNING, NOTICE, ...), at any time.
    Notice(ErrorFields),
    /// A NOTIFY on a channel this session listens to, at any time.
    Notification(NotificationResponse),
    /// A response to a request.
    Response {
        /// The request it answers.
        request: RequestId,
        /// The response.
        response: Response,
    },
    /// The connection ended: `None` after [`terminate`](super::Connection::terminate), else why.
    Closed(Option<ClientError>),
}

/// A response to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// Parse succeeded.
    ParseComplete,
    /// Bind succeeded.
    BindComplete,
    /// Close succeeded.
    CloseComplete,
    /// A statement's parameter types (Describe statement).
    ParameterDescription(ParameterDescription),
    /// The columns of the rows that follow, or of a described statement or portal.
    RowDescription(RowDescription),
    /// The described statement or portal returns no rows.
    NoData,
    /// One row; values are slices of the received frame.
    DataRow(DataRow),
    /// A statement finished.
    CommandComplete(CommandComplete),
    /// The query string was empty.
    EmptyQuery,
    /// Execute's row limit was reached; Execute the portal again for more.
    PortalSuspended,
    /// The server waits for COPY data: send it with
    /// [`copy_data`](super::Connection::copy_data), then
    /// [`copy_done`](super::Connection::copy_done) or [`copy_fail`](super::Connection::copy_fail).
    CopyIn(CopyResponse),
    /// COPY data follows.
    CopyOut(CopyResponse),
    /// Both directions (replication).
    CopyBoth(CopyResponse),
    /// A chunk of COPY data from the server.
    CopyData(Bytes),
    /// The server's end of COPY data.
    CopyDone,
    /// The result of a function call (`None` is NULL).
    FunctionResult(Option<Bytes>),
    /// The request failed (or, in a simple query, one of its statements did).
    Error(ErrorFields),
    /// Not executed: an earlier request of the same batch (up to Sync) failed.
    Skipped,
    /// ReadyForQuery: the end of a simple query, a Sync or a function call.
    Ready(TransactionStatus),
}
