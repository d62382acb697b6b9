//! The one harness behind every fuzz target in `fuzz/fuzz_targets/` and behind
//! `tests/fuzz_regressions.rs`, which includes this file by path and replays
//! `fuzz/seeds/<target>/*` and the named regressions on stable.
//!
//! It uses only the crate's public API, `http`, `serde_json` and code it
//! shares with the test suites, included by path from `tests/common/`: the
//! echo oracle (`leak_oracle.rs`; it needs `url`), the pacing rules
//! (`pacing.rs`), the path and query oracle (`uri_oracle.rs`) and the
//! keeper model (`keeper_model.rs`), so that the same code runs under
//! libFuzzer and under `cargo test`.
//!
//! # Input formats
//!
//! **Parse targets** (`*_response`): the flow is driven to the step with
//! canned answers, then fed one response built from the input:
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | status: [`STATUSES`]`[b % len]` |
//! | 1 | bits 0-2: `Content-Type` ([`CONTENT_TYPES`]); bit 3: add `Retry-After` ([`RETRY_AFTERS`], bits 4-5); bit 6: add a `Location`; bit 7: the variant (ITC: refresh grant in flight; CRPT: True API instead of GIS MT; MDLP: password instead of signed code; SUZ: unsigned) |
//! | 2.. | the body, as is |
//!
//! **Operation targets** (`*_ops`): a sequence of at most [`MAX_OPS`]
//! operations, each a time byte (see [`Bytes::time`]: forwards by steps
//! and by hours, backwards by seconds and by hours to weeks, to the epoch,
//! to and near `Timestamp::MAX`, or anywhere) then an opcode and its
//! operands; responses in operations are a status byte, a flags byte (as
//! above) and a body (raw, or a JSON template of [`TEMPLATES`] with fuzzed
//! strings and numbers). Missing bytes read as 0.
//!
//! **`path_segments`**: a mode byte and four strings (see [`path_segments`]).
//!
//! # Invariants
//!
//! Never a panic (libFuzzer reports it); a hang or unbounded memory shows as
//! libFuzzer's timeout or RSS limit. Beyond that, each target asserts:
//! * a response is accepted or refused with `Error::Server` / `Error::Protocol`,
//!   never `Error::Usage`; every error's `Display` is non-empty;
//! * no secret a flow's requests carried ([`SECRETS`]) shows, in any form the
//!   shared oracle knows (case-folded, squeezed, percent-, form-, HTML-,
//!   backslash-, base64-, hex- or byte-list-encoded), in the `Display` or
//!   `Debug` of any error, nor in the `Debug` of any flow, action, `Done`
//!   value or session a target hands out;
//! * `Done` at most once; after `Done`, an error or `Failed`, every call
//!   returns `Usage(Finished)`; a wrong input is `UnexpectedInput` and changes
//!   nothing; a flow never sends more requests than its transcript has;
//! * requests go only to the configured host; sign jobs have the flow's kind;
//!   a token's `obtained_at` is the instant its request was sent and it
//!   expires no earlier; a token the API refused (401) is never sent again;
//! * every wait is bounded: each `Action::Wait`, `SessionAction::Wait` and
//!   `KeeperAction::Wait` is at or after the `now` it answers and at most the
//!   holder's bound after it ([`holder_bound`] of its pacing); MDLP's spacing
//!   wait is at most a second after the auth answer; other flows never wait;
//! * `PasswordSession`: one request in flight (a second only once the first
//!   is lost, its age measured from the instants seen); `min_interval`
//!   between requests and no request during a back-off; `UseToken` only with
//!   a valid token; only a typed OAuth refusal of the password grant ends
//!   the session, and an ended session stays ended; any non-retryable 4xx to
//!   a refresh falls back to the password grant at the next poll; after
//!   `retry_now` a due session sends; while the access token is valid a
//!   failed `fetch` hands it out; pacing is validated;
//! * `TokenKeeper`, against a model: one ticket out (a second only once the
//!   first is lost, measured from the instants seen), tickets spaced by
//!   `min_interval` and never during a back-off, and one is issued when
//!   nothing holds it back; only the live token (by version, never by
//!   clock) is handed out, never one the API refused, and snapshots carry
//!   it; restores follow the version rule; old tickets and tickets of
//!   another keeper of the same connection are stale and change nothing;
//! * `path_segments`: a caller's value at a path segment is refused with
//!   `Usage(InvalidPathSegment)` exactly when it is empty, a dot segment
//!   (plain or `%2e`-encoded) or holds a control character; otherwise the
//!   path has the intended segments, each decoding back to the value, and
//!   query pairs form-decode back exactly; a registration answer's
//!   `omsConnection` is refused as malformed by the same rule.

use std::cell::RefCell;
use std::fmt::Debug;
use std::time::Duration;

use tokendance::call::{Authorized, Reissue};
use tokendance::crpt::{self, mdlp, registration, GisMtStand, RenewalTicket, TrueApiStand};
use tokendance::oauth2::{self, Grant, PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Expect,
    Flow, Input, InputKind, Pacing, Password, RefreshToken, RegistrationKey, Signature, SignatureKind,
    Timestamp, TokenSet, UsageError,
};

// Code shared with the test suites, included by path: `std`, `url` (the
// leak oracle's form decoding) and `tokendance` only.

/// The echo oracle, independent of tokendance: it finds a secret in any
/// normalised view of a printed text.
#[allow(dead_code)]
#[path = "../../tests/common/leak_oracle/mod.rs"]
mod leak_oracle;

/// The pacing rules, written from `Pacing`'s docs.
#[allow(dead_code)]
#[path = "../../tests/common/pacing.rs"]
mod pacing;

/// The path and query oracle: the segment rule and strict decoders.
#[allow(dead_code)]
#[path = "../../tests/common/uri_oracle.rs"]
mod uri_oracle;

/// The keeper model, beside a `TokenKeeper`.
#[allow(dead_code)]
#[path = "../../tests/common/keeper_model.rs"]
mod keeper_model;

use keeper_model::{ModelledKeeper, Polled as Kept};
pub use pacing::holder_bound;
use pacing::{least_pause_ms, longest_pause, millis, plus_ms, renew_at, with_field};
use uri_oracle::{decode_segment, form_decode, segment_must_be_refused};

/// Every target, as named in `fuzz/fuzz_targets/<name>.rs` and `fuzz/seeds/<name>/`.
pub const TARGETS: [&str; 24] = [
    "token_response",
    "itc_response",
    "gam_response",
    "monpay_response",
    "astana_password_response",
    "astana_certificate_response",
    "crpt_key_response",
    "crpt_sign_in_response",
    "mdlp_auth_response",
    "mdlp_token_response",
    "suz_registration_response",
    "gam_ops",
    "monpay_ops",
    "astana_ops",
    "crpt_challenge_ops",
    "mdlp_ops",
    "suz_registration_ops",
    "password_session_ops",
    "token_keeper_ops",
    "itc_consumer_response",
    "itc_reply_response",
    "gam_envelope_response",
    "authorized_ops",
    "path_segments",
];

/// The most operations one input runs.
pub const MAX_OPS: usize = 64;

/// The statuses byte 0 picks from: every class, the documented ones, edges.
pub const STATUSES: [u16; 33] = [
    200, 201, 202, 204, 206, 299, 100, 199, 300, 301, 302, 303, 304, 307, 308, 399, 400, 401, 403, 404, 405,
    408, 409, 415, 422, 429, 499, 500, 502, 503, 504, 505, 599,
];

/// The content types bits 0-2 of the flags byte pick from.
pub const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/json;charset=UTF-8"),
    Some("text/html; charset=utf-8"),
    Some("application/xml"),
    Some("text/plain"),
    Some("application/problem+json"),
    Some("bogus/\u{7e}type; q=\"x"),
];

/// The `Retry-After` values bits 4-5 of the flags byte pick from.
pub const RETRY_AFTERS: [&str; 4] = [
    "120",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "-1",
    "99999999999999999999999999",
];

/// Secrets every flow here is built with. They contain spaces, so that a
/// server echoing them form-encoded or with other whitespace is covered.
pub const SECRETS: [&str; 7] = [
    "open sesame 42",
    "client secret 7",
    "auth code 99",
    "reg key 5150",
    "mdlp pass 1",
    "mdlp secret 3",
    "api token 11",
];
const PASSWORD: &str = SECRETS[0];
const CLIENT_SECRET: &str = SECRETS[1];
const AUTH_CODE: &str = SECRETS[2];
const REGISTRATION_KEY: &str = SECRETS[3];
const MDLP_PASSWORD: &str = SECRETS[4];
const MDLP_SECRET: &str = SECRETS[5];
const API_TOKEN: &str = SECRETS[6];

/// The instant every input starts at.
pub const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

/// What a run did, so tests can check that seeds reach every outcome.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Report {
    /// Flows that ended with `Done`, tokens handed in, tickets renewed.
    pub accepted: usize,
    /// Responses refused with `Server` or `Protocol` errors.
    pub refused: usize,
    /// Requests sent.
    pub sent: usize,
}

/// Runs `data` through `target`; panics on a broken invariant.
pub fn run(target: &str, data: &[u8]) -> Report {
    let mut report = Report::default();
    let r = &mut report;
    match target {
        "token_response" => token_response(data, r),
        "itc_response" => itc_response(data, r),
        "gam_response" => one_shot_response(gam_flow(), data, r),
        "monpay_response" => one_shot_response(monpay_flow(), data, r),
        "astana_password_response" => one_shot_response(astana_flow(true), data, r),
        "astana_certificate_response" => one_shot_response(astana_flow(false), data, r),
        "crpt_key_response" => crpt_key_response(data, r),
        "crpt_sign_in_response" => crpt_sign_in_response(data, r),
        "mdlp_auth_response" => mdlp_auth_response(data, r),
        "mdlp_token_response" => mdlp_token_response(data, r),
        "suz_registration_response" => suz_registration_response(data, r),
        "gam_ops" => flow_ops(gam_flow(), data, r),
        "monpay_ops" => flow_ops(monpay_flow(), data, r),
        "astana_ops" => {
            let mut b = Bytes::new(data);
            flow_ops(astana_flow(b.byte() & 1 == 0), b.rest(), r)
        }
        "crpt_challenge_ops" => {
            let mut b = Bytes::new(data);
            flow_ops(challenge_flow(b.byte() & 1 == 1), b.rest(), r)
        }
        "mdlp_ops" => {
            let mut b = Bytes::new(data);
            flow_ops(mdlp_flow(b.byte() & 1 == 1), b.rest(), r)
        }
        "suz_registration_ops" => {
            let mut b = Bytes::new(data);
            flow_ops(registration_flow(b.byte() & 1 == 1), b.rest(), r)
        }
        "password_session_ops" => password_session_ops(data, r),
        "token_keeper_ops" => token_keeper_ops(data, r),
        "itc_consumer_response" => api_response(itc_consumer_call(), data, r),
        "itc_reply_response" => {
            let (response, approve) = parse_input(data);
            api_response_to(itc_reply_call(approve), response, r)
        }
        "gam_envelope_response" => api_response(gam_envelope_call(), data, r),
        "authorized_ops" => flow_ops(authorized_call(), data, r),
        "path_segments" => path_segments(data, r),
        other => panic!("unknown fuzz target {other:?}"),
    }
    report
}

// ---------------------------------------------------------------------------
// Reading the input.

/// A cursor over the fuzzer's bytes; reads past the end give zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    fn u64(&mut self) -> u64 {
        let mut buf = [0u8; 8];
        let got = self.take(8);
        buf[..got.len()].copy_from_slice(got);
        u64::from_le_bytes(buf)
    }

    /// The next instant after `now`: `0b00nnnnnn` adds n quarter seconds,
    /// `0b01nnnnnn` adds n² minutes, `0b100nnnnn` goes back n seconds,
    /// `0b101nnnnn` goes back (n + 1)² hours (an hour to 43 days),
    /// `0b11nnnnnn` jumps to the epoch (0), `u64::MAX` (1), just below it
    /// (2) or to the next eight bytes (little endian).
    pub fn time(&mut self, now: Timestamp) -> Timestamp {
        let b = self.byte();
        let n = u64::from(b & 63);
        match b >> 6 {
            0 => now.saturating_add(Duration::from_millis(n * 250)),
            1 => now.saturating_add(Duration::from_secs(n * n * 60)),
            2 if n < 32 => now.saturating_sub(Duration::from_secs(n)),
            2 => now.saturating_sub(Duration::from_secs((n - 31) * (n - 31) * 3_600)),
            _ => Timestamp::from_unix_millis(match n {
                0 => 0,
                1 => u64::MAX,
                2 => u64::MAX - 1_000,
                _ => self.u64(),
            }),
        }
    }

    fn duration(&mut self) -> Duration {
        DURATIONS[usize::from(self.byte()) % DURATIONS.len()]
    }

    fn short_text(&mut self) -> String {
        let len = usize::from(self.byte() % 48);
        String::from_utf8_lossy(self.take(len)).into_owned()
    }

    /// A JSON number or string in one of the shapes servers send.
    fn json_number(&mut self) -> String {
        let shape = self.byte();
        let n = match shape >> 4 {
            0 => 0,
            1 => 1,
            2 => 300,
            3 => 3_600,
            4 => u64::MAX,
            _ => self.u64(),
        };
        match shape & 7 {
            0 | 1 => n.to_string(),
            2 => format!("\"{n}\""),
            3 => format!("-{n}"),
            4 => format!("{n}.{}", shape),
            5 => format!("{n}e{}", shape % 40),
            6 => format!("\"{n}0000000000000000000000\""),
            _ => "null".to_owned(),
        }
    }

    /// A response for an operation: status, flags, body kind, body.
    fn response(&mut self) -> http::Response<Vec<u8>> {
        let status = self.byte();
        let flags = self.byte();
        let kind = self.byte();
        let body = if kind < 0x80 {
            let len = usize::from(u16::from_le_bytes([self.byte(), self.byte()]));
            self.take(len).to_vec()
        } else {
            self.template(template_index(kind))
        };
        build_response(status, flags, body)
    }

    /// [`TEMPLATES`]`[index]` with its `S` and `N` holes filled from the input.
    fn template(&mut self, index: usize) -> Vec<u8> {
        let mut out = String::new();
        for c in TEMPLATES[index].chars() {
            match c {
                'S' => out.push_str(&json_string(&self.short_text())),
                'N' => out.push_str(&self.json_number()),
                c => out.push(c),
            }
        }
        out.into_bytes()
    }

    fn signature(&mut self) -> Signature {
        let len = usize::from(self.byte() % 64);
        Signature::from_der(self.take(len).to_vec())
    }
}

/// Durations for configuration operations, from zero to `Duration::MAX`.
const DURATIONS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(30),
    Duration::from_secs(300),
    Duration::from_secs(3_600),
    Duration::from_secs(36_000),
    Duration::MAX,
];

