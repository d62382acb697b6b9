//! The one response classifier every flow goes through.
//!
//! It answers, once for all flows, the interop problems that OAuth clients
//! keep rediscovering:
//! 1. the size bound is checked before anything is parsed;
//! 2. 3xx is refused (a followed redirect replays credentials), and the
//!    target is shown as scheme, host and path only;
//! 3. JSON is recognised whatever the `Content-Type` says, and refused when
//!    any object in it repeats a key;
//! 4. error bodies are recognised at any status, 200 included, in every shape
//!    the providers and the field use (RFC 6749, `error_message`/`code`/`description`,
//!    Spring, SUZ `globalErrors` and `fieldErrors` with their `errorCode`s,
//!    `violations`, RFC 9457 problem details and `{"detail": …}`, Astana-plat
//!    `statusCode`, GAM `error_code`, MonPay `info`, plain text, an HTML page's title);
//! 5. a success is what the flow documents ([`Accept`]): its status, and no
//!    failure verdict next to the token;
//! 6. numbers may arrive as strings, unknown fields are ignored;
//! 7. every server text an error keeps passes through the
//!    [scrubber](crate::scrub) first, with every secret the request carried
//!    and every token the body holds.
//!
//! The body is parsed in a single pass into a [`Body`]: the [`ErrorFields`]
//! every answer is read for, and the fields the flow declared for its own
//! success with [`fields!`] (next to the flow: `TokenFields` in `oauth2`, the
//! CRPT answers in `crpt`, …), so a new provider adds its fields without
//! touching this module. The flat reader in [`flat`] reads it when the body
//! is a flat object (every token answer), serde_json otherwise, through the
//! same slots and with the same result. Each field is a [`FieldValue`], which
//! never fails to deserialize: a field of the wrong type is reported by the
//! step that needs it, with its name and what was expected, and never with
//! the value (which, in a 2xx body, may be a token).

use std::borrow::Cow;

use http::{header, StatusCode};
use serde::Deserialize;

use crate::error::{Error, ProtocolError, ServerError, ServerErrorKind, MAX_MESSAGE_CHARS};
use crate::flow::{has_edge_space, is_header_safe};
use crate::scrub::{printable, Scrubber};

mod field_value;
mod fields;
mod flat;
mod retry_after;

pub(crate) use field_value::FieldValue;
use field_value::{ObjectOnly, UniqueKeys};
pub(crate) use fields::{fields, key_index, shared_keys, Body, Fields, NoFields};
pub(crate) use retry_after::parse_retry_after;

/// The largest response body any flow parses, in bytes. Larger bodies are
/// refused with [`ProtocolError::BodyTooLarge`]; transports may cap their
/// reads at this size (plus one byte, to detect the excess).
pub const MAX_BODY: usize = 64 * 1024;

/// The longest server error code kept, in characters.
const MAX_CODE_CHARS: usize = 100;

/// What a token must be, as a protocol error names it.
pub(crate) const TOKEN_IN_A_HEADER: &str =
    "a token without control characters or spaces at either end (it goes back in a header)";

fields! {
    /// The fields every answer is read for, whatever the flow: the error
    /// shapes of every provider family, and the token fields any answer may
    /// carry (a refusal that also holds a token, or quotes it, shows neither).
    pub(crate) struct ErrorFields {
        // Tokens: OAuth2, CRPT, Astana-plat's `data.token` (and CRPT's
        // challenge `data`, scrubbed like them).
        access_token,
        refresh_token,
        token,
        data,
        // RFC 6749, Keycloak, and the `error_message`/`code`/`description` family.
        error,
        error_description,
        error_message,
        error_code,
        code,
        description,
        message,
        /// ITC Easy Register's message field.
        msg,
        status,
        statusCode,
        success,
        // Spring and SUZ validation errors.
        globalErrors,
        fieldErrors,
        violations,
        /// RFC 9457 problem details, Django REST framework, FastAPI.
        detail,
        /// RFC 9457 problem details.
        title,
        /// MonPay's API refusals (`{"code", "intCode", "info"}`).
        info,
    }
    secrets: access_token, refresh_token, token, data;
}

