//! MonPay's wallet (authorization-code exchange, merchant token) and its API.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::{bearer_token, json, oauth_error, respond, serve_form, Fake, Form, Issued, Mint};
use crate::secret::{AccessToken, AuthCode};
use crate::time::Timestamp;

/// A fake MonPay wallet: `POST …/v2/oauth/token` exchanging a code issued by
/// [`issue_code`](Self::issue_code) for a token that never expires.
///
/// Refusals follow the guide's status table, with an RFC 6749 body:
///
/// | status | `error` | when |
/// |---|---|---|
/// | 400 | `invalid_request` | a field is missing, or `redirect_uri` differs from the registered one |
/// | 401 | `unauthorized_client` | wrong `client_id` or `client_secret` |
/// | 403 | `invalid_grant` | unknown, used or expired code |
/// | 415 | `unsupported_grant_type` | `grant_type` other than `authorization_code` |
/// | 505 | `server_error` | while [`failing`](Self::failing) is set |
///
/// A success carries `expires_in: 0` and a `refresh_token`, as the guide
/// says both are unused today.
///
/// The same endpoint grants the merchant token (field practice, not in the
/// guide): `client_id`, `client_secret` and `grant_type=client_credentials`
/// are answered with `access_token` and `token_type` and, as the wallet
/// often does, **no `expires_in`** (set
/// [`merchant_expires_in`](Self::merchant_expires_in) to send one).
///
/// Paths under `/v2/api/` are the wallet's API, with Bearer tokens issued
/// here:
///
/// | request | answer |
/// |---|---|
/// | no Bearer token, or one not issued here, expired or [revoked](Self::expire_tokens) | 401 `{"code":"UNAUTHORIZED","intCode":1,"info":…}` (a stale token) |
/// | `…/v2/api/oauth/invoice…` with a user token, `…/v2/api/oauth/userinfo` with a merchant token | 401 `{"code":"INSUFFICIENT_ACCESS","intCode":6,"info":…}` (the token lacks the right) |
/// | `…/v2/api/oauth/invoice…` with a merchant token | 200 `{"code":"SUCCESS","intCode":0,"info":"Success","result":{"id","path","echo"}}`, `echo` being the request's JSON body (`null` without one) |
/// | `…/v2/api/oauth/userinfo` with a user token | 200 `{"code":"SUCCESS","intCode":0,"info":"Success","result":{"id","name"}}` |
/// | any other path | 404 |
///
/// ```
/// use tokendance::call::Reissue;
/// use tokendance::fake::{Fake, MonPay};
/// use tokendance::{drive, monpay, ClientSecret, Endpoint, ServerErrorKind, Timestamp};
///
/// let mut wallet = MonPay::new("merchant", "s3cret", "https://shop.example/back");
/// let config = monpay::Config::new(Endpoint::parse("https://wallet.fake")?);
/// let mut tokens = Reissue::new(|| {
///     monpay::client_credentials(&config, "merchant", ClientSecret::new("s3cret"),
///         monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME)
/// });
/// let now = Timestamp::from_unix_secs(1_000);
/// let mut run = |request: http::Request<Vec<u8>>| {
///     let call = monpay::call(&mut tokens, request).unwrap();
///     drive::drive(call, || now,
///         |req| Ok::<_, std::convert::Infallible>(wallet.handle(now, &req)),
///         drive::no_signer, |_| {})
/// };
/// let invoice = http::Request::post("https://wallet.fake/v2/api/oauth/invoice")
///     .body(br#"{"amount":100}"#.to_vec()).unwrap();
/// assert_eq!(run(invoice).unwrap().status(), 200);
/// // A merchant token has no right to a user's info.
/// let info = http::Request::get("https://wallet.fake/v2/api/oauth/userinfo").body(Vec::new()).unwrap();
/// let drive::DriveError::Flow(err) = run(info).unwrap_err() else { unreachable!() };
/// assert_eq!(err.as_server().unwrap().kind, ServerErrorKind::Forbidden);
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct MonPay {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    codes: Vec<(String, Timestamp)>,
    issued: Issued,
    mint: Mint,
    /// How long an issued code stays valid.
    pub code_lifetime: Duration,
    /// Answer every exchange with 505 `server_error`.
    pub failing: bool,
    /// The `expires_in` of a merchant token answer: none by default, as the
    /// wallet often sends. A lifetime above zero is also enforced.
    pub merchant_expires_in: Option<u64>,
    counts: MonPayCounts,
}

/// The owner of the merchant tokens in the fake's [`Issued`] (user tokens have none).
const MERCHANT: &str = "merchant";

/// What the fake [`MonPay`] answered so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonPayCounts {
    /// Merchant tokens issued (client credentials).
    pub merchant_tokens_issued: u64,
    /// API calls answered 200.
    pub answered: u64,
    /// API calls refused with 401 `UNAUTHORIZED` (a stale token).
    pub unauthorized: u64,
    /// API calls refused with 401 `INSUFFICIENT_ACCESS`.
    pub insufficient_access: u64,
}

