//! Where Kafka's jars and our Java helpers come from.
//!
//! The jars are resolved from Maven Central by `testbed/kafka/fetch.sh` into a
//! git-ignored cache, one folder per Kafka version; the helpers under
//! `testbed/java/src` are compiled against them into the same folder. Both
//! happen once per cache, and are checked once per process.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The Kafka version the test bed runs unless `KMIRROR_KAFKA_VERSION` says
/// otherwise. It matches the schemas `kafka-protocol` 0.18 was generated from.
pub const DEFAULT_KAFKA_VERSION: &str = "4.1.2";

/// The kmirror repository this crate was built from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the kmirror-testbed crate lives at <repo>/crates/testbed")
}

/// `KMIRROR_CACHE_DIR`, or `<repo>/.cache`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("KMIRROR_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache"))
}

/// `KMIRROR_KAFKA_VERSION`, or [`DEFAULT_KAFKA_VERSION`].
pub fn kafka_version() -> String {
    std::env::var("KMIRROR_KAFKA_VERSION").unwrap_or_else(|_| DEFAULT_KAFKA_VERSION.to_string())
}

/// The folder holding every jar Kafka, its tools and MirrorMaker 2 need,
/// fetched on first use.
///
/// # Panics
/// When Java, Maven or the jars are unavailable, with a message naming what
/// is missing: a test bed that silently skips would hide untested code.
pub fn kafka_libs() -> PathBuf {
    static LIBS: OnceLock<PathBuf> = OnceLock::new();
    LIBS.get_or_init(|| {
        require_tool("java", "-version");
        let script = repo_root().join("testbed/kafka/fetch.sh");
        let output = Command::new("bash")
            .arg(&script)
            .env("KMIRROR_KAFKA_VERSION", kafka_version())
            .env("KMIRROR_CACHE_DIR", cache_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        if !output.status.success() {
            panic!(
                "{} failed ({}): Kafka {} jars are unavailable\n{}",
                script.display(),
                output.status,
                kafka_version(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let libs = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        let broker_jar = libs.join(format!("kafka_2.13-{}.jar", kafka_version()));
        assert!(
            broker_jar.is_file(),
            "{} reported {} but {} is missing; delete that folder and retry",
            script.display(),
            libs.display(),
            broker_jar.display()
        );
        libs
    })
    .clone()
}

/// The compiled Java helpers (`Launch`, `TestClient`): a folder
/// `classes-<source hash>` in the jar cache, compiled on first use of each
/// version of the sources.
///
/// # Panics
/// When `javac` is missing or the sources do not compile.
pub fn java_classes() -> PathBuf {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES
        .get_or_init(|| compile_java_helpers(&kafka_libs()))
        .clone()
}

/// The Java helpers as one jar (inside [`java_classes`]). JVMs get the jar
/// rather than the folder because class-data sharing accepts only jars.
pub fn java_helpers_jar() -> PathBuf {
    java_classes().join(HELPERS_JAR)
}

/// The class path for every JVM the test bed starts: our helpers, then all of
/// Kafka's jars.
pub fn classpath() -> String {
    format!(
        "{}:{}/*",
        java_helpers_jar().display(),
        kafka_libs().display()
    )
}

/// Identifies the helpers' build, for caches derived from it.
pub(crate) fn java_helpers_hash() -> String {
    fs::read_to_string(java_classes().join(SOURCE_HASH_FILE))
        .expect("the Java helpers' hash is written with them")
        .trim()
        .to_string()
}

/// Identifies the jar set, for caches derived from it: a re-fetch rewrites
/// the marker.
pub(crate) fn kafka_libs_stamp() -> String {
    let marker = kafka_libs().with_file_name("libs.complete");
    fs::read_to_string(marker)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A log4j2 configuration file under `testbed/java/config`.
pub(crate) fn log4j_config(name: &str) -> PathBuf {
    repo_root().join("testbed/java/config").join(name)
}

fn java_sources_dir() -> PathBuf {
    repo_root().join("testbed/java/src")
}

/// A hash of the helper sources decides staleness rather than mtimes, which a
/// checkout or a copy can leave in any order.
const SOURCE_HASH_FILE: &str = ".source-hash";
const HELPERS_JAR: &str = "kmirror-testbed-helpers.jar";

fn compile_java_helpers(libs: &Path) -> PathBuf {
    let sources = java_sources(&java_sources_dir());
    let hash = format!("{:016x}", sources_hash(&sources));
    // One folder per source version, never rewritten: test processes built
    // from different checkouts share the cache without recompiling under
    // each other's running JVMs, and a jar that never changes keeps its
    // class-data archives valid.
    let classes = libs
        .parent()
        .expect("the libs folder has a parent")
        .join(format!("classes-{hash}"));
    if classes.join(SOURCE_HASH_FILE).is_file() {
        return classes;
    }

    require_tool("javac", "-version");
    // Compiled aside and renamed in: no JVM loads a half-written folder.
    let staging = classes.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).expect("create the Java helpers' staging folder");
    let output = Command::new("javac")
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-nowarn")
        .arg("-d")
        .arg(&staging)
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .args(&sources)
        .stdin(Stdio::null())
        .output()
        .expect("run javac");
    if !output.status.success() {
        let _ = fs::remove_dir_all(&staging);
        panic!(
            "javac failed on {}:\n{}",
            java_sources_dir().display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    require_tool("jar", "--version");
    let jar = Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(staging.join(HELPERS_JAR))
        .arg("-C")
        .arg(&staging)
        .arg("dev")
        .stdin(Stdio::null())
        .output()
        .expect("run jar");
    assert!(
        jar.status.success(),
        "jar failed on the compiled Java helpers:\n{}",
        String::from_utf8_lossy(&jar.stderr)
    );
    // Written last: it marks the folder complete.
    fs::write(staging.join(SOURCE_HASH_FILE), &hash).expect("write the Java helpers' hash");

    if let Err(e) = fs::rename(&staging, &classes) {
        // Another process installed the same sources first: use theirs.
        let _ = fs::remove_dir_all(&staging);
        assert!(
            classes.join(SOURCE_HASH_FILE).is_file(),
            "cannot install compiled Java helpers at {}: {e}",
            classes.display()
        );
    }
    classes
}

fn java_sources(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read Java helper sources {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "java") {
                out.push(path);
            }
        }
    }
    let mut sources = Vec::new();
    walk(dir, &mut sources);
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no Java sources under {}",
        dir.display()
    );
    sources
}

/// FNV-1a over the helpers' relative paths and contents.
fn sources_hash(sources: &[PathBuf]) -> u64 {
    let root = java_sources_dir();
    let mut hash = Fnv::new();
    for source in sources {
        let relative = source.strip_prefix(&root).unwrap_or(source);
        hash.feed(relative.to_string_lossy().as_bytes());
        hash.feed(&fs::read(source).expect("read a Java helper source"));
    }
    hash.finish()
}

/// 64-bit FNV-1a, for cache keys: stable across Rust versions, unlike
/// `DefaultHasher`, so caches survive a toolchain update.
#[derive(Debug)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

fn require_tool(tool: &str, version_flag: &str) {
    let found = Command::new(tool)
        .arg(version_flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = found {
        panic!(
            "'{tool}' cannot be run ({e}): the Kafka test bed needs a JDK 17 or newer on PATH \
             (Debian: apt-get install openjdk-17-jdk-headless maven)"
        );
    }
}
