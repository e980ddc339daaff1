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
        Self {
            class: class.to_string(),
            rule: rule.to_string(),
            action: action.as_str(),
            location: location.to_string(),
            start: span.0,
            end: span.1,
            fingerprint: fingerprint(key, value),
        }
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
