//! The built-in personal-data patterns (cards, IBANs, SSNs, IP addresses, phone numbers),
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
    /// A phone number written the national way ([`national_phone`]), checked against
    /// libphonenumber's metadata by its validator. A second shape of the phone rule, tried after
    /// every other rule.
    NationalPhone,
    /// An SSN written `123 45 6789` or `123456789`, only after words that say SSN
    /// ([`ssn_in_context`]). A second shape of the SSN rule.
    SsnInContext,
}

/// A regex that matches at least wherever [`national_phone`] does: what a stream holds back
/// while such a number may be arriving.
pub(super) const NATIONAL_PHONE_HOLD: &str =
    r"(?:\(\d{2,5}\)[ \-]?|\d{2,5}[ \-./])\d{2,5}(?:[ \-./]\d{2,5}){0,4}";

/// The same for [`ssn_in_context`].
pub(super) const SSN_IN_CONTEXT_HOLD: &str = r"\d{3} ?\d{2} ?\d{4}";

/// The same for [`ipv6`].
pub(super) const IPV6_HOLD: &str = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}";

impl Shape {
    /// The shape of a built-in rule, by its validator; `regex` is the rule's pattern.
    pub(super) fn of(validator: &Validator, regex: &str) -> Option<Result<Self, String>> {
        Some(Ok(match validator {
            Validator::CreditCard { .. } => Self::Card,
            Validator::Iban => Self::Iban,
            Validator::Ssn => Self::Ssn,
            Validator::Ipv4 => Self::Ipv4,
            Validator::Phone(_) => match Regex::new(regex) {
                Ok(plus) => Self::Phone {
                    plus: Box::new(plus),
                },
                Err(e) => return Some(Err(e.to_string())),
            },
            Validator::None
            | Validator::NotIn(_)
            | Validator::Secret(_)
            | Validator::NationalPhone(_)
            | Validator::Ipv6 => return None,
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
            Self::NationalPhone => c.is_ascii_digit() || c == b'(',
            Self::SsnInContext => c.is_ascii_digit(),
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
            Self::NationalPhone => national_phone(b, start),
            Self::SsnInContext => ssn_in_context(b, start),
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

/// `\b[2-6]\d{3}(?:[ \-]\d{4}){3}[ \-]\d{3}\b|\b[2-6]\d{3}(?:[ \-]?\d{4}){2}[ \-]?\d{1,7}\b|
/// \b3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5}\b|\b3[0689]\d{2}[ \-]?\d{6}[ \-]?\d{4}\b`: 19 digits grouped
/// 4-4-4-4-3 (Maestro, some Visa), groups of four, Amex's 4-6-5, Diners Club's 4-6-4.
fn card(b: &[u8], s: usize) -> Option<usize> {
    if !starts_word(b, s) {
        return None;
    }
    card_nineteen(b, s)
        .or_else(|| card_groups_of_four(b, s))
        .or_else(|| card_amex(b, s))
        .or_else(|| card_diners(b, s))
}

fn card_nineteen(b: &[u8], s: usize) -> Option<usize> {
    if !matches!(b.get(s), Some(b'2'..=b'6')) || !exactly(b, s + 1, 3) {
        return None;
    }
    let mut i = s + 4;
    for n in [4, 4, 4, 3] {
        if optional(b, i, b" -") == 0 || !exactly(b, i + 1, n) {
            return None;
        }
        i += 1 + n;
    }
    ends_word(b, i).then_some(i)
}

fn card_diners(b: &[u8], s: usize) -> Option<usize> {
    if b.get(s) != Some(&b'3')
        || !matches!(b.get(s + 1), Some(b'0' | b'6' | b'8' | b'9'))
        || !exactly(b, s + 2, 2)
    {
        return None;
    }
    let mut i = s + 4;
    for n in [6, 4] {
        i += optional(b, i, b" -");
        if !exactly(b, i, n) {
            return None;
        }
        i += n;
    }
    ends_word(b, i).then_some(i)
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

/// Words before a bare or spaced nine-digit number that say it is an SSN.
const SSN_WORDS: &[&[u8]] = &[
    b"ssn",
    b"social security",
    b"ss#",
    b"ss #",
    b"soc. sec",
    b"ssa",
];

/// `\b\d{3} \d{2} \d{4}\b` or `\b\d{9}\b`, with one of [`SSN_WORDS`] in the 48 bytes before:
/// without it a nine-digit number is as likely a ZIP+4, a product code or an account number.
fn ssn_in_context(b: &[u8], s: usize) -> Option<usize> {
    if !starts_word(b, s) {
        return None;
    }
    let end = if exactly(b, s, 9) {
        s + 9
    } else if exactly(b, s, 3)
        && b.get(s + 3) == Some(&b' ')
        && exactly(b, s + 4, 2)
        && b.get(s + 6) == Some(&b' ')
        && exactly(b, s + 7, 4)
    {
        s + 11
    } else {
        return None;
    };
    if !ends_word(b, end) {
        return None;
    }
    let before = b[s.saturating_sub(48)..s].to_ascii_lowercase();
    SSN_WORDS
        .iter()
        .any(|w| before.windows(w.len()).any(|x| x == *w))
        .then_some(end)
}

/// Words before a run of digits that say it is a phone number.
const PHONE_WORDS: &[&[u8]] = &[
    b"tel",
    b"phone",
    b"call",
    b"mobile",
    b"cell",
    b"fax",
    b"whatsapp",
    b"fon",
    b"handy",
    b"mobil",
    b"portable",
    b"cellulare",
    b"celular",
    b"movil",
    b"m\xc3\xb3vil",
    b"\xe9\x9b\xbb\xe8\xa9\xb1",
    b"\xe6\x90\xba\xe5\xb8\xaf",
    b"gsm",
    b"ph.",
    b"ph:",
    b"mob",
];

/// One of [`PHONE_WORDS`] in the 32 bytes before `s`.
fn phone_context(b: &[u8], s: usize) -> bool {
    let before = b[s.saturating_sub(32)..s].to_ascii_lowercase();
    PHONE_WORDS
        .iter()
        .any(|w| before.windows(w.len()).any(|x| x == *w))
}

/// A phone number written the national way: an optional area code in parentheses, then groups
/// of digits separated by one of ` -./` (`030 12345678`, `(11) 91234-5678`, `06.12.34.56.78`,
/// `03-1234-5678`, `98765 43210`, `0157-51817970`), 9 to 12 digits in all (up to 15 after a `00`
/// international prefix), groups of 2 to 8 digits. Two groups need 10 digits or more (a ZIP+4
/// or a year and a count is 9). Unseparated, 9 to 11 digits that start with a trunk `0`, or
/// any after a word that says phone. Not part of a longer chain of digit groups (an ISBN, a
/// version, an IP address), not a date (`2024 05 06 …`, `04.04.2024 18`), not thousands
/// (`12.345.678`) and not a dotted quad. Whether the digits are a number some region assigns
/// is the validator's question.
pub(super) fn national_phone(b: &[u8], s: usize) -> Option<usize> {
    const SEP: &[u8] = b" -./";
    // Inside a longer chain: `1.2.34 5678…` is not tried from its second group.
    if s >= 2 && SEP.contains(&b[s - 1]) && b[s - 2].is_ascii_digit() {
        return None;
    }
    let mut lens: [usize; 8] = [0; 8];
    let mut n = 0;
    let mut i = s;
    let mut seps: u8 = 0;
    if b.get(s) == Some(&b'(') {
        let run = digits(b, s + 1);
        if !(2..=5).contains(&run) || b.get(s + 1 + run) != Some(&b')') {
            return None;
        }
        lens[0] = run;
        n = 1;
        i = s + 2 + run;
        i += optional(b, i, b" -");
    } else if !starts_word(b, s) {
        return None;
    }
    loop {
        let run = digits(b, i);
        let longest = if n == 0 { 12 } else { 8 };
        if !(2..=longest).contains(&run) || n == lens.len() {
            return None;
        }
        lens[n] = run;
        n += 1;
        i += run;
        match b.get(i) {
            Some(&c) if SEP.contains(&c) && digits(b, i + 1) >= 2 => {
                seps |= 1 << SEP.iter().position(|&x| x == c).unwrap_or(0);
                i += 1;
            }
            _ => break,
        }
    }
    let total: usize = lens[..n].iter().sum();
    // The chain goes on with a short group (`978-3-16-…`, `10.0.19041.1`) or the number is
    // part of a word.
    let chain_goes_on = b.get(i).is_some_and(|c| SEP.contains(c)) && digits(b, i + 1) > 0;
    if chain_goes_on || !ends_word(b, i) {
        return None;
    }
    let international = b[s..].starts_with(b"00");
    let allowed = if international { 11..=15 } else { 9..=12 };
    if !allowed.contains(&total) {
        return None;
    }
    match n {
        1 => {
            let trunk = b[s] == b'0' && (9..=11).contains(&total);
            if !(trunk || international || phone_context(b, s)) {
                return None;
            }
        }
        // Two groups: a trunk `0` or an area code in parentheses, a word that says phone, or a
        // short prefix and a long number (`332 3909270`); not a year and a count (`2024-439747`)
        // or a range (`50000-30100`).
        2 => {
            let year = lens[0] == 4 && matches!(&b[s..s + 2], b"19" | b"20");
            let shaped = b[s] == b'0' || b[s] == b'(' || (lens[0] <= 4 && lens[1] >= 6);
            if total < 10 || year || !(shaped || phone_context(b, s)) {
                return None;
            }
        }
        // A last group of two digits belongs to numbers written in pairs (`06 12 34 56 78`,
        // `612 34 56 78`), four groups or more; `555-0141-10` is a reference.
        3 if lens[2] == 2 => return None,
        _ => {}
    }
    let dotted = seps == 1 << 2;
    let thousands = dotted && lens[0] <= 3 && lens[1..n].iter().all(|&l| l == 3);
    let quad = dotted && n == 4 && lens[..4].iter().all(|&l| l <= 3);
    let at = |k: usize| b.get(s + k).map_or(0, |d| d.wrapping_sub(b'0'));
    let year_first = n >= 3
        && lens[0] == 4
        && lens[1] == 2
        && matches!(&b[s..s + 2], b"19" | b"20")
        && at(5) * 10 + at(6) <= 12;
    let day_first = n >= 3
        && lens[0] == 2
        && lens[1] == 2
        && lens[2] == 4
        && at(0) * 10 + at(1) <= 31
        && at(3) * 10 + at(4) <= 12
        && matches!(&b[s + 6..s + 8], b"19" | b"20");
    (!thousands && !quad && !year_first && !day_first).then_some(i)
}

/// An IPv6 address around the run of digits at `at`: the longest run of hex digits, colons and
/// dots (an embedded IPv4 address) that holds `at`, if it has two colons or more and parses as
/// an address other than `::` and `::1`. Returns its span: it may start before `at`
/// (`fe80::1ff:…` is found from its `1`).
pub(super) fn ipv6(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let part = |c: u8| c.is_ascii_hexdigit() || c == b':';
    let mut s = at;
    while s > 0 && at - s < 40 && part(b[s - 1]) {
        s -= 1;
    }
    let mut e = at;
    while e < b.len() && e - s < 46 && (part(b[e]) || b[e] == b'.') {
        e += 1;
    }
    while e > s && b[e - 1] == b'.' {
        e -= 1;
    }
    // A word or a longer run on either side: a hash, an identifier, a MAC address's remainder.
    if (s > 0 && word(b[s - 1])) || b.get(e).is_some_and(|&c| word(c)) {
        return None;
    }
    let text = std::str::from_utf8(&b[s..e]).ok()?;
    if text.bytes().filter(|&c| c == b':').count() < 2 {
        return None;
    }
    let addr: std::net::Ipv6Addr = text.parse().ok()?;
    (!addr.is_unspecified() && !addr.is_loopback()).then_some((s, e))
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
