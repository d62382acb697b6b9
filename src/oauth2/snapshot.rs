//! [`SessionSnapshot`]: a [`PasswordSession`]'s tokens, saved to survive a
//! restart, so that the next renewal is a refresh and not a password grant.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, UsageError};
use crate::token::{StoredTokens, TokenSet};

use super::PasswordSession;

/// The snapshot format this crate reads and writes.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The largest snapshot read, in bytes: two tokens fit many times over.
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024;

/// A [`PasswordSession`]'s tokens (access and refresh token, their
/// expiries, when they were obtained) and whose they are, to write to a
/// file or a database and [`restore`](PasswordSession::restore) in the
/// session of a restarted process.
///
/// `Debug` redacts both tokens; [`tokens`](Self::tokens) reads them.
///
/// # The JSON form (format 1)
///
/// [`SessionSnapshot::to_json`] writes, and [`SessionSnapshot::from_json`]
/// reads, one object; every field is always written, `null` when unknown:
///
/// ```json
/// {
///   "format": 1,
///   "token_url": "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token",
///   "client_id": "vatps",
///   "username": "easy-register-test",
///   "token": {
///     "access_token": "eyJhbGciOi…",
///     "obtained_at_ms": 1700000000000,
///     "expires_at_ms": 1700000300000,
///     "refresh_token": "eyJhbGciOi…",
///     "refresh_expires_at_ms": 1700001800000
///   }
/// }
/// ```
///
/// | field | meaning |
/// |---|---|
/// | `format` | [`SNAPSHOT_FORMAT`]; any other is refused ([`SnapshotError::Format`]) whatever else the object holds |
/// | `token_url`, `client_id`, `username` | whose tokens these are: [`PasswordSession::restore`] refuses a snapshot of another session, so a refresh token never goes to a server or client that did not issue it |
/// | `token.access_token`, `token.refresh_token` | the tokens as the server issued them (`refresh_token` may be `null`) |
/// | `token.obtained_at_ms` | when the request that obtained them was sent, Unix milliseconds on the saving process's clock |
/// | `token.expires_at_ms`, `token.refresh_expires_at_ms` | when each expires, Unix milliseconds, `null` if the server gave no lifetime |
///
/// The file holds live credentials: store it as you would the password.
/// The password itself is never in it.
///
/// ```
/// use tokendance::oauth2::SessionSnapshot;
///
/// let saved = br#"{"format":1,"token_url":"https://realm.test/auth/realms/Staging/protocol/openid-connect/token",
///  "client_id":"vatps","username":"easy-register-test","token":{"access_token":"at-1",
///  "obtained_at_ms":1700000000000,"expires_at_ms":1700000300000,"refresh_token":"rt-1",
///  "refresh_expires_at_ms":1700001800000}}"#;
/// let snapshot = SessionSnapshot::from_json(saved)?;
/// assert_eq!(snapshot.tokens().refresh_token().map(|r| r.expose_secret()), Some("rt-1"));
/// assert!(!format!("{snapshot:?}").contains("rt-1"));
/// assert_eq!(SessionSnapshot::from_json(&snapshot.to_json())?, snapshot);
/// # Ok::<(), tokendance::oauth2::SnapshotError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    token_url: String,
    client_id: String,
    username: String,
    tokens: TokenSet,
}

/// Why bytes are not a session snapshot this crate can restore. No variant
/// quotes the input: it holds tokens.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Longer than [`MAX_SNAPSHOT_BYTES`].
    #[error("the session snapshot is {len} bytes, more than {MAX_SNAPSHOT_BYTES}")]
    TooLarge {
        /// How long it was.
        len: usize,
    },
    /// Not the JSON of a snapshot (a field missing, unknown, repeated or of
    /// the wrong type). The serde error is not kept: it can quote a token.
    #[error("not a session snapshot")]
    NotASnapshot,
    /// A `format` this crate does not write.
    #[error("session snapshot format {0} is not {SNAPSHOT_FORMAT}")]
    Format(u64),
    /// A value no writer of this crate produces (a token that cannot be
    /// sent as it is).
    #[error("invalid session snapshot: {0}")]
    Invalid(&'static str),
}

