//! Messages a client sends: the `FrontendMessage` enum, and the simple and extended query
//! messages (Query, Parse, Bind, Execute, Describe, Close).

use bytes::{BufMut, Bytes, BytesMut};

use super::auth::{GssResponse, PasswordMessage, SaslInitialResponse, SaslResponse};
use super::copy::{CopyData, CopyFail};
use super::error::{DecodeError, EncodeError, Frame};
use super::function::FunctionCall;
use super::lists::{
    Formats, FormatsRef, Oids, OidsRef, ValueListFields, Values, ValuesRef, read_formatted_values,
};
use super::pgstr::PgStr;
use super::reader::Reader;
use super::startup::{self, CancelRequest, StartupMessage};
use super::writer;

/// Frontend type bytes.
pub mod tag {
    /// Query
    pub const QUERY: u8 = b'Q';
    /// Parse
    pub const PARSE: u8 = b'P';
    /// Bind
    pub const BIND: u8 = b'B';
    /// Execute
    pub const EXECUTE: u8 = b'E';
    /// Describe
    pub const DESCRIBE: u8 = b'D';
    /// Close
    pub const CLOSE: u8 = b'C';
    /// Flush
    pub const FLUSH: u8 = b'H';
    /// Sync
    pub const SYNC: u8 = b'S';
    /// FunctionCall
    pub const FUNCTION_CALL: u8 = b'F';
    /// Terminate
    pub const TERMINATE: u8 = b'X';
    /// CopyData
    pub const COPY_DATA: u8 = b'd';
    /// CopyDone
    pub const COPY_DONE: u8 = b'c';
    /// CopyFail
    pub const COPY_FAIL: u8 = b'f';
    /// PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse (which one depends on the
    /// authentication in progress).
    pub const PASSWORD: u8 = b'p';
}

/// A message from client to server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrontendMessage {
    /// StartupMessage (startup phase).
    Startup(StartupMessage),
    /// SSLRequest (startup phase).
    SslRequest,
    /// GSSENCRequest (startup phase).
    GssEncRequest,
    /// CancelRequest (startup phase of a new connection).
    CancelRequest(CancelRequest),
    /// `Q`: a simple query.
    Query(Query),
    /// `P`: prepare a statement.
    Parse(Parse),
    /// `B`: bind parameters to a statement, making a portal.
    Bind(Bind),
    /// `E`: run a portal.
    Execute(Execute),
    /// `D`: describe a statement or portal.
    Describe(Describe),
    /// `C`: close a statement or portal.
    Close(Close),
    /// `H`: send what is buffered.
    Flush,
    /// `S`: end of an extended-query batch.
    Sync,
    /// `F`: call a function by OID.
    FunctionCall(FunctionCall),
    /// `X`: the client is leaving.
    Terminate,
    /// `d`: COPY data.
    CopyData(CopyData),
    /// `c`: end of COPY data.
    CopyDone,
    /// `f`: the client aborts a COPY FROM STDIN.
    CopyFail(CopyFail),
    /// `p` in answer to a cleartext or MD5 password request.
    Password(PasswordMessage),
    /// `p` opening a SASL exchange.
    SaslInitialResponse(SaslInitialResponse),
    /// `p` continuing a SASL exchange.
    SaslResponse(SaslResponse),
    /// `p` carrying a GSSAPI or SSPI token.
    GssResponse(GssResponse),
}

