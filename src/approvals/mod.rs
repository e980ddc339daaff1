//! Human approval of tool calls: a held call is written to `approval_requests`, an approver
//! decides it (admin API, CLI or web page, on any replica), and the replica holding the reply
//! wakes: at once when the decision is made in the same process, through Postgres `LISTEN/NOTIFY`
//! across replicas, and by polling the store as a fallback in both cases.

pub mod admin;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{oneshot, watch};

use crate::audit::{ApprovalDecisionRow, ApprovalRequestRow, AuditStore};

/// How a held call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Outcome {
    Approved {
        by: String,
        reason: Option<String>,
    },
    Rejected {
        by: String,
        reason: Option<String>,
    },
    /// Nobody decided in time.
    Expired,
    /// The request for approval could not be recorded: the call does not go out (fail closed).
    Failed(String),
}

impl Outcome {
    fn from_row(row: &ApprovalDecisionRow) -> Self {
        let by = row.decided_by.clone().unwrap_or_default();
        match row.decision.as_str() {
            "approved" => Self::Approved {
                by,
                reason: row.reason.clone(),
            },
            "rejected" => Self::Rejected {
                by,
                reason: row.reason.clone(),
            },
            _ => Self::Expired,
        }
    }

    /// The `tool_calls.decision` this outcome gives the call.
    pub fn tool_decision(&self) -> &'static str {
        match self {
            Self::Approved { .. } => "approved",
            Self::Rejected { .. } | Self::Failed(_) => "rejected",
            Self::Expired => "expired",
        }
    }
}

/// Everything about a held call the approver is shown.
#[derive(Clone, Debug)]
pub struct HoldRequest {
    pub exchange_id: String,
    pub tool_use_id: String,
    pub team: String,
    pub principal: String,
    pub key_id: String,
    pub tool_name: String,
    /// JSON, secrets already redacted.
    pub input: String,
    pub last_user_message: Option<String>,
    pub rule: String,
    pub policy_version: String,
    pub timeout: Duration,
    /// [`input_digest`] of the call's input as the client will receive it.
    pub input_sha256: String,
}

/// A `tool_result` in a request, and the call it answers as the request's history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResultProof {
    pub tool_use_id: String,
    pub tool_name: String,
    /// [`input_digest`] of the history's call input.
    pub input_sha256: String,
    pub team: String,
    pub principal: String,
    /// The rule that asks for a human's approval of this call under the current policy, if any.
    pub rule: Option<String>,
}

/// Why a request's tool_result is refused.
#[derive(Debug, PartialEq, Eq)]
pub struct ProofRefusal {
    pub rule: String,
    pub message: String,
}

/// SHA-256 (hex) of a tool input's canonical JSON: object keys sorted, no whitespace, strings as
/// they are. The same input in two key orders is the same call; any other change is another.
pub fn input_digest(input: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    fn write(v: &serde_json::Value, out: &mut Vec<u8>) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(serde_json::to_vec(k).unwrap_or_default());
                    out.push(b':');
                    if let Some(v) = map.get(k) {
                        write(v, out);
                    }
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(v, out);
                }
                out.push(b']');
            }
            other => out.extend(serde_json::to_vec(other).unwrap_or_default()),
        }
    }
    let mut bytes = Vec::new();
    write(input, &mut bytes);
    hex::encode(Sha256::digest(&bytes))
}

/// An identity as compared for separation of duties and approver lists: NFKC, trimmed, case
/// folded (`Carol@Example.com` and `carol@example.com ` are one person).
pub fn identity(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfkc().collect::<String>().trim().to_lowercase()
}

/// A held call's pending decision. Await it (`&mut ticket` is a future).
#[derive(Debug)]
pub struct Ticket {
    pub id: String,
    rx: oneshot::Receiver<Outcome>,
}

impl std::future::Future for Ticket {
    type Output = Outcome;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Outcome> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Outcome::Failed("the approval waiter stopped".into())))
    }
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no approval {0}")]
    NotFound(String),
    #[error("approval {0} was already decided: {1}")]
    AlreadyDecided(String, String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] crate::audit::StoreError),
}

