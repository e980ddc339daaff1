//! Response stages: one SSE event at a time, or one whole Message, with bounded memory.
//!
//! A stage receives each event and pushes zero or more events out: pass it, rewrite it, drop it,
//! or keep it (hold) and push it later (release). It must never keep a whole stream. While any
//! stage holds something, the server keeps the client's connection alive with pings.

use crate::api::SseEvent;
use crate::api::messages::MessageReply;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The stage could not decide: the reply does not go out (fail closed).
    #[error("response stage failed: {0}")]
    Failed(String),
    /// Policy withholds the reply; `message` names the rule, never the value.
    #[error("{message}")]
    Withheld { rule: String, message: String },
}

pub trait ResponseStage: Send + Sync {
    /// One event in; whatever should go on pushed to `out`. Passes by default.
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        out.push(event);
        Ok(())
    }

    /// The stream ended: release or replace anything still held.
    fn on_end(&mut self, _out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        Ok(())
    }

    /// True while the stage holds events back.
    fn holding(&self) -> bool {
        false
    }

    /// A whole (non-streaming) reply; returns whether it changed it.
    fn on_message(&mut self, _message: &mut MessageReply) -> Result<bool, StageError> {
        Ok(false)
    }

    /// True while the stage waits on a decision from outside the stream (a human's approval).
    fn awaiting(&self) -> bool {
        false
    }

    /// Streams: ready when what the stage waited on was decided; the events it then releases
    /// (or puts in their place) go to `out`.
    fn poll_resume(
        &mut self,
        _cx: &mut std::task::Context<'_>,
        _out: &mut Vec<SseEvent>,
    ) -> std::task::Poll<Result<(), StageError>> {
        std::task::Poll::Pending
    }

    /// Whole replies: ready when every decision the stage waited on is made and applied to
    /// `message`; returns whether it changed it.
    fn poll_message(
        &mut self,
        _cx: &mut std::task::Context<'_>,
        _message: &mut MessageReply,
    ) -> std::task::Poll<Result<bool, StageError>> {
        std::task::Poll::Ready(Ok(false))
    }
}

/// The stages for one exchange, run in order: what one stage pushes is what the next receives.
#[derive(Default)]
pub struct StagePipeline {
    stages: Vec<Box<dyn ResponseStage>>,
    scratch: Vec<SseEvent>,
}

