//! CRPT's services: SUZ registration, GIS MT, True API and MDLP sign-ins,
//! with a fake signer whose signatures say what they are.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};

use super::{json, respond, Fake, Mint};
use crate::secret::AccessToken;
use crate::sign::{SignJob, Signature, SignatureKind};
use crate::time::Timestamp;

/// What the fake signer put in a signature: its kind and what it covers.
const ATTACHED_MARK: &[u8] = b"FAKE-CMS-ATTACHED:";
const DETACHED_MARK: &[u8] = b"FAKE-CMS-DETACHED:";

/// A signer for tests: a "signature" that says its kind and carries the
/// content (attached) or a digest of it (detached), so the fake services can
/// check both the kind and the bytes, as the real ones do with CMS.
///
/// ```
/// use tokendance::{fake, Purpose, SignJob, SignatureKind};
/// let job = SignJob::new(b"QNRPNPFGJZ".to_vec(), SignatureKind::Attached, Purpose::TrueApiChallenge);
/// let signature = fake::sign(&job);
/// assert_eq!(fake::signed_content(&signature, SignatureKind::Attached), Some(b"QNRPNPFGJZ".to_vec()));
/// ```
pub fn sign(job: &SignJob) -> Signature {
    sign_as(job.bytes(), job.kind())
}

/// A fake signature of `kind` over `content`, whatever a job asked for (to
/// show what the services do with the wrong kind).
pub fn sign_as(content: &[u8], kind: SignatureKind) -> Signature {
    let mut der = Vec::new();
    match kind {
        SignatureKind::Attached => {
            der.extend_from_slice(ATTACHED_MARK);
            der.extend_from_slice(content);
        }
        SignatureKind::Detached => {
            der.extend_from_slice(DETACHED_MARK);
            der.extend_from_slice(&digest(content).to_be_bytes());
        }
    }
    Signature::from_der(der)
}

/// For an attached fake signature, the content it carries; for a detached one,
/// the digest it covers as 8 bytes. `None` when it is not a fake signature of `kind`.
pub fn signed_content(signature: &Signature, kind: SignatureKind) -> Option<Vec<u8>> {
    let mark = match kind {
        SignatureKind::Attached => ATTACHED_MARK,
        SignatureKind::Detached => DETACHED_MARK,
    };
    signature.as_der().strip_prefix(mark).map(<[u8]>::to_vec)
}

/// Whether `base64` is a fake detached signature over exactly `content`.
fn detached_covers(base64: &str, content: &[u8]) -> bool {
    Signature::from_base64(base64)
        .ok()
        .and_then(|s| signed_content(&s, SignatureKind::Detached))
        .is_some_and(|d| d == digest(content).to_be_bytes())
}

/// FNV-1a: a stand-in for the hash a CMS signature covers.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The failure modes CRPT's services are known to show (PROTOCOLS §2.D),
/// served by [`Crpt`] instead of every answer while set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrptFailure {
    /// 404 with nginx's HTML page.
    NginxNotFound,
    /// 502 with nginx's HTML page.
    BadGateway,
    /// 401 with an XML body.
    XmlUnauthorized,
    /// 406 with an empty body.
    EmptyNotAcceptable,
    /// 200 with `{"code", "error_message", "description"}` and no token.
    ErrorIn200,
    /// 429 with `Retry-After: 5`.
    RateLimited,
    /// 400 with MDLP's Spring body `{"timestamp","status","error","message","path"}`.
    SpringError,
    /// 400 with SUZ's `{"success": false, "globalErrors": [...]}`.
    SuzGlobalErrors,
}

