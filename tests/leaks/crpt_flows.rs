//! CRPT flows (registration, GIS MT, True API, MDLP) against a server that echoes their secrets.

use super::*;

/// The CRPT flows, each with the secrets its requests carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrptShot {
    Registration,
    GisMt,
    TrueApi,
    MdlpSigned,
    MdlpPassword,
}

const CRPT_SHOTS: [CrptShot; 5] = [
    CrptShot::Registration,
    CrptShot::GisMt,
    CrptShot::TrueApi,
    CrptShot::MdlpSigned,
    CrptShot::MdlpPassword,
];

/// A CRPT flow, type-erased, with its output printed through `Seen`.
type CrptFlow = Box<dyn FnMut(&mut Seen, &str, Timestamp, Option<Input>) -> Result<Action<()>, Error>>;

fn erase_crpt<F>(mut flow: F) -> CrptFlow
where
    F: Flow + Debug + 'static,
    F::Output: Debug + 'static,
{
    Box::new(move |seen, label, now, input| {
        let result = match input {
            None => flow.start(now),
            Some(input) => flow.resume(now, input),
        };
        seen.debug(&format!("{label}: flow"), &flow);
        let action = result?;
        seen.debug(&format!("{label}: action"), &action);
        Ok(match action {
            Action::Store(op) => Action::Store(op),
            Action::Send(o) => Action::Send(o),
            Action::Sign(j) => Action::Sign(j),
            Action::Wait(t) => Action::Wait(t),
            Action::Done(v) => {
                if let Some(token) = (&v as &dyn std::any::Any).downcast_ref::<TokenSet>() {
                    seen.token(&format!("{label}: token"), token);
                    assert_eq!(token.access_token().expose_secret(), ACCESS, "{label}");
                }
                seen.debug(&format!("{label}: output"), &v);
                Action::Done(())
            }
        })
    })
}

impl CrptShot {
    fn build(self) -> CrptFlow {
        use tokendance::crpt::{self, mdlp};
        let client = || mdlp::Client {
            id: "client-one".to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        };
        match self {
            CrptShot::Registration => erase_crpt(
                crpt::registration::register(
                    &crpt::SuzStand::Demo.endpoint(),
                    "oms-one",
                    RegistrationKey::new(REG_KEY),
                    "Moscow, 1",
                    crpt::registration::Signing::Detached,
                    "v2",
                )
                .unwrap(),
            ),
            CrptShot::GisMt => erase_crpt(
                crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap(),
            ),
            CrptShot::TrueApi => erase_crpt(
                crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap(),
            ),
            CrptShot::MdlpSigned => erase_crpt(
                mdlp::sign_in(
                    &crpt::MdlpStand::Sandbox.endpoint(),
                    client(),
                    "user-one",
                    mdlp::Auth::SignedCode,
                    Some(CRPT_CONN),
                )
                .unwrap(),
            ),
            CrptShot::MdlpPassword => erase_crpt(
                mdlp::sign_in(
                    &crpt::MdlpStand::NonResidentSandbox.endpoint(),
                    client(),
                    "user@example.org",
                    mdlp::Auth::Password(Password::new(MDLP_PW)),
                    None,
                )
                .unwrap(),
            ),
        }
    }

    /// How many requests the flow sends.
    fn sends(self) -> usize {
        match self {
            CrptShot::Registration => 1,
            _ => 2,
        }
    }

    /// The valid answer to request `i`, the last one carrying [`ACCESS`].
    fn valid(self, i: usize) -> http::Response<Vec<u8>> {
        use serde_json::json;
        match (self, i) {
            (CrptShot::Registration, _) => {
                json(200, json!({"status": "SUCCESS", "omsConnection": CRPT_CONN}))
            }
            (CrptShot::GisMt | CrptShot::TrueApi, 0) => {
                json(200, json!({"uuid": "u-1", "data": "QNRPNPFGJZ"}))
            }
            (CrptShot::MdlpSigned | CrptShot::MdlpPassword, 0) => json(200, json!({"code": "code-1"})),
            (CrptShot::GisMt | CrptShot::TrueApi, _) => json(200, json!({"token": ACCESS})),
            (_, _) => json(200, json!({"token": ACCESS, "life_time": 30})),
        }
    }