/// What a flow accepts as a success: the statuses its provider documents,
/// and which of the body's own verdict fields are data instead (MDLP's
/// one-time `code`; ITC's answer `code` and `status` number). A verdict
/// that says failure next to a token makes the answer a refusal.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Accept {
    pub statuses: &'static [u16],
    pub code_is_data: bool,
    pub status_is_data: bool,
}

impl Accept {
    /// What every provider documents for its token answers and most API
    /// answers: 200, with `code` a verdict.
    pub(crate) const OK: Accept = Accept {
        statuses: &[200],
        code_is_data: false,
        status_is_data: false,
    };

    /// 200, where `code` is the answer itself (MDLP's one-time code).
    pub(crate) const OK_CODE_IS_DATA: Accept = Accept {
        code_is_data: true,
        ..Accept::OK
    };
}

/// The secrets a request carried, to scrub from what a refusal keeps.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Secrets<'a> {
    texts: &'a [&'a str],
    /// A signature's DER bytes (its base64, as sent, is among `texts`).
    bytes: &'a [u8],
}

impl<'a> Secrets<'a> {
    pub(crate) fn new(texts: &'a [&'a str]) -> Self {
        Secrets { texts, bytes: &[] }
    }

    pub(crate) fn with_bytes(self, bytes: &'a [u8]) -> Self {
        Secrets { bytes, ..self }
    }

    /// The secrets given as text.
    pub(crate) fn texts(&self) -> &'a [&'a str] {
        self.texts
    }

    fn scrubber(&self) -> Scrubber {
        let mut scrubber = Scrubber::new(self.texts.iter().copied());
        scrubber.add_bytes(self.bytes);
        scrubber
    }
}

/// A response that passed the size, redirect and syntax checks, with the
/// error fields and the flow's own fields `S` read.
pub(crate) struct Classified<'a, S> {
    pub status: StatusCode,
    pub body: Body<'a, S>,
    /// The flat reader read the body, so no string in it holds a control
    /// character, and tokens need only their ends looked at.
    header_safe_strings: bool,
    /// The response's headers, for `Retry-After` when the reply is a
    /// refusal (looked up then, not on every success).
    headers: &'a http::HeaderMap,
    /// Secrets the request carried, removed from any server text kept.
    secrets: Secrets<'a>,
    /// A refusal whose body is not JSON: its text, or an HTML page's title.
    text_body: Option<String>,
}

/// Classifies a response, reading the fields `S` of the flow's success.
/// `scrub` lists the secrets the request carried, so that a server echoing
/// one in its error message does not leak it.
pub(crate) fn classify<'a, S: Fields<'a>>(
    response: &'a http::Response<Vec<u8>>,
    scrub: &'a [&'a str],
) -> Result<Classified<'a, S>, Error> {
    classify_with(response, Secrets::new(scrub))
}

/// [`classify`] with secrets that include bytes.
pub(crate) fn classify_with<'a, S: Fields<'a>>(
    response: &'a http::Response<Vec<u8>>,
    secrets: Secrets<'a>,
) -> Result<Classified<'a, S>, Error> {
    let status = response.status();
    let bytes = checked_bytes(response, &secrets)?;
    let mut reply = Classified {
        status,
        body: Body::default(),
        header_safe_strings: false,
        headers: response.headers(),
        secrets,
        text_body: None,
    };
    // The body is read in place, not moved: it is a few dozen words.
    if flat::read_flat_body(bytes, &mut reply.body).is_some() {
        flat::check_against_serde(bytes, &reply.body);
        reply.header_safe_strings = true;
    } else {
        reply.body = match parse_object::<Body<'a, S>>(response, bytes, &secrets) {
            Ok(body) => body,
            Err(e) if status.is_success() => return Err(e),
            // A refusal that is not JSON (an nginx page on 502, XML on 401,
            // plain text, an empty 403): its text, or the status, says why.
            Err(_) => {
                reply.text_body = plain_text(bytes);
                Body::default()
            }
        };
    }
    Ok(reply)
}

