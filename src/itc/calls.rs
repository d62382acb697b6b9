//! The Easy Register business calls, each an [`Authorized`] flow with a
//! typed answer: consumer by registry number, getProfile, approveQr.

use serde::Serialize;

use crate::call::{Authorized, Scheme, TokenSource};
use crate::error::{Error, UsageError};
use crate::flow::{MediaType, Outgoing};
use crate::response::Secrets;

use super::reply::{Consumer, Reply};
use super::Config;

/// Looks up a citizen by registry number: `GET {service}api/info/consumer/{regNo}`,
/// `regNo` percent-encoded as one path segment. The call produces
/// `Some(consumer)`, or `None` when the service answers 404.
///
/// ```
/// use tokendance::{itc, AccessToken, Action, Flow, Input, Timestamp, TokenSet};
///
/// let now = Timestamp::from_unix_secs(1_000);
/// let token = TokenSet::new(AccessToken::new("eyJ..."), now, None);
/// let mut call = itc::consumer(&itc::Config::staging(), "АА12345678", token)?;
/// let Action::Send(request) = call.start(now)? else { unreachable!() };
/// assert_eq!(request.as_http().uri().path(),
///     "/api/easy-register/api/info/consumer/%D0%90%D0%9012345678");
/// let not_found = http::Response::builder().status(404).body(Vec::new()).unwrap();
/// assert!(matches!(call.resume(now, Input::Response(not_found))?, Action::Done(None)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn consumer<S: TokenSource>(
    config: &Config,
    reg_no: &str,
    tokens: S,
) -> Result<Authorized<S, Option<Consumer>>, Error> {
    let url = config.service().join(&["api", "info", "consumer", reg_no])?;
    let request = Outgoing::get(url)?.into_http();
    Ok(call(tokens, request, |response, secrets| {
        Consumer::read(&response, secrets.texts())
    }))
}

/// Whom getProfile looks up: exactly one of a phone number or a customer number.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProfileQuery {
    /// By phone number (`phoneNum`).
    Phone(String),
    /// By customer number (`customerNo`).
    CustomerNo(String),
}

impl ProfileQuery {
    /// The query from two optional fields, as a form would give them: exactly
    /// one must be present and non-blank; surrounding spaces are removed.
    ///
    /// ```
    /// use tokendance::itc::ProfileQuery;
    /// assert_eq!(ProfileQuery::from_fields(Some("99112233"), None)?, ProfileQuery::Phone("99112233".into()));
    /// assert!(ProfileQuery::from_fields(None, None).is_err());
    /// assert!(ProfileQuery::from_fields(Some("99112233"), Some("12345678901")).is_err());
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn from_fields(phone_num: Option<&str>, customer_no: Option<&str>) -> Result<Self, Error> {
        let phone_num = phone_num.map(str::trim).filter(|v| !v.is_empty());
        let customer_no = customer_no.map(str::trim).filter(|v| !v.is_empty());
        match (phone_num, customer_no) {
            (Some(phone), None) => Ok(ProfileQuery::Phone(phone.to_owned())),
            (None, Some(customer)) => Ok(ProfileQuery::CustomerNo(customer.to_owned())),
            (None, None) => Err(invalid("getProfile needs a phone number or a customer number")),
            (Some(_), Some(_)) => Err(invalid(
                "getProfile takes a phone number or a customer number, not both",
            )),
        }
    }
}

fn invalid(reason: &'static str) -> Error {
    Error::Usage(UsageError::InvalidConfig { reason })
}

/// Reads a customer's profile: `POST {service}rest/v1/getProfile` with the
/// JSON body `{"phoneNum": …}` or `{"customerNo": …}`. The call produces the
/// typed [`Reply`]; read its `code`.
///
/// ```
/// use tokendance::{itc, AccessToken, Action, Flow, Input, Timestamp, TokenSet};
///
/// let now = Timestamp::from_unix_secs(1_000);
/// let token = TokenSet::new(AccessToken::new("eyJ..."), now, None);
/// let query = itc::ProfileQuery::Phone("99112233".into());
/// let mut call = itc::get_profile(&itc::Config::staging(), &query, token)?;
/// let Action::Send(request) = call.start(now)? else { unreachable!() };
/// assert_eq!(request.as_http().body(), br#"{"phoneNum":"99112233"}"#);
/// let answer = http::Response::new(
///     br#"{"code":"success","status":200,"loginName":"12345678901","email":"bat@example.mn"}"#.to_vec());
/// let Action::Done(reply) = call.resume(now, Input::Response(answer))? else { unreachable!() };
/// assert!(reply.is_success());
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn get_profile<S: TokenSource>(
    config: &Config,
    query: &ProfileQuery,
    tokens: S,
) -> Result<Authorized<S, Reply>, Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        phone_num: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_no: Option<&'a str>,
    }
    let body = match query {
        ProfileQuery::Phone(phone) if !phone.trim().is_empty() => Body {
            phone_num: Some(phone),
            customer_no: None,
        },
        ProfileQuery::CustomerNo(customer) if !customer.trim().is_empty() => Body {
            phone_num: None,
            customer_no: Some(customer),
        },
        _ => {
            return Err(invalid(
                "getProfile needs a non-empty phone number or customer number",
            ))
        }
    };
    post(config, "getProfile", &body, tokens)
}

/// Approves a receipt into a customer's ebarimt account: `POST
/// {service}rest/v1/approveQr` with the JSON body `{"customerNo", "qrData"}`
/// (`qrData` is the receipt's QR payload). The call produces the typed
/// [`Reply`] (`success`, `alreadyApproved`, `inValidQr`, ...).
pub fn approve_qr<S: TokenSource>(
    config: &Config,
    customer_no: &str,
    qr_data: &str,
    tokens: S,
) -> Result<Authorized<S, Reply>, Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        customer_no: &'a str,
        qr_data: &'a str,
    }
    if customer_no.trim().is_empty() || qr_data.trim().is_empty() {
        return Err(invalid("approveQr needs a customer number and the QR data"));
    }
    post(config, "approveQr", &Body { customer_no, qr_data }, tokens)
}

/// `POST {service}rest/v1/{name}` with a JSON body, answered by a [`Reply`].
fn post<S: TokenSource>(
    config: &Config,
    name: &str,
    body: &impl Serialize,
    tokens: S,
) -> Result<Authorized<S, Reply>, Error> {
    let url = config.service().join(&["rest", "v1", name])?;
    // Structs of strings always serialise.
    let body = serde_json::to_vec(body).unwrap_or_default();
    let request = Outgoing::post_json(url, body, MediaType::Json)?.into_http();
    Ok(call(tokens, request, |response, secrets| {
        Reply::read(&response, secrets.texts())
    }))
}

/// An ITC call: Bearer token; 401 or a body `code` of `invalidToken` renews
/// the token and re-issues the request once.
fn call<S: TokenSource, T>(
    tokens: S,
    request: http::Request<Vec<u8>>,
    parse: fn(http::Response<Vec<u8>>, Secrets<'_>) -> Result<T, Error>,
) -> Authorized<S, T> {
    Authorized::with_parse(tokens, request, Scheme::Bearer, parse).refused_when(Reply::token_refused)
}
