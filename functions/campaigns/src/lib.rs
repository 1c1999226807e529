use careforall::api::campaigns::{handle, Context};
use careforall::spin::{api_request, now_ms, spin_response, variables, SpinSqlite};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn campaigns(req: Request) -> anyhow::Result<Response> {
    let db = SpinSqlite::open_default(&variables::get("sqlite_synchronous")?)?;
    let admin_token = variables::get("admin_token")?;
    let ctx = Context {
        db: &db,
        admin_token: &admin_token,
        now_ms: now_ms(),
        new_id: &|| uuid::Uuid::new_v4().to_string(),
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
