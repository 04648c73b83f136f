//! examples/proxy.rs between real clients and PostgreSQL 18: each workload runs once directly
//! against PostgreSQL 18 and once through the proxy (whose upstream is that server), and what
//! the client saw must be the same text: rows, command tags, errors with their fields, notices,
//! notifications, transaction states. The workloads: a psql script (simple queries, several
//! statements in one Query with an error in the middle, `\copy` both ways, LISTEN/NOTIFY,
//! errors, notices, a statement timeout), and tests/clients/proxy_workload.py with psycopg
//! (extended protocol, prepared statements, pipelines with an error in the middle, COPY both
//! ways, notifications to an idle session, a cancelled pg_sleep → 57014) and with asyncpg
//! (binary formats, cursors with PortalSuspended, executemany with an error in the middle,
//! binary COPY, a cancel on timeout). The proxy logs in upstream with SCRAM, MD5 and cleartext
//! passwords; upstream login errors reach the client as PostgreSQL's own.
//!
//! Enabled by `--features interop`; fails, never skips, when PostgreSQL 18
//! (`PGPROTO_PG18_PORT`, `bash scripts/pg.sh 18`) or a client (scripts/clients.sh) is missing.
#![cfg(feature = "interop")]

#[path = "support/clients.rs"]
mod clients;
#[path = "support/examples.rs"]
mod examples;
#[path = "support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use clients::{Run, Target, python, run_with_timeout};
use examples::{Server, TempDir, build_example, self_signed, start, tool};

/// The user the workloads run as: SCRAM-SHA-256 on PostgreSQL 18, so the proxy answers SCRAM.
const USER: &str = "pgproto_scram";
const PASSWORD: &str = "scram-secret";

/// A password file that does not exist (libpq then reads none, without a warning).
const NO_PASSFILE: &str = "/nonexistent/pgproto-pgpass";

fn pg18() -> Target {
    Target::new("127.0.0.1", support::pg18_port(), USER, PASSWORD)
}

/// The proxy in front of PostgreSQL 18, with `args` after `--upstream`.
fn proxy(args: &[&str]) -> Server {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_example("proxy");
    });
    let upstream = format!("127.0.0.1:{}", support::pg18_port());
    let mut all = vec!["--upstream", upstream.as_str()];
    all.extend_from_slice(args);
    start("proxy", &all)
}

/// The proxy that logs clients in with trust and upstream as them with SCRAM.
fn scram_proxy() -> Server {
    proxy(&["--upstream-password", PASSWORD])
}

/// (Re)creates `table` with its three rows, as the superuser, so that every run starts alike.
fn reset_table(table: &str) {
    let sql = format!(
        "DROP TABLE IF EXISTS {table};
         CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO {table} VALUES (1, 'one'), (2, 'two'), (3, 'three');
         GRANT ALL ON {table} TO PUBLIC;"
    );
    let superuser = Target::new("127.0.0.1", support::pg18_port(), "pgproto_trust", "");
    let run = clients::psql(&superuser, &sql);
    assert!(
        run.success(),
        "cannot create {table} on PostgreSQL 18:\n{}",
        run.report()
    );
}