/// Who is deciding: an admin key's name and groups.
#[derive(Clone, Debug)]
pub struct Approver {
    pub name: String,
    pub groups: Vec<String>,
}

/// The approvals of one Warden process.
pub struct Approvals {
    store: AuditStore,
    instance_id: String,
    /// Local wake-ups for the calls this process holds, by approval id.
    waiters: Mutex<HashMap<String, watch::Sender<Option<Outcome>>>>,
    /// Answers already found bound to what they answer (history checks ask for the same calls
    /// again and again): (tool_use_id, tool, input digest, team, principal).
    approved: Mutex<HashSet<ResultProof>>,
    webhook: Option<String>,
    http: reqwest::Client,
    poll: Duration,
    held_total: std::sync::atomic::AtomicU64,
    decided_total: std::sync::atomic::AtomicU64,
    /// Admin requests refused, by reason (`no_key`, `warden_key`, `unknown_key`, `role`,
    /// `decision`).
    admin_refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

impl Approvals {
    pub fn new(
        store: AuditStore,
        instance_id: String,
        webhook: Option<String>,
        poll: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            instance_id,
            waiters: Mutex::new(HashMap::new()),
            approved: Mutex::new(HashSet::new()),
            webhook,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            poll,
            held_total: Default::default(),
            decided_total: Default::default(),
            admin_refused: Default::default(),
        })
    }

    /// Counts an admin request refused for `reason`.
    pub fn admin_refused(&self, reason: &'static str) {
        if let Ok(mut m) = self.admin_refused.lock() {
            *m.entry(reason).or_insert(0) += 1;
        }
    }

    /// Prometheus lines: calls held by this process now, held and decided since start, admin
    /// requests refused.
    pub fn render_metrics(&self) -> String {
        let holding = self.waiters.lock().map(|w| w.len()).unwrap_or(0);
        let held = self.held_total.load(std::sync::atomic::Ordering::Relaxed);
        let decided = self
            .decided_total
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut refused = String::from(
            "# HELP warden_admin_refused_total Admin requests refused, by reason: no_key, warden_key (a wdn_ key on the admin listener), unknown_key, role (the key's roles do not allow it), decision (the policy does not let this approver decide).\n# TYPE warden_admin_refused_total counter\n",
        );
        if let Ok(m) = self.admin_refused.lock() {
            for (reason, n) in m.iter() {
                refused.push_str(&format!(
                    "warden_admin_refused_total{{reason=\"{reason}\"}} {n}\n"
                ));
            }
        }
        refused
            + &format!(
                "# HELP warden_approvals_pending Tool calls this process holds for a decision.\n# TYPE warden_approvals_pending gauge\nwarden_approvals_pending {holding}\n\
             # HELP warden_approvals_held_total Tool calls held for approval.\n# TYPE warden_approvals_held_total counter\nwarden_approvals_held_total {held}\n\
             # HELP warden_approvals_decided_total Decisions made through this process's admin API.\n# TYPE warden_approvals_decided_total counter\nwarden_approvals_decided_total {decided}\n"
            )
    }

    /// Holds a call: records it, notifies the webhook, and returns the ticket that resolves when
    /// someone decides (or the timeout passes). Never blocks: the writes happen in a task.
    pub fn hold(self: &Arc<Self>, req: HoldRequest) -> Ticket {
        let id = crate::ids::new_approval_id();
        let (tx, rx) = oneshot::channel();
        let (wake_tx, wake_rx) = watch::channel(None);
        if let Ok(mut w) = self.waiters.lock() {
            w.insert(id.clone(), wake_tx);
        }
        self.held_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = now();
        let row = ApprovalRequestRow {
            id: id.clone(),
            exchange_id: req.exchange_id,
            tool_use_id: req.tool_use_id,
            instance_id: self.instance_id.clone(),
            team: req.team,
            principal: req.principal,
            key_id: req.key_id,
            tool_name: req.tool_name,
            input: req.input,
            last_user_message: req.last_user_message,
            rule: req.rule,
            policy_version: req.policy_version,
            requested_at: now,
            expires_at: now
                + chrono::Duration::from_std(req.timeout).unwrap_or(chrono::Duration::MAX),
            input_sha256: Some(req.input_sha256),
        };
        let hub = self.clone();
        let key = id.clone();
        tokio::spawn(async move {
            let outcome = hub.wait_for(row, req.timeout, wake_rx).await;
            if !matches!(outcome, Outcome::Failed(_)) {
                let event = if matches!(outcome, Outcome::Approved { .. }) {
                    "released"
                } else {
                    "replaced"
                };
                hub.event(&key, event, Some(outcome.tool_decision().to_string()))
                    .await;
            }
            if let Ok(mut w) = hub.waiters.lock() {
                w.remove(&key);
            }
            let _ = tx.send(outcome);
        });
        Ticket { id, rx }
    }

    async fn wait_for(
        self: &Arc<Self>,
        row: ApprovalRequestRow,
        timeout: Duration,
        mut wake: watch::Receiver<Option<Outcome>>,
    ) -> Outcome {
        if let Err(e) = self.store.insert_approval_request(&row).await {
            tracing::error!(approval_id = %row.id, error = %e, "Could not record a held tool call; it is denied.");
            return Outcome::Failed("the approval request could not be recorded".into());
        }
        tracing::info!(approval_id = %row.id, tool = %row.tool_name, team = %row.team, rule = %row.rule, "Tool call held for approval.");
        self.notify_webhook(&row).await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(o) = wake.borrow_and_update().clone() {
                return o;
            }
            tokio::select! {
                changed = wake.changed() => {
                    if changed.is_err() {
                        // The sender went away: fall through to the store.
                        tokio::time::sleep(self.poll).await;
                    }
                }
                () = tokio::time::sleep(self.poll) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return self.expire(&row).await;
                }
            }
            // A decision made on another replica (or one this process missed) is in the store.
            match self.store.approval_decision(&row.id).await {
                Ok(Some(d)) => return self.settled(&row, &d),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(approval_id = %row.id, error = %e, "Cannot read the approval's decision; still waiting.")
                }
            }
        }
    }

    fn settled(&self, _row: &ApprovalRequestRow, d: &ApprovalDecisionRow) -> Outcome {
        Outcome::from_row(d)
    }

    async fn expire(&self, row: &ApprovalRequestRow) -> Outcome {
        let expired = ApprovalDecisionRow {
            id: row.id.clone(),
            decision: "expired".into(),
            decided_by: None,
            decided_at: now(),
            reason: Some("no decision before the approval timeout".into()),
        };
        // Someone may have decided at the last moment: the first decision stands.
        match self.store.decide_approval(row, &expired).await {
            Ok((d, _)) => self.settled(row, &d),
            Err(e) => {
                tracing::warn!(approval_id = %row.id, error = %e, "Could not record the expiry.");
                Outcome::Expired
            }
        }
    }

    /// Records a step of a held call; a failure is logged (the decision itself is already safe).
    async fn event(&self, approval_id: &str, event: &str, detail: Option<String>) {
        let row = crate::audit::ApprovalEventRow {
            approval_id: approval_id.to_string(),
            event: event.to_string(),
            occurred_at: now(),
            instance_id: self.instance_id.clone(),
            detail,
        };
        if let Err(e) = self.store.insert_approval_event(&row).await {
            tracing::warn!(approval_id, event, error = %e, "Could not record an approval event.");
        }
    }

    /// Sends the Slack-compatible notice; a failure is logged, the call stays held.
    async fn notify_webhook(&self, row: &ApprovalRequestRow) {
        let Some(url) = &self.webhook else {
            return;
        };
        let text = format!(
            "Warden: {} ({}) wants to run `{}` — approval {} (rule {}). Approve with `warden approvals approve {}`.",
            row.principal, row.team, row.tool_name, row.id, row.rule, row.id
        );
        let body = json!({
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": format!("*Tool*\n`{}`", row.tool_name)},
                    {"type": "mrkdwn", "text": format!("*Requested by*\n{} ({})", row.principal, row.team)},
                    {"type": "mrkdwn", "text": format!("*Rule*\n{}", row.rule)},
                    {"type": "mrkdwn", "text": format!("*Expires*\n{}", row.expires_at.to_rfc3339())},
                ]},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Input (redacted)*\n```{}```", truncate(&row.input, 2000))}},
            ],
            "warden": {"approval_id": row.id, "tool_use_id": row.tool_use_id, "exchange_id": row.exchange_id},
        });
        match self
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                tracing::info!(approval_id = %row.id, "Approval webhook notified.");
                self.event(
                    &row.id,
                    "notified",
                    Some(format!("HTTP {}", r.status().as_u16())),
                )
                .await;
            }
            Ok(r) => {
                tracing::warn!(approval_id = %row.id, status = r.status().as_u16(), "Approval webhook refused the notice.");
                self.event(
                    &row.id,
                    "notify_failed",
                    Some(format!("HTTP {}", r.status().as_u16())),
                )
                .await;
            }
            Err(e) => {
                tracing::warn!(approval_id = %row.id, error = %e, "Approval webhook unreachable.");
                self.event(&row.id, "notify_failed", Some("unreachable".into()))
                    .await;
            }
        }
    }

    /// Decides a held call, if `approver` may: approver lists and separation of duties come
    /// from the team's current policy, which `settings` looks up by team (`None`: the team's
    /// policy is gone, nobody may decide).
    pub async fn decide(
        &self,
        id: &str,
        approver: &Approver,
        approve: bool,
        reason: Option<String>,
        settings: impl FnOnce(&str) -> Option<crate::policy::tools::RawApproval>,
    ) -> Result<Outcome, DecideError> {
        let Some(row) = self.store.approval_request(id).await? else {
            return Err(DecideError::NotFound(id.to_string()));
        };
        let Some(settings) = settings(&row.team) else {
            return Err(DecideError::Forbidden(format!(
                "team '{}' has no policy any more; nobody may decide its calls",
                row.team
            )));
        };
        if !settings.self_approval && identity(&approver.name) == identity(&row.principal) {
            return Err(DecideError::Forbidden(format!(
                "'{}' made the request and may not decide its own call (policy tools.approval.self_approval is false)",
                approver.name
            )));
        }
        let listed = settings.approvers.is_empty()
            || settings.approvers.iter().any(|a| {
                identity(a) == identity(&approver.name)
                    || a.strip_prefix("group:")
                        .is_some_and(|g| approver.groups.iter().any(|x| identity(x) == identity(g)))
            });
        if !listed {
            return Err(DecideError::Forbidden(format!(
                "'{}' is not among the approvers of team '{}' (policy tools.approval.approvers)",
                approver.name, row.team
            )));
        }
        let decision = ApprovalDecisionRow {
            id: id.to_string(),
            decision: if approve { "approved" } else { "rejected" }.into(),
            decided_by: Some(approver.name.clone()),
            decided_at: now(),
            reason,
        };
        // A call already decided (here or on another replica) keeps its first decision.
        let (stands, ours) = self.store.decide_approval(&row, &decision).await?;
        if !ours {
            return Err(DecideError::AlreadyDecided(id.to_string(), stands.decision));
        }
        self.decided_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(approval_id = %id, decision = %stands.decision, by = %approver.name, "Tool call decided.");
        let outcome = self.settled(&row, &stands);
        self.wake(id, outcome.clone());
        if let Err(e) = self.store.notify_approval(id).await {
            tracing::warn!(approval_id = %id, error = %e, "Could not notify other replicas; they will poll.");
        }
        Ok(outcome)
    }

    /// Wakes the local holder of `id`, if this process holds it.
    fn wake(&self, id: &str, outcome: Outcome) {
        if let Ok(w) = self.waiters.lock() {
            if let Some(tx) = w.get(id) {
                let _ = tx.send(Some(outcome));
            }
        }
    }

    /// Listens for decisions made on other replicas (Postgres only) and wakes local holders.
    /// Reconnects on failure; the polling fallback covers the gaps.
    pub fn listen(self: &Arc<Self>) {
        let Some(pool) = self.store.postgres_pool().cloned() else {
            return;
        };
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        if hub.strong_count() == 0 {
                            return;
                        }
                        continue;
                    }
                };
                if listener.listen("warden_approvals").await.is_err() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                while let Ok(n) = listener.recv().await {
                    let Some(hub) = hub.upgrade() else {
                        return;
                    };
                    let id = n.payload().to_string();
                    let held = hub.waiters.lock().is_ok_and(|w| w.contains_key(&id));
                    if held {
                        if let Ok(Some(d)) = hub.store.approval_decision(&id).await {
                            hub.wake(&id, Outcome::from_row(&d));
                        }
                    }
                }
                if hub.strong_count() == 0 {
                    return;
                }
            }
        });
    }

    pub async fn events(
        &self,
        id: &str,
    ) -> Result<Vec<crate::audit::ApprovalEventRow>, crate::audit::StoreError> {
        self.store.approval_events(id).await
    }

    pub async fn pending(&self) -> Result<Vec<ApprovalRequestRow>, crate::audit::StoreError> {
        self.store.pending_approvals().await
    }

    pub async fn get(
        &self,
        id: &str,
    ) -> Result<Option<(ApprovalRequestRow, Option<ApprovalDecisionRow>)>, crate::audit::StoreError>
    {
        let Some(r) = self.store.approval_request(id).await? else {
            return Ok(None);
        };
        let d = self.store.approval_decision(id).await?;
        Ok(Some((r, d)))
    }

    /// Checks that each tool_result answers the call Warden relayed: a call that was held must
    /// appear in the history with the tool, input, team and principal it was held with, and must
    /// have been approved; a call the current policy gates must have been held and approved. The
    /// first refusal, if any; an error when the store cannot say (the caller fails closed).
    pub async fn check_results(
        &self,
        proofs: &[ResultProof],
    ) -> Result<Option<ProofRefusal>, crate::audit::StoreError> {
        let unknown: Vec<&ResultProof> = match self.approved.lock() {
            Ok(known) => proofs.iter().filter(|p| !known.contains(*p)).collect(),
            Err(_) => proofs.iter().collect(),
        };
        if unknown.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = unknown.iter().map(|p| p.tool_use_id.clone()).collect();
        let rows = self.store.bound_calls(&ids).await?;
        let mut verified = Vec::new();
        for p in unknown {
            let held: Vec<&crate::audit::BoundCall> = rows
                .iter()
                .filter(|r| r.tool_use_id == p.tool_use_id)
                .collect();
            if held.is_empty() {
                if let Some(rule) = &p.rule {
                    return Ok(Some(ProofRefusal {
                        rule: rule.clone(),
                        message: format!(
                            "a tool_result answers call {} to '{}', which needs a human's approval (rule {rule}) and was not approved",
                            p.tool_use_id, p.tool_name
                        ),
                    }));
                }
                verified.push(p.clone());
                continue;
            }
            let bound: Vec<&&crate::audit::BoundCall> = held
                .iter()
                .filter(|r| {
                    r.tool_name == p.tool_name
                        && r.input_sha256.as_deref() == Some(p.input_sha256.as_str())
                        && r.team == p.team
                        && identity(&r.principal) == identity(&p.principal)
                })
                .collect();
            if bound.is_empty() {
                return Ok(Some(ProofRefusal {
                    rule: "tools.approval.binding".into(),
                    message: format!(
                        "a tool_result answers call {}, but the call in the request's history is not the call Warden held for approval (its tool, input, team or principal differ)",
                        p.tool_use_id
                    ),
                }));
            }
            if !bound
                .iter()
                .any(|r| r.decision.as_deref() == Some("approved"))
            {
                return Ok(Some(ProofRefusal {
                    rule: p.rule.clone().unwrap_or_else(|| "tools.approval".into()),
                    message: format!(
                        "a tool_result answers call {} to '{}', which was held for a human's approval and was not approved",
                        p.tool_use_id, p.tool_name
                    ),
                }));
            }
            verified.push(p.clone());
        }
        if let Ok(mut known) = self.approved.lock() {
            if known.len() > MAX_KNOWN_PROOFS {
                known.clear();
            }
            known.extend(verified);
        }
        Ok(None)
    }
}

/// Answers remembered as verified, at most (then forgotten, and checked again).
const MAX_KNOWN_PROOFS: usize = 65_536;

/// Now, to the microsecond: what both stores keep, so a decision reads back equal to itself.
fn now() -> chrono::DateTime<Utc> {
    crate::audit::ExchangeRecord::now()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
