//! CRPT types and the token keeper in every state; the fake's tokens.

use super::*;

#[test]
fn crpt_types_redact() {
    use tokendance::crpt::{self, mdlp, KeeperAction, Snapshot, TokenKeeper};
    let mut seen = Seen::default();
    let now = T0;
    seen.debug(
        "mdlp auth password",
        &mdlp::Auth::Password(Password::new(MDLP_PW)),
    );
    seen.debug("mdlp auth signed", &mdlp::Auth::SignedCode);
    let client = mdlp::Client {
        id: "client-one".to_owned(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    seen.debug("mdlp client", &client);
    seen.debug("registration key", &RegistrationKey::new(REG_KEY));
    // Wrapped base64 from a signer, and its errors.
    let b64 = sig_b64();
    let wrapped = format!("{}\r\n{}\r\n", &b64[..8], &b64[8..]);
    let sig = Signature::from_base64(&wrapped).unwrap();
    assert_eq!(sig.as_der(), SIG_DER);
    seen.debug("signature from base64", &sig);
    let e = Signature::from_base64(&format!("{b64}!{MDLP_PW}")).unwrap_err();
    seen.error("bad signature base64", &e);
    for purpose in [
        Purpose::GisMtChallenge,
        Purpose::TrueApiChallenge,
        Purpose::MdlpCode,
        Purpose::SuzRegistrationBody,
    ] {
        for kind in [SignatureKind::Attached, SignatureKind::Detached] {
            seen.debug("crpt sign job", &SignJob::new(JOB_BYTES.to_vec(), kind, purpose));
        }
    }
    // Header helpers.
    let at = AccessToken::new(ACCESS);
    let (name, value) = tokendance::call::Scheme::SuzClientToken.header(&at).unwrap();
    assert!(value.is_sensitive());
    seen.debug("clientToken header", &(name, value));
    let (name, value) = tokendance::call::Scheme::MdlpToken.header(&at).unwrap();
    assert!(value.is_sensitive());
    seen.debug("authorization header", &(name, value));
    let e = tokendance::call::Scheme::SuzClientToken
        .header(&AccessToken::new(format!("{ACCESS}\n")))
        .unwrap_err();
    seen.error("bad token header", &e);
    // Outcomes.
    seen.debug(
        "outcome registered",
        &crpt::registration::Outcome::Registered {
            oms_connection: CRPT_CONN.into(),
        },
    );

    // The keeper in every state.
    let mut k = TokenKeeper::new(CRPT_CONN);
    seen.debug("keeper new", &k);
    let KeeperAction::Renew(ticket) = k.poll(now) else {
        panic!()
    };
    seen.debug("ticket", &ticket);
    seen.debug("keeper renewing", &k);
    seen.debug("keeper wait", &k.poll(now));
    let life = Duration::from_secs(36_000);
    k.renewed(
        ticket,
        TokenSet::new(at.clone(), now, Some(now.saturating_add(life))),
    )
    .unwrap();
    seen.debug("keeper with token", &k);
    let a = k.poll(now);
    let KeeperAction::UseToken(t) = &a else { panic!() };
    assert_eq!(t.expose_secret(), ACCESS);
    seen.debug("use token", &a);
    seen.token("keeper token", k.token().unwrap());
    let snap = k.snapshot().unwrap();
    assert_eq!(snap.token().expose_secret(), ACCESS);
    seen.debug("snapshot", &snap);
    seen.debug("snapshot token", snap.token());
    let later = now.saturating_add(Duration::from_secs(35_800));
    let KeeperAction::Renew(stale) = k.poll(later) else {
        panic!()
    };
    // The first renewal is lost after 300 s: it counts as failed (a second's
    // back-off), then the next ticket goes out.
    let voided = later.saturating_add(Duration::from_secs(301));
    let _ = k.poll(voided);
    let lost = voided.saturating_add(Duration::from_secs(1));
    let KeeperAction::Renew(current) = k.poll(lost) else {
        panic!()
    };
    let e = k
        .renewed(stale, TokenSet::new(AccessToken::new(ACCESS_2), later, None))
        .unwrap_err();
    seen.error("stale ticket", &e);
    k.renewal_failed(current, lost, Some(lost.saturating_add(Duration::from_secs(5))))
        .unwrap();
    seen.debug("keeper backing off", &k);
    seen.debug("keeper backing off poll", &k.poll(lost));
    let newer = Snapshot::new(
        CRPT_CONN,
        u64::MAX,
        AccessToken::new(ACCESS_2),
        lost,
        Some(lost.saturating_add(life)),
    );
    seen.debug("newer snapshot", &newer);
    assert_eq!(k.restore(newer), Ok(true));
    seen.debug("keeper restored", &k);
    k.token_rejected(lost, &AccessToken::new(ACCESS_2));
    seen.debug("keeper rejected", &k);
    let foreign = Snapshot::new("other", 9, AccessToken::new(REFRESH), lost, None);
    let e = k.restore(foreign).unwrap_err();
    seen.error("foreign snapshot", &e);
    seen.assert_clean(60);
}

/// Tokens the fake issues are not canaries, so they are looked for by value.
#[cfg(feature = "fake")]
#[test]
fn crpt_fake_tokens_never_printed() {
    use tokendance::crpt::{self, mdlp, KeeperAction, TokenKeeper};
    use tokendance::fake::{self, Fake};
    let mut server = fake::Crpt::new();
    server.set_mdlp_client("client-one", "mdlp-secret");
    let now = T0;
    let mut texts: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let flows: Vec<Box<dyn Flow<Output = TokenSet>>> = vec![
        Box::new(crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap()),
        Box::new(crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap()),
        Box::new(
            mdlp::sign_in(
                &crpt::MdlpStand::Sandbox.endpoint(),
                mdlp::Client {
                    id: "client-one".to_owned(),
                    secret: ClientSecret::new("mdlp-secret"),
                },
                "user-one",
                mdlp::Auth::SignedCode,
                Some(CRPT_CONN),
            )
            .unwrap(),
        ),
    ];
    let mut keeper = TokenKeeper::new(CRPT_CONN);
    let mut t = now;
    for mut flow in flows {
        let mut action = flow.start(t).unwrap();
        let token = loop {
            texts.push(format!("{action:?}"));
            action = match action {
                Action::Store(_) => unreachable!("these flows use no store"),
                Action::Send(out) => {
                    let response = server.handle(t, &out.into_http());
                    let input = Input::Response(response);
                    texts.push(format!("{input:?}"));
                    flow.resume(t, input).unwrap()
                }
                Action::Sign(job) => flow.resume(t, Input::Signature(fake::sign(&job))).unwrap(),
                Action::Wait(until) => {
                    t = until;
                    flow.resume(t, Input::Timeout).unwrap()
                }
                Action::Done(token) => break token,
            };
        };
        texts.push(format!("{token:?} {token:#?}"));
        tokens.push(token.access_token().expose_secret().to_owned());
        assert!(server.accepts(t, CRPT_CONN, token.access_token()));
        // Through the keeper.
        if let Some(held) = keeper.token().map(|h| h.access_token().clone()) {
            keeper.token_rejected(t, &held);
        }
        let KeeperAction::Renew(ticket) = keeper.poll(t) else {
            panic!()
        };
        keeper.renewed(ticket, token).unwrap();
        texts.push(format!("{:?}", keeper.poll(t)));
        texts.push(format!("{keeper:?} {:?}", keeper.snapshot()));
        texts.push(format!("{server:?}"));
        t = t.saturating_add(Duration::from_secs(2));
    }
    assert_eq!(tokens.len(), 3);
    for text in &texts {
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "{token} in {text}");
        }
    }
}