/// The template a body-kind byte (bit 7 set) picks: `0x80..=0xEF` the first
/// 16 by `% 16` (as before the API-call templates existed, so recorded inputs
/// keep their meaning), except `0xE0..=0xEF`, which pick the later ones.
fn template_index(kind: u8) -> usize {
    let k = usize::from(kind & 0x7f);
    if (0x60..0x70).contains(&k) {
        16 + (k - 0x60) % (TEMPLATES.len() - 16)
    } else {
        k % 16
    }
}

/// JSON bodies for operation responses: `S` is a fuzzed string, `N` a
/// fuzzed number (as a number, a numeric string, negative, huge, `null`).
pub const TEMPLATES: [&str; 18] = [
    r#"{"access_token":S,"expires_in":N,"token_type":"Bearer"}"#,
    r#"{"access_token":S,"expires_in":N,"refresh_token":S,"refresh_expires_in":N,"token_type":"bearer"}"#,
    r#"{"error":S,"error_description":S}"#,
    r#"{"uuid":S,"data":S}"#,
    r#"{"code":S}"#,
    r#"{"token":S,"life_time":N}"#,
    r#"{"token":S}"#,
    r#"{"status":"SUCCESS","omsConnection":S}"#,
    r#"{"status":"REJECTED","rejectionReason":S}"#,
    r#"{"statusCode":200,"message":"Access token created","data":{"token":S}}"#,
    r#"{"statusCode":N,"message":S}"#,
    r#"{"access_token":S}"#,
    r#"{"code":S,"error_message":S,"description":S}"#,
    r#"{"status":N,"message":S,"error_code":S}"#,
    r#"{"access_token":S,"expires_in":N,"scope":S,"refresh_token":null}"#,
    "",
    r#"{"status":S,"message":S,"timestamp":S,"data":{"id":N}}"#,
    r#"{"code":S,"status":N,"msg":S,"loginName":S,"email":S}"#,
];

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The response that a status byte, a flags byte and a body stand for.
pub fn build_response(status: u8, flags: u8, body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(STATUSES[usize::from(status) % STATUSES.len()]);
    if let Some(ct) = CONTENT_TYPES[usize::from(flags & 7)] {
        builder = builder.header("content-type", ct);
    }
    if flags & 0x08 != 0 {
        builder = builder.header("retry-after", RETRY_AFTERS[usize::from((flags >> 4) & 3)]);
    }
    if flags & 0x40 != 0 {
        builder = builder.header("location", "https://user:pw@evil.example/cb?code=x#frag");
    }
    builder.body(body).expect("statuses and headers are valid")
}

/// The response of a parse target: byte 0 status, byte 1 flags, then the body.
fn parse_input(data: &[u8]) -> (http::Response<Vec<u8>>, bool) {
    let mut b = Bytes::new(data);
    let status = b.byte();
    let flags = b.byte();
    (
        build_response(status, flags, b.rest().to_vec()),
        flags & 0x80 != 0,
    )
}

/// Encodes a parse-target input (the inverse of `parse_input`), for seeds.
pub fn encode_parse(status: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let index = STATUSES
        .iter()
        .position(|s| *s == status)
        .expect("status in STATUSES");
    let mut out = vec![index as u8, flags];
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------------------
// Checks shared by every target.

thread_local! {
    /// One oracle per list of secrets, made again now and then so that its
    /// cache of judged texts stays small over a fuzzing run.
    static ORACLES: RefCell<Vec<(&'static [&'static str], leak_oracle::Oracle, u32)>> =
        const { RefCell::new(Vec::new()) };
}

/// Panics if `printed` (the `Display` or `Debug` of something a target
/// handed out) shows one of `secrets` in any form the oracle knows: plain,
/// case-folded, whitespace squeezed, percent-, form-, HTML-, backslash-,
/// base64-, hex- or byte-list-encoded.
fn check_printed(what: &str, printed: &str, secrets: &'static [&'static str]) {
    if secrets.is_empty() {
        return;
    }
    ORACLES.with(|cell| {
        let mut oracles = cell.borrow_mut();
        let at = match oracles.iter().position(|(known, _, _)| *known == secrets) {
            Some(at) => at,
            None => {
                oracles.push((secrets, leak_oracle::Oracle::new(secrets, &[]), 0));
                oracles.len() - 1
            }
        };
        let (_, oracle, uses) = &mut oracles[at];
        *uses += 1;
        if *uses > 2_048 {
            *oracle = leak_oracle::Oracle::new(secrets, &[]);
            *uses = 0;
        }
        if let Some(hit) = find_secret(oracle, printed, secrets) {
            panic!("{what} shows a secret: {hit}\nprinted: {printed}");
        }
    });
}

/// The oracle's verdict on `printed`, less what its base64 forms make up.
/// It searches case-folded views, which base64 does not survive, and a
/// secret's base64 "core" leaves out the bits it shares with its
/// neighbours, so a run can fold to a core, or hold one, and still decode
/// to other bytes. A base64 hit counts when a run of the text decodes (at
/// one of its four alignments) to the secret's bytes; a run that only
/// looks like a core is masked and the text judged again.
fn find_secret(oracle: &leak_oracle::Oracle, printed: &str, secrets: &[&str]) -> Option<String> {
    oracle.find(printed)?;
    // Judged as the oracle's normalised view has it, so that the runs it
    // matched are there to mask (an invisible character splits a run).
    let mut text = leak_oracle::strip_and_fold(printed);
    for _ in 0..32 {
        let hit = oracle.find(&text)?;
        if !hit.contains(" as base64") || !mask_base64_look_alikes(&mut text, secrets) {
            return Some(hit);
        }
    }
    Some(format!("too many base64 look-alikes in {printed:?}"))
}

/// The 6-bit value of a base64 symbol (standard or URL-safe).
fn base64_symbol(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Whether the run of base64 symbols around `text[at..]` decodes, from one
/// of its first four symbols, to bytes that hold `secret`.
fn run_decodes_to(text: &[u8], at: usize, secret: &[u8]) -> bool {
    let start = text[..at]
        .iter()
        .rposition(|b| base64_symbol(*b).is_none())
        .map_or(0, |i| i + 1);
    let end = text[at..]
        .iter()
        .position(|b| base64_symbol(*b).is_none())
        .map_or(text.len(), |i| at + i);
    (0..4).any(|skip| {
        let mut bytes = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for value in text[(start + skip).min(end)..end]
            .iter()
            .filter_map(|b| base64_symbol(*b))
        {
            acc = (acc << 6 | value) & 0xFFFF;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                bytes.push((acc >> bits) as u8);
            }
        }
        bytes.windows(secret.len()).any(|w| w == secret)
    })
}

/// Masks every run of `text` that looks like a secret's base64 core (with
/// its case or folded) but does not decode to the secret; false if there
/// is none, or one decodes to it (an echo).
fn mask_base64_look_alikes(text: &mut String, secrets: &[&str]) -> bool {
    let mut masked = false;
    for secret in secrets {
        for alphabet in [leak_oracle::B64_STD, leak_oracle::B64_URL] {
            for shift in 0..3 {
                let core = leak_oracle::base64_core(secret.as_bytes(), shift, alphabet);
                if core.len() < leak_oracle::MIN_FORM_LEN {
                    continue;
                }
                let folded = core.to_ascii_lowercase();
                // ASCII folding keeps byte offsets.
                while let Some(at) = text.to_ascii_lowercase().find(&folded) {
                    if text[at..at + core.len()] == core
                        && run_decodes_to(text.as_bytes(), at, secret.as_bytes())
                    {
                        return false;
                    }
                    text.replace_range(at..at + core.len(), &"~".repeat(core.len()));
                    masked = true;
                }
            }
        }
    }
    masked
}

/// What the targets' oracle finds of [`SECRETS`] in `printed` (for the
/// regression tests of the oracle itself).
pub fn secret_shown(printed: &str) -> Option<String> {
    let oracle = leak_oracle::Oracle::new(&SECRETS, &[]);
    find_secret(&oracle, printed, &SECRETS)
}

/// An error must say something and must not print a secret the request carried.
fn check_error(err: &Error, secrets: &'static [&'static str]) {
    let shown = err.to_string();
    assert!(!shown.is_empty(), "an error with an empty Display: {err:?}");
    check_printed("an error's Display", &shown, secrets);
    check_printed("an error's Debug", &format!("{err:?}"), secrets);
}

/// A refused response: `Server` or `Protocol`, never `Usage`.
fn check_refusal(err: &Error, secrets: &'static [&'static str], report: &mut Report) {
    check_error(err, secrets);
    assert!(
        matches!(err, Error::Server(_) | Error::Protocol(_)),
        "a response gave a usage error: {err:?}"
    );
    report.refused += 1;
}

/// A token obtained by a request sent at `sent_at`.
fn check_token(token: &TokenSet, sent_at: Option<Timestamp>) {
    if let Some(sent_at) = sent_at {
        assert_eq!(token.obtained_at(), sent_at, "obtained_at is not the send time");
    }
    assert!(!token.access_token().expose_secret().is_empty(), "an empty token");
    if let Some(expires) = token.expires_at() {
        assert!(expires >= token.obtained_at(), "expires before it was obtained");
    }
    if let Some(expires) = token.refresh_expires_at() {
        assert!(
            expires >= token.obtained_at(),
            "refresh expires before it was obtained"
        );
        assert!(
            token.refresh_token().is_some(),
            "refresh expiry without a refresh token"
        );
    }
    // The token's own Debug redacts; TokenSet's Debug prints it through that.
    assert_eq!(format!("{:?}", token.access_token()), "AccessToken(<redacted>)");
    assert!(format!("{token:?}").contains("access_token: AccessToken(<redacted>)"));
}

/// What a flow's `Done` value must satisfy.
pub trait Outcome: std::fmt::Debug {
    /// Checks the value; `sent_at` is when the last request was sent.
    fn check(&self, sent_at: Option<Timestamp>);
}

impl Outcome for TokenSet {
    fn check(&self, sent_at: Option<Timestamp>) {
        check_token(self, sent_at);
    }
}

impl Outcome for registration::Outcome {
    fn check(&self, _sent_at: Option<Timestamp>) {
        if let registration::Outcome::Registered { oms_connection } = self {
            assert!(!oms_connection.is_empty(), "registered without an omsConnection");
        }
    }
}

impl Outcome for Option<itc::Consumer> {
    fn check(&self, _sent_at: Option<Timestamp>) {
        if let Some(consumer) = self {
            assert!(!consumer.reg_no.is_empty() && !consumer.login_name.is_empty());
        }
    }
}

impl Outcome for itc::Reply {
    fn check(&self, _sent_at: Option<Timestamp>) {
        assert!(!self.code.as_str().is_empty(), "an empty code was accepted");
        assert_eq!(
            itc::Code::parse(self.code.as_str()),
            self.code,
            "the code does not round-trip"
        );
    }
}

impl<T: std::fmt::Debug> Outcome for gam::Envelope<T> {
    fn check(&self, _sent_at: Option<Timestamp>) {
        // Whatever the call's token: the envelope's words never show it.
        check_printed("an envelope's Debug", &format!("{self:?}"), &[API_TOKEN]);
    }
}

impl Outcome for AccessToken {
    fn check(&self, _sent_at: Option<Timestamp>) {
        assert!(!self.expose_secret().is_empty(), "an empty token");
    }
}

/// When a flow may ask to wait, and how far ahead.
#[derive(Clone, Copy, Debug)]
pub enum WaitRule {
    /// It never waits (one request, or requests and signatures only).
    Never,
    /// At most this long after the last answer it was handed (MDLP keeps a
    /// second between its auth answer and its token request).
    AfterAnswer(Duration),
    /// At most this long after the `now` it answers (a token holder's
    /// longest pause: [`holder_bound`]).
    Within(Duration),
}

/// What a flow may do.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    host: &'static str,
    /// The API host of an authorised call (its token requests go to `host`).
    api_host: Option<&'static str>,
    max_sends: usize,
    sign: Option<SignatureKind>,
    /// The secrets the flow's requests carry: nothing it prints may show them.
    secrets: &'static [&'static str],
    wait: WaitRule,
    /// `Failed` may not end the flow: a token source that still holds a
    /// valid token hands it out instead of the failure (and an authorised
    /// call goes on with it).
    failed_may_go_on: bool,
}

