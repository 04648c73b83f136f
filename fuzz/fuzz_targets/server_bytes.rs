//! Fuzzes `server::Connection` with arbitrary client bytes, answered by an application that
//! answers every event the way the protocol asks.
//!
//! Input layout: byte 0 picks the authentication method and the TLS answer, byte 1 the output
//! limits and the proxy hooks (`report_sync`, `hold_after_auth`), bytes 2-3 seed the chunk sizes the rest is fed in and how far the clock moves
//! between chunks (so that the authentication and idle timers fire sometimes). The answers to
//! queries, Parse, Execute and FunctionCall are picked by the first byte of the query text
//! (or the function's OID), so the fuzzer steers them through the client bytes.
//!
//! Properties checked, beyond "no panic":
//! - everything `poll_transmit` returns, concatenated, decodes as backend messages (the
//!   one-byte answers to SSLRequest/GSSENCRequest included), and ends on a message boundary;
//! - an answer to the event just polled is never refused (an `ApiError` there means the state
//!   machine disagrees with its own contract), except `Closed` once the connection is closed;
//! - with the application holding back rows while `output_full()`, the buffered output after
//!   draining `poll_transmit` stays within `max_output` plus one message's worth;
//! - `output_full()` implies `poll_transmit` has something to give;
//! - at most one `Terminated`; after it the connection stays closed, nothing more is
//!   transmitted once drained, and answers are refused with `ApiError::Closed`.

#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use pgproto::SqlState;
use pgproto::auth::{FixedRandom, StoredSecret};
use pgproto::message::{Format, TransactionStatus};
use pgproto::server::{ApiError, Auth, Column, Config, Connection, Event, PgError, Termination};
use pgproto::types::oid;

use common::{BackendStream, Choices};

/// The largest single message this application or the state machine writes here (an error
/// quoting a client-supplied name of up to 10000 bytes, a ParameterStatus from the startup
/// packet, a RowDescription of 64 columns).
const ONE_MESSAGE: usize = 24 * 1024;

/// Output the state machine writes for pipelined extended-query messages without Sync or
/// Flush used to be neither offered nor bounded (a finding of this target's seed
/// `describe_many`, fixed by input backpressure in 6946cc8). Set to false to tolerate a
/// regression while fuzzing for something else.
const STRICT_OUTPUT_BOUND: bool = true;

fuzz_target!(|data: &[u8]| {
    let [flags, limits, s1, s2, input @ ..] = data else {
        return;
    };
    run(*flags, *limits, [*s1, *s2], input);
});

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Copy {
    None,
    In { simple: bool },
    Both { simple: bool, server_done: bool },
}

struct App {
    flags: u8,
    /// Config::report_sync and Config::hold_after_auth.
    report_sync: bool,
    hold: bool,
    out: BackendStream,
    terminated: Option<Termination>,
    drained_after_terminate: bool,
    copy: Copy,
    max_output: usize,
}

