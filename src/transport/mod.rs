//! Transport adapters: a client turned into the `send` closure the
//! [drivers](crate::drive) take, so that callers do not copy glue.
//!
//! Each adapter is compiled only with its feature, and is the only place the
//! crate touches a socket (through the client you give it); the flows stay
//! sans-IO whichever you enable:
//!
//! | feature | module | client | driver |
//! |---|---|---|---|
//! | `ureq` | [`ureq`] | `ureq::Agent` (ureq 3, blocking) | [`drive::drive`](crate::drive::drive) |
//! | `reqwest` | [`reqwest`] | `reqwest::Client` (reqwest 0.12, async) | [`drive::drive_async`](crate::drive::drive_async) |
//!
//! Both enable their client without default features: TLS is yours to pick
//! in your own manifest, and Cargo's feature unification gives the adapter
//! the same client with it:
//!
//! ```toml
//! [dependencies]
//! tokendance = { version = "0.1", features = ["ureq"] }
//! ureq = { version = "3", features = ["rustls"] }     # or native-tls
//! ```
//!
//! What every adapter promises (each tested against a loopback server):
//!
//! * **No redirect is followed**: a 3xx reaches the flow, which refuses it
//!   ([`ProtocolError::Redirect`](crate::ProtocolError::Redirect)). The ureq
//!   adapter forces this on every request, whatever agent you pass; reqwest
//!   has no per-request redirect policy, so its adapter builds clients that
//!   follow none and refuses the answer of a client that did (see its docs).
//! * **Statuses are answers**: a 4xx or 5xx comes back as a response with
//!   its body, for the flow to type.
//! * **Bounded bodies**: at most [`MAX_BODY`](crate::MAX_BODY)` + 1` bytes of
//!   an answer are read. A longer body reaches the flow cut at that length,
//!   one byte over the bound, so the flow refuses it with
//!   [`ProtocolError::BodyTooLarge`](crate::ProtocolError::BodyTooLarge)
//!   instead of reading all of it. API calls whose answers may be larger
//!   (a [`call::Authorized`](crate::call::Authorized) answer is not bounded)
//!   take `send_with_limit`.
//! * **Your timeouts**: the client's timeouts apply as you configured them;
//!   the helpers that build a client take the timeout as an argument.
//! * **Errors print no secret**: the adapters' errors say what failed (a
//!   timeout, a refused connection, TLS...) and never repeat the request:
//!   neither its URL (a query may carry a secret) nor a header value nor the
//!   body. The client's own error, which may repeat the URL, is kept inside,
//!   reachable only by asking for it (`into_client_error`).

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod reqwest;
#[cfg(feature = "ureq")]
#[cfg_attr(docsrs, doc(cfg(feature = "ureq")))]
pub mod ureq;

/// How many bytes of an answer `send_with_limit(.., limit)` reads: one more
/// than `limit`, so that a longer body arrives one byte over it (and a flow,
/// whose limit is `MAX_BODY`, refuses it as too large).
fn read_bound(limit: usize) -> usize {
    limit.saturating_add(1)
}

/// The name of an error's variant as its `Debug` starts (`Rustls`, `Io`...):
/// identifier characters only, so nothing the variant holds is repeated.
fn variant_name(debug: &str) -> String {
    debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{read_bound, variant_name};

    #[test]
    fn a_variant_name_stops_before_what_the_variant_holds() {
        assert_eq!(
            variant_name("Rustls(InvalidCertificate(UnknownIssuer))"),
            "Rustls"
        );
        assert_eq!(variant_name("BadUri(\"/x?secret=s3cret\")"), "BadUri");
        assert_eq!(variant_name("HostNotFound"), "HostNotFound");
        assert_eq!(variant_name(&"A".repeat(100)).len(), 40);
        assert_eq!(variant_name("\"quoted\""), "");
    }

    #[test]
    fn the_read_bound_is_one_over_the_limit_and_saturates() {
        assert_eq!(read_bound(crate::MAX_BODY), crate::MAX_BODY + 1);
        assert_eq!(read_bound(usize::MAX), usize::MAX);
    }
}
