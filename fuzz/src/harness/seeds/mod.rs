//! Seeds: `fuzz/seeds/<target>/<name>` is [`seeds`] written out (see
//! `tests/fuzz_regressions.rs`, `regenerate_seeds`): every parse target gets
//! the hostile and documented bodies of [`bodies`], every operation target
//! a few sequences written with [`Ops`].

mod bodies;

use super::flow_ops::FlowOp;
use super::flow_table::TOKEN_FLOWS;
use super::input::time::{
    ahead_squared_minutes, AT_EPOCH, AT_MAX, BACK_36H, BACK_5S, NOW, PLUS_1H, PLUS_1MIN, PLUS_1S,
};
use super::keeper::KeeperOp;
use super::ops::{Hole, Ops, N300, N3600_STR, N_MAX, N_NULL};
use super::response::{encode_parse, Template, HTML, JSON, RETRY_AFTER};
use super::session::SessionOp;
use super::target_names;
use bodies::{documented_bodies, hostile_bodies};

/// A signature operand: a length byte, then the start of a DER blob.
const SIG: [u8; 5] = [4, 0x30, 0x80, 0x06, 0x09];

/// Every seed: (target, name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for target in target_names().filter(|t| t.ends_with("_response")) {
        for (name, status, flags, body) in hostile_bodies() {
            // One 64 KiB seed per classifier path is enough.
            if name == "too_large" && !matches!(target, "token_response" | "gam_response") {
                continue;
            }
            out.push((target, name.to_owned(), encode_parse(status, flags, &body)));
        }
        for (name, status, flags, body) in documented_bodies(target) {
            out.push((
                target,
                name.to_owned(),
                encode_parse(status, flags, body.as_bytes()),
            ));
        }
    }
    let token_ok = |ops: Ops, time| {
        ops.tpl(
            time,
            FlowOp::Response,
            200,
            Template::Bearer,
            &[Hole::S("eyJ"), Hole::N(N300)],
        )
    };
    let misuse = |prefix: &[u8]| {
        Ops::new(prefix)
            .op(NOW, FlowOp::Timeout, &[])
            .op(NOW, FlowOp::Start, &[])
            .op(NOW, FlowOp::Start, &[])
            .op(NOW, FlowOp::Signature, &[0])
            .raw(BACK_5S, FlowOp::Response, 502, HTML, b"<html>bad gateway</html>")
            .op(NOW, FlowOp::Start, &[])
            .raw(NOW, FlowOp::Response, 200, JSON, b"")
            .done()
    };
    let aborted = |prefix: &[u8]| {
        Ops::new(prefix)
            .op(NOW, FlowOp::Start, &[])
            .op(PLUS_1S, FlowOp::Failed, &[])
            .op(NOW, FlowOp::Timeout, &[])
            .done()
    };
    // One-request flows.
    out.push((
        "gam_ops",
        "ok".into(),
        token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), PLUS_1S).done(),
    ));
    out.push((
        "gam_ops",
        "refused_then_misused".into(),
        Ops::new(&[])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::OAuthError,
                &[Hole::S("invalid_client"), Hole::S("bad secret client secret 7")],
            )
            .op(PLUS_1S, FlowOp::Start, &[])
            .done(),
    ));
    out.push(("gam_ops", "misuse".into(), misuse(&[])));
    // An authorised GAM call: token, call; 401 → token, call again.
    let envelope = |ops: Ops, time| {
        ops.tpl(
            time,
            FlowOp::Response,
            200,
            Template::GamEnvelope,
            &[
                Hole::S("200"),
                Hole::S("Success"),
                Hole::S("2024-05-01"),
                Hole::N(N300),
            ],
        )
    };
    let bearer_401 = br#"{"error":"invalid_token"}"#;
    out.push((
        "authorized_ops",
        "ok".into(),
        envelope(
            token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), PLUS_1S),
            PLUS_1S,
        )
        .done(),
    ));
    out.push((
        "authorized_ops",
        "retried_once".into(),
        envelope(
            token_ok(
                token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), NOW).raw(
                    PLUS_1S,
                    FlowOp::Response,
                    401,
                    JSON,
                    bearer_401,
                ),
                PLUS_1S,
            ),
            PLUS_1S,
        )
        .done(),
    ));
    out.push((
        "authorized_ops",
        "second_401".into(),
        token_ok(
            token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), NOW).raw(
                PLUS_1S,
                FlowOp::Response,
                401,
                JSON,
                bearer_401,
            ),
            PLUS_1S,
        )
        .raw(PLUS_1S, FlowOp::Response, 401, 0, b"<error>invalid_token</error>")
        .op(NOW, FlowOp::Start, &[])
        .done(),
    ));
    out.push((
        "authorized_ops",
        "forbidden_empty".into(),
        token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), NOW)
            .raw(PLUS_1S, FlowOp::Response, 403, JSON, b"")
            .op(NOW, FlowOp::Timeout, &[])
            .done(),
    ));
    out.push((
        "authorized_ops",
        "processing_error".into(),
        token_ok(Ops::new(&[]).op(NOW, FlowOp::Start, &[]), NOW)
            .tpl(
                PLUS_1S,
                FlowOp::Response,
                200,
                Template::GamError,
                &[
                    Hole::Wide(0x50, 400),
                    Hole::S("Customer not found"),
                    Hole::S("CUS_404"),
                ],
            )
            .done(),
    ));
    out.push(("authorized_ops", "misuse".into(), misuse(&[])));
    out.push(("authorized_ops", "aborted".into(), aborted(&[])));
    out.push(("gam_ops", "aborted".into(), aborted(&[])));
    out.push((
        "monpay_ops",
        "ok_no_expiry".into(),
        Ops::new(&[])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                PLUS_1S,
                FlowOp::Response,
                200,
                Template::AccessTokenOnly,
                &[Hole::S("mp-1")],
            )
            .done(),
    ));
    out.push((
        "monpay_ops",
        "forbidden_empty".into(),
        Ops::new(&[])
            .op(NOW, FlowOp::Start, &[])
            .raw(NOW, FlowOp::Response, 403, 0, b"")
            .done(),
    ));
    out.push(("monpay_ops", "misuse".into(), misuse(&[])));
    for (variant, name) in [(0u8, "password"), (1, "certificate")] {
        out.push((
            "astana_ops",
            format!("{name}_ok"),
            Ops::new(&[variant])
                .op(NOW, FlowOp::Start, &[])
                .tpl(
                    PLUS_1S,
                    FlowOp::Response,
                    200,
                    Template::AstanaToken,
                    &[Hole::S("abc.def")],
                )
                .done(),
        ));
        out.push((
            "astana_ops",
            format!("{name}_refused"),
            Ops::new(&[variant])
                .op(NOW, FlowOp::Start, &[])
                .tpl(
                    NOW,
                    FlowOp::Response,
                    400,
                    Template::AstanaStatus,
                    &[Hole::Wide(0x50, 400), Hole::S("Endpoint not found")],
                )
                .done(),
        ));
    }
    out.push(("astana_ops", "aborted".into(), aborted(&[0])));
    // Every flow of the shared table: its documented success (the first
    // answer of a one-request flow), misuse, and an abort.
    for (index, entry) in TOKEN_FLOWS.iter().enumerate() {
        let pick = [u8::try_from(index).expect("fewer than 256 flows")];
        let name = entry.name.replace(' ', "_");
        if entry.is_one_request() {
            let body = entry.success.body("eyJ-table-token");
            out.push((
                "token_flow_ops",
                format!("{name}_ok"),
                Ops::new(&pick)
                    .op(NOW, FlowOp::Start, &[])
                    .raw(PLUS_1S, FlowOp::Response, 200, JSON, body.as_bytes())
                    .done(),
            ));
        }
        out.push(("token_flow_ops", format!("{name}_misuse"), misuse(&pick)));
        out.push(("token_flow_ops", format!("{name}_aborted"), aborted(&pick)));
    }
    // CRPT challenge sign-ins.
    for (variant, name) in [(0u8, "gis_mt"), (1, "true_api")] {
        out.push((
            "crpt_challenge_ops",
            format!("{name}_ok"),
            Ops::new(&[variant])
                .op(NOW, FlowOp::Start, &[])
                .tpl(
                    NOW,
                    FlowOp::Response,
                    200,
                    Template::CrptChallenge,
                    &[Hole::S("u-1"), Hole::S("QNRPNPFGJZ")],
                )
                .op(PLUS_1S, FlowOp::Signature, &SIG)
                .tpl(
                    PLUS_1S,
                    FlowOp::Response,
                    200,
                    Template::CrptToken,
                    &[Hole::S("58f908f1")],
                )
                .op(NOW, FlowOp::Timeout, &[])
                .done(),
        ));
        out.push((
            "crpt_challenge_ops",
            format!("{name}_refused"),
            Ops::new(&[variant])
                .op(NOW, FlowOp::Start, &[])
                .tpl(
                    NOW,
                    FlowOp::Response,
                    200,
                    Template::CrptChallenge,
                    &[Hole::S("u-1"), Hole::S("QNRPNPFGJZ")],
                )
                .raw(NOW, FlowOp::Response, 200, JSON, b"")
                .op(PLUS_1S, FlowOp::Signature, &SIG)
                .tpl(
                    NOW,
                    FlowOp::Response,
                    403,
                    Template::CrptError,
                    &[Hole::S("403"), Hole::S("detached"), Hole::S("no")],
                )
                .done(),
        ));
    }
    out.push(("crpt_challenge_ops", "misuse".into(), misuse(&[0])));
    // MDLP.
    out.push((
        "mdlp_ops",
        "signed_code_ok".into(),
        Ops::new(&[0])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::MdlpCode,
                &[Hole::S("b7b1abc9")],
            )
            .op(NOW, FlowOp::Signature, &SIG)
            .op(PLUS_1S, FlowOp::Timeout, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::MdlpToken,
                &[Hole::S("58f9"), Hole::N(0x12)],
            )
            .done(),
    ));
    out.push((
        "mdlp_ops",
        "password_ok_huge_life_time".into(),
        Ops::new(&[1])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::MdlpCode,
                &[Hole::S("b7b1abc9")],
            )
            .op(BACK_5S, FlowOp::Timeout, &[])
            .tpl(
                AT_MAX,
                FlowOp::Response,
                200,
                Template::MdlpToken,
                &[Hole::S("58f9"), Hole::N(N_MAX)],
            )
            .done(),
    ));
    out.push((
        "mdlp_ops",
        "slow_signer".into(),
        Ops::new(&[0])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::MdlpCode,
                &[Hole::S("b7b1abc9")],
            )
            .op(PLUS_1MIN, FlowOp::Signature, &SIG)
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::MdlpToken,
                &[Hole::S("58f9"), Hole::N(N_NULL)],
            )
            .done(),
    ));
    out.push(("mdlp_ops", "misuse".into(), misuse(&[1])));
    // SUZ registration.
    out.push((
        "suz_registration_ops",
        "signed_ok".into(),
        Ops::new(&[0])
            .op(NOW, FlowOp::Start, &[])
            .op(NOW, FlowOp::Signature, &SIG)
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::SuzRegistered,
                &[Hole::S("CDF12109")],
            )
            .done(),
    ));
    out.push((
        "suz_registration_ops",
        "unsigned_rejected".into(),
        Ops::new(&[1])
            .op(NOW, FlowOp::Start, &[])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::SuzRejected,
                &[Hole::S("duplicate")],
            )
            .done(),
    ));
    out.push(("suz_registration_ops", "aborted".into(), aborted(&[0])));
    // PasswordSession.
    let keycloak = |ops: Ops, time, access: &str, refresh: &str| {
        ops.tpl(
            time,
            SessionOp::Handle,
            200,
            Template::BearerWithRefresh,
            &[
                Hole::S(access),
                Hole::N(N300),
                Hole::S(refresh),
                Hole::N(0x30 | 1),
            ],
        )
    };
    out.push(("password_session_ops", "refresh_then_fallback".into(), {
        let ops = keycloak(Ops::new(&[]).op(NOW, SessionOp::Poll, &[]), PLUS_1S, "a-1", "r-1")
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::PollAtDeadline, &[]);
        ops.tpl(
            NOW,
            SessionOp::Handle,
            400,
            Template::OAuthError,
            &[Hole::S("invalid_grant"), Hole::S("Token is not active")],
        )
        .op(NOW, SessionOp::Poll, &[])
        .tpl(
            NOW,
            SessionOp::Handle,
            200,
            Template::Bearer,
            &[Hole::S("a-2"), Hole::N(N3600_STR)],
        )
        .op(PLUS_1H, SessionOp::Poll, &[])
        .done()
    }));
    out.push((
        "password_session_ops",
        "wrong_password_ends".into(),
        Ops::new(&[])
            .op(NOW, SessionOp::Poll, &[])
            .tpl(
                NOW,
                SessionOp::Handle,
                401,
                Template::OAuthError,
                &[Hole::S("invalid_grant"), Hole::S("Invalid user credentials")],
            )
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::TransportFailed, &[])
            .op(NOW, SessionOp::Fetch, &[2])
            .op(NOW, FlowOp::Response, &[])
            .done(),
    ));
    out.push((
        "password_session_ops",
        "transport_failures_and_timeouts".into(),
        Ops::new(&[])
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::TransportFailed, &[])
            .op(NOW, SessionOp::Poll, &[])
            .op(PLUS_1S, SessionOp::Poll, &[])
            .op(PLUS_1MIN, SessionOp::PollAtDeadline, &[])
            .op(PLUS_1H, SessionOp::Poll, &[])
            .raw(
                NOW,
                SessionOp::Handle,
                503,
                HTML | RETRY_AFTER,
                b"<html>down</html>",
            )
            .op(BACK_5S, SessionOp::Poll, &[])
            .op(NOW, SessionOp::SetPacing, &[0, 2])
            .op(AT_MAX, SessionOp::Poll, &[])
            .done(),
    ));
    // The fetch takes three flow steps: a Keycloak answer and two timeouts.
    out.push((
        "password_session_ops",
        "fetch_and_unauthorized".into(),
        Ops::new(&[])
            .op(NOW, SessionOp::Fetch, &[3])
            .tpl(
                NOW,
                FlowOp::Response,
                200,
                Template::BearerWithRefresh,
                &[Hole::S("a-1"), Hole::N(N300), Hole::S("r"), Hole::N(N300)],
            )
            .op(NOW, FlowOp::Timeout, &[])
            .op(NOW, FlowOp::Timeout, &[])
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::SetPacing, &[0, 1])
            .op(PLUS_1H, SessionOp::Poll, &[])
            .done(),
    ));
    // TokenKeeper.
    // A token operand: time byte, shape (1: expires after a duration), duration index, name byte.
    let ten_hours = [NOW, 1, 6, 1];
    out.push((
        "token_keeper_ops",
        "renew_use_reject_renew".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(
                NOW,
                KeeperOp::Renewed,
                &[0, ten_hours[0], ten_hours[1], ten_hours[2], ten_hours[3]],
            )
            .op(PLUS_1MIN, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::RestoreOwnSnapshot, &[])
            .op(NOW, KeeperOp::HeldRejected, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Failed, &[1, 1, PLUS_1MIN])
            .op(NOW, KeeperOp::PollAtDeadline, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "lost_renewal_and_stale_ticket".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1H, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Renewed, &[0, NOW, 1, 6, 2])
            .op(NOW, KeeperOp::Failed, &[0, 0])
            .op(NOW, KeeperOp::Renewed, &[1, NOW, 1, 6, 3])
            .op(NOW, KeeperOp::Restore, &[0, 2, PLUS_1S, 1, 6, 4])
            .op(NOW, KeeperOp::Restore, &[1, 0, PLUS_1S, 0, 5])
            .op(NOW, KeeperOp::SetPacing, &[0, 0])
            .op(AT_MAX, KeeperOp::Poll, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "restored_then_backoff_to_max".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Restore, &[0, 0, NOW, 1, 5, 7])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::SetPacing, &[7, 0])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Failed, &[0, 1, AT_MAX])
            .op(PLUS_1H, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::PollAtDeadline, &[])
            .op(NOW, KeeperOp::SetPacing, &[7, 1])
            .op(BACK_5S, KeeperOp::Poll, &[])
            .done(),
    ));
    out.push((
        "token_keeper_ops",
        "valid_token_used_while_renewing".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Renewed, &[0, NOW, 1, 6, 9])
            .op(ahead_squared_minutes(24), KeeperOp::Poll, &[])
            .op(ahead_squared_minutes(4), KeeperOp::Poll, &[])
            .op(ahead_squared_minutes(2), KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Failed, &[1, 0])
            .op(NOW, KeeperOp::Poll, &[])
            .done(),
    ));
    // The review's case: a snapshot from a clock an hour ahead, refused;
    // then renewals at ordinary times, one ticket each.
    out.push((
        "token_keeper_ops",
        "snapshot_from_a_clock_ahead_then_401".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Restore, &[0, 1, PLUS_1H, 1, 6, 1])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::HeldRejected, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Restore, &[0, 1, PLUS_1H, 1, 6, 1])
            .op(PLUS_1S, KeeperOp::Renewed, &[0, NOW, 1, 6, 2])
            .op(NOW, KeeperOp::Poll, &[])
            .op(BACK_36H, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::NamedRejected, &[2])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .done(),
    ));
    // Polls at Timestamp::MAX, twice, then back to the epoch.
    out.push((
        "token_keeper_ops",
        "max_twice_then_the_epoch".into(),
        Ops::new(&[])
            .op(AT_MAX, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(AT_EPOCH, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::PollAtDeadline, &[])
            .op(NOW, KeeperOp::Renewed, &[0, NOW, 1, 6, 3])
            .op(AT_MAX, KeeperOp::Poll, &[])
            .done(),
    ));
    // A far Retry-After, retry_now, an abandoned renewal, foreign tickets.
    out.push((
        "token_keeper_ops",
        "retry_now_abandoned_foreign".into(),
        Ops::new(&[])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Failed, &[0, 1, AT_MAX])
            .op(NOW, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::RetryNow, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::Foreign, &[0])
            .op(NOW, KeeperOp::Foreign, &[5])
            .op(NOW, KeeperOp::Abandoned, &[1])
            .op(NOW, KeeperOp::Poll, &[])
            .op(PLUS_1S, KeeperOp::Poll, &[])
            .op(NOW, KeeperOp::SetPacing, &[0, 1])
            .op(NOW, KeeperOp::SetPacing, &[2, 1])
            .op(NOW, KeeperOp::Foreign, &[1])
            .done(),
    ));
    out.push((
        "password_session_ops",
        "retry_now_after_failures".into(),
        Ops::new(&[])
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::TransportFailed, &[])
            .op(PLUS_1S, SessionOp::Poll, &[])
            .op(NOW, SessionOp::TransportFailed, &[])
            .op(PLUS_1S, SessionOp::RetryNow, &[])
            .op(NOW, SessionOp::Poll, &[])
            .raw(
                NOW,
                SessionOp::Handle,
                429,
                JSON | RETRY_AFTER,
                br#"{"error":"slow_down"}"#,
            )
            .op(NOW, SessionOp::RetryNow, &[])
            .op(PLUS_1S, SessionOp::Poll, &[])
            .op(AT_MAX, SessionOp::Poll, &[])
            .op(NOW, SessionOp::Poll, &[])
            .op(BACK_36H, SessionOp::Poll, &[])
            .done(),
    ));
    // A refresh refused by a proxy's plain-text 400: the password grant next, at once.
    out.push(("password_session_ops", "refresh_refused_by_a_proxy".into(), {
        keycloak(Ops::new(&[]).op(NOW, SessionOp::Poll, &[]), PLUS_1S, "a-1", "r-1")
            .op(NOW, SessionOp::PollAtDeadline, &[])
            .raw(NOW, SessionOp::Handle, 400, 5, b"Bad Request")
            .op(NOW, SessionOp::Poll, &[])
            .raw(
                NOW,
                SessionOp::Handle,
                401,
                HTML,
                b"<html>401 Authorization Required</html>",
            )
            .op(PLUS_1S, SessionOp::Poll, &[])
            .done()
    }));
    out.push((
        "password_session_ops",
        "fetch_failed_while_waiting".into(),
        Ops::new(&[])
            .op(NOW, SessionOp::Poll, &[])
            .op(NOW, SessionOp::TransportFailed, &[])
            .op(NOW, SessionOp::Fetch, &[1])
            .op(NOW, FlowOp::Failed, &[])
            .op(PLUS_1S, SessionOp::Poll, &[])
            .tpl(
                NOW,
                SessionOp::Handle,
                200,
                Template::Bearer,
                &[Hole::S("a-1"), Hole::N(N300)],
            )
            .op(NOW, SessionOp::Poll, &[])
            .done(),
    ));
    // Path segments: raw strings (byte 0 even) or pieces (odd).
    let strings = |mode: u8, values: [&[u8]; 4]| {
        let mut bytes = vec![mode];
        for v in values {
            bytes.push(u8::try_from(v.len()).expect("a short value"));
            bytes.extend_from_slice(v);
        }
        bytes
    };
    for (name, values) in [
        (
            "plain",
            [&b"AA12345678"[..], b"orders", b"v2", b"CDF12109-10D3-11E6"],
        ),
        ("dots", [b".", b"..", b"%2e%2E", b".%2e"]),
        ("controls", [b"a\tb", b"\r\n..", "x\u{85}".as_bytes(), b"\x7f"]),
        (
            "delimiters",
            [b"a/b?c#d", b"%2F..%2f", b";=&+ ", "\u{e9}\u{65e5} ~".as_bytes()],
        ),
        ("empty", [b"", b"", b"", b""]),
        (
            "registered_connection_with_a_slash",
            [b"v3", b"oms-1", b"x", b"CDF/../12109"],
        ),
    ] {
        out.push(("path_segments", name.into(), strings(0, values)));
    }
    out.extend(fleet_seeds());
    out.extend(snapshot_seeds());
    out.push((
        "path_segments",
        "pieces".into(),
        strings(1, [&[0, 1, 2], &[5, 8, 10, 11], &[17, 18, 19], &[30, 31, 35]]),
    ));
    out
}

