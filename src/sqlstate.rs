//! SQLSTATE error codes: the five-character codes that PostgreSQL puts in the `C` field of an
//! ErrorResponse, with constants for the ones the protocol layer itself uses.

use core::fmt;

/// A five-character SQLSTATE code such as `08P01`.
///
/// Only ASCII digits and upper-case letters are accepted, so [`SqlState::as_str`] never fails.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// Parses a code from its five bytes; `None` unless they are ASCII digits or upper-case letters.
    pub fn from_bytes(code: &[u8]) -> Option<SqlState> {
        let code: [u8; 5] = code.try_into().ok()?;
        if code
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            Some(SqlState(code))
        } else {
            None
        }
    }

    const fn known(code: &[u8; 5]) -> SqlState {
        SqlState(*code)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Construction only admits ASCII, so this cannot fail; fall back rather than panic.
        core::str::from_utf8(&self.0).unwrap_or("XX000")
    }

    /// The code's five bytes.
    pub fn as_bytes(&self) -> &[u8; 5] {
        &self.0
    }

    /// The two-character class (`08` for connection exceptions, `28` for authorization, ...).
    pub fn class(&self) -> &str {
        &self.as_str()[..2]
    }

    /// successful_completion
    pub const SUCCESSFUL_COMPLETION: SqlState = SqlState::known(b"00000");
    /// warning
    pub const WARNING: SqlState = SqlState::known(b"01000");
    /// connection_exception
    pub const CONNECTION_EXCEPTION: SqlState = SqlState::known(b"08000");
    /// connection_failure
    pub const CONNECTION_FAILURE: SqlState = SqlState::known(b"08006");
    /// sqlserver_rejected_establishment_of_sqlconnection (a rejected connection)
    pub const REJECTED_CONNECTION: SqlState = SqlState::known(b"08004");
    /// protocol_violation
    pub const PROTOCOL_VIOLATION: SqlState = SqlState::known(b"08P01");
    /// feature_not_supported
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState::known(b"0A000");
    /// invalid_parameter_value
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState::known(b"22023");
    /// numeric_value_out_of_range
    pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState::known(b"22003");
    /// invalid_datetime_format
    pub const INVALID_DATETIME_FORMAT: SqlState = SqlState::known(b"22007");
    /// division_by_zero
    pub const DIVISION_BY_ZERO: SqlState = SqlState::known(b"22012");
    /// datetime_field_overflow
    pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState::known(b"22008");
    /// character_not_in_repertoire (invalid UTF-8 in a query)
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState::known(b"22021");
    /// invalid_text_representation
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState::known(b"22P02");
    /// invalid_binary_representation
    pub const INVALID_BINARY_REPRESENTATION: SqlState = SqlState::known(b"22P03");
    /// null_value_not_allowed
    pub const NULL_VALUE_NOT_ALLOWED: SqlState = SqlState::known(b"22004");
    /// bad_copy_file_format
    pub const BAD_COPY_FILE_FORMAT: SqlState = SqlState::known(b"22P04");
    /// not_null_violation
    pub const NOT_NULL_VIOLATION: SqlState = SqlState::known(b"23502");
    /// foreign_key_violation
    pub const FOREIGN_KEY_VIOLATION: SqlState = SqlState::known(b"23503");
    /// unique_violation
    pub const UNIQUE_VIOLATION: SqlState = SqlState::known(b"23505");
    /// active_sql_transaction
    pub const ACTIVE_SQL_TRANSACTION: SqlState = SqlState::known(b"25001");
    /// in_failed_sql_transaction
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState::known(b"25P02");
    /// no_active_sql_transaction
    pub const NO_ACTIVE_SQL_TRANSACTION: SqlState = SqlState::known(b"25P01");
    /// idle_in_transaction_session_timeout
    pub const IDLE_IN_TRANSACTION_SESSION_TIMEOUT: SqlState = SqlState::known(b"25P03");
    /// invalid_sql_statement_name (unknown prepared statement)
    pub const INVALID_SQL_STATEMENT_NAME: SqlState = SqlState::known(b"26000");
    /// invalid_authorization_specification
    pub const INVALID_AUTHORIZATION_SPECIFICATION: SqlState = SqlState::known(b"28000");
    /// invalid_password
    pub const INVALID_PASSWORD: SqlState = SqlState::known(b"28P01");
    /// invalid_cursor_name (unknown portal)
    pub const INVALID_CURSOR_NAME: SqlState = SqlState::known(b"34000");
    /// datatype_mismatch
    pub const DATATYPE_MISMATCH: SqlState = SqlState::known(b"42804");
    /// syntax_error
    pub const SYNTAX_ERROR: SqlState = SqlState::known(b"42601");
    /// undefined_object
    pub const UNDEFINED_OBJECT: SqlState = SqlState::known(b"42704");
    /// undefined_table
    pub const UNDEFINED_TABLE: SqlState = SqlState::known(b"42P01");
    /// undefined_parameter
    pub const UNDEFINED_PARAMETER: SqlState = SqlState::known(b"42P02");
    /// duplicate_cursor (portal already exists)
    pub const DUPLICATE_CURSOR: SqlState = SqlState::known(b"42P03");
    /// duplicate_prepared_statement
    pub const DUPLICATE_PREPARED_STATEMENT: SqlState = SqlState::known(b"42P05");
    /// too_many_connections
    pub const TOO_MANY_CONNECTIONS: SqlState = SqlState::known(b"53300");
    /// program_limit_exceeded
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState::known(b"54000");
    /// object_not_in_prerequisite_state
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState::known(b"55000");
    /// query_canceled
    pub const QUERY_CANCELED: SqlState = SqlState::known(b"57014");
    /// admin_shutdown
    pub const ADMIN_SHUTDOWN: SqlState = SqlState::known(b"57P01");
    /// idle_session_timeout
    pub const IDLE_SESSION_TIMEOUT: SqlState = SqlState::known(b"57P05");
    /// internal_error
    pub const INTERNAL_ERROR: SqlState = SqlState::known(b"XX000");
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SqlState;

    #[test]
    fn parses_only_valid_codes() {
        assert_eq!(
            SqlState::from_bytes(b"08P01"),
            Some(SqlState::PROTOCOL_VIOLATION)
        );
        assert_eq!(SqlState::from_bytes(b"08p01"), None);
        assert_eq!(SqlState::from_bytes(b"08P0"), None);
        assert_eq!(SqlState::PROTOCOL_VIOLATION.class(), "08");
        assert_eq!(SqlState::INVALID_PASSWORD.to_string(), "28P01");
    }
}
