use proptest::prelude::*;

use std::sync::Arc;

use super::*;
use crate::group::assign;

fn tp(topic: &str, partition: i32) -> Unit {
    Unit::Partition(TopicPartition::new(topic, partition))
}

fn sample_metadata() -> MemberMetadata {
    MemberMetadata {
        worker_id: "w1".to_owned(),
        rest_url: Some("http://h:1".to_owned()),
        config_fingerprint: 0x0102_0304_0506_0708,
        units_digest: 9,
        owned: vec![Unit::Control, tp("t", 0), tp("t", 1), tp("t", 5)],
        started_at_ms: -1,
    }
}

#[test]
fn metadata_bytes_are_pinned() {
    // The format is read by other kmirror builds: a change here needs a new version.
    let bytes = encode_metadata(&sample_metadata());
    let expected: &[u8] = &[
        0, 1, // version
        2, b'w', b'1', // worker id
        1, 10, b'h', b't', b't', b'p', b':', b'/', b'/', b'h', b':', b'1', // rest url
        1, 2, 3, 4, 5, 6, 7, 8, // config fingerprint
        0, 0, 0, 0, 0, 0, 0, 9, // units digest
        255, 255, 255, 255, 255, 255, 255, 255, // started at
        1,   // control
        1, 1, b't', // one topic: t
        0, 3, 0, 0, 3, // a list of 3 partitions: 0, 1 (gap 0), 5 (gap 3)
    ];
    assert_eq!(&bytes[..], expected);
    assert_eq!(decode_metadata(&bytes).unwrap(), sample_metadata());
}

