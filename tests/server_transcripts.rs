//! Transcript tests of the server connection state machine: a client built from the message
//! layer's encoders talks to `pgproto::server::Connection` in memory, a small fake database
//! answers the events, and each test compares the transcript (events, the application's notes,
//! and the backend messages the client decoded) with what PostgreSQL 18 does. Every scenario is
//! also run with the client's bytes split at every byte boundary and one byte at a time (see
//! `support/transcript.rs`), and must give the same transcript.
//!
//! Tests marked `#[ignore = "bug: ..."]` assert PostgreSQL's behaviour where the state machine
//! differs from it.

#[path = "support/transcript.rs"]
mod transcript;

use std::sync::OnceLock;
use std::time::Duration;

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::auth::{
    ChannelBindingPolicy, ScramClient, ScramClientConfig, ScramSecret, StoredSecret, md5_response,
    tls_server_end_point,
};
use pgproto::message::{Authentication, BackendMessage, ProtocolVersion, TransactionStatus};
use pgproto::server::{ApiError, Auth, Column, Config, Event, PgError};
use pgproto::types::oid;
use transcript::{Conn, Db, Run, TestRng, TlsAnswer, check, default_parameter_lines, fake_cert};

fn t(scenario: impl Fn(&mut Run<'_>)) -> Vec<String> {
    transcript::transcript(scenario)
}

/// The lines after the login marker.
fn after_login(t: Vec<String>) -> Vec<String> {
    let i = t.iter().position(|l| l == "-- login").expect("a login");
    t[i + 1..].to_vec()
}

/// The lines with error and notice messages cut to their SQLSTATE (for errors whose wording
/// differs from PostgreSQL's: see `error_messages_match_postgres`).
fn codes(t: Vec<String>) -> Vec<String> {
    t.into_iter()
        .map(|l| {
            if l.starts_with("E ") || l.starts_with("N ") {
                let words: Vec<&str> = l.split(' ').collect();
                let n = if words[1] == "FATAL" { 3 } else { 2 };
                words[..n].join(" ")
            } else {
                l
            }
        })
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ===== startup ==================================================================================

#[test]
fn trust_startup_reports_parameters_key_and_ready() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[
                ("user", "alice"),
                ("database", "shop"),
                ("application_name", "psql"),
                ("client_encoding", "utf-8"),
            ]);
        });
    });
    assert_eq!(
        got[..3],
        [
            "> Startup alice db=shop 3.0 [application_name=psql, client_encoding=utf-8]",
            "> Authenticated alice",
            "R Ok",
        ]
    );
    assert_eq!(got[got.len() - 2..], ["K pid=1 key=4B", "Z I"]);
    // Every configured parameter in order (the client's encoding normalised), then what the
    // client set: application_name as sent.
    let want: Vec<String> = default_parameter_lines()
        .into_iter()
        .filter(|l| !l.starts_with("S application_name="))
        .collect();
    let reported: Vec<&String> = got.iter().filter(|l| want.contains(l)).collect();
    assert_eq!(reported, want.iter().collect::<Vec<_>>());
    let app: Vec<&String> = got
        .iter()
        .filter(|l| l.starts_with("S application_name"))
        .collect();
    assert_eq!(app, ["S application_name=psql"]);
    assert!(
        got[3..got.len() - 2].iter().all(|l| l.starts_with("S ")),
        "{got:?}"
    );
}

#[test]
fn client_encoding_spellings_are_normalised_and_database_defaults_to_user() {
    for spelling in ["utf-8", "UTF8", "unicode", "Utf_8"] {
        let got = t(|h| {
            h.send(|w| {
                w.startup(&[("user", "bob"), ("client_encoding", spelling)]);
            });
        });
        assert_eq!(
            got[0],
            format!("> Startup bob db=bob 3.0 [client_encoding={spelling}]")
        );
        assert!(
            got.contains(&"S client_encoding=UTF8".to_string()),
            "{got:?}"
        );
        assert_eq!(
            got.iter()
                .filter(|l| l.starts_with("S client_encoding"))
                .count(),
            1
        );
    }
}

#[test]
fn protocol_3_2_gets_a_32_byte_cancel_key() {
    let got = t(|h| {
        h.send(|w| {
            w.startup_v(ProtocolVersion::V3_2, &[("user", "alice")]);
        });
        h.app(|conn, db| {
            let (pid, key) = conn.cancel_key();
            db.log
                .push(format!("! cancel key pid={pid} len={}", key.len()));
            db.log
                .push(format!("! version {}", conn.protocol_version()));
        });
    });
    assert_eq!(got[0], "> Startup alice db=alice 3.2");
    assert!(
        !got.iter().any(|l| l.starts_with("v ")),
        "no negotiation for 3.2"
    );
    assert_eq!(
        got[got.len() - 4..],
        [
            "K pid=1 key=32B",
            "Z I",
            "! cancel key pid=1 len=32",
            "! version 3.2"
        ]
    );
}

#[test]
fn newer_minor_version_and_pq_options_get_negotiate_protocol_version() {
    let got = t(|h| {
        h.send(|w| {
            w.startup_v(
                ProtocolVersion { major: 3, minor: 3 },
                &[("user", "alice"), ("_pq_.compression", "on")],
            );
        });
    });
    // NegotiateProtocolVersion comes first, the session continues at 3.2 with a 32-byte key,
    // and `_pq_.` options are not settings.
    assert_eq!(got[0], "> Startup alice db=alice 3.2");
    assert_eq!(got[2], "v 3.2 [_pq_.compression]");
    assert_eq!(got[3], "R Ok");
    assert_eq!(got[got.len() - 2..], ["K pid=1 key=32B", "Z I"]);

    let got = t(|h| {
        h.send(|w| {
            w.startup(&[("user", "alice"), ("_pq_.a", "1"), ("_pq_.b", "2")]);
        });
    });
    assert_eq!(got[2..4], ["v 3.0 [_pq_.a,_pq_.b]", "R Ok"]);
    assert_eq!(got[got.len() - 2], "K pid=1 key=4B");

    let got = t(|h| {
        h.send(|w| {
            w.startup_v(ProtocolVersion { major: 3, minor: 9 }, &[("user", "alice")]);
        });
    });
    assert_eq!(got[2..4], ["v 3.2 []", "R Ok"]);
}

#[test]
fn unsupported_major_version_is_fatal_0a000() {
    let got = t(|h| {
        h.send(|w| {
            w.startup_v(ProtocolVersion { major: 4, minor: 0 }, &[("user", "alice")]);
        });
    });
    assert_eq!(
        got,
        [
            "> Terminated: FATAL 0A000",
            "E FATAL 0A000 unsupported frontend protocol 4.0: server supports 3.0 to 3.2"
        ]
    );
}

#[test]
fn missing_user_is_fatal_28000() {
    for params in [
        &[("database", "x")][..],
        &[("user", ""), ("database", "x")][..],
    ] {
        let got = t(|h| {
            h.send(|w| {
                w.startup(params);
            });
        });
        assert_eq!(
            got,
            [
                "> Terminated: FATAL 28000",
                "E FATAL 28000 no PostgreSQL user name specified in startup packet"
            ]
        );
    }
}

#[test]
fn replication_parameter_is_read_as_postgres_reads_it() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[("user", "alice"), ("replication", "maybe")]);
        });
    });
    assert_eq!(
        got,
        [
            "> Terminated: FATAL 22023",
            "E FATAL 22023 invalid value for parameter \"replication\": \"maybe\""
        ]
    );
    for (value, shown) in [
        ("true", " replication=Physical"),
        ("on", " replication=Physical"),
        ("YES", " replication=Physical"),
        ("1", " replication=Physical"),
        ("database", " replication=Logical"),
        ("off", ""),
        ("0", ""),
    ] {
        let got = t(|h| {
            h.send(|w| {
                w.startup(&[("user", "alice"), ("replication", value)]);
            });
        });
        assert_eq!(
            got[0],
            format!("> Startup alice db=alice 3.0{shown}"),
            "{value}"
        );
    }
}

#[test]
fn options_parameter_becomes_settings() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[
                ("user", "alice"),
                (
                    "options",
                    "-c geqo=off --work-mem=64kB  -csearch_path=s1,s2 -c x=a\\ b",
                ),
                ("TimeZone", "Europe/Paris"),
            ]);
        });
    });
    assert_eq!(
        got[0],
        "> Startup alice db=alice 3.0 [geqo=off, work_mem=64kB, search_path=s1,s2, x=a b, \
         TimeZone=Europe/Paris]"
    );
    // Reported parameters the client set are reported with the client's values.
    assert!(got.contains(&"S search_path=s1,s2".to_string()), "{got:?}");
    assert!(
        got.contains(&"S TimeZone=Europe/Paris".to_string()),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|l| l.starts_with("S geqo")),
        "geqo is not reported"
    );
}

#[test]
fn bad_options_are_fatal_42601() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[("user", "alice"), ("options", "foo")]);
        });
    });
    assert_eq!(
        got.last().unwrap(),
        "E FATAL 42601 invalid command-line argument for server process: foo"
    );
}

/// PostgreSQL authenticates first and only then applies `options`: the client sees
/// AuthenticationOk before the FATAL (checked against PostgreSQL 18: `R 0`, then
/// `FATAL 42601 invalid command-line argument for server process: foo`).
#[test]
fn bad_options_are_refused_after_authentication() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[("user", "alice"), ("options", "foo")]);
        });
    });
    assert_eq!(
        got[got.len() - 2..],
        [
            "R Ok",
            "E FATAL 42601 invalid command-line argument for server process: foo"
        ]
    );
}

