//! Fuzzes `BackendDecoder` (the client side's decoder) with arbitrary server bytes.
//!
//! Input layout: byte 0 picks the phase the decoder starts in, byte 1 the size of the pieces
//! the rest is fed in (0: all at once), as a socket would deliver them. Properties checked,
//! beyond "no panic":
//!
//! - a decoded message re-encodes to exactly the bytes it was decoded from, and that encoding
//!   decodes again to an equal value (the answers to SSLRequest and GSSENCRequest in a decoder
//!   in the matching phase);
//! - the lists in a decoded message iterate to their stated length, and accessors and `Debug`
//!   do not panic;
//! - `Ok(None)` consumes nothing, says it needs more bytes than the input holds, and says so
//!   again when called twice; `Ok(Some)` and recoverable errors consume the frame; a
//!   non-recoverable error is returned again, unchanged, by the next call;
//! - the decoder only ever removes bytes from the front of the input, leaves the rest as it
//!   was, and never grows the input buffer (no reservation from a declared length);
//! - the run API (`split_frames`, then `view` and `decode` of each frame) gives the same
//!   messages and errors as `decode`, and a borrowed DataRow the same values or error.

#![no_main]

#[path = "common/runs.rs"]
mod runs;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pgproto::message::{
    Authentication, BackendDecoder, BackendMessage, BackendPhase, BackendView, DecodeError,
};

const PHASES: [BackendPhase; 3] = [
    BackendPhase::SslResponse,
    BackendPhase::GssEncResponse,
    BackendPhase::Normal,
];

fuzz_target!(|data: &[u8]| {
    let [phase, chunk, input @ ..] = data else {
        return;
    };
    let phase = PHASES[*phase as usize % PHASES.len()];
    let chunk = match *chunk {
        0 => input.len().max(1),
        n => n as usize,
    };
    run(phase, chunk, input);
    runs_agree(input);
});

/// Decodes `input` message by message and as runs of frames: the same messages and errors.
fn runs_agree(input: &[u8]) {
    let mut dec = BackendDecoder::new();
    let (by_message, a) = runs::by_message(input, |i| dec.decode(i));
    let mut b = BytesMut::from(input);
    let mut by_run = Vec::new();
    let mut dec = BackendDecoder::new();
    loop {
        match dec.split_frames(&mut b) {
            Ok(frames) if frames.is_empty() => {
                assert!(
                    dec.bytes_needed() > b.len(),
                    "an empty run with enough bytes"
                );
                assert_eq!(a, b, "the runs left another tail");
                break;
            }
            Ok(frames) => {
                for frame in &frames {
                    let owned = frame.decode();
                    if let Ok(BackendView::DataRow(row)) = frame.view() {
                        let values: Result<Vec<_>, DecodeError> = row.values().collect();
                        match &owned {
                            Ok(BackendMessage::DataRow(d)) => {
                                assert_eq!(values.unwrap(), d.values().collect::<Vec<_>>())
                            }
                            Ok(m) => panic!("a DataRow view of {m:?}"),
                            Err(e) => assert_eq!(values.err().as_ref(), Some(e)),
                        }
                    }
                    by_run.push(owned);
                }
            }
            Err(e) => {
                by_run.push(Err(e));
                break;
            }
        }
    }
    assert_eq!(by_run, by_message);
}

