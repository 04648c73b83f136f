//! examples/tokio.rs under load: pgbench with 50 clients for 30 s, 1,000 idle connections held
//! with bounded memory (and still answering afterwards), and 400 connections that never finish
//! startup, all closed by the authentication timeout. The server is examples/tokio in the test
//! binary's profile (debug under `cargo test`; built first if out of date), unless
//! `PGPROTO_LOAD_EXAMPLE` names another build (`cargo build --release --example tokio`, then
//! `PGPROTO_LOAD_EXAMPLE=target/release/examples/tokio`) to measure that one. Enabled by
//! `--features interop`; fails, never skips.
#![cfg(feature = "interop")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use pgproto::message::{BackendDecoder, BackendMessage, ProtocolVersion, Query, StartupMessage};

#[path = "support/examples.rs"]
mod examples;
#[path = "support/tools.rs"]
mod tools;

use examples::{Server, TempDir, build_example, tool};
use tools::{finish, read_until, show};

/// The soft RLIMIT_NOFILE given to the server and, if lower, to this test process.
const NOFILE: u32 = 4096;

/// How many idle connections the memory test holds.
const IDLE: usize = 1000;

/// The most an idle connection may cost the server in resident memory. An idle connection is a
/// tokio task holding the protocol state machine, the catalog session and a registered socket;
/// reads go into one 64 KiB buffer per worker thread, not one per connection, and nothing else
/// about an idle connection is sized by traffic, so staying under the read buffer's size per
/// connection shows that idle connections hold no I/O buffers. (Measured: about 11 KiB in debug
/// and release builds alike, some 9 KiB of it heap by heaptrack: the task with its future, the
/// session's and the connection's small tables.)
const MAX_BYTES_PER_IDLE: u64 = 64 * 1024;

/// A read on any test socket waits at most this long.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// examples/tokio: `PGPROTO_LOAD_EXAMPLE`, or else the build next to the test binary, brought
/// up to date first (`cargo test --test interop_load` alone builds no examples, and a stale
/// binary would test old code).
fn tokio_example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = std::env::var_os("PGPROTO_LOAD_EXAMPLE") {
        let path = PathBuf::from(path);
        assert!(path.exists(), "PGPROTO_LOAD_EXAMPLE: no {}", path.display());
        return path;
    }
    BUILT.get_or_init(|| build_example("tokio")).clone()
}

/// Starts examples/tokio with `--listen 127.0.0.1:0`, `args` and a soft file-descriptor limit
/// of [`NOFILE`] (through the shell's `ulimit`, then `exec`, so the child's pid is the
/// server's), and waits for its `listening on ADDR` line.
fn start_with_nofile(args: &[&str]) -> Server {
    let exe = tokio_example();
    println!("server: {}", exe.display());
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start examples/tokio through sh");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Killed on drop from here on, even if the line is not the expected one.
    let mut server = Server { child, port: 0 };
    let Some(addr) = line.trim().strip_prefix("listening on ") else {
        panic!("expected `listening on ADDR` (a hard NOFILE limit below {NOFILE}?), got {line:?}");
    };
    server.port = addr.rsplit(':').next().unwrap().parse().unwrap();
    server
}

/// The soft and hard RLIMIT_NOFILE of process `pid`, from /proc/PID/limits.
fn nofile_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files in /proc/PID/limits");
    let mut words = line["Max open files".len()..].split_whitespace();
    let mut limit = || match words.next().unwrap() {
        "unlimited" => u64::MAX,
        n => n.parse().unwrap(),
    };
    (limit(), limit())
}

/// Raises this process's soft RLIMIT_NOFILE to [`NOFILE`] if it is lower, with util-linux's
/// prlimit (the crate has no libc dev-dependency); fails if the hard limit does not allow it.
fn raise_own_nofile() {
    let me = std::process::id();
    let (soft, hard) = nofile_limits(me);
    if soft >= u64::from(NOFILE) {
        return;
    }
    assert!(
        hard >= u64::from(NOFILE),
        "the hard RLIMIT_NOFILE ({hard}) is below the {NOFILE} this test needs"
    );
    let out = Command::new("prlimit")
        .args(["--pid", &me.to_string(), &format!("--nofile={NOFILE}:")])
        .output()
        .expect("run prlimit (util-linux) to raise RLIMIT_NOFILE");
    assert!(out.status.success(), "prlimit failed\n{}", show(&out));
    assert_eq!(nofile_limits(me).0, u64::from(NOFILE));
}

/// The resident set size of process `pid`, in bytes (VmRSS of /proc/PID/status).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .expect("VmRSS in /proc/PID/status")
        .trim()
        .strip_suffix("kB")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// How many file descriptors process `pid` has open.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Waits (at most 10 s) until process `pid` has at most `fds` descriptors open.
