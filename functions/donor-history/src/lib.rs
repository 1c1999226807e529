use careforall::api::donor_history::{handle, Context};
use careforall::spin::{api_request, now_ms, open_database, spin_response, variables, Access};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn donor_history(req: Request) -> anyhow::Result<Response> {
    let db = open_database(Access::of(&req))?;
    let admin_token = variables::get("admin_token")?;
    let token_secret = variables::get("donor_token_secret")?;
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        token_secret: token_secret.as_bytes(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
