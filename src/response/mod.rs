//! The one response classifier every flow goes through.
//!
//! It answers, once for all flows, the interop problems that OAuth clients
//! keep rediscovering:
//! 1. the size bound is checked before anything is parsed;
//! 2. 3xx is refused (a followed redirect replays credentials);
//! 3. JSON is recognised whatever the `Content-Type` says;
//! 4. error bodies are recognised at any status, 200 included, in every shape
//!    the providers use (RFC 6749, `error_message`/`code`/`description`, Spring,
//!    SUZ `globalErrors`, `violations`, Astana-plat `statusCode`, GAM `error_code`);
//! 5. numbers may arrive as strings, unknown fields are ignored.
//!
//! The body is parsed in a single pass into [`Body`], the union of every field
//! any provider's auth endpoints use: by the reader in [`flat`] when it is a
//! flat object (every token answer), by serde_json otherwise, with the same
//! result either way. Each field is a [`Scalar`], which never
//! fails to deserialize: a field of the wrong type is reported by the step
//! that needs it, with its name and what was expected, and never with the
//! value (which, in a 2xx body, may be a token).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::{header, StatusCode};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{Error, ProtocolError, RetryAfter, ServerError, ServerErrorKind, MAX_MESSAGE_CHARS};
use crate::flow::{has_edge_space, is_header_safe};
use crate::time::Timestamp;

mod flat;

/// The largest response body any flow parses, in bytes. Larger bodies are
/// refused with [`ProtocolError::BodyTooLarge`]; transports may cap their
/// reads at this size (plus one byte, to detect the excess).
pub const MAX_BODY: usize = 64 * 1024;

/// What a token must be, as a protocol error names it.
pub(crate) const TOKEN_IN_A_HEADER: &str =
    "a token without control characters or spaces at either end (it goes back in a header)";

/// A JSON value as far as the classifier cares: scalars are kept (borrowed
/// from the body when possible), containers are skipped except for the few
/// nested fields providers use (`data.token`, an error list's first message).
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// An object: its `token` field and its first message-like field.
    Object(Box<Nested<'a>>),
    /// An array: its length and the first message found in its elements.
    Array(Box<Nested<'a>>),
}

/// What the classifier keeps of an object or an array. Boxed in [`Scalar`]:
/// success bodies rarely nest, and every field of [`Body`] stays 32 bytes
/// instead of 56, which halves what each move of a `Body` copies.
#[derive(Clone, PartialEq, Debug, Default)]
pub(crate) struct Nested<'a> {
    /// An array's length (0 for objects).
    pub len: usize,
    /// An object's `token` field, when it is a string.
    pub token: Option<Cow<'a, str>>,
    /// The `token` field is present but neither a string nor `null`.
    pub token_not_string: bool,
    /// The first message-like field (object) or element message (array).
    pub text: Option<Cow<'a, str>>,
}

