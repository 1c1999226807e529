use careforall::api::body_limit::BodyLimit;
use careforall::api::metrics::handle;
use careforall::spin::{now_ms, open_for_request, read_request, spin_response, Access};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn metrics(req: IncomingRequest) -> anyhow::Result<Response> {
    let req = match read_request(req, BodyLimit::API).await {
        Ok(req) => req,
        Err(refused) => return Ok(spin_response(refused)),
    };
    let db = match open_for_request(Access::of(&req)) {
        Ok(db) => db,
        Err(refused) => return Ok(refused),
    };
    Ok(spin_response(handle(&req, db.as_ref(), now_ms())))
}
