//! The authentication exchanges against a real PostgreSQL 15 (scripts/pg.sh) and a real libpq
//! (psql): PostgreSQL's verifiers work with our server side, ours work with PostgreSQL, our
//! client logs in with every method (SCRAM-SHA-256-PLUS over TLS included), and a captured
//! psql exchange is reproduced byte for byte. Enabled by `--features interop`.
#![cfg(feature = "interop")]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::auth::{
    AuthError, ChannelBindingPolicy, OsRandom, ScramClient, ScramClientConfig, ScramSecret,
    ScramServer, ScramStep, StoredSecret, md5_response, tls_server_end_point,
};
use pgproto::message::{
    Authentication, BackendMessage, FrontendDecoder, FrontendMessage, FrontendPhase,
    PasswordMessage, ProtocolVersion, SaslInitialResponse, SaslResponse,
};
use support::replay::replay;
use support::{PgConn, pg15_port, pg15_tcp};

#[derive(Debug, PartialEq)]
enum LoginError {
    Server(SqlState),
    Client(AuthError),
}

impl From<AuthError> for LoginError {
    fn from(e: AuthError) -> LoginError {
        LoginError::Client(e)
    }
}

/// Logs in as `user`, answering whatever the server asks with our client side of the
/// exchange; returns the method used.
fn login<S: Read + Write>(
    c: &mut PgConn<S>,
    user: &str,
    password: &[u8],
    policy: ChannelBindingPolicy,
    cb: Option<Vec<u8>>,
) -> Result<String, LoginError> {
    c.startup(user, ProtocolVersion::V3_0, &[]);
    let mut scram: Option<ScramClient> = None;
    let mut method = "trust".to_string();
    loop {
        match c.recv() {
            BackendMessage::Authentication(Authentication::CleartextPassword) => {
                method = "password".into();
                PasswordMessage::write(&mut c.out, password).unwrap();
                c.flush();
            }
            BackendMessage::Authentication(Authentication::Md5Password { salt }) => {
                method = "md5".into();
                PasswordMessage::write(
                    &mut c.out,
                    md5_response(user.as_bytes(), password, salt).as_bytes(),
                )
                .unwrap();
                c.flush();
            }
            BackendMessage::Authentication(Authentication::Sasl(m)) => {
                let (client, mech, first) = ScramClient::start(
                    password,
                    m.iter(),
                    policy,
                    cb.clone(),
                    ScramClientConfig::default(),
                    &mut OsRandom,
                )?;
                method = mech.into();
                SaslInitialResponse::write(&mut c.out, mech, Some(&first)).unwrap();
                c.flush();
                scram = Some(client);
            }
            BackendMessage::Authentication(Authentication::SaslContinue(d)) => {
                let fin = scram
                    .as_mut()
                    .expect("SASL started")
                    .handle_server_first(&d)?;
                SaslResponse::write(&mut c.out, &fin).unwrap();
                c.flush();
            }
            BackendMessage::Authentication(Authentication::SaslFinal(d)) => {
                scram
                    .as_mut()
                    .expect("SASL started")
                    .handle_server_final(&d)?;
            }
            BackendMessage::Authentication(Authentication::Ok) => {
                if let Some(s) = &scram {
                    s.finish()?;
                }
            }
            BackendMessage::ReadyForQuery(_) => return Ok(method),
            BackendMessage::ErrorResponse(e) => {
                return Err(LoginError::Server(e.sqlstate().unwrap()));
            }
            BackendMessage::ParameterStatus(_) | BackendMessage::BackendKeyData(_) => {}
            other => panic!("unexpected during login: {other:?}"),
        }
    }
}

fn superuser() -> PgConn<TcpStream> {
    let mut c = PgConn::new(pg15_tcp());
    login(
        &mut c,
        "pgproto_trust",
        b"",
        ChannelBindingPolicy::Prefer,
        None,
    )
    .unwrap();
    c
}

fn rolpassword(su: &mut PgConn<TcpStream>, role: &str) -> String {
    su.query_value(&format!(
        "SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"
    ))
}

fn sql_literal(s: &str) -> String {
    format!(
        "E'{}'",
        s.replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('\u{7}', "\\007")
    )
}

/// Passwords whose SASLprep matters: mapped to nothing, NFKC, plain non-ASCII, and one with a
/// prohibited character, which both sides must then use raw.
const PASSWORDS: &[&str] = &[
    "I\u{AD}X",
    "\u{2168}",
    "Ångström-ü",
    "pass\u{200B}word",
    "bell\u{7}char",
    "plain",
];

