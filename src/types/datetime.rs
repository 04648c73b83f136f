//! `date`, `time`, `timetz`, `timestamp`, `timestamptz` and `interval`.
//!
//! Every value holds PostgreSQL's own representation (days or microseconds since
//! 2000-01-01, microseconds since midnight, months/days/microseconds), so binary values pass
//! through unchanged and text is written exactly as PostgreSQL writes it with
//! `DateStyle = ISO` and `IntervalStyle = postgres`.
//!
//! Text input follows PostgreSQL's parser for the forms drivers and people use: ISO dates
//! (`2020-02-29`, `20200229`, `/` or `.` separators, `BC`/`AD`), times (`03:04:05.123456`,
//! `03:04`, `mm:ss.f`, `T030405`, `AM`/`PM`, leap second `:60`), zone offsets (`+hh`, `+hhmm`,
//! `+hh:mm`, `+hh:mm:ss`, `Z`, `UTC`, `GMT`, `UT`, `Zulu`), `T` separators, `infinity`,
//! `+infinity`, `-infinity` and `epoch`; intervals in postgres style (`1 year -2 mons
//! 3 days 04:05:06.5`, `@ 1 day ago`, `1-2` years-months, every unit PostgreSQL knows) and
//! ISO 8601 (`P1Y2M3DT4H5M6.5S`, `P0001-02-03T04:05:06`). Fractions beyond microseconds are
//! rounded as PostgreSQL rounds them. Not accepted (PostgreSQL accepts them): month names,
//! two-digit and month-first years (`1-01-01`, `200229`), named time zones other than UTC,
//! Julian day numbers, and `now`/`today`/`tomorrow`/`yesterday` (this crate reads no clock).
//!
//! Errors: text PostgreSQL rejects as malformed is [`ValueError::InvalidDatetime`] (22007
//! `invalid_datetime_format`, as PostgreSQL reports it); a field out of range (month 13,
//! February 30, 25:00, a zone offset of 16 hours), a value outside the type's range and an
//! interval component that overflows are [`ValueError::DatetimeOutOfRange`] (PostgreSQL uses
//! 22008, and 22009/22015 for zone offsets and interval fields).

use core::cmp::Ordering;
use core::fmt;
use core::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

use super::primitive::{decimal, digit_pair};
use super::{Decode, Encode, Session, ValueError, oid};

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_MICROS: i64 = UNIX_TO_PG_DAYS as i64 * USECS_PER_DAY;
/// Julian day 0 (4714-11-24 BC), PostgreSQL's first date, in days since 2000-01-01.
const DATE_MIN_DAYS: i32 = -2_451_545;
/// 5874897-12-31, PostgreSQL's last date, in days since 2000-01-01.
const DATE_MAX_DAYS: i32 = 2_145_031_948;
/// 4714-11-24 00:00:00 BC, the first timestamp.
const TS_MIN: i64 = DATE_MIN_DAYS as i64 * USECS_PER_DAY;
/// 294277-01-01 00:00:00, the first timestamp past the range.
const TS_END: i64 = 9_223_371_331_200_000_000;
/// Zone offsets must be strictly within this many seconds of UTC (16 hours).
const TZ_LIMIT: i32 = 16 * 3600;

const DATE_NAME: &str = "date";
const TIME_NAME: &str = "time";
const TIMETZ_NAME: &str = "time with time zone";
const TIMESTAMP_NAME: &str = "timestamp";
const TIMESTAMPTZ_NAME: &str = "timestamp with time zone";
const INTERVAL_NAME: &str = "interval";

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, astronomical years)
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a date; `m` in 1..=12.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    // Count years from March so that the leap day ends a year.
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = (m + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: (astronomical year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (year, month as u32, day as u32)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// PostgreSQL's first check on a parsed date (`IS_VALID_JULIAN`): only the year and month are
/// looked at, the exact bounds are checked on the result.
fn julian_ok(year: i64, month: u32) -> bool {
    (year > -4713 || (year == -4713 && month >= 11))
        && (year < 5_874_898 || (year == 5_874_898 && month < 6))
}

/// Days since 2000-01-01 of a date.
fn pg_days(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) - i64::from(UNIX_TO_PG_DAYS)
}

// ---------------------------------------------------------------------------------------------
// The types
// ---------------------------------------------------------------------------------------------

/// A `date`: a day from 4714-11-24 BC to 5874897-12-31, or `infinity`/`-infinity`.
///
/// Years are astronomical: year 0 is 1 BC, year -1 is 2 BC (a BC year `n` is `1 - n`), the
/// calendar is the proleptic Gregorian one, as in PostgreSQL. The order is chronological,
/// with `-infinity` first and `infinity` last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(i32);

impl Date {
    /// `-infinity`, before every date.
    pub const NEG_INFINITY: Date = Date(i32::MIN);
    /// `infinity`, after every date.
    pub const INFINITY: Date = Date(i32::MAX);
    /// 4714-11-24 BC (year -4713), the first date PostgreSQL accepts (Julian day 0).
    pub const MIN: Date = Date(DATE_MIN_DAYS);
    /// 5874897-12-31, the last date PostgreSQL accepts.
    pub const MAX: Date = Date(DATE_MAX_DAYS);
    /// 2000-01-01, PostgreSQL's epoch.
    pub const PG_EPOCH: Date = Date(0);
    /// 1970-01-01, the Unix epoch (`epoch` in text).
    pub const UNIX_EPOCH: Date = Date(-UNIX_TO_PG_DAYS);

    /// The date `days` days after 2000-01-01 (PostgreSQL's binary form): `None` outside
    /// [`Date::MIN`]..=[`Date::MAX`] unless it is `i32::MIN` (`-infinity`) or `i32::MAX`
    /// (`infinity`).
    pub const fn from_pg_days(days: i32) -> Option<Date> {
        if days == i32::MIN || days == i32::MAX || (days >= DATE_MIN_DAYS && days <= DATE_MAX_DAYS)
        {
            Some(Date(days))
        } else {
            None
        }
    }

    /// Days since 2000-01-01 (PostgreSQL's binary form; `i32::MIN`/`i32::MAX` for
    /// `-infinity`/`infinity`).
    pub const fn pg_days(self) -> i32 {
        self.0
    }

    /// The date `days` days after 1970-01-01, if in range.
    pub fn from_unix_days(days: i64) -> Option<Date> {
        let days = days.checked_sub(i64::from(UNIX_TO_PG_DAYS))?;
        i32::try_from(days)
            .ok()
            .filter(|&d| in_date_range(i64::from(d)))
            .map(Date)
    }

    /// Days since 1970-01-01, or `None` when infinite.
    pub fn unix_days(self) -> Option<i64> {
        self.is_finite()
            .then(|| i64::from(self.0) + i64::from(UNIX_TO_PG_DAYS))
    }

    /// The date of astronomical `year` (0 is 1 BC, -1 is 2 BC), `month` (1..=12) and `day`:
    /// `None` if there is no such day or it is outside [`Date::MIN`]..=[`Date::MAX`].
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let year = i64::from(year);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let days = pg_days(year, month, day);
        in_date_range(days).then_some(Date(days as i32))
    }

    /// Astronomical year, month (1..=12) and day (1..=31), or `None` when infinite.
    pub fn to_ymd(self) -> Option<(i32, u32, u32)> {
        if !self.is_finite() {
            return None;
        }
        let (y, m, d) = civil_from_days(i64::from(self.0) + i64::from(UNIX_TO_PG_DAYS));
        // Finite dates have years within -4713..=5874897.
        Some((y as i32, m, d))
    }

    /// The astronomical year (0 is 1 BC), or `None` when infinite.
    pub fn year(self) -> Option<i32> {
        self.to_ymd().map(|(y, _, _)| y)
    }

    /// The month, 1..=12, or `None` when infinite.
    pub fn month(self) -> Option<u32> {
        self.to_ymd().map(|(_, m, _)| m)
    }

    /// The day of the month, 1..=31, or `None` when infinite.
    pub fn day(self) -> Option<u32> {
        self.to_ymd().map(|(_, _, d)| d)
    }

    /// Whether this is `infinity` or `-infinity`.
    pub const fn is_infinite(self) -> bool {
        self.0 == i32::MIN || self.0 == i32::MAX
    }

    /// Whether this is an actual day.
    pub const fn is_finite(self) -> bool {
        !self.is_infinite()
    }
}

fn in_date_range(days: i64) -> bool {
    (i64::from(DATE_MIN_DAYS)..=i64::from(DATE_MAX_DAYS)).contains(&days)
}

/// A `time`: a time of day from 00:00:00 to 24:00:00 inclusive, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Time(i64);

impl Time {
    /// 00:00:00.
    pub const MIDNIGHT: Time = Time(0);
    /// 24:00:00, the end of the day, which PostgreSQL allows.
    pub const END_OF_DAY: Time = Time(USECS_PER_DAY);

    /// The time `micros` microseconds after midnight (PostgreSQL's binary form): `None`
    /// outside 0..=86 400 000 000.
    pub const fn from_micros(micros: i64) -> Option<Time> {
        if micros >= 0 && micros <= USECS_PER_DAY {
            Some(Time(micros))
        } else {
            None
        }
    }

    /// Microseconds since midnight.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The time `hour:minute:second.micro`: `None` unless `hour < 24`, `minute < 60`,
    /// `second < 60` and `micro < 1_000_000`, or it is exactly 24:00:00.
    pub const fn from_hms_micro(hour: u32, minute: u32, second: u32, micro: u32) -> Option<Time> {
        if minute >= 60 || second >= 60 || micro >= 1_000_000 || hour > 24 {
            return None;
        }
        let micros = ((hour as i64 * 60 + minute as i64) * 60 + second as i64) * USECS_PER_SEC
            + micro as i64;
        Time::from_micros(micros)
    }

    /// The hour, 0..=24 (24 only for 24:00:00).
    pub const fn hour(self) -> u32 {
        (self.0 / USECS_PER_HOUR) as u32
    }

    /// The minute, 0..=59.
    pub const fn minute(self) -> u32 {
        (self.0 % USECS_PER_HOUR / USECS_PER_MINUTE) as u32
    }

    /// The second, 0..=59.
    pub const fn second(self) -> u32 {
        (self.0 % USECS_PER_MINUTE / USECS_PER_SEC) as u32
    }

    /// The microsecond within the second, 0..=999 999.
    pub const fn microsecond(self) -> u32 {
        (self.0 % USECS_PER_SEC) as u32
    }
}

/// A `timetz`: a time of day with a UTC offset.
///
/// The offset is in seconds east of UTC (`+02` is 7200), strictly within ±16 hours.
/// PostgreSQL's binary form stores it the other way round (seconds west); this type converts.
/// The order is PostgreSQL's: by the UTC-equivalent time, then by offset (east first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTz {
    time: Time,
    offset: i32,
}

impl TimeTz {
    /// `time` at `utc_offset` seconds east of UTC: `None` unless the offset is strictly
    /// within ±16 hours (PostgreSQL's limit, ±15:59:59).
    pub const fn new(time: Time, utc_offset: i32) -> Option<TimeTz> {
        if utc_offset > -TZ_LIMIT && utc_offset < TZ_LIMIT {
            Some(TimeTz {
                time,
                offset: utc_offset,
            })
        } else {
            None
        }
    }

    /// The local time of day.
    pub const fn time(self) -> Time {
        self.time
    }

    /// The offset in seconds east of UTC.
    pub const fn utc_offset(self) -> i32 {
        self.offset
    }

