//! Every token flow, listed once: how to build it with a suite's canary
//! secrets, where it goes, what its requests carry and what its documented
//! success looks like. Suites and the fuzz harness iterate [`TOKEN_FLOWS`]
//! instead of each keeping its own builders, so a new provider's flow is
//! one entry here.

use std::fmt::Debug;
use std::time::Duration;

use tokendance::crpt::{gis_mt, mdlp, true_api, GisMtStand, MdlpStand, TrueApiStand};
use tokendance::{
    astana_plat, gam, monpay, AuthCode, ClientSecret, Endpoint, Error, Flow, Password, SignatureKind,
    TokenSet,
};

/// A token flow as the table hands it out: any flow that yields a
/// [`TokenSet`] and prints itself.
pub trait TokenFlowObject: Flow<Output = TokenSet> + Debug {}

impl<F: Flow<Output = TokenSet> + Debug> TokenFlowObject for F {}

/// A built token flow.
pub type BoxedTokenFlow = Box<dyn TokenFlowObject>;

/// The secrets a suite builds its flows with: each suite has its canaries.
#[derive(Clone, Copy, Debug)]
pub struct Canaries {
    /// A user's password (Astana-plat).
    pub password: &'static str,
    /// A client secret (GAM, MonPay).
    pub client_secret: &'static str,
    /// MonPay's authorization code.
    pub code: &'static str,
    /// MDLP's client secret.
    pub mdlp_secret: &'static str,
    /// MDLP's user password.
    pub mdlp_password: &'static str,
}

/// How a flow's documented success is shaped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Success {
    /// RFC 6749 §5.1: `access_token`, `expires_in`, `token_type`.
    OAuth,
    /// Astana-plat: `statusCode` 200 and `data.token`.
    Astana,
    /// CRPT's challenge sign-in: `token`.
    Crpt,
    /// MDLP: `token` and `life_time` in minutes.
    Mdlp,
}

