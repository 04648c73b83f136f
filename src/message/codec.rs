//! Streaming frame decoders for each direction. They split complete frames off the caller's
//! input buffer (no copy), enforce size limits before anything is buffered beyond what the
//! caller already holds, and say "need more bytes" with `Ok(None)` (`decode`) or with an empty
//! run and `bytes_needed() > 0` (`split_frames`).

use bytes::{Buf, Bytes, BytesMut};

use super::auth::{GssResponse, PasswordMessage, SaslInitialResponse, SaslResponse, TAG_PASSWORD};
use super::backend::BackendMessage;
use super::copy::{CopyData, CopyFail};
use super::error::{DecodeError, Direction, Frame};
use super::frames::{BackendFrames, FrontendFrames};
use super::frontend::{Bind, Close, Describe, Execute, FrontendMessage, Parse, Query, tag};
use super::function::FunctionCall;
use super::reader::Reader;
use super::startup::{
    CANCEL_REQUEST_CODE, CancelRequest, GSSENC_REQUEST_CODE, ProtocolVersion, SSL_REQUEST_CODE,
    StartupMessage,
};

/// Size limits for messages from clients. The defaults are PostgreSQL's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontendLimits {
    /// Largest startup packet payload (the length word not counted): 10000.
    pub startup: u32,
    /// Largest length word of the small message types (C D E H S X c f): 10000.
    pub small: u32,
    /// Largest length word of Query, FunctionCall, Parse, Bind and CopyData: 0x3FFF_FFFE.
    pub large: u32,
    /// Largest length word of a password or SASL/GSS message (`p`): 65535.
    pub auth: u32,
}

impl Default for FrontendLimits {
    fn default() -> FrontendLimits {
        FrontendLimits {
            startup: 10_000,
            small: 10_000,
            large: 0x3FFF_FFFE,
            auth: 65_535,
        }
    }
}

/// Size limits for messages from servers. The defaults are libpq's: it treats any message over
/// 30000 bytes as a lost connection, except T D d V E N A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendLimits {
    /// Largest length word of the types not listed under `large`: 30000.
    pub small: u32,
    /// Largest length word of RowDescription, DataRow, CopyData, FunctionCallResponse,
    /// ErrorResponse, NoticeResponse and NotificationResponse: 0x3FFF_FFFF.
    pub large: u32,
}

impl Default for BackendLimits {
    fn default() -> BackendLimits {
        BackendLimits {
            small: 30_000,
            large: 0x3FFF_FFFF,
        }
    }
}

/// What the frontend decoder expects next. The state machine sets the authentication phases;
/// the decoder itself moves from `Startup` to `Normal` after a StartupMessage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrontendPhase {
    /// Untyped startup-phase packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
    Startup,
    /// Typed messages; `p` is a PasswordMessage (cleartext or MD5 requested).
    Password,
    /// Typed messages; `p` is a SASLInitialResponse.
    SaslInitialResponse,
    /// Typed messages; `p` is a SASLResponse.
    SaslResponse,
    /// Typed messages; `p` is a GSSResponse.
    GssResponse,
    /// Typed messages; `p` is not expected and is an unknown type, as in PostgreSQL.
    Normal,
}

/// What the backend decoder expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendPhase {
    /// The one-byte answer to SSLRequest (`S`, `N`, or an ErrorResponse from a server that
    /// does not understand the request). Exactly one byte is consumed.
    SslResponse,
    /// The one-byte answer to GSSENCRequest (`G`, `N`, or an ErrorResponse).
    GssEncResponse,
    /// Typed messages.
    Normal,
}

/// Splits client bytes into [`FrontendMessage`]s; the server side's decoder.
///
/// ```
/// use bytes::BytesMut;
/// use pgproto::message::{FrontendDecoder, FrontendMessage};
///
/// let mut dec = FrontendDecoder::new();
/// let mut input = BytesMut::from(&b"\0\0\0\x08\x04\xd2\x16\x2f"[..]); // SSLRequest
/// assert_eq!(dec.decode(&mut input).unwrap(), Some(FrontendMessage::SslRequest));
/// assert_eq!(dec.decode(&mut input).unwrap(), None); // need more bytes
/// ```
#[derive(Debug, Clone)]
pub struct FrontendDecoder {
    phase: FrontendPhase,
    limits: FrontendLimits,
    need: usize,
    failed: Option<DecodeError>,
}

