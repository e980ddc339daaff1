//! The learned half of the detector: logistic regression over hashed character n-grams (and,
//! for other shapes than the shipped one, words and word pairs), its weights file, its training,
//! and the train/validation split.
//!
//! An injected instruction is a few words in a page of legitimate content, so the model scores
//! **segments** (lines; sentences once a line is long; at most `MAX_SEGMENT_BYTES`) and a text's
//! score is its best segment's. Scoring whole texts learns the contexts instead (in the training
//! data the same emails and tables appear with and without an attack). Training is
//! multiple-instance learning to match: every segment of a clean text is a negative example, and
//! the highest-scoring segment of an injected text is its positive example.
//!
//! Features are hashed on the fly over the text's bytes (no token list, no allocation per
//! n-gram): bytes are lowercased, digits folded to `0` and whitespace turned into spaces. The
//! shipped model reads character 8-grams and nothing else; the walk also serves the shapes
//! earlier models used (shorter n-grams, words and word pairs, whitespace runs collapsed to one
//! space), and any shape `warden train` is asked for. A segment's feature vector is its bucket
//! counts divided by the square root of its number of features.

use std::borrow::Cow;

/// `b"WINJ"`: the weights file's first four bytes.
const MAGIC: [u8; 4] = *b"WINJ";
const VERSION: u16 = 1;
/// magic, version, hash bits, char n min, char n max, word n max, flags u8, reserved u8, bias,
/// threshold, scale, bucket count.
pub const HEADER_BYTES: usize = 28;

/// A line longer than this is cut at the next sentence end.
pub const SENTENCE_SPLIT_BYTES: usize = 48;
/// A segment longer than this is cut at the next whitespace.
pub const MAX_SEGMENT_BYTES: usize = 512;

/// Header flag: each whitespace byte is a space of its own (version-1 files written before the
/// flag existed collapse runs).
const FLAG_KEEP_WHITESPACE_RUNS: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("weights file too short or wrong magic")]
    Header,
    #[error("weights file version {0}, expected {VERSION}")]
    Version(u16),
    #[error("weights file: {0}")]
    Config(&'static str),
}

/// Which n-grams make the features, and how many buckets they hash into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureConfig {
    /// Buckets: `1 << hash_bits`.
    pub hash_bits: u8,
    /// Character n-grams of these lengths (bytes, after normalisation); at most 8.
    pub char_min: u8,
    pub char_max: u8,
    /// Word n-grams up to this length: 0 (none), 1 (words) or 2 (words and word pairs).
    pub word_max: u8,
    /// Whitespace runs read as one space. Off, a run of spaces is that many spaces: cheaper (no
    /// compaction) and, with 8-grams, as accurate (docs/injection.md).
    pub collapse_whitespace: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        // Character 8-grams alone, whitespace as it is, generalise to held-out attack
        // categories at least as well as the 4-grams, words and word pairs of the first model
        // (docs/injection.md) at a third of its cost: one hash per byte and no second pass.
        Self {
            hash_bits: SHIPPED_HASH_BITS as u8,
            char_min: 8,
            char_max: 8,
            word_max: 0,
            collapse_whitespace: false,
        }
    }
}

/// The shipped model's buckets: 2^14 one-byte weights (16 KB) stay in the L1 cache, which
/// scores prose a quarter faster than 2^16 at the same validation figures (docs/injection.md).
const SHIPPED_HASH_BITS: u32 = 14;

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const WORD_SALT: u64 = 0x5741_5244_454e_0001;
const PAIR_SALT: u64 = 0x5741_5244_454e_0002;

impl FeatureConfig {
    fn validate(&self) -> Result<(), ModelError> {
        if !(8..=24).contains(&self.hash_bits) {
            return Err(ModelError::Config("hash bits outside 8..=24"));
        }
        if self.char_min == 0 || self.char_min > self.char_max || self.char_max > 8 {
            return Err(ModelError::Config("char n-gram lengths outside 1..=8"));
        }
        if self.word_max > 2 {
            return Err(ModelError::Config("word n-grams must be 0, 1 or 2"));
        }
        Ok(())
    }

    pub fn buckets(&self) -> usize {
        1 << self.hash_bits
    }

    #[inline(always)]
    fn bucket(&self, key: u64) -> u32 {
        // Multiplicative hashing: the top bits of the product depend on every bit of the key.
        ((key ^ (key >> 31)).wrapping_mul(MIX) >> (64 - u32::from(self.hash_bits))) as u32
    }

