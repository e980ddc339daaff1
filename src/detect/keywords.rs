//! The keyword automaton every scan starts with, flattened into one transition table and walked
//! over two halves of the text at once.
//!
//! An Aho-Corasick DFA spends its time waiting on memory: each byte's transition depends on the
//! state the previous byte reached, so one walk cannot go faster than one table load per byte.
//! Two independent walks (the first and second half of the text) interleaved in one loop let the
//! CPU overlap their loads, which is what takes clean text past 1 GB/s. The automaton itself is
//! built by the `aho-corasick` crate; this module only copies its transitions into a table with
//! the match states numbered last, so the loop's only branch is one comparison.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind};

/// One occurrence of a keyword: its index in the list the automaton was built from, and its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeywordHit {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

/// (match state, end) pairs one lane of the walk found.
type RawHits = Vec<(u32, usize)>;

/// Independent walks interleaved over a text's quarters.
const LANES: usize = 4;
/// Texts shorter than this are walked in one lane: splitting costs more than it saves.
const LANES_FROM: usize = 1024;

pub(crate) struct KeywordDfa {
    /// Byte to column: one column per distinct (case-folded) keyword byte, column 0 for the rest.
    classes: [u8; 256],
    /// Row length (a power of two at least the number of columns).
    stride: usize,
    /// log2 of `stride`: a match state's row is found by a shift (a division, whose divisor the
    /// compiler cannot know is a power of two, cost tens of cycles per hit).
    stride_shift: u32,
    /// `trans[state + class]` is the next state, as a row offset (state index × stride).
    trans: Vec<u32>,
    /// States at or after this offset end at least one keyword.
    first_match: u32,
    /// Per match state (by `(offset - first_match) / stride`): the keywords that end there.
    matches: Vec<Box<[(u32, u32)]>>,
    start: u32,
    /// Longest keyword, in bytes: how far the first lane walks past the split.
    max_len: usize,
}

impl std::fmt::Debug for KeywordDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordDfa")
            .field("states", &(self.trans.len() / self.stride))
            .field("stride", &self.stride)
            .finish()
    }
}

impl KeywordDfa {
    /// Builds the automaton for `keywords` (ASCII case-insensitive; every occurrence reported,
    /// overlapping ones included), except that the single-digit keywords are reported only at
    /// the start of a run of digits (where the byte before is not a digit) when all ten digits
    /// are keywords: text dense with numbers would otherwise make a hit of every digit.
    pub fn new(keywords: &[String]) -> Result<Self, String> {
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .map_err(|e| e.to_string())?;
        let pattern_len: Vec<u32> = keywords.iter().map(|k| k.len() as u32).collect();

        // Columns: a byte that occurs in no keyword sends every state where a byte of no keyword
        // does, so all such bytes share column 0; the two cases of a letter share a column.
        let mut classes = [0u8; 256];
        let mut columns = 1usize;
        for k in keywords {
            for &b in k.as_bytes() {
                let lower = b.to_ascii_lowercase();
                if classes[lower as usize] == 0 {
                    if columns == 256 {
                        return Err("too many distinct keyword bytes".into());
                    }
                    classes[lower as usize] = columns as u8;
                    classes[lower.to_ascii_uppercase() as usize] = columns as u8;
                    columns += 1;
                }
            }
        }
        let representative: Vec<u8> = (0..columns)
            .map(|c| {
                (0..=255u8)
                    .find(|&b| classes[b as usize] as usize == c)
                    .unwrap_or(0)
            })
            .collect();
        let stride = columns.next_power_of_two();

        // Digit runs: a digit column holds one digit only (digits have no case), so the column
        // tells whether a digit was read. A state that ends only single-digit keywords, entered by
        // a digit right after another digit, gets a non-matching twin with the same transitions.
        let digit_keyword: Vec<bool> = keywords
            .iter()
            .map(|k| k.len() == 1 && k.as_bytes()[0].is_ascii_digit())
            .collect();
        let runs = digit_keyword.iter().filter(|&&d| d).count() == 10;
        let is_digit_column = |c: usize| runs && representative[c].is_ascii_digit();
        let only_digits = |sid| {
            runs && dfa.is_match(sid)
                && (0..dfa.match_len(sid))
                    .all(|m| digit_keyword[dfa.match_pattern(sid, m).as_usize()])
        };
        // A state of the walk: the automaton's state, and whether it was entered by a digit that
        // followed a digit (only ever true where it changes the state's matches).
        type Walk = (aho_corasick::automaton::StateID, bool);
        let matching = |(sid, in_run): Walk| dfa.is_match(sid) && !(in_run && only_digits(sid));
        let step = |(sid, _): Walk, column: usize, last_was_digit: bool| -> Walk {
            let to = dfa.next_state(Anchored::No, sid, representative[column]);
            (
                to,
                is_digit_column(column) && last_was_digit && only_digits(to),
            )
        };

        // Every state reachable from the unanchored start, breadth first, with whether the byte
        // that entered it was a digit.
        let start = dfa.start_state(Anchored::No).map_err(|e| e.to_string())?;
        let mut order: Vec<(Walk, bool)> = vec![((start, false), false)];
        let mut index = std::collections::HashMap::from([((start, false), 0usize)]);
        let mut next = 0;
        while next < order.len() {
            let (state, entered_by_digit) = order[next];
            next += 1;
            for c in 0..columns {
                let to = step(state, c, entered_by_digit);
                if let std::collections::hash_map::Entry::Vacant(e) = index.entry(to) {
                    e.insert(order.len());
                    order.push((to, is_digit_column(c)));
                }
            }
        }
        // Match states last, so "is this a match" is one comparison in the loop.
        let mut numbered: Vec<(Walk, bool)> = order.to_vec();
        numbered.sort_by_key(|&(state, _)| matching(state));
        let slot: std::collections::HashMap<Walk, usize> = numbered
            .iter()
            .enumerate()
            .map(|(i, &(s, _))| (s, i))
            .collect();
        let first_match_index = numbered
            .iter()
            .position(|&(s, _)| matching(s))
            .unwrap_or(numbered.len());
        if numbered.len() * stride > u32::MAX as usize {
            return Err("keyword automaton too large".into());
        }
        let mut trans = vec![0u32; numbered.len() * stride];
        let mut matches = Vec::with_capacity(numbered.len() - first_match_index);
        for (i, &(state, entered_by_digit)) in numbered.iter().enumerate() {
            for c in 0..columns {
                let to = step(state, c, entered_by_digit);
                trans[i * stride + c] = (slot[&to] * stride) as u32;
            }
            let sid = state.0;
            if matching(state) {
                let found: Box<[(u32, u32)]> = (0..dfa.match_len(sid))
                    .map(|m| {
                        let p = dfa.match_pattern(sid, m).as_u32();
                        (p, pattern_len[p as usize])
                    })
                    .collect();
                matches.push(found);
            }
        }
        Ok(Self {
            classes,
            stride,
            stride_shift: stride.trailing_zeros(),
            trans,
            first_match: (first_match_index * stride) as u32,
            matches,
            start: (slot[&(start, false)] * stride) as u32,
            max_len: keywords.iter().map(String::len).max().unwrap_or(0),
        })
    }

