//! The authentication exchanges: RFC 7677's test vector on both sides, every rejection
//! PostgreSQL makes with its exact error and SQLSTATE, the client's policies, and properties
//! over arbitrary passwords, salts and tampered messages.

use pgproto::SqlState;
use pgproto::auth::{
    AuthError, ChannelBindingPolicy, FixedRandom, OsRandom, ScramClient, ScramClientConfig,
    ScramSecret, ScramServer, ScramStep, StoredSecret, md5_response,
};
use proptest::prelude::*;

mod support;

const RFC_CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const RFC_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn rfc_secret() -> ScramSecret {
    use base64::Engine as _;
    let salt = base64::engine::general_purpose::STANDARD
        .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
        .unwrap();
    ScramSecret::new(b"pencil", &salt, 4096)
}

fn scram_only() -> [&'static [u8]; 1] {
    [b"SCRAM-SHA-256"]
}

fn both() -> [&'static [u8]; 2] {
    [b"SCRAM-SHA-256-PLUS", b"SCRAM-SHA-256"]
}

#[test]
fn rfc7677_vector_client_side() {
    let config = ScramClientConfig {
        username: b"user".to_vec(),
        ..Default::default()
    };
    let (client, mech, _) = ScramClient::start(
        b"pencil",
        scram_only(),
        ChannelBindingPolicy::Prefer,
        None,
        config,
        &mut OsRandom,
    )
    .unwrap();
    let mut client = client.with_nonce("rOprNGfwEbeRWgbNEkqO");
    assert_eq!(mech, "SCRAM-SHA-256");
    assert_eq!(client.client_first(), RFC_CLIENT_FIRST.as_bytes());
    let fin = client
        .handle_server_first(RFC_SERVER_FIRST.as_bytes())
        .unwrap();
    assert_eq!(String::from_utf8(fin).unwrap(), RFC_CLIENT_FINAL);
    assert_eq!(client.finish(), Err(AuthError::MissingServerFinal));
    client
        .handle_server_final(RFC_SERVER_FINAL.as_bytes())
        .unwrap();
    assert_eq!(client.finish(), Ok(()));
}

#[test]
fn rfc7677_vector_server_side() {
    let mut server = ScramServer::new(b"SCRAM-SHA-256", rfc_secret(), None, &mut OsRandom)
        .unwrap()
        .with_server_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    assert_eq!(
        server.step(Some(RFC_CLIENT_FIRST.as_bytes())).unwrap(),
        ScramStep::Continue(RFC_SERVER_FIRST.as_bytes().to_vec())
    );
    assert_eq!(
        server.step(Some(RFC_CLIENT_FINAL.as_bytes())).unwrap(),
        ScramStep::Success(RFC_SERVER_FINAL.as_bytes().to_vec())
    );
    assert!(server.is_done());
    assert!(matches!(
        server.step(Some(b"x")),
        Err(AuthError::UnexpectedMessage(_))
    ));
}

#[test]
fn verifier_text_form_matches_the_rfc_keys() {
    let s = rfc_secret().to_string();
    // StoredKey and ServerKey of RFC 7677's password and salt, as PostgreSQL would store them.
    assert_eq!(
        s,
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
    );
    assert_eq!(ScramSecret::parse(&s).unwrap(), rfc_secret());
    assert!(rfc_secret().verify_password(b"pencil"));
    assert!(!rfc_secret().verify_password(b"pencil2"));
}

/// Runs a full exchange between our client and server; returns the server's verdict.
fn exchange(
    password: &[u8],
    secret: ScramSecret,
    policy: ChannelBindingPolicy,
    client_cb: Option<Vec<u8>>,
    server_cb: Option<Vec<u8>>,
) -> Result<(), AuthError> {
    let offered: Vec<&[u8]> = pgproto::auth::mechanisms(server_cb.is_some())
        .iter()
        .map(|m| m.as_bytes())
        .collect();
    let config = ScramClientConfig {
        min_iterations: 1,
        ..Default::default()
    };
    let (mut client, mech, first) =
        ScramClient::start(password, offered, policy, client_cb, config, &mut OsRandom)?;
    let mut server = ScramServer::new(mech.as_bytes(), secret, server_cb, &mut OsRandom)?;
    let ScramStep::Continue(server_first) = server.step(Some(&first))? else {
        panic!("expected Continue")
    };
    let fin = client.handle_server_first(&server_first)?;
    let ScramStep::Success(server_final) = server.step(Some(&fin))? else {
        panic!("expected Success")
    };
    client.handle_server_final(&server_final)?;
    client.finish()
}

