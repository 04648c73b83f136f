//! The messages inside a START_REPLICATION COPY BOTH stream: each is the payload of one
//! CopyData, with a type byte of its own.

use bytes::{BufMut, Bytes, BytesMut};

use super::cursor::Cursor;
use super::{DecodeError, Lsn, PgTimestamp};

const LAYER: &str = "replication stream";

/// What the server (the primary, a walsender) sends inside the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrimaryMessage {
    /// `w`: a piece of WAL (physical) or one logical decoding output message (logical).
    XLogData(XLogData),
    /// `k`: the server is alive; its WAL end, and whether it wants a status update now.
    Keepalive(PrimaryKeepalive),
}

/// `w` XLogData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XLogData {
    /// Where this data starts in the WAL.
    pub wal_start: Lsn,
    /// The server's current end of WAL.
    pub wal_end: Lsn,
    /// The server's clock when it sent this.
    pub send_time: PgTimestamp,
    /// The WAL bytes, or the output plugin's message (a slice of the received frame).
    pub data: Bytes,
}

/// `k` primary keepalive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryKeepalive {
    /// The server's current end of WAL.
    pub wal_end: Lsn,
    /// The server's clock when it sent this.
    pub send_time: PgTimestamp,
    /// The server asks for a [`StandbyStatusUpdate`] at once (or it will time the client
    /// out at `wal_sender_timeout`).
    pub reply_requested: bool,
}

/// What the client (a standby, a logical replication consumer) sends inside the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StandbyMessage {
    /// `r`: how far the client has written, flushed and applied.
    StatusUpdate(StandbyStatusUpdate),
    /// `h`: the oldest transaction the standby still needs (physical replication).
    HotStandbyFeedback(HotStandbyFeedback),
}

/// `r` standby status update. For logical replication, `flush` is the position the server may
/// forget: the slot's confirmed position advances to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyStatusUpdate {
    /// The last WAL byte + 1 received and written.
    pub write: Lsn,
    /// The last WAL byte + 1 durably stored.
    pub flush: Lsn,
    /// The last WAL byte + 1 applied.
    pub apply: Lsn,
    /// The client's clock when it sent this.
    pub send_time: PgTimestamp,
    /// The client asks for a keepalive at once.
    pub reply_requested: bool,
}

/// `h` hot standby feedback. A zero `xmin` (and `catalog_xmin`) withdraws the standby's
/// claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotStandbyFeedback {
    /// The client's clock when it sent this.
    pub send_time: PgTimestamp,
    /// The standby's current global xmin (excluding catalog_xmin).
    pub xmin: u32,
    /// The epoch of `xmin`.
    pub xmin_epoch: u32,
    /// The lowest catalog_xmin of the standby's replication slots.
    pub catalog_xmin: u32,
    /// The epoch of `catalog_xmin`.
    pub catalog_xmin_epoch: u32,
}

fn split_type(payload: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    payload
        .split_first()
        .map(|(&t, rest)| (t, rest))
        .ok_or(DecodeError::Empty { layer: LAYER })
}

impl PrimaryMessage {
    /// Reads one CopyData payload the server sent. XLogData's data is a slice of `payload`
    /// (no copy). Bytes after a keepalive's last field are an error, as in PostgreSQL's
    /// walreceiver.
    pub fn decode(payload: Bytes) -> Result<PrimaryMessage, DecodeError> {
        let (tag, rest) = split_type(&payload)?;
        match tag {
            b'w' => {
                let mut f = Cursor::new(rest, "XLogData");
                let wal_start = f.lsn("WAL start")?;
                let wal_end = f.lsn("WAL end")?;
                let send_time = f.time("send time")?;
                // 1 type byte + 24 header bytes.
                Ok(PrimaryMessage::XLogData(XLogData {
                    wal_start,
                    wal_end,
                    send_time,
                    data: payload.slice(25..),
                }))
            }
            b'k' => {
                let mut f = Cursor::new(rest, "primary keepalive");
                let m = PrimaryKeepalive {
                    wal_end: f.lsn("WAL end")?,
                    send_time: f.time("send time")?,
                    reply_requested: f.u8("reply flag")? != 0,
                };
                f.finish()?;
                Ok(PrimaryMessage::Keepalive(m))
            }
            tag => Err(DecodeError::UnknownType { layer: LAYER, tag }),
        }
    }

