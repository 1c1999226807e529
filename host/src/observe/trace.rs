//! OpenTelemetry traces the way Spin emits them: with `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, a server span per request named
//! `METHOD route`, a child span per SQLite, Postgres, key-value and outbound HTTP call,
//! exported over OTLP/HTTP; `traceparent` is taken from requests and put on outbound
//! ones. Without an endpoint nothing is recorded or injected, and spans only lend their
//! ids to the log lines.

use anyhow::{Context as _, Result};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The app's tracer: exporting when an OTLP endpoint is configured, id-only otherwise.
pub struct Tracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    exporting: bool,
    propagator: TraceContextPropagator,
}

impl Tracing {
    /// Reads the standard OTel variables. Call outside the async runtime: the exporter's
    /// blocking HTTP client must not be built or dropped inside it.
    pub fn from_env(service_name: &str) -> Result<Self> {
        let exporting = ENDPOINT_VARIABLES
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|e| !e.is_empty()))
            && !std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let resource = Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service_name.to_string()),
            )
            .build();
        let provider = if exporting {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()
                .context("building the OTLP/HTTP span exporter")?;
            SdkTracerProvider::builder()
                .with_resource(resource)
                .with_batch_exporter(exporter)
                .build()
        } else {
            // Spans are still made so requests get ids for their log lines, but never
            // recorded: nothing to keep, nothing to export.
            SdkTracerProvider::builder()
                .with_resource(resource)
                .with_sampler(Sampler::AlwaysOff)
                .build()
        };
        let tracer = provider.tracer("spin-host");
        Ok(Self {
            provider,
            tracer,
            exporting,
            propagator: TraceContextPropagator::new(),
        })
    }

    /// The server span of one incoming request, child of its `traceparent` if any.
    pub fn server_span(
        &self,
        headers: &http::HeaderMap,
        name: String,
        attributes: Vec<KeyValue>,
    ) -> TraceScope {
        let parent = self.propagator.extract(&HeaderExtractor(headers));
        self.start(&parent, name, SpanKind::Server, attributes)
    }

    /// The root span of one scheduled run.
    pub fn cron_span(&self, component: &str) -> TraceScope {
        self.start(
            &Context::new(),
            format!("handle_cron_event {component}"),
            SpanKind::Internal,
            vec![KeyValue::new("spin.component", component.to_string())],
        )
    }

    fn start(
        &self,
        parent: &Context,
        name: String,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
    ) -> TraceScope {
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
        TraceScope {
            cx: parent.with_span(span),
            tracer: self.exporting.then(|| self.tracer.clone()),
        }
    }

    /// Exports what is still buffered. Call outside the async runtime.
    pub fn shutdown(&self) {
        if self.exporting {
            let _ = self.provider.force_flush();
            let _ = self.provider.shutdown();
        }
    }
}

/// One instance's place in a trace: the request's (or run's) span, under which the
/// factors hang theirs. Cheap to clone; inert when traces are not exported.
#[derive(Clone, Default)]
pub struct TraceScope {
    cx: Context,
    tracer: Option<SdkTracer>,
}

impl TraceScope {
    pub fn trace_id(&self) -> String {
        self.cx.span().span_context().trace_id().to_string()
    }

    pub fn span_id(&self) -> String {
        self.cx.span().span_context().span_id().to_string()
    }

    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    pub fn set_error(&self, description: String) {
        self.cx.span().set_status(Status::error(description));
    }

    pub fn end(&self) {
        self.cx.span().end();
    }

    /// A child span, ended when the returned guard drops; `attributes` is only called
    /// when spans are recorded.
    pub fn child(
        &self,
        name: &'static str,
        kind: SpanKind,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> ChildSpan {
        let Some(tracer) = &self.tracer else {
            return ChildSpan(None);
        };
        let span = tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes())
            .start_with_context(tracer, &self.cx);
        ChildSpan(Some(TraceScope {
            cx: self.cx.with_span(span),
            tracer: Some(tracer.clone()),
        }))
    }

    /// A client span around one call into a store (`system`: `sqlite`, `postgresql`,
    /// `spin_key_value`), with the statement's text (never its parameters).
    pub fn store_call(
        &self,
        name: &'static str,
        system: &'static str,
        statement: Option<&str>,
    ) -> ChildSpan {
        self.child(name, SpanKind::Client, || {
            let mut attributes = vec![KeyValue::new("db.system.name", system)];
            if let Some(statement) = statement {
                attributes.push(KeyValue::new("db.query.text", statement.to_string()));
            }
            attributes
        })
    }
}

/// A factor's span around one host call.
pub struct ChildSpan(Option<TraceScope>);

impl ChildSpan {
    pub fn set_attribute(&self, attribute: KeyValue) {
        if let Some(scope) = &self.0 {
            scope.set_attribute(attribute);
        }
    }

    pub fn set_error(&self, description: impl std::fmt::Display) {
        if let Some(scope) = &self.0 {
            scope.set_error(description.to_string());
        }
    }

    /// Puts this span's context on an outbound request, replacing any `traceparent`
    /// the guest set (as Spin does).
    pub fn inject(&self, headers: &mut http::HeaderMap) {
        if let Some(scope) = &self.0 {
            TraceContextPropagator::new().inject_context(&scope.cx, &mut HeaderInjector(headers));
        }
    }
}

impl Drop for ChildSpan {
    fn drop(&mut self) {
        if let Some(scope) = &self.0 {
            scope.end();
        }
    }
}
