//! One flow's membership in its worker group: Kafka's classic group
//! protocol (JoinGroup, SyncGroup, Heartbeat) on the flow's target cluster,
//! as Kafka Connect's workers use it, with kmirror's own protocol type.
//!
//! The leader assigns the flow's units of work ([`Unit`]) with
//! [`crate::group::assign`]: cooperative, in two rounds when a unit moves
//! (its owner first stops it and rejoins; only then is it given to
//! another). The runner of the flow ([`super::flow`]) receives each
//! assignment as a [`MembershipEvent`], applies it (stops what it lost after
//! draining and writing its progress, starts what it gained) and reports
//! what it runs; the member sends that in its next JoinGroup.
//!
//! Fencing: every write of the flow checks a [`WriteLease`]. It is extended
//! each time the coordinator confirms the membership, to the send time of
//! the confirming request plus the session timeout less a margin: the
//! coordinator cannot have expired the member before then. A member that
//! is frozen or cut off finds its lease expired and writes nothing until it
//! has rejoined and been given work again.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kmirror_client::group::{group_signal, GroupClient, GroupSignal, JoinParams};
use kmirror_client::lease::WriteLease;
use kmirror_client::{Backoff, ClientError};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::group::codec::{decode_assignment, decode_metadata, encode_assignment, encode_metadata};
use crate::group::{assign, MemberAssignment, MemberMetadata, Refusal, Unit, PROTOCOL_VERSION};

/// The protocol type of kmirror's groups (Connect's is `connect`).
pub const PROTOCOL_TYPE: &str = "kmirror";

/// The one protocol kmirror's members offer.
pub const PROTOCOL_NAME: &str = "kmirror-cooperative-v1";

/// Pauses before joining again after a rebalance or a coordinator move:
/// 100 ms doubling up to 2 s, back to 100 ms once a join succeeds.
const REJOIN_BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

/// The group of a flow, on its target cluster.
pub fn group_id(prefix: &str, source: &str, target: &str) -> String {
    format!("{prefix}-{source}->{target}")
}

/// Settings of a member.
#[derive(Debug, Clone)]
pub struct MemberSettings {
    pub group_id: String,
    /// `group.instance.id`: a restart within the session timeout keeps the
    /// member's work.
    pub worker_id: String,
    pub rest_url: Option<String>,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    /// A worker whose flow settings differ from the group's is refused.
    pub config_fingerprint: u64,
    pub started_at_ms: i64,
}

impl MemberSettings {
    /// How long before the coordinator's deadline writes stop.
    fn margin(&self) -> Duration {
        (self.session_timeout / 5).max(Duration::from_millis(500))
    }
}

/// What the runner of the flow must do.
#[derive(Debug)]
pub enum MembershipEvent {
    /// Run exactly these units (stop others first).
    Assigned(Arc<MemberAssignment>, i32),
    /// The membership is gone (session expired, lease ran out): stop
    /// everything at once; work comes back with the next assignment.
    Lost,
}

/// Why a member stops for good.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("refused by the group {group}: {refusal}")]
    Refused { group: String, refusal: Refusal },
    #[error("another worker with the same worker id ({worker_id}) joined the group {group}: give each worker its own --worker-id")]
    Fenced { group: String, worker_id: String },
    #[error("the group {group} cannot be joined: {source}")]
    Join {
        group: String,
        #[source]
        source: ClientError,
    },
}

/// What the runner tells its member.
#[derive(Debug)]
enum Report {
    /// The units running now, after the assignment of `generation`.
    Applied { generation: i32, owned: Vec<Unit> },
    /// The set of units changed (new topics or partitions): rebalance.
    UnitsChanged { digest: u64 },
}

/// The runner's handle on its member.
#[derive(Debug)]
pub struct Membership {
    pub events: mpsc::Receiver<MembershipEvent>,
    reports: mpsc::UnboundedSender<Report>,
    pub lease: WriteLease,
}

impl Membership {
    /// The units now running, after the assignment of `generation` (or
    /// after a loss: `generation` -1).
    pub fn applied(&self, generation: i32, owned: Vec<Unit>) {
        let _ = self.reports.send(Report::Applied { generation, owned });
    }

