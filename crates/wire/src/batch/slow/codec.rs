//! Kafka's four codecs as its Java client frames them, with every
//! decompression bounded.
//!
//! - gzip: one or more gzip members.
//! - snappy: snappy-java's stream framing (a 16-byte header, then blocks
//!   of `u32` big-endian compressed length + raw snappy), or a bare raw
//!   snappy buffer when the header is missing, as snappy-java reads it.
//! - lz4: one LZ4 frame. Message format 0 wrote the frame descriptor's
//!   checksum byte wrongly (KAFKA-1493: it hashed the frame magic too), and
//!   Kafka ignores that byte when reading magic 0; we recompute it before
//!   handing the frame to liblz4, which checks it.
//! - zstd: one or more zstd frames.
//!
//! Compression writes what the Java producer writes by default (gzip level
//! 6, snappy-java framing with 32 KiB blocks, an LZ4 frame of independent
//! 64 KiB blocks without checksums, zstd level 3), except for the LZ4
//! level: see `LZ4_LEVEL`.

use std::io::{Read, Write};

use super::super::header::Compression;
use super::xxh32::xxh32_short;

/// Largest decompressed size of one batch or legacy wrapper: 64 MiB.
pub const MAX_DECOMPRESSED_LEN: usize = 64 << 20;

/// Largest believed compression ratio for inputs above
/// [`DECOMPRESSION_ALLOWANCE`] / 256 bytes.
pub const MAX_COMPRESSION_RATIO: usize = 256;

/// Output any compressed input may grow to whatever its size, so that
/// small batches of very repetitive records (all zeros, say) still
/// convert: 1 MiB.
pub const DECOMPRESSION_ALLOWANCE: usize = 1 << 20;

/// The most `compressed_len` bytes may decompress to:
/// `min(64 MiB, max(1 MiB, 256 * compressed_len))`.
pub fn decompression_limit(compressed_len: usize) -> usize {
    compressed_len
        .saturating_mul(MAX_COMPRESSION_RATIO)
        .clamp(DECOMPRESSION_ALLOWANCE, MAX_DECOMPRESSED_LEN)
}

/// Why a decompression failed.
#[derive(Debug)]
pub(super) enum DecompressError {
    /// The output would exceed this many bytes.
    TooLarge(usize),
    /// Not a valid stream of the codec.
    Malformed(String),
}

/// zstd's window (history) may not exceed the largest output we accept:
/// 2^26 = 64 MiB. The one allocation sized from the stream rather than the
/// input, bounded by the same cap. Streams written at zstd level 22
/// without a content size (window 2^27) are refused for it.
const ZSTD_WINDOW_LOG_MAX: u32 = 26;

/// Decompresses `input`, refusing output beyond
/// [`decompression_limit`]`(input.len())`. `legacy_magic_0` selects
/// Kafka's tolerance of the broken LZ4 descriptor checksum.
pub(super) fn decompress(
    codec: Compression,
    input: &[u8],
    legacy_magic_0: bool,
) -> Result<Vec<u8>, DecompressError> {
    let limit = decompression_limit(input.len());
    match codec {
        Compression::None => bounded_copy(input, limit),
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), limit),
        Compression::Snappy => snappy_decompress(input, limit),
        Compression::Lz4 => lz4_decompress(input, limit, legacy_magic_0),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(malformed)?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(malformed)?;
            read_bounded(decoder, limit)
        }
        Compression::Unknown(id) => Err(DecompressError::Malformed(format!(
            "compression codec {id} does not exist"
        ))),
    }
}

/// Appends `data` compressed with `codec` to `out`.
pub(super) fn compress(codec: Compression, data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let io = |error: std::io::Error| format!("{codec:?} compression failed: {error}");
    match codec {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::new(6));
            encoder.write_all(data).map_err(io)?;
            encoder.finish().map_err(io)?;
        }
        Compression::Snappy => snappy_compress(data, out)?,
        Compression::Lz4 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .level(LZ4_LEVEL)
                .build(out)
                .map_err(io)?;
            encoder.write_all(data).map_err(io)?;
            let (_, result) = encoder.finish();
            result.map_err(io)?;
        }
        Compression::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(out, 3).map_err(io)?;
            encoder.write_all(data).map_err(io)?;
            encoder.finish().map_err(io)?;
        }
        Compression::Unknown(id) => return Err(format!("compression codec {id} does not exist")),
    }
    Ok(())
}