    /// Feeds every feature of `text` to `sink`, segment by segment.
    #[inline(always)]
    pub fn walk(&self, text: &[u8], sink: &mut impl Sink) {
        let mut walk = Walk::new(self);
        // Whitespace bytes since the last kept byte, read only once the segment has started.
        let mut spaces = 0usize;
        let mut segment_bytes = 0usize;
        let mut prev = 0u8;
        for &raw in text {
            if raw.is_ascii_whitespace() {
                let cut = raw == b'\n'
                    || (segment_bytes >= SENTENCE_SPLIT_BYTES
                        && matches!(prev, b'.' | b'!' | b'?'))
                    || segment_bytes >= MAX_SEGMENT_BYTES;
                if cut && segment_bytes > 0 {
                    walk.end_word(sink);
                    sink.end_segment();
                    walk = Walk::new(self);
                    segment_bytes = 0;
                    spaces = 0;
                } else if segment_bytes > 0 {
                    spaces += 1;
                }
                prev = raw;
                continue;
            }
            if spaces > 0 {
                let n = if self.collapse_whitespace { 1 } else { spaces };
                for _ in 0..n {
                    walk.push(b' ', sink);
                }
                spaces = 0;
            }
            walk.push(normalise(raw), sink);
            segment_bytes += 1;
            prev = raw;
        }
        if segment_bytes > 0 {
            walk.end_word(sink);
            sink.end_segment();
        }
    }
}

/// Receives a walk's features.
pub trait Sink {
    fn feature(&mut self, bucket: u32);
    /// The features since the last call form one segment.
    fn end_segment(&mut self);
}

/// The state of one feature walk over a text.
struct Walk<'c> {
    config: &'c FeatureConfig,
    /// The last normalised bytes, newest in the low byte.
    window: u64,
    /// How many bytes the window holds (capped at 8).
    seen: u32,
    /// FNV-1a of the current word so far, and its length.
    word: u64,
    word_len: u32,
    prev_word: Option<u64>,
}

impl<'c> Walk<'c> {
    fn new(config: &'c FeatureConfig) -> Self {
        Self {
            config,
            window: 0,
            seen: 0,
            word: FNV_OFFSET,
            word_len: 0,
            prev_word: None,
        }
    }

    #[inline(always)]
    fn push(&mut self, b: u8, sink: &mut impl Sink) {
        self.window = (self.window << 8) | u64::from(b);
        self.seen = (self.seen + 1).min(8);
        let (lo, hi) = (self.config.char_min, self.config.char_max);
        if lo == hi {
            // One n-gram length (the shipped model): no loop, no variable mask per byte.
            if self.seen >= u32::from(lo) {
                sink.feature(self.config.bucket(gram_key(self.window, lo)));
            }
        } else {
            for n in lo..=hi.min(self.seen as u8) {
                sink.feature(self.config.bucket(gram_key(self.window, n)));
            }
        }
        if self.config.word_max == 0 {
            return;
        }
        if b.is_ascii_alphanumeric() || b >= 0x80 {
            self.word = (self.word ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            self.word_len += 1;
        } else {
            self.end_word(sink);
        }
    }

    #[inline(always)]
    fn end_word(&mut self, sink: &mut impl Sink) {
        if self.word_len == 0 {
            return;
        }
        sink.feature(self.config.bucket(self.word ^ WORD_SALT));
        if self.config.word_max >= 2
            && let Some(prev) = self.prev_word
        {
            sink.feature(
                self.config
                    .bucket(prev.rotate_left(23) ^ self.word ^ PAIR_SALT),
            );
        }
        self.prev_word = Some(self.word);
        self.word = FNV_OFFSET;
        self.word_len = 0;
    }
}

/// ASCII whitespace, as `u8::is_ascii_whitespace` has it, in comparisons a loop vectorises.
#[inline(always)]
fn is_space(b: u8) -> bool {
    (b == b' ') | (b == b'\t') | (b == b'\n') | (b == 0x0c) | (b == b'\r')
}

/// The hash key of the last `n` bytes of `window`: the bytes, tagged with `n` below 8 (an
/// 8-gram fills the key; it could only equal a shorter gram's key by holding NUL bytes).
#[inline(always)]
fn gram_key(window: u64, n: u8) -> u64 {
    if n >= 8 {
        return window;
    }
    (window & (u64::MAX >> (64 - 8 * u32::from(n)))) | (u64::from(n) << 56)
}

#[inline]
const fn normalise(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' => b + 32,
        b'1'..=b'9' => b'0',
        _ => b,
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The model: a bias and one i8 weight per bucket (times `scale`), and the probability at or
/// above which a text counts as injected.
pub struct Model {
    config: FeatureConfig,
    bias: f32,
    threshold: f32,
    scale: f32,
    /// i8 weights stored as bytes, borrowed from the binary for the shipped model.
    weights: Cow<'static, [u8]>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .field("bias", &self.bias)
            .field("threshold", &self.threshold)
            .field("scale", &self.scale)
            .finish_non_exhaustive()
    }
}

fn le_f32(b: &[u8], at: usize) -> f32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    f32::from_le_bytes(a)
}

