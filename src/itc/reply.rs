//! The answers of the Easy Register service: a consumer, or the
//! `{code, status, msg, loginName, email}` body of getProfile and approveQr.

use std::fmt;

use serde::Deserialize;

use crate::error::Error;
use crate::response::{classify, fields, parse_success, Accept, FieldValue};
use crate::scrub::ServerText;

/// A citizen found by registry number (`GET …api/info/consumer/{regNo}`).
///
/// Each field is the service's text as sent ([`ServerText`]: `as_str()`),
/// printed withheld if it echoes the token the call was made with.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Consumer {
    /// The registry number (`regNo`).
    pub reg_no: ServerText,
    /// The 11-character ebarimt login, the customer code (`loginName`).
    pub login_name: ServerText,
    /// Given name (`givenName`), when the service sent one.
    pub given_name: Option<ServerText>,
    /// Family name (`familyName`), when the service sent one.
    pub family_name: Option<ServerText>,
}

fields! {
    /// A consumer's record.
    struct ConsumerBody {
        regNo,
        loginName,
        givenName,
        familyName,
    }
}

impl Consumer {
    /// Reads the service's answer: `Ok(Some(_))` on 200, `Ok(None)` on a 404
    /// with an empty or JSON body (no such citizen: the guide's normal "not
    /// found"), the server's refusal otherwise (a 404 page from a proxy or a
    /// wrong service URL included).
    ///
    /// ```
    /// use tokendance::itc::Consumer;
    /// let found = http::Response::new(br#"{"regNo":"AA12345678","loginName":"12345678901",
    ///     "givenName":"Bat","familyName":"Dorj"}"#.to_vec());
    /// assert_eq!(Consumer::from_response(&found)?.map(|c| c.login_name.into_string()), Some("12345678901".to_owned()));
    /// let missing = http::Response::builder().status(404).body(Vec::new()).unwrap();
    /// assert_eq!(Consumer::from_response(&missing)?, None);
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Result<Option<Consumer>, Error> {
        Self::read(response, &[])
    }

    pub(crate) fn read(
        response: &http::Response<Vec<u8>>,
        scrub: &[&str],
    ) -> Result<Option<Consumer>, Error> {
        // The guide's "no such citizen". A 404 page from a proxy or a wrong
        // service URL (HTML, text) is a refusal instead, so that a
        // misconfiguration does not read as "not found".
        if response.status() == http::StatusCode::NOT_FOUND && !is_page(response) {
            return Ok(None);
        }
        let reply = classify::<ConsumerBody<'_>>(response, scrub)?;
        let body = reply.accept(Accept::OK)?;
        let scrubber = reply.scrubber();
        let text = |value: &str| ServerText::checked(value, &scrubber);
        Ok(Some(Consumer {
            reg_no: text(reply.required_str(&body.regNo, "regNo")?),
            login_name: text(reply.required_str(&body.loginName, "loginName")?),
            given_name: reply.optional_str(&body.givenName, "givenName")?.map(text),
            family_name: reply.optional_str(&body.familyName, "familyName")?.map(text),
        }))
    }
}

/// Whether a body is a page rather than empty or JSON.
fn is_page(response: &http::Response<Vec<u8>>) -> bool {
    let body = response.body();
    let start = body.iter().find(|b| !b.is_ascii_whitespace());
    // Not empty, and not an object: JSON bodies here are objects.
    start.is_some_and(|b| *b != b'{')
}

/// The `code` of a getProfile or approveQr answer, spelled as the guide
/// prints it (note `inValidQr`). Codes the guide does not list are kept in
/// [`Code::Other`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Code {
    /// `success`.
    Success,
    /// `userNotFound`: no user with that phone number or customer number.
    UserNotFound,
    /// `invalidToken`: the token was refused (the call renews it and retries once).
    InvalidToken,
    /// `emptyField`: a required field is empty.
    EmptyField,
    /// `emailNotFound`: the user has no e-mail address.
    EmailNotFound,
    /// `invalidData`: the data is invalid.
    InvalidData,
    /// `userDuplicate`: the user is registered more than once.
    UserDuplicate,
    /// `alreadyApproved`: the receipt was approved before.
    AlreadyApproved,
    /// `b2bNotAccepted`: a business-to-business receipt cannot be approved for a citizen.
    B2bNotAccepted,
    /// `inValidQr`: the QR data is not a valid receipt.
    InvalidQr,
    /// A code the guide does not list, as the server sent it.
    Other(ServerText),
}

