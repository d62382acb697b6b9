//! Reading the fuzzer's bytes: instants, durations, strings, numbers,
//! responses and signatures, each from the bytes at the cursor.

use std::time::Duration;

use tokendance::{Signature, Timestamp};

use super::response::{build_response, json_string, Template, TEMPLATE_KIND};

/// A cursor over the fuzzer's bytes; reads past the end give zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(super) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    pub(super) fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    pub(super) fn u64(&mut self) -> u64 {
        let mut buf = [0u8; 8];
        let got = self.take(8);
        buf[..got.len()].copy_from_slice(got);
        u64::from_le_bytes(buf)
    }

    /// The next instant after `now`: `0b00nnnnnn` adds n quarter seconds,
    /// `0b01nnnnnn` adds n² minutes, `0b100nnnnn` goes back n seconds,
    /// `0b101nnnnn` goes back (n + 1)² hours (an hour to 43 days),
    /// `0b11nnnnnn` jumps to the epoch (0), `u64::MAX` (1), just below it
    /// (2) or to the next eight bytes (little endian). [`time`] names them.
    pub fn time(&mut self, now: Timestamp) -> Timestamp {
        let b = self.byte();
        let n = u64::from(b & 63);
        match b >> 6 {
            time::AHEAD_QUARTERS => now.saturating_add(Duration::from_millis(n * 250)),
            time::AHEAD_SQUARED_MINUTES => now.saturating_add(Duration::from_secs(n * n * 60)),
            time::BACK if n < 32 => now.saturating_sub(Duration::from_secs(n)),
            time::BACK => now.saturating_sub(Duration::from_secs((n - 31) * (n - 31) * 3_600)),
            _ => Timestamp::from_unix_millis(match n {
                0 => 0,
                1 => u64::MAX,
                2 => u64::MAX - 1_000,
                _ => self.u64(),
            }),
        }
    }

    pub(super) fn duration(&mut self) -> Duration {
        DURATIONS[usize::from(self.byte()) % DURATIONS.len()]
    }

    pub(super) fn short_text(&mut self) -> String {
        let len = usize::from(self.byte() % 48);
        String::from_utf8_lossy(self.take(len)).into_owned()
    }

    /// A JSON number or string in one of the shapes servers send.
    pub(super) fn json_number(&mut self) -> String {
        let shape = self.byte();
        let n = match shape >> 4 {
            0 => 0,
            1 => 1,
            2 => 300,
            3 => 3_600,
            4 => u64::MAX,
            _ => self.u64(),
        };
        match shape & 7 {
            0 | 1 => n.to_string(),
            2 => format!("\"{n}\""),
            3 => format!("-{n}"),
            4 => format!("{n}.{}", shape),
            5 => format!("{n}e{}", shape % 40),
            6 => format!("\"{n}0000000000000000000000\""),
            _ => "null".to_owned(),
        }
    }

    /// A response for an operation: status, flags, body kind, body (below
    /// [`TEMPLATE_KIND`] a raw body of a two-byte length, from it on a
    /// [`Template`] whose holes are filled from the input).
    pub(super) fn response(&mut self) -> http::Response<Vec<u8>> {
        let status = self.byte();
        let flags = self.byte();
        let kind = self.byte();
        let body = if kind < TEMPLATE_KIND {
            let len = usize::from(u16::from_le_bytes([self.byte(), self.byte()]));
            self.take(len).to_vec()
        } else {
            self.template(Template::from_kind(kind))
        };
        build_response(status, flags, body)
    }

    /// `template` with its `S` and `N` holes filled from the input.
    pub(super) fn template(&mut self, template: Template) -> Vec<u8> {
        let mut out = String::new();
        for c in template.text().chars() {
            match c {
                'S' => out.push_str(&json_string(&self.short_text())),
                'N' => out.push_str(&self.json_number()),
                c => out.push(c),
            }
        }
        out.into_bytes()
    }

    pub(super) fn signature(&mut self) -> Signature {
        let len = usize::from(self.byte() % 64);
        Signature::from_der(self.take(len).to_vec())
    }
}

