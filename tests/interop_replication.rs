//! Logical replication from real PostgreSQL 15 and 18: examples/logical_replication.rs (the
//! client state machine, the stream messages and the pgoutput decoder) consumes a publication
//! while psql makes changes, in every pgoutput protocol version the server has; and the typed
//! replication commands and results against both servers. Enabled by `--features interop`; it
//! fails, never skips, when a server or psql is missing.
#![cfg(feature = "interop")]

use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use pgproto::client::{Config, Connection, Event, Response, SslMode};
use pgproto::message::{DataRow, ErrorFields, TransactionStatus};
use pgproto::replication::{
    CreateReplicationSlot, CreatedSlot, HotStandbyFeedback, IdentifySystem, Lsn, PgTimestamp,
    PrimaryMessage, ReadReplicationSlot, ReplicationCommand, SnapshotAction, StandbyMessage,
    StandbyStatusUpdate, StartKind, StartReplication, TimelineHistory,
};

#[path = "../examples/common/client_io.rs"]
mod client_io;
#[path = "support/examples.rs"]
mod examples;
mod support;
#[path = "support/tools.rs"]
mod tools;

use client_io::{Stream, login, next};
use tools::{lines_of, psql_ok, without_details};

const USER: &str = "pgproto_repl";
const PASSWORD: &str = "repl-secret";

