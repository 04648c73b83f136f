//! The async examples (examples/tokio.rs, examples/smol.rs, examples/async_std.rs) against real
//! clients, the same checks for each: psql with SCRAM-SHA-256-PLUS over TLS
//! (`channel_binding=require`), psycopg's workload over plaintext, TLS and direct TLS, pgbench in
//! the three query modes, a notification reaching an idle connection (nothing but the wake-up
//! from the notifying connection can deliver it: the async loops do not poll), and the
//! authentication timeout. examples/blocking.rs has its own, longer, test file
//! (interop_blocking.rs). Enabled by `--features interop`; fails, never skips.
#![cfg(feature = "interop")]

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::message::{BackendDecoder, BackendMessage, ProtocolVersion, Query, StartupMessage};

#[path = "support/clients.rs"]
mod clients;
#[path = "support/examples.rs"]
mod examples;
#[path = "support/tools.rs"]
mod tools;

use clients::{Client, PSYCOPG_CHECKS, Target};
use examples::{TempDir, self_signed, start, tool};
use tools::{finish, psql_fails, psql_ok, read_until, show};

const ALICE: [&str; 4] = ["--user", "alice", "--password", "s3cret"];

fn psql_tls_channel_binding(example: &str) {
    let dir = TempDir::new(&format!("{example}-tls"));
    let (cert, key) = self_signed(&dir);
    let mut args = vec!["--auth", "scram", "--tls-cert", &cert, "--tls-key", &key];
    args.extend(ALICE);
    let s = start(example, &args);
    let conninfo = "user=alice sslmode=require channel_binding=require";
    let out = psql_ok(
        s.port,
        conninfo,
        Some("s3cret"),
        &[
            "-c",
            "SELECT 1",
            "-c",
            "SELECT id, name FROM items ORDER BY id",
            "-c",
            "\\conninfo",
        ],
    );
    assert!(out.starts_with("1\n1|one\n2|two\n3|three\n"), "{out}");
    assert!(out.contains("SSL connection (protocol: TLSv1."), "{out}");
    let err = psql_fails(s.port, conninfo, Some("wrong"), &["-c", "SELECT 1"]);
    assert!(err.contains("password authentication failed"), "{err}");
}

fn psycopg_workload(example: &str) {
    let s = start(
        example,
        &["--auth", "scram", "--user", "alice", "--password", "s3cret"],
    );
    Client::Psycopg
        .run(
            &Target::new("127.0.0.1", s.port, "alice", "s3cret"),
            &["--sslmode", "disable"],
        )
        .assert_passed(PSYCOPG_CHECKS);
}

fn psycopg_tls_and_direct_tls(example: &str) {
    let dir = TempDir::new(&format!("{example}-psycopg-tls"));
    let (cert, key) = self_signed(&dir);
    let mut args = vec!["--auth", "scram", "--tls-cert", &cert, "--tls-key", &key];
    args.extend(ALICE);
    let s = start(example, &args);
    let t = Target::new("127.0.0.1", s.port, "alice", "s3cret");
    let checks = "connect,simple,params,binary,pipeline,cancel,protocol32";
    for negotiation in ["postgres", "direct"] {
        Client::Psycopg
            .run(
                &t,
                &[
                    "--only",
                    checks,
                    "--sslmode",
                    "require",
                    "--sslnegotiation",
                    negotiation,
                ],
            )
            .assert_ok();
    }
}

fn pgbench_modes(example: &str) {
    let s = start(example, &[]);
    let dir = TempDir::new(&format!("{example}-pgbench"));
    std::fs::write(dir.path("select1.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(dir.path("select1-bare.sql"), "SELECT 1\n").unwrap();
    for mode in ["simple", "extended", "prepared"] {
        let mut cmd = Command::new(tool("pgbench"));
        cmd.args(["-n", "-c", "4", "-j", "2", "-t", "200", "-M", mode])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &s.port.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "-f",
                &dir.path("select1.sql"),
                "-f",
                &dir.path("select1-bare.sql"),
            ])
            .arg("postgres")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = finish(cmd.spawn().unwrap(), Duration::from_secs(30), "pgbench");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{mode}: {}", show(&out));
        assert!(
            stdout.contains("number of transactions actually processed: 800/800"),
            "{mode}: {}",
            show(&out)
        );
        assert!(
            stdout.contains("number of failed transactions: 0 "),
            "{mode}: {}",
            show(&out)
        );
    }
}

/// A raw session LISTENs and then only waits; another session's NOTIFY must reach it.
fn notification_wakes_idle_connection(example: &str) {
    let s = start(example, &[]);
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

    for payload in ["first", "second"] {
        let sent = Instant::now();
        psql_ok(
            s.port,
            "user=bob",
            None,
            &["-c", &format!("NOTIFY ch, '{payload}'")],
        );
        let n = read_until(&mut sock, &mut dec, &mut buf, |m| {
            matches!(m, BackendMessage::NotificationResponse(_))
        })
        .expect("the idle listener got no notification within 5 s");
        let BackendMessage::NotificationResponse(n) = n else {
            unreachable!()
        };
        assert_eq!(n.payload.as_bytes(), payload.as_bytes());
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "{:?}",
            sent.elapsed()
        );
    }
}

/// A client that connects and says nothing is closed at the authentication timeout.
fn silent_connection_times_out(example: &str) {
    let s = start(example, &["--auth-timeout", "1"]);
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let start = Instant::now();
    let mut byte = [0; 1];
    let n = std::io::Read::read(&mut sock, &mut byte).unwrap_or(0);
    assert_eq!(n, 0, "the server sent something to a silent client");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

macro_rules! runtime {
    ($name:ident) => {
        mod $name {
            const EXAMPLE: &str = stringify!($name);

            #[test]
            fn psql_tls_channel_binding() {
                super::psql_tls_channel_binding(EXAMPLE);
            }

            #[test]
            fn psycopg_workload() {
                super::psycopg_workload(EXAMPLE);
            }

            #[test]
            fn psycopg_tls_and_direct_tls() {
                super::psycopg_tls_and_direct_tls(EXAMPLE);
            }

            #[test]
            fn pgbench_modes() {
                super::pgbench_modes(EXAMPLE);
            }

            #[test]
            fn notification_wakes_idle_connection() {
                super::notification_wakes_idle_connection(EXAMPLE);
            }

            #[test]
            fn silent_connection_times_out() {
                super::silent_connection_times_out(EXAMPLE);
            }
        }
    };
}

runtime!(tokio);
runtime!(smol);
runtime!(async_std);
