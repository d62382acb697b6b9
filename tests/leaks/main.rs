//! Canary leak test, in the style of str0m's `tests/pii.rs`.
//!
//! Every flow is built with distinct canary secrets and run, through success
//! and error paths, against a scripted server that echoes those canaries back:
//! in the tokens it issues, in `error`/`error_description`/`message`, in a
//! redirect's query, in an HTML page, in a 200 body that fails to parse, in an
//! echo of the raw request body. The `{:?}`, `{:#?}` and `{}` (where it exists)
//! of every public value the flows hand out is collected, and no canary may
//! appear in any of them: not plainly, not percent-encoded (form style with
//! `+`, or `%XX` for every reserved byte, or for every byte, in either hex
//! case), not base64-encoded (standard and URL-safe, padded or not, at any of
//! the three byte alignments inside a longer blob), not hex, and not as the
//! decimal byte list `67, 65, 78, ...` that `Vec<u8>`'s `Debug` prints. The
//! detector is the shared oracle of `tests/common/leak_oracle.rs`, which
//! also sees case changes, HTML entities, escapes and invisible characters.
//!
//! What the crate promises, and so what is asserted, is about **its own
//! types**. The raw `http::Request` handed to the transport must carry the
//! secrets in its body (that is the point of sending it), and `http`'s own
//! `Debug` prints a request body as a decimal byte list. So for the raw
//! request only the method, URI and header map are checked; the body is
//! checked the other way round (it *must* contain the secret, which also
//! proves the canaries were really planted and the detectors see them).

// From `tests/leaks/`, a plain `mod common;` would look for `leaks/common.rs`.
#[path = "../common/mod.rs"]
mod common;

use std::fmt::{Debug, Display};
use std::time::Duration;

use common::keycloak::token_body;
use common::leak_oracle::{base64, encodings, Oracle, B64_STD, B64_URL};
use common::printings::Printings;
use common::scripted::Scripted;
use common::time::T0;
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, drive, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow,
    Input, Password, Purpose, RefreshToken, RegistrationKey, SignJob, Signature, SignatureKind, Timestamp,
    TokenRequest, TokenSet, UsageError,
};

// The files of this crate take the canaries, the collector and the helpers
// below with `use super::*`.
mod api_calls;
mod api_server;
mod core_types;
mod crpt_flows;
mod crpt_types;
mod itc_session;
mod one_shots;

// ---------------------------------------------------------------------------
// Canaries.

const PW: &str = "CANARY-pw-7f3a";
/// A password that changes under every encoding (space, `&`, `/`, `+`, `=`, non-ASCII).
const PW_SPECIAL: &str = "CANARY pw&7f3a/+=\u{e9}x";
const CLIENT_SECRET: &str = "CANARY-cs-91b2";
const CLIENT_SECRET_SPECIAL: &str = "CANARY cs+91b2&y=%";
const AUTH_CODE: &str = "CANARY-code-c0de";
const ACCESS: &str = "CANARY-at-5e11";
const REFRESH: &str = "CANARY-rt-0b7d";
const ACCESS_2: &str = "CANARY-at2-6a6a";
const REFRESH_2: &str = "CANARY-rt2-1c1c";
const REG_KEY: &str = "CANARY-rk-4411";
const SIG_DER: &[u8] = b"CANARY-sig-der-99";
const JOB_BYTES: &[u8] = b"CANARY-job-bytes-55";
/// The MDLP client secret and password (CRPT).
const MDLP_SECRET: &str = "CANARY-mdlp-cs-3c3c";
const MDLP_PW: &str = "CANARY-mdlp-pw-4d4d";

fn all_canaries() -> Vec<Vec<u8>> {
    [
        PW,
        PW_SPECIAL,
        CLIENT_SECRET,
        CLIENT_SECRET_SPECIAL,
        AUTH_CODE,
        ACCESS,
        REFRESH,
        ACCESS_2,
        REFRESH_2,
        REG_KEY,
        MDLP_SECRET,
        MDLP_PW,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([SIG_DER.to_vec(), JOB_BYTES.to_vec()])
    .collect()
}

// ---------------------------------------------------------------------------
// Finding a canary in any form: the shared oracle (tests/common/leak_oracle.rs).

/// The oracle over every canary, built once (it remembers the texts it judged).
fn oracle() -> &'static Oracle {
    static ORACLE: std::sync::OnceLock<Oracle> = std::sync::OnceLock::new();
    ORACLE.get_or_init(|| {
        let canaries = all_canaries();
        let texts: Vec<&str> = canaries
            .iter()
            .map(|c| std::str::from_utf8(c).expect("the canaries are text"))
            .collect();
        Oracle::new(&texts, &[])
    })
}

