//! Real drivers against our server: the workload programs of tests/clients/ (psycopg 3 on
//! libpq 18, asyncpg, node-postgres, pgjdbc), proven right against PostgreSQL 18 by
//! tests/interop_clients_pg.rs, run against examples/blocking.rs with every authentication
//! method, TLS and direct TLS. Enabled by `--features interop`; fails, never skips, when a client
//! is missing (scripts/clients.sh installs them).
#![cfg(feature = "interop")]

#[path = "support/clients.rs"]
mod clients;
#[path = "support/examples.rs"]
mod examples;

use clients::{Client, PSYCOPG_CHECKS, Target};
use examples::{Server, TempDir, self_signed};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret";

/// The example with `--auth method` (and TLS when `tls` holds); the directory keeps the
/// certificate alive.
fn server(method: &str, tls: bool) -> (Server, Option<TempDir>) {
    let mut args = vec![];
    if method != "trust" {
        args.extend(["--auth", method, "--user", USER, "--password", PASSWORD]);
    }
    let dir = tls.then(|| TempDir::new(&format!("clients-{method}")));
    let paths = dir.as_ref().map(self_signed);
    if let Some((cert, key)) = &paths {
        args.extend(["--tls-cert", cert.as_str(), "--tls-key", key.as_str()]);
    }
    (examples::start("blocking", &args), dir)
}

fn target(s: &Server, method: &str) -> Target {
    let password = if method == "trust" { "" } else { PASSWORD };
    Target::new("127.0.0.1", s.port, USER, password)
}

/// Each method: connect and query; with a password method, a wrong password and an unknown
/// user are refused with 28P01.
fn auth_methods(client: Client, checks: &str, extra: &[&str]) {
    for method in ["trust", "password", "md5", "scram"] {
        let (s, _dir) = server(method, false);
        let only = if method == "trust" {
            checks.to_string()
        } else {
            format!("{checks},auth_fail")
        };
        let mut args = vec!["--only", &only];
        args.extend_from_slice(extra);
        client.run(&target(&s, method), &args).assert_ok();
    }
}

#[test]
fn psycopg() {
    let (s, _dir) = server("scram", false);
    Client::Psycopg
        .run(&target(&s, "scram"), &["--sslmode", "disable"])
        .assert_passed(PSYCOPG_CHECKS);
}

#[test]
fn psycopg_tls_and_direct_tls() {
    let (s, _dir) = server("scram", true);
    let t = target(&s, "scram");
    let checks = "connect,simple,params,binary,pipeline,cancel,protocol32";
    Client::Psycopg
        .run(&t, &["--only", checks, "--sslmode", "require"])
        .assert_ok();
    Client::Psycopg
        .run(
            &t,
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

#[test]
fn asyncpg() {
    let (s, _dir) = server("md5", false);
    Client::Asyncpg
        .run(&target(&s, "md5"), &["--sslmode", "disable"])
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
fn asyncpg_tls_and_direct_tls() {
    let (s, _dir) = server("scram", true);
    let t = target(&s, "scram");
    let checks = "connect,simple,prepared,copy,cancel";
    Client::Asyncpg
        .run(&t, &["--only", checks, "--sslmode", "require"])
        .assert_ok();
    Client::Asyncpg
        .run(
            &t,
            &["--only", checks, "--sslmode", "require", "--direct-tls"],
        )
        .assert_ok();
}

#[test]
fn asyncpg_auth_methods() {
    auth_methods(Client::Asyncpg, "connect,simple", &["--sslmode", "disable"]);
}

#[test]
fn node_pg() {
    let (s, _dir) = server("password", false);
    Client::NodePg
        .run(&target(&s, "password"), &[])
        .assert_passed(&[
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
    let (s, _dir) = server("scram", true);
    let checks = "connect,simple,params,prepared,cancel";
    Client::NodePg
        .run(
            &target(&s, "scram"),
            &["--only", checks, "--sslmode", "require"],
        )
        .assert_ok();
}

#[test]
fn node_pg_auth_methods() {
    auth_methods(Client::NodePg, "connect,simple", &[]);
}

#[test]
fn jdbc() {
    let (s, _dir) = server("scram", false);
    Client::Jdbc
        .run(&target(&s, "scram"), &["--sslmode", "disable"])
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
    let (s, _dir) = server("md5", true);
    let t = target(&s, "md5");
    Client::Jdbc
        .run(
            &t,
            &[
                "--only",
                "connect,simple,prepared,cancel",
                "--sslmode",
                "require",
            ],
        )
        .assert_ok();
    Client::Jdbc
        .run(
            &t,
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
