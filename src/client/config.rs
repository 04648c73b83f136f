//! Client connection configuration.

use crate::auth::{ChannelBindingPolicy, ScramClientConfig};
use crate::message::{BackendLimits, ProtocolVersion};

use super::conninfo::{ConnInfo, SslMode, SslNegotiation};

/// How a client connection starts and authenticates. Defaults are libpq 18's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The user name (required).
    pub user: String,
    /// The password, for cleartext, MD5 or SCRAM authentication.
    pub password: Option<Vec<u8>>,
    /// The database (the server defaults it to the user name).
    pub database: Option<String>,
    /// `application_name`.
    pub application_name: Option<String>,
    /// `options` (command-line style settings: `-c name=value`).
    pub options: Option<String>,
    /// `replication`: `true` (physical) or `database` (logical).
    pub replication: Option<String>,
    /// Other startup parameters (any setting the server accepts there).
    pub params: Vec<(String, String)>,
    /// TLS policy (default `prefer`).
    pub ssl_mode: SslMode,
    /// SSLRequest first (default) or a TLS handshake straight away.
    pub ssl_negotiation: SslNegotiation,
    /// Channel-binding policy (default `prefer`).
    pub channel_binding: ChannelBindingPolicy,
    /// Lowest protocol version accepted (default 3.0).
    pub min_protocol: ProtocolVersion,
    /// Protocol version asked for (default 3.0, as libpq 18; 3.2 gets 32-byte cancel keys from
    /// PostgreSQL 18 and falls back through NegotiateProtocolVersion elsewhere).
    pub max_protocol: ProtocolVersion,
    /// Limits on server messages (libpq's by default).
    pub limits: BackendLimits,
    /// Bounds on what a server may ask of the SCRAM exchange.
    pub scram: ScramClientConfig,
    /// Pipelined requests are offered to the driver once this many bytes are buffered, even
    /// before Sync or Flush (64 KiB).
    pub flush_threshold: usize,
}

impl Config {
    /// A configuration for `user` with every default.
    pub fn new(user: impl Into<String>) -> Config {
        Config {
            user: user.into(),
            password: None,
            database: None,
            application_name: None,
            options: None,
            replication: None,
            params: Vec::new(),
            ssl_mode: SslMode::Prefer,
            ssl_negotiation: SslNegotiation::Postgres,
            channel_binding: ChannelBindingPolicy::Prefer,
            min_protocol: ProtocolVersion::V3_0,
            max_protocol: ProtocolVersion::V3_0,
            limits: BackendLimits::default(),
            scram: ScramClientConfig::default(),
            flush_threshold: 64 * 1024,
        }
    }
}

impl Config {
    /// A configuration from a parsed libpq connection string. The user must be given (this
    /// crate reads no environment and no operating-system user name).
    pub fn from_conninfo(info: &ConnInfo) -> Result<Config, super::ClientError> {
        let user = info.user.clone().ok_or(super::ClientError::Api(
            "the connection string names no user",
        ))?;
        let mut c = Config::new(user);
        c.password = info.password.clone().map(String::into_bytes);
        c.database = info.dbname.clone();
        c.application_name = info.effective_application_name().map(str::to_string);
        c.options = info.options.clone();
        c.replication = info.replication.clone();
        c.ssl_mode = info.sslmode;
        c.ssl_negotiation = info.sslnegotiation;
        c.channel_binding = info.channel_binding;
        c.min_protocol = info.min_protocol_version;
        c.max_protocol = info.max_protocol_version;
        Ok(c)
    }
}
