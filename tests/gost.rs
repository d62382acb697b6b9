//! The CRPT flows with a REAL GOST R 34.10-2012 signer (OpenSSL and Debian's
//! GOST engine, `libengine-gost-openssl`), over HTTP on 127.0.0.1.
//!
//! The stand is the crate's CRPT fake behind the example's gateway, which
//! verifies each real CMS signature with `openssl cms -verify` before the fake
//! sees it (`examples/gost_openssl/gateway.rs`). The test does not take the
//! gateway's word for it: it records every exchange as it crossed the wire
//! and every job the signer was handed, then checks with the plain
//! `openssl cms -verify -binary -inform DER -CAfile cert.pem [-content …]`
//! that
//!
//! * the signer was handed exactly the bytes the stand checks (the challenge
//!   `data`, the registration body as received, the MDLP `code` as sent);
//! * what went on the wire is the signer's DER, as one line of base64;
//! * each ATTACHED signature carries exactly the challenge (`-out` equals it);
//! * each DETACHED signature verifies over exactly the bytes sent, carries no
//!   content, and fails with exit code 4 over the same bytes with one byte
//!   changed.
//!
//! Without the engine every test FAILS, naming the package to install.

#![cfg(all(feature = "fake", feature = "ureq"))]

#[path = "../examples/support/mod.rs"]
mod support;

#[path = "../examples/gost_openssl/signer.rs"]
mod signer;

#[path = "../examples/gost_openssl/gateway.rs"]
mod gateway;

// The example's stand, so that this test checks the very setup it shows.
#[path = "../examples/gost_openssl/stand.rs"]
mod stand;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use tokendance::crpt::registration::{self, Outcome, Signing};
use tokendance::crpt::{self, gis_mt, mdlp, suz, true_api};
use tokendance::drive::DriveError;
use tokendance::fake;
use tokendance::{
    ClientSecret, Endpoint, Error, Flow, Purpose, RegistrationKey, ServerErrorKind, SignJob, Signature,
    SignatureKind,
};

use gateway::{strict_base64, Check};
use signer::{GostError, GostSigner, TempDir, ENGINE_PACKAGE};
use stand::{Driven, Stand};
const CONNECTION: &str = "cdf12109-10d3-11e6-8b6f-0050569977a1";
const OMS_ID: &str = "4f5a0d86-8a55-4a4b-9d3c-6e4a86e0f7b2";

/// One request and its answer, as they crossed the wire.
#[derive(Clone, Debug)]
struct Exchange {
    method: http::Method,
    path: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
    status: u16,
    answer: Vec<u8>,
}

