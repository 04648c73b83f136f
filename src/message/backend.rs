//! Messages a server sends: the `BackendMessage` enum and the small session messages
//! (BackendKeyData, NegotiateProtocolVersion, ParameterStatus, ReadyForQuery,
//! CommandComplete, NotificationResponse).

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::auth::Authentication;
use super::copy::{CopyData, CopyResponse};
use super::error::{DecodeError, EncodeError, Frame};
use super::fields::ErrorFields;
use super::function::FunctionCallResponse;
use super::pgstr::PgStr;
use super::reader::Reader;
use super::rows::{DataRow, ParameterDescription, RowDescription};
use super::startup::{CANCEL_KEY_LEN, ProtocolVersion};
use super::writer;

/// Backend type bytes.
pub mod tag {
    /// Authentication request
    pub const AUTHENTICATION: u8 = b'R';
    /// BackendKeyData
    pub const BACKEND_KEY_DATA: u8 = b'K';
    /// NegotiateProtocolVersion
    pub const NEGOTIATE_PROTOCOL_VERSION: u8 = b'v';
    /// ParameterStatus
    pub const PARAMETER_STATUS: u8 = b'S';
    /// ReadyForQuery
    pub const READY_FOR_QUERY: u8 = b'Z';
    /// ParseComplete
    pub const PARSE_COMPLETE: u8 = b'1';
    /// BindComplete
    pub const BIND_COMPLETE: u8 = b'2';
    /// CloseComplete
    pub const CLOSE_COMPLETE: u8 = b'3';
    /// NoData
    pub const NO_DATA: u8 = b'n';
    /// PortalSuspended
    pub const PORTAL_SUSPENDED: u8 = b's';
    /// EmptyQueryResponse
    pub const EMPTY_QUERY_RESPONSE: u8 = b'I';
    /// ParameterDescription
    pub const PARAMETER_DESCRIPTION: u8 = b't';
    /// RowDescription
    pub const ROW_DESCRIPTION: u8 = b'T';
    /// DataRow
    pub const DATA_ROW: u8 = b'D';
    /// CommandComplete
    pub const COMMAND_COMPLETE: u8 = b'C';
    /// FunctionCallResponse
    pub const FUNCTION_CALL_RESPONSE: u8 = b'V';
    /// ErrorResponse
    pub const ERROR_RESPONSE: u8 = b'E';
    /// NoticeResponse
    pub const NOTICE_RESPONSE: u8 = b'N';
    /// NotificationResponse
    pub const NOTIFICATION_RESPONSE: u8 = b'A';
    /// CopyInResponse
    pub const COPY_IN_RESPONSE: u8 = b'G';
    /// CopyOutResponse
    pub const COPY_OUT_RESPONSE: u8 = b'H';
    /// CopyBothResponse
    pub const COPY_BOTH_RESPONSE: u8 = b'W';
    /// CopyData
    pub const COPY_DATA: u8 = b'd';
    /// CopyDone
    pub const COPY_DONE: u8 = b'c';
}

