//! Fuzzes `client::Connection` with arbitrary server bytes, in each state a request can leave
//! it in.
//!
//! Input layout: byte 0 picks the scenario (what valid server messages and requests come
//! first), byte 1 seeds the chunk sizes the rest is fed in, and the rest are server bytes:
//!
//! 0. before any answer to the startup packets (SSLRequest first, sslmode=prefer);
//! 1. during SASL (AuthenticationSASL answered with a SASLInitialResponse);
//! 2. idle (connected, nothing pending);
//! 3. after a simple Query;
//! 4. after a Parse/Bind/Describe/Execute/Sync pipeline (and a Close, a Flush);
//! 5. during COPY FROM STDIN (the application sends data, then CopyDone);
//! 6. during COPY TO STDOUT;
//! 7. after a FunctionCall;
//! 8. after TLS was accepted, with channel binding required (SCRAM-SHA-256-PLUS);
//! 9. a pipeline with two Syncs and an error in between (requests skipped).
//!
//! Properties checked, beyond "no panic":
//! - everything the client transmits decodes as frontend messages (the startup packets first;
//!   a `p` message in the phase of the authentication request it answers), ending on a
//!   message boundary;
//! - at most one `Event::Closed`, and no event after it; once closed and drained, nothing more
//!   is transmitted (after Terminate at most the Terminate itself);
//! - the RequestIds of responses never go backwards, and only name requests that were made.

#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use pgproto::auth::{ChannelBindingPolicy, FixedRandom};
use pgproto::client::{ClientError, Config, Connection, Event, RequestId, Response, SslMode};

use common::{Choices, FrontendStream, ServerShadow};

fuzz_target!(|data: &[u8]| {
    let [scenario, seed, input @ ..] = data else { return };
    run(*scenario, *seed, input);
});

pub struct Harness {
    pub conn: Connection,
    pub out: FrontendStream,
    pub shadow: ServerShadow,
    pub closed: bool,
    pub closed_drained: bool,
    pub last_response: Option<RequestId>,
    pub next_request: u64,
    pub now: Instant,
    pub scenario: u8,
    pub cert: bool,
}

