//! The part of the driving loop every server example shares, without any I/O: TLS (rustls, in
//! its own sans-IO form) between the socket and `pgproto::server::Connection`, and the hand-off
//! of events to the application. A runtime's loop around a [`Link`] is then, in any runtime:
//!
//! ```text
//! loop {
//!     link.drive(now);                                   // events -> application -> output
//!     while let Some(bytes) = link.poll_write() { write bytes to the socket }
//!     if link.is_done() { close the socket; return }
//!     wait for: socket readable -> link.handle_read(now, bytes) (or handle_eof),
//!               link.deadline(now), or a wake-up from another connection (a notification)
//! }
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pgproto::SqlState;
use pgproto::server::{ApiError, Connection, Event, PgError};
use rustls::ServerConnection;

use crate::options::Tls;

/// How often a statement that takes time (`pg_sleep`) is resumed to look for a cancel.
pub const SLEEP_STEP: Duration = Duration::from_millis(10);

/// What the driver does after handing the application an event.
pub enum Next {
    /// Go on: next event, transmit, read.
    Continue,
    /// A statement is running in the background (`pg_sleep`), or a large result waits for the
    /// output to be written (resuming at once): call [`App::resume`] at this instant, or earlier
    /// (every [`SLEEP_STEP`]) so that a cancel ends it promptly. No other event is handed over
    /// meanwhile.
    #[allow(dead_code)] // examples/sqlite.rs runs everything at once
    Resume(Instant),
}

/// The application side of one connection: what a server example serves.
pub trait App<S, P> {
    /// Answers an event (any but TLS negotiation and `Terminated`, which are the transport's).
    fn handle(&mut self, conn: &mut Connection<S, P>, event: Event) -> Result<Next, ApiError>;

    /// Goes on with a statement that asked for [`Next::Resume`].
    fn resume(&mut self, conn: &mut Connection<S, P>, now: Instant) -> Result<Next, ApiError> {
        let _ = (conn, now);
        Ok(Next::Continue)
    }

    /// Hands the connection what other connections sent this one (notifications).
    fn deliver_notifications(&mut self, conn: &mut Connection<S, P>) -> Result<(), ApiError> {
        let _ = conn;
        Ok(())
    }

    /// Work the application does on its own rather than in answer to an event, such as
    /// pushing a replication stream. Called on every pass of the loop, after the events:
    /// `run_blocking` passes at least every 50 ms even when nothing arrives.
    fn tick(&mut self, conn: &mut Connection<S, P>, now: Instant) -> Result<(), ApiError> {
        let _ = (conn, now);
        Ok(())
    }
}

/// Where the connection's TLS stands.
enum TlsState {
    Off,
    Handshaking { direct: bool },
    On,
}

/// The byte path between a socket and a server `Connection`: plaintext, or TLS after an
/// SSLRequest or a direct-TLS ClientHello.
pub struct Transport<S, P> {
    /// The protocol state machine.
    pub conn: Connection<S, P>,
    config: Option<Arc<Tls>>,
    tls: Option<Box<ServerConnection>>,
    state: TlsState,
    /// The transport gave up (a TLS error, direct TLS without ALPN): close the socket.
    failed: bool,
    close_notify_sent: bool,
    /// Bytes for the socket that are not the connection's own output (the `S` before the TLS
    /// handshake, TLS records).
    out: Vec<u8>,
    /// Decrypted input on its way to the connection.
    plain: Vec<u8>,
}

