//! Values between PostgreSQL's wire forms and SQLite's five storage classes.
//!
//! A column's PostgreSQL type comes from its declared type in `CREATE TABLE` (`integer` is
//! int4, `bigint` int8, `timestamp` timestamp, ...; SQLite keeps the declaration verbatim), and a
//! column without one (an expression) is text. Values are stored the way SQLite's own functions
//! expect them: integers and booleans as INTEGER, floats as REAL, bytea as BLOB, dates, times,
//! numerics that are not exact integers, uuids and json as their PostgreSQL text.

use bytes::BytesMut;
use pgproto::message::{Bind, Format};
use pgproto::types::{
    self, Bytea, Date, Decode, Encode, Interval, Json, Jsonb, Numeric, RowWriter, Session, Time,
    TimeTz, Timestamp, TimestampTz, Uuid, ValueError, oid,
};
use rusqlite::types::Value;

/// The PostgreSQL type for an SQLite column declaration (`None`: an expression, text).
pub fn type_from_decl(decl: Option<&str>) -> u32 {
    let Some(decl) = decl else {
        return oid::TEXT;
    };
    let decl = decl.to_ascii_lowercase();
    let base = decl.split('(').next().unwrap_or("").trim();
    match base {
        "int2" | "smallint" => oid::INT2,
        "int" | "int4" | "integer" | "mediumint" | "serial" => oid::INT4,
        "int8" | "bigint" | "bigserial" => oid::INT8,
        "real" | "float4" => oid::FLOAT4,
        "double" | "double precision" | "float" | "float8" => oid::FLOAT8,
        "numeric" | "decimal" => oid::NUMERIC,
        "bool" | "boolean" => oid::BOOL,
        "bytea" | "blob" => oid::BYTEA,
        "date" => oid::DATE,
        "time" | "time without time zone" => oid::TIME,
        "timetz" | "time with time zone" => oid::TIMETZ,
        "timestamp" | "datetime" | "timestamp without time zone" => oid::TIMESTAMP,
        "timestamptz" | "timestamp with time zone" => oid::TIMESTAMPTZ,
        "interval" => oid::INTERVAL,
        "uuid" => oid::UUID,
        "json" => oid::JSON,
        "jsonb" => oid::JSONB,
        "varchar" | "character varying" => oid::VARCHAR,
        "char" | "character" | "bpchar" => oid::BPCHAR,
        _ => oid::TEXT,
    }
}

/// The PostgreSQL type named in a cast (`$1::int`, `CAST($1 AS bigint)`), if we know it.
pub fn type_from_name(name: &str) -> Option<u32> {
    let t = type_from_decl(Some(name));
    (t != oid::TEXT || matches!(name.to_ascii_lowercase().as_str(), "text" | "name")).then_some(t)
}

/// The SQL name of a type, as `format_type` writes it (psql's `\d`).
pub fn type_name(ty: u32) -> &'static str {
    match ty {
        oid::INT2 => "smallint",
        oid::INT4 => "integer",
        oid::INT8 => "bigint",
        oid::FLOAT4 => "real",
        oid::FLOAT8 => "double precision",
        oid::VARCHAR => "character varying",
        oid::BPCHAR => "character",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::TIME => "time without time zone",
        oid::TIMETZ => "time with time zone",
        other => types::oid::sql_name(other),
    }
}

/// Parameter `i` of `bind` as an SQLite value, read as type `ty`.
pub fn param(
    bind: &Bind,
    i: usize,
    param_types: &[u32],
    session: &Session,
) -> Result<Value, ValueError> {
    let (raw, format) = types::param_raw(bind, i)?;
    from_wire(raw, types::param_type(param_types, i), format, session)
}

/// A value in PostgreSQL's `format` of type `ty` (`None`: NULL) as an SQLite value.
pub fn from_wire(
    raw: Option<&[u8]>,
    ty: u32,
    format: Format,
    session: &Session,
) -> Result<Value, ValueError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let text = raw;
    let raw = Some(raw);
    Ok(match ty {
        oid::INT2 => Value::Integer(types::decode::<i16>(raw, ty, format, session)?.into()),
        oid::INT4 => Value::Integer(types::decode::<i32>(raw, ty, format, session)?.into()),
        oid::INT8 => Value::Integer(types::decode::<i64>(raw, ty, format, session)?),
        oid::OID => Value::Integer(types::decode::<u32>(raw, ty, format, session)?.into()),
        oid::FLOAT4 => Value::Real(types::decode::<f32>(raw, ty, format, session)?.into()),
        oid::FLOAT8 => Value::Real(types::decode::<f64>(raw, ty, format, session)?),
        oid::BOOL => Value::Integer(types::decode::<bool>(raw, ty, format, session)?.into()),
        oid::BYTEA => Value::Blob(types::decode::<Bytea<Vec<u8>>>(raw, ty, format, session)?.0),
        oid::NUMERIC => {
            let text = as_text::<Numeric>(raw, ty, format, session)?;
            if let Ok(i) = text.parse::<i64>() {
                Value::Integer(i)
            } else {
                Value::Text(text)
            }
        }
        oid::DATE => Value::Text(as_text::<Date>(raw, ty, format, session)?),
        oid::TIME => Value::Text(as_text::<Time>(raw, ty, format, session)?),
        oid::TIMETZ => Value::Text(as_text::<TimeTz>(raw, ty, format, session)?),
        oid::TIMESTAMP => Value::Text(as_text::<Timestamp>(raw, ty, format, session)?),
        oid::TIMESTAMPTZ => Value::Text(as_text::<TimestampTz>(raw, ty, format, session)?),
        oid::INTERVAL => Value::Text(as_text::<Interval>(raw, ty, format, session)?),
        oid::UUID => Value::Text(as_text::<Uuid>(raw, ty, format, session)?),
        oid::JSON => Value::Text(types::decode::<Json>(raw, ty, format, session)?.0),
        oid::JSONB => Value::Text(types::decode::<Jsonb>(raw, ty, format, session)?.0),
        // Text, varchar, unknown: the string. Another type in text form: its text.
        _ => match format {
            Format::Text => Value::Text(
                std::str::from_utf8(text)
                    .map_err(|_| ValueError::InvalidUtf8)?
                    .to_string(),
            ),
            Format::Binary => {
                Value::Text(types::decode::<String>(raw, oid::TEXT, format, session)?)
            }
        },
    })
}

