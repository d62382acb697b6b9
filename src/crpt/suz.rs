//! SUZ business calls: `clientToken`, a detached `X-Signature` over the body
//! where SUZ wants one, and SUZ's refusals as typed errors.
//!
//! A call is an [`Authorized`] call with SUZ's rules:
//!
//! | step or answer | what happens |
//! |---|---|
//! | [`Signing::Detached`] | the call's first action is `Sign(Detached)` over exactly the body's bytes ([`Purpose::SuzRequestBody`]); the signature goes out as `X-Signature` (base64, one line) on the request and on its one retry, whose body is byte-identical |
//! | a 2xx answer | `Done(response)`, untouched (a list of codes may be megabytes) |
//! | `{"success":false,"globalErrors":[{"error":…,"errorCode":…}],"fieldErrors":[…]}`, at any status | [`Error::Server`] with the status, the first entry's `errorCode` as `code` and its text as `message` |
//! | any other 4xx or 5xx | [`Error::Server`] with whatever the body says (JSON in any shape, XML, an HTML page's title) |
//! | 401, or a refusal whose code is one of [`Calls::renew_on_code`]'s | the token source drops the token and gets another; the request goes out once more; a second one is [`ServerErrorKind::Unauthorized`](crate::ServerErrorKind::Unauthorized) |
//!
//! Which SUZ error codes mean "this `clientToken` is not valid" is not in
//! the guides, and stands differ; 401 is what every stand answers for a
//! token it does not know. Name your stand's codes with
//! [`Calls::renew_on_code`].
//!
//! The signature rule is the registration's (SUZ checks the `X-Signature`
//! of order creation and closing against the body as received), from field
//! practice: SUZ clients sign these bodies; the guide describes it for
//! registration.
//!
//! ```
//! use tokendance::crpt::{suz, Signing};
//! use tokendance::{AccessToken, Action, Flow, Input, Signature, SignatureKind, Timestamp, TokenSet};
//!
//! let now = Timestamp::from_unix_secs(1_000);
//! let token = TokenSet::new(AccessToken::new("58f908f1"), now, None);
//! let body = br#"{"products":[{"gtin":"04600000000000","quantity":10}]}"#.to_vec();
//! let order = http::Request::post("https://suzgrid.crpt.ru:16443/api/v2/lp/orders?omsId=cdf12109")
//!     .header("content-type", "application/json").body(body.clone()).unwrap();
//! let mut call = suz::Calls::new().call(token, order, Signing::Detached)?;
//! let Action::Sign(job) = call.start(now)? else { unreachable!() };
//! assert_eq!((job.kind(), job.bytes()), (SignatureKind::Detached, &body[..]));
//! let Action::Send(sent) = call.resume(now, Input::Signature(Signature::from_der(vec![0x30, 0x80])))?
//!     else { unreachable!() };
//! assert_eq!(sent.as_http().headers()["x-signature"], "MIA=");
//! assert_eq!(sent.as_http().headers()["clienttoken"], "58f908f1");
//! let refused = http::Response::builder().status(400).body(
//!     br#"{"success":false,"globalErrors":[{"error":"GTIN not found","errorCode":1140}]}"#.to_vec()).unwrap();
//! let err = call.resume(now, Input::Response(refused)).unwrap_err();
//! let refusal = err.as_server().unwrap();
//! assert_eq!((refusal.code.as_deref(), refusal.message.as_deref()), (Some("1140"), Some("GTIN not found")));
//! # Ok::<(), tokendance::Error>(())
//! ```

use std::sync::Arc;

use http::{HeaderName, StatusCode};

use super::registration::Signing;
use crate::call::{Authorized, Scheme, TokenSource};
use crate::error::Error;
use crate::response::{classify, classify_with, NoFields, Secrets, MAX_BODY};
use crate::sign::{Purpose, SignatureKind};

/// SUZ's rules for the business calls of one stand: which refusals, besides
/// 401, mean the `clientToken` is not valid. See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Calls {
    /// SUZ error codes (`errorCode`, as text) that renew the token.
    token_codes: Arc<[String]>,
    /// Plain `http` allowed (loopback tests).
    insecure_http: bool,
}

impl Calls {
    /// The rules every stand shares: only 401 renews the token.
    pub fn new() -> Self {
        Calls::default()
    }

