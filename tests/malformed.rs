//! Malformed input, table-driven: every row is raw bytes fed to a decoder in a given direction
//! and phase, with the exact `DecodeError` expected, its SQLSTATE, whether it is recoverable,
//! and what the decoder does next (poisoned, or the bad frame consumed and the next message
//! decoded). Expectations follow PostgreSQL's behaviour as summarised in PROTOCOL.md §1, §2, §6.

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::message::{
    BackendDecoder, BackendMessage, BackendPhase, DecodeError, Direction, Frame, FrontendDecoder,
    FrontendMessage, FrontendPhase, TransactionStatus,
};

// ---------------------------------------------------------------------------------------------
// Builders. A row's bytes are written out literally; these only compute a correct length word
// where the malformation is elsewhere, so the reader sees the bad part and nothing else.

/// A typed frame whose length word matches `body`.
fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A startup-phase packet whose length word matches `body` (request code included in `body`).
fn packet(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32 + 4).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Protocol 3.0 and 3.2 request codes.
const V3_0: &[u8] = b"\0\x03\0\0";
const V3_2: &[u8] = b"\0\x03\0\x02";
/// CancelRequest code 80877102 (1234.5678).
const CANCEL: &[u8] = b"\x04\xd2\x16\x2e";
/// A process id.
const PID: &[u8] = b"\0\0\x30\x39";

/// The valid message appended after every row: Sync from a client, ReadyForQuery(I) from a
/// server. A recoverable error must leave it as the next message decoded.
const SYNC: &[u8] = b"S\0\0\0\x04";
const READY: &[u8] = b"Z\0\0\0\x05I";

// ---------------------------------------------------------------------------------------------
// The table.

#[derive(Debug, Clone, Copy)]
enum Decoder {
    Frontend(FrontendPhase),
    Backend(BackendPhase),
}

use Decoder::{Backend as Be, Frontend as Fe};

const PV: SqlState = SqlState::PROTOCOL_VIOLATION;
const NOT_SUPPORTED: SqlState = SqlState::FEATURE_NOT_SUPPORTED;
/// The frame was consumed; the next message decodes.
const RECOVERABLE: bool = true;
/// Boundaries are lost or the startup packet is unusable; the decoder is poisoned.
const FATAL: bool = false;

struct Row {
    name: &'static str,
    decoder: Decoder,
    input: Vec<u8>,
    error: DecodeError,
    sqlstate: SqlState,
    recoverable: bool,
}

fn row(
    name: &'static str,
    decoder: Decoder,
    input: impl Into<Vec<u8>>,
    error: DecodeError,
    sqlstate: SqlState,
    recoverable: bool,
) -> Row {
    Row {
        name,
        decoder,
        input: input.into(),
        error,
        sqlstate,
        recoverable,
    }
}

fn t(tag: u8) -> Frame {
    Frame::Typed(tag)
}

fn too_small(frame: Frame, length: i32) -> DecodeError {
    DecodeError::LengthTooSmall { frame, length }
}

fn too_large(frame: Frame, length: u32, limit: u32) -> DecodeError {
    DecodeError::LengthTooLarge {
        frame,
        length,
        limit,
    }
}

fn end(frame: Frame, field: &'static str) -> DecodeError {
    DecodeError::UnexpectedEnd { frame, field }
}

fn unterminated(frame: Frame, field: &'static str) -> DecodeError {
    DecodeError::MissingTerminator { frame, field }
}

fn trailing(frame: Frame, count: usize) -> DecodeError {
    DecodeError::TrailingBytes { frame, count }
}

fn bad_len(frame: Frame, field: &'static str, length: i32) -> DecodeError {
    DecodeError::InvalidLength {
        frame,
        field,
        length,
    }
}

fn unknown(direction: Direction, tag: u8) -> DecodeError {
    DecodeError::UnknownMessageType { direction, tag }
}

