//! One test per class of places, split secrets included.

use super::cases::{known, planted, run_cases, Report};
use super::flows::flows;
use super::places::{error_places, header_places, page_places, success_places};
use super::*;

#[test]
fn error_fields_never_show_an_echoed_secret() {
    run_cases(
        "error_fields_never_show_an_echoed_secret",
        &flows(),
        |_| error_places(),
        known,
    );
}

#[test]
fn pages_never_show_an_echoed_secret() {
    run_cases(
        "pages_never_show_an_echoed_secret",
        &flows(),
        |_| page_places(),
        known,
    );
}

#[test]
fn headers_never_show_an_echoed_secret() {
    run_cases(
        "headers_never_show_an_echoed_secret",
        &flows(),
        |flow| header_places(flow.kind),
        known,
    );
}

#[test]
fn success_values_are_printed_scrubbed() {
    run_cases(
        "success_values_are_printed_scrubbed",
        &flows(),
        |flow| success_places(flow.kind),
        |flow| flow.known.iter().chain(&flow.issued).cloned().collect(),
    );
}

#[test]
fn refresh_errors_never_show_the_held_access_token() {
    let flows: Vec<FlowSpec> = flows()
        .into_iter()
        .filter(|f| f.name.starts_with("itc session refresh grant"))
        .collect();
    assert_eq!(flows.len(), 2);
    run_cases(
        "refresh_errors_never_show_the_held_access_token",
        &flows,
        |_| {
            let mut places = error_places();
            places.extend(page_places());
            places
        },
        |_| vec![("held access token", ACCESS.to_owned())],
    );
}

/// Split points of `text`: at its own `": "` (so that `{code}: {message}`
/// reads whole), and at a third, a half and two thirds of its characters.
fn split_points(text: &str) -> Vec<(&'static str, String, String)> {
    let mut splits = Vec::new();
    if let Some(at) = text.find(": ") {
        splits.push((
            "split at its \": \"",
            text[..at].to_owned(),
            text[at + 2..].to_owned(),
        ));
    }
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    for (name, at) in [
        ("split at 1/3", n / 3),
        ("split at 1/2", n / 2),
        ("split at 2/3", n * 2 / 3),
    ] {
        let at = at.clamp(1, n.saturating_sub(1).max(1));
        splits.push((name, chars[..at].iter().collect(), chars[at..].iter().collect()));
    }
    splits
}

/// An error body holding two halves: its name, and how it is built.
type Shape = (&'static str, fn(&str, &str) -> Value);

#[test]
fn split_secrets_never_show_when_joined() {
    let test = "split_secrets_never_show_when_joined";
    let mut report = Report::new();
    let shapes: [Shape; 3] = [
        (
            "error + error_description",
            |a, b| json!({"error": a, "error_description": b}),
        ),
        ("code + message", |a, b| json!({"code": a, "message": b})),
        (
            "error_code + error_message",
            |a, b| json!({"error_code": a, "error_message": b}),
        ),
    ];
    for flow in &flows() {
        if flow.known.is_empty() {
            continue;
        }
        let encoded: Vec<Vec<(&'static str, String)>> =
            flow.known.iter().map(|(_, s)| encodings(s)).collect();
        for (s, (shape, body)) in shapes.iter().enumerate() {
            for e in 0..encoded[0].len() {
                // The status rotates too: each shape meets each at a third of the encodings.
                let status = [400, 401, 403][(s + 2 * e) % 3];
                let which = (s + e) % flow.known.len();
                let (encoding, echo) = &encoded[which][e];
                for (split, first, second) in split_points(echo) {
                    let answer = json_resp(status, body(&first, &second));
                    assert!(planted(&answer, &first) && planted(&answer, &second));
                    let printed = (flow.run)(&answer);
                    let place = format!("{shape} at {status}, {split}");
                    report.check(flow, &place, encoding, flow.known[which].0, &printed);
                }
            }
        }
    }
    report.finish(test);
}
