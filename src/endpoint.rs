//! Validated base URLs and safe URL building.

use std::fmt;

use url::Url;

use crate::error::{Error, UsageError};

/// A validated base URL that requests are built from.
///
/// `https` is required. Plain `http` is accepted only through
/// [`Endpoint::parse_insecure_http`], whose name says what it does. User info
/// (`user:pass@`), queries and fragments are refused: credentials never live
/// in a URL, and paths are appended with [`percent-encoded
/// segments`](Endpoint) so a value such as a `regNo` of `../x?y#z` can never
/// change the path or add a query.
///
/// ```
/// use tokendance::Endpoint;
/// assert!(Endpoint::parse("https://auth.itc.gov.mn/auth/realms/ITC").is_ok());
/// assert!(Endpoint::parse("http://auth.itc.gov.mn/auth/realms/ITC").is_err());
/// assert!(Endpoint::parse_insecure_http("http://127.0.0.1:8080/realm").is_ok());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    url: Url,
}

impl Endpoint {
    /// Parses an `https` base URL.
    pub fn parse(url: &str) -> Result<Self, Error> {
        Self::validate(url, false)
    }

    /// Parses an `https` or plain `http` base URL.
    ///
    /// # Security warning
    /// Over plain `http` passwords, client secrets and tokens travel in clear
    /// text. Use this for loopback tests, or for the MDLP non-resident stands
    /// that still answer on `http` and only when you accept the risk.
    pub fn parse_insecure_http(url: &str) -> Result<Self, Error> {
        Self::validate(url, true)
    }

    fn validate(text: &str, allow_http: bool) -> Result<Self, Error> {
        let invalid = |reason| Error::Usage(UsageError::InvalidUrl { reason });
        let url = Url::parse(text).map_err(|_| invalid("not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                // Named in the error without user info, query or fragment,
                // which may hold a password or a secret.
                let mut shown = url.clone();
                let _ = shown.set_username("");
                let _ = shown.set_password(None);
                shown.set_query(None);
                shown.set_fragment(None);
                return Err(Error::Usage(UsageError::InsecureUrl {
                    url: shown.to_string(),
                }));
            }
            _ => return Err(invalid("the scheme must be https")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are refused"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a base URL has no query or fragment"));
        }
        Ok(Endpoint { url })
    }

    /// A preset written in this crate (a provider's documented address).
    pub(crate) fn preset(url: &'static str) -> Self {
        // Every preset is a literal https URL, checked by the unit test below.
        Self::parse(url).expect("preset URLs are valid https URLs")
    }

    /// The URL itself.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// This base with `segments` appended, each one percent-encoded as a
    /// single path segment (see [`check_segment`] for what is refused).
    pub(crate) fn join(&self, segments: &[&str]) -> Result<Url, Error> {
        self.join_then(segments, None)
    }

    /// [`join`](Self::join), then one more segment if there is one (a CRPT
    /// connection): no list is built to append it.
    ///
    /// The path is written here rather than with `url`'s segment pusher,
    /// which drops tab, CR and LF and then resolves what is left (`".\t."`
    /// became `..` and removed a segment) and leaves `;`, `[`, `|` as they
    /// are. Every byte outside the unreserved set is percent-encoded, so the
    /// URL parser that reads the path back has nothing left to interpret.
    pub(crate) fn join_then(&self, segments: &[&str], last: Option<&str>) -> Result<Url, Error> {
        let all = || segments.iter().copied().chain(last);
        for segment in all() {
            check_segment(segment)?;
        }
        let mut url = self.url.clone();
        // Nothing to encode and no dot segment (checked): `url`'s pusher
        // appends these as they are, without a second buffer.
        let plain = all().all(is_unreserved)
            && url
                .path_segments_mut()
                .map(|mut path| {
                    path.pop_if_empty().extend(all());
                })
                .is_ok();
        if plain {
            return Ok(url);
        }
        let base = self.url.path();
        let added = segments.iter().chain(&last).map(|s| s.len() + 1).sum::<usize>();
        let mut path = String::with_capacity(base.len() + added + added / 2);
        path.push_str(base.strip_suffix('/').unwrap_or(base));
        for segment in all() {
            path.push('/');
            push_encoded_segment(&mut path, segment);
        }
        url.set_path(&path);
        Ok(url)
    }
}

/// Whether `segment` is only `A-Z a-z 0-9 - . _ ~`, which no URL parser
/// rewrites (a dot segment aside, refused before this is asked).
fn is_unreserved(segment: &str) -> bool {
    segment.bytes().all(is_unreserved_byte)
}

