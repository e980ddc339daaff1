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

/// A spool line as read back; [`write_line`] writes the same shape. The checksum is there to
/// find a line torn by a crash, not to resist anyone (the chain's hashes do that): `crc` is
/// CRC-32 of the entry's JSON; `sum`, the first 8 bytes of its SHA-256, is what older versions
/// wrote, still read.
#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    crc: Option<String>,
    #[serde(default)]
    sum: Option<String>,
    entry: Entry,
}

fn checksum(entry_json: &str) -> String {
    format!("{:08x}", crc32fast::hash(entry_json.as_bytes()))
}

fn legacy_checksum(entry_json: &str) -> String {
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
            write_line(&mut buf, entry)?;
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

    /// Bytes waiting on disk: the spool and a replay in progress (what a full disk would stop).
    pub fn bytes(&self) -> u64 {
        let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        len(&self.path) + len(&self.replaying)
    }

    /// The file to replay, oldest entries first: a replay file left by a failed attempt, else
    /// the spool rotated into one. `None` when there is nothing to replay. It is read a chunk at
    /// a time: a spool that grew for hours must not be loaded into memory at once.
    pub fn take_for_replay(&self) -> std::io::Result<Option<ReplayFile>> {
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
        match File::open(&self.replaying) {
            Ok(f) => Ok(Some(ReplayFile {
                reader: BufReader::new(f),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The replayed entries are in the database: forget them.
    pub fn replay_done(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.replaying) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A replay failed: what is left of it is `entries` (the chunk that failed, its pending
    /// entries linked now, which must keep their place in the chain) followed by the lines of
    /// `rest` not read yet. Chunks already in the database are dropped. Written to a temporary
    /// file and renamed, so a crash leaves either version, never neither.
    pub fn keep_for_replay(&self, entries: &[Entry], mut rest: ReplayFile) -> std::io::Result<()> {
        let mut tmp = self.replaying.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = std::io::BufWriter::new(File::create(&tmp)?);
        let mut buf = Vec::new();
        for entry in entries {
            write_line(&mut buf, entry)?;
        }
        f.write_all(&buf)?;
        std::io::copy(&mut rest.reader, &mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.replaying)
    }
}

/// A spool file being replayed, read a chunk at a time.
#[derive(Debug)]
pub struct ReplayFile {
    reader: BufReader<File>,
}

impl ReplayFile {
    /// A file of spool lines, to read from the start.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            reader: BufReader::new(File::open(path)?),
        })
    }

    /// The next entries in order, up to `max_entries` of them or about `max_bytes` of lines;
    /// `None` at the end. Damaged lines (a write torn by a crash) are skipped and counted.
    pub fn next_chunk(
        &mut self,
        max_entries: usize,
        max_bytes: usize,
    ) -> std::io::Result<Option<Contents>> {
        let mut contents = Contents::default();
        let mut bytes = 0;
        let mut line = String::new();
        while contents.entries.len() < max_entries.max(1) && bytes < max_bytes {
            line.clear();
            let n = self.reader.read_line(&mut line)?;
            if n == 0 {
                break;
            }
            bytes += n;
            if let Some(entry) = parse_line(&line, &mut contents.damaged)? {
                contents.entries.push(entry);
            }
        }
        Ok((!contents.entries.is_empty() || contents.damaged > 0).then_some(contents))
    }
}

/// Appends one spool line, `{"crc":…,"entry":…}`: the entry is serialized once, for its
/// checksum and for the line (a clone and a second serialization of a prompt-sized record cost
/// the request path when the queue spills).
pub(super) fn write_line(buf: &mut Vec<u8>, entry: &Entry) -> std::io::Result<()> {
    let entry_json = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    push_line(buf, &entry_json);
    Ok(())
}

/// [`write_line`] of `Entry::Pending(record)`, without the copy of the record that building
/// the entry would take.
pub(super) fn write_pending_line(
    buf: &mut Vec<u8>,
    record: &ExchangeRecord,
) -> std::io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "lowercase")]
    enum EntryRef<'a> {
        Pending(&'a ExchangeRecord),
    }
    let entry_json =
        serde_json::to_string(&EntryRef::Pending(record)).map_err(std::io::Error::other)?;
    push_line(buf, &entry_json);
    Ok(())
}

fn push_line(buf: &mut Vec<u8>, entry_json: &str) {
    buf.extend_from_slice(b"{\"crc\":\"");
    buf.extend_from_slice(checksum(entry_json).as_bytes());
    buf.extend_from_slice(b"\",\"entry\":");
    buf.extend_from_slice(entry_json.as_bytes());
    buf.extend_from_slice(b"}\n");
}

