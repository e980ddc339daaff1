//! The Files API, as the mock serves it: multipart upload, list (newest first, paged by
//! `before_id`/`after_id`/`limit`), metadata, content and delete. Files live in memory.
//!
//! Like the real API, an uploaded file is not downloadable (`downloadable: false`, and its
//! content is a 400) unless the upload carried `x-mock-downloadable: true` — the real API makes
//! only files that tools created downloadable.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MockState, error_response};

/// One uploaded file.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub id: String,
    pub filename: String,
    pub mime_type: String,
    pub created_at: String,
    pub downloadable: bool,
    pub content: Bytes,
}

impl StoredFile {
    fn metadata(&self) -> Value {
        json!({
            "id": self.id,
            "type": "file",
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": self.content.len(),
            "created_at": self.created_at,
            "downloadable": self.downloadable,
        })
    }
}

fn not_found(id: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found_error",
        &format!("File not found: {id}"),
    )
}

fn bad(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

pub async fn upload(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let downloadable = request
        .headers()
        .get("x-mock-downloadable")
        .is_some_and(|v| v == "true");
    let Some(boundary) = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
    else {
        return bad("file: a multipart/form-data body is required");
    };
    let stream = request.into_body().into_data_stream();
    let mut form = multer::Multipart::new(stream, boundary);
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let filename = field.file_name().unwrap_or("upload").to_string();
                let mime_type = field.content_type().map_or_else(
                    || "application/octet-stream".to_string(),
                    ToString::to_string,
                );
                match field.bytes().await {
                    Ok(content) => file = Some((filename, mime_type, content)),
                    Err(_) => return bad("file: the upload ended before it was complete"),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return bad("the multipart body is malformed"),
        }
    }
    let Some((filename, mime_type, content)) = file else {
        return bad("file: Field required");
    };
    let stored = StoredFile {
        id: format!("file_011Mock{:016}", state.next_id()),
        filename,
        mime_type,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        downloadable,
        content,
    };
    let metadata = stored.metadata();
    if let Ok(mut files) = state.files.lock() {
        files.push(stored);
    }
    axum::Json(metadata).into_response()
}

/// `before_id`, `after_id` and `limit`, as the list endpoints take them.
#[derive(Debug, Default, Deserialize)]
pub struct Page {
    before_id: Option<String>,
    after_id: Option<String>,
    limit: Option<usize>,
}

/// One page of `items` (newest first), in the API's list envelope.
pub fn page(items: Vec<Value>, page: &Page) -> Value {
    let position = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| items.iter().position(|v| v["id"] == id.as_str()))
    };
    let limit = page.limit.unwrap_or(20).clamp(1, 1000);
    let (from, to) = match (position(&page.after_id), position(&page.before_id)) {
        (Some(after), _) => (after + 1, (after + 1 + limit).min(items.len())),
        (None, Some(before)) => (before.saturating_sub(limit), before),
        (None, None) => (0, limit.min(items.len())),
    };
    let has_more = if page.before_id.is_some() && page.after_id.is_none() {
        from > 0
    } else {
        to < items.len()
    };
    let data = items[from..to].to_vec();
    json!({
        "data": data,
        "has_more": has_more,
        "first_id": data.first().map(|v| v["id"].clone()),
        "last_id": data.last().map(|v| v["id"].clone()),
    })
}

pub async fn list(State(state): State<Arc<MockState>>, Query(q): Query<Page>) -> Response {
    let items: Vec<Value> = state
        .files
        .lock()
        .map(|f| f.iter().rev().map(StoredFile::metadata).collect())
        .unwrap_or_default();
    axum::Json(page(items, &q)).into_response()
}

fn find(state: &MockState, id: &str) -> Option<StoredFile> {
    state
        .files
        .lock()
        .ok()
        .and_then(|f| f.iter().find(|f| f.id == id).cloned())
}

pub async fn metadata(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Some(f) => axum::Json(f.metadata()).into_response(),
        None => not_found(&id),
    }
}

pub async fn content(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Some(f) if f.downloadable => (
            [(http::header::CONTENT_TYPE, f.mime_type.clone())],
            Body::from(f.content),
        )
            .into_response(),
        Some(_) => bad(&format!("File {id} is not downloadable")),
        None => not_found(&id),
    }
}

pub async fn delete(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let removed = state.files.lock().is_ok_and(|mut f| {
        let before = f.len();
        f.retain(|f| f.id != id);
        f.len() < before
    });
    if removed {
        axum::Json(json!({"id": id, "type": "file_deleted"})).into_response()
    } else {
        not_found(&id)
    }
}
