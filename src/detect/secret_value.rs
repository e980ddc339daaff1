//! Whether a value a secret rule matched is a secret at all: not a documented example, a
//! placeholder, a token that is public by design, or a reference that names a secret without
//! holding it. Every built-in secret rule's match passes through [`plausible`]; a value that
//! fails is no finding (it is not redacted and not reported).
//!
//! Each test here is a class of text that is written where secrets are written (configuration
//! samples, documentation, CI files, code that reads its key from the environment) and that a
//! pattern on the token's shape alone cannot tell from the real thing.

/// How a rule's match is checked beyond [`plausible`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Only the common checks.
    Value,
    /// The value is `base64(user:password)`, as in `Authorization: Basic …`.
    BasicAuth,
    /// Under a name that says only `key`: not a UUID (an id), and not under a name that says
    /// the key is public (`public_key`, `publishable_key`, `site_key`).
    KeyName,
}

/// Whether the value at `text[start..end]`, matched by a secret rule, can be a secret.
pub fn plausible(check: Check, text: &str, start: usize, end: usize) -> bool {
    let value = &text[start..end];
    if value.starts_with("-----BEGIN") {
        return pem_has_a_body(value);
    }
    if is_placeholder(value)
        || is_documented_example(value)
        || is_host_name(value)
        || is_public(value)
        || is_reference(text, start, end)
        || decodes_to_a_placeholder(value)
    {
        return false;
    }
    match check {
        Check::Value => true,
        Check::BasicAuth => basic_credentials(value),
        Check::KeyName => !is_uuid(value) && !named_public(text, start),
    }
}

/// Words in the name before a value that say the key is public by design.
const PUBLIC_NAMES: &[&str] = &[
    "public",
    "pubkey",
    "pub_key",
    "publishable",
    "site_key",
    "sitekey",
];

/// Whether the 48 bytes before `start` name a public key.
fn named_public(text: &str, start: usize) -> bool {
    let from = start.saturating_sub(48);
    let before = text.as_bytes()[from..start].to_ascii_lowercase();
    // Only the current line's name.
    let line = before.rsplit(|&c| c == b'\n').next().unwrap_or(&[]);
    PUBLIC_NAMES
        .iter()
        .any(|w| line.windows(w.len()).any(|x| x == w.as_bytes()))
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Credentials the providers print in their documentation, which tutorials and sample code copy:
/// they open no account.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    // Stripe's API reference.
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    // GitHub's documentation.
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    // Mailgun's documentation.
    "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
    // The Azure Storage emulator's well-known account key.
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    // jwt.io's sample token ({"sub":"1234567890","name":"John Doe","iat":1516239022}).
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
    // Slack's documentation.
    "xoxb-not-a-real-token-this-will-not-work",
    // Twilio's documentation.
    "SKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
];

/// A value that is, or starts with, a documented example credential.
pub fn is_documented_example(value: &str) -> bool {
    DOCUMENTED_EXAMPLES
        .iter()
        .any(|e| value.starts_with(e) || (value.len() >= 16 && e.starts_with(value)))
}

/// A host name (`email-smtp.eu-west-1.amazonaws.com`): what a program falls back to when no
/// host is configured, not a credential.
fn is_host_name(value: &str) -> bool {
    value.bytes().filter(|&c| c == b'.').count() >= 2
        && value
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && value
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_lowercase()))
}

/// A base64 value (a Kubernetes Secret's `data:`, a Basic header) that decodes to a placeholder
/// or a documented example.
fn decodes_to_a_placeholder(value: &str) -> bool {
    use base64::Engine as _;
    if value.len() < 8 || value.len() > 512 || value.len() % 4 != 0 {
        return false;
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return false;
    };
    match std::str::from_utf8(&bytes) {
        Ok(s) if !s.chars().any(char::is_control) => {
            is_placeholder(s) || is_documented_example(s) || s.starts_with('$')
        }
        _ => false,
    }
}

/// Words that mark a value as an example or a stand-in, anywhere in it (ASCII case-insensitive).
/// A random token of 40 characters holds one of these by chance about once in a million.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "redacted",
    "dummy",
    "sample",
    "your",
    "here",
    "replace",
    "insert",
    "fake",
    "xxx",
    "todo",
    "secret_value",
    "mysecret",
    "mytoken",
    "mypassword",
];

/// Whole values that stand for a secret without being one (ASCII case-insensitive).
const PLACEHOLDER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "pass",
    "pwd",
    "user",
    "username",
    "admin",
    "root",
    "test",
    "testing",
    "none",
    "null",
    "nil",
    "undefined",
    "empty",
    "default",
    "string",
    "value",
    "hunter2",
    "letmein",
    "welcome",
    "qwerty",
    "123456",
    "12345678",
    "password123",
    "password1",
    "secret123",
    "p@ssw0rd",
    "p@ssword",
    "s3cr3t",
];

