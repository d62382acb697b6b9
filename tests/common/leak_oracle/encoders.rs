//! Encoders, each a pure function written here: the ways a server might
//! echo a secret back.

use super::{B64_STD, B64_URL, LETTERS_AND_DIGITS_MIN};

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
pub(super) const HTML_NAMES: &[(char, &str)] = &[
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

/// Every byte in decimal, `0` to `255` or, as Java prints a signed byte,
/// `-128` to `127`, joined by `separator`.
pub fn decimal_bytes(bytes: &[u8], signed: bool, separator: &str) -> String {
    bytes
        .iter()
        .map(|&b| {
            if signed {
                i8::from_ne_bytes([b]).to_string()
            } else {
                b.to_string()
            }
        })
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

/// `s` with the separators, in turn, after each character: escapes that
/// decode to no letter or digit (a lone surrogate is U+FFFD).
fn interleave_str(s: &str, separators: &[&str]) -> String {
    let mut out = String::new();
    for (c, separator) in s.chars().zip(separators.iter().cycle()) {
        out.push(c);
        out.push_str(separator);
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
        ("base64, lower-cased", b64.to_lowercase()),
        (
            "percent-encoded after a stray '%2'",
            format!("%2{}", percent(b, is_unreserved, None, false)),
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
        (
            "hex pairs joined by '-', glued to hex digits on both sides",
            format!("9a5{}b7", hex_pairs(b, false, "-")),
        ),
        ("decimal bytes joined by ', '", decimal_bytes(b, false, ", ")),
        (
            "a JSON array of Java's signed bytes",
            format!("[{}]", decimal_bytes(b, true, ",")),
        ),
        (
            "decimal bytes, pretty-printed, glued to digits on both sides",
            format!("{{\"k\": [\n  12{}1e400\n]}}", decimal_bytes(b, false, ",\n  ")),
        ),
        (
            "signed decimal bytes glued to digits on both sides",
            format!("9{}7", decimal_bytes(b, true, ", ")),
        ),
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
            "lone surrogate escapes and references between its characters",
            if long {
                interleave_str(
                    secret,
                    &["\\ud800", "%uDFFF", "\\uDBFF\\u0020", "&#xD800;", "&#56320;"],
                )
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