/// PostgreSQL 18 always reports `application_name` (empty when the client set none) and
/// `session_authorization` (the user), both listed in PROTOCOL.md.
#[test]
fn startup_reports_session_authorization_and_application_name() {
    let got = t(|h| {
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert!(got.contains(&"S application_name=".to_string()), "{got:?}");
    assert!(
        got.contains(&"S session_authorization=alice".to_string()),
        "{got:?}"
    );
}

#[test]
fn reject_sends_the_applications_error_as_fatal() {
    let got = t(|h| {
        h.db.reject = Some(PgError::new(
            SqlState::from_bytes(b"3D000").unwrap(),
            "database \"nope\" does not exist",
        ));
        h.send(|w| {
            w.startup(&[("user", "alice"), ("database", "nope")]);
        });
        h.app(|conn, db| {
            let r = conn.authenticate(Auth::Trust);
            db.ok(r);
        });
    });
    assert_eq!(
        got,
        [
            "> Startup alice db=nope 3.0",
            "> Terminated: FATAL 3D000",
            "E FATAL 3D000 database \"nope\" does not exist",
            "! Closed",
        ]
    );
}

#[test]
fn cancel_request_is_an_event_and_ends_the_connection() {
    for key in [&[1u8, 2, 3, 4][..], &[7u8; 32][..]] {
        let got = t(|h| {
            h.send(|w| {
                w.cancel(4242, key);
            });
            h.app(|conn, db| {
                db.log.push(format!("! closed={}", conn.is_closed()));
                db.log.push(format!("! timeout={:?}", conn.poll_timeout()));
            });
            // Anything after it is ignored.
            h.send(|w| {
                w.startup(&[("user", "alice")]);
            });
        });
        assert_eq!(
            got,
            [
                format!("> Cancel pid=4242 key={key:?}"),
                "> Terminated: cancel request".into(),
                "! closed=true".into(),
                "! timeout=None".into(),
            ]
        );
    }
}

// ===== TLS negotiation ============================================================================

#[test]
fn ssl_request_accepted_then_startup_over_tls() {
    let got = t(|h| {
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(None);
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert_eq!(
        got[..4],
        [
            "> TlsRequested",
            "S",
            "> Startup alice db=alice 3.0 tls",
            "> Authenticated alice"
        ]
    );
    assert_eq!(got.last().unwrap(), "Z I");
}

#[test]
fn ssl_request_declined_then_plaintext_startup() {
    let got = t(|h| {
        h.db.tls = TlsAnswer::Decline;
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert_eq!(
        got[..3],
        ["> TlsRequested", "N", "> Startup alice db=alice 3.0"]
    );
    assert_eq!(got.last().unwrap(), "Z I");
}

#[test]
fn tls_answers_and_handshake_out_of_turn_are_api_errors() {
    let got = t(|h| {
        h.app(|conn, db| {
            let r = conn.accept_tls();
            db.ok(r);
            let r = conn.handle_tls_established(None);
            db.ok(r);
        });
        h.db.tls = TlsAnswer::Defer;
        h.send(|w| {
            w.ssl_request();
        });
        h.app(|conn, db| {
            let r = conn.handle_tls_established(None);
            db.ok(r);
            let r = conn.decline_tls();
            db.ok(r);
            let r = conn.decline_tls();
            db.ok(r);
        });
    });
    assert_eq!(
        got,
        [
            "! Unexpected { answer: \"accept_tls\", waiting: \"startup packets\" }",
            "! Unexpected { answer: \"handle_tls_established\", waiting: \"startup packets\" }",
            "> TlsRequested",
            "! Unexpected { answer: \"handle_tls_established\", waiting: \"an answer to SSLRequest\" }",
            "! Unexpected { answer: \"decline_tls\", waiting: \"startup packets\" }",
            "N",
        ]
    );
}

/// CVE-2021-23214: bytes that arrive after SSLRequest and before the TLS handshake could have
/// been injected by a man in the middle. (The application answers later, so the startup packet
/// is already buffered when the decision comes.)
#[test]
fn bytes_pipelined_after_ssl_request_are_fatal_08p01() {
    let got = t(|h| {
        h.db.tls = TlsAnswer::Defer;
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.startup(&[("user", "mallory")]);
        });
        h.app(|conn, db| {
            let r = conn.accept_tls();
            db.ok(r);
        });
        h.send(|w| {
            w.query("SELECT 1");
        });
    });
    assert_eq!(
        got,
        [
            "> TlsRequested",
            "> Terminated: FATAL 08P01",
            "E FATAL 08P01 received unencrypted data after SSL request",
        ]
    );
}

/// PostgreSQL checks for buffered bytes after answering `N` too (backend_startup.c), so a
/// startup packet pipelined with an SSLRequest it declines is refused. This property is about
/// bytes that arrive together, so it cannot be split: the test feeds them in one piece.
#[test]
fn bytes_pipelined_after_a_declined_request_are_fatal_08p01() {
    for gss in [false, true] {
        let mut conn: Conn = Conn::with_random(
            Config::default(),
            std::time::Instant::now(),
            Box::new(TestRng::new(1)),
        );
        let mut w = transcript::Wire::default();
        if gss {
            w.gss_request();
        } else {
            w.ssl_request();
        }
        w.startup(&[("user", "mallory")]);
        let now = std::time::Instant::now();
        conn.handle_input(now, &w.buf);
        let mut db = Db::default();
        let mut lines = Vec::new();
        while let Some(e) = conn.poll_event() {
            lines.push(transcript::fmt_event(&e));
            db.tls = TlsAnswer::Decline;
            db.on_event(&mut conn, e);
        }
        let mut dec = pgproto::message::BackendDecoder::new();
        dec.set_phase(if gss {
            pgproto::message::BackendPhase::GssEncResponse
        } else {
            pgproto::message::BackendPhase::SslResponse
        });
        let mut out = BytesMut::new();
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
        while let Some(m) = dec.decode(&mut out).unwrap() {
            lines.push(transcript::fmt_msg(&m));
        }
        let want = if gss {
            "E FATAL 08P01 received unencrypted data after GSSAPI encryption request"
        } else {
            "E FATAL 08P01 received unencrypted data after SSL request"
        };
        let mut expected = vec![];
        if !gss {
            expected.push("> TlsRequested");
        }
        expected.extend(["> Terminated: FATAL 08P01", "N", want]);
        assert_eq!(lines, expected);
    }
}

#[test]
fn gssenc_request_is_declined_and_ssl_may_follow() {
    let got = t(|h| {
        h.send(|w| {
            w.gss_request();
        });
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(None);
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert_eq!(
        got[..4],
        [
            "N",
            "> TlsRequested",
            "S",
            "> Startup alice db=alice 3.0 tls"
        ]
    );
    // And in the other order, after a declined SSLRequest.
    let got = t(|h| {
        h.db.tls = TlsAnswer::Decline;
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.gss_request();
        });
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert_eq!(
        got[..4],
        ["> TlsRequested", "N", "N", "> Startup alice db=alice 3.0"]
    );
}

/// PostgreSQL accepts each of SSLRequest and GSSENCRequest once; a repeated one is read as a
/// startup packet of protocol 1234.5679 (or .5680) and refused (checked on PostgreSQL 18).
#[test]
fn a_repeated_encryption_request_is_fatal_0a000() {
    let got = t(|h| {
        h.db.tls = TlsAnswer::Decline;
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.ssl_request();
        });
    });
    assert_eq!(
        got[got.len() - 1],
        "E FATAL 0A000 unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2"
    );
    let got = t(|h| {
        h.send(|w| {
            w.gss_request();
        });
        h.send(|w| {
            w.gss_request();
        });
    });
    assert_eq!(
        got,
        [
            "N",
            "> Terminated: FATAL 0A000",
            "E FATAL 0A000 unsupported frontend protocol 1234.5680: server supports 3.0 to 3.2"
        ]
    );
    // After a negotiated TLS handshake too.
    let got = t(|h| {
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(None);
        h.send(|w| {
            w.ssl_request();
        });
    });
    assert_eq!(
        got[got.len() - 1],
        "E FATAL 0A000 unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2"
    );
}

#[test]
fn direct_tls_then_ssl_request_inside_tls_gets_n() {
    let got = t(|h| {
        // The start of a TLS record: handshake (0x16), TLS 1.0, 5 bytes of ClientHello.
        h.send(|w| {
            w.raw(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);
        });
        h.tls_established(Some(&fake_cert()));
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
    });
    assert_eq!(
        got[..5],
        [
            "> DirectTls",
            "! TLS engine took 10 bytes starting [16, 03, 01]",
            "N",
            "> Startup alice db=alice 3.0 tls",
            "> Authenticated alice",
        ]
    );
}

/// A NoticeResponse queued before the startup packet goes out ahead of the one-byte answer to
/// SSLRequest: the client reads its `N` type byte as "SSL refused".
#[test]
fn a_notice_cannot_precede_the_ssl_answer() {
    let got = t(|h| {
        h.db.tls = TlsAnswer::Defer;
        h.send(|w| {
            w.ssl_request();
        });
        h.app(|conn, db| {
            let _ = conn.notice(&PgError::notice("hello"));
            let r = conn.accept_tls();
            db.ok(r);
        });
    });
    assert_eq!(got[..2], ["> TlsRequested", "S"]);
}

// ===== authentication ===========================================================================

fn scram_secret() -> &'static ScramSecret {
    static S: OnceLock<ScramSecret> = OnceLock::new();
    S.get_or_init(|| ScramSecret::new(b"pencil", b"0123456789abcdef", 4096))
}

#[test]
fn cleartext_password() {
    for (password, ok) in [(&b"secret"[..], true), (b"wrong", false)] {
        let got = t(|h| {
            h.db.auth = Auth::Cleartext(Some(StoredSecret::Plain(b"secret".to_vec())));
            h.send(|w| {
                w.startup(&[("user", "alice")]);
            });
            h.send(|w| {
                w.password(password);
            });
        });
        assert_eq!(got[..2], ["> Startup alice db=alice 3.0", "R Cleartext"]);
        if ok {
            assert_eq!(got[2..4], ["> Authenticated alice", "R Ok"]);
            assert_eq!(got.last().unwrap(), "Z I");
        } else {
            assert_eq!(
                got[2..],
                [
                    "> Terminated: FATAL 28P01",
                    "E FATAL 28P01 password authentication failed for user \"alice\""
                ]
            );
        }
    }
}

#[test]
fn cleartext_for_an_unknown_user_fails_like_a_wrong_password() {
    let got = t(|h| {
        h.db.auth = Auth::Cleartext(None);
        h.send(|w| {
            w.startup(&[("user", "ghost")]);
        });
        h.send(|w| {
            w.password(b"anything");
        });
    });
    assert_eq!(
        got,
        [
            "> Startup ghost db=ghost 3.0",
            "R Cleartext",
            "> Terminated: FATAL 28P01",
            "E FATAL 28P01 password authentication failed for user \"ghost\""
        ]
    );
}

fn md5_salt_seen(h: &Run<'_>) -> [u8; 4] {
    match h.seen().last() {
        Some(BackendMessage::Authentication(Authentication::Md5Password { salt })) => *salt,
        other => panic!("expected an MD5 request, got {other:?}"),
    }
}

#[test]
fn md5_password() {
    for (password, ok) in [(&b"secret"[..], true), (b"wrong", false)] {
        let got = t(|h| {
            h.db.auth = Auth::Md5(Some(StoredSecret::md5(b"alice", b"secret")));
            h.send(|w| {
                w.startup(&[("user", "alice")]);
            });
            let salt = md5_salt_seen(h);
            h.send(|w| {
                w.password(md5_response(b"alice", password, salt).as_bytes());
            });
        });
        assert_eq!(got[..2], ["> Startup alice db=alice 3.0", "R MD5"]);
        if ok {
            assert_eq!(got[2..4], ["> Authenticated alice", "R Ok"]);
        } else {
            assert_eq!(
                got[2..],
                [
                    "> Terminated: FATAL 28P01",
                    "E FATAL 28P01 password authentication failed for user \"alice\""
                ]
            );
        }
    }
    // A plain stored password serves MD5 too.
    let got = t(|h| {
        h.db.auth = Auth::Md5(Some(StoredSecret::Plain(b"secret".to_vec())));
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        let salt = md5_salt_seen(h);
        h.send(|w| {
            w.password(md5_response(b"alice", b"secret", salt).as_bytes());
        });
    });
    assert_eq!(got.last().unwrap(), "Z I");
}

/// The client's side of a SCRAM exchange; returns the transcript of the whole login.
fn scram_login(h: &mut Run<'_>, user: &str, password: &'static [u8], cert: Option<Vec<u8>>) {
    let binding = cert.as_deref().map(|c| tls_server_end_point(c).unwrap());
    h.send(|w| {
        w.startup(&[("user", user)]);
    });
    let offered: Vec<Vec<u8>> = match h.seen().last() {
        Some(BackendMessage::Authentication(Authentication::Sasl(m))) => {
            m.iter().map(<[u8]>::to_vec).collect()
        }
        other => panic!("expected AuthenticationSASL, got {other:?}"),
    };
    let mut client: Option<ScramClient> = None;
    h.send(|w| {
        let (c, mech, first) = ScramClient::start(
            password,
            offered.iter().map(Vec::as_slice),
            ChannelBindingPolicy::Prefer,
            binding,
            ScramClientConfig::default(),
            &mut TestRng::new(99),
        )
        .unwrap();
        w.sasl_initial(mech, &first);
        client = Some(c);
    });
    let server_first = match h.seen().last() {
        Some(BackendMessage::Authentication(Authentication::SaslContinue(d))) => d.to_vec(),
        other => panic!("expected SASLContinue, got {other:?}"),
    };
    h.send(|w| {
        let fin = client
            .as_mut()
            .unwrap()
            .handle_server_first(&server_first)
            .unwrap();
        w.sasl_response(&fin);
    });
    let fin = h.seen().iter().find_map(|m| match m {
        BackendMessage::Authentication(Authentication::SaslFinal(d)) => Some(d.clone()),
        _ => None,
    });
    if let Some(fin) = fin {
        // Only the recording run has the client; the other runs must produce the same bytes.
        if let Some(c) = &mut client {
            c.handle_server_final(&fin).unwrap();
            c.finish().unwrap();
        }
        h.note("! client verified the server signature");
    }
}

#[test]
fn scram_sha_256() {
    let out = check(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        scram_login(h, "alice", b"pencil", None);
    });
    let got = out.transcript;
    assert_eq!(
        got[..6],
        [
            "> Startup alice db=alice 3.0",
            "R SASL SCRAM-SHA-256",
            "R SASLContinue",
            "> Authenticated alice",
            "R SASLFinal",
            "R Ok",
        ]
    );
    assert_eq!(
        got[got.len() - 3..],
        [
            "K pid=1 key=4B",
            "Z I",
            "! client verified the server signature"
        ]
    );
}

#[test]
fn scram_sha_256_plus_with_channel_binding_over_tls() {
    let got = t(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(Some(&fake_cert()));
        scram_login(h, "alice", b"pencil", Some(fake_cert()));
        h.app(|conn, db| db.log.push(format!("! user {}", conn.user())));
    });
    assert_eq!(
        got[..8],
        [
            "> TlsRequested",
            "S",
            "> Startup alice db=alice 3.0 tls",
            "R SASL SCRAM-SHA-256-PLUS,SCRAM-SHA-256",
            "R SASLContinue",
            "> Authenticated alice",
            "R SASLFinal",
            "R Ok",
        ]
    );
    assert_eq!(
        got[got.len() - 3..],
        [
            "Z I",
            "! client verified the server signature",
            "! user alice"
        ]
    );
}

#[test]
fn scram_over_tls_without_a_certificate_offers_no_binding() {
    let got = t(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(None);
        scram_login(h, "alice", b"pencil", None);
    });
    assert_eq!(got[3], "R SASL SCRAM-SHA-256");
    assert_eq!(got[got.len() - 2], "Z I");
}

