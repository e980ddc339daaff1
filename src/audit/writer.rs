//! The audit writer: request handlers hand it one record per exchange and never wait for the
//! database. A task takes records off a bounded queue, links them into this instance's hash
//! chain, and writes them in batches (on a row count or a deadline, whichever comes first). When
//! the database fails, batches go to the spool and are replayed, in order, once it answers again.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::journal::{Journal, Place, Receipt};
use super::record::{Chain, ChainedRecord, ExchangeRecord};
use super::spool::{Entry, Spool};
use super::store::AuditStore;

#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Rows per database write.
    pub batch_rows: usize,
    /// Longest a record waits in a partial batch.
    pub flush_interval_ms: u64,
    /// Records the queue holds; beyond it, records go straight to the spool.
    pub queue_capacity: usize,
    /// Bytes of prompts and outputs the queue holds (records carry whole prompts, which may be
    /// megabytes each); beyond it, records go straight to the spool. Bounds the writer's memory
    /// when the database falls behind.
    pub queue_max_bytes: usize,
    pub spool_path: PathBuf,
    /// How often a spooling writer tries the database again.
    pub retry_interval_ms: u64,
    /// Apply migrations when the database comes back (it may have been down at start).
    pub migrate_on_recover: bool,
    pub priority: WriterPriority,
    pub durability: Durability,
}

/// What a crash may cost the audit trail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Every record is on disk (the journal, synced) before the response's last bytes go out:
    /// a client that has a whole response has a record, whenever the process dies.
    #[default]
    FsyncBeforeReply,
    /// Records wait in memory for the writer's next batch: cheaper, and a crash (SIGKILL, power
    /// loss) loses the exchanges of the last `flush_interval_ms` or so, answered or not.
    MayLoseRecentOnCrash,
}

/// How the writer thread, and the SQLite threads it starts, share the CPU with requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriterPriority {
    /// Linux's `SCHED_IDLE` (elsewhere, or where it is refused, as `Low`): a request that wakes
    /// preempts the writer at once. Under full CPU load the writer gets only what requests
    /// leave, so records wait in the queue and then the spool until the load drops.
    #[default]
    Idle,
    /// A nice value of [`WRITER_NICE`]: the writer keeps pace under full load, and a request
    /// that wakes during a batch may wait for the rest of the writer's time slice.
    Low,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            batch_rows: 500,
            flush_interval_ms: 100,
            queue_capacity: 10_000,
            queue_max_bytes: 64 << 20,
            spool_path: PathBuf::from("warden-audit.spool"),
            retry_interval_ms: 1_000,
            migrate_on_recover: false,
            priority: WriterPriority::Idle,
            durability: Durability::FsyncBeforeReply,
        }
    }
}

/// The store's state, for `/readyz` and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreState {
    Ok,
    /// The database is not taking writes; records are safe in the spool.
    Spooling,
    /// Neither the database nor the spool takes records.
    Failing,
}

impl StoreState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Spooling => "degraded-spooling",
            Self::Failing => "failing",
        }
    }
}

/// A record could not be queued or spooled: it would be lost.
#[derive(Debug, thiserror::Error)]
#[error("the audit store cannot take records (queue full, spool not writable)")]
pub struct Unavailable;

/// Work the writer task does on a record before storing it, off the request path (e.g. the
/// storage-mode redaction of prompts and outputs).
pub type Finisher = Box<dyn FnOnce(&mut ExchangeRecord) + Send>;

enum Msg {
    /// A record, its finisher, the bytes it holds (counted against `queue_max_bytes`), and its
    /// place in the journal.
    Record(Box<ExchangeRecord>, Option<Finisher>, usize, Option<Place>),
    Flush(oneshot::Sender<()>),
}

