//! Building responses: the statuses, headers and JSON body templates a
//! fuzzed response is made of.

use super::input::Bytes;

/// The statuses byte 0 picks from: every class, the documented ones, edges.
pub const STATUSES: [u16; 33] = [
    200, 201, 202, 204, 206, 299, 100, 199, 300, 301, 302, 303, 304, 307, 308, 399, 400, 401, 403, 404, 405,
    408, 409, 415, 422, 429, 499, 500, 502, 503, 504, 505, 599,
];

/// The content types bits 0-2 of the flags byte pick from.
pub const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/json;charset=UTF-8"),
    Some("text/html; charset=utf-8"),
    Some("application/xml"),
    Some("text/plain"),
    Some("application/problem+json"),
    Some("bogus/\u{7e}type; q=\"x"),
];

/// The `Retry-After` values bits 4-5 of the flags byte pick from.
pub const RETRY_AFTERS: [&str; 4] = [
    "120",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "-1",
    "99999999999999999999999999",
];

/// Flags-byte bits 0-2: a JSON content type.
pub const JSON: u8 = 0x01;
/// Flags-byte bits 0-2: an HTML content type.
pub const HTML: u8 = 0x03;
/// Flags-byte bits 0-2: an XML content type.
pub const XML: u8 = 0x04;
/// Flags-byte bit 3: a `Retry-After` header (bits 4-5 pick its value).
pub const RETRY_AFTER: u8 = 0x08;
/// Flags-byte bit 6: a `Location` header.
pub const LOCATION: u8 = 0x40;
/// The variant bit of a parse input's flags byte.
pub const VARIANT: u8 = 0x80;

/// The body-kind byte of an operation's response from which on it picks a
/// [`Template`] (`kind - TEMPLATE_KIND`, modulo their number) rather than
/// reading a raw body.
pub const TEMPLATE_KIND: u8 = 0x80;

/// JSON bodies for operation responses: in [`Template::text`], `S` is a
/// fuzzed string, `N` a fuzzed number (as a number, a numeric string,
/// negative, huge, `null`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Template {
    /// An OAuth token with a lifetime.
    Bearer,
    /// An OAuth token with a refresh token (Keycloak, ITC).
    BearerWithRefresh,
    /// An OAuth error.
    OAuthError,
    /// The GIS MT / True API `auth/key` challenge.
    CrptChallenge,
    /// MDLP's `auth` answer.
    MdlpCode,
    /// MDLP's `token` answer, `life_time` in minutes.
    MdlpToken,
    /// The GIS MT / True API sign-in answer.
    CrptToken,
    /// SUZ registration accepted.
    SuzRegistered,
    /// SUZ registration rejected.
    SuzRejected,
    /// Astana-plat's login answer.
    AstanaToken,
    /// Astana-plat's status and message.
    AstanaStatus,
    /// A bare `access_token` (MonPay without an expiry).
    AccessTokenOnly,
    /// The CRPT error shape.
    CrptError,
    /// GAM's processing error.
    GamError,
    /// A token whose `scope` is fuzzed too.
    ScopedToken,
    /// No body at all.
    Empty,
    /// A GAM business-call envelope.
    GamEnvelope,
    /// An ITC `get_profile` / `approve_qr` reply.
    ItcReply,
}

impl Template {
    /// Every template, in the order of their body-kind bytes.
    pub const ALL: [Template; 18] = [
        Template::Bearer,
        Template::BearerWithRefresh,
        Template::OAuthError,
        Template::CrptChallenge,
        Template::MdlpCode,
        Template::MdlpToken,
        Template::CrptToken,
        Template::SuzRegistered,
        Template::SuzRejected,
        Template::AstanaToken,
        Template::AstanaStatus,
        Template::AccessTokenOnly,
        Template::CrptError,
        Template::GamError,
        Template::ScopedToken,
        Template::Empty,
        Template::GamEnvelope,
        Template::ItcReply,
    ];

