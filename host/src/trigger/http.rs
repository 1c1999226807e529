//! The HTTP trigger: a hyper server that routes each request to a component, runs it in
//! a fresh instance from its `InstancePre` under a deadline, and drains on shutdown.

use crate::app::{AppRuntime, DeadlineExceeded};
use crate::observe::log::{self, RequestLog};
use crate::observe::trace::TraceScope;
use crate::routes::RouteMatch;
use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

type Response = hyper::Response<HyperOutgoingBody>;

fn plain(status: u16, text: &str) -> Response {
    let body = Full::new(Bytes::from(text.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    hyper::Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(body)
        .expect("static response parts are valid")
}

/// Spin's server span: `METHOD route` once a route matched, `METHOD` otherwise.
fn server_span(
    app: &AppRuntime,
    req: &http::Request<impl Sized>,
    raw_route: &str,
    component: &str,
) -> TraceScope {
    let method = req.method().as_str();
    let name = if raw_route.is_empty() {
        method.to_string()
    } else {
        format!("{method} {raw_route}")
    };
    let mut attributes = vec![
        KeyValue::new("http.request.method", method.to_string()),
        KeyValue::new("url.path", req.uri().path().to_string()),
    ];
    if !raw_route.is_empty() {
        attributes.push(KeyValue::new("http.route", raw_route.to_string()));
        attributes.push(KeyValue::new("spin.component", component.to_string()));
    }
    app.tracing.server_span(req.headers(), name, attributes)
}

/// Closes a request's span with its status, as Spin records it.
fn finish_span(trace: &TraceScope, status: u16) {
    trace.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    if status >= 500 {
        trace.set_error(format!("status {status}"));
    }
    trace.end();
}

impl AppRuntime {
    /// Serves one request from the listener.
    pub async fn serve_http(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        client: SocketAddr,
        listen: SocketAddr,
    ) -> Response {
        let started = Instant::now();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let route = if path.starts_with("/.well-known/") {
            None
        } else {
            self.router.route(&path)
        };
        let (component, raw_route) = route
            .as_ref()
            .map_or(("", ""), |r| (r.component.as_str(), r.raw_route.as_str()));
        let component = component.to_string();
        let raw_route = raw_route.to_string();
        let trace = server_span(&self, &req, &raw_route, &component);
        let pledge_id = route
            .as_ref()
            .filter(|r| r.raw_route.starts_with("/api/v1/pledges/"))
            .and_then(|r| r.params.iter().find(|(name, _)| name == "id"))
            .map(|(_, id)| id.clone());
        self.metrics.in_flight.inc();
        let response = match route {
            None => self.well_known(&path),
            Some(route) => match self
                .clone()
                .dispatch(req, route, client, listen, trace.clone())
                .await
            {
                Ok(resp) => resp,
                Err(e) => {
                    log::error(
                        "component failed",
                        &[
                            ("component", &component),
                            ("error", &format!("{e:#}")),
                            ("trace_id", &trace.trace_id()),
                            ("span_id", &trace.span_id()),
                        ],
                    );
                    plain(500, "Internal Server Error")
                }
            },
        };
        self.metrics.in_flight.dec();
        let status = response.status().as_u16();
        finish_span(&trace, status);
        let elapsed = started.elapsed();
        let label = if component.is_empty() {
            "-"
        } else {
            &component
        };
        self.metrics
            .requests
            .with_label_values(&[label, &status.to_string()])
            .inc();
        self.metrics
            .request_duration
            .with_label_values(&[label])
            .observe(elapsed.as_secs_f64());
        log::request(&RequestLog {
            component: label,
            route: &raw_route,
            method: &method,
            path: &path,
            status,
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            trace_id: &trace.trace_id(),
            span_id: &trace.span_id(),
            pledge_id: pledge_id.as_deref(),
        });
        response
    }

    fn well_known(&self, path: &str) -> Response {
        match path {
            "/.well-known/spin/health" => plain(200, "OK"),
            "/.well-known/spin-host/metrics" => {
                let body = Full::new(Bytes::from(self.metrics.render()))
                    .map_err(|never| match never {})
                    .boxed_unsync();
                hyper::Response::builder()
                    .header("content-type", "text/plain; version=0.0.4")
                    .body(body)
                    .expect("valid metrics response")
            }
            _ => plain(404, "Not Found"),
        }
    }

    async fn dispatch(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        route: RouteMatch,
        client: SocketAddr,
        listen: SocketAddr,
        trace: TraceScope,
    ) -> Result<Response> {
        let limit = self.limits.max_request_body_bytes;
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Ok(plain(413, "Request body exceeds the host's limit"));
        }
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Ok(plain(413, "Request body exceeds the host's limit"))
            }
            Err(e) => return Err(anyhow!("reading request body: {e}")),
        };
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let host = parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| listen.to_string(), str::to_string);
        let full_url = format!("http://{host}{path_and_query}");
        parts.uri = full_url.parse().context("building the request URL")?;
        let spin_headers = [
            ("spin-full-url", full_url.clone()),
            ("spin-path-info", route.path_info.clone()),
            ("spin-matched-route", route.raw_route.clone()),
            ("spin-raw-component-route", route.raw_route.clone()),
            ("spin-component-route", route.component_route.clone()),
            ("spin-base-path", "/".to_string()),
            ("spin-client-addr", client.to_string()),
        ];
        for (name, value) in spin_headers {
            parts.headers.insert(name, value.parse()?);
        }
        for (name, value) in &route.params {
            parts.headers.insert(
                hyper::header::HeaderName::try_from(format!("spin-path-match-{name}"))?,
                value.parse()?,
            );
        }
        let body: WasiBody = Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync();
        self.invoke(
            &route.component,
            hyper::Request::from_parts(parts, body),
            trace,
        )
        .await
    }

    /// `http://<component>.spin.internal`: service chaining, straight to the component,
    /// traced as a request of its own under the caller's outbound span.
    pub async fn serve_internal(
        self: Arc<Self>,
        component: &str,
        mut req: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        *req.uri_mut() = format!("http://{component}.spin.internal{path_and_query}").parse()?;
        let trace = server_span(&self, &req, "", component);
        let response = Box::pin(self.invoke(component, req, trace.clone())).await;
        finish_span(
            &trace,
            response.as_ref().map_or(500, |r| r.status().as_u16()),
        );
        response
    }

    /// Runs `component` on one request in a fresh instance.
    async fn invoke(
        self: Arc<Self>,
        component: &str,
        req: http::Request<WasiBody>,
        trace: TraceScope,
    ) -> Result<Response> {
        let loaded = self
            .component(component)
            .with_context(|| format!("no component `{component}`"))?;
        let pre = loaded
            .http
            .clone()
            .with_context(|| format!("component `{component}` has no HTTP trigger"))?;
        let config = loaded.config.clone();
        let deadline = Instant::now() + self.limits.request_timeout;
        let mut store = self.new_store(config, deadline, trace, self.service_chaining());
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let metrics = self.metrics.clone();
        let id = component.to_string();
        let timeout = self.limits.request_timeout;
        let task = tokio::spawn(async move {
            let run = async {
                let started = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                metrics
                    .instantiation_duration
                    .with_label_values(&[&id])
                    .observe(started.elapsed().as_secs_f64());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            };
            match tokio::time::timeout(timeout, run).await {
                Ok(result) => result.map_err(anyhow::Error::from),
                Err(_) => Err(anyhow::Error::new(DeadlineExceeded)),
            }
        });
        match tokio::time::timeout(timeout + Duration::from_millis(50), receiver).await {
            Ok(Ok(Ok(response))) => {
                // The instance may work on after answering (Spin allows it); its failure
                // then can reach no client, so it goes to the log.
                let component = component.to_string();
                tokio::spawn(async move {
                    if let Ok(Err(e)) = task.await {
                        log::warn(
                            "component failed after its response",
                            &[("component", &component), ("error", &format!("{e:#}"))],
                        );
                    }
                });
                Ok(response)
            }
            Ok(Ok(Err(code))) => Err(anyhow!(
                "component `{component}` answered with error {code:?}"
            )),
            Ok(Err(_)) => match task.await {
                Ok(Err(e)) if DeadlineExceeded::caused(&e) => {
                    Ok(plain(504, "Request deadline exceeded"))
                }
                Ok(Err(e)) => Err(e.context(format!("component `{component}` trapped"))),
                Ok(Ok(())) => Err(anyhow!("component `{component}` never set a response")),
                Err(join) => Err(anyhow!("component `{component}` task failed: {join}")),
            },
            Err(_) => Ok(plain(504, "Request deadline exceeded")),
        }
    }
}

/// Accepts connections until `shutdown` resolves, then stops accepting and waits up to
/// `drain` for in-flight requests to finish.
pub async fn serve(
    app: Arc<AppRuntime>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> Result<()> {
    let listen = listener.local_addr()?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        log::warn("accept failed", &[("error", &e.to_string())]);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(app.serve_http(req, client, listen).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    log::info(
        "draining in-flight requests",
        &[("timeout_ms", &drain.as_millis().to_string())],
    );
    match tokio::time::timeout(drain, graceful.shutdown()).await {
        Ok(()) => log::info("drained", &[]),
        Err(_) => log::warn("drain timed out; closing remaining connections", &[]),
    }
    Ok(())
}