/// One spool line: its entry if intact; `None` (and `damaged` counted) if torn or altered.
fn parse_line(line: &str, damaged: &mut usize) -> std::io::Result<Option<Entry>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Line>(line) {
        Ok(l) => {
            let entry_json = serde_json::to_string(&l.entry).map_err(std::io::Error::other)?;
            let intact = match (&l.crc, &l.sum) {
                (Some(crc), _) => checksum(&entry_json) == *crc,
                (None, Some(sum)) => legacy_checksum(&entry_json) == *sum,
                (None, None) => false,
            };
            if intact {
                Ok(Some(l.entry))
            } else {
                *damaged += 1;
                Ok(None)
            }
        }
        Err(_) => {
            *damaged += 1;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{Chain, sample};

    #[test]
    fn lines_older_versions_wrote_are_still_read_and_a_changed_one_is_not() {
        let entry_json = serde_json::to_string(&Entry::Pending(sample("req_old"))).expect("json");
        let legacy = format!(
            "{{\"sum\":\"{}\",\"entry\":{entry_json}}}\n",
            legacy_checksum(&entry_json)
        );
        let mut damaged = 0;
        let read = parse_line(&legacy, &mut damaged).expect("parse");
        assert!(matches!(read, Some(Entry::Pending(r)) if r.id == "req_old"));
        let altered = legacy.replace("req_old", "req_new");
        assert!(parse_line(&altered, &mut damaged).expect("parse").is_none());
        let mut current = Vec::new();
        write_line(&mut current, &Entry::Pending(sample("req_cur"))).expect("line");
        let current = String::from_utf8(current)
            .expect("utf8")
            .replace("req_cur", "req_xyz");
        assert!(parse_line(&current, &mut damaged).expect("parse").is_none());
        assert_eq!(damaged, 2);
    }

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
        let mut file = spool.take_for_replay().expect("read").expect("a file");
        let c = file
            .next_chunk(100, 1 << 20)
            .expect("read")
            .expect("entries");
        assert!(file.next_chunk(100, 1 << 20).expect("read").is_none());
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
        let mut file = spool.take_for_replay().expect("read").expect("a file");
        let c = file
            .next_chunk(100, 1 << 20)
            .expect("read")
            .expect("entries");
        assert!(matches!(&c.entries[..], [Entry::Pending(r)] if r.id == "req_c"));
        spool.replay_done().expect("done");
        assert!(spool.is_empty());
    }

    #[test]
    fn a_replay_reads_in_chunks_and_a_failed_one_keeps_the_rest_in_order() {
        let path = std::env::temp_dir().join(format!(
            "warden-spool-chunks-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let spool = Spool::new(&path);
        let ids = ["req_0", "req_1", "req_2", "req_3", "req_4"];
        let entries: Vec<Entry> = ids.iter().map(|id| Entry::Pending(sample(id))).collect();
        spool.append(&entries, true).expect("append");
        let mut file = spool.take_for_replay().expect("read").expect("a file");
        let first = file.next_chunk(2, 1 << 20).expect("read").expect("entries");
        assert_eq!(first.entries.len(), 2, "no more than a chunk at a time");
        // The insert of the first chunk failed after its entries were linked: they are kept,
        // linked, ahead of the lines not read yet.
        let mut chain = Chain::new("ins_t".into());
        let linked: Vec<Entry> = first
            .entries
            .into_iter()
            .map(|e| match e {
                Entry::Pending(r) => Entry::Linked(chain.link(r)),
                linked => linked,
            })
            .collect();
        spool.keep_for_replay(&linked, file).expect("kept");
        let mut file = spool.take_for_replay().expect("read").expect("a file");
        let mut seen = Vec::new();
        while let Some(c) = file.next_chunk(2, 1 << 20).expect("read") {
            assert_eq!(c.damaged, 0);
            seen.extend(c.entries.into_iter().map(|e| match e {
                Entry::Linked(r) => format!("linked {} seq {}", r.record.id, r.seq),
                Entry::Pending(r) => format!("pending {}", r.id),
            }));
        }
        assert_eq!(
            seen,
            [
                "linked req_0 seq 1",
                "linked req_1 seq 2",
                "pending req_2",
                "pending req_3",
                "pending req_4"
            ]
        );
        spool.replay_done().expect("done");
        assert!(spool.is_empty());
    }
}
