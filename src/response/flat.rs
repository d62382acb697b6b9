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
//!
//! Kept because it is measured: without it (serde_json alone) a password
//! grant costs 2.5 times the instructions (README, "Dependencies").

use std::borrow::Cow;

use super::{Body, FieldValue, Fields};

/// The most keys that fill no field a body read here has.
const MAX_KEYS: usize = 8;

/// `bytes` as a flat object, or `None` when serde_json must decide.
#[cfg(test)]
fn flat_body<'a, S: Fields<'a>>(bytes: &'a [u8]) -> Option<Body<'a, S>> {
    let mut body = Body::default();
    read_flat_body(bytes, &mut body).map(|()| body)
}

/// Reads `bytes` into `body` if they are a flat object; `None` when
/// serde_json must decide (then `body` holds whatever was read so far).
pub(super) fn read_flat_body<'a, S: Fields<'a>>(bytes: &'a [u8], body: &mut Body<'a, S>) -> Option<()> {
    // serde_json checks UTF-8 only inside the strings it keeps; checking the
    // whole body makes this reader stricter, never looser.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut reader = Reader { text, pos: 0 };
    // The kept keys read, one bit each; the others, to refuse a repeated
    // one of those too (the classifier refuses any repeated key). Token
    // answers have two or three others; more are left to serde.
    let mut seen = 0u64;
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
            let value = reader.value()?;
            // serde reads `null` into an `Option` as `None`.
            match body.put(key, Some(value).filter(|v| *v != FieldValue::Null)) {
                Some(bits) if seen & bits != 0 => return None,
                Some(bits) => seen |= bits,
                None if other_count == MAX_KEYS || others[..other_count].contains(&key) => return None,
                None => {
                    others[other_count] = key;
                    other_count += 1;
                }
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
    fn value(&mut self) -> Option<FieldValue<'a>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_rest().map(|s| FieldValue::Str(Cow::Borrowed(s)))
            }
            b'0'..=b'9' => self.whole_number(),
            b't' => self.literal("true", FieldValue::Bool(true)),
            b'f' => self.literal("false", FieldValue::Bool(false)),
            b'n' => self.literal("null", FieldValue::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: FieldValue<'a>) -> Option<FieldValue<'a>> {
        let rest = self.text.as_bytes().get(self.pos..)?;
        rest.starts_with(word.as_bytes()).then(|| {
            self.pos += word.len();
            value
        })
    }

    /// JSON's `0 | [1-9][0-9]*`, at most 19 digits (so it fits `u64`, which
    /// is where serde_json would switch to a float). A fraction or exponent
    /// is left to serde_json: the caller finds no `,` or `}` after it.
    fn whole_number(&mut self) -> Option<FieldValue<'a>> {
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
        Some(FieldValue::UInt(value))
    }
}

/// The offset of the first `"`, `\`, control character, DEL or non-ASCII
/// byte in `bytes`.
///
/// Whole 32-byte chunks are tested at once: a flag byte per input byte,
/// then the 32 flags read as two `u128`s: a shape the compiler turns into
/// vector compares and one test per chunk (a `fold` over `bool` is not).
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

/// What serde_json makes of `bytes`: the reference this reader must match.
#[cfg(any(test, fuzzing))]
fn read_by_serde<'a, S: Fields<'a>>(bytes: &'a [u8]) -> Option<Body<'a, S>> {
    use super::field_value::{ObjectOnly, UniqueKeys};
    serde_json::from_slice::<UniqueKeys>(bytes).ok()?;
    serde_json::from_slice::<ObjectOnly<Body<'a, S>>>(bytes)
        .ok()
        .map(|ObjectOnly(body)| body)
}

/// In fuzz builds, every body this reader accepts is read by serde_json too,
/// and the two must agree: every fuzz target that parses a response is this
/// reader's differential test.
#[cfg(fuzzing)]
pub(super) fn check_against_serde<'a, S: Fields<'a>>(bytes: &'a [u8], body: &Body<'a, S>) {
    assert!(
        read_by_serde::<S>(bytes).as_ref() == Some(body),
        "the flat reader disagrees with serde_json on {:?}",
        String::from_utf8_lossy(bytes)
    );
}

/// Outside fuzz builds the check costs nothing.
#[cfg(not(fuzzing))]
pub(super) fn check_against_serde<'a, S: Fields<'a>>(_bytes: &'a [u8], _body: &Body<'a, S>) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{fields, ErrorFields, NoFields};
    use proptest::prelude::*;

    fields! {
        /// A flow's fields as the tests read them: a token, a count, keys
        /// both sets keep (`code`, `status`) and a camelCase one.
        struct Sample {
            access_token,
            expires_in,
            code,
            status,
            uuid,
            omsConnection,
        }
        secrets: access_token;
    }

    type Read<'a> = Body<'a, Sample<'a>>;

    /// The reader either gives up or agrees with serde_json.
    fn agrees(bytes: &[u8]) -> bool {
        flat_body::<Sample<'_>>(bytes).is_none_or(|body| read_by_serde(bytes) == Some(body))
    }

    /// A key both sets keep fills both (a token, which a refusal must not
    /// show either; `code`; `status`); a flow's own key, only the flow's
    /// field; and each has its own bit, so a repeat of either is found.
    #[test]
    fn shared_keys_fill_both_sets() {
        assert_eq!(Sample::SHARED, 0b1101, "access_token, code and status");
        assert_eq!(NoFields::SHARED, 0);
        let body = flat_body::<Sample<'_>>(br#"{"code":"E1","expires_in":5,"error":"x"}"#).unwrap();
        assert_eq!(body.errors.code, Some(FieldValue::Str("E1".into())));
        assert_eq!(body.fields.code, Some(FieldValue::Str("E1".into())));
        assert_eq!(body.fields.expires_in, Some(FieldValue::UInt(5)));
        assert_eq!(body.errors.error, Some(FieldValue::Str("x".into())));
        assert_eq!(body.fields.status, None);
        let mut body = Read::default();
        let code = body.put("code", None).unwrap();
        let expiry = body.put("expires_in", None).unwrap();
        let error = body.put("error", None).unwrap();
        assert_eq!(code.count_ones(), 2);
        assert_eq!((code & expiry, code & error, expiry & error), (0, 0, 0));
        assert_eq!([expiry, error].map(u64::count_ones), [1, 1]);
        assert_eq!(body.put("not-kept", None), None);
        for repeated in [
            &br#"{"code":1,"code":2}"#[..],
            br#"{"expires_in":1,"expires_in":2}"#,
        ] {
            assert!(flat_body::<Sample<'_>>(repeated).is_none());
        }
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
            let fast: Option<Read<'_>> = flat_body(body.as_bytes());
            assert!(fast.is_some(), "gave up on {body}");
            assert_eq!(fast, read_by_serde(body.as_bytes()), "{body}");
        }
        let fast: Read<'_> = flat_body(bodies[0].as_bytes()).unwrap_or_default();
        let jwt = Some(FieldValue::Str(Cow::Borrowed(jwt.as_str())));
        assert_eq!(fast.fields.access_token, jwt);
        assert_eq!(
            fast.errors.access_token, jwt,
            "the token is also scrubbed from refusals"
        );
        assert_eq!(fast.fields.expires_in, Some(FieldValue::UInt(300)));
        // A key both sets keep fills both.
        let both: Read<'_> = flat_body(br#"{"code":"E1","status":7}"#).unwrap_or_default();
        assert_eq!(
            (&both.fields.code, &both.errors.code),
            (&both.errors.code, &Some(FieldValue::Str(Cow::Borrowed("E1"))))
        );
        assert_eq!(
            (&both.fields.status, &both.errors.status),
            (&Some(FieldValue::UInt(7)), &Some(FieldValue::UInt(7)))
        );
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
            assert!(
                flat_body::<Sample<'_>>(body.as_bytes()).is_none(),
                "accepted {body:?}"
            );
        }
        // Not UTF-8, even where serde_json would not look.
        assert!(flat_body::<Sample<'_>>(b"{\"x\":\"\xff\"}").is_none());
        // More keys than the reader tracks (each distinct): left to serde,
        // which reads them alike.
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| format!("\"k{i}\":{i}")).collect();
        let many = format!("{{{}}}", many.join(","));
        assert!(flat_body::<Sample<'_>>(many.as_bytes()).is_none());
        assert!(read_by_serde::<Sample<'_>>(many.as_bytes()).is_some());
    }

    #[cfg_attr(
        miri,
        ignore = "every chunk position of every special byte: about 10 s under miri"
    )]
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

    /// Every key either set keeps, as declared, and keys neither keeps
    /// (one of them an escaped kept key).
    fn key() -> impl Strategy<Value = String> {
        let mut keys: Vec<&str> = [ErrorFields::KEYS, Sample::KEYS].concat();
        keys.extend(["not-before-policy", "", "acc\\u0065ss_token"]);
        prop_oneof![
            6 => prop::sample::select(keys).prop_map(str::to_owned),
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

        #[cfg_attr(miri, ignore = "a proptest comparing with serde: about 13 s under miri; token_answers_take_the_fast_path_and_agree runs there")]
        #[test]
        fn objects_are_read_as_serde_reads_them(body in object()) {
            prop_assert!(agrees(body.as_bytes()), "{body}");
        }

        #[cfg_attr(miri, ignore = "a proptest comparing with serde: about 10 s under miri; token_answers_take_the_fast_path_and_agree runs there")]
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
