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

#[test]
fn the_type_table_matches_pg_type() {
    let mut conn = PgConn::new(pg18_tcp());
    conn.startup("pgproto_trust", ProtocolVersion::V3_0, &[]);
    conn.until_ready();
    for t in types::oid::TYPES {
        let row = conn.query(&format!(
            "SELECT typname || ',' || typlen || ',' || CASE WHEN typelem <> 0 AND typcategory = 'A' THEN typelem ELSE typarray END FROM pg_type WHERE oid = {}",
            t.oid
        ));
        let Some(BackendMessage::DataRow(d)) =
            row.iter().find(|m| matches!(m, BackendMessage::DataRow(_)))
        else {
            panic!("no pg_type row for {}", t.oid)
        };
        let got = String::from_utf8(d.values().next().unwrap().unwrap().to_vec()).unwrap();
        assert_eq!(
            got,
            format!("{},{},{}", t.name, t.size, t.related),
            "type {}",
            t.oid
        );
    }
}

/// One row of the COPY test: int4, text, numeric, date, int8[].
type CopyRow = (
    Option<i32>,
    Option<String>,
    Option<pgproto::types::Numeric>,
    Option<pgproto::types::Date>,
    Vec<Option<i64>>,
);

/// Our binary COPY writer into PostgreSQL's COPY FROM STDIN, and PostgreSQL's COPY TO STDOUT
/// through our streaming reader, with values of several types including NULLs.
#[test]
fn binary_copy_both_ways_with_postgres_18() {
    use pgproto::message::CopyData;
    use pgproto::types::{BinaryCopyReader, BinaryCopyWriter, Date, Numeric, oid};

    let mut c = PgConn::new(pg18_tcp());
    c.startup("pgproto_trust", ProtocolVersion::V3_0, &[]);
    c.until_ready();
    c.query("CREATE TEMP TABLE t(i int4, s text, n numeric, d date, a int8[])");
    let rows: Vec<CopyRow> = (0..2000)
        .map(|k| {
            (
                (k % 7 != 0).then_some(k * 3 - 1000),
                (k % 5 != 0).then(|| format!("row {k} \"q\"\t\\")),
                (k % 3 != 0).then(|| format!("{k}.{:03}", k % 1000).parse().unwrap()),
                Date::from_ymd(1990 + k % 40, 1 + (k % 12) as u32, 1 + (k % 28) as u32),
                vec![Some(i64::from(k)), None, Some(-1)],
            )
        })
        .collect();

    // In: our writer, sent in CopyData chunks of an awkward size.
    let mut w = BinaryCopyWriter::new();
    let mut out = BytesMut::new();
    w.header(&mut out).unwrap();
    for (i, s, n, d, a) in &rows {
        w.begin_row(&mut out, 5).unwrap();
        w.field(&mut out, i, oid::INT4).unwrap();
        w.field(&mut out, s, oid::TEXT).unwrap();
        w.field(&mut out, n, oid::NUMERIC).unwrap();
        w.field(&mut out, d, oid::DATE).unwrap();
        w.field(&mut out, a, oid::INT8_ARRAY).unwrap();
    }
    w.finish(&mut out).unwrap();
    pgproto::message::Query::write(&mut c.out, "COPY t FROM STDIN (FORMAT binary)").unwrap();
    c.flush();
    c.until(|m| matches!(m, BackendMessage::CopyInResponse(_)));
    for chunk in out.chunks(1000) {
        CopyData::write(&mut c.out, chunk).unwrap();
    }
    c.send(FrontendMessage::CopyDone);
    c.flush();
    let t = support::names(&c.until_ready());
    assert_eq!(t, ["C COPY 2000", "ZI"]);
    let check = c.query(
        "SELECT count(*) || ',' || count(i) || ',' || count(s) || ',' || sum(i) || ',' || sum(n) || ',' || max(d) || ',' || sum(a[1]) FROM t",
    );
    let BackendMessage::DataRow(d) = &check[1] else {
        panic!("{check:?}")
    };
    let expect_sum_i: i64 = rows.iter().filter_map(|r| r.0).map(i64::from).sum();
    let summary = String::from_utf8(d.values().next().unwrap().unwrap().to_vec()).unwrap();
    assert!(
        summary.starts_with(&format!(
            "2000,{},1600,{expect_sum_i},",
            rows.iter().filter(|r| r.0.is_some()).count()
        )),
        "{summary}"
    );

    // Out: PostgreSQL's binary COPY, read by our reader as the CopyData messages arrive.
    pgproto::message::Query::write(&mut c.out, "COPY t TO STDOUT (FORMAT binary)").unwrap();
    c.flush();
    let mut reader = BinaryCopyReader::new();
    let mut got = 0usize;
    loop {
        match c.recv() {
            BackendMessage::CopyData(d) => {
                reader.feed(d.data);
                while let Some(values) = reader.next_row().unwrap() {
                    let v: Vec<Option<&[u8]>> = values.iter().collect();
                    let s = Session::UTC;
                    let (i, txt, n, dt, a) = &rows[got];
                    assert_eq!(
                        types::decode::<Option<i32>>(v[0], oid::INT4, Format::Binary, &s).unwrap(),
                        *i
                    );
                    assert_eq!(
                        types::decode::<Option<String>>(v[1], oid::TEXT, Format::Binary, &s)
                            .unwrap(),
                        *txt
                    );
                    assert_eq!(
                        types::decode::<Option<Numeric>>(v[2], oid::NUMERIC, Format::Binary, &s)
                            .unwrap(),
                        *n
                    );
                    assert_eq!(
                        types::decode::<Option<Date>>(v[3], oid::DATE, Format::Binary, &s).unwrap(),
                        *dt
                    );
                    assert_eq!(
                        types::decode::<Vec<Option<i64>>>(
                            v[4],
                            oid::INT8_ARRAY,
                            Format::Binary,
                            &s
                        )
                        .unwrap(),
                        *a
                    );
                    got += 1;
                }
            }
            BackendMessage::CopyOutResponse(_) | BackendMessage::CopyDone => {}
            BackendMessage::CommandComplete(cc) => assert_eq!(cc.rows(), Some(2000)),
            BackendMessage::ReadyForQuery(_) => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(reader.is_done());
    reader.finish().unwrap();
    assert_eq!(got, 2000);
}
