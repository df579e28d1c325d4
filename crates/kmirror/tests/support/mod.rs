//! Running the `kmirror` binary against test-bed clusters.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kmirror_testbed::KafkaCluster;

mod traffic;
#[allow(unused_imports)]
pub use traffic::*;
mod workers;
#[allow(unused_imports)]
pub use workers::*;
mod scenario;
#[allow(unused_imports)]
pub use scenario::*;
mod fencing;
mod groups;
#[allow(unused_imports)]
pub use fencing::*;
#[allow(unused_imports)]
pub use groups::*;

/// A group id prefix no other kmirror of this test run uses.
pub fn unique_group_prefix() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "kmirror-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A running `kmirror` process; killed when dropped.
pub struct Kmirror {
    child: Option<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kmirror {
    /// Starts `kmirror <args...>` with its log in a temp file.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// [`Kmirror::start`] with extra environment variables (set last, so
    /// they may override the defaults, `KMIRROR_LOG` included).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("kmirror.log");
        let child = Command::new(env!("CARGO_BIN_EXE_kmirror"))
            .args(args)
            .env("KMIRROR_LOG", "info,kmirror_client=debug")
            // Tests run side by side: each its own REST port and state
            // folder (the default `kmirror-state` is relative to the cwd).
            .env("KMIRROR_REST_LISTEN", "127.0.0.1:0")
            // Tests share clusters: each process its own worker group
            // unless a test puts several in one.
            .env("KMIRROR_GROUP_PREFIX", unique_group_prefix())
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("kmirror binary starts");
        Kmirror {
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    /// Starts `kmirror run <config>`.
    pub fn run(config: &Path) -> Self {
        Self::start(&["run", config.to_str().unwrap()])
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The log so far (lossy: a line cut in the middle of a character by
    /// a read during a write must not hide the rest).
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The REST API's address, once kmirror logged it.
    pub fn rest_address(&self) -> Option<String> {
        self.log()
            .lines()
            .find(|l| l.contains("REST API listening"))
            .and_then(|l| l.split("address=").nth(1))
            .map(|a| a.split_whitespace().next().unwrap_or(a).to_string())
    }

    /// The REST API's address, waiting (up to 30 s) until kmirror logs it.
    pub fn wait_rest_address(&self) -> String {
        let mut address = None;
        wait_until(
            "the REST API address in the log",
            Duration::from_secs(30),
            || {
                address = self.rest_address();
                address.is_some()
            },
        );
        address.unwrap()
    }

    /// `GET <path>` on the REST API: the body of a 200 answer as JSON.
    pub fn rest_get(&self, path: &str) -> serde_json::Value {
        let body = self.rest_get_text(path);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// `GET <path>` on the REST API: the body of a 200 answer.
    pub fn rest_get_text(&self, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let address = self
            .rest_address()
            .unwrap_or_else(|| panic!("no REST address in the log:\n{}", self.log()));
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        signal(self.pid(), "TERM");
        self.wait(timeout)
    }

    /// Sends `SIG<name>` (`STOP`, `CONT`, ...) to the process.
    pub fn send_signal(&self, name: &str) {
        signal(self.pid(), name);
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "kmirror did not exit within {timeout:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Kmirror {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- kmirror log ----\n{}", self.log());
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The users' two-region config with the local clusters' addresses plus
/// `extra` lines, written to a temp file.
pub fn two_region_config(
    a: &KafkaCluster,
    b: &KafkaCluster,
    extra: &str,
) -> (tempfile::TempDir, PathBuf) {
    let text = kmirror_testbed::two_region_config(&a.bootstrap(), &b.bootstrap(), extra);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm2.properties");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Polls `condition` every 200 ms until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sum of a topic's end offsets, 0 when it does not exist.
pub fn total_end_offset(cluster: &KafkaCluster, topic: &str) -> i64 {
    if !cluster.list_topics().iter().any(|t| t == topic) {
        return 0;
    }
    cluster.end_offsets(topic).iter().sum()
}

/// One HTTP/1.1 request to kmirror's REST API: status and body (dechunked).
pub fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address)
        .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, rest) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

/// The payload of an HTTP/1.1 chunked body.
pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Kafka's `kafka-acls` tool: Scala in `core` up to 3.9, Java in
/// `kafka-tools` from 4.0 (same options, same output).
pub fn acl_command_class() -> &'static str {
    if kmirror_testbed::kafka_version().starts_with("3.") {
        "kafka.admin.AclCommand"
    } else {
        "org.apache.kafka.tools.AclCommand"
    }
}

/// Kafka's `DumpLogSegments`: Scala in `core` up to 4.2, Java in
/// `kafka-tools` from 4.3 (same options, same output).
pub fn dump_log_segments_class() -> &'static str {
    let version = kmirror_testbed::kafka_version();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (4, 3) {
        "org.apache.kafka.tools.DumpLogSegments"
    } else {
        "kafka.tools.DumpLogSegments"
    }
}