impl<'a> Scalar<'a> {
    /// The value as text: strings as they are, numbers and booleans printed.
    pub(crate) fn text(&self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) => Some(s.clone()),
            Scalar::UInt(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Int(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Float(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Scalar::Object(nested) | Scalar::Array(nested) => nested.text.clone(),
            Scalar::Null => None,
        }
    }

    /// A string value, borrowed.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value says "something is here": not null, not false, not
    /// an empty string or container.
    fn is_substantial(&self) -> bool {
        match self {
            Scalar::Null | Scalar::Bool(false) => false,
            Scalar::Str(s) => !s.trim().is_empty(),
            Scalar::Array(nested) => nested.len > 0,
            _ => true,
        }
    }

    /// A non-negative whole number from a JSON number or a numeric string.
    /// Values beyond `u64` saturate; fractions are truncated.
    pub(crate) fn non_negative(&self) -> Option<u64> {
        match self {
            Scalar::UInt(n) => Some(*n),
            // `Int` holds only negatives: serde_json reads others as `UInt`.
            // `as` saturates for floats; JSON has no NaN or infinity.
            Scalar::Float(f) if *f >= 0.0 => Some(*f as u64),
            Scalar::Str(s) => parse_non_negative(s.trim()),
            _ => None,
        }
    }
}

fn parse_non_negative(s: &str) -> Option<u64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and overflow saturates.
        return Some(s.parse::<u64>().unwrap_or(u64::MAX));
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
        _ => None,
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

/// Keys whose value is taken as an object's or error list's message.
const MESSAGE_KEYS: [&str; 8] = [
    "message",
    "msg",
    "error_message",
    "errorMessage",
    "error_description",
    "description",
    "error",
    "text",
];

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Scalar::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut len = 0usize;
        let mut text = None;
        while let Some(item) = seq.next_element::<Scalar<'a>>()? {
            len += 1;
            if text.is_none() {
                text = item.text();
            }
        }
        Ok(Scalar::Array(Box::new(Nested {
            len,
            text,
            ..Nested::default()
        })))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        let mut token_not_string = false;
        let mut text: Option<(usize, Cow<'a, str>)> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let rank = MESSAGE_KEYS.iter().position(|k| *k == key);
            if key == "token" {
                let value = map.next_value::<Scalar<'a>>()?;
                token_not_string = !matches!(value, Scalar::Str(_) | Scalar::Null);
                token = value.as_str().map(|s| Cow::Owned(s.to_owned()));
            } else if let Some(rank) = rank {
                let value = map.next_value::<Scalar<'a>>()?;
                if text.as_ref().is_none_or(|(r, _)| rank < *r) {
                    if let Some(t) = value.text() {
                        text = Some((rank, t));
                    }
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Scalar::Object(Box::new(Nested {
            len: 0,
            token,
            token_not_string,
            text: text.map(|(_, t)| t),
        })))
    }
}

/// Every top-level field any provider's auth endpoints use. Unknown fields
/// are skipped without being stored.
#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default)]
#[allow(non_snake_case)]
pub(crate) struct Body<'a> {
    // OAuth2 / Keycloak token responses.
    #[serde(borrow)]
    pub access_token: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub token_type: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub expires_in: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub refresh_token: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub refresh_expires_in: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub scope: Option<Scalar<'a>>,
    // CRPT: `token`, MDLP `life_time` and `code`, challenge `uuid` + `data`,
    // registration `status`/`omsConnection`/`rejectionReason`; Astana `data.token`.
    #[serde(borrow)]
    pub token: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub life_time: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub uuid: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub data: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub omsConnection: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub rejectionReason: Option<Scalar<'a>>,
    // Error shapes.
    #[serde(borrow)]
    pub error: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub error_description: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub error_message: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub error_code: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub code: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub description: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub message: Option<Scalar<'a>>,
    /// ITC Easy Register's message field.
    #[serde(borrow)]
    pub msg: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub status: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub statusCode: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub success: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub globalErrors: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub fieldErrors: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub violations: Option<Scalar<'a>>,
}

/// Refuses a top-level value that is not an object (a derived struct would
/// also accept an array, filling fields by position).
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A response that passed the size, redirect and syntax checks.
pub(crate) struct Reply<'a> {
    pub status: StatusCode,
    pub body: Body<'a>,
    /// The flat reader read the body, so no string in it holds a control
    /// character or DEL, and tokens need no second look.
    header_safe_strings: bool,
    /// The response's headers, for `Retry-After` when the reply is a
    /// refusal (looked up then, not on every success).
    headers: &'a http::HeaderMap,
    /// Secrets the request carried, removed from any server message kept.
    scrub: &'a [&'a str],
}

