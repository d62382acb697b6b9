//! Places of an answer where the echo goes: error fields, pages, headers, success values.

use super::*;

pub(super) struct Place {
    pub(super) name: String,
    pub(super) build: Box<dyn Fn(&str) -> Resp>,
}

pub(super) fn place(name: impl Into<String>, build: impl Fn(&str) -> Resp + 'static) -> Place {
    Place {
        name: name.into(),
        build: Box::new(build),
    }
}

const STATUSES: [u16; 6] = [400, 401, 403, 429, 500, 200];

const ERROR_FIELDS: [&str; 17] = [
    "error",
    "error_description",
    "error_message",
    "message",
    "msg",
    "description",
    "code",
    "error_code",
    "detail",
    "title",
    "globalErrors[0].error",
    "globalErrors[0].message",
    "fieldErrors[0].fieldError",
    "violations[0].message",
    "rejectionReason",
    "statusCode+message",
    "error+error_description",
];

/// A JSON body with `echo` in `field` (at 200, with an error marker).
fn error_body(field: &str, echo: &str, status: u16) -> Value {
    let mut body = match field {
        "globalErrors[0].error" => json!({"globalErrors": [{"error": echo}]}),
        "globalErrors[0].message" => json!({"globalErrors": [{"message": echo}]}),
        "fieldErrors[0].fieldError" => json!({"fieldErrors": [{"field": "password", "fieldError": echo}]}),
        "violations[0].message" => json!({"violations": [{"message": echo}]}),
        "rejectionReason" => json!({"status": "REJECTED", "rejectionReason": echo}),
        "statusCode+message" => json!({"statusCode": 400, "message": echo}),
        "error+error_description" => json!({"error": "invalid_grant", "error_description": echo}),
        other => {
            let mut map = serde_json::Map::new();
            map.insert(other.to_owned(), Value::String(echo.to_owned()));
            Value::Object(map)
        }
    };
    if status == 200 && !matches!(field, "rejectionReason" | "statusCode+message") {
        body["success"] = json!(false);
    }
    body
}

fn with_retry_after(status: u16, r: Resp) -> Resp {
    if status == 429 {
        r.header("retry-after", "5")
    } else {
        r
    }
}

pub(super) fn error_places() -> Vec<Place> {
    let mut places = Vec::new();
    for field in ERROR_FIELDS {
        for status in STATUSES {
            places.push(place(format!("JSON {field} at {status}"), move |e| {
                with_retry_after(status, json_resp(status, error_body(field, e, status)))
            }));
        }
    }
    places
}

pub(super) fn page_places() -> Vec<Place> {
    let mut places = Vec::new();
    for status in [400, 401, 403, 502] {
        places.push(place(
            format!("plain text, no content type, at {status}"),
            move |e| resp(status, format!("refused: {e}")),
        ));
        places.push(place(format!("text/plain at {status}"), move |e| {
            resp(status, format!("Error {status}\r\n{e}\r\n"))
                .header("content-type", "text/plain; charset=utf-8")
        }));
        places.push(place(format!("HTML <title> at {status}"), move |e| {
            resp(
                status,
                format!("<html><head><title>{e}</title></head><body>refused</body></html>"),
            )
            .header("content-type", "text/html")
        }));
        places.push(place(format!("HTML body text at {status}"), move |e| {
            resp(
                status,
                format!("<html><body><h1>Error</h1><p>Could not sign in {e}.</p></body></html>"),
            )
            .header("content-type", "text/html; charset=utf-8")
        }));
    }
    places
}

