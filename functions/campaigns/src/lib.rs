use careforall::api::body_limit::BodyLimit;
use careforall::api::campaigns::{cached_list, handle, Context};
use careforall::spin::{
    new_id, now_ms, open_for_request, read_request, spin_response, variables, Access, DefaultStore,
};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn campaigns(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let req = match read_request(req, BodyLimit::API).await {
        Ok(req) => req,
        Err(refused) => return Ok(spin_response(refused)),
    };
    let kv = DefaultStore::default();
    if let Some(page) = cached_list(&req, &kv, now_ms()) {
        return Ok(spin_response(page));
    }
    let db = match open_for_request(Access::of(&req)) {
        Ok(db) => db,
        Err(refused) => return Ok(refused),
    };
    let admin_token = variables::get("admin_token")?;
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        now_ms: now_ms(),
        new_id: &new_id,
        clock: &now_ms,
        kv: Some(&kv),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
