//! The one scrubber: every text a server sent passes through it before a
//! `Debug`, `Display` or error of this crate shows it.
//!
//! A server may echo what it was sent (a password in "invalid password
//! s3cr3t", a token in a `WWW-Authenticate` challenge), and not always as it
//! was sent: percent-encoded in either hex case, form-encoded, HTML-escaped,
//! JSON-escaped, base64 or hex, upper-cased, with a zero-width character
//! inside, split between an error code and its message. So the scrubber does
//! not look for the secret in the text as it is; it looks at the text in
//! several *views* and compares each with every secret the flow knows
//! (everything it sent and every token it holds):
//!
//! * the text case-folded, with invisible format characters (zero-width
//!   spaces and joiners, soft hyphens, bidi marks, BOMs) removed, fullwidth
//!   ASCII and Unicode spaces folded to ASCII, and control characters as
//!   spaces;
//! * the same after each textual decoding, in every order, to a fixed depth:
//!   percent-decoding (with `+` kept, and with `+` as a space; `%uXXXX`
//!   too), HTML entities (numeric and named), backslash escapes (`\uXXXX`,
//!   `\xHH`, `\/`), quoted-printable `=XX`;
//! * each of those with its runs of base64 (standard or URL-safe, at all
//!   four alignments, also across line breaks), hex (either alignment, also
//!   as `73:33:63` pairs) and decimal byte lists (`115, 51, 99`, signed as
//!   Java prints bytes) decoded, then textually decoded again;
//! * for secrets with at least [`SKELETON_MIN`] letters and digits, the
//!   letters and digits alone, so that separators put inside a secret, or a
//!   secret split between two fields that are shown joined, are found too.
//!
//! When any view holds a secret, the **whole text is withheld**: it is
//! replaced by [`WITHHELD`], never partly shown. Secrets shorter than
//! [`MIN_SECRET_CHARS`] characters are found only when a whole view is the
//! secret (finding them anywhere would withhold every message).
//!
//! Only the first [`SCAN_LIMIT`] bytes of a text are looked at: nothing
//! prints more than [`MAX_MESSAGE_CHARS`](crate::MAX_MESSAGE_CHARS)
//! characters of a server text, and an echo that starts there is found as
//! long as it ends within the limit.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::error::MAX_MESSAGE_CHARS;

/// What a text that echoes a secret is replaced with when printed.
pub const WITHHELD: &str = "<withheld: it echoes a secret>";

/// Secrets shorter than this (in characters) are found only when a whole
/// view of a text is the secret, never inside a longer text.
pub const MIN_SECRET_CHARS: usize = 3;

/// Secrets with at least this many letters and digits are also looked for
/// with every other character removed, from the secret and from the text.
pub(crate) const SKELETON_MIN: usize = 8;

/// How many bytes of a text are looked at.
pub(crate) const SCAN_LIMIT: usize = 16 * 1024;

/// Views made of one text, at most: enough for every composition of the
/// encodings above that a server plausibly applies, and a bound on the work.
const MAX_VIEWS: usize = 96;

/// How many textual decodings are stacked at most.
const MAX_DEPTH: usize = 3;

/// The secrets a flow knows, prepared for comparison.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scrubber {
    needles: Vec<Needle>,
}

#[derive(Clone)]
struct Needle {
    /// The secret as the views are compared: folded.
    folded: String,
    /// Its letters and digits, when it has at least [`SKELETON_MIN`].
    skeleton: Option<String>,
    /// Found only as a whole view (a short secret).
    whole_only: bool,
    /// The secret's own bytes, compared with the decoded views as they are
    /// (a DER signature is not text).
    raw: Vec<u8>,
}

impl fmt::Debug for Needle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Needle(<redacted>)")
    }
}

