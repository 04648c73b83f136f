//! Decoding pgoutput allocates nothing: not for a 1000-column row, not for a 1000-column
//! Relation, and not for the largest counts and lengths a hostile message can announce.
//! Checked with a global allocator that counts the allocations made on the test's own thread.

use pgproto::replication::DecodeError;
use pgproto::replication::pgoutput::{Decoder, Message, TupleValue};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// Runs `f` and returns how many allocations it made on this thread.
fn count(f: impl FnOnce()) -> usize {
    counting_alloc::count(f).0
}

/// An Insert into relation 16384 of 1000 columns: text, binary, NULL and unchanged in turn.
fn wide_insert(streamed: bool) -> Vec<u8> {
    let mut m = b"I".to_vec();
    if streamed {
        m.extend_from_slice(&753u32.to_be_bytes());
    }
    m.extend_from_slice(&16384u32.to_be_bytes());
    m.push(b'N');
    m.extend_from_slice(&1000u16.to_be_bytes());
    for i in 0..1000u32 {
        match i % 4 {
            0 => {
                let text = i.to_string();
                m.push(b't');
                m.extend_from_slice(&(text.len() as u32).to_be_bytes());
                m.extend_from_slice(text.as_bytes());
            }
            1 => {
                m.push(b'b');
                m.extend_from_slice(&4u32.to_be_bytes());
                m.extend_from_slice(&i.to_be_bytes());
            }
            2 => m.push(b'n'),
            _ => m.push(b'u'),
        }
    }
    m
}

/// A Relation of 1000 int4 columns named c0 to c999.
fn wide_relation() -> Vec<u8> {
    let mut m = b"R".to_vec();
    m.extend_from_slice(&16384u32.to_be_bytes());
    m.extend_from_slice(b"public\0wide\0d");
    m.extend_from_slice(&1000u16.to_be_bytes());
    for i in 0..1000 {
        m.push(u8::from(i == 0));
        m.extend_from_slice(format!("c{i}\0").as_bytes());
        m.extend_from_slice(&23u32.to_be_bytes());
        m.extend_from_slice(&(-1i32).to_be_bytes());
    }
    m
}

#[test]
fn decoding_wide_messages_allocates_nothing() {
    let insert = wide_insert(false);
    let streamed = wide_insert(true);
    let relation = wide_relation();
    let mut decoder = Decoder::new(4).unwrap();

    let n = count(|| {
        let Ok(Message::Insert(m)) = decoder.decode(&insert) else {
            panic!("not an Insert");
        };
        assert_eq!(m.new.len(), 1000);
        let mut texts = 0;
        for v in m.new.iter() {
            if let TupleValue::Text(t) = v {
                texts += t.len();
            }
        }
        assert!(texts > 0);
        assert_eq!(m.new.get(999), Some(TupleValue::Unchanged));
        assert_eq!(
            m.new.get(997),
            Some(TupleValue::Binary(&997u32.to_be_bytes()))
        );

        let Ok(Message::Relation(r)) = decoder.decode(&relation) else {
            panic!("not a Relation");
        };
        assert_eq!(r.columns.iter().filter(|c| c.is_key()).count(), 1);
        assert_eq!(r.columns.iter().last().map(|c| c.name), Some("c999"));

        decoder.decode(b"S\0\0\x02\xF1\x01").unwrap();
        let Ok(Message::Insert(m)) = decoder.decode(&streamed) else {
            panic!("not a streamed Insert");
        };
        assert_eq!((m.xid, m.new.len()), (Some(753), 1000));
        decoder.decode(b"E").unwrap();
    });
    assert_eq!(n, 0, "decoding allocated {n} times");
}

#[test]
fn huge_declared_sizes_allocate_nothing_before_failing() {
    let hostile: [&[u8]; 5] = [
        b"I\0\0\x40\0N\x7F\xFF",
        b"I\0\0\x40\0N\0\x01t\x7F\xFF\xFF\xFF",
        b"R\0\0\x40\0s\0t\0d\x7F\xFF",
        b"T\x7F\xFF\xFF\xFF\0",
        b"M\0\0\0\0\0\0\0\0\x01p\0\x7F\xFF\xFF\xFF",
    ];
    let mut decoder = Decoder::new(1).unwrap();
    for wire in hostile {
        // Each fails as Truncated, an error without a detail string: nothing at all is
        // allocated, in particular nothing of the declared size.
        let mut result = None;
        let n = count(|| result = Some(decoder.decode(wire)));
        let err = result.unwrap().unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { .. }), "{err:?}");
        assert_eq!(n, 0, "{n} allocations for {err:?}");
    }
}
