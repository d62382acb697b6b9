//! The views the scrubber compares: a text decoded as a server may have
//! encoded an echo. Each decoding is tolerant (a malformed escape is left
//! as it is) and bounded (at most [`MAX_VIEWS`] views of one text).

use std::hash::{Hash, Hasher};
use std::ops::Range;

use crate::base64::Unpacker;

/// Views made of one text, at most: enough for every composition of the
/// encodings above that a server plausibly applies, and a bound on the work.
const MAX_VIEWS: usize = 96;

/// How many textual decodings are stacked at most.
const MAX_DEPTH: usize = 3;

/// A textual decoding: `None` when it changes nothing.
type Decoding = fn(&[u8]) -> Option<Vec<u8>>;

const TEXTUAL: [Decoding; 6] = [
    invisibles_removed,
    percent_decoded,
    form_decoded,
    html_decoded,
    backslash_decoded,
    quoted_printable_decoded,
];

/// The text without its invisible format characters (zero-width spaces, a
/// BOM, soft hyphens), so that one inside an encoded run does not break it.
fn invisibles_removed(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    text.chars().any(super::is_invisible).then(|| {
        text.chars()
            .filter(|&c| !super::is_invisible(c))
            .collect::<String>()
            .into_bytes()
    })
}

/// A binary decoding: adds the views it makes, decoding only runs long
/// enough to hold a secret of the given number of bytes.
type BinaryDecoding = fn(&[u8], usize, &mut Vec<Vec<u8>>);

const BINARY: [BinaryDecoding; 3] = [base64_runs_decoded, hex_runs_decoded, byte_lists_decoded];

