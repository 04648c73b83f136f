//! Client-side helpers of the robustness catalogue (`tests/robustness.rs`): hand-built server
//! bytes and client connections left in each state a hostile server can find them in.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use pgproto::auth::{AuthError, RandomSource};
use pgproto::client::{self, ClientError, Event, SslMode};
use pgproto::message::{
    Authentication, BackendKeyData, BackendMessage, CommandComplete, CopyResponse,
    CopyResponseKind, DataRow, ErrorFields, Format, FrontendDecoder, FrontendMessage,
    FrontendPhase, NegotiateProtocolVersion, ParameterStatus, ProtocolVersion, RowDescription,
    SaslMechanisms, TransactionStatus,
};

/// A deterministic random source (xorshift64*): every run draws the same SCRAM nonce.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl RandomSource for Rng {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), AuthError> {
        for b in dest {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

// ----- server bytes ----------------------------------------------------------------------------

pub fn msg(m: BackendMessage) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b).unwrap();
    b.to_vec()
}

pub fn auth(a: Authentication) -> Vec<u8> {
    msg(BackendMessage::Authentication(a))
}

pub fn sasl(mechanisms: &[&str]) -> Vec<u8> {
    auth(Authentication::Sasl(
        SaslMechanisms::new(mechanisms.iter().copied()).unwrap(),
    ))
}

pub fn sasl_continue(data: &[u8]) -> Vec<u8> {
    auth(Authentication::SaslContinue(Bytes::copy_from_slice(data)))
}

pub fn sasl_final(data: &[u8]) -> Vec<u8> {
    auth(Authentication::SaslFinal(Bytes::copy_from_slice(data)))
}

pub fn ready(s: TransactionStatus) -> Vec<u8> {
    msg(BackendMessage::ReadyForQuery(s))
}

pub fn key(pid: i32, key: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    BackendKeyData::write(&mut b, pid, key).unwrap();
    b.to_vec()
}

pub fn param(name: &str, value: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    ParameterStatus::write(&mut b, name, value).unwrap();
    b.to_vec()
}

pub fn fields(severity: &str, code: &str, message: &str) -> ErrorFields {
    ErrorFields::new([
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ])
    .unwrap()
}

pub fn error(severity: &str, code: &str, message: &str) -> Vec<u8> {
    msg(BackendMessage::ErrorResponse(fields(
        severity, code, message,
    )))
}

pub fn row_description(names: &[&str]) -> Vec<u8> {
    let mut b = BytesMut::new();
    RowDescription::write(
        &mut b,
        names
            .iter()
            .map(|n| pgproto::types::column(n, 25, Format::Text)),
    )
    .unwrap();
    b.to_vec()
}

pub fn data_row(values: &[Option<&[u8]>]) -> Vec<u8> {
    let mut b = BytesMut::new();
    DataRow::write(&mut b, values.iter().copied()).unwrap();
    b.to_vec()
}

pub fn command_complete(tag: &str) -> Vec<u8> {
    let mut b = BytesMut::new();
    CommandComplete::write(&mut b, tag).unwrap();
    b.to_vec()
}

pub fn copy_response(kind: CopyResponseKind) -> Vec<u8> {
    let mut b = BytesMut::new();
    CopyResponse::write(&mut b, kind, 0, &[0]).unwrap();
    b.to_vec()
}

pub fn copy_data(data: &[u8]) -> Vec<u8> {
    msg(BackendMessage::CopyData(pgproto::message::CopyData {
        data: Bytes::copy_from_slice(data),
    }))
}

pub fn npv(version: ProtocolVersion, options: &[&str]) -> Vec<u8> {
    msg(BackendMessage::NegotiateProtocolVersion(
        NegotiateProtocolVersion::new(version, options).unwrap(),
    ))
}

/// A frame with any type byte and body, the length word computed.
pub fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![tag];
    b.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    b.extend_from_slice(body);
    b
}