struct Shared {
    spool: Spool,
    /// Under [`Durability::FsyncBeforeReply`].
    journal: Option<Arc<Journal>>,
    state: AtomicU8,
    /// Records handed to the writer (the queue's way in; `written` and `spooled` are its ways out).
    submitted: AtomicU64,
    written: AtomicU64,
    spooled: AtomicU64,
    /// The last row this instance wrote to the database: its `seq` (0: none yet).
    head_seq: std::sync::atomic::AtomicI64,
    /// Wakes the writer before its deadline: a full batch is queued, or someone waits on a flush.
    /// A record on its own does not wake it (a wake-up is a syscall and, on a busy core, a
    /// context switch the request would pay for), except the first after an idle spell: with
    /// nothing queued the writer waits on the queue itself, not on a deadline.
    wake: tokio::sync::Notify,
    /// How many times the writer woke up (for the test that an idle writer stays asleep).
    wakeups: AtomicU64,
    /// Queued records that make a batch worth waking the writer for.
    batch_rows: usize,
    /// Bytes the queued records hold, and the most they may.
    queued_bytes: std::sync::atomic::AtomicUsize,
    queue_max_bytes: usize,
}

impl Shared {
    fn set_state(&self, s: StoreState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    fn state(&self) -> StoreState {
        match self.state.load(Ordering::Relaxed) {
            0 => StoreState::Ok,
            1 => StoreState::Spooling,
            _ => StoreState::Failing,
        }
    }
}

/// The handle request handlers use. Cheap to clone.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    instance_id: Arc<str>,
    /// False when the config turns exchange records off (`audit.enabled: false`).
    enabled: bool,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("instance_id", &self.instance_id)
            .field("state", &self.shared.state())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl AuditWriter {
    /// Starts the writer task. It ends when every handle is dropped, after writing what is
    /// queued (to the database, or else to the spool).
    pub fn start(
        store: AuditStore,
        config: WriterConfig,
        instance_id: String,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (journal, journal_left) = match config.durability {
            Durability::MayLoseRecentOnCrash => (None, Vec::new()),
            Durability::FsyncBeforeReply => {
                match Journal::open(super::journal::journal_base(&config.spool_path)) {
                    Ok((j, left)) => (Some(j), left),
                    Err(e) => {
                        tracing::error!(error = %e, "The audit journal cannot open: exchanges cannot be recorded before their replies.");
                        (None, Vec::new())
                    }
                }
            }
        };
        let journal_broken = config.durability == Durability::FsyncBeforeReply && journal.is_none();
        let shared = Arc::new(Shared {
            spool: Spool::new(&config.spool_path),
            journal,
            state: AtomicU8::new(if journal_broken {
                StoreState::Failing
            } else {
                StoreState::Ok
            } as u8),
            submitted: AtomicU64::new(0),
            written: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            head_seq: std::sync::atomic::AtomicI64::new(0),
            wake: tokio::sync::Notify::new(),
            wakeups: AtomicU64::new(0),
            batch_rows: config.batch_rows.max(1),
            queued_bytes: std::sync::atomic::AtomicUsize::new(0),
            queue_max_bytes: config.queue_max_bytes,
        });
        let anchor = Anchor::open(anchor_path(&config.spool_path), &instance_id);
        let chain = Chain::new(instance_id.clone());
        let task_shared = shared.clone();
        let priority = config.priority;
        // The writer runs on a thread of its own with its own runtime and connections: hashing,
        // the storage mode's redaction and the database I/O of a batch never hold up a request
        // on the request path's threads (measured: with one worker thread, sharing it cost a
        // millisecond at p99 per request that arrived during a batch).
        let (ended, on_end) = oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("warden-audit".into())
            .spawn(move || {
                lower_priority(priority);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => rt.block_on(async move {
                        let task = Task {
                            store: store.detached(),
                            chain,
                            shared: task_shared,
                            config,
                            anchor,
                            journal_left,
                            places: Vec::new(),
                        };
                        task.run(rx).await;
                    }),
                    Err(e) => {
                        // Records then go to the spool (the queue is closed).
                        task_shared.set_state(StoreState::Spooling);
                        tracing::error!(error = %e, "The audit writer's runtime could not start; spooling.");
                    }
                }
                let _ = ended.send(());
            });
        if let Err(e) = &spawned {
            shared.set_state(StoreState::Spooling);
            tracing::error!(error = %e, "The audit writer's thread could not start; spooling.");
        }
        let handle = tokio::spawn(async move {
            let _ = on_end.await;
        });
        (
            Self {
                tx,
                shared,
                instance_id: instance_id.into(),
                enabled: true,
            },
            handle,
        )
    }

