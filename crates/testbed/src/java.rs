//! JVMs that cannot outlive the process that started them.
//!
//! Every JVM runs `dev.kmirror.testbed.Launch <main class> <args>` with a piped
//! stdin whose write end only this process holds. `Launch` halts the JVM as
//! soon as it reads EOF there, which the kernel delivers whenever this process
//! ends, however it ends: a panic, a test timeout or SIGKILL leave no broker
//! behind. The flip side: stdin must stay open for as long as the JVM should
//! run, so programs that want input (only `TestClient`) read it through
//! `Launch.nextLine()` and are told the input ended by a `{"end":true}` line.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::{cds, jars, oauth};

/// The watchdog main class every JVM goes through.
pub const LAUNCH_CLASS: &str = "dev.kmirror.testbed.Launch";
/// The JSON-lines front end to the Java clients (produce, consume, gen, admin).
pub const TEST_CLIENT_CLASS: &str = "dev.kmirror.testbed.TestClient";

/// How many stderr lines a [`JavaProcess`] keeps for error messages.
const STDERR_TAIL_LINES: usize = 200;

/// A JVM to run through `Launch`: main class, arguments and JVM options.
///
/// Defaults suit short-lived tools: 512 MiB heap, C1 only and serial GC for a
/// fast start, log4j warnings to stderr, a 120 s limit for [`JavaCommand::run`].
///
/// ```no_run
/// use kmirror_testbed::JavaCommand;
///
/// // MirrorMaker 2, dedicated mode, for a side-by-side run.
/// let mm2 = JavaCommand::new("org.apache.kafka.connect.mirror.MirrorMaker")
///     .arg("/tmp/mm2.properties")
///     .fast_startup(false)
///     .output_to_file("/tmp/mm2.log")
///     .spawn();
/// // Killed (and reaped) when `mm2` is dropped.
/// # drop(mm2);
/// ```
#[derive(Debug, Clone)]
pub struct JavaCommand {
    name: String,
    main_class: String,
    args: Vec<OsString>,
    jvm_args: Vec<OsString>,
    system_properties: Vec<(String, String)>,
    extra_classpath: Vec<PathBuf>,
    heap: String,
    fast_startup: bool,
    log4j_file: Option<PathBuf>,
    output_file: Option<PathBuf>,
    timeout: Duration,
    class_data: ClassData,
}

/// Which class-data-sharing archive a JVM maps (see `cds.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClassData {
    /// The tools' archive, when there is one.
    Tool,
    Archive(PathBuf),
    /// Record the loaded classes into this file at exit (training).
    DumpTo(PathBuf),
    Off,
}

impl JavaCommand {
    /// A JVM running `main_class` (any class with a `main(String[])`).
    pub fn new(main_class: impl Into<String>) -> Self {
        let main_class = main_class.into();
        Self {
            name: main_class
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_string(),
            main_class,
            args: Vec::new(),
            jvm_args: Vec::new(),
            system_properties: Vec::new(),
            extra_classpath: Vec::new(),
            heap: "512m".to_string(),
            fast_startup: true,
            log4j_file: None,
            output_file: None,
            timeout: Duration::from_secs(120),
            class_data: ClassData::Tool,
        }
    }

    /// `TestClient <subcommand>`.
    pub fn test_client(subcommand: &str) -> Self {
        Self::new(TEST_CLIENT_CLASS)
            .arg(subcommand)
            .name(format!("TestClient {subcommand}"))
    }

