use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::assign;
use crate::group::{MemberAssignment, MemberMetadata, Refusal, Unit};
use crate::model::TopicPartition;

type Members = Vec<(String, MemberMetadata)>;
type Assignments = BTreeMap<String, MemberAssignment>;

fn tp(topic: &str, partition: i32) -> Unit {
    Unit::Partition(TopicPartition::new(topic, partition))
}

/// Every partition of topics given as (name, partition count).
fn flow_units(topics: &[(&str, i32)]) -> Vec<Unit> {
    topics
        .iter()
        .flat_map(|&(topic, count)| (0..count).map(move |p| tp(topic, p)))
        .collect()
}

fn worker(name: &str, owned: Vec<Unit>) -> (String, MemberMetadata) {
    (
        format!("{name}-member"),
        MemberMetadata {
            worker_id: name.to_owned(),
            rest_url: Some(format!("http://{name}:8083")),
            config_fingerprint: 1,
            units_digest: 0,
            owned,
            started_at_ms: 1_000,
        },
    )
}

fn fresh_group(names: &[&str]) -> Members {
    names.iter().map(|name| worker(name, Vec::new())).collect()
}

/// The members as they rejoin after running their assignments.
fn rejoin(members: &Members, assignments: &Assignments) -> Members {
    members
        .iter()
        .map(|(id, metadata)| {
            let mut metadata = metadata.clone();
            metadata.owned = assignments[id].units.clone();
            (id.clone(), metadata)
        })
        .collect()
}

/// Rounds until nothing is pending (at most two are ever needed).
fn settle(mut members: Members, units: &[Unit]) -> (Members, Assignments) {
    for _ in 0..2 {
        let assignments = assign(&members, units);
        members = rejoin(&members, &assignments);
        if !assignments.values().any(|a| a.pending_revocations) {
            return (members, assignments);
        }
    }
    panic!("assignment still pending after two rounds");
}

fn counts(assignments: &Assignments) -> Vec<usize> {
    assignments
        .values()
        .filter(|a| a.refused.is_none())
        .map(|a| a.units.len())
        .collect()
}

fn assert_balanced(assignments: &Assignments, unit_count: usize) {
    let counts = counts(assignments);
    let members = counts.len();
    let (floor, ceil) = (unit_count / members, unit_count.div_ceil(members));
    assert!(
        counts.iter().all(|&c| c == floor || c == ceil),
        "unbalanced {counts:?} for {unit_count} units"
    );
    assert_eq!(counts.iter().sum::<usize>(), unit_count, "{counts:?}");
}

/// Which member runs each unit.
fn runner(assignments: &Assignments) -> BTreeMap<Unit, String> {
    let mut runner = BTreeMap::new();
    for (member, assignment) in assignments {
        for unit in &assignment.units {
            let previous = runner.insert(unit.clone(), member.clone());
            assert!(previous.is_none(), "{unit} given twice");
        }
    }
    runner
}

#[test]
fn empty_group_gets_no_assignment() {
    assert!(assign(&[], &flow_units(&[("t", 3)])).is_empty());
}

#[test]
fn fresh_group_runs_every_unit_once_in_one_round() {
    let units = flow_units(&[("orders", 10), ("payments", 7)]);
    let members = fresh_group(&["w1", "w2", "w3"]);
    let assignments = assign(&members, &units);
    assert!(assignments.values().all(|a| !a.pending_revocations));
    let runner = runner(&assignments);
    assert_eq!(
        runner.len(),
        units.len() + 1,
        "every partition and the control unit"
    );
    assert!(runner.contains_key(&Unit::Control));
    assert_balanced(&assignments, units.len() + 1);
    // Every member shows the same group view, matching what runs.
    for assignment in assignments.values() {
        assert_eq!(assignment.version, crate::group::PROTOCOL_VERSION);
        assert_eq!(assignment.members.len(), 3);
        assert_eq!(assignment.owners.len(), units.len() + 1);
        for (unit, member) in &runner {
            let worker = &members
                .iter()
                .find(|(id, _)| id == member)
                .unwrap()
                .1
                .worker_id;
            assert_eq!(&assignment.owners[unit], worker);
        }
    }
}

