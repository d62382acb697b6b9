//! Registering an installation of an integration solution with SUZ, which
//! yields the `omsConnection` every token request names.

use std::fmt;

use serde::Serialize;
use url::Url;

use super::json;
use crate::endpoint::{segment_problem, Endpoint};
use crate::error::{Error, Expect, ProtocolError, UsageError};
use crate::flow::{Action, Input, MediaType, Outgoing};
use crate::machine::{flow_via_machine, Machine, Start, Step, Transition};
use crate::response::{classify_with, fields, Secrets};

fields! {
    /// The registration's answer: its verdict, and the connection or the
    /// reason it was refused.
    struct Registered {
        status,
        omsConnection,
        rejectionReason,
    }
}
use crate::scrub::ServerText;
use crate::secret::RegistrationKey;
use crate::sign::{Purpose, SignJob, Signature, SignatureKind};
use crate::time::Timestamp;
use crate::trace::{Finished, Name};

/// What the SUZ registration is traced as.
const NAME: Name = Name::new("suz", "register");

/// Whether the request is signed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Signing {
    /// A DETACHED signature over the exact body bytes, sent as `X-Signature`
    /// (every participant but pharma).
    Detached,
    /// No signature (participants of the pharma product group).
    Unsigned,
}

/// What SUZ decided.
///
/// Non-exhaustive: SUZ's `status` names two verdicts today; a stand that
/// adds one (a pending review) is then not a breaking change.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// `SUCCESS`: keep `oms_connection` (a UUID, often upper-case) for every
    /// token request of this installation.
    Registered {
        /// The installation's connection id, checked to be one path segment
        /// (it goes into every sign-in's path); pass it on with `as_str()`.
        oms_connection: ServerText,
    },
    /// `REJECTED`, with SUZ's reason when it gave one.
    Rejected {
        /// `rejectionReason`, as SUZ wrote it.
        reason: Option<ServerText>,
    },
}

/// A registration; see [`register`].
pub struct Registration {
    machine: Machine<Prepared>,
}

/// The request, serialised once: these exact bytes are signed and sent.
struct Prepared {
    url: Url,
    body: Vec<u8>,
    key: RegistrationKey,
    signing: Signing,
}

enum State {
    /// The signer has the body.
    Signing {
        url: Url,
        body: Vec<u8>,
        key: RegistrationKey,
    },
    /// The request is out; the signature (as sent in base64, and its DER)
    /// is scrubbed from any error
    /// message, as the key is.
    Sending {
        key: RegistrationKey,
        signature: Option<(String, Signature)>,
    },
}

/// The API version path registrations use unless told otherwise.
pub const DEFAULT_API_VERSION: &str = "v2";

/// The API version whose registration takes a `name`.
pub const NAMED_API_VERSION: &str = "v3";

#[derive(Serialize)]
struct Body<'a> {
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// Registers the installation at `address` with the SUZ `oms_id` on `base`
/// (see [`SuzStand`](super::SuzStand)), under `api_version` (`v2`, the
/// documented one, or `v3` on newer stands).
///
/// Transcript (signed): `Sign(Detached, body)` → `Send(POST
/// {base}/api/v2/integration/connection?omsId={omsId}` with `X-Signature`
/// and `X-RegistrationKey`) → `Done(Outcome)`. Unsigned: `Send` → `Done`.
/// `SUCCESS` without an `omsConnection` is a protocol error.
///
/// ```
/// use tokendance::crpt::{registration, SuzStand, DEMO_REGISTRATION_KEY};
/// use tokendance::{Action, Flow, Input, RegistrationKey, Signature, SignatureKind, Timestamp};
///
/// let mut flow = registration::register(&SuzStand::Demo.endpoint(), "cdf12109-10d3-11e6-8b6f-0050569977a1",
///     RegistrationKey::new(DEMO_REGISTRATION_KEY), "Moscow, 1 Leninskie Gory",
///     registration::Signing::Detached, registration::DEFAULT_API_VERSION)?;
/// let Action::Sign(job) = flow.start(Timestamp::EPOCH)? else { unreachable!() };
/// assert_eq!((job.kind(), job.bytes()), (SignatureKind::Detached, &br#"{"address":"Moscow, 1 Leninskie Gory"}"#[..]));
/// let Action::Send(request) = flow.resume(Timestamp::EPOCH, Input::Signature(Signature::from_der(vec![1, 2])))?
///     else { unreachable!() };
/// assert_eq!(request.as_http().body(), job.bytes()); // exactly the signed bytes
/// assert_eq!(request.as_http().headers()["x-signature"], "AQI=");
/// let answer = http::Response::new(br#"{"status":"SUCCESS","omsConnection":"CDF12109"}"#.to_vec());
/// let Action::Done(outcome) = flow.resume(Timestamp::EPOCH, Input::Response(answer))? else { unreachable!() };
/// assert_eq!(outcome, registration::Outcome::Registered { oms_connection: "CDF12109".into() });
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn register(
    base: &Endpoint,
    oms_id: &str,
    key: RegistrationKey,
    address: &str,
    signing: Signing,
    api_version: &str,
) -> Result<Registration, Error> {
    prepare(
        base,
        oms_id,
        key,
        Body { address, name: None },
        signing,
        api_version,
    )
}