impl Model {
    /// Parses a weights file (header, then `1 << hash_bits` i8 weights). Borrows the weights.
    pub fn from_bytes(bytes: Cow<'static, [u8]>) -> Result<Self, ModelError> {
        if bytes.len() < HEADER_BYTES || bytes[..4] != MAGIC {
            return Err(ModelError::Header);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != VERSION {
            return Err(ModelError::Version(version));
        }
        if bytes[10] & !FLAG_KEEP_WHITESPACE_RUNS != 0 || bytes[11] != 0 {
            return Err(ModelError::Config("unknown flags"));
        }
        let config = FeatureConfig {
            hash_bits: bytes[6],
            char_min: bytes[7],
            char_max: bytes[8],
            word_max: bytes[9],
            collapse_whitespace: bytes[10] & FLAG_KEEP_WHITESPACE_RUNS == 0,
        };
        config.validate()?;
        let (bias, threshold, scale) = (le_f32(&bytes, 12), le_f32(&bytes, 16), le_f32(&bytes, 20));
        let count = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]) as usize;
        if count != config.buckets() || bytes.len() != HEADER_BYTES + count {
            return Err(ModelError::Config("weight count does not match hash bits"));
        }
        if !(bias.is_finite() && scale.is_finite() && threshold > 0.0 && threshold < 1.0) {
            return Err(ModelError::Config("bias, scale or threshold out of range"));
        }
        let weights = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[HEADER_BYTES..]),
            Cow::Owned(mut v) => {
                v.drain(..HEADER_BYTES);
                Cow::Owned(v)
            }
        };
        Ok(Self {
            config,
            bias,
            threshold,
            scale,
            weights,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.weights.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let c = self.config;
        let flags = if c.collapse_whitespace {
            0
        } else {
            FLAG_KEEP_WHITESPACE_RUNS
        };
        out.extend_from_slice(&[c.hash_bits, c.char_min, c.char_max, c.word_max, flags, 0]);
        out.extend_from_slice(&self.bias.to_le_bytes());
        out.extend_from_slice(&self.threshold.to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
        out.extend_from_slice(&(self.weights.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.weights);
        out
    }

    pub fn config(&self) -> FeatureConfig {
        self.config
    }

    /// The probability at or above which the model calls a text injected (chosen on the
    /// validation split for a false-positive rate of at most 2 %).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// The log-odds that `text` carries an injected instruction: its best segment's.
    ///
    /// The same features as [`FeatureConfig::walk`], computed in a different order for speed
    /// when the model has the shipped shape (8-grams, whitespace kept): the whole text is
    /// normalised into a buffer of the same length in one loop the compiler vectorises, the
    /// segment boundaries are found with `memchr`, and each segment's 8-grams are one
    /// unaligned read, one multiply-shift hash and one weight load per byte, with no branch.
    /// [`Model::logit_by_walk`] is the reference a property test holds it to, bit for bit.
    pub fn logit(&self, text: &str) -> f64 {
        // The fast path is written for the shipped feature shape; any other shape walks.
        let table = match <&[u8; 1 << SHIPPED_HASH_BITS]>::try_from(&*self.weights) {
            Ok(table) if self.config == FeatureConfig::default() => table,
            _ => return self.logit_by_walk(text),
        };
        let bytes = text.as_bytes();
        let folded: Vec<u8> = bytes.iter().map(|&b| fold(b)).collect();
        let mut best: Option<f64> = None;
        for_each_segment(bytes, |start, end| {
            let Some(grams) = folded.get(start..end).filter(|s| s.len() >= 8) else {
                return;
            };
            let count = grams.len() - 7;
            let mut sum = 0i32;
            for at in 0..count {
                // One unaligned load; the walk's window holds the newest byte lowest.
                let bytes: [u8; 8] = grams[at..at + 8].try_into().expect("8 bytes");
                let key = u64::from_be_bytes(bytes);
                let bucket = (key ^ (key >> 31)).wrapping_mul(MIX) >> (64 - SHIPPED_HASH_BITS);
                sum += i32::from(table[bucket as usize] as i8);
            }
            let count = count as u32;
            let z = f64::from(self.bias)
                + f64::from(self.scale) * f64::from(sum) / f64::from(count).sqrt();
            best = Some(best.map_or(z, |b| b.max(z)));
        });
        best.unwrap_or(f64::from(self.bias))
    }

    /// [`Model::logit`] by the feature walk the trainer uses: the reference for the fast path.
    #[doc(hidden)]
    pub fn logit_by_walk(&self, text: &str) -> f64 {
        let mut best = BestSegment {
            weights: &self.weights,
            sum: 0,
            count: 0,
            best: None,
            bias: f64::from(self.bias),
            scale: f64::from(self.scale),
        };
        self.config.walk(text.as_bytes(), &mut best);
        best.best.unwrap_or(f64::from(self.bias))
    }

    pub fn probability(&self, text: &str) -> f64 {
        sigmoid(self.logit(text))
    }
}

/// A byte as the shipped features see it: [`normalise`]d, and whitespace a space (range
/// comparisons only, so a loop of it vectorises).
#[inline(always)]
fn fold(b: u8) -> u8 {
    if is_space(b) { b' ' } else { normalise(b) }
}

/// How many whitespace bytes `bytes` holds (a loop the compiler vectorises). Counted in u16
/// lanes, eight to a register rather than two usize ones, a block at a time so none overflows.
#[inline]
fn whitespace_in(bytes: &[u8]) -> usize {
    bytes
        .chunks(usize::from(u16::MAX))
        .map(|block| usize::from(block.iter().map(|&b| u16::from(is_space(b))).sum::<u16>()))
        .sum()
}

/// The index in `bytes` (from `start`) at which `n` non-whitespace bytes have been passed, or
/// `None` if the slice holds fewer: counted a block at a time, each block as long as what is
/// still missing.
#[inline]
fn after_non_whitespace(bytes: &[u8], start: usize, n: usize) -> Option<usize> {
    let (mut at, mut missing) = (start, n);
    while missing > 0 {
        let end = at.checked_add(missing).filter(|&e| e <= bytes.len())?;
        let ws = whitespace_in(&bytes[at..end]);
        (at, missing) = (end, ws);
    }
    Some(at)
}

/// Calls `f(start, end)` for each segment of `text` as [`FeatureConfig::walk`] cuts it: the
/// bytes from its first to its last non-whitespace byte. A cut is a whitespace byte that is a
/// line end, or follows `.`, `!` or `?` once the segment holds [`SENTENCE_SPLIT_BYTES`]
/// non-whitespace bytes, or comes once it holds [`MAX_SEGMENT_BYTES`]. Lines are found with
/// `memchr`; only a line longer than the sentence limit is looked into.
fn for_each_segment(text: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut pos = 0;
    while let Some(skip) = text[pos..].iter().position(|&b| !is_space(b)) {
        let start = pos + skip;
        let line_end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
        let mut cut = line_end;
        // A cut before the line end needs SENTENCE_SPLIT_BYTES non-whitespace bytes before it.
        if line_end - start > SENTENCE_SPLIT_BYTES
            && let Some(from) = after_non_whitespace(&text[..line_end], start, SENTENCE_SPLIT_BYTES)
        {
            // The first whitespace after a sentence end at or past `from`.
            let sentence = memchr::memchr3_iter(b'.', b'!', b'?', &text[from - 1..line_end])
                .map(|i| from + i)
                .find(|&q| q < line_end && is_space(text[q]));
            if let Some(q) = sentence {
                cut = q;
            }
            if cut - start > MAX_SEGMENT_BYTES
                && let Some(from) = after_non_whitespace(&text[..cut], start, MAX_SEGMENT_BYTES)
                && let Some(i) = text[from..cut].iter().position(|&b| is_space(b))
            {
                cut = from + i;
            }
        }
        let end = text[start..cut]
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(start, |i| start + i + 1);
        f(start, end);
        pos = (cut + 1).min(text.len());
    }
}

/// Sums each segment's weights and keeps the best segment's log-odds.
struct BestSegment<'w> {
    weights: &'w [u8],
    sum: i32,
    count: u32,
    best: Option<f64>,
    bias: f64,
    scale: f64,
}

impl Sink for BestSegment<'_> {
    #[inline(always)]
    fn feature(&mut self, bucket: u32) {
        // i8 weights stored as bytes; `from_bytes` checked that there is one per bucket, and a
        // bucket has `hash_bits` bits. A segment is at most a few thousand features, far from
        // overflowing an i32 of i8s.
        self.sum += i32::from(self.weights[bucket as usize] as i8);
        self.count += 1;
    }

    fn end_segment(&mut self) {
        if self.count > 0 {
            let z = self.bias + self.scale * self.sum as f64 / f64::from(self.count).sqrt();
            self.best = Some(self.best.map_or(z, |b| b.max(z)));
        }
        (self.sum, self.count) = (0, 0);
    }
}

