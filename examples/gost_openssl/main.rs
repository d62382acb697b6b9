//! CRPT sign-ins with a REAL GOST R 34.10-2012 signer: OpenSSL and Debian's
//! GOST engine, on 127.0.0.1.
//!
//! ```text
//! apt-get install -y libengine-gost-openssl
//! cargo run --example gost_openssl --features fake,ureq
//! ```
//!
//! With `TOKENDANCE_GOST_KEY` and `TOKENDANCE_GOST_CERT` (PEM paths) it signs
//! with that key (`TOKENDANCE_GOST_KEY_PASS`: the key's passphrase, read by
//! openssl from the environment; `TOKENDANCE_GOST_CA`: the certificate to
//! verify against, the signer's own by default). Otherwise it makes a
//! throwaway GOST key and self-signed certificate in a temp dir.
//! `TOKENDANCE_GOST_ENGINE` overrides where the engine is looked for
//! (default: `gost.so` in the directory `openssl version -e` names).
//!
//! It starts the crate's CRPT fake behind a gateway that verifies every real
//! CMS signature with `openssl cms -verify` (see `gateway.rs`), and drives
//! the SUZ registration (detached signature over the body), GIS MT and True
//! API (attached signatures of the challenge) and MDLP `SIGNED_CODE`
//! (detached signature over the code) through `tokendance::drive::drive`,
//! then shows that a detached signature on a login is refused. It prints one
//! line per flow and exits non-zero on any failure, or when the GOST engine
//! (`libengine-gost-openssl`) is missing.

#[cfg(all(feature = "fake", feature = "ureq"))]
#[path = "../support/mod.rs"]
mod support;

#[cfg(all(feature = "fake", feature = "ureq"))]
mod gateway;
#[cfg(all(feature = "fake", feature = "ureq"))]
mod signer;
#[cfg(all(feature = "fake", feature = "ureq"))]
mod stand;

#[cfg(not(all(feature = "fake", feature = "ureq")))]
fn main() -> std::process::ExitCode {
    eprintln!("error: run with `--features fake,ureq`: the example serves the crate's CRPT fake over the ureq adapter");
    std::process::ExitCode::from(2)
}

#[cfg(all(feature = "fake", feature = "ureq"))]
fn main() -> std::process::ExitCode {
    support::exit_with(example::run())
}