impl StagePipeline {
    pub fn new(stages: Vec<Box<dyn ResponseStage>>) -> Self {
        Self {
            stages,
            scratch: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn holding(&self) -> bool {
        self.stages.iter().any(|s| s.holding())
    }

    /// Runs one event through every stage; the events to send go to `out`.
    pub fn push(&mut self, event: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        let start = out.len();
        out.push(event);
        self.run_from(0, out, start)
    }

    /// Runs `out[start..]` through stages `first..`, in place.
    fn run_from(
        &mut self,
        first: usize,
        out: &mut Vec<SseEvent>,
        start: usize,
    ) -> Result<(), StageError> {
        for stage in self.stages.iter_mut().skip(first) {
            self.scratch.clear();
            self.scratch.extend(out.drain(start..));
            for event in self.scratch.drain(..) {
                stage.on_event(event, out)?;
            }
        }
        Ok(())
    }

    /// End of stream: each stage releases what it holds, and that passes through the stages
    /// after it before they end in turn.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
        for i in 0..self.stages.len() {
            let start = out.len();
            self.stages[i].on_end(out)?;
            self.run_from(i + 1, out, start)?;
        }
        Ok(())
    }

    /// True while a stage waits on a decision from outside the stream.
    pub fn awaiting(&self) -> bool {
        self.stages.iter().any(|s| s.awaiting())
    }

    /// Ready when a waiting stage moved on; what it released has passed through the stages
    /// after it into `out`.
    pub fn poll_resume(
        &mut self,
        cx: &mut std::task::Context<'_>,
        out: &mut Vec<SseEvent>,
    ) -> std::task::Poll<Result<(), StageError>> {
        let mut ready = false;
        for i in 0..self.stages.len() {
            if !self.stages[i].awaiting() {
                continue;
            }
            let start = out.len();
            match self.stages[i].poll_resume(cx, out) {
                std::task::Poll::Ready(Ok(())) => {
                    self.run_from(i + 1, out, start)?;
                    ready = true;
                }
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => {}
            }
        }
        if ready {
            std::task::Poll::Ready(Ok(()))
        } else {
            std::task::Poll::Pending
        }
    }

    /// A whole reply through every stage, in order; a stage that waits on a decision (a held
    /// tool call) is waited for before the next stage sees the reply, as in a stream. Returns
    /// whether any stage changed it.
    pub async fn on_message(&mut self, message: &mut MessageReply) -> Result<bool, StageError> {
        let mut changed = false;
        for stage in &mut self.stages {
            changed |= stage.on_message(message)?;
            if stage.awaiting() {
                changed |= std::future::poll_fn(|cx| stage.poll_message(cx, message)).await?;
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, data: &str) -> SseEvent {
        SseEvent::new(name, data)
    }

    fn names(events: &[SseEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{}:{}", e.event().unwrap_or(""), e.data()))
            .collect()
    }

    /// Rewrites `text` events to upper case.
    struct Shout;
    impl ResponseStage for Shout {
        fn on_event(&mut self, e: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
            if e.event() == Some("text") {
                out.push(ev("text", &e.data().to_uppercase()));
            } else {
                out.push(e);
            }
            Ok(())
        }
    }

    /// Drops pings.
    struct NoPings;
    impl ResponseStage for NoPings {
        fn on_event(&mut self, e: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
            if e.event() != Some("ping") {
                out.push(e);
            }
            Ok(())
        }
    }

    /// Holds everything from `hold` until `release`, then lets it all out in order.
    #[derive(Default)]
    struct Gate {
        held: Vec<SseEvent>,
        closed: bool,
    }
    impl ResponseStage for Gate {
        fn on_event(&mut self, e: SseEvent, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
            match e.event() {
                Some("hold") => self.closed = true,
                Some("release") => {
                    self.closed = false;
                    out.append(&mut self.held);
                }
                _ if self.closed => self.held.push(e),
                _ => out.push(e),
            }
            Ok(())
        }
        fn on_end(&mut self, out: &mut Vec<SseEvent>) -> Result<(), StageError> {
            out.append(&mut self.held);
            Ok(())
        }
        fn holding(&self) -> bool {
            !self.held.is_empty()
        }
    }

    fn run(p: &mut StagePipeline, input: &[(&str, &str)]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for (n, d) in input {
            p.push(ev(n, d), &mut out).expect("stage ok");
        }
        p.finish(&mut out).expect("stage ok");
        out
    }

    #[test]
    fn stages_rewrite_and_drop_in_order() {
        let mut p = StagePipeline::new(vec![Box::new(Shout), Box::new(NoPings)]);
        let out = run(&mut p, &[("text", "hi"), ("ping", "{}"), ("other", "x")]);
        assert_eq!(names(&out), ["text:HI", "other:x"]);
    }

    #[test]
    fn held_events_are_released_in_order_and_later_stages_still_see_them() {
        let mut p = StagePipeline::new(vec![Box::new(Gate::default()), Box::new(Shout)]);
        let mut out = Vec::new();
        p.push(ev("text", "a"), &mut out).expect("ok");
        p.push(ev("hold", ""), &mut out).expect("ok");
        p.push(ev("text", "b"), &mut out).expect("ok");
        p.push(ev("text", "c"), &mut out).expect("ok");
        assert_eq!(names(&out), ["text:A"]);
        assert!(p.holding());
        p.push(ev("release", ""), &mut out).expect("ok");
        assert!(!p.holding());
        assert_eq!(names(&out), ["text:A", "text:B", "text:C"]);
    }

    #[test]
    fn what_is_still_held_at_the_end_is_released_through_later_stages() {
        let mut p = StagePipeline::new(vec![Box::new(Gate::default()), Box::new(Shout)]);
        let out = run(&mut p, &[("hold", ""), ("text", "x"), ("ping", "{}")]);
        assert_eq!(names(&out), ["text:X", "ping:{}"]);
    }

    #[test]
    fn an_empty_pipeline_passes_events_untouched() {
        let mut p = StagePipeline::default();
        let e = ev("future_event", "{\"z\":1}");
        let mut out = Vec::new();
        p.push(e.clone(), &mut out).expect("ok");
        assert_eq!(out, vec![e]);
    }
}
