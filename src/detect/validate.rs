//! Validators that turn a pattern match into a finding only when the value is real: checksums,
//! number plans, entropy.

/// The ASCII digits of `s` (up to 32; more is reported as 33 so no length check passes), without
/// allocating: validators run once per candidate, and dense text has many.
pub(crate) struct Digits {
    buf: [u8; 32],
    len: usize,
}

impl Digits {
    pub(crate) fn of(s: &str) -> Self {
        let mut buf = [0u8; 32];
        let mut len = 0;
        for b in s.bytes().filter(u8::is_ascii_digit) {
            if len == buf.len() {
                return Self { buf, len: 33 };
            }
            buf[len] = b;
            len += 1;
        }
        Self { buf, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(32)]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits were stored.
        std::str::from_utf8(&self.buf[..self.len.min(32)]).unwrap_or("")
    }

    /// The number formed by the first `n` digits (at most 19, which a `u64` holds).
    fn prefix(&self, n: usize) -> u64 {
        self.buf[..n.min(self.len).min(19)]
            .iter()
            .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'))
    }
}

/// Luhn checksum over the digits of `s` (separators ignored).
pub fn luhn(s: &str) -> bool {
    luhn_digits(&Digits::of(s))
}

fn luhn_digits(digits: &Digits) -> bool {
    if digits.len() < 2 || digits.len() > 32 {
        return false;
    }
    let sum: u32 = digits
        .as_bytes()
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A payment card number: 13–19 digits, a known issuer prefix, and a valid Luhn checksum.
pub fn credit_card(s: &str) -> bool {
    let d = Digits::of(s);
    if !(13..=19).contains(&d.len()) || !luhn_digits(&d) {
        return false;
    }
    let digits = d.as_bytes();
    let (p2, p3, p4) = (d.prefix(2), d.prefix(3), d.prefix(4));
    digits.starts_with(b"4")                       // Visa
        || (51..=55).contains(&p2)                 // Mastercard
        || (2221..=2720).contains(&p4)             // Mastercard 2-series
        || p2 == 34 || p2 == 37                    // American Express
        || p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) // Discover
        || (3528..=3589).contains(&p4)             // JCB
        || p2 == 36 || p2 == 38 || p2 == 39 || (300..=305).contains(&p3) || p4 == 3095 // Diners Club
        || p2 == 62 // UnionPay
        || digits.starts_with(b"5018") || digits.starts_with(b"5020") || digits.starts_with(b"5038")
        || digits.starts_with(b"6304") || digits.starts_with(b"6759") || digits.starts_with(b"6761")
        || digits.starts_with(b"6762") || digits.starts_with(b"6763") || digits.starts_with(b"5893") // Maestro
}

/// The test card numbers payment processors publish in their documentation (Stripe's, Braintree's).
const TEST_CARDS: &[&str] = &[
    "4111111111111111",
    "4242424242424242",
    "4000056655665556",
    "4012888888881881",
    "5555555555554444",
    "5200828282828210",
    "5105105105105100",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
    "4000000000000002",
    "4000000000009995",
    "4000000000000077",
];

/// [`TEST_CARDS`] as numbers: every card has at most 19 digits, which a `u64` holds, and none
/// starts with a zero, so the number and the digit string say the same.
const TEST_CARD_NUMBERS: [u64; TEST_CARDS.len()] = {
    let mut out = [0u64; TEST_CARDS.len()];
    let mut i = 0;
    while i < TEST_CARDS.len() {
        let digits = TEST_CARDS[i].as_bytes();
        let mut j = 0;
        while j < digits.len() {
            out[i] = out[i] * 10 + (digits[j] - b'0') as u64;
            j += 1;
        }
        i += 1;
    }
    out
};

/// Card numbers published by payment processors for testing.
pub fn is_test_card(s: &str) -> bool {
    let digits = Digits::of(s);
    digits.len() <= 19
        && digits.as_bytes().first() != Some(&b'0')
        && TEST_CARD_NUMBERS.contains(&digits.prefix(19))
}

