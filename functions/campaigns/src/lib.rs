use careforall::api::body_limit::BodyLimit;
use careforall::api::campaigns::{handle, Context};
use careforall::spin::{
    new_id, now_ms, read_with_database, spin_response, variables, DefaultStore,
};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn campaigns(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    let admin_token = variables::get("admin_token")?;
    let totals_cache = DefaultStore::default();
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        now_ms: now_ms(),
        new_id: &new_id,
        totals_cache: Some(&totals_cache),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
