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
//!   four alignments, also across white space: wrapped, or with its line
//!   breaks folded to spaces), hex (either alignment, also
//!   as `73:33:63` pairs) and decimal byte lists (`115, 51, 99`, signed as
//!   Java prints bytes; a list whose end elements are glued to other digits
//!   gives them up as bytes) decoded, then textually decoded again;
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

mod text;
mod views;

pub use text::ServerText;
use views::views;

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
    /// Its base64, in both alphabets and at every alignment inside a longer
    /// blob, as the letters-and-digits view of a case-folded text shows it:
    /// the symbols the secret alone decides, when there are enough of them
    /// ([`BASE64_SKELETON_MIN`]). A server that lower-cases its message
    /// still shows the secret to anyone who tries the cases.
    base64_skeletons: Vec<String>,
    /// Its percent-encoded forms, folded, compared with the texts as they
    /// are: a decoder can be led astray by the byte before an escape
    /// (`%2client%20secret` reads as `,lient secret`), a search for the
    /// encoded secret cannot.
    percent_forms: Vec<String>,
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
            base64_skeletons: base64_skeletons(secret.as_bytes()),
            percent_forms: if whole_only {
                Vec::new()
            } else {
                percent_forms(secret, trimmed)
            },
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
                // Its base64 text, added as a text secret, has its own skeleton.
                base64_skeletons: Vec::new(),
                percent_forms: Vec::new(),
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
        let skeletons = self
            .needles
            .iter()
            .any(|n| n.skeleton.is_some() || !n.base64_skeletons.is_empty());
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

    /// Withholds `message` if, joined to a `code` the crate itself gave the
    /// refusal (a provider's status table), it echoes a secret: the code is
    /// the crate's words and stays, the server's words go.
    pub(crate) fn withhold_message_after(&self, code: &str, message: &mut Option<String>) {
        let joined = |text: &str| {
            [": ", ""]
                .iter()
                .any(|sep| self.echoes(&format!("{code}{sep}{text}")))
        };
        if message.as_deref().is_some_and(joined) {
            *message = Some(WITHHELD.to_owned());
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
                || needle.percent_forms.iter().any(|p| folded.contains(p.as_str()))
                || skeleton.as_ref().is_some_and(|s| {
                    needle.skeleton.as_ref().is_some_and(|n| s.contains(n.as_str()))
                        || needle.base64_skeletons.iter().any(|b| s.contains(b.as_str()))
                })
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
pub(super) fn is_invisible(c: char) -> bool {
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

/// [`Needle::percent_forms`] of `secret` (folded: `folded`): each byte
/// outside the unreserved set as `%XX`, the set as RFC 3986 has it and as
/// JavaScript's `encodeURIComponent` does, with a space as `%20` or `+`;
/// the forms that differ from the secret.
fn percent_forms(secret: &str, folded: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for keeps_marks in [false, true] {
        for plus in [false, true] {
            let mut form = String::with_capacity(secret.len() * 3);
            for &b in secret.trim().as_bytes() {
                let kept = b.is_ascii_alphanumeric()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
                    || (keeps_marks && matches!(b, b'!' | b'*' | b'\'' | b'(' | b')'));
                match b {
                    _ if kept => form.push(char::from(b.to_ascii_lowercase())),
                    b' ' if plus => form.push('+'),
                    _ => form.push_str(&format!("%{b:02x}")),
                }
            }
            if form != folded && !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out
}

/// Fewer letters and digits than this in a secret's base64 are too common
/// to look for without their case.
const BASE64_SKELETON_MIN: usize = 12;

/// [`Needle::base64_skeletons`] of `secret`: for each of the three ways it
/// can sit in a longer blob, the base64 symbols only its own bits decide,
/// folded and without `+ / - _` (the letters-and-digits view drops them, in
/// either alphabet).
fn base64_skeletons(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for before in 0..3usize {
        let mut bytes = vec![0u8; before];
        bytes.extend_from_slice(secret);
        let encoded = crate::base64::encode(&bytes);
        let first = (8 * before).div_ceil(6);
        let last = 8 * (before + secret.len()) / 6;
        let core = encoded.get(first..last).unwrap_or_default();
        let skeleton: String = core
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if skeleton.len() >= BASE64_SKELETON_MIN && !out.contains(&skeleton) {
            out.push(skeleton);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t:Key~1";

    fn scrubber() -> Scrubber {
        Scrubber::new([SECRET])
    }

    #[cfg_attr(miri, ignore = "every encoding of every view: about 40 s under miri")]
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
            // Pairs after a word or a `": "` (SUZ's `field: message`).
            "password: 73:33:63:72:33:74:3a:4b:65:79:7e:31",
            "refused: 73-33-63-72-33-74-3A-4B-65-79-7E-31",
            "code 73 33 63 72 33 74 3a 4b 65 79 7e 31",
            // Wrapped base64 whose line break became a space (an HTML title).
            "czNjcjN0Ok tleX4x",
            "was czNjcjN0Ok tleX4x (base64)",
        ] {
            assert!(scrubber().echoes(echo), "{echo:?}");
            assert_eq!(scrubber().shown(echo, 512), WITHHELD, "{echo:?}");
        }
    }

    #[cfg_attr(miri, ignore = "long texts scanned in every view: about 7 s under miri")]
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

    #[cfg_attr(miri, ignore = "many full scans of every view: about 7 s under miri")]
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

    /// A code the crate gave a refusal, printed before the server's message,
    /// never completes a secret the message holds the rest of, wherever the
    /// secret is split; a message that completes nothing stays as it was.
    #[test]
    #[cfg_attr(miri, ignore = "many full scans of every view: minutes under miri")]
    fn a_given_code_and_the_message_never_spell_a_secret_together() {
        let s = scrubber();
        for split in 1..SECRET.len() {
            let (head, rest) = SECRET.split_at(split);
            for code in [format!("x_{head}"), head.to_owned()] {
                let mut message = Some(rest.to_owned());
                s.withhold_message_after(&code, &mut message);
                assert_eq!(message.as_deref(), Some(WITHHELD), "{code:?} + {rest:?}");
            }
        }
        for (code, text) in [
            ("unauthorized_client", "wrong key"),
            ("s3cr3t", "is fine"),
            ("", ""),
        ] {
            let mut message = Some(text.to_owned());
            s.withhold_message_after(code, &mut message);
            assert_eq!(message.as_deref(), Some(text));
        }
    }

    /// A secret's base64 with its case changed, broken by spaces or control
    /// characters, inside a longer blob at any alignment, in either
    /// alphabet, is found; base64 of something else with the same case
    /// treatment is not.
    #[test]
    #[cfg_attr(miri, ignore = "many full scans of every view: minutes under miri")]
    fn base64_without_its_case_is_found() {
        let secret = "open sesame 42";
        let s = Scrubber::new([secret]);
        for before in ["", "x", "xy", "xyz"] {
            let blob = crate::base64::encode(format!("{before}{secret}!").as_bytes());
            for shown in [
                blob.to_lowercase(),
                blob.to_uppercase(),
                blob.replace('+', "-").replace('/', "_").to_lowercase(),
                format!(
                    "{}\0\0 {}",
                    &blob[..blob.len() / 2].to_lowercase(),
                    &blob[blob.len() / 2..].to_lowercase()
                ),
            ] {
                assert!(s.echoes(&format!("error: {shown}")), "{before:?}: {shown}");
            }
        }
        let other = crate::base64::encode(b"open sesame 99 and more").to_lowercase();
        assert!(!s.echoes(&other), "{other}");
    }

    /// A percent-encoded secret is found even where the byte before an
    /// escape makes a decoder read another one (`%2c` out of `%2client`).
    #[test]
    #[cfg_attr(miri, ignore = "many full scans of every view: minutes under miri")]
    fn percent_forms_are_found_where_decoding_goes_astray() {
        let s = Scrubber::new(["client secret 7", "s3cr3t:Key~1"]);
        for echo in [
            "HTTP 405: %2client%20secret%2072%",
            "%3client+secret+7",
            "x%2As3cr3t%3AKey~1",
            "x%2As3cr3t%3aKey%7E1",
        ] {
            assert!(s.echoes(echo), "{echo}");
        }
        assert!(!s.echoes("%2client%20secret%20"), "half a secret");
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

    /// The scan reaches the limit: an echo (plain or in a view) that ends
    /// within the first `SCAN_LIMIT` bytes is found wherever it starts, after
    /// filler of one-, two- and three-byte characters, and a multibyte
    /// character straddling the limit is cut at its boundary.
    #[test]
    #[cfg_attr(miri, ignore = "90 texts of 16 KiB and more, hours under miri; runs natively")]
    fn an_echo_that_ends_within_the_scan_limit_is_found() {
        let s = scrubber();
        for filler in ["a", "Ж", "€", " ", "\n"] {
            for echo in [SECRET, "czNjcjN0OktleX4x", "s3cr3t%3AKey~1"] {
                for slack in [0usize, 1, 2, 3, 500, 1024] {
                    let room = SCAN_LIMIT - echo.len() - slack;
                    let mut text = filler.repeat(room / filler.len());
                    text.push_str(echo);
                    text.push_str(&"Ж".repeat(4096));
                    assert!(text.find(echo).is_some_and(|at| at + echo.len() <= SCAN_LIMIT));
                    assert!(s.echoes(&text), "{echo} after {} bytes of {filler:?}", room);
                    assert_eq!(s.shown(&text, 512), WITHHELD);
                }
            }
        }
    }
}
