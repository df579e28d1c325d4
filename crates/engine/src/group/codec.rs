//! The bytes of the group protocol: [`MemberMetadata`] in JoinGroup,
//! [`MemberAssignment`] in SyncGroup.
//!
//! A small binary format written by hand rather than JSON or a serde format:
//! the coordinator stores every member's assignment in one record of
//! `__consumer_offsets` (1 MB at most), and each assignment carries the whole
//! group view, so a flow of 10,000 partitions must stay compact. Partitions
//! are grouped by topic (the name once, then the partition numbers as varint
//! gaps, one byte each for a dense or strided set), which no general-purpose
//! format does for us, and the decoder must treat the bytes as untrusted:
//! it never allocates from a length it has not checked against the bytes
//! left and never panics.
//!
//! Layout, big-endian, `varint` = unsigned LEB128 (at most 5 bytes, u32),
//! `string` = varint length + UTF-8, `option<T>` = u8 0 | u8 1 + T,
//! `bool` = u8 0 | 1:
//!
//! ```text
//! metadata   = version:u16 worker_id:string rest_url:option<string>
//!              config_fingerprint:u64 units_digest:u64 started_at_ms:i64
//!              owned:unit_set
//! assignment = version:u16 pending_revocations:bool
//!              refusal:(u8 0 | u8 1 reference_worker:string reference_fingerprint:u64)
//!              members:varint (member_id:string worker_id:string rest_url:option<string> refused:bool)*
//!              units:unit_set
//!              owners:varint (worker_id:string units:unit_set)*
//! unit_set   = control:bool topics:varint
//!              (name:string count:varint first:varint (gap_minus_one:varint)*)*
//! ```
//!
//! Partition numbers are written as their `u32` bit pattern in increasing
//! order. Version 1 is the only one; a reader rejects versions it does not
//! know with [`CodecError::UnsupportedVersion`] rather than guess.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes};

use super::{MemberAssignment, MemberInfo, MemberMetadata, Refusal, Unit, PROTOCOL_VERSION};
use crate::forward::TopicPartition;

/// Group protocol bytes that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes end before the field does.
    #[error("group protocol payload ends inside its {field}: the member sent a truncated payload")]
    Truncated { field: &'static str },
    /// The payload was written by a kmirror that speaks another version.
    #[error(
        "group protocol payload has version {found}, this kmirror reads versions 1 to {supported}: \
         run the same kmirror version on every worker of the group"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    /// A field holds a value the format does not allow.
    #[error("group protocol payload has an invalid {field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: &'static str,
    },
    /// Bytes follow the end of the payload.
    #[error("group protocol payload has {count} bytes after its end: it is corrupt")]
    TrailingBytes { count: usize },
}

/// The JoinGroup metadata of a member.
pub fn encode_metadata(metadata: &MemberMetadata) -> Bytes {
    let mut out = Vec::with_capacity(64);
    out.put_u16(PROTOCOL_VERSION);
    put_string(&mut out, &metadata.worker_id);
    put_optional_string(&mut out, metadata.rest_url.as_deref());
    out.put_u64(metadata.config_fingerprint);
    out.put_u64(metadata.units_digest);
    out.put_i64(metadata.started_at_ms);
    put_unit_set(&mut out, &metadata.owned);
    out.into()
}

/// Reads a member's JoinGroup metadata. `owned` comes back sorted and without
/// duplicates.
pub fn decode_metadata(bytes: &[u8]) -> Result<MemberMetadata, CodecError> {
    let mut reader = Reader { bytes };
    reader.version()?;
    let metadata = MemberMetadata {
        worker_id: reader.string("worker id")?,
        rest_url: reader.optional_string("rest url")?,
        config_fingerprint: reader.u64("config fingerprint")?,
        units_digest: reader.u64("units digest")?,
        started_at_ms: reader.u64("start time")? as i64,
        owned: reader.unit_set("owned units")?.into_iter().collect(),
    };
    reader.finish()?;
    Ok(metadata)
}

/// The SyncGroup assignment of a member. Always written as
/// [`PROTOCOL_VERSION`], whatever `assignment.version` says.
pub fn encode_assignment(assignment: &MemberAssignment) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.put_u16(PROTOCOL_VERSION);
    out.put_u8(assignment.pending_revocations.into());
    match &assignment.refused {
        None => out.put_u8(0),
        Some(Refusal::ConfigDiffers {
            reference_worker,
            reference_fingerprint,
        }) => {
            out.put_u8(1);
            put_string(&mut out, reference_worker);
            out.put_u64(*reference_fingerprint);
        }
    }
    put_varint(&mut out, assignment.members.len() as u32);
    for member in &assignment.members {
        put_string(&mut out, &member.member_id);
        put_string(&mut out, &member.worker_id);
        put_optional_string(&mut out, member.rest_url.as_deref());
        out.put_u8(member.refused.into());
    }
    put_unit_set(&mut out, &assignment.units);
    let mut by_owner: BTreeMap<&str, Vec<Unit>> = BTreeMap::new();
    for (unit, owner) in &assignment.owners {
        by_owner.entry(owner).or_default().push(unit.clone());
    }
    put_varint(&mut out, by_owner.len() as u32);
    for (owner, units) in by_owner {
        put_string(&mut out, owner);
        put_unit_set(&mut out, &units);
    }
    out.into()
}

