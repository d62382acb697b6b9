//! What the call and its token sources show and keep.

use super::*;

/// `Debug` names the state and the target, never the token.
#[test]
fn debug_shows_state_and_target_but_no_token() {
    let request = http::Request::get("https://api.example/v1/items?key=q")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fixed("dbg-token-1"), request, Scheme::Bearer).unwrap();
    let shown = format!("{call:?}");
    assert!(shown.contains("Authorized") && shown.contains("New"), "{shown}");
    assert!(shown.contains("/v1/items") && shown.contains("Bearer"), "{shown}");
    let _ = send(call.start(T0));
    let shown = format!("{call:?}");
    assert!(shown.contains("AwaitingApi"), "{shown}");
    assert!(
        !shown.contains("dbg-token-1") && !shown.contains("key=q"),
        "{shown}"
    );

    let config = gam::Config::staging();
    let mut source = Reissue::new(|| {
        gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
    });
    assert!(format!("{source:?}").contains("renewing: false"));
    let _ = send(source.poll_token(T0));
    let shown = format!("{source:?}");
    assert!(
        shown.contains("Reissue") && shown.contains("renewing: true"),
        "{shown}"
    );

    let mut keeper = TokenKeeper::new("conn-dbg");
    let mut source = KeeperSource::new(&mut keeper, || {
        true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-dbg"))
    });
    assert!(format!("{source:?}").contains("renewing: false"));
    let _ = send(source.poll_token(T0));
    let shown = format!("{source:?}");
    assert!(
        shown.contains("KeeperSource") && shown.contains("renewing: true"),
        "{shown}"
    );
}

/// A boxed source forwards every call, the refusal included.
#[test]
fn a_boxed_source_forwards_the_refusal() {
    let mut boxed: Box<dyn TokenSource> = Box::new(fixed("boxed-1"));
    assert_eq!(done(boxed.poll_token(T0)).expose_secret(), "boxed-1");
    boxed.token_rejected(T0, &AccessToken::new("another"));
    assert_eq!(done(boxed.poll_token(T0)).expose_secret(), "boxed-1");
    boxed.token_rejected(T0, &AccessToken::new("boxed-1"));
    assert_eq!(
        failed(boxed.poll_token(T0)),
        Error::Usage(UsageError::TokenUnavailable)
    );
}

/// `Reissue::with_token` starts from the given token: no flow runs while it is fresh.
#[test]
fn reissue_with_a_token_uses_it_without_running_a_flow() {
    let made = Cell::new(0u32);
    let config = gam::Config::staging();
    let token = TokenSet::new(AccessToken::new("restored-1"), T0, Some(at(3_600)));
    let mut source = Reissue::with_token(
        || {
            made.set(made.get() + 1);
            gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
        },
        token,
    );
    assert_eq!(
        source.token().map(|t| t.access_token().expose_secret()),
        Some("restored-1")
    );
    assert_eq!(done(source.poll_token(at(60))).expose_secret(), "restored-1");
    assert_eq!(made.get(), 0);
    // 30 s before expiry it is renewed.
    let _ = send(source.poll_token(at(3_600 - 30)));
    assert_eq!(made.get(), 1);
}