    /// For the task that discovers the flow's units.
    pub fn notifier(&self) -> UnitsNotifier {
        UnitsNotifier(self.reports.clone())
    }
}

/// Tells the member that the flow's units changed.
#[derive(Debug, Clone)]
pub struct UnitsNotifier(mpsc::UnboundedSender<Report>);

impl UnitsNotifier {
    /// Asks for a rebalance because the flow's units now have `digest`.
    pub fn units_changed(&self, digest: u64) {
        let _ = self.0.send(Report::UnitsChanged { digest });
    }
}

/// Starts the member's tasks; they run until `shutdown`. `discover` lists
/// the flow's units when this member leads an assignment.
pub fn start<D, F>(
    group: GroupClient,
    settings: MemberSettings,
    discover: D,
    shutdown: CancellationToken,
) -> (
    Membership,
    tokio::task::JoinHandle<Result<(), MembershipError>>,
)
where
    D: Fn() -> F + Send + Sync + 'static,
    F: std::future::Future<Output = Result<Vec<Unit>, ClientError>> + Send + 'static,
{
    let lease = WriteLease::expired(&settings.group_id);
    let (events_tx, events_rx) = mpsc::channel(4);
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let member = Member {
        group,
        settings,
        lease: lease.clone(),
        session: Arc::new(Mutex::new(Session::default())),
        signals: Arc::new(Signals::default()),
        events: events_tx,
        reports: reports_rx,
        owned: Vec::new(),
        units_digest: 0,
        last_units: Vec::new(),
        shutdown,
    };
    let task = tokio::spawn(member.run(discover));
    (
        Membership {
            events: events_rx,
            reports: reports_tx,
            lease,
        },
        task,
    )
}

/// What the heartbeat task needs to know of the membership.
#[derive(Debug, Default, Clone)]
struct Session {
    member_id: String,
    generation: i32,
    /// A JoinGroup or SyncGroup is under way: heartbeat answers about the
    /// old generation are expected and mean nothing.
    joining: bool,
    /// While a rebalance waits for this member's JoinGroup, the coordinator
    /// removes it at the rebalance timeout: the lease may not outlast that.
    rebalance_cap: Option<Instant>,
    /// Send time of the last heartbeat answered without a rebalance.
    last_stable_ok: Option<Instant>,
}

/// Heartbeat findings for the member's main loop.
#[derive(Debug, Default)]
struct Signals {
    notify: Notify,
    state: Mutex<SignalState>,
}

#[derive(Debug, Default)]
struct SignalState {
    /// A rebalance started in this generation.
    rebalance: Option<i32>,
    /// The coordinator no longer knows the member in this generation.
    lost: Option<i32>,
    fenced: bool,
}

struct Member {
    group: GroupClient,
    settings: MemberSettings,
    lease: WriteLease,
    session: Arc<Mutex<Session>>,
    signals: Arc<Signals>,
    events: mpsc::Sender<MembershipEvent>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// What the runner runs, as last reported.
    owned: Vec<Unit>,
    units_digest: u64,
    /// Units of the last assignment, a fallback when discovery fails.
    last_units: Vec<Unit>,
    shutdown: CancellationToken,
}

impl Member {
    async fn run<D, F>(mut self, discover: D) -> Result<(), MembershipError>
    where
        D: Fn() -> F + Send + Sync + 'static,
        F: std::future::Future<Output = Result<Vec<Unit>, ClientError>> + Send + 'static,
    {
        let heartbeats = tokio::spawn(heartbeat_loop(
            self.group.clone(),
            self.settings.clone(),
            self.session.clone(),
            self.signals.clone(),
            self.lease.clone(),
            self.shutdown.clone(),
        ));
        let result = self.membership_loop(&discover).await;
        heartbeats.abort();
        self.lease.revoke();
        // A static member does not leave: a restart within the session
        // timeout finds its work waiting. One that is refused leaves, so
        // that it holds up no rebalance.
        if matches!(result, Err(MembershipError::Refused { .. })) {
            let member_id = self.session.lock().unwrap().member_id.clone();
            let _ = self
                .group
                .leave(&member_id, Some(&self.settings.worker_id), Some("refused"))
                .await;
        }
        result
    }

