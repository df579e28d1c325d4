//! What the slow path costs per MB of records, per codec.
//!
//!     cargo run --release -p kmirror-wire --example slow_path_cost
//!
//! Builds 16 KiB batches (the Java producer's default `batch.size`) of
//! JSON-like records with the `kafka-protocol` encoder, marks them
//! LogAppendTime, and times `normalize_log_append_time`; then builds the
//! same records as magic 1 message sets (one compressed wrapper per 16 KiB)
//! and times `upconvert_legacy`. MB are MiB of uncompressed records. A
//! quick measurement, not a benchmark harness.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kmirror_wire::{normalize_log_append_time, split_record_set, upconvert_legacy, RawBatch};

const TOTAL: usize = 32 << 20;
const BATCH: usize = 16 << 10;

fn value(i: usize) -> Vec<u8> {
    format!(
        "{{\"order\":{i},\"user\":\"user-{}\",\"amount\":{}.{:02},\"currency\":\"EUR\",\
         \"items\":[{{\"sku\":\"SKU-{}\",\"qty\":{}}},{{\"sku\":\"SKU-{}\",\"qty\":1}}],\
         \"note\":\"{}\"}}",
        i * 7919 % 100_000,
        i * 31 % 1000,
        i % 100,
        i * 13 % 5000,
        i % 9 + 1,
        i * 17 % 5000,
        "lorem ipsum dolor sit amet ".repeat(i % 8 + 4),
    )
    .into_bytes()
}

/// Records of about `BATCH` bytes each, `TOTAL` bytes in all.
fn groups() -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut groups = Vec::new();
    let mut group = Vec::new();
    let (mut size, mut total, mut i) = (0, 0, 0);
    while total < TOTAL {
        let (key, value) = (format!("user-{}", i % 1000).into_bytes(), value(i));
        size += key.len() + value.len();
        total += key.len() + value.len();
        group.push((key, value));
        if size >= BATCH {
            groups.push(std::mem::take(&mut group));
            size = 0;
        }
        i += 1;
    }
    groups.push(group);
    groups
}

fn log_append_batches(
    groups: &[Vec<(Vec<u8>, Vec<u8>)>],
    compression: Compression,
) -> Vec<RawBatch> {
    let mut offset = 0i64;
    let mut batches = Vec::new();
    for group in groups {
        let records: Vec<Record> = group
            .iter()
            .map(|(key, value)| {
                offset += 1;
                Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 0,
                    producer_id: 1,
                    producer_epoch: 0,
                    timestamp_type: TimestampType::Creation,
                    offset,
                    sequence: offset as i32,
                    timestamp: 1_700_000_000_000 + offset,
                    key: Some(Bytes::from(key.clone())),
                    value: Some(Bytes::from(value.clone())),
                    headers: Default::default(),
                }
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
        let mut bytes = buf.to_vec();
        bytes[22] |= 0x08;
        bytes[35..43].copy_from_slice(&1_700_000_001_000i64.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        batches.extend(split_record_set(&Bytes::from(bytes)).batches);
    }
    batches
}

fn legacy_message(
    out: &mut Vec<u8>,
    offset: i64,
    attributes: u8,
    key: Option<&[u8]>,
    value: &[u8],
) {
    let mut body = vec![1u8, attributes];
    body.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    match key {
        Some(key) => {
            body.extend_from_slice(&(key.len() as i32).to_be_bytes());
            body.extend_from_slice(key);
        }
        None => body.extend_from_slice(&(-1i32).to_be_bytes()),
    }
    body.extend_from_slice(&(value.len() as i32).to_be_bytes());
    body.extend_from_slice(value);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&((4 + body.len()) as i32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
}

/// Magic 1 message sets: one wrapper per group, or plain messages.
fn legacy_set(groups: &[Vec<(Vec<u8>, Vec<u8>)>], codec: u8) -> Bytes {
    let mut out = Vec::new();
    let mut offset = 0i64;
    for group in groups {
        if codec == 0 {
            for (key, value) in group {
                legacy_message(&mut out, offset, 0, Some(key), value);
                offset += 1;
            }
            continue;
        }
        let mut inner = Vec::new();
        for (relative, (key, value)) in group.iter().enumerate() {
            legacy_message(&mut inner, relative as i64, 0, Some(key), value);
        }
        let mut compressed = BytesMut::new();
        let fill = |buf: &mut BytesMut| -> anyhow::Result<()> {
            buf.put_slice(&inner);
            Ok(())
        };
        match codec {
            1 => Gzip::compress(&mut compressed, fill).unwrap(),
            2 => Snappy::compress(&mut compressed, fill).unwrap(),
            _ => Lz4::compress(&mut compressed, fill).unwrap(),
        }
        offset += group.len() as i64;
        legacy_message(&mut out, offset - 1, codec, None, &compressed);
    }
    Bytes::from(out)
}

fn main() {
    let groups = groups();
    let megabytes = groups
        .iter()
        .flatten()
        .map(|(key, value)| key.len() + value.len())
        .sum::<usize>() as f64
        / (1 << 20) as f64;
    println!(
        "{megabytes:.0} MiB of records in {} batches of ~16 KiB",
        groups.len()
    );
    println!("normalize_log_append_time:");
    for (name, compression) in [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ] {
        let batches = log_append_batches(&groups, compression);
        let input: usize = batches.iter().map(|b| b.bytes.len()).sum();
        let start = Instant::now();
        let mut output = 0;
        for batch in &batches {
            output += normalize_log_append_time(batch).unwrap().len();
        }
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "  {name:<6} {:>7.2} ms/MiB {:>7.0} MiB/s  ({:.1} -> {:.1} MiB on the wire)",
            elapsed * 1000.0 / megabytes,
            megabytes / elapsed,
            input as f64 / (1 << 20) as f64,
            output as f64 / (1 << 20) as f64,
        );
    }
    println!("upconvert_legacy (magic 1):");
    for (name, codec) in [("none", 0u8), ("gzip", 1), ("snappy", 2), ("lz4", 3)] {
        let input = legacy_set(&groups, codec);
        let start = Instant::now();
        let mut rest = input.clone();
        let mut output = 0;
        while !rest.is_empty() {
            let (batches, consumed) = upconvert_legacy(&rest).unwrap();
            output += batches.iter().map(Bytes::len).sum::<usize>();
            rest = rest.slice(consumed..);
        }
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "  {name:<6} {:>7.2} ms/MiB {:>7.0} MiB/s  ({:.1} -> {:.1} MiB on the wire)",
            elapsed * 1000.0 / megabytes,
            megabytes / elapsed,
            input.len() as f64 / (1 << 20) as f64,
            output as f64 / (1 << 20) as f64,
        );
    }
}