pub(super) fn header_places(kind: Kind) -> Vec<Place> {
    let mut places = vec![
        place("Content-Type parameter on an HTML 200", |e| {
            resp(200, "<html><body>maintenance</body></html>")
                .header("content-type", format!("text/html; x={e}"))
        }),
        place("Content-Type parameter on an HTML 502", |e| {
            resp(502, "<html><body>bad gateway</body></html>")
                .header("content-type", format!("text/html; x={e}"))
        }),
        place("Location path at 302", |e| {
            resp(302, "").header("location", format!("https://evil.example/cb/{e}"))
        }),
        place("Location userinfo (absolute) at 302", |e| {
            resp(302, "").header("location", format!("https://user:{e}@evil.example/cb"))
        }),
        place("Location userinfo (scheme-relative) at 302", |e| {
            resp(302, "").header("location", format!("//user:{e}@evil.example/cb"))
        }),
        place("Location query at 302", |e| {
            resp(302, "").header("location", format!("https://evil.example/cb?token={e}"))
        }),
        place("Location fragment at 307", |e| {
            resp(307, "").header("location", format!("https://evil.example/cb#{e}"))
        }),
    ];
    if kind.is_api() {
        places.push(place("WWW-Authenticate error at 401", |e| {
            resp(401, "").header("www-authenticate", format!("Bearer realm=\"api\", error=\"{e}\""))
        }));
        places.push(place("WWW-Authenticate error_description at 401", |e| {
            resp(401, "").header(
                "www-authenticate",
                format!("Bearer error=\"invalid_token\", error_description=\"{e}\""),
            )
        }));
        places.push(place("WWW-Authenticate error_description at 403", |e| {
            resp(403, "").header(
                "www-authenticate",
                format!("Bearer error=\"insufficient_scope\", error_description=\"{e}\""),
            )
        }));
    }
    places
}

fn with_field(mut body: Value, pointer: &[&str], echo: &str) -> Value {
    let mut at = &mut body;
    for key in &pointer[..pointer.len() - 1] {
        at = &mut at[*key];
    }
    at[pointer[pointer.len() - 1]] = Value::String(echo.to_owned());
    body
}

pub(super) fn success_places(kind: Kind) -> Vec<Place> {
    let fields =
        |base: fn() -> Value, what: &'static str, fields: &[&'static [&'static str]]| -> Vec<Place> {
            fields
                .iter()
                .map(|pointer| {
                    let pointer: &'static [&'static str] = pointer;
                    place(format!("{what} {}", pointer.join(".")), move |e| {
                        json_resp(200, with_field(base(), pointer, e))
                    })
                })
                .collect()
        };
    match kind {
        Kind::Token { access, refresh } => vec![place("token answer scope", move |e| {
            let mut body =
                json!({"access_token": access, "expires_in": 300, "token_type": "Bearer", "scope": e});
            if let Some(refresh) = refresh {
                body["refresh_token"] = json!(refresh);
                body["refresh_expires_in"] = json!(1800);
            }
            json_resp(200, body)
        })],
        Kind::Astana => vec![
            place("login answer message", |e| {
                json_resp(
                    200,
                    json!({"statusCode": 200, "message": e, "data": {"token": ACCESS}}),
                )
            }),
            place("login answer data.note", |e| {
                json_resp(
                    200,
                    json!({"statusCode": 200, "message": "Access token created", "data": {"token": ACCESS, "note": e}}),
                )
            }),
        ],
        Kind::Registration => vec![
            place("registration omsConnection", |e| {
                json_resp(200, json!({"status": "SUCCESS", "omsConnection": e}))
            }),
            place("registration REJECTED rejectionReason", |e| {
                json_resp(200, json!({"status": "REJECTED", "rejectionReason": e}))
            }),
        ],
        Kind::ItcConsumer => fields(
            consumer_body,
            "consumer",
            &[&["regNo"], &["loginName"], &["givenName"], &["familyName"]],
        ),
        Kind::ItcReply => fields(
            reply_body,
            "reply",
            &[&["msg"], &["loginName"], &["email"], &["code"]],
        ),
        Kind::Gam => fields(
            envelope_body,
            "envelope",
            &[
                &["status"],
                &["message"],
                &["timestamp"],
                &["data"],
                &["data", "note"],
            ],
        ),
        Kind::ApiRaw | Kind::CrptToken | Kind::MdlpAuth => Vec::new(),
    }
}
