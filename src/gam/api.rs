//! GAM business calls: JSON requests with `X-Client-Source`, answered by the
//! `{status, message, timestamp, data}` envelope.

use std::fmt;

use http::header::HeaderValue;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::call::{Authorized, Scheme, TokenSource};
use crate::error::{Error, ProtocolError, UsageError};
use crate::flow::{header_value, MediaType, Outgoing};
use crate::response::{classify, parse_success, Accept, FieldValue, NoFields, Secrets};
use crate::scrub::ServerText;

use super::Config;

/// The header naming the partner on every business call.
pub const CLIENT_SOURCE: &str = "x-client-source";

/// What a GAM business answer may be: a business call may create (201) or
/// accept (202) as well as answer (200); GAM documents no `code` verdict.
const ENVELOPE: Accept = Accept {
    statuses: &[200, 201, 202],
    code_is_data: true,
    status_is_data: false,
};

/// A successful GAM answer: the envelope, with `data` read into `T`
/// (`serde_json::Value` when you do not have a type for it).
///
/// Its `Debug` shows whether there is `data`, not what it holds: a payload
/// may carry credentials (the bearer token the call was made with, echoed)
/// or personal data. The envelope's own texts are [`ServerText`]s: yours as
/// sent, printed withheld if they echo the token.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Envelope<T> {
    /// The envelope's `status`, as text (GAM prints it quoted; a number is accepted too).
    pub status: ServerText,
    /// The envelope's `message`.
    pub message: Option<ServerText>,
    /// The envelope's `timestamp`, as sent.
    pub timestamp: Option<ServerText>,
    /// The envelope's `data`; `None` when absent or `null`.
    pub data: Option<T>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    status: Option<FieldValue<'a>>,
    #[serde(borrow)]
    message: Option<FieldValue<'a>>,
    #[serde(borrow)]
    timestamp: Option<FieldValue<'a>>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

impl<T: DeserializeOwned> Envelope<T> {
    /// Reads a GAM answer: the envelope on 2xx; the server's refusal for any
    /// other status or for an error envelope (`error_code`, any status), with
    /// `error_code` as the code and `message` as the message.
    ///
    /// ```
    /// use tokendance::gam::Envelope;
    /// use tokendance::ServerErrorKind;
    ///
    /// let ok = http::Response::new(
    ///     br#"{"status":"200","message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":7}}"#.to_vec());
    /// let envelope: Envelope<serde_json::Value> = Envelope::from_response(&ok)?;
    /// assert_eq!((envelope.status.as_str(), envelope.data.unwrap()["id"].as_u64()), ("200", Some(7)));
    ///
    /// let failed = http::Response::new(
    ///     br#"{"status":400,"message":"Customer not found","error_code":"CUS_404","timestamp":"..."}"#.to_vec());
    /// let err = Envelope::<serde_json::Value>::from_response(&failed).unwrap_err();
    /// let refusal = err.as_server().unwrap();
    /// assert_eq!((refusal.code.as_deref(), refusal.message.as_deref()), (Some("CUS_404"), Some("Customer not found")));
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Result<Self, Error> {
        Self::read(response, &[])
    }

    fn read(response: &http::Response<Vec<u8>>, scrub: &[&str]) -> Result<Self, Error> {
        let reply = classify::<NoFields<'_>>(response, scrub)?;
        reply.accept(ENVELOPE)?;
        let raw: RawEnvelope<'_> = parse_success(response, scrub)?;
        // The envelope's texts are the server's words: printed scrubbed.
        let scrubber = reply.scrubber();
        let text = |field: &Option<FieldValue<'_>>| {
            field
                .as_ref()
                .and_then(FieldValue::text)
                .map(|t| ServerText::checked(t, &scrubber))
        };
        let status = text(&raw.status).ok_or_else(|| reply.missing("status"))?;
        // serde reads `"data": null` into `None`, like an absent field.
        let data = raw
            .data
            .map(|raw| serde_json::from_str::<T>(raw.get()))
            .transpose()
            // serde's message may quote a value: only the field is named.
            .map_err(|_| {
                Error::Protocol(ProtocolError::Malformed {
                    status: response.status(),
                    field: "data".to_owned(),
                    expected: "the shape of the caller's type",
                })
            })?;
        Ok(Envelope {
            status,
            message: text(&raw.message),
            timestamp: text(&raw.timestamp),
            data,
        })
    }

    fn read_for(response: http::Response<Vec<u8>>, secrets: Secrets<'_>) -> Result<Self, Error> {
        Self::read(&response, secrets.texts())
    }
}

