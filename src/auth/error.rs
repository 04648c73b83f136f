//! `AuthError`: why an authentication exchange failed, on either side.

use crate::sqlstate::SqlState;

/// Why an authentication exchange failed.
///
/// Server-side variants describe what the client sent and carry the SQLSTATE PostgreSQL sends
/// for the same condition ([`AuthError::sqlstate`]); client-side variants describe what the
/// server sent or a policy the client enforces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A SCRAM message that does not follow the grammar (08P01).
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// The client chose a SASL mechanism that was not offered (08P01).
    #[error("client selected an invalid SASL authentication mechanism")]
    InvalidMechanism,
    /// The client sent an authorization identity (`a=`), which PostgreSQL does not support
    /// (0A000).
    #[error("client uses authorization identity, but it is not supported")]
    AuthzidNotSupported,
    /// A mandatory extension (`m=`) was requested (0A000).
    #[error("client requires an unsupported SCRAM extension")]
    ExtensionNotSupported,
    /// Channel binding of a type other than `tls-server-end-point` (08P01).
    #[error("unsupported SCRAM channel-binding type")]
    UnsupportedChannelBindingType,
    /// The client claimed the server cannot do channel binding (`y`) over a connection where
    /// it can: a downgrade (28000).
    #[error(
        "SCRAM channel binding negotiation error: the client supports channel binding but thinks the server does not"
    )]
    ChannelBindingDowngrade,
    /// The channel-binding data does not match this connection's certificate (28000).
    #[error("SCRAM channel binding check failed")]
    ChannelBindingMismatch,
    /// The nonce in the client-final message is not the one agreed (08P01).
    #[error("invalid SCRAM response: nonce does not match")]
    NonceMismatch,
    /// The password (or proof) is wrong, or the user has no usable secret (28P01).
    #[error("password authentication failed")]
    InvalidPassword,
    /// A message arrived at a point of the exchange where none was expected (08P01).
    #[error("unexpected authentication message: {0}")]
    UnexpectedMessage(&'static str),
    /// The server asked for an iteration count outside the client's accepted range; no
    /// work was done (08P01).
    #[error("server's SCRAM iteration count {count} is outside the accepted range {min}..={max}")]
    IterationCount {
        /// The count asked for.
        count: u64,
        /// Smallest accepted.
        min: u32,
        /// Largest accepted.
        max: u32,
    },
    /// The server's signature does not prove it knows the password (28000).
    #[error("SCRAM server signature is incorrect")]
    ServerSignatureMismatch,
    /// The server ended the exchange with a SCRAM error (`e=`) (28000).
    #[error("server reported SCRAM error: {0}")]
    ServerError(String),
    /// The server reported success before sending its SCRAM signature (28000).
    #[error("server finished authentication without proving it knows the password")]
    MissingServerFinal,
    /// Channel binding is required but cannot be used on this connection (28000).
    #[error("channel binding is required, but {0}")]
    ChannelBindingRequired(&'static str),
    /// The server offered no SASL mechanism this client speaks (0A000).
    #[error("none of the server's SASL mechanisms is supported")]
    NoSupportedMechanism,
    /// The server certificate could not be used for channel binding (08P01).
    #[error("server certificate: {0}")]
    Certificate(&'static str),
    /// A stored SCRAM secret that does not parse.
    #[error("invalid SCRAM secret: {0}")]
    InvalidSecret(&'static str),
    /// The random source failed (XX000).
    #[error("could not generate random bytes")]
    RandomUnavailable,
}

impl AuthError {
    /// The SQLSTATE PostgreSQL uses for this condition (or the closest one, for client-side
    /// conditions that PostgreSQL's client reports without a code).
    pub fn sqlstate(&self) -> SqlState {
        match self {
            AuthError::AuthzidNotSupported
            | AuthError::ExtensionNotSupported
            | AuthError::NoSupportedMechanism => SqlState::FEATURE_NOT_SUPPORTED,
            AuthError::ChannelBindingDowngrade
            | AuthError::ChannelBindingMismatch
            | AuthError::ServerSignatureMismatch
            | AuthError::ServerError(_)
            | AuthError::MissingServerFinal
            | AuthError::ChannelBindingRequired(_) => SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            AuthError::InvalidPassword | AuthError::InvalidSecret(_) => SqlState::INVALID_PASSWORD,
            AuthError::RandomUnavailable => SqlState::INTERNAL_ERROR,
            AuthError::Malformed(_)
            | AuthError::InvalidMechanism
            | AuthError::UnsupportedChannelBindingType
            | AuthError::NonceMismatch
            | AuthError::UnexpectedMessage(_)
            | AuthError::IterationCount { .. }
            | AuthError::Certificate(_) => SqlState::PROTOCOL_VIOLATION,
        }
    }
}