impl Default for FrontendDecoder {
    fn default() -> FrontendDecoder {
        FrontendDecoder::new()
    }
}

impl FrontendDecoder {
    /// A decoder at the start of a connection, with PostgreSQL's limits.
    pub fn new() -> FrontendDecoder {
        FrontendDecoder::with_limits(FrontendLimits::default())
    }

    /// A decoder at the start of a connection, with these limits.
    pub fn with_limits(limits: FrontendLimits) -> FrontendDecoder {
        FrontendDecoder {
            phase: FrontendPhase::Startup,
            limits,
            need: 0,
            failed: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> FrontendPhase {
        self.phase
    }

    /// Sets the phase: the state machine does this when it sends an authentication request.
    pub fn set_phase(&mut self, phase: FrontendPhase) {
        self.phase = phase;
        self.need = 0;
    }

    /// The limits in force.
    pub fn limits(&self) -> FrontendLimits {
        self.limits
    }

    /// How many bytes the input must hold before the next call can make progress (0 when any
    /// amount may). The declared length has been checked against the limits, so this is
    /// bounded; nothing is reserved for it.
    pub fn bytes_needed(&self) -> usize {
        self.need
    }

    /// Decodes the next message from the front of `src`, removing its bytes.
    ///
    /// `Ok(None)` means `src` holds no complete message yet. After an error that is not
    /// [recoverable](DecodeError::is_recoverable), every later call returns the same error.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<FrontendMessage>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if src.len() < self.need {
            return Ok(None);
        }
        let result = match self.phase {
            FrontendPhase::Startup => self.decode_startup(src),
            phase => self.decode_typed(src, phase),
        };
        stick(&mut self.failed, result)
    }

    fn decode_startup(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<FrontendMessage>, DecodeError> {
        let Some(len) = src.first_chunk::<4>().map(|b| i32::from_be_bytes(*b)) else {
            self.need = 4;
            return Ok(None);
        };
        if len < 8 {
            return Err(DecodeError::LengthTooSmall {
                frame: Frame::Startup,
                length: len,
            });
        }
        let payload = len as u32 - 4;
        if payload > self.limits.startup {
            return Err(DecodeError::LengthTooLarge {
                frame: Frame::Startup,
                length: payload,
                limit: self.limits.startup,
            });
        }
        let total = len as usize;
        if src.len() < total {
            self.need = total;
            return Ok(None);
        }
        self.need = 0;
        let mut frame = src.split_to(total);
        frame.advance(4);
        let body = frame.freeze();
        let mut r = Reader::new(&body, Frame::Startup);
        let code = r.u32("request code")?;
        Ok(Some(match code {
            SSL_REQUEST_CODE => FrontendMessage::SslRequest,
            GSSENC_REQUEST_CODE => FrontendMessage::GssEncRequest,
            CANCEL_REQUEST_CODE => FrontendMessage::CancelRequest(CancelRequest::decode(r)?),
            code => {
                let version = ProtocolVersion::from_code(code);
                if version.major != 3 {
                    return Err(DecodeError::UnsupportedProtocolVersion {
                        major: version.major,
                        minor: version.minor,
                    });
                }
                let m = StartupMessage::decode(version, body.slice(4..))?;
                self.phase = FrontendPhase::Normal;
                FrontendMessage::Startup(m)
            }
        }))
    }

    fn decode_typed(
        &mut self,
        src: &mut BytesMut,
        phase: FrontendPhase,
    ) -> Result<Option<FrontendMessage>, DecodeError> {
        let Some(&t) = src.first() else {
            self.need = 1;
            return Ok(None);
        };
        let limit = frontend_limit(&self.limits, t, phase)?;
        let Some(body) = split_typed(src, limit, &mut self.need)? else {
            return Ok(None);
        };
        decode_frontend_body(t, body, phase).map(Some)
    }

    /// Splits off every complete message at the front of `src` at once, as one shared buffer
    /// read in place: the fast path for a server's extended-query traffic (no reference count
    /// per message, borrowed [`FrontendView`]s). The framing is checked as [`decode`] checks
    /// it; a body is checked when its frame is viewed or decoded.
    ///
    /// Only in the [`Normal`](FrontendPhase::Normal) phase: in the others it returns no frames
    /// and [`decode`] must be used. The run stops before a frame with an invalid header, whose
    /// error the next call returns. An empty run with `bytes_needed() > 0` means "read more".
    ///
    /// [`decode`]: FrontendDecoder::decode
    /// [`FrontendView`]: super::FrontendView
    pub fn split_frames(&mut self, src: &mut BytesMut) -> Result<FrontendFrames, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.phase != FrontendPhase::Normal {
            // Not "read more": the input may already hold what `decode` needs.
            self.need = 0;
            return Ok(FrontendFrames::new(Bytes::new()));
        }
        let limits = self.limits;
        let run = split_run(src, &mut self.need, |t| {
            frontend_limit(&limits, t, FrontendPhase::Normal)
        });
        stick(&mut self.failed, run).map(FrontendFrames::new)
    }
}