    /// The name used in panic messages (defaults to the main class's).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// A raw JVM option, e.g. `-XX:+HeapDumpOnOutOfMemoryError`.
    pub fn jvm_arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.jvm_args.push(arg.as_ref().to_owned());
        self
    }

    /// `-Dkey=value`.
    pub fn system_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.system_properties.push((key.into(), value.into()));
        self
    }

    /// Appends a jar or folder to the class path (after Kafka's jars).
    pub fn classpath_entry(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_classpath.push(path.into());
        self
    }

    /// Maximum heap, as for `-Xmx` (`"512m"`).
    pub fn heap(mut self, heap: impl Into<String>) -> Self {
        self.heap = heap.into();
        self
    }

    /// C1-only JIT: a JVM that starts faster but runs hot code slower. On by
    /// default; off for loads and benchmarks. (The collector is serial
    /// unless a [`JavaCommand::jvm_arg`] picks one, e.g. `-XX:+UseG1GC`.)
    pub fn fast_startup(mut self, fast: bool) -> Self {
        self.fast_startup = fast;
        self
    }

    /// Sends log4j output to this file at INFO (the broker configuration)
    /// instead of stderr at WARN.
    pub fn log4j_to_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log4j_file = Some(path.into());
        self
    }

    /// For [`JavaCommand::spawn`]: appends the JVM's stdout and stderr to this
    /// file instead of capturing them.
    pub fn output_to_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.output_file = Some(path.into());
        self
    }

    /// Whether to map the test bed's class-data archive for tools (default
    /// on): it halves JVM start time, and classes it lacks load as usual.
    pub fn class_data_sharing(mut self, enabled: bool) -> Self {
        self.class_data = if enabled {
            ClassData::Tool
        } else {
            ClassData::Off
        };
        self
    }

    pub(crate) fn class_data(mut self, class_data: ClassData) -> Self {
        self.class_data = class_data;
        self
    }

    /// For [`JavaCommand::run`]: how long the program may take (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn command(&self) -> Command {
        let mut classpath = jars::classpath();
        for entry in &self.extra_classpath {
            classpath.push(':');
            classpath.push_str(&entry.to_string_lossy());
        }
        let mut cmd = Command::new("java");
        cmd.arg(format!("-Xmx{}", self.heap))
            .arg("-XX:-UsePerfData")
            .arg("-Djava.awt.headless=true")
            // JVM warnings default to stdout, where TestClient's JSON goes.
            .arg("-Xlog:disable")
            .arg("-Xlog:all=warning:stderr");
        match &self.class_data {
            ClassData::Tool => {
                if let Some(archive) = cds::tool_archive() {
                    cmd.arg(format!("-XX:SharedArchiveFile={}", archive.display()));
                }
            }
            ClassData::Archive(archive) => {
                cmd.arg(format!("-XX:SharedArchiveFile={}", archive.display()));
            }
            ClassData::DumpTo(archive) => {
                cmd.arg(format!("-XX:ArchiveClassesAtExit={}", archive.display()));
            }
            ClassData::Off => {}
        }
        if self.fast_startup {
            cmd.arg("-XX:TieredStopAtLevel=1");
        }
        let picks_collector = self.jvm_args.iter().any(|a| {
            let a = a.to_string_lossy();
            a.starts_with("-XX:+Use") && a.ends_with("GC")
        });
        if !picks_collector {
            // Less start-up work and fewer GC threads than G1 on two cores.
            cmd.arg("-XX:+UseSerialGC");
        }
        match &self.log4j_file {
            Some(file) => {
                cmd.arg(format!(
                    "-Dlog4j2.configurationFile={}",
                    jars::log4j_config("log4j2-broker.properties").display()
                ))
                .arg(format!("-Dkmirror.log.file={}", file.display()));
            }
            None => {
                cmd.arg(format!(
                    "-Dlog4j2.configurationFile={}",
                    jars::log4j_config("log4j2-tool.properties").display()
                ));
            }
        }
        for (key, value) in &self.system_properties {
            cmd.arg(format!("-D{key}={value}"));
        }
        // Kafka 4.x refuses OAuth URLs not listed here, in brokers and
        // clients alike: list the test bed's token endpoints everywhere.
        let allowed_set = self
            .system_properties
            .iter()
            .any(|(key, _)| key == oauth::ALLOWED_URLS_PROPERTY);
        if let (Some(urls), false) = (oauth::allowed_urls(), allowed_set) {
            cmd.arg(format!("-D{}={urls}", oauth::ALLOWED_URLS_PROPERTY));
        }
        cmd.args(&self.jvm_args)
            .arg("-cp")
            .arg(classpath)
            .arg(LAUNCH_CLASS)
            .arg(&self.main_class)
            .args(&self.args)
            .stdin(Stdio::piped());
        cmd
    }

    /// Runs the program to completion and returns its output; `stdin` is what
    /// `Launch.nextLine()` hands it (end it with `{"end":true}` for
    /// `TestClient`). A non-zero exit is returned, not a panic.
    ///
    /// # Panics
    /// If the JVM cannot start or runs past the timeout (it is killed first).
    pub fn run(&self, stdin: &[u8]) -> Output {
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java for {}: {e}", self.name));
        let stdout = read_all_in_background(child.stdout.take().expect("piped stdout"));
        let stderr = read_all_in_background(child.stderr.take().expect("piped stderr"));
        let mut pipe = child.stdin.take().expect("piped stdin");
        // Launch buffers input lines without limit, so this write cannot
        // deadlock against the program's output; a JVM that died early
        // shows in its exit status, not here.
        if let Err(e) = pipe.write_all(stdin).and_then(|()| pipe.flush()) {
            assert!(
                e.kind() == ErrorKind::BrokenPipe,
                "cannot write stdin of {}: {e}",
                self.name
            );
        }
        let Some(status) = wait_until(&mut child, Instant::now() + self.timeout) else {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "{} did not finish within {:?}; stderr:\n{}",
                self.name,
                self.timeout,
                tail(&String::from_utf8_lossy(&stderr), 60)
            );
        };
        // Only now: closing stdin earlier would have halted the JVM.
        drop(pipe);
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Starts the program and returns at once. Its stdout lines can be read
    /// with [`JavaProcess::read_line`]; its stderr is kept (last lines) for
    /// error messages, unless [`JavaCommand::output_to_file`] was set.
    ///
    /// # Panics
    /// If the JVM cannot start.
    pub fn spawn(&self) -> JavaProcess {
        let mut cmd = self.command();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut stdout_lines = None;
        if let Some(path) = &self.output_file {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
            let err = file.try_clone().expect("clone a file handle");
            cmd.stdout(file).stderr(err);
        } else {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java for {}: {e}", self.name));
        if let Some(out) = child.stdout.take() {
            stdout_lines = Some(lines_in_background(out));
        }
        if let Some(err) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let mut tail = tail.lock().unwrap();
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        JavaProcess {
            name: self.name.clone(),
            stdin: child.stdin.take(),
            child,
            stdout_lines,
            stderr_tail,
            output_file: self.output_file.clone(),
            exit_status: None,
        }
    }
}

