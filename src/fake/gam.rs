//! GAM's authorization server (client credentials).

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::{json, oauth_error, respond, serve_form, Fake, Form, Issued, Mint};
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
pub struct Gam {
    clients: Vec<Client>,
    issued: Issued,
    mint: Mint,
    /// How long tokens live (the guide's sample: 3600 s).
    pub token_lifetime: Duration,
}

struct Client {
    id: String,
    secret: String,
    scopes: Vec<String>,
}

impl Gam {
    /// A server with no clients.
    pub fn new() -> Self {
        Gam {
            clients: Vec::new(),
            issued: Issued::default(),
            mint: Mint::default(),
            token_lifetime: Duration::from_secs(3600),
        }
    }

    /// Registers a client allowed the given scopes.
    pub fn add_client(&mut self, id: &str, secret: &str, scopes: &[&str]) {
        self.clients.push(Client {
            id: id.to_owned(),
            secret: secret.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        });
    }

    /// Whether `token` was issued here and is still valid at `now`.
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.issued.accepts(now, token)
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
        self.issued
            .insert(token.clone(), Some(now.saturating_add(self.token_lifetime)));
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
            respond(StatusCode::NOT_FOUND, "application/json", Vec::new())
        }
    }
}

impl fmt::Debug for Gam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gam")
            .field("clients", &self.clients.len())
            .field("tokens", &self.issued.len())
            .finish_non_exhaustive()
    }
}
