//! Sends the relay's spans to an OTLP/HTTP collector over Spin's outbound HTTP, when the
//! variable `otel_exporter_otlp_endpoint` names one (empty: nothing is recorded).

use super::{variables, SpinHttp};
use crate::payments::stripe::{HttpRequest, HttpSend};
use crate::telemetry::{otlp, SpanRecorder};

/// The collector's base URL (`http://host:4318`), if one is configured.
pub fn otlp_endpoint() -> Option<String> {
    variables::get("otel_exporter_otlp_endpoint")
        .ok()
        .map(|e| e.trim().trim_end_matches('/').to_string())
        .filter(|e| !e.is_empty())
}

/// Exports what `recorder` holds. A collector that is down costs the spans, never the
/// run: the failure is logged and the relay goes on.
pub fn export(endpoint: &str, service_name: &str, recorder: &SpanRecorder) {
    let spans = recorder.take();
    if spans.is_empty() {
        return;
    }
    let request = HttpRequest {
        method: "POST",
        url: format!("{endpoint}{}", otlp::TRACES_PATH),
        headers: vec![("content-type".into(), otlp::CONTENT_TYPE.into())],
        body: otlp::encode(service_name, &spans),
    };
    match SpinHttp.send(request) {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => eprintln!(
            "exporting {} spans: collector answered {}",
            spans.len(),
            r.status
        ),
        Err(e) => eprintln!("exporting {} spans: {e}", spans.len()),
    }
}