    /// The same instant's time of day at UTC, in microseconds; may fall outside 0..=24 h.
    fn utc_micros(self) -> i64 {
        self.time.0 - i64::from(self.offset) * USECS_PER_SEC
    }
}

impl PartialOrd for TimeTz {
    fn partial_cmp(&self, other: &TimeTz) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TimeTz {
    fn cmp(&self, other: &TimeTz) -> Ordering {
        self.utc_micros()
            .cmp(&other.utc_micros())
            .then_with(|| other.offset.cmp(&self.offset))
    }
}

/// A `timestamp` (without time zone): a date and time from 4714-11-24 00:00:00 BC to
/// 294276-12-31 23:59:59.999999, or `infinity`/`-infinity`, in microseconds since
/// 2000-01-01 00:00:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// A `timestamptz`: an instant, held as UTC microseconds since 2000-01-01 00:00:00 UTC, with
/// the same range as [`Timestamp`]. Text is written at the [`Session`]'s offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimestampTz(i64);

macro_rules! timestamp_common {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// `-infinity`, before every other value.
            pub const NEG_INFINITY: $ty = $ty(i64::MIN);
            /// `infinity`, after every other value.
            pub const INFINITY: $ty = $ty(i64::MAX);
            /// 4714-11-24 00:00:00 BC, the first value PostgreSQL accepts.
            pub const MIN: $ty = $ty(TS_MIN);
            /// 294276-12-31 23:59:59.999999, the last value PostgreSQL accepts.
            pub const MAX: $ty = $ty(TS_END - 1);
            /// 2000-01-01 00:00:00, PostgreSQL's epoch.
            pub const PG_EPOCH: $ty = $ty(0);
            /// 1970-01-01 00:00:00, the Unix epoch (`epoch` in text).
            pub const UNIX_EPOCH: $ty = $ty(-UNIX_TO_PG_MICROS);

            #[doc = concat!("The ", $what, " `micros` microseconds after 2000-01-01 00:00:00 ")]
            /// (PostgreSQL's binary form): `None` outside `MIN..=MAX` unless it is `i64::MIN`
            /// (`-infinity`) or `i64::MAX` (`infinity`).
            pub const fn from_pg_micros(micros: i64) -> Option<$ty> {
                if micros == i64::MIN || micros == i64::MAX || (micros >= TS_MIN && micros < TS_END)
                {
                    Some($ty(micros))
                } else {
                    None
                }
            }

            /// Microseconds since 2000-01-01 00:00:00 (PostgreSQL's binary form;
            /// `i64::MIN`/`i64::MAX` for `-infinity`/`infinity`).
            pub const fn pg_micros(self) -> i64 {
                self.0
            }

            #[doc = concat!("The ", $what, " `micros` microseconds after 1970-01-01 00:00:00, ")]
            /// if in range.
            pub const fn from_unix_micros(micros: i64) -> Option<$ty> {
                match micros.checked_sub(UNIX_TO_PG_MICROS) {
                    Some(pg) if pg >= TS_MIN && pg < TS_END => Some($ty(pg)),
                    _ => None,
                }
            }

            /// Microseconds since 1970-01-01 00:00:00, or `None` when infinite.
            pub const fn unix_micros(self) -> Option<i64> {
                if self.is_infinite() {
                    None
                } else {
                    Some(self.0 + UNIX_TO_PG_MICROS)
                }
            }

            /// Whether this is `infinity` or `-infinity`.
            pub const fn is_infinite(self) -> bool {
                self.0 == i64::MIN || self.0 == i64::MAX
            }

            /// Whether this is an actual point in time.
            pub const fn is_finite(self) -> bool {
                !self.is_infinite()
            }
        }
    };
}

timestamp_common!(Timestamp, "timestamp");
timestamp_common!(TimestampTz, "instant");

impl Timestamp {
    /// `time` on `date`: `None` if `date` is infinite or the result is out of range.
    /// 24:00:00 is midnight of the next day, as in PostgreSQL.
    pub fn new(date: Date, time: Time) -> Option<Timestamp> {
        if date.is_infinite() {
            return None;
        }
        let micros = i64::from(date.0)
            .checked_mul(USECS_PER_DAY)?
            .checked_add(time.0)?;
        Timestamp::from_pg_micros(micros).filter(|t| t.is_finite())
    }

    /// The date, or `None` when infinite.
    pub fn date(self) -> Option<Date> {
        // Finite timestamps' days are within the date range.
        self.is_finite()
            .then(|| Date(self.0.div_euclid(USECS_PER_DAY) as i32))
    }

    /// The time of day (never 24:00:00), or `None` when infinite.
    pub fn time(self) -> Option<Time> {
        self.is_finite()
            .then(|| Time(self.0.rem_euclid(USECS_PER_DAY)))
    }
}

impl TimestampTz {
    /// The instant whose UTC wall-clock time is `utc` (same microseconds).
    pub const fn from_utc(utc: Timestamp) -> TimestampTz {
        TimestampTz(utc.0)
    }

    /// The UTC wall-clock time of this instant (same microseconds).
    pub const fn to_utc(self) -> Timestamp {
        Timestamp(self.0)
    }

    /// The instant whose wall-clock time at `utc_offset` seconds east of UTC is `local`:
    /// `None` if the result is out of range. Infinities stay infinite.
    pub fn from_local(local: Timestamp, utc_offset: i32) -> Option<TimestampTz> {
        if local.is_infinite() {
            return Some(TimestampTz(local.0));
        }
        let utc = local.0.checked_sub(i64::from(utc_offset) * USECS_PER_SEC)?;
        TimestampTz::from_pg_micros(utc).filter(|t| t.is_finite())
    }

    /// The wall-clock time of this instant at `utc_offset` seconds east of UTC: `None` if
    /// that is out of [`Timestamp`]'s range. Infinities stay infinite.
    pub fn to_local(self, utc_offset: i32) -> Option<Timestamp> {
        if self.is_infinite() {
            return Some(Timestamp(self.0));
        }
        let local = self.0.checked_add(i64::from(utc_offset) * USECS_PER_SEC)?;
        Timestamp::from_pg_micros(local).filter(|t| t.is_finite())
    }
}

impl TryFrom<SystemTime> for TimestampTz {
    type Error = ValueError;

    /// Sub-microsecond precision is truncated towards the past.
    fn try_from(t: SystemTime) -> Result<TimestampTz, ValueError> {
        let micros: i128 = match t.duration_since(UNIX_EPOCH) {
            Ok(after) => i128::try_from(after.as_micros()).unwrap_or(i128::MAX),
            Err(e) => {
                // Before 1970: round away from zero, that is towards the past.
                let nanos = e.duration().as_nanos();
                let micros = nanos / 1000 + u128::from(nanos % 1000 != 0);
                i128::try_from(micros).map_or(i128::MIN, |m| -m)
            }
        };
        i64::try_from(micros)
            .ok()
            .and_then(TimestampTz::from_unix_micros)
            .ok_or(ValueError::DatetimeOutOfRange {
                type_name: TIMESTAMPTZ_NAME,
            })
    }
}

impl TryFrom<TimestampTz> for SystemTime {
    type Error = ValueError;

    /// Fails for the infinities and instants the platform's clock cannot represent.
    fn try_from(t: TimestampTz) -> Result<SystemTime, ValueError> {
        let out_of_range = ValueError::DatetimeOutOfRange {
            type_name: TIMESTAMPTZ_NAME,
        };
        let micros = t.unix_micros().ok_or_else(|| out_of_range.clone())?;
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        let time = if micros >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        };
        time.ok_or(out_of_range)
    }
}

/// An `interval`: months, days and microseconds, each kept separately as PostgreSQL does (a
/// month is not a fixed number of days, nor a day of hours across daylight-saving changes).
///
/// Equality and hashing compare the three fields, so `1 mon` and `30 days` differ here even
/// though PostgreSQL's `=` calls them equal; for the same reason there is no `Ord`.
/// PostgreSQL 17 and later have `infinity` and `-infinity` intervals: every field at its
/// maximum or minimum ([`Interval::INFINITY`], [`Interval::NEG_INFINITY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months (a year is 12).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// `00:00:00`.
    pub const ZERO: Interval = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };
    /// `infinity` (PostgreSQL 17+).
    pub const INFINITY: Interval = Interval {
        months: i32::MAX,
        days: i32::MAX,
        micros: i64::MAX,
    };
    /// `-infinity` (PostgreSQL 17+).
    pub const NEG_INFINITY: Interval = Interval {
        months: i32::MIN,
        days: i32::MIN,
        micros: i64::MIN,
    };

    /// An interval of `months`, `days` and `micros`.
    pub const fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// Whether this is `infinity` or `-infinity`.
    pub const fn is_infinite(self) -> bool {
        (self.months == i32::MAX && self.days == i32::MAX && self.micros == i64::MAX)
            || (self.months == i32::MIN && self.days == i32::MIN && self.micros == i64::MIN)
    }
}

impl TryFrom<Duration> for Interval {
    type Error = ValueError;

