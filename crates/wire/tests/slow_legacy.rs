//! `upconvert_legacy` against message sets written by Apache Kafka's own
//! client library (fixtures in tests/fixtures/legacy, see generate.sh) and
//! by a field-by-field test writer checked against those fixtures; the
//! v2 batches that come out are read back with the `kafka-protocol` crate.

mod common;

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use common::legacy::{
    legacy_codec, legacy_records, message, read_back, uncompressed, wrapper, LegacyCodec,
    LegacyRecord,
};
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType,
};
use kmirror_wire::{
    split_record_set, upconvert_legacy, verify_crc, BatchHeader, Compression, SplitEnd,
    TimestampType as WireTimestampType, WireError,
};
use proptest::prelude::*;

/// Reads converted batches back, checking what every converted batch must
/// be: one valid v2 CreateTime batch without producer, with no headers.
fn read(batches: &[Bytes]) -> Vec<(Compression, LegacyRecord)> {
    let mut out = Vec::new();
    for batch in batches {
        assert!(verify_crc(batch), "CRC");
        let header = BatchHeader::parse(batch).unwrap();
        assert_eq!(header.total_len(), batch.len());
        assert_eq!(header.timestamp_type(), WireTimestampType::CreateTime);
        assert_eq!(header.producer_id, -1);
        assert_eq!(header.producer_epoch, -1);
        assert_eq!(header.base_sequence, -1);
        assert_eq!(header.partition_leader_epoch, -1);
        assert!(!header.is_transactional() && !header.is_control());
        let decoded = RecordBatchDecoder::decode(&mut batch.clone()).unwrap();
        assert_eq!(decoded.records.len(), header.records_count as usize);
        let first = decoded.records.first().unwrap();
        let last = decoded.records.last().unwrap();
        assert_eq!(first.offset, header.base_offset);
        assert_eq!(last.offset, header.last_offset());
        let max = decoded.records.iter().map(|r| r.timestamp).max().unwrap();
        assert_eq!(header.max_timestamp, max.max(-1));
        for record in decoded.records {
            assert_eq!(record.timestamp_type, TimestampType::Creation);
            assert!(record.headers.is_empty());
            out.push((
                header.compression(),
                LegacyRecord {
                    offset: record.offset,
                    timestamp: record.timestamp,
                    key: record.key.map(|b| b.to_vec()),
                    value: record.value.map(|b| b.to_vec()),
                },
            ));
        }
    }
    out
}

fn records_only(read: Vec<(Compression, LegacyRecord)>) -> Vec<LegacyRecord> {
    read.into_iter().map(|(_, record)| record).collect()
}

// ---- Fixtures written by Kafka ----

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy")
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".bin").map(str::to_string)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 26, "fixtures missing: {names:?}");
    names
}

fn fixture(name: &str) -> Bytes {
    Bytes::from(std::fs::read(fixture_dir().join(format!("{name}.bin"))).unwrap())
}

/// One expected record: offset, timestamp, then key and value as hex,
/// "~" (null), "." (empty) or "len=N,crc32=X".
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    offset: i64,
    timestamp: i64,
    key: String,
    value: String,
}

fn expected(name: &str) -> Vec<Expected> {
    std::fs::read_to_string(fixture_dir().join(format!("{name}.txt")))
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            Expected {
                offset: fields[0].parse().unwrap(),
                timestamp: fields[1].parse().unwrap(),
                key: fields[2].to_string(),
                value: fields[3].to_string(),
            }
        })
        .collect()
}