/// A type byte and a length word; the body never comes.
pub fn header(tag: u8, length: u32) -> Vec<u8> {
    let mut b = vec![tag];
    b.extend_from_slice(&length.to_be_bytes());
    b
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// AuthenticationOk, a parameter, a 4-byte cancel key, ReadyForQuery.
pub fn login_bytes() -> Vec<u8> {
    cat(&[
        &auth(Authentication::Ok),
        &param("server_version", "18.0"),
        &key(4242, &[1, 2, 3, 4]),
        &ready(TransactionStatus::Idle),
    ])
}

// ----- client connections --------------------------------------------------------------------

/// `alice` with password `pencil`, no TLS.
pub fn config() -> client::Config {
    let mut c = client::Config::new("alice");
    c.ssl_mode = SslMode::Disable;
    c.password = Some(b"pencil".to_vec());
    c
}

/// A client with this configuration, its first packet taken.
pub fn start(config: client::Config) -> client::Connection {
    let mut c = client::Connection::with_random(config, Instant::now(), Box::new(Rng(7)));
    while c.poll_transmit().is_some() {}
    c
}

/// Startup sent, waiting for authentication.
pub fn fresh() -> client::Connection {
    start(config())
}

/// Every event so far.
pub fn events(c: &mut client::Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

pub fn feed(c: &mut client::Connection, bytes: &[u8]) -> Vec<Event> {
    c.handle_input(Instant::now(), bytes);
    events(c)
}

/// Logged in (trust), idle.
pub fn connected() -> client::Connection {
    let mut c = fresh();
    let ev = feed(&mut c, &login_bytes());
    assert!(
        matches!(ev.last(), Some(Event::Connected { .. })),
        "login failed: {ev:?}"
    );
    c
}

/// Logged in, then `send` made its requests; their bytes taken.
pub fn after(send: fn(&mut client::Connection)) -> client::Connection {
    let mut c = connected();
    send(&mut c);
    while c.poll_transmit().is_some() {}
    assert_eq!(events(&mut c), []);
    c
}

/// Logged in with a simple COPY in progress (`kind`'s response received).
pub fn copying(kind: CopyResponseKind) -> client::Connection {
    let mut c = after(|c| {
        c.query("COPY t FROM STDIN").unwrap();
    });
    let ev = feed(&mut c, &copy_response(kind));
    assert_eq!(ev.len(), 1, "{ev:?}");
    while c.poll_transmit().is_some() {}
    c
}

/// A client with `sslmode=prefer`: SSLRequest sent, waiting for the one-byte answer.
pub fn ssl(mode: SslMode) -> client::Connection {
    let mut config = config();
    config.ssl_mode = mode;
    start(config)
}

/// The client that was offered SCRAM-SHA-256; its SASLInitialResponse is left to be read by
/// [`client_nonce`].
pub fn sasl_started() -> client::Connection {
    let mut c = fresh();
    let ev = feed(&mut c, &sasl(&["SCRAM-SHA-256"]));
    assert_eq!(ev, []);
    c
}

/// The client nonce of the SASLInitialResponse waiting in `c`'s output.
pub fn client_nonce(c: &mut client::Connection) -> String {
    let out = c.poll_transmit().expect("a SASLInitialResponse");
    let mut dec = FrontendDecoder::new();
    dec.set_phase(FrontendPhase::SaslInitialResponse);
    let mut buf = BytesMut::from(&out[..]);
    match dec.decode(&mut buf) {
        Ok(Some(FrontendMessage::SaslInitialResponse(r))) => {
            let first = String::from_utf8(r.data.unwrap().to_vec()).unwrap();
            first.split("r=").nth(1).unwrap().to_string()
        }
        other => panic!("expected a SASLInitialResponse, got {other:?}"),
    }
}

/// A well-formed server-first message extending the client's nonce.
pub fn server_first(c: &mut client::Connection, iterations: u32) -> Vec<u8> {
    let nonce = client_nonce(c);
    format!("r={nonce}srvnonce,s=MDEyMzQ1Njc4OWFiY2RlZg==,i={iterations}").into_bytes()
}

/// The error a row expects: what ends up in `Event::Closed(Some(..))`.
pub fn server_error(severity: &str, code: &str, message: &str) -> ClientError {
    ClientError::Server(fields(severity, code, message))
}
