//! A screen in front of the rule regex: one lazy DFA of all the rules that answers only "could a
//! rule match anywhere in this text?", walking [`PIECES`] pieces of the text in lockstep.
//!
//! Why: the rules share no literal a prefilter could jump to (`\b(?:new|real|…)`, line starts),
//! so the regex reads every byte, and a DFA reads a byte with one table load that depends on the
//! previous one: about 1.7 ns a byte here, whatever the number of rules. Three pieces walked in
//! lockstep are three independent chains of loads, which the CPU overlaps: the 20 KB benchmark
//! pages take about half the time. Almost every tool result matches no rule, and then the
//! screen's "no" is the whole answer; on a "maybe" the regex runs as before, so what is reported
//! never depends on the screen, only how fast a clean text is passed.
//!
//! Exact across the cuts: piece k + 1 starts in the DFA's unanchored start state, with the
//! look-behind of the byte before it, so it sees every match that starts inside it. A match that
//! starts in piece k and ends past its end is piece k's: piece k walks on into piece k + 1 until
//! its state is the state piece k + 1 had at the same byte (from there on the two walks are one),
//! or to the end of the text. Cuts are put just after a line end where one is near, where most
//! rule threads die, so the walks meet within a few bytes. State ids are compared only while the
//! DFA's cache has not been cleared (a clear renumbers them); on a clear, on a full cache, or on
//! any state the walk does not expect, the screen says "maybe".

use regex_automata::{
    Input, MatchKind,
    hybrid::{
        LazyStateID,
        dfa::{Cache, DFA},
    },
    nfa::thompson,
    util::pool::Pool,
};

/// Pieces walked at once: three overlap enough loads to stop gaining here (two ≈ 20 µs on a
/// 20 KB page, three ≈ 17, four ≈ 18).
const PIECES: usize = 3;
/// Texts shorter than this go straight to the regex: the screen would save less than it costs.
pub const MIN_SCREEN_BYTES: usize = 512;
/// How far past a cut the next piece's states are kept for piece k to meet them.
const MEET_WITHIN: usize = 512;
/// How far past the even split a line end is looked for, to cut after it.
const CUT_SLACK: usize = 256;

type CachePool = Pool<Scratch, Box<dyn Fn() -> Scratch + Send + Sync>>;

/// Per-thread working memory: the DFA's cache and the states kept past each cut.
struct Scratch {
    cache: Cache,
    kept: Vec<LazyStateID>,
}

pub(crate) struct Screen {
    dfa: DFA,
    scratch: CachePool,
}

impl Screen {
    /// The screen for `patterns`, in the same syntax the regex was built from.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let dfa = DFA::builder()
            // Every match, not the leftmost-first one: a yes/no question needs no preference,
            // and state sets without an order meet sooner.
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .specialize_start_states(false),
            )
            .thompson(thompson::Config::new().nfa_size_limit(Some(1 << 24)))
            .build_many(patterns)
            .map_err(|e| e.to_string())?;
        let for_pool = dfa.clone();
        let scratch: CachePool = Pool::new(Box::new(move || Scratch {
            cache: for_pool.create_cache(),
            kept: vec![LazyStateID::default(); PIECES * MEET_WITHIN],
        }));
        Ok(Self { dfa, scratch })
    }

    /// `false` only if no pattern matches anywhere in `text`.
    pub fn may_match(&self, text: &[u8]) -> bool {
        if text.len() < MIN_SCREEN_BYTES {
            return true;
        }
        let mut scratch = self.scratch.get();
        let Scratch { cache, kept } = &mut *scratch;
        Walk {
            dfa: &self.dfa,
            cache,
            clears: 0,
        }
        .run(text, kept)
        .unwrap_or(true)
    }
}

struct Walk<'a> {
    dfa: &'a DFA,
    cache: &'a mut Cache,
    /// The cache's clear count when the start states were taken: ids are comparable only while
    /// it holds.
    clears: usize,
}

