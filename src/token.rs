//! Tokens with absolute expiry.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::flow::is_header_safe;
use crate::secret::{AccessToken, RefreshToken};
use crate::time::Timestamp;

/// A token a flow obtained, with absolute expiry times.
///
/// Expiry is computed from the `now` of the step that *sent* the request, so
/// it errs early by one round trip. `None` means the server gave no lifetime.
/// `Debug` redacts the tokens and shows the scope's length only: the scope
/// is server text in the token answer, which may echo what the request
/// carried (read it with [`scope`](Self::scope)).
///
/// ```
/// use std::time::Duration;
/// use tokendance::{AccessToken, Timestamp, TokenSet};
///
/// let t0 = Timestamp::from_unix_secs(1_000);
/// let token = TokenSet::new(AccessToken::new("abc"), t0, Some(t0.saturating_add(Duration::from_secs(300))));
/// assert!(token.is_fresh(Timestamp::from_unix_secs(1_200), Duration::from_secs(30)));
/// assert!(!token.is_fresh(Timestamp::from_unix_secs(1_280), Duration::from_secs(30)));
/// assert!(!format!("{token:?}").contains("abc"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    access_token: AccessToken,
    obtained_at: Timestamp,
    expires_at: Option<Timestamp>,
    refresh_token: Option<RefreshToken>,
    refresh_expires_at: Option<Timestamp>,
    scope: Option<String>,
    /// The API refused the access token: it is never valid again, whatever
    /// the clock says afterwards.
    refused: bool,
}

impl TokenSet {
    /// A token obtained at `obtained_at` that expires at `expires_at` (if known).
    /// Useful to restore a token saved earlier.
    pub fn new(access_token: AccessToken, obtained_at: Timestamp, expires_at: Option<Timestamp>) -> Self {
        TokenSet {
            access_token,
            obtained_at,
            expires_at,
            refresh_token: None,
            refresh_expires_at: None,
            scope: None,
            refused: false,
        }
    }

    /// Adds a refresh token and its expiry (if known).
    pub fn with_refresh_token(mut self, token: RefreshToken, expires_at: Option<Timestamp>) -> Self {
        self.refresh_token = Some(token);
        self.refresh_expires_at = expires_at;
        self
    }

    /// Adds the granted scope.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// When the request that obtained the token was sent.
    pub fn obtained_at(&self) -> Timestamp {
        self.obtained_at
    }

    /// When the access token expires; `None` if the server gave no lifetime.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// The refresh token, if the server issued one.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// When the refresh token expires, if known.
    pub fn refresh_expires_at(&self) -> Option<Timestamp> {
        self.refresh_expires_at
    }

    /// The scope the server granted, if it said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether the access token is still valid at `now`: not yet expired,
    /// and not refused by the API (a refused token is never valid again,
    /// even if the clock steps back).
    pub fn is_valid(&self, now: Timestamp) -> bool {
        !self.refused && self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether the token is valid for at least `margin` more at `now`.
    pub fn is_fresh(&self, now: Timestamp, margin: Duration) -> bool {
        !self.refused && self.expires_at.is_none_or(|e| now < e.saturating_sub(margin))
    }

    /// When a renewal should start for a renewal `margin`: `margin` before
    /// expiry, but never earlier than half-way through the token's life (so a
    /// short-lived token is not renewed in a loop); at once for a refused
    /// token. `None` if it never expires.
    pub fn renew_at(&self, margin: Duration) -> Option<Timestamp> {
        if self.refused {
            return Some(Timestamp::EPOCH);
        }
        self.expires_at.map(|e| {
            let half_life = e.saturating_duration_since(self.obtained_at) / 2;
            e.saturating_sub(margin.min(half_life))
        })
    }

    /// Whether the API refused the access token (see [`is_valid`](Self::is_valid)).
    pub fn is_refused(&self) -> bool {
        self.refused
    }

    pub(crate) fn keep_refresh_from(&mut self, old: &TokenSet) {
        if self.refresh_token.is_none() {
            self.refresh_token = old.refresh_token.clone();
            self.refresh_expires_at = old.refresh_expires_at;
        }
    }

    pub(crate) fn forget_refresh(&mut self) {
        self.refresh_token = None;
        self.refresh_expires_at = None;
    }

    /// The API refused the access token: never valid again.
    pub(crate) fn refuse(&mut self) {
        self.refused = true;
    }

    /// The API refused `token`: if it is this set's, it is never handed out
    /// again. A late refusal of a token already replaced changes nothing.
    /// Whether it was this set's.
    pub(crate) fn refuse_if_mine(&mut self, token: &AccessToken) -> bool {
        let mine = self.access_token == *token;
        self.refused |= mine;
        mine
    }

    /// The access token, if it may be handed out at `now`.
    pub(crate) fn valid_access(&self, now: Timestamp) -> Option<&AccessToken> {
        self.is_valid(now).then_some(&self.access_token)
    }
}

/// A token set as stored (a fleet record's token, a session snapshot's):
/// instants in Unix milliseconds, every field written. Read back only
/// through [`read`](Self::read), which checks what a store may have changed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredTokens {
    pub(crate) access_token: String,
    pub(crate) obtained_at_ms: u64,
    pub(crate) expires_at_ms: Option<u64>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) refresh_expires_at_ms: Option<u64>,
}

