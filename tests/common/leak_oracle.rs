//! An oracle, independent of tokendance, that says whether a printed text
//! shows a secret in any form a hostile server could echo it in.
//!
//! Two halves:
//! * [`encodings`]: every way a server might echo a secret back (the attacks
//!   the suites plant), among them every form the README promises: case
//!   changes, invisible and fullwidth characters, percent (either hex case,
//!   `%uXXXX`), form, HTML-entity, backslash and quoted-printable escapes,
//!   base64 (standard and URL-safe, at every alignment, wrapped with CRLF),
//!   hex (also `73:33:63`), the letters and digits alone, a separator after
//!   every character, and compositions of three layers;
//! * [`Oracle`]: built from every secret a flow knows, it finds any of them
//!   in a printed text. It works in both directions, so that it is stronger
//!   than either alone: the printed text is normalised into several views
//!   (invisible format characters removed, fullwidth ASCII folded, HTML
//!   entities decoded, case folded; then decoded layer by layer until
//!   nothing changes: `%XX`, `%uXXXX`, backslash escapes, HTML entities,
//!   each way round for `+` as a space and for quoted-printable `=XX`;
//!   decimal byte lists read back as bytes), each view also with its white
//!   space squeezed out and as its letters and digits alone, and each view
//!   is searched for forward-encoded forms of each secret (plain, percent
//!   forms, the base64 characters that depend only on the secret at each of
//!   the three alignments inside a longer blob, also in the squeezed views
//!   (wrapped blobs), hex, also in separated pairs, byte lists, JSON and
//!   backslash escapes, and, for secrets with at least
//!   [`LETTERS_AND_DIGITS_MIN`] of them, the letters and digits alone in the
//!   letters-and-digits views).
//!
//! Nothing here calls tokendance: an oracle that shared the crate's
//! normalisation would share its blind spots.

use std::collections::HashMap;
use std::sync::Mutex;

/// Forward forms shorter than this are not searched (they would match by
/// chance); the plain secret always is.
pub const MIN_FORM_LEN: usize = 8;

/// Secrets with at least this many letters and digits are also found as
/// their letters and digits alone, in a text's letters and digits (the
/// README's promise).
pub const LETTERS_AND_DIGITS_MIN: usize = 8;

pub const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// ---------------------------------------------------------------------------
// Encoders, each a pure function written here.

/// Base64 of `bytes` in `alphabet`, with `=` padding or without.
pub fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    // A bit accumulator: 8 bits in per byte, 6 bits out per character.
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        acc = ((acc << 8) | u32::from(byte)) & 0xFFFF;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(alphabet[((acc >> bits) & 0x3F) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[((acc << (6 - bits)) & 0x3F) as usize]));
    }
    if pad {
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
    }
    out
}

/// The base64 characters that depend only on `secret`'s bits when it starts
/// `shift` bytes (mod 3) into a longer encoded blob: whatever surrounds it,
/// these characters appear in the blob's encoding.
pub fn base64_core(secret: &[u8], shift: usize, alphabet: &[u8; 64]) -> String {
    let mut shifted = vec![b'.'; shift];
    shifted.extend_from_slice(secret);
    let encoded = base64(&shifted, alphabet, false);
    // Character i carries bits [6i, 6i + 6); the secret's bits are
    // [8 shift, 8 (shift + len)).
    let first = (8 * shift).div_ceil(6);
    let end = (8 * shifted.len()) / 6;
    encoded.get(first..end).unwrap_or_default().to_owned()
}

fn hex_digit(nibble: u8, upper: bool) -> char {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    char::from(digits[usize::from(nibble & 0xF)])
}

/// Every byte as two hex digits.
pub fn hex(bytes: &[u8], upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(hex_digit(b >> 4, upper));
        out.push(hex_digit(b, upper));
    }
    out
}

/// RFC 3986 unreserved bytes.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What JavaScript's `encodeURIComponent` leaves alone.
pub fn is_uri_component(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

/// What `application/x-www-form-urlencoded` leaves alone.
pub fn is_form_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

/// Percent-encodes every byte `keep` refuses; a space becomes `space_as`
/// when given (`+` in forms).
pub fn percent(bytes: &[u8], keep: fn(u8) -> bool, space_as: Option<char>, upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if keep(b) {
            out.push(char::from(b));
        } else if let (b' ', Some(c)) = (b, space_as) {
            out.push(c);
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4, upper));
            out.push(hex_digit(b, upper));
        }
    }
    out
}

