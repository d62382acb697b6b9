//! Checks shared by every target: nothing printed shows a secret, a
//! refusal is a `Server` or `Protocol` error, a token is consistent, and
//! what each kind of `Done` value must satisfy.

use std::cell::RefCell;

use tokendance::crpt::registration;
use tokendance::{gam, itc, AccessToken, Error, Timestamp, TokenSet};

use super::{leak_oracle, Report, API_TOKEN, SECRETS};

thread_local! {
    /// One oracle per list of secrets, made again now and then so that its
    /// cache of judged texts stays small over a fuzzing run.
    static ORACLES: RefCell<Vec<(Vec<&'static str>, leak_oracle::Oracle, u32)>> =
        const { RefCell::new(Vec::new()) };
}

/// Panics if `printed` (the `Display` or `Debug` of something a target
/// handed out) shows one of `secrets` in any form the oracle knows: plain,
/// case-folded, whitespace squeezed, percent-, form-, HTML-, backslash-,
/// base64-, hex- or byte-list-encoded.
pub(super) fn check_printed(what: &str, printed: &str, secrets: &[&'static str]) {
    if secrets.is_empty() {
        return;
    }
    ORACLES.with(|cell| {
        let mut oracles = cell.borrow_mut();
        let at = match oracles.iter().position(|(known, _, _)| *known == secrets) {
            Some(at) => at,
            None => {
                oracles.push((secrets.to_vec(), leak_oracle::Oracle::new(secrets, &[]), 0));
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
fn find_secret(oracle: &leak_oracle::Oracle, printed: &str, secrets: &[&'static str]) -> Option<String> {
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
fn mask_base64_look_alikes(text: &mut String, secrets: &[&'static str]) -> bool {
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
pub(super) fn check_error(err: &Error, secrets: &[&'static str]) {
    let shown = err.to_string();
    assert!(!shown.is_empty(), "an error with an empty Display: {err:?}");
    check_printed("an error's Display", &shown, secrets);
    check_printed("an error's Debug", &format!("{err:?}"), secrets);
}

/// A refused response: `Server` or `Protocol`, never `Usage`.
pub(super) fn check_refusal(err: &Error, secrets: &[&'static str], report: &mut Report) {
    check_error(err, secrets);
    assert!(
        matches!(err, Error::Server(_) | Error::Protocol(_)),
        "a response gave a usage error: {err:?}"
    );
    report.refused += 1;
}

/// A token obtained by a request sent at `sent_at`.
pub(super) fn check_token(token: &TokenSet, sent_at: Option<Timestamp>) {
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

    /// What of the value must never show a secret when printed: its Debug.
    fn printed(&self) -> String {
        format!("{self:?}")
    }
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

/// A raw answer: only SUZ calls (`crpt::suz`) hand one out here, and they
/// hand out successes only.
impl Outcome for http::Response<Vec<u8>> {
    fn check(&self, _sent_at: Option<Timestamp>) {
        assert!(
            self.status().is_success(),
            "a {} answer was handed out",
            self.status()
        );
    }

    /// The head only: the body is the server's own bytes, handed to the
    /// caller as they came (`http`'s Debug prints them), as `tests/leaks`
    /// treats raw answers.
    fn printed(&self) -> String {
        format!("{:?} {:?}", self.status(), self.headers())
    }
}

impl Outcome for AccessToken {
    fn check(&self, _sent_at: Option<Timestamp>) {
        assert!(!self.expose_secret().is_empty(), "an empty token");
    }
}
