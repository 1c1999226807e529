use careforall::api::webhooks::{handle, Context};
use careforall::payments::signature::secrets_from_list;
use careforall::spin::{answer_then_relay, api_request, now_ms, spin_response, variables};
use careforall::storage::SqlExecutor;
use spin_sdk::http::{Request, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn payment_webhook(req: Request, out: ResponseOutparam) {
    answer_then_relay(out, |db| answer(&req, db)).await;
}

fn answer(req: &Request, db: &dyn SqlExecutor) -> anyhow::Result<Response> {
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
    Ok(spin_response(handle(&api_request(req), &ctx)))
}
