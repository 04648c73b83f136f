//! The catalog server of `common/catalog.rs` on async-std: one task per connection, the same
//! `Link` (TLS, state machine, application) as examples/blocking.rs, and the same options.
//!
//! ```text
//! cargo run --example async_std -- --listen 127.0.0.1:5433
//! ```
//!
//! A task waits for whichever comes first: bytes from the socket, the connection's deadline,
//! or a wake-up from another connection that notified this one.

#[path = "common/catalog.rs"]
mod catalog;
#[path = "common/driver.rs"]
mod driver;
#[path = "common/options.rs"]
mod options;
#[path = "common/settings.rs"]
mod settings;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use async_std::channel;
use async_std::io::{ReadExt, WriteExt};
use async_std::net::{TcpListener, TcpStream};
use async_std::task;
use catalog::{Server, Session};
use driver::Link;
use futures_lite::future::FutureExt;
use pgproto::server::Connection;

/// What ended a wait.
enum Woken {
    Read(io::Result<usize>),
    Other,
}

fn main() -> io::Result<()> {
    let server = Arc::new(Server::from_args());
    task::block_on(async {
        let listener = TcpListener::bind(&server.options.listen).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((socket, _)) => {
                    task::spawn(serve(socket, server.clone()));
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    })
}

/// Runs one connection to its end.
async fn serve(mut socket: TcpStream, server: Arc<Server>) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let (wake, woken) = channel::bounded(1);
    let mut session = Session::new(server.clone());
    session.on_notification(move || {
        let _ = wake.try_send(());
    });
    let conn = Connection::new(session.config(), Instant::now());
    let mut link = Link::new(conn, server.options.tls.clone(), session);
    let mut buf = vec![0; 64 * 1024];
    loop {
        link.drive(Instant::now());
        while let Some(bytes) = link.poll_write() {
            socket.write_all(&bytes).await?;
        }
        if link.is_done() {
            return Ok(());
        }
        let deadline = link.deadline(Instant::now());
        let read = async { Woken::Read(socket.read(&mut buf).await) };
        let wake = async {
            let _ = woken.recv().await;
            Woken::Other
        };
        let tick = async {
            match deadline {
                Some(at) => task::sleep(at.saturating_duration_since(Instant::now())).await,
                None => std::future::pending().await,
            }
            Woken::Other
        };
        match read.or(wake).or(tick).await {
            Woken::Read(Ok(n)) if n > 0 => link.handle_read(Instant::now(), &buf[..n]),
            Woken::Read(_) => link.handle_eof(Instant::now()),
            Woken::Other => {}
        }
    }
}