/// Deterministic 80/20 split by a hash of the text: the same text always lands on the same side,
/// whatever the file's order, so duplicates never leak across.
pub fn is_validation(text: &str) -> bool {
    let mut h = FNV_OFFSET;
    for &b in text.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    (h.wrapping_mul(MIX) >> 32) % 5 == 0
}

/// How the model is trained.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub features: FeatureConfig,
    pub epochs: u32,
    pub learning_rate: f64,
    /// L2 penalty per example.
    pub l2: f64,
    /// Seed of the example order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            features: FeatureConfig::default(),
            epochs: 30,
            learning_rate: 0.2,
            l2: 1e-4,
            seed: 0x5EED,
        }
    }
}

/// A segment's features: (bucket, count / sqrt(total)) sorted by bucket.
type SparseVec = Vec<(u32, f64)>;

/// Collects each segment's features as a sparse vector.
#[derive(Default)]
struct Segments {
    buckets: Vec<u32>,
    done: Vec<SparseVec>,
}

impl Sink for Segments {
    fn feature(&mut self, bucket: u32) {
        self.buckets.push(bucket);
    }

    fn end_segment(&mut self) {
        if self.buckets.is_empty() {
            return;
        }
        self.buckets.sort_unstable();
        let norm = (self.buckets.len() as f64).sqrt();
        let mut out: SparseVec = Vec::new();
        for &b in &self.buckets {
            match out.last_mut() {
                Some((last, n)) if *last == b => *n += 1.0,
                _ => out.push((b, 1.0)),
            }
        }
        for (_, v) in &mut out {
            *v /= norm;
        }
        self.done.push(out);
        self.buckets.clear();
    }
}