fn find_leak(text: &str) -> Option<String> {
    if let Some(leak) = find_encoded_leak(text) {
        return Some(leak);
    }
    // Every canary starts with this; even a truncated secret must not remain.
    if text.contains("CANARY") {
        return Some("a canary prefix leaked".to_owned());
    }
    None
}

/// A canary in any of its encoded forms (without the prefix shortcut).
fn find_encoded_leak(text: &str) -> Option<String> {
    oracle().find(text)
}

// ---------------------------------------------------------------------------
// The collector.

/// Everything a test printed, with the printers of the crate's own types;
/// with the `tracing` feature, also every span and event the flows the
/// test drives on its thread emit (each field read by the oracle).
#[derive(Default)]
struct Seen(Printings, #[cfg(feature = "tracing")] common::traced::Recording);

impl std::ops::Deref for Seen {
    type Target = Printings;
    fn deref(&self) -> &Printings {
        &self.0
    }
}

impl std::ops::DerefMut for Seen {
    fn deref_mut(&mut self) -> &mut Printings {
        &mut self.0
    }
}

impl Seen {
    fn error(&mut self, label: &str, e: &Error) {
        self.both(label, e);
        assert!(!e.to_string().is_empty(), "{label}: empty Display");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.display(&format!("{label} source"), s);
            self.debug(&format!("{label} source"), s);
            source = s.source();
        }
        if let Some(server) = e.as_server() {
            self.both(&format!("{label} as_server"), server);
            self.debug(&format!("{label} code"), &server.code);
            self.debug(&format!("{label} message"), &server.message);
            self.debug(&format!("{label} kind"), &server.kind);
        }
        if let Some(r) = e.retry_after() {
            self.both(&format!("{label} retry_after"), &r);
        }
        self.debug(&format!("{label} status"), &e.status());
    }

    fn token(&mut self, label: &str, t: &TokenSet) {
        self.debug(label, t);
        self.debug(&format!("{label} access_token"), t.access_token());
        self.debug(&format!("{label} refresh_token"), &t.refresh_token());
        self.debug(&format!("{label} scope"), &t.scope());
    }

    fn outgoing(&mut self, label: &str, out: &tokendance::Outgoing) {
        self.debug(label, out);
        let raw = out.as_http();
        // The crate's promise covers the request line and headers of the raw
        // request too (credential headers are marked sensitive); its body is
        // for the wire only (see the module docs).
        self.debug(&format!("{label} raw headers"), raw.headers());
        self.display(&format!("{label} raw uri"), raw.uri());
        self.debug(&format!("{label} raw method"), raw.method());
        self.debug(&format!("{label} raw version"), &raw.version());
    }

    fn assert_clean(&self, min_items: usize) {
        assert!(
            self.items.len() >= min_items,
            "only {} formatted values were collected",
            self.items.len()
        );
        for (label, text) in &self.items {
            if let Some(leak) = find_leak(text) {
                panic!("{leak}\n  in {label}:\n  {text}");
            }
        }
        #[cfg(feature = "tracing")]
        for record in self.1.records() {
            for text in record.texts() {
                if let Some(leak) = find_leak(text) {
                    panic!(
                        "{leak}\n  in the trace {} {}:\n  {record:?}",
                        record.kind, record.name
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Answers, and what every scripted server checks.

fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

fn json(status: u16, value: serde_json::Value) -> http::Response<Vec<u8>> {
    response(
        status,
        &[("content-type", "application/json")],
        serde_json::to_vec(&value).unwrap(),
    )
}

/// The request body must carry every secret (form-encoded or JSON): this
/// proves the canaries were planted, and that the detector would see them.
fn assert_body_carries(name: &str, body: &[u8], secrets: &[&str]) {
    let text = String::from_utf8_lossy(body);
    for secret in secrets {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = serde_json::to_string(secret).unwrap();
        assert!(
            text.contains(&form) || text.contains(&json),
            "{name}: the request body does not carry {secret:?}: {text}"
        );
        // And the detector finds it in the body's `Vec<u8>` Debug form, which is
        // what `http::Request`'s Debug prints: exactly why `Outgoing` hides it.
        assert!(
            find_leak(&format!("{body:?}")).is_some(),
            "{name}: detector missed the body"
        );
    }
}

fn itc_session(password: &str) -> PasswordSession {
    itc::session(&itc::Config::staging(), "user-one", Password::new(password)).unwrap()
}

const CRPT_CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

/// The base64 of [`SIG_DER`], as the flows send it.
fn sig_b64() -> String {
    base64(SIG_DER, B64_STD, true)
}
