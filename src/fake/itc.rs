//! A Keycloak realm as ITC Easy Register runs it, with the Easy Register
//! service beside it.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::easy_register::{EasyRegister, Route};
use super::{bearer_token, json, oauth_error, respond, serve_form, Fake, Form, Issued, Mint};
use crate::itc::{CLIENT_ID, STAGING_TEST_PASSWORD, STAGING_TEST_USERNAME};
use crate::secret::AccessToken;
use crate::time::Timestamp;

/// A fake Keycloak realm serving the password and refresh-token grants on
/// `POST …/protocol/openid-connect/token` for one public client, and the
/// Easy Register business calls ([`service`](Self::service)) with the access
/// tokens it issued.
///
/// Requests are told apart by the end of their path, so one fake serves
/// both the realm URL and the service URL of an [`itc::Config`](crate::itc::Config)
/// (as the tour's `/itc/auth/realms/Staging` and `/itc/api/easy-register/`):
/// `…/protocol/openid-connect/token` is the token endpoint;
/// `…/api/info/consumer/{regNo}`, `…/rest/v1/getProfile` and
/// `…/rest/v1/approveQr` are the service ([`EasyRegister`] documents its
/// answers, 401 and 403 included); anything else is a 404 page.
///
/// It answers as Keycloak does:
///
/// | request | status | `error` | `error_description` |
/// |---|---|---|---|
/// | right user and password | 200 | | (token, `refresh_expires_in`, `not-before-policy`, `session_state`, lower-case `bearer`) |
/// | wrong password or user | **401** | `invalid_grant` | Invalid user credentials |
/// | disabled account | 400 | `invalid_grant` | Account disabled |
/// | refresh token expired | 400 | `invalid_grant` | Token is not active |
/// | session ended ([`end_sessions`](Self::end_sessions)) | 400 | `invalid_grant` | Session not active |
/// | refresh token unknown or revoked | 400 | `invalid_grant` | Invalid refresh token |
/// | unknown `client_id` | 401 | `invalid_client` | Invalid client or Invalid client credentials |
/// | missing field | 400 | `invalid_request` | Missing form parameter: … |
/// | other grant | 400 | `unsupported_grant_type` | Unsupported grant_type |
///
/// Access tokens live [`access_lifetime`](Self::access_lifetime) (300 s),
/// refresh tokens [`refresh_lifetime`](Self::refresh_lifetime) (1800 s) from
/// the `now` of the request that issued them.
/// [`expire_access_tokens`](Self::expire_access_tokens) revokes every access
/// token at once (the next service call gets 401, a refresh still works).
///
/// ```
/// use tokendance::fake::{Fake, Keycloak};
/// use tokendance::{drive, itc, Endpoint, Password, Timestamp};
///
/// let mut realm = Keycloak::itc_staging(); // client vatps, the guide's test account
/// let config = itc::Config::new(
///     Endpoint::parse("https://realm.test/auth/realms/Staging")?,
///     Endpoint::parse("https://service.test/api/easy-register/")?,
/// );
/// let mut session = itc::session(&config, "easy-register-test", Password::new("Test@123"))?;
/// let now = Timestamp::from_unix_secs(1_000);
/// let token = drive::drive(session.fetch(), || now,
///     |req| Ok::<_, std::convert::Infallible>(realm.handle(now, &req)),
///     drive::no_signer, |_| {}).unwrap();
/// assert!(realm.accepts(now, &token));
/// assert_eq!(realm.grants().password, 1);
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct Keycloak {
    client_id: String,
    users: Vec<User>,
    sessions: Vec<Session>,
    access: Issued,
    mint: Mint,
    grants: GrantCounts,
    /// How long access tokens live.
    pub access_lifetime: Duration,
    /// How long refresh tokens live.
    pub refresh_lifetime: Duration,
    /// Keycloak's "Revoke Refresh Token": a refresh token works once.
    pub revoke_refresh_tokens: bool,
    /// Answer refreshes without a new `refresh_token` (the old one stays valid).
    pub omit_refresh_token_on_refresh: bool,
    /// The `token_type` sent: `bearer` (older Keycloak, ITC) or `Bearer`.
    pub token_type: &'static str,
    /// The Easy Register service these tokens are for: its citizens, its
    /// approvals, its counters.
    pub service: EasyRegister,
}

