use careforall::api::body_limit::BodyLimit;
use careforall::api::donor_history::{handle, Context};
use careforall::spin::{now_ms, read_with_database, spin_response, variables};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn donor_history(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    let admin_token = variables::get("admin_token")?;
    let token_secret = variables::get("donor_token_secret")?;
    let ctx = Context {
        db: db.as_ref(),
        admin_token: &admin_token,
        token_secret: token_secret.as_bytes(),
        now_ms: now_ms(),
    };
    Ok(spin_response(handle(&req, &ctx)))
}
