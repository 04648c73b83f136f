//! A PostgreSQL proxy: clients log in to it with its own `--auth` settings, it logs in to an
//! upstream PostgreSQL for each of them, and passes the session through: simple and extended
//! queries, pipelines, COPY both ways, notifications, notices, parameter changes and cancel
//! requests.
//!
//! ```text
//! cargo run --release --example proxy -- --upstream 127.0.0.1:5432 \
//!     [--upstream-user U] [--upstream-password P] [--listen 127.0.0.1:5433] [--auth ...]
//! psql "host=127.0.0.1 port=5433 user=alice dbname=postgres"
//! ```
//!
//! Each session joins two sans-IO connections: a `pgproto::server::Connection` facing the
//! client (behind the TLS transport of common/driver.rs) and a `pgproto::client::Connection`
//! facing the upstream (plain TCP). One tokio task per session waits on both sockets at once,
//! so a notification from upstream reaches a client that is idle. How the two are kept in step:
//!
//! - The session is held after the client authenticated (`Config::hold_after_auth`) until the
//!   upstream login is done: a refusal there (28P01, 3D000, ...) reaches the client as the same
//!   FATAL error, and the client gets the upstream's parameters. The user and database are the
//!   client's (or `--upstream-user`), its other startup parameters (`application_name`,
//!   `options`, ...) are passed on; password, MD5 and SCRAM challenges are answered with
//!   `--upstream-password`.
//! - The client gets BackendKeyData of the proxy's own; a CancelRequest with that key (compared
//!   in constant time) becomes the upstream's CancelRequest, on a new upstream socket.
//! - The server connection answers Bind, Describe and Close itself, from the statements and
//!   portals it registered; there is no event for Close. So every upstream statement has a name
//!   of the proxy's own (`pgproto_proxy_sN`), never the client's, and when the server
//!   connection drops a statement (Close, a new unnamed statement, ...) the proxy closes its
//!   upstream twin (see [`Upstream`]). A portal is bound upstream at its first Execute (named
//!   portals as `pgproto_proxy_pN`, the unnamed one as itself).
//! - Sync is reported (`Config::report_sync`), passed on, and answered with the upstream's
//!   transaction status. When the client side discarded messages after an error the upstream
//!   never saw (an unknown portal, say), the proxy makes the upstream fail too before the Sync,
//!   so that both roll back the same implicit transaction.
//!
//! Differences from a direct connection: requests go upstream one at a time (the server
//! connection hands over the next request once the previous one is answered), so a pipeline
//! costs a round trip per Parse and Execute; an error in Bind (a malformed parameter value)
//! comes after BindComplete, in answer to Execute; a simple query's RowDescription always says
//! text (which only a binary cursor's FETCH would contradict); the upstream's protocol-level
//! statement names are the proxy's (a `DISCARD ALL` upstream forgets them while the client's
//! names live on in the server connection); replication connections are refused.

