use careforall::api::totals::{handle, Context};
use careforall::spin::{api_request, now_ms, open_database, spin_response, Access};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn get_totals(req: Request) -> anyhow::Result<Response> {
    let db = open_database(Access::of(&req))?;
    let ctx = Context {
        db: db.as_ref(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
