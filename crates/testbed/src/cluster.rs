//! KRaft clusters of one or more nodes, each node a broker and a controller in
//! one JVM, on loopback ports, with data and logs in a temp dir.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::{json, Value};

use crate::admin::{
    self, AdminError, AdminSession, ClusterDescription, GroupOffset, TopicConfig, TopicDescription,
};
use crate::client::{
    self, ConsumeOptions, ConsumedRecord, GenOptions, GenReport, ProduceOptions, ProduceStep,
    TestRecord,
};
use crate::java::{file_tail, ClassData, JavaCommand, JavaProcess};
use crate::security::{SecuredListener, SecurityOptions};
use crate::{cds, ports, workdir};

mod secured;

pub use secured::ProbeError;

/// How long a cluster or a restarted broker may take to serve requests.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERMed broker may take for its controlled shutdown.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How often readiness is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Configures a [`KafkaCluster`] before starting it.
#[derive(Debug, Clone)]
pub struct KafkaClusterBuilder {
    name: String,
    brokers: usize,
    props: Vec<(String, String)>,
    heap: String,
    fast_startup: bool,
    start_timeout: Duration,
    /// Set only for the cluster that trains the brokers' class-data archive.
    training_archive: Option<PathBuf>,
    security: Option<SecurityOptions>,
    /// `broker.rack` of broker `i`, when set.
    racks: Vec<String>,
}

impl KafkaClusterBuilder {
    /// Puts broker `i` in rack `racks[i]` (`broker.rack`), for rack-aware
    /// replica placement and fetching from the closest replica (with
    /// `replica.selector.class` set through [`Self::broker_prop`]).
    pub fn racks(mut self, racks: &[&str]) -> Self {
        self.racks = racks.iter().map(|rack| rack.to_string()).collect();
        self
    }

    /// Number of nodes, each a broker and a controller (default 1). With 3
    /// or more, topics default to replication factor 3 and
    /// `min.insync.replicas=2`.
    pub fn brokers(mut self, count: usize) -> Self {
        assert!(count >= 1, "a cluster needs at least one broker");
        self.brokers = count;
        self
    }

    /// Sets (or overrides) a property in every broker's `server.properties`.
    pub fn broker_prop(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.props.push((key.into(), value.into()));
        self
    }

    /// Fences a dead broker within about 3 s (the controller's
    /// `broker.session.timeout.ms`, heartbeats every 500 ms), so that its
    /// leaderships move without the tests waiting the default 9 s.
    pub fn fast_broker_fencing(self) -> Self {
        self.broker_prop("broker.session.timeout.ms", "3000")
            .broker_prop("broker.heartbeat.interval.ms", "500")
    }

    /// Each broker's maximum heap (default `512m`).
    pub fn heap(mut self, heap: impl Into<String>) -> Self {
        self.heap = heap.into();
        self
    }

    /// C1-only JIT for the brokers (default): each starts about a second
    /// sooner on two cores, but runs hot code slower. Turn off for benchmarks.
    pub fn fast_startup(mut self, fast: bool) -> Self {
        self.fast_startup = fast;
        self
    }

    /// How long the cluster may take to start (default 60 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Adds the secured listeners of [`SecuredListener`] beside PLAINTEXT,
    /// with the test PKI's certificates, SASL users and, if asked, the
    /// authorizer (see [`SecurityOptions`]). Reach them with
    /// [`KafkaCluster::listener_bootstrap`] and
    /// [`KafkaCluster::java_client_props`].
    pub fn secured(mut self, options: SecurityOptions) -> Self {
        self.security = Some(options);
        self
    }

    /// Starts the brokers with `-XX:ArchiveClassesAtExit=path` and no archive.
    pub(crate) fn train_class_archive(mut self, path: PathBuf) -> Self {
        self.training_archive = Some(path);
        self
    }