fn describe(field: &Option<Vec<u8>>) -> String {
    match field {
        None => "~".to_string(),
        Some(bytes) if bytes.is_empty() => ".".to_string(),
        Some(bytes) if bytes.len() > 64 => {
            format!("len={},crc32={:08x}", bytes.len(), crc32fast::hash(bytes))
        }
        Some(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn undescribe(field: &str) -> Option<Vec<u8>> {
    match field {
        "~" => None,
        "." => Some(Vec::new()),
        hex => Some(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
        ),
    }
}

fn fixture_codec(name: &str) -> Compression {
    ["gzip", "snappy", "lz4"]
        .iter()
        .zip([Compression::Gzip, Compression::Snappy, Compression::Lz4])
        .find(|(codec, _)| name.contains(*codec))
        .map_or(Compression::None, |(_, codec)| codec)
}

#[test]
fn every_kafka_written_fixture_reads_the_same_after_upconversion() {
    for name in fixture_names() {
        let input = fixture(&name);
        let (batches, consumed) = upconvert_legacy(&input).unwrap();
        assert_eq!(consumed, input.len(), "{name}");
        let read = read(&batches);
        let codec = fixture_codec(&name);
        assert!(read.iter().all(|(c, _)| *c == codec), "{name}: codec");
        if codec != Compression::None {
            // One wrapper, one batch.
            assert_eq!(batches.len(), 1, "{name}");
        }
        let got: Vec<Expected> = read
            .into_iter()
            .map(|(_, r)| Expected {
                offset: r.offset,
                timestamp: r.timestamp,
                key: describe(&r.key),
                value: describe(&r.value),
            })
            .collect();
        assert_eq!(got, expected(&name), "{name}");
    }
}

#[test]
fn the_test_writer_rebuilds_kafkas_uncompressed_fixtures_byte_for_byte() {
    for name in ["m0_none", "m1_none", "m0_none_gaps", "m1_none_gaps"] {
        let magic = if name.starts_with("m0") { 0 } else { 1 };
        let records: Vec<LegacyRecord> = expected(name)
            .into_iter()
            .map(|e| LegacyRecord {
                offset: e.offset,
                timestamp: e.timestamp,
                key: undescribe(&e.key),
                value: undescribe(&e.value),
            })
            .collect();
        assert_eq!(
            uncompressed(magic, &records),
            fixture(name).to_vec(),
            "{name}"
        );
    }
}

#[test]
fn kafkas_magic_0_lz4_frames_carry_the_broken_checksum() {
    // KAFKA-1493: the magic 0 frame's descriptor checksum differs from the
    // magic 1 one for the same descriptor; both convert (checked above).
    let hc = |name: &str| {
        let bytes = fixture(name);
        // offset, size, crc, magic, attributes, [timestamp], key -1, value length
        let value_at = if name.starts_with("m0") { 26 } else { 34 };
        bytes[value_at + 6]
    };
    assert_ne!(hc("m0_lz4"), hc("m1_lz4"));
}

#[test]
fn fixtures_in_a_row_then_a_v2_batch_then_a_partial_message() {
    let names = [
        "m0_none",
        "m1_gzip",
        "m0_lz4_gaps",
        "m1_snappy_log_append",
        "m1_none",
    ];
    let mut input = BytesMut::new();
    let mut want = Vec::new();
    for name in names {
        input.extend_from_slice(&fixture(name));
        want.extend(expected(name));
    }
    let legacy_len = input.len();
    // A v2 batch after them.
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 9000,
        sequence: 0,
        timestamp: 1,
        key: None,
        value: Some(Bytes::from_static(b"v2")),
        headers: Default::default(),
    };
    RecordBatchEncoder::encode(
        &mut input,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: KpCompression::None,
        },
    )
    .unwrap();
    let input = input.freeze();
    let (batches, consumed) = upconvert_legacy(&input).unwrap();
    assert_eq!(consumed, legacy_len);
    // m0_none and m1_none are 6 messages each, one batch per run; the
    // three wrappers one batch each.
    assert_eq!(batches.len(), 5);
    let got: Vec<(i64, i64)> = records_only(read(&batches))
        .iter()
        .map(|r| (r.offset, r.timestamp))
        .collect();
    let want: Vec<(i64, i64)> = want.iter().map(|e| (e.offset, e.timestamp)).collect();
    assert_eq!(got, want);
    let split = split_record_set(&input.slice(consumed..));
    assert_eq!(split.batches.len(), 1);
    assert_eq!(split.end, SplitEnd::Complete);

    // Cut inside the last message: everything before it converts.
    let m1_none = fixture("m1_none");
    let mut last_len = 0;
    let mut at = 0;
    while at < m1_none.len() {
        last_len = 12 + i32::from_be_bytes(m1_none[at + 8..at + 12].try_into().unwrap()) as usize;
        at += last_len;
    }
    let cut = input.slice(..legacy_len - 1);
    let (_, consumed) = upconvert_legacy(&cut).unwrap();
    assert_eq!(consumed, legacy_len - last_len);
    // Fewer bytes than a message header: nothing, no error.
    assert_eq!(upconvert_legacy(&cut.slice(..16)).unwrap(), (vec![], 0));
    assert_eq!(upconvert_legacy(&Bytes::new()).unwrap(), (vec![], 0));
}

#[test]
fn a_v2_batch_first_converts_nothing() {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: 0,
        timestamp: 1,
        key: None,
        value: None,
        headers: Default::default(),
    };
    let mut input = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut input,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: KpCompression::None,
        },
    )
    .unwrap();
    assert_eq!(upconvert_legacy(&input.freeze()).unwrap(), (vec![], 0));
}

// ---- Corruption ----

