//! Message-at-a-time decoding to compare the run API with (decode_backend, decode_frontend).

use bytes::BytesMut;
use pgproto::message::DecodeError;

/// Decodes `input` with `decode` until it wants more bytes or fails for good: every message or
/// error in order, and the bytes left.
pub fn by_message<M>(
    input: &[u8],
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<M>, DecodeError>,
) -> (Vec<Result<M, DecodeError>>, BytesMut) {
    let mut rest = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match decode(&mut rest) {
            Ok(Some(m)) => out.push(Ok(m)),
            Ok(None) => break,
            Err(e) => {
                let fatal = !e.is_recoverable();
                out.push(Err(e));
                if fatal {
                    break;
                }
            }
        }
    }
    (out, rest)
}