    /// Formats storage, starts every broker and waits until each one serves
    /// requests.
    ///
    /// # Panics
    /// If the cluster is not ready within the start timeout; the message
    /// carries the tail of the failing broker's log.
    pub fn start(self) -> KafkaCluster {
        // Before the clock starts: the first cluster of a fresh cache trains
        // the archive, which takes a cluster start of its own.
        let broker_class_data = match &self.training_archive {
            Some(path) => ClassData::DumpTo(path.clone()),
            None => cds::broker_archive().map_or(ClassData::Off, ClassData::Archive),
        };
        let started = Instant::now();
        let dir = workdir::create(&self.name);
        let controller_ports: Vec<u16> = (0..self.brokers).map(|_| ports::free_port()).collect();
        let brokers: Vec<Broker> = (0..self.brokers)
            .map(|index| {
                let id = i32::try_from(index).expect("broker count fits i32");
                let broker_dir = dir.join(format!("broker-{id}"));
                fs::create_dir_all(&broker_dir).expect("create a broker folder");
                let secured_ports = self
                    .security
                    .iter()
                    .flat_map(SecurityOptions::listeners)
                    .map(|listener| (listener, ports::free_port()))
                    .collect();
                Broker {
                    id,
                    port: ports::free_port(),
                    secured_ports,
                    controller_port: controller_ports[index],
                    config: broker_dir.join("server.properties"),
                    log: broker_dir.join("server.log"),
                    console: broker_dir.join("console.log"),
                    dir: broker_dir,
                    process: Mutex::new(None),
                }
            })
            .collect();

        for broker in &brokers {
            let config = self.server_properties(broker, &controller_ports);
            fs::write(&broker.config, config).expect("write server.properties");
        }
        let bootstrap = brokers
            .iter()
            .map(Broker::address)
            .collect::<Vec<_>>()
            .join(",");
        // The admin JVM starts while storage is formatted and the brokers
        // boot: its client retries until they listen.
        let admin = AdminSession::start(&self.name, &bootstrap);
        let cluster = KafkaCluster {
            name: self.name.clone(),
            cluster_id: kafka_uuid(),
            dir,
            heap: self.heap.clone(),
            fast_startup: self.fast_startup,
            broker_class_data,
            brokers,
            admin: Mutex::new(Some(admin)),
            security: self.security.clone(),
        };
        let scram = self
            .security
            .as_ref()
            .map(SecurityOptions::scram_credentials)
            .unwrap_or_default();
        format_storage(&cluster.name, &cluster.cluster_id, &cluster.brokers, &scram);
        for broker in &cluster.brokers {
            cluster.spawn_broker(broker);
        }
        let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.id).collect();
        cluster.wait_until_serving(&ids, started + self.start_timeout);
        eprintln!(
            "[kmirror-testbed] {} ({} broker{}) serving at {} after {:.1?}; files in {}",
            cluster.name,
            cluster.brokers.len(),
            if cluster.brokers.len() == 1 { "" } else { "s" },
            cluster.bootstrap(),
            started.elapsed(),
            cluster.dir.display()
        );
        cluster
    }

    fn server_properties(&self, broker: &Broker, controller_ports: &[u16]) -> String {
        let replicated = self.brokers >= 3;
        let rf = if replicated { "3" } else { "1" };
        let min_isr = if replicated { "2" } else { "1" };
        let quorum = controller_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut props: Vec<(String, String)> = [
            ("process.roles", "broker,controller".to_string()),
            ("node.id", broker.id.to_string()),
            ("controller.quorum.bootstrap.servers", quorum),
            (
                "listeners",
                format!(
                    "PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                    broker.port, broker.controller_port
                ),
            ),
            (
                "advertised.listeners",
                format!("PLAINTEXT://127.0.0.1:{}", broker.port),
            ),
            ("controller.listener.names", "CONTROLLER".to_string()),
            ("inter.broker.listener.name", "PLAINTEXT".to_string()),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string(),
            ),
            ("log.dirs", broker.dir.join("data").display().to_string()),
            ("auto.create.topics.enable", "false".to_string()),
            ("num.partitions", "1".to_string()),
            ("default.replication.factor", rf.to_string()),
            ("min.insync.replicas", min_isr.to_string()),
            ("offsets.topic.replication.factor", rf.to_string()),
            ("transaction.state.log.replication.factor", rf.to_string()),
            ("transaction.state.log.min.isr", min_isr.to_string()),
            (
                "share.coordinator.state.topic.replication.factor",
                rf.to_string(),
            ),
            ("share.coordinator.state.topic.min.isr", min_isr.to_string()),
            // Fewer internal partitions: the first group or transaction on a
            // fresh cluster creates them, 50 each by default.
            ("offsets.topic.num.partitions", "5".to_string()),
            ("transaction.state.log.num.partitions", "5".to_string()),
            (
                "share.coordinator.state.topic.num.partitions",
                "5".to_string(),
            ),
            ("group.initial.rebalance.delay.ms", "0".to_string()),
            // A killed broker is fenced (and its leaderships moved) after 4 s
            // rather than 9 s.
            ("broker.session.timeout.ms", "4000".to_string()),
            ("broker.heartbeat.interval.ms", "500".to_string()),
            // Two cores for everything: fewer threads than a production broker.
            ("num.network.threads", "2".to_string()),
            ("num.io.threads", "4".to_string()),
            ("background.threads", "4".to_string()),
            ("log.retention.check.interval.ms", "10000".to_string()),
            ("log.cleaner.backoff.ms", "1000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let secured = self.security.as_ref().map(|security| {
            security.broker_props(broker.port, broker.controller_port, &broker.secured_ports)
        });
        let rack = usize::try_from(broker.id)
            .ok()
            .and_then(|i| self.racks.get(i))
            .map(|rack| ("broker.rack".to_string(), rack.clone()));
        props.extend(rack);
        for (key, value) in secured.iter().flatten().chain(&self.props) {
            match props.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1.clone_from(value),
                None => props.push((key.clone(), value.clone())),
            }
        }
        let mut text = format!(
            "# kmirror test bed: node {} of cluster {}\n",
            broker.id, self.name
        );
        for (key, value) in props {
            writeln!(text, "{key}={value}").expect("write to a String");
        }
        text
    }
}

