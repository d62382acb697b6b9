//! A real GOST R 34.10-2012 CMS signer for tokendance's CRPT flows: the
//! `openssl` command-line tool with Debian's GOST engine
//! (`apt-get install libengine-gost-openssl`), run with an `OPENSSL_CONF`
//! that loads the engine.
//!
//! Shared by `examples/gost_openssl/main.rs` and `tests/gost.rs` (through
//! `#[path]`). Example and test plumbing, not part of the library: the library
//! never runs a process. To plug CryptoPro, a hardware token or a remote HSM
//! instead, write the same `fn(&SignJob) -> Result<Signature, E>`: sign
//! `job.bytes()` exactly as they are, attached or detached as `job.kind()`
//! says, and hand back the DER (or the signer's base64 through
//! `Signature::from_base64`, which accepts line breaks).
#![allow(dead_code)]

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use tokendance::{SignJob, Signature, SignatureKind};

/// Shorthand for argument lists mixing `&str` and paths.
macro_rules! os_args {
    ($($a:expr),* $(,)?) => { [$(::std::ffi::OsStr::new($a)),*] };
}

/// The Debian package that ships the GOST engine.
pub const ENGINE_PACKAGE: &str = "libengine-gost-openssl";

/// Where Debian's package puts the engine on x86-64, used when
/// `openssl version -e` does not say.
pub const DEFAULT_ENGINE_PATH: &str = "/usr/lib/x86_64-linux-gnu/engines-3/gost.so";

/// What went wrong around `openssl`; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GostError(pub String);

impl fmt::Display for GostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GostError {}

fn engine_missing(detail: &str) -> GostError {
    GostError(format!(
        "the OpenSSL GOST engine is not usable ({detail}); install it with \
         `apt-get install -y {ENGINE_PACKAGE}` (Debian/Ubuntu)"
    ))
}