#[test]
fn plus_end_to_end_and_channel_binding_mismatch() {
    let secret = ScramSecret::new(b"pw", b"salt", 16);
    let cb = vec![7u8; 32];
    assert_eq!(
        exchange(
            b"pw",
            secret.clone(),
            ChannelBindingPolicy::Require,
            Some(cb.clone()),
            Some(cb.clone())
        ),
        Ok(())
    );
    // A man in the middle terminates TLS with a different certificate.
    assert_eq!(
        exchange(
            b"pw",
            secret.clone(),
            ChannelBindingPolicy::Require,
            Some(vec![8u8; 32]),
            Some(cb)
        ),
        Err(AuthError::ChannelBindingMismatch)
    );
    assert_eq!(
        AuthError::ChannelBindingMismatch.sqlstate(),
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    );
    assert_eq!(
        exchange(b"wrong", secret, ChannelBindingPolicy::Prefer, None, None),
        Err(AuthError::InvalidPassword)
    );
}

#[test]
fn client_mechanism_choice_follows_libpq() {
    let cb = Some(vec![1u8; 32]);
    let start = |offered: &[&'static [u8]], policy, cb: Option<Vec<u8>>| {
        ScramClient::start(
            b"pw",
            offered.iter().copied(),
            policy,
            cb,
            ScramClientConfig::default(),
            &mut OsRandom,
        )
        .map(|(_, mech, first)| (mech, String::from_utf8(first).unwrap()[..3].to_string()))
    };
    use ChannelBindingPolicy::*;
    assert_eq!(
        start(&both(), Prefer, cb.clone()).unwrap(),
        ("SCRAM-SHA-256-PLUS", "p=t".into())
    );
    assert_eq!(
        start(&scram_only(), Prefer, cb.clone()).unwrap(),
        ("SCRAM-SHA-256", "y,,".into())
    );
    assert_eq!(
        start(&both(), Prefer, None).unwrap(),
        ("SCRAM-SHA-256", "n,,".into())
    );
    assert_eq!(
        start(&both(), Disable, cb.clone()).unwrap(),
        ("SCRAM-SHA-256", "n,,".into())
    );
    assert!(matches!(
        start(&scram_only(), Require, cb.clone()),
        Err(AuthError::ChannelBindingRequired(_))
    ));
    assert!(matches!(
        start(&both(), Require, None),
        Err(AuthError::ChannelBindingRequired(_))
    ));
    assert_eq!(
        start(&[b"OAUTHBEARER"], Prefer, None),
        Err(AuthError::NoSupportedMechanism)
    );
}

/// A server at the point where it has answered a client-first message.
fn server_after(first: &str, mech: &[u8], cb: Option<Vec<u8>>) -> Result<ScramServer, AuthError> {
    let mut s =
        ScramServer::new(mech, rfc_secret(), cb, &mut OsRandom)?.with_server_nonce("SERVERNONCE");
    s.step(Some(first.as_bytes()))?;
    Ok(s)
}