/// A message from server to client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendMessage {
    /// The one-byte answer to SSLRequest: `S` (go ahead with TLS) or `N`.
    SslResponse {
        /// Whether the server accepts TLS.
        accepted: bool,
    },
    /// The one-byte answer to GSSENCRequest: `G` or `N`.
    GssEncResponse {
        /// Whether the server accepts GSSAPI encryption.
        accepted: bool,
    },
    /// `R`: authentication request or result.
    Authentication(Authentication),
    /// `K`: the key for cancelling this session's queries.
    BackendKeyData(BackendKeyData),
    /// `v`: the server speaks an older minor version or lacks some `_pq_.` options.
    NegotiateProtocolVersion(NegotiateProtocolVersion),
    /// `S`: a run-time parameter's current value.
    ParameterStatus(ParameterStatus),
    /// `Z`: ready for a new query, with the transaction status.
    ReadyForQuery(TransactionStatus),
    /// `1`
    ParseComplete,
    /// `2`
    BindComplete,
    /// `3`
    CloseComplete,
    /// `n`: the statement or portal returns no rows.
    NoData,
    /// `s`: Execute's row limit was reached.
    PortalSuspended,
    /// `I`: the query string was empty.
    EmptyQueryResponse,
    /// `t`
    ParameterDescription(ParameterDescription),
    /// `T`
    RowDescription(RowDescription),
    /// `D`
    DataRow(DataRow),
    /// `C`
    CommandComplete(CommandComplete),
    /// `V`
    FunctionCallResponse(FunctionCallResponse),
    /// `E`
    ErrorResponse(ErrorFields),
    /// `N`
    NoticeResponse(ErrorFields),
    /// `A`: a NOTIFY on a channel this session listens to.
    NotificationResponse(NotificationResponse),
    /// `G`
    CopyInResponse(CopyResponse),
    /// `H`
    CopyOutResponse(CopyResponse),
    /// `W`
    CopyBothResponse(CopyResponse),
    /// `d`
    CopyData(CopyData),
    /// `c`
    CopyDone,
}

