//! Pure fakes of every provider, for your tests and ours (feature `fake`).
//!
//! Each fake is a plain value with a `handle(now, &request) -> response`
//! method: no sockets, no clock, no randomness. Time comes in as an argument,
//! so a token issued at `t` is refused at `t + lifetime` exactly as the real
//! service would, without waiting. Tokens are numbered, never random, so
//! transcripts are reproducible.
//!
//! The fakes behave as each provider's guide documents: correct credentials
//! succeed; wrong ones, expired refresh tokens, bad codes and missing fields
//! get the documented status and body. Where a guide is silent (GAM's token
//! errors) they answer in RFC 6749's shape and say so.
//!
//! | fake | provider | endpoint it serves |
//! |---|---|---|
//! | [`Keycloak`] | ITC Easy Register | `POST …/protocol/openid-connect/token` (password, refresh), and its [`EasyRegister`] service: `GET …/api/info/consumer/{regNo}`, `POST …/rest/v1/getProfile`, `POST …/rest/v1/approveQr` (Bearer tokens of the realm; 401, 403) |
//! | [`Gam`] | GAM Open API | `POST …/oauth2/v3/token` (client credentials); any other path is a business endpoint (Bearer + `X-Client-Source`, empty 403, the `{status, message, timestamp, data}` envelope) |
//! | [`MonPay`] | MonPay mini apps | `POST …/v2/oauth/token` (authorization code, merchant client credentials); `…/v2/api/oauth/invoice…` and `…/v2/api/oauth/userinfo` (Bearer; 401 `UNAUTHORIZED` and 401 `INSUFFICIENT_ACCESS`) |
//! | [`AstanaPlat`] | Astana-plat | `POST` to any path (login) |
//! | [`Crpt`] | CRPT: SUZ, GIS MT, True API, MDLP | registration, challenge and MDLP sign-ins; [`sign`] is its signer |
//! | [`Fakes`] | all of the above | routes by the first path segment (`/itc/…` to the realm and its service alike) |
//!
//! The resource servers check the tokens their own authorization server
//! issued, at the `now` of the call: expire them with
//! [`Keycloak::expire_access_tokens`] or [`Gam::expire_tokens`] to exercise
//! a caller's "401 → new token → retry once", and read what was answered
//! with [`EasyRegister::counts`], [`Keycloak::grants`] and [`Gam::counts`].
//!
//! ```
//! use tokendance::{drive, fake::{self, Fake}, gam, ClientSecret, Endpoint, Timestamp};
//!
//! let mut server = fake::Gam::new();
//! server.add_client("shop", "s3cret", &["orders:read"]);
//! let config = gam::Config::new(
//!     Endpoint::parse("https://iam.fake")?, Endpoint::parse("https://gateway.fake/oms")?);
//! let now = Timestamp::from_unix_secs(1_000);
//! let flow = gam::client_credentials(&config, "shop", ClientSecret::new("s3cret"), "orders:read")?;
//! let token = drive::drive(flow, || now,
//!     |req| Ok::<_, std::convert::Infallible>(server.handle(now, &req)),
//!     drive::no_signer, |_| {}).unwrap();
//! assert!(server.accepts(now, token.access_token()));
//! assert!(!server.accepts(Timestamp::from_unix_secs(1_000 + 3_600), token.access_token()));
//! # Ok::<(), tokendance::Error>(())
//! ```

mod astana_plat;
mod crpt;
mod easy_register;
mod gam;
mod itc;
mod monpay;

pub use astana_plat::{AstanaPlat, CertificateCase};
pub use crpt::{sign, sign_as, signed_content, Crpt, CrptFailure};
pub use easy_register::{
    Citizen, EasyRegister, ServiceCounts, ITC_B2B_QR_PREFIX, ITC_CYRILLIC_REG_NO, ITC_DEMO_QR_DATA,
    ITC_TEST_EMAIL, ITC_TEST_LOGIN_NAME, ITC_TEST_PHONE, ITC_TEST_REG_NO,
};
pub use gam::{Gam, GamCounts, DEMO_PARTNER_CODE, GAM_UNKNOWN_CUSTOMER};
pub use itc::{GrantCounts, Keycloak};
pub use monpay::{MonPay, MonPayCounts};

use std::collections::HashMap;
use std::fmt;

use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};

use crate::secret::AccessToken;
use crate::time::Timestamp;

/// A fake service: answers one request at the time the caller says.
pub trait Fake {
    /// The response the service would give to `request` at `now`.
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>>;
}

