//! OTLP/HTTP protobuf encoding of finished spans, with the OpenTelemetry project's own
//! message types (`opentelemetry-proto`); sending is the caller's (Spin's outbound HTTP).

use super::spans::{Attribute, FinishedSpan, SpanKind};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

/// Where OTLP/HTTP collectors take traces, under their base endpoint.
pub const TRACES_PATH: &str = "/v1/traces";
pub const CONTENT_TYPE: &str = "application/x-protobuf";

fn key_value(key: &str, value: Attribute) -> KeyValue {
    let value = match value {
        Attribute::Text(s) => any_value::Value::StringValue(s),
        Attribute::Int(n) => any_value::Value::IntValue(n),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn nanos(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000)
}

fn encode_span(s: &FinishedSpan) -> Span {
    let kind = match s.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Consumer => span::SpanKind::Consumer,
    };
    Span {
        trace_id: s.context.trace_id.to_vec(),
        span_id: s.context.span_id.bytes().to_vec(),
        parent_span_id: s.parent.map_or_else(Vec::new, |p| p.bytes().to_vec()),
        flags: u32::from(s.context.sampled),
        name: s.name.clone(),
        kind: kind as i32,
        start_time_unix_nano: nanos(s.start_ms),
        end_time_unix_nano: nanos(s.end_ms.max(s.start_ms)),
        attributes: s
            .attributes
            .iter()
            .map(|(k, v)| key_value(k, v.clone()))
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.to_vec(),
                span_id: l.span_id.bytes().to_vec(),
                ..Default::default()
            })
            .collect(),
        status: Some(match &s.error {
            Some(message) => Status {
                message: message.clone(),
                code: status::StatusCode::Error as i32,
            },
            None => Status::default(),
        }),
        ..Default::default()
    }
}

/// One export request holding `spans`, from the service `service_name`.
pub fn export_request(service_name: &str, spans: &[FinishedSpan]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value("service.name", service_name.into())],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "careforall".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: spans.iter().map(encode_span).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The request body to POST to `<endpoint>/v1/traces`.
pub fn encode(service_name: &str, spans: &[FinishedSpan]) -> Vec<u8> {
    export_request(service_name, spans).encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::TraceParent;

    #[test]
    fn a_span_keeps_its_trace_parent_and_links_through_encoding() {
        let donation = TraceParent::new_root();
        let batch = TraceParent::new_root();
        let span = FinishedSpan::under(donation, "outbox_relay.apply", SpanKind::Consumer, 5, 7)
            .with("pledge.id", "p-1")
            .with("outbox.event_id", 42)
            .linked_to(batch)
            .failed(Some("boom".into()));
        let bytes = encode("outbox-relay", std::slice::from_ref(&span));
        let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        let got = &decoded.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(got.trace_id, donation.trace_id.to_vec());
        assert_eq!(got.parent_span_id, donation.span_id.bytes().to_vec());
        assert_eq!(got.span_id, span.context.span_id.bytes().to_vec());
        assert_eq!(got.start_time_unix_nano, 5_000_000);
        assert_eq!(got.links[0].trace_id, batch.trace_id.to_vec());
        assert_eq!(got.kind, span::SpanKind::Consumer as i32);
        assert_eq!(
            got.status.as_ref().unwrap().code,
            status::StatusCode::Error as i32
        );
        assert_eq!(got.attributes.len(), 2);
    }
}
