//! `fake::Crpt`: registration, MDLP codes, challenge sign-ins and what its Debug counts.

use super::*;

const CRPT: &str = "https://crpt.test";

/// A SUZ registration with the demo key, the body signed (detached) or not.
fn registration(query: &str, body: &str, signed: bool) -> http::Request<Vec<u8>> {
    registration_at("v3", query, body, signed)
}

/// A registration request under API `version`, signed (detached) if asked.
fn registration_at(version: &str, query: &str, body: &str, signed: bool) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post(format!("{CRPT}/api/{version}/integration/connection{query}"))
        .header("content-type", "application/json")
        .header("x-registrationkey", tokendance::crpt::DEMO_REGISTRATION_KEY);
    if signed {
        let signature = fake::sign_as(body.as_bytes(), SignatureKind::Detached);
        request = request.header("x-signature", signature.to_base64());
    }
    request.body(body.as_bytes().to_vec()).unwrap()
}

#[test]
fn crpt_registration_needs_a_non_empty_oms_id() {
    let mut crpt = Crpt::new();
    let body = r#"{"address":"Moscow, 1 Leninskie Gory"}"#;
    let rejected = (
        200,
        serde_json::json!({"status": "REJECTED", "rejectionReason": "omsId is required"}),
    );
    for query in ["", "?omsId=", "?other=1", "?other=1&omsId="] {
        assert_eq!(
            answer(&mut crpt, T0, &registration(query, body, true)),
            rejected,
            "{query}"
        );
    }
    let (_, accepted) = answer(&mut crpt, T0, &registration("?omsId=42", body, true));
    assert_eq!(accepted["status"], "SUCCESS", "{accepted}");
}

#[test]
fn crpt_mdlp_auth_gives_codes_only_to_users_it_can_check() {
    let mut crpt = Crpt::new();
    crpt.set_mdlp_client("client", "secret");
    crpt.add_mdlp_user("user@example.org", "pw");
    let unknown = (
        400,
        serde_json::json!({
            "timestamp": "2026-01-01T00:00:00.000+0000",
            "status": 400,
            "error": "Bad Request",
            "message": "Unknown user or auth_type",
        }),
    );
    let mut now = T0;
    let mut auth = |user: &str, auth_type: &str| {
        // A second apart, as MDLP wants its calls.
        now = now.saturating_add(Duration::from_secs(1));
        let body = serde_json::json!({
            "client_id": "client",
            "client_secret": "secret",
            "user_id": user,
            "auth_type": auth_type,
        });
        answer(
            &mut crpt,
            now,
            &json_post(&format!("{CRPT}/api/v1/auth"), &body.to_string()),
        )
    };
    // A signed code needs a certificate to check it against; a password
    // login, a registered user.
    assert_eq!(auth("", "SIGNED_CODE"), unknown);
    assert_eq!(auth("nobody@example.org", "PASSWORD"), unknown);
    assert!(auth("0123456789abcdef", "SIGNED_CODE").1["code"].is_string());
    assert!(auth("user@example.org", "PASSWORD").1["code"].is_string());
}

/// A challenge sign-in at T0: fetch the challenge at `key_url`, sign its
/// data with the fake signer, post it to `sign_in_url`.
fn challenge_sign_in(crpt: &mut Crpt, key_url: &str, sign_in_url: &str) -> (u16, serde_json::Value) {
    let challenge = http::Request::get(key_url).body(Vec::new()).unwrap();
    let (_, challenge_body) = answer(crpt, T0, &challenge);
    let signed = fake::sign_as(text(&challenge_body, "data").as_bytes(), SignatureKind::Attached);
    let sign_in = serde_json::json!({"uuid": challenge_body["uuid"], "data": signed.to_base64()});
    answer(crpt, T0, &json_post(sign_in_url, &sign_in.to_string()))
}

