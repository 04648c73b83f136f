//! Server connection configuration.

use std::time::Duration;

use crate::message::FrontendLimits;

/// How a server connection behaves. Every field has PostgreSQL's default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Size limits for client messages.
    pub limits: FrontendLimits,
    /// How long a client may take from connecting to authenticated (PostgreSQL's
    /// `authentication_timeout`, 60 s).
    pub authentication_timeout: Duration,
    /// The newest minor version of protocol 3 this server speaks (2: PostgreSQL 18). Clients
    /// asking for more get NegotiateProtocolVersion.
    pub max_protocol_minor: u16,
    /// The ParameterStatus values sent after authentication, before the client's own settings
    /// are applied. Defaults to what drivers expect from a UTF-8 PostgreSQL 18.
    pub parameters: Vec<(String, String)>,
    /// Output is offered to the driver once this many bytes are buffered, even in the middle of
    /// a result (64 KiB).
    pub flush_threshold: usize,
    /// When buffered output exceeds this, [`Connection::output_full`](super::Connection::output_full)
    /// says so and the application should stop producing rows until the driver drains it; the
    /// connection itself reads no further input until then (1 MiB).
    pub max_output: usize,
    /// A server-wide secret for the mock salts of unknown users' SCRAM exchanges. `None` draws one
    /// per connection from the random source (salts then differ between connections).
    pub mock_secret: Option<[u8; 32]>,
    /// The process id announced in BackendKeyData (and in notifications from this session).
    pub process_id: i32,
    /// The most prepared statements one session may hold (10,000): PostgreSQL has no such
    /// limit beyond memory; a Parse past it gets ERROR 54000.
    pub max_statements: usize,
    /// The most portals one session may hold at once (10,000); a Bind past it gets ERROR 54000.
    pub max_portals: usize,
    /// Hold the session after a successful authentication: AuthenticationOk is sent and
    /// [`Event::Authenticated`](super::Event::Authenticated) waits for
    /// [`Connection::start_session`](super::Connection::start_session) (or a FATAL error) before
    /// the parameters, BackendKeyData and ReadyForQuery go out. A proxy uses it to log in
    /// upstream first, and to report the upstream's parameters (off).
    pub hold_after_auth: bool,
    /// Report each Sync as [`Event::Sync`](super::Event::Sync), to be answered with
    /// [`Connection::sync_done`](super::Connection::sync_done), instead of answering it with
    /// ReadyForQuery at once: a proxy passes Sync on and reports the upstream's transaction
    /// status (off).
    pub report_sync: bool,
}

impl Default for Config {
    fn default() -> Config {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        Config {
            limits: FrontendLimits::default(),
            authentication_timeout: Duration::from_secs(60),
            max_protocol_minor: 2,
            parameters: vec![
                p("server_version", "18.0"),
                p("server_encoding", "UTF8"),
                p("client_encoding", "UTF8"),
                p("DateStyle", "ISO, MDY"),
                p("IntervalStyle", "postgres"),
                p("TimeZone", "UTC"),
                p("integer_datetimes", "on"),
                p("standard_conforming_strings", "on"),
                p("is_superuser", "off"),
                p("default_transaction_read_only", "off"),
                p("in_hot_standby", "off"),
                p("scram_iterations", "4096"),
                p("search_path", "\"$user\", public"),
            ],
            flush_threshold: 64 * 1024,
            max_output: 1024 * 1024,
            mock_secret: None,
            process_id: 1,
            max_statements: 10_000,
            max_portals: 10_000,
            hold_after_auth: false,
            report_sync: false,
        }
    }
}
