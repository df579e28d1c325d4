//! The classic group membership calls against a real Kafka broker (the test
//! bed's shared single-node cluster): members with kmirror's own protocol
//! type join, sync, heartbeat, leave, expire, restart under a static
//! instance id, and keep heartbeating while a join is held.
//!
//! Every test drives its members step by step with the raw calls, as the
//! engine's state machine will, in its own group.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use futures::FutureExt;
use kafka_protocol::ResponseError;
use kmirror_client::group::{
    group_signal, GroupClient, GroupSignal, JoinParams, Joined, JoinedMember,
};
use kmirror_client::{ClientConfig, ClientError, KafkaClient};
use kmirror_testbed::{random_topic_name, shared_cluster, KafkaCluster};

/// Bound on any single call or poll loop.
const WAIT: Duration = Duration::from_secs(60);
/// Bound on starting the test cluster.
const TESTBED_WAIT: Duration = Duration::from_secs(300);
const PROTOCOL_TYPE: &str = "kmirror";
const PROTOCOL: &str = "kmirror-v1";
/// Long enough that a busy test machine never expires a member by accident.
const SESSION: Duration = Duration::from_secs(30);
/// The broker's `group.min.session.timeout.ms` (Kafka's default; the test
/// bed keeps it), for the member that is meant to expire.
const MIN_SESSION: Duration = Duration::from_secs(6);
/// How long a join may be held for members that have not rejoined: well
/// above what any step takes, well below [`WAIT`].
const REBALANCE: Duration = Duration::from_secs(30);
/// "Promptly": a heartbeat answer that took longer was queued somewhere.
const PROMPT: Duration = Duration::from_secs(3);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {WAIT:?}"))
}

async fn cluster() -> &'static KafkaCluster {
    let task = tokio::task::spawn_blocking(|| shared_cluster("kafka-a"));
    tokio::time::timeout(TESTBED_WAIT, task)
        .await
        .unwrap_or_else(|_| panic!("test bed: start took longer than {TESTBED_WAIT:?}"))
        .unwrap_or_else(|e| panic!("test bed: start panicked: {e}"))
}

/// A client of the test cluster, as one kmirror process has: a test uses
/// another one for a process that restarts.
async fn new_client() -> KafkaClient {
    let bootstrap = cluster().await.bootstrap();
    bounded(
        "connect",
        KafkaClient::connect(ClientConfig::new(&bootstrap)),
    )
    .await
    .expect("connect to the test cluster")
}

/// What the leader assigns a member: derived from its metadata, so every
/// member can check it got its own bytes.
fn assignment_for(metadata: &[u8]) -> Bytes {
    let mut bytes = b"assigned:".to_vec();
    bytes.extend_from_slice(metadata);
    Bytes::from(bytes)
}

fn assign(members: &[JoinedMember]) -> Vec<(String, Bytes)> {
    members
        .iter()
        .map(|m| (m.member_id.clone(), assignment_for(&m.metadata)))
        .collect()
}

/// One group member driven by hand: its place in the group as the
/// coordinator last told it.
struct Member {
    group: GroupClient,
    /// Its metadata, and so (through [`assignment_for`]) its assignment.
    name: String,
    instance_id: Option<String>,
    session: Duration,
    protocols: Vec<(String, Bytes)>,
    member_id: String,
    generation: i32,
    assignment: Bytes,
}

impl Member {
    fn new(client: &KafkaClient, group: &str, name: &str) -> Self {
        Member {
            group: client.group(group),
            name: name.to_string(),
            instance_id: None,
            session: SESSION,
            protocols: vec![(PROTOCOL.to_string(), Bytes::from(name.to_string()))],
            member_id: String::new(),
            generation: -1,
            assignment: Bytes::new(),
        }
    }

    fn with_instance_id(mut self, instance_id: &str) -> Self {
        self.instance_id = Some(instance_id.to_string());
        self
    }

    fn with_session(mut self, session: Duration) -> Self {
        self.session = session;
        self
    }

