//! The client state machine against real PostgreSQL 15 and 18 (scripts/pg.sh), driven by a
//! small blocking loop over a plain or rustls stream: every login method, SCRAM-SHA-256-PLUS
//! over SSLRequest and direct TLS, protocol 3.2 negotiation, a 1,000-request pipeline with an
//! error in the middle, COPY of 100 MB both ways, LISTEN/NOTIFY, cancellation, replication
//! commands (COPY BOTH included), FATAL errors, and the extended protocol's corners. Enabled by
//! `--features interop`; fails, never skips, without the servers.
#![cfg(feature = "interop")]

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::auth::{AuthError, ChannelBindingPolicy};
use pgproto::client::{
    ClientError, Config, Connection, Event, RequestId, Response, SslMode, SslNegotiation,
};
use pgproto::message::{ProtocolVersion, TransactionStatus};

const PG15: &str = "PGPROTO_PG15_PORT";
const PG18: &str = "PGPROTO_PG18_PORT";

fn port(var: &str) -> u16 {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run through scripts/test.sh"))
        .parse()
        .unwrap()
}

mod tls {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// Accepts the test clusters' self-signed certificates (libpq's `sslmode=require`); channel
    /// binding is what catches a man in the middle here.
    #[derive(Debug)]
    pub struct AcceptAny(pub CryptoProvider);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.0.signature_verification_algorithms;
            verify_tls12_signature(message, cert, dss, algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.0.signature_verification_algorithms;
            verify_tls13_signature(message, cert, dss, algs)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The socket, before or after the TLS handshake.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
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

/// A client connection on a blocking socket. [`Event::StartTls`] is handled inside
/// [`Driver::next`]: the rustls handshake runs on the socket (offering ALPN `postgresql`, as
/// libpq 17+ does), and the stream becomes TLS.
struct Driver {
    stream: Option<Stream>,
    conn: Connection,
    /// The server's certificate, once TLS is up.
    server_cert: Option<Vec<u8>>,
    /// The ALPN protocol the server chose.
    alpn: Option<Vec<u8>>,
    /// Notices, notifications and parameter changes seen while waiting for responses.
    asides: Vec<Event>,
    /// The last few events, for failure messages.
    seen: std::collections::VecDeque<Event>,
    buf: Vec<u8>,
}

impl Driver {
    fn connect(port: u16, config: Config) -> Driver {
        let sock = TcpStream::connect(("127.0.0.1", port)).expect("reach PostgreSQL");
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        sock.set_nodelay(true).unwrap();
        Driver {
            stream: Some(Stream::Plain(sock)),
            conn: Connection::new(config, Instant::now()),
            server_cert: None,
            alpn: None,
            asides: Vec::new(),
            seen: Default::default(),
            buf: vec![0; 64 * 1024],
        }
    }

    /// How long a read waits before the test fails (20 s by default).
    fn timeout(&mut self, t: Duration) {
        match self.stream() {
            Stream::Plain(s) => s.set_read_timeout(Some(t)).unwrap(),
            Stream::Tls(s) => s.sock.set_read_timeout(Some(t)).unwrap(),
        }
    }

    fn stream(&mut self) -> &mut Stream {
        self.stream.as_mut().unwrap()
    }

    fn flush(&mut self) {
        while let Some(b) = self.conn.poll_transmit() {
            self.stream().write_all(&b).unwrap();
        }
        self.stream().flush().unwrap();
    }

    fn start_tls(&mut self) {
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            panic!("StartTls on a TLS stream")
        };
        let provider = rustls::crypto::ring::default_provider();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider.clone()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(tls::AcceptAny(provider)))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        let name = "localhost".try_into().unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).expect("TLS handshake");
        }
        self.server_cert = Some(s.conn.peer_certificates().unwrap()[0].to_vec());
        self.alpn = s.conn.alpn_protocol().map(<[u8]>::to_vec);
        self.stream = Some(Stream::Tls(Box::new(s)));
        let cert = self.server_cert.clone();
        self.conn.handle_tls_established(cert.as_deref()).unwrap();
    }

    /// Reads once from the socket into the connection.
    fn read(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        match self.stream().read(&mut buf) {
            Ok(0) => self.conn.handle_eof(Instant::now()),
            Ok(n) => self.conn.handle_input(Instant::now(), &buf[..n]),
            // rustls reports a close without close_notify (a backend exiting) as this.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.conn.handle_eof(Instant::now())
            }
            Err(e) => panic!(
                "read: {e} (no answer within the read timeout); the last events: {:?}; {} requests pending",
                self.seen,
                self.conn.pending_requests()
            ),
        }
        self.buf = buf;
    }

    /// The next event, reading from the socket as needed (StartTls is handled here).
    fn next(&mut self) -> Event {
        loop {
            self.flush();
            match self.conn.poll_event() {
                Some(Event::StartTls) => self.start_tls(),
                Some(e) => {
                    if self.seen.len() == 8 {
                        self.seen.pop_front();
                    }
                    self.seen.push_back(e.clone());
                    return e;
                }
                None => self.read(),
            }
        }
    }

    /// Events until Connected (or Closed).
    fn login(&mut self) -> Result<ProtocolVersion, ClientError> {
        loop {
            match self.next() {
                Event::Connected { version } => return Ok(version),
                Event::Closed(e) => return Err(e.unwrap_or(ClientError::Closed)),
                _ => {}
            }
        }
    }

    /// Every response, in wire order, up to and including `last`'s Ready (`last` being a
    /// query, a Sync or a function call).
    fn responses_until(&mut self, last: RequestId) -> Vec<(RequestId, Response)> {
        let mut v = Vec::new();
        loop {
            match self.next() {
                Event::Response { request, response } => {
                    let done = request == last && matches!(response, Response::Ready(_));
                    v.push((request, response));
                    if done {
                        return v;
                    }
                }
                Event::Closed(e) => panic!("closed: {e:?}"),
                e @ (Event::Notice(_) | Event::ParameterStatus { .. } | Event::Notification(_)) => {
                    self.asides.push(e)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Responses to `id` up to and including its Ready.
    fn until_ready(&mut self, id: RequestId) -> Vec<Response> {
        let all = self.responses_until(id);
        assert!(
            all.iter().all(|(r, _)| *r == id),
            "other responses: {all:?}"
        );
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// Runs a simple query that must succeed and returns its rows as text.
    fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let id = self.conn.query(sql).unwrap();
        let r = self.until_ready(id);
        if let Some(e) = error(&r) {
            panic!("{sql}: {e}");
        }
        rows(&r)
    }

    /// The single value of a one-row, one-column query.
    fn value(&mut self, sql: &str) -> String {
        let r = self.rows(sql);
        assert_eq!(r.len(), 1, "{sql}: {r:?}");
        r[0][0].clone().unwrap()
    }
}

fn config(user: &str, password: &str) -> Config {
    let mut c = Config::new(user);
    c.database = Some("postgres".into());
    c.ssl_mode = SslMode::Disable;
    if !password.is_empty() {
        c.password = Some(password.as_bytes().to_vec());
    }
    c
}

/// A logged-in superuser session.
fn superuser(var: &str) -> Driver {
    let mut d = Driver::connect(port(var), config("pgproto_trust", ""));
    d.login().unwrap_or_else(|e| panic!("{var}: {e}"));
    d
}

fn rows(responses: &[Response]) -> Vec<Vec<Option<String>>> {
    responses
        .iter()
        .filter_map(|r| match r {
            Response::DataRow(d) => Some(
                d.values()
                    .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The first error among responses, as "SQLSTATE message".
fn error(responses: &[Response]) -> Option<String> {
    responses.iter().find_map(|r| match r {
        Response::Error(e) => Some(format!(
            "{} {}",
            e.sqlstate().map(|s| s.to_string()).unwrap_or_default(),
            String::from_utf8_lossy(e.message().unwrap_or_default())
        )),
        _ => None,
    })
}

fn sqlstate(r: &Response) -> Option<SqlState> {
    match r {
        Response::Error(e) => e.sqlstate(),
        _ => None,
    }
}

fn tag(r: &Response) -> Option<String> {
    match r {
        Response::CommandComplete(c) => Some(c.tag.to_string_lossy().into_owned()),
        _ => None,
    }
}

#[test]
fn logs_in_with_every_method_on_postgres_15_and_18() {
    for var in [PG15, PG18] {
        for (user, pw) in [
            ("pgproto_trust", ""),
            ("pgproto_password", "cleartext-secret"),
            ("pgproto_md5", "md5-secret"),
            ("pgproto_scram", "scram-secret"),
        ] {
            let mut d = Driver::connect(port(var), config(user, pw));
            d.login().unwrap_or_else(|e| panic!("{var} {user}: {e}"));
            let id = d.conn.query("SELECT current_user, 1 + 1").unwrap();
            let r = d.until_ready(id);
            assert_eq!(
                rows(&r),
                [[Some(user.to_string()), Some("2".to_string())]],
                "{var}"
            );
            assert_eq!(r.last(), Some(&Response::Ready(TransactionStatus::Idle)));
            if !pw.is_empty() {
                let mut bad = Driver::connect(port(var), config(user, "wrong"));
                let e = bad.login().unwrap_err();
                assert_eq!(
                    e.sqlstate(),
                    SqlState::INVALID_PASSWORD,
                    "{var} {user}: {e}"
                );
            }
        }
    }
}

/// Whether this session's backend runs TLS, by the server's own account.
fn server_says_tls(d: &mut Driver) -> bool {
    d.value("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "t"
}

#[test]
fn scram_sha_256_plus_over_tls_after_sslrequest() {
    for var in [PG15, PG18] {
        let mut c = config("pgproto_scram", "scram-secret");
        c.ssl_mode = SslMode::Require;
        c.channel_binding = ChannelBindingPolicy::Require;
        let mut d = Driver::connect(port(var), c);
        d.login().unwrap_or_else(|e| panic!("{var}: {e}"));
        assert!(d.server_cert.is_some(), "{var}: no TLS handshake");
        assert!(server_says_tls(&mut d), "{var}");
        assert_eq!(d.value("SELECT current_user"), "pgproto_scram");

        // channel_binding=require without TLS: refused before anything secret is sent.
        let mut c = config("pgproto_scram", "scram-secret");
        c.channel_binding = ChannelBindingPolicy::Require;
        let e = Driver::connect(port(var), c).login().unwrap_err();
        assert!(
            matches!(e, ClientError::Auth(AuthError::ChannelBindingRequired(_))),
            "{var}: {e:?}"
        );

        // ... and over TLS, a method that cannot bind (MD5) is refused too.
        let mut c = config("pgproto_md5", "md5-secret");
        c.ssl_mode = SslMode::Require;
        c.channel_binding = ChannelBindingPolicy::Require;
        let e = Driver::connect(port(var), c).login().unwrap_err();
        assert!(
            matches!(e, ClientError::Auth(AuthError::ChannelBindingRequired(_))),
            "{var}: {e:?}"
        );

        // sslmode=prefer takes TLS when offered; other methods work over it.
        let mut c = config("pgproto_md5", "md5-secret");
        c.ssl_mode = SslMode::Prefer;
        let mut d = Driver::connect(port(var), c);
        d.login().unwrap_or_else(|e| panic!("{var}: {e}"));
        assert!(server_says_tls(&mut d), "{var}");
    }
}

#[test]
fn direct_tls_with_alpn_on_postgres_18() {
    let mut c = config("pgproto_scram", "scram-secret");
    c.ssl_mode = SslMode::Require;
    c.ssl_negotiation = SslNegotiation::Direct;
    c.channel_binding = ChannelBindingPolicy::Require;
    c.max_protocol = ProtocolVersion::V3_2;
    let mut d = Driver::connect(port(PG18), c);
    assert_eq!(d.login().unwrap(), ProtocolVersion::V3_2);
    assert_eq!(d.alpn.as_deref(), Some(&b"postgresql"[..]));
    assert!(server_says_tls(&mut d));
    assert_eq!(d.value("SELECT current_user"), "pgproto_scram");

    // Direct TLS has no plaintext fallback, so it needs sslmode=require: refused at once.
    let mut c = config("pgproto_scram", "scram-secret");
    c.ssl_mode = SslMode::Prefer;
    c.ssl_negotiation = SslNegotiation::Direct;
    let e = Driver::connect(port(PG18), c).login().unwrap_err();
    assert!(matches!(e, ClientError::Tls(_)), "{e:?}");
}

#[test]
fn protocol_3_2_on_18_and_fallback_on_15() {
    let mut c = config("pgproto_scram", "scram-secret");
    c.max_protocol = ProtocolVersion::V3_2;
    let mut d = Driver::connect(port(PG18), c.clone());
    assert_eq!(d.login().unwrap(), ProtocolVersion::V3_2);
    assert_eq!(d.conn.protocol_version(), ProtocolVersion::V3_2);
    assert_eq!(d.conn.cancel_token().unwrap().secret_key.len(), 32);

    // 15 answers NegotiateProtocolVersion: 3.0 and a 4-byte key.
    let mut d = Driver::connect(port(PG15), c.clone());
    assert_eq!(d.login().unwrap(), ProtocolVersion::V3_0);
    assert_eq!(d.conn.protocol_version(), ProtocolVersion::V3_0);
    assert_eq!(d.conn.cancel_token().unwrap().secret_key.len(), 4);
    assert_eq!(d.value("SELECT 1"), "1");

    // The default (3.0, as libpq 18) on 18: a 4-byte key.
    let mut d = Driver::connect(port(PG18), config("pgproto_trust", ""));
    assert_eq!(d.login().unwrap(), ProtocolVersion::V3_0);
    assert_eq!(d.conn.cancel_token().unwrap().secret_key.len(), 4);

    // min_protocol 3.2: fine with 18, refused by the client with 15.
    c.min_protocol = ProtocolVersion::V3_2;
    let mut d = Driver::connect(port(PG18), c.clone());
    assert_eq!(d.login().unwrap(), ProtocolVersion::V3_2);
    let e = Driver::connect(port(PG15), c).login().unwrap_err();
    assert_eq!(
        e,
        ClientError::ProtocolVersion {
            server: ProtocolVersion::V3_0,
            min: ProtocolVersion::V3_2
        }
    );
}

const INSERTS: usize = 1000;
/// The insert that divides by zero.
const BAD: usize = 437;

/// Parse once, then 1,000 Bind+Execute of `INSERT ... 1000 / $2` where insert [`BAD`] divides
/// by zero; with a Sync after every insert (`sync_each`) or one Sync for all. Everything is
/// written before any response is read.
fn pipeline(var: &str, sync_each: bool) {
    let mut d = superuser(var);
    d.rows("CREATE TEMP TABLE pipe (id int PRIMARY KEY, v int NOT NULL)");
    let sql = "INSERT INTO pipe (id, v) VALUES ($1::int, 1000 / $2::int)";
    let parse = d.conn.parse("ins", sql, &[]).unwrap();
    // Per insert: (bind, execute, sync).
    let mut reqs: Vec<(RequestId, RequestId, Option<RequestId>)> = Vec::new();
    for i in 0..INSERTS {
        let id = i.to_string();
        let divisor = if i == BAD { "0" } else { "1" };
        let params = [Some(id.as_bytes()), Some(divisor.as_bytes())];
        let bind = d.conn.bind("", "ins", &[], params, &[]).unwrap();
        let exec = d.conn.execute("", 0).unwrap();
        let sync = sync_each.then(|| d.conn.sync().unwrap());
        reqs.push((bind, exec, sync));
    }
    let last = match reqs.last().unwrap().2 {
        Some(s) => s,
        None => d.conn.sync().unwrap(),
    };
    assert_eq!(
        d.conn.pending_requests(),
        1 + INSERTS * (2 + sync_each as usize) + !sync_each as usize
    );

    let got = d.responses_until(last);
    let complete = || {
        Response::CommandComplete(pgproto::message::CommandComplete {
            tag: pgproto::message::PgStr::new("INSERT 0 1").unwrap(),
        })
    };
    // `None`: the division by zero.
    let mut want = vec![(parse, Some(Response::ParseComplete))];
    for (i, &(bind, exec, sync)) in reqs.iter().enumerate() {
        if !sync_each && i > BAD {
            want.push((bind, Some(Response::Skipped)));
            want.push((exec, Some(Response::Skipped)));
            continue;
        }
        want.push((bind, Some(Response::BindComplete)));
        want.push((exec, (i != BAD).then(complete)));
        if let Some(sync) = sync {
            want.push((sync, Some(Response::Ready(TransactionStatus::Idle))));
        }
    }
    if !sync_each {
        want.push((last, Some(Response::Ready(TransactionStatus::Idle))));
    }
    assert_eq!(got.len(), want.len(), "{var}");
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.0, w.0, "{var}: response {n} answers the wrong request");
        match &w.1 {
            Some(w) => assert_eq!(&g.1, w, "{var}: response {n}"),
            None => assert_eq!(sqlstate(&g.1), Some(SqlState::DIVISION_BY_ZERO), "{var}"),
        }
    }
    assert_eq!(d.conn.pending_requests(), 0);

    let count: usize = d.value("SELECT count(*) FROM pipe").parse().unwrap();
    if sync_each {
        // Each Sync committed its insert: all but the bad one are there.
        assert_eq!(count, INSERTS - 1, "{var}");
        let ids = d.rows("SELECT id FROM pipe");
        let ids: HashSet<usize> = ids
            .iter()
            .map(|r| r[0].as_ref().unwrap().parse().unwrap())
            .collect();
        assert!(!ids.contains(&BAD) && ids.len() == INSERTS - 1, "{var}");
        assert_eq!(
            d.value("SELECT sum(v) FROM pipe"),
            ((INSERTS - 1) * 1000).to_string()
        );
    } else {
        // One implicit transaction up to the Sync, rolled back by the error.
        assert_eq!(count, 0, "{var}");
    }
    // The statement survives; the session takes new batches.
    let bind = d
        .conn
        .bind("", "ins", &[], [Some(&b"5000"[..]), Some(b"2")], &[])
        .unwrap();
    let exec = d.conn.execute("", 0).unwrap();
    let sync = d.conn.sync().unwrap();
    let got = d.responses_until(sync);
    assert_eq!(
        got,
        [
            (bind, Response::BindComplete),
            (exec, complete()),
            (sync, Response::Ready(TransactionStatus::Idle)),
        ]
    );
}

#[test]
fn pipeline_of_1000_inserts_with_a_sync_each() {
    for var in [PG15, PG18] {
        pipeline(var, true);
    }
}

#[test]
fn pipeline_of_1000_inserts_under_one_sync() {
    for var in [PG15, PG18] {
        pipeline(var, false);
    }
}

/// 64-bit FNV-1a.
fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A summary of COPY text lines that does not depend on their order (a table has none):
/// rows, bytes, and the wrapping sum and xor of each line's FNV-1a.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Digest {
    rows: u64,
    bytes: u64,
    sum: u64,
    xor: u64,
}

impl Digest {
    fn line(&mut self, line: &[u8]) {
        let h = fnv(line);
        self.rows += 1;
        self.bytes += line.len() as u64;
        self.sum = self.sum.wrapping_add(h);
        self.xor ^= h;
    }
}

/// Writes row `i` (`id \t 100 pseudo-random letters \n`) to `out`.
fn gen_row(i: u64, out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -";
    out.extend_from_slice(i.to_string().as_bytes());
    out.push(b'\t');
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..10 {
        // xorshift64: ten letters per step.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut y = x;
        for _ in 0..10 {
            out.push(ALPHABET[(y & 63) as usize]);
            y >>= 6;
        }
    }
    out.push(b'\n');
}

/// COPY `size` bytes of generated rows in, in 64 KiB CopyData chunks, then COPY them out and
/// compare digests. Never holds more than a chunk of rows.
fn copy_round_trip(var: &str, size: u64) {
    let mut d = superuser(var);
    d.rows("CREATE TEMP TABLE big (id bigint, body text)");

    let started = Instant::now();
    let id = d.conn.query("COPY big FROM STDIN").unwrap();
    match d.next() {
        Event::Response {
            request,
            response: Response::CopyIn(c),
        } if request == id => assert_eq!(c.format, 0),
        other => panic!("{var}: expected CopyIn, got {other:?}"),
    }
    let mut sent = Digest::default();
    let mut chunk = Vec::with_capacity(80 * 1024);
    let mut i = 0u64;
    while sent.bytes < size {
        let start = chunk.len();
        gen_row(i, &mut chunk);
        sent.line(&chunk[start..chunk.len() - 1]);
        sent.bytes += 1; // the newline
        i += 1;
        if chunk.len() >= 64 * 1024 {
            d.conn.copy_data(&chunk).unwrap();
            d.flush();
            chunk.clear();
        }
    }
    d.conn.copy_data(&chunk).unwrap();
    d.conn.copy_done().unwrap();
    let r = d.until_ready(id);
    assert_eq!(
        tag(&r[0]).as_deref(),
        Some(&*format!("COPY {}", sent.rows)),
        "{var}: {r:?}"
    );
    let copied_in = started.elapsed();

    let started = Instant::now();
    let id = d.conn.query("COPY big TO STDOUT").unwrap();
    let mut got = Digest::default();
    let mut partial: Vec<u8> = Vec::new();
    let mut tail = Vec::new();
    loop {
        let Event::Response { request, response } = d.next() else {
            continue;
        };
        assert_eq!(request, id);
        match response {
            Response::CopyOut(c) => assert_eq!(c.format, 0),
            Response::CopyData(data) => {
                // PostgreSQL sends a row per CopyData, but the protocol does not promise it.
                let mut rest = &data[..];
                while let Some(n) = rest.iter().position(|&b| b == b'\n') {
                    if partial.is_empty() {
                        got.line(&rest[..n]);
                    } else {
                        partial.extend_from_slice(&rest[..n]);
                        got.line(&partial);
                        partial.clear();
                    }
                    got.bytes += 1;
                    rest = &rest[n + 1..];
                }
                partial.extend_from_slice(rest);
            }
            Response::Ready(s) => {
                assert_eq!(s, TransactionStatus::Idle);
                break;
            }
            other => tail.push(other),
        }
    }
    let copied_out = started.elapsed();
    assert!(partial.is_empty(), "{var}: a partial last line");
    assert_eq!(tail.len(), 2, "{var}: {tail:?}");
    assert_eq!(tail[0], Response::CopyDone);
    assert_eq!(tag(&tail[1]), Some(format!("COPY {}", sent.rows)));
    assert_eq!(got, sent, "{var}");
    let mb = size as f64 / 1e6;
    eprintln!(
        "{var}: COPY {:.0} MB ({} rows) in {:.2?} ({:.0} MB/s), out {:.2?} ({:.0} MB/s)",
        mb,
        sent.rows,
        copied_in,
        mb / copied_in.as_secs_f64(),
        copied_out,
        mb / copied_out.as_secs_f64()
    );
}

const MB: u64 = 1000 * 1000;

/// The peak resident set of this process, from /proc.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// 100 MB each way through each server: about 2 s in and 1.5 s out per server in a debug
/// build, 1 s and 0.5 s in release, on loopback. The process never holds the data: its peak resident set stays far
/// below the size copied.
#[test]
fn copy_100_mb_in_and_out() {
    for var in [PG15, PG18] {
        copy_round_trip(var, 100 * MB);
    }
    let peak = peak_rss();
    eprintln!("peak RSS {:.1} MB", peak as f64 / 1e6);
    assert!(peak < 60 * MB, "peak RSS {peak} bytes: COPY was buffered");
}

#[test]
fn notification_arrives_while_idle() {
    for var in [PG15, PG18] {
        let mut listener = superuser(var);
        listener.rows("LISTEN pgproto_chan");
        let mut notifier = superuser(var);
        let notifier_pid = notifier.conn.cancel_token().unwrap().process_id;
        notifier.rows("NOTIFY pgproto_chan, 'hello from the other side'");
        assert_eq!(listener.conn.pending_requests(), 0);
        match listener.next() {
            Event::Notification(n) => {
                assert_eq!(n.channel, "pgproto_chan");
                assert_eq!(n.payload, "hello from the other side");
                assert_eq!(n.process_id, notifier_pid);
            }
            other => panic!("{var}: expected a notification, got {other:?}"),
        }
        // The session goes on.
        assert_eq!(listener.value("SELECT 42"), "42");
    }
}

#[test]
fn cancel_request_stops_pg_sleep() {
    for var in [PG15, PG18] {
        let mut c = config("pgproto_trust", "");
        // A 32-byte key on 18, a 4-byte one on 15.
        c.max_protocol = ProtocolVersion::V3_2;
        let mut d = Driver::connect(port(var), c);
        d.login().unwrap();
        let token = d.conn.cancel_token().unwrap().clone();
        let id = d.conn.query("SELECT pg_sleep(60)").unwrap();
        d.flush();

        // Wait until the backend sleeps: a cancel that arrives while it still reads the query
        // is ignored.
        let mut watcher = superuser(var);
        let probe = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {} AND wait_event = 'PgSleep'",
            token.process_id
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while watcher.value(&probe) != "1" {
            assert!(Instant::now() < deadline, "{var}: the backend never slept");
            std::thread::sleep(Duration::from_millis(10));
        }

        let sent = Instant::now();
        let mut packet = BytesMut::new();
        token.write(&mut packet).unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port(var))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&packet).unwrap();
        // The server answers a CancelRequest by closing the connection.
        assert_eq!(s.read(&mut [0u8; 16]).unwrap(), 0);

        let r = d.until_ready(id);
        let took = sent.elapsed();
        assert!(took < Duration::from_secs(1), "{var}: cancel took {took:?}");
        eprintln!("{var}: cancelled in {took:?}");
        assert_eq!(r.len(), 3, "{var}: {r:?}");
        assert!(matches!(r[0], Response::RowDescription(_)), "{var}: {r:?}");
        assert_eq!(sqlstate(&r[1]), Some(SqlState::QUERY_CANCELED), "{var}");
        assert_eq!(r[2], Response::Ready(TransactionStatus::Idle));
        assert_eq!(d.value("SELECT 'still here'"), "still here");
    }
}

#[test]
fn identify_system_on_replication_connections() {
    for var in [PG15, PG18] {
        let systemid =
            superuser(var).value("SELECT system_identifier::text FROM pg_control_system()");
        for mode in ["true", "database"] {
            let mut c = config("pgproto_repl", "repl-secret");
            c.replication = Some(mode.into());
            let mut d = Driver::connect(port(var), c);
            d.login()
                .unwrap_or_else(|e| panic!("{var} replication={mode}: {e}"));
            let id = d.conn.query("IDENTIFY_SYSTEM").unwrap();
            let r = d.until_ready(id);
            let Response::RowDescription(desc) = &r[0] else {
                panic!("{var}: {r:?}")
            };
            let names: Vec<&str> = desc
                .fields()
                .map(|f| std::str::from_utf8(f.name).unwrap())
                .collect();
            assert_eq!(names, ["systemid", "timeline", "xlogpos", "dbname"]);
            let rows = rows(&r);
            assert_eq!(rows.len(), 1, "{var}: {r:?}");
            let row = &rows[0];
            assert_eq!(row[0].as_deref(), Some(&*systemid), "{var}");
            assert_eq!(row[1].as_deref(), Some("1"), "{var}");
            let lsn = row[2].as_deref().unwrap();
            assert!(
                lsn.split_once('/').is_some_and(|(a, b)| {
                    u32::from_str_radix(a, 16).is_ok() && u32::from_str_radix(b, 16).is_ok()
                }),
                "{var}: xlogpos {lsn}"
            );
            let dbname = if mode == "database" {
                Some("postgres")
            } else {
                None
            };
            assert_eq!(row[3].as_deref(), dbname, "{var} replication={mode}");
            assert_eq!(r.last(), Some(&Response::Ready(TransactionStatus::Idle)));

            if mode == "true" {
                start_replication(var, &mut d, lsn);
            }
        }
    }
}

/// Physical streaming from `lsn` on a replication connection: CopyBoth, a standby status
/// update from the client, then the client ends its half and the server ends the command.
fn start_replication(var: &str, d: &mut Driver, lsn: &str) {
    let id = d
        .conn
        .query(&format!("START_REPLICATION PHYSICAL {lsn}"))
        .unwrap();
    match d.next() {
        Event::Response {
            request,
            response: Response::CopyBoth(_),
        } if request == id => {}
        other => panic!("{var}: expected CopyBoth, got {other:?}"),
    }
    assert!(
        d.conn.query("SELECT 1").is_err(),
        "requests wait for the end of COPY"
    );
    let (hi, lo) = lsn.split_once('/').unwrap();
    let pos = (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap();
    let mut status = vec![b'r'];
    for _ in 0..3 {
        status.extend_from_slice(&pos.to_be_bytes());
    }
    status.extend_from_slice(&0i64.to_be_bytes());
    status.push(0);
    d.conn.copy_data(&status).unwrap();
    d.conn.copy_done().unwrap();
    let r = d.until_ready(id);
    // Keepalives or WAL may come first; then the server's CopyDone, and two CommandCompletes:
    // PostgreSQL ends the streaming ("START_STREAMING") and then the command itself.
    let done = r.iter().position(|x| *x == Response::CopyDone);
    let done = done.unwrap_or_else(|| panic!("{var}: no CopyDone in {r:?}"));
    assert!(
        r[..done].iter().all(|x| matches!(x, Response::CopyData(_))),
        "{var}: {r:?}"
    );
    let tags: Vec<String> = r[done + 1..].iter().filter_map(tag).collect();
    assert_eq!(
        tags,
        ["START_STREAMING", "START_REPLICATION"],
        "{var}: {r:?}"
    );
    assert_eq!(r.len(), done + 4, "{var}: {r:?}");
    assert_eq!(r.last(), Some(&Response::Ready(TransactionStatus::Idle)));
}

#[test]
fn fatal_while_idle_closes_the_connection() {
    for var in [PG15, PG18] {
        let mut victim = superuser(var);
        let pid = victim.conn.cancel_token().unwrap().process_id;
        let mut killer = superuser(var);
        assert_eq!(
            killer.value(&format!("SELECT pg_terminate_backend({pid})")),
            "t"
        );
        match victim.next() {
            Event::Closed(Some(ClientError::Server(e))) => {
                assert_eq!(e.sqlstate(), Some(SqlState::ADMIN_SHUTDOWN), "{var}");
                assert_eq!(e.severity(), Some(&b"FATAL"[..]), "{var}");
            }
            other => panic!("{var}: expected Closed(Server(57P01)), got {other:?}"),
        }
        assert!(victim.conn.is_closed());
        assert_eq!(victim.conn.query("SELECT 1"), Err(ClientError::Closed));
    }
}

#[test]
fn fatal_during_a_request_answers_it_then_closes() {
    for var in [PG15, PG18] {
        let mut victim = superuser(var);
        let pid = victim.conn.cancel_token().unwrap().process_id;
        let id = victim.conn.query("SELECT pg_sleep(60)").unwrap();
        victim.flush();
        let mut killer = superuser(var);
        let probe = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid} AND wait_event = 'PgSleep'"
        );
        while killer.value(&probe) != "1" {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            killer.value(&format!("SELECT pg_terminate_backend({pid})")),
            "t"
        );
        let mut events = Vec::new();
        loop {
            let e = victim.next();
            let closed = matches!(e, Event::Closed(_));
            events.push(e);
            if closed {
                break;
            }
        }
        // RowDescription (sent before sleeping), the error for the query, then Closed.
        let n = events.len();
        assert!(n >= 2, "{var}: {events:?}");
        match &events[n - 2] {
            Event::Response {
                request,
                response: Response::Error(e),
            } => {
                assert_eq!(*request, id);
                assert_eq!(e.sqlstate(), Some(SqlState::ADMIN_SHUTDOWN), "{var}");
            }
            other => panic!("{var}: {other:?}"),
        }
        match &events[n - 1] {
            Event::Closed(Some(ClientError::Server(e))) => {
                assert_eq!(e.sqlstate(), Some(SqlState::ADMIN_SHUTDOWN), "{var}")
            }
            other => panic!("{var}: {other:?}"),
        }
    }
}

#[test]
fn simple_query_details() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        // An error ends a multi-statement string; what ran before it stays answered.
        let id = d.conn.query("SELECT 1; SELECT 1/0; SELECT 3").unwrap();
        let r = d.until_ready(id);
        assert_eq!(r.len(), 5, "{var}: {r:?}");
        assert!(matches!(r[0], Response::RowDescription(_)));
        assert_eq!(rows(&r), [[Some("1".to_string())]]);
        assert_eq!(tag(&r[2]).as_deref(), Some("SELECT 1"));
        assert_eq!(sqlstate(&r[3]), Some(SqlState::DIVISION_BY_ZERO));
        assert_eq!(r[4], Response::Ready(TransactionStatus::Idle));

        let id = d.conn.query("").unwrap();
        assert_eq!(
            d.until_ready(id),
            [
                Response::EmptyQuery,
                Response::Ready(TransactionStatus::Idle)
            ]
        );

        // Transaction states.
        for (sql, state) in [
            ("BEGIN", TransactionStatus::InTransaction),
            ("SELECT 1/0", TransactionStatus::Failed),
            ("SELECT 1", TransactionStatus::Failed),
            ("ROLLBACK", TransactionStatus::Idle),
        ] {
            let id = d.conn.query(sql).unwrap();
            assert_eq!(
                d.until_ready(id).last(),
                Some(&Response::Ready(state)),
                "{var} {sql}"
            );
        }

        // Notices, parameter changes and our own notifications arrive between responses.
        d.asides.clear();
        let id = d
            .conn
            .query(
                "DO $$BEGIN RAISE NOTICE 'hello'; END$$; SET application_name = 'pgproto-test'; \
                 LISTEN me; NOTIFY me, 'self'",
            )
            .unwrap();
        let r = d.until_ready(id);
        assert!(error(&r).is_none(), "{var}: {r:?}");
        let notice = d.asides.iter().find_map(|e| match e {
            Event::Notice(n) => Some(String::from_utf8_lossy(n.message().unwrap()).into_owned()),
            _ => None,
        });
        assert_eq!(notice.as_deref(), Some("hello"), "{var}: {:?}", d.asides);
        assert!(
            d.asides
                .iter()
                .any(|e| matches!(e, Event::ParameterStatus { name, value }
                if name == "application_name" && value == "pgproto-test")),
            "{var}: {:?}",
            d.asides
        );
        assert!(
            d.asides.iter().any(|e| matches!(e, Event::Notification(n)
                if n.channel == "me" && n.payload == "self")),
            "{var}: {:?}",
            d.asides
        );
    }
}