/// Reads a member's SyncGroup assignment. `units` comes back sorted and
/// without duplicates.
pub fn decode_assignment(bytes: &[u8]) -> Result<MemberAssignment, CodecError> {
    let mut reader = Reader { bytes };
    let version = reader.version()?;
    let pending_revocations = reader.bool("pending revocations flag")?;
    let refused = match reader.u8("refusal")? {
        0 => None,
        1 => Some(Refusal::ConfigDiffers {
            reference_worker: reader.string("reference worker")?,
            reference_fingerprint: reader.u64("reference fingerprint")?,
        }),
        _ => {
            return Err(CodecError::Invalid {
                field: "refusal",
                problem: "unknown kind",
            })
        }
    };
    let member_count = reader.varint("member count")?;
    let mut members = Vec::new();
    for _ in 0..member_count {
        members.push(MemberInfo {
            member_id: reader.string("member id")?,
            worker_id: reader.string("member worker id")?,
            rest_url: reader.optional_string("member rest url")?,
            refused: reader.bool("member refused flag")?,
        });
    }
    let units = reader.unit_set("assigned units")?.into_iter().collect();
    let owner_count = reader.varint("owner count")?;
    let mut owners = BTreeMap::new();
    for _ in 0..owner_count {
        let owner = reader.string("owner worker id")?;
        for unit in reader.unit_set("owned units")? {
            if owners.insert(unit, owner.clone()).is_some() {
                return Err(CodecError::Invalid {
                    field: "owners",
                    problem: "a unit has two owners",
                });
            }
        }
    }
    reader.finish()?;
    Ok(MemberAssignment {
        version,
        units,
        members,
        owners,
        pending_revocations,
        refused,
    })
}

/// Unsigned LEB128, as Kafka's own varints: five lines, not worth a crate.
fn put_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u32);
    out.put_slice(text.as_bytes());
}

fn put_optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.put_u8(0),
        Some(text) => {
            out.put_u8(1);
            put_string(out, text);
        }
    }
}

fn put_unit_set(out: &mut Vec<u8>, units: &[Unit]) {
    let mut control = false;
    let mut by_topic: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for unit in units {
        match unit {
            Unit::Control => control = true,
            Unit::Partition(partition) => by_topic
                .entry(&partition.topic)
                .or_default()
                .push(partition.partition as u32),
        }
    }
    out.put_u8(control.into());
    put_varint(out, by_topic.len() as u32);
    for (topic, mut partitions) in by_topic {
        partitions.sort_unstable();
        partitions.dedup();
        put_string(out, topic);
        put_varint(out, partitions.len() as u32);
        let mut previous = None;
        for partition in partitions {
            match previous {
                None => put_varint(out, partition),
                Some(previous) => put_varint(out, partition - previous - 1),
            }
            previous = Some(partition);
        }
    }
}

/// Reads untrusted bytes: every read checks what is left first.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn need(&self, len: usize, field: &'static str) -> Result<(), CodecError> {
        if self.bytes.remaining() < len {
            return Err(CodecError::Truncated { field });
        }
        Ok(())
    }

    fn version(&mut self) -> Result<u16, CodecError> {
        self.need(2, "version")?;
        let version = self.bytes.get_u16();
        if version == 0 || version > PROTOCOL_VERSION {
            return Err(CodecError::UnsupportedVersion {
                found: version,
                supported: PROTOCOL_VERSION,
            });
        }
        Ok(version)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, CodecError> {
        self.need(1, field)?;
        Ok(self.bytes.get_u8())
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, CodecError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CodecError::Invalid {
                field,
                problem: "a flag is neither 0 nor 1",
            }),
        }
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, CodecError> {
        self.need(8, field)?;
        Ok(self.bytes.get_u64())
    }

    fn varint(&mut self, field: &'static str) -> Result<u32, CodecError> {
        let mut value = 0u32;
        for index in 0..5 {
            let byte = self.u8(field)?;
            if index == 4 && byte > 0x0f {
                return Err(CodecError::Invalid {
                    field,
                    problem: "a varint exceeds 32 bits",
                });
            }
            value |= u32::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Invalid {
            field,
            problem: "a varint exceeds 32 bits",
        })
    }

    fn string(&mut self, field: &'static str) -> Result<String, CodecError> {
        let len = self.varint(field)? as usize;
        self.need(len, field)?;
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|_| CodecError::Invalid {
            field,
            problem: "text is not UTF-8",
        })
    }

    fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, CodecError> {
        match self.bool(field)? {
            false => Ok(None),
            true => self.string(field).map(Some),
        }
    }

    fn unit_set(&mut self, field: &'static str) -> Result<BTreeSet<Unit>, CodecError> {
        let mut units = BTreeSet::new();
        if self.bool(field)? {
            units.insert(Unit::Control);
        }
        // No allocation from these counts: each entry consumes at least one
        // byte, so a lying count runs out of bytes and fails.
        let topics = self.varint(field)?;
        for _ in 0..topics {
            let topic: std::sync::Arc<str> = self.string(field)?.into();
            let count = self.varint(field)?;
            if count == 0 {
                return Err(CodecError::Invalid {
                    field,
                    problem: "a topic without partitions",
                });
            }
            let mut partition = self.varint(field)?;
            units.insert(unit(&topic, partition));
            for _ in 1..count {
                partition = partition
                    .checked_add(self.varint(field)?)
                    .and_then(|p| p.checked_add(1))
                    .ok_or(CodecError::Invalid {
                        field,
                        problem: "a partition number exceeds 32 bits",
                    })?;
                units.insert(unit(&topic, partition));
            }
        }
        Ok(units)
    }

    fn finish(self) -> Result<(), CodecError> {
        match self.bytes.len() {
            0 => Ok(()),
            count => Err(CodecError::TrailingBytes { count }),
        }
    }
}

fn unit(topic: &std::sync::Arc<str>, partition: u32) -> Unit {
    Unit::Partition(TopicPartition {
        topic: topic.clone(),
        partition: partition as i32,
    })
}

#[cfg(test)]
mod tests;
