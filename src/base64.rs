//! Standard base64 (RFC 4648 §4), as CRPT sends signatures: the encoder
//! writes one line with padding; the decoder takes what signers print
//! (padding or none, line breaks and other ASCII whitespace anywhere).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, on one line.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    encode_into(&mut out, bytes);
    // Only ALPHABET bytes and `=` were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The two base64 symbols of every 12-bit value: half the lookups per quantum.
const SEXTET_PAIRS: [[u8; 2]; 4096] = {
    let mut table = [[0u8; 2]; 4096];
    let mut n = 0;
    while n < 4096 {
        table[n] = [ALPHABET[n >> 6], ALPHABET[n & 63]];
        n += 1;
    }
    table
};

/// Appends standard base64 with padding (one line) to `out`: four bytes per
/// three input bytes. The output is sized first and written a quantum at a
/// time into place, with no capacity check per quantum (a CMS signature is
/// thousands of them).
pub(crate) fn encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let sextet = |n: u32, shift: u32| ALPHABET[((n >> shift) & 63) as usize];
    let start = out.len();
    let chunks = bytes.chunks_exact(3);
    let remainder = chunks.remainder();
    out.resize(start + chunks.len() * 4, 0);
    if let Some(written) = out.get_mut(start..) {
        for (quantum, c) in written.chunks_exact_mut(4).zip(chunks) {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            let [a, b] = SEXTET_PAIRS[(n >> 12) as usize];
            let [c, d] = SEXTET_PAIRS[(n & 0xfff) as usize];
            quantum.copy_from_slice(&[a, b, c, d]);
        }
    }
    match *remainder {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[sextet(n, 18), sextet(n, 12), b'=', b'=']);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[sextet(n, 18), sextet(n, 12), sextet(n, 6), b'=']);
        }
        _ => {}
    }
}

/// Decodes standard base64, skipping ASCII whitespace. Padding is optional
/// but, when present, must be at the end and complete the last quantum.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Unpacker::with_capacity(text.len() / 4 * 3);
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for byte in text.bytes() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        if byte == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None; // data after padding
        }
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        symbols += 1;
        out.push(value);
    }
    let rest = symbols % 4;
    if rest == 1 || (padding > 0 && !(rest + padding).is_multiple_of(4)) || padding > 2 {
        return None;
    }
    // Leftover bits must be zero in canonical base64; accept either way as
    // signers differ, but never invent bytes.
    Some(out.bytes)
}

/// Bytes from 6-bit symbol values, each byte as its eighth bit arrives (a
/// partial quantum gives the bytes it completes, never more).
pub(crate) struct Unpacker {
    acc: u32,
    bits: u32,
    /// The bytes completed so far.
    pub(crate) bytes: Vec<u8>,
}

impl Unpacker {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Unpacker {
            acc: 0,
            bits: 0,
            bytes: Vec::with_capacity(capacity),
        }
    }

    /// Takes one symbol's value (`0..64`).
    pub(crate) fn push(&mut self, value: u8) {
        self.acc = (self.acc << 6) | u32::from(value);
        self.bits += 6;
        if self.bits >= 8 {
            self.bits -= 8;
            // The byte is the accumulator's top eight bits; the rest stay.
            self.bytes.push((self.acc >> self.bits) as u8);
            self.acc &= (1 << self.bits) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let text = encode(&bytes);
            assert_eq!(decode(&text), Some(bytes.clone()), "len {len}");
            let wrapped: String = text
                .as_bytes()
                .chunks(5)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\r\n");
            assert_eq!(decode(&wrapped), Some(bytes), "wrapped len {len}");
        }
    }

    /// RFC 4648's vectors, and one input that uses every symbol in order:
    /// checked against the standard, not only against our own decoder.
    #[test]
    fn base64_matches_rfc_4648() {
        for (bytes, text) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(bytes.as_bytes()), text);
        }
        let every_symbol = [
            0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
            0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a,
            0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf,
        ];
        assert_eq!(
            encode(&every_symbol),
            std::str::from_utf8(ALPHABET).unwrap_or_default()
        );
    }

    #[test]
    fn base64_rejects_garbage() {
        assert_eq!(decode("A"), None);
        assert_eq!(decode("AB=C"), None);
        assert_eq!(decode("AB==="), None);
        assert_eq!(decode("AB*C"), None);
        assert_eq!(decode("QUJD"), Some(b"ABC".to_vec()));
        assert_eq!(decode("QUI="), Some(b"AB".to_vec()));
        assert_eq!(decode("QUI"), Some(b"AB".to_vec()));
        // Padding must complete the last quantum, no more and no less.
        assert_eq!(decode("QUI=="), None);
        assert_eq!(decode("QQ="), None);
        assert_eq!(decode("QQ=="), Some(b"A".to_vec()));
    }
}