/// The body of a response that passed the size and redirect checks, without
/// a UTF-8 byte-order mark.
fn checked_bytes<'r>(
    response: &'r http::Response<Vec<u8>>,
    secrets: &Secrets<'_>,
) -> Result<&'r [u8], Error> {
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
            .and_then(|v| shown_location(v.as_bytes(), &secrets.scrubber()));
        return Err(ProtocolError::Redirect { status, location }.into());
    }
    Ok(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// `bytes` as the JSON object `T`, no object in it repeating a key. Errors
/// name the status and never a value.
fn parse_object<'a, T: Deserialize<'a>>(
    response: &http::Response<Vec<u8>>,
    bytes: &'a [u8],
    secrets: &Secrets<'_>,
) -> Result<T, Error> {
    let status = response.status();
    serde_json::from_slice::<UniqueKeys>(bytes)
        .and_then(|_| serde_json::from_slice::<ObjectOnly<T>>(bytes))
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
                    content_type: content_type(response, secrets),
                }
            }
            .into()
        })
}

/// A 2xx body as the JSON object `T`, after the size and redirect checks
/// (for typed API answers; `T`'s fields should be [`FieldValue`]s or
/// containers that accept any JSON, so that no value reaches an error).
pub(crate) fn parse_success<'a, T: Deserialize<'a>>(
    response: &'a http::Response<Vec<u8>>,
    scrub: &[&str],
) -> Result<T, Error> {
    let secrets = Secrets::new(scrub);
    let bytes = checked_bytes(response, &secrets)?;
    parse_object(response, bytes, &secrets)
}

