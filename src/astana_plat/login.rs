//! The login request and its documented refusals.

use serde::Serialize;

use crate::endpoint::Endpoint;
use crate::error::{Error, ServerError, ServerErrorKind};
use crate::flow::is_header_safe;
use crate::flow::{MediaType, Outgoing};
use crate::response::{classify, fields, FieldValue, TOKEN_IN_A_HEADER};
use crate::secret::{AccessToken, Password};
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::token_request::TokenRequest;
use crate::trace::Name;

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "authType")]
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

/// Login by login and password (`authType` 1).
pub fn login_password(url: &Endpoint, login: &str, password: Password) -> Result<TokenRequest, Error> {
    let body = Body {
        auth_type: 1,
        login: Some(login),
        password: Some(password.expose_secret()),
    };
    let request = post(url, &body)?;
    Ok(TokenRequest::new(
        Name::new("astana_plat", "login_password"),
        request,
        [password.into_exposed()],
        parse,
        refine,
    ))
}

/// Login by certificate (`authType` 2); the transport presents the TLS client
/// certificate.
pub fn login_certificate(url: &Endpoint) -> Result<TokenRequest, Error> {
    let body = Body {
        auth_type: 2,
        login: None,
        password: None,
    };
    Ok(TokenRequest::new(
        Name::new("astana_plat", "login_certificate"),
        post(url, &body)?,
        [],
        parse,
        refine,
    ))
}

/// The login request: `body` serialised once, as JSON.
fn post(url: &Endpoint, body: &Body<'_>) -> Result<Outgoing, Error> {
    // Serialising a struct of strings and an integer cannot fail.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Outgoing::post_json(url.url().clone(), bytes, MediaType::Json)
}

fields! {
    /// The login answer's token, under `data`.
    struct LoginAnswer {
        data,
    }
    secrets: data;
}

fn parse(response: &http::Response<Vec<u8>>, scrub: &[&str], sent_at: Timestamp) -> Result<TokenSet, Error> {
    let reply = classify::<LoginAnswer<'_>>(response, scrub)?;
    let body = reply.success()?;
    match &body.data {
        Some(FieldValue::Object(data)) => match (&data.token, data.token_not_string) {
            (Some(token), _) if !token.is_empty() => {
                if !is_header_safe(token) {
                    return Err(reply.malformed("data.token", TOKEN_IN_A_HEADER));
                }
                Ok(TokenSet::new(AccessToken::new(token.as_ref()), sent_at, None))
            }
            (Some(_), _) => Err(reply.malformed("data", "an object with a string `token`")),
            (None, true) => Err(reply.malformed("data.token", "a string")),
            (None, false) => Err(reply.missing("data.token")),
        },
        None | Some(FieldValue::Null) => Err(reply.missing("data.token")),
        Some(_) => Err(reply.malformed("data", "an object with a string `token`")),
    }
}

fn refine(refusal: &mut ServerError) {
    refusal.kind = match LoginError::of(refusal) {
        LoginError::IncorrectCredentials | LoginError::UserNotFound | LoginError::CertificateOutdated => {
            ServerErrorKind::InvalidGrant
        }
        // The CA's address is wrong on Astana-plat's side: retrying will not help.
        LoginError::CaEndpointNotFound => ServerErrorKind::Rejected,
        LoginError::CaFailed
        | LoginError::CaUnknownError
        | LoginError::CaIncorrectResponse
        | LoginError::ServerError => ServerErrorKind::Unavailable,
        LoginError::Other => return,
    };
}

/// The refusals Astana-plat documents, recognised by their message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum LoginError {
    /// 422 "Incorrect credentials": validation failed.
    IncorrectCredentials,
    /// 400 "User with given credentials not found".
    UserNotFound,
    /// 400 "Endpoint not found": the CA answered 404 (certificate mode).
    CaEndpointNotFound,
    /// 400 "Error. Try later": the CA answered 500.
    CaFailed,
    /// 400 "Unknown error. Try later": the CA answered something else.
    CaUnknownError,
    /// 400 "Incorrect response body. Try again.": the CA sent malformed data.
    CaIncorrectResponse,
    /// 400 "Certificate is outdated. Please get fresh one.": revoked or expired.
    CertificateOutdated,
    /// 500 "Error on server. try later".
    ServerError,
    /// Any other refusal.
    Other,
}

impl LoginError {
    /// The documented refusal a server error stands for, from its message
    /// (compared without case, surrounding spaces or a final period).
    pub fn of(refusal: &ServerError) -> LoginError {
        let Some(message) = refusal.message.as_deref() else {
            return LoginError::Other;
        };
        let normalized = message.trim().trim_end_matches('.').to_ascii_lowercase();
        match normalized.as_str() {
            "incorrect credentials" => LoginError::IncorrectCredentials,
            "user with given credentials not found" => LoginError::UserNotFound,
            "endpoint not found" => LoginError::CaEndpointNotFound,
            "error. try later" => LoginError::CaFailed,
            "unknown error. try later" => LoginError::CaUnknownError,
            "incorrect response body. try again" => LoginError::CaIncorrectResponse,
            "certificate is outdated. please get fresh one" => LoginError::CertificateOutdated,
            "error on server. try later" => LoginError::ServerError,
            _ => LoginError::Other,
        }
    }
}