impl Code {
    const KNOWN: [(Code, &'static str); 10] = [
        (Code::Success, "success"),
        (Code::UserNotFound, "userNotFound"),
        (Code::InvalidToken, "invalidToken"),
        (Code::EmptyField, "emptyField"),
        (Code::EmailNotFound, "emailNotFound"),
        (Code::InvalidData, "invalidData"),
        (Code::UserDuplicate, "userDuplicate"),
        (Code::AlreadyApproved, "alreadyApproved"),
        (Code::B2bNotAccepted, "b2bNotAccepted"),
        (Code::InvalidQr, "inValidQr"),
    ];

    /// The code as the server spells it.
    ///
    /// ```
    /// use tokendance::itc::Code;
    /// assert_eq!(Code::parse("inValidQr"), Code::InvalidQr);
    /// assert_eq!(Code::InvalidQr.as_str(), "inValidQr");
    /// assert_eq!(Code::parse("quotaExceeded"), Code::Other("quotaExceeded".into()));
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Code::Other(code) => code,
            known => Self::KNOWN
                .iter()
                .find(|(code, _)| code == known)
                .map_or("", |(_, text)| text),
        }
    }

    /// The code for the server's text: exactly as the guide spells it, or
    /// [`Code::Other`].
    pub fn parse(text: &str) -> Code {
        Self::known(text).unwrap_or_else(|| Code::Other(ServerText::from(text)))
    }

    fn known(text: &str) -> Option<Code> {
        Self::KNOWN
            .iter()
            .find(|(_, known)| *known == text)
            .map(|(code, _)| code.clone())
    }
}

/// The code as the server spells it; an unknown code prints as its
/// [`ServerText`] does (withheld if it echoes the token).
impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Other(text) => fmt::Display::fmt(text, f),
            known => f.write_str(known.as_str()),
        }
    }
}

/// The answer of getProfile or approveQr: HTTP 200 whether or not the
/// service did what was asked; read [`code`](Self::code).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Reply {
    /// What happened (`code`).
    pub code: Code,
    /// The body's own `status` (100 field value wrong, 201 data missing or
    /// wrong, 200 success, 401 unauthorized, 500 erroneous data), distinct
    /// from the HTTP status.
    pub status: Option<u64>,
    /// The server's words (`msg`, Mongolian), as sent; printed withheld if
    /// they echo the token the call was made with.
    pub msg: Option<ServerText>,
    /// The customer's ebarimt login (`loginName`).
    pub login_name: Option<ServerText>,
    /// The customer's e-mail address (`email`).
    pub email: Option<ServerText>,
}

fields! {
    /// An answer: its `code` and `status` (data here, not verdicts), its
    /// message, and what a profile call adds.
    struct ReplyBody {
        code,
        status,
        msg,
        loginName,
        email,
    }
}

impl Reply {
    /// Whether the service did what was asked (`code` is `success`).
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Reads a getProfile or approveQr answer: the typed body on 2xx, the
    /// server's refusal otherwise.
    ///
    /// ```
    /// use tokendance::itc::{Code, Reply};
    /// let answer = http::Response::new(
    ///     r#"{"code":"alreadyApproved","status":201,"msg":"Баримт баталгаажсан"}"#.as_bytes().to_vec());
    /// let reply = Reply::from_response(&answer)?;
    /// assert_eq!((reply.code, reply.status), (Code::AlreadyApproved, Some(201)));
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Result<Reply, Error> {
        Self::read(response, &[])
    }

    pub(crate) fn read(response: &http::Response<Vec<u8>>, scrub: &[&str]) -> Result<Reply, Error> {
        let reply = classify::<ReplyBody<'_>>(response, scrub)?;
        // `code` and `status` are the answer itself here (`userNotFound`,
        // 201), not verdicts.
        let body = reply.accept(Accept {
            code_is_data: true,
            status_is_data: true,
            ..Accept::OK
        })?;
        let scrubber = reply.scrubber();
        let text = |value: &str| ServerText::checked(value, &scrubber);
        let code = match &body.code {
            Some(FieldValue::Str(code)) if !code.is_empty() => {
                Code::known(code).unwrap_or_else(|| Code::Other(text(code)))
            }
            None | Some(FieldValue::Null) | Some(FieldValue::Str(_)) => return Err(reply.missing("code")),
            Some(_) => return Err(reply.malformed("code", "a string")),
        };
        Ok(Reply {
            code,
            status: reply.optional_count(&body.status, "status")?,
            msg: reply.optional_str(&body.msg, "msg")?.map(text),
            login_name: reply.optional_str(&body.loginName, "loginName")?.map(text),
            email: reply.optional_str(&body.email, "email")?.map(text),
        })
    }

    /// Whether an answer says the token was refused: HTTP 401, or a 2xx body
    /// with `code` `invalidToken`.
    pub(crate) fn token_refused(response: &http::Response<Vec<u8>>) -> bool {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct CodeOnly<'a> {
            #[serde(borrow)]
            code: Option<FieldValue<'a>>,
        }
        response.status() == http::StatusCode::UNAUTHORIZED
            || (response.status().is_success()
                && parse_success::<CodeOnly<'_>>(response, &[])
                    .is_ok_and(|b| b.code.as_ref().and_then(FieldValue::as_str) == Some("invalidToken")))
    }
}
