//! Plays both sides of a recorded SCRAM exchange with the recorded nonces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pgproto::auth::{
    ChannelBindingPolicy, FixedRandom, ScramClient, ScramClientConfig, ScramServer, ScramStep,
    StoredSecret,
};

/// Plays both sides of a recorded exchange with the recorded nonces and checks every message.
pub fn replay(
    password: &[u8],
    verifier: &str,
    [client_first, server_first, client_final, server_final]: [&[u8]; 4],
) {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    // libpq's client nonce: base64 of 18 random bytes, after "n,,n=,r=".
    let client_nonce = text(client_first)
        .strip_prefix("n,,n=,r=")
        .expect("libpq's client-first")
        .to_string();
    let client_raw = B64.decode(&client_nonce).unwrap();
    let (mut client, mech, first) = ScramClient::start(
        password,
        [&b"SCRAM-SHA-256"[..]],
        ChannelBindingPolicy::Prefer,
        None,
        ScramClientConfig::default(),
        &mut FixedRandom::new(client_raw),
    )
    .unwrap();
    assert_eq!(mech, "SCRAM-SHA-256");
    assert_eq!(text(&first), text(client_first));
    assert_eq!(
        text(&client.handle_server_first(server_first).unwrap()),
        text(client_final)
    );
    client.handle_server_final(server_final).unwrap();
    client.finish().unwrap();

    // PostgreSQL's server nonce: base64 of 18 random bytes, after the client's.
    let sf = text(server_first);
    let combined = sf.strip_prefix("r=").unwrap().split(',').next().unwrap();
    let server_raw = B64
        .decode(combined.strip_prefix(client_nonce.as_str()).unwrap())
        .unwrap();
    let StoredSecret::Scram(secret) = StoredSecret::parse(verifier) else {
        panic!("verifier")
    };
    let mut server = ScramServer::new(
        b"SCRAM-SHA-256",
        secret,
        None,
        &mut FixedRandom::new(server_raw),
    )
    .unwrap();
    assert_eq!(
        server.step(Some(client_first)).unwrap(),
        ScramStep::Continue(server_first.to_vec())
    );
    assert_eq!(
        server.step(Some(client_final)).unwrap(),
        ScramStep::Success(server_final.to_vec())
    );
}