impl SessionSnapshot {
    /// The token endpoint the tokens were issued by.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The client they were issued to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The user they were issued for.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The tokens, their expiries and when they were obtained.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// The snapshot as JSON, format [`SNAPSHOT_FORMAT`] (the
    /// [JSON form](SessionSnapshot#the-json-form-format-1)).
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireSnapshot {
            format: u64::from(SNAPSHOT_FORMAT),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            username: self.username.clone(),
            token: StoredTokens::of(&self.tokens),
        };
        // Strings, integers and options of them: serialising cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Reads a snapshot back. Bounded and strict: an unknown `format` is
    /// [`SnapshotError::Format`] (checked first, so a newer writer's
    /// snapshot is named as such), an unknown or missing field is
    /// [`SnapshotError::NotASnapshot`], and each token must be one that can
    /// be sent as it is (not empty, no control character, no space at
    /// either end), the check a [fleet record](crate::fleet::Record) passes.
    pub fn from_json(bytes: &[u8]) -> Result<SessionSnapshot, SnapshotError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::TooLarge { len: bytes.len() });
        }
        let format: FormatOnly = serde_json::from_slice(bytes).map_err(|_| SnapshotError::NotASnapshot)?;
        if format.format != u64::from(SNAPSHOT_FORMAT) {
            return Err(SnapshotError::Format(format.format));
        }
        let wire: WireSnapshot = serde_json::from_slice(bytes).map_err(|_| SnapshotError::NotASnapshot)?;
        Ok(SessionSnapshot {
            token_url: wire.token_url,
            client_id: wire.client_id,
            username: wire.username,
            tokens: wire.token.read().map_err(SnapshotError::Invalid)?,
        })
    }

    /// Whether this snapshot was taken of a session with `session`'s
    /// endpoint, client and user.
    fn belongs_to(&self, session: &PasswordSession) -> bool {
        self.token_url == session.config().token_url()
            && self.client_id == session.config().client_id()
            && self.username == session.username()
    }
}

impl PasswordSession {
    /// The tokens held, to save and [`restore`](Self::restore) after a
    /// restart; `None` before the first token.
    ///
    /// An access token the API refused (a 401) is saved as expired when it
    /// was obtained, so the restored session renews at once; its refresh
    /// token is saved as it is. The scope is not saved.
    pub fn snapshot(&self) -> Option<SessionSnapshot> {
        let held = self.tokens()?;
        let mut tokens = TokenSet::new(
            held.access_token().clone(),
            held.obtained_at(),
            if held.is_refused() {
                Some(held.obtained_at())
            } else {
                held.expires_at()
            },
        );
        if let Some(refresh) = held.refresh_token() {
            tokens = tokens.with_refresh_token(refresh.clone(), held.refresh_expires_at());
        }
        Some(SessionSnapshot {
            token_url: self.config().token_url().to_owned(),
            client_id: self.config().client_id().to_owned(),
            username: self.username().to_owned(),
            tokens,
        })
    }

    /// Adopts the tokens of `snapshot` (saved by [`snapshot`](Self::snapshot)
    /// before a restart), so that [`poll`](Self::poll) hands out its access
    /// token while it is fresh and renews with its refresh token when due:
    /// no password grant while the refresh token works. Returns whether the
    /// tokens were adopted.
    ///
    /// * A snapshot of another session (another token endpoint, client or
    ///   user) is [`UsageError::InvalidConfig`], and nothing changes: its
    ///   refresh token must not be sent to a server or client that did not
    ///   issue it.
    /// * **Newer wins**: the snapshot is adopted when the session holds no
    ///   token, or when its tokens were obtained later than those held
    ///   (by `obtained_at`, so on one clock: the saving process's and this
    ///   one's, as after a restart), or when the API refused the access
    ///   token held and the snapshot's is another. Otherwise `Ok(false)`:
    ///   a session that renewed since the snapshot was taken keeps its own.
    /// * **Expired tokens are adopted all the same**, and the next poll
    ///   does what it would have done with them: an access token past its
    ///   renewal time is renewed by refresh while the refresh token is
    ///   valid, and by the password grant once the refresh token has
    ///   expired (or when the server refuses it).
    /// * A request in flight stays in flight; its answer, being newer,
    ///   replaces the adopted tokens. Back-off and an ended session (the
    ///   credentials were refused) are left as they are.
    pub fn restore(&mut self, snapshot: SessionSnapshot) -> Result<bool, Error> {
        if !snapshot.belongs_to(self) {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "the snapshot belongs to another session (token endpoint, client or user)",
            }));
        }
        let newer = match self.tokens() {
            None => true,
            Some(held) => {
                snapshot.tokens.obtained_at() > held.obtained_at()
                    || (held.is_refused() && held.access_token() != snapshot.tokens.access_token())
            }
        };
        if newer {
            self.adopt(snapshot.tokens);
        }
        Ok(newer)
    }
}

