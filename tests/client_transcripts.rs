//! Transcript tests of the client connection state machine (`pgproto::client::Connection`),
//! paired in memory with the server state machine and a small application that answers from a
//! fixed catalog (see `support/client_pair.rs`). The expected value of each test is the client
//! transcript (`#3 D [1,NULL]`: request 3 got a DataRow) and what the application saw
//! (`> Execute "" 0`). Every scenario also runs with the bytes in each direction cut at every
//! byte boundary and fed one byte at a time, and must give the same transcripts and bytes.
//!
//! Tests marked `` assert what PostgreSQL's protocol and libpq do where
//! the client differs.

#[path = "support/client_pair.rs"]
mod pair;

use std::sync::OnceLock;

use bytes::BytesMut;
use pair::{INT4PL, Pair, Setup, check, fake_cert, trusted};
use pgproto::SqlState;
use pgproto::auth::{ChannelBindingPolicy, ScramSecret, StoredSecret};
use pgproto::client::{CancelToken, ClientError, RequestId, SslMode};
use pgproto::message::ProtocolVersion;
use pgproto::server::{self, Auth, PgError};
use pgproto::types::oid;

fn text(v: &str) -> Option<&[u8]> {
    Some(v.as_bytes())
}

/// A SCRAM verifier with few iterations, so that a scenario can run hundreds of times.
fn cheap_secret() -> StoredSecret {
    static S: OnceLock<ScramSecret> = OnceLock::new();
    StoredSecret::Scram(
        S.get_or_init(|| ScramSecret::new(b"pencil", b"0123456789abcdef", 16))
            .clone(),
    )
}

/// `alice` with password `pencil`, accepting the cheap verifier's iteration count.
fn with_password(mut s: Setup, auth: Auth) -> Setup {
    s.client.password = Some(b"pencil".to_vec());
    s.client.scram.min_iterations = 16;
    s.auth = auth;
    s
}

