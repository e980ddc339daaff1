//! The Files API under policy.
//!
//! - **Upload** (`POST /v1/files`, multipart), within `files.max_bytes` of the team's policy.
//!   The file's first 8 KiB decide: UTF-8 text without NUL bytes (whatever its name or declared
//!   type says: a renamed file is still read) is read whole, within `files.max_text_bytes`, and
//!   scanned as a request's text is, its name as an identifier: `block` refuses the upload,
//!   `redact` and `pseudonymize` replace values in what goes upstream (a file has no reply, so its
//!   placeholders are never restored). Anything else (PDF, images, archives, UTF-16) is
//!   unscannable: `files.unscannable: block` refuses it before anything is sent, `allow` relays it
//!   upstream as it arrives, never held whole, while its readable text is scanned a window at a
//!   time (a value the policy does not allow aborts the upload). Every other form field is
//!   scanned; one the policy refuses after a streamed file aborts the upload upstream.
//!   The file then belongs to the team: list, metadata, content and delete show and touch only
//!   the team's own files, and a message may name (`file_id`) only a file its team uploaded.
//! - Each request is an audited exchange; an upload's findings are in its record.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::owned::{self, Kind};
use super::proxy::{forward, team_policy};
use super::relay;
use super::trail::{self, Trail};
use crate::api::ErrorKind;
use crate::filter::RequestContext;
use crate::ids::{Principal, RequestId};
use crate::policy::Unscannable;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidRequest, message)
        .with_rule("request")
        .no_retry()
}

/// One part of a multipart body, kept to be written out again.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