impl fmt::Debug for SessionSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TokenSet's Debug redacts both tokens.
        f.debug_struct("SessionSnapshot")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("tokens", &self.tokens)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSnapshot {
    format: u64,
    token_url: String,
    client_id: String,
    username: String,
    token: StoredTokens,
}

/// The format alone, read before the rest: a snapshot of another format
/// may have other fields.
#[derive(Deserialize)]
struct FormatOnly {
    format: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, RefreshToken};
    use crate::time::Timestamp;
    use proptest::prelude::*;

    fn snapshot(access: &str, refresh: Option<&str>, times: [Option<u64>; 3]) -> SessionSnapshot {
        let [obtained, expires, refresh_expires] = times;
        let obtained = Timestamp::from_unix_millis(obtained.unwrap_or(0));
        let mut tokens = TokenSet::new(
            AccessToken::new(access),
            obtained,
            expires.map(Timestamp::from_unix_millis),
        );
        if let Some(refresh) = refresh {
            tokens = tokens.with_refresh_token(
                RefreshToken::new(refresh),
                refresh_expires.map(Timestamp::from_unix_millis),
            );
        }
        SessionSnapshot {
            token_url: "https://realm.test/auth/realms/Staging/protocol/openid-connect/token".into(),
            client_id: "vatps".into(),
            username: "easy-register-test".into(),
            tokens,
        }
    }

    fn sample() -> SessionSnapshot {
        snapshot(
            "at-canary-1",
            Some("rt-canary-1"),
            [
                Some(1_700_000_000_000),
                Some(1_700_000_300_000),
                Some(1_700_001_800_000),
            ],
        )
    }

    #[test]
    fn the_json_form_is_the_documented_one() {
        let json: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "format": 1,
                "token_url": "https://realm.test/auth/realms/Staging/protocol/openid-connect/token",
                "client_id": "vatps",
                "username": "easy-register-test",
                "token": {
                    "access_token": "at-canary-1",
                    "obtained_at_ms": 1_700_000_000_000u64,
                    "expires_at_ms": 1_700_000_300_000u64,
                    "refresh_token": "rt-canary-1",
                    "refresh_expires_at_ms": 1_700_001_800_000u64,
                }
            })
        );
        let none = snapshot("at", None, [None, None, None]);
        let json: serde_json::Value = serde_json::from_slice(&none.to_json()).unwrap();
        assert_eq!(json["token"]["refresh_token"], serde_json::Value::Null);
        assert_eq!(json["token"]["expires_at_ms"], serde_json::Value::Null);
    }

    #[test]
    fn snapshots_no_writer_makes_are_refused_without_quoting_a_token() {
        let good = String::from_utf8(sample().to_json()).unwrap();
        let cases: &[(&str, &str, SnapshotError)] = &[
            ("\"format\":1", "\"format\":2", SnapshotError::Format(2)),
            ("\"format\":1", "\"format\":0", SnapshotError::Format(0)),
            (
                "\"access_token\":\"at-canary-1\"",
                "\"access_token\":\"at-canary-1\\r\\n\"",
                SnapshotError::Invalid("the access token cannot go in a header"),
            ),
            (
                "\"access_token\":\"at-canary-1\"",
                "\"access_token\":\" at-canary-1\"",
                SnapshotError::Invalid("the access token cannot go in a header"),
            ),
            (
                "\"access_token\":\"at-canary-1\"",
                "\"access_token\":\"\"",
                SnapshotError::Invalid("the access token cannot go in a header"),
            ),
            (
                "\"refresh_token\":\"rt-canary-1\"",
                "\"refresh_token\":\"rt-canary-1\\u0000\"",
                SnapshotError::Invalid("the refresh token cannot go in a form"),
            ),
            (
                "\"username\":",
                "\"extra\":1,\"username\":",
                SnapshotError::NotASnapshot,
            ),
            (
                "\"obtained_at_ms\":",
                "\"obtained_at_ms\":\"rt-canary-1\",\"x\":",
                SnapshotError::NotASnapshot,
            ),
            (
                "\"expires_at_ms\":1700000300000",
                "\"expires_at_ms\":\"at-canary-1\"",
                SnapshotError::NotASnapshot,
            ),
            (
                "\"client_id\":\"vatps\",",
                "\"client_id\":\"vatps\",\"client_id\":\"at-canary-1\",",
                SnapshotError::NotASnapshot,
            ),
            ("\"format\":1,", "", SnapshotError::NotASnapshot),
        ];
        for (from, to, expected) in cases {
            assert!(good.contains(from), "{from}");
            let bad = good.replacen(from, to, 1);
            let err = SessionSnapshot::from_json(bad.as_bytes()).unwrap_err();
            assert_eq!(&err, expected, "{bad}");
            let printed = format!("{err} {err:?}");
            assert!(!printed.contains("canary"), "{printed}");
        }
        // A newer format is named as such, whatever its fields.
        assert_eq!(
            SessionSnapshot::from_json(br#"{"format":2,"tokens":["at-canary-1"]}"#),
            Err(SnapshotError::Format(2))
        );
        let long = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_SNAPSHOT_BYTES));
        assert_eq!(
            SessionSnapshot::from_json(long.as_bytes()),
            Err(SnapshotError::TooLarge { len: long.len() })
        );
        for garbage in [&b""[..], b"null", b"[]", b"{", b"\xff", b"{\"format\":-1}"] {
            assert_eq!(
                SessionSnapshot::from_json(garbage),
                Err(SnapshotError::NotASnapshot)
            );
        }
    }

    #[test]
    fn debug_shows_whose_tokens_but_not_the_tokens() {
        let printed = format!("{:?}", sample());
        assert!(!printed.contains("canary"), "{printed}");
        assert!(printed.contains("easy-register-test") && printed.contains("vatps"));
    }

    proptest! {
        #![proptest_config(crate::proptest_config(256))]

        /// Any snapshot reads back as written, when its tokens can be sent
        /// as they are; otherwise it is refused as invalid, never misread.
        #[cfg_attr(miri, ignore = "a proptest writing and reading snapshots: seconds a case under miri; the unit tests run there")]
        #[test]
        fn any_snapshot_round_trips_through_json(
            access in "\\PC{0,16}|[ -~]{0,16}|[\\x00-\\x7f]{0,6}",
            refresh in proptest::option::of("\\PC{0,16}|[\\x00-\\x7f]{0,6}"),
            times in proptest::array::uniform3(proptest::option::of(any::<u64>())),
            who in "\\PC{0,12}",
        ) {
            let mut written = snapshot(&access, refresh.as_deref(), times);
            written.username = who;
            match SessionSnapshot::from_json(&written.to_json()) {
                Ok(read) => prop_assert_eq!(read, written),
                Err(err) => {
                    prop_assert!(matches!(err, SnapshotError::Invalid(_)), "{:?}", err);
                    let sendable = |t: &str| !t.is_empty() && crate::flow::is_header_safe(t);
                    prop_assert!(!sendable(&access) || !refresh.as_deref().is_none_or(sendable));
                }
            }
        }
    }
}
