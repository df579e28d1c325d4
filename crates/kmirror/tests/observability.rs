//! Seeing it work, against real clusters: the REST API (Connect's connector
//! endpoints and kmirror's status), Prometheus metrics, `kmirror status`,
//! the live page in headless Chromium, `kmirror verify`, and API fuzzing
//! from the OpenAPI description.
//!
//! The tests that start kmirror against clusters take turns (`SERIAL`), so
//! that at most three Kafka JVMs (two shared, one of the lag test) run at
//! once besides short-lived Java clients.

mod support;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kmirror_testbed::{shared_cluster, KafkaCluster, ProduceOptions, TestRecord};
use support::{http, total_end_offset, two_region_config, wait_until, Kmirror};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- HTTP ------------------------------------------------------------------

fn get_json(address: &str, path: &str) -> serde_json::Value {
    let (status, body) = http(address, "GET", path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Sum of the samples of `metric` whose labels include every `labels` pair.
fn metric(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, label_text) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if name != metric {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

fn metrics(address: &str) -> String {
    let (status, body) = http(address, "GET", "/metrics", None);
    assert_eq!(status, 200);
    body
}

fn flow_status<'a>(status: &'a serde_json::Value, flow: &str) -> &'a serde_json::Value {
    status["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == flow)
        .unwrap_or_else(|| panic!("no flow {flow} in {status}"))
}

fn records(prefix: &str, count: usize) -> Vec<TestRecord> {
    (0..count)
        .map(|i| {
            TestRecord::new()
                .key(format!("{prefix}-{}", i % 17))
                .value(format!("{prefix}:{i}"))
        })
        .collect()
}

fn kmirror_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kmirror")
}

/// `kmirror verify` with its output; bounded by its own `--timeout`.
fn verify(config: &Path, timeout_seconds: u32) -> (bool, String) {
    let output = Command::new(kmirror_bin())
        .args(["verify", "--config", config.to_str().unwrap()])
        .args(["--timeout", &timeout_seconds.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

// ---- the connector API, metrics, status, live page, verify -----------------

/// The example connector JSON with local addresses, short intervals.
fn example_connector(a: &KafkaCluster, b: &KafkaCluster) -> serde_json::Value {
    let path = kmirror_testbed::repo_root().join("examples/mm2-connector.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            "kafka-a-1:9092,kafka-a-2:9092,kafka-a-3:9092",
            &a.bootstrap(),
        )
        .replace(
            "kafka-b-1:9092,kafka-b-2:9092,kafka-b-3:9092",
            &b.bootstrap(),
        );
    let mut connector: serde_json::Value = serde_json::from_str(&text).unwrap();
    let config = connector["config"].as_object_mut().unwrap();
    config.insert("refresh.topics.interval.seconds".into(), "3".into());
    config.insert("emit.heartbeats.interval.seconds".into(), "1".into());
    connector
}

#[test]
fn connector_api_metrics_status_page_and_verify_on_two_regions() {
    let _turn = serial();
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    for cluster in [a, b] {
        cluster.create_topic("payment-events", 3, 1, &[]);
    }
    // No properties file: the connector comes through the API.
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let mut kmirror = Kmirror::start(&["run", "--state-dir", state_dir]);
    let address = kmirror.wait_rest_address();
    wait_until("readyz 200", Duration::from_secs(30), || {
        http(&address, "GET", "/readyz", None).0 == 200
    });
    assert_eq!(get_json(&address, "/connectors"), serde_json::json!([]));

    // Bad input: 400 with a message, never a 5xx.
    let (status, body) = http(&address, "POST", "/connectors", Some("{\"name\": "));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("malformed JSON"), "{body}");
    let mut unknown = example_connector(a, b);
    unknown["config"]["connector.class"] = "org.example.NotAConnector".into();
    let (status, body) = http(&address, "POST", "/connectors", Some(&unknown.to_string()));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown connector class"), "{body}");
    assert_eq!(
        http(&address, "GET", "/connectors/nope/status", None).0,
        404
    );
    assert_eq!(http(&address, "PUT", "/connectors/nope/pause", None).0, 404);

    // POST the example connector: it replicates both ways.
    let connector = example_connector(a, b);
    let name = connector["name"].as_str().unwrap().to_string();
    let (status, body) = http(
        &address,
        "POST",
        "/connectors",
        Some(&connector.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _) = http(
        &address,
        "POST",
        "/connectors",
        Some(&connector.to_string()),
    );
    assert_eq!(status, 409, "a second POST of the same name conflicts");
    let connector_status = get_json(&address, &format!("/connectors/{name}/status"));
    assert_eq!(connector_status["type"], "source");
    assert_eq!(connector_status["connector"]["state"], "RUNNING");
    assert_eq!(connector_status["tasks"].as_array().unwrap().len(), 2);

    let remote_a = "kafka-a.payment-events";
    let remote_b = "kafka-b.payment-events";
    let before_a = total_end_offset(b, remote_a);
    let before_b = total_end_offset(a, remote_b);
    a.produce(
        "payment-events",
        &ProduceOptions::default(),
        &records("a", 200),
    );
    b.produce(
        "payment-events",
        &ProduceOptions::default(),
        &records("b", 200),
    );
    wait_until(
        "both directions replicated",
        Duration::from_secs(90),
        || {
            total_end_offset(b, remote_a) >= before_a + 200
                && total_end_offset(a, remote_b) >= before_b + 200
        },
    );

    // Metrics moved, per flow and topic.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = metrics(&address);
        let short = metrics_still_short(&text);
        if short.is_empty() {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "metrics did not move within 30 s: {short:?}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for flow in ["kafka-a->kafka-b", "kafka-b->kafka-a"] {
        assert_eq!(
            metric(
                &text,
                "kmirror_flow_state",
                &[("flow", flow), ("state", "running")]
            ),
            1.0
        );
        assert_eq!(
            metric(&text, "kmirror_paused_partitions", &[("flow", flow)]),
            0.0
        );
    }
    wait_until("lag back to zero", Duration::from_secs(30), || {
        let text = metrics(&address);
        metric(&text, "kmirror_lag_records", &[("topic", "payment-events")]) == 0.0
    });
    let status = get_json(&address, "/status");
    let a_to_b = flow_status(&status, "kafka-a->kafka-b");
    assert_eq!(a_to_b["connector"], name.as_str());
    let topic = a_to_b["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "payment-events")
        .unwrap();
    assert_eq!(topic["remote_topic"], remote_a);
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 3);

    // The terminal view, on a pipe: plain text, both flows.
    let output = Command::new(kmirror_bin())
        .args(["status", "--once", "--url", &format!("http://{address}")])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("kafka-a->kafka-b") && screen.contains("kafka-b->kafka-a"),
        "{screen}"
    );
    assert!(
        !screen.contains('\x1b'),
        "no escape codes on a pipe: {screen}"
    );
    eprintln!("kmirror status:\n{screen}");

    // The live page in headless Chromium: both flows (the DOM escapes `>`),
    // a latency chart.
    let page = live_page(&address);
    assert!(
        page.contains("data-flow=\"kafka-a-&gt;kafka-b\""),
        "page: {page}"
    );
    assert!(
        page.contains("data-flow=\"kafka-b-&gt;kafka-a\""),
        "page: {page}"
    );
    let latency_points = latency_chart_points(&page);
    assert!(latency_points > 0, "empty latency chart: {page}");

    // verify passes on the healthy pair.
    let (_dir, properties) = two_region_config(a, b, "");
    let started = Instant::now();
    let (ok, report) = verify(&properties, 60);
    assert!(
        ok,
        "verify failed on a healthy pair:\n{report}\n{}",
        kmirror.log()
    );
    eprintln!("verify ({:?}):\n{report}", started.elapsed());

    // Pause: nothing moves, verify fails naming the flows; resume: nothing lost.
    let (status, _) = http(&address, "PUT", &format!("/connectors/{name}/pause"), None);
    assert_eq!(status, 202);
    let paused = get_json(&address, &format!("/connectors/{name}/status"));
    assert_eq!(paused["connector"]["state"], "PAUSED", "{paused}");
    let at_pause = total_end_offset(b, remote_a);
    a.produce(
        "payment-events",
        &ProduceOptions::default(),
        &records("paused", 150),
    );
    let (ok, report) = verify(&properties, 5);
    assert!(!ok, "verify passed while paused:\n{report}");
    assert!(
        report.contains("kafka-a->kafka-b") && report.contains("FAILED"),
        "{report}"
    );
    assert_eq!(
        total_end_offset(b, remote_a),
        at_pause,
        "records moved while paused"
    );
    let text = metrics(&address);
    assert_eq!(
        metric(
            &text,
            "kmirror_flow_state",
            &[("flow", "kafka-a->kafka-b"), ("state", "paused")]
        ),
        1.0
    );
    let (status, _) = http(&address, "PUT", &format!("/connectors/{name}/resume"), None);
    assert_eq!(status, 202);
    let source_total = total_end_offset(a, "payment-events");
    wait_until("the paused records arrive", Duration::from_secs(60), || {
        total_end_offset(b, remote_a) >= source_total
    });
    assert_eq!(
        total_end_offset(b, remote_a),
        source_total,
        "records lost or duplicated across pause/resume"
    );

    // Connect's restart: 204 plain, 202 with the status when a flag is
    // given; a restarted flow resumes where it stood.
    let restart = |path: &str| http(&address, "POST", path, None);
    let (status, body) = restart(&format!("/connectors/{name}/restart"));
    assert_eq!(status, 204, "{body}");
    let (status, body) = restart(&format!(
        "/connectors/{name}/restart?includeTasks=true&onlyFailed=true"
    ));
    assert_eq!(status, 202, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["name"], name.as_str(), "{answer}");
    assert_eq!(answer["connector"]["state"], "RUNNING", "{answer}");
    let (status, body) = restart(&format!("/connectors/{name}/tasks/0/restart"));
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        restart(&format!("/connectors/{name}/tasks/99/restart")).0,
        404
    );
    assert_eq!(restart("/connectors/nope/restart").0, 404);
    let log = kmirror.log();
    for flow in ["kafka-a->kafka-b", "kafka-b->kafka-a"] {
        assert!(
            log.lines()
                .any(|l| l.contains("flow restarted") && l.contains(&format!("flow={flow}"))),
            "{flow} was not restarted:\n{log}"
        );
    }
    a.produce(
        "payment-events",
        &ProduceOptions::default(),
        &records("restarted", 100),
    );
    let source_total = total_end_offset(a, "payment-events");
    wait_until(
        "records after the restart arrive",
        Duration::from_secs(60),
        || total_end_offset(b, remote_a) >= source_total,
    );
    assert_eq!(
        total_end_offset(b, remote_a),
        source_total,
        "records lost or duplicated across restarts"
    );

    // One direction disabled through the API: the other flow keeps running
    // untouched; verify names the stopped one.
    let lines_before_change = kmirror.log().lines().count();
    let mut config = get_json(&address, &format!("/connectors/{name}/config"));
    config["kafka-b->kafka-a.enabled"] = "false".into();
    let (status, body) = http(
        &address,
        "PUT",
        &format!("/connectors/{name}/config"),
        Some(&config.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let log = kmirror.log();
    assert!(log.contains("connector config changed"), "{log}");
    let unchanged_flow_stopped = log.lines().skip(lines_before_change).any(|l| {
        l.contains("flow=kafka-a->kafka-b")
            && (l.contains("restarted") || l.contains("flow removed") || l.contains("flow paused"))
    });
    assert!(
        !unchanged_flow_stopped,
        "the unchanged flow restarted:\n{log}"
    );
    let (ok, report) = verify(&properties, 10);
    assert!(!ok, "{report}");
    let failed: Vec<&str> = report.lines().filter(|l| l.contains("FAILED")).collect();
    assert!(
        failed.len() == 1 && failed[0].starts_with("kafka-b->kafka-a"),
        "{report}"
    );
    assert!(report.contains("kafka-a->kafka-b  ok"), "{report}");

    // The changed config survives a restart.
    assert!(kmirror.terminate(Duration::from_secs(15)).success());
    let kmirror = Kmirror::start(&["run", "--state-dir", state_dir]);
    let address = kmirror.wait_rest_address();
    wait_until(
        "the connector after a restart",
        Duration::from_secs(30),
        || http(&address, "GET", &format!("/connectors/{name}/config"), None).0 == 200,
    );
    let config = get_json(&address, &format!("/connectors/{name}/config"));
    assert_eq!(config["kafka-b->kafka-a.enabled"], "false", "{config}");
    let (status, _) = http(&address, "DELETE", &format!("/connectors/{name}"), None);
    assert_eq!(status, 204);
    assert_eq!(get_json(&address, "/connectors"), serde_json::json!([]));
    // The log says which flows the deleted connector ran.
    let log = kmirror.log();
    let deleted = log
        .lines()
        .find(|l| l.contains("connector deleted"))
        .unwrap_or_else(|| panic!("no deletion in the log:\n{log}"));
    assert!(
        deleted.contains("flows=kafka-a->kafka-b, kafka-b->kafka-a"),
        "{deleted}"
    );
}

/// Where the page's DOM goes once rendered, and the screenshot.
fn chromium() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("which")
            .arg(candidate)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return candidate.to_string();
        }
    }
    panic!(
        "Chromium is not installed: the live page test needs it \
         (apt-get install -y chromium; .ci/run installs it)"
    );
}

fn chromium_command(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1000",
            "--virtual-time-budget=6000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null());
    command
}

/// Runs `command` for at most 90 s.
fn run_bounded(mut command: Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::process::Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: Vec::new(),
    }
}