#[test]
fn scram_wrong_password_is_fatal_28p01() {
    let got = t(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        scram_login(h, "alice", b"crayon", None);
    });
    assert_eq!(
        got,
        [
            "> Startup alice db=alice 3.0",
            "R SASL SCRAM-SHA-256",
            "R SASLContinue",
            "> Terminated: FATAL 28P01",
            "E FATAL 28P01 password authentication failed for user \"alice\"",
        ]
    );
}

#[test]
fn scram_for_an_unknown_user_runs_the_whole_exchange_then_fails() {
    let got = t(|h| {
        h.db.auth = Auth::Scram(None);
        scram_login(h, "ghost", b"pencil", None);
    });
    assert_eq!(
        got,
        [
            "> Startup ghost db=ghost 3.0",
            "R SASL SCRAM-SHA-256",
            "R SASLContinue",
            "> Terminated: FATAL 28P01",
            "E FATAL 28P01 password authentication failed for user \"ghost\"",
        ]
    );
}

#[test]
fn md5_for_a_scram_user_switches_to_scram() {
    let got = t(|h| {
        h.db.auth = Auth::Md5(Some(StoredSecret::Scram(scram_secret().clone())));
        scram_login(h, "alice", b"pencil", None);
    });
    assert_eq!(got[1], "R SASL SCRAM-SHA-256");
    assert_eq!(got[got.len() - 2], "Z I");
}

/// The client's SCRAM-SHA-256 first message with the given GS2 header, and the rest of the
/// exchange with a proof over `cbind` (base64 of the header and binding data).
fn scram_by_hand(
    h: &mut Run<'_>,
    mechanism: &'static str,
    header: &'static str,
    cbind_data: Vec<u8>,
) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    h.send(|w| {
        w.sasl_initial(mechanism, format!("{header}n=,r=clientnonce").as_bytes());
    });
    let server_first = match h.seen().last() {
        Some(BackendMessage::Authentication(Authentication::SaslContinue(d))) => d.to_vec(),
        _ => return,
    };
    let nonce = String::from_utf8(server_first).unwrap();
    let nonce = nonce.split(',').next().unwrap().to_string();
    let mut c = header.as_bytes().to_vec();
    c.extend_from_slice(&cbind_data);
    h.send(|w| {
        let proof = b64.encode([0u8; 32]);
        w.sasl_response(format!("c={},{nonce},p={proof}", b64.encode(&c)).as_bytes());
    });
}

#[test]
fn scram_channel_binding_downgrade_and_mismatch_fail() {
    let downgrade = t(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(Some(&fake_cert()));
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        scram_by_hand(h, "SCRAM-SHA-256", "y,,", vec![]);
    });
    assert_eq!(downgrade[3], "R SASL SCRAM-SHA-256-PLUS,SCRAM-SHA-256");
    assert!(
        downgrade[downgrade.len() - 1].starts_with("E FATAL "),
        "{downgrade:?}"
    );
    assert!(!downgrade.contains(&"R Ok".to_string()));
    let mismatch = t(|h| {
        h.db.auth = Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone())));
        h.send(|w| {
            w.ssl_request();
        });
        h.tls_established(Some(&fake_cert()));
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        scram_by_hand(
            h,
            "SCRAM-SHA-256-PLUS",
            "p=tls-server-end-point,,",
            vec![0; 32],
        );
    });
    assert_eq!(mismatch[4], "R SASLContinue");
    assert!(
        mismatch[mismatch.len() - 1].starts_with("E FATAL "),
        "{mismatch:?}"
    );
    assert!(!mismatch.contains(&"R Ok".to_string()));
}

#[test]
fn a_non_password_message_during_authentication_is_fatal_08p01() {
    // PostgreSQL words it by the exchange in progress (auth.c / auth-sasl.c).
    for (auth, what) in [
        (
            Auth::Cleartext(Some(StoredSecret::Plain(b"x".to_vec()))),
            "password",
        ),
        (
            Auth::Scram(Some(StoredSecret::Scram(scram_secret().clone()))),
            "SASL",
        ),
    ] {
        let got = t(|h| {
            h.db.auth = auth.clone();
            h.send(|w| {
                w.startup(&[("user", "alice")]);
            });
            h.send(|w| {
                w.query("SELECT 1");
            });
        });
        let expected = format!("E FATAL 08P01 expected {what} response, got message type 81");
        assert_eq!(
            got[2..],
            ["> Terminated: FATAL 08P01".to_string(), expected]
        );
    }
    let got = t(|h| {
        h.db.auth = Auth::Cleartext(None);
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        h.send(|w| {
            w.terminate();
        });
    });
    assert_eq!(
        got[got.len() - 1],
        "E FATAL 08P01 expected password response, got message type 88"
    );
}

#[test]
fn authentication_timeout_is_fatal_57014() {
    let got = t(|h| {
        h.db.auth = Auth::Cleartext(Some(StoredSecret::Plain(b"x".to_vec())));
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        h.app(|conn, db| {
            db.log
                .push(format!("! timer armed: {}", conn.poll_timeout().is_some()))
        });
        h.advance(secs(59));
        h.mark("59 s");
        h.advance(secs(1));
        h.app(|conn, db| {
            db.log
                .push(format!("! timer after: {:?}", conn.poll_timeout()))
        });
        h.send(|w| {
            w.password(b"x");
        });
    });
    assert_eq!(
        got,
        [
            "> Startup alice db=alice 3.0",
            "R Cleartext",
            "! timer armed: true",
            "-- 59 s",
            "> Terminated: FATAL 57014",
            "E FATAL 57014 canceling authentication due to timeout",
            "! timer after: None",
        ]
    );
    // The deadline counts from the connection's start, also before any packet; a configured
    // timeout is honoured; and authenticating disarms it.
    let got = t(|h| {
        h.config().authentication_timeout = secs(5);
        h.advance(secs(4));
        h.app(|conn, db| db.log.push(format!("! closed={}", conn.is_closed())));
        h.advance(secs(1));
        h.app(|conn, db| db.log.push(format!("! closed={}", conn.is_closed())));
    });
    assert_eq!(got[0], "! closed=false");
    assert_eq!(got[got.len() - 1], "! closed=true");
    let got = t(|h| {
        h.login();
        h.advance(secs(3600));
        h.app(|conn, db| db.log.push(format!("! timer: {:?}", conn.poll_timeout())));
    });
    assert_eq!(
        got,
        [
            "> Startup alice db=alice 3.0",
            "> Authenticated alice",
            "-- login",
            "! timer: None"
        ]
    );
}

/// PostgreSQL closes a connection that sent no startup packet in time without a message
/// (`StartupPacketTimeoutHandler` exits): there is no protocol yet to speak, and during a TLS
/// handshake plaintext bytes would corrupt it.
#[test]
fn authentication_timeout_before_the_startup_packet_closes_silently() {
    let out = check(|h| {
        h.send(|w| {
            w.ssl_request();
        });
        h.advance(secs(60));
    });
    assert_eq!(out.transcript[..2], ["> TlsRequested", "S"]);
    assert_eq!(out.raw, b"S");
}

/// PostgreSQL reads a password the client sent without waiting for the request (it is just
/// buffered). The connection leaves it in its buffer until more bytes arrive, so the one-piece
/// run and the split runs differ.
#[test]
fn a_password_pipelined_with_the_startup_packet_is_read() {
    let got = t(|h| {
        h.db.auth = Auth::Cleartext(Some(StoredSecret::Plain(b"secret".to_vec())));
        h.send(|w| {
            w.startup(&[("user", "alice")]).password(b"secret");
        });
    });
    assert_eq!(
        got[..4],
        [
            "> Startup alice db=alice 3.0",
            "> Authenticated alice",
            "R Cleartext",
            "R Ok"
        ]
    );
}

/// Bytes the driver hands over between `accept_tls` and `handle_tls_established` arrived in
/// plaintext before the handshake finished: PostgreSQL refuses them after the handshake
/// (`pq_buffer_remaining_data() > 0`, FATAL 08P01, CVE-2021-23214). They must not be read as if
/// they had come through TLS.
#[test]
fn bytes_received_during_the_tls_handshake_are_refused() {
    let got = t(|h| {
        h.send(|w| {
            w.ssl_request();
        });
        h.send(|w| {
            w.startup(&[("user", "mallory")]);
        });
        h.tls_established(None);
    });
    assert_eq!(
        got,
        [
            "> TlsRequested",
            "S",
            "> Terminated: FATAL 08P01",
            "E FATAL 08P01 received unencrypted data after SSL request",
            // The driver's report that the handshake finished comes too late.
            "! Closed",
        ]
    );
}

// ===== simple query =============================================================================

#[test]
fn simple_query_with_rows() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("SELECT 1 AS a, NULL AS b, 'x' AS c");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT 1 AS a, NULL AS b, 'x' AS c",
            "T a:int4 b:text c:text",
            "D [1,NULL,x]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn simple_query_with_several_statements_has_one_ready_for_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("SELECT 1; INSERT INTO t VALUES (1);; SELECT generate_series(1, 3)");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT 1; INSERT INTO t VALUES (1);; SELECT generate_series(1, 3)",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "C INSERT 0 1",
            "T generate_series:int4",
            "D [1]",
            "D [2]",
            "D [3]",
            "C SELECT 3",
            "Z I",
        ]
    );
}

#[test]
fn empty_query_string_gets_empty_query_response() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("");
        });
        h.send(|w| {
            w.query(" ;; ");
        });
    });
    assert_eq!(
        after_login(got),
        ["> Query ", "I", "Z I", "> Query  ;; ", "I", "Z I"]
    );
}

#[test]
fn an_error_stops_the_rest_of_the_query_string() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("SELECT 1; SELECT 1/0; SELECT 2");
        });
        h.send(|w| {
            w.query("SELECT 3; SELEC 4");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT 1; SELECT 1/0; SELECT 2",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "E 22012 division by zero",
            "Z I",
            // A syntax error anywhere runs nothing.
            "> Query SELECT 3; SELEC 4",
            "E 42601 syntax error at or near \"SELEC\"",
            "Z I",
        ]
    );
}