#[test]
fn control_is_assigned_when_the_flow_has_no_partitions() {
    let assignments = assign(&fresh_group(&["w1", "w2"]), &[]);
    let runner = runner(&assignments);
    assert_eq!(runner.keys().collect::<Vec<_>>(), vec![&Unit::Control]);
}

#[test]
fn an_owned_unit_is_revoked_before_it_moves() {
    let units = flow_units(&[("t", 5)]);
    // w1 runs everything; w2 joins.
    let mut all = units.clone();
    all.push(Unit::Control);
    let members = vec![worker("w1", all.clone()), worker("w2", Vec::new())];
    let first = assign(&members, &units);
    assert!(first.values().all(|a| a.pending_revocations));
    let w1 = &first["w1-member"].units;
    let w2 = &first["w2-member"].units;
    assert!(w2.is_empty(), "w2 got {w2:?} while w1 still runs it");
    assert_eq!(w1.len(), 3, "w1 keeps its share of 6");
    assert!(w1.iter().all(|u| all.contains(u)));
    // The view already shows where the revoked units go.
    let view = &first["w1-member"].owners;
    assert_eq!(view.values().filter(|w| *w == "w2").count(), 3);
    assert_eq!(view.values().filter(|w| *w == "w1").count(), 3);

    let second = assign(&rejoin(&members, &first), &units);
    assert!(second.values().all(|a| !a.pending_revocations));
    assert_eq!(&second["w1-member"].units, w1, "w1 keeps what it kept");
    let revoked: Vec<&Unit> = all.iter().filter(|u| !w1.contains(u)).collect();
    assert_eq!(
        second["w2-member"].units.iter().collect::<Vec<_>>(),
        revoked
    );
    assert_eq!(
        second["w2-member"].owners, *view,
        "the view of round one was right"
    );
}

#[test]
fn a_unit_owned_by_two_members_is_revoked_from_both() {
    let units = flow_units(&[("t", 3)]);
    let members = vec![
        worker("w1", vec![tp("t", 0), tp("t", 1)]),
        worker("w2", vec![tp("t", 0), tp("t", 2)]),
    ];
    let first = assign(&members, &units);
    assert!(first.values().all(|a| a.pending_revocations));
    assert!(first.values().all(|a| !a.units.contains(&tp("t", 0))));
    assert!(first["w1-member"].units.contains(&tp("t", 1)));
    assert!(first["w2-member"].units.contains(&tp("t", 2)));
    let second = assign(&rejoin(&members, &first), &units);
    assert_eq!(runner(&second).len(), 4);
    assert_balanced(&second, 4);
}

#[test]
fn units_that_no_longer_exist_are_dropped() {
    let (members, _) = settle(
        fresh_group(&["w1", "w2"]),
        &flow_units(&[("t", 4), ("gone", 4)]),
    );
    let units = flow_units(&[("t", 4)]);
    let assignments = assign(&members, &units);
    // Nothing was running the remaining units but their owners: no revocation.
    assert!(assignments.values().all(|a| !a.pending_revocations));
    let runner = runner(&assignments);
    assert!(runner
        .keys()
        .all(|u| !matches!(u, Unit::Partition(p) if &*p.topic == "gone")));
    assert_eq!(runner.len(), 5);
    assert_balanced(&assignments, 5);
}

#[test]
fn when_a_member_leaves_only_its_units_move() {
    let units = flow_units(&[("a", 20), ("b", 13)]);
    let (members, before) = settle(fresh_group(&["w1", "w2", "w3", "w4"]), &units);
    let leaver = "w3-member";
    let remaining: Members = members.into_iter().filter(|(id, _)| id != leaver).collect();
    let after = assign(&remaining, &units);
    assert!(
        after.values().all(|a| !a.pending_revocations),
        "a leave needs one round"
    );
    for (id, assignment) in &after {
        let kept: BTreeSet<&Unit> = before[id].units.iter().collect();
        let now: BTreeSet<&Unit> = assignment.units.iter().collect();
        assert!(now.is_superset(&kept), "{id} lost units");
        assert!(now
            .difference(&kept)
            .all(|u| before[leaver].units.contains(u)));
    }
    assert_balanced(&after, units.len() + 1);
}

