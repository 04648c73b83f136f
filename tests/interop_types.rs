//! The other direction of the type fixture: each recorded value, read by our codecs and written
//! by them in text and in binary, is sent to a live PostgreSQL 18 as a typed parameter, which
//! must read it as the same value (compared as text inside the server). Together with
//! tests/types_fixture.rs this covers PostgreSQL's output and input functions for every value.
#![cfg(feature = "interop")]

mod support;

use bytes::BytesMut;
use pgproto::message::{
    BackendMessage, Bind, Execute, Format, FrontendMessage, Parse, ProtocolVersion,
    TransactionStatus,
};
use pgproto::types::{self, Decode, Encode, Session};
use support::fixture::{Row, Visit, dispatch, rows};
use support::{PgConn, pg18_tcp};

struct SendBack {
    conn: PgConn<std::net::TcpStream>,
    zone: i32,
}

impl Visit for SendBack {
    fn visit<T: for<'a> Decode<'a> + Encode>(&mut self, row: &Row) -> Result<(), String> {
        let s = Session {
            utc_offset: row.offset,
        };
        if row.offset != self.zone {
            let (h, m) = (row.offset / 3600, (row.offset.abs() % 3600) / 60);
            let sql = if row.offset == 0 {
                "SET TIME ZONE 'UTC'".to_string()
            } else {
                format!("SET TIME ZONE INTERVAL '{h:+03}:{m:02}' HOUR TO MINUTE")
            };
            self.conn.query(&sql);
            self.zone = row.offset;
        }
        let v: Option<T> = types::decode(row.text.as_deref(), row.oid, Format::Text, &s)
            .map_err(|e| format!("decode: {e}"))?;
        for format in [Format::Text, Format::Binary] {
            let mut value = BytesMut::new();
            let present = types::encode(&v, row.oid, format, &s, &mut value)
                .map_err(|e| format!("encode: {e}"))?;
            let c = &mut self.conn;
            let sql = format!("SELECT $1::text IS NOT DISTINCT FROM ({})::text", row.expr);
            Parse::write(&mut c.out, "", &sql, &[row.oid]).unwrap();
            let param = present.then_some(&value[..]);
            Bind::write(&mut c.out, "", "", &[format.code()], [param], &[]).unwrap();
            Execute::write(&mut c.out, "", 0).unwrap();
            c.send(FrontendMessage::Sync);
            c.flush();
            let mut answer = None;
            for m in c.until_ready() {
                match m {
                    BackendMessage::DataRow(d) => {
                        answer = d.values().next().flatten().map(|v| v.to_vec())
                    }
                    BackendMessage::ErrorResponse(e) => {
                        return Err(format!("{format:?}: server error {:?}", e));
                    }
                    _ => {}
                }
            }
            if answer.as_deref() != Some(b"t") {
                return Err(format!(
                    "{format:?}: PostgreSQL read {:?} as a different value",
                    String::from_utf8_lossy(&value)
                ));
            }
        }
        Ok(())
    }
}

#[test]
fn postgres_18_reads_our_text_and_binary_values_as_the_recorded_ones() {
    let mut conn = PgConn::new(pg18_tcp());
    conn.startup(
        "pgproto_trust",
        ProtocolVersion::V3_0,
        &[("TimeZone", "UTC")],
    );
    let t = conn.until_ready();
    assert!(
        matches!(
            t.last(),
            Some(BackendMessage::ReadyForQuery(TransactionStatus::Idle))
        ),
        "{t:?}"
    );
    let mut v = SendBack { conn, zone: 0 };
    let rows = rows();
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            dispatch(row, &mut v)
                .err()
                .map(|e| format!("{} ({}): {e}", row.expr, row.ty))
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
