//! `path_segments`: fuzzed strings as the caller's path segments and query
//! pairs of every API that takes them, and as a registration answer's
//! `omsConnection`.

use tokendance::crpt::{self, mdlp, registration, GisMtStand, TrueApiStand};
use tokendance::{gam, itc, Action, ClientSecret, Error, Flow, Input, Password, RegistrationKey, UsageError};

use super::checks::{check_error, check_printed};
use super::flows::{api_token, signature};
use super::input::Bytes;
use super::response::ok_json;
use super::uri_oracle::{decode_segment, form_decode, segment_must_be_refused};
use super::{Report, MDLP_PASSWORD, MDLP_SECRET, REGISTRATION_KEY, T0};

/// The pieces a `path_segments` string is made of in its pieces mode: dots
/// plain and encoded, delimiters, escapes, whitespace and control
/// characters, and characters URL parsers treat specially.
pub const PIECES: [&str; 48] = [
    ".", "..", "%2e", "%2E", "%", "%25", "%2F", "%2f", "/", "\\", "?", "#", ";", "&", "=", "+", " ", "\t",
    "\r", "\n", "\u{0}", "\u{1f}", "\u{7f}", "\u{85}", "\u{9f}", "\u{a0}", "\u{200b}", "\u{2028}",
    "\u{feff}", "\u{fffd}", "é", "日", "~", "-", "_", "a", "Z", "0", "@", ":", "[", "]", "|", "^", "'", "\"",
    "<", ">",
];

/// Drives `flow` to its request number `nth` (from 0), answering earlier
/// requests with `answer`, signing, and waiting as told.
fn request_of<F: Flow>(mut flow: F, nth: usize, answer: &str) -> Result<tokendance::Outgoing, Error> {
    let mut now = T0;
    let mut sent = 0;
    let mut step = flow.start(now);
    for _ in 0..8 {
        match step? {
            Action::Store(_) => unreachable!("these flows use no store"),
            Action::Send(request) if sent == nth => return Ok(request),
            Action::Send(_) => {
                sent += 1;
                step = flow.resume(now, Input::Response(ok_json(answer)));
            }
            Action::Sign(_) => step = flow.resume(now, Input::Signature(signature())),
            Action::Wait(until) => {
                now = until;
                step = flow.resume(now, Input::Timeout);
            }
            Action::Done(_) => break,
        }
    }
    panic!("the flow did not reach its request {nth}");
}

const KEY_ANSWER: &str = r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#;
const CODE_ANSWER: &str = r#"{"code":"c-1"}"#;

/// The request an API builds from `values` (the caller's, at path segments
/// and in query pairs): built with placeholders first, to learn which
/// segments are the caller's, then with the values.
struct PathCase<'a> {
    what: &'static str,
    /// The caller's values that become path segments, in order.
    segments: Vec<&'a str>,
    /// The query pairs the request must carry exactly (`None`: not checked).
    query: Option<Vec<(String, String)>>,
    /// The error expected instead of a request, if any.
    refusal: Option<fn(&Error) -> bool>,
}

fn is_segment_refusal(err: &Error) -> bool {
    matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. }))
}

fn is_config_refusal(err: &Error) -> bool {
    matches!(err, Error::Usage(UsageError::InvalidConfig { .. }))
}