#[test]
fn ready_for_query_reports_the_transaction_status() {
    let got = t(|h| {
        h.login();
        for sql in [
            "BEGIN",
            "SELECT 1/0",
            "SELECT 1",
            "COMMIT",
            "BEGIN; SELECT 1",
            "ROLLBACK",
        ] {
            h.send(|w| {
                w.query(sql);
            });
        }
        h.app(|conn, db| db.log.push(format!("! {:?}", conn.transaction_status())));
    });
    assert_eq!(
        after_login(got),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> Query SELECT 1/0",
            "E 22012 division by zero",
            "Z E",
            "> Query SELECT 1",
            "E 25P02 current transaction is aborted, commands ignored until end of transaction block",
            "Z E",
            "> Query COMMIT",
            "C ROLLBACK",
            "Z I",
            "> Query BEGIN; SELECT 1",
            "C BEGIN",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "Z T",
            "> Query ROLLBACK",
            "C ROLLBACK",
            "Z I",
            "! Idle",
        ]
    );
}

#[test]
fn simple_query_answers_are_checked() {
    let got = t(|h| {
        h.login();
        h.hook(|conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            let cols = [Column::new("a", oid::INT4)];
            let r = conn.row_description(&cols);
            db.ok(r);
            // A second description before the statement completed.
            let r = conn.row_description(&cols);
            db.ok(r);
            let r = conn.data_row([Some(&b"1"[..])]);
            db.ok(r);
            let r = conn.command_complete("SELECT 1");
            db.ok(r);
            let r = conn.error(PgError::new(SqlState::SYNTAX_ERROR, "first"));
            db.ok(r);
            // One error per query.
            let r = conn.error(PgError::new(SqlState::SYNTAX_ERROR, "second"));
            db.ok(r);
            let r = conn.row_description(&cols);
            db.ok(r);
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
            true
        });
        h.send(|w| {
            w.query("whatever");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query whatever",
            "! Unexpected { answer: \"row_description\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"error\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"row_description\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"query_done\", waiting: \"client messages\" }",
            "T a:int4",
            "D [1]",
            "C SELECT 1",
            "E 42601 first",
            "Z I",
        ]
    );
}

// ===== extended query ===========================================================================

#[test]
fn extended_query_with_named_statement_and_portal() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("s1", "SELECT $1 AS a, 2 AS b", &[oid::INT4])
                .describe_statement("s1")
                .bind("p1", "s1", &[Some("7")])
                .describe_portal("p1")
                .execute("p1", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"s1\" SELECT $1 AS a, 2 AS b [23]",
            "> Execute \"p1\" 0",
            "1",
            "t [23]",
            "T a:int4 b:int4",
            "2",
            "T a:int4 b:int4",
            "D [7,2]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn describe_of_a_statement_without_rows_and_result_formats() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SET x = 1", &[])
                .describe_statement("")
                .bind("", "", &[])
                .describe_portal("")
                .execute("", 0)
                .parse("q", "SELECT $1 AS a, $2 AS b", &[0, oid::INT4])
                .bind_full("", "q", &[], &[Some("t"), Some("5")], &[0, 1])
                .describe_portal("")
                .execute("", 0)
                .bind_full("", "q", &[1], &[Some("t"), Some("5")], &[1])
                .describe_portal("")
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SET x = 1 []",
            "> Execute \"\" 0",
            "> Parse \"q\" SELECT $1 AS a, $2 AS b [0, 23]",
            "> Execute \"\" 0",
            "1",
            "t []",
            "n",
            "2",
            "n",
            "C SET",
            "1",
            "2",
            "T a:text b:int4/bin",
            "D [t,0x00000005]",
            "C SELECT 1",
            "2",
            "T a:text/bin b:int4/bin",
            "S x=1",
            "Z I",
        ]
    );
}

#[test]
fn empty_query_in_the_extended_protocol() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "", &[])
                .bind("", "", &[])
                .describe_portal("")
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\"  []",
            "> Execute \"\" 0",
            "1",
            "2",
            "n",
            "I",
            "Z I"
        ]
    );
}

#[test]
fn unnamed_statement_lives_until_the_next_parse_or_a_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT 1 AS a", &[]).sync();
        });
        // It survives Sync.
        h.send(|w| {
            w.bind("", "", &[]).execute("", 0).sync();
        });
        // A Parse of "" replaces it.
        h.send(|w| {
            w.parse("", "SELECT 2 AS b", &[])
                .bind("", "", &[])
                .describe_portal("")
                .execute("", 0)
                .sync();
        });
        // A Query destroys it.
        h.send(|w| {
            w.query("SELECT 3");
        });
        h.send(|w| {
            w.bind("", "", &[]).sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT 1 AS a []",
            "1",
            "Z I",
            "> Execute \"\" 0",
            "2",
            "D [1]",
            "C SELECT 1",
            "Z I",
            "> Parse \"\" SELECT 2 AS b []",
            "> Execute \"\" 0",
            "1",
            "2",
            "T b:int4",
            "D [2]",
            "C SELECT 1",
            "Z I",
            "> Query SELECT 3",
            "T ?column?:int4",
            "D [3]",
            "C SELECT 1",
            "Z I",
            "E 26000 unnamed prepared statement does not exist",
            "Z I",
        ]
    );
}

#[test]
fn a_query_destroys_the_unnamed_portal_but_not_named_ones() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.parse("s", "SELECT generate_series(1, 3)", &[])
                .bind("", "s", &[])
                .bind("named", "s", &[])
                .execute("", 1)
                .sync();
        });
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.app(|conn, db| {
            let unnamed = conn.portal(b"").is_some();
            let named = conn.portal(b"named").is_some();
            db.log.push(format!(
                "! unnamed portal: {unnamed}, named portal: {named}"
            ));
        });
        h.send(|w| {
            w.execute("named", 1).sync();
        });
        h.send(|w| {
            w.execute("", 1).sync();
        });
    });
    let got = after_login(got);
    assert_eq!(
        got[3..got.len() - 1],
        [
            "> Parse \"s\" SELECT generate_series(1, 3) []",
            "> Execute \"\" 1",
            "1",
            "2",
            "2",
            "D [1]",
            "s",
            "Z T",
            "> Query SELECT 1",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "Z T",
            "! unnamed portal: false, named portal: true",
            "> Execute \"named\" 1",
            "D [1]",
            "s",
            "Z T",
            "E 34000 portal \"\" does not exist",
            // The ReadyForQuery after this error is the subject of
            // errors_from_the_state_machine_fail_the_transaction_block.
        ]
    );
}

#[test]
fn portals_end_with_their_transaction() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("s", "SELECT generate_series(1, 5)", &[]).sync();
        });
        // Outside a transaction block, Sync ends the implicit transaction and its portals.
        h.send(|w| {
            w.bind("p", "s", &[]).sync();
        });
        h.send(|w| {
            w.execute("p", 0).sync();
        });
        // Inside one, portals survive Sync until COMMIT.
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.bind("p", "s", &[]).execute("p", 2).sync();
        });
        h.send(|w| {
            w.execute("p", 2).sync();
        });
        h.send(|w| {
            w.execute("p", 0).sync();
        });
        h.send(|w| {
            w.query("COMMIT");
        });
        h.send(|w| {
            w.execute("p", 0).sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"s\" SELECT generate_series(1, 5) []",
            "1",
            "Z I",
            "2",
            "Z I",
            "E 34000 portal \"p\" does not exist",
            "Z I",
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> Execute \"p\" 2",
            "2",
            "D [1]",
            "D [2]",
            "s",
            "Z T",
            "> Execute \"p\" 2",
            "D [3]",
            "D [4]",
            "s",
            "Z T",
            "> Execute \"p\" 0",
            "D [5]",
            "C SELECT 1",
            "Z T",
            "> Query COMMIT",
            "C COMMIT",
            "Z I",
            "E 34000 portal \"p\" does not exist",
            "Z I",
        ]
    );
}

#[test]
fn closing_a_statement_keeps_its_portals_in_the_state_machine() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.parse("s1", "SELECT generate_series(1, 5)", &[])
                .bind("p3", "s1", &[])
                .close_statement("s1")
                .describe_portal("p3")
                .sync();
        });
        h.app(|conn, db| {
            let p = conn.portal(b"p3").map(|p| p.statement.to_string());
            db.log.push(format!("! portal p3 of statement {p:?}"));
            let s = conn.statement(b"s1").is_some();
            db.log.push(format!("! statement s1 exists: {s}"));
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> Parse \"s1\" SELECT generate_series(1, 5) []",
            "1",
            "2",
            "3",
            "T generate_series:int4",
            "Z T",
            "! portal p3 of statement Some(\"s1\")",
            "! statement s1 exists: false",
        ]
    );
}

/// PostgreSQL (checked on 18) executes a portal whose statement was closed: `2 3 D [1] s`. The
/// application cannot: a `Portal` keeps only its statement's name (and there is no event for
/// Bind), so once the statement is closed its query is gone.
#[test]
fn a_portal_whose_statement_was_closed_can_be_executed() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.parse("s1", "SELECT generate_series(1, 5)", &[])
                .bind("p3", "s1", &[])
                .close_statement("s1")
                .execute("p3", 1)
                .sync();
        });
    });
    assert_eq!(
        after_login(got)[3..],
        [
            "> Parse \"s1\" SELECT generate_series(1, 5) []",
            "> Execute \"p3\" 1",
            "1",
            "2",
            "3",
            "D [1]",
            "s",
            "Z T",
        ]
    );
}

/// PostgreSQL (checked on 18) runs a portal with the statement it was bound to, even after the
/// unnamed statement was replaced: `1 2 1 D [1]`. The application only finds the new statement
/// under the portal's statement name and silently runs the wrong query.
#[test]
fn a_portal_keeps_the_unnamed_statement_it_was_bound_to() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.parse("", "SELECT 1 AS a", &[])
                .bind("p1", "", &[])
                .parse("", "SELECT 2 AS b", &[])
                .execute("p1", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got)[3..],
        [
            "> Parse \"\" SELECT 1 AS a []",
            "> Parse \"\" SELECT 2 AS b []",
            "> Execute \"p1\" 0",
            "1",
            "2",
            "1",
            "D [1]",
            "C SELECT 1",
            "Z T",
        ]
    );
}

#[test]
fn errors_26000_34000_42p05_42p03() {
    let got = t(|h| {
        h.login();
        for build in [
            (|w: &mut transcript::Wire| {
                w.bind("", "nope", &[]).sync();
            }) as fn(&mut transcript::Wire),
            |w| {
                w.describe_statement("nope").sync();
            },
            |w| {
                w.describe_statement("").sync();
            },
            |w| {
                w.describe_portal("nope").sync();
            },
            |w| {
                w.execute("nope", 0).sync();
            },
            |w| {
                w.parse("s", "SELECT 1", &[])
                    .parse("s", "SELECT 1", &[])
                    .sync();
            },
            |w| {
                w.bind("p", "s", &[]).bind("p", "s", &[]).sync();
            },
            // Closing what does not exist is not an error.
            |w| {
                w.close_statement("nope").close_portal("nope").sync();
            },
        ] {
            h.send(build);
        }
    });
    assert_eq!(
        after_login(got),
        [
            "E 26000 prepared statement \"nope\" does not exist",
            "Z I",
            "E 26000 prepared statement \"nope\" does not exist",
            "Z I",
            "E 26000 unnamed prepared statement does not exist",
            "Z I",
            "E 34000 portal \"nope\" does not exist",
            "Z I",
            "E 34000 portal \"nope\" does not exist",
            "Z I",
            "> Parse \"s\" SELECT 1 []",
            "1",
            "E 42P05 prepared statement \"s\" already exists",
            "Z I",
            "2",
            "E 42P03 cursor \"p\" already exists",
            "Z I",
            "3",
            "3",
            "Z I",
        ]
    );
}