/// HTML5 names of ASCII punctuation (for the characters that have one).
const HTML_NAMES: &[(char, &str)] = &[
    ('!', "excl"),
    ('"', "quot"),
    ('#', "num"),
    ('$', "dollar"),
    ('%', "percnt"),
    ('&', "amp"),
    ('\'', "apos"),
    ('(', "lpar"),
    (')', "rpar"),
    ('*', "ast"),
    ('+', "plus"),
    (',', "comma"),
    ('.', "period"),
    ('/', "sol"),
    (':', "colon"),
    (';', "semi"),
    ('<', "lt"),
    ('=', "equals"),
    ('>', "gt"),
    ('?', "quest"),
    ('@', "commat"),
    ('[', "lsqb"),
    ('\\', "bsol"),
    (']', "rsqb"),
    ('^', "Hat"),
    ('_', "lowbar"),
    ('`', "grave"),
    ('{', "lcub"),
    ('|', "verbar"),
    ('}', "rcub"),
];

fn html_name(c: char) -> Option<&'static str> {
    HTML_NAMES.iter().find(|(k, _)| *k == c).map(|(_, n)| *n)
}

/// Every character as `\uXXXX` (UTF-16 code units, as JSON writes them).
pub fn json_u_escapes(s: &str) -> String {
    let mut out = String::new();
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out
}

/// Fullwidth forms (U+FF01..U+FF5E) of visible ASCII; other characters kept.
pub fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// `insert` placed after every character of `s`.
fn interleave(s: &str, insert: char) -> String {
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        out.push(insert);
    }
    out
}

/// `insert` placed in the middle of `s` (at a character boundary).
fn in_the_middle(s: &str, insert: char) -> String {
    let half = s.chars().count() / 2;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == half {
            out.push(insert);
        }
        out.push(c);
    }
    out
}

/// `s` with `line_break` put after every `width` characters (a wrapped blob,
/// as MIME and PEM wrap base64).
pub fn wrapped(s: &str, width: usize, line_break: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|line| line.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(line_break)
}

