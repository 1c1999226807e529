//! Outgoing `wasi:http` requests with Spin's rules: a request leaves only when the
//! component's `allowed_outbound_hosts` allows its scheme, host and port, and
//! `http://<component>.spin.internal` is served in process by that component. Each
//! request gets a client span, whose context goes out as `traceparent`.

use crate::app::AppRuntime;
use crate::observe::trace::{ChildSpan, TraceScope};
use crate::state::ComponentConfig;
use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use std::future::Future;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

const INTERNAL_SUFFIX: &str = ".spin.internal";

pub struct OutboundHttp {
    app: Arc<AppRuntime>,
    component: Arc<ComponentConfig>,
    trace: TraceScope,
}

impl OutboundHttp {
    pub fn new(app: Arc<AppRuntime>, component: Arc<ComponentConfig>, trace: TraceScope) -> Self {
        Self {
            app,
            component,
            trace,
        }
    }
}

type Sent = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16();
        if !self.component.outbound.allows(&scheme, &host, port) {
            let (component, target) = (self.component.id.clone(), uri.to_string());
            crate::observe::log::warn(
                "outbound request denied",
                &[
                    ("component", &component),
                    ("url", &target),
                    ("rule", "allowed_outbound_hosts"),
                ],
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let span = self
            .trace
            .child("spin_outbound_http.send_request", SpanKind::Client, || {
                vec![
                    KeyValue::new("http.request.method", request.method().to_string()),
                    KeyValue::new("url.full", uri.to_string()),
                    KeyValue::new("server.address", host.clone()),
                ]
            });
        span.inject(request.headers_mut());
        if let Some(target) = host.strip_suffix(INTERNAL_SUFFIX) {
            let app = self.app.clone();
            let target = target.to_string();
            return Box::new(async move {
                let response = app
                    .serve_internal(&target, request)
                    .await
                    .map_err(|_| Error::DestinationNotFound);
                record_outcome(&span, response.as_ref().map(http::Response::status));
                let response = response?;
                Ok((
                    response,
                    Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
                ))
            });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let sent = wasmtime_wasi_http::default_send_request(request, options).await;
            record_outcome(&span, sent.as_ref().map(|(res, _)| res.status()));
            let (res, io) = sent?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

fn record_outcome(span: &ChildSpan, outcome: Result<http::StatusCode, &Error>) {
    match outcome {
        Ok(status) => span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status.as_u16()),
        )),
        Err(e) => span.set_error(e),
    }
}
