//! Errors of the message layer: what was wrong with bytes from the peer (`DecodeError`) and what
//! was wrong with a value the application asked us to encode (`EncodeError`).

use core::fmt;

use crate::sqlstate::SqlState;

/// Which side sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    Frontend,
    /// Server to client.
    Backend,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Frontend => "frontend",
            Direction::Backend => "backend",
        })
    }
}

/// The frame an error was found in: an untyped startup-phase packet, the one-byte answer to an
/// encryption request, or a typed message with its type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A startup-phase packet (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
    Startup,
    /// A typed message, with its type byte.
    Typed(u8),
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Startup => f.write_str("startup packet"),
            Frame::Typed(t) if t.is_ascii_graphic() => write!(f, "message '{}'", *t as char),
            Frame::Typed(t) => write!(f, "message 0x{t:02X}"),
        }
    }
}

/// Bytes from the peer that are not a valid message.
///
/// Every variant maps to a SQLSTATE ([`DecodeError::sqlstate`]). Framing errors (a bad length,
/// an unknown type byte, anything wrong in a startup packet) lose the message boundaries, so the
/// decoder stops there; errors inside a well-framed typed message consume that frame, and the
/// stream can go on, as PostgreSQL answers them with an ERROR rather than a FATAL
/// ([`DecodeError::is_recoverable`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length word is below its minimum (4 for typed messages, 8 for startup packets); a
    /// negative length shows up here too.
    #[error("invalid message length {length} in {frame}")]
    LengthTooSmall {
        /// The frame whose length word was read.
        frame: Frame,
        /// The length word, as a signed integer.
        length: i32,
    },
    /// The length word is above the configured limit for that message class.
    #[error("invalid message length {length} in {frame}: the limit is {limit}")]
    LengthTooLarge {
        /// The frame whose length word was read.
        frame: Frame,
        /// The declared length (the length word for typed messages, the payload for startup).
        length: u32,
        /// The limit in force.
        limit: u32,
    },
    /// A type byte that is not a message in this direction and phase.
    #[error("invalid {direction} message type {}", Frame::Typed(*tag))]
    UnknownMessageType {
        /// Who sent it.
        direction: Direction,
        /// The type byte.
        tag: u8,
    },
    /// A startup packet asking for a protocol whose major version is not 3.
    #[error("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.2")]
    UnsupportedProtocolVersion {
        /// Major version requested.
        major: u16,
        /// Minor version requested.
        minor: u16,
    },
    /// The body ended before a field was complete.
    #[error("insufficient data left in {frame} reading {field}")]
    UnexpectedEnd {
        /// The message.
        frame: Frame,
        /// The field being read.
        field: &'static str,
    },
    /// A string field has no terminating zero byte.
    #[error("{field} in {frame} has no terminating zero byte")]
    MissingTerminator {
        /// The message.
        frame: Frame,
        /// The field being read.
        field: &'static str,
    },
    /// Bytes remain after the last field of a message.
    #[error("invalid message format: {count} unexpected bytes at the end of {frame}")]
    TrailingBytes {
        /// The message.
        frame: Frame,
        /// How many bytes were left over.
        count: usize,
    },
    /// A value length that is negative but not -1 (NULL), or a negative count.
    #[error("invalid length {length} of {field} in {frame}")]
    InvalidLength {
        /// The message.
        frame: Frame,
        /// The field being read.
        field: &'static str,
        /// The value read.
        length: i32,
    },
    /// Two counts in one message that must agree do not (Bind's parameter formats against its
    /// parameters: the format count must be 0, 1 or the parameter count).
    #[error("{frame} has {count} {field} but {expected} values")]
    CountMismatch {
        /// The message.
        frame: Frame,
        /// The list whose count is wrong.
        field: &'static str,
        /// Its count.
        count: usize,
        /// The count of values it describes.
        expected: usize,
    },
    /// An Authentication request with a code this crate does not know.
    #[error("authentication request type {code} is not known")]
    UnknownAuthenticationType {
        /// The request code.
        code: i32,
    },
    /// A cancel key (CancelRequest, BackendKeyData) outside 4..=256 bytes.
    #[error("invalid cancel key length {length} in {frame}: must be 4 to 256 bytes")]
    InvalidCancelKeyLength {
        /// The message.
        frame: Frame,
        /// The key's length.
        length: usize,
    },
    /// ReadyForQuery with a status other than `I`, `T` or `E`.
    #[error("invalid transaction status 0x{status:02X} in ReadyForQuery")]
    InvalidTransactionStatus {
        /// The status byte.
        status: u8,
    },
    /// Describe or Close naming something other than `S` (statement) or `P` (portal).
    #[error("invalid target 0x{target:02X} in {frame}: expected 'S' or 'P'")]
    InvalidTarget {
        /// The message.
        frame: Frame,
        /// The target byte.
        target: u8,
    },
    /// The one-byte answer to SSLRequest or GSSENCRequest is none of the allowed bytes.
    #[error("invalid answer 0x{byte:02X} to an encryption request")]
    InvalidEncryptionResponse {
        /// The byte received.
        byte: u8,
    },
}

