//! The command line every server example takes, and what it configures.
//!
//! ```text
//! --listen ADDR                      default 127.0.0.1:5433; port 0 picks a free port
//! --auth trust|password|md5|scram    with --user U --password P: only U may log in, with P
//!                                    (without --auth every user is trusted)
//! --tls-cert FILE --tls-key FILE     PEM; TLS after SSLRequest or direct (ALPN postgresql)
//! --auth-timeout SECS                authentication_timeout (default 60)
//! ```
//!
//! An example with options of its own (`--db`, `--upstream`) takes them out of the arguments
//! first with [`take_flag`] and hands the rest to [`Options::parse`].

use std::sync::Arc;
use std::time::Duration;

use pgproto::auth::{OsRandom, ScramSecret, StoredSecret};
use pgproto::server::Auth;

const USAGE: &str = "options: [--listen ADDR] [--auth trust|password|md5|scram --user U --password P] \
[--tls-cert FILE --tls-key FILE] [--auth-timeout SECS]";

/// The options every example takes.
pub struct Options {
    /// Where to listen.
    pub listen: String,
    /// TLS, when a certificate and key were given.
    pub tls: Option<Arc<Tls>>,
    /// How long a client may take to authenticate.
    pub auth_timeout: Duration,
    /// The one user who may log in and how (`None`: everyone is trusted).
    login: Option<Login>,
}

struct Login {
    method: Method,
    user: String,
    /// The password in the form PostgreSQL would store it for the method.
    secret: StoredSecret,
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Trust,
    Password,
    Md5,
    Scram,
}

/// A TLS configuration: rustls's, and the certificate for SCRAM channel binding.
pub struct Tls {
    /// The rustls server configuration (ALPN `postgresql`).
    pub config: Arc<rustls::ServerConfig>,
    /// The server certificate (DER), for `Connection::handle_tls_established`.
    pub certificate: Vec<u8>,
}

impl Options {
    /// The options from the command line; prints the usage and exits on a mistake.
    #[allow(dead_code)]
    pub fn from_args() -> Options {
        Options::from_list(std::env::args().skip(1).collect())
    }

    /// The options from `args`; prints the usage and exits on a mistake.
    pub fn from_list(args: Vec<String>) -> Options {
        Options::parse(args.into_iter()).unwrap_or_else(|e| {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        })
    }

    /// Reads the options from `args`.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let (mut listen, mut auth, mut user, mut password) =
            ("127.0.0.1:5433".into(), None, None, None);
        let (mut cert, mut key, mut auth_timeout) = (None, None, Duration::from_secs(60));
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--listen" => listen = value()?,
                "--auth" => auth = Some(value()?),
                "--user" => user = Some(value()?),
                "--password" => password = Some(value()?),
                "--tls-cert" => cert = Some(value()?),
                "--tls-key" => key = Some(value()?),
                "--auth-timeout" => {
                    let v = value()?;
                    let secs: f64 = v.parse().map_err(|_| format!("bad --auth-timeout {v}"))?;
                    auth_timeout = Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())?;
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        let login = match auth.as_deref() {
            None => None,
            Some(name) => {
                let method = match name {
                    "trust" => Method::Trust,
                    "password" => Method::Password,
                    "md5" => Method::Md5,
                    "scram" => Method::Scram,
                    other => return Err(format!("unknown --auth method {other}")),
                };
                let (Some(user), Some(password)) = (user, password) else {
                    return Err("--auth needs --user and --password".into());
                };
                let secret = match method {
                    Method::Trust | Method::Password => StoredSecret::Plain(password.into_bytes()),
                    Method::Md5 => StoredSecret::md5(user.as_bytes(), password.as_bytes()),
                    Method::Scram => {
                        let s = ScramSecret::generate(password.as_bytes(), &mut OsRandom)
                            .map_err(|e| e.to_string())?;
                        StoredSecret::Scram(s)
                    }
                };
                Some(Login {
                    method,
                    user,
                    secret,
                })
            }
        };
        let tls = match (cert, key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(Arc::new(load_tls(&cert, &key)?)),
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        Ok(Options {
            listen,
            tls,
            auth_timeout,
            login,
        })
    }

    /// How `user` authenticates. A user other than the configured one still gets the whole
    /// exchange, which then fails like a wrong password (28P01), as in PostgreSQL.
    pub fn auth_for(&self, user: &str) -> Auth {
        let Some(login) = &self.login else {
            return Auth::Trust;
        };
        let secret = (user == login.user).then(|| login.secret.clone());
        match login.method {
            Method::Trust => Auth::Trust,
            Method::Password => Auth::Cleartext(secret),
            Method::Md5 => Auth::Md5(secret),
            Method::Scram => Auth::Scram(secret),
        }
    }
}

fn load_tls(cert: &str, key: &str) -> Result<Tls, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cert}: {e}"))?;
    let certificate = chain
        .first()
        .ok_or(format!("{cert}: no certificate"))?
        .to_vec();
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS: {e}"))?;
    // Direct TLS (PostgreSQL 17+) requires it; libpq 17+ sends it after SSLRequest too.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        certificate,
    })
}

/// Removes `--name VALUE` from `args` and returns the value (the last one if repeated).
#[allow(dead_code)]
pub fn take_flag(args: &mut Vec<String>, name: &str) -> Option<String> {
    let mut found = None;
    while let Some(i) = args.iter().position(|a| a == name) {
        args.remove(i);
        if i < args.len() {
            found = Some(args.remove(i));
        } else {
            eprintln!("{name} needs a value\n{USAGE}");
            std::process::exit(2);
        }
    }
    found
}
