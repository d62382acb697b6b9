//! The token flows (ITC session, GAM, MonPay, Astana-plat, CRPT, MDLP), each driven to its echoed step.

use super::*;

fn itc_session() -> PasswordSession {
    itc::session(&itc::Config::staging(), "user-one", Password::new(PW)).unwrap()
}

/// A session holding [`ACCESS`] and [`REFRESH`], obtained at [`t0`].
fn itc_session_with_tokens() -> PasswordSession {
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(T0).unwrap() else {
        panic!("the first poll sends the password grant")
    };
    s.handle_response(T0, keycloak_token(ACCESS, REFRESH).build())
        .unwrap();
    s
}

fn session_step(s: &mut PasswordSession, now: Timestamp, echo: &Resp, p: &mut Printed) {
    p.served += 1;
    match s.handle_response(now, echo.build()) {
        Ok(()) => {
            // A token kept, or a refused refresh followed by the password grant.
            p.outputs += 1;
            if let Some(tokens) = s.tokens() {
                p.debug("session.tokens()", tokens);
            }
        }
        Err(e) => p.error(&e),
    }
    p.debug("session", s);
}

pub(super) fn run_itc_password(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(T0).unwrap() else {
        panic!("the first poll sends the password grant")
    };
    session_step(&mut s, T0, echo, &mut p);
    p
}

pub(super) fn run_itc_refresh(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session_with_tokens();
    let SessionAction::Send(_) = s.poll(t_refresh()).unwrap() else {
        panic!("a due token is refreshed")
    };
    assert_eq!(s.in_flight(), Some(Grant::Refresh));
    session_step(&mut s, t_refresh(), echo, &mut p);
    p
}

pub(super) fn record_reply(reply: &itc::Reply, p: &mut Printed) {
    p.output("itc::Reply", reply);
    p.display("itc::Reply.code", &reply.code);
}

pub(super) fn profile_call<S: tokendance::call::TokenSource>(source: S) -> Authorized<S, itc::Reply> {
    let query = itc::ProfileQuery::Phone("99112233".to_owned());
    itc::get_profile(&itc::Config::staging(), &query, source).unwrap()
}

fn itc_call_over(s: &mut PasswordSession, now: Timestamp, echo: &Resp, p: &mut Printed) {
    {
        let mut call = profile_call(&mut *s);
        let mut server = Server::new(echo, |path| path.ends_with("/openid-connect/token"), true);
        drive(&mut call, now, &mut server, p, record_reply);
        p.debug("Authorized", &call);
    }
    p.debug("session", s);
}

pub(super) fn run_itc_password_via_call(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session();
    itc_call_over(&mut s, T0, echo, &mut p);
    p
}

pub(super) fn run_itc_refresh_via_call(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session_with_tokens();
    itc_call_over(&mut s, t_refresh(), echo, &mut p);
    p
}

fn one_shot<F: Flow + Debug>(mut flow: F, echo: &Resp, target: fn(&str) -> bool) -> Printed
where
    F::Output: Debug,
{
    let mut p = Printed::default();
    let mut server = Server::new(echo, target, true);
    drive(&mut flow, T0, &mut server, &mut p, |out, p| {
        p.output("output", out)
    });
    p.debug("flow", &flow);
    p
}

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

pub(super) fn run_gam_cc(echo: &Resp) -> Printed {
    let flow = gam::client_credentials(
        &gam::Config::staging(),
        "client-one",
        ClientSecret::new(CS),
        "s:a",
    )
    .unwrap();
    one_shot(flow, echo, |_| true)
}

pub(super) fn run_monpay(echo: &Resp) -> Printed {
    let flow = monpay::exchange_code(
        &monpay::Config::test(),
        "client-two",
        ClientSecret::new(CS),
        AuthCode::new(CODE),
        "https://shop.example/back",
    )
    .unwrap();
    one_shot(flow, echo, |_| true)
}

pub(super) fn run_astana_password(echo: &Resp) -> Printed {
    let flow = astana_plat::login_password(&astana_url(), "login-one", Password::new(PW)).unwrap();
    one_shot(flow, echo, |_| true)
}

pub(super) fn run_astana_certificate(echo: &Resp) -> Printed {
    one_shot(
        astana_plat::login_certificate(&astana_url()).unwrap(),
        echo,
        |_| true,
    )
}

fn registration(signing: crpt::registration::Signing) -> crpt::registration::Registration {
    crpt::registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        "oms-one",
        RegistrationKey::new(REG_KEY),
        "Moscow, 1",
        signing,
        "v2",
    )
    .unwrap()
}

pub(super) fn run_registration_signed(echo: &Resp) -> Printed {
    one_shot(registration(crpt::registration::Signing::Detached), echo, |_| {
        true
    })
}

pub(super) fn run_registration_unsigned(echo: &Resp) -> Printed {
    one_shot(registration(crpt::registration::Signing::Unsigned), echo, |_| {
        true
    })
}

pub(super) fn run_gis_mt(echo: &Resp) -> Printed {
    let flow = crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CONN)).unwrap();
    one_shot(flow, echo, |path| {
        path.contains("/auth/cert/") && !path.ends_with("/key")
    })
}

pub(super) fn run_true_api(echo: &Resp) -> Printed {
    let flow = crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    one_shot(flow, echo, |path| path.contains("/auth/simpleSignIn/"))
}

fn mdlp_flow(password: bool) -> mdlp::MdlpSignIn {
    let client = mdlp::Client {
        id: "client-one".to_owned(),
        secret: ClientSecret::new(MDLP_CS),
    };
    let auth = if password {
        mdlp::Auth::Password(Password::new(MDLP_PW))
    } else {
        mdlp::Auth::SignedCode
    };
    mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user-one",
        auth,
        Some(CONN),
    )
    .unwrap()
}

pub(super) fn run_mdlp_signed_auth(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(false), echo, |path| path.ends_with("/api/v1/auth"))
}

pub(super) fn run_mdlp_signed_token(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(false), echo, |path| path.contains("/api/v1/token"))
}

pub(super) fn run_mdlp_password_auth(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(true), echo, |path| path.ends_with("/api/v1/auth"))
}

pub(super) fn run_mdlp_password_token(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(true), echo, |path| path.contains("/api/v1/token"))
}