    async fn membership_loop<D, F>(&mut self, discover: &D) -> Result<(), MembershipError>
    where
        D: Fn() -> F,
        F: std::future::Future<Output = Result<Vec<Unit>, ClientError>>,
    {
        let mut backoff = REJOIN_BACKOFF;
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(());
            }
            match self.join_and_sync(discover).await {
                Ok(Some((assignment, generation))) => {
                    backoff.reset();
                    if let Some(refusal) = assignment.refused.clone() {
                        return Err(MembershipError::Refused {
                            group: self.settings.group_id.clone(),
                            refusal,
                        });
                    }
                    // Only a member that gives units up rejoins at once
                    // (its changed metadata starts the second round, which
                    // assigns them); the others learn of that round from
                    // their heartbeats. A member that rejoined unchanged
                    // would only get the same assignment back.
                    let gives_up = assignment.pending_revocations
                        && self
                            .owned
                            .iter()
                            .any(|unit| !assignment.units.contains(unit));
                    self.last_units = assignment.owners.keys().cloned().collect();
                    if !self.apply(assignment, generation).await {
                        return Ok(());
                    }
                    if gives_up {
                        continue;
                    }
                    if !self.stable(generation).await? {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => match group_signal(&e) {
                    GroupSignal::UnknownMember => {
                        // Join again as a new member (the instance id keeps
                        // the worker's identity), running nothing until then.
                        self.lose().await;
                        self.session.lock().unwrap().member_id.clear();
                    }
                    GroupSignal::Rejoin => {
                        debug!(group = %self.settings.group_id, error = %e, "a newer generation began; joining again");
                    }
                    GroupSignal::Fenced => {
                        return Err(MembershipError::Fenced {
                            group: self.settings.group_id.clone(),
                            worker_id: self.settings.worker_id.clone(),
                        })
                    }
                    GroupSignal::Refused => {
                        return Err(MembershipError::Join {
                            group: self.settings.group_id.clone(),
                            source: e,
                        })
                    }
                    GroupSignal::Rebalance | GroupSignal::CoordinatorMoved => {
                        debug!(group = %self.settings.group_id, error = %e, "joining again");
                        self.pause(backoff.next_pause()).await;
                    }
                },
            }
        }
    }

    /// One JoinGroup and SyncGroup; `None` on shutdown.
    async fn join_and_sync<D, F>(
        &mut self,
        discover: &D,
    ) -> Result<Option<(Arc<MemberAssignment>, i32)>, ClientError>
    where
        D: Fn() -> F,
        F: std::future::Future<Output = Result<Vec<Unit>, ClientError>>,
    {
        let metadata = encode_metadata(&MemberMetadata {
            worker_id: self.settings.worker_id.clone(),
            rest_url: self.settings.rest_url.clone(),
            config_fingerprint: self.settings.config_fingerprint,
            units_digest: self.units_digest,
            owned: self.owned.clone(),
            started_at_ms: self.settings.started_at_ms,
        });
        let protocols = [(PROTOCOL_NAME.to_string(), metadata)];
        let member_id = {
            let mut session = self.session.lock().unwrap();
            session.joining = true;
            session.member_id.clone()
        };
        let params = JoinParams {
            member_id: &member_id,
            instance_id: Some(&self.settings.worker_id),
            protocol_type: PROTOCOL_TYPE,
            protocols: &protocols,
            session_timeout: self.settings.session_timeout,
            rebalance_timeout: self.settings.rebalance_timeout,
            reason: None,
        };
        let sent = Instant::now();
        let joined = tokio::select! {
            joined = self.group.join(&params) => joined?,
            _ = self.shutdown.cancelled() => return Ok(None),
        };
        {
            let mut session = self.session.lock().unwrap();
            session.member_id = joined.member_id.clone();
            session.generation = joined.generation;
            session.rebalance_cap = None;
        }
        self.extend_lease(sent);
        let leader = joined.leader == joined.member_id;
        debug!(group = %self.settings.group_id, generation = joined.generation, leader, members = joined.members.len(), "joined");

        let assignments = if leader && !joined.skip_assignment {
            let units = match discover().await {
                Ok(units) => units,
                Err(e) => {
                    warn!(group = %self.settings.group_id, error = %e, "cannot list the flow's partitions to assign; assigning the last known ones");
                    let mut known: BTreeSet<Unit> = self.last_units.iter().cloned().collect();
                    known.extend(self.owned.iter().cloned());
                    known.into_iter().collect()
                }
            };
            let mut members = Vec::new();
            for member in &joined.members {
                match decode_metadata(&member.metadata) {
                    Ok(metadata) => members.push((member.member_id.clone(), metadata)),
                    Err(e) => {
                        warn!(group = %self.settings.group_id, member = %member.member_id, error = %e, "member metadata unreadable (another kmirror version?); it gets no work")
                    }
                }
            }
            assign(&members, &units)
                .into_iter()
                .map(|(member, assignment)| (member, encode_assignment(&assignment)))
                .collect()
        } else {
            Vec::new()
        };

        let sent = Instant::now();
        let bytes: Bytes = tokio::select! {
            bytes = self.group.sync(
                joined.generation,
                &joined.member_id,
                Some(&self.settings.worker_id),
                PROTOCOL_TYPE,
                PROTOCOL_NAME,
                assignments,
            ) => bytes?,
            _ = self.shutdown.cancelled() => return Ok(None),
        };
        self.extend_lease(sent);
        self.session.lock().unwrap().joining = false;
        let assignment = if bytes.is_empty() {
            // The leader had nothing for us (our metadata unreadable to it).
            nothing_assigned()
        } else {
            match decode_assignment(&bytes) {
                Ok(assignment) => assignment,
                Err(e) => {
                    warn!(group = %self.settings.group_id, error = %e, "assignment unreadable (another kmirror version leads?); running nothing");
                    nothing_assigned()
                }
            }
        };
        Ok(Some((Arc::new(assignment), joined.generation)))
    }

