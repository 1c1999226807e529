use careforall::api::admin::{handle, Context};
use careforall::spin::{
    api_request, now_ms, open_database, spin_response, variables, Access, ProviderSettings,
};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn admin(req: Request) -> anyhow::Result<Response> {
    let db = open_database(Access::of(&req))?;
    let provider = ProviderSettings::from_variables()?;
    let admin_token = variables::get("admin_token")?;
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        provider: &provider.stripe(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