fn new_boundary() -> String {
    format!("warden-{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// A part's delimiter and headers (a quote or line break in a name becomes `_`).
fn write_part_head(out: &mut Vec<u8>, boundary: &str, p: &Part) {
    let quoted = |s: &str| s.replace(['"', '\r', '\n'], "_");
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    let mut disposition = format!(
        "Content-Disposition: form-data; name=\"{}\"",
        quoted(&p.name)
    );
    if let Some(f) = &p.filename {
        disposition.push_str(&format!("; filename=\"{}\"", quoted(f)));
    }
    out.extend_from_slice(disposition.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(t) = &p.content_type {
        out.extend_from_slice(format!("Content-Type: {}\r\n", quoted(t)).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A multipart body of `parts` under a new boundary.
fn encode(parts: &[Part]) -> (String, Bytes) {
    let boundary = new_boundary();
    let mut out = Vec::new();
    for p in parts {
        write_part_head(&mut out, &boundary, p);
        out.extend_from_slice(&p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(out),
    )
}

/// The text of a file, when its bytes are UTF-8 text (no NUL bytes; a byte-order mark is
/// allowed).
fn as_text(data: &[u8]) -> Option<&str> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(data).ok()?;
    (!text.contains('\0')).then_some(text)
}

/// `POST /v1/files`.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let mut trail = Trail::begin(&state, &id, &principal, &parts);
    let mut blocked = false;
    let result = upload_file(
        &state,
        &id,
        &principal,
        &parts,
        body,
        &mut trail,
        &mut blocked,
    )
    .await;
    trail.finish_with(&result, blocked).written().await;
    result
}

async fn upload_file(
    state: &Arc<AppState>,
    id: &RequestId,
    principal: &Principal,
    parts: &Parts,
    body: Body,
    trail: &mut Trail,
    blocked: &mut bool,
) -> Result<Response, ApiError> {
    let compiled = team_policy(state, principal)?;
    let policy = &compiled.policy;
    let policy_header = format!("{}@{}", policy.name, policy.version);
    trail.set_policy(policy);
    let refuse = |e: ApiError| e.with_policy(&policy_header);
    let too_large = |limit: usize, rule: &str| {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("the upload is larger than {rule} ({limit} bytes)"),
        )
        .with_rule(rule.to_string())
        .no_retry()
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > policy.files.max_bytes) {
        return Err(refuse(too_large(policy.files.max_bytes, "files.max_bytes")));
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| invalid("file: send the upload as multipart/form-data"))?;
    let idle = std::time::Duration::from_millis(state.config.limits.body_read_timeout_ms);
    let stream = http_body_util::BodyDataStream::new(http_body_util::Limited::new(
        body,
        policy.files.max_bytes,
    ));
    let mut form = multer::Multipart::new(stream, boundary);
    let mut beside = RequestContext::new(id, principal, state.fingerprint_key.expose().as_bytes());
    let malformed = |e: multer::Error| {
        if e.to_string().contains("length limit") {
            too_large(policy.files.max_bytes, "files.max_bytes")
        } else {
            invalid("the multipart body is malformed or ended early")
        }
    };
    // The fields before the file, read whole and scanned; then the file's first bytes, which
    // say whether it is text (read whole and scanned) or not (relayed as it arrives, or refused).
    let mut read: Vec<Part> = Vec::new();
    let mut file_field = None;
    while let Some(field) = within(idle, form.next_field()).await?.map_err(malformed)? {
        if field.name() == Some("file") {
            file_field = Some(field);
            break;
        }
        let head = head_of(&field);
        let data = within(idle, field.bytes()).await?.map_err(malformed)?;
        read.push(Part { data, ..head });
    }
    let Some(mut field) = file_field else {
        return Err(invalid("file: Field required"));
    };
    let file_head = head_of(&field);
    let mut sniffed = bytes::BytesMut::new();
    let mut ended = false;
    while sniffed.len() < SNIFF_BYTES {
        match within(idle, field.chunk()).await?.map_err(malformed)? {
            Some(chunk) => sniffed.extend_from_slice(&chunk),
            None => {
                ended = true;
                break;
            }
        }
    }
    if looks_like_text(&sniffed, ended) {
        // Text: read to its end within files.max_text_bytes, scan, send whole.
        let mut data = sniffed;
        if !ended {
            while let Some(chunk) = within(idle, field.chunk()).await?.map_err(malformed)? {
                data.extend_from_slice(&chunk);
                if data.len() > policy.files.max_text_bytes {
                    return Err(refuse(too_large(
                        policy.files.max_text_bytes,
                        "files.max_text_bytes",
                    )));
                }
            }
        }
        drop(field);
        read.push(Part {
            data: data.freeze(),
            ..file_head
        });
        while let Some(field) = within(idle, form.next_field()).await?.map_err(malformed)? {
            let head = head_of(&field);
            let data = within(idle, field.bytes()).await?.map_err(malformed)?;
            read.push(Part { data, ..head });
        }
        return send_scanned(
            state, id, principal, parts, read, beside, trail, blocked, &compiled,
        )
        .await;
    }
    if policy.files.unscannable == Unscannable::Block {
        *blocked = true;
        return Err(refuse(
            ApiError::new(
                ErrorKind::Permission,
                format!(
                    "upload blocked by policy '{}': Warden cannot read this file as text (PDFs, images and other binary files are blocked; files.unscannable: block)",
                    policy.name
                ),
            )
            .with_rule("files.unscannable")
            .no_retry(),
        ));
    }
    // Binary and allowed: the fields so far are scanned, then the file goes upstream as it
    // arrives; a field after it that the policy refuses aborts the upload.
    let mut head_parts = read;
    head_parts.push(Part {
        data: Bytes::new(),
        ..file_head
    });
    if let Err(rejection) = scan_fields(policy, &mut beside, &head_parts, 0) {
        trail.set_findings(&beside.findings);
        *blocked = true;
        return Err(refuse(ApiError::from(rejection)));
    }
    // What can be read of the file as it streams is still scanned, a window at a time: a value
    // the policy does not allow stops the upload (before anything is sent, if it is in the
    // first bytes; else by aborting the body upstream is receiving).
    let mut reader = StreamedScan::default();
    if let Err(rejection) = reader.check(policy, id, principal, state, &sniffed) {
        beside.findings.append(&mut reader.found);
        trail.set_findings(&beside.findings);
        *blocked = true;
        return Err(refuse(upload_refusal(rejection)));
    }
    if !trail::admits(state, policy) {
        return Err(refuse(trail::cannot_record()));
    }
    let boundary = new_boundary();
    let mut head = Vec::new();
    let last = head_parts.len() - 1;
    for (i, part) in head_parts.iter().enumerate() {
        write_part_head(&mut head, &boundary, part);
        if i < last {
            head.extend_from_slice(&part.data);
            head.extend_from_slice(b"\r\n");
        }
    }
    head.extend_from_slice(&sniffed);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let outgoing = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mut forwarded = parts.clone();
    if let Ok(v) = http::HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
    {
        forwarded.headers.insert(http::header::CONTENT_TYPE, v);
    }
    forwarded.headers.remove(http::header::CONTENT_LENGTH);
    let ordinal = head_parts.len();
    let pump = async {
        // Owned here, so that the upstream body ends when the pump does.
        let tx = tx;
        let abort = |tx: &tokio::sync::mpsc::Sender<_>| {
            let _ = tx.try_send(Err(std::io::Error::other("upload refused")));
        };
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return Ok(());
        }
        loop {
            match within(idle, field.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if let Err(rejection) = reader.check(policy, id, principal, state, &chunk) {
                        abort(&tx);
                        beside.findings.append(&mut reader.found);
                        *blocked = true;
                        return Err(refuse(upload_refusal(rejection)));
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    abort(&tx);
                    return Err(malformed(e));
                }
                Err(e) => {
                    abort(&tx);
                    return Err(e);
                }
            }
        }
        drop(field);
        let mut tail = b"\r\n".to_vec();
        let mut rest = Vec::new();
        loop {
            match within(idle, form.next_field()).await {
                Ok(Ok(Some(next))) => {
                    let head = head_of(&next);
                    match within(idle, next.bytes()).await {
                        Ok(Ok(data)) => rest.push(Part { data, ..head }),
                        Ok(Err(e)) => {
                            abort(&tx);
                            return Err(malformed(e));
                        }
                        Err(e) => {
                            abort(&tx);
                            return Err(e);
                        }
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    abort(&tx);
                    return Err(malformed(e));
                }
                Err(e) => {
                    abort(&tx);
                    return Err(e);
                }
            }
        }
        if let Err(rejection) = scan_fields(policy, &mut beside, &rest, ordinal) {
            abort(&tx);
            *blocked = true;
            return Err(refuse(ApiError::from(rejection)));
        }
        for part in &rest {
            write_part_head(&mut tail, &boundary, part);
            tail.extend_from_slice(&part.data);
            tail.extend_from_slice(b"\r\n");
        }
        tail.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let _ = tx.send(Ok(Bytes::from(tail))).await;
        Ok(())
    };
    let sent = std::time::Instant::now();
    let path = forwarded
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/v1/files"));
    let send = state.forwarder.send_body(
        forwarded.method.clone(),
        &path,
        &forwarded.headers,
        crate::upstream::Outgoing::Stream(outgoing),
    );
    let (upstream, pumped) = tokio::join!(send, pump);
    trail.set_findings(&beside.findings);
    pumped?;
    let upstream = upstream.map_err(ApiError::from)?;
    answer_upload(state, id, principal, upstream, sent, trail, &policy_header).await
}

/// The refusal of an upload, worded for it.
fn upload_refusal(rejection: crate::filter::Rejection) -> ApiError {
    let mut e = ApiError::from(rejection);
    e.message = e.message.replacen("request blocked", "upload blocked", 1);
    e
}

/// Bytes of a streamed file's readable text kept from one chunk to the next, so that a value
/// split between two chunks is seen whole.
const STREAMED_SCAN_CARRY: usize = 1024;

/// Scans a file relayed as it arrives, chunk by chunk, for values the policy refuses.
#[derive(Default)]
struct StreamedScan {
    carry: String,
    /// The findings of a refused chunk, for the audit record.
    found: Vec<crate::filter::Finding>,
}

impl StreamedScan {
    fn check(
        &mut self,
        policy: &crate::policy::Policy,
        id: &RequestId,
        principal: &Principal,
        state: &AppState,
        chunk: &[u8],
    ) -> Result<(), crate::filter::Rejection> {
        let mut text = std::mem::take(&mut self.carry);
        text.push_str(&String::from_utf8_lossy(chunk));
        let mut scratch =
            RequestContext::new(id, principal, state.fingerprint_key.expose().as_bytes());
        let checked = crate::filter::data::scan_fixed(
            policy,
            &mut scratch,
            &Value::String(text.clone()),
            "file",
        );
        if checked.is_err() {
            self.found = scratch.findings;
        }
        let mut keep = text.len().saturating_sub(STREAMED_SCAN_CARRY);
        while !text.is_char_boundary(keep) {
            keep += 1;
        }
        self.carry = text.split_off(keep);
        checked
    }
}

/// How much of a file is read to tell text from binary before anything goes upstream.
const SNIFF_BYTES: usize = 8 * 1024;

/// Whether a file's first bytes are UTF-8 text (a character cut at the end of an unfinished
/// read allowed) without NUL bytes.
fn looks_like_text(first: &[u8], whole: bool) -> bool {
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    if first.contains(&0) {
        return false;
    }
    match std::str::from_utf8(first) {
        Ok(_) => true,
        Err(e) => !whole && e.error_len().is_none(),
    }
}

/// A step of reading the upload, within the idle limit.
async fn within<T>(
    idle: std::time::Duration,
    step: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    tokio::time::timeout(idle, step).await.map_err(|_| {
        ApiError::new(
            ErrorKind::RequestTimeout,
            format!(
                "the upload stalled for longer than limits.body_read_timeout_ms ({} ms)",
                idle.as_millis()
            ),
        )
        .with_rule("limits.body_read_timeout_ms")
        .no_retry()
    })
}

fn head_of(field: &multer::Field<'_>) -> Part {
    Part {
        name: field.name().unwrap_or_default().to_string(),
        filename: field.file_name().map(str::to_string),
        content_type: field.content_type().map(ToString::to_string),
        data: Bytes::new(),
    }
}

/// Scans the fields that go upstream as they are (names, types, values other than the file's
/// content): a value the policy refuses refuses the upload. `first` numbers them in the form.
fn scan_fields(
    policy: &crate::policy::Policy,
    ctx: &mut RequestContext<'_>,
    parts: &[Part],
    first: usize,
) -> Result<(), crate::filter::Rejection> {
    for (i, part) in parts.iter().enumerate() {
        let mut fields = serde_json::Map::new();
        fields.insert("name".into(), Value::String(part.name.clone()));
        if let Some(t) = &part.content_type {
            fields.insert("content_type".into(), Value::String(t.clone()));
        }
        if part.name != "file" {
            if let Some(f) = &part.filename {
                fields.insert("filename".into(), Value::String(f.clone()));
            }
            fields.insert(
                "value".into(),
                Value::String(String::from_utf8_lossy(&part.data).into_owned()),
            );
        }
        crate::filter::data::scan_fixed(
            policy,
            ctx,
            &Value::Object(fields),
            &format!("form[{}]", first + i),
        )?;
    }
    Ok(())
}

/// A text upload, read whole: its fields and its text scanned, then sent.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one exchange and what it leaves for the audit record"
)]
async fn send_scanned(
    state: &Arc<AppState>,
    id: &RequestId,
    principal: &Principal,
    parts: &Parts,
    mut form: Vec<Part>,
    mut beside: RequestContext<'_>,
    trail: &mut Trail,
    blocked: &mut bool,
    compiled: &crate::policy::CompiledPolicy,
) -> Result<Response, ApiError> {
    let policy = &compiled.policy;
    let policy_header = format!("{}@{}", policy.name, policy.version);
    let refuse = |e: ApiError| e.with_policy(&policy_header);
    if let Err(rejection) = scan_fields(policy, &mut beside, &form, 0) {
        state.metrics.findings(&beside.findings);
        trail.set_findings(&beside.findings);
        *blocked = true;
        return Err(refuse(ApiError::from(rejection)));
    }
    let Some(file) = form.iter_mut().find(|p| p.name == "file") else {
        return Err(invalid("file: Field required"));
    };
    let name = file.filename.clone().unwrap_or_default();
    let text = as_text(&file.data).map(str::to_string);
    match text {
        Some(mut text) => {
            let mut ctx =
                RequestContext::new(id, principal, state.fingerprint_key.expose().as_bytes());
            ctx.findings = std::mem::take(&mut beside.findings);
            let scanned =
                crate::filter::data::scan_document(policy, &mut ctx, &name, &mut text, "file");
            state.metrics.findings(&ctx.findings);
            trail.set_findings(&ctx.findings);
            match scanned {
                Ok(true) => file.data = Bytes::from(text),
                Ok(false) => {}
                Err(rejection) => {
                    *blocked = true;
                    let mut e = ApiError::from(rejection);
                    e.message = e.message.replacen("request blocked", "upload blocked", 1);
                    return Err(refuse(e));
                }
            }
        }
        // Text at its start, not at its end: judged as the binary file it is.
        None if policy.files.unscannable == Unscannable::Block => {
            trail.set_findings(&beside.findings);
            *blocked = true;
            return Err(refuse(
                ApiError::new(
                    ErrorKind::Permission,
                    format!(
                        "upload blocked by policy '{}': Warden cannot read this file as text (files.unscannable: block)",
                        policy.name
                    ),
                )
                .with_rule("files.unscannable")
                .no_retry(),
            ));
        }
        // Allowed, and read whole anyway (it began as text): what can be read of it is still
        // scanned, and a value the policy does not allow refuses it (a binary file is not
        // rewritten), so a NUL byte cannot carry a secret past the scan.
        None => {
            let readable = String::from_utf8_lossy(&file.data).into_owned();
            let scanned = crate::filter::data::scan_fixed(
                policy,
                &mut beside,
                &Value::String(readable),
                "file",
            );
            state.metrics.findings(&beside.findings);
            trail.set_findings(&beside.findings);
            if let Err(rejection) = scanned {
                *blocked = true;
                let mut e = ApiError::from(rejection);
                e.message = e.message.replacen("request blocked", "upload blocked", 1);
                return Err(refuse(e));
            }
        }
    }
    if !trail::admits(state, policy) {
        return Err(refuse(trail::cannot_record()));
    }
    let (content_type, body) = encode(&form);
    let mut forwarded = parts.clone();
    if let Ok(v) = http::HeaderValue::from_str(&content_type) {
        forwarded.headers.insert(http::header::CONTENT_TYPE, v);
    }
    forwarded.headers.remove(http::header::CONTENT_LENGTH);
    let sent = std::time::Instant::now();
    let upstream = forward(state, &forwarded, body).await?;
    answer_upload(state, id, principal, upstream, sent, trail, &policy_header).await
}

/// Records who owns the file upstream created, and relays upstream's answer.
async fn answer_upload(
    state: &Arc<AppState>,
    id: &RequestId,
    principal: &Principal,
    upstream: crate::upstream::UpstreamResponse,
    sent: std::time::Instant,
    trail: &mut Trail,
    policy_header: &str,
) -> Result<Response, ApiError> {
    trail.set_upstream(
        upstream
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        sent.elapsed(),
    );
    let ok = upstream.status().is_success();
    let head = relay::response_head(&upstream);
    let answer = relay::whole_body(state, upstream).await?;
    trail.set_output(answer.clone());
    if ok {
        let file_id = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_string))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::BadGateway,
                    "upstream answered the upload with something that is not a file",
                )
                .with_rule("upstream")
            })?;
        owned::record(state, principal, Kind::File, &file_id, id.as_str(), None).await?;
    }
    let mut response = relay::finish(head, Body::from(answer));
    if let Ok(v) = http::HeaderValue::from_str(policy_header) {
        response.headers_mut().insert("x-warden-policy", v);
    }
    Ok(response)
}

