//! A real psql talking to examples/hello_server.rs, which is built on the message layer alone.
//! Enabled by `--features interop`; it fails, never skips, when psql or the example is missing.
#![cfg(feature = "interop")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The example binary, which `cargo test` builds next to the test binaries.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} was not built (cargo test builds examples)",
        path.display()
    );
    path
}

fn psql() -> PathBuf {
    for p in ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("psql is not installed: run the interop tests through scripts/test.sh");
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(example("hello_server"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hello_server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line");
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    Server { child, port }
}

fn run_psql(port: u16, conninfo: &str, args: &[&str]) -> std::process::Output {
    Command::new(psql())
        .arg(format!(
            "host=127.0.0.1 port={port} dbname=postgres {conninfo}"
        ))
        .args(["-X", "-A", "-t"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql")
}

#[test]
fn psql_runs_queries_through_the_message_layer() {
    let server = start();
    let out = run_psql(
        server.port,
        "user=postgres sslmode=prefer",
        &["-c", "SELECT 'héllo'", "-c", "SELECT 2"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SELECT 'héllo'\nSELECT 2\n"
    );
}

#[test]
fn psql_sees_that_tls_is_declined() {
    let server = start();
    let out = run_psql(
        server.port,
        "user=postgres sslmode=require",
        &["-c", "SELECT 1"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server does not support SSL"), "{err}");
}

#[test]
fn psql_reports_server_version_from_parameter_status() {
    let server = start();
    let out = run_psql(
        server.port,
        "user=alice",
        &["-c", "\\echo :SERVER_VERSION_NAME :USER"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "18.0 (pgproto hello_server) alice\n"
    );
}