#[test]
fn our_client_logs_in_with_every_method() {
    let cases = [
        ("pgproto_trust", &b""[..], "trust"),
        ("pgproto_password", b"cleartext-secret", "password"),
        ("pgproto_md5", b"md5-secret", "md5"),
        ("pgproto_scram", b"scram-secret", "SCRAM-SHA-256"),
    ];
    for (user, pw, method) in cases {
        let mut c = PgConn::new(pg15_tcp());
        assert_eq!(
            login(&mut c, user, pw, ChannelBindingPolicy::Prefer, None),
            Ok(method.to_string()),
            "{user}"
        );
        assert_eq!(c.query_value("SELECT current_user"), user);
        if user != "pgproto_trust" {
            let mut c = PgConn::new(pg15_tcp());
            let wrong = login(&mut c, user, b"wrong", ChannelBindingPolicy::Prefer, None);
            assert_eq!(
                wrong,
                Err(LoginError::Server(SqlState::INVALID_PASSWORD)),
                "{user}"
            );
        }
    }
    // channel_binding=require refuses a plain connection before sending anything secret.
    let mut c = PgConn::new(pg15_tcp());
    let r = login(
        &mut c,
        "pgproto_scram",
        b"scram-secret",
        ChannelBindingPolicy::Require,
        None,
    );
    assert!(
        matches!(
            r,
            Err(LoginError::Client(AuthError::ChannelBindingRequired(_)))
        ),
        "{r:?}"
    );
}

#[test]
fn verifiers_made_by_postgres_work_with_our_server_side() {
    let mut su = superuser();
    let scram = StoredSecret::parse(&rolpassword(&mut su, "pgproto_scram"));
    let StoredSecret::Scram(secret) = &scram else {
        panic!("expected a SCRAM verifier, got {scram:?}")
    };
    assert_eq!(secret.iterations, 4096);
    assert_eq!(secret.salt.len(), 16);
    assert_eq!(our_exchange(b"scram-secret", secret.clone()), Ok(()));
    assert_eq!(
        our_exchange(b"scram-secreT", secret.clone()),
        Err(AuthError::InvalidPassword)
    );
    assert_eq!(
        scram.verify_cleartext(b"pgproto_scram", b"scram-secret"),
        Ok(())
    );

    let md5 = StoredSecret::parse(&rolpassword(&mut su, "pgproto_md5"));
    assert_eq!(md5, StoredSecret::md5(b"pgproto_md5", b"md5-secret"));
    let resp = md5_response(b"pgproto_md5", b"md5-secret", [9, 8, 7, 6]);
    assert_eq!(
        md5.verify_md5(b"pgproto_md5", [9, 8, 7, 6], resp.as_bytes()),
        Ok(())
    );

    // PostgreSQL's SASLprep and ours agree: a verifier PostgreSQL made from each password
    // accepts our client's proof for the same password, through our server side.
    for (i, pw) in PASSWORDS.iter().enumerate() {
        let role = format!("pgproto_prep{i}");
        su.query(&format!("DROP ROLE IF EXISTS {role}"));
        su.query(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD {}",
            sql_literal(pw)
        ));
        let StoredSecret::Scram(secret) = StoredSecret::parse(&rolpassword(&mut su, &role)) else {
            panic!()
        };
        assert_eq!(
            our_exchange(pw.as_bytes(), secret),
            Ok(()),
            "password {pw:?}"
        );
        // And PostgreSQL accepts our client with it.
        let mut c = PgConn::new(pg15_tcp());
        assert_eq!(
            login(
                &mut c,
                &role,
                pw.as_bytes(),
                ChannelBindingPolicy::Prefer,
                None
            ),
            Ok("SCRAM-SHA-256".into())
        );
    }
}

/// Our client against our server.
fn our_exchange(password: &[u8], secret: ScramSecret) -> Result<(), AuthError> {
    let (mut client, mech, first) = ScramClient::start(
        password,
        [&b"SCRAM-SHA-256"[..]],
        ChannelBindingPolicy::Prefer,
        None,
        ScramClientConfig::default(),
        &mut OsRandom,
    )?;
    let mut server = ScramServer::new(mech.as_bytes(), secret, None, &mut OsRandom)?;
    let ScramStep::Continue(sf) = server.step(Some(&first))? else {
        panic!()
    };
    let fin = client.handle_server_first(&sf)?;
    let ScramStep::Success(sfin) = server.step(Some(&fin))? else {
        panic!()
    };
    client.handle_server_final(&sfin)?;
    client.finish()
}

