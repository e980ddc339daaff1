//! Models and limits: the team may use only the models its policy allows, up to its
//! `max_tokens` ceiling.

use std::sync::Arc;

use super::{Filter, FilterError, Rejection, RequestContext, Verdict};
use crate::api::{ErrorKind, MessagesRequest};
use crate::detect::glob_match;
use crate::policy::Policy;

pub struct ModelGate {
    policy: Arc<Policy>,
}

impl ModelGate {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

impl Filter for ModelGate {
    fn name(&self) -> &'static str {
        "models"
    }

    fn on_request(
        &self,
        request: &mut MessagesRequest,
        _ctx: &mut RequestContext<'_>,
    ) -> Result<Verdict, FilterError> {
        let p = &self.policy;
        if !p.models.is_empty() && !p.models.iter().any(|g| glob_match(g, &request.model)) {
            return Ok(Verdict::Reject(Rejection {
                kind: ErrorKind::Permission,
                rule: "models.allow".into(),
                message: format!(
                    "model '{}' is not allowed by policy '{}' (rule models.allow; allowed: {})",
                    request.model,
                    p.name,
                    p.models.join(", ")
                ),
            }));
        }
        if let (Some(ceiling), Some(asked)) = (
            p.max_tokens,
            request.max_tokens.as_ref().and_then(|v| v.as_u64()),
        ) {
            if asked > ceiling {
                return Ok(Verdict::Reject(Rejection {
                    kind: ErrorKind::Permission,
                    rule: "models.max_tokens".into(),
                    message: format!(
                        "max_tokens {asked} exceeds the ceiling of {ceiling} set by policy '{}' (rule models.max_tokens)",
                        p.name
                    ),
                }));
            }
        }
        Ok(Verdict::Pass)
    }
}