/// Runs `main_class` with `args` to completion; `stdin` is handed to the
/// program line by line (see [`JavaCommand::run`]).
pub fn run_java(main_class: &str, args: &[&str], stdin: &[u8]) -> Output {
    JavaCommand::new(main_class).args(args).run(stdin)
}

/// Starts `main_class` with `args` under the stdin watchdog.
pub fn spawn_java(main_class: &str, args: &[&str]) -> JavaProcess {
    JavaCommand::new(main_class).args(args).spawn()
}

/// A running JVM. Dropping it kills the JVM (SIGKILL) and reaps it.
#[derive(Debug)]
pub struct JavaProcess {
    name: String,
    child: Child,
    /// Held open for the JVM's whole life: its EOF is the watchdog's signal.
    stdin: Option<ChildStdin>,
    stdout_lines: Option<Receiver<String>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    output_file: Option<PathBuf>,
    exit_status: Option<ExitStatus>,
}

impl JavaProcess {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Hands one line to the program's `Launch.nextLine()`.
    ///
    /// # Panics
    /// If the JVM is gone.
    pub fn write_line(&mut self, line: &str) {
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin of {} is closed", self.name));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            panic!(
                "{} no longer reads its input ({e}); output:\n{}",
                self.name,
                self.output_tail(40)
            );
        }
    }

    /// The next stdout line, waiting at most `timeout`; `None` on timeout or
    /// once stdout is closed (the JVM exited). Always `None` when output goes
    /// to a file.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        self.stdout_lines.as_ref()?.recv_timeout(timeout).ok()
    }

    /// Closes stdin: the watchdog halts the JVM, as if this process had died.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The exit status if the JVM has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = self.child.try_wait().expect("poll a child process");
        }
        self.exit_status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_wait().is_none()
    }

    /// Waits at most `timeout` for the JVM to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = wait_until(&mut self.child, Instant::now() + timeout);
        }
        self.exit_status
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        // Fails only if the JVM exited since try_wait; wait covers that.
        let _ = self.child.kill();
        let status = self.child.wait().expect("reap a killed child process");
        self.exit_status = Some(status);
        status
    }

    /// SIGTERM (the JVM runs its shutdown hooks, a broker shuts down in a
    /// controlled way), then SIGKILL if it has not exited after `grace`.
    /// Returns the exit status and whether the exit was graceful.
    pub fn terminate(&mut self, grace: Duration) -> (ExitStatus, bool) {
        if let Some(status) = self.try_wait() {
            return (status, true);
        }
        let pid = Pid::from_raw(i32::try_from(self.pid()).expect("pid fits i32"));
        // The child is not reaped until we wait on it, so the pid is still ours.
        let _ = kill(pid, Signal::SIGTERM);
        match self.wait_timeout(grace) {
            Some(status) => (status, true),
            None => (self.kill(), false),
        }
    }

    /// The last `lines` lines the JVM printed (its output file, or its
    /// captured stderr), for error messages.
    pub fn output_tail(&self, lines: usize) -> String {
        match &self.output_file {
            Some(path) => file_tail(path, lines),
            None => {
                let tail = self.stderr_tail.lock().unwrap();
                let skip = tail.len().saturating_sub(lines);
                tail.iter()
                    .skip(skip)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `child` until it exits or `deadline` passes.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(status) = child.try_wait().expect("poll a child process") {
            return Some(status);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn read_all_in_background(mut source: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = source.read_to_end(&mut bytes);
        bytes
    })
}

fn lines_in_background(source: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last `lines` lines of a (log) file, or a note that it cannot be read.
/// Reads only the file's end: a broker log grows to many megabytes.
pub(crate) fn file_tail(path: &Path, lines: usize) -> String {
    const WINDOW: u64 = 256 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(WINDOW)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => tail(&text, lines),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
