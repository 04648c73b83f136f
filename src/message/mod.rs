//! The protocol layer: every message of PostgreSQL's frontend/backend protocol 3.0 and 3.2 as
//! a typed value, streaming decoders for both directions, and encoders.
//!
//! Decoding is zero-copy: a frame is split off the input buffer once and every variable-length
//! part of a message (strings, values, lists) is a slice of it. Lists are checked once on
//! decode and then iterated without allocating or failing.
//!
//! For bulk traffic, `split_frames` (on either decoder) takes every complete message at once as
//! one shared buffer and each frame is read in place ([`BackendView`], [`FrontendView`]): the
//! hot messages are borrowed, so a run costs one reference count instead of one or more per
//! message. A borrowed [`DataRowRef`] checks its value lengths as [`DataRowRef::values`] visits
//! them (or all at once with [`DataRowRef::check`]).
//!
//! Encoding writes into the caller's `BytesMut`, back-patching the length word, and leaves the
//! buffer as it was when it fails. Each message has an owned form with `encode`, and a
//! `write` function taking borrowed parts, for hot paths that should not build a value first.

mod auth;
mod backend;
mod codec;
mod copy;
mod error;
mod fields;
mod frames;
mod frontend;
mod function;
mod lists;
mod pgstr;
mod reader;
mod rows;
mod startup;
mod writer;

pub use auth::{
    Authentication, GssResponse, PasswordMessage, SaslInitialResponse, SaslMechanisms, SaslResponse,
};
pub use backend::{
    BackendKeyData, BackendMessage, CommandComplete, NegotiateProtocolVersion,
    NotificationResponse, ParameterStatus, TransactionStatus, tag as backend_tag,
};
pub use codec::{
    BackendDecoder, BackendLimits, BackendPhase, FrontendDecoder, FrontendLimits, FrontendPhase,
};
pub use copy::{CopyData, CopyFail, CopyResponse, CopyResponseKind};
pub use error::{DecodeError, Direction, EncodeError, Frame};
pub use fields::{ErrorFields, code as error_field};
pub use frames::{
    BackendFrame, BackendFrames, BackendFramesIter, BackendView, FrontendFrame, FrontendFrames,
    FrontendFramesIter, FrontendView,
};
pub use frontend::{
    Bind, BindRef, Close, CloseRef, Describe, DescribeRef, Execute, ExecuteRef, FrontendMessage,
    Parse, ParseRef, Query, Target, tag as frontend_tag,
};
pub use function::{FunctionCall, FunctionCallResponse};
pub use lists::{Format, Formats, FormatsRef, Oids, OidsRef, Values, ValuesIter, ValuesRef};
pub use pgstr::PgStr;
pub use rows::{
    DataRow, DataRowRef, FieldDescription, Fields, ParameterDescription, RowDescription,
};
pub use startup::{
    CANCEL_KEY_LEN, CANCEL_REQUEST_CODE, CancelRequest, GSSENC_REQUEST_CODE, ProtocolVersion,
    SSL_REQUEST_CODE, StartupMessage, StartupParams, TLS_HANDSHAKE_BYTE,
};
