//! A minimal PostgreSQL-compatible server on the message layer alone, one thread per
//! connection: it trusts every user, declines TLS, and answers every simple query with one
//! row echoing the query text. `psql -h 127.0.0.1 -p 5433 -U postgres` can talk to it.
//!
//! This is the interim main job, until the server state machine (issue 5) and the SQLite
//! server replace it. Run: `cargo run --example hello_server -- --listen 127.0.0.1:5433`
//! (port 0 picks a free port; the address is printed as `listening on ADDR`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use bytes::BytesMut;
use pgproto::SqlState;
use pgproto::message::{
    Authentication, BackendKeyData, BackendMessage, CommandComplete, DataRow, ErrorFields,
    FieldDescription, FrontendDecoder, FrontendMessage, ParameterStatus, RowDescription,
    TransactionStatus, error_field,
};

fn main() -> std::io::Result<()> {
    let mut listen = "127.0.0.1:5433".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().expect("--listen needs an address"),
            other => {
                eprintln!("unknown option {other}; usage: hello_server [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(&listen)?;
    println!("listening on {}", listener.local_addr()?);
    for (pid, stream) in (1..).zip(listener.incoming()) {
        let stream = stream?;
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, pid) {
                eprintln!("connection {pid}: {e}");
            }
        });
    }
    Ok(())
}

fn serve(mut sock: TcpStream, pid: i32) -> std::io::Result<()> {
    let mut decoder = FrontendDecoder::new();
    let mut input = BytesMut::with_capacity(8192);
    let mut out = BytesMut::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    // Extended-query messages are refused; after the error everything up to Sync is skipped.
    let mut skipping = false;
    loop {
        let n = sock.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..n]);
        loop {
            let msg = match decoder.decode(&mut input) {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => {
                    let code = e.sqlstate();
                    let fatal = !e.is_recoverable();
                    let severity = if fatal { "FATAL" } else { "ERROR" };
                    error(&mut out, severity, code, &e.to_string());
                    if fatal {
                        sock.write_all(&out)?;
                        return Ok(());
                    }
                    continue;
                }
            };
            match msg {
                FrontendMessage::SslRequest | FrontendMessage::GssEncRequest => {
                    BackendMessage::SslResponse { accepted: false }
                        .encode(&mut out)
                        .ok();
                }
                FrontendMessage::CancelRequest(_) => return Ok(()),
                FrontendMessage::Startup(_) => {
                    Authentication::Ok.encode(&mut out).ok();
                    for (k, v) in [
                        ("server_version", "18.0 (pgproto hello_server)"),
                        ("server_encoding", "UTF8"),
                        ("client_encoding", "UTF8"),
                        ("DateStyle", "ISO, MDY"),
                        ("integer_datetimes", "on"),
                        ("standard_conforming_strings", "on"),
                    ] {
                        ParameterStatus::write(&mut out, k, v).ok();
                    }
                    BackendKeyData::write(&mut out, pid, &pid.to_be_bytes()).ok();
                    ready(&mut out);
                }
                FrontendMessage::Query(q) => {
                    let text = q.sql.as_bytes();
                    if text.iter().all(u8::is_ascii_whitespace) {
                        BackendMessage::EmptyQueryResponse.encode(&mut out).ok();
                    } else {
                        let col = FieldDescription {
                            name: b"query",
                            table_oid: 0,
                            column_id: 0,
                            type_oid: 25,
                            type_size: -1,
                            type_modifier: -1,
                            format: 0,
                        };
                        RowDescription::write(&mut out, [col]).ok();
                        DataRow::write(&mut out, [Some(text)]).ok();
                        CommandComplete::write(&mut out, "SELECT 1").ok();
                    }
                    ready(&mut out);
                }
                FrontendMessage::Sync => {
                    skipping = false;
                    ready(&mut out);
                }
                FrontendMessage::Flush => {}
                FrontendMessage::Terminate => {
                    sock.write_all(&out)?;
                    return Ok(());
                }
                _ if skipping => {}
                _ => {
                    skipping = true;
                    let msg = "this example answers simple queries only";
                    error(&mut out, "ERROR", SqlState::FEATURE_NOT_SUPPORTED, msg);
                }
            }
        }
        if !out.is_empty() {
            sock.write_all(&out)?;
            out.clear();
        }
    }
}

fn ready(out: &mut BytesMut) {
    BackendMessage::ReadyForQuery(TransactionStatus::Idle)
        .encode(out)
        .ok();
}

fn error(out: &mut BytesMut, severity: &str, code: SqlState, message: &str) {
    let fields = [
        (error_field::SEVERITY, severity.as_bytes()),
        (error_field::SEVERITY_NONLOCALIZED, severity.as_bytes()),
        (error_field::CODE, code.as_str().as_bytes()),
        (error_field::MESSAGE, message.as_bytes()),
    ];
    ErrorFields::write(out, b'E', fields).ok();
}
