//! An oracle for the paths and queries the crate builds from a caller's or
//! a server's values, written without the crate: the rule for a value that
//! becomes one path segment, and strict decoders of a segment and of a
//! form-encoded query, as the crate documents its encoding (raw bytes only
//! where RFC 3986 or the form encoding leaves them alone, everything else a
//! `%XX` escape).
//!
//! Shared by the suites and the fuzz harness (`fuzz/src/harness/mod.rs`
//! includes this file, and the leak oracle beside it, by path), so it uses
//! only `std`.

use super::leak_oracle::{is_form_safe, is_unreserved};

/// One or two "dots", each `.` or `%2e` in any case.
pub fn is_dot_segment(value: &str) -> bool {
    let mut rest = value.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// Whether a value that becomes one path segment must be refused: empty, a
/// dot segment, or holding a control character (`char::is_control`: C0
/// with tab, CR and LF, DEL, C1).
pub fn segment_must_be_refused(value: &str) -> bool {
    value.is_empty() || is_dot_segment(value) || value.chars().any(char::is_control)
}

/// `text` percent-decoded: every `%` starts a `%XX` escape, `+` is a space
/// when `plus`, and a raw byte must be one `raw` allows; else where and
/// what went wrong.
fn percent_decode(text: &str, plus: bool, raw: fn(u8) -> bool) -> Result<Vec<u8>, (usize, String)> {
    let bytes = text.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|h| char::from(*h).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                }
                _ => return Err((i, "a `%` that starts no %XX escape".to_owned())),
            },
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b if raw(b) => {
                out.push(b);
                i += 1;
            }
            b if b.is_ascii_graphic() => return Err((i, format!("a raw {:?}", char::from(b)))),
            b => return Err((i, format!("a raw byte {b:#04x}"))),
        }
    }
    Ok(out)
}

/// A strict percent-decoder for one path segment: raw bytes are RFC 3986
/// unreserved (`A-Z a-z 0-9 - . _ ~`), everything else a `%XX` escape.
pub fn decode_segment(encoded: &str) -> Result<Vec<u8>, String> {
    percent_decode(encoded, false, is_unreserved).map_err(|(i, what)| format!("{what} at {i}"))
}

/// A strict `application/x-www-form-urlencoded` decoder: pairs split at
/// `&`, key and value at the first `=`, `+` a space, raw bytes only
/// `A-Z a-z 0-9 * - . _`, everything else a `%XX` escape; an empty query
/// holds no pairs.
pub fn form_decode(query: &str) -> Result<Vec<(String, String)>, String> {
    let part = |text: &str| -> Result<String, String> {
        let bytes =
            percent_decode(text, true, is_form_safe).map_err(|(_, what)| format!("{what} in {text:?}"))?;
        String::from_utf8(bytes).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
    };
    if query.is_empty() {
        return Ok(Vec::new());
    }
    query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((part(key)?, part(value)?))
        })
        .collect()
}