/// Every provider's fake behind one router, as the tour serves them.
///
/// The first path segment picks the fake: `/itc/…` goes to [`Keycloak`],
/// `/gam/…` to [`Gam`], `/monpay/…` to [`MonPay`], `/astana-plat/…` to
/// [`AstanaPlat`], `/crpt/…` to [`Crpt`]; anything else is a 404. Each fake comes with the test
/// accounts listed on its constructor ([`Fakes::new`]).
///
/// A fake then tells its endpoints apart by the end of the path, so an
/// authorization server and its resource server can share the prefix: with
/// `/itc/auth/realms/Staging` as the ITC realm and `/itc/api/easy-register/`
/// as the service, both reach [`Keycloak`], which checks the service's
/// Bearer tokens against those it issued; with `/gam` as GAM's authorization
/// server and `/gam/oms` as its resource server, both reach [`Gam`].
#[derive(Debug)]
pub struct Fakes {
    /// The ITC Easy Register realm and service (`Keycloak::itc_staging`:
    /// the guide's account and test citizen `AA12345678`).
    pub itc: Keycloak,
    /// GAM, with the client `tokendance-demo` / `demo-secret`, the scopes of
    /// the guide and the partner code [`DEMO_PARTNER_CODE`].
    pub gam: Gam,
    /// MonPay, with the client `tokendance-demo` / `demo-secret` and redirect `https://shop.example/back`.
    pub monpay: MonPay,
    /// Astana-plat, with the user `demo` / `demo-password` and a valid certificate.
    pub astana_plat: AstanaPlat,
    /// CRPT (`/crpt/…`): the demo registration key, the MDLP client
    /// `tokendance-demo` / `demo-secret` and the non-resident user
    /// [`DEMO_MDLP_EMAIL`] / `demo-password`.
    pub crpt: Crpt,
}

/// The demo client id of [`Fakes::new`] (GAM and MonPay).
pub const DEMO_CLIENT_ID: &str = "tokendance-demo";
/// The demo client secret of [`Fakes::new`] (GAM and MonPay).
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// The scope GAM's guide uses as its example, granted to the demo client.
pub const DEMO_GAM_SCOPE: &str = "iam:user-password:update gamp:erp.customer-reconciliation.write-direct";
/// The redirect URI registered for the MonPay demo client.
pub const DEMO_REDIRECT_URI: &str = "https://shop.example/back";
/// The Astana-plat demo login.
pub const DEMO_LOGIN: &str = "demo";
/// The Astana-plat and MDLP demo password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The MDLP non-resident demo user (a `PASSWORD` login).
pub const DEMO_MDLP_EMAIL: &str = "demo@example.org";

impl Fakes {
    /// Every fake with its demo accounts (see the field docs).
    pub fn new() -> Self {
        let mut gam = Gam::new();
        let scopes: Vec<&str> = DEMO_GAM_SCOPE.split(' ').collect();
        gam.add_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, &scopes);
        let mut astana_plat = AstanaPlat::new();
        astana_plat.add_user(DEMO_LOGIN, DEMO_PASSWORD);
        let mut crpt = Crpt::new();
        crpt.set_mdlp_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
        crpt.add_mdlp_user(DEMO_MDLP_EMAIL, DEMO_PASSWORD);
        Fakes {
            crpt,
            itc: Keycloak::itc_staging(),
            gam,
            monpay: MonPay::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI),
            astana_plat,
        }
    }
}

impl Default for Fakes {
    fn default() -> Self {
        Self::new()
    }
}

impl Fake for Fakes {
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let first = request.uri().path().trim_start_matches('/').split('/').next();
        match first {
            Some("itc") => self.itc.handle(now, request),
            Some("gam") => self.gam.handle(now, request),
            Some("monpay") => self.monpay.handle(now, request),
            Some("astana-plat") => self.astana_plat.handle(now, request),
            Some("crpt") => self.crpt.handle(now, request),
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/html",
                b"<html><body>404 Not Found</body></html>".to_vec(),
            ),
        }
    }
}

/// Numbers tokens so runs are reproducible: `{prefix}-{n}-{padding}`.
#[derive(Clone, Debug, Default)]
struct Mint {
    issued: u64,
}

impl Mint {
    fn number(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }

    fn next(&mut self, prefix: &str) -> String {
        format!("{prefix}-{:06}", self.number())
    }
}

/// Tokens a fake issued, with their expiry and whom they were issued to;
/// expired ones are dropped as time passes.
#[derive(Clone, Default)]
struct Issued {
    tokens: HashMap<String, Grant>,
}

/// One issued token.
#[derive(Clone)]
struct Grant {
    expires_at: Option<Timestamp>,
    /// The user or client the token was issued to ("" when nobody asks).
    owner: String,
}

