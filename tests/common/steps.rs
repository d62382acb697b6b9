//! Every step of every flow that reads a server's answer, each driven there
//! with valid answers, so that a suite can feed one body to all of them.
//!
//! The token steps: the ITC password grant, GAM client credentials,
//! MonPay's code exchange and the Astana-plat login; the CRPT challenge's
//! key and sign-in steps (GIS MT and True API); MDLP's auth and token
//! steps; the SUZ registration. The typed API calls: `itc::consumer`,
//! `itc::get_profile`, `itc::approve_qr`, `gam::post` and `gam::get`.

use tokendance::crpt::{mdlp, registration, SuzStand};
use tokendance::oauth2::SessionAction;
use tokendance::{
    gam, itc, AccessToken, Action, Error, Flow, Input, Password, RegistrationKey, Signature, TokenSet,
};

use super::flows::{mdlp_flow, token_flow, Canaries};
use super::time::T0;
use super::{kind, resp};

/// Secrets the requests carry, long and odd enough never to occur in a
/// generated message (a refusal echoing one would be scrubbed).
const ITC_PASSWORD: &str = "itc-pw-Qz8#kL2v";
const GAM_SECRET: &str = "gam-secret-Vb7$wR1x";
const MONPAY_SECRET: &str = "monpay-secret-Hn4!tY6u";
const MONPAY_CODE: &str = "monpay-code-Jc3%pE9m";
const ASTANA_PASSWORD: &str = "astana-pw-Wd5^sG0q";
const MDLP_SECRET: &str = "mdlp-secret-Kf2&zN8r";
const MDLP_PASSWORD: &str = "mdlp-pw-Lp6*xB4t";
const REGISTRATION_KEY: &str = "4344d884-7f21-456c-981e-cd68e92391e8";
const API_TOKEN: &str = "api-token-Mg1@cV7y";

/// The CRPT key answer that asks for a signature.
pub const KEY_ANSWER: &str = r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#;
/// MDLP's auth answer: the one-time code.
pub const MDLP_CODE_ANSWER: &str = r#"{"code":"b7b1abc9"}"#;

/// The enum and [`Step::ALL`] from one list.
macro_rules! steps {
    ($($step:ident),* $(,)?) => {
        /// A step that reads a server's answer.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum Step {
            $($step),*
        }

        impl Step {
            /// Every step: the token steps first, then the API calls.
            pub const ALL: [Step; [$(Step::$step),*].len()] = [$(Step::$step),*];
        }
    };
}

steps![
    ItcToken,
    GamToken,
    MonPayToken,
    AstanaLogin,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuth,
    MdlpToken,
    SuzRegistration,
    ItcConsumer,
    ItcProfile,
    ItcApproveQr,
    GamPost,
    GamGet,
];
use Step::*;

impl Step {
    /// A typed API call with a token (ITC's business calls, GAM's envelopes).
    pub fn is_api_call(self) -> bool {
        matches!(self, ItcConsumer | ItcProfile | ItcApproveQr | GamPost | GamGet)
    }

    /// A step that issues a token, or the data a token is issued for.
    pub fn issues_token(self) -> bool {
        !self.is_api_call()
    }

    /// One of ITC's business calls.
    pub fn is_itc_call(self) -> bool {
        matches!(self, ItcConsumer | ItcProfile | ItcApproveQr)
    }
}

/// The steps `keep` picks, in the order of [`Step::ALL`].
pub fn steps(keep: impl Fn(Step) -> bool) -> Vec<Step> {
    Step::ALL.into_iter().filter(|s| keep(*s)).collect()
}

#[track_caller]
fn expect_send<T>(step: Result<Action<T>, Error>, what: &str) {
    match step {
        Ok(Action::Send(_)) => {}
        Ok(other) => panic!("harness: {what}: {} instead of Send", kind(&other)),
        Err(err) => panic!("harness: {what}: {err}"),
    }
}

fn json_200(body: &str) -> Input {
    Input::Response(resp(200, body).header("content-type", "application/json").build())
}

pub fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x01, 0x02])
}

/// The token the API calls carry.
pub fn api_token() -> TokenSet {
    TokenSet::new(AccessToken::new(API_TOKEN), T0, None)
}

/// An MDLP password sign-in for the connection `conn`.
pub fn mdlp_sign_in(conn: Option<&str>) -> Result<mdlp::MdlpSignIn, Error> {
    mdlp_flow(&canaries(MdlpAuth), true, conn)
}

/// The secrets `step`'s flow is built with (GAM and MonPay each have a
/// client secret of their own).
fn canaries(step: Step) -> Canaries {
    Canaries {
        password: ASTANA_PASSWORD,
        client_secret: if step == MonPayToken {
            MONPAY_SECRET
        } else {
            GAM_SECRET
        },
        code: MONPAY_CODE,
        mdlp_secret: MDLP_SECRET,
        mdlp_password: MDLP_PASSWORD,
    }
}

