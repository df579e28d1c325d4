use std::collections::BTreeMap;

use proptest::prelude::*;

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
        1, 1, b't', 3, 0, 0, 3, // topic t: partitions 0, 1 (gap 0), 5 (gap 3)
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
fn an_assignment_with_two_owners_for_a_unit_is_refused() {
    let mut assignment = assign(&[("m".to_owned(), sample_metadata())], &[tp("t", 0)])["m"].clone();
    assignment.owners = BTreeMap::from([(tp("t", 0), "a".to_owned())]);
    let mut bytes = encode_assignment(&assignment).to_vec();
    // Append a second owner listing the same unit, and bump the owner count.
    let owner_section = [1u8, b'a', 0, 1, 1, b't', 1, 0];
    let at = bytes.len() - owner_section.len() - 1;
    assert_eq!(bytes[at], 1, "owner count");
    bytes[at] = 2;
    bytes.extend_from_slice(&[1, b'b', 0, 1, 1, b't', 1, 0]);
    assert_eq!(
        decode_assignment(&bytes),
        Err(CodecError::Invalid {
            field: "owners",
            problem: "a unit has two owners"
        })
    );
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
    let mut total = 0;
    for (member, assignment) in &assignments {
        let bytes = encode_assignment(assignment);
        eprintln!(
            "assignment of {member}: {} units, {} bytes",
            assignment.units.len(),
            bytes.len()
        );
        assert!(bytes.len() < 30_000, "assignment of {} bytes", bytes.len());
        assert_eq!(&decode_assignment(&bytes).unwrap(), assignment);
        total += bytes.len();
    }
    eprintln!("all three assignments: {total} bytes");
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
                owners,
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
