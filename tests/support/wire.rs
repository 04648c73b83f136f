//! A reference encoder for the property tests: wire integers and strings written from the
//! protocol documentation, independently of the crate's encoders, so that a test compares the
//! crate with something it did not write.
#![allow(dead_code)]

/// Bytes being built, big-endian as the protocol is.
#[derive(Default)]
pub struct W(pub Vec<u8>);

impl W {
    pub fn u8(&mut self, v: u8) -> &mut W {
        self.0.push(v);
        self
    }
    pub fn i16(&mut self, v: i16) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A count as Int16; the test's count must fit.
    pub fn u16(&mut self, v: usize) -> &mut W {
        self.0
            .extend_from_slice(&u16::try_from(v).unwrap().to_be_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn raw(&mut self, b: &[u8]) -> &mut W {
        self.0.extend_from_slice(b);
        self
    }
    /// A NUL-terminated string; a zero byte inside is a bug of the test.
    pub fn cstr(&mut self, s: impl AsRef<[u8]>) -> &mut W {
        let b = s.as_ref();
        assert!(!b.contains(&0), "test bug: reference cstr with a zero byte");
        self.raw(b).u8(0)
    }
    /// An Int32 length (-1 for NULL) and the value.
    pub fn value(&mut self, v: Option<&[u8]>) -> &mut W {
        match v {
            None => self.i32(-1),
            Some(v) => self.i32(i32::try_from(v.len()).unwrap()).raw(v),
        }
    }
}
