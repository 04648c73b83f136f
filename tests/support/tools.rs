//! Running psql, pgbench and a raw protocol reader against a server in tests: each with a time
//! limit, failing the test with everything the tool printed.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::message::{BackendDecoder, BackendMessage};

use crate::examples::tool;

/// Waits for `child` at most `limit`; kills it and fails the test if it takes longer.
pub fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what} did not finish within {limit:?}\n{}", show(&out));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

pub fn show(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A psql command against the server (unaligned, tuples only, no psqlrc, never prompting).
pub fn psql_command(port: u16, conninfo: &str, password: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(tool("psql"));
    cmd.arg(format!(
        "host=127.0.0.1 port={port} dbname=postgres {conninfo}"
    ))
    .args(["-X", "-A", "-t", "-w"])
    .args(args)
    .env("PGCONNECT_TIMEOUT", "10")
    .env_remove("PGPASSWORD")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd
}

pub fn psql(port: u16, conninfo: &str, password: Option<&str>, args: &[&str]) -> Output {
    let child = psql_command(port, conninfo, password, args)
        .spawn()
        .expect("run psql");
    finish(child, Duration::from_secs(20), "psql")
}

/// Runs psql and requires success; returns its stdout.
pub fn psql_ok(port: u16, conninfo: &str, password: Option<&str>, args: &[&str]) -> String {
    let out = psql(port, conninfo, password, args);
    assert!(out.status.success(), "psql {args:?} failed\n{}", show(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs psql and requires failure; returns its stderr.
pub fn psql_fails(port: u16, conninfo: &str, password: Option<&str>, args: &[&str]) -> String {
    let out = psql(port, conninfo, password, args);
    assert!(
        !out.status.success(),
        "psql {args:?} succeeded\n{}",
        show(&out)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// Decodes messages from `sock` until `done` accepts one (returned), or the socket ends.
pub fn read_until(
    sock: &mut TcpStream,
    dec: &mut BackendDecoder,
    buf: &mut BytesMut,
    done: impl Fn(&BackendMessage) -> bool,
) -> Option<BackendMessage> {
    let mut chunk = [0; 4096];
    loop {
        while let Some(m) = dec.decode(buf).unwrap() {
            if done(&m) {
                return Some(m);
            }
        }
        match sock.read(&mut chunk) {
            Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// The lines `r` produces (a child's stdout or stderr), arriving on a channel as they are
/// written, read on a thread of their own.
pub fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A line of examples/logical_replication.rs without its trailing ` [details]` (transaction
/// ids and LSNs, which change from run to run).
pub fn without_details(line: &str) -> &str {
    match line.rfind(" [") {
        Some(at) if line.ends_with(']') => &line[..at],
        _ => line,
    }
}
