//! examples/blocking.rs, the thread-per-connection server on `server::Connection`, against real
//! clients: psql and pgbench from PostgreSQL 15, with every authentication method, TLS with
//! SCRAM-SHA-256-PLUS, COPY, LISTEN/NOTIFY, cancel and the authentication timeout; direct TLS
//! with a rustls client. Enabled by `--features interop`; it fails, never skips, when psql,
//! pgbench or openssl is missing.
#![cfg(feature = "interop")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::message::{BackendDecoder, BackendMessage, ProtocolVersion, Query, StartupMessage};

#[path = "support/examples.rs"]
mod examples;
#[path = "support/tools.rs"]
mod tools;

use examples::{Server, TempDir, self_signed, tool};
use tools::{finish, psql, psql_command, psql_fails, psql_ok, read_until, show};

// ----- helpers -----------------------------------------------------------------------------------

fn start(args: &[&str]) -> Server {
    examples::start("blocking", args)
}

const ALICE: [&str; 4] = ["--user", "alice", "--password", "s3cret"];

fn start_auth(method: &str) -> Server {
    let mut args = vec!["--auth", method];
    args.extend(ALICE);
    start(&args)
}

// ----- authentication ----------------------------------------------------------------------------

#[test]
fn every_auth_method_runs_queries_and_refuses_wrong_passwords() {
    let queries = [
        "-c",
        "SELECT 1",
        "-c",
        "SELECT id, name FROM items ORDER BY id",
        "-c",
        "SELECT count(*) FROM items",
        "-c",
        "SELECT 41::int + 1",
    ];
    let expected = "1\n1|one\n2|two\n3|three\n3\n42\n";

    // No --auth: everyone is trusted, with or without a password.
    let s = start(&[]);
    assert_eq!(psql_ok(s.port, "user=alice", None, &queries), expected);
    assert_eq!(psql_ok(s.port, "user=bob", Some("x"), &queries), expected);
    let s = start_auth("trust");
    assert_eq!(psql_ok(s.port, "user=bob", None, &queries), expected);

    for method in ["password", "md5", "scram"] {
        let s = start_auth(method);
        let out = psql_ok(s.port, "user=alice", Some("s3cret"), &queries);
        assert_eq!(out, expected, "--auth {method}");
        // The server asked for a password: without one psql gives up.
        let err = psql_fails(s.port, "user=alice", None, &["-c", "SELECT 1"]);
        assert!(
            err.contains("no password supplied"),
            "--auth {method}: {err}"
        );
        let err = psql_fails(s.port, "user=alice", Some("wrong"), &["-c", "SELECT 1"]);
        assert!(
            err.contains("password authentication failed for user \"alice\""),
            "--auth {method}, wrong password: {err}"
        );
        // Another user gets the same exchange and the same answer.
        let err = psql_fails(s.port, "user=bob", Some("s3cret"), &["-c", "SELECT 1"]);
        assert!(
            err.contains("password authentication failed for user \"bob\""),
            "--auth {method}, unknown user: {err}"
        );
    }
}

#[test]
fn silent_connections_end_at_the_auth_timeout() {
    let s = start(&["--auth-timeout", "1"]);
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = Instant::now();
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got); // EOF (or a reset) when the server closes
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(2),
        "closed after {took:?}"
    );
}

// ----- TLS ---------------------------------------------------------------------------------------

#[test]
fn tls_runs_scram_with_channel_binding() {
    let dir = TempDir::new("tls");
    let (cert, key) = self_signed(&dir);
    let mut args = vec!["--auth", "scram", "--tls-cert", &cert, "--tls-key", &key];
    args.extend(ALICE);
    let s = start(&args);
    // channel_binding=require: libpq fails unless SCRAM-SHA-256-PLUS was used.
    let conninfo = "user=alice sslmode=require channel_binding=require";
    let out = psql_ok(
        s.port,
        conninfo,
        Some("s3cret"),
        &["-c", "SELECT 1", "-c", "\\conninfo"],
    );
    assert!(out.starts_with("1\n"), "{out}");
    assert!(out.contains("SSL connection (protocol: TLSv1."), "{out}");
    let err = psql_fails(s.port, conninfo, Some("wrong"), &["-c", "SELECT 1"]);
    assert!(err.contains("password authentication failed"), "{err}");

    // Without TLS there is nothing to bind to, and psql says so.
    let plain = start_auth("scram");
    let err = psql_fails(plain.port, conninfo, Some("s3cret"), &["-c", "SELECT 1"]);
    assert!(
        err.contains("server does not support SSL, but SSL was required"),
        "{err}"
    );
    let err = psql_fails(
        plain.port,
        "user=alice sslmode=disable channel_binding=require",
        Some("s3cret"),
        &["-c", "SELECT 1"],
    );
    assert!(err.contains("channel binding required"), "{err}");
}

