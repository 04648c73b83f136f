//! Runs of complete frames split off an input buffer at once and read in place.
//!
//! [`BackendDecoder::split_frames`](super::BackendDecoder::split_frames) and
//! [`FrontendDecoder::split_frames`](super::FrontendDecoder::split_frames) take every complete
//! message at the front of the input as one shared buffer: one reference count for the whole
//! run instead of one per message. Each frame can then be viewed in place (the hot messages
//! borrowed: DataRow and CopyData from a server; Query, Parse, Bind, Execute, Describe, Close
//! and CopyData from a client) or decoded into an owned message that shares the run's buffer.
//! A borrowed DataRow checks its value lengths as they are visited.
//!
//! ```
//! use bytes::BytesMut;
//! use pgproto::message::{BackendDecoder, BackendView, DataRow, TransactionStatus, BackendMessage};
//!
//! let mut input = BytesMut::new();
//! DataRow::write(&mut input, [Some(&b"1"[..]), None]).unwrap();
//! BackendMessage::ReadyForQuery(TransactionStatus::Idle).encode(&mut input).unwrap();
//!
//! let mut dec = BackendDecoder::new();
//! let frames = dec.split_frames(&mut input).unwrap();
//! assert!(input.is_empty());
//! let mut rows = 0;
//! for frame in &frames {
//!     match frame.view().unwrap() {
//!         BackendView::DataRow(row) => {
//!             let values: Result<Vec<_>, _> = row.values().collect();
//!             assert_eq!(values.unwrap(), [Some(&b"1"[..]), None]);
//!             rows += 1;
//!         }
//!         BackendView::Other(m) => {
//!             assert_eq!(m, BackendMessage::ReadyForQuery(TransactionStatus::Idle))
//!         }
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! assert_eq!(rows, 1);
//! ```

use bytes::Bytes;

use super::FrontendPhase;
use super::backend::BackendMessage;
use super::codec::{decode_frontend_body, empty};
use super::error::{DecodeError, Frame};
use super::frontend::{BindRef, CloseRef, DescribeRef, ExecuteRef, FrontendMessage, ParseRef, tag};
use super::reader::Reader;
use super::rows::DataRowRef;

/// Iterates the frames of a run: (type byte, body range). The run's headers were checked when
/// it was split, so this only steps from one length word to the next.
#[derive(Clone, Debug)]
struct Raw<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Iterator for Raw<'_> {
    type Item = (u8, usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(u8, usize, usize)> {
        let header = self.buf.get(self.pos..)?.first_chunk::<5>()?;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let start = self.pos + 5;
        let end = self.pos + 1 + len;
        if len < 4 || end > self.buf.len() {
            return None;
        }
        self.pos = end;
        Some((header[0], start, end))
    }
}

macro_rules! frames {
    ($frames:ident, $iter:ident, $frame:ident, $side:literal) => {
        #[doc = concat!("A run of complete messages from a ", $side, ", in one shared buffer.")]
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $frames {
            buf: Bytes,
        }

        impl $frames {
            pub(crate) fn new(buf: Bytes) -> $frames {
                $frames { buf }
            }

            /// The frames in order.
            pub fn iter(&self) -> $iter<'_> {
                $iter {
                    raw: Raw {
                        buf: &self.buf,
                        pos: 0,
                    },
                }
            }

            /// Whether the run holds no frame.
            pub fn is_empty(&self) -> bool {
                self.buf.is_empty()
            }

            /// The run in wire form, type bytes and length words included (what a proxy
            /// forwards).
            pub fn as_bytes(&self) -> &Bytes {
                &self.buf
            }
        }

        impl<'a> IntoIterator for &'a $frames {
            type Item = $frame<'a>;
            type IntoIter = $iter<'a>;

            fn into_iter(self) -> $iter<'a> {
                self.iter()
            }
        }

        #[doc = concat!("Iterator over the frames of a [`", stringify!($frames), "`].")]
        #[derive(Clone, Debug)]
        pub struct $iter<'a> {
            raw: Raw<'a>,
        }

        impl<'a> Iterator for $iter<'a> {
            type Item = $frame<'a>;

            #[inline]
            fn next(&mut self) -> Option<$frame<'a>> {
                let (tag, start, end) = self.raw.next()?;
                Some($frame {
                    tag,
                    buf: self.raw.buf,
                    start,
                    end,
                })
            }
        }

        #[doc = concat!("One message of a [`", stringify!($frames), "`], not yet decoded.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $frame<'a> {
            tag: u8,
            buf: &'a Bytes,
            start: usize,
            end: usize,
        }

        impl<'a> $frame<'a> {
            /// The type byte.
            pub fn tag(&self) -> u8 {
                self.tag
            }

            /// The body (after the length word).
            pub fn body(&self) -> &'a [u8] {
                self.buf.get(self.start..self.end).unwrap_or_default()
            }

            fn shared_body(&self) -> Bytes {
                self.buf.slice(self.start..self.end)
            }
        }
    };
}