impl FrontendMessage {
    /// Appends the message in wire form to `buf`. On error `buf` is unchanged.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            FrontendMessage::Startup(m) => m.encode(buf),
            FrontendMessage::SslRequest => {
                startup::write_request_code(buf, startup::SSL_REQUEST_CODE);
                Ok(())
            }
            FrontendMessage::GssEncRequest => {
                startup::write_request_code(buf, startup::GSSENC_REQUEST_CODE);
                Ok(())
            }
            FrontendMessage::CancelRequest(m) => m.encode(buf),
            FrontendMessage::Query(m) => m.encode(buf),
            FrontendMessage::Parse(m) => m.encode(buf),
            FrontendMessage::Bind(m) => m.encode(buf),
            FrontendMessage::Execute(m) => m.encode(buf),
            FrontendMessage::Describe(m) => m.encode(buf),
            FrontendMessage::Close(m) => m.encode(buf),
            FrontendMessage::Flush => {
                writer::empty_frame(buf, tag::FLUSH);
                Ok(())
            }
            FrontendMessage::Sync => {
                writer::empty_frame(buf, tag::SYNC);
                Ok(())
            }
            FrontendMessage::FunctionCall(m) => m.encode(buf),
            FrontendMessage::Terminate => {
                writer::empty_frame(buf, tag::TERMINATE);
                Ok(())
            }
            FrontendMessage::CopyData(m) => m.encode(buf, tag::COPY_DATA),
            FrontendMessage::CopyDone => {
                writer::empty_frame(buf, tag::COPY_DONE);
                Ok(())
            }
            FrontendMessage::CopyFail(m) => m.encode(buf),
            FrontendMessage::Password(m) => m.encode(buf),
            FrontendMessage::SaslInitialResponse(m) => m.encode(buf),
            FrontendMessage::SaslResponse(m) => m.encode(buf),
            FrontendMessage::GssResponse(m) => m.encode(buf),
        }
    }

    /// The type byte this message is sent with; `None` for startup-phase packets.
    pub fn tag(&self) -> Option<u8> {
        Some(match self {
            FrontendMessage::Startup(_)
            | FrontendMessage::SslRequest
            | FrontendMessage::GssEncRequest
            | FrontendMessage::CancelRequest(_) => return None,
            FrontendMessage::Query(_) => tag::QUERY,
            FrontendMessage::Parse(_) => tag::PARSE,
            FrontendMessage::Bind(_) => tag::BIND,
            FrontendMessage::Execute(_) => tag::EXECUTE,
            FrontendMessage::Describe(_) => tag::DESCRIBE,
            FrontendMessage::Close(_) => tag::CLOSE,
            FrontendMessage::Flush => tag::FLUSH,
            FrontendMessage::Sync => tag::SYNC,
            FrontendMessage::FunctionCall(_) => tag::FUNCTION_CALL,
            FrontendMessage::Terminate => tag::TERMINATE,
            FrontendMessage::CopyData(_) => tag::COPY_DATA,
            FrontendMessage::CopyDone => tag::COPY_DONE,
            FrontendMessage::CopyFail(_) => tag::COPY_FAIL,
            FrontendMessage::Password(_)
            | FrontendMessage::SaslInitialResponse(_)
            | FrontendMessage::SaslResponse(_)
            | FrontendMessage::GssResponse(_) => tag::PASSWORD,
        })
    }
}

/// `Q`: a simple query, one or more statements separated by semicolons.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The query string.
    pub sql: PgStr,
}

impl Query {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Query, DecodeError> {
        let sql = r.cstr("query string")?;
        r.finish()?;
        Ok(Query { sql })
    }

    /// Writes a Query from a borrowed string.
    pub fn write(buf: &mut BytesMut, sql: &str) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::QUERY), |buf| {
            writer::cstr(buf, sql.as_bytes(), "query string")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::QUERY), |buf| {
            buf.put_slice(self.sql.as_bytes());
            buf.put_u8(0);
            Ok(())
        })
    }
}

/// `P`: prepare a statement under a name (empty for the unnamed statement), optionally fixing
/// some parameter types (OID 0 leaves a type unspecified).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parse {
    /// The statement name.
    pub name: PgStr,
    /// The query text (one statement).
    pub query: PgStr,
    /// Parameter type OIDs, possibly fewer than the query's parameters.
    pub param_types: Oids,
}

impl Parse {
    /// Builds a Parse message.
    pub fn new(name: &str, query: &str, param_types: &[u32]) -> Result<Parse, EncodeError> {
        let mut buf = BytesMut::new();
        Parse::write(&mut buf, name, query, param_types)?;
        decode_built(buf, Parse::decode)
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Parse, DecodeError> {
        let m = ParseRef::read(&mut r)?;
        Ok(Parse {
            name: PgStr::from_bytes_unchecked(r.share(m.name)),
            query: PgStr::from_bytes_unchecked(r.share(m.query)),
            param_types: Oids::from_bytes(r.share(m.param_types.raw())),
        })
    }

    /// Writes a Parse from borrowed parts.
    pub fn write(
        buf: &mut BytesMut,
        name: &str,
        query: &str,
        param_types: &[u32],
    ) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::PARSE), |buf| {
            writer::cstr(buf, name.as_bytes(), "statement name")?;
            writer::cstr(buf, query.as_bytes(), "query string")?;
            Oids::write(buf, param_types, "parameter types")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::PARSE), |buf| {
            writer::cstr(buf, self.name.as_bytes(), "statement name")?;
            writer::cstr(buf, self.query.as_bytes(), "query string")?;
            self.param_types.put_raw(buf);
            Ok(())
        })
    }
}

/// A Parse borrowed from its frame (see [`FrontendView`](super::FrontendView)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseRef<'a> {
    /// The statement name.
    pub name: &'a [u8],
    /// The query text.
    pub query: &'a [u8],
    /// Parameter type OIDs.
    pub param_types: OidsRef<'a>,
}

