use careforall::api::body_limit::BodyLimit;
use careforall::api::totals::{handle, Context};
use careforall::spin::{
    now_ms, open_or_problem, read_request, spin_response, Access, DefaultStore,
};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn get_totals(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let req = match read_request(req, BodyLimit::API).await {
        Ok(req) => req,
        Err(refused) => return Ok(spin_response(refused)),
    };
    let cache = DefaultStore::default();
    let open_db = || open_or_problem(Access::Read);
    let ctx = Context {
        cache: Some(&cache),
        open_db: &open_db,
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
