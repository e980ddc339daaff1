//! The live policy set: swapped atomically on reload, so no request sees half old, half new. A
//! reload that fails keeps the last good set, logs the error once and counts it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use super::{PolicyError, PolicySet, dir_fingerprint};

pub struct PolicyStore {
    current: ArcSwap<PolicySet>,
    dir: PathBuf,
    /// Fingerprint of the directory the last attempt saw, good or bad.
    seen: Mutex<String>,
    /// The last reload's errors, while the directory stays broken.
    last_error: Mutex<Option<String>>,
    reload_failures: AtomicU64,
    reloads: AtomicU64,
}

impl std::fmt::Debug for PolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn describe(errors: &[PolicyError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl PolicyStore {
    /// Loads the set at start. An invalid set is an error: Warden does not start without policy.
    pub fn open(dir: &Path) -> Result<Self, Vec<PolicyError>> {
        let seen = dir_fingerprint(dir);
        let set = PolicySet::load(dir)?;
        Ok(Self::from_set(set, seen))
    }

    /// A store around an already built set (tests, benches).
    pub fn from_set(set: PolicySet, seen: String) -> Self {
        Self {
            dir: set.dir.clone(),
            current: ArcSwap::from_pointee(set),
            seen: Mutex::new(seen),
            last_error: Mutex::new(None),
            reload_failures: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
        }
    }

    pub fn current(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    pub fn reload_failures(&self) -> u64 {
        self.reload_failures.load(Ordering::Relaxed)
    }

    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Reloads if the directory changed (or always, with `force`). Returns whether a new set
    /// went live.
    pub fn reload(&self, force: bool) -> bool {
        let fingerprint = dir_fingerprint(&self.dir);
        {
            let Ok(mut seen) = self.seen.lock() else {
                return false;
            };
            if !force && *seen == fingerprint {
                return false;
            }
            *seen = fingerprint;
        }
        match PolicySet::load(&self.dir) {
            Ok(set) => {
                let version = set.version.clone();
                self.current.store(Arc::new(set));
                self.reloads.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut e) = self.last_error.lock() {
                    *e = None;
                }
                tracing::info!(%version, "Policies reloaded.");
                true
            }
            Err(errors) => {
                let message = describe(&errors);
                self.reload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %message, kept = %self.current().version, "Policy reload failed; keeping the last good policies.");
                if let Ok(mut e) = self.last_error.lock() {
                    *e = Some(message);
                }
                false
            }
        }
    }

    /// Polls the directory every `interval` until `stop` is cancelled.
    pub fn watch(self: Arc<Self>, interval: Duration, stop: CancellationToken) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {
                        let store = self.clone();
                        // Compiling scanners is CPU work: keep it off the request threads' hot loop.
                        let _ = tokio::task::spawn_blocking(move || store.reload(false)).await;
                    }
                }
            }
        });
    }
}
