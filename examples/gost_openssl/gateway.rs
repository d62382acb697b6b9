//! A CRPT stand on loopback that checks REAL GOST CMS signatures.
//!
//! The crate's `fake::Crpt` (inside `fake::Fakes`) keeps the protocol:
//! challenges and their uuids, MDLP codes and spacing, one live token per
//! connection. It only understands its own fake signatures, so this gateway
//! sits in front of it: for every request that carries a signature it
//!
//! 1. takes the base64 exactly as sent and insists on one line of canonical
//!    base64 (as the real stands do);
//! 2. reads the signature's kind from the CMS (`eContent` present or absent)
//!    and refuses the wrong one (a detached login, an attached `X-Signature`);
//! 3. verifies it with `openssl cms -verify` against the signer's
//!    certificate: an attached login over the content inside it, a detached
//!    signature over the exact bytes the stand checks (the registration body
//!    or a SUZ business call's body as received, the MDLP `code` as sent in
//!    the token request);
//! 4. only then swaps in the fake signature `fake::Crpt` understands
//!    (`fake::sign_as` over the same bytes), so the fake goes on to check that
//!    the content is the challenge it issued. A signature that fails any step
//!    is passed on untouched and the fake refuses it as the stand would (403,
//!    `REJECTED`).
//!
//! Each verdict is kept in [`CmsGateway::checks`]. Shared by the example and
//! `tests/gost.rs`; test plumbing, not part of the library.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tokendance::fake::{self, Fake, Fakes};
use tokendance::{Signature, SignatureKind, Timestamp};

use crate::signer::{cms_verify, signature_kind, GostError, TempDir};

/// Flags the gateway adds to `openssl cms -verify`: the certificate it is
/// given is the trust anchor even when it is not self-signed, whatever its
/// extended key usage. The stand's question here is "did this key sign these
/// bytes", not the qualified-certificate chain.
const VERIFY_FLAGS: &[&str] = &["-partial_chain", "-purpose", "any"];

/// Which signature a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// SUZ registration, header `X-Signature`: detached over the body.
    RegistrationHeader,
    /// A SUZ business call (an order created or closed), header
    /// `X-Signature`: detached over the body.
    SuzCallHeader,
    /// GIS MT / True API sign-in, body field `data`: attached.
    LoginData,
    /// MDLP token request, body field `signature`: detached over `code`.
    MdlpSignature,
}

impl Carrier {
    /// The kind the stand requires.
    pub fn required(self) -> SignatureKind {
        match self {
            Carrier::LoginData => SignatureKind::Attached,
            Carrier::RegistrationHeader | Carrier::SuzCallHeader | Carrier::MdlpSignature => {
                SignatureKind::Detached
            }
        }
    }

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Carrier::RegistrationHeader => "SUZ X-Signature",
            Carrier::SuzCallHeader => "SUZ X-Signature of a business call",
            Carrier::LoginData => "sign-in data",
            Carrier::MdlpSignature => "MDLP signature",
        }
    }
}

/// One signature the gateway checked.
#[derive(Clone, Debug)]
pub struct Check {
    /// Where it came.
    pub carrier: Carrier,
    /// Its kind, as read from the CMS (None: not readable).
    pub found: Option<SignatureKind>,
    /// Its DER length.
    pub der_len: usize,
    /// Whether it verified with the right kind over the right bytes.
    pub verified: bool,
    /// Why not, or what it covered.
    pub detail: String,
}

/// `fake::Fakes` behind a real-CMS check; see the module docs.
pub struct CmsGateway {
    /// The fakes that keep the protocol.
    pub fakes: Fakes,
    /// Every signature checked, in order.
    pub checks: Vec<Check>,
    conf: PathBuf,
    ca: PathBuf,
    scratch: TempDir,
}

impl CmsGateway {
    /// A gateway that trusts `ca` (the signer's certificate, or its CA),
    /// running openssl with `conf` (which loads the GOST engine).
    pub fn new(fakes: Fakes, conf: &Path, ca: &Path) -> Result<Self, GostError> {
        Ok(CmsGateway {
            fakes,
            checks: Vec::new(),
            conf: conf.to_owned(),
            ca: ca.to_owned(),
            scratch: TempDir::new("tokendance-gost-gateway")?,
        })
    }