    fn params(&self) -> JoinParams<'_> {
        JoinParams {
            member_id: &self.member_id,
            instance_id: self.instance_id.as_deref(),
            protocol_type: PROTOCOL_TYPE,
            protocols: &self.protocols,
            session_timeout: self.session,
            rebalance_timeout: REBALANCE,
            reason: Some("kmirror group test"),
        }
    }

    async fn join(&mut self) -> Joined {
        let joined = bounded("join", self.group.join(&self.params()))
            .await
            .unwrap_or_else(|e| panic!("member {} join: {e}", self.name));
        assert_eq!(joined.protocol_name.as_deref(), Some(PROTOCOL));
        self.member_id.clone_from(&joined.member_id);
        self.generation = joined.generation;
        joined
    }

    /// Syncs as the join said: the leader assigns everybody (unless told
    /// to skip), the others send nothing. Checks it got its own bytes.
    async fn sync(&mut self, joined: &Joined) -> Bytes {
        let assignments = if joined.is_leader() && !joined.skip_assignment {
            assign(&joined.members)
        } else {
            Vec::new()
        };
        let assignment = bounded(
            "sync",
            self.group.sync(
                self.generation,
                &self.member_id,
                self.instance_id.as_deref(),
                PROTOCOL_TYPE,
                PROTOCOL,
                assignments,
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("member {} sync: {e}", self.name));
        assert_eq!(
            assignment,
            assignment_for(self.name.as_bytes()),
            "member {} got another member's assignment",
            self.name
        );
        self.assignment = assignment.clone();
        assignment
    }

    async fn heartbeat(&self) -> Result<(), ClientError> {
        bounded(
            "heartbeat",
            self.group.heartbeat(
                self.generation,
                &self.member_id,
                self.instance_id.as_deref(),
            ),
        )
        .await
    }

    async fn leave(&self) -> Result<(), ClientError> {
        bounded(
            "leave",
            self.group.leave(
                &self.member_id,
                self.instance_id.as_deref(),
                Some("kmirror group test"),
            ),
        )
        .await
    }

    /// Heartbeats (which keeps the member alive) until the coordinator
    /// answers with `expected`; any other error fails the test.
    async fn heartbeat_until(&self, expected: GroupSignal) -> ClientError {
        bounded(&format!("member {} sees {expected:?}", self.name), async {
            loop {
                match self.heartbeat().await {
                    Ok(()) => {}
                    Err(e) if group_signal(&e) == expected => return e,
                    Err(e) => panic!(
                        "member {}: expected {expected:?}, got {:?}: {e}",
                        self.name,
                        group_signal(&e)
                    ),
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await
    }

    /// Joins in a task of its own, for a member whose join is held until
    /// the others rejoin.
    fn spawn_join(mut self) -> tokio::task::JoinHandle<(Member, Joined)> {
        tokio::spawn(async move {
            let joined = self.join().await;
            (self, joined)
        })
    }
}

/// The members that were in the group see the rebalance a change started
/// and join again, all at once.
async fn rejoin_after_rebalance(members: &mut [Member]) -> Vec<Joined> {
    for member in members.iter() {
        member.heartbeat_until(GroupSignal::Rebalance).await;
    }
    join_all(members.iter_mut().map(Member::join)).await
}

/// Every member syncs its join's answer at once (followers wait for the
/// leader's sync); checks the joins agree on one generation and leader.
async fn sync_all(members: &mut [Member], joined: &[Joined]) {
    let generation = joined[0].generation;
    let leader = &joined[0].leader;
    for j in joined {
        assert_eq!(j.generation, generation, "{joined:?}");
        assert_eq!(&j.leader, leader, "{joined:?}");
    }
    let leaders: Vec<&Joined> = joined.iter().filter(|j| j.is_leader()).collect();
    assert_eq!(leaders.len(), 1, "one leader: {joined:?}");
    for j in joined.iter().filter(|j| !j.is_leader()) {
        assert!(j.members.is_empty(), "only the leader sees members: {j:?}");
    }
    join_all(members.iter_mut().zip(joined).map(|(m, j)| m.sync(j))).await;
}

/// The leader's view of the members: sorted metadata (the member names).
fn member_names(joined: &[Joined]) -> Vec<String> {
    let leader = joined.iter().find(|j| j.is_leader()).expect("a leader");
    let mut names: Vec<String> = leader
        .members
        .iter()
        .map(|m| String::from_utf8(m.metadata.to_vec()).expect("utf-8 metadata"))
        .collect();
    names.sort();
    names
}

/// A stable group of the given members, added one by one (each addition a
/// rebalance that the members already in see through their heartbeats).
async fn form_group(mut newcomers: Vec<Member>) -> Vec<Member> {
    let mut members: Vec<Member> = Vec::new();
    newcomers.reverse();
    while let Some(newcomer) = newcomers.pop() {
        let (newcomer, joined) = if members.is_empty() {
            let mut first = newcomer;
            let joined = first.join().await;
            (first, vec![joined])
        } else {
            let pending = newcomer.spawn_join();
            let joined = rejoin_after_rebalance(&mut members).await;
            let (newcomer, newcomer_joined) = bounded("newcomer's join", pending)
                .await
                .expect("join task");
            let mut all = joined;
            all.push(newcomer_joined);
            (newcomer, all)
        };
        members.push(newcomer);
        assert_eq!(member_names(&joined).len(), members.len(), "{joined:?}");
        sync_all(&mut members, &joined).await;
    }
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_sync_their_own_assignments_and_heartbeat() {
    let client = new_client().await;
    let group = random_topic_name("kmirror-group-two");

    // The first member makes a generation of its own at once (the test bed
    // sets group.initial.rebalance.delay.ms=0, like a lone kmirror needs).
    let mut a = Member::new(&client, &group, "a");
    let first = a.join().await;
    assert!(first.is_leader(), "{first:?}");
    assert!(!first.skip_assignment);
    assert_eq!(member_names(std::slice::from_ref(&first)), ["a"]);
    a.sync(&first).await;
    a.heartbeat().await.expect("a lone member's heartbeat");

    // The second joins: the first sees the rebalance and rejoins.
    let mut b = Member::new(&client, &group, "b");
    let (joined_b, joined_a) = tokio::join!(b.join(), async {
        a.heartbeat_until(GroupSignal::Rebalance).await;
        a.join().await
    });
    assert!(joined_a.generation > first.generation, "{joined_a:?}");
    assert_ne!(joined_a.member_id, joined_b.member_id);
    assert_eq!(joined_a.member_id, first.member_id, "a kept its member id");
    let joined = [joined_a, joined_b];
    assert_eq!(member_names(&joined), ["a", "b"]);
    let leader = joined.iter().find(|j| j.is_leader()).unwrap();
    let leader_metadata: Vec<&[u8]> = leader.members.iter().map(|m| &m.metadata[..]).collect();
    assert!(leader_metadata.contains(&&b"a"[..]) && leader_metadata.contains(&&b"b"[..]));

    let mut members = [a, b];
    sync_all(&mut members, &joined).await;
    assert_eq!(members[0].assignment, Bytes::from_static(b"assigned:a"));
    assert_eq!(members[1].assignment, Bytes::from_static(b"assigned:b"));
    for _ in 0..3 {
        for member in &members {
            member
                .heartbeat()
                .await
                .expect("heartbeat in a stable group");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_member_makes_everyone_rejoin_and_fences_the_old_generation() {
    let client = new_client().await;
    let group = random_topic_name("kmirror-group-third");
    let mut members = form_group(vec![
        Member::new(&client, &group, "a"),
        Member::new(&client, &group, "b"),
    ])
    .await;
    let old_generation = members[0].generation;

    let pending = Member::new(&client, &group, "c").spawn_join();
    let mut joined = rejoin_after_rebalance(&mut members).await;
    let (c, joined_c) = bounded("c's join", pending).await.expect("join task");
    members.push(c);
    joined.push(joined_c);
    assert!(joined[0].generation > old_generation, "{joined:?}");
    assert_eq!(member_names(&joined), ["a", "b", "c"]);
    sync_all(&mut members, &joined).await;

    // The generation before is over: its heartbeat says rejoin.
    let a = &members[0];
    let stale = bounded(
        "stale heartbeat",
        a.group.heartbeat(old_generation, &a.member_id, None),
    )
    .await
    .expect_err("heartbeat of the old generation");
    assert_eq!(group_signal(&stale), GroupSignal::Rejoin, "{stale}");
    assert_eq!(stale.broker_error(), Some(ResponseError::IllegalGeneration));
    assert!(
        stale.to_string().contains(&group),
        "names the group: {stale}"
    );
    for member in &members {
        member
            .heartbeat()
            .await
            .expect("heartbeat of the new generation");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_leaves_is_gone_from_the_next_generation() {
    let client = new_client().await;
    let group = random_topic_name("kmirror-group-leave");
    let mut members = form_group(vec![
        Member::new(&client, &group, "a"),
        Member::new(&client, &group, "b"),
        Member::new(&client, &group, "c"),
    ])
    .await;
    let before = members[0].generation;

    let c = members.pop().unwrap();
    c.leave().await.expect("leave");
    let joined = rejoin_after_rebalance(&mut members).await;
    assert!(joined[0].generation > before, "{joined:?}");
    assert_eq!(member_names(&joined), ["a", "b"]);
    sync_all(&mut members, &joined).await;

    // The coordinator no longer knows c: its own answer in LeaveGroup says
    // so (not only the request-level code), and so does a heartbeat.
    let again = c.leave().await.expect_err("leaving twice");
    assert_eq!(again.broker_error(), Some(ResponseError::UnknownMemberId));
    assert_eq!(group_signal(&again), GroupSignal::UnknownMember);
    let gone = c.heartbeat().await.expect_err("heartbeat after leaving");
    assert_eq!(group_signal(&gone), GroupSignal::UnknownMember, "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_heartbeating_expires_after_its_session_timeout() {
    let client = new_client().await;
    let group = random_topic_name("kmirror-group-expiry");
    let mut members = form_group(vec![
        Member::new(&client, &group, "a"),
        Member::new(&client, &group, "b").with_session(MIN_SESSION),
    ])
    .await;
    let mut b = members.pop().unwrap();
    let mut a = members.pop().unwrap();
    let before = a.generation;

    b.heartbeat().await.expect("b's last heartbeat");
    let last_heartbeat = Instant::now();
    // a keeps heartbeating; b falls silent and is removed, which rebalances.
    a.heartbeat_until(GroupSignal::Rebalance).await;
    let silent = last_heartbeat.elapsed();
    assert!(
        silent >= MIN_SESSION - Duration::from_millis(500),
        "b was removed after {silent:?}, before its {MIN_SESSION:?} session timeout"
    );
    let expired = b
        .heartbeat()
        .await
        .expect_err("heartbeat of an expired member");
    assert_eq!(
        group_signal(&expired),
        GroupSignal::UnknownMember,
        "{expired}"
    );
    assert_eq!(expired.broker_error(), Some(ResponseError::UnknownMemberId));

    // a alone makes the next generation.
    let joined_a = a.join().await;
    assert!(joined_a.generation > before);
    assert_eq!(member_names(std::slice::from_ref(&joined_a)), ["a"]);
    a.sync(&joined_a).await;

    // b comes back with its old member id: join starts it over as a new
    // member rather than failing.
    let old_id = b.member_id.clone();
    let (joined_b, joined_a) = tokio::join!(b.join(), async {
        a.heartbeat_until(GroupSignal::Rebalance).await;
        a.join().await
    });
    assert_ne!(joined_b.member_id, old_id, "b got a new member id");
    let joined = [joined_a, joined_b];
    assert_eq!(member_names(&joined), ["a", "b"]);
    let mut members = [a, b];
    sync_all(&mut members, &joined).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarts_into_its_old_assignment_without_a_rebalance() {
    let client = new_client().await;
    let group = random_topic_name("kmirror-group-static");
    let mut members = form_group(vec![
        Member::new(&client, &group, "a").with_instance_id("w1"),
        Member::new(&client, &group, "b").with_instance_id("w2"),
    ])
    .await;
    let b = members.pop().unwrap();
    let a = members.pop().unwrap();
    let generation = a.generation;

    // The follower restarts: a new process (own client) under the same
    // instance id, with no member id.
    let mut b2 = Member::new(&new_client().await, &group, "b").with_instance_id("w2");
    let joined_b2 = b2.join().await;
    assert_eq!(joined_b2.generation, generation, "no new generation");
    assert_ne!(joined_b2.member_id, b.member_id);
    assert!(!joined_b2.is_leader());
    assert_eq!(b2.sync(&joined_b2).await, b.assignment, "same assignment");
    a.heartbeat()
        .await
        .expect("the other member sees no rebalance");
    let fenced = b
        .heartbeat()
        .await
        .expect_err("the old process's heartbeat");
    assert_eq!(group_signal(&fenced), GroupSignal::Fenced, "{fenced}");

    // The leader restarts: KIP-814 tells it not to assign again.
    let mut a2 = Member::new(&new_client().await, &group, "a").with_instance_id("w1");
    let joined_a2 = a2.join().await;
    assert_eq!(joined_a2.generation, generation, "no new generation");
    assert!(joined_a2.is_leader(), "{joined_a2:?}");
    assert!(joined_a2.skip_assignment, "{joined_a2:?}");
    assert_eq!(member_names(std::slice::from_ref(&joined_a2)), ["a", "b"]);
    assert_eq!(a2.sync(&joined_a2).await, a.assignment, "same assignment");
    b2.heartbeat()
        .await
        .expect("the other member sees no rebalance");
    a2.heartbeat()
        .await
        .expect("the restarted leader heartbeats");
    let fenced = a.heartbeat().await.expect_err("the old leader's heartbeat");
    assert_eq!(group_signal(&fenced), GroupSignal::Fenced, "{fenced}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_answered_while_the_members_own_join_is_held() {
    // One client per member, as one process each: only a's own join can
    // stand in the way of a's heartbeat.
    let group = random_topic_name("kmirror-group-held");
    let mut members = form_group(vec![
        Member::new(&new_client().await, &group, "a"),
        Member::new(&new_client().await, &group, "b"),
    ])
    .await;
    let pending_c = Member::new(&new_client().await, &group, "c").spawn_join();
    let mut b = members.pop().unwrap();
    let mut a = members.pop().unwrap();
    a.heartbeat_until(GroupSignal::Rebalance).await;

    // a rejoins; the coordinator holds its join until b rejoins too.
    let a_group = a.group.clone();
    let a_params = a.params();
    let mut a_join = Box::pin(a_group.join(&a_params));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut a_join)
            .await
            .is_err(),
        "a's join must be held while b has not rejoined"
    );
    let started = Instant::now();
    let during = a.heartbeat().await;
    let took = started.elapsed();
    assert!(took < PROMPT, "heartbeat took {took:?} behind a held join");
    let during = during.expect_err("heartbeat during a rebalance");
    assert_eq!(group_signal(&during), GroupSignal::Rebalance, "{during}");
    assert!(
        (&mut a_join).now_or_never().is_none(),
        "a's join still held"
    );

    // b rejoins: every held join completes.
    let (joined_a, joined_b) = tokio::join!(a_join, b.join());
    let joined_a = joined_a.expect("a's join");
    a.member_id.clone_from(&joined_a.member_id);
    a.generation = joined_a.generation;
    let (c, joined_c) = bounded("c's join", pending_c).await.expect("join task");
    let joined = [joined_a, joined_b, joined_c];
    assert_eq!(member_names(&joined), ["a", "b", "c"]);
    let mut members = [a, b, c];
    sync_all(&mut members, &joined).await;
}
