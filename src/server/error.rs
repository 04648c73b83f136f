//! Errors a server sends (`PgError`) and errors in how the application drives the connection
//! (`ApiError`).

use bytes::BytesMut;

use crate::SqlState;
use crate::message::{EncodeError, ErrorFields, error_field};
use crate::types::ValueError;

/// The severity of an ErrorResponse or NoticeResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// ERROR: the statement failed; the session goes on.
    Error,
    /// FATAL: the session ends.
    Fatal,
    /// WARNING (notices).
    Warning,
    /// NOTICE (notices).
    Notice,
    /// INFO (notices).
    Info,
    /// DEBUG (notices).
    Debug,
    /// LOG (notices).
    Log,
}

impl Severity {
    /// The text sent in the `S` and `V` fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Info => "INFO",
            Severity::Debug => "DEBUG",
            Severity::Log => "LOG",
        }
    }
}

/// An error or notice to send: what PostgreSQL's `ereport` fills in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    /// Severity.
    pub severity: Severity,
    /// SQLSTATE.
    pub code: SqlState,
    /// Primary message.
    pub message: String,
    /// Optional detail.
    pub detail: Option<String>,
    /// Optional hint.
    pub hint: Option<String>,
    /// Optional 1-based character position in the query.
    pub position: Option<u32>,
}

impl PgError {
    /// An ERROR.
    pub fn new(code: SqlState, message: impl Into<String>) -> PgError {
        PgError {
            severity: Severity::Error,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
        }
    }

    /// A FATAL error: the session ends after it.
    pub fn fatal(code: SqlState, message: impl Into<String>) -> PgError {
        PgError {
            severity: Severity::Fatal,
            ..PgError::new(code, message)
        }
    }

    /// A NOTICE (SQLSTATE 00000).
    pub fn notice(message: impl Into<String>) -> PgError {
        PgError {
            severity: Severity::Notice,
            ..PgError::new(SqlState::SUCCESSFUL_COMPLETION, message)
        }
    }

    /// With a detail line.
    pub fn detail(mut self, detail: impl Into<String>) -> PgError {
        self.detail = Some(detail.into());
        self
    }

    /// With a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> PgError {
        self.hint = Some(hint.into());
        self
    }

    /// With a cursor position.
    pub fn position(mut self, position: u32) -> PgError {
        self.position = Some(position);
        self
    }

    /// Appends it as an ErrorResponse (`tag` `E`) or NoticeResponse (`N`).
    pub(crate) fn write(&self, out: &mut BytesMut, tag: u8) -> Result<(), EncodeError> {
        let sev = self.severity.as_str().as_bytes();
        let (digits, n) = itoa(self.position.unwrap_or(0));
        let pos_text = &digits[digits.len() - n..];
        let fields = [
            Some((error_field::SEVERITY, sev)),
            Some((error_field::SEVERITY_NONLOCALIZED, sev)),
            Some((error_field::CODE, self.code.as_bytes().as_slice())),
            Some((error_field::MESSAGE, self.message.as_bytes())),
            self.detail
                .as_ref()
                .map(|d| (error_field::DETAIL, d.as_bytes())),
            self.hint
                .as_ref()
                .map(|h| (error_field::HINT, h.as_bytes())),
            self.position.map(|_| (error_field::POSITION, pos_text)),
        ];
        ErrorFields::write(out, tag, fields.into_iter().flatten())
    }
}

/// Decimal digits of `n`, right-aligned in a fixed buffer, with their count.
fn itoa(mut n: u32) -> ([u8; 10], usize) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (buf, 10 - i)
}

impl From<ValueError> for PgError {
    /// A value that could not be read or written, as the ERROR PostgreSQL sends for it.
    fn from(e: ValueError) -> PgError {
        PgError::new(e.sqlstate(), e.to_string())
    }
}

/// The application drove the connection in a way the protocol does not allow. Never caused by
/// the peer; the connection's output is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// An answer when the connection is not waiting for that kind of answer.
    #[error("{answer} does not answer the current request ({waiting})")]
    Unexpected {
        /// What the application called.
        answer: &'static str,
        /// What the connection is waiting for.
        waiting: &'static str,
    },
    /// A data row before a row description, or for a statement that returns no rows.
    #[error("a data row needs a row description first")]
    RowWithoutDescription,
    /// A data row whose column count differs from the description.
    #[error("a row of {got} values for a description of {expected} columns")]
    ColumnCount {
        /// Columns described.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// More rows than Execute asked for.
    #[error("Execute asked for at most {0} rows")]
    RowLimit(u32),
    /// PortalSuspended without reaching the row limit.
    #[error("PortalSuspended needs exactly the row limit's rows ({limit}); {sent} were sent")]
    NotSuspended {
        /// The limit.
        limit: u32,
        /// Rows sent.
        sent: u32,
    },
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A value could not be written.
    #[error(transparent)]
    Value(#[from] ValueError),
}