impl<S, P> Transport<S, P> {
    /// A transport for `conn`, offering TLS when `tls` is given.
    pub fn new(conn: Connection<S, P>, tls: Option<Arc<Tls>>) -> Self {
        Transport {
            conn,
            config: tls,
            tls: None,
            state: TlsState::Off,
            failed: false,
            close_notify_sent: false,
            out: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// Bytes from the socket.
    pub fn handle_read(&mut self, now: Instant, data: &[u8]) {
        match self.tls.take() {
            None => self.conn.handle_input(now, data),
            Some(mut tls) => {
                if self.read_tls(&mut tls, now, data).is_err() {
                    let _ = tls.write_tls(&mut self.out); // the alert rustls prepared, if any
                    self.failed = true;
                    self.conn.handle_eof(now);
                }
                self.tls = Some(tls);
            }
        }
    }

    /// Decrypts `data` into the connection, completing the handshake on the way.
    fn read_tls(
        &mut self,
        tls: &mut ServerConnection,
        now: Instant,
        mut data: &[u8],
    ) -> io::Result<()> {
        while !data.is_empty() {
            tls.read_tls(&mut data)?;
            tls.process_new_packets().map_err(io::Error::other)?;
            if let TlsState::Handshaking { direct } = self.state
                && !tls.is_handshaking()
            {
                if direct && tls.alpn_protocol() != Some(b"postgresql") {
                    // PostgreSQL refuses direct TLS without ALPN `postgresql` too.
                    return Err(io::Error::other("direct TLS without ALPN postgresql"));
                }
                self.state = TlsState::On;
                let certificate = &self.config.as_ref().expect("TLS is configured").certificate;
                self.conn
                    .handle_tls_established(Some(certificate))
                    .map_err(io::Error::other)?;
            }
            self.plain.resize(16 * 1024, 0);
            loop {
                match tls.reader().read(&mut self.plain) {
                    Ok(0) => {
                        self.conn.handle_eof(now); // close_notify
                        break;
                    }
                    Ok(n) => self.conn.handle_input(now, &self.plain[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            self.plain = Vec::new(); // idle connections keep no buffer
        }
        Ok(())
    }

    /// The socket reached its end (or failed).
    pub fn handle_eof(&mut self, now: Instant) {
        self.conn.handle_eof(now);
    }

    /// The next event for the application; TLS negotiation is handled here.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            match self.conn.poll_event()? {
                Event::TlsRequested => match self.config.clone() {
                    Some(tls) => {
                        if self.conn.accept_tls().is_err() || self.conn.is_closed() {
                            continue; // plaintext pipelined after SSLRequest: refused
                        }
                        while let Some(s) = self.conn.poll_transmit() {
                            self.out.extend_from_slice(&s); // the `S`, before any TLS record
                        }
                        self.start_tls(&tls, &[], false);
                    }
                    None => {
                        let _ = self.conn.decline_tls();
                    }
                },
                Event::DirectTls { client_hello } => match self.config.clone() {
                    Some(tls) => self.start_tls(&tls, &client_hello, true),
                    None => self.failed = true,
                },
                Event::Terminated(_) => {}
                event => return Some(event),
            }
        }
    }

    fn start_tls(&mut self, tls: &Tls, client_hello: &[u8], direct: bool) {
        match ServerConnection::new(tls.config.clone()) {
            Ok(mut session) => {
                session.set_buffer_limit(None); // the connection bounds its own output
                self.tls = Some(Box::new(session));
                self.state = TlsState::Handshaking { direct };
                if !client_hello.is_empty() {
                    self.handle_read(Instant::now(), client_hello);
                }
            }
            Err(_) => self.failed = true,
        }
    }

    /// The next bytes for the socket.
    pub fn poll_write(&mut self) -> Option<Bytes> {
        let Some(tls) = self.tls.as_mut() else {
            if !self.out.is_empty() {
                return Some(Bytes::from(std::mem::take(&mut self.out)));
            }
            return self.conn.poll_transmit();
        };
        while let Some(bytes) = self.conn.poll_transmit() {
            if tls.writer().write_all(&bytes).is_err() {
                self.failed = true;
                break;
            }
        }
        if self.conn.is_closed() && !self.close_notify_sent && !self.failed {
            tls.send_close_notify();
            self.close_notify_sent = true;
        }
        while tls.wants_write() {
            if tls.write_tls(&mut self.out).is_err() {
                break;
            }
        }
        (!self.out.is_empty()).then(|| Bytes::from(std::mem::take(&mut self.out)))
    }

    /// When [`Transport::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Fires the connection's timers (the authentication timeout among them).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
    }

    /// Whether the socket should be closed (after writing what [`Transport::poll_write`] has).
    pub fn is_done(&self) -> bool {
        self.failed || self.conn.is_closed()
    }
}

/// A [`Transport`] and the application answering its events.
pub struct Link<S, P, A> {
    /// The byte path and the state machine.
    pub transport: Transport<S, P>,
    /// The application.
    pub app: A,
    /// When the statement in progress wants to be resumed.
    resume_at: Option<Instant>,
}

impl<S, P, A: App<S, P>> Link<S, P, A> {
    /// A link for a new connection.
    pub fn new(conn: Connection<S, P>, tls: Option<Arc<Tls>>, app: A) -> Self {
        Link {
            transport: Transport::new(conn, tls),
            app,
            resume_at: None,
        }
    }

    /// Bytes from the socket.
    pub fn handle_read(&mut self, now: Instant, data: &[u8]) {
        self.transport.handle_read(now, data);
    }

    /// The socket reached its end.
    pub fn handle_eof(&mut self, now: Instant) {
        self.transport.handle_eof(now);
    }

    /// Does everything that can be done now: fires due timers, resumes a running statement,
    /// hands events to the application, delivers notifications, lets the application tick.
    pub fn drive(&mut self, now: Instant) {
        if self.transport.poll_timeout().is_some_and(|t| t <= now) {
            self.transport.handle_timeout(now);
        }
        if self.resume_at.is_some() {
            let next = self.app.resume(&mut self.transport.conn, now);
            self.after(next);
        }
        while self.resume_at.is_none() {
            let Some(event) = self.transport.poll_event() else {
                break;
            };
            let next = self.app.handle(&mut self.transport.conn, event);
            self.after(next);
        }
        let _ = self.app.deliver_notifications(&mut self.transport.conn);
        if let Err(e) = self.app.tick(&mut self.transport.conn, now) {
            self.after(Err(e));
        }
    }

    fn after(&mut self, next: Result<Next, ApiError>) {
        match next {
            Ok(Next::Continue) => self.resume_at = None,
            Ok(Next::Resume(at)) => self.resume_at = Some(at),
            Err(e) => {
                // A bug in the application: end the session rather than the server.
                self.resume_at = None;
                let message = format!("internal error: {e}");
                let error = PgError::fatal(SqlState::INTERNAL_ERROR, message);
                self.transport.conn.terminate(error);
            }
        }
    }

    /// The next bytes for the socket.
    pub fn poll_write(&mut self) -> Option<Bytes> {
        self.transport.poll_write()
    }

    /// When [`Link::drive`] must run again even if nothing arrives.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        let resume = self.resume_at.map(|at| at.min(now + SLEEP_STEP));
        match (self.transport.poll_timeout(), resume) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the socket should be closed, once what [`Link::poll_write`] gives is written.
    pub fn is_done(&self) -> bool {
        self.transport.is_done()
    }
}

/// How long a blocking read waits at most before the loop goes round anyway (to deliver
/// notifications from other connections).
const TICK: Duration = Duration::from_millis(50);

/// Runs one connection on a blocking socket to its end: the whole driving loop of a
/// thread-per-connection server.
#[allow(dead_code)]
pub fn run_blocking<S, P, A: App<S, P>>(
    mut socket: TcpStream,
    mut link: Link<S, P, A>,
) -> io::Result<()> {
    socket.set_nodelay(true)?;
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
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => link.handle_eof(Instant::now()), // reset
        }
    }
}

/// Listens on `addr`, prints `listening on ADDR`, and runs `serve` on a thread of its own for
/// every connection, for ever.
#[allow(dead_code)]
pub fn serve_threads<F>(addr: &str, serve: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> io::Result<()> + Clone + Send + 'static,
{
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for socket in listener.incoming() {
        match socket {
            Ok(socket) => {
                let serve = serve.clone();
                std::thread::spawn(move || serve(socket));
            }
            Err(e) => eprintln!("accept: {e}"), // out of file descriptors, ...
        }
    }
    Ok(())
}
