//! The oracle: forward forms of each secret, searched for in the views.

use std::collections::HashMap;
use std::sync::Mutex;

use super::encoders::*;
use super::views::{views, ViewKind};
use super::{B64_STD, B64_URL, LETTERS_AND_DIGITS_MIN, MIN_FORM_LEN};

/// kinds of view it is searched in.
struct Form {
    name: &'static str,
    text: String,
    kinds: &'static [ViewKind],
}

const TEXT: &[ViewKind] = &[ViewKind::Text];
const SQUEEZED: &[ViewKind] = &[ViewKind::Squeezed];
/// Blobs: as they are, and wrapped (line breaks printed as breaks, as
/// `\r\n` escapes or as spaces).
const TEXT_OR_SQUEEZED: &[ViewKind] = &[ViewKind::Text, ViewKind::Squeezed];
const SKELETON: &[ViewKind] = &[ViewKind::Skeleton];

struct Known {
    label: String,
    forms: Vec<Form>,
}

fn forward_forms(secret: &[u8]) -> Vec<Form> {
    let mut forms: Vec<(&'static str, String, &'static [ViewKind])> = Vec::new();
    let text = std::str::from_utf8(secret).ok();
    if let Some(s) = text {
        forms.push(("plain", s.to_owned(), TEXT));
        let json = serde_json::to_string(s).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        forms.push(("JSON-escaped", json.clone(), TEXT));
        forms.push(("JSON-escaped with \\/", json.replace('/', "\\/"), TEXT));
        let debug = format!("{s:?}");
        forms.push(("Rust {:?}-escaped", debug.trim_matches('"').to_owned(), TEXT));
        forms.push(("\\u escapes", json_u_escapes(s), TEXT));
        let squeezed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        forms.push(("plain, whitespace squeezed", squeezed, SQUEEZED));
        let alnum = letters_and_digits(&s.to_lowercase());
        if alnum.chars().count() >= LETTERS_AND_DIGITS_MIN {
            forms.push(("letters and digits alone", alnum, SKELETON));
        }
    }
    forms.push((
        "percent-encoded (%20)",
        percent(secret, is_unreserved, None, false),
        TEXT,
    ));
    forms.push((
        "percent-encoded (+ for space)",
        percent(secret, is_unreserved, Some('+'), false),
        TEXT,
    ));
    forms.push((
        "form-urlencoded",
        percent(secret, is_form_safe, Some('+'), false),
        TEXT,
    ));
    forms.push((
        "encodeURIComponent",
        percent(secret, is_uri_component, None, false),
        TEXT,
    ));
    forms.push((
        "percent every byte",
        percent(secret, |_| false, None, false),
        TEXT,
    ));
    forms.push((
        "double percent-encoded",
        percent(
            percent(secret, is_unreserved, None, false).as_bytes(),
            is_unreserved,
            None,
            false,
        ),
        TEXT,
    ));
    const CORES: [(&str, &[u8; 64], usize); 6] = [
        ("base64 core at offset 0", B64_STD, 0),
        ("base64 core at offset 1", B64_STD, 1),
        ("base64 core at offset 2", B64_STD, 2),
        ("base64url core at offset 0", B64_URL, 0),
        ("base64url core at offset 1", B64_URL, 1),
        ("base64url core at offset 2", B64_URL, 2),
    ];
    for (name, alphabet, shift) in CORES {
        forms.push((name, base64_core(secret, shift, alphabet), TEXT_OR_SQUEEZED));
    }
    forms.push(("hex", hex(secret, false), TEXT));
    let decimal: Vec<String> = secret.iter().map(|b| b.to_string()).collect();
    forms.push(("decimal byte list {:?}", decimal.join(", "), TEXT));
    forms.push(("decimal byte list {:#?}", decimal.join(",\n    "), TEXT));
    forms.push(("decimal byte list (any layout)", decimal.join(","), SQUEEZED));
    // Java prints bytes signed: the same list where a byte is over 127.
    let signed: Vec<String> = secret
        .iter()
        .map(|&b| i8::from_ne_bytes([b]).to_string())
        .collect();
    forms.push(("signed decimal byte list", signed.join(", "), TEXT));
    forms.push((
        "signed decimal byte list (any layout)",
        signed.join(","),
        SQUEEZED,
    ));
    let hex_list: Vec<String> = secret.iter().map(|b| format!("{b:x}")).collect();
    forms.push(("hex byte list {:x?}", hex_list.join(", "), TEXT));
    for (name, separator) in [
        ("hex pairs joined by ':'", ":"),
        ("hex pairs joined by '-'", "-"),
        ("hex pairs joined by ' '", " "),
    ] {
        forms.push((name, hex_pairs(secret, false, separator), TEXT));
    }

    let mut out: Vec<Form> = Vec::new();
    for (name, text, kinds) in forms {
        let text = text.to_lowercase();
        let long_enough = text.chars().count() >= MIN_FORM_LEN || name == "plain";
        if text.is_empty() || !long_enough {
            continue;
        }
        if out.iter().any(|f| f.text == text && f.kinds == kinds) {
            continue;
        }
        out.push(Form { name, text, kinds });
    }
    out
}

/// Finds any known secret, in any form, in a printed text.
pub struct Oracle {
    known: Vec<Known>,
    /// Printed texts repeat (flow Debug, constant errors): each is judged once.
    cache: Mutex<HashMap<String, Option<String>>>,
}

impl Oracle {
    /// An oracle for text secrets and raw byte secrets (DER signatures).
    pub fn new(secrets: &[&str], raw: &[&[u8]]) -> Self {
        let mut known: Vec<Known> = secrets
            .iter()
            .map(|s| Known {
                label: format!("{s:?}"),
                forms: forward_forms(s.as_bytes()),
            })
            .collect();
        known.extend(raw.iter().map(|b| Known {
            label: format!("bytes {:?}", String::from_utf8_lossy(b)),
            forms: forward_forms(b),
        }));
        Oracle {
            known,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How many secrets the oracle knows.
    pub fn secrets(&self) -> usize {
        self.known.len()
    }

    /// A description of the first secret found in `printed` (which secret,
    /// in which form, in which view, and where), or `None`.
    pub fn find(&self, printed: &str) -> Option<String> {
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(printed) {
            return hit.clone();
        }
        let hit = self.search(printed);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(printed.to_owned(), hit.clone());
        hit
    }

    fn search(&self, printed: &str) -> Option<String> {
        let views = views(printed);
        for known in &self.known {
            for form in &known.forms {
                for view in views.iter().filter(|v| form.kinds.contains(&v.kind)) {
                    if let Some(at) = view.text.find(&form.text) {
                        return Some(format!(
                            "secret {} as {} in the {} view: …{}…",
                            known.label,
                            form.name,
                            view.name,
                            around(&view.text, at, form.text.len())
                        ));
                    }
                }
            }
        }
        None
    }
}

/// Up to 24 characters either side of `text[at..at + len]`.
fn around(text: &str, at: usize, len: usize) -> String {
    let start = text[..at].char_indices().rev().nth(23).map_or(0, |(i, _)| i);
    let end = text[at + len..]
        .char_indices()
        .nth(24)
        .map_or(text.len(), |(i, _)| at + len + i);
    text[start..end].to_owned()
}
