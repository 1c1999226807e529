use careforall::api::body_limit::BodyLimit;
use careforall::api::static_assets::{serve, AssetKind, PageSettings, StaticAsset};
use careforall::spin::{read_request, spin_response, variables};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

static ASSETS: &[StaticAsset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

#[http_component]
async fn web(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let req = match read_request(req, BodyLimit::API).await {
        Ok(req) => req,
        Err(refused) => return Ok(spin_response(refused)),
    };
    let payment_page_url = variables::get("payment_page_url")?;
    let settings = PageSettings {
        payment_page_url: &payment_page_url,
    };
    Ok(spin_response(serve(&req, ASSETS, &settings)))
}