impl<'a, S: Fields<'a>> Classified<'a, S> {
    /// The body's success fields under [`Accept::OK`], what every token
    /// answer is held to.
    pub(crate) fn success(&self) -> Result<&S, Error> {
        self.accept(Accept::OK)
    }

    /// The body's success fields, or why it is none: the server's refusal
    /// for a non-2xx status or a body with a failure verdict, a protocol
    /// error for a 2xx the flow does not document.
    pub(crate) fn accept(&self, accept: Accept) -> Result<&S, Error> {
        if !self.status.is_success() || self.has_failure_marker(accept) {
            return Err(self.refusal().into());
        }
        if !accept.statuses.contains(&self.status.as_u16()) {
            return Err(ProtocolError::UnexpectedStatus { status: self.status }.into());
        }
        Ok(&self.body.fields)
    }

    /// Markers that make a body a failure even with a 2xx status.
    fn has_failure_marker(&self, accept: Accept) -> bool {
        let b = &self.body.errors;
        let present = |s: &Option<FieldValue<'_>>| s.as_ref().is_some_and(FieldValue::is_substantial);
        let at_least_400 = |s: &Option<FieldValue<'_>>| {
            s.as_ref()
                .and_then(FieldValue::non_negative)
                .is_some_and(|n| n >= 400)
        };
        present(&b.error)
            || present(&b.error_message)
            || present(&b.error_code)
            || present(&b.globalErrors)
            || present(&b.fieldErrors)
            || present(&b.violations)
            || b.success.as_ref().is_some_and(says_false)
            || at_least_400(&b.statusCode)
            || (!accept.status_is_data && at_least_400(&b.status))
            || (!accept.code_is_data && b.code.as_ref().is_some_and(|c| !says_success(c)))
    }

    /// Whether the body carries any error-like words at all (used when a
    /// required success field is missing: then the body is a refusal).
    fn has_error_words(&self) -> bool {
        self.has_error_words_besides("")
    }

    /// [`has_error_words`](Self::has_error_words), not counting `field`
    /// (the one a step found mistyped: MDLP's `{"code": 5}` alone is a
    /// mistyped code, `{"code": 5, "description": …}` a refusal).
    fn has_error_words_besides(&self, field: &str) -> bool {
        let b = &self.body.errors;
        // Envelopes that state a success code (Astana-plat's `statusCode:
        // 200`, `"message": "Access token created"`) carry a message on every
        // answer: there it is no error word.
        let says_ok = [&b.statusCode, &b.status]
            .iter()
            .filter_map(|s| s.as_ref().and_then(FieldValue::non_negative))
            .any(|n| (200..300).contains(&n));
        let lenient = Accept {
            statuses: &[],
            code_is_data: true,
            status_is_data: false,
        };
        let words = [
            ("code", &b.code),
            ("description", &b.description),
            ("message", &b.message),
            ("error_description", &b.error_description),
            ("detail", &b.detail),
            ("title", &b.title),
        ];
        self.has_failure_marker(lenient)
            || (!says_ok
                && words
                    .iter()
                    .filter(|(name, _)| *name != field)
                    .any(|(_, s)| s.as_ref().is_some_and(FieldValue::is_substantial)))
    }

    /// Every secret of this exchange: what the request carried and the
    /// tokens the body holds (a refusal that also carries a token, a
    /// message that quotes it).
    pub(crate) fn scrubber(&self) -> Scrubber {
        let mut scrubber = self.secrets.scrubber();
        let mut add = |text: &str| scrubber.add(text);
        self.body.errors.each_secret(&mut add);
        self.body.fields.each_secret(&mut add);
        scrubber
    }

    /// The server's own code and message, raw, from whatever error shape
    /// the body has.
    pub(crate) fn refusal_words(&self) -> (Option<Cow<'a, str>>, Option<Cow<'a, str>>) {
        let b = &self.body.errors;
        let substantial = |s: &&Option<FieldValue<'a>>| s.as_ref().is_some_and(FieldValue::is_substantial);
        // An object under `error` is one error (`{"error":{"code","message"}}`);
        // a list of errors gives its first entry's code.
        let code = [&b.error, &b.error_code, &b.code]
            .into_iter()
            .filter(substantial)
            .filter_map(|s| s.as_ref())
            .find_map(|s| match s {
                FieldValue::Object(_) | FieldValue::Array(_) => s.nested_code(),
                _ => s.text(),
            })
            .or_else(|| {
                [&b.globalErrors, &b.fieldErrors, &b.violations, &b.detail]
                    .into_iter()
                    .filter_map(|s| s.as_ref())
                    .find_map(FieldValue::nested_code)
            });
        let nested_error = match &b.error {
            error @ Some(FieldValue::Object(_) | FieldValue::Array(_)) => error,
            _ => &None,
        };
        let message = [
            &b.error_description,
            &b.error_message,
            &b.description,
            &b.message,
            &b.msg,
            &b.detail,
            &b.title,
            &b.globalErrors,
            &b.fieldErrors,
            &b.violations,
            nested_error,
            &b.info,
        ]
        .into_iter()
        .filter(substantial)
        .filter_map(|s| s.as_ref())
        .find_map(FieldValue::text)
        .or_else(|| self.text_body.clone().map(Cow::Owned));
        (code, message)
    }

    /// The server's refusal, built from whatever error shape the body has.
    pub(crate) fn refusal(&self) -> ServerError {
        let (code, message) = self.refusal_words();
        self.scrubbed_refusal(code, message)
    }

    /// A refusal with the server's `code` and `message`: the kind read from
    /// the code as sent, then both scrubbed (withheld alone or together,
    /// as `Display` joins them) and bounded.
    pub(crate) fn scrubbed_refusal(
        &self,
        code: Option<Cow<'_, str>>,
        message: Option<Cow<'_, str>>,
    ) -> ServerError {
        let mut err = ServerError::new(self.status, kind_of(self.status, code.as_deref()));
        let mut code = code.map(Cow::into_owned);
        let mut message = message.map(Cow::into_owned);
        self.scrubber().withhold_fields(&mut [&mut code, &mut message]);
        err.code = code.map(|c| shown(&c, MAX_CODE_CHARS));
        err.message = message.map(|m| shown(&m, MAX_MESSAGE_CHARS));
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

    /// A required non-empty string field. A field of another type in a body
    /// with error words is a refusal (MDLP's `{"code": 5, "description": …}`).
    pub(crate) fn required_str<'s>(
        &self,
        value: &'s Option<FieldValue<'a>>,
        field: &'static str,
    ) -> Result<&'s str, Error> {
        match value {
            None | Some(FieldValue::Null) => Err(self.missing(field)),
            Some(FieldValue::Str(s)) if !s.is_empty() => Ok(s),
            Some(FieldValue::Str(_)) => Err(self.missing(field)),
            Some(_) if self.has_error_words_besides(field) => Err(self.refusal().into()),
            Some(_) => Err(self.malformed(field, "a string")),
        }
    }

    /// A required token: a non-empty string that goes back in a header
    /// exactly as it is ([`is_header_safe`]), since every token is sent in one.
    pub(crate) fn required_token<'s>(
        &self,
        value: &'s Option<FieldValue<'a>>,
        field: &'static str,
    ) -> Result<&'s str, Error> {
        let token = self.required_str(value, field)?;
        // The flat reader gave up on every control character (C0, DEL, C1).
        let safe = if self.header_safe_strings {
            !has_edge_space(token)
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
        value: &'s Option<FieldValue<'a>>,
        field: &'static str,
    ) -> Result<Option<&'s str>, Error> {
        match value {
            None | Some(FieldValue::Null) => Ok(None),
            Some(FieldValue::Str(s)) if s.is_empty() => Ok(None),
            Some(FieldValue::Str(s)) => Ok(Some(s)),
            Some(_) => Err(self.malformed(field, "a string")),
        }
    }

    /// An optional non-negative count (number or numeric string); `null` is absent.
    pub(crate) fn optional_count(
        &self,
        value: &Option<FieldValue<'a>>,
        field: &'static str,
    ) -> Result<Option<u64>, Error> {
        match value {
            None | Some(FieldValue::Null) => Ok(None),
            Some(s) => s
                .non_negative()
                .map(Some)
                .ok_or_else(|| self.malformed(field, "a non-negative number or numeric string")),
        }
    }
}