fn wait_for_fds(pid: u32, fds: usize, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        let now = open_fds(pid);
        if now <= fds {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: the server still has {now} descriptors open after 10 s, expected {fds}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A raw session that has completed startup (trust) and is ready for queries.
struct Session {
    sock: TcpStream,
    dec: BackendDecoder,
    buf: BytesMut,
}

impl Session {
    fn open(port: u16, user: &str) -> Session {
        let mut sock = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect for {user}: {e}"));
        sock.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut out = BytesMut::new();
        StartupMessage::write(&mut out, ProtocolVersion::V3_0, [("user", user)]).unwrap();
        sock.write_all(&out).unwrap();
        let mut session = Session {
            sock,
            dec: BackendDecoder::new(),
            buf: BytesMut::new(),
        };
        let m = session.read_until(|m| {
            matches!(
                m,
                BackendMessage::ReadyForQuery(_) | BackendMessage::ErrorResponse(_)
            )
        });
        assert!(
            matches!(m, Some(BackendMessage::ReadyForQuery(_))),
            "startup of {user}: {m:?}"
        );
        session
    }

    fn read_until(&mut self, done: impl Fn(&BackendMessage) -> bool) -> Option<BackendMessage> {
        read_until(&mut self.sock, &mut self.dec, &mut self.buf, done)
    }

    fn send_select1(&mut self) {
        let mut out = BytesMut::new();
        Query::write(&mut out, "SELECT 1").unwrap();
        self.sock.write_all(&out).unwrap();
    }

    /// Reads the answer to [`Session::send_select1`]: one row `1`, then ReadyForQuery.
    fn expect_one(&mut self, what: &str) {
        let m = self.read_until(|m| {
            matches!(
                m,
                BackendMessage::DataRow(_) | BackendMessage::ErrorResponse(_)
            )
        });
        let Some(BackendMessage::DataRow(row)) = m else {
            panic!(
                "{what}: SELECT 1 answered {m:?} (None: EOF or no answer within {READ_TIMEOUT:?})"
            );
        };
        let values: Vec<_> = row.values().collect();
        assert_eq!(values, [Some(&b"1"[..])], "{what}");
        let m = self.read_until(|m| matches!(m, BackendMessage::ReadyForQuery(_)));
        assert!(m.is_some(), "{what}: no ReadyForQuery after SELECT 1");
    }

    fn select1(&mut self, what: &str) {
        self.send_select1();
        self.expect_one(what);
    }
}

/// A fresh connection completes startup and answers `SELECT 1`.
fn serves_new_connection(port: u16, what: &str) {
    Session::open(port, "fresh").select1(what);
}

/// pgbench's `SELECT 1` with 50 clients on 2 threads for 30 s in prepared mode: every client
/// connects, nothing fails.
#[test]
fn pgbench_50_clients_30s_prepared() {
    let s = start_with_nofile(&[]);
    let dir = TempDir::new("load-pgbench");
    std::fs::write(dir.path("select1.sql"), "SELECT 1;\n").unwrap();
    let mut cmd = Command::new(tool("pgbench"));
    cmd.args(["-n", "-f", &dir.path("select1.sql")])
        .args(["-c", "50", "-j", "2", "-T", "30", "-M", "prepared"])
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
        ])
        .arg("postgres")
        .env("PGCONNECT_TIMEOUT", "10")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = finish(cmd.spawn().unwrap(), Duration::from_secs(90), "pgbench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", show(&out));
    let field = |name: &str| -> &str {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no `{name}` in pgbench's output\n{}", show(&out)))
            .trim()
    };
    assert_eq!(field("number of clients:"), "50", "{}", show(&out));
    assert_eq!(field("number of threads:"), "2", "{}", show(&out));
    assert_eq!(field("query mode:"), "prepared", "{}", show(&out));
    assert!(
        field("number of failed transactions:").starts_with("0 "),
        "{}",
        show(&out)
    );
    let processed: u64 = field("number of transactions actually processed:")
        .parse()
        .unwrap_or_else(|e| panic!("transaction count: {e}\n{}", show(&out)));
    assert!(processed > 0, "{}", show(&out));
    let tps = field("tps =");
    println!("pgbench -c 50 -j 2 -T 30 -M prepared: {processed} transactions, tps = {tps}");
    serves_new_connection(s.port, "after pgbench");
}