impl<'a> ParseRef<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<ParseRef<'a>, DecodeError> {
        let name = r.cstr_slice("statement name")?;
        let query = r.cstr_slice("query string")?;
        let n = r.u16("parameter type count")?;
        let param_types = OidsRef::read(r, n as usize, "parameter types")?;
        r.finish()?;
        Ok(ParseRef {
            name,
            query,
            param_types,
        })
    }
}

/// A Bind borrowed from its frame (see [`FrontendView`](super::FrontendView)); checked as
/// [`Bind`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindRef<'a> {
    /// The portal name.
    pub portal: &'a [u8],
    /// The statement name.
    pub statement: &'a [u8],
    /// Parameter format codes.
    pub param_formats: FormatsRef<'a>,
    /// Parameter values; `None` is NULL.
    pub params: ValuesRef<'a>,
    /// Result column format codes.
    pub result_formats: FormatsRef<'a>,
}

impl<'a> BindRef<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<BindRef<'a>, DecodeError> {
        let portal = r.cstr_slice("portal name")?;
        let statement = r.cstr_slice("statement name")?;
        let (param_formats, params) = read_formatted_values(
            r,
            ValueListFields {
                format_count: "parameter format count",
                formats: "parameter formats",
                count: "parameter count",
                value: "parameter value",
            },
        )?;
        let nr = r.u16("result format count")?;
        let result_formats = FormatsRef::read(r, nr as usize, "result formats")?;
        r.finish()?;
        Ok(BindRef {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        })
    }
}

/// An Execute borrowed from its frame (see [`FrontendView`](super::FrontendView)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExecuteRef<'a> {
    /// The portal name.
    pub portal: &'a [u8],
    /// Row limit; below 1 means no limit.
    pub max_rows: i32,
}

impl<'a> ExecuteRef<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<ExecuteRef<'a>, DecodeError> {
        let portal = r.cstr_slice("portal name")?;
        let max_rows = r.i32("row limit")?;
        r.finish()?;
        Ok(ExecuteRef { portal, max_rows })
    }
}

/// `B`: bind parameter values to a prepared statement, creating a portal.
///
/// Parameter format codes number 0 (all text), 1 (one for all) or one per parameter; decoding
/// checks this rule, as PostgreSQL does. Result format codes are checked against the
/// statement's columns later, by the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bind {
    /// The portal name (empty for the unnamed portal).
    pub portal: PgStr,
    /// The statement name (empty for the unnamed statement).
    pub statement: PgStr,
    /// Parameter format codes.
    pub param_formats: Formats,
    /// Parameter values; `None` is NULL.
    pub params: Values,
    /// Result column format codes.
    pub result_formats: Formats,
}

impl Bind {
    /// Builds a Bind message.
    pub fn new(
        portal: &str,
        statement: &str,
        param_formats: &[i16],
        params: &[Option<&[u8]>],
        result_formats: &[i16],
    ) -> Result<Bind, EncodeError> {
        let mut buf = BytesMut::new();
        Bind::write(
            &mut buf,
            portal,
            statement,
            param_formats,
            params.iter().copied(),
            result_formats,
        )?;
        decode_built(buf, Bind::decode)
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Bind, DecodeError> {
        let m = BindRef::read(&mut r)?;
        Ok(Bind {
            portal: PgStr::from_bytes_unchecked(r.share(m.portal)),
            statement: PgStr::from_bytes_unchecked(r.share(m.statement)),
            param_formats: Formats::from_bytes(r.share(m.param_formats.raw())),
            params: Values::from_bytes(r.share(m.params.raw()), m.params.len() as u16),
            result_formats: Formats::from_bytes(r.share(m.result_formats.raw())),
        })
    }

    /// Writes a Bind from borrowed parts, without building the value first: the path a client
    /// takes for every execution of a prepared statement.
    pub fn write<'v, I>(
        buf: &mut BytesMut,
        portal: &str,
        statement: &str,
        param_formats: &[i16],
        params: I,
        result_formats: &[i16],
    ) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        let params = params.into_iter();
        let np = params.len();
        if param_formats.len() > 1 && param_formats.len() != np {
            return Err(EncodeError::CountMismatch {
                field: "parameter formats",
                count: param_formats.len(),
                expected: np,
            });
        }
        writer::frame(buf, Some(tag::BIND), |buf| {
            writer::cstr(buf, portal.as_bytes(), "portal name")?;
            writer::cstr(buf, statement.as_bytes(), "statement name")?;
            Formats::write(buf, param_formats, "parameter formats")?;
            Values::write(buf, params, "parameter values")?;
            Formats::write(buf, result_formats, "result formats")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::BIND), |buf| {
            writer::cstr(buf, self.portal.as_bytes(), "portal name")?;
            writer::cstr(buf, self.statement.as_bytes(), "statement name")?;
            let np = self.params.len();
            let nf = self.param_formats.len();
            if nf > 1 && nf != np {
                return Err(EncodeError::CountMismatch {
                    field: "parameter formats",
                    count: nf,
                    expected: np,
                });
            }
            self.param_formats.put_raw(buf);
            self.params.put_raw(buf);
            self.result_formats.put_raw(buf);
            Ok(())
        })
    }
}

