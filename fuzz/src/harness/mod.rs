//! The one harness behind every fuzz target in `fuzz/fuzz_targets/` and behind
//! `tests/fuzz_regressions.rs`, which includes this module by path and replays
//! `fuzz/seeds/<target>/*` and the named regressions on stable.
//!
//! By job:
//! * [`input`]: the byte reader ([`Bytes`]) that turns fuzzer bytes into
//!   instants, responses, signatures and operands; [`ops`]: the builder
//!   ([`Ops`]) that writes those bytes back, for seeds and regressions;
//! * [`response`]: the statuses, headers and body templates a response is
//!   built from;
//! * [`checks`]: the invariants every target shares (the secret oracle,
//!   refusals, tokens, `Done` values); [`checked`]: the `Flow` contract as a
//!   model beside a flow; [`flows`]: the flows under test, with their secrets;
//! * the targets, one function each, by kind: [`parse_targets`],
//!   [`flow_ops`], [`session`] (`PasswordSession`), [`keeper`]
//!   (`TokenKeeper`), [`paths`] (`path_segments`);
//! * [`seeds`]: the seed generator, behind `fuzz/seeds/`.
//!
//! It uses only the crate's public API, `http`, `serde_json` and code it
//! shares with the test suites, included by path from `tests/common/`: the
//! echo oracle (`leak_oracle/`; it needs `url`), the pacing rules
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
//! to and near `Timestamp::MAX`, or anywhere) then an opcode
//! ([`FlowOp`], [`SessionOp`], [`KeeperOp`]) and its operands; responses in
//! operations are a status byte, a flags byte (as above) and a body (raw,
//! or a JSON [`Template`] with fuzzed strings and numbers). Missing bytes
//! read as 0. [`Ops`] writes such a sequence.
//!
//! **`path_segments`**: a mode byte and four strings (see [`paths::path_segments`]).
//!
//! **`fleet_record`**, **`session_snapshot`**: the bytes a store or a disk
//! handed back (see [`stored`]); **`fleet_keeper_ops`**:
//! byte triples (keeper and operation, time step, operand) driving two
//! fleet keepers of one key (see [`fleet`]).
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
//! * `fleet_record`, `session_snapshot`: reading never panics; what is read
//!   writes and reads back to itself; no token the bytes carried shows in
//!   its `Debug` or in an error; a snapshot restores exactly into the
//!   session it names, which then hands out its access token only and
//!   refreshes with its refresh token;
//! * `path_segments`: a caller's value at a path segment is refused with
//!   `Usage(InvalidPathSegment)` exactly when it is empty, a dot segment
//!   (plain or `%2e`-encoded) or holds a control character; otherwise the
//!   path has the intended segments, each decoding back to the value, and
//!   query pairs form-decode back exactly; a registration answer's
//!   `omsConnection` is refused as malformed by the same rule.

use tokendance::Timestamp;

// Code shared with the test suites, included by path: `std`, `url` (the
// leak oracle's form decoding) and `tokendance` only.

/// The echo oracle, independent of tokendance: it finds a secret in any
/// normalised view of a printed text.
#[allow(dead_code)]
#[path = "../../../tests/common/leak_oracle/mod.rs"]
mod leak_oracle;

/// The pacing rules, written from `Pacing`'s docs.
#[allow(dead_code)]
#[path = "../../../tests/common/pacing.rs"]
mod pacing;

/// The path and query oracle: the segment rule and strict decoders.
#[allow(dead_code)]
#[path = "../../../tests/common/uri_oracle.rs"]
mod uri_oracle;

/// The keeper model, beside a `TokenKeeper`.
#[allow(dead_code)]
#[path = "../../../tests/common/keeper_model.rs"]
mod keeper_model;

/// The token flows, listed once for the test suites and the harness.
#[allow(dead_code)]
#[path = "../../../tests/common/flows.rs"]
mod flow_table;

mod checked;
mod checks;
mod fleet;
mod flow_ops;
mod flows;
mod input;
mod keeper;
mod ops;
mod parse_targets;
mod paths;
mod response;
mod seeds;
mod session;
mod stored;