#[test]
fn a_bad_crc_is_an_error_first_and_a_stop_later() {
    let good = fixture("m1_gzip");
    let mut bad = good.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert!(matches!(
        upconvert_legacy(&Bytes::from(bad.clone())),
        Err(WireError::Corrupt { offset: 205, .. })
    ));
    let mut input = good.to_vec();
    input.extend_from_slice(&bad);
    let input = Bytes::from(input);
    let (batches, consumed) = upconvert_legacy(&input).unwrap();
    assert_eq!((batches.len(), consumed), (1, good.len()));
    assert!(upconvert_legacy(&input.slice(consumed..)).is_err());
}

#[test]
fn malformed_wrappers_are_refused() {
    let records = vec![LegacyRecord {
        offset: 10,
        timestamp: 5,
        key: None,
        value: Some(b"x".to_vec()),
    }];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // zstd does not exist in magic 0/1.
        ("zstd", message(10, 1, 4, 5, None, Some(b"whatever"))),
        ("codec 7", message(10, 1, 7, 5, None, Some(b"whatever"))),
        ("null value", message(10, 1, 1, 5, None, None)),
        (
            "not gzip",
            message(10, 1, 1, 5, None, Some(b"not gzip at all")),
        ),
        ("empty gzip", {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut gz, b"").unwrap();
            message(10, 1, 1, 5, None, Some(&gz.finish().unwrap()))
        }),
        ("nested compression", {
            let inner = wrapper(1, LegacyCodec::Gzip, None, &records);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut gz, &inner).unwrap();
            message(10, 1, 1, 5, None, Some(&gz.finish().unwrap()))
        }),
        ("wrapper offset below inner", {
            let two = vec![
                records[0].clone(),
                LegacyRecord {
                    offset: 15,
                    ..records[0].clone()
                },
            ];
            let mut bytes = wrapper(1, LegacyCodec::Gzip, None, &two);
            // Inner offsets 0 and 5; a wrapper offset of 3 cannot be.
            bytes[..8].copy_from_slice(&3i64.to_be_bytes());
            bytes
        }),
        ("unknown magic", {
            let mut bytes = message(10, 1, 0, 5, None, None);
            bytes[16] = 7;
            bytes
        }),
        ("size below the minimum", {
            let mut bytes = message(10, 0, 0, 5, None, None);
            bytes[8..12].copy_from_slice(&13i32.to_be_bytes());
            bytes
        }),
        ("negative offset", message(-5, 1, 0, 5, None, None)),
        ("decreasing offsets", {
            let mut bytes = message(10, 1, 0, 5, None, None);
            bytes.extend(message(9, 1, 0, 5, None, None));
            bytes
        }),
    ];
    for (what, bytes) in cases {
        let result = upconvert_legacy(&Bytes::from(bytes));
        if what == "decreasing offsets" {
            // The first message converts; the second is the next call's error.
            let (batches, consumed) = result.unwrap();
            assert_eq!((batches.len(), consumed), (1, 34), "{what}");
            continue;
        }
        assert!(
            matches!(result, Err(WireError::Corrupt { .. })),
            "{what}: {result:?}"
        );
    }
}

#[test]
fn fields_running_past_the_message_are_refused() {
    // A key claiming 100 bytes in a message that has 3, CRC fixed up.
    let mut bytes = message(1, 1, 0, 5, Some(b"abc"), None);
    bytes[26..30].copy_from_slice(&100i32.to_be_bytes());
    let crc = crc32fast::hash(&bytes[16..]);
    bytes[12..16].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        upconvert_legacy(&Bytes::from(bytes)),
        Err(WireError::Corrupt { offset: 1, .. })
    ));
}

#[test]
fn a_gzip_bomb_in_a_wrapper_is_refused() {
    // One inner message with 8 MiB of zeros: about 8 KiB of gzip.
    let records = vec![LegacyRecord {
        offset: 0,
        timestamp: 0,
        key: None,
        value: Some(vec![0; 8 << 20]),
    }];
    let bytes = wrapper(1, LegacyCodec::Gzip, None, &records);
    assert!(matches!(
        upconvert_legacy(&Bytes::from(bytes)),
        Err(WireError::DecompressionLimit { offset: 0, .. })
    ));
}

#[test]
fn the_librdkafka_zero_wrapper_offset_means_base_zero() {
    let records: Vec<LegacyRecord> = (0..3)
        .map(|i| LegacyRecord {
            offset: i,
            timestamp: 100 + i,
            key: None,
            value: Some(vec![i as u8]),
        })
        .collect();
    let mut bytes = wrapper(1, LegacyCodec::Snappy, None, &records);
    bytes[..8].copy_from_slice(&0i64.to_be_bytes());
    let (batches, _) = upconvert_legacy(&Bytes::from(bytes)).unwrap();
    assert_eq!(records_only(read(&batches)), records);
}

