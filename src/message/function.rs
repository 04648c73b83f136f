//! The fast-path function call: FunctionCall (`F`) and FunctionCallResponse (`V`).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::frontend::decode_built;
use super::lists::{Formats, ValueListFields, Values, read_formatted_values};
use super::reader::Reader;
use super::writer;

/// `F`: call a function by OID with arguments.
///
/// Argument format codes follow Bind's rule (0, 1 or one per argument), checked on decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionCall {
    /// The function's OID.
    pub function: u32,
    /// Argument format codes.
    pub arg_formats: Formats,
    /// Arguments; `None` is NULL.
    pub args: Values,
    /// Format code for the result.
    pub result_format: i16,
}

impl FunctionCall {
    /// Builds a FunctionCall.
    pub fn new(
        function: u32,
        arg_formats: &[i16],
        args: &[Option<&[u8]>],
        result_format: i16,
    ) -> Result<FunctionCall, EncodeError> {
        let mut buf = BytesMut::new();
        FunctionCall::write(
            &mut buf,
            function,
            arg_formats,
            args.iter().copied(),
            result_format,
        )?;
        decode_built(buf, FunctionCall::decode)
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<FunctionCall, DecodeError> {
        let function = r.u32("function OID")?;
        let (formats, values) = read_formatted_values(
            &mut r,
            ValueListFields {
                format_count: "argument format count",
                formats: "argument formats",
                count: "argument count",
                value: "argument value",
            },
        )?;
        let arg_formats = Formats::from_bytes(r.share(formats.raw()));
        let args = Values::from_bytes(r.share(values.raw()), values.len() as u16);
        let result_format = r.i16("result format")?;
        r.finish()?;
        Ok(FunctionCall {
            function,
            arg_formats,
            args,
            result_format,
        })
    }

    /// Writes a FunctionCall from borrowed parts.
    pub fn write<'v, I>(
        buf: &mut BytesMut,
        function: u32,
        arg_formats: &[i16],
        args: I,
        result_format: i16,
    ) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'v [u8]>>,
        I::IntoIter: ExactSizeIterator,
    {
        let args = args.into_iter();
        if arg_formats.len() > 1 && arg_formats.len() != args.len() {
            return Err(EncodeError::CountMismatch {
                field: "argument formats",
                count: arg_formats.len(),
                expected: args.len(),
            });
        }
        writer::frame(buf, Some(b'F'), |buf| {
            buf.put_u32(function);
            Formats::write(buf, arg_formats, "argument formats")?;
            Values::write(buf, args, "argument values")?;
            buf.put_i16(result_format);
            Ok(())
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let (nf, na) = (self.arg_formats.len(), self.args.len());
        if nf > 1 && nf != na {
            return Err(EncodeError::CountMismatch {
                field: "argument formats",
                count: nf,
                expected: na,
            });
        }
        writer::frame(buf, Some(b'F'), |buf| {
            buf.put_u32(self.function);
            self.arg_formats.put_raw(buf);
            self.args.put_raw(buf);
            buf.put_i16(self.result_format);
            Ok(())
        })
    }
}

/// `V`: the result of a function call; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionCallResponse {
    /// The result value.
    pub value: Option<Bytes>,
}

impl FunctionCallResponse {
    pub(crate) fn decode(mut r: Reader<'_>) -> Result<FunctionCallResponse, DecodeError> {
        let value = r.value_range("result value")?.map(|range| r.slice(range));
        r.finish()?;
        Ok(FunctionCallResponse { value })
    }

    /// Writes a FunctionCallResponse from a borrowed value.
    pub fn write(buf: &mut BytesMut, value: Option<&[u8]>) -> Result<(), EncodeError> {
        writer::frame(buf, Some(b'V'), |buf| {
            writer::value(buf, value, "result value")
        })
    }

    /// Appends the message to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        FunctionCallResponse::write(buf, self.value.as_deref())
    }
}
