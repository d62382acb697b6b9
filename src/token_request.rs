//! [`TokenRequest`]: the one-request flow shared by every provider whose
//! token comes back from a single call (GAM, MonPay, Astana-plat).

use std::fmt;

use crate::error::{Error, Expect, ServerError};
use crate::flow::{Action, Input, Outgoing};
use crate::machine::{flow_via_machine, Machine, Start, Step, Transition};
use crate::oauth2::{token_from_response, ZeroLifetime};
use crate::scrub::Scrubber;
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::trace::Name;

/// Reads the token out of the answer to a request that carried the secrets
/// (to scrub from a refusal) and was sent at the instant given.
pub(crate) type ParseToken = fn(&http::Response<Vec<u8>>, &[&str], Timestamp) -> Result<TokenSet, Error>;

/// Gives a provider's refusals their documented kinds (status tables, messages).
pub(crate) type RefineRefusal = fn(&mut ServerError);

/// A flow of exactly one request that yields a [`TokenSet`].
///
/// Transcript: `start` → `Send(request)`; `resume(Response)` → `Done(token)`
/// or an error. Either way the flow is then finished: every later call
/// returns [`UsageError::Finished`](crate::UsageError::Finished), so it can
/// never send a second request. Built by the provider modules
/// ([`gam`](crate::gam), [`monpay`](crate::monpay), [`astana_plat`](crate::astana_plat)).
pub struct TokenRequest {
    machine: Machine<Ready>,
}

/// Before `start`: the request and how to read its answer.
struct Ready {
    request: Outgoing,
    reading: Reading,
}

/// How to read the answer.
struct Reading {
    /// Every secret the request carries, scrubbed from any server message.
    secrets: Carried,
    parse: Parse,
    refine: RefineRefusal,
}

/// How the answer becomes a token.
#[derive(Clone, Copy)]
enum Parse {
    /// The provider's own reader.
    Own(ParseToken),
    /// An RFC 6749 token answer, with what a zero or missing lifetime
    /// means: a value, so a lifetime the caller chose needs no reader of
    /// its own (a function pointer cannot carry it).
    OAuth(ZeroLifetime),
}

/// The request is out.
struct Awaiting {
    sent_at: Timestamp,
    reading: Reading,
}

impl TokenRequest {
    /// `secrets` (client secret, code, password, a verifier: any number) are
    /// moved in, not copied.
    pub(crate) fn new(
        name: Name,
        request: Outgoing,
        secrets: impl IntoIterator<Item = String>,
        parse: ParseToken,
        refine: RefineRefusal,
    ) -> Self {
        Self::with(name, request, secrets, Parse::Own(parse), refine)
    }

    /// A request answered by an RFC 6749 token response, whose zero or
    /// missing `expires_in` means what `zero` says.
    pub(crate) fn oauth(
        name: Name,
        request: Outgoing,
        secrets: impl IntoIterator<Item = String>,
        zero: ZeroLifetime,
        refine: RefineRefusal,
    ) -> Self {
        Self::with(name, request, secrets, Parse::OAuth(zero), refine)
    }

    fn with(
        name: Name,
        request: Outgoing,
        secrets: impl IntoIterator<Item = String>,
        parse: Parse,
        refine: RefineRefusal,
    ) -> Self {
        let secrets = Carried::new(secrets);
        TokenRequest {
            machine: Machine::new(
                name,
                Ready {
                    request,
                    reading: Reading {
                        secrets,
                        parse,
                        refine,
                    },
                },
            ),
        }
    }
}

/// The secrets a request carries: the first few in place (a request
/// carries one to three, and holding them costs no allocation), any number
/// after them.
struct Carried {
    first: [String; 3],
    more: Vec<String>,
}

impl Carried {
    fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut carried = Carried {
            first: Default::default(),
            more: Vec::new(),
        };
        let mut secrets = secrets.into_iter();
        for (slot, secret) in carried.first.iter_mut().zip(secrets.by_ref()) {
            *slot = secret;
        }
        // Whatever did not fit: never dropped.
        carried.more.extend(secrets);
        carried
    }

    /// Calls `f` with every secret (unused slots are empty strings, which
    /// the scrubber skips).
    fn as_list<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let first = self.first.each_ref().map(String::as_str);
        if self.more.is_empty() {
            return f(&first);
        }
        let all: Vec<&str> = first
            .into_iter()
            .chain(self.more.iter().map(String::as_str))
            .collect();
        f(&all)
    }
}

