//! The audit stores: Postgres in production, SQLite as the embedded default. Same tables, same
//! queries; the SQL differs only in placeholders, which each backend's query builder writes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::audit::tombstone::TombstoneKey;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};

use super::record::{
    ChainBreak, ChainedRecord, Decision, ExchangeRecord, FindingRow, Tombstone, ToolCallRow,
    ToolResultRow, chain_hash, verify_chain,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("audit database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("audit migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("audit row {0} is not readable: {1}")]
    Row(String, String),
}

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Rows per multi-row INSERT: Postgres allows 65,535 bind parameters; exchanges bind 30 each.
const ROWS_PER_INSERT: usize = 1_000;

#[derive(Clone, Debug)]
pub enum AuditStore {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same body for either backend: the query builder and row types differ by backend,
/// the SQL and the logic do not.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            AuditStore::Postgres($pool) => $body,
            AuditStore::Sqlite($pool) => $body,
        }
    };
}

/// Which exchanges `search` returns; every field narrows the result.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Warden's request id or the upstream's.
    pub id: Option<String>,
    /// The items of the batch this exchange created.
    pub parent_id: Option<String>,
    pub team: Option<String>,
    pub principal: Option<String>,
    pub key_id: Option<String>,
    pub model: Option<String>,
    pub decision: Option<String>,
    /// Exchanges with at least one finding of this class.
    pub class: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Exchanges of teams other than these.
    pub teams_not: Vec<String>,
}

enum Order {
    Chain,
    NewestFirst,
}

/// Appends ` WHERE …` for a filter to a query over `exchanges e`.
macro_rules! push_filter {
    ($q:ident, $f:expr) => {{
        let f = $f;
        $q.push(" WHERE 1 = 1");
        // Warden's request id, or the upstream's (the one the SDKs report in their errors).
        if let Some(id) = &f.id {
            $q.push(" AND (e.id = ")
                .push_bind(id.clone())
                .push(" OR e.upstream_request_id = ")
                .push_bind(id.clone())
                .push(")");
        }
        for (column, value) in [
            ("e.parent_id", &f.parent_id),
            ("e.team", &f.team),
            ("e.principal", &f.principal),
            ("e.key_id", &f.key_id),
            ("e.model", &f.model),
            ("e.decision", &f.decision),
        ] {
            if let Some(v) = value {
                $q.push(format!(" AND {column} = ")).push_bind(v.clone());
            }
        }
        if let Some(class) = &f.class {
            $q.push(" AND EXISTS (SELECT 1 FROM findings fc WHERE fc.exchange_id = e.id AND fc.class = ")
                .push_bind(class.clone())
                .push(")");
        }
        if let Some(t) = f.since {
            $q.push(" AND e.occurred_at >= ").push_bind(t);
        }
        if let Some(t) = f.until {
            $q.push(" AND e.occurred_at < ").push_bind(t);
        }
        if !f.teams_not.is_empty() {
            $q.push(" AND e.team NOT IN (");
            let mut sep = $q.separated(", ");
            for t in &f.teams_not {
                sep.push_bind(t.clone());
            }
            $q.push(")");
        }
    }};
}

/// The rows of a child table (findings, tool calls, tool results) that belong to the exchanges
/// a filter selects, in exchange and ordinal order.
macro_rules! child_rows {
    ($pool:ident, $select:expr, $filter:expr, $order:expr, $limit:expr) => {{
        let mut q = QueryBuilder::new(format!(
            "{} WHERE exchange_id IN (SELECT e.id FROM exchanges e",
            $select
        ));
        push_filter!(q, $filter);
        q.push($order);
        if let Some(n) = $limit {
            q.push(" LIMIT ").push_bind(n);
        }
        q.push(") ORDER BY exchange_id, ordinal");
        q.build().fetch_all(&mut *$pool).await?
    }};
}