#[test]
fn extended_protocol_details() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        // Describe a statement: its parameter types and columns.
        let parse = d
            .conn
            .parse("add", "SELECT $1::int4 + 1 AS n", &[])
            .unwrap();
        let desc = d.conn.describe_statement("add").unwrap();
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        assert_eq!(r.len(), 4, "{var}: {r:?}");
        assert_eq!(r[0], (parse, Response::ParseComplete));
        match &r[1] {
            (id, Response::ParameterDescription(p)) if *id == desc => {
                assert_eq!(p.types.iter().collect::<Vec<_>>(), [23])
            }
            other => panic!("{var}: {other:?}"),
        }
        match &r[2] {
            (id, Response::RowDescription(rd)) if *id == desc => {
                let f = rd.fields().next().unwrap();
                assert_eq!((f.name, f.type_oid), (&b"n"[..], 23));
            }
            other => panic!("{var}: {other:?}"),
        }

        // Binary parameters and results; Describe portal.
        let bind = d
            .conn
            .bind("p", "add", &[1], [Some(&41i32.to_be_bytes()[..])], &[1])
            .unwrap();
        let dp = d.conn.describe_portal("p").unwrap();
        let exec = d.conn.execute("p", 0).unwrap();
        let close = d.conn.close_statement("add").unwrap();
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        let ids: Vec<RequestId> = r.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [bind, dp, exec, exec, close, sync], "{var}: {r:?}");
        match &r[2].1 {
            Response::DataRow(row) => {
                assert_eq!(row.values().next().unwrap(), Some(&42i32.to_be_bytes()[..]))
            }
            other => panic!("{var}: {other:?}"),
        }
        assert_eq!(r[4].1, Response::CloseComplete);

        // Row limits: PortalSuspended, then the rest.
        d.conn
            .parse("", "SELECT generate_series(1, 5)", &[])
            .unwrap();
        d.conn.bind("", "", &[], [], &[]).unwrap();
        let e1 = d.conn.execute("", 2).unwrap();
        let e2 = d.conn.execute("", 2).unwrap();
        let e3 = d.conn.execute("", 2).unwrap();
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        let of = |id| -> Vec<Response> {
            r.iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, x)| x.clone())
                .collect()
        };
        assert_eq!(rows(&of(e1)), [[Some("1".into())], [Some("2".into())]]);
        assert_eq!(of(e1).last(), Some(&Response::PortalSuspended));
        assert_eq!(of(e2).last(), Some(&Response::PortalSuspended));
        assert_eq!(rows(&of(e3)), [[Some("5".into())]]);
        assert!(tag(of(e3).last().unwrap()).unwrap().starts_with("SELECT"));

        // A function call by OID, binary in and out, and one that fails.
        let int4pl: u32 = d.value("SELECT 'int4pl'::regproc::oid").parse().unwrap();
        let args = [
            Some(&40i32.to_be_bytes()[..]),
            Some(&2i32.to_be_bytes()[..]),
        ];
        let call = d.conn.function_call(int4pl, &[1], args, 1).unwrap();
        let r = d.until_ready(call);
        assert_eq!(
            r,
            [
                Response::FunctionResult(Some(bytes::Bytes::copy_from_slice(&42i32.to_be_bytes()))),
                Response::Ready(TransactionStatus::Idle)
            ]
        );
        let args = [
            Some(&i32::MAX.to_be_bytes()[..]),
            Some(&1i32.to_be_bytes()[..]),
        ];
        let call = d.conn.function_call(int4pl, &[1], args, 1).unwrap();
        let r = d.until_ready(call);
        assert_eq!(r.len(), 2, "{var}: {r:?}");
        assert_eq!(
            sqlstate(&r[0]),
            Some(SqlState::from_bytes(b"22003").unwrap())
        );

        // An error at Sync itself: a deferred constraint checked at the implicit commit.
        d.rows("CREATE TEMP TABLE deferred (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)");
        d.conn
            .parse("", "INSERT INTO deferred VALUES (1)", &[])
            .unwrap();
        let mut execs = Vec::new();
        for _ in 0..2 {
            d.conn.bind("", "", &[], [], &[]).unwrap();
            execs.push(d.conn.execute("", 0).unwrap());
        }
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        let at_sync: Vec<&Response> = r
            .iter()
            .filter(|(i, _)| *i == sync)
            .map(|(_, x)| x)
            .collect();
        assert_eq!(at_sync.len(), 2, "{var}: {r:?}");
        assert_eq!(
            sqlstate(at_sync[0]),
            Some(SqlState::UNIQUE_VIOLATION),
            "{var}"
        );
        assert_eq!(at_sync[1], &Response::Ready(TransactionStatus::Idle));
        for e in execs {
            assert!(
                r.iter()
                    .any(|(i, x)| *i == e && tag(x).as_deref() == Some("INSERT 0 1"))
            );
        }
        assert_eq!(d.conn.pending_requests(), 0);
        assert_eq!(d.value("SELECT count(*) FROM deferred"), "0");
    }
}