fn run(flags: u8, limits: u8, seed: [u8; 2], input: &[u8]) {
    let start = Instant::now();
    let mut config = Config::default();
    config.authentication_timeout = Duration::from_millis(1000 + 500 * u64::from(flags >> 6));
    config.max_output = 256 << (limits & 7);
    config.flush_threshold = 128 << ((limits >> 3) & 7);
    // The proxy hooks: Sync reported as an event, the session held after authentication.
    config.report_sync = limits & 0x40 != 0;
    config.hold_after_auth = limits & 0x80 != 0;
    let (config_report_sync, config_hold) = (config.report_sync, config.hold_after_auth);
    config.process_id = 7;
    config.mock_secret = Some([3; 32]);
    let max_output = config.max_output;
    let rng = Box::new(FixedRandom::new(vec![0xA5; 4096]));
    let mut conn: Connection = Connection::with_random(config, start, rng);
    let mut app = App {
        flags,
        report_sync: config_report_sync,
        hold: config_hold,
        out: BackendStream::new(),
        terminated: None,
        drained_after_terminate: false,
        copy: Copy::None,
        max_output,
    };
    let mut ch = Choices::new(&seed);
    let max_chunk = 1 + (seed[0] as usize % 64) * (1 + seed[1] as usize % 4);
    let mut now = start;
    let mut rest = input;
    while !rest.is_empty() {
        let n = (1 + ch.below(max_chunk as u64) as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        conn.handle_input(now, chunk);
        app.drive(&mut conn);
        // The clock moves; the timer fires when due.
        now += Duration::from_millis(ch.below(400));
        if let Some(t) = conn.poll_timeout()
            && t <= now
        {
            conn.handle_timeout(now);
            app.drive(&mut conn);
        }
    }
    // Half the time the client then closes; otherwise the connection waits for its timers.
    if ch.below(2) == 0 {
        conn.handle_eof(now);
    } else {
        now += Duration::from_secs(5);
        conn.handle_timeout(now);
        app.drive(&mut conn);
        // An authenticated session without idle timers stays open: then the client leaves.
        conn.handle_eof(now);
    }
    app.drive(&mut conn);
    app.after_end(&mut conn);
}

impl App {
    /// Polls and answers every event, then drains the output; checks the properties.
    fn drive(&mut self, conn: &mut Connection) {
        loop {
            let mut progressed = false;
            while let Some(event) = conn.poll_event() {
                progressed = true;
                self.on_event(conn, event);
            }
            while let Some(bytes) = conn.poll_transmit() {
                assert!(
                    !self.drained_after_terminate,
                    "{} bytes transmitted after Terminated was handled",
                    bytes.len()
                );
                self.out.push(&bytes);
            }
            if !progressed {
                break;
            }
        }
        if self.terminated.is_some() {
            self.drained_after_terminate = true;
            assert!(conn.is_closed(), "not closed after Terminated");
        }
        // Drained: what is left is output not yet offered.
        if !STRICT_OUTPUT_BOUND {
            return;
        }
        assert!(
            !conn.output_full(),
            "output_full() with {} bytes buffered, but poll_transmit offers nothing",
            conn.output_len()
        );
        assert!(
            conn.output_len() <= self.max_output + ONE_MESSAGE,
            "{} bytes buffered after draining (max_output {})",
            conn.output_len(),
            self.max_output
        );
    }

    fn after_end(&mut self, conn: &mut Connection) {
        assert!(
            conn.is_closed(),
            "the connection did not end after EOF or a 5 s timeout"
        );
        assert!(
            self.terminated.is_some(),
            "closed without a Terminated event"
        );
        assert_eq!(conn.poll_event(), None);
        assert!(conn.poll_transmit().is_none());
        assert_eq!(
            conn.authenticate(Auth::Trust).unwrap_err(),
            ApiError::Closed
        );
        assert_eq!(
            conn.query_done(TransactionStatus::Idle).unwrap_err(),
            ApiError::Closed
        );
        if !matches!(self.terminated, Some(Termination::ClientClosed)) {
            // Everything that was written before the end was offered.
            assert_eq!(conn.output_len(), 0, "output left behind at the end");
            self.out.finish();
        }
    }

    /// Drains output when the connection says it is full (what a driver does), so that the
    /// application can go on producing.
    fn backpressure(&mut self, conn: &mut Connection) {
        if conn.output_full() {
            let mut any = false;
            while let Some(bytes) = conn.poll_transmit() {
                any = true;
                self.out.push(&bytes);
            }
            if !STRICT_OUTPUT_BOUND && !any {
                return;
            }
            assert!(any, "output_full() but poll_transmit offers nothing");
        }
        assert!(
            conn.output_len() <= self.max_output + ONE_MESSAGE,
            "{} bytes buffered with backpressure respected (max_output {})",
            conn.output_len(),
            self.max_output
        );
    }

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        if let Event::Terminated(t) = &event {
            assert!(self.terminated.is_none(), "a second Terminated: {t:?}");
            assert!(conn.is_closed());
            self.terminated = Some(t.clone());
            return;
        }
        assert!(self.terminated.is_none(), "{event:?} after Terminated");
        let result = self.answer(conn, event.clone());
        match result {
            Ok(()) => {}
            Err(ApiError::Closed) if conn.is_closed() => {}
            Err(e) => panic!("answering {event:?} was refused: {e:?} ({conn:?})"),
        }
    }

    fn answer(&mut self, conn: &mut Connection, event: Event) -> Result<(), ApiError> {
        match event {
            Event::TlsRequested => {
                if self.flags & 1 == 1 {
                    conn.accept_tls()?;
                    if !conn.is_closed() {
                        // The driver ran the handshake.
                        let cert: Option<&[u8]> = if self.flags & 2 == 2 {
                            Some(&[0x30, 0x03, 0x02, 0x01, 0x01])
                        } else {
                            None
                        };
                        conn.handle_tls_established(cert)?;
                    }
                    Ok(())
                } else {
                    conn.decline_tls()
                }
            }
            Event::DirectTls { .. } => conn.handle_tls_established(None),
            Event::CancelRequested { .. } => Ok(()),
            Event::Startup(s) => {
                let known = s.user.as_bytes() == common::USER.as_bytes();
                let secret = |s: StoredSecret| known.then_some(s);
                match (self.flags >> 2) & 7 {
                    0 => conn.authenticate(Auth::Trust),
                    1 => conn.authenticate(Auth::Cleartext(secret(StoredSecret::Plain(
                        common::PASSWORD.to_vec(),
                    )))),
                    2 => conn.authenticate(Auth::Md5(secret(StoredSecret::md5(
                        s.user.as_bytes(),
                        common::PASSWORD,
                    )))),
                    3 => conn.authenticate(Auth::Scram(secret(common::scram_secret()))),
                    4 => conn.authenticate(Auth::Md5(secret(common::scram_secret()))),
                    5 => conn.authenticate(Auth::Cleartext(secret(common::scram_secret()))),
                    6 => conn.reject(PgError::new(
                        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                        "no such database",
                    )),
                    _ => conn.authenticate(Auth::Scram(None)),
                }
            }
            Event::Authenticated { .. } => {
                if self.flags & 0x20 == 0x20 {
                    conn.set_idle_timeout(Some(Duration::from_millis(700)));
                    conn.set_idle_in_transaction_timeout(Some(Duration::from_millis(300)));
                }
                if self.hold {
                    conn.start_session()
                } else {
                    Ok(())
                }
            }
            Event::Sync { .. } => {
                assert!(self.report_sync, "Sync reported without report_sync");
                conn.sync_done(conn.transaction_status())
            }
            Event::Query { sql } => {
                self.copy = Copy::None;
                let sel = sql.as_bytes().first().copied().unwrap_or(0);
                self.answer_statement(conn, sel, true, 0, Some(sel as usize % 4))?;
                if !conn.is_closed() && self.copy == Copy::None {
                    let status = match sel % 3 {
                        0 => TransactionStatus::Idle,
                        1 => TransactionStatus::InTransaction,
                        _ => TransactionStatus::Failed,
                    };
                    conn.query_done(status)?;
                }
                Ok(())
            }
            Event::Parse {
                query, param_types, ..
            } => {
                let sel = query.as_bytes().first().copied().unwrap_or(0);
                if sel % 7 == 6 {
                    return conn
                        .error(PgError::new(SqlState::SYNTAX_ERROR, "syntax error").position(1));
                }
                let params = param_types
                    .iter()
                    .map(|&t| if t == 0 { oid::TEXT } else { t })
                    .collect();
                let columns = (sel % 3 != 0).then(|| {
                    (0..sel as usize % 64)
                        .map(|i| Column::new(format!("column{i}"), oid::INT4))
                        .collect()
                });
                conn.parse_complete(params, columns, ())
            }
            Event::Execute { portal, max_rows } => {
                self.copy = Copy::None;
                let columns = conn
                    .portal_statement(portal.as_bytes())
                    .expect("Execute names a bound portal")
                    .columns
                    .as_ref()
                    .map(Vec::len);
                let sel = conn
                    .portal_statement(portal.as_bytes())
                    .and_then(|s| s.query.as_bytes().first().copied())
                    .unwrap_or(0);
                self.answer_statement(conn, sel, false, max_rows, columns)
            }
            Event::FunctionCall(f) => match f.function % 3 {
                0 => conn.function_result(None),
                1 => conn.function_result(Some(&f.function.to_be_bytes())),
                _ => conn.error(PgError::new(SqlState::SYNTAX_ERROR, "no such function")),
            },
            Event::CopyData(_) => Ok(()),
            Event::CopyDone => match self.copy {
                Copy::In { simple } => {
                    self.copy = Copy::None;
                    if self.flags & 0x40 == 0 {
                        conn.command_complete("COPY 1")?;
                    } else {
                        conn.error(PgError::new(SqlState::BAD_COPY_FILE_FORMAT, "bad data"))?;
                    }
                    if simple && !conn.is_closed() {
                        conn.query_done(TransactionStatus::Idle)?;
                    }
                    Ok(())
                }
                Copy::Both {
                    simple,
                    server_done,
                } => {
                    self.copy = Copy::None;
                    if !server_done {
                        conn.copy_data(b"last")?;
                        conn.copy_done()?;
                    }
                    conn.command_complete("START_REPLICATION")?;
                    if simple {
                        conn.query_done(TransactionStatus::Idle)?;
                    }
                    Ok(())
                }
                Copy::None => panic!("CopyDone with no COPY FROM STDIN running"),
            },
            Event::CopyFail { .. } => {
                // The state machine sent the error (and ReadyForQuery for a simple query).
                assert!(
                    matches!(self.copy, Copy::In { .. } | Copy::Both { .. }),
                    "CopyFail outside COPY"
                );
                self.copy = Copy::None;
                Ok(())
            }
            Event::Terminated(_) => unreachable!(),
            other => panic!("unknown event {other:?}"),
        }
    }

    /// Answers a statement of a simple query (`simple`) or an Execute (`max_rows`, and the
    /// portal's column count in `columns`).
    fn answer_statement(
        &mut self,
        conn: &mut Connection,
        sel: u8,
        simple: bool,
        max_rows: u32,
        columns: Option<usize>,
    ) -> Result<(), ApiError> {
        match sel % 11 {
            0 => conn.empty_query(),
            1 | 2 | 3 => {
                // Rows (a simple query describes them first).
                if simple {
                    let n = columns.unwrap_or(0);
                    let cols: Vec<Column> = (0..n)
                        .map(|i| Column::new(format!("c{i}"), oid::INT4))
                        .collect();
                    conn.row_description(&cols)?;
                }
                let Some(n) = columns else {
                    return conn.command_complete("INSERT 0 1");
                };
                let wanted = match sel % 11 {
                    1 => 1,
                    2 => 3,
                    _ => 50 + u32::from(sel),
                };
                let limit = if max_rows == 0 {
                    wanted
                } else {
                    wanted.min(max_rows)
                };
                for i in 0..limit {
                    self.backpressure(conn);
                    if i % 2 == 0 {
                        let v = i.to_string();
                        let values: Vec<Option<&[u8]>> = (0..n)
                            .map(|c| if c % 3 == 2 { None } else { Some(v.as_bytes()) })
                            .collect();
                        conn.data_row(values)?;
                    } else {
                        conn.write_row(|row| {
                            for c in 0..n {
                                row.int(c as i64)?;
                            }
                            Ok(())
                        })?;
                    }
                }
                if max_rows > 0 && limit == max_rows && wanted > max_rows {
                    conn.portal_suspended()
                } else {
                    conn.command_complete(&format!("SELECT {limit}"))
                }
            }
            4 => conn.error(
                PgError::new(SqlState::UNDEFINED_TABLE, "relation does not exist")
                    .detail("d")
                    .hint("h"),
            ),
            5 => {
                conn.start_copy_in(Format::Text, &[0, 0])?;
                self.copy = Copy::In { simple };
                Ok(())
            }
            6 => {
                conn.start_copy_out(Format::Binary, &[1])?;
                let n = u32::from(sel) % 40;
                for i in 0..n {
                    self.backpressure(conn);
                    conn.copy_data(format!("row {i}\n").as_bytes())?;
                }
                conn.copy_done()?;
                conn.command_complete(&format!("COPY {n}"))
            }
            7 => {
                conn.start_copy_both(Format::Binary, &[])?;
                let server_done = sel & 0x80 == 0x80;
                conn.copy_data(b"keepalive")?;
                if server_done {
                    conn.copy_done()?;
                }
                self.copy = Copy::Both {
                    simple,
                    server_done,
                };
                Ok(())
            }
            8 => {
                conn.notice(&PgError::notice("there is no transaction in progress"))?;
                conn.notify(9, "chan", "payload")?;
                conn.set_parameter("application_name", "fuzz")?;
                conn.set_transaction_status(TransactionStatus::InTransaction);
                conn.command_complete("BEGIN")
            }
            9 => conn.error(PgError::fatal(
                SqlState::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            )),
            _ => {
                conn.set_transaction_status(TransactionStatus::Idle);
                conn.command_complete("COMMIT")
            }
        }
    }
}