/// liblz4's fast mode. Kafka's Java producer defaults to level 9 (HC). On
/// JSON-like 16 KiB batches (examples/slow_path_cost.rs) fast mode costs
/// about 1.5 ms per MiB of records and writes ~20% more than level 9;
/// level 3 costs ~4.6 ms/MiB for the producer's size, level 9 ~24 ms/MiB.
/// A LogAppendTime topic sends every batch down this path, so keeping up
/// with the partition wins.
const LZ4_LEVEL: u32 = 0;

fn malformed(error: impl std::fmt::Display) -> DecompressError {
    DecompressError::Malformed(error.to_string())
}

fn bounded_copy(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    if input.len() > limit {
        return Err(DecompressError::TooLarge(limit));
    }
    Ok(input.to_vec())
}

/// Reads `reader` to its end into a buffer that never holds, or reserves,
/// more than `limit` bytes.
fn read_bounded(mut reader: impl Read, limit: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 32 * 1024];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(malformed(error)),
        };
        let needed = out.len() + read;
        if needed > limit {
            return Err(DecompressError::TooLarge(limit));
        }
        if needed > out.capacity() {
            // Double as usual, but never past the limit.
            let target = out.capacity().saturating_mul(2).clamp(needed, limit);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..read]);
    }
}

/// snappy-java's stream header: magic, version 1, compatible version 1.
const SNAPPY_HEADER: [u8; 16] = *b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

/// snappy-java's default block size, which Kafka's producer uses.
const SNAPPY_BLOCK: usize = 32 * 1024;

fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    if !input.starts_with(&SNAPPY_HEADER[..8]) {
        // No stream header: snappy-java reads the whole input as one raw
        // snappy buffer.
        let mut out = Vec::new();
        snappy_raw_append(input, &mut out, limit)?;
        return Ok(out);
    }
    let mut rest = input.get(SNAPPY_HEADER.len()..).ok_or_else(|| {
        DecompressError::Malformed("snappy stream header is truncated".to_string())
    })?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed("snappy block length is truncated"))?;
        let len = u32::from_be_bytes(*len);
        // A second stream appended to the first: skip its header.
        if len == u32::from_be_bytes([0x82, b'S', b'N', b'A']) {
            rest = after
                .get(SNAPPY_HEADER.len() - 4..)
                .ok_or_else(|| malformed("snappy stream header is truncated"))?;
            continue;
        }
        let len = usize::try_from(len).map_err(malformed)?;
        if len > i32::MAX as usize {
            return Err(malformed("negative snappy block length"));
        }
        let block = after
            .get(..len)
            .ok_or_else(|| malformed("snappy block runs past the input"))?;
        snappy_raw_append(block, &mut out, limit)?;
        rest = &after[len..];
    }
    Ok(out)
}

/// Appends the raw snappy buffer `block` to `out`, after checking that its
/// declared length keeps `out` within `limit`.
fn snappy_raw_append(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), DecompressError> {
    let len = snap::raw::decompress_len(block).map_err(malformed)?;
    let start = out.len();
    let end = start
        .checked_add(len)
        .filter(|&end| end <= limit)
        .ok_or(DecompressError::TooLarge(limit))?;
    out.resize(end, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(malformed)?;
    if written != len {
        return Err(malformed("snappy block shorter than it declares"));
    }
    Ok(())
}

fn snappy_compress(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    out.extend_from_slice(&SNAPPY_HEADER);
    let mut encoder = snap::raw::Encoder::new();
    for block in data.chunks(SNAPPY_BLOCK) {
        let length_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(block.len()), 0);
        let written = encoder
            .compress(block, &mut out[start..])
            .map_err(|error| format!("snappy compression failed: {error}"))?;
        out.truncate(start + written);
        // A 32 KiB block compresses to well under 4 GiB.
        out[length_at..start].copy_from_slice(&(written as u32).to_be_bytes());
    }
    Ok(())
}

/// The LZ4 frame magic number, little-endian on the wire.
const LZ4_MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();