/// Classifies a response. `scrub` lists the secrets the request carried, so
/// that a server echoing one in its error message does not leak it.
pub(crate) fn classify<'a>(
    response: &'a http::Response<Vec<u8>>,
    scrub: &'a [&'a str],
) -> Result<Reply<'a>, Error> {
    let status = response.status();
    let bytes = checked_bytes(response)?;
    let mut reply = Reply {
        status,
        body: Body::default(),
        header_safe_strings: false,
        headers: response.headers(),
        scrub,
    };
    // The body is read in place: a `Body` is two dozen fields, and each
    // move of one cost as much as reading a short answer.
    if flat::read_flat_body(bytes, &mut reply.body).is_some() {
        flat::check_against_serde(bytes, &reply.body);
        reply.header_safe_strings = true;
    } else {
        reply.body = match parse_object::<Body<'a>>(response, bytes) {
            Ok(body) => body,
            Err(e) if status.is_success() => return Err(e),
            // A refusal that is not JSON (an nginx page on 502, XML on 401,
            // an empty 403): the status is the message.
            Err(_) => Body::default(),
        };
    }
    Ok(reply)
}

/// The body of a response that passed the size and redirect checks, without
/// a UTF-8 byte-order mark.
fn checked_bytes(response: &http::Response<Vec<u8>>) -> Result<&[u8], Error> {
    let status = response.status();
    let bytes = response.body().as_slice();
    if bytes.len() > MAX_BODY {
        return Err(ProtocolError::BodyTooLarge {
            status,
            limit: MAX_BODY,
            len: bytes.len(),
        }
        .into());
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(strip_query);
        return Err(ProtocolError::Redirect { status, location }.into());
    }
    Ok(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// `bytes` as the JSON object `T`. Errors name the status and never a value.
fn parse_object<'a, T: Deserialize<'a>>(
    response: &http::Response<Vec<u8>>,
    bytes: &'a [u8],
) -> Result<T, Error> {
    let status = response.status();
    serde_json::from_slice::<ObjectOnly<T>>(bytes)
        .map(|ObjectOnly(body)| body)
        .map_err(|e| {
            if e.is_data() {
                ProtocolError::Malformed {
                    status,
                    field: "$".to_owned(),
                    expected: "a JSON object with unique keys",
                }
            } else {
                ProtocolError::NotJson {
                    status,
                    content_type: content_type(response),
                }
            }
            .into()
        })
}

/// A 2xx body as the JSON object `T`, after the size and redirect checks
/// (for typed API answers; `T`'s fields should be [`Scalar`]s or
/// containers that accept any JSON, so that no value reaches an error).
pub(crate) fn parse_success<'a, T: Deserialize<'a>>(
    response: &'a http::Response<Vec<u8>>,
) -> Result<T, Error> {
    let bytes = checked_bytes(response)?;
    parse_object(response, bytes)
}

impl<'a> Reply<'a> {
    /// The body's success fields, or the server's refusal: any non-2xx
    /// status, or a 2xx body with an explicit failure marker.
    pub(crate) fn success(&self) -> Result<&Body<'a>, Error> {
        if !self.status.is_success() || self.has_failure_marker() {
            return Err(self.refusal().into());
        }
        Ok(&self.body)
    }

    /// Markers that make a body a failure even with a 2xx status.
    fn has_failure_marker(&self) -> bool {
        let b = &self.body;
        let present = |s: &Option<Scalar<'_>>| s.as_ref().is_some_and(Scalar::is_substantial);
        let at_least_400 = |s: &Option<Scalar<'_>>| {
            s.as_ref()
                .and_then(Scalar::non_negative)
                .is_some_and(|n| n >= 400)
        };
        present(&b.error)
            || present(&b.error_message)
            || present(&b.error_code)
            || present(&b.globalErrors)
            || present(&b.fieldErrors)
            || present(&b.violations)
            || matches!(b.success, Some(Scalar::Bool(false)))
            || at_least_400(&b.statusCode)
            || at_least_400(&b.status)
    }

    /// Whether the body carries any error-like words at all (used when a
    /// required success field is missing: then the body is a refusal).
    fn has_error_words(&self) -> bool {
        let b = &self.body;
        // Envelopes that state a success code (Astana-plat's `statusCode:
        // 200`, `"message": "Access token created"`) carry a message on every
        // answer: there it is no error word.
        let says_success = [&b.statusCode, &b.status]
            .iter()
            .filter_map(|s| s.as_ref().and_then(Scalar::non_negative))
            .any(|n| (200..300).contains(&n));
        self.has_failure_marker()
            || (!says_success
                && [&b.code, &b.description, &b.message, &b.error_description]
                    .iter()
                    .any(|s| s.as_ref().is_some_and(Scalar::is_substantial)))
    }

    /// The server's refusal, built from whatever error shape the body has.
    pub(crate) fn refusal(&self) -> ServerError {
        let b = &self.body;
        let first_text = |fields: &[&Option<Scalar<'a>>]| {
            fields
                .iter()
                .filter_map(|s| s.as_ref())
                .filter(|s| s.is_substantial())
                .find_map(Scalar::text)
        };
        let code = first_text(&[&b.error, &b.error_code, &b.code]).map(|c| self.sanitize(&c, 100));
        let message = first_text(&[
            &b.error_description,
            &b.error_message,
            &b.description,
            &b.message,
            &b.msg,
            &b.globalErrors,
            &b.fieldErrors,
            &b.violations,
        ])
        .map(|m| self.sanitize(&m, MAX_MESSAGE_CHARS));
        let mut err = ServerError::new(self.status, kind_of(self.status, code.as_deref()));
        err.code = code;
        err.message = message;
        err.retry_after = self
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        err
    }

    /// The error for a required field that is absent: a refusal if the body
    /// has error words, otherwise a protocol error naming the field.
    pub(crate) fn missing(&self, field: &'static str) -> Error {
        if self.has_error_words() {
            self.refusal().into()
        } else {
            ProtocolError::MissingField {
                status: self.status,
                field,
            }
            .into()
        }
    }

    /// The error for a field of the wrong type or range.
    pub(crate) fn malformed(&self, field: &str, expected: &'static str) -> Error {
        ProtocolError::Malformed {
            status: self.status,
            field: field.to_owned(),
            expected,
        }
        .into()
    }

    /// A required non-empty string field.
    pub(crate) fn required_str<'s>(
        &self,
        value: &'s Option<Scalar<'a>>,
        field: &'static str,
    ) -> Result<&'s str, Error> {
        match value {
            None | Some(Scalar::Null) => Err(self.missing(field)),
            Some(Scalar::Str(s)) if !s.is_empty() => Ok(s),
            Some(Scalar::Str(_)) => Err(self.missing(field)),
            Some(_) => Err(self.malformed(field, "a string")),
        }
    }

    /// A required token: a non-empty string that goes back in a header
    /// exactly as it is ([`is_header_safe`]), since every token is sent in one.
    pub(crate) fn required_token<'s>(
        &self,
        value: &'s Option<Scalar<'a>>,
        field: &'static str,
    ) -> Result<&'s str, Error> {
        let token = self.required_str(value, field)?;
        // The flat reader refused C0 controls and DEL in every string.
        let safe = if self.header_safe_strings {
            !has_edge_space(token) && (token.is_ascii() || !token.chars().any(char::is_control))
        } else {
            is_header_safe(token)
        };
        if !safe {
            return Err(self.malformed(field, TOKEN_IN_A_HEADER));
        }
        Ok(token)
    }

    /// An optional string field; `null` and `""` count as absent.
    pub(crate) fn optional_str<'s>(
        &self,
        value: &'s Option<Scalar<'a>>,
        field: &'static str,
    ) -> Result<Option<&'s str>, Error> {
        match value {
            None | Some(Scalar::Null) => Ok(None),
            Some(Scalar::Str(s)) if s.is_empty() => Ok(None),
            Some(Scalar::Str(s)) => Ok(Some(s)),
            Some(_) => Err(self.malformed(field, "a string")),
        }
    }

    /// An optional non-negative count (number or numeric string); `null` is absent.
    pub(crate) fn optional_count(
        &self,
        value: &Option<Scalar<'a>>,
        field: &'static str,
    ) -> Result<Option<u64>, Error> {
        match value {
            None | Some(Scalar::Null) => Ok(None),
            Some(s) => s
                .non_negative()
                .map(Some)
                .ok_or_else(|| self.malformed(field, "a non-negative number or numeric string")),
        }
    }

    /// Bounds a server's text, removes control characters and replaces any
    /// secret the request carried (plainly or form-encoded) with `<redacted>`.
    /// Secrets are replaced before the text is cut, so that a secret
    /// straddling the bound cannot survive as a prefix.
    pub(crate) fn sanitize(&self, text: &str, max_chars: usize) -> String {
        // Control characters become spaces before the secrets are replaced:
        // replaced after, an echo with a tab or NUL for a space became the secret.
        let printable =
            |s: &str| -> String { s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect() };
        let mut full = printable(text);
        for secret in self.scrub.iter().filter(|s| s.len() >= 3) {
            full = full.replace(&printable(secret), "<redacted>");
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if encoded != *secret {
                full = full.replace(&encoded, "<redacted>");
                // The same with spaces as `%20`, as URL encoders other than forms write them.
                full = full.replace(&encoded.replace('+', "%20"), "<redacted>");
            }
        }
        full.chars().take(max_chars).collect()
    }
}