fn run(phase: BackendPhase, chunk: usize, input: &[u8]) {
    let mut dec = BackendDecoder::new();
    dec.set_phase(phase);
    let mut src = BytesMut::new();
    // `src` always holds exactly `input[consumed..appended]`.
    let mut appended = 0;
    let mut consumed = 0;
    for piece in input.chunks(chunk) {
        src.extend_from_slice(piece);
        appended += piece.len();
        loop {
            let phase_before = dec.phase();
            let (len_before, cap_before) = (src.len(), src.capacity());
            let result = dec.decode(&mut src);
            assert!(
                src.capacity() <= cap_before,
                "decode grew the input buffer from {cap_before} to {}",
                src.capacity()
            );
            assert!(src.len() <= len_before, "decode added bytes to its input");
            let taken = len_before - src.len();
            let frame = &input[consumed..consumed + taken];
            consumed += taken;
            assert_eq!(
                &src[..],
                &input[consumed..appended],
                "decode changed the input"
            );
            // Growth from our own appends is amortized doubling at most, never a declared length.
            assert!(
                src.capacity() <= 4 * appended + 64,
                "input buffer capacity {} for {appended} bytes appended",
                src.capacity()
            );
            match result {
                Ok(Some(msg)) => {
                    assert!(!frame.is_empty(), "a message consumed no bytes: {msg:?}");
                    check_message(&msg, phase_before, frame);
                    assert_eq!(dec.phase(), BackendPhase::Normal, "phase after a message");
                }
                Ok(None) => {
                    assert_eq!(taken, 0, "Ok(None) consumed {taken} bytes");
                    let need = dec.bytes_needed();
                    assert!(
                        need > src.len(),
                        "Ok(None) with {} bytes but needs {need}",
                        src.len()
                    );
                    assert_eq!(dec.decode(&mut src), Ok(None), "second call after Ok(None)");
                    assert_eq!(src.len(), len_before);
                    break;
                }
                Err(e) => {
                    check_error(&e);
                    if e.is_recoverable() {
                        assert!(taken > 0, "recoverable {e:?} did not consume its frame");
                        continue;
                    }
                    let len = src.len();
                    assert_eq!(dec.decode(&mut src), Err(e.clone()), "error not sticky");
                    assert_eq!(
                        src.len(),
                        len,
                        "the call after a fatal error consumed bytes"
                    );
                    return;
                }
            }
        }
    }
}

fn check_error(e: &DecodeError) {
    let _ = e.to_string();
    let _ = e.sqlstate();
}

fn check_message(msg: &BackendMessage, phase: BackendPhase, frame: &[u8]) {
    let _ = format!("{msg:?}");
    match msg {
        BackendMessage::SslResponse { .. } => assert_eq!(phase, BackendPhase::SslResponse),
        BackendMessage::GssEncResponse { .. } => assert_eq!(phase, BackendPhase::GssEncResponse),
        BackendMessage::Authentication(Authentication::Sasl(m)) => {
            let _ = (m.iter().count(), m.contains("SCRAM-SHA-256"));
            assert!(m.iter().all(|n| !n.is_empty()));
        }
        BackendMessage::RowDescription(d) => {
            assert_eq!(d.fields().count(), d.len(), "RowDescription fields");
            for f in d.fields() {
                let _ = f.name_str();
            }
        }
        BackendMessage::DataRow(row) => {
            assert_eq!(row.values().count(), row.len(), "DataRow values");
            let body: usize = row.values().map(|v| 4 + v.map_or(0, <[u8]>::len)).sum();
            assert_eq!(body + 7, frame.len(), "DataRow values lost bytes");
        }
        BackendMessage::ParameterDescription(p) => {
            assert_eq!(p.types.iter().count(), p.types.len());
        }
        BackendMessage::CommandComplete(c) => {
            let _ = (c.command(), c.rows());
        }
        BackendMessage::ErrorResponse(f) | BackendMessage::NoticeResponse(f) => {
            assert!(f.iter().all(|(c, _)| c != 0));
            let _ = (
                f.sqlstate(),
                f.severity(),
                f.message(),
                f.detail(),
                f.hint(),
            );
            let _ = f.position();
        }
        BackendMessage::NegotiateProtocolVersion(n) => {
            let _ = n.unrecognized_options().count();
        }
        BackendMessage::CopyInResponse(c)
        | BackendMessage::CopyOutResponse(c)
        | BackendMessage::CopyBothResponse(c) => {
            assert_eq!(c.column_formats.iter().count(), c.column_formats.len());
        }
        _ => {}
    }

    // Re-encode: the canonical form is the frame itself.
    let mut buf = BytesMut::new();
    msg.encode(&mut buf)
        .unwrap_or_else(|e| panic!("{msg:?} decoded but does not encode: {e}"));
    assert_eq!(&buf[..], frame, "{msg:?} re-encodes to other bytes");

    // ... and decodes again to an equal value.
    let mut again = BackendDecoder::new();
    match msg {
        BackendMessage::SslResponse { .. } => again.set_phase(BackendPhase::SslResponse),
        BackendMessage::GssEncResponse { .. } => again.set_phase(BackendPhase::GssEncResponse),
        _ => {}
    }
    let decoded = again.decode(&mut buf);
    assert_eq!(decoded, Ok(Some(msg.clone())), "round trip of {msg:?}");
    assert!(buf.is_empty(), "round trip left {} bytes", buf.len());
    assert_eq!(again.decode(&mut buf), Ok(None));
}