    /// Hands the assignment to the runner and waits until it runs it;
    /// false on shutdown.
    async fn apply(&mut self, assignment: Arc<MemberAssignment>, generation: i32) -> bool {
        info!(group = %self.settings.group_id, generation, units = assignment.units.len(), "assignment received");
        if self
            .events
            .send(MembershipEvent::Assigned(assignment, generation))
            .await
            .is_err()
        {
            return false;
        }
        self.wait_applied(generation).await
    }

    /// Stops everything the runner runs, at once.
    async fn lose(&mut self) {
        self.lease.revoke();
        if self.owned.is_empty() {
            return;
        }
        warn!(group = %self.settings.group_id, units = self.owned.len(), "membership lost; stopping this worker's share until the group assigns it again");
        if self.events.send(MembershipEvent::Lost).await.is_ok() {
            self.wait_applied(-1).await;
        }
    }

    async fn wait_applied(&mut self, generation: i32) -> bool {
        loop {
            let report = tokio::select! {
                report = self.reports.recv() => report,
                _ = self.shutdown.cancelled() => return false,
            };
            match report {
                Some(Report::Applied {
                    generation: applied,
                    owned,
                }) => {
                    self.owned = owned;
                    if applied == generation {
                        return true;
                    }
                }
                Some(Report::UnitsChanged { digest }) => self.units_digest = digest,
                None => return false,
            }
        }
    }

    /// Heartbeats until something calls for a new join; Ok(false) on
    /// shutdown.
    async fn stable(&mut self, generation: i32) -> Result<bool, MembershipError> {
        loop {
            let lease_end = self.lease.remaining().unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(false),
                _ = self.signals.notify.notified() => {}
                _ = tokio::time::sleep(lease_end) => {}
                report = self.reports.recv() => match report {
                    Some(Report::Applied { owned, .. }) => self.owned = owned,
                    Some(Report::UnitsChanged { digest }) => {
                        if digest != self.units_digest {
                            self.units_digest = digest;
                            info!(group = %self.settings.group_id, "the flow's partitions changed; rebalancing");
                            return Ok(true);
                        }
                    }
                    None => return Ok(false),
                },
            }
            let signals = std::mem::take(&mut *self.signals.state.lock().unwrap());
            if signals.fenced {
                self.lose().await;
                return Err(MembershipError::Fenced {
                    group: self.settings.group_id.clone(),
                    worker_id: self.settings.worker_id.clone(),
                });
            }
            if signals.lost.is_some_and(|g| g >= generation) {
                self.lose().await;
                self.session.lock().unwrap().member_id.clear();
                return Ok(true);
            }
            if !self.lease.is_valid() {
                warn!(group = %self.settings.group_id, "the group coordinator has not confirmed this worker in time; writes stop until it rejoins");
                self.lose().await;
                return Ok(true);
            }
            if signals.rebalance.is_some_and(|g| g >= generation) {
                debug!(group = %self.settings.group_id, "rebalance; rejoining");
                return Ok(true);
            }
        }
    }

    fn extend_lease(&self, sent: Instant) {
        extend(&self.lease, &self.settings, &self.session, sent);
    }

    async fn pause(&self, how_long: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(how_long) => {}
            _ = self.shutdown.cancelled() => {}
        }
    }
}

