//! Batches and files belong to the team that created them through Warden: another team's key
//! gets the 404 an unknown id gets (it learns nothing of what exists). What Warden must keep of
//! a batch until its results come back (each item's placeholders) is sealed under a key kept
//! outside the database.

use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::AppState;
use super::error::ApiError;
use crate::api::ErrorKind;
use crate::audit::store::OwnedObject;
use crate::ids::Principal;

/// `batch` or `file`, as `owned_objects.kind` stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Batch,
    File,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Batch => "batch",
            Self::File => "file",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Batch => "message batch",
            Self::File => "file",
        }
    }
}

/// The 404 for an id the caller's team does not own, the same whether or not it exists.
pub fn not_found(kind: Kind, id: &str) -> ApiError {
    let shown: String = id.chars().take(64).collect();
    ApiError::new(
        ErrorKind::NotFound,
        format!(
            "{} {shown} not found (only what your team created through Warden can be used)",
            kind.noun()
        ),
    )
    .with_rule("ownership")
    .no_retry()
}

fn store_down(e: &crate::audit::StoreError) -> ApiError {
    tracing::warn!(error = %e, "Cannot read who owns a batch or file; refusing.");
    ApiError::new(
        ErrorKind::Unavailable,
        "Warden cannot check who owns this object right now; try again",
    )
    .with_rule("ownership")
}

/// The object, when the caller's team created it through Warden; else the 404. A store that
/// cannot say refuses (fail closed).
pub async fn owned_by_team(
    state: &AppState,
    principal: &Principal,
    kind: Kind,
    id: &str,
) -> Result<OwnedObject, ApiError> {
    match state.store.owned(id).await {
        Ok(Some(o)) if o.kind == kind.as_str() && o.team == principal.team.as_str() => Ok(o),
        Ok(_) => Err(not_found(kind, id)),
        Err(e) => Err(store_down(&e)),
    }
}

/// Which of `ids` the caller's team owns.
pub async fn owned_among(
    state: &AppState,
    principal: &Principal,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, ApiError> {
    state
        .store
        .owned_among(principal.team.as_str(), ids)
        .await
        .map_err(|e| store_down(&e))
}

/// Keeps in a list page (`{"data": [...], "first_id", "last_id", …}`) only the caller's team's
/// objects, with the page's first and last ids to match.
pub async fn keep_owned(
    state: &AppState,
    principal: &Principal,
    page: &mut serde_json::Value,
) -> Result<(), ApiError> {
    let ids: Vec<String> = page["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|o| o["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mine = owned_among(state, principal, &ids).await?;
    if let Some(data) = page
        .get_mut("data")
        .and_then(serde_json::Value::as_array_mut)
    {
        data.retain(|o| o["id"].as_str().is_some_and(|id| mine.contains(id)));
        let first = data.first().map(|o| o["id"].clone()).unwrap_or_default();
        let last = data.last().map(|o| o["id"].clone()).unwrap_or_default();
        page["first_id"] = first;
        page["last_id"] = last;
    }
    Ok(())
}

/// Records that the caller's team owns `id`, before the client hears of it.
pub async fn record(
    state: &AppState,
    principal: &Principal,
    kind: Kind,
    id: &str,
    exchange_id: &str,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let object = OwnedObject {
        id: id.to_string(),
        kind: kind.as_str().to_string(),
        team: principal.team.to_string(),
        principal: principal.principal.to_string(),
        exchange_id: exchange_id.to_string(),
        created_at: crate::audit::ExchangeRecord::now(),
        detail,
    };
    state.store.insert_owned(&object).await.map_err(|e| {
        tracing::error!(error = %e, id, kind = kind.as_str(), "Cannot record the owner of an object upstream created.");
        ApiError::new(
            ErrorKind::Unavailable,
            format!(
                "upstream created {} {id}, but Warden could not record that your team owns it; it cannot be used through Warden",
                kind.noun()
            ),
        )
        .with_rule("ownership")
    })
}

/// Seals and opens what Warden keeps of batch items (XChaCha20-Poly1305, a random nonce per
/// seal, the batch's exchange id as associated data so a sealed value cannot be moved to
/// another batch's row).
pub struct Sealer(XChaCha20Poly1305);

/// The sealer, loaded from the audit key the first time a batch needs it.
#[derive(Default)]
pub struct SealerSlot(Mutex<Option<Arc<Sealer>>>);

impl SealerSlot {
    pub fn get(&self, state_config: &crate::config::AuditConfig) -> Result<Arc<Sealer>, ApiError> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let key = crate::audit::tombstone::TombstoneKey::load_or_create(
            state_config,
            std::env::var(crate::audit::tombstone::KEY_ENV).ok(),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "Cannot load the audit key that seals batch items.");
            ApiError::new(
                ErrorKind::Unavailable,
                "Warden cannot seal what it keeps of this batch's items (its audit key is unavailable)",
            )
            .with_rule("audit.tombstone_key_file")
        })?;
        let sealer = Arc::new(Sealer(XChaCha20Poly1305::new(
            &key.derive("batch items").into(),
        )));
        *slot = Some(sealer.clone());
        Ok(sealer)
    }
}

