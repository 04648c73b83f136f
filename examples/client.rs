//! A command-line PostgreSQL client on `std::net`, driving `pgproto::client::Connection`: it
//! connects (with TLS through rustls when `sslmode` asks for it), runs one simple query and
//! prints the rows tab-separated under a header line.
//!
//! ```text
//! cargo run --example client -- "postgres://me:secret@localhost:5432/db?sslmode=require" \
//!     "SELECT datname, encoding FROM pg_database"
//! ```
//!
//! NULLs print as empty fields; statements without rows print their command tag (`INSERT 0 1`).
//! Errors go to stderr with their SQLSTATE, and the exit status is then 1.
//!
//! The connection string is libpq's, parsed by [`ConnInfo`]: a URI as above or
//! `"host=localhost user=me sslmode=require"`. Like libpq, `sslmode=prefer` (the default) and
//! `require` accept any certificate; the `verify-*` modes are not supported here. Also honoured:
//! `sslnegotiation=direct`, `channel_binding`, `application_name`, `options`, `replication`,
//! `min_protocol_version`/`max_protocol_version` and several hosts (the first that answers).
//!
//! The loop in [`next`] is all a client needs around the state machine: write what it wants
//! written, hand it what the socket delivers, take its events, and run the TLS handshake when it
//! says [`Event::StartTls`].

use std::error::Error;
use std::io::{self, BufWriter, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use pgproto::client::{ClientError, Config, ConnInfo, Connection, Event, Response, SslMode};
use pgproto::message::ErrorFields;
use rustls::pki_types::ServerName;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [conninfo, sql] = args.as_slice() else {
        eprintln!(
            "usage: client postgres://user:password@host:port/db?sslmode=require \"SELECT ...\""
        );
        return ExitCode::from(2);
    };
    match run(conninfo, sql) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE, // the query failed (reported already)
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects, runs `sql`, prints the results; `Ok(false)` when the server reported an error.
fn run(conninfo: &str, sql: &str) -> Result<bool, Box<dyn Error>> {
    let (socket, host, config) = connect(conninfo)?;
    let mut stream = Stream::Plain(socket);
    let mut conn = Connection::new(config, Instant::now());

    // Log in.
    loop {
        match next(&mut conn, &mut stream)? {
            Event::StartTls => {
                stream = stream.start_tls(&host)?;
                let cert = stream.peer_certificate();
                conn.handle_tls_established(cert.as_deref())?;
            }
            Event::Connected { .. } => break,
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            Event::Closed(e) => return Err(closed(e)),
            _ => {} // ParameterStatus
        }
    }

    // Run the query. Responses arrive one by one, rows included: nothing is buffered here.
    conn.query(sql)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut ok = true;
    let mut had_rows = false;
    loop {
        match next(&mut conn, &mut stream)? {
            Event::Response { response, .. } => match response {
                Response::RowDescription(d) => {
                    let names: Vec<_> = d
                        .fields()
                        .map(|f| String::from_utf8_lossy(f.name))
                        .collect();
                    writeln!(out, "{}", names.join("\t"))?;
                    had_rows = true;
                }
                Response::DataRow(row) => {
                    let values: Vec<_> = row
                        .values()
                        .map(|v| String::from_utf8_lossy(v.unwrap_or_default()))
                        .collect();
                    writeln!(out, "{}", values.join("\t"))?;
                }
                Response::CommandComplete(c) => {
                    if !had_rows {
                        writeln!(out, "{}", c.tag)?;
                    }
                    had_rows = false;
                }
                Response::Error(e) => {
                    out.flush()?;
                    eprintln!("{}", describe(&e));
                    ok = false;
                }
                // COPY TO STDOUT: the data as it comes.
                Response::CopyOut(_) => had_rows = true,
                Response::CopyData(data) => out.write_all(&data)?,
                Response::CopyIn(_) => conn.copy_fail("this client sends no COPY data")?,
                Response::Ready(_) => break,
                _ => {}
            },
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            // A FATAL error: printed above as the query's response.
            Event::Closed(Some(ClientError::Server(_))) if !ok => return Ok(false),
            Event::Closed(e) => return Err(closed(e)),
            _ => {} // ParameterStatus, Notification
        }
    }
    out.flush()?;
    conn.terminate();
    next(&mut conn, &mut stream)?; // sends Terminate; returns Closed(None)
    Ok(ok)
}

/// Why the connection ended: the server's FATAL error, or ours.
fn closed(e: Option<ClientError>) -> Box<dyn Error> {
    match e {
        Some(ClientError::Server(fields)) => describe(&fields).into(),
        Some(e) => format!("{e} (SQLSTATE {})", e.sqlstate()).into(),
        None => "the connection was closed".into(),
    }
}

/// "ERROR 42601: syntax error at or near ..."
fn describe(e: &ErrorFields) -> String {
    let severity = String::from_utf8_lossy(e.severity().unwrap_or(b"ERROR"));
    let code = e.sqlstate().map(|s| s.to_string()).unwrap_or_default();
    let message = String::from_utf8_lossy(e.message().unwrap_or_default());
    format!("{severity} {code}: {message}")
}

/// The next event: writes what the connection has to send, then reads until it has something
/// to say.
fn next(conn: &mut Connection, stream: &mut Stream) -> io::Result<Event> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes)?;
        }
        stream.flush()?;
        if let Some(event) = conn.poll_event() {
            return Ok(event);
        }
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_input(Instant::now(), &buf[..n]),
            // A server that exits without a TLS close_notify.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => conn.handle_eof(Instant::now()),
            Err(e) => return Err(e),
        }
    }
}