#[test]
fn verifiers_we_generate_work_with_postgres_and_psql() {
    let mut su = superuser();
    for (i, pw) in PASSWORDS.iter().enumerate() {
        let role = format!("pgproto_gen{i}");
        let secret = ScramSecret::generate(pw.as_bytes(), &mut OsRandom)
            .unwrap()
            .to_string();
        su.query(&format!("DROP ROLE IF EXISTS {role}"));
        assert_eq!(
            support::names(&su.query(&format!("CREATE ROLE {role} LOGIN PASSWORD '{secret}'"))),
            ["C CREATE ROLE", "ZI"]
        );
        assert_eq!(
            rolpassword(&mut su, &role),
            secret,
            "PostgreSQL stores our verifier as given"
        );
        let mut c = PgConn::new(pg15_tcp());
        assert_eq!(
            login(
                &mut c,
                &role,
                pw.as_bytes(),
                ChannelBindingPolicy::Prefer,
                None
            ),
            Ok("SCRAM-SHA-256".into())
        );
        // libpq, through psql.
        let out = Command::new(psql())
            .arg(format!(
                "host=127.0.0.1 port={} user={role} dbname=postgres sslmode=disable",
                pg15_port()
            ))
            .args(["-XAtc", "SELECT current_user"])
            .env("PGPASSWORD", pw)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql as {role} with {pw:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), role);
    }
}

fn psql() -> &'static str {
    for p in ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"] {
        if std::path::Path::new(p).exists() {
            return p;
        }
    }
    panic!("psql is not installed: run the interop tests through scripts/test.sh");
}

/// Relays one psql session to PostgreSQL and returns the bytes of each direction.
fn capture_psql(user: &str, password: &str) -> (Vec<u8>, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let relay = std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(("127.0.0.1", pg15_port())).unwrap();
        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let up = std::thread::spawn(move || pump(client, server));
        let down = pump(s2, c2);
        (up.join().unwrap(), down)
    });
    let out = Command::new(psql())
        .arg(format!(
            "host=127.0.0.1 port={port} user={user} dbname=postgres sslmode=disable"
        ))
        .args(["-XAtc", "SELECT 1"])
        .env("PGPASSWORD", password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    relay.join().unwrap()
}

fn pump(mut from: TcpStream, mut to: TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
    seen
}

/// The four SCRAM messages of a captured session.
struct Capture {
    client_first: Vec<u8>,
    server_first: Vec<u8>,
    client_final: Vec<u8>,
    server_final: Vec<u8>,
}

fn parse_capture(frontend: &[u8], backend: &[u8]) -> Capture {
    let mut fe = BytesMut::from(frontend);
    let mut dec = FrontendDecoder::new();
    assert!(matches!(
        dec.decode(&mut fe).unwrap(),
        Some(FrontendMessage::Startup(_))
    ));
    dec.set_phase(FrontendPhase::SaslInitialResponse);
    let Some(FrontendMessage::SaslInitialResponse(init)) = dec.decode(&mut fe).unwrap() else {
        panic!()
    };
    assert_eq!(init.mechanism, "SCRAM-SHA-256");
    dec.set_phase(FrontendPhase::SaslResponse);
    let Some(FrontendMessage::SaslResponse(resp)) = dec.decode(&mut fe).unwrap() else {
        panic!()
    };
    let mut be = BytesMut::from(backend);
    let mut bdec = pgproto::message::BackendDecoder::new();
    let (mut server_first, mut server_final) = (None, None);
    while let Some(m) = bdec.decode(&mut be).unwrap() {
        match m {
            BackendMessage::Authentication(Authentication::SaslContinue(d)) => {
                server_first = Some(d.to_vec())
            }
            BackendMessage::Authentication(Authentication::SaslFinal(d)) => {
                server_final = Some(d.to_vec())
            }
            _ => {}
        }
    }
    Capture {
        client_first: init.data.unwrap().to_vec(),
        server_first: server_first.unwrap(),
        client_final: resp.data.to_vec(),
        server_final: server_final.unwrap(),
    }
}

