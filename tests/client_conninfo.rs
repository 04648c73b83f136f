//! libpq connection strings: a table of inputs in both forms with their exact results, and
//! round trips of generated values through the keyword form and the URI form.

use std::time::Duration;

use pgproto::auth::ChannelBindingPolicy;
use pgproto::client::{ConnInfo, ConnInfoError, ConnInfoErrorKind, SslMode, SslNegotiation};
use pgproto::message::ProtocolVersion;
use proptest::prelude::*;

const V3_0: ProtocolVersion = ProtocolVersion::V3_0;
const V3_2: ProtocolVersion = ProtocolVersion::V3_2;

struct Case {
    input: &'static str,
    expected: Result<ConnInfo, ConnInfoError>,
}

/// An input that parses to the defaults changed by `edit`.
fn ok(input: &'static str, edit: impl FnOnce(&mut ConnInfo)) -> Case {
    let mut info = ConnInfo::default();
    edit(&mut info);
    Case {
        input,
        expected: Ok(info),
    }
}

/// An input rejected with `kind` at byte `position`.
fn err(input: &'static str, kind: ConnInfoErrorKind, position: usize) -> Case {
    Case {
        input,
        expected: Err(ConnInfoError { kind, position }),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn others(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn invalid(keyword: &'static str, value: &str) -> ConnInfoErrorKind {
    ConnInfoErrorKind::InvalidValue {
        keyword,
        value: value.to_owned(),
    }
}

fn not_integer(keyword: &'static str, value: &str) -> ConnInfoErrorKind {
    ConnInfoErrorKind::InvalidInteger {
        keyword,
        value: value.to_owned(),
    }
}

fn unknown(keyword: &str) -> ConnInfoErrorKind {
    ConnInfoErrorKind::UnknownOption {
        keyword: keyword.to_owned(),
    }
}

fn cases() -> Vec<Case> {
    use ConnInfoErrorKind as K;
    vec![
        // --- keyword form: syntax ---
        ok("", |_| {}),
        ok(" \t\n\r ", |_| {}),
        ok(
            r"host=localhost port=5432 dbname=mydb user='a b' password='it\'s'",
            |c| {
                c.dbname = s("mydb");
                c.user = s("a b");
                c.password = s("it's");
            },
        ),
        ok("user = alice\tdbname\n=\r db", |c| {
            c.user = s("alice");
            c.dbname = s("db");
        }),
        ok(r"password=a\ b\\c\'d", |c| c.password = s(r"a b\c'd")),
        ok(r"password='a b\\c\'d'", |c| c.password = s(r"a b\c'd")),
        ok("password=it's", |c| c.password = s("it's")),
        ok("host='x'port=5", |c| {
            c.hosts = strings(&["x"]);
            c.ports = vec![5];
        }),
        // libpq skips whitespace after `=` even when a keyword follows.
        ok("host= port=5432", |c| c.hosts = strings(&["port=5432"])),
        ok("application_name='' options='' user=u", |c| c.user = s("u")),
        ok("user=a user=b", |c| c.user = s("b")),
        ok(r"host=a\", |c| c.hosts = strings(&["a"])),
        ok("user='é ü' dbname=数据", |c| {
            c.user = s("é ü");
            c.dbname = s("数据");
        }),
        ok("host=a=b", |c| c.hosts = strings(&["a=b"])),
        // --- hosts and ports ---
        ok("host=a,b,c port=1,2,3", |c| {
            c.hosts = strings(&["a", "b", "c"]);
            c.ports = vec![1, 2, 3];
        }),
        ok("host=a,b port=6000", |c| {
            c.hosts = strings(&["a", "b"]);
            c.ports = vec![6000, 6000];
        }),
        ok("host=a,,b port=1,,3", |c| {
            c.hosts = strings(&["a", "localhost", "b"]);
            c.ports = vec![1, 5432, 3];
        }),
        ok("host=/var/run/postgresql,@pg port=", |c| {
            c.hosts = strings(&["/var/run/postgresql", "@pg"]);
            c.ports = vec![5432, 5432];
        }),
        ok("port=' +5433 '", |c| c.ports = vec![5433]),
        // --- every sslmode, sslnegotiation and channel_binding ---
        ok("sslmode=disable", |c| c.sslmode = SslMode::Disable),
        ok("sslmode=allow", |c| c.sslmode = SslMode::Allow),
        ok("sslmode=prefer", |c| c.sslmode = SslMode::Prefer),
        ok("sslmode=require", |c| c.sslmode = SslMode::Require),
        ok("sslmode=verify-ca", |c| c.sslmode = SslMode::VerifyCa),
        ok("sslmode=verify-full", |c| c.sslmode = SslMode::VerifyFull),
        ok("sslnegotiation=postgres", |c| {
            c.sslnegotiation = SslNegotiation::Postgres
        }),
        ok("sslmode=require sslnegotiation=direct", |c| {
            c.sslmode = SslMode::Require;
            c.sslnegotiation = SslNegotiation::Direct;
        }),
        ok("sslnegotiation=direct sslmode=verify-full", |c| {
            c.sslmode = SslMode::VerifyFull;
            c.sslnegotiation = SslNegotiation::Direct;
        }),
        ok("channel_binding=disable", |c| {
            c.channel_binding = ChannelBindingPolicy::Disable
        }),
        ok("channel_binding=prefer", |c| {
            c.channel_binding = ChannelBindingPolicy::Prefer
        }),
        ok("channel_binding=require", |c| {
            c.channel_binding = ChannelBindingPolicy::Require
        }),
        // --- protocol versions ---
        ok("min_protocol_version=3.2", |c| {
            c.min_protocol_version = V3_2;
            c.max_protocol_version = V3_2;
        }),
        ok("max_protocol_version=latest", |c| {
            c.max_protocol_version = V3_2
        }),
        ok(
            "min_protocol_version=latest max_protocol_version=3.2",
            |c| {
                c.min_protocol_version = V3_2;
                c.max_protocol_version = V3_2;
            },
        ),
        ok("min_protocol_version=3.0 max_protocol_version=3.0", |c| {
            c.min_protocol_version = V3_0;
            c.max_protocol_version = V3_0;
        }),
        // --- replication ---
        ok("replication=true", |c| c.replication = s("true")),
        ok("replication=ON", |c| c.replication = s("ON")),
        ok("replication=Database", |c| c.replication = s("Database")),
        ok("replication=0", |c| c.replication = s("0")),
        ok("replication=''", |_| {}),
        // --- connect_timeout ---
        ok("connect_timeout=10", |c| {
            c.connect_timeout = Some(Duration::from_secs(10))
        }),
        ok("connect_timeout=1", |c| {
            c.connect_timeout = Some(Duration::from_secs(2))
        }),
        ok("connect_timeout=0", |_| {}),
        ok("connect_timeout=-5", |_| {}),
        // --- options kept for the driver ---
        ok(
            "sslrootcert=/etc/ca.pem target_session_attrs=read-write hostaddr=10.0.0.1 \
             sslrootcert=/other.pem keepalives=",
            |c| {
                c.other = others(&[
                    ("sslrootcert", "/other.pem"),
                    ("target_session_attrs", "read-write"),
                    ("hostaddr", "10.0.0.1"),
                ])
            },
        ),
        ok("sslrootcert=system", |c| {
            c.sslmode = SslMode::VerifyFull;
            c.other = others(&[("sslrootcert", "system")]);
        }),
        ok("sslrootcert=system sslmode=verify-full", |c| {
            c.sslmode = SslMode::VerifyFull;
            c.other = others(&[("sslrootcert", "system")]);
        }),
        ok("requiressl=1", |c| c.sslmode = SslMode::Require),
        ok("sslmode=require requiressl=0", |c| {
            c.sslmode = SslMode::Prefer
        }),
        // --- URI form ---
        ok("postgres://", |_| {}),
        ok("postgresql://", |_| {}),
        ok(
            "postgresql://alice:s%40cret@db.example.com:5433/my%20db?sslmode=require&application_name=x",
            |c| {
                c.user = s("alice");
                c.password = s("s@cret");
                c.hosts = strings(&["db.example.com"]);
                c.ports = vec![5433];
                c.dbname = s("my db");
                c.sslmode = SslMode::Require;
                c.application_name = s("x");
            },
        ),
        ok("postgresql://[::1]:5433/db", |c| {
            c.hosts = strings(&["::1"]);
            c.ports = vec![5433];
            c.dbname = s("db");
        }),
        ok("postgresql://[fe80::1%25eth0]/db", |c| {
            c.hosts = strings(&["fe80::1%eth0"]);
            c.dbname = s("db");
        }),
        ok("postgresql://h1:5433,h2,[::1]:5435/db", |c| {
            c.hosts = strings(&["h1", "h2", "::1"]);
            c.ports = vec![5433, 5432, 5435];
            c.dbname = s("db");
        }),
        ok("postgresql://%2Fvar%2Frun%2Fpostgresql/db", |c| {
            c.hosts = strings(&["/var/run/postgresql"]);
            c.dbname = s("db");
        }),
        ok("postgres:///db?host=/tmp", |c| {
            c.hosts = strings(&["/tmp"]);
            c.dbname = s("db");
        }),
        ok("postgres://h:1/db?host=other&port=7&dbname=d2", |c| {
            c.hosts = strings(&["other"]);
            c.ports = vec![7];
            c.dbname = s("d2");
        }),
        ok("postgres://u:@h", |c| {
            c.user = s("u");
            c.hosts = strings(&["h"]);
        }),
        ok("postgres://@h:/", |c| c.hosts = strings(&["h"])),
        ok("postgres://u%3Ax:p%3Ay@h", |c| {
            c.user = s("u:x");
            c.password = s("p:y");
            c.hosts = strings(&["h"]);
        }),
        ok("postgres://u:p:q@h", |c| {
            c.user = s("u");
            c.password = s("p:q");
            c.hosts = strings(&["h"]);
        }),
        ok("postgres://h,/", |c| {
            c.hosts = strings(&["h", "localhost"]);
            c.ports = vec![5432, 5432];
        }),
        ok("postgres://h?ssl=true", |c| {
            c.hosts = strings(&["h"]);
            c.sslmode = SslMode::Require;
        }),
        ok("postgres://h/a/b", |c| {
            c.hosts = strings(&["h"]);
            c.dbname = s("a/b");
        }),
        // `+` is not a space in libpq's URIs.
        ok("postgres://h?application_name=a+b", |c| {
            c.hosts = strings(&["h"]);
            c.application_name = s("a+b");
        }),
        ok("postgres://h?options=-c%20search_path%3Dx", |c| {
            c.hosts = strings(&["h"]);
            c.options = s("-c search_path=x");
        }),
        ok("postgres://h?%61pplication_name=%E2%9C%93", |c| {
            c.hosts = strings(&["h"]);
            c.application_name = s("✓");
        }),
        ok("postgres://h?sslmode=disable&", |c| {
            c.hosts = strings(&["h"]);
            c.sslmode = SslMode::Disable;
        }),
        // An `@` in the query is not a userspec.
        ok("postgres://h?application_name=a@b", |c| {
            c.hosts = strings(&["h"]);
            c.application_name = s("a@b");
        }),
        ok(
            "postgres://h?channel_binding=require&min_protocol_version=latest&replication=database\
             &connect_timeout=5&target_session_attrs=any&sslnegotiation=direct&sslmode=verify-ca",
            |c| {
                c.hosts = strings(&["h"]);
                c.channel_binding = ChannelBindingPolicy::Require;
                c.min_protocol_version = V3_2;
                c.max_protocol_version = V3_2;
                c.replication = s("database");
                c.connect_timeout = Some(Duration::from_secs(5));
                c.other = others(&[("target_session_attrs", "any")]);
                c.sslnegotiation = SslNegotiation::Direct;
                c.sslmode = SslMode::VerifyCa;
            },
        ),
        // --- keyword-form errors ---
        err("host='abc", K::UnterminatedQuote, 5),
        err(r"host='abc\'", K::UnterminatedQuote, 5),
        err(
            "host",
            K::MissingEquals {
                keyword: "host".into(),
            },
            0,
        ),
        err(
            "dbname=x host localhost",
            K::MissingEquals {
                keyword: "host".into(),
            },
            9,
        ),
        err("hots=x", unknown("hots"), 0),
        err("user=a Host=x", unknown("Host"), 7),
        err("=x", unknown(""), 0),
        err(
            "POSTGRES://h",
            K::MissingEquals {
                keyword: "POSTGRES://h".into(),
            },
            0,
        ),
        err("user=a\0b", K::ZeroByte, 6),
        // --- value errors ---
        err("port=abc", not_integer("port", "abc"), 5),
        err("port=0", K::InvalidPort { value: "0".into() }, 5),
        err(
            "port=65536",
            K::InvalidPort {
                value: "65536".into(),
            },
            5,
        ),
        err("port=99999999999", not_integer("port", "99999999999"), 5),
        err("host=a,b port=1,x", not_integer("port", "x"), 14),
        err(
            "host=a,b port=1,2,3",
            K::PortCountMismatch { ports: 3, hosts: 2 },
            14,
        ),
        err("port=1,", K::PortCountMismatch { ports: 2, hosts: 1 }, 5),
        err("sslmode=Require", invalid("sslmode", "Require"), 8),
        err("sslmode=", invalid("sslmode", ""), 8),
        err(
            "sslnegotiation=direct",
            K::WeakSslModeForDirect {
                sslmode: SslMode::Prefer,
            },
            15,
        ),
        err(
            "sslmode=allow sslnegotiation=direct",
            K::WeakSslModeForDirect {
                sslmode: SslMode::Allow,
            },
            29,
        ),
        err("sslnegotiation=tls", invalid("sslnegotiation", "tls"), 15),
        err("channel_binding=yes", invalid("channel_binding", "yes"), 16),
        err(
            "min_protocol_version=3.1",
            invalid("min_protocol_version", "3.1"),
            21,
        ),
        err(
            "max_protocol_version=4",
            invalid("max_protocol_version", "4"),
            21,
        ),
        err(
            "min_protocol_version=3.2 max_protocol_version=3.0",
            K::ProtocolVersionRange,
            21,
        ),
        err(
            "connect_timeout=soon",
            not_integer("connect_timeout", "soon"),
            16,
        ),
        err("replication=maybe", invalid("replication", "maybe"), 12),
        err(
            "sslrootcert=system sslmode=require",
            K::WeakSslModeForSystemRoot {
                sslmode: SslMode::Require,
            },
            27,
        ),
        // --- URI errors ---
        err(
            "postgres://h/db?sslmode=bogus",
            invalid("sslmode", "bogus"),
            24,
        ),
        err(
            "postgres://h%2",
            K::InvalidPercentEncoding {
                component: "h%2".into(),
            },
            12,
        ),
        err(
            "postgres://h%zz/db",
            K::InvalidPercentEncoding {
                component: "h%zz".into(),
            },
            12,
        ),
        err(
            "postgres://h/%00",
            K::PercentEncodedZero {
                component: "%00".into(),
            },
            13,
        ),
        err(
            "postgres://%E9",
            K::NotUtf8 {
                component: "%E9".into(),
            },
            11,
        ),
        err("postgres://h?bogus=1", unknown("bogus"), 13),
        err("postgres://h?ssl=false", unknown("ssl"), 13),
        err(
            "postgres://h?x",
            K::UriMissingEquals {
                parameter: "x".into(),
            },
            13,
        ),
        err(
            "postgres://h?&",
            K::UriMissingEquals {
                parameter: "".into(),
            },
            13,
        ),
        err(
            "postgres://h?a=b=c",
            K::UriExtraEquals {
                parameter: "a".into(),
            },
            16,
        ),
        err("postgres://[::1", K::UnterminatedIpv6, 11),
        err("postgres://[]/db", K::EmptyIpv6, 11),
        err(
            "postgres://[::1]x",
            K::UnexpectedCharacter { found: 'x' },
            16,
        ),
        err(
            "postgres://h/my db",
            K::UnexpectedSpace {
                component: "my db".into(),
            },
            15,
        ),
        err("postgres://h:5x", not_integer("port", "5x"), 13),
        err(
            "postgresql://h1,h2,h3?port=1,2",
            K::PortCountMismatch { ports: 2, hosts: 3 },
            27,
        ),
    ]
}

#[test]
fn table() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = ConnInfo::parse(case.input);
        if got != case.expected {
            failures.push(format!(
                "{:?}\n  expected {:?}\n  got      {:?}",
                case.input, case.expected, got
            ));
        }
        // FromStr is the same function.
        assert_eq!(case.input.parse::<ConnInfo>(), got);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn error_messages_follow_libpq() {
    let message = |s: &str| ConnInfo::parse(s).unwrap_err().to_string();
    assert_eq!(
        message("x=1"),
        "invalid connection option \"x\" (at byte 0)"
    );
    assert_eq!(
        message("host=a port=1,2,3"),
        "could not match 3 port numbers to 1 hosts (at byte 12)"
    );
    assert_eq!(
        message("sslmode=on"),
        "invalid sslmode value: \"on\" (at byte 8)"
    );
    assert_eq!(
        message("user"),
        "missing \"=\" after \"user\" in connection info string (at byte 0)"
    );
    assert_eq!(
        message("sslnegotiation=direct"),
        "weak sslmode \"prefer\" may not be used with sslnegotiation=direct \
         (use \"require\", \"verify-ca\", or \"verify-full\") (at byte 15)"
    );

    let e = ConnInfo::parse("dbname=x sslmode=nope").unwrap_err();
    assert_eq!(e.keyword(), Some("sslmode"));
    assert_eq!(ConnInfo::parse("host='x").unwrap_err().keyword(), None);
}

#[test]
fn helpers() {
    let c = ConnInfo::parse(
        "host=a,/tmp port=1 user=alice application_name='' fallback_application_name=fb \
         client_encoding=UTF8 options='-c x=1' replication=database",
    )
    .unwrap();
    assert_eq!(c.addresses().collect::<Vec<_>>(), [("a", 1), ("/tmp", 1)]);
    assert!(!ConnInfo::is_unix_socket(&c.hosts[0]));
    assert!(ConnInfo::is_unix_socket(&c.hosts[1]));
    assert_eq!(c.effective_dbname(), Some("alice"));
    assert_eq!(c.effective_application_name(), Some("fb"));
    assert_eq!(
        c.startup_parameters(),
        [
            ("user", "alice"),
            ("database", "alice"),
            ("replication", "database"),
            ("options", "-c x=1"),
            ("application_name", "fb"),
            ("client_encoding", "UTF8"),
        ]
    );

    let c = ConnInfo::parse("dbname=d client_encoding=auto").unwrap();
    assert_eq!(c.effective_dbname(), Some("d"));
    assert_eq!(c.startup_parameters(), [("database", "d")]);

    assert_eq!(SslMode::from_name("verify-ca"), Some(SslMode::VerifyCa));
    assert_eq!(SslMode::VerifyFull.to_string(), "verify-full");
    assert!(SslMode::Require.requires_tls() && !SslMode::Prefer.requires_tls());
    assert_eq!(
        SslNegotiation::from_name("direct"),
        Some(SslNegotiation::Direct)
    );
    assert_eq!(SslNegotiation::Postgres.as_str(), "postgres");
}

#[test]
fn debug_hides_secrets() {
    let c = ConnInfo::parse(
        "user=u password=hunter2 sslpassword=keypass oauth_client_secret=oauthpass sslcert=/c.pem",
    )
    .unwrap();
    let shown = format!("{c:?}");
    for secret in ["hunter2", "keypass", "oauthpass"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        shown.contains("/c.pem") && shown.contains("<redacted>"),
        "{shown}"
    );
}

// --- round trips ---------------------------------------------------------------------------

/// Any text without zero bytes; the second alternative leans on the characters the two forms
/// give meaning to.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00]{1,12}", "[ '\\\\=,@:/?&#%\\[\\]a-c\t]{1,12}",]
}

fn host() -> impl Strategy<Value = String> {
    text().prop_map(|h| h.replace(',', "."))
}

fn opt(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(s)
}

fn channel_binding_name(p: ChannelBindingPolicy) -> &'static str {
    match p {
        ChannelBindingPolicy::Disable => "disable",
        ChannelBindingPolicy::Prefer => "prefer",
        ChannelBindingPolicy::Require => "require",
    }
}

const SSL_MODES: [SslMode; 6] = [
    SslMode::Disable,
    SslMode::Allow,
    SslMode::Prefer,
    SslMode::Require,
    SslMode::VerifyCa,
    SslMode::VerifyFull,
];

fn conninfo() -> impl Strategy<Value = ConnInfo> {
    let addresses = prop::collection::vec(host(), 1..4).prop_flat_map(|hosts| {
        let n = hosts.len();
        (Just(hosts), prop::collection::vec(1..=u16::MAX, n))
    });
    let strings = (
        opt(text()),
        opt(text()),
        opt(text()),
        opt(text()),
        opt(text()),
    );
    let replication = opt((
        prop::sample::select(vec![
            "true", "on", "yes", "1", "false", "off", "no", "0", "database",
        ]),
        any::<bool>(),
    )
        .prop_map(|(v, upper)| {
            if upper {
                v.to_uppercase()
            } else {
                v.to_owned()
            }
        }));
    let tls = (
        prop::sample::select(SSL_MODES.to_vec()),
        any::<bool>(),
        prop::sample::select(vec![
            ChannelBindingPolicy::Disable,
            ChannelBindingPolicy::Prefer,
            ChannelBindingPolicy::Require,
        ]),
    );
    let versions = (any::<bool>(), any::<bool>()).prop_map(|(a, b)| {
        let v = |x: bool| if x { V3_2 } else { V3_0 };
        (v(a && b), v(a || b))
    });
    let timeout =
        proptest::option::of(2u64..=i32::MAX as u64).prop_map(|t| t.map(Duration::from_secs));
    let other = prop::sample::subsequence(ConnInfo::OTHER_KEYWORDS.to_vec(), 0..5)
        .prop_shuffle()
        .prop_flat_map(|keys| {
            let n = keys.len();
            (Just(keys), prop::collection::vec(text(), n))
        });
    (
        addresses,
        strings,
        replication,
        tls,
        versions,
        timeout,
        other,
    )
        .prop_map(
            |(
                (hosts, ports),
                (user, password, dbname, application_name, options),
                replication,
                (mut sslmode, direct, channel_binding),
                (min_protocol_version, max_protocol_version),
                connect_timeout,
                (keys, values),
            )| {
                let other: Vec<(String, String)> =
                    keys.iter().map(|k| k.to_string()).zip(values).collect();
                if other
                    .iter()
                    .any(|(k, v)| k == "sslrootcert" && v == "system")
                {
                    sslmode = SslMode::VerifyFull;
                }
                if direct && !sslmode.requires_tls() {
                    sslmode = SslMode::Require;
                }
                ConnInfo {
                    hosts,
                    ports,
                    user,
                    password,
                    dbname,
                    sslmode,
                    sslnegotiation: if direct {
                        SslNegotiation::Direct
                    } else {
                        SslNegotiation::Postgres
                    },
                    channel_binding,
                    application_name,
                    options,
                    replication,
                    min_protocol_version,
                    max_protocol_version,
                    connect_timeout,
                    other,
                }
            },
        )
}

/// Every option of `c` as keyword and value, lists joined with commas.
fn pairs(c: &ConnInfo) -> Vec<(String, String)> {
    let join = |v: Vec<String>| v.join(",");
    let mut out = vec![
        ("host".to_owned(), c.hosts.join(",")),
        (
            "port".to_owned(),
            join(c.ports.iter().map(u16::to_string).collect()),
        ),
    ];
    let optional = [
        ("user", &c.user),
        ("password", &c.password),
        ("dbname", &c.dbname),
        ("application_name", &c.application_name),
        ("options", &c.options),
        ("replication", &c.replication),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            out.push((k.to_owned(), v.clone()));
        }
    }
    let timeout = c.connect_timeout.map_or(0, |d| d.as_secs());
    out.extend([
        ("sslmode".to_owned(), c.sslmode.to_string()),
        ("sslnegotiation".to_owned(), c.sslnegotiation.to_string()),
        (
            "channel_binding".to_owned(),
            channel_binding_name(c.channel_binding).to_owned(),
        ),
        (
            "min_protocol_version".to_owned(),
            c.min_protocol_version.to_string(),
        ),
        (
            "max_protocol_version".to_owned(),
            c.max_protocol_version.to_string(),
        ),
        ("connect_timeout".to_owned(), timeout.to_string()),
    ]);
    out.extend(c.other.iter().cloned());
    out
}

/// The keyword form with every value quoted.
fn to_keyword_form(c: &ConnInfo) -> String {
    pairs(c)
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', r"\\").replace('\'', r"\'")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A URI with user, password, hosts, ports and dbname in the authority and path, or (when
/// `all_in_query`) everything in the query.
fn to_uri(c: &ConnInfo, all_in_query: bool) -> String {
    let mut uri = "postgresql://".to_owned();
    let mut query = Vec::new();
    for (k, v) in pairs(c) {
        let in_authority = ["user", "password", "host", "port", "dbname"].contains(&k.as_str());
        if all_in_query || !in_authority {
            query.push(format!("{}={}", encode(&k), encode(&v)));
        }
    }
    if !all_in_query {
        if c.user.is_some() || c.password.is_some() {
            uri += &encode(c.user.as_deref().unwrap_or(""));
            if let Some(p) = &c.password {
                uri += ":";
                uri += &encode(p);
            }
            uri += "@";
        }
        let hosts: Vec<String> = c
            .hosts
            .iter()
            .zip(&c.ports)
            .map(|(h, p)| format!("{}:{p}", encode(h)))
            .collect();
        uri += &hosts.join(",");
        if let Some(d) = &c.dbname {
            uri += "/";
            uri += &encode(d);
        }
    }
    uri += "?";
    uri += &query.join("&");
    uri
}

proptest! {
    #[test]
    fn keyword_form_round_trips(c in conninfo()) {
        let s = to_keyword_form(&c);
        prop_assert_eq!(ConnInfo::parse(&s), Ok(c), "{}", s);
    }

    #[test]
    fn uri_round_trips(c in conninfo(), all_in_query in any::<bool>()) {
        let s = to_uri(&c, all_in_query);
        prop_assert_eq!(ConnInfo::parse(&s), Ok(c), "{}", s);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,40}") {
        let _ = ConnInfo::parse(&s);
        let _ = ConnInfo::parse(&format!("postgresql://{s}"));
    }
}

#[test]
fn a_connection_string_configures_a_client() {
    use pgproto::auth::ChannelBindingPolicy;
    use pgproto::client::{Config, ConnInfo, SslMode, SslNegotiation};
    use pgproto::message::ProtocolVersion;
    let info = ConnInfo::parse(
        "postgresql://al%20ice:p%40ss@db.example:6543/shop?sslmode=require&sslnegotiation=direct&channel_binding=require&application_name=app&max_protocol_version=latest&replication=database",
    )
    .unwrap();
    let c = Config::from_conninfo(&info).unwrap();
    assert_eq!(c.user, "al ice");
    assert_eq!(c.password.as_deref(), Some(&b"p@ss"[..]));
    assert_eq!(c.database.as_deref(), Some("shop"));
    assert_eq!(c.application_name.as_deref(), Some("app"));
    assert_eq!(c.replication.as_deref(), Some("database"));
    assert_eq!(
        (c.ssl_mode, c.ssl_negotiation),
        (SslMode::Require, SslNegotiation::Direct)
    );
    assert_eq!(c.channel_binding, ChannelBindingPolicy::Require);
    assert_eq!(c.max_protocol, ProtocolVersion::V3_2);
    assert!(
        Config::from_conninfo(&ConnInfo::parse("host=x").unwrap()).is_err(),
        "no user"
    );
}