/// Durations for configuration operations, from zero to `Duration::MAX`.
const DURATIONS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(30),
    Duration::from_secs(300),
    Duration::from_secs(3_600),
    Duration::from_secs(36_000),
    Duration::MAX,
];

/// An opcode: how a byte reads as an operation of one kind of target, and
/// the byte [`Ops`](super::Ops) writes for it.
pub trait Opcode: Copy + PartialEq + std::fmt::Debug {
    /// The operation a byte stands for.
    fn decode(byte: u8) -> Self;
    /// A byte that stands for this operation.
    fn byte(self) -> u8;
}

/// The time step an operation starts with, as [`Bytes::time`] reads it:
/// one byte (see [`time`] for their names), or a jump to an instant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Time {
    /// A time byte.
    Byte(u8),
    /// To this instant (in Unix milliseconds): [`time::AT_NEXT_8_BYTES`]
    /// and eight bytes.
    At(u64),
}

impl From<u8> for Time {
    fn from(byte: u8) -> Self {
        Time::Byte(byte)
    }
}

impl Time {
    /// Appends the bytes that stand for this step.
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            Time::Byte(byte) => out.push(byte),
            Time::At(millis) => {
                out.push(time::AT_NEXT_8_BYTES);
                out.extend_from_slice(&millis.to_le_bytes());
            }
        }
    }
}

/// Time bytes (see [`Bytes::time`]): the top two bits pick the kind of
/// step, the low six its size.
pub mod time {
    /// `0b00nnnnnn`: n quarter seconds ahead.
    pub const AHEAD_QUARTERS: u8 = 0;
    /// `0b01nnnnnn`: n² minutes ahead.
    pub const AHEAD_SQUARED_MINUTES: u8 = 1;
    /// `0b100nnnnn`: n seconds back; `0b101nnnnn`: (n + 1)² hours back.
    pub const BACK: u8 = 2;
    /// `0b11nnnnnn`: to a fixed instant.
    pub const JUMP: u8 = 3;

    /// The clock as it is.
    pub const NOW: u8 = 0;
    /// A second ahead.
    pub const PLUS_1S: u8 = ahead_quarters(4);
    /// A minute ahead.
    pub const PLUS_1MIN: u8 = ahead_squared_minutes(1);
    /// 64 minutes ahead: past an hour.
    pub const PLUS_1H: u8 = ahead_squared_minutes(8);
    /// Five seconds back.
    pub const BACK_5S: u8 = back_secs(5);
    /// 36 hours back.
    pub const BACK_36H: u8 = back_squared_hours(6);
    /// To the epoch.
    pub const AT_EPOCH: u8 = JUMP << 6;
    /// To `Timestamp::MAX`.
    pub const AT_MAX: u8 = JUMP << 6 | 1;
    /// To the instant in the next eight bytes (little endian).
    pub const AT_NEXT_8_BYTES: u8 = JUMP << 6 | 3;

    /// `n` quarter seconds ahead (`n` < 64).
    pub const fn ahead_quarters(n: u8) -> u8 {
        assert!(n < 64);
        AHEAD_QUARTERS << 6 | n
    }

    /// `n`² minutes ahead (`n` < 64).
    pub const fn ahead_squared_minutes(n: u8) -> u8 {
        assert!(n < 64);
        AHEAD_SQUARED_MINUTES << 6 | n
    }

    /// `n` seconds back (`n` < 32).
    pub const fn back_secs(n: u8) -> u8 {
        assert!(n < 32);
        BACK << 6 | n
    }

    /// `n`² hours back (1 ≤ `n` ≤ 32).
    pub const fn back_squared_hours(n: u8) -> u8 {
        assert!(n >= 1 && n <= 32);
        BACK << 6 | (n + 31)
    }
}
