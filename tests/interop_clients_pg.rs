//! The real-client workload programs of tests/clients/ (psycopg 3 on libpq 18, asyncpg,
//! node-postgres, pgjdbc, pgbench) against a real PostgreSQL 18 that serves the same test
//! catalog as our server examples: this proves the programs themselves right, so that a failure
//! against our server is our server's. Enabled by `--features interop`; it fails, never skips,
//! when a client (scripts/clients.sh) or the server (scripts/pg.sh 18, which scripts/test.sh
//! runs, and PGPROTO_PG18_PORT) is missing.
#![cfg(feature = "interop")]

#[path = "support/clients.rs"]
mod clients;

use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use clients::{CATALOG_SQL, Client, PSYCOPG_CHECKS, Target, psql};

/// The users that scripts/pg.sh creates, one per authentication method, with their passwords.
const TRUST: (&str, &str) = ("pgproto_trust", "");
const SCRAM: (&str, &str) = ("pgproto_scram", "scram-secret");
const MD5: (&str, &str) = ("pgproto_md5", "md5-secret");
const CLEARTEXT: (&str, &str) = ("pgproto_password", "cleartext-secret");
const USERS: [(&str, &str); 4] = [TRUST, SCRAM, MD5, CLEARTEXT];

/// PostgreSQL 18 with the catalog in place (created once per test run), as `user`.
fn pg18(user: (&str, &str)) -> Target {
    static PORT: OnceLock<Result<u16, String>> = OnceLock::new();
    let port = PORT
        .get_or_init(prepare_pg18)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"));
    Target::new("127.0.0.1", port, user.0, user.1)
}

fn prepare_pg18() -> Result<u16, String> {
    let port: u16 = std::env::var("PGPROTO_PG18_PORT")
        .map_err(|_| {
            "PGPROTO_PG18_PORT is not set: start PostgreSQL 18 with scripts/pg.sh 18 and set it \
             (scripts/test.sh does both)"
                .to_string()
        })?
        .parse()
        .map_err(|e| format!("PGPROTO_PG18_PORT is not a port number: {e}"))?;
    let addr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| {
        format!(
            "cannot reach PostgreSQL 18 at {addr} ({e}): run scripts/pg.sh 18 (or scripts/test.sh)"
        )
    })?;
    // pgproto_trust is a superuser: it owns the catalog table.
    let run = psql(
        &Target::new("127.0.0.1", port, TRUST.0, TRUST.1),
        CATALOG_SQL,
    );
    if !run.success() {
        return Err(format!("creating the catalog failed\n{}", run.report()));
    }
    Ok(port)
}

/// The users whose password a server checks (the others are trusted): auth_fail applies.
fn checks_password(user: (&str, &str)) -> bool {
    !user.1.is_empty()
}

/// Each authentication method: connect and run a query; a wrong password and an unknown user
/// are refused with 28P01.
fn auth_methods(client: Client, checks: &str, extra: &[&str]) {
    for user in USERS {
        let only = if checks_password(user) {
            format!("{checks},auth_fail")
        } else {
            checks.to_string()
        };
        let mut args = vec!["--only", &only];
        args.extend_from_slice(extra);
        client.run(&pg18(user), &args).assert_ok();
    }
}

// --- psycopg 3 (libpq 18) ---------------------------------------------------------------------

#[test]
fn psycopg() {
    Client::Psycopg
        .run(&pg18(SCRAM), &["--sslmode", "disable"])
        .assert_passed(PSYCOPG_CHECKS);
}

#[test]
fn psycopg_tls() {
    let checks = "connect,simple,params,binary,pipeline,cancel,protocol32";
    let pg = pg18(MD5);
    Client::Psycopg
        .run(&pg, &["--only", checks, "--sslmode", "require"])
        .assert_ok();
    // Direct TLS (PostgreSQL 17+): the handshake without SSLRequest, ALPN "postgresql".
    Client::Psycopg
        .run(
            &pg,
            &[
                "--only",
                checks,
                "--sslmode",
                "require",
                "--sslnegotiation",
                "direct",
            ],
        )
        .assert_ok();
}

#[test]
fn psycopg_auth_methods() {
    auth_methods(Client::Psycopg, "connect,simple", &["--sslmode", "disable"]);
}

