//! Write-ahead log positions and the timestamps the replication protocol carries.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A write-ahead log position (`pg_lsn`): a byte offset into the WAL, written `16/B374D848`
/// (the high and low 32 bits in upper-case hexadecimal, without leading zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `0/0`: no position (PostgreSQL's `InvalidXLogRecPtr`). START_REPLICATION from `0/0`
    /// starts where the slot's confirmed position is.
    pub const INVALID: Lsn = Lsn(0);

    /// Whether this is `0/0`.
    pub const fn is_invalid(self) -> bool {
        self.0 == 0
    }

    /// The position `bytes` further on, or `None` past the end of the 64-bit space.
    pub const fn checked_add(self, bytes: u64) -> Option<Lsn> {
        match self.0.checked_add(bytes) {
            Some(v) => Some(Lsn(v)),
            None => None,
        }
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl From<u64> for Lsn {
    fn from(v: u64) -> Lsn {
        Lsn(v)
    }
}

impl From<Lsn> for u64 {
    fn from(v: Lsn) -> u64 {
        v.0
    }
}

/// Text that is not an LSN: PostgreSQL's `pg_lsn` input wants one to eight hexadecimal digits,
/// a `/`, and one to eight more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input syntax for type pg_lsn: \"{0}\"")]
pub struct LsnParseError(pub String);

impl LsnParseError {
    /// `22P02` invalid_text_representation, as PostgreSQL answers.
    pub fn sql_state(&self) -> crate::SqlState {
        crate::SqlState::INVALID_TEXT_REPRESENTATION
    }
}

impl FromStr for Lsn {
    type Err = LsnParseError;

    fn from_str(s: &str) -> Result<Lsn, LsnParseError> {
        Lsn::parse(s.as_bytes()).ok_or_else(|| LsnParseError(s.to_owned()))
    }
}

impl Lsn {
    /// Reads the text form (either case): `None` unless it is exactly `HEX/HEX` with 1 to 8
    /// digits on each side.
    pub fn parse(text: &[u8]) -> Option<Lsn> {
        let slash = text.iter().position(|&b| b == b'/')?;
        let hi = hex32(text.get(..slash)?)?;
        let lo = hex32(text.get(slash + 1..)?)?;
        Some(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

fn hex32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let mut v = 0u32;
    for &d in digits {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u32::from(n);
    }
    Some(v)
}

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const UNIX_TO_PG_MICROS: i64 = 946_684_800_000_000;

/// A time as the replication protocol sends it: microseconds since 2000-01-01 00:00:00 UTC
/// (PostgreSQL's epoch). Any 64-bit value can arrive, so none is refused here; conversions to
/// clock types say when a value is out of their range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PgTimestamp(pub i64);

impl PgTimestamp {
    /// 2000-01-01 00:00:00 UTC. Standbys that do not report times send 0.
    pub const PG_EPOCH: PgTimestamp = PgTimestamp(0);

    /// The instant `t`, truncated to whole microseconds; `None` if it does not fit.
    pub fn from_system_time(t: SystemTime) -> Option<PgTimestamp> {
        let unix: i64 = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).ok()?,
            Err(e) => {
                let d = e.duration();
                let micros = d.as_micros() + u128::from(d.subsec_nanos() % 1000 != 0);
                0i64.checked_sub(i64::try_from(micros).ok()?)?
            }
        };
        unix.checked_sub(UNIX_TO_PG_MICROS).map(PgTimestamp)
    }

    /// The instant, or `None` if the platform's clock cannot represent it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let unix = self.0.checked_add(UNIX_TO_PG_MICROS)?;
        let magnitude = Duration::from_micros(unix.unsigned_abs());
        if unix >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        }
    }

    /// Microseconds since 1970-01-01 00:00:00 UTC, or `None` on overflow.
    pub fn unix_micros(self) -> Option<i64> {
        self.0.checked_add(UNIX_TO_PG_MICROS)
    }

    /// The same instant as a `timestamptz` value, when within PostgreSQL's range.
    pub fn to_timestamptz(self) -> Option<crate::types::TimestampTz> {
        crate::types::TimestampTz::from_pg_micros(self.0)
    }
}

impl fmt::Display for PgTimestamp {
    /// As PostgreSQL writes a `timestamptz` at UTC (`2026-11-22 10:04:05.123456+00`); a value
    /// outside PostgreSQL's range is written as its microsecond count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::types::datetime::timestamptz_utc_text(self.0) {
            Some(text) => f.write_str(&text),
            None => write!(f, "{} microseconds after 2000-01-01", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_forms() {
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert_eq!(Lsn(u64::MAX).to_string(), "FFFFFFFF/FFFFFFFF");
        assert_eq!(Lsn(0x1_0000_000A).to_string(), "1/A");
        assert_eq!("16/b374d848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("00000000/00000001".parse::<Lsn>(), Ok(Lsn(1)));
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "1//1",
            "123456789/0",
            "0/123456789",
            "g/0",
            " 0/0",
            "0/0 ",
            "0-0",
            "+1/0",
        ] {
            let err = bad.parse::<Lsn>().unwrap_err();
            assert_eq!(
                err.sql_state(),
                crate::SqlState::INVALID_TEXT_REPRESENTATION
            );
        }
    }

    #[test]
    fn lsn_text_round_trips() {
        for v in [
            0u64,
            1,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0xDEAD_BEEF_0000_0001,
            u64::MAX,
        ] {
            assert_eq!(Lsn(v).to_string().parse::<Lsn>(), Ok(Lsn(v)));
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(PgTimestamp(0).to_string(), "2000-01-01 00:00:00+00");
        assert_eq!(
            PgTimestamp(849_960_245_123_456).to_string(),
            "2026-12-07 12:04:05.123456+00"
        );
        let t = UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        let pg = PgTimestamp::from_system_time(t).unwrap();
        assert_eq!(pg.unix_micros(), Some(1_795_000_000_123_456));
        assert_eq!(pg.to_system_time(), Some(t));
        let before = UNIX_EPOCH - Duration::from_nanos(1500);
        assert_eq!(
            PgTimestamp::from_system_time(before).unwrap().unix_micros(),
            Some(-2)
        );
        assert_eq!(PgTimestamp(i64::MAX).unix_micros(), None);
        assert_eq!(PgTimestamp(i64::MAX).to_system_time(), None);
        assert!(
            PgTimestamp(i64::MIN + 1)
                .to_string()
                .contains("microseconds")
        );
        assert_eq!(
            PgTimestamp(0).to_timestamptz(),
            Some(crate::types::TimestampTz::PG_EPOCH)
        );
    }
}
