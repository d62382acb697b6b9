//! Request URIs: https only, no credentials, absolute.

use super::*;

#[test]
fn plain_http_is_refused_without_naming_the_query() {
    for uri in [
        "http://api.example/v1/x?api_key=QUERY-SECRET-1&b=2",
        "http://api.example:8080/v1/x?api_key=QUERY-SECRET-1",
        "HTTP://api.example/v1/x?api_key=QUERY-SECRET-1",
    ] {
        let request = http::Request::get(uri).body(Vec::new()).unwrap();
        let err = Authorized::new(fixed("t"), request, Scheme::Bearer).unwrap_err();
        let Error::Usage(UsageError::InsecureUrl { url }) = &err else {
            panic!("{uri}: {err:?}")
        };
        assert!(url.starts_with("http://api.example"), "{url}");
        assert!(url.ends_with("/v1/x"), "{url}");
        for text in [err.to_string(), format!("{err:?}"), url.clone()] {
            assert!(!text.contains("QUERY-SECRET"), "{text}");
            assert!(!text.contains("api_key"), "{text}");
            assert!(!text.contains("USERINFO-SECRET"), "{text}");
        }
    }
}

#[test]
fn credentials_in_the_uri_are_refused_without_being_named() {
    for uri in [
        "http://user:USERINFO-SECRET@api.example:8080/v1/x?api_key=QUERY-SECRET-1",
        "https://user:USERINFO-SECRET@api.example/v1/x",
    ] {
        for insecure in [false, true] {
            let request = http::Request::get(uri).body(Vec::new()).unwrap();
            let err = if insecure {
                Authorized::new_insecure_http(fixed("t"), request, Scheme::Bearer).unwrap_err()
            } else {
                Authorized::new(fixed("t"), request, Scheme::Bearer).unwrap_err()
            };
            assert!(
                matches!(err, Error::Usage(UsageError::InvalidUrl { .. })),
                "{uri}: {err:?}"
            );
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(
                    !text.contains("USERINFO-SECRET") && !text.contains("QUERY-SECRET"),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn plain_http_needs_the_insecure_constructor() {
    let request = || {
        http::Request::get("http://127.0.0.1:8080/api/info?x=1")
            .body(Vec::new())
            .unwrap()
    };
    assert!(Authorized::new(fixed("t"), request(), Scheme::Bearer).is_err());
    let mut call = Authorized::new_insecure_http(fixed("loop-1"), request(), Scheme::Bearer).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "http://127.0.0.1:8080/api/info?x=1",
        &[bearer("loop-1")],
        b"",
    );
    // https stays accepted by the insecure constructor.
    let https = http::Request::get("https://api.example/x")
        .body(Vec::new())
        .unwrap();
    assert!(Authorized::new_insecure_http(fixed("t"), https, Scheme::Bearer).is_ok());
}

#[test]
fn relative_and_foreign_uris_are_refused() {
    for uri in [
        "/api/info",
        "api/info",
        "*",
        "ftp://files.example/x",
        "ws://api.example/x",
        // A scheme and a port but an empty host.
        "https://:443/x",
        "http://:8080/x",
    ] {
        let Ok(request) = http::Request::get(uri).body(Vec::new()) else {
            continue; // not even an http::Uri
        };
        for insecure in [false, true] {
            let result = if insecure {
                Authorized::new_insecure_http(fixed("t"), request.clone_parts(), Scheme::Bearer)
            } else {
                Authorized::new(fixed("t"), request.clone_parts(), Scheme::Bearer)
            };
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::Usage(UsageError::InvalidUrl { .. })),
                "{uri} (insecure {insecure}): {err:?}"
            );
        }
    }
}

/// `http::Request` is not `Clone`.
trait CloneParts {
    fn clone_parts(&self) -> Self;
}

impl CloneParts for http::Request<Vec<u8>> {
    fn clone_parts(&self) -> Self {
        let mut copy = http::Request::new(self.body().clone());
        *copy.method_mut() = self.method().clone();
        *copy.uri_mut() = self.uri().clone();
        *copy.headers_mut() = self.headers().clone();
        *copy.version_mut() = self.version();
        copy
    }
}
