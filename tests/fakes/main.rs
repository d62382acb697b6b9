//! The fakes behave as each provider's documentation says: these tests pin
//! every documented answer, since users test their own code against them.
#![cfg(feature = "fake")]

use std::time::Duration;

use tokendance::fake::{self, AstanaPlat, CertificateCase, Crpt, Fake, Fakes, Gam, Keycloak, MonPay};
use tokendance::{AccessToken, SignatureKind, Timestamp};

mod api;
mod astana_plat;
// From `tests/fakes/`, a plain `mod common;` would look for `fakes/common.rs`.
#[path = "../common/mod.rs"]
mod common;
mod crpt;
mod easy_register;
mod gam;
mod keycloak;
mod monpay;
mod router;

use common::time::{at, T0};
const TOKEN_PATH: &str = "https://realm.test/auth/realms/Staging/protocol/openid-connect/token";

fn form(url: &str, pairs: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes();
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

fn json_post(url: &str, body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// Status and the parsed JSON body.
fn answer(
    fake: &mut impl Fake,
    now: Timestamp,
    request: &http::Request<Vec<u8>>,
) -> (u16, serde_json::Value) {
    let response = fake.handle(now, request);
    let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
    (response.status().as_u16(), body)
}

fn oauth_error(status: u16, code: &str, description: &str) -> (u16, serde_json::Value) {
    (
        status,
        serde_json::json!({"error": code, "error_description": description}),
    )
}

fn password_grant(user: &str, password: &str) -> http::Request<Vec<u8>> {
    form(
        TOKEN_PATH,
        &[
            ("grant_type", "password"),
            ("client_id", "vatps"),
            ("username", user),
            ("password", password),
        ],
    )
}

fn refresh_grant(refresh_token: &str) -> http::Request<Vec<u8>> {
    form(
        TOKEN_PATH,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "vatps"),
            ("refresh_token", refresh_token),
        ],
    )
}

fn text(body: &serde_json::Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

const GAM_TOKEN: &str = "https://iam.test/oauth2/v3/token";

fn gam_request(id: &str, secret: &str, scope: &str) -> http::Request<Vec<u8>> {
    form(
        GAM_TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ],
    )
}
