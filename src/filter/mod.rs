//! The request filters and response stages, and the chain that runs them in policy order.
//!
//! Filters are synchronous and pure: no I/O, no logging, no metrics. They say what they did
//! (pass, rewrite, reject) and the chain runner does the rest. A filter overrides only the steps
//! it needs; every step passes by default. This module knows nothing of HTTP or storage.

#[cfg(test)]
mod cache_tests;
pub mod data;
pub mod finding;
pub mod injection;
pub mod models;
pub mod preamble;
pub mod pseudonym;
pub mod reply;
pub mod stream;
pub mod tools;

use std::sync::Arc;

use crate::api::{ErrorKind, MessagesRequest};
use crate::ids::{Principal, RequestId};
use crate::policy::Policy;
pub use finding::{Finding, ReplyFindings};
pub use pseudonym::Pseudonyms;
pub use stream::{ResponseStage, StageError, StagePipeline};

/// What a request filter sees besides the request itself, and what it leaves for the rest of the
/// exchange: findings for the audit record, pseudonyms for the reply.
#[derive(Debug)]
pub struct RequestContext<'a> {
    pub request_id: &'a RequestId,
    pub principal: &'a Principal,
    /// Key for the findings' fingerprints.
    pub fingerprint_key: &'a [u8],
    pub findings: Vec<Finding>,
    pub pseudonyms: Pseudonyms,
    /// Where held tool calls wait for a human; none: calls that need approval are refused.
    pub approvals: Option<Arc<crate::approvals::Approvals>>,
    /// The tool results this request carries, each with the call it answers as the history
    /// shows it. The server checks them against the calls Warden held (and their approvals)
    /// before anything goes upstream.
    pub approval_proofs: Vec<crate::approvals::ResultProof>,
    /// The request's last user message (as received), shown redacted to approvers.
    pub last_user_message: Option<String>,
    /// Decisions about the reply's tool calls, for the audit record.
    pub tool_log: tools::ToolLog,
    /// What the reply stages redact or withhold, for the audit record.
    pub reply_findings: ReplyFindings,
    /// The delimiter nonce of content the injection defense spotlighted, for the preamble.
    pub spotlight_nonce: Option<String>,
    /// Tools (name globs) whose calls need approval because untrusted content was flagged.
    pub escalated_tools: Vec<String>,
}

impl<'a> RequestContext<'a> {
    pub fn new(
        request_id: &'a RequestId,
        principal: &'a Principal,
        fingerprint_key: &'a [u8],
    ) -> Self {
        Self {
            request_id,
            principal,
            fingerprint_key,
            findings: Vec::new(),
            pseudonyms: Pseudonyms::default(),
            approvals: None,
            approval_proofs: Vec::new(),
            last_user_message: None,
            tool_log: tools::ToolLog::default(),
            reply_findings: ReplyFindings::new(fingerprint_key),
            spotlight_nonce: None,
            escalated_tools: Vec::new(),
        }
    }
}

/// The filters a policy applies, in order: models and limits, tool permissions (whose response
/// stage denies or holds tool calls), the injection defense for untrusted content, data
/// boundaries (whose response stage redacts and restores the reply), and the system preamble.
pub fn policy_chain(policy: Arc<Policy>) -> FilterChain {
    let mut filters: Vec<Arc<dyn Filter>> = vec![
        Arc::new(models::ModelGate::new(policy.clone())),
        Arc::new(tools::ToolGate::new(policy.clone())),
    ];
    // The policy compiler has checked that the detector loads (a policy that needs it and cannot
    // have it does not load: fail closed).
    if policy.injection.is_some() {
        if let Ok(detector) = crate::detect::injection::shared() {
            filters.push(Arc::new(injection::InjectionDefense::new(
                policy.clone(),
                detector,
            )));
        }
    }
    // The data scan comes after every stage that rewrites content the client sent (the
    // injection defense strips hidden text and spotlights), so it reads exactly the text that
    // goes upstream; only the preamble, the policy's own text, is added after it.
    filters.push(Arc::new(data::DataBoundaries::new(policy.clone())));
    filters.push(Arc::new(preamble::SystemPreamble::new(policy)));
    FilterChain::new(filters)
}

/// A filter's decision about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing changed.
    Pass,
    /// The filter rewrote the request in place; it is re-serialised before forwarding.
    Rewritten,
    /// The request must not go out.
    Reject(Rejection),
}

/// Why a request was stopped: the client sees `message` with `kind`'s status; `rule` names the
/// policy rule. Neither may contain a matched value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub kind: ErrorKind,
    pub rule: String,
    pub message: String,
}

