//! One renewal of a session's tokens as a flow that ends with the whole
//! token set (access and refresh token): what a fleet's lease holder runs,
//! so that one refresh serves every process.

use super::session::PasswordSession;
use crate::call::{TokenSource, TokenStep};
use crate::error::{Error, UsageError};
use crate::flow::{Action, Flow, Input};
use crate::machine::Gate;
use crate::time::Timestamp;
use crate::token::TokenSet;

/// A [`PasswordSession`] renewing once: a refresh while the refresh token
/// held is valid, the password grant otherwise (or when the refresh is
/// refused). Built with [`PasswordSession::into_renewal`]; ends with the new
/// [`TokenSet`], whose refresh token is the one the next renewal uses.
///
/// ```
/// # #[cfg(feature = "fake")] {
/// use tokendance::fake::{Fake, Keycloak};
/// use tokendance::{drive, itc, Endpoint, Password, Timestamp};
///
/// let mut realm = Keycloak::itc_staging();
/// let config = itc::Config::new(
///     Endpoint::parse("https://realm.fake/auth/realms/Staging")?,
///     Endpoint::parse("https://service.fake/api/easy-register/")?,
/// );
/// let now = Timestamp::from_unix_secs(1_000);
/// let mut send = |req: http::Request<Vec<u8>>| Ok::<_, std::convert::Infallible>(realm.handle(now, &req));
/// let session = || itc::session(&config, itc::STAGING_TEST_USERNAME, Password::new(itc::STAGING_TEST_PASSWORD));
/// let first = drive::drive(session()?.into_renewal(None), || now, &mut send, drive::no_signer, |_| {}).unwrap();
/// // The next renewal, in any process that holds `first`, refreshes it.
/// let second = drive::drive(session()?.into_renewal(Some(first.clone())), || now, &mut send, drive::no_signer, |_| {}).unwrap();
/// assert_ne!(first.refresh_token(), second.refresh_token());
/// assert_eq!((realm.grants().password, realm.grants().refresh), (1, 1));
/// # }
/// # Ok::<(), tokendance::Error>(())
/// ```
#[derive(Debug)]
pub struct Renewal {
    session: PasswordSession,
    gate: Gate,
}

impl PasswordSession {
    /// This session as one renewal of `held` (the tokens a fleet shares, if
    /// any): `held` is adopted with its access token treated as refused, so
    /// the session renews at once, by refresh if it can.
    pub fn into_renewal(mut self, held: Option<TokenSet>) -> Renewal {
        if let Some(mut tokens) = held {
            tokens.refuse();
            self.adopt(tokens);
        }
        Renewal {
            session: self,
            gate: Gate::New,
        }
    }
}

impl Renewal {
    /// The session's token step, with a token as the whole set it holds.
    fn finish(&mut self, step: TokenStep) -> Result<Action<TokenSet>, Error> {
        let step = step.and_then(|action| match action.done_or_pass() {
            Ok(_) => self
                .session
                .tokens()
                .cloned()
                .map(Action::Done)
                .ok_or(Error::Usage(UsageError::TokenUnavailable)),
            Err(next) => Ok(next),
        });
        self.gate.track(step)
    }
}

impl Flow for Renewal {
    type Output = TokenSet;

    fn start(&mut self, now: Timestamp) -> Result<Action<TokenSet>, Error> {
        self.gate.admit_start()?;
        let step = self.session.poll_token(now);
        self.finish(step)
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<TokenSet>, Error> {
        self.gate.admit(&input)?;
        let step = self.session.resume_token(now, input);
        self.finish(step)
    }
}
