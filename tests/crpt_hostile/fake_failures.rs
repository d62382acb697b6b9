//! Every failure mode of `fake::Crpt` at every step, through the whole flow.

use super::*;

/// Runs the flow of `step` against the fake with `fake::sign`, switching the
/// fake to `failure` for the step's own request.
fn against_fake(step: Step, failure: CrptFailure) -> Error {
    let mut crpt = Crpt::new();
    crpt.set_mdlp_client("client-1", MDLP_SECRET);
    crpt.add_mdlp_user("user@example.org", MDLP_PASSWORD);
    let mut flow: Erased = match step {
        Registration => erase(registration_flow(tokendance::crpt::DEMO_REGISTRATION_KEY)),
        _ => erase_token(step),
    };
    let mut now = T0;
    let mut sends = 0;
    let mut action = flow(now, None);
    loop {
        match action {
            Ok(Action::Store(_)) => unreachable!("these flows use no store"),
            Ok(Action::Send(out)) => {
                if sends == step.sends_before() {
                    crpt.failure = Some(failure);
                }
                sends += 1;
                let response = crpt.handle(now, &out.into_http());
                action = flow(now, Some(Input::Response(response)));
            }
            Ok(Action::Sign(job)) => {
                assert_eq!(
                    job.kind(),
                    if matches!(step, GisMtKey | GisMtSignIn | TrueApiKey | TrueApiSignIn) {
                        SignatureKind::Attached
                    } else {
                        SignatureKind::Detached
                    }
                );
                action = flow(now, Some(Input::Signature(fake::sign(&job))));
            }
            Ok(Action::Wait(until)) => {
                now = until;
                action = flow(now, Some(Input::Timeout));
            }
            Ok(Action::Done(d)) => panic!("{step:?} with {failure:?}: done: {d}"),
            Err(e) => {
                assert_clean(step, &e);
                assert_eq!(sends, step.sends_before() + 1, "{step:?}");
                // Finished for good.
                for _ in 0..3 {
                    assert_eq!(
                        flow(now, Some(Input::Timeout)).unwrap_err(),
                        Error::Usage(UsageError::Finished)
                    );
                }
                assert_eq!(crpt.tokens_issued(), 0);
                return e;
            }
        }
    }
}

type Erased = Box<dyn FnMut(Timestamp, Option<Input>) -> Result<Action<String>, Error>>;

/// A flow as one closure: `None` starts it, `Some(input)` resumes it.
fn erase<F: Flow + 'static>(mut flow: F) -> Erased
where
    F::Output: std::fmt::Debug,
{
    Box::new(move |now, input| {
        let a = match input {
            None => flow.start(now),
            Some(input) => flow.resume(now, input),
        }?;
        Ok(match a {
            Action::Store(op) => Action::Store(op),
            Action::Send(o) => Action::Send(o),
            Action::Sign(j) => Action::Sign(j),
            Action::Wait(t) => Action::Wait(t),
            Action::Done(v) => Action::Done(format!("{v:?}")),
        })
    })
}

fn erase_token(step: Step) -> Erased {
    match step {
        GisMtKey | GisMtSignIn => erase(gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap()),
        TrueApiKey | TrueApiSignIn => {
            erase(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap())
        }
        MdlpAuthSigned | MdlpTokenSigned => erase(mdlp_flow(false)),
        MdlpAuthPassword | MdlpTokenPassword => erase(mdlp_flow(true)),
        Registration => unreachable!(),
    }
}

/// A failure mode and what it becomes: status, kind, code, message.
type FailureCase<'a> = (
    CrptFailure,
    u16,
    ServerErrorKind,
    Option<&'a str>,
    Option<&'a str>,
);

#[test]
fn every_failure_mode_of_the_fake_at_every_step() {
    use ServerErrorKind::*;
    let cases: [FailureCase<'_>; 8] = [
        (
            CrptFailure::NginxNotFound,
            404,
            NotFound,
            None,
            Some("404 Not Found"),
        ),
        (
            CrptFailure::BadGateway,
            502,
            Unavailable,
            None,
            Some("502 Bad Gateway"),
        ),
        (CrptFailure::XmlUnauthorized, 401, Unauthorized, None, None),
        (CrptFailure::EmptyNotAcceptable, 406, Rejected, None, None),
        (
            CrptFailure::ErrorIn200,
            200,
            Rejected,
            Some("4"),
            Some("Сертификат не найден"),
        ),
        (
            CrptFailure::RateLimited,
            429,
            RateLimited,
            None,
            Some("Too many requests"),
        ),
        (
            CrptFailure::SpringError,
            400,
            Rejected,
            Some("Bad Request"),
            Some("Invalid auth request"),
        ),
        (
            CrptFailure::SuzGlobalErrors,
            400,
            Rejected,
            Some("1001"),
            Some("Неверный omsId"),
        ),
    ];
    for step in ALL {
        for (failure, status, kind, code, message) in cases {
            let e = against_fake(step, failure);
            let s = e
                .as_server()
                .unwrap_or_else(|| panic!("{step:?} {failure:?}: {e:?}"));
            assert_eq!(
                (s.status.as_u16(), s.kind, s.code.as_deref(), s.message.as_deref()),
                (status, kind, code, message),
                "{step:?} {failure:?}"
            );
            assert_eq!(e.is_retryable(), matches!(kind, RateLimited | Unavailable));
            if failure == CrptFailure::RateLimited {
                assert_eq!(e.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(5))));
            }
        }
    }
}
