//! Get an ITC Easy Register token from the real realm.
//!
//! ```text
//! ITC_STAND=staging ITC_USERNAME=easy-register-test ITC_PASSWORD='Test@123' cargo run --example itc --features ureq
//! ```
//!
//! `ITC_STAND` is `staging` or `production`; `ITC_REALM_URL` overrides the
//! realm (some production accounts live in a realm named `Production`). The
//! staging account above is the public test account printed in ITC's guide.
//! The ITC realm answers only from Mongolian addresses: elsewhere expect a
//! "body is not JSON" error carrying the proxy's status.

mod support;

use std::time::Duration;

use tokendance::{itc, transport, Endpoint, Password};

fn main() -> std::process::ExitCode {
    support::exit_with(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let stand = support::required_env("ITC_STAND", "staging or production")?;
    let mut config = match stand.as_str() {
        "staging" => itc::Config::staging(),
        "production" => itc::Config::production(),
        other => return Err(format!("ITC_STAND is {other:?}: use staging or production").into()),
    };
    if let Ok(realm) = std::env::var("ITC_REALM_URL") {
        config = itc::Config::new(Endpoint::parse(&realm)?, config.service().clone());
    }
    let username = support::required_env(
        "ITC_USERNAME",
        "your Easy Register user name (staging test account: easy-register-test)",
    )?;
    let password = support::required_env(
        "ITC_PASSWORD",
        "your Easy Register password (staging test account: Test@123)",
    )?;
    let mut session = itc::session(&config, username, Password::new(password))?;
    // The ureq adapter (feature `ureq`): no redirects, bounded bodies, 30 s per exchange.
    let send = transport::ureq::send(&transport::ureq::agent(Duration::from_secs(30)));
    support::drive_for_real(session.fetch(), send)?;
    let tokens = session.tokens().ok_or("the session holds no token")?;
    println!(
        "ITC {stand}: access token obtained, {}; refresh token: {}",
        support::describe_expiry(tokens.expires_at()),
        support::describe_expiry(tokens.refresh_expires_at()),
    );
    Ok(())
}