impl Exchange {
    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
    }

    /// A string field of the request body.
    fn sent(&self, field: &str) -> String {
        Self::json(&self.body)[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in the request to {}", self.path))
            .to_owned()
    }

    /// A string field of the answer.
    fn answered(&self, field: &str) -> String {
        Self::json(&self.answer)[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in the answer from {}", self.path))
            .to_owned()
    }
}

/// What one driven flow did: its outcome, each job with the signature handed
/// back, and the exchanges it caused.
struct Run<T> {
    outcome: Driven<T>,
    jobs: Vec<(SignJob, Signature)>,
    exchanges: Vec<Exchange>,
}

/// A GOST identity, the gateway-fronted fake on loopback, and the recordings.
struct World {
    /// Key, certificate and config; removed with the world.
    _dir: TempDir,
    conf: PathBuf,
    cert: PathBuf,
    signer: GostSigner,
    stand: Stand,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl World {
    /// Panics, naming `libengine-gost-openssl`, when the engine is missing.
    fn new() -> Self {
        let dir = TempDir::new("tokendance-gost-test").unwrap_or_else(|e| panic!("{e}"));
        let conf = signer::engine_conf(dir.path())
            .unwrap_or_else(|e| panic!("these tests need a real GOST signer: {e}"));
        let (key, cert) = signer::throwaway_identity(dir.path(), &conf).unwrap_or_else(|e| panic!("{e}"));
        let signer = GostSigner::new(key, &cert, &conf);
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&exchanges);
        let watch = move |request: &http::Request<Vec<u8>>, response: &http::Response<Vec<u8>>| {
            recorded
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Exchange {
                    method: request.method().clone(),
                    path: request.uri().path().to_owned(),
                    headers: request.headers().clone(),
                    body: request.body().clone(),
                    status: response.status().as_u16(),
                    answer: response.body().clone(),
                });
        };
        let stand = Stand::start(&conf, &cert, Box::new(watch)).unwrap_or_else(|e| panic!("{e}"));
        World {
            _dir: dir,
            conf,
            cert,
            signer,
            stand,
            exchanges,
        }
    }

    fn endpoint(&self, path: &str) -> Endpoint {
        Endpoint::parse_insecure_http(&format!("{}{path}", self.stand.server.base_url()))
            .expect("an endpoint")
    }

    /// Drives `flow` with `sign`.
    fn drive<F: Flow>(
        &self,
        flow: F,
        sign: impl Fn(&GostSigner, &SignJob) -> Result<Signature, GostError>,
    ) -> Run<F::Output> {
        let before = self.exchanges().len();
        let jobs = RefCell::new(Vec::new());
        let outcome = self.stand.drive(flow, |job| {
            let signature = sign(&self.signer, job)?;
            jobs.borrow_mut().push((job.clone(), signature.clone()));
            Ok(signature)
        });
        Run {
            outcome,
            jobs: jobs.into_inner(),
            exchanges: self.exchanges()[before..].to_vec(),
        }
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn checks(&self) -> Vec<Check> {
        self.stand
            .gateway
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .checks
            .clone()
    }

    fn accepts(&self, connection: &str, token: &tokendance::TokenSet) -> bool {
        let gateway = self.stand.gateway.lock().unwrap_or_else(PoisonError::into_inner);
        gateway
            .fakes
            .crpt
            .accepts(self.stand.clock.now(), connection, token.access_token())
    }

    /// `openssl cms -verify -binary -inform DER -CAfile cert.pem [-content content.bin]
    /// -in sig.der -out out.bin`: its exit code and the content it wrote.
    fn verify(&self, der: &[u8], content: Option<&[u8]>) -> (Option<i32>, Vec<u8>, String) {
        let run = TempDir::new("tokendance-gost-verify").unwrap_or_else(|e| panic!("{e}"));
        let file = |name: &str, bytes: &[u8]| {
            let path = run.path().join(name);
            std::fs::write(&path, bytes).expect("a scratch file");
            path
        };
        let signature = file("sig.der", der);
        let out = run.path().join("out.bin");
        let mut command = Command::new("openssl");
        command
            .env("OPENSSL_CONF", &self.conf)
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-CAfile"])
            .arg(&self.cert);
        if let Some(content) = content {
            command.arg("-content").arg(file("content.bin", content));
        }
        command.arg("-in").arg(&signature).arg("-out").arg(&out);
        let output = command.output().expect("openssl runs");
        let written = std::fs::read(&out).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), written, stderr)
    }

    /// An ATTACHED signature: verifies on its own, carries exactly
    /// `content`, and does not verify over `content` with one byte changed.
    fn assert_attached_over(&self, der: &[u8], content: &[u8]) {
        let (code, inside, stderr) = self.verify(der, None);
        assert_eq!(code, Some(0), "attached signature does not verify: {stderr}");
        assert_eq!(
            inside, content,
            "the attached signature must carry exactly the challenge"
        );
        let (code, _, _) = self.verify(der, Some(&one_byte_changed(content)));
        assert_eq!(code, Some(4), "an attached signature verified over other bytes");
    }

    /// One DETACHED signature for `purpose` and one request, whose
    /// `X-Signature` is that signature as sent, verifying over exactly the
    /// body sent (which the signer was handed); the request.
    fn assert_one_x_signature_over_the_body<'a>(
        &self,
        jobs: &[(SignJob, Signature)],
        exchanges: &'a [Exchange],
        purpose: Purpose,
    ) -> &'a Exchange {
        let [(job, signature)] = jobs else {
            panic!("one signature, not {}", jobs.len())
        };
        assert_eq!((job.kind(), job.purpose()), (SignatureKind::Detached, purpose));
        let [post] = exchanges else {
            panic!("one request, not {}", exchanges.len())
        };
        assert_eq!(
            job.bytes(),
            &post.body[..],
            "the signer must get the exact body sent"
        );
        let header = post.headers["x-signature"].to_str().expect("ASCII base64");
        let der = assert_sent_as_signed(header, signature);
        self.assert_detached_over(&der, &post.body);
        post
    }

    /// A DETACHED signature: carries no content, verifies over exactly
    /// `content`, and fails with exit code 4 with one byte changed.
    fn assert_detached_over(&self, der: &[u8], content: &[u8]) {
        let (code, _, stderr) = self.verify(der, None);
        assert_ne!(code, Some(0), "a detached signature must not carry its content");
        assert!(
            stderr.contains("no content"),
            "openssl should miss the content: {stderr}"
        );
        let (code, out, stderr) = self.verify(der, Some(content));
        assert_eq!(
            code,
            Some(0),
            "detached signature does not verify over the bytes sent: {stderr}"
        );
        assert_eq!(out, content);
        let (code, _, stderr) = self.verify(der, Some(&one_byte_changed(content)));
        assert_eq!(
            code,
            Some(4),
            "one byte changed must fail with exit code 4: {stderr}"
        );
    }
}

