use careforall::api::pledges::{handle, Context};
use careforall::payments::provider::CaptureMode;
use careforall::spin::{
    api_request, new_id, now_ms, open_database, relay_after_response, respond, spin_response,
    variables, ProviderSettings,
};
use spin_sdk::http::{Request, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn create_pledge(req: Request, out: ResponseOutparam) {
    respond(out, answer(&req)).await;
    relay_after_response();
}

fn answer(req: &Request) -> anyhow::Result<Response> {
    let db = open_database()?;
    let provider = ProviderSettings::from_variables()?;
    let capture = match variables::get("payment_capture")?.as_str() {
        "automatic" => CaptureMode::Automatic,
        "manual" => CaptureMode::Manual,
        other => {
            anyhow::bail!("variable payment_capture must be automatic or manual, not `{other}`")
        }
    };
    let token_secret = variables::get("donor_token_secret")?;
    let ctx = Context {
        db: db.as_ref(),
        provider: &provider.stripe(),
        capture,
        token_secret: token_secret.as_bytes(),
        clock: &now_ms,
        new_id: &new_id,
    };
    Ok(spin_response(handle(&api_request(req), &ctx)))
}
