//! `call::Limiter`: calls of one API method kept apart by `Wait` actions,
//! for every call sharing the limiter (threads included), with bounded
//! waits and bounded memory.

use std::sync::Arc;

use super::*;

use proptest::prelude::*;
use tokendance::call::Limiter;

const OUTCOME: &str = "https://api.mdlp.crpt.ru/api/v1/documents/outcome";

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn ms(n: u64) -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000 + n)
}

fn shared(limiter: Limiter) -> Arc<Mutex<Limiter>> {
    Arc::new(Mutex::new(limiter))
}

fn paced(limiter: &Arc<Mutex<Limiter>>, url: &str) -> Authorized<TokenSet> {
    Authorized::new(fixed("t-1"), get(url), Scheme::MdlpToken)
        .unwrap()
        .paced_by(Arc::clone(limiter))
}

#[test]
fn a_second_call_of_a_method_waits_for_its_turn_then_sends() {
    let limiter = shared(Limiter::mdlp());
    let mut first = paced(&limiter, OUTCOME);
    let mut second = paced(&limiter, &format!("{OUTCOME}?start_from=10"));
    let _ = send(first.start(ms(0)));
    // The query is not the method: the second waits a second.
    assert_eq!(wait(second.start(ms(200))), ms(1_000));
    // Woken early (a timer that fires early), it waits again, as long.
    assert_eq!(wait(second.resume(ms(600), Input::Timeout)), ms(1_000));
    let sent = send(second.resume(ms(1_000), Input::Timeout));
    assert_eq!(sent.as_http().uri().query(), Some("start_from=10"));
    assert_eq!(header(&sent, "authorization"), "token t-1");
    let _ = done(second.resume(ms(1_000), answer(200, "{}")));
    // A third call keeps its distance from the second, not the first.
    let mut third = paced(&limiter, OUTCOME);
    assert_eq!(wait(third.start(ms(1_500))), ms(2_000));
}

#[test]
fn methods_hosts_and_overrides_are_paced_apart() {
    let limiter = shared(
        Limiter::mdlp()
            .space(Method::GET, "/api/v1/reestr/egrul", Duration::from_millis(500))
            .unwrap()
            .space(Method::GET, "/api/v1/free", Duration::ZERO)
            .unwrap(),
    );
    for url in [
        OUTCOME,
        "https://api.mdlp.crpt.ru/api/v1/documents/income",
        "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome",
        "https://api.mdlp.crpt.ru/api/v1/reestr/egrul",
        "https://api.mdlp.crpt.ru/api/v1/free",
    ] {
        let _ = send(paced(&limiter, url).start(ms(0)));
    }
    // Another HTTP method on the same path is another API method.
    let post = http::Request::post(OUTCOME).body(b"{}".to_vec()).unwrap();
    let mut call = Authorized::new(fixed("t-1"), post, Scheme::MdlpToken)
        .unwrap()
        .paced_by(Arc::clone(&limiter));
    let _ = send(call.start(ms(0)));
    // Each method now keeps its own spacing.
    assert_eq!(wait(paced(&limiter, OUTCOME).start(ms(10))), ms(1_000));
    let egrul = "https://api.mdlp.crpt.ru/api/v1/reestr/egrul";
    assert_eq!(wait(paced(&limiter, egrul).start(ms(10))), ms(500));
    let _ = send(paced(&limiter, "https://api.mdlp.crpt.ru/api/v1/free").start(ms(10)));
    let _ = send(paced(&limiter, "https://API.MDLP.crpt.ru/api/v1/reestr/egrul").start(ms(500)));
    assert!(matches!(
        Limiter::mdlp().space(Method::GET, "api/v1/x", Duration::ZERO),
        Err(Error::Usage(UsageError::InvalidConfig { .. }))
    ));
}

