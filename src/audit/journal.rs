//! The journal: every record on disk before the client has the whole response.
//!
//! The writer keeps records in memory until its next batch (up to `flush_interval_ms`), so a
//! process killed at the wrong moment would lose exchanges its clients had already been answered
//! for. Under `audit.durability: fsync_before_reply` (the default) each record is appended here,
//! and the request waits for the append to be on disk (`fdatasync`) before the response's last
//! bytes go out. Appends are committed in groups: one thread writes and syncs whatever has
//! accumulated since its last sync, so at high concurrency many records share one sync.
//!
//! The journal is a series of segment files `<spool>.journal.<n>`. A segment is deleted once
//! every record in it is in the database or the (synced) spool and the journal has moved on to
//! a later segment. Segments left by a process that died are replayed at start, after the spool:
//! records whose id the database already has are skipped, the rest are linked into the new
//! instance's chain. Lines are the spool's: a checksum each, so a line torn by the crash is
//! skipped, and a torn line is always one whose sync had not returned, so its client was never
//! answered in full.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use super::record::ExchangeRecord;
use super::spool::{Entry, ReplayFile, write_pending_line};

/// A segment is closed for appends at this size.
const SEGMENT_BYTES: u64 = 8 << 20;

/// How far the journal has synced: records up to `lsn` are on disk; `failed` once a write or
/// sync failed (nothing is acknowledged after that).
#[derive(Clone, Copy, Debug, Default)]
struct Synced {
    lsn: u64,
    failed: bool,
}

#[derive(Default)]
struct Inner {
    /// Lines not yet written, by segment, in order.
    pending: Vec<(u64, Vec<u8>)>,
    /// The number the next record gets; records `1..next_lsn` have been appended.
    next_lsn: u64,
    /// The segment appends go to, and its size so far.
    segment: u64,
    segment_bytes: u64,
    /// The segment the sync thread last wrote to: segments below it get no more bytes.
    written_segment: u64,
    /// Records of each segment not yet in the database or the synced spool.
    outstanding: BTreeMap<u64, u64>,
    closed: bool,
}

/// The appending side, shared by request handlers and the writer.
pub struct Journal {
    base: PathBuf,
    inner: Mutex<Inner>,
    work: Condvar,
    synced: tokio::sync::watch::Sender<Synced>,
}

/// Where one record sits in the journal, to release it once it is stored elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub segment: u64,
}

/// Waits for one appended record to be on disk.
pub struct Receipt {
    lsn: u64,
    synced: tokio::sync::watch::Receiver<Synced>,
}

impl Receipt {
    /// On disk (true), or the journal failed (false).
    pub async fn wait(mut self) -> bool {
        let lsn = self.lsn;
        match self.synced.wait_for(|s| s.lsn >= lsn || s.failed).await {
            Ok(s) => s.lsn >= lsn,
            Err(_) => false,
        }
    }
}