/// Sends a request about the team's files upstream and relays the answer (a list keeps only
/// the team's own files).
async fn about_files(
    state: Arc<AppState>,
    id: RequestId,
    principal: Principal,
    request: Request,
    file_id: Option<String>,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let trail = Trail::begin(&state, &id, &principal, &parts);
    let result = async {
        if let Some(file_id) = &file_id {
            owned::owned_by_team(&state, &principal, Kind::File, file_id).await?;
        }
        let bytes = super::body::read_limited(body, &parts.headers, &state.config.limits).await?;
        if !trail::admits_team(&state, principal.team.as_str()) {
            return Err(trail::cannot_record());
        }
        let upstream = forward(&state, &parts, bytes).await?;
        if file_id.is_some() || !upstream.status().is_success() {
            return Ok(relay::verbatim(upstream));
        }
        let head = relay::response_head(&upstream);
        let answer = relay::whole_body(&state, upstream).await?;
        let Ok(mut v) = serde_json::from_slice::<Value>(&answer) else {
            return Ok(relay::finish(head, Body::from(answer)));
        };
        owned::keep_owned(&state, &principal, &mut v).await?;
        let mut response = relay::finish(head, Body::from(v.to_string()));
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
        Ok(response)
    }
    .await;
    trail.finish_with(&result, false).written().await;
    result
}

