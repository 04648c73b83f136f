//! The client side of SCRAM-SHA-256(-PLUS), with libpq's channel-binding policies.

use super::scram::{
    self, Attrs, CBIND_HEADER, KEY_LEN, Key, NONCE_LEN, SCRAM_SHA_256, SCRAM_SHA_256_PLUS,
};
use super::{AuthError, RandomSource};

/// When to use channel binding, with the meanings of libpq's `channel_binding` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelBindingPolicy {
    /// Never.
    Disable,
    /// When the connection is TLS and the server offers `SCRAM-SHA-256-PLUS` (libpq's default).
    #[default]
    Prefer,
    /// Always: fail unless the server authenticates with `SCRAM-SHA-256-PLUS`.
    Require,
}

/// Limits the client puts on what a server may ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramClientConfig {
    /// Smallest iteration count accepted (default 1000): fewer makes the proof the client sends
    /// cheap to attack offline.
    pub min_iterations: u32,
    /// Largest iteration count accepted (default 10,000,000): a hostile server could otherwise
    /// make the client spin for minutes.
    pub max_iterations: u32,
    /// The user name sent in the client-first message. PostgreSQL ignores it and libpq sends it
    /// empty, which is the default.
    pub username: Vec<u8>,
}

impl Default for ScramClientConfig {
    fn default() -> ScramClientConfig {
        ScramClientConfig {
            min_iterations: 1000,
            max_iterations: 10_000_000,
            username: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SentClientFirst,
    SentClientFinal,
    Verified,
    Failed,
}

/// One SCRAM exchange on the client.
///
/// [`ScramClient::start`] picks the mechanism from the server's AuthenticationSASL list and
/// gives the SASLInitialResponse data; [`ScramClient::handle_server_first`] turns
/// AuthenticationSASLContinue into the SASLResponse data; [`ScramClient::handle_server_final`]
/// checks AuthenticationSASLFinal. Before accepting AuthenticationOk, call
/// [`ScramClient::finish`]: a server that skips SASLFinal has not proven it knows the password.
pub struct ScramClient {
    state: State,
    config: ScramClientConfig,
    password: Vec<u8>,
    mechanism: &'static str,
    /// The GS2 header (`n,,`, `y,,` or `p=tls-server-end-point,,`).
    gs2_header: &'static [u8],
    cbind_data: Vec<u8>,
    nonce: String,
    client_first_bare: Vec<u8>,
    server_signature: Key,
}

impl core::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScramClient")
            .field("state", &self.state)
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// Chooses a mechanism from the server's offer and builds the client-first message.
    ///
    /// `channel_binding` is the [`tls_server_end_point`](super::tls_server_end_point) data of
    /// the server's certificate when the connection is TLS, `None` on a plain connection.
    /// Returns the client, the mechanism name and the SASLInitialResponse data.
    pub fn start<'m>(
        password: &[u8],
        offered: impl IntoIterator<Item = &'m [u8]>,
        policy: ChannelBindingPolicy,
        channel_binding: Option<Vec<u8>>,
        config: ScramClientConfig,
        rng: &mut dyn RandomSource,
    ) -> Result<(ScramClient, &'static str, Vec<u8>), AuthError> {
        let (mut plain, mut plus) = (false, false);
        for m in offered {
            plain |= m == SCRAM_SHA_256.as_bytes();
            plus |= m == SCRAM_SHA_256_PLUS.as_bytes();
        }
        let tls = channel_binding.is_some();
        let (mechanism, gs2_header): (&'static str, &'static [u8]) =
            if plus && tls && policy != ChannelBindingPolicy::Disable {
                (SCRAM_SHA_256_PLUS, CBIND_HEADER)
            } else if policy == ChannelBindingPolicy::Require {
                return Err(AuthError::ChannelBindingRequired(if tls {
                    "the server did not offer SCRAM-SHA-256-PLUS"
                } else {
                    "the connection does not use TLS"
                }));
            } else if plain {
                // Over TLS, say that we could bind but the server did not offer it.
                (
                    SCRAM_SHA_256,
                    if tls && policy != ChannelBindingPolicy::Disable {
                        b"y,,"
                    } else {
                        b"n,,"
                    },
                )
            } else {
                return Err(AuthError::NoSupportedMechanism);
            };
        let mut raw = [0u8; NONCE_LEN];
        rng.fill(&mut raw)?;
        let nonce = scram::b64(&raw);
        let mut bare = b"n=".to_vec();
        for &c in &config.username {
            match c {
                b',' => bare.extend_from_slice(b"=2C"),
                b'=' => bare.extend_from_slice(b"=3D"),
                c => bare.push(c),
            }
        }
        bare.extend_from_slice(b",r=");
        bare.extend_from_slice(nonce.as_bytes());
        let mut first = gs2_header.to_vec();
        first.extend_from_slice(&bare);
        let client = ScramClient {
            state: State::SentClientFirst,
            config,
            password: scram::prepare_password(password).into_owned(),
            mechanism,
            gs2_header,
            cbind_data: if mechanism == SCRAM_SHA_256_PLUS {
                channel_binding.unwrap_or_default()
            } else {
                Vec::new()
            },
            nonce,
            client_first_bare: bare,
            server_signature: [0; KEY_LEN],
        };
        Ok((client, mechanism, first))
    }

