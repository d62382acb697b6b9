//! The challenge sign-in GIS MT and True API share: fetch a random string,
//! have it signed (attached CMS), exchange the signature for a token.

use std::fmt;

use url::Url;

use super::{json, read_answer, token_from, CHALLENGE_TOKEN_LIFETIME};
use crate::endpoint::Endpoint;
use crate::error::{Error, Expect};
use crate::flow::{Action, Input, MediaType, Outgoing};
use crate::machine::{flow_via_machine, Machine, Start, Step, Transition};
use crate::response::{classify, fields};
use crate::sign::{Purpose, SignJob, Signature, SignatureKind};
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::trace::Name;

/// A challenge sign-in (GIS MT or True API), built by [`gis_mt::sign_in`](super::gis_mt::sign_in)
/// or [`true_api::sign_in`](super::true_api::sign_in).
///
/// Transcript: `Send(GET key)` → `Sign(Attached, data)` →
/// `Send(POST sign-in {"uuid","data": base64 signature})` → `Done(token)`,
/// the token living 10 hours from the moment the sign-in request was sent.
pub struct ChallengeSignIn {
    machine: Machine<Paths>,
    oms_connection: Option<String>,
}

/// A participant's INN, checked: 10 digits (a company) or 12 (a person).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Inn(String);

impl Inn {
    pub(super) fn parse(inn: &str) -> Result<Self, Error> {
        let digits = inn.bytes().all(|b| b.is_ascii_digit());
        if digits && matches!(inn.len(), 10 | 12) {
            Ok(Inn(inn.to_owned()))
        } else {
            Err(crate::error::UsageError::InvalidConfig {
                reason: "an INN is 10 digits (a company) or 12 (a person)",
            }
            .into())
        }
    }
}

fields! {
    /// The challenge: its id, and the random `data` to sign.
    struct Challenge {
        uuid,
        data,
    }
}

/// Where the two requests go, and what the signature is for.
struct Paths {
    key: Url,
    sign_in: Url,
    purpose: Purpose,
    inn: Option<Inn>,
}

enum State {
    /// `GET key` is out.
    Fetching {
        sign_in: Url,
        purpose: Purpose,
        inn: Option<Inn>,
    },
    /// The signer has the challenge.
    Signing {
        sign_in: Url,
        uuid: String,
        inn: Option<Inn>,
    },
    /// The sign-in is out; `signature` (as sent, in base64) is scrubbed
    /// from any error message.
    Exchanging {
        sent_at: Timestamp,
        signature: Signature,
    },
}

impl ChallengeSignIn {
    /// `key` and `sign_in` are the two paths below `base`, the connection (if
    /// any) appended to `sign_in` as one percent-encoded segment.
    pub(super) fn new(
        name: Name,
        base: &Endpoint,
        key: &[&str],
        sign_in: &[&str],
        oms_connection: Option<&str>,
        purpose: Purpose,
        inn: Option<Inn>,
    ) -> Result<Self, Error> {
        Ok(ChallengeSignIn {
            machine: Machine::new(
                name,
                Paths {
                    key: base.join(key)?,
                    sign_in: base.join_then(sign_in, oms_connection)?,
                    purpose,
                    inn,
                },
            ),
            oms_connection: oms_connection.map(str::to_owned),
        })
    }
}

impl Start for Paths {
    type State = State;

    fn start(self, _now: Timestamp) -> Result<Transition<State>, Error> {
        // The challenge only fetches data to sign: no token, nothing revoked.
        let request = Outgoing::get(self.key)?.not_issuing();
        let state = State::Fetching {
            sign_in: self.sign_in,
            purpose: self.purpose,
            inn: self.inn,
        };
        Ok((state, Action::Send(request)))
    }
}

impl Step for State {
    type Output = TokenSet;

    fn name(&self) -> &'static str {
        match self {
            State::Fetching { .. } => "Fetching",
            State::Signing { .. } => "Signing",
            State::Exchanging { .. } => "Exchanging",
        }
    }

    fn expects(&self) -> Expect {
        match self {
            State::Signing { .. } => Expect::Signature,
            State::Fetching { .. } | State::Exchanging { .. } => Expect::Response,
        }
    }

    fn resume(self, now: Timestamp, input: Input) -> Result<Transition<State>, Error> {
        match (self, input) {
            (
                State::Fetching {
                    sign_in,
                    purpose,
                    inn,
                },
                Input::Response(response),
            ) => {
                let reply = classify::<Challenge<'_>>(&response, &[])?;
                let body = reply.success()?;
                let uuid = reply.required_str(&body.uuid, "uuid")?.to_owned();
                let data = reply.required_str(&body.data, "data")?;
                let job = SignJob::new(data.as_bytes().to_vec(), SignatureKind::Attached, purpose);
                Ok((State::Signing { sign_in, uuid, inn }, Action::Sign(job)))
            }
            (State::Signing { sign_in, uuid, inn }, Input::Signature(signature)) => {
                let extra = inn.as_ref().map(|inn| ("inn", inn.0.as_str()));
                let body = json::with_signature("uuid", &uuid, "data", &signature, extra);
                let request = Outgoing::post_json(sign_in, body, MediaType::JsonUtf8)?;
                let state = State::Exchanging {
                    sent_at: now,
                    signature,
                };
                Ok((state, Action::Send(request)))
            }
            (State::Exchanging { sent_at, signature }, Input::Response(response)) => {
                let token = read_answer(
                    &response,
                    |reply| token_from(reply, sent_at, CHALLENGE_TOKEN_LIFETIME),
                    || vec![signature.to_base64()],
                    signature.as_der(),
                )?;
                Ok((State::Exchanging { sent_at, signature }, Action::Done(token)))
            }
            // The machine checks the input kind against `expects` first.
            (state, input) => Err(crate::flow::unexpected(state.expects(), &input)),
        }
    }
}

flow_via_machine!(ChallengeSignIn, TokenSet);

impl super::SignIn for ChallengeSignIn {
    fn oms_connection(&self) -> Option<&str> {
        self.oms_connection.as_deref()
    }
}

impl fmt::Debug for ChallengeSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.machine.describe();
        write!(f, "ChallengeSignIn({state})")
    }
}
