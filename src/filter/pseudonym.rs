//! Per-request pseudonyms: each distinct value of a class gets a stable placeholder
//! (`<EMAIL_1>`, `<CUSTOMER_ID_2>`). The mapping lives in memory for the request's lifetime only,
//! and the reply stage uses it to give the user the real values back.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Pseudonyms {
    by_value: HashMap<String, String>,
    counters: HashMap<String, usize>,
    pairs: Vec<(String, String)>,
}

/// The placeholder label for a class: `pii.email` → `EMAIL`, `custom.falcon` → `FALCON`.
fn label(class: &str) -> String {
    let last = class.rsplit('.').next().unwrap_or(class);
    let last = if class == "secrets" { "secret" } else { last };
    last.to_ascii_uppercase().replace('-', "_")
}

impl Pseudonyms {
    /// The placeholder for `value` of `class`, made on first sight.
    pub fn placeholder(&mut self, class: &str, value: &str) -> String {
        let key = format!("{class}\u{0}{value}");
        if let Some(p) = self.by_value.get(&key) {
            return p.clone();
        }
        let label = label(class);
        let n = self.counters.entry(label.clone()).or_insert(0);
        *n += 1;
        let placeholder = format!("<{label}_{n}>");
        self.by_value.insert(key, placeholder.clone());
        self.pairs.push((placeholder.clone(), value.to_string()));
        placeholder
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The placeholder → value pairs, for the reply stage.
    pub fn restore_map(&self) -> Arc<Vec<(String, String)>> {
        Arc::new(self.pairs.clone())
    }
}

/// Replaces every placeholder in `text` with its value.
pub fn restore(text: &str, pairs: &[(String, String)]) -> Option<String> {
    if pairs.is_empty() || !text.contains('<') {
        return None;
    }
    let mut out = text.to_string();
    let mut changed = false;
    for (placeholder, value) in pairs {
        if out.contains(placeholder.as_str()) {
            out = out.replace(placeholder.as_str(), value);
            changed = true;
        }
    }
    changed.then_some(out)
}

/// The longest a placeholder can be, for the stream hold-back.
pub const MAX_PLACEHOLDER_LEN: usize = 48;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_placeholder_and_restore_round_trips() {
        let mut p = Pseudonyms::default();
        let a = p.placeholder("pii.email", "jane@example.com");
        let b = p.placeholder("pii.email", "joe@example.com");
        assert_eq!(a, "<EMAIL_1>");
        assert_eq!(b, "<EMAIL_2>");
        assert_eq!(p.placeholder("pii.email", "jane@example.com"), a);
        assert_eq!(
            p.placeholder("customer_id", "CUS-000123"),
            "<CUSTOMER_ID_1>"
        );
        let text = format!("Write to {a} and {b}, cc {a}.");
        assert_eq!(
            restore(&text, &p.restore_map()).as_deref(),
            Some("Write to jane@example.com and joe@example.com, cc jane@example.com.")
        );
        assert_eq!(restore("nothing here", &p.restore_map()), None);
    }
}