fn lz4_decompress(
    input: &[u8],
    limit: usize,
    legacy_magic_0: bool,
) -> Result<Vec<u8>, DecompressError> {
    let mut fixed;
    let input = if legacy_magic_0 {
        fixed = input.to_vec();
        fix_descriptor_checksum(&mut fixed)?;
        &fixed[..]
    } else {
        input
    };
    let mut decoder = lz4::Decoder::new(input).map_err(malformed)?;
    let out = read_bounded(&mut decoder, limit)?;
    // The decoder reports a frame cut short as a normal end; `finish`
    // tells the two apart.
    let (_, finished) = decoder.finish();
    finished.map_err(|_| malformed("lz4 frame is truncated"))?;
    Ok(out)
}

/// Overwrites the frame descriptor's checksum byte (HC) with the right
/// one: the second byte of XXH32 over FLG, BD and the optional content
/// size and dictionary id.
fn fix_descriptor_checksum(frame: &mut [u8]) -> Result<(), DecompressError> {
    if !frame.starts_with(&LZ4_MAGIC) {
        return Err(malformed("not an lz4 frame"));
    }
    let flags = *frame
        .get(4)
        .ok_or_else(|| malformed("lz4 frame descriptor is truncated"))?;
    let content_size = if flags & 0x08 != 0 { 8 } else { 0 };
    let dictionary_id = if flags & 0x01 != 0 { 4 } else { 0 };
    let descriptor_end = 4 + 2 + content_size + dictionary_id;
    let descriptor = frame
        .get(4..descriptor_end)
        .ok_or_else(|| malformed("lz4 frame descriptor is truncated"))?;
    let hash = xxh32_short(descriptor).ok_or_else(|| malformed("lz4 frame descriptor too long"))?;
    let checksum = frame
        .get_mut(descriptor_end)
        .ok_or_else(|| malformed("lz4 frame descriptor is truncated"))?;
    *checksum = (hash >> 8) as u8;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODECS: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ (i >> 9) as u8).collect()
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in CODECS {
            for len in [0, 1, 100, SNAPPY_BLOCK, SNAPPY_BLOCK + 1, 300_000] {
                let data = sample(len);
                let mut compressed = Vec::new();
                compress(codec, &data, &mut compressed).unwrap();
                let back = decompress(codec, &compressed, false).unwrap();
                assert_eq!(back, data, "{codec:?} {len}");
            }
        }
    }

    #[test]
    fn output_beyond_the_limit_is_refused() {
        let zeros = vec![0u8; DECOMPRESSION_ALLOWANCE + 1];
        for codec in CODECS {
            let mut compressed = Vec::new();
            compress(codec, &zeros, &mut compressed).unwrap();
            let limit = decompression_limit(compressed.len());
            if limit < zeros.len() {
                assert!(
                    matches!(decompress(codec, &compressed, false), Err(DecompressError::TooLarge(l)) if l == limit),
                    "{codec:?}"
                );
            }
        }
        assert_eq!(decompression_limit(0), DECOMPRESSION_ALLOWANCE);
        assert_eq!(decompression_limit(8192), 8192 * 256);
        assert_eq!(decompression_limit(usize::MAX), MAX_DECOMPRESSED_LEN);
    }

    #[test]
    fn truncated_streams_are_malformed() {
        let data = sample(100_000);
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut compressed = Vec::new();
            compress(codec, &data, &mut compressed).unwrap();
            for cut in [1, compressed.len() / 2, compressed.len() - 1] {
                let result = decompress(codec, &compressed[..cut], false);
                assert!(
                    matches!(result, Err(DecompressError::Malformed(_))),
                    "{codec:?} cut at {cut}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn descriptor_checksum_matches_liblz4s() {
        // liblz4 writes a correct HC byte; recomputing it changes nothing.
        let mut frame = Vec::new();
        compress(Compression::Lz4, &sample(1000), &mut frame).unwrap();
        let mut fixed = frame.clone();
        fix_descriptor_checksum(&mut fixed).unwrap();
        assert_eq!(fixed, frame);
        // A broken HC byte is refused for v2 and tolerated for magic 0.
        frame[6] ^= 0x5a;
        assert!(decompress(Compression::Lz4, &frame, false).is_err());
        assert_eq!(
            decompress(Compression::Lz4, &frame, true).unwrap(),
            sample(1000)
        );
    }

    #[test]
    fn raw_snappy_without_the_stream_header_is_read() {
        let data = sample(5000);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(Compression::Snappy, &raw, false).unwrap(), data);
    }
}
