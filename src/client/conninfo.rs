//! libpq connection strings: the `keyword=value` form and `postgresql://` URIs.
//!
//! [`ConnInfo::parse`] reads both forms with libpq 18's rules and checks the values the way
//! libpq does before it connects (port numbers, host/port counts, `sslmode`, protocol versions,
//! ...). Keywords libpq knows but this crate does not interpret are kept in
//! [`ConnInfo::other`] for the driver; keywords libpq does not know are an error, as in libpq.
//!
//! Being sans-IO, the parser consults nothing outside the string: no environment variables
//! (`PGHOST`, `PGUSER`, ...), no service file (`service=`), no password file, no operating
//! system user name and no Unix-socket directory. Where libpq would fill a default from one of
//! those, the field is `None` or takes the documented fallback instead (the default host is
//! `localhost`, where libpq on Unix uses its socket directory).

use core::fmt;
use core::str::FromStr;
use std::time::Duration;

use crate::auth::ChannelBindingPolicy;
use crate::message::ProtocolVersion;

/// TLS policy, with the meanings of libpq's `sslmode`.
///
/// The variants are ordered from weakest to strongest. `VerifyCa` and `VerifyFull` are checks
/// of the server's certificate that the driver's TLS configuration performs (this crate never
/// sees certificates); on the wire they behave like `Require`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SslMode {
    /// `disable`: never TLS.
    Disable,
    /// `allow`: libpq tries plaintext first and retries with TLS if the server rejects the
    /// plaintext connection. A driver that makes a single attempt treats it like `Prefer`.
    Allow,
    /// `prefer` (the default): TLS if the server offers it, plaintext otherwise.
    #[default]
    Prefer,
    /// `require`: TLS or nothing, without checking the server's certificate.
    Require,
    /// `verify-ca`: TLS, with the certificate checked against a trusted CA.
    VerifyCa,
    /// `verify-full`: TLS, with the certificate checked against a trusted CA and the host name.
    VerifyFull,
}

