//! Exchange a MonPay mini-app authorization code for a token.
//!
//! ```text
//! MONPAY_STAND=test MONPAY_CLIENT_ID=… MONPAY_CLIENT_SECRET=… \
//!   MONPAY_REDIRECT_URI=https://yourdomain.example MONPAY_CODE=… cargo run --example monpay --features ureq
//! ```
//!
//! The code comes from the mini app's authorization step and works once.

mod support;

use std::time::Duration;

use tokendance::{monpay, transport, AuthCode, ClientSecret};

fn main() -> std::process::ExitCode {
    support::exit_with(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let stand = support::required_env("MONPAY_STAND", "test (z-wallet) or production")?;
    let config = match stand.as_str() {
        "test" => monpay::Config::test(),
        "production" => monpay::Config::production(),
        other => return Err(format!("MONPAY_STAND is {other:?}: use test or production").into()),
    };
    let client_id = support::required_env("MONPAY_CLIENT_ID", "the client id MobiFinance gave you")?;
    let secret = support::required_env("MONPAY_CLIENT_SECRET", "the client secret MobiFinance gave you")?;
    let redirect_uri =
        support::required_env("MONPAY_REDIRECT_URI", "the redirect URI registered with MonPay")?;
    let code = support::required_env("MONPAY_CODE", "the code from the mini app's authorization step")?;
    let flow = monpay::exchange_code(
        &config,
        &client_id,
        ClientSecret::new(secret),
        AuthCode::new(code),
        &redirect_uri,
    )?;
    // The ureq adapter (feature `ureq`): no redirects, bounded bodies, 30 s per exchange.
    let send = transport::ureq::send(&transport::ureq::agent(Duration::from_secs(30)));
    let token = support::drive_for_real(flow, send)?;
    println!(
        "MonPay {stand}: access token obtained, {}",
        support::describe_expiry(token.expires_at())
    );
    Ok(())
}