impl Scrubber {
    /// A scrubber for `secrets`; empty ones are skipped.
    pub(crate) fn new<'s>(secrets: impl IntoIterator<Item = &'s str>) -> Self {
        let mut scrubber = Scrubber::default();
        for secret in secrets {
            scrubber.add(secret);
        }
        scrubber
    }

    /// Adds a text secret.
    pub(crate) fn add(&mut self, secret: &str) {
        let folded = fold(secret);
        let trimmed = folded.trim();
        if trimmed.is_empty() {
            return;
        }
        let whole_only = trimmed.chars().count() < MIN_SECRET_CHARS;
        let skeleton = skeleton_of(trimmed);
        self.needles.push(Needle {
            folded: trimmed.to_owned(),
            skeleton: (skeleton.chars().count() >= SKELETON_MIN).then_some(skeleton),
            whole_only,
            raw: Vec::new(),
        });
    }

    /// Adds a secret that is bytes (a signature's DER), looked for in the
    /// decoded views as it is; its base64 form, which is what was sent,
    /// should be added as text too.
    pub(crate) fn add_bytes(&mut self, secret: &[u8]) {
        if secret.len() >= MIN_SECRET_CHARS {
            self.needles.push(Needle {
                folded: String::new(),
                skeleton: None,
                whole_only: false,
                raw: secret.to_vec(),
            });
        }
    }

    /// Whether any view of `text` holds any secret.
    pub(crate) fn echoes(&self, text: &str) -> bool {
        if self.needles.is_empty() || text.is_empty() {
            return false;
        }
        let text = text.get(..floor_boundary(text, SCAN_LIMIT)).unwrap_or(text);
        let skeletons = self.needles.iter().any(|n| n.skeleton.is_some());
        views(text.as_bytes(), self.shortest())
            .iter()
            .any(|view| self.found_in(view, skeletons))
    }

    /// `text` as it may be printed: [`WITHHELD`] if it echoes a secret,
    /// otherwise with control characters as spaces and at most `max_chars`
    /// characters.
    pub(crate) fn shown(&self, text: &str, max_chars: usize) -> String {
        if self.echoes(text) {
            WITHHELD.to_owned()
        } else {
            printable(text, max_chars)
        }
    }

    /// Withholds the fields of one printed value that echo a secret alone,
    /// then all of them if their joins do (`Display` prints a refusal as
    /// `code: message`; a secret split between the two shows whole there).
    pub(crate) fn withhold_fields(&self, fields: &mut [&mut Option<String>]) {
        for field in fields.iter_mut() {
            if field.as_deref().is_some_and(|text| self.echoes(text)) {
                **field = Some(WITHHELD.to_owned());
            }
        }
        let present: Vec<&str> = fields.iter().filter_map(|f| f.as_deref()).collect();
        if present.len() < 2 {
            return;
        }
        // As `Display` joins them, and put back together.
        let joined = [": ", ""].iter().any(|sep| self.echoes(&present.join(sep)));
        if joined {
            for field in fields.iter_mut().filter(|f| f.is_some()) {
                **field = Some(WITHHELD.to_owned());
            }
        }
    }

    /// The fewest bytes any secret takes in a decoded view: encoded runs
    /// shorter than its encoding need not be decoded.
    fn shortest(&self) -> usize {
        self.needles
            .iter()
            .map(|n| {
                let text = n
                    .skeleton
                    .as_ref()
                    .map_or(n.folded.len(), String::len)
                    .min(n.folded.len());
                if n.raw.is_empty() {
                    text
                } else {
                    n.raw.len()
                }
            })
            .min()
            .unwrap_or(1)
            .max(1)
    }

    fn found_in(&self, view: &[u8], skeletons: bool) -> bool {
        let folded = fold(&String::from_utf8_lossy(view));
        let skeleton = skeletons.then(|| skeleton_of(&folded));
        self.needles.iter().any(|needle| {
            if !needle.raw.is_empty() {
                return contains(view, &needle.raw);
            }
            if needle.whole_only {
                return folded.trim() == needle.folded;
            }
            folded.contains(needle.folded.as_str())
                || matches!((&needle.skeleton, &skeleton), (Some(n), Some(s)) if s.contains(n.as_str()))
        })
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Control characters as spaces, at most `max_chars` characters.
pub(crate) fn printable(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The comparison form of a text: invisible format characters removed,
/// fullwidth ASCII and Unicode spaces folded to ASCII, control characters
/// as spaces, then lower case.
fn fold(text: &str) -> String {
    if text.is_ascii() {
        // Every invisible, fullwidth or space-like character is outside ASCII.
        return text
            .bytes()
            .map(|b| {
                char::from(if b < 0x20 || b == 0x7f {
                    b' '
                } else {
                    b.to_ascii_lowercase()
                })
            })
            .collect();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) {
            continue;
        }
        let c = match u32::from(c) {
            // Fullwidth `!` to `~`.
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => ' ',
            _ if c.is_control() => ' ',
            _ => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// Characters that print as nothing: what a server (or an attacker) can
/// slip into an echo without changing how it reads.
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F
            | 0x1160
            | 0x17B4
            | 0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Letters and digits only.
fn skeleton_of(folded: &str) -> String {
    folded.chars().filter(|c| c.is_alphanumeric()).collect()
}

// ---------------------------------------------------------------------------
// Views.

/// A textual decoding: `None` when it changes nothing.
type Decoding = fn(&[u8]) -> Option<Vec<u8>>;

const TEXTUAL: [Decoding; 5] = [
    percent_decoded,
    form_decoded,
    html_decoded,
    backslash_decoded,
    quoted_printable_decoded,
];

/// A binary decoding: adds the views it makes, decoding only runs long
/// enough to hold a secret of the given number of bytes.
type BinaryDecoding = fn(&[u8], usize, &mut Vec<Vec<u8>>);

const BINARY: [BinaryDecoding; 3] = [base64_runs_decoded, hex_runs_decoded, byte_lists_decoded];

/// `text` and its decoded views (see the module docs), deduplicated;
/// binary runs are decoded when they can hold `shortest` bytes.
fn views(text: &[u8], shortest: usize) -> Vec<Vec<u8>> {
    let mut views = Views::default();
    views.add(text.to_vec());
    views.textual_closure(0, MAX_DEPTH);
    let textual = views.all.len();
    for i in 0..textual {
        let mut decoded = Vec::new();
        for decode in BINARY {
            decode(&views.all[i], shortest, &mut decoded);
        }
        for view in decoded {
            let start = views.all.len();
            if views.add(view) {
                views.textual_closure(start, 1);
            }
        }
    }
    views.all
}

/// Views made so far, and the digests of each to skip repeats.
#[derive(Default)]
struct Views {
    all: Vec<Vec<u8>>,
    digests: Vec<u64>,
}

impl Views {
    /// Adds `view` unless it is known or the bound is reached.
    fn add(&mut self, view: Vec<u8>) -> bool {
        // `DefaultHasher::new` has fixed keys: no randomness is drawn.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        view.hash(&mut hasher);
        let digest = hasher.finish();
        if self.all.len() >= MAX_VIEWS || self.digests.contains(&digest) {
            return false;
        }
        self.digests.push(digest);
        self.all.push(view);
        true
    }

    /// Adds the textual decodings of the views from `from` on, `depth` layers deep.
    fn textual_closure(&mut self, from: usize, depth: usize) {
        let mut layer = from..self.all.len();
        for _ in 0..depth {
            let end = self.all.len();
            for i in layer {
                for decode in TEXTUAL {
                    if let Some(view) = decode(&self.all[i]) {
                        self.add(view);
                    }
                }
            }
            layer = end..self.all.len();
            if layer.is_empty() {
                return;
            }
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Two hex digits at `bytes[at..]`, as a byte.
fn hex_pair(bytes: &[u8], at: usize) -> Option<u8> {
    let high = hex_value(*bytes.get(at)?)?;
    let low = hex_value(*bytes.get(at + 1)?)?;
    Some(high << 4 | low)
}

/// Four hex digits at `bytes[at..]`, as a UTF-16 unit.
fn hex_quad(bytes: &[u8], at: usize) -> Option<u32> {
    let high = u32::from(hex_pair(bytes, at)?);
    let low = u32::from(hex_pair(bytes, at + 2)?);
    Some(high << 8 | low)
}

/// Appends the character of a `\uXXXX` or `%uXXXX` escape at `bytes[at..]`
/// (after its `u`), joining surrogate pairs; returns how many bytes it read.
fn push_utf16_escape(bytes: &[u8], at: usize, lead: u8, out: &mut Vec<u8>) -> Option<usize> {
    let unit = hex_quad(bytes, at)?;
    let (c, len) = if (0xD800..0xDC00).contains(&unit)
        && bytes.get(at + 4) == Some(&lead)
        && bytes.get(at + 5) == Some(&b'u')
    {
        let low = hex_quad(bytes, at + 6)?;
        let c = char::decode_utf16([unit as u16, low as u16]).next()?.ok()?;
        (c, 10)
    } else {
        (char::from_u32(unit)?, 4)
    };
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    Some(len)
}

/// `%XX` (either case) and `%uXXXX`; `+` kept.
fn percent_decoded(text: &[u8]) -> Option<Vec<u8>> {
    percent_decode(text, false)
}

/// As a form decoder reads it: `+` is a space, then `%XX`.
fn form_decoded(text: &[u8]) -> Option<Vec<u8>> {
    percent_decode(text, true)
}

fn percent_decode(text: &[u8], plus_is_space: bool) -> Option<Vec<u8>> {
    let plus = plus_is_space && text.contains(&b'+');
    if !(text.contains(&b'%') || plus) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'%' {
            if let Some(byte) = hex_pair(text, i + 1) {
                out.push(byte);
                i += 3;
                continue;
            }
            if matches!(text.get(i + 1), Some(b'u' | b'U')) {
                if let Some(len) = push_utf16_escape(text, i + 2, b'%', &mut out) {
                    i += 2 + len;
                    continue;
                }
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    (out != text).then_some(out)
}

/// The HTML5 names of ASCII punctuation (and the space-like `nbsp`).
const ENTITIES: [(&str, u8); 33] = [
    ("amp", b'&'),
    ("lt", b'<'),
    ("gt", b'>'),
    ("quot", b'"'),
    ("apos", b'\''),
    ("nbsp", b' '),
    ("colon", b':'),
    ("semi", b';'),
    ("comma", b','),
    ("period", b'.'),
    ("excl", b'!'),
    ("quest", b'?'),
    ("num", b'#'),
    ("dollar", b'$'),
    ("percnt", b'%'),
    ("lpar", b'('),
    ("rpar", b')'),
    ("ast", b'*'),
    ("plus", b'+'),
    ("equals", b'='),
    ("sol", b'/'),
    ("bsol", b'\\'),
    ("lsqb", b'['),
    ("rsqb", b']'),
    ("lcub", b'{'),
    ("rcub", b'}'),
    ("lowbar", b'_'),
    ("grave", b'`'),
    ("hat", b'^'),
    ("verbar", b'|'),
    ("tilde", b'~'),
    ("commat", b'@'),
    ("newline", b' '),
];

/// `&#115;`, `&#x73;` and the names above, with or without the `;`.
fn html_decoded(text: &[u8]) -> Option<Vec<u8>> {
    if !text.contains(&b'&') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'&' {
            if let Some((c, len)) = html_entity(text.get(i + 1..).unwrap_or_default()) {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 1 + len;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    (out != text).then_some(out)
}

/// The character of an entity whose `&` was just read, and its length.
fn html_entity(rest: &[u8]) -> Option<(char, usize)> {
    let semicolon = |len: usize| len + usize::from(rest.get(len) == Some(&b';'));
    if let Some(numeric) = rest.strip_prefix(b"#") {
        let (radix, digits_at) = match numeric.first() {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = rest
            .get(digits_at..)?
            .iter()
            .take_while(|b| char::from(**b).is_digit(radix))
            .count();
        if digits == 0 || digits > 7 {
            return None;
        }
        let text = std::str::from_utf8(rest.get(digits_at..digits_at + digits)?).ok()?;
        let c = char::from_u32(u32::from_str_radix(text, radix).ok()?)?;
        return Some((c, semicolon(digits_at + digits)));
    }
    let name_len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let name = rest.get(..name_len)?;
    ENTITIES
        .iter()
        .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
        .map(|(_, c)| (char::from(*c), semicolon(name_len)))
}

/// `\uXXXX` (surrogate pairs joined), `\xHH`, and `\` before any other
/// ASCII character (`\/`, `\"`, `\\`); `\n`, `\r`, `\t` as spaces.
fn backslash_decoded(text: &[u8]) -> Option<Vec<u8>> {
    if !text.contains(&b'\\') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'\\' {
            match text.get(i + 1) {
                Some(b'u' | b'U') => {
                    if let Some(len) = push_utf16_escape(text, i + 2, b'\\', &mut out) {
                        i += 2 + len;
                        continue;
                    }
                }
                Some(b'x' | b'X') => {
                    if let Some(byte) = hex_pair(text, i + 2) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
                Some(b'n' | b'r' | b't') => {
                    out.push(b' ');
                    i += 2;
                    continue;
                }
                Some(&next) if next.is_ascii_punctuation() => {
                    out.push(next);
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    (out != text).then_some(out)
}

/// Quoted-printable: `=XX`, and soft line breaks (`=` at a line's end) removed.
fn quoted_printable_decoded(text: &[u8]) -> Option<Vec<u8>> {
    if !text.contains(&b'=') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'=' {
            if let Some(byte) = hex_pair(text, i + 1) {
                out.push(byte);
                i += 3;
                continue;
            }
            let soft_break = match (text.get(i + 1), text.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => Some(3),
                (Some(b'\n'), _) => Some(2),
                _ => None,
            };
            if let Some(len) = soft_break {
                i += len;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    (out != text).then_some(out)
}

/// The 6-bit value of a base64 symbol, standard or URL-safe.
fn base64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The shortest run of symbols worth decoding (it holds at least three bytes).
const MIN_RUN: usize = 4;

/// The shortest run worth decoding when it takes `per_byte` symbols
/// (rounded up) for each byte of a secret of `bytes` bytes.
fn min_run(bytes: usize, symbols: usize, per_bytes: usize) -> usize {
    (bytes * symbols).div_ceil(per_bytes).max(MIN_RUN)
}

/// Views with every run of base64 symbols decoded, starting 0, 1, 2 and 3
/// symbols into the run (a run may begin with text glued to the blob), in
/// the text as it is and with its line breaks removed (wrapped base64).
fn base64_runs_decoded(text: &[u8], shortest: usize, out: &mut Vec<Vec<u8>>) {
    let min = min_run(shortest, 4, 3);
    let member = |b: u8| base64_value(b).is_some();
    // Line breaks only: removing spaces would glue every word into one run.
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let sources: &[&[u8]] = if compact.len() == text.len() {
        &[text]
    } else {
        &[text, &compact]
    };
    for source in sources {
        if !has_run(source, member, min) {
            continue;
        }
        for skip in 0..4 {
            out.push(runs_replaced(source, member, min, |run| {
                base64_decode_lenient(run.get(skip..).unwrap_or_default())
            }));
        }
    }
}

/// Decodes symbols four at a time; a last partial quantum gives the bytes
/// it completes. Padding ends the run before this is called.
fn base64_decode_lenient(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len() / 4 * 3 + 2);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for value in run.iter().filter_map(|&b| base64_value(b)) {
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Views with every run of hex digits decoded, from its first digit and
/// from its second; and pairs separated by `:`, `-` or a space (`73:33:63`).
fn hex_runs_decoded(text: &[u8], shortest: usize, out: &mut Vec<Vec<u8>>) {
    let min = min_run(shortest, 2, 1);
    let member = |b: u8| b.is_ascii_hexdigit();
    if has_run(text, member, min) {
        for skip in 0..2 {
            out.push(runs_replaced(text, member, min, |run| {
                run.get(skip..)
                    .unwrap_or_default()
                    .chunks_exact(2)
                    .filter_map(|pair| hex_pair(pair, 0))
                    .collect()
            }));
        }
    }
    let separator = |b: u8| matches!(b, b':' | b'-' | b' ');
    let separated = |b: u8| b.is_ascii_hexdigit() || separator(b);
    let min = min_run(shortest, 3, 1) - 1;
    if text.iter().any(|&b| separator(b)) && has_run(text, separated, min) {
        out.push(runs_replaced(text, separated, min, |run| {
            let pairs: Vec<&[u8]> = run.split(|&b| separator(b)).collect();
            if pairs.iter().all(|p| p.len() == 2) {
                pairs.iter().filter_map(|p| hex_pair(p, 0)).collect()
            } else {
                run.to_vec()
            }
        }));
    }
}

/// Views with lists of decimal bytes (`115, 51, 99`, `[115,51,99]`, Java's
/// signed `-61, -87`) decoded.
fn byte_lists_decoded(text: &[u8], shortest: usize, out: &mut Vec<Vec<u8>>) {
    let in_list = |b: u8| b.is_ascii_digit() || matches!(b, b',' | b' ' | b'-' | b'\n');
    let min = min_run(shortest, 2, 1);
    if !text.contains(&b',') || !has_run(text, in_list, min) {
        return;
    }
    out.push(runs_replaced(text, in_list, min, |run| {
        let items: Vec<&[u8]> = run
            .split(|b| matches!(b, b',' | b' ' | b'\n'))
            .filter(|item| !item.is_empty())
            .collect();
        let bytes: Option<Vec<u8>> = items
            .iter()
            .map(|item| {
                let n: i32 = std::str::from_utf8(item).ok()?.parse().ok()?;
                match n {
                    0..=255 => Some(n as u8),
                    -128..=-1 => Some((n + 256) as u8),
                    _ => None,
                }
            })
            .collect();
        match bytes {
            Some(bytes) if items.len() >= MIN_RUN => bytes,
            _ => run.to_vec(),
        }
    }));
}

/// Whether `text` has a run of at least `min` bytes for which `member` holds.
fn has_run(text: &[u8], member: impl Fn(u8) -> bool, min: usize) -> bool {
    let mut len = 0;
    for &b in text {
        len = if member(b) { len + 1 } else { 0 };
        if len >= min {
            return true;
        }
    }
    false
}

/// `text` with each run of at least `min` member bytes replaced by
/// `decode(run)`.
fn runs_replaced(
    text: &[u8],
    member: impl Fn(u8) -> bool,
    min: usize,
    decode: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let run = rest.iter().take_while(|&&b| member(b)).count();
        if run >= min {
            out.extend_from_slice(&decode(&rest[..run]));
        } else {
            out.extend_from_slice(&rest[..run]);
        }
        rest = &rest[run..];
        let other = rest.iter().take_while(|&&b| !member(b)).count();
        out.extend_from_slice(&rest[..other]);
        rest = &rest[other..];
    }
    out
}

// ---------------------------------------------------------------------------
// Server text handed to the caller.

/// Text a server sent, handed to you as it came, that prints scrubbed.
///
/// [`as_str`](Self::as_str) (and `Deref` to `str`) give the text exactly as
/// the server sent it: it is your data. `Debug` and `Display` show it with
/// control characters as spaces and cut at
/// [`MAX_MESSAGE_CHARS`](crate::MAX_MESSAGE_CHARS) characters, or, when it
/// echoes a secret the flow knew (in any of the encodings the scrubber
/// recognises, see [the crate's Security section](crate#security)), as
/// [`WITHHELD`].
///
/// ```
/// use tokendance::{itc::Reply, ServerText};
/// let answer = http::Response::new(br#"{"code":"success","msg":"Done\nnext line"}"#.to_vec());
/// let reply = Reply::from_response(&answer)?;
/// let msg: &ServerText = reply.msg.as_ref().unwrap();
/// assert_eq!(msg.as_str(), "Done\nnext line");       // raw
/// assert_eq!(msg.to_string(), "Done next line");       // printable
/// # Ok::<(), tokendance::Error>(())
/// ```
#[derive(Clone, Eq)]
pub struct ServerText {
    text: String,
    withheld: bool,
}

impl ServerText {
    /// `text`, to be printed withheld if it echoes a secret `scrubber` knows.
    pub(crate) fn checked(text: impl Into<String>, scrubber: &Scrubber) -> Self {
        let text = text.into();
        let withheld = scrubber.echoes(&text);
        ServerText { text, withheld }
    }

    /// The text exactly as the server sent it.
    ///
    /// # Security warning
    /// It may echo a secret (see [`echoes_secret`](Self::echoes_secret)): do
    /// not log it as it is.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text exactly as the server sent it, moved out.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Whether the text echoes a secret the flow knew, so that it prints
    /// as [`WITHHELD`].
    pub fn echoes_secret(&self) -> bool {
        self.withheld
    }
}

/// Text of your own, as a `ServerText` (to compare with, or to build a
/// value in a test): it prints as it is.
impl From<String> for ServerText {
    fn from(text: String) -> Self {
        ServerText {
            text,
            withheld: false,
        }
    }
}

impl From<&str> for ServerText {
    fn from(text: &str) -> Self {
        ServerText::from(text.to_owned())
    }
}

impl Deref for ServerText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for ServerText {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq for ServerText {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PartialEq<str> for ServerText {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for ServerText {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Hash for ServerText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Debug for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.withheld {
            f.write_str(WITHHELD)
        } else {
            fmt::Debug::fmt(&printable(&self.text, MAX_MESSAGE_CHARS), f)
        }
    }
}

impl fmt::Display for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.withheld {
            f.write_str(WITHHELD)
        } else {
            f.write_str(&printable(&self.text, MAX_MESSAGE_CHARS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t:Key~1";

    fn scrubber() -> Scrubber {
        Scrubber::new([SECRET])
    }

    #[test]
    fn the_reviews_encodings_are_found() {
        for echo in [
            "s3cr3t:Key~1",
            "s3cr3t%3aKey%7e1",
            "s3cr3t%3AKey~1",
            "czNjcjN0OktleX4x",
            "7333637233743a4b65797e31",
            "S3CR3T:KEY~1",
            "s3cr3t&#58;Key&#x7e;1",
            "s3cr3t&colon;Key&tilde;1",
            "s3c\u{200b}r3t:Key~1",
            "s3cr3t\\u003aKey\\u007e1",
            "password was 'czNjcjN0OktleX4x' (base64)",
            "Basic dXNlcjpzM2NyM3Q6S2V5fjE=",
            "czNjcjN0Ok\r\ntleX4x",
            "73:33:63:72:33:74:3a:4b:65:79:7e:31",
            "[115, 51, 99, 114, 51, 116, 58, 75, 101, 121, 126, 49]",
            "ｓ３ｃｒ３ｔ：Ｋｅｙ～１",
            "s3cr3t%253AKey~1",
            "s3cr3t=3AKey~1",
            "s 3 c r 3 t : K e y ~ 1",
        ] {
            assert!(scrubber().echoes(echo), "{echo:?}");
            assert_eq!(scrubber().shown(echo, 512), WITHHELD, "{echo:?}");
        }
    }

    #[test]
    fn other_texts_are_shown_printable_and_bounded() {
        for text in [
            "Invalid user credentials",
            "HTTP 401 invalid_grant: Token is not active",
            "Нэвтрэх нэр буруу",
            "czNjcjN0",
            WITHHELD,
        ] {
            assert!(!scrubber().echoes(text), "{text:?}");
        }
        assert_eq!(scrubber().shown("a\tb\nc", 512), "a b c");
        assert_eq!(scrubber().shown("abcdef", 3), "abc");
    }

    #[test]
    fn split_fields_are_withheld_together() {
        let mut code = Some("s3cr3t".to_owned());
        let mut message = Some("Key~1".to_owned());
        Scrubber::new(["s3cr3t: Key~1"]).withhold_fields(&mut [&mut code, &mut message]);
        assert_eq!(
            (code.as_deref(), message.as_deref()),
            (Some(WITHHELD), Some(WITHHELD))
        );
        let mut code = Some("invalid_grant".to_owned());
        let mut message = Some("Invalid user credentials".to_owned());
        scrubber().withhold_fields(&mut [&mut code, &mut message]);
        assert_eq!(code.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn short_secrets_are_found_only_as_a_whole_text() {
        let short = Scrubber::new(["ab"]);
        assert!(short.echoes("ab"));
        assert!(short.echoes(" AB "));
        assert!(!short.echoes("about"));
    }

    #[test]
    fn byte_secrets_are_found_decoded() {
        let mut s = Scrubber::default();
        s.add_bytes(&[0x30, 0x82, 0x01, 0xff, 0x06]);
        assert!(s.echoes("sig 308201ff06"));
        assert!(s.echoes("MIIB/wY="));
        assert!(!s.echoes("308201"));
    }

    #[test]
    fn decoders_leave_malformed_escapes_alone() {
        assert_eq!(percent_decoded(b"100%"), None);
        assert_eq!(percent_decoded(b"%zz%4"), None);
        assert_eq!(html_decoded(b"a & b &#; &#xZZ; &unknown;"), None);
        assert_eq!(backslash_decoded(b"C:\\path\\u00"), None);
        assert_eq!(backslash_decoded(b"a\\/b"), Some(b"a/b".to_vec()));
        assert_eq!(quoted_printable_decoded(b"a=b"), None);
        assert_eq!(percent_decoded(b"%F0%9F%98%80"), Some("😀".as_bytes().to_vec()));
        assert_eq!(
            backslash_decoded(br"\ud83d\ude00"),
            Some("😀".as_bytes().to_vec())
        );
    }

    #[test]
    fn views_are_bounded() {
        let text = "%25&amp;\\u0025=3D ".repeat(500) + &"QUJD".repeat(2000);
        assert!(views(text.as_bytes(), 3).len() <= MAX_VIEWS);
        assert!(!scrubber().echoes(&text));
    }

    #[test]
    fn server_text_prints_scrubbed_and_hands_out_raw() {
        let echo = ServerText::checked("echo czNjcjN0OktleX4x", &scrubber());
        assert!(echo.echoes_secret());
        assert_eq!(format!("{echo:?}"), WITHHELD);
        assert_eq!(echo.to_string(), WITHHELD);
        assert_eq!(echo.as_str(), "echo czNjcjN0OktleX4x");
        let plain = ServerText::checked("line\none", &scrubber());
        assert_eq!(format!("{plain:?}"), "\"line one\"");
        assert_eq!(plain, "line\none");
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    #[test]
    #[ignore]
    fn timing() {
        let s = Scrubber::new([
            "CANARY-pw s3cr3t: Key~1/+=",
            "CANARY-cs n0nce: Key~2&%",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
        ]);
        for text in ["Invalid user credentials", " Ѩଳஆ𖢑$vvFzl=𑼨Ⱥ༃𐍣¢s5%Àෲ=FP 🃆𑵢ᬳਫ਼{U‷𐧁¥𚿵𐠈?𱤔:፩o🞜!𖄶%[${ⶲ:[Ѩ{𑁜₅🕴'\u{1136b}𐄂xl/⁰\u{1e130}*=𑍐ࡥ~/Dאַ\\K&m￼?𝜠?<=Cm%𞴚ûട𑂬𐊕3&Ⱥ𑠐i", &"The quick brown fox jumps over the lazy dog 1234567890 ".repeat(10)] {
            let t = std::time::Instant::now();
            let n = 200;
            for _ in 0..n { std::hint::black_box(s.echoes(text)); }
            println!("{:>8.1} µs  {} views  {:?}", t.elapsed().as_secs_f64() * 1e6 / n as f64, views(text.as_bytes(), s.shortest()).len(), &text[..20.min(text.len())]);
        }
    }
}
