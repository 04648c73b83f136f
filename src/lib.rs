//! pgproto: the PostgreSQL frontend/backend wire protocol as a sans-IO library.
//!
//! The crate owns no socket, spawns nothing, reads no clock and draws no randomness of its own:
//! the caller moves bytes, and any runtime (tokio, smol, a blocking loop, a fuzzer) can drive
//! it.
//!
//! # A driving loop
//!
//! A complete PostgreSQL-compatible server on a blocking socket, one thread per connection:
//! bytes go in with `handle_input`, events come out with `poll_event` and are answered, and
//! bytes to send come out with `poll_transmit`. psql can talk to it.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Instant;
//!
//! use pgproto::message::TransactionStatus;
//! use pgproto::server::{Auth, Column, Config, Connection, Event, PgError};
//! use pgproto::types::oid;
//! use pgproto::SqlState;
//!
//! fn serve(mut sock: TcpStream, process_id: i32) -> std::io::Result<()> {
//!     let mut config = Config::default();
//!     config.process_id = process_id;
//!     let mut conn: Connection = Connection::new(config, Instant::now());
//!     let mut buf = [0u8; 16 * 1024];
//!     loop {
//!         while let Some(event) = conn.poll_event() {
//!             let answer = match event {
//!                 Event::TlsRequested => conn.decline_tls(),
//!                 Event::Startup(_) => conn.authenticate(Auth::Trust),
//!                 Event::Query { sql } if sql.as_bytes().eq_ignore_ascii_case(b"select 1") => {
//!                     conn.row_description(&[Column::new("?column?", oid::INT4)])
//!                         .and_then(|()| conn.write_row(|row| row.int(1)))
//!                         .and_then(|()| conn.command_complete("SELECT 1"))
//!                         .and_then(|()| conn.query_done(TransactionStatus::Idle))
//!                 }
//!                 Event::Query { .. } => conn
//!                     .error(PgError::new(SqlState::SYNTAX_ERROR, "only SELECT 1 here"))
//!                     .and_then(|()| conn.query_done(TransactionStatus::Idle)),
//!                 Event::Terminated(_) => return Ok(()),
//!                 _ => Ok(()),
//!             };
//!             answer.expect("answers follow the protocol");
//!         }
//!         while let Some(bytes) = conn.poll_transmit() {
//!             sock.write_all(&bytes)?;
//!         }
//!         if conn.is_closed() {
//!             return Ok(());
//!         }
//!         match sock.read(&mut buf)? {
//!             0 => conn.handle_eof(Instant::now()),
//!             n => conn.handle_input(Instant::now(), &buf[..n]),
//!         }
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:5433")?;
//!     for (pid, sock) in (1..).zip(listener.incoming()) {
//!         let sock = sock?;
//!         std::thread::spawn(move || serve(sock, pid));
//!     }
//!     Ok(())
//! }
//! ```
//!
//! examples/blocking.rs is the same loop with TLS, every authentication method, timers,
//! notifications between sessions and cancellation.
//!
//! # Layers
//!
//! - [`message`]: every message of protocol 3.0 and 3.2, zero-copy decoders for both
//!   directions with PostgreSQL's limits, encoders.
//! - [`auth`]: SCRAM-SHA-256(-PLUS), MD5 and cleartext exchanges for both sides.
//! - [`types`]: text and binary encodings of the core types, arrays, binary COPY, the row writer.
//! - [`server`]: the backend connection state machine.
//! - [`client`]: the frontend connection state machine.
//! - [`replication`]: replication commands and results, the COPY BOTH stream messages, and
//!   the `pgoutput` logical decoding format.
//! - [`sqlstate`]: the error codes every layer maps its failures to.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod message;
pub mod replication;
pub mod server;
pub mod sqlstate;
pub mod types;

pub use sqlstate::SqlState;

/// The README's examples are compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
