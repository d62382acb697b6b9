//! Writing inputs: the builder of operation sequences, the inverse of the
//! readers in [`input`](super::input), for seeds and regression tests. A
//! sequence written with it keeps its meaning when the byte layout changes,
//! where bytes copied from an artifact would silently mean something else.

use super::input::Opcode;
use super::response::{status_index, Template, JSON};

/// An operation sequence under construction.
pub struct Ops(Vec<u8>);

/// A hole of a template, in the order the template has them.
#[derive(Clone, Copy, Debug)]
pub enum Hole<'a> {
    /// An `S` hole: a string (shorter than 48 bytes).
    S(&'a str),
    /// An `N` hole: a number shape (see `Bytes::json_number`).
    N(u8),
}

impl Ops {
    /// A sequence after `prefix` (a target's variant byte, or nothing).
    pub fn new(prefix: &[u8]) -> Self {
        Ops(prefix.to_vec())
    }

    /// An operation at `time` (a time byte: see [`time`](super::time)) with
    /// its opcode and operands.
    pub fn op<O: Opcode>(mut self, time: u8, op: O, operands: &[u8]) -> Self {
        let code = op.byte();
        assert_eq!(O::decode(code), op, "opcode {code} does not read back as {op:?}");
        self.0.push(time);
        self.0.push(code);
        self.0.extend_from_slice(operands);
        self
    }

    /// An operation that hands in a response with a raw body.
    pub fn raw<O: Opcode>(self, time: u8, op: O, status: u16, flags: u8, body: &[u8]) -> Self {
        let mut ops = self.op(time, op, &[status_index(status), flags, 0]);
        let len = u16::try_from(body.len()).expect("short body");
        ops.0.extend_from_slice(&len.to_le_bytes());
        ops.0.extend_from_slice(body);
        ops
    }

    /// An operation that hands in a JSON response from a template.
    pub fn tpl<O: Opcode>(
        self,
        time: u8,
        op: O,
        status: u16,
        template: Template,
        holes: &[Hole<'_>],
    ) -> Self {
        let mut ops = self.op(time, op, &[status_index(status), JSON, template.kind()]);
        for hole in holes {
            match hole {
                Hole::S(s) => {
                    // The reader takes the length modulo 48.
                    let len = u8::try_from(s.len()).ok().filter(|len| *len < 48);
                    ops.0.push(len.expect("a string hole shorter than 48 bytes"));
                    ops.0.extend_from_slice(s.as_bytes());
                }
                Hole::N(shape) => ops.0.push(*shape),
            }
        }
        ops
    }

    /// The bytes.
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Number shapes (see `Bytes::json_number`): 300 as a number.
pub const N300: u8 = 0x20;
/// 3600 as a string.
pub const N3600_STR: u8 = 0x32;
/// `u64::MAX` as a number.
pub const N_MAX: u8 = 0x40;
/// `null`.
pub const N_NULL: u8 = 0x07;