frames!(BackendFrames, BackendFramesIter, BackendFrame, "server");
frames!(FrontendFrames, FrontendFramesIter, FrontendFrame, "client");

/// A server message read in place: the bulk messages borrowed, the others owned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendView<'a> {
    /// `D`, borrowed.
    DataRow(DataRowRef<'a>),
    /// `d`: the COPY data, borrowed.
    CopyData(&'a [u8]),
    /// Any other message, decoded as [`BackendDecoder::decode`](super::BackendDecoder::decode)
    /// would (its variable parts share the run's buffer).
    Other(BackendMessage),
}

impl<'a> BackendFrame<'a> {
    /// Reads the message in place. A DataRow's column count is checked here and its value
    /// lengths as [`DataRowRef::values`] visits them (or by [`DataRowRef::check`]); every other
    /// message is checked whole, as [`decode`](BackendFrame::decode) checks it.
    #[inline]
    pub fn view(&self) -> Result<BackendView<'a>, DecodeError> {
        match self.tag {
            b'D' => DataRowRef::read(self.body()).map(BackendView::DataRow),
            b'd' => Ok(BackendView::CopyData(self.body())),
            _ => self.decode().map(BackendView::Other),
        }
    }

    /// Decodes the message as an owned value (sharing the run's buffer, not copying it).
    pub fn decode(&self) -> Result<BackendMessage, DecodeError> {
        BackendMessage::decode(self.tag, self.shared_body())
    }
}

/// A client message read in place: the query-cycle messages borrowed, the others owned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrontendView<'a> {
    /// `Q`: the query string.
    Query(&'a [u8]),
    /// `P`, borrowed.
    Parse(ParseRef<'a>),
    /// `B`, borrowed.
    Bind(BindRef<'a>),
    /// `E`, borrowed.
    Execute(ExecuteRef<'a>),
    /// `D`, borrowed.
    Describe(DescribeRef<'a>),
    /// `C`, borrowed.
    Close(CloseRef<'a>),
    /// `H`.
    Flush,
    /// `S`.
    Sync,
    /// `d`: the COPY data, borrowed.
    CopyData(&'a [u8]),
    /// `c`.
    CopyDone,
    /// `X`.
    Terminate,
    /// FunctionCall or CopyFail, decoded as [`FrontendDecoder::decode`] would.
    ///
    /// [`FrontendDecoder::decode`]: super::FrontendDecoder::decode
    Other(FrontendMessage),
}

impl<'a> FrontendFrame<'a> {
    fn reader(&self) -> Reader<'a> {
        Reader::window(self.buf, self.start..self.end, Frame::Typed(self.tag))
    }

    /// Reads the message in place, with the checks [`decode`](FrontendFrame::decode) makes.
    #[inline]
    pub fn view(&self) -> Result<FrontendView<'a>, DecodeError> {
        let mut r = self.reader();
        Ok(match self.tag {
            tag::BIND => FrontendView::Bind(BindRef::read(&mut r)?),
            tag::EXECUTE => FrontendView::Execute(ExecuteRef::read(&mut r)?),
            tag::SYNC => empty(r, FrontendView::Sync)?,
            tag::PARSE => FrontendView::Parse(ParseRef::read(&mut r)?),
            tag::DESCRIBE => FrontendView::Describe(DescribeRef::read(&mut r)?),
            tag::CLOSE => FrontendView::Close(CloseRef::read(&mut r)?),
            tag::FLUSH => empty(r, FrontendView::Flush)?,
            tag::QUERY => {
                let sql = r.cstr_slice("query string")?;
                r.finish()?;
                FrontendView::Query(sql)
            }
            tag::COPY_DATA => FrontendView::CopyData(self.body()),
            // PostgreSQL reads no body for these two and ignores any bytes sent with them.
            tag::COPY_DONE => FrontendView::CopyDone,
            tag::TERMINATE => FrontendView::Terminate,
            _ => FrontendView::Other(self.decode()?),
        })
    }

    /// Decodes the message as an owned value (sharing the run's buffer, not copying it).
    pub fn decode(&self) -> Result<FrontendMessage, DecodeError> {
        decode_frontend_body(self.tag, self.shared_body(), FrontendPhase::Normal)
    }
}