impl Sealer {
    /// `base64(nonce ‖ ciphertext)`.
    pub fn seal(&self, plain: &[u8], bound_to: &str) -> String {
        use base64::Engine;
        let nonce: [u8; 24] = rand::random();
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                chacha20poly1305::aead::Payload {
                    msg: plain,
                    aad: bound_to.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// The plain bytes, or `None` when the value was not sealed by this key for `bound_to`.
    pub fn open(&self, sealed: &str, bound_to: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                chacha20poly1305::aead::Payload {
                    msg: ciphertext,
                    aad: bound_to.as_bytes(),
                },
            )
            .ok()
    }
}

/// The URL a client fetches a batch's results from: Warden's own, on the host and scheme the
/// client used (`x-forwarded-proto` when a proxy in front terminates TLS); a path alone when the
/// request named no host.
pub fn results_url(headers: &http::HeaderMap, batch_id: &str) -> String {
    let path = format!("/v1/messages/batches/{batch_id}/results");
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    match host {
        Some(h) => format!("{scheme}://{h}{path}"),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_the_batch_it_was_sealed_for() {
        let sealer = Sealer(XChaCha20Poly1305::new(&[7u8; 32].into()));
        let sealed = sealer.seal(b"<EMAIL_1>=jane@example.com", "req_a");
        assert!(!sealed.contains("jane"));
        assert_eq!(
            sealer.open(&sealed, "req_a").as_deref(),
            Some(&b"<EMAIL_1>=jane@example.com"[..])
        );
        assert_eq!(sealer.open(&sealed, "req_b"), None);
        let other = Sealer(XChaCha20Poly1305::new(&[8u8; 32].into()));
        assert_eq!(other.open(&sealed, "req_a"), None);
    }

    #[test]
    fn the_results_url_points_at_warden_on_the_host_the_client_used() {
        let mut h = http::HeaderMap::new();
        assert_eq!(
            results_url(&h, "msgbatch_1"),
            "/v1/messages/batches/msgbatch_1/results"
        );
        h.insert(
            http::header::HOST,
            "warden.internal:8080".parse().expect("valid"),
        );
        assert_eq!(
            results_url(&h, "msgbatch_1"),
            "http://warden.internal:8080/v1/messages/batches/msgbatch_1/results"
        );
        h.insert("x-forwarded-proto", "https".parse().expect("valid"));
        assert!(results_url(&h, "m").starts_with("https://warden.internal:8080/"));
        h.insert(
            http::header::HOST,
            "evil.example/x?".parse().expect("valid"),
        );
        assert_eq!(results_url(&h, "m"), "/v1/messages/batches/m/results");
    }
}
