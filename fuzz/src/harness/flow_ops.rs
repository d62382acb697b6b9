//! The operation targets of the flows: arbitrary `start` / `resume`
//! sequences, at arbitrary times, against a [`Checked`] flow.

use std::fmt::Debug;

use tokendance::{Flow, Input, Timestamp};

use super::checked::{Checked, Spec};
use super::checks::Outcome;
use super::flow_table::TOKEN_FLOWS;
use super::flows::{
    astana_flow, authorized_call, challenge_flow, gam_flow, mdlp_flow, monpay_flow, registration_flow,
    table_entry_flow,
};
use super::input::{Bytes, Opcode};
use super::{Report, MAX_OPS, T0};

/// A flow operation: its opcode byte is read modulo 7, and three of the
/// seven hand in a response (so that fuzzed inputs reach answers often).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FlowOp {
    /// `start`.
    Start = 0,
    /// `resume` with a response (status, flags, body kind, body).
    Response = 1,
    /// `resume` with a signature (a length byte, then its bytes).
    Signature = 4,
    /// `resume` with `Timeout`.
    Timeout = 5,
    /// `resume` with `Failed`.
    Failed = 6,
}

impl Opcode for FlowOp {
    fn decode(byte: u8) -> Self {
        match byte % 7 {
            0 => FlowOp::Start,
            1..=3 => FlowOp::Response,
            4 => FlowOp::Signature,
            5 => FlowOp::Timeout,
            _ => FlowOp::Failed,
        }
    }

    fn byte(self) -> u8 {
        self as u8
    }
}

/// `gam_ops`: GAM's client-credentials request.
pub(super) fn gam_ops(data: &[u8], report: &mut Report) {
    flow_ops(gam_flow(), data, report);
}

/// `monpay_ops`: MonPay's code exchange.
pub(super) fn monpay_ops(data: &[u8], report: &mut Report) {
    flow_ops(monpay_flow(), data, report);
}

/// `astana_ops`: byte 0 bit 0 picks the Astana-plat login (clear: password,
/// set: certificate).
pub(super) fn astana_ops(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    flow_ops(astana_flow(b.byte() & 1 == 0), b.rest(), report);
}

/// `crpt_challenge_ops`: byte 0 bit 0 picks GIS MT (clear) or True API (set).
pub(super) fn crpt_challenge_ops(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    flow_ops(challenge_flow(b.byte() & 1 == 1), b.rest(), report);
}

/// `mdlp_ops`: byte 0 bit 0 picks the signed code (clear) or the password (set).
pub(super) fn mdlp_ops(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    flow_ops(mdlp_flow(b.byte() & 1 == 1), b.rest(), report);
}

/// `token_flow_ops`: byte 0 picks a flow of the shared table (modulo its
/// length), so that every token flow listed there, a new provider's too, is
/// fuzzed without a target of its own.
pub(super) fn token_flow_ops(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    let entry = &TOKEN_FLOWS[usize::from(b.byte()) % TOKEN_FLOWS.len()];
    flow_ops(table_entry_flow(entry), b.rest(), report);
}

/// `suz_registration_ops`: byte 0 bit 0 picks a signed (clear) or an
/// unsigned (set) registration.
pub(super) fn suz_registration_ops(data: &[u8], report: &mut Report) {
    let mut b = Bytes::new(data);
    flow_ops(registration_flow(b.byte() & 1 == 1), b.rest(), report);
}

/// `authorized_ops`: a `gam::get` call whose token a client-credentials
/// flow issues, again after a 401.
pub(super) fn authorized_ops(data: &[u8], report: &mut Report) {
    flow_ops(authorized_call(), data, report);
}

/// Runs operations from `data` against a flow.
fn flow_ops<F: Flow + Debug>((flow, spec): (F, Spec), data: &[u8], report: &mut Report)
where
    F::Output: Outcome,
{
    let mut checked = Checked::new(flow, spec);
    run_ops(data, |b, now| step(&mut checked, b, *now, report));
}

/// Runs at most [`MAX_OPS`] operations from `data`: each moves the clock by
/// its time byte (see [`Bytes::time`]), then `op` reads its opcode and
/// operands and runs it at that instant (and may move the clock on).
pub(super) fn run_ops(data: &[u8], mut op: impl FnMut(&mut Bytes<'_>, &mut Timestamp)) {
    let mut b = Bytes::new(data);
    let mut now = T0;
    for _ in 0..MAX_OPS {
        if b.is_empty() {
            break;
        }
        now = b.time(now);
        op(&mut b, &mut now);
    }
}

/// One operation on a checked flow: `start` or `resume` with an input.
pub(super) fn step<F: Flow + Debug>(
    checked: &mut Checked<F>,
    b: &mut Bytes<'_>,
    now: Timestamp,
    report: &mut Report,
) where
    F::Output: Outcome,
{
    let input = match FlowOp::decode(b.byte()) {
        FlowOp::Start => {
            let _ = checked.start(now, report);
            return;
        }
        FlowOp::Response => Input::Response(b.response()),
        FlowOp::Signature => Input::Signature(b.signature()),
        FlowOp::Timeout => Input::Timeout,
        FlowOp::Failed => Input::Failed,
    };
    let _ = checked.resume(now, input, report);
}
