//! Startup-phase packets, which have no type byte: StartupMessage, SSLRequest, GSSENCRequest
//! and CancelRequest.

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError, Frame};
use super::reader::Reader;
use super::writer;

/// The request code of SSLRequest (1234.5679).
pub const SSL_REQUEST_CODE: u32 = 80877103;
/// The request code of GSSENCRequest (1234.5680).
pub const GSSENC_REQUEST_CODE: u32 = 80877104;
/// The request code of CancelRequest (1234.5678).
pub const CANCEL_REQUEST_CODE: u32 = 80877102;
/// The first byte of a TLS ClientHello: a client using direct TLS (PostgreSQL 17+) starts with
/// it instead of a startup packet. A server checks for it before decoding the first packet.
pub const TLS_HANDSHAKE_BYTE: u8 = 0x16;
/// The shortest and longest cancel keys the protocol allows (4 bytes under 3.0; up to 256
/// under 3.2, where PostgreSQL 18 sends 32).
pub const CANCEL_KEY_LEN: core::ops::RangeInclusive<usize> = 4..=256;

/// A protocol version, as carried in the StartupMessage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Major version (3).
    pub major: u16,
    /// Minor version (0 or 2).
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0, spoken by every PostgreSQL since 7.4.
    pub const V3_0: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };
    /// Protocol 3.2 (PostgreSQL 18): variable-length cancel keys.
    pub const V3_2: ProtocolVersion = ProtocolVersion { major: 3, minor: 2 };

    /// The version for a 32-bit wire code.
    pub const fn from_code(code: u32) -> ProtocolVersion {
        ProtocolVersion {
            major: (code >> 16) as u16,
            minor: code as u16,
        }
    }

    /// The 32-bit wire code.
    pub const fn code(self) -> u32 {
        ((self.major as u32) << 16) | self.minor as u32
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The StartupMessage: protocol version and `name=value` parameters (`user`, `database`,
/// `options`, `replication`, `application_name`, `_pq_.*` extensions, any GUC).
///
/// Parameters are kept in wire form; [`StartupMessage::params`] iterates them without
/// allocating. Decoding checks the layout only: whether `user` is present is the server's
/// decision (PostgreSQL answers 28000 when it is not).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StartupMessage {
    version: ProtocolVersion,
    /// `name\0value\0`... without the final terminator.
    params: Bytes,
}

impl StartupMessage {
    /// Builds a StartupMessage; names must be non-empty, and no name or value may contain a
    /// zero byte.
    pub fn new<I, K, V>(version: ProtocolVersion, params: I) -> Result<StartupMessage, EncodeError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        for (k, v) in params {
            if k.as_ref().is_empty() {
                return Err(EncodeError::Empty {
                    field: "startup parameter name",
                });
            }
            writer::cstr(&mut buf, k.as_ref(), "startup parameter name")?;
            writer::cstr(&mut buf, v.as_ref(), "startup parameter value")?;
        }
        Ok(StartupMessage {
            version,
            params: buf.freeze(),
        })
    }

    /// Writes a StartupMessage from borrowed parts, without building the value first.
    pub fn write<'p, I>(
        buf: &mut BytesMut,
        version: ProtocolVersion,
        params: I,
    ) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = (&'p str, &'p str)>,
    {
        writer::frame(buf, None, |buf| {
            buf.put_u32(version.code());
            for (k, v) in params {
                if k.is_empty() {
                    return Err(EncodeError::Empty {
                        field: "startup parameter name",
                    });
                }
                writer::cstr(buf, k.as_bytes(), "startup parameter name")?;
                writer::cstr(buf, v.as_bytes(), "startup parameter value")?;
            }
            buf.put_u8(0);
            Ok(())
        })
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        body: Bytes,
    ) -> Result<StartupMessage, DecodeError> {
        // body: the parameter list including its final terminator.
        let mut r = Reader::new(&body, Frame::Startup);
        loop {
            let name = r.cstr_range("parameter name")?;
            if name.is_empty() {
                break;
            }
            r.cstr_range("parameter value")?;
        }
        r.finish()?;
        let params = body.slice(..body.len() - 1);
        Ok(StartupMessage { version, params })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, None, |buf| {
            buf.put_u32(self.version.code());
            buf.put_slice(&self.params);
            buf.put_u8(0);
            Ok(())
        })
    }

    /// The protocol version requested.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The parameters in the order sent.
    pub fn params(&self) -> StartupParams<'_> {
        StartupParams { rest: &self.params }
    }

    /// The value of the last parameter named `name` (PostgreSQL lets a later one win).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.params()
            .filter(|(k, _)| *k == name.as_bytes())
            .last()
            .map(|(_, v)| v)
    }

    /// The `user` parameter.
    pub fn user(&self) -> Option<&[u8]> {
        self.get("user")
    }

    /// The `database` parameter (PostgreSQL defaults it to the user name when absent).
    pub fn database(&self) -> Option<&[u8]> {
        self.get("database")
    }

    /// The protocol extension options requested (`_pq_.` names), which a server that does not
    /// know them lists in NegotiateProtocolVersion.
    pub fn protocol_options(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.params().filter(|(k, _)| k.starts_with(b"_pq_."))
    }
}

impl fmt::Debug for StartupMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_struct("StartupMessage");
        m.field("version", &self.version);
        for (k, v) in self.params() {
            let k = String::from_utf8_lossy(k);
            m.field(&k, &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}

/// Iterator over a StartupMessage's `(name, value)` pairs.
#[derive(Clone, Debug)]
pub struct StartupParams<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for StartupParams<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let n = memchr::memchr(0, self.rest)?;
        let (name, rest) = (&self.rest[..n], &self.rest[n + 1..]);
        let m = memchr::memchr(0, rest)?;
        let (value, rest) = (&rest[..m], &rest[m + 1..]);
        self.rest = rest;
        Some((name, value))
    }
}

/// A CancelRequest, sent on a new connection: the process id and secret key from the
/// BackendKeyData of the connection whose query should be cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CancelRequest {
    /// The process id of the target backend.
    pub process_id: i32,
    /// The secret key: 4 bytes under protocol 3.0, 4 to 256 under 3.2.
    pub secret_key: Bytes,
}

impl CancelRequest {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<CancelRequest, DecodeError> {
        let process_id = r.i32("process id")?;
        let length = r.remaining();
        if !CANCEL_KEY_LEN.contains(&length) {
            return Err(DecodeError::InvalidCancelKeyLength {
                frame: Frame::Startup,
                length,
            });
        }
        Ok(CancelRequest {
            process_id,
            secret_key: r.rest(),
        })
    }

    /// Writes a CancelRequest from borrowed parts.
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
        writer::frame(buf, None, |buf| {
            buf.put_u32(CANCEL_REQUEST_CODE);
            buf.put_i32(process_id);
            buf.put_slice(secret_key);
            Ok(())
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        CancelRequest::write(buf, self.process_id, &self.secret_key)
    }
}

/// Writes an SSLRequest or GSSENCRequest (a bare request code).
pub(crate) fn write_request_code(buf: &mut BytesMut, code: u32) {
    buf.put_u32(8);
    buf.put_u32(code);
}
