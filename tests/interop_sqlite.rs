//! examples/sqlite.rs, the PostgreSQL-compatible server over SQLite, against real clients:
//! psql 15 (schema, `\dt`, `\d TABLE`, errors with their SQLSTATEs, transactions and the failed
//! state, `\copy` in text and CSV, LISTEN/NOTIFY across connections, cancel of a running
//! query), pgbench in the three query modes on SELECT/INSERT/UPDATE scripts, the workload
//! programs of tests/clients/ (psycopg, asyncpg, node-postgres, pgjdbc; the same ones that pass
//! against PostgreSQL 18), a typed round trip in binary and text (asyncpg and psycopg), and a
//! database file that outlives the server. Enabled by `--features interop`; fails, never
//! skips, when a client is missing.
#![cfg(feature = "interop")]

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[path = "support/clients.rs"]
mod clients;
#[path = "support/examples.rs"]
mod examples;
#[path = "support/tools.rs"]
mod tools;

use clients::{Client, Target, python, run_with_timeout};
use examples::{Server, TempDir, build_example, self_signed, start, tool};
use tools::{finish, psql_command, psql_fails, psql_ok, show};

/// The items table the client programs expect, in SQLite's dialect.
const ITEMS: &str = "CREATE TABLE items (id int4, name text); \
                     INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');";

fn sqlite(args: &[&str]) -> Server {
    // `test = true` in Cargo.toml makes `cargo test` build this example as a test harness only,
    // so the server binary is built here, once per run.
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_example("sqlite");
    });
    start("sqlite", args)
}

fn sql(port: u16, script: &str) -> String {
    psql_ok(port, "user=postgres", None, &["-c", script])
}

/// psql with a script on stdin, verbose errors (SQLSTATEs shown), not stopping at errors.
fn psql_script(port: u16, script: &str) -> String {
    let dir = TempDir::new("sqlite-script");
    std::fs::write(dir.path("s.sql"), script).unwrap();
    let out = psql_command(
        port,
        "user=postgres",
        None,
        &["-v", "VERBOSITY=verbose", "-f", &dir.path("s.sql")],
    )
    .spawn()
    .unwrap();
    let out = finish(out, Duration::from_secs(30), "psql");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn psql_describes_tables() {
    let s = sqlite(&[]);
    sql(
        s.port,
        "CREATE TABLE parent (id integer PRIMARY KEY, name text NOT NULL UNIQUE); \
         CREATE TABLE child (id bigint PRIMARY KEY, parent int REFERENCES parent(id), \
           price numeric, born date, at timestamp, ok boolean, data bytea, score double precision); \
         CREATE INDEX child_born ON child (born);",
    );
    let out = psql_ok(s.port, "user=postgres", None, &["-c", "\\dt"]);
    assert_eq!(
        out,
        "public|child|table|postgres\npublic|parent|table|postgres\n"
    );

    // psql's own layout, as it prints \d for PostgreSQL.
    let out = Command::new(tool("psql"))
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-c",
            "\\d child",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = r#"                         Table "public.child"
 Column |            Type             | Collation | Nullable | Default 
--------+-----------------------------+-----------+----------+---------
 id     | bigint                      |           | not null | 
 parent | integer                     |           |          | 
 price  | numeric                     |           |          | 
 born   | date                        |           |          | 
 at     | timestamp without time zone |           |          | 
 ok     | boolean                     |           |          | 
 data   | bytea                       |           |          | 
 score  | double precision            |           |          | 
Indexes:
    "child_pkey" PRIMARY KEY, btree (id)
    "child_born" btree (born)
Foreign-key constraints:
    "child_parent_fkey" FOREIGN KEY (parent) REFERENCES parent(id)

"#;
    assert_eq!(text, expected, "{}", show(&out));
    let out = Command::new(tool("psql"))
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-c",
            "\\d parent",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"parent_pkey\" PRIMARY KEY, btree (id)"),
        "{text}"
    );
    assert!(
        text.contains("\"parent_name_key\" UNIQUE CONSTRAINT, btree (name)"),
        "{text}"
    );
    assert!(
        text.contains("TABLE \"child\" CONSTRAINT \"child_parent_fkey\" FOREIGN KEY (parent) REFERENCES parent(id)"),
        "{text}"
    );
    // Other catalog queries: a clean error, and the session goes on.
    let out = psql_script(s.port, "\\df\nSELECT 1;\n");
    assert!(
        out.contains("ERROR:  0A000: this catalog query is not supported"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "1"), "{out}");
}

