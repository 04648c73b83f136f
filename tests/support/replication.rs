//! Connections in replication mode for the in-memory replication tests: a client and a server
//! logged in with `replication=database`, in START_REPLICATION's COPY BOTH or not, and the
//! server's output as short names.
#![allow(dead_code)]

use std::time::Instant;

use bytes::{BufMut, BytesMut};
use pgproto::client;
use pgproto::message::{
    BackendDecoder, BackendMessage, Format, ProtocolVersion, Query, StartupMessage,
};
use pgproto::server::{self, Auth, Replication};

/// One backend or frontend frame: type byte, length, body.
pub fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A client logged in with `replication=database` (its startup packet says so), whose
/// START_REPLICATION the server answered with CopyBothResponse; its output taken.
pub fn client_streaming() -> client::Connection {
    let mut config = client::Config::new("repl");
    config.ssl_mode = client::SslMode::Disable;
    config.replication = Some("database".into());
    let now = Instant::now();
    let mut c = client::Connection::new(config, now);
    let startup = c.poll_transmit().expect("startup packet");
    let param = b"replication\0database\0";
    assert!(startup.windows(param.len()).any(|w| w == param));
    let mut input = frame(b'R', &0i32.to_be_bytes());
    input.extend(frame(b'Z', b"I"));
    c.handle_input(now, &input);
    while c.poll_event().is_some() {}
    c.query("START_REPLICATION SLOT \"s\" LOGICAL 0/0").unwrap();
    assert!(c.poll_transmit().is_some());
    c.handle_input(now, &frame(b'W', &[0, 0, 0]));
    let mut saw_copy_both = false;
    while let Some(e) = c.poll_event() {
        saw_copy_both |= matches!(
            e,
            client::Event::Response {
                response: client::Response::CopyBoth(_),
                ..
            }
        );
    }
    assert!(saw_copy_both);
    c
}

/// A server connection logged in with `replication` (`database` or `true`), and a decoder
/// for its output, which is drained.
pub fn server_session(replication: &str) -> (server::Connection, BackendDecoder) {
    let now = Instant::now();
    let mut s: server::Connection = server::Connection::new(server::Config::default(), now);
    let mut out = BytesMut::new();
    StartupMessage::write(
        &mut out,
        ProtocolVersion::V3_0,
        [
            ("user", "u"),
            ("database", "d"),
            ("replication", replication),
        ],
    )
    .unwrap();
    s.handle_input(now, &out);
    while let Some(e) = s.poll_event() {
        if let server::Event::Startup(st) = e {
            assert_ne!(st.replication, Replication::None);
            s.authenticate(Auth::Trust).unwrap();
        }
    }
    assert_ne!(s.replication(), Replication::None);
    let mut dec = BackendDecoder::new();
    replies(&mut s, &mut dec);
    (s, dec)
}

/// A `replication=database` server that received START_REPLICATION and started COPY BOTH;
/// its CopyBothResponse is left in its output.
pub fn server_streaming() -> (server::Connection, BackendDecoder) {
    let (mut s, dec) = server_session("database");
    let mut q = BytesMut::new();
    Query::write(&mut q, "START_REPLICATION SLOT s LOGICAL 0/0").unwrap();
    s.handle_input(Instant::now(), &q);
    assert!(matches!(s.poll_event(), Some(server::Event::Query { .. })));
    s.start_copy_both(Format::Text, &[]).unwrap();
    (s, dec)
}

/// The backend messages written so far, as short names (ParameterStatus and BackendKeyData
/// left out): `E 08P01 message`, `Z Idle`, else the message's Debug form.
pub fn replies(s: &mut server::Connection, dec: &mut BackendDecoder) -> Vec<String> {
    let mut buf = BytesMut::new();
    while let Some(b) = s.poll_transmit() {
        buf.put_slice(&b);
    }
    let mut v = Vec::new();
    while let Ok(Some(m)) = dec.decode(&mut buf) {
        match m {
            BackendMessage::ParameterStatus(_) | BackendMessage::BackendKeyData(_) => {}
            BackendMessage::ErrorResponse(e) => v.push(format!(
                "E {} {}",
                e.sqlstate().unwrap(),
                String::from_utf8_lossy(e.message().unwrap())
            )),
            BackendMessage::ReadyForQuery(z) => v.push(format!("Z {z:?}")),
            other => v.push(format!("{other:?}")),
        }
    }
    v
}