impl<T> fmt::Debug for Envelope<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("timestamp", &self.timestamp)
            .field("data", &self.data.as_ref().map(|_| format_args!("<not shown>")))
            .finish()
    }
}

/// A business `POST {resource server}/{path…}` with a JSON body; the call
/// produces the [`Envelope`] with `data` read into `T`.
///
/// Each element of `path` is one percent-encoded path segment. The request
/// carries `Content-Type: application/json`, `Authorization: Bearer …` and
/// `X-Client-Source: {partner_code}`. GAM's "authentication failed", an
/// empty 403, is what an expired or revoked token gets: like a 401, it makes
/// the source drop the token and the request is re-issued once with a new
/// one. A second refusal is
/// [`ServerErrorKind::Forbidden`](crate::ServerErrorKind::Forbidden) with the
/// message "authentication failed"; a 403 with a body is never retried.
///
/// ```
/// use tokendance::{gam, AccessToken, Action, Flow, Timestamp, TokenSet};
///
/// let now = Timestamp::from_unix_secs(1_000);
/// let token = TokenSet::new(AccessToken::new("eyJ..."), now, None);
/// let body = serde_json::json!({"customerCode": "C-1"});
/// let mut call = gam::post::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01",
///     &["api", "v1", "authenticated"], &body, token)?;
/// let Action::Send(request) = call.start(now)? else { unreachable!() };
/// let request = request.into_http();
/// assert_eq!(request.uri(), "https://gateway-staging.gam.vn/oms/api/v1/authenticated");
/// assert_eq!(request.headers()["x-client-source"], "SHOP01");
/// assert_eq!(request.headers()["content-type"], "application/json");
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn post<S: TokenSource, T: DeserializeOwned>(
    config: &Config,
    partner_code: &str,
    path: &[&str],
    body: &impl Serialize,
    tokens: S,
) -> Result<Authorized<S, Envelope<T>>, Error> {
    let url = config.resource_server().join(path)?;
    let body = serde_json::to_vec(body).map_err(|_| {
        Error::Usage(UsageError::InvalidConfig {
            reason: "the request body cannot be serialised as JSON",
        })
    })?;
    let request = Outgoing::post_json(url, body, MediaType::Json)?.into_http();
    call(partner_code, request, tokens)
}

/// A business `GET {resource server}/{path…}?{query}`; `path` segments and
/// query pairs are percent-encoded. Otherwise as [`post`].
pub fn get<S: TokenSource, T: DeserializeOwned>(
    config: &Config,
    partner_code: &str,
    path: &[&str],
    query: &[(&str, &str)],
    tokens: S,
) -> Result<Authorized<S, Envelope<T>>, Error> {
    let mut url = config.resource_server().join(path)?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let mut request = Outgoing::get(url)?.into_http();
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    call(partner_code, request, tokens)
}

fn call<S: TokenSource, T: DeserializeOwned>(
    partner_code: &str,
    mut request: http::Request<Vec<u8>>,
    tokens: S,
) -> Result<Authorized<S, Envelope<T>>, Error> {
    if partner_code.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "the partner code must not be empty",
        }));
    }
    let source = header_value(partner_code)?;
    request.headers_mut().insert(CLIENT_SOURCE, source);
    Ok(
        Authorized::with_parse(tokens, request, Scheme::Bearer, Envelope::read_for)
            .refused_when(token_refused)
            .forbidden_means("authentication failed"),
    )
}

/// GAM documents no 401: its "authentication failed" is a 403 with an empty
/// body, which is also what an expired or revoked token gets. So an empty
/// 403 (like a 401) drops the token and re-issues the request once; if the
/// new token is refused too (a wrong partner code, say), the call ends with
/// `Forbidden`, "authentication failed". Without this, a token the server
/// revoked early would be refused until the client's clock says it expired.
fn token_refused(response: &http::Response<Vec<u8>>) -> bool {
    let status = response.status();
    status == http::StatusCode::UNAUTHORIZED
        || (status == http::StatusCode::FORBIDDEN && response.body().iter().all(u8::is_ascii_whitespace))
}
