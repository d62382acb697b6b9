//! MDLP (pharma): `auth` for a one-time code, then `token` with the code
//! signed (residents) or with a password (non-residents).

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::{json, read_answer, token_from};
use crate::endpoint::Endpoint;
use crate::error::{Error, Expect, UsageError};
use crate::flow::{Action, Input, MediaType, Outgoing};
use crate::machine::{flow_via_machine, Machine, Start, Step, Transition};
use crate::pacing::within;
use crate::response::{classify, fields, Accept};
use crate::secret::{ClientSecret, Password};
use crate::sign::{Purpose, SignJob, Signature, SignatureKind};
use crate::time::{secs, Timestamp};
use crate::token::TokenSet;
use crate::trace::Name;

/// What the MDLP sign-in is traced as.
const NAME: Name = Name::new("mdlp", "sign_in");

/// How long MDLP wants between the answer to `auth` and the `token` call.
/// The flow expresses it as `Action::Wait`, never as a sleep.
pub const SPACING: Duration = Duration::from_secs(1);

/// How the user proves who they are.
///
/// Non-exhaustive: MDLP's `auth_type` may gain ways to log in.
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// `SIGNED_CODE` (residents): `user_id` is the certificate's serial number
    /// in decimal, its SHA-1 thumbprint, or the MDLP user id; the flow asks
    /// for a DETACHED signature over the code's bytes.
    SignedCode,
    /// `PASSWORD` (non-residents): `user_id` is the e-mail.
    Password(Password),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::SignedCode => f.write_str("SignedCode"),
            Auth::Password(p) => write!(f, "Password({p:?})"),
        }
    }
}

/// The MDLP account of an integration: client id and secret.
#[derive(Clone, Debug)]
pub struct Client {
    /// `client_id` (a GUID).
    pub id: String,
    /// `client_secret`.
    pub secret: ClientSecret,
}

/// An MDLP sign-in; see [`sign_in`].
pub struct MdlpSignIn {
    machine: Machine<Setup>,
    oms_connection: Option<String>,
}

struct Setup {
    auth_url: Url,
    token_url: Url,
    auth_body: Vec<u8>,
    secret: ClientSecret,
    auth: Auth,
}

enum State {
    /// `auth` is out.
    Authenticating {
        token_url: Url,
        secret: ClientSecret,
        auth: Auth,
    },
    /// The signer has the code, which arrived at `answered_at`.
    Signing {
        token_url: Url,
        secret: ClientSecret,
        code: String,
        answered_at: Timestamp,
    },
    /// Spacing the two calls: the token request goes out [`SPACING`] after
    /// `answered_at`.
    Spacing {
        request: Outgoing,
        answered_at: Timestamp,
        carried: Carried,
    },
    /// `token` is out.
    Exchanging { sent_at: Timestamp, carried: Carried },
}

/// The secrets the token request carries, kept to scrub a refusal (listed
/// only if one comes).
struct Carried {
    secret: ClientSecret,
    code: String,
    proof: Proof,
}

/// How the token request proves the user.
enum Proof {
    Signature(Signature),
    Password(Password),
}

impl Carried {
    fn secrets(&self) -> Vec<String> {
        let proof = match &self.proof {
            Proof::Signature(signature) => signature.to_base64(),
            Proof::Password(password) => password.expose_secret().to_owned(),
        };
        vec![self.secret.expose_secret().to_owned(), self.code.clone(), proof]
    }
}