// The fuzz crate's public surface; `tests/fuzz_regressions.rs` includes
// this module privately and uses part of it.
#[allow(unused_imports)]
pub use self::{
    checked::{Checked, Spec, WaitRule},
    checks::{secret_shown, Outcome},
    flow_ops::FlowOp,
    input::{time, Bytes, Opcode, Time},
    keeper::KeeperOp,
    ops::{Hole, Ops, N300, N3600_STR, N_MAX, N_NULL},
    pacing::holder_bound,
    paths::PIECES,
    response::{
        build_response, encode_parse, Template, CONTENT_TYPES, HTML, JSON, LOCATION, RETRY_AFTER,
        RETRY_AFTERS, STATUSES, TEMPLATE_KIND, VARIANT, XML,
    },
    seeds::seeds,
    session::{SessionChecker, SessionOp},
};

/// A fuzz target: runs one input, counting in the report what it reached;
/// panics on a broken invariant.
pub type Target = fn(&[u8], &mut Report);

/// Every target, as named in `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/seeds/<name>/`, with the function that runs it.
pub const TARGETS: &[(&str, Target)] = &[
    ("token_response", parse_targets::token_response),
    ("itc_response", parse_targets::itc_response),
    ("gam_response", parse_targets::gam_response),
    ("monpay_response", parse_targets::monpay_response),
    (
        "astana_password_response",
        parse_targets::astana_password_response,
    ),
    (
        "astana_certificate_response",
        parse_targets::astana_certificate_response,
    ),
    ("crpt_key_response", parse_targets::crpt_key_response),
    ("crpt_sign_in_response", parse_targets::crpt_sign_in_response),
    ("mdlp_auth_response", parse_targets::mdlp_auth_response),
    ("mdlp_token_response", parse_targets::mdlp_token_response),
    (
        "suz_registration_response",
        parse_targets::suz_registration_response,
    ),
    ("gam_ops", flow_ops::gam_ops),
    ("monpay_ops", flow_ops::monpay_ops),
    ("astana_ops", flow_ops::astana_ops),
    ("crpt_challenge_ops", flow_ops::crpt_challenge_ops),
    ("mdlp_ops", flow_ops::mdlp_ops),
    ("suz_registration_ops", flow_ops::suz_registration_ops),
    ("password_session_ops", session::password_session_ops),
    ("token_keeper_ops", keeper::token_keeper_ops),
    ("itc_consumer_response", parse_targets::itc_consumer_response),
    ("itc_reply_response", parse_targets::itc_reply_response),
    ("gam_envelope_response", parse_targets::gam_envelope_response),
    ("suz_call_response", parse_targets::suz_call_response),
    ("authorized_ops", flow_ops::authorized_ops),
    ("fleet_record", fleet::fleet_record),
    ("fleet_keeper_ops", fleet::fleet_keeper_ops),
    ("path_segments", paths::path_segments),
    ("token_flow_ops", flow_ops::token_flow_ops),
    ("session_snapshot", stored::session_snapshot),
];

/// The names of [`TARGETS`], in its order.
pub fn target_names() -> impl Iterator<Item = &'static str> {
    TARGETS.iter().map(|(name, _)| *name)
}

/// Runs `data` through `target`; panics on a broken invariant.
pub fn run(target: &str, data: &[u8]) -> Report {
    let Some((_, target_fn)) = TARGETS.iter().find(|(name, _)| *name == target) else {
        panic!("unknown fuzz target {target:?}");
    };
    let mut report = Report::default();
    target_fn(data, &mut report);
    report
}

/// The most operations one input runs.
pub const MAX_OPS: usize = 64;

/// server echoing them form-encoded or with other whitespace is covered.
pub const SECRETS: [&str; 8] = [
    "open sesame 42",
    "client secret 7",
    "auth code 99",
    "reg key 5150",
    "mdlp pass 1",
    "mdlp secret 3",
    "api token 11",
    "MIIBCgKCAQEAx3N1ei1zaWduYXR1cmUtOP8A",
];
const PASSWORD: &str = SECRETS[0];
const CLIENT_SECRET: &str = SECRETS[1];
const AUTH_CODE: &str = SECRETS[2];
const REGISTRATION_KEY: &str = SECRETS[3];
const MDLP_PASSWORD: &str = SECRETS[4];
const MDLP_SECRET: &str = SECRETS[5];
const API_TOKEN: &str = SECRETS[6];
/// The signature SUZ calls get, as sent: the base64 of a DER that, like a
/// real one, is not text (the scrubber also looks for the DER itself).
const SUZ_SIGNATURE: &str = SECRETS[7];

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