/// `GET /v1/files`: the team's own files.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    request: Request,
) -> Result<Response, ApiError> {
    about_files(state, id, principal, request, None).await
}

/// `GET`/`DELETE /v1/files/{id}` and `GET /v1/files/{id}/content`.
pub async fn one(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Extension(principal): Extension<Principal>,
    Path(file_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    about_files(state, id, principal, request, Some(file_id)).await
}

/// Every `file_id` a request body names, anywhere in it (document and image sources, container
/// uploads, fields Warden does not model). Cheap when there is none: the body is searched for
/// the key first.
pub fn file_ids(body: &[u8]) -> Vec<String> {
    if memchr::memmem::find(body, b"file_id").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    // The body has been parsed once already (a repeated key refused): this reads the same.
    let v = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    collect_file_ids(&v, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_file_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "file_id" {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        // Not an id Warden can check: nothing else would accept it either.
                        other => out.push(other.to_string()),
                    }
                } else {
                    collect_file_ids(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_file_ids(v, out)),
        _ => {}
    }
}

/// A request may name only files its team uploaded through Warden.
pub async fn check_file_ids(
    state: &AppState,
    principal: &Principal,
    ids: &[String],
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mine = owned::owned_among(state, principal, ids).await?;
    match ids.iter().find(|id| !mine.contains(id.as_str())) {
        None => Ok(()),
        Some(id) => Err(ApiError::new(
            ErrorKind::Permission,
            format!(
                "file {} was not uploaded through Warden by team '{}'; a message may name only the team's own files",
                id.chars().take(64).collect::<String>(),
                principal.team
            ),
        )
        .with_rule("files.ownership")
        .no_retry()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a whole `multipart/form-data` body.
    async fn parts_of(body: Bytes, content_type: &str) -> Result<Vec<Part>, ApiError> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| invalid("file: send the upload as multipart/form-data"))?;
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut form = multer::Multipart::new(stream, boundary);
        let mut out = Vec::new();
        loop {
            match form.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let filename = field.file_name().map(str::to_string);
                    let content_type = field.content_type().map(ToString::to_string);
                    let data = field
                        .bytes()
                        .await
                        .map_err(|_| invalid("the multipart body is malformed"))?;
                    out.push(Part {
                        name,
                        filename,
                        content_type,
                        data,
                    });
                }
                Ok(None) => return Ok(out),
                Err(_) => return Err(invalid("the multipart body is malformed")),
            }
        }
    }

    #[test]
    fn text_is_what_decodes_as_utf8_without_nul_bytes() {
        assert_eq!(
            as_text(b"name,email\nJane,jane@example.com\n"),
            Some("name,email\nJane,jane@example.com\n")
        );
        assert_eq!(as_text(b"\xEF\xBB\xBFhello"), Some("hello"));
        assert_eq!(as_text(b"%PDF-1.7\n\xE2\xE3\xCF\xD3"), None);
        assert_eq!(as_text(b"\xFF\xFEh\0i\0"), None);
        assert_eq!(as_text(b"abc\0def"), None);
    }

    #[tokio::test]
    async fn a_multipart_body_survives_being_read_and_written_again() {
        let parts = vec![
            Part {
                name: "file".into(),
                filename: Some("notes \"q\".txt".into()),
                content_type: Some("text/plain".into()),
                data: Bytes::from_static(b"line one\r\nline two"),
            },
            Part {
                name: "purpose".into(),
                filename: None,
                content_type: None,
                data: Bytes::from_static(b"docs"),
            },
        ];
        let (ct, body) = encode(&parts);
        let back = parts_of(body, &ct).await.expect("parses");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].name, "file");
        assert_eq!(back[0].filename.as_deref(), Some("notes _q_.txt"));
        assert_eq!(back[0].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&back[0].data[..], b"line one\r\nline two");
        assert_eq!(&back[1].data[..], b"docs");
    }

    #[test]
    fn file_ids_are_found_at_any_depth() {
        let mut out = Vec::new();
        collect_file_ids(
            &serde_json::json!({"messages": [{"content": [
                {"type": "document", "source": {"type": "file", "file_id": "file_a"}},
                {"type": "future", "deep": {"x": [{"file_id": "file_b"}]}},
            ]}]}),
            &mut out,
        );
        assert_eq!(out, ["file_a", "file_b"]);
    }
}
