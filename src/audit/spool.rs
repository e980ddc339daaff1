//! The spool: an append-only file of records that could not reach the database (it was down, or
//! the queue was full), one JSON line each with a checksum, replayed in order when the database
//! is back. Replay is idempotent: records carry their own ids and chain positions.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::{ChainedRecord, ExchangeRecord};

/// One spooled entry: linked into the chain already (spooled by the writer), or not yet (spooled
/// from the request path while the queue was full; linked when replayed).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    Linked(ChainedRecord),
    Pending(ExchangeRecord),
}

#[derive(Serialize, Deserialize)]
struct Line {
    sum: String,
    entry: Entry,
}

fn checksum(entry_json: &str) -> String {
    hex::encode(&Sha256::digest(entry_json.as_bytes())[..8])
}

/// Two files: `<path>` takes appends; `<path>.replaying` holds what a replay is moving into the
/// database. Rotating before a replay lets request handlers keep appending (to a new file) while
/// the database write is in flight, and a failed replay keeps its file for the next attempt.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    replaying: PathBuf,
    file: Mutex<Option<File>>,
}

/// What a replay read: the entries in order, and how many damaged lines (a write torn by a
/// crash) were skipped.
#[derive(Debug, Default)]
pub struct Contents {
    pub entries: Vec<Entry>,
    pub damaged: usize,
}

impl Spool {
    pub fn new(path: &Path) -> Self {
        let mut replaying = path.as_os_str().to_owned();
        replaying.push(".replaying");
        Self {
            path: path.to_path_buf(),
            replaying: PathBuf::from(replaying),
            file: Mutex::new(None),
        }
    }

    /// Appends entries and, with `sync`, waits until they are on disk.
    pub fn append(&self, entries: &[Entry], sync: bool) -> std::io::Result<()> {
        let mut guard = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("spool lock poisoned"))?;
        if guard.is_none() {
            *guard = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let Some(file) = guard.as_mut() else {
            return Err(std::io::Error::other("spool not open"));
        };
        let mut buf = Vec::new();
        for entry in entries {
            let entry_json = serde_json::to_string(entry).map_err(std::io::Error::other)?;
            let line = Line {
                sum: checksum(&entry_json),
                entry: entry.clone(),
            };
            serde_json::to_writer(&mut buf, &line).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        file.write_all(&buf)?;
        if sync {
            file.sync_data()?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        let empty = |p: &Path| std::fs::metadata(p).map_or(true, |m| m.len() == 0);
        empty(&self.path) && empty(&self.replaying)
    }

    /// The entries to replay, oldest first: a replay file left by a failed attempt, else the
    /// spool rotated into one. `None` when there is nothing to replay.
    pub fn take_for_replay(&self) -> std::io::Result<Option<Contents>> {
        let exists = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
        if !exists(&self.replaying) {
            if !exists(&self.path) {
                return Ok(None);
            }
            let mut guard = self
                .file
                .lock()
                .map_err(|_| std::io::Error::other("spool lock poisoned"))?;
            // Appends after this go to a fresh file.
            *guard = None;
            std::fs::rename(&self.path, &self.replaying)?;
        }
        read_file(&self.replaying).map(Some)
    }

    /// The replayed entries are in the database: forget them.
    pub fn replay_done(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.replaying) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A replay failed after linking pending entries: keep them, linked, for the next attempt.
    /// Written to a temporary file and renamed, so a crash leaves either version, never neither.
    pub fn keep_for_replay(&self, entries: &[Entry]) -> std::io::Result<()> {
        let mut tmp = self.replaying.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp)?;
        let mut buf = Vec::new();
        for entry in entries {
            let entry_json = serde_json::to_string(entry).map_err(std::io::Error::other)?;
            serde_json::to_writer(
                &mut buf,
                &Line {
                    sum: checksum(&entry_json),
                    entry: entry.clone(),
                },
            )
            .map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.replaying)
    }
}

fn read_file(path: &Path) -> std::io::Result<Contents> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(e),
    };
    let mut contents = Contents::default();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => {
                let entry_json = serde_json::to_string(&l.entry).map_err(std::io::Error::other)?;
                if checksum(&entry_json) == l.sum {
                    contents.entries.push(l.entry);
                } else {
                    contents.damaged += 1;
                }
            }
            Err(_) => contents.damaged += 1,
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{Chain, sample};

    #[test]
    fn entries_come_back_in_order_and_torn_lines_are_skipped() {
        let path = std::env::temp_dir().join(format!(
            "warden-spool-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let spool = Spool::new(&path);
        let mut chain = Chain::new("ins_t".into());
        let a = Entry::Linked(chain.link(sample("req_a")));
        let b = Entry::Pending(sample("req_b"));
        spool.append(&[a, b], true).expect("append");
        // A crash mid-write leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"sum\":\"00\",\"entry\":{\"pend"))
            .expect("torn write");
        let c = spool.take_for_replay().expect("read").expect("entries");
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.damaged, 1);
        assert!(matches!(&c.entries[0], Entry::Linked(r) if r.record.id == "req_a"));
        assert!(matches!(&c.entries[1], Entry::Pending(r) if r.id == "req_b"));
        // Appends during a replay go to a new file and survive it.
        spool
            .append(&[Entry::Pending(sample("req_c"))], true)
            .expect("append");
        spool.replay_done().expect("done");
        assert!(!spool.is_empty());
        let c = spool.take_for_replay().expect("read").expect("entries");
        assert!(matches!(&c.entries[..], [Entry::Pending(r)] if r.id == "req_c"));
        spool.replay_done().expect("done");
        assert!(spool.is_empty());
    }
}