    /// The secrets request `i` carries (echoed back by the hostile server).
    fn carried(self, i: usize) -> Vec<String> {
        match (self, i) {
            (CrptShot::Registration, _) => vec![REG_KEY.to_owned(), sig_b64()],
            (CrptShot::GisMt | CrptShot::TrueApi, 0) => vec![],
            (CrptShot::GisMt | CrptShot::TrueApi, _) => vec![sig_b64()],
            (CrptShot::MdlpSigned, 0) => vec![MDLP_SECRET.to_owned()],
            (CrptShot::MdlpSigned, _) => vec![MDLP_SECRET.to_owned(), sig_b64()],
            (CrptShot::MdlpPassword, _) => vec![MDLP_SECRET.to_owned(), MDLP_PW.to_owned()],
        }
    }
}

/// Hostile answers to a CRPT request carrying `carried`, whose raw body was `raw`.
fn crpt_answers(carried: &[String], raw: &str) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let all = carried.join(" | ");
    let first = carried.first().cloned().unwrap_or_else(|| "nothing".to_owned());
    let form: String = carried
        .iter()
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        (
            "error_message in a 200 with a token",
            json(
                200,
                json!({"token": ACCESS, "error_message": format!("rejected {all}")}),
            ),
        ),
        (
            "code/error_message/description",
            json(
                400,
                json!({"code": first, "error_message": format!("x {all}"), "description": format!("{form} {raw}")}),
            ),
        ),
        (
            "numeric code and description",
            json(401, json!({"code": 4, "description": all})),
        ),
        (
            "SUZ global and field errors",
            json(
                400,
                json!({"success": false, "globalErrors": [format!("bad {all}")], "fieldErrors": [{"message": form}]}),
            ),
        ),
        (
            "MDLP Spring echoing the raw body",
            json(
                400,
                json!({"timestamp": "t", "status": 400, "error": "Bad Request", "message": raw, "path": "/api/v1/token"}),
            ),
        ),
        (
            "error_description in a 200",
            json(200, json!({"error_description": format!("expired {all}")})),
        ),
        (
            "violations in a 200",
            json(200, json!({"success": false, "violations": [{"message": first}]})),
        ),
        (
            "REJECTED echoing the secrets",
            json(
                200,
                json!({"status": "REJECTED", "rejectionReason": format!("Unknown registration key {all}")}),
            ),
        ),
        (
            "XML 401 echoing",
            response(
                401,
                &[("content-type", "application/xml")],
                format!("<error>{all} {raw}</error>"),
            ),
        ),
        (
            "nginx 502 echoing",
            response(
                502,
                &[("content-type", "text/html")],
                format!("<html>{all} {raw}</html>"),
            ),
        ),
        (
            "429 echoing",
            response(
                429,
                &[("retry-after", "5"), ("content-type", "application/json")],
                serde_json::to_vec(&json!({"error_message": all})).unwrap(),
            ),
        ),
        (
            "200 HTML holding a token",
            response(
                200,
                &[("content-type", "text/html")],
                format!("<html>token={ACCESS}</html>"),
            ),
        ),
        (
            "200 truncated JSON holding the token",
            response(200, &[], format!("{{\"token\":\"{ACCESS}\",\"life_time\":30")),
        ),
        (
            "200 duplicate token",
            response(
                200,
                &[],
                format!("{{\"token\":\"{ACCESS}\",\"token\":\"{ACCESS_2}\"}}"),
            ),
        ),
        (
            "200 fields of the wrong type holding the token",
            json(
                200,
                json!({"token": {"token": ACCESS}, "uuid": [ACCESS], "data": {"text": ACCESS},
                       "code": [ACCESS], "status": {"s": ACCESS}, "omsConnection": [ACCESS], "life_time": 30}),
            ),
        ),
        (
            "200 token with a malformed life_time",
            json(
                200,
                json!({"token": ACCESS, "life_time": format!("soon {ACCESS}")}),
            ),
        ),
        (
            "SUCCESS without a connection, holding the token",
            json(200, json!({"status": "SUCCESS", "token": ACCESS})),
        ),
        (
            "redirect with the token in the query",
            response(
                302,
                &[(
                    "location",
                    &format!("https://evil.example/x?token={ACCESS}#{ACCESS_2}"),
                )],
                format!("moved {all}"),
            ),
        ),
        (
            "oversized body holding the token",
            response(
                200,
                &[],
                format!("{{\"token\":\"{ACCESS}\",\"pad\":\"{}\"}}", "p".repeat(70_000)),
            ),
        ),
        ("empty 406", response(406, &[], Vec::new())),
    ]
}

