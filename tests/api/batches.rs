//! Message Batches and Files under policy: each batch item is judged as if sent alone, results
//! come back through the reply stages line by line, files are scanned on upload, and a team sees
//! and uses only its own batches and files.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use warden::audit::store::Filter;

use crate::helpers::{TestApp, WARDEN_KEY, expect_error, key_entry};

/// A key of team `strict`, whose policy blocks secrets and drops the items it refuses.
const STRICT_KEY: &str = "wdn_StrictTeamKeyForBatchTests0123456789abcdef";
/// A key of team `open`, whose policy lets binary uploads through and reads text up to 1 MiB.
const OPEN_KEY: &str = "wdn_OpenTeamKeyForFileUploadTests0123456789abcdef";
/// A key of team `other`, with the default policy.
const OTHER_KEY: &str = "wdn_OtherTeamKeyForBatchTests0123456789abcdefg";

const AWS_KEY: &str = "AKIAZ3MSJV7WQ2PLX4NB";

/// The bundled default policy, and two teams: `strict` (secrets blocked, refused batch items
/// dropped) and `other` (the default policy, a different team).
fn policies(drop_items: bool) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "batch-policies-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let default = std::fs::read_to_string(crate::helpers::bundled_policies().join("default.yaml"))
        .expect("bundled default");
    std::fs::write(dir.join("default.yaml"), &default).expect("write");
    std::fs::write(dir.join("other.yaml"), &default).expect("write");
    std::fs::write(
        dir.join("strict.yaml"),
        format!(
            "classes:\n  secrets: {{ action: block }}\n  pii.email: {{ action: pseudonymize }}\nbatches:\n  blocked_items: {}\nfiles:\n  unscannable: block\n",
            if drop_items { "drop" } else { "refuse" }
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join("open.yaml"),
        "classes:\n  secrets: { action: block }\nfiles:\n  unscannable: allow\n  max_text_bytes: 1048576\n",
    )
    .expect("write");
    dir
}

async fn app(drop_items: bool) -> TestApp {
    TestApp::start_with(|c| {
        c.policies.dir = policies(drop_items);
        c.keys.push(key_entry(STRICT_KEY, "key_strict", "strict"));
        c.keys.push(key_entry(OTHER_KEY, "key_other", "other"));
        c.keys.push(key_entry(OPEN_KEY, "key_open", "open"));
    })
    .await
}

fn item(custom_id: &str, model: &str, text: &str) -> Value {
    json!({"custom_id": custom_id, "params": {
        "model": model, "max_tokens": 64,
        "messages": [{"role": "user", "content": text}]
    }})
}

async fn get_as(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.url))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .expect("sent")
}

