use careforall::api::refunds::{handle, Context};
use careforall::spin::{
    api_request, new_id, now_ms, open_database, spin_response, variables, Access, ProviderSettings,
};
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn refunds(req: Request) -> anyhow::Result<Response> {
    let db = open_database(Access::of(&req))?;
    let provider = ProviderSettings::from_variables()?;
    let admin_token = variables::get("admin_token")?;
    let ctx = Context {
        db: db.as_ref(),
        provider: &provider.stripe(),
        admin_token: &admin_token,
        clock: &now_ms,
        new_id: &new_id,
    };
    Ok(spin_response(handle(&api_request(&req), &ctx)))
}