    /// This writer drops every record it is given (`audit.enabled: false`): for measuring what
    /// auditing costs, and for throwaway development instances. Never for production.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// Whether records are kept at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    pub fn state(&self) -> StoreState {
        self.shared.state()
    }

    /// `seq` of the last row this instance wrote to the database (0: none yet): the head of its
    /// chain, exported as a metric so that a truncated chain can be told from one that ended.
    pub fn head_seq(&self) -> i64 {
        self.shared.head_seq.load(Ordering::Relaxed)
    }

    /// Records submitted so far (each ends up written or spooled, or is still queued).
    pub fn submitted(&self) -> u64 {
        self.shared.submitted.load(Ordering::Relaxed)
    }

    /// Bytes of prompts and outputs waiting in the in-memory queue.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Relaxed)
    }

    /// Bytes waiting in the spool files on disk.
    pub fn spool_bytes(&self) -> u64 {
        self.shared.spool.bytes()
    }

    /// How many times the writer has woken up since it started.
    pub fn wakeups(&self) -> u64 {
        self.shared.wakeups.load(Ordering::Relaxed)
    }

    /// Records written to the database so far.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Records that went to the spool so far.
    pub fn spooled(&self) -> u64 {
        self.shared.spooled.load(Ordering::Relaxed)
    }

    /// Whether a record submitted now would be kept: false while neither the database nor the
    /// spool takes writes.
    pub fn can_accept(&self) -> bool {
        self.shared.state() != StoreState::Failing
            && !self.shared.journal.as_ref().is_some_and(|j| j.failed())
    }

    /// Queues a record; with the queue full, it goes to the spool. Never waits on the database.
    pub fn submit(&self, record: ExchangeRecord) -> Result<Option<Receipt>, Unavailable> {
        let bytes = record.prompt.as_ref().map_or(0, String::len)
            + record.output.as_ref().map_or(0, String::len);
        self.submit_with(record, None, bytes)
    }

    /// Like `submit`, with work for the writer task to do on the record before it is stored.
    /// `bytes`: what the record and its finisher hold (prompts, outputs), for the queue's byte
    /// budget. Under [`Durability::FsyncBeforeReply`] the record is finished here and appended
    /// to the journal: the receipt resolves once it is on disk, and the caller holds the
    /// response's last bytes until then.
    pub fn submit_with(
        &self,
        mut record: ExchangeRecord,
        mut finish: Option<Finisher>,
        bytes: usize,
    ) -> Result<Option<Receipt>, Unavailable> {
        if !self.enabled {
            return Ok(None);
        }
        self.shared.submitted.fetch_add(1, Ordering::Relaxed);
        let (mut place, mut receipt) = (None, None);
        if let Some(journal) = &self.shared.journal {
            // The journal holds only what the storage mode keeps: finished first.
            if let Some(f) = finish.take() {
                f(&mut record);
            }
            match journal.append(&record) {
                Ok((p, r)) => (place, receipt) = (Some(p), Some(r)),
                Err(e) => {
                    tracing::error!(error = %e, "Audit record not journaled: it is kept in memory until the next batch.")
                }
            }
        }
        let queued = self.shared.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        let over_budget = queued > 0 && queued + bytes > self.shared.queue_max_bytes;
        let refused = if over_budget {
            Some((Box::new(record), finish))
        } else {
            match self
                .tx
                .try_send(Msg::Record(Box::new(record), finish, bytes, place))
            {
                Ok(()) => {
                    if self.tx.max_capacity() - self.tx.capacity() >= self.shared.batch_rows {
                        self.shared.wake.notify_one();
                    }
                    None
                }
                Err(
                    mpsc::error::TrySendError::Full(Msg::Record(r, finish, _, _))
                    | mpsc::error::TrySendError::Closed(Msg::Record(r, finish, _, _)),
                ) => Some((r, finish)),
                // Only records are sent here; were it anything else, say so rather than drop it.
                Err(_) => {
                    self.shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                    return Err(Unavailable);
                }
            }
        };
        let Some((mut r, finish)) = refused else {
            return Ok(receipt);
        };
        // Not queued: the bytes are not held, and the record goes to the spool right here.
        self.shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        if over_budget {
            // The writer is behind: wake it, it has more than a batch to do.
            self.shared.wake.notify_one();
        }
        if let Some(f) = finish {
            f(&mut r);
        }
        // A journaled record leaves the journal once the spool has it on disk.
        match self
            .shared
            .spool
            .append(&[Entry::Pending(*r)], place.is_some())
        {
            Ok(()) => {
                self.shared.spooled.fetch_add(1, Ordering::Relaxed);
                if let (Some(journal), Some(place)) = (&self.shared.journal, place) {
                    journal.release(place);
                }
                Ok(receipt)
            }
            Err(e) => {
                self.shared.set_state(StoreState::Failing);
                tracing::error!(error = %e, "Audit record lost: queue full and spool not writable.");
                Err(Unavailable)
            }
        }
    }

    /// Waits until everything submitted before this call is written (to the database, or to the
    /// spool if the database is down). For tests and shutdown; never used on the request path.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            self.shared.wake.notify_one();
            let _ = done.await;
        }
    }
}

