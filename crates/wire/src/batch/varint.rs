//! Kafka's zigzag varints and a bounds-checked reader over a byte slice.
//!
//! Every read returns `None` instead of running past the end, so callers
//! walking untrusted bytes never index out of range.

use bytes::BufMut;

/// A reader over a byte slice: fixed-width big-endian fields and varints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a>(pub(crate) &'a [u8]);

impl<'a> Cursor<'a> {
    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    pub(crate) fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// An unsigned LEB128 of at most `max_bytes` bytes.
    fn unsigned(&mut self, max_bytes: usize) -> Option<u64> {
        let mut value = 0u64;
        for index in 0..max_bytes {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A zigzag varint (Kafka's `varint`): at most 5 bytes, 32 bits.
    pub(crate) fn varint(&mut self) -> Option<i32> {
        let raw = u32::try_from(self.unsigned(5)?).ok()?;
        Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag varlong (Kafka's `varlong`): at most 10 bytes.
    pub(crate) fn varlong(&mut self) -> Option<i64> {
        let raw = self.unsigned(10)?;
        Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

fn put_unsigned(out: &mut impl BufMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Appends `value` as a zigzag varint.
pub(crate) fn put_varint(out: &mut impl BufMut, value: i32) {
    put_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

/// Appends `value` as a zigzag varlong.
pub(crate) fn put_varlong(out: &mut impl BufMut, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Bytes `put_varint(value)` writes.
pub(crate) fn varint_len(value: i32) -> usize {
    unsigned_len(u64::from(((value << 1) ^ (value >> 31)) as u32))
}

/// Bytes `put_varlong(value)` writes.
pub(crate) fn varlong_len(value: i64) -> usize {
    unsigned_len(((value << 1) ^ (value >> 63)) as u64)
}

fn unsigned_len(value: u64) -> usize {
    // One byte per started group of 7 bits, at least one.
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_zigzag() {
        assert_eq!(Cursor(&[0x00]).varint(), Some(0));
        assert_eq!(Cursor(&[0x01]).varint(), Some(-1));
        assert_eq!(Cursor(&[0x02]).varint(), Some(1));
        assert_eq!(Cursor(&[0x08]).varint(), Some(4));
        assert_eq!(Cursor(&[0xac, 0x02]).varint(), Some(150));
        assert_eq!(
            Cursor(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).varint(),
            Some(i32::MAX)
        );
        assert_eq!(
            Cursor(&[0xff, 0xff, 0xff, 0xff, 0x0f]).varint(),
            Some(i32::MIN)
        );
        // Six bytes, or a fifth byte carrying bits beyond 32: not a varint.
        assert_eq!(Cursor(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).varint(), None);
        assert_eq!(Cursor(&[0xff, 0xff, 0xff, 0xff, 0x7f]).varint(), None);
        assert_eq!(Cursor(&[0x80]).varint(), None);
        assert_eq!(
            Cursor(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varlong(),
            Some(i64::MIN)
        );
    }

    #[test]
    fn varints_round_trip_with_their_lengths() {
        let ints = [
            0,
            1,
            -1,
            63,
            -64,
            64,
            150,
            -150,
            1 << 20,
            i32::MAX,
            i32::MIN,
        ];
        for value in ints {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            let mut cursor = Cursor(&out);
            assert_eq!(cursor.varint(), Some(value));
            assert!(cursor.is_empty());
        }
        let longs = [0, 1, -1, 1 << 42, -(1 << 42), i64::MAX, i64::MIN];
        for value in longs.into_iter().chain(ints.map(i64::from)) {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            assert_eq!(out.len(), varlong_len(value), "{value}");
            let mut cursor = Cursor(&out);
            assert_eq!(cursor.varlong(), Some(value));
            assert!(cursor.is_empty());
        }
    }
}
