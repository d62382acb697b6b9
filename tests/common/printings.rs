//! What a suite saw printed: each value's `Debug` (plain and `{:#?}`) and
//! `Display`, with a label saying where it came from, for an oracle to read.

use std::fmt::{Debug, Display};

/// Labelled printings, in the order they were made.
#[derive(Default)]
pub struct Printings {
    /// `(label, text)`: the label names the value and the format used.
    pub items: Vec<(String, String)>,
}

impl Printings {
    /// `value` as `{:?}` and as `{:#?}`.
    pub fn debug<T: Debug + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{:?}}"), format!("{value:?}")));
        self.items
            .push((format!("{label} {{:#?}}"), format!("{value:#?}")));
    }

    /// `value` as `{}`.
    pub fn display<T: Display + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{}}"), format!("{value}")));
    }

    /// Both.
    pub fn both<T: Debug + Display + ?Sized>(&mut self, label: &str, value: &T) {
        self.debug(label, value);
        self.display(label, value);
    }
}