/// IBAN: known country, the country's length, and ISO 13616 mod-97 = 1.
pub fn iban(s: &str) -> bool {
    if !s.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 34];
    let mut len = 0;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if len == buf.len() {
            return false;
        }
        buf[len] = b;
        len += 1;
    }
    let compact = &buf[..len];
    if compact.len() < 15 {
        return false;
    }
    let Some(expected) = iban_length(&compact[..2]) else {
        return false;
    };
    if compact.len() != expected {
        return false;
    }
    let rearranged = compact[4..].iter().chain(&compact[..4]);
    // Mod 97 of the digit string, reduced only when the accumulator nears overflow (a division
    // per character was most of this function's time on text dense with IBANs).
    let mut rem: u64 = 0;
    for &c in rearranged {
        rem = match c {
            b'0'..=b'9' => rem * 10 + u64::from(c - b'0'),
            b'A'..=b'Z' => rem * 100 + u64::from(c - b'A') + 10,
            _ => return false,
        };
        if rem >= 1 << 56 {
            rem %= 97;
        }
    }
    rem % 97 == 1
}

/// The length of a country's IBAN (ISO 13616 registry), from its two-letter code.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    Some(match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"CR" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    })
}

/// A US Social Security number in `AAA-GG-SSSS` form under the SSA's assignment rules.
pub fn ssn(s: &str) -> bool {
    let d = Digits::of(s);
    let digits = d.as_str();
    if digits.len() != 9 {
        return false;
    }
    let area: u32 = digits[..3].parse().unwrap_or(0);
    let group: u32 = digits[3..5].parse().unwrap_or(0);
    let serial: u32 = digits[5..].parse().unwrap_or(0);
    // Numbers the SSA never issues, and the two famous ones printed on sample cards.
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && digits != "078051120"
        && digits != "219099999"
}

