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

    /// Pseudonyms given earlier, for a reply that comes back later than its request (a batch
    /// item's result).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            ..Self::default()
        }
    }

    /// The placeholder → value pairs made so far.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
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

/// Whether a placeholder whose whitespace-delimited word starts with `word` (the text before it,
/// back to the last whitespace) sits in a URL: after a scheme's `://`, a markdown link target
/// `](`, `www.`, `mailto:`, or an `href=`/`src=` attribute.
pub fn in_url(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    lower.contains("://")
        || lower.contains("](")
        || lower.contains("www.")
        || lower.contains("mailto:")
        || lower.contains("href=")
        || lower.contains("src=")
}

/// The text before a position back to its last whitespace: `before` (the word so far from
/// earlier text) joined with `text[..at]`.
fn word_before<'a>(before: &'a str, text: &'a str, at: usize) -> std::borrow::Cow<'a, str> {
    match text[..at].rfind(char::is_whitespace) {
        Some(ws) => {
            let start = ws + text[ws..].chars().next().map_or(1, char::len_utf8);
            std::borrow::Cow::Borrowed(&text[start..at])
        }
        None => std::borrow::Cow::Owned(format!("{before}{}", &text[..at])),
    }
}

/// [`restore`], except inside URLs ([`in_url`]), where placeholders stay. `before` is the word
/// that ends where `text` starts (in a stream, the tail of what was already sent).
pub fn restore_outside_urls(
    text: &str,
    pairs: &[(String, String)],
    before: &str,
) -> Option<String> {
    if pairs.is_empty() || !text.contains('<') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut changed = false;
    let mut from = 0;
    while let Some(lt) = text[from..].find('<').map(|i| from + i) {
        let hit = pairs
            .iter()
            .find(|(placeholder, _)| text[lt..].starts_with(placeholder.as_str()));
        match hit {
            Some((placeholder, value)) if !in_url(&word_before(before, text, lt)) => {
                out.push_str(&text[last..lt]);
                out.push_str(value);
                last = lt + placeholder.len();
                from = last;
                changed = true;
            }
            Some((placeholder, _)) => from = lt + placeholder.len(),
            None => from = lt + 1,
        }
    }
    out.push_str(&text[last..]);
    changed.then_some(out)
}

/// The longest a placeholder can be, for the stream hold-back.
pub const MAX_PLACEHOLDER_LEN: usize = 48;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_urls_stay_placeholders() {
        let pairs = vec![("<CUSTOMER_ID_1>".to_string(), "ACME-C-0012345".to_string())];
        let restored = |t: &str, before: &str| {
            restore_outside_urls(t, &pairs, before).unwrap_or_else(|| t.to_string())
        };
        assert_eq!(
            restored("id <CUSTOMER_ID_1> ok", ""),
            "id ACME-C-0012345 ok"
        );
        for t in [
            "![x](https://collect.example/?c=<CUSTOMER_ID_1>)",
            "see https://collect.example/<CUSTOMER_ID_1>/a",
            "[click](http://x.example?q=<CUSTOMER_ID_1>)",
            "<img src=\"https://x.example/p?<CUSTOMER_ID_1>\">",
            "<a href='//x.example/<CUSTOMER_ID_1>'>",
            "www.x.example/<CUSTOMER_ID_1>",
            "HTTPS://X.EXAMPLE/?C=<CUSTOMER_ID_1>",
        ] {
            assert_eq!(restored(t, ""), t, "{t}");
        }
        // The URL began in text sent earlier (a stream).
        assert_eq!(
            restored("c=<CUSTOMER_ID_1>)", "![x](https://collect.example/?"),
            "c=<CUSTOMER_ID_1>)"
        );
        // Outside the URL, on the same line, restored.
        assert_eq!(
            restored("https://x.example/ for <CUSTOMER_ID_1>", ""),
            "https://x.example/ for ACME-C-0012345"
        );
    }

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