/// Inserts one child table's rows (findings, tool calls, tool results) of a batch: multi-row
/// inserts keyed by (exchange id, ordinal), skipping rows already present.
macro_rules! insert_children {
    ($tx:ident, $records:expr, $field:ident, $insert:expr, |$b:ident, $row:ident| $binds:block) => {{
        let rows: Vec<_> = $records
            .iter()
            .flat_map(|c| {
                c.record
                    .$field
                    .iter()
                    .enumerate()
                    .map(move |(i, r)| (c.record.id.as_str(), i, r))
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::new($insert);
            q.push_values(chunk, |mut $b, (id, i, $row)| {
                $b.push_bind(*id).push_bind(*i as i32);
                $binds
            });
            q.push(" ON CONFLICT (exchange_id, ordinal) DO NOTHING");
            q.build().execute(&mut *$tx).await?;
        }
    }};
}

const EXCHANGE_COLUMNS: &str = "id, instance_id, seq, occurred_at, upstream_request_id, key_id, principal, team, \
client_addr, user_agent, endpoint, model, streamed, policy_name, policy_version, decision, status, rule, \
latency_us, upstream_latency_us, input_tokens, output_tokens, storage_mode, prompt, output, prev_hash, hash, traceparent, \
parent_id, custom_id, cache_read_tokens, cache_write_tokens";

const FINDING_COLUMNS: &str = "exchange_id, ordinal, class, rule, action, location, span_start, span_end, length, fingerprint";

impl AuditStore {
    /// Connects to `postgres://…` or opens `sqlite://…` (created if missing).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Lazy: a database that is down when Warden starts must not keep it from starting;
            // records spool until it answers.
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(std::time::Duration::from_secs(5))
                .connect_lazy(url)?;
            Ok(Self::Postgres(pool))
        } else {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Self::open_sqlite(Path::new(path)).await
        }
    }

    /// A new pool onto the same database, its connections opened lazily by whoever uses it
    /// first: the audit writer's own thread takes one so that its I/O is driven there, not by
    /// the request path's runtime. Call it inside the runtime that will use it.
    pub fn detached(&self) -> Self {
        match self {
            Self::Postgres(pool) => Self::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(std::time::Duration::from_secs(5))
                    .connect_lazy_with((*pool.connect_options()).clone()),
            ),
            Self::Sqlite(pool) => Self::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_lazy_with((*pool.connect_options()).clone()),
            ),
        }
    }

    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Rows carry whole prompts (4–10 KB is common): with the default 4 KB pages most
            // spill into overflow pages. 64 KB pages: +22 % records/s with 4 KB prompts, +15 %
            // with 0.5 KB ones (`cargo bench --bench audit`). Applies when the file is created;
            // an existing WAL database keeps its page size.
            .page_size(65536)
            // Each multi-row INSERT inside a batch's transaction keeps a statement journal; on
            // disk that is a temporary file created and unlinked per statement.
            .pragma("temp_store", "memory")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Self::Sqlite(pool))
    }

    /// Whether the store holds Warden's tables (it was migrated).
    pub async fn has_tables(&self) -> bool {
        let q = "SELECT 1 FROM exchanges LIMIT 1";
        match self {
            Self::Postgres(pool) => sqlx::query(q).fetch_optional(pool).await.is_ok(),
            Self::Sqlite(pool) => sqlx::query(q).fetch_optional(pool).await.is_ok(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(p) => PG_MIGRATIONS.run(p).await?,
            Self::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Inserts records in one transaction. Rows already present (same id) are skipped, so a
    /// replay of the spool after a partial failure inserts each record exactly once.
    pub async fn insert(&self, records: &[ChainedRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in records.chunks(ROWS_PER_INSERT) {
                let mut q = QueryBuilder::new(format!("INSERT INTO exchanges ({EXCHANGE_COLUMNS}) "));
                q.push_values(chunk, |mut b, c| {
                    let r = &c.record;
                    b.push_bind(r.id.as_str())
                        .push_bind(c.instance_id.as_str())
                        .push_bind(c.seq)
                        .push_bind(r.occurred_at)
                        .push_bind(r.upstream_request_id.as_deref())
                        .push_bind(r.key_id.as_str())
                        .push_bind(r.principal.as_str())
                        .push_bind(r.team.as_str())
                        .push_bind(r.client_addr.as_deref())
                        .push_bind(r.user_agent.as_deref())
                        .push_bind(r.endpoint.as_str())
                        .push_bind(r.model.as_deref())
                        .push_bind(r.streamed)
                        .push_bind(r.policy_name.as_deref())
                        .push_bind(r.policy_version.as_deref())
                        .push_bind(r.decision.as_str())
                        .push_bind(r.status)
                        .push_bind(r.rule.as_deref())
                        .push_bind(r.latency_us)
                        .push_bind(r.upstream_latency_us)
                        .push_bind(r.input_tokens)
                        .push_bind(r.output_tokens)
                        .push_bind(r.storage_mode.as_str())
                        .push_bind(r.prompt.as_deref())
                        .push_bind(r.output.as_deref())
                        .push_bind(c.prev_hash.as_str())
                        .push_bind(c.hash.as_str())
                        .push_bind(r.traceparent.as_deref())
                        .push_bind(r.parent_id.as_deref())
                        .push_bind(r.custom_id.as_deref())
                        .push_bind(r.cache_read_tokens)
                        .push_bind(r.cache_write_tokens);
                });
                q.push(" ON CONFLICT (id) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            insert_children!(tx, records, findings,
                "INSERT INTO findings (exchange_id, ordinal, class, rule, action, location, span_start, span_end, length, fingerprint) ",
                |b, f| {
                    b.push_bind(f.class.as_str())
                        .push_bind(f.rule.as_str())
                        .push_bind(f.action.as_str())
                        .push_bind(f.location.as_str())
                        .push_bind(f.span_start)
                        .push_bind(f.span_end)
                        .push_bind(f.span_end - f.span_start)
                        .push_bind(f.fingerprint.as_str());
                });
            insert_children!(tx, records, tool_calls,
                "INSERT INTO tool_calls (exchange_id, ordinal, tool_use_id, name, input, decision, approval_id) ",
                |b, t| {
                    b.push_bind(t.tool_use_id.as_str())
                        .push_bind(t.name.as_str())
                        .push_bind(t.input.as_deref())
                        .push_bind(t.decision.as_str())
                        .push_bind(t.approval_id.as_deref());
                });
            insert_children!(tx, records, tool_results,
                "INSERT INTO tool_results (exchange_id, ordinal, tool_use_id, bytes, flagged) ",
                |b, t| {
                    b.push_bind(t.tool_use_id.as_str())
                        .push_bind(t.bytes)
                        .push_bind(t.flagged);
                });
            tx.commit().await?;
            Ok(())
        })
    }

    /// A cheap round trip, to notice that the database is back.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok(())
        })
    }

    /// Number of exchanges stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT count(*) AS n FROM exchanges").fetch_one(pool).await?;
            Ok(row.try_get::<i64, _>("n")?)
        })
    }

    /// Which of `ids` the store has as exchanges.
    pub async fn existing_ids(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in ids.chunks(PRUNE_CHUNK_ROWS as usize) {
            with_pool!(self, pool => {
                let mut q = QueryBuilder::new("SELECT id FROM exchanges WHERE id IN (");
                let mut sep = q.separated(", ");
                for id in chunk {
                    sep.push_bind(id.clone());
                }
                q.push(")");
                for row in q.build().fetch_all(pool).await? {
                    found.insert(row.try_get::<String, _>("id")?);
                }
                Ok::<(), StoreError>(())
            })?;
        }
        Ok(found)
    }

    /// Every chained record, grouped by instance and in `seq` order.
    pub async fn chains(&self) -> Result<BTreeMap<String, Vec<ChainedRecord>>, StoreError> {
        let mut chains: BTreeMap<String, Vec<ChainedRecord>> = BTreeMap::new();
        for row in self.select(&Filter::default(), Order::Chain, None).await? {
            chains.entry(row.instance_id.clone()).or_default().push(row);
        }
        Ok(chains)
    }

    /// Exchanges matching `filter`, newest first, at most `limit`.
    pub async fn search(
        &self,
        filter: &Filter,
        limit: i64,
    ) -> Result<Vec<ChainedRecord>, StoreError> {
        self.select(filter, Order::NewestFirst, Some(limit)).await
    }

    async fn select(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<i64>,
    ) -> Result<Vec<ChainedRecord>, StoreError> {
        let order_sql = match order {
            Order::Chain => " ORDER BY e.instance_id, e.seq",
            Order::NewestFirst => " ORDER BY e.occurred_at DESC, e.id",
        };
        let mut findings: BTreeMap<String, Vec<FindingRow>> = BTreeMap::new();
        let mut calls: BTreeMap<String, Vec<ToolCallRow>> = BTreeMap::new();
        let mut results: BTreeMap<String, Vec<ToolResultRow>> = BTreeMap::new();
        let mut out = Vec::new();
        let postgres = matches!(self, Self::Postgres(_));
        with_pool!(self, pool => {
            // One snapshot for the five reads: a batch of records committed between them would
            // otherwise show exchanges without their findings (read before the commit).
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let conn = &mut *tx;
            for row in child_rows!(conn, "SELECT exchange_id, tool_use_id, name, input, decision, approval_id FROM tool_calls", filter, order_sql, limit) {
                calls.entry(row.try_get("exchange_id")?).or_default().push(ToolCallRow {
                    tool_use_id: row.try_get("tool_use_id")?,
                    name: row.try_get("name")?,
                    input: row.try_get("input")?,
                    decision: row.try_get("decision")?,
                    approval_id: row.try_get("approval_id")?,
                });
            }
            for row in child_rows!(conn, "SELECT exchange_id, tool_use_id, bytes, flagged FROM tool_results", filter, order_sql, limit) {
                results.entry(row.try_get("exchange_id")?).or_default().push(ToolResultRow {
                    tool_use_id: row.try_get("tool_use_id")?,
                    bytes: row.try_get("bytes")?,
                    flagged: row.try_get("flagged")?,
                });
            }
            // The findings of the selected exchanges, then the exchanges, with the same filter.
            for row in child_rows!(conn, &format!("SELECT {FINDING_COLUMNS} FROM findings"), filter, order_sql, limit) {
                findings.entry(row.try_get("exchange_id")?).or_default().push(FindingRow {
                    class: row.try_get("class")?,
                    rule: row.try_get("rule")?,
                    action: row.try_get("action")?,
                    location: row.try_get("location")?,
                    span_start: row.try_get::<i32, _>("span_start")?.into(),
                    span_end: row.try_get::<i32, _>("span_end")?.into(),
                    fingerprint: row.try_get("fingerprint")?,
                });
            }
            let mut q = QueryBuilder::new(format!("SELECT {EXCHANGE_COLUMNS} FROM exchanges e"));
            push_filter!(q, filter);
            q.push(order_sql);
            if let Some(n) = limit {
                q.push(" LIMIT ").push_bind(n);
            }
            for row in q.build().fetch_all(&mut *conn).await? {
                let id: String = row.try_get("id")?;
                let decision: String = row.try_get("decision")?;
                let record = ExchangeRecord {
                    findings: findings.remove(&id).unwrap_or_default(),
                    tool_calls: calls.remove(&id).unwrap_or_default(),
                    tool_results: results.remove(&id).unwrap_or_default(),
                    occurred_at: row.try_get("occurred_at")?,
                    upstream_request_id: row.try_get("upstream_request_id")?,
                    key_id: row.try_get("key_id")?,
                    principal: row.try_get("principal")?,
                    team: row.try_get("team")?,
                    client_addr: row.try_get("client_addr")?,
                    user_agent: row.try_get("user_agent")?,
                    traceparent: row.try_get("traceparent")?,
                    parent_id: row.try_get("parent_id")?,
                    custom_id: row.try_get("custom_id")?,
                    endpoint: row.try_get("endpoint")?,
                    model: row.try_get("model")?,
                    streamed: row.try_get("streamed")?,
                    policy_name: row.try_get("policy_name")?,
                    policy_version: row.try_get("policy_version")?,
                    decision: Decision::parse(&decision)
                        .ok_or_else(|| StoreError::Row(id.clone(), format!("decision {decision}")))?,
                    status: row.try_get("status")?,
                    rule: row.try_get("rule")?,
                    latency_us: row.try_get("latency_us")?,
                    upstream_latency_us: row.try_get("upstream_latency_us")?,
                    input_tokens: row.try_get("input_tokens")?,
                    output_tokens: row.try_get("output_tokens")?,
                    cache_read_tokens: row.try_get("cache_read_tokens")?,
                    cache_write_tokens: row.try_get("cache_write_tokens")?,
                    storage_mode: row.try_get("storage_mode")?,
                    prompt: row.try_get("prompt")?,
                    output: row.try_get("output")?,
                    id,
                };
                out.push(ChainedRecord {
                    instance_id: row.try_get("instance_id")?,
                    seq: row.try_get("seq")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                    record,
                });
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(out)
    }

    /// Tombstones of pruned rows, by instance and sequence number.
    async fn tombstones(&self) -> Result<BTreeMap<String, BTreeMap<i64, Tombstone>>, StoreError> {
        let mut out: BTreeMap<String, BTreeMap<i64, Tombstone>> = BTreeMap::new();
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT instance_id, seq, id, prev_hash, hash, team, occurred_at, pruned_at, retention_days, seal FROM pruned")
                .fetch_all(pool)
                .await?;
            for row in rows {
                out.entry(row.try_get("instance_id")?).or_default().insert(
                    row.try_get("seq")?,
                    Tombstone {
                        id: row.try_get("id")?,
                        prev_hash: row.try_get("prev_hash")?,
                        hash: row.try_get("hash")?,
                        team: row.try_get("team")?,
                        occurred_at: row.try_get("occurred_at")?,
                        pruned_at: row.try_get("pruned_at")?,
                        retention_days: row.try_get::<Option<i32>, _>("retention_days")?.map(i64::from),
                        seal: row.try_get("seal")?,
                    },
                );
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(out)
    }

    /// Walks every instance's chain; the first break found, or the number of rows verified.
    /// Every tombstone must be sealed under `key` and its row must have been past its retention
    /// when pruned; without a key, any tombstone is a break.
    pub async fn verify(
        &self,
        key: Option<&TombstoneKey>,
    ) -> Result<Result<usize, ChainBreak>, StoreError> {
        let chains = self.chains().await?;
        let mut tombstones = self.tombstones().await?;
        for (instance, pruned) in &tombstones {
            for (seq, t) in pruned {
                let checked = match key {
                    Some(key) => key.check(instance, *seq, t),
                    None => Err("no tombstone key to check its seal with (audit.tombstone_key_file or WARDEN_AUDIT_TOMBSTONE_KEY)".to_string()),
                };
                if let Err(why) = checked {
                    return Ok(Err(ChainBreak::Unsealed {
                        instance_id: instance.clone(),
                        seq: *seq,
                        id: t.id.clone(),
                        why,
                    }));
                }
            }
        }
        let mut total = 0;
        let instances: std::collections::BTreeSet<String> =
            chains.keys().chain(tombstones.keys()).cloned().collect();
        for instance in instances {
            let rows = chains.get(&instance).map(Vec::as_slice).unwrap_or(&[]);
            let pruned = tombstones.remove(&instance).unwrap_or_default();
            match verify_chain(rows, &pruned) {
                Ok(n) => total += n,
                Err(b) => return Ok(Err(b)),
            }
        }
        // Findings whose exchange is gone cannot exist (foreign key), and findings that were
        // altered or inserted change their exchange's hash: both are caught above.
        Ok(Ok(total))
    }

    /// Checks an anchored chain head (from an instance's anchor file) against the store: `None`
    /// when its row (or the row's tombstone) is there with the same hash, else what is wrong.
    pub async fn check_anchor(
        &self,
        anchor: &crate::audit::writer::AnchorLine,
    ) -> Result<Option<String>, StoreError> {
        let mut found: Option<String> = None;
        let last: Option<i64>;
        with_pool!(self, pool => {
            for table in ["exchanges", "pruned"] {
                let mut q = QueryBuilder::new(format!("SELECT hash FROM {table} WHERE instance_id = "));
                q.push_bind(anchor.instance.clone()).push(" AND seq = ").push_bind(anchor.seq);
                if let Some(row) = q.build().fetch_optional(pool).await? {
                    found = Some(row.try_get("hash")?);
                    break;
                }
            }
            let mut q = QueryBuilder::new("SELECT MAX(seq) AS last FROM exchanges WHERE instance_id = ");
            q.push_bind(anchor.instance.clone());
            last = q.build().fetch_one(pool).await?.try_get("last")?;
            Ok::<(), StoreError>(())
        })?;
        Ok(match found {
            Some(hash) if hash == anchor.hash => None,
            Some(_) => Some(format!(
                "instance {}: row seq {} does not have the anchored hash (altered)",
                anchor.instance, anchor.seq
            )),
            None => Some(format!(
                "instance {}: the anchor saw row seq {} but the store's chain {}: rows were removed from its end",
                anchor.instance,
                anchor.seq,
                match last {
                    Some(l) => format!("ends at seq {l}"),
                    None => "has no rows".to_string(),
                }
            )),
        })
    }

    /// Removes exchanges older than their team's retention (`retention_days` by team, else
    /// `default_days`), leaving a tombstone sealed under `key` for each so that the chains still
    /// verify. A row due for pruning whose content no longer matches its hash is evidence: the
    /// prune stops with an error before removing it (or anything after it). Returns how many exchanges were removed.
    pub async fn prune(
        &self,
        retention_days: &BTreeMap<String, u32>,
        default_days: u32,
        key: &TombstoneKey,
    ) -> Result<u64, StoreError> {
        use chrono::SubsecRound;
        let now = chrono::Utc::now().trunc_subsecs(6);
        let cutoff = |days: u32| now - chrono::Duration::days(i64::from(days));
        // One pass per team with its own retention, then everyone else with the default; each
        // in chunks, so that a first prune of a large store does not hold it all in memory.
        let mut passes: Vec<(Filter, u32)> = retention_days
            .iter()
            .map(|(team, days)| {
                let filter = Filter {
                    team: Some(team.clone()),
                    until: Some(cutoff(*days)),
                    ..Filter::default()
                };
                (filter, *days)
            })
            .collect();
        passes.push((
            Filter {
                until: Some(cutoff(default_days)),
                teams_not: retention_days.keys().cloned().collect(),
                ..Filter::default()
            },
            default_days,
        ));
        let mut removed = 0;
        for (filter, days) in passes {
            loop {
                let rows = self
                    .select(&filter, Order::Chain, Some(PRUNE_CHUNK_ROWS))
                    .await?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    if chain_hash(&row.prev_hash, &row.instance_id, row.seq, &row.record)
                        != row.hash
                    {
                        return Err(StoreError::Row(
                            row.record.id.clone(),
                            "its content does not match its hash (altered): not pruned, run `warden audit verify`".into(),
                        ));
                    }
                }
                removed += self.remove_sealed(&rows, days, now, key).await?;
                if rows.len() < PRUNE_CHUNK_ROWS as usize {
                    break;
                }
            }
        }
        Ok(removed)
    }

    /// Replaces `rows` with sealed tombstones, in one transaction.
    async fn remove_sealed(
        &self,
        rows: &[ChainedRecord],
        days: u32,
        pruned_at: chrono::DateTime<chrono::Utc>,
        key: &TombstoneKey,
    ) -> Result<u64, StoreError> {
        let tombstones: Vec<(&ChainedRecord, Tombstone)> = rows
            .iter()
            .map(|r| {
                let mut t = Tombstone {
                    id: r.record.id.clone(),
                    prev_hash: r.prev_hash.clone(),
                    hash: r.hash.clone(),
                    team: Some(r.record.team.clone()),
                    occurred_at: r.record.occurred_at,
                    pruned_at,
                    retention_days: Some(i64::from(days)),
                    seal: None,
                };
                t.seal = Some(key.seal(&r.instance_id, r.seq, &t));
                (r, t)
            })
            .collect();
        let ids: Vec<String> = rows.iter().map(|r| r.record.id.clone()).collect();
        let mut removed = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if self.backend() == "postgres" {
                sqlx::query("SET LOCAL warden.prune = 'on'").execute(&mut *tx).await?;
            } else {
                sqlx::query("INSERT INTO audit_prune_guard (active) VALUES (1)").execute(&mut *tx).await?;
            }
            let mut insert = QueryBuilder::new(
                "INSERT INTO pruned (instance_id, seq, id, prev_hash, hash, occurred_at, pruned_at, team, retention_days, seal) ",
            );
            insert.push_values(&tombstones, |mut b, (r, t)| {
                b.push_bind(r.instance_id.clone())
                    .push_bind(r.seq)
                    .push_bind(t.id.clone())
                    .push_bind(t.prev_hash.clone())
                    .push_bind(t.hash.clone())
                    .push_bind(t.occurred_at)
                    .push_bind(t.pruned_at)
                    .push_bind(t.team.clone())
                    .push_bind(t.retention_days.map(|d| d as i32))
                    .push_bind(t.seal.clone());
            });
            insert.build().execute(&mut *tx).await?;
            for table in ["findings", "tool_calls", "tool_results", "exchanges"] {
                let column = if table == "exchanges" { "id" } else { "exchange_id" };
                let mut delete = QueryBuilder::new(format!("DELETE FROM {table} WHERE {column} IN ("));
                let mut sep = delete.separated(", ");
                for id in &ids {
                    sep.push_bind(id.clone());
                }
                delete.push(")");
                let done = delete.build().execute(&mut *tx).await?.rows_affected();
                if table == "exchanges" {
                    removed = done;
                }
            }
            if self.backend() == "sqlite" {
                sqlx::query("DELETE FROM audit_prune_guard").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(removed)
    }
}

/// Exchanges read, checked and replaced by tombstones per prune transaction (10 binds each in
/// the tombstone insert: well under SQLite's and Postgres's bind limits).
const PRUNE_CHUNK_ROWS: i64 = 500;

/// A tool call held for a human's decision, as stored in `approval_requests`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalRequestRow {
    pub id: String,
    pub exchange_id: String,
    pub tool_use_id: String,
    pub instance_id: String,
    pub team: String,
    pub principal: String,
    pub key_id: String,
    pub tool_name: String,
    /// JSON, secrets redacted.
    pub input: String,
    pub last_user_message: Option<String>,
    pub rule: String,
    pub policy_version: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 of the call's canonical input JSON ([`crate::approvals::input_digest`]).
    pub input_sha256: Option<String>,
}

/// What binds an answer to a held call: the call as Warden relayed it, and its decision.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundCall {
    pub tool_use_id: String,
    pub team: String,
    pub principal: String,
    pub tool_name: String,
    pub input_sha256: Option<String>,
    /// `approved`, `rejected` or `expired`; none while pending.
    pub decision: Option<String>,
}

/// The decision on a held call, as stored in `approvals`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalDecisionRow {
    pub id: String,
    /// `approved`, `rejected` or `expired`.
    pub decision: String,
    pub decided_by: Option<String>,
    pub decided_at: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
}