    /// The body, with its holes.
    pub fn text(self) -> &'static str {
        match self {
            Template::Bearer => r#"{"access_token":S,"expires_in":N,"token_type":"Bearer"}"#,
            Template::BearerWithRefresh => {
                r#"{"access_token":S,"expires_in":N,"refresh_token":S,"refresh_expires_in":N,"token_type":"bearer"}"#
            }
            Template::OAuthError => r#"{"error":S,"error_description":S}"#,
            Template::CrptChallenge => r#"{"uuid":S,"data":S}"#,
            Template::MdlpCode => r#"{"code":S}"#,
            Template::MdlpToken => r#"{"token":S,"life_time":N}"#,
            Template::CrptToken => r#"{"token":S}"#,
            Template::SuzRegistered => r#"{"status":"SUCCESS","omsConnection":S}"#,
            Template::SuzRejected => r#"{"status":"REJECTED","rejectionReason":S}"#,
            Template::AstanaToken => {
                r#"{"statusCode":200,"message":"Access token created","data":{"token":S}}"#
            }
            Template::AstanaStatus => r#"{"statusCode":N,"message":S}"#,
            Template::AccessTokenOnly => r#"{"access_token":S}"#,
            Template::CrptError => r#"{"code":S,"error_message":S,"description":S}"#,
            Template::GamError => r#"{"status":N,"message":S,"error_code":S}"#,
            Template::ScopedToken => r#"{"access_token":S,"expires_in":N,"scope":S,"refresh_token":null}"#,
            Template::Empty => "",
            Template::GamEnvelope => r#"{"status":S,"message":S,"timestamp":S,"data":{"id":N}}"#,
            Template::ItcReply => r#"{"code":S,"status":N,"msg":S,"loginName":S,"email":S}"#,
        }
    }

    /// The template a body-kind byte at or above [`TEMPLATE_KIND`] picks.
    pub fn from_kind(kind: u8) -> Template {
        Template::ALL[usize::from(kind - TEMPLATE_KIND) % Template::ALL.len()]
    }

    /// The body-kind byte that picks this template.
    pub fn kind(self) -> u8 {
        TEMPLATE_KIND + self as u8
    }
}

pub(super) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The response that a status byte, a flags byte and a body stand for.
pub fn build_response(status: u8, flags: u8, body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(STATUSES[usize::from(status) % STATUSES.len()]);
    if let Some(ct) = CONTENT_TYPES[usize::from(flags & 7)] {
        builder = builder.header("content-type", ct);
    }
    if flags & RETRY_AFTER != 0 {
        builder = builder.header("retry-after", RETRY_AFTERS[usize::from((flags >> 4) & 3)]);
    }
    if flags & LOCATION != 0 {
        builder = builder.header("location", "https://user:pw@evil.example/cb?code=x#frag");
    }
    builder.body(body).expect("statuses and headers are valid")
}

/// The response of a parse target: byte 0 status, byte 1 flags, then the body.
pub(super) fn parse_input(data: &[u8]) -> (http::Response<Vec<u8>>, bool) {
    let mut b = Bytes::new(data);
    let status = b.byte();
    let flags = b.byte();
    (
        build_response(status, flags, b.rest().to_vec()),
        flags & VARIANT != 0,
    )
}

/// Encodes a parse-target input (the inverse of `parse_input`), for seeds.
pub fn encode_parse(status: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![status_index(status), flags];
    out.extend_from_slice(body);
    out
}

/// The status byte that stands for `status`.
pub(super) fn status_index(status: u16) -> u8 {
    let index = STATUSES
        .iter()
        .position(|s| *s == status)
        .expect("status in STATUSES");
    u8::try_from(index).expect("fewer than 256 statuses")
}

/// A documented-looking 200 answer, for driving a flow to the step under test.
pub(super) fn ok_json(body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .expect("valid response")
}
