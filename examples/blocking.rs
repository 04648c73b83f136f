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
//! The loop in [`serve`] is all a server needs around the state machine (with TLS and the
//! application behind `common/driver.rs`'s `Link`): drive, write, then read until the next
//! deadline. Reads also time out every [`TICK`] so that an idle connection wakes up to deliver
//! notifications from other connections; the async examples are woken instead.

#[path = "common/catalog.rs"]
mod catalog;
#[path = "common/driver.rs"]
mod driver;
#[path = "common/options.rs"]
mod options;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::{Server, Session};
use driver::Link;
use pgproto::server::Connection;

/// How long a socket read waits at most before the loop goes round anyway.
const TICK: Duration = Duration::from_millis(50);

fn main() -> io::Result<()> {
    let server = Arc::new(Server::from_args());
    let listener = TcpListener::bind(&server.options.listen)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for socket in listener.incoming() {
        match socket {
            Ok(socket) => {
                let server = server.clone();
                std::thread::spawn(move || serve(socket, server));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    Ok(())
}

/// Runs one connection to its end.
fn serve(mut socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let session = Session::new(server.clone());
    let conn = Connection::new(session.config(), Instant::now());
    let mut link = Link::new(conn, server.options.tls.clone(), session);
    let mut buf = vec![0; 64 * 1024];
    loop {
        link.drive(Instant::now());
        while let Some(bytes) = link.poll_write() {
            socket.write_all(&bytes)?;
        }
        if link.is_done() {
            return Ok(());
        }
        let now = Instant::now();
        let wait = link
            .deadline(now)
            .map_or(TICK, |d| d.saturating_duration_since(now));
        socket.set_read_timeout(Some(wait.clamp(Duration::from_millis(1), TICK)))?;
        match socket.read(&mut buf) {
            Ok(0) => link.handle_eof(Instant::now()),
            Ok(n) => link.handle_read(Instant::now(), &buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(_) => link.handle_eof(Instant::now()), // reset
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    use io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}