#[test]
fn a_joining_member_takes_its_share_from_the_most_loaded_only() {
    let units = flow_units(&[("a", 10)]);
    // 11 units over 3 members: 4, 4, 3.
    let (mut members, before) = settle(fresh_group(&["w1", "w2", "w3"]), &units);
    let loaded: Vec<&String> = before
        .iter()
        .filter(|(_, a)| a.units.len() == 4)
        .map(|(id, _)| id)
        .collect();
    let light = before
        .iter()
        .find(|(_, a)| a.units.len() == 3)
        .unwrap()
        .0
        .clone();
    members.push(worker("w4", Vec::new()));
    let (_, after) = settle(members, &units);
    // 11 over 4: 3, 3, 3, 2 — the newcomer takes one from each loaded member.
    assert_eq!(after["w4-member"].units.len(), 2);
    assert_eq!(
        after[&light].units, before[&light].units,
        "the light member is untouched"
    );
    for id in loaded {
        let kept: BTreeSet<&Unit> = before[id].units.iter().collect();
        let now: BTreeSet<&Unit> = after[id].units.iter().collect();
        assert_eq!(now.len(), 3);
        assert!(kept.is_superset(&now), "{id} got new units");
    }
    assert_balanced(&after, 11);
}

#[test]
fn a_restarted_worker_reporting_its_last_assignment_keeps_it() {
    let units = flow_units(&[("a", 12), ("b", 5)]);
    let (mut members, before) = settle(fresh_group(&["w1", "w2", "w3"]), &units);
    // w2 restarts: static membership gives it a new member id, and it reports
    // the units of its last assignment from its state directory.
    members[1].0 = "w2-member-after-restart".to_owned();
    let after = assign(&members, &units);
    assert!(after.values().all(|a| !a.pending_revocations));
    assert_eq!(
        after["w2-member-after-restart"].units,
        before["w2-member"].units
    );
    assert_eq!(after["w1-member"].units, before["w1-member"].units);
    assert_eq!(after["w3-member"].units, before["w3-member"].units);
}

#[test]
fn a_topic_spreads_over_the_group() {
    let units = flow_units(&[("big", 30), ("small", 3)]);
    let (_, assignments) = settle(fresh_group(&["w1", "w2", "w3"]), &units);
    for (id, assignment) in &assignments {
        for (topic, expected) in [("big", 10), ("small", 1)] {
            let count = assignment
                .units
                .iter()
                .filter(|u| matches!(u, Unit::Partition(p) if &*p.topic == topic))
                .count();
            assert_eq!(count, expected, "{id} runs {count} partitions of {topic}");
        }
    }
}

#[test]
fn the_control_unit_does_not_join_the_most_partitions() {
    // 7 partitions + control over 3 members: 3, 3, 2 units.
    for names in [&["w1", "w2", "w3"][..], &["x", "y", "z"], &["b", "a", "c"]] {
        let (_, assignments) = settle(fresh_group(names), &flow_units(&[("t", 7)]));
        let partitions =
            |a: &MemberAssignment| a.units.iter().filter(|u| **u != Unit::Control).count();
        let most = assignments.values().map(partitions).max().unwrap();
        let control = assignments
            .values()
            .find(|a| a.units.contains(&Unit::Control))
            .unwrap();
        assert!(
            partitions(control) < most,
            "control sits with {} of {most} partitions",
            partitions(control)
        );
    }
}

#[test]
fn the_control_unit_stays_with_its_owner() {
    let units = flow_units(&[("t", 8)]);
    let (mut members, before) = settle(fresh_group(&["w1", "w2"]), &units);
    let owner = runner(&before)[&Unit::Control].clone();
    members.push(worker("w3", Vec::new()));
    let (_, after) = settle(members, &units);
    assert_eq!(runner(&after)[&Unit::Control], owner);
}

#[test]
fn the_output_does_not_depend_on_input_order() {
    let units = flow_units(&[("a", 9), ("b", 4)]);
    let mut members = vec![
        worker(
            "w1",
            vec![tp("a", 0), tp("a", 1), tp("b", 3), Unit::Control],
        ),
        worker("w2", vec![tp("a", 2), tp("gone", 0)]),
        worker("w3", Vec::new()),
    ];
    let expected = assign(&members, &units);
    members.reverse();
    let mut shuffled_units = units.clone();
    shuffled_units.reverse();
    shuffled_units.push(tp("a", 0));
    assert_eq!(assign(&members, &shuffled_units), expected);
}

