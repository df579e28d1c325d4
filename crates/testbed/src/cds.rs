//! Class-data sharing: archives of already parsed classes that let a JVM
//! skip most class loading. On this two-core machine they take a TestClient
//! start from about 2 s to 1 s and a broker's from about 4 s to 2 s, and a
//! test run starts dozens of each.
//!
//! Each archive is trained once per cache by a JVM run with
//! `-XX:ArchiveClassesAtExit`, which records the classes it loaded when it
//! exits normally: `TestClient warmup` for tools, a broker started and stopped
//! gracefully for brokers. The JVM ignores (with a warning on stderr) an
//! archive made with other jars or another JDK, so the file name carries a
//! hash of the helpers, the jar set and the `java` binary. A training failure
//! only costs speed: the JVMs then start without an archive.
//!
//! `KMIRROR_TESTBED_CDS=0` turns archives off.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::cluster::KafkaCluster;
use crate::jars::{self, Fnv};
use crate::java::{tail, ClassData, JavaCommand};

/// The archive for tools (TestClient, StorageTool, MirrorMaker...).
pub(crate) fn tool_archive() -> Option<PathBuf> {
    static ARCHIVE: OnceLock<Option<PathBuf>> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| ensure("tool", train_tool_archive))
        .clone()
}

/// The archive for brokers.
pub(crate) fn broker_archive() -> Option<PathBuf> {
    static ARCHIVE: OnceLock<Option<PathBuf>> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| ensure("broker", train_broker_archive))
        .clone()
}

fn enabled() -> bool {
    std::env::var("KMIRROR_TESTBED_CDS").map_or(true, |v| v != "0")
}

/// The archive `kind`, trained by `train(staging path)` if missing.
fn ensure(kind: &str, train: fn(&Path) -> Result<(), String>) -> Option<PathBuf> {
    if !enabled() {
        return None;
    }
    let dir = jars::kafka_libs().with_file_name("cds");
    let archive = dir.join(format!("{kind}-{:016x}.jsa", archive_key()));
    if archive.is_file() {
        return Some(archive);
    }
    fs::create_dir_all(&dir).ok()?;
    // Trained aside and renamed in: concurrent processes may both train, and
    // a JVM must never map a half-written archive.
    let staging = dir.join(format!("{kind}.jsa.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&staging);
    let started = Instant::now();
    eprintln!("[kmirror-testbed] training the {kind} class-data archive (once per cache)");
    let trained = catch_unwind(AssertUnwindSafe(|| train(&staging)))
        .unwrap_or_else(|_| Err("training panicked (see above)".to_string()));
    match trained.and_then(|()| {
        fs::rename(&staging, &archive).map_err(|e| format!("cannot install the archive: {e}"))
    }) {
        Ok(()) => {
            remove_stale(&dir, kind, &archive);
            eprintln!(
                "[kmirror-testbed] {kind} class-data archive ready after {:.1?}: {}",
                started.elapsed(),
                archive.display()
            );
            Some(archive)
        }
        Err(reason) => {
            let _ = fs::remove_file(&staging);
            eprintln!(
                "[kmirror-testbed] no {kind} class-data archive, JVMs start slower: {reason}"
            );
            None
        }
    }
}

fn train_tool_archive(staging: &Path) -> Result<(), String> {
    let output = JavaCommand::test_client("warmup")
        .name("class-data training (tools)")
        .class_data(ClassData::DumpTo(staging.to_path_buf()))
        .timeout(Duration::from_secs(120))
        .run(b"");
    if !output.status.success() || !staging.is_file() {
        // The JVM's notes on classes it could not archive would bury the cause.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let relevant: String = stderr
            .lines()
            .filter(|l| !l.contains("[cds]"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!(
            "TestClient warmup exited {} without an archive:\n{}",
            output.status,
            tail(&relevant, 20)
        ));
    }
    Ok(())
}

fn train_broker_archive(staging: &Path) -> Result<(), String> {
    let cluster = KafkaCluster::builder("cds-training")
        .train_class_archive(staging.to_path_buf())
        .start();
    // Serve a little so that request-path classes get recorded too.
    let topic = crate::random_topic_name("warmup");
    cluster.create_topic(&topic, 2, 1, &[("cleanup.policy", "compact")]);
    cluster.end_offsets(&topic);
    // The archive is written as the JVM exits, so only a graceful stop works.
    cluster.stop_broker(0);
    if staging.is_file() {
        Ok(())
    } else {
        Err(format!(
            "the training broker exited without writing an archive; see {}",
            cluster.dir().join("broker-0/console.log").display()
        ))
    }
}

/// Removes archives of `kind` for other helpers, jars or JDKs (50 MB each)
/// once a day old: younger ones may serve a test process built from another
/// checkout right now, which would otherwise retrain in turn. A JVM still
/// mapping a removed archive keeps its pages.
fn remove_stale(dir: &Path, kind: &str, current: &Path) {
    const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_AFTER);
        if old && path != current && name.starts_with(&format!("{kind}-")) && name.ends_with(".jsa")
        {
            let _ = fs::remove_file(path);
        }
    }
}

/// What an archive depends on besides its kind: the helpers, the jars and the
/// JVM that reads it.
fn archive_key() -> u64 {
    let mut key = Fnv::new();
    key.feed(jars::java_helpers_hash().as_bytes());
    // The JVM checks each jar's mtime against the archive's record of it.
    let jar_modified = fs::metadata(jars::java_helpers_jar())
        .and_then(|m| m.modified())
        .map(|t| format!("{t:?}"))
        .unwrap_or_default();
    key.feed(jar_modified.as_bytes());
    key.feed(jars::kafka_libs_stamp().as_bytes());
    key.feed(java_identity().as_bytes());
    key.finish()
}

/// The `java` on PATH, resolved through its symlinks, and the modification
/// time of its `libjvm.so`, which a JDK update replaces.
fn java_identity() -> String {
    let Some(java) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("java"))
            .find(|candidate| candidate.is_file())
    }) else {
        return String::new();
    };
    let java = java.canonicalize().unwrap_or(java);
    let libjvm = java
        .parent()
        .and_then(Path::parent)
        .map(|home| home.join("lib/server/libjvm.so"));
    let modified = libjvm
        .and_then(|lib| fs::metadata(lib).ok())
        .and_then(|m| m.modified().ok())
        .map(|t| format!("{t:?}"))
        .unwrap_or_default();
    format!("{}|{modified}", java.display())
}