/// A fake of every CRPT endpoint the flows use, recognised by path:
///
/// | path (below any base) | answers |
/// |---|---|
/// | `POST …/api/{v2,v3}/integration/connection?omsId=` | `SUCCESS` + `omsConnection` for a known registration key and a DETACHED signature over the exact body (none needed with [`pharma`](Self::pharma)); otherwise `REJECTED` + `rejectionReason` (also for a `name` on v2) |
/// | `GET …/auth/cert/key`, `GET …/auth/key` | a challenge `{"uuid","data"}` |
/// | `POST …/auth/cert/{omsConnection}`, `POST …/auth/simpleSignIn/{omsConnection}` | `{"token"}` (10 h; `{"uuidToken"}` with `uuid_token`) for an ATTACHED signature of the challenge; 403 for a detached one or other content, or for an `inn` not in `inns` |
/// | `POST …/api/v1/auth` | `{"code"}` for the registered MDLP client |
/// | `POST …/api/v1/token[/{omsConnection}]` | `{"token","life_time":30}` for a DETACHED signature of the code or the user's password |
/// | `GET`/`POST …/api/v1/documents/…`, `…/api/v1/reestr/…` | MDLP business calls: `Authorization: token {live token}` (else 401); at most one call of each method (HTTP method and path) a second, else 429 (counted: [`mdlp_too_soon_calls`](Self::mdlp_too_soon_calls)); an empty page `{"documents":[],"total":0}` |
/// | `POST …/api/v2/{extension}/orders?omsId=`, `POST …/api/v2/{extension}/buffer/close?omsId=&orderId=` | SUZ business calls: a live `clientToken` (else 401, or 400 with [`suz_token_code`](Self::suz_token_code)) and a DETACHED `X-Signature` over the exact body (none for pharma); then `{"omsId","orderId",…}`, or SUZ's `globalErrors` / `fieldErrors` |
///
/// Issuing a token for a connection revokes the previous one, as SUZ does.
/// MDLP calls closer than one second get 429. Tokens are numbered UUID-like
/// strings. [`failure`](Self::failure) serves one of the documented failure
/// modes instead.
pub struct Crpt {
    registration_keys: Vec<String>,
    connections: Vec<String>,
    challenges: HashMap<String, Vec<u8>>,
    mdlp_client: Option<(String, String)>,
    mdlp_passwords: HashMap<String, String>,
    mdlp_codes: HashMap<String, Option<String>>,
    mdlp_last_call: Option<Timestamp>,
    /// When each MDLP business method (HTTP method and path) was last called.
    mdlp_method_calls: HashMap<String, Timestamp>,
    /// MDLP business calls refused with 429 for coming too soon.
    mdlp_too_soon_calls: u64,
    live: HashMap<String, (String, Timestamp)>,
    mint: Mint,
    issued: u64,
    /// Serve this failure instead of every answer.
    pub failure: Option<CrptFailure>,
    /// Accept registrations without `X-Signature` (the pharma product group).
    pub pharma: bool,
    /// How long challenge (GIS MT, True API) tokens live.
    pub challenge_token_lifetime: Duration,
    /// MDLP's `life_time`, in minutes.
    pub mdlp_life_time_minutes: u64,
    /// The INNs the certificate may act for: a True API sign-in naming
    /// another `inn` is answered 403.
    pub inns: Vec<String>,
    /// Name the challenge sign-in's token `uuidToken`, as some SUZ stands do.
    pub uuid_token: bool,
    /// Answer a SUZ business call with a `clientToken` that is not live with
    /// 400 and this `errorCode` instead of 401, as some stands do.
    pub suz_token_code: Option<u32>,
    /// SUZ orders created, by id.
    orders: Vec<String>,
}

impl Crpt {
    /// A fake with the demo registration key and no MDLP client.
    pub fn new() -> Self {
        Crpt {
            registration_keys: vec![crate::crpt::DEMO_REGISTRATION_KEY.to_owned()],
            connections: Vec::new(),
            challenges: HashMap::new(),
            mdlp_client: None,
            mdlp_passwords: HashMap::new(),
            mdlp_codes: HashMap::new(),
            mdlp_last_call: None,
            mdlp_method_calls: HashMap::new(),
            mdlp_too_soon_calls: 0,
            live: HashMap::new(),
            mint: Mint::default(),
            issued: 0,
            failure: None,
            pharma: false,
            challenge_token_lifetime: Duration::from_secs(10 * 3600),
            mdlp_life_time_minutes: 30,
            inns: vec!["7707083893".to_owned()],
            uuid_token: false,
            suz_token_code: None,
            orders: Vec::new(),
        }
    }

