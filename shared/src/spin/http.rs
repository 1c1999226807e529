//! Spin's outbound HTTP (`wasi:http/outgoing-handler`) as the payment adapter's sender.

use crate::payments::stripe::{HttpRequest, HttpResponse, HttpSend};
use spin_sdk::http::{Method, Request, Response};

pub struct SpinHttp;

async fn send_one(request: HttpRequest) -> Result<HttpResponse, String> {
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
    let response: Response = spin_sdk::http::send(outgoing)
        .await
        .map_err(|e| format!("{} {}: {e}", request.method, request.url))?;
    Ok(HttpResponse {
        status: *response.status(),
        body: response.into_body(),
    })
}

impl HttpSend for SpinHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        spin_sdk::http::run(send_one(request))
    }

    fn send_all(&self, requests: Vec<HttpRequest>) -> Vec<Result<HttpResponse, String>> {
        spin_sdk::http::run(futures::future::join_all(
            requests.into_iter().map(send_one),
        ))
    }
}