#[test]
fn bind_checks_counts_and_format_codes() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT $1 AS a, $2 AS b", &[oid::INT4, oid::TEXT])
                .sync();
            w.bind("", "", &[Some("1")]).sync();
            w.bind_full("", "", &[], &[Some("1"), Some("x")], &[0, 1, 0])
                .sync();
            w.bind_full("", "", &[2], &[Some("1"), Some("x")], &[])
                .sync();
            w.bind_full("", "", &[0, 1], &[Some("1"), Some("x")], &[1, 0])
                .sync();
        });
    });
    assert_eq!(
        codes(after_login(got)),
        [
            "> Parse \"\" SELECT $1 AS a, $2 AS b [23, 25]",
            "1",
            "Z I",
            "E 08P01",
            "Z I",
            "E 08P01",
            "Z I",
            "E 22023",
            "Z I",
            "2",
            "Z I",
        ]
    );
}

/// PostgreSQL 18 checks the format code of every parameter, NULL or not (`B` with formats
/// `(0, 2)` and values `('1', NULL)` gets 22023).
#[test]
fn a_null_parameter_with_a_bad_format_code_is_refused() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT $1 AS a, $2 AS b", &[oid::INT4, oid::TEXT])
                .bind_full("", "", &[0, 2], &[Some("1"), None], &[])
                .sync();
        });
    });
    assert_eq!(
        after_login(got)[1..],
        ["1", "E 22023 unsupported format code: 2", "Z I"]
    );
}

/// PostgreSQL 18 accepts any result format code at Bind (Describe shows it) and refuses an
/// unsupported one when the portal runs: `2 T a:23/fmt3 ... E 22023`.
#[test]
fn an_unsupported_result_format_fails_at_execute() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT 1 AS a", &[])
                .bind_full("", "", &[], &[], &[3])
                .describe_portal("")
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got)[1..],
        [
            "1",
            "2",
            "T a:int4/fmt3",
            "E 22023 unsupported format code: 3",
            "Z I"
        ]
    );
}

#[test]
fn row_limit_suspends_the_portal_and_execute_resumes_it() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT generate_series(1, 5)", &[])
                .bind("", "", &[])
                .execute("", 2)
                .execute("", 2)
                .execute("", 2)
                .execute("", 1)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT generate_series(1, 5) []",
            "> Execute \"\" 2",
            "> Execute \"\" 2",
            "> Execute \"\" 2",
            "> Execute \"\" 1",
            "1",
            "2",
            "D [1]",
            "D [2]",
            "s",
            "D [3]",
            "D [4]",
            "s",
            "D [5]",
            "C SELECT 1",
            "C SELECT 0",
            "Z I",
        ]
    );
}

#[test]
fn after_an_error_everything_is_discarded_until_sync() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT 1/0", &[])
                .bind("", "", &[])
                .execute("", 0)
                .flush()
                .query("SELECT 1")
                .parse("ok", "SELECT 1", &[])
                .sync()
                .sync()
                .parse("", "SELEC", &[])
                .sync()
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT 1/0 []",
            "> Execute \"\" 0",
            "> Parse \"\" SELEC []",
            "1",
            "2",
            "E 22012 division by zero",
            "Z I",
            "Z I",
            "E 42601 syntax error at or near \"SELEC\"",
            "Z I",
            "Z I",
        ]
    );
}

#[test]
fn pipelined_syncs_each_get_a_ready_for_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            for i in 0..3 {
                w.parse("", &format!("SELECT {i}"), &[])
                    .bind("", "", &[])
                    .execute("", 0)
                    .sync();
            }
            w.sync().sync();
        });
    });
    let got = after_login(got);
    assert_eq!(got.iter().filter(|l| *l == "Z I").count(), 5, "{got:?}");
    assert_eq!(
        got[got.len() - 6..],
        ["2", "D [2]", "C SELECT 1", "Z I", "Z I", "Z I"].map(String::from)[..]
    );
}

#[test]
fn output_is_offered_at_flush_and_sync_only() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT 1", &[])
                .bind("", "", &[])
                .execute("", 0);
        });
        h.mark("nothing offered before Flush");
        h.app(|conn, db| {
            db.log
                .push(format!("! buffered {} bytes", conn.output_len()))
        });
        h.send(|w| {
            w.flush();
        });
        h.mark("flushed");
        h.send(|w| {
            w.parse("s", "SELECT 2", &[]);
        });
        h.mark("sync");
        h.send(|w| {
            w.sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT 1 []",
            "> Execute \"\" 0",
            "-- nothing offered before Flush",
            "! buffered 36 bytes",
            "1",
            "2",
            "D [1]",
            "C SELECT 1",
            "-- flushed",
            "> Parse \"s\" SELECT 2 []",
            "-- sync",
            "1",
            "Z I",
        ]
    );
}

/// PostgreSQL flushes after every ErrorResponse (elog.c: "so that the client has some clue
/// what happened"): a client that sent Parse and Flush, or a whole batch before reading, sees
/// the error without sending Sync (checked on PostgreSQL 18: `P(bad) H` gets the error at once,
/// and so does `P B(nope)` with neither Flush nor Sync).
#[test]
fn an_error_is_offered_at_once() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELEC 1", &[]).flush();
        });
        h.mark("after Flush");
        h.send(|w| {
            w.sync();
        });
        h.send(|w| {
            w.parse("", "SELECT 1", &[]).bind("", "nope", &[]);
        });
        h.mark("without Flush");
        h.send(|w| {
            w.sync();
        });
        // Terminate while discarding: the error went out before the session ended.
        h.send(|w| {
            w.bind("", "nope", &[]).terminate();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELEC 1 []",
            "E 42601 syntax error at or near \"SELEC\"",
            "-- after Flush",
            "Z I",
            "> Parse \"\" SELECT 1 []",
            "1",
            "E 26000 prepared statement \"nope\" does not exist",
            "-- without Flush",
            "Z I",
            "> Terminated: client sent Terminate",
            "E 26000 prepared statement \"nope\" does not exist",
        ]
    );
}

/// Any error inside a transaction block aborts it: PostgreSQL 18 answers the Sync after a
/// Bind to a missing statement, a malformed message or a failed COPY with `Z E`.
#[test]
fn errors_from_the_state_machine_fail_the_transaction_block() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.bind("", "nope", &[]).sync();
        });
        h.send(|w| {
            w.query("ROLLBACK").query("BEGIN");
        });
        // Bind with one missing byte: a malformed message.
        h.send(|w| {
            w.raw(b"B\0\0\0\x05x").sync();
        });
        h.send(|w| {
            w.query("ROLLBACK").query("BEGIN");
        });
        h.send(|w| {
            w.parse("", "COPY t FROM STDIN", &[])
                .bind("", "", &[])
                .execute("", 0)
                .copy_fail("no")
                .sync();
        });
    });
    let zs: Vec<String> = after_login(got)
        .into_iter()
        .filter(|l| l.starts_with('Z'))
        .collect();
    assert_eq!(zs, ["Z T", "Z E", "Z I", "Z T", "Z E", "Z I", "Z T", "Z E"]);
}

#[test]
fn several_extended_requests_answered_later_keep_their_order() {
    let got = t(|h| {
        h.login();
        h.db.defer = true;
        h.send(|w| {
            w.parse("a", "SELECT 1", &[])
                .parse("b", "SELECT 2", &[])
                .bind("", "a", &[])
                .execute("", 0)
                .sync();
        });
        h.mark("the application answers the first Parse");
        h.app(|conn, db| db.answer_pending(conn));
        h.mark("and the second");
        h.app(|conn, db| db.answer_pending(conn));
        h.app(|conn, db| db.answer_pending(conn));
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"a\" SELECT 1 []",
            "-- the application answers the first Parse",
            "> Parse \"b\" SELECT 2 []",
            "-- and the second",
            "> Execute \"\" 0",
            "1",
            "1",
            "2",
            "D [1]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn terminate_ends_the_discarding() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.bind("", "nope", &[])
                .parse("x", "SELECT 1", &[])
                .terminate()
                .sync();
        });
        h.app(|conn, db| {
            db.log.push(format!("! closed: {}", conn.is_closed()));
            let r = conn.parse_complete(vec![], None, transcript::Stmt::Empty);
            db.ok(r);
        });
    });
    // (Whether the error before Terminate reaches the client is `an_error_is_offered_at_once`.)
    let got: Vec<String> = after_login(got)
        .into_iter()
        .filter(|l| !l.starts_with("E "))
        .collect();
    assert_eq!(
        got,
        [
            "> Terminated: client sent Terminate",
            "! closed: true",
            "! Closed"
        ]
    );
}

// ===== COPY =====================================================================================

#[test]
fn copy_in_in_a_simple_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("COPY t FROM STDIN; SELECT 1");
        });
        h.send(|w| {
            // Flush and Sync are ignored during COPY.
            w.copy_data(b"1\n2\n")
                .flush()
                .sync()
                .copy_data(b"3\n")
                .copy_done();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query COPY t FROM STDIN; SELECT 1",
            "G",
            "> CopyData \"1\\n2\\n\"",
            "> CopyData \"3\\n\"",
            "> CopyDone",
            "C COPY 3",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn copy_fail_ends_a_simple_query_with_57014() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.query("COPY t FROM STDIN; SELECT 1");
        });
        h.send(|w| {
            w.copy_data(b"1\n").copy_fail("boom");
        });
        h.send(|w| {
            w.query("ROLLBACK");
        });
    });
    assert_eq!(
        after_login(got)[3..],
        [
            "> Query COPY t FROM STDIN; SELECT 1",
            "G",
            "> CopyData \"1\\n\"",
            "> CopyFail boom",
            "E 57014 COPY from stdin failed: boom",
            "Z E",
            "> Query ROLLBACK",
            "C ROLLBACK",
            "Z I",
        ]
    );
}

/// PostgreSQL checks the type byte of each message during COPY FROM STDIN before reading it; an
/// unexpected one raises an ERROR while a message is being read, and the error recovery then
/// ends the session: `E 08P01 unexpected message type 0x51 during COPY from stdin`, then `E
/// FATAL 08P01 terminating connection because protocol synchronization was lost` (checked on
/// PostgreSQL 18, simple and extended).
#[test]
fn another_message_during_copy_in_is_fatal() {
    for extended in [false, true] {
        let got = t(|h| {
            h.login();
            h.send(|w| {
                if extended {
                    w.parse("", "COPY t FROM STDIN", &[])
                        .bind("", "", &[])
                        .execute("", 0)
                        .flush();
                } else {
                    w.query("COPY t FROM STDIN");
                }
            });
            h.send(|w| {
                w.copy_data(b"1\n").query("SELECT 1");
            });
        });
        let got: Vec<String> = after_login(got)
            .into_iter()
            .filter(|l| !l.starts_with("> Copy"))
            .collect();
        assert_eq!(
            got[got.len() - 3..],
            [
                "> Terminated: FATAL 08P01",
                "E 08P01 unexpected message type 0x51 during COPY from stdin",
                "E FATAL 08P01 terminating connection because protocol synchronization was lost",
            ]
        );
    }
}