/// `text` and its decoded views (see the module docs), deduplicated;
/// binary runs are decoded when they can hold `shortest` bytes.
pub(super) fn views(text: &[u8], shortest: usize) -> Vec<Vec<u8>> {
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
/// A surrogate without its partner is U+FFFD, as lenient decoders show it:
/// left as an escape, its hex digits would split the letters around it.
fn push_utf16_escape(bytes: &[u8], at: usize, lead: u8, out: &mut Vec<u8>) -> Option<usize> {
    let unit = u16::try_from(hex_quad(bytes, at)?).ok()?;
    let paired = (0xD800..0xDC00).contains(&unit)
        && bytes.get(at + 4) == Some(&lead)
        && bytes.get(at + 5) == Some(&b'u');
    let low = if paired { hex_quad(bytes, at + 6) } else { None };
    let (c, len) = match low.and_then(|low| u16::try_from(low).ok()) {
        Some(low) if (0xDC00..0xE000).contains(&low) => (char::decode_utf16([unit, low]).next()?.ok()?, 10),
        _ => (
            char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
            4,
        ),
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
        // A surrogate or a number past Unicode is U+FFFD in HTML5, not text
        // whose digits would split the letters around it.
        let c = char::from_u32(u32::from_str_radix(text, radix).ok()?).unwrap_or(char::REPLACEMENT_CHARACTER);
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
/// the text as it is and with its white space removed (wrapped base64,
/// also when its line breaks were folded to spaces, as an HTML title's are).
fn base64_runs_decoded(text: &[u8], shortest: usize, out: &mut Vec<Vec<u8>>) {
    let min = min_run(shortest, 4, 3);
    let member = |b: u8| base64_value(b).is_some();
    // Words glued to the blob this way only shift where it starts in its
    // run, and every alignment is decoded.
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
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
    let mut out = Unpacker::with_capacity(run.len() / 4 * 3 + 2);
    for value in run.iter().filter_map(|&b| base64_value(b)) {
        out.push(value);
    }
    out.bytes
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
    let separated = |b: u8| b.is_ascii_hexdigit() || is_pair_separator(b);
    let min = min_run(shortest, 3, 1) - 1;
    if text.iter().any(|&b| is_pair_separator(b)) && has_run(text, separated, min) {
        out.push(runs_replaced(text, separated, min, separated_pairs_decoded));
    }
}

fn is_pair_separator(b: u8) -> bool {
    matches!(b, b':' | b'-' | b' ')
}

/// A run of hex digits and separators with each chain of two or more pairs
/// joined by single separators (`73:33:63`) decoded, and the rest as it is:
/// a word ending in hex letters before the pairs (`password: 73:…` is the
/// run `d: 73:…`), a doubled separator. A longer group at either end of a
/// chain lends it the two digits on its side (`9856d-64-6c` is `985` then
/// the pairs `6d 64 6c`): an echo glued to other hex digits is still found.
fn separated_pairs_decoded(run: &[u8]) -> Vec<u8> {
    let pieces: Vec<&[u8]> = run.split(|&b| is_pair_separator(b)).collect();
    // The separator after each piece: pieces are one separator apart.
    let mut separators = Vec::with_capacity(pieces.len());
    let mut at = 0;
    for piece in &pieces {
        at += piece.len();
        separators.push(run.get(at).copied());
        at += 1;
    }
    let mut out = Vec::with_capacity(run.len());
    let mut k = 0;
    // Digits at the start of `pieces[k]` a chain already took.
    let mut taken = 0;
    while let Some(whole) = pieces.get(k) {
        let piece = whole.get(taken..).unwrap_or_default();
        let pairs_after = pieces[k + 1..].iter().take_while(|p| p.len() == 2).count();
        let end = k + 1 + pairs_after;
        let glued_end = pieces.get(end).is_some_and(|p| p.len() > 2);
        let chain = 1 + pairs_after + usize::from(glued_end);
        if piece.len() >= 2 && chain >= 2 {
            let (raw, first) = piece.split_at(piece.len() - 2);
            out.extend_from_slice(raw);
            out.extend(hex_pair(first, 0));
            out.extend(pieces[k + 1..end].iter().filter_map(|p| hex_pair(p, 0)));
            if glued_end {
                // The rest of the longer group may begin a chain of its own.
                out.extend(hex_pair(pieces[end], 0));
                (k, taken) = (end, 2);
                continue;
            }
            k = end - 1;
        } else {
            out.extend_from_slice(piece);
        }
        out.extend(separators[k]);
        k += 1;
        taken = 0;
    }
    out
}

/// Views with lists of decimal bytes (`115, 51, 99`, `[115,51,99]`, Java's
/// signed `-61, -87`) decoded, also where an element is glued to other
/// digits (`…, 32, 511e400`): see [`byte_list_decoded`].
fn byte_lists_decoded(text: &[u8], shortest: usize, out: &mut Vec<Vec<u8>>) {
    let min = min_run(shortest, 2, 1);
    if !text.contains(&b',') || !has_run(text, is_in_byte_list, min) {
        return;
    }
    // Where a chain begins inside glued digits, how many of them its first
    // element has is a guess (`1251` may end in `251` or `51`): one view per
    // guess. The first element's digits never number more than four (`-128`).
    let mut made: Vec<Vec<u8>> = Vec::with_capacity(4);
    for head in 1..=4 {
        let view = runs_replaced(text, is_in_byte_list, min, |run| byte_list_decoded(run, head));
        if !made.contains(&view) {
            made.push(view);
        }
    }
    out.extend(made);
}

fn is_in_byte_list(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b',' | b' ' | b'-' | b'\n')
}

fn is_byte_list_separator(b: u8) -> bool {
    matches!(b, b',' | b' ' | b'\n')
}

/// One element of a decimal list as a byte: `0` to `255`, or `-128` to `-1`
/// as Java prints a signed byte.
fn list_byte(element: &[u8]) -> Option<u8> {
    let n: i32 = std::str::from_utf8(element).ok()?.parse().ok()?;
    match n {
        0..=255 => u8::try_from(n).ok(),
        -128..=-1 => u8::try_from(n + 256).ok(),
        _ => None,
    }
}

/// A piece of a decimal-list run, in order.
#[derive(Clone, Copy, PartialEq)]
enum ListPiece {
    /// An element that is a byte, or the part of glued digits read as one.
    Byte(u8),
    /// Separators between elements.
    Separator,
    /// Digits that belong to no element.
    Other,
}

/// `run` with each chain of at least [`MIN_RUN`] byte elements decoded and
/// everything else left as it is. An element that is not a byte (an echo
/// glued to other digits: `32, 511`) is split: its longest prefix that is a
/// byte ends the chain before it, and its last `head` digits, if they are a
/// byte, begin the chain after it. A run that is one whole list decodes as
/// a whole, so one bad element no longer hides the rest.
fn byte_list_decoded(run: &[u8], head: usize) -> Vec<u8> {
    // Elements and the separators between them, alternating.
    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    while let Some(&first) = run.get(at) {
        let separators = is_byte_list_separator(first);
        let len = run[at..]
            .iter()
            .take_while(|&&b| is_byte_list_separator(b) == separators)
            .count();
        spans.push(at..at + len);
        at += len;
    }
    let is_element = |span: &Range<usize>| !is_byte_list_separator(run[span.start]);
    let whole: Vec<Option<u8>> = spans
        .iter()
        .map(|span| is_element(span).then(|| list_byte(&run[span.clone()])).flatten())
        .collect();
    let mut pieces: Vec<(Range<usize>, ListPiece)> = Vec::with_capacity(spans.len() + 2);
    for (k, span) in spans.iter().enumerate() {
        let digits = &run[span.clone()];
        if let Some(b) = whole[k] {
            pieces.push((span.clone(), ListPiece::Byte(b)));
            continue;
        }
        if !is_element(span) {
            pieces.push((span.clone(), ListPiece::Separator));
            continue;
        }
        // The elements next to this one are two spans away.
        let after_chain = k.checked_sub(2).is_some_and(|j| whole[j].is_some());
        let before_chain = whole.get(k + 2).copied().flatten().is_some();
        let tail = (1..=4)
            .rev()
            .filter(|_| after_chain)
            .find_map(|n| Some((n, list_byte(digits.get(..n)?)?)));
        let taken = tail.map_or(0, |(n, _)| n);
        let lead = digits
            .len()
            .checked_sub(head)
            .filter(|&from| before_chain && from >= taken && (head == 1 || digits[from] != b'0'))
            .and_then(|from| Some((from, list_byte(&digits[from..])?)));
        let rest = lead.map_or(digits.len(), |(from, _)| from);
        let start = span.start;
        if let Some((n, b)) = tail {
            pieces.push((start..start + n, ListPiece::Byte(b)));
        }
        if taken < rest {
            pieces.push((start + taken..start + rest, ListPiece::Other));
        }
        if let Some((from, b)) = lead {
            pieces.push((start + from..span.end, ListPiece::Byte(b)));
        }
    }
    let mut out = Vec::with_capacity(run.len());
    let mut k = 0;
    while let Some((span, piece)) = pieces.get(k) {
        if !matches!(piece, ListPiece::Byte(_)) {
            out.extend_from_slice(&run[span.clone()]);
            k += 1;
            continue;
        }
        // A chain: bytes and the separators between them, to its last byte.
        let reach = pieces[k..]
            .iter()
            .take_while(|(_, p)| *p != ListPiece::Other)
            .count();
        let last = k + pieces[k..k + reach]
            .iter()
            .rposition(|(_, p)| matches!(p, ListPiece::Byte(_)))
            .unwrap_or(0);
        let bytes: Vec<u8> = pieces[k..=last]
            .iter()
            .filter_map(|(_, p)| match p {
                ListPiece::Byte(b) => Some(*b),
                _ => None,
            })
            .collect();
        if bytes.len() >= MIN_RUN {
            out.extend(bytes);
        } else {
            out.extend_from_slice(&run[span.start..pieces[last].0.end]);
        }
        k = last + 1;
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_unpaired_surrogate_escape_is_the_replacement_character() {
        let replaced = |text: &str| Some(text.replace('?', "\u{FFFD}").into_bytes());
        assert_eq!(backslash_decoded(br"ab\ud800cd"), replaced("ab?cd"));
        assert_eq!(backslash_decoded(br"ab\udfffcd"), replaced("ab?cd"));
        assert_eq!(backslash_decoded(br"ab\udbff\u0020cd"), replaced("ab? cd"));
        assert_eq!(backslash_decoded(br"\ud800\ud800"), replaced("??"));
        assert_eq!(percent_decoded(b"ab%uD800cd"), replaced("ab?cd"));
        assert_eq!(html_decoded(b"ab&#xD800;cd&#1114112;"), replaced("ab?cd?"));
        assert_eq!(
            percent_decoded(b"%uD83D%uDE00"),
            Some("\u{1F600}".as_bytes().to_vec())
        );
    }

    #[test]
    fn separated_pairs_are_decoded_wherever_the_run_starts() {
        assert_eq!(separated_pairs_decoded(b"73:33:63"), b"s3c");
        assert_eq!(separated_pairs_decoded(b"d: 73:33:63 e"), b"d: s3c e");
        assert_eq!(separated_pairs_decoded(b"de 73-33"), b"\xde\x73\x33");
        // A doubled separator ends a chain; a longer group lends its digits.
        assert_eq!(separated_pairs_decoded(b"ab:73::33"), b"\xab\x73::33");
        assert_eq!(separated_pairs_decoded(b"73::33"), b"73::33");
        assert_eq!(separated_pairs_decoded(b"9856d-64-6c"), b"985mdl");
        assert_eq!(separated_pairs_decoded(b"64-6c-70ab"), b"dlpab");
        assert_eq!(separated_pairs_decoded(b"0064-6c-70ab:1"), b"00dlpab:1");
        assert_eq!(separated_pairs_decoded(b"abc"), b"abc");
        assert_eq!(separated_pairs_decoded(b"a:b:c"), b"a:b:c");
        assert_eq!(separated_pairs_decoded(b""), b"");
    }

    #[test]
    fn byte_lists_are_decoded_in_chains_and_glued_digits_give_their_ends() {
        let decoded = |run: &[u8], head| String::from_utf8_lossy(&byte_list_decoded(run, head)).into_owned();
        // A whole list, as before; separators go, Java's signed bytes count.
        assert_eq!(decoded(b"115, 51, 99, 114", 1), "s3cr");
        assert_eq!(byte_list_decoded(b"-61,-87,115,51", 1), b"\xc3\xa9s3");
        // The fuzzer's case: the last element glued to digits after it.
        assert_eq!(decoded(b"1\n 101,\n 109,\n 100,\n 32,\n 511", 1), "\u{1}emd 31");
        // Glued before the first element: each guess of its width is a view.
        assert_eq!(decoded(b"1251,115,99,114", 2), "123scr");
        assert_eq!(decoded(b"9115,51,99,114", 3), "9s3cr");
        // A bad element in the middle splits the list and gives each side its
        // ends (`99` and `9` of `9999`; one `9` is left).
        assert_eq!(decoded(b"115,51,99,114,9999,116,101,115,116", 1), "s3crc9\ttest");
        // Chains too short to hold a secret stay as they are.
        assert_eq!(decoded(b"404, 9999, 1, 2", 1), "404, 9999, 1, 2");
        assert_eq!(decoded(b"-, --, 1-2", 1), "-, --, 1-2");
    }

    #[test]
    #[cfg_attr(miri, ignore = "checks a bound on work; minutes under miri")]
    fn views_are_bounded() {
        let text = "%25&amp;\\u0025=3D ".repeat(500) + &"QUJD".repeat(2000);
        assert!(views(text.as_bytes(), 3).len() <= MAX_VIEWS);
        assert!(!crate::scrub::Scrubber::new(["s3cr3t:Key~1"]).echoes(&text));
    }
}
