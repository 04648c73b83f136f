//! The synthetic change feed: a fixed history of small transactions on one table,
//! `public.items (id int4 primary key, name text)`, each a pure function of its number, so
//! that every consumer (and every test) sees the same changes at the same positions.
//!
//! Transaction `k` (1, 2, ...) becomes available `(k - 1) * interval` after the server
//! started, and:
//!
//! - inserts row `k` named after its number in English (`'one'`, `'twenty-one'`), or with a
//!   NULL name when `k` is a multiple of 5;
//! - when `k` is even, renames row `k - 1` after itself (`one's twin`), and when `k` is a
//!   multiple of 4 also changes its key to `-(k - 1)` (test_decoding then shows the old key);
//! - when `k` is a multiple of 3, deletes row `k - 2` (by its key at that time).
//!
//! Positions: transaction `k` occupies the WAL range
//! `[FEED_START + (k - 1) * 0x1000, FEED_START + k * 0x1000)`. Its changes are at offsets
//! `0x28`, `0x98`, `0x108` of that range (0x70 apart, like heap records), its commit record
//! follows them and is 0x30 long. Its xid is `1000 + k`; its commit time is the server's start
//! time plus `(k - 1) * interval`.

use std::time::{Duration, Instant, SystemTime};

use pgproto::replication::{Lsn, PgTimestamp};

/// Where the feed starts: the consistent point of every new logical slot, so that each slot
/// sees the feed from its first transaction.
pub const FEED_START: Lsn = Lsn(0x0100_0000);

/// The WAL range each transaction occupies.
const SPAN: u64 = 0x1000;
/// The first change's offset in its transaction's range.
const FIRST_CHANGE: u64 = 0x28;
/// The distance between two changes.
const CHANGE_SIZE: u64 = 0x70;
/// The commit record's length: `end_lsn - commit_lsn`, as in PostgreSQL.
const COMMIT_SIZE: u64 = 0x30;
/// Transaction `k` has xid `XID_BASE + k`.
const XID_BASE: u32 = 1000;

/// The table's OID (the Relation message's id).
pub const RELATION_OID: u32 = 16384;
/// The table's schema.
pub const NAMESPACE: &str = "public";
/// The table's name.
pub const TABLE: &str = "items";

/// A row of `public.items`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The primary key.
    pub id: i32,
    /// The name, or NULL.
    pub name: Option<String>,
}

/// What one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new row.
    Insert(Row),
    /// A row's new values; `old_key` is its key before when the update changed it.
    Update { old_key: Option<i32>, new: Row },
    /// The deleted row's key.
    Delete { key: i32 },
}

/// One transaction of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Its transaction id.
    pub xid: u32,
    /// Each change with its position.
    pub changes: Vec<(Lsn, Change)>,
    /// Where its commit record starts (pgoutput's `final_lsn`/`commit_lsn`).
    pub commit_lsn: Lsn,
    /// Where its commit record ends: the position a consumer confirms after it.
    pub end_lsn: Lsn,
    /// When it committed.
    pub commit_time: PgTimestamp,
}

impl Transaction {
    /// The position of its first record (test_decoding's BEGIN is sent there).
    pub fn first_lsn(&self) -> Lsn {
        self.changes
            .first()
            .map_or(self.commit_lsn, |(lsn, _)| *lsn)
    }
}

/// The feed's clock and length.
pub struct Feed {
    started: Instant,
    started_at: SystemTime,
    interval: Duration,
    /// How many transactions there are in all (`None`: no end).
    limit: Option<u64>,
}

impl Feed {
    /// A feed whose first transaction is available now, with one more every `interval` (at
    /// least a millisecond), `limit` of them in all.
    pub fn new(interval: Duration, limit: Option<u64>) -> Feed {
        Feed {
            started: Instant::now(),
            started_at: SystemTime::now(),
            interval: interval.max(Duration::from_millis(1)),
            limit,
        }
    }

