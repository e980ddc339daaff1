//! A screen in front of the rule regex: one lazy DFA of all the rules that answers "where could a
//! rule match in this text?", walking [`PIECES`] pieces of the text in lockstep.
//!
//! Why: the rules share no literal a prefilter could jump to (`\b(?:new|real|…)`, line starts),
//! so the regex reads every byte, and a DFA reads a byte with one table load that depends on the
//! previous one: about 1.7 ns a byte here, whatever the number of rules. Three pieces walked in
//! lockstep are three independent chains of loads, which the CPU overlaps: the 20 KB benchmark
//! pages take about half the time. Almost every tool result matches no rule, and then the
//! screen's "nowhere" is the whole answer. Where something matches, the walk records where each
//! match ends, a reverse lazy DFA walks back from each end to the earliest place a match ending
//! there can start, and the regex then runs only over those regions (a few lines of a 20 KB page).
//! No match of any rule lies outside the regions, so the regex's leftmost-first matches inside
//! them are the ones it finds over the whole text; a property test holds the two equal.
//!
//! Exact across the cuts: piece k + 1 starts in the DFA's unanchored start state, with the
//! look-behind of the byte before it, so it sees every match that starts inside it. A match that
//! starts in piece k and ends past its end is piece k's: piece k walks on into piece k + 1 until
//! its state is the state piece k + 1 had at the same byte (from there on the two walks are one),
//! or to the end of the text. Cuts are put just after a line end where one is near, where most
//! rule threads die, so the walks meet within a few bytes. State ids are compared only while the
//! DFA's cache has not been cleared (a clear renumbers them); on a clear, on a full cache, on any
//! state the walk does not expect, or when walking back costs more than the text is long (many
//! matches on one long line), the screen gives up and the regex reads the whole text.

use regex_automata::{
    Anchored, Input, MatchKind,
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
/// Walking back from match ends may read this many times the text's length before the screen
/// gives up: bounds the work when many matches end on one long line.
const REVERSE_BUDGET: usize = 2;

type CachePool = Pool<Scratch, Box<dyn Fn() -> Scratch + Send + Sync>>;

/// Per-thread working memory: the DFAs' caches, the states kept past each cut, and the match
/// ends found.
struct Scratch {
    cache: Cache,
    reverse: Cache,
    kept: Vec<LazyStateID>,
    ends: Vec<usize>,
}

pub(crate) struct Screen {
    dfa: DFA,
    /// The same patterns reversed, anchored: from a match end back to where matches start.
    reverse: DFA,
    scratch: CachePool,
}

/// Where the rules can match in a text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Regions {
    /// Nowhere.
    None,
    /// Only inside these byte ranges (sorted, disjoint); every match of every rule lies inside
    /// one of them.
    Within(Vec<std::ops::Range<usize>>),
    /// The screen could not tell: search the whole text.
    Anywhere,
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
        let reverse = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .specialize_start_states(false),
            )
            .thompson(
                thompson::Config::new()
                    .reverse(true)
                    .nfa_size_limit(Some(1 << 24)),
            )
            .build_many(patterns)
            .map_err(|e| e.to_string())?;
        let (forward, backward) = (dfa.clone(), reverse.clone());
        let scratch: CachePool = Pool::new(Box::new(move || Scratch {
            cache: forward.create_cache(),
            reverse: backward.create_cache(),
            kept: vec![LazyStateID::default(); PIECES * MEET_WITHIN],
            ends: Vec::new(),
        }));
        Ok(Self {
            dfa,
            reverse,
            scratch,
        })
    }

    /// Where in `text` the patterns can match.
    pub fn regions(&self, text: &[u8]) -> Regions {
        if text.len() < MIN_SCREEN_BYTES {
            return Regions::Anywhere;
        }
        let mut scratch = self.scratch.get();
        let Scratch {
            cache,
            reverse,
            kept,
            ends,
        } = &mut *scratch;
        ends.clear();
        let walk = Walk {
            dfa: &self.dfa,
            cache,
            clears: 0,
            ends,
        };
        if walk.run(text, kept).is_none() {
            return Regions::Anywhere;
        }
        if ends.is_empty() {
            return Regions::None;
        }
        ends.sort_unstable();
        ends.dedup();
        self.back_to_starts(reverse, text, ends)
            .map_or(Regions::Anywhere, Regions::Within)
    }

    /// For each match end, the earliest start of a match ending there, merged into ranges.
    /// `None` past the budget or on a cache failure.
    fn back_to_starts(
        &self,
        cache: &mut Cache,
        text: &[u8],
        ends: &[usize],
    ) -> Option<Vec<std::ops::Range<usize>>> {
        let mut budget = text.len().saturating_mul(REVERSE_BUDGET);
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        for &end in ends {
            let input = Input::new(text).range(..end).anchored(Anchored::Yes);
            let mut sid = self.reverse.start_state_reverse(cache, &input).ok()?;
            let mut earliest = None;
            let mut at = end;
            while at > 0 && !sid.is_dead() {
                budget = budget.checked_sub(1)?;
                sid = self.reverse.next_state(cache, sid, text[at - 1]).ok()?;
                if sid.is_quit() {
                    return None;
                }
                // Matches show one byte late: this state says a match starts at `at`.
                if sid.is_match() {
                    earliest = Some(at);
                }
                at -= 1;
            }
            if at == 0 && !sid.is_dead() {
                let eoi = self.reverse.next_eoi_state(cache, sid).ok()?;
                if eoi.is_match() {
                    earliest = Some(0);
                }
            }
            // The forward walk saw a match end here, so one starts somewhere; if the reverse
            // walk disagrees, trust neither.
            ranges.push(earliest?..end);
        }
        // A later end's start can reach back over earlier ranges: sort by start, then merge.
        ranges.sort_unstable_by_key(|r| r.start);
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        Some(merged)
    }
}