impl SslMode {
    /// The mode for a libpq `sslmode` value (exact, lower-case spelling as libpq requires).
    pub fn from_name(name: &str) -> Option<SslMode> {
        Some(match name {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The libpq spelling (`verify-full`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the connection must use TLS (`require` and the two `verify-*` modes).
    pub fn requires_tls(self) -> bool {
        self >= SslMode::Require
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How TLS starts, with the meanings of libpq's `sslnegotiation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslNegotiation {
    /// `postgres` (the default): an SSLRequest first, then the handshake if the server agrees.
    #[default]
    Postgres,
    /// `direct`: a TLS handshake straight away, with ALPN `postgresql` (PostgreSQL 17+). Only
    /// allowed with an [`SslMode`] of `require` or stronger.
    Direct,
}

impl SslNegotiation {
    /// The negotiation for a libpq `sslnegotiation` value (`postgres` or `direct`).
    pub fn from_name(name: &str) -> Option<SslNegotiation> {
        match name {
            "postgres" => Some(SslNegotiation::Postgres),
            "direct" => Some(SslNegotiation::Direct),
            _ => None,
        }
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslNegotiation::Postgres => "postgres",
            SslNegotiation::Direct => "direct",
        }
    }
}

impl fmt::Display for SslNegotiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connection parameters read from a libpq connection string.
///
/// `ConnInfo::default()` is what an empty string gives. Options given more than once keep
/// their last value, and an empty value counts as not given for every string-valued option
/// (as in libpq, which sends no empty `application_name`, treats `host=` as the default host,
/// and so on); `sslmode=` and the other enumerated options reject an empty value.
///
/// `Debug` shows passwords and other secrets as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Hosts to try in order (`host`, comma-separated): names, IP addresses (IPv6 without
    /// brackets), or Unix-socket directories (see [`ConnInfo::is_unix_socket`]). Never empty;
    /// the default, and the value of each empty list element, is `localhost`.
    pub hosts: Vec<String>,
    /// The port of each host (`port`), as long as `hosts`: one port given applies to every
    /// host, as in libpq. Empty elements and the default are 5432.
    pub ports: Vec<u16>,
    /// `user`. libpq defaults it to the operating-system user name, which is the driver's to
    /// supply.
    pub user: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `dbname`; the server (and libpq) default it to the user name, see
    /// [`ConnInfo::effective_dbname`].
    pub dbname: Option<String>,
    /// `sslmode` (default `prefer`, or `verify-full` when `sslrootcert=system`).
    pub sslmode: SslMode,
    /// `sslnegotiation` (default `postgres`).
    pub sslnegotiation: SslNegotiation,
    /// `channel_binding`: `disable`, `prefer` (the default) or `require`.
    pub channel_binding: ChannelBindingPolicy,
    /// `application_name`.
    pub application_name: Option<String>,
    /// `options`: command-line options for the server process (`-c name=value`).
    pub options: Option<String>,
    /// `replication`, as written (any case): one of `true`, `on`, `yes`, `1`, `false`, `off`,
    /// `no`, `0` (the boolean spellings the server accepts) or `database`.
    pub replication: Option<String>,
    /// `min_protocol_version` (default 3.0): `3.0`, `3.2` or `latest` (3.2).
    pub min_protocol_version: ProtocolVersion,
    /// `max_protocol_version`: `3.0`, `3.2` or `latest` (3.2). The default is 3.0 as in
    /// libpq 18, or 3.2 when `min_protocol_version` asks for more than 3.0.
    pub max_protocol_version: ProtocolVersion,
    /// `connect_timeout`, per connection attempt. `None` (wait indefinitely) for zero, negative
    /// or no value; libpq's minimum of two seconds applies, so `1` means two seconds.
    pub connect_timeout: Option<Duration>,
    /// Keywords libpq knows that this crate does not interpret ([`ConnInfo::OTHER_KEYWORDS`]:
    /// `sslrootcert`, `target_session_attrs`, `hostaddr`, ...), with their values unchecked,
    /// in the order first given.
    pub other: Vec<(String, String)>,
}

impl Default for ConnInfo {
    fn default() -> ConnInfo {
        ConnInfo {
            hosts: vec![ConnInfo::DEFAULT_HOST.to_owned()],
            ports: vec![ConnInfo::DEFAULT_PORT],
            user: None,
            password: None,
            dbname: None,
            sslmode: SslMode::Prefer,
            sslnegotiation: SslNegotiation::Postgres,
            channel_binding: ChannelBindingPolicy::Prefer,
            application_name: None,
            options: None,
            replication: None,
            min_protocol_version: ProtocolVersion::V3_0,
            max_protocol_version: ProtocolVersion::V3_0,
            connect_timeout: None,
            other: Vec::new(),
        }
    }
}

impl ConnInfo {
    /// The host used when none is given.
    pub const DEFAULT_HOST: &'static str = "localhost";
    /// The port used when none is given.
    pub const DEFAULT_PORT: u16 = 5432;

    /// The keywords libpq 18 accepts that are kept in [`ConnInfo::other`] rather than
    /// interpreted here.
    pub const OTHER_KEYWORDS: &'static [&'static str] = &[
        "service",
        "passfile",
        "hostaddr",
        "client_encoding",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslcertmode",
        "sslpassword",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "sslkeylogfile",
        "requirepeer",
        "require_auth",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "target_session_attrs",
        "load_balance_hosts",
        "scram_client_key",
        "scram_server_key",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
    ];

    /// Parses a connection string in either of libpq's forms.
    ///
    /// A string starting with `postgresql://` or `postgres://` is a URI,
    /// `postgresql://[user[:password]@][host[:port][,...]][/dbname][?keyword=value[&...]]`,
    /// percent-decoded in every part; IPv6 addresses go in brackets (`[::1]:5433`), a Unix
    /// socket directory is written percent-encoded (`%2Ftmp`) or as a `host` query parameter,
    /// and query parameters override what the authority says. JDBC's `ssl=true` is accepted as
    /// `sslmode=require`, as libpq does.
    ///
    /// Anything else is the keyword form, `host=localhost port=5432 user='a b'`: pairs
    /// separated by whitespace, optional whitespace around `=`, values either single-quoted
    /// (ending at the next unescaped `'`) or bare (ending at whitespace), with a backslash
    /// taking the next character literally in both.
    ///
    /// ```
    /// use pgproto::client::{ConnInfo, SslMode};
    ///
    /// let a = ConnInfo::parse("host=db1,db2 port=5433 user=alice sslmode=require").unwrap();
    /// let b: ConnInfo = "postgresql://alice@db1:5433,db2:5433?sslmode=require".parse().unwrap();
    /// assert_eq!(a, b);
    /// assert_eq!(a.hosts, ["db1", "db2"]);
    /// assert_eq!(a.ports, [5433, 5433]);
    /// assert_eq!(a.sslmode, SslMode::Require);
    /// assert_eq!(a.effective_dbname(), Some("alice"));
    /// ```
    pub fn parse(s: &str) -> Result<ConnInfo, ConnInfoError> {
        if let Some(at) = s.find('\0') {
            return Err(ConnInfoError::new(ConnInfoErrorKind::ZeroByte, at));
        }
        let mut settings = Settings::default();
        match ["postgresql://", "postgres://"]
            .iter()
            .find(|prefix| s.starts_with(*prefix))
        {
            Some(prefix) => parse_uri(s, prefix.len(), &mut settings)?,
            None => parse_keywords(s, &mut settings)?,
        }
        settings.build()
    }

    /// The database to connect to: `dbname`, or else the user name (the server's default too).
    pub fn effective_dbname(&self) -> Option<&str> {
        self.dbname.as_deref().or(self.user.as_deref())
    }

    /// `application_name`, or else the `fallback_application_name` kept in
    /// [`ConnInfo::other`], as libpq sends it.
    pub fn effective_application_name(&self) -> Option<&str> {
        self.application_name
            .as_deref()
            .or_else(|| self.other_value("fallback_application_name"))
    }

    /// The value of a keyword kept in [`ConnInfo::other`].
    pub fn other_value(&self, keyword: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
    }

    /// Each host with its port, in the order to try them. A `ports` list of one applies to
    /// every host; hosts beyond a longer list's end get 5432.
    pub fn addresses(&self) -> impl Iterator<Item = (&str, u16)> + '_ {
        self.hosts.iter().enumerate().map(move |(i, host)| {
            let port = if self.ports.len() == 1 {
                self.ports[0]
            } else {
                self.ports.get(i).copied().unwrap_or(ConnInfo::DEFAULT_PORT)
            };
            (host.as_str(), port)
        })
    }

    /// Whether a host names a Unix-socket directory rather than a network host: an absolute
    /// path, or an `@`-prefixed name in Linux's abstract namespace. The socket itself is
    /// `<host>/.s.PGSQL.<port>`.
    pub fn is_unix_socket(host: &str) -> bool {
        host.starts_with('/') || host.starts_with('@')
    }

    /// The StartupMessage parameters libpq would send, in its order: `user` (when known),
    /// `database` ([`ConnInfo::effective_dbname`]), `replication`, `options`,
    /// `application_name` ([`ConnInfo::effective_application_name`]) and `client_encoding`
    /// from [`ConnInfo::other`] unless it is `auto` (which libpq resolves from the locale: the
    /// driver's decision).
    pub fn startup_parameters(&self) -> Vec<(&'static str, &str)> {
        let mut params = Vec::with_capacity(6);
        if let Some(user) = &self.user {
            params.push(("user", user.as_str()));
        }
        if let Some(dbname) = self.effective_dbname() {
            params.push(("database", dbname));
        }
        if let Some(replication) = &self.replication {
            params.push(("replication", replication.as_str()));
        }
        if let Some(options) = &self.options {
            params.push(("options", options.as_str()));
        }
        if let Some(name) = self.effective_application_name() {
            params.push(("application_name", name));
        }
        if let Some(encoding) = self.other_value("client_encoding")
            && encoding != "auto"
        {
            params.push(("client_encoding", encoding));
        }
        params
    }
}

impl FromStr for ConnInfo {
    type Err = ConnInfoError;