/// Remembers a fatal error so that every later call returns it.
fn stick<T>(
    failed: &mut Option<DecodeError>,
    result: Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    if let Err(e) = &result
        && !e.is_recoverable()
    {
        *failed = Some(e.clone());
    }
    result
}

/// The length limit for a typed frontend message, or the error for an unknown type.
fn frontend_limit(
    limits: &FrontendLimits,
    t: u8,
    phase: FrontendPhase,
) -> Result<u32, DecodeError> {
    Ok(match t {
        tag::QUERY | tag::FUNCTION_CALL | tag::PARSE | tag::BIND | tag::COPY_DATA => limits.large,
        tag::CLOSE
        | tag::DESCRIBE
        | tag::EXECUTE
        | tag::FLUSH
        | tag::SYNC
        | tag::TERMINATE
        | tag::COPY_DONE
        | tag::COPY_FAIL => limits.small,
        TAG_PASSWORD if phase != FrontendPhase::Normal => limits.auth,
        tag => {
            return Err(DecodeError::UnknownMessageType {
                direction: Direction::Frontend,
                tag,
            });
        }
    })
}

/// Decodes the body of a typed frontend frame whose header was checked.
pub(super) fn decode_frontend_body(
    t: u8,
    body: Bytes,
    phase: FrontendPhase,
) -> Result<FrontendMessage, DecodeError> {
    if t == tag::COPY_DATA {
        return Ok(FrontendMessage::CopyData(CopyData { data: body }));
    }
    let r = Reader::new(&body, Frame::Typed(t));
    Ok(match t {
        tag::QUERY => FrontendMessage::Query(Query::decode(r)?),
        tag::PARSE => FrontendMessage::Parse(Parse::decode(r)?),
        tag::BIND => FrontendMessage::Bind(Bind::decode(r)?),
        tag::EXECUTE => FrontendMessage::Execute(Execute::decode(r)?),
        tag::DESCRIBE => FrontendMessage::Describe(Describe::decode(r)?),
        tag::CLOSE => FrontendMessage::Close(Close::decode(r)?),
        tag::FUNCTION_CALL => FrontendMessage::FunctionCall(FunctionCall::decode(r)?),
        tag::COPY_FAIL => FrontendMessage::CopyFail(CopyFail::decode(r)?),
        tag::FLUSH => empty(r, FrontendMessage::Flush)?,
        tag::SYNC => empty(r, FrontendMessage::Sync)?,
        // PostgreSQL reads no body for these two and ignores any bytes sent with them.
        tag::TERMINATE => FrontendMessage::Terminate,
        tag::COPY_DONE => FrontendMessage::CopyDone,
        _ => match phase {
            FrontendPhase::Password => FrontendMessage::Password(PasswordMessage::decode(r)?),
            FrontendPhase::SaslInitialResponse => {
                FrontendMessage::SaslInitialResponse(SaslInitialResponse::decode(r)?)
            }
            FrontendPhase::SaslResponse => FrontendMessage::SaslResponse(SaslResponse::decode(r)?),
            _ => FrontendMessage::GssResponse(GssResponse::decode(r)?),
        },
    })
}

pub(super) fn empty<M>(r: Reader<'_>, m: M) -> Result<M, DecodeError> {
    r.finish().map(|()| m)
}