    /// How many MDLP business calls were refused with 429 for coming less
    /// than a second after the last call of the same method.
    pub fn mdlp_too_soon_calls(&self) -> u64 {
        self.mdlp_too_soon_calls
    }

    /// The ids of the SUZ orders created, oldest first.
    pub fn orders(&self) -> &[String] {
        &self.orders
    }

    /// Registers the MDLP client `id`/`secret`.
    pub fn set_mdlp_client(&mut self, id: &str, secret: &str) {
        self.mdlp_client = Some((id.to_owned(), secret.to_owned()));
    }

    /// Adds a non-resident MDLP user (`PASSWORD` login by e-mail).
    pub fn add_mdlp_user(&mut self, email: &str, password: &str) {
        self.mdlp_passwords.insert(email.to_owned(), password.to_owned());
    }

    /// Whether `token` is the live token of `oms_connection` at `now`
    /// (a later sign-in for the connection revokes it).
    pub fn accepts(&self, now: Timestamp, oms_connection: &str, token: &AccessToken) -> bool {
        self.live
            .get(oms_connection)
            .is_some_and(|(live, expires_at)| live == token.expose_secret() && now < *expires_at)
    }

    /// How many tokens were issued, over all connections.
    pub fn tokens_issued(&self) -> u64 {
        self.issued
    }

    /// A numbered, UUID-shaped id (tokens and connections usually are UUIDs).
    fn uuid(&mut self, kind: &str) -> String {
        let n = self.mint.number();
        format!(
            "{n:08x}-{:04x}-4000-8000-000000000000",
            digest(kind.as_bytes()) & 0xffff
        )
    }

    fn issue(&mut self, now: Timestamp, connection: &str, lifetime: Duration) -> String {
        let token = self.uuid("token");
        self.issued += 1;
        self.live.insert(
            connection.to_owned(),
            (token.clone(), now.saturating_add(lifetime)),
        );
        token
    }