/// Runs `shot` with valid answers, except `answer` for request `step`.
fn run_crpt(
    seen: &mut Seen,
    shot: CrptShot,
    step: usize,
    scenario: &str,
    answer: Option<http::Response<Vec<u8>>>,
) -> Option<String> {
    let label = format!("{shot:?} / request {step} / {scenario}");
    let mut flow = shot.build();
    let mut now = T0;
    let mut sends = 0;
    let mut raw = None;
    let mut answer = answer;
    let mut action = flow(seen, &label, now, None);
    loop {
        match action {
            Ok(Action::Store(_)) => unreachable!("these flows use no store"),
            Ok(Action::Send(out)) => {
                seen.outgoing(&format!("{label}: request"), &out);
                let body = String::from_utf8(out.as_http().body().clone()).unwrap();
                if sends == step {
                    raw = Some(body);
                }
                let response = match (sends == step, answer.take()) {
                    (true, Some(a)) => a,
                    (_, a) => {
                        answer = a;
                        shot.valid(sends)
                    }
                };
                sends += 1;
                let input = Input::Response(response);
                seen.debug(&format!("{label}: response input"), &input);
                action = flow(seen, &label, now, Some(input));
            }
            Ok(Action::Sign(job)) => {
                seen.debug(&format!("{label}: sign job"), &job);
                let input = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
                seen.debug(&format!("{label}: signature input"), &input);
                action = flow(seen, &label, now, Some(input));
            }
            Ok(Action::Wait(until)) => {
                now = until;
                action = flow(seen, &label, now, Some(Input::Timeout));
            }
            Ok(Action::Done(())) => break,
            Err(e) => {
                seen.error(&format!("{label}: error"), &e);
                break;
            }
        }
    }
    let after = flow(seen, &label, now, Some(Input::Timeout)).unwrap_err();
    assert_eq!(after, Error::Usage(UsageError::Finished), "{label}");
    assert!(sends <= shot.sends(), "{label}");
    raw
}

#[test]
fn crpt_flows_never_print_a_canary() {
    let mut seen = Seen::default();
    for shot in CRPT_SHOTS {
        // The valid run: every request carries what it should.
        let mut raws = Vec::new();
        for step in 0..shot.sends() {
            raws.push(run_crpt(&mut seen, shot, step, "valid", None).expect("the step was reached"));
        }
        for (step, raw) in raws.iter().enumerate() {
            let carried: Vec<String> = shot.carried(step);
            // Bodies carry the body secrets (the key and X-Signature ride in
            // sensitive headers; the signature's base64 is checked as text, as
            // `assert_body_carries` looks for it in a byte list too).
            let in_body: &[&str] = match (shot, step) {
                (CrptShot::MdlpSigned | CrptShot::MdlpPassword, 0) => &[MDLP_SECRET],
                (CrptShot::MdlpPassword, _) => &[MDLP_PW],
                _ => &[],
            };
            assert_body_carries(&format!("{shot:?} {step}"), raw.as_bytes(), in_body);
            if shot != CrptShot::Registration && carried.contains(&sig_b64()) {
                assert!(raw.contains(&format!("\"{}\"", sig_b64())), "{shot:?}: {raw}");
                assert!(find_leak(raw).is_some());
            }
            for (scenario, answer) in crpt_answers(&carried, raw) {
                run_crpt(&mut seen, shot, step, scenario, Some(answer));
            }
        }
        // The signer or the transport failed.
        let mut flow = shot.build();
        let _ = flow(&mut seen, "aborted", T0, None).unwrap();
        let e = flow(&mut seen, "aborted", T0, Some(Input::Failed)).unwrap_err();
        assert_eq!(e, Error::Usage(UsageError::Aborted));
        seen.error(&format!("{shot:?}: aborted"), &e);
    }
    // Registration headers: present, and sensitive (so `HeaderMap`'s Debug hides them).
    {
        use tokendance::crpt;
        let mut flow = crpt::registration::register(
            &crpt::SuzStand::Production.endpoint(),
            "oms-one",
            RegistrationKey::new(REG_KEY),
            "Moscow, 1",
            crpt::registration::Signing::Detached,
            "v3",
        )
        .unwrap();
        let Action::Sign(job) = flow.start(T0).unwrap() else {
            panic!()
        };
        let Action::Send(out) = flow
            .resume(T0, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
            .unwrap()
        else {
            panic!()
        };
        let headers = out.as_http().headers();
        assert_eq!(headers["x-registrationkey"], REG_KEY);
        assert_eq!(headers["x-signature"], sig_b64().as_str());
        assert!(headers["x-registrationkey"].is_sensitive() && headers["x-signature"].is_sensitive());
        seen.debug("registration job", &job);
        seen.outgoing("registration request", &out);
    }
    seen.assert_clean(2_000);
}
