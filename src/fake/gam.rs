//! GAM's authorization server (client credentials) and resource server
//! (business calls).

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::{bearer_token, json, oauth_error, respond, rfc3339, serve_form, Fake, Form, Issued, Mint};
use crate::gam::CLIENT_SOURCE;
use crate::secret::AccessToken;
use crate::time::Timestamp;

/// A fake GAM authorization server: `POST …/oauth2/v3/token` with
/// `grant_type=client_credentials`, `client_id`, `client_secret` and a
/// required, space-separated `scope`.
///
/// Success is the guide's body (`access_token`, `expires_in` 3600,
/// `token_type` `Bearer`, `scope`). The guide documents no token errors, so
/// refusals use RFC 6749's shape: 401 `invalid_client` for a wrong id or
/// secret, 400 `invalid_scope` for a missing scope or one not granted to the
/// client, 400 `invalid_request` for a missing field, 400
/// `unsupported_grant_type` for any other grant.
///
/// Every other path is a business endpoint of the resource server (any
/// method), as GAM's guide describes them:
///
/// | request | answer |
/// |---|---|
/// | no `Authorization: Bearer`, a token this server did not issue, an expired or [revoked](Self::expire_tokens) one, or `X-Client-Source` missing or not the partner code of the token's client ([`set_partner_code`](Self::set_partner_code), default [`DEMO_PARTNER_CODE`]) | **403 with an empty body** (`Content-Length: 0`): the guide's "authentication failed" |
/// | a body that is not JSON | 400 `{"status":"400","message":"Request body is not valid JSON","error_code":"INVALID_REQUEST","timestamp"}` |
/// | a JSON object whose `customerCode` is [`GAM_UNKNOWN_CUSTOMER`] | 400 `{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp"}` |
/// | anything else | 200 `{"status":"200","message":"Success","timestamp","data":{"method","path","clientId","echo"}}`, `echo` being the request's JSON body (`null` without one) |
///
/// `timestamp` is `now` in RFC 3339 (UTC, milliseconds).
///
/// ```
/// use tokendance::call::Reissue;
/// use tokendance::fake::{self, Fake, Gam};
/// use tokendance::{drive, gam, ClientSecret, Endpoint, Timestamp};
///
/// let mut server = Gam::new();
/// server.add_client("shop", "s3cret", &["orders:read"]);
/// server.set_partner_code("shop", "SHOP01");
/// let config = gam::Config::new(
///     Endpoint::parse("https://iam.fake")?, Endpoint::parse("https://gateway.fake/oms")?);
/// let mut tokens = Reissue::new(|| {
///     gam::client_credentials(&config, "shop", ClientSecret::new("s3cret"), "orders:read")
/// });
/// let now = Timestamp::from_unix_secs(1_000);
/// let body = serde_json::json!({"customerCode": "C-1"});
/// let call = gam::post::<_, serde_json::Value>(&config, "SHOP01",
///     &["api", "v1", "authenticated"], &body, &mut tokens)?;
/// let envelope = drive::drive(call, || now,
///     |req| Ok::<_, std::convert::Infallible>(server.handle(now, &req)),
///     drive::no_signer, |_| {}).unwrap();
/// assert_eq!((envelope.status.as_str(), envelope.message.as_deref()), ("200", Some("Success")));
/// assert_eq!(envelope.data.unwrap()["echo"]["customerCode"], "C-1");
/// assert_eq!(server.counts().answered, 1);
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct Gam {
    clients: Vec<Client>,
    issued: Issued,
    mint: Mint,
    counts: GamCounts,
    /// How long tokens live (the guide's sample: 3600 s).
    pub token_lifetime: Duration,
}

struct Client {
    id: String,
    secret: String,
    scopes: Vec<String>,
    partner_code: String,
}

/// The partner code (`X-Client-Source`) a client of the fake [`Gam`] has
/// unless [`Gam::set_partner_code`] says otherwise.
pub const DEMO_PARTNER_CODE: &str = "DEMO";

/// The `customerCode` for which the fake [`Gam`]'s business endpoints answer
/// the processing-error envelope (`error_code` `CUS_404`).
pub const GAM_UNKNOWN_CUSTOMER: &str = "UNKNOWN";

/// What the fake [`Gam`] answered so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GamCounts {
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Business calls that passed authentication (success or processing error).
    pub answered: u64,
    /// Business calls refused with the empty 403.
    pub forbidden: u64,
}

