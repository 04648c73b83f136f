//! Streaming and logical replication: the replication commands a `replication=true|database`
//! connection runs, the messages carried inside its COPY BOTH stream, and the `pgoutput`
//! logical decoding format.
//!
//! Three layers have their own one-byte message types, and the same byte means different
//! things in each (`k` is a keepalive in the stream and CommitPrepared in pgoutput), so each
//! has its own type here:
//!
//! - [`ReplicationCommand`] (and its typed results such as [`IdentifySystem`]): what a client
//!   sends as a simple Query and what the server answers with rows. Both sides: the client
//!   formats commands and reads results, the server parses commands and writes results.
//! - [`PrimaryMessage`] (`w` XLogData, `k` keepalive) and [`StandbyMessage`] (`r` status
//!   update, `h` hot standby feedback): the payloads of CopyData inside START_REPLICATION.
//! - [`pgoutput`]: the logical change messages inside XLogData when the slot's plugin is
//!   `pgoutput`, decoded without copying, with a relation cache.
//!
//! None of these decoders panics or allocates in proportion to a length it was told: every
//! failure is a [`DecodeError`] whose SQLSTATE is 08P01, as PostgreSQL's walsender and
//! logical replication worker answer.

mod command;
mod cursor;
mod lsn;
pub mod pgoutput;
mod stream;

pub use command::{
    CommandParseError, CreateReplicationSlot, CreatedSlot, IdentifySystem, ReadReplicationSlot,
    ReplicationCommand, ResultError, SlotKind, SnapshotAction, StartKind, StartReplication,
    TimelineHistory, TimelineSwitch,
};
pub use lsn::{Lsn, LsnParseError, PgTimestamp};
pub use stream::{
    HotStandbyFeedback, PrimaryKeepalive, PrimaryMessage, StandbyMessage, StandbyStatusUpdate,
    XLogData,
};

use crate::SqlState;

/// A replication-layer message (stream payload or pgoutput) that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message is empty: it has no type byte.
    #[error("empty {layer} message")]
    Empty {
        /// `replication stream` or `pgoutput`.
        layer: &'static str,
    },
    /// A type byte this layer does not define.
    #[error("invalid {layer} message type \"{}\" ({tag})", char::from(*tag).escape_default())]
    UnknownType {
        /// `replication stream` or `pgoutput`.
        layer: &'static str,
        /// The byte.
        tag: u8,
    },
    /// The message ends before one of its fields.
    #[error("{message} message ends before its {field}")]
    Truncated {
        /// The message, e.g. `XLogData`.
        message: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// Bytes follow the last field of a message that has a fixed size.
    #[error("{message} message has {extra} bytes after its last field")]
    TrailingBytes {
        /// The message.
        message: &'static str,
        /// How many.
        extra: usize,
    },
    /// A field holds a value the format does not allow (a tuple column kind other than `n`,
    /// `u`, `t`, `b`; a string without its terminator or not UTF-8; a negative count; ...).
    #[error("{message} message has an invalid {field}: {detail}")]
    Invalid {
        /// The message.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A message that the negotiated pgoutput protocol version does not have (StreamStart
    /// under version 1, BeginPrepare under 1 or 2, ...), or one that is out of place (a
    /// streamed-transaction message outside a stream).
    #[error("pgoutput message \"{}\" is not valid {detail}", char::from(*tag).escape_default())]
    OutOfVersion {
        /// The message's type byte.
        tag: u8,
        /// Which rule it broke, e.g. `in protocol version 1`.
        detail: String,
    },
    /// A change names a relation no Relation message described.
    #[error("logical replication target relation with OID {0} is unknown")]
    UnknownRelation(u32),
}

impl DecodeError {
    /// The SQLSTATE a server or client reports for this error: 08P01 protocol_violation.
    pub fn sql_state(&self) -> SqlState {
        SqlState::PROTOCOL_VIOLATION
    }
}