/// Runs a COPY FROM STDIN that has already been requested: waits for CopyIn.
fn expect_copy_in(d: &mut Driver, id: RequestId) {
    loop {
        match d.next() {
            Event::Response {
                request,
                response: Response::CopyIn(_),
            } if request == id => return,
            Event::Response { response, .. }
                if !matches!(response, Response::ParseComplete | Response::BindComplete) =>
            {
                panic!("expected CopyIn, got {response:?}")
            }
            Event::Closed(e) => panic!("closed: {e:?}"),
            _ => {}
        }
    }
}

#[test]
fn copy_in_failures_and_extended_copy() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        d.rows("CREATE TEMP TABLE c (id int, t text)");

        // A bad row: the server's error ends the COPY.
        let id = d.conn.query("COPY c FROM STDIN").unwrap();
        expect_copy_in(&mut d, id);
        d.conn
            .copy_data(b"1\tone\nnot a number\ttwo\n3\tthree\n")
            .unwrap();
        d.conn.copy_done().unwrap();
        let r = d.until_ready(id);
        assert_eq!(
            sqlstate(&r[0]),
            Some(SqlState::from_bytes(b"22P02").unwrap()),
            "{var}: {r:?}"
        );
        assert_eq!(r[1], Response::Ready(TransactionStatus::Idle));

        // The client gives up: 57014 with our reason.
        let id = d.conn.query("COPY c FROM STDIN").unwrap();
        expect_copy_in(&mut d, id);
        d.conn.copy_data(b"1\tone\n").unwrap();
        d.conn.copy_fail("changed my mind").unwrap();
        let r = d.until_ready(id);
        assert_eq!(
            sqlstate(&r[0]),
            Some(SqlState::QUERY_CANCELED),
            "{var}: {r:?}"
        );
        let Response::Error(e) = &r[0] else {
            unreachable!()
        };
        assert!(String::from_utf8_lossy(e.message().unwrap()).contains("changed my mind"));
        assert_eq!(d.value("SELECT count(*) FROM c"), "0");

        // Extended protocol: Execute, Flush, the data, then Sync.
        d.conn.parse("", "COPY c FROM STDIN", &[]).unwrap();
        d.conn.bind("", "", &[], [], &[]).unwrap();
        let exec = d.conn.execute("", 0).unwrap();
        d.conn.flush().unwrap();
        expect_copy_in(&mut d, exec);
        d.conn.copy_data(b"1\tone\n2\ttwo\n").unwrap();
        d.conn.copy_done().unwrap();
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        assert_eq!(
            r.iter().map(|(i, x)| (*i, tag(x))).collect::<Vec<_>>(),
            [(exec, Some("COPY 2".into())), (sync, None)],
            "{var}: {r:?}"
        );
        assert_eq!(d.conn.pending_requests(), 0);
        assert_eq!(d.value("SELECT count(*) FROM c"), "2");

        // ... and COPY TO STDOUT through Execute, all pipelined.
        let parse = d.conn.parse("", "COPY c TO STDOUT", &[]).unwrap();
        let bind = d.conn.bind("", "", &[], [], &[]).unwrap();
        let exec = d.conn.execute("", 0).unwrap();
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        let data = |s: &'static [u8]| Response::CopyData(bytes::Bytes::from_static(s));
        assert_eq!(r.len(), 8, "{var}: {r:?}");
        assert_eq!(r[0], (parse, Response::ParseComplete));
        assert_eq!(r[1], (bind, Response::BindComplete));
        assert!(
            matches!(r[2], (id, Response::CopyOut(_)) if id == exec),
            "{var}: {r:?}"
        );
        assert_eq!(r[3], (exec, data(b"1\tone\n")));
        assert_eq!(r[4], (exec, data(b"2\ttwo\n")));
        assert_eq!(r[5], (exec, Response::CopyDone));
        assert_eq!((r[6].0, tag(&r[6].1)), (exec, Some("COPY 2".into())));
        assert_eq!(r[7], (sync, Response::Ready(TransactionStatus::Idle)));
    }
}

