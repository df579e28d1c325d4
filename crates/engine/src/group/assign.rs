//! The leader's assignment of a flow's units to the members of its group:
//! cooperative (a unit changes owner only once nobody owns it), sticky,
//! balanced by count, and deterministic.
//!
//! One call plans one round. A unit some member owns either stays with it or
//! is revoked (given to nobody); units nobody owns are given to the members
//! below their share. When anything was revoked the members rejoin after
//! stopping what they lost, and the next round, in which those units are
//! free, completes the balance. Kafka's own `CooperativeStickyAssignor`
//! cannot be reused: it lives in the Java client and knows nothing of the
//! flow's control unit or of refused members.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

use super::{MemberAssignment, MemberInfo, MemberMetadata, Refusal, Unit, PROTOCOL_VERSION};

/// Plans one round: what each member (by member id) shall run now, and the
/// group view every member shows.
///
/// `members` are the group's members with the metadata of their JoinGroup,
/// `units` the flow's units as the leader last discovered them (the flow's
/// [`Unit::Control`] is always added). Member ids are unique within a group
/// (the coordinator's guarantee); the output does not depend on the order of
/// either slice.
pub fn assign(
    members: &[(String, MemberMetadata)],
    units: &[Unit],
) -> BTreeMap<String, MemberAssignment> {
    if members.is_empty() {
        return BTreeMap::new();
    }
    let all: BTreeSet<Unit> = units
        .iter()
        .cloned()
        .chain(std::iter::once(Unit::Control))
        .collect();
    let reference = reference_config(members);
    let mut eligible: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].1.config_fingerprint == reference.fingerprint)
        .collect();
    // Ties between members are broken in an order that differs from one
    // group to the next (member ids end in a coordinator-made UUID), so that
    // the flows' control units and spare partitions do not all land on the
    // worker whose name sorts first.
    eligible.sort_by_cached_key(|&i| (stable_hash(&members[i].0), members[i].0.clone()));

    let (keepable, blocked) = split_owned(members, &eligible, &all);
    let round = plan_round(&all, keepable, &blocked);
    let assigned: usize = round.iter().map(BTreeSet::len).sum();
    let pending_revocations = assigned < all.len();
    // The group view shows where each unit will be once the revoked ones are
    // stopped: the next round, planned now as the members will report it.
    let settled = if pending_revocations {
        plan_round(&all, round.clone(), &BTreeSet::new())
    } else {
        round.clone()
    };
    let owners: BTreeMap<Unit, String> = settled
        .iter()
        .zip(&eligible)
        .flat_map(|(units, &index)| {
            let worker = &members[index].1.worker_id;
            units.iter().map(move |unit| (unit.clone(), worker.clone()))
        })
        .collect();

    let owners = Arc::new(owners);

    let mut group: Vec<MemberInfo> = members
        .iter()
        .map(|(member_id, metadata)| MemberInfo {
            member_id: member_id.clone(),
            worker_id: metadata.worker_id.clone(),
            rest_url: metadata.rest_url.clone(),
            refused: metadata.config_fingerprint != reference.fingerprint,
        })
        .collect();
    group.sort_by(|a, b| a.member_id.cmp(&b.member_id));

    let mut round_by_member: HashMap<usize, BTreeSet<Unit>> =
        eligible.into_iter().zip(round).collect();
    members
        .iter()
        .enumerate()
        .map(|(index, (member_id, _))| {
            let (units, refused) = match round_by_member.remove(&index) {
                Some(units) => (units.into_iter().collect(), None),
                None => (
                    Vec::new(),
                    Some(Refusal::ConfigDiffers {
                        reference_worker: reference.worker_id.clone(),
                        reference_fingerprint: reference.fingerprint,
                    }),
                ),
            };
            let assignment = MemberAssignment {
                version: PROTOCOL_VERSION,
                units,
                members: group.clone(),
                owners: Arc::clone(&owners),
                pending_revocations,
                refused,
            };
            (member_id.clone(), assignment)
        })
        .collect()
}

/// Sorts the units members run now: `keepable[p]` are those the accepted
/// member at position `p` of `eligible` alone runs, the returned set those
/// run by several members or by a refused one, which must stop everywhere
/// before anyone gets them.
fn split_owned(
    members: &[(String, MemberMetadata)],
    eligible: &[usize],
    all: &BTreeSet<Unit>,
) -> (Vec<BTreeSet<Unit>>, BTreeSet<Unit>) {
    let mut holders: HashMap<&Unit, Vec<usize>> = HashMap::new();
    for (index, (_, metadata)) in members.iter().enumerate() {
        let owned: BTreeSet<&Unit> = metadata.owned.iter().collect();
        for unit in owned {
            // Units that no longer exist are dropped: absent from every
            // assignment, their owner stops them.
            if all.contains(unit) {
                holders.entry(unit).or_default().push(index);
            }
        }
    }
    let position: HashMap<usize, usize> = eligible
        .iter()
        .enumerate()
        .map(|(position, &index)| (index, position))
        .collect();
    let mut keepable = vec![BTreeSet::new(); eligible.len()];
    let mut blocked = BTreeSet::new();
    for (unit, owners) in holders {
        match owners.as_slice() {
            [owner] if position.contains_key(owner) => {
                keepable[position[owner]].insert(unit.clone());
            }
            // Owned by two members (which should not happen) or by a refused
            // one: revoked from all of them and given to nobody this round.
            _ => {
                blocked.insert(unit.clone());
            }
        }
    }
    (keepable, blocked)
}