/// A sign-in on `base` (see [`MdlpStand`](super::MdlpStand)) for `user_id`.
///
/// With `oms_connection` the token is a SUZ `clientToken` for that connection
/// (`POST {base}/api/v1/token/{omsConnection}`; asking again revokes the
/// previous one); without it, a token for MDLP's own API, sent there as
/// `Authorization: token …` ([`Scheme::MdlpToken`](crate::call::Scheme::MdlpToken)).
/// The token lives `life_time` minutes, as the answer says.
///
/// Transcript (`SIGNED_CODE`): `Send(POST /api/v1/auth)` → `Sign(Detached,
/// code)` → `Wait(answer + 1 s)` if the signer was quicker than a second →
/// `Send(POST /api/v1/token/{omsConnection})` → `Done(token)`. With a
/// password there is no `Sign` step.
///
/// ```
/// use tokendance::crpt::{mdlp, MdlpStand};
/// use tokendance::{Action, ClientSecret, Flow, Input, Password, Timestamp};
///
/// let client = mdlp::Client { id: "7df0d06f".into(), secret: ClientSecret::new("secret") };
/// let mut flow = mdlp::sign_in(&MdlpStand::Sandbox.endpoint(), client, "user@example.org",
///     mdlp::Auth::Password(Password::new("password123")), Some("conn-1"))?;
/// let t0 = Timestamp::from_unix_secs(100);
/// let Action::Send(auth) = flow.start(t0)? else { unreachable!() };
/// assert_eq!(auth.as_http().uri(), "https://api.sb.mdlp.crpt.ru/api/v1/auth");
/// let code = http::Response::new(br#"{"code":"b7b1abc9"}"#.to_vec());
/// // MDLP wants a second between the calls: the flow says so.
/// let Action::Wait(until) = flow.resume(t0, Input::Response(code))? else { unreachable!() };
/// assert_eq!(until, Timestamp::from_unix_secs(101));
/// let Action::Send(token) = flow.resume(until, Input::Timeout)? else { unreachable!() };
/// assert_eq!(token.as_http().uri(), "https://api.sb.mdlp.crpt.ru/api/v1/token/conn-1");
/// let answer = http::Response::new(br#"{"token":"58f9","life_time":30}"#.to_vec());
/// let Action::Done(token) = flow.resume(until, Input::Response(answer))? else { unreachable!() };
/// assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(101 + 30 * 60)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn sign_in(
    base: &Endpoint,
    client: Client,
    user_id: &str,
    auth: Auth,
    oms_connection: Option<&str>,
) -> Result<MdlpSignIn, Error> {
    if client.id.is_empty() || user_id.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "MDLP needs a client id and a user id",
        }));
    }
    let auth_body = json::bytes(&AuthBody {
        client_id: &client.id,
        client_secret: client.secret.expose_secret(),
        user_id,
        auth_type: match auth {
            Auth::SignedCode => "SIGNED_CODE",
            Auth::Password(_) => "PASSWORD",
        },
    });
    Ok(MdlpSignIn {
        machine: Machine::new(
            NAME,
            Setup {
                auth_url: base.join(&["api", "v1", "auth"])?,
                token_url: base.join_then(&["api", "v1", "token"], oms_connection)?,
                auth_body,
                secret: client.secret,
                auth,
            },
        ),
        oms_connection: oms_connection.map(str::to_owned),
    })
}

fields! {
    /// The `auth` call's answer: the one-time `code` (data here, not a verdict).
    struct AuthAnswer {
        code,
    }
}

#[derive(Serialize)]
struct AuthBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    user_id: &'a str,
    auth_type: &'a str,
}

/// The password token request's body (the signed one is written by
/// [`json::with_signature`]).
#[derive(Serialize)]
struct TokenBody<'a> {
    code: &'a str,
    password: &'a str,
}

impl Start for Setup {
    type State = State;

    fn start(self, _now: Timestamp) -> Result<Transition<State>, Error> {
        // `auth` answers a one-time code, not a token: nothing is revoked.
        let request = Outgoing::post_json(self.auth_url, self.auth_body, MediaType::Json)?.not_issuing();
        let state = State::Authenticating {
            token_url: self.token_url,
            secret: self.secret,
            auth: self.auth,
        };
        Ok((state, Action::Send(request)))
    }
}

/// The token request, sent now or after the spacing wait.
fn token_request(
    now: Timestamp,
    answered_at: Timestamp,
    token_url: Url,
    body: Vec<u8>,
    carried: Carried,
) -> Result<Transition<State>, Error> {
    let request = Outgoing::post_json(token_url, body, MediaType::Json)?;
    Ok(space(now, answered_at, request, carried))
}

