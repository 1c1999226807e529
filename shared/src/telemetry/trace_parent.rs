//! The W3C `traceparent` header (Trace Context, level 1).

use std::fmt;

/// An 8-byte span id, never all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

impl SpanId {
    /// A fresh random id.
    pub fn random() -> Self {
        loop {
            let bytes = *uuid::Uuid::new_v4().as_bytes();
            let id: [u8; 8] = bytes[..8].try_into().expect("8 of 16 bytes");
            if id != [0; 8] {
                return SpanId(id);
            }
        }
    }

    pub fn bytes(&self) -> [u8; 8] {
        self.0
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Where a span sits: its trace, its own (or its parent's) span id, and whether the
/// trace is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: SpanId,
    pub sampled: bool,
}

impl TraceParent {
    /// A new trace (for work no request started, such as a relay run).
    pub fn new_root() -> Self {
        TraceParent {
            trace_id: *uuid::Uuid::new_v4().as_bytes(),
            span_id: SpanId::random(),
            sampled: true,
        }
    }

    /// Parses a `traceparent` header value. Version `00` must be exactly four fields;
    /// a later version may append fields, which are ignored. Invalid values (all-zero
    /// ids, version `ff`, upper-case or short hex) give `None`, as the spec asks: the
    /// receiver then starts a new trace.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let mut fields = header.split('-');
        let version = fields.next()?;
        let trace_id = fields.next()?;
        let span_id = fields.next()?;
        let flags = fields.next()?;
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !lower_hex(version, 2) || version == "ff" || (version == "00" && fields.next().is_some())
        {
            return None;
        }
        if !lower_hex(trace_id, 32) || !lower_hex(span_id, 16) || !lower_hex(flags, 2) {
            return None;
        }
        let trace_id: [u8; 16] = hex::decode(trace_id).ok()?.try_into().ok()?;
        let span_id: [u8; 8] = hex::decode(span_id).ok()?.try_into().ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(TraceParent {
            trace_id,
            span_id: SpanId(span_id),
            sampled: flags & 1 == 1,
        })
    }

    /// The same trace, one span further down.
    pub fn child(&self, span_id: SpanId) -> Self {
        TraceParent { span_id, ..*self }
    }

    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id_hex(),
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_round_trips() {
        let parsed = TraceParent::parse(SAMPLE).expect("valid");
        assert!(parsed.sampled);
        assert_eq!(parsed.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.to_string(), SAMPLE);
    }

    #[test]
    fn invalid_headers_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_later_version_keeps_its_first_four_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes";
        let parsed = TraceParent::parse(later).expect("valid");
        assert!(!parsed.sampled);
    }

    #[test]
    fn a_child_keeps_the_trace() {
        let parent = TraceParent::parse(SAMPLE).unwrap();
        let child = parent.child(SpanId::random());
        assert_eq!(child.trace_id, parent.trace_id);
        assert_ne!(child.span_id, parent.span_id);
    }

    proptest! {
        #[test]
        fn formatted_contexts_parse_back(trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), sampled: bool) {
            prop_assume!(trace != [0; 16] && span != [0; 8]);
            let tp = TraceParent { trace_id: trace, span_id: SpanId(span), sampled };
            prop_assert_eq!(TraceParent::parse(&tp.to_string()), Some(tp));
        }

        #[test]
        fn parsing_never_panics(s in ".{0,80}") {
            let _ = TraceParent::parse(&s);
        }
    }
}