/// A filter that could not decide. The chain fails closed on it.
#[derive(Debug, thiserror::Error)]
#[error("filter could not decide: {0}")]
pub struct FilterError(pub String);

pub trait Filter: Send + Sync {
    /// A stable name, used in rejections and metrics.
    fn name(&self) -> &'static str;

    fn on_request(
        &self,
        _request: &mut MessagesRequest,
        _ctx: &mut RequestContext<'_>,
    ) -> Result<Verdict, FilterError> {
        Ok(Verdict::Pass)
    }

    /// The per-request response stage of this filter, if it has one.
    fn response_stage(&self, _ctx: &RequestContext<'_>) -> Option<Box<dyn ResponseStage>> {
        None
    }
}

/// The filters a policy applies, in order.
#[derive(Clone, Default)]
pub struct FilterChain {
    filters: Vec<Arc<dyn Filter>>,
}

impl std::fmt::Debug for FilterChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.filters.iter().map(|x| x.name()))
            .finish()
    }
}

/// What running the request filters did.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainOutcome {
    Unchanged,
    Rewritten,
}

impl FilterChain {
    pub fn new(filters: Vec<Arc<dyn Filter>>) -> Self {
        Self { filters }
    }

    /// Runs every filter's request step in order. The first rejection stops the chain; a filter
    /// error is a rejection too (fail closed).
    pub fn run_request(
        &self,
        request: &mut MessagesRequest,
        ctx: &mut RequestContext<'_>,
    ) -> Result<ChainOutcome, Rejection> {
        let mut outcome = ChainOutcome::Unchanged;
        for filter in &self.filters {
            match filter.on_request(request, ctx) {
                Ok(Verdict::Pass) => {}
                Ok(Verdict::Rewritten) => outcome = ChainOutcome::Rewritten,
                Ok(Verdict::Reject(rejection)) => return Err(rejection),
                Err(_) => {
                    return Err(Rejection {
                        kind: ErrorKind::Api,
                        rule: filter.name().to_string(),
                        message: format!(
                            "Warden could not apply filter '{}'; the request was not sent.",
                            filter.name()
                        ),
                    });
                }
            }
        }
        Ok(outcome)
    }

    /// The response stages for one exchange, in the same order as the filters.
    pub fn response_pipeline(&self, ctx: &RequestContext<'_>) -> StagePipeline {
        StagePipeline::new(
            self.filters
                .iter()
                .filter_map(|f| f.response_stage(ctx))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::messages::Endpoint;
    use crate::ids::{KeyId, PrincipalId, TeamId};

    struct Upcase;
    impl Filter for Upcase {
        fn name(&self) -> &'static str {
            "upcase"
        }
        fn on_request(
            &self,
            r: &mut MessagesRequest,
            _: &mut RequestContext<'_>,
        ) -> Result<Verdict, FilterError> {
            r.model = r.model.to_uppercase();
            Ok(Verdict::Rewritten)
        }
    }

    struct Broken;
    impl Filter for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        fn on_request(
            &self,
            _: &mut MessagesRequest,
            _: &mut RequestContext<'_>,
        ) -> Result<Verdict, FilterError> {
            Err(FilterError("scanner not compiled".into()))
        }
    }

    fn run(chain: FilterChain) -> (Result<ChainOutcome, Rejection>, MessagesRequest) {
        let mut req = MessagesRequest::parse(
            br#"{"model":"m","max_tokens":1,"messages":[]}"#,
            Endpoint::Messages,
        )
        .expect("valid");
        let id = RequestId::generate();
        let p = Principal {
            key_id: KeyId("k".into()),
            principal: PrincipalId("p".into()),
            team: TeamId("t".into()),
        };
        let mut ctx = RequestContext::new(&id, &p, b"k");
        (chain.run_request(&mut req, &mut ctx), req)
    }

    #[test]
    fn an_empty_chain_changes_nothing() {
        let (outcome, req) = run(FilterChain::default());
        assert_eq!(outcome, Ok(ChainOutcome::Unchanged));
        assert_eq!(req.model, "m");
    }

    #[test]
    fn a_rewrite_is_reported_and_applied() {
        let (outcome, req) = run(FilterChain::new(vec![Arc::new(Upcase)]));
        assert_eq!(outcome, Ok(ChainOutcome::Rewritten));
        assert_eq!(req.model, "M");
    }

    #[test]
    fn a_filter_that_cannot_decide_stops_the_request() {
        let (outcome, _) = run(FilterChain::new(vec![Arc::new(Upcase), Arc::new(Broken)]));
        let rejection = outcome.expect_err("fails closed");
        assert_eq!(rejection.kind, ErrorKind::Api);
        assert_eq!(rejection.rule, "broken");
    }
}