impl BackendMessage {
    /// Appends the message in wire form to `buf`. On error `buf` is unchanged.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let empty = |buf: &mut BytesMut, t| {
            writer::empty_frame(buf, t);
            Ok(())
        };
        match self {
            BackendMessage::SslResponse { accepted } => {
                buf.put_u8(if *accepted { b'S' } else { b'N' });
                Ok(())
            }
            BackendMessage::GssEncResponse { accepted } => {
                buf.put_u8(if *accepted { b'G' } else { b'N' });
                Ok(())
            }
            BackendMessage::Authentication(m) => m.encode(buf),
            BackendMessage::BackendKeyData(m) => m.encode(buf),
            BackendMessage::NegotiateProtocolVersion(m) => m.encode(buf),
            BackendMessage::ParameterStatus(m) => m.encode(buf),
            BackendMessage::ReadyForQuery(s) => {
                buf.put_u8(tag::READY_FOR_QUERY);
                buf.put_u32(5);
                buf.put_u8(s.byte());
                Ok(())
            }
            BackendMessage::ParseComplete => empty(buf, tag::PARSE_COMPLETE),
            BackendMessage::BindComplete => empty(buf, tag::BIND_COMPLETE),
            BackendMessage::CloseComplete => empty(buf, tag::CLOSE_COMPLETE),
            BackendMessage::NoData => empty(buf, tag::NO_DATA),
            BackendMessage::PortalSuspended => empty(buf, tag::PORTAL_SUSPENDED),
            BackendMessage::EmptyQueryResponse => empty(buf, tag::EMPTY_QUERY_RESPONSE),
            BackendMessage::ParameterDescription(m) => m.encode(buf),
            BackendMessage::RowDescription(m) => m.encode(buf),
            BackendMessage::DataRow(m) => m.encode(buf),
            BackendMessage::CommandComplete(m) => m.encode(buf),
            BackendMessage::FunctionCallResponse(m) => m.encode(buf),
            BackendMessage::ErrorResponse(m) => m.encode(buf, tag::ERROR_RESPONSE),
            BackendMessage::NoticeResponse(m) => m.encode(buf, tag::NOTICE_RESPONSE),
            BackendMessage::NotificationResponse(m) => m.encode(buf),
            BackendMessage::CopyInResponse(m) => m.encode(buf, tag::COPY_IN_RESPONSE),
            BackendMessage::CopyOutResponse(m) => m.encode(buf, tag::COPY_OUT_RESPONSE),
            BackendMessage::CopyBothResponse(m) => m.encode(buf, tag::COPY_BOTH_RESPONSE),
            BackendMessage::CopyData(m) => m.encode(buf, tag::COPY_DATA),
            BackendMessage::CopyDone => empty(buf, tag::COPY_DONE),
        }
    }

    /// Decodes one typed message body; `tag` is its type byte.
    pub(crate) fn decode(tag: u8, body: Bytes) -> Result<BackendMessage, DecodeError> {
        // The two bulk messages keep the frame whole.
        match tag {
            tag::DATA_ROW => return DataRow::decode_owned(body).map(BackendMessage::DataRow),
            tag::COPY_DATA => return Ok(BackendMessage::CopyData(CopyData { data: body })),
            _ => {}
        }
        let r = Reader::new(&body, Frame::Typed(tag));
        let empty = |m: BackendMessage| r.finish().map(|()| m);
        Ok(match tag {
            tag::AUTHENTICATION => BackendMessage::Authentication(Authentication::decode(r)?),
            tag::BACKEND_KEY_DATA => BackendMessage::BackendKeyData(BackendKeyData::decode(r)?),
            tag::NEGOTIATE_PROTOCOL_VERSION => {
                BackendMessage::NegotiateProtocolVersion(NegotiateProtocolVersion::decode(r)?)
            }
            tag::PARAMETER_STATUS => BackendMessage::ParameterStatus(ParameterStatus::decode(r)?),
            tag::READY_FOR_QUERY => {
                let mut r = r;
                let status = TransactionStatus::from_byte(r.u8("transaction status")?)?;
                r.finish()?;
                BackendMessage::ReadyForQuery(status)
            }
            tag::PARSE_COMPLETE => empty(BackendMessage::ParseComplete)?,
            tag::BIND_COMPLETE => empty(BackendMessage::BindComplete)?,
            tag::CLOSE_COMPLETE => empty(BackendMessage::CloseComplete)?,
            tag::NO_DATA => empty(BackendMessage::NoData)?,
            tag::PORTAL_SUSPENDED => empty(BackendMessage::PortalSuspended)?,
            tag::EMPTY_QUERY_RESPONSE => empty(BackendMessage::EmptyQueryResponse)?,
            tag::COPY_DONE => empty(BackendMessage::CopyDone)?,
            tag::PARAMETER_DESCRIPTION => {
                BackendMessage::ParameterDescription(ParameterDescription::decode(r)?)
            }
            tag::ROW_DESCRIPTION => BackendMessage::RowDescription(RowDescription::decode(r)?),
            tag::COMMAND_COMPLETE => BackendMessage::CommandComplete(CommandComplete::decode(r)?),
            tag::FUNCTION_CALL_RESPONSE => {
                BackendMessage::FunctionCallResponse(FunctionCallResponse::decode(r)?)
            }
            tag::ERROR_RESPONSE => BackendMessage::ErrorResponse(ErrorFields::decode(r)?),
            tag::NOTICE_RESPONSE => BackendMessage::NoticeResponse(ErrorFields::decode(r)?),
            tag::NOTIFICATION_RESPONSE => {
                BackendMessage::NotificationResponse(NotificationResponse::decode(r)?)
            }
            tag::COPY_IN_RESPONSE => BackendMessage::CopyInResponse(CopyResponse::decode(r)?),
            tag::COPY_OUT_RESPONSE => BackendMessage::CopyOutResponse(CopyResponse::decode(r)?),
            tag::COPY_BOTH_RESPONSE => BackendMessage::CopyBothResponse(CopyResponse::decode(r)?),
            tag => {
                return Err(DecodeError::UnknownMessageType {
                    direction: super::error::Direction::Backend,
                    tag,
                });
            }
        })
    }

    /// Whether `tag` is a backend message type.
    pub(crate) fn is_known_tag(tag: u8) -> bool {
        matches!(
            tag,
            b'R' | b'K'
                | b'v'
                | b'S'
                | b'Z'
                | b'1'
                | b'2'
                | b'3'
                | b'n'
                | b's'
                | b'I'
                | b't'
                | b'T'
                | b'D'
                | b'C'
                | b'V'
                | b'E'
                | b'N'
                | b'A'
                | b'G'
                | b'H'
                | b'W'
                | b'd'
                | b'c'
        )
    }
}

