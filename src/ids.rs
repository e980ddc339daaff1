//! Identifier newtypes and their generators.

use rand::Rng;
use rand::distr::Alphanumeric;
use std::fmt;

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Warden's own id for one exchange, `req_…`, sent as `request-id` on Warden's own errors and as
/// `x-warden-request-id` on every response.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    pub fn generate() -> Self {
        Self(format!("req_wdn{}", random_alnum(21)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// The public id of a Warden key (never the key itself).
    KeyId
);
string_id!(
    /// The team a key belongs to; it selects the policy.
    TeamId
);
string_id!(
    /// Who holds a key: a person or a service.
    PrincipalId
);

/// A fresh Warden key: `wdn_` and 40 random alphanumerics (about 238 bits).
pub fn new_warden_key() -> String {
    format!("wdn_{}", random_alnum(40))
}

/// A fresh approval id, `apr_` and 16 random alphanumerics.
pub fn new_approval_id() -> String {
    format!("apr_{}", random_alnum(16))
}

/// A fresh admin key: `wadm_` and 40 random alphanumerics; a different prefix from Warden keys,
/// so neither is mistaken for the other.
pub fn new_admin_key() -> String {
    format!("wadm_{}", random_alnum(40))
}

/// A fresh public key id, `key_` and 12 random alphanumerics.
pub fn new_key_id() -> String {
    format!("key_{}", random_alnum(12))
}

/// `(trace id, parent id, flags)` of a version-00 `traceparent`, lower-cased; `None` when it is
/// malformed or an id is all zeros (both invalid per W3C Trace Context).
pub fn parse_traceparent(t: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = t.trim().split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    if !(hex(version, 2) && hex(trace, 32) && hex(parent, 16) && hex(flags, 2))
        || *version == "ff"
        || zero(trace)
        || zero(parent)
    {
        return None;
    }
    Some((
        trace.to_ascii_lowercase(),
        parent.to_ascii_lowercase(),
        flags.to_ascii_lowercase(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_shaped() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("req_"));
        let k = new_warden_key();
        assert!(k.starts_with("wdn_") && k.len() == 44);
    }
}

/// Who is calling: resolved from a Warden key by the server's auth layer, read by filters and
/// the audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub key_id: KeyId,
    pub principal: PrincipalId,
    pub team: TeamId,
}
