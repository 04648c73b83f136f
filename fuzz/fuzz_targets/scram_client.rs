//! Fuzzes the client side of SCRAM with arbitrary server messages.
//!
//! Input layout: byte 0 picks the channel-binding situation, byte 1 where the rest splits into
//! the server-first and server-final messages. Beyond "no panic": errors map to a SQLSTATE, an
//! iteration count outside the configured bounds is refused before any key derivation, and a
//! fuzzed server is never accepted (`finish` fails), since that needs the password's keys.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgproto::auth::{ChannelBindingPolicy, FixedRandom, ScramClient, ScramClientConfig};

fuzz_target!(|data: &[u8]| {
    let (Some(&flags), Some(&split)) = (data.first(), data.get(1)) else { return };
    let rest = &data[2..];
    let at = if rest.is_empty() { 0 } else { split as usize % (rest.len() + 1) };
    let (server_first, server_final) = rest.split_at(at);
    let offered: &[&[u8]] = if flags & 1 == 1 { &[b"SCRAM-SHA-256-PLUS", b"SCRAM-SHA-256"] } else { &[b"SCRAM-SHA-256"] };
    let cb = (flags & 2 == 2).then(|| vec![0xCD; 48]);
    let policy = [ChannelBindingPolicy::Disable, ChannelBindingPolicy::Prefer, ChannelBindingPolicy::Require]
        [(flags as usize >> 2) % 3];
    // Small bounds keep executions fast; what is fuzzed is the parsing.
    let config = ScramClientConfig { min_iterations: 1, max_iterations: 64, ..Default::default() };
    let mut rng = FixedRandom::new([0u8; 18]);
    let Ok((mut client, _, first)) =
        ScramClient::start(b"pw", offered.iter().copied(), policy, cb, config, &mut rng)
    else {
        return;
    };
    assert!(first.starts_with(b"n,,") || first.starts_with(b"y,,") || first.starts_with(b"p=tls-server-end-point,,"));
    match client.handle_server_first(server_first) {
        Ok(fin) => {
            assert!(fin.starts_with(b"c="));
            if let Err(e) = client.handle_server_final(server_final) {
                let _ = (e.sqlstate(), e.to_string());
            }
        }
        Err(e) => {
            let _ = (e.sqlstate(), e.to_string());
            assert!(client.handle_server_final(server_final).is_err());
        }
    }
    assert!(client.finish().is_err(), "a fuzzed server was accepted");
});
