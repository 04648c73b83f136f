//! Fuzzes the pgoutput decoder, its encoder and the relation cache with arbitrary XLogData
//! payloads.
//!
//! Input layout: byte 0 picks the protocol version (1 to 4); the rest is a sequence of
//! messages, each a 2-byte big-endian length and that many bytes (the last one takes what is
//! left), decoded in turn by one decoder, so streamed blocks and the xid prefix are reached.
//! Properties checked, beyond "no panic":
//!
//! - a failed decode leaves the decoder as it was, and its error maps to 08P01;
//! - a decoded message is allowed in the version, re-encodes to exactly the bytes it was
//!   decoded from, and those decode again, in a fresh decoder in the same streamed-block
//!   state, to an equal message; only StreamStart and StreamStop change that state;
//! - the lists in a message iterate to their stated length, random access agrees with
//!   iteration, and the builders rebuild the same bytes;
//! - the relation cache records Relation and Type messages and checks the others without
//!   panicking; a change it accepts names a relation it holds, with matching column counts.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pgproto::SqlState;
use pgproto::replication::DecodeError;
use pgproto::replication::pgoutput::{
    Decoder, Message, OidList, RelationCache, RelationColumns, TupleData, write_oids,
    write_relation_columns, write_tuple,
};

fuzz_target!(|data: &[u8]| {
    let Some((version, mut rest)) = data.split_first() else {
        return;
    };
    let version = u32::from(*version % 4) + 1;
    let mut decoder = Decoder::new(version).expect("versions 1 to 4 exist");
    let mut cache = RelationCache::new();
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (message, tail) = tail.split_at(len);
        rest = tail;
        run(&mut decoder, &mut cache, message);
    }
});

fn run(decoder: &mut Decoder, cache: &mut RelationCache, wire: &[u8]) {
    let before = decoder.clone();
    let message = match decoder.decode(wire) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(
                *decoder, before,
                "a failed decode changed the decoder: {e:?}"
            );
            check_error(&e);
            return;
        }
    };
    let _ = format!("{message:?}");
    assert!(
        message.min_version() <= decoder.version(),
        "{message:?} decoded in version {}",
        decoder.version()
    );
    assert_eq!(message.tag(), wire[0]);
    let in_stream = match message {
        Message::StreamStart(_) => true,
        Message::StreamStop => false,
        _ => before.in_stream(),
    };
    assert_eq!(
        decoder.in_stream(),
        in_stream,
        "stream state after {message:?}"
    );
    assert_eq!(
        message.stream_xid().is_some(),
        before.in_stream() && !matches!(message, Message::Origin(_) | Message::StreamStop),
        "xid prefix of {message:?}"
    );

    // Re-encode: the canonical form is the input itself.
    let mut out = BytesMut::new();
    message
        .encode(&mut out)
        .unwrap_or_else(|e| panic!("{message:?} decoded but does not encode: {e}"));
    assert_eq!(&out[..], wire, "{message:?} re-encodes to other bytes");

    // ... and decodes again to an equal value, in a fresh decoder in the same state.
    let mut again = Decoder::new(before.version()).expect("a valid version");
    if before.in_stream() {
        again
            .decode(b"S\0\0\0\x01\x01")
            .expect("StreamStart outside a block, version 2 or later");
    }
    assert_eq!(again.decode(&out), Ok(message.clone()), "round trip");

    check_lists(&message);

    let before_cache = cache.len();
    match cache.handle(&message) {
        Ok(()) => check_accepted(cache, &message),
        Err(e) => {
            check_error(&e);
            assert_eq!(cache.len(), before_cache);
        }
    }
}

fn check_error(e: &DecodeError) {
    let _ = e.to_string();
    assert_eq!(e.sql_state(), SqlState::PROTOCOL_VIOLATION);
}

fn check_tuple(tuple: &TupleData<'_>) {
    let values: Vec<_> = tuple.iter().collect();
    assert_eq!(values.len(), tuple.len());
    assert_eq!(tuple.iter().len(), tuple.len());
    assert_eq!(tuple.is_empty(), values.is_empty());
    for i in [
        0,
        tuple.len() / 2,
        tuple.len().saturating_sub(1),
        tuple.len(),
    ] {
        assert_eq!(tuple.get(i), values.get(i).copied());
    }
    let mut built = BytesMut::new();
    write_tuple(&mut built, tuple.iter()).expect("a decoded tuple fits");
    assert_eq!(TupleData::parse(&built), Ok(*tuple));
}

fn check_lists(message: &Message<'_>) {
    match message {
        Message::Insert(m) => check_tuple(&m.new),
        Message::Update(m) => {
            if let Some(old) = &m.old {
                check_tuple(old.tuple());
            }
            check_tuple(&m.new);
        }
        Message::Delete(m) => check_tuple(m.old.tuple()),
        Message::Relation(m) => {
            assert_eq!(m.columns.iter().count(), m.columns.len());
            let _ = m.replica_identity_kind();
            let mut built = BytesMut::new();
            write_relation_columns(&mut built, m.columns).expect("decoded columns fit");
            assert_eq!(RelationColumns::parse(&built), Ok(m.columns));
        }
        Message::Truncate(m) => {
            let oids: Vec<u32> = m.relations.iter().collect();
            assert_eq!(oids.len(), m.relations.len());
            for i in [0, oids.len().saturating_sub(1), oids.len()] {
                assert_eq!(m.relations.get(i), oids.get(i).copied());
            }
            let mut built = BytesMut::new();
            write_oids(&mut built, oids).expect("decoded OIDs fit");
            assert_eq!(OidList::parse(&built), Ok(m.relations));
        }
        _ => {}
    }
}

/// A change the cache accepted names a relation it holds, with the right column counts.
fn check_accepted(cache: &RelationCache, message: &Message<'_>) {
    let columns = |id| {
        cache
            .get(id)
            .expect("accepted change names a known relation")
            .columns
            .len()
    };
    match message {
        Message::Relation(r) => {
            let info = cache.get(r.id).expect("just recorded");
            assert_eq!(info.columns.len(), r.columns.len());
            assert_eq!(info.name, r.name);
        }
        Message::Type(t) => {
            assert_eq!(cache.type_info(t.id).map(|i| &*i.name), Some(t.name));
        }
        Message::Insert(m) => assert_eq!(columns(m.relation), m.new.len()),
        Message::Update(m) => {
            assert_eq!(columns(m.relation), m.new.len());
            if let Some(old) = &m.old {
                assert_eq!(columns(m.relation), old.tuple().len());
            }
        }
        Message::Delete(m) => assert_eq!(columns(m.relation), m.old.tuple().len()),
        Message::Truncate(m) => {
            for id in m.relations.iter() {
                columns(id);
            }
        }
        _ => {}
    }
}
