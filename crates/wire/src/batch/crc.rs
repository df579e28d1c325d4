//! CRC-32C of record batches, and its update when only the header changes.

use super::header::{read_i32, BATCH_HEADER_LEN, BATCH_LENGTH, CRC, CRC_START, MIN_BATCH_LENGTH};

/// Whether the stored CRC of `batch` (exactly one whole batch) matches
/// CRC-32C over bytes 21..end. False for anything that is not one whole
/// batch: shorter than a header, or a length that disagrees with
/// `batchLength`.
pub fn verify_crc(batch: &[u8]) -> bool {
    if batch.len() < BATCH_HEADER_LEN {
        return false;
    }
    let batch_length = read_i32(batch, BATCH_LENGTH);
    if batch_length < MIN_BATCH_LENGTH
        || usize::try_from(batch_length).map(|len| len + 12) != Ok(batch.len())
    {
        return false;
    }
    read_i32(batch, CRC) as u32 == crc32c::crc32c(&batch[CRC_START..])
}

/// The CRC of a batch whose covered header bytes (21..61) change from
/// `old_head` to `new_head` while the `tail_len` bytes after them stay, given
/// only the batch's stored CRC.
///
/// CRC-32C is affine over GF(2): for messages of equal length,
/// `crc(a) ^ crc(b)` depends only on `a ^ b`, and a difference confined to
/// the first 40 bytes followed by `tail_len` equal bytes contributes
/// `crc(old_head) ^ crc(new_head)` carried through `tail_len` zero bytes,
/// i.e. multiplied by `x^(8 * tail_len)` modulo the CRC polynomial (what
/// `crc32c::crc32c_combine(d, 0, tail_len)` computes). So the payload is
/// never read, and whatever error the stored CRC had is carried over bit
/// for bit.
pub(crate) fn crc_after_header_change(
    stored_crc: u32,
    old_head: &[u8; BATCH_HEADER_LEN - CRC_START],
    new_head: &[u8; BATCH_HEADER_LEN - CRC_START],
    tail_len: u32,
) -> u32 {
    let head_difference = crc32c::crc32c(old_head) ^ crc32c::crc32c(new_head);
    stored_crc ^ shift_through_zero_bytes(head_difference, tail_len)
}

// `crc32c_combine` from the crc32c crate rebuilds its GF(2) matrices on
// every call (about 15-30 us, slower than hardware CRC over a 16 KiB
// payload). Multiplying by precomputed powers `x^(2^k)` costs one 32-step
// carry-less multiplication per set bit of the length instead, well under a
// microsecond. The representation is the reflected one CRC-32C uses: bit 31
// holds the coefficient of x^0, bit 0 that of x^31.

/// CRC-32C's polynomial, reflected.
const POLY: u32 = 0x82F6_3B78;

/// `a * b mod POLY`.
const fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 0;
    while bit < 32 {
        if a & (0x8000_0000 >> bit) != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        bit += 1;
    }
    product
}

/// `X_POW_2_POW[k] = x^(2^k) mod POLY`; enough entries for shifts of up to
/// 2^32 bytes (2^35 bits).
const X_POW_2_POW: [u32; 36] = {
    let mut table = [0u32; 36];
    table[0] = 0x4000_0000; // x^1
    let mut k = 1;
    while k < table.len() {
        table[k] = multiply(table[k - 1], table[k - 1]);
        k += 1;
    }
    table
};

/// `crc * x^(8 * len) mod POLY`: the effect of appending `len` zero bytes
/// to a message whose CRC register holds `crc`, without pre/post inversion.
fn shift_through_zero_bytes(crc: u32, len: u32) -> u32 {
    let mut result = crc;
    let mut remaining = len;
    // x^(8 * len) = product of x^(2^(k + 3)) over the set bits k of len.
    for power in &X_POW_2_POW[3..] {
        if remaining == 0 {
            break;
        }
        if remaining & 1 != 0 {
            result = multiply(*power, result);
        }
        remaining >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_agrees_with_the_crc32c_crate() {
        let lengths = (0..300u32).chain([1 << 16, 1_000_003, 1 << 30, u32::MAX - 1, u32::MAX]);
        for (index, len) in lengths.enumerate() {
            let crc = 0x9e37_79b9u32.wrapping_mul(index as u32 + 1);
            assert_eq!(
                shift_through_zero_bytes(crc, len),
                crc32c::crc32c_combine(crc, 0, len as usize),
                "len {len}"
            );
        }
    }

    #[test]
    fn header_change_matches_full_recompute_for_any_tail_length() {
        for tail_len in [0u32, 1, 2, 3, 7, 64, 1000, 4097, 70_000] {
            let tail: Vec<u8> = (0..tail_len).map(|i| (i * 31 + 7) as u8).collect();
            let old_head = [0x5au8; 40];
            let mut new_head = old_head;
            new_head[0] = 0x01;
            new_head[22..30].copy_from_slice(&[9, 8, 7, 6, 5, 4, 3, 2]);
            let old_crc = crc32c::crc32c_append(crc32c::crc32c(&old_head), &tail);
            let new_crc = crc32c::crc32c_append(crc32c::crc32c(&new_head), &tail);
            assert_eq!(
                crc_after_header_change(old_crc, &old_head, &new_head, tail_len),
                new_crc,
                "tail_len {tail_len}"
            );
        }
    }

    #[test]
    fn a_wrong_crc_stays_wrong_by_the_same_bits() {
        let tail = [3u8; 100];
        let old_head = [1u8; 40];
        let mut new_head = old_head;
        new_head[5] = 0xff;
        let true_old = crc32c::crc32c_append(crc32c::crc32c(&old_head), &tail);
        let true_new = crc32c::crc32c_append(crc32c::crc32c(&new_head), &tail);
        let wrong_old = true_old ^ 0x0000_1000;
        let updated = crc_after_header_change(wrong_old, &old_head, &new_head, tail.len() as u32);
        assert_ne!(updated, true_new);
        assert_eq!(updated ^ true_new, 0x0000_1000);
    }

    #[test]
    fn verify_rejects_non_batches() {
        assert!(!verify_crc(&[]));
        assert!(!verify_crc(&[0u8; 60]));
        // A header-only batch claiming 49 bytes but with one extra byte.
        let mut bytes = [0u8; 62];
        bytes[8..12].copy_from_slice(&49i32.to_be_bytes());
        assert!(!verify_crc(&bytes));
    }
}
