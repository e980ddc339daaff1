//! The canonical form every detector reads, and the way back to the bytes that came in.
//!
//! Detectors never see a string as it arrived. They see its canonical view:
//!
//! - **Hidden characters out**: zero-width and joiner characters, bidi controls, Unicode tag
//!   characters, variation selectors, the soft hyphen and the other default-ignorable format
//!   characters ([`is_hidden`]). A token with a U+200B inside is the token.
//! - **NFKC, one character at a time**: fullwidth and halfwidth forms, mathematical alphanumerics,
//!   circled and superscript digits, ligatures and the many Unicode spaces become the ASCII they
//!   stand for (`ｇｈｐ＿…` is `ghp_…`). Composition across characters is not applied: it never
//!   turns a non-ASCII sequence into ASCII, which is all the detectors' patterns read.
//! - **Confusables folded**: the Cyrillic and Greek letters drawn exactly like Latin ones
//!   ([`confusable`]) read as those Latin letters, so `АKIA…` with a Cyrillic `А` is an AWS key.
//!   Hyphens and dashes read as `-`. Only letters whose glyph is the Latin one in common fonts are folded; the table is short on
//!   purpose, to keep Cyrillic and Greek prose from looking like identifiers.
//! - **Datamarks read as spaces**: the `ˆ` that spotlighting writes for spaces
//!   ([`crate::filter::injection::DATAMARK`]) reads as a space, so spotlighted text is scanned as
//!   the words it is.
//!
//! The view is for reading only: Warden forwards the caller's bytes, and rewrites only the spans
//! a detector matched ([`View::original`] maps a match back, hidden characters inside it
//! included). A client that sends the same text every turn gets the same bytes upstream every
//! turn, and text a detector did not match is never altered (a Persian ZWNJ stays where it is).
//!
//! HTML comments are a second view ([`without_comments`]): `ghp_ab<!-- -->cd…` is a token to a
//! reader who skips the comment, and a secret inside a comment is a secret to one who does not,
//! so a text holding `<!--` is scanned both ways.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::injection::comments;

/// Whether `c` is a character a reader does not see and Warden drops before detecting:
/// default-ignorable format characters (Unicode's `Cf` and the `Default_Ignorable_Code_Point`
/// property, less the byte-order mark's visible cousins).
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}'       // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'       // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'       // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'       // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                    // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'       // variation selectors
        | '\u{FEFF}'                    // byte-order mark, zero-width no-break space
        | '\u{FFA0}'                    // halfwidth Hangul filler
        | '\u{FFF0}'..='\u{FFF8}'       // unassigned specials
        | '\u{1BCA0}'..='\u{1BCA3}'     // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}'     // musical format controls
        | '\u{E0000}'..='\u{E0FFF}' // tag characters and variation selectors supplement
    )
}

/// The Latin letter a Cyrillic or Greek letter is drawn as, for the letters whose glyphs are
/// the same in common fonts.
pub fn confusable(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'х' => 'x',
        'у' => 'y',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'һ' => 'h',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        'Ү' => 'Y',
        // Greek
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'ο' => 'o',
        // Hyphens, en dashes and minus signs read as the ASCII hyphen-minus (`123‑45‑6789` is an
        // SSN); the em dash of prose does not.
        '\u{2010}'..='\u{2013}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
        // Spotlighting's datamark reads as the space it replaced.
        'ˆ' => ' ',
        _ => return None,
    })
}

/// Whether a non-ASCII character reads differently in the canonical view.
fn changes(c: char) -> bool {
    is_hidden(c)
        || confusable(c).is_some()
        || is_nfkc_quick(std::iter::once(c)) != IsNormalized::Yes
}

/// One stretch of the canonical text and the original bytes it came from: a stretch copied as
/// it was (`same`), or one character's replacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    canon: (usize, usize),
    orig: (usize, usize),
    same: bool,
}

/// A string's canonical view: the text detectors read, and the map back to the original bytes.
#[derive(Debug)]
pub struct View<'a> {
    text: Cow<'a, str>,
    /// Empty when the view is the original text.
    segments: Vec<Segment>,
}

impl View<'_> {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the view is the original text, byte for byte.
    pub fn is_original(&self) -> bool {
        matches!(self.text, Cow::Borrowed(_)) && self.segments.is_empty()
    }

    /// The original byte span a canonical span `[start, end)` was read from. A span that starts
    /// or ends inside one character's replacement covers that whole character; hidden characters
    /// between the ends are inside the span.
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        if self.segments.is_empty() {
            return (start, end);
        }
        let at = |x: usize, closing: bool| -> usize {
            // The segment holding x (its last byte, for an end).
            let i = self.segments.partition_point(|s| {
                if closing {
                    s.canon.1 < x
                } else {
                    s.canon.1 <= x
                }
            });
            let Some(s) = self.segments.get(i) else {
                return self.segments.last().map_or(x, |s| s.orig.1);
            };
            if s.same {
                s.orig.0 + (x - s.canon.0)
            } else if closing {
                s.orig.1
            } else {
                s.orig.0
            }
        };
        if end <= start {
            let o = at(start, false);
            return (o, o);
        }
        (at(start, false), at(end, true))
    }
}

/// The canonical view of `text`. Borrows, with no map, when there is nothing to change (all
/// ASCII text, and most other text).
pub fn canonical(text: &str) -> View<'_> {
    if text.is_ascii() || !text.chars().any(|c| !c.is_ascii() && changes(c)) {
        return View {
            text: Cow::Borrowed(text),
            segments: Vec::new(),
        };
    }
    build(text, &[])
}