/// `bytes` with the middle byte changed.
fn one_byte_changed(bytes: &[u8]) -> Vec<u8> {
    assert!(!bytes.is_empty());
    let mut changed = bytes.to_vec();
    changed[bytes.len() / 2] ^= 0x01;
    changed
}

fn sign(signer: &GostSigner, job: &SignJob) -> Result<Signature, GostError> {
    signer.sign(job)
}

/// The base64 as sent: one line, canonical, and the signer's DER byte for byte.
fn assert_sent_as_signed(sent: &str, signature: &Signature) -> Vec<u8> {
    assert!(
        !sent.contains(['\r', '\n', ' ']),
        "the signature must go on one line"
    );
    let der = strict_base64(sent).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(der, signature.as_der(), "the signature was re-encoded on its way");
    // A real GOST CMS SignedData, not a fake one.
    assert_eq!(der[0], 0x30);
    assert!(
        der.len() > 500,
        "a CMS with a certificate is large: {} bytes",
        der.len()
    );
    der
}

fn mdlp_client() -> mdlp::Client {
    mdlp::Client {
        id: fake::DEMO_CLIENT_ID.to_owned(),
        secret: ClientSecret::new(fake::DEMO_CLIENT_SECRET),
    }
}

fn register(world: &World) -> registration::Registration {
    registration::register(
        &world.endpoint("/crpt/suz"),
        OMS_ID,
        RegistrationKey::new(crpt::DEMO_REGISTRATION_KEY),
        "Москва, Ленинские горы, 1",
        Signing::Detached,
        registration::DEFAULT_API_VERSION,
    )
    .expect("a registration")
}

#[test]
fn registration_x_signature_is_detached_over_the_body_as_sent() {
    let world = World::new();
    let Run {
        outcome,
        jobs,
        exchanges,
    } = world.drive(register(&world), sign);
    assert!(
        matches!(outcome, Ok(Outcome::Registered { ref oms_connection }) if !oms_connection.is_empty()),
        "{outcome:?}"
    );
    let post = world.assert_one_x_signature_over_the_body(&jobs, &exchanges, Purpose::SuzRegistrationBody);
    assert!(post.path.ends_with("/api/v2/integration/connection"));
    // Non-ASCII address: the body goes out as UTF-8, and that is what is signed.
    assert!(std::str::from_utf8(&post.body).is_ok_and(|b| b.contains("Москва")));
    let checks = world.checks();
    assert!(checks.len() == 1 && checks[0].verified, "{checks:?}");
}

/// GIS MT and True API: the challenge `data`, signed ATTACHED.
fn challenge_sign_in(
    flow: impl Fn(&World) -> tokendance::crpt::ChallengeSignIn,
    key_path: &str,
    sign_in_path: &str,
    purpose: Purpose,
) {
    let world = World::new();
    let Run {
        outcome,
        jobs,
        exchanges,
    } = world.drive(flow(&world), sign);
    let token = outcome.unwrap_or_else(|e| panic!("no token: {e}"));
    assert!(
        world.accepts(CONNECTION, &token),
        "the stand must accept the token"
    );
    let [(job, signature)] = &jobs[..] else {
        panic!("one signature, not {}", jobs.len())
    };
    assert_eq!((job.kind(), job.purpose()), (SignatureKind::Attached, purpose));
    let [key, sign_in] = &exchanges[..] else {
        panic!("two requests, not {}", exchanges.len())
    };
    assert_eq!(
        (&key.method, key.path.ends_with(key_path)),
        (&http::Method::GET, true)
    );
    assert!(sign_in.path.ends_with(&format!("{sign_in_path}/{CONNECTION}")));
    assert_eq!(sign_in.status, 200);
    let data = key.answered("data");
    assert_eq!(
        job.bytes(),
        data.as_bytes(),
        "the signer must get the challenge as sent"
    );
    assert_eq!(sign_in.sent("uuid"), key.answered("uuid"));
    let der = assert_sent_as_signed(&sign_in.sent("data"), signature);
    world.assert_attached_over(&der, data.as_bytes());
}