    /// Appends the CopyData payload (type byte and fields).
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            PrimaryMessage::XLogData(x) => {
                XLogData::write_header(out, x.wal_start, x.wal_end, x.send_time);
                out.extend_from_slice(&x.data);
            }
            PrimaryMessage::Keepalive(k) => k.encode(out),
        }
    }
}

impl XLogData {
    /// Appends XLogData's type byte and header; the data follows (write it yourself, e.g. a
    /// pgoutput message, with no intermediate copy).
    pub fn write_header(out: &mut BytesMut, wal_start: Lsn, wal_end: Lsn, send_time: PgTimestamp) {
        out.reserve(25);
        out.put_u8(b'w');
        out.put_u64(wal_start.0);
        out.put_u64(wal_end.0);
        out.put_i64(send_time.0);
    }
}

impl PrimaryKeepalive {
    /// Appends the CopyData payload.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(18);
        out.put_u8(b'k');
        out.put_u64(self.wal_end.0);
        out.put_i64(self.send_time.0);
        out.put_u8(u8::from(self.reply_requested));
    }
}

impl StandbyMessage {
    /// Reads one CopyData payload the client sent. As PostgreSQL's walsender does, bytes
    /// after the last field are ignored (a later protocol may append fields).
    pub fn decode(payload: &[u8]) -> Result<StandbyMessage, DecodeError> {
        let (tag, rest) = split_type(payload)?;
        match tag {
            b'r' => {
                let mut f = Cursor::new(rest, "standby status update");
                Ok(StandbyMessage::StatusUpdate(StandbyStatusUpdate {
                    write: f.lsn("write position")?,
                    flush: f.lsn("flush position")?,
                    apply: f.lsn("apply position")?,
                    send_time: f.time("send time")?,
                    reply_requested: f.u8("reply flag")? != 0,
                }))
            }
            b'h' => {
                let mut f = Cursor::new(rest, "hot standby feedback");
                Ok(StandbyMessage::HotStandbyFeedback(HotStandbyFeedback {
                    send_time: f.time("send time")?,
                    xmin: f.u32("xmin")?,
                    xmin_epoch: f.u32("xmin epoch")?,
                    catalog_xmin: f.u32("catalog_xmin")?,
                    catalog_xmin_epoch: f.u32("catalog_xmin epoch")?,
                }))
            }
            tag => Err(DecodeError::UnknownType { layer: LAYER, tag }),
        }
    }

    /// Appends the CopyData payload (type byte and fields).
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            StandbyMessage::StatusUpdate(s) => s.encode(out),
            StandbyMessage::HotStandbyFeedback(h) => h.encode(out),
        }
    }
}

impl StandbyStatusUpdate {
    /// Appends the CopyData payload.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(34);
        out.put_u8(b'r');
        out.put_u64(self.write.0);
        out.put_u64(self.flush.0);
        out.put_u64(self.apply.0);
        out.put_i64(self.send_time.0);
        out.put_u8(u8::from(self.reply_requested));
    }

    /// The same position for write, flush and apply: what a logical consumer that has
    /// processed everything up to `lsn` reports.
    pub fn confirmed(lsn: Lsn, send_time: PgTimestamp) -> StandbyStatusUpdate {
        StandbyStatusUpdate {
            write: lsn,
            flush: lsn,
            apply: lsn,
            send_time,
            reply_requested: false,
        }
    }
}

