//! The catalog server of `common/catalog.rs` on tokio: one task per connection, the same
//! `Link` (TLS, state machine, application) as examples/blocking.rs, and the same options.
//!
//! ```text
//! cargo run --release --example tokio -- --listen 127.0.0.1:5433
//! pgbench -n -f select1.sql -c 50 -j 2 -T 30 -M prepared -h 127.0.0.1 -p 5433 -U postgres
//! ```
//!
//! A task waits for whichever comes first: the socket becoming readable, the connection's
//! deadline, or a wake-up from another connection that notified this one. An idle connection
//! holds no read buffer: reads go into one buffer per worker thread.

#[path = "common/catalog.rs"]
mod catalog;
#[path = "common/driver.rs"]
mod driver;
#[path = "common/options.rs"]
mod options;
#[path = "common/settings.rs"]
mod settings;

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use catalog::{Server, Session};
use driver::Link;
use pgproto::server::Connection;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

thread_local! {
    /// Where sockets are read into, one per worker thread.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let server = Arc::new(Server::from_args());
    let listener = TcpListener::bind(&server.options.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(serve(socket, server.clone()));
            }
            Err(e) => eprintln!("accept: {e}"), // out of file descriptors, ...
        }
    }
}

/// Runs one connection to its end.
async fn serve(mut socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let wake = Arc::new(Notify::new());
    let mut session = Session::new(server.clone());
    let waker = wake.clone();
    session.on_notification(move || waker.notify_one());
    let conn = Connection::new(session.config(), Instant::now());
    let mut link = Link::new(conn, server.options.tls.clone(), session);
    loop {
        link.drive(Instant::now());
        while let Some(bytes) = link.poll_write() {
            socket.write_all(&bytes).await?;
        }
        if link.is_done() {
            return Ok(());
        }
        let deadline = link.deadline(Instant::now());
        tokio::select! {
            ready = socket.readable() => {
                if ready.is_err() {
                    link.handle_eof(Instant::now());
                    continue;
                }
                READ_BUF.with_borrow_mut(|buf| match socket.try_read(buf) {
                    Ok(0) => link.handle_eof(Instant::now()),
                    Ok(n) => link.handle_read(Instant::now(), &buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => link.handle_eof(Instant::now()),
                });
            }
            () = wake.notified() => {}
            () = sleep_until(deadline) => {}
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
