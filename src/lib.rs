//! Warden: a policy-enforcing gateway for the Claude API.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests and benches run the
//! same code as production. The module map follows `DESIGN.md`: wire types in [`api`], the HTTP
//! edge in [`server`], the forwarder in [`upstream`], the filter chain in [`filter`], and the
//! faithful mock of the Claude API in [`mock`].

pub mod api;
pub mod approvals;
pub mod audit;
pub mod cli;
pub mod config;
pub mod detect;
pub mod filter;
pub mod ids;
pub mod mock;
pub mod policy;
pub mod secret;
pub mod server;
#[cfg(feature = "otlp")]
pub mod telemetry;
pub mod upstream;

/// `bytes` as text, invalid sequences replaced. [`String::from_utf8_lossy`] checks byte by byte;
/// the strict check this tries first reads ASCII a word at a time, and request and reply bodies
/// are valid UTF-8 (JSON), nearly all ASCII.
pub fn text_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_lossy_borrows_valid_text_and_replaces_invalid_bytes() {
        assert!(matches!(
            super::text_lossy("héllo".as_bytes()),
            std::borrow::Cow::Borrowed("héllo")
        ));
        assert_eq!(super::text_lossy(b"a\xffb\xc3"), "a\u{FFFD}b\u{FFFD}");
    }
}
