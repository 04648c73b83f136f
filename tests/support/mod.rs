//! Shared helpers of the interop tests: a minimal blocking client over the message layer.
#![allow(dead_code)]

pub mod fixture;
pub mod replay;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use pgproto::message::{
    BackendDecoder, BackendMessage, FrontendMessage, ProtocolVersion, Query, StartupMessage,
};

/// The port of the PostgreSQL 15 cluster that scripts/pg.sh starts.
pub fn pg15_port() -> u16 {
    let p = std::env::var("PGPROTO_PG15_PORT")
        .expect("PGPROTO_PG15_PORT is not set: run the interop tests through scripts/test.sh");
    p.parse().expect("PGPROTO_PG15_PORT is a port number")
}

/// A TCP connection to that cluster.
pub fn pg15_tcp() -> TcpStream {
    let sock = TcpStream::connect(("127.0.0.1", pg15_port()))
        .expect("cannot reach PostgreSQL 15: did scripts/pg.sh run?");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock
}

/// The port of the PostgreSQL 18 cluster that `scripts/pg.sh 18` starts.
pub fn pg18_port() -> u16 {
    let p = std::env::var("PGPROTO_PG18_PORT")
        .expect("PGPROTO_PG18_PORT is not set: run the interop tests through scripts/test.sh");
    p.parse().expect("PGPROTO_PG18_PORT is a port number")
}

/// A TCP connection to that cluster.
pub fn pg18_tcp() -> TcpStream {
    let sock = TcpStream::connect(("127.0.0.1", pg18_port()))
        .expect("cannot reach PostgreSQL 18: did scripts/pg.sh 18 run?");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock
}

/// A client connection made of the message layer alone, over any byte stream.
pub struct PgConn<S> {
    pub sock: S,
    pub dec: BackendDecoder,
    pub input: BytesMut,
    pub out: BytesMut,
}

impl<S: Read + Write> PgConn<S> {
    pub fn new(sock: S) -> PgConn<S> {
        PgConn {
            sock,
            dec: BackendDecoder::new(),
            input: BytesMut::new(),
            out: BytesMut::new(),
        }
    }

    /// Sends a StartupMessage for `user` on database `postgres`, with `extra` parameters.
    pub fn startup(&mut self, user: &str, version: ProtocolVersion, extra: &[(&str, &str)]) {
        let mut params = vec![("user", user), ("database", "postgres")];
        params.extend_from_slice(extra);
        StartupMessage::write(&mut self.out, version, params).unwrap();
        self.flush();
    }

    pub fn send(&mut self, m: FrontendMessage) {
        m.encode(&mut self.out).unwrap();
    }

    pub fn flush(&mut self) {
        self.sock.write_all(&self.out).unwrap();
        self.sock.flush().unwrap();
        self.out.clear();
    }

    pub fn recv(&mut self) -> BackendMessage {
        loop {
            if let Some(m) = self
                .dec
                .decode(&mut self.input)
                .expect("server bytes decode")
            {
                return m;
            }
            let mut chunk = [0u8; 4096];
            let n = self.sock.read(&mut chunk).expect("read from server");
            assert!(n > 0, "server closed the connection");
            self.input.extend_from_slice(&chunk[..n]);
        }
    }

    /// Every message up to and including the next ReadyForQuery.
    pub fn until_ready(&mut self) -> Vec<BackendMessage> {
        self.until(|m| matches!(m, BackendMessage::ReadyForQuery(_)))
    }

    /// Every message up to and including the first for which `stop` holds.
    pub fn until(&mut self, stop: impl Fn(&BackendMessage) -> bool) -> Vec<BackendMessage> {
        let mut v = Vec::new();
        loop {
            let m = self.recv();
            let done = stop(&m);
            v.push(m);
            if done {
                return v;
            }
        }
    }

    pub fn query(&mut self, sql: &str) -> Vec<BackendMessage> {
        Query::write(&mut self.out, sql).unwrap();
        self.flush();
        self.until_ready()
    }

    /// The single text value of a one-row, one-column query.
    pub fn query_value(&mut self, sql: &str) -> String {
        let t = self.query(sql);
        for m in &t {
            if let BackendMessage::DataRow(d) = m {
                return String::from_utf8(d.values().next().unwrap().unwrap().to_vec()).unwrap();
            }
        }
        panic!("no row from {sql}: {t:?}");
    }
}

/// A compact transcript: one string per message, for readable assertions.
pub fn names(ms: &[BackendMessage]) -> Vec<String> {
    ms.iter()
        .map(|m| match m {
            BackendMessage::RowDescription(t) => format!("T{}", t.len()),
            BackendMessage::DataRow(d) => {
                let vals: Vec<String> = d
                    .values()
                    .map(|v| v.map_or("NULL".into(), |v| String::from_utf8_lossy(v).into_owned()))
                    .collect();
                format!("D[{}]", vals.join(","))
            }
            BackendMessage::CommandComplete(c) => format!("C {}", c.tag),
            BackendMessage::ErrorResponse(e) => format!("E {}", e.sqlstate().unwrap()),
            BackendMessage::NoticeResponse(e) => format!("N {}", e.sqlstate().unwrap()),
            BackendMessage::ReadyForQuery(s) => format!("Z{}", s.byte() as char),
            BackendMessage::ParseComplete => "1".into(),
            BackendMessage::BindComplete => "2".into(),
            BackendMessage::CloseComplete => "3".into(),
            BackendMessage::NoData => "n".into(),
            BackendMessage::PortalSuspended => "s".into(),
            BackendMessage::EmptyQueryResponse => "I".into(),
            BackendMessage::ParameterDescription(p) => {
                format!("t{:?}", p.types.iter().collect::<Vec<_>>())
            }
            BackendMessage::CopyInResponse(_) => "G".into(),
            BackendMessage::CopyOutResponse(_) => "H".into(),
            BackendMessage::CopyData(d) => format!("d{:?}", String::from_utf8_lossy(&d.data)),
            BackendMessage::CopyDone => "c".into(),
            BackendMessage::NotificationResponse(n) => format!("A {} {}", n.channel, n.payload),
            other => format!("{other:?}"),
        })
        .collect()
}