impl Walk<'_> {
    /// One byte. `None` for "maybe": a match, a cleared or full cache, a dead or quit state.
    #[inline(always)]
    fn step(&mut self, sid: LazyStateID, byte: u8) -> Option<LazyStateID> {
        let next = self.dfa.next_state_untagged(self.cache, sid, byte);
        if !next.is_tagged() {
            return Some(next);
        }
        self.slow_step(sid, byte)
    }

    /// A transition not computed yet, or a tagged state.
    #[cold]
    fn slow_step(&mut self, sid: LazyStateID, byte: u8) -> Option<LazyStateID> {
        let next = self.dfa.next_state(self.cache, sid, byte).ok()?;
        (self.cache.clear_count() == self.clears && !next.is_tagged()).then_some(next)
    }

    /// `Some(false)` if no match anywhere; `None` for "maybe".
    fn run(mut self, text: &[u8], kept: &mut [LazyStateID]) -> Option<bool> {
        let n = text.len();
        // Piece k is text[cut[k]..end(k)].
        let mut cut = [0usize; PIECES];
        for k in 1..PIECES {
            let even = n * k / PIECES;
            let after_line = memchr::memchr(b'\n', &text[even..n.min(even + CUT_SLACK)])
                .map_or(even, |i| even + i + 1);
            cut[k] = after_line.max(cut[k - 1]);
        }
        let end = |k: usize| if k + 1 < PIECES { cut[k + 1] } else { n };
        let mut state = [LazyStateID::default(); PIECES];
        for k in 0..PIECES {
            let start = self
                .dfa
                .start_state_forward(self.cache, &Input::new(text).range(cut[k]..))
                .ok()?;
            if start.is_tagged() {
                return None;
            }
            state[k] = start;
        }
        self.clears = self.cache.clear_count();
        // kept[k * MEET_WITHIN + j]: piece k's state after its first j bytes (piece 0's unused).
        for k in 0..PIECES {
            kept[k * MEET_WITHIN] = state[k];
        }
        let common = (0..PIECES).map(|k| end(k) - cut[k]).min().unwrap_or(0);
        let keeping = common.min(MEET_WITHIN - 1);
        for i in 0..keeping {
            for k in 0..PIECES {
                state[k] = self.step(state[k], text[cut[k] + i])?;
                kept[k * MEET_WITHIN + i + 1] = state[k];
            }
        }
        let rest: [&[u8]; PIECES] =
            std::array::from_fn(|k| &text[cut[k] + keeping..cut[k] + common]);
        for i in 0..common - keeping {
            for (k, piece) in rest.iter().enumerate() {
                state[k] = self.step(state[k], piece[i])?;
            }
        }
        // Each piece's own bytes past the common length.
        for k in 0..PIECES {
            for (j, &byte) in (common + 1..).zip(&text[cut[k] + common..end(k)]) {
                state[k] = self.step(state[k], byte)?;
                if j < MEET_WITHIN {
                    kept[k * MEET_WITHIN + j] = state[k];
                }
            }
        }
        // Each piece walks on until it meets the next one, or to the end of the text.
        for k in 0..PIECES {
            let mut at = end(k);
            let mut met = false;
            while at < n {
                if k + 1 < PIECES
                    && at < end(k + 1)
                    && at - end(k) < MEET_WITHIN
                    && state[k] == kept[(k + 1) * MEET_WITHIN + at - end(k)]
                {
                    met = true;
                    break;
                }
                state[k] = self.step(state[k], text[at])?;
                at += 1;
            }
            if !met {
                // Matches show one byte late: the end of the text is one more transition.
                // (A walk without a match may end dead there; only a match or a quit counts.)
                let eoi = self.dfa.next_eoi_state(self.cache, state[k]).ok()?;
                if eoi.is_match() || eoi.is_quit() || self.cache.clear_count() != self.clears {
                    return None;
                }
            }
        }
        Some(false)
    }
}