impl Issued {
    fn insert(&mut self, token: String, expires_at: Option<Timestamp>) {
        self.insert_for(token, expires_at, "");
    }

    fn insert_for(&mut self, token: String, expires_at: Option<Timestamp>, owner: &str) {
        let owner = owner.to_owned();
        self.tokens.insert(token, Grant { expires_at, owner });
    }

    fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.owner(now, token.expose_secret()).is_some()
    }

    /// Whom `token` was issued to, if it is valid at `now`.
    fn owner(&self, now: Timestamp, token: &str) -> Option<&str> {
        self.tokens
            .get(token)
            .filter(|g| g.expires_at.is_none_or(|e| now < e))
            .map(|g| g.owner.as_str())
    }

    /// Revokes every token.
    fn clear(&mut self) {
        self.tokens.clear();
    }

    fn prune(&mut self, now: Timestamp) {
        self.tokens.retain(|_, g| g.expires_at.is_none_or(|e| now < e));
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tokens", self.tokens.len())
    }
}

/// The token of an `Authorization: Bearer {token}` header (scheme matched
/// without regard to case), if the request has one.
fn bearer_token(request: &http::Request<Vec<u8>>) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `now` as an RFC 3339 UTC date-time with milliseconds
/// (`2026-01-01T00:00:00.000Z`), as JSON APIs print their timestamps.
fn rfc3339(now: Timestamp) -> String {
    let ms = now.as_unix_millis();
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A response with a body and its content type.
fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    if !response.body().is_empty() || content_type.starts_with("application/json") {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

/// A JSON response.
fn json(status: StatusCode, value: &serde_json::Value) -> http::Response<Vec<u8>> {
    respond(status, "application/json", value.to_string().into_bytes())
}

/// An RFC 6749 §5.2 error response.
fn oauth_error(status: StatusCode, code: &str, description: &str) -> http::Response<Vec<u8>> {
    json(
        status,
        &serde_json::json!({ "error": code, "error_description": description }),
    )
}

/// The form fields of a `POST` with an `application/x-www-form-urlencoded`
/// body, or the `invalid_request` refusal a strict server gives to anything else.
// The error is the finished response, handed straight back once per request:
// boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
fn form_post(request: &http::Request<Vec<u8>>) -> Result<Form, http::Response<Vec<u8>>> {
    let refuse = |status, description| Err(oauth_error(status, "invalid_request", description));
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed");
    }
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the token endpoint takes application/x-www-form-urlencoded",
        );
    }
    let mut fields = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(request.body()) {
        // RFC 6749 §3.2: parameters must not be repeated.
        if fields.insert(key.into_owned(), value.into_owned()).is_some() {
            return refuse(StatusCode::BAD_REQUEST, "a parameter is repeated");
        }
    }
    Ok(Form(fields))
}

/// The fields of a form body.
struct Form(HashMap<String, String>);

impl Form {
    /// A field's value; an empty value counts as missing.
    fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Serves a token endpoint: parses the form, or answers the refusal.
fn serve_form(
    request: &http::Request<Vec<u8>>,
    endpoint: impl FnOnce(&Form) -> http::Response<Vec<u8>>,
) -> http::Response<Vec<u8>> {
    match form_post(request) {
        Ok(form) => endpoint(&form),
        Err(refusal) => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_sends_unknown_paths_to_404() {
        let mut fakes = Fakes::new();
        let request = http::Request::new(Vec::new());
        let response = fakes.handle(Timestamp::EPOCH, &request);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn rfc3339_prints_utc_dates() {
        assert_eq!(rfc3339(Timestamp::EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Timestamp::from_unix_millis(1_767_225_600_123)),
            "2026-01-01T00:00:00.123Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_unix_secs(951_825_599)),
            "2000-02-29T11:59:59.000Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_unix_secs(253_402_300_799)),
            "9999-12-31T23:59:59.000Z"
        );
        // The first day of a year in the algorithm's March-based count, after
        // 1700, 1800 and 1900 skipped their leap days: a year-of-era that is
        // off by the century correction prints "1970-02-29".
        assert_eq!(
            rfc3339(Timestamp::from_unix_secs(59 * 86_400)),
            "1970-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let with = |value: &str| {
            http::Request::builder()
                .header(AUTHORIZATION, value)
                .body(Vec::new())
                .unwrap()
        };
        assert_eq!(bearer_token(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearerabc")), None);
        assert_eq!(bearer_token(&http::Request::new(Vec::new())), None);
    }

    #[test]
    fn mint_numbers_tokens() {
        let mut mint = Mint::default();
        assert_eq!(mint.next("a"), "a-000001");
        assert_eq!(mint.next("a"), "a-000002");
    }
}