/// How much less CPU priority (nice) the writer thread and the SQLite threads it starts take
/// than the request path under [`WriterPriority::Low`], or where `SCHED_IDLE` is refused.
pub const WRITER_NICE: i32 = 10;

/// Puts this thread, and the SQLite threads it starts (they inherit it), behind the request
/// path. Best effort.
///
/// Why `SCHED_IDLE` by default: a nice value alone does not let a waking request in. The SQLite
/// threads, once running a batch, keep their time slice, and a request waiting for the CPU
/// waits with them. Measured in one process with the policy switched between runs (c=1 back to
/// back with `wrk`, 4 KB prompts, SQLite): p99 2.4-3.7 ms with nice 10, 0.7-1.5 ms with
/// `SCHED_IDLE`, 0.45 ms with auditing off. The price, at c=32 with the client, the mock and
/// Warden saturating two cores: `SCHED_IDLE` spooled 114 MB of records in 10 s (all in the
/// database 5 s after the load stopped); nice 10 spooled nothing. A thread cannot leave
/// `SCHED_IDLE` again without `CAP_SYS_NICE`, so the choice is made once, by config.
fn lower_priority(priority: WriterPriority) {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        if priority == WriterPriority::Idle
            && set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Min,
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
            )
            .is_ok()
        {
            return;
        }
        let tid = rustix::thread::gettid();
        let result = rustix::process::getpriority_process(Some(tid))
            .and_then(|now| rustix::process::setpriority_process(Some(tid), now + WRITER_NICE));
        if let Err(e) = result {
            tracing::debug!(error = %e, "The audit writer's priority could not be lowered.");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = priority;
}

