//! Why a client connection failed or refused a call.

use crate::SqlState;
use crate::auth::AuthError;
use crate::message::{DecodeError, ErrorFields, ProtocolVersion};

/// Why a client connection ended, or why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Bytes from the server that are not valid messages.
    #[error("invalid message from the server: {0}")]
    Decode(#[from] DecodeError),
    /// A valid message where the protocol does not allow it.
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// The authentication exchange failed on our side (a bad SCRAM message, a wrong server
    /// signature, a channel-binding policy).
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// The server refused the connection or ended it (a FATAL ErrorResponse).
    #[error("server error: {}", message(.0))]
    Server(ErrorFields),
    /// TLS was required but not available, or the TLS negotiation was tampered with.
    #[error("TLS: {0}")]
    Tls(&'static str),
    /// The server asked for an authentication method this crate does not speak.
    #[error("authentication method {0} is not supported")]
    UnsupportedAuthentication(&'static str),
    /// The server asked for a password and none was configured.
    #[error("the server asked for a password, but none was given")]
    PasswordRequired,
    /// The server only speaks a protocol version below the configured minimum.
    #[error("server supports protocol {server}, but at least {min} is required")]
    ProtocolVersion {
        /// What the server offered.
        server: ProtocolVersion,
        /// The configured minimum.
        min: ProtocolVersion,
    },
    /// A BackendKeyData whose key has an impossible length for the protocol in use.
    #[error("invalid cancel key of {0} bytes")]
    InvalidCancelKey(usize),
    /// The application called something the connection's state does not allow.
    #[error("not allowed now: {0}")]
    Api(&'static str),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

fn message(f: &ErrorFields) -> String {
    let sqlstate = f.sqlstate().map(|s| s.to_string()).unwrap_or_default();
    format!(
        "{} ({sqlstate})",
        String::from_utf8_lossy(f.message().unwrap_or_default())
    )
}

impl ClientError {
    /// The SQLSTATE: the server's for [`ClientError::Server`], the closest protocol-level code
    /// otherwise.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            ClientError::Server(f) => f.sqlstate().unwrap_or(SqlState::INTERNAL_ERROR),
            ClientError::Decode(e) => e.sqlstate(),
            ClientError::Auth(e) => e.sqlstate(),
            ClientError::UnsupportedAuthentication(_) | ClientError::ProtocolVersion { .. } => {
                SqlState::FEATURE_NOT_SUPPORTED
            }
            ClientError::PasswordRequired => SqlState::INVALID_PASSWORD,
            ClientError::Tls(_) => SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            ClientError::Closed => SqlState::CONNECTION_FAILURE,
            ClientError::Protocol(_) | ClientError::InvalidCancelKey(_) | ClientError::Api(_) => {
                SqlState::PROTOCOL_VIOLATION
            }
        }
    }
}
