//! One START_REPLICATION stream, as a walsender runs it: the feed's transactions through the
//! slot's output plugin, one XLogData per message, keepalives, and the client's status
//! updates.

use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use pgproto::replication::{Lsn, PgTimestamp, PrimaryKeepalive, StandbyStatusUpdate, XLogData};
use pgproto::server::Connection;

use crate::feed::Feed;
use crate::plugins::{Fallible, Output, Plugin};

/// A keepalive goes out when nothing else has for this long.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(2);

/// Keepalives ask for a status update once the client has sent none for this long (half of
/// PostgreSQL's default `wal_sender_timeout`, as its walsender does).
const REPLY_AFTER: Duration = Duration::from_secs(30);

/// The most transactions sent in one pass of the driver's loop, so that a consumer far
/// behind is caught up in steps and its status updates are read in between.
const BATCH: u64 = 256;

/// The server's clock, as the stream carries it.
fn pg_now() -> PgTimestamp {
    PgTimestamp::from_system_time(SystemTime::now()).unwrap_or_default()
}

/// A running stream.
pub struct Stream {
    /// The slot it streams from.
    pub slot: String,
    plugin: Plugin,
    /// The next transaction to send.
    next: u64,
    /// Everything before this position has been sent: the WAL end keepalives report.
    sent: Lsn,
    last_sent: Instant,
    last_reply: Instant,
    /// The plugin's messages for one transaction.
    output: Output,
    /// One CopyData payload.
    payload: BytesMut,
}

impl Stream {
    /// A stream of `slot` through `plugin`, from the transactions that commit at or after
    /// `start`. Nothing is sent yet.
    pub fn new(slot: String, plugin: Plugin, start: Lsn, feed: &Feed, now: Instant) -> Stream {
        Stream {
            slot,
            plugin,
            next: feed.first_from(start),
            sent: start,
            last_sent: now,
            last_reply: now,
            output: Output::default(),
            payload: BytesMut::new(),
        }
    }

    /// The plugin, as a log line names it.
    pub fn plugin_name(&self) -> String {
        self.plugin.describe()
    }

    /// Sends what is due at `now`: the transactions the feed has made since the last call
    /// (then a keepalive, as PostgreSQL sends one whenever it has caught up), or a keepalive
    /// when the stream has been quiet for a while.
    pub fn tick<S, P>(
        &mut self,
        conn: &mut Connection<S, P>,
        feed: &Feed,
        now: Instant,
    ) -> Fallible {
        let available = feed.available(now);
        let mut sent = 0;
        while self.next <= available && sent < BATCH && !conn.output_full() {
            let txn = feed.transaction(self.next);
            self.plugin.transaction(&txn, &mut self.output)?;
            let time = pg_now();
            for (lsn, range) in &self.output.messages {
                self.payload.clear();
                // A logical walsender reports the message's position as both start and end.
                XLogData::write_header(&mut self.payload, *lsn, *lsn, time);
                self.payload
                    .extend_from_slice(&self.output.data[range.clone()]);
                conn.copy_data(&self.payload)?;
            }
            self.sent = self.sent.max(txn.end_lsn);
            self.next += 1;
            sent += 1;
        }
        if sent > 0 && self.next > available {
            self.keepalive(conn, now, false)
        } else if sent > 0 {
            self.last_sent = now;
            Ok(())
        } else if now.saturating_duration_since(self.last_sent) >= KEEPALIVE_EVERY {
            let reply = now.saturating_duration_since(self.last_reply) >= REPLY_AFTER;
            self.keepalive(conn, now, reply)
        } else {
            Ok(())
        }
    }

    /// Sends a keepalive with the position reached.
    pub fn keepalive<S, P>(
        &mut self,
        conn: &mut Connection<S, P>,
        now: Instant,
        reply_requested: bool,
    ) -> Fallible {
        self.payload.clear();
        PrimaryKeepalive {
            wal_end: self.sent,
            send_time: pg_now(),
            reply_requested,
        }
        .encode(&mut self.payload);
        conn.copy_data(&self.payload)?;
        self.last_sent = now;
        Ok(())
    }

    /// A standby status update from the client: answers a request for a reply, and returns
    /// the position the slot may be confirmed up to (the client's flush position, never past
    /// what was sent; `None` for `0/0`).
    pub fn status_update<S, P>(
        &mut self,
        conn: &mut Connection<S, P>,
        update: &StandbyStatusUpdate,
        now: Instant,
    ) -> Result<Option<Lsn>, Box<dyn std::error::Error>> {
        self.last_reply = now;
        if update.reply_requested {
            self.keepalive(conn, now, false)?;
        }
        Ok((!update.flush.is_invalid()).then(|| update.flush.min(self.sent)))
    }
}