/// Splits one typed frame off `src` and returns its body, or `None` (setting `need`) when the
/// frame is incomplete. The type byte has been validated by the caller.
fn split_typed(
    src: &mut BytesMut,
    limit: u32,
    need: &mut usize,
) -> Result<Option<Bytes>, DecodeError> {
    let Some(header) = src.first_chunk::<5>() else {
        *need = 5;
        return Ok(None);
    };
    let total = frame_size(header, limit)?;
    if src.len() < total {
        *need = total;
        return Ok(None);
    }
    *need = 0;
    let mut frame = src.split_to(total);
    frame.advance(5);
    Ok(Some(frame.freeze()))
}

/// The whole size of a typed frame (type byte and length word included), from its header.
#[inline]
fn frame_size(header: &[u8; 5], limit: u32) -> Result<usize, DecodeError> {
    let frame = Frame::Typed(header[0]);
    let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    if len < 4 {
        return Err(DecodeError::LengthTooSmall { frame, length: len });
    }
    if len as u32 > limit {
        return Err(DecodeError::LengthTooLarge {
            frame,
            length: len as u32,
            limit,
        });
    }
    Ok(1 + len as usize)
}

/// Splits the longest run of complete typed frames off the front of `src`. A header error is
/// returned only when it is the first frame's; otherwise the run ends before it.
fn split_run(
    src: &mut BytesMut,
    need: &mut usize,
    limit: impl Fn(u8) -> Result<u32, DecodeError>,
) -> Result<Bytes, DecodeError> {
    let mut pos = 0;
    *need = 0;
    loop {
        let rest = src.get(pos..).unwrap_or_default();
        let Some(&t) = rest.first() else {
            if pos == 0 {
                *need = 1;
            }
            break;
        };
        // The type byte is judged as soon as it arrives, as `decode` does.
        let limit = match limit(t) {
            Ok(limit) => limit,
            Err(e) if pos == 0 => return Err(e),
            Err(_) => break,
        };
        let Some(header) = rest.first_chunk::<5>() else {
            *need = 5;
            break;
        };
        let total = match frame_size(header, limit) {
            Ok(total) => total,
            Err(e) if pos == 0 => return Err(e),
            Err(_) => break,
        };
        if rest.len() < total {
            *need = total;
            break;
        }
        pos += total;
    }
    if pos == 0 {
        return Ok(Bytes::new());
    }
    Ok(src.split_to(pos).freeze())
}

/// Splits server bytes into [`BackendMessage`]s; the client side's decoder.
#[derive(Debug, Clone)]
pub struct BackendDecoder {
    phase: BackendPhase,
    limits: BackendLimits,
    need: usize,
    failed: Option<DecodeError>,
}

impl Default for BackendDecoder {
    fn default() -> BackendDecoder {
        BackendDecoder::new()
    }
}

impl BackendDecoder {
    /// A decoder expecting typed messages, with libpq's limits.
    pub fn new() -> BackendDecoder {
        BackendDecoder::with_limits(BackendLimits::default())
    }