/// A dotted IPv4 address with every octet ≤ 255 and no leading zeros.
pub fn ipv4(s: &str) -> bool {
    let mut parts = 0;
    for p in s.as_bytes().split(|&b| b == b'.') {
        parts += 1;
        let valid = !p.is_empty()
            && p.len() <= 3
            && (p.len() == 1 || p[0] != b'0')
            && p.iter().all(u8::is_ascii_digit)
            && p.iter().fold(0u16, |v, d| v * 10 + u16::from(d - b'0')) <= 255;
        if !valid || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// A phone number: 7 to 15 digits (E.164's limits).
pub fn phone(s: &str) -> bool {
    // Bytes, not chars: no byte of a multi-byte character is an ASCII digit.
    let n = s.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&n)
}

/// A phone number written the national way (`030 12345678`) that is a valid number in one of
/// `regions`, by libphonenumber's metadata: its length and prefixes fit a range the region
/// assigns to fixed lines, mobiles or another kind of line. Written with `00` and a country code
/// (`0039 011 2273267`), it is checked as the international number it is.
pub fn national_phone(s: &str, regions: &[phonenumber::country::Id]) -> bool {
    let digits: String = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(char::from)
        .collect();
    if let Some(international) = digits.strip_prefix("00") {
        return phonenumber::parse(None, format!("+{international}"))
            .is_ok_and(|n| phonenumber::is_valid(&n));
    }
    regions
        .iter()
        .filter_map(|&r| numbering_plan(r))
        .any(|plan| plan.assigns(&digits))
}

/// One region's numbering plan from libphonenumber's metadata, its patterns compiled once.
/// The library's own parse compiles its patterns through a small shared cache, which a scan
/// across a dozen regions thrashes (about a millisecond a number); matching the same patterns
/// here costs a few microseconds.
pub struct NumberingPlan {
    national_prefix: Option<String>,
    general: (regex::Regex, Vec<u16>),
    kinds: Vec<(regex::Regex, Vec<u16>)>,
}

impl NumberingPlan {
    fn new(meta: &phonenumber::Metadata) -> Option<Self> {
        let compile = |d: &phonenumber::metadata::Descriptor, inherited: &[u16]| {
            let lengths = if d.possible_length().is_empty() {
                inherited.to_vec()
            } else {
                d.possible_length().to_vec()
            };
            // The metadata's patterns are laid out over several lines, as libphonenumber's XML
            // writes them.
            regex::RegexBuilder::new(&format!("^(?:{})$", d.national_number().as_str()))
                .ignore_whitespace(true)
                .build()
                .ok()
                .map(|re| (re, lengths))
        };
        let descriptors = meta.descriptors();
        let general = compile(descriptors.general(), &[])?;
        let kinds = [
            descriptors.fixed_line(),
            descriptors.mobile(),
            descriptors.toll_free(),
            descriptors.premium_rate(),
            descriptors.shared_cost(),
            descriptors.personal_number(),
            descriptors.voip(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|d| compile(d, &general.1))
        .collect();
        Some(Self {
            national_prefix: meta.national_prefix().map(str::to_string),
            general,
            kinds,
        })
    }

    /// Whether the digits, as dialled within the region, are a number it assigns.
    pub fn assigns(&self, digits: &str) -> bool {
        let candidates = [
            self.national_prefix
                .as_deref()
                .and_then(|p| digits.strip_prefix(p)),
            Some(digits),
        ];
        candidates.into_iter().flatten().any(|n| {
            let len = n.len() as u16;
            let fits = |(re, lengths): &(regex::Regex, Vec<u16>)| {
                (lengths.is_empty() || lengths.contains(&len)) && re.is_match(n)
            };
            fits(&self.general) && self.kinds.iter().any(fits)
        })
    }
}

/// The numbering plan of `region`, compiled on first use and kept for the process's life (there
/// are fewer than 250 regions).
pub fn numbering_plan(region: phonenumber::country::Id) -> Option<&'static NumberingPlan> {
    static PLANS: std::sync::OnceLock<
        std::sync::Mutex<
            std::collections::HashMap<phonenumber::country::Id, Option<&'static NumberingPlan>>,
        >,
    > = std::sync::OnceLock::new();
    let mut plans = PLANS.get_or_init(Default::default).lock().ok()?;
    *plans.entry(region).or_insert_with(|| {
        let meta = phonenumber::metadata::DATABASE.by_id(region.as_ref())?;
        NumberingPlan::new(meta).map(|p| &*Box::leak(Box::new(p)))
    })
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_luhn_and_an_issuer() {
        assert!(credit_card("4111 1111 1111 1111"));
        assert!(credit_card("5555-5555-5555-4444"));
        assert!(credit_card("378282246310005"));
        assert!(!credit_card("4111 1111 1111 1112"), "bad checksum");
        assert!(!credit_card("9999999999999995"), "Luhn-valid but no issuer");
        assert!(is_test_card("4242 4242 4242 4242"));
        assert!(!is_test_card("4539 1488 0343 6467"));
        assert!(credit_card("4539 1488 0343 6467"));
    }

    #[test]
    fn iban_checks_country_length_and_mod97() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("FR1420041010050500013M02606"));
        assert!(!iban("DE89 3704 0044 0532 0130 01"), "checksum");
        assert!(!iban("DE89 3704 0044 0532 0130"), "length");
        assert!(!iban("ZZ89370400440532013000"), "country");
    }

    #[test]
    fn ssn_follows_assignment_rules() {
        assert!(ssn("123-45-6789"));
        assert!(!ssn("000-45-6789"));
        assert!(!ssn("666-45-6789"));
        assert!(!ssn("900-45-6789"));
        assert!(!ssn("123-00-6789"));
        assert!(!ssn("123-45-0000"));
        assert!(!ssn("078-05-1120"));
    }

    #[test]
    fn ipv4_octets_are_bounded() {
        assert!(ipv4("192.168.1.20"));
        assert!(ipv4("8.8.8.8"));
        assert!(!ipv4("256.1.1.1"));
        assert!(!ipv4("1.2.3"));
        assert!(!ipv4("01.2.3.4"));
    }

    #[test]
    fn entropy_separates_random_from_repetitive() {
        assert!(entropy("aaaaaaaaaaaaaaaa") < 1.0);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
    }
}