#[test]
fn gis_mt_signs_the_challenge_attached() {
    challenge_sign_in(
        |w| gis_mt::sign_in(&w.endpoint("/crpt/gis-mt/api/v3"), Some(CONNECTION)).expect("a flow"),
        "/auth/cert/key",
        "/auth/cert",
        Purpose::GisMtChallenge,
    );
}

#[test]
fn true_api_signs_the_challenge_attached() {
    challenge_sign_in(
        |w| {
            true_api::sign_in(&w.endpoint("/crpt/true-api/api/v3/true-api"), Some(CONNECTION))
                .expect("a flow")
        },
        "/auth/key",
        "/auth/simpleSignIn",
        Purpose::TrueApiChallenge,
    );
}

/// A SUZ order created with a real signature: the call signs its body
/// DETACHED (`X-Signature`), and that signature verifies over exactly the
/// body as sent.
#[test]
fn a_suz_order_x_signature_is_detached_over_the_body_as_sent() {
    let world = World::new();
    let sign_in = true_api::sign_in(
        &world.endpoint("/crpt/true-api/api/v3/true-api"),
        Some(CONNECTION),
    )
    .expect("a flow");
    let token = world
        .drive(sign_in, sign)
        .outcome
        .unwrap_or_else(|e| panic!("no token: {e}"));
    let url = format!(
        "{}/crpt/suz/api/v2/lp/orders?omsId={OMS_ID}",
        world.stand.server.base_url()
    );
    let body = r#"{"products":[{"gtin":"04600000000000","quantity":10}],"comment":"Склад 2"}"#;
    let request = http::Request::post(url)
        .header("content-type", "application/json;charset=UTF-8")
        .body(body.as_bytes().to_vec())
        .expect("a request");
    let call = suz::Calls::new()
        .insecure_http()
        .call(token, request, Signing::Detached)
        .expect("a call");
    let Run {
        outcome,
        jobs,
        exchanges,
    } = world.drive(call, sign);
    let answer = outcome.unwrap_or_else(|e| panic!("the order was refused: {e}"));
    assert_eq!(
        answer.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(answer.body())
    );
    let post = world.assert_one_x_signature_over_the_body(&jobs, &exchanges, Purpose::SuzRequestBody);
    assert_eq!(post.body, body.as_bytes(), "the body went out as given");
    let checks = world.checks();
    let last = checks.last().expect("the gateway checked the call");
    assert!(
        last.verified && last.carrier == gateway::Carrier::SuzCallHeader,
        "{checks:?}"
    );
}

#[test]
fn mdlp_signed_code_is_detached_over_the_code_as_sent() {
    let world = World::new();
    let thumbprint = signer::sha1_thumbprint(&world.conf, &world.cert).unwrap_or_else(|e| panic!("{e}"));
    let flow = mdlp::sign_in(
        &world.endpoint("/crpt/mdlp"),
        mdlp_client(),
        &thumbprint,
        mdlp::Auth::SignedCode,
        Some(CONNECTION),
    )
    .expect("a flow");
    let Run {
        outcome,
        jobs,
        exchanges,
    } = world.drive(flow, sign);
    let token = outcome.unwrap_or_else(|e| panic!("no token: {e}"));
    assert!(world.accepts(CONNECTION, &token));
    let [(job, signature)] = &jobs[..] else {
        panic!("one signature, not {}", jobs.len())
    };
    assert_eq!(
        (job.kind(), job.purpose()),
        (SignatureKind::Detached, Purpose::MdlpCode)
    );
    let [auth, token_request] = &exchanges[..] else {
        panic!("two requests, not {}", exchanges.len())
    };
    assert!(auth.path.ends_with("/api/v1/auth"));
    assert_eq!(auth.sent("user_id"), thumbprint);
    assert_eq!(auth.sent("auth_type"), "SIGNED_CODE");
    assert!(token_request
        .path
        .ends_with(&format!("/api/v1/token/{CONNECTION}")));
    let code = token_request.sent("code");
    assert_eq!(code, auth.answered("code"));
    assert_eq!(
        job.bytes(),
        code.as_bytes(),
        "the signer must get the code as sent"
    );
    let der = assert_sent_as_signed(&token_request.sent("signature"), signature);
    world.assert_detached_over(&der, code.as_bytes());
}