fn spec(
    host: &'static str,
    max_sends: usize,
    sign: Option<SignatureKind>,
    secrets: &'static [&'static str],
) -> Spec {
    Spec {
        host,
        api_host: None,
        max_sends,
        sign,
        secrets,
        wait: WaitRule::Never,
        failed_may_go_on: false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    New,
    Expecting(Expect),
    Finished,
}

/// A flow with a model of the `Flow` contract beside it: every call is
/// checked against the model before its action is handed back.
pub struct Checked<F: Flow> {
    flow: F,
    spec: Spec,
    phase: Phase,
    last_send_at: Option<Timestamp>,
    /// When the last response was handed in.
    last_answer_at: Option<Timestamp>,
    /// When the flow ended with an error, if it did.
    error_at: Option<Timestamp>,
    /// The earliest `now` of a call the flow acted on (`start`, or `resume`
    /// with the input it expected).
    acted_min: Option<Timestamp>,
    sends: usize,
    dones: usize,
    /// `start` may refuse with `Finished` (a session-backed flow whose session ended).
    start_may_finish: bool,
    /// The credential of the last request to the API host, and every one
    /// the API answered 401: never sent again.
    last_api_credential: Option<Vec<u8>>,
    refused_credentials: Vec<Vec<u8>>,
}

impl<F: Flow + Debug> Checked<F>
where
    F::Output: Outcome,
{
    fn from((flow, spec): (F, Spec)) -> Self {
        Self::new(flow, spec)
    }

    fn new(flow: F, spec: Spec) -> Self {
        Checked {
            flow,
            spec,
            phase: Phase::New,
            last_send_at: None,
            last_answer_at: None,
            error_at: None,
            acted_min: None,
            sends: 0,
            dones: 0,
            start_may_finish: false,
            last_api_credential: None,
            refused_credentials: Vec::new(),
        }
    }

    fn acted(&mut self, now: Timestamp) {
        self.acted_min = Some(self.acted_min.map_or(now, |t| t.min(now)));
    }

    /// The flow as it prints itself, after every call.
    fn check_flow(&self) {
        check_printed("a flow's Debug", &format!("{:?}", self.flow), self.spec.secrets);
    }

    fn start(&mut self, now: Timestamp, report: &mut Report) -> Option<Action<F::Output>> {
        if self.phase == Phase::New {
            self.acted(now);
        }
        let result = self.flow.start(now);
        self.check_flow();
        match (self.phase, result) {
            (Phase::New, Ok(action)) => Some(self.seen(now, action, report)),
            (Phase::New, Err(Error::Usage(UsageError::Finished))) if self.start_may_finish => {
                self.phase = Phase::Finished;
                None
            }
            (Phase::New, Err(e)) => panic!("start failed: {e:?}"),
            (Phase::Expecting(_), Err(Error::Usage(UsageError::AlreadyStarted))) => None,
            (Phase::Finished, Err(Error::Usage(UsageError::Finished))) => None,
            (phase, result) => panic!("start in {phase:?} gave {result:?}"),
        }
    }

    fn resume(&mut self, now: Timestamp, input: Input, report: &mut Report) -> Option<Action<F::Output>> {
        let kind = input.kind();
        if let Phase::Expecting(expect) = self.phase {
            if kind == expect_kind(expect) || kind == InputKind::Failed {
                self.acted(now);
            }
            if kind == InputKind::Response && expect == Expect::Response {
                self.last_answer_at = Some(now);
                if let Input::Response(response) = &input {
                    if self.last_api_credential.is_some() {
                        if response.status() == 401 {
                            // The API refused the token it was sent.
                            self.refused_credentials.extend(self.last_api_credential.take());
                        }
                    } else if response.status() == 200 {
                        // The token endpoint may issue the same text again: a new token.
                        let body = response.body();
                        self.refused_credentials.retain(|credential| {
                            let token = credential.splitn(2, |b| *b == b' ').nth(1).unwrap_or(credential);
                            !body.windows(token.len().max(1)).any(|w| w == token)
                        });
                    }
                }
                self.last_api_credential = None;
            }
        }
        let result = self.flow.resume(now, input);
        self.check_flow();
        let expect = match (self.phase, &result) {
            (Phase::New, Err(Error::Usage(UsageError::NotStarted))) => return None,
            (Phase::Finished, Err(Error::Usage(UsageError::Finished))) => return None,
            (Phase::Expecting(expect), _) => expect,
            (phase, result) => panic!("resume({kind:?}) in {phase:?} gave {result:?}"),
        };
        if kind == InputKind::Failed {
            match result {
                Err(Error::Usage(UsageError::Aborted)) => {
                    self.error_at = Some(now);
                    self.phase = Phase::Finished;
                    return None;
                }
                // A source that still holds a valid token hands it out.
                Ok(action) if self.spec.failed_may_go_on => {
                    return Some(self.seen(now, action, report));
                }
                other => panic!("Failed gave {other:?}"),
            }
        }
        let fits = matches!(
            (expect, kind),
            (Expect::Response, InputKind::Response)
                | (Expect::Signature, InputKind::Signature)
                | (Expect::Timeout, InputKind::Timeout)
        );
        if !fits {
            match result {
                Err(Error::Usage(UsageError::UnexpectedInput { expected, got })) => {
                    assert_eq!(
                        (expected, got),
                        (expect, kind),
                        "UnexpectedInput names the wrong kinds"
                    );
                }
                other => panic!("{kind:?} while expecting {expect:?} gave {other:?}"),
            }
            return None;
        }
        match result {
            Ok(action) => Some(self.seen(now, action, report)),
            Err(err) => {
                assert_eq!(kind, InputKind::Response, "{kind:?} input failed: {err:?}");
                check_refusal(&err, self.spec.secrets, report);
                self.error_at = Some(now);
                self.phase = Phase::Finished;
                None
            }
        }
    }

    /// Checks an action and moves the model on.
    fn seen(&mut self, now: Timestamp, action: Action<F::Output>, report: &mut Report) -> Action<F::Output> {
        check_printed("an action's Debug", &format!("{action:?}"), self.spec.secrets);
        self.phase = match &action {
            Action::Send(request) => {
                self.sends += 1;
                report.sent += 1;
                assert!(
                    self.sends <= self.spec.max_sends,
                    "more requests than the transcript has"
                );
                let uri = request.as_http().uri();
                assert!(
                    uri.host() == Some(self.spec.host) || uri.host() == self.spec.api_host,
                    "request to another host: {uri}"
                );
                self.last_api_credential = None;
                if uri.host().is_some() && uri.host() == self.spec.api_host {
                    let credential = request
                        .as_http()
                        .headers()
                        .get("authorization")
                        .map(|v| v.as_bytes().to_vec());
                    if let Some(credential) = &credential {
                        assert!(
                            !self.refused_credentials.contains(credential),
                            "a token the API refused (401) was sent again at {now:?}"
                        );
                    }
                    self.last_api_credential = credential;
                }
                assert_eq!(uri.scheme_str(), Some("https"));
                self.last_send_at = Some(now);
                Phase::Expecting(Expect::Response)
            }
            Action::Sign(job) => {
                assert_eq!(Some(job.kind()), self.spec.sign, "a sign job of the wrong kind");
                assert!(!job.bytes().is_empty(), "a sign job without bytes");
                Phase::Expecting(Expect::Signature)
            }
            Action::Wait(until) => {
                assert!(*until >= now, "Wait({until:?}) is before {now:?}");
                let limit = match self.spec.wait {
                    WaitRule::Never => panic!("a flow that never waits asked to wait until {until:?}"),
                    WaitRule::AfterAnswer(d) => self
                        .last_answer_at
                        .expect("a wait before any answer")
                        .saturating_add(d),
                    WaitRule::Within(d) => now.saturating_add(d),
                };
                assert!(
                    *until <= limit,
                    "Wait({until:?}) at {now:?} is later than {limit:?} ({:?})",
                    self.spec.wait
                );
                Phase::Expecting(Expect::Timeout)
            }
            Action::Done(output) => {
                self.dones += 1;
                assert_eq!(self.dones, 1, "Done twice");
                output.check(self.last_send_at);
                check_printed("a Done value's Debug", &format!("{output:?}"), self.spec.secrets);
                report.accepted += 1;
                Phase::Finished
            }
        };
        action
    }
}

/// The input that answers `expect`.
fn expect_kind(expect: Expect) -> InputKind {
    match expect {
        Expect::Response => InputKind::Response,
        Expect::Signature => InputKind::Signature,
        Expect::Timeout => InputKind::Timeout,
    }
}

/// Runs operations from `data` against a flow.
fn flow_ops<F: Flow + Debug>((flow, spec): (F, Spec), data: &[u8], report: &mut Report)
where
    F::Output: Outcome,
{
    let mut checked = Checked::new(flow, spec);
    run_ops(data, |b, now| step(&mut checked, b, *now, report));
}

/// Runs at most [`MAX_OPS`] operations from `data`: each moves the clock by
/// its time byte (see [`Bytes::time`]), then `op` reads its opcode and
/// operands and runs it at that instant (and may move the clock on).
fn run_ops(data: &[u8], mut op: impl FnMut(&mut Bytes<'_>, &mut Timestamp)) {
    let mut b = Bytes::new(data);
    let mut now = T0;
    for _ in 0..MAX_OPS {
        if b.is_empty() {
            break;
        }
        now = b.time(now);
        op(&mut b, &mut now);
    }
}

/// One operation on a checked flow: `start` or `resume` with an input.
fn step<F: Flow + Debug>(checked: &mut Checked<F>, b: &mut Bytes<'_>, now: Timestamp, report: &mut Report)
where
    F::Output: Outcome,
{
    let input = match b.byte() % 7 {
        0 => {
            let _ = checked.start(now, report);
            return;
        }
        1..=3 => Input::Response(b.response()),
        4 => Input::Signature(b.signature()),
        5 => Input::Timeout,
        _ => Input::Failed,
    };
    let _ = checked.resume(now, input, report);
}

// ---------------------------------------------------------------------------
// The flows, built with the secrets above.

const HOST_ITC: &str = "st.auth.itc.gov.mn";
const HOST_GAM: &str = "iam-staging.gam.vn";
const HOST_MONPAY: &str = "z-wallet.monpay.mn";
const HOST_ASTANA: &str = "astana-plat.example";
const HOST_GIS_MT: &str = "demo.lp.crpt.tech";
const HOST_TRUE_API: &str = "int01.gismt.crpt.tech";
const HOST_MDLP: &str = "api.sb.mdlp.crpt.ru";
const HOST_SUZ: &str = "intuot.crpt.ru";

fn gam_flow() -> (tokendance::TokenRequest, Spec) {
    let flow = gam::client_credentials(
        &gam::Config::staging(),
        "partner-app",
        ClientSecret::new(CLIENT_SECRET),
        "iam:user-password:update",
    )
    .expect("valid GAM flow");
    (flow, spec(HOST_GAM, 1, None, &[CLIENT_SECRET]))
}

fn monpay_flow() -> (tokendance::TokenRequest, Spec) {
    let flow = monpay::exchange_code(
        &monpay::Config::test(),
        "client",
        ClientSecret::new(CLIENT_SECRET),
        AuthCode::new(AUTH_CODE),
        "https://shop.example/back",
    )
    .expect("valid MonPay flow");
    (flow, spec(HOST_MONPAY, 1, None, &[CLIENT_SECRET, AUTH_CODE]))
}

fn astana_flow(password: bool) -> (tokendance::TokenRequest, Spec) {
    let url = Endpoint::parse("https://astana-plat.example/api/auth/login").expect("valid URL");
    if password {
        let flow = astana_plat::login_password(&url, "user", Password::new(PASSWORD)).expect("valid flow");
        (flow, spec(HOST_ASTANA, 1, None, &[PASSWORD]))
    } else {
        let flow = astana_plat::login_certificate(&url).expect("valid flow");
        (flow, spec(HOST_ASTANA, 1, None, &[]))
    }
}

fn challenge_flow(true_api: bool) -> (crpt::ChallengeSignIn, Spec) {
    let attached = Some(SignatureKind::Attached);
    if true_api {
        let flow =
            crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-1")).expect("valid flow");
        (flow, spec(HOST_TRUE_API, 2, attached, &[]))
    } else {
        let flow = crpt::gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some("conn-1")).expect("valid flow");
        (flow, spec(HOST_GIS_MT, 2, attached, &[]))
    }
}

fn mdlp_flow(password: bool) -> (mdlp::MdlpSignIn, Spec) {
    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    let (auth, secrets): (_, &'static [&'static str]) = if password {
        (
            mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
            &[MDLP_SECRET, MDLP_PASSWORD],
        )
    } else {
        (mdlp::Auth::SignedCode, &[MDLP_SECRET])
    };
    let flow = mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        auth,
        Some("conn-1"),
    )
    .expect("valid MDLP flow");
    let mut spec = spec(HOST_MDLP, 2, Some(SignatureKind::Detached), secrets);
    spec.wait = WaitRule::AfterAnswer(mdlp::SPACING);
    (flow, spec)
}

fn registration_flow(unsigned: bool) -> (registration::Registration, Spec) {
    let flow = registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        RegistrationKey::new(REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        if unsigned {
            registration::Signing::Unsigned
        } else {
            registration::Signing::Detached
        },
        registration::DEFAULT_API_VERSION,
    )
    .expect("valid registration");
    (
        flow,
        spec(HOST_SUZ, 1, Some(SignatureKind::Detached), &[REGISTRATION_KEY]),
    )
}

const HOST_ITC_SERVICE: &str = "st-service.itc.gov.mn";
const HOST_GAM_API: &str = "gateway-staging.gam.vn";

/// A token no one can renew: a 401 ends the call with that 401.
fn api_token() -> TokenSet {
    TokenSet::new(AccessToken::new(API_TOKEN), T0, None)
}

fn itc_consumer_call() -> (Authorized<TokenSet, Option<itc::Consumer>>, Spec) {
    let call = itc::consumer(&itc::Config::staging(), "АА12345678", api_token()).expect("valid call");
    (call, spec(HOST_ITC_SERVICE, 1, None, &[API_TOKEN]))
}

fn itc_reply_call(approve: bool) -> (Authorized<TokenSet, itc::Reply>, Spec) {
    let config = itc::Config::staging();
    let call = if approve {
        itc::approve_qr(&config, "12345678901", "qr payload", api_token())
    } else {
        itc::get_profile(&config, &itc::ProfileQuery::Phone("99112233".into()), api_token())
    };
    (
        call.expect("valid call"),
        spec(HOST_ITC_SERVICE, 1, None, &[API_TOKEN]),
    )
}

type GamEnvelopeCall<S> = Authorized<S, gam::Envelope<serde_json::Value>>;

fn gam_envelope_call() -> (GamEnvelopeCall<TokenSet>, Spec) {
    let body = serde_json::json!({"customerCode": "C-1"});
    let call = gam::post(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "authenticated"],
        &body,
        api_token(),
    )
    .expect("valid call");
    (call, spec(HOST_GAM_API, 1, None, &[API_TOKEN]))
}

type GamSource =
    Reissue<Box<dyn FnMut() -> Result<tokendance::TokenRequest, Error>>, tokendance::TokenRequest>;

/// A GAM call whose token comes from a client-credentials flow, run again
/// after a 401: token request, call, token request, call.
fn authorized_call() -> (GamEnvelopeCall<GamSource>, Spec) {
    let make: Box<dyn FnMut() -> Result<tokendance::TokenRequest, Error>> = Box::new(|| Ok(gam_flow().0));
    let call = gam::get(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &[("from", "2024-05-01")],
        Reissue::new(make),
    )
    .expect("valid call");
    // No secret list: the API's answers may say anything (the API never saw
    // the client secret, so its words are not an echo to scrub); `gam_ops`
    // checks the token request's scrubbing.
    let mut spec = spec(HOST_GAM, 4, None, &[]);
    spec.api_host = Some(HOST_GAM_API);
    // Reissue backs off after a failed token request, within its pacing,
    // and hands out the token it holds while that is valid.
    spec.wait = WaitRule::Within(holder_bound(&Pacing::reissue()));
    spec.failed_may_go_on = true;
    (call, spec)
}

fn ok_json(body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .expect("valid response")
}

fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x06, 0x09])
}

// ---------------------------------------------------------------------------
// Parse targets.

fn token_response(data: &[u8], report: &mut Report) {
    let (response, _) = parse_input(data);
    match oauth2::parse_token_response(&response, T0) {
        Ok(token) => {
            assert!(response.status().is_success(), "a token from a non-2xx answer");
            check_token(&token, Some(T0));
            report.accepted += 1;
        }
        Err(err) => check_refusal(&err, &[], report),
    }
}

/// A one-request flow: `start`, then the fuzzed answer, then nothing more.
fn one_shot_response<F: Flow + Debug>(flow: (F, Spec), data: &[u8], report: &mut Report)
where
    F::Output: Outcome,
{
    let (response, _) = parse_input(data);
    let mut checked = Checked::from(flow);
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let later = T0.saturating_add(Duration::from_secs(1));
    let _ = checked.resume(later, Input::Response(response), report);
    assert_eq!(
        checked.phase,
        Phase::Finished,
        "a one-shot flow goes on after its answer"
    );
    assert!(checked.resume(later, Input::Timeout, report).is_none());
}

/// An authorised call with a fixed token: `start` sends the request, then
/// the fuzzed answer ends it (a 401 cannot be retried without a new token).
fn api_response<T>(call: (Authorized<TokenSet, T>, Spec), data: &[u8], report: &mut Report)
where
    T: Outcome,
{
    let (response, _) = parse_input(data);
    api_response_to(call, response, report);
}