const APPROVAL_REQUEST_COLUMNS: &str = "id, exchange_id, tool_use_id, instance_id, team, principal, key_id, \
    tool_name, input, last_user_message, rule, policy_version, requested_at, expires_at, input_sha256";

macro_rules! approval_request_of {
    ($row:expr) => {{
        let row = $row;
        ApprovalRequestRow {
            id: row.try_get("id")?,
            exchange_id: row.try_get("exchange_id")?,
            tool_use_id: row.try_get("tool_use_id")?,
            instance_id: row.try_get("instance_id")?,
            team: row.try_get("team")?,
            principal: row.try_get("principal")?,
            key_id: row.try_get("key_id")?,
            tool_name: row.try_get("tool_name")?,
            input: row.try_get("input")?,
            last_user_message: row.try_get("last_user_message")?,
            rule: row.try_get("rule")?,
            policy_version: row.try_get("policy_version")?,
            requested_at: row.try_get("requested_at")?,
            expires_at: row.try_get("expires_at")?,
            input_sha256: row.try_get("input_sha256")?,
        }
    }};
}

/// Approvals: written at once (not through the writer's queue), because a held reply waits on
/// them and another replica may decide them.
impl AuditStore {
    pub async fn insert_approval_request(&self, r: &ApprovalRequestRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!(
                "INSERT INTO approval_requests ({APPROVAL_REQUEST_COLUMNS}) VALUES ("
            ));
            let mut b = q.separated(", ");
            b.push_bind(&r.id)
                .push_bind(&r.exchange_id)
                .push_bind(&r.tool_use_id)
                .push_bind(&r.instance_id)
                .push_bind(&r.team)
                .push_bind(&r.principal)
                .push_bind(&r.key_id)
                .push_bind(&r.tool_name)
                .push_bind(&r.input)
                .push_bind(&r.last_user_message)
                .push_bind(&r.rule)
                .push_bind(&r.policy_version)
                .push_bind(r.requested_at)
                .push_bind(r.expires_at)
                .push_bind(&r.input_sha256);
            q.push(")");
            q.build().execute(pool).await?;
            Ok(())
        })
    }

    pub async fn approval_request(
        &self,
        id: &str,
    ) -> Result<Option<ApprovalRequestRow>, StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!(
                "SELECT {APPROVAL_REQUEST_COLUMNS} FROM approval_requests WHERE id = "
            ));
            q.push_bind(id);
            match q.build().fetch_optional(pool).await? {
                Some(row) => Ok(Some(approval_request_of!(row))),
                None => Ok(None),
            }
        })
    }

    /// Held calls nobody has decided yet, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalRequestRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {APPROVAL_REQUEST_COLUMNS} FROM v_pending_approvals ORDER BY requested_at, id"
            ))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(approval_request_of!(row));
            }
            Ok(out)
        })
    }

    pub async fn approval_decision(
        &self,
        id: &str,
    ) -> Result<Option<ApprovalDecisionRow>, StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "SELECT id, decision, decided_by, decided_at, reason FROM approvals WHERE id = ",
            );
            q.push_bind(id);
            match q.build().fetch_optional(pool).await? {
                Some(row) => Ok(Some(ApprovalDecisionRow {
                    id: row.try_get("id")?,
                    decision: row.try_get("decision")?,
                    decided_by: row.try_get("decided_by")?,
                    decided_at: row.try_get("decided_at")?,
                    reason: row.try_get("reason")?,
                })),
                None => Ok(None),
            }
        })
    }

    /// Records a decision unless the call already has one; returns the decision that stands
    /// (the first one wins, whichever replica made it) and whether it is this one.
    pub async fn decide_approval(
        &self,
        request: &ApprovalRequestRow,
        decision: &ApprovalDecisionRow,
    ) -> Result<(ApprovalDecisionRow, bool), StoreError> {
        let inserted = with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "INSERT INTO approvals (id, tool_use_id, exchange_id, requested_at, decided_at, decided_by, decision, reason) VALUES (",
            );
            let mut b = q.separated(", ");
            b.push_bind(&request.id)
                .push_bind(&request.tool_use_id)
                .push_bind(&request.exchange_id)
                .push_bind(request.requested_at)
                .push_bind(decision.decided_at)
                .push_bind(&decision.decided_by)
                .push_bind(&decision.decision)
                .push_bind(&decision.reason);
            q.push(") ON CONFLICT (id) DO NOTHING");
            q.build().execute(pool).await?.rows_affected() == 1
        });
        if inserted {
            return Ok((decision.clone(), true));
        }
        let stands = self
            .approval_decision(&request.id)
            .await?
            .ok_or_else(|| StoreError::Row(request.id.clone(), "decision vanished".into()))?;
        Ok((stands, false))
    }

    /// Which of these tool calls a human approved.
    pub async fn approved_tool_uses(
        &self,
        tool_use_ids: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if tool_use_ids.is_empty() {
            return Ok(Default::default());
        }
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "SELECT tool_use_id FROM approvals WHERE decision = 'approved' AND tool_use_id IN (",
            );
            let mut b = q.separated(", ");
            for id in tool_use_ids {
                b.push_bind(id);
            }
            q.push(")");
            let rows = q.build().fetch_all(pool).await?;
            let mut out = std::collections::HashSet::new();
            for row in rows {
                out.insert(row.try_get::<String, _>("tool_use_id")?);
            }
            Ok(out)
        })
    }

    /// The held calls with these tool_use ids, each with its decision (if any).
    pub async fn bound_calls(&self, tool_use_ids: &[String]) -> Result<Vec<BoundCall>, StoreError> {
        if tool_use_ids.is_empty() {
            return Ok(Vec::new());
        }
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "SELECT r.tool_use_id, r.team, r.principal, r.tool_name, r.input_sha256, a.decision \
                 FROM approval_requests r LEFT JOIN approvals a ON a.id = r.id WHERE r.tool_use_id IN (",
            );
            let mut b = q.separated(", ");
            for id in tool_use_ids {
                b.push_bind(id);
            }
            q.push(")");
            let rows = q.build().fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(BoundCall {
                    tool_use_id: row.try_get("tool_use_id")?,
                    team: row.try_get("team")?,
                    principal: row.try_get("principal")?,
                    tool_name: row.try_get("tool_name")?,
                    input_sha256: row.try_get("input_sha256")?,
                    decision: row.try_get("decision")?,
                });
            }
            Ok(out)
        })
    }

    /// Tells every replica listening on Postgres that a call was decided (SQLite: nothing to do,
    /// one process holds the file).
    pub async fn notify_approval(&self, id: &str) -> Result<(), StoreError> {
        if let Self::Postgres(pool) = self {
            sqlx::query("SELECT pg_notify('warden_approvals', $1)")
                .bind(id)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The Postgres pool, for `LISTEN`.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match self {
            Self::Postgres(pool) => Some(pool),
            Self::Sqlite(_) => None,
        }
    }
}