/// One node's fixed identity: ports, files, and its JVM when running.
#[derive(Debug)]
struct Broker {
    id: i32,
    port: u16,
    controller_port: u16,
    /// Empty unless the cluster is secured.
    secured_ports: Vec<(SecuredListener, u16)>,
    dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    console: PathBuf,
    process: Mutex<Option<JavaProcess>>,
}

impl Broker {
    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> String {
        format!(
            "--- {} (last 40 lines) ---\n{}\n--- {} ---\n{}",
            self.log.display(),
            file_tail(&self.log, 40),
            self.console.display(),
            file_tail(&self.console, 20)
        )
    }
}

/// A running Kafka cluster (KRaft, PLAINTEXT on 127.0.0.1).
///
/// Every method takes `&self`, so a cluster can be shared by tests (see
/// [`crate::shared_cluster`]). Dropping it kills its JVMs and deletes its
/// files, unless the thread is panicking: then the files stay and their path
/// is printed.
#[derive(Debug)]
pub struct KafkaCluster {
    name: String,
    cluster_id: String,
    dir: PathBuf,
    heap: String,
    fast_startup: bool,
    broker_class_data: ClassData,
    brokers: Vec<Broker>,
    /// Started on the first admin call, restarted if it ever dies.
    admin: Mutex<Option<AdminSession>>,
    security: Option<SecurityOptions>,
}

impl KafkaCluster {
    /// A single-node cluster with the default settings.
    pub fn start(name: &str) -> Self {
        Self::builder(name).start()
    }

    pub fn builder(name: &str) -> KafkaClusterBuilder {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "cluster name {name:?}: use letters, digits, '-' and '_'"
        );
        KafkaClusterBuilder {
            name: name.to_string(),
            brokers: 1,
            props: Vec::new(),
            heap: "512m".to_string(),
            fast_startup: true,
            start_timeout: DEFAULT_START_TIMEOUT,
            training_archive: None,
            security: None,
            racks: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Every broker's address, comma-separated, stopped ones included.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(Broker::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn broker_count(&self) -> usize {
        self.brokers.len()
    }

    /// Broker `i`'s PLAINTEXT address. Broker `i` has `node.id` `i`.
    pub fn broker_address(&self, i: usize) -> String {
        self.broker(i).address()
    }

    /// The folder holding every broker's config, data and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Broker `i`'s log4j log.
    pub fn broker_log(&self, i: usize) -> PathBuf {
        self.broker(i).log.clone()
    }

    /// Broker `i`'s JVM pid, if it is running.
    pub fn broker_pid(&self, i: usize) -> Option<u32> {
        let mut slot = self.broker(i).process.lock().unwrap();
        let process = slot.as_mut()?;
        process.is_running().then(|| process.pid())
    }

