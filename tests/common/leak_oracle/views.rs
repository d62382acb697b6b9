//! Normalisation of a printed text into the views the oracle searches.

use super::encoders::{letters_and_digits, HTML_NAMES};

/// Invisible format characters a server may slip into an echo.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// Fullwidth ASCII (and the ideographic space) as ASCII.
fn fold_fullwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    }
}

/// `s` without invisible format characters, fullwidth ASCII folded: the
/// first of the views.
pub fn strip_and_fold(s: &str) -> String {
    s.chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_fullwidth)
        .collect()
}

/// The character an entity body (between `&` and `;`) stands for.
fn entity(body: &str) -> Option<char> {
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        // HTML5: a surrogate or a number past Unicode is U+FFFD.
        return Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "nbsp" => return Some(' '),
        "newline" => return Some('\n'),
        "tab" => return Some('\t'),
        _ => {}
    }
    HTML_NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(&lower))
        .map(|(c, _)| *c)
}

/// HTML character references decoded (numeric with or without `;`, named).
fn decode_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // The longest entity body worth trying: up to `;` or a non-name character.
        let end = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '#'))
            .map_or(after.len(), |(i, _)| i);
        let body = &after[..end.min(12)];
        match entity(body) {
            Some(c) if !body.is_empty() => {
                out.push(c);
                let consumed = body.len() + usize::from(after[body.len()..].starts_with(';'));
                rest = &after[consumed..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `%XX` decoded; with `plus`, `+` is a space (decoded before the `%XX`).
fn decode_percent(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = bytes.get(i + 1).and_then(|h| hex_value(*h));
                let low = bytes.get(i + 2).and_then(|l| hex_value(*l));
                match (high, low) {
                    (Some(h), Some(l)) => {
                        out.push((h << 4) | l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `\uXXXX` (with surrogate pairs), Rust's `\u{XXXX}`, `\xHH`, `\n`, `\r`,
/// `\t`, and `\\`, `\/`, `\"` decoded.
fn decode_backslashes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut bytes_run: Vec<u8> = Vec::new();
    let hex_at = |i: usize, n: usize| -> Option<u32> {
        let digits: String = chars.get(i..i + n)?.iter().collect();
        if digits.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&digits, 16).ok()
        } else {
            None
        }
    };
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            if chars.get(i + 1) == Some(&'x') {
                if let Some(v) = hex_at(i + 2, 2) {
                    // `\xHH` runs are bytes: collected, then read as UTF-8.
                    bytes_run.push(v as u8);
                    i += 4;
                    continue;
                }
            }
            out.push_str(&String::from_utf8_lossy(&bytes_run));
            bytes_run.clear();
            match chars.get(i + 1) {
                Some('u') if chars.get(i + 2) == Some(&'{') => {
                    // Rust's `\u{200b}`, as `{:?}` writes invisible characters.
                    let digits = chars[i + 3..]
                        .iter()
                        .take_while(|c| c.is_ascii_hexdigit())
                        .count();
                    if (1..=6).contains(&digits) && chars.get(i + 3 + digits) == Some(&'}') {
                        if let Some(c) = hex_at(i + 3, digits).and_then(char::from_u32) {
                            out.push(c);
                            i += 4 + digits;
                            continue;
                        }
                    }
                }
                Some('u') => {
                    if let Some(unit) = hex_at(i + 2, 4) {
                        let low = (chars.get(i + 6) == Some(&'\\') && chars.get(i + 7) == Some(&'u'))
                            .then(|| hex_at(i + 8, 4))
                            .flatten();
                        match (unit, low) {
                            (0xD800..=0xDBFF, Some(lo @ 0xDC00..=0xDFFF)) => {
                                let c = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
                                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                i += 12;
                            }
                            _ => {
                                out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                                i += 6;
                            }
                        }
                        continue;
                    }
                }
                Some(c @ ('\\' | '/' | '"' | '\'')) => {
                    out.push(*c);
                    i += 2;
                    continue;
                }
                Some(c @ ('n' | 'r' | 't')) => {
                    out.push(match c {
                        'n' => '\n',
                        'r' => '\r',
                        _ => '\t',
                    });
                    i += 2;
                    continue;
                }
                _ => {}
            }
            out.push('\\');
            i += 1;
        } else {
            out.push_str(&String::from_utf8_lossy(&bytes_run));
            bytes_run.clear();
            out.push(chars[i]);
            i += 1;
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes_run));
    out
}

/// A `%uXXXX` escape at the start of `s`: its UTF-16 unit.
fn percent_u_at(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    let escape = b.len() >= 6
        && b[0] == b'%'
        && matches!(b[1], b'u' | b'U')
        && b[2..6].iter().all(u8::is_ascii_hexdigit);
    // The six bytes are ASCII, so `s[2..6]` is at character boundaries.
    escape.then(|| u16::from_str_radix(&s[2..6], 16).ok()).flatten()
}

/// `%uXXXX` decoded; a run of them is read as UTF-16 (surrogate pairs
/// joined, a lone surrogate as U+FFFD).
fn decode_percent_u(s: &str) -> String {
    if !(s.contains("%u") || s.contains("%U")) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut units: Vec<u16> = Vec::new();
    let mut rest = s;
    loop {
        if let Some(unit) = percent_u_at(rest) {
            units.push(unit);
            rest = &rest[6..];
            continue;
        }
        out.extend(char::decode_utf16(units.drain(..)).map(|c| c.unwrap_or('\u{FFFD}')));
        let mut chars = rest.chars();
        match chars.next() {
            Some(c) => {
                out.push(c);
                rest = chars.as_str();
            }
            None => return out,
        }
    }
}

/// Quoted-printable decoded: `=XX` (either hex case), and soft line breaks
/// (`=` then white space to the line's end; printed, a line break may show
/// as spaces, so `=` and the white space after it) removed. A run of `=XX`
/// escapes is bytes, decoded as far as they read as UTF-8: `x=CANARY` is
/// not `x`, byte 0xCA, `NARY` (a lone 0xCA is no text), and is left alone.
fn decode_quoted_printable(s: &str) -> String {
    if !s.contains('=') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let escape_at = |j: usize| -> Option<u8> {
        if b.get(j) != Some(&b'=') {
            return None;
        }
        let high = hex_value(*b.get(j + 1)?)?;
        let low = hex_value(*b.get(j + 2)?)?;
        Some((high << 4) | low)
    };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'=' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let blank = b[i + 1..].iter().take_while(|c| c.is_ascii_whitespace()).count();
        if blank > 0 {
            i += 1 + blank;
            continue;
        }
        let mut run = Vec::new();
        while let Some(byte) = escape_at(i + 3 * run.len()) {
            run.push(byte);
        }
        let good = match std::str::from_utf8(&run) {
            Ok(_) => run.len(),
            Err(e) => e.valid_up_to(),
        };
        out.extend_from_slice(&run[..good]);
        i += 3 * good;
        if good < run.len() || run.is_empty() {
            // Not an escape that reads as text: the `=` as it is.
            out.push(b'=');
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Invisible characters removed, fullwidth folded, HTML entities decoded
/// (until nothing changes, at most three rounds).
fn normalise(s: &str) -> String {
    let mut text = strip_and_fold(s);
    for _ in 0..3 {
        let decoded = strip_and_fold(&decode_html(&text));
        if decoded == text {
            break;
        }
        text = decoded;
    }
    text
}

/// Runs of at least four decimal numbers up to 255, separated by commas
/// (the layout `Vec<u8>`'s `Debug` prints, flat or pretty), read back as
/// bytes; one line per run. Empty when there is none.
fn decode_byte_lists(s: &str) -> String {
    let mut out = String::new();
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| {
        if run.len() >= 4 {
            out.push_str(&String::from_utf8_lossy(run));
            out.push('\n');
        }
        run.clear();
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let number = s[start..i].parse::<u16>().ok().filter(|n| *n <= 255);
        // What follows: a comma (the run goes on) or anything else (it ends).
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        match number {
            Some(n) => {
                run.push(n as u8);
                if bytes.get(j) == Some(&b',') {
                    i = j + 1;
                } else {
                    flush(&mut run, &mut out);
                }
            }
            None => flush(&mut run, &mut out),
        }
    }
    flush(&mut run, &mut out);
    out
}

/// How many rounds of decoding a decoded view takes at most (each round
/// may peel several layers; three are promised).
const DECODING_ROUNDS: usize = 6;

/// `normalised` decoded layer by layer until nothing changes: each round
/// decodes `%XX`, then `%uXXXX`, then backslash escapes, then (with
/// `quoted_printable`) `=XX`, then HTML entities, so that the layers of a
/// composition come off in whatever order they were put on. With `form`,
/// the first round reads `+` as a space (as a form decoder reads the outer
/// layer); `+` made by a later layer is kept.
fn decoded(normalised: &str, form: bool, quoted_printable: bool) -> String {
    let mut text = normalised.to_owned();
    for round in 0..DECODING_ROUNDS {
        let mut next = decode_percent(&text, form && round == 0);
        next = decode_percent_u(&next);
        next = decode_backslashes(&next);
        if quoted_printable {
            next = decode_quoted_printable(&next);
        }
        let next = normalise(&next);
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// The ways a decoded view is made: its name, whether the outer layer is a
/// form (`+` a space), whether quoted-printable is decoded. Each choice is
/// also made the other way, since decoding destroys what it does not fit
/// (a base64 `+`, the `=CA` of `password=CANARY`).
const DECODINGS: [(&str, bool, bool); 4] = [
    ("decoded", false, false),
    ("form-decoded", true, false),
    ("decoded with quoted-printable", false, true),
    ("form-decoded with quoted-printable", true, true),
];

/// Which forms a view is searched for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ViewKind {
    /// The text (case-folded).
    Text,
    /// The text without white space: wrapped blobs joined.
    Squeezed,
    /// The text's letters and digits alone.
    Skeleton,
}

pub(super) struct View {
    pub(super) name: String,
    pub(super) kind: ViewKind,
    pub(super) text: String,
}

/// The views of a printed text that are searched, each case-folded: the
/// text as printed; normalised; decoded each way of [`DECODINGS`]; and the
/// same for the decimal byte lists it prints (a request body), read back as
/// bytes. Each but the first also squeezed and as letters and digits alone.
pub(super) fn views(printed: &str) -> Vec<View> {
    let mut views: Vec<View> = Vec::new();
    let mut add = |name: String, kind: ViewKind, text: String| {
        if !views.iter().any(|v| v.kind == kind && v.text == text) {
            views.push(View { name, kind, text });
        }
    };
    add("as printed".to_owned(), ViewKind::Text, printed.to_lowercase());
    let mut sources = vec![("", normalise(printed))];
    let lists = decode_byte_lists(printed);
    if !lists.is_empty() {
        sources.push(("byte list, ", normalise(&lists)));
    }
    for (prefix, normalised) in sources {
        let mut texts = vec![(format!("{prefix}normalised"), normalised.clone())];
        for (name, form, quoted_printable) in DECODINGS {
            texts.push((
                format!("{prefix}{name}"),
                decoded(&normalised, form, quoted_printable),
            ));
        }
        for (name, text) in texts {
            let lower = text.to_lowercase();
            let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
            let skeleton = letters_and_digits(&lower);
            add(format!("{name}, squeezed"), ViewKind::Squeezed, squeezed);
            add(
                format!("{name}, letters and digits"),
                ViewKind::Skeleton,
                skeleton,
            );
            add(name, ViewKind::Text, lower);
        }
    }
    views
}