    fn from_str(s: &str) -> Result<ConnInfo, ConnInfoError> {
        ConnInfo::parse(s)
    }
}

/// Keywords whose values `Debug` does not show.
const SECRET_KEYWORDS: &[&str] = &[
    "sslpassword",
    "oauth_client_secret",
    "scram_client_key",
    "scram_server_key",
];

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

struct OtherDebug<'a>(&'a [(String, String)]);

impl fmt::Debug for OtherDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (k, v) in self.0 {
            if SECRET_KEYWORDS.contains(&k.as_str()) {
                list.entry(&(k, Redacted));
            } else {
                list.entry(&(k, v));
            }
        }
        list.finish()
    }
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("hosts", &self.hosts)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslnegotiation", &self.sslnegotiation)
            .field("channel_binding", &self.channel_binding)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("replication", &self.replication)
            .field("min_protocol_version", &self.min_protocol_version)
            .field("max_protocol_version", &self.max_protocol_version)
            .field("connect_timeout", &self.connect_timeout)
            .field("other", &OtherDebug(&self.other))
            .finish()
    }
}

/// A connection string [`ConnInfo::parse`] rejected: why, and where.
///
/// The messages follow libpq's wording, followed by the byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {position})")]
pub struct ConnInfoError {
    /// What is wrong.
    pub kind: ConnInfoErrorKind,
    /// Byte offset in the parsed string of what the error is about: the keyword for syntax
    /// errors and unknown keywords, the value for invalid values (for a URI, the start of the
    /// part it came from), the offending character for URI syntax and percent-encoding errors.
    /// For two options that contradict each other it points at the value named in
    /// [`ConnInfoErrorKind`]'s description.
    pub position: usize,
}