    /// Calls `f` with every keyword occurrence in `text`, in order of where it ends (so nearly
    /// in order of start).
    pub fn for_each_hit(&self, text: &[u8], mut f: impl FnMut(KeywordHit)) {
        thread_local! {
            /// (match state, end) pairs per lane, reused from scan to scan: text dense with
            /// digits makes hundreds of thousands, and allocating them anew each time cost more
            /// than the walk.
            static RAW: std::cell::RefCell<[RawHits; LANES]> =
                const { std::cell::RefCell::new([const { Vec::new() }; LANES]) };
        }
        let len = text.len();
        if len < LANES_FROM {
            let mut raw = Vec::new();
            self.walk(self.start, text, 0, &mut raw);
            self.expand(&raw, usize::MAX, &mut f);
            return;
        }
        RAW.with_borrow_mut(|raw| {
            let seg = len / LANES;
            let t = &self.trans[..];
            let c = &self.classes;
            let fm = self.first_match;
            let mut state = [self.start; LANES];
            for r in raw.iter_mut() {
                r.clear();
            }
            for i in 0..seg {
                for k in 0..LANES {
                    let s = t[state[k] as usize + c[text[k * seg + i] as usize] as usize];
                    state[k] = s;
                    if s >= fm {
                        raw[k].push((s, k * seg + i + 1));
                    }
                }
            }
            // The last lane runs to the end of the text.
            let last = LANES - 1;
            state[last] = self.walk(
                state[last],
                &text[LANES * seg..],
                LANES * seg,
                &mut raw[last],
            );
            for k in 0..LANES {
                self.expand(&raw[k], usize::MAX, &mut f);
                if k == last {
                    break;
                }
                // Each lane but the last goes on past its end for keywords that start before it
                // and end after; the next lane, which started fresh there, saw only those
                // starting at or after it.
                let boundary = (k + 1) * seg;
                let tail_end = (boundary + self.max_len.saturating_sub(1)).min(len);
                raw[k].clear();
                self.walk(state[k], &text[boundary..tail_end], boundary, &mut raw[k]);
                self.expand(&raw[k], boundary, &mut f);
            }
        });
    }