// --- asyncpg ----------------------------------------------------------------------------------

#[test]
fn asyncpg() {
    Client::Asyncpg
        .run(&pg18(MD5), &["--sslmode", "disable"])
        .assert_passed(&[
            "connect",
            "simple",
            "prepared",
            "copy",
            "notify",
            "cancel",
            "transaction",
            "errors",
        ]);
}

#[test]
fn asyncpg_tls() {
    let checks = "connect,simple,prepared,copy,cancel";
    let pg = pg18(SCRAM);
    Client::Asyncpg
        .run(&pg, &["--only", checks, "--sslmode", "require"])
        .assert_ok();
    Client::Asyncpg
        .run(
            &pg,
            &["--only", checks, "--sslmode", "require", "--direct-tls"],
        )
        .assert_ok();
}

#[test]
fn asyncpg_auth_methods() {
    auth_methods(Client::Asyncpg, "connect,simple", &["--sslmode", "disable"]);
}

// --- node-postgres ----------------------------------------------------------------------------

#[test]
fn node_pg() {
    Client::NodePg.run(&pg18(CLEARTEXT), &[]).assert_passed(&[
        "connect",
        "simple",
        "params",
        "prepared",
        "pipeline",
        "errors",
        "transaction",
        "notify",
        "cancel",
    ]);
}

#[test]
fn node_pg_tls() {
    let checks = "connect,simple,params,prepared,cancel";
    let pg = pg18(SCRAM);
    Client::NodePg
        .run(&pg, &["--only", checks, "--sslmode", "require"])
        .assert_ok();
    Client::NodePg
        .run(
            &pg,
            &[
                "--only",
                checks,
                "--sslmode",
                "require",
                "--sslnegotiation",
                "direct",
            ],
        )
        .assert_ok();
}

#[test]
fn node_pg_auth_methods() {
    auth_methods(Client::NodePg, "connect,simple", &[]);
}

// --- pgjdbc -----------------------------------------------------------------------------------

#[test]
fn jdbc() {
    Client::Jdbc
        .run(&pg18(SCRAM), &["--sslmode", "disable"])
        .assert_passed(&[
            "connect",
            "simple",
            "prepared",
            "prepared_threshold1",
            "errors",
            "transaction",
            "copy",
            "notify",
            "cancel",
        ]);
}

#[test]
fn jdbc_tls_and_startup_options() {
    let pg = pg18(MD5);
    Client::Jdbc
        .run(
            &pg,
            &[
                "--only",
                "connect,simple,prepared,cancel",
                "--sslmode",
                "require",
            ],
        )
        .assert_ok();
    // assumeMinServerVersion=9.0: application_name and extra_float_digits in the startup packet
    // instead of the two SET statements pgjdbc sends after connecting.
    Client::Jdbc
        .run(
            &pg,
            &[
                "--only",
                "connect,simple,prepared",
                "--sslmode",
                "disable",
                "--props",
                "assumeMinServerVersion=9.0",
            ],
        )
        .assert_ok();
}

#[test]
fn jdbc_auth_methods() {
    auth_methods(Client::Jdbc, "connect", &["--sslmode", "disable"]);
}

// --- pgbench ----------------------------------------------------------------------------------

#[test]
fn pgbench() {
    // pgbench -n -f select1.sql -c 2 -T 3 -M simple|extended|prepared.
    Client::Pgbench
        .run(
            &pg18(SCRAM),
            &["--seconds", "3", "--clients", "2", "--sslmode", "disable"],
        )
        .assert_passed(&["simple", "extended", "prepared"]);
}

// --- the harness itself -----------------------------------------------------------------------

/// Every program lists its checks, and a failing check makes it exit non-zero: a wrong password
/// fails `connect`, and the run says so.
#[test]
fn a_failing_check_fails_the_program() {
    let bad = pg18((SCRAM.0, "not-the-password"));
    for client in [Client::Psycopg, Client::Asyncpg, Client::NodePg] {
        let run = client.run(&bad, &["--only", "connect", "--sslmode", "disable"]);
        assert!(!run.success(), "{}", run.report());
        assert_eq!(run.failures().len(), 1, "{}", run.report());
        assert!(
            run.failures()[0].starts_with("FAIL connect"),
            "{}",
            run.report()
        );
    }
}