struct User {
    name: String,
    password: String,
    enabled: bool,
    /// Whether the account may call the Easy Register service (else 403).
    service_right: bool,
}

struct Session {
    /// The user the session belongs to.
    user: String,
    refresh_token: String,
    refresh_expires_at: Timestamp,
    active: bool,
}

/// How many token requests of each grant the fake answered with a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantCounts {
    /// Successful password grants.
    pub password: u64,
    /// Successful refresh-token grants.
    pub refresh: u64,
    /// Refused requests of any kind.
    pub refused: u64,
}

impl Keycloak {
    /// A realm with no users for the public client `client_id`, and a
    /// service that knows no citizen.
    pub fn new(client_id: impl Into<String>) -> Self {
        Keycloak {
            client_id: client_id.into(),
            users: Vec::new(),
            sessions: Vec::new(),
            access: Issued::default(),
            mint: Mint::default(),
            grants: GrantCounts::default(),
            access_lifetime: Duration::from_secs(300),
            refresh_lifetime: Duration::from_secs(1800),
            revoke_refresh_tokens: false,
            omit_refresh_token_on_refresh: false,
            token_type: "bearer",
            service: EasyRegister::new(),
        }
    }

    /// The ITC staging realm: client `vatps`, the guide's public test account
    /// (`easy-register-test` / `Test@123`), and the service's test citizens
    /// ([`EasyRegister::itc_staging`]).
    pub fn itc_staging() -> Self {
        let mut realm = Keycloak::new(CLIENT_ID);
        realm.add_user(STAGING_TEST_USERNAME, STAGING_TEST_PASSWORD);
        realm.service = EasyRegister::itc_staging();
        realm
    }

    /// Adds an enabled user with the right to call the service.
    pub fn add_user(&mut self, name: &str, password: &str) {
        self.users.push(User {
            name: name.to_owned(),
            password: password.to_owned(),
            enabled: true,
            service_right: true,
        });
    }

    /// Takes the service right from a user: they still get tokens, but every
    /// service call with them is answered 403 (the guide: "the account has no
    /// right to this service").
    pub fn deny_service(&mut self, name: &str) {
        for user in self.users.iter_mut().filter(|u| u.name == name) {
            user.service_right = false;
        }
    }

    /// Gives the service right back (see [`deny_service`](Self::deny_service)).
    pub fn allow_service(&mut self, name: &str) {
        for user in self.users.iter_mut().filter(|u| u.name == name) {
            user.service_right = true;
        }
    }

    /// Revokes every access token issued so far, as if they had all expired:
    /// service calls with them get 401 and [`accepts`](Self::accepts) says
    /// no. Refresh tokens and sessions are untouched, so a session renews
    /// with one refresh grant.
    pub fn expire_access_tokens(&mut self) {
        self.access.clear();
    }

    /// Disables a user: their password grants get 400 `invalid_grant` "Account disabled".
    pub fn disable_user(&mut self, name: &str) {
        for user in self.users.iter_mut().filter(|u| u.name == name) {
            user.enabled = false;
        }
    }

    /// Ends every session (an admin logout): refreshes get "Session not active".
    pub fn end_sessions(&mut self) {
        for session in &mut self.sessions {
            session.active = false;
        }
    }

