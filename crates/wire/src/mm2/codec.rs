//! Kafka's fixed-width schema types as MM2 uses them: INT16, INT32, INT64
//! big-endian and STRING (INT16 length, then UTF-8; never null).

use crate::WireError;

/// Reads one key or value of one MM2 record, naming the record in errors.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    record: &'static str,
    part: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], record: &'static str, part: &'static str) -> Self {
        Reader {
            bytes,
            record,
            part,
        }
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<N>() else {
            return Err(WireError::Mm2Truncated {
                record: self.record,
                field,
            });
        };
        self.bytes = rest;
        Ok(*head)
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, WireError> {
        self.take(field).map(i16::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        self.take(field).map(i32::from_be_bytes)
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        self.take(field).map(i64::from_be_bytes)
    }

    /// A STRING; its length is an INT16, so never more than 32767 bytes.
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, WireError> {
        let len = self.i16(field)?;
        let invalid = |reason| WireError::Mm2InvalidString {
            record: self.record,
            field,
            reason,
        };
        let len = usize::try_from(len).map_err(|_| invalid("negative length"))?;
        if len > self.bytes.len() {
            return Err(WireError::Mm2Truncated {
                record: self.record,
                field,
            });
        }
        let (text, rest) = self.bytes.split_at(len);
        let text = std::str::from_utf8(text).map_err(|_| invalid("not utf-8"))?;
        self.bytes = rest;
        Ok(text.to_owned())
    }

    /// Fails if anything is left: the formats are exact.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError::Mm2TrailingBytes {
                record: self.record,
                part: self.part,
                extra: self.bytes.len(),
            })
        }
    }
}

/// Writes one key or value of one MM2 record.
pub(crate) struct Writer {
    bytes: Vec<u8>,
    record: &'static str,
}

impl Writer {
    pub(crate) fn new(record: &'static str, capacity: usize) -> Self {
        Writer {
            bytes: Vec::with_capacity(capacity),
            record,
        }
    }

    pub(crate) fn i16(&mut self, value: i16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn i32(&mut self, value: i32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn string(&mut self, field: &'static str, value: &str) -> Result<(), WireError> {
        let len = i16::try_from(value.len()).map_err(|_| WireError::Mm2StringTooLong {
            record: self.record,
            field,
            len: value.len(),
        })?;
        self.i16(len);
        self.bytes.extend_from_slice(value.as_bytes());
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}