/// Checks the request `build` makes from `case.segments` against the one it
/// makes from placeholders (told so by its flag, to fill in any other value
/// validly).
fn check_path_case(
    case: PathCase<'_>,
    build: impl Fn(&[&str], bool) -> Result<tokendance::Outgoing, Error>,
    report: &mut Report,
) {
    let placeholders: Vec<String> = (0..case.segments.len())
        .map(|i| format!("PLACEHOLDER{i}"))
        .collect();
    let names: Vec<&str> = placeholders.iter().map(String::as_str).collect();
    let reference =
        build(&names, true).unwrap_or_else(|e| panic!("{}: placeholders refused: {e:?}", case.what));
    let reference_path = reference.as_http().uri().path().to_owned();
    let built = build(&case.segments, false);
    let must_refuse = case.refusal.is_some();
    let request = match (built, case.refusal) {
        (Err(err), Some(expected)) => {
            assert!(
                expected(&err),
                "{}: {:?} refused with {err:?}",
                case.what,
                case.segments
            );
            check_error(&err, &[]);
            report.refused += 1;
            return;
        }
        (Err(err), None) => panic!("{}: {:?} refused: {err:?}", case.what, case.segments),
        (Ok(request), _) => request,
    };
    let uri = request.as_http().uri().clone();
    assert!(
        !must_refuse,
        "{}: {:?} must be refused, but {uri} was built",
        case.what, case.segments
    );
    let want: Vec<&str> = reference_path.split('/').collect();
    let got: Vec<&str> = uri.path().split('/').collect();
    assert_eq!(
        got.len(),
        want.len(),
        "{}: {:?} gave {} segments, not {}: {uri}",
        case.what,
        case.segments,
        got.len(),
        want.len()
    );
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        match names.iter().position(|n| n == want) {
            Some(v) => {
                let decoded =
                    decode_segment(got).unwrap_or_else(|e| panic!("{}: segment {i} {got:?}: {e}", case.what));
                assert!(
                    decoded == case.segments[v].as_bytes(),
                    "{}: segment {i} {got:?} decodes to {:?}, not {:?}",
                    case.what,
                    String::from_utf8_lossy(&decoded),
                    case.segments[v]
                );
            }
            None => assert_eq!(got, want, "{}: segment {i} changed: {uri}", case.what),
        }
    }
    assert_eq!(
        uri.host(),
        reference.as_http().uri().host(),
        "{}: another host",
        case.what
    );
    if let Some(pairs) = &case.query {
        let query = uri
            .query()
            .unwrap_or_else(|| panic!("{}: no query in {uri}", case.what));
        let decoded = form_decode(query).unwrap_or_else(|e| panic!("{}: query {query:?}: {e}", case.what));
        assert_eq!(&decoded, pairs, "{}: the query of {uri}", case.what);
    }
    report.accepted += 1;
}