/// Every byte as two hex digits, the pairs joined by `separator` (`73:33:63`).
pub fn hex_pairs(bytes: &[u8], upper: bool, separator: &str) -> String {
    bytes
        .iter()
        .map(|b| hex(&[*b], upper))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Quoted-printable (RFC 2045) tokens: one per byte, `=XX` (upper hex) for
/// every byte `keep` refuses.
fn quoted_printable_tokens(bytes: &[u8], keep: fn(u8) -> bool) -> Vec<String> {
    bytes
        .iter()
        .map(|&b| {
            if keep(b) && b != b'=' {
                char::from(b).to_string()
            } else {
                format!("={}", hex(&[b], true))
            }
        })
        .collect()
}

/// Quoted-printable: every byte `keep` refuses (and `=`) as `=XX`.
pub fn quoted_printable(bytes: &[u8], keep: fn(u8) -> bool) -> String {
    quoted_printable_tokens(bytes, keep).concat()
}

/// Quoted-printable with a soft line break (`=` CRLF) after half the bytes.
pub fn quoted_printable_soft_break(bytes: &[u8], keep: fn(u8) -> bool) -> String {
    let mut tokens = quoted_printable_tokens(bytes, keep);
    tokens.insert(tokens.len() / 2, "=\r\n".to_owned());
    tokens.concat()
}

/// Every UTF-16 unit as `%uXXXX` (what JavaScript's old `escape` writes
/// for characters past U+00FF, here for every character).
pub fn percent_u(s: &str) -> String {
    s.encode_utf16().map(|unit| format!("%u{unit:04X}")).collect()
}

/// The letters and digits of `s` (Unicode's), in order.
pub fn letters_and_digits(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A separator after every character of `s`: a space, `.`, `-` and `_` in turn.
fn separated(s: &str) -> String {
    let mut out = String::new();
    for (c, separator) in s.chars().zip([' ', '.', '-', '_'].iter().cycle()) {
        out.push(c);
        out.push(*separator);
    }
    out
}

fn prefixed(prefix: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(secret);
    v
}

/// Every way a hostile server might echo `secret`, named.
///
/// The forms that only a secret with at least [`LETTERS_AND_DIGITS_MIN`]
/// letters and digits is promised to be found in (its letters and digits
/// alone, a separator after every character) are the plain secret for a
/// shorter one, so that every secret has the same forms in the same order.
pub fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    let b = secret.as_bytes();
    let b64 = base64(b, B64_STD, true);
    let alnum = letters_and_digits(secret);
    let long = alnum.chars().count() >= LETTERS_AND_DIGITS_MIN;
    let alnum_only = |b: u8| b.is_ascii_alphanumeric();
    vec![
        ("plain", secret.to_owned()),
        ("UPPER", secret.to_uppercase()),
        ("lower", secret.to_lowercase()),
        (
            "form-urlencoded",
            url::form_urlencoded::byte_serialize(b).collect(),
        ),
        (
            "percent-encoded reserved bytes, upper hex",
            percent(b, is_unreserved, None, true),
        ),
        (
            "percent-encoded reserved bytes, lower hex",
            percent(b, is_unreserved, None, false),
        ),
        ("encodeURIComponent", percent(b, is_uri_component, None, true)),
        ("percent-encoded every byte", percent(b, |_| false, None, true)),
        (
            "percent-encoded every byte, lower hex",
            percent(b, |_| false, None, false),
        ),
        (
            "double percent-encoded",
            percent(
                percent(b, is_unreserved, None, true).as_bytes(),
                is_unreserved,
                None,
                true,
            ),
        ),
        (
            "HTML decimal entities",
            secret.chars().map(|c| format!("&#{};", u32::from(c))).collect(),
        ),
        (
            "HTML hex entities",
            secret
                .chars()
                .map(|c| format!("&#x{:x};", u32::from(c)))
                .collect(),
        ),
        (
            "HTML named entities",
            secret
                .chars()
                .map(|c| html_name(c).map_or_else(|| c.to_string(), |n| format!("&{n};")))
                .collect(),
        ),
        ("JSON \\u escapes", json_u_escapes(secret)),
        (
            "backslash \\x escapes",
            b.iter().map(|x| format!("\\x{x:02x}")).collect(),
        ),
        ("base64", b64.clone()),
        ("base64 unpadded", base64(b, B64_STD, false)),
        ("base64url unpadded", base64(b, B64_URL, false)),
        (
            "base64 of 1 byte + secret",
            base64(&prefixed(b"~", b), B64_STD, true),
        ),
        (
            "base64 of 2 bytes + secret",
            base64(&prefixed(b"~~", b), B64_STD, true),
        ),
        (
            "base64url of 1 byte + secret",
            base64(&prefixed(b"?", b), B64_URL, false),
        ),
        (
            "base64url of 2 bytes + secret",
            base64(&prefixed(b"??", b), B64_URL, false),
        ),
        ("hex", hex(b, false)),
        ("HEX", hex(b, true)),
        (
            "zero-width space after every character",
            interleave(secret, '\u{200B}'),
        ),
        ("soft hyphen in the middle", in_the_middle(secret, '\u{AD}')),
        ("BOM in front", format!("\u{FEFF}{secret}")),
        ("fullwidth", fullwidth(secret)),
        (
            "base64, percent-encoded",
            percent(b64.as_bytes(), is_unreserved, None, true),
        ),
        (
            "Basic base64(user:secret)",
            format!("Basic {}", base64(&prefixed(b"user:", b), B64_STD, true)),
        ),
        (
            "base64 wrapped with CRLF every 12 characters",
            wrapped(&b64, 12, "\r\n"),
        ),
        ("hex pairs joined by ':'", hex_pairs(b, false, ":")),
        ("HEX pairs joined by '-'", hex_pairs(b, true, "-")),
        ("quoted-printable, every byte", quoted_printable(b, |_| false)),
        (
            "quoted-printable, letters and digits kept, a soft line break",
            quoted_printable_soft_break(b, alnum_only),
        ),
        ("%uXXXX escapes", percent_u(secret)),
        (
            "letters and digits only",
            if long { alnum.clone() } else { secret.to_owned() },
        ),
        (
            "a separator after every character",
            if long {
                separated(secret)
            } else {
                secret.to_owned()
            },
        ),
        (
            "base64, then \\u escapes, then percent-encoded",
            percent(json_u_escapes(&b64).as_bytes(), is_unreserved, None, true),
        ),
        (
            "\\u escapes, then quoted-printable, then percent-encoded",
            percent(
                quoted_printable(json_u_escapes(secret).as_bytes(), alnum_only).as_bytes(),
                is_unreserved,
                None,
                true,
            ),
        ),
    ]
}

// ---------------------------------------------------------------------------
// Normalisation of a printed text.

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
        return char::from_u32(code);
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
enum ViewKind {
    /// The text (case-folded).
    Text,
    /// The text without white space: wrapped blobs joined.
    Squeezed,
    /// The text's letters and digits alone.
    Skeleton,
}

struct View {
    name: String,
    kind: ViewKind,
    text: String,
}

/// The views of a printed text that are searched, each case-folded: the
/// text as printed; normalised; decoded each way of [`DECODINGS`]; and the
/// same for the decimal byte lists it prints (a request body), read back as
/// bytes. Each but the first also squeezed and as letters and digits alone.
fn views(printed: &str) -> Vec<View> {
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

// ---------------------------------------------------------------------------
// The oracle.

/// A forward form of a secret: its name, its case-folded text, and the
/// kinds of view it is searched in.
struct Form {
    name: &'static str,
    text: String,
    kinds: &'static [ViewKind],
}

const TEXT: &[ViewKind] = &[ViewKind::Text];
const SQUEEZED: &[ViewKind] = &[ViewKind::Squeezed];
/// Blobs: as they are, and wrapped (line breaks printed as breaks, as
/// `\r\n` escapes or as spaces).
const TEXT_OR_SQUEEZED: &[ViewKind] = &[ViewKind::Text, ViewKind::Squeezed];
const SKELETON: &[ViewKind] = &[ViewKind::Skeleton];

struct Known {
    label: String,
    forms: Vec<Form>,
}

fn forward_forms(secret: &[u8]) -> Vec<Form> {
    let mut forms: Vec<(&'static str, String, &'static [ViewKind])> = Vec::new();
    let text = std::str::from_utf8(secret).ok();
    if let Some(s) = text {
        forms.push(("plain", s.to_owned(), TEXT));
        let json = serde_json::to_string(s).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        forms.push(("JSON-escaped", json.clone(), TEXT));
        forms.push(("JSON-escaped with \\/", json.replace('/', "\\/"), TEXT));
        let debug = format!("{s:?}");
        forms.push(("Rust {:?}-escaped", debug.trim_matches('"').to_owned(), TEXT));
        forms.push(("\\u escapes", json_u_escapes(s), TEXT));
        let squeezed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        forms.push(("plain, whitespace squeezed", squeezed, SQUEEZED));
        let alnum = letters_and_digits(&s.to_lowercase());
        if alnum.chars().count() >= LETTERS_AND_DIGITS_MIN {
            forms.push(("letters and digits alone", alnum, SKELETON));
        }
    }
    forms.push((
        "percent-encoded (%20)",
        percent(secret, is_unreserved, None, false),
        TEXT,
    ));
    forms.push((
        "percent-encoded (+ for space)",
        percent(secret, is_unreserved, Some('+'), false),
        TEXT,
    ));
    forms.push((
        "form-urlencoded",
        percent(secret, is_form_safe, Some('+'), false),
        TEXT,
    ));
    forms.push((
        "encodeURIComponent",
        percent(secret, is_uri_component, None, false),
        TEXT,
    ));
    forms.push((
        "percent every byte",
        percent(secret, |_| false, None, false),
        TEXT,
    ));
    forms.push((
        "double percent-encoded",
        percent(
            percent(secret, is_unreserved, None, false).as_bytes(),
            is_unreserved,
            None,
            false,
        ),
        TEXT,
    ));
    const CORES: [(&str, &[u8; 64], usize); 6] = [
        ("base64 core at offset 0", B64_STD, 0),
        ("base64 core at offset 1", B64_STD, 1),
        ("base64 core at offset 2", B64_STD, 2),
        ("base64url core at offset 0", B64_URL, 0),
        ("base64url core at offset 1", B64_URL, 1),
        ("base64url core at offset 2", B64_URL, 2),
    ];
    for (name, alphabet, shift) in CORES {
        forms.push((name, base64_core(secret, shift, alphabet), TEXT_OR_SQUEEZED));
    }
    forms.push(("hex", hex(secret, false), TEXT));
    let decimal: Vec<String> = secret.iter().map(|b| b.to_string()).collect();
    forms.push(("decimal byte list {:?}", decimal.join(", "), TEXT));
    forms.push(("decimal byte list {:#?}", decimal.join(",\n    "), TEXT));
    forms.push(("decimal byte list (any layout)", decimal.join(","), SQUEEZED));
    let hex_list: Vec<String> = secret.iter().map(|b| format!("{b:x}")).collect();
    forms.push(("hex byte list {:x?}", hex_list.join(", "), TEXT));
    for (name, separator) in [
        ("hex pairs joined by ':'", ":"),
        ("hex pairs joined by '-'", "-"),
        ("hex pairs joined by ' '", " "),
    ] {
        forms.push((name, hex_pairs(secret, false, separator), TEXT));
    }

    let mut out: Vec<Form> = Vec::new();
    for (name, text, kinds) in forms {
        let text = text.to_lowercase();
        let long_enough = text.chars().count() >= MIN_FORM_LEN || name == "plain";
        if text.is_empty() || !long_enough {
            continue;
        }
        if out.iter().any(|f| f.text == text && f.kinds == kinds) {
            continue;
        }
        out.push(Form { name, text, kinds });
    }
    out
}

/// Finds any known secret, in any form, in a printed text.
pub struct Oracle {
    known: Vec<Known>,
    /// Printed texts repeat (flow Debug, constant errors): each is judged once.
    cache: Mutex<HashMap<String, Option<String>>>,
}

impl Oracle {
    /// An oracle for text secrets and raw byte secrets (DER signatures).
    pub fn new(secrets: &[&str], raw: &[&[u8]]) -> Self {
        let mut known: Vec<Known> = secrets
            .iter()
            .map(|s| Known {
                label: format!("{s:?}"),
                forms: forward_forms(s.as_bytes()),
            })
            .collect();
        known.extend(raw.iter().map(|b| Known {
            label: format!("bytes {:?}", String::from_utf8_lossy(b)),
            forms: forward_forms(b),
        }));
        Oracle {
            known,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How many secrets the oracle knows.
    pub fn secrets(&self) -> usize {
        self.known.len()
    }

    /// A description of the first secret found in `printed` (which secret,
    /// in which form, in which view, and where), or `None`.
    pub fn find(&self, printed: &str) -> Option<String> {
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(printed) {
            return hit.clone();
        }
        let hit = self.search(printed);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(printed.to_owned(), hit.clone());
        hit
    }

    fn search(&self, printed: &str) -> Option<String> {
        let views = views(printed);
        for known in &self.known {
            for form in &known.forms {
                for view in views.iter().filter(|v| form.kinds.contains(&v.kind)) {
                    if let Some(at) = view.text.find(&form.text) {
                        return Some(format!(
                            "secret {} as {} in the {} view: …{}…",
                            known.label,
                            form.name,
                            view.name,
                            around(&view.text, at, form.text.len())
                        ));
                    }
                }
            }
        }
        None
    }
}

/// Up to 24 characters either side of `text[at..at + len]`.
fn around(text: &str, at: usize, len: usize) -> String {
    let start = text[..at].char_indices().rev().nth(23).map_or(0, |(i, _)| i);
    let end = text[at + len..]
        .char_indices()
        .nth(24)
        .map_or(text.len(), |(i, _)| at + len + i);
    text[start..end].to_owned()
}