/// `E`: run a portal, returning at most `max_rows` rows (0 for all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Execute {
    /// The portal name.
    pub portal: PgStr,
    /// Row limit; zero (or, as PostgreSQL reads it, any value below 1) means no limit.
    pub max_rows: i32,
}

impl Execute {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Execute, DecodeError> {
        let m = ExecuteRef::read(&mut r)?;
        Ok(Execute {
            portal: PgStr::from_bytes_unchecked(r.share(m.portal)),
            max_rows: m.max_rows,
        })
    }

    /// Writes an Execute from borrowed parts.
    pub fn write(buf: &mut BytesMut, portal: &str, max_rows: i32) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::EXECUTE), |buf| {
            writer::cstr(buf, portal.as_bytes(), "portal name")?;
            buf.put_i32(max_rows);
            Ok(())
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(tag::EXECUTE), |buf| {
            writer::cstr(buf, self.portal.as_bytes(), "portal name")?;
            buf.put_i32(self.max_rows);
            Ok(())
        })
    }
}

/// What a Describe or Close names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A prepared statement (`S`).
    Statement,
    /// A portal (`P`).
    Portal,
}

impl Target {
    fn from_byte(frame: Frame, b: u8) -> Result<Target, DecodeError> {
        match b {
            b'S' => Ok(Target::Statement),
            b'P' => Ok(Target::Portal),
            target => Err(DecodeError::InvalidTarget { frame, target }),
        }
    }

    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            Target::Statement => b'S',
            Target::Portal => b'P',
        }
    }
}

/// `D`: ask for the description of a statement (parameters and columns) or portal (columns).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Describe {
    /// Statement or portal.
    pub target: Target,
    /// Its name.
    pub name: PgStr,
}

/// `C`: close a statement or portal. Closing a name that does not exist is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Close {
    /// Statement or portal.
    pub target: Target,
    /// Its name.
    pub name: PgStr,
}

/// A Describe borrowed from its frame (see [`FrontendView`](super::FrontendView)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DescribeRef<'a> {
    /// Statement or portal.
    pub target: Target,
    /// Its name.
    pub name: &'a [u8],
}

/// A Close borrowed from its frame (see [`FrontendView`](super::FrontendView)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseRef<'a> {
    /// Statement or portal.
    pub target: Target,
    /// Its name.
    pub name: &'a [u8],
}

macro_rules! target_message {
    ($ty:ident, $borrowed:ident, $tag:expr) => {
        impl<'a> $borrowed<'a> {
            pub(crate) fn read(r: &mut Reader<'a>) -> Result<$borrowed<'a>, DecodeError> {
                let target = Target::from_byte(r.frame(), r.u8("target")?)?;
                let name = r.cstr_slice("name")?;
                r.finish()?;
                Ok($borrowed { target, name })
            }
        }

        impl $ty {
            pub(crate) fn decode(mut r: Reader<'_>) -> Result<$ty, DecodeError> {
                let m = $borrowed::read(&mut r)?;
                Ok($ty {
                    target: m.target,
                    name: PgStr::from_bytes_unchecked(r.share(m.name)),
                })
            }

            /// Writes the message from borrowed parts.
            pub fn write(
                buf: &mut BytesMut,
                target: Target,
                name: &str,
            ) -> Result<(), EncodeError> {
                writer::frame(buf, Some($tag), |buf| {
                    buf.put_u8(target.byte());
                    writer::cstr(buf, name.as_bytes(), "name")
                })
            }

            /// Appends the message to `buf`.
            pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
                writer::frame(buf, Some($tag), |buf| {
                    buf.put_u8(self.target.byte());
                    writer::cstr(buf, self.name.as_bytes(), "name")
                })
            }
        }
    };
}

target_message!(Describe, DescribeRef, tag::DESCRIBE);
target_message!(Close, CloseRef, tag::CLOSE);

/// Decodes the body of a frame that a constructor just wrote (skipping its 5-byte header).
pub(crate) fn decode_built<T>(
    buf: BytesMut,
    decode: impl FnOnce(Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, EncodeError> {
    let frame = buf.freeze();
    let tag = frame.first().copied().unwrap_or(0);
    let body: Bytes = frame.slice(5..);
    // A value we just encoded always decodes; report the impossible case as a length error
    // rather than panicking.
    decode(Reader::new(&body, Frame::Typed(tag))).map_err(|_| EncodeError::TooLong {
        field: "message",
        length: body.len(),
    })
}