impl Harness {
    fn new(scenario: u8) -> Harness {
        let mut config = Config::new(common::USER);
        config.password = Some(common::PASSWORD.to_vec());
        config.ssl_mode = SslMode::Disable;
        config.scram.min_iterations = 1;
        config.scram.max_iterations = 64;
        let mut ssl = false;
        match scenario {
            0 => {
                config.ssl_mode = SslMode::Prefer;
                config.application_name = Some("fuzz".into());
                ssl = true;
            }
            8 => {
                config.ssl_mode = SslMode::Require;
                config.channel_binding = ChannelBindingPolicy::Require;
                ssl = true;
            }
            _ => {}
        }
        let now = Instant::now();
        let rng = Box::new(FixedRandom::new(vec![0x42; 1024]));
        let conn = Connection::with_random(config, now, rng);
        Harness {
            conn,
            out: FrontendStream::new(),
            shadow: ServerShadow::new(ssl),
            closed: false,
            closed_drained: false,
            last_response: None,
            next_request: 0,
            now,
            scenario,
            cert: scenario == 8,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.shadow.push(bytes, &mut self.out);
        self.conn.handle_input(self.now, bytes);
        self.drive();
    }

    fn made(&mut self, r: Result<RequestId, pgproto::client::ClientError>) {
        if let Ok(id) = r {
            assert_eq!(id.0, self.next_request, "request ids are consecutive");
            self.next_request += 1;
        }
    }

    fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.conn.poll_event() {
                progressed = true;
                self.on_event(e);
            }
            while let Some(b) = self.conn.poll_transmit() {
                assert!(!self.closed_drained, "transmitted {} bytes after Closed", b.len());
                self.out.push(&b);
            }
            if self.closed {
                self.closed_drained = true;
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        assert!(!self.closed, "{e:?} after Event::Closed");
        match e {
            Event::Closed(err) => {
                if let Some(err) = err {
                    let _ = (err.sqlstate(), err.to_string());
                }
                assert!(self.conn.is_closed(), "Event::Closed on an open connection");
                self.closed = true;
            }
            Event::StartTls => {
                let cert: Option<&[u8]> = if self.cert { Some(&[0x30, 0x00]) } else { None };
                if !self.conn.is_closed() {
                    self.conn.handle_tls_established(cert).expect("StartTls answered");
                }
            }
            Event::Connected { .. } => {
                assert!(self.conn.is_ready() || self.conn.is_closed());
                let _ = (self.conn.cancel_token(), self.conn.parameter("server_version"));
            }
            Event::Response { request, response } => {
                assert!(request.0 < self.next_request, "a response to request {request:?}, never made");
                if let Some(last) = self.last_response {
                    assert!(request >= last, "response to {request:?} after one to {last:?}");
                }
                self.last_response = Some(request);
                if let Response::CopyIn(_) | Response::CopyBoth(_) = response
                    && !self.conn.is_closed()
                {
                    // The connection may have read further than this event (a second COPY
                    // response, an error): then the calls are refused, never wrong.
                    let ok = |r: Result<(), ClientError>| match r {
                        Ok(()) | Err(ClientError::Api(_)) => {}
                        Err(e) => panic!("COPY answer refused with {e:?}"),
                    };
                    ok(self.conn.copy_data(b"1\tone\n"));
                    if self.scenario % 2 == 0 || matches!(response, Response::CopyBoth(_)) {
                        ok(self.conn.copy_done());
                    } else {
                        ok(self.conn.copy_fail("changed my mind"));
                    }
                }
            }
            Event::ParameterStatus { .. } | Event::Notice(_) | Event::Notification(_) => {}
            other => panic!("unknown event {other:?}"),
        }
    }
}

fn run(scenario: u8, seed: u8, input: &[u8]) {
    let scenario = scenario % 10;
    let mut h = Harness::new(scenario);
    h.drive();
    let mut prefix = Vec::new();
    match scenario {
        0 => {}
        1 => common::sasl_mechanisms(&mut prefix, false),
        8 => {
            h.feed(b"S");
            common::sasl_mechanisms(&mut prefix, true);
        }
        _ => common::server_login(&mut prefix),
    }
    if !prefix.is_empty() {
        h.feed(&prefix);
    }
    if !h.closed && h.conn.is_ready() {
        let c = &mut h.conn;
        let mut rs = Vec::new();
        match scenario {
            3 => rs.push(c.query("SELECT 1; SELECT 2")),
            4 => {
                rs.push(c.parse("s1", "SELECT $1", &[23]));
                rs.push(c.describe_statement("s1"));
                rs.push(c.bind("p1", "s1", &[0], [Some(&b"1"[..])], &[1]));
                rs.push(c.describe_portal("p1"));
                rs.push(c.execute("p1", 2));
                rs.push(c.execute("p1", 0));
                rs.push(c.close_portal("p1"));
                let _ = c.flush();
                rs.push(c.close_statement("s1"));
                rs.push(c.sync());
            }
            5 => rs.push(c.query("COPY t FROM STDIN")),
            6 => rs.push(c.query("COPY t TO STDOUT")),
            7 => rs.push(c.function_call(1598, &[0], [Some(&b"x"[..]), None], 1)),
            9 => {
                rs.push(c.parse("", "SELECT 1", &[]));
                rs.push(c.bind("", "", &[], [], &[]));
                rs.push(c.execute("", 0));
                rs.push(c.sync());
                rs.push(c.query("COPY t FROM STDIN"));
                rs.push(c.parse("", "SELECT 2", &[]));
                rs.push(c.execute("", 0));
                rs.push(c.sync());
            }
            _ => {}
        }
        for r in rs {
            h.made(r);
        }
        h.drive();
    }
    let mut ch = Choices::new(&[seed]);
    let max_chunk = 1 + u64::from(seed % 32) * 8;
    let mut rest = input;
    while !rest.is_empty() {
        let n = (1 + ch.below(max_chunk) as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        h.feed(chunk);
    }
    if seed & 0x80 == 0x80 {
        h.conn.terminate();
    } else {
        h.conn.handle_eof(h.now);
    }
    h.drive();
    assert!(h.closed, "no Event::Closed after EOF or terminate");
    assert!(h.conn.is_closed());
    assert!(h.conn.query("SELECT 1").is_err());
    h.drive();
    h.out.finish();
}
