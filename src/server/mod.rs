//! The server side: a sans-IO PostgreSQL backend connection.
//!
//! [`Connection`] turns client bytes into [`Event`]s and the application's answers into
//! protocol output, enforcing the protocol's flow rules (startup and TLS negotiation,
//! authentication with every method, simple and extended query with PostgreSQL's statement and
//! portal lifetimes, discard-until-Sync, COPY, function calls, notifications at any time).

mod config;
mod connection;
mod error;
mod event;
mod registry;

pub use config::Config;
pub use connection::{Auth, Connection};
pub use error::{ApiError, PgError, Severity};
pub use event::{Event, Replication, Startup, Termination};
pub use registry::{Column, Portal, Statement};
