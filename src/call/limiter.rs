//! [`Limiter`]: keeps the calls of each API method apart, for every call
//! that shares it.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use http::Method;

use crate::error::{Error, UsageError};
use crate::time::Timestamp;

/// How far apart the calls of each API method must be, and when each was
/// last let through: share one (`Arc<Mutex<Limiter>>`) between every call
/// to an API that limits its callers, and each [`Authorized`](super::Authorized)
/// call paced by it answers `Wait(until)` instead of sending too soon.
///
/// An API method is a host, an HTTP method and a path (the query aside):
/// `POST api.mdlp.crpt.ru /api/v1/documents/send`. Each method has its own
/// spacing ([`space`](Self::space)), or the default; the first call of a
/// method is never held back. The limiter never sleeps or reads a clock:
/// the time is the call's, and a wait is at most the method's spacing from
/// that time, even when the clock went back (the turn is then counted from
/// the earlier time, so it comes).
///
/// ```
/// use std::time::Duration;
/// use tokendance::call::Limiter;
/// use tokendance::Timestamp;
///
/// let mut limiter = Limiter::mdlp().space(http::Method::GET, "/api/v1/reestr/egrul", Duration::from_millis(500))?;
/// let send = http::Request::post("https://api.mdlp.crpt.ru/api/v1/documents/send").body(()).unwrap();
/// let t0 = Timestamp::from_unix_millis(100_000);
/// assert_eq!(limiter.admit(&send, t0), Ok(()));
/// // A second document 300 ms later waits for the method's second to pass.
/// assert_eq!(limiter.admit(&send, Timestamp::from_unix_millis(100_300)), Err(Timestamp::from_unix_millis(101_000)));
/// # Ok::<(), tokendance::Error>(())
/// ```
#[derive(Clone)]
pub struct Limiter {
    rules: Rules,
    /// When each method was last let through.
    last: HashMap<MethodKey, Timestamp>,
}

/// The spacing of each method: its own, or the default.
#[derive(Clone, Debug)]
struct Rules {
    default: Duration,
    own: Vec<(Method, String, Duration)>,
}

impl Rules {
    fn spacing(&self, method: &Method, path: &str) -> Duration {
        self.own
            .iter()
            .find(|(m, p, _)| m == method && p == path)
            .map_or(self.default, |(_, _, spacing)| *spacing)
    }
}

/// One API method: host (with port), HTTP method and path.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct MethodKey {
    host: String,
    method: Method,
    path: String,
}

/// Past this many remembered methods, the ones no longer holding anything
/// back are forgotten: a path with an id in it is a method of its own, and
/// the memory must not grow with every id.
const REMEMBERED: usize = 256;

impl Limiter {
    /// Every method spaced by `default` unless told otherwise
    /// ([`Duration::ZERO`]: methods without a rule are not held back).
    pub fn new(default: Duration) -> Self {
        Limiter {
            rules: Rules {
                default,
                own: Vec::new(),
            },
            last: HashMap::new(),
        }
    }

    /// MDLP's spacing: one second between two calls of any one method, the
    /// upper end of what MDLP clients in the field keep (a widely used C#
    /// client spaces each method 0.5 to 1 s and lets its user override each);
    /// MDLP answers calls closer than its limits with 429. Override a method
    /// with [`space`](Self::space).
    pub fn mdlp() -> Self {
        Limiter::new(MDLP_SPACING)
    }

    /// Spaces the calls of `method` on `path` (exactly, without the query)
    /// by `spacing`, on every host. A path that does not start with `/` is
    /// a usage error.
    pub fn space(mut self, method: Method, path: &str, spacing: Duration) -> Result<Self, Error> {
        if !path.starts_with('/') {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "a limiter's path starts with '/'",
            }));
        }
        self.rules.own.retain(|(m, p, _)| !(*m == method && p == path));
        self.rules.own.push((method, path.to_owned(), spacing));
        Ok(self)
    }

    /// The spacing of `method` on `path`.
    pub fn spacing(&self, method: &Method, path: &str) -> Duration {
        self.rules.spacing(method, path)
    }

    /// Lets `request` go at `now` and remembers it, or says until when it
    /// must wait. A request without a host is let through.
    pub fn admit<B>(&mut self, request: &http::Request<B>, now: Timestamp) -> Result<(), Timestamp> {
        let uri = request.uri();
        let Some(host) = uri.authority().map(|a| a.as_str()) else {
            return Ok(());
        };
        let spacing = self.spacing(request.method(), uri.path());
        if spacing.is_zero() {
            return Ok(());
        }
        let key = MethodKey {
            host: host.to_ascii_lowercase(),
            method: request.method().clone(),
            path: uri.path().to_owned(),
        };
        if let Some(last) = self.last.get_mut(&key) {
            // A clock that went back cannot say how long ago the last call
            // was: the turn is counted from now, so the wait stays one
            // spacing and the next turn comes.
            *last = (*last).min(now);
            let due = last.saturating_add(spacing);
            if now < due {
                return Err(due);
            }
        }
        if self.last.len() >= REMEMBERED && !self.last.contains_key(&key) {
            let rules = &self.rules;
            self.last
                .retain(|k, last| now < last.saturating_add(rules.spacing(&k.method, &k.path)));
        }
        self.last.insert(key, now);
        Ok(())
    }
}

/// MDLP's spacing between two calls of one method (see [`Limiter::mdlp`]).
const MDLP_SPACING: Duration = Duration::from_secs(1);

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("default", &self.rules.default)
            .field("rules", &self.rules.own)
            .field("remembered", &self.last.len())
            .finish()
    }
}
