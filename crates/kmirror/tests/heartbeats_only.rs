//! A disabled direction (`kafka-b->kafka-a.enabled = false`) runs only its
//! heartbeats, as MM2 runs only the MirrorHeartbeatConnector of such a
//! pair, and every view says so in the same words, "heartbeats only": the
//! log, `GET /status`, the Connect status of the connector's tasks,
//! `kmirror status`, the live page and `kmirror check`.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use kmirror_testbed::shared_cluster;
use support::{http, total_end_offset, wait_until, Kmirror};

const HEARTBEATS_ONLY: &str = "heartbeats only";

fn get_json(address: &str, path: &str) -> serde_json::Value {
    let (status, body) = http(address, "GET", path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn flow<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no flow {name} in {status}"))
}

/// The live page's DOM after its scripts ran, from headless Chromium.
fn live_page(address: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=6000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("http://{address}/"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Chromium is installed (apt-get install -y chromium; .ci/run installs it)");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let mut done = false;
    wait_until("chromium to dump the page", Duration::from_secs(90), || {
        done = child.try_wait().unwrap().is_some();
        done
    });
    reader.join().unwrap()
}

#[test]
fn a_disabled_direction_is_heartbeats_only_in_every_view() {
    let a = shared_cluster("kafka-a");
    let b = shared_cluster("kafka-b");
    a.create_topic("payment-events", 1, 1, &[]);
    b.create_topic("payment-events", 1, 1, &[]);
    let text = kmirror_testbed::two_region_config(&a.bootstrap(), &b.bootstrap(), "").replace(
        "kafka-b->kafka-a.enabled = true",
        "kafka-b->kafka-a.enabled = false",
    );
    assert!(text.contains("kafka-b->kafka-a.enabled = false"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mm2.properties");
    std::fs::write(&config, text).unwrap();

    // `check` calls it so.
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["check", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("kafka-b->kafka-a") && l.contains(HEARTBEATS_ONLY)),
        "{stdout}"
    );

    let mut kmirror = Kmirror::run(&config);
    let mut address = None;
    wait_until("the REST address", Duration::from_secs(30), || {
        address = kmirror.rest_address();
        address.is_some()
    });
    let address = address.unwrap();

    // The flow runs: its heartbeats reach kafka-a (and go on to kafka-b
    // as kafka-a.heartbeats, through the enabled direction), but nothing of
    // kafka-b's topics is replicated.
    wait_until("heartbeats of both flows", Duration::from_secs(60), || {
        total_end_offset(a, "heartbeats") > 0 && total_end_offset(b, "kafka-a.heartbeats") > 0
    });
    wait_until("both flows running", Duration::from_secs(30), || {
        let status = get_json(&address, "/status");
        flow(&status, "kafka-b->kafka-a")["state"] == "running"
            && flow(&status, "kafka-a->kafka-b")["state"] == "running"
    });
    let status = get_json(&address, "/status");
    assert_eq!(flow(&status, "kafka-b->kafka-a")["mode"], HEARTBEATS_ONLY);
    assert_eq!(flow(&status, "kafka-a->kafka-b")["mode"], "replication");
    assert!(!a
        .list_topics()
        .iter()
        .any(|t| t == "kafka-b.payment-events"));

    // The log.
    let log = kmirror.log();
    let added: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("flow added") && l.contains("flow=kafka-b->kafka-a"))
        .collect();
    assert_eq!(added.len(), 1, "{log}");
    assert!(added[0].contains(HEARTBEATS_ONLY), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("flow started: heartbeats only") && l.contains("kafka-b->kafka-a")),
        "{log}"
    );

    // Connect's status: the task runs, and says what it runs.
    let names = get_json(&address, "/connectors");
    let name = names[0].as_str().unwrap();
    let connector = get_json(&address, &format!("/connectors/{name}/status"));
    let tasks = connector["tasks"].as_array().unwrap();
    let task = |flow: &str| {
        tasks
            .iter()
            .find(|t| t["flow"] == flow)
            .unwrap_or_else(|| panic!("no task of {flow}: {connector}"))
    };
    assert_eq!(task("kafka-b->kafka-a")["state"], "RUNNING", "{connector}");
    assert_eq!(
        task("kafka-b->kafka-a")["mode"],
        HEARTBEATS_ONLY,
        "{connector}"
    );
    assert_eq!(
        task("kafka-a->kafka-b")["mode"],
        "replication",
        "{connector}"
    );

    // `kmirror status`.
    let output = Command::new(env!("CARGO_BIN_EXE_kmirror"))
        .args(["status", "--once", "--url", &format!("http://{address}")])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    let line = |flow: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(flow))
            .unwrap_or_else(|| panic!("no line of {flow}: {screen}"))
            .to_string()
    };
    assert!(
        line("kafka-b->kafka-a").contains(HEARTBEATS_ONLY),
        "{screen}"
    );
    assert!(
        !line("kafka-a->kafka-b").contains(HEARTBEATS_ONLY),
        "{screen}"
    );

    // The live page.
    let dom = live_page(&address);
    assert!(dom.contains("running (heartbeats only)"), "{dom}");

    let status = kmirror.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}