#[cfg(all(feature = "fake", feature = "ureq"))]
mod example {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};
    use std::sync::PoisonError;

    use tokendance::crpt::registration::{self, Outcome, Signing};
    use tokendance::crpt::{self, gis_mt, mdlp, true_api};
    use tokendance::drive::DriveError;
    use tokendance::fake;
    use tokendance::{
        ClientSecret, Endpoint, Error, Flow, RegistrationKey, ServerErrorKind, SignJob, Signature,
        SignatureKind,
    };

    use crate::gateway::Check;
    use crate::signer::{self, GostError, GostSigner, TempDir};
    use crate::stand::{Driven, Stand};

    /// What one flow asked of the signer and what the stand made of it.
    struct Run<T> {
        outcome: Driven<T>,
        signed: Vec<(SignatureKind, usize, usize)>,
        checks: Vec<Check>,
    }

    impl<T> Run<T> {
        /// `Attached`, `Detached` or `-`.
        fn kinds(&self) -> String {
            let kinds: Vec<String> = self.signed.iter().map(|(k, _, _)| format!("{k:?}")).collect();
            if kinds.is_empty() {
                "-".to_owned()
            } else {
                kinds.join(",")
            }
        }

        fn sizes(&self) -> (String, String) {
            let list = |f: fn(&(SignatureKind, usize, usize)) -> usize| {
                let sizes: Vec<String> = self.signed.iter().map(|s| format!("{} B", f(s))).collect();
                sizes.join(",")
            };
            (list(|s| s.1), list(|s| s.2))
        }

        /// `yes` when every signature the stand saw verified.
        fn verified(&self) -> (bool, String) {
            if self.checks.is_empty() {
                return (false, "no (the stand saw no signature)".to_owned());
            }
            match self.checks.iter().find(|c| !c.verified) {
                None => (true, "yes".to_owned()),
                Some(check) => (false, format!("no ({})", check.detail)),
            }
        }
    }

    struct Example {
        stand: Stand,
        signer: GostSigner,
        rows: Vec<[String; 6]>,
        failures: Vec<String>,
    }

    impl Example {
        /// Drives `flow` over HTTP, signing with `sign`.
        fn run<F: Flow>(
            &self,
            flow: F,
            sign: impl Fn(&GostSigner, &SignJob) -> Result<Signature, GostError>,
        ) -> Run<F::Output> {
            let before = self.checks().len();
            let signed = RefCell::new(Vec::new());
            let outcome = self.stand.drive(flow, |job| {
                let signature = sign(&self.signer, job)?;
                let sizes = (job.kind(), job.bytes().len(), signature.as_der().len());
                signed.borrow_mut().push(sizes);
                Ok(signature)
            });
            Run {
                outcome,
                signed: signed.into_inner(),
                checks: self.checks()[before..].to_vec(),
            }
        }

        fn checks(&self) -> Vec<Check> {
            let gateway = self.stand.gateway.lock().unwrap_or_else(PoisonError::into_inner);
            gateway.checks.clone()
        }

        /// One printed line; `ok` false makes the example fail.
        fn row<T>(&mut self, flow: &str, run: &Run<T>, verified: String, result: String, ok: bool) {
            let (bytes, der) = run.sizes();
            let result = if ok {
                result
            } else {
                format!("{result}  <-- FAILED")
            };
            if !ok {
                self.failures.push(format!("{flow}: {result}"));
            }
            self.rows
                .push([flow.to_owned(), run.kinds(), bytes, der, verified, result]);
        }

        /// A sign-in that must end with a token that the stand accepts.
        fn token_row(&mut self, flow: &str, run: Run<tokendance::TokenSet>, connection: &str) {
            let (verified_ok, verified) = run.verified();
            let (result, ok) = match &run.outcome {
                Ok(token) => {
                    let now = self.stand.clock.now();
                    let gateway = self.stand.gateway.lock().unwrap_or_else(PoisonError::into_inner);
                    let live = gateway.fakes.crpt.accepts(now, connection, token.access_token());
                    drop(gateway);
                    let hours = token
                        .expires_at()
                        .map(|t| t.saturating_duration_since(now).as_secs() / 60)
                        .map_or("no expiry".to_owned(), |m| format!("expires in {m} min"));
                    (format!("token, {hours}"), live)
                }
                Err(e) => (format!("error: {e}"), false),
            };
            self.row(flow, &run, verified, result, ok && verified_ok);
        }
    }

    /// Key and certificate from the environment, or a throwaway pair.
    fn identity(dir: &TempDir, conf: &Path) -> Result<(GostSigner, PathBuf, String), GostError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (key, cert, origin) = match (var("TOKENDANCE_GOST_KEY"), var("TOKENDANCE_GOST_CERT")) {
            (Some(key), Some(cert)) => (PathBuf::from(key), PathBuf::from(cert), "from the environment"),
            (None, None) => {
                let (key, cert) = signer::throwaway_identity(dir.path(), conf)?;
                (key, cert, "throwaway, self-signed")
            }
            _ => {
                return Err(GostError(
                    "set both TOKENDANCE_GOST_KEY and TOKENDANCE_GOST_CERT (PEM paths), or neither"
                        .to_owned(),
                ))
            }
        };
        let mut signer = GostSigner::new(key, &cert, conf);
        signer.key_pass_env = var("TOKENDANCE_GOST_KEY_PASS").map(|_| "TOKENDANCE_GOST_KEY_PASS".to_owned());
        let ca = var("TOKENDANCE_GOST_CA").map_or(cert, PathBuf::from);
        Ok((signer, ca, origin.to_owned()))
    }

    pub fn run() -> Result<(), Box<dyn std::error::Error>> {
        let dir = TempDir::new("tokendance-gost-example")?;
        let conf = signer::engine_conf(dir.path())?;
        let (gost, ca, origin) = identity(&dir, &conf)?;
        let thumbprint = signer::sha1_thumbprint(&conf, &gost.cert)?;
        println!("signer: GOST R 34.10-2012 (256) through openssl + the gost engine");
        println!("  key  {} ({origin})", gost.key.display());
        println!("  cert {} (SHA-1 {thumbprint})", gost.cert.display());

        let stand = Stand::start(&conf, &ca, Box::new(|_, _| {}))?;
        let base = stand.server.base_url();
        println!("  CRPT fake behind an `openssl cms -verify` gateway on {base}\n");
        let local = |path: &str| Endpoint::parse_insecure_http(&format!("{base}{path}"));

        let mut ex = Example {
            stand,
            signer: gost,
            rows: Vec::new(),
            failures: Vec::new(),
        };
        let sign = |s: &GostSigner, job: &SignJob| s.sign(job);

        // SUZ registration: a DETACHED signature over the exact body.
        let flow = registration::register(
            &local("/crpt/suz")?,
            "cdf12109-10d3-11e6-8b6f-0050569977a1",
            RegistrationKey::new(crpt::DEMO_REGISTRATION_KEY),
            "Moscow, 1 Leninskie Gory",
            Signing::Detached,
            registration::DEFAULT_API_VERSION,
        )?;
        let run = ex.run(flow, sign);
        let (verified_ok, verified) = run.verified();
        let connection = match &run.outcome {
            Ok(Outcome::Registered { oms_connection }) => oms_connection.as_str().to_owned(),
            _ => String::new(),
        };
        let result = match &run.outcome {
            Ok(Outcome::Registered { oms_connection }) => format!("omsConnection {oms_connection}"),
            Ok(Outcome::Rejected { reason }) => format!("rejected: {}", reason.as_deref().unwrap_or("-")),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error: {e}"),
        };
        ex.row(
            "SUZ registration",
            &run,
            verified,
            result,
            verified_ok && !connection.is_empty(),
        );
        let conn = Some(connection.as_str());

        // GIS MT and True API: ATTACHED signatures of the challenge.
        let gis_mt_base = local("/crpt/gis-mt/api/v3")?;
        let run = ex.run(gis_mt::sign_in(&gis_mt_base, conn)?, sign);
        ex.token_row("GIS MT sign-in", run, &connection);
        let base = local("/crpt/true-api/api/v3/true-api")?;
        let run = ex.run(true_api::sign_in(&base, conn)?, sign);
        ex.token_row("True API sign-in", run, &connection);

        // MDLP SIGNED_CODE: a DETACHED signature over the code; the user is
        // the certificate's SHA-1 thumbprint.
        let client = mdlp::Client {
            id: fake::DEMO_CLIENT_ID.to_owned(),
            secret: ClientSecret::new(fake::DEMO_CLIENT_SECRET),
        };
        let flow = mdlp::sign_in(
            &local("/crpt/mdlp")?,
            client,
            &thumbprint,
            mdlp::Auth::SignedCode,
            conn,
        )?;
        let run = ex.run(flow, sign);
        ex.token_row("MDLP SIGNED_CODE", run, &connection);

        // The gateway is no rubber stamp: a real but DETACHED signature on a
        // login is refused with 403, as the stands do.
        let wrong_kind = |s: &GostSigner, job: &SignJob| s.sign_as(job.bytes(), SignatureKind::Detached);
        let run = ex.run(gis_mt::sign_in(&gis_mt_base, conn)?, wrong_kind);
        let refused = matches!(&run.outcome,
            Err(DriveError::Flow(Error::Server(e))) if e.kind == ServerErrorKind::Forbidden);
        let (_, verified) = run.verified();
        let result = match &run.outcome {
            Err(e) => format!("refused as it must be: {e}"),
            Ok(_) => "a token for a detached login signature".to_owned(),
        };
        let rejected_by_gateway = run.checks.iter().all(|c| !c.verified) && !run.checks.is_empty();
        ex.row(
            "GIS MT, detached (wrong kind)",
            &run,
            verified,
            result,
            refused && rejected_by_gateway,
        );

        drop(ex.stand);
        print_table(&ex.rows);
        if ex.failures.is_empty() {
            println!("\nEvery real GOST signature verified and every flow got its token.");
            Ok(())
        } else {
            Err(format!(
                "{} flow(s) failed:\n  {}",
                ex.failures.len(),
                ex.failures.join("\n  ")
            )
            .into())
        }
    }

    fn print_table(rows: &[[String; 6]]) {
        let header = [
            "flow",
            "kind asked",
            "bytes signed",
            "signature (DER)",
            "verified",
            "result",
        ];
        let mut widths = header.map(str::len);
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(header.to_vec());
        println!("|{}|", widths.map(|w| "-".repeat(w + 2)).join("|"));
        for row in rows {
            line(row.iter().map(String::as_str).collect());
        }
    }
}