struct Task {
    store: AuditStore,
    chain: Chain,
    shared: Arc<Shared>,
    config: WriterConfig,
    anchor: Anchor,
    /// Journal segments an earlier process left, still to be replayed.
    journal_left: Vec<PathBuf>,
    /// The journal places of the batch being built, released once it is stored.
    places: Vec<Place>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<ChainedRecord> = Vec::with_capacity(self.config.batch_rows);
        let flush_every = Duration::from_millis(self.config.flush_interval_ms.max(1));
        let retry_every = Duration::from_millis(self.config.retry_interval_ms.max(10));
        // Whatever an earlier process left in the spool goes in first, then its journal.
        self.replay().await;
        let mut retry = tokio::time::interval(retry_every);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Idle (nothing queued, nothing to retry): sleep until the first message, so that an
            // idle Warden's writer does not wake every flush interval. That message then waits
            // for the deadline like any other.
            let mut first = None;
            if self.shared.state() == StoreState::Ok {
                match rx.recv().await {
                    Some(msg) => first = Some(msg),
                    None => {
                        self.replay().await;
                        if let Some(journal) = &self.shared.journal {
                            journal.close();
                        }
                        return;
                    }
                }
                self.shared.wakeups.fetch_add(1, Ordering::Relaxed);
            }
            // Sleep until the deadline, a full batch, a flush request, or a retry is due.
            tokio::select! {
                () = tokio::time::sleep(flush_every) => {}
                () = self.shared.wake.notified() => {}
                _ = retry.tick(), if self.shared.state() != StoreState::Ok && first.is_none() => {
                    self.shared.wakeups.fetch_add(1, Ordering::Relaxed);
                    self.recover().await;
                    continue;
                }
            }
            self.shared.wakeups.fetch_add(1, Ordering::Relaxed);
            let mut acks = Vec::new();
            let mut closed = false;
            loop {
                match first.take().map_or_else(|| rx.try_recv(), Ok) {
                    Ok(Msg::Record(mut r, finish, bytes, place)) => {
                        self.shared.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                        if let Some(f) = finish {
                            f(&mut r);
                        }
                        self.places.extend(place);
                        batch.push(self.chain.link(*r));
                        if batch.len() >= self.config.batch_rows {
                            self.write(&mut batch).await;
                        }
                    }
                    Ok(Msg::Flush(ack)) => acks.push(ack),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            self.write(&mut batch).await;
            if !acks.is_empty() {
                // A flush also means: try to empty the spool now.
                self.recover().await;
                for ack in acks {
                    let _ = ack.send(());
                }
            }
            if closed {
                self.replay().await;
                if let Some(journal) = &self.shared.journal {
                    journal.close();
                }
                return;
            }
        }
    }

    /// Records the newest row of `written` (just committed) as the chain's head.
    fn advance_head(&mut self, written: &[ChainedRecord]) {
        let Some(last) = written
            .iter()
            .filter(|r| r.instance_id == self.chain.instance_id)
            .max_by_key(|r| r.seq)
        else {
            return;
        };
        if last.seq > self.shared.head_seq.load(Ordering::Relaxed) {
            self.shared.head_seq.store(last.seq, Ordering::Relaxed);
            self.anchor.set(last.seq, &last.hash);
        }
    }