#[test]
fn server_rejects_what_postgres_rejects() {
    let tls = Some(vec![9u8; 32]);
    let cases: Vec<(&str, Result<ScramServer, AuthError>, AuthError, SqlState)> = vec![
        (
            "authzid",
            server_after("n,a=bob,n=,r=abc", b"SCRAM-SHA-256", None),
            AuthError::AuthzidNotSupported,
            SqlState::FEATURE_NOT_SUPPORTED,
        ),
        (
            "m= extension",
            server_after("n,,m=ext,n=,r=abc", b"SCRAM-SHA-256", None),
            AuthError::ExtensionNotSupported,
            SqlState::FEATURE_NOT_SUPPORTED,
        ),
        (
            "y over TLS",
            server_after("y,,n=,r=abc", b"SCRAM-SHA-256", tls.clone()),
            AuthError::ChannelBindingDowngrade,
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        ),
        (
            "p with SCRAM-SHA-256",
            server_after(
                "p=tls-server-end-point,,n=,r=abc",
                b"SCRAM-SHA-256",
                tls.clone(),
            ),
            AuthError::Malformed(
                "the client selected SCRAM-SHA-256 without channel binding, but the message includes channel binding data",
            ),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "n with PLUS",
            server_after("n,,n=,r=abc", b"SCRAM-SHA-256-PLUS", tls.clone()),
            AuthError::Malformed(
                "the client selected SCRAM-SHA-256-PLUS, but the message does not include channel binding data",
            ),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "PLUS without TLS",
            server_after(
                "p=tls-server-end-point,,n=,r=abc",
                b"SCRAM-SHA-256-PLUS",
                None,
            ),
            AuthError::InvalidMechanism,
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "unknown mechanism",
            server_after("n,,n=,r=abc", b"SCRAM-SHA-1", None),
            AuthError::InvalidMechanism,
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "tls-unique",
            server_after("p=tls-unique,,n=,r=abc", b"SCRAM-SHA-256-PLUS", tls.clone()),
            AuthError::UnsupportedChannelBindingType,
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "bad flag",
            server_after("x,,n=,r=abc", b"SCRAM-SHA-256", None),
            AuthError::Malformed("unexpected channel-binding flag"),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "no user attr",
            server_after("n,,r=abc", b"SCRAM-SHA-256", None),
            AuthError::Malformed("user name attribute expected"),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "no nonce",
            server_after("n,,n=", b"SCRAM-SHA-256", None),
            AuthError::Malformed("nonce attribute expected"),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "nonce with space",
            server_after("n,,n=,r=a b", b"SCRAM-SHA-256", None),
            AuthError::Malformed("non-printable characters in SCRAM nonce"),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "empty",
            server_after("", b"SCRAM-SHA-256", None),
            AuthError::Malformed("the message is empty"),
            SqlState::PROTOCOL_VIOLATION,
        ),
        (
            "NUL",
            server_after("n,,n=,r=a\0", b"SCRAM-SHA-256", None),
            AuthError::Malformed("message length does not match input length"),
            SqlState::PROTOCOL_VIOLATION,
        ),
    ];
    for (name, got, want, code) in cases {
        let err = got.expect_err(name);
        assert_eq!(err, want, "{name}");
        assert_eq!(err.sqlstate(), code, "{name}");
    }
}

#[test]
fn server_rejects_bad_client_final_messages() {
    let first = "n,,n=,r=abc";
    let nonce = "abcSERVERNONCE";
    let fin = |s: &str| {
        let mut server = server_after(first, b"SCRAM-SHA-256", None).unwrap();
        server.step(Some(s.as_bytes())).expect_err(s)
    };
    let proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    assert_eq!(
        fin(&format!("c=biws,r=abcOTHER,p={proof}")),
        AuthError::NonceMismatch
    );
    assert_eq!(
        fin(&format!("c=biws,r={nonce},p=not*base64")),
        AuthError::Malformed("malformed proof in client-final-message")
    );
    assert_eq!(
        fin(&format!("c=biws,r={nonce},p=AAAA")),
        AuthError::Malformed("malformed proof in client-final-message")
    );
    assert_eq!(
        fin(&format!("c=biws,r={nonce},p={proof}")),
        AuthError::InvalidPassword
    );
    assert_eq!(
        AuthError::InvalidPassword.sqlstate(),
        SqlState::INVALID_PASSWORD
    );
    assert_eq!(
        fin(&format!("c=eSws,r={nonce},p={proof}")),
        AuthError::Malformed("unexpected SCRAM channel-binding attribute in client-final-message")
    );
    assert_eq!(
        fin(&format!("r={nonce},p={proof}")),
        AuthError::Malformed("channel-binding attribute expected")
    );
    assert_eq!(
        fin(&format!("c=biws,r={nonce}")),
        AuthError::Malformed("attribute expected, but found end of string")
    );
    assert_eq!(
        fin(&format!("c=biws,r={nonce},p={proof},x=1")),
        AuthError::Malformed("garbage found at the end of client-final-message")
    );
}

