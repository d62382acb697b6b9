//! Running a group of cases, collecting every failure into a report.

use super::places::Place;
use super::*;

/// Whether `encoded` really is in the answer: in the body (as is, or as a
/// JSON string holds it) or in a header value.
pub(super) fn planted(answer: &Resp, encoded: &str) -> bool {
    let body = String::from_utf8_lossy(&answer.body);
    let json = serde_json::to_string(encoded).unwrap();
    body.contains(encoded)
        || body.contains(json.trim_matches('"'))
        || answer.headers.iter().any(|(_, v)| v.contains(encoded))
}

/// Whether every header value of `answer` can be sent (no CR or LF).
fn buildable(answer: &Resp) -> bool {
    answer
        .headers
        .iter()
        .all(|(_, v)| http::HeaderValue::from_bytes(v.as_bytes()).is_ok())
}

#[derive(Default)]
pub(super) struct Report {
    cases: usize,
    failed: usize,
    /// Cases skipped: the echo cannot be put in a header value.
    unbuildable: usize,
    /// `ECHO_SHOW` is set: keep every failure's description.
    show_all: bool,
    errors: usize,
    outputs: usize,
    failures: Vec<String>,
    by_flow: BTreeMap<String, (usize, usize)>,
    by_place: BTreeMap<String, (usize, usize)>,
    by_encoding: BTreeMap<String, (usize, usize)>,
    by_secret: BTreeMap<String, (usize, usize)>,
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

impl Report {
    pub(super) fn new() -> Self {
        Report {
            show_all: std::env::var("ECHO_SHOW").is_ok(),
            ..Report::default()
        }
    }

    /// Checks one case's printed forms.
    pub(super) fn check(
        &mut self,
        flow: &FlowSpec,
        place: &str,
        encoding: &str,
        secret: &str,
        printed: &Printed,
    ) {
        self.cases += 1;
        self.errors += printed.errors;
        self.outputs += printed.outputs;
        assert_eq!(
            printed.errors + printed.outputs,
            1,
            "{} / {place} / {encoding}: the step must end in one error or one output",
            flow.name
        );
        let hit = if printed.served == 0 {
            // Vacuous: the flow never met the echo, so its printing proves nothing.
            Some("the echo was never served to the flow".to_owned())
        } else {
            printed.items.iter().find_map(|(label, text)| {
                flow.oracle.find(text).map(|finding| {
                    format!(
                        "printed {label}: {:?}\n      oracle: {}",
                        clip(text, 400),
                        clip(&finding, 300)
                    )
                })
            })
        };
        let failed = hit.is_some();
        for (map, key) in [
            (&mut self.by_flow, flow.name.to_owned()),
            (&mut self.by_place, place.to_owned()),
            (&mut self.by_encoding, encoding.to_owned()),
            (&mut self.by_secret, secret.to_owned()),
        ] {
            let entry = map.entry(key).or_default();
            entry.0 += 1;
            entry.1 += usize::from(failed);
        }
        if let Some(what) = hit {
            self.failed += 1;
            if self.failures.len() >= 20 && !self.show_all {
                return;
            }
            self.failures.push(format!(
                "{} / {place} / {encoding} of the {secret}:\n      {what}",
                flow.name
            ));
        }
    }

    fn summary(map: &BTreeMap<String, (usize, usize)>) -> String {
        map.iter()
            .filter(|(_, (_, failed))| *failed > 0)
            .map(|(k, (all, failed))| format!("    {failed:>5} of {all:>5}  {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(super) fn finish(self, test: &str) {
        eprintln!(
            "{test}: {} cases ({} errors, {} outputs), {} fail; {} skipped (a line break in a header)",
            self.cases, self.errors, self.outputs, self.failed, self.unbuildable
        );
        assert!(self.cases > 0, "{test}: no cases");
        // `ECHO_SHOW=text cargo test --test echoes -- --nocapture` lists every
        // failure whose description holds `text`.
        if let Ok(filter) = std::env::var("ECHO_SHOW") {
            for failure in self.failures.iter().filter(|f| f.contains(&filter)) {
                eprintln!("  {failure}");
            }
        }
        if self.failed == 0 {
            return;
        }
        panic!(
            "{test}: {} of {} cases print an echoed secret (or never served the echo)\n  by flow:\n{}\n  by secret:\n{}\n  by encoding:\n{}\n  by place:\n{}\n  first failures:\n    {}",
            self.failed,
            self.cases,
            Self::summary(&self.by_flow),
            Self::summary(&self.by_secret),
            Self::summary(&self.by_encoding),
            Self::summary(&self.by_place),
            self.failures.iter().take(6).cloned().collect::<Vec<_>>().join("\n    ")
        );
    }
}

/// Every (flow, place, encoding) case: the secret rotates with the place and
/// the encoding among `candidates(flow)`.
pub(super) fn run_cases(
    test: &str,
    flows: &[FlowSpec],
    places: impl Fn(&FlowSpec) -> Vec<Place>,
    candidates: impl Fn(&FlowSpec) -> Vec<(&'static str, String)>,
) {
    let mut report = Report::new();
    for flow in flows {
        let secrets = candidates(flow);
        if secrets.is_empty() {
            continue;
        }
        let encoded: Vec<Vec<(&'static str, String)>> = secrets.iter().map(|(_, s)| encodings(s)).collect();
        for (p, place) in places(flow).iter().enumerate() {
            for (e, _) in encoded[0].iter().enumerate() {
                let which = (p + e) % secrets.len();
                let (encoding, echo) = &encoded[which][e];
                let answer = (place.build)(echo);
                if !buildable(&answer) {
                    // A header value cannot hold a line break (CRLF-wrapped
                    // base64, a soft line break): no server can send that.
                    assert!(
                        echo.contains(['\r', '\n']),
                        "{encoding} cannot be put in a header"
                    );
                    report.unbuildable += 1;
                    continue;
                }
                assert!(
                    planted(&answer, echo),
                    "{} / {}: {encoding} not planted",
                    flow.name,
                    place.name
                );
                assert!(
                    flow.oracle.find(echo).is_some(),
                    "the oracle misses the {encoding} of {}",
                    secrets[which].0
                );
                let printed = (flow.run)(&answer);
                report.check(flow, &place.name, encoding, secrets[which].0, &printed);
            }
        }
    }
    report.finish(test);
}

pub(super) fn known(flow: &FlowSpec) -> Vec<(&'static str, String)> {
    flow.known.clone()
}