    /// Also treats a refusal with this SUZ `errorCode` (compared as text,
    /// exactly: `"1133"`) as a token that is no longer valid: renewed, and
    /// the request re-issued once.
    ///
    /// ```
    /// use tokendance::crpt::{suz, Signing};
    /// use tokendance::{AccessToken, Action, Flow, Input, Timestamp, TokenSet};
    ///
    /// let now = Timestamp::from_unix_secs(1_000);
    /// let token = TokenSet::new(AccessToken::new("old"), now, None);
    /// let ping = http::Request::get("https://suz.example/api/v2/lp/ping?omsId=o-1").body(Vec::new()).unwrap();
    /// let mut call = suz::Calls::new().renew_on_code("1133").call(token, ping, Signing::Unsigned)?;
    /// let _sent = call.start(now)?;
    /// let stale = http::Response::builder().status(400)
    ///     .body(br#"{"success":false,"globalErrors":[{"error":"token expired","errorCode":1133}]}"#.to_vec()).unwrap();
    /// // A TokenSet cannot renew itself: the refusal is the answer, typed as a refused token.
    /// let err = call.resume(now, Input::Response(stale)).unwrap_err();
    /// assert!(call.token_refused());
    /// assert_eq!(err.as_server().unwrap().code.as_deref(), Some("1133"));
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn renew_on_code(self, code: impl Into<String>) -> Self {
        let mut codes = self.token_codes.to_vec();
        codes.push(code.into());
        Calls {
            token_codes: codes.into(),
            ..self
        }
    }

    /// Allows plain `http` request URIs.
    ///
    /// # Security warning
    /// Over plain http the token travels in clear text: use this for
    /// loopback tests only.
    pub fn insecure_http(self) -> Self {
        Calls {
            insecure_http: true,
            ..self
        }
    }

    /// A call of `request` with a `clientToken` from `source`, its body
    /// signed as `signing` says. The request must have an absolute `https`
    /// URI (unless [`insecure_http`](Self::insecure_http)); a signed one
    /// needs a body.
    pub fn call<S: TokenSource>(
        &self,
        source: S,
        request: http::Request<Vec<u8>>,
        signing: Signing,
    ) -> Result<Authorized<S>, Error> {
        let call = if self.insecure_http {
            Authorized::new_insecure_http(source, request, Scheme::SuzClientToken)?
        } else {
            Authorized::new(source, request, Scheme::SuzClientToken)?
        };
        let codes = Arc::clone(&self.token_codes);
        let call = call
            .parsed_by(answer)
            .refused_when(move |response| token_refused(response, &codes));
        match signing {
            Signing::Detached => call.with_body_signature(
                HeaderName::from_static("x-signature"),
                SignatureKind::Detached,
                Purpose::SuzRequestBody,
            ),
            Signing::Unsigned => Ok(call),
        }
    }
}

/// Whether SUZ says the token is not valid: 401, or a refusal with one of
/// `codes`.
fn token_refused(response: &http::Response<Vec<u8>>, codes: &[String]) -> bool {
    if response.status() == StatusCode::UNAUTHORIZED {
        return true;
    }
    if codes.is_empty() {
        return false;
    }
    // Only compared, never shown: no secrets to scrub.
    let Ok(reply) = classify::<NoFields<'_>>(response, &[]) else {
        return false;
    };
    reply.success().is_err()
        && reply
            .refusal_words()
            .0
            .is_some_and(|code| codes.iter().any(|c| *c == code))
}

/// SUZ's answer to a business call: a refusal in any shape is an error; any
/// other answer is the caller's, untouched.
fn answer(response: http::Response<Vec<u8>>, secrets: Secrets<'_>) -> Result<http::Response<Vec<u8>>, Error> {
    let status = response.status();
    // A large success is data (codes), never a refusal worth parsing.
    if status.is_success() && response.body().len() > MAX_BODY {
        return Ok(response);
    }
    let refusal = match classify_with::<NoFields<'_>>(&response, secrets) {
        Ok(reply) => reply.success().err(),
        // A success the classifier cannot read (not JSON, a list) is the caller's.
        Err(_) if status.is_success() => None,
        Err(err) => Some(err),
    };
    match refusal {
        Some(err) => Err(err),
        None => Ok(response),
    }
}
