//! What a filter found: class, rule, action and where — never the value itself, only its length
//! and a keyed fingerprint (HMAC-SHA256) so that repeats can be correlated without the secret.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::policy::Action;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub class: String,
    pub rule: String,
    pub action: &'static str,
    /// Where in the request, e.g. `messages[3].content[1].text`.
    pub location: String,
    /// Byte span of the value within that text.
    pub start: usize,
    pub end: usize,
    /// First 16 bytes of HMAC-SHA256(key, value), hex.
    pub fingerprint: String,
}

impl Finding {
    pub fn new(
        class: &str,
        rule: &str,
        action: Action,
        location: &str,
        span: (usize, usize),
        value: &str,
        key: &[u8],
    ) -> Self {
        Self::labelled(class, rule, action.as_str(), location, span, value, key)
    }

    /// A finding whose action is not a data-class action (`spotlight`, `strip_hidden`, …).
    pub fn labelled(
        class: &str,
        rule: &str,
        action: &'static str,
        location: &str,
        span: (usize, usize),
        value: &str,
        key: &[u8],
    ) -> Self {
        Self {
            class: class.to_string(),
            rule: rule.to_string(),
            action,
            location: location.to_string(),
            start: span.0,
            end: span.1,
            fingerprint: fingerprint(key, value),
        }
    }
}

/// Findings a response stage makes in the reply, shared with the exchange's audit trail (the
/// stage runs inside the response body, after the request's findings were recorded).
#[derive(Clone, Debug, Default)]
pub struct ReplyFindings {
    key: std::sync::Arc<[u8]>,
    found: std::sync::Arc<std::sync::Mutex<Vec<Finding>>>,
}

impl ReplyFindings {
    pub fn new(fingerprint_key: &[u8]) -> Self {
        Self {
            key: fingerprint_key.into(),
            found: Default::default(),
        }
    }

    /// The key for the fingerprints of the findings recorded here.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn push(&self, finding: Finding) {
        if let Ok(mut found) = self.found.lock() {
            found.push(finding);
        }
    }

    /// Everything found so far, leaving the sink empty.
    pub fn take(&self) -> Vec<Finding> {
        self.found
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}

pub fn fingerprint(key: &[u8], value: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(value.as_bytes());
            hex::encode(&mac.finalize().into_bytes()[..16])
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let a = fingerprint(b"k1", "sk-secret");
        assert_eq!(a, fingerprint(b"k1", "sk-secret"));
        assert_ne!(a, fingerprint(b"k2", "sk-secret"));
        assert_ne!(a, fingerprint(b"k1", "sk-secreu"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("secret"));
    }
}
