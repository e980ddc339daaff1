//! The built-in personal-data patterns (cards, IBANs, SSNs, IPv4 addresses, phone numbers),
//! matched by hand where the scanner tries them: at a run of digits that starts a word.
//!
//! Text dense with numbers makes the scanner try these at every such run. An anchored search of
//! the patterns' combined regex cost about 75 ns there, plus the regex's call overhead; checking
//! the shape by hand costs a few. Each function returns exactly the end that its rule's regex (in
//! [`super::pii_rule`]) finds when anchored at the same start, on ASCII text: the regexes' `\d`
//! also takes other scripts' digits, which the validators do not count, so such a match never
//! passed its validator whole. A property test per shape holds the two equal. Phone numbers that
//! start with `+` keep the regex: its nested optional groups are not worth restating.

use regex_automata::{Anchored, Input, meta::Regex};

use super::{NUMERIC_MAX_LEN, Validator, validate};

/// How one built-in personal-data rule is matched at a start.
pub(super) enum Shape {
    Card,
    Iban,
    Ssn,
    Ipv4,
    /// `(415) 555-0132` and `415-555-0132` by hand; the international form by `plus`.
    Phone {
        plus: Box<Regex>,
    },
}

impl Shape {
    /// The shape of a built-in rule, by its validator; `regex` is the rule's pattern.
    pub(super) fn of(validator: &Validator, regex: &str) -> Option<Result<Self, String>> {
        Some(Ok(match validator {
            Validator::CreditCard { .. } => Self::Card,
            Validator::Iban => Self::Iban,
            Validator::Ssn => Self::Ssn,
            Validator::Ipv4 => Self::Ipv4,
            Validator::Phone => match Regex::new(regex) {
                Ok(plus) => Self::Phone {
                    plus: Box::new(plus),
                },
                Err(e) => return Some(Err(e.to_string())),
            },
            Validator::None | Validator::NotIn(_) => return None,
        }))
    }

    /// Whether a match can start with `c`: scanning tries every rule at every start, and this
    /// turns most of them away without a call.
    #[inline]
    pub(super) fn may_start_with(&self, c: u8) -> bool {
        match self {
            Self::Card => matches!(c, b'2'..=b'6'),
            Self::Iban => c.is_ascii_uppercase(),
            Self::Ssn | Self::Ipv4 => c.is_ascii_digit(),
            Self::Phone { .. } => c.is_ascii_digit() || c == b'(' || c == b'+',
        }
    }

    /// The end of this rule's match starting at `start` in `text`, if there is one.
    pub(super) fn match_at(&self, text: &str, start: usize) -> Option<usize> {
        let b = text.as_bytes();
        match self {
            Self::Card => card(b, start),
            Self::Iban => starts_word(b, start).then(|| iban(b, start)).flatten(),
            Self::Ssn => ssn(b, start),
            Self::Ipv4 => ipv4(b, start),
            Self::Phone { plus } if b.get(start) == Some(&b'+') => {
                let end = super::ceil_char_boundary(text, (start + NUMERIC_MAX_LEN).min(b.len()));
                let input = Input::new(text).span(start..end).anchored(Anchored::Yes);
                plus.search(&input).map(|m| m.end())
            }
            Self::Phone { .. } => phone(b, start),
        }
    }
}

fn word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `\b` at `at`, where the byte at `at` is a word byte: nothing of a word before it.
fn starts_word(b: &[u8], at: usize) -> bool {
    at == 0 || !word(b[at - 1])
}

/// `\b` at `at`, where the byte before `at` is a word byte: nothing of a word after it.
fn ends_word(b: &[u8], at: usize) -> bool {
    b.get(at).is_none_or(|&c| !word(c))
}

