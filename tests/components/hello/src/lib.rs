use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn hello(req: Request) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(format!("hello from {}", req.path()))
        .build()
}
