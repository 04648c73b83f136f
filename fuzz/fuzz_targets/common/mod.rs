//! Shared by the state-machine fuzz targets (included with `#[path]`): checkers that decode
//! everything a connection transmits, a server application that answers every event, and
//! encoders for peer messages.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::OnceLock;

use bytes::{BufMut, BytesMut};
use pgproto::auth::{ScramSecret, StoredSecret};
use pgproto::message::{
    Authentication, BackendDecoder, BackendMessage, BackendPhase, FrontendDecoder,
    FrontendMessage, FrontendPhase,
};

// ----- decoding what a server transmits ------------------------------------------------------

/// Decodes the concatenation of everything a server connection transmitted. Before the first
/// message that answers the startup packet, an `S` or `N` byte can only be the one-byte answer
/// to SSLRequest or GSSENCRequest (a notice is not allowed there), so the decoder is switched
/// to the SslResponse phase for it.
#[derive(Default)]
pub struct BackendStream {
    dec: BackendDecoder,
    buf: BytesMut,
    pub pre_startup: bool,
    pub messages: usize,
    pub encryption_answers: usize,
    pub md5_salt: Option<[u8; 4]>,
    pub sasl_offered: bool,
    pub ready_for_query: usize,
    pub total: usize,
    pub last: Option<BackendMessage>,
}

impl BackendStream {
    pub fn new() -> BackendStream {
        BackendStream { pre_startup: true, ..Default::default() }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "poll_transmit returned an empty buffer");
        self.total += bytes.len();
        self.buf.extend_from_slice(bytes);
        loop {
            if self.pre_startup && matches!(self.buf.first(), Some(b'S' | b'N')) {
                self.dec.set_phase(BackendPhase::SslResponse);
            }
            match self.dec.decode(&mut self.buf) {
                Ok(Some(m)) => self.on_message(m),
                Ok(None) => break,
                Err(e) => panic!(
                    "server output does not decode after {} messages: {e:?}; next bytes {:02x?}",
                    self.messages,
                    &self.buf[..self.buf.len().min(64)]
                ),
            }
        }
    }

    fn on_message(&mut self, m: BackendMessage) {
        self.messages += 1;
        match &m {
            BackendMessage::SslResponse { .. } | BackendMessage::GssEncResponse { .. } => {
                assert!(self.pre_startup, "an encryption answer after startup");
                self.encryption_answers += 1;
            }
            _ => self.pre_startup = false,
        }
        match &m {
            BackendMessage::Authentication(Authentication::Md5Password { salt }) => {
                self.md5_salt = Some(*salt)
            }
            BackendMessage::Authentication(Authentication::Sasl(_)) => self.sasl_offered = true,
            BackendMessage::ReadyForQuery(_) => self.ready_for_query += 1,
            _ => {}
        }
        // Every message the server writes must be encodable as it was decoded.
        let mut again = BytesMut::new();
        m.encode(&mut again).expect("a transmitted message re-encodes");
        self.last = Some(m);
    }

    /// Everything transmitted was whole messages.
    pub fn finish(&self) {
        assert!(
            self.buf.is_empty(),
            "server output ends in a partial message: {:02x?}",
            &self.buf[..self.buf.len().min(64)]
        );
    }
}

// ----- decoding what a client transmits ------------------------------------------------------

/// Decodes everything a client connection transmitted: startup packets first, then typed
/// messages, a `p` message in the phase of the authentication request it answers (the caller
/// pushes those with `expect_p`, in the order the server sent them).
pub struct FrontendStream {
    dec: FrontendDecoder,
    buf: BytesMut,
    pub expected_p: VecDeque<FrontendPhase>,
    pub messages: usize,
    pub terminated: bool,
    pub startup_seen: bool,
    pub ssl_requests: usize,
}

impl Default for FrontendStream {
    fn default() -> Self {
        FrontendStream::new()
    }
}

