use careforall::api::campaigns::{handle, Context};
use careforall::spin::{
    api_request, new_id, now_ms, open_database, spin_response, variables, Access,
};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn campaigns(req: Request) -> anyhow::Result<Response> {
    let db = open_database(Access::of(&req))?;
    let admin_token = variables::get("admin_token")?;
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        now_ms: now_ms(),
        new_id: &new_id,
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