#[test]
fn the_retry_after_a_401_takes_its_turn_too() {
    let limiter = shared(Limiter::mdlp());
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        get(OUTCOME),
        Scheme::MdlpToken,
    )
    .unwrap()
    .paced_by(Arc::clone(&limiter));
    let key = send(call.start(ms(0)));
    let first = send(answer_sign_in(&mut call, key, ms(0), "suz-1"));
    // Another call of the method takes the next turn, at 1 s.
    let _ = send(paced(&limiter, OUTCOME).start(ms(1_000)));
    let key = send(call.resume(ms(1_100), xml_401()));
    // Signed in again at once; the request itself waits for its turn.
    let until = wait(answer_sign_in(&mut call, key, ms(1_100), "suz-2"));
    assert_eq!(until, ms(2_000));
    let retry = send(call.resume(until, Input::Timeout));
    assert_same_but_credential(&first, &retry, "authorization");
    // A failure while paced ends the call.
    let mut waiting = paced(&limiter, OUTCOME);
    let _ = wait(waiting.start(ms(2_100)));
    assert!(matches!(
        failed(waiting.resume(ms(2_100), Input::Failed)),
        Error::Usage(UsageError::Aborted)
    ));
}

#[test]
fn threads_sharing_a_limiter_send_one_at_a_time() {
    let limiter = shared(Limiter::mdlp());
    let starts: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                scope.spawn(move || {
                    let mut call = paced(&limiter, OUTCOME);
                    matches!(call.start(ms(0)), Ok(Action::Send(_)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(starts.iter().filter(|sent| **sent).count(), 1, "{starts:?}");
}

#[test]
fn waits_are_bounded_and_memory_is_too() {
    let mut limiter = Limiter::mdlp();
    assert_eq!(limiter.admit(&get(OUTCOME), ms(100_000)), Ok(()));
    // The clock went back an hour: the wait is still one spacing at most.
    assert_eq!(limiter.admit(&get(OUTCOME), ms(10_000)), Err(ms(11_000)));
    // Paths with ids are methods of their own; the ones done are forgotten.
    for n in 0..5_000u64 {
        let url = format!("https://api.mdlp.crpt.ru/api/v1/documents/{n}");
        assert_eq!(limiter.admit(&get(&url), ms(200_000 + n * 10)), Ok(()));
    }
    let shown = format!("{limiter:?}");
    let remembered: usize = shown
        .split("remembered: ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches([' ', '}']).parse().ok())
        .unwrap_or_else(|| panic!("{shown}"));
    // The last second's calls (100 of them) and the newest, never all 5,000.
    assert!((100..=257).contains(&remembered), "{shown}");
}

proptest! {
    /// Whatever the calls and however the clock moves: a call is let through
    /// or told to wait at most one spacing, and let through when it comes
    /// back at that time; two calls of one method let through are a spacing
    /// apart, counted from the earlier time when the clock went back.
    #[test]
    fn admitted_calls_of_a_method_are_a_spacing_apart(
        steps in proptest::collection::vec((0usize..3, 0u64..1_500, any::<bool>(), any::<bool>()), 1..60),
    ) {
        let urls = [OUTCOME, "https://api.mdlp.crpt.ru/api/v1/documents/income", "https://h.example/a"];
        let mut limiter = Limiter::mdlp()
            .space(Method::GET, "/a", Duration::from_millis(300))
            .unwrap();
        let mut now = 50_000u64;
        // The model: when each method's turn was last taken.
        let mut last: [Option<u64>; 3] = [None; 3];
        for (which, step, back, come_back) in steps {
            now = if back { now.saturating_sub(step) } else { now + step };
            let spacing = if which == 2 { 300 } else { 1_000 };
            if let Some(before) = &mut last[which] {
                *before = (*before).min(now);
            }
            match limiter.admit(&get(urls[which]), ms(now)) {
                Ok(()) => {
                    if let Some(before) = last[which] {
                        prop_assert!(now >= before + spacing, "{before} then {now}");
                    }
                    last[which] = Some(now);
                }
                Err(until) => {
                    let wait = until.saturating_duration_since(ms(now));
                    prop_assert!(wait > Duration::ZERO && wait <= Duration::from_millis(spacing), "{wait:?}");
                    prop_assert_eq!(Some(until), last[which].map(|b| ms(b + spacing)));
                    if come_back {
                        now = until.as_unix_millis() - 1_700_000_000_000;
                        prop_assert_eq!(limiter.admit(&get(urls[which]), until), Ok(()));
                        last[which] = Some(now);
                    }
                }
            }
        }
    }
}
