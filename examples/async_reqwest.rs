//! The async driver on tokio with reqwest, against the fakes on 127.0.0.1.
//!
//! `cargo run --example async_reqwest --features fake,reqwest`
//!
//! tokendance has no runtime dependency: `drive_async` is generic over your
//! closures' futures, so its future is `Send` exactly when they are. Here it
//! runs inside `tokio::spawn`, which only accepts `Send` futures: that this
//! example compiles is the proof for reqwest on tokio. The clock is the real
//! one, read by the caller and passed in, as it would be in production.

mod support;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::fake::{self, Fake, Fakes};
use tokendance::{gam, itc, transport, ClientSecret, Endpoint, Password, Timestamp};

use support::LoopbackServer;

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// Sleeps until `until` on tokio's timer.
async fn sleep_until(until: Timestamp) {
    tokio::time::sleep(until.saturating_duration_since(now())).await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fakes = Arc::new(Mutex::new(Fakes::new()));
    let server = {
        let fakes = Arc::clone(&fakes);
        LoopbackServer::start(Arc::new(move |request: http::Request<Vec<u8>>| {
            let mut fakes = fakes.lock().unwrap_or_else(PoisonError::into_inner);
            fakes.handle(now(), &request)
        }))?
    };
    let base = server.base_url();
    let local = |path: &str| Endpoint::parse_insecure_http(&format!("{base}{path}"));
    // The reqwest adapter (feature `reqwest`): no redirects, bounded bodies,
    // 30 s per exchange; `send` gives the closure drive_async takes.
    let client = transport::reqwest::client(Duration::from_secs(30))?;

    // GAM client credentials, driven inside tokio::spawn (so: Send).
    let config = gam::Config::new(local("/gam")?, local("/gam/oms")?);
    let flow = gam::client_credentials(
        &config,
        fake::DEMO_CLIENT_ID,
        ClientSecret::new(fake::DEMO_CLIENT_SECRET),
        fake::DEMO_GAM_SCOPE,
    )?;
    let send = transport::reqwest::send(&client);
    let task = tokio::spawn(async move {
        drive::drive_async(flow, now, send, drive::no_signer_async, sleep_until).await
    });
    let token = task.await??;
    println!(
        "GAM: token obtained, expires in {} s",
        token
            .expires_at()
            .map_or(0, |t| t.saturating_duration_since(now()).as_secs())
    );

    // The ITC session, fetched twice: the second answer comes from the cache.
    let config = itc::Config::new(
        local("/itc/auth/realms/Staging")?,
        local("/itc/api/easy-register/")?,
    );
    let mut session = itc::session(
        &config,
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )?;
    for attempt in 1..=2 {
        let result: Result<_, DriveError<transport::reqwest::Error, NoSigner>> = drive::drive_async(
            session.fetch(),
            now,
            transport::reqwest::send(&client),
            drive::no_signer_async,
            sleep_until,
        )
        .await;
        result?;
        let grants = fakes.lock().unwrap_or_else(PoisonError::into_inner).itc.grants();
        println!(
            "ITC fetch #{attempt}: token in hand; the realm has answered {} password grant(s)",
            grants.password
        );
        if grants.password != 1 {
            return Err("the second fetch should have used the cached token".into());
        }
    }
    drop(server);
    Ok(())
}