    /// A decoder expecting typed messages, with these limits.
    pub fn with_limits(limits: BackendLimits) -> BackendDecoder {
        BackendDecoder {
            phase: BackendPhase::Normal,
            limits,
            need: 0,
            failed: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> BackendPhase {
        self.phase
    }

    /// Sets the phase: the client state machine does this after sending SSLRequest or
    /// GSSENCRequest. The decoder returns to `Normal` by itself after the answer.
    pub fn set_phase(&mut self, phase: BackendPhase) {
        self.phase = phase;
        self.need = 0;
    }

    /// Changes the limits (a client tightens them while the server is not yet authenticated).
    pub fn set_limits(&mut self, limits: BackendLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> BackendLimits {
        self.limits
    }

    /// How many bytes the input must hold before the next call can make progress.
    pub fn bytes_needed(&self) -> usize {
        self.need
    }

    /// Decodes the next message from the front of `src`, removing its bytes.
    ///
    /// `Ok(None)` means `src` holds no complete message yet. After an error that is not
    /// [recoverable](DecodeError::is_recoverable), every later call returns the same error.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BackendMessage>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if src.len() < self.need {
            return Ok(None);
        }
        let result = self.decode_inner(src);
        stick(&mut self.failed, result)
    }

    fn decode_inner(&mut self, src: &mut BytesMut) -> Result<Option<BackendMessage>, DecodeError> {
        let Some(&t) = src.first() else {
            self.need = 1;
            return Ok(None);
        };
        let yes = match self.phase {
            BackendPhase::SslResponse => Some(b'S'),
            BackendPhase::GssEncResponse => Some(b'G'),
            BackendPhase::Normal => None,
        };
        if let Some(yes) = yes {
            let accepted = match t {
                b'N' => false,
                b'E' => {
                    // A server that does not understand the request answers with an error.
                    self.phase = BackendPhase::Normal;
                    return self.decode_inner(src);
                }
                b if b == yes => true,
                byte => return Err(DecodeError::InvalidEncryptionResponse { byte }),
            };
            src.advance(1);
            let phase = self.phase;
            self.phase = BackendPhase::Normal;
            return Ok(Some(match phase {
                BackendPhase::SslResponse => BackendMessage::SslResponse { accepted },
                _ => BackendMessage::GssEncResponse { accepted },
            }));
        }
        let limit = backend_limit(&self.limits, t)?;
        let Some(body) = split_typed(src, limit, &mut self.need)? else {
            return Ok(None);
        };
        BackendMessage::decode(t, body).map(Some)
    }

    /// Splits off every complete message at the front of `src` at once, as one shared buffer
    /// read in place: the fast path for result sets and COPY (no reference count per message,
    /// borrowed [`DataRowRef`](super::DataRowRef)s). The framing is checked as
    /// [`decode`](BackendDecoder::decode) checks it; a body is checked when its frame is viewed
    /// or decoded (a borrowed DataRow's value lengths as the values are visited).
    ///
    /// Only in the [`Normal`](BackendPhase::Normal) phase: in the encryption-response phases
    /// it returns no frames and `decode` must be used. The run stops before a frame with an
    /// invalid header, whose error the next call returns. An empty run with
    /// `bytes_needed() > 0` means "read more".
    pub fn split_frames(&mut self, src: &mut BytesMut) -> Result<BackendFrames, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.phase != BackendPhase::Normal {
            // Not "read more": the input may already hold what `decode` needs.
            self.need = 0;
            return Ok(BackendFrames::new(Bytes::new()));
        }
        let limits = self.limits;
        let run = split_run(src, &mut self.need, |t| backend_limit(&limits, t));
        stick(&mut self.failed, run).map(BackendFrames::new)
    }
}

/// The length limit for a backend message type, or the error for an unknown type.
fn backend_limit(limits: &BackendLimits, t: u8) -> Result<u32, DecodeError> {
    if !BackendMessage::is_known_tag(t) {
        return Err(DecodeError::UnknownMessageType {
            direction: Direction::Backend,
            tag: t,
        });
    }
    Ok(match t {
        b'T' | b'D' | b'd' | b'V' | b'E' | b'N' | b'A' => limits.large,
        _ => limits.small,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal() -> FrontendDecoder {
        let mut d = FrontendDecoder::new();
        d.set_phase(FrontendPhase::Normal);
        d
    }

    #[test]
    fn terminate_and_copy_done_ignore_a_body_as_postgres_does() {
        let mut input = BytesMut::from(&b"X\0\0\0\x06abc\0\0\0\x05zS\0\0\0\x04"[..]);
        let mut d = normal();
        assert_eq!(d.decode(&mut input), Ok(Some(FrontendMessage::Terminate)));
        assert_eq!(d.decode(&mut input), Ok(Some(FrontendMessage::CopyDone)));
        assert_eq!(d.decode(&mut input), Ok(Some(FrontendMessage::Sync)));
        assert!(input.is_empty());
    }

    #[test]
    fn sync_with_a_body_is_a_recoverable_error() {
        let mut input = BytesMut::from(&b"S\0\0\0\x05xS\0\0\0\x04"[..]);
        let mut d = normal();
        let e = d.decode(&mut input).unwrap_err();
        assert_eq!(
            e,
            DecodeError::TrailingBytes {
                frame: Frame::Typed(b'S'),
                count: 1
            }
        );
        assert!(e.is_recoverable());
        assert_eq!(d.decode(&mut input), Ok(Some(FrontendMessage::Sync)));
    }

    #[test]
    fn set_phase_forgets_the_pending_frame_size() {
        let mut d = FrontendDecoder::new();
        let mut input = BytesMut::from(&b"\0\0\0\x10"[..]);
        assert_eq!(d.decode(&mut input), Ok(None));
        assert_eq!(d.bytes_needed(), 16);
        d.set_phase(FrontendPhase::Normal);
        assert_eq!(d.bytes_needed(), 0);
    }
}
