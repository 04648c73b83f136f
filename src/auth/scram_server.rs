//! The server side of SCRAM-SHA-256(-PLUS), with PostgreSQL's checks in PostgreSQL's order.

use super::scram::{
    self, Attrs, CBIND_HEADER, KEY_LEN, NONCE_LEN, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use super::{AuthError, RandomSource, ScramSecret};

/// What the server sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramStep {
    /// Send AuthenticationSASLContinue with these bytes and wait for a SASLResponse.
    Continue(Vec<u8>),
    /// The client is authenticated: send AuthenticationSASLFinal with these bytes (the server
    /// signature), then AuthenticationOk.
    Success(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the client-first message.
    Initial,
    /// Server-first sent; waiting for the client-final message.
    SentServerFirst,
    /// Finished, successfully or not.
    Done,
}

/// One SCRAM exchange on the server.
///
/// Create it when the client's SASLInitialResponse names a mechanism, then feed each client
/// message to [`ScramServer::step`]. A user that does not exist (or has no SCRAM verifier)
/// gets [`ScramServer::doomed`], which behaves identically until the last step and then fails
/// as a wrong password would, so that the user's existence is not revealed.
pub struct ScramServer {
    state: State,
    secret: ScramSecret,
    doomed: bool,
    /// The `tls-server-end-point` data when this connection can do channel binding.
    cbind_data: Option<Vec<u8>>,
    /// Whether the client chose `SCRAM-SHA-256-PLUS`.
    plus: bool,
    cbind_flag: u8,
    server_nonce: String,
    client_nonce: Vec<u8>,
    client_first_bare: Vec<u8>,
    server_first: Vec<u8>,
}

impl core::fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScramServer")
            .field("state", &self.state)
            .field("plus", &self.plus)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// Starts an exchange for a user with this verifier.
    ///
    /// `mechanism` is what the client's SASLInitialResponse named. `channel_binding` is the
    /// [`tls_server_end_point`](super::tls_server_end_point) data of this connection's
    /// certificate when the connection is TLS and the driver handed the certificate over (the
    /// server then offers `SCRAM-SHA-256-PLUS`), `None` otherwise.
    pub fn new(
        mechanism: &[u8],
        secret: ScramSecret,
        channel_binding: Option<Vec<u8>>,
        rng: &mut dyn RandomSource,
    ) -> Result<ScramServer, AuthError> {
        let plus = match mechanism {
            m if m == SCRAM_SHA_256_PLUS.as_bytes() && channel_binding.is_some() => true,
            m if m == SCRAM_SHA_256.as_bytes() => false,
            _ => return Err(AuthError::InvalidMechanism),
        };
        let mut raw = [0u8; NONCE_LEN];
        rng.fill(&mut raw)?;
        Ok(ScramServer {
            state: State::Initial,
            secret,
            doomed: false,
            cbind_data: channel_binding,
            plus,
            cbind_flag: 0,
            server_nonce: scram::b64(&raw),
            client_nonce: Vec::new(),
            client_first_bare: Vec::new(),
            server_first: Vec::new(),
        })
    }

    /// Starts an exchange that will fail at its end, for a user that does not exist or has no
    /// SCRAM verifier; `server_secret` keeps the mock salt stable for each user name.
    pub fn doomed(
        mechanism: &[u8],
        user: &[u8],
        server_secret: &[u8],
        channel_binding: Option<Vec<u8>>,
        rng: &mut dyn RandomSource,
    ) -> Result<ScramServer, AuthError> {
        let mut s = ScramServer::new(
            mechanism,
            ScramSecret::mock(user, server_secret),
            channel_binding,
            rng,
        )?;
        s.doomed = true;
        Ok(s)
    }

    /// Replaces the server's nonce: for reproducing a recorded exchange (RFC 7677's test
    /// vector, a capture from PostgreSQL). Never use a fixed nonce in production. The nonce
    /// must be printable (no comma, no space).
    pub fn with_server_nonce(mut self, nonce: &str) -> ScramServer {
        self.server_nonce = nonce.to_owned();
        self
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Handles one client message: the data of the SASLInitialResponse (`None` when it had
    /// none: the answer is then an empty challenge), then of the SASLResponse.
    ///
    /// An error ends the exchange; send it as a FATAL ErrorResponse with its SQLSTATE.
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<ScramStep, AuthError> {
        let result = self.step_inner(input);
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn step_inner(&mut self, input: Option<&[u8]>) -> Result<ScramStep, AuthError> {
        let input = match (self.state, input) {
            (State::Initial, None) => return Ok(ScramStep::Continue(Vec::new())),
            (State::Done, _) => {
                return Err(AuthError::UnexpectedMessage("the SCRAM exchange is over"));
            }
            (_, None) => return Err(AuthError::Malformed("the message is empty")),
            (_, Some(input)) => input,
        };
        if input.is_empty() {
            return Err(AuthError::Malformed("the message is empty"));
        }
        if memchr::memchr(0, input).is_some() {
            return Err(AuthError::Malformed(
                "message length does not match input length",
            ));
        }
        match self.state {
            State::Initial => {
                self.read_client_first(input)?;
                let mut first = Vec::with_capacity(self.client_nonce.len() + 64);
                first.extend_from_slice(b"r=");
                first.extend_from_slice(&self.client_nonce);
                first.extend_from_slice(self.server_nonce.as_bytes());
                first.extend_from_slice(b",s=");
                first.extend_from_slice(scram::b64(&self.secret.salt).as_bytes());
                first.extend_from_slice(format!(",i={}", self.secret.iterations).as_bytes());
                self.server_first = first.clone();
                self.state = State::SentServerFirst;
                Ok(ScramStep::Continue(first))
            }
            _ => {
                self.state = State::Done;
                self.read_client_final(input)
            }
        }
    }

    fn read_client_first(&mut self, input: &[u8]) -> Result<(), AuthError> {
        // gs2-cbind-flag
        let rest = match input.first() {
            Some(&f @ (b'n' | b'y')) => {
                if self.plus {
                    return Err(AuthError::Malformed(
                        "the client selected SCRAM-SHA-256-PLUS, but the message does not include channel binding data",
                    ));
                }
                if f == b'y' && self.cbind_data.is_some() {
                    return Err(AuthError::ChannelBindingDowngrade);
                }
                self.cbind_flag = f;
                input[1..].strip_prefix(b",").ok_or(AuthError::Malformed(
                    "comma expected after the channel-binding flag",
                ))?
            }
            Some(b'p') => {
                if !self.plus {
                    return Err(AuthError::Malformed(
                        "the client selected SCRAM-SHA-256 without channel binding, but the message includes channel binding data",
                    ));
                }
                self.cbind_flag = b'p';
                let mut a = Attrs::new(input);
                let cb_type = a.expect(b'p', "channel-binding type expected")?;
                if cb_type != b"tls-server-end-point" {
                    return Err(AuthError::UnsupportedChannelBindingType);
                }
                &input[a.pos..]
            }
            _ => return Err(AuthError::Malformed("unexpected channel-binding flag")),
        };
        // [authzid] ","
        let bare = match rest.first() {
            Some(b'a') => return Err(AuthError::AuthzidNotSupported),
            Some(b',') => &rest[1..],
            _ => {
                return Err(AuthError::Malformed(
                    "unexpected attribute in client-first-message",
                ));
            }
        };
        if bare.first() == Some(&b'm') {
            return Err(AuthError::ExtensionNotSupported);
        }
        let mut a = Attrs::new(bare);
        // The user name is ignored: PostgreSQL uses the startup packet's (libpq sends "").
        a.expect(b'n', "user name attribute expected")?;
        let nonce = a.expect(b'r', "nonce attribute expected")?;
        if !scram::is_printable(nonce) {
            return Err(AuthError::Malformed(
                "non-printable characters in SCRAM nonce",
            ));
        }
        while !a.at_end() {
            a.any()?; // optional extensions, ignored
        }
        self.client_nonce = nonce.to_vec();
        self.client_first_bare = bare.to_vec();
        Ok(())
    }

    fn read_client_final(&mut self, input: &[u8]) -> Result<ScramStep, AuthError> {
        let mut a = Attrs::new(input);
        let cbind = a.expect(b'c', "channel-binding attribute expected")?;
        if self.plus {
            let data = self.cbind_data.as_deref().unwrap_or_default();
            let mut expected = Vec::with_capacity(CBIND_HEADER.len() + data.len());
            expected.extend_from_slice(CBIND_HEADER);
            expected.extend_from_slice(data);
            if !super::constant_time_eq(scram::b64(&expected).as_bytes(), cbind) {
                return Err(AuthError::ChannelBindingMismatch);
            }
        } else if !((cbind == b"biws" && self.cbind_flag == b'n')
            || (cbind == b"eSws" && self.cbind_flag == b'y'))
        {
            return Err(AuthError::Malformed(
                "unexpected SCRAM channel-binding attribute in client-final-message",
            ));
        }
        let final_nonce = a.expect(b'r', "nonce attribute expected")?;
        let (proof_at, proof) = loop {
            let at = a.pos;
            let (attr, value) = a.any()?;
            if attr == b'p' {
                break (at, value);
            }
        };
        let proof =
            scram::unb64(proof)
                .filter(|p| p.len() == KEY_LEN)
                .ok_or(AuthError::Malformed(
                    "malformed proof in client-final-message",
                ))?;
        if !a.at_end() {
            return Err(AuthError::Malformed(
                "garbage found at the end of client-final-message",
            ));
        }
        // The nonce must be the client's followed by ours.
        let expected_len = self.client_nonce.len() + self.server_nonce.len();
        let nonce_ok = final_nonce.len() == expected_len
            && super::constant_time_eq(&final_nonce[..self.client_nonce.len()], &self.client_nonce)
            && super::constant_time_eq(
                &final_nonce[self.client_nonce.len()..],
                self.server_nonce.as_bytes(),
            );
        if !nonce_ok {
            return Err(AuthError::NonceMismatch);
        }
        // `proof_at` points past the comma before `p=`.
        let without_proof = &input[..proof_at.saturating_sub(1)];
        let auth_message: [&[u8]; 5] = [
            &self.client_first_bare,
            b",",
            &self.server_first,
            b",",
            without_proof,
        ];
        let client_signature = scram::hmac(&self.secret.stored_key, &auth_message);
        let mut client_key = [0u8; KEY_LEN];
        for (k, (p, s)) in client_key
            .iter_mut()
            .zip(proof.iter().zip(client_signature))
        {
            *k = p ^ s;
        }
        // The proof is checked even when doomed, so that timing reveals nothing.
        let proof_ok =
            super::constant_time_eq(&scram::sha256(&client_key), &self.secret.stored_key);
        if !proof_ok || self.doomed {
            return Err(AuthError::InvalidPassword);
        }
        let server_signature = scram::hmac(&self.secret.server_key, &auth_message);
        let mut fin = b"v=".to_vec();
        fin.extend_from_slice(scram::b64(&server_signature).as_bytes());
        Ok(ScramStep::Success(fin))
    }
}
