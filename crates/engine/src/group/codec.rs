//! The bytes of the group protocol: [`MemberMetadata`] in JoinGroup,
//! [`MemberAssignment`] in SyncGroup.
//!
//! A small binary format written by hand rather than JSON or a serde format:
//! the coordinator stores every member's metadata and assignment in one
//! record of `__consumer_offsets` (1 MB at most), and each assignment carries
//! the whole group view, so a flow of 10,000 partitions must stay compact.
//! Partitions are grouped by topic (the name once, then the partition numbers
//! as varint gaps or as ranges, whichever is shorter) and the group view
//! lists the flow's units once with one owner index each, which no
//! general-purpose format does for us. The decoder treats the bytes as
//! untrusted: it never allocates from a length it has not checked against
//! the bytes left, caps the units of each unit set at [`MAX_UNITS`],
//! and never panics.
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
//!              owners:(workers:varint worker_id:string* units:unit_set owner_indexes:bits)
//! unit_set   = control:bool topics:varint (name:string partitions)*
//! partitions = u8 0 count:varint first:varint gap_minus_one:varint*           a list
//!            | u8 1 ranges:varint (skip:varint length_minus_one:varint)*      ranges
//! ```
//!
//! Partition numbers are written as their `u32` bit pattern in increasing
//! order; a range's `skip` counts the numbers between it and the previous
//! range (the first range's `skip` is its start). The owners section has one
//! index into its `worker_id` table per unit of its `unit_set`, in [`Unit`]
//! order, each as wide as the largest index needs (0 bits for one worker, 2
//! for three), packed least significant bit first into
//! `ceil(units * width / 8)` bytes. Version 1 is the only one; a reader rejects versions it
//! does not know with [`CodecError::UnsupportedVersion`] rather than guess.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};

use super::{MemberAssignment, MemberInfo, MemberMetadata, Refusal, Unit, PROTOCOL_VERSION};
use crate::model::TopicPartition;

/// The most units one decoded unit set may describe: ranges make a few bytes
/// stand for many partitions, and no flow comes near a million.
pub const MAX_UNITS: usize = 1 << 20;

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
    let mut reader = Reader::new(bytes);
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
    put_owners(&mut out, &assignment.owners);
    out.into()
}

/// Reads a member's SyncGroup assignment. `units` comes back sorted and
/// without duplicates.
pub fn decode_assignment(bytes: &[u8]) -> Result<MemberAssignment, CodecError> {
    let mut reader = Reader::new(bytes);
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
    let owners = reader.owners()?;
    reader.finish()?;
    Ok(MemberAssignment {
        version,
        units,
        members,
        owners: Arc::new(owners),
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

fn put_unit_set<'a>(out: &mut Vec<u8>, units: impl IntoIterator<Item = &'a Unit>) {
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
        put_partitions(out, &partitions);
    }
}

/// Sorted, distinct partition numbers as a list of gaps (one byte each when
/// a member holds every m-th partition) or as ranges (a few bytes for a
/// whole topic), whichever is shorter.
fn put_partitions(out: &mut Vec<u8>, partitions: &[u32]) {
    let mut list = vec![0];
    put_varint(&mut list, partitions.len() as u32);
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for (index, &partition) in partitions.iter().enumerate() {
        match index {
            0 => put_varint(&mut list, partition),
            _ => put_varint(&mut list, partition - partitions[index - 1] - 1),
        }
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(partition) => *end = partition,
            _ => ranges.push((partition, partition)),
        }
    }
    let mut ranged = vec![1];
    put_varint(&mut ranged, ranges.len() as u32);
    let mut next = 0u32;
    for (start, end) in ranges {
        put_varint(&mut ranged, start - next);
        put_varint(&mut ranged, end - start);
        next = end.wrapping_add(1);
    }
    out.put_slice(if ranged.len() < list.len() {
        &ranged
    } else {
        &list
    });
}

