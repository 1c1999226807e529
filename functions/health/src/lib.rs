use careforall::spin::spin_response;
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn health(_req: Request) -> Response {
    spin_response(careforall::api::health::handle(env!("CARGO_PKG_VERSION")))
}