/// The kind of a refusal, from the status and the server's code.
fn kind_of(status: StatusCode, code: Option<&str>) -> ServerErrorKind {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ServerErrorKind::RateLimited;
    }
    let by_code = code.and_then(|c| match c.to_ascii_lowercase().as_str() {
        "invalid_grant" => Some(ServerErrorKind::InvalidGrant),
        "invalid_client" | "unauthorized_client" => Some(ServerErrorKind::InvalidClient),
        "invalid_request" => Some(ServerErrorKind::InvalidRequest),
        "invalid_scope" => Some(ServerErrorKind::InvalidScope),
        "unsupported_grant_type" => Some(ServerErrorKind::UnsupportedGrantType),
        "access_denied" => Some(ServerErrorKind::Forbidden),
        "server_error" | "temporarily_unavailable" => Some(ServerErrorKind::Unavailable),
        "slow_down" => Some(ServerErrorKind::RateLimited),
        _ => None,
    });
    by_code.unwrap_or(match status.as_u16() {
        401 => ServerErrorKind::Unauthorized,
        403 => ServerErrorKind::Forbidden,
        404 => ServerErrorKind::NotFound,
        408 | 500..=599 => ServerErrorKind::Unavailable,
        _ => ServerErrorKind::Rejected,
    })
}

