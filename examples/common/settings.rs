//! A session's run-time settings (SET / SHOW), shared by the server examples: the parameters a
//! server reports at startup plus the usual others, case-insensitive names kept in PostgreSQL's
//! spelling, and which of them PostgreSQL reports with ParameterStatus when they change.

use pgproto::server::Config;

/// Settings PostgreSQL reports with ParameterStatus when they change, in its spelling.
const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "in_hot_standby",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "scram_iterations",
    "search_path",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

/// Name and value of each setting, in the order first set.
pub struct Settings(Vec<(String, String)>);

impl Settings {
    /// The defaults: what `Config::default()` reports, and the common unreported ones.
    pub fn new() -> Settings {
        let mut list = Config::default().parameters;
        for (k, v) in [
            ("extra_float_digits", "1"),
            ("client_min_messages", "notice"),
            ("statement_timeout", "0"),
            ("transaction_isolation", "read committed"),
            ("max_identifier_length", "63"),
        ] {
            list.push((k.into(), v.into()));
        }
        Settings(list)
    }

    /// Sets a setting; returns its name as first spelled (`datestyle` is `DateStyle`).
    pub fn set(&mut self, name: &str, value: &str) -> String {
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((k, v)) => {
                *v = value.to_string();
                k.clone()
            }
            None => {
                self.0.push((name.to_string(), value.to_string()));
                name.to_string()
            }
        }
    }

    /// A setting's name as first spelled, and its value.
    pub fn get(&self, name: &str) -> Option<(&str, &str)> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether PostgreSQL reports this setting with ParameterStatus when it changes.
    pub fn is_reported(name: &str) -> bool {
        REPORTED.iter().any(|r| r.eq_ignore_ascii_case(name))
    }
}
