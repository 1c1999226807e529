//! Spin's outbound HTTP (`wasi:http/outgoing-handler`) as the payment adapter's sender.

use crate::payments::stripe::{HttpRequest, HttpResponse, HttpSend};
use spin_sdk::http::{Method, Request, Response};

pub struct SpinHttp;

impl HttpSend for SpinHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let method = match request.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            other => return Err(format!("unsupported method {other}")),
        };
        let mut builder = Request::builder();
        builder.method(method).uri(&request.url);
        for (name, value) in &request.headers {
            builder.header(name.as_str(), value.as_str());
        }
        let outgoing = builder.body(request.body).build();
        let response: Response = spin_sdk::http::run(spin_sdk::http::send(outgoing))
            .map_err(|e| format!("{} {}: {e}", request.method, request.url))?;
        Ok(HttpResponse {
            status: *response.status(),
            body: response.into_body(),
        })
    }
}