/// A server's word as an error keeps it: control characters as spaces,
/// surrounding whitespace trimmed, at most `max_chars` characters.
fn shown(text: &str, max_chars: usize) -> String {
    printable(text, usize::MAX)
        .trim()
        .chars()
        .take(max_chars)
        .collect()
}

/// Whether a `success` field says the answer failed: `false`, `"false"`,
/// `0`, `"0"`, `"no"` (any case).
fn says_false(value: &FieldValue<'_>) -> bool {
    match value {
        FieldValue::Bool(b) => !b,
        FieldValue::UInt(0) => true,
        FieldValue::Str(s) => ["false", "0", "no"]
            .iter()
            .any(|f| s.trim().eq_ignore_ascii_case(f)),
        _ => false,
    }
}

/// Whether a `code` next to a success says success: `0`, 200 to 299,
/// `"success"`, `"ok"`, `true` (strings in any case); `null` is no code.
fn says_success(value: &FieldValue<'_>) -> bool {
    match value {
        FieldValue::Null | FieldValue::Bool(true) => true,
        FieldValue::UInt(n) => *n == 0 || (200..300).contains(n),
        FieldValue::Str(s) => {
            let s = s.trim();
            s.is_empty()
                || ["success", "ok", "true"]
                    .iter()
                    .any(|w| s.eq_ignore_ascii_case(w))
                || field_value::parse_non_negative(s).is_some_and(|n| n == 0 || (200..300).contains(&n))
        }
        _ => false,
    }
}

