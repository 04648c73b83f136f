//! What a server stores for a user: a SCRAM verifier, an MD5 hash, or a plain password.

use core::fmt;

use super::scram::{self, KEY_LEN, Key};
use super::{AuthError, RandomSource};

/// PostgreSQL's default SCRAM iteration count.
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// PostgreSQL's default salt length.
pub const DEFAULT_SALT_LEN: usize = 16;

/// A SCRAM-SHA-256 verifier, as PostgreSQL stores it in `pg_authid.rolpassword`:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramSecret {
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`: verifies a client's proof.
    pub stored_key: [u8; KEY_LEN],
    /// `HMAC(SaltedPassword, "Server Key")`: signs the server's final message.
    pub server_key: [u8; KEY_LEN],
}

impl ScramSecret {
    /// Derives the verifier of `password` (SASLprep'd as PostgreSQL does) with this salt and
    /// iteration count.
    pub fn new(password: &[u8], salt: &[u8], iterations: u32) -> ScramSecret {
        let prepared = scram::prepare_password(password);
        let salted = scram::salted_password(&prepared, salt, iterations.max(1));
        let (_, stored_key, server_key) = scram::keys(&salted);
        ScramSecret {
            iterations: iterations.max(1),
            salt: salt.to_vec(),
            stored_key,
            server_key,
        }
    }

    /// Derives a verifier with PostgreSQL's defaults: a random 16-byte salt, 4096 iterations.
    pub fn generate(password: &[u8], rng: &mut dyn RandomSource) -> Result<ScramSecret, AuthError> {
        let mut salt = [0u8; DEFAULT_SALT_LEN];
        rng.fill(&mut salt)?;
        Ok(ScramSecret::new(password, &salt, DEFAULT_ITERATIONS))
    }

    /// The stand-in for a user that does not exist, so that the exchange runs to its end and
    /// fails like a wrong password: a salt derived from the user name and a server-wide secret
    /// (stable across attempts, as a real user's would be), and keys that match nothing.
    pub fn mock(user: &[u8], server_secret: &[u8]) -> ScramSecret {
        let mut input = Vec::with_capacity(user.len() + server_secret.len());
        input.extend_from_slice(user);
        input.extend_from_slice(server_secret);
        let digest = scram::sha256(&input);
        ScramSecret {
            iterations: DEFAULT_ITERATIONS,
            salt: digest[..DEFAULT_SALT_LEN].to_vec(),
            stored_key: [0; KEY_LEN],
            server_key: [0; KEY_LEN],
        }
    }

    /// Parses the stored form, with the same checks as PostgreSQL.
    pub fn parse(s: &str) -> Result<ScramSecret, AuthError> {
        let rest = s
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or(AuthError::InvalidSecret(
                "does not start with SCRAM-SHA-256$",
            ))?;
        let (iter_salt, keys) = rest
            .split_once('$')
            .ok_or(AuthError::InvalidSecret("missing '$' before the keys"))?;
        let (iterations, salt) = iter_salt.split_once(':').ok_or(AuthError::InvalidSecret(
            "missing ':' between iterations and salt",
        ))?;
        let (stored, server) = keys
            .split_once(':')
            .ok_or(AuthError::InvalidSecret("missing ':' between the keys"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| AuthError::InvalidSecret("iteration count is not a number"))?;
        if iterations == 0 {
            return Err(AuthError::InvalidSecret("iteration count is zero"));
        }
        let salt =
            scram::unb64(salt.as_bytes()).ok_or(AuthError::InvalidSecret("salt is not base64"))?;
        let key = |k: &str, what| -> Result<Key, AuthError> {
            scram::unb64(k.as_bytes())
                .and_then(|v| Key::try_from(v).ok())
                .ok_or(AuthError::InvalidSecret(what))
        };
        Ok(ScramSecret {
            iterations,
            salt,
            stored_key: key(stored, "StoredKey is not 32 bytes of base64")?,
            server_key: key(server, "ServerKey is not 32 bytes of base64")?,
        })
    }

    /// Whether `password` is the one this verifier was made from (cleartext authentication
    /// against a SCRAM verifier, as PostgreSQL does it: compare the ServerKey).
    pub fn verify_password(&self, password: &[u8]) -> bool {
        let prepared = scram::prepare_password(password);
        let salted = scram::salted_password(&prepared, &self.salt, self.iterations);
        let (_, _, server_key) = scram::keys(&salted);
        super::constant_time_eq(&server_key, &self.server_key)
    }
}

impl fmt::Display for ScramSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            scram::b64(&self.salt),
            scram::b64(&self.stored_key),
            scram::b64(&self.server_key)
        )
    }
}

impl fmt::Debug for ScramSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramSecret")
            .field("iterations", &self.iterations)
            .field("salt", &scram::b64(&self.salt))
            .finish_non_exhaustive()
    }
}

/// A user's stored secret, in any of the forms PostgreSQL knows.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// A SCRAM-SHA-256 verifier: serves SCRAM and cleartext.
    Scram(ScramSecret),
    /// An MD5 hash, `md5` + hex(md5(password ++ user)): serves MD5 and cleartext.
    Md5([u8; 16]),
    /// The password itself: serves every method.
    Plain(Vec<u8>),
}

impl StoredSecret {
    /// Classifies a stored string as PostgreSQL does: `md5` and 32 lower-case hex digits is an
    /// MD5 hash, a well-formed SCRAM verifier is SCRAM, anything else is a plain password.
    pub fn parse(s: &str) -> StoredSecret {
        if let Some(hex) = s.strip_prefix("md5")
            && let Some(h) = parse_md5_hex(hex)
        {
            return StoredSecret::Md5(h);
        }
        match ScramSecret::parse(s) {
            Ok(v) => StoredSecret::Scram(v),
            Err(_) => StoredSecret::Plain(s.as_bytes().to_vec()),
        }
    }

    /// The SCRAM verifier to run an exchange with: the stored one, or one derived from a plain
    /// password (salted like [`ScramSecret::mock`], so it is stable across attempts). `None`
    /// for an MD5 hash, which cannot serve SCRAM: run a doomed exchange instead.
    pub fn to_scram(&self, user: &[u8], server_secret: &[u8]) -> Option<ScramSecret> {
        match self {
            StoredSecret::Scram(s) => Some(s.clone()),
            StoredSecret::Plain(p) => Some(ScramSecret::new(
                p,
                &ScramSecret::mock(user, server_secret).salt,
                DEFAULT_ITERATIONS,
            )),
            StoredSecret::Md5(_) => None,
        }
    }

    /// Checks a cleartext password (the answer to AuthenticationCleartextPassword).
    pub fn verify_cleartext(&self, user: &[u8], password: &[u8]) -> Result<(), AuthError> {
        let ok = match self {
            StoredSecret::Plain(p) => super::constant_time_eq(p, password),
            StoredSecret::Md5(h) => {
                super::constant_time_eq(h, &super::password::md5_of(password, user))
            }
            StoredSecret::Scram(s) => s.verify_password(password),
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::InvalidPassword)
        }
    }

    /// Checks the answer to AuthenticationMD5Password with `salt`. A SCRAM verifier cannot
    /// check it (PostgreSQL switches such users to SCRAM instead), so that always fails.
    pub fn verify_md5(&self, user: &[u8], salt: [u8; 4], response: &[u8]) -> Result<(), AuthError> {
        let hash = match self {
            StoredSecret::Md5(h) => *h,
            StoredSecret::Plain(p) => super::password::md5_of(p, user),
            StoredSecret::Scram(_) => return Err(AuthError::InvalidPassword),
        };
        let expected = super::password::salted_md5_response(&hash, salt);
        if super::constant_time_eq(expected.as_bytes(), response) {
            Ok(())
        } else {
            Err(AuthError::InvalidPassword)
        }
    }

    /// The MD5 hash a server stores for `user` and `password` (`md5` + 32 hex digits).
    pub fn md5(user: &[u8], password: &[u8]) -> StoredSecret {
        StoredSecret::Md5(super::password::md5_of(password, user))
    }
}

impl fmt::Display for StoredSecret {
    /// The stored form, as in `pg_authid.rolpassword`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSecret::Scram(s) => s.fmt(f),
            StoredSecret::Md5(h) => write!(f, "md5{}", super::password::hex(h)),
            StoredSecret::Plain(p) => f.write_str(&String::from_utf8_lossy(p)),
        }
    }
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSecret::Scram(s) => f.debug_tuple("Scram").field(s).finish(),
            StoredSecret::Md5(_) => f.write_str("Md5(<redacted>)"),
            StoredSecret::Plain(_) => f.write_str("Plain(<redacted>)"),
        }
    }
}

fn parse_md5_hex(hex: &str) -> Option<[u8; 16]> {
    let b = hex.as_bytes();
    if b.len() != 32 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let digit = |c: u8| {
            if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'a' + 10
            }
        };
        out[i] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Some(out)
}