#[test]
fn unknown_users_get_a_complete_always_failing_exchange() {
    let run = |user: &[u8], password: &[u8]| {
        let (mut client, mech, first) = ScramClient::start(
            password,
            scram_only(),
            ChannelBindingPolicy::Prefer,
            None,
            ScramClientConfig::default(),
            &mut OsRandom,
        )
        .unwrap();
        let mut server =
            ScramServer::doomed(mech.as_bytes(), user, b"server secret", None, &mut OsRandom)
                .unwrap();
        let ScramStep::Continue(sf) = server.step(Some(&first)).unwrap() else {
            panic!()
        };
        let fin = client.handle_server_first(&sf).unwrap();
        (String::from_utf8(sf).unwrap(), server.step(Some(&fin)))
    };
    let (sf1, r1) = run(b"ghost", b"anything");
    let (sf2, _) = run(b"ghost", b"other");
    let (sf3, _) = run(b"phantom", b"anything");
    assert_eq!(r1, Err(AuthError::InvalidPassword));
    let salt = |s: &str| s.split(',').nth(1).unwrap().to_string();
    assert_eq!(salt(&sf1), salt(&sf2), "a user's mock salt is stable");
    assert_ne!(salt(&sf1), salt(&sf3), "and differs between users");
    assert!(sf1.ends_with(",i=4096"));
}

