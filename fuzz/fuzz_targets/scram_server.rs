//! Fuzzes the server side of SCRAM with arbitrary client messages.
//!
//! Input layout: byte 0 picks the mechanism and whether the connection can do channel binding,
//! byte 1 where the rest splits into the client-first and client-final messages. Beyond "no
//! panic": every error maps to a SQLSTATE and ends the exchange (a further message is refused),
//! and a fuzzed exchange never succeeds, since that would need a proof made from the password.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pgproto::auth::{AuthError, FixedRandom, ScramSecret, ScramServer, ScramStep};

fuzz_target!(|data: &[u8]| {
    let (Some(&flags), Some(&split)) = (data.first(), data.get(1)) else { return };
    let rest = &data[2..];
    let at = if rest.is_empty() { 0 } else { split as usize % (rest.len() + 1) };
    let (first, fin) = rest.split_at(at);
    let mechanism: &[u8] = if flags & 1 == 1 { b"SCRAM-SHA-256-PLUS" } else { b"SCRAM-SHA-256" };
    let cb = (flags & 2 == 2).then(|| vec![0xAB; 32]);
    // A small iteration count keeps executions fast; the parsers are what is fuzzed.
    let secret = ScramSecret::new(b"pw", b"salt", 2);
    let mut rng = FixedRandom::new([7u8; 18]);
    let mut server = match ScramServer::new(mechanism, secret, cb, &mut rng) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.sqlstate();
            assert_eq!(e, AuthError::InvalidMechanism);
            return;
        }
    };
    let initial = if flags & 4 == 4 { None } else { Some(first) };
    let outcome = server.step(initial).and_then(|step| match step {
        ScramStep::Continue(_) => server.step(Some(fin)),
        ScramStep::Success(_) => panic!("success after one message"),
    });
    match outcome {
        Ok(ScramStep::Success(_)) => panic!("a fuzzed exchange succeeded"),
        Ok(ScramStep::Continue(_)) => {}
        Err(e) => {
            let _ = (e.sqlstate(), e.to_string());
            assert!(server.is_done());
            assert!(server.step(Some(b"c=biws")).is_err());
        }
    }
});
