//! Spin's service chaining as the trigger's outbound HTTP interceptor: a request to
//! `http://<component>.spin.internal` is served in process by that component (after the
//! outbound factor has checked `allowed_outbound_hosts`); anything else goes out.

use crate::app::AppRuntime;
use crate::factors::outbound_http::{InterceptOutcome, Intercepted, OutboundHttpInterceptor};
use std::sync::Arc;
use wasmtime_wasi_http::{Error, WasiBody};

const INTERNAL_SUFFIX: &str = ".spin.internal";

struct ServiceChaining(Arc<AppRuntime>);

impl OutboundHttpInterceptor for ServiceChaining {
    fn intercept(&self, request: http::Request<WasiBody>) -> Intercepted {
        let target = request
            .uri()
            .host()
            .and_then(|host| host.strip_suffix(INTERNAL_SUFFIX))
            .map(str::to_string);
        let Some(target) = target else {
            return Box::pin(async move { Ok(InterceptOutcome::Continue(request)) });
        };
        let app = self.0.clone();
        Box::pin(async move {
            app.serve_internal(&target, request)
                .await
                .map(InterceptOutcome::Complete)
                .map_err(|_| Error::DestinationNotFound)
        })
    }
}

impl AppRuntime {
    /// The interceptor every instance of this app gets.
    pub fn service_chaining(self: &Arc<Self>) -> Arc<dyn OutboundHttpInterceptor> {
        Arc::new(ServiceChaining(self.clone()))
    }
}