impl MonPay {
    /// A wallet with one registered mini app.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        MonPay {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            codes: Vec::new(),
            issued: Issued::default(),
            mint: Mint::default(),
            code_lifetime: Duration::from_secs(600),
            failing: false,
            merchant_expires_in: None,
            counts: MonPayCounts::default(),
        }
    }

    /// A code, as the mini app's authorization step would return at `now`.
    /// It can be exchanged once, within [`code_lifetime`](Self::code_lifetime).
    pub fn issue_code(&mut self, now: Timestamp) -> AuthCode {
        let code = self.mint.next("monpay-code");
        self.codes
            .push((code.clone(), now.saturating_add(self.code_lifetime)));
        AuthCode::new(code)
    }

    /// Whether `token` was issued here and is valid at `now` (user tokens
    /// do not expire).
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.issued.accepts(now, token)
    }

    /// Revokes every token issued so far: API calls with them get the 401
    /// `UNAUTHORIZED` of a stale token.
    pub fn expire_tokens(&mut self) {
        self.issued.clear();
    }

    /// What the fake answered so far.
    pub fn counts(&self) -> MonPayCounts {
        self.counts
    }

    /// A MonPay API refusal: `{"code", "intCode", "info"}`.
    fn refusal(status: StatusCode, code: &str, int_code: u8, info: &str) -> http::Response<Vec<u8>> {
        json(
            status,
            &serde_json::json!({ "code": code, "intCode": int_code, "info": info }),
        )
    }

    /// An API call: the token, then the route's right, then the answer.
    fn api(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let path = request.uri().path();
        let (wants_merchant, route) = if path.contains("/v2/api/oauth/invoice") {
            (true, "invoice")
        } else if path.ends_with("/v2/api/oauth/userinfo") {
            (false, "userinfo")
        } else {
            return respond(StatusCode::NOT_FOUND, "application/json", Vec::new());
        };
        let Some(owner) = bearer_token(request).and_then(|t| self.issued.owner(now, t)) else {
            self.counts.unauthorized += 1;
            return Self::refusal(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", 1, "Токен хүчингүй");
        };
        if (owner == MERCHANT) != wants_merchant {
            self.counts.insufficient_access += 1;
            return Self::refusal(
                StatusCode::UNAUTHORIZED,
                "INSUFFICIENT_ACCESS",
                6,
                "Хандах эрх хүрэлцэхгүй",
            );
        }
        self.counts.answered += 1;
        let result = if route == "invoice" {
            let echo = serde_json::from_slice::<serde_json::Value>(request.body()).unwrap_or_default();
            serde_json::json!({ "id": self.counts.answered, "path": path, "echo": echo })
        } else {
            serde_json::json!({ "id": 1, "name": "Бат" })
        };
        json(
            StatusCode::OK,
            &serde_json::json!({ "code": "SUCCESS", "intCode": 0, "info": "Success", "result": result }),
        )
    }

    /// The merchant token (client credentials).
    fn merchant_token(&mut self, now: Timestamp, form: &Form) -> http::Response<Vec<u8>> {
        let (Some(client_id), Some(client_secret)) = (form.field("client_id"), form.field("client_secret"))
        else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Хүсэлт буруу");
        };
        if client_id != self.client_id || client_secret != self.client_secret {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "client_id юмуу client_secret алдаатай",
            );
        }
        let token = self.mint.next("monpay-merchant");
        let lifetime = self.merchant_expires_in.filter(|&n| n > 0);
        let expires_at = lifetime.map(|n| now.saturating_add(Duration::from_secs(n)));
        self.issued.insert_for(token.clone(), expires_at, MERCHANT);
        self.counts.merchant_tokens_issued += 1;
        let mut body = serde_json::json!({ "access_token": token, "token_type": "bearer" });
        if let Some(n) = self.merchant_expires_in {
            body["expires_in"] = n.into();
        }
        json(StatusCode::OK, &body)
    }

    fn token_endpoint(&mut self, now: Timestamp, form: &Form) -> http::Response<Vec<u8>> {
        if self.failing {
            return oauth_error(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "server_error",
                "Серверийн алдаа",
            );
        }
        if form.field("grant_type") == Some("client_credentials") {
            return self.merchant_token(now, form);
        }
        let field = |name: &str| form.field(name);
        let fields = ["redirect_uri", "client_id", "client_secret", "code", "grant_type"].map(field);
        let [Some(redirect_uri), Some(client_id), Some(client_secret), Some(code), Some(grant_type)] = fields
        else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Хүсэлт буруу");
        };
        if grant_type != "authorization_code" {
            return oauth_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_grant_type",
                "Дэмжигдэхгүй төрөл",
            );
        }
        if client_id != self.client_id || client_secret != self.client_secret {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "client_id юмуу client_secret алдаатай",
            );
        }
        if redirect_uri != self.redirect_uri {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Хүсэлт буруу");
        }
        // A code works once: it is removed whether or not it had expired.
        let Some(index) = self.codes.iter().position(|(c, _)| c == code) else {
            return oauth_error(StatusCode::FORBIDDEN, "invalid_grant", "Алдаатай код");
        };
        let (_, expires_at) = self.codes.swap_remove(index);
        if now >= expires_at {
            return oauth_error(StatusCode::FORBIDDEN, "invalid_grant", "Алдаатай код");
        }
        let token = self.mint.next("monpay-access");
        self.issued.insert(token.clone(), None);
        json(
            StatusCode::OK,
            &serde_json::json!({
                "access_token": token,
                "token_type": "bearer",
                "refresh_token": self.mint.next("monpay-refresh"),
                "expires_in": 0,
            }),
        )
    }
}

impl Fake for MonPay {
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        self.codes.retain(|(_, expires_at)| now < *expires_at);
        self.issued.prune(now);
        if request.uri().path().ends_with("/v2/oauth/token") {
            serve_form(request, |form| self.token_endpoint(now, form))
        } else if request.uri().path().contains("/v2/api/") {
            self.api(now, request)
        } else {
            respond(StatusCode::NOT_FOUND, "application/json", Vec::new())
        }
    }
}

impl fmt::Debug for MonPay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonPay")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("codes", &self.codes.len())
            .field("tokens", &self.issued.len())
            .field("failing", &self.failing)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}