const LOGIN: [&str; 6] = [
    "S server_version=18.0",
    "S client_encoding=UTF8",
    "S DateStyle=ISO, MDY",
    "S application_name=",
    "S session_authorization=alice",
    "Connected 3.0",
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ===== startup and authentication ===============================================================

#[test]
fn startup_with_trust() {
    let out = check(&Setup::trust(), |p| {
        assert!(!p.client.is_ready());
        assert_eq!(
            p.client.query("SELECT 1"),
            Err(ClientError::Api("not connected yet"))
        );
        p.pump();
        assert!(p.client.is_ready());
        assert_eq!(p.client.pending_requests(), 0);
        assert_eq!(p.client.protocol_version(), ProtocolVersion::V3_0);
    });
    assert_eq!(out.client, LOGIN);
    assert_eq!(
        out.server,
        ["> Startup alice db=alice 3.0", "> Authenticated alice"]
    );
}

#[test]
fn startup_parameters_reach_the_server() {
    let mut setup = Setup::trust();
    setup.client.database = Some("shop".into());
    setup.client.application_name = Some("tests".into());
    setup.client.options = Some("-c search_path=x".into());
    setup.client.params = vec![("DateStyle".into(), "German".into())];
    let out = check(&setup, |p| p.pump());
    assert_eq!(
        out.server,
        [
            "> Startup alice db=shop 3.0 [application_name=tests, search_path=x, DateStyle=German]",
            "> Authenticated alice"
        ]
    );
    assert_eq!(
        out.client,
        [
            "S server_version=18.0",
            "S client_encoding=UTF8",
            "S DateStyle=German",
            "S application_name=tests",
            "S session_authorization=alice",
            "Connected 3.0",
        ]
    );
}

#[test]
fn cleartext_password() {
    let auth = Auth::Cleartext(Some(StoredSecret::Plain(b"pencil".to_vec())));
    let out = check(&with_password(Setup::trust(), auth.clone()), |p| p.pump());
    assert_eq!(out.client, LOGIN);
    assert!(contains(&out.to_server, b"p\0\0\0\x0bpencil\0"));

    let mut wrong = with_password(Setup::trust(), auth.clone());
    wrong.client.password = Some(b"crayon".to_vec());
    let out = check(&wrong, |p| p.pump());
    assert_eq!(
        out.client,
        ["Closed: Server FATAL 28P01 password authentication failed for user \"alice\""]
    );
    assert_eq!(
        out.server,
        [
            "> Startup alice db=alice 3.0",
            "> Terminated: FATAL 28P01 password authentication failed for user \"alice\""
        ]
    );

    let mut none = with_password(Setup::trust(), auth);
    none.client.password = None;
    let out = check(&none, |p| {
        p.pump();
        assert!(p.client.is_closed());
        assert_eq!(p.client.query("SELECT 1"), Err(ClientError::Closed));
    });
    assert_eq!(out.client, ["Closed: PasswordRequired"]);
    assert_eq!(
        out.server,
        [
            "> Startup alice db=alice 3.0",
            "> Terminated: client closed"
        ]
    );
}

#[test]
fn md5_password() {
    let auth = Auth::Md5(Some(StoredSecret::md5(b"alice", b"pencil")));
    let out = check(&with_password(Setup::trust(), auth.clone()), |p| p.pump());
    assert_eq!(out.client, LOGIN);

    let mut wrong = with_password(Setup::trust(), auth);
    wrong.client.password = Some(b"crayon".to_vec());
    let out = check(&wrong, |p| p.pump());
    assert_eq!(
        out.client,
        ["Closed: Server FATAL 28P01 password authentication failed for user \"alice\""]
    );
}

#[test]
fn scram_sha_256_with_a_plain_stored_password() {
    let mut setup = with_password(
        Setup::trust(),
        Auth::Scram(Some(StoredSecret::Plain(b"pencil".to_vec()))),
    );
    setup.client.scram = Default::default(); // PostgreSQL's 4096 iterations
    setup.coarse = true;
    let out = check(&setup, |p| p.pump());
    assert_eq!(out.client, LOGIN);
    assert_eq!(
        out.server,
        ["> Startup alice db=alice 3.0", "> Authenticated alice"]
    );
    // SCRAM-SHA-256 without binding: the GS2 header `n,,` and an empty user name, as libpq.
    assert!(contains(&out.to_server, b"SCRAM-SHA-256\0"));
    assert!(contains(&out.to_server, b"n,,n=,r="));
    assert!(contains(&out.to_server, b"c=biws,r="));
    assert!(contains(&out.to_client, b"i=4096"));
}

#[test]
fn scram_wrong_password_is_the_servers_fatal_28p01() {
    let mut setup = with_password(Setup::trust(), Auth::Scram(Some(cheap_secret())));
    setup.client.password = Some(b"crayon".to_vec());
    let out = check(&setup, |p| p.pump());
    assert_eq!(
        out.client,
        ["Closed: Server FATAL 28P01 password authentication failed for user \"alice\""]
    );
}

#[test]
fn scram_sha_256_plus_over_tls() {
    for policy in [ChannelBindingPolicy::Prefer, ChannelBindingPolicy::Require] {
        let mut setup = with_password(
            Setup::trust().with_tls(fake_cert(1)),
            Auth::Scram(Some(cheap_secret())),
        );
        setup.client.channel_binding = policy;
        let out = check(&setup, |p| {
            p.pump();
            assert!(p.client.is_ready());
        });
        let mut expected = vec!["StartTls"];
        expected.extend(LOGIN);
        assert_eq!(out.client, expected, "{policy:?}");
        assert_eq!(
            out.server,
            [
                "> TlsRequested",
                "> Startup alice db=alice 3.0 tls",
                "> Authenticated alice"
            ]
        );
        // SSLRequest first, then the startup; the -PLUS mechanism with tls-server-end-point.
        assert_eq!(&out.to_server[..8], b"\0\0\0\x08\x04\xd2\x16\x2f");
        assert_eq!(out.to_client[0], b'S');
        assert!(contains(
            &out.to_client,
            b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"
        ));
        assert!(contains(&out.to_server, b"SCRAM-SHA-256-PLUS\0"));
        assert!(contains(&out.to_server, b"p=tls-server-end-point,,n=,r="));
    }
}

#[test]
fn scram_over_tls_without_plus_says_y_and_disable_says_n() {
    // The server presents no certificate to the state machine: no -PLUS on offer.
    let mut setup = with_password(
        Setup::trust().with_tls(fake_cert(1)),
        Auth::Scram(Some(cheap_secret())),
    );
    setup.server_cert = None;
    let out = check(&setup, |p| p.pump());
    assert_eq!(out.client.last().unwrap(), "Connected 3.0");
    assert!(contains(&out.to_server, b"y,,n=,r="));

    let mut setup = with_password(
        Setup::trust().with_tls(fake_cert(1)),
        Auth::Scram(Some(cheap_secret())),
    );
    setup.client.channel_binding = ChannelBindingPolicy::Disable;
    let out = check(&setup, |p| p.pump());
    assert_eq!(out.client.last().unwrap(), "Connected 3.0");
    assert!(contains(&out.to_server, b"SCRAM-SHA-256\0"));
    assert!(contains(&out.to_server, b"n,,n=,r="));
}

#[test]
fn scram_plus_with_a_man_in_the_middle_certificate_fails_on_the_server() {
    let mut setup = with_password(
        Setup::trust().with_tls(fake_cert(1)),
        Auth::Scram(Some(cheap_secret())),
    );
    setup.client_cert = Some(fake_cert(2));
    let out = check(&setup, |p| p.pump());
    assert_eq!(
        out.client,
        [
            "StartTls",
            "Closed: Server FATAL 28000 SCRAM channel binding check failed"
        ]
    );
}

#[test]
fn channel_binding_require_refuses_everything_but_scram_plus() {
    let refused = |auth: Auth, tls: bool, server_cert: bool| {
        let base = if tls {
            Setup::trust().with_tls(fake_cert(1))
        } else {
            Setup::trust()
        };
        let mut setup = with_password(base, auth);
        setup.client.channel_binding = ChannelBindingPolicy::Require;
        if !server_cert {
            setup.server_cert = None;
        }
        let out = check(&setup, |p| {
            p.pump();
            assert!(p.client.is_closed());
            assert_eq!(p.client.query("SELECT 1"), Err(ClientError::Closed));
        });
        assert_eq!(
            out.server.last().unwrap(),
            "> Terminated: client closed",
            "{:?}",
            out.server
        );
        out.client.last().unwrap().clone()
    };
    let no_binding = "Closed: Auth(ChannelBindingRequired(\"the server asked for an \
                      authentication method without channel binding\"))";
    let md5 = Auth::Md5(Some(StoredSecret::md5(b"alice", b"pencil")));
    let cleartext = Auth::Cleartext(Some(StoredSecret::Plain(b"pencil".to_vec())));
    assert_eq!(refused(md5.clone(), false, false), no_binding);
    assert_eq!(refused(md5, true, true), no_binding);
    assert_eq!(refused(cleartext.clone(), false, false), no_binding);
    assert_eq!(refused(cleartext, true, true), no_binding);
    assert_eq!(
        refused(Auth::Scram(Some(cheap_secret())), false, false),
        "Closed: Auth(ChannelBindingRequired(\"the connection does not use TLS\"))"
    );
    assert_eq!(
        refused(Auth::Scram(Some(cheap_secret())), true, false),
        "Closed: Auth(ChannelBindingRequired(\"the server did not offer SCRAM-SHA-256-PLUS\"))"
    );
    assert_eq!(
        refused(Auth::Trust, true, true),
        "Closed: Auth(ChannelBindingRequired(\"the server authenticated the client without \
         channel binding\"))"
    );
}

#[test]
fn tls_declined() {
    // sslmode=prefer goes on in plaintext; require gives up.
    let mut setup = Setup::trust();
    setup.client.ssl_mode = SslMode::Prefer;
    let out = check(&setup, |p| p.pump());
    assert_eq!(out.client, LOGIN);
    assert_eq!(
        out.server,
        [
            "> TlsRequested",
            "> Startup alice db=alice 3.0",
            "> Authenticated alice"
        ]
    );
    assert_eq!(out.to_client[0], b'N');

    setup.client.ssl_mode = SslMode::Require;
    let out = check(&setup, |p| p.pump());
    assert_eq!(
        out.client,
        ["Closed: Tls(\"the server does not support TLS, but TLS was required\")"]
    );
    assert_eq!(
        out.server,
        ["> TlsRequested", "> Terminated: client closed"]
    );
}

// ===== protocol versions and the cancel key =====================================================

fn cancel_token_matches(p: &Pair, len: usize) {
    let (pid, key) = p.server.cancel_key();
    assert_eq!(
        p.client.cancel_token(),
        Some(&CancelToken {
            process_id: pid,
            secret_key: bytes::Bytes::copy_from_slice(key),
        })
    );
    assert_eq!(pid, 4242);
    assert_eq!(key.len(), len);
    // The CancelRequest it writes is the one a server matches against the session.
    let mut wire = BytesMut::new();
    p.client.cancel_token().unwrap().write(&mut wire).unwrap();
    let mut other: pair::Srv = server::Connection::new(server::Config::default(), p.now);
    other.handle_input(p.now, &wire);
    assert_eq!(
        other.poll_event(),
        Some(server::Event::CancelRequested {
            process_id: pid,
            secret_key: bytes::Bytes::copy_from_slice(key),
        })
    );
}

#[test]
fn protocol_3_0_has_a_4_byte_cancel_key() {
    check(&Setup::trust(), |p| {
        assert_eq!(p.client.cancel_token(), None);
        p.pump();
        cancel_token_matches(p, 4);
    });
}

#[test]
fn protocol_3_2_has_a_32_byte_cancel_key() {
    let mut setup = Setup::trust();
    setup.client.max_protocol = ProtocolVersion::V3_2;
    let out = check(&setup, |p| {
        p.pump();
        assert_eq!(p.client.protocol_version(), ProtocolVersion::V3_2);
        cancel_token_matches(p, 32);
    });
    assert_eq!(out.client.last().unwrap(), "Connected 3.2");
    assert_eq!(out.server[0], "> Startup alice db=alice 3.2");
    assert_eq!(&out.to_server[4..8], &[0, 3, 0, 2]);
}

#[test]
fn a_3_0_server_negotiates_the_client_down() {
    let mut setup = Setup::trust();
    setup.client.max_protocol = ProtocolVersion::V3_2;
    setup.server.max_protocol_minor = 0;
    let out = check(&setup, |p| {
        p.pump();
        assert_eq!(p.client.protocol_version(), ProtocolVersion::V3_0);
        cancel_token_matches(p, 4);
    });
    assert_eq!(out.client.last().unwrap(), "Connected 3.0");
    assert_eq!(out.server[0], "> Startup alice db=alice 3.0");
    // NegotiateProtocolVersion: 3.0, no options.
    assert_eq!(
        &out.to_client[..13],
        b"v\0\0\0\x0c\0\x03\0\0\0\0\0\0",
        "{:?}",
        out.to_client
    );
}

#[test]
fn a_3_0_server_fails_a_client_requiring_3_2() {
    let mut setup = Setup::trust();
    setup.client.max_protocol = ProtocolVersion::V3_2;
    setup.client.min_protocol = ProtocolVersion::V3_2;
    setup.server.max_protocol_minor = 0;
    let out = check(&setup, |p| {
        p.pump();
        assert!(p.client.is_closed());
        assert_eq!(p.client.cancel_token(), None);
    });
    assert_eq!(
        out.client,
        [
            "Closed: ProtocolVersion { server: ProtocolVersion { major: 3, minor: 0 }, min: \
          ProtocolVersion { major: 3, minor: 2 } }"
        ]
    );
    // With trust, AuthenticationOk came in the same burst as NegotiateProtocolVersion.
    assert_eq!(
        out.server,
        [
            "> Startup alice db=alice 3.0",
            "> Authenticated alice",
            "> Terminated: client closed"
        ]
    );
}

// ===== simple query =============================================================================

#[test]
fn simple_query_with_several_statements_and_an_error() {
    let (c, s) = trusted(|p| {
        let a = p
            .client
            .query("SELECT 1; SELECT 'a' AS x, NULL AS y; SELECT 1/0; SELECT 2")
            .unwrap();
        let b = p.client.query("SELECT * FROM t").unwrap();
        let e = p.client.query("").unwrap();
        assert_eq!((a, b, e), (RequestId(0), RequestId(1), RequestId(2)));
        assert_eq!(p.client.pending_requests(), 3);
        p.pump();
        assert_eq!(p.client.pending_requests(), 0);
    });
    assert_eq!(
        c,
        [
            "#0 T ?column?:int4",
            "#0 D [1]",
            "#0 C SELECT 1",
            "#0 T x:text y:text",
            "#0 D [a,NULL]",
            "#0 C SELECT 1",
            "#0 E 22012 division by zero",
            "#0 Z I",
            "#1 T id:int4 name:text",
            "#1 D [1,one]",
            "#1 D [2,two]",
            "#1 D [3,NULL]",
            "#1 C SELECT 3",
            "#1 Z I",
            "#2 I",
            "#2 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> Query SELECT 1; SELECT 'a' AS x, NULL AS y; SELECT 1/0; SELECT 2",
            "> Query SELECT * FROM t",
            "> Query ",
        ]
    );
}

#[test]
fn simple_query_transaction_blocks() {
    let (c, _) = trusted(|p| {
        for sql in [
            "BEGIN; INSERT INTO t VALUES (4)",
            "SELECT 1/0",
            "SELECT 1",
            "ROLLBACK",
            "bogus",
        ] {
            p.client.query(sql).unwrap();
        }
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 C BEGIN",
            "#0 C INSERT 0 1",
            "#0 Z T",
            "#1 E 22012 division by zero",
            "#1 Z E",
            "#2 E 25P02 current transaction is aborted, commands ignored until end of \
             transaction block",
            "#2 Z E",
            "#3 C ROLLBACK",
            "#3 Z I",
            "#4 E 42601 syntax error at or near \"bogus\"",
            "#4 Z I",
        ]
    );
}

// ===== extended query ===========================================================================

#[test]
fn extended_query_pipelining_matches_every_response_to_its_request() {
    let (c, s) = trusted(|p| {
        let cl = &mut p.client;
        // Batch 1: a named statement with parameters, described and executed.
        assert_eq!(
            cl.parse("s1", "SELECT $1, $2", &[oid::INT4, 0]),
            Ok(RequestId(0))
        );
        cl.bind("p1", "s1", &[], [text("7"), None], &[]).unwrap();
        cl.describe_portal("p1").unwrap();
        cl.execute("p1", 0).unwrap();
        assert_eq!(cl.sync(), Ok(RequestId(4)));
        // Batch 2: an error at Execute in the middle; the rest of the batch is skipped.
        cl.parse("", "SELECT 1/0", &[]).unwrap();
        cl.bind("", "", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.parse("s2", "SELECT 2", &[]).unwrap();
        cl.bind("", "s2", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        assert_eq!(cl.sync(), Ok(RequestId(11)));
        // Batch 3 runs: s2 was never created, s1 still exists.
        cl.bind("", "s1", &[], [text("8"), text("x")], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.bind("", "s2", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.sync().unwrap();
        // Batch 4: a syntax error at Parse.
        cl.parse("", "bogus", &[]).unwrap();
        cl.bind("", "", &[], [], &[]).unwrap();
        cl.describe_portal("").unwrap();
        cl.execute("", 0).unwrap();
        cl.close_statement("s1").unwrap();
        cl.sync().unwrap();
        // A simple query after the pipeline.
        cl.query("SELECT * FROM t").unwrap();
        assert_eq!(cl.pending_requests(), 24);
        p.pump();
        assert_eq!(p.client.pending_requests(), 0);
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 2",
            "#2 T ?column?:int4 ?column?:text",
            "#3 D [7,NULL]",
            "#3 C SELECT 1",
            "#4 Z I",
            "#5 1",
            "#6 2",
            "#7 E 22012 division by zero",
            "#8 skipped",
            "#9 skipped",
            "#10 skipped",
            "#11 Z I",
            "#12 2",
            "#13 D [8,x]",
            "#13 C SELECT 1",
            "#14 E 26000 prepared statement \"s2\" does not exist",
            "#15 skipped",
            "#16 Z I",
            "#17 E 42601 syntax error at or near \"bogus\"",
            "#18 skipped",
            "#19 skipped",
            "#20 skipped",
            "#21 skipped",
            "#22 Z I",
            "#23 T id:int4 name:text",
            "#23 D [1,one]",
            "#23 D [2,two]",
            "#23 D [3,NULL]",
            "#23 C SELECT 3",
            "#23 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> Parse \"s1\" SELECT $1, $2 [23, 0]",
            "> Execute \"p1\" 0",
            "> Parse \"\" SELECT 1/0 []",
            "> Execute \"\" 0",
            "> Execute \"\" 0",
            "> Parse \"\" bogus []",
            "> Query SELECT * FROM t",
        ]
    );
}

#[test]
fn twenty_batches_in_flight_with_errors_among_them() {
    // Batch i selects i, except every fifth, which divides by zero at Execute; each batch's
    // responses must go to its own requests.
    let (c, _) = trusted(|p| {
        for i in 0..20u64 {
            let sql = if i % 5 == 3 {
                "SELECT 1/0".to_string()
            } else {
                format!("SELECT {i}")
            };
            assert_eq!(p.client.parse("", &sql, &[]), Ok(RequestId(i * 5)));
            p.client.bind("", "", &[], [], &[]).unwrap();
            p.client.describe_portal("").unwrap();
            p.client.execute("", 0).unwrap();
            assert_eq!(p.client.sync(), Ok(RequestId(i * 5 + 4)));
        }
        assert_eq!(p.client.pending_requests(), 100);
        p.pump();
        assert_eq!(p.client.pending_requests(), 0);
    });
    let mut expected = Vec::new();
    for i in 0..20u64 {
        let id = i * 5;
        expected.push(format!("#{id} 1"));
        expected.push(format!("#{} 2", id + 1));
        if i % 5 == 3 {
            // (The catalog describes its failing statement as returning no rows.)
            expected.push(format!("#{} n", id + 2));
            expected.push(format!("#{} E 22012 division by zero", id + 3));
        } else {
            expected.push(format!("#{} T ?column?:int4", id + 2));
            expected.push(format!("#{} D [{i}]", id + 3));
            expected.push(format!("#{} C SELECT 1", id + 3));
        }
        expected.push(format!("#{} Z I", id + 4));
    }
    assert_eq!(c, expected);
}

#[test]
fn a_query_in_the_middle_of_an_extended_batch() {
    // Without an error, the Query runs in turn and has its own ReadyForQuery; the Sync after
    // it has another.
    let (c, _) = trusted(|p| {
        p.client.parse("", "SELECT 1", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.query("SELECT 2").unwrap();
        p.client.function_call(INT4PL, &[], [text("3")], 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
        assert_eq!(p.client.pending_requests(), 0);
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 2",
            "#2 D [1]",
            "#2 C SELECT 1",
            "#3 T ?column?:int4",
            "#3 D [2]",
            "#3 C SELECT 1",
            "#3 Z I",
            "#4 V 3",
            "#4 Z I",
            "#5 Z I",
        ]
    );
}

#[test]
fn requests_made_while_the_server_discards_are_skipped_at_once() {
    let (c, _) = trusted(|p| {
        p.client.parse("", "bogus", &[]).unwrap();
        p.client.flush().unwrap();
        p.pump();
        p.mark("error seen");
        let b = p.client.bind("", "", &[], [], &[]).unwrap();
        let e = p.client.execute("", 0).unwrap();
        let f = p.client.function_call(INT4PL, &[], [text("1")], 0).unwrap();
        assert_eq!((b, e, f), (RequestId(1), RequestId(2), RequestId(3)));
        assert_eq!(p.client.pending_requests(), 0);
        p.pump();
        p.mark("sync");
        p.client.sync().unwrap();
        p.pump();
        // After the Sync, requests run again.
        p.client.parse("", "SELECT 3", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 E 42601 syntax error at or near \"bogus\"",
            "-- error seen",
            "#1 skipped",
            "#2 skipped",
            "#3 skipped",
            "-- sync",
            "#4 Z I",
            "#5 1",
            "#6 2",
            "#7 D [3]",
            "#7 C SELECT 1",
            "#8 Z I",
        ]
    );
}

#[test]
fn a_query_made_while_the_server_discards_is_skipped_too() {
    let (c, s) = trusted(|p| {
        p.client.parse("", "bogus", &[]).unwrap();
        p.client.flush().unwrap();
        p.pump();
        p.mark("error seen");
        p.client.query("SELECT 1").unwrap();
        p.client.sync().unwrap();
        p.pump();
        assert_eq!(p.client.pending_requests(), 0, "the Sync is still pending");
    });
    assert_eq!(
        c,
        [
            "#0 E 42601 syntax error at or near \"bogus\"",
            "-- error seen",
            "#1 skipped",
            "#2 Z I",
        ]
    );
    // The server never ran the query.
    assert_eq!(s, ["> Parse \"\" bogus []"]);
}

#[test]
fn a_query_pipelined_behind_a_failing_request_is_skipped() {
    // Sent before the error arrived: the state machine skips it when the error comes.
    let (c, _) = trusted(|p| {
        p.client.parse("", "bogus", &[]).unwrap();
        p.client.query("SELECT 1").unwrap();
        p.client.sync().unwrap();
        p.pump();
        assert_eq!(p.client.pending_requests(), 0);
    });
    assert_eq!(
        c,
        [
            "#0 E 42601 syntax error at or near \"bogus\"",
            "#1 skipped",
            "#2 Z I"
        ]
    );
}

#[test]
fn describe_statement_and_portal() {
    let (c, _) = trusted(|p| {
        let cl = &mut p.client;
        cl.parse("s", "SELECT $1, $2", &[oid::INT4]).unwrap();
        cl.describe_statement("s").unwrap();
        cl.parse("ins", "INSERT INTO t VALUES (1)", &[]).unwrap();
        cl.describe_statement("ins").unwrap();
        cl.bind("b", "s", &[], [text("1"), text("2")], &[1])
            .unwrap();
        cl.describe_portal("b").unwrap();
        cl.bind("nb", "ins", &[], [], &[]).unwrap();
        cl.describe_portal("nb").unwrap();
        cl.close_portal("b").unwrap();
        cl.close_statement("nope").unwrap();
        cl.sync().unwrap();
        cl.describe_statement("nope").unwrap();
        cl.describe_portal("x").unwrap();
        cl.sync().unwrap();
        cl.describe_portal("nope").unwrap();
        cl.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 t [int4,text]",
            "#1 T ?column?:int4 ?column?:text",
            "#2 1",
            "#3 t []",
            "#3 n",
            "#4 2",
            "#5 T ?column?:int4/bin ?column?:text/bin",
            "#6 2",
            "#7 n",
            "#8 3",
            "#9 3",
            "#10 Z I",
            "#11 E 26000 prepared statement \"nope\" does not exist",
            "#12 skipped",
            "#13 Z I",
            "#14 E 34000 portal \"nope\" does not exist",
            "#15 Z I",
        ]
    );
}

#[test]
fn row_limits_and_portal_suspended() {
    let (c, s) = trusted(|p| {
        let cl = &mut p.client;
        cl.parse("", "SELECT generate_series(1, 5)", &[]).unwrap();
        cl.bind("c", "", &[], [], &[1]).unwrap();
        cl.execute("c", 2).unwrap();
        cl.execute("c", 2).unwrap();
        cl.execute("c", 2).unwrap();
        cl.sync().unwrap();
        // A limit that is exactly the rest also ends with CommandComplete.
        cl.bind("", "", &[], [], &[]).unwrap();
        cl.execute("", 5).unwrap();
        // The portal is gone with the transaction.
        cl.execute("c", 1).unwrap();
        cl.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 2",
            "#2 D [0x00000001]",
            "#2 D [0x00000002]",
            "#2 s",
            "#3 D [0x00000003]",
            "#3 D [0x00000004]",
            "#3 s",
            "#4 D [0x00000005]",
            "#4 C SELECT 1",
            "#5 Z I",
            "#6 2",
            "#7 D [1]",
            "#7 D [2]",
            "#7 D [3]",
            "#7 D [4]",
            "#7 D [5]",
            "#7 C SELECT 5",
            "#8 E 34000 portal \"c\" does not exist",
            "#9 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> Parse \"\" SELECT generate_series(1, 5) []",
            "> Execute \"c\" 2",
            "> Execute \"c\" 2",
            "> Execute \"c\" 2",
            "> Execute \"\" 5",
        ]
    );
}

#[test]
fn flush_delivers_responses_before_sync() {
    let (c, _) = trusted(|p| {
        p.client.parse("", "SELECT 1", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.pump();
        p.mark("nothing before Flush");
        p.client.flush().unwrap();
        p.pump();
        p.mark("flushed");
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "-- nothing before Flush",
            "#0 1",
            "#1 2",
            "-- flushed",
            "#2 D [1]",
            "#2 C SELECT 1",
            "#3 Z I"
        ]
    );
}

#[test]
fn extended_empty_query_and_transaction_status() {
    let (c, _) = trusted(|p| {
        let cl = &mut p.client;
        cl.parse("", "", &[]).unwrap();
        cl.bind("", "", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.parse("begin", "BEGIN", &[]).unwrap();
        cl.bind("", "begin", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.sync().unwrap();
        cl.parse("", "SELECT 1/0", &[]).unwrap();
        cl.bind("", "", &[], [], &[]).unwrap();
        cl.execute("", 0).unwrap();
        cl.sync().unwrap();
        cl.query("ROLLBACK").unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 2",
            "#2 I",
            "#3 1",
            "#4 2",
            "#5 C BEGIN",
            "#6 Z T",
            "#7 1",
            "#8 2",
            "#9 E 22012 division by zero",
            "#10 Z E",
            "#11 C ROLLBACK",
            "#11 Z I",
        ]
    );
}

// ===== COPY =====================================================================================

#[test]
fn copy_in_with_copy_data_and_copy_done() {
    let (c, s) = trusted(|p| {
        let q = p.client.query("COPY t FROM STDIN").unwrap();
        p.pump();
        p.mark("copying");
        // No other request while COPY waits for data.
        let r = p.client.query("SELECT 2");
        p.note("query during COPY", r);
        p.client.copy_data(b"4\tfour\n").unwrap();
        p.client.copy_data(b"5\tfive\n6\tsix\n").unwrap();
        p.client.copy_done().unwrap();
        let r = p.client.copy_data(b"7\n");
        p.note("copy_data after copy_done", r);
        let next = p.client.query("SELECT 1").unwrap();
        assert_eq!((q, next), (RequestId(0), RequestId(1)));
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 G 0 [0, 0]",
            "-- copying",
            "query during COPY: Err(Api(\"COPY in progress\"))",
            "copy_data after copy_done: Err(Api(\"no COPY is waiting for data\"))",
            "#0 C COPY 3",
            "#0 Z I",
            "#1 T ?column?:int4",
            "#1 D [1]",
            "#1 C SELECT 1",
            "#1 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> Query COPY t FROM STDIN",
            "> CopyData \"4\\tfour\\n\"",
            "> CopyData \"5\\tfive\\n6\\tsix\\n\"",
            "> CopyDone",
            "> Query SELECT 1",
        ]
    );
}

#[test]
fn a_query_pipelined_behind_copy_in_breaks_the_copy() {
    // The server reads the Query as part of the COPY data stream: a protocol violation that
    // ends the session. The client reports both errors for the COPY's request, then closes.
    let (c, _) = trusted(|p| {
        p.client.query("COPY t FROM STDIN").unwrap();
        p.client.query("SELECT 1").unwrap();
        p.pump();
        assert!(p.client.is_closed());
    });
    assert_eq!(
        c,
        [
            "#0 G 0 [0, 0]",
            "#0 E 08P01 unexpected message type 0x51 during COPY from stdin",
            "#0 E FATAL 08P01 terminating connection because protocol synchronization was lost",
            "Closed: Server FATAL 08P01 terminating connection because protocol synchronization \
             was lost",
        ]
    );
}

#[test]
fn copy_fail_is_answered_57014() {
    let (c, s) = trusted(|p| {
        p.client.query("COPY t FROM STDIN").unwrap();
        p.pump();
        p.client.copy_data(b"4\tfour\n").unwrap();
        p.client.copy_fail("no more").unwrap();
        p.pump();
        p.client.query("SELECT 1").unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 G 0 [0, 0]",
            "#0 E 57014 COPY from stdin failed: no more",
            "#0 Z I",
            "#1 T ?column?:int4",
            "#1 D [1]",
            "#1 C SELECT 1",
            "#1 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> Query COPY t FROM STDIN",
            "> CopyData \"4\\tfour\\n\"",
            "> CopyFail no more",
            "> Query SELECT 1",
        ]
    );
}

#[test]
fn copy_in_through_the_extended_protocol_with_sync_after_copy_done() {
    let (c, _) = trusted(|p| {
        p.client.parse("", "COPY t FROM STDIN", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.flush().unwrap();
        p.pump();
        p.client.copy_data(b"1\n").unwrap();
        p.client.copy_done().unwrap();
        p.client.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        ["#0 1", "#1 2", "#2 G 0 [0, 0]", "#2 C COPY 1", "#3 Z I"]
    );
}

const SWALLOWED_SYNC: &str = "requests still wait: the server swallowed the Sync sent during \
                              COPY FROM STDIN and no Sync followed CopyDone or CopyFail";

#[test]
fn copy_in_through_the_extended_protocol_with_a_pipelined_sync() {
    let (c, _) = trusted(|p| {
        p.client.parse("", "COPY t FROM STDIN", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
        p.client.copy_data(b"1\n").unwrap();
        p.client.copy_done().unwrap();
        p.pump();
        assert_eq!(p.client.pending_requests(), 0, "{SWALLOWED_SYNC}");
    });
    assert_eq!(
        c,
        ["#0 1", "#1 2", "#2 G 0 [0, 0]", "#2 C COPY 1", "#3 Z I"]
    );
}

#[test]
fn copy_fail_through_the_extended_protocol_with_a_pipelined_sync() {
    let (c, _) = trusted(|p| {
        p.client.parse("", "COPY t FROM STDIN", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
        p.client.copy_fail("stop").unwrap();
        p.pump();
        assert_eq!(p.client.pending_requests(), 0, "{SWALLOWED_SYNC}");
    });
    assert_eq!(
        c,
        [
            "#0 1",
            "#1 2",
            "#2 G 0 [0, 0]",
            "#2 E 57014 COPY from stdin failed: stop",
            "#3 Z I",
        ]
    );
}

#[test]
fn copy_out_simple_and_extended() {
    let (c, _) = trusted(|p| {
        p.client.query("COPY t TO STDOUT").unwrap();
        p.client.parse("", "COPY t TO STDOUT", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
    });
    let rows = ["d \"1\\tone\\n\"", "d \"2\\ttwo\\n\"", "d \"3\\t\\\\N\\n\""];
    let mut expected = vec!["#0 H 0 [0, 0]".to_string()];
    expected.extend(rows.iter().map(|r| format!("#0 {r}")));
    expected.extend(
        [
            "#0 c",
            "#0 C COPY 3",
            "#0 Z I",
            "#1 1",
            "#2 2",
            "#3 H 0 [0, 0]",
        ]
        .map(String::from),
    );
    expected.extend(rows.iter().map(|r| format!("#3 {r}")));
    expected.extend(["#3 c", "#3 C COPY 3", "#4 Z I"].map(String::from));
    assert_eq!(c, expected);
}

// ===== function calls ===========================================================================

#[test]
fn function_call() {
    let (c, s) = trusted(|p| {
        p.client
            .function_call(INT4PL, &[], [text("2"), text("40")], 0)
            .unwrap();
        p.client.function_call(9999, &[], [None], 0).unwrap();
        p.client.query("SELECT 1").unwrap();
        p.client
            .function_call(INT4PL, &[0], [text("1"), text("1")], 0)
            .unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 V 42",
            "#0 Z I",
            "#1 E 42883 function with OID 9999 does not exist",
            "#1 Z I",
            "#2 T ?column?:int4",
            "#2 D [1]",
            "#2 C SELECT 1",
            "#2 Z I",
            "#3 V 2",
            "#3 Z I",
        ]
    );
    assert_eq!(
        s,
        [
            "> FunctionCall 177 [2,40]",
            "> FunctionCall 9999 [NULL]",
            "> Query SELECT 1",
            "> FunctionCall 177 [1,1]",
        ]
    );
}

// ===== at any time ==============================================================================

#[test]
fn notices_notifications_and_parameters_while_idle() {
    let (c, _) = trusted(|p| {
        p.server_does(|srv, _| {
            srv.notify(99, "chan", "hello").unwrap();
            srv.notice(&PgError::notice("the server speaks")).unwrap();
            srv.set_parameter("TimeZone", "Europe/Paris").unwrap();
        });
        assert_eq!(p.client.pending_requests(), 0);
        p.mark("idle");
        p.client.query("SELECT 1").unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "A pid=99 chan \"hello\"",
            "N NOTICE 00000 the server speaks",
            "S TimeZone=Europe/Paris",
            "-- idle",
            "#0 T ?column?:int4",
            "#0 D [1]",
            "#0 C SELECT 1",
            "#0 Z I",
        ]
    );
}

#[test]
fn notices_notifications_and_parameters_during_requests() {
    let (c, _) = trusted(|p| {
        p.client
            .query("DO 'one'; SET application_name = x; NOTIFY chan, 'p'; SELECT 1")
            .unwrap();
        p.client.parse("", "DO 'two'", &[]).unwrap();
        p.client.bind("", "", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.parse("n", "NOTIFY other, 'q'", &[]).unwrap();
        p.client.bind("", "n", &[], [], &[]).unwrap();
        p.client.execute("", 0).unwrap();
        p.client.sync().unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "N NOTICE 00000 one",
            "#0 C DO",
            "#0 C SET",
            "#0 C NOTIFY",
            "#0 T ?column?:int4",
            "#0 D [1]",
            "#0 C SELECT 1",
            "A pid=4242 chan \"p\"",
            "S application_name=x",
            "#0 Z I",
            "#1 1",
            "#2 2",
            "N NOTICE 00000 two",
            "#3 C DO",
            "#4 1",
            "#5 2",
            "#6 C NOTIFY",
            "A pid=4242 other \"q\"",
            "#7 Z I",
        ]
    );
}

#[test]
fn a_notification_in_a_transaction_waits_for_its_end() {
    let (c, _) = trusted(|p| {
        p.client.query("BEGIN").unwrap();
        p.pump();
        p.server_does(|srv, _| srv.notify(7, "chan", "later").unwrap());
        p.mark("nothing yet");
        p.client.query("COMMIT").unwrap();
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 C BEGIN",
            "#0 Z T",
            "-- nothing yet",
            "#1 C COMMIT",
            "A pid=7 chan \"later\"",
            "#1 Z I"
        ]
    );
}

// ===== the end ==================================================================================

#[test]
fn terminate() {
    let (c, s) = trusted(|p| {
        p.client.query("SELECT 1").unwrap();
        p.pump();
        p.client.terminate();
        assert!(p.client.is_closed());
        p.pump();
        let r = p.client.query("SELECT 2");
        p.note("query", r);
        let r = p.client.sync();
        p.note("sync", r);
        let r = p.client.parse("", "SELECT 1", &[]);
        p.note("parse", r);
        let r = p.client.flush();
        p.note("flush", r);
        p.client.terminate(); // no second Terminate, no second Closed
        p.pump();
    });
    assert_eq!(
        c,
        [
            "#0 T ?column?:int4",
            "#0 D [1]",
            "#0 C SELECT 1",
            "#0 Z I",
            "Closed",
            "query: Err(Closed)",
            "sync: Err(Closed)",
            "parse: Err(Closed)",
            "flush: Err(Closed)",
        ]
    );
    assert_eq!(
        s,
        ["> Query SELECT 1", "> Terminated: client sent Terminate"]
    );
}

#[test]
fn a_fatal_error_during_a_query_closes_the_connection() {
    let (c, s) = trusted(|p| {
        p.client
            .query("SELECT pg_terminate_backend(pg_backend_pid())")
            .unwrap();
        p.client.query("SELECT 1").unwrap();
        p.pump();
        assert!(p.client.is_closed());
        assert_eq!(p.client.query("SELECT 1"), Err(ClientError::Closed));
    });
    assert_eq!(
        c,
        [
            "#0 E FATAL 57P01 terminating connection due to administrator command",
            "Closed: Server FATAL 57P01 terminating connection due to administrator command",
        ]
    );
    assert_eq!(
        s,
        [
            "> Query SELECT pg_terminate_backend(pg_backend_pid())",
            "> Terminated: FATAL 57P01 terminating connection due to administrator command",
        ]
    );
}

#[test]
fn a_fatal_error_while_idle_closes_the_connection() {
    let (c, _) = trusted(|p| {
        p.server_does(|srv, _| {
            srv.terminate(PgError::fatal(
                SqlState::IDLE_SESSION_TIMEOUT,
                "terminating connection due to idle-session timeout",
            ))
        });
        assert!(p.client.is_closed());
    });
    assert_eq!(
        c,
        ["Closed: Server FATAL 57P05 terminating connection due to idle-session timeout"]
    );
}

#[test]
fn the_server_closing_without_a_word_is_closed() {
    let (c, _) = trusted(|p| {
        p.client.query("SELECT 1").unwrap();
        // The server's socket closes before it answers.
        let now = p.now;
        p.client.handle_eof(now);
        p.pump();
        assert_eq!(p.client.sync(), Err(ClientError::Closed));
    });
    assert_eq!(c, ["Closed: Closed"]);
}

/// The accessors a driver reads after connecting: parameters as reported, the transaction
/// status of the last ReadyForQuery.
#[test]
fn parameters_and_transaction_status_are_tracked() {
    use pgproto::client::{Config, Connection, Event};
    use pgproto::message::TransactionStatus;
    use pgproto::server::{self, Auth};
    use std::time::Instant;
    let now = Instant::now();
    let mut config = Config::new("alice");
    config.ssl_mode = pgproto::client::SslMode::Disable;
    let mut client = Connection::new(config, now);
    let mut srv: server::Connection = server::Connection::new(server::Config::default(), now);
    let pump = |client: &mut Connection, srv: &mut server::Connection| {
        for _ in 0..10 {
            while let Some(b) = client.poll_transmit() {
                srv.handle_input(now, &b);
            }
            while let Some(e) = srv.poll_event() {
                match e {
                    server::Event::Startup(_) => srv.authenticate(Auth::Trust).unwrap(),
                    server::Event::Query { .. } => {
                        srv.command_complete("BEGIN").unwrap();
                        srv.query_done(TransactionStatus::InTransaction).unwrap();
                    }
                    _ => {}
                }
            }
            while let Some(b) = srv.poll_transmit() {
                client.handle_input(now, &b);
            }
        }
    };
    pump(&mut client, &mut srv);
    let mut connected = false;
    while let Some(e) = client.poll_event() {
        connected |= matches!(e, Event::Connected { .. });
    }
    assert!(connected);
    assert_eq!(
        client.parameter("server_encoding").map(|v| v.to_string()),
        Some("UTF8".into())
    );
    assert_eq!(
        client
            .parameter("session_authorization")
            .map(|v| v.to_string()),
        Some("alice".into())
    );
    assert_eq!(client.transaction_status(), TransactionStatus::Idle);
    assert!(!client.channel_binding_used());
    client.query("BEGIN").unwrap();
    pump(&mut client, &mut srv);
    assert_eq!(
        client.transaction_status(),
        TransactionStatus::InTransaction
    );
}