    /// Whether `token` is an access token this realm issued that is still valid at `now`.
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.access.accepts(now, token)
    }

    /// How many grants were answered, by kind.
    pub fn grants(&self) -> GrantCounts {
        self.grants
    }

    fn token_endpoint(&mut self, now: Timestamp, form: &Form) -> http::Response<Vec<u8>> {
        let field = |name: &str| form.field(name);
        let Some(grant_type) = field("grant_type") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing form parameter: grant_type",
            );
        };
        if field("client_id") != Some(self.client_id.as_str()) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client or Invalid client credentials",
            );
        }
        match grant_type {
            "password" => self.password_grant(now, field("username"), field("password")),
            "refresh_token" => self.refresh_grant(now, field("refresh_token")),
            _ => oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant_type",
            ),
        }
    }

    fn password_grant(
        &mut self,
        now: Timestamp,
        username: Option<&str>,
        password: Option<&str>,
    ) -> http::Response<Vec<u8>> {
        let (Some(username), Some(password)) = (username, password) else {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials",
            );
        };
        let user = self
            .users
            .iter()
            .find(|u| u.name == username && u.password == password);
        match user {
            None => oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "Invalid user credentials",
            ),
            Some(user) if !user.enabled => {
                oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Account disabled")
            }
            Some(user) => {
                let user = user.name.clone();
                self.grants.password += 1;
                let refresh_token = self.mint.next("itc-refresh");
                self.sessions.push(Session {
                    user: user.clone(),
                    refresh_token: refresh_token.clone(),
                    refresh_expires_at: now.saturating_add(self.refresh_lifetime),
                    active: true,
                });
                self.issue(now, &user, Some(refresh_token))
            }
        }
    }

    fn refresh_grant(&mut self, now: Timestamp, refresh_token: Option<&str>) -> http::Response<Vec<u8>> {
        let Some(refresh_token) = refresh_token else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing form parameter: refresh_token",
            );
        };
        let Some(index) = self
            .sessions
            .iter()
            .position(|s| s.refresh_token == refresh_token)
        else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid refresh token");
        };
        let session = &self.sessions[index];
        if now >= session.refresh_expires_at {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Token is not active");
        }
        if !session.active {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Session not active");
        }
        self.grants.refresh += 1;
        let user = session.user.clone();
        if self.omit_refresh_token_on_refresh {
            return self.issue(now, &user, None);
        }
        // Keycloak keeps the session's refresh deadline across refreshes.
        let refresh_expires_at = session.refresh_expires_at;
        let fresh = self.mint.next("itc-refresh");
        if self.revoke_refresh_tokens {
            self.sessions.swap_remove(index);
        }
        self.sessions.push(Session {
            user: user.clone(),
            refresh_token: fresh.clone(),
            refresh_expires_at,
            active: true,
        });
        self.issue(now, &user, Some(fresh))
    }

    /// A Keycloak success body, with the fields a real realm sends.
    fn issue(
        &mut self,
        now: Timestamp,
        user: &str,
        refresh_token: Option<String>,
    ) -> http::Response<Vec<u8>> {
        let access_token = self.mint.next("itc-access");
        self.access.insert_for(
            access_token.clone(),
            Some(now.saturating_add(self.access_lifetime)),
            user,
        );
        let mut body = serde_json::json!({
            "access_token": access_token,
            "expires_in": self.access_lifetime.as_secs(),
            "token_type": self.token_type,
            "not-before-policy": 0,
            "session_state": format!("state-{}", self.grants.password),
            "scope": "profile email",
        });
        if let Some(refresh_token) = refresh_token {
            let expires_at = self
                .sessions
                .iter()
                .find(|s| s.refresh_token == refresh_token)
                .map_or(now, |s| s.refresh_expires_at);
            body["refresh_token"] = refresh_token.into();
            body["refresh_expires_in"] = expires_at.saturating_duration_since(now).as_secs().into();
        }
        json(StatusCode::OK, &body)
    }

    /// A service call: the token's check, then the service's answer.
    fn service_call(
        &mut self,
        now: Timestamp,
        route: Route<'_>,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let owner = bearer_token(request).and_then(|token| self.access.owner(now, token));
        let Some(owner) = owner else {
            return self.service.unauthorized(route);
        };
        let right = self.users.iter().any(|u| u.name == owner && u.service_right);
        if right {
            self.service.serve(route, request)
        } else {
            self.service.forbidden()
        }
    }
}

impl Fake for Keycloak {
    fn handle(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        self.access.prune(now);
        // Expired sessions are kept a day, so that their refresh tokens get
        // Keycloak's "Token is not active" rather than "Invalid refresh token".
        self.sessions
            .retain(|s| now < s.refresh_expires_at.saturating_add(Duration::from_secs(86_400)));
        let path = request.uri().path();
        let response = if path.ends_with("/protocol/openid-connect/token") {
            serve_form(request, |form| self.token_endpoint(now, form))
        } else if let Some(route) = Route::of(path) {
            // Counted by the service, not as a refused grant.
            return self.service_call(now, route, request);
        } else {
            respond(
                StatusCode::NOT_FOUND,
                "text/html",
                b"<html><body>Resource not found</body></html>".to_vec(),
            )
        };
        if !response.status().is_success() {
            self.grants.refused += 1;
        }
        response
    }
}

impl fmt::Debug for Keycloak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keycloak")
            .field("client_id", &self.client_id)
            .field("users", &self.users.len())
            .field("sessions", &self.sessions.len())
            .field("access_tokens", &self.access)
            .field("grants", &self.grants)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}