/// A client that pipelines Parse/Bind/Execute/Sync for a COPY FROM STDIN (as tokio-postgres
/// does) has its Sync swallowed: PostgreSQL ignores Sync and Flush in copy-in mode. The Sync's
/// request must still be answered once the COPY ends (by the state machine sending a Sync of its
/// own after CopyDone, as tokio-postgres does), and nothing may stay pending.
#[test]
fn extended_copy_with_the_sync_pipelined_before_the_data() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        d.timeout(Duration::from_secs(3));
        d.rows("CREATE TEMP TABLE c (id int, t text)");
        d.conn.parse("", "COPY c FROM STDIN", &[]).unwrap();
        d.conn.bind("", "", &[], [], &[]).unwrap();
        let exec = d.conn.execute("", 0).unwrap();
        let sync = d.conn.sync().unwrap();
        expect_copy_in(&mut d, exec);
        d.conn.copy_data(b"1\tone\n2\ttwo\n").unwrap();
        d.conn.copy_done().unwrap();
        let r = d.responses_until(sync);
        assert_eq!(
            r.iter().map(|(i, x)| (*i, tag(x))).collect::<Vec<_>>(),
            [(exec, Some("COPY 2".into())), (sync, None)],
            "{var}: {r:?}"
        );
        assert_eq!(d.conn.pending_requests(), 0, "{var}");
        assert_eq!(d.value("SELECT count(*) FROM c"), "2", "{var}");
    }
}