impl DecodeError {
    /// The SQLSTATE PostgreSQL uses for this condition: 0A000 for an unsupported protocol
    /// version, 08P01 (protocol violation) for everything else.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            DecodeError::UnsupportedProtocolVersion { .. } => SqlState::FEATURE_NOT_SUPPORTED,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }

    /// True when the bad frame was consumed whole and the next message can still be decoded
    /// (PostgreSQL answers these with an ERROR and carries on); false when message boundaries
    /// are lost or the startup packet is unusable, and the connection must end.
    pub fn is_recoverable(&self) -> bool {
        match self {
            DecodeError::LengthTooSmall { .. }
            | DecodeError::LengthTooLarge { .. }
            | DecodeError::UnknownMessageType { .. }
            | DecodeError::UnsupportedProtocolVersion { .. }
            | DecodeError::InvalidEncryptionResponse { .. } => false,
            DecodeError::UnexpectedEnd { frame, .. }
            | DecodeError::MissingTerminator { frame, .. }
            | DecodeError::TrailingBytes { frame, .. }
            | DecodeError::InvalidLength { frame, .. }
            | DecodeError::CountMismatch { frame, .. }
            | DecodeError::InvalidCancelKeyLength { frame, .. }
            | DecodeError::InvalidTarget { frame, .. } => *frame != Frame::Startup,
            DecodeError::UnknownAuthenticationType { .. }
            | DecodeError::InvalidTransactionStatus { .. } => true,
        }
    }
}

/// A value the application asked to encode that has no valid wire form. The output buffer is
/// left exactly as it was before the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string that goes on the wire NUL-terminated contains a zero byte.
    #[error("{field} contains a zero byte")]
    NulInString {
        /// The field.
        field: &'static str,
    },
    /// A list has more entries than its 16-bit count can say.
    #[error("{field} has {count} entries; at most 65535 fit in a message")]
    TooManyItems {
        /// The list.
        field: &'static str,
        /// Its length.
        count: usize,
    },
    /// A value or message is longer than its 32-bit length word can say.
    #[error("{field} is {length} bytes long, more than a message can carry")]
    TooLong {
        /// What was too long.
        field: &'static str,
        /// Its length.
        length: usize,
    },
    /// Bind or FunctionCall format codes whose count is not 0, 1 or the value count.
    #[error("{count} {field} for {expected} values: must be 0, 1 or {expected}")]
    CountMismatch {
        /// The list.
        field: &'static str,
        /// Its length.
        count: usize,
        /// The value count.
        expected: usize,
    },
    /// A cancel key outside 4..=256 bytes.
    #[error("a cancel key must be 4 to 256 bytes, not {length}")]
    InvalidCancelKeyLength {
        /// The key's length.
        length: usize,
    },
    /// An empty name where the protocol uses the empty string as a terminator (startup
    /// parameter names, SASL mechanism names), or a zero error field code.
    #[error("{field} may not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
}
