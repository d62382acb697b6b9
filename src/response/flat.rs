//! The classifier's fast path: a strict reader for the flat JSON objects
//! token endpoints answer with.
//!
//! A token answer is one object of a handful of strings and whole numbers,
//! two of them long (a JWT access token, a refresh token). serde_json reads
//! it correctly but generically: a visitor per value, a field-name match per
//! key, UTF-8 checked string by string. This reader handles only that flat
//! shape, checks UTF-8 once for the whole body, finds each string's end 32
//! bytes at a time (giving up on control characters and on anything not
//! ASCII on the way, so every string it returns is printable ASCII and can
//! go in a header) and borrows every string.
//!
//! It never has to be right about an error. Anything outside its subset
//! (a nested value, an escape, a fraction, a negative number, a repeated
//! field, any syntax error) makes it give up, and the classifier hands the
//! body to serde_json, which gives the exact result or error. Its one duty is
//! never to accept a body that serde_json would read differently; fuzz builds
//! check that on every body any target parses, and a property test checks it
//! on stable.

use std::borrow::Cow;

use super::{Body, Scalar};

/// The most keys that fill no field a body read here has.
const MAX_KEYS: usize = 8;

/// `bytes` as a flat object, or `None` when serde_json must decide.
#[cfg(test)]
fn flat_body(bytes: &[u8]) -> Option<Body<'_>> {
    let mut body = Body::default();
    read_flat_body(bytes, &mut body).map(|()| body)
}

/// Reads `bytes` into `body` if they are a flat object; `None` when
/// serde_json must decide (then `body` holds whatever was read so far).
pub(super) fn read_flat_body<'a>(bytes: &'a [u8], body: &mut Body<'a>) -> Option<()> {
    // serde_json checks UTF-8 only inside the strings it keeps; checking the
    // whole body makes this reader stricter, never looser.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut reader = Reader { text, pos: 0 };
    // The fields already read, one bit each; the keys read that fill no
    // field, to refuse a repeated one of those too. Token answers have two
    // or three such keys; more than `MAX_KEYS` are left to serde.
    let mut seen = 0u32;
    let mut others: [&str; MAX_KEYS] = [""; MAX_KEYS];
    let mut other_count = 0;
    reader.skip_whitespace();
    reader.require(b'{')?;
    reader.skip_whitespace();
    if !reader.eat(b'}') {
        loop {
            reader.require(b'"')?;
            let key = reader.string_rest()?;
            reader.skip_whitespace();
            reader.require(b':')?;
            reader.skip_whitespace();
            let value = reader.scalar()?;
            if let Some((bit, slot)) = body.slot(key) {
                if seen & bit != 0 {
                    // A repeated key is refused (serde's derive refuses a
                    // repeated field; the classifier, any repeated key).
                    return None;
                }
                seen |= bit;
                // serde reads `null` into an `Option` as `None`.
                *slot = Some(value).filter(|v| *v != Scalar::Null);
            } else {
                if other_count == MAX_KEYS || others[..other_count].contains(&key) {
                    return None;
                }
                others[other_count] = key;
                other_count += 1;
            }
            reader.skip_whitespace();
            if reader.eat(b'}') {
                break;
            }
            reader.require(b',')?;
            reader.skip_whitespace();
        }
    }
    reader.skip_whitespace();
    (reader.pos == bytes.len()).then_some(())
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    fn require(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The rest of a string whose opening quote was read. `None` for an
    /// escape (serde_json decodes it), a raw control character (an error),
    /// DEL or any non-ASCII character (legal JSON, but DEL and the C1
    /// controls are no header's, and tokens are ASCII): so every string this
    /// reader returns is printable ASCII.
    fn string_rest(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let end = start + special_byte(self.text.as_bytes().get(start..)?)?;
        if self.text.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        self.pos = end + 1;
        // `end` is at an ASCII quote, so both ends are character boundaries.
        self.text.get(start..end)
    }

    /// A string, a whole non-negative number that fits `u64`, a boolean or
    /// `null`; `None` for anything else.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_rest().map(|s| Scalar::Str(Cow::Borrowed(s)))
            }
            b'0'..=b'9' => self.whole_number(),
            b't' => self.literal("true", Scalar::Bool(true)),
            b'f' => self.literal("false", Scalar::Bool(false)),
            b'n' => self.literal("null", Scalar::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Scalar<'a>) -> Option<Scalar<'a>> {
        let rest = self.text.as_bytes().get(self.pos..)?;
        rest.starts_with(word.as_bytes()).then(|| {
            self.pos += word.len();
            value
        })
    }

    /// JSON's `0 | [1-9][0-9]*`, at most 19 digits (so it fits `u64`, which
    /// is where serde_json would switch to a float). A fraction or exponent
    /// is left to serde_json: the caller finds no `,` or `}` after it.
    fn whole_number(&mut self) -> Option<Scalar<'a>> {
        let digits = self.text.as_bytes().get(self.pos..)?;
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if len > 19 || (len > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        let value = digits
            .get(..len)?
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        self.pos += len;
        Some(Scalar::UInt(value))
    }
}

