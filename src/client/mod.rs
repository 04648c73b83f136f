//! The client side: a sans-IO PostgreSQL frontend connection.
//!
//! [`Connection`] mirrors the server's shape: requests go in as method calls that return a
//! [`RequestId`], server bytes go in with `handle_input`, and [`Event`]s come out in wire order,
//! each response tagged with the request it answers (pipelining, with errors and the
//! discard-until-Sync reported per request).

mod config;
mod connection;
mod conninfo;
mod error;
mod event;

pub use config::Config;
pub use connection::{CancelToken, Connection};
pub use conninfo::*;
pub use error::ClientError;
pub use event::{Event, RequestId, Response};
