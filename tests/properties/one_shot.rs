//! The one-shot flows (GAM, Monpay, Astana Plat) against arbitrary operations, and token lifetimes.

use super::*;

fn check_token(token: &TokenSet, started_at: Option<Timestamp>) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        Some(token.obtained_at()),
        started_at,
        "expiry is counted from the send"
    );
    if let Some(e) = token.expires_at() {
        prop_assert!(e >= token.obtained_at());
    }
    if let Some(e) = token.refresh_expires_at() {
        prop_assert!(e >= token.obtained_at());
        prop_assert!(token.refresh_token().is_some());
    }
    prop_assert!(!token.access_token().expose_secret().is_empty());
    if let Some(r) = token.renew_at(Duration::from_secs(30)) {
        prop_assert!(r <= token.expires_at().unwrap());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn one_shot_flows_keep_their_contract(which in 0u8..4, t0 in arb_t0(), ops in arb_ops()) {
        let mut flow = build_one_shot(which);
        let run = check_flow(&mut flow, t0, &ops, false)?;
        if let Some((token, _)) = &run.done {
            check_token(token, run.started_at)?;
        }
        // Whatever happened, Debug never panics and never shows a secret.
        let debug = format!("{flow:?}");
        prop_assert!(!debug.contains("s3cret") && !debug.contains("code-1") && !debug.contains("pw-1"));
    }

    /// A well-formed token body always gives a token whose expiry is
    /// `sent_at + expires_in` (saturating), whatever the clock reads.
    #[test]
    fn token_lifetimes_saturate(t0 in arb_t0(), dt in arb_dt(), lifetime in any::<u64>(), as_string in any::<bool>()) {
        let mut flow = build_one_shot(0);
        let sent = Timestamp::from_unix_millis(t0);
        let Action::Send(_) = flow.start(sent)? else { return Err(TestCaseError::fail("no Send")) };
        let exp = if as_string { json!(lifetime.to_string()) } else { json!(lifetime) };
        let body = serde_json::to_vec(&json!({"access_token": "t", "expires_in": exp})).unwrap();
        let later = sent.saturating_add(Duration::from_millis(dt));
        let action = flow.resume(later, Input::Response(http::Response::new(body)))?;
        let Action::Done(token) = action else { return Err(TestCaseError::fail("not Done")) };
        prop_assert_eq!(token.obtained_at(), sent);
        let want = (u128::from(t0) + u128::from(lifetime) * 1000).min(u128::from(u64::MAX));
        prop_assert_eq!(u128::from(token.expires_at().unwrap().as_unix_millis()), want);
    }
}
