//! Signing as a step of a flow.
//!
//! A flow that needs an electronic signature does not call a signer: it returns
//! [`Action::Sign`](crate::Action::Sign) with a [`SignJob`] (the exact bytes,
//! the kind of CMS signature wanted, and what it is for) and waits to be resumed
//! with [`Input::Signature`](crate::Input::Signature), exactly as it waits for an
//! HTTP response. The signer (CryptoPro, a hardware token, a remote HSM,
//! OpenSSL with a GOST engine) is the caller's.

use crate::error::{Error, UsageError};

/// Which CMS signature a step wants.
///
/// The CRPT servers punish a mix-up: GIS MT and True API logins need an
/// attached signature (a detached one gets HTTP 403), the MDLP code and the SUZ
/// `X-Signature` need detached ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SignatureKind {
    /// The signed content is inside the CMS structure (`openssl cms -sign -nodetach`).
    Attached,
    /// The CMS structure holds only the signature over external content.
    Detached,
}

/// What a signature will be used for; lets a signer show the user what they sign.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Purpose {
    /// The random `data` of a GIS MT `auth/cert/key` challenge.
    GisMtChallenge,
    /// The random `data` of a True API `auth/key` challenge.
    TrueApiChallenge,
    /// The `code` returned by MDLP's `auth` call.
    MdlpCode,
    /// The JSON body of a SUZ installation registration (`X-Signature`).
    SuzRegistrationBody,
}

/// A request to sign exact bytes, handed out by a flow.
///
/// The bytes are what the server will check the signature against, byte for
/// byte: sign them as they are, without re-encoding or adding line endings.
#[derive(Clone, PartialEq, Eq)]
pub struct SignJob {
    bytes: Vec<u8>,
    kind: SignatureKind,
    purpose: Purpose,
}

impl SignJob {
    /// A job to sign `bytes` with a signature of `kind` for `purpose`.
    pub fn new(bytes: Vec<u8>, kind: SignatureKind, purpose: Purpose) -> Self {
        SignJob { bytes, kind, purpose }
    }

    /// The exact bytes to sign.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Attached or detached.
    pub fn kind(&self) -> SignatureKind {
        self.kind
    }

    /// What the signature is for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
}

impl std::fmt::Debug for SignJob {
    // The bytes are a server challenge or a request body: not secret, but
    // long and useless in logs; their length is what helps when debugging.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SignJob {{ kind: {:?}, purpose: {:?}, len: {} }}",
            self.kind,
            self.purpose,
            self.bytes.len()
        )
    }
}

/// A CMS signature produced by the caller's signer, as DER bytes.
///
/// `Debug` shows only the length. Signers that emit base64 (CryptoPro's
/// browser plugin, MIME encoders) often wrap it every 64 or 76 characters:
/// [`Signature::from_base64`] accepts that, and [`Signature::to_base64`]
/// always produces one line, as the servers require.
///
/// ```
/// use tokendance::Signature;
/// let sig = Signature::from_base64("MIIB\r\nAAEC\n").unwrap();
/// assert_eq!(sig.as_der(), &[0x30, 0x82, 0x01, 0x00, 0x01, 0x02]);
/// assert_eq!(sig.to_base64(), "MIIBAAEC");
/// assert!(Signature::from_base64("not base64!").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// A signature from its DER bytes.
    pub fn from_der(der: Vec<u8>) -> Self {
        Signature(der)
    }

    /// A signature from standard base64 (with `=` padding or without).
    /// ASCII whitespace, including CR/LF line breaks, is ignored.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        base64_decode(text)
            .map(Signature)
            .ok_or(Error::Usage(UsageError::InvalidSignatureEncoding))
    }

    /// The DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.0
    }

    /// One-line standard base64 with padding, as sent in headers and bodies.
    pub fn to_base64(&self) -> String {
        base64_encode(&self.0)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(<redacted>, {} bytes)", self.0.len())
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, on one line.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    base64_encode_into(&mut out, bytes);
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
/// time into place, with no capacity check per quantum (a 5 KB CMS
/// signature is 1,800 quanta).
pub(crate) fn base64_encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
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
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
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
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let rest = symbols % 4;
    if rest == 1 || (padding > 0 && !(rest + padding).is_multiple_of(4)) || padding > 2 {
        return None;
    }
    // Leftover bits must be zero in canonical base64; accept either way as
    // signers differ, but never invent bytes.
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(&text), Some(bytes.clone()), "len {len}");
            let wrapped: String = text
                .as_bytes()
                .chunks(5)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\r\n");
            assert_eq!(base64_decode(&wrapped), Some(bytes), "wrapped len {len}");
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
            assert_eq!(base64_encode(bytes.as_bytes()), text);
        }
        let every_symbol = [
            0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
            0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a,
            0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf,
        ];
        assert_eq!(
            base64_encode(&every_symbol),
            std::str::from_utf8(ALPHABET).unwrap_or_default()
        );
    }

    #[test]
    fn base64_rejects_garbage() {
        assert_eq!(base64_decode("A"), None);
        assert_eq!(base64_decode("AB=C"), None);
        assert_eq!(base64_decode("AB==="), None);
        assert_eq!(base64_decode("AB*C"), None);
        assert_eq!(base64_decode("QUJD"), Some(b"ABC".to_vec()));
        assert_eq!(base64_decode("QUI="), Some(b"AB".to_vec()));
        assert_eq!(base64_decode("QUI"), Some(b"AB".to_vec()));
        // Padding must complete the last quantum, no more and no less.
        assert_eq!(base64_decode("QUI=="), None);
        assert_eq!(base64_decode("QQ="), None);
        assert_eq!(base64_decode("QQ=="), Some(b"A".to_vec()));
    }

    #[test]
    fn debug_shows_kind_purpose_and_size_only() {
        let job = SignJob::new(
            b"QNRPNPFGJZ".to_vec(),
            SignatureKind::Attached,
            Purpose::TrueApiChallenge,
        );
        let shown = format!("{job:?}");
        assert!(
            shown == "SignJob { kind: Attached, purpose: TrueApiChallenge, len: 10 }",
            "{shown}"
        );
        assert!(!shown.contains("QNRPNPFGJZ"), "{shown}");
        let signature = Signature::from_der(vec![0x30; 7]);
        assert_eq!(format!("{signature:?}"), "Signature(<redacted>, 7 bytes)");
    }
}