fn api_response_to<T>(
    call: (Authorized<TokenSet, T>, Spec),
    response: http::Response<Vec<u8>>,
    report: &mut Report,
) where
    T: Outcome,
{
    let status = response.status();
    let mut checked = Checked::from(call);
    let Some(Action::Send(request)) = checked.start(T0, report) else {
        panic!("an authorised call with a token did not send");
    };
    let header = request
        .as_http()
        .headers()
        .get("authorization")
        .expect("a credential");
    assert!(header.is_sensitive(), "the credential is not marked sensitive");
    let later = T0.saturating_add(Duration::from_secs(1));
    let outcome = checked.resume(later, Input::Response(response), report);
    assert_eq!(
        checked.phase,
        Phase::Finished,
        "the call goes on after its answer"
    );
    if matches!(outcome, Some(Action::Done(_))) {
        assert!(
            status != 401 && status != 403 && !status.is_redirection(),
            "{status} was accepted"
        );
    }
    assert!(checked.resume(later, Input::Timeout, report).is_none());
}

fn itc_response(data: &[u8], report: &mut Report) {
    let (response, refresh) = parse_input(data);
    let mut s = SessionChecker::new();
    assert!(s.poll(T0, report), "a new session sends");
    let mut now = T0;
    if refresh {
        let answer = ok_json(
            r#"{"access_token":"a-1","expires_in":300,"refresh_token":"r-1","refresh_expires_in":1800}"#,
        );
        s.handle(now, answer, report);
        now = T0.saturating_add(Duration::from_secs(300));
        assert!(s.poll(now, report), "a due token is refreshed");
        assert_eq!(s.session.in_flight(), Some(Grant::Refresh));
    }
    s.handle(now, response, report);
    s.poll(now, report);
}

fn crpt_key_response(data: &[u8], report: &mut Report) {
    let (response, true_api) = parse_input(data);
    let mut checked = Checked::from(challenge_flow(true_api));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let Some(Action::Sign(job)) = checked.resume(T0, Input::Response(response), report) else {
        return;
    };
    report.accepted += 1;
    let Some(Action::Send(request)) = checked.resume(T0, Input::Signature(signature()), report) else {
        panic!("a signature did not lead to the sign-in request");
    };
    // The server's uuid goes back as JSON, whatever characters it holds.
    let body: serde_json::Value =
        serde_json::from_slice(request.as_http().body()).expect("the sign-in body is JSON");
    assert_eq!(body["data"], signature().to_base64());
    assert!(body["uuid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(!job.bytes().is_empty());
}

fn crpt_sign_in_response(data: &[u8], report: &mut Report) {
    let (response, true_api) = parse_input(data);
    let mut checked = Checked::from(challenge_flow(true_api));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let key = ok_json(r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#);
    assert!(matches!(
        checked.resume(T0, Input::Response(key), report),
        Some(Action::Sign(_))
    ));
    let t1 = T0.saturating_add(Duration::from_secs(2));
    assert!(matches!(
        checked.resume(t1, Input::Signature(signature()), report),
        Some(Action::Send(_))
    ));
    let done = checked.resume(
        t1.saturating_add(Duration::from_secs(1)),
        Input::Response(response),
        report,
    );
    if let Some(Action::Done(token)) = done {
        assert_eq!(
            token.expires_at(),
            Some(t1.saturating_add(crpt::CHALLENGE_TOKEN_LIFETIME))
        );
    }
}

fn mdlp_auth_response(data: &[u8], report: &mut Report) {
    let (response, password) = parse_input(data);
    let mut checked = Checked::from(mdlp_flow(password));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let code = match checked.resume(T0, Input::Response(response), report) {
        None => return,
        Some(Action::Sign(job)) => {
            report.accepted += 1;
            assert!(!password, "a password sign-in asked for a signature");
            let code = job.bytes().to_vec();
            let Some(Action::Wait(until)) = checked.resume(T0, Input::Signature(signature()), report) else {
                panic!("a quick signature did not wait for the spacing");
            };
            assert_eq!(until, T0.saturating_add(mdlp::SPACING));
            code
        }
        Some(Action::Wait(until)) => {
            report.accepted += 1;
            assert!(password, "a signed-code sign-in skipped the signature");
            assert_eq!(until, T0.saturating_add(mdlp::SPACING));
            Vec::new()
        }
        Some(other) => panic!("MDLP auth answer gave {other:?}"),
    };
    let later = T0.saturating_add(mdlp::SPACING);
    let Some(Action::Send(request)) = checked.resume(later, Input::Timeout, report) else {
        panic!("the spacing wait did not lead to the token request");
    };
    let body: serde_json::Value =
        serde_json::from_slice(request.as_http().body()).expect("the token body is JSON");
    let sent_code = body["code"].as_str().expect("the token body has the code");
    assert!(!sent_code.is_empty());
    if password {
        assert_eq!(body["password"], MDLP_PASSWORD);
    } else {
        assert_eq!(
            sent_code.as_bytes(),
            &code[..],
            "the signed code is not the code sent"
        );
        assert_eq!(body["signature"], signature().to_base64());
    }
}

fn mdlp_token_response(data: &[u8], report: &mut Report) {
    let (response, password) = parse_input(data);
    let mut checked = Checked::from(mdlp_flow(password));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let auth = ok_json(r#"{"code":"b7b1abc9-aa"}"#);
    let t1 = T0.saturating_add(Duration::from_secs(5));
    let next = checked.resume(t1, Input::Response(auth), report);
    if !password {
        assert!(matches!(next, Some(Action::Sign(_))));
        // A slow signer: the spacing has passed, the request goes at once.
        let t2 = t1.saturating_add(Duration::from_secs(3));
        assert!(matches!(
            checked.resume(t2, Input::Signature(signature()), report),
            Some(Action::Send(_))
        ));
    } else {
        assert!(matches!(next, Some(Action::Wait(_))));
        assert!(matches!(
            checked.resume(t1.saturating_add(mdlp::SPACING), Input::Timeout, report),
            Some(Action::Send(_))
        ));
    }
    let sent_at = checked.last_send_at.expect("the token request was sent");
    if let Some(Action::Done(token)) = checked.resume(sent_at, Input::Response(response), report) {
        // `life_time` is in minutes: the lifetime is whole minutes unless it saturated.
        let expires = token.expires_at().expect("MDLP tokens have a lifetime");
        let lifetime = expires.saturating_duration_since(sent_at).as_millis();
        assert!(
            expires == Timestamp::MAX || lifetime % 60_000 == 0,
            "life_time is not in minutes"
        );
    }
}

fn suz_registration_response(data: &[u8], report: &mut Report) {
    let (response, unsigned) = parse_input(data);
    let mut checked = Checked::from(registration_flow(unsigned));
    let first = checked.start(T0, report);
    if unsigned {
        assert!(matches!(first, Some(Action::Send(_))));
    } else {
        let Some(Action::Sign(job)) = first else {
            panic!("a signed registration starts with a sign job");
        };
        let Some(Action::Send(request)) = checked.resume(T0, Input::Signature(signature()), report) else {
            panic!("the signature did not lead to the request");
        };
        assert_eq!(
            request.as_http().body(),
            job.bytes(),
            "sent bytes differ from signed bytes"
        );
    }
    let _ = checked.resume(T0, Input::Response(response), report);
    assert_eq!(checked.phase, Phase::Finished);
}

// ---------------------------------------------------------------------------
// PasswordSession.

/// OAuth error codes that name a refusal retrying cannot fix (RFC 6749
/// §5.2, and `access_denied`): a password grant refused with one of these
/// ends the session; nothing else does.
const ENDING_CODES: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
];

fn is_ending_refusal(err: &Error) -> bool {
    match err {
        // Not at a rate limit or a server failure, whatever the code says.
        Error::Server(refusal) if refusal.is_retryable() || refusal.status.is_server_error() => false,
        Error::Server(refusal) => refusal
            .code
            .as_deref()
            .is_some_and(|code| ENDING_CODES.iter().any(|c| c.eq_ignore_ascii_case(code))),
        _ => false,
    }
}

/// A `PasswordSession` (the ITC session) with a model beside it.
pub struct SessionChecker {
    session: PasswordSession,
    /// When the request in flight was sent, as the session measures it: the
    /// earliest `now` polled since (a clock stepped back re-anchors it).
    sent_at: Option<Timestamp>,
    /// The last request's send time, re-anchored to the earliest `now` seen
    /// since, as the session re-anchors every instant it keeps: as bounds
    /// (a `fetch` is not seen poll by poll), the later first. `None` after a
    /// refused refresh (the password grant goes at once).
    last_sent: Option<(Timestamp, Timestamp)>,
    /// A back-off: when it started (re-anchored the same way) and the least
    /// it lasts, in milliseconds.
    pause: Option<(Timestamp, u64)>,
    /// A refused refresh fell back: the next poll from this instant on (the
    /// answer's and the refresh's send time) sends the password grant.
    fallback_at: Option<Timestamp>,
    /// `retry_now` was pressed at this instant, just before the next poll.
    retried_at: Option<Timestamp>,
}

/// What `poll` answered, without the borrow.
// Short-lived, one per poll: boxing the request would only cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Polled {
    Use(String),
    Send(tokendance::Outgoing),
    Wait(Timestamp),
}

impl SessionChecker {
    fn new() -> Self {
        let session = itc::session(
            &itc::Config::staging(),
            "easy-register-test",
            Password::new(PASSWORD),
        )
        .expect("session");
        SessionChecker {
            session,
            sent_at: None,
            last_sent: None,
            pause: None,
            fallback_at: None,
            retried_at: None,
        }
    }

    fn check_state(&self) {
        assert_eq!(
            self.session.next_deadline().is_none(),
            self.session.has_ended(),
            "next_deadline is None exactly when the session ended"
        );
        if self.session.has_ended() {
            assert!(
                self.session.in_flight().is_none(),
                "an ended session has a request in flight"
            );
        }
        assert_eq!(
            self.session.in_flight().is_some(),
            self.sent_at.is_some(),
            "model and session disagree on the request in flight"
        );
        check_printed("the session's Debug", &format!("{:?}", self.session), &[PASSWORD]);
    }

    /// Whether the held token is surely due for renewal at `now` (or none is held).
    fn due(&self, now: Timestamp) -> bool {
        let margin = self.session.pacing().renew_margin;
        match self.session.tokens() {
            None => true,
            Some(t) => t
                .expires_at()
                .is_some_and(|e| now >= renew_at(t.obtained_at(), e, margin)),
        }
    }

    /// A clock stepped back: every instant the session keeps happened
    /// "now" at the latest.
    fn reanchor(&mut self, now: Timestamp) {
        if let Some(sent_at) = self.sent_at.as_mut() {
            *sent_at = (*sent_at).min(now);
        }
        if let Some((high, low)) = self.last_sent.as_mut() {
            *high = (*high).min(now);
            *low = (*low).min(now);
        }
        if let Some((since, _)) = self.pause.as_mut() {
            *since = (*since).min(now);
        }
    }

    /// A back-off starting at `at`.
    fn paused_from(&mut self, at: Timestamp, server: Option<Timestamp>) {
        let least = plus_ms(at, least_pause_ms(at, self.session.pacing(), server));
        self.pause = Some((at, millis(least.saturating_duration_since(at))));
    }

    /// Polls; returns whether a request was sent.
    fn poll(&mut self, now: Timestamp, report: &mut Report) -> bool {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        let pacing = *self.session.pacing();
        // What the session learns at a poll: the clock as it is now.
        self.reanchor(now);
        // A request not answered within the timeout is lost: a failure.
        let lost = self
            .sent_at
            .filter(|s| millis(now.saturating_duration_since(*s)) >= millis(pacing.renewal_timeout));
        if lost.is_some() && !ended {
            self.sent_at = None;
            self.paused_from(now, None);
        }
        let fallback = self.fallback_at.take().filter(|t| now >= *t);
        let retried = self.retried_at.take().filter(|t| now >= *t);
        let spaced_from =
            |last: Timestamp| millis(now.saturating_duration_since(last)) >= millis(pacing.min_interval);
        let spaced = self.last_sent.is_none_or(|(high, _)| spaced_from(high));
        let must_send = !ended
            && self.sent_at.is_none()
            && self.due(now)
            && (fallback.is_some() || (retried.is_some() && spaced));
        let polled = match self.session.poll(now) {
            Err(err) => {
                assert!(ended, "poll failed on a live session: {err:?}");
                assert!(matches!(err, Error::Usage(UsageError::Finished)));
                let valid = self.session.tokens().is_some_and(|t| t.is_valid(now));
                assert!(!valid, "an ended session refused to serve its valid token");
                return false;
            }
            Ok(SessionAction::UseToken(t)) => Polled::Use(t.expose_secret().to_owned()),
            Ok(SessionAction::Send(request)) => Polled::Send(request),
            Ok(SessionAction::Wait(until)) => Polled::Wait(until),
        };
        // An ended session sends nothing and never waits: it serves its
        // still-valid access token, then is finished.
        assert!(
            !ended || matches!(polled, Polled::Use(_)),
            "an ended session did not just serve its token"
        );
        let sent = match polled {
            Polled::Use(token) => {
                assert!(
                    !must_send,
                    "no request at {now:?} after {}",
                    if fallback.is_some() {
                        "a refused refresh"
                    } else {
                        "retry_now"
                    }
                );
                let held = self.session.tokens().expect("UseToken without a token");
                assert_eq!(held.access_token().expose_secret(), token);
                assert!(held.is_valid(now), "UseToken with an expired token");
                false
            }
            Polled::Wait(until) => {
                assert!(
                    !must_send,
                    "no request at {now:?} after {}",
                    if fallback.is_some() {
                        "a refused refresh"
                    } else {
                        "retry_now"
                    }
                );
                let bound = now.saturating_add(holder_bound(&pacing));
                assert!(
                    now <= until && until <= bound,
                    "Wait({until:?}) at {now:?} is not within [now, {bound:?}]"
                );
                let valid = self.session.tokens().is_some_and(|t| t.is_valid(now));
                assert!(!valid, "Wait while a valid token is held");
                false
            }
            Polled::Send(request) => {
                // One request in flight: a second only once the first is lost,
                // its age measured from the instants seen (never `sent + timeout`,
                // which saturates at `Timestamp::MAX`).
                assert!(
                    before.is_none() || lost.is_some(),
                    "a second request at {now:?} while one is in flight since {:?}",
                    self.sent_at
                );
                if let Some((_, low)) = self.last_sent {
                    assert!(
                        spaced_from(low),
                        "a request at {now:?} within min_interval of the last (at {low:?} or later)"
                    );
                }
                if let Some((since, low)) = self.pause {
                    let lasted = millis(now.saturating_duration_since(since));
                    assert!(
                        lasted >= low.min(millis(longest_pause(&pacing))),
                        "a request at {now:?} {lasted} ms into a back-off of at least {low} ms"
                    );
                }
                let grant = self
                    .session
                    .in_flight()
                    .expect("Send without a request in flight");
                if fallback.is_some() {
                    assert_eq!(
                        grant,
                        Grant::Password,
                        "a refused refresh was not followed by the password grant"
                    );
                }
                let body = String::from_utf8_lossy(request.as_http().body()).into_owned();
                assert_eq!(
                    body.contains("grant_type=refresh_token"),
                    grant == Grant::Refresh,
                    "the body does not match the grant"
                );
                assert_eq!(request.as_http().uri().host(), Some(HOST_ITC));
                if grant == Grant::Refresh {
                    assert!(!body.contains("password="), "a refresh carries the password");
                }
                self.sent_at = Some(now);
                self.last_sent = Some((now, now));
                report.sent += 1;
                true
            }
        };
        self.check_state();
        sent
    }

    fn handle(&mut self, now: Timestamp, response: http::Response<Vec<u8>>, report: &mut Report) {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        self.reanchor(now);
        let result = self.session.handle_response(now, response);
        match (ended, before, result) {
            (true, _, Err(Error::Usage(UsageError::Finished))) => {}
            (false, None, Err(Error::Usage(UsageError::NoRequestInFlight))) => {}
            (false, Some(grant), result) => {
                assert!(
                    self.session.in_flight().is_none(),
                    "still in flight after its answer"
                );
                self.sent_at = None;
                match result {
                    Ok(()) => {
                        let tokens = self.session.tokens().expect("Ok without a token");
                        assert!(!self.session.has_ended());
                        if grant == Grant::Refresh && tokens.refresh_token().is_none() {
                            // The refresh was refused: the password grant next,
                            // at once (on a clock not behind the refresh's send).
                            let sent = self.last_sent.map_or(now, |(high, _)| high);
                            self.fallback_at = Some(now.max(sent));
                            self.last_sent = None;
                        } else {
                            self.pause = None;
                            report.accepted += 1;
                        }
                    }
                    Err(err) => {
                        check_refusal(&err, &[PASSWORD], report);
                        // Only a typed OAuth refusal of the password grant ends
                        // the session (a proxy's 401, 403 or 404 page does not).
                        assert_eq!(
                            self.session.has_ended(),
                            grant == Grant::Password && is_ending_refusal(&err),
                            "{grant:?} refused with {err:?}: ended is {}",
                            self.session.has_ended()
                        );
                        if self.session.has_ended() {
                            // Its still-valid access token serves on; the refresh token is gone.
                            let refresh = self.session.tokens().and_then(TokenSet::refresh_token);
                            assert!(refresh.is_none(), "an ended session keeps its refresh token");
                        } else {
                            self.paused_from(now, err.retry_after().map(|r| r.deadline(now)));
                        }
                        if let (Grant::Refresh, Error::Server(refusal)) = (grant, &err) {
                            // Any non-retryable 4xx to a refresh falls back to
                            // the password grant (handle answers Ok).
                            let non_retryable_4xx =
                                refusal.status.is_client_error() && !refusal.is_retryable();
                            let invalid_grant = refusal.kind == tokendance::ServerErrorKind::InvalidGrant;
                            assert!(
                                !non_retryable_4xx && !invalid_grant,
                                "a refused refresh did not fall back: {refusal:?}"
                            );
                        }
                    }
                }
            }
            (ended, before, result) => panic!("handle_response (ended {ended}, {before:?}) gave {result:?}"),
        }
        if let Some(tokens) = self.session.tokens() {
            if tokens.refresh_expires_at().is_some() {
                assert!(
                    tokens.refresh_token().is_some(),
                    "a refresh expiry without a refresh token"
                );
            }
        }
        self.check_state();
    }

    fn transport_failed(&mut self, now: Timestamp) {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        self.reanchor(now);
        let result = self.session.transport_failed(now);
        match (ended, before, result) {
            (true, _, Err(Error::Usage(UsageError::Finished))) => {}
            (false, None, Err(Error::Usage(UsageError::NoRequestInFlight))) => {}
            (false, Some(_), Ok(())) => {
                assert!(self.session.in_flight().is_none());
                self.sent_at = None;
                self.paused_from(now, None);
                let deadline = self
                    .session
                    .next_deadline()
                    .expect("a live session has a deadline");
                assert!(deadline >= now, "the back-off ends before the failure");
            }
            (ended, before, result) => panic!("transport_failed (ended {ended}, {before:?}) gave {result:?}"),
        }
        self.check_state();
    }

    fn retry_now(&mut self, now: Timestamp) {
        self.session.retry_now();
        self.pause = None;
        if self.session.in_flight().is_none() && !self.session.has_ended() {
            self.retried_at = Some(now);
        }
        self.check_state();
    }

    fn set_pacing(&mut self, field: u8, d: Duration) {
        let before = *self.session.pacing();
        let pacing = with_field(before, usize::from(field), d);
        match self.session.set_pacing(pacing) {
            Ok(()) => assert!(pacing::is_valid(&pacing), "accepted {pacing:?}"),
            Err(err) => {
                assert!(!pacing::is_valid(&pacing), "refused {pacing:?}: {err}");
                assert!(matches!(err, Error::Usage(UsageError::InvalidConfig { .. })));
                assert_eq!(self.session.pacing(), &before, "a refused pacing was kept");
            }
        }
        self.check_state();
    }

    /// `fetch` as a flow, for a few operations.
    fn fetch(&mut self, b: &mut Bytes<'_>, now: &mut Timestamp, report: &mut Report) {
        let ended = self.session.has_ended();
        let steps = usize::from(b.byte() % 8);
        let mut spec = spec(HOST_ITC, usize::MAX, None, &[PASSWORD]);
        spec.wait = WaitRule::Within(holder_bound(self.session.pacing()));
        spec.failed_may_go_on = true;
        let mut checked = Checked::new(self.session.fetch(), spec);
        checked.start_may_finish = ended;
        let mut earliest = *now;
        let _ = checked.start(*now, report);
        for _ in 0..steps {
            *now = b.time(*now);
            earliest = earliest.min(*now);
            step(&mut checked, b, *now, report);
        }
        let (last_send, error_at, acted) = (checked.last_send_at, checked.error_at, checked.acted_min);
        drop(checked);
        // The fetch's polls are not seen one by one. A request it sent is
        // in flight since then (what follows a send answers it or is not
        // taken); one that was in flight before was re-anchored by every
        // poll the fetch made. The rest the model keeps only as bounds.
        let before = self.sent_at;
        self.sent_at = self.session.in_flight().map(|_| match (last_send, before) {
            (Some(t), _) => t,
            (None, Some(sent)) => acted.map_or(sent, |a| sent.min(a)),
            (None, None) => unreachable!("in flight without a request sent"),
        });
        if let Some(t) = last_send {
            self.last_sent = Some((t, earliest.min(t)));
        } else if let Some((_, low)) = self.last_sent.as_mut() {
            *low = (*low).min(earliest);
        }
        self.pause = None;
        if let Some(t) = error_at.filter(|_| !self.session.has_ended()) {
            // While the access token is valid, a failed renewal hands it out.
            assert!(
                self.session.tokens().is_none_or(|tokens| !tokens.is_valid(t)),
                "a fetch failed at {t:?} while the session held a valid token"
            );
        }
        assert!(!ended || self.session.has_ended(), "an ended session came back");
        self.check_state();
    }
}

fn password_session_ops(data: &[u8], report: &mut Report) {
    let mut s = SessionChecker::new();
    run_ops(data, |b, now| {
        let ended = s.session.has_ended();
        let op = b.byte() % 10;
        if !matches!(op, 0 | 1 | 8) {
            // The "at once" checks are about the very next poll.
            s.fallback_at = None;
            s.retried_at = None;
        }
        match op {
            0 | 1 => {
                s.poll(*now, report);
            }
            2 | 3 => {
                let response = b.response();
                s.handle(*now, response, report);
            }
            4 => s.transport_failed(*now),
            5 => {
                s.session.unauthorized(*now);
                if let Some(tokens) = s.session.tokens() {
                    assert!(
                        !tokens.is_valid(*now),
                        "a token the server refused is still valid"
                    );
                }
            }
            6 => {
                let d = b.duration();
                let field = b.byte();
                s.set_pacing(field, d);
            }
            7 => s.fetch(b, now, report),
            8 => {
                let deadline = s.session.next_deadline();
                if let Some(deadline) = deadline {
                    *now = deadline;
                    s.poll(*now, report);
                }
            }
            _ => s.retry_now(*now),
        }
        assert!(!ended || s.session.has_ended(), "an ended session came back");
    });
}

// ---------------------------------------------------------------------------
// TokenKeeper.

const CONNECTION: &str = "conn-1";

/// Panics with what broke a rule the shared models check.
#[track_caller]
fn checked<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|why| panic!("{why}"))
}