/// The batch creations the mock received.
async fn batches_upstream_saw(app: &TestApp) -> Vec<Value> {
    app.mock_requests().await["requests"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/messages/batches")
        .map(|r| serde_json::from_str(r["body"].as_str().expect("body")).expect("json"))
        .collect()
}

#[tokio::test]
async fn each_item_is_judged_alone_and_its_result_comes_back_through_the_reply_stages() {
    let app = app(false).await;
    let created = app
        .post("/v1/messages/batches")
        .json(&json!({"requests": [
            item("mail", "mock-parrot", "Write to jane.roe@example.com about the invoice."),
            item("key", "mock-parrot", &format!("Deploy with {AWS_KEY} today.")),
        ]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 200);
    let request_id = created.headers()["x-warden-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    let batch: Value = created.json().await.expect("json");
    let batch_id = batch["id"].as_str().expect("batch id").to_string();

    // Upstream saw each item as the policy left it: the email a placeholder, the key redacted.
    let sent = batches_upstream_saw(&app).await;
    assert_eq!(sent.len(), 1);
    let sent = sent[0].to_string();
    assert!(!sent.contains("jane.roe@example.com"), "{sent}");
    assert!(sent.contains("<EMAIL_1>"), "{sent}");
    assert!(!sent.contains(AWS_KEY), "{sent}");

    // Its results URL is Warden's, never upstream's.
    let got: Value = get_as(
        &app,
        WARDEN_KEY,
        &format!("/v1/messages/batches/{batch_id}"),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(got["processing_status"], "ended");
    let url = got["results_url"].as_str().expect("results_url");
    assert!(url.starts_with(&app.url), "{url} is not Warden's");

    // The results: the placeholder restored for the client, the key still redacted.
    let results = app
        .http
        .get(url)
        .header("x-api-key", WARDEN_KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(results.status(), 200);
    let text = results.text().await.expect("text");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let said = |id: &str| {
        lines
            .iter()
            .find(|l| l["custom_id"] == id)
            .map(|l| l["result"]["message"]["content"][0]["text"].clone())
            .expect("the item's line")
    };
    assert_eq!(
        said("mail"),
        "Write to jane.roe@example.com about the invoice."
    );
    let key_text = said("key").to_string();
    assert!(
        !key_text.contains(AWS_KEY) && key_text.contains("[REDACTED:"),
        "{key_text}"
    );

    // The audit has the batch and each of its items, linked.
    let store = &app.warden.state.store;
    // The audit writer yields the CPU to requests (writer_priority: idle): under a loaded
    // machine its rows can take a while.
    let mut items = Vec::new();
    for _ in 0..600 {
        items = store
            .search(
                &Filter {
                    parent_id: Some(request_id.clone()),
                    ..Filter::default()
                },
                10,
            )
            .await
            .expect("search");
        if items.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut custom: Vec<_> = items
        .iter()
        .map(|r| r.record.custom_id.clone().unwrap_or_default())
        .collect();
    custom.sort();
    assert_eq!(custom, ["key", "mail"]);
    assert!(
        items.iter().all(|r| r
            .record
            .findings
            .iter()
            .any(|f| f.class.starts_with("secrets") || f.class == "pii.email")),
        "each item's findings are on its own record"
    );
}

#[tokio::test]
async fn an_item_the_policy_refuses_refuses_the_batch_by_its_custom_id() {
    let app = app(false).await;
    let r = app
        .post_as(STRICT_KEY, "/v1/messages/batches")
        .json(&json!({"requests": [
            item("fine", "mock-parrot", "Hello"),
            item("leaky-item", "mock-parrot", &format!("key {AWS_KEY}")),
        ]}))
        .send()
        .await
        .expect("sent");
    let message = expect_error(r, 403, "permission_error").await;
    assert!(message.contains("leaky-item"), "{message}");
    assert!(!message.contains(AWS_KEY), "{message}");
    assert!(
        batches_upstream_saw(&app).await.is_empty(),
        "nothing went upstream"
    );

    // A secret hidden in a field Warden does not model, or in the system prompt, is found too.
    for params in [
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "metadata": {"note": AWS_KEY}}),
        json!({"model": "m", "max_tokens": 5, "system": format!("use {AWS_KEY}"), "messages": [{"role": "user", "content": "hi"}]}),
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": "AKIAZ3MSJV7W\u{200b}Q2PLX4NB"}]}]}),
    ] {
        let r = app
            .post_as(STRICT_KEY, "/v1/messages/batches")
            .json(&json!({"requests": [{"custom_id": "x", "params": params}]}))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 403, "{params}");
    }
    // What goes upstream beside the params is scanned too, and never echoed: a custom_id, a
    // field of an item, a field of the envelope.
    for body in [
        json!({"requests": [{"custom_id": format!("id-{AWS_KEY}"), "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}]}),
        json!({"requests": [{"custom_id": "a", "note": AWS_KEY, "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}]}),
        json!({"label": {"deep": [AWS_KEY]}, "requests": [{"custom_id": "a", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}]}),
    ] {
        let r = app
            .post_as(STRICT_KEY, "/v1/messages/batches")
            .json(&body)
            .send()
            .await
            .expect("sent");
        let dropped = r.headers().get("x-warden-dropped-items").cloned();
        let message = expect_error(r, 403, "permission_error").await;
        assert!(!message.contains(AWS_KEY), "{message}");
        assert!(dropped.is_none());
    }
    // A repeated key in the envelope is refused, not read one way here and another upstream.
    let r = app
        .post_as(STRICT_KEY, "/v1/messages/batches")
        .body(r#"{"requests": [{"custom_id": "a", "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}], "requests": []}"#)
        .send()
        .await
        .expect("sent");
    expect_error(r, 400, "invalid_request_error").await;
    assert!(batches_upstream_saw(&app).await.is_empty());
}

#[tokio::test]
async fn with_blocked_items_drop_the_rest_of_the_batch_goes_and_the_dropped_are_named() {
    let app = app(true).await;
    let r = app
        .post_as(STRICT_KEY, "/v1/messages/batches")
        .json(&json!({"requests": [
            item("fine", "mock-parrot", "Hello"),
            item("leaky", "mock-parrot", &format!("key {AWS_KEY}")),
        ]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-warden-dropped-items"], "leaky");
    let sent = batches_upstream_saw(&app).await;
    let ids: Vec<&str> = sent[0]["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|i| i["custom_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["fine"]);
}

#[tokio::test]
async fn another_teams_batches_are_not_found_listed_or_readable() {
    let app = app(false).await;
    let batch: Value = app
        .post("/v1/messages/batches")
        .json(&json!({"requests": [item("a", "mock-parrot", "Hello")]}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let id = batch["id"].as_str().expect("id");
    for path in [
        format!("/v1/messages/batches/{id}"),
        format!("/v1/messages/batches/{id}/results"),
    ] {
        let r = get_as(&app, OTHER_KEY, &path).await;
        expect_error(r, 404, "not_found_error").await;
    }
    let r = app
        .http
        .delete(format!("{}/v1/messages/batches/{id}", app.url))
        .header("x-api-key", OTHER_KEY)
        .send()
        .await
        .expect("sent");
    expect_error(r, 404, "not_found_error").await;
    let r = app
        .post_as(OTHER_KEY, &format!("/v1/messages/batches/{id}/cancel"))
        .send()
        .await
        .expect("sent");
    expect_error(r, 404, "not_found_error").await;
    let theirs: Value = get_as(&app, OTHER_KEY, "/v1/messages/batches")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(theirs["data"], json!([]), "{theirs}");
    let mine: Value = get_as(&app, WARDEN_KEY, "/v1/messages/batches")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine["data"][0]["id"], id);
    assert!(
        mine["data"][0]["results_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&app.url))
    );
    // An id Warden never saw is the same 404.
    let r = get_as(&app, WARDEN_KEY, "/v1/messages/batches/msgbatch_unknown").await;
    expect_error(r, 404, "not_found_error").await;
}

/// A multipart upload of `content` named `name`.
async fn upload(
    app: &TestApp,
    key: &str,
    name: &str,
    mime: &str,
    content: &[u8],
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(content.to_vec())
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime");
    app.http
        .post(format!("{}/v1/files", app.url))
        .header("x-api-key", key)
        .header("anthropic-beta", "files-api-2025-04-14")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("sent")
}

/// The bodies of the uploads the mock received.
async fn uploads_upstream_saw(app: &TestApp) -> Vec<String> {
    app.mock_requests().await["requests"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/files")
        .map(|r| r["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn uploads_are_scanned_whatever_their_name_and_binary_ones_follow_policy() {
    let app = app(false).await;
    // The default policy redacts: the file reaches upstream without the key.
    let csv = format!("name,key\ndeploy,{AWS_KEY}\n");
    let r = upload(&app, WARDEN_KEY, "keys.csv", "text/csv", csv.as_bytes()).await;
    assert_eq!(r.status(), 200);
    let meta: Value = r.json().await.expect("json");
    assert!(
        meta["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("file_"))
    );
    let seen = uploads_upstream_saw(&app).await;
    assert!(
        !seen[0].contains(AWS_KEY) && seen[0].contains("[REDACTED:"),
        "{}",
        seen[0]
    );

    // The strict team blocks secrets: a text file, a renamed one, one with a byte-order mark,
    // and a secret in the file's name are all refused before upstream.
    let before = uploads_upstream_saw(&app).await.len();
    for (name, mime, content) in [
        ("notes.txt", "text/plain", csv.clone().into_bytes()),
        ("photo.png", "image/png", csv.clone().into_bytes()),
        (
            "bom.md",
            "text/markdown",
            [&b"\xEF\xBB\xBF"[..], csv.as_bytes()].concat(),
        ),
        (
            &format!("{AWS_KEY}.txt") as &str,
            "text/plain",
            b"harmless".to_vec(),
        ),
    ] {
        let r = upload(&app, STRICT_KEY, name, mime, &content).await;
        let message = expect_error(r, 403, "permission_error").await;
        assert!(!message.contains(AWS_KEY), "{message}");
    }
    // The other fields of the form reach upstream too.
    let part = reqwest::multipart::Part::bytes(b"harmless".to_vec())
        .file_name("a.txt")
        .mime_str("text/plain")
        .expect("mime");
    let r = app
        .http
        .post(format!("{}/v1/files", app.url))
        .header("x-api-key", STRICT_KEY)
        .multipart(
            reqwest::multipart::Form::new()
                .part("file", part)
                .text("purpose", format!("key {AWS_KEY}")),
        )
        .send()
        .await
        .expect("sent");
    let message = expect_error(r, 403, "permission_error").await;
    assert!(!message.contains(AWS_KEY), "{message}");
    // A PDF cannot be read as text: the strict team's files.unscannable: block refuses it.
    let r = upload(
        &app,
        STRICT_KEY,
        "report.pdf",
        "application/pdf",
        b"%PDF-1.7\n\xE2\xE3\xCF\xD3 binary",
    )
    .await;
    let message = expect_error(r, 403, "permission_error").await;
    assert!(message.contains("files.unscannable"), "{message}");
    assert_eq!(uploads_upstream_saw(&app).await.len(), before);
}

#[tokio::test]
async fn a_team_sees_and_uses_only_the_files_it_uploaded() {
    let app = app(false).await;
    let meta: Value = upload(&app, WARDEN_KEY, "a.txt", "text/plain", b"plain notes")
        .await
        .json()
        .await
        .expect("json");
    let id = meta["id"].as_str().expect("id").to_string();
    // Another team cannot read, delete or name it in a message.
    let r = get_as(&app, OTHER_KEY, &format!("/v1/files/{id}")).await;
    expect_error(r, 404, "not_found_error").await;
    let listed: Value = get_as(&app, OTHER_KEY, "/v1/files")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"], json!([]));
    let r = app
        .http
        .delete(format!("{}/v1/files/{id}", app.url))
        .header("x-api-key", OTHER_KEY)
        .send()
        .await
        .expect("sent");
    expect_error(r, 404, "not_found_error").await;
    let naming = |file_id: &str| {
        json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "file", "file_id": file_id}},
            {"type": "text", "text": "Summarise"}
        ]}]})
    };
    let r = app
        .post_as(OTHER_KEY, "/v1/messages")
        .json(&naming(&id))
        .send()
        .await
        .expect("sent");
    let message = expect_error(r, 403, "permission_error").await;
    assert!(message.contains("files"), "{message}");
    // A file upstream has that no team uploaded through Warden is refused the same way.
    let r = app
        .post("/v1/messages")
        .json(&naming("file_011NotThroughWarden"))
        .send()
        .await
        .expect("sent");
    expect_error(r, 403, "permission_error").await;
    // The team that uploaded it lists it, uses it, and deletes it.
    let listed: Value = get_as(&app, WARDEN_KEY, "/v1/files")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0]["id"], id.as_str());
    let r = app
        .post("/v1/messages")
        .json(&naming(&id))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .delete(format!("{}/v1/files/{id}", app.url))
        .header("x-api-key", WARDEN_KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json")["type"],
        "file_deleted"
    );
}

/// How many files the mock holds.
async fn files_upstream_holds(app: &TestApp) -> usize {
    let v: Value = app
        .http
        .get(format!("{}/v1/files?limit=1000", app.mock.url()))
        .header("x-api-key", "sk-ant-direct")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    v["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_binary_upload_is_relayed_as_it_arrives_and_text_is_read_only_within_its_limit() {
    let app = app(false).await;
    // 3 MiB of binary: over the 1 MiB text limit, relayed whole to upstream.
    let binary: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let r = upload(
        &app,
        OPEN_KEY,
        "blob.bin",
        "application/octet-stream",
        &binary,
    )
    .await;
    assert_eq!(r.status(), 200);
    let meta: Value = r.json().await.expect("json");
    assert_eq!(meta["size_bytes"], binary.len());
    // 3 MiB of text cannot be scanned within the limit: refused, nothing stored upstream.
    let before = files_upstream_holds(&app).await;
    let text = "plain words and more plain words\n".repeat(100_000);
    let r = upload(&app, OPEN_KEY, "big.txt", "text/plain", text.as_bytes()).await;
    let message = expect_error(r, 413, "request_too_large").await;
    assert!(message.contains("files.max_text_bytes"), "{message}");
    // A text file with a NUL byte late in it is no longer text, but what can be read of it is
    // still scanned.
    let tricky = format!("{}\nkey {AWS_KEY}\n\0", "plain line\n".repeat(1000));
    let r = upload(&app, OPEN_KEY, "notes.txt", "text/plain", tricky.as_bytes()).await;
    let message = expect_error(r, 403, "permission_error").await;
    assert!(!message.contains(AWS_KEY), "{message}");
    // Deep inside a relayed binary file, a secret split across chunks stops the upload.
    let mut laced = binary.clone();
    let at = 2 * 1024 * 1024 + 5;
    laced[at..at + AWS_KEY.len()].copy_from_slice(AWS_KEY.as_bytes());
    laced[at - 1] = b' ';
    laced[at + AWS_KEY.len()] = b' ';
    let r = upload(
        &app,
        OPEN_KEY,
        "blob.bin",
        "application/octet-stream",
        &laced,
    )
    .await;
    let message = expect_error(r, 403, "permission_error").await;
    assert!(!message.contains(AWS_KEY), "{message}");
    assert_eq!(
        files_upstream_holds(&app).await,
        before,
        "no file was created upstream"
    );
    // A field after a streamed file that holds a secret aborts the upload upstream.
    let part = reqwest::multipart::Part::bytes(binary.clone())
        .file_name("blob.bin")
        .mime_str("application/octet-stream")
        .expect("mime");
    let r = app
        .http
        .post(format!("{}/v1/files", app.url))
        .header("x-api-key", OPEN_KEY)
        .multipart(
            reqwest::multipart::Form::new()
                .part("file", part)
                .text("note", format!("key {AWS_KEY}")),
        )
        .send()
        .await
        .expect("sent");
    let message = expect_error(r, 403, "permission_error").await;
    assert!(!message.contains(AWS_KEY), "{message}");
    assert_eq!(
        files_upstream_holds(&app).await,
        before,
        "no file was created upstream"
    );
}

#[tokio::test]
async fn an_exchange_is_found_by_the_upstream_request_id_the_sdks_report() {
    let app = app(false).await;
    let r = app.send_messages("", false).await;
    assert_eq!(r.status(), 200);
    let upstream = r.headers()["request-id"].to_str().expect("id").to_string();
    let ours = r.headers()["x-warden-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    assert_ne!(upstream, ours);
    let store = &app.warden.state.store;
    for _ in 0..600 {
        let by_upstream = store
            .search(
                &Filter {
                    id: Some(upstream.clone()),
                    ..Filter::default()
                },
                10,
            )
            .await
            .expect("search");
        if let Some(row) = by_upstream.first() {
            assert_eq!(row.record.id, ours);
            let by_ours = store
                .search(
                    &Filter {
                        id: Some(ours.clone()),
                        ..Filter::default()
                    },
                    10,
                )
                .await
                .expect("search");
            assert_eq!(by_ours.len(), 1);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no exchange found by the upstream's request-id {upstream}");
}