    fn failure_response(&self, failure: CrptFailure) -> http::Response<Vec<u8>> {
        let html = |status, title: &str| {
            let page = format!("<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr><center>nginx</center></body></html>");
            respond(status, "text/html", page.into_bytes())
        };
        match failure {
            CrptFailure::NginxNotFound => html(StatusCode::NOT_FOUND, "404 Not Found"),
            CrptFailure::BadGateway => html(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            CrptFailure::XmlUnauthorized => respond(
                StatusCode::UNAUTHORIZED,
                "application/xml",
                b"<error><code>invalid_token</code><message>Unauthorized</message></error>".to_vec(),
            ),
            CrptFailure::EmptyNotAcceptable => {
                respond(StatusCode::NOT_ACCEPTABLE, "application/json", Vec::new())
            }
            CrptFailure::ErrorIn200 => json(
                StatusCode::OK,
                &serde_json::json!({"code": 4, "error_message": "Сертификат не найден", "description": "certificate not found"}),
            ),
            CrptFailure::RateLimited => {
                let mut response = json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &serde_json::json!({"error_message": "Too many requests"}),
                );
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("5"));
                response
            }
            CrptFailure::SpringError => json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"timestamp": "2026-01-01T00:00:00.000+0000", "status": 400, "error": "Bad Request", "message": "Invalid auth request", "path": "/api/v1/auth"}),
            ),
            CrptFailure::SuzGlobalErrors => json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"success": false, "globalErrors": [{"error": "Неверный omsId", "errorCode": 1001}], "fieldErrors": []}),
            ),
        }
    }

    /// A SUZ business call: a live `clientToken`, and (but for pharma) a
    /// DETACHED `X-Signature` over the exact body; then an order is created
    /// or a buffer closed.
    fn suz_call(&mut self, request: &http::Request<Vec<u8>>, close: bool) -> http::Response<Vec<u8>> {
        let refusal = |status, error: &str, code: u32| {
            json(
                status,
                &serde_json::json!({"success": false, "globalErrors": [{"error": error, "errorCode": code}]}),
            )
        };
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let query = |key: &str| {
            request.uri().query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, v)| k == key && !v.is_empty())
                    .map(|(_, v)| v.into_owned())
            })
        };
        let live = header("clienttoken").is_some_and(|t| self.live.values().any(|(live, _)| live == t));
        if !live {
            return match self.suz_token_code {
                Some(code) => refusal(StatusCode::BAD_REQUEST, "Token is not valid", code),
                None => refusal(StatusCode::UNAUTHORIZED, "clientToken is not valid", 401),
            };
        }
        let Some(oms_id) = query("omsId") else {
            return refusal(StatusCode::BAD_REQUEST, "omsId is required", 1001);
        };
        if !self.pharma && !header("x-signature").is_some_and(|s| detached_covers(s, request.body())) {
            return refusal(
                StatusCode::BAD_REQUEST,
                "The signature does not verify over the request body",
                1501,
            );
        }
        if close {
            let Some(order) = query("orderId").filter(|o| self.orders.contains(o)) else {
                return refusal(StatusCode::NOT_FOUND, "Order not found", 1140);
            };
            return json(
                StatusCode::OK,
                &serde_json::json!({"omsId": oms_id, "orderId": order}),
            );
        }
        let products = serde_json::from_slice::<serde_json::Value>(request.body())
            .ok()
            .and_then(|b| b.get("products").and_then(|p| p.as_array().map(Vec::len)));
        if products.is_none_or(|n| n == 0) {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"success": false, "fieldErrors": [{"fieldName": "products", "errorCode": 1100, "fieldError": "products must not be empty"}]}),
            );
        }
        let order = self.uuid("order");
        self.orders.push(order.clone());
        json(
            StatusCode::OK,
            &serde_json::json!({"omsId": oms_id, "orderId": order, "expectedCompleteTimestamp": 0}),
        )
    }

    fn register(&mut self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let has_name = |body: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .is_some_and(|b| b.get("name").is_some())
        };
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let has_oms_id = request.uri().query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "omsId" && !v.is_empty())
        });
        let address = serde_json::from_slice::<serde_json::Value>(request.body())
            .ok()
            .and_then(|b| {
                b.get("address")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            });
        let signed = header("x-signature").is_some_and(|s| detached_covers(s, request.body()));
        let reason = if !has_oms_id {
            Some("omsId is required")
        } else if !header("x-registrationkey").is_some_and(|k| self.registration_keys.iter().any(|r| r == k))
        {
            Some("Unknown registration key")
        } else if address.is_none_or(|a| a.is_empty()) {
            Some("address is required")
        } else if request.uri().path().contains("/v2/") && has_name(request.body()) {
            Some("name is not supported by API v2")
        } else if !self.pharma && !signed {
            Some("The signature does not verify over the request body")
        } else {
            None
        };
        match reason {
            Some(reason) => json(
                StatusCode::OK,
                &serde_json::json!({"status": "REJECTED", "rejectionReason": reason}),
            ),
            None => {
                let connection = self.uuid("connection").to_uppercase();
                self.connections.push(connection.clone());
                json(
                    StatusCode::OK,
                    &serde_json::json!({"status": "SUCCESS", "omsConnection": connection}),
                )
            }
        }
    }

    fn challenge(&mut self) -> http::Response<Vec<u8>> {
        let uuid = self.uuid("challenge");
        let data = self.mint.next("QNRPNPFGJZ");
        self.challenges.insert(uuid.clone(), data.clone().into_bytes());
        json(StatusCode::OK, &serde_json::json!({"uuid": uuid, "data": data}))
    }

    fn challenge_sign_in(
        &mut self,
        now: Timestamp,
        connection: &str,
        body: &[u8],
    ) -> http::Response<Vec<u8>> {
        let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let field = |name: &str| body.get(name).and_then(serde_json::Value::as_str);
        let (Some(uuid), Some(data)) = (field("uuid"), field("data")) else {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"code": 400, "error_message": "uuid and data are required"}),
            );
        };
        let Some(expected) = self.challenges.remove(uuid) else {
            return json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({"code": 401, "error_message": "Unknown or used uuid"}),
            );
        };
        let content = Signature::from_base64(data)
            .ok()
            .and_then(|s| signed_content(&s, SignatureKind::Attached));
        if content.as_deref() != Some(expected.as_slice()) {
            // The real services answer a detached signature (or another
            // content) with 403.
            return json(
                StatusCode::FORBIDDEN,
                &serde_json::json!({"code": 403, "error_message": "Ошибка проверки подписи", "description": "an ATTACHED signature of data is required"}),
            );
        }
        if let Some(inn) = body.get("inn") {
            if !inn
                .as_str()
                .is_some_and(|inn| self.inns.iter().any(|known| known == inn))
            {
                return json(
                    StatusCode::FORBIDDEN,
                    &serde_json::json!({"code": 403, "error_message": "Сертификат не принадлежит участнику с указанным ИНН"}),
                );
            }
        }
        let token = self.issue(now, connection, self.challenge_token_lifetime);
        let name = if self.uuid_token { "uuidToken" } else { "token" };
        json(StatusCode::OK, &serde_json::json!({ name: token }))
    }

    /// 429 for MDLP calls closer than a second.
    fn mdlp_too_soon(&mut self, now: Timestamp) -> bool {
        let too_soon = self
            .mdlp_last_call
            .is_some_and(|last| now < last.saturating_add(crate::crpt::mdlp::SPACING));
        self.mdlp_last_call = Some(now);
        too_soon
    }

    /// An MDLP business call (`…/api/v1/documents/…`, `…/api/v1/reestr/…`):
    /// `Authorization: token {live token}`, and at most one call of each
    /// method a second (else 429); answers an empty
    /// page.
    fn mdlp_business(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let token = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("token "));
        if !token.is_some_and(|t| self.live.values().any(|(live, _)| live == t)) {
            return self.failure_response(CrptFailure::XmlUnauthorized);
        }
        let method = format!("{} {}", request.method(), request.uri().path());
        let last = self.mdlp_method_calls.insert(method, now);
        if last.is_some_and(|last| now < last.saturating_add(crate::crpt::mdlp::SPACING)) {
            self.mdlp_too_soon_calls += 1;
            return self.failure_response(CrptFailure::RateLimited);
        }
        json(StatusCode::OK, &serde_json::json!({"documents": [], "total": 0}))
    }

    fn mdlp_auth(&mut self, body: &[u8]) -> http::Response<Vec<u8>> {
        let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let field = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
        };
        let client_ok = self
            .mdlp_client
            .as_ref()
            .is_some_and(|(id, secret)| id == field("client_id") && secret == field("client_secret"));
        if !client_ok {
            return mdlp_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Bad client credentials");
        }
        let user = field("user_id").to_owned();
        let password_user = match field("auth_type") {
            "SIGNED_CODE" if !user.is_empty() => None,
            "PASSWORD" if self.mdlp_passwords.contains_key(&user) => Some(user),
            _ => {
                return mdlp_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    "Unknown user or auth_type",
                )
            }
        };
        let code = self.uuid("code");
        self.mdlp_codes.insert(code.clone(), password_user);
        json(StatusCode::OK, &serde_json::json!({"code": code}))
    }

    fn mdlp_token(&mut self, now: Timestamp, connection: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let field = |name: &str| body.get(name).and_then(serde_json::Value::as_str);
        let Some(user) = field("code").and_then(|c| self.mdlp_codes.remove(c)) else {
            return mdlp_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unknown or used code");
        };
        let code = field("code").unwrap_or_default();
        let proven = match (&user, field("password"), field("signature")) {
            (Some(email), Some(password), None) => {
                self.mdlp_passwords.get(email).is_some_and(|p| p == password)
            }
            (None, None, Some(signature)) => detached_covers(signature, code.as_bytes()),
            _ => false,
        };
        if !proven {
            return mdlp_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "A detached signature of the code (or the password) does not verify",
            );
        }
        let lifetime = Duration::from_secs(self.mdlp_life_time_minutes.saturating_mul(60));
        let token = self.issue(now, connection, lifetime);
        json(
            StatusCode::OK,
            &serde_json::json!({"token": token, "life_time": self.mdlp_life_time_minutes}),
        )
    }
}