fn rows() -> Vec<Row> {
    use FrontendPhase as F;
    let normal = Fe(F::Normal);
    let startup = Fe(F::Startup);
    let be = Be(BackendPhase::Normal);
    let fe_unknown = |tag| unknown(Direction::Frontend, tag);
    let be_unknown = |tag| unknown(Direction::Backend, tag);
    let st = Frame::Startup;

    vec![
        // ----- frontend: length words below 4 ------------------------------------------------
        row(
            "fe Sync length word 0",
            normal,
            b"S\0\0\0\0",
            too_small(t(b'S'), 0),
            PV,
            FATAL,
        ),
        row(
            "fe Query length word 3",
            normal,
            b"Q\0\0\0\x03",
            too_small(t(b'Q'), 3),
            PV,
            FATAL,
        ),
        row(
            "fe Bind length word 0xFFFFFFFF",
            normal,
            b"B\xff\xff\xff\xff",
            too_small(t(b'B'), -1),
            PV,
            FATAL,
        ),
        row(
            "fe CopyData length word 0x80000000",
            normal,
            b"d\x80\0\0\0",
            too_small(t(b'd'), i32::MIN),
            PV,
            FATAL,
        ),
        row(
            "fe password length word 2",
            Fe(F::Password),
            b"p\0\0\0\x02",
            too_small(t(b'p'), 2),
            PV,
            FATAL,
        ),
        row(
            "fe SASLResponse length word 0xFFFFFFFF",
            Fe(F::SaslResponse),
            b"p\xff\xff\xff\xff",
            too_small(t(b'p'), -1),
            PV,
            FATAL,
        ),
        // ----- frontend: small types over 10000 (the length word counts) -------------------
        row(
            "fe Execute length word 10001",
            normal,
            b"E\0\0\x27\x11\0\0\0\0\0",
            too_large(t(b'E'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe Describe length word 10001",
            normal,
            b"D\0\0\x27\x11S",
            too_large(t(b'D'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe Close length word 10001",
            normal,
            b"C\0\0\x27\x11P",
            too_large(t(b'C'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe Flush length word 10001",
            normal,
            b"H\0\0\x27\x11",
            too_large(t(b'H'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe Sync length word 10001",
            normal,
            b"S\0\0\x27\x11",
            too_large(t(b'S'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe Terminate length word 10001",
            normal,
            b"X\0\0\x27\x11",
            too_large(t(b'X'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe CopyDone length word 10001",
            normal,
            b"c\0\0\x27\x11",
            too_large(t(b'c'), 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "fe CopyFail length word 10001",
            normal,
            b"f\0\0\x27\x11oops",
            too_large(t(b'f'), 10001, 10000),
            PV,
            FATAL,
        ),
        // ----- frontend: large types over 0x3FFFFFFE ------------------------------------------
        row(
            "fe Query length word 0x3FFFFFFF",
            normal,
            b"Q\x3f\xff\xff\xffSELECT",
            too_large(t(b'Q'), 0x3FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        row(
            "fe Query length word 0x7FFFFFFF",
            normal,
            b"Q\x7f\xff\xff\xff",
            too_large(t(b'Q'), 0x7FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        row(
            "fe Parse length word 0x3FFFFFFF",
            normal,
            b"P\x3f\xff\xff\xff",
            too_large(t(b'P'), 0x3FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        row(
            "fe Bind length word 0x3FFFFFFF",
            normal,
            b"B\x3f\xff\xff\xff",
            too_large(t(b'B'), 0x3FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        row(
            "fe FunctionCall length word 0x3FFFFFFF",
            normal,
            b"F\x3f\xff\xff\xff",
            too_large(t(b'F'), 0x3FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        row(
            "fe CopyData length word 0x3FFFFFFF",
            normal,
            b"d\x3f\xff\xff\xff",
            too_large(t(b'd'), 0x3FFF_FFFF, 0x3FFF_FFFE),
            PV,
            FATAL,
        ),
        // ----- frontend: `p` over 65535, in each of its four meanings ------------------------
        row(
            "fe PasswordMessage length word 65536",
            Fe(F::Password),
            b"p\0\x01\0\0",
            too_large(t(b'p'), 65536, 65535),
            PV,
            FATAL,
        ),
        row(
            "fe SASLInitialResponse length word 65536",
            Fe(F::SaslInitialResponse),
            b"p\0\x01\0\0SCRAM-SHA-256\0",
            too_large(t(b'p'), 65536, 65535),
            PV,
            FATAL,
        ),
        row(
            "fe SASLResponse length word 65536",
            Fe(F::SaslResponse),
            b"p\0\x01\0\0c=biws",
            too_large(t(b'p'), 65536, 65535),
            PV,
            FATAL,
        ),
        row(
            "fe GSSResponse length word 0x7FFFFFFF",
            Fe(F::GssResponse),
            b"p\x7f\xff\xff\xff",
            too_large(t(b'p'), 0x7FFF_FFFF, 65535),
            PV,
            FATAL,
        ),
        // ----- frontend: unknown type bytes ----------------------------------------------------
        row(
            "fe type 'Z' (a backend type)",
            normal,
            b"Z\0\0\0\x05I",
            fe_unknown(b'Z'),
            PV,
            FATAL,
        ),
        row(
            "fe type 'p' outside authentication",
            normal,
            msg(b'p', b"secret\0"),
            fe_unknown(b'p'),
            PV,
            FATAL,
        ),
        row(
            "fe type 0x00",
            normal,
            b"\0\0\0\0\x04",
            fe_unknown(0x00),
            PV,
            FATAL,
        ),
        row(
            "fe type 0xFF",
            normal,
            b"\xff\0\0\0\x04",
            fe_unknown(0xFF),
            PV,
            FATAL,
        ),
        row(
            "fe type 'R' during password authentication",
            Fe(F::Password),
            b"R\0\0\0\x08\0\0\0\0",
            fe_unknown(b'R'),
            PV,
            FATAL,
        ),
        // ----- frontend Query ------------------------------------------------------------------
        row(
            "fe Query empty body",
            normal,
            b"Q\0\0\0\x04",
            unterminated(t(b'Q'), "query string"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Query string without terminator",
            normal,
            b"Q\0\0\0\x0cSELECT 1",
            unterminated(t(b'Q'), "query string"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Query declared 2 bytes past the string",
            normal,
            b"Q\0\0\0\x0fSELECT 1\0\0\0",
            trailing(t(b'Q'), 2),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend Parse ------------------------------------------------------------------
        row(
            "fe Parse empty body",
            normal,
            msg(b'P', b""),
            unterminated(t(b'P'), "statement name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Parse statement name without terminator",
            normal,
            msg(b'P', b"stmt1"),
            unterminated(t(b'P'), "statement name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Parse query without terminator",
            normal,
            msg(b'P', b"stmt1\0SELECT $1"),
            unterminated(t(b'P'), "query string"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Parse without parameter type count",
            normal,
            msg(b'P', b"\0SELECT 1\0"),
            end(t(b'P'), "parameter type count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Parse 2 parameter types announced, 1 present",
            normal,
            msg(b'P', b"\0SELECT $1, $2\0\0\x02\0\0\0\x17"),
            end(t(b'P'), "parameter types"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Parse 2 bytes after the parameter types",
            normal,
            msg(b'P', b"\0SELECT $1\0\0\x01\0\0\0\x17\xaa\xbb"),
            trailing(t(b'P'), 2),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend Bind -------------------------------------------------------------------
        row(
            "fe Bind empty body",
            normal,
            msg(b'B', b""),
            unterminated(t(b'B'), "portal name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind portal name without terminator",
            normal,
            msg(b'B', b"portal"),
            unterminated(t(b'B'), "portal name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind statement name without terminator",
            normal,
            msg(b'B', b"portal\0stmt"),
            unterminated(t(b'B'), "statement name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind without parameter format count",
            normal,
            msg(b'B', b"\0\0"),
            end(t(b'B'), "parameter format count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind 2 parameter formats announced, 1 present",
            normal,
            msg(b'B', b"\0\0\0\x02\0\x01"),
            end(t(b'B'), "parameter formats"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind without parameter count",
            normal,
            msg(b'B', b"\0\0\0\0"),
            end(t(b'B'), "parameter count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind 2 parameter formats but 3 parameters",
            normal,
            msg(
                b'B',
                b"\0\0\0\x02\0\0\0\x01\0\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0",
            ),
            DecodeError::CountMismatch {
                frame: t(b'B'),
                field: "parameter formats",
                count: 2,
                expected: 3,
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind 2 parameters announced, 1 present",
            normal,
            msg(b'B', b"\0\0\0\0\0\x02\0\0\0\x011"),
            end(t(b'B'), "parameter value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind parameter length -2",
            normal,
            msg(b'B', b"\0\0\0\0\0\x01\xff\xff\xff\xfe\0\0"),
            bad_len(t(b'B'), "parameter value", -2),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind parameter length 0x80000000",
            normal,
            msg(b'B', b"\0\0\0\0\0\x01\x80\0\0\0\0\0"),
            bad_len(t(b'B'), "parameter value", i32::MIN),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind parameter length 5, 3 bytes present",
            normal,
            msg(b'B', b"\0\0\0\0\0\x01\0\0\0\x05abc"),
            end(t(b'B'), "parameter value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind without result format count",
            normal,
            msg(b'B', b"\0\0\0\0\0\x01\0\0\0\x011"),
            end(t(b'B'), "result format count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind 1 result format announced, none present",
            normal,
            msg(b'B', b"\0\0\0\0\0\0\0\x01"),
            end(t(b'B'), "result formats"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Bind 1 byte after the result formats",
            normal,
            msg(b'B', b"\0\0\0\0\0\0\0\x01\0\x01\0"),
            trailing(t(b'B'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend Execute ----------------------------------------------------------------
        row(
            "fe Execute empty body",
            normal,
            b"E\0\0\0\x04",
            unterminated(t(b'E'), "portal name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Execute declared 7: shorter than portal + row limit",
            normal,
            b"E\0\0\0\x07\0\0\0",
            end(t(b'E'), "row limit"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Execute declared 11: 2 bytes past the row limit",
            normal,
            b"E\0\0\0\x0b\0\0\0\0\0\xaa\xbb",
            trailing(t(b'E'), 2),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend Describe / Close -------------------------------------------------------
        row(
            "fe Describe empty body",
            normal,
            b"D\0\0\0\x04",
            end(t(b'D'), "target"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Describe target 'X'",
            normal,
            b"D\0\0\0\x06X\0",
            DecodeError::InvalidTarget {
                frame: t(b'D'),
                target: b'X',
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Describe target 's' (lower case)",
            normal,
            b"D\0\0\0\x08sst\0",
            DecodeError::InvalidTarget {
                frame: t(b'D'),
                target: b's',
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Describe name without terminator",
            normal,
            b"D\0\0\0\x07Sst",
            unterminated(t(b'D'), "name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Describe declared 1 byte past the name",
            normal,
            b"D\0\0\0\x09Sst\0\0",
            trailing(t(b'D'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Close empty body",
            normal,
            b"C\0\0\0\x04",
            end(t(b'C'), "target"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Close target 0x00",
            normal,
            b"C\0\0\0\x06\0\0",
            DecodeError::InvalidTarget {
                frame: t(b'C'),
                target: 0,
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Close name without terminator",
            normal,
            b"C\0\0\0\x06Pp",
            unterminated(t(b'C'), "name"),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend FunctionCall -----------------------------------------------------------
        row(
            "fe FunctionCall empty body",
            normal,
            msg(b'F', b""),
            end(t(b'F'), "function OID"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall OID only",
            normal,
            msg(b'F', b"\0\0\x04\xd2"),
            end(t(b'F'), "argument format count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall 2 argument formats announced, 1 present",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\x02\0\0"),
            end(t(b'F'), "argument formats"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall without argument count",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\0"),
            end(t(b'F'), "argument count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall 2 argument formats but 3 arguments",
            normal,
            msg(
                b'F',
                b"\0\0\x04\xd2\0\x02\0\0\0\0\0\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0",
            ),
            DecodeError::CountMismatch {
                frame: t(b'F'),
                field: "argument formats",
                count: 2,
                expected: 3,
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall 2 arguments announced, 1 present",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\0\0\x02\xff\xff\xff\xff"),
            end(t(b'F'), "argument value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall argument length -2",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\0\0\x01\xff\xff\xff\xfe\0\0"),
            bad_len(t(b'F'), "argument value", -2),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall without result format",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\0\0\x01\0\0\0\x0242"),
            end(t(b'F'), "result format"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe FunctionCall 1 byte after the result format",
            normal,
            msg(b'F', b"\0\0\x04\xd2\0\0\0\0\0\x01\0"),
            trailing(t(b'F'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend CopyFail, Sync, Flush --------------------------------------------------
        row(
            "fe CopyFail empty body",
            normal,
            b"f\0\0\0\x04",
            unterminated(t(b'f'), "error message"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe CopyFail message without terminator",
            normal,
            b"f\0\0\0\x08oops",
            unterminated(t(b'f'), "error message"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Sync declared 5: 1 byte of body",
            normal,
            b"S\0\0\0\x05\0",
            trailing(t(b'S'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe Flush declared 7: 3 bytes of body",
            normal,
            b"H\0\0\0\x07abc",
            trailing(t(b'H'), 3),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend `p` bodies -------------------------------------------------------------
        row(
            "fe PasswordMessage empty body",
            Fe(F::Password),
            b"p\0\0\0\x04",
            unterminated(t(b'p'), "password"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe PasswordMessage without terminator",
            Fe(F::Password),
            b"p\0\0\0\x0asecret",
            unterminated(t(b'p'), "password"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe PasswordMessage 1 byte after the password",
            Fe(F::Password),
            b"p\0\0\0\x0csecret\0x",
            trailing(t(b'p'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse empty body",
            Fe(F::SaslInitialResponse),
            b"p\0\0\0\x04",
            unterminated(t(b'p'), "SASL mechanism"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse mechanism without terminator",
            Fe(F::SaslInitialResponse),
            msg(b'p', b"SCRAM-SHA-256"),
            unterminated(t(b'p'), "SASL mechanism"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse without data length",
            Fe(F::SaslInitialResponse),
            msg(b'p', b"SCRAM-SHA-256\0"),
            end(t(b'p'), "SASL data"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse data length -2",
            Fe(F::SaslInitialResponse),
            msg(b'p', b"SCRAM-SHA-256\0\xff\xff\xff\xfe"),
            bad_len(t(b'p'), "SASL data", -2),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse data length 32, 9 bytes present",
            Fe(F::SaslInitialResponse),
            msg(b'p', b"SCRAM-SHA-256\0\0\0\0\x20n,,n=,r=x"),
            end(t(b'p'), "SASL data"),
            PV,
            RECOVERABLE,
        ),
        row(
            "fe SASLInitialResponse 1 byte after the data",
            Fe(F::SaslInitialResponse),
            msg(b'p', b"SCRAM-SHA-256\0\0\0\0\x03n,,\0"),
            trailing(t(b'p'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- frontend startup packets --------------------------------------------------------
        row(
            "startup length word 0",
            startup,
            b"\0\0\0\0",
            too_small(st, 0),
            PV,
            FATAL,
        ),
        row(
            "startup length word 3",
            startup,
            b"\0\0\0\x03",
            too_small(st, 3),
            PV,
            FATAL,
        ),
        row(
            "startup length word 4 (no request code)",
            startup,
            b"\0\0\0\x04",
            too_small(st, 4),
            PV,
            FATAL,
        ),
        row(
            "startup length word 7",
            startup,
            b"\0\0\0\x07\0\x03\0",
            too_small(st, 7),
            PV,
            FATAL,
        ),
        row(
            "startup length word 0xFFFFFFFF",
            startup,
            b"\xff\xff\xff\xff\0\x03\0\0",
            too_small(st, -1),
            PV,
            FATAL,
        ),
        row(
            "startup payload 10001 (length word 10005)",
            startup,
            b"\0\0\x27\x15\0\x03\0\0user\0",
            too_large(st, 10001, 10000),
            PV,
            FATAL,
        ),
        row(
            "startup length word 0x7FFFFFFF",
            startup,
            b"\x7f\xff\xff\xff\0\x03\0\0",
            too_large(st, 0x7FFF_FFFB, 10000),
            PV,
            FATAL,
        ),
        row(
            "startup phase given a typed Query",
            startup,
            b"Q\0\0\0\x0dSELECT 1\0",
            too_large(st, 0x5100_0000 - 4, 10000),
            PV,
            FATAL,
        ),
        row(
            "startup phase given a TLS ClientHello",
            startup,
            b"\x16\x03\x01\x02\x00\x01\0\x01\xfc\x03\x03",
            too_large(st, 0x1603_0102 - 4, 10000),
            PV,
            FATAL,
        ),
        row(
            "startup protocol 2.0",
            startup,
            packet(b"\0\x02\0\0user\0alice\0\0"),
            DecodeError::UnsupportedProtocolVersion { major: 2, minor: 0 },
            NOT_SUPPORTED,
            FATAL,
        ),
        row(
            "startup protocol 4.0",
            startup,
            packet(b"\0\x04\0\0user\0alice\0\0"),
            DecodeError::UnsupportedProtocolVersion { major: 4, minor: 0 },
            NOT_SUPPORTED,
            FATAL,
        ),
        row(
            "startup protocol 1234.5681 (an unknown request code)",
            startup,
            packet(b"\x04\xd2\x16\x31"),
            DecodeError::UnsupportedProtocolVersion {
                major: 1234,
                minor: 5681,
            },
            NOT_SUPPORTED,
            FATAL,
        ),
        row(
            "startup without the final terminator",
            startup,
            packet(b"\0\x03\0\0user\0alice\0"),
            unterminated(st, "parameter name"),
            PV,
            FATAL,
        ),
        row(
            "startup with no parameters and no terminator",
            startup,
            packet(V3_0),
            unterminated(st, "parameter name"),
            PV,
            FATAL,
        ),
        row(
            "startup parameter name without a value",
            startup,
            packet(b"\0\x03\0\0user\0alice\0database\0"),
            unterminated(st, "parameter value"),
            PV,
            FATAL,
        ),
        row(
            "startup parameter value without terminator",
            startup,
            packet(b"\0\x03\0\0user\0alice"),
            unterminated(st, "parameter value"),
            PV,
            FATAL,
        ),
        row(
            "startup parameter name without terminator",
            startup,
            packet(b"\0\x03\0\0user"),
            unterminated(st, "parameter name"),
            PV,
            FATAL,
        ),
        row(
            "startup 4 bytes after the final terminator",
            startup,
            packet(b"\0\x03\0\0user\0alice\0\0junk"),
            trailing(st, 4),
            PV,
            FATAL,
        ),
        row(
            "startup 3.2, 1 byte after the final terminator",
            startup,
            packet(&cat(&[V3_2, b"user\0bob\0\0\0"])),
            trailing(st, 1),
            PV,
            FATAL,
        ),
        row(
            "CancelRequest with half a process id",
            startup,
            packet(&cat(&[CANCEL, b"\0\x01"])),
            end(st, "process id"),
            PV,
            FATAL,
        ),
        row(
            "CancelRequest key of 0 bytes",
            startup,
            packet(&cat(&[CANCEL, PID])),
            DecodeError::InvalidCancelKeyLength {
                frame: st,
                length: 0,
            },
            PV,
            FATAL,
        ),
        row(
            "CancelRequest key of 3 bytes",
            startup,
            packet(&cat(&[CANCEL, PID, b"\x01\x02\x03"])),
            DecodeError::InvalidCancelKeyLength {
                frame: st,
                length: 3,
            },
            PV,
            FATAL,
        ),
        row(
            "CancelRequest key of 257 bytes",
            startup,
            packet(&cat(&[CANCEL, PID, &[0x5a; 257]])),
            DecodeError::InvalidCancelKeyLength {
                frame: st,
                length: 257,
            },
            PV,
            FATAL,
        ),
        // ----- backend: length words ------------------------------------------------------------
        row(
            "be ReadyForQuery length word 0",
            be,
            b"Z\0\0\0\0",
            too_small(t(b'Z'), 0),
            PV,
            FATAL,
        ),
        row(
            "be CommandComplete length word 3",
            be,
            b"C\0\0\0\x03",
            too_small(t(b'C'), 3),
            PV,
            FATAL,
        ),
        row(
            "be DataRow length word 0xFFFFFFFF",
            be,
            b"D\xff\xff\xff\xff",
            too_small(t(b'D'), -1),
            PV,
            FATAL,
        ),
        row(
            "be ReadyForQuery length word 30001",
            be,
            b"Z\0\0\x75\x31I",
            too_large(t(b'Z'), 30001, 30000),
            PV,
            FATAL,
        ),
        row(
            "be ParameterStatus length word 30001",
            be,
            b"S\0\0\x75\x31TimeZone\0",
            too_large(t(b'S'), 30001, 30000),
            PV,
            FATAL,
        ),
        row(
            "be Authentication length word 30001",
            be,
            b"R\0\0\x75\x31\0\0\0\x0b",
            too_large(t(b'R'), 30001, 30000),
            PV,
            FATAL,
        ),
        row(
            "be ParameterDescription length word 30001",
            be,
            b"t\0\0\x75\x31",
            too_large(t(b't'), 30001, 30000),
            PV,
            FATAL,
        ),
        row(
            "be CommandComplete length word 0x7FFFFFFF",
            be,
            b"C\x7f\xff\xff\xff",
            too_large(t(b'C'), 0x7FFF_FFFF, 30000),
            PV,
            FATAL,
        ),
        row(
            "be DataRow length word 0x40000000",
            be,
            b"D\x40\0\0\0\0\x01",
            too_large(t(b'D'), 0x4000_0000, 0x3FFF_FFFF),
            PV,
            FATAL,
        ),
        // ----- backend: unknown type bytes -----------------------------------------------------
        row(
            "be type 'Q' (a frontend type)",
            be,
            b"Q\0\0\0\x0dSELECT 1\0",
            be_unknown(b'Q'),
            PV,
            FATAL,
        ),
        row(
            "be type 'p'",
            be,
            msg(b'p', b"secret\0"),
            be_unknown(b'p'),
            PV,
            FATAL,
        ),
        row(
            "be type 0x00",
            be,
            b"\0\0\0\0\x04",
            be_unknown(0x00),
            PV,
            FATAL,
        ),
        row(
            "be type 0xFF",
            be,
            b"\xff\0\0\0\x04",
            be_unknown(0xFF),
            PV,
            FATAL,
        ),
        // ----- backend Authentication ----------------------------------------------------------
        row(
            "be Authentication empty body",
            be,
            b"R\0\0\0\x04",
            end(t(b'R'), "authentication request code"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication half a request code",
            be,
            b"R\0\0\0\x06\0\0",
            end(t(b'R'), "authentication request code"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationMD5Password with a 2-byte salt",
            be,
            b"R\0\0\0\x0a\0\0\0\x05\xab\xcd",
            end(t(b'R'), "MD5 salt"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationMD5Password 1 byte after the salt",
            be,
            b"R\0\0\0\x0d\0\0\0\x05\xab\xcd\xef\x01\x02",
            trailing(t(b'R'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationOk with 1 byte of body",
            be,
            b"R\0\0\0\x09\0\0\0\0\0",
            trailing(t(b'R'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationCleartextPassword with 2 bytes of body",
            be,
            b"R\0\0\0\x0a\0\0\0\x03\0\0",
            trailing(t(b'R'), 2),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationSASL mechanism without terminator",
            be,
            msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256"),
            unterminated(t(b'R'), "SASL mechanism name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationSASL list without final terminator",
            be,
            msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0"),
            unterminated(t(b'R'), "SASL mechanism name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationSASL empty list, no terminator",
            be,
            msg(b'R', b"\0\0\0\x0a"),
            unterminated(t(b'R'), "SASL mechanism name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be AuthenticationSASL 1 byte after the list",
            be,
            msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0x"),
            trailing(t(b'R'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication subtype 1 (Kerberos 4)",
            be,
            b"R\0\0\0\x08\0\0\0\x01",
            DecodeError::UnknownAuthenticationType { code: 1 },
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication subtype 4 (crypt)",
            be,
            b"R\0\0\0\x0a\0\0\0\x04ab",
            DecodeError::UnknownAuthenticationType { code: 4 },
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication subtype 6 (SCM credentials)",
            be,
            b"R\0\0\0\x08\0\0\0\x06",
            DecodeError::UnknownAuthenticationType { code: 6 },
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication subtype 13",
            be,
            b"R\0\0\0\x08\0\0\0\x0d",
            DecodeError::UnknownAuthenticationType { code: 13 },
            PV,
            RECOVERABLE,
        ),
        row(
            "be Authentication subtype -1",
            be,
            b"R\0\0\0\x08\xff\xff\xff\xff",
            DecodeError::UnknownAuthenticationType { code: -1 },
            PV,
            RECOVERABLE,
        ),
        // ----- backend BackendKeyData ----------------------------------------------------------
        row(
            "be BackendKeyData empty body",
            be,
            b"K\0\0\0\x04",
            end(t(b'K'), "process id"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be BackendKeyData key of 0 bytes",
            be,
            msg(b'K', PID),
            DecodeError::InvalidCancelKeyLength {
                frame: t(b'K'),
                length: 0,
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "be BackendKeyData key of 3 bytes",
            be,
            msg(b'K', &cat(&[PID, b"\x01\x02\x03"])),
            DecodeError::InvalidCancelKeyLength {
                frame: t(b'K'),
                length: 3,
            },
            PV,
            RECOVERABLE,
        ),
        row(
            "be BackendKeyData key of 257 bytes",
            be,
            msg(b'K', &cat(&[PID, &[0xa5; 257]])),
            DecodeError::InvalidCancelKeyLength {
                frame: t(b'K'),
                length: 257,
            },
            PV,
            RECOVERABLE,
        ),
        // ----- backend NegotiateProtocolVersion ------------------------------------------------
        row(
            "be NegotiateProtocolVersion empty body",
            be,
            b"v\0\0\0\x04",
            end(t(b'v'), "protocol version"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NegotiateProtocolVersion without option count",
            be,
            b"v\0\0\0\x08\0\x03\0\0",
            end(t(b'v'), "option count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NegotiateProtocolVersion option count -1",
            be,
            b"v\0\0\0\x0c\0\x03\0\0\xff\xff\xff\xff",
            bad_len(t(b'v'), "option count", -1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NegotiateProtocolVersion 2 options announced, 1 present",
            be,
            msg(b'v', b"\0\x03\0\0\0\0\0\x02_pq_.a\0"),
            unterminated(t(b'v'), "option name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NegotiateProtocolVersion 1 byte after the options",
            be,
            msg(b'v', b"\0\x03\0\0\0\0\0\x01_pq_.a\0\0"),
            trailing(t(b'v'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend ParameterStatus ---------------------------------------------------------
        row(
            "be ParameterStatus empty body",
            be,
            b"S\0\0\0\x04",
            unterminated(t(b'S'), "parameter name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ParameterStatus name without terminator",
            be,
            msg(b'S', b"TimeZone"),
            unterminated(t(b'S'), "parameter name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ParameterStatus value without terminator",
            be,
            msg(b'S', b"TimeZone\0UTC"),
            unterminated(t(b'S'), "parameter value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ParameterStatus 1 byte after the value",
            be,
            msg(b'S', b"TimeZone\0UTC\0\0"),
            trailing(t(b'S'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend ReadyForQuery -----------------------------------------------------------
        row(
            "be ReadyForQuery empty body",
            be,
            b"Z\0\0\0\x04",
            end(t(b'Z'), "transaction status"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ReadyForQuery status 'X'",
            be,
            b"Z\0\0\0\x05X",
            DecodeError::InvalidTransactionStatus { status: b'X' },
            PV,
            RECOVERABLE,
        ),
        row(
            "be ReadyForQuery status 'i' (lower case)",
            be,
            b"Z\0\0\0\x05i",
            DecodeError::InvalidTransactionStatus { status: b'i' },
            PV,
            RECOVERABLE,
        ),
        row(
            "be ReadyForQuery status 0x00",
            be,
            b"Z\0\0\0\x05\0",
            DecodeError::InvalidTransactionStatus { status: 0 },
            PV,
            RECOVERABLE,
        ),
        row(
            "be ReadyForQuery declared 6: 1 byte past the status",
            be,
            b"Z\0\0\0\x06II",
            trailing(t(b'Z'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend bodiless messages with a body ------------------------------------------
        row(
            "be ParseComplete with 1 byte of body",
            be,
            b"1\0\0\0\x05\0",
            trailing(t(b'1'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be BindComplete with 2 bytes of body",
            be,
            b"2\0\0\0\x06\0\0",
            trailing(t(b'2'), 2),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NoData with 1 byte of body",
            be,
            b"n\0\0\0\x05n",
            trailing(t(b'n'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be EmptyQueryResponse with 1 byte of body",
            be,
            b"I\0\0\0\x05\0",
            trailing(t(b'I'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend ParameterDescription ----------------------------------------------------
        row(
            "be ParameterDescription empty body",
            be,
            b"t\0\0\0\x04",
            end(t(b't'), "parameter count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ParameterDescription 3 types announced, 1 present",
            be,
            b"t\0\0\0\x0a\0\x03\0\0\0\x17",
            end(t(b't'), "parameter types"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ParameterDescription 2 bytes after the types",
            be,
            b"t\0\0\0\x0c\0\x01\0\0\0\x17\0\0",
            trailing(t(b't'), 2),
            PV,
            RECOVERABLE,
        ),
        // ----- backend RowDescription ----------------------------------------------------------
        row(
            "be RowDescription empty body",
            be,
            b"T\0\0\0\x04",
            end(t(b'T'), "field count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be RowDescription field name without terminator",
            be,
            msg(b'T', b"\0\x01id"),
            unterminated(t(b'T'), "field name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be RowDescription field with 10 of 18 bytes",
            be,
            msg(b'T', b"\0\x01id\0\0\0\x40\0\0\x01\0\0\0\x17"),
            end(t(b'T'), "field description"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be RowDescription 2 fields announced, 1 present",
            be,
            msg(
                b'T',
                b"\0\x02id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0",
            ),
            unterminated(t(b'T'), "field name"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be RowDescription 1 byte after the fields",
            be,
            msg(
                b'T',
                b"\0\x01id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0\0",
            ),
            trailing(t(b'T'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend DataRow -----------------------------------------------------------------
        row(
            "be DataRow empty body",
            be,
            b"D\0\0\0\x04",
            end(t(b'D'), "column count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be DataRow 2 values announced, 1 present",
            be,
            msg(b'D', b"\0\x02\0\0\0\x011"),
            end(t(b'D'), "column value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be DataRow value length -2",
            be,
            msg(b'D', b"\0\x01\xff\xff\xff\xfe"),
            bad_len(t(b'D'), "column value", -2),
            PV,
            RECOVERABLE,
        ),
        row(
            "be DataRow value length 10, 3 bytes present",
            be,
            msg(b'D', b"\0\x01\0\0\0\x0aabc"),
            end(t(b'D'), "column value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be DataRow 1 byte after the values",
            be,
            msg(b'D', b"\0\x01\xff\xff\xff\xff\0"),
            trailing(t(b'D'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend CommandComplete, FunctionCallResponse -----------------------------------
        row(
            "be CommandComplete empty body",
            be,
            b"C\0\0\0\x04",
            unterminated(t(b'C'), "command tag"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be CommandComplete tag without terminator",
            be,
            msg(b'C', b"SELECT 1"),
            unterminated(t(b'C'), "command tag"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be CommandComplete 1 byte after the tag",
            be,
            msg(b'C', b"SELECT 1\0\0"),
            trailing(t(b'C'), 1),
            PV,
            RECOVERABLE,
        ),
        row(
            "be FunctionCallResponse empty body",
            be,
            b"V\0\0\0\x04",
            end(t(b'V'), "result value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be FunctionCallResponse value length -2",
            be,
            b"V\0\0\0\x08\xff\xff\xff\xfe",
            bad_len(t(b'V'), "result value", -2),
            PV,
            RECOVERABLE,
        ),
        row(
            "be FunctionCallResponse value length 4, 2 bytes present",
            be,
            b"V\0\0\0\x0a\0\0\0\x04\0\x2a",
            end(t(b'V'), "result value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be FunctionCallResponse 1 byte after the value",
            be,
            b"V\0\0\0\x09\xff\xff\xff\xff\0",
            trailing(t(b'V'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend ErrorResponse / NoticeResponse ------------------------------------------
        row(
            "be ErrorResponse empty body",
            be,
            b"E\0\0\0\x04",
            end(t(b'E'), "field type"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ErrorResponse field value without terminator",
            be,
            msg(b'E', b"SERROR\0C08P01\0Mboom"),
            unterminated(t(b'E'), "field value"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ErrorResponse without the final terminator",
            be,
            msg(b'E', b"SERROR\0C08P01\0Mboom\0"),
            end(t(b'E'), "field type"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be ErrorResponse 2 bytes after the final terminator",
            be,
            msg(b'E', b"SERROR\0\0xy"),
            trailing(t(b'E'), 2),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NoticeResponse field value without terminator",
            be,
            msg(b'N', b"SNOTICE"),
            unterminated(t(b'N'), "field value"),
            PV,
            RECOVERABLE,
        ),
        // ----- backend NotificationResponse ----------------------------------------------------
        row(
            "be NotificationResponse half a process id",
            be,
            b"A\0\0\0\x06\0\0",
            end(t(b'A'), "process id"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NotificationResponse channel without terminator",
            be,
            msg(b'A', &cat(&[PID, b"chan"])),
            unterminated(t(b'A'), "channel"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be NotificationResponse payload without terminator",
            be,
            msg(b'A', &cat(&[PID, b"chan\0payload"])),
            unterminated(t(b'A'), "payload"),
            PV,
            RECOVERABLE,
        ),
        // ----- backend Copy responses ----------------------------------------------------------
        row(
            "be CopyInResponse empty body",
            be,
            b"G\0\0\0\x04",
            end(t(b'G'), "copy format"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be CopyOutResponse without column count",
            be,
            b"H\0\0\0\x05\0",
            end(t(b'H'), "column count"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be CopyBothResponse 2 column formats announced, 1 present",
            be,
            b"W\0\0\0\x09\0\0\x02\0\0",
            end(t(b'W'), "column formats"),
            PV,
            RECOVERABLE,
        ),
        row(
            "be CopyInResponse 1 byte after the formats",
            be,
            b"G\0\0\0\x0a\x01\0\x01\0\x01\0",
            trailing(t(b'G'), 1),
            PV,
            RECOVERABLE,
        ),
        // ----- backend answers to SSLRequest / GSSENCRequest ----------------------------------
        row(
            "be 'X' in answer to SSLRequest",
            Be(BackendPhase::SslResponse),
            b"X",
            DecodeError::InvalidEncryptionResponse { byte: b'X' },
            PV,
            FATAL,
        ),
        row(
            "be 'G' in answer to SSLRequest",
            Be(BackendPhase::SslResponse),
            b"G",
            DecodeError::InvalidEncryptionResponse { byte: b'G' },
            PV,
            FATAL,
        ),
        row(
            "be 0x16 in answer to SSLRequest",
            Be(BackendPhase::SslResponse),
            b"\x16\x03\x03\0\x02",
            DecodeError::InvalidEncryptionResponse { byte: 0x16 },
            PV,
            FATAL,
        ),
        row(
            "be 'S' in answer to GSSENCRequest",
            Be(BackendPhase::GssEncResponse),
            b"S",
            DecodeError::InvalidEncryptionResponse { byte: b'S' },
            PV,
            FATAL,
        ),
        row(
            "be 'X' in answer to GSSENCRequest",
            Be(BackendPhase::GssEncResponse),
            b"X",
            DecodeError::InvalidEncryptionResponse { byte: b'X' },
            PV,
            FATAL,
        ),
        row(
            "be truncated ErrorResponse in answer to SSLRequest",
            Be(BackendPhase::SslResponse),
            b"E\0\0\0\x05S",
            unterminated(t(b'E'), "field value"),
            PV,
            RECOVERABLE,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// The runner.

/// Both decoders, seen the same way.
trait Decode {
    type Msg: Debug + PartialEq;
    fn next(&mut self, src: &mut BytesMut) -> Result<Option<Self::Msg>, DecodeError>;
}

impl Decode for FrontendDecoder {
    type Msg = FrontendMessage;
    fn next(&mut self, src: &mut BytesMut) -> Result<Option<FrontendMessage>, DecodeError> {
        self.decode(src)
    }
}

impl Decode for BackendDecoder {
    type Msg = BackendMessage;
    fn next(&mut self, src: &mut BytesMut) -> Result<Option<BackendMessage>, DecodeError> {
        self.decode(src)
    }
}

/// Feeds the row's bytes followed by `trailer` (a valid message) and checks the error and what
/// the decoder does afterwards. Panics (through `assert_eq!`) on any mismatch.
fn check<D: Decode>(row: &Row, mut dec: D, trailer: &[u8], after: D::Msg) {
    let name = row.name;
    let mut input = BytesMut::from(&row.input[..]);
    input.extend_from_slice(trailer);

    let err = match dec.next(&mut input) {
        Err(e) => e,
        Ok(m) => panic!("row {name:?}: expected Err({:?}), got Ok({m:?})", row.error),
    };
    assert_eq!(err, row.error, "row {name:?}: error");
    assert_eq!(err.sqlstate(), row.sqlstate, "row {name:?}: sqlstate");
    assert_eq!(
        err.is_recoverable(),
        row.recoverable,
        "row {name:?}: is_recoverable"
    );
    assert!(!err.to_string().is_empty(), "row {name:?}: empty Display");

    if row.recoverable {
        // The bad frame is gone; the valid message after it comes out next, then nothing.
        assert_eq!(
            dec.next(&mut input),
            Ok(Some(after)),
            "row {name:?}: message after a recoverable error"
        );
        assert_eq!(dec.next(&mut input), Ok(None), "row {name:?}: then nothing");
        assert!(input.is_empty(), "row {name:?}: {} bytes left", input.len());
    } else {
        // Poisoned: the same error, however often it is asked and whatever follows.
        assert_eq!(
            dec.next(&mut input),
            Err(err.clone()),
            "row {name:?}: second decode after a fatal error"
        );
        input.extend_from_slice(trailer);
        assert_eq!(
            dec.next(&mut input),
            Err(err),
            "row {name:?}: third decode after a fatal error"
        );
    }
}

fn run(row: &Row) {
    match row.decoder {
        Decoder::Frontend(phase) => {
            let mut dec = FrontendDecoder::new();
            dec.set_phase(phase);
            check(row, dec, SYNC, FrontendMessage::Sync);
        }
        Decoder::Backend(phase) => {
            let mut dec = BackendDecoder::new();
            dec.set_phase(phase);
            check(
                row,
                dec,
                READY,
                BackendMessage::ReadyForQuery(TransactionStatus::Idle),
            );
        }
    }
}

#[test]
fn malformed_frames() {
    let rows = rows();
    assert!(rows.len() >= 50, "only {} rows", rows.len());
    let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows.len(), "row names must be unique");

    // Every row runs even when an earlier one fails or the decoder panics, so one run shows
    // every discrepancy (the panic messages go to stderr only on failure).
    let failed: Vec<&str> = rows
        .iter()
        .filter(|row| catch_unwind(AssertUnwindSafe(|| run(row))).is_err())
        .map(|row| row.name)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} rows failed: {failed:#?}",
        failed.len(),
        rows.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The other side of each limit: the boundary values are accepted.

fn decode_one_fe(phase: FrontendPhase, bytes: &[u8]) -> FrontendMessage {
    let mut dec = FrontendDecoder::new();
    dec.set_phase(phase);
    let mut input = BytesMut::from(bytes);
    let m = dec.decode(&mut input);
    assert!(input.is_empty(), "{} bytes left", input.len());
    match m {
        Ok(Some(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn frontend_small_message_of_length_word_10000_is_accepted() {
    // 'f' CopyFail: length word 10000 = 4 + 9995 bytes of message + terminator.
    let mut bytes = b"f\0\0\x27\x10".to_vec();
    bytes.extend_from_slice(&[b'x'; 9995]);
    bytes.push(0);
    assert_eq!(bytes.len(), 1 + 10000);
    match decode_one_fe(FrontendPhase::Normal, &bytes) {
        FrontendMessage::CopyFail(m) => assert_eq!(m.message.as_bytes().len(), 9995),
        other => panic!("expected CopyFail, got {other:?}"),
    }

    // 'E' Execute: length word 10000 = 4 + 9991-byte portal name + terminator + row limit.
    let mut bytes = b"E\0\0\x27\x10".to_vec();
    bytes.extend_from_slice(&[b'p'; 9991]);
    bytes.extend_from_slice(b"\0\0\0\0\x0a");
    assert_eq!(bytes.len(), 1 + 10000);
    match decode_one_fe(FrontendPhase::Normal, &bytes) {
        FrontendMessage::Execute(m) => assert_eq!(m.max_rows, 10),
        other => panic!("expected Execute, got {other:?}"),
    }

    // A large type just over the small limit is fine: 'Q' with length word 10001.
    let mut bytes = b"Q\0\0\x27\x11".to_vec();
    bytes.extend_from_slice(&[b' '; 9996]);
    bytes.push(0);
    assert!(matches!(
        decode_one_fe(FrontendPhase::Normal, &bytes),
        FrontendMessage::Query(_)
    ));
}

#[test]
fn password_message_of_length_word_65535_is_accepted() {
    let mut bytes = b"p\0\0\xff\xff".to_vec();
    bytes.extend_from_slice(&[b'x'; 65530]);
    bytes.push(0);
    assert_eq!(bytes.len(), 1 + 65535);
    match decode_one_fe(FrontendPhase::Password, &bytes) {
        FrontendMessage::Password(m) => assert_eq!(m.password.as_bytes().len(), 65530),
        other => panic!("expected PasswordMessage, got {other:?}"),
    }
}

#[test]
fn startup_payload_of_10000_is_accepted() {
    // Length word 10004: payload = 4 (version) + "user\0" + 9989-byte value + "\0" + "\0".
    let mut bytes = b"\0\0\x27\x14\0\x03\0\0user\0".to_vec();
    bytes.extend_from_slice(&[b'u'; 9989]);
    bytes.extend_from_slice(b"\0\0");
    assert_eq!(bytes.len(), 4 + 10000);
    let mut dec = FrontendDecoder::new();
    let mut input = BytesMut::from(&bytes[..]);
    input.extend_from_slice(SYNC);
    match dec.decode(&mut input) {
        Ok(Some(FrontendMessage::Startup(m))) => {
            assert_eq!(m.user().map(<[u8]>::len), Some(9989));
        }
        other => panic!("expected StartupMessage, got {other:?}"),
    }
    assert_eq!(dec.phase(), FrontendPhase::Normal);
    assert_eq!(dec.decode(&mut input), Ok(Some(FrontendMessage::Sync)));
}

#[test]
fn backend_small_message_of_length_word_30000_is_accepted() {
    // 'S' ParameterStatus: length word 30000 = 4 + "name\0" + 29990-byte value + "\0".
    let mut bytes = b"S\0\0\x75\x30name\0".to_vec();
    bytes.extend_from_slice(&[b'v'; 29990]);
    bytes.push(0);
    assert_eq!(bytes.len(), 1 + 30000);
    let mut dec = BackendDecoder::new();
    let mut input = BytesMut::from(&bytes[..]);
    match dec.decode(&mut input) {
        Ok(Some(BackendMessage::ParameterStatus(m))) => {
            assert_eq!(m.value.as_bytes().len(), 29990);
        }
        other => panic!("expected ParameterStatus, got {other:?}"),
    }
    assert!(input.is_empty());

    // A long type over 30000 is fine: 'D' with one 39990-byte value (length word 40000).
    let mut bytes = b"D\0\0\x9c\x40\0\x01\0\0\x9c\x36".to_vec();
    bytes.extend_from_slice(&[b'd'; 39990]);
    assert_eq!(bytes.len(), 1 + 40000);
    let mut input = BytesMut::from(&bytes[..]);
    match dec.decode(&mut input) {
        Ok(Some(BackendMessage::DataRow(row))) => assert_eq!(row.len(), 1),
        other => panic!("expected DataRow, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Declared lengths reserve nothing.

#[test]
fn huge_declared_length_reserves_no_memory() {
    // Frontend 'Q' declaring the largest allowed length, with 6 body bytes present.
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::Normal);
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(b"Q\x3f\xff\xff\xfeSELECT");
    let capacity = input.capacity();
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(input.capacity(), capacity);
    assert_eq!(input.len(), 11);
    assert_eq!(dec.bytes_needed(), 0x3FFF_FFFE + 1);
    // More bytes, still far from complete: still nothing reserved, still waiting.
    input.extend_from_slice(b" 1;");
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(input.capacity(), capacity);
    assert_eq!(dec.bytes_needed(), 0x3FFF_FFFE + 1);

    // Backend 'D' declaring the largest allowed length.
    let mut dec = BackendDecoder::new();
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(b"D\x3f\xff\xff\xff\0\x01");
    let capacity = input.capacity();
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(input.capacity(), capacity);
    assert_eq!(dec.bytes_needed(), 0x3FFF_FFFF + 1);

    // A startup packet declaring the largest allowed payload.
    let mut dec = FrontendDecoder::new();
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(b"\0\0\x27\x14\0\x03\0\0user\0");
    let capacity = input.capacity();
    assert_eq!(dec.decode(&mut input), Ok(None));
    assert_eq!(input.capacity(), capacity);
    assert_eq!(dec.bytes_needed(), 10004);
}
