//! Built-in type OIDs, with their names, sizes and array types.

/// `bool`
pub const BOOL: u32 = 16;
/// `bytea`
pub const BYTEA: u32 = 17;
/// `"char"`
pub const CHAR: u32 = 18;
/// `name`
pub const NAME: u32 = 19;
/// `int8`
pub const INT8: u32 = 20;
/// `int2`
pub const INT2: u32 = 21;
/// `int4`
pub const INT4: u32 = 23;
/// `text`
pub const TEXT: u32 = 25;
/// `oid`
pub const OID: u32 = 26;
/// `json`
pub const JSON: u32 = 114;
/// `float4`
pub const FLOAT4: u32 = 700;
/// `float8`
pub const FLOAT8: u32 = 701;
/// `unknown` (an untyped literal)
pub const UNKNOWN: u32 = 705;
/// `bpchar` (`char(n)`)
pub const BPCHAR: u32 = 1042;
/// `varchar`
pub const VARCHAR: u32 = 1043;
/// `date`
pub const DATE: u32 = 1082;
/// `time`
pub const TIME: u32 = 1083;
/// `timestamp`
pub const TIMESTAMP: u32 = 1114;
/// `timestamptz`
pub const TIMESTAMPTZ: u32 = 1184;
/// `interval`
pub const INTERVAL: u32 = 1186;
/// `timetz`
pub const TIMETZ: u32 = 1266;
/// `numeric`
pub const NUMERIC: u32 = 1700;
/// `uuid`
pub const UUID: u32 = 2950;
/// `jsonb`
pub const JSONB: u32 = 3802;

/// `bool[]`
pub const BOOL_ARRAY: u32 = 1000;
/// `bytea[]`
pub const BYTEA_ARRAY: u32 = 1001;
/// `"char"[]`
pub const CHAR_ARRAY: u32 = 1002;
/// `name[]`
pub const NAME_ARRAY: u32 = 1003;
/// `int2[]`
pub const INT2_ARRAY: u32 = 1005;
/// `int4[]`
pub const INT4_ARRAY: u32 = 1007;
/// `text[]`
pub const TEXT_ARRAY: u32 = 1009;
/// `bpchar[]`
pub const BPCHAR_ARRAY: u32 = 1014;
/// `varchar[]`
pub const VARCHAR_ARRAY: u32 = 1015;
/// `int8[]`
pub const INT8_ARRAY: u32 = 1016;
/// `float4[]`
pub const FLOAT4_ARRAY: u32 = 1021;
/// `float8[]`
pub const FLOAT8_ARRAY: u32 = 1022;
/// `oid[]`
pub const OID_ARRAY: u32 = 1028;
/// `timestamp[]`
pub const TIMESTAMP_ARRAY: u32 = 1115;
/// `date[]`
pub const DATE_ARRAY: u32 = 1182;
/// `time[]`
pub const TIME_ARRAY: u32 = 1183;
/// `timestamptz[]`
pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
/// `interval[]`
pub const INTERVAL_ARRAY: u32 = 1187;
/// `numeric[]`
pub const NUMERIC_ARRAY: u32 = 1231;
/// `timetz[]`
pub const TIMETZ_ARRAY: u32 = 1270;
/// `uuid[]`
pub const UUID_ARRAY: u32 = 2951;
/// `json[]`
pub const JSON_ARRAY: u32 = 199;
/// `jsonb[]`
pub const JSONB_ARRAY: u32 = 3807;

/// What a RowDescription or a driver needs to know about a built-in type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type's OID.
    pub oid: u32,
    /// Its name in `pg_type.typname` (`int4`, `_int4` for arrays).
    pub name: &'static str,
    /// `pg_type.typlen`: the size in bytes, or -1 for variable length (-2 for C strings).
    pub size: i16,
    /// For a scalar, the OID of its array type; for an array, the OID of its element type.
    pub related: u32,
    /// Whether this is an array type.
    pub is_array: bool,
}

const fn scalar(oid: u32, name: &'static str, size: i16, array: u32) -> TypeInfo {
    TypeInfo {
        oid,
        name,
        size,
        related: array,
        is_array: false,
    }
}

const fn array(oid: u32, name: &'static str, element: u32) -> TypeInfo {
    TypeInfo {
        oid,
        name,
        size: -1,
        related: element,
        is_array: true,
    }
}

