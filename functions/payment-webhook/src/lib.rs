use careforall::api::webhooks::{handle, Context};
use careforall::payments::signature::secrets_from_list;
use careforall::spin::{
    api_request, now_ms, open_database, relay_after_response, respond, spin_response, variables,
};
use spin_sdk::http::{Request, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn payment_webhook(req: Request, out: ResponseOutparam) {
    respond(out, answer(&req)).await;
    relay_after_response();
}

fn answer(req: &Request) -> anyhow::Result<Response> {
    let db = open_database()?;
    let configured = variables::get("webhook_secrets")?;
    let secrets = secrets_from_list(&configured);
    anyhow::ensure!(
        !secrets.is_empty(),
        "variable webhook_secrets holds no secret"
    );
    let ctx = Context {
        db: db.as_ref(),
        secrets: &secrets,
        clock: &now_ms,
    };
    Ok(spin_response(handle(&api_request(req), &ctx)))
}