/// Template syntax: `<YOUR_TOKEN>`, `${API_KEY}`, `{{ .Values.token }}`, `%(key)s`, `...`.
const TEMPLATE_MARKS: &[&str] = &["<", ">", "${", "{{", "}}", "%(", "..."];

/// [`PLACEHOLDER_WORDS`] and [`TEMPLATE_MARKS`] in one automaton: every secret found is checked
/// against all of them, and one pass costs less than twenty substring searches.
fn placeholder_marks() -> &'static aho_corasick::AhoCorasick {
    static MARKS: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    MARKS.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PLACEHOLDER_WORDS.iter().chain(TEMPLATE_MARKS))
            .unwrap_or_else(|_| unreachable!("literal patterns always build"))
    })
}

/// A documented example, a template variable or a stand-in.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c: char| matches!(c, '"' | '\'' | '`'));
    if v.is_empty() {
        return true;
    }
    if PLACEHOLDER_VALUES.iter().any(|p| p.eq_ignore_ascii_case(v))
        || placeholder_marks().is_match(v)
    {
        return true;
    }
    let b = v.as_bytes();
    // Masks (`****`, `####`, `....`, `xxxx`) and runs of one character (`00000000`, `aaaaaa`).
    longest_run(b, |c| matches!(c, b'*' | b'#' | b'.' | b'x' | b'X')) >= 4
        || longest_repeat(b) >= 6
        || longest_sequence(b) >= 6
}

/// The longest run of bytes that all satisfy `pred`, counting a run only while it repeats one
/// byte (`xxxx`, not `x0x0`).
fn longest_run(b: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    let mut best = 0;
    let mut i = 0;
    while i < b.len() {
        if !pred(b[i]) {
            i += 1;
            continue;
        }
        let c = b[i];
        let n = b[i..].iter().take_while(|&&d| d == c).count();
        best = best.max(n);
        i += n;
    }
    best
}

/// The longest run of one repeated byte.
fn longest_repeat(b: &[u8]) -> usize {
    longest_run(b, |_| true)
}

/// The longest run of consecutive ascending characters (`123456`, `abcdef`).
fn longest_sequence(b: &[u8]) -> usize {
    let mut best = usize::from(!b.is_empty());
    let mut run = 1;
    for w in b.windows(2) {
        if w[1] == w[0].wrapping_add(1) && w[0].is_ascii_alphanumeric() {
            run += 1;
            best = best.max(run);
        } else {
            run = 1;
        }
    }
    best
}

/// Tokens that are public by design: meant to be shipped in web pages and apps.
pub fn is_public(value: &str) -> bool {
    // Stripe publishable keys; Mapbox public tokens (`pk.eyJ…`; its secret tokens are `sk.`).
    ["pk_live_", "pk_test_", "pk.eyJ"]
        .iter()
        .any(|p| value.starts_with(p))
        || is_twilio_account_sid(value)
}

/// `AC` and 32 hex digits: a Twilio account's id, which Twilio prints in its console and URLs.
fn is_twilio_account_sid(value: &str) -> bool {
    value.len() == 34
        && value.starts_with("AC")
        && value[2..].bytes().all(|c| c.is_ascii_hexdigit())
}

/// A name standing where a value would be: `process.env.GITHUB_TOKEN`, `settings.API_KEY`,
/// `self.password`, `GITHUB_TOKEN`, or a call such as `get_token()` or `vault["db"]`.
pub fn is_reference(text: &str, start: usize, end: usize) -> bool {
    let value = &text[start..end];
    let quoted = start > 0 && matches!(text.as_bytes()[start - 1], b'"' | b'\'' | b'`');
    // A value followed by a call or an index is an expression's start, not a literal.
    if !quoted && matches!(text.as_bytes().get(end), Some(b'(' | b'[')) {
        return true;
    }
    if value.starts_with('$') || value.starts_with('%') {
        return true;
    }
    let segments: Vec<&str> = value.split('.').collect();
    let identifier = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b'$')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
    };
    if !segments.iter().all(|s| identifier(s)) {
        return false;
    }
    // `a.b.c`: an attribute path, when every part reads as a name (`process.env.GITHUB_TOKEN`,
    // `settings.API_KEY`), not as a token's random parts (`SG.aB3dE5….S7tU9…`).
    if segments.len() >= 2 {
        return !quoted && segments.iter().all(|s| reads_as_name(s));
    }
    // One segment: an environment variable's name (`GITHUB_TOKEN`) or a snake-case identifier
    // (`get_api_token`), unquoted: words of one case joined by underscores, no digit. A token's
    // random body mixes cases (`hf_aBcDeF…`).
    let words: Vec<&str> = value.split('_').filter(|w| !w.is_empty()).collect();
    let snake = words.len() >= 2
        && words.iter().all(|w| {
            w.len() >= 2
                && (w.bytes().all(|c| c.is_ascii_lowercase())
                    || w.bytes().all(|c| c.is_ascii_uppercase()))
        });
    snake && (!quoted || value.bytes().all(|c| c.is_ascii_uppercase() || c == b'_'))
}