/// The kind an OAuth error code names (RFC 6749 §5.2 and its extensions),
/// if it is one: what sessions trust to end for good.
pub(crate) fn oauth_kind(code: &str) -> Option<ServerErrorKind> {
    match code.to_ascii_lowercase().as_str() {
        "invalid_grant" => Some(ServerErrorKind::InvalidGrant),
        "invalid_client" | "unauthorized_client" => Some(ServerErrorKind::InvalidClient),
        "invalid_request" => Some(ServerErrorKind::InvalidRequest),
        "invalid_scope" => Some(ServerErrorKind::InvalidScope),
        "unsupported_grant_type" => Some(ServerErrorKind::UnsupportedGrantType),
        "access_denied" => Some(ServerErrorKind::Forbidden),
        "server_error" | "temporarily_unavailable" => Some(ServerErrorKind::Unavailable),
        "slow_down" => Some(ServerErrorKind::RateLimited),
        _ => None,
    }
}

/// The kind of a refusal, from the status and the server's code.
fn kind_of(status: StatusCode, code: Option<&str>) -> ServerErrorKind {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ServerErrorKind::RateLimited;
    }
    code.and_then(oauth_kind).unwrap_or(match status.as_u16() {
        401 => ServerErrorKind::Unauthorized,
        403 => ServerErrorKind::Forbidden,
        404 => ServerErrorKind::NotFound,
        408 | 500..=599 => ServerErrorKind::Unavailable,
        _ => ServerErrorKind::Rejected,
    })
}

/// The `Content-Type` the server announced, scrubbed and bounded.
fn content_type(response: &http::Response<Vec<u8>>, secrets: &Secrets<'_>) -> Option<String> {
    response.headers().get(header::CONTENT_TYPE).map(|v| {
        secrets
            .scrubber()
            .shown(&String::from_utf8_lossy(v.as_bytes()), 100)
    })
}

/// A redirect target as scheme, host and path: never its user info, query
/// or fragment, whatever its form (absolute, scheme-relative `//user:pw@h`,
/// `\\h`, relative), then scrubbed and bounded. `None` when no URL parser
/// could read it.
fn shown_location(location: &[u8], scrubber: &Scrubber) -> Option<String> {
    let text = String::from_utf8_lossy(location);
    let text = text.trim();
    // Relative targets are resolved against a placeholder, then shown as a path.
    let placeholder = url::Url::parse("https://location.invalid/").ok()?;
    let url = placeholder.join(text).ok()?;
    let own_scheme = url::Url::parse(text).is_ok();
    let scheme_relative = ["//", "\\\\", "/\\", "\\/"].iter().any(|p| text.starts_with(p));
    let host = url.host_str().map(|host| match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    });
    let shown = match host {
        Some(host) if own_scheme => format!("{}://{host}{}", url.scheme(), url.path()),
        None if own_scheme => format!("{}:{}", url.scheme(), url.path()),
        Some(host) if scheme_relative => format!("//{host}{}", url.path()),
        _ => url.path().to_owned(),
    };
    Some(scrubber.shown(&shown, 200))
}

/// What a refusal's body that is not JSON says: plain text as it is
/// (trimmed), an HTML page's `<title>` (or first `<h1>`); nothing for
/// JSON that did not parse or markup without a title.
fn plain_text(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.as_bytes().first()? {
        b'{' | b'[' => None,
        b'<' => ["title", "h1"].iter().find_map(|tag| element_text(text, tag)),
        _ => Some(text.to_owned()),
    }
}