    /// A duration as microseconds (truncating nanoseconds), with no days or months.
    fn try_from(d: Duration) -> Result<Interval, ValueError> {
        i64::try_from(d.as_micros())
            .ok()
            .map(|micros| Interval {
                months: 0,
                days: 0,
                micros,
            })
            .ok_or(ValueError::DatetimeOutOfRange {
                type_name: INTERVAL_NAME,
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Text output
// ---------------------------------------------------------------------------------------------

/// A stack buffer for one value's text, so encoding allocates nothing but `out`'s growth.
struct Buf {
    bytes: [u8; 112],
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            bytes: [0; 112],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        // The buffer is larger than any value's text; never panic regardless.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_all(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }

    /// `v` in decimal, zero-padded to at least `width` digits.
    fn push_num(&mut self, v: u64, width: usize) {
        if width == 2 && v < 100 {
            // Months, days, hours, minutes, seconds: the common case, one table lookup.
            let [a, b] = digit_pair(v);
            self.push(a);
            self.push(b);
            return;
        }
        let mut digits = [0u8; 20];
        let start = decimal(&mut digits, v);
        for _ in digits.len() - start..width {
            self.push(b'0');
        }
        self.push_all(digits.get(start..).unwrap_or_default());
    }

    /// `.ffffff` without trailing zeros, nothing when `micros` is zero.
    fn push_fraction(&mut self, micros: u64) {
        if micros == 0 {
            return;
        }
        let v = micros % 1_000_000;
        let [a, b] = digit_pair(v / 10_000);
        let [c, d] = digit_pair(v / 100);
        let [e, f] = digit_pair(v);
        let digits = [a, b, c, d, e, f];
        let end = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        self.push(b'.');
        self.push_all(digits.get(..end).unwrap_or(&[]));
    }

    /// `HH:MM:SS[.ffffff]` for a non-negative count of microseconds (hours may exceed 23).
    fn push_hms(&mut self, micros: u64) {
        let usecs_per_hour = USECS_PER_HOUR as u64;
        let usecs_per_minute = USECS_PER_MINUTE as u64;
        let usecs_per_sec = USECS_PER_SEC as u64;
        self.push_num(micros / usecs_per_hour, 2);
        self.push(b':');
        self.push_num(micros % usecs_per_hour / usecs_per_minute, 2);
        self.push(b':');
        self.push_num(micros % usecs_per_minute / usecs_per_sec, 2);
        self.push_fraction(micros % usecs_per_sec);
    }

    /// A UTC offset in seconds east as PostgreSQL writes it: `+hh`, `+hh:mm` or `+hh:mm:ss`.
    fn push_offset(&mut self, east: i32) {
        self.push(if east >= 0 { b'+' } else { b'-' });
        let secs = u64::from(east.unsigned_abs());
        self.push_num(secs / 3600, 2);
        if secs % 3600 != 0 {
            self.push(b':');
            self.push_num(secs / 60 % 60, 2);
            if secs % 60 != 0 {
                self.push(b':');
                self.push_num(secs % 60, 2);
            }
        }
    }

    /// `YYYY-MM-DD` for `days` since 2000-01-01; returns whether the year is BC.
    fn push_date(&mut self, days: i64) -> bool {
        let (year, month, day) = civil_from_days(days + i64::from(UNIX_TO_PG_DAYS));
        let bc = year <= 0;
        let shown = if bc { 1 - year } else { year };
        self.push_num(shown.unsigned_abs(), 4);
        self.push(b'-');
        self.push_num(u64::from(month), 2);
        self.push(b'-');
        self.push_num(u64::from(day), 2);
        bc
    }

    /// A timestamp's text for local microseconds since 2000-01-01, with an optional offset.
    fn push_timestamp(&mut self, local: i128, offset: Option<i32>) {
        let day = i128::from(USECS_PER_DAY);
        // |local| < 2^64, so the day count fits easily.
        let bc = self.push_date(local.div_euclid(day) as i64);
        self.push(b' ');
        self.push_hms(local.rem_euclid(day) as u64);
        if let Some(east) = offset {
            self.push_offset(east);
        }
        if bc {
            self.push_all(b" BC");
        }
    }

    /// One `N unit[s]` part of an interval, PostgreSQL style.
    fn push_interval_part(
        &mut self,
        value: i64,
        unit: &[u8],
        is_zero: &mut bool,
        is_before: &mut bool,
    ) {
        if value == 0 {
            return;
        }
        if !*is_zero {
            self.push(b' ');
        }
        if *is_before && value > 0 {
            self.push(b'+');
        }
        if value < 0 {
            self.push(b'-');
        }
        self.push_num(value.unsigned_abs(), 1);
        self.push(b' ');
        self.push_all(unit);
        if value != 1 {
            self.push(b's');
        }
        *is_before = value < 0;
        *is_zero = false;
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

fn date_text(d: Date) -> Buf {
    let mut buf = Buf::new();
    match d.0 {
        i32::MAX => buf.push_all(b"infinity"),
        i32::MIN => buf.push_all(b"-infinity"),
        days => {
            if buf.push_date(i64::from(days)) {
                buf.push_all(b" BC");
            }
        }
    }
    buf
}

fn time_text(t: Time) -> Buf {
    let mut buf = Buf::new();
    buf.push_hms(t.0.unsigned_abs());
    buf
}

fn timetz_text(t: TimeTz) -> Buf {
    let mut buf = Buf::new();
    buf.push_hms(t.time.0.unsigned_abs());
    buf.push_offset(t.offset);
    buf
}

fn timestamp_text(micros: i64, offset: Option<i32>) -> Buf {
    let mut buf = Buf::new();
    match micros {
        i64::MAX => buf.push_all(b"infinity"),
        i64::MIN => buf.push_all(b"-infinity"),
        utc => {
            let east = offset.unwrap_or(0);
            // Finite values are far from i64's limits, but an offset can be any i32.
            let local = i128::from(utc) + i128::from(east) * i128::from(USECS_PER_SEC);
            buf.push_timestamp(local, offset);
        }
    }
    buf
}

fn interval_text(iv: Interval) -> Buf {
    let mut buf = Buf::new();
    if iv == Interval::INFINITY {
        buf.push_all(b"infinity");
        return buf;
    }
    if iv == Interval::NEG_INFINITY {
        buf.push_all(b"-infinity");
        return buf;
    }
    let (mut is_zero, mut is_before) = (true, false);
    let months = i64::from(iv.months);
    buf.push_interval_part(months / 12, b"year", &mut is_zero, &mut is_before);
    buf.push_interval_part(months % 12, b"mon", &mut is_zero, &mut is_before);
    buf.push_interval_part(i64::from(iv.days), b"day", &mut is_zero, &mut is_before);
    if is_zero || iv.micros != 0 {
        if !is_zero {
            buf.push(b' ');
        }
        if iv.micros < 0 {
            buf.push(b'-');
        } else if is_before {
            buf.push(b'+');
        }
        buf.push_hms(iv.micros.unsigned_abs());
    }
    buf
}

// ---------------------------------------------------------------------------------------------
// Text input: shared pieces
// ---------------------------------------------------------------------------------------------

/// Why text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// Malformed (PostgreSQL: 22007).
    Syntax,
    /// A field or the value out of range (PostgreSQL: 22008, 22009, 22015).
    Range,
}

type Parse<T> = Result<T, Fail>;

fn fail_to_error(fail: Fail, type_name: &'static str, raw: &[u8]) -> ValueError {
    match fail {
        Fail::Syntax => ValueError::datetime_text(type_name, raw),
        Fail::Range => ValueError::DatetimeOutOfRange { type_name },
    }
}

fn utf8(raw: &[u8]) -> Result<&[u8], ValueError> {
    core::str::from_utf8(raw)
        .map(str::as_bytes)
        .map_err(|_| ValueError::InvalidUtf8)
}

/// Like C's `strtol`: an optional sign and digits. Returns the value (`None` on overflow of
/// `i64`) and the rest; with no digits, the value is 0 and the rest is all of `s`.
fn strtoi64(s: &[u8]) -> (Option<i64>, &[u8]) {
    match s.split_first() {
        Some((b'-', rest)) => signed_digits(true, rest, s),
        Some((b'+', rest)) => signed_digits(false, rest, s),
        _ => signed_digits(false, s, s),
    }
}

/// The digits at the start of `body`, negated if `neg`; `whole` is returned as the rest when
/// there are none.
fn signed_digits<'a>(neg: bool, body: &'a [u8], whole: &'a [u8]) -> (Option<i64>, &'a [u8]) {
    let n = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return (Some(0), whole);
    }
    let (digits, rest) = body.split_at(n);
    let mut acc: i128 = 0;
    for &d in digits {
        acc = acc * 10 + i128::from(d - b'0');
        if acc > 1 << 64 {
            return (None, rest);
        }
    }
    let value = if neg { -acc } else { acc };
    (i64::try_from(value).ok(), rest)
}

/// `strtoi64` limited to `i32`.
fn strtoint(s: &[u8]) -> (Option<i32>, &[u8]) {
    let (v, rest) = strtoi64(s);
    (v.and_then(|v| i32::try_from(v).ok()), rest)
}

/// A fraction `.ddd` (the `.` included; `.` alone is 0) that must use all of `s`.
fn parse_fraction(s: &[u8]) -> Parse<f64> {
    match s.split_first() {
        Some((b'.', [])) => Ok(0.0),
        Some((b'.', digits)) if digits.iter().all(u8::is_ascii_digit) => core::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(Fail::Syntax),
        _ => Err(Fail::Syntax),
    }
}

/// Fractional seconds in microseconds, rounded half to even as PostgreSQL's `rint` does.
fn parse_fractional_second(s: &[u8]) -> Parse<i64> {
    let frac = parse_fraction(s)?;
    Ok((frac * 1e6).round_ties_even() as i64)
}

/// One field of a date/time string, split as PostgreSQL's `ParseDateTime` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// Digits, possibly with `.` and more digits (or starting with `.`).
    Number(&'a [u8]),
    /// Digits and a repeated `-`, `/` or `.` delimiter (or digits, a delimiter and text).
    Date(&'a [u8], u8),
    /// Digits with `:` (and `.`).
    Time(&'a [u8]),
    /// `+` or `-` followed by digits, `:`, `.` and `-` (an offset, or a signed number or time).
    Signed(bool, &'a [u8]),
    /// `+` or `-` followed by letters.
    SignedWord(bool, &'a [u8]),
    /// Letters.
    Word(&'a [u8]),
    /// Letters run together with digits or punctuation (`feb-29`, `utc+5`, `p1d`).
    Glued(&'a [u8]),
}

/// Whether `word` is in PostgreSQL's table of date/time keywords, which decides whether
/// letters followed by digits are a keyword and a number or one field.
fn is_keyword(word: &[u8]) -> bool {
    #[rustfmt::skip]
    const KEYWORDS: &[&str] = &[
        "ad", "allballs", "am", "apr", "april", "at", "aug", "august", "bc", "d", "dec",
        "december", "dow", "doy", "dst", "epoch", "feb", "february", "fri", "friday", "h",
        "infinity", "isodow", "isoyear", "j", "jan", "january", "jd", "jul", "julian", "july",
        "jun", "june", "m", "mar", "march", "may", "mm", "mon", "monday", "nov", "november",
        "now", "oct", "october", "on", "pm", "s", "sat", "saturday", "sep", "sept", "september",
        "sun", "sunday", "t", "thu", "thur", "thurs", "thursday", "today", "tomorrow", "tue",
        "tues", "tuesday", "wed", "wednesday", "weds", "y", "yesterday",
    ];
    let key = word.get(..10).unwrap_or(word);
    KEYWORDS.iter().any(|k| is(key, k))
}

fn skip_while(s: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while s.get(i).is_some_and(|&b| f(b)) {
        i += 1;
    }
    i
}

/// PostgreSQL's limit on the number of fields.
const MAX_FIELDS: usize = 25;

/// The next field of `s` from `*pos`, or `None` at the end.
fn next_token<'a>(s: &'a [u8], pos: &mut usize) -> Parse<Option<Tok<'a>>> {
    loop {
        let start = *pos;
        let Some(&c) = s.get(start) else {
            return Ok(None);
        };
        let slice = |end: usize| s.get(start..end).unwrap_or(&[]);
        if c.is_ascii_whitespace() {
            *pos += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let mut i = skip_while(s, start, |b| b.is_ascii_digit());
            let tok = match s.get(i).copied() {
                Some(b':') => {
                    i = skip_while(s, i, |b| b.is_ascii_digit() || b == b':' || b == b'.');
                    Tok::Time(slice(i))
                }
                Some(delim @ (b'-' | b'/' | b'.')) => {
                    i += 1;
                    if s.get(i).is_some_and(u8::is_ascii_digit) {
                        i = skip_while(s, i, |b| b.is_ascii_digit());
                        if s.get(i) == Some(&delim) {
                            i = skip_while(s, i, |b| b.is_ascii_digit() || b == delim);
                            Tok::Date(slice(i), delim)
                        } else if delim == b'.' {
                            Tok::Number(slice(i))
                        } else {
                            Tok::Date(slice(i), delim)
                        }
                    } else {
                        // Digits, a delimiter and text (a month name, or nothing): PostgreSQL
                        // makes it a date field.
                        i = skip_while(s, i, |b| b.is_ascii_alphanumeric() || b == delim);
                        Tok::Date(slice(i), delim)
                    }
                }
                _ => Tok::Number(slice(i)),
            };
            *pos = i;
            return Ok(Some(tok));
        }
        if c == b'.' {
            *pos = skip_while(s, start + 1, |b| b.is_ascii_digit());
            return Ok(Some(Tok::Number(slice(*pos))));
        }
        if c.is_ascii_alphabetic() {
            *pos = skip_while(s, start, |b| b.is_ascii_alphabetic());
            let word = slice(*pos);
            // As in PostgreSQL, letters run together with what follows (a zone name such as
            // `utc+5`, a date such as `feb-29`) unless they are a keyword followed by digits.
            let glued = match s.get(*pos).copied() {
                Some(b'-' | b'/' | b'.') => true,
                Some(b) if b == b'+' || b.is_ascii_digit() => !is_keyword(word),
                _ => false,
            };
            if glued {
                *pos = skip_while(s, *pos, |b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'+' | b'-' | b'/' | b'_' | b'.' | b':')
                });
                return Ok(Some(Tok::Glued(slice(*pos))));
            }
            return Ok(Some(Tok::Word(word)));
        }
        if c == b'+' || c == b'-' {
            let neg = c == b'-';
            let body_start = skip_while(s, start + 1, |b| b.is_ascii_whitespace());
            let body = |end: usize| s.get(body_start..end).unwrap_or(&[]);
            return match s.get(body_start) {
                Some(b) if b.is_ascii_digit() => {
                    *pos = skip_while(s, body_start, |b| {
                        b.is_ascii_digit() || b == b':' || b == b'.' || b == b'-'
                    });
                    Ok(Some(Tok::Signed(neg, body(*pos))))
                }
                Some(b) if b.is_ascii_alphabetic() => {
                    *pos = skip_while(s, body_start, |b| b.is_ascii_alphabetic());
                    Ok(Some(Tok::SignedWord(neg, body(*pos))))
                }
                _ => Err(Fail::Syntax),
            };
        }
        if c.is_ascii_punctuation() {
            // PostgreSQL skips other punctuation between fields.
            *pos += 1;
            continue;
        }
        return Err(Fail::Syntax);
    }
}

/// Whether `word` is `expected` (lowercase), ignoring ASCII case.
fn is(word: &[u8], expected: &str) -> bool {
    word.eq_ignore_ascii_case(expected.as_bytes())
}

/// PostgreSQL's `DecodeTimeCommon`: `h:m`, `h:m:s`, `h:m:s.f` or `m:s.f`, as
/// (hours, minutes, seconds, microseconds), each sanity-checked but the hours unbounded.
fn decode_time_fields(s: &[u8]) -> Parse<(i64, i64, i64, i64)> {
    let (hour, rest) = strtoi64(s);
    let mut hour = hour.ok_or(Fail::Range)?;
    let Some((b':', rest)) = rest.split_first() else {
        return Err(Fail::Syntax);
    };
    let (min, rest) = strtoint(rest);
    let mut min = i64::from(min.ok_or(Fail::Range)?);
    let mut sec = 0;
    let mut fsec = 0;
    match rest.first() {
        None => {}
        Some(b'.') => {
            // Two fields with a fraction are minutes and seconds.
            fsec = parse_fractional_second(rest)?;
            if i32::try_from(hour).is_err() {
                return Err(Fail::Range);
            }
            sec = min;
            min = hour;
            hour = 0;
        }
        Some(b':') => {
            let (s, rest) = strtoint(rest.get(1..).unwrap_or(&[]));
            sec = i64::from(s.ok_or(Fail::Range)?);
            match rest.first() {
                Some(b'.') => fsec = parse_fractional_second(rest)?,
                Some(_) => return Err(Fail::Syntax),
                None => {}
            }
        }
        Some(_) => return Err(Fail::Syntax),
    }
    if hour < 0
        || !(0..=59).contains(&min)
        || !(0..=60).contains(&sec)
        || !(0..=USECS_PER_SEC).contains(&fsec)
    {
        return Err(Fail::Range);
    }
    Ok((hour, min, sec, fsec))
}

/// PostgreSQL's `time_overflows`: the fields must make a time from 00:00:00 to 24:00:00.
fn time_of_day(hour: i64, min: i64, sec: i64, fsec: i64) -> Parse<i64> {
    if !(0..=24).contains(&hour)
        || !(0..=59).contains(&min)
        || !(0..=60).contains(&sec)
        || !(0..=USECS_PER_SEC).contains(&fsec)
    {
        return Err(Fail::Range);
    }
    let micros = ((hour * 60 + min) * 60 + sec) * USECS_PER_SEC + fsec;
    if micros > USECS_PER_DAY {
        return Err(Fail::Range);
    }
    Ok(micros)
}

/// PostgreSQL's `DecodeTimezone` for a signed offset: seconds east of UTC.
fn decode_offset(neg: bool, body: &[u8]) -> Parse<i32> {
    let (hr, rest) = strtoint(body);
    let mut hr = hr.ok_or(Fail::Range)?;
    let mut min = 0;
    let mut sec = 0;
    let mut rest = rest;
    if let Some((b':', after)) = rest.split_first() {
        let (m, after) = strtoint(after);
        min = m.ok_or(Fail::Range)?;
        rest = after;
        if let Some((b':', after)) = rest.split_first() {
            let (s, after) = strtoint(after);
            sec = s.ok_or(Fail::Range)?;
            rest = after;
        }
    } else if rest.is_empty() && body.len() > 2 {
        // Run together: hhmm.
        min = hr % 100;
        hr /= 100;
    }
    if !(0..=15).contains(&hr) || !(0..60).contains(&min) || !(0..60).contains(&sec) {
        return Err(Fail::Range);
    }
    if !rest.is_empty() {
        return Err(Fail::Syntax);
    }
    let secs = (hr * 60 + min) * 60 + sec;
    Ok(if neg { -secs } else { secs })
}

// ---------------------------------------------------------------------------------------------
// Text input: date, time, timetz, timestamp, timestamptz
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Infinity,
    NegInfinity,
    Epoch,
}

/// The fields of a date/time string.
#[derive(Debug, Default)]
struct DateTimeFields {
    special: Option<Special>,
    /// A checked date: astronomical year, month, day.
    date: Option<(i64, u32, u32)>,
    /// Microseconds since midnight: 0..=24 h, except after a date, where a run-together
    /// `hhmmss` may exceed a day as in PostgreSQL.
    time: i64,
    /// Seconds east of UTC, when the text has an offset.
    offset: Option<i32>,
}

/// Parses a date/time string into its fields (PostgreSQL's `DecodeDateTime` and
/// `DecodeTimeOnly` for the supported forms). `time_only` is for time and timetz: a time is
/// required, a date is allowed and ignored, specials are rejected.
fn parse_date_time(s: &[u8], time_only: bool) -> Parse<DateTimeFields> {
    let mut pos = 0;
    let mut fields = 0;
    // Raw date fields (year as written, BC not yet applied).
    let mut date: Option<(u64, u32, u32)> = None;
    let mut hms: Option<(i64, i64, i64, i64)> = None;
    // PostgreSQL does not range-check a run-together `hhmmss` that follows a date.
    let mut unchecked_time = false;
    let mut offset = None;
    let mut bc: Option<bool> = None;
    let mut pm: Option<bool> = None;
    let mut special = None;
    let mut after_t = false;
    // For a time alone, a first field followed by a time (or with a date last) is a date, as
    // in PostgreSQL's DecodeTimeOnly; otherwise digits-dash-digits are `hhmmss-zz`.
    let first_is_date = time_only && {
        let (mut p, mut n) = (0, 0);
        let (mut second, mut last) = (None, None);
        while let Ok(Some(tok)) = next_token(s, &mut p) {
            n += 1;
            if n == 2 {
                second = Some(tok);
            }
            last = Some(tok);
        }
        n >= 2 && (matches!(second, Some(Tok::Time(_))) || matches!(last, Some(Tok::Date(..))))
    };
    while let Some(tok) = next_token(s, &mut pos)? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(Fail::Syntax);
        }
        match tok {
            Tok::Date(text, delim) => {
                let mut halves = text.splitn(2, |&b| b == b'-');
                let time_context =
                    after_t || date.is_some() || (time_only && !(fields == 1 && first_is_date));
                if let (b'-', true, Some(num), Some(zone)) =
                    (delim, time_context, halves.next(), halves.next())
                    && !zone.contains(&b'-')
                {
                    // hhmmss-zz: a run-together time and a zone offset west of UTC.
                    let zone = decode_offset(true, zone)?;
                    let (h, m, sec, f) = compact_time(num)?;
                    // A time alone is range-checked at the end.
                    unchecked_time = !time_only;
                    if hms.is_some() || offset.is_some() {
                        return Err(Fail::Syntax);
                    }
                    offset = Some(zone);
                    hms = Some((h, m, sec, f));
                    after_t = false;
                    continue;
                }
                if after_t {
                    return Err(Fail::Syntax);
                }
                let ymd = split_date(text, delim)?;
                if date.is_some() || hms.is_some() || bc.is_some() {
                    return Err(Fail::Syntax);
                }
                date = Some(ymd);
            }
            Tok::Time(text) => {
                let (h, m, sec, f) = decode_time_fields(text)?;
                if i32::try_from(h).is_err() {
                    return Err(Fail::Range);
                }
                if !time_only {
                    time_of_day(h, m, sec, f)?;
                }
                if hms.is_some() {
                    return Err(Fail::Syntax);
                }
                hms = Some((h, m, sec, f));
                after_t = false;
            }
            Tok::Number(text) => {
                let int_len = text.iter().take_while(|b| b.is_ascii_digit()).count();
                let (int, frac) = text.split_at(int_len);
                if int.is_empty() {
                    return Err(Fail::Syntax);
                }
                if after_t || date.is_some() || time_only {
                    let (h, m, sec, f) = compact_time(text)?;
                    // A time alone is range-checked at the end.
                    unchecked_time = !time_only;
                    if hms.is_some() {
                        return Err(Fail::Syntax);
                    }
                    hms = Some((h, m, sec, f));
                    after_t = false;
                } else if int.len() == 8 && frac.is_empty() && hms.is_none() && bc.is_none() {
                    // yyyymmdd.
                    let num = |r: core::ops::Range<usize>| {
                        int.get(r)
                            .unwrap_or(&[])
                            .iter()
                            .fold(0u32, |a, d| a * 10 + u32::from(d - b'0'))
                    };
                    date = Some((u64::from(num(0..4)), num(4..6), num(6..8)));
                } else {
                    return Err(Fail::Syntax);
                }
            }
            Tok::Signed(neg, body) => {
                if after_t {
                    return Err(Fail::Syntax);
                }
                let zone = decode_offset(neg, body)?;
                if offset.is_some() {
                    return Err(Fail::Syntax);
                }
                offset = Some(zone);
            }
            Tok::Glued(_) => return Err(Fail::Syntax),
            Tok::SignedWord(neg, word) => {
                if !is(word, "infinity") || special.is_some() {
                    return Err(Fail::Syntax);
                }
                special = Some(if neg {
                    Special::NegInfinity
                } else {
                    Special::Infinity
                });
            }
            Tok::Word(word) => {
                if after_t {
                    return Err(Fail::Syntax);
                }
                if is(word, "t") {
                    after_t = true;
                } else if is(word, "bc") || is(word, "ad") {
                    if bc.is_some() {
                        return Err(Fail::Syntax);
                    }
                    bc = Some(is(word, "bc"));
                } else if is(word, "am") || is(word, "pm") {
                    if pm.is_some() {
                        return Err(Fail::Syntax);
                    }
                    pm = Some(is(word, "pm"));
                } else if ["z", "zulu", "utc", "ut", "gmt"]
                    .iter()
                    .any(|z| is(word, z))
                {
                    if offset.is_some() {
                        return Err(Fail::Syntax);
                    }
                    offset = Some(0);
                } else if is(word, "infinity") || is(word, "epoch") {
                    if special.is_some() {
                        return Err(Fail::Syntax);
                    }
                    special = Some(if is(word, "epoch") {
                        Special::Epoch
                    } else {
                        Special::Infinity
                    });
                } else if is(word, "allballs") && time_only {
                    // 00:00:00 UTC.
                    if hms.is_some() || offset.is_some() {
                        return Err(Fail::Syntax);
                    }
                    hms = Some((0, 0, 0, 0));
                    offset = Some(0);
                } else if is(word, "at") || is(word, "on") {
                    // Noise words PostgreSQL ignores.
                } else {
                    return Err(Fail::Syntax);
                }
            }
        }
    }
    if after_t {
        return Err(Fail::Syntax);
    }
    if let Some(special) = special {
        if fields != 1 || time_only {
            return Err(Fail::Syntax);
        }
        return Ok(DateTimeFields {
            special: Some(special),
            ..DateTimeFields::default()
        });
    }
    if (time_only && hms.is_none()) || (!time_only && date.is_none()) {
        return Err(Fail::Syntax);
    }
    // Field checks, as PostgreSQL's ValidateDate.
    let date = match date {
        None => None,
        Some((year, month, day)) => {
            let year = i64::try_from(year)
                .ok()
                .filter(|&y| (1..=i64::from(i32::MAX)).contains(&y));
            let year = year.ok_or(Fail::Range)?;
            let year = if bc == Some(true) { 1 - year } else { year };
            if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
                return Err(Fail::Range);
            }
            Some((year, month, day))
        }
    };
    let (mut h, m, sec, f) = hms.unwrap_or((0, 0, 0, 0));
    if let Some(pm) = pm {
        if h > 12 {
            return Err(Fail::Range);
        }
        if !pm && h == 12 {
            h = 0;
        } else if pm && h != 12 {
            h += 12;
        }
    }
    let time = if unchecked_time {
        // At most 99:99:99.999999 (or 24 hours more after PM).
        ((h * 60 + m) * 60 + sec) * USECS_PER_SEC + f
    } else {
        time_of_day(h, m, sec, f)?
    };
    Ok(DateTimeFields {
        special: None,
        date,
        time,
        offset,
    })
}

/// A run-together time: `hhmmss[.f]` or `hhmm`, as (hours, minutes, seconds, microseconds),
/// unchecked.
fn compact_time(text: &[u8]) -> Parse<(i64, i64, i64, i64)> {
    let int_len = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, frac) = text.split_at(int_len);
    let digit = |i: usize| i64::from(int.get(i).map_or(0, |d| d - b'0'));
    let pair = |i: usize| digit(i) * 10 + digit(i + 1);
    match (int.len(), frac.is_empty()) {
        (6, true) => Ok((pair(0), pair(2), pair(4), 0)),
        (6, false) => Ok((pair(0), pair(2), pair(4), parse_fractional_second(frac)?)),
        (4, true) => Ok((pair(0), pair(2), 0, 0)),
        _ => Err(Fail::Syntax),
    }
}

