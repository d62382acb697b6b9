//! Every CRPT flow through the blocking and the async driver, failing signers and wrong inputs.

use super::*;

/// What a driver's closures saw, in order.
struct DriveLog {
    clock: Cell<Timestamp>,
    server: RefCell<Crpt>,
    log: RefCell<Vec<String>>,
}

impl DriveLog {
    fn new() -> Self {
        DriveLog {
            clock: Cell::new(T0),
            server: RefCell::new(server()),
            log: RefCell::new(Vec::new()),
        }
    }

    fn send(&self, req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let now = self.clock.get();
        self.log.borrow_mut().push(format!(
            "send {} {} at {}",
            req.method(),
            req.uri().path(),
            rel(now)
        ));
        let response = self.server.borrow_mut().handle(now, &req);
        // 40 ms on the wire.
        self.clock.set(now.saturating_add(ms(40)));
        response
    }

    fn sign(&self, job: &SignJob) -> Signature {
        self.log
            .borrow_mut()
            .push(format!("sign {:?} {:?}", job.kind(), job.purpose()));
        self.clock.set(self.clock.get().saturating_add(ms(300)));
        fake::sign(job)
    }

    /// Checks what the driver did for the flow `name`, and that the server
    /// accepts its `token` now.
    fn check(&self, name: &str, token: &TokenSet) {
        assert_eq!(*self.log.borrow(), expected_drive_log(name), "{name}");
        let accepted = self
            .server
            .borrow()
            .accepts(self.clock.get(), CONN, token.access_token());
        assert!(accepted, "{name}");
    }

    fn wait(&self, until: Timestamp) {
        self.log.borrow_mut().push(format!("wait {}", rel(until)));
        self.clock.set(self.clock.get().max(until));
    }
}

/// Every CRPT token flow, by name.
fn token_flows() -> Vec<(&'static str, Box<dyn Flow<Output = TokenSet>>)> {
    vec![
        (
            "gis_mt",
            Box::new(gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap()),
        ),
        (
            "true_api",
            Box::new(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap()),
        ),
        ("mdlp signed", Box::new(mdlp_signed(Some(CONN)))),
        ("mdlp password", Box::new(mdlp_password(Some(CONN)))),
    ]
}

fn expected_drive_log(name: &str) -> Vec<&'static str> {
    match name {
        "gis_mt" => vec![
            "send GET /api/v3/auth/cert/key at +0s",
            "sign Attached GisMtChallenge",
            "send POST /api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +0.340s",
        ],
        "true_api" => vec![
            "send GET /api/v3/true-api/auth/key at +0s",
            "sign Attached TrueApiChallenge",
            "send POST /api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +0.340s",
        ],
        "mdlp signed" => vec![
            "send POST /api/v1/auth at +0s",
            "sign Detached MdlpCode",
            "wait +1.040s",
            "send POST /api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +1.040s",
        ],
        "mdlp password" => vec![
            "send POST /api/v1/auth at +0s",
            "wait +1.040s",
            "send POST /api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +1.040s",
        ],
        _ => unreachable!(),
    }
}

#[test]
fn every_crpt_flow_through_the_blocking_driver() {
    for (name, flow) in token_flows() {
        let d = DriveLog::new();
        let token = drive::drive(
            flow,
            || d.clock.get(),
            |req| Ok::<_, std::convert::Infallible>(d.send(req)),
            |job| Ok::<_, std::convert::Infallible>(d.sign(job)),
            |until| d.wait(until),
        )
        .unwrap();
        d.check(name, &token);
        assert_eq!(d.server.borrow().tokens_issued(), 1);
    }
    // The registration too.
    let d = DriveLog::new();
    let outcome = drive::drive(
        demo_registration(registration::Signing::Detached),
        || d.clock.get(),
        |req| Ok::<_, std::convert::Infallible>(d.send(req)),
        |job| Ok::<_, std::convert::Infallible>(d.sign(job)),
        |until| d.wait(until),
    )
    .unwrap();
    assert!(matches!(outcome, registration::Outcome::Registered { .. }));
    assert_eq!(
        *d.log.borrow(),
        [
            "sign Detached SuzRegistrationBody",
            "send POST /api/v2/integration/connection at +0.300s"
        ]
    );
}

#[test]
fn every_crpt_flow_through_the_async_driver() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for (name, flow) in token_flows() {
        let d = DriveLog::new();
        let token = rt
            .block_on(drive::drive_async(
                flow,
                || d.clock.get(),
                |req| std::future::ready(Ok::<_, std::convert::Infallible>(d.send(req))),
                |job| {
                    let signature = d.sign(&job);
                    async move {
                        tokio::task::yield_now().await;
                        Ok::<_, std::convert::Infallible>(signature)
                    }
                },
                |until| {
                    d.wait(until);
                    std::future::ready(())
                },
            ))
            .unwrap();
        d.check(name, &token);
    }
}

#[test]
fn a_failing_signer_aborts_the_flow() {
    #[derive(Debug)]
    struct SignerDown;
    let d = DriveLog::new();
    let mut flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    let r = drive::drive(
        &mut flow,
        || d.clock.get(),
        |req| Ok::<_, std::convert::Infallible>(d.send(req)),
        |_| Err(SignerDown),
        |until| d.wait(until),
    );
    assert!(matches!(r, Err(DriveError::Signer(SignerDown))));
    // The flow was told and is finished: it never sends the sign-in.
    assert_eq!(
        flow.resume(T0, Input::Signature(Signature::from_der(vec![1])))
            .unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(*d.log.borrow(), ["send GET /api/v3/true-api/auth/key at +0s"]);
    assert_eq!(d.server.borrow().tokens_issued(), 0);
}

#[test]
fn wrong_input_kinds_leave_crpt_flows_unchanged() {
    let mut crpt = server();
    let mut flow = mdlp_signed(Some(CONN));
    let Action::Send(auth) = flow.start(T0).unwrap() else {
        panic!()
    };
    // Waiting for a response: a signature or a timeout is refused.
    for input in [Input::Signature(Signature::from_der(vec![1])), Input::Timeout] {
        let e = flow.resume(T0, input).unwrap_err();
        assert!(
            matches!(e, Error::Usage(UsageError::UnexpectedInput { .. })),
            "{e:?}"
        );
    }
    let answer = crpt.handle(T0, &auth.into_http());
    let Action::Sign(job) = flow.resume(T0, Input::Response(answer)).unwrap() else {
        panic!()
    };
    // Waiting for a signature: a response is refused.
    let e = flow
        .resume(T0, Input::Response(http::Response::new(b"{}".to_vec())))
        .unwrap_err();
    assert_eq!(
        e,
        Error::Usage(UsageError::UnexpectedInput {
            expected: tokendance::Expect::Signature,
            got: tokendance::InputKind::Response,
        })
    );
    let Action::Wait(until) = flow.resume(T0, Input::Signature(fake::sign(&job))).unwrap() else {
        panic!()
    };
    // Waiting for the timeout: a signature is refused.
    let e = flow
        .resume(until, Input::Signature(fake::sign(&job)))
        .unwrap_err();
    assert_eq!(
        e,
        Error::Usage(UsageError::UnexpectedInput {
            expected: tokendance::Expect::Timeout,
            got: tokendance::InputKind::Signature,
        })
    );
    let Action::Send(token_req) = flow.resume(until, Input::Timeout).unwrap() else {
        panic!()
    };
    let answer = crpt.handle(until, &token_req.into_http());
    let Action::Done(token) = flow.resume(until, Input::Response(answer)).unwrap() else {
        panic!()
    };
    assert!(crpt.accepts(until, CONN, token.access_token()));
}
