//! Fuzzes `FrontendDecoder` (the server side's decoder) with arbitrary client bytes.
//!
//! Input layout: byte 0 picks the phase the decoder starts in, byte 1 the size of the pieces
//! the rest is fed in (0: all at once), as a socket would deliver them. Properties checked,
//! beyond "no panic":
//!
//! - a decoded message re-encodes to exactly the bytes it was decoded from (SSLRequest,
//!   GSSENCRequest, Terminate and CopyDone, whose extra bytes PostgreSQL ignores, to their
//!   canonical form),
//!   and that encoding decodes again, in a decoder of the same phase, to an equal value;
//! - the lists in a decoded message iterate to their stated length, and accessors and `Debug`
//!   do not panic;
//! - `Ok(None)` consumes nothing, says it needs more bytes than the input holds, and says so
//!   again when called twice; `Ok(Some)` and recoverable errors consume the frame; a
//!   non-recoverable error is returned again, unchanged, by the next call;
//! - the decoder only ever removes bytes from the front of the input, leaves the rest as it
//!   was, and never grows the input buffer (no reservation from a declared length);
//! - in the normal phase, the run API (`split_frames`, then `view` and `decode` of each frame)
//!   gives the same messages and errors as `decode`.

#![no_main]

#[path = "common/runs.rs"]
mod runs;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pgproto::message::{
    DecodeError, FrontendDecoder, FrontendMessage, FrontendPhase, FrontendView,
};

const PHASES: [FrontendPhase; 6] = [
    FrontendPhase::Startup,
    FrontendPhase::Password,
    FrontendPhase::SaslInitialResponse,
    FrontendPhase::SaslResponse,
    FrontendPhase::GssResponse,
    FrontendPhase::Normal,
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

/// Decodes `input` message by message and as runs of frames (normal phase): the same messages
/// and errors, and a view wherever `decode` succeeds.
fn runs_agree(input: &[u8]) {
    let normal = || {
        let mut dec = FrontendDecoder::new();
        dec.set_phase(FrontendPhase::Normal);
        dec
    };
    let mut dec = normal();
    let (by_message, a) = runs::by_message(input, |i| dec.decode(i));
    let mut b = BytesMut::from(input);
    let mut by_run = Vec::new();
    let mut dec = normal();
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
                    match (frame.view(), &owned) {
                        (Ok(FrontendView::Bind(v)), Ok(FrontendMessage::Bind(o))) => {
                            assert!(v.params.iter().eq(o.params.iter()));
                            assert_eq!(v.portal, o.portal.as_bytes());
                        }
                        (Ok(FrontendView::Other(v)), Ok(o)) => assert_eq!(&v, o),
                        (Ok(_), Ok(_)) => {}
                        (Err(v), Err(o)) => assert_eq!(&v, o),
                        (v, o) => panic!("view {v:?} but decode {o:?}"),
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

fn run(phase: FrontendPhase, chunk: usize, input: &[u8]) {
    let mut dec = FrontendDecoder::new();
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

fn check_message(msg: &FrontendMessage, phase: FrontendPhase, frame: &[u8]) {
    let _ = format!("{msg:?}");
    match msg {
        FrontendMessage::Startup(m) => {
            assert_eq!(phase, FrontendPhase::Startup);
            // The parameters, each `name\0value\0`, fill the packet but for the header (8
            // bytes) and the final terminator.
            let params: usize = m.params().map(|(k, v)| k.len() + v.len() + 2).sum();
            assert_eq!(params + 9, frame.len(), "StartupMessage params lost bytes");
            assert!(m.params().all(|(k, _)| !k.is_empty()));
            let _ = (m.user(), m.database(), m.protocol_options().count());
            assert_eq!(m.version().major, 3);
        }
        FrontendMessage::SslRequest
        | FrontendMessage::GssEncRequest
        | FrontendMessage::CancelRequest(_) => assert_eq!(phase, FrontendPhase::Startup),
        FrontendMessage::Parse(p) => {
            assert_eq!(p.param_types.iter().count(), p.param_types.len());
            for i in 0..p.param_types.len() {
                assert!(p.param_types.get(i).is_some());
            }
        }
        FrontendMessage::Bind(b) => {
            assert_eq!(b.params.iter().count(), b.params.len());
            assert_eq!(b.param_formats.iter().count(), b.param_formats.len());
            assert_eq!(b.result_formats.iter().count(), b.result_formats.len());
            let nf = b.param_formats.len();
            assert!(nf <= 1 || nf == b.params.len());
            for i in 0..b.params.len() {
                let _ = b.param_formats.code_for(i);
            }
        }
        FrontendMessage::FunctionCall(f) => {
            assert_eq!(f.args.iter().count(), f.args.len());
            assert_eq!(f.arg_formats.iter().count(), f.arg_formats.len());
        }
        _ => {}
    }
    if msg.tag().is_some() {
        assert_ne!(
            phase,
            FrontendPhase::Startup,
            "typed message in the startup phase"
        );
    }

    // Re-encode: the canonical form is the frame itself.
    let mut buf = BytesMut::new();
    msg.encode(&mut buf)
        .unwrap_or_else(|e| panic!("{msg:?} decoded but does not encode: {e}"));
    match msg {
        FrontendMessage::SslRequest | FrontendMessage::GssEncRequest => {
            assert_eq!(buf.len(), 8);
            assert_eq!(&buf[4..], &frame[4..8], "request code changed");
        }
        // PostgreSQL reads no body for these and ignores any bytes sent with them.
        FrontendMessage::Terminate | FrontendMessage::CopyDone => {
            assert_eq!(buf.len(), 5);
            assert_eq!(buf[0], frame[0], "type byte changed");
        }
        _ => assert_eq!(&buf[..], frame, "{msg:?} re-encodes to other bytes"),
    }

    // ... and decodes again, in a decoder of the same phase, to an equal value.
    let mut again = FrontendDecoder::new();
    if msg.tag().is_some() {
        again.set_phase(phase);
    }
    let decoded = again.decode(&mut buf);
    assert_eq!(decoded, Ok(Some(msg.clone())), "round trip of {msg:?}");
    assert!(buf.is_empty(), "round trip left {} bytes", buf.len());
    assert_eq!(again.decode(&mut buf), Ok(None));
}