    /// Writes a batch: to the database if the spool is empty and the database answers, else to
    /// the spool (so that order is kept).
    async fn write(&mut self, batch: &mut Vec<ChainedRecord>) {
        if batch.is_empty() {
            return;
        }
        if self.shared.spool.is_empty() {
            match self.store.insert(batch).await {
                Ok(()) => {
                    self.shared
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.shared.set_state(StoreState::Ok);
                    self.advance_head(batch);
                    batch.clear();
                    self.release_places();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, rows = batch.len(), "Audit database write failed; spooling.")
                }
            }
        }
        let entries: Vec<Entry> = batch.drain(..).map(Entry::Linked).collect();
        match self.shared.spool.append(&entries, true) {
            Ok(()) => {
                self.shared
                    .spooled
                    .fetch_add(entries.len() as u64, Ordering::Relaxed);
                self.shared.set_state(StoreState::Spooling);
                self.release_places();
            }
            Err(e) => {
                self.shared.set_state(StoreState::Failing);
                // Those that were journaled stay in the journal, for the next start to replay.
                self.places.clear();
                tracing::error!(error = %e, rows = entries.len(), "Audit records lost: database and spool both failed.");
            }
        }
    }

    /// The batch just written is stored: its records may leave the journal.
    fn release_places(&mut self) {
        if let Some(journal) = &self.shared.journal {
            for place in self.places.drain(..) {
                journal.release(place);
            }
        }
    }

    /// Moves what an earlier process's journal holds into the database, once its spool is in:
    /// records the database already has (written, or replayed from the spool) are skipped.
    /// What fails stays for the next attempt.
    async fn replay_journal(&mut self) {
        if self.journal_left.is_empty() || !self.shared.spool.is_empty() {
            return;
        }
        while let Some(path) = self.journal_left.first().cloned() {
            let (records, damaged) = match super::journal::read_segment(&path) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, path = %path.display(), "Cannot read an audit journal segment.");
                    return;
                }
            };
            let mut recovered = 0;
            for chunk in records.chunks(REPLAY_CHUNK_ROWS) {
                let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
                let present = match self.store.existing_ids(&ids).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::debug!(error = %e, "Audit database unavailable; the journal waits.");
                        return;
                    }
                };
                let missing: Vec<ChainedRecord> = chunk
                    .iter()
                    .filter(|r| !present.contains(&r.id))
                    .map(|r| self.chain.link(r.clone()))
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                recovered += missing.len();
                if let Err(e) = self.store.insert(&missing).await {
                    // Linked now: they keep their place through the spool.
                    let entries: Vec<Entry> = missing.into_iter().map(Entry::Linked).collect();
                    if let Err(e2) = self.shared.spool.append(&entries, true) {
                        tracing::error!(error = %e2, "Cannot spool journal records after a failed insert.");
                        self.shared.set_state(StoreState::Failing);
                        return;
                    }
                    tracing::warn!(error = %e, "Audit database write failed during journal replay; spooled.");
                    self.shared.set_state(StoreState::Spooling);
                } else {
                    self.shared
                        .written
                        .fetch_add(missing.len() as u64, Ordering::Relaxed);
                    self.advance_head(&missing);
                }
            }
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::error!(error = %e, path = %path.display(), "Cannot remove a replayed audit journal segment.");
                return;
            }
            self.journal_left.remove(0);
            if recovered > 0 || damaged > 0 {
                tracing::warn!(
                    recovered,
                    damaged,
                    "Recovered audit records from the journal of a process that stopped without writing them."
                );
            }
        }
    }

    /// While degraded: empty the spool if the database is back; if nothing is spooled (the
    /// spool itself failed), a ping that succeeds ends the failing state.
    async fn recover(&mut self) {
        if self.shared.state() != StoreState::Ok && self.config.migrate_on_recover {
            let _ = self.store.migrate().await;
        }
        if self.shared.spool.is_empty() {
            if self.store.ping().await.is_ok() {
                self.shared.set_state(StoreState::Ok);
            }
        } else {
            self.replay().await;
        }
    }

    /// Moves the spool into the database, in order, a chunk at a time (a spool that grew
    /// during a long outage is never read into memory whole); on failure what is left stays
    /// for next time.
    async fn replay(&mut self) {
        self.replay_spool().await;
        self.replay_journal().await;
    }

    async fn replay_spool(&mut self) {
        // Bounded: appends can arrive while a replay runs; the next tick takes those.
        for _ in 0..4 {
            let mut file = match self.shared.spool.take_for_replay() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, "Cannot read the audit spool.");
                    return;
                }
            };
            let (mut rows, mut damaged, mut inserted_any) = (0usize, 0usize, false);
            loop {
                let contents = match file.next_chunk(REPLAY_CHUNK_ROWS, REPLAY_CHUNK_BYTES) {
                    Ok(Some(c)) => c,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "Cannot read the audit spool.");
                        return;
                    }
                };
                damaged += contents.damaged;
                let had_pending = contents
                    .entries
                    .iter()
                    .any(|e| matches!(e, Entry::Pending(_)));
                let records: Vec<ChainedRecord> = contents
                    .entries
                    .into_iter()
                    .map(|e| match e {
                        Entry::Linked(r) => r,
                        Entry::Pending(r) => self.chain.link(r),
                    })
                    .collect();
                if let Err(e) = self.store.insert(&records).await {
                    // Entries linked just now must keep their place in the chain next time, and
                    // chunks already in the database must not be replayed with pending entries
                    // linked a second time: what is left is rewritten as it now stands.
                    if had_pending || inserted_any {
                        let linked: Vec<Entry> = records.into_iter().map(Entry::Linked).collect();
                        if let Err(e) = self.shared.spool.keep_for_replay(&linked, file) {
                            tracing::error!(error = %e, "Cannot rewrite the audit spool after a failed replay.");
                            self.shared.set_state(StoreState::Failing);
                        }
                    }
                    tracing::debug!(error = %e, "Audit database still unavailable.");
                    return;
                }
                inserted_any = true;
                rows += records.len();
                self.shared
                    .written
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                self.advance_head(&records);
            }
            if damaged > 0 {
                tracing::warn!(damaged, "Skipped damaged audit spool lines (torn writes).");
            }
            if let Err(e) = self.shared.spool.replay_done() {
                tracing::error!(error = %e, "Cannot remove the replayed audit spool.");
                return;
            }
            self.shared.set_state(StoreState::Ok);
            tracing::info!(rows, "Audit spool replayed into the database.");
        }
    }
}