/// The canonical view of `text` read without its HTML comments, when it has any.
pub fn without_comments(text: &str) -> Option<View<'_>> {
    if !text.contains("<!--") {
        return None;
    }
    Some(build(text, &comments(text)))
}

/// Builds the view, skipping the byte spans in `skip` (sorted, disjoint).
fn build<'a>(text: &'a str, skip: &[(usize, usize)]) -> View<'a> {
    let mut out = String::with_capacity(text.len());
    let mut segments: Vec<Segment> = Vec::new();
    let mut skip = skip.iter().peekable();
    let push_same = |out: &mut String, segments: &mut Vec<Segment>, s: &str, at: usize| {
        let cs = out.len();
        out.push_str(s);
        match segments.last_mut() {
            Some(last) if last.same && last.canon.1 == cs && last.orig.1 == at => {
                last.canon.1 = out.len();
                last.orig.1 = at + s.len();
            }
            _ => segments.push(Segment {
                canon: (cs, out.len()),
                orig: (at, at + s.len()),
                same: true,
            }),
        }
    };
    for (at, c) in text.char_indices() {
        while skip.next_if(|&&(_, end)| at >= end).is_some() {}
        if skip.peek().is_some_and(|&&(start, _)| at >= start) {
            continue;
        }
        let len = c.len_utf8();
        if c.is_ascii() || !changes(c) {
            push_same(&mut out, &mut segments, &text[at..at + len], at);
            continue;
        }
        if is_hidden(c) {
            continue;
        }
        let cs = out.len();
        match confusable(c) {
            Some(latin) => out.push(latin),
            None => out.extend(
                std::iter::once(c)
                    .nfkc()
                    .map(|n| confusable(n).unwrap_or(n)),
            ),
        }
        if out.len() > cs {
            segments.push(Segment {
                canon: (cs, out.len()),
                orig: (at, at + len),
                same: false,
            });
        }
    }
    View {
        text: Cow::Owned(out),
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical(s).text().to_string()
    }

    #[test]
    fn plain_text_is_borrowed_and_maps_to_itself() {
        for s in [
            "ghp_abc",
            "héllo — wörld",
            "日本語のテキスト",
            "emoji 🎉 ok",
        ] {
            let v = canonical(s);
            assert!(v.is_original(), "{s}");
            assert_eq!(v.original(1, 3), (1, 3));
        }
    }

    #[test]
    fn hidden_characters_fullwidth_and_confusables_read_as_ascii() {
        assert_eq!(canon("gh\u{200B}p_x\u{2060}y"), "ghp_xy");
        assert_eq!(canon("ｇｈｐ＿ＡＢＣ１２３"), "ghp_ABC123");
        assert_eq!(canon("𝟏𝟐𝟑-𝟒𝟓"), "123-45");
        assert_eq!(canon("АKIA"), "AKIA"); // Cyrillic А
        assert_eq!(canon("a\u{00A0}b\u{3000}c"), "a b c");
        assert_eq!(canon("aˆb"), "a b");
        assert_eq!(canon("x\u{E0041}\u{E0042}y\u{FE0F}"), "xy");
        assert_eq!(canon("so\u{00AD}cial"), "social");
        assert_eq!(canon("123\u{2011}45\u{2013}6789"), "123-45-6789");
    }

    #[test]
    fn a_match_maps_back_over_the_hidden_characters_inside_it() {
        let s = "key: gh\u{200B}p_abc end";
        let v = canonical(s);
        let start = v.text().find("ghp_abc").expect("found");
        let (os, oe) = v.original(start, start + "ghp_abc".len());
        assert_eq!(&s[os..oe], "gh\u{200B}p_abc");
        // Fullwidth: each character maps back to its own bytes.
        let s = "id ＡＢＣ tail";
        let v = canonical(s);
        let (os, oe) = v.original(3, 6);
        assert_eq!(&s[os..oe], "ＡＢＣ");
        // A span ending inside an expansion covers the whole original character.
        let s = "x\u{FB01}y"; // x ﬁ y
        let v = canonical(s);
        assert_eq!(v.text(), "xfiy");
        assert_eq!(v.original(0, 2), (0, 4));
        assert_eq!(v.original(2, 4), (1, 5));
    }

    #[test]
    fn comments_are_a_second_view() {
        let s = "ghp_ab<!-- hi -->cd";
        assert_eq!(without_comments(s).expect("has one").text(), "ghp_abcd");
        let v = without_comments(s).expect("has one");
        let (os, oe) = v.original(0, 8);
        assert_eq!(&s[os..oe], s);
        assert!(without_comments("no comment").is_none());
    }

    #[test]
    fn every_span_maps_inside_the_original() {
        let s = "a\u{200B}ｂ\u{FB01}ˆc<!-- x -->ｄ\u{E0041}";
        for v in [canonical(s), without_comments(s).expect("comment")] {
            let n = v.text().len();
            for i in 0..=n {
                for j in i..=n {
                    if v.text().is_char_boundary(i) && v.text().is_char_boundary(j) {
                        let (os, oe) = v.original(i, j);
                        assert!(os <= oe && oe <= s.len(), "{i}..{j} → {os}..{oe}");
                        assert!(s.is_char_boundary(os) && s.is_char_boundary(oe));
                    }
                }
            }
        }
    }
}
