//! Sharing one flow's work between several kmirror processes (issue 10).
//!
//! The workers of a flow form one classic Kafka group on the flow's target
//! cluster. Every member sends its [`MemberMetadata`] in JoinGroup; the group
//! leader runs [`assign`] over all members' metadata and the flow's current
//! [`Unit`]s and sends each member its [`MemberAssignment`] in SyncGroup. The
//! hand-over is cooperative, as in Kafka's KIP-429: a unit that moves is first
//! revoked from its owner (which finishes its in-flight work and writes its
//! progress), and only given to its new owner in the next round, once nobody
//! owns it.
//!
//! Everything here is pure: [`assign`] decides, [`codec`] turns metadata and
//! assignments into the bytes of the JoinGroup and SyncGroup payloads. The
//! membership loop and the runtime around it live elsewhere.
//!
//! ```
//! use kmirror_engine::model::TopicPartition;
//! use kmirror_engine::group::{assign, MemberMetadata, Unit};
//!
//! let member = |worker: &str| MemberMetadata {
//!     worker_id: worker.to_owned(),
//!     rest_url: None,
//!     config_fingerprint: 7,
//!     units_digest: 0,
//!     owned: Vec::new(),
//!     started_at_ms: 0,
//! };
//! let members = vec![("m-1".to_owned(), member("w-1")), ("m-2".to_owned(), member("w-2"))];
//! let units: Vec<Unit> = (0..3)
//!     .map(|p| Unit::Partition(TopicPartition::new("orders", p)))
//!     .collect();
//! let assignments = assign(&members, &units);
//! // Three partitions and the flow's control unit: two units each.
//! assert!(assignments.values().all(|a| a.units.len() == 2));
//! assert!(assignments.values().all(|a| !a.pending_revocations));
//! ```

mod assign;
pub mod codec;

pub use assign::assign;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hasher;
use std::sync::Arc;

use crate::model::TopicPartition;

/// The version of the group protocol this build speaks: written first in
/// every metadata and assignment, and the newest one it can read.
pub const PROTOCOL_VERSION: u16 = 1;

/// One unit of a flow's work, owned by exactly one member of the flow's
/// group at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// The flow's singletons: heartbeats, checkpoints and group offset sync,
    /// topic discovery, config and ACL sync.
    Control,
    /// One source partition, fetched and forwarded to the target.
    Partition(TopicPartition),
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Control => f.write_str("control"),
            Unit::Partition(partition) => partition.fmt(f),
        }
    }
}

/// What a member tells the leader in its JoinGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// The worker's `group.instance.id`, stable across restarts.
    pub worker_id: String,
    /// Where the worker's REST API listens, for the group view.
    pub rest_url: Option<String>,
    /// A hash of the flow's effective configuration on this worker: members
    /// that differ from the group's reference are refused.
    pub config_fingerprint: u64,
    /// [`units_digest`] of the unit set this member last discovered, 0 when
    /// it discovered none: a change makes the leader rebalance.
    pub units_digest: u64,
    /// The units this member runs right now. A restarted worker reports the
    /// units of its last assignment (kept in its state directory), so that
    /// a rolling restart within the session timeout moves nothing, as
    /// static membership intends; a stale claim is safe, since a unit two
    /// members claim is revoked from both before it runs anywhere.
    pub owned: Vec<Unit>,
    /// When the worker process started (ms since the epoch): the oldest
    /// member breaks ties when choosing the reference configuration.
    pub started_at_ms: i64,
}

/// One member of the group, as every member's assignment lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub worker_id: String,
    /// Where its REST API listens.
    pub rest_url: Option<String>,
    /// It was refused (its configuration differs from the group's) and runs
    /// nothing.
    pub refused: bool,
}

/// What the leader sends one member in its SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAssignment {
    /// The group protocol version the leader wrote ([`PROTOCOL_VERSION`]
    /// from [`assign`], the version read from the bytes after decoding).
    pub version: u16,
    /// The units this member shall run now, in [`Unit`] order.
    pub units: Vec<Unit>,
    /// The whole group, in member id order.
    pub members: Vec<MemberInfo>,
    /// Every unit of the flow and the worker id that owns it, or will own it
    /// once the pending revocations are done: the group view. Shared
    /// between the assignments of one round, which all carry the same view.
    pub owners: Arc<BTreeMap<Unit, String>>,
    /// Some units move in two steps: they are revoked in this round and
    /// assigned in the next one, so every member must rejoin the group once
    /// it has stopped the units it lost.
    pub pending_revocations: bool,
    /// Set when this member may not take part: it must run nothing.
    pub refused: Option<Refusal>,
}

/// Why the leader refused a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The member's configuration of the flow differs from the group's.
    ConfigDiffers {
        /// The worker whose configuration is the group's reference.
        reference_worker: String,
        /// The group's reference [`MemberMetadata::config_fingerprint`].
        reference_fingerprint: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ConfigDiffers {
                reference_worker,
                reference_fingerprint,
            } => write!(
                f,
                "this worker's configuration of the flow differs from the group's \
                 (fingerprint {reference_fingerprint:016x}, as on worker {reference_worker}): \
                 start it with the same properties file as the other workers"
            ),
        }
    }
}

/// A digest of a unit set, independent of order and duplicates, never 0 (0
/// means "no set" in [`MemberMetadata::units_digest`]).
///
/// FNV-1a over explicit bytes rather than `std`'s `DefaultHasher` or the
/// `Hash` trait, whose output may change between Rust releases: workers built
/// by different compilers must agree during a rolling upgrade.
pub fn units_digest(units: &[Unit]) -> u64 {
    let mut sorted: Vec<&Unit> = units.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hasher = fnv::FnvHasher::default();
    for unit in sorted {
        match unit {
            Unit::Control => hasher.write_u8(0),
            Unit::Partition(partition) => {
                hasher.write_u8(1);
                hasher.write(&(partition.topic.len() as u64).to_be_bytes());
                hasher.write(partition.topic.as_bytes());
                hasher.write(&partition.partition.to_be_bytes());
            }
        }
    }
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(topic: &str, partition: i32) -> Unit {
        Unit::Partition(TopicPartition::new(topic, partition))
    }

    #[test]
    fn units_digest_ignores_order_and_duplicates() {
        let a = [partition("t", 0), partition("t", 1), Unit::Control];
        let b = [
            Unit::Control,
            partition("t", 1),
            partition("t", 0),
            partition("t", 1),
        ];
        assert_eq!(units_digest(&a), units_digest(&b));
        assert_ne!(units_digest(&a), units_digest(&a[..2]));
        // The topic name is length-prefixed: ("ab", 1) and ("a", ...) cannot collide by concatenation.
        assert_ne!(
            units_digest(&[partition("ab", 1)]),
            units_digest(&[partition("a", 1)])
        );
        assert_ne!(units_digest(&[]), 0);
    }

    #[test]
    fn units_digest_is_stable_across_builds() {
        // FNV-1a of the bytes 00 01, 6u64, "orders", 3i32 (checked by hand):
        // a change here breaks groups of workers of mixed versions.
        assert_eq!(
            units_digest(&[Unit::Control, partition("orders", 3)]),
            6_684_530_923_535_648_672
        );
    }
}