/// One step in a held call's life, as stored in `approval_events`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalEventRow {
    pub approval_id: String,
    /// `notified`, `notify_failed`, `released` or `replaced`.
    pub event: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub instance_id: String,
    pub detail: Option<String>,
}

impl AuditStore {
    pub async fn insert_approval_event(&self, e: &ApprovalEventRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "INSERT INTO approval_events (approval_id, event, occurred_at, instance_id, detail) VALUES (",
            );
            let mut b = q.separated(", ");
            b.push_bind(&e.approval_id)
                .push_bind(&e.event)
                .push_bind(e.occurred_at)
                .push_bind(&e.instance_id)
                .push_bind(&e.detail);
            q.push(")");
            q.build().execute(pool).await?;
            Ok(())
        })
    }

    pub async fn approval_events(&self, id: &str) -> Result<Vec<ApprovalEventRow>, StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "SELECT approval_id, event, occurred_at, instance_id, detail FROM approval_events WHERE approval_id = ",
            );
            q.push_bind(id).push(" ORDER BY occurred_at");
            let mut out = Vec::new();
            for row in q.build().fetch_all(pool).await? {
                out.push(ApprovalEventRow {
                    approval_id: row.try_get("approval_id")?,
                    event: row.try_get("event")?,
                    occurred_at: row.try_get("occurred_at")?,
                    instance_id: row.try_get("instance_id")?,
                    detail: row.try_get("detail")?,
                });
            }
            Ok(out)
        })
    }
}