#[test]
fn newer_versions_are_refused() {
    let mut bytes = encode_metadata(&sample_metadata()).to_vec();
    bytes[1] = 2;
    assert_eq!(
        decode_metadata(&bytes),
        Err(CodecError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let error = decode_metadata(&bytes).unwrap_err().to_string();
    assert!(
        error.contains("version 2") && error.contains("same kmirror version"),
        "{error}"
    );
    let mut bytes =
        encode_assignment(&assign(&[("m".to_owned(), sample_metadata())], &[])["m"]).to_vec();
    bytes[0] = 7;
    assert!(matches!(
        decode_assignment(&bytes),
        Err(CodecError::UnsupportedVersion { found: 0x0701, .. })
    ));
}

#[test]
fn corrupt_fields_are_reported() {
    let mut bytes = encode_metadata(&sample_metadata()).to_vec();
    bytes.push(0);
    assert_eq!(
        decode_metadata(&bytes),
        Err(CodecError::TrailingBytes { count: 1 })
    );
    let mut bytes = encode_metadata(&sample_metadata()).to_vec();
    bytes[5] = 2; // rest url presence flag
    assert!(matches!(
        decode_metadata(&bytes),
        Err(CodecError::Invalid {
            field: "rest url",
            ..
        })
    ));
    let mut bytes = encode_metadata(&sample_metadata()).to_vec();
    bytes[3] = 0xff; // worker id not UTF-8
    assert!(matches!(
        decode_metadata(&bytes),
        Err(CodecError::Invalid {
            field: "worker id",
            ..
        })
    ));
    // A count far beyond the bytes left fails without allocating it.
    let mut bytes = encode_metadata(&MemberMetadata {
        owned: vec![tp("t", 0)],
        ..sample_metadata()
    })
    .to_vec();
    let count_at = bytes.len() - 2;
    bytes.splice(count_at..count_at + 1, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_metadata(&bytes),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn contiguous_partitions_are_written_as_ranges() {
    let units: Vec<Unit> = (0..1000).chain(2000..3000).map(|p| tp("t", p)).collect();
    let metadata = MemberMetadata {
        owned: units.clone(),
        ..sample_metadata()
    };
    let bytes = encode_metadata(&metadata);
    let tail: &[u8] = &[0, 1, 1, b't', 1, 2, 0, 0xe7, 0x07, 0xe8, 0x07, 0xe7, 0x07];
    assert!(
        bytes.ends_with(tail),
        "{:?}",
        &bytes[bytes.len() - tail.len()..]
    );
    assert_eq!(decode_metadata(&bytes).unwrap().owned, units);
}

#[test]
fn a_range_beyond_the_unit_cap_is_refused() {
    let mut bytes = encode_metadata(&MemberMetadata {
        owned: vec![],
        ..sample_metadata()
    })
    .to_vec();
    let topics_at = bytes.len() - 1;
    // One topic "t" with one range 0..=2^31, far more units than any flow.
    bytes.truncate(topics_at);
    bytes.extend_from_slice(&[1, 1, b't', 1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x08]);
    assert!(matches!(
        decode_metadata(&bytes),
        Err(CodecError::Invalid { field: "owned units", problem }) if problem.contains("more units")
    ));
}

#[test]
fn owner_indexes_are_packed_and_checked() {
    let mut assignment = assign(&[("m".to_owned(), sample_metadata())], &[])["m"].clone();
    assignment.owners = Arc::new(
        (0..5)
            .map(|p| (tp("t", p), ["a", "b", "c"][p as usize % 3].to_owned()))
            .collect(),
    );
    Arc::make_mut(&mut assignment.owners).insert(Unit::Control, "c".to_owned());
    let bytes = encode_assignment(&assignment);
    // Owners of control, t-0..t-4: c a b c a b, two bits each: 10 00 01 10 | 00 01.
    assert_eq!(&bytes[bytes.len() - 2..], &[0b1001_0010, 0b0000_0100]);
    assert_eq!(decode_assignment(&bytes).unwrap(), assignment);
    // Index 3 in a table of three.
    let mut corrupt = bytes.to_vec();
    *corrupt.last_mut().unwrap() = 0b0000_0111;
    assert_eq!(
        decode_assignment(&corrupt),
        Err(CodecError::Invalid {
            field: "owner index",
            problem: "no such worker in the owner table"
        })
    );
    // One worker: no index bytes at all.
    Arc::make_mut(&mut assignment.owners)
        .values_mut()
        .for_each(|w| *w = "a".to_owned());
    let bytes = encode_assignment(&assignment);
    assert!(
        bytes.ends_with(&[1, 1, b'a', 1, 1, 1, b't', 1, 1, 0, 4]),
        "{bytes:?}"
    );
    assert_eq!(decode_assignment(&bytes).unwrap(), assignment);
}

/// 10,000 partitions over 100 topics, 3 members: what the coordinator
/// stores for the group must stay far below its 1 MB record limit.
#[test]
fn a_large_flow_stays_compact() {
    let units: Vec<Unit> = (0..100)
        .flat_map(|t| (0..100).map(move |p| tp(&format!("replicated-topic-{t:03}"), p)))
        .collect();
    let metadata = |worker: &str| MemberMetadata {
        worker_id: worker.to_owned(),
        rest_url: Some(format!("http://{worker}.example.internal:8083")),
        config_fingerprint: 1,
        units_digest: crate::group::units_digest(&units),
        owned: Vec::new(),
        started_at_ms: 1_700_000_000_000,
    };
    let members: Vec<(String, MemberMetadata)> = (1..=3)
        .map(|w| {
            let worker = format!("kmirror-worker-{w}");
            (
                format!("{worker}-1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
                metadata(&worker),
            )
        })
        .collect();
    let assignments = assign(&members, &units);
    let mut stored = 0;
    for (member, assignment) in &assignments {
        let bytes = encode_assignment(assignment);
        eprintln!(
            "assignment of {member}: {} units, {} bytes",
            assignment.units.len(),
            bytes.len()
        );
        assert!(bytes.len() < 15_000, "assignment of {} bytes", bytes.len());
        assert_eq!(&decode_assignment(&bytes).unwrap(), assignment);
        // The member rejoins owning what it was given.
        let (_, metadata) = members.iter().find(|(id, _)| id == member).unwrap();
        let rejoined = MemberMetadata {
            owned: assignment.units.clone(),
            ..metadata.clone()
        };
        let metadata_bytes = encode_metadata(&rejoined);
        eprintln!(
            "metadata of {member} owning them: {} bytes",
            metadata_bytes.len()
        );
        assert!(metadata_bytes.len() < 10_000);
        stored += bytes.len() + metadata_bytes.len();
    }
    eprintln!(
        "three members' metadata and assignments, as the coordinator stores them: {stored} bytes"
    );
    assert!(stored < 60_000);
    // Thirty workers: the group view grows with log2 of the group, not with it.
    let thirty: Vec<(String, MemberMetadata)> = (1..=30)
        .map(|w| {
            (
                format!("member-{w:02}"),
                metadata(&format!("kmirror-worker-{w:02}")),
            )
        })
        .collect();
    let stored: usize = assign(&thirty, &units)
        .iter()
        .map(|(member, assignment)| {
            let (_, metadata) = thirty.iter().find(|(id, _)| id == member).unwrap();
            let rejoined = MemberMetadata {
                owned: assignment.units.clone(),
                ..metadata.clone()
            };
            encode_assignment(assignment).len() + encode_metadata(&rejoined).len()
        })
        .sum();
    eprintln!("thirty members' metadata and assignments: {stored} bytes");
    assert!(stored < 1_000_000);
    // A member that runs all 10,000 partitions (a group of one) and rejoins.
    let everything = assign(&members[..1], &units);
    let joined = MemberMetadata {
        owned: everything[&members[0].0].units.clone(),
        ..metadata("kmirror-worker-1")
    };
    let bytes = encode_metadata(&joined);
    eprintln!("metadata owning 10,001 units: {} bytes", bytes.len());
    assert!(bytes.len() < 15_000, "metadata of {} bytes", bytes.len());
    assert_eq!(decode_metadata(&bytes).unwrap(), joined);
    let bytes = encode_assignment(&everything[&members[0].0]);
    eprintln!("assignment of a group of one: {} bytes", bytes.len());
}

fn any_unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        1 => Just(Unit::Control),
        8 => ("[a-z.é]{0,6}", prop_oneof![0i32..40, any::<i32>()])
            .prop_map(|(topic, partition)| tp(&topic, partition)),
    ]
}

fn any_units() -> impl Strategy<Value = Vec<Unit>> {
    prop::collection::btree_set(any_unit(), 0..40).prop_map(|set| set.into_iter().collect())
}

fn any_metadata() -> impl Strategy<Value = MemberMetadata> {
    (
        ".{0,12}",
        proptest::option::of(".{0,20}"),
        any::<u64>(),
        any::<u64>(),
        any_units(),
        any::<i64>(),
    )
        .prop_map(
            |(worker_id, rest_url, config_fingerprint, units_digest, owned, started_at_ms)| {
                MemberMetadata {
                    worker_id,
                    rest_url,
                    config_fingerprint,
                    units_digest,
                    owned,
                    started_at_ms,
                }
            },
        )
}

fn any_assignment() -> impl Strategy<Value = MemberAssignment> {
    let member = (
        ".{0,10}",
        ".{0,10}",
        proptest::option::of(".{0,10}"),
        any::<bool>(),
    )
        .prop_map(|(member_id, worker_id, rest_url, refused)| MemberInfo {
            member_id,
            worker_id,
            rest_url,
            refused,
        });
    let refusal = proptest::option::of((".{0,10}", any::<u64>()).prop_map(
        |(reference_worker, reference_fingerprint)| Refusal::ConfigDiffers {
            reference_worker,
            reference_fingerprint,
        },
    ));
    (
        any_units(),
        prop::collection::vec(member, 0..5),
        prop::collection::btree_map(any_unit(), "[a-c]{1,2}", 0..40),
        any::<bool>(),
        refusal,
    )
        .prop_map(
            |(units, members, owners, pending_revocations, refused)| MemberAssignment {
                version: PROTOCOL_VERSION,
                units,
                members,
                owners: Arc::new(owners),
                pending_revocations,
                refused,
            },
        )
}

proptest! {
    #[test]
    fn metadata_round_trips(metadata in any_metadata()) {
        let bytes = encode_metadata(&metadata);
        prop_assert_eq!(decode_metadata(&bytes).unwrap(), metadata);
        // Every strict prefix is an error, never a wrong value or a panic.
        for len in 0..bytes.len() {
            prop_assert!(decode_metadata(&bytes[..len]).is_err());
        }
    }

    #[test]
    fn assignment_round_trips(assignment in any_assignment()) {
        let bytes = encode_assignment(&assignment);
        prop_assert_eq!(decode_assignment(&bytes).unwrap(), assignment);
        for len in 0..bytes.len() {
            prop_assert!(decode_assignment(&bytes[..len]).is_err());
        }
    }

    /// Arbitrary bytes never panic, whether or not they start with a version
    /// this build reads.
    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..200), versioned in any::<bool>()) {
        if versioned && bytes.len() >= 2 {
            bytes[0] = 0;
            bytes[1] = 1;
        }
        let _ = decode_metadata(&bytes);
        let _ = decode_assignment(&bytes);
    }

    /// Flipping one byte of a valid payload gives an error or another valid
    /// payload, never a panic.
    #[test]
    fn corrupted_payloads_never_panic(assignment in any_assignment(), metadata in any_metadata(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode_assignment(&assignment).to_vec();
        let index = at.index(bytes.len());
        bytes[index] = byte;
        let _ = decode_assignment(&bytes);
        let mut bytes = encode_metadata(&metadata).to_vec();
        let index = at.index(bytes.len());
        bytes[index] = byte;
        let _ = decode_metadata(&bytes);
    }
}
