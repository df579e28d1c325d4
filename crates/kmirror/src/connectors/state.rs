//! The state file: connectors created or changed through the REST API and
//! their paused state, so that they survive a restart.
//!
//! `<state-dir>/connectors.json`, rewritten whole (write to a temporary file,
//! then rename) on every change, readable only by its owner: it holds the
//! connectors' configs, secrets included, as Kafka Connect's config topic
//! does. `<state-dir>/lock` is locked while a kmirror uses the directory, so
//! two processes never share one.
//!
//! The properties file given to `run` stays the source of truth for its own
//! connector: the state keeps a copy of the file's text next to what the API
//! changed (paused, deleted, a new config). At the next start those changes
//! apply only if the file is unchanged; an edited file wins.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const STATE_VERSION: u32 = 1;

/// The whole state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredState {
    pub version: u32,
    #[serde(default)]
    pub connectors: Vec<StoredConnector>,
    #[serde(default)]
    pub file: Option<StoredFileConnector>,
}

/// A connector created through the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConnector {
    pub name: String,
    pub config: BTreeMap<String, String>,
    #[serde(default)]
    pub paused: bool,
}

/// What the API changed about the config file's connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFileConnector {
    pub name: String,
    pub path: String,
    /// The file's text when the change was made.
    pub text: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub paused: bool,
    /// A config that replaced the file's, if any.
    #[serde(default)]
    pub config: Option<BTreeMap<String, String>>,
}

/// The state directory, locked for this process.
/// Why the state directory or file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create the state directory {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open {}: {source}", path.display())]
    OpenLock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state directory {} is in use by another kmirror (use --state-dir)", dir.display())]
    InUse { dir: PathBuf },
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a kmirror state file: {source}", path.display())]
    NotAStateFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: written by a newer kmirror (state version {version})", path.display())]
    Newer { path: PathBuf, version: u32 },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    /// Held for the life of the process: the lock is released on close.
    _lock: File,
}

impl StateStore {
    /// Creates the directory if needed and locks it.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StateError::OpenLock {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::InUse {
                    dir: dir.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(StateError::Lock {
                    path: lock_path,
                    source,
                })
            }
        }
        Ok(StateStore {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join("connectors.json")
    }

    /// The saved state; empty when there is none yet.
    pub fn load(&self) -> Result<StoredState, StateError> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoredState::default()),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        let state: StoredState = match serde_json::from_str(&text) {
            Ok(state) => state,
            Err(source) => return Err(StateError::NotAStateFile { path, source }),
        };
        if state.version > STATE_VERSION {
            return Err(StateError::Newer {
                path,
                version: state.version,
            });
        }
        Ok(state)
    }

    /// Replaces the saved state atomically.
    pub fn save(&self, state: &StoredState) -> Result<(), StateError> {
        let path = self.path();
        let temporary = self.dir.join("connectors.json.tmp");
        let text = serde_json::to_string_pretty(state).expect("the state serializes");
        let write = || -> std::io::Result<()> {
            let mut options = File::options();
            options.create(true).truncate(true).write(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            Ok(())
        };
        write().map_err(|source| StateError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_exclusive_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        assert!(store.load().unwrap().connectors.is_empty());
        let state = StoredState {
            version: STATE_VERSION,
            connectors: vec![StoredConnector {
                name: "x".into(),
                config: [("clusters".to_string(), "a, b".to_string())].into(),
                paused: true,
            }],
            file: None,
        };
        store.save(&state).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.connectors[0].name, "x");
        assert!(loaded.connectors[0].paused);
        let second = StateStore::open(dir.path()).unwrap_err();
        assert!(matches!(second, StateError::InUse { .. }), "{second}");
        assert!(second.to_string().contains("in use"), "{second}");
    }
}