/// The ticket `pick` chooses among those handed out and not reported yet,
/// with its number.
fn take_ticket(tickets: &mut [Option<(RenewalTicket, u64)>], pick: u8) -> Option<(RenewalTicket, u64)> {
    if tickets.is_empty() {
        return None;
    }
    let index = usize::from(pick) % tickets.len();
    tickets[index].take()
}

fn token_from(b: &mut Bytes<'_>, now: Timestamp) -> TokenSet {
    let obtained = b.time(now);
    let shape = b.byte();
    let expires = match shape & 3 {
        0 => None,
        1 => Some(obtained.saturating_add(b.duration())),
        2 => Some(b.time(obtained)),
        _ => Some(obtained.saturating_sub(b.duration())),
    };
    let text = format!("tok-{}", b.byte());
    let mut token = TokenSet::new(AccessToken::new(text), obtained, expires);
    if shape & 4 != 0 {
        token = token.with_refresh_token(RefreshToken::new("r"), None);
    }
    token
}

/// Operations: 0 and 1 poll, 2 renewed, 3 failed, 4 the held token
/// refused, 5 restore, 6 restore its own snapshot, 7 pacing, 8 jump to the
/// next deadline and poll, 9 `retry_now`, 10 abandoned, 11 a foreign
/// ticket, 12 a named token refused.
fn token_keeper_ops(data: &[u8], report: &mut Report) {
    let mut k = ModelledKeeper::new(CONNECTION);
    // Every ticket handed out, with its number; `None` once reported.
    let mut tickets: Vec<Option<(RenewalTicket, u64)>> = Vec::new();
    run_ops(data, |b, clock| {
        let op = b.byte() % 13;
        if op == 8 {
            *clock = k.keeper.next_deadline();
        }
        let now = *clock;
        match op {
            0 | 1 | 8 => {
                if let (Kept::Renew(ticket), _) = checked(k.poll(now)) {
                    tickets.push(Some((ticket, k.issued)));
                    report.sent += 1;
                }
            }
            2 => {
                let pick = b.byte();
                let token = token_from(b, now);
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    report.accepted += usize::from(checked(k.renewed(ticket, number, token)));
                }
            }
            3 => {
                let pick = b.byte();
                let retry_at = match b.byte() % 3 {
                    0 => None,
                    _ => Some(b.time(now)),
                };
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    report.refused += usize::from(checked(k.failed(now, ticket, number, retry_at)));
                }
            }
            4 => {
                if let Some(name) = k.held.as_ref().map(|l| l.name.clone()) {
                    checked(k.rejected(now, &name));
                }
            }
            5 => {
                let other = b.byte() & 1 == 1;
                // A peer's version: below, at or above this keeper's, or the extremes.
                let held = k.held.as_ref().map_or(0, |l| l.version);
                let version = match b.byte() % 8 {
                    0 => 0,
                    1 => k.version,
                    2 => k.version.saturating_add(1),
                    3 => k.version.saturating_sub(1),
                    4 => u64::MAX,
                    5 => held,
                    6 => held.saturating_sub(1),
                    _ => held.saturating_add(1),
                };
                let token = token_from(b, now);
                let connection = if other { "conn-2" } else { CONNECTION };
                checked(k.restore(connection, version, &token));
            }
            6 => {
                if let Some(snapshot) = k.keeper.snapshot() {
                    assert_eq!(snapshot.oms_connection(), CONNECTION);
                    assert_eq!(
                        k.keeper.restore(snapshot).ok(),
                        Some(false),
                        "a snapshot of itself adopted"
                    );
                }
            }
            7 => {
                let d = b.duration();
                let field = b.byte();
                let pacing = with_field(*k.keeper.pacing(), usize::from(field), d);
                checked(k.set_pacing(pacing));
            }
            9 => k.retry_now(),
            10 => {
                let pick = b.byte();
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    checked(k.abandoned(ticket, number));
                }
            }
            11 => {
                let how = b.byte();
                let number = if how & 4 == 0 { k.issued } else { 1 };
                checked(k.foreign(now, number, how));
            }
            _ => {
                let name = format!("tok-{}", b.byte());
                checked(k.rejected(now, &name));
            }
        }
        checked(k.check(now));
    });
}

// ---------------------------------------------------------------------------
// Path integrity.

/// The pieces a `path_segments` string is made of in its pieces mode: dots
/// plain and encoded, delimiters, escapes, whitespace and control
/// characters, and characters URL parsers treat specially.
pub const PIECES: [&str; 48] = [
    ".", "..", "%2e", "%2E", "%", "%25", "%2F", "%2f", "/", "\\", "?", "#", ";", "&", "=", "+", " ", "\t",
    "\r", "\n", "\u{0}", "\u{1f}", "\u{7f}", "\u{85}", "\u{9f}", "\u{a0}", "\u{200b}", "\u{2028}",
    "\u{feff}", "\u{fffd}", "é", "日", "~", "-", "_", "a", "Z", "0", "@", ":", "[", "]", "|", "^", "'", "\"",
    "<", ">",
];

/// Drives `flow` to its request number `nth` (from 0), answering earlier
/// requests with `answer`, signing, and waiting as told.
fn request_of<F: Flow>(mut flow: F, nth: usize, answer: &str) -> Result<tokendance::Outgoing, Error> {
    let mut now = T0;
    let mut sent = 0;
    let mut step = flow.start(now);
    for _ in 0..8 {
        match step? {
            Action::Send(request) if sent == nth => return Ok(request),
            Action::Send(_) => {
                sent += 1;
                step = flow.resume(now, Input::Response(ok_json(answer)));
            }
            Action::Sign(_) => step = flow.resume(now, Input::Signature(signature())),
            Action::Wait(until) => {
                now = until;
                step = flow.resume(now, Input::Timeout);
            }
            Action::Done(_) => break,
        }
    }
    panic!("the flow did not reach its request {nth}");
}

const KEY_ANSWER: &str = r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#;
const CODE_ANSWER: &str = r#"{"code":"c-1"}"#;

/// The request an API builds from `values` (the caller's, at path segments
/// and in query pairs): built with placeholders first, to learn which
/// segments are the caller's, then with the values.
struct PathCase<'a> {
    what: &'static str,
    /// The caller's values that become path segments, in order.
    segments: Vec<&'a str>,
    /// The query pairs the request must carry exactly (`None`: not checked).
    query: Option<Vec<(String, String)>>,
    /// The error expected instead of a request, if any.
    refusal: Option<fn(&Error) -> bool>,
}