#[test]
fn copy_in_in_the_extended_protocol() {
    let got = t(|h| {
        h.login();
        // The client sends Sync with the batch; it arrives during COPY and is ignored.
        h.send(|w| {
            w.parse("", "COPY t FROM STDIN", &[])
                .bind("", "", &[])
                .execute("", 0)
                .sync();
        });
        h.send(|w| {
            w.copy_data(b"5\n").copy_done();
        });
        h.mark("no ReadyForQuery until the next Sync");
        h.send(|w| {
            w.sync();
        });
        h.send(|w| {
            w.parse("", "COPY t FROM STDIN", &[])
                .bind("", "", &[])
                .execute("", 0)
                .sync()
                .copy_data(b"6\n")
                .copy_fail("nope")
                .parse("x", "SELECT 1", &[])
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" COPY t FROM STDIN []",
            "> Execute \"\" 0",
            "1",
            "2",
            "G",
            "> CopyData \"5\\n\"",
            "> CopyDone",
            "-- no ReadyForQuery until the next Sync",
            "C COPY 1",
            "Z I",
            "> Parse \"\" COPY t FROM STDIN []",
            "> Execute \"\" 0",
            "> CopyData \"6\\n\"",
            "> CopyFail nope",
            "1",
            "2",
            "G",
            "E 57014 COPY from stdin failed: nope",
            "Z I",
        ]
    );
}

#[test]
fn copy_out_in_simple_and_extended_mode() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("COPY t TO STDOUT");
        });
        h.send(|w| {
            w.parse("", "COPY t TO STDOUT", &[])
                .bind("", "", &[])
                .describe_portal("")
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query COPY t TO STDOUT",
            "H",
            "d \"1\\n\"",
            "d \"2\\n\"",
            "c",
            "C COPY 2",
            "Z I",
            "> Parse \"\" COPY t TO STDOUT []",
            "> Execute \"\" 0",
            "1",
            "2",
            "n",
            "H",
            "d \"1\\n\"",
            "d \"2\\n\"",
            "c",
            "C COPY 2",
            "Z I",
        ]
    );
}

#[test]
fn copy_answers_are_checked() {
    let got = t(|h| {
        h.login();
        h.hook(|conn, ev, db| {
            match ev {
                Event::Query { .. } => {
                    let r = conn.copy_data(b"x");
                    db.ok(r);
                    let r = conn.start_copy_out(pgproto::message::Format::Text, &[0]);
                    db.ok(r);
                    let r = conn.data_row([Some(&b"1"[..])]);
                    db.ok(r);
                    let r = conn.command_complete("COPY 0");
                    db.ok(r);
                    let r = conn.copy_done();
                    db.ok(r);
                    let r = conn.copy_done();
                    db.ok(r);
                    let r = conn.command_complete("COPY 0");
                    db.ok(r);
                    let r = conn.query_done(TransactionStatus::Idle);
                    db.ok(r);
                }
                _ => return false,
            }
            true
        });
        h.send(|w| {
            w.query("COPY t TO STDOUT");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query COPY t TO STDOUT",
            "! Unexpected { answer: \"copy_data\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"data_row\", waiting: \"COPY TO STDOUT data\" }",
            "! Unexpected { answer: \"command_complete\", waiting: \"COPY TO STDOUT data\" }",
            "! Unexpected { answer: \"copy_done\", waiting: \"completion of COPY TO STDOUT\" }",
            "H",
            "c",
            "C COPY 0",
            "Z I",
        ]
    );
}

/// When the application ends a COPY FROM STDIN with an error (bad data), PostgreSQL ignores the
/// CopyData and CopyDone the client still sends. The connection has already turned the
/// buffered ones into events, and delivers them after the error: the application sees
/// `CopyData "3"` and `CopyDone` for a COPY that is over (and its answer to CopyDone is an
/// API error), or not, depending on how the bytes arrived.
#[test]
fn an_error_during_copy_in_ignores_the_rest_of_the_data() {
    for extended in [false, true] {
        let got = t(|h| {
            h.login();
            h.hook(move |conn, ev, db| {
                let Event::CopyData(d) = ev else { return false };
                if d.starts_with(b"bad") {
                    let e = PgError::new(
                        SqlState::from_bytes(b"22P04").unwrap(),
                        "missing data for column \"b\"",
                    );
                    let r = conn.error(e);
                    db.ok(r);
                    if !extended {
                        let r = conn.query_done(TransactionStatus::Idle);
                        db.ok(r);
                    }
                }
                true
            });
            h.send(|w| {
                if extended {
                    w.parse("", "COPY t FROM STDIN", &[])
                        .bind("", "", &[])
                        .execute("", 0)
                        .flush();
                } else {
                    w.query("COPY t FROM STDIN");
                }
            });
            h.send(|w| {
                w.copy_data(b"1\n")
                    .copy_data(b"bad\n")
                    .copy_data(b"3\n")
                    .copy_done();
                if extended {
                    w.sync();
                }
            });
            h.send(|w| {
                w.query("SELECT 1");
            });
        });
        let got = after_login(got);
        let i = got.iter().position(|l| l == "G").unwrap();
        assert_eq!(
            got[i..],
            [
                "G",
                "> CopyData \"1\\n\"",
                "> CopyData \"bad\\n\"",
                "E 22P04 missing data for column \"b\"",
                "Z I",
                "> Query SELECT 1",
                "T ?column?:int4",
                "D [1]",
                "C SELECT 1",
                "Z I",
            ]
        );
    }
}

// ===== function call, errors, termination ======================================================

#[test]
fn function_call_answers_then_ready_for_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.function_call(177, &["1", "2"]);
        });
        h.send(|w| {
            w.function_call(1, &["1"]);
        });
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.function_call(1, &[]);
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> FunctionCall 177",
            "V 3",
            "Z I",
            "> FunctionCall 1",
            "E 42883 function with OID 1 does not exist",
            "Z I",
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> FunctionCall 1",
            "E 42883 function with OID 1 does not exist",
            "Z E",
        ]
    );
}

#[test]
fn a_fatal_answer_ends_the_session() {
    for extended in [false, true] {
        let got = t(|h| {
            h.login();
            h.send(|w| {
                if extended {
                    w.parse("", "SELECT pg_terminate_backend(pg_backend_pid())", &[])
                        .bind("", "", &[])
                        .execute("", 0)
                        .sync();
                } else {
                    w.query("SELECT 1; SELECT pg_terminate_backend(pg_backend_pid()); SELECT 2");
                }
            });
            h.send(|w| {
                w.query("SELECT 3");
            });
            h.app(|conn, db| {
                let r = conn.query_done(TransactionStatus::Idle);
                db.ok(r);
                let r = conn.notice(&PgError::notice("late"));
                db.ok(r);
                let r = conn.notify(1, "ch", "late");
                db.ok(r);
                db.log.push(format!(
                    "! closed={} timeout={:?}",
                    conn.is_closed(),
                    conn.poll_timeout()
                ));
            });
        });
        let head: &[&str] = if extended {
            &[
                "> Parse \"\" SELECT pg_terminate_backend(pg_backend_pid()) []",
                "> Execute \"\" 0",
                "> Terminated: FATAL 57P01",
                "1",
                "2",
            ]
        } else {
            &[
                "> Query SELECT 1; SELECT pg_terminate_backend(pg_backend_pid()); SELECT 2",
                "> Terminated: FATAL 57P01",
                "T ?column?:int4",
                "D [1]",
                "C SELECT 1",
            ]
        };
        let mut want: Vec<&str> = head.to_vec();
        want.extend([
            "E FATAL 57P01 terminating connection due to administrator command",
            "! Closed",
            "! Closed",
            "! Closed",
            "! closed=true timeout=None",
        ]);
        assert_eq!(after_login(got), want);
    }
}

#[test]
fn terminate_at_any_time_sends_57p01() {
    let shutdown = || {
        PgError::new(
            SqlState::ADMIN_SHUTDOWN,
            "terminating connection due to administrator command",
        )
    };
    // While idle.
    let got = t(|h| {
        h.login();
        h.app(|conn, _| conn.terminate(shutdown()));
        h.app(|conn, _| conn.terminate(shutdown()));
    });
    assert_eq!(
        after_login(got),
        [
            "> Terminated: FATAL 57P01",
            "E FATAL 57P01 terminating connection due to administrator command"
        ]
    );
    // In the middle of a result: what was written goes out first.
    let got = t(|h| {
        h.login();
        h.hook(move |conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            let r = conn.row_description(&[Column::new("a", oid::INT4)]);
            db.ok(r);
            let r = conn.data_row([Some(&b"1"[..])]);
            db.ok(r);
            conn.terminate(shutdown());
            let r = conn.data_row([Some(&b"2"[..])]);
            db.ok(r);
            true
        });
        h.send(|w| {
            w.query("SELECT a FROM t");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT a FROM t",
            "! Closed",
            "> Terminated: FATAL 57P01",
            "T a:int4",
            "D [1]",
            "E FATAL 57P01 terminating connection due to administrator command"
        ]
    );
    // During authentication and during COPY.
    let got = t(|h| {
        h.db.auth = Auth::Cleartext(None);
        h.send(|w| {
            w.startup(&[("user", "alice")]);
        });
        h.app(|conn, _| conn.terminate(shutdown()));
    });
    assert_eq!(
        got[1..],
        [
            "R Cleartext",
            "> Terminated: FATAL 57P01",
            "E FATAL 57P01 terminating connection due to administrator command"
        ]
    );
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("COPY t FROM STDIN");
        });
        h.app(|conn, _| conn.terminate(shutdown()));
        h.send(|w| {
            w.copy_data(b"1\n").copy_done();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query COPY t FROM STDIN",
            "G",
            "> Terminated: FATAL 57P01",
            "E FATAL 57P01 terminating connection due to administrator command"
        ]
    );
}

#[test]
fn terminate_message_and_eof_end_the_session() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.terminate().query("SELECT 1");
        });
        h.eof();
    });
    assert_eq!(
        after_login(got),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> Terminated: client sent Terminate"
        ]
    );
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.eof();
        h.eof();
        h.send(|w| {
            w.query("SELECT 2");
        });
    });
    assert_eq!(after_login(got)[5..], ["> Terminated: client closed"]);
    // EOF before any startup packet, and in the middle of one.
    let got = t(|h| {
        h.send(|w| {
            w.raw(&[0, 0, 0]);
        });
        h.eof();
    });
    assert_eq!(got, ["> Terminated: client closed"]);
}

// ===== timeouts ================================================================================

#[test]
fn idle_session_timeout_is_fatal_57p05() {
    let got = t(|h| {
        h.login();
        h.app(|conn, _| conn.set_idle_timeout(Some(secs(10))));
        h.advance(Duration::from_millis(9_999));
        h.mark("9.999 s");
        // A query restarts the clock.
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.advance(secs(9));
        h.mark("9 s after the query");
        h.advance(secs(1));
        h.app(|conn, db| db.log.push(format!("! timer {:?}", conn.poll_timeout())));
    });
    assert_eq!(
        after_login(got),
        [
            "-- 9.999 s",
            "> Query SELECT 1",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "Z I",
            "-- 9 s after the query",
            "> Terminated: FATAL 57P05",
            "E FATAL 57P05 terminating connection due to idle-session timeout",
            "! timer None",
        ]
    );
}

#[test]
fn idle_in_transaction_timeout_is_fatal_25p03() {
    let got = t(|h| {
        h.login();
        h.app(|conn, _| {
            conn.set_idle_timeout(Some(secs(100)));
            conn.set_idle_in_transaction_timeout(Some(secs(5)));
        });
        h.advance(secs(50));
        h.send(|w| {
            w.query("BEGIN");
        });
        h.advance(secs(4));
        h.mark("4 s in the transaction");
        h.advance(secs(1));
    });
    assert_eq!(
        after_login(got),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "-- 4 s in the transaction",
            "> Terminated: FATAL 25P03",
            "E FATAL 25P03 terminating connection due to idle-in-transaction timeout",
        ]
    );
    // In a failed transaction too; and the idle-session timeout does not apply inside one.
    let got = t(|h| {
        h.login();
        h.app(|conn, _| conn.set_idle_timeout(Some(secs(5))));
        h.send(|w| {
            w.query("BEGIN; SELECT 1/0");
        });
        h.advance(secs(3600));
        h.mark("an hour");
        h.app(|conn, _| conn.set_idle_in_transaction_timeout(Some(secs(5))));
        h.advance(secs(5));
    });
    assert_eq!(
        after_login(got)[3..],
        [
            "Z E",
            "-- an hour",
            "> Terminated: FATAL 25P03",
            "E FATAL 25P03 terminating connection due to idle-in-transaction timeout",
        ]
    );
}

