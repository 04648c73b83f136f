//! A PostgreSQL-compatible server on `std::net`, one thread per connection, driving
//! `pgproto::server::Connection`. It serves the small catalog of `common/catalog.rs` (`SELECT 1`,
//! `SELECT $1::int + 1`, a shared table `items`, COPY, LISTEN/NOTIFY, `pg_sleep` with cancel,
//! transactions, SET/SHOW) to any client: psql, pgbench, libpq, JDBC, asyncpg, ...
//!
//! ```text
//! cargo run --example blocking -- --listen 127.0.0.1:5433
//! psql "host=127.0.0.1 port=5433 user=me" -c "SELECT * FROM items"
//! cargo run --example blocking -- --auth scram --user me --password secret \
//!     --tls-cert cert.pem --tls-key key.pem
//! ```
//!
//! The loop (`run_blocking` in `common/driver.rs`, shared with examples/sqlite.rs) is all a
//! server needs around the state machine, with TLS and the application behind a `Link`: drive,
//! write, then read until the next deadline. Reads also time out every 50 ms so that an idle
//! connection wakes up to deliver notifications from other connections; the async examples
//! are woken instead.

#[path = "common/catalog.rs"]
mod catalog;
#[path = "common/driver.rs"]
mod driver;
#[path = "common/options.rs"]
mod options;
#[path = "common/settings.rs"]
mod settings;

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use catalog::{Server, Session};
use driver::Link;
use pgproto::server::Connection;

fn main() -> io::Result<()> {
    let server = Arc::new(Server::from_args());
    let listen = server.options.listen.clone();
    driver::serve_threads(&listen, move |socket| serve(socket, server.clone()))
}

/// Runs one connection to its end.
fn serve(socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    let session = Session::new(server.clone());
    let conn = Connection::new(session.config(), Instant::now());
    driver::run_blocking(socket, Link::new(conn, server.options.tls.clone(), session))
}
