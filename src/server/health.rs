//! The open endpoints: the cheap probe at `/` (Claude Code sends `HEAD /` at start-up), liveness
//! and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::AppState;

pub async fn probe() -> Response {
    Json(json!({"service": "warden", "status": "ok"})).into_response()
}

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let mut problems = Vec::new();
    if state.shutting_down.is_cancelled() {
        problems.push("shutting down");
    }
    if !state.forwarder.has_credential() {
        problems.push("no upstream credential (set ANTHROPIC_API_KEY or upstream.api_key_file)");
    }
    if state.keys.load().is_empty() {
        problems.push("no Warden keys configured (create one with `warden keys new`)");
    }
    let set = state.policies.current();
    let policies = json!({
        "version": set.version,
        "teams": set.policies.keys().collect::<Vec<_>>(),
        "reloads": state.policies.reloads(),
        "reload_failures": state.policies.reload_failures(),
        // Present while the directory holds a broken edit; the last good set keeps serving.
        "reload_error": state.policies.last_error(),
    });
    let audit_state = state.audit.state();
    if audit_state == crate::audit::StoreState::Failing {
        problems.push("the audit store can take no records (database and spool both failing)");
    }
    let audit = json!({
        "state": if state.audit.enabled() { audit_state.as_str() } else { "disabled" },
        "instance_id": state.audit.instance_id(),
        "written": state.audit.written(),
        "spooled": state.audit.spooled(),
    });
    if problems.is_empty() && state.is_ready() {
        Json(json!({"status": "ready", "policies": policies, "audit": audit})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "problems": problems, "policies": policies, "audit": audit})),
        )
            .into_response()
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let set = state.policies.current();
    let mut body = state.metrics.render(
        &set.version,
        state.policies.reloads(),
        state.policies.reload_failures(),
    );
    body.push_str(&state.approvals.render_metrics());
    let audit = &state.audit;
    let instance = audit.instance_id();
    body.push_str(&format!(
        "# HELP warden_audit_records_written_total Audit records written to the database.\n\
         # TYPE warden_audit_records_written_total counter\n\
         warden_audit_records_written_total {}\n\
         # HELP warden_audit_records_spooled_total Audit records written to the spool: the database was unavailable, or the writer was behind.\n\
         # TYPE warden_audit_records_spooled_total counter\n\
         warden_audit_records_spooled_total {}\n\
         # HELP warden_audit_records_submitted_total Audit records handed to the writer (each is then written, spooled, or still queued).\n\
         # TYPE warden_audit_records_submitted_total counter\n\
         warden_audit_records_submitted_total {}\n\
         # HELP warden_audit_queue_bytes Bytes of prompts and outputs waiting in the writer's in-memory queue.\n\
         # TYPE warden_audit_queue_bytes gauge\n\
         warden_audit_queue_bytes {}\n\
         # HELP warden_audit_spool_bytes Bytes waiting in the spool files on disk (alert before the volume fills).\n\
         # TYPE warden_audit_spool_bytes gauge\n\
         warden_audit_spool_bytes {}\n\
         # HELP warden_audit_store_ok 1 when the database takes records, 0 while spooling or failing.\n\
         # TYPE warden_audit_store_ok gauge\n\
         warden_audit_store_ok {}\n\
         # HELP warden_audit_enabled 1 when exchanges are recorded; 0 when the config turned records off (alert on it).\n\
         # TYPE warden_audit_enabled gauge\n\
         warden_audit_enabled {}\n\
         # HELP warden_audit_chain_head_seq Sequence number of the last row this instance wrote: an outside record of its chain's head.\n\
         # TYPE warden_audit_chain_head_seq gauge\n\
         warden_audit_chain_head_seq{{instance=\"{instance}\"}} {}\n",
        audit.written(),
        audit.spooled(),
        audit.submitted(),
        audit.queued_bytes(),
        audit.spool_bytes(),
        u8::from(audit.state() == crate::audit::StoreState::Ok),
        u8::from(audit.enabled()),
        audit.head_seq(),
    ));
    #[cfg(feature = "otlp")]
    if let Some(exporter) = &state.telemetry {
        use std::sync::atomic::Ordering;
        body.push_str(&format!(
            "# HELP warden_otlp_spans_exported_total Spans the OTLP collector accepted.\n\
             # TYPE warden_otlp_spans_exported_total counter\n\
             warden_otlp_spans_exported_total {}\n\
             # HELP warden_otlp_spans_dropped_total Spans dropped: queue full, or the collector refused or did not answer.\n\
             # TYPE warden_otlp_spans_dropped_total counter\n\
             warden_otlp_spans_dropped_total {}\n",
            exporter.counts.exported.load(Ordering::Relaxed),
            exporter.counts.dropped.load(Ordering::Relaxed),
        ));
    }
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}