/// The length of the run of ASCII digits at `at`.
fn digits(b: &[u8], at: usize) -> usize {
    b.get(at..)
        .map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// `\d{n}` at `at`.
fn exactly(b: &[u8], at: usize, n: usize) -> bool {
    b.get(at..at + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

/// `[set]?` at `at`, greedy: how many bytes it takes. Every optional separator in these
/// patterns is followed by a digit, so taking it when it is there is the only way on.
fn optional(b: &[u8], at: usize, set: &[u8]) -> usize {
    usize::from(b.get(at).is_some_and(|c| set.contains(c)))
}

/// `\b[2-6]\d{3}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}\b|\b3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5}\b`
fn card(b: &[u8], s: usize) -> Option<usize> {
    if !starts_word(b, s) {
        return None;
    }
    card_groups_of_four(b, s).or_else(|| card_amex(b, s))
}

fn card_groups_of_four(b: &[u8], s: usize) -> Option<usize> {
    if !matches!(b.get(s), Some(b'2'..=b'6')) || !exactly(b, s + 1, 3) {
        return None;
    }
    let mut i = s + 4;
    for _ in 0..2 {
        i += optional(b, i, b" -");
        if !exactly(b, i, 4) {
            return None;
        }
        i += 4;
    }
    i += optional(b, i, b" -");
    // `\d{1,7}\b`: fewer digits than the run would leave a digit next, which is no boundary.
    let run = digits(b, i);
    ((1..=7).contains(&run) && ends_word(b, i + run)).then_some(i + run)
}

fn card_amex(b: &[u8], s: usize) -> Option<usize> {
    if b.get(s) != Some(&b'3')
        || !matches!(b.get(s + 1), Some(b'4' | b'7'))
        || !exactly(b, s + 2, 2)
    {
        return None;
    }
    let mut i = s + 4;
    for n in [6, 5] {
        i += optional(b, i, b" -");
        if !exactly(b, i, n) {
            return None;
        }
        i += n;
    }
    ends_word(b, i).then_some(i)
}

/// `\b\d{3}-\d{2}-\d{4}\b`
fn ssn(b: &[u8], s: usize) -> Option<usize> {
    let shaped = starts_word(b, s)
        && exactly(b, s, 3)
        && b.get(s + 3) == Some(&b'-')
        && exactly(b, s + 4, 2)
        && b.get(s + 6) == Some(&b'-')
        && exactly(b, s + 7, 4)
        && ends_word(b, s + 11);
    shaped.then_some(s + 11)
}

/// `\b(?:\d{1,3}\.){3}\d{1,3}\b`
fn ipv4(b: &[u8], s: usize) -> Option<usize> {
    if !starts_word(b, s) {
        return None;
    }
    let mut i = s;
    for _ in 0..3 {
        let run = digits(b, i);
        if !(1..=3).contains(&run) || b.get(i + run) != Some(&b'.') {
            return None;
        }
        i += run + 1;
    }
    let run = digits(b, i);
    ((1..=3).contains(&run) && ends_word(b, i + run)).then_some(i + run)
}

/// The phone pattern's second alternative: `(?:\(\d{3}\) ?|\b\d{3}[.\-])\d{3}[.\-]\d{4}\b`.
fn phone(b: &[u8], s: usize) -> Option<usize> {
    let i = if b.get(s) == Some(&b'(') {
        if !exactly(b, s + 1, 3) || b.get(s + 4) != Some(&b')') {
            return None;
        }
        s + 5 + optional(b, s + 5, b" ")
    } else {
        if !starts_word(b, s) || !exactly(b, s, 3) || optional(b, s + 3, b".-") == 0 {
            return None;
        }
        s + 4
    };
    let shaped = exactly(b, i, 3)
        && optional(b, i + 3, b".-") == 1
        && exactly(b, i + 4, 4)
        && ends_word(b, i + 8);
    shaped.then_some(i + 8)
}

/// The IBAN pattern, `(?-u:\b)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)`,
/// taken exactly as long as the country's IBAN (a single space allowed before each group of
/// four), which is the only span of that pattern the IBAN validator accepts: unlike the other
/// shapes, this one is held to the regex *with* its validator. The word boundary before `start`
/// is the caller's.
pub(super) fn iban(b: &[u8], start: usize) -> Option<usize> {
    let expected = validate::iban_length(b.get(start..start + 2)?)?;
    if !b.get(start + 2..start + 4)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (mut i, mut n) = (start + 4, 4);
    while n < expected {
        if n % 4 == 0 && b.get(i) == Some(&b' ') {
            i += 1;
        }
        let c = *b.get(i)?;
        if !(c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return None;
        }
        i += 1;
        n += 1;
    }
    ends_word(b, i).then_some(i)
}
