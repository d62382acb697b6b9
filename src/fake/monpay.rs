//! MonPay's wallet (authorization-code exchange).

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::{json, oauth_error, respond, serve_form, Fake, Form, Issued, Mint};
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

    /// Whether `token` was issued here (MonPay tokens do not expire).
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.issued.accepts(now, token)
    }

    fn token_endpoint(&mut self, now: Timestamp, form: &Form) -> http::Response<Vec<u8>> {
        if self.failing {
            return oauth_error(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "server_error",
                "Серверийн алдаа",
            );
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
        if request.uri().path().ends_with("/v2/oauth/token") {
            serve_form(request, |form| self.token_endpoint(now, form))
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
            .finish_non_exhaustive()
    }
}