impl Gam {
    /// A server with no clients.
    pub fn new() -> Self {
        Gam {
            clients: Vec::new(),
            issued: Issued::default(),
            mint: Mint::default(),
            counts: GamCounts::default(),
            token_lifetime: Duration::from_secs(3600),
        }
    }

    /// Registers a client allowed the given scopes, with the partner code
    /// [`DEMO_PARTNER_CODE`].
    pub fn add_client(&mut self, id: &str, secret: &str, scopes: &[&str]) {
        self.clients.push(Client {
            id: id.to_owned(),
            secret: secret.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            partner_code: DEMO_PARTNER_CODE.to_owned(),
        });
    }

    /// Sets the partner code that business calls with the tokens of client
    /// `id` must send as `X-Client-Source` (compared exactly).
    pub fn set_partner_code(&mut self, id: &str, partner_code: &str) {
        for client in self.clients.iter_mut().filter(|c| c.id == id) {
            client.partner_code = partner_code.to_owned();
        }
    }

    /// Whether `token` was issued here and is still valid at `now`.
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.issued.accepts(now, token)
    }

    /// Revokes every token issued so far: business calls with them get the
    /// empty 403, as expired tokens do.
    pub fn expire_tokens(&mut self) {
        self.issued.clear();
    }

    /// What the server answered so far.
    pub fn counts(&self) -> GamCounts {
        self.counts
    }

    /// A business call: authentication, then the envelope.
    fn business(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let client = bearer_token(request)
            .and_then(|token| self.issued.owner(now, token))
            .and_then(|owner| self.clients.iter().find(|c| c.id == owner));
        let source = request.headers().get(CLIENT_SOURCE).map(|v| v.as_bytes());
        let Some(client) = client.filter(|c| source == Some(c.partner_code.as_bytes())) else {
            self.counts.forbidden += 1;
            // GAM's "authentication failed": 403, Content-Length 0, nothing else.
            return respond(StatusCode::FORBIDDEN, "", Vec::new());
        };
        let client_id = client.id.clone();
        self.counts.answered += 1;
        let timestamp = rfc3339(now);
        let failure = |message: &str, code: &str| {
            json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({
                    "status": "400",
                    "message": message,
                    "error_code": code,
                    "timestamp": timestamp,
                }),
            )
        };
        let echo = if request.body().is_empty() {
            serde_json::Value::Null
        } else {
            match serde_json::from_slice::<serde_json::Value>(request.body()) {
                Ok(value) => value,
                Err(_) => return failure("Request body is not valid JSON", "INVALID_REQUEST"),
            }
        };
        if echo.get("customerCode").and_then(serde_json::Value::as_str) == Some(GAM_UNKNOWN_CUSTOMER) {
            return failure("Customer not found", "CUS_404");
        }
        json(
            StatusCode::OK,
            &serde_json::json!({
                "status": "200",
                "message": "Success",
                "timestamp": timestamp,
                "data": {
                    "method": request.method().as_str(),
                    "path": request.uri().path(),
                    "clientId": client_id,
                    "echo": echo,
                },
            }),
        )
    }

    fn token_endpoint(&mut self, now: Timestamp, form: &Form) -> http::Response<Vec<u8>> {
        let field = |name: &str| form.field(name);
        match field("grant_type") {
            Some("client_credentials") => {}
            Some(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                )
            }
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "grant_type is required",
                )
            }
        }
        let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id and client_secret are required",
            );
        };
        let Some(client) = self.clients.iter().find(|c| c.id == id && c.secret == secret) else {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        };
        let Some(scope) = field("scope") else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "scope is required");
        };
        if !scope
            .split(' ')
            .all(|s| client.scopes.iter().any(|granted| granted == s))
        {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the requested scope is not granted to this client",
            );
        }
        let token = self.mint.next("gam-access");
        let expires_at = Some(now.saturating_add(self.token_lifetime));
        self.issued.insert_for(token.clone(), expires_at, &client.id);
        self.counts.tokens_issued += 1;
        json(
            StatusCode::OK,
            &serde_json::json!({
                "access_token": token,
                "expires_in": self.token_lifetime.as_secs(),
                "token_type": "Bearer",
                "scope": scope,
            }),
        )
    }
}

impl Default for Gam {
    fn default() -> Self {
        Self::new()
    }
}

impl Fake for Gam {
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        self.issued.prune(now);
        if request.uri().path().ends_with("/oauth2/v3/token") {
            serve_form(request, |form| self.token_endpoint(now, form))
        } else {
            self.business(now, request)
        }
    }
}

impl fmt::Debug for Gam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gam")
            .field("clients", &self.clients.len())
            .field("tokens", &self.issued.len())
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}