fn is_segment_refusal(err: &Error) -> bool {
    matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. }))
}

fn is_config_refusal(err: &Error) -> bool {
    matches!(err, Error::Usage(UsageError::InvalidConfig { .. }))
}

/// Checks the request `build` makes from `case.segments` against the one it
/// makes from placeholders (told so by its flag, to fill in any other value
/// validly).
fn check_path_case(
    case: PathCase<'_>,
    build: impl Fn(&[&str], bool) -> Result<tokendance::Outgoing, Error>,
    report: &mut Report,
) {
    let placeholders: Vec<String> = (0..case.segments.len())
        .map(|i| format!("PLACEHOLDER{i}"))
        .collect();
    let names: Vec<&str> = placeholders.iter().map(String::as_str).collect();
    let reference =
        build(&names, true).unwrap_or_else(|e| panic!("{}: placeholders refused: {e:?}", case.what));
    let reference_path = reference.as_http().uri().path().to_owned();
    let built = build(&case.segments, false);
    let must_refuse = case.refusal.is_some();
    let request = match (built, case.refusal) {
        (Err(err), Some(expected)) => {
            assert!(
                expected(&err),
                "{}: {:?} refused with {err:?}",
                case.what,
                case.segments
            );
            check_error(&err, &[]);
            report.refused += 1;
            return;
        }
        (Err(err), None) => panic!("{}: {:?} refused: {err:?}", case.what, case.segments),
        (Ok(request), _) => request,
    };
    let uri = request.as_http().uri().clone();
    assert!(
        !must_refuse,
        "{}: {:?} must be refused, but {uri} was built",
        case.what, case.segments
    );
    let want: Vec<&str> = reference_path.split('/').collect();
    let got: Vec<&str> = uri.path().split('/').collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{}: {:?} gave {} segments, not {}: {uri}",
        case.what,
        case.segments,
        got.len(),
        want.len()
    );
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        match names.iter().position(|n| n == want) {
            Some(v) => {
                let decoded =
                    decode_segment(got).unwrap_or_else(|e| panic!("{}: segment {i} {got:?}: {e}", case.what));
                assert!(
                    decoded == case.segments[v].as_bytes(),
                    "{}: segment {i} {got:?} decodes to {:?}, not {:?}",
                    case.what,
                    String::from_utf8_lossy(&decoded),
                    case.segments[v]
                );
            }
            None => assert_eq!(got, want, "{}: segment {i} changed: {uri}", case.what),
        }
    }
    assert_eq!(
        uri.host(),
        reference.as_http().uri().host(),
        "{}: another host",
        case.what
    );
    if let Some(pairs) = &case.query {
        let query = uri
            .query()
            .unwrap_or_else(|| panic!("{}: no query in {uri}", case.what));
        let decoded = form_decode(query).unwrap_or_else(|e| panic!("{}: query {query:?}: {e}", case.what));
        assert_eq!(&decoded, pairs, "{}: the query of {uri}", case.what);
    }
    report.accepted += 1;
}

