use careforall::api::body_limit::BodyLimit;
use careforall::api::pledges::{handle, Context};
use careforall::api::ApiRequest;
use careforall::payments::provider::CaptureMode;
use careforall::spin::{
    answer_then_relay, new_id, now_ms, read_request, respond, spin_response, variables,
    ProviderSettings,
};
use careforall::storage::SqlExecutor;
use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn create_pledge(req: IncomingRequest, out: ResponseOutparam) {
    careforall::identify_component!();
    match read_request(req, BodyLimit::API).await {
        Ok(req) => answer_then_relay(out, |db| answer(&req, db)).await,
        Err(refused) => respond(out, Ok(spin_response(refused))).await,
    }
}

fn answer(req: &ApiRequest, db: &dyn SqlExecutor) -> anyhow::Result<Response> {
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
        db,
        provider: &provider.stripe(),
        capture,
        token_secret: token_secret.as_bytes(),
        clock: &now_ms,
        new_id: &new_id,
    };
    Ok(spin_response(handle(req, &ctx)))
}
