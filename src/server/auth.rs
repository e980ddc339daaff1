//! Warden keys: the key in `x-api-key` or `Authorization: Bearer` is hashed and looked up among
//! the configured SHA-256 hashes. The plaintext key is never stored or logged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::config::KeyEntry;
use crate::ids::{KeyId, Principal, PrincipalId, TeamId};

/// Principals by the SHA-256 of their key.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_hash: HashMap<[u8; 32], Principal>,
}

impl KeyStore {
    pub fn from_entries(entries: &[KeyEntry]) -> Self {
        let mut by_hash = HashMap::with_capacity(entries.len());
        for entry in entries {
            if let Some(hash) = parse_key_hash(&entry.sha256) {
                by_hash.insert(
                    hash,
                    Principal {
                        key_id: KeyId(entry.id.clone()),
                        principal: PrincipalId(entry.principal.clone()),
                        team: TeamId(entry.team.clone()),
                    },
                );
            }
        }
        Self { by_hash }
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn lookup(&self, key: &str) -> Option<&Principal> {
        self.by_hash.get(&hash_key(key))
    }
}

/// The SHA-256 of a key, as stored in the config.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A configured key hash (hex SHA-256, either case); `None` if it is not one.
pub(crate) fn parse_key_hash(hex_sha256: &str) -> Option<[u8; 32]> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_sha256.to_ascii_lowercase(), &mut hash).ok()?;
    Some(hash)
}

/// The candidate keys a request carries, `x-api-key` first.
pub(crate) fn presented_keys(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    api_key.into_iter().chain(bearer).map(str::trim)
}

/// Middleware: resolves the caller or answers 401 with `x-should-retry: false`.
pub async fn require_key(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let keys = state.keys.load();
    let Some(principal) = presented_keys(request.headers())
        .find_map(|k| keys.lookup(k))
        .cloned()
    else {
        record_refusal(&state, &request);
        let sent = presented_keys(request.headers()).any(|k| !k.is_empty());
        return Err(ApiError::unauthenticated(sent));
    };
    request.extensions_mut().insert(principal.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(principal);
    Ok(response)
}

/// A refused authentication is an exchange too: security wants to see who knocks. The record
/// names no key, only a keyed fingerprint of the one presented (so repeated attempts with the
/// same wrong key can be grouped).
///
/// A flood of refused requests must not become a flood of rows: each refusal is counted in
/// `/metrics`, and recorded only when it is the first of its client address and key in the
/// current minute, and among the first [`MAX_REFUSALS_RECORDED`] of that minute.
fn record_refusal(state: &AppState, request: &Request) {
    let Some(id) = request.extensions().get::<crate::ids::RequestId>() else {
        state.metrics.auth_refused(false);
        return;
    };
    let presented = presented_keys(request.headers()).next();
    let key_id = match presented {
        Some(k) => format!(
            "unknown:{}",
            &crate::filter::finding::fingerprint(state.fingerprint_key.expose().as_bytes(), k)
                [..16]
        ),
        None => "none".to_string(),
    };
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let first = state.refusals.first_this_minute(peer, &key_id);
    state.metrics.auth_refused(first);
    if !first {
        return;
    }
    let principal = Principal {
        key_id: KeyId(key_id),
        principal: PrincipalId("(unauthenticated)".into()),
        team: TeamId(String::new()),
    };
    let trail = super::trail::Trail::begin_from(
        state,
        id,
        &principal,
        request.method(),
        request.uri(),
        request.headers(),
        request.extensions(),
    );
    // Refusals are sampled: none is owed a record on disk before its reply.
    drop(trail.finish(
        crate::audit::Decision::Blocked,
        401,
        Some("authentication".to_string()),
    ));
}

/// Most refusals recorded in one minute, whatever their sources.
pub const MAX_REFUSALS_RECORDED: usize = 120;

/// Which (client address, key) pairs were refused this minute.
#[derive(Debug, Default)]
pub struct RefusalSampler(std::sync::Mutex<RefusalWindow>);

#[derive(Debug, Default)]
struct RefusalWindow {
    minute: u64,
    seen: std::collections::HashSet<(Option<std::net::IpAddr>, String)>,
}

impl RefusalSampler {
    /// Whether this refusal is the first of its address and key this minute, and may be recorded.
    pub fn first_this_minute(&self, peer: Option<std::net::IpAddr>, key_id: &str) -> bool {
        let minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60);
        let Ok(mut w) = self.0.lock() else {
            return false;
        };
        if w.minute != minute {
            w.minute = minute;
            w.seen.clear();
        }
        if w.seen.len() >= MAX_REFUSALS_RECORDED {
            return false;
        }
        w.seen.insert((peer, key_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_hash_in_either_header() {
        let key = "wdn_testkey";
        let store = KeyStore::from_entries(&[KeyEntry {
            id: "key_1".into(),
            principal: "alice".into(),
            team: "support".into(),
            sha256: hex::encode(hash_key(key)),
        }]);
        assert_eq!(store.lookup(key).map(|p| p.team.as_str()), Some("support"));
        assert!(store.lookup("wdn_other").is_none());

        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Bearer wdn_testkey".parse().expect("valid"),
        );
        assert_eq!(presented_keys(&h).collect::<Vec<_>>(), vec![key]);
        h.insert("x-api-key", "wdn_first".parse().expect("valid"));
        assert_eq!(
            presented_keys(&h).collect::<Vec<_>>(),
            vec!["wdn_first", key]
        );
    }
}