/// A directory removed (with its contents) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory below the system temp dir.
    pub fn new(prefix: &str) -> Result<Self, GostError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir(&path)
            .map_err(|e| GostError(format!("cannot create {}: {e}", path.display())))?;
        Ok(TempDir(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl` with `OPENSSL_CONF` set to `conf`, feeding `stdin`.
pub fn openssl(conf: &Path, args: &[&std::ffi::OsStr], stdin: &[u8]) -> Result<Output, GostError> {
    let mut child = Command::new("openssl")
        .args(args)
        .env("OPENSSL_CONF", conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GostError(format!("cannot run the `openssl` command-line tool: {e}")))?;
    let mut pipe = child.stdin.take();
    let input = stdin.to_vec();
    // Written from a thread, so a large output can never block a large input.
    let writer = std::thread::spawn(move || {
        if let Some(pipe) = pipe.as_mut() {
            let _ = pipe.write_all(&input);
        }
    });
    let output = child
        .wait_with_output()
        .map_err(|e| GostError(format!("openssl: {e}")))?;
    let _ = writer.join();
    Ok(output)
}

/// `openssl …` as text, for error messages.
fn describe(args: &[&std::ffi::OsStr]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("openssl {}", args.join(" "))
}

/// Runs `openssl` and insists on exit code 0.
pub fn openssl_ok(conf: &Path, args: &[&std::ffi::OsStr], stdin: &[u8]) -> Result<Vec<u8>, GostError> {
    let output = openssl(conf, args, stdin)?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(GostError(format!(
            "`{}` failed ({}): {}",
            describe(args),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The GOST engine to load: `$TOKENDANCE_GOST_ENGINE` when set, otherwise
/// the one the installed OpenSSL would find, `{ENGINESDIR}/gost.so`.
pub fn engine_path() -> Result<PathBuf, GostError> {
    if let Some(path) = std::env::var_os("TOKENDANCE_GOST_ENGINE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let output = Command::new("openssl")
        .args(["version", "-e"])
        .output()
        .map_err(|e| GostError(format!("cannot run the `openssl` command-line tool: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // `ENGINESDIR: "/usr/lib/x86_64-linux-gnu/engines-3"`
    let dir = text
        .split_once(':')
        .map(|(_, dir)| dir.trim().trim_matches('"').to_owned())
        .filter(|dir| !dir.is_empty());
    Ok(match dir {
        Some(dir) => Path::new(&dir).join("gost.so"),
        None => PathBuf::from(DEFAULT_ENGINE_PATH),
    })
}

/// Writes `openssl.cnf` into `dir`: loads the GOST engine (TOOLING.md's
/// recipe) and gives `req -x509` the extensions CMS verification wants.
/// Then proves the engine works by generating a key in memory. Every failure
/// names [`ENGINE_PACKAGE`].
pub fn engine_conf(dir: &Path) -> Result<PathBuf, GostError> {
    engine_conf_with(dir, &engine_path()?)
}

/// [`engine_conf`] with the engine at `engine`.
pub fn engine_conf_with(dir: &Path, engine: &Path) -> Result<PathBuf, GostError> {
    if !engine.is_file() {
        return Err(engine_missing(&format!("{} does not exist", engine.display())));
    }
    let conf = dir.join("openssl.cnf");
    let text = format!(
        "openssl_conf = openssl_def\n\
         [openssl_def]\n\
         engines = engine_section\n\
         [engine_section]\n\
         gost = gost_section\n\
         [gost_section]\n\
         engine_id = gost\n\
         dynamic_path = {}\n\
         default_algorithms = ALL\n\
         [req]\n\
         distinguished_name = req_dn\n\
         x509_extensions = req_ext\n\
         [req_dn]\n\
         [req_ext]\n\
         basicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature,nonRepudiation\n\
         extendedKeyUsage = emailProtection,clientAuth\n\
         subjectKeyIdentifier = hash\n",
        engine.display()
    );
    std::fs::write(&conf, text).map_err(|e| GostError(format!("cannot write {}: {e}", conf.display())))?;
    let probe = openssl(
        &conf,
        &os_args!["genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"],
        b"",
    )?;
    if !probe.status.success() {
        return Err(engine_missing(&format!(
            "`openssl genpkey -algorithm gost2012_256` failed: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        )));
    }
    Ok(conf)
}

/// A throwaway GOST R 34.10-2012 (256 bit, paramset A) key and a self-signed
/// certificate for it (`extendedKeyUsage = emailProtection,clientAuth`),
/// written as `key.pem` and `cert.pem` into `dir`.
pub fn throwaway_identity(dir: &Path, conf: &Path) -> Result<(PathBuf, PathBuf), GostError> {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    openssl_ok(
        conf,
        &os_args![
            "genpkey",
            "-algorithm",
            "gost2012_256",
            "-pkeyopt",
            "paramset:A",
            "-out",
            &key
        ],
        b"",
    )?;
    openssl_ok(
        conf,
        &os_args![
            "req",
            "-new",
            "-x509",
            "-days",
            "365",
            "-key",
            &key,
            "-out",
            &cert,
            "-md_gost12_256",
            "-subj",
            "/CN=tokendance test signer/O=Example/C=RU"
        ],
        b"",
    )?;
    Ok((key, cert))
}

/// The SHA-1 thumbprint of a PEM certificate, upper-case hex without colons
/// (one of the `user_id`s MDLP's `SIGNED_CODE` accepts).
pub fn sha1_thumbprint(conf: &Path, cert: &Path) -> Result<String, GostError> {
    let out = openssl_ok(
        conf,
        &os_args!["x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
        b"",
    )?;
    // `sha1 Fingerprint=AB:CD:…` (or `SHA1 Fingerprint=` on older versions)
    let text = String::from_utf8_lossy(&out);
    let hex = text
        .split_once('=')
        .map(|(_, hex)| hex.trim().replace(':', ""))
        .unwrap_or_default();
    if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_uppercase())
    } else {
        Err(GostError(format!(
            "unexpected fingerprint output: {}",
            text.trim()
        )))
    }
}

/// Signs CRPT sign jobs with GOST R 34.10-2012 / GOST R 34.11-2012 (256)
/// through `openssl cms -sign`.
#[derive(Clone, Debug)]
pub struct GostSigner {
    /// The private key (PEM).
    pub key: PathBuf,
    /// The signer's certificate (PEM); it goes into the CMS.
    pub cert: PathBuf,
    /// An `OPENSSL_CONF` that loads the GOST engine (see [`engine_conf`]).
    pub conf: PathBuf,
    /// The name of an environment variable holding the key's passphrase
    /// (handed to openssl as `-passin env:NAME`, never on the command line).
    pub key_pass_env: Option<String>,
}

impl GostSigner {
    /// A signer with the key and certificate at these paths.
    pub fn new(key: impl Into<PathBuf>, cert: impl Into<PathBuf>, conf: impl Into<PathBuf>) -> Self {
        GostSigner {
            key: key.into(),
            cert: cert.into(),
            conf: conf.into(),
            key_pass_env: None,
        }
    }

    /// A CMS signature of the job's exact bytes, of the kind it asks for.
    pub fn sign(&self, job: &SignJob) -> Result<Signature, GostError> {
        self.sign_as(job.bytes(), job.kind())
    }

    /// A CMS signature of `kind` over `content`, whatever a job asked for:
    /// `openssl cms -sign [-nodetach] -binary -outform DER -md md_gost12_256`,
    /// the content on stdin, the DER on stdout.
    pub fn sign_as(&self, content: &[u8], kind: SignatureKind) -> Result<Signature, GostError> {
        let passin = self.key_pass_env.as_ref().map(|name| format!("env:{name}"));
        let mut args = os_args![
            "cms",
            "-sign",
            "-binary",
            "-signer",
            &self.cert,
            "-inkey",
            &self.key,
            "-outform",
            "DER",
            "-md",
            "md_gost12_256"
        ]
        .to_vec();
        if kind == SignatureKind::Attached {
            args.push("-nodetach".as_ref());
        }
        if let Some(passin) = &passin {
            args.extend(os_args!["-passin", passin]);
        }
        let der = openssl_ok(&self.conf, &args, content)?;
        if der.first() != Some(&0x30) {
            return Err(GostError(format!(
                "openssl cms -sign produced {} bytes that are not DER",
                der.len()
            )));
        }
        Ok(Signature::from_der(der))
    }
}

/// What `openssl cms -verify` said.
#[derive(Debug)]
pub struct Verified {
    /// Its exit code: 0 verified, 4 the signature does not verify (or has no content).
    pub code: Option<i32>,
    /// The content it verified (`-out`), empty on failure.
    pub content: Vec<u8>,
    /// Its error output.
    pub stderr: String,
}

impl Verified {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// `openssl cms -verify -binary -inform DER -CAfile {ca} [-content …] {extra}`
/// over the DER `signature` (on stdin). `content` is the external content of a
/// detached signature (written to a file in `scratch`); without it the
/// content must be inside (attached).
pub fn cms_verify(
    conf: &Path,
    ca: &Path,
    signature: &[u8],
    content: Option<&[u8]>,
    scratch: &Path,
    extra: &[&str],
) -> Result<Verified, GostError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut args = os_args!["cms", "-verify", "-binary", "-inform", "DER", "-CAfile", ca].to_vec();
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let content_file = match content {
        Some(bytes) => {
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let file = scratch.join(format!("content-{n}.bin"));
            std::fs::write(&file, bytes)
                .map_err(|e| GostError(format!("cannot write {}: {e}", file.display())))?;
            Some(file)
        }
        None => None,
    };
    if let Some(file) = &content_file {
        args.extend(os_args!["-content", file]);
    }
    let output = openssl(conf, &args, signature);
    if let Some(file) = &content_file {
        let _ = std::fs::remove_file(file);
    }
    let output = output?;
    let ok = output.status.success();
    Ok(Verified {
        code: output.status.code(),
        content: if ok { output.stdout } else { Vec::new() },
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

/// Whether a CMS signature carries its content (attached) or not (detached),
/// read from `openssl cms -cmsout -print`: `eContent: <ABSENT>` means detached.
pub fn signature_kind(conf: &Path, signature: &[u8]) -> Result<SignatureKind, GostError> {
    let out = openssl_ok(
        conf,
        &os_args!["cms", "-cmsout", "-print", "-inform", "DER"],
        signature,
    )?;
    let text = String::from_utf8_lossy(&out);
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("eContent:"))
        .ok_or_else(|| GostError("not a CMS SignedData (no eContent line)".to_owned()))?;
    Ok(if line.contains("<ABSENT>") {
        SignatureKind::Detached
    } else {
        SignatureKind::Attached
    })
}