/// Every built-in type this crate has codecs for.
pub const TYPES: &[TypeInfo] = &[
    scalar(BOOL, "bool", 1, BOOL_ARRAY),
    scalar(BYTEA, "bytea", -1, BYTEA_ARRAY),
    scalar(CHAR, "char", 1, CHAR_ARRAY),
    scalar(NAME, "name", 64, NAME_ARRAY),
    scalar(INT8, "int8", 8, INT8_ARRAY),
    scalar(INT2, "int2", 2, INT2_ARRAY),
    scalar(INT4, "int4", 4, INT4_ARRAY),
    scalar(TEXT, "text", -1, TEXT_ARRAY),
    scalar(OID, "oid", 4, OID_ARRAY),
    scalar(JSON, "json", -1, JSON_ARRAY),
    scalar(FLOAT4, "float4", 4, FLOAT4_ARRAY),
    scalar(FLOAT8, "float8", 8, FLOAT8_ARRAY),
    scalar(UNKNOWN, "unknown", -2, 0),
    scalar(BPCHAR, "bpchar", -1, BPCHAR_ARRAY),
    scalar(VARCHAR, "varchar", -1, VARCHAR_ARRAY),
    scalar(DATE, "date", 4, DATE_ARRAY),
    scalar(TIME, "time", 8, TIME_ARRAY),
    scalar(TIMESTAMP, "timestamp", 8, TIMESTAMP_ARRAY),
    scalar(TIMESTAMPTZ, "timestamptz", 8, TIMESTAMPTZ_ARRAY),
    scalar(INTERVAL, "interval", 16, INTERVAL_ARRAY),
    scalar(TIMETZ, "timetz", 12, TIMETZ_ARRAY),
    scalar(NUMERIC, "numeric", -1, NUMERIC_ARRAY),
    scalar(UUID, "uuid", 16, UUID_ARRAY),
    scalar(JSONB, "jsonb", -1, JSONB_ARRAY),
    array(BOOL_ARRAY, "_bool", BOOL),
    array(BYTEA_ARRAY, "_bytea", BYTEA),
    array(CHAR_ARRAY, "_char", CHAR),
    array(NAME_ARRAY, "_name", NAME),
    array(INT2_ARRAY, "_int2", INT2),
    array(INT4_ARRAY, "_int4", INT4),
    array(TEXT_ARRAY, "_text", TEXT),
    array(BPCHAR_ARRAY, "_bpchar", BPCHAR),
    array(VARCHAR_ARRAY, "_varchar", VARCHAR),
    array(INT8_ARRAY, "_int8", INT8),
    array(FLOAT4_ARRAY, "_float4", FLOAT4),
    array(FLOAT8_ARRAY, "_float8", FLOAT8),
    array(OID_ARRAY, "_oid", OID),
    array(TIMESTAMP_ARRAY, "_timestamp", TIMESTAMP),
    array(DATE_ARRAY, "_date", DATE),
    array(TIME_ARRAY, "_time", TIME),
    array(TIMESTAMPTZ_ARRAY, "_timestamptz", TIMESTAMPTZ),
    array(INTERVAL_ARRAY, "_interval", INTERVAL),
    array(NUMERIC_ARRAY, "_numeric", NUMERIC),
    array(TIMETZ_ARRAY, "_timetz", TIMETZ),
    array(UUID_ARRAY, "_uuid", UUID),
    array(JSON_ARRAY, "_json", JSON),
    array(JSONB_ARRAY, "_jsonb", JSONB),
];

/// The built-in type with this OID.
pub const fn lookup(oid: u32) -> Option<&'static TypeInfo> {
    let mut i = 0;
    while i < TYPES.len() {
        if TYPES[i].oid == oid {
            return Some(&TYPES[i]);
        }
        i += 1;
    }
    None
}

/// The array type whose elements are `element` (usable in constants: `array_of(INT4)`).
pub const fn array_of(element: u32) -> Option<u32> {
    match lookup(element) {
        Some(t) if !t.is_array && t.related != 0 => Some(t.related),
        _ => None,
    }
}

/// The element type of the array type `array`.
pub const fn element_of(array: u32) -> Option<u32> {
    match lookup(array) {
        Some(t) if t.is_array => Some(t.related),
        _ => None,
    }
}

/// The SQL name used in error messages (`integer`, `timestamp with time zone`, ...).
pub fn sql_name(oid: u32) -> &'static str {
    match oid {
        BOOL => "boolean",
        INT2 => "smallint",
        INT4 => "integer",
        INT8 => "bigint",
        FLOAT4 => "real",
        FLOAT8 => "double precision",
        CHAR => "\"char\"",
        BPCHAR => "character",
        VARCHAR => "character varying",
        TIME => "time without time zone",
        TIMETZ => "time with time zone",
        TIMESTAMP => "timestamp without time zone",
        TIMESTAMPTZ => "timestamp with time zone",
        other => lookup(other).map_or("unknown", |t| t.name),
    }
}
