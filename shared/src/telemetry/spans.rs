//! Spans the relay records itself, under the trace contexts its events carry.

use super::{SpanId, TraceParent};
use std::cell::RefCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal,
    Client,
    Consumer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    Text(String),
    Int(i64),
}

impl From<&str> for Attribute {
    fn from(s: &str) -> Self {
        Attribute::Text(s.to_string())
    }
}

impl From<String> for Attribute {
    fn from(s: String) -> Self {
        Attribute::Text(s)
    }
}

impl From<i64> for Attribute {
    fn from(n: i64) -> Self {
        Attribute::Int(n)
    }
}

/// One span, started and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedSpan {
    /// Its trace and its own span id.
    pub context: TraceParent,
    pub parent: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_ms: i64,
    pub end_ms: i64,
    pub attributes: Vec<(&'static str, Attribute)>,
    /// Spans of other traces this one belongs with (a relay batch's, for the events it
    /// applied).
    pub links: Vec<TraceParent>,
    pub error: Option<String>,
}

impl FinishedSpan {
    /// A span under `parent`, with a fresh span id.
    pub fn under(
        parent: TraceParent,
        name: impl Into<String>,
        kind: SpanKind,
        start_ms: i64,
        end_ms: i64,
    ) -> Self {
        FinishedSpan {
            context: parent.child(SpanId::random()),
            parent: Some(parent.span_id),
            name: name.into(),
            kind,
            start_ms,
            end_ms,
            attributes: Vec::new(),
            links: Vec::new(),
            error: None,
        }
    }

    /// The first span of a new trace; `context` is its own.
    pub fn root(context: TraceParent, name: impl Into<String>, start_ms: i64, end_ms: i64) -> Self {
        FinishedSpan {
            context,
            parent: None,
            name: name.into(),
            kind: SpanKind::Internal,
            start_ms,
            end_ms,
            attributes: Vec::new(),
            links: Vec::new(),
            error: None,
        }
    }

    pub fn with(mut self, key: &'static str, value: impl Into<Attribute>) -> Self {
        self.attributes.push((key, value.into()));
        self
    }

    pub fn linked_to(mut self, other: TraceParent) -> Self {
        self.links.push(other);
        self
    }

    pub fn failed(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }
}

/// Collects the spans of one relay run, for export once it ends.
#[derive(Debug, Default)]
pub struct SpanRecorder {
    spans: RefCell<Vec<FinishedSpan>>,
}

impl SpanRecorder {
    pub fn record(&self, span: FinishedSpan) {
        self.spans.borrow_mut().push(span);
    }

    pub fn take(&self) -> Vec<FinishedSpan> {
        std::mem::take(&mut self.spans.borrow_mut())
    }
}