impl ConnInfoError {
    fn new(kind: ConnInfoErrorKind, position: usize) -> ConnInfoError {
        ConnInfoError { kind, position }
    }

    /// The keyword the error is about, when it is about one.
    pub fn keyword(&self) -> Option<&str> {
        use ConnInfoErrorKind as K;
        match &self.kind {
            K::MissingEquals { keyword } | K::UnknownOption { keyword } => Some(keyword),
            K::InvalidValue { keyword, .. } | K::InvalidInteger { keyword, .. } => Some(keyword),
            K::InvalidPort { .. } | K::PortCountMismatch { .. } => Some("port"),
            K::ProtocolVersionRange => Some("min_protocol_version"),
            K::WeakSslModeForDirect { .. } => Some("sslnegotiation"),
            K::WeakSslModeForSystemRoot { .. } => Some("sslmode"),
            _ => None,
        }
    }
}

/// Why a connection string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnInfoErrorKind {
    /// The string contains a zero byte (at the position).
    #[error("connection string contains a zero byte")]
    ZeroByte,
    /// Keyword form: a keyword not followed by `=`.
    #[error("missing \"=\" after \"{keyword}\" in connection info string")]
    MissingEquals {
        /// The keyword as written.
        keyword: String,
    },
    /// Keyword form: a quoted value without its closing quote (position: the opening quote).
    #[error("unterminated quoted string in connection info string")]
    UnterminatedQuote,
    /// A keyword or URI query parameter libpq does not know.
    #[error("invalid connection option \"{keyword}\"")]
    UnknownOption {
        /// The keyword as written (percent-decoded in a URI).
        keyword: String,
    },
    /// URI: a query parameter without `=`.
    #[error("missing key/value separator \"=\" in URI query parameter: \"{parameter}\"")]
    UriMissingEquals {
        /// The parameter as written.
        parameter: String,
    },
    /// URI: a query parameter with a second `=` (position: that `=`).
    #[error("extra key/value separator \"=\" in URI query parameter: \"{parameter}\"")]
    UriExtraEquals {
        /// The parameter's name as written.
        parameter: String,
    },
    /// URI: `[` without its `]` (position: the `[`).
    #[error("end of string reached when looking for matching \"]\" in IPv6 host address in URI")]
    UnterminatedIpv6,
    /// URI: `[]` (position: the `[`).
    #[error("IPv6 host address may not be empty in URI")]
    EmptyIpv6,
    /// URI: something other than `:`, `,`, `/` or `?` after a bracketed IPv6 address.
    #[error("unexpected character \"{found}\" in URI (expected \":\" or \"/\")")]
    UnexpectedCharacter {
        /// The character found.
        found: char,
    },
    /// URI: a literal space, which must be written `%20` (position: the space).
    #[error("unexpected spaces found in \"{component}\", use percent-encoded spaces (%20) instead")]
    UnexpectedSpace {
        /// The part of the URI that holds it, as written.
        component: String,
    },
    /// URI: `%` not followed by two hexadecimal digits (position: the `%`).
    #[error("invalid percent-encoded token: \"{component}\"")]
    InvalidPercentEncoding {
        /// The part of the URI that holds it, as written.
        component: String,
    },
    /// URI: `%00` (position: the `%`).
    #[error("forbidden value %00 in percent-encoded value: \"{component}\"")]
    PercentEncodedZero {
        /// The part of the URI that holds it, as written.
        component: String,
    },
    /// URI: percent-decoding gives bytes that are not UTF-8 (position: the part).
    #[error("percent-decoded value is not valid UTF-8: \"{component}\"")]
    NotUtf8 {
        /// The part of the URI, as written.
        component: String,
    },
    /// A value outside the keyword's set (`sslmode`, `sslnegotiation`, `channel_binding`,
    /// `min_protocol_version`, `max_protocol_version`, `replication`).
    #[error("invalid {keyword} value: \"{value}\"")]
    InvalidValue {
        /// The keyword.
        keyword: &'static str,
        /// The value given.
        value: String,
    },
    /// `port` or `connect_timeout` not an integer (libpq's: optional surrounding whitespace,
    /// optional sign, decimal digits, within 32 bits).
    #[error("invalid integer value \"{value}\" for connection option \"{keyword}\"")]
    InvalidInteger {
        /// The keyword.
        keyword: &'static str,
        /// The value (for `port`, the list element).
        value: String,
    },
    /// A port outside 1..=65535.
    #[error("invalid port number: \"{value}\"")]
    InvalidPort {
        /// The list element.
        value: String,
    },
    /// Neither one port nor one per host (position: the `port` value).
    #[error("could not match {ports} port numbers to {hosts} hosts")]
    PortCountMismatch {
        /// How many ports were given.
        ports: usize,
        /// How many hosts there are.
        hosts: usize,
    },
    /// `min_protocol_version` above `max_protocol_version` (position: the minimum's value).
    #[error("\"min_protocol_version\" is greater than \"max_protocol_version\"")]
    ProtocolVersionRange,
    /// `sslnegotiation=direct` with an `sslmode` weaker than `require` (position: the
    /// `sslnegotiation` value).
    #[error(
        "weak sslmode \"{sslmode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
    )]
    WeakSslModeForDirect {
        /// The `sslmode` in effect.
        sslmode: SslMode,
    },
    /// `sslrootcert=system` with an `sslmode` other than `verify-full` (position: the
    /// `sslmode` value).
    #[error(
        "weak sslmode \"{sslmode}\" may not be used with sslrootcert=system (use \"verify-full\")"
    )]
    WeakSslModeForSystemRoot {
        /// The `sslmode` given.
        sslmode: SslMode,
    },
}