/// The offset of the first `"`, `\`, control character, DEL or non-ASCII
/// byte in `bytes`.
///
/// Whole 32-byte chunks are tested at once: a flag byte per input byte,
/// then the 32 flags read as two `u128`s. That shape compiles to vector
/// compares and one test per chunk; the same test written as a `fold` over
/// `bool` compiled to byte shuffles and ran three times slower.
fn special_byte(bytes: &[u8]) -> Option<usize> {
    // Bitwise `|`, not `||`: branch-free, so each chunk's test vectorises.
    // Outside `0x20..0x7f` (controls, DEL, non-ASCII) in one compare.
    let special = |b: u8| (b == b'"') | (b == b'\\') | (b.wrapping_sub(0x20) >= 0x5f);
    let mut skipped = 0;
    for chunk in bytes.chunks_exact(32) {
        let mut flags = [0u8; 32];
        for (flag, &b) in flags.iter_mut().zip(chunk) {
            *flag = u8::from(special(b));
        }
        let (low, high) = flags.split_at(16);
        let low = u128::from_ne_bytes(low.try_into().ok()?);
        let high = u128::from_ne_bytes(high.try_into().ok()?);
        if low | high != 0 {
            break;
        }
        skipped += 32;
    }
    let tail = bytes.get(skipped..)?;
    tail.iter().position(|&b| special(b)).map(|i| skipped + i)
}

impl<'a> Body<'a> {
    /// The field a top-level key fills, if the classifier keeps it, and
    /// the field's bit in a set of fields.
    fn slot(&mut self, key: &str) -> Option<(u32, &mut Option<Scalar<'a>>)> {
        let (index, field) = match key {
            "access_token" => (0, &mut self.access_token),
            "token_type" => (1, &mut self.token_type),
            "expires_in" => (2, &mut self.expires_in),
            "refresh_token" => (3, &mut self.refresh_token),
            "refresh_expires_in" => (4, &mut self.refresh_expires_in),
            "scope" => (5, &mut self.scope),
            "token" => (6, &mut self.token),
            "life_time" => (7, &mut self.life_time),
            "uuid" => (8, &mut self.uuid),
            "data" => (9, &mut self.data),
            "omsConnection" => (10, &mut self.omsConnection),
            "rejectionReason" => (11, &mut self.rejectionReason),
            "error" => (12, &mut self.error),
            "error_description" => (13, &mut self.error_description),
            "error_message" => (14, &mut self.error_message),
            "error_code" => (15, &mut self.error_code),
            "code" => (16, &mut self.code),
            "description" => (17, &mut self.description),
            "message" => (18, &mut self.message),
            "msg" => (19, &mut self.msg),
            "status" => (20, &mut self.status),
            "statusCode" => (21, &mut self.statusCode),
            "success" => (22, &mut self.success),
            "globalErrors" => (23, &mut self.globalErrors),
            "fieldErrors" => (24, &mut self.fieldErrors),
            "violations" => (25, &mut self.violations),
            "detail" => (26, &mut self.detail),
            "title" => (27, &mut self.title),
            _ => return None,
        };
        Some((1 << index, field))
    }
}

