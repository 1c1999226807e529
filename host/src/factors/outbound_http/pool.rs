//! Plain-HTTP requests over kept-alive connections, as Spin's outbound HTTP factor does by
//! default (`[outbound_http] connection_pooling`, on unless a runtime config turns it
//! off). A guest cannot tell: each request still gets its own response, timeouts and
//! error codes; only the TCP connection may be one an earlier request used. HTTPS goes
//! through wasmtime's `default_send_request`, a new connection each time.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// wasi:http's default for each of the three timeouts a guest may set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long an idle connection is kept for the next request to the same authority.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The app's outbound connections, shared by every instance of every component (a clone
/// is one reference count, taken per instance).
#[derive(Clone)]
pub struct OutboundPool {
    http: Arc<Client<Connector, WasiBody>>,
}

impl OutboundPool {
    /// `pooling: false` opens a new connection for every request.
    pub fn new(pooling: bool) -> Self {
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_idle_timeout(IDLE_TIMEOUT);
        if !pooling {
            builder.pool_max_idle_per_host(0);
        }
        Self {
            http: Arc::new(builder.build(Connector)),
        }
    }

    /// Sends `request` (absolute URI, scheme `http`) with the guest's `options`.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let timeout = |pick: fn(&RequestOptions) -> Option<Duration>| {
            options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT)
        };
        let connect = timeout(|o| o.connect_timeout);
        let first_byte = timeout(|o| o.first_byte_timeout);
        let between_bytes = timeout(|o| o.between_bytes_timeout);
        let response = CONNECT_TIMEOUT.scope(connect, self.http.request(request));
        let response = tokio::time::timeout(first_byte, response)
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(request_error)?;
        Ok(response.map(|incoming| {
            BetweenBytes {
                incoming,
                timeout: between_bytes,
                sleep: None,
            }
            .boxed_unsync()
        }))
    }
}

tokio::task_local! {
    /// The connect timeout of the request being sent: the pool's connector is shared, so
    /// the guest's option reaches it this way. A reused connection ignores it.
    static CONNECT_TIMEOUT: Duration;
}

#[derive(Clone)]
struct Connector;

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let limit = CONNECT_TIMEOUT.try_with(|t| *t).unwrap_or(DEFAULT_TIMEOUT);
        Box::pin(async move {
            let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().unwrap_or(80);
            let stream = tokio::time::timeout(limit, TcpStream::connect((host, port)))
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(Error::Connect)?;
            stream.set_nodelay(true).map_err(Error::Connect)?;
            Ok(TokioIo::new(stream))
        })
    }
}

/// The guest's error for a request the pool could not send: the connector's own error
/// when connecting failed, else what hyper says went wrong.
fn request_error(err: hyper_util::client::legacy::Error) -> Error {
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        if let Some(connect) = cause.downcast_ref::<Error>() {
            return match connect {
                Error::ConnectionTimeout => Error::ConnectionTimeout,
                Error::HttpRequestUriInvalid => Error::HttpRequestUriInvalid,
                Error::Connect(io) => {
                    Error::Connect(std::io::Error::new(io.kind(), io.to_string()))
                }
                _ => Error::ConnectionRefused,
            };
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            return if hyper.is_timeout() {
                Error::HttpResponseTimeout
            } else if hyper.is_incomplete_message() {
                Error::HttpResponseIncomplete
            } else {
                Error::HttpProtocolError
            };
        }
        source = cause.source();
    }
    if err.is_connect() {
        Error::ConnectionRefused
    } else {
        Error::HttpProtocolError
    }
}

/// A response body that fails with `ConnectionReadTimeout` when no frame arrives within
/// the guest's `between_bytes_timeout`.
struct BetweenBytes {
    incoming: hyper::body::Incoming,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame.map(|f| f.map_err(Error::from)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