impl StoredTokens {
    /// `tokens` as stored (the scope and a refusal are not).
    pub(crate) fn of(tokens: &TokenSet) -> Self {
        StoredTokens {
            access_token: tokens.access_token.expose_secret().to_owned(),
            obtained_at_ms: tokens.obtained_at.as_unix_millis(),
            expires_at_ms: tokens.expires_at.map(Timestamp::as_unix_millis),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_owned()),
            refresh_expires_at_ms: tokens.refresh_expires_at.map(Timestamp::as_unix_millis),
        }
    }

    /// The token set, if every token can be sent as it is: not empty, and
    /// safe in a header (no control character, no space at either end,
    /// which parsers strip). The reason never quotes a token.
    pub(crate) fn read(self) -> Result<TokenSet, &'static str> {
        if self.access_token.is_empty() || !is_header_safe(&self.access_token) {
            return Err("the access token cannot go in a header");
        }
        if self
            .refresh_token
            .as_deref()
            .is_some_and(|r| r.is_empty() || !is_header_safe(r))
        {
            return Err("the refresh token cannot go in a form");
        }
        let mut tokens = TokenSet::new(
            AccessToken::new(self.access_token),
            Timestamp::from_unix_millis(self.obtained_at_ms),
            self.expires_at_ms.map(Timestamp::from_unix_millis),
        );
        if let Some(refresh) = self.refresh_token {
            tokens = tokens.with_refresh_token(
                RefreshToken::new(refresh),
                self.refresh_expires_at_ms.map(Timestamp::from_unix_millis),
            );
        }
        Ok(tokens)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Checking the scope against every secret of the request on each
        // answer would cost more than the rest of the round trip, and the
        // flow's secrets are gone by the time a token is printed.
        struct Length(usize);
        impl fmt::Debug for Length {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "<{} chars, not shown>", self.0)
            }
        }
        let scope = self.scope.as_ref().map(|s| Length(s.chars().count()));
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("obtained_at", &self.obtained_at)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &scope)
            .field("refused", &self.refused)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn freshness_and_renewal_follow_expiry_and_margin() {
        let token = TokenSet::new(AccessToken::new("t"), at(1_000), Some(at(1_300)));
        let margin = Duration::from_secs(30);
        assert!(token.is_fresh(at(1_269), margin));
        assert!(!token.is_fresh(at(1_270), margin));
        assert!(token.is_valid(at(1_299)));
        assert!(!token.is_valid(at(1_300)));
        assert_eq!(token.renew_at(margin), Some(at(1_270)));
        // A short life renews half-way, not in a loop.
        assert_eq!(token.renew_at(Duration::from_secs(600)), Some(at(1_150)));
        let forever = TokenSet::new(AccessToken::new("t"), at(1_000), None);
        assert!(forever.is_fresh(at(u64::MAX / 2_000), margin));
        assert_eq!(forever.renew_at(margin), None);
    }

    #[test]
    fn scope_and_refresh_are_kept() {
        let token = TokenSet::new(AccessToken::new("t"), at(1), None)
            .with_scope("orders:read orders:write")
            .with_refresh_token(RefreshToken::new("r"), Some(at(9)));
        assert_eq!(token.scope(), Some("orders:read orders:write"));
        assert_eq!(token.refresh_token().map(RefreshToken::expose_secret), Some("r"));
        assert_eq!(token.refresh_expires_at(), Some(at(9)));
        assert_eq!(TokenSet::new(AccessToken::new("t"), at(1), None).scope(), None);
        let shown = format!("{token:?}");
        assert!(shown.contains("scope: Some(<24 chars, not shown>)"), "{shown}");
        assert!(!shown.contains("orders"), "{shown}");
    }
}