#[test]
fn members_with_another_config_are_refused() {
    let units = flow_units(&[("t", 4)]);
    let mut members = fresh_group(&["w1", "w2", "w3"]);
    members[1].1.config_fingerprint = 2;
    members[1].1.started_at_ms = 0; // the oldest, but alone with its config
    members[1].1.owned = vec![tp("t", 0)];
    let first = assign(&members, &units);
    let refused = &first["w2-member"];
    assert!(refused.units.is_empty());
    assert!(matches!(
        &refused.refused,
        Some(Refusal::ConfigDiffers { reference_worker, reference_fingerprint: 1 })
            if reference_worker == "w1"
    ));
    assert!(refused
        .members
        .iter()
        .any(|m| m.worker_id == "w2" && m.refused));
    // What the refused member ran moves only once it has stopped.
    assert!(first.values().all(|a| a.pending_revocations));
    assert!(first.values().all(|a| !a.units.contains(&tp("t", 0))));
    let second = assign(&rejoin(&members, &first), &units);
    assert_eq!(runner(&second).len(), 5);
    assert!(second["w2-member"].refused.is_some());
    assert_balanced(&second, 5);
}

#[test]
fn a_config_tie_goes_to_the_oldest_member() {
    let units = flow_units(&[("t", 2)]);
    let mut members = fresh_group(&["w1", "w2"]);
    members[0].1.config_fingerprint = 5;
    members[1].1.config_fingerprint = 6;
    members[1].1.started_at_ms = 10;
    let assignments = assign(&members, &units);
    assert!(assignments["w1-member"].refused.is_some());
    assert_eq!(assignments["w2-member"].units.len(), 3);
    // Same start: the smaller member id wins.
    members[1].1.started_at_ms = members[0].1.started_at_ms;
    let assignments = assign(&members, &units);
    assert!(assignments["w1-member"].refused.is_none());
    assert!(matches!(
        &assignments["w2-member"].refused,
        Some(Refusal::ConfigDiffers { reference_worker, reference_fingerprint: 5 }) if reference_worker == "w1"
    ));
}

/// A random group state: `topics` partition counts, `members` workers whose
/// owned sets come from `choices` (one per unit: an owner, nobody, or two
/// owners), some owning units that no longer exist, some with another config.
#[derive(Debug, Clone)]
struct Scenario {
    topics: Vec<i32>,
    members: usize,
    choices: Vec<usize>,
    other_config: Vec<bool>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(1i32..25, 0..5),
        1usize..7,
        prop::collection::vec(0usize..64, 120),
        prop::collection::vec(prop::bool::weighted(0.15), 7),
    )
        .prop_map(|(topics, members, choices, other_config)| Scenario {
            topics,
            members,
            choices,
            other_config,
        })
}

impl Scenario {
    fn units(&self) -> Vec<Unit> {
        self.topics
            .iter()
            .enumerate()
            .flat_map(|(t, &count)| (0..count).map(move |p| tp(&format!("topic-{t}"), p)))
            .collect()
    }

    fn members(&self, with_configs: bool) -> Members {
        let mut members: Members = (0..self.members)
            .map(|m| worker(&format!("w{m}"), Vec::new()))
            .collect();
        let mut owned_units = self.units();
        owned_units.push(Unit::Control);
        owned_units.extend((0..3).map(|p| tp("gone", p)));
        for (unit, &choice) in owned_units.iter().zip(self.choices.iter().cycle()) {
            let owner = choice % (self.members + 2);
            if owner < self.members {
                members[owner].1.owned.push(unit.clone());
            } else if owner == self.members + 1 {
                members[choice % self.members].1.owned.push(unit.clone());
                members[(choice + 1) % self.members]
                    .1
                    .owned
                    .push(unit.clone());
            }
        }
        if with_configs {
            for (member, &other) in members.iter_mut().zip(&self.other_config) {
                if other {
                    member.1.config_fingerprint = 2;
                }
            }
        }
        members
    }
}