#[test]
fn a_captured_libpq_exchange_is_reproduced_byte_for_byte() {
    let (fe, be) = capture_psql("pgproto_scram", "scram-secret");
    let cap = parse_capture(&fe, &be);
    let mut su = superuser();
    let verifier = rolpassword(&mut su, "pgproto_scram");

    if std::env::var("PGPROTO_RECORD_FIXTURES").as_deref() == Ok("1") {
        let text = [
            "scram-secret".as_bytes(),
            verifier.as_bytes(),
            &cap.client_first,
            &cap.server_first,
            &cap.client_final,
            &cap.server_final,
        ]
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .join("\n");
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/scram_libpq.txt"
            ),
            text + "\n",
        )
        .unwrap();
    }
    replay(
        b"scram-secret",
        &verifier,
        [
            &cap.client_first,
            &cap.server_first,
            &cap.client_final,
            &cap.server_final,
        ],
    );
}

mod tls {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// Accepts the test cluster's self-signed certificate: the point here is channel binding,
    /// which catches a man in the middle by itself.
    #[derive(Debug)]
    pub struct AcceptAny(pub CryptoProvider);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// SSLRequest, then a TLS handshake; returns the stream and the server's certificate (DER).
fn tls_connect() -> (PgConn<TlsStream>, Vec<u8>) {
    let mut tcp = pg15_tcp();
    let mut out = BytesMut::new();
    FrontendMessage::SslRequest.encode(&mut out).unwrap();
    tcp.write_all(&out).unwrap();
    let mut answer = BytesMut::new();
    let mut byte = [0u8; 1];
    tcp.read_exact(&mut byte).unwrap();
    answer.extend_from_slice(&byte);
    let mut dec = pgproto::message::BackendDecoder::new();
    dec.set_phase(pgproto::message::BackendPhase::SslResponse);
    assert_eq!(
        dec.decode(&mut answer).unwrap(),
        Some(BackendMessage::SslResponse { accepted: true })
    );

    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider.clone()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(tls::AcceptAny(provider)))
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).unwrap();
    }
    let cert = stream.conn.peer_certificates().unwrap()[0].to_vec();
    (PgConn::new(stream), cert)
}

#[test]
fn scram_sha_256_plus_over_tls_with_channel_binding_required() {
    let (mut c, cert) = tls_connect();
    let cb = tls_server_end_point(&cert).unwrap();
    assert_eq!(
        cb.len(),
        32,
        "the test cluster's certificate is signed with SHA-256"
    );
    assert_eq!(
        login(
            &mut c,
            "pgproto_scram",
            b"scram-secret",
            ChannelBindingPolicy::Require,
            Some(cb)
        ),
        Ok("SCRAM-SHA-256-PLUS".into())
    );
    assert_eq!(c.query_value("SELECT current_user"), "pgproto_scram");

    // Binding data for another certificate: PostgreSQL refuses, as our server side does.
    let (mut c, _) = tls_connect();
    let r = login(
        &mut c,
        "pgproto_scram",
        b"scram-secret",
        ChannelBindingPolicy::Require,
        Some(vec![0u8; 32]),
    );
    assert_eq!(
        r,
        Err(LoginError::Server(
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        ))
    );
}

#[test]
fn postgres_refuses_a_channel_binding_downgrade_as_our_server_does() {
    // Over TLS, a client that claims the server cannot bind ('y') is refused with 28000.
    let (mut c, cert) = tls_connect();
    c.startup("pgproto_scram", ProtocolVersion::V3_0, &[]);
    let BackendMessage::Authentication(Authentication::Sasl(m)) = c.recv() else {
        panic!()
    };
    assert!(m.contains("SCRAM-SHA-256-PLUS"));
    let cb = tls_server_end_point(&cert).unwrap();
    let (_, mech, first) = ScramClient::start(
        b"scram-secret",
        [&b"SCRAM-SHA-256"[..]],
        ChannelBindingPolicy::Prefer,
        Some(cb.clone()),
        ScramClientConfig::default(),
        &mut OsRandom,
    )
    .unwrap();
    assert!(first.starts_with(b"y,,"));
    SaslInitialResponse::write(&mut c.out, mech, Some(&first)).unwrap();
    c.flush();
    let BackendMessage::ErrorResponse(e) = c.recv() else {
        panic!()
    };
    assert_eq!(
        e.sqlstate(),
        Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
    );
    let ours = ScramServer::new(
        mech.as_bytes(),
        ScramSecret::new(b"x", b"s", 4096),
        Some(cb),
        &mut OsRandom,
    )
    .unwrap()
    .step(Some(&first))
    .unwrap_err();
    assert_eq!(ours, AuthError::ChannelBindingDowngrade);
    assert_eq!(
        ours.sqlstate(),
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    );
}