#[test]
fn psql_errors_transactions_and_copy() {
    let s = sqlite(&[]);
    let out = psql_script(
        s.port,
        r#"CREATE TABLE t (id integer PRIMARY KEY, name text NOT NULL, parent int REFERENCES t(id), n int CHECK (n > 0));
INSERT INTO t VALUES (1, 'one', NULL, 1), (2, 'two', 1, 2);
SELEC 1;
SELECT * FROM missing;
SELECT nope FROM t;
CREATE TABLE t (x int);
INSERT INTO t VALUES (1, 'again', NULL, 1);
INSERT INTO t (id) VALUES (3);
INSERT INTO t VALUES (4, 'four', 99, 1);
INSERT INTO t VALUES (5, 'five', NULL, 0);
SELECT 1/0;
BEGIN;
INSERT INTO t VALUES (10, 'ten', NULL, 1);
SELECT * FROM missing;
SELECT 1;
COMMIT;
SELECT count(*) FROM t WHERE id = 10;
BEGIN;
INSERT INTO t VALUES (11, 'eleven', NULL, 1);
COMMIT;
SELECT name FROM t WHERE id = 11;
BEGIN;
INSERT INTO t VALUES (12, 'twelve', NULL, 1);
ROLLBACK;
SELECT count(*) FROM t WHERE id = 12;
COMMIT;
\copy t (id, name, n) from stdin
20	tab\there	5
21	back\\slash	\N
\.
\copy t (id, name, n) from stdin csv
22,"comma, ""quoted""",7
23,"",
\.
\copy t (id, name) from stdin
30	x	extra
\.
SELECT count(*) FROM t WHERE id >= 30;
\copy (SELECT id, name, n FROM t WHERE id >= 20 ORDER BY id) to stdout
\copy (SELECT id, name, n FROM t WHERE id >= 20 ORDER BY id) to stdout with (format csv, header)
"#,
    );
    for expected in [
        "ERROR:  42601: syntax error at or near \"SELEC\"",
        "ERROR:  42P01: relation \"missing\" does not exist",
        "ERROR:  42703: column \"nope\" does not exist",
        "ERROR:  42P07: relation \"t\" already exists",
        "ERROR:  23505: duplicate key value violates unique constraint \"t_pkey\"",
        "ERROR:  23502: null value in column \"name\" of relation \"t\" violates not-null constraint",
        "ERROR:  23503: insert or update violates a foreign key constraint",
        "ERROR:  23514: new row violates check constraint",
        "ERROR:  22012: division by zero",
        "ERROR:  25P02: current transaction is aborted, commands ignored until end of transaction block",
        // COMMIT of a failed block rolls back.
        "ROLLBACK\n0\n",
        "COMMIT\neleven\n",
        "ROLLBACK\n0\n",
        "WARNING:  25P01: there is no transaction in progress",
        "ERROR:  22P04: extra data after last expected column",
        "\n0\n20\ttab\\there\t5\n21\tback\\\\slash\t\\N\n22\tcomma, \"quoted\"\t7\n23\t\t\\N\n",
        "id,name,n\n20,tab\there,5\n21,back\\slash,\n22,\"comma, \"\"quoted\"\"\",7\n23,\"\",\n",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn psql_notify_across_connections_and_cancel() {
    let s = sqlite(&[]);
    // psql LISTENs and then runs a long query; the NOTIFY of another session shows after it.
    let listener = psql_command(
        s.port,
        "user=postgres",
        None,
        &["-c", "LISTEN ch", "-c", "SELECT pg_sleep(1.5)"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    sql(s.port, "NOTIFY ch, 'hello'");
    let out = finish(listener, Duration::from_secs(10), "listening psql");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Asynchronous notification \"ch\" with payload \"hello\" received"),
        "{}",
        show(&out)
    );
    // Inside a transaction the notification waits for COMMIT.
    let out = psql_script(
        s.port,
        "LISTEN ch2;\nBEGIN;\nNOTIFY ch2, 'later';\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
    );
    let at = out
        .find("Asynchronous notification \"ch2\" with payload \"later\"")
        .expect(&out);
    assert!(at > out.find("\n1\n").unwrap(), "{out}");

    // A query SQLite runs for ever, cancelled by psql on SIGINT (CancelRequest).
    let child = psql_command(
        s.port,
        "user=postgres",
        None,
        &["-c", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = finish(child, Duration::from_secs(10), "cancelled psql");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "{:?}",
        sent.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("canceling statement due to user request"),
        "{}",
        show(&out)
    );
    assert_eq!(sql(s.port, "SELECT 42"), "42\n");
}

fn pgbench(port: u16, mode: &str, dir: &TempDir) -> String {
    let mut cmd = Command::new(tool("pgbench"));
    cmd.args(["-n", "-c", "2", "-j", "2", "-t", "500", "-M", mode])
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for f in ["select.sql", "update.sql", "insert.sql"] {
        cmd.args(["-f", &dir.path(f)]);
    }
    cmd.arg("postgres");
    let out = finish(cmd.spawn().unwrap(), Duration::from_secs(30), "pgbench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{mode}: {}", show(&out));
    assert!(
        stdout.contains("number of failed transactions: 0 "),
        "{mode}: {}",
        show(&out)
    );
    stdout
}

/// The transaction count pgbench reports for one of its scripts.
fn script_count(stdout: &str, script: &str) -> i64 {
    let at = stdout
        .find(&format!("{script}\n"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let line = stdout[at..].lines().nth(2).unwrap(); // after the weight line
    line.trim()
        .strip_prefix("- ")
        .unwrap_or(line)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn pgbench_select_insert_update_in_every_mode() {
    let s = sqlite(&[]);
    sql(
        s.port,
        "CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL); \
         CREATE TABLE history (id integer, delta integer); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
         INSERT INTO accounts SELECT i, 0 FROM n;",
    );
    let dir = TempDir::new("sqlite-pgbench");
    std::fs::write(
        dir.path("select.sql"),
        "\\set id random(1, 100)\nSELECT balance FROM accounts WHERE id = :id;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path("update.sql"),
        "\\set id random(1, 100)\nUPDATE accounts SET balance = balance + 1 WHERE id = :id;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path("insert.sql"),
        "\\set id random(1, 100)\nINSERT INTO history (id, delta) VALUES (:id, 1);\n",
    )
    .unwrap();
    let (mut updates, mut inserts) = (0, 0);
    for mode in ["simple", "extended", "prepared"] {
        let out = pgbench(s.port, mode, &dir);
        updates += script_count(&out, "update.sql");
        inserts += script_count(&out, "insert.sql");
    }
    // Every UPDATE and INSERT pgbench counted is in the database, once (a fixed count of
    // transactions, -t: with -T the last ones in flight are run but not counted).
    assert_eq!(
        sql(s.port, "SELECT sum(balance) FROM accounts"),
        format!("{updates}\n")
    );
    assert_eq!(
        sql(s.port, "SELECT count(*) FROM history"),
        format!("{inserts}\n")
    );
}

/// The drivers' workload programs: the same checks that pass against PostgreSQL 18.
#[test]
fn drivers_run_their_workloads() {
    let dir = TempDir::new("sqlite-drivers");
    let (cert, key) = self_signed(&dir);
    let s = sqlite(&[
        "--auth",
        "scram",
        "--user",
        "alice",
        "--password",
        "s3cret",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    psql_ok(s.port, "user=alice", Some("s3cret"), &["-c", ITEMS]);
    let t = Target::new("127.0.0.1", s.port, "alice", "s3cret");
    Client::Psycopg
        .run(&t, &["--sslmode", "disable"])
        .assert_ok();
    Client::Psycopg
        .run(
            &t,
            &[
                "--only",
                "connect,simple,params,binary",
                "--sslmode",
                "require",
                "--sslnegotiation",
                "direct",
            ],
        )
        .assert_ok();
    // A wrong password and an unknown user: 28P01.
    Client::Psycopg
        .run(&t, &["--only", "auth_fail", "--sslmode", "disable"])
        .assert_passed(&["auth_fail"]);
    Client::Asyncpg
        .run(&t, &["--sslmode", "disable"])
        .assert_ok();
    Client::NodePg.run(&t, &[]).assert_ok();
    Client::Jdbc.run(&t, &[]).assert_ok();
    // psql over TLS with channel binding.
    let out = psql_ok(
        s.port,
        "user=alice sslmode=require channel_binding=require",
        Some("s3cret"),
        &["-c", "SELECT count(*) FROM items", "-c", "\\conninfo"],
    );
    assert!(out.contains("SSL connection"), "{out}");
}

/// Values of every core type written with parameters and read back, in binary (asyncpg, which
/// relies on Describe's types) and in text and binary (psycopg).
#[test]
fn typed_values_round_trip() {
    let s = sqlite(&[]);
    let script = clients::programs_dir().join("sqlite_types.py");
    let mut cmd = Command::new(python());
    cmd.arg(&script).args(["--port", &s.port.to_string()]);
    let run = run_with_timeout(cmd, "sqlite_types.py", Duration::from_secs(60));
    assert!(run.success(), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("asyncpg: 9 rows ok"), "{}", run.stdout);
    assert!(
        run.stdout.contains("psycopg text: 9 rows ok"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("psycopg binary: 9 rows ok"),
        "{}",
        run.stdout
    );
}

#[test]
fn database_file_outlives_the_server() {
    let dir = TempDir::new("sqlite-file");
    let db = dir.path("data.db");
    {
        let s = sqlite(&["--db", &db]);
        sql(
            s.port,
            "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)",
        );
    }
    let s = sqlite(&["--db", &db]);
    assert_eq!(sql(s.port, "SELECT x FROM kept"), "7\n");
    // Two sessions see each other's committed rows; an open transaction's rows stay its own.
    let err = psql_fails(
        s.port,
        "user=postgres",
        None,
        &["-c", "SELECT * FROM missing"],
    );
    assert!(err.contains("relation \"missing\" does not exist"), "{err}");
}

/// What a client can make the server hold is bounded: an endless result set and an oversized
/// COPY FROM end in 54000, and the session goes on.
#[test]
fn unbounded_results_and_copies_are_refused() {
    let s = sqlite(&[]);
    let out = psql_script(
        s.port,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
         SELECT x, randomblob(1000000) FROM c;\nSELECT 'still here';\n",
    );
    assert!(
        out.contains("ERROR:  54000: result set larger than 256 MB"),
        "{out}"
    );
    assert!(out.contains("still here"), "{out}");

    let dir = TempDir::new("sqlite-big-copy");
    let line = format!("{}\n", "x".repeat(1023));
    std::fs::write(dir.path("big.txt"), line.repeat(65 * 1024)).unwrap(); // 65 MB
    let script = format!(
        "CREATE TABLE big (t text);\n\\copy big from '{}'\nSELECT count(*) FROM big;\n",
        dir.path("big.txt")
    );
    let out = psql_script(s.port, &script);
    assert!(
        out.contains("ERROR:  54000: COPY data larger than 64 MB"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "0"), "{out}");
}