/// Opens the page in headless Chromium: its DOM after the scripts ran,
/// and a screenshot (copied to `docs/web-view.png` with
/// `KMIRROR_UPDATE_SCREENSHOT=1`).
fn live_page(address: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{address}/");
    let mut dump = chromium_command(&dir.path().join("profile-dom"));
    dump.arg("--dump-dom").arg(&url);
    let output = run_bounded(dump);
    assert!(output.status.success(), "chromium --dump-dom failed");
    let dom = String::from_utf8_lossy(&output.stdout).to_string();

    let shot: PathBuf = dir.path().join("web-view.png");
    let mut screenshot = chromium_command(&dir.path().join("profile-shot"));
    screenshot
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url);
    let output = run_bounded(screenshot);
    assert!(output.status.success(), "chromium --screenshot failed");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot of {size} bytes");
    let target_copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-view.png");
    std::fs::copy(&shot, &target_copy).unwrap();
    eprintln!("screenshot: {}", target_copy.display());
    if std::env::var_os("KMIRROR_UPDATE_SCREENSHOT").is_some() {
        let docs = kmirror_testbed::repo_root().join("docs/web-view.png");
        std::fs::copy(&shot, &docs).unwrap();
    }
    dom
}

/// Points of the latency chart's lines in the rendered DOM.
fn latency_chart_points(dom: &str) -> usize {
    let Some(start) = dom.find("id=\"latency-chart\"") else {
        return 0;
    };
    let chart = &dom[start..];
    let chart = &chart[..chart.find("</svg>").unwrap_or(chart.len())];
    chart
        .match_indices("data-points=\"")
        .filter_map(|(i, m)| {
            let rest = &chart[i + m.len()..];
            rest[..rest.find('"')?].parse::<usize>().ok()
        })
        .sum()
}

