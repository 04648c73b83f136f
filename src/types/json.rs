//! json and jsonb.
//!
//! Both hold JSON text. The text forms and json's binary form are the text itself; jsonb's
//! binary form is a version byte (1) and the text. Each wrapper reads both types (in either
//! format) and writes in binary as the type it is asked for, so a [`Json`] can fill a jsonb
//! parameter. The text is not checked to be JSON (the server does that); reading checks UTF-8.
//! Note that PostgreSQL normalizes jsonb: `'{"b":1, "a":2}'::jsonb` reads back as
//! `{"a": 2, "b": 1}`.

use bytes::BytesMut;

use super::oid;
use super::text::{binary_text, put_str_binary, to_str};
use super::{Decode, Encode, Session, ValueError};

/// A `json` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Json(pub String);

/// A `jsonb` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Jsonb(pub String);

fn json_type(ty: u32) -> bool {
    matches!(ty, oid::JSON | oid::JSONB)
}

fn write_binary(
    s: &str,
    ty: u32,
    own: u32,
    rust: &'static str,
    out: &mut BytesMut,
) -> Result<(), ValueError> {
    let ty = if ty == 0 { own } else { ty };
    put_str_binary(s, ty, rust, out)
}

fn read(ty: u32, raw: &[u8], binary: bool, rust: &'static str) -> Result<String, ValueError> {
    if !json_type(ty) {
        return Err(ValueError::WrongType { ty, rust });
    }
    let raw = if binary { binary_text(ty, raw)? } else { raw };
    to_str(raw).map(str::to_owned)
}

macro_rules! json_impl {
    ($t:ident, $own:expr, $rust:literal) => {
        impl $t {
            /// The JSON text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $t {
            fn from(s: String) -> Self {
                $t(s)
            }
        }

        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                $t(s.to_owned())
            }
        }

        impl Encode for $t {
            const TYPE: u32 = $own;

            fn encode_text(&self, session: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
                self.0.as_str().encode_text(session, out)
            }

            fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
                write_binary(&self.0, ty, $own, $rust, out)
            }
        }

        impl Decode<'_> for $t {
            fn accepts(ty: u32) -> bool {
                json_type(ty)
            }

            fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
                read(ty, raw, false, $rust).map($t)
            }

            fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
                read(ty, raw, true, $rust).map($t)
            }
        }
    };
}

json_impl!(Json, oid::JSON, "Json");
json_impl!(Jsonb, oid::JSONB, "Jsonb");

#[cfg(feature = "serde_json")]
mod serde_json_impl {
    //! `serde_json::Value` as json or jsonb (feature `serde_json`).

    use bytes::{BufMut, BytesMut};

    use super::{Json, Jsonb, json_type};
    use crate::types::text::binary_text;
    use crate::types::{Decode, Encode, Session, ValueError, oid};

    fn write(value: &serde_json::Value, out: &mut BytesMut) -> Result<(), ValueError> {
        // Serializing a `Value` into memory cannot fail; map the impossible error anyway.
        serde_json::to_writer(out.writer(), value).map_err(|_| ValueError::InvalidText {
            type_name: "json",
            input: String::new(),
        })
    }

    fn parse(ty: u32, raw: &[u8]) -> Result<serde_json::Value, ValueError> {
        serde_json::from_slice(raw).map_err(|_| ValueError::text(oid::sql_name(ty), raw))
    }

    /// Written as jsonb by default (compact JSON text); in binary also as json when asked.
    /// Reads json and jsonb; text that `serde_json` cannot read (including numbers beyond
    /// `f64`, which PostgreSQL accepts) is [`ValueError::InvalidText`].
    impl Encode for serde_json::Value {
        const TYPE: u32 = oid::JSONB;

        fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
            write(self, out)
        }

        fn encode_binary(&self, ty: u32, out: &mut BytesMut) -> Result<(), ValueError> {
            match ty {
                0 | oid::JSONB => {
                    out.put_u8(1);
                    write(self, out)
                }
                oid::JSON => write(self, out),
                ty => Err(ValueError::WrongType {
                    ty,
                    rust: "serde_json::Value",
                }),
            }
        }
    }

    impl Decode<'_> for serde_json::Value {
        fn accepts(ty: u32) -> bool {
            json_type(ty)
        }

        fn decode_text(_: &Session, ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            if !json_type(ty) {
                return Err(ValueError::WrongType {
                    ty,
                    rust: "serde_json::Value",
                });
            }
            parse(ty, raw)
        }

        fn decode_binary(ty: u32, raw: &[u8]) -> Result<Self, ValueError> {
            if !json_type(ty) {
                return Err(ValueError::WrongType {
                    ty,
                    rust: "serde_json::Value",
                });
            }
            parse(ty, binary_text(ty, raw)?)
        }
    }

    impl From<&serde_json::Value> for Json {
        fn from(v: &serde_json::Value) -> Self {
            Json(v.to_string())
        }
    }

    impl From<serde_json::Value> for Json {
        fn from(v: serde_json::Value) -> Self {
            Json(v.to_string())
        }
    }

    impl From<&serde_json::Value> for Jsonb {
        fn from(v: &serde_json::Value) -> Self {
            Jsonb(v.to_string())
        }
    }

    impl From<serde_json::Value> for Jsonb {
        fn from(v: serde_json::Value) -> Self {
            Jsonb(v.to_string())
        }
    }

    impl TryFrom<&Json> for serde_json::Value {
        type Error = ValueError;

        fn try_from(j: &Json) -> Result<Self, ValueError> {
            parse(oid::JSON, j.0.as_bytes())
        }
    }

    impl TryFrom<&Jsonb> for serde_json::Value {
        type Error = ValueError;

        fn try_from(j: &Jsonb) -> Result<Self, ValueError> {
            parse(oid::JSONB, j.0.as_bytes())
        }
    }
}