/// 1,000 connections complete startup and sit idle: the server's resident memory grows by less
/// than [`MAX_BYTES_PER_IDLE`] per connection, a new connection is still served, every idle
/// connection still answers a query, and closing them all releases their descriptors.
#[test]
fn thousand_idle_connections_bounded_memory() {
    raise_own_nofile();
    let s = start_with_nofile(&[]);
    let pid = s.child.id();
    assert!(
        nofile_limits(pid).0 >= u64::from(NOFILE),
        "{:?}",
        nofile_limits(pid)
    );

    // Warm up (first connections, the worker threads' read buffers), then take the baseline
    // once the warm-up connections are gone.
    let baseline_fds = open_fds(pid);
    for i in 0..4 {
        serves_new_connection(s.port, &format!("warm-up {i}"));
    }
    wait_for_fds(pid, baseline_fds, "after the warm-up");
    std::thread::sleep(Duration::from_millis(100));
    let before = rss(pid);

    let opening = Instant::now();
    let mut idle: Vec<Session> = (0..IDLE)
        .map(|i| Session::open(s.port, &format!("idle{i}")))
        .collect();
    let opened_in = opening.elapsed();
    assert_eq!(
        open_fds(pid),
        baseline_fds + IDLE,
        "the server's descriptors"
    );
    std::thread::sleep(Duration::from_millis(500));
    let after = rss(pid);
    let per_conn = after.saturating_sub(before) / IDLE as u64;
    println!(
        "{IDLE} idle connections opened in {opened_in:.2?}; server RSS {} before, {} after: \
         {per_conn} bytes per idle connection",
        mib(before),
        mib(after)
    );
    assert!(
        per_conn < MAX_BYTES_PER_IDLE,
        "{per_conn} bytes per idle connection (RSS {before} -> {after})"
    );

    serves_new_connection(s.port, "beside the idle connections");

    // Every idle connection still answers: all queries first, then all answers.
    let querying = Instant::now();
    for session in &mut idle {
        session.send_select1();
    }
    for (i, session) in idle.iter_mut().enumerate() {
        session.expect_one(&format!("idle connection {i}"));
    }
    let queried = rss(pid);
    println!(
        "all {IDLE} answered SELECT 1 in {:.2?}; server RSS {}",
        querying.elapsed(),
        mib(queried)
    );

    drop(idle);
    let closed_in = wait_for_fds(pid, baseline_fds, "after closing the idle connections");
    serves_new_connection(s.port, "after closing the idle connections");
    std::thread::sleep(Duration::from_millis(200));
    let closed = rss(pid);
    println!(
        "closed: descriptors released in {closed_in:.2?}; server RSS {} after close",
        mib(closed)
    );
    // Freed memory may stay with the allocator, but closing must not cost more memory.
    assert!(
        closed <= queried + 1024 * 1024,
        "RSS grew on close: {queried} -> {closed}"
    );
}

/// How many connections the auth-timeout test opens at once: less than the listen backlog.
const BURST: usize = 100;

/// How many connections wait in the accept queue of the listener on 127.0.0.1:`port`
/// (rx_queue of its LISTEN line in /proc/net/tcp).
fn accept_queue(port: u16) -> usize {
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{port:04X}");
    let line = tcp
        .lines()
        .find(|l| {
            let mut f = l.split_whitespace().skip(1);
            f.next() == Some(&local) && f.nth(1) == Some("0A")
        })
        .unwrap_or_else(|| panic!("no LISTEN socket {local} in /proc/net/tcp"));
    let queues = line.split_whitespace().nth(4).unwrap();
    let rx = queues.split(':').nth(1).unwrap();
    usize::from_str_radix(rx, 16).unwrap()
}

