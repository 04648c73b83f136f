//! Reading the parameters of a Bind message, as a server does before it runs a statement.

use core::fmt;

use super::{Decode, Session, ValueError, decode, oid};
use crate::message::{Bind, Format, PgStr};
use crate::sqlstate::SqlState;

/// The type parameter `index` is read as: its type in `param_types` (the statement's parameter
/// types, as its ParameterDescription announces them), or `text` when the list has no type
/// for it or says 0 (unspecified). That is how PostgreSQL resolves a parameter nothing else
/// determines (`SELECT $1` describes `$1` as text); a server that infers types should pass the
/// types it inferred.
pub fn param_type(param_types: &[u32], index: usize) -> u32 {
    match param_types.get(index) {
        Some(&ty) if ty != 0 => ty,
        _ => oid::TEXT,
    }
}

/// Reads parameter `index` of `bind` as a `T`.
///
/// The format is the one Bind gives the parameter (no codes: text; one code: that one for
/// all; else one per parameter); a code other than 0 or 1 is
/// [`ValueError::UnsupportedFormat`] (22023), checked before the value as PostgreSQL does,
/// even for NULL. The type is [`param_type`]. NULL is read with [`Decode::decode_null`] (an
/// error unless `T` is an `Option`), and an index past the last parameter is
/// [`ValueError::NoSuchValue`]. Strings and byte strings can borrow from `bind`.
///
/// Parameters are found by walking the list from the start; call
/// [`check_param_count`] first so the count is the statement's.
pub fn decode_param<'a, T: Decode<'a>>(
    bind: &'a Bind,
    index: usize,
    param_types: &[u32],
    session: &Session,
) -> Result<T, ValueError> {
    let (raw, format) = param_raw(bind, index)?;
    decode(raw, param_type(param_types, index), format, session)
}

/// Parameter `index` of `bind` as sent: its bytes (`None` for NULL) and its format, for an
/// application that picks the Rust type from the parameter type itself. The format and index
/// errors are those of [`decode_param`].
pub fn param_raw(bind: &Bind, index: usize) -> Result<(Option<&[u8]>, Format), ValueError> {
    let raw = bind
        .params
        .iter()
        .nth(index)
        .ok_or(ValueError::NoSuchValue { index })?;
    let code = bind.param_formats.code_for(index);
    let format = Format::from_code(code).ok_or(ValueError::UnsupportedFormat { code })?;
    Ok((raw, format))
}

/// Checks that `bind` supplies as many parameters as its statement takes (`required`), as
/// PostgreSQL does before reading any of them.
pub fn check_param_count(bind: &Bind, required: usize) -> Result<(), ParamCountError> {
    let supplied = bind.params.len();
    if supplied == required {
        return Ok(());
    }
    Err(ParamCountError {
        supplied,
        required,
        statement: bind.statement.clone(),
    })
}

/// A Bind message with a parameter count other than its statement's: PostgreSQL's
/// `bind message supplies 1 parameters, but prepared statement "" requires 2`, SQLSTATE 08P01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamCountError {
    /// How many parameters the Bind supplies.
    pub supplied: usize,
    /// How many the statement takes.
    pub required: usize,
    /// The statement's name (empty for the unnamed statement).
    pub statement: PgStr,
}

impl ParamCountError {
    /// The SQLSTATE PostgreSQL uses: 08P01 (protocol_violation).
    pub fn sqlstate(&self) -> SqlState {
        SqlState::PROTOCOL_VIOLATION
    }
}

impl fmt::Display for ParamCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
            self.supplied,
            self.statement.to_string_lossy(),
            self.required
        )
    }
}

impl std::error::Error for ParamCountError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_count_is_checked_with_postgres_message() {
        let one: &[u8] = b"1";
        let bind = Bind::new("", "s1", &[], &[Some(one)], &[]).unwrap();
        assert_eq!(check_param_count(&bind, 1), Ok(()));
        let e = check_param_count(&bind, 2).unwrap_err();
        assert_eq!(e.supplied, 1);
        assert_eq!(e.required, 2);
        assert_eq!(e.sqlstate().as_str(), "08P01");
        assert_eq!(
            e.to_string(),
            "bind message supplies 1 parameters, but prepared statement \"s1\" requires 2"
        );
        let none = Bind::new("", "", &[], &[], &[]).unwrap();
        assert_eq!(check_param_count(&none, 0), Ok(()));
        assert_eq!(
            check_param_count(&none, 1).unwrap_err().to_string(),
            "bind message supplies 0 parameters, but prepared statement \"\" requires 1"
        );
    }

    #[test]
    fn unspecified_types_read_as_text() {
        assert_eq!(param_type(&[oid::INT4, 0], 0), oid::INT4);
        assert_eq!(param_type(&[oid::INT4, 0], 1), oid::TEXT);
        assert_eq!(param_type(&[oid::INT4, 0], 2), oid::TEXT);
        assert_eq!(param_type(&[], 0), oid::TEXT);
    }
}
