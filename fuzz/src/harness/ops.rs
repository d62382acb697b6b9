//! Writing inputs: the builder of operation sequences, the inverse of the
//! readers in [`input`](super::input), for seeds and regression tests. A
//! sequence written with it keeps its meaning when the byte layout changes,
//! where bytes copied from an artifact would silently mean something else.

use super::input::{Opcode, Time};
use super::response::{status_index, Template, JSON};

/// An operation sequence under construction.
pub struct Ops(Vec<u8>);

/// A hole of a template, in the order the template has them.
#[derive(Clone, Copy, Debug)]
pub enum Hole<'a> {
    /// An `S` hole: a string (shorter than 48 bytes).
    S(&'a str),
    /// An `S` hole from bytes as a fuzzer found them, read as lossy UTF-8
    /// (fewer than 48).
    Bytes(&'a [u8]),
    /// An `N` hole whose shape byte (see `Bytes::json_number`) needs no value.
    N(u8),
    /// An `N` hole whose shape byte reads its value from eight more bytes.
    Wide(u8, u64),
}

impl Ops {
    /// A sequence after `prefix` (a target's variant byte, or nothing).
    pub fn new(prefix: &[u8]) -> Self {
        Ops(prefix.to_vec())
    }

    /// An operation at `time` with its opcode and operands.
    pub fn op<O: Opcode>(mut self, time: impl Into<Time>, op: O, operands: &[u8]) -> Self {
        let code = op.byte();
        assert_eq!(O::decode(code), op, "opcode {code} does not read back as {op:?}");
        time.into().write(&mut self.0);
        self.0.push(code);
        self.0.extend_from_slice(operands);
        self
    }

    /// An operation that hands in a response with a raw body.
    pub fn raw<O: Opcode>(self, time: impl Into<Time>, op: O, status: u16, flags: u8, body: &[u8]) -> Self {
        let mut ops = self.op(time, op, &[status_index(status), flags, 0]);
        let len = u16::try_from(body.len()).expect("short body");
        ops.0.extend_from_slice(&len.to_le_bytes());
        ops.0.extend_from_slice(body);
        ops
    }

    /// An operation that hands in a JSON response from a template.
    pub fn tpl<O: Opcode>(
        self,
        time: impl Into<Time>,
        op: O,
        status: u16,
        template: Template,
        holes: &[Hole<'_>],
    ) -> Self {
        self.tpl_flags(time, op, status, JSON, template, holes)
    }

    /// [`Ops::tpl`] with another flags byte (content type, headers).
    pub fn tpl_flags<O: Opcode>(
        self,
        time: impl Into<Time>,
        op: O,
        status: u16,
        flags: u8,
        template: Template,
        holes: &[Hole<'_>],
    ) -> Self {
        let mut ops = self.op(time, op, &[status_index(status), flags, template.kind()]);
        for hole in holes {
            ops = ops.hole(*hole);
        }
        ops
    }

    /// Appends one hole's bytes (a template's holes come right after its
    /// kind byte; [`Ops::tpl`] writes them).
    pub fn hole(mut self, hole: Hole<'_>) -> Self {
        match hole {
            Hole::S(s) => return self.hole(Hole::Bytes(s.as_bytes())),
            Hole::Bytes(bytes) => {
                // The reader takes the length modulo 48.
                let len = u8::try_from(bytes.len()).ok().filter(|len| *len < 48);
                self.0.push(len.expect("a string hole shorter than 48 bytes"));
                self.0.extend_from_slice(bytes);
            }
            Hole::N(shape) => {
                assert!(
                    shape >> 4 < 5,
                    "number shape {shape:#x} reads a value: use Hole::Wide"
                );
                self.0.push(shape);
            }
            Hole::Wide(shape, value) => {
                assert!(
                    shape >> 4 >= 5,
                    "number shape {shape:#x} reads no value: use Hole::N"
                );
                self.0.push(shape);
                self.0.extend_from_slice(&value.to_le_bytes());
            }
        }
        self
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