/// The segment files of a journal at `base` and their numbers, oldest first.
fn segments(base: &Path) -> Vec<(u64, PathBuf)> {
    let (Some(dir), Some(name)) = (base.parent(), base.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().to_string();
            let n = file.strip_prefix(&prefix)?.parse::<u64>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The journal beside a spool file: `warden-audit.spool` → `warden-audit.spool.journal`.
pub fn journal_base(spool_path: &Path) -> PathBuf {
    let mut base = spool_path.as_os_str().to_owned();
    base.push(".journal");
    PathBuf::from(base)
}

impl Journal {
    /// Opens the journal at `base` and starts its sync thread. Returns it and the segments an
    /// earlier process left, to be replayed.
    pub fn open(base: PathBuf) -> std::io::Result<(Arc<Self>, Vec<PathBuf>)> {
        let left = segments(&base);
        let first = left.last().map_or(1, |(n, _)| n + 1);
        let (synced, _) = tokio::sync::watch::channel(Synced::default());
        let journal = Arc::new(Self {
            base,
            inner: Mutex::new(Inner {
                next_lsn: 1,
                segment: first,
                written_segment: first,
                ..Inner::default()
            }),
            work: Condvar::new(),
            synced,
        });
        let thread = journal.clone();
        std::thread::Builder::new()
            .name("warden-journal".into())
            .spawn(move || thread.sync_loop())?;
        Ok((journal, left.into_iter().map(|(_, p)| p).collect()))
    }

    fn path(&self, segment: u64) -> PathBuf {
        let mut p = self.base.as_os_str().to_owned();
        p.push(format!(".{segment}"));
        PathBuf::from(p)
    }

    /// Appends a record; the receipt resolves once it is on disk.
    pub fn append(&self, record: &ExchangeRecord) -> std::io::Result<(Place, Receipt)> {
        // Serialised before the lock: the lock is held only to copy bytes.
        let mut line = Vec::new();
        write_pending_line(&mut line, record)?;
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| std::io::Error::other("journal lock poisoned"))?;
        if inner.closed || self.synced.borrow().failed {
            return Err(std::io::Error::other("the audit journal has failed"));
        }
        if inner.segment_bytes >= SEGMENT_BYTES {
            inner.segment += 1;
            inner.segment_bytes = 0;
        }
        let segment = inner.segment;
        inner.segment_bytes += line.len() as u64;
        *inner.outstanding.entry(segment).or_default() += 1;
        match inner.pending.last_mut() {
            Some((s, buf)) if *s == segment => buf.extend_from_slice(&line),
            _ => inner.pending.push((segment, line)),
        }
        let lsn = inner.next_lsn;
        inner.next_lsn += 1;
        drop(inner);
        self.work.notify_one();
        Ok((
            Place { segment },
            Receipt {
                lsn,
                synced: self.synced.subscribe(),
            },
        ))
    }

    /// A write or sync failed: nothing appended now would be acknowledged.
    pub fn failed(&self) -> bool {
        self.synced.borrow().failed
    }

    /// The record at `place` is stored elsewhere (database, synced spool): its segment may go
    /// once all of its records are.
    pub fn release(&self, place: Place) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some(n) = inner.outstanding.get_mut(&place.segment) {
            *n = n.saturating_sub(1);
        }
        self.collect(&mut inner);
    }

    /// Deletes segments the sync thread has moved past whose records are all stored elsewhere.
    fn collect(&self, inner: &mut Inner) {
        let done: Vec<u64> = inner
            .outstanding
            .iter()
            .filter(|(s, n)| **n == 0 && **s < inner.written_segment)
            .map(|(s, _)| *s)
            .collect();
        for s in done {
            inner.outstanding.remove(&s);
            if let Err(e) = std::fs::remove_file(self.path(s)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, "Cannot remove an audit journal segment.");
                }
            }
        }
    }

    /// Stops the sync thread after what is pending; removes the last segment if every record in
    /// it is stored elsewhere.
    pub fn close(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.closed = true;
        }
        self.work.notify_one();
    }

    fn sync_loop(&self) {
        let mut file: Option<(u64, File)> = None;
        loop {
            let (batch, upto, closed) = {
                let Ok(mut inner) = self.inner.lock() else {
                    return;
                };
                while inner.pending.is_empty() && !inner.closed {
                    inner = match self.work.wait(inner) {
                        Ok(g) => g,
                        Err(_) => return,
                    };
                }
                (
                    std::mem::take(&mut inner.pending),
                    inner.next_lsn - 1,
                    inner.closed,
                )
            };
            if let Err(e) = self.write(&mut file, batch) {
                tracing::error!(error = %e, "The audit journal cannot write; exchanges are no longer recorded before their replies.");
                self.synced.send_modify(|s| s.failed = true);
                return;
            }
            self.synced.send_modify(|s| s.lsn = upto);
            if let Ok(mut inner) = self.inner.lock() {
                if let Some((s, _)) = &file {
                    inner.written_segment = *s;
                }
                if closed && inner.pending.is_empty() {
                    // Nothing more will be written: the last segment may go too.
                    inner.written_segment = u64::MAX;
                    self.collect(&mut inner);
                    return;
                }
                self.collect(&mut inner);
            }
        }
    }

    /// Writes a batch of lines to their segments and syncs the last one (earlier ones are
    /// synced as they are left).
    fn write(
        &self,
        file: &mut Option<(u64, File)>,
        batch: Vec<(u64, Vec<u8>)>,
    ) -> std::io::Result<()> {
        for (segment, bytes) in batch {
            if file.as_ref().is_none_or(|(s, _)| *s != segment) {
                if let Some((_, old)) = file.take() {
                    old.sync_data()?;
                }
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.path(segment))?;
                *file = Some((segment, f));
            }
            if let Some((_, f)) = file.as_mut() {
                f.write_all(&bytes)?;
            }
        }
        if let Some((_, f)) = file.as_ref() {
            f.sync_data()?;
        }
        Ok(())
    }
}

/// Reads a segment an earlier process left: its records in order, and how many lines were torn.
pub fn read_segment(path: &Path) -> std::io::Result<(Vec<ExchangeRecord>, usize)> {
    let mut file = ReplayFile::open(path)?;
    let (mut records, mut damaged) = (Vec::new(), 0);
    while let Some(chunk) = file.next_chunk(usize::MAX, usize::MAX)? {
        damaged += chunk.damaged;
        records.extend(chunk.entries.into_iter().map(|e| match e {
            Entry::Pending(r) => r,
            Entry::Linked(c) => c.record,
        }));
    }
    Ok((records, damaged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::sample;

    fn base() -> PathBuf {
        std::env::temp_dir().join(format!(
            "warden-journal-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ))
    }

    #[tokio::test]
    async fn appended_records_are_on_disk_when_the_receipt_resolves_and_come_back_in_order() {
        let base = base();
        let (journal, left) = Journal::open(base.clone()).expect("open");
        assert!(left.is_empty());
        let mut receipts = Vec::new();
        for i in 0..50 {
            let (_, receipt) = journal
                .append(&sample(&format!("req_{i}")))
                .expect("append");
            receipts.push(receipt);
        }
        for r in receipts {
            assert!(r.wait().await, "synced");
        }
        // A second process finds the segment, and its records in order.
        let (_second, left) = Journal::open(base.clone()).expect("open");
        assert_eq!(left.len(), 1);
        let (records, damaged) = read_segment(&left[0]).expect("read");
        assert_eq!(damaged, 0);
        let ids: Vec<String> = records.into_iter().map(|r| r.id).collect();
        let expected: Vec<String> = (0..50).map(|i| format!("req_{i}")).collect();
        assert_eq!(ids, expected);
    }

    #[tokio::test]
    async fn a_segment_goes_once_its_records_are_stored_elsewhere_and_the_journal_moved_on() {
        let base = base();
        let (journal, _) = Journal::open(base.clone()).expect("open");
        let (place, receipt) = journal.append(&sample("req_a")).expect("append");
        assert!(receipt.wait().await);
        journal.release(place);
        assert_eq!(
            segments(&base).len(),
            1,
            "the segment being appended to stays"
        );
        journal.close();
        for _ in 0..100 {
            if segments(&base).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            segments(&base).is_empty(),
            "closed with nothing outstanding"
        );
    }
}