/// The keywords this module interprets itself.
const MODELED_KEYWORDS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslnegotiation",
    "channel_binding",
    "application_name",
    "options",
    "replication",
    "min_protocol_version",
    "max_protocol_version",
    "connect_timeout",
];

/// libpq's `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One option as given: the last value, and where that value started.
struct Setting {
    keyword: &'static str,
    value: String,
    position: usize,
}

/// The options in the order first given, before their values are checked.
#[derive(Default)]
struct Settings {
    entries: Vec<Setting>,
}

impl Settings {
    /// Records `keyword=value`; `keyword_at` and `value_at` are byte offsets for errors.
    fn set(
        &mut self,
        keyword: &str,
        value: String,
        keyword_at: usize,
        value_at: usize,
    ) -> Result<(), ConnInfoError> {
        // libpq still takes the pre-8.0 `requiressl` (not listed among its keywords).
        let (keyword, value) = if keyword == "requiressl" {
            let mode = if value.starts_with('1') {
                "require"
            } else {
                "prefer"
            };
            ("sslmode", mode.to_owned())
        } else {
            let known = MODELED_KEYWORDS
                .iter()
                .chain(ConnInfo::OTHER_KEYWORDS)
                .find(|k| **k == keyword)
                .ok_or_else(|| {
                    ConnInfoError::new(
                        ConnInfoErrorKind::UnknownOption {
                            keyword: keyword.to_owned(),
                        },
                        keyword_at,
                    )
                })?;
            (*known, value)
        };
        match self.entries.iter_mut().find(|e| e.keyword == keyword) {
            Some(entry) => {
                entry.value = value;
                entry.position = value_at;
            }
            None => self.entries.push(Setting {
                keyword,
                value,
                position: value_at,
            }),
        }
        Ok(())
    }

    fn get(&self, keyword: &str) -> Option<(&str, usize)> {
        self.entries
            .iter()
            .find(|e| e.keyword == keyword)
            .map(|e| (e.value.as_str(), e.position))
    }