/// `session_snapshot`: snapshots of the session the target restores into
/// (fresh, expired, without a refresh token), of another session, and ones
/// no writer makes.
fn snapshot_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    use super::stored::{SNAPSHOT_REALM, SNAPSHOT_USER};
    use tokendance::oauth2::SessionSnapshot;
    let t0: u64 = 1_700_000_000_000;
    let snapshot = |refresh: serde_json::Value, refresh_expires: serde_json::Value| {
        serde_json::json!({
            "format": 1,
            "token_url": format!("{SNAPSHOT_REALM}/protocol/openid-connect/token"),
            "client_id": "vatps",
            "username": SNAPSHOT_USER,
            "token": {
                "access_token": "open sesame 42",
                "obtained_at_ms": t0,
                "expires_at_ms": t0 + 300_000,
                "refresh_token": refresh,
                "refresh_expires_at_ms": refresh_expires,
            }
        })
    };
    let fresh = snapshot("refresh sesame 7".into(), (t0 + 1_800_000).into());
    let written = SessionSnapshot::from_json(fresh.to_string().as_bytes())
        .expect("the seed snapshot reads")
        .to_json();
    let text = String::from_utf8_lossy(&written).into_owned();
    let seed = |name: &str, bytes: Vec<u8>| ("session_snapshot", name.to_owned(), bytes);
    vec![
        seed("written", written.clone()),
        seed(
            "refresh_expired",
            snapshot("refresh sesame 7".into(), t0.into())
                .to_string()
                .into_bytes(),
        ),
        seed(
            "no_refresh_token",
            snapshot(serde_json::Value::Null, serde_json::Value::Null)
                .to_string()
                .into_bytes(),
        ),
        seed(
            "another_user",
            text.replacen(SNAPSHOT_USER, "someone-else", 1).into_bytes(),
        ),
        seed(
            "format_2",
            text.replacen("\"format\":1", "\"format\":2", 1).into_bytes(),
        ),
        seed(
            "token_with_a_newline",
            text.replacen("open sesame 42", "open\\nsesame 42", 1)
                .into_bytes(),
        ),
        seed(
            "unknown_field",
            text.replacen("\"username\"", "\"x\":1,\"username\"", 1)
                .into_bytes(),
        ),
    ]
}

