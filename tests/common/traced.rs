//! A `tracing` subscriber that records every field of every span (when it
//! is made and each later `record`) and of every event, formatted, for an
//! oracle to read: written here, with no subscriber crate, so that nothing
//! it sees is filtered or reformatted first.
//!
//! [`Recording::default`] installs it as the thread's default until the
//! recording is dropped; the flows a test drives on that thread report to it.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span or event as the subscriber saw it.
#[derive(Clone, Debug)]
pub struct Traced {
    /// `span`, `span record` or `event`.
    pub kind: &'static str,
    /// The span's or event's name (`tokendance.request`, ...).
    pub name: &'static str,
    /// Its own fields, each formatted (`&str` as it is, the rest with `Debug`).
    pub fields: FieldList,
    /// For an event, the fields of the spans it happened in, innermost last.
    pub context: FieldList,
}

impl Traced {
    /// The value of the field `name`, its own or its spans'.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .chain(self.context.iter().rev())
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every text of it an oracle must read: names and values.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [self.name]
            .into_iter()
            .chain(self.fields.iter().chain(&self.context).map(|(_, v)| v.as_str()))
    }
}

/// Fields as `(name, formatted value)`, in the order recorded.
type FieldList = Vec<(&'static str, String)>;

#[derive(Default)]
struct State {
    /// Every span made: name and fields so far.
    spans: HashMap<u64, (&'static str, FieldList)>,
    next_id: u64,
    /// The spans entered, innermost last.
    stack: Vec<u64>,
    records: Vec<Traced>,
}

/// The subscriber: everything is enabled, everything is kept.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<State>>);

impl Recorder {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything recorded so far, in order.
    pub fn records(&self) -> Vec<Traced> {
        self.state().records.clone()
    }

    /// Forgets what was recorded (the spans made stay known).
    pub fn clear(&self) {
        self.state().records.clear();
    }
}

/// Collects fields as `(name, formatted value)`.
struct Fields<'a>(&'a mut FieldList);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        attributes.record(&mut Fields(&mut fields));
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        let name = attributes.metadata().name();
        state.records.push(Traced {
            kind: "span",
            name,
            fields: fields.clone(),
            context: Vec::new(),
        });
        state.spans.insert(id, (name, fields));
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut fields = Vec::new();
        values.record(&mut Fields(&mut fields));
        let mut state = self.state();
        let name = state.spans.get(&span.into_u64()).map_or("?", |(name, _)| *name);
        state.records.push(Traced {
            kind: "span record",
            name,
            fields: fields.clone(),
            context: Vec::new(),
        });
        if let Some((_, known)) = state.spans.get_mut(&span.into_u64()) {
            known.extend(fields);
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let mut state = self.state();
        let context = state
            .stack
            .iter()
            .filter_map(|id| state.spans.get(id))
            .flat_map(|(_, fields)| fields.iter().cloned())
            .collect();
        state.records.push(Traced {
            kind: "event",
            name: event.metadata().name(),
            fields,
            context,
        });
    }

    fn enter(&self, span: &Id) {
        self.state().stack.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.state();
        if let Some(at) = state.stack.iter().rposition(|id| *id == span.into_u64()) {
            state.stack.remove(at);
        }
    }
}

/// A [`Recorder`] installed as the thread's default subscriber while this
/// lives.
pub struct Recording {
    pub recorder: Recorder,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Default for Recording {
    fn default() -> Self {
        let recorder = Recorder::default();
        let guard = tracing::subscriber::set_default(recorder.clone());
        Recording {
            recorder,
            _guard: guard,
        }
    }
}

impl Recording {
    /// Everything recorded so far, in order.
    pub fn records(&self) -> Vec<Traced> {
        self.recorder.records()
    }
}