    /// A string option: `None` when absent or empty.
    fn string(&self, keyword: &str) -> Option<String> {
        self.get(keyword)
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, _)| v.to_owned())
    }

    /// An enumerated option: `Ok(None)` when absent, an error for a value outside the set.
    fn choice<T>(
        &self,
        keyword: &'static str,
        from_name: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<(T, usize)>, ConnInfoError> {
        match self.get(keyword) {
            None => Ok(None),
            Some((value, at)) => match from_name(value) {
                Some(v) => Ok(Some((v, at))),
                None => Err(invalid_value(keyword, value, at)),
            },
        }
    }

    /// Checks every value and assembles the result, in roughly the order libpq checks.
    fn build(self) -> Result<ConnInfo, ConnInfoError> {
        let hosts: Vec<String> = match self.get("host") {
            Some((list, _)) if !list.is_empty() => list
                .split(',')
                .map(|h| {
                    if h.is_empty() {
                        ConnInfo::DEFAULT_HOST
                    } else {
                        h
                    }
                })
                .map(str::to_owned)
                .collect(),
            _ => vec![ConnInfo::DEFAULT_HOST.to_owned()],
        };
        let ports = match self.get("port") {
            Some((list, at)) if !list.is_empty() => {
                let elems: Vec<&str> = list.split(',').collect();
                if elems.len() != 1 && elems.len() != hosts.len() {
                    return Err(ConnInfoError::new(
                        ConnInfoErrorKind::PortCountMismatch {
                            ports: elems.len(),
                            hosts: hosts.len(),
                        },
                        at,
                    ));
                }
                let ports = elems
                    .iter()
                    .map(|e| parse_port(e, at))
                    .collect::<Result<Vec<u16>, _>>()?;
                if ports.len() == 1 {
                    vec![ports[0]; hosts.len()]
                } else {
                    ports
                }
            }
            _ => vec![ConnInfo::DEFAULT_PORT; hosts.len()],
        };

        let channel_binding = self
            .choice("channel_binding", |v| match v {
                "disable" => Some(ChannelBindingPolicy::Disable),
                "prefer" => Some(ChannelBindingPolicy::Prefer),
                "require" => Some(ChannelBindingPolicy::Require),
                _ => None,
            })?
            .map_or(ChannelBindingPolicy::Prefer, |(v, _)| v);

        let system_roots = self.get("sslrootcert").map(|(v, _)| v) == Some("system");
        let sslmode = match self.choice("sslmode", SslMode::from_name)? {
            Some((mode, at)) => {
                if system_roots && mode != SslMode::VerifyFull {
                    return Err(ConnInfoError::new(
                        ConnInfoErrorKind::WeakSslModeForSystemRoot { sslmode: mode },
                        at,
                    ));
                }
                mode
            }
            None if system_roots => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        let sslnegotiation = match self.choice("sslnegotiation", SslNegotiation::from_name)? {
            Some((SslNegotiation::Direct, at)) if !sslmode.requires_tls() => {
                return Err(ConnInfoError::new(
                    ConnInfoErrorKind::WeakSslModeForDirect { sslmode },
                    at,
                ));
            }
            Some((negotiation, _)) => negotiation,
            None => SslNegotiation::Postgres,
        };

        let min = self.choice("min_protocol_version", parse_protocol_version)?;
        let max = self.choice("max_protocol_version", parse_protocol_version)?;
        let min_protocol_version = min.map_or(ProtocolVersion::V3_0, |(v, _)| v);
        let max_protocol_version = match max {
            Some((v, _)) => v,
            // libpq 18 asks for 3.0 unless the minimum needs more.
            None if min_protocol_version > ProtocolVersion::V3_0 => LATEST_PROTOCOL,
            None => ProtocolVersion::V3_0,
        };
        if min_protocol_version > max_protocol_version {
            let at = min.map_or(0, |(_, at)| at);
            return Err(ConnInfoError::new(
                ConnInfoErrorKind::ProtocolVersionRange,
                at,
            ));
        }

        let connect_timeout = match self.get("connect_timeout") {
            None => None,
            Some((value, at)) => match parse_c_int(value) {
                None => {
                    return Err(ConnInfoError::new(
                        ConnInfoErrorKind::InvalidInteger {
                            keyword: "connect_timeout",
                            value: value.to_owned(),
                        },
                        at,
                    ));
                }
                Some(secs) if secs <= 0 => None,
                Some(secs) => Some(Duration::from_secs(secs.max(2).unsigned_abs())),
            },
        };

        let replication = match self.get("replication") {
            Some((value, at)) if !value.is_empty() => {
                const ALLOWED: &[&str] = &[
                    "true", "on", "yes", "1", "false", "off", "no", "0", "database",
                ];
                if !ALLOWED.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    return Err(invalid_value("replication", value, at));
                }
                Some(value.to_owned())
            }
            _ => None,
        };

        let other = self
            .entries
            .iter()
            .filter(|e| !MODELED_KEYWORDS.contains(&e.keyword) && !e.value.is_empty())
            .map(|e| (e.keyword.to_owned(), e.value.clone()))
            .collect();

        Ok(ConnInfo {
            hosts,
            ports,
            user: self.string("user"),
            password: self.string("password"),
            dbname: self.string("dbname"),
            sslmode,
            sslnegotiation,
            channel_binding,
            application_name: self.string("application_name"),
            options: self.string("options"),
            replication,
            min_protocol_version,
            max_protocol_version,
            connect_timeout,
            other,
        })
    }
}

/// What `latest` means: the newest protocol this crate speaks.
const LATEST_PROTOCOL: ProtocolVersion = ProtocolVersion::V3_2;

fn parse_protocol_version(value: &str) -> Option<ProtocolVersion> {
    match value {
        "3.0" => Some(ProtocolVersion::V3_0),
        // There never was a 3.1.
        "3.2" => Some(ProtocolVersion::V3_2),
        "latest" => Some(LATEST_PROTOCOL),
        _ => None,
    }
}

fn invalid_value(keyword: &'static str, value: &str, at: usize) -> ConnInfoError {
    ConnInfoError::new(
        ConnInfoErrorKind::InvalidValue {
            keyword,
            value: value.to_owned(),
        },
        at,
    )
}

