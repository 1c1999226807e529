//! Tracing a donation across the components without a guest tracing API (spin-sdk has
//! none): the W3C trace context a request arrives with is the one its writes carry
//! (outbox events, the provider payment's metadata, notifications), and the relay, which
//! runs outside any request, records its own spans under those contexts and exports them
//! over OTLP/HTTP itself.

pub mod current;
pub mod otlp;
pub mod spans;
pub mod trace_parent;

pub use spans::{FinishedSpan, SpanKind, SpanRecorder};
pub use trace_parent::{SpanId, TraceParent};