/// A replay reads and inserts the spool this many records (or bytes of spool lines) at a time.
const REPLAY_CHUNK_ROWS: usize = 1_000;
const REPLAY_CHUNK_BYTES: usize = 16 << 20;

/// Where an instance's chain heads are anchored outside the database: beside the spool, with
/// the extension `head` (`warden-audit.spool` → `warden-audit.head`).
pub fn anchor_path(spool_path: &std::path::Path) -> PathBuf {
    spool_path.with_extension("head")
}

/// The chain heads file: one line `instance seq hash` per instance that wrote on this host, this
/// instance's line rewritten after every batch the database took. `warden audit verify --anchor`
/// checks the store still holds each line's row: rows cut from the end of a chain are caught.
struct Anchor {
    path: PathBuf,
    /// The other instances' lines, kept as they were.
    others: String,
    instance: String,
}

impl Anchor {
    fn open(path: PathBuf, instance: &str) -> Self {
        let others = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split(' ').next() != Some(instance) && !l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        Self {
            path,
            others,
            instance: instance.to_string(),
        }
    }

    fn set(&mut self, seq: i64, hash: &str) {
        let tmp = self.path.with_extension("head.tmp");
        let text = format!("{}{} {seq} {hash}\n", self.others, self.instance);
        let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = result {
            tracing::warn!(error = %e, path = %self.path.display(), "Cannot write the audit chain anchor.");
        }
    }
}

/// One line of an anchor file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorLine {
    pub instance: String,
    pub seq: i64,
    pub hash: String,
}

/// Parses an anchor file's lines; malformed lines are errors (the file is evidence).
pub fn parse_anchors(text: &str) -> Result<Vec<AnchorLine>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let mut parts = l.split(' ');
            match (
                parts.next(),
                parts.next().map(str::parse::<i64>),
                parts.next(),
                parts.next(),
            ) {
                (Some(instance), Some(Ok(seq)), Some(hash), None) => Ok(AnchorLine {
                    instance: instance.to_string(),
                    seq,
                    hash: hash.to_string(),
                }),
                _ => Err(format!("line {}: expected `instance seq hash`", i + 1)),
            }
        })
        .collect()
}