/// The group view: each worker id once, the units once, then each unit's
/// owner as an index into the worker ids, packed in as few bits as the
/// group's size needs.
fn put_owners(out: &mut Vec<u8>, owners: &BTreeMap<Unit, String>) {
    let workers: BTreeSet<&str> = owners.values().map(String::as_str).collect();
    put_varint(out, workers.len() as u32);
    for worker in &workers {
        put_string(out, worker);
    }
    let index: BTreeMap<&str, u64> = workers.iter().zip(0..).map(|(w, i)| (*w, i)).collect();
    put_unit_set(out, owners.keys());
    let width = index_width(workers.len());
    let mut packed = 0u64;
    let mut bits = 0;
    // BTreeMap order is Unit order, the order the reader rebuilds.
    for worker in owners.values() {
        packed |= index[worker.as_str()] << bits;
        bits += width;
        while bits >= 8 {
            out.put_u8(packed as u8);
            packed >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.put_u8(packed as u8);
    }
}

/// Bits needed for the indexes of a table of `workers` entries.
fn index_width(workers: usize) -> u32 {
    usize::BITS - workers.saturating_sub(1).leading_zeros()
}

/// Reads untrusted bytes: every read checks what is left first.
struct Reader<'a> {
    bytes: &'a [u8],
    /// Units read so far in the current unit set, against [`MAX_UNITS`].
    units: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, units: 0 }
    }

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
        self.units = 0;
        if self.bool(field)? {
            units.insert(Unit::Control);
        }
        // No allocation from these counts: each entry consumes at least one
        // byte, so a lying count runs out of bytes and fails.
        let topics = self.varint(field)?;
        for _ in 0..topics {
            let topic: Arc<str> = self.string(field)?.into();
            match self.u8(field)? {
                0 => self.partition_list(&topic, &mut units, field)?,
                1 => self.partition_ranges(&topic, &mut units, field)?,
                _ => {
                    return Err(CodecError::Invalid {
                        field,
                        problem: "unknown partition encoding",
                    })
                }
            }
        }
        Ok(units)
    }

    fn partition_list(
        &mut self,
        topic: &Arc<str>,
        units: &mut BTreeSet<Unit>,
        field: &'static str,
    ) -> Result<(), CodecError> {
        let count = self.varint(field)?;
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let gap = self.varint(field)?;
            let partition = match previous {
                None => Some(gap),
                Some(previous) => previous.checked_add(gap).and_then(|p| p.checked_add(1)),
            }
            .ok_or_else(|| partition_overflow(field))?;
            self.add(units, topic, partition, partition, field)?;
            previous = Some(partition);
        }
        Ok(())
    }

    fn partition_ranges(
        &mut self,
        topic: &Arc<str>,
        units: &mut BTreeSet<Unit>,
        field: &'static str,
    ) -> Result<(), CodecError> {
        let ranges = self.varint(field)?;
        let mut next = 0u64;
        for _ in 0..ranges {
            let start = next + u64::from(self.varint(field)?);
            let end = start + u64::from(self.varint(field)?);
            if end > u64::from(u32::MAX) {
                return Err(partition_overflow(field));
            }
            self.add(units, topic, start as u32, end as u32, field)?;
            next = end + 1;
        }
        Ok(())
    }

    /// Adds partitions `first..=last` of `topic`, within [`MAX_UNITS`].
    fn add(
        &mut self,
        units: &mut BTreeSet<Unit>,
        topic: &Arc<str>,
        first: u32,
        last: u32,
        field: &'static str,
    ) -> Result<(), CodecError> {
        self.units = self
            .units
            .saturating_add((last - first) as usize)
            .saturating_add(1);
        if self.units > MAX_UNITS {
            return Err(CodecError::Invalid {
                field,
                problem: "more units than any flow has (over 1,048,576)",
            });
        }
        for partition in first..=last {
            units.insert(Unit::Partition(TopicPartition {
                topic: topic.clone(),
                partition: partition as i32,
            }));
        }
        Ok(())
    }

    fn owners(&mut self) -> Result<BTreeMap<Unit, String>, CodecError> {
        let count = self.varint("owner worker count")?;
        let mut workers = Vec::new();
        for _ in 0..count {
            workers.push(self.string("owner worker id")?);
        }
        let units = self.unit_set("owned units")?;
        if workers.is_empty() && !units.is_empty() {
            return Err(CodecError::Invalid {
                field: "owners",
                problem: "units without an owner table",
            });
        }
        let width = index_width(workers.len());
        let len = (units.len() * width as usize).div_ceil(8);
        self.need(len, "owner indexes")?;
        let (indexes, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        let mut indexes = indexes.iter();
        let mut packed = 0u64;
        let mut bits = 0;
        let mut owners = BTreeMap::new();
        for unit in units {
            while bits < width {
                // Present: `len` covers every unit's bits.
                let byte = indexes.next().copied().unwrap_or(0);
                packed |= u64::from(byte) << bits;
                bits += 8;
            }
            let index = (packed & ((1u64 << width) - 1)) as usize;
            packed >>= width;
            bits -= width;
            let worker = workers.get(index).ok_or(CodecError::Invalid {
                field: "owner index",
                problem: "no such worker in the owner table",
            })?;
            owners.insert(unit, worker.clone());
        }
        Ok(owners)
    }

    fn finish(self) -> Result<(), CodecError> {
        match self.bytes.len() {
            0 => Ok(()),
            count => Err(CodecError::TrailingBytes { count }),
        }
    }
}

fn partition_overflow(field: &'static str) -> CodecError {
    CodecError::Invalid {
        field,
        problem: "a partition number exceeds 32 bits",
    }
}

#[cfg(test)]
mod tests;
