//! A token without a lifetime is never renewed.

use super::*;

// ====================================================================
// A token without a lifetime.

/// A password grant answered without `expires_in`: the session hands out
/// that token at every later poll, up to `Timestamp::MAX` and after a clock
/// stepped back, and its deadline is `Timestamp::MAX` (nothing to wake for).
#[test]
fn a_token_without_a_lifetime_is_never_renewed() {
    let mut tally = Tally::new("a_token_without_a_lifetime_is_never_renewed");
    let polls = proptest::collection::vec(prop_oneof![instant(), Just(Timestamp::MAX)], 1..8);
    tally.sample(200, (instant(), polls), |(answered, polls)| {
        let mut session = itc_session();
        match session.poll(*answered) {
            Ok(SessionAction::Send(_)) => {}
            other => return Err(format!("setup: {other:?}")),
        }
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(br#"{"access_token":"forever-1","token_type":"Bearer"}"#.to_vec())
            .map_err(|e| e.to_string())?;
        session
            .handle_response(*answered, response)
            .map_err(|e| format!("setup: {e}"))?;
        for &at in polls.iter().chain([Timestamp::MAX].iter()) {
            match session.poll(at) {
                Ok(SessionAction::UseToken(token)) if token.expose_secret() == "forever-1" => {}
                other => return Err(format!("at {at:?}: {:?}", other.map(|a| session_kind(&a)))),
            }
            match session.next_deadline() {
                Some(Timestamp::MAX) => {}
                other => return Err(format!("at {at:?}: the deadline {other:?}")),
            }
        }
        Ok(())
    });
    tally.finish();
}
