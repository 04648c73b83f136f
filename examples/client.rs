//! A command-line PostgreSQL client on `std::net`, driving `pgproto::client::Connection`: it
//! connects (with TLS through rustls when `sslmode` asks for it), runs one simple query and
//! prints the rows tab-separated under a header line.
//!
//! ```text
//! cargo run --example client -- "postgres://me:secret@localhost:5432/db?sslmode=require" \
//!     "SELECT datname, encoding FROM pg_database"
//! ```
//!
//! NULLs print as empty fields; statements without rows print their command tag (`INSERT 0 1`).
//! Errors go to stderr with their SQLSTATE, and the exit status is then 1.
//!
//! The connection string is libpq's, parsed by [`ConnInfo`]: a URI as above or
//! `"host=localhost user=me sslmode=require"`. Like libpq, `sslmode=prefer` (the default) and
//! `require` accept any certificate; the `verify-*` modes are not supported here. Also honoured:
//! `sslnegotiation=direct`, `channel_binding`, `application_name`, `options`, `replication`,
//! `min_protocol_version`/`max_protocol_version` and several hosts (the first that answers).
//!
//! The loop in `next` (examples/common/client_io.rs) is all a client needs around the state machine: write what it wants
//! written, hand it what the socket delivers, take its events, and run the TLS handshake when it
//! says [`Event::StartTls`].

use std::error::Error;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use pgproto::client::{ClientError, Connection, Event, Response};

#[path = "common/client_io.rs"]
mod client_io;
use client_io::{Stream, closed, connect, describe, login, next};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [conninfo, sql] = args.as_slice() else {
        eprintln!(
            "usage: client postgres://user:password@host:port/db?sslmode=require \"SELECT ...\""
        );
        return ExitCode::from(2);
    };
    match run(conninfo, sql) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE, // the query failed (reported already)
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects, runs `sql`, prints the results; `Ok(false)` when the server reported an error.
fn run(conninfo: &str, sql: &str) -> Result<bool, Box<dyn Error>> {
    let (socket, host, config) = connect(conninfo)?;
    let stream = Stream::Plain(socket);
    let mut conn = Connection::new(config, Instant::now());

    let mut stream = login(&mut conn, stream, &host)?;

    // Run the query. Responses arrive one by one, rows included: nothing is buffered here.
    conn.query(sql)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut ok = true;
    let mut had_rows = false;
    loop {
        match next(&mut conn, &mut stream)? {
            Event::Response { response, .. } => match response {
                Response::RowDescription(d) => {
                    let names: Vec<_> = d
                        .fields()
                        .map(|f| String::from_utf8_lossy(f.name))
                        .collect();
                    writeln!(out, "{}", names.join("\t"))?;
                    had_rows = true;
                }
                Response::DataRow(row) => {
                    let values: Vec<_> = row
                        .values()
                        .map(|v| String::from_utf8_lossy(v.unwrap_or_default()))
                        .collect();
                    writeln!(out, "{}", values.join("\t"))?;
                }
                Response::CommandComplete(c) => {
                    if !had_rows {
                        writeln!(out, "{}", c.tag)?;
                    }
                    had_rows = false;
                }
                Response::Error(e) => {
                    out.flush()?;
                    eprintln!("{}", describe(&e));
                    ok = false;
                }
                // COPY TO STDOUT: the data as it comes.
                Response::CopyOut(_) => had_rows = true,
                Response::CopyData(data) => out.write_all(&data)?,
                Response::CopyIn(_) => conn.copy_fail("this client sends no COPY data")?,
                Response::Ready(_) => break,
                _ => {}
            },
            Event::Notice(n) => eprintln!("{}", describe(&n)),
            // A FATAL error: printed above as the query's response.
            Event::Closed(Some(ClientError::Server(_))) if !ok => return Ok(false),
            Event::Closed(e) => return Err(closed(e)),
            _ => {} // ParameterStatus, Notification
        }
    }
    out.flush()?;
    conn.terminate();
    next(&mut conn, &mut stream)?; // sends Terminate; returns Closed(None)
    Ok(ok)
}