/// `fleet_record`: records as the crate writes them, and ones no writer
/// makes; `fleet_keeper_ops`: a renewal, a contested one, a refusal.
fn fleet_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    use tokendance::fleet::{Lease, Record, SharedToken};
    use tokendance::{AccessToken, Timestamp, TokenSet};
    let t0 = Timestamp::from_unix_secs(1_700_000_000);
    let token = TokenSet::new(AccessToken::new("open sesame 42"), t0, Some(t0));
    let full = Record {
        key: "crpt:conn".into(),
        version: 3,
        token: Some(SharedToken {
            token,
            published_version: 2,
        }),
        rejected_version: Some(2),
        lease: Some(Lease {
            holder: "pod-a".into(),
            until: t0,
            version: 3,
        }),
        failures: 1,
        backoff_until: Some(t0),
    };
    let written = full.to_json();
    let text = String::from_utf8_lossy(&written).into_owned();
    let mut out = vec![
        ("fleet_record", "written".to_owned(), written.clone()),
        (
            "fleet_record",
            "empty_record".to_owned(),
            Record {
                version: 1,
                ..Record::empty("k")
            }
            .to_json(),
        ),
        (
            "fleet_record",
            "format_2".to_owned(),
            text.replacen("\"format\":1", "\"format\":2", 1).into_bytes(),
        ),
        (
            "fleet_record",
            "token_with_a_newline".to_owned(),
            text.replacen("open sesame 42", "open\\nsesame 42", 1)
                .into_bytes(),
        ),
        (
            "fleet_record",
            "unknown_field".to_owned(),
            text.replacen("\"failures\"", "\"x\":1,\"failures\"", 1)
                .into_bytes(),
        ),
    ];
    // Keeper ops: [keeper and op, time, operand] triples (see fleet.rs).
    let poll = |k: u8| [k, 1, 0];
    let deliver = |k: u8| [k | 2 << 1, 1, 3];
    let fence = |k: u8| [k | 3 << 1, 1, 0];
    let renewed = |k: u8| [k | 4 << 1, 1, 30];
    let renewal = [
        poll(0),
        deliver(0),
        poll(0),
        deliver(0),
        poll(0),
        fence(0),
        fence(0),
        renewed(0),
        poll(0),
        deliver(0),
    ];
    let contested = [
        poll(0),
        poll(1),
        deliver(0),
        deliver(1),
        poll(0),
        poll(1),
        deliver(1),
        deliver(0),
        poll(0),
        poll(1),
    ];
    let refused = [
        poll(0),
        deliver(0),
        poll(0),
        deliver(0),
        poll(0),
        renewed(0),
        poll(0),
        deliver(0),
        [6 << 1, 1, 0],
        poll(0),
        deliver(0),
        [0, 255, 0],
        poll(1),
        [1, 0, 0],
    ];
    for (name, ops) in [
        ("renewal", &renewal[..]),
        ("contested", &contested[..]),
        ("refused_at_the_edges_of_time", &refused[..]),
    ] {
        out.push(("fleet_keeper_ops", name.to_owned(), ops.concat()));
    }
    out
}