#[test]
fn crpt_debug_counts_what_it_holds_and_drops_expired_tokens() {
    let mut crpt = Crpt::new();
    let body = r#"{"address":"Moscow, 1 Leninskie Gory"}"#;
    let (_, registered) = answer(&mut crpt, T0, &registration("?omsId=42", body, true));
    let connection = text(&registered, "omsConnection");
    let sign_in = format!("{CRPT}/auth/simpleSignIn/{connection}");
    let (status, token) = challenge_sign_in(&mut crpt, &format!("{CRPT}/auth/key"), &sign_in);
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        format!("{crpt:?}"),
        "Crpt { connections: 1, live_tokens: 1, tokens_issued: 1, failure: None, pharma: false, .. }"
    );
    // Any request at the token's expiry drops it; the count of issued ones stays.
    let expiry = T0.saturating_add(crpt.challenge_token_lifetime);
    let challenge = http::Request::get(format!("{CRPT}/auth/key"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(answer(&mut crpt, expiry, &challenge).0, 200);
    assert_eq!(
        format!("{crpt:?}"),
        "Crpt { connections: 1, live_tokens: 0, tokens_issued: 1, failure: None, pharma: false, .. }"
    );
}

#[test]
fn crpt_true_api_sign_in_without_a_connection_issues_a_token() {
    let mut crpt = Crpt::new();
    let (status, body) = challenge_sign_in(
        &mut crpt,
        &format!("{CRPT}/api/v3/true-api/auth/key"),
        &format!("{CRPT}/api/v3/true-api/auth/simpleSignIn"),
    );
    assert_eq!(status, 200, "{body}");
    // True API's token belongs to no connection.
    assert!(crpt.accepts(T0, "", &AccessToken::new(text(&body, "token"))));
}

/// The fake's True API sign-in for an INN: one of `inns` gets a token, any
/// other (or one that is not a string) a 403; with `uuid_token` the token
/// is named `uuidToken` (the flows read it: see crpt_hostile).
#[test]
fn crpt_sign_in_for_an_inn_and_a_uuid_token() {
    let post = |crpt: &mut Crpt, inn: serde_json::Value| {
        let key = http::Request::get(format!("{CRPT}/api/v3/true-api/auth/key"))
            .body(Vec::new())
            .unwrap();
        let (_, challenge) = answer(crpt, T0, &key);
        let signed = fake::sign_as(text(&challenge, "data").as_bytes(), SignatureKind::Attached);
        let body = serde_json::json!({"uuid": challenge["uuid"], "data": signed.to_base64(), "inn": inn});
        answer(
            crpt,
            T0,
            &json_post(
                &format!("{CRPT}/api/v3/true-api/auth/simpleSignIn"),
                &body.to_string(),
            ),
        )
    };
    let mut crpt = Crpt::new();
    let (status, body) = post(&mut crpt, serde_json::json!("7707083893"));
    assert_eq!(status, 200, "{body}");
    for other in [
        serde_json::json!("500100732259"),
        serde_json::json!(7707083893_u64),
        serde_json::Value::Null,
    ] {
        assert_eq!(post(&mut crpt, other.clone()).0, 403, "{other}");
    }
    crpt.uuid_token = true;
    let (status, body) = post(&mut crpt, serde_json::json!("7707083893"));
    assert_eq!(status, 200);
    assert!(body.get("token").is_none(), "{body}");
    assert!(crpt.accepts(T0, "", &AccessToken::new(text(&body, "uuidToken"))));
}

/// SUZ registration with a `name`: v3 registers it; v2 rejects it.
#[test]
fn crpt_registration_takes_a_name_on_v3_only() {
    let mut crpt = Crpt::new();
    for (version, registered) in [("v3", true), ("v2", false)] {
        let body = r#"{"address":"addr","name":"Warehouse"}"#;
        let (_, answer) = answer(&mut crpt, T0, &registration_at(version, "?omsId=42", body, true));
        assert_eq!(answer["status"] == "SUCCESS", registered, "{version}: {answer}");
    }
}

/// A fake with a token live for `conn-1`, from a True API sign-in.
fn signed_in_fake() -> (Crpt, String) {
    let mut crpt = Crpt::new();
    let (_, signed_in) = challenge_sign_in(
        &mut crpt,
        &format!("{CRPT}/api/v3/true-api/auth/key"),
        &format!("{CRPT}/api/v3/true-api/auth/simpleSignIn/conn-1"),
    );
    let token = text(&signed_in, "token");
    (crpt, token)
}

/// A SUZ business call to the fake: `path` below `/api/v2/lp`, with a
/// `clientToken` and, if given, a fake detached signature over `signed_over`.
fn suz_call(
    path_and_query: &str,
    token: &str,
    body: &str,
    signed_over: Option<&str>,
) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post(format!("{CRPT}/api/v2/lp/{path_and_query}"))
        .header("content-type", "application/json")
        .header("clienttoken", token);
    if let Some(content) = signed_over {
        let signature = fake::sign_as(content.as_bytes(), SignatureKind::Detached);
        request = request.header("x-signature", signature.to_base64());
    }
    request.body(body.as_bytes().to_vec()).unwrap()
}

