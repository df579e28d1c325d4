//! Produce request bodies as segments.
//!
//! Written by hand rather than through `kafka_protocol::messages::ProduceRequest`
//! because that type wants each partition's records as one contiguous `Bytes`
//! and copies them into the request buffer. Here the rewritten 61-byte batch
//! header and the untouched batch body (a slice of the fetch response) stay
//! separate segments and go to the socket with one vectored write: record
//! payloads are never copied. Only versions 3..=12 (topics by name) are
//! spoken; the tests check the bytes against the crate's encoder.

use bytes::{BufMut, Bytes, BytesMut};

/// One batch for one partition: a new header and the original body.
#[derive(Debug, Clone)]
pub struct OutgoingBatch {
    pub header: Bytes,
    pub body: Bytes,
}

impl OutgoingBatch {
    pub fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Partition data of one topic in a produce request.
#[derive(Debug, Clone)]
pub struct TopicBatches<'a> {
    pub topic: &'a str,
    pub partitions: Vec<(i32, &'a OutgoingBatch)>,
}

/// Encodes a ProduceRequest body (after the request header) at `version`
/// (3..=12) as segments whose concatenation is the wire form.
pub fn encode_produce_body(
    version: i16,
    transactional_id: Option<&str>,
    acks: i16,
    timeout_ms: i32,
    topics: &[TopicBatches<'_>],
) -> Vec<Bytes> {
    assert!((3..=12).contains(&version), "produce v{version} not spoken");
    let flexible = version >= 9;
    let mut segments = Vec::new();
    let mut buf = BytesMut::with_capacity(128);

    put_nullable_string(&mut buf, transactional_id, flexible);
    buf.put_i16(acks);
    buf.put_i32(timeout_ms);
    put_array_len(&mut buf, topics.len(), flexible);
    for topic in topics {
        put_string(&mut buf, topic.topic, flexible);
        put_array_len(&mut buf, topic.partitions.len(), flexible);
        for (partition, batch) in &topic.partitions {
            buf.put_i32(*partition);
            if flexible {
                put_uvarint(&mut buf, batch.len() as u64 + 1);
            } else {
                buf.put_i32(batch.len() as i32);
            }
            segments.push(buf.split().freeze());
            segments.push(batch.header.clone());
            segments.push(batch.body.clone());
            if flexible {
                buf.put_u8(0); // partition tagged fields
            }
        }
        if flexible {
            buf.put_u8(0); // topic tagged fields
        }
    }
    if flexible {
        buf.put_u8(0); // request tagged fields
    }
    segments.push(buf.freeze());
    segments.retain(|s| !s.is_empty());
    segments
}

fn put_uvarint(buf: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn put_array_len(buf: &mut BytesMut, len: usize, flexible: bool) {
    if flexible {
        put_uvarint(buf, len as u64 + 1);
    } else {
        buf.put_i32(len as i32);
    }
}

fn put_string(buf: &mut BytesMut, s: &str, flexible: bool) {
    if flexible {
        put_uvarint(buf, s.len() as u64 + 1);
    } else {
        buf.put_i16(s.len() as i16);
    }
    buf.put_slice(s.as_bytes());
}

fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>, flexible: bool) {
    match s {
        Some(s) => put_string(buf, s, flexible),
        None if flexible => buf.put_u8(0),
        None => buf.put_i16(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use proptest::prelude::*;

    /// Topic name and (partition, whole batch bytes) pairs.
    type PlainTopics = Vec<(String, Vec<(i32, Vec<u8>)>)>;
    /// The same with the batch split into header and body too.
    type SplitTopics = Vec<(String, Vec<(i32, OutgoingBatch, Vec<u8>)>)>;

    fn reference(
        version: i16,
        txn: Option<&str>,
        acks: i16,
        timeout_ms: i32,
        topics: &PlainTopics,
    ) -> Vec<u8> {
        let request = ProduceRequest::default()
            .with_transactional_id(txn.map(|t| StrBytes::from_string(t.to_string()).into()))
            .with_acks(acks)
            .with_timeout_ms(timeout_ms)
            .with_topic_data(
                topics
                    .iter()
                    .map(|(name, parts)| {
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(name.clone())))
                            .with_partition_data(
                                parts
                                    .iter()
                                    .map(|(p, bytes)| {
                                        PartitionProduceData::default()
                                            .with_index(*p)
                                            .with_records(Some(Bytes::from(bytes.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let mut buf = BytesMut::new();
        request.encode(&mut buf, version).unwrap();
        buf.to_vec()
    }

    proptest! {
        #[test]
        fn segments_match_the_crate_encoder(
            version in 3i16..=12,
            txn in proptest::option::of("[a-z]{1,12}"),
            acks in prop_oneof![Just(-1i16), Just(1i16)],
            timeout_ms in 0i32..100_000,
            topics in proptest::collection::vec(
                ("[a-z.\\-_]{1,40}", proptest::collection::vec(
                    (0i32..1000, 61usize..400), 1..4)),
                1..4),
        ) {
            let owned: SplitTopics = topics
                .iter()
                .map(|(name, parts)| {
                    (name.clone(), parts.iter().map(|(p, len)| {
                        let bytes: Vec<u8> = (0..*len).map(|i| (i * 7 + *p as usize) as u8).collect();
                        let batch = OutgoingBatch {
                            header: Bytes::copy_from_slice(&bytes[..61]),
                            body: Bytes::copy_from_slice(&bytes[61..]),
                        };
                        (*p, batch, bytes)
                    }).collect())
                })
                .collect();
            let ours: Vec<TopicBatches<'_>> = owned
                .iter()
                .map(|(name, parts)| TopicBatches {
                    topic: name,
                    partitions: parts.iter().map(|(p, b, _)| (*p, b)).collect(),
                })
                .collect();
            let segments = encode_produce_body(version, txn.as_deref(), acks, timeout_ms, &ours);
            let joined: Vec<u8> = segments.iter().flat_map(|s| s.iter().copied()).collect();
            let plain: PlainTopics = owned
                .iter()
                .map(|(n, parts)| (n.clone(), parts.iter().map(|(p, _, b)| (*p, b.clone())).collect()))
                .collect();
            prop_assert_eq!(joined, reference(version, txn.as_deref(), acks, timeout_ms, &plain));
        }
    }

    #[test]
    fn batch_bodies_are_shared_not_copied() {
        let body = Bytes::from(vec![7u8; 1000]);
        let batch = OutgoingBatch {
            header: Bytes::from(vec![0u8; 61]),
            body: body.clone(),
        };
        let segments = encode_produce_body(
            12,
            None,
            -1,
            30_000,
            &[TopicBatches {
                topic: "t",
                partitions: vec![(0, &batch)],
            }],
        );
        assert!(segments.iter().any(|s| s.as_ptr() == body.as_ptr()));
    }
}