/// An integer the way libpq reads one (`strtol` in base 10 with nothing but whitespace
/// after it, within C `int`): optional whitespace, an optional sign, digits, optional
/// whitespace.
fn parse_c_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let negative = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.checked_mul(10)?.checked_add(i64::from(b[i] - b'0'))?;
        i += 1;
    }
    if i == digits_start || !b[i..].iter().all(|&c| is_space(c)) {
        return None;
    }
    let n = if negative { -n } else { n };
    i32::try_from(n).ok().map(i64::from)
}

/// One element of a `port` list: empty for the default, else an integer in 1..=65535.
fn parse_port(elem: &str, at: usize) -> Result<u16, ConnInfoError> {
    if elem.is_empty() {
        return Ok(ConnInfo::DEFAULT_PORT);
    }
    let n = parse_c_int(elem).ok_or_else(|| {
        ConnInfoError::new(
            ConnInfoErrorKind::InvalidInteger {
                keyword: "port",
                value: elem.to_owned(),
            },
            at,
        )
    })?;
    u16::try_from(n).ok().filter(|&p| p != 0).ok_or_else(|| {
        ConnInfoError::new(
            ConnInfoErrorKind::InvalidPort {
                value: elem.to_owned(),
            },
            at,
        )
    })
}

/// The keyword form: `keyword = value` pairs separated by whitespace.
fn parse_keywords(s: &str, settings: &mut Settings) -> Result<(), ConnInfoError> {
    let b = s.as_bytes();
    let len = b.len();
    let mut i = 0;
    loop {
        while i < len && is_space(b[i]) {
            i += 1;
        }
        if i == len {
            return Ok(());
        }
        let keyword_at = i;
        while i < len && b[i] != b'=' && !is_space(b[i]) {
            i += 1;
        }
        let keyword = &s[keyword_at..i];
        while i < len && is_space(b[i]) {
            i += 1;
        }
        if i == len || b[i] != b'=' {
            return Err(ConnInfoError::new(
                ConnInfoErrorKind::MissingEquals {
                    keyword: keyword.to_owned(),
                },
                keyword_at,
            ));
        }
        i += 1;
        // As in libpq, whitespace after `=` is skipped even when a keyword follows it:
        // `host= port=1` sets host to "port=1".
        while i < len && is_space(b[i]) {
            i += 1;
        }
        let value_at = i;
        // Only ASCII bytes are dropped (quotes and backslashes), so the kept bytes stay UTF-8;
        // a backslash before a multi-byte character keeps all of its bytes, one per step.
        let mut value = Vec::new();
        if i < len && b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(ConnInfoError::new(
                            ConnInfoErrorKind::UnterminatedQuote,
                            value_at,
                        ));
                    }
                    Some(b'\\') => {
                        if let Some(&c) = b.get(i + 1) {
                            value.push(c);
                        }
                        i += 2;
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < len && !is_space(b[i]) {
                if b[i] == b'\\' {
                    if let Some(&c) = b.get(i + 1) {
                        value.push(c);
                    }
                    i += 2;
                } else {
                    value.push(b[i]);
                    i += 1;
                }
            }
        }
        i = i.min(len);
        let value = String::from_utf8(value).map_err(|_| {
            // Unreachable: see above. Reported rather than panicking all the same.
            ConnInfoError::new(
                ConnInfoErrorKind::NotUtf8 {
                    component: s[value_at..i].to_owned(),
                },
                value_at,
            )
        })?;
        settings.set(keyword, value, keyword_at, value_at)?;
    }
}

/// Percent-decodes one part of a URI that starts at byte `at` of the whole string.
fn decode(part: &str, at: usize) -> Result<String, ConnInfoError> {
    let err = |kind: fn(String) -> ConnInfoErrorKind, offset: usize| {
        ConnInfoError::new(kind(part.to_owned()), at + offset)
    };
    if let Some(space) = part.find(' ') {
        return Err(err(
            |component| ConnInfoErrorKind::UnexpectedSpace { component },
            space,
        ));
    }
    if !part.contains('%') {
        return Ok(part.to_owned());
    }
    let b = part.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(0), Some(0)) => {
                return Err(err(
                    |component| ConnInfoErrorKind::PercentEncodedZero { component },
                    i,
                ));
            }
            (Some(hi), Some(lo)) => {
                // Two hex digits: at most 0xff.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                return Err(err(
                    |component| ConnInfoErrorKind::InvalidPercentEncoding { component },
                    i,
                ));
            }
        }
    }
    String::from_utf8(out).map_err(|_| err(|component| ConnInfoErrorKind::NotUtf8 { component }, 0))
}