/// Accepts any server certificate (the test's is self-signed).
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Opens with a TLS ClientHello (PostgreSQL 17's direct TLS), sends a StartupMessage and
/// returns the server's first message (empty if it closes the connection instead).
fn direct_tls_startup(port: u16, alpn: bool) -> Vec<u8> {
    let mut config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate))
        .with_no_client_auth();
    if alpn {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    let name = "localhost".try_into().unwrap();
    let tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut stream = rustls::StreamOwned::new(tls, sock);
    let mut startup = BytesMut::new();
    StartupMessage::write(&mut startup, ProtocolVersion::V3_0, [("user", "alice")]).unwrap();
    let mut got = Vec::new();
    if stream
        .write_all(&startup)
        .and_then(|()| stream.flush())
        .is_err()
    {
        return got;
    }
    let mut buf = [0; 4096];
    let complete = |got: &[u8]| {
        got.len() >= 5 && got.len() > u32::from_be_bytes(got[1..5].try_into().unwrap()) as usize
    };
    while !complete(&got)
        && let Ok(n @ 1..) = stream.read(&mut buf)
    {
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn direct_tls_needs_alpn_postgresql() {
    let dir = TempDir::new("direct");
    let (cert, key) = self_signed(&dir);
    let mut args = vec!["--auth", "scram", "--tls-cert", &cert, "--tls-key", &key];
    args.extend(ALICE);
    let s = start(&args);
    let answer = direct_tls_startup(s.port, true);
    assert_eq!(answer.first(), Some(&b'R'), "{answer:?}");
    // AuthenticationSASL offers PLUS: the certificate reached the connection.
    let plus = b"SCRAM-SHA-256-PLUS\0";
    assert!(
        answer.windows(plus.len()).any(|w| w == plus),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let refused = direct_tls_startup(s.port, false);
    assert!(refused.is_empty(), "answered without ALPN: {refused:?}");
}

// ----- queries through psql ----------------------------------------------------------------------

#[test]
fn psql_runs_the_catalog() {
    let s = start(&[]);
    let script = "\
BEGIN;
SELECT 1/0;
SELECT 1;
COMMIT;
SET application_name = 'blocking test';
SHOW application_name;
\\echo :LAST_ERROR_SQLSTATE
NOT IN THE CATALOG;
\\echo :LAST_ERROR_SQLSTATE
SELECT 1; SELECT 2 + 3 * 4; SELECT 3/0; SELECT 4;
SELECT id FROM items ORDER BY id LIMIT 2;
";
    let dir = TempDir::new("script");
    std::fs::write(dir.path("script.sql"), script).unwrap();
    let out = psql(s.port, "user=alice", None, &["-f", &dir.path("script.sql")]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // COMMIT of the failed block answers ROLLBACK. psql -f sends `SELECT 1; SELECT 2 ...` as
    // separate queries, so SELECT 4 runs after the error; `SELECT id FROM` is not in the
    // catalog.
    assert_eq!(
        stdout,
        "BEGIN\nROLLBACK\nSET\nblocking test\n25P02\n42601\n1\n14\n4\n",
        "{}",
        show(&out)
    );
    for e in [
        "ERROR:  division by zero",
        "ERROR:  current transaction is aborted, commands ignored until end of transaction block",
        "ERROR:  syntax error at or near \"NOT\"",
        "ERROR:  syntax error at or near \"FROM\"",
    ] {
        assert!(stderr.contains(e), "missing {e:?}\n{}", show(&out));
    }

    // One Query message with several statements: an error stops the rest.
    let out = psql(
        s.port,
        "user=alice",
        None,
        &["-c", "SELECT 1; SELECT 2; SELECT 3/0; SELECT 4"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1\n2\n",
        "{}",
        show(&out)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("division by zero"));
}

#[test]
fn psql_copies_to_and_from_the_table() {
    let s = start(&[]);
    let dir = TempDir::new("copy");
    let out = psql_ok(
        s.port,
        "user=alice",
        None,
        &["-c", "\\copy items to STDOUT"],
    );
    assert_eq!(out, "1\tone\n2\ttwo\n3\tthree\n");

    let file = dir.path("more.txt");
    std::fs::write(&file, "10\tten\n11\t\\N\n12\ttab\\there\n").unwrap();
    let out = psql_ok(
        s.port,
        "user=alice",
        None,
        &[
            "-c",
            &format!("\\copy items from '{file}'"),
            "-c",
            "SELECT count(*) FROM items",
            "-c",
            "SELECT id, name FROM items ORDER BY id",
        ],
    );
    assert_eq!(
        out,
        "COPY 3\n6\n1|one\n2|two\n3|three\n10|ten\n11|\n12|tab\there\n"
    );
    let out = psql_ok(
        s.port,
        "user=alice",
        None,
        &["-c", "\\copy items to STDOUT"],
    );
    assert_eq!(
        out,
        "1\tone\n2\ttwo\n3\tthree\n10\tten\n11\t\\N\n12\ttab\\there\n"
    );

    // Binary COPY both ways: the table doubles.
    let bin = dir.path("items.bin");
    let out = psql_ok(
        s.port,
        "user=alice",
        None,
        &[
            "-c",
            &format!("\\copy items to '{bin}' (FORMAT binary)"),
            "-c",
            &format!("\\copy items from '{bin}' (FORMAT binary)"),
            "-c",
            "SELECT count(*) FROM items",
        ],
    );
    assert_eq!(out, "COPY 6\nCOPY 6\n12\n");
    assert!(
        std::fs::read(&bin)
            .unwrap()
            .starts_with(b"PGCOPY\n\xff\r\n\0")
    );
}

// ----- notifications and cancel ------------------------------------------------------------------

/// Reads backend messages from a raw connection until one matches (or the time runs out).

#[test]
fn notify_reaches_listeners_busy_and_idle() {
    let s = start(&[]);
    // psql LISTENs and then sleeps; the NOTIFY from another session arrives during the sleep
    // and is printed after it.
    let listener = psql_command(
        s.port,
        "user=alice",
        None,
        &["-c", "LISTEN ch", "-c", "SELECT pg_sleep(2)"],
    )
    .spawn()
    .unwrap();

    // A raw session that LISTENs and then only reads: the notification must come unasked.
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut dec, mut buf) = (BackendDecoder::new(), BytesMut::new());
    let mut out = BytesMut::new();
    StartupMessage::write(&mut out, ProtocolVersion::V3_0, [("user", "raw")]).unwrap();
    Query::write(&mut out, "LISTEN ch").unwrap();
    sock.write_all(&out).unwrap();
    let is_ready = |m: &BackendMessage| matches!(m, BackendMessage::ReadyForQuery(_));
    read_until(&mut sock, &mut dec, &mut buf, is_ready).expect("ReadyForQuery after startup");
    read_until(&mut sock, &mut dec, &mut buf, is_ready).expect("ReadyForQuery after LISTEN");

    std::thread::sleep(Duration::from_millis(700));
    psql_ok(s.port, "user=bob", None, &["-c", "NOTIFY ch, 'hello'"]);

    let n = read_until(&mut sock, &mut dec, &mut buf, |m| {
        matches!(m, BackendMessage::NotificationResponse(_))
    })
    .expect("the idle listener got no notification within 5 s");
    let BackendMessage::NotificationResponse(n) = n else {
        unreachable!()
    };
    assert_eq!(
        (n.channel.as_bytes(), n.payload.as_bytes()),
        (&b"ch"[..], &b"hello"[..])
    );

    let out = finish(listener, Duration::from_secs(10), "listening psql");
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "Asynchronous notification \"ch\" with payload \"hello\" received from server process with PID"
        ),
        "{}",
        show(&out)
    );
}

#[test]
fn sigint_cancels_pg_sleep() {
    let s = start(&[]);
    let child = psql_command(s.port, "user=alice", None, &["-c", "SELECT pg_sleep(10)"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let t0 = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let out = finish(child, Duration::from_secs(5), "psql with a cancelled query");
    let took = t0.elapsed();
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("canceling statement due to user request"),
        "{}",
        show(&out)
    );
    assert!(
        took < Duration::from_secs(2),
        "psql ended {took:?} after SIGINT"
    );
}

// ----- pgbench -----------------------------------------------------------------------------------

fn pgbench(mode: &str) {
    let s = start(&[]);
    let dir = TempDir::new(&format!("pgbench-{mode}"));
    let scripts = [
        ("select1.sql", "SELECT 1;\n"),
        (
            "param.sql",
            "\\set x random(1, 1000)\nSELECT :x::int + 1;\n",
        ),
        (
            "transaction.sql",
            "BEGIN;\nSELECT count(*) FROM items;\nSELECT 1;\nEND;\n",
        ),
    ];
    let mut cmd = Command::new(tool("pgbench"));
    cmd.args(["-n", "-c", "2", "-T", "3", "-M", mode])
        .args(["-h", "127.0.0.1", "-p", &s.port.to_string(), "-U", "alice"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, text) in scripts {
        std::fs::write(dir.path(name), text).unwrap();
        cmd.args(["-f", &dir.path(name)]);
    }
    cmd.arg("postgres");
    let out = finish(
        cmd.spawn().expect("run pgbench"),
        Duration::from_secs(20),
        "pgbench",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        stdout.contains("number of failed transactions: 0 "),
        "{}",
        show(&out)
    );
    let tps: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps line\n{}", show(&out)));
    assert!(tps > 0.0, "{}", show(&out));
}

#[test]
fn pgbench_simple() {
    pgbench("simple");
}

#[test]
fn pgbench_extended() {
    pgbench("extended");
}

#[test]
fn pgbench_prepared() {
    pgbench("prepared");
}

/// COPY FROM data is collected before it is parsed: more than 64 MB ends in 54000 instead of
/// growing without bound, and the session goes on.
#[test]
fn oversized_copy_is_refused() {
    let s = start(&[]);
    let dir = TempDir::new("big-copy");
    std::fs::write(dir.path("big.txt"), "7\tseven\n".repeat(9 << 20)).unwrap(); // 72 MB
    let out = psql(
        s.port,
        "user=alice",
        None,
        &[
            "-c",
            &format!("\\copy items from '{}'", dir.path("big.txt")),
            "-c",
            "SELECT count(*) FROM items",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("COPY data larger than 64 MB"),
        "{}",
        show(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3\n",
        "{}",
        show(&out)
    );
}