    /// Walks `text` (which starts at `offset` in the whole) from `state`, recording match
    /// states; returns the state reached.
    fn walk(&self, mut state: u32, text: &[u8], offset: usize, raw: &mut RawHits) -> u32 {
        for (i, &b) in (offset + 1..).zip(text) {
            state = self.trans[state as usize + self.classes[b as usize] as usize];
            if state >= self.first_match {
                raw.push((state, i));
            }
        }
        state
    }

    /// Turns (state, end) pairs into keyword hits, keeping those that start before `before`.
    fn expand(&self, raw: &[(u32, usize)], before: usize, f: &mut impl FnMut(KeywordHit)) {
        for &(state, end) in raw {
            let m = ((state - self.first_match) >> self.stride_shift) as usize;
            for &(pattern, len) in self.matches[m].iter() {
                let start = end - len as usize;
                if start < before {
                    f(KeywordHit {
                        pattern: pattern as usize,
                        start,
                        end,
                    });
                }
            }
        }
    }

    #[cfg(test)]
    fn hits(&self, text: &[u8]) -> Vec<KeywordHit> {
        let mut out = Vec::new();
        self.for_each_hit(text, |h| out.push(h));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(keywords: &[String], text: &str) -> Vec<KeywordHit> {
        let lower = text.to_ascii_lowercase().into_bytes();
        let mut out = Vec::new();
        for (p, k) in keywords.iter().enumerate() {
            let k = k.to_ascii_lowercase().into_bytes();
            for (start, w) in lower.windows(k.len()).enumerate() {
                if w == k.as_slice() {
                    out.push(KeywordHit {
                        pattern: p,
                        start,
                        end: start + k.len(),
                    });
                }
            }
        }
        out.sort_by_key(|h| (h.start, h.end, h.pattern));
        out
    }

    #[test]
    fn finds_every_occurrence_in_both_lanes_and_across_the_split() {
        let keywords: Vec<String> = ["sk-", "sk-ant-", "ant", "key", "a", "INFO", "7", "@"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let dfa = KeywordDfa::new(&keywords).expect("builds");
        let unit = "An SK-ANT-key for info@x.org 7 times; ";
        // Every offset of the unit against the split point, short and two-lane texts alike.
        for pad in 0..unit.len() {
            for repeat in [1, 20, 40] {
                let text = format!("{}{}", &"z".repeat(pad), unit.repeat(repeat));
                let mut got = dfa.hits(text.as_bytes());
                got.sort_by_key(|h| (h.start, h.end, h.pattern));
                assert_eq!(got, naive(&keywords, &text), "pad {pad} repeat {repeat}");
            }
        }
    }

    #[test]
    fn digits_are_reported_only_where_a_run_of_digits_starts() {
        let mut keywords: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        keywords.extend(["a1".to_string(), "42x".to_string(), "key".to_string()]);
        let dfa = KeywordDfa::new(&keywords).expect("builds");
        let unit = "key 4242 4242x; a19 b7 +44 20 7946; 10.20.3.14 ";
        for pad in 0..unit.len() {
            for repeat in [1, 60] {
                let text = format!("{}{}", &"z".repeat(pad), unit.repeat(repeat));
                let b = text.as_bytes();
                let in_run = |h: &KeywordHit| {
                    h.end - h.start == 1 && h.start > 0 && b[h.start - 1].is_ascii_digit()
                };
                let mut got = dfa.hits(b);
                got.sort_by_key(|h| (h.start, h.end, h.pattern));
                let want: Vec<KeywordHit> = naive(&keywords, &text)
                    .into_iter()
                    .filter(|h| !(keywords[h.pattern].len() == 1 && in_run(h)))
                    .collect();
                // Every hit outside a run is found; a digit inside a run is reported only where
                // a lane of the walk starts (at most one per lane).
                let extra: Vec<_> = got.iter().filter(|h| !want.contains(h)).collect();
                assert!(
                    want.iter().all(|h| got.contains(h)),
                    "pad {pad} repeat {repeat}"
                );
                assert!(
                    extra.len() < LANES && extra.iter().all(|h| in_run(h)),
                    "{extra:?}"
                );
                if repeat == 1 {
                    assert!(extra.is_empty(), "one lane: exact");
                }
            }
        }
    }

    #[test]
    fn non_ascii_text_and_bytes_outside_every_keyword() {
        let keywords: Vec<String> = vec!["pwd".into(), "é".into()];
        let dfa = KeywordDfa::new(&keywords).expect("builds");
        let text = "ÉTÉ pwd é ".repeat(100);
        let mut got = dfa.hits(text.as_bytes());
        got.sort_by_key(|h| (h.start, h.end, h.pattern));
        assert_eq!(got, naive(&keywords, &text));
    }
}