/// The URI form, after the `postgres://` or `postgresql://` prefix (which ends at `start`).
fn parse_uri(s: &str, start: usize, settings: &mut Settings) -> Result<(), ConnInfoError> {
    let b = s.as_bytes();
    let len = b.len();
    let mut p = start;

    // userspec: up to an `@` before the path or query.
    let authority_end = s[p..].find(['/', '?']).map_or(len, |i| p + i);
    if let Some(at_sign) = s[p..authority_end].find('@').map(|i| p + i) {
        let userspec = &s[p..at_sign];
        let (user, password) = match userspec.find(':') {
            Some(colon) => (
                &userspec[..colon],
                Some((&userspec[colon + 1..], p + colon + 1)),
            ),
            None => (userspec, None),
        };
        if !user.is_empty() {
            settings.set("user", decode(user, p)?, p, p)?;
        }
        if let Some((password, password_at)) = password
            && !password.is_empty()
        {
            let value = decode(password, password_at)?;
            settings.set("password", value, password_at, password_at)?;
        }
        p = at_sign + 1;
    }

    // hostspec: host[:port] elements separated by commas.
    let hosts_at = p;
    let mut hosts = String::new();
    let mut hosts_raw_len = 0;
    let mut ports = String::new();
    let mut ports_raw_len = 0;
    let mut ports_at = None;
    loop {
        let host_at;
        let host;
        if b.get(p) == Some(&b'[') {
            let open = p;
            let close = s[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| ConnInfoError::new(ConnInfoErrorKind::UnterminatedIpv6, open))?;
            if close == open + 1 {
                return Err(ConnInfoError::new(ConnInfoErrorKind::EmptyIpv6, open));
            }
            host_at = open + 1;
            host = &s[host_at..close];
            p = close + 1;
            if let Some(found) = s[p..].chars().next()
                && !matches!(found, ':' | '/' | '?' | ',')
            {
                return Err(ConnInfoError::new(
                    ConnInfoErrorKind::UnexpectedCharacter { found },
                    p,
                ));
            }
        } else {
            host_at = p;
            while p < len && !matches!(b[p], b':' | b'/' | b'?' | b',') {
                p += 1;
            }
            host = &s[host_at..p];
        }
        hosts.push_str(&decode(host, host_at)?);
        hosts_raw_len += host.len();
        if b.get(p) == Some(&b':') {
            p += 1;
            let port_at = p;
            while p < len && !matches!(b[p], b'/' | b'?' | b',') {
                p += 1;
            }
            let port = &s[port_at..p];
            ports.push_str(&decode(port, port_at)?);
            ports_raw_len += port.len();
            ports_at.get_or_insert(port_at);
        }
        if b.get(p) != Some(&b',') {
            break;
        }
        p += 1;
        hosts.push(',');
        hosts_raw_len += 1;
        ports.push(',');
        ports_raw_len += 1;
    }
    if hosts_raw_len > 0 {
        settings.set("host", hosts, hosts_at, hosts_at)?;
    }
    if ports_raw_len > 0 {
        let at = ports_at.unwrap_or(hosts_at);
        settings.set("port", ports, at, at)?;
    }

    // /dbname
    if b.get(p) == Some(&b'/') {
        p += 1;
        let dbname_at = p;
        p = s[p..].find('?').map_or(len, |i| p + i);
        let dbname = &s[dbname_at..p];
        if !dbname.is_empty() {
            settings.set("dbname", decode(dbname, dbname_at)?, dbname_at, dbname_at)?;
        }
    }

    // ?keyword=value&...
    if b.get(p) == Some(&b'?') {
        p += 1;
        while p < len {
            let param_at = p;
            let end = s[p..].find('&').map_or(len, |i| p + i);
            let param = &s[param_at..end];
            let Some(eq) = param.find('=') else {
                return Err(ConnInfoError::new(
                    ConnInfoErrorKind::UriMissingEquals {
                        parameter: param.to_owned(),
                    },
                    param_at,
                ));
            };
            let value_at = param_at + eq + 1;
            if let Some(extra) = param[eq + 1..].find('=') {
                return Err(ConnInfoError::new(
                    ConnInfoErrorKind::UriExtraEquals {
                        parameter: param[..eq].to_owned(),
                    },
                    value_at + extra,
                ));
            }
            let keyword = decode(&param[..eq], param_at)?;
            let value = decode(&param[eq + 1..], value_at)?;
            if keyword == "ssl" && value == "true" {
                // JDBC's spelling, which libpq accepts.
                settings.set("sslmode", "require".to_owned(), param_at, value_at)?;
            } else {
                settings.set(&keyword, value, param_at, value_at)?;
            }
            p = if end < len { end + 1 } else { len };
        }
    }
    Ok(())
}