    /// The answer to `request` at `now`.
    pub fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        match self.translate(request) {
            Some(translated) => self.fakes.handle(now, &translated),
            None => self.fakes.handle(now, request),
        }
    }

    /// The request with its verified real signature swapped for the fake
    /// one, or None to pass it on as it is.
    fn translate(&mut self, request: &http::Request<Vec<u8>>) -> Option<http::Request<Vec<u8>>> {
        if request.method() != http::Method::POST {
            return None;
        }
        let path = request.uri().path();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let has = |run: &[&str]| segments.windows(run.len()).any(|w| w == run);
        let carrier = if segments.ends_with(&["integration", "connection"]) {
            Carrier::RegistrationHeader
        } else if has(&["auth", "cert"]) || has(&["auth", "simpleSignIn"]) {
            Carrier::LoginData
        } else if has(&["v1", "token"]) {
            Carrier::MdlpSignature
        } else if request.headers().contains_key("x-signature") {
            Carrier::SuzCallHeader
        } else {
            return None;
        };
        let json: Option<serde_json::Value> = serde_json::from_slice(request.body()).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let sent = match carrier {
            Carrier::RegistrationHeader | Carrier::SuzCallHeader => request
                .headers()
                .get("x-signature")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Carrier::LoginData => field("data"),
            Carrier::MdlpSignature => field("signature"),
        }?;
        // The bytes a detached signature must cover.
        let covered: Option<Vec<u8>> = match carrier {
            Carrier::RegistrationHeader | Carrier::SuzCallHeader => Some(request.body().clone()),
            Carrier::MdlpSignature => Some(field("code").unwrap_or_default().into_bytes()),
            Carrier::LoginData => None,
        };
        let (check, fake_signature) = self.check(carrier, &sent, covered.as_deref());
        self.checks.push(check);
        let fake_signature = fake_signature?.to_base64();

        let mut translated = http::Request::new(request.body().clone());
        *translated.method_mut() = request.method().clone();
        *translated.uri_mut() = request.uri().clone();
        *translated.headers_mut() = request.headers().clone();
        match carrier {
            Carrier::RegistrationHeader | Carrier::SuzCallHeader => {
                let value = http::HeaderValue::from_str(&fake_signature).ok()?;
                translated.headers_mut().insert("x-signature", value);
            }
            Carrier::LoginData | Carrier::MdlpSignature => {
                let mut json = json?;
                let name = if carrier == Carrier::LoginData {
                    "data"
                } else {
                    "signature"
                };
                json[name] = serde_json::Value::String(fake_signature);
                *translated.body_mut() = json.to_string().into_bytes();
            }
        }
        Some(translated)
    }

    /// Checks one signature as sent; on success, the fake signature the fake
    /// stand understands over the same bytes.
    fn check(&self, carrier: Carrier, sent: &str, covered: Option<&[u8]>) -> (Check, Option<Signature>) {
        let mut check = Check {
            carrier,
            found: None,
            der_len: 0,
            verified: false,
            detail: String::new(),
        };
        let der = match strict_base64(sent) {
            Ok(der) => der,
            Err(why) => {
                check.detail = why;
                return (check, None);
            }
        };
        check.der_len = der.len();
        let found = match signature_kind(&self.conf, &der) {
            Ok(kind) => kind,
            Err(e) => {
                check.detail = e.to_string();
                return (check, None);
            }
        };
        check.found = Some(found);
        if found != carrier.required() {
            check.detail = format!(
                "{found:?} signature where the stand requires {:?}",
                carrier.required()
            );
            return (check, None);
        }
        let verified = match cms_verify(
            &self.conf,
            &self.ca,
            &der,
            covered,
            self.scratch.path(),
            VERIFY_FLAGS,
        ) {
            Ok(verified) => verified,
            Err(e) => {
                check.detail = e.to_string();
                return (check, None);
            }
        };
        if !verified.ok() {
            check.detail = format!(
                "openssl cms -verify exit {:?}: {}",
                verified.code,
                verified.stderr.lines().last().unwrap_or_default()
            );
            return (check, None);
        }
        check.verified = true;
        let (content, kind) = match covered {
            Some(bytes) => (bytes.to_vec(), SignatureKind::Detached),
            None => (verified.content, SignatureKind::Attached),
        };
        check.detail = format!("covers {} bytes", content.len());
        (check, Some(fake::sign_as(&content, kind)))
    }
}

/// DER from base64 as the stands take it: one line, canonical, padded.
pub fn strict_base64(text: &str) -> Result<Vec<u8>, String> {
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err("the base64 signature is not on one line".to_owned());
    }
    let signature = Signature::from_base64(text).map_err(|e| format!("not base64: {e}"))?;
    if signature.to_base64() != text {
        return Err("the base64 signature is not canonical padded base64".to_owned());
    }
    Ok(signature.as_der().to_vec())
}
