//! examples/replication_server.rs, a logical replication server over a synthetic change feed,
//! against real consumers: PostgreSQL 15's `pg_recvlogical` (test_decoding) creates a slot,
//! streams to an end position, resumes where it confirmed and drops the slot; the repo's own
//! `logical_replication` example reads the pgoutput stream in protocols 1 and 4; and the
//! crate's client checks the refusals (SQLSTATEs as PostgreSQL gives them), the extended
//! protocol's 08P01, and how a stream ends at the client's CopyDone. Enabled by
//! `--features interop`; it fails, never skips, when pg_recvlogical is missing.
#![cfg(feature = "interop")]

use std::process::{Command, Output, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use pgproto::client::{Connection, Event, Response};
use pgproto::message::TransactionStatus;
use pgproto::replication::{Lsn, PgTimestamp, PrimaryMessage, StandbyStatusUpdate, XLogData};

#[path = "../examples/common/client_io.rs"]
mod client_io;
#[path = "support/examples.rs"]
mod examples;
#[path = "support/tools.rs"]
mod tools;

use client_io::{Stream, next};
use examples::{Server, tool};
use tools::{finish, lines_of, show, without_details};

/// How long any one client run or read may take.
const LIMIT: Duration = Duration::from_secs(30);

fn start(args: &[&str]) -> Server {
    examples::start("replication_server", args)
}

// ----- the feed, as each plugin shows it ---------------------------------------------------------

/// test_decoding's lines for transactions 1 to 3 of the feed.
const TEST_DECODING_1_TO_3: &str = "\
BEGIN 1001
table public.items: INSERT: id[integer]:1 name[text]:'one'
COMMIT 1001
BEGIN 1002
table public.items: INSERT: id[integer]:2 name[text]:'two'
table public.items: UPDATE: id[integer]:1 name[text]:'one''s twin'
COMMIT 1002
BEGIN 1003
table public.items: INSERT: id[integer]:3 name[text]:'three'
table public.items: DELETE: id[integer]:1
COMMIT 1003
";

/// test_decoding's lines for transactions 4 to 6.
const TEST_DECODING_4_TO_6: &str = "\
BEGIN 1004
table public.items: INSERT: id[integer]:4 name[text]:'four'
table public.items: UPDATE: old-key: id[integer]:3 new-tuple: id[integer]:-3 name[text]:'three''s twin'
COMMIT 1004
BEGIN 1005
table public.items: INSERT: id[integer]:5 name[text]:null
COMMIT 1005
BEGIN 1006
table public.items: INSERT: id[integer]:6 name[text]:'six'
table public.items: UPDATE: id[integer]:5 name[text]:'five''s twin'
table public.items: DELETE: id[integer]:4
COMMIT 1006
";

/// Where transactions 3 and 6 end (their commit records' ends).
const END_OF_3: &str = "0/1002138";
const END_OF_6: &str = "0/10051A8";

/// examples/logical_replication's lines for transactions 1 to 4, without the bracketed
/// details (xids, LSNs) that a real server changes from run to run.
const PGOUTPUT_1_TO_4: [&str; 15] = [
    "BEGIN",
    "INSERT public.items: id='1' name='one'",
    "COMMIT",
    "BEGIN",
    "INSERT public.items: id='2' name='two'",
    "UPDATE public.items: id='1' name='one''s twin'",
    "COMMIT",
    "BEGIN",
    "INSERT public.items: id='3' name='three'",
    "DELETE public.items (key: id='1' name=NULL)",
    "COMMIT",
    "BEGIN",
    "INSERT public.items: id='4' name='four'",
    "UPDATE public.items (old key: id='3' name=NULL): id='-3' name='three''s twin'",
    "COMMIT",
];

// ----- pg_recvlogical ----------------------------------------------------------------------------

/// PostgreSQL 15's pg_recvlogical against the example on `port`, slot `slot`; it must
/// finish within [`LIMIT`].
fn recvlogical(port: u16, slot: &str, args: &[&str]) -> Output {
    let child = Command::new(tool("pg_recvlogical"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "tester"])
        .args(["-d", "postgres", "--slot", slot, "-v"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pg_recvlogical");
    finish(child, LIMIT, "pg_recvlogical")
}

fn succeeds(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed\n{}", show(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(out: Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} succeeded\n{}", show(&out));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn pg_recvlogical_streams_test_decoding_and_resumes_where_it_confirmed() {
    let version = Command::new(tool("pg_recvlogical"))
        .arg("--version")
        .output()
        .expect("pg_recvlogical --version");
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with("pg_recvlogical (PostgreSQL) 15."),
        "PostgreSQL 15's pg_recvlogical is expected: {version}"
    );

    let s = start(&["--interval-ms", "50"]);
    succeeds(
        recvlogical(s.port, "feed", &["--create-slot", "-P", "test_decoding"]),
        "--create-slot",
    );
    let err = fails(
        recvlogical(s.port, "feed", &["--create-slot", "-P", "test_decoding"]),
        "a second --create-slot",
    );
    assert!(
        err.contains("replication slot \"feed\" already exists"),
        "{err}"
    );
    // 42710 is what --if-not-exists looks for.
    succeeds(
        recvlogical(
            s.port,
            "feed",
            &["--create-slot", "--if-not-exists", "-P", "test_decoding"],
        ),
        "--create-slot --if-not-exists",
    );
    let err = fails(
        recvlogical(s.port, "other", &["--create-slot", "-P", "wal2json"]),
        "--create-slot with an unknown plugin",
    );
    assert!(
        err.contains("could not access file \"wal2json\": No such file or directory"),
        "{err}"
    );

    // Up to the end of transaction 3: exactly its lines, then a clean exit at that position.
    let first = recvlogical(
        s.port,
        "feed",
        &["--start", "--endpos", END_OF_3, "--no-loop", "-f", "-"],
    );
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    assert_eq!(succeeds(first, "the first --start"), TEST_DECODING_1_TO_3);
    assert!(
        stderr.contains(&format!(
            "end position {END_OF_3} reached by WAL record at {END_OF_3}"
        )),
        "{stderr}"
    );

    // From 0/0 again: the slot continues after what the first run confirmed.
    let second = recvlogical(
        s.port,
        "feed",
        &["--start", "--endpos", END_OF_6, "--no-loop", "-f", "-"],
    );
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    assert_eq!(succeeds(second, "the second --start"), TEST_DECODING_4_TO_6);
    assert!(
        stderr.contains(&format!(
            "end position {END_OF_6} reached by WAL record at {END_OF_6}"
        )),
        "{stderr}"
    );

    succeeds(recvlogical(s.port, "feed", &["--drop-slot"]), "--drop-slot");
    let err = fails(
        recvlogical(s.port, "feed", &["--drop-slot"]),
        "a second --drop-slot",
    );
    assert!(
        err.contains("replication slot \"feed\" does not exist"),
        "{err}"
    );
    let err = fails(
        recvlogical(s.port, "feed", &["--start", "--no-loop", "-f", "-"]),
        "--start without the slot",
    );
    assert!(
        err.contains("replication slot \"feed\" does not exist"),
        "{err}"
    );
}

// ----- examples/logical_replication --------------------------------------------------------------

#[test]
fn logical_replication_example_reads_the_pgoutput_feed() {
    let s = start(&["--interval-ms", "50"]);
    for version in ["1", "4"] {
        let slot = format!("pgoutput_v{version}");
        let url = format!(
            "postgres://tester@127.0.0.1:{}/postgres?sslmode=disable",
            s.port
        );
        let mut child = Command::new(examples::example("logical_replication"))
            .arg(url)
            .args(["--slot", &slot, "--publication", "feed", "--create-slot"])
            .args(["--proto-version", version])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run examples/logical_replication");
        let lines = lines_of(child.stdout.take().unwrap());
        let progress = lines_of(child.stderr.take().unwrap());
        let deadline = Instant::now() + LIMIT;
        let mut got = Vec::new();
        while got.len() < PGOUTPUT_1_TO_4.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => got.push(line),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr: Vec<String> = progress.try_iter().collect();
                    panic!(
                        "protocol {version}: {}; lines so far: {got:#?}\nstderr: {stderr:#?}",
                        match e {
                            RecvTimeoutError::Timeout => "no more lines in time",
                            RecvTimeoutError::Disconnected => "the consumer exited",
                        }
                    );
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let stripped: Vec<&str> = got.iter().map(|l| without_details(l)).collect();
        assert_eq!(stripped, PGOUTPUT_1_TO_4, "protocol {version}: {got:#?}");
        // The details are fixed too: xids and positions come from the feed.
        assert!(got[0].contains("xid 1001"), "{}", got[0]);
        assert!(
            got[14].contains(&format!("end LSN {}", "0/1003138")),
            "{}",
            got[14]
        );
    }
}

// ----- the crate's client: refusals and the end of a stream --------------------------------------

/// A client connection on the example, every read limited to [`LIMIT`].
struct Client {
    conn: Connection,
    stream: Stream,
}

impl Client {
    fn connect(port: u16, replication: &str) -> Client {
        let url = format!(
            "postgres://tester@127.0.0.1:{port}/postgres?sslmode=disable&replication={replication}"
        );
        let (socket, host, config) = client_io::connect(&url).expect("connect");
        let stream = Stream::Plain(socket);
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut conn = Connection::new(config, Instant::now());
        let stream = client_io::login(&mut conn, stream, &host).expect("log in");
        Client { conn, stream }
    }

    fn next(&mut self) -> Response {
        loop {
            match next(&mut self.conn, &mut self.stream).expect("read (time limit)") {
                Event::Response { response, .. } => return response,
                Event::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
    }

    /// Every response up to and including ReadyForQuery.
    fn until_ready(&mut self) -> Vec<Response> {
        let mut out = Vec::new();
        loop {
            let r = self.next();
            let ready = matches!(r, Response::Ready(_));
            out.push(r);
            if ready {
                return out;
            }
        }
    }

    /// Runs a simple query: its rows as text, and the SQLSTATE of its error.
    fn query(&mut self, sql: &str) -> (Vec<Vec<Option<String>>>, Option<String>) {
        self.conn.query(sql).unwrap();
        let responses = self.until_ready();
        assert_eq!(
            responses.last(),
            Some(&Response::Ready(TransactionStatus::Idle)),
            "{sql}"
        );
        let mut rows = Vec::new();
        let mut error = None;
        for r in responses {
            match r {
                Response::DataRow(row) => rows.push(
                    row.values()
                        .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned()))
                        .collect(),
                ),
                Response::Error(e) => error = e.sqlstate().map(|s| s.to_string()),
                _ => {}
            }
        }
        (rows, error)
    }

    /// The SQLSTATE a simple query fails with.
    fn error_of(&mut self, sql: &str) -> String {
        match self.query(sql) {
            (_, Some(code)) => code,
            (rows, None) => panic!("{sql} succeeded: {rows:?}"),
        }
    }

    fn select_1_works(&mut self) {
        assert_eq!(
            self.query("SELECT 1"),
            (vec![vec![Some("1".to_string())]], None)
        );
    }
}

#[test]
fn refusals_carry_postgresql_sqlstates_and_the_session_goes_on() {
    let s = start(&["--interval-ms", "50"]);
    let mut c = Client::connect(s.port, "database");
    c.select_1_works();
    let (rows, error) = c.query("SELECT pg_catalog.set_config('search_path', '', false);");
    assert_eq!((rows, error), (vec![vec![Some(String::new())]], None));

    let (rows, error) = c.query("IDENTIFY_SYSTEM");
    assert_eq!(error, None);
    assert_eq!(rows[0][1].as_deref(), Some("1"), "timeline: {rows:?}");
    assert_eq!(rows[0][3].as_deref(), Some("postgres"), "dbname: {rows:?}");

    for (sql, code) in [
        ("START_REPLICATION SLOT \"nosuch\" LOGICAL 0/0", "42704"),
        ("DROP_REPLICATION_SLOT \"nosuch\"", "42704"),
        (
            "CREATE_REPLICATION_SLOT \"x\" LOGICAL \"wal2json\" (SNAPSHOT 'nothing')",
            "58P01",
        ),
        (
            "CREATE_REPLICATION_SLOT \"Bad\" LOGICAL \"pgoutput\"",
            "42602",
        ),
        ("START_REPLICATION PHYSICAL 0/0", "0A000"),
        ("SHOW no_such_setting", "42704"),
        ("SELECT now()", "0A000"),
        ("START_REPLICATION SLOT", "42601"),
    ] {
        assert_eq!(c.error_of(sql), code, "{sql}");
        c.select_1_works();
    }

    let create = "CREATE_REPLICATION_SLOT \"p\" LOGICAL \"pgoutput\" (SNAPSHOT 'nothing')";
    let (rows, error) = c.query(create);
    assert_eq!(error, None, "{create}");
    assert_eq!(rows[0][1].as_deref(), Some("0/1000000"), "consistent point");
    assert_eq!(c.error_of(create), "42710");
    for (options, code) in [
        ("", "22023"),                        // no proto_version
        ("(\"proto_version\" '1')", "22023"), // no publication_names
        (
            "(\"proto_version\" '5', \"publication_names\" 'p')",
            "0A000",
        ), // too new
        (
            "(\"proto_version\" '0', \"publication_names\" 'p')",
            "0A000",
        ), // too old
        (
            "(\"proto_version\" '1', \"publication_names\" 'p', \"streaming\" 'on')",
            "22023",
        ),
        (
            "(\"proto_version\" '4', \"publication_names\" 'p', \"bogus\" 'x')",
            "XX000",
        ),
    ] {
        let sql = format!("START_REPLICATION SLOT \"p\" LOGICAL 0/0 {options}");
        assert_eq!(c.error_of(&sql), code, "{sql}");
        c.select_1_works();
    }

    // The extended protocol: 08P01, and the session goes on.
    c.conn.parse("", "SELECT 1", &[]).unwrap();
    c.conn.bind("", "", &[], [], &[]).unwrap();
    c.conn.execute("", 0).unwrap();
    c.conn.sync().unwrap();
    let responses = c.until_ready();
    let codes: Vec<String> = responses
        .iter()
        .filter_map(|r| match r {
            Response::Error(e) => e.sqlstate().map(|s| s.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(codes, ["08P01"], "{responses:?}");
    c.select_1_works();

    // A physical connection runs no SQL and has no logical slots.
    let mut physical = Client::connect(s.port, "true");
    assert_eq!(physical.error_of("SELECT 1"), "0A000");
    let (rows, error) = physical.query("IDENTIFY_SYSTEM");
    assert_eq!(error, None);
    assert_eq!(rows[0][3], None, "dbname: {rows:?}");
    assert_eq!(
        physical.error_of("START_REPLICATION SLOT \"p\" LOGICAL 0/0"),
        "55000"
    );
}

/// The payload of a standby status update confirming `lsn`.
fn confirm(lsn: Lsn) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    StandbyStatusUpdate::confirmed(lsn, PgTimestamp(0)).encode(&mut out);
    out.to_vec()
}

/// Streams from slot `slot` until the XLogData whose text is `until`; returns every XLogData
/// (position and text) and keepalive position seen, in order.
fn stream_until(c: &mut Client, slot: &str, until: &str) -> Vec<String> {
    c.conn
        .query(&format!("START_REPLICATION SLOT \"{slot}\" LOGICAL 0/0"))
        .unwrap();
    assert!(
        matches!(c.next(), Response::CopyBoth(_)),
        "CopyBothResponse first"
    );
    let mut seen = Vec::new();
    loop {
        let Response::CopyData(data) = c.next() else {
            panic!("expected CopyData; seen {seen:?}")
        };
        match PrimaryMessage::decode(data).unwrap() {
            PrimaryMessage::XLogData(XLogData {
                wal_start, data, ..
            }) => {
                let text = String::from_utf8_lossy(&data).into_owned();
                let done = text == until;
                seen.push(format!("w {wal_start} {text}"));
                if done {
                    return seen;
                }
            }
            PrimaryMessage::Keepalive(k) => seen.push(format!("k {}", k.wal_end)),
            other => panic!("{other:?}"),
        }
    }
}

/// Sends CopyDone and reads the end of the stream: only CopyData may come before the
/// server's CopyDone, then what PostgreSQL sends after it.
fn end_stream(c: &mut Client) {
    c.conn.copy_done().unwrap();
    let responses = c.until_ready();
    let done = responses
        .iter()
        .position(|r| *r == Response::CopyDone)
        .unwrap_or_else(|| panic!("no CopyDone: {responses:?}"));
    assert!(
        responses[..done]
            .iter()
            .all(|r| matches!(r, Response::CopyData(_))),
        "{responses:?}"
    );
    let tags: Vec<String> = responses[done + 1..]
        .iter()
        .map(|r| match r {
            Response::CommandComplete(c) => c.tag.to_string_lossy().into_owned(),
            Response::Ready(s) => format!("Ready {s:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, ["COPY 0", "START_REPLICATION", "Ready Idle"]);
}

#[test]
fn copy_done_ends_the_stream_as_postgresql_does_and_status_updates_move_the_slot() {
    // Three transactions, then only keepalives.
    let s = start(&["--transactions", "3", "--interval-ms", "20"]);
    let mut c = Client::connect(s.port, "database");
    let (_, error) = c.query(
        "CREATE_REPLICATION_SLOT \"t\" TEMPORARY LOGICAL \"test_decoding\" (SNAPSHOT 'nothing')",
    );
    assert_eq!(error, None);

    let seen = stream_until(&mut c, "t", "COMMIT 1003");
    let xlog: Vec<&String> = seen.iter().filter(|m| m.starts_with('w')).collect();
    assert_eq!(
        xlog,
        [
            "w 0/1000028 BEGIN 1001",
            "w 0/1000028 table public.items: INSERT: id[integer]:1 name[text]:'one'",
            "w 0/10000C8 COMMIT 1001",
            "w 0/1001028 BEGIN 1002",
            "w 0/1001028 table public.items: INSERT: id[integer]:2 name[text]:'two'",
            "w 0/1001098 table public.items: UPDATE: id[integer]:1 name[text]:'one''s twin'",
            "w 0/1001138 COMMIT 1002",
            "w 0/1002028 BEGIN 1003",
            "w 0/1002028 table public.items: INSERT: id[integer]:3 name[text]:'three'",
            "w 0/1002098 table public.items: DELETE: id[integer]:1",
            "w 0/1002138 COMMIT 1003",
        ],
        "{seen:?}"
    );
    assert_eq!(
        seen[0], "k 0/1000000",
        "a keepalive opens the stream: {seen:?}"
    );
    // Caught up: a keepalive at the end of the feed.
    match c.next() {
        Response::CopyData(data) => match PrimaryMessage::decode(data).unwrap() {
            PrimaryMessage::Keepalive(k) => assert_eq!(k.wal_end.to_string(), "0/1002138"),
            other => panic!("expected a keepalive, got {other:?}"),
        },
        other => panic!("expected CopyData, got {other:?}"),
    }
    // Confirm transaction 2 only, and end the stream.
    c.conn
        .copy_data(&confirm("0/1001138".parse().unwrap()))
        .unwrap();
    end_stream(&mut c);
    c.select_1_works();

    // The slot now starts at transaction 3.
    let seen = stream_until(&mut c, "t", "COMMIT 1003");
    let first = seen.iter().find(|m| m.starts_with('w'));
    assert_eq!(
        first.map(String::as_str),
        Some("w 0/1002028 BEGIN 1003"),
        "{seen:?}"
    );
    // While it streams, no one else may use or drop it.
    let mut other = Client::connect(s.port, "database");
    assert_eq!(other.error_of("DROP_REPLICATION_SLOT \"t\""), "55006");
    assert_eq!(
        other.error_of("START_REPLICATION SLOT \"t\" LOGICAL 0/0"),
        "55006"
    );
    end_stream(&mut c);

    // A temporary slot goes with its session.
    drop(c);
    let deadline = Instant::now() + LIMIT;
    loop {
        match other.query("DROP_REPLICATION_SLOT \"t\"") {
            (_, Some(code)) if code == "42704" => break,
            (_, Some(code)) if code == "55006" && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("the temporary slot outlived its session: {other:?}"),
        }
    }
}

/// A client's stream message the server cannot read (a type byte no standby sends, then a
/// truncated status update) ends the session with FATAL 08P01, as a walsender ends it.
#[test]
fn a_bad_stream_message_from_the_client_is_fatal_08p01() {
    let s = start(&["--transactions", "1", "--interval-ms", "20"]);
    for bad in [&b"x"[..], &b"r\0\0\0"[..]] {
        let mut c = Client::connect(s.port, "database");
        let (_, error) = c.query(
            "CREATE_REPLICATION_SLOT \"bad\" TEMPORARY LOGICAL \"test_decoding\" (SNAPSHOT 'nothing')",
        );
        assert_eq!(error, None);
        stream_until(&mut c, "bad", "COMMIT 1001");
        c.conn.copy_data(bad).unwrap();
        let fatal = loop {
            match next(&mut c.conn, &mut c.stream).expect("read (time limit)") {
                Event::Closed(Some(pgproto::client::ClientError::Server(e))) => break e,
                Event::Closed(other) => panic!("closed without the server's error: {other:?}"),
                _ => {}
            }
        };
        assert_eq!(fatal.severity(), Some(&b"FATAL"[..]), "{bad:?}");
        assert_eq!(
            fatal.sqlstate().map(|s| s.to_string()).as_deref(),
            Some("08P01"),
            "{bad:?}"
        );
    }
}
