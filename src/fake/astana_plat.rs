//! Astana-plat's login endpoint.

use std::fmt;

use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};

use super::{json, Fake, Issued, Mint};
use crate::secret::AccessToken;
use crate::time::Timestamp;

/// What Astana-plat's CA says about the certificate the transport presented
/// (the fake cannot see TLS, so the test chooses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateCase {
    /// A valid certificate of a known user: a token.
    #[default]
    Valid,
    /// A valid certificate of nobody known: 400 "User with given credentials not found".
    UnknownUser,
    /// The CA answered 404: 400 "Endpoint not found".
    CaNotFound,
    /// The CA answered 500: 400 "Error. Try later".
    CaFailed,
    /// The CA answered another status: 400 "Unknown error. Try later".
    CaOtherStatus,
    /// The CA sent malformed data: 400 "Incorrect response body. Try again.".
    CaMalformed,
    /// Revoked or expired: 400 "Certificate is outdated. Please get fresh one.".
    Outdated,
}

/// A fake Astana-plat login: `POST` (to any path) with `{"authType": 1,
/// "login", "password"}` or `{"authType": 2}`.
///
/// Every answer is the guide's envelope `{"statusCode", "message"}` with the
/// documented HTTP status: 200 "Access token created" with `data.token`;
/// 422 "Incorrect credentials" when a field is missing or mistyped; 400
/// "User with given credentials not found"; the certificate cases of
/// [`CertificateCase`]; 500 "Error on server. try later" while
/// [`failing`](Self::failing). With
/// [`errors_in_http_200`](Self::errors_in_http_200) the refusals arrive with
/// HTTP 200, as some deployments send them. Tokens have no lifetime.
pub struct AstanaPlat {
    users: Vec<(String, String)>,
    issued: Issued,
    mint: Mint,
    /// What the CA says about the presented certificate (`authType` 2).
    pub certificate: CertificateCase,
    /// Answer every login with 500 "Error on server. try later".
    pub failing: bool,
    /// Send refusals with HTTP status 200 (the envelope keeps the real code).
    pub errors_in_http_200: bool,
}

impl AstanaPlat {
    /// A login endpoint with no users and a valid certificate.
    pub fn new() -> Self {
        AstanaPlat {
            users: Vec::new(),
            issued: Issued::default(),
            mint: Mint::default(),
            certificate: CertificateCase::Valid,
            failing: false,
            errors_in_http_200: false,
        }
    }

    /// Adds a user who logs in with `login` and `password`.
    pub fn add_user(&mut self, login: &str, password: &str) {
        self.users.push((login.to_owned(), password.to_owned()));
    }

    /// Whether `token` was issued here.
    pub fn accepts(&self, now: Timestamp, token: &AccessToken) -> bool {
        self.issued.accepts(now, token)
    }

    fn login(&mut self, request: &http::Request<Vec<u8>>) -> Result<String, (u16, &'static str)> {
        const INCORRECT: (u16, &str) = (422, "Incorrect credentials");
        if self.failing {
            return Err((500, "Error on server. try later"));
        }
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
        if request.method() != Method::POST || !is_json {
            return Err(INCORRECT);
        }
        let body: serde_json::Value = serde_json::from_slice(request.body()).map_err(|_| INCORRECT)?;
        let text = |name: &str| body.get(name).and_then(serde_json::Value::as_str);
        match body.get("authType").and_then(serde_json::Value::as_u64) {
            Some(1) => {
                let (Some(login), Some(password)) = (text("login"), text("password")) else {
                    return Err(INCORRECT);
                };
                if !self.users.iter().any(|(l, p)| l == login && p == password) {
                    return Err((400, "User with given credentials not found"));
                }
            }
            Some(2) => match self.certificate {
                CertificateCase::Valid => {}
                CertificateCase::UnknownUser => return Err((400, "User with given credentials not found")),
                CertificateCase::CaNotFound => return Err((400, "Endpoint not found")),
                CertificateCase::CaFailed => return Err((400, "Error. Try later")),
                CertificateCase::CaOtherStatus => return Err((400, "Unknown error. Try later")),
                CertificateCase::CaMalformed => return Err((400, "Incorrect response body. Try again.")),
                CertificateCase::Outdated => {
                    return Err((400, "Certificate is outdated. Please get fresh one."))
                }
            },
            _ => return Err(INCORRECT),
        }
        Ok(self.mint.next("astana-access"))
    }
}

impl Default for AstanaPlat {
    fn default() -> Self {
        Self::new()
    }
}

impl Fake for AstanaPlat {
    // Astana-plat documents no token lifetime, so time plays no part here.
    fn handle(&mut self, _now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        match self.login(request) {
            Ok(token) => {
                self.issued.insert(token.clone(), None);
                json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "statusCode": 200,
                        "message": "Access token created",
                        "data": { "token": token },
                    }),
                )
            }
            Err((code, message)) => {
                let status = if self.errors_in_http_200 {
                    StatusCode::OK
                } else {
                    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
                };
                json(
                    status,
                    &serde_json::json!({ "statusCode": code, "message": message }),
                )
            }
        }
    }
}

impl fmt::Debug for AstanaPlat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AstanaPlat")
            .field("users", &self.users.len())
            .field("tokens", &self.issued.len())
            .field("certificate", &self.certificate)
            .field("failing", &self.failing)
            .field("errors_in_http_200", &self.errors_in_http_200)
            .finish_non_exhaustive()
    }
}
