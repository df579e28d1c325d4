//! XXH32 for inputs shorter than 16 bytes: all the LZ4 frame descriptor
//! checksum needs (a descriptor is at most 14 bytes).

const PRIME1: u32 = 0x9E37_79B1;
const PRIME2: u32 = 0x85EB_CA77;
const PRIME3: u32 = 0xC2B2_AE3D;
const PRIME4: u32 = 0x27D4_EB2F;
const PRIME5: u32 = 0x1656_67B1;

/// XXH32 of `input` with seed 0, or `None` for inputs of 16 bytes or more
/// (which take the striped path this module leaves out).
pub(super) fn xxh32_short(input: &[u8]) -> Option<u32> {
    if input.len() >= 16 {
        return None;
    }
    let mut hash = PRIME5.wrapping_add(input.len() as u32);
    let mut words = input.chunks_exact(4);
    for word in &mut words {
        let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        hash = hash
            .wrapping_add(word.wrapping_mul(PRIME3))
            .rotate_left(17)
            .wrapping_mul(PRIME4);
    }
    for &byte in words.remainder() {
        hash = hash
            .wrapping_add(u32::from(byte).wrapping_mul(PRIME5))
            .rotate_left(11)
            .wrapping_mul(PRIME1);
    }
    hash ^= hash >> 15;
    hash = hash.wrapping_mul(PRIME2);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(PRIME3);
    hash ^= hash >> 16;
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_vectors() {
        assert_eq!(xxh32_short(b""), Some(0x02CC_5D05));
        assert_eq!(xxh32_short(b"a"), Some(0x550D_7456));
        assert_eq!(xxh32_short(b"abc"), Some(0x32D1_53FF));
        assert_eq!(xxh32_short(&[0u8; 16]), None);
    }
}
