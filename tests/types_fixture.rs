//! Our codecs against PostgreSQL 18 itself: every value in tests/fixtures/types_pg18.tsv
//! (recorded by scripts/record-type-fixtures.sh from a real server, text and binary forms) is
//! read in both formats and written back in both formats, and every result must equal what
//! PostgreSQL sent, byte for byte.

mod support;

use bytes::BytesMut;
use pgproto::message::Format;
use pgproto::types::{self, Decode, Encode, Session};
use support::fixture::{Row, Visit, dispatch, rows, show};

/// Writes `v` in `format`; `None` when it is NULL.
fn write<T: Encode>(
    v: &T,
    oid: u32,
    format: Format,
    s: &Session,
) -> Result<Option<Vec<u8>>, String> {
    let mut out = BytesMut::new();
    match types::encode(v, oid, format, s, &mut out) {
        Ok(true) => Ok(Some(out.to_vec())),
        Ok(false) => Ok(None),
        Err(e) => Err(format!("encode {format:?}: {e}")),
    }
}

/// Reads the row in each format and writes each result in each format.
struct RoundTrip;

impl Visit for RoundTrip {
    fn visit<T: for<'a> Decode<'a> + Encode>(&mut self, row: &Row) -> Result<(), String> {
        let s = Session {
            utc_offset: row.offset,
        };
        for (from, raw) in [(Format::Text, &row.text), (Format::Binary, &row.binary)] {
            let v: Option<T> = types::decode(raw.as_deref(), row.oid, from, &s)
                .map_err(|e| format!("decode {from:?}: {e}"))?;
            for (to, want) in [(Format::Text, &row.text), (Format::Binary, &row.binary)] {
                let got = write(&v, row.oid, to, &s)?;
                if &got != want {
                    return Err(format!(
                        "{from:?} -> {to:?}: got {} want {}",
                        show(&got),
                        show(want)
                    ));
                }
            }
        }
        Ok(())
    }
}

#[test]
fn every_recorded_value_matches_postgres_18_byte_for_byte() {
    let rows = rows();
    assert!(rows.len() >= 140, "fixture has {} rows", rows.len());
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            dispatch(row, &mut RoundTrip)
                .err()
                .map(|e| format!("{} ({}) at offset {}: {e}", row.expr, row.ty, row.offset))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} values differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
