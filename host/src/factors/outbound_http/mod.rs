//! Outgoing `wasi:http` requests with Spin's rules: a request leaves only when the
//! component's `allowed_outbound_hosts` allows its scheme, host and port. Each request
//! gets a client span, whose context goes out as `traceparent`. Before it leaves, the
//! trigger's [`OutboundHttpInterceptor`] may answer it in process (Spin's model: that is
//! how `http://<component>.spin.internal` reaches a component without the factor
//! knowing about triggers). Plain-HTTP requests that leave go through the app's
//! [`OutboundPool`].

mod pool;
pub use pool::OutboundPool;

use crate::config::component::ComponentConfig;
use crate::observe::log;
use crate::observe::trace::{ChildSpan, TraceScope};
use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// What an interceptor did with a request.
pub enum InterceptOutcome {
    /// Not its business: the request goes out over the network.
    Continue(http::Request<WasiBody>),
    /// Answered in process.
    Complete(http::Response<WasiBody>),
}

pub type Intercepted = Pin<Box<dyn Future<Output = Result<InterceptOutcome, Error>> + Send>>;

/// Installed by the trigger, consulted for every allowed outbound request.
pub trait OutboundHttpInterceptor: Send + Sync {
    fn intercept(&self, request: http::Request<WasiBody>) -> Intercepted;
}

pub struct OutboundHttp {
    component: Arc<ComponentConfig>,
    interceptor: Arc<dyn OutboundHttpInterceptor>,
    pool: OutboundPool,
    trace: TraceScope,
}

impl OutboundHttp {
    pub fn new(
        component: Arc<ComponentConfig>,
        interceptor: Arc<dyn OutboundHttpInterceptor>,
        pool: OutboundPool,
        trace: TraceScope,
    ) -> Self {
        Self {
            component,
            interceptor,
            pool,
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
            log::warn(
                "outbound request denied",
                &[
                    ("component", &self.component.id),
                    ("url", &uri.to_string()),
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
        let interceptor = self.interceptor.clone();
        let pool = self.pool.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            let done =
                || Box::new(async { Ok(()) }) as Box<dyn Future<Output = Result<(), Error>> + Send>;
            let request = match interceptor.intercept(request).await {
                Ok(InterceptOutcome::Continue(request)) => request,
                Ok(InterceptOutcome::Complete(response)) => {
                    record_outcome(&span, Ok(response.status()));
                    return Ok((response, done()));
                }
                Err(e) => {
                    record_outcome(&span, Err(&e));
                    return Err(e);
                }
            };
            if request.uri().scheme() == Some(&http::uri::Scheme::HTTP) {
                let sent = pool.send(request, options).await;
                record_outcome(&span, sent.as_ref().map(|res| res.status()));
                return Ok((sent?, done()));
            }
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