#[test]
fn client_rejects_hostile_servers_before_doing_work() {
    let client = || {
        let (c, _, _) = ScramClient::start(
            b"pw",
            scram_only(),
            ChannelBindingPolicy::Prefer,
            None,
            ScramClientConfig::default(),
            &mut FixedRandom::new([0u8; 18]),
        )
        .unwrap();
        c
    };
    let nonce = "AAAAAAAAAAAAAAAAAAAAAAAA"; // base64 of 18 zero bytes
    let first = |i: &str| format!("r={nonce}XYZ,s=c2FsdA==,i={i}");
    let started = std::time::Instant::now();
    for (i, count) in [
        ("0", 0u64),
        ("999", 999),
        ("2147483648", 2147483648),
        ("99999999999", 99999999999),
    ] {
        assert_eq!(
            client().handle_server_first(first(i).as_bytes()),
            Err(AuthError::IterationCount {
                count,
                min: 1000,
                max: 10_000_000
            })
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "no key derivation was attempted"
    );
    assert!(matches!(
        client().handle_server_first(first("-1").as_bytes()),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        client().handle_server_first(first("").as_bytes()),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        client().handle_server_first(format!("r=OTHER{nonce},s=c2FsdA==,i=4096").as_bytes()),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        client().handle_server_first(format!("r={nonce},s=c2FsdA==,i=4096").as_bytes()),
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(
        client().handle_server_first(b"m=x,r=a,s=b,i=1"),
        Err(AuthError::ExtensionNotSupported)
    );
    assert!(matches!(
        client().handle_server_first(format!("r={nonce}X,s=***,i=4096").as_bytes()),
        Err(AuthError::Malformed(_))
    ));

    let mut c = client();
    c.handle_server_first(first("4096").as_bytes()).unwrap();
    let mut c2 = client();
    c2.handle_server_first(first("4096").as_bytes()).unwrap();
    assert_eq!(
        c.handle_server_final(b"e=invalid-proof"),
        Err(AuthError::ServerError("invalid-proof".into()))
    );
    assert_eq!(
        c2.handle_server_final(b"v=AAAA"),
        Err(AuthError::ServerSignatureMismatch)
    );
    assert_eq!(c2.finish(), Err(AuthError::MissingServerFinal));
    assert!(matches!(
        client().handle_server_final(b"v=AAAA"),
        Err(AuthError::UnexpectedMessage(_))
    ));
}

#[test]
fn server_answers_a_missing_initial_response_with_an_empty_challenge() {
    let mut s = ScramServer::new(b"SCRAM-SHA-256", rfc_secret(), None, &mut OsRandom).unwrap();
    assert_eq!(s.step(None).unwrap(), ScramStep::Continue(Vec::new()));
    assert!(matches!(
        s.step(Some(RFC_CLIENT_FIRST.as_bytes())).unwrap(),
        ScramStep::Continue(_)
    ));
}

#[test]
fn md5_and_cleartext() {
    // Independent values (Python's hashlib): md5("md5-secret" ++ "pgproto_md5"), and the
    // response to salt 01 02 03 04.
    let stored = StoredSecret::md5(b"pgproto_md5", b"md5-secret");
    assert_eq!(stored.to_string(), "md59cd6ae3d69c5ee0537c9700f089552b5");
    assert_eq!(
        StoredSecret::parse("md59cd6ae3d69c5ee0537c9700f089552b5"),
        stored
    );
    let resp = md5_response(b"pgproto_md5", b"md5-secret", [1, 2, 3, 4]);
    assert_eq!(resp, "md52f00edd40ef537a711273f406ef36f4b");
    assert_eq!(
        stored.verify_md5(b"pgproto_md5", [1, 2, 3, 4], resp.as_bytes()),
        Ok(())
    );
    assert_eq!(
        stored.verify_md5(b"pgproto_md5", [1, 2, 3, 5], resp.as_bytes()),
        Err(AuthError::InvalidPassword)
    );
    let plain = StoredSecret::Plain(b"md5-secret".to_vec());
    assert_eq!(
        plain.verify_md5(b"pgproto_md5", [1, 2, 3, 4], resp.as_bytes()),
        Ok(())
    );
    // The user name is part of the hash: with a plain secret, another user's response fails.
    assert_eq!(
        plain.verify_md5(b"other", [1, 2, 3, 4], resp.as_bytes()),
        Err(AuthError::InvalidPassword)
    );
    let scram = StoredSecret::Scram(rfc_secret());
    assert_eq!(
        scram.verify_md5(b"user", [1, 2, 3, 4], b"md5whatever"),
        Err(AuthError::InvalidPassword)
    );

    for s in [&stored, &plain] {
        assert_eq!(s.verify_cleartext(b"pgproto_md5", b"md5-secret"), Ok(()));
        assert_eq!(
            s.verify_cleartext(b"pgproto_md5", b"md5-secreT"),
            Err(AuthError::InvalidPassword)
        );
    }
    assert_eq!(scram.verify_cleartext(b"user", b"pencil"), Ok(()));
    assert_eq!(
        scram.verify_cleartext(b"user", b""),
        Err(AuthError::InvalidPassword)
    );
}

#[test]
fn stored_secrets_parse_as_postgres_classifies_them() {
    assert!(matches!(
        StoredSecret::parse(&rfc_secret().to_string()),
        StoredSecret::Scram(_)
    ));
    // Upper-case hex is not an MD5 hash to PostgreSQL, nor is a short one.
    assert!(matches!(
        StoredSecret::parse("md59CD6AE3D69C5EE0537C9700F089552B5"),
        StoredSecret::Plain(_)
    ));
    assert!(matches!(
        StoredSecret::parse("md5abc"),
        StoredSecret::Plain(_)
    ));
    assert!(matches!(
        StoredSecret::parse("SCRAM-SHA-256$x"),
        StoredSecret::Plain(_)
    ));
    for (bad, why) in [
        ("SCRAM-SHA-256$4096:c2FsdA==", "missing '$' before the keys"),
        ("SCRAM-SHA-256$0:c2FsdA==$a:b", "iteration count is zero"),
        (
            "SCRAM-SHA-256$x:c2FsdA==$a:b",
            "iteration count is not a number",
        ),
        ("SCRAM-SHA-256$4096:***$a:b", "salt is not base64"),
        (
            "SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA",
            "StoredKey is not 32 bytes of base64",
        ),
        (
            "scram-sha-256$4096:c2FsdA==$a:b",
            "does not start with SCRAM-SHA-256$",
        ),
    ] {
        assert_eq!(
            ScramSecret::parse(bad),
            Err(AuthError::InvalidSecret(why)),
            "{bad}"
        );
    }
    // A plain password serves SCRAM with a stable salt; an MD5 hash cannot.
    let plain = StoredSecret::Plain(b"pw".to_vec());
    let a = plain.to_scram(b"u", b"k").unwrap();
    assert_eq!(a, plain.to_scram(b"u", b"k").unwrap());
    assert!(a.verify_password(b"pw"));
    assert_eq!(StoredSecret::md5(b"u", b"pw").to_scram(b"u", b"k"), None);
}

#[test]
fn verifiers_are_generated_with_postgres_defaults() {
    let s = ScramSecret::generate(b"pw", &mut FixedRandom::new([5u8; 16])).unwrap();
    assert_eq!((s.iterations, s.salt.as_slice()), (4096, &[5u8; 16][..]));
    assert!(s.verify_password(b"pw"));
    assert_eq!(
        ScramSecret::generate(b"pw", &mut FixedRandom::new([5u8; 15])),
        Err(AuthError::RandomUnavailable)
    );
}

fn password() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        "\\PC{0,12}".prop_map(String::into_bytes),
        Just("I\u{AD}X".as_bytes().to_vec()),
        Just(vec![]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn client_and_server_agree(pw in password(), salt in proptest::collection::vec(any::<u8>(), 1..24), iterations in 1u32..16) {
        let secret = ScramSecret::new(&pw, &salt, iterations);
        prop_assert_eq!(exchange(&pw, secret.clone(), ChannelBindingPolicy::Prefer, None, None), Ok(()));
        let cb = Some(salt.clone());
        prop_assert_eq!(exchange(&pw, secret.clone(), ChannelBindingPolicy::Require, cb.clone(), cb), Ok(()));
        let mut other = pw.clone();
        other.push(b'!');
        prop_assert_eq!(exchange(&other, secret, ChannelBindingPolicy::Prefer, None, None), Err(AuthError::InvalidPassword));
    }

    #[test]
    fn tampering_with_any_byte_fails_the_exchange(pw in password(), which in 0usize..4, at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let secret = ScramSecret::new(&pw, b"salt", 2);
        let config = ScramClientConfig { min_iterations: 1, ..Default::default() };
        let (mut client, mech, mut first) =
            ScramClient::start(&pw, scram_only(), ChannelBindingPolicy::Prefer, None, config, &mut OsRandom).unwrap();
        let mut server = ScramServer::new(mech.as_bytes(), secret, None, &mut OsRandom).unwrap();
        let flip = |m: &mut Vec<u8>| { let i = at.index(m.len()); m[i] ^= xor; };
        let outcome = (|| -> Result<(), AuthError> {
            if which == 0 { flip(&mut first); }
            let ScramStep::Continue(mut sf) = server.step(Some(&first))? else { return Ok(()) };
            if which == 1 { flip(&mut sf); }
            let mut fin = client.handle_server_first(&sf)?;
            if which == 2 { flip(&mut fin); }
            let ScramStep::Success(mut sfin) = server.step(Some(&fin))? else { return Ok(()) };
            if which == 3 { flip(&mut sfin); }
            client.handle_server_final(&sfin)?;
            client.finish()
        })();
        // A flip inside the ignored user name of the client-first message is harmless, and so
        // is one that leaves a base64 string decoding to the same bytes; everything else fails.
        if let Ok(()) = outcome {
            prop_assert!(which == 0, "tampered message {which} was accepted");
        }
    }
}

/// A SCRAM exchange between psql (libpq 15) and PostgreSQL 15, recorded by
/// `PGPROTO_RECORD_FIXTURES=1 cargo test --features interop --test interop_auth` (password,
/// stored verifier, then the four messages), replayed on both sides with its nonces.
#[test]
fn recorded_libpq_exchange_is_reproduced_byte_for_byte() {
    let text = include_str!("fixtures/scram_libpq.txt");
    let lines: Vec<&str> = text.lines().collect();
    let [password, verifier, m1, m2, m3, m4] = lines[..] else {
        panic!("fixture has six lines")
    };
    support::replay::replay(
        password.as_bytes(),
        verifier,
        [m1.as_bytes(), m2.as_bytes(), m3.as_bytes(), m4.as_bytes()],
    );
}
