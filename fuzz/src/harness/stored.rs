//! Bytes read back from storage, which a store, a disk or an attacker may
//! have changed: the checks every reader of them shares (`read_back`), the
//! fleet's record and the ITC session snapshot (`session_snapshot`).

use std::fmt;

use tokendance::oauth2::{PasswordSession, SessionAction, SessionSnapshot};
use tokendance::{itc, Endpoint, Password, Timestamp};

use super::Report;

/// Reads `data` with `read`: never a panic; what is read writes (with
/// `write`) and reads again to itself; neither its `Debug` nor an error
/// shows a token the bytes carried. Returns what was read.
pub(super) fn read_back<T, E>(
    data: &[u8],
    report: &mut Report,
    read: fn(&[u8]) -> Result<T, E>,
    write: fn(&T) -> Vec<u8>,
) -> Option<T>
where
    T: PartialEq + fmt::Debug,
    E: fmt::Display + fmt::Debug,
{
    let tokens = quoted_tokens(data);
    let shows_no_token = |printed: &str, what: &str| {
        for token in tokens.iter().filter(|t| t.len() >= 3) {
            assert!(
                !printed.contains(token.as_str()),
                "{what} shows a token: {printed}"
            );
        }
    };
    match read(data) {
        Ok(value) => {
            report.accepted += 1;
            let again =
                read(&write(&value)).unwrap_or_else(|e| panic!("what was read does not read back: {e}"));
            assert_eq!(again, value, "read back, it changed");
            shows_no_token(&format!("{value:?}"), "Debug");
            Some(value)
        }
        Err(e) => {
            report.refused += 1;
            shows_no_token(&format!("{e} {e:?}"), "an error");
            None
        }
    }
}

/// The values of every `…_token` field anywhere in `data`, when it is JSON.
fn quoted_tokens(data: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    if let (true, Some(s)) = (key.ends_with("_token"), v.as_str()) {
                        out.push(s.to_owned());
                    }
                    walk(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        walk(&value, &mut out);
    }
    out
}

/// The realm of the session snapshots are restored into.
pub(super) const SNAPSHOT_REALM: &str = "https://realm.fuzz/auth/realms/Staging";

/// The user of that session.
pub(super) const SNAPSHOT_USER: &str = "fuzz-user";

/// `session_snapshot`: the bytes are a saved ITC session, as
/// `SessionSnapshot::from_json` reads them ([`read_back`]'s checks). A
/// snapshot read is restored into a session of [`SNAPSHOT_REALM`] and
/// [`SNAPSHOT_USER`]: refused exactly when it names another session; once
/// restored, a poll at the token's `obtained_at` and at its expiry never
/// panics, hands out only the snapshot's access token, and a refresh it
/// sends carries the snapshot's refresh token.
pub(super) fn session_snapshot(data: &[u8], report: &mut Report) {
    let Some(snapshot) = read_back(data, report, SessionSnapshot::from_json, SessionSnapshot::to_json) else {
        return;
    };
    let mut session = snapshot_session();
    let ours = snapshot.token_url() == session.config().token_url()
        && snapshot.client_id() == session.config().client_id()
        && snapshot.username() == SNAPSHOT_USER;
    let tokens = snapshot.tokens().clone();
    match session.restore(snapshot) {
        Ok(adopted) => assert!(ours && adopted, "a snapshot of another session was restored"),
        Err(_) => {
            assert!(!ours, "a snapshot of this session was refused");
            assert!(session.tokens().is_none());
            return;
        }
    }
    for now in [
        tokens.obtained_at(),
        tokens.expires_at().unwrap_or(Timestamp::MAX),
    ] {
        match session.poll(now).expect("a restored session polls") {
            SessionAction::UseToken(token) => {
                assert_eq!(token, tokens.access_token(), "a token the snapshot did not hold")
            }
            SessionAction::Send(request) => {
                let field = |name: &str| {
                    url::form_urlencoded::parse(request.as_http().body())
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.into_owned())
                };
                if field("grant_type").as_deref() == Some("refresh_token") {
                    let refresh = tokens.refresh_token().expect("a refresh without a refresh token");
                    assert_eq!(
                        field("refresh_token").as_deref(),
                        Some(refresh.expose_secret()),
                        "the refresh sent another token"
                    );
                }
                // Nothing answers: the request is lost, and the next poll may retry.
                let _ = session.transport_failed(now);
            }
            SessionAction::Wait(until) => assert!(until >= now, "a wait in the past"),
        }
    }
}

/// The session snapshots are restored into.
pub(super) fn snapshot_session() -> PasswordSession {
    let config = itc::Config::new(
        Endpoint::parse(SNAPSHOT_REALM).expect("the realm URL"),
        Endpoint::parse("https://service.fuzz/api/easy-register/").expect("the service URL"),
    );
    itc::session(&config, SNAPSHOT_USER, Password::new("fuzz-password")).expect("the session")
}
