//! Signing as a step of a flow.
//!
//! A flow that needs an electronic signature does not call a signer: it returns
//! [`Action::Sign`](crate::Action::Sign) with a [`SignJob`] (the exact bytes,
//! the kind of CMS signature wanted, and what it is for) and waits to be resumed
//! with [`Input::Signature`](crate::Input::Signature), exactly as it waits for an
//! HTTP response. The signer (CryptoPro, a hardware token, a remote HSM,
//! OpenSSL with a GOST engine) is the caller's.

use crate::base64;
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
    /// The JSON body of a SUZ business call, such as creating or closing an
    /// order (`X-Signature`).
    SuzRequestBody,
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
        base64::decode(text)
            .map(Signature)
            .ok_or(Error::Usage(UsageError::InvalidSignatureEncoding))
    }

    /// The DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.0
    }

    /// One-line standard base64 with padding, as sent in headers and bodies.
    pub fn to_base64(&self) -> String {
        base64::encode(&self.0)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(<redacted>, {} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
