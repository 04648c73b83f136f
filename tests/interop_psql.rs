//! A real psql talking to examples/hello_server.rs, which is built on the message layer alone.
//! Enabled by `--features interop`; it fails, never skips, when psql or the example is missing.
#![cfg(feature = "interop")]

#[path = "support/examples.rs"]
mod examples;

use std::path::PathBuf;
use std::process::Command;

use examples::Server;

fn psql() -> PathBuf {
    for p in ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("psql is not installed: run the interop tests through scripts/test.sh");
}

fn start() -> Server {
    examples::start("hello_server", &[])
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
