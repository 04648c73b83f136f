//! `ValueError`: why a value could not be read or written.

use crate::sqlstate::SqlState;

/// Why a value could not be read or written, with the SQLSTATE PostgreSQL uses for the same
/// condition ([`ValueError::sqlstate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Text that is not a valid value of the type (22P02).
    #[error("invalid input syntax for type {type_name}: \"{input}\"")]
    InvalidText {
        /// The type's SQL name.
        type_name: &'static str,
        /// The input, lossily decoded and cut to 64 characters.
        input: String,
    },
    /// Date or time text that is not a valid value of the type (22007, PostgreSQL's
    /// invalid_datetime_format).
    #[error("invalid input syntax for type {type_name}: \"{input}\"")]
    InvalidDatetime {
        /// The type's SQL name.
        type_name: &'static str,
        /// The input, lossily decoded and cut to 64 characters.
        input: String,
    },
    /// Text that is not valid UTF-8, the only server encoding this crate speaks (22021).
    #[error("invalid byte sequence for encoding \"UTF8\"")]
    InvalidUtf8,
    /// A value outside the type's range (22003).
    #[error("value out of range for type {type_name}")]
    OutOfRange {
        /// The type's SQL name.
        type_name: &'static str,
    },
    /// A date or time outside the type's range, or a field out of range (22008).
    #[error("date/time value out of range for type {type_name}")]
    DatetimeOutOfRange {
        /// The type's SQL name.
        type_name: &'static str,
    },
    /// A binary value of the wrong length (08P01, as PostgreSQL reports a short or long
    /// binary parameter).
    #[error("incorrect binary data length {len} for type {type_name}")]
    BinaryLength {
        /// The type's SQL name.
        type_name: &'static str,
        /// The length received.
        len: usize,
    },
    /// A binary value whose content is invalid (22P03).
    #[error("invalid binary representation for type {type_name}: {reason}")]
    InvalidBinary {
        /// The type's SQL name.
        type_name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// SQL NULL where the Rust type cannot hold it (22004).
    #[error("unexpected NULL for type {ty}")]
    UnexpectedNull {
        /// The PostgreSQL type OID.
        ty: u32,
    },
    /// The PostgreSQL type cannot be read as the requested Rust type (42804).
    #[error("type {ty} cannot be read as {rust}")]
    WrongType {
        /// The PostgreSQL type OID.
        ty: u32,
        /// The Rust type.
        rust: &'static str,
    },
    /// A format code other than 0 and 1 (22023).
    #[error("unsupported format code: {code}")]
    UnsupportedFormat {
        /// The code.
        code: i16,
    },
    /// A parameter or column index past the end (08P01).
    #[error("no value at index {index}")]
    NoSuchValue {
        /// The index.
        index: usize,
    },
}

impl ValueError {
    /// The SQLSTATE PostgreSQL uses for this condition.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            ValueError::InvalidText { .. } => SqlState::INVALID_TEXT_REPRESENTATION,
            ValueError::InvalidUtf8 => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            ValueError::InvalidDatetime { .. } => SqlState::INVALID_DATETIME_FORMAT,
            ValueError::OutOfRange { .. } => SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            ValueError::DatetimeOutOfRange { .. } => SqlState::DATETIME_FIELD_OVERFLOW,
            ValueError::BinaryLength { .. } | ValueError::NoSuchValue { .. } => {
                SqlState::PROTOCOL_VIOLATION
            }
            ValueError::InvalidBinary { .. } => SqlState::INVALID_BINARY_REPRESENTATION,
            ValueError::UnexpectedNull { .. } => SqlState::NULL_VALUE_NOT_ALLOWED,
            ValueError::WrongType { .. } => SqlState::DATATYPE_MISMATCH,
            ValueError::UnsupportedFormat { .. } => SqlState::INVALID_PARAMETER_VALUE,
        }
    }

    /// An [`ValueError::InvalidText`] for `input`.
    pub(crate) fn text(type_name: &'static str, input: &[u8]) -> ValueError {
        ValueError::InvalidText {
            type_name,
            input: clip(input),
        }
    }

    /// An [`ValueError::InvalidDatetime`] for `input`.
    pub(crate) fn datetime_text(type_name: &'static str, input: &[u8]) -> ValueError {
        ValueError::InvalidDatetime {
            type_name,
            input: clip(input),
        }
    }
}

fn clip(input: &[u8]) -> String {
    String::from_utf8_lossy(input).chars().take(64).collect()
}