#[test]
fn timers_only_move_with_the_now_arguments() {
    let got = t(|h| {
        h.login();
        h.app(|conn, db| {
            conn.set_idle_timeout(Some(Duration::from_millis(10)));
            db.log.push(format!(
                "! before anchoring: {}",
                conn.poll_timeout().is_some()
            ));
        });
        // Real time passes, virtual time does not.
        if h.is_recording() {
            std::thread::sleep(Duration::from_millis(50));
        }
        h.advance(Duration::ZERO);
        h.app(|conn, _| conn.set_idle_timeout(None));
        h.advance(secs(60));
        h.app(|conn, db| db.log.push(format!("! timer {:?}", conn.poll_timeout())));
    });
    assert_eq!(
        after_login(got),
        ["! before anchoring: true", "! timer None"]
    );
}

/// PostgreSQL arms the idle timers when it sends ReadyForQuery and disarms them as soon as a
/// message arrives (postgres.c, steps 1 and 4 of the main loop), so a client in the middle of an
/// extended-query batch (after Flush, before Sync) is not idle.
#[test]
fn an_unfinished_extended_batch_is_not_idle() {
    let got = t(|h| {
        h.login();
        h.app(|conn, _| conn.set_idle_timeout(Some(secs(10))));
        h.advance(secs(9));
        h.send(|w| {
            w.parse("", "SELECT 1", &[]).flush();
        });
        h.advance(secs(30));
        h.mark("30 s later");
        h.send(|w| {
            w.sync();
        });
        h.advance(secs(10));
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT 1 []",
            "1",
            "-- 30 s later",
            "Z I",
            "> Terminated: FATAL 57P05",
            "E FATAL 57P05 terminating connection due to idle-session timeout",
        ]
    );
}

// ===== notices, notifications, parameters ======================================================

#[test]
fn notices_go_out_at_once_when_idle_and_in_order_in_a_result() {
    let got = t(|h| {
        h.login();
        h.app(|conn, db| {
            let r = conn.notice(&PgError {
                severity: pgproto::server::Severity::Warning,
                ..PgError::new(SqlState::WARNING, "disk almost full")
            });
            db.ok(r);
        });
        h.mark("without client input");
        h.send(|w| {
            w.query("SELECT 1; DO 'hello'; SELECT 2");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "N 01000 disk almost full",
            "-- without client input",
            "> Query SELECT 1; DO 'hello'; SELECT 2",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "N 00000 hello",
            "C DO",
            "T ?column?:int4",
            "D [2]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn notifications_go_out_at_once_when_idle_and_before_ready_for_query_when_busy() {
    let got = t(|h| {
        h.login();
        h.app(|conn, db| {
            let r = conn.notify(77, "ch", "p1");
            db.ok(r);
        });
        h.mark("without client input");
        h.db.defer = true;
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.app(|conn, db| {
            let r = conn.notify(77, "ch", "p2");
            db.ok(r);
            let r = conn.set_parameter("TimeZone", "Asia/Tokyo");
            db.ok(r);
        });
        h.mark("held while the query runs");
        h.app(|conn, db| db.answer_pending(conn));
    });
    assert_eq!(
        after_login(got),
        [
            "A ch p1",
            "-- without client input",
            "> Query SELECT 1",
            "-- held while the query runs",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "A ch p2",
            "S TimeZone=Asia/Tokyo",
            "Z I",
        ]
    );
}

#[test]
fn parameter_status_goes_out_at_once_when_idle_and_before_ready_for_query_when_busy() {
    let got = t(|h| {
        h.login();
        h.app(|conn, db| {
            let r = conn.set_parameter("is_superuser", "on");
            db.ok(r);
        });
        h.mark("idle");
        h.send(|w| {
            w.query("SET application_name = 'app'; SELECT 1");
        });
        h.send(|w| {
            w.parse("", "SET DateStyle = 'German'", &[])
                .bind("", "", &[])
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "S is_superuser=on",
            "-- idle",
            "> Query SET application_name = 'app'; SELECT 1",
            "C SET",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "S application_name=app",
            "Z I",
            "> Parse \"\" SET DateStyle = 'German' []",
            "> Execute \"\" 0",
            "1",
            "2",
            "C SET",
            "S DateStyle=German",
            "Z I",
        ]
    );
}

/// PostgreSQL delivers notifications only between transactions: not while the session is idle
/// in a transaction block (`T`), not before the `Z T` of a statement inside one, and not in
/// the middle of an extended-query batch (after Flush, before Sync). Checked on PostgreSQL 18
/// with a second session sending NOTIFY.
#[test]
fn notifications_wait_for_the_end_of_the_transaction() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.app(|conn, db| {
            let r = conn.notify(77, "ch", "p1");
            db.ok(r);
        });
        h.mark("idle in a transaction block");
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.send(|w| {
            w.query("COMMIT");
        });
        h.send(|w| {
            w.parse("", "SELECT 1", &[]).flush();
        });
        h.app(|conn, db| {
            let r = conn.notify(77, "ch", "p2");
            db.ok(r);
        });
        h.mark("in the middle of a batch");
        h.send(|w| {
            w.sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "-- idle in a transaction block",
            "> Query SELECT 1",
            "T ?column?:int4",
            "D [1]",
            "C SELECT 1",
            "Z T",
            "> Query COMMIT",
            "C COMMIT",
            "A ch p1",
            "Z I",
            "> Parse \"\" SELECT 1 []",
            "1",
            "-- in the middle of a batch",
            "A ch p2",
            "Z I",
        ]
    );
}

/// PostgreSQL flushes after every NoticeResponse too (elog.c), so a long statement's notices
/// reach the client while it runs (checked on PostgreSQL 18 with `RAISE NOTICE` before a
/// `pg_sleep`).
#[test]
fn a_notice_during_a_query_is_offered_at_once() {
    let got = t(|h| {
        h.login();
        h.db.defer = true;
        h.send(|w| {
            w.query("DO 'working'");
        });
        h.app(|conn, db| {
            let r = conn.notice(&PgError::notice("working"));
            db.ok(r);
        });
        h.mark("still running");
    });
    assert_eq!(
        after_login(got),
        [
            "> Query DO 'working'",
            "N 00000 working",
            "-- still running"
        ]
    );
}

// ===== malformed input =========================================================================

#[test]
fn a_malformed_extended_message_is_an_error_then_discard_until_sync() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            // Bind whose body is one byte: no terminator for the portal name.
            w.raw(b"B\0\0\0\x05x")
                .parse("s", "SELECT 1", &[])
                .sync()
                // Describe with an unknown target.
                .raw(b"D\0\0\0\x06X\0")
                .sync()
                .raw(b"S\0\0\0\x05x")
                .parse("", "SELECT 1", &[])
                .sync();
        });
    });
    assert_eq!(
        codes(after_login(got)),
        [
            "> Parse \"\" SELECT 1 []",
            "E 08P01",
            "Z I",
            "E 08P01",
            "Z I",
            "E 08P01",
            "Z I",
            "1",
            "Z I",
        ]
    );
}

#[test]
fn a_malformed_query_is_an_error_then_ready_for_query() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.query("BEGIN");
        });
        h.send(|w| {
            w.raw(b"Q\0\0\0\x06ab").query("SELECT 1");
        });
    });
    assert_eq!(
        codes(after_login(got)),
        [
            "> Query BEGIN",
            "C BEGIN",
            "Z T",
            "> Query SELECT 1",
            "E 08P01",
            "Z E",
            "E 25P02",
            "Z E",
        ]
    );
}

#[test]
fn an_unknown_message_type_is_fatal() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.raw(b"z\0\0\0\x04").query("SELECT 1");
        });
    });
    let got = after_login(got);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], "> Terminated: FATAL 08P01");
    assert!(
        got[1].starts_with("E FATAL 08P01 invalid frontend message type"),
        "{got:?}"
    );
}

/// PostgreSQL answers an impossible or oversized length word by logging "invalid message
/// length" and closing, without an ErrorResponse (PROTOCOL.md section 1; checked on 18: a Sync
/// with length 20001 and a startup packet with length 4 both get a bare EOF).
#[test]
fn an_invalid_length_closes_without_an_error_response() {
    let out = check(|h| {
        h.login();
        h.send(|w| {
            w.raw(b"S\0\0\x4e\x21");
        });
    });
    assert_eq!(after_login(out.transcript), ["> Terminated: FATAL 08P01"]);
    let out = check(|h| {
        h.send(|w| {
            w.raw(&[0, 0, 0, 4]);
        });
    });
    assert_eq!(out.transcript, ["> Terminated: FATAL 08P01"]);
    assert!(out.raw.is_empty());
}

/// The texts of the errors the state machine writes itself, where PostgreSQL 18's differ
/// (clients match SQLSTATEs, but messages show up in logs and tests).
#[test]

fn error_messages_match_postgres() {
    let got = t(|h| {
        h.login();
        h.send(|w| {
            w.parse("", "SELECT $1 AS a, $2 AS b", &[oid::INT4, oid::TEXT])
                .bind("", "", &[Some("1")])
                .sync();
        });
        h.send(|w| {
            w.raw(b"Q\0\0\0\x06ab");
        });
        h.send(|w| {
            w.raw(b"D\0\0\0\x06X\0").sync();
        });
        h.send(|w| {
            w.raw(b"S\0\0\0\x05x");
        });
        h.send(|w| {
            w.raw(b"z\0\0\0\x04");
        });
    });
    let errors: Vec<String> = after_login(got)
        .into_iter()
        .filter(|l| l.starts_with('E'))
        .collect();
    assert_eq!(
        errors,
        [
            "E 08P01 bind message supplies 1 parameters, but prepared statement \"\" requires 2",
            "E 08P01 invalid string in message",
            "E 08P01 invalid DESCRIBE message subtype 88",
            "E 08P01 invalid message format",
            "E FATAL 08P01 invalid frontend message type 122",
        ]
    );
}

// ===== API misuse ==============================================================================