#[test]
fn long_uncompressed_runs_are_split_into_batches_of_about_a_mib() {
    let records: Vec<LegacyRecord> = (0..300)
        .map(|i| LegacyRecord {
            offset: 1000 + i * 2,
            timestamp: 1_500_000_000_000 + i,
            key: Some(format!("k{i}").into_bytes()),
            value: Some(vec![i as u8; 10_000]),
        })
        .collect();
    let input = Bytes::from(uncompressed(1, &records));
    let (batches, consumed) = upconvert_legacy(&input).unwrap();
    assert_eq!(consumed, input.len());
    assert_eq!(batches.len(), 3);
    assert!(batches.iter().all(|b| b.len() <= 1 << 20));
    assert_eq!(records_only(read(&batches)), records);
}

// ---- Properties ----

fn magic() -> impl Strategy<Value = u8> {
    0u8..=1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wrappers_keep_offsets_keys_values_and_timestamps(
        (magic, records) in magic().prop_flat_map(|m| (Just(m), legacy_records(m))),
        codec in legacy_codec(),
        log_append_time in prop::option::of(0i64..(1 << 42)),
    ) {
        let (input, want) = if codec == LegacyCodec::None {
            (uncompressed(magic, &records), records.clone())
        } else {
            (
                wrapper(magic, codec, log_append_time, &records),
                read_back(magic, log_append_time, &records),
            )
        };
        let input = Bytes::from(input);
        let (batches, consumed) = upconvert_legacy(&input).unwrap();
        prop_assert_eq!(consumed, input.len());
        prop_assert_eq!(batches.len(), 1);
        let read = read(&batches);
        prop_assert!(read.iter().all(|(c, _)| *c == codec.wire()));
        prop_assert_eq!(records_only(read), want);
    }

    #[test]
    fn runs_of_mixed_sets_convert_in_order(
        sets in prop::collection::vec(
            (magic(), legacy_codec(), prop::option::of(0i64..(1 << 42)), 1usize..6),
            1..6,
        ),
    ) {
        let mut input = Vec::new();
        let mut want = Vec::new();
        let mut offset = 0i64;
        for (magic, codec, log_append_time, count) in sets {
            let records: Vec<LegacyRecord> = (0..count)
                .map(|i| {
                    offset += 1 + (i as i64 % 3);
                    LegacyRecord {
                        offset,
                        timestamp: if magic == 0 { -1 } else { 1000 + offset },
                        key: Some(offset.to_be_bytes().to_vec()),
                        value: (i % 2 == 0).then(|| vec![magic; i]),
                    }
                })
                .collect();
            if codec == LegacyCodec::None {
                input.extend(uncompressed(magic, &records));
                want.extend(records);
            } else {
                input.extend(wrapper(magic, codec, log_append_time, &records));
                want.extend(read_back(magic, log_append_time, &records));
            }
        }
        let input = Bytes::from(input);
        let (batches, consumed) = upconvert_legacy(&input).unwrap();
        prop_assert_eq!(consumed, input.len());
        prop_assert_eq!(records_only(read(&batches)), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let bytes = Bytes::from(bytes);
        if let Ok((batches, consumed)) = upconvert_legacy(&bytes) {
            prop_assert!(consumed <= bytes.len());
            for batch in &batches {
                prop_assert!(verify_crc(batch));
            }
        }
    }

    #[test]
    fn mutated_messages_with_fixed_crcs_never_panic(
        (magic, records) in magic().prop_flat_map(|m| (Just(m), legacy_records(m))),
        codec in legacy_codec(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = if codec == LegacyCodec::None {
            uncompressed(magic, &records)
        } else {
            wrapper(magic, codec, None, &records)
        };
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        // Re-sign the first message, so the mutation is read, not refused.
        if let Ok(size) = usize::try_from(i32::from_be_bytes(bytes[8..12].try_into().unwrap())) {
            if size >= 4 && 12 + size <= bytes.len() {
                let crc = crc32fast::hash(&bytes[16..12 + size]);
                bytes[12..16].copy_from_slice(&crc.to_be_bytes());
            }
        }
        let bytes = Bytes::from(bytes);
        if let Ok((batches, consumed)) = upconvert_legacy(&bytes) {
            prop_assert!(consumed <= bytes.len());
            for batch in &batches {
                prop_assert!(verify_crc(batch));
                prop_assert!(RecordBatchDecoder::decode(&mut batch.clone()).is_ok());
            }
        }
    }
}