/// `K`: the process id and secret key a client needs to cancel this session's queries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendKeyData {
    /// The backend's process id.
    pub process_id: i32,
    /// The secret key: 4 bytes under protocol 3.0, up to 256 under 3.2 (32 from PostgreSQL 18).
    pub secret_key: Bytes,
}

impl BackendKeyData {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<BackendKeyData, DecodeError> {
        let process_id = r.i32("process id")?;
        let length = r.remaining();
        if !CANCEL_KEY_LEN.contains(&length) {
            return Err(DecodeError::InvalidCancelKeyLength {
                frame: r.frame(),
                length,
            });
        }
        Ok(BackendKeyData {
            process_id,
            secret_key: r.rest(),
        })
    }

    /// Writes a BackendKeyData from borrowed parts.
    pub fn write(
        buf: &mut BytesMut,
        process_id: i32,
        secret_key: &[u8],
    ) -> Result<(), EncodeError> {
        if !CANCEL_KEY_LEN.contains(&secret_key.len()) {
            return Err(EncodeError::InvalidCancelKeyLength {
                length: secret_key.len(),
            });
        }
        writer::frame(buf, Some(tag::BACKEND_KEY_DATA), |buf| {
            buf.put_i32(process_id);
            buf.put_slice(secret_key);
            Ok(())
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        BackendKeyData::write(buf, self.process_id, &self.secret_key)
    }
}

/// `v`: the protocol version the server will speak (the newest it supports, no newer than the
/// one asked for) and the `_pq_.` options it did not recognise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NegotiateProtocolVersion {
    /// The version the session continues with.
    pub version: ProtocolVersion,
    options: Bytes,
    count: u32,
}

impl NegotiateProtocolVersion {
    /// Builds the message.
    pub fn new<I, S>(
        version: ProtocolVersion,
        unrecognized: I,
    ) -> Result<NegotiateProtocolVersion, EncodeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        let mut count = 0u32;
        for o in unrecognized {
            writer::cstr(&mut buf, o.as_ref(), "option name")?;
            count += 1;
        }
        Ok(NegotiateProtocolVersion {
            version,
            options: buf.freeze(),
            count,
        })
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<NegotiateProtocolVersion, DecodeError> {
        let version = ProtocolVersion::from_code(r.u32("protocol version")?);
        let n = r.i32("option count")?;
        if n < 0 {
            return Err(DecodeError::InvalidLength {
                frame: r.frame(),
                field: "option count",
                length: n,
            });
        }
        let start = r.pos();
        for _ in 0..n {
            r.cstr_range("option name")?;
        }
        r.finish()?;
        Ok(NegotiateProtocolVersion {
            version,
            options: r.slice(start..r.pos()),
            count: n as u32,
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::NEGOTIATE_PROTOCOL_VERSION), |buf| {
            buf.put_u32(self.version.code());
            buf.put_u32(self.count);
            buf.put_slice(&self.options);
            Ok(())
        })
    }

    /// The options the server did not recognise.
    pub fn unrecognized_options(&self) -> impl Iterator<Item = &[u8]> {
        self.options.split(|&b| b == 0).take(self.count as usize)
    }
}

impl fmt::Debug for NegotiateProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NegotiateProtocolVersion")
            .field("version", &self.version)
            .field(
                "unrecognized_options",
                &self
                    .unrecognized_options()
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// `S`: the current value of a run-time parameter the client should know about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParameterStatus {
    /// Parameter name.
    pub name: PgStr,
    /// Its value.
    pub value: PgStr,
}

impl ParameterStatus {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<ParameterStatus, DecodeError> {
        let name = r.cstr("parameter name")?;
        let value = r.cstr("parameter value")?;
        r.finish()?;
        Ok(ParameterStatus { name, value })
    }

