//! The incremental diff of a fetch session (KIP-227), without a broker.

use super::*;

const MB: i32 = 1 << 20;

fn at(offset: i64) -> Position {
    Position {
        offset,
        max_bytes: MB,
    }
}

fn name(topic: &str) -> Arc<str> {
    Arc::from(topic)
}

/// A plan as (topic, partition, offset) sent and (topic, partition)
/// forgotten.
type Readable = (bool, Vec<(String, i32, i64)>, Vec<(String, i32)>);

fn readable(state: &SessionState, plan: &Plan) -> Readable {
    let topic = |index: u32| state.topic(index).name.to_string();
    (
        plan.full,
        plan.send
            .iter()
            .map(|((t, p), at)| (topic(*t), *p, at.offset))
            .collect(),
        plan.forget.iter().map(|(t, p)| (topic(*t), *p)).collect(),
    )
}

fn sent(list: &[(&str, i32, i64)]) -> Vec<(String, i32, i64)> {
    list.iter()
        .map(|(t, p, o)| (t.to_string(), *p, *o))
        .collect()
}

fn forgot(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

/// Plans the next request and records it as answered by a broker that
/// keeps the session, by name.
fn round(state: &mut SessionState) -> Readable {
    let plan = state.plan();
    let out = readable(state, &plan);
    state.apply(&plan, false, true);
    out
}

/// A session that holds a-0@5, a-1@7, b-0@1.
fn established() -> SessionState {
    let mut state = SessionState::new();
    state.want(&name("a"), 0, at(5));
    state.want(&name("a"), 1, at(7));
    state.want(&name("b"), 0, at(1));
    let (full, send, forget) = round(&mut state);
    assert!(full);
    assert_eq!(send, sent(&[("a", 0, 5), ("a", 1, 7), ("b", 0, 1)]));
    assert!(forget.is_empty());
    state
}

#[test]
fn the_first_request_is_full_and_the_next_names_only_changes() {
    let mut state = established();
    // Nothing changed: an empty incremental request.
    assert_eq!(round(&mut state), (false, vec![], vec![]));

    // a-0 moves, b-0 is no longer wanted, c-3 joins, a-1 is wanted again at
    // the position the broker holds (not sent).
    state.want(&name("a"), 0, at(9));
    state.unwant("b", 0);
    state.want(&name("c"), 3, at(0));
    state.want(&name("a"), 1, at(7));
    assert_eq!(
        round(&mut state),
        (
            false,
            sent(&[("a", 0, 9), ("c", 3, 0)]),
            forgot(&[("b", 0)])
        )
    );
    assert_eq!(state.wanted_count(), 3);
    assert_eq!(round(&mut state), (false, vec![], vec![]));
}

#[test]
fn a_change_undone_before_the_request_sends_nothing() {
    let mut state = established();
    state.want(&name("a"), 0, at(6));
    state.want(&name("a"), 0, at(5));
    state.unwant("a", 1);
    state.want(&name("a"), 1, at(7));
    assert_eq!(round(&mut state), (false, vec![], vec![]));
}

#[test]
fn a_partition_added_and_removed_between_requests_is_never_named() {
    let mut state = established();
    state.want(&name("z"), 0, at(0));
    state.unwant("z", 0);
    assert_eq!(round(&mut state), (false, vec![], vec![]));
    assert_eq!(state.wanted_count(), 3);
}

#[test]
fn a_forgotten_partition_wanted_again_is_sent_again() {
    let mut state = established();
    state.unwant("b", 0);
    assert_eq!(round(&mut state), (false, vec![], forgot(&[("b", 0)])));
    state.want(&name("b"), 0, at(1));
    assert_eq!(round(&mut state), (false, sent(&[("b", 0, 1)]), vec![]));
}

#[test]
fn the_session_s_own_answer_moves_a_partition_on() {
    let mut state = established();
    let a0 = (state.index_of("a").unwrap(), 0);
    state.answered(a0, 5, 8);
    assert_eq!(round(&mut state), (false, sent(&[("a", 0, 8)]), vec![]));
    // An answer for a position no longer wanted (the caller moved the
    // partition meanwhile) does not move it.
    state.want(&name("a"), 0, at(2));
    state.answered(a0, 8, 12);
    assert_eq!(round(&mut state), (false, sent(&[("a", 0, 2)]), vec![]));
    // No records: no move.
    state.answered(a0, 2, 2);
    assert_eq!(round(&mut state), (false, vec![], vec![]));
}

#[test]
fn a_changed_size_is_sent_again() {
    let mut state = established();
    state.set_max_bytes(2 * MB);
    let plan = state.plan();
    assert_eq!(plan.send.len(), 3);
    assert!(plan.send.iter().all(|(_, at)| at.max_bytes == 2 * MB));
    state.apply(&plan, false, true);
    state.set_max_bytes(2 * MB);
    assert_eq!(round(&mut state), (false, vec![], vec![]));
}

#[test]
fn starting_over_sends_every_wanted_partition_and_drops_the_rest() {
    let mut state = established();
    state.unwant("b", 0);
    state.want(&name("a"), 0, at(6));
    state.restart();
    assert_eq!(
        round(&mut state),
        (true, sent(&[("a", 0, 6), ("a", 1, 7)]), vec![])
    );
    // The topic no longer held or wanted is dropped; `a` keeps working.
    assert_eq!(state.index_of("b"), None);
    state.unwant("a", 1);
    assert_eq!(round(&mut state), (false, vec![], forgot(&[("a", 1)])));
}

#[test]
fn no_session_from_the_broker_keeps_requests_full() {
    let mut state = SessionState::new();
    state.want(&name("a"), 0, at(5));
    let plan = state.plan();
    state.apply(&plan, false, false);
    let plan = state.plan();
    assert!(plan.full);
    assert_eq!(plan.send.len(), 1);
}

#[test]
fn want_exactly_replaces_the_wanted_set() {
    let mut state = established();
    state.want_exactly([("a", 0, at(5)), ("c", 0, at(3))]);
    assert_eq!(
        round(&mut state),
        (false, sent(&[("c", 0, 3)]), forgot(&[("a", 1), ("b", 0)]))
    );
    let mut wanted = state.wanted_partitions();
    wanted.sort();
    assert_eq!(wanted, vec![(name("a"), 0), (name("c"), 0)]);
}

fn metadata(ids: &[(&str, u128)]) -> Arc<Metadata> {
    let mut metadata = Metadata::default();
    for (topic, id) in ids {
        let t = crate::cluster::TopicMetadata {
            name: topic.to_string(),
            topic_id: *Uuid::from_u128(*id).as_bytes(),
            is_internal: false,
            error: None,
            partitions: Vec::new(),
        };
        metadata.topics.insert(topic.to_string(), t);
    }
    Arc::new(metadata)
}

/// A session holding a-0, named by id when `ids` has its id.
fn held_by(ids: &Arc<Metadata>, by_id_possible: bool) -> SessionState {
    let mut state = SessionState::new();
    state.want(&name("a"), 0, at(0));
    state.look_up_ids(ids);
    let (by_id, changes) = state.naming(by_id_possible);
    assert!(!changes, "a fresh session has nothing to change");
    let plan = state.plan();
    state.apply(&plan, by_id, true);
    state
}

#[test]
fn a_session_keeps_one_way_of_naming_topics() {
    let with_ids = metadata(&[("a", 1), ("b", 2)]);
    let without = Arc::new(Metadata::default());

    let mut by_name = held_by(&without, true);
    assert_eq!(by_name.named_by_id, Some(false));
    by_name.look_up_ids(&without);
    assert_eq!(by_name.naming(true), (false, false));
    by_name.look_up_ids(&with_ids);
    assert_eq!(
        by_name.naming(true),
        (true, true),
        "ids appeared: start over"
    );

    let mut by_id = held_by(&with_ids, true);
    assert_eq!(by_id.named_by_id, Some(true));
    by_id.want(&name("b"), 0, at(0));
    by_id.look_up_ids(&with_ids);
    assert_eq!(by_id.naming(true), (true, false), "b has an id too");
    assert_eq!(by_id.naming(false), (false, true), "the broker lost v13");
    by_id.want(&name("c"), 0, at(0));
    by_id.look_up_ids(&with_ids);
    assert_eq!(by_id.naming(true), (false, true), "c has no id");
    by_id.unwant("c", 0);
    by_id.look_up_ids(&with_ids);
    assert_eq!(by_id.naming(true), (true, false), "c left again");
    by_id.look_up_ids(&metadata(&[("a", 3), ("b", 2)]));
    assert_eq!(
        by_id.naming(true),
        (true, true),
        "a was deleted and created again"
    );
}

#[test]
fn ids_are_looked_up_once_per_metadata() {
    let ids = metadata(&[("a", 1)]);
    let mut state = held_by(&ids, true);
    assert_eq!(state.index_of_id(&Uuid::from_u128(1)), Some(0));
    // Same `Arc`, no new topic: the table stays as it is, even if the
    // topic's id were different in a copy.
    state.look_up_ids(&ids);
    assert!(Arc::ptr_eq(state.ids_from.as_ref().unwrap(), &ids));
    // A forgotten topic is still answered by the id it was sent with.
    state.unwant("a", 0);
    state.look_up_ids(&metadata(&[]));
    assert_eq!(state.index_of_id(&Uuid::from_u128(1)), Some(0));
    let plan = state.plan();
    assert_eq!(plan.forget, vec![(0, 0)]);
    assert_eq!(state.topic(0).sent_id, Some(Uuid::from_u128(1)));
}

#[test]
fn an_incremental_round_looks_only_at_what_changed() {
    // 10,000 partitions held; one moves: one partition sent, the dirty set
    // empty afterwards.
    let mut state = SessionState::new();
    let topics: Vec<Arc<str>> = (0..1000).map(|t| name(&format!("t{t:04}"))).collect();
    for topic in &topics {
        for p in 0..10 {
            state.want(topic, p, at(0));
        }
    }
    assert_eq!(round(&mut state).1.len(), 10_000);
    assert!(state.dirty.is_empty());
    state.want(&topics[500], 3, at(1));
    assert_eq!(state.dirty.len(), 1);
    assert_eq!(round(&mut state), (false, sent(&[("t0500", 3, 1)]), vec![]));
    assert!(state.dirty.is_empty());
}