/// `path_segments`: byte 0 bit 0 picks how the four strings are read (raw
/// UTF-8, lossy, or each byte one of [`PIECES`]); each string is a length
/// byte then its bytes. Every API whose path takes a caller's value builds
/// its request from them, and a registration answer carries the fourth as
/// its `omsConnection`: each is refused exactly as the segment rule says,
/// or its path has the intended segments, each decoding to the value.
pub(super) fn path_segments(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    let pieces = b.byte() & 1 == 1;
    let values: Vec<String> = (0..4)
        .map(|_| {
            let len = usize::from(b.byte());
            let bytes = b.take(len);
            if pieces {
                bytes
                    .iter()
                    .map(|p| PIECES[usize::from(*p) % PIECES.len()])
                    .collect()
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            }
        })
        .collect();
    let v: Vec<&str> = values.iter().map(String::as_str).collect();
    let segment_rule = |segments: &[&str]| {
        segments
            .iter()
            .any(|s| segment_must_be_refused(s))
            .then_some(is_segment_refusal as fn(&Error) -> bool)
    };

    // ITC: GET {service}api/info/consumer/{regNo}.
    check_path_case(
        PathCase {
            what: "itc::consumer",
            segments: vec![v[0]],
            query: None,
            refusal: segment_rule(&[v[0]]),
        },
        |s, _| {
            let mut call = itc::consumer(&itc::Config::staging(), s[0], api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    // GAM: POST and GET {resource server}/{segments...}?{pairs}.
    let body = serde_json::json!({"customerCode": "C-1"});
    check_path_case(
        PathCase {
            what: "gam::post",
            segments: vec![v[0], v[1]],
            query: None,
            refusal: segment_rule(&[v[0], v[1]]),
        },
        |s, _| {
            let mut call =
                gam::post::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", s, &body, api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    let pairs = [(v[2], v[3]), ("from", v[0])];
    check_path_case(
        PathCase {
            what: "gam::get",
            segments: vec![v[1]],
            query: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            refusal: segment_rule(&[v[1]]),
        },
        |s, _| {
            let mut call =
                gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", s, &pairs, api_token())?;
            request_of(&mut call, 0, "")
        },
        report,
    );
    // CRPT sign-ins: the connection is the last segment of the token request.
    for (what, conn) in [
        ("gis_mt::sign_in", v[0]),
        ("true_api::sign_in", v[1]),
        ("mdlp::sign_in", v[2]),
    ] {
        check_path_case(
            PathCase {
                what,
                segments: vec![conn],
                query: None,
                refusal: segment_rule(&[conn]),
            },
            |s, _| match what {
                "gis_mt::sign_in" => request_of(
                    crpt::gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(s[0]))?,
                    1,
                    KEY_ANSWER,
                ),
                "true_api::sign_in" => request_of(
                    crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(s[0]))?,
                    1,
                    KEY_ANSWER,
                ),
                _ => request_of(mdlp_flow_for(s[0])?, 1, CODE_ANSWER),
            },
            report,
        );
    }
    // SUZ registration: POST {base}/api/{apiVersion}/integration/connection?omsId=...
    let oms_id = v[1];
    check_path_case(
        PathCase {
            what: "registration::register",
            segments: vec![v[0]],
            query: Some(vec![("omsId".to_owned(), oms_id.to_owned())]),
            refusal: if oms_id.is_empty() {
                Some(is_config_refusal as fn(&Error) -> bool)
            } else {
                segment_rule(&[v[0]])
            },
        },
        |s, reference| {
            request_of(
                register_unsigned(if reference { "oms-1" } else { oms_id }, s[0])?,
                0,
                "",
            )
        },
        report,
    );
    // A registration answer: its omsConnection becomes a segment of every
    // sign-in, so it is refused as malformed by the same rule.
    registration_answer(v[3], report);
}

fn mdlp_flow_for(conn: &str) -> Result<mdlp::MdlpSignIn, Error> {
    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
        Some(conn),
    )
}

fn register_unsigned(oms_id: &str, api_version: &str) -> Result<registration::Registration, Error> {
    registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        oms_id,
        RegistrationKey::new(REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        registration::Signing::Unsigned,
        api_version,
    )
}

fn registration_answer(connection: &str, report: &mut Report) {
    let mut flow = register_unsigned(
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        registration::DEFAULT_API_VERSION,
    )
    .expect("a valid registration");
    assert!(matches!(flow.start(T0), Ok(Action::Send(_))));
    let body = serde_json::json!({"status": "SUCCESS", "omsConnection": connection}).to_string();
    let outcome = flow.resume(T0, Input::Response(ok_json(&body)));
    match outcome {
        Err(err) => {
            // An empty one reads as absent (the crate's `required_str`).
            let typed = match &err {
                Error::Protocol(tokendance::ProtocolError::Malformed { field, .. }) => {
                    field == "omsConnection"
                }
                Error::Protocol(tokendance::ProtocolError::MissingField { field, .. }) => {
                    *field == "omsConnection" && connection.is_empty()
                }
                _ => false,
            };
            assert!(typed, "omsConnection {connection:?} refused with {err:?}");
            assert!(
                segment_must_be_refused(connection),
                "omsConnection {connection:?} refused: {err:?}"
            );
            check_error(&err, &[REGISTRATION_KEY]);
            report.refused += 1;
        }
        Ok(Action::Done(registration::Outcome::Registered { oms_connection })) => {
            assert!(
                !segment_must_be_refused(connection),
                "omsConnection {connection:?} accepted"
            );
            assert_eq!(oms_connection.as_str(), connection, "the connection changed");
            check_printed(
                "a registration's Debug",
                &format!("{oms_connection:?}"),
                &[REGISTRATION_KEY],
            );
            // Then it is one segment of a sign-in.
            check_path_case(
                PathCase {
                    what: "a registered connection",
                    segments: vec![connection],
                    query: None,
                    refusal: None,
                },
                |s, _| {
                    request_of(
                        crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(s[0]))?,
                        1,
                        KEY_ANSWER,
                    )
                },
                report,
            );
        }
        Ok(other) => panic!("a registration answer gave {other:?}"),
    }
}