/// Extends the lease for a confirmation of a request sent at `sent`.
fn extend(lease: &WriteLease, settings: &MemberSettings, session: &Mutex<Session>, sent: Instant) {
    let mut until = sent + settings.session_timeout - settings.margin();
    if let Some(cap) = session.lock().unwrap().rebalance_cap {
        until = until.min(cap);
    }
    lease.extend_to(until);
}

/// Sends a heartbeat every interval, extends the lease on each
/// confirmation and signals rebalances and loss to the main loop.
async fn heartbeat_loop(
    group: GroupClient,
    settings: MemberSettings,
    session: Arc<Mutex<Session>>,
    signals: Arc<Signals>,
    lease: WriteLease,
    shutdown: CancellationToken,
) {
    let mut delay = settings.heartbeat_interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => return,
        }
        delay = settings.heartbeat_interval;
        let snapshot = session.lock().unwrap().clone();
        if snapshot.member_id.is_empty() || snapshot.generation < 0 {
            continue;
        }
        let sent = Instant::now();
        let answer = tokio::time::timeout(
            settings.session_timeout,
            group.heartbeat(
                snapshot.generation,
                &snapshot.member_id,
                Some(&settings.worker_id),
            ),
        )
        .await;
        let signal = match answer {
            Ok(Ok(())) => {
                session.lock().unwrap().last_stable_ok = Some(sent);
                extend(&lease, &settings, &session, sent);
                continue;
            }
            Ok(Err(e)) => group_signal(&e),
            Err(_) => GroupSignal::CoordinatorMoved,
        };
        match signal {
            GroupSignal::Rebalance => {
                {
                    let mut session = session.lock().unwrap();
                    if session.rebalance_cap.is_none() && !session.joining {
                        let since = session.last_stable_ok.unwrap_or(sent);
                        session.rebalance_cap =
                            Some(since + settings.rebalance_timeout - settings.margin());
                    }
                }
                extend(&lease, &settings, &session, sent);
                if !snapshot.joining {
                    signals.state.lock().unwrap().rebalance = Some(snapshot.generation);
                    signals.notify.notify_one();
                }
            }
            GroupSignal::Rejoin | GroupSignal::UnknownMember => {
                // Answers about an old generation while a join is under way
                // are expected.
                let current = session.lock().unwrap().clone();
                if !current.joining
                    && current.generation == snapshot.generation
                    && current.member_id == snapshot.member_id
                {
                    let mut state = signals.state.lock().unwrap();
                    if signal == GroupSignal::UnknownMember {
                        state.lost = Some(snapshot.generation);
                    } else {
                        // A newer generation this member is still part
                        // of: join it, keeping the work.
                        state.rebalance = Some(snapshot.generation);
                    }
                    drop(state);
                    signals.notify.notify_one();
                }
            }
            GroupSignal::Fenced => {
                signals.state.lock().unwrap().fenced = true;
                signals.notify.notify_one();
            }
            GroupSignal::CoordinatorMoved | GroupSignal::Refused => {
                // Try again soon: the lease runs out otherwise.
                delay = settings.heartbeat_interval / 4;
            }
        }
    }
}

/// An assignment of no work.
fn nothing_assigned() -> MemberAssignment {
    MemberAssignment {
        version: PROTOCOL_VERSION,
        units: Vec::new(),
        members: Vec::new(),
        owners: Default::default(),
        pending_revocations: false,
        refused: None,
    }
}
