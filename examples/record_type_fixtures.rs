//! Records the text and binary forms PostgreSQL sends for the values listed in
//! tests/fixtures/types_cases.txt, as tab-separated lines (type, OID, TimeZone offset in
//! seconds, expression, text form in hex, binary form in hex; `NULL` for SQL NULL).
//!
//! It is a small client built on the message layer alone. scripts/record-type-fixtures.sh runs
//! it against PostgreSQL 18 and writes tests/fixtures/types_pg18.tsv, which tests/types_fixture.rs
//! compares our codecs with, byte for byte.
//!
//! `cargo run --example record_type_fixtures -- [--port 54318] [--cases FILE] [--user U]`

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::BytesMut;
use pgproto::message::{
    Authentication, BackendDecoder, BackendMessage, Bind, Describe, Execute, FrontendMessage,
    Parse, ProtocolVersion, Query, StartupMessage, Target,
};

struct Client {
    sock: TcpStream,
    dec: BackendDecoder,
    input: BytesMut,
    out: BytesMut,
}

impl Client {
    fn recv(&mut self) -> BackendMessage {
        loop {
            match self.dec.decode(&mut self.input) {
                Ok(Some(m)) => return m,
                Ok(None) => {}
                Err(e) => fail(&format!("undecodable server message: {e}")),
            }
            let mut chunk = [0u8; 8192];
            let n = self
                .sock
                .read(&mut chunk)
                .unwrap_or_else(|e| fail(&e.to_string()));
            if n == 0 {
                fail("server closed the connection");
            }
            self.input.extend_from_slice(&chunk[..n]);
        }
    }

    fn send(&mut self) {
        self.sock
            .write_all(&self.out)
            .unwrap_or_else(|e| fail(&e.to_string()));
        self.out.clear();
    }

    /// Messages up to ReadyForQuery; an ErrorResponse aborts.
    fn until_ready(&mut self, what: &str) -> Vec<BackendMessage> {
        let mut v = Vec::new();
        loop {
            match self.recv() {
                BackendMessage::ReadyForQuery(_) => return v,
                BackendMessage::ErrorResponse(e) => fail(&format!("{what}: {e:?}")),
                m => v.push(m),
            }
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("record_type_fixtures: {msg}");
    std::process::exit(1);
}

fn hex(v: Option<&[u8]>) -> String {
    match v {
        None => "NULL".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// Seconds east of UTC for a TimeZone column (`UTC`, `+05:30`, `-08:00`).
fn offset_seconds(tz: &str) -> i32 {
    if tz == "UTC" {
        return 0;
    }
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let (h, m) = tz[1..]
        .split_once(':')
        .unwrap_or_else(|| fail(&format!("bad offset {tz}")));
    sign * (h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60)
}

fn main() {
    let mut port = "54318".to_string();
    let mut cases = "tests/fixtures/types_cases.txt".to_string();
    let mut user = "pgproto_trust".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args
            .next()
            .unwrap_or_else(|| fail(&format!("{a} needs a value")));
        match a.as_str() {
            "--port" => port = v,
            "--cases" => cases = v,
            "--user" => user = v,
            _ => fail(&format!("unknown option {a}")),
        }
    }
    let sock =
        TcpStream::connect(format!("127.0.0.1:{port}")).unwrap_or_else(|e| fail(&e.to_string()));
    let mut c = Client {
        sock,
        dec: BackendDecoder::new(),
        input: BytesMut::new(),
        out: BytesMut::new(),
    };
    StartupMessage::write(
        &mut c.out,
        ProtocolVersion::V3_0,
        [("user", user.as_str()), ("database", "postgres")],
    )
    .unwrap();
    c.send();
    let mut version = String::new();
    loop {
        match c.recv() {
            BackendMessage::Authentication(Authentication::Ok)
            | BackendMessage::BackendKeyData(_) => {}
            BackendMessage::Authentication(a) => fail(&format!("use a trusted user, not {a:?}")),
            BackendMessage::ParameterStatus(p) if p.name == "server_version" => {
                version = p.value.to_string()
            }
            BackendMessage::ParameterStatus(_) => {}
            BackendMessage::ReadyForQuery(_) => break,
            m => fail(&format!("during startup: {m:?}")),
        }
    }
    eprintln!("recording from PostgreSQL {version}");
    println!("# recorded from PostgreSQL {version} by examples/record_type_fixtures.rs");
    println!("# type\toid\tutc_offset\texpression\ttext_hex\tbinary_hex");

    let text = std::fs::read_to_string(&cases).unwrap_or_else(|e| fail(&format!("{cases}: {e}")));
    let mut zone = String::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let mut cols = line.splitn(3, '\t');
        let (Some(ty), Some(tz), Some(expr)) = (cols.next(), cols.next(), cols.next()) else {
            fail(&format!("bad case line: {line}"))
        };
        if tz != zone {
            let set = if tz == "UTC" {
                "SET TIME ZONE 'UTC'".to_string()
            } else {
                format!("SET TIME ZONE INTERVAL '{tz}' HOUR TO MINUTE")
            };
            Query::write(&mut c.out, &set).unwrap();
            c.send();
            c.until_ready(&set);
            zone = tz.to_string();
        }
        let sql = format!("SELECT {expr}");
        Parse::write(&mut c.out, "", &sql, &[]).unwrap();
        Bind::write(&mut c.out, "", "", &[], [], &[0]).unwrap();
        Describe::write(&mut c.out, Target::Portal, "").unwrap();
        Execute::write(&mut c.out, "", 0).unwrap();
        Bind::write(&mut c.out, "", "", &[], [], &[1]).unwrap();
        Execute::write(&mut c.out, "", 0).unwrap();
        FrontendMessage::Sync.encode(&mut c.out).unwrap();
        c.send();
        let mut oid = 0;
        let mut rows = Vec::new();
        for m in c.until_ready(&sql) {
            match m {
                BackendMessage::RowDescription(d) => {
                    oid = d.fields().next().map_or(0, |f| f.type_oid)
                }
                BackendMessage::DataRow(r) => rows.push(hex(r.values().next().flatten())),
                _ => {}
            }
        }
        let [text_hex, binary_hex] = &rows[..] else {
            fail(&format!("{sql}: expected two rows"))
        };
        println!(
            "{ty}\t{oid}\t{}\t{expr}\t{text_hex}\t{binary_hex}",
            offset_seconds(tz)
        );
    }
}