fn servers() -> [(&'static str, u16); 2] {
    [("15", support::pg15_port()), ("18", support::pg18_port())]
}

/// psql as the superuser on `db`; returns stdout.
fn sql(port: u16, db: &str, script: &str) -> String {
    psql_ok(
        port,
        &format!("user=postgres dbname={db}"),
        None,
        &["-v", "ON_ERROR_STOP=1", "-c", script],
    )
}

/// A fresh database `name` with a publication `pub` for tables made by `setup`.
fn fresh_database(port: u16, name: &str, setup: &str) {
    sql(
        port,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    sql(port, "postgres", &format!("CREATE DATABASE {name}"));
    sql(port, name, setup);
}

/// A psql session kept open, fed statements on its stdin (to hold a transaction open while
/// the consumer shows what was streamed of it).
struct OpenPsql {
    child: Child,
}

impl OpenPsql {
    fn open(port: u16, db: &str) -> OpenPsql {
        let mut cmd = tools::psql_command(
            port,
            &format!("user=postgres dbname={db}"),
            None,
            &["-v", "ON_ERROR_STOP=1"],
        );
        cmd.stdin(Stdio::piped()).stdout(Stdio::null());
        OpenPsql {
            child: cmd.spawn().expect("psql"),
        }
    }

    fn send(&mut self, script: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{script}").unwrap();
        stdin.flush().unwrap();
    }

    fn finish(self) {
        let OpenPsql { mut child } = self;
        drop(child.stdin.take());
        let out = tools::finish(child, Duration::from_secs(30), "psql");
        assert!(out.status.success(), "{}", tools::show(&out));
    }
}

/// The example, running, with its stdout and stderr lines arriving on channels.
struct Consumer {
    child: Child,
    lines: Receiver<String>,
    progress: Receiver<String>,
    /// Everything read so far, for failure messages.
    seen: Vec<String>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Consumer {
    /// Starts the example on database `db` with a temporary slot and `extra` options, and
    /// waits until it streams.
    fn start(port: u16, db: &str, slot: &str, extra: &[&str]) -> Consumer {
        let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{db}?sslmode=disable");
        let mut child = Command::new(examples::example("logical_replication"))
            .arg(url)
            .args([
                "--slot",
                slot,
                "--publication",
                "pub",
                "--create-slot",
                "--temporary",
            ])
            .args(["--status-interval", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start examples/logical_replication");
        let lines = lines_of(child.stdout.take().unwrap());
        let progress = lines_of(child.stderr.take().unwrap());
        let mut c = Consumer {
            child,
            lines,
            progress,
            seen: Vec::new(),
        };
        c.wait_progress("streaming from slot");
        c
    }

    /// Waits for a stderr line containing `what`; returns it.
    fn wait_progress(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.progress.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(line) => self.seen.push(format!("stderr: {line}")),
                Err(e) => panic!(
                    "no \"{what}\" from logical_replication ({e:?}); seen: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The next `n` change lines (stdout).
    fn take(&mut self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    out.push(line);
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} of {n} lines within 60 s: {out:#?}\nstderr and before: {:#?}",
                    out.len(),
                    self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let errors: Vec<String> = self.progress.try_iter().collect();
                    panic!("logical_replication ended after {out:#?}\nstderr: {errors:#?}")
                }
            }
        }
        out
    }

    /// The next `n` lines without their bracketed, run-dependent details.
    fn take_plain(&mut self, n: usize) -> Vec<String> {
        self.take(n).iter().map(|l| plain(l)).collect()
    }
}

/// A line without its trailing ` [...]` details.
fn plain(line: &str) -> String {
    without_details(line).to_string()
}

/// The LSN after `key ` inside a line's bracketed details.
fn lsn_in(line: &str, key: &str) -> Lsn {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len();
    let text: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '/')
        .collect();
    text.parse().unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The slot's confirmed position, as PostgreSQL sees it.
fn confirmed_flush(port: u16, db: &str, slot: &str) -> Lsn {
    let v = sql(
        port,
        db,
        &format!("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"),
    );
    v.trim().parse().unwrap_or_else(|e| panic!("{v:?}: {e}"))
}

/// Waits until the slot has confirmed `lsn` (the example acknowledges within a second).
fn wait_confirmed(port: u16, db: &str, slot: &str, lsn: Lsn) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = confirmed_flush(port, db, slot);
        if c >= lsn {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "slot {slot} confirmed only {c}, not {lsn}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const TABLES: &str = "CREATE TABLE items (id int PRIMARY KEY, name text); \
     CREATE TABLE full_items (id int, name text); \
     ALTER TABLE full_items REPLICA IDENTITY FULL; \
     CREATE TABLE keyless (note text); \
     ALTER TABLE keyless REPLICA IDENTITY NOTHING; \
     CREATE TYPE mood AS ENUM ('ok', 'sad'); \
     CREATE TABLE moods (m mood); \
     CREATE PUBLICATION pub FOR TABLE items, full_items, keyless, moods;";

/// Inserts, updates with and without old keys, deletes, truncates and logical messages, in
/// protocol version 1 (every server) with `messages` on.
#[test]
fn changes_in_protocol_1() {
    for (version, port) in servers() {
        let db = format!("lr_changes_{version}");
        fresh_database(port, &db, TABLES);
        let mut c = Consumer::start(port, &db, "lr_changes", &["--messages"]);
        sql(
            port,
            &db,
            "INSERT INTO items VALUES (1, 'one'), (2, NULL); \
             INSERT INTO full_items VALUES (1, 'a');",
        );
        // Two statements in one psql -c run as one transaction.
        assert_eq!(
            c.take_plain(5),
            [
                "BEGIN",
                "INSERT public.items: id='1' name='one'",
                "INSERT public.items: id='2' name=NULL",
                "INSERT public.full_items: id='1' name='a'",
                "COMMIT",
            ],
            "PostgreSQL {version}"
        );
        sql(port, &db, "UPDATE items SET name = 'uno' WHERE id = 1");
        sql(port, &db, "UPDATE items SET id = 3 WHERE id = 2");
        sql(port, &db, "UPDATE full_items SET name = 'b'");
        sql(port, &db, "DELETE FROM items WHERE id = 1");
        sql(port, &db, "DELETE FROM full_items");
        let got = c.take_plain(15);
        assert_eq!(
            got,
            [
                "BEGIN",
                // Key unchanged: no old values.
                "UPDATE public.items: id='1' name='uno'",
                "COMMIT",
                "BEGIN",
                // Key changed: the old key (other columns null).
                "UPDATE public.items (old key: id='2' name=NULL): id='3' name=NULL",
                "COMMIT",
                "BEGIN",
                // Replica identity full: the whole old row.
                "UPDATE public.full_items (old row: id='1' name='a'): id='1' name='b'",
                "COMMIT",
                "BEGIN",
                "DELETE public.items (key: id='1' name=NULL)",
                "COMMIT",
                "BEGIN",
                "DELETE public.full_items (old row: id='1' name='b')",
                "COMMIT",
            ],
            "PostgreSQL {version}"
        );
        sql(
            port,
            &db,
            "INSERT INTO keyless VALUES ('x'); \
             TRUNCATE items, full_items RESTART IDENTITY CASCADE;",
        );
        sql(
            port,
            &db,
            "SELECT pg_logical_emit_message(false, 'app', 'outside'); \
             BEGIN; SELECT pg_logical_emit_message(true, 'app', 'it''s inside'); COMMIT;",
        );
        let got = c.take(7);
        let plain_got: Vec<String> = got.iter().map(|l| plain(l)).collect();
        assert_eq!(
            plain_got,
            [
                "BEGIN",
                "INSERT public.keyless: note='x'",
                "TRUNCATE public.items, public.full_items CASCADE RESTART IDENTITY",
                "COMMIT",
                "MESSAGE non-transactional prefix 'app': 'outside'",
                "BEGIN",
                "MESSAGE transactional prefix 'app': 'it''s inside'",
            ],
            "PostgreSQL {version}"
        );
        assert_eq!(plain(&c.take(1)[0]), "COMMIT");
        // A change replayed from another node carries its replication origin.
        sql(
            port,
            &db,
            "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin \
             WHERE roname = 'lr_origin'",
        );
        psql_ok(
            port,
            &format!("user=postgres dbname={db}"),
            None,
            &[
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "SELECT pg_replication_origin_create('lr_origin')",
                "-c",
                "SELECT pg_replication_origin_session_setup('lr_origin')",
                "-c",
                "INSERT INTO items VALUES (9, 'elsewhere')",
                "-c",
                "SELECT pg_replication_origin_session_reset()",
                "-c",
                "SELECT pg_replication_origin_drop('lr_origin')",
            ],
        );
        let got = c.take(4);
        let plain_got: Vec<String> = got.iter().map(|l| plain(l)).collect();
        assert_eq!(
            plain_got,
            [
                "BEGIN",
                "ORIGIN lr_origin",
                "INSERT public.items: id='9' name='elsewhere'",
                "COMMIT"
            ],
            "PostgreSQL {version}"
        );
        // The example acknowledged what it printed: the slot's confirmed position reaches
        // the last commit's end.
        wait_confirmed(port, &db, "lr_changes", lsn_in(&got[3], "end LSN "));
        drop(c);
        sql(
            port,
            "postgres",
            &format!("DROP DATABASE {db} WITH (FORCE)"),
        );
    }
}

/// A transaction larger than logical_decoding_work_mem (64 kB on the test clusters) is
/// streamed before it commits (protocol 2, streaming on): its changes arrive in blocks
/// between STREAM START and STREAM STOP, carrying its xid, then STREAM COMMIT; an aborted
/// one ends with STREAM ABORT, and a rolled-back subtransaction of a streamed one with a
/// subtransaction abort.
#[test]
fn large_transactions_stream_in_protocol_2() {
    for (version, port) in servers() {
        let db = format!("lr_stream_{version}");
        fresh_database(port, &db, TABLES);
        let mut c = Consumer::start(port, &db, "lr_stream", &["--proto-version", "2"]);
        let rows = 3000;
        sql(
            port,
            &db,
            &format!(
                "INSERT INTO items SELECT g, repeat('x', 50) FROM generate_series(1, {rows}) g"
            ),
        );
        let (inserts, xids, end) = read_stream(&mut c, "STREAM COMMIT");
        assert_eq!(inserts, rows, "PostgreSQL {version}");
        assert_eq!(xids.len(), 1, "one transaction's xid: {xids:?}");
        assert!(plain(&end).starts_with("STREAM COMMIT"), "{end}");
        wait_confirmed(port, &db, "lr_stream", lsn_in(&end, "end LSN "));

        // A large transaction that rolls back after some of it was streamed. (It must still
        // be open when decoded: PostgreSQL 18 does not stream a transaction it already knows
        // to have aborted.)
        let mut psql = OpenPsql::open(port, &db);
        psql.send(
            "BEGIN; INSERT INTO items SELECT g, repeat('y', 50) FROM generate_series(10001, 13000) g;",
        );
        let mut rollback = Some(psql);
        let (inserts, _, end) = read_stream_with(&mut c, "STREAM ABORT", |_| {
            if let Some(mut p) = rollback.take() {
                p.send("ROLLBACK;");
                p.finish();
            }
        });
        assert!(inserts > 0, "some changes were streamed before the abort");
        assert_eq!(plain(&end), "STREAM ABORT", "PostgreSQL {version}");

        // A rolled-back subtransaction inside a streamed transaction that commits: once some
        // of the subtransaction's rows were streamed, roll back to the savepoint.
        let mut psql = OpenPsql::open(port, &db);
        psql.send(
            "BEGIN; \
             INSERT INTO items SELECT g, repeat('z', 50) FROM generate_series(20001, 23000) g; \
             SAVEPOINT s; \
             INSERT INTO items SELECT g, repeat('z', 50) FROM generate_series(30001, 33000) g;",
        );
        let mut rest = Some(psql);
        let mut streamed = 0;
        let mut lines = Vec::new();
        loop {
            let l = c.take(1).remove(0);
            let p = plain(&l);
            if p.starts_with("INSERT ") {
                streamed += 1;
            }
            if p == "STREAM STOP"
                && streamed > 3500
                && let Some(mut psql) = rest.take()
            {
                psql.send(
                    "ROLLBACK TO SAVEPOINT s; INSERT INTO items VALUES (40000, 'kept'); COMMIT;",
                );
                psql.finish();
            }
            let done = p == "STREAM COMMIT";
            lines.push(p);
            if done {
                break;
            }
        }
        assert!(
            lines.contains(&"STREAM ABORT SUBTRANSACTION".to_string()),
            "PostgreSQL {version}: {:?}",
            &lines[lines.len().saturating_sub(6)..]
        );
        assert!(lines.contains(&"INSERT public.items: id='40000' name='kept'".to_string()));
        drop(c);
        sql(
            port,
            "postgres",
            &format!("DROP DATABASE {db} WITH (FORCE)"),
        );
    }
}

/// Reads a streamed transaction up to the line starting with `end`: the number of inserts and
/// the xids they carried, and the end line.
fn read_stream(c: &mut Consumer, end: &str) -> (usize, std::collections::BTreeSet<String>, String) {
    read_stream_with(c, end, |_| {})
}

/// [`read_stream`], calling `at_stop` with the inserts so far at each STREAM STOP.
fn read_stream_with(
    c: &mut Consumer,
    end: &str,
    mut at_stop: impl FnMut(usize),
) -> (usize, std::collections::BTreeSet<String>, String) {
    let mut inserts = 0;
    let mut xids = std::collections::BTreeSet::new();
    let mut in_block = false;
    loop {
        let line = c.take(1).remove(0);
        let p = plain(&line);
        if p == "STREAM START" {
            assert!(!in_block, "nested STREAM START");
            in_block = true;
        } else if p == "STREAM STOP" {
            assert!(in_block, "STREAM STOP outside a block");
            in_block = false;
            at_stop(inserts);
        } else if p.starts_with("INSERT ") {
            assert!(in_block, "a streamed change outside a block: {line}");
            inserts += 1;
            xids.insert(line[line.rfind("[xid ").expect("xid") + 5..].to_string());
        } else if p.starts_with(end) {
            assert!(!in_block, "{end} inside a block");
            return (inserts, xids, line);
        }
    }
}

/// Two-phase decoding (protocol 3, slot created with TWO_PHASE): PREPARE TRANSACTION is
/// decoded at once, then COMMIT PREPARED or ROLLBACK PREPARED; a large prepared transaction is
/// streamed and ends with STREAM PREPARE.
#[test]
fn two_phase_transactions_in_protocol_3() {
    for (version, port) in servers() {
        let db = format!("lr_twophase_{version}");
        fresh_database(port, &db, TABLES);
        let mut c = Consumer::start(
            port,
            &db,
            "lr_twophase",
            &["--proto-version", "3", "--two-phase"],
        );
        sql(
            port,
            &db,
            "BEGIN; INSERT INTO items VALUES (1, 'p1'); PREPARE TRANSACTION 'g1';",
        );
        assert_eq!(
            c.take_plain(3),
            [
                "BEGIN PREPARE 'g1'",
                "INSERT public.items: id='1' name='p1'",
                "PREPARE 'g1'"
            ],
            "PostgreSQL {version}"
        );
        sql(port, &db, "COMMIT PREPARED 'g1'");
        assert_eq!(c.take_plain(1), ["COMMIT PREPARED 'g1'"]);
        sql(
            port,
            &db,
            "BEGIN; INSERT INTO items VALUES (2, 'p2'); PREPARE TRANSACTION 'g2';",
        );
        assert_eq!(c.take_plain(3)[2], "PREPARE 'g2'");
        sql(port, &db, "ROLLBACK PREPARED 'g2'");
        let rollback = c.take(1).remove(0);
        assert_eq!(plain(&rollback), "ROLLBACK PREPARED 'g2'");
        wait_confirmed(port, &db, "lr_twophase", lsn_in(&rollback, "end LSN "));

        sql(
            port,
            &db,
            "BEGIN; INSERT INTO items SELECT g, repeat('x', 50) FROM generate_series(100, 3099) g; \
             PREPARE TRANSACTION 'big';",
        );
        let (inserts, _, end) = read_stream(&mut c, "STREAM PREPARE");
        assert_eq!(inserts, 3000, "PostgreSQL {version}");
        assert_eq!(plain(&end), "STREAM PREPARE 'big'");
        sql(port, &db, "COMMIT PREPARED 'big'");
        assert_eq!(c.take_plain(1), ["COMMIT PREPARED 'big'"]);
        drop(c);
        sql(
            port,
            "postgres",
            &format!("DROP DATABASE {db} WITH (FORCE)"),
        );
    }
}

/// Protocol 4 (PostgreSQL 16+) with parallel streaming: a streamed transaction's abort carries
/// its LSN and time. PostgreSQL 15 refuses protocol 4, and the example reports its error.
#[test]
fn protocol_4_on_18_and_refused_by_15() {
    let port = support::pg18_port();
    let db = "lr_v4_18";
    fresh_database(port, db, TABLES);
    let mut c = Consumer::start(
        port,
        db,
        "lr_v4",
        &[
            "--proto-version",
            "4",
            "--streaming",
            "parallel",
            "--two-phase",
            "--messages",
        ],
    );
    let mut psql = OpenPsql::open(port, db);
    psql.send(
        "BEGIN; INSERT INTO items SELECT g, repeat('y', 50) FROM generate_series(1, 3000) g;",
    );
    let mut rollback = Some(psql);
    let (inserts, _, end) = read_stream_with(&mut c, "STREAM ABORT", |_| {
        if let Some(mut p) = rollback.take() {
            p.send("ROLLBACK;");
            p.finish();
        }
    });
    assert!(inserts > 0);
    assert_eq!(plain(&end), "STREAM ABORT");
    assert!(end.contains(", abort LSN "), "{end}");
    sql(port, db, "INSERT INTO items VALUES (7, 'seven')");
    assert_eq!(
        c.take_plain(3),
        [
            "BEGIN",
            "INSERT public.items: id='7' name='seven'",
            "COMMIT"
        ]
    );
    drop(c);
    sql(
        port,
        "postgres",
        &format!("DROP DATABASE {db} WITH (FORCE)"),
    );

    let port = support::pg15_port();
    let db = "lr_v4_15";
    fresh_database(port, db, TABLES);
    let url = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{db}?sslmode=disable");
    let child = Command::new(examples::example("logical_replication"))
        .arg(url)
        .args([
            "--slot",
            "lr_v4",
            "--publication",
            "pub",
            "--create-slot",
            "--temporary",
        ])
        .args(["--proto-version", "4"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = tools::finish(child, Duration::from_secs(30), "logical_replication");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("proto_version=4"),
        "PostgreSQL 15's refusal: {stderr}"
    );
    sql(
        port,
        "postgres",
        &format!("DROP DATABASE {db} WITH (FORCE)"),
    );
}

// ----- typed commands and stream messages through the client state machine --------------------

/// A replication=database session driven by the client state machine.
struct Session {
    conn: Connection,
    stream: Stream,
    /// The column types of the last RowDescription.
    types: Vec<u32>,
}

impl Session {
    fn open(port: u16, db: &str) -> Session {
        Session::open_as(port, db, "database")
    }

    /// `mode`: the `replication` startup parameter (`database` or `true`).
    fn open_as(port: u16, db: &str, mode: &str) -> Session {
        let mut config = Config::new(USER);
        config.password = Some(PASSWORD.as_bytes().to_vec());
        config.database = Some(db.into());
        config.ssl_mode = SslMode::Disable;
        config.replication = Some(mode.into());
        let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut conn = Connection::new(config, Instant::now());
        let stream = login(&mut conn, Stream::Plain(sock), "127.0.0.1").expect("log in");
        Session {
            conn,
            stream,
            types: Vec::new(),
        }
    }

    fn next(&mut self) -> Event {
        next(&mut self.conn, &mut self.stream).expect("socket")
    }

    /// The command tags that arrive up to ReadyForQuery (the end of a COPY BOTH stream).
    fn tags_until_ready(&mut self) -> Vec<String> {
        let mut tags = Vec::new();
        loop {
            match self.next() {
                Event::Response { response, .. } => match response {
                    Response::CommandComplete(c) => tags.push(c.tag.to_string_lossy().to_string()),
                    Response::Ready(_) => return tags,
                    _ => {}
                },
                Event::Closed(e) => panic!("{e:?}"),
                _ => {}
            }
        }
    }

    /// Runs a command: its row (if any) and error (if any), up to ReadyForQuery.
    fn run(&mut self, text: &str) -> (Option<DataRow>, Option<ErrorFields>, Vec<String>) {
        self.conn.query(text).unwrap();
        let (mut row, mut error, mut tags) = (None, None, Vec::new());
        loop {
            match self.next() {
                Event::Response { response, .. } => match response {
                    Response::DataRow(r) => row = Some(r),
                    Response::RowDescription(d) => {
                        self.types = d.fields().map(|f| f.type_oid).collect();
                    }
                    Response::Error(e) => error = Some(e),
                    Response::CommandComplete(c) => tags.push(c.tag.to_string_lossy().into()),
                    Response::Ready(s) => {
                        assert_eq!(s, TransactionStatus::Idle);
                        return (row, error, tags);
                    }
                    _ => {}
                },
                Event::Closed(e) => panic!("{text}: closed {e:?}"),
                _ => {}
            }
        }
    }

    fn ok(&mut self, cmd: &ReplicationCommand) -> Option<DataRow> {
        let (row, error, _) = self.run(&cmd.to_string());
        if let Some(e) = error {
            panic!(
                "{cmd}: {:?}",
                String::from_utf8_lossy(e.message().unwrap_or_default())
            );
        }
        row
    }

    fn fails(&mut self, text: &str) -> String {
        let (row, error, tags) = self.run(text);
        let e = error.unwrap_or_else(|| panic!("{text} succeeded: {row:?} {tags:?}"));
        e.sqlstate().unwrap().to_string()
    }
}

/// IDENTIFY_SYSTEM, CREATE_/READ_/DROP_REPLICATION_SLOT formatted by `ReplicationCommand` and
/// read back by the typed results; errors as PostgreSQL gives them; a logical stream read as
/// typed XLogData and keepalives, acknowledged with a typed status update that PostgreSQL
/// records as the slot's confirmed position.
#[test]
fn typed_commands_and_stream_messages() {
    for (version, port) in servers() {
        let db = format!("lr_typed_{version}");
        fresh_database(port, &db, TABLES);
        let mut s = Session::open(port, &db);
        let id =
            IdentifySystem::from_row(&s.ok(&ReplicationCommand::IdentifySystem).unwrap()).unwrap();
        let system_id = sql(
            port,
            "postgres",
            "SELECT system_identifier FROM pg_control_system()",
        );
        assert_eq!(id.system_id, system_id.trim());
        assert_eq!(id.timeline, 1);
        assert_eq!(id.dbname.as_deref(), Some(db.as_str()));
        assert!(!id.xlog_pos.is_invalid());

        let mut create = CreateReplicationSlot::logical("lr_typed", "pgoutput");
        create.temporary = true;
        create.snapshot = Some(SnapshotAction::Nothing);
        let created = CreatedSlot::from_row(
            &s.ok(&ReplicationCommand::CreateReplicationSlot(create))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(created.slot_name, "lr_typed");
        assert_eq!(created.output_plugin.as_deref(), Some("pgoutput"));
        assert!(created.consistent_point >= id.xlog_pos);
        assert_eq!(created.snapshot_name, None);
        let physical = ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
            temporary: true,
            reserve_wal: true,
            ..CreateReplicationSlot::physical("lr_typed_phys")
        });
        let p = CreatedSlot::from_row(&s.ok(&physical).unwrap()).unwrap();
        // PostgreSQL reports no consistent point for a physical slot; READ_REPLICATION_SLOT
        // shows the WAL that RESERVE_WAL reserved.
        assert_eq!(p.consistent_point, Lsn::INVALID);
        let read = ReadReplicationSlot::from_row(
            &s.ok(&ReplicationCommand::ReadReplicationSlot {
                slot: "lr_typed_phys".into(),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(read.slot_type.as_deref(), Some("physical"));
        assert!(
            read.restart_lsn.is_some_and(|l| !l.is_invalid()),
            "{read:?}"
        );
        assert_eq!(read.restart_tli, Some(1));
        let none = ReadReplicationSlot::from_row(
            &s.ok(&ReplicationCommand::ReadReplicationSlot {
                slot: "no_such_slot".into(),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(none.slot_type, None);
        let (_, e, tags) = s.run(
            &ReplicationCommand::DropReplicationSlot {
                slot: "lr_typed_phys".into(),
                wait: false,
            }
            .to_string(),
        );
        assert!(e.is_none());
        assert_eq!(tags, ["DROP_REPLICATION_SLOT"]);
        // Stream: typed XLogData with pgoutput inside, and keepalives.
        let start = StartReplication::logical(
            "lr_typed",
            Lsn::INVALID,
            [("proto_version", "1"), ("publication_names", "pub")],
        );
        s.conn
            .query(&ReplicationCommand::StartReplication(start).to_string())
            .unwrap();
        match s.next() {
            Event::Response {
                response: Response::CopyBoth(_),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
        sql(port, &db, "INSERT INTO items VALUES (5, 'five')");
        sql(port, &db, "INSERT INTO moods VALUES ('sad')");
        let mut decoder = pgproto::replication::pgoutput::Decoder::new(1).unwrap();
        let mut kinds = Vec::new();
        let mut cache = pgproto::replication::pgoutput::RelationCache::new();
        let mut commit_end = Lsn::INVALID;
        let mut commits = 0;
        while commits < 2 {
            let Event::Response {
                response: Response::CopyData(data),
                ..
            } = s.next()
            else {
                continue;
            };
            match PrimaryMessage::decode(data).unwrap() {
                PrimaryMessage::XLogData(x) => {
                    assert!(x.wal_end >= x.wal_start);
                    let m = decoder.decode(&x.data).unwrap();
                    cache.handle(&m).unwrap();
                    kinds.push(char::from(m.tag()));
                    if let pgproto::replication::pgoutput::Message::Commit(c) = m {
                        commit_end = c.end_lsn;
                        commits += 1;
                    }
                }
                PrimaryMessage::Keepalive(k) => assert!(!k.wal_end.is_invalid()),
                other => panic!("{other:?}"),
            }
        }
        // The enum column's type is described (Y) before its relation.
        assert_eq!(
            kinds,
            ['B', 'R', 'I', 'C', 'B', 'Y', 'R', 'I', 'C'],
            "PostgreSQL {version}"
        );
        let mood = cache.get(cache_oid(port, &db, "moods")).unwrap();
        let ty = cache
            .type_info(mood.columns[0].type_oid)
            .expect("the Type message");
        assert_eq!(
            (ty.namespace.as_str(), ty.name.as_str()),
            ("public", "mood")
        );
        let now = PgTimestamp::from_system_time(std::time::SystemTime::now()).unwrap();
        let mut payload = bytes::BytesMut::new();
        StandbyStatusUpdate::confirmed(commit_end, now).encode(&mut payload);
        assert!(matches!(
            StandbyMessage::decode(&payload),
            Ok(StandbyMessage::StatusUpdate(u)) if u.flush == commit_end
        ));
        s.conn.copy_data(&payload).unwrap();
        // COPY BOTH data is offered at once (no batching): write it, without reading.
        let bytes = s
            .conn
            .poll_transmit()
            .expect("the status update is ready to send");
        std::io::Write::write_all(&mut s.stream, &bytes).unwrap();
        wait_confirmed(port, &db, "lr_typed", commit_end);
        // Ending the stream: CopyDone both ways, then the command's tag.
        s.conn.copy_done().unwrap();
        let tags = s.tags_until_ready();
        // PostgreSQL ends a logical stream with "COPY 0" (the COPY) and then the command's tag.
        assert_eq!(
            tags,
            ["COPY 0", "START_REPLICATION"],
            "PostgreSQL {version}"
        );
        // Errors, last: an error drops the session's temporary slots (PostgreSQL's walsender
        // cleans them up), so each check that needs a slot makes a fresh one. In a new session:
        // after a stream ended with CopyDone, a walsender that must wait for WAL to create a
        // logical slot gives up ("could not find logical decoding starting point").
        drop(s);
        let mut s = Session::open(port, &db);
        let fresh = |name: &str| {
            let mut c = CreateReplicationSlot::logical(name, "pgoutput");
            c.temporary = true;
            ReplicationCommand::CreateReplicationSlot(c)
        };
        s.ok(&fresh("lr_typed_dup"));
        assert_eq!(s.fails(&fresh("lr_typed_dup").to_string()), "42710");
        s.ok(&fresh("lr_typed_logical"));
        assert_eq!(
            s.fails("READ_REPLICATION_SLOT lr_typed_logical"),
            "0A000",
            "logical slots cannot be read"
        );
        assert_eq!(s.fails("DROP_REPLICATION_SLOT no_such_slot"), "42704");
        assert_eq!(s.fails("IDENTIFY_SYSTEM now"), "42601");
        assert_eq!(s.fails("TIMELINE_HISTORY 1"), "58P01");
        // The parse errors our parser reports carry PostgreSQL's SQLSTATEs.
        for bad in ["IDENTIFY_SYSTEM now", "TIMELINE_HISTORY 0"] {
            let ours = ReplicationCommand::parse(bad).unwrap_err().sql_state();
            assert_eq!(s.fails(bad), ours.to_string(), "{bad}");
        }

        // The extended protocol is refused with the words our server uses
        // (tests/replication.rs).
        s.conn.parse("", "IDENTIFY_SYSTEM", &[]).unwrap();
        s.conn.sync().unwrap();
        let mut error = None;
        loop {
            match s.next() {
                Event::Response {
                    response: Response::Error(e),
                    ..
                } => error = Some(e),
                Event::Response {
                    response: Response::Ready(_),
                    ..
                } => break,
                Event::Closed(e) => panic!("{e:?}"),
                _ => {}
            }
        }
        let error = error.expect("Parse refused");
        assert_eq!(error.sqlstate().unwrap().to_string(), "08P01");
        assert_eq!(
            error.message().unwrap(),
            b"extended query protocol not supported in a replication connection"
        );
        drop(s);
        sql(
            port,
            "postgres",
            &format!("DROP DATABASE {db} WITH (FORCE)"),
        );
    }
}

/// A table's OID.
fn cache_oid(port: u16, db: &str, table: &str) -> u32 {
    let v = sql(port, db, &format!("SELECT '{table}'::regclass::oid"));
    v.trim().parse().unwrap()
}

/// Writes a file that PostgreSQL (user postgres) can read.
fn write_readable(path: &std::path::Path, content: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// A physical replication connection (replication=true): TIMELINE_HISTORY read as a typed
/// result (from a history file placed in the server's pg_wal, the way a promotion leaves
/// one), a typed START_REPLICATION PHYSICAL streaming typed WAL, and a typed hot standby
/// feedback and status update that PostgreSQL shows in pg_stat_replication.
#[test]
fn physical_stream_timeline_history_and_feedback() {
    for (version, port) in servers() {
        let data = sql(port, "postgres", "SHOW data_directory");
        let history = std::path::Path::new(data.trim()).join("pg_wal/00000063.history");
        let content = b"1\t0/3000000\tno recovery target specified\n";
        write_readable(&history, content);
        let mut s = Session::open_as(port, "postgres", "true");
        let (row, error, tags) =
            s.run(&ReplicationCommand::TimelineHistory { timeline: 99 }.to_string());
        let _ = std::fs::remove_file(&history);
        assert!(error.is_none(), "PostgreSQL {version}: {error:?}");
        assert_eq!(tags, ["TIMELINE_HISTORY"]);
        let h = TimelineHistory::from_row(&row.unwrap()).unwrap();
        assert_eq!(h.filename, "00000063.history");
        assert_eq!(h.content, content);
        assert_eq!(
            s.types,
            TimelineHistory::COLUMN_TYPES,
            "PostgreSQL {version}: the column types TimelineHistory::send writes"
        );

        let id =
            IdentifySystem::from_row(&s.ok(&ReplicationCommand::IdentifySystem).unwrap()).unwrap();
        assert_eq!(id.dbname, None, "a physical connection has no database");
        let start = StartReplication {
            slot: None,
            start: id.xlog_pos,
            kind: StartKind::Physical {
                timeline: Some(id.timeline),
            },
        };
        s.conn
            .query(&ReplicationCommand::StartReplication(start).to_string())
            .unwrap();
        match s.next() {
            Event::Response {
                response: Response::CopyBoth(_),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
        sql(
            port,
            "postgres",
            "CREATE TABLE IF NOT EXISTS lr_physical (x int); INSERT INTO lr_physical VALUES (1)",
        );
        let received = loop {
            let Event::Response {
                response: Response::CopyData(data),
                ..
            } = s.next()
            else {
                continue;
            };
            match PrimaryMessage::decode(data).unwrap() {
                PrimaryMessage::XLogData(x) if !x.data.is_empty() => {
                    assert!(
                        x.wal_start >= id.xlog_pos,
                        "{} < {}",
                        x.wal_start,
                        id.xlog_pos
                    );
                    assert!(x.wal_end >= x.wal_start);
                    break x.wal_start.checked_add(x.data.len() as u64).unwrap();
                }
                _ => {}
            }
        };
        let txid: u64 = sql(port, "postgres", "SELECT txid_current()")
            .trim()
            .parse()
            .unwrap();
        let now = PgTimestamp::from_system_time(std::time::SystemTime::now()).unwrap();
        let mut payload = bytes::BytesMut::new();
        HotStandbyFeedback {
            send_time: now,
            xmin: txid as u32,
            xmin_epoch: (txid >> 32) as u32,
            catalog_xmin: 0,
            catalog_xmin_epoch: 0,
        }
        .encode(&mut payload);
        StandbyStatusUpdate::confirmed(received, now).encode(&mut payload);
        // Two CopyData messages, offered at once.
        s.conn.copy_data(&payload[..25]).unwrap();
        s.conn.copy_data(&payload[25..]).unwrap();
        let bytes = s
            .conn
            .poll_transmit()
            .expect("both messages are ready to send");
        std::io::Write::write_all(&mut s.stream, &bytes).unwrap();
        let pid = s.conn.cancel_token().unwrap().process_id;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = sql(
                port,
                "postgres",
                &format!(
                    "SELECT coalesce(backend_xmin::text, '-') || ' ' || coalesce(flush_lsn::text, '-') \
                     FROM pg_stat_replication WHERE pid = {pid}"
                ),
            );
            if seen.trim() == format!("{} {received}", txid as u32) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL {version}: pg_stat_replication shows {seen:?}, not xmin {} flush {received}",
                txid as u32
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s.conn.copy_done().unwrap();
        let tags = s.tags_until_ready();
        assert_eq!(
            tags,
            ["START_STREAMING", "START_REPLICATION"],
            "PostgreSQL {version}"
        );
    }
}
