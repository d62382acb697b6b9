//! Standard base64 (RFC 4648 §4), as CRPT sends signatures, through the
//! `base64` crate: the encoder writes one line with padding; the decoder
//! takes what signers print (padding or none, line breaks and other ASCII
//! whitespace anywhere, leftover bits set or not).
//!
//! The crate replaced a hand-written encoder: on the True API sign-in it
//! costs fewer instructions (README, "Dependencies").

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};

/// Standard base64 with padding, on one line.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Appends standard base64 with padding (one line) to `out`: four bytes per
/// three input bytes, written in place.
pub(crate) fn encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    if let Some(room) = out.get_mut(start..) {
        // The room is exactly the encoded length, so this cannot fail.
        let _ = STANDARD.encode_slice(bytes, room);
    }
}

/// Signers' base64 with padding: it must complete the last quantum.
const PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Signers' base64 without padding.
const UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard base64, skipping ASCII whitespace. Padding is optional
/// but, when present, must be at the end and complete the last quantum.
/// Leftover bits must be zero in canonical base64; they are accepted either
/// way, as signers differ, but never make a byte.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = if symbols.last() == Some(&b'=') {
        PADDED
    } else {
        UNPADDED
    };
    engine.decode(symbols).ok()
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
        // Under miri (slow there) every remainder modulo 3, twice.
        for len in 0..if cfg!(miri) { 7u8 } else { 40 } {
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
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
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
        assert_eq!(decode("QQ= =\r\n"), Some(b"A".to_vec()));
        assert_eq!(decode("===="), None);
        assert_eq!(decode("QQ==QQ=="), None);
        // Leftover bits set: accepted, and no byte made of them.
        assert_eq!(decode("QR=="), Some(b"A".to_vec()));
        assert_eq!(decode("QUJ"), Some(b"AB".to_vec()));
    }
}