impl Success {
    /// The documented success body carrying `token`.
    pub fn body(self, token: &str) -> String {
        match self {
            Success::OAuth => {
                format!(r#"{{"access_token":"{token}","expires_in":3600,"token_type":"Bearer"}}"#)
            }
            Success::Astana => {
                format!(
                    r#"{{"statusCode":200,"message":"Access token created","data":{{"token":"{token}"}}}}"#
                )
            }
            Success::Crpt => format!(r#"{{"token":"{token}"}}"#),
            Success::Mdlp => format!(r#"{{"token":"{token}","life_time":30}}"#),
        }
    }
}

/// One token flow.
pub struct TokenFlow {
    /// What suites call it in their reports.
    pub name: &'static str,
    /// The host its requests go to.
    pub host: &'static str,
    /// Requests up to the token: 1 for the one-request flows.
    pub requests: usize,
    /// The signature it asks for, if any.
    pub signature: Option<SignatureKind>,
    /// Its documented success.
    pub success: Success,
    /// The least time it leaves between an answer and its next request
    /// (MDLP's spacing), if any.
    pub spacing: Option<Duration>,
    /// The flow, built with `canaries`.
    pub build: fn(&Canaries) -> Result<BoxedTokenFlow, Error>,
    /// Which of `canaries` its requests carry (and a refusal may echo).
    pub carries: fn(&Canaries) -> Vec<&'static str>,
}

impl TokenFlow {
    /// Whether the token comes back from the first request.
    pub fn is_one_request(&self) -> bool {
        self.requests == 1
    }
}

/// The Astana-plat login URL the flows use (the guide gives no public host).
pub fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

/// An MDLP sign-in with `canaries`, by password or by a signed code, for the
/// connection `conn`.
pub fn mdlp_flow(c: &Canaries, by_password: bool, conn: Option<&str>) -> Result<mdlp::MdlpSignIn, Error> {
    let auth = if by_password {
        mdlp::Auth::Password(Password::new(c.mdlp_password))
    } else {
        mdlp::Auth::SignedCode
    };
    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new(c.mdlp_secret),
    };
    mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        auth,
        conn,
    )
}

/// A MonPay flow: one OAuth token request to the test wallet.
const fn monpay_flow(
    name: &'static str,
    build: fn(&Canaries) -> Result<BoxedTokenFlow, Error>,
    carries: fn(&Canaries) -> Vec<&'static str>,
) -> TokenFlow {
    TokenFlow {
        name,
        host: "z-wallet.monpay.mn",
        requests: 1,
        signature: None,
        success: Success::OAuth,
        spacing: None,
        build,
        carries,
    }
}

fn boxed(flow: impl TokenFlowObject + 'static) -> BoxedTokenFlow {
    Box::new(flow)
}

/// Every token flow of the crate.
pub const TOKEN_FLOWS: &[TokenFlow] = &[
    TokenFlow {
        name: "gam",
        host: "iam-staging.gam.vn",
        requests: 1,
        signature: None,
        success: Success::OAuth,
        spacing: None,
        build: |c| {
            let config = gam::Config::staging();
            gam::client_credentials(
                &config,
                "partner-app",
                ClientSecret::new(c.client_secret),
                "iam:user-password:update",
            )
            .map(boxed)
        },
        carries: |c| vec![c.client_secret],
    },
    monpay_flow(
        "monpay",
        |c| {
            monpay::exchange_code(
                &monpay::Config::test(),
                "client",
                ClientSecret::new(c.client_secret),
                AuthCode::new(c.code),
                "https://shop.example/back",
            )
            .map(boxed)
        },
        |c| vec![c.client_secret, c.code],
    ),
    TokenFlow {
        name: "astana password",
        host: "astana-plat.example",
        requests: 1,
        signature: None,
        success: Success::Astana,
        spacing: None,
        build: |c| astana_plat::login_password(&astana_url(), "user", Password::new(c.password)).map(boxed),
        carries: |c| vec![c.password],
    },
    TokenFlow {
        name: "astana certificate",
        host: "astana-plat.example",
        requests: 1,
        signature: None,
        success: Success::Astana,
        spacing: None,
        build: |_| astana_plat::login_certificate(&astana_url()).map(boxed),
        carries: |_| Vec::new(),
    },
    TokenFlow {
        name: "gis mt",
        host: "demo.lp.crpt.tech",
        requests: 2,
        signature: Some(SignatureKind::Attached),
        success: Success::Crpt,
        spacing: None,
        build: |_| gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some("conn-1")).map(boxed),
        carries: |_| Vec::new(),
    },
    TokenFlow {
        name: "true api",
        host: "int01.gismt.crpt.tech",
        requests: 2,
        signature: Some(SignatureKind::Attached),
        success: Success::Crpt,
        spacing: None,
        build: |_| true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-1")).map(boxed),
        carries: |_| Vec::new(),
    },
    TokenFlow {
        name: "mdlp password",
        host: "api.sb.mdlp.crpt.ru",
        requests: 2,
        signature: None,
        success: Success::Mdlp,
        spacing: Some(mdlp::SPACING),
        build: |c| mdlp_flow(c, true, Some("conn-1")).map(boxed),
        carries: |c| vec![c.mdlp_secret, c.mdlp_password],
    },
    TokenFlow {
        name: "mdlp signed code",
        host: "api.sb.mdlp.crpt.ru",
        requests: 2,
        signature: Some(SignatureKind::Detached),
        success: Success::Mdlp,
        spacing: Some(mdlp::SPACING),
        build: |c| mdlp_flow(c, false, Some("conn-1")).map(boxed),
        carries: |c| vec![c.mdlp_secret],
    },
    // New flows go last: fuzz regressions name flows by their index.
    TokenFlow {
        name: "true api for an inn",
        host: "int01.gismt.crpt.tech",
        requests: 2,
        signature: Some(SignatureKind::Attached),
        success: Success::Crpt,
        spacing: None,
        build: |_| {
            true_api::sign_in_for(&TrueApiStand::Demo.endpoint(), Some("conn-1"), "7707083893").map(boxed)
        },
        carries: |_| Vec::new(),
    },
    monpay_flow(
        "monpay merchant",
        |c| {
            monpay::client_credentials(
                &monpay::Config::test(),
                "merchant",
                ClientSecret::new(c.client_secret),
                monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
            )
            .map(boxed)
        },
        |c| vec![c.client_secret],
    ),
];

/// The entry called `name`.
#[track_caller]
pub fn token_flow(name: &str) -> &'static TokenFlow {
    TOKEN_FLOWS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no token flow {name:?}"))
}

/// The one-request flows, in table order.
pub fn one_request_flows() -> impl Iterator<Item = &'static TokenFlow> {
    TOKEN_FLOWS.iter().filter(|f| f.is_one_request())
}
