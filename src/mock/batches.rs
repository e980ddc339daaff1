//! The Message Batches API, as the mock serves it: create, list, retrieve, cancel, delete and
//! results (JSONL). Each item is answered as a non-streamed request with the same params would
//! be (its scenario from its model or the create request's `x-mock-scenario`), when the batch is
//! created. A batch is `in_progress` in the create response and `ended` from the next read on,
//! with a `results_url` on the host the request named.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::files::{Page, page};
use super::reply::{Echo, whole_message};
use super::scenario::Scenario;
use super::{MockState, error_response};

/// One batch and its results, computed when it was created.
#[derive(Clone, Debug)]
pub struct StoredBatch {
    pub id: String,
    pub created_at: String,
    pub ended_at: Option<String>,
    pub cancel_initiated_at: Option<String>,
    /// One JSON line per item, in the order the items came.
    pub results: Vec<Value>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl StoredBatch {
    fn object(&self, host: &str) -> Value {
        let count = |kind: &str| {
            self.results
                .iter()
                .filter(|r| r["result"]["type"] == kind)
                .count()
        };
        let ended = self.ended_at.is_some();
        json!({
            "id": self.id,
            "type": "message_batch",
            "processing_status": if ended { "ended" } else if self.cancel_initiated_at.is_some() { "canceling" } else { "in_progress" },
            "request_counts": {
                "processing": if ended { 0 } else { self.results.len() },
                "succeeded": if ended { count("succeeded") } else { 0 },
                "errored": if ended { count("errored") } else { 0 },
                "canceled": 0,
                "expired": 0,
            },
            "ended_at": self.ended_at,
            "created_at": self.created_at,
            "expires_at": self.created_at,
            "archived_at": null,
            "cancel_initiated_at": self.cancel_initiated_at,
            "results_url": ended.then(|| format!("http://{host}/v1/messages/batches/{}/results", self.id)),
        })
    }
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn not_found(id: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found_error",
        &format!("Message batch not found: {id}"),
    )
}

fn bad(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

/// The result line of one item.
fn result_for(state: &MockState, custom_id: &str, params: &Value, headers: &HeaderMap) -> Value {
    let errored = |kind: &str, message: &str| {
        json!({"custom_id": custom_id, "result": {"type": "errored", "error": {
            "type": "error", "error": {"type": kind, "message": message}
        }}})
    };
    if params.get("model").and_then(Value::as_str).is_none() {
        return errored("invalid_request_error", "model: Field required");
    }
    if params.get("max_tokens").and_then(Value::as_u64).is_none() {
        return errored("invalid_request_error", "max_tokens: Field required");
    }
    if !params.get("messages").is_some_and(Value::is_array) {
        return errored("invalid_request_error", "messages: Field required");
    }
    let scenario = Scenario::select(headers, params);
    if let Scenario::Status(code) = scenario {
        let kind = match code {
            400 => "invalid_request_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        return errored(kind, "mock: the item failed as its scenario asked");
    }
    let echo = Echo {
        method: "POST",
        path: "/v1/messages",
        headers,
        body: params,
    };
    // Items go through the prompt cache in order, as the API's batches share it.
    let usage = state.input_usage(headers, params, params.to_string().len());
    let message = whole_message(&scenario, params, &echo, usage);
    json!({"custom_id": custom_id, "result": {"type": "succeeded", "message": message}})
}

pub async fn create(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = body.collect().await.map(|c| c.to_bytes()) else {
        return bad("body unreadable");
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return bad("invalid JSON body");
    };
    let Some(requests) = v["requests"].as_array().filter(|r| !r.is_empty()) else {
        return bad("requests: Field required");
    };
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(requests.len());
    for (i, item) in requests.iter().enumerate() {
        let Some(custom_id) = item["custom_id"].as_str() else {
            return bad(&format!("requests.{i}.custom_id: Field required"));
        };
        if !seen.insert(custom_id) {
            return bad(&format!(
                "requests.{i}.custom_id: duplicate custom_id {custom_id}"
            ));
        }
        results.push(result_for(
            &state,
            custom_id,
            &item["params"],
            &parts.headers,
        ));
    }
    let batch = StoredBatch {
        id: format!("msgbatch_01Mock{:016}", state.next_id()),
        created_at: now(),
        ended_at: None,
        cancel_initiated_at: None,
        results,
    };
    let object = batch.object(&host(&parts.headers));
    if let Ok(mut batches) = state.batches.lock() {
        batches.push(batch);
    }
    axum::Json(object).into_response()
}

/// The batch, ended if this is a read after its creation.
fn read(state: &MockState, id: &str) -> Option<StoredBatch> {
    let mut batches = state.batches.lock().ok()?;
    let batch = batches.iter_mut().find(|b| b.id == id)?;
    if batch.ended_at.is_none() {
        batch.ended_at = Some(now());
    }
    Some(batch.clone())
}

pub async fn list(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Query(q): Query<Page>,
) -> Response {
    let host = host(&headers);
    let items: Vec<Value> = state
        .batches
        .lock()
        .map(|b| {
            b.iter()
                .rev()
                .map(|b| {
                    let mut b = b.clone();
                    b.ended_at.get_or_insert_with(now);
                    b.object(&host)
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(page(items, &q)).into_response()
}

pub async fn retrieve(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match read(&state, &id) {
        Some(b) => axum::Json(b.object(&host(&headers))).into_response(),
        None => not_found(&id),
    }
}

pub async fn cancel(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(mut batches) = state.batches.lock() else {
        return not_found(&id);
    };
    let Some(batch) = batches.iter_mut().find(|b| b.id == id) else {
        return not_found(&id);
    };
    if batch.ended_at.is_none() {
        batch.cancel_initiated_at = Some(now());
    }
    axum::Json(batch.object(&host(&headers))).into_response()
}

pub async fn delete(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let Ok(mut batches) = state.batches.lock() else {
        return not_found(&id);
    };
    match batches.iter().position(|b| b.id == id) {
        Some(i) if batches[i].ended_at.is_some() => {
            batches.remove(i);
            axum::Json(json!({"id": id, "type": "message_batch_deleted"})).into_response()
        }
        Some(_) => bad(&format!(
            "Message batch {id} cannot be deleted while it is in progress; cancel it first"
        )),
        None => not_found(&id),
    }
}

/// The results as JSONL, one line per item, sent line by line.
pub async fn results(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    match read(&state, &id) {
        Some(b) => {
            let lines = b
                .results
                .into_iter()
                .map(|r| Ok::<_, std::io::Error>(Bytes::from(format!("{r}\n"))));
            (
                [(http::header::CONTENT_TYPE, "application/binary")],
                axum::body::Body::from_stream(futures_util::stream::iter(lines)),
            )
                .into_response()
        }
        None => not_found(&id),
    }
}
