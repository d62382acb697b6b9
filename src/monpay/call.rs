//! MonPay API calls, with MonPay's rule on which 401 a new token cures.

use http::StatusCode;

use crate::call::{Authorized, Scheme, TokenSource};
use crate::error::Error;
use crate::response::{classify, fields, FieldValue};

/// The code of a token that lacks the right to the API called.
pub const INSUFFICIENT_ACCESS: &str = "INSUFFICIENT_ACCESS";

/// [`INSUFFICIENT_ACCESS`]'s number, MonPay's `intCode`.
const INSUFFICIENT_ACCESS_INT_CODE: u64 = 6;

fields! {
    /// A MonPay API refusal's own fields beyond the shared ones (`code` and
    /// `info` are read for every answer).
    struct Refusal { intCode }
}

/// A MonPay API request (`Authorization: Bearer …`) with a token from
/// `source`; the call produces the API's response.
///
/// MonPay answers 401 for two different things, told apart by the body:
///
/// | answer | what happens |
/// |---|---|
/// | 401 `UNAUTHORIZED` (or any other 401: no body, another code) | the token is stale: the source drops it and gets another, the request is sent **once** more; a second such 401 is [`ServerErrorKind::Unauthorized`](crate::ServerErrorKind::Unauthorized) |
/// | 401 `{"code":"INSUFFICIENT_ACCESS","intCode":6,"info":…}`, and any 403 | the token lacks the right: [`ServerErrorKind::Forbidden`](crate::ServerErrorKind::Forbidden) with the server's `code` and `info` (scrubbed of the token), never retried, no new token |
///
/// The code is read from `code` when the body has one, else from `intCode`
/// (6); a body over [`MAX_BODY`](crate::MAX_BODY) is not read, so its 401
/// counts as stale. This rule is field practice, not in MonPay's guide.
/// Otherwise the call is [`Authorized::new`]: an absolute `https` URI is
/// required, and any other answer is yours untouched.
///
/// ```
/// use tokendance::{monpay, AccessToken, Action, Flow, Input, ServerErrorKind, Timestamp, TokenSet};
///
/// let now = Timestamp::from_unix_secs(1_000);
/// let token = TokenSet::new(AccessToken::new("m-1"), now, None);
/// let request = http::Request::post("https://z-wallet.monpay.mn/v2/api/oauth/invoice")
///     .body(br#"{"amount":100}"#.to_vec()).unwrap();
/// let mut call = monpay::call(token, request)?;
/// let _sent = call.start(now)?;
/// let refused = http::Response::builder().status(401)
///     .body(br#"{"code":"INSUFFICIENT_ACCESS","intCode":6,"info":"No access"}"#.to_vec()).unwrap();
/// let err = call.resume(now, Input::Response(refused)).unwrap_err();
/// let refusal = err.as_server().unwrap();
/// assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
/// assert_eq!((refusal.code.as_deref(), refusal.message.as_deref()),
///     (Some("INSUFFICIENT_ACCESS"), Some("No access")));
/// assert!(!call.token_refused() && !call.retried());
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn call<S: TokenSource>(source: S, request: http::Request<Vec<u8>>) -> Result<Authorized<S>, Error> {
    Authorized::new(source, request, Scheme::Bearer).map(with_monpay_rule)
}

/// As [`call`], but a plain `http` URI is accepted too (a local fake).
///
/// # Security warning
/// Over plain http the token travels in clear text: use this for loopback
/// tests only.
pub fn call_insecure_http<S: TokenSource>(
    source: S,
    request: http::Request<Vec<u8>>,
) -> Result<Authorized<S>, Error> {
    Authorized::new_insecure_http(source, request, Scheme::Bearer).map(with_monpay_rule)
}

/// Which 401 is a stale token and which a missing right.
fn with_monpay_rule<S: TokenSource>(call: Authorized<S>) -> Authorized<S> {
    call.refused_when(|response| response.status() == StatusCode::UNAUTHORIZED && !lacks_access(response))
        .forbidden_when(|response| response.status() == StatusCode::FORBIDDEN || lacks_access(response))
}

/// Whether `response` is MonPay's 401 for a token without the right.
fn lacks_access(response: &http::Response<Vec<u8>>) -> bool {
    if response.status() != StatusCode::UNAUTHORIZED {
        return false;
    }
    // The classifier refuses bodies over the size bound unread.
    let Ok(reply) = classify::<Refusal<'_>>(response, &[]) else {
        return false;
    };
    match reply.body.errors.code.as_ref().and_then(FieldValue::as_str) {
        Some(code) => code.trim() == INSUFFICIENT_ACCESS,
        None => match &reply.body.fields.intCode {
            Some(FieldValue::UInt(n)) => *n == INSUFFICIENT_ACCESS_INT_CODE,
            Some(FieldValue::Str(s)) => s.trim().parse() == Ok(INSUFFICIENT_ACCESS_INT_CODE),
            _ => false,
        },
    }
}