impl HotStandbyFeedback {
    /// Appends the CopyData payload.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(25);
        out.put_u8(b'h');
        out.put_i64(self.send_time.0);
        out.put_u32(self.xmin);
        out.put_u32(self.xmin_epoch);
        out.put_u32(self.catalog_xmin);
        out.put_u32(self.catalog_xmin_epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlogdata_by_hand() {
        let mut raw = vec![b'w'];
        raw.extend_from_slice(&0x16_B374_D848u64.to_be_bytes());
        raw.extend_from_slice(&0x16_B374_D900u64.to_be_bytes());
        raw.extend_from_slice(&5i64.to_be_bytes());
        raw.extend_from_slice(b"BEGIN 7");
        let m = PrimaryMessage::decode(Bytes::from(raw.clone())).unwrap();
        let PrimaryMessage::XLogData(x) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(x.wal_start.to_string(), "16/B374D848");
        assert_eq!(x.wal_end, Lsn(0x16_B374_D900));
        assert_eq!(x.send_time, PgTimestamp(5));
        assert_eq!(&x.data[..], b"BEGIN 7");
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(&out[..], &raw[..]);
        // Every prefix shorter than the header is truncated; the header alone is empty data.
        for cut in 0..25 {
            let e = PrimaryMessage::decode(Bytes::copy_from_slice(&raw[..cut])).unwrap_err();
            assert_eq!(e.sql_state(), crate::SqlState::PROTOCOL_VIOLATION);
            if cut == 0 {
                assert_eq!(e, DecodeError::Empty { layer: LAYER });
            } else {
                assert!(matches!(e, DecodeError::Truncated { .. }), "{e:?}");
            }
        }
        let PrimaryMessage::XLogData(x) =
            PrimaryMessage::decode(Bytes::copy_from_slice(&raw[..25])).unwrap()
        else {
            panic!()
        };
        assert!(x.data.is_empty());
    }

    #[test]
    fn keepalive_and_standby_messages_by_hand() {
        let mut k = vec![b'k'];
        k.extend_from_slice(&7u64.to_be_bytes());
        k.extend_from_slice(&(-1i64).to_be_bytes());
        k.push(1);
        let m = PrimaryMessage::decode(Bytes::from(k.clone())).unwrap();
        assert_eq!(
            m,
            PrimaryMessage::Keepalive(PrimaryKeepalive {
                wal_end: Lsn(7),
                send_time: PgTimestamp(-1),
                reply_requested: true
            })
        );
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(&out[..], &k[..]);
        let mut long = k.clone();
        long.push(0);
        assert_eq!(
            PrimaryMessage::decode(Bytes::from(long)),
            Err(DecodeError::TrailingBytes {
                message: "primary keepalive",
                extra: 1
            })
        );
        assert!(matches!(
            PrimaryMessage::decode(Bytes::from_static(b"r")),
            Err(DecodeError::UnknownType { tag: b'r', .. })
        ));

        let mut r = vec![b'r'];
        for v in [1u64, 2, 3, 4] {
            r.extend_from_slice(&v.to_be_bytes());
        }
        r.push(0);
        let s = StandbyMessage::decode(&r).unwrap();
        assert_eq!(
            s,
            StandbyMessage::StatusUpdate(StandbyStatusUpdate {
                write: Lsn(1),
                flush: Lsn(2),
                apply: Lsn(3),
                send_time: PgTimestamp(4),
                reply_requested: false
            })
        );
        let mut out = BytesMut::new();
        s.encode(&mut out);
        assert_eq!(&out[..], &r[..]);
        for cut in 1..r.len() {
            assert!(matches!(
                StandbyMessage::decode(&r[..cut]),
                Err(DecodeError::Truncated { .. })
            ));
        }

        let mut h = vec![b'h'];
        h.extend_from_slice(&9i64.to_be_bytes());
        for v in [10u32, 11, 12, 13] {
            h.extend_from_slice(&v.to_be_bytes());
        }
        let s = StandbyMessage::decode(&h).unwrap();
        assert_eq!(
            s,
            StandbyMessage::HotStandbyFeedback(HotStandbyFeedback {
                send_time: PgTimestamp(9),
                xmin: 10,
                xmin_epoch: 11,
                catalog_xmin: 12,
                catalog_xmin_epoch: 13
            })
        );
        let mut out = BytesMut::new();
        s.encode(&mut out);
        assert_eq!(&out[..], &h[..]);
        assert!(matches!(
            StandbyMessage::decode(b"w"),
            Err(DecodeError::UnknownType { tag: b'w', .. })
        ));
        assert_eq!(
            StandbyMessage::decode(b""),
            Err(DecodeError::Empty { layer: LAYER })
        );
    }
}