impl Reading {
    fn token(&self, response: &http::Response<Vec<u8>>, sent_at: Timestamp) -> Result<TokenSet, Error> {
        self.secrets.as_list(|scrub| self.read(response, scrub, sent_at))
    }

    fn read(
        &self,
        response: &http::Response<Vec<u8>>,
        scrub: &[&str],
        sent_at: Timestamp,
    ) -> Result<TokenSet, Error> {
        let parsed = match self.parse {
            Parse::Own(parse) => parse(response, scrub, sent_at),
            Parse::OAuth(zero) => token_from_response(response, scrub, sent_at, zero),
        };
        parsed.map_err(|e| match e {
            Error::Server(mut refusal) => {
                let code = refusal.code.clone();
                (self.refine)(&mut refusal);
                // A code the provider's table gave is printed before the
                // server's message: the two together may spell a secret.
                if let Some(given) = refusal.code.as_deref().filter(|_| refusal.code != code) {
                    Scrubber::new(scrub.iter().copied()).withhold_message_after(given, &mut refusal.message);
                }
                Error::Server(refusal)
            }
            other => other,
        })
    }
}

impl Start for Ready {
    type State = Awaiting;

    fn start(self, now: Timestamp) -> Result<Transition<Awaiting>, Error> {
        let state = Awaiting {
            sent_at: now,
            reading: self.reading,
        };
        Ok((state, Action::Send(self.request)))
    }
}

impl Step for Awaiting {
    type Output = TokenSet;

    fn expects(&self) -> Expect {
        Expect::Response
    }

    fn name(&self) -> &'static str {
        "Awaiting"
    }

    fn resume(self, _now: Timestamp, input: Input) -> Result<Transition<Awaiting>, Error> {
        match input {
            Input::Response(response) => {
                let token = self.reading.token(&response, self.sent_at)?;
                Ok((self, Action::Done(token)))
            }
            // The machine checks the input kind against `expects` first.
            other => Err(crate::flow::unexpected(Expect::Response, &other)),
        }
    }
}

flow_via_machine!(TokenRequest, TokenSet);

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.machine.describe();
        write!(f, "TokenRequest {{ state: {state}, secrets: <redacted> }}")
    }
}

/// Leaves a refusal's kind as the classifier found it.
pub(crate) fn keep_refusal(_: &mut ServerError) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Flow;

    const SECRETS: [&str; 5] = [
        "alpha-secret-1",
        "bravo-secret-2",
        "charlie-secret-3",
        "delta-secret-4",
        "echo-secret-5",
    ];

    fn request() -> TokenRequest {
        let uri = http::Uri::from_static("https://auth.example/token");
        TokenRequest::new(
            Name::new("test", "token_request"),
            Outgoing::post_form_to(uri, &[("grant_type", "client_credentials")]),
            SECRETS.map(str::to_owned),
            |response, scrub, sent_at| token_from_response(response, scrub, sent_at, ZeroLifetime::Expired),
            keep_refusal,
        )
    }

    fn refusal(message: &str) -> Error {
        let body = serde_json::json!({"error": "invalid_client", "error_description": message});
        let response = http::Response::builder()
            .status(401)
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        let mut flow = request();
        assert!(matches!(
            flow.start(Timestamp::from_unix_secs(1)),
            Ok(Action::Send(_))
        ));
        flow.resume(Timestamp::from_unix_secs(1), Input::Response(response))
            .unwrap_err()
    }

    /// Every secret handed in is scrubbed, however many there are (a fixed
    /// array of three once dropped a fourth without a word).
    #[test]
    #[cfg_attr(
        miri,
        ignore = "about 13 s under miri for one secret: a count, not memory; the scrubber's own tests run there"
    )]
    fn every_secret_is_scrubbed_however_many() {
        for secret in SECRETS {
            let error = refusal(&format!("client {secret} is unknown"));
            for printed in [error.to_string(), format!("{error:?}")] {
                assert!(!printed.contains(secret), "{secret} in {printed}");
            }
        }
        // A message without a secret is shown, so the check above can fail.
        let error = refusal("client is unknown");
        assert!(error.to_string().contains("client is unknown"), "{error}");
    }
}
