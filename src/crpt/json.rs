//! The exact bytes of CRPT's JSON bodies, written once: what is sent is
//! what is signed.

/// `{"<key>":<value as a JSON string>,"<signature_key>":"<base64>"}`, the
/// body of a sign-in, with `extra` (a key and a string) last when given:
/// the base64 is written straight into the body, without an intermediate
/// string or an escape scan (base64 needs no escaping).
pub(super) fn with_signature(
    key: &str,
    value: &str,
    signature_key: &str,
    signature: &crate::Signature,
    extra: Option<(&str, &str)>,
) -> Vec<u8> {
    let der = signature.as_der();
    let mut body = Vec::with_capacity(value.len() + der.len().div_ceil(3) * 4 + 32);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b"\":");
    // A string always serialises.
    let _ = serde_json::to_writer(&mut body, value);
    body.extend_from_slice(b",\"");
    body.extend_from_slice(signature_key.as_bytes());
    body.extend_from_slice(b"\":\"");
    crate::base64::encode_into(&mut body, der);
    body.push(b'"');
    if let Some((key, value)) = extra {
        body.extend_from_slice(b",\"");
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(b"\":");
        let _ = serde_json::to_writer(&mut body, value);
    }
    body.push(b'}');
    body
}

/// Serialises a body once: these are the exact bytes sent (and, for the
/// registration, signed). Structs of strings cannot fail to serialise.
/// Room for 256 bytes up front: MDLP's bodies (ids, a secret, a code) run
/// past `to_vec`'s 128 and would be copied to a second buffer.
pub(super) fn bytes(body: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}