impl FrontendStream {
    pub fn new() -> FrontendStream {
        FrontendStream {
            dec: FrontendDecoder::new(),
            buf: BytesMut::new(),
            expected_p: VecDeque::new(),
            messages: 0,
            terminated: false,
            startup_seen: false,
            ssl_requests: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "poll_transmit returned an empty buffer");
        assert!(!self.terminated, "the client transmitted after Terminate: {bytes:02x?}");
        self.buf.extend_from_slice(bytes);
        loop {
            if self.dec.phase() != FrontendPhase::Startup && self.buf.first() == Some(&b'p') {
                let phase = self.expected_p.pop_front().unwrap_or_else(|| {
                    panic!("the client sent a 'p' message no authentication request asked for")
                });
                self.dec.set_phase(phase);
            }
            match self.dec.decode(&mut self.buf) {
                Ok(Some(m)) => {
                    self.messages += 1;
                    match &m {
                        FrontendMessage::SslRequest => {
                            assert!(!self.startup_seen, "SSLRequest after StartupMessage");
                            self.ssl_requests += 1;
                        }
                        FrontendMessage::Startup(_) => {
                            assert!(!self.startup_seen, "a second StartupMessage");
                            self.startup_seen = true;
                        }
                        FrontendMessage::Terminate => self.terminated = true,
                        _ => {}
                    }
                    let mut again = BytesMut::new();
                    m.encode(&mut again).expect("a transmitted message re-encodes");
                }
                Ok(None) => break,
                Err(e) => panic!(
                    "client output does not decode after {} messages: {e:?}; next bytes {:02x?}",
                    self.messages,
                    &self.buf[..self.buf.len().min(64)]
                ),
            }
        }
    }

    pub fn finish(&self) {
        assert!(
            self.buf.is_empty(),
            "client output ends in a partial message: {:02x?}",
            &self.buf[..self.buf.len().min(64)]
        );
    }
}

/// Follows what a server sent a client, to know which kind of `p` message answers what (the
/// k-th `p` the client sends answers the k-th authentication request that asks for one: the
/// client answers each or gives up the connection).
pub struct ServerShadow {
    dec: BackendDecoder,
    buf: BytesMut,
    dead: bool,
}

impl ServerShadow {
    pub fn new(ssl_request_sent: bool) -> ServerShadow {
        let mut dec = BackendDecoder::new();
        if ssl_request_sent {
            dec.set_phase(BackendPhase::SslResponse);
        }
        ServerShadow { dec, buf: BytesMut::new(), dead: false }
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut FrontendStream) {
        if self.dead {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.dec.decode(&mut self.buf) {
                Ok(Some(BackendMessage::Authentication(a))) => match a {
                    Authentication::CleartextPassword | Authentication::Md5Password { .. } => {
                        out.expected_p.push_back(FrontendPhase::Password)
                    }
                    Authentication::Sasl(_) => {
                        out.expected_p.push_back(FrontendPhase::SaslInitialResponse)
                    }
                    Authentication::SaslContinue(_) => {
                        out.expected_p.push_back(FrontendPhase::SaslResponse)
                    }
                    Authentication::Gss | Authentication::GssContinue(_) | Authentication::Sspi => {
                        out.expected_p.push_back(FrontendPhase::GssResponse)
                    }
                    _ => {}
                },
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(e) if e.is_recoverable() => {}
                Err(_) => {
                    // The client fails on the same bytes (its limits are as strict or stricter).
                    self.dead = true;
                    return;
                }
            }
        }
    }
}

// ----- secrets -------------------------------------------------------------------------------

pub const PASSWORD: &[u8] = b"pw";
pub const USER: &str = "alice";

/// A SCRAM verifier of "pw" with few iterations, so that executions stay fast.
pub fn scram_secret() -> StoredSecret {
    static S: OnceLock<ScramSecret> = OnceLock::new();
    StoredSecret::Scram(S.get_or_init(|| ScramSecret::new(PASSWORD, b"fuzz-salt", 2)).clone())
}