/// What serde_json makes of `bytes`: the reference this reader must match.
#[cfg(any(test, fuzzing))]
fn read_by_serde(bytes: &[u8]) -> Option<Body<'_>> {
    use super::scalar::{ObjectOnly, UniqueKeys};
    serde_json::from_slice::<UniqueKeys>(bytes).ok()?;
    serde_json::from_slice::<ObjectOnly<Body<'_>>>(bytes)
        .ok()
        .map(|ObjectOnly(body)| body)
}

/// In fuzz builds, every body this reader accepts is read by serde_json too,
/// and the two must agree: every fuzz target that parses a response is this
/// reader's differential test.
#[cfg(fuzzing)]
pub(super) fn check_against_serde(bytes: &[u8], body: &Body<'_>) {
    assert!(
        read_by_serde(bytes).as_ref() == Some(body),
        "the flat reader disagrees with serde_json on {:?}",
        String::from_utf8_lossy(bytes)
    );
}

/// Outside fuzz builds the check costs nothing.
#[cfg(not(fuzzing))]
pub(super) fn check_against_serde(_bytes: &[u8], _body: &Body<'_>) {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reader either gives up or agrees with serde_json.
    fn agrees(bytes: &[u8]) -> bool {
        flat_body(bytes).is_none_or(|body| read_by_serde(bytes) == Some(body))
    }

    #[test]
    fn token_answers_take_the_fast_path_and_agree() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.".to_owned() + &"aZ0-_".repeat(280);
        let bodies = [
            format!(
                r#"{{"access_token":"{jwt}","expires_in":300,"refresh_expires_in":1800,"refresh_token":"{jwt}","token_type":"Bearer","not-before-policy":0,"session_state":"6b4a","scope":"profile email"}}"#
            ),
            format!("\n {{ \"access_token\" : \"{jwt}\" ,\r\n\t\"expires_in\":\"3600\"}} \n"),
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#.to_owned(),
            r#"{"token":"t","life_time":0,"success":true,"status":null,"code":false}"#.to_owned(),
            r#"{"uuid":"d3b07384","data":"Q3xSOVJ2V1JU"}"#.to_owned(),
            r#"{"msg":"Login name","status":9999999999999999999}"#.to_owned(),
            "{}".to_owned(),
        ];
        for body in &bodies {
            let fast = flat_body(body.as_bytes());
            assert!(fast.is_some(), "gave up on {body}");
            assert_eq!(fast, read_by_serde(body.as_bytes()), "{body}");
        }
        let fast = flat_body(bodies[0].as_bytes()).unwrap_or_default();
        assert_eq!(fast.access_token, Some(Scalar::Str(Cow::Borrowed(jwt.as_str()))));
        assert_eq!(fast.expires_in, Some(Scalar::UInt(300)));
    }

    #[test]
    fn everything_outside_the_flat_subset_is_left_to_serde() {
        for body in [
            r#"{"access_token":"a\/b"}"#,
            r#"{"acc\u0065ss_token":"a"}"#,
            "{\"access_token\":\"a\u{1}b\"}",
            r#"{"data":{"token":"t"}}"#,
            r#"{"globalErrors":["x"]}"#,
            r#"{"access_token":"a","access_token":"b"}"#,
            r#"{"expires_in":1.5}"#,
            r#"{"expires_in":1e3}"#,
            r#"{"expires_in":-5}"#,
            r#"{"expires_in":-0}"#,
            r#"{"expires_in":007}"#,
            r#"{"expires_in":18446744073709551616}"#,
            r#"{"expires_in":99999999999999999999}"#,
            r#"{"success":tru}"#,
            r#"{"success":truex}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            r#"["access_token"]"#,
            "",
            "{\"a\":\"\u{a0}\"}\u{a0}",
            // Not ASCII: left to serde_json (the classifier then checks tokens itself).
            r#"{"msg":"Нэвтрэх нэр"}"#,
            "{\"access_token\":\"a\u{85}b\"}",
            "{\"access_token\":\"a\u{7f}\"}",
        ] {
            assert!(flat_body(body.as_bytes()).is_none(), "accepted {body:?}");
        }
        // Not UTF-8, even where serde_json would not look.
        assert!(flat_body(b"{\"x\":\"\xff\"}").is_none());
    }

    #[test]
    fn the_string_scan_finds_the_first_special_byte_in_any_chunk_position() {
        for len in 0..70 {
            for special in [b'"', b'\\', 0x00, 0x1f, 0x7f, 0x80, 0xc2, 0xd0, 0xff] {
                let mut bytes = vec![b'a'; len];
                bytes.push(special);
                bytes.extend_from_slice(b"\"tail");
                assert_eq!(special_byte(&bytes), Some(len), "{len} {special}");
            }
            assert_eq!(special_byte(&vec![b'~'; len]), None);
            assert_eq!(special_byte(&vec![b' '; len]), None);
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(vec![
                "access_token", "token_type", "expires_in", "refresh_token",
                "refresh_expires_in", "scope", "token", "life_time", "uuid", "data",
                "omsConnection", "rejectionReason", "error", "error_description",
                "error_message", "error_code", "code", "description", "message", "msg",
                "status", "statusCode", "success", "globalErrors", "fieldErrors",
                "violations", "detail", "title", "not-before-policy", "", "acc\\u0065ss_token",
            ])
            .prop_map(str::to_owned),
            1 => "[a-z_]{0,6}",
        ]
    }

    fn leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9 ._-]{0,40}".prop_map(|s| format!("\"{s}\"")),
            1 => "(\\\\[\"\\\\/bfnrt]|\\\\u00e9|[ -~]|é|Ж|\u{7f}|\u{1}){0,8}".prop_map(|s| format!("\"{s}\"")),
            3 => "[0-9]{1,4}",
            1 => "-?[0-9]{1,21}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
            2 => prop::sample::select(vec!["true", "false", "null", "null", "tru", "nul", "falsey"])
                .prop_map(str::to_owned),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        let nested = leaf().prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key(), inner), 0..3).prop_map(|v| {
                    let fields: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        });
        prop_oneof![12 => leaf(), 1 => nested]
    }

    fn whitespace() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            30 => prop::sample::select(vec!["", "", " ", "\n\t\r "]),
            1 => prop::sample::select(vec!["\u{a0}", "\u{c}"]),
        ]
    }

    fn object() -> impl Strategy<Value = String> {
        prop::collection::vec((key(), value(), whitespace(), whitespace()), 0..8).prop_map(|fields| {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v, a, b)| format!("{a}\"{k}\"{b}:{a}{v}{b}"))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
    }

    proptest! {
        #![proptest_config(crate::proptest_config(2_000))]

        #[test]
        fn objects_are_read_as_serde_reads_them(body in object()) {
            prop_assert!(agrees(body.as_bytes()), "{body}");
        }

        #[test]
        fn damaged_objects_are_read_as_serde_reads_them(
            body in object(),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = body.into_bytes();
            let mut changed = bytes.clone();
            if !changed.is_empty() {
                let i = at.index(changed.len());
                changed[i] = byte;
            }
            prop_assert!(agrees(&changed), "{:?}", String::from_utf8_lossy(&changed));
            bytes.truncate(cut.index(bytes.len() + 1));
            prop_assert!(agrees(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }
}