    /// How many transactions are available at `now` (transactions 1 to this number).
    pub fn available(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.started);
        let ticks = elapsed.as_nanos() / self.interval.as_nanos();
        let made = u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1);
        // Keys are int4: the feed ends where they would overflow.
        let made = made.min(i32::MAX as u64);
        self.limit.map_or(made, |limit| made.min(limit))
    }

    /// The end of the feed's WAL at `now`: the end of the last available transaction.
    pub fn end(&self, now: Instant) -> Lsn {
        match self.available(now) {
            0 => FEED_START,
            k => self.transaction(k).end_lsn,
        }
    }

    /// The first transaction that a consumer starting at `start` receives: the first whose
    /// commit record starts at or after `start` (PostgreSQL skips transactions that
    /// committed before the position a stream starts from).
    pub fn first_from(&self, start: Lsn) -> u64 {
        if start <= FEED_START {
            return 1;
        }
        let k = (start.0 - FEED_START.0) / SPAN + 1;
        if self.transaction(k).commit_lsn >= start {
            k
        } else {
            k + 1
        }
    }

    /// Transaction `k` (from 1).
    pub fn transaction(&self, k: u64) -> Transaction {
        let base = FEED_START.0 + (k - 1) * SPAN;
        let changes: Vec<(Lsn, Change)> = changes(k)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (Lsn(base + FIRST_CHANGE + CHANGE_SIZE * i as u64), c))
            .collect();
        let commit_lsn = Lsn(base + FIRST_CHANGE + CHANGE_SIZE * changes.len() as u64);
        let offset = self
            .interval
            .saturating_mul(u32::try_from(k - 1).unwrap_or(u32::MAX));
        let time = self
            .started_at
            .checked_add(offset)
            .unwrap_or(self.started_at);
        Transaction {
            xid: XID_BASE.wrapping_add(k as u32),
            changes,
            commit_lsn,
            end_lsn: Lsn(commit_lsn.0 + COMMIT_SIZE),
            commit_time: PgTimestamp::from_system_time(time).unwrap_or_default(),
        }
    }
}

/// The changes of transaction `k`, in order (see the module's documentation).
fn changes(k: u64) -> Vec<Change> {
    // `available` stops the feed before keys overflow int4.
    let key = |n: u64| n as i32;
    let mut out = vec![Change::Insert(Row {
        id: key(k),
        name: (!k.is_multiple_of(5)).then(|| words(k)),
    })];
    if k.is_multiple_of(2) {
        let row = k - 1;
        let rekey = k.is_multiple_of(4);
        out.push(Change::Update {
            old_key: rekey.then(|| key(row)),
            new: Row {
                id: if rekey { -key(row) } else { key(row) },
                name: Some(format!("{}'s twin", words(row))),
            },
        });
    }
    if k.is_multiple_of(3) && k > 2 {
        let row = k - 2;
        // Row `row` was updated by transaction `row + 1`, which changed its key when
        // `row + 1` is a multiple of 4.
        let rekeyed = (row + 1).is_multiple_of(4);
        out.push(Change::Delete {
            key: if rekeyed { -key(row) } else { key(row) },
        });
    }
    out
}

/// `n` in English words: `twenty-one`, `one hundred five`, `two thousand`.
pub fn words(n: u64) -> String {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    const SCALES: [(u64, &str); 6] = [
        (1_000_000_000_000_000_000, "quintillion"),
        (1_000_000_000_000_000, "quadrillion"),
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ];
    if n < 20 {
        return SMALL[n as usize].to_string();
    }
    if n < 100 {
        let (tens, unit) = (n / 10, n % 10);
        return if unit == 0 {
            TENS[tens as usize].to_string()
        } else {
            format!("{}-{}", TENS[tens as usize], SMALL[unit as usize])
        };
    }
    let (head, rest) = if n < 1000 {
        (format!("{} hundred", SMALL[(n / 100) as usize]), n % 100)
    } else {
        let (scale, name) = SCALES
            .iter()
            .copied()
            .find(|(scale, _)| n >= *scale)
            .unwrap_or((1000, "thousand"));
        (format!("{} {name}", words(n / scale)), n % scale)
    };
    if rest == 0 {
        head
    } else {
        format!("{head} {}", words(rest))
    }
}
