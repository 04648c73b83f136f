//! The recorded type fixture (tests/fixtures/types_pg18.tsv) and the Rust type each of its
//! PostgreSQL types is read as.

use pgproto::types::{
    Array, Bytea, Date, Decode, Encode, Interval, Json, Jsonb, Numeric, PgChar, Time, TimeTz,
    Timestamp, TimestampTz, Uuid,
};

/// One recorded value.
pub struct Row {
    pub ty: String,
    pub oid: u32,
    pub offset: i32,
    pub expr: String,
    pub text: Option<Vec<u8>>,
    pub binary: Option<Vec<u8>>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s == "NULL" {
        return None;
    }
    Some(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect(),
    )
}

/// Every recorded value.
pub fn rows() -> Vec<Row> {
    include_str!("../fixtures/types_pg18.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                ty: c[0].into(),
                oid: c[1].parse().unwrap(),
                offset: c[2].parse().unwrap(),
                expr: c[3].into(),
                text: unhex(c[4]),
                binary: unhex(c[5]),
            }
        })
        .collect()
}

/// Something to do with a row, generic over the Rust type it is read as.
pub trait Visit {
    fn visit<T: for<'a> Decode<'a> + Encode>(&mut self, row: &Row) -> Result<(), String>;
}

/// Calls `v.visit::<T>(row)` with the Rust type mapped to the row's PostgreSQL type.
pub fn dispatch(row: &Row, v: &mut impl Visit) -> Result<(), String> {
    match row.ty.as_str() {
        "bool" => v.visit::<bool>(row),
        "int2" => v.visit::<i16>(row),
        "int4" => v.visit::<i32>(row),
        "int8" => v.visit::<i64>(row),
        "oid" => v.visit::<u32>(row),
        "float4" => v.visit::<f32>(row),
        "float8" => v.visit::<f64>(row),
        "numeric" => v.visit::<Numeric>(row),
        "text" | "varchar" | "bpchar" | "name" => v.visit::<String>(row),
        "bytea" => v.visit::<Bytea<Vec<u8>>>(row),
        "char" => v.visit::<PgChar>(row),
        "date" => v.visit::<Date>(row),
        "time" => v.visit::<Time>(row),
        "timetz" => v.visit::<TimeTz>(row),
        "timestamp" => v.visit::<Timestamp>(row),
        "timestamptz" => v.visit::<TimestampTz>(row),
        "interval" => v.visit::<Interval>(row),
        "uuid" => v.visit::<Uuid>(row),
        "json" => v.visit::<Json>(row),
        "jsonb" => v.visit::<Jsonb>(row),
        "_bool" => v.visit::<Array<bool>>(row),
        "_int2" => v.visit::<Array<i16>>(row),
        "_int4" => v.visit::<Array<i32>>(row),
        "_int8" => v.visit::<Array<i64>>(row),
        "_oid" => v.visit::<Array<u32>>(row),
        "_float4" => v.visit::<Array<f32>>(row),
        "_float8" => v.visit::<Array<f64>>(row),
        "_numeric" => v.visit::<Array<Numeric>>(row),
        "_text" | "_varchar" | "_bpchar" | "_name" => v.visit::<Array<String>>(row),
        "_bytea" => v.visit::<Array<Bytea<Vec<u8>>>>(row),
        "_char" => v.visit::<Array<PgChar>>(row),
        "_date" => v.visit::<Array<Date>>(row),
        "_time" => v.visit::<Array<Time>>(row),
        "_timetz" => v.visit::<Array<TimeTz>>(row),
        "_timestamp" => v.visit::<Array<Timestamp>>(row),
        "_timestamptz" => v.visit::<Array<TimestampTz>>(row),
        "_interval" => v.visit::<Array<Interval>>(row),
        "_uuid" => v.visit::<Array<Uuid>>(row),
        "_json" => v.visit::<Array<Json>>(row),
        "_jsonb" => v.visit::<Array<Jsonb>>(row),
        other => Err(format!("no Rust type mapped for {other}")),
    }
}

/// `v` as text for messages.
pub fn show(v: &Option<Vec<u8>>) -> String {
    v.as_ref().map_or("NULL".into(), |b| {
        format!("{:?}", String::from_utf8_lossy(b))
    })
}