fn content_type(response: &http::Response<Vec<u8>>) -> Option<String> {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(100).collect())
}

/// A redirect target without user info, query and fragment (any of which
/// may hold a credential or a code), bounded in length.
fn strip_query(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    let target = &location[..end];
    let authority = target.find("://").map(|i| i + 3).and_then(|start| {
        let len = target[start..].find('/').unwrap_or(target.len() - start);
        target[start..start + len]
            .rfind('@')
            .map(|at| (start, start + at + 1))
    });
    let shown = match authority {
        Some((start, after_user_info)) => format!("{}{}", &target[..start], &target[after_user_info..]),
        None => target.to_owned(),
    };
    shown.chars().take(200).collect()
}

/// `Retry-After` as delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    parse_imf_fixdate(value).map(RetryAfter::At)
}

fn parse_imf_fixdate(s: &str) -> Option<Timestamp> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = s.get(5..)?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: u64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some()
        || !(1970..=9999).contains(&year)
        || !(1..=31).contains(&day)
        || h > 23
        || m > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(Timestamp::from_unix_secs(days * 86_400 + h * 3600 + m * 60 + sec))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (year >= 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after("120"),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(784_111_777)))
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        // January, February and the last second of a leap day.
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(1_767_225_600)))
        );
        assert_eq!(
            parse_retry_after("Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(1_709_251_199)))
        );
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 24:00:00 GMT"), None);
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 23:60:00 GMT"), None);
        // Every field is checked on its own.
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 GMT later",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        // A leap second is a valid time.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:60 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(784_111_800)))
        );
    }

    #[test]
    fn refusal_kinds_follow_the_code_then_the_status() {
        let ok = StatusCode::OK;
        let cases = [
            ("invalid_grant", ServerErrorKind::InvalidGrant),
            ("INVALID_CLIENT", ServerErrorKind::InvalidClient),
            ("unauthorized_client", ServerErrorKind::InvalidClient),
            ("invalid_request", ServerErrorKind::InvalidRequest),
            ("invalid_scope", ServerErrorKind::InvalidScope),
            ("unsupported_grant_type", ServerErrorKind::UnsupportedGrantType),
            ("access_denied", ServerErrorKind::Forbidden),
            ("server_error", ServerErrorKind::Unavailable),
            ("temporarily_unavailable", ServerErrorKind::Unavailable),
            ("slow_down", ServerErrorKind::RateLimited),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of(ok, Some(code)), kind, "{code}");
        }
        let by_status = [
            (401, ServerErrorKind::Unauthorized),
            (403, ServerErrorKind::Forbidden),
            (404, ServerErrorKind::NotFound),
            (408, ServerErrorKind::Unavailable),
            (503, ServerErrorKind::Unavailable),
            (400, ServerErrorKind::Rejected),
        ];
        for (status, kind) in by_status {
            let status = StatusCode::from_u16(status).unwrap_or(ok);
            assert_eq!(kind_of(status, Some("something_else")), kind, "{status}");
        }
        assert_eq!(
            kind_of(StatusCode::TOO_MANY_REQUESTS, Some("invalid_grant")),
            ServerErrorKind::RateLimited
        );
    }

    #[test]
    fn redirect_targets_lose_user_info_query_and_fragment() {
        assert_eq!(
            strip_query("https://u:p@evil.example/x?code=1#f"),
            "https://evil.example/x"
        );
        assert_eq!(
            strip_query("https://evil.example/a@b?c"),
            "https://evil.example/a@b"
        );
        assert_eq!(strip_query("/relative/path?code=1"), "/relative/path");
        assert_eq!(strip_query("https://u@h"), "https://h");
    }

    fn refusal_of(status: u16, body: &str) -> ServerError {
        let response = http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap();
        classify(&response, &[]).unwrap().refusal()
    }

    #[test]
    fn nested_messages_follow_the_key_ranking_then_the_first_seen() {
        // `message` outranks `error`, in either order.
        for body in [
            r#"{"success":false,"globalErrors":[{"error":"E-17","message":"omsId unknown"}]}"#,
            r#"{"success":false,"globalErrors":[{"message":"omsId unknown","error":"E-17"}]}"#,
        ] {
            assert_eq!(
                refusal_of(400, body).message.as_deref(),
                Some("omsId unknown"),
                "{body}"
            );
        }
        // A repeated key: the first one counts.
        let body = r#"{"success":false,"fieldErrors":[{"message":"first","message":"second"}]}"#;
        assert_eq!(refusal_of(400, body).message.as_deref(), Some("first"));
        // A lower-ranked key after a higher one does not replace it.
        let body = r#"{"success":false,"violations":[{"description":"why","text":"t"}]}"#;
        assert_eq!(refusal_of(400, body).message.as_deref(), Some("why"));
    }

    #[test]
    fn negative_numbers_are_not_counts() {
        let response = http::Response::new(br#"{"expires_in":-5}"#.to_vec());
        let reply = classify(&response, &[]).unwrap();
        assert_eq!(
            reply.body.expires_in.as_ref().and_then(Scalar::non_negative),
            None
        );
        assert!(reply
            .optional_count(&reply.body.expires_in, "expires_in")
            .is_err());
    }

    #[test]
    fn body_fields_stay_small() {
        // Every field of `Body` is an `Option<Scalar>`; a `Body` is moved a
        // few times per response, so its size is paid per round trip.
        assert!(std::mem::size_of::<Option<Scalar<'_>>>() <= 32);
    }

    #[test]
    fn numbers_saturate_and_refuse_negatives() {
        assert_eq!(parse_non_negative("18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_non_negative("3600"), Some(3600));
        assert_eq!(parse_non_negative("3600.9"), Some(3600));
        assert_eq!(parse_non_negative("-5"), None);
        assert_eq!(parse_non_negative("1e400"), None);
        assert_eq!(parse_non_negative(""), None);
    }
}
