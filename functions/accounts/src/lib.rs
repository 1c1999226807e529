use careforall::api::accounts::{handle, Context};
use careforall::api::body_limit::BodyLimit;
use careforall::spin::{
    new_id, now_ms, read_with_database, spin_response, variables, DefaultStore,
};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn accounts(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let (req, db) = match read_with_database(req, BodyLimit::API).await {
        Ok(opened) => opened,
        Err(refused) => return Ok(refused),
    };
    let token_secret = variables::get("donor_token_secret")?;
    let ttl = variables::get("session_ttl_secs")?;
    let session_ttl_secs: i64 = ttl
        .trim()
        .parse()
        .ok()
        .filter(|secs| *secs > 0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "variable session_ttl_secs must be a positive number of seconds, not `{ttl}`"
            )
        })?;
    let trusted_proxies: Vec<String> = variables::get("trusted_proxies")?
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let kv = DefaultStore::default();
    let ctx = Context {
        db: db.as_ref(),
        token_secret: token_secret.as_bytes(),
        session_ttl_secs,
        clock: &now_ms,
        new_id: &new_id,
        salt: &|| *uuid::Uuid::new_v4().as_bytes(),
        kv: &kv,
        trusted_proxies: &trusted_proxies,
    };
    Ok(spin_response(handle(&req, &ctx)))
}
