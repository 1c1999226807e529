use careforall::api::body_limit::BodyLimit;
use careforall::api::webhooks::{handle, Context};
use careforall::api::ApiRequest;
use careforall::payments::signature::secrets_from_list;
use careforall::spin::{
    answer_then_relay, now_ms, read_request, respond, spin_response, variables,
};
use careforall::storage::SqlExecutor;
use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn payment_webhook(req: IncomingRequest, out: ResponseOutparam) {
    careforall::identify_component!();
    match read_request(req, BodyLimit::WEBHOOK).await {
        Ok(req) => answer_then_relay(out, |db| answer(&req, db)).await,
        Err(refused) => respond(out, Ok(spin_response(refused))).await,
    }
}

fn answer(req: &ApiRequest, db: &dyn SqlExecutor) -> anyhow::Result<Response> {
    let configured = variables::get("webhook_secrets")?;
    let secrets = secrets_from_list(&configured);
    anyhow::ensure!(
        !secrets.is_empty(),
        "variable webhook_secrets holds no secret"
    );
    let ctx = Context {
        db,
        secrets: &secrets,
        clock: &now_ms,
    };
    Ok(spin_response(handle(req, &ctx)))
}
