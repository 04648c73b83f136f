//! The client state machine against real PostgreSQL 15 and 18 (scripts/pg.sh), driven by a
//! small blocking loop. Enabled by `--features interop`; fails, never skips, without the servers.
#![cfg(feature = "interop")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pgproto::client::{ClientError, Config, Connection, Event, RequestId, Response, SslMode};
use pgproto::message::{ProtocolVersion, TransactionStatus};

fn port(var: &str) -> u16 {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run through scripts/test.sh"))
        .parse()
        .unwrap()
}

/// A client connection on a blocking socket.
struct Driver {
    sock: TcpStream,
    conn: Connection,
}

impl Driver {
    fn connect(port: u16, config: Config) -> Driver {
        let sock = TcpStream::connect(("127.0.0.1", port)).expect("reach PostgreSQL");
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Driver {
            sock,
            conn: Connection::new(config, Instant::now()),
        }
    }

    fn flush(&mut self) {
        while let Some(b) = self.conn.poll_transmit() {
            self.sock.write_all(&b).unwrap();
        }
    }

    /// The next event, reading from the socket as needed.
    fn next(&mut self) -> Event {
        loop {
            self.flush();
            if let Some(e) = self.conn.poll_event() {
                return e;
            }
            let mut buf = [0u8; 16384];
            match self.sock.read(&mut buf) {
                Ok(0) => self.conn.handle_eof(Instant::now()),
                Ok(n) => self.conn.handle_input(Instant::now(), &buf[..n]),
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Events until Connected (or Closed).
    fn login(&mut self) -> Result<ProtocolVersion, ClientError> {
        loop {
            match self.next() {
                Event::Connected { version } => return Ok(version),
                Event::Closed(e) => return Err(e.unwrap_or(ClientError::Closed)),
                _ => {}
            }
        }
    }

    /// Responses to `id` up to and including its last one (Ready for queries and Syncs).
    fn until_ready(&mut self, id: RequestId) -> Vec<Response> {
        let mut v = Vec::new();
        loop {
            match self.next() {
                Event::Response { request, response } if request == id => {
                    let done = matches!(response, Response::Ready(_));
                    v.push(response);
                    if done {
                        return v;
                    }
                }
                Event::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
    }
}

fn config(user: &str, password: &str) -> Config {
    let mut c = Config::new(user);
    c.database = Some("postgres".into());
    c.ssl_mode = SslMode::Disable;
    if !password.is_empty() {
        c.password = Some(password.as_bytes().to_vec());
    }
    c
}

fn rows(responses: &[Response]) -> Vec<Vec<Option<String>>> {
    responses
        .iter()
        .filter_map(|r| match r {
            Response::DataRow(d) => Some(
                d.values()
                    .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn logs_in_with_every_method_on_postgres_15_and_18() {
    for var in ["PGPROTO_PG15_PORT", "PGPROTO_PG18_PORT"] {
        for (user, pw) in [
            ("pgproto_trust", ""),
            ("pgproto_password", "cleartext-secret"),
            ("pgproto_md5", "md5-secret"),
            ("pgproto_scram", "scram-secret"),
        ] {
            let mut d = Driver::connect(port(var), config(user, pw));
            d.login().unwrap_or_else(|e| panic!("{var} {user}: {e}"));
            let id = d.conn.query("SELECT current_user, 1 + 1").unwrap();
            let r = d.until_ready(id);
            assert_eq!(
                rows(&r),
                [[Some(user.to_string()), Some("2".to_string())]],
                "{var}"
            );
            assert_eq!(r.last(), Some(&Response::Ready(TransactionStatus::Idle)));
            if !pw.is_empty() {
                let mut bad = Driver::connect(port(var), config(user, "wrong"));
                let e = bad.login().unwrap_err();
                assert_eq!(
                    e.sqlstate(),
                    pgproto::SqlState::INVALID_PASSWORD,
                    "{var} {user}: {e}"
                );
            }
        }
    }
}