fn segments(config: &FeatureConfig, text: &str) -> Vec<SparseVec> {
    let mut s = Segments::default();
    config.walk(text.as_bytes(), &mut s);
    s.done
}

/// splitmix64: a small PRNG whose sequence is fixed by its seed, so training is reproducible
/// across platforms and crate versions.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(MIX);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The weights while training: w = scale × v, so that the L2 shrink of every weight is one
/// multiplication (Bottou's trick), not a pass over all buckets.
struct Learner {
    v: Vec<f64>,
    scale: f64,
    bias: f64,
    step: u64,
    cfg: TrainConfig,
}

impl Learner {
    fn logit(&self, x: &[(u32, f64)]) -> f64 {
        self.bias
            + self.scale
                * x.iter()
                    .map(|&(j, xj)| self.v[j as usize] * xj)
                    .sum::<f64>()
    }

    /// One SGD step on the weighted logistic loss of (x, y).
    fn step(&mut self, x: &[(u32, f64)], y: f64, weight: f64) {
        let cfg = &self.cfg;
        let eta = cfg.learning_rate / (1.0 + cfg.learning_rate * cfg.l2 * self.step as f64);
        self.step += 1;
        let g = (sigmoid(self.logit(x)) - y) * weight;
        self.scale *= 1.0 - eta * cfg.l2;
        for &(j, xj) in x {
            self.v[j as usize] -= eta * g * xj / self.scale;
        }
        self.bias -= eta * g;
        if self.scale < 1e-6 {
            let scale = self.scale;
            self.v.iter_mut().for_each(|w| *w *= scale);
            self.scale = 1.0;
        }
    }
}