fn check_cooperative(
    members: &Members,
    units: &[Unit],
    assignments: &Assignments,
) -> Result<(), TestCaseError> {
    let all: BTreeSet<&Unit> = units.iter().chain([&Unit::Control]).collect();
    let mut seen = BTreeSet::new();
    for (id, assignment) in assignments {
        for unit in &assignment.units {
            prop_assert!(
                all.contains(unit),
                "{} given a unit that does not exist: {}",
                id,
                unit
            );
            prop_assert!(seen.insert(unit.clone()), "{} given twice", unit);
            for (other, metadata) in members {
                prop_assert!(
                    other == id || !metadata.owned.contains(unit),
                    "{} given to {} while {} owns it",
                    unit,
                    id,
                    other
                );
            }
        }
    }
    let pending = seen.len() < all.len();
    prop_assert!(assignments
        .values()
        .all(|a| a.pending_revocations == pending));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Rule 1 in any state, with refused members too.
    #[test]
    fn a_unit_never_moves_while_owned(scenario in scenario()) {
        let members = scenario.members(true);
        let units = scenario.units();
        let assignments = assign(&members, &units);
        prop_assert_eq!(assignments.len(), members.len());
        check_cooperative(&members, &units, &assignments)?;
    }

    /// Two rounds always reach a complete, balanced assignment, the one the
    /// first round's group view announced; the second round only adds units.
    #[test]
    fn two_rounds_settle_balanced(scenario in scenario(), with_configs in any::<bool>()) {
        let members = scenario.members(with_configs);
        let units = scenario.units();
        let first = assign(&members, &units);
        let rejoined = rejoin(&members, &first);
        let second = assign(&rejoined, &units);
        check_cooperative(&rejoined, &units, &second)?;
        prop_assert!(second.values().all(|a| !a.pending_revocations));
        let runner = runner(&second);
        prop_assert_eq!(runner.len(), units.len() + 1);
        let counts = counts(&second);
        let (floor, ceil) = ((units.len() + 1) / counts.len(), (units.len() + 1).div_ceil(counts.len()));
        prop_assert!(counts.iter().all(|&c| c == floor || c == ceil), "{:?}", counts);
        for (id, assignment) in &second {
            prop_assert!(first[id].units.iter().all(|u| assignment.units.contains(u)));
            prop_assert_eq!(&assignment.owners, &first[id].owners);
        }
    }

    /// From a settled group, a leave needs one round and moves only the
    /// leaver's units.
    #[test]
    fn a_leave_moves_only_the_leavers_units(scenario in scenario(), leaver in any::<prop::sample::Index>()) {
        prop_assume!(scenario.members >= 2);
        let units = scenario.units();
        let (members, before) = settle(scenario.members(false), &units);
        let leaver = members[leaver.index(members.len())].0.clone();
        let remaining: Members = members.into_iter().filter(|(id, _)| *id != leaver).collect();
        let after = assign(&remaining, &units);
        prop_assert!(after.values().all(|a| !a.pending_revocations));
        for (id, assignment) in &after {
            let moved: Vec<&Unit> = assignment.units.iter().filter(|u| !before[id].units.contains(u)).collect();
            prop_assert!(before[id].units.iter().all(|u| assignment.units.contains(u)), "{} lost units", id);
            prop_assert!(moved.iter().all(|u| before[&leaver].units.contains(u)), "{} got {:?}", id, moved);
        }
        prop_assert_eq!(runner(&after).len(), units.len() + 1);
    }

    /// From a settled group, a join moves at most ceil(n/m) units, all to the
    /// newcomer.
    #[test]
    fn a_join_moves_at_most_a_share(scenario in scenario()) {
        let units = scenario.units();
        let (mut members, before) = settle(scenario.members(false), &units);
        members.push(worker("newcomer", Vec::new()));
        let (_, after) = settle(members.clone(), &units);
        let before = runner(&before);
        let after_runner = runner(&after);
        let moved: Vec<&Unit> = before.keys().filter(|u| before[*u] != after_runner[*u]).collect();
        let share = (units.len() + 1).div_ceil(members.len());
        prop_assert!(moved.len() <= share, "{} moved, share {}", moved.len(), share);
        prop_assert!(moved.iter().all(|u| after_runner[*u] == "newcomer-member"));
    }
}
