use careforall::spin::spin_response;
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn health(req: Request) -> Response {
    careforall::identify_component!();
    let method = req.method().to_string();
    spin_response(careforall::api::health::handle(
        &method,
        env!("CARGO_PKG_VERSION"),
    ))
}
