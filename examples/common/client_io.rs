//! The client side of a blocking `std::net` driver, shared by the client examples: connecting
//! from a libpq connection string, TLS through rustls, and the loop that moves bytes between
//! the socket and `pgproto::client::Connection`.
#![allow(dead_code)]

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgproto::client::{ClientError, Config, ConnInfo, Connection, Event, SslMode};
use pgproto::message::ErrorFields;
use rustls::pki_types::ServerName;

/// Why the connection ended: the server's FATAL error, or ours.
pub fn closed(e: Option<ClientError>) -> Box<dyn Error> {
    match e {
        Some(ClientError::Server(fields)) => describe(&fields).into(),
        Some(e) => format!("{e} (SQLSTATE {})", e.sqlstate()).into(),
        None => "the connection was closed".into(),
    }
}

/// "ERROR 42601: syntax error at or near ..."
pub fn describe(e: &ErrorFields) -> String {
    let severity = String::from_utf8_lossy(e.severity().unwrap_or(b"ERROR"));
    let code = e.sqlstate().map(|s| s.to_string()).unwrap_or_default();
    let message = String::from_utf8_lossy(e.message().unwrap_or_default());
    format!("{severity} {code}: {message}")
}

/// Logs in: runs the TLS handshake when the connection asks for it, prints notices, and
/// returns the stream (encrypted or not) once the session is ready.
pub fn login(
    conn: &mut Connection,
    mut stream: Stream,
    host: &str,
) -> Result<Stream, Box<dyn Error>> {
    loop {
        match next(conn, &mut stream)? {
            Event::StartTls => {
                stream = stream.start_tls(host)?;
                let cert = stream.peer_certificate();
                conn.handle_tls_established(cert.as_deref())?;
            }
            Event::Connected { .. } => return Ok(stream),
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            Event::Closed(e) => return Err(closed(e)),
            _ => {} // ParameterStatus
        }
    }
}

/// The next event: writes what the connection has to send, then reads until it has something
/// to say.
pub fn next(conn: &mut Connection, stream: &mut Stream) -> io::Result<Event> {
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
pub fn connect(conninfo: &str) -> Result<(TcpStream, String, Config), Box<dyn Error>> {
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
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// Runs the TLS handshake on the plain socket, offering ALPN `postgresql` (which direct TLS
    /// requires) and accepting any certificate, as libpq's `sslmode=require` does.
    pub fn start_tls(self, host: &str) -> Result<Stream, Box<dyn Error>> {
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
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(s.conn.peer_certificates()?.first()?.to_vec()),
        }
    }
}

impl Stream {
    /// How long a read may block (`None`: forever); a read that times out fails with
    /// `WouldBlock` or `TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.set_read_timeout(timeout),
            Stream::Tls(s) => s.sock.set_read_timeout(timeout),
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