struct Walk<'a> {
    dfa: &'a DFA,
    cache: &'a mut Cache,
    /// The cache's clear count when the start states were taken: ids are comparable only while
    /// it holds.
    clears: usize,
    /// Where matches end (a position may repeat).
    ends: &'a mut Vec<usize>,
}

impl Walk<'_> {
    /// One byte, the one at `at`. `None` to give up: a cleared or full cache, a dead or quit
    /// state. A match state is recorded (a match ends at `at`) and walked on from.
    #[inline(always)]
    fn step(&mut self, sid: LazyStateID, byte: u8, at: usize) -> Option<LazyStateID> {
        if !sid.is_tagged() {
            let next = self.dfa.next_state_untagged(self.cache, sid, byte);
            if !next.is_tagged() {
                return Some(next);
            }
        }
        self.slow_step(sid, byte, at)
    }

    /// A transition not computed yet, from or into a match state, or a dead or quit state.
    #[cold]
    fn slow_step(&mut self, sid: LazyStateID, byte: u8, at: usize) -> Option<LazyStateID> {
        let next = self.dfa.next_state(self.cache, sid, byte).ok()?;
        if self.cache.clear_count() != self.clears || next.is_dead() || next.is_quit() {
            return None;
        }
        if next.is_match() {
            // Matches show one byte late: entering a match on the byte at `at` means a match
            // ended just before it.
            self.ends.push(at);
        }
        Some(next)
    }

    /// Walks the text, recording match ends; `None` to give up.
    fn run(mut self, text: &[u8], kept: &mut [LazyStateID]) -> Option<()> {
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
                state[k] = self.step(state[k], text[cut[k] + i], cut[k] + i)?;
                kept[k * MEET_WITHIN + i + 1] = state[k];
            }
        }
        let rest: [&[u8]; PIECES] =
            std::array::from_fn(|k| &text[cut[k] + keeping..cut[k] + common]);
        for i in 0..common - keeping {
            for (k, piece) in rest.iter().enumerate() {
                state[k] = self.step(state[k], piece[i], cut[k] + keeping + i)?;
            }
        }
        // Each piece's own bytes past the common length.
        for k in 0..PIECES {
            for (j, &byte) in (common + 1..).zip(&text[cut[k] + common..end(k)]) {
                state[k] = self.step(state[k], byte, cut[k] + j - 1)?;
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
                state[k] = self.step(state[k], text[at], at)?;
                at += 1;
            }
            if !met {
                // Matches show one byte late: the end of the text is one more transition.
                // (A walk may end dead there; only a match or a quit counts.)
                let eoi = self.dfa.next_eoi_state(self.cache, state[k]).ok()?;
                if eoi.is_quit() || self.cache.clear_count() != self.clears {
                    return None;
                }
                if eoi.is_match() {
                    self.ends.push(n);
                }
            }
        }
        Some(())
    }
}