/// The gateway is a real check, not a rubber stamp: it refuses what the
/// stands refuse, so the tokens above were earned.
#[test]
fn real_signatures_of_the_wrong_kind_bytes_or_key_are_refused() {
    let world = World::new();
    let forbidden = |outcome: &Driven<tokendance::TokenSet>| matches!(outcome, Err(DriveError::Flow(Error::Server(e))) if e.kind == ServerErrorKind::Forbidden);

    // A detached signature on a login: 403.
    let flow = gis_mt::sign_in(&world.endpoint("/crpt/gis-mt/api/v3"), Some(CONNECTION)).expect("a flow");
    let Run { outcome, .. } = world.drive(flow, |s, job| s.sign_as(job.bytes(), SignatureKind::Detached));
    assert!(forbidden(&outcome), "{outcome:?}");

    // An attached X-Signature: REJECTED.
    let Run { outcome, .. } = world.drive(register(&world), |s, job| {
        s.sign_as(job.bytes(), SignatureKind::Attached)
    });
    assert!(matches!(outcome, Ok(Outcome::Rejected { .. })), "{outcome:?}");

    // The MDLP code with one byte changed: 403.
    let flow = mdlp::sign_in(
        &world.endpoint("/crpt/mdlp"),
        mdlp_client(),
        "1865725612",
        mdlp::Auth::SignedCode,
        Some(CONNECTION),
    )
    .expect("a flow");
    let Run { outcome, .. } = world.drive(flow, |s, job| {
        s.sign_as(&one_byte_changed(job.bytes()), job.kind())
    });
    assert!(forbidden(&outcome), "{outcome:?}");

    // The right kind and bytes, but another key than the trusted certificate: 403.
    let other = TempDir::new("tokendance-gost-other").unwrap_or_else(|e| panic!("{e}"));
    let (key, cert) = signer::throwaway_identity(other.path(), &world.conf).unwrap_or_else(|e| panic!("{e}"));
    let stranger = GostSigner::new(key, cert, &world.conf);
    let flow = true_api::sign_in(
        &world.endpoint("/crpt/true-api/api/v3/true-api"),
        Some(CONNECTION),
    )
    .expect("a flow");
    let Run { outcome, .. } = world.drive(flow, |_, job| stranger.sign(job));
    assert!(forbidden(&outcome), "{outcome:?}");

    let checks = world.checks();
    assert_eq!(checks.len(), 4, "{checks:?}");
    assert!(checks.iter().all(|c| !c.verified), "{checks:?}");
    assert_eq!(
        world
            .stand
            .gateway
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fakes
            .crpt
            .tokens_issued(),
        0
    );
}

/// Without the engine, the setup fails and says which package to install.
#[test]
fn a_missing_engine_is_reported_by_package_name() {
    let dir = TempDir::new("tokendance-gost-noengine").unwrap_or_else(|e| panic!("{e}"));
    let absent = signer::engine_conf_with(dir.path(), Path::new("/nonexistent/engines-3/gost.so"))
        .expect_err("no engine there");
    assert!(absent.0.contains(ENGINE_PACKAGE), "{absent}");
    let bogus = dir.path().join("gost.so");
    std::fs::write(&bogus, b"not a shared object").expect("a scratch file");
    let broken = signer::engine_conf_with(dir.path(), &bogus).expect_err("not an engine");
    assert!(broken.0.contains(ENGINE_PACKAGE), "{broken}");
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists(), "temp dirs are cleaned up");
}

/// `-binary`: line endings, NUL and bytes that are not UTF-8 are signed as
/// they are, never canonicalised to CRLF text.
#[test]
fn the_signer_signs_bytes_as_they_are() {
    let world = World::new();
    let content = b"line 1\nline 2\r\nend\0\xff\xfe, no newline at the end";
    let attached = world
        .signer
        .sign_as(content, SignatureKind::Attached)
        .unwrap_or_else(|e| panic!("{e}"));
    world.assert_attached_over(attached.as_der(), content);
    let detached = world
        .signer
        .sign_as(content, SignatureKind::Detached)
        .unwrap_or_else(|e| panic!("{e}"));
    world.assert_detached_over(detached.as_der(), content);
}