/// Feeds `response` to `step` (driven there with valid answers): `Ok` if
/// the step takes it as a success (the flow goes on, or is done), the error
/// otherwise.
pub fn feed(step: Step, response: http::Response<Vec<u8>>) -> Result<(), Error> {
    match step {
        ItcToken => {
            let mut session =
                itc::session(&itc::Config::staging(), "user", Password::new(ITC_PASSWORD)).unwrap();
            let SessionAction::Send(_) = session.poll(T0).unwrap() else {
                panic!("harness: expected the password grant")
            };
            session.handle_response(T0, response)
        }
        GamToken | MonPayToken | AstanaLogin | GisMtKey | GisMtSignIn | TrueApiKey | TrueApiSignIn => {
            let name = match step {
                GamToken => "gam",
                MonPayToken => "monpay",
                AstanaLogin => "astana password",
                GisMtKey | GisMtSignIn => "gis mt",
                _ => "true api",
            };
            let mut flow = (token_flow(name).build)(&canaries(step)).unwrap();
            expect_send(flow.start(T0), "the first request");
            if !matches!(step, GisMtSignIn | TrueApiSignIn) {
                return flow.resume(T0, Input::Response(response)).map(drop);
            }
            match flow.resume(T0, json_200(KEY_ANSWER)) {
                Ok(Action::Sign(_)) => {}
                other => panic!("harness: key answer gave {:?}", other.map(|a| kind(&a))),
            }
            expect_send(flow.resume(T0, Input::Signature(signature())), "signature");
            flow.resume(T0, Input::Response(response)).map(drop)
        }
        MdlpAuth => {
            let mut flow = mdlp_sign_in(Some("conn-1")).unwrap();
            expect_send(flow.start(T0), "auth request");
            flow.resume(T0, Input::Response(response)).map(drop)
        }
        MdlpToken => {
            let mut flow = mdlp_sign_in(Some("conn-1")).unwrap();
            expect_send(flow.start(T0), "auth request");
            let until = match flow.resume(T0, json_200(MDLP_CODE_ANSWER)) {
                Ok(Action::Wait(until)) => until,
                other => panic!("harness: auth answer gave {:?}", other.map(|a| kind(&a))),
            };
            expect_send(flow.resume(until, Input::Timeout), "spacing");
            flow.resume(until, Input::Response(response)).map(drop)
        }
        SuzRegistration => {
            let mut flow = registration::register(
                &SuzStand::Demo.endpoint(),
                "cdf12109-10d3-11e6-8b6f-0050569977a1",
                RegistrationKey::new(REGISTRATION_KEY),
                "Moscow, 1 Leninskie Gory",
                registration::Signing::Unsigned,
                registration::DEFAULT_API_VERSION,
            )
            .unwrap();
            expect_send(flow.start(T0), "registration");
            flow.resume(T0, Input::Response(response)).map(drop)
        }
        ItcConsumer => {
            let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", api_token()).unwrap();
            expect_send(call.start(T0), "consumer");
            match call.resume(T0, Input::Response(response)) {
                Ok(Action::Done(Some(_))) => Ok(()),
                Ok(Action::Done(None)) => panic!("harness: a consumer answer read as not found"),
                other => other.map(drop),
            }
        }
        ItcProfile => {
            let query = itc::ProfileQuery::Phone("99112233".into());
            let mut call = itc::get_profile(&itc::Config::staging(), &query, api_token()).unwrap();
            expect_send(call.start(T0), "getProfile");
            call.resume(T0, Input::Response(response)).map(drop)
        }
        ItcApproveQr => {
            let mut call =
                itc::approve_qr(&itc::Config::staging(), "12345678901", "qr-data-1", api_token()).unwrap();
            expect_send(call.start(T0), "approveQr");
            call.resume(T0, Input::Response(response)).map(drop)
        }
        GamPost => {
            let body = serde_json::json!({"customerCode": "C-1"});
            let mut call = gam::post::<_, serde_json::Value>(
                &gam::Config::staging(),
                "SHOP01",
                &["api", "v1", "authenticated"],
                &body,
                api_token(),
            )
            .unwrap();
            expect_send(call.start(T0), "gam post");
            call.resume(T0, Input::Response(response)).map(drop)
        }
        GamGet => {
            let mut call = gam::get::<_, serde_json::Value>(
                &gam::Config::staging(),
                "SHOP01",
                &["api", "v1", "customers"],
                &[("code", "C-1")],
                api_token(),
            )
            .unwrap();
            expect_send(call.start(T0), "gam get");
            call.resume(T0, Input::Response(response)).map(drop)
        }
    }
}