/// [`register`] under SUZ's v3 API ([`NAMED_API_VERSION`]) with the
/// installation's `name` next to its `address`: the body is
/// `{"address":…,"name":…}`, signed the same way. v2 takes no name, so
/// there is no version to choose. An empty `name` is
/// [`UsageError::InvalidConfig`]. From field practice (newer stands take it),
/// beyond the guide's v2.
///
/// ```
/// use tokendance::crpt::{registration, SuzStand, DEMO_REGISTRATION_KEY};
/// use tokendance::{Action, Flow, RegistrationKey, Timestamp};
///
/// let mut flow = registration::register_named(&SuzStand::Demo.endpoint(), "cdf12109",
///     RegistrationKey::new(DEMO_REGISTRATION_KEY), "Moscow", "Warehouse 2",
///     registration::Signing::Detached)?;
/// let Action::Sign(job) = flow.start(Timestamp::EPOCH)? else { unreachable!() };
/// assert_eq!(job.bytes(), br#"{"address":"Moscow","name":"Warehouse 2"}"#);
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn register_named(
    base: &Endpoint,
    oms_id: &str,
    key: RegistrationKey,
    address: &str,
    name: &str,
    signing: Signing,
) -> Result<Registration, Error> {
    if name.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "a named registration needs a name",
        }));
    }
    let body = Body {
        address,
        name: Some(name),
    };
    prepare(base, oms_id, key, body, signing, NAMED_API_VERSION)
}

fn prepare(
    base: &Endpoint,
    oms_id: &str,
    key: RegistrationKey,
    body: Body<'_>,
    signing: Signing,
    api_version: &str,
) -> Result<Registration, Error> {
    if oms_id.is_empty() || body.address.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "a registration needs an omsId and an address",
        }));
    }
    let mut url = base.join(&["api", api_version, "integration", "connection"])?;
    url.query_pairs_mut().append_pair("omsId", oms_id);
    // Checked now rather than when the request is built.
    crate::flow::sensitive_value(key.expose_secret())?;
    Ok(Registration {
        machine: Machine::new(
            NAME,
            Prepared {
                url,
                body: json::bytes(&body),
                key,
                signing,
            },
        ),
    })
}

impl Start for Prepared {
    type State = State;

    fn start(self, _now: Timestamp) -> Result<Transition<State>, Error> {
        match self.signing {
            Signing::Detached => {
                let job = SignJob::new(
                    self.body.clone(),
                    SignatureKind::Detached,
                    Purpose::SuzRegistrationBody,
                );
                let state = State::Signing {
                    url: self.url,
                    body: self.body,
                    key: self.key,
                };
                Ok((state, Action::Sign(job)))
            }
            Signing::Unsigned => send(self.url, self.body, self.key, None),
        }
    }
}

/// The registration request; the same bytes that were signed.
fn send(
    url: Url,
    body: Vec<u8>,
    key: RegistrationKey,
    signature: Option<(String, Signature)>,
) -> Result<Transition<State>, Error> {
    let mut request = Outgoing::post_json(url, body, MediaType::JsonUtf8)?
        .with_secret_header("x-registrationkey", key.expose_secret())?;
    if let Some((base64, _)) = &signature {
        request = request.with_secret_header("x-signature", base64)?;
    }
    Ok((State::Sending { key, signature }, Action::Send(request)))
}

impl Step for State {
    type Output = Outcome;

    fn name(&self) -> &'static str {
        match self {
            State::Signing { .. } => "Signing",
            State::Sending { .. } => "Sending",
        }
    }

    fn expects(&self) -> Expect {
        match self {
            State::Signing { .. } => Expect::Signature,
            State::Sending { .. } => Expect::Response,
        }
    }

    fn resume(self, _now: Timestamp, input: Input) -> Result<Transition<State>, Error> {
        match (self, input) {
            (State::Signing { url, body, key }, Input::Signature(signature)) => {
                send(url, body, key, Some((signature.to_base64(), signature)))
            }
            (State::Sending { key, signature }, Input::Response(response)) => {
                let (base64, der) = signature
                    .as_ref()
                    .map_or(("", &[][..]), |(b, s)| (b.as_str(), s.as_der()));
                let scrub = [key.expose_secret(), base64];
                let reply = classify_with::<Registered<'_>>(&response, Secrets::new(&scrub).with_bytes(der))?;
                let body = reply.success()?;
                let outcome = match reply.required_str(&body.status, "status")? {
                    "SUCCESS" => {
                        let connection = reply.required_str(&body.omsConnection, "omsConnection")?;
                        // It becomes a path segment of every sign-in: checked now,
                        // as a caller's value is when a flow is built.
                        if segment_problem(connection).is_some() {
                            return Err(
                                reply.malformed("omsConnection", "a connection id that is one path segment")
                            );
                        }
                        Outcome::Registered {
                            oms_connection: ServerText::checked(connection, &reply.scrubber()),
                        }
                    }
                    // SUZ's words; printed withheld if they echo the key or the signature.
                    "REJECTED" => Outcome::Rejected {
                        reason: reply
                            .optional_str(&body.rejectionReason, "rejectionReason")?
                            .map(|r| ServerText::checked(r, &reply.scrubber())),
                    },
                    _ => {
                        return Err(ProtocolError::Malformed {
                            status: reply.status,
                            field: "status".to_owned(),
                            expected: "\"SUCCESS\" or \"REJECTED\"",
                        }
                        .into())
                    }
                };
                Ok((State::Sending { key, signature }, Action::Done(outcome)))
            }
            // The machine checks the input kind against `expects` first.
            (state, input) => Err(crate::flow::unexpected(state.expects(), &input)),
        }
    }
}

flow_via_machine!(Registration, Outcome);

/// A registration hands out no token.
impl Finished for Outcome {}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registration({})", self.machine.describe())
    }
}
