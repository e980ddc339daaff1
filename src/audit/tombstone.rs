//! Sealed tombstones: what retention pruning leaves of a row, authenticated by a key the
//! database does not hold.
//!
//! The audit tables are append-only to everyone but pruning, and pruning is something whoever
//! owns the tables can switch on (`SET warden.prune = 'on'` in Postgres, a row in SQLite's guard
//! table). A tombstone that anyone with that power could write would let them delete any row and
//! leave a chain that verifies. So each tombstone carries a seal: HMAC-SHA256, under the
//! tombstone key, of the row's chain position and hashes, its team and time, when it was pruned
//! and under which retention. The key lives with Warden (`WARDEN_AUDIT_TOMBSTONE_KEY`, or the
//! file `audit.tombstone_key_file`, created when first needed), never in the database, so a table
//! owner without it cannot make a tombstone `warden audit verify` accepts, and verify also checks
//! that the sealed row had reached its retention when it was pruned.

use std::path::Path;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::AuditConfig;
use crate::secret::Secret;

/// What retention pruning leaves of a row: its place in the chain, its hash, and the seal that
/// says Warden pruned it past its retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub id: String,
    pub prev_hash: String,
    pub hash: String,
    pub team: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub pruned_at: DateTime<Utc>,
    pub retention_days: Option<i64>,
    /// Hex HMAC-SHA256 ([`TombstoneKey::seal`]); `None` for tombstones written before seals.
    pub seal: Option<String>,
}

/// The key tombstones are sealed under.
#[derive(Clone)]
pub struct TombstoneKey(Secret);

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the tombstone key {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the tombstone key {path}: {source}")]
    Create {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the tombstone key ({0}) must hold at least 32 characters")]
    Short(String),
}

/// The environment variable that overrides the key file (replicas that prune must share one).
pub const KEY_ENV: &str = "WARDEN_AUDIT_TOMBSTONE_KEY";

impl TombstoneKey {
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        if key.trim().len() < 32 {
            return Err(KeyError::Short("given".into()));
        }
        Ok(Self(Secret::new(key.trim())))
    }

    /// The key from `env` (the value of [`KEY_ENV`]) or the configured file; `None` when
    /// neither exists.
    pub fn load(config: &AuditConfig, env: Option<String>) -> Result<Option<Self>, KeyError> {
        if let Some(key) = env.filter(|k| !k.trim().is_empty()) {
            return Self::new(key)
                .map(Some)
                .map_err(|_| KeyError::Short(KEY_ENV.into()));
        }
        let path = &config.tombstone_key_file;
        match std::fs::read_to_string(path) {
            Ok(text) => Self::new(text)
                .map(Some)
                .map_err(|_| KeyError::Short(path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Read {
                path: path.clone(),
                source,
            }),
        }
    }

    /// The key as [`Self::load`] finds it, else a new random one written to the configured file
    /// (mode 0600, never overwritten): what pruning uses, so that the embedded default prunes
    /// with no setup.
    pub fn load_or_create(config: &AuditConfig, env: Option<String>) -> Result<Self, KeyError> {
        if let Some(key) = Self::load(config, env)? {
            return Ok(key);
        }
        let path = &config.tombstone_key_file;
        create_key_file(path).map_err(|source| KeyError::Create {
            path: path.clone(),
            source,
        })?;
        Self::load(config, None)?.ok_or_else(|| KeyError::Read {
            path: path.clone(),
            source: std::io::Error::other("the new key file is gone"),
        })
    }

    /// A key for another purpose, derived from this one (HMAC-SHA256 of `label`): the one secret
    /// Warden keeps outside its database serves each use under its own key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"warden derived key v1\n");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mac(&self, instance_id: &str, seq: i64, t: &Tombstone) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        // Length-prefixed fields: no two different tombstones share an input.
        let mut field = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        field(b"warden tombstone v1");
        field(instance_id.as_bytes());
        field(&seq.to_be_bytes());
        field(t.id.as_bytes());
        field(t.prev_hash.as_bytes());
        field(t.hash.as_bytes());
        field(t.team.as_deref().unwrap_or("").as_bytes());
        field(&t.occurred_at.timestamp_micros().to_be_bytes());
        field(&t.pruned_at.timestamp_micros().to_be_bytes());
        field(&t.retention_days.unwrap_or(-1).to_be_bytes());
        mac
    }

    /// The seal of a tombstone at `seq` of `instance_id`'s chain (hex).
    pub fn seal(&self, instance_id: &str, seq: i64, t: &Tombstone) -> String {
        hex::encode(self.mac(instance_id, seq, t).finalize().into_bytes())
    }

    /// Whether the tombstone is sealed under this key and was pruned past its retention; why
    /// not, if not.
    pub fn check(&self, instance_id: &str, seq: i64, t: &Tombstone) -> Result<(), String> {
        let Some(seal) = t.seal.as_deref() else {
            return Err("it has no seal".into());
        };
        let bytes = hex::decode(seal).map_err(|_| "its seal is not hex".to_string())?;
        // `verify_slice` compares in constant time.
        self.mac(instance_id, seq, t)
            .verify_slice(&bytes)
            .map_err(|_| {
                "its seal does not match: not written by Warden under this key".to_string()
            })?;
        let days = t.retention_days.unwrap_or(-1);
        if days < 0 || t.pruned_at - t.occurred_at < chrono::Duration::days(days) {
            return Err(format!(
                "the row was {} days old when pruned, inside its {days}-day retention",
                (t.pruned_at - t.occurred_at).num_days()
            ));
        }
        Ok(())
    }
}

