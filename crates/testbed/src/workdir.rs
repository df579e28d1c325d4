//! Folders holding a cluster's configs, data and logs.
//!
//! Each lives under `KMIRROR_TESTBED_DIR` (default: the system temp dir) as
//! `kmirror-<cluster>-<pid>-<random>`. It is removed when its cluster is
//! dropped, and kept, with a `KEEP` marker and its path printed, when a test
//! failed or `KMIRROR_KEEP_TESTBED` is set. Clusters that are never dropped
//! (shared ones, or a test process that was killed) leave their folder behind;
//! the next process sweeps those of dead processes that are not marked `KEEP`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Marks a folder as ours, so the sweep never touches anything else.
const OWNER_MARKER: &str = ".kmirror-testbed";
/// Marks a folder to keep for inspection.
const KEEP_MARKER: &str = "KEEP";
const PREFIX: &str = "kmirror-";

fn base_dir() -> PathBuf {
    std::env::var_os("KMIRROR_TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// A new folder for cluster `name`.
pub(crate) fn create(name: &str) -> PathBuf {
    let base = base_dir();
    fs::create_dir_all(&base).unwrap_or_else(|e| panic!("cannot create {}: {e}", base.display()));
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| sweep_stale(&base));
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{name}-{}-", std::process::id()))
        .tempdir_in(&base)
        .unwrap_or_else(|e| panic!("cannot create a folder in {}: {e}", base.display()))
        .keep();
    fs::write(dir.join(OWNER_MARKER), b"").expect("write the owner marker");
    dir
}

/// Removes the folder of a dropped cluster, or keeps it if the test failed.
pub(crate) fn release(dir: &Path, failed: bool) {
    if failed || std::env::var_os("KMIRROR_KEEP_TESTBED").is_some() {
        keep(dir);
    } else if let Err(e) = fs::remove_dir_all(dir) {
        eprintln!("[kmirror-testbed] cannot remove {}: {e}", dir.display());
    }
}

/// Marks the folder to be kept and says where it is.
pub(crate) fn keep(dir: &Path) {
    let _ = fs::write(dir.join(KEEP_MARKER), b"");
    eprintln!(
        "[kmirror-testbed] kept cluster files for inspection: {}",
        dir.display()
    );
}

/// Removes our folders whose process is gone, except those marked `KEEP`.
fn sweep_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PREFIX)
            || !path.join(OWNER_MARKER).exists()
            || path.join(KEEP_MARKER).exists()
        {
            continue;
        }
        let Some(pid) = name.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(&path);
        }
    }
}
