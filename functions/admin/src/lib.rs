use careforall::api::admin::{handle, Context};
use careforall::api::body_limit::BodyLimit;
use careforall::spin::{
    now_ms, read_with_database, spin_response, variables, DefaultStore, ProviderSettings,
};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn admin(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    let provider = ProviderSettings::from_variables()?;
    let admin_token = variables::get("admin_token")?;
    let kv = DefaultStore::default();
    let ctx = Context {
        db: db.as_ref(),
        kv: &kv,
        admin_token: &admin_token,
        provider: &provider.stripe(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