/// `path_segments`: byte 0 bit 0 picks how the four strings are read (raw
/// UTF-8, lossy, or each byte one of [`PIECES`]); each string is a length
/// byte then its bytes. Every API whose path takes a caller's value builds
/// its request from them, and a registration answer carries the fourth as
/// its `omsConnection`: each is refused exactly as the segment rule says,
/// or its path has the intended segments, each decoding to the value.
fn path_segments(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    let pieces = b.byte() & 1 == 1;
    let values: Vec<String> = (0..4)
        .map(|_| {
            let len = usize::from(b.byte());
            let bytes = b.take(len);
            if pieces {
                bytes
                    .iter()
                    .map(|p| PIECES[usize::from(*p) % PIECES.len()])
                    .collect()
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            }
        })
        .collect();
    let v: Vec<&str> = values.iter().map(String::as_str).collect();
    let segment_rule = |segments: &[&str]| {
        segments
            .iter()
            .any(|s| segment_must_be_refused(s))
            .then_some(is_segment_refusal as fn(&Error) -> bool)
    };

    // ITC: GET {service}api/info/consumer/{regNo}.
    check_path_case(
        PathCase {
            what: "itc::consumer",
            segments: vec![v[0]],
            query: None,
            refusal: segment_rule(&[v[0]]),
        },
        |s, _| {
            let mut call = itc::consumer(&itc::Config::staging(), s[0], api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    // GAM: POST and GET {resource server}/{segments...}?{pairs}.
    let body = serde_json::json!({"customerCode": "C-1"});
    check_path_case(
        PathCase {
            what: "gam::post",
            segments: vec![v[0], v[1]],
            query: None,
            refusal: segment_rule(&[v[0], v[1]]),
        },
        |s, _| {
            let mut call =
                gam::post::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", s, &body, api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    let pairs = [(v[2], v[3]), ("from", v[0])];
    check_path_case(
        PathCase {
            what: "gam::get",
            segments: vec![v[1]],
            query: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            refusal: segment_rule(&[v[1]]),
        },
        |s, _| {
            let mut call =
                gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", s, &pairs, api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    // CRPT sign-ins: the connection is the last segment of the token request.
    for (what, conn) in [
        ("gis_mt::sign_in", v[0]),
        ("true_api::sign_in", v[1]),
        ("mdlp::sign_in", v[2]),
    ] {
        check_path_case(
            PathCase {
                what,
                segments: vec![conn],
                query: None,
                refusal: segment_rule(&[conn]),
            },
            |s, _| match what {
                "gis_mt::sign_in" => request_of(
                    crpt::gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(s[0]))?,
                    1,
                    KEY_ANSWER,
                ),
                "true_api::sign_in" => request_of(
                    crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(s[0]))?,
                    1,
                    KEY_ANSWER,
                ),
                _ => request_of(mdlp_flow_for(s[0])?, 1, CODE_ANSWER),
            },
            report,
        );
    }
    // SUZ registration: POST {base}/api/{apiVersion}/integration/connection?omsId=...
    let oms_id = v[1];
    check_path_case(
        PathCase {
            what: "registration::register",
            segments: vec![v[0]],
            query: Some(vec![("omsId".to_owned(), oms_id.to_owned())]),
            refusal: if oms_id.is_empty() {
                Some(is_config_refusal as fn(&Error) -> bool)
            } else {
                segment_rule(&[v[0]])
            },
        },
        |s, reference| {
            request_of(
                register_unsigned(if reference { "oms-1" } else { oms_id }, s[0])?,
                0,
                "",
            )
        },
        report,
    );
    // A registration answer: its omsConnection becomes a segment of every
    // sign-in, so it is refused as malformed by the same rule.
    registration_answer(v[3], report);
}

fn mdlp_flow_for(conn: &str) -> Result<mdlp::MdlpSignIn, Error> {
    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
        Some(conn),
    )
}

fn register_unsigned(oms_id: &str, api_version: &str) -> Result<registration::Registration, Error> {
    registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        oms_id,
        RegistrationKey::new(REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        registration::Signing::Unsigned,
        api_version,
    )
}

fn registration_answer(connection: &str, report: &mut Report) {
    let mut flow = register_unsigned(
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        registration::DEFAULT_API_VERSION,
    )
    .expect("a valid registration");
    assert!(matches!(flow.start(T0), Ok(Action::Send(_))));
    let body = serde_json::json!({"status": "SUCCESS", "omsConnection": connection}).to_string();
    let outcome = flow.resume(T0, Input::Response(ok_json(&body)));
    match outcome {
        Err(err) => {
            // An empty one reads as absent (the crate's `required_str`).
            let typed = match &err {
                Error::Protocol(tokendance::ProtocolError::Malformed { field, .. }) => {
                    field == "omsConnection"
                }
                Error::Protocol(tokendance::ProtocolError::MissingField { field, .. }) => {
                    *field == "omsConnection" && connection.is_empty()
                }
                _ => false,
            };
            assert!(typed, "omsConnection {connection:?} refused with {err:?}");
            assert!(
                segment_must_be_refused(connection),
                "omsConnection {connection:?} refused: {err:?}"
            );
            check_error(&err, &[REGISTRATION_KEY]);
            report.refused += 1;
        }
        Ok(Action::Done(registration::Outcome::Registered { oms_connection })) => {
            assert!(
                !segment_must_be_refused(connection),
                "omsConnection {connection:?} accepted"
            );
            assert_eq!(oms_connection.as_str(), connection, "the connection changed");
            check_printed(
                "a registration's Debug",
                &format!("{oms_connection:?}"),
                &[REGISTRATION_KEY],
            );
            // Then it is one segment of a sign-in.
            check_path_case(
                PathCase {
                    what: "a registered connection",
                    segments: vec![connection],
                    query: None,
                    refusal: None,
                },
                |s, _| {
                    request_of(
                        crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(s[0]))?,
                        1,
                        KEY_ANSWER,
                    )
                },
                report,
            );
        }
        Ok(other) => panic!("a registration answer gave {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Seeds: `fuzz/seeds/<target>/<name>` is `seeds()` written out (see
// `tests/fuzz_regressions.rs`, `regenerate_seeds`).

const JSON: u8 = 0x01;
const HTML: u8 = 0x03;
const XML: u8 = 0x04;
/// The variant bit of a parse input's flags byte.
pub const VARIANT: u8 = 0x80;

/// Bodies every parse target gets: what proxies, gateways and broken
/// servers send instead of the documented answer.
fn hostile_bodies() -> Vec<(&'static str, u16, u8, Vec<u8>)> {
    let b = |s: &str| s.as_bytes().to_vec();
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(300), "]".repeat(300));
    let long_message = format!(
        r#"{{"error":"invalid_request","error_description":"{}"}}"#,
        "x".repeat(5_000)
    );
    let mut too_large = vec![b' '; tokendance::MAX_BODY];
    too_large.extend_from_slice(br#"{"access_token":"t"}"#);
    vec![
        ("empty_200", 200, JSON, Vec::new()),
        ("empty_403", 403, 0, Vec::new()),
        (
            "html_502",
            502,
            HTML,
            b("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"),
        ),
        (
            "html_200",
            200,
            HTML,
            b("<!DOCTYPE html><html><body>Sign in</body></html>"),
        ),
        (
            "xml_401",
            401,
            XML,
            b(r#"<?xml version="1.0"?><error><code>401</code></error>"#),
        ),
        ("truncated_json", 200, JSON, b(r#"{"access_token":"eyJhbGciOi"#)),
        ("array", 200, JSON, b(r#"[{"access_token":"t"}]"#)),
        ("null", 200, JSON, b("null")),
        ("bare_string", 200, JSON, b(r#""t""#)),
        (
            "huge_numbers",
            200,
            JSON,
            b(
                r#"{"access_token":"t","token":"t","expires_in":184467440737095516160,"life_time":99999999999999999999999,"refresh_expires_in":-1,"statusCode":1e308}"#,
            ),
        ),
        (
            "float_overflow",
            200,
            JSON,
            b(r#"{"access_token":"t","expires_in":1e400}"#),
        ),
        ("deep_nesting", 200, JSON, deep.into_bytes()),
        (
            "duplicate_keys",
            200,
            JSON,
            b(r#"{"access_token":"a","access_token":"b","token":"c","token":"d"}"#),
        ),
        (
            "bom",
            200,
            JSON,
            b("\u{feff}{\"access_token\":\"t\",\"token\":\"t\"}"),
        ),
        (
            "lone_surrogate",
            200,
            JSON,
            b(r#"{"access_token":"\ud800","token":"\udfff"}"#),
        ),
        ("redirect", 302, JSON | 0x40, Vec::new()),
        ("rate_limited", 429, JSON | 0x08, b(r#"{"error":"slow_down"}"#)),
        (
            "unavailable_http_date",
            503,
            HTML | 0x18,
            b("<html>maintenance</html>"),
        ),
        (
            "error_in_200",
            200,
            JSON,
            b(r#"{"error":"invalid_grant","error_description":"Token is not active"}"#),
        ),
        (
            "success_false",
            200,
            JSON,
            b(r#"{"success":false,"message":"denied","token":"t","access_token":"t"}"#),
        ),
        (
            "secret_echo",
            400,
            JSON,
            b(
                r#"{"error":"invalid_request","error_description":"bad open sesame 42, open+sesame+42, open%20sesame%2042, client secret 7, auth code 99, reg key 5150, mdlp pass 1, mdlp secret 3"}"#,
            ),
        ),
        (
            "control_characters",
            400,
            JSON,
            b(r#"{"error":"x\u0000y","message":"a\u001b[31mred\r\nb"}"#),
        ),
        ("long_message", 400, JSON, long_message.into_bytes()),
        (
            "not_utf8",
            200,
            JSON,
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
        ),
        ("too_large", 200, JSON, too_large),
    ]
}

/// The documented answers (PROTOCOLS.md) and near misses, per parse target.
fn documented_bodies(target: &str) -> Vec<(&'static str, u16, u8, &'static str)> {
    let oauth: Vec<(&'static str, u16, u8, &'static str)> = vec![
        (
            "keycloak_ok",
            200,
            JSON,
            r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.sig","expires_in":300,"refresh_expires_in":1800,"refresh_token":"eyJhbGciOiJIUzI1NiJ9.e30.r","token_type":"bearer","not-before-policy":0,"session_state":"3f1c","scope":"profile email"}"#,
        ),
        (
            "gam_ok",
            200,
            JSON,
            r#"{"access_token":"eyJ","expires_in":3600,"token_type":"Bearer","scope":"iam:user-password:update"}"#,
        ),
        (
            "monpay_ok",
            200,
            JSON,
            r#"{"access_token":"mp-1","token_type":"Bearer","refresh_token":"r","expires_in":0}"#,
        ),
        (
            "string_expires_in",
            201,
            0,
            r#"{"access_token":"t","expires_in":" 300 ","token_type":"BEARER"}"#,
        ),
        // The same at 200: a token answer's only success status since (the
        // 201 above is now refused), so that a seed still reaches the
        // parsing of a string `expires_in`.
        (
            "string_expires_in_200",
            200,
            0,
            r#"{"access_token":"t","expires_in":" 300 ","token_type":"BEARER"}"#,
        ),
        (
            "offline_refresh",
            200,
            JSON,
            r#"{"access_token":"t","expires_in":300,"refresh_token":"r","refresh_expires_in":0}"#,
        ),
        (
            "wrong_token_type",
            200,
            JSON,
            r#"{"access_token":"t","token_type":"mac"}"#,
        ),
        (
            "access_token_number",
            200,
            JSON,
            r#"{"access_token":12345,"expires_in":300}"#,
        ),
        (
            "keycloak_invalid_grant",
            401,
            JSON,
            r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        ),
        (
            "keycloak_not_active",
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ),
        (
            "gam_processing_error",
            200,
            JSON,
            r#"{"status":"400","message":"ERROR_MESSAGE","error_code":"E01","timestamp":"2024-01-01T00:00:00Z"}"#,
        ),
        ("monpay_505", 505, 0, ""),
        ("monpay_415", 415, JSON, r#"{"error":"unsupported_grant_type"}"#),
    ];
    let astana = vec![
        (
            "ok",
            200,
            JSON,
            r#"{"statusCode":200,"message":"Access token created","data":{"token":"abc.def"}}"#,
        ),
        (
            "incorrect_credentials",
            422,
            JSON,
            r#"{"statusCode":422,"message":"Incorrect credentials"}"#,
        ),
        (
            "not_found",
            400,
            JSON,
            r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
        ),
        (
            "ca_endpoint",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Endpoint not found"}"#,
        ),
        (
            "ca_failed",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Error. Try later"}"#,
        ),
        (
            "outdated",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Certificate is outdated. Please get fresh one."}"#,
        ),
        (
            "server",
            500,
            JSON,
            r#"{"statusCode":500,"message":"Error on server. try later"}"#,
        ),
        (
            "astana_error_in_200",
            200,
            JSON,
            r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
        ),
        (
            "token_number",
            200,
            JSON,
            r#"{"statusCode":200,"message":"Access token created","data":{"token":7}}"#,
        ),
        ("data_string", 200, JSON, r#"{"statusCode":200,"data":"abc"}"#),
    ];
    let crpt_errors = vec![
        (
            "crpt_error_200",
            200,
            JSON,
            r#"{"code":"403","error_message":"Access denied","description":"certificate not found"}"#,
        ),
        (
            "crpt_error_403",
            403,
            JSON,
            r#"{"error_message":"Signature is detached"}"#,
        ),
        (
            "suz_global_errors",
            400,
            JSON,
            r#"{"success":false,"globalErrors":[{"error":"bad omsId"}]}"#,
        ),
    ];
    let mut bodies: Vec<(&'static str, u16, u8, &'static str)> = match target {
        "token_response" | "itc_response" | "gam_response" | "monpay_response" => oauth,
        "astana_password_response" | "astana_certificate_response" => astana,
        "crpt_key_response" => vec![
            (
                "key_ok",
                200,
                JSON,
                r#"{"uuid":"f4e4c1b0-9c61-4c2a-8a5e-3d1b2c4e5f60","data":"QNRPNPFGJZSEVNRYDHRFOWMCDGJWXJ"}"#,
            ),
            (
                "key_ok_true_api",
                200,
                JSON | VARIANT,
                r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#,
            ),
            (
                "uuid_with_quotes",
                200,
                JSON,
                r#"{"uuid":"a\"b\\c\u2028","data":"x"}"#,
            ),
            ("uuid_number", 200, JSON, r#"{"uuid":12,"data":"QNRP"}"#),
            ("data_empty", 200, JSON, r#"{"uuid":"u","data":""}"#),
        ],
        "crpt_sign_in_response" => vec![
            (
                "token_ok",
                200,
                JSON,
                r#"{"token":"58f908f1-832a-4ad0-93f4-bdafbf8eb55a"}"#,
            ),
            (
                "token_ok_true_api",
                200,
                JSON | VARIANT,
                r#"{"token":"58f908f1"}"#,
            ),
            ("token_number", 200, JSON, r#"{"token":58}"#),
            ("token_empty", 200, JSON, r#"{"token":""}"#),
        ],
        "mdlp_auth_response" => vec![
            (
                "code_ok",
                200,
                JSON,
                r#"{"code":"b7b1abc9-f4ee-47db-8a20-f80ac83504e8"}"#,
            ),
            ("code_ok_password", 200, JSON | VARIANT, r#"{"code":"b7b1abc9"}"#),
            ("code_number", 200, JSON, r#"{"code":404}"#),
            ("code_with_escapes", 200, JSON, r#"{"code":"a\"b\n\u0000"}"#),
        ],
        "mdlp_token_response" => vec![
            ("token_ok", 200, JSON, r#"{"token":"58f908f1","life_time":30}"#),
            (
                "token_ok_password",
                200,
                JSON | VARIANT,
                r#"{"token":"58f908f1","life_time":"30"}"#,
            ),
            ("life_time_missing", 200, JSON, r#"{"token":"t"}"#),
            (
                "life_time_huge",
                200,
                JSON,
                r#"{"token":"t","life_time":18446744073709551615}"#,
            ),
            (
                "life_time_negative",
                200,
                JSON,
                r#"{"token":"t","life_time":-30}"#,
            ),
            (
                "life_time_fraction",
                200,
                JSON,
                r#"{"token":"t","life_time":0.5}"#,
            ),
        ],
        "suz_registration_response" => vec![
            (
                "success",
                200,
                JSON,
                r#"{"status":"SUCCESS","omsConnection":"CDF12109-10D3-11E6-8B6F-0050569977A1"}"#,
            ),
            (
                "success_unsigned",
                200,
                JSON | VARIANT,
                r#"{"status":"SUCCESS","omsConnection":"c"}"#,
            ),
            (
                "rejected",
                200,
                JSON,
                r#"{"status":"REJECTED","rejectionReason":"duplicate address"}"#,
            ),
            ("rejected_no_reason", 200, JSON, r#"{"status":"REJECTED"}"#),
            ("success_without_connection", 200, JSON, r#"{"status":"SUCCESS"}"#),
            ("unknown_status", 200, JSON, r#"{"status":"PENDING"}"#),
            (
                "status_number",
                200,
                JSON,
                r#"{"status":500,"message":"internal"}"#,
            ),
        ],
        _ => Vec::new(),
    };
    if target.starts_with("crpt_") || target.starts_with("mdlp_") || target.starts_with("suz_") {
        bodies.extend(crpt_errors);
    }
    match target {
        "itc_consumer_response" => bodies.extend([
            (
                "found",
                200,
                JSON,
                r#"{"regNo":"АА12345678","loginName":"12345678901","givenName":"Бат","familyName":"Дорж"}"#,
            ),
            ("not_found", 404, 0, ""),
            ("no_login", 200, JSON, r#"{"regNo":"АА12345678"}"#),
            (
                "expired",
                401,
                JSON,
                r#"{"error":"invalid_token","error_description":"Token expired"}"#,
            ),
            ("no_right", 403, 0, ""),
        ]),
        "itc_reply_response" => bodies.extend([
            (
                "profile_ok",
                200,
                JSON,
                r#"{"code":"success","status":200,"msg":"Амжилттай","loginName":"12345678901","email":"bat@example.mn"}"#,
            ),
            ("user_not_found", 200, JSON, r#"{"code":"userNotFound","status":201,"msg":"Хэрэглэгч олдсонгүй"}"#),
            ("invalid_token_200", 200, JSON, r#"{"code":"invalidToken","status":401}"#),
            ("approved", 200, JSON | VARIANT, r#"{"code":"alreadyApproved","status":201}"#),
            ("invalid_qr", 200, JSON | VARIANT, r#"{"code":"inValidQr","status":100}"#),
            ("unknown_code", 200, JSON | VARIANT, r#"{"code":"quotaExceeded","status":"500"}"#),
            ("no_code", 200, JSON, r#"{"status":200}"#),
        ]),
        "gam_envelope_response" => bodies.extend([
            (
                "ok",
                200,
                JSON,
                r#"{"status":"200","message":"Success","timestamp":"2024-05-01T10:00:00Z","data":{"id":7}}"#,
            ),
            ("ok_number_status", 200, JSON, r#"{"status":200,"data":"..."}"#),
            (
                "processing_error",
                200,
                JSON,
                r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"..."}"#,
            ),
            ("auth_failed", 403, JSON, ""),
            ("no_status", 200, JSON, r#"{"data":{"id":1}}"#),
        ]),
        _ => {}
    }
    if target == "itc_response" {
        bodies.push((
            "refresh_ok",
            200,
            JSON | VARIANT,
            r#"{"access_token":"a-2","expires_in":300,"token_type":"bearer"}"#,
        ));
        bodies.push((
            "refresh_refused",
            400,
            JSON | VARIANT,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ));
        bodies.push(("refresh_unavailable", 503, HTML | VARIANT, "<html>down</html>"));
    }
    bodies
}

/// An operation sequence under construction, for seeds.
struct Ops(Vec<u8>);

/// A hole of a template: a string or a number shape (see `Bytes::json_number`).
enum Hole<'a> {
    S(&'a str),
    N(u8),
}

impl Ops {
    fn new(prefix: &[u8]) -> Self {
        Ops(prefix.to_vec())
    }
    /// An operation at `time` (a `Bytes::time` byte) with its opcode and operands.
    fn op(mut self, time: u8, code: u8, operands: &[u8]) -> Self {
        self.0.push(time);
        self.0.push(code);
        self.0.extend_from_slice(operands);
        self
    }
    fn raw(mut self, time: u8, code: u8, status: u16, flags: u8, body: &[u8]) -> Self {
        let index = STATUSES
            .iter()
            .position(|s| *s == status)
            .expect("status in STATUSES") as u8;
        self = self.op(time, code, &[index, flags, 0]);
        let len = u16::try_from(body.len()).expect("short body");
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(body);
        self
    }
    fn tpl(mut self, time: u8, code: u8, status: u16, template: u8, holes: &[Hole<'_>]) -> Self {
        let index = STATUSES
            .iter()
            .position(|s| *s == status)
            .expect("status in STATUSES") as u8;
        let kind = if template < 16 {
            0x80 | template
        } else {
            0xE0 + (template - 16)
        };
        self = self.op(time, code, &[index, JSON, kind]);
        for hole in holes {
            match hole {
                Hole::S(s) => {
                    self.0.push(s.len() as u8);
                    self.0.extend_from_slice(s.as_bytes());
                }
                Hole::N(shape) => self.0.push(*shape),
            }
        }
        self
    }
    fn done(self) -> Vec<u8> {
        self.0
    }
}

// Flow opcodes (`step`) and time bytes (`Bytes::time`).
const START: u8 = 0;
const RESPONSE: u8 = 1;
const SIGN: u8 = 4;
const TIMEOUT: u8 = 5;
const FAILED: u8 = 6;
const NOW: u8 = 0;
const PLUS_1S: u8 = 4;
const PLUS_1MIN: u8 = 0x41;
const PLUS_1H: u8 = 0x48;
const BACK_5S: u8 = 0x85;
/// Back (5 + 1)² hours.
const BACK_36H: u8 = 0xA5;
const AT_EPOCH: u8 = 0xC0;
const AT_MAX: u8 = 0xC1;
// Number shapes: 300 as a number, 3600 as a string, u64::MAX, null.
const N300: u8 = 0x20;
const N3600_STR: u8 = 0x32;
const N_MAX: u8 = 0x40;
const N_NULL: u8 = 0x07;

/// Every seed: (target, name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for target in TARGETS.iter().filter(|t| t.ends_with("_response")) {
        for (name, status, flags, body) in hostile_bodies() {
            // One 64 KiB seed per classifier path is enough.
            if name == "too_large" && !matches!(*target, "token_response" | "gam_response") {
                continue;
            }
            out.push((*target, name.to_owned(), encode_parse(status, flags, &body)));
        }
        for (name, status, flags, body) in documented_bodies(target) {
            out.push((
                *target,
                name.to_owned(),
                encode_parse(status, flags, body.as_bytes()),
            ));
        }
    }
    let sig = [SIGN, 4, 0x30, 0x80, 0x06, 0x09];
    let token_ok = |ops: Ops, time| ops.tpl(time, RESPONSE, 200, 0, &[Hole::S("eyJ"), Hole::N(N300)]);
    let misuse = |prefix: &[u8]| {
        Ops::new(prefix)
            .op(NOW, TIMEOUT, &[])
            .op(NOW, START, &[])
            .op(NOW, START, &[])
            .op(NOW, SIGN, &[0])
            .raw(BACK_5S, RESPONSE, 502, HTML, b"<html>bad gateway</html>")
            .op(NOW, START, &[])
            .op(NOW, RESPONSE, &[0, JSON, 0, 0, 0])
            .done()
    };
    let aborted = |prefix: &[u8]| {
        Ops::new(prefix)
            .op(NOW, START, &[])
            .op(PLUS_1S, FAILED, &[])
            .op(NOW, TIMEOUT, &[])
            .done()
    };
    // One-request flows.
    out.push((
        "gam_ops",
        "ok".into(),
        token_ok(Ops::new(&[]).op(NOW, START, &[]), PLUS_1S).done(),
    ));
    out.push((
        "gam_ops",
        "refused_then_misused".into(),
        Ops::new(&[])
            .op(NOW, START, &[])
            .tpl(
                NOW,
                RESPONSE,
                200,
                2,
                &[Hole::S("invalid_client"), Hole::S("bad secret client secret 7")],
            )
            .op(PLUS_1S, START, &[])
            .done(),
    ));
    out.push(("gam_ops", "misuse".into(), misuse(&[])));
    // An authorised GAM call: token, call; 401 → token, call again.
    let envelope = |ops: Ops, time| {
        ops.tpl(
            time,
            RESPONSE,
            200,
            16,
            &[
                Hole::S("200"),
                Hole::S("Success"),
                Hole::S("2024-05-01"),
                Hole::N(N300),
            ],
        )
    };
    let bearer_401 = br#"{"error":"invalid_token"}"#;
    out.push((
        "authorized_ops",
        "ok".into(),
        envelope(token_ok(Ops::new(&[]).op(NOW, START, &[]), PLUS_1S), PLUS_1S).done(),
    ));
    out.push((
        "authorized_ops",
        "retried_once".into(),
        envelope(
            token_ok(
                token_ok(Ops::new(&[]).op(NOW, START, &[]), NOW)
                    .raw(PLUS_1S, RESPONSE, 401, JSON, bearer_401),
                PLUS_1S,
            ),
            PLUS_1S,
        )
        .done(),
    ));
    out.push((
        "authorized_ops",
        "second_401".into(),
        token_ok(
            token_ok(Ops::new(&[]).op(NOW, START, &[]), NOW).raw(PLUS_1S, RESPONSE, 401, JSON, bearer_401),
            PLUS_1S,
        )
        .raw(PLUS_1S, RESPONSE, 401, 0, b"<error>invalid_token</error>")
        .op(NOW, START, &[])
        .done(),
    ));
    out.push((
        "authorized_ops",
        "forbidden_empty".into(),
        token_ok(Ops::new(&[]).op(NOW, START, &[]), NOW)
            .raw(PLUS_1S, RESPONSE, 403, JSON, b"")
            .op(NOW, TIMEOUT, &[])
            .done(),
    ));
    out.push((
        "authorized_ops",
        "processing_error".into(),
        token_ok(Ops::new(&[]).op(NOW, START, &[]), NOW)
            .tpl(
                PLUS_1S,
                RESPONSE,
                200,
                13,
                &[Hole::N(0x50), Hole::S("Customer not found"), Hole::S("CUS_404")],
            )
            .done(),
    ));
    out.push(("authorized_ops", "misuse".into(), misuse(&[])));
    out.push(("authorized_ops", "aborted".into(), aborted(&[])));
    out.push(("gam_ops", "aborted".into(), aborted(&[])));
    out.push((
        "monpay_ops",
        "ok_no_expiry".into(),
        Ops::new(&[])
            .op(NOW, START, &[])
            .tpl(PLUS_1S, RESPONSE, 200, 11, &[Hole::S("mp-1")])
            .done(),
    ));
    out.push((
        "monpay_ops",
        "forbidden_empty".into(),
        Ops::new(&[])
            .op(NOW, START, &[])
            .raw(NOW, RESPONSE, 403, 0, b"")
            .done(),
    ));
    out.push(("monpay_ops", "misuse".into(), misuse(&[])));
    for (variant, name) in [(0u8, "password"), (1, "certificate")] {
        out.push((
            "astana_ops",
            format!("{name}_ok"),
            Ops::new(&[variant])
                .op(NOW, START, &[])
                .tpl(PLUS_1S, RESPONSE, 200, 9, &[Hole::S("abc.def")])
                .done(),
        ));
        out.push((
            "astana_ops",
            format!("{name}_refused"),
            Ops::new(&[variant])
                .op(NOW, START, &[])
                .tpl(
                    NOW,
                    RESPONSE,
                    400,
                    10,
                    &[Hole::N(0x50), Hole::S("Endpoint not found")],
                )
                .done(),
        ));
    }
    out.push(("astana_ops", "aborted".into(), aborted(&[0])));
    // CRPT challenge sign-ins.
    for (variant, name) in [(0u8, "gis_mt"), (1, "true_api")] {
        out.push((
            "crpt_challenge_ops",
            format!("{name}_ok"),
            Ops::new(&[variant])
                .op(NOW, START, &[])
                .tpl(NOW, RESPONSE, 200, 3, &[Hole::S("u-1"), Hole::S("QNRPNPFGJZ")])
                .op(PLUS_1S, sig[0], &sig[1..])
                .tpl(PLUS_1S, RESPONSE, 200, 6, &[Hole::S("58f908f1")])
                .op(NOW, TIMEOUT, &[])
                .done(),
        ));
        out.push((
            "crpt_challenge_ops",
            format!("{name}_refused"),
            Ops::new(&[variant])
                .op(NOW, START, &[])
                .tpl(NOW, RESPONSE, 200, 3, &[Hole::S("u-1"), Hole::S("QNRPNPFGJZ")])
                .op(NOW, RESPONSE, &[0, JSON, 0, 0, 0])
                .op(PLUS_1S, sig[0], &sig[1..])
                .tpl(
                    NOW,
                    RESPONSE,
                    403,
                    12,
                    &[Hole::S("403"), Hole::S("detached"), Hole::S("no")],
                )
                .done(),
        ));
    }
    out.push(("crpt_challenge_ops", "misuse".into(), misuse(&[0])));
    // MDLP.
    out.push((
        "mdlp_ops",
        "signed_code_ok".into(),
        Ops::new(&[0])
            .op(NOW, START, &[])
            .tpl(NOW, RESPONSE, 200, 4, &[Hole::S("b7b1abc9")])
            .op(NOW, sig[0], &sig[1..])
            .op(PLUS_1S, TIMEOUT, &[])
            .tpl(NOW, RESPONSE, 200, 5, &[Hole::S("58f9"), Hole::N(0x12)])
            .done(),
    ));
    out.push((
        "mdlp_ops",
        "password_ok_huge_life_time".into(),
        Ops::new(&[1])
            .op(NOW, START, &[])
            .tpl(NOW, RESPONSE, 200, 4, &[Hole::S("b7b1abc9")])
            .op(BACK_5S, TIMEOUT, &[])
            .tpl(AT_MAX, RESPONSE, 200, 5, &[Hole::S("58f9"), Hole::N(N_MAX)])
            .done(),
    ));
    out.push((
        "mdlp_ops",
        "slow_signer".into(),
        Ops::new(&[0])
            .op(NOW, START, &[])
            .tpl(NOW, RESPONSE, 200, 4, &[Hole::S("b7b1abc9")])
            .op(PLUS_1MIN, sig[0], &sig[1..])
            .tpl(NOW, RESPONSE, 200, 5, &[Hole::S("58f9"), Hole::N(N_NULL)])
            .done(),
    ));
    out.push(("mdlp_ops", "misuse".into(), misuse(&[1])));
    // SUZ registration.
    out.push((
        "suz_registration_ops",
        "signed_ok".into(),
        Ops::new(&[0])
            .op(NOW, START, &[])
            .op(NOW, sig[0], &sig[1..])
            .tpl(NOW, RESPONSE, 200, 7, &[Hole::S("CDF12109")])
            .done(),
    ));
    out.push((
        "suz_registration_ops",
        "unsigned_rejected".into(),
        Ops::new(&[1])
            .op(NOW, START, &[])
            .tpl(NOW, RESPONSE, 200, 8, &[Hole::S("duplicate")])
            .done(),
    ));
    out.push(("suz_registration_ops", "aborted".into(), aborted(&[0])));
    // PasswordSession: 0 poll, 2 handle, 4 transport failed, 5 unauthorized,
    // 6 config, 7 fetch, 8 jump to the next deadline and poll.
    let keycloak = |ops: Ops, time, access: &str, refresh: &str| {
        ops.tpl(
            time,
            2,
            200,
            1,
            &[
                Hole::S(access),
                Hole::N(N300),
                Hole::S(refresh),
                Hole::N(0x30 | 1),
            ],
        )
    };
    out.push(("password_session_ops", "refresh_then_fallback".into(), {
        let ops = keycloak(Ops::new(&[]).op(NOW, 0, &[]), PLUS_1S, "a-1", "r-1")
            .op(NOW, 0, &[])
            .op(NOW, 8, &[]);
        ops.tpl(
            NOW,
            2,
            400,
            2,
            &[Hole::S("invalid_grant"), Hole::S("Token is not active")],
        )
        .op(NOW, 0, &[])
        .tpl(NOW, 2, 200, 0, &[Hole::S("a-2"), Hole::N(N3600_STR)])
        .op(PLUS_1H, 0, &[])
        .done()
    }));
    out.push((
        "password_session_ops",
        "wrong_password_ends".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .tpl(
                NOW,
                2,
                401,
                2,
                &[Hole::S("invalid_grant"), Hole::S("Invalid user credentials")],
            )
            .op(NOW, 0, &[])
            .op(NOW, 4, &[])
            .op(NOW, 7, &[2, NOW, RESPONSE])
            .done(),
    ));
    out.push((
        "password_session_ops",
        "transport_failures_and_timeouts".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 4, &[])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 0, &[])
            .op(PLUS_1MIN, 8, &[])
            .op(PLUS_1H, 0, &[])
            .raw(NOW, 2, 503, HTML | 0x08, b"<html>down</html>")
            .op(BACK_5S, 0, &[])
            .op(NOW, 6, &[0, 2])
            .op(AT_MAX, 0, &[])
            .done(),
    ));
    out.push(("password_session_ops", "fetch_and_unauthorized".into(), {
        let ops = Ops::new(&[]).op(NOW, 7, &[3]).op(NOW, RESPONSE, &[]);
        let mut ops = ops;
        // The fetch's own steps: a keycloak answer, then timeouts.
        ops.0.extend_from_slice(&[0, JSON, 0x81, 3]);
        ops.0.extend_from_slice(b"a-1");
        ops.0.push(N300);
        ops.0.push(1);
        ops.0.extend_from_slice(b"r");
        ops.0.push(N300);
        ops.op(NOW, TIMEOUT, &[])
            .op(NOW, 5, &[])
            .op(NOW, 0, &[])
            .op(NOW, 6, &[0, 1])
            .op(PLUS_1H, 0, &[])
            .done()
    }));
    // TokenKeeper: 0 poll, 2 renewed, 3 failed, 4 the held token rejected,
    // 5 restore (connection byte, version byte, token), 6 snapshot, 7 pacing,
    // 8 jump to the next deadline and poll, 9 retry_now, 10 abandoned,
    // 11 a foreign ticket, 12 a named token rejected.
    // A token operand: time byte, shape (1: expires after a duration), duration index, name byte.
    let ten_hours = [NOW, 1, 6, 1];
    out.push((
        "token_keeper_ops",
        "renew_use_reject_renew".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 0, &[])
            .op(
                NOW,
                2,
                &[0, ten_hours[0], ten_hours[1], ten_hours[2], ten_hours[3]],
            )
            .op(PLUS_1MIN, 0, &[])
            .op(NOW, 6, &[])
            .op(NOW, 4, &[])
            .op(NOW, 0, &[])
            .op(NOW, 3, &[1, 1, PLUS_1MIN])
            .op(NOW, 8, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "lost_renewal_and_stale_ticket".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(PLUS_1H, 0, &[])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 0, &[])
            .op(NOW, 2, &[0, NOW, 1, 6, 2])
            .op(NOW, 3, &[0, 0])
            .op(NOW, 2, &[1, NOW, 1, 6, 3])
            .op(NOW, 5, &[0, 2, PLUS_1S, 1, 6, 4])
            .op(NOW, 5, &[1, 0, PLUS_1S, 0, 5])
            .op(NOW, 7, &[0, 0])
            .op(AT_MAX, 0, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "restored_then_backoff_to_max".into(),
        Ops::new(&[])
            .op(NOW, 5, &[0, 0, NOW, 1, 5, 7])
            .op(NOW, 0, &[])
            .op(NOW, 7, &[7, 0])
            .op(NOW, 0, &[])
            .op(NOW, 3, &[0, 1, AT_MAX])
            .op(PLUS_1H, 0, &[])
            .op(NOW, 8, &[])
            .op(NOW, 7, &[7, 1])
            .op(BACK_5S, 0, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "valid_token_used_while_renewing".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 2, &[0, NOW, 1, 6, 9])
            .op(0x58, 0, &[])
            .op(0x44, 0, &[])
            .op(0x42, 0, &[])
            .op(NOW, 0, &[])
            .op(NOW, 3, &[1, 0])
            .op(NOW, 0, &[])
            .done(),
    ));
    // The review's case: a snapshot from a clock an hour ahead, refused;
    // then renewals at ordinary times, one ticket each.
    out.push((
        "token_keeper_ops",
        "snapshot_from_a_clock_ahead_then_401".into(),
        Ops::new(&[])
            .op(NOW, 5, &[0, 1, PLUS_1H, 1, 6, 1])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 4, &[])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 0, &[])
            .op(PLUS_1S, 0, &[])
            .op(NOW, 5, &[0, 1, PLUS_1H, 1, 6, 1])
            .op(PLUS_1S, 2, &[0, NOW, 1, 6, 2])
            .op(NOW, 0, &[])
            .op(BACK_36H, 0, &[])
            .op(NOW, 12, &[2])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 0, &[])
            .done(),
    ));
    // Polls at Timestamp::MAX, twice, then back to the epoch.
    out.push((
        "token_keeper_ops",
        "max_twice_then_the_epoch".into(),
        Ops::new(&[])
            .op(AT_MAX, 0, &[])
            .op(NOW, 0, &[])
            .op(AT_EPOCH, 0, &[])
            .op(NOW, 8, &[])
            .op(NOW, 2, &[0, NOW, 1, 6, 3])
            .op(AT_MAX, 0, &[])
            .done(),
    ));
    // A far Retry-After, retry_now, an abandoned renewal, foreign tickets.
    out.push((
        "token_keeper_ops",
        "retry_now_abandoned_foreign".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 3, &[0, 1, AT_MAX])
            .op(NOW, 0, &[])
            .op(NOW, 9, &[])
            .op(PLUS_1S, 0, &[])
            .op(NOW, 11, &[0])
            .op(NOW, 11, &[5])
            .op(NOW, 10, &[1])
            .op(NOW, 0, &[])
            .op(PLUS_1S, 0, &[])
            .op(NOW, 7, &[0, 1])
            .op(NOW, 7, &[2, 1])
            .op(NOW, 11, &[1])
            .done(),
    ));
    out.push((
        "password_session_ops",
        "retry_now_after_failures".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 4, &[])
            .op(PLUS_1S, 0, &[])
            .op(NOW, 4, &[])
            .op(PLUS_1S, 9, &[])
            .op(NOW, 0, &[])
            .raw(NOW, 2, 429, JSON | 0x08, br#"{"error":"slow_down"}"#)
            .op(NOW, 9, &[])
            .op(PLUS_1S, 0, &[])
            .op(AT_MAX, 0, &[])
            .op(NOW, 0, &[])
            .op(BACK_36H, 0, &[])
            .done(),
    ));
    // A refresh refused by a proxy's plain-text 400: the password grant next, at once.
    out.push(("password_session_ops", "refresh_refused_by_a_proxy".into(), {
        keycloak(Ops::new(&[]).op(NOW, 0, &[]), PLUS_1S, "a-1", "r-1")
            .op(NOW, 8, &[])
            .raw(NOW, 2, 400, 5, b"Bad Request")
            .op(NOW, 0, &[])
            .raw(NOW, 2, 401, HTML, b"<html>401 Authorization Required</html>")
            .op(PLUS_1S, 0, &[])
            .done()
    }));
    out.push((
        "password_session_ops",
        "fetch_failed_while_waiting".into(),
        Ops::new(&[])
            .op(NOW, 0, &[])
            .op(NOW, 4, &[])
            .op(NOW, 7, &[1])
            .op(NOW, FAILED, &[])
            .op(PLUS_1S, 0, &[])
            .tpl(NOW, 2, 200, 0, &[Hole::S("a-1"), Hole::N(N300)])
            .op(NOW, 0, &[])
            .done(),
    ));
    // Path segments: raw strings (byte 0 even) or pieces (odd).
    let strings = |mode: u8, values: [&[u8]; 4]| {
        let mut bytes = vec![mode];
        for v in values {
            bytes.push(u8::try_from(v.len()).expect("a short value"));
            bytes.extend_from_slice(v);
        }
        bytes
    };
    for (name, values) in [
        (
            "plain",
            [&b"AA12345678"[..], b"orders", b"v2", b"CDF12109-10D3-11E6"],
        ),
        ("dots", [b".", b"..", b"%2e%2E", b".%2e"]),
        ("controls", [b"a\tb", b"\r\n..", "x\u{85}".as_bytes(), b"\x7f"]),
        (
            "delimiters",
            [b"a/b?c#d", b"%2F..%2f", b";=&+ ", "\u{e9}\u{65e5} ~".as_bytes()],
        ),
        ("empty", [b"", b"", b"", b""]),
        (
            "registered_connection_with_a_slash",
            [b"v3", b"oms-1", b"x", b"CDF/../12109"],
        ),
    ] {
        out.push(("path_segments", name.into(), strings(0, values)));
    }
    out.push((
        "path_segments",
        "pieces".into(),
        strings(1, [&[0, 1, 2], &[5, 8, 10, 11], &[17, 18, 19], &[30, 31, 35]]),
    ));
    out
}
