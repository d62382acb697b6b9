//! Redirect targets: scheme, host and path only.

use super::flows::flows;
use super::*;

/// Generated `Location` values hiding user info, a query or a fragment.
fn locations() -> Vec<String> {
    let (user, pass) = ("CANARY-user", "CANARY-pass");
    let authorities = [
        format!("https://{user}:{pass}@evil.example/cb"),
        format!("HTTPS://{user}:{pass}@EVIL.EXAMPLE/cb"),
        format!("https://{user}:{pass}@evil.example"),
        format!("https://{user}:{pass}@evil.example:8443/cb"),
        format!("https://{user}:{pass}@[::1]/cb"),
        format!("https://{user}@evil.example/cb"),
        format!("https://{user}:{pass}@good.example@evil.example/cb"),
        format!("https://{user}%3A{pass}@evil.example/cb"),
        format!("//{user}:{pass}@evil.example/cb"),
        format!("///{user}:{pass}@evil.example/cb"),
        format!("\\\\{user}:{pass}@evil.example/cb"),
        format!("/\\{user}:{pass}@evil.example/cb"),
        format!("\\/{user}:{pass}@evil.example/cb"),
        format!("https:\\\\{user}:{pass}@evil.example\\cb"),
        format!("https:/\\{user}:{pass}@evil.example/cb"),
        format!("ht\ttps://{user}:{pass}@evil.example/cb"),
        format!("https:\t//{user}:{pass}@evil.example/cb"),
        format!("https:/\t/{user}:{pass}@evil.example/cb"),
        format!("https://{user}:{pass}\t@evil.example/cb"),
        format!("\t//{user}:{pass}@evil.example/cb"),
        format!(" https://{user}:{pass}@evil.example/cb"),
        format!("https://{user}:{pass}\r\n@evil.example/cb"),
        format!("https://{user}:{pass}\n@evil.example/cb"),
        "https://evil.example/cb".to_owned(),
        "/relative/cb".to_owned(),
        "cb".to_owned(),
        String::new(),
    ];
    let tails = [
        "",
        "?code=CANARY-query",
        "#CANARY-frag",
        "?code=CANARY-query#CANARY-frag",
        "\t?code=CANARY-query",
        "/x?next=https://CANARY-user:CANARY-pass@other.example/#CANARY-frag",
        "?q=1@CANARY-query",
    ];
    let mut all = Vec::new();
    for a in &authorities {
        for t in tails {
            let l = format!("{a}{t}");
            if !l.is_empty() {
                all.push(l);
            }
        }
    }
    all
}

#[test]
fn locations_show_scheme_host_and_path_only() {
    let hidden = Oracle::new(
        &["CANARY-user", "CANARY-pass", "CANARY-query", "CANARY-frag"],
        &[],
    );
    let flows: Vec<FlowSpec> = flows()
        .into_iter()
        .filter(|f| {
            matches!(
                f.name,
                "gam::client_credentials"
                    | "itc session password grant"
                    | "crpt registration, unsigned"
                    | "mdlp Password token step"
                    | "itc::consumer, fixed token"
                    | "Authorized Bearer, fixed token"
                    | "Authorized SuzClientToken, KeeperSource"
            )
        })
        .collect();
    assert_eq!(flows.len(), 7);
    let mut cases = 0;
    let mut unbuildable = Vec::new();
    let mut failures = Vec::new();
    for location in locations() {
        if http::HeaderValue::from_str(&location).is_err() {
            // CR, LF and other controls cannot be put in a header value.
            unbuildable.push(location);
            continue;
        }
        let answer = resp(302, "").header("location", location.clone());
        for flow in &flows {
            cases += 1;
            let printed = (flow.run)(&answer);
            let shown = match &printed.error {
                Some(Error::Protocol(ProtocolError::Redirect { location, .. })) => location.clone(),
                other => panic!(
                    "{}: {location:?}: expected a redirect error, got {other:?}",
                    flow.name
                ),
            };
            let mut problems = Vec::new();
            if let Some(shown) = &shown {
                if shown.contains(['?', '#']) {
                    problems.push("keeps a query or a fragment".to_owned());
                }
                if let Some(hit) = hidden.find(shown) {
                    problems.push(format!("shows {hit}"));
                }
            }
            for (label, text) in &printed.items {
                if let Some(hit) = hidden.find(text) {
                    problems.push(format!("{label} shows {hit}"));
                    break;
                }
            }
            // The plain cases keep scheme, host and path.
            let plain = [
                "https://CANARY-user:CANARY-pass@evil.example/cb",
                "https://evil.example/cb",
            ]
            .iter()
            .any(|p| location.starts_with(p));
            if plain
                && !location.contains("/x?")
                && !location.contains('\t')
                && shown.as_deref() != Some("https://evil.example/cb")
            {
                problems.push("does not show https://evil.example/cb".to_owned());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} / Location {location:?}: shown as {shown:?}: {}",
                    flow.name,
                    problems.join("; ")
                ));
            }
        }
    }
    eprintln!(
        "locations_show_scheme_host_and_path_only: {cases} cases, {} fail; {} Location values cannot be \
         put in a header (CR/LF), e.g. {:?}",
        failures.len(),
        unbuildable.len(),
        unbuildable.first()
    );
    assert!(!unbuildable.is_empty() && unbuildable.iter().all(|l| l.contains(['\r', '\n'])));
    if std::env::var("ECHO_SHOW").is_ok() {
        for failure in &failures {
            eprintln!("  {failure}");
        }
    }
    assert!(cases > 500, "{cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} redirect errors show user info, a query or a fragment; first:\n  {}",
        failures.len(),
        failures.iter().take(8).cloned().collect::<Vec<_>>().join("\n  ")
    );
}