/// Reads a libpq connection string (URI or `keyword=value` form) and connects to the first of
/// its hosts that answers; returns the socket, the host name (for TLS) and the configuration.
fn connect(conninfo: &str) -> Result<(TcpStream, String, Config), Box<dyn Error>> {
    let mut info = ConnInfo::parse(conninfo)?;
    if matches!(info.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) {
        return Err(format!(
            "sslmode={} is not supported by this example: it accepts any certificate (use \
             sslmode=require), and checking one needs root certificates (rustls-native-certs \
             or webpki-roots) in the rustls configuration",
            info.sslmode
        )
        .into());
    }
    if info.user.is_none() {
        // libpq's default: the operating-system user.
        info.user = Some(std::env::var("USER").map_err(|_| "no user given")?);
    }
    let config = Config::from_conninfo(&info)?;
    let mut last_error = None;
    for (host, port) in info.addresses() {
        if ConnInfo::is_unix_socket(host) {
            last_error = Some(format!("{host}: this example does not use Unix sockets"));
            continue;
        }
        match TcpStream::connect((host, port)) {
            Ok(socket) => return Ok((socket, host.to_string(), config)),
            Err(e) => last_error = Some(format!("{host}:{port}: {e}")),
        }
    }
    Err(last_error.unwrap_or_default().into())
}

/// The socket, before and after the TLS handshake.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// Runs the TLS handshake on the plain socket, offering ALPN `postgresql` (which direct TLS
    /// requires) and accepting any certificate, as libpq's `sslmode=require` does.
    fn start_tls(self, host: &str) -> Result<Stream, Box<dyn Error>> {
        let Stream::Plain(tcp) = self else {
            return Err("TLS is already on".into());
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        let name = ServerName::try_from(host.to_string())?;
        let mut tls =
            rustls::StreamOwned::new(rustls::ClientConnection::new(Arc::new(config), name)?, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Stream::Tls(Box::new(tls)))
    }

    /// The server's certificate (DER), for SCRAM-SHA-256-PLUS channel binding.
    fn peer_certificate(&self) -> Option<Vec<u8>> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(s.conn.peer_certificates()?.first()?.to_vec()),
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

/// libpq's `sslmode=require`: encryption without authentication of the server. The handshake
/// signatures are still checked; with channel binding (`channel_binding=require`), SCRAM then
/// detects a man in the middle.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
