//! Writing rows allocates nothing once the output buffer has room: checked with a global
//! allocator that counts the allocations made on the test's own thread.

use bytes::{BufMut, BytesMut};
use pgproto::message::Format;
use pgproto::types::{BinaryCopyWriter, Encode, RowWriter, Session, ValueError, oid};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// int4, test-only (the scalar codecs are not this test's subject).
struct I32(i32);

impl Encode for I32 {
    const TYPE: u32 = oid::INT4;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        use core::fmt::Write;
        write!(out, "{}", self.0).map_err(|_| ValueError::OutOfRange {
            type_name: "integer",
        })
    }

    fn encode_binary(&self, _: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_i32(self.0);
        Ok(())
    }
}

/// text, test-only.
struct Txt(&'static str);

impl Encode for Txt {
    const TYPE: u32 = oid::TEXT;

    fn encode_text(&self, _: &Session, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(self.0.as_bytes());
        Ok(())
    }

    fn encode_binary(&self, _: u32, out: &mut BytesMut) -> Result<(), ValueError> {
        out.put_slice(self.0.as_bytes());
        Ok(())
    }
}

const ROWS: usize = 1000;

fn write_row(out: &mut BytesMut, i: usize, array: &[Option<I32>], tags: &[Txt]) {
    let s = Session::UTC;
    let mut row = RowWriter::begin(out);
    row.int(i as i64 - 500).unwrap();
    row.float(i as f64 / 7.0).unwrap();
    row.float(1e300 * i as f64).unwrap();
    // The exact edge and tie cases of float8out.
    row.float(1e23).unwrap();
    row.float(1.6254518384547163e14).unwrap();
    row.null().unwrap();
    row.raw(b"raw bytes").unwrap();
    row.value(&I32(i as i32), oid::INT4, Format::Text, &s)
        .unwrap();
    row.value(&I32(i as i32), oid::INT4, Format::Binary, &s)
        .unwrap();
    row.value(&Txt("plain"), oid::TEXT, Format::Text, &s)
        .unwrap();
    row.value(&None::<I32>, oid::INT4, Format::Binary, &s)
        .unwrap();
    // Arrays, with quoting done in place.
    row.value(array, oid::INT4_ARRAY, Format::Text, &s).unwrap();
    row.value(array, oid::INT4_ARRAY, Format::Binary, &s)
        .unwrap();
    row.value(tags, oid::TEXT_ARRAY, Format::Text, &s).unwrap();
    row.finish().unwrap();
}

#[test]
fn writing_rows_does_not_allocate() {
    let array = [Some(I32(1)), None, Some(I32(-3))];
    let tags = [Txt("a b"), Txt(""), Txt("NULL"), Txt("q\"\\"), Txt("x")];

    // Size the buffer with one pass, then write into a buffer with that much room.
    let mut probe = BytesMut::new();
    for i in 0..ROWS {
        write_row(&mut probe, i, &array, &tags);
    }
    // (Room for the rolled-back row below too.)
    let mut out = BytesMut::with_capacity(probe.len() + 64);

    let before = allocations();
    for i in 0..ROWS {
        write_row(&mut out, i, &array, &tags);
    }
    // A failed row is rolled back without allocating either (its error is built from
    // `&'static str`s).
    {
        let mut row = RowWriter::begin(&mut out);
        row.int(1).unwrap();
    }
    let after = allocations();
    assert_eq!(after - before, 0, "allocations while writing {ROWS} rows");
    assert_eq!(out, probe);

    // Binary COPY rows likewise.
    let mut copy = BytesMut::with_capacity(128 * ROWS);
    let mut w = BinaryCopyWriter::new();
    let before = allocations();
    w.header(&mut copy).unwrap();
    for i in 0..ROWS {
        w.begin_row(&mut copy, 4).unwrap();
        w.field(&mut copy, &I32(i as i32), oid::INT4).unwrap();
        w.null(&mut copy).unwrap();
        w.raw(&mut copy, b"bytes").unwrap();
        w.field(&mut copy, &array[..], oid::INT4_ARRAY).unwrap();
    }
    w.finish(&mut copy).unwrap();
    assert_eq!(
        allocations() - before,
        0,
        "allocations while writing COPY rows"
    );
}
