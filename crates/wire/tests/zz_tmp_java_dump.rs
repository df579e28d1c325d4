mod common;
use bytes::Bytes;
use common::{fix_crc, BatchSpec, RecordSpec, CODECS};
use kmirror_wire::{normalize_log_append_time, split_record_set, upconvert_legacy};

#[test]
fn dump() {
    let out = std::path::Path::new("/tmp/kmirror_java_check");
    std::fs::create_dir_all(out).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        let input = Bytes::from(std::fs::read(dir.join(&name)).unwrap());
        let (batches, _) = upconvert_legacy(&input).unwrap();
        std::fs::write(out.join(format!("up_{stem}.bin")), batches.concat()).unwrap();
    }
    for (i, compression) in CODECS.into_iter().enumerate() {
        let spec = BatchSpec {
            base_offset: 77,
            partition_leader_epoch: 1,
            producer_id: 5,
            producer_epoch: 0,
            transactional: false,
            compression,
            records: (0..200)
                .map(|j| RecordSpec {
                    offset_step: 1,
                    timestamp: 1000 + j,
                    key: Some(format!("k{j}").into_bytes()),
                    value: Some(vec![j as u8; 700]),
                    headers: vec![("h".into(), Some(vec![1]))],
                })
                .collect(),
        };
        let mut bytes = spec.encode().to_vec();
        bytes[22] |= 0x08;
        bytes[35..43].copy_from_slice(&1_650_000_000_999i64.to_be_bytes());
        fix_crc(&mut bytes);
        let batch = split_record_set(&Bytes::from(bytes)).batches.remove(0);
        let output = normalize_log_append_time(&batch).unwrap();
        std::fs::write(out.join(format!("norm_{i}.bin")), &output).unwrap();
    }
}