    /// Pids of every JVM this cluster runs (brokers and its admin client).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = (0..self.brokers.len())
            .filter_map(|i| self.broker_pid(i))
            .collect();
        if let Some(admin) = self.admin.lock().unwrap().as_mut() {
            if admin.is_running() {
                pids.push(admin.pid());
            }
        }
        pids
    }

    pub fn is_broker_running(&self, i: usize) -> bool {
        self.broker_pid(i).is_some()
    }

    /// SIGKILLs broker `i` (no controlled shutdown): its leaderships move
    /// once the controller fences it, about 4 s later.
    ///
    /// # Panics
    /// If broker `i` is not running.
    pub fn kill_broker(&self, i: usize) {
        let broker = self.broker(i);
        let mut process = self.take_running(broker, "kill");
        process.kill();
    }

    /// Stops broker `i` with SIGTERM (controlled shutdown), SIGKILL after
    /// 30 s.
    ///
    /// # Panics
    /// If broker `i` is not running.
    pub fn stop_broker(&self, i: usize) {
        let broker = self.broker(i);
        let mut process = self.take_running(broker, "stop");
        let (status, graceful) = process.terminate(STOP_GRACE);
        if !graceful {
            eprintln!(
                "[kmirror-testbed] broker {} of {} ignored SIGTERM for {STOP_GRACE:?}; killed ({status})",
                broker.id, self.name
            );
        }
    }

    /// Restarts broker `i` with its config and data, and waits until it
    /// serves requests again.
    ///
    /// # Panics
    /// If broker `i` is already running, or is not serving within 60 s.
    pub fn start_broker(&self, i: usize) {
        let broker = self.broker(i);
        assert!(
            !self.is_broker_running(i),
            "broker {i} of {} is already running",
            self.name
        );
        self.spawn_broker(broker);
        self.wait_until_serving(&[broker.id], Instant::now() + DEFAULT_START_TIMEOUT);
    }

    /// Creates a topic and waits until each partition has a leader.
    ///
    /// # Panics
    /// If Kafka refuses (see [`KafkaCluster::try_create_topic`]).
    pub fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> TopicDescription {
        self.try_create_topic(topic, partitions, replication_factor, configs)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// Creates a topic, returning Kafka's refusal (e.g. `TopicExistsException`).
    pub fn try_create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<TopicDescription, AdminError> {
        let request = admin::create_topic_request(topic, partitions, replication_factor, configs);
        self.admin_request(&request)
            .map(|v| admin::parse("create-topic", v))
    }

    /// Deletes a topic and waits until it is no longer listed.
    pub fn delete_topic(&self, topic: &str) {
        self.admin_ok(&json!({"op": "delete-topic", "topic": topic}));
    }

    /// Topic names, sorted, without Kafka's internal `__consumer_offsets`
    /// and `__transaction_state`.
    pub fn list_topics(&self) -> Vec<String> {
        self.list(false)
    }

    /// Topic names, sorted, Kafka's internal topics included.
    pub fn list_topics_with_internal(&self) -> Vec<String> {
        self.list(true)
    }

    fn list(&self, internal: bool) -> Vec<String> {
        let result = self.admin_ok(&json!({"op": "list", "internal": internal}));
        admin::parse("list", result["topics"].clone())
    }

    /// Partitions with leader, replicas and ISR.
    pub fn describe_topic(&self, topic: &str) -> TopicDescription {
        let result = self.admin_ok(&json!({"op": "describe", "topic": topic}));
        admin::parse("describe", result)
    }

    /// Each partition's leader (`None` while it has none).
    pub fn leaders(&self, topic: &str) -> Vec<Option<i32>> {
        self.describe_topic(topic)
            .partitions
            .iter()
            .map(|p| p.leader)
            .collect()
    }

    /// Polls until every partition of `topic` has a leader and a full ISR.
    ///
    /// # Panics
    /// If that takes longer than `timeout`.
    pub fn wait_until_in_sync(&self, topic: &str, timeout: Duration) -> TopicDescription {
        let deadline = Instant::now() + timeout;
        loop {
            // A broker that has not caught up with the metadata of a topic
            // just created (Kafka 3.9 lags here) does not know it yet: keep
            // polling rather than fail.
            let answer = self.admin_request(&json!({"op": "describe", "topic": topic}));
            let state = match answer {
                Ok(result) => {
                    let description: TopicDescription = admin::parse("describe", result);
                    if description.fully_in_sync() {
                        return description;
                    }
                    format!("{:?}", description.partitions)
                }
                Err(e) if e.error_class == "UnknownTopicOrPartitionException" => e.to_string(),
                Err(e) => panic!("{}: {e}", self.name),
            };
            assert!(
                Instant::now() < deadline,
                "{}: {topic} not in sync after {timeout:?}: {state}",
                self.name
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn topic_config(&self, topic: &str) -> TopicConfig {
        let result = self.admin_ok(&json!({"op": "configs", "topic": topic}));
        admin::parse("configs", result)
    }

    /// Sets and removes topic-level config overrides (incremental alter).
    pub fn alter_topic_config(&self, topic: &str, set: &[(&str, &str)], delete: &[&str]) {
        let set: serde_json::Map<String, Value> = set
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::from(*v)))
            .collect();
        self.admin_ok(&json!({
            "op": "alter-config", "topic": topic, "set": set, "delete": delete,
        }));
    }

    /// Grows `topic` to `count` partitions.
    pub fn create_partitions(&self, topic: &str, count: i32) {
        self.admin_ok(&json!({"op": "create-partitions", "topic": topic, "count": count}));
    }

    /// Each partition's log end offset (high watermark).
    pub fn end_offsets(&self, topic: &str) -> Vec<i64> {
        self.offsets(topic, "latest", "read_uncommitted")
    }

    /// Each partition's last stable offset (what READ_COMMITTED reads up to).
    pub fn last_stable_offsets(&self, topic: &str) -> Vec<i64> {
        self.offsets(topic, "latest", "read_committed")
    }

    /// Each partition's log start offset.
    pub fn start_offsets(&self, topic: &str) -> Vec<i64> {
        self.offsets(topic, "earliest", "read_uncommitted")
    }

    fn offsets(&self, topic: &str, spec: &str, isolation: &str) -> Vec<i64> {
        let result = self.admin_ok(&json!({
            "op": "offsets", "topic": topic, "spec": spec, "isolation": isolation,
        }));
        admin::parse("offsets", result["offsets"].clone())
    }

    pub fn describe_cluster(&self) -> ClusterDescription {
        admin::parse(
            "describe-cluster",
            self.admin_ok(&json!({"op": "describe-cluster"})),
        )
    }

    pub fn list_groups(&self) -> Vec<String> {
        let result = self.admin_ok(&json!({"op": "list-groups"}));
        admin::parse("list-groups", result["groups"].clone())
    }

    /// A group's committed offsets, sorted by topic and partition.
    pub fn group_offsets(&self, group: &str) -> Vec<GroupOffset> {
        let result = self.admin_ok(&json!({"op": "group-offsets", "group": group}));
        admin::parse("group-offsets", result["offsets"].clone())
    }

    /// Commits offsets for a group with no active members, as a consumer
    /// would have.
    pub fn alter_group_offsets(&self, group: &str, offsets: &[GroupOffset]) {
        self.admin_ok(&json!({"op": "alter-group-offsets", "group": group, "offsets": offsets}));
    }

    /// Sends a raw request to the cluster's admin client (see
    /// `testbed/java/src/dev/kmirror/testbed/Admin.java` for the ops).
    pub fn admin_request(&self, request: &Value) -> Result<Value, AdminError> {
        let mut session = self.admin.lock().unwrap();
        if !session.as_mut().is_some_and(AdminSession::is_running) {
            *session = Some(AdminSession::start(&self.name, &self.bootstrap()));
        }
        session
            .as_mut()
            .expect("admin session just started")
            .request(request)
    }

    fn admin_ok(&self, request: &Value) -> Value {
        self.admin_request(request)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// See [`client::produce`].
    pub fn produce(
        &self,
        topic: &str,
        options: &ProduceOptions,
        records: &[TestRecord],
    ) -> Vec<(i32, i64)> {
        client::produce(&self.bootstrap(), topic, options, records)
    }

    /// See [`client::produce_steps`].
    pub fn produce_steps(
        &self,
        topic: &str,
        options: &ProduceOptions,
        steps: &[ProduceStep],
    ) -> Vec<(i32, i64)> {
        client::produce_steps(&self.bootstrap(), topic, options, steps)
    }

    /// See [`client::consume`].
    pub fn consume(&self, topic: &str, options: &ConsumeOptions) -> Vec<ConsumedRecord> {
        client::consume(&self.bootstrap(), topic, options)
    }

    /// See [`client::gen`].
    pub fn gen(&self, topic: &str, options: &GenOptions) -> GenReport {
        client::gen(&self.bootstrap(), topic, options)
    }

    fn broker(&self, i: usize) -> &Broker {
        self.brokers.get(i).unwrap_or_else(|| {
            panic!(
                "{} has {} broker(s), no broker {i}",
                self.name,
                self.brokers.len()
            )
        })
    }

    fn take_running(&self, broker: &Broker, action: &str) -> JavaProcess {
        let running = broker
            .process
            .lock()
            .unwrap()
            .take()
            .and_then(|mut process| process.is_running().then_some(process));
        running.unwrap_or_else(|| {
            panic!(
                "cannot {action} broker {} of {}: it is not running",
                broker.id, self.name
            )
        })
    }

    fn spawn_broker(&self, broker: &Broker) {
        let mut command = JavaCommand::new("kafka.Kafka");
        if let Some(overrides) = self
            .security
            .as_ref()
            .and_then(SecurityOptions::java_security_overrides)
        {
            let file = broker.dir.join("java.security");
            fs::write(&file, overrides).expect("write java.security overrides");
            command =
                command.system_property("java.security.properties", file.display().to_string());
        }
        let process = command
            .name(format!("broker {} of {}", broker.id, self.name))
            .arg(&broker.config)
            .heap(&self.heap)
            .fast_startup(self.fast_startup)
            .class_data(self.broker_class_data.clone())
            .jvm_arg("-XX:+UseG1GC")
            .jvm_arg("-XX:MaxGCPauseMillis=20")
            .jvm_arg("-XX:+ExplicitGCInvokesConcurrent")
            .log4j_to_file(&broker.log)
            .output_to_file(&broker.console)
            .spawn();
        *broker.process.lock().unwrap() = Some(process);
    }

    /// Polls until each broker in `ids` accepts connections and answers a
    /// request addressed to it as a registered, unfenced broker.
    fn wait_until_serving(&self, ids: &[i32], deadline: Instant) {
        for &id in ids {
            let broker = &self.brokers[usize::try_from(id).expect("ids are indexes")];
            let address: SocketAddr = broker.address().parse().expect("a socket address");
            while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
                self.check_alive_or_panic(broker, deadline, "accepting connections");
                thread::sleep(POLL_INTERVAL);
            }
        }
        for &id in ids {
            let broker = &self.brokers[usize::try_from(id).expect("ids are indexes")];
            loop {
                let answer = self.admin_ok(&json!({"op": "broker-ready", "id": id}));
                if answer["ready"].as_bool() == Some(true) {
                    break;
                }
                let reason = answer["reason"].as_str().unwrap_or("?").to_string();
                self.check_alive_or_panic(broker, deadline, &format!("serving ({reason})"));
                thread::sleep(POLL_INTERVAL);
            }
        }
    }

    fn check_alive_or_panic(&self, broker: &Broker, deadline: Instant, waiting_for: &str) {
        let exited = broker
            .process
            .lock()
            .unwrap()
            .as_mut()
            .and_then(JavaProcess::try_wait);
        if let Some(status) = exited {
            panic!(
                "broker {} of {} exited ({status}) before {waiting_for}\n{}",
                broker.id,
                self.name,
                broker.log_tail()
            );
        }
        if Instant::now() >= deadline {
            panic!(
                "broker {} of {} not {waiting_for} in time\n{}",
                broker.id,
                self.name,
                broker.log_tail()
            );
        }
    }
}

impl Drop for KafkaCluster {
    fn drop(&mut self) {
        // The admin client first, so it does not log reconnect attempts
        // against brokers going away.
        if let Ok(mut admin) = self.admin.lock() {
            admin.take();
        }
        for broker in &self.brokers {
            if let Ok(mut process) = broker.process.lock() {
                process.take();
            }
        }
        workdir::release(&self.dir, thread::panicking());
    }
}

/// Formats every node's storage in one JVM.
fn format_storage(cluster: &str, cluster_id: &str, brokers: &[Broker], scram: &[String]) {
    let mut cmd = JavaCommand::test_client("format-storage")
        .name(format!("storage format of {cluster}"))
        .args(["--cluster-id", cluster_id]);
    for credential in scram {
        cmd = cmd.args(["--add-scram", credential]);
    }
    for broker in brokers {
        cmd = cmd.arg("--config").arg(&broker.config);
    }
    cmd = if brokers.len() == 1 {
        cmd.arg("--standalone")
    } else {
        let voters = brokers
            .iter()
            .map(|b| format!("{}@127.0.0.1:{}:{}", b.id, b.controller_port, kafka_uuid()))
            .collect::<Vec<_>>()
            .join(",");
        cmd.args(["--initial-controllers", &voters])
    };
    let output = cmd.run(b"");
    assert!(
        output.status.success(),
        "formatting storage of {cluster} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A random id in Kafka's `Uuid` text form (URL-safe base64 of 16 bytes), as
/// `StorageTool random-uuid` prints, without starting a JVM for it. Kafka
/// rejects ids starting with '-' (they look like options).
fn kafka_uuid() -> String {
    loop {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let id = URL_SAFE_NO_PAD.encode(bytes);
        if !id.starts_with('-') && bytes.iter().any(|b| *b != 0) {
            return id;
        }
    }
}