fn assert_same(what: &str, direct: &str, proxied: &str) {
    if direct != proxied {
        let diff: Vec<String> = direct
            .lines()
            .zip(proxied.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  direct:  {a}\n  proxied: {b}", i + 1))
            .collect();
        panic!(
            "{what}: the proxy's transcript differs from PostgreSQL's\n{}\n\
             --- direct ---\n{direct}\n--- through the proxy ---\n{proxied}",
            diff.join("\n")
        );
    }
}

/// Replaces every run of digits after `marker` with `N`.
fn mask_number_after(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        let end = i + marker.len();
        out.push_str(&rest[..end]);
        rest = rest[end..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

// ----- psql -------------------------------------------------------------------------------

const PSQL_TABLE: &str = "proxy_items_psql";

/// The psql script; `{t}` stands for the table (also the LISTEN channel).
const PSQL_SCRIPT: &str = r#"SELECT 1 AS a, 'x'::text AS b, NULL::int AS c;
SELECT id, name FROM {t} ORDER BY id;
SELECT 1/0;
SELEC 1;
SELECT nosuch FROM {t};
INSERT INTO {t} VALUES (1, 'again');
DO $$ BEGIN RAISE NOTICE 'hi'; END $$;
DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'd', HINT = 'h'; END $$;
\set VERBOSITY verbose
SELECT 1/0;
INSERT INTO {t} VALUES (9, NULL);
\set VERBOSITY default
BEGIN;
INSERT INTO {t} VALUES (4, 'four');
SELECT nosuch;
SELECT 2;
COMMIT;
BEGIN;
INSERT INTO {t} VALUES (5, 'five');
SAVEPOINT s;
SELECT 1/0;
ROLLBACK TO SAVEPOINT s;
COMMIT;
INSERT INTO {t} VALUES (10, 'm1') \; SELECT 1/0 \; INSERT INTO {t} VALUES (11, 'm2');
SELECT 'multi' AS a \; SELECT 'statement' AS b;
\copy {t} FROM stdin
20	c20
21	c21
\.
\copy {t} TO stdout
\copy (SELECT id FROM {t} WHERE id > 3 ORDER BY id) TO stdout
\copy {t} FROM stdin
30	ok
nope	bad
\.
COPY {t} TO STDOUT WITH (FORMAT csv, HEADER);
SELECT count(*) FROM {t};
LISTEN {t};
NOTIFY {t}, 'to myself';
SELECT pg_notify('{t}', 'from a function');
BEGIN;
NOTIFY {t}, 'at commit';
SELECT 'before commit';
COMMIT;
UNLISTEN {t};
SET application_name = 'changed';
SHOW application_name;
SELECT current_user, current_setting('application_name');
\echo :SERVER_VERSION_NAME
SET statement_timeout = '100ms';
SELECT pg_sleep(5);
RESET statement_timeout;
SELECT 'end';
"#;

/// Runs the script through psql (`-X -A`), stdout then stderr; notification PIDs masked.
fn run_psql(port: u16, password: Option<&str>, script: &str) -> String {
    let mut cmd = Command::new(tool("psql"));
    cmd.arg(format!(
        "host=127.0.0.1 port={port} user={USER} dbname=postgres application_name=proxy-psql"
    ))
    .args(["-X", "-A", "-w", "-f", script])
    .env("PGCONNECT_TIMEOUT", "10")
    .env("PGPASSFILE", NO_PASSFILE)
    .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let run = run_with_timeout(cmd, "psql -f", Duration::from_secs(60));
    assert!(run.success(), "psql failed:\n{}", run.report());
    let text = format!("{}\n--- stderr ---\n{}", run.stdout, run.stderr);
    mask_number_after(&text, "server process with PID ")
}

#[test]
fn psql_script_through_the_proxy_matches_postgres() {
    let dir = TempDir::new("proxy-psql");
    let script = dir.path("workload.sql");
    std::fs::write(&script, PSQL_SCRIPT.replace("{t}", PSQL_TABLE)).unwrap();
    let proxy = scram_proxy();

    reset_table(PSQL_TABLE);
    let direct = run_psql(support::pg18_port(), Some(PASSWORD), &script);
    reset_table(PSQL_TABLE);
    let proxied = run_psql(proxy.port, None, &script);
    assert_same("psql", &direct, &proxied);
    for expected in [
        "ERROR:  division by zero",
        "NOTICE:  hi",
        "CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE",
        "LOCATION:  int4div",
        "Asynchronous notification \"proxy_items_psql\" with payload \"to myself\"",
        "COPY 2",
        "canceling statement due to statement timeout",
    ] {
        assert!(
            proxied.contains(expected),
            "the psql transcript lacks {expected:?}:\n{proxied}"
        );
    }
}

// ----- psycopg and asyncpg ----------------------------------------------------------------

/// Runs tests/clients/proxy_workload.py with `driver` against `target`; returns its transcript.
fn run_workload(driver: &str, target: &Target, table: &str, extra: &[&str]) -> String {
    let mut cmd = Command::new(python());
    cmd.arg(clients::programs_dir().join("proxy_workload.py"))
        .args(["--driver", driver, "--host", &target.host])
        .args(["--port", &target.port.to_string(), "--user", &target.user])
        .args(["--password", &target.password, "--dbname", &target.dbname])
        .args(["--table", table])
        .args(extra)
        .env("PGPASSFILE", NO_PASSFILE)
        .env_remove("PGPASSWORD")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run: Run = run_with_timeout(cmd, driver, Duration::from_secs(90));
    assert!(run.success(), "{driver} workload failed:\n{}", run.report());
    run.stdout
}

/// The workload with `driver`, directly and through `proxy`, must print the same.
fn compare_workload(driver: &str, proxy: &Server, table: &str, extra: &[&str], must_show: &[&str]) {
    reset_table(table);
    let direct = run_workload(driver, &pg18(), table, extra);
    reset_table(table);
    let through = Target::new("127.0.0.1", proxy.port, USER, "");
    let proxied = run_workload(driver, &through, table, extra);
    assert_same(driver, &direct, &proxied);
    for expected in must_show {
        assert!(
            proxied.contains(expected),
            "the {driver} transcript lacks {expected:?}:\n{proxied}"
        );
    }
}

#[test]
fn psycopg_workload_through_the_proxy_matches_postgres() {
    let proxy = scram_proxy();
    compare_workload(
        "psycopg",
        &proxy,
        "proxy_items_psycopg",
        &[],
        &[
            "pipeline error message_primary='division by zero'",
            "pipeline [(12,)] [(1,)]", // the failed pipeline's inserts were rolled back
            "copy out b'1\\tone\\n",
            "copy bad row error context='COPY proxy_items_psycopg, line 2",
            "notice context='PL/pgSQL function inline_code_block line 1 at RAISE', message_primary='hi'",
            "notify proxy_items_psycopg from the notifier notifier",
            "notify proxy_items_psycopg to myself self",
            "cancel message_primary='canceling statement due to user request'",
            "sqlstate='57014'",
            "cancel prompt True",
            "constraint_name='proxy_items_psycopg_pkey'",
        ],
    );
}

#[test]
fn asyncpg_workload_through_the_proxy_matches_postgres() {
    let proxy = scram_proxy();
    compare_workload(
        "asyncpg",
        &proxy,
        "proxy_items_asyncpg",
        &[],
        &[
            "cursor [<Record g=1>, <Record g=2>, <Record g=3>]",
            "executemany error constraint_name='proxy_items_asyncpg_pkey'",
            "copy in COPY 2",
            "copy out COPY 10",
            "notify proxy_items_asyncpg from the notifier notifier",
            "after cancel after cancel True",
        ],
    );
}

#[test]
fn psycopg_workload_over_direct_tls_matches_postgres() {
    // Direct TLS (ALPN postgresql) to the proxy as to PostgreSQL 18; the cancel goes inside TLS.
    let dir = TempDir::new("proxy-direct-tls");
    let (cert, key) = self_signed(&dir);
    let proxy = proxy(&[
        "--upstream-password",
        PASSWORD,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    let tls = ["--sslmode", "require", "--sslnegotiation", "direct"];
    compare_workload(
        "psycopg",
        &proxy,
        "proxy_items_psycopg_tls",
        &tls,
        &[
            "cancel prompt True",
            "notify proxy_items_psycopg_tls to myself self",
        ],
    );
}

// ----- logging in -------------------------------------------------------------------------

/// psql's complaint about a connection that failed, with the port masked.
fn psql_login_error(port: u16, conninfo: &str, password: Option<&str>) -> String {
    let mut cmd = Command::new(tool("psql"));
    cmd.arg(format!("host=127.0.0.1 port={port} {conninfo}"))
        .args(["-X", "-A", "-t", "-w", "-c", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGPASSFILE", NO_PASSFILE)
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let run = run_with_timeout(cmd, "psql", Duration::from_secs(30));
    assert!(
        !run.success(),
        "psql {conninfo} logged in:\n{}",
        run.report()
    );
    run.stderr.replace(&format!("port {port} "), "port N ")
}

/// Runs `sql` through psql and returns its output (tuples only).
fn psql_value(port: u16, conninfo: &str, password: Option<&str>, sql: &str) -> String {
    let mut cmd = Command::new(tool("psql"));
    cmd.arg(format!("host=127.0.0.1 port={port} {conninfo}"))
        .args(["-X", "-A", "-t", "-w", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGPASSFILE", NO_PASSFILE)
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let run = run_with_timeout(cmd, "psql", Duration::from_secs(30));
    assert!(
        run.success(),
        "psql {conninfo} -c {sql:?} failed:\n{}",
        run.report()
    );
    run.stdout.trim().to_string()
}

#[test]
fn upstream_login_errors_reach_the_client_as_postgres_sends_them() {
    let pg = support::pg18_port();
    // Plaintext both ways: libpq retries without TLS after a failure under sslmode=prefer, and
    // the transcripts would differ only in that.
    let user = format!("user={USER} dbname=postgres sslmode=disable");
    // A wrong password upstream (28P01): the proxy's own login is trust.
    let wrong = proxy(&["--upstream-password", "not-the-password"]);
    let direct = psql_login_error(pg, &user, Some("not-the-password"));
    let proxied = psql_login_error(wrong.port, &user, None);
    assert_same("wrong password", &direct, &proxied);
    assert!(proxied.contains("FATAL:  password authentication failed for user \"pgproto_scram\""));
    // A database that does not exist (3D000).
    let good = scram_proxy();
    let nodb = format!("user={USER} dbname=proxy_no_such_db sslmode=disable");
    let direct = psql_login_error(pg, &nodb, Some(PASSWORD));
    let proxied = psql_login_error(good.port, &nodb, None);
    assert_same("missing database", &direct, &proxied);
    assert!(proxied.contains("FATAL:  database \"proxy_no_such_db\" does not exist"));
    // A bad setting in `options` is the upstream's to refuse too.
    let bad = format!("{user} options=-cwork_mem=lots");
    let direct = psql_login_error(pg, &bad, Some(PASSWORD));
    let proxied = psql_login_error(good.port, &bad, None);
    assert_same("bad option", &direct, &proxied);
    // The proxy goes on serving.
    assert_eq!(psql_value(good.port, &user, None, "SELECT 1"), "1");
}

#[test]
fn proxy_logins_and_upstream_password_methods() {
    // The proxy's own SCRAM login (with channel binding over TLS), MD5 upstream.
    let dir = TempDir::new("proxy-tls");
    let (cert, key) = self_signed(&dir);
    let md5 = proxy(&[
        "--auth",
        "scram",
        "--user",
        "pgproto_md5",
        "--password",
        "proxy-secret",
        "--upstream-password",
        "md5-secret",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    let who = "SELECT current_user || ' ' || current_setting('application_name') \
               || ' ' || current_setting('work_mem')";
    let conninfo = "user=pgproto_md5 dbname=postgres application_name=via-proxy \
                    options=-cwork_mem=1234kB sslmode=require channel_binding=require";
    assert_eq!(
        psql_value(md5.port, conninfo, Some("proxy-secret"), who),
        "pgproto_md5 via-proxy 1234kB"
    );
    let refused = psql_login_error(
        md5.port,
        "user=pgproto_md5 dbname=postgres sslmode=require",
        Some("md5-secret"),
    );
    assert!(
        refused.contains("FATAL:  password authentication failed for user \"pgproto_md5\""),
        "{refused}"
    );
    // Cleartext upstream, as a fixed upstream user whatever the client's name.
    let cleartext = proxy(&[
        "--upstream-user",
        "pgproto_password",
        "--upstream-password",
        "cleartext-secret",
    ]);
    assert_eq!(
        psql_value(
            cleartext.port,
            "user=anyone dbname=postgres",
            None,
            "SELECT current_user"
        ),
        "pgproto_password"
    );
}
