//! Oracle self-tests: every form found, in text and in blobs; nothing flagged without a secret.

use super::*;

fn text_canaries() -> Vec<String> {
    [
        PW, CS, CODE, ACCESS, REFRESH, ACCESS_2, REFRESH_2, REG_KEY, MDLP_CS, MDLP_PW, MDLP_CODE,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([sig_b64()])
    .collect()
}

fn canary_oracle() -> Oracle {
    let texts = text_canaries();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    Oracle::new(&refs, &[SIG_DER])
}

#[test]
fn oracle_finds_every_encoding_of_every_canary() {
    let oracle = canary_oracle();
    let mut missed = Vec::new();
    let mut checked = 0;
    for secret in text_canaries() {
        // So that the letters-and-digits forms are planted as themselves.
        assert!(letters_and_digits(&secret).chars().count() >= LETTERS_AND_DIGITS_MIN);
        let one = Oracle::new(&[&secret], &[]);
        for (name, form) in encodings(&secret) {
            assert_ne!(form, "", "{name} of {secret:?} is empty");
            for text in [
                form.clone(),
                // As `Debug` prints a text holding the form (line breaks as
                // `\r\n`), and as `Display` does (control characters as spaces).
                format!("Some({form:?})"),
                form.replace(char::is_control, " "),
                format!("error: {form} was refused"),
                format!("HTTP 401 invalid_grant: {form}"),
                format!("{{\"message\": {}}}", serde_json::to_string(&form).unwrap()),
                // A body holding the form, printed as `Vec<u8>`'s Debug does.
                format!("body: {:?}", format!("password={form}&x=1").into_bytes()),
                format!("{:#?}", Some(form.clone().into_bytes())),
            ] {
                checked += 1;
                for o in [&oracle, &one] {
                    if o.find(&text).is_none() {
                        missed.push(format!("{name} of {secret:?} in {text:?}"));
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// The README's promised views, on hand-written texts (not made by the
/// oracle's own encoders): each shows `s3cr3t:Key~1`, and the near misses
/// after them do not.
#[test]
fn oracle_sees_the_promised_views_of_hand_written_echoes() {
    let oracle = Oracle::new(&["s3cr3t:Key~1"], &[]);
    for echo in [
        "s3cr3t=3AKey=7E1",
        "=73=33=63=72=33=74=3A=4B=65=79=7E=31",
        "=73=33=63=72=33=74=3a=4b=65=79=7e=31",
        "s3cr3t=3AK=\r\ney=7E1",
        "Some(\"s3cr3t=3AK=\\r\\ney=7E1\")",
        "s3cr3t=3AK=  ey=7E1",
        "x=s3cr3t=3AKey=7E1",
        "%u0073%u0033%u0063%u0072%u0033%u0074%u003A%u004B%u0065%u0079%u007E%u0031",
        "s3cr3t%u003aKey%U007E1",
        "73:33:63:72:33:74:3a:4b:65:79:7e:31",
        "73-33-63-72-33-74-3A-4B-65-79-7E-31",
        "s3cr3tKey1",
        "S3CR3T_KEY_1",
        "s 3 c r 3 t : K e y ~ 1",
        "s.3.c.r.3.t.:.K.e.y.~.1",
        "czNjcjN0Ok\r\ntleX4x",
        "czNjcjN0Ok\ntleX4x",
        "Some(\"czNjcjN0Ok\\r\\ntleX4x\")",
        "czNjcjN0Ok  tleX4x",
        // base64, then `\u`, then percent.
        "%5Cu0063%5Cu007a%5Cu004e%5Cu006a%5Cu0063%5Cu006a%5Cu004e%5Cu0030%5Cu004f%5Cu006b%5Cu0074%5Cu006c%5Cu0065%5Cu0058%5Cu0034%5Cu0078",
        // `\u`, then quoted-printable, then percent.
        "%3D5Cu0073%3D5Cu0033%3D5Cu0063%3D5Cu0072%3D5Cu0033%3D5Cu0074%3D5Cu003a%3D5Cu004b%3D5Cu0065%3D5Cu0079%3D5Cu007e%3D5Cu0031",
        // Percent, then quoted-printable: `=25` is `%`.
        "s3cr3t=253AKey~1",
    ] {
        assert!(oracle.find(echo).is_some(), "{echo:?}");
    }
    for near in [
        "s3cr3t=3AKey=7E2",
        "%u0073%u0033%u0063%u0072%u0033%u0074%u003A%u004B%u0065%u0079%u007E%u0032",
        "73:33:63:72:33:74:3a:4b:65:79:7e:32",
        "s3cr3tKey2",
        "s 3 c r 3 t : K e y ~ 2",
        "czNjcjN0Ok\r\ntleX4y",
        "s3cr3t key",
        "a = b, x=CAFE, =3D and =\r\n",
    ] {
        assert_eq!(oracle.find(near), None, "{near:?}");
    }
}

#[test]
fn oracle_finds_a_canary_inside_a_longer_base64_blob() {
    let oracle = canary_oracle();
    let mut secrets: Vec<Vec<u8>> = text_canaries().into_iter().map(String::into_bytes).collect();
    secrets.push(SIG_DER.to_vec());
    for secret in &secrets {
        for before in 0..6 {
            for after in 0..4 {
                let mut blob: Vec<u8> = b"user-one:".iter().copied().cycle().take(before).collect();
                blob.extend_from_slice(secret);
                blob.extend(b"-tail".iter().take(after));
                for alphabet in [B64_STD, common::leak_oracle::B64_URL] {
                    for pad in [true, false] {
                        let encoded = base64(&blob, alphabet, pad);
                        let text = format!("token={encoded}; expired");
                        assert!(
                            oracle.find(&text).is_some(),
                            "{:?} at offset {before} in {text}",
                            String::from_utf8_lossy(secret)
                        );
                    }
                }
                // The byte list `Vec<u8>`'s Debug prints, flat and pretty, at any depth.
                let list = format!("{:?}", blob);
                let pretty = format!("{:#?}", Some(vec![blob.clone()]));
                assert!(oracle.find(&list).is_some(), "{list}");
                assert!(oracle.find(&pretty).is_some(), "{pretty}");
            }
        }
    }
}

#[test]
fn oracle_flags_nothing_without_a_secret() {
    let oracle = canary_oracle();
    let token = TokenSet::new(AccessToken::new(ACCESS), T0, Some(t_refresh()))
        .with_refresh_token(tokendance::RefreshToken::new(REFRESH), None)
        .with_scope("openid profile email");
    let half = &PW[..PW.len() / 2];
    let innocent = [
        "<withheld: echoes a secret>".to_owned(),
        "HTTP 401 <withheld: echoes a secret>: <withheld: echoes a secret>".to_owned(),
        "HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
        "HTTP 400 invalid_request: Missing form parameter: grant_type".to_owned(),
        "HTTP 200: body is not JSON (content type text/html; charset=utf-8)".to_owned(),
        "HTTP 302: redirect to https://evil.example/cb refused (transports must not follow redirects)"
            .to_owned(),
        "HTTP 403 (forbidden)".to_owned(),
        "HTTP 429 slow_down: too many requests (retry after 5 s)".to_owned(),
        "Password(<redacted>)".to_owned(),
        format!("{token:?}"),
        format!("{token:#?}"),
        format!("{:?}", Signature::from_der(SIG_DER.to_vec())),
        format!("{:?}", b"CANARY-nothing-here".to_vec()),
        base64(
            b"an unrelated blob of bytes, long enough to matter",
            B64_STD,
            true,
        ),
        common::leak_oracle::hex(b"an unrelated blob of bytes", false),
        format!("half a secret: {half}"),
        // A letter or digit changed (punctuation changed is the letters and digits alone).
        format!("one character changed: {}", PW.replace("Key~1", "Key~0")),
        PW.replace(['a', 'e', 'i', 'o', 'u'], ""),
        "de:ad:be:ef:00:11:22:33:44:55".to_owned(),
        "%u0041%u0042%u0043%u0044 =41=42=43=44".to_owned(),
        "CANARY-".to_owned(),
        String::new(),
    ];
    for text in &innocent {
        assert_eq!(oracle.find(text), None, "{text}");
    }
    assert!(oracle.find(&PW.replace('~', "-")).is_some());
}
