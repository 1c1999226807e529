//! The outbox relay component. One `.wasm`, two entry points: Spin's cron trigger
//! (`handle-cron-event`, from `spin-cron.toml`) and `POST /internal/outbox/relay` (from
//! `spin.toml`, for schedulers outside Spin). Both run the same relay once.

use careforall::api::body_limit::BodyLimit;
use careforall::spin::{read_request, spin_response, variables, with_relay};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

wit_bindgen::generate!({
    world: "spin-cron",
    path: "../../wit/spin-cron.wit",
});

#[http_component]
async fn outbox_relay(req: IncomingRequest) -> anyhow::Result<Response> {
    careforall::identify_component!();
    let req = match read_request(req, BodyLimit::API).await {
        Ok(req) => req,
        Err(refused) => return Ok(spin_response(refused)),
    };
    let secret = variables::get("relay_secret")?;
    with_relay(|relay| spin_response(careforall::api::relay::handle(&req, &secret, relay)))
}

struct Scheduled;

impl Guest for Scheduled {
    fn handle_cron_event(_metadata: Metadata) -> Result<(), Error> {
        with_relay(|relay| relay.run().map(drop).map_err(|e| e.to_string()))
            .map_err(|e| Error::Other(format!("{e:#}")))?
            .map_err(Error::Other)
    }
}

export!(Scheduled);