/// Reads a value as `T` and gives its canonical PostgreSQL text.
fn as_text<T: for<'a> Decode<'a> + Encode>(
    raw: Option<&[u8]>,
    ty: u32,
    format: Format,
    session: &Session,
) -> Result<String, ValueError> {
    let value = types::decode::<T>(raw, ty, format, session)?;
    let mut out = BytesMut::new();
    value.encode_text(session, &mut out)?;
    String::from_utf8(out.to_vec()).map_err(|_| ValueError::InvalidUtf8)
}

/// Writes an SQLite value as a column of type `ty` in `format`.
pub fn write(
    row: &mut RowWriter<'_>,
    value: &Value,
    ty: u32,
    format: Format,
    session: &Session,
) -> Result<(), ValueError> {
    match value {
        Value::Null => row.null(),
        Value::Integer(i) => match ty {
            oid::INT2 => row.value(
                &i16::try_from(*i).map_err(|_| out_of_range("smallint"))?,
                ty,
                format,
                session,
            ),
            oid::INT4 => row.value(
                &i32::try_from(*i).map_err(|_| out_of_range("integer"))?,
                ty,
                format,
                session,
            ),
            oid::INT8 if format == Format::Text => row.int(*i),
            oid::INT8 => row.value(i, ty, format, session),
            oid::BOOL => row.value(&(*i != 0), ty, format, session),
            oid::FLOAT4 => row.value(&(*i as f32), ty, format, session),
            oid::FLOAT8 => row.value(&(*i as f64), ty, format, session),
            _ if format == Format::Text => row.int(*i),
            _ => from_text(row, &i.to_string(), ty, format, session),
        },
        Value::Real(f) => match ty {
            oid::FLOAT4 => row.value(&(*f as f32), ty, format, session),
            oid::FLOAT8 => row.value(f, ty, format, session),
            _ => {
                let mut text = BytesMut::new();
                f.encode_text(session, &mut text)?;
                let text = std::str::from_utf8(&text).map_err(|_| ValueError::InvalidUtf8)?;
                from_text(row, text, ty, format, session)
            }
        },
        Value::Text(s) => from_text(row, s, ty, format, session),
        Value::Blob(b) => match ty {
            oid::BYTEA => row.value(&Bytea(b), ty, format, session),
            _ => row.value(&Bytea(b), oid::BYTEA, Format::Text, session),
        },
    }
}

/// Writes a stored text as type `ty`: as is in text format (it is the value's text), parsed in
/// binary.
fn from_text(
    row: &mut RowWriter<'_>,
    text: &str,
    ty: u32,
    format: Format,
    session: &Session,
) -> Result<(), ValueError> {
    if format == Format::Text {
        return row.raw(text.as_bytes());
    }
    let raw = Some(text.as_bytes());
    let text_form = Format::Text;
    match ty {
        oid::INT2 => row.value(
            &types::decode::<i16>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::INT4 => row.value(
            &types::decode::<i32>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::INT8 => row.value(
            &types::decode::<i64>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::FLOAT4 => row.value(
            &types::decode::<f32>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::FLOAT8 => row.value(
            &types::decode::<f64>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::BOOL => row.value(
            &types::decode::<bool>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::NUMERIC => row.value(
            &types::decode::<Numeric>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::DATE => row.value(
            &types::decode::<Date>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::TIME => row.value(
            &types::decode::<Time>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::TIMETZ => row.value(
            &types::decode::<TimeTz>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::TIMESTAMP => row.value(
            &types::decode::<Timestamp>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::TIMESTAMPTZ => row.value(
            &types::decode::<TimestampTz>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::INTERVAL => row.value(
            &types::decode::<Interval>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::UUID => row.value(
            &types::decode::<Uuid>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        oid::JSON => row.value(&Json(text.to_string()), ty, format, session),
        oid::JSONB => row.value(&Jsonb(text.to_string()), ty, format, session),
        oid::BYTEA => row.value(
            &types::decode::<Bytea<Vec<u8>>>(raw, ty, text_form, session)?,
            ty,
            format,
            session,
        ),
        _ => row.value(text, ty, format, session),
    }
}

/// The text form of a value as a column of type `ty` (COPY TO), `None` for NULL.
pub fn text(value: &Value, ty: u32, session: &Session) -> Result<Option<Vec<u8>>, ValueError> {
    if matches!(value, Value::Null) {
        return Ok(None);
    }
    let mut buf = BytesMut::new();
    let mut row = RowWriter::begin(&mut buf);
    write(&mut row, value, ty, Format::Text, session)?;
    row.finish()?;
    // A DataRow of one column: type, length, count (7 bytes), then the value's length word.
    Ok(Some(buf[11..].to_vec()))
}

fn out_of_range(type_name: &'static str) -> ValueError {
    ValueError::OutOfRange { type_name }
}
