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
//! The driving loop in [`serve`] is all a server needs around the state machine: feed it what
//! the socket delivers, answer its events, write what it wants written, fire its timer. Reads
//! time out every [`TICK`] so that an idle connection still wakes up to deliver notifications
//! from other connections and to notice the authentication timeout.

#[path = "common/catalog.rs"]
mod catalog;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::{Conn, Next, Server, Session, Tls};
use pgproto::SqlState;
use pgproto::server::{Connection, Event, PgError};
use rustls::{ServerConnection, StreamOwned};

/// How long a socket read waits before the loop goes round anyway.
const TICK: Duration = Duration::from_millis(50);
/// How often a sleeping statement looks for a cancel.
const SLEEP_STEP: Duration = Duration::from_millis(10);

fn main() -> io::Result<()> {
    let server = Arc::new(Server::from_args());
    let listener = TcpListener::bind(&server.options.listen)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for socket in listener.incoming() {
        let socket = match socket {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let server = server.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(socket, server) {
                eprintln!("connection: {e}");
            }
        });
    }
    Ok(())
}

/// Runs one connection to its end.
fn serve(socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    socket.set_read_timeout(Some(TICK))?;
    socket.set_nodelay(true)?;
    let mut stream = Stream::Plain(socket);
    let mut session = Session::new(server.clone());
    let mut conn: Conn = Connection::new(session.config(), Instant::now());
    let mut buf = vec![0; 64 * 1024];
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::TlsRequested => match &server.options.tls {
                    Some(tls) => {
                        conn.accept_tls().map_err(io::Error::other)?;
                        if conn.is_closed() {
                            continue; // plaintext pipelined after SSLRequest: refused
                        }
                        transmit(&mut conn, &mut stream)?; // the `S`
                        stream = stream.start_tls(tls, &[], conn.poll_timeout())?;
                        conn.handle_tls_established(Some(&tls.certificate))
                            .map_err(io::Error::other)?;
                    }
                    None => conn.decline_tls().map_err(io::Error::other)?,
                },
                Event::DirectTls { client_hello } => {
                    let Some(tls) = &server.options.tls else {
                        return Ok(());
                    };
                    stream = stream.start_tls(tls, &client_hello, conn.poll_timeout())?;
                    if stream.alpn() != Some(b"postgresql") {
                        return Ok(()); // PostgreSQL refuses direct TLS without ALPN too
                    }
                    conn.handle_tls_established(Some(&tls.certificate))
                        .map_err(io::Error::other)?;
                }
                Event::Terminated(_) => {
                    transmit(&mut conn, &mut stream)?;
                    stream.close();
                    return Ok(());
                }
                event => {
                    let mut next = session.handle(&mut conn, event);
                    // pg_sleep: wait in small steps so that a cancel gets through.
                    while let Ok(Next::Resume(until)) = next {
                        let left = until.saturating_duration_since(Instant::now());
                        std::thread::sleep(left.min(SLEEP_STEP));
                        next = session.resume(&mut conn, Instant::now());
                    }
                    if let Err(e) = next {
                        // A bug in the application: end the session rather than the server.
                        let message = format!("internal error: {e}");
                        conn.terminate(PgError::fatal(SqlState::INTERNAL_ERROR, message));
                    }
                }
            }
        }
        session
            .deliver_notifications(&mut conn)
            .map_err(io::Error::other)?;
        transmit(&mut conn, &mut stream)?;
        if conn.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            conn.handle_timeout(Instant::now());
            continue;
        }
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => conn.handle_input(Instant::now(), &buf[..n]),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            _ => conn.handle_eof(Instant::now()), // closed, reset, or a broken TLS stream
        }
    }
}

/// Writes everything the connection has ready.
fn transmit(conn: &mut Conn, stream: &mut Stream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    stream.flush()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The client's socket, in plaintext or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    /// Runs the TLS handshake, starting with `client_hello` when the client opened with it
    /// (direct TLS), and gives up at `deadline` (the authentication timeout).
    fn start_tls(
        self,
        tls: &Tls,
        client_hello: &[u8],
        deadline: Option<Instant>,
    ) -> io::Result<Stream> {
        let Stream::Plain(socket) = self else {
            return Err(io::Error::other("TLS is already on"));
        };
        let mut session = ServerConnection::new(tls.config.clone()).map_err(io::Error::other)?;
        let mut hello = client_hello;
        while !hello.is_empty() {
            session.read_tls(&mut hello)?;
        }
        session.process_new_packets().map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(session, socket);
        while stream.conn.is_handshaking() {
            match stream.conn.complete_io(&mut stream.sock) {
                Ok(_) => {}
                Err(e) if is_timeout(&e) && deadline.is_none_or(|d| Instant::now() < d) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Stream::Tls(Box::new(stream)))
    }

    /// The protocol ALPN chose.
    fn alpn(&self) -> Option<&[u8]> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => s.conn.alpn_protocol(),
        }
    }

    /// Says goodbye at the TLS level (close_notify) before the socket closes.
    fn close(&mut self) {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}
