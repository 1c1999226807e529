use careforall::api::body_limit::BodyLimit;
use careforall::api::totals::{handle, Context};
use careforall::spin::{now_ms, read_with_database, spin_response};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn get_totals(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    let ctx = Context {
        db: db.as_ref(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