/// MDLP's Spring-style error body.
fn mdlp_error(status: StatusCode, error: &str, message: &str) -> http::Response<Vec<u8>> {
    json(
        status,
        &serde_json::json!({"timestamp": "2026-01-01T00:00:00.000+0000", "status": status.as_u16(), "error": error, "message": message}),
    )
}

impl Default for Crpt {
    fn default() -> Self {
        Self::new()
    }
}

impl Fake for Crpt {
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        if let Some(failure) = self.failure {
            return self.failure_response(failure);
        }
        self.live.retain(|_, (_, expires_at)| now < *expires_at);
        let path = request.uri().path().to_owned();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let tail = |n: usize| {
            segments
                .get(segments.len().saturating_sub(n)..)
                .unwrap_or_default()
        };
        let post = request.method() == Method::POST;
        // The connection is the last segment, as sent (percent-encoded).
        let last = segments.last().copied().unwrap_or_default().to_owned();
        match (post, tail(3), tail(2)) {
            (true, [_, "integration", "connection"], _) => self.register(request),
            (false, ["auth", "cert", "key"], _) | (false, _, ["auth", "key"]) => self.challenge(),
            (true, [_, "auth", "cert"], _) => self.challenge_sign_in(now, "", request.body()),
            (true, ["auth", "cert", _], _) | (true, ["auth", "simpleSignIn", _], _) => {
                self.challenge_sign_in(now, &last, request.body())
            }
            (true, _, ["auth", "simpleSignIn"]) => self.challenge_sign_in(now, "", request.body()),
            (_, ["api", "v1", "documents"], _) | (_, _, ["documents", _]) | (_, _, ["reestr", _])
                if segments.contains(&"v1") =>
            {
                self.mdlp_business(now, request)
            }
            (true, ["v2", _, "orders"], _) => self.suz_call(request, false),
            (true, [_, "buffer", "close"], _) => self.suz_call(request, true),
            (true, ["api", "v1", "auth"], _) => {
                if self.mdlp_too_soon(now) {
                    return self.failure_response(CrptFailure::RateLimited);
                }
                self.mdlp_auth(request.body())
            }
            (true, ["v1", "token", _], _) | (true, ["api", "v1", "token"], _) => {
                if self.mdlp_too_soon(now) {
                    return self.failure_response(CrptFailure::RateLimited);
                }
                let connection = if last == "token" { "" } else { last.as_str() };
                self.mdlp_token(now, connection, request.body())
            }
            _ => self.failure_response(CrptFailure::NginxNotFound),
        }
    }
}

impl fmt::Debug for Crpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crpt")
            .field("connections", &self.connections.len())
            .field("live_tokens", &self.live.len())
            .field("tokens_issued", &self.issued)
            .field("failure", &self.failure)
            .field("pharma", &self.pharma)
            .finish_non_exhaustive()
    }
}
