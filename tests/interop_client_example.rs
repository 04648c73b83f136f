//! examples/client.rs against PostgreSQL 18 (scripts/pg.sh): plain (URI and keyword forms), TLS with SCRAM channel
//! binding after SSLRequest and with direct TLS, errors with their SQLSTATE, and COPY TO STDOUT.
//! Runs the example binary that `cargo test` builds. Enabled by `--features interop`.
#![cfg(feature = "interop")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn pg18() -> u16 {
    std::env::var("PGPROTO_PG18_PORT")
        .expect("PGPROTO_PG18_PORT is not set: run through scripts/test.sh")
        .parse()
        .unwrap()
}

/// target/<profile>/examples/client, next to this test binary's directory.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join("client");
    assert!(
        path.exists(),
        "{} was not built (cargo test builds examples; or cargo build --example client)",
        path.display()
    );
    path
}

fn client(url: &str, sql: &str) -> Output {
    let out = Command::new(example()).args([url, sql]).output().unwrap();
    eprintln!(
        "client {url} {sql:?}: {}\nstdout:\n{}stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> &str {
    std::str::from_utf8(&o.stdout).unwrap()
}

fn stderr(o: &Output) -> &str {
    std::str::from_utf8(&o.stderr).unwrap()
}

#[test]
fn plain_url_prints_rows_and_command_tags() {
    let url = format!(
        "postgres://pgproto_trust@127.0.0.1:{}/postgres?sslmode=disable",
        pg18()
    );
    let o = client(
        &url,
        "SELECT 1 AS one, 'x' AS two, NULL AS three, ssl FROM pg_stat_ssl \
         WHERE pid = pg_backend_pid(); \
         CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1), (2); SELECT a FROM t ORDER BY a",
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "one\ttwo\tthree\tssl\n1\tx\t\tf\nCREATE TABLE\nINSERT 0 2\na\n1\n2\n"
    );
    assert_eq!(stderr(&o), "");

    // libpq's keyword form, and a host list whose first host does not answer.
    for conninfo in [
        format!(
            "host=127.0.0.1 port={} user=pgproto_trust dbname=postgres application_name='a b'",
            pg18()
        ),
        format!(
            "postgres://pgproto_trust@127.0.0.1:1,127.0.0.1:{}/postgres?application_name=a%20b",
            pg18()
        ),
    ] {
        let o = client(&conninfo, "SHOW application_name");
        assert!(o.status.success(), "{conninfo}");
        assert_eq!(stdout(&o), "application_name\na b\n", "{conninfo}");
    }
}

#[test]
fn sslmode_require_with_scram_channel_binding() {
    for negotiation in ["postgres", "direct"] {
        let url = format!(
            "postgresql://pgproto_scram:scram-secret@127.0.0.1:{}/postgres\
             ?sslmode=require&channel_binding=require&sslnegotiation={negotiation}",
            pg18()
        );
        let o = client(
            &url,
            "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        );
        assert!(o.status.success(), "{negotiation}");
        assert_eq!(stdout(&o), "current_user\tssl\npgproto_scram\tt\n");
    }
    // Percent-encoded password (`-` as %2D), sslmode=prefer (the default) takes TLS.
    let url = format!(
        "postgres://pgproto_password:cleartext%2Dsecret@localhost:{}/postgres",
        pg18()
    );
    let o = client(
        &url,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert!(o.status.success());
    assert_eq!(stdout(&o), "ssl\nt\n");
}

#[test]
fn errors_go_to_stderr_with_their_sqlstate() {
    let port = pg18();
    let base = format!("postgres://pgproto_trust@127.0.0.1:{port}/postgres");

    // A failing statement: what ran before it is printed, then the error; exit status 1.
    let o = client(&base, "SELECT 1 AS a; SELECT 1/0");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "a\n1\n");
    assert_eq!(stderr(&o), "ERROR 22012: division by zero\n");

    // A wrong password.
    let url = format!("postgres://pgproto_scram:wrong@127.0.0.1:{port}/postgres");
    let o = client(&url, "SELECT 1");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("28P01"), "{}", stderr(&o));

    // Channel binding cannot be had without TLS: refused by the client.
    let url = format!(
        "postgres://pgproto_scram:scram-secret@127.0.0.1:{port}/postgres\
         ?sslmode=disable&channel_binding=require"
    );
    let o = client(&url, "SELECT 1");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("channel binding"), "{}", stderr(&o));

    // verify-full is out of the example's scope, and says so.
    let o = client(&format!("{base}?sslmode=verify-full"), "SELECT 1");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("sslmode=verify-full is not supported"));

    // A FATAL error in the middle of the query.
    let o = client(&base, "SELECT pg_terminate_backend(pg_backend_pid())");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("FATAL 57P01:"), "{}", stderr(&o));

    // Usage.
    let o = Command::new(example()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("usage:"));
}

#[test]
fn copy_to_stdout_streams_the_data() {
    let url = format!("postgres://pgproto_trust@127.0.0.1:{}/postgres", pg18());
    let o = client(
        &url,
        "COPY (SELECT i, 'row ' || i FROM generate_series(1, 3) i) TO STDOUT",
    );
    assert!(o.status.success());
    assert_eq!(stdout(&o), "1\trow 1\n2\trow 2\n3\trow 3\n");
}
