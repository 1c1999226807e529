use careforall::api::pledges::{handle, Context};
use careforall::payments::provider::CaptureMode;
use careforall::spin::{
    answer_then_relay, api_request, new_id, now_ms, spin_response, variables, ProviderSettings,
};
use careforall::storage::SqlExecutor;
use spin_sdk::http::{Request, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn create_pledge(req: Request, out: ResponseOutparam) {
    answer_then_relay(out, |db| answer(&req, db)).await;
}

fn answer(req: &Request, db: &dyn SqlExecutor) -> anyhow::Result<Response> {
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
    Ok(spin_response(handle(&api_request(req), &ctx)))
}