    /// Writes a ParameterStatus from borrowed parts.
    pub fn write(buf: &mut BytesMut, name: &str, value: &str) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::PARAMETER_STATUS), |buf| {
            writer::cstr(buf, name.as_bytes(), "parameter name")?;
            writer::cstr(buf, value.as_bytes(), "parameter value")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::PARAMETER_STATUS), |buf| {
            writer::cstr(buf, self.name.as_bytes(), "parameter name")?;
            writer::cstr(buf, self.value.as_bytes(), "parameter value")
        })
    }
}

/// The transaction status in ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block; statements are rejected until it ends.
    Failed,
}

impl TransactionStatus {
    fn from_byte(b: u8) -> Result<TransactionStatus, DecodeError> {
        match b {
            b'I' => Ok(TransactionStatus::Idle),
            b'T' => Ok(TransactionStatus::InTransaction),
            b'E' => Ok(TransactionStatus::Failed),
            status => Err(DecodeError::InvalidTransactionStatus { status }),
        }
    }

    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }
}

/// `C`: a statement finished; the tag names the command and, for most, the rows affected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandComplete {
    /// The command tag, such as `SELECT 3`, `INSERT 0 5` or `CREATE TABLE`.
    pub tag: PgStr,
}

impl CommandComplete {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<CommandComplete, DecodeError> {
        let tag = r.cstr("command tag")?;
        r.finish()?;
        Ok(CommandComplete { tag })
    }

    /// Writes a CommandComplete from a borrowed tag.
    pub fn write(buf: &mut BytesMut, tag: &str) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::COMMAND_COMPLETE), |buf| {
            writer::cstr(buf, tag.as_bytes(), "command tag")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::COMMAND_COMPLETE), |buf| {
            writer::cstr(buf, self.tag.as_bytes(), "command tag")
        })
    }

    /// The command word(s) without the counts (`INSERT`, `CREATE TABLE`).
    pub fn command(&self) -> &[u8] {
        let t = self.tag.as_bytes();
        let end = t
            .iter()
            .rposition(|b| !(b.is_ascii_digit() || *b == b' '))
            .map_or(0, |i| i + 1);
        &t[..end]
    }

    /// The row count for the commands that report one (SELECT, INSERT, UPDATE, DELETE, MERGE,
    /// FETCH, MOVE, COPY): the last number of the tag.
    pub fn rows(&self) -> Option<u64> {
        let cmd = self.command();
        if !matches!(
            cmd,
            b"SELECT" | b"INSERT" | b"UPDATE" | b"DELETE" | b"MERGE" | b"FETCH" | b"MOVE" | b"COPY"
        ) {
            return None;
        }
        let last = self.tag.as_bytes().rsplit(|&b| b == b' ').next()?;
        core::str::from_utf8(last).ok()?.parse().ok()
    }
}

/// `A`: a notification on a channel this session LISTENs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotificationResponse {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel.
    pub channel: PgStr,
    /// The payload (empty when none was given).
    pub payload: PgStr,
}

impl NotificationResponse {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<NotificationResponse, DecodeError> {
        let process_id = r.i32("process id")?;
        let channel = r.cstr("channel")?;
        let payload = r.cstr("payload")?;
        r.finish()?;
        Ok(NotificationResponse {
            process_id,
            channel,
            payload,
        })
    }

    /// Writes a NotificationResponse from borrowed parts.
    pub fn write(
        buf: &mut BytesMut,
        process_id: i32,
        channel: &str,
        payload: &str,
    ) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::NOTIFICATION_RESPONSE), |buf| {
            buf.put_i32(process_id);
            writer::cstr(buf, channel.as_bytes(), "channel")?;
            writer::cstr(buf, payload.as_bytes(), "payload")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::NOTIFICATION_RESPONSE), |buf| {
            buf.put_i32(self.process_id);
            writer::cstr(buf, self.channel.as_bytes(), "channel")?;
            writer::cstr(buf, self.payload.as_bytes(), "payload")
        })
    }
}