/// The fake's SUZ orders: a live token and a detached signature over the
/// exact body create one; each missing piece gets SUZ's refusal; a created
/// order can be closed, an unknown one cannot.
#[test]
fn crpt_suz_orders_need_a_live_token_and_a_signature_over_the_body() {
    let (mut crpt, token) = signed_in_fake();
    let body = r#"{"products":[{"gtin":"04600000000000","quantity":10}]}"#;
    let code = |answer: &serde_json::Value| answer["globalErrors"][0]["errorCode"].clone();

    let (status, created) = answer(
        &mut crpt,
        T0,
        &suz_call("orders?omsId=oms-1", &token, body, Some(body)),
    );
    assert_eq!(status, 200, "{created}");
    let order = text(&created, "orderId");
    assert_eq!(crpt.orders(), std::slice::from_ref(&order));
    assert_eq!(created["omsId"], "oms-1");

    let refusals = [
        // A token the fake never issued: 401.
        (
            suz_call("orders?omsId=oms-1", "not-a-token", body, Some(body)),
            401,
            401,
        ),
        // No signature, or one over other bytes.
        (suz_call("orders?omsId=oms-1", &token, body, None), 400, 1501),
        (
            suz_call("orders?omsId=oms-1", &token, body, Some("{}")),
            400,
            1501,
        ),
        (suz_call("orders", &token, body, Some(body)), 400, 1001),
        (
            suz_call(
                &format!("buffer/close?omsId=oms-1&orderId={order}x"),
                &token,
                "{}",
                Some("{}"),
            ),
            404,
            1140,
        ),
    ];
    for (request, want_status, want_code) in refusals {
        let (status, refused) = answer(&mut crpt, T0, &request);
        assert_eq!(
            (status, code(&refused)),
            (want_status, serde_json::json!(want_code)),
            "{refused}"
        );
        assert_eq!(refused["success"], false);
    }
    let (status, refused) = answer(
        &mut crpt,
        T0,
        &suz_call("orders?omsId=oms-1", &token, "{}", Some("{}")),
    );
    assert_eq!(status, 400);
    assert_eq!(refused["fieldErrors"][0]["fieldName"], "products", "{refused}");
    assert_eq!(crpt.orders().len(), 1, "no refused call created an order");

    let close = format!("buffer/close?omsId=oms-1&orderId={order}");
    let (status, closed) = answer(&mut crpt, T0, &suz_call(&close, &token, "{}", Some("{}")));
    assert_eq!((status, text(&closed, "orderId")), (200, order));

    // The stand's own code for a token it does not take, instead of 401.
    crpt.suz_token_code = Some(1133);
    let (status, refused) = answer(
        &mut crpt,
        T0,
        &suz_call("orders?omsId=oms-1", "old", body, Some(body)),
    );
    assert_eq!((status, code(&refused)), (400, serde_json::json!(1133)));
    // Pharma signs nothing.
    crpt.pharma = true;
    assert_eq!(
        answer(&mut crpt, T0, &suz_call("orders?omsId=oms-1", &token, body, None)).0,
        200
    );
}

/// The fake's MDLP business calls: a live token, and one call of each
/// method a second; other methods are not held back.
#[test]
fn crpt_mdlp_business_calls_take_one_call_of_each_method_a_second() {
    let (mut crpt, token) = signed_in_fake();
    let call = |path: &str, token: &str| {
        http::Request::get(format!("{CRPT}/api/v1/{path}"))
            .header("authorization", format!("token {token}"))
            .body(Vec::new())
            .unwrap()
    };
    let at = |ms: u64| T0.saturating_add(Duration::from_millis(ms));
    assert_eq!(
        answer(&mut crpt, at(0), &call("documents/outcome", &token)).0,
        200
    );
    assert_eq!(
        answer(&mut crpt, at(10), &call("documents/income", &token)).0,
        200
    );
    assert_eq!(answer(&mut crpt, at(20), &call("reestr/egrul", &token)).0, 200);
    assert_eq!(
        answer(&mut crpt, at(999), &call("documents/outcome", &token)).0,
        429
    );
    assert_eq!(crpt.mdlp_too_soon_calls(), 1);
    // The refused call counts as a call: the next turn is a second after it.
    assert_eq!(
        answer(&mut crpt, at(1_500), &call("documents/outcome", &token)).0,
        429
    );
    assert_eq!(
        answer(&mut crpt, at(2_500), &call("documents/outcome", &token)).0,
        200
    );
    assert_eq!(
        answer(&mut crpt, at(5_000), &call("documents/outcome", "old")).0,
        401
    );
    assert_eq!(crpt.mdlp_too_soon_calls(), 2);
}