#[allow(dead_code)] // the proxy uses the transport, not the shared loop
#[path = "common/driver.rs"]
mod driver;
#[allow(dead_code)] // from_args: the proxy takes its own flags out first
#[path = "common/options.rs"]
mod options;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pgproto::SqlState;
use pgproto::client::{self, CancelToken, ClientError, RequestId, Response, SslMode};
use pgproto::message::{CopyResponse, ErrorFields, Format, RowDescription, Target, error_field};
use pgproto::server::{self, ApiError, Column, Event, PgError, Replication, Startup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use driver::Transport;
use options::{Options, take_flag};

/// The client-facing connection; statements and portals carry their upstream names.
type Front = Transport<Upstream, Upstream>;

/// A portal name that never exists: executing it makes the upstream fail on purpose.
const NO_SUCH_PORTAL: &str = "pgproto_proxy_no_such_portal";

/// How long logging in upstream, or passing a cancel request on, may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// What every session shares.
struct Proxy {
    options: Options,
    upstream: String,
    upstream_user: Option<String>,
    upstream_password: Option<String>,
    sessions: Mutex<Sessions>,
    next_process_id: AtomicI32,
}

/// The sessions, by the process ids their clients know and their upstream ones.
#[derive(Default)]
struct Sessions {
    /// The secret key given to the client, and the upstream's cancel token.
    keys: HashMap<i32, (Vec<u8>, CancelToken)>,
    /// The client's process id for each upstream one (for notifications from other sessions).
    process_ids: HashMap<i32, i32>,
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let Some(upstream) = take_flag(&mut args, "--upstream") else {
        eprintln!(
            "usage: proxy --upstream HOST:PORT [--upstream-user U] [--upstream-password P] [options]"
        );
        std::process::exit(2);
    };
    let upstream_user = take_flag(&mut args, "--upstream-user");
    let upstream_password = take_flag(&mut args, "--upstream-password");
    let proxy = Arc::new(Proxy {
        options: Options::from_list(args),
        upstream,
        upstream_user,
        upstream_password,
        sessions: Mutex::default(),
        next_process_id: AtomicI32::new(1000),
    });
    let listener = TcpListener::bind(&proxy.options.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let proxy = proxy.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(socket, proxy).await {
                        eprintln!("session: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Runs one client connection to its end: login, upstream login, then the relay.
async fn serve(mut client: TcpStream, proxy: Arc<Proxy>) -> io::Result<()> {
    client.set_nodelay(true)?;
    let mut config = server::Config::default();
    config.authentication_timeout = proxy.options.auth_timeout;
    config.process_id = proxy.next_process_id.fetch_add(1, Ordering::Relaxed);
    config.parameters = Vec::new(); // the upstream's are reported instead
    config.hold_after_auth = true;
    config.report_sync = true;
    let conn = server::Connection::new(config, Instant::now());
    let mut front = Transport::new(conn, proxy.options.tls.clone());

    let Some(startup) = accept_login(&mut client, &mut front, &proxy).await? else {
        return Ok(());
    };
    let (socket, up) = match connect_upstream(&proxy, &startup, &mut front).await {
        Ok(upstream) => upstream,
        Err(refusal) => {
            send_fatal(&mut front, &refusal);
            return write_front(&mut client, &mut front).await;
        }
    };
    if front.conn.start_session().is_err() {
        return Ok(()); // the client is gone
    }
    // The key goes into the map before the client can see it, and leaves with the session.
    let (process_id, key) = front.conn.cancel_key();
    let _registration = up
        .cancel_token()
        .map(|token| proxy.register_cancel(process_id, key.to_vec(), token.clone()));
    Relay::new(front, up, proxy.clone())
        .run(client, socket)
        .await
}

/// Reads the client's startup and authenticates it with the proxy's own settings. Returns the
/// startup packet once the client is authenticated (the session is then held), or `None` when
/// the connection ended (a refused login, a cancel request).
async fn accept_login(
    client: &mut TcpStream,
    front: &mut Front,
    proxy: &Proxy,
) -> io::Result<Option<Startup>> {
    let mut startup = None;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if front.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            front.handle_timeout(Instant::now());
        }
        while let Some(event) = front.poll_event() {
            match event {
                Event::Startup(s) => {
                    let answer = if s.replication == Replication::None {
                        front
                            .conn
                            .authenticate(proxy.options.auth_for(&s.user.to_string_lossy()))
                    } else {
                        front.conn.reject(PgError::fatal(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "the proxy does not pass replication connections on",
                        ))
                    };
                    answer.map_err(io::Error::other)?;
                    startup = Some(s);
                }
                Event::Authenticated { .. } => return Ok(startup),
                Event::CancelRequested {
                    process_id,
                    secret_key,
                } => proxy.cancel(process_id, &secret_key).await,
                _ => {}
            }
        }
        write_front(client, front).await?;
        if front.is_done() {
            return Ok(None);
        }
        let deadline = front.poll_timeout();
        tokio::select! {
            read = client.read(&mut buf) => match read {
                Ok(n @ 1..) => front.handle_read(Instant::now(), &buf[..n]),
                _ => front.handle_eof(Instant::now()),
            },
            () = sleep_until(deadline) => {}
        }
    }
}

/// Logs in upstream as the client (or `--upstream-user`), passing the upstream's parameters and
/// notices to the held client session. The error is the FATAL error for the client.
async fn connect_upstream(
    proxy: &Proxy,
    startup: &Startup,
    front: &mut Front,
) -> Result<(TcpStream, client::Connection), ErrorFields> {
    let login = async {
        let mut socket = TcpStream::connect(&proxy.upstream).await.map_err(|e| {
            let text = format!("could not connect to the upstream server: {e}");
            fatal(SqlState::CONNECTION_FAILURE, &text)
        })?;
        let _ = socket.set_nodelay(true);
        let mut up = client::Connection::new(proxy.upstream_config(startup), Instant::now());
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(bytes) = up.poll_transmit() {
                if socket.write_all(&bytes).await.is_err() {
                    up.handle_eof(Instant::now()); // reported as Closed below
                }
            }
            while let Some(event) = up.poll_event() {
                match event {
                    client::Event::Connected { .. } => return Ok((socket, up)),
                    client::Event::ParameterStatus { name, value } => {
                        let (name, value) = (name.to_string_lossy(), value.to_string_lossy());
                        let _ = front.conn.set_parameter(&name, &value);
                    }
                    client::Event::Notice(fields) => {
                        let _ = front.conn.notice_fields(&fields);
                    }
                    client::Event::Closed(e) => return Err(upstream_error(e)),
                    _ => {}
                }
            }
            match socket.read(&mut buf).await {
                Ok(n @ 1..) => up.handle_input(Instant::now(), &buf[..n]),
                _ => up.handle_eof(Instant::now()),
            }
        }
    };
    match tokio::time::timeout(UPSTREAM_TIMEOUT, login).await {
        Ok(result) => result,
        Err(_) => Err(fatal(
            SqlState::CONNECTION_FAILURE,
            "timed out logging in to the upstream server",
        )),
    }
}

impl Proxy {
    /// The upstream login for a client's startup packet.
    fn upstream_config(&self, startup: &Startup) -> client::Config {
        let user = match &self.upstream_user {
            Some(u) => u.clone(),
            None => startup.user.to_string_lossy().into_owned(),
        };
        let mut config = client::Config::new(user);
        config.password = self.upstream_password.clone().map(String::into_bytes);
        config.database = Some(startup.database.to_string_lossy().into_owned());
        config.ssl_mode = SslMode::Disable;
        config.max_protocol = startup.version;
        for (name, value) in startup.message.params() {
            let name = String::from_utf8_lossy(name).into_owned();
            let value = String::from_utf8_lossy(value).into_owned();
            match name.as_str() {
                "user" | "database" | "replication" => {}
                "application_name" => config.application_name = Some(value),
                "options" => config.options = Some(value),
                // Protocol extensions are the client's business with the proxy.
                n if n.starts_with("_pq_.") => {}
                _ => config.params.push((name, value)),
            }
        }
        config
    }

    /// Makes `process_id` with `key` cancel through `token` until the returned value is dropped.
    fn register_cancel(&self, process_id: i32, key: Vec<u8>, token: CancelToken) -> CancelKey<'_> {
        let mut sessions = self.sessions();
        sessions.process_ids.insert(token.process_id, process_id);
        sessions.keys.insert(process_id, (key, token));
        CancelKey {
            proxy: self,
            process_id,
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A panic elsewhere while holding the lock leaves the maps usable.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process id a client knows for an upstream one (the upstream's own when the
    /// session is not the proxy's).
    fn client_process_id(&self, upstream: i32) -> i32 {
        self.sessions()
            .process_ids
            .get(&upstream)
            .copied()
            .unwrap_or(upstream)
    }

    /// A CancelRequest from a client: when the key matches, the same request goes upstream, on
    /// a new connection, and the upstream closes it once it has read it.
    async fn cancel(&self, process_id: i32, key: &[u8]) {
        let token = match self.sessions().keys.get(&process_id) {
            Some((k, token)) if same_key(k, key) => token.clone(),
            _ => return, // PostgreSQL answers nothing either way
        };
        let mut packet = BytesMut::new();
        if token.write(&mut packet).is_err() {
            return;
        }
        let send = async {
            let mut socket = TcpStream::connect(&self.upstream).await?;
            socket.write_all(&packet).await?;
            let _ = socket.read(&mut [0u8; 1]).await; // wait for the upstream to close
            io::Result::Ok(())
        };
        if let Ok(Err(e)) = tokio::time::timeout(UPSTREAM_TIMEOUT, send).await {
            eprintln!("cancel: {e}");
        }
    }
}

/// A session's entry in the cancel-key map, removed when the session ends.
struct CancelKey<'a> {
    proxy: &'a Proxy,
    process_id: i32,
}

impl Drop for CancelKey<'_> {
    fn drop(&mut self) {
        let mut sessions = self.proxy.sessions();
        if let Some((_, token)) = sessions.keys.remove(&self.process_id) {
            sessions.process_ids.remove(&token.process_id);
        }
    }
}

/// Compares two keys in time that depends only on their lengths.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The name of a client's statement or portal upstream. The server connection keeps it with
/// the statement or portal and drops it when PostgreSQL would drop them (Close, a replaced
/// unnamed statement, the end of a transaction); dropping it asks for the upstream twin to be
/// closed before the next request goes upstream.
struct Upstream {
    name: String,
    target: Target,
    graveyard: mpsc::Sender<(Target, String)>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // The unnamed portal needs no Close: the next Bind or Query replaces it upstream too.
        if !self.name.is_empty() {
            let name = std::mem::take(&mut self.name);
            let _ = self.graveyard.send((self.target, name));
        }
    }
}

/// What the upstream is answering for the client.
enum Current {
    /// Nothing.
    Idle,
    /// A simple query, until ReadyForQuery.
    Query,
    /// Parse, then Describe of the new statement `name`.
    Parse {
        name: String,
        describe: RequestId,
        params: Vec<u32>,
    },
    /// (Bind and) Execute; `last` is the Execute. `answered` once the client got an error.
    Execute { last: RequestId, answered: bool },
    /// Sync, until ReadyForQuery.
    Sync,
    /// A function call: its result or error wait for ReadyForQuery's status.
    Function {
        result: Option<Bytes>,
        error: Option<ErrorFields>,
    },
    /// The client's side of the request has ended already (it sent CopyFail, and the server
    /// connection answered): the upstream's answer is not passed on, up to ReadyForQuery
    /// (`until: None`) or the end of the Execute `until`.
    Swallow { until: Option<RequestId> },
}

/// Why a session has to end: the two sides no longer agree.
#[derive(Debug)]
struct Broken(String);

impl From<ApiError> for Broken {
    fn from(e: ApiError) -> Broken {
        Broken(format!("answering the client: {e}"))
    }
}

impl From<ClientError> for Broken {
    fn from(e: ClientError) -> Broken {
        Broken(format!("asking the upstream: {e}"))
    }
}

/// An authenticated session: the two connections and what links them.
struct Relay {
    front: Front,
    up: client::Connection,
    current: Current,
    /// The upstream discards extended-query messages until Sync (after an error).
    up_failed: bool,
    /// Upstream statements and portals whose client twins are gone, to be closed.
    graveyard: mpsc::Receiver<(Target, String)>,
    burier: mpsc::Sender<(Target, String)>,
    /// Close requests sent upstream, to send again if the upstream skipped them.
    closing: HashMap<RequestId, (Target, String)>,
    /// The Execute of [`NO_SUCH_PORTAL`], whose error is the proxy's own.
    abort: Option<RequestId>,
    /// The last name number given to an upstream statement or portal.
    names: u64,
    proxy: Arc<Proxy>,
}

impl Relay {
    fn new(front: Front, up: client::Connection, proxy: Arc<Proxy>) -> Relay {
        let (burier, graveyard) = mpsc::channel();
        Relay {
            proxy,
            front,
            up,
            current: Current::Idle,
            up_failed: false,
            graveyard,
            burier,
            closing: HashMap::new(),
            abort: None,
            names: 0,
        }
    }

    /// Passes bytes between the sockets and the connections until either side ends.
    async fn run(mut self, mut client: TcpStream, mut upstream: TcpStream) -> io::Result<()> {
        let (mut from_client, mut from_upstream) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
        loop {
            if let Err(Broken(why)) = self.pump() {
                let error = PgError::fatal(SqlState::INTERNAL_ERROR, format!("proxy: {why}"));
                self.front.conn.terminate(error);
            }
            write_front(&mut client, &mut self.front).await?;
            if self.front.is_done() {
                self.up.terminate();
            }
            while let Some(bytes) = self.up.poll_transmit() {
                upstream.write_all(&bytes).await?;
            }
            if self.front.is_done() || self.up.is_closed() {
                return Ok(());
            }
            let deadline = self.front.poll_timeout();
            tokio::select! {
                read = client.read(&mut from_client) => match read {
                    Ok(n @ 1..) => self.front.handle_read(Instant::now(), &from_client[..n]),
                    _ => self.front.handle_eof(Instant::now()),
                },
                read = upstream.read(&mut from_upstream) => match read {
                    Ok(n @ 1..) => self.up.handle_input(Instant::now(), &from_upstream[..n]),
                    _ => self.up.handle_eof(Instant::now()),
                },
                () = sleep_until(deadline) => self.front.handle_timeout(Instant::now()),
            }
        }
    }

    /// Handles the events of both sides until neither has any.
    fn pump(&mut self) -> Result<(), Broken> {
        loop {
            let mut any = false;
            // The server connection hands over a request only once the previous one is
            // answered, but a request it ended itself (CopyFail) may still be going on
            // upstream: the client's next one waits for that.
            while !matches!(self.current, Current::Swallow { .. })
                && let Some(event) = self.front.poll_event()
            {
                any = true;
                self.on_client(event)?;
            }
            while let Some(event) = self.up.poll_event() {
                any = true;
                self.on_upstream(event)?;
            }
            if !any {
                return Ok(());
            }
        }
    }

    /// A request from the client: pass it upstream.
    fn on_client(&mut self, event: Event) -> Result<(), Broken> {
        match event {
            Event::Query { sql } => match sql.to_str() {
                Ok(sql) => {
                    self.bury()?;
                    self.up.query(sql)?;
                    self.current = Current::Query;
                }
                Err(_) => {
                    self.front.conn.error(invalid_utf8())?;
                    let status = self.front.conn.transaction_status();
                    self.front.conn.query_done(status)?;
                }
            },
            Event::Parse {
                query, param_types, ..
            } => match query.to_str() {
                Ok(query) => {
                    self.bury()?;
                    let name = self.new_name("s");
                    self.up.parse(&name, query, &param_types)?;
                    let describe = self.up.describe_statement(&name)?;
                    self.up.flush()?;
                    self.current = Current::Parse {
                        name,
                        describe,
                        params: Vec::new(),
                    };
                }
                Err(_) => self.front.conn.error(invalid_utf8())?,
            },
            Event::Execute { portal, max_rows } => {
                self.bury()?;
                let name = self.bind_upstream(portal.as_bytes())?;
                // max_rows came from an Int32, so it fits one again.
                let last = self
                    .up
                    .execute(&name, max_rows.min(i32::MAX as u32) as i32)?;
                self.up.flush()?;
                self.current = Current::Execute {
                    last,
                    answered: false,
                };
            }
            Event::Sync { failed } => {
                self.bury()?;
                if failed && !self.up_failed {
                    // The client side discarded messages after an error the upstream never saw:
                    // fail upstream as well, so that the implicit transaction rolls back there.
                    self.abort = Some(self.up.execute(NO_SUCH_PORTAL, 0)?);
                }
                self.up.sync()?;
                self.current = Current::Sync;
            }
            Event::FunctionCall(call) => {
                self.bury()?;
                let formats: Vec<i16> = call.arg_formats.iter().collect();
                self.up.function_call(
                    call.function,
                    &formats,
                    call.args.iter(),
                    call.result_format,
                )?;
                self.current = Current::Function {
                    result: None,
                    error: None,
                };
            }
            // COPY FROM STDIN data. Once the upstream has ended the COPY with an error (passed
            // on to the client), the rest of the data has nowhere to go and is dropped.
            Event::CopyData(data) => {
                let _ = self.up.copy_data(&data);
            }
            Event::CopyDone => {
                let _ = self.up.copy_done();
            }
            Event::CopyFail { message } => {
                let _ = self.up.copy_fail(&message.to_string_lossy());
                let until = match self.current {
                    Current::Execute { last, .. } => Some(last),
                    _ => None,
                };
                self.current = Current::Swallow { until };
            }
            // TLS and the end of the connection are the transport's; the login happened before.
            _ => {}
        }
        Ok(())
    }

    /// Binds the client's portal upstream at its first Execute; returns the upstream name.
    fn bind_upstream(&mut self, portal: &[u8]) -> Result<String, Broken> {
        let conn = &self.front.conn;
        let p = conn
            .portal(portal)
            .ok_or_else(|| Broken("Execute of a portal that does not exist".into()))?;
        if let Some(up) = &p.data {
            return Ok(up.name.clone());
        }
        let statement = conn
            .portal_statement(portal)
            .ok_or_else(|| Broken("a portal without its statement".into()))?;
        let name = if portal.is_empty() {
            String::new()
        } else {
            self.names += 1;
            format!("pgproto_proxy_p{}", self.names)
        };
        let param_formats: Vec<i16> = p.bind.param_formats.iter().collect();
        let result_formats: Vec<i16> = p.bind.result_formats.iter().collect();
        self.up.bind(
            &name,
            &statement.data.name,
            &param_formats,
            p.bind.params.iter(),
            &result_formats,
        )?;
        let upstream = Upstream {
            name: name.clone(),
            target: Target::Portal,
            graveyard: self.burier.clone(),
        };
        if let Some(p) = self.front.conn.portal_mut(portal) {
            p.data = Some(upstream);
        }
        Ok(name)
    }

    /// A fresh upstream name.
    fn new_name(&mut self, kind: &str) -> String {
        self.names += 1;
        format!("pgproto_proxy_{kind}{}", self.names)
    }

    /// Closes upstream what the client no longer has (not while the upstream discards).
    fn bury(&mut self) -> Result<(), Broken> {
        if self.up_failed {
            return Ok(());
        }
        while let Ok((target, name)) = self.graveyard.try_recv() {
            let id = match target {
                Target::Statement => self.up.close_statement(&name)?,
                Target::Portal => self.up.close_portal(&name)?,
            };
            self.closing.insert(id, (target, name));
        }
        Ok(())
    }

    /// Something the upstream said: pass it to the client.
    fn on_upstream(&mut self, event: client::Event) -> Result<(), Broken> {
        let front = &mut self.front.conn;
        match event {
            client::Event::Response { request, response } => self.on_response(request, response)?,
            client::Event::ParameterStatus { name, value } => {
                front.set_parameter(&name.to_string_lossy(), &value.to_string_lossy())?;
            }
            client::Event::Notice(fields) => front.notice_fields(&fields)?,
            client::Event::Notification(n) => {
                // Notifications from the proxy's sessions name the process ids clients know.
                let pid = self.proxy.client_process_id(n.process_id);
                let (channel, payload) = (n.channel.to_string_lossy(), n.payload.to_string_lossy());
                front.notify(pid, &channel, &payload)?;
            }
            client::Event::Closed(e) => {
                let error = upstream_error(e);
                send_fatal(&mut self.front, &error);
            }
            _ => {}
        }
        Ok(())
    }

    /// A response to a request the proxy sent upstream.
    fn on_response(&mut self, id: RequestId, response: Response) -> Result<(), Broken> {
        if let Some(closed) = self.closing.remove(&id) {
            if response == Response::Skipped {
                let _ = self.burier.send(closed); // again after the next Sync
            }
            return Ok(());
        }
        if self.abort == Some(id) {
            self.abort = None; // the error the proxy asked for
            return Ok(());
        }
        if matches!(
            response,
            Response::ParseComplete | Response::BindComplete | Response::CloseComplete
        ) {
            return Ok(()); // the server connection has answered these already
        }
        let front = &mut self.front.conn;
        match &mut self.current {
            Current::Query => match response {
                Response::Ready(status) => {
                    front.query_done(status)?;
                    self.current = Current::Idle;
                }
                other => forward(front, other)?,
            },
            Current::Parse {
                name,
                describe,
                params,
            } => match response {
                Response::ParameterDescription(p) => *params = p.types.iter().collect(),
                Response::RowDescription(_) | Response::NoData => {
                    let columns = match &response {
                        Response::RowDescription(d) => Some(columns(d)),
                        _ => None,
                    };
                    let statement = Upstream {
                        name: std::mem::take(name),
                        target: Target::Statement,
                        graveyard: self.burier.clone(),
                    };
                    front.parse_complete(std::mem::take(params), columns, statement)?;
                    self.current = Current::Idle;
                }
                Response::Error(e) => {
                    front.error_fields(&e)?;
                    self.up_failed = true;
                    if id == *describe {
                        self.current = Current::Idle;
                    }
                }
                Response::Skipped if id == *describe => self.current = Current::Idle,
                Response::Skipped => {}
                other => return Err(unexpected(&other)),
            },
            Current::Execute { last, answered } => {
                let done = id == *last
                    && matches!(
                        response,
                        Response::CommandComplete(_)
                            | Response::EmptyQuery
                            | Response::PortalSuspended
                            | Response::Error(_)
                            | Response::Skipped
                    );
                match response {
                    Response::Error(e) => {
                        front.error_fields(&e)?;
                        self.up_failed = true;
                        *answered = true;
                    }
                    Response::Skipped if !*answered && done => {
                        let text = "the upstream skipped the request";
                        front.error(PgError::new(SqlState::INTERNAL_ERROR, text))?;
                    }
                    Response::Skipped => {}
                    other => forward(front, other)?,
                }
                if done {
                    self.current = Current::Idle;
                }
            }
            Current::Sync => match response {
                Response::Ready(status) => {
                    front.sync_done(status)?;
                    self.up_failed = false;
                    self.current = Current::Idle;
                }
                // Committing the implicit transaction failed.
                Response::Error(e) => front.error_fields(&e)?,
                other => return Err(unexpected(&other)),
            },
            Current::Function { result, error } => match response {
                Response::FunctionResult(value) => *result = value,
                Response::Error(e) => *error = Some(e),
                Response::Ready(status) => {
                    front.set_transaction_status(status);
                    match error.take() {
                        Some(e) => front.error_fields(&e)?,
                        None => front.function_result(result.as_deref())?,
                    }
                    self.current = Current::Idle;
                }
                other => return Err(unexpected(&other)),
            },
            Current::Swallow { until } => {
                let done = match (*until, &response) {
                    (None, Response::Ready(status)) => {
                        front.set_transaction_status(*status);
                        true
                    }
                    (Some(last), r) => id == last && !matches!(r, Response::CopyData(_)),
                    _ => false,
                };
                if until.is_some() && matches!(response, Response::Error(_)) {
                    self.up_failed = true;
                }
                if done {
                    self.current = Current::Idle;
                }
            }
            Current::Idle => return Err(unexpected(&response)),
        }
        Ok(())
    }
}

/// Passes on a result of a simple query or Execute.
fn forward(front: &mut server::Connection<Upstream, Upstream>, r: Response) -> Result<(), Broken> {
    match r {
        Response::RowDescription(d) => front.row_description(&columns(&d))?,
        Response::DataRow(row) => front.data_row(row.values())?,
        Response::CommandComplete(c) => front.command_complete(&c.tag.to_string_lossy())?,
        Response::EmptyQuery => front.empty_query()?,
        Response::PortalSuspended => front.portal_suspended()?,
        Response::Error(e) => front.error_fields(&e)?,
        Response::CopyIn(c) => front.start_copy_in(copy_format(&c), &copy_columns(&c))?,
        Response::CopyOut(c) => front.start_copy_out(copy_format(&c), &copy_columns(&c))?,
        Response::CopyData(data) => front.copy_data(&data)?,
        Response::CopyDone => front.copy_done()?,
        other => return Err(unexpected(&other)),
    }
    Ok(())
}

fn unexpected(r: &Response) -> Broken {
    Broken(format!("unexpected answer from the upstream: {r:?}"))
}

/// The columns of a RowDescription, for the server connection.
fn columns(d: &RowDescription) -> Vec<Column> {
    d.fields()
        .map(|f| Column {
            name: String::from_utf8_lossy(f.name).into_owned(),
            type_oid: f.type_oid,
            type_size: f.type_size,
            type_modifier: f.type_modifier,
            table_oid: f.table_oid,
            column_id: f.column_id,
        })
        .collect()
}

fn copy_format(c: &CopyResponse) -> Format {
    Format::from_code(c.format.into()).unwrap_or(Format::Text)
}

fn copy_columns(c: &CopyResponse) -> Vec<i16> {
    c.column_formats.iter().collect()
}

/// PostgreSQL's error for a query that is not valid UTF-8.
fn invalid_utf8() -> PgError {
    PgError::new(
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        "invalid byte sequence for encoding \"UTF8\"",
    )
}

/// A FATAL error with this code and message.
fn fatal(code: SqlState, message: &str) -> ErrorFields {
    let message = message.replace('\0', " ");
    let fields = [
        (error_field::SEVERITY, "FATAL"),
        (error_field::SEVERITY_NONLOCALIZED, "FATAL"),
        (error_field::CODE, code.as_str()),
        (error_field::MESSAGE, &message),
    ];
    ErrorFields::new(fields).expect("no zero bytes in the fields")
}

/// What to tell the client when the upstream connection ends: the upstream's own FATAL error
/// when it sent one, else why the proxy lost it.
fn upstream_error(e: Option<ClientError>) -> ErrorFields {
    match e {
        Some(ClientError::Server(fields)) => fields,
        Some(e) => fatal(e.sqlstate(), &format!("upstream: {e}")),
        None => fatal(
            SqlState::ADMIN_SHUTDOWN,
            "the upstream connection was closed",
        ),
    }
}

/// Ends the client's session with this FATAL error (as sent, when the connection can send it
/// now; else its code and message).
fn send_fatal(front: &mut Front, fields: &ErrorFields) {
    if front.conn.error_fields(fields).is_ok() && front.conn.is_closed() {
        return;
    }
    let code = fields.sqlstate().unwrap_or(SqlState::CONNECTION_FAILURE);
    let message = String::from_utf8_lossy(fields.message().unwrap_or_default()).into_owned();
    front.conn.terminate(PgError::fatal(code, message));
}

/// Writes what the client connection has for the socket.
async fn write_front(client: &mut TcpStream, front: &mut Front) -> io::Result<()> {
    while let Some(bytes) = front.poll_write() {
        client.write_all(&bytes).await?;
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
