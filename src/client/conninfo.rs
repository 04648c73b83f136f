//! libpq connection strings. (Being written; this stub holds the TLS policy types.)

/// TLS policy with libpq's `sslmode` meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plaintext first (treated as `Prefer`).
    Allow,
    /// TLS if the server offers it.
    #[default]
    Prefer,
    /// TLS or nothing.
    Require,
    /// TLS, certificate checked against a CA (by the driver's TLS configuration).
    VerifyCa,
    /// TLS, certificate and host name checked (by the driver's TLS configuration).
    VerifyFull,
}

/// How TLS starts, with libpq's `sslnegotiation` meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// SSLRequest first.
    #[default]
    Postgres,
    /// A TLS handshake straight away (PostgreSQL 17+, ALPN `postgresql`).
    Direct,
}
