//! Authentication messages: the server's `R` requests and the client's `p` answers (whose
//! meaning depends on the request in progress).

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::pgstr::PgStr;
use super::reader::Reader;
use super::writer;

/// `R` type byte.
pub(crate) const TAG_AUTHENTICATION: u8 = b'R';
/// `p` type byte.
pub(crate) const TAG_PASSWORD: u8 = b'p';

/// `R`: an authentication request or result from the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Authentication {
    /// 0: authentication succeeded.
    Ok,
    /// 2: Kerberos V5 (no longer supported by PostgreSQL).
    KerberosV5,
    /// 3: send the password in clear text.
    CleartextPassword,
    /// 5: send the password MD5-hashed with this salt.
    Md5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// 7: start GSSAPI negotiation.
    Gss,
    /// 8: GSSAPI or SSPI continuation data.
    GssContinue(Bytes),
    /// 9: start SSPI negotiation.
    Sspi,
    /// 10: start SASL with one of these mechanisms.
    Sasl(SaslMechanisms),
    /// 11: SASL challenge.
    SaslContinue(Bytes),
    /// 12: SASL outcome (for SCRAM, the server signature).
    SaslFinal(Bytes),
}

impl Authentication {
    /// The request code.
    pub fn code(&self) -> i32 {
        match self {
            Authentication::Ok => 0,
            Authentication::KerberosV5 => 2,
            Authentication::CleartextPassword => 3,
            Authentication::Md5Password { .. } => 5,
            Authentication::Gss => 7,
            Authentication::GssContinue(_) => 8,
            Authentication::Sspi => 9,
            Authentication::Sasl(_) => 10,
            Authentication::SaslContinue(_) => 11,
            Authentication::SaslFinal(_) => 12,
        }
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Authentication, DecodeError> {
        let code = r.i32("authentication request code")?;
        let auth = match code {
            0 => Authentication::Ok,
            2 => Authentication::KerberosV5,
            3 => Authentication::CleartextPassword,
            5 => {
                let b = r.bytes(4, "MD5 salt")?;
                Authentication::Md5Password {
                    salt: [b[0], b[1], b[2], b[3]],
                }
            }
            7 => Authentication::Gss,
            8 => Authentication::GssContinue(r.rest()),
            9 => Authentication::Sspi,
            10 => {
                let start = r.pos();
                loop {
                    if r.cstr_range("SASL mechanism name")?.is_empty() {
                        break;
                    }
                }
                Authentication::Sasl(SaslMechanisms(r.slice(start..r.pos())))
            }
            11 => Authentication::SaslContinue(r.rest()),
            12 => Authentication::SaslFinal(r.rest()),
            code => return Err(DecodeError::UnknownAuthenticationType { code }),
        };
        r.finish()?;
        Ok(auth)
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(TAG_AUTHENTICATION), |buf| {
            buf.put_i32(self.code());
            match self {
                Authentication::Md5Password { salt } => buf.put_slice(salt),
                Authentication::GssContinue(d)
                | Authentication::SaslContinue(d)
                | Authentication::SaslFinal(d) => buf.put_slice(d),
                Authentication::Sasl(m) => buf.put_slice(&m.0),
                _ => {}
            }
            Ok(())
        })
    }
}

/// The SASL mechanisms a server offers, in its order of preference, in wire form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SaslMechanisms(Bytes);

impl SaslMechanisms {
    /// Builds the list; names must be non-empty and free of zero bytes.
    pub fn new<I, S>(names: I) -> Result<SaslMechanisms, EncodeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        for n in names {
            if n.as_ref().is_empty() {
                return Err(EncodeError::Empty {
                    field: "SASL mechanism name",
                });
            }
            writer::cstr(&mut buf, n.as_ref(), "SASL mechanism name")?;
        }
        buf.put_u8(0);
        Ok(SaslMechanisms(buf.freeze()))
    }

    /// The mechanism names in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == 0).take_while(|n| !n.is_empty())
    }

    /// Whether `name` is offered.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name.as_bytes())
    }
}

impl fmt::Debug for SaslMechanisms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// `p` answering a cleartext or MD5 request: the password, or `md5` followed by the hash.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PasswordMessage {
    /// The password or hash.
    pub password: PgStr,
}

impl fmt::Debug for PasswordMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordMessage")
            .field("password", &"<redacted>")
            .finish()
    }
}

impl PasswordMessage {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<PasswordMessage, DecodeError> {
        let password = r.cstr("password")?;
        r.finish()?;
        Ok(PasswordMessage { password })
    }

    /// Writes a PasswordMessage from a borrowed password.
    pub fn write(buf: &mut BytesMut, password: &[u8]) -> Result<(), EncodeError> {
        writer::frame(buf, Some(TAG_PASSWORD), |buf| {
            writer::cstr(buf, password, "password")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        PasswordMessage::write(buf, self.password.as_bytes())
    }
}

/// `p` opening a SASL exchange: the chosen mechanism and, optionally, its first message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SaslInitialResponse {
    /// The mechanism chosen (`SCRAM-SHA-256` or `SCRAM-SHA-256-PLUS`).
    pub mechanism: PgStr,
    /// The client-first message; `None` is sent as length -1.
    pub data: Option<Bytes>,
}

impl SaslInitialResponse {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<SaslInitialResponse, DecodeError> {
        let mechanism = r.cstr("SASL mechanism")?;
        let data = r.value_range("SASL data")?.map(|range| r.slice(range));
        r.finish()?;
        Ok(SaslInitialResponse { mechanism, data })
    }

    /// Writes a SASLInitialResponse from borrowed parts.
    pub fn write(
        buf: &mut BytesMut,
        mechanism: &str,
        data: Option<&[u8]>,
    ) -> Result<(), EncodeError> {
        writer::frame(buf, Some(TAG_PASSWORD), |buf| {
            writer::cstr(buf, mechanism.as_bytes(), "SASL mechanism")?;
            writer::value(buf, data, "SASL data")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        writer::frame(buf, Some(TAG_PASSWORD), |buf| {
            writer::cstr(buf, self.mechanism.as_bytes(), "SASL mechanism")?;
            writer::value(buf, self.data.as_deref(), "SASL data")
        })
    }
}

/// `p` continuing a SASL exchange (for SCRAM, the client-final message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SaslResponse {
    /// The mechanism's message.
    pub data: Bytes,
}

/// `p` carrying a GSSAPI or SSPI token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GssResponse {
    /// The token.
    pub data: Bytes,
}

macro_rules! opaque_p {
    ($ty:ident) => {
        impl $ty {
            pub(crate) fn decode(mut r: Reader<'_>) -> Result<$ty, DecodeError> {
                Ok($ty { data: r.rest() })
            }

            /// Writes the message from borrowed data.
            pub fn write(buf: &mut BytesMut, data: &[u8]) -> Result<(), EncodeError> {
                writer::raw_frame(buf, TAG_PASSWORD, data)
            }

            /// Appends the message to `buf`.
            pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
                writer::raw_frame(buf, TAG_PASSWORD, &self.data)
            }
        }
    };
}

opaque_p!(SaslResponse);
opaque_p!(GssResponse);
