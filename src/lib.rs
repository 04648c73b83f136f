//! pgproto: the PostgreSQL frontend/backend wire protocol as a sans-IO library.
//!
//! The crate owns no socket, spawns nothing, reads no clock and draws no randomness of its own:
//! the caller moves bytes, and any runtime (tokio, smol, a blocking loop, a fuzzer) can drive
//! it.
//!
//! # A driving loop
//!
//! The message layer splits bytes into typed messages as they arrive. Here a server reads a
//! client's startup packet and a query, fed in arbitrary pieces as a socket would deliver them,
//! and answers with a complete result:
//!
//! ```
//! use bytes::BytesMut;
//! use pgproto::message::{
//!     BackendMessage, CommandComplete, DataRow, FieldDescription, FrontendDecoder,
//!     FrontendMessage, ProtocolVersion, Query, RowDescription, StartupMessage,
//!     TransactionStatus,
//! };
//!
//! // What a client would send (normally: bytes read from a socket).
//! let mut wire = BytesMut::new();
//! StartupMessage::write(&mut wire, ProtocolVersion::V3_0, [("user", "alice")]).unwrap();
//! Query::write(&mut wire, "SELECT 1").unwrap();
//!
//! let mut decoder = FrontendDecoder::new();
//! let mut input = BytesMut::new();
//! let mut output = BytesMut::new();
//! for chunk in wire.chunks(3) {
//!     input.extend_from_slice(chunk); // a read from the socket
//!     while let Some(msg) = decoder.decode(&mut input).expect("valid input") {
//!         match msg {
//!             FrontendMessage::Startup(m) => {
//!                 assert_eq!(m.user(), Some(&b"alice"[..]));
//!                 pgproto::message::Authentication::Ok.encode(&mut output).unwrap();
//!                 BackendMessage::ReadyForQuery(TransactionStatus::Idle).encode(&mut output).unwrap();
//!             }
//!             FrontendMessage::Query(q) => {
//!                 assert_eq!(q.sql, "SELECT 1");
//!                 let col = FieldDescription {
//!                     name: b"?column?", table_oid: 0, column_id: 0, type_oid: 23,
//!                     type_size: 4, type_modifier: -1, format: 0,
//!                 };
//!                 RowDescription::write(&mut output, [col]).unwrap();
//!                 DataRow::write(&mut output, [Some(&b"1"[..])]).unwrap();
//!                 CommandComplete::write(&mut output, "SELECT 1").unwrap();
//!                 BackendMessage::ReadyForQuery(TransactionStatus::Idle).encode(&mut output).unwrap();
//!             }
//!             other => panic!("unexpected {other:?}"),
//!         }
//!     }
//! }
//! // `output` holds the bytes to write back. The client side reads them the same way:
//! let mut client = pgproto::message::BackendDecoder::new();
//! let mut seen = Vec::new();
//! while let Some(msg) = client.decode(&mut output).expect("valid output") {
//!     if let BackendMessage::DataRow(row) = &msg {
//!         assert_eq!(row.values().collect::<Vec<_>>(), [Some(&b"1"[..])]);
//!     }
//!     seen.push(msg);
//! }
//! assert_eq!(seen.len(), 6); // AuthenticationOk, ReadyForQuery, T, D, C, ReadyForQuery
//! ```
//!
//! Layers: [`message`] (typed frames, codecs, limits) is the foundation; [`sqlstate`] names the
//! error codes every layer maps its failures to.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod message;
pub mod server;
pub mod sqlstate;
pub mod types;

pub use sqlstate::SqlState;

/// The README's examples are compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