fn create_key_file(path: &Path) -> std::io::Result<()> {
    use rand::RngCore;
    use std::io::Write;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match options.open(path) {
        Ok(mut file) => {
            writeln!(file, "{}", hex::encode(bytes))?;
            file.sync_all()
        }
        // Another process made it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tombstone() -> Tombstone {
        let pruned_at = Utc::now();
        Tombstone {
            id: "req_1".into(),
            prev_hash: "a".repeat(64),
            hash: "b".repeat(64),
            team: Some("support".into()),
            occurred_at: pruned_at - chrono::Duration::days(31),
            pruned_at,
            retention_days: Some(30),
            seal: None,
        }
    }

    #[test]
    fn a_seal_checks_only_under_its_key_and_for_exactly_what_it_sealed() {
        let key = TombstoneKey::new("k".repeat(32)).expect("key");
        let other = TombstoneKey::new("o".repeat(32)).expect("key");
        let mut t = tombstone();
        assert!(key.check("i", 3, &t).is_err(), "no seal");
        t.seal = Some(key.seal("i", 3, &t));
        assert_eq!(key.check("i", 3, &t), Ok(()));
        assert!(other.check("i", 3, &t).is_err(), "another key");
        assert!(key.check("i", 4, &t).is_err(), "another position");
        assert!(key.check("j", 3, &t).is_err(), "another instance");
        for change in [
            |t: &mut Tombstone| t.hash = "c".repeat(64),
            |t: &mut Tombstone| t.team = Some("platform".into()),
            |t: &mut Tombstone| t.retention_days = Some(1),
            |t: &mut Tombstone| t.occurred_at -= chrono::Duration::days(100),
        ] {
            let mut changed = t.clone();
            change(&mut changed);
            assert!(key.check("i", 3, &changed).is_err(), "{changed:?}");
        }
    }

    #[test]
    fn a_row_pruned_inside_its_retention_is_refused_even_when_sealed() {
        let key = TombstoneKey::new("k".repeat(32)).expect("key");
        let mut t = tombstone();
        t.occurred_at = t.pruned_at - chrono::Duration::days(2);
        t.seal = Some(key.seal("i", 1, &t));
        let why = key.check("i", 1, &t).expect_err("inside retention");
        assert!(why.contains("inside its 30-day retention"), "{why}");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TombstoneKey::new("short").is_err());
    }
}