// ---- lag when the target stops ---------------------------------------------

#[test]
fn lag_rises_while_the_target_is_down_and_returns_to_zero() {
    let _turn = serial();
    let a = shared_cluster("kafka-a");
    // A target of its own, to kill.
    let c = KafkaCluster::start("kafka-c");
    a.create_topic("lag-events", 2, 1, &[]);
    let config = format!(
        "clusters = kafka-a, kafka-c\n\
         kafka-a.bootstrap.servers = {}\n\
         kafka-c.bootstrap.servers = {}\n\
         kafka-a->kafka-c.enabled = true\n\
         kafka-a->kafka-c.topics = lag-events\n\
         emit.heartbeats.interval.seconds = 1\n\
         refresh.topics.interval.seconds = 3\n\
         replication.factor = 1\n",
        a.bootstrap(),
        c.bootstrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, config).unwrap();
    let kmirror = Kmirror::run(&path);
    let address = kmirror.wait_rest_address();
    let flow = "kafka-a->kafka-c";
    let lag = |text: &str| {
        metric(
            text,
            "kmirror_lag_records",
            &[("flow", flow), ("topic", "lag-events")],
        )
    };

    a.produce(
        "lag-events",
        &ProduceOptions::default(),
        &records("before", 100),
    );
    wait_until("caught up before the stop", Duration::from_secs(60), || {
        let text = metrics(&address);
        metric(
            &text,
            "kmirror_replicated_records_total",
            &[("flow", flow), ("topic", "lag-events")],
        ) >= 100.0
            && lag(&text) == 0.0
    });
    // `heartbeats` on kafka-a is shared with the earlier tests: until this
    // run's kafka-c->kafka-a flow emits and its heartbeat is replicated, the
    // newest one replicated may be an earlier test's. Once it is, the age
    // stays low while healthy.
    wait_until(
        "a fresh heartbeat replicated while healthy",
        Duration::from_secs(30),
        || {
            metric(
                &metrics(&address),
                "kmirror_heartbeat_age_seconds",
                &[("flow", flow)],
            ) < 5.0
        },
    );

    c.kill_broker(0);
    let killed = Instant::now();
    a.produce(
        "lag-events",
        &ProduceOptions::default(),
        &records("during", 300),
    );
    let mut text = String::new();
    wait_until(
        "lag of the records produced while the target is down",
        Duration::from_secs(60),
        || {
            text = metrics(&address);
            lag(&text) >= 300.0
                && metric(
                    &text,
                    "kmirror_lag_seconds",
                    &[("flow", flow), ("topic", "lag-events")],
                ) > 5.0
                && metric(&text, "kmirror_heartbeat_age_seconds", &[("flow", flow)]) > 10.0
        },
    );
    eprintln!(
        "target down {:?}: lag {} records, {} s; heartbeat age {} s; produce errors {}; paused partitions {}",
        killed.elapsed(),
        lag(&text),
        metric(&text, "kmirror_lag_seconds", &[("flow", flow), ("topic", "lag-events")]),
        metric(&text, "kmirror_heartbeat_age_seconds", &[("flow", flow)]),
        metric(&text, "kmirror_errors_total", &[("flow", flow)]),
        metric(&text, "kmirror_paused_partitions", &[("flow", flow)]),
    );
    // Partitions with lag that do not move for 30 s make the flow failing.
    let mut last = (0, String::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while last.0 != 500 {
        assert!(
            Instant::now() < deadline,
            "readyz not 500 while the target is down: {last:?}; status {}",
            get_json(&address, "/status")
        );
        std::thread::sleep(Duration::from_millis(500));
        last = http(&address, "GET", "/readyz", None);
    }
    eprintln!("readyz 500 {:?} after the target stopped", killed.elapsed());

    c.start_broker(0);
    let restarted = Instant::now();
    wait_until(
        "lag back to zero after the restart",
        Duration::from_secs(150),
        || {
            // One scrape for all three: lag in records and in seconds
            // are read from the same snapshot.
            let text = metrics(&address);
            lag(&text) == 0.0
                && metric(
                    &text,
                    "kmirror_lag_seconds",
                    &[("flow", flow), ("topic", "lag-events")],
                ) == 0.0
                && metric(&text, "kmirror_paused_partitions", &[("flow", flow)]) == 0.0
        },
    );
    eprintln!(
        "lag back to zero {:?} after the target restarted",
        restarted.elapsed()
    );
    let on_target = total_end_offset(&c, "kafka-a.lag-events");
    assert!(
        on_target >= 400,
        "{on_target} records on the target; kmirror's log:\n{}",
        kmirror.log()
    );
    wait_until("heartbeats flow again", Duration::from_secs(30), || {
        metric(
            &metrics(&address),
            "kmirror_heartbeat_age_seconds",
            &[("flow", flow)],
        ) < 5.0
    });
    wait_until("readyz 200 again", Duration::from_secs(30), || {
        http(&address, "GET", "/readyz", None).0 == 200
    });
}

// ---- fuzzing ---------------------------------------------------------------

/// Schemathesis against a kmirror with no clusters (connectors it creates
/// may only name 127.0.0.1): no 5xx, no crash. Every response is checked
/// for server errors; the other checks (schema conformance) were run by
/// hand: the only findings are configs the schema cannot describe (which
/// keys a connector config needs).
#[test]
fn api_fuzzing_finds_no_server_errors() {
    let schemathesis = "schemathesis";
    if Command::new(schemathesis)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        panic!("schemathesis is not installed (pip install schemathesis; .ci/run installs it)");
    }
    let kmirror = Kmirror::start(&["run", "--allow-cluster-hosts", "127.0.0.1"]);
    let address = kmirror.wait_rest_address();
    wait_until("readyz 200", Duration::from_secs(30), || {
        http(&address, "GET", "/readyz", None).0 == 200
    });
    // Schemathesis and Hypothesis keep caches in the working directory.
    let work = tempfile::tempdir().unwrap();
    let mut command = Command::new(schemathesis);
    command
        .current_dir(work.path())
        .args(["run", &format!("http://{address}/openapi.json")])
        .args(["--checks", "not_a_server_error"])
        // Its 500 is documented: the fuzzer's connectors name clusters that
        // do not exist, so their flows fail.
        .args(["--exclude-path", "/readyz"])
        .args(["--max-time", "60", "--workers", "2"])
        .args(["--suppress-health-check", "all"])
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null());
    let output = run_bounded(command);
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}"
    );
    // kmirror survived it.
    assert_eq!(http(&address, "GET", "/livez", None).0, 200);
    assert!(
        !kmirror.log().contains("panicked"),
        "kmirror panicked:\n{}",
        kmirror.log()
    );
}

type Labels<'a> = &'a [(&'a str, &'a str)];

/// The per-flow series that have not moved yet, named with their flow.
fn metrics_still_short(text: &str) -> Vec<String> {
    let mut short = Vec::new();
    for flow in ["kafka-a->kafka-b", "kafka-b->kafka-a"] {
        let topic = [("flow", flow), ("topic", "payment-events")];
        let checks: [(&str, Labels, f64); 6] = [
            ("kmirror_replicated_records_total", &topic, 200.0),
            ("kmirror_replicated_bytes_total", &topic, 1.0),
            ("kmirror_replication_latency_seconds_count", &topic, 1.0),
            ("kmirror_record_age_seconds_count", &topic, 1.0),
            (
                "kmirror_heartbeat_age_seconds",
                &[("flow", flow)],
                f64::MIN_POSITIVE,
            ),
            (
                "kmirror_forwarded_batches_total",
                &[("flow", flow), ("path", "passthrough")],
                1.0,
            ),
        ];
        for (name, labels, at_least) in checks {
            let value = metric(text, name, labels);
            if value < at_least {
                short.push(format!("{name}{{flow={flow}}} = {value}"));
            }
        }
    }
    short
}