/// Sends `request` once [`SPACING`] has passed since `answered_at`, or
/// waits the rest. Measured from instants seen, so a clock stepped back
/// waits at most the spacing, and `Timestamp::MAX` still spaces the calls.
fn space(now: Timestamp, answered_at: Timestamp, request: Outgoing, carried: Carried) -> Transition<State> {
    let answered_at = answered_at.min(now);
    if within(answered_at, now, SPACING) {
        let state = State::Spacing {
            request,
            answered_at,
            carried,
        };
        (state, Action::Wait(answered_at.saturating_add(SPACING)))
    } else {
        let state = State::Exchanging {
            sent_at: now,
            carried,
        };
        (state, Action::Send(request))
    }
}

impl Step for State {
    type Output = TokenSet;

    fn name(&self) -> &'static str {
        match self {
            State::Authenticating { .. } => "Authenticating",
            State::Signing { .. } => "Signing",
            State::Spacing { .. } => "Spacing",
            State::Exchanging { .. } => "Exchanging",
        }
    }

    fn expects(&self) -> Expect {
        match self {
            State::Signing { .. } => Expect::Signature,
            State::Spacing { .. } => Expect::Timeout,
            State::Authenticating { .. } | State::Exchanging { .. } => Expect::Response,
        }
    }

    fn resume(self, now: Timestamp, input: Input) -> Result<Transition<State>, Error> {
        match (self, input) {
            (
                State::Authenticating {
                    token_url,
                    secret,
                    auth,
                },
                Input::Response(response),
            ) => {
                let password = match &auth {
                    Auth::Password(p) => p.expose_secret(),
                    Auth::SignedCode => "",
                };
                let scrub = [secret.expose_secret(), password];
                let reply = classify::<AuthAnswer<'_>>(&response, &scrub)?;
                let body = reply.accept(Accept::OK_CODE_IS_DATA)?;
                let code = reply.required_str(&body.code, "code")?.to_owned();
                let answered_at = now;
                match auth {
                    Auth::SignedCode => {
                        let job = SignJob::new(
                            code.as_bytes().to_vec(),
                            SignatureKind::Detached,
                            Purpose::MdlpCode,
                        );
                        let state = State::Signing {
                            token_url,
                            secret,
                            code,
                            answered_at,
                        };
                        Ok((state, Action::Sign(job)))
                    }
                    Auth::Password(password) => {
                        let body = json::bytes(&TokenBody {
                            code: &code,
                            password: password.expose_secret(),
                        });
                        let carried = Carried {
                            secret,
                            code,
                            proof: Proof::Password(password),
                        };
                        token_request(now, answered_at, token_url, body, carried)
                    }
                }
            }
            (
                State::Signing {
                    token_url,
                    secret,
                    code,
                    answered_at,
                },
                Input::Signature(signature),
            ) => {
                let body = json::with_signature("code", &code, "signature", &signature, None);
                let carried = Carried {
                    secret,
                    code,
                    proof: Proof::Signature(signature),
                };
                token_request(now, answered_at, token_url, body, carried)
            }
            // Woken early, MDLP would answer 429: `space` waits the rest.
            (
                State::Spacing {
                    request,
                    answered_at,
                    carried,
                },
                Input::Timeout,
            ) => Ok(space(now, answered_at, request, carried)),
            (State::Exchanging { sent_at, carried }, Input::Response(response)) => {
                let read = |reply: &super::TokenReply<'_>| {
                    let body = reply.success()?;
                    let minutes = reply
                        .optional_count(&body.life_time, "life_time")?
                        .ok_or_else(|| reply.missing("life_time"))?;
                    token_from(reply, sent_at, secs(minutes.saturating_mul(60)))
                };
                let der = match &carried.proof {
                    Proof::Signature(signature) => signature.as_der(),
                    Proof::Password(_) => &[],
                };
                let token = read_answer(&response, read, || carried.secrets(), der)?;
                Ok((State::Exchanging { sent_at, carried }, Action::Done(token)))
            }
            // The machine checks the input kind against `expects` first.
            (state, input) => Err(crate::flow::unexpected(state.expects(), &input)),
        }
    }
}

flow_via_machine!(MdlpSignIn, TokenSet);

impl super::SignIn for MdlpSignIn {
    fn oms_connection(&self) -> Option<&str> {
        self.oms_connection.as_deref()
    }
}

impl fmt::Debug for MdlpSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MdlpSignIn({})", self.machine.describe())
    }
}