/// Runs `scenario` with and without the misuse; the output bytes must be identical (the misuse
/// left the output untouched), and the misuse transcript is returned.
fn misuse(scenario: impl Fn(&mut Run<'_>, bool)) -> Vec<String> {
    let with = check(|h| scenario(h, true));
    let without = check(|h| scenario(h, false));
    assert_eq!(with.raw, without.raw, "the misuse changed the output");
    with.transcript
}

/// Calls `f` and notes its error, checking that the buffered output did not change.
fn try_misuse<T: std::fmt::Debug>(
    conn: &mut Conn,
    db: &mut Db,
    f: impl FnOnce(&mut Conn) -> Result<T, ApiError>,
) {
    let before = conn.output_len();
    let r = f(conn);
    assert_eq!(conn.output_len(), before, "output changed by {r:?}");
    match r {
        Ok(v) => db.log.push(format!("! unexpectedly Ok({v:?})")),
        Err(e) => db.log.push(format!("! {e:?}")),
    }
}

#[test]
fn api_misuse_in_a_simple_query_leaves_the_output_alone() {
    let got = misuse(|h, on| {
        h.login();
        h.hook(move |conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            if on {
                try_misuse(conn, db, |c| c.data_row([Some(&b"1"[..])]));
                try_misuse(conn, db, |c| {
                    c.parse_complete(vec![], None, transcript::Stmt::Empty)
                });
                try_misuse(conn, db, |c| c.portal_suspended());
                try_misuse(conn, db, |c| c.function_result(None));
                try_misuse(conn, db, |c| c.copy_done());
            }
            let r =
                conn.row_description(&[Column::new("a", oid::INT4), Column::new("b", oid::TEXT)]);
            db.ok(r);
            if on {
                try_misuse(conn, db, |c| c.data_row([Some(&b"1"[..])]));
                try_misuse(conn, db, |c| c.data_row([Some(&b"1"[..]), None, None]));
                try_misuse(conn, db, |c| {
                    c.write_row(|r| {
                        r.int(1)?;
                        r.null()?;
                        r.null()
                    })
                });
                try_misuse(conn, db, |c| c.write_row(|r| r.int(1)));
            }
            let r = conn.write_row(|r| {
                r.int(1)?;
                r.null()
            });
            db.ok(r);
            let r = conn.command_complete("SELECT 1");
            db.ok(r);
            if on {
                try_misuse(conn, db, |c| c.data_row([Some(&b"1"[..]), None]));
            }
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
            if on {
                try_misuse(conn, db, |c| c.command_complete("SELECT 1"));
                try_misuse(conn, db, |c| c.query_done(TransactionStatus::Idle));
                try_misuse(conn, db, |c| {
                    c.error(PgError::new(SqlState::SYNTAX_ERROR, "x"))
                });
                try_misuse(conn, db, |c| {
                    c.start_copy_in(pgproto::message::Format::Text, &[])
                });
                try_misuse(conn, db, |c| c.authenticate(Auth::Trust));
            }
            true
        });
        h.send(|w| {
            w.query("SELECT a, b FROM t");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT a, b FROM t",
            "! RowWithoutDescription",
            "! Unexpected { answer: \"parse_complete\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"portal_suspended\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"function_result\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"copy_done\", waiting: \"results of a simple query\" }",
            "! ColumnCount { expected: 2, got: 1 }",
            "! ColumnCount { expected: 2, got: 3 }",
            "! ColumnCount { expected: 2, got: 3 }",
            "! ColumnCount { expected: 2, got: 1 }",
            "! RowWithoutDescription",
            "! Unexpected { answer: \"command_complete\", waiting: \"client messages\" }",
            "! Unexpected { answer: \"query_done\", waiting: \"client messages\" }",
            "! Unexpected { answer: \"error\", waiting: \"client messages\" }",
            "! Unexpected { answer: \"start_copy_in\", waiting: \"client messages\" }",
            "! Unexpected { answer: \"authenticate\", waiting: \"client messages\" }",
            "T a:int4 b:text",
            "D [1,NULL]",
            "C SELECT 1",
            "Z I",
        ]
    );
}

#[test]
fn api_misuse_in_the_extended_protocol_leaves_the_output_alone() {
    let got = misuse(|h, on| {
        h.login();
        h.hook(move |conn, ev, db| {
            match ev {
                Event::Parse { .. } if on => {
                    try_misuse(conn, db, |c| c.command_complete("SELECT 1"));
                    try_misuse(conn, db, |c| c.row_description(&[]));
                    try_misuse(conn, db, |c| c.query_done(TransactionStatus::Idle));
                }
                Event::Execute { max_rows: 2, .. } => {
                    if on {
                        try_misuse(conn, db, |c| c.portal_suspended());
                        try_misuse(conn, db, |c| {
                            c.parse_complete(vec![], None, transcript::Stmt::Empty)
                        });
                        try_misuse(conn, db, |c| {
                            c.row_description(&[Column::new("x", oid::INT4)])
                        });
                    }
                    for v in [b"1", b"2"] {
                        let r = conn.data_row([Some(&v[..])]);
                        db.ok(r);
                    }
                    if on {
                        try_misuse(conn, db, |c| c.data_row([Some(&b"3"[..])]));
                        try_misuse(conn, db, |c| c.write_row(|r| r.int(3)));
                        try_misuse(conn, db, |c| c.empty_query());
                    }
                    if let Some(p) = conn.portal_mut(b"") {
                        p.data = Some(2);
                    }
                    let r = conn.portal_suspended();
                    db.ok(r);
                    return true;
                }
                Event::Execute { max_rows: 0, .. } if on => {
                    try_misuse(conn, db, |c| c.portal_suspended());
                }
                _ => {}
            }
            false
        });
        h.send(|w| {
            w.parse("", "SELECT generate_series(1, 5)", &[])
                .bind("", "", &[])
                .execute("", 2)
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" SELECT generate_series(1, 5) []",
            "! Unexpected { answer: \"command_complete\", waiting: \"an answer to Parse\" }",
            "! Unexpected { answer: \"row_description\", waiting: \"an answer to Parse\" }",
            "! Unexpected { answer: \"query_done\", waiting: \"an answer to Parse\" }",
            "> Execute \"\" 2",
            "! NotSuspended { limit: 2, sent: 0 }",
            "! Unexpected { answer: \"parse_complete\", waiting: \"results of Execute\" }",
            "! Unexpected { answer: \"row_description\", waiting: \"results of Execute\" }",
            "! RowLimit(2)",
            "! RowLimit(2)",
            "! Unexpected { answer: \"empty_query\", waiting: \"results of Execute\" }",
            "> Execute \"\" 0",
            "! NotSuspended { limit: 0, sent: 0 }",
            "1",
            "2",
            "D [1]",
            "D [2]",
            "s",
            "D [3]",
            "D [4]",
            "D [5]",
            "C SELECT 3",
            "Z I",
        ]
    );
}

/// After a RowDescription the statement must end with CommandComplete (or an error): an
/// EmptyQueryResponse, a COPY response or ReadyForQuery in the middle of a result set is a
/// broken stream for the client.
#[test]
fn a_result_set_must_be_completed() {
    let got = misuse(|h, on| {
        h.login();
        h.hook(move |conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            let r = conn.row_description(&[Column::new("a", oid::INT4)]);
            db.ok(r);
            if on {
                try_misuse(conn, db, |c| c.empty_query());
                try_misuse(conn, db, |c| {
                    c.start_copy_in(pgproto::message::Format::Text, &[])
                });
                try_misuse(conn, db, |c| {
                    c.start_copy_out(pgproto::message::Format::Text, &[])
                });
                try_misuse(conn, db, |c| c.query_done(TransactionStatus::Idle));
            }
            let r = conn.command_complete("SELECT 0");
            db.ok(r);
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
            true
        });
        h.send(|w| {
            w.query("SELECT a FROM t");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT a FROM t",
            "! Unexpected { answer: \"empty_query\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"start_copy_in\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"start_copy_out\", waiting: \"results of a simple query\" }",
            "! Unexpected { answer: \"query_done\", waiting: \"results of a simple query\" }",
            "T a:int4",
            "C SELECT 0",
            "Z I",
        ]
    );
}

/// Answers apply to the oldest unanswered request. When the client pipelined a second Execute,
/// a second answer to the first one is applied to the second, whose event the application has
/// not even polled yet: whether the mistake is caught depends on how the bytes arrived.
#[test]
fn an_extra_answer_does_not_answer_the_next_pipelined_request() {
    let got = t(|h| {
        h.login();
        h.hook(|conn, ev, db| {
            let Event::Execute { .. } = ev else {
                return false;
            };
            let r = conn.command_complete("INSERT 0 1");
            db.ok(r);
            let r = conn.command_complete("INSERT 0 1");
            db.ok(r);
            true
        });
        h.send(|w| {
            w.parse("", "INSERT INTO t VALUES (1)", &[])
                .bind("", "", &[])
                .execute("", 0)
                .execute("", 0)
                .sync();
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Parse \"\" INSERT INTO t VALUES (1) []",
            "> Execute \"\" 0",
            "! Unexpected { answer: \"command_complete\", waiting: \"client messages\" }",
            "> Execute \"\" 0",
            "! Unexpected { answer: \"command_complete\", waiting: \"client messages\" }",
            "1",
            "2",
            "C INSERT 0 1",
            "C INSERT 0 1",
            "Z I",
        ]
    );
}

#[test]
fn answers_after_the_connection_closed_are_refused() {
    let got = misuse(|h, on| {
        h.login();
        h.db.defer = true;
        h.send(|w| {
            w.query("SELECT 1");
        });
        h.eof();
        h.app(move |conn, db| {
            if on {
                try_misuse(conn, db, |c| c.row_description(&[]));
                try_misuse(conn, db, |c| c.data_row([Some(&b"1"[..])]));
                try_misuse(conn, db, |c| c.command_complete("SELECT 1"));
                try_misuse(conn, db, |c| c.query_done(TransactionStatus::Idle));
                try_misuse(conn, db, |c| {
                    c.error(PgError::new(SqlState::SYNTAX_ERROR, "x"))
                });
                try_misuse(conn, db, |c| c.notice(&PgError::notice("x")));
                try_misuse(conn, db, |c| c.notify(1, "ch", ""));
                try_misuse(conn, db, |c| c.accept_tls());
            }
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT 1",
            "> Terminated: client closed",
            "! Closed",
            "! Closed",
            "! Closed",
            "! Closed",
            "! Closed",
            "! Closed",
            "! Closed",
            "! Closed",
        ]
    );
}

// ===== backpressure ============================================================================

#[test]
fn output_full_tells_the_application_to_wait_for_the_driver() {
    let got = t(|h| {
        h.config().max_output = 100;
        h.config().flush_threshold = 60;
        h.login();
        h.hook(|conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            let r = conn.row_description(&[Column::new("n", oid::INT4)]);
            db.ok(r);
            let mut n = 0;
            while !conn.output_full() {
                n += 1;
                let r = conn.data_row([Some(n.to_string().as_bytes())]);
                db.ok(r);
            }
            db.log.push(format!(
                "! full after {n} rows, {} bytes buffered",
                conn.output_len()
            ));
            true
        });
        h.send(|w| {
            w.query("SELECT n FROM big");
        });
        h.app(|conn, db| {
            db.log.push(format!(
                "! after the driver wrote: {} bytes, full={}",
                conn.output_len(),
                conn.output_full()
            ));
            let r = conn.command_complete("SELECT 7");
            db.ok(r);
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
        });
    });
    let got = after_login(got);
    assert_eq!(
        got[..3],
        [
            "> Query SELECT n FROM big",
            "! full after 7 rows, 111 bytes buffered",
            "T n:int4"
        ]
    );
    assert_eq!(
        got[got.len() - 4..],
        [
            "D [7]",
            "! after the driver wrote: 0 bytes, full=false",
            "C SELECT 7",
            "Z I"
        ]
    );
}

#[test]
fn rows_become_transmittable_once_the_flush_threshold_is_passed() {
    let got = t(|h| {
        h.config().flush_threshold = 50;
        h.login();
        h.hook(|conn, ev, db| {
            let Event::Query { .. } = ev else {
                return false;
            };
            let r = conn.row_description(&[Column::new("n", oid::INT4)]);
            db.ok(r);
            for n in 1..=6 {
                let r = conn.data_row([Some(n.to_string().as_bytes())]);
                db.ok(r);
                let sent = db.transmit(conn);
                db.log.push(format!(
                    "! row {n}: {sent} bytes transmittable, {} buffered",
                    conn.output_len()
                ));
            }
            let r = conn.command_complete("SELECT 6");
            db.ok(r);
            let sent = db.transmit(conn);
            db.log
                .push(format!("! completed: {sent} bytes transmittable"));
            let r = conn.query_done(TransactionStatus::Idle);
            db.ok(r);
            true
        });
        h.send(|w| {
            w.query("SELECT n FROM t");
        });
    });
    assert_eq!(
        after_login(got),
        [
            "> Query SELECT n FROM t",
            "! row 1: 0 bytes transmittable, 39 buffered",
            "! row 2: 51 bytes transmittable, 0 buffered",
            "! row 3: 0 bytes transmittable, 12 buffered",
            "! row 4: 0 bytes transmittable, 24 buffered",
            "! row 5: 0 bytes transmittable, 36 buffered",
            "! row 6: 0 bytes transmittable, 48 buffered",
            "! completed: 62 bytes transmittable",
            "T n:int4",
            "D [1]",
            "D [2]",
            "D [3]",
            "D [4]",
            "D [5]",
            "D [6]",
            "C SELECT 6",
            "Z I",
        ]
    );
}