/// Waits (at most 5 s) until the first `n` connections have connected (or failed to) and the
/// server has accepted them all.
async fn accept_queue_drained(port: u16, connects: &AtomicUsize, n: usize) {
    let start = Instant::now();
    loop {
        let connected = connects.load(Ordering::SeqCst);
        let waiting = accept_queue(port);
        if connected >= n && waiting == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "after 5 s, {connected} of {n} connects done, {waiting} connections unaccepted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What became of a connection that never finished startup.
struct Unfinished {
    /// Whether it sent the first 4 bytes of a StartupMessage (or nothing).
    partial: bool,
    /// How long connecting took.
    connect: Duration,
    /// The time from starting to connect to EOF and what the server sent, or what went wrong.
    closed: Result<(Duration, Vec<u8>), String>,
}

impl Unfinished {
    fn kind(&self) -> &'static str {
        if self.partial {
            "partial StartupMessage"
        } else {
            "silent"
        }
    }
}

/// Connects (and counts that in `connects`), sends `partial` if given, and reads until EOF
/// (at most [`READ_TIMEOUT`]).
async fn unfinished(port: u16, partial: Option<Vec<u8>>, connects: Arc<AtomicUsize>) -> Unfinished {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let connecting = tokio::net::TcpStream::connect(("127.0.0.1", port));
    let mut outcome = Unfinished {
        partial: partial.is_some(),
        connect: Duration::ZERO,
        closed: Err(String::new()),
    };
    let connected = tokio::time::timeout(READ_TIMEOUT, connecting).await;
    connects.fetch_add(1, Ordering::SeqCst);
    let mut sock = match connected {
        Ok(Ok(sock)) => sock,
        Ok(Err(e)) => {
            outcome.closed = Err(format!("connect: {e}"));
            return outcome;
        }
        Err(_) => {
            outcome.closed = Err(format!("connect: no answer within {READ_TIMEOUT:?}"));
            return outcome;
        }
    };
    let connected = Instant::now();
    outcome.connect = connected - started;
    if let Some(bytes) = &partial
        && let Err(e) = sock.write_all(bytes).await
    {
        outcome.closed = Err(format!(
            "writing 4 bytes: {e} after {:?}",
            connected.elapsed()
        ));
        return outcome;
    }
    let mut got = Vec::new();
    let read = tokio::time::timeout(READ_TIMEOUT, sock.read_to_end(&mut got)).await;
    let waited = started.elapsed();
    outcome.closed = match read {
        Ok(Ok(_)) => Ok((waited, got)),
        Ok(Err(e)) => Err(format!("read: {e} after {waited:?}, received {got:?}")),
        Err(_) => Err(format!(
            "still open after {READ_TIMEOUT:?}, received {got:?}"
        )),
    };
    outcome
}

/// With `--auth-timeout 1`, 200 connections that send nothing and 200 that send only the
/// first 4 bytes (the length) of a StartupMessage are all closed, silently, 1–4 s after they
/// started connecting, and leave no descriptor behind; the server then serves a normal
/// connection.
#[test]
fn unfinished_startups_closed_by_auth_timeout() {
    raise_own_nofile();
    let s = start_with_nofile(&["--auth-timeout", "1"]);
    let pid = s.child.id();
    let baseline_fds = open_fds(pid);
    let mut startup = BytesMut::new();
    StartupMessage::write(&mut startup, ProtocolVersion::V3_0, [("user", "slow")]).unwrap();
    let partial = startup[..4].to_vec();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = s.port;
    // In bursts the listen backlog (128, std's and mio's default) can hold: when a burst of
    // connects overflows it, the kernel drops SYNs (connect retried after 1 s) or, with SYN
    // cookies, the handshake's last ACK, which leaves a silent client "connected" to a server
    // that never saw it. That is the kernel's business, not the authentication timeout's.
    let results: Vec<Unfinished> = rt.block_on(async move {
        let connects = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..400 {
            if i % BURST == 0 {
                accept_queue_drained(port, &connects, i).await;
            }
            let partial = (i % 2 == 1).then(|| partial.clone());
            tasks.push(tokio::spawn(unfinished(port, partial, connects.clone())));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("a connection task panicked"));
        }
        results
    });

    // Every failure at once, with what the server still holds, rather than the first one.
    // The server starts the timeout when it accepts, after the connect began: no EOF may come
    // sooner than 1 s after that.
    let window = Duration::from_secs(1)..Duration::from_secs(4);
    let failures: Vec<String> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.closed {
            Ok((waited, got)) if got.is_empty() && window.contains(waited) => None,
            Ok((waited, got)) => Some(format!(
                "#{i} ({}): closed after {waited:?}, received {got:?}",
                r.kind()
            )),
            Err(e) => Some(format!("#{i} ({}): {e}", r.kind())),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 400 connections not closed silently within {window:?} of starting to connect (the \
         server has {} descriptors open, {baseline_fds} at the start):\n{}",
        failures.len(),
        open_fds(pid),
        failures.join("\n")
    );
    for partial in [false, true] {
        let group: Vec<_> = results.iter().filter(|r| r.partial == partial).collect();
        let kind = group[0].kind();
        let waited = |r: &&Unfinished| r.closed.as_ref().unwrap().0;
        let min = group.iter().map(waited).min().unwrap();
        let max = group.iter().map(waited).max().unwrap();
        let connect = group.iter().map(|r| r.connect).max().unwrap();
        println!(
            "{} {kind} connections: EOF {min:.3?} to {max:.3?} after starting to connect \
             (connect took up to {connect:.2?})",
            group.len()
        );
    }
    assert_eq!(open_fds(pid), baseline_fds, "the server's descriptors");
    serves_new_connection(s.port, "after the timeouts");
}
