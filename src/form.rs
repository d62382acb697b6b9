//! `application/x-www-form-urlencoded`, as token requests are written: the
//! one encoder every form body goes through.
//!
//! Hand-written on purpose: with `form_urlencoded` alone a refresh costs
//! 60 % and a client-credentials grant 15 % more instructions (README,
//! "Dependencies"; the benchmark's `part: … form body` rows).

/// Appends `text` as `application/x-www-form-urlencoded` writes it: the
/// bytes `A-Z a-z 0-9 - . _ *` as they are, space as `+`, every other byte
/// (each byte of a multi-byte character too) as `%XX`.
///
/// Most values (grant types, client ids, JWTs, UUIDs) need no escaping and
/// are copied in one piece; others run by run of plain bytes, not byte by
/// byte as `url`'s encoder yields them.
#[inline]
pub(crate) fn push_form_encoded(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text.as_bytes();
    loop {
        let (plain, tail) = rest.split_at(plain_prefix_len(rest));
        out.extend_from_slice(plain);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        if byte == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
        }
        rest = tail;
    }
}

/// How many bytes at the start of `bytes` the form encoding leaves as they
/// are: 16 at a time while whole chunks are plain (a fold without an early
/// exit, which vectorises; a JWT is plain throughout), then byte by byte.
#[inline]
fn plain_prefix_len(bytes: &[u8]) -> usize {
    let mut len = 0;
    for chunk in bytes.chunks_exact(16) {
        if !chunk.iter().fold(true, |plain, &b| plain & is_plain_form_byte(b)) {
            break;
        }
        len += 16;
    }
    let tail = bytes.get(len..).unwrap_or_default();
    len + tail
        .iter()
        .take_while(|&&b| PLAIN_FORM_BYTES[usize::from(b)])
        .count()
}

/// Whether `text` is only bytes the form encoding leaves as they are (the
/// crate's own form keys must be).
pub(crate) fn is_plain_form_value(text: &str) -> bool {
    plain_prefix_len(text.as_bytes()) == text.len()
}

/// [`is_plain_form_byte`] as a table, for the byte-by-byte runs.
const PLAIN_FORM_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_plain_form_byte(b as u8);
        b += 1;
    }
    table
};

/// `A-Z a-z 0-9 - . _ *`, the bytes the form encoding leaves as they are.
/// Branch-free, so that [`plain_prefix_len`]'s chunk test vectorises.
const fn is_plain_form_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'.') | (b == b'_') | (b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path takes exactly the bytes the encoder leaves alone.
    #[test]
    fn plain_form_values_are_recognised() {
        for plain in [
            "",
            "AZaz09",
            "eyJhbGciOiJSUzI1NiJ9.e30.sig-_*",
            "vatps",
            "-",
            ".",
            "_",
            "*",
            "Z",
            "z",
        ] {
            assert!(is_plain_form_value(plain), "{plain:?}");
        }
        for other in [
            "a b", "Test@123", "a+b", "é", "`", "{", "[", "@", "/", ":", "a\u{7f}",
        ] {
            assert!(!is_plain_form_value(other), "{other:?}");
        }
        // Every single byte below 0x80 agrees with url's encoder.
        for b in 0u8..0x80 {
            let text = char::from(b).to_string();
            let unchanged = url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>() == text;
            assert_eq!(is_plain_form_value(&text), unchanged, "{b:#x}");
        }
    }

    fn encoded(text: &str) -> String {
        let mut ours = Vec::new();
        push_form_encoded(&mut ours, text);
        String::from_utf8(ours).unwrap_or_default()
    }

    /// Our encoder writes what `url`'s form encoder writes, byte for byte.
    #[test]
    fn form_encoding_matches_the_url_crate() {
        let samples = [
            "",
            "password",
            "eyJhbGciOiJSUzI1NiJ9.e30.sig-_*",
            "Test@123",
            "a b+c&d=e",
            "Жанна",
            "AZaz09",
            "`{[@/:",
            "\u{7f}\u{0}\n",
            "iam:user-password:update gamp:erp.customer-reconciliation.write-direct",
            "  trailing ",
        ];
        // Under miri (slow there) the reserved, non-ASCII and control samples.
        let checked = if cfg!(miri) { &samples[4..9] } else { &samples[..] };
        for text in checked {
            let theirs: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            assert_eq!(encoded(text), theirs, "{text:?}");
        }
        // Every single byte below 0x80 on its own.
        for b in 0u8..0x80 {
            let text = char::from(b).to_string();
            let theirs: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            assert_eq!(encoded(&text), theirs, "{b:#x}");
        }
        // One byte to escape at every position around the 16-byte chunks
        // (under miri, around the first chunk only: it interprets each case).
        for len in 1..if cfg!(miri) { 20 } else { 50 } {
            for at in 0..len {
                let mut text = "a".repeat(len);
                text.replace_range(at..=at, ":");
                let theirs: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                assert_eq!(encoded(&text), theirs, "{text}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config(256))]

        /// Any text, not only the samples.
        #[cfg_attr(miri, ignore = "a proptest comparing with the url crate: about 10 s under miri; the samples run there")]
        #[test]
        fn form_encoding_matches_the_url_crate_on_any_text(text in "\\PC{0,24}|[ -~]{0,24}") {
            let theirs: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
            proptest::prop_assert_eq!(encoded(&text), theirs);
        }
    }
}