/// The text inside the first `<tag …>…</tag>` of a page, whitespace folded.
fn element_text(page: &str, tag: &str) -> Option<String> {
    // ASCII lower-casing keeps every byte offset.
    let lower = page.to_ascii_lowercase();
    let open = lower.find(&format!("<{tag}"))?;
    let start = open + lower.get(open..)?.find('>')? + 1;
    let end = start + lower.get(start..)?.find(&format!("</{tag}"))?;
    // HTML folds ASCII whitespace only.
    let inner: Vec<&str> = page.get(start..end)?.split_ascii_whitespace().collect();
    (!inner.is_empty()).then(|| inner.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let shown = |location: &str| shown_location(location.as_bytes(), &Scrubber::default());
        for (location, expected) in [
            ("https://u:p@evil.example/x?code=1#f", "https://evil.example/x"),
            ("https://evil.example/a@b?c", "https://evil.example/a@b"),
            ("/relative/path?code=1", "/relative/path"),
            ("https://u@h", "https://h/"),
            ("//user:tok@evil.example/cb?x=1", "//evil.example/cb"),
            ("\\\\user:tok@evil.example/cb", "//evil.example/cb"),
            (" //user:tok@evil.example:8443/cb#f", "//evil.example:8443/cb"),
            ("https://evil.example/c\tb\r\n?x", "https://evil.example/cb"),
            ("javascript:alert(1)", "javascript:alert(1)"),
        ] {
            assert_eq!(shown(location).as_deref(), Some(expected), "{location:?}");
        }
        let secret = Scrubber::new(["s3cr3t-Token"]);
        let withheld = shown_location(b"https://evil.example/cb/s3cr3t-Token", &secret);
        assert_eq!(withheld.as_deref(), Some(crate::WITHHELD));
        assert_eq!(shown("https://[::1"), None);
    }

    #[test]
    fn plain_text_and_pages_keep_their_words() {
        assert_eq!(plain_text(b"  Bad request\n").as_deref(), Some("Bad request"));
        assert_eq!(
            plain_text(b"<html><HEAD><Title>502  Bad\nGateway</title></head></html>").as_deref(),
            Some("502 Bad Gateway")
        );
        assert_eq!(
            plain_text(b"<html><body><h1>Denied</h1></body></html>").as_deref(),
            Some("Denied")
        );
        assert_eq!(plain_text(b"<?xml version=\"1.0\"?><error/>"), None);
        assert_eq!(plain_text(b"{\"broken\": "), None);
        assert_eq!(plain_text(b"   "), None);
    }

    fn refusal_of(status: u16, body: &str) -> ServerError {
        let response = http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap();
        classify::<NoFields<'_>>(&response, &[]).unwrap().refusal()
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
        // A repeated key makes the body unreadable: the status speaks.
        let body = r#"{"success":false,"fieldErrors":[{"message":"first","message":"second"}]}"#;
        assert_eq!(refusal_of(400, body).message, None);
        // A lower-ranked key after a higher one does not replace it.
        let body = r#"{"success":false,"violations":[{"description":"why","text":"t"}]}"#;
        assert_eq!(refusal_of(400, body).message.as_deref(), Some("why"));
    }

    #[test]
    fn negative_numbers_are_not_counts() {
        let response = http::Response::new(br#"{"expires_in":-5}"#.to_vec());
        let reply = classify::<crate::oauth2::TokenFields<'_>>(&response, &[]).unwrap();
        let expires_in = &reply.body.fields.expires_in;
        assert_eq!(expires_in.as_ref().and_then(FieldValue::non_negative), None);
        assert!(reply.optional_count(expires_in, "expires_in").is_err());
    }

    #[test]
    fn body_fields_stay_small() {
        // Every field a reader keeps is an `Option<FieldValue>`, read in place
        // but initialised and dropped on every answer.
        assert!(std::mem::size_of::<Option<FieldValue<'_>>>() <= 32);
    }

    #[test]
    fn numbers_saturate_and_refuse_negatives() {
        use field_value::parse_non_negative;
        assert_eq!(parse_non_negative("18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_non_negative("3600"), Some(3600));
        assert_eq!(parse_non_negative("3600.9"), Some(3600));
        assert_eq!(parse_non_negative("-5"), None);
        assert_eq!(parse_non_negative("1e400"), None);
        assert_eq!(parse_non_negative(""), None);
    }
}