/// A batch or file created through Warden, and who owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedObject {
    /// Upstream's id (`msgbatch_…`, `file_…`).
    pub id: String,
    /// `batch` or `file`.
    pub kind: String,
    pub team: String,
    pub principal: String,
    /// The exchange that created it.
    pub exchange_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Batches: the sealed placeholder maps of their items.
    pub detail: Option<String>,
}

/// Ownership of batches and files: written at once (not through the writer's queue), because
/// the next request may name the object, on any replica.
impl AuditStore {
    pub async fn insert_owned(&self, o: &OwnedObject) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "INSERT INTO owned_objects (id, kind, team, principal, exchange_id, created_at, detail) VALUES (",
            );
            let mut b = q.separated(", ");
            b.push_bind(&o.id)
                .push_bind(&o.kind)
                .push_bind(&o.team)
                .push_bind(&o.principal)
                .push_bind(&o.exchange_id)
                .push_bind(o.created_at)
                .push_bind(&o.detail);
            q.push(") ON CONFLICT (id) DO NOTHING");
            q.build().execute(pool).await?;
            Ok(())
        })
    }

    /// The object with this id, if it was created through Warden.
    pub async fn owned(&self, id: &str) -> Result<Option<OwnedObject>, StoreError> {
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new(
                "SELECT id, kind, team, principal, exchange_id, created_at, detail FROM owned_objects WHERE id = ",
            );
            q.push_bind(id);
            match q.build().fetch_optional(pool).await? {
                Some(row) => Ok(Some(OwnedObject {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    team: row.try_get("team")?,
                    principal: row.try_get("principal")?,
                    exchange_id: row.try_get("exchange_id")?,
                    created_at: row.try_get("created_at")?,
                    detail: row.try_get("detail")?,
                })),
                None => Ok(None),
            }
        })
    }

    /// Which of `ids` the team owns.
    pub async fn owned_among(
        &self,
        team: &str,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        with_pool!(self, pool => {
            let mut q = QueryBuilder::new("SELECT id FROM owned_objects WHERE team = ");
            q.push_bind(team).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in ids {
                sep.push_bind(id.clone());
            }
            q.push(")");
            let mut out = std::collections::HashSet::new();
            for row in q.build().fetch_all(pool).await? {
                out.insert(row.try_get::<String, _>("id")?);
            }
            Ok(out)
        })
    }
}