/// The configuration the group runs and the worker that shows it.
struct Reference {
    fingerprint: u64,
    worker_id: String,
}

/// The fingerprint most members have; on a tie, the one of the oldest member
/// (earliest start, then smallest member id), which has run longest.
fn reference_config(members: &[(String, MemberMetadata)]) -> Reference {
    // fingerprint -> (members, oldest member's (start, member id), its index)
    let mut by_fingerprint: HashMap<u64, (usize, (i64, &str), usize)> = HashMap::new();
    for (index, (member_id, metadata)) in members.iter().enumerate() {
        let age = (metadata.started_at_ms, member_id.as_str());
        let entry = by_fingerprint
            .entry(metadata.config_fingerprint)
            .or_insert((0, age, index));
        entry.0 += 1;
        if age < entry.1 {
            entry.1 = age;
            entry.2 = index;
        }
    }
    let (fingerprint, (_, _, oldest)) = by_fingerprint
        .into_iter()
        .max_by_key(|&(_, (count, age, _))| (count, Reverse(age)))
        .expect("a group with members has a fingerprint");
    Reference {
        fingerprint,
        worker_id: members[oldest].1.worker_id.clone(),
    }
}

/// One round for the accepted members, in tie-break order: `keepable[p]` are
/// the units member `p` alone owns now, `blocked` units owned but not
/// keepable. Returns what each member runs after this round.
fn plan_round(
    all: &BTreeSet<Unit>,
    keepable: Vec<BTreeSet<Unit>>,
    blocked: &BTreeSet<Unit>,
) -> Vec<BTreeSet<Unit>> {
    let members = keepable.len();
    let floor = all.len() / members;
    let extra = all.len() % members;
    // The spare units go to the members that already run the most, so that
    // as few units as possible move.
    let mut by_load: Vec<usize> = (0..members).collect();
    by_load.sort_by_key(|&p| Reverse(keepable[p].len()));
    let mut target = vec![floor; members];
    for &p in by_load.iter().take(extra) {
        target[p] += 1;
    }

    let owned: HashSet<&Unit> = keepable.iter().flatten().chain(blocked).collect();
    let free: Vec<Unit> = all.iter().filter(|u| !owned.contains(u)).cloned().collect();
    let mut assigned: Vec<BTreeSet<Unit>> = keepable
        .iter()
        .zip(&target)
        .map(|(units, &target)| keep_within(units, target))
        .collect();

    // topic -> how many of its partitions each member runs.
    let mut per_topic: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
    for (p, units) in assigned.iter().enumerate() {
        for unit in units {
            if let Unit::Partition(partition) = unit {
                per_topic
                    .entry(partition.topic.clone())
                    .or_insert_with(|| vec![0; members])[p] += 1;
            }
        }
    }
    let mut deficit: Vec<usize> = assigned
        .iter()
        .zip(&target)
        .map(|(units, &target)| target - units.len())
        .collect();
    // Free units never outnumber the missing ones (every unit is kept, revoked
    // or free, and kept ones fill targets that sum to the unit count).
    for unit in free {
        let open = (0..members).filter(|&p| deficit[p] > 0);
        let mut of_topic = match &unit {
            Unit::Control => None,
            Unit::Partition(partition) => Some(
                per_topic
                    .entry(partition.topic.clone())
                    .or_insert_with(|| vec![0; members]),
            ),
        };
        let chosen = match &of_topic {
            // On a member with a spare slot the control unit takes the place
            // of a partition, so its owner never runs the most partitions.
            None => open.min_by_key(|&p| (Reverse(target[p]), Reverse(deficit[p]), p)),
            // The member with the fewest partitions of this topic, so that a
            // topic's partitions spread over the group.
            Some(of_topic) => open.min_by_key(|&p| (of_topic[p], Reverse(deficit[p]), p)),
        };
        let Some(p) = chosen else {
            debug_assert!(false, "free unit {unit} found no member below its share");
            continue;
        };
        if let Some(of_topic) = &mut of_topic {
            of_topic[p] += 1;
        }
        deficit[p] -= 1;
        assigned[p].insert(unit);
    }
    assigned
}

/// The at most `target` of `units` a member keeps: the control unit if it
/// has it (moving it would pause the flow's singletons for nothing), then the
/// partitions it holds, shedding from the topics it holds most of so that
/// the ones it gives up spread topics over the group.
fn keep_within(units: &BTreeSet<Unit>, target: usize) -> BTreeSet<Unit> {
    if units.len() <= target {
        return units.clone();
    }
    if target == 0 {
        return BTreeSet::new();
    }
    let mut by_topic: BTreeMap<&Arc<str>, Vec<&Unit>> = BTreeMap::new();
    for unit in units {
        if let Unit::Partition(partition) = unit {
            by_topic.entry(&partition.topic).or_default().push(unit);
        }
    }
    let mut kept = units.clone();
    for _ in target..units.len() {
        // First of the topics with the most partitions here.
        let Some(largest) = by_topic
            .values_mut()
            .rev()
            .max_by_key(|partitions| partitions.len())
        else {
            break;
        };
        if let Some(unit) = largest.pop() {
            kept.remove(unit);
        }
    }
    kept
}

/// A hash that stays the same across builds and processes (see
/// [`super::units_digest`]).
fn stable_hash(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests;
