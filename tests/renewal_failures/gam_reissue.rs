//! GAM: `Reissue` over `fake::Gam` while the token request fails.

use super::*;

fn gam_config() -> gam::Config {
    gam::Config::new(
        Endpoint::parse("https://iam.fake").unwrap(),
        Endpoint::parse("https://gateway.fake/oms").unwrap(),
    )
}

/// `fake::Gam` behind a proxy that answers its token endpoint with
/// `hostile` while set.
struct Gam {
    gam: fake::Gam,
    hostile: Option<Hostile>,
    token_requests: usize,
    business_tokens: Vec<String>,
}

impl Gam {
    fn new() -> Self {
        let mut gam = fake::Gam::new();
        gam.add_client("shop", "s3cret", &["orders:read"]);
        Gam {
            gam,
            hostile: None,
            token_requests: 0,
            business_tokens: Vec::new(),
        }
    }
}

impl Server for Gam {
    fn answer(
        &mut self,
        now: Timestamp,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        if request.uri().path() == "/oauth2/v3/token" {
            self.token_requests += 1;
            if let Some(hostile) = &self.hostile {
                return hostile.response();
            }
        } else {
            self.business_tokens.push(bearer(request).unwrap_or_default());
        }
        Some(self.gam.handle(now, request))
    }
}

/// A GAM business call with the source's token.
fn gam_call(
    source: &mut Reissue<MakeGam, TokenRequest>,
    now: &mut Timestamp,
    server: &mut Gam,
) -> Result<(), Error> {
    let body = serde_json::json!({"customerCode": "C-1"});
    let mut call = gam::post::<_, serde_json::Value>(
        &gam_config(),
        fake::DEMO_PARTNER_CODE,
        &["api", "v1", "orders"],
        &body,
        source,
    )?;
    let envelope = run(&mut call, now, server)?;
    assert_eq!(envelope.status.as_str(), "200");
    Ok(())
}

/// The held token is due (30 s before its hour is up) and the token
/// request fails: the call gets the valid token, and later polls within the
/// back-off hand it out without a new request. After expiry the failure
/// reaches the call. Without a token the call fails, and the next poll
/// waits instead of sending again.
#[test]
fn a_failed_reissue_leaves_the_call_its_valid_token_and_backs_off() {
    let mut tally = Tally::new("a_failed_reissue_leaves_the_call_its_valid_token_and_backs_off");
    let failures = prop_oneof![
        2 => select(named_failures()),
        4 => any_answer(BODIES.len() + RETRYABLE_OAUTH.len()),
        1 => (select(TYPED_REFUSALS.to_vec()), select(vec![400u16, 401, 403]))
            .prop_map(|(code, status)| Hostile::Typed { status, code }),
    ];
    let check = |(hostile, offset_ms, late_ms): &(Hostile, u64, u64)| {
        let mut source = reissue(gam_config());
        let mut server = Gam::new();
        let mut now = T0;
        gam_call(&mut source, &mut now, &mut server).map_err(|e| format!("setup: {e}"))?;
        let old = source.token().ok_or("setup: no token")?.access_token().clone();
        server.hostile = Some(hostile.clone());
        server.token_requests = 0;
        server.business_tokens.clear();
        let t = at_ms(*offset_ms);
        let mut now = t;
        if let Err(err) = gam_call(&mut source, &mut now, &mut server) {
            return Err(format!(
                "reached: the call failed with {err} while the token had {:?} left",
                at(3600).saturating_duration_since(t)
            ));
        }
        if server.token_requests != 1 || server.business_tokens != [old.expose_secret()] {
            return Err(format!(
                "token: {} token requests, the API saw {:?}",
                server.token_requests, server.business_tokens
            ));
        }
        for later in [0, 1, 500] {
            match source.poll_token(t.saturating_add(Duration::from_millis(later))) {
                Ok(Action::Done(token)) if token == old => {}
                other => {
                    return Err(format!(
                        "backoff: {later} ms after the failure, poll_token gave {:?}",
                        other.map(|a| kind(&a))
                    ))
                }
            }
        }
        // After expiry the failure is the call's.
        server.business_tokens.clear();
        let mut now = at(3600).saturating_add(Duration::from_millis(*late_ms));
        match gam_call(&mut source, &mut now, &mut server) {
            Err(err) => hostile.check_error(&err)?,
            Ok(()) => return Err("expired: the call succeeded".into()),
        }
        if !server.business_tokens.is_empty() {
            return Err(format!("expired: the API saw {:?}", server.business_tokens));
        }
        // No token at all: the call fails, then the source waits.
        let mut empty = reissue(gam_config());
        server.token_requests = 0;
        let mut now = t;
        match gam_call(&mut empty, &mut now, &mut server) {
            Err(err) => hostile.check_error(&err)?,
            Ok(()) => return Err("empty: the call succeeded".into()),
        }
        for later in [0, 1, 500] {
            let when = now.saturating_add(Duration::from_millis(later));
            match empty.poll_token(when) {
                Ok(Action::Wait(until)) if until > when => {}
                other => {
                    return Err(format!(
                        "no backoff: {later} ms after the failure, poll_token gave {:?}",
                        other.map(|a| kind(&a))
                    ))
                }
            }
        }
        if server.token_requests != 1 {
            return Err(format!("no backoff: {} token requests", server.token_requests));
        }
        Ok(())
    };
    for hostile in named_failures() {
        let case = (hostile, 3_570_000, 0);
        tally.check(format_args!("{case:?}"), check(&case));
    }
    tally.sample(300, (failures, 3_570_000u64..3_599_000, 0u64..5_000), check);
    tally.finish();
}