fn is_unreserved_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Appends `segment` with every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`:
/// sub-delimiters too, since servers split on `;` (path parameters) or
/// decode `+`, and a value must reach them as one opaque segment.
fn push_encoded_segment(path: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in segment.bytes() {
        if is_unreserved_byte(byte) {
            path.push(char::from(byte));
        } else {
            path.extend([
                '%',
                char::from(HEX[usize::from(byte >> 4)]),
                char::from(HEX[usize::from(byte & 0xf)]),
            ]);
        }
    }
}

/// A request target built from an endpoint and fixed path segments, parsed
/// into an `http::Uri` once, when a provider's config is made, so that each
/// request clones it (a reference count) instead of joining and parsing.
/// Building can only fail for URLs `http` cannot hold; the error is kept
/// and returned when a request is built.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Target(Result<http::Uri, Error>);

impl Target {
    pub(crate) fn new(base: &Endpoint, segments: &[&str]) -> Self {
        Target(base.join(segments).and_then(crate::flow::target))
    }

    /// The target, to put in a request.
    pub(crate) fn uri(&self) -> Result<http::Uri, Error> {
        self.0.clone()
    }
}

/// Refuses values that would not stay one path segment, as sent: empty
/// values, dot segments (plain or percent-encoded: a server that decodes
/// twice would resolve them) and control characters (URL parsers drop tab,
/// CR and LF, and a segment must reach the server byte for byte).
pub(crate) fn check_segment(segment: &str) -> Result<(), Error> {
    match segment_problem(segment) {
        None => Ok(()),
        Some(reason) => Err(Error::Usage(UsageError::InvalidPathSegment { reason })),
    }
}

/// Why `segment` cannot be one path segment, if it cannot.
pub(crate) fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        Some("empty")
    } else if is_encoded_dot_segment(segment) {
        Some("a dot segment would change the path")
    } else if segment.chars().any(char::is_control) {
        Some("a control character would be dropped or change the path")
    } else {
        None
    }
}

/// `.`, `..`, `%2e`, `.%2E`, `%2e%2e`, ...: what the URL standard treats as
/// dot segments, plain or percent-encoded.
/// Checked without allocating: a segment is one or two "dots", each `.` or `%2e`.
fn is_encoded_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.url)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_encodes_and_refuses_dots() {
        let e = Endpoint::parse("https://h.example/api/easy-register/").unwrap();
        let u = e.join(&["api", "info", "consumer", "a/b?c#d é"]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/api/easy-register/api/info/consumer/a%2Fb%3Fc%23d%20%C3%A9"
        );
        assert!(e.join(&[".."]).is_err());
        assert!(e.join(&["%2E%2e"]).is_err());
        assert!(e.join(&[""]).is_err());
        // What URL parsers would drop or read as delimiters.
        for refused in [
            ".\t.",
            "..\n",
            "\r..",
            "AA12\r\n345678",
            "a\u{7f}",
            "a\u{85}b",
            "\0",
        ] {
            assert!(
                matches!(
                    e.join(&[refused]),
                    Err(Error::Usage(UsageError::InvalidPathSegment { .. }))
                ),
                "{refused:?}"
            );
        }
        let u = e.join(&["a;b=c", "[x]|^", "%2F", "+ ~"]).unwrap();
        assert_eq!(
            u.path(),
            "/api/easy-register/a%3Bb%3Dc/%5Bx%5D%7C%5E/%252F/%2B%20~"
        );
        let root = Endpoint::parse("https://h.example").unwrap();
        assert_eq!(root.join(&["x", "y"]).unwrap().as_str(), "https://h.example/x/y");
    }

    #[test]
    fn encoded_dot_segments_are_recognised_without_false_alarms() {
        for dots in [".", "..", "%2e", "%2E", ".%2E", "%2e.", "%2e%2E"] {
            assert!(is_encoded_dot_segment(dots), "{dots}");
        }
        for other in [
            "",
            "...",
            "%2e%2e%2e",
            "%2",
            "%2f",
            "a.",
            ".a",
            "%2ea",
            "%3e",
            "%2e%2",
        ] {
            assert!(!is_encoded_dot_segment(other), "{other}");
        }
    }

    #[test]
    fn shows_the_url() {
        let e = Endpoint::parse("https://h.example/api/").unwrap();
        assert_eq!(e.to_string(), "https://h.example/api/");
        assert_eq!(format!("{e:?}"), "Endpoint(https://h.example/api/)");
        assert_eq!(e.as_str(), "https://h.example/api/");
    }

    #[test]
    fn refuses_bad_bases() {
        assert!(Endpoint::parse("https://u:p@h.example/").is_err());
        assert!(Endpoint::parse("https://h.example/?q=1").is_err());
        assert!(Endpoint::parse("ftp://h.example/").is_err());
        assert!(Endpoint::parse("not a url").is_err());
        assert!(matches!(
            Endpoint::parse("http://h.example/"),
            Err(Error::Usage(UsageError::InsecureUrl { .. }))
        ));
    }
}