    /// Replaces the client nonce (the base64 text after `r=`): for reproducing a recorded
    /// exchange. Never use a fixed nonce in production.
    pub fn with_nonce(mut self, nonce: &str) -> ScramClient {
        let old = self.nonce.len();
        let at = self.client_first_bare.len() - old;
        self.client_first_bare.truncate(at);
        self.client_first_bare.extend_from_slice(nonce.as_bytes());
        self.nonce = nonce.to_owned();
        self
    }

    /// The client-first message as it is now (after [`ScramClient::with_nonce`]).
    pub fn client_first(&self) -> Vec<u8> {
        let mut first = self.gs2_header.to_vec();
        first.extend_from_slice(&self.client_first_bare);
        first
    }

    /// The mechanism chosen.
    pub fn mechanism(&self) -> &'static str {
        self.mechanism
    }

    /// Whether channel binding is in use.
    pub fn channel_binding(&self) -> bool {
        self.mechanism == SCRAM_SHA_256_PLUS
    }

    /// Handles the server-first message (AuthenticationSASLContinue) and returns the
    /// client-final message (SASLResponse data). The iteration count is checked against the
    /// configured bounds before any key derivation.
    pub fn handle_server_first(&mut self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
        if self.state != State::SentClientFirst {
            return Err(self.fail(AuthError::UnexpectedMessage("SASLContinue out of order")));
        }
        let result = self.server_first(data);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn server_first(&mut self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
        if data.first() == Some(&b'm') {
            return Err(AuthError::ExtensionNotSupported);
        }
        let mut a = Attrs::new(data);
        let nonce = a.expect(b'r', "nonce attribute expected in server-first-message")?;
        if nonce.len() <= self.nonce.len()
            || !nonce.starts_with(self.nonce.as_bytes())
            || !scram::is_printable(nonce)
        {
            return Err(AuthError::Malformed(
                "the server nonce does not extend the client nonce",
            ));
        }
        let salt = a.expect(b's', "salt attribute expected in server-first-message")?;
        let salt = scram::unb64(salt).ok_or(AuthError::Malformed("salt is not base64"))?;
        let iterations = a.expect(b'i', "iteration attribute expected in server-first-message")?;
        let count = core::str::from_utf8(iterations)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(AuthError::Malformed("invalid iteration count"))?;
        let (min, max) = (self.config.min_iterations, self.config.max_iterations);
        if count < u64::from(min.max(1)) || count > u64::from(max) {
            return Err(AuthError::IterationCount { count, min, max });
        }
        while !a.at_end() {
            a.any()?; // extensions, ignored
        }
        let salted = scram::salted_password(&self.password, &salt, count as u32);
        let (client_key, stored_key, server_key) = scram::keys(&salted);

        let mut cbind_input = self.gs2_header.to_vec();
        cbind_input.extend_from_slice(&self.cbind_data);
        let mut without_proof = b"c=".to_vec();
        without_proof.extend_from_slice(scram::b64(&cbind_input).as_bytes());
        without_proof.extend_from_slice(b",r=");
        without_proof.extend_from_slice(nonce);

        let auth_message: [&[u8]; 5] = [&self.client_first_bare, b",", data, b",", &without_proof];
        let client_signature = scram::hmac(&stored_key, &auth_message);
        let mut proof = [0u8; KEY_LEN];
        for (p, (k, s)) in proof
            .iter_mut()
            .zip(client_key.iter().zip(client_signature))
        {
            *p = k ^ s;
        }
        self.server_signature = scram::hmac(&server_key, &auth_message);

        let mut fin = without_proof;
        fin.extend_from_slice(b",p=");
        fin.extend_from_slice(scram::b64(&proof).as_bytes());
        self.state = State::SentClientFinal;
        Ok(fin)
    }

    /// Checks the server-final message (AuthenticationSASLFinal): the server's signature.
    pub fn handle_server_final(&mut self, data: &[u8]) -> Result<(), AuthError> {
        if self.state != State::SentClientFinal {
            return Err(self.fail(AuthError::UnexpectedMessage("SASLFinal out of order")));
        }
        let mut a = Attrs::new(data);
        let result = match a.any() {
            Ok((b'e', err)) => Err(AuthError::ServerError(
                String::from_utf8_lossy(err).into_owned(),
            )),
            Ok((b'v', sig)) => match scram::unb64(sig) {
                Some(sig) if super::constant_time_eq(&sig, &self.server_signature) => Ok(()),
                Some(_) => Err(AuthError::ServerSignatureMismatch),
                None => Err(AuthError::Malformed("server signature is not base64")),
            },
            Ok(_) => Err(AuthError::Malformed(
                "verifier attribute expected in server-final-message",
            )),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.state = State::Verified;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Call on AuthenticationOk: succeeds only when the server's signature was verified.
    pub fn finish(&self) -> Result<(), AuthError> {
        if self.state == State::Verified {
            Ok(())
        } else {
            Err(AuthError::MissingServerFinal)
        }
    }

    fn fail(&mut self, e: AuthError) -> AuthError {
        self.state = State::Failed;
        e
    }
}