// ----- a tiny deterministic stream of choices --------------------------------------------------

/// Choices derived from a few fuzzer-chosen seed bytes (chunk sizes, clock advances).
pub struct Choices(u64);

impl Choices {
    pub fn new(seed: &[u8]) -> Choices {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for &b in seed {
            s = (s ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
        Choices(s | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

// ----- raw message encoders ------------------------------------------------------------------

pub fn typed(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
}

pub fn untyped(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
}

pub fn cstr(b: &mut Vec<u8>, s: &[u8]) {
    b.extend(s.iter().copied().filter(|&c| c != 0));
    b.push(0);
}

pub fn startup(out: &mut Vec<u8>, minor: u16, params: &[(&[u8], &[u8])]) {
    let mut b = Vec::new();
    b.extend_from_slice(&(3u32 << 16 | u32::from(minor)).to_be_bytes());
    for (k, v) in params {
        cstr(&mut b, k);
        cstr(&mut b, v);
    }
    b.push(0);
    untyped(out, &b);
}

pub fn ssl_request(out: &mut Vec<u8>) {
    untyped(out, &80877103u32.to_be_bytes());
}

pub fn gssenc_request(out: &mut Vec<u8>) {
    untyped(out, &80877104u32.to_be_bytes());
}

pub fn auth(out: &mut Vec<u8>, code: u32, extra: &[u8]) {
    let mut b = code.to_be_bytes().to_vec();
    b.extend_from_slice(extra);
    typed(out, b'R', &b);
}

pub fn ready(out: &mut Vec<u8>, status: u8) {
    typed(out, b'Z', &[status]);
}

pub fn param_status(out: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    let mut b = Vec::new();
    cstr(&mut b, k);
    cstr(&mut b, v);
    typed(out, b'S', &b);
}

pub fn key_data(out: &mut Vec<u8>, pid: i32, key: &[u8]) {
    let mut b = pid.to_be_bytes().to_vec();
    b.extend_from_slice(key);
    typed(out, b'K', &b);
}

/// AuthenticationOk, two parameters, BackendKeyData, ReadyForQuery(I).
pub fn server_login(out: &mut Vec<u8>) {
    auth(out, 0, &[]);
    param_status(out, b"server_version", b"18.0");
    param_status(out, b"client_encoding", b"UTF8");
    key_data(out, 42, &[1, 2, 3, 4]);
    ready(out, b'I');
}

pub fn row_description(out: &mut Vec<u8>, ncols: u16) {
    let mut b = ncols.to_be_bytes().to_vec();
    for i in 0..ncols {
        cstr(&mut b, format!("c{i}").as_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&23u32.to_be_bytes());
        b.extend_from_slice(&4i16.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
    }
    typed(out, b'T', &b);
}

pub fn data_row(out: &mut Vec<u8>, values: &[Option<&[u8]>]) {
    let mut b = (values.len() as u16).to_be_bytes().to_vec();
    for v in values {
        match v {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    typed(out, b'D', &b);
}

pub fn command_complete(out: &mut Vec<u8>, tag: &[u8]) {
    let mut b = Vec::new();
    cstr(&mut b, tag);
    typed(out, b'C', &b);
}

pub fn error_response(out: &mut Vec<u8>, tag: u8, severity: &[u8], code: &[u8], msg: &[u8]) {
    let mut b = Vec::new();
    b.push(b'S');
    cstr(&mut b, severity);
    b.push(b'V');
    cstr(&mut b, severity);
    b.push(b'C');
    cstr(&mut b, code);
    b.push(b'M');
    cstr(&mut b, msg);
    b.push(0);
    typed(out, tag, &b);
}

pub fn copy_response(out: &mut Vec<u8>, tag: u8, format: u8, cols: u16) {
    let mut b = vec![format];
    b.extend_from_slice(&cols.to_be_bytes());
    for _ in 0..cols {
        b.extend_from_slice(&i16::from(format).to_be_bytes());
    }
    typed(out, tag, &b);
}

pub fn notification(out: &mut Vec<u8>, pid: i32, channel: &[u8], payload: &[u8]) {
    let mut b = pid.to_be_bytes().to_vec();
    cstr(&mut b, channel);
    cstr(&mut b, payload);
    typed(out, b'A', &b);
}

pub fn function_result(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let mut b = Vec::new();
    match value {
        None => b.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(v) => {
            b.extend_from_slice(&(v.len() as i32).to_be_bytes());
            b.extend_from_slice(v);
        }
    }
    typed(out, b'V', &b);
}

pub fn parameter_description(out: &mut Vec<u8>, types: &[u32]) {
    let mut b = (types.len() as u16).to_be_bytes().to_vec();
    for t in types {
        b.extend_from_slice(&t.to_be_bytes());
    }
    typed(out, b't', &b);
}

pub fn sasl_mechanisms(out: &mut Vec<u8>, plus: bool) {
    let mut b = Vec::new();
    if plus {
        cstr(&mut b, b"SCRAM-SHA-256-PLUS");
    }
    cstr(&mut b, b"SCRAM-SHA-256");
    b.push(0);
    auth(out, 10, &b);
}

// Frontend messages.

pub fn query(out: &mut Vec<u8>, sql: &[u8]) {
    let mut b = Vec::new();
    cstr(&mut b, sql);
    typed(out, b'Q', &b);
}

pub fn parse(out: &mut Vec<u8>, name: &[u8], sql: &[u8], types: &[u32]) {
    let mut b = Vec::new();
    cstr(&mut b, name);
    cstr(&mut b, sql);
    b.extend_from_slice(&(types.len() as u16).to_be_bytes());
    for t in types {
        b.extend_from_slice(&t.to_be_bytes());
    }
    typed(out, b'P', &b);
}

pub fn bind(out: &mut Vec<u8>, portal: &[u8], stmt: &[u8], params: &[Option<&[u8]>], result_formats: &[i16]) {
    let mut b = Vec::new();
    cstr(&mut b, portal);
    cstr(&mut b, stmt);
    b.extend_from_slice(&0u16.to_be_bytes());
    b.extend_from_slice(&(params.len() as u16).to_be_bytes());
    for p in params {
        match p {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    b.extend_from_slice(&(result_formats.len() as u16).to_be_bytes());
    for f in result_formats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    typed(out, b'B', &b);
}

pub fn describe(out: &mut Vec<u8>, target: u8, name: &[u8]) {
    let mut b = vec![target];
    cstr(&mut b, name);
    typed(out, b'D', &b);
}

pub fn close(out: &mut Vec<u8>, target: u8, name: &[u8]) {
    let mut b = vec![target];
    cstr(&mut b, name);
    typed(out, b'C', &b);
}

pub fn execute(out: &mut Vec<u8>, portal: &[u8], max_rows: i32) {
    let mut b = Vec::new();
    cstr(&mut b, portal);
    b.extend_from_slice(&max_rows.to_be_bytes());
    typed(out, b'E', &b);
}

pub fn function_call(out: &mut Vec<u8>, oid: u32, args: &[Option<&[u8]>]) {
    let mut b = oid.to_be_bytes().to_vec();
    b.extend_from_slice(&0u16.to_be_bytes());
    b.extend_from_slice(&(args.len() as u16).to_be_bytes());
    for a in args {
        match a {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    b.extend_from_slice(&0u16.to_be_bytes());
    typed(out, b'F', &b);
}

pub fn password(out: &mut Vec<u8>, pw: &[u8]) {
    let mut b = Vec::new();
    cstr(&mut b, pw);
    typed(out, b'p', &b);
}

pub fn put_u32(b: &mut BytesMut, v: u32) {
    b.put_u32(v);
}
