//! Get a GAM Open API token (client credentials) from the real server.
//!
//! ```text
//! GAM_STAND=staging GAM_CLIENT_ID=… GAM_CLIENT_SECRET=… \
//!   GAM_SCOPE='iam:user-password:update' cargo run --example gam --features ureq
//! ```

mod support;

use std::time::Duration;

use tokendance::{gam, transport, ClientSecret};

fn main() -> std::process::ExitCode {
    support::exit_with(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let stand = support::required_env("GAM_STAND", "staging or production")?;
    let config = match stand.as_str() {
        "staging" => gam::Config::staging(),
        "production" => gam::Config::production(),
        other => return Err(format!("GAM_STAND is {other:?}: use staging or production").into()),
    };
    let client_id = support::required_env("GAM_CLIENT_ID", "the client id GAM's IAM issued you")?;
    let secret = support::required_env("GAM_CLIENT_SECRET", "the client secret paired with it")?;
    let scope = support::required_env("GAM_SCOPE", "the space-separated scopes you were granted")?;
    let flow = gam::client_credentials(&config, &client_id, ClientSecret::new(secret), &scope)?;
    // The ureq adapter (feature `ureq`): no redirects, bounded bodies, 30 s per exchange.
    let send = transport::ureq::send(&transport::ureq::agent(Duration::from_secs(30)));
    let token = support::drive_for_real(flow, send)?;
    println!(
        "GAM {stand}: access token obtained, {}; scope: {}",
        support::describe_expiry(token.expires_at()),
        token.scope().unwrap_or("(not echoed)")
    );
    Ok(())
}
