//! Log in to Astana-plat by login and password.
//!
//! ```text
//! ASTANA_PLAT_URL=https://…/login ASTANA_PLAT_LOGIN=… ASTANA_PLAT_PASSWORD=… \
//!   cargo run --example astana_plat --features ureq
//! ```
//!
//! Astana-plat's guide prints no address: use the login URL you were given.
//! Certificate login (`astana_plat::login_certificate`) needs the transport
//! to present the client certificate issued by Astana-plat's CA during the TLS
//! handshake (with ureq: `TlsConfig::builder().client_cert(...)`); the flow
//! itself only sends `{"authType": 2}`.

mod support;

use std::time::Duration;

use tokendance::{astana_plat, transport, Endpoint, Password};

fn main() -> std::process::ExitCode {
    support::exit_with(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = support::required_env("ASTANA_PLAT_URL", "the https login URL Astana-plat gave you")?;
    let login = support::required_env("ASTANA_PLAT_LOGIN", "your Astana-plat login")?;
    let password = support::required_env("ASTANA_PLAT_PASSWORD", "your Astana-plat password")?;
    let flow = astana_plat::login_password(&Endpoint::parse(&url)?, &login, Password::new(password))?;
    // The ureq adapter (feature `ureq`): no redirects, bounded bodies, 30 s per exchange.
    let send = transport::ureq::send(&transport::ureq::agent(Duration::from_secs(30)));
    let token = support::drive_for_real(flow, send)?;
    println!(
        "Astana-plat: access token obtained, {}",
        support::describe_expiry(token.expires_at())
    );
    Ok(())
}