/// A name a person wrote: digits only at its end (`v2`), and few changes from lower to upper
/// case (`readSecretFromVault` has three; a random `aB3dE5fG7h` changes at every other letter).
fn reads_as_name(s: &str) -> bool {
    let b = s.as_bytes();
    let letters_end = b.len() - b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let humps = b
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    b.len() - letters_end <= 2
        && !b[..letters_end].iter().any(u8::is_ascii_digit)
        && humps * 4 <= b.len()
}

/// A PEM private key whose body is key material, not `...` or `<key>`. The key may sit in a
/// JSON string, its line breaks written `\n`.
fn pem_has_a_body(value: &str) -> bool {
    let Some(header_end) = value[10..].find("-----").map(|i| 10 + i + 5) else {
        return false;
    };
    let body_end = value.rfind("-----END").unwrap_or(value.len());
    let body = value.get(header_end..body_end).unwrap_or("");
    let material = body
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
        .count();
    material >= 64 && !body.contains("...") && !body.contains('<')
}

/// `base64(user:password)` with both parts present and printable.
fn basic_credentials(value: &str) -> bool {
    use base64::Engine as _;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return false;
    };
    let Ok(s) = std::str::from_utf8(&decoded) else {
        return false;
    };
    let Some((user, password)) = s.split_once(':') else {
        return false;
    };
    !user.is_empty()
        && !password.is_empty()
        && !s.chars().any(char::is_control)
        && !is_placeholder(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> bool {
        plausible(Check::Value, v, 0, v.len())
    }

    #[test]
    fn documented_examples_and_placeholders_are_not_secrets() {
        for v in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
            "your-api-key-here",
            "<YOUR_TOKEN>",
            "${API_KEY}",
            "{{ .Values.token }}",
            "PASSWORD",
            "changeme",
            "********",
            "REDACTED",
            "sk_test_1234567890abcdef",
            "0000000000000000",
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        ] {
            assert!(!value(v), "{v:?} should not count as a secret");
        }
    }

    #[test]
    fn random_values_are_secrets() {
        for v in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq3vKEYd81",
            "ghp_R7vK2mQ9xW4pL8nT3yB6cF1dH5jS0aZ2eU4i",
            "Hunter2-Prod",
            "Winter2024!corp",
            "3f2a9c8e1b7d6a5f4e3c2b1a0f9e8d7c",
        ] {
            assert!(value(v), "{v:?} should count as a secret");
        }
    }

    #[test]
    fn public_tokens_are_not_secrets() {
        assert!(!value("pk_live_51HbQ2vK2mQ9xW4pL8nT3yB6cF1dH5jS0a"));
        assert!(!value(
            "pk.eyJ1IjoibWFwdXNlciIsImEiOiJja2x6cTN2b3AwMDF3MnBvNGs5cjF2dHJ5In0.q8vN2xR7mK4pL9wT3yB6cF"
        ));
    }

    #[test]
    fn references_name_a_secret_without_holding_it() {
        for text in [
            "token = process.env.GITHUB_TOKEN",
            "api_key = settings.API_KEY",
            "password: self.db_password",
            "token: GITHUB_TOKEN_VALUE",
            "token = fetch_deploy_token()",
            "secret = vault[\"db\"]",
        ] {
            let start = text.find(['=', ':']).expect("an assignment") + 2;
            let end = text[start..]
                .find(['(', '['])
                .map_or(text.len(), |i| start + i);
            assert!(
                is_reference(text, start, end),
                "{:?} in {text:?} is a reference",
                &text[start..end]
            );
        }
        let text = "password = \"Zq8vN2xR7mK4pL9wT3y\"";
        assert!(!is_reference(text, 12, text.len() - 1));
    }

    #[test]
    fn basic_credentials_decode_to_a_user_and_a_password() {
        // "deploy:Zq8vN2xR7mK4" and "admin:password"
        assert!(plausible(
            Check::BasicAuth,
            "ZGVwbG95OlpxOHZOMnhSN21LNA==",
            0,
            28
        ));
        assert!(!plausible(Check::BasicAuth, "YWRtaW46cGFzc3dvcmQ=", 0, 20));
        assert!(!plausible(Check::BasicAuth, "authentication", 0, 14));
    }
}