/// After an error in an extended batch whose Sync is not sent yet, PostgreSQL discards every
/// message up to Sync, simple Query included. A query made then must not wait for an answer
/// that never comes (answered Skipped, or refused), and the Sync's ReadyForQuery must go to the
/// Sync.
#[test]
fn simple_query_while_the_server_discards_until_sync() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        d.timeout(Duration::from_secs(3));
        let parse = d.conn.parse("", "SELEKT 1", &[]).unwrap();
        d.conn.flush().unwrap();
        match d.next() {
            Event::Response {
                request,
                response: Response::Error(e),
            } if request == parse => assert_eq!(e.sqlstate(), Some(SqlState::SYNTAX_ERROR)),
            other => panic!("{var}: {other:?}"),
        }
        let query = d.conn.query("SELECT 'discarded'");
        let sync = d.conn.sync().unwrap();
        let r = d.responses_until(sync);
        let mut want = vec![(sync, Response::Ready(TransactionStatus::Idle))];
        if let Ok(q) = query {
            want.insert(0, (q, Response::Skipped));
        }
        assert_eq!(r, want, "{var}");
        assert_eq!(d.conn.pending_requests(), 0, "{var}");
        assert_eq!(d.value("SELECT 'after'"), "after", "{var}");
    }
}

/// After an error in an extended batch whose Sync is not sent yet, requests made before the
/// Sync are answered Skipped at once (the server discards them), and the Sync gets the Ready.
#[test]
fn extended_requests_made_while_the_server_discards_are_skipped_at_once() {
    for var in [PG15, PG18] {
        let mut d = superuser(var);
        let parse = d.conn.parse("s", "SELEKT 1", &[]).unwrap();
        d.conn.flush().unwrap();
        match d.next() {
            Event::Response {
                request,
                response: Response::Error(e),
            } if request == parse => assert_eq!(e.sqlstate(), Some(SqlState::SYNTAX_ERROR)),
            other => panic!("{var}: {other:?}"),
        }
        let bind = d.conn.bind("", "s", &[], [], &[]).unwrap();
        let exec = d.conn.execute("", 0).unwrap();
        let call = d.conn.function_call(177, &[], [], 0).unwrap();
        for id in [bind, exec, call] {
            assert_eq!(
                d.conn.poll_event(),
                Some(Event::Response {
                    request: id,
                    response: Response::Skipped
                }),
                "{var}"
            );
        }
        let sync = d.conn.sync().unwrap();
        assert_eq!(
            d.responses_until(sync),
            [(sync, Response::Ready(TransactionStatus::Idle))],
            "{var}"
        );
        assert_eq!(d.conn.pending_requests(), 0);
        assert_eq!(d.value("SELECT 'after'"), "after");
    }
}