/// Epochs at the start in which every segment of an injected text counts as a (fractional)
/// positive, before the model knows enough to pick the injected segment itself.
const WARMUP_EPOCHS: u32 = 2;

/// Trains by SGD on the logistic loss with L2, multiple-instance style (see the module doc),
/// classes weighted to balance, then quantises the weights to i8. Deterministic: the order of
/// examples comes from `seed`. The threshold is left at 0.5; choose it on held-out data with
/// [`Model::with_threshold`].
pub fn train(examples: &[(&str, bool)], cfg: &TrainConfig) -> Model {
    let features = cfg.features;
    let data: Vec<(Vec<SparseVec>, bool)> = examples
        .iter()
        .map(|(t, y)| (segments(&features, t), *y))
        .filter(|(s, _)| !s.is_empty())
        .collect();
    // Balance the classes: all segments of clean texts against one segment per injected text.
    let positives = data.iter().filter(|(_, y)| *y).count().max(1) as f64;
    let negatives = data
        .iter()
        .filter(|(_, y)| !*y)
        .map(|(s, _)| s.len())
        .sum::<usize>()
        .max(1) as f64;
    let total = positives + negatives;
    let (w_pos, w_neg) = (total / (2.0 * positives), total / (2.0 * negatives));

    let mut learner = Learner {
        v: vec![0f64; features.buckets()],
        scale: 1.0,
        bias: 0.0,
        step: 0,
        cfg: *cfg,
    };
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = cfg.seed;
    for epoch in 0..cfg.epochs {
        for i in (1..order.len()).rev() {
            let j = (splitmix(&mut rng) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &i in &order {
            let (segs, injected) = &data[i];
            if !*injected {
                for x in segs {
                    learner.step(x, 0.0, w_neg);
                }
            } else if epoch < WARMUP_EPOCHS {
                let share = w_pos / segs.len() as f64;
                for x in segs {
                    learner.step(x, 1.0, share);
                }
            } else {
                let mut best = (f64::NEG_INFINITY, 0);
                for (k, x) in segs.iter().enumerate() {
                    let z = learner.logit(x);
                    if z > best.0 {
                        best = (z, k);
                    }
                }
                learner.step(&segs[best.1], 1.0, w_pos);
            }
        }
    }
    let w: Vec<f64> = learner.v.iter().map(|x| x * learner.scale).collect();
    let max = w.iter().fold(0f64, |m, x| m.max(x.abs()));
    let q = if max > 0.0 { max / 127.0 } else { 1.0 };
    let weights: Vec<u8> = w
        .iter()
        .map(|x| ((x / q).round().clamp(-127.0, 127.0) as i8) as u8)
        .collect();
    Model {
        config: features,
        bias: learner.bias as f32,
        threshold: 0.5,
        scale: q as f32,
        weights: Cow::Owned(weights),
    }
}

/// An operating point on a score/label list: the lowest threshold whose false-positive rate is at
/// most `max_fpr` (so the best true-positive rate under that limit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingPoint {
    /// Scores at or above this are flagged.
    pub threshold: f64,
    /// The next lower score (or the threshold itself if none): a threshold anywhere in
    /// (`below`, `threshold`] gives the same counts on this data.
    pub below: f64,
    pub tpr: f64,
    pub fpr: f64,
}

/// See [`OperatingPoint`]. `None` when even the highest score has too many false positives.
pub fn operating_point(scores: &[(f64, bool)], max_fpr: f64) -> Option<OperatingPoint> {
    let mut sorted: Vec<(f64, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = sorted.iter().filter(|s| s.1).count().max(1) as f64;
    let negatives = sorted.iter().filter(|s| !s.1).count().max(1) as f64;
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best = None;
    let mut i = 0;
    while i < sorted.len() {
        let score = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == score {
            if sorted[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let fpr = fp as f64 / negatives;
        if fpr > max_fpr {
            break;
        }
        best = Some(OperatingPoint {
            threshold: score,
            below: sorted.get(i).map_or(score, |s| s.0),
            tpr: tp as f64 / positives,
            fpr,
        });
    }
    best
}
