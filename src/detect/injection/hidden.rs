//! Text a reader does not see: Unicode tag characters, zero-width and bidi controls, and HTML
//! comments. Counts them, decodes tag characters back into the ASCII they smuggle, and strips
//! them. Knows nothing of the rules or the model.

use std::borrow::Cow;

use memchr::memmem;

/// How much hidden text a scanned text carries, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HiddenText {
    /// Unicode tag characters U+E0000–U+E007F (including those of flag emoji).
    pub tag_chars: u32,
    /// U+200B–U+200D, U+2060, and U+FEFF anywhere but the very start.
    pub zero_width: u32,
    /// U+202A–U+202E and U+2066–U+2069.
    pub bidi_controls: u32,
    /// `<!-- … -->` comments (an unterminated one runs to the end of the text).
    pub html_comments: u32,
    /// `style` attributes that hide their element (`display:none`, `font-size:0`, …).
    pub invisible_css: u32,
}

impl HiddenText {
    /// Whether the text holds any hidden characters (not counting comments or CSS).
    pub fn has_chars(&self) -> bool {
        self.tag_chars + self.zero_width + self.bidi_controls > 0
    }
}

enum Class {
    /// A tag character; the ASCII byte it stands for (U+E0020–U+E007E), if any.
    Tag(Option<u8>),
    ZeroWidth,
    Bidi,
}

fn classify(c: char, at_start: bool) -> Option<Class> {
    match c {
        '\u{E0000}'..='\u{E007F}' => {
            let ascii = (c as u32 - 0xE0000) as u8;
            Some(Class::Tag((0x20..0x7F).contains(&ascii).then_some(ascii)))
        }
        '\u{200B}'..='\u{200D}' | '\u{2060}' => Some(Class::ZeroWidth),
        '\u{FEFF}' if !at_start => Some(Class::ZeroWidth),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Some(Class::Bidi),
        _ => None,
    }
}

/// The first UTF-8 byte of every character `classify` knows: the scan jumps between these with
/// `memchr3`, so ASCII text costs one vectorised pass.
const LEAD_BYTES: (u8, u8, u8) = (0xE2, 0xEF, 0xF3);

/// The black flag that starts an emoji tag sequence (England, Scotland, Wales).
const BLACK_FLAG: char = '\u{1F3F4}';

/// What one pass over the characters found.
#[derive(Debug, Default)]
pub(crate) struct CharScan {
    pub counts: HiddenText,
    /// Tag characters outside flag emoji, as the ASCII they encode.
    pub tag_payload: String,
    /// Tag characters outside flag emoji.
    pub smuggled_tags: u32,
}

/// Counts hidden characters and decodes tag-character payloads.
pub(crate) fn scan_chars(text: &str) -> CharScan {
    let mut out = CharScan::default();
    let bytes = text.as_bytes();
    let (a, b, c) = LEAD_BYTES;
    // Where the previous tag character ended, and whether its run belongs to a flag emoji.
    let mut tag_run: Option<(usize, bool)> = None;
    for pos in memchr::memchr3_iter(a, b, c, bytes) {
        // The lead bytes are never continuation bytes, so `pos` is a character boundary.
        let Some(ch) = text.get(pos..).and_then(|s| s.chars().next()) else {
            continue;
        };
        match classify(ch, pos == 0) {
            Some(Class::Tag(ascii)) => {
                out.counts.tag_chars += 1;
                let flag = match tag_run {
                    Some((end, flag)) if end == pos => flag,
                    _ => text[..pos].ends_with(BLACK_FLAG),
                };
                tag_run = Some((pos + ch.len_utf8(), flag));
                if !flag {
                    out.smuggled_tags += 1;
                    if let Some(a) = ascii {
                        out.tag_payload.push(char::from(a));
                    }
                }
            }
            Some(Class::ZeroWidth) => out.counts.zero_width += 1,
            Some(Class::Bidi) => out.counts.bidi_controls += 1,
            None => {}
        }
    }
    out
}

/// Byte spans of the HTML comments in `text`, delimiters included.
pub(crate) fn comments(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(open) = memmem::find(&bytes[from..], b"<!--") {
        let start = from + open;
        let body = start + 4;
        let end = memmem::find(&bytes[body..], b"-->").map_or(bytes.len(), |e| body + e + 3);
        spans.push((start, end));
        from = end;
    }
    spans
}

/// `text` without tag characters, zero-width and bidi controls (comments kept).
pub(crate) fn strip_chars(text: &str) -> Cow<'_, str> {
    // A byte-order mark counts as hidden only inside the text, but is stripped anywhere.
    let hit = |c: char| classify(c, false).is_some();
    let (a, b, c) = LEAD_BYTES;
    if memchr::memchr3(a, b, c, text.as_bytes()).is_none() || !text.chars().any(hit) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !hit(c)).collect())
}

/// `text` as a reader sees it: tag characters, zero-width and bidi controls, and HTML comments
/// removed. Elements hidden by CSS are kept: removing them safely needs an HTML parser, and the
/// detector flags them instead (`HiddenText::invisible_css`). Flag emoji lose their tag
/// characters (England's flag becomes a plain black flag). Borrows when there is nothing to
/// remove.
pub fn strip_hidden(text: &str) -> Cow<'_, str> {
    let spans = comments(text);
    let chars = strip_chars(text);
    if spans.is_empty() {
        return chars;
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in spans {
        out.push_str(&text[from..start]);
        from = end;
    }
    out.push_str(&text[from..]);
    match strip_chars(&out) {
        Cow::Borrowed(_) => Cow::Owned(out),
        Cow::Owned(s) => Cow::Owned(s),
    }
}