/// A `y-m-d` date field (with `-`, `/` or `.`): the year must have at least 3 digits (the
/// unambiguous ISO order). Returns the raw (year, month, day).
fn split_date(text: &[u8], delim: u8) -> Parse<(u64, u32, u32)> {
    let mut parts = text.split(|&b| b == delim);
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Fail::Syntax);
    };
    let all_digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    if !all_digits(y) || !all_digits(m) || !all_digits(d) || y.len() < 3 || m.len() > 2 {
        return Err(Fail::Syntax);
    }
    let num = |p: &[u8]| {
        p.iter().fold(0u64, |a, &b| {
            a.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
    };
    let small = |p: &[u8]| u32::try_from(num(p)).unwrap_or(u32::MAX);
    let year = num(y);
    if year > i32::MAX as u64 {
        return Err(Fail::Range);
    }
    Ok((year, small(m), small(d)))
}

fn date_from_text(s: &[u8]) -> Parse<Date> {
    let f = parse_date_time(s, false)?;
    match f.special {
        Some(Special::Infinity) => return Ok(Date::INFINITY),
        Some(Special::NegInfinity) => return Ok(Date::NEG_INFINITY),
        Some(Special::Epoch) => return Ok(Date::UNIX_EPOCH),
        None => {}
    }
    let (year, month, day) = f.date.ok_or(Fail::Syntax)?;
    if !julian_ok(year, month) {
        return Err(Fail::Range);
    }
    let days = pg_days(year, month, day);
    if !in_date_range(days) {
        return Err(Fail::Range);
    }
    Ok(Date(days as i32))
}

/// Microseconds since 2000-01-01 of a timestamp string, converted to UTC when `default_offset`
/// is given (timestamptz; the text's own offset wins) and left local otherwise.
fn timestamp_from_text(s: &[u8], default_offset: Option<i32>) -> Parse<i64> {
    let f = parse_date_time(s, false)?;
    match f.special {
        Some(Special::Infinity) => return Ok(i64::MAX),
        Some(Special::NegInfinity) => return Ok(i64::MIN),
        Some(Special::Epoch) => return Ok(-UNIX_TO_PG_MICROS),
        None => {}
    }
    let (year, month, day) = f.date.ok_or(Fail::Syntax)?;
    if !julian_ok(year, month) {
        return Err(Fail::Range);
    }
    let mut micros =
        i128::from(pg_days(year, month, day)) * i128::from(USECS_PER_DAY) + i128::from(f.time);
    if let Some(default) = default_offset {
        let east = f.offset.unwrap_or(default);
        micros -= i128::from(east) * i128::from(USECS_PER_SEC);
    }
    i64::try_from(micros)
        .ok()
        .filter(|m| (TS_MIN..TS_END).contains(m))
        .ok_or(Fail::Range)
}

fn time_from_text(s: &[u8]) -> Parse<Time> {
    Ok(Time(parse_date_time(s, true)?.time))
}

fn timetz_from_text(s: &[u8], default_offset: i32) -> Parse<TimeTz> {
    let f = parse_date_time(s, true)?;
    TimeTz::new(Time(f.time), f.offset.unwrap_or(default_offset)).ok_or(Fail::Range)
}

// ---------------------------------------------------------------------------------------------
// Text input: interval
// ---------------------------------------------------------------------------------------------

/// An interval being built (PostgreSQL's `pg_itm_in`).
#[derive(Debug, Default, Clone, Copy)]
struct IntervalParts {
    years: i32,
    months: i32,
    days: i32,
    micros: i64,
}

impl IntervalParts {
    fn add_micros(&mut self, val: i64, scale: i64) -> Parse<()> {
        let product = val.checked_mul(scale).ok_or(Fail::Range)?;
        self.micros = self.micros.checked_add(product).ok_or(Fail::Range)?;
        Ok(())
    }

    /// A fraction of `scale` microseconds, rounded to the nearest (halves towards zero).
    fn add_fract_micros(&mut self, frac: f64, scale: i64) -> Parse<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let frac = frac * scale as f64;
        let mut usec = frac as i64;
        let rest = frac - usec as f64;
        if rest > 0.5 {
            usec += 1;
        } else if rest < -0.5 {
            usec -= 1;
        }
        self.micros = self.micros.checked_add(usec).ok_or(Fail::Range)?;
        Ok(())
    }

    fn add_micros_and_fraction(&mut self, val: i64, frac: f64, scale: i64) -> Parse<()> {
        self.add_micros(val, scale)?;
        self.add_fract_micros(frac, scale)
    }

    fn add_days(&mut self, val: i64, scale: i32) -> Parse<()> {
        let days = i32::try_from(val)
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .ok_or(Fail::Range)?;
        self.days = self.days.checked_add(days).ok_or(Fail::Range)?;
        Ok(())
    }

    /// A fraction of `scale` days: whole days, then the rest in microseconds.
    fn add_fract_days(&mut self, frac: f64, scale: i32) -> Parse<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let frac = frac * f64::from(scale);
        let extra = frac as i32;
        self.days = self.days.checked_add(extra).ok_or(Fail::Range)?;
        self.add_fract_micros(frac - f64::from(extra), USECS_PER_DAY)
    }

    fn add_months(&mut self, val: i64) -> Parse<()> {
        let months = i32::try_from(val).map_err(|_| Fail::Range)?;
        self.months = self.months.checked_add(months).ok_or(Fail::Range)?;
        Ok(())
    }

    fn add_years(&mut self, val: i64, scale: i32) -> Parse<()> {
        let years = i32::try_from(val)
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .ok_or(Fail::Range)?;
        self.years = self.years.checked_add(years).ok_or(Fail::Range)?;
        Ok(())
    }

    /// A fraction of `scale` years, rounded to whole months (half to even).
    fn add_fract_years(&mut self, frac: f64, scale: i32) -> Parse<()> {
        let extra = (frac * f64::from(scale) * 12.0).round_ties_even() as i32;
        self.months = self.months.checked_add(extra).ok_or(Fail::Range)?;
        Ok(())
    }

    fn into_interval(self) -> Parse<Interval> {
        let months = i64::from(self.years) * 12 + i64::from(self.months);
        let months = i32::try_from(months).map_err(|_| Fail::Range)?;
        Ok(Interval {
            months,
            days: self.days,
            micros: self.micros,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// No unit seen yet: a bare number is seconds.
    Unset,
    /// Just after `ago`: a bare number is an error.
    Ago,
    Micro,
    Milli,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

const M_MICRO: u32 = 1 << 0;
const M_MILLI: u32 = 1 << 1;
const M_SECOND: u32 = 1 << 2;
const M_MINUTE: u32 = 1 << 3;
const M_HOUR: u32 = 1 << 4;
const M_DAY: u32 = 1 << 5;
const M_WEEK: u32 = 1 << 6;
const M_MONTH: u32 = 1 << 7;
const M_YEAR: u32 = 1 << 8;
const M_DECADE: u32 = 1 << 9;
const M_CENTURY: u32 = 1 << 10;
const M_MILLENNIUM: u32 = 1 << 11;
const M_ALL_SECS: u32 = M_MICRO | M_MILLI | M_SECOND;
const M_TIME: u32 = M_HOUR | M_MINUTE | M_ALL_SECS;

/// The unit a word names, compared on its first 10 letters as PostgreSQL does.
fn interval_unit(word: &[u8]) -> Option<Unit> {
    const UNITS: &[(&str, Unit)] = &[
        ("c", Unit::Century),
        ("cent", Unit::Century),
        ("centuries", Unit::Century),
        ("century", Unit::Century),
        ("d", Unit::Day),
        ("day", Unit::Day),
        ("days", Unit::Day),
        ("dec", Unit::Decade),
        ("decade", Unit::Decade),
        ("decades", Unit::Decade),
        ("decs", Unit::Decade),
        ("h", Unit::Hour),
        ("hour", Unit::Hour),
        ("hours", Unit::Hour),
        ("hr", Unit::Hour),
        ("hrs", Unit::Hour),
        ("m", Unit::Minute),
        ("microsecon", Unit::Micro),
        ("mil", Unit::Millennium),
        ("millennia", Unit::Millennium),
        ("millennium", Unit::Millennium),
        ("millisecon", Unit::Milli),
        ("mils", Unit::Millennium),
        ("min", Unit::Minute),
        ("mins", Unit::Minute),
        ("minute", Unit::Minute),
        ("minutes", Unit::Minute),
        ("mon", Unit::Month),
        ("mons", Unit::Month),
        ("month", Unit::Month),
        ("months", Unit::Month),
        ("ms", Unit::Milli),
        ("msec", Unit::Milli),
        ("mseconds", Unit::Milli),
        ("msecs", Unit::Milli),
        ("s", Unit::Second),
        ("sec", Unit::Second),
        ("second", Unit::Second),
        ("seconds", Unit::Second),
        ("secs", Unit::Second),
        ("us", Unit::Micro),
        ("usec", Unit::Micro),
        ("useconds", Unit::Micro),
        ("usecs", Unit::Micro),
        ("w", Unit::Week),
        ("week", Unit::Week),
        ("weeks", Unit::Week),
        ("y", Unit::Year),
        ("year", Unit::Year),
        ("years", Unit::Year),
        ("yr", Unit::Year),
        ("yrs", Unit::Year),
    ];
    let key = word.get(..10).unwrap_or(word);
    UNITS
        .iter()
        .find(|(name, _)| is(key, name))
        .map(|&(_, unit)| unit)
}

/// A time field of an interval: microseconds.
fn interval_time(text: &[u8]) -> Parse<i64> {
    let (h, m, s, f) = decode_time_fields(text)?;
    let mut parts = IntervalParts {
        micros: f,
        ..IntervalParts::default()
    };
    parts.add_micros(h, USECS_PER_HOUR)?;
    parts.add_micros(m, USECS_PER_MINUTE)?;
    parts.add_micros(s, USECS_PER_SEC)?;
    Ok(parts.micros)
}

enum IntervalText {
    Finite(IntervalParts),
    Infinity,
    NegInfinity,
}

/// PostgreSQL's `DecodeInterval` (postgres style), which reads the fields right to left so
/// that a unit is known before its number.
fn parse_postgres_interval(s: &[u8]) -> Parse<IntervalText> {
    let mut toks: [Option<Tok<'_>>; MAX_FIELDS] = [None; MAX_FIELDS];
    let mut nf = 0;
    let mut pos = 0;
    while let Some(tok) = next_token(s, &mut pos)? {
        *toks.get_mut(nf).ok_or(Fail::Syntax)? = Some(tok);
        nf += 1;
    }
    let mut parts = IntervalParts::default();
    let mut unit = Unit::Unset;
    let mut fmask = 0u32;
    let mut parsing_unit = false;
    let mut ago = false;
    for i in (0..nf).rev() {
        let Some(tok) = toks.get(i).copied().flatten() else {
            return Err(Fail::Syntax);
        };
        let tmask;
        // A number with its sign and whether it was written negative.
        let number: Option<(&[u8], bool)> = match tok {
            Tok::Time(text) => {
                parts.micros = interval_time(text)?;
                tmask = M_TIME;
                unit = Unit::Day;
                parsing_unit = false;
                None
            }
            Tok::Signed(neg, body) => match body.contains(&b':').then(|| interval_time(body)) {
                Some(Ok(micros)) => {
                    parts.micros = if neg {
                        micros.checked_neg().ok_or(Fail::Range)?
                    } else {
                        micros
                    };
                    tmask = M_TIME;
                    unit = Unit::Day;
                    parsing_unit = false;
                    None
                }
                _ => {
                    tmask = 0;
                    Some((body, neg))
                }
            },
            Tok::Number(text) | Tok::Date(text, _) | Tok::Glued(text) => {
                tmask = 0;
                Some((text, false))
            }
            Tok::Word(word) | Tok::SignedWord(_, word) => {
                if parsing_unit {
                    return Err(Fail::Syntax);
                }
                if let (Tok::Word(_), Some(u)) = (tok, interval_unit(word)) {
                    unit = u;
                    parsing_unit = true;
                    tmask = 0;
                } else if matches!(tok, Tok::Word(_)) && is(word, "ago") {
                    if i != nf - 1 {
                        return Err(Fail::Syntax);
                    }
                    ago = true;
                    unit = Unit::Ago;
                    tmask = 0;
                } else if matches!(tok, Tok::Word(_)) && (is(word, "at") || is(word, "on")) {
                    continue;
                } else if is(word, "infinity") {
                    if nf != 1 {
                        return Err(Fail::Syntax);
                    }
                    let neg = matches!(tok, Tok::SignedWord(true, _));
                    return Ok(if neg {
                        IntervalText::NegInfinity
                    } else {
                        IntervalText::Infinity
                    });
                } else {
                    return Err(Fail::Syntax);
                }
                None
            }
        };
        let tmask = match number {
            None => tmask,
            Some((text, neg)) => {
                if unit == Unit::Unset {
                    unit = Unit::Second;
                }
                let (val, rest) = signed_digits(neg, text, text);
                let mut val = val.ok_or(Fail::Range)?;
                let frac = match rest.first() {
                    Some(b'-') => {
                        // SQL years-months: y-m.
                        let (m, after) = strtoint(rest.get(1..).unwrap_or(&[]));
                        let mut m = m.filter(|m| (0..12).contains(m)).ok_or(Fail::Range)?;
                        if !after.is_empty() {
                            return Err(Fail::Syntax);
                        }
                        unit = Unit::Month;
                        if neg {
                            m = -m;
                        }
                        val = val
                            .checked_mul(12)
                            .and_then(|v| v.checked_add(i64::from(m)))
                            .ok_or(Fail::Range)?;
                        0.0
                    }
                    Some(b'.') => {
                        let frac = parse_fraction(rest)?;
                        if neg { -frac } else { frac }
                    }
                    Some(_) => return Err(Fail::Syntax),
                    None => 0.0,
                };
                parsing_unit = false;
                match unit {
                    Unit::Micro => {
                        parts.add_micros_and_fraction(val, frac, 1)?;
                        M_MICRO
                    }
                    Unit::Milli => {
                        parts.add_micros_and_fraction(val, frac, 1000)?;
                        M_MILLI
                    }
                    Unit::Second => {
                        parts.add_micros_and_fraction(val, frac, USECS_PER_SEC)?;
                        if frac == 0.0 { M_SECOND } else { M_ALL_SECS }
                    }
                    Unit::Minute => {
                        parts.add_micros_and_fraction(val, frac, USECS_PER_MINUTE)?;
                        M_MINUTE
                    }
                    Unit::Hour => {
                        parts.add_micros_and_fraction(val, frac, USECS_PER_HOUR)?;
                        // A bare number before hours is days.
                        unit = Unit::Day;
                        M_HOUR
                    }
                    Unit::Day => {
                        parts.add_days(val, 1)?;
                        parts.add_fract_micros(frac, USECS_PER_DAY)?;
                        M_DAY
                    }
                    Unit::Week => {
                        parts.add_days(val, 7)?;
                        parts.add_fract_days(frac, 7)?;
                        M_WEEK
                    }
                    Unit::Month => {
                        parts.add_months(val)?;
                        parts.add_fract_days(frac, 30)?;
                        M_MONTH
                    }
                    Unit::Year => {
                        parts.add_years(val, 1)?;
                        parts.add_fract_years(frac, 1)?;
                        M_YEAR
                    }
                    Unit::Decade => {
                        parts.add_years(val, 10)?;
                        parts.add_fract_years(frac, 10)?;
                        M_DECADE
                    }
                    Unit::Century => {
                        parts.add_years(val, 100)?;
                        parts.add_fract_years(frac, 100)?;
                        M_CENTURY
                    }
                    Unit::Millennium => {
                        parts.add_years(val, 1000)?;
                        parts.add_fract_years(frac, 1000)?;
                        M_MILLENNIUM
                    }
                    Unit::Unset | Unit::Ago => return Err(Fail::Syntax),
                }
            }
        };
        if tmask & fmask != 0 {
            return Err(Fail::Syntax);
        }
        fmask |= tmask;
    }
    if fmask == 0 || parsing_unit {
        return Err(Fail::Syntax);
    }
    if ago {
        parts.micros = parts.micros.checked_neg().ok_or(Fail::Range)?;
        parts.days = parts.days.checked_neg().ok_or(Fail::Range)?;
        parts.months = parts.months.checked_neg().ok_or(Fail::Range)?;
        parts.years = parts.years.checked_neg().ok_or(Fail::Range)?;
    }
    Ok(IntervalText::Finite(parts))
}

/// A number in an ISO 8601 interval, as PostgreSQL reads it with `strtod`: the integer part
/// (towards zero), the fraction, and the rest of the input.
fn iso_number(s: &[u8]) -> Parse<(i64, f64, &[u8])> {
    if !s
        .first()
        .is_some_and(|&b| b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(Fail::Syntax);
    }
    let mut i = usize::from(s.first() == Some(&b'-'));
    let int_digits = skip_while(s, i, |b| b.is_ascii_digit()) - i;
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = skip_while(s, i + 1, |b| b.is_ascii_digit()) - (i + 1);
        i += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return Err(Fail::Syntax);
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = skip_while(s, j, |b| b.is_ascii_digit());
        if exp_end > j {
            i = exp_end;
        }
    }
    let (num, rest) = s.split_at(i.min(s.len()));
    let val: f64 = core::str::from_utf8(num)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Fail::Syntax)?;
    let nonzero_digits = num
        .iter()
        .take_while(|&&b| b != b'e' && b != b'E')
        .any(|&b| (b'1'..=b'9').contains(&b));
    if val.is_infinite() || (val == 0.0 && nonzero_digits) {
        // strtod reports ERANGE for overflow and underflow.
        return Err(Fail::Syntax);
    }
    if !(-1.0e15..=1.0e15).contains(&val) {
        return Err(Fail::Range);
    }
    let int = val.trunc();
    Ok((int as i64, val - int, rest))
}

/// How many digits a number in an ISO 8601 interval has before any fraction.
fn iso_integer_width(s: &[u8]) -> usize {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// PostgreSQL's `DecodeISO8601Interval`: `P[n]Y[n]M[n]W[n]D[T[n]H[n]M[n]S]` and the
/// alternative forms `PYYYY-MM-DDThh:mm:ss` and `PYYYYMMDDThhmmss`.
fn parse_iso_interval(s: &[u8]) -> Parse<IntervalParts> {
    let Some((b'P', mut s)) = s.split_first() else {
        return Err(Fail::Syntax);
    };
    if s.is_empty() {
        return Err(Fail::Syntax);
    }
    let mut parts = IntervalParts::default();
    let mut date_part = true;
    let mut have_field = false;
    while let Some(&c) = s.first() {
        if c == b'T' {
            date_part = false;
            have_field = false;
            s = s.get(1..).unwrap_or(&[]);
            continue;
        }
        let field_start = s;
        let (val, frac, rest) = iso_number(s)?;
        let unit = rest.first().copied();
        s = rest.get(1..).unwrap_or(&[]);
        if date_part {
            match unit {
                Some(b'Y') => {
                    parts.add_years(val, 1)?;
                    parts.add_fract_years(frac, 1)?;
                }
                Some(b'M') => {
                    parts.add_months(val)?;
                    parts.add_fract_days(frac, 30)?;
                }
                Some(b'W') => {
                    parts.add_days(val, 7)?;
                    parts.add_fract_days(frac, 7)?;
                }
                Some(b'D') => {
                    parts.add_days(val, 1)?;
                    parts.add_fract_micros(frac, USECS_PER_DAY)?;
                }
                Some(b'T') | None | Some(b'-') => {
                    if unit != Some(b'-') && iso_integer_width(field_start) == 8 && !have_field {
                        // YYYYMMDD.
                        parts.add_years(val / 10_000, 1)?;
                        parts.add_months((val / 100) % 100)?;
                        parts.add_days(val % 100, 1)?;
                        parts.add_fract_micros(frac, USECS_PER_DAY)?;
                        if unit.is_none() {
                            return Ok(parts);
                        }
                        date_part = false;
                        have_field = false;
                        continue;
                    }
                    // YYYY-MM-DD.
                    if have_field {
                        return Err(Fail::Syntax);
                    }
                    parts.add_years(val, 1)?;
                    parts.add_fract_years(frac, 1)?;
                    match unit {
                        None => return Ok(parts),
                        Some(b'T') => {
                            date_part = false;
                            have_field = false;
                            continue;
                        }
                        _ => {}
                    }
                    let (val, frac, rest) = iso_number(s)?;
                    parts.add_months(val)?;
                    parts.add_fract_days(frac, 30)?;
                    s = match rest.split_first() {
                        None => return Ok(parts),
                        Some((b'T', after)) => {
                            date_part = false;
                            have_field = false;
                            s = after;
                            continue;
                        }
                        Some((b'-', after)) => after,
                        Some(_) => return Err(Fail::Syntax),
                    };
                    let (val, frac, rest) = iso_number(s)?;
                    parts.add_days(val, 1)?;
                    parts.add_fract_micros(frac, USECS_PER_DAY)?;
                    match rest.split_first() {
                        None => return Ok(parts),
                        Some((b'T', after)) => {
                            date_part = false;
                            have_field = false;
                            s = after;
                            continue;
                        }
                        Some(_) => return Err(Fail::Syntax),
                    }
                }
                Some(_) => return Err(Fail::Syntax),
            }
        } else {
            match unit {
                Some(b'H') => parts.add_micros_and_fraction(val, frac, USECS_PER_HOUR)?,
                Some(b'M') => parts.add_micros_and_fraction(val, frac, USECS_PER_MINUTE)?,
                Some(b'S') => parts.add_micros_and_fraction(val, frac, USECS_PER_SEC)?,
                None | Some(b':') => {
                    if unit.is_none() && iso_integer_width(field_start) == 6 && !have_field {
                        // hhmmss.
                        parts.add_micros(val / 10_000, USECS_PER_HOUR)?;
                        parts.add_micros((val / 100) % 100, USECS_PER_MINUTE)?;
                        parts.add_micros(val % 100, USECS_PER_SEC)?;
                        parts.add_fract_micros(frac, 1)?;
                        return Ok(parts);
                    }
                    // hh:mm:ss.
                    if have_field {
                        return Err(Fail::Syntax);
                    }
                    parts.add_micros_and_fraction(val, frac, USECS_PER_HOUR)?;
                    if unit.is_none() {
                        return Ok(parts);
                    }
                    let (val, frac, rest) = iso_number(s)?;
                    parts.add_micros_and_fraction(val, frac, USECS_PER_MINUTE)?;
                    s = match rest.split_first() {
                        None => return Ok(parts),
                        Some((b':', after)) => after,
                        Some(_) => return Err(Fail::Syntax),
                    };
                    let (val, frac, rest) = iso_number(s)?;
                    parts.add_micros_and_fraction(val, frac, USECS_PER_SEC)?;
                    if rest.is_empty() {
                        return Ok(parts);
                    }
                    return Err(Fail::Syntax);
                }
                Some(_) => return Err(Fail::Syntax),
            }
        }
        have_field = true;
    }
    Ok(parts)
}

fn interval_from_text(s: &[u8]) -> Parse<Interval> {
    let parts = match parse_postgres_interval(s) {
        Ok(IntervalText::Infinity) => return Ok(Interval::INFINITY),
        Ok(IntervalText::NegInfinity) => return Ok(Interval::NEG_INFINITY),
        Ok(IntervalText::Finite(parts)) => parts,
        // PostgreSQL tries ISO 8601 when the postgres style is malformed.
        Err(Fail::Syntax) => parse_iso_interval(s)?,
        Err(Fail::Range) => return Err(Fail::Range),
    };
    parts.into_interval()
}

// ---------------------------------------------------------------------------------------------
// Encode and Decode
// ---------------------------------------------------------------------------------------------

fn be_bytes<const N: usize>(raw: &[u8], type_name: &'static str) -> Result<[u8; N], ValueError> {
    raw.try_into().map_err(|_| ValueError::BinaryLength {
        type_name,
        len: raw.len(),
    })
}

/// The binary forms of timestamp and timestamptz are the same; other types must match.
fn check_binary_type<T>(ty: u32, ours: u32) -> Result<(), ValueError> {
    let compatible = ty == ours
        || (matches!(ty, oid::TIMESTAMP | oid::TIMESTAMPTZ)
            && matches!(ours, oid::TIMESTAMP | oid::TIMESTAMPTZ));
    if compatible {
        Ok(())
    } else {
        Err(ValueError::WrongType {
            ty,
            rust: core::any::type_name::<T>(),
        })
    }
}

impl Encode for Date {
    const TYPE: u32 = oid::DATE;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(date_text(*self).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for Date {
    fn accepts(ty: u32) -> bool {
        ty == oid::DATE
    }

    fn decode_text(_: &Session, _: u32, raw: &[u8]) -> Result<Date, ValueError> {
        date_from_text(utf8(raw)?).map_err(|f| fail_to_error(f, DATE_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<Date, ValueError> {
        let days = i32::from_be_bytes(be_bytes(raw, DATE_NAME)?);
        Date::from_pg_days(days).ok_or(ValueError::DatetimeOutOfRange {
            type_name: DATE_NAME,
        })
    }
}

impl Encode for Time {
    const TYPE: u32 = oid::TIME;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(time_text(*self).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for Time {
    fn accepts(ty: u32) -> bool {
        ty == oid::TIME
    }

    fn decode_text(_: &Session, _: u32, raw: &[u8]) -> Result<Time, ValueError> {
        time_from_text(utf8(raw)?).map_err(|f| fail_to_error(f, TIME_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<Time, ValueError> {
        let micros = i64::from_be_bytes(be_bytes(raw, TIME_NAME)?);
        Time::from_micros(micros).ok_or(ValueError::DatetimeOutOfRange {
            type_name: TIME_NAME,
        })
    }
}

impl Encode for TimeTz {
    const TYPE: u32 = oid::TIMETZ;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(timetz_text(*self).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.time.0.to_be_bytes());
        // PostgreSQL stores seconds west of UTC.
        out.extend_from_slice(&(-self.offset).to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for TimeTz {
    fn accepts(ty: u32) -> bool {
        ty == oid::TIMETZ
    }

    fn decode_text(session: &Session, _: u32, raw: &[u8]) -> Result<TimeTz, ValueError> {
        timetz_from_text(utf8(raw)?, session.utc_offset)
            .map_err(|f| fail_to_error(f, TIMETZ_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<TimeTz, ValueError> {
        let bytes: [u8; 12] = be_bytes(raw, TIMETZ_NAME)?;
        let (time, zone) = bytes.split_at(8);
        let out_of_range = ValueError::DatetimeOutOfRange {
            type_name: TIMETZ_NAME,
        };
        let time = i64::from_be_bytes(be_bytes(time, TIMETZ_NAME)?);
        let west = i32::from_be_bytes(be_bytes(zone, TIMETZ_NAME)?);
        let time = Time::from_micros(time).ok_or_else(|| out_of_range.clone())?;
        west.checked_neg()
            .and_then(|east| TimeTz::new(time, east))
            .ok_or(out_of_range)
    }
}

impl Encode for Timestamp {
    const TYPE: u32 = oid::TIMESTAMP;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(timestamp_text(self.0, None).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for Timestamp {
    fn accepts(ty: u32) -> bool {
        ty == oid::TIMESTAMP
    }

    fn decode_text(_: &Session, _: u32, raw: &[u8]) -> Result<Timestamp, ValueError> {
        timestamp_from_text(utf8(raw)?, None)
            .map(Timestamp)
            .map_err(|f| fail_to_error(f, TIMESTAMP_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<Timestamp, ValueError> {
        let micros = i64::from_be_bytes(be_bytes(raw, TIMESTAMP_NAME)?);
        Timestamp::from_pg_micros(micros).ok_or(ValueError::DatetimeOutOfRange {
            type_name: TIMESTAMP_NAME,
        })
    }
}

impl Encode for TimestampTz {
    const TYPE: u32 = oid::TIMESTAMPTZ;

    fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(timestamp_text(self.0, Some(session.utc_offset)).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for TimestampTz {
    fn accepts(ty: u32) -> bool {
        ty == oid::TIMESTAMPTZ
    }

    fn decode_text(session: &Session, _: u32, raw: &[u8]) -> Result<TimestampTz, ValueError> {
        timestamp_from_text(utf8(raw)?, Some(session.utc_offset))
            .map(TimestampTz)
            .map_err(|f| fail_to_error(f, TIMESTAMPTZ_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<TimestampTz, ValueError> {
        let micros = i64::from_be_bytes(be_bytes(raw, TIMESTAMPTZ_NAME)?);
        TimestampTz::from_pg_micros(micros).ok_or(ValueError::DatetimeOutOfRange {
            type_name: TIMESTAMPTZ_NAME,
        })
    }
}

impl Encode for Interval {
    const TYPE: u32 = oid::INTERVAL;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.extend_from_slice(interval_text(*self).as_bytes());
        Ok(())
    }

    fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        check_binary_type::<Self>(ty, Self::TYPE)?;
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
        Ok(())
    }
}

impl Decode<'_> for Interval {
    fn accepts(ty: u32) -> bool {
        ty == oid::INTERVAL
    }

    fn decode_text(_: &Session, _: u32, raw: &[u8]) -> Result<Interval, ValueError> {
        interval_from_text(utf8(raw)?).map_err(|f| fail_to_error(f, INTERVAL_NAME, raw))
    }

    fn decode_binary(_: u32, raw: &[u8]) -> Result<Interval, ValueError> {
        let bytes: [u8; 16] = be_bytes(raw, INTERVAL_NAME)?;
        let (micros, rest) = bytes.split_at(8);
        let (days, months) = rest.split_at(4);
        Ok(Interval {
            micros: i64::from_be_bytes(be_bytes(micros, INTERVAL_NAME)?),
            days: i32::from_be_bytes(be_bytes(days, INTERVAL_NAME)?),
            months: i32::from_be_bytes(be_bytes(months, INTERVAL_NAME)?),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Display and FromStr: PostgreSQL's text at UTC
// ---------------------------------------------------------------------------------------------

impl fmt::Display for Date {
    /// PostgreSQL's text: `2020-02-29`, `0044-03-15 BC`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(date_text(*self).as_str())
    }
}

impl fmt::Display for Time {
    /// PostgreSQL's text: `03:04:05.123456`, `24:00:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(time_text(*self).as_str())
    }
}

impl fmt::Display for TimeTz {
    /// PostgreSQL's text: `03:04:05+02`, `03:04:05-05:30:15`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(timetz_text(*self).as_str())
    }
}

impl fmt::Display for Timestamp {
    /// PostgreSQL's text: `2020-01-02 03:04:05.123456`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(timestamp_text(self.0, None).as_str())
    }
}

impl fmt::Display for TimestampTz {
    /// PostgreSQL's text at UTC: `2020-01-02 03:04:05+00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(timestamp_text(self.0, Some(0)).as_str())
    }
}

impl fmt::Display for Interval {
    /// PostgreSQL's text (IntervalStyle postgres): `1 year 2 mons 3 days 04:05:06.789`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(interval_text(*self).as_str())
    }
}

impl FromStr for Date {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `date` input does.
    fn from_str(s: &str) -> Result<Date, ValueError> {
        Date::decode_text(&Session::UTC, oid::DATE, s.as_bytes())
    }
}

impl FromStr for Time {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `time` input does.
    fn from_str(s: &str) -> Result<Time, ValueError> {
        Time::decode_text(&Session::UTC, oid::TIME, s.as_bytes())
    }
}

impl FromStr for TimeTz {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `timetz` input does, at UTC when it has no offset.
    fn from_str(s: &str) -> Result<TimeTz, ValueError> {
        TimeTz::decode_text(&Session::UTC, oid::TIMETZ, s.as_bytes())
    }
}

impl FromStr for Timestamp {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `timestamp` input does (an offset is ignored).
    fn from_str(s: &str) -> Result<Timestamp, ValueError> {
        Timestamp::decode_text(&Session::UTC, oid::TIMESTAMP, s.as_bytes())
    }
}

impl FromStr for TimestampTz {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `timestamptz` input does, at UTC when it has no offset.
    fn from_str(s: &str) -> Result<TimestampTz, ValueError> {
        TimestampTz::decode_text(&Session::UTC, oid::TIMESTAMPTZ, s.as_bytes())
    }
}

impl FromStr for Interval {
    type Err = ValueError;

    /// Reads text as PostgreSQL's `interval` input does (postgres style or ISO 8601).
    fn from_str(s: &str) -> Result<Interval, ValueError> {
        Interval::decode_text(&Session::UTC, oid::INTERVAL, s.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// chrono
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "chrono")]
mod chrono_impls {
    use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

    use super::{
        DATE_NAME, Date, TIME_NAME, TIMESTAMP_NAME, TIMESTAMPTZ_NAME, Time, Timestamp, TimestampTz,
        USECS_PER_DAY, USECS_PER_SEC, ValueError,
    };

    /// `NaiveDate::num_days_from_ce` of 2000-01-01.
    const CE_TO_PG_DAYS: i32 = 730_120;

    fn range(type_name: &'static str) -> ValueError {
        ValueError::DatetimeOutOfRange { type_name }
    }

    fn naive_time_micros(t: NaiveTime) -> i64 {
        // A leap second has nanoseconds of 1e9 and more: it runs into the next second.
        i64::from(t.num_seconds_from_midnight()) * USECS_PER_SEC + i64::from(t.nanosecond() / 1000)
    }

    fn micros_naive_time(micros: i64) -> Option<NaiveTime> {
        let secs = u32::try_from(micros / USECS_PER_SEC).ok()?;
        let nanos = u32::try_from(micros % USECS_PER_SEC).ok()? * 1000;
        NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
    }

    impl TryFrom<Date> for NaiveDate {
        type Error = ValueError;

        /// Fails for the infinities and dates outside chrono's range.
        fn try_from(d: Date) -> Result<NaiveDate, ValueError> {
            d.is_finite()
                .then(|| d.0.checked_add(CE_TO_PG_DAYS))
                .flatten()
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| range(DATE_NAME))
        }
    }

    impl TryFrom<NaiveDate> for Date {
        type Error = ValueError;

        /// Fails for dates outside PostgreSQL's range.
        fn try_from(d: NaiveDate) -> Result<Date, ValueError> {
            let days = i64::from(d.num_days_from_ce()) - i64::from(CE_TO_PG_DAYS);
            i32::try_from(days)
                .ok()
                .and_then(Date::from_pg_days)
                .ok_or_else(|| range(DATE_NAME))
        }
    }

    impl TryFrom<Time> for NaiveTime {
        type Error = ValueError;

        /// Fails for 24:00:00.
        fn try_from(t: Time) -> Result<NaiveTime, ValueError> {
            micros_naive_time(t.0).ok_or_else(|| range(TIME_NAME))
        }
    }

    impl TryFrom<NaiveTime> for Time {
        type Error = ValueError;

        /// Truncates to microseconds; fails only for a leap second running past 24:00:00.
        fn try_from(t: NaiveTime) -> Result<Time, ValueError> {
            Time::from_micros(naive_time_micros(t)).ok_or_else(|| range(TIME_NAME))
        }
    }

    impl TryFrom<Timestamp> for NaiveDateTime {
        type Error = ValueError;

        /// Fails for the infinities and values outside chrono's range.
        fn try_from(t: Timestamp) -> Result<NaiveDateTime, ValueError> {
            let (Some(date), Some(time)) = (t.date(), t.time()) else {
                return Err(range(TIMESTAMP_NAME));
            };
            let date = NaiveDate::try_from(date).map_err(|_| range(TIMESTAMP_NAME))?;
            let time = micros_naive_time(time.0).ok_or_else(|| range(TIMESTAMP_NAME))?;
            Ok(NaiveDateTime::new(date, time))
        }
    }

    impl TryFrom<NaiveDateTime> for Timestamp {
        type Error = ValueError;

        /// Truncates to microseconds; fails outside PostgreSQL's range.
        fn try_from(t: NaiveDateTime) -> Result<Timestamp, ValueError> {
            let days = i64::from(t.date().num_days_from_ce()) - i64::from(CE_TO_PG_DAYS);
            days.checked_mul(USECS_PER_DAY)
                .and_then(|m| m.checked_add(naive_time_micros(t.time())))
                .and_then(Timestamp::from_pg_micros)
                .filter(|t| t.is_finite())
                .ok_or_else(|| range(TIMESTAMP_NAME))
        }
    }

    impl TryFrom<TimestampTz> for DateTime<Utc> {
        type Error = ValueError;

        /// Fails for the infinities and instants outside chrono's range.
        fn try_from(t: TimestampTz) -> Result<DateTime<Utc>, ValueError> {
            let naive = NaiveDateTime::try_from(t.to_utc()).map_err(|_| range(TIMESTAMPTZ_NAME))?;
            Ok(DateTime::from_naive_utc_and_offset(naive, Utc))
        }
    }

    impl TryFrom<DateTime<Utc>> for TimestampTz {
        type Error = ValueError;

        /// Truncates to microseconds; fails outside PostgreSQL's range.
        fn try_from(t: DateTime<Utc>) -> Result<TimestampTz, ValueError> {
            Timestamp::try_from(t.naive_utc())
                .map(TimestampTz::from_utc)
                .map_err(|_| range(TIMESTAMPTZ_NAME))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "time")]
mod time_impls {
    use time::{OffsetDateTime, PrimitiveDateTime};

    use super::{
        DATE_NAME, Date, TIME_NAME, TIMESTAMP_NAME, TIMESTAMPTZ_NAME, Time, Timestamp, TimestampTz,
        USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, ValueError,
    };

    /// Julian day number of 2000-01-01.
    const JULIAN_TO_PG_DAYS: i32 = 2_451_545;

    fn range(type_name: &'static str) -> ValueError {
        ValueError::DatetimeOutOfRange { type_name }
    }

    fn time_micros(t: time::Time) -> i64 {
        let (h, m, s, us) = t.as_hms_micro();
        i64::from(h) * USECS_PER_HOUR
            + i64::from(m) * USECS_PER_MINUTE
            + i64::from(s) * USECS_PER_SEC
            + i64::from(us)
    }

    impl TryFrom<Date> for time::Date {
        type Error = ValueError;

        /// Fails for the infinities and dates outside the time crate's range.
        fn try_from(d: Date) -> Result<time::Date, ValueError> {
            d.is_finite()
                .then(|| d.0.checked_add(JULIAN_TO_PG_DAYS))
                .flatten()
                .and_then(|jd| time::Date::from_julian_day(jd).ok())
                .ok_or_else(|| range(DATE_NAME))
        }
    }

    impl TryFrom<time::Date> for Date {
        type Error = ValueError;

        /// Fails for dates outside PostgreSQL's range.
        fn try_from(d: time::Date) -> Result<Date, ValueError> {
            d.to_julian_day()
                .checked_sub(JULIAN_TO_PG_DAYS)
                .and_then(Date::from_pg_days)
                .ok_or_else(|| range(DATE_NAME))
        }
    }

    impl TryFrom<Time> for time::Time {
        type Error = ValueError;

        /// Fails for 24:00:00.
        fn try_from(t: Time) -> Result<time::Time, ValueError> {
            let (h, m, s) = (t.hour(), t.minute(), t.second());
            let (Ok(h), Ok(m), Ok(s)) = (u8::try_from(h), u8::try_from(m), u8::try_from(s)) else {
                return Err(range(TIME_NAME));
            };
            time::Time::from_hms_micro(h, m, s, t.microsecond()).map_err(|_| range(TIME_NAME))
        }
    }

    impl From<time::Time> for Time {
        /// Truncates to microseconds.
        fn from(t: time::Time) -> Time {
            Time(time_micros(t))
        }
    }

    impl TryFrom<Timestamp> for PrimitiveDateTime {
        type Error = ValueError;

        /// Fails for the infinities and values outside the time crate's range.
        fn try_from(t: Timestamp) -> Result<PrimitiveDateTime, ValueError> {
            let (Some(date), Some(tod)) = (t.date(), t.time()) else {
                return Err(range(TIMESTAMP_NAME));
            };
            let date = time::Date::try_from(date).map_err(|_| range(TIMESTAMP_NAME))?;
            let tod = time::Time::try_from(tod).map_err(|_| range(TIMESTAMP_NAME))?;
            Ok(PrimitiveDateTime::new(date, tod))
        }
    }

    impl TryFrom<PrimitiveDateTime> for Timestamp {
        type Error = ValueError;

        /// Truncates to microseconds; fails outside PostgreSQL's range.
        fn try_from(t: PrimitiveDateTime) -> Result<Timestamp, ValueError> {
            let days = i64::from(t.date().to_julian_day()) - i64::from(JULIAN_TO_PG_DAYS);
            days.checked_mul(USECS_PER_DAY)
                .and_then(|m| m.checked_add(time_micros(t.time())))
                .and_then(Timestamp::from_pg_micros)
                .filter(|t| t.is_finite())
                .ok_or_else(|| range(TIMESTAMP_NAME))
        }
    }

    impl TryFrom<TimestampTz> for OffsetDateTime {
        type Error = ValueError;

        /// The instant at UTC; fails for the infinities and instants outside the time crate's
        /// range.
        fn try_from(t: TimestampTz) -> Result<OffsetDateTime, ValueError> {
            let micros = t.unix_micros().ok_or_else(|| range(TIMESTAMPTZ_NAME))?;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
                .map_err(|_| range(TIMESTAMPTZ_NAME))
        }
    }

    impl TryFrom<OffsetDateTime> for TimestampTz {
        type Error = ValueError;

        /// Truncates to microseconds (towards the past); fails outside PostgreSQL's range.
        fn try_from(t: OffsetDateTime) -> Result<TimestampTz, ValueError> {
            let micros = t.unix_timestamp_nanos().div_euclid(1000);
            i64::try_from(micros)
                .ok()
                .and_then(TimestampTz::from_unix_micros)
                .ok_or_else(|| range(TIMESTAMPTZ_NAME))
        }
    }
}

/// The text form of a `timestamptz` given in microseconds since 2000-01-01 UTC, written at
/// UTC, as PostgreSQL writes it with `TimeZone=UTC`; `None` outside PostgreSQL's range.
pub(crate) fn timestamptz_utc_text(micros: i64) -> Option<String> {
    TimestampTz::from_pg_micros(micros)?;
    let buf = timestamp_text(micros, Some(0));
    Some(String::from_utf8_lossy(buf.as_bytes()).into_owned())
}
