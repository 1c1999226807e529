use careforall::api::body_limit::BodyLimit;
use careforall::api::metrics::handle;
use careforall::spin::{now_ms, read_with_database, spin_response};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn metrics(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    Ok(spin_response(handle(&req, db.as_ref(), now_ms())))
}
